"""The ``simdc`` command: parse, call the library, print. Nothing else lives here."""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from simdc.config import load_config
from simdc.errors import SimdcError
from simdc.experiment import simulate
from simdc.results import fresh_results_dir

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Simulate VMs with preallocated resources versus containers that share them.")
out_console = Console(width=100)
err_console = Console(stderr=True)

# (summary column, label, format) in the order the comparison table shows them.
ROWS = (
    ("submitted", "submitted", "{:,.0f}"),
    ("placed", "placed", "{:,.0f}"),
    ("rejected", "rejected", "{:,.0f}"),
    ("rejection_rate", "rejection rate", "{:.1%}"),
    ("completed", "completed", "{:,.0f}"),
    ("running_at_end", "running at end", "{:,.0f}"),
    ("queued_at_end", "queued at end", "{:,.0f}"),
    ("peak_instances", "peak instances", "{:,.0f}"),
    ("mean_instances", "mean instances", "{:,.1f}"),
    ("queue_mean_s", "queue wait mean (s)", "{:,.2f}"),
    ("start_p50_s", "start p50 (s)", "{:,.2f}"),
    ("start_p95_s", "start p95 (s)", "{:,.2f}"),
    ("start_p99_s", "start p99 (s)", "{:,.2f}"),
    ("cpu_util_mean", "CPU used", "{:.1%}"),
    ("cpu_unmet_share", "CPU demand unmet", "{:.1%}"),
    ("batch_slowdown_p95", "batch slowdown p95", "{:.2f}×"),
    ("mem_used_util_mean", "memory used", "{:.1%}"),
    ("mem_alloc_util_mean", "memory allocated", "{:.1%}"),
    ("stranded_mem_gib_mean", "stranded memory (GiB)", "{:,.1f}"),
    ("oom_kills", "OOM kills", "{:,.0f}"),
    ("restarts", "restarts", "{:,.0f}"),
    ("swap_share", "host time swapping", "{:.1%}"),
)

SetOption = Annotated[
    Optional[list[str]],
    typer.Option("--set", "-s", help="Override a config key: section.key=value (repeatable)."),
]


@app.callback()
def _app() -> None:
    """Simulate VMs with preallocated resources versus containers that share them."""


def friendly(command):
    """A user's mistake is one clear message per problem and exit code 2, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SimdcError as err:
            for problem in err.problems:
                err_console.print(f"error: {problem}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


@app.command()
@friendly
def run(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG", help="TOML config file.")],
    overrides: SetOption = None,
    seed: Annotated[Optional[int], typer.Option(help="Override simulation.seed.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Results directory (default: a new one under results/).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace --out if it exists.")] = False,
    write: Annotated[bool, typer.Option(help="Write a results directory.")] = True,
) -> None:
    """Replay the workload on each platform and compare them."""
    config = load_config(config_path, overrides or [])
    if seed is not None and seed < 0:
        raise SimdcError(f"--seed: must be >= 0 (got {seed})")
    results = simulate(config, seed=seed)
    out_console.print(comparison_table(results.summary, title=f"{config_path.name}, seed {results.manifest['seed']}"))
    if write:
        target = out or fresh_results_dir("results", config_path.stem)
        results.write(target, overwrite=overwrite)
        err_console.print(f"wrote {target} ({results.manifest['wall_time_s']:.2f} s)")


def comparison_table(summary: pd.DataFrame, title: str = "") -> Table:
    """Metrics as rows, platforms as columns; fits in 80 columns for two or three platforms."""
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    for name in summary["platform"]:
        table.add_column(str(name), justify="right")
    for column, label, fmt in ROWS:
        cells = [_fmt(value, fmt) for value in summary[column]]
        table.add_row(label, *cells)
    return table


def _fmt(value, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return fmt.format(value)


def main() -> None:
    app()
