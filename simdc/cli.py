"""The ``simdc`` command: parse, call the library, print. Nothing else lives here.

Only typer, rich and simdc's light modules load at import: each command imports what it
calls (pandas, the config, the engine, scipy, dask, plotly) when it runs, so that
``simdc --help``, ``--version`` and ``simdc X --help`` start in a fraction of the time
(issue #16; tests/test_import_cost.py keeps them out).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from simdc.errors import SKIP_HINT, SimdcError, Terminated, resolved
from simdc.__main__ import INTERRUPTED_EXIT_CODE, TERMINATED_EXIT_CODE, loaded, said_interrupted

if TYPE_CHECKING:
    import pandas as pd
    from rich.progress import TaskID

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Simulate VMs with preallocated resources versus containers that share them.")
# no emoji codes: a path or name holding ":cat:" prints as it is, not as an emoji
out_console = Console(width=100, emoji=False)
err_console = Console(stderr=True, emoji=False)
TABLE_WIDTH = 80  # the comparison table stays readable in an 80-column terminal

# rows shown only when some platform has any
QUIET_WHEN_ZERO = {"unplaceable", "replaced", "failed", "evicted", "requeued_at_end", "requeue_mean_s",
                   "lost_work_core_s"}
# What the table's percentages are shares of (definitions: simdc/metrics.py, host_metrics).
SHARES_CAPTION = ("CPU used and booked: time-weighted share of the hosts' cores; memory used and allocated: of "
                  "their memory; CPU demand unmet (above a VM's vCPUs or a container's limit too): of the CPU demand.")
OUTPUT_FORMATS = ("table", "csv", "json")

SetOption = Annotated[
    Optional[list[str]],
    typer.Option("--set", "-s", help="Override a config key: section.key=value, a list entry by index: "
                                     "services.0.replicas=8 (repeatable)."),
]
UnsetOption = Annotated[
    Optional[list[str]],
    typer.Option("--unset", help="Remove a key the config sets, so that its default applies: section.key "
                                 "(repeatable; before any --set)."),
]


def simulate(config, **kwargs):
    """:func:`simdc.experiment.simulate`: the same arguments, :class:`~simdc.results.Results`
    and errors. Imported when a run starts (the engine and pandas take most of a second
    that ``--help`` should not pay); a name of its own here so that tests can replace
    the simulation."""
    from simdc.experiment import simulate as simulate_config

    return simulate_config(config, **kwargs)


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"simdc {version('simdc')}")
        raise typer.Exit()


@app.callback()
def _app(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print simdc's version and exit.")] = False,
) -> None:
    """Simulate VMs with preallocated resources versus containers that share them."""


def friendly(command=None, *, interrupted: str = "interrupted", imports: tuple[str, ...] = ()):
    """A user's mistake is one clear message per problem and exit code 2, never a traceback;
    Ctrl-C is one line, ``interrupted`` (or what the interrupt says, e.g. a sweep's runs
    kept), and exit code 130; SIGTERM (:class:`~simdc.errors.Terminated`) the same line
    saying "terminated", and exit code 143. Use as ``@friendly`` or ``@friendly(interrupted="...")``.
    ``imports``: modules the command always needs, imported before it runs, while the
    ``simdc`` command's collector is still off (:func:`simdc.__main__.loaded`)."""
    if command is None:
        return functools.partial(friendly, interrupted=interrupted, imports=imports)

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            for name in imports:
                importlib.import_module(name)
            loaded()
            return command(*args, **kwargs)
        except SimdcError as err:
            for problem in err.cli_problems:
                kind = "hint" if problem == SKIP_HINT else "error"  # advice after the problems, not one more
                err_console.print(f"{kind}: {problem}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt as err:  # typer would print "Aborted!" and exit 1
            said = str(err) or interrupted
            if isinstance(err, Terminated):  # SIGTERM: the same clean-up and line, said as it was
                said = said.replace("interrupted", "terminated", 1)
            err_console.print(said, markup=False, highlight=False, soft_wrap=True)
            said_interrupted()
            raise typer.Exit(TERMINATED_EXIT_CODE if isinstance(err, Terminated) else INTERRUPTED_EXIT_CODE) from None

    return wrapper


# What every ``simdc run`` imports: the config, the engine, pandas, pyarrow (its Parquet
# writer too, unless --no-write), loaded before its objects are frozen (simdc.__main__).
RUN_IMPORTS = ("simdc.config", "simdc.results", "simdc.experiment", "pyarrow.parquet")


@app.command()
@friendly(interrupted="interrupted; nothing written", imports=RUN_IMPORTS)
def run(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG", help="TOML config file.")],
    overrides: SetOption = None,
    unset: UnsetOption = None,
    seed: Annotated[Optional[int], typer.Option(help="Override simulation.seed.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Results directory (default: a new one under results/).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace --out if it exists.")] = False,
    write: Annotated[bool, typer.Option(help="Write a results directory.")] = True,
    report: Annotated[bool, typer.Option(
        help="Also write report.html (figures, works offline) into the results directory.")] = False,
    output_format: Annotated[str, typer.Option(
        "--format", help="How the comparison is printed on stdout: table (for people), or csv or json (the "
        "summary: a row per platform, the columns of summary.csv). Messages go to stderr.")] = "table",
    memory_check: Annotated[bool, typer.Option(
        help="Refuse a run that needs more memory than the machine has available.")] = True,
    scheduler: Annotated[Optional[str], typer.Option(help=escape(
        "With [[cells]]: run the cells on an existing Dask scheduler, tcp://host:8786."))] = None,
    workers: Annotated[Optional[int], typer.Option(help=escape(
        "With [[cells]]: local worker processes for the cells (default 1: one after another, in this "
        "process); at most one per cell. More than the cores share them (no faster); more than fit in "
        "the memory available (each about 200 MiB and its cell) are refused."))] = None,
) -> None:
    """Replay the workload on each platform and compare them."""
    from simdc.config import load_config
    from simdc.results import Destination, check_not_input, fresh_results

    if out is not None and write:
        check_not_input(out, [config_path])
    if output_format not in OUTPUT_FORMATS:
        raise SimdcError(f"--format: expected one of {', '.join(OUTPUT_FORMATS)} (got {output_format!r})")
    config = load_config(config_path, overrides or [], unset=unset)
    if seed is not None and seed < 0:
        raise SimdcError(f"--seed: must be >= 0 (got {seed})")
    if report and not write:
        raise SimdcError("--report: the report is written into the results directory; drop --no-write")
    if out is not None and not write:
        raise SimdcError(f"--out {out}: nothing is written with --no-write; drop one of them")
    if workers is not None and workers < 1:
        raise SimdcError(f"--workers: must be >= 1 (got {workers})")
    if not config.cells and (scheduler is not None or workers is not None):
        flag = "--scheduler" if scheduler is not None else "--workers"
        raise SimdcError(f"{flag}: runs the cells of a fleet of [[cells]] in parallel, and {config_path} has none "
                         "(one fleet runs in one process; a sweep's runs: simdc sweep)")
    # The destination is checked and claimed before simulating, not refused afterwards.
    with fresh_results("results", config_path.stem, wanted=write and out is None) as fresh, \
            Destination(out or fresh, overwrite=overwrite) if write else contextlib.nullcontext() as destination:
        target = (out or fresh) if write else None  # fresh: made, not only named (no race)
        if config.cells:
            _run_cells(config, config_path, seed, destination, scheduler, workers, output_format, report, memory_check)
            return
        with simulation_progress(err_console) as progress:
            # too big for memory, the run spills its tables into the destination as it goes
            results = simulate(config, seed=seed, progress=progress, check_memory=memory_check, spill_to=destination)
        title = f"{config_path.name}, seed {results.manifest['seed']}"
        print_summary(results.summary, title, output_format)
        from simdc.workload.inspect import run_messages

        for line in run_messages(results.manifest):  # the trace reader's choices, bad rows skipped
            err_console.print(line, markup=False, highlight=False, soft_wrap=True)
        for line in results.manifest.get("warnings", []):
            err_console.print(f"warning: {line}", markup=False, highlight=False, soft_wrap=True)
        for line in results.manifest.get("notes", []):  # (simulate's: not in steady state; spilled runs' too)
            err_console.print(f"note: {line}", markup=False, highlight=False, soft_wrap=True)
        if write:
            results.write(destination, report=report, report_title=title)
    if write:
        # soft_wrap: a long path stays on one line, whole, to copy
        err_console.print(f"wrote {target} ({results.manifest['wall_time_s']:.2f} s)", markup=False,
                          highlight=False, soft_wrap=True)
        if report:
            err_console.print(f"report: {target / 'report.html'}", markup=False, highlight=False, soft_wrap=True)


def _run_cells(config, config_path: Path, seed, destination, scheduler, workers, output_format: str,
               report: bool, memory_check: bool) -> None:
    """``simdc run`` of a fleet of [[cells]]: the cells as tasks (:func:`simdc.cells.run_cells`)
    writing into the claimed destination, or into a temporary folder with --no-write."""
    import tempfile

    from simdc.cells import run_cells

    with contextlib.ExitStack() as stack:
        folder = destination.partial if destination is not None else Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="simdc-cells-")))
        with count_progress(err_console, "cells") as progress:
            run = run_cells(config, folder, seed=seed, scheduler=scheduler, workers=workers or 1, progress=progress,
                            check_memory=memory_check, shown=destination.path if destination is not None else None)
        title = f"{config_path.name}, seed {run.manifest['seed']}, {len(config.cells)} cells"
        print_summary(run.summary, title, output_format)
        from simdc.workload.inspect import run_messages

        for line in run_messages(run.manifest):
            err_console.print(line, markup=False, highlight=False, soft_wrap=True)
        for line in run.manifest.get("warnings", []):
            err_console.print(f"warning: {line}", markup=False, highlight=False, soft_wrap=True)
        for line in run.manifest.get("notes", []):  # not in steady state, as a single fleet's run says
            err_console.print(f"note: {line}", markup=False, highlight=False, soft_wrap=True)
        if destination is not None:
            destination.write(run, report=report, report_title=title)
            err_console.print(f"wrote {destination.path} ({run.manifest['wall_time_s']:.2f} s)", markup=False,
                              highlight=False, soft_wrap=True)
            if report:
                err_console.print(f"report: {destination.path / 'report.html'}", markup=False, highlight=False,
                                  soft_wrap=True)


@app.command("report")
@friendly
def report_command(
    results_dir: Annotated[Path, typer.Argument(metavar="RESULTS_DIR",
                                                help="A results directory from simdc run, or a sweep's directory.")],
    out: Annotated[Optional[Path], typer.Option(help="The HTML file (default: RESULTS_DIR/report.html).")] = None,
    overwrite: Annotated[bool, typer.Option(help=(
        "Replace --out if it exists (RESULTS_DIR/report.html, derived from the directory, is written "
        "again without it, unless simdc did not write it)."))] = False,
) -> None:
    """Write report.html for a results directory: headline table and figures, one file that works offline."""
    import pandas as pd

    from simdc.report import write_report
    from simdc.results import REPORT, check_output_file, load_results

    if out is not None:  # the default, RESULTS_DIR/report.html, is simdc's own and is written again
        read = [path for path in results_dir.iterdir() if path.name != "report.html"] if results_dir.is_dir() else []
        check_output_file(out, [results_dir, *read], overwrite, option="--out", allow=(REPORT,))
    elif not overwrite and not _ours_or_absent(results_dir / "report.html"):
        raise SimdcError(f"{results_dir / 'report.html'}: exists and is not a report simdc wrote; pass --overwrite "
                         "to replace it, or write the report elsewhere with --out")
    points = results_dir / "points.csv"
    if points.is_file() and not (results_dir / "summary.csv").exists():  # a sweep's directory
        try:
            source = pd.read_csv(points, dtype={"platform": str})
        except (OSError, ValueError) as err:
            raise SimdcError(f"{points}: cannot read the sweep's table: {err}") from None
    else:
        source = load_results(results_dir)
    target = out or results_dir / "report.html"
    try:
        # overwrite: --out and RESULTS_DIR/report.html were checked above, before reading
        write_report(source, target, title=resolved(results_dir).name, overwrite=True)
    except OSError as err:
        raise SimdcError(f"{target}: cannot write the report: {err.strerror or err}") from None
    except ValueError as err:  # a sweep's points.csv without what a report shows
        raise SimdcError(f"{results_dir / 'points.csv'}: {err}") from None
    err_console.print(f"wrote {target}", markup=False, highlight=False, soft_wrap=True)


def _ours_or_absent(report: Path) -> bool:
    """Whether ``report`` is absent or a report simdc wrote (its generator meta tag,
    simdc/report.py): one that is derived from its results directory, and so written
    again by ``simdc report`` without --overwrite, as ``simdc run --report`` writes it."""
    if not report.exists():
        return True
    try:
        with report.open("rb") as file:
            head = file.read(4096)
    except OSError:
        return False
    return b'<meta name="generator" content="simdc">' in head


@contextlib.contextmanager
def simulation_progress(console: Console, delay_s: float = 0.5):
    """A ``progress(platform, t_s, duration_s)`` callback for :func:`simdc.simulate` that
    draws a bar per platform on ``console``, or None when it is not a terminal.

    The bar appears only once a run has taken ``delay_s`` of wall time (a quick run
    prints nothing), redraws at most 10 times a second, and is cleared at the end.
    """
    if not console.is_terminal:
        yield None
        return
    # rich.progress (rich.live, its spinners) only for a bar drawn: off a terminal (a
    # script, a benchmark) a run never draws one
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description:>12}"), BarColumn(), TaskProgressColumn(),
                   TextColumn("{task.fields[simulated]}"), TimeElapsedColumn(), console=console, transient=True)
    tasks: dict[str, TaskID] = {}
    seen: dict[str, list[float]] = {}  # platform -> [simulated s, duration s]
    started = time.monotonic()
    drawn = [0.0]

    def progress(platform: str, t_s: float, duration_s: float) -> None:
        if platform not in seen:
            for done in seen.values():  # platforms run one after another: the earlier ones are done
                done[0] = done[1]
        seen[platform] = [t_s, duration_s]
        now = time.monotonic()
        if now - drawn[0] < 0.1:
            return
        drawn[0] = now
        if not bar.live.is_started:
            if now - started < delay_s:
                return
            bar.start()
        for name, (t, duration) in seen.items():
            if name not in tasks:
                tasks[name] = bar.add_task(str(name), total=duration, simulated="")
            bar.update(tasks[name], completed=t, simulated=f"{_span(t)} of {_span(duration)} simulated")

    try:
        yield progress
    finally:
        bar.stop()


def print_summary(summary: pd.DataFrame, title: str, output_format: str = "table") -> None:
    """Print a run's summary on stdout: the comparison table, or the data as CSV or JSON.

    CSV has the columns of ``summary.csv``, a row per platform; JSON is a list of
    objects, one per platform, with ``null`` for a metric that has no value (or is
    infinite: JSON has no inf).
    """
    if output_format == "csv":
        typer.echo(summary.to_csv(index=False), nl=False)
    elif output_format == "json":
        records = summary.astype(object).where(summary.notna(), None).to_dict(orient="records")
        records = [{key: None if isinstance(value, float) and math.isinf(value) else value  # JSON has no inf
                    for key, value in record.items()} for record in records]
        typer.echo(json.dumps(records, indent=2, allow_nan=False))
    else:
        print_table(comparison_table(summary, title=title))


def print_table(table: Table) -> None:
    """A table on stdout: within ``TABLE_WIDTH`` in a terminal; piped or redirected, at
    its natural width, so that no cell breaks across lines for a program reading it."""
    if out_console.is_terminal:
        out_console.print(table, width=TABLE_WIDTH)
        return
    # A table that does not expand takes its natural width within any wider one (given
    # exactly its measured width, rich can still fold a header by a character).
    natural = Measurement.get(out_console, out_console.options.update_width(10_000), table).maximum
    # Console.print(width=...) cannot go past the console's own width: a wide one for this
    # print (a table that does not expand keeps its natural width within it).
    wide = Console(file=out_console.file, width=natural + 8, highlight=False, emoji=False)
    wide.print(table)


def comparison_table(summary: pd.DataFrame, title: str = "") -> Table:
    """Metrics as rows, platforms as columns; fits in 80 columns for two or three platforms.

    Rows whose column the summary lacks (results from an older simdc) are left out.
    Numbers never wrap; a long platform name folds onto a second header line. A caption
    says what the percentages are shares of.
    """
    from simdc.metrics import HEADLINE  # the rows: (summary column, label, format), as in the HTML report

    table = Table(title=title, title_justify="left", caption_justify="left")
    table.add_column("metric", no_wrap=True)
    for name in summary["platform"]:
        table.add_column(str(name), justify="right", overflow="fold")
    for column, label, fmt in HEADLINE:
        if column not in summary.columns or (column in QUIET_WHEN_ZERO and not summary[column].any()):
            continue
        cells = [_fmt(value, fmt) for value in summary[column]]
        table.add_row(label, *cells)
    if {"cpu_util_mean", "mem_used_util_mean", "mem_alloc_util_mean"} & set(summary.columns):
        table.caption = SHARES_CAPTION
    return table


def _span(seconds: float) -> str:
    return f"{seconds / 86400:,.1f} d" if seconds >= 4 * 86400 else f"{seconds / 3600:,.1f} h"


def _fmt(value, fmt: str) -> str:
    from simdc.metrics import shown

    return shown(value, fmt)


# --- simdc trace ---------------------------------------------------------------------------

trace_app = typer.Typer(no_args_is_help=True, help="Real traces: inspect one, convert it to simdc's format, "
                        "or write a synthetic one.")
app.add_typer(trace_app, name="trace")

PathsArgument = Annotated[list[Path], typer.Argument(metavar="PATH...", help="Trace files or folders (plain or gzip "
                          "CSV, Parquet); e.g. a vmtable and its vm_cpu_readings.")]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="auto, simdc, azure, google, google2019, "
                         "alibaba2017, alibaba2018, bitbrains, opendc or cloudsimpy.")]
BadRowsOption = Annotated[str, typer.Option(help="strict: bad rows are errors; skip: drop them, count by reason.")]
WindowOption = Annotated[Optional[tuple[float, float]], typer.Option(
    metavar="START END",
    help=escape("Keep the part of the trace in [START, END) seconds; times then count from START."))]
SampleOption = Annotated[Optional[float], typer.Option(help="Keep each instance with this probability (0, 1].")]
LimitOption = Annotated[Optional[int], typer.Option(help="Keep the first N instances by submit time.")]
SeedOption = Annotated[int, typer.Option(help="Seed of --sample and of Azure V2 bucket sizing (what a run with "
                                                "the same simulation.seed draws).")]
TRACE_SEED = 0  # simulation.seed's default (simdc.config.SimulationSpec): convert draws as `simdc run` does
StepOption = Annotated[float, typer.Option(help="Step usage series are put onto, seconds: never ahead of their samples "
                                                 "(README, workload.usage_step_s).")]
AzureMemoryOption = Annotated[Optional[float], typer.Option(help="Azure: memory used as a fraction of VM size "
                              "(default 0.30; Azure has no memory usage).")]
AzureSizingOption = Annotated[Optional[str], typer.Option(help="Azure V2 size buckets: v1_mix (an exact size "
                              "from the V1 trace's mix in the bucket, default) or upper (the bucket's bound).")]
RefCoresOption = Annotated[Optional[float], typer.Option(help="Google: cores of the largest machine (default 32).")]
RefMemoryOption = Annotated[Optional[float], typer.Option(help="Google, Alibaba: GiB of the largest machine "
                            "(default 64 for Google, 384 for Alibaba).")]
OpendcUnitOption = Annotated[Optional[str], typer.Option(help="OpenDC: unit of mem_capacity, MB (default) or KB.")]


def _trace_settings(format, **flags):
    from simdc.workload.inspect import settings

    return settings(format, flags)


@trace_app.command("inspect")
@friendly
def trace_inspect(
    paths: PathsArgument,
    format: FormatOption = "auto",
    on_bad_rows: BadRowsOption = "strict",
    time_window_s: WindowOption = None,
    sample: SampleOption = None,
    limit: LimitOption = None,
    seed: SeedOption = TRACE_SEED,
    usage_step_s: StepOption = 300.0,
    azure_memory_used_fraction: AzureMemoryOption = None,
    azure_bucket_sizing: AzureSizingOption = None,
    reference_cpu_cores: RefCoresOption = None,
    reference_memory_gib: RefMemoryOption = None,
    opendc_memory_unit: OpendcUnitOption = None,
    bins: Annotated[int, typer.Option(help="Time bins of the arrival-rate table, 1 to 10,000.")] = 12,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """What a planner asks first: instances, time span, arrival rate, sizes, lifetimes, usage over request."""
    import json

    from simdc.workload.inspect import inspect_trace

    fmt, options, selection = _trace_settings(
        format, on_bad_rows=on_bad_rows, time_window_s=time_window_s, sample=sample, limit=limit, seed=seed,
        usage_step_s=usage_step_s, azure_memory_used_fraction=azure_memory_used_fraction,
        azure_bucket_sizing=azure_bucket_sizing,
        reference_cpu_cores=reference_cpu_cores, reference_memory_gib=reference_memory_gib,
        opendc_memory_unit=opendc_memory_unit)
    report = inspect_trace(paths, fmt, options, selection, bins=bins)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, default=float))
        return
    for table in _report_tables(report):
        out_console.print(table)


def _report_tables(report) -> list[Table]:
    overview = Table(title="trace", title_justify="left", show_header=False)
    overview.add_column("what", no_wrap=True)
    overview.add_column("value", overflow="fold")
    for label, value in report.overview:
        overview.add_row(label, value)
    tables = [overview]
    if len(report.arrivals):
        arrivals = Table(title="arrivals after time 0", title_justify="left")
        for name in ("from", "to", "arrivals", "per hour", ""):
            arrivals.add_column(name, justify="right" if name else "left")
        peak = max(float(report.arrivals["arrivals"].max()), 1.0)
        for row in report.arrivals.itertuples():
            arrivals.add_row(_trace_span(row.start_s), _trace_span(row.end_s), f"{row.arrivals:,}",
                             f"{row.per_hour:,.1f}", "█" * round(20 * row.arrivals / peak))
        tables.append(arrivals)
    if len(report.sizes):
        sizes = Table(title="size mix", title_justify="left")
        for name in ("cores", "memory (GiB)", "instances", "share"):
            sizes.add_column(name, justify="right")
        digits = _distinct_digits(report.sizes)
        for row in report.sizes.itertuples():
            other = row.cpu_cores != row.cpu_cores
            sizes.add_row("other" if other else f"{row.cpu_cores:.{digits}g}",
                          "" if other else f"{row.memory_gib:.{digits}g}", f"{row.instances:,}", f"{row.share:.1%}")
        tables.append(sizes)
    if len(report.lifetimes):
        lifetimes = Table(title="lifetimes", title_justify="left")
        lifetimes.add_column("")
        lifetimes.add_column("duration", justify="right")
        for row in report.lifetimes.itertuples():
            lifetimes.add_row(row.quantile, _trace_span(row.duration_s))
        tables.append(lifetimes)
    if len(report.ratios):
        ratios = Table(title="usage / request (per instance)", title_justify="left", caption_justify="left",
                       caption="mean, p50, p95: of the instances' means; by size, by time: all instances' usage "
                               "over all their requests, each request counted once or for its lifetime; p50 and "
                               "p95 of p95s: of each instance's 95th percentile over its series")
        columns = [c for c in report.ratios.columns if c != "resource"]
        short = {"mean_of_means": "mean", "p50_of_means": "p50", "p95_of_means": "p95",
                 "weighted_by_size": "by size", "weighted_by_time": "by time"}
        ratios.add_column("")
        for name in columns:
            ratios.add_column(short.get(name, name.replace("_", " ")), justify="right")
        for row in report.ratios.to_dict(orient="records"):
            ratios.add_row(row["resource"], *(_fmt(row[c], "{:.1%}") for c in columns))
        tables.append(ratios)
    for title, counts in (("records not replayed", report.data.dropped), ("bad rows skipped", report.data.skipped)):
        if counts:
            table = Table(title=title, title_justify="left")
            table.add_column("reason")
            table.add_column("count", justify="right")
            for reason, n in counts.items():
                table.add_row(reason, f"{n:,}")
            tables.append(table)
    if report.data.notes:
        notes = Table(title="notes", title_justify="left", show_header=False)
        notes.add_column("note", overflow="fold")
        for note in report.data.notes:
            notes.add_row(note)
        tables.append(notes)
    return tables


def _distinct_digits(sizes: pd.DataFrame) -> int:
    """Significant digits, 3 at least, that print every distinct (cores, memory) of the size
    mix distinctly: Bitbrains' 2 GiB and 1.998047 GiB both read "2" at 3 digits."""
    rows = sizes[["cpu_cores", "memory_gib"]].dropna().drop_duplicates().to_numpy(float)
    for digits in range(3, 10):
        if len({(f"{c:.{digits}g}", f"{m:.{digits}g}") for c, m in rows}) == len(rows):
            return digits
    return 10


def _trace_span(seconds: float) -> str:
    from simdc.workload.inspect import _span as span

    return span(float(seconds))


@trace_app.command("convert")
@friendly
def trace_convert(
    paths: PathsArgument,
    to: Annotated[Path, typer.Option("--to", help="Output: .parquet or .csv (usage series go beside it).")],
    format: FormatOption = "auto",
    on_bad_rows: BadRowsOption = "strict",
    time_window_s: WindowOption = None,
    sample: SampleOption = None,
    limit: LimitOption = None,
    seed: SeedOption = TRACE_SEED,
    usage_step_s: StepOption = 300.0,
    azure_memory_used_fraction: AzureMemoryOption = None,
    azure_bucket_sizing: AzureSizingOption = None,
    reference_cpu_cores: RefCoresOption = None,
    reference_memory_gib: RefMemoryOption = None,
    opendc_memory_unit: OpendcUnitOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Write a trace in simdc's format, to replay as workload.trace (format simdc)."""
    from simdc.workload.inspect import convert_trace

    _check_trace_out(to, paths, overwrite)
    fmt, options, selection = _trace_settings(
        format, on_bad_rows=on_bad_rows, time_window_s=time_window_s, sample=sample, limit=limit, seed=seed,
        usage_step_s=usage_step_s, azure_memory_used_fraction=azure_memory_used_fraction,
        azure_bucket_sizing=azure_bucket_sizing,
        reference_cpu_cores=reference_cpu_cores, reference_memory_gib=reference_memory_gib,
        opendc_memory_unit=opendc_memory_unit)
    data, written, usage = convert_trace(paths, to, fmt, options, selection)
    _say(f"wrote {written} ({len(data.instances):,} instances)"
         + (f" and {usage} ({len(data.usage):,} usage samples)" if usage is not None else ""))
    for note in data.notes:
        _say(f"  {note}")
    for reason, n in {**data.dropped, **data.skipped}.items():
        _say(f"  not replayed: {reason}: {n:,}")


@trace_app.command("generate")
@friendly
def trace_generate(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG", help=escape("A config with [workload.synthetic]."))],
    to: Annotated[Path, typer.Option("--to", help="Output: .parquet or .csv (usage series go beside it).")],
    overrides: SetOption = None,
    unset: UnsetOption = None,
    seed: Annotated[Optional[int], typer.Option(help="Override simulation.seed.")] = None,
    usage: Annotated[bool, typer.Option(help="Also write the usage series.")] = True,
    overwrite: OverwriteOption = False,
) -> None:
    """Write the synthetic workload of a config as a trace in simdc's format."""
    from simdc.config import load_config
    from simdc.workload.inspect import generate_trace

    _check_trace_out(to, [config_path], overwrite)  # a usage file there too: with --no-usage it would be stale
    if seed is not None and seed < 0:
        raise SimdcError(f"--seed: must be >= 0 (got {seed})")
    config = load_config(config_path, overrides or [], unset=unset)
    data, written, usage_file = generate_trace(config, to, seed=seed, usage=usage)
    _say(f"wrote {written} ({len(data.instances):,} instances)"
         + (f" and {usage_file} ({len(data.usage):,} usage steps)" if usage_file is not None else ""))
    for note in data.notes[1:]:  # the first is the generator's, said above
        _say(f"  {note}")


OverwriteOption = Annotated[bool, typer.Option(
    help="Replace --to (and its usage file) if they exist; an input is never replaced.")]


def _check_trace_out(to: Path, inputs, overwrite: bool, usage: bool = True) -> None:
    """Refuse ``--to`` (and the usage file beside it) before reading anything: an input
    always, an existing file unless ``--overwrite``."""
    from simdc.results import check_output_file
    from simdc.workload.readers import usage_path

    check_output_file(to, inputs, overwrite)
    if usage and to.suffix in (".csv", ".parquet"):
        check_output_file(usage_path(to), inputs, overwrite)


def _say(text: str) -> None:
    err_console.print(text, markup=False, highlight=False, soft_wrap=True)


@app.command()
@friendly
def sweep(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG", help="TOML config file.")],
    grid: Annotated[list[str], typer.Option("--grid", "-g", help=escape(
                    "A swept key and its values: section.key=v1,v2,... (repeatable). Values are TOML, so a "
                    "list or table is one value: lifetime_s=[60, 120],[600, 1200] or "
                    "scoring={least_allocated = 1},{most_allocated = 1}. A value given twice (32 and 32.0) "
                    "is refused."))],
    replications: Annotated[int, typer.Option(help=escape(
        "Runs per point: replication r runs seed simulation.seed + r, the same seeds at every point "
        "(common random numbers). With --grid simulation.seed each point runs its own seed once, "
        "so this must be 1."))] = 1,
    overrides: SetOption = None,
    unset: UnsetOption = None,
    out: Annotated[Optional[Path], typer.Option(help="Sweep directory (default: a new one under results/); "
                                                     "rerun into it to resume.")] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="An existing Dask scheduler, tcp://host:8786.")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Local worker processes (default: all cores; "
                                                        "1 runs in this process); at most one per run. More "
                                                        "than the cores share them (no faster); more than "
                                                        "fit in the memory available (each about 200 MiB "
                                                        "and its run) are refused.")] = None,
    metric: Annotated[list[str], typer.Option(help="Metrics to print (repeatable).")] = None,
    memory_check: Annotated[bool, typer.Option(
        help="Refuse a run that needs more memory than the machine has available.")] = True,
) -> None:
    """Run every grid point --replications times; write points.csv and aggregate.csv.

    Replication r of every point runs seed simulation.seed + r (the points share their
    seeds, so their differences are the grid's, not the random numbers'); a grid over
    simulation.seed runs each seed once instead. The seed column is the seed each run
    used. A --set of a key the grid varies is refused."""
    from simdc.config import load_config
    from simdc.results import check_not_input, fresh_results
    from simdc.sweeping import aggregate, check_metrics, check_set, parse_grid
    from simdc.sweeping import sweep as run_sweep

    if out is not None:
        check_not_input(out, [config_path])
    config = load_config(config_path, overrides or [], unset=unset)
    if workers is not None and workers < 1:
        raise SimdcError(f"--workers: must be >= 1 (got {workers})")
    keys = parse_grid(grid)
    check_set([item.partition("=")[0].strip() for item in overrides or []], keys)
    check_metrics(config, metric or [])
    with fresh_results("results", f"{config_path.stem}-sweep", wanted=out is None) as fresh, \
            count_progress(err_console, "points") as progress:
        target = out or fresh  # fresh: made, not only named (no race)
        points = run_sweep(config, keys, replications, out=target, scheduler=scheduler, workers=workers,
                           progress=progress, check_memory=memory_check)
    for note in points.attrs.get("notes", []):
        err_console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    shown = metric or ["rejection_rate", "mean_instances", "start_p99_s"]
    summary = aggregate(points)
    absent = [m for m in shown if f"{m}_mean" not in summary.columns]
    if absent:  # known only from the runs (dependencies in a trace); the tables are written
        from simdc.planning import absent_metric

        raise SimdcError(f"--metric {absent[0]}: {absent_metric(absent[0])}; wrote {target / 'points.csv'} "
                         f"and {target / 'aggregate.csv'} without it")
    table = Table(title=f"{config_path.name}: mean ± 95 % CI over {replications} replication(s)",
                  title_justify="left")
    for header in grid_headers(list(keys), list(config.simulation.platforms), ["platform", *shown]):
        table.add_column(header, justify="right")
    table.add_column("platform")
    for m in shown:
        table.add_column(m, justify="right")
    for row in summary.to_dict("records"):
        cells = [f"{row[k]}" for k in keys] + [str(row["platform"])]
        for m in shown:
            mean, half = row.get(f"{m}_mean", math.nan), row.get(f"{m}_ci95", math.nan)
            count, runs = row.get(f"{m}_n", row["n"]), row["n"]
            cells.append("–" if mean != mean else f"{mean:.3g}" + ("" if half != half else f" ± {half:.2g}")
                         + ("" if count == runs else f" ({count} of {runs})"))  # replications with a value
        table.add_row(*cells)
    print_table(table)
    err_console.print(f"wrote {target / 'points.csv'} and {target / 'aggregate.csv'}", markup=False, highlight=False)


def grid_headers(keys: list[str], platforms: list[str], columns: list[str]) -> list[str]:
    """The sweep table's header for each dotted grid key: its last part, or the whole key
    when the last part could be read as something else (another key's last part, one of
    the table's ``columns``, or a platform name shown in the platform column)."""
    lasts = [key.rsplit(".", 1)[-1] for key in keys]
    taken = set(platforms) | set(columns)
    return [key if last in taken or lasts.count(last) > 1 else last for key, last in zip(keys, lasts)]


@app.command()
@friendly
def plan(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG", help="TOML config file.")],
    slo: Annotated[list[str], typer.Option("--slo", help="An objective: metric<=value (repeatable).")],
    replications: Annotated[int, typer.Option(help=escape(
        "Runs per host count (seeds simulation.seed + r); a count meets the SLOs only when every run meets "
        "every one."))] = 1,
    max_hosts: Annotated[int, typer.Option(help=escape(
        "Give up beyond this count: of hosts; of --group's hosts; without --group on a fleet of several "
        "[[cluster.hosts]] groups, of the multiple of every group's count."))] = 1024,
    group: Annotated[Optional[str], typer.Option(help=escape(
        "Scale only this [[cluster.hosts]] group (its count is searched; the others stay as they are)."))] = None,
    overrides: SetOption = None,
    unset: UnsetOption = None,
    out: Annotated[Optional[Path], typer.Option(help="Write evaluations.csv and plan.csv here.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace --out if it holds an earlier plan.")] = False,
    memory_check: Annotated[bool, typer.Option(
        help="Refuse a run that needs more memory than the machine has available.")] = True,
    minimise: Annotated[str, typer.Option(help=escape(
        "hosts: the fewest hosts. cost: for each host group alone, the fewest of its hosts meeting the SLOs "
        "and their cost (needs a [cost] table); the cheapest is marked."))] = "hosts",
) -> None:
    """The fewest hosts per platform where every replication meets every SLO (bisection
    on the host count), or with --minimise cost the cheapest host group and count.

    Each SLO's cell: the mean over the replications ± its 95 % confidence half-width
    (Student's t), then the worst replication's value and its margin, how far inside the
    objective that is in the metric's units (objective − worst for <=, worst − objective
    for >=; never negative at an answer; beside a value in percent, the ± and the margin
    are percentage points). Two SLOs on one metric each have their own worst and margin
    (in plan.csv named by the SLO as written: 'cpu_util_mean>=0.02_worst'). A note names
    the seeds that break an SLO where replications disagree (at the answer's count or
    the one below)."""
    from simdc.config import load_config
    from simdc.planning import parse_slo, scaled_hosts, slo_name
    from simdc.planning import plan as run_plan

    config = load_config(config_path, overrides or [], unset=unset)
    slos = [parse_slo(text) for text in slo]
    if max_hosts < 1:
        raise SimdcError(f"--max-hosts: must be >= 1 (got {max_hosts})")

    scaled = scaled_hosts(config, group)

    def echo(row: dict) -> None:
        values = "  ".join(_judged_value(s, row, slo_name(s, slos)) for s in slos)
        what = f"hosts of {row['group']}" if "group" in row else scaled
        cost = f"  cost={row['cost']:,.2f}" if "cost" in row else ""
        breaking = row.get("seeds_breaking", [])
        verdict = ("met" if row["met"] else "not met" if len(breaking) == row.get("replications", 1) else
                   f"not met (seed{'s' if len(breaking) > 1 else ''} {', '.join(map(str, breaking))})")
        err_console.print(f"{row['platform']}: {row['hosts']} {what}  {values}{cost}  {verdict}",
                          markup=False, highlight=False,
                          soft_wrap=True)  # one line each, even redirected (rich wraps at 80 off a terminal)

    from simdc.planning import PlanResult
    from simdc.results import Destination, check_not_input

    if out is not None:
        check_not_input(out, [config_path])

    # --out is checked and claimed before the search, as simdc run's (one rule for a results directory)
    with Destination(out, overwrite, marks=PlanResult.MARKS) if out is not None else contextlib.nullcontext() as dest:
        try:
            result = run_plan(config, slos, replications=replications, max_hosts=max_hosts, group=group,
                              echo=echo, check_memory=memory_check, minimise=minimise)
        except SimdcError as err:  # a run would not fit in memory: what was found so far, then the error
            if getattr(err, "partial", None) is not None and len(err.partial.evaluations):
                err_console.print("the plan stopped; what was found so far:", markup=False, highlight=False)
                _print_plan(err.partial, slos, max_hosts, "hosts")
                if dest is not None:  # the runs made are kept, their plan rows saying where it stopped
                    dest.write(err.partial)
                    err_console.print(f"wrote {out / 'evaluations.csv'} and {out / 'plan.csv'} (the plan as far "
                                      "as it went)", markup=False, highlight=False)
            raise
        _print_plan(result, slos, max_hosts, minimise)
        if dest is not None:
            dest.write(result)
            err_console.print(f"wrote {out / 'evaluations.csv'} and {out / 'plan.csv'}", markup=False,
                              highlight=False)


def _judged_value(slo, row: dict, name: str) -> str:
    """``metric=value`` of one evaluation (the mean over its replications, and with more
    than one the worst's value for this SLO, ``<name>_worst``:
    :func:`simdc.planning.slo_name`), with the digits that matter to the SLO
    (:meth:`simdc.planning.Slo.shown`), or for a start latency not known to be finite
    (too many requests not started by the end) ``metric>=its lower bound`` and the share.
    A replication without a value is named with what that says ("– in seed 6: no
    failure victim: holds", :func:`simdc.metrics.without_value`)."""
    from simdc.metrics import without_value

    metric, value = slo.metric, row[slo.metric]
    if value == math.inf and f"{metric}_at_least" in row:
        return f"{metric}>={slo.shown(row[f'{metric}_at_least'])} ({row['not_started_share']:.1%} not started)"
    worst = row.get(f"{name}_worst", value)
    spread = (f" (worst {slo.shown(worst)})" if row.get("replications", 1) > 1 and worst == worst
              and slo.shown(worst) != slo.shown(value) else "")
    # the mean is over the replications with a value: say which had none, and what that says
    seeds = row.get(f"{metric}_without_value", [])
    none = (f" (– in seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}: {without_value(metric)})"
            if seeds and value == value else "")
    return f"{metric}={slo.shown_or_why(value)}{spread}{none}"


def _slo_cell(slo, row: dict, name: str) -> str:
    """An SLO's cell in a plan's table: the mean over the replications ± its 95 % CI, then
    the worst replication's value for this SLO and its margin (``<name>_worst``,
    ``<name>_margin``: :func:`simdc.planning.slo_name`); with one replication, the value
    and its margin. The ± and the margin are in the units the values are shown in: in
    percentage points beside a value in percent (:attr:`simdc.planning.Slo.in_percent`)."""
    mean, half = row[slo.metric], row.get(f"{slo.metric}_ci95", math.nan)
    if mean != mean:  # no replication has a value: what that says ("– (no failure: holds)"), no margin
        return slo.shown_or_why(mean)
    worst = row.get(f"{name}_worst", mean)
    scale, unit = (100.0, "%") if slo.in_percent else (1.0, "")
    margin = _margin(row[f"{name}_margin"] * scale) + unit
    if half != half:  # one replication (or a value not finite): nothing to spread
        return f"{slo.shown(mean)} ({margin})"
    half *= scale
    spread = f"{half:,.0f}" if half >= 10 else f"{half:.2g}"  # as a margin: "82", not "8.2e+01"
    return f"{slo.shown(mean)} ± {spread}{unit}, worst {slo.shown(worst)} ({margin})"


def _margin(value: float) -> str:
    """An SLO's margin as the plan's table shows it: signed, 3 significant digits ("+100",
    not "+1e+02"), whole and grouped from 1,000 up."""
    return f"{value:+,.0f}" if abs(value) >= 1000 else f"{value:+.3g}"


def _print_plan(result, slos: list, max_hosts: int, minimise: str) -> None:
    """The plan's table on stdout (and, for fewest hosts, the SLOs out of reach on stderr)."""
    from simdc.planning import slo_name

    if minimise == "cost":
        print_table(cost_plan_table(result, slos, max_hosts))
        _print_plan_notes(result, slos)
        _print_floors(result, max_hosts)
        _print_unsteady(result)
        return
    replications = int(result.evaluations["replication"].max()) + 1 if len(result.evaluations) else 1
    # "margin": how far inside the objective (plan --help, the README)
    title = ("fewest hosts meeting every SLO (value there, and its margin)" if replications == 1 else
             f"fewest hosts where all {replications} replications meet every SLO (mean ± 95 % CI, worst, margin)")
    table = Table(title=title, title_justify="left")
    table.add_column("platform")
    table.add_column(result.scaled, justify="right")
    # The searched count is the whole fleet only for one host or one group: else show the total too.
    partial = result.scaled != "hosts"
    if partial:
        table.add_column("fleet total", justify="right")
    for s in slos:
        table.add_column(str(s), justify="right")
    for row in result.plan.to_dict("records"):
        needed = row["hosts_needed"]
        if needed is None or needed != needed:
            table.add_row(str(row["platform"]), _never(result, row, max_hosts), *["–"] * (len(slos) + partial))
            continue
        total = [f"{int(row['hosts_total'])}"] if partial else []
        table.add_row(str(row["platform"]), f"{int(needed)}", *total,
                      *[_slo_cell(s, row, slo_name(s, slos)) for s in slos])
    print_table(table)
    _print_plan_notes(result, slos)
    _print_floors(result, max_hosts)
    stopped = [f"note: {row['platform']}: " for row in result.plan.to_dict("records")
               if "is not improving" in str(row.get("reason", ""))]  # said already, in the reason
    for line in out_of_reach(result.evaluations, slos):
        if not line.startswith(tuple(stopped)):
            err_console.print(line, markup=False, highlight=False, soft_wrap=True)
    _print_unsteady(result)


def _print_plan_notes(result, slos: list) -> None:
    """The unplaceable warnings `simdc run` prints, and a note where replications disagree."""
    from simdc.planning import disagreements

    for line in result.warnings:
        err_console.print(f"warning: {line}", markup=False, highlight=False, soft_wrap=True)
    for line in disagreements(result, slos):
        err_console.print(f"note: {line}", markup=False, highlight=False, soft_wrap=True)


def _print_unsteady(result) -> None:
    """A note per platform whose answer's run had not reached steady state."""
    from simdc.planning import STEADY_RISE

    for row in result.plan.to_dict("records"):
        rise = row.get("residents_rise", math.nan)
        if rise == rise and rise > STEADY_RISE:
            where = f"{row['platform']} ({row['group']})" if "group" in row else str(row["platform"])
            err_console.print(f"note: {where}: not in steady state at {int(row['hosts_needed'])} {result.scaled}: "
                              "residents still "
                              f"rise about {rise:.0%} over the run's last tenth, so the answer is of a fleet filling "
                              "up and may be too few for a longer time; plan on a longer run "
                              "(--set simulation.duration_s=...) until this note goes",
                              markup=False, highlight=False, soft_wrap=True)


def _stopped_early(result, row: dict, max_hosts: int) -> bool:
    """Whether the plan gave up on ``row``'s platform (and group) before ``max_hosts``:
    a run showed that no count can meet the SLOs (its ``reason``)."""
    runs = result.evaluations[result.evaluations["platform"] == row["platform"]]
    if "group" in row and "group" in runs:
        runs = runs[runs["group"] == row["group"]]
    return bool(len(runs)) and int(runs["hosts"].max()) < max_hosts


def _never(result, row: dict, max_hosts: int) -> str:
    if str(row.get("reason", "")).startswith("stopped after "):  # memory ran out: the count not yet known
        return f"> {row['reason'].split()[2]}"
    if str(row.get("reason", "")).startswith("not searched"):  # memory ran out on a platform before it
        return "not searched"
    return "none" if _stopped_early(result, row, max_hosts) else f"> {max_hosts}"


def _print_floors(result, max_hosts: int) -> None:
    """A note per platform (and group) that no host count can serve: the plan's reason."""
    from simdc.planning import not_met

    for row in result.plan.to_dict("records"):
        needed = row["hosts_needed"]
        if (needed is None or needed != needed) and row.get("reason") not in ("", not_met(max_hosts, result.scaled),
                                                                               None):
            where = f"{row['platform']} ({row['group']})" if "group" in row else str(row["platform"])
            err_console.print(f"note: {where}: {row['reason']}", markup=False, highlight=False, soft_wrap=True)


def out_of_reach(evaluations: pd.DataFrame, slos: list) -> list[str]:
    """A note per platform and SLO never met whose margin at the most hosts tried is no
    better than at the fewest: more hosts do not move it (start latency or the work
    itself binds, not capacity), so "> max hosts" must not read as "buy more"."""
    notes = []
    for platform, runs in evaluations.groupby("platform", sort=False):
        if runs["met_at_count" if "met_at_count" in runs else "met"].any():
            continue
        # a metric once, though two SLOs name it (a repeated column made means[metric] a table)
        means = runs.groupby("hosts")[list(dict.fromkeys(s.metric for s in slos))].mean().sort_index()
        if len(means) < 2:
            continue
        for s in slos:
            first, last = means[s.metric].iloc[0], means[s.metric].iloc[-1]
            if not s.met(last) and not s.margin(last) > s.margin(first):
                fewest = f"{means.index[0]} host{'s' if means.index[0] != 1 else ''}"
                notes.append(f"note: {platform}: {s} is not met at {fewest} ({first:.4g}) nor at "
                             f"{means.index[-1]} ({last:.4g}): more hosts do not bring it closer")
    return notes


def cost_plan_table(result, slos: list, max_hosts: int) -> Table:
    """The ``--minimise cost`` plan (a :class:`~simdc.planning.PlanResult`) for people: a
    row per platform and host group, the fewest hosts of the group meeting the SLOs, their
    cost and carbon; the cheapest marked. A group that meets them at no count says so in
    its hosts column as the fewest-hosts table does: ``none`` where a run showed no count
    can (the note after the table says why), ``> max_hosts`` where none up to it did; its
    cost columns are empty (no fleet of that group meets the SLOs, so there is no cost)."""
    from simdc.planning import slo_name

    table = Table(title="cheapest host group per platform meeting every SLO (* the cheapest)", title_justify="left")
    for name in ("platform", "group"):
        table.add_column(name)
    for name in ("hosts", "cost", "cost per instance-hour", "kgCO2eq", *map(str, slos)):
        table.add_column(name, justify="right")
    for row in result.plan.to_dict("records"):
        needed = row["hosts_needed"]
        if needed is None or needed != needed:
            table.add_row(str(row["platform"]), str(row["group"]), _never(result, row, max_hosts),
                          *["–"] * (3 + len(slos)))
            continue
        table.add_row(str(row["platform"]), f"{row['group']}{' *' if row['cheapest'] else ''}", f"{int(needed)}",
                      f"{row['cost']:,.2f}", f"{row['cost_per_instance_hour']:,.4f}", f"{row['carbon_kgco2eq']:,.1f}",
                      *[_slo_cell(s, row, slo_name(s, slos)) for s in slos])
    return table


@contextlib.contextmanager
def count_progress(console: Console, what: str):
    """A ``progress(done, total)`` callback drawing a bar with time left, or None off a terminal."""
    if not console.is_terminal:
        yield None
        return
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    with Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task(what, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def flowed(text: str | None) -> str | None:
    """``text`` (a docstring) with each paragraph on one line: typer's rich help keeps a
    later paragraph's line breaks and then wraps it again at the terminal's width, which
    broke sentences mid-line ("half-width" / "(Student's t)")."""
    if text is None:
        return None
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


for _commands in (app.registered_commands, trace_app.registered_commands):
    for _info in _commands:
        if _info.help is None and _info.callback is not None:
            _info.help = flowed(_info.callback.__doc__)


def main() -> None:
    """The ``simdc`` command (kept for ``simdc.cli:main``; the console script is the lighter
    :func:`simdc.__main__.main`)."""
    from simdc.__main__ import main as entry

    entry()
