"""What ``simdc trace`` does, as importable functions: inspect, convert and generate traces.

:func:`inspect_trace` answers what a planner asks first about a trace: how many
instances, over what time, arriving how fast, of which sizes, living how long, and
using how much of what they request. :func:`convert_trace` writes a trace in simdc's
format; :func:`generate_trace` writes the synthetic generator's workload as a trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from pydantic import ValidationError

from simdc.errors import ConfigError
from simdc.workload.readers import SIZES, ReaderOptions, Selection, TraceData, read_trace, write_trace
from simdc.workload.readers.common import on_step_table, run_spans

QUANTILES = (0.1, 0.5, 0.9, 0.99)
TOP_SIZES = 10


@dataclass
class TraceReport:
    """A trace at a glance: every table is plain data for a notebook or the CLI.

    Attributes
    ----------
    data
        What the reader produced (instances, usage, notes, skipped and dropped counts).
    overview
        ``(label, value)`` pairs: format, instances, time span, arrivals...
    arrivals
        One row per time bin: ``start_s``, ``end_s``, ``arrivals``, ``per_hour`` (arrivals
        after time 0; those present at 0 are counted in the overview).
    sizes
        The commonest ``cpu_cores × memory_gib`` pairs: ``instances`` and ``share``.
    lifetimes
        ``quantile`` and ``duration_s`` (``mean`` and ``max`` too) of the lifetimes that
        ended in the data; lifetimes cut off by its end (the reader's ``censored`` flag)
        are lower bounds, summarised apart in ``censored p50 (so far)`` and
        ``censored max (so far)`` rows and counted in the overview.
    ratios
        Usage over request per instance, for ``cpu`` and ``memory``: ``mean`` and
        quantiles of the instances' mean ratio (``mean_*``) and, with usage series, of
        their 95th-percentile ratio (``p95_*``).
    """

    data: TraceData
    overview: list[tuple[str, str]] = field(default_factory=list)
    arrivals: pd.DataFrame = field(default_factory=pd.DataFrame)
    sizes: pd.DataFrame = field(default_factory=pd.DataFrame)
    lifetimes: pd.DataFrame = field(default_factory=pd.DataFrame)
    ratios: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        inst = self.data.instances
        end = run_spans(inst).end  # Google's: SCHEDULE + duration_s; a task with parents: after theirs
        figures = {  # the overview's numbers as numbers, for scripts (the overview is worded for people)
            "instances": int(len(inst)),
            "first_submit_s": float(inst["submit_s"].min()) if len(inst) else None,
            "last_end_s": float(np.max(end)) if len(inst) else None,
            "cpu_cores_requested_total": float(inst["cpu_cores"].sum()),
            "memory_gib_requested_total": float(inst["memory_gib"].sum()),
            "cpu_cores_requested_mean": float(inst["cpu_cores"].mean()) if len(inst) else None,
            "memory_gib_requested_mean": float(inst["memory_gib"].mean()) if len(inst) else None,
            "censored": int(inst["censored"].sum()) if "censored" in inst else 0,
            "usage_rows": int(len(self.data.usage)) if self.data.usage is not None else 0,
        }
        return {
            "figures": figures,
            "overview": dict(self.overview),
            "arrivals": self.arrivals.to_dict(orient="records"),
            "sizes": self.sizes.to_dict(orient="records"),
            "lifetimes": self.lifetimes.to_dict(orient="records"),
            "ratios": self.ratios.to_dict(orient="records"),
            "skipped_rows": self.data.skipped,
            "dropped": self.data.dropped,
            "notes": self.data.notes,
        }


def settings(format: str = "auto", flags: dict[str, Any] | None = None) -> tuple[str, ReaderOptions, Selection]:
    """Reader options and selection from command-line flags, validated like a config's
    ``[workload]`` table; a mistake names the flag (``--sample: must be <= 1 (got 2.0)``).

    ``flags`` keys are :class:`~simdc.model.workload.WorkloadSpec` field names (and
    ``seed``); None values are left at their defaults.
    """
    from simdc.config import describe
    from simdc.model.workload import WorkloadSpec
    from simdc.workload import reader_options

    given = {k: v for k, v in (flags or {}).items() if v is not None}
    seed = int(given.pop("seed", 0))
    if seed < 0:
        raise ConfigError(f"--seed: must be >= 0 (got {seed})")
    try:
        spec = WorkloadSpec(trace=Path("."), format=format, **given)
    except ValidationError as err:
        problems = []
        for error in err.errors():
            line = describe(error)
            for name in sorted(WorkloadSpec.model_fields, key=len, reverse=True):
                if line.startswith(name):
                    line = "--" + name.replace("_", "-") + line[len(name):]
                    break
            problems.append(line)
        raise ConfigError(problems) from None
    return spec.format, reader_options(spec), Selection(spec.time_window_s, spec.sample, spec.limit, seed)


def inspect_trace(paths: Sequence[str | Path], format: str = "auto", options: ReaderOptions | None = None,
                  selection: Selection | None = None, bins: int = 12) -> TraceReport:
    """Read a trace and summarise it (see :class:`TraceReport`).

    Parameters
    ----------
    bins
        Number of equal time bins of the arrival-rate table, in [1, 10,000]
        (:data:`simdc.model.limits.MAX_BINS`).

    Raises
    ------
    ConfigError
        ``bins`` out of that range, before the trace is read.
    """
    bins = _checked_bins(bins)
    data = read_trace(paths, format, options, selection, keep_started=True)
    return report(data, bins, (options or ReaderOptions()).usage_step_s)


def _checked_bins(bins) -> int:
    """``bins`` as an int in [1, :data:`~simdc.model.limits.MAX_BINS`], or a
    :class:`ConfigError` saying why: the bin edges are allocated before any is filled."""
    from simdc.errors import checked_int
    from simdc.model.limits import BINS_NOTE, MAX_BINS

    return checked_int(bins, "bins", minimum=1, maximum=MAX_BINS, cli="--bins", why=BINS_NOTE)


def report(data: TraceData, bins: int = 12, step_s: float = 300.0) -> TraceReport:
    """Summarise what a reader produced; usage peaks as the series play on ``step_s``
    (``bins``: as :func:`inspect_trace`'s)."""
    bins = _checked_bins(bins)
    inst = data.instances
    out = TraceReport(data)
    n = len(inst)
    submit = inst["submit_s"].to_numpy(float)
    end = run_spans(inst).end  # the trace's ends: Google's SCHEDULE + duration_s, after parents
    out.overview = [("format", data.format), ("source", data.source), ("instances", f"{n:,}")]
    if n == 0:
        out.overview.append(("note", "no instances"))
        return out
    last_submit, later = float(submit.max()), int((submit > 0).sum())
    out.overview += [
        ("time span", f"{_span(float(submit.min()))} to {_span(float(end.max()))} "
                      f"(last arrival at {_span(last_submit)})"),
        ("present at time 0", f"{int((submit == 0).sum()):,}"),
        ("arrivals after time 0", f"{later:,}" + _per_hour(later, last_submit)),
        ("kinds", ", ".join(f"{k} {c:,}" for k, c in inst["kind"].astype(str).value_counts().items())),
        ("cores requested", f"{inst['cpu_cores'].sum():,.1f} in all, {inst['cpu_cores'].mean():.3g} mean"),
        ("memory requested", f"{inst['memory_gib'].sum():,.1f} GiB in all, {inst['memory_gib'].mean():.3g} GiB mean"),
        ("usage series", "none: each instance uses its mean" if data.usage is None else
         f"{data.usage['id'].nunique():,} instances, {len(data.usage):,} samples"),
    ]
    if data.skipped:
        out.overview.append(("bad rows skipped", f"{sum(data.skipped.values()):,}"))
    if data.dropped:
        out.overview.append(("records not replayed", f"{sum(data.dropped.values()):,}"))

    # Instances present at time 0 were submitted before the trace (or its window) began:
    # the rate is that of the arrivals after it.
    if later:
        edges = np.linspace(0.0, last_submit, bins + 1)
        counts, _ = np.histogram(submit[submit > 0], bins=edges)
    else:  # none after it: no rows, not a table of zeros over a span of nothing
        edges, counts = np.zeros(1), np.zeros(0, dtype=int)
    width_h = np.diff(edges) / 3600.0
    out.arrivals = pd.DataFrame({"start_s": edges[:-1], "end_s": edges[1:], "arrivals": counts,
                                 "per_hour": np.where(width_h > 0, counts / np.where(width_h > 0, width_h, 1), np.nan)})

    sizes = inst.groupby(["cpu_cores", "memory_gib"]).size().sort_values(ascending=False, kind="stable")
    top = sizes.head(TOP_SIZES)
    table = top.rename("instances").reset_index()
    rest = int(sizes.iloc[TOP_SIZES:].sum())
    if rest:
        table = pd.concat([table, pd.DataFrame({"cpu_cores": [np.nan], "memory_gib": [np.nan], "instances": [rest]})],
                          ignore_index=True)
    table["share"] = table["instances"] / n
    out.sizes = table

    out.lifetimes = _lifetimes(inst, out.overview)

    ratio_rows = []
    played = on_step_table(data.usage, step_s) if data.usage is not None and len(data.usage) else None
    for name, used, requested in (("cpu", "cpu_used", "cpu_cores"), ("memory", "memory_used_gib", "memory_gib")):
        mean_ratio = inst[used] / inst[requested]
        row = {"resource": name, "mean_of_means": float(mean_ratio.mean())}
        for q in (0.5, 0.95):
            row[f"p{round(q * 100)}_of_means"] = float(mean_ratio.quantile(q))
        # pooled: by request size, and by requested core- or GiB-seconds, which is what a
        # fleet holds over time (a long instance counts for longer)
        row["weighted_by_size"] = float(inst[used].sum() / inst[requested].sum())
        lived = inst["duration_s"].to_numpy(float)
        row["weighted_by_time"] = float((inst[used].to_numpy(float) * lived).sum()
                                        / (inst[requested].to_numpy(float) * lived).sum())
        if played is not None:
            column = "cpu_cores" if name == "cpu" else "memory_gib"
            peak = played.groupby("id")[column].quantile(0.95)
            request = pd.Series(inst[requested].to_numpy(), index=inst["id"].to_numpy())
            peak_ratio = (peak / request.reindex(peak.index)).dropna()
            row["p50_of_p95s"] = float(peak_ratio.quantile(0.5)) if len(peak_ratio) else np.nan
            row["p95_of_p95s"] = float(peak_ratio.quantile(0.95)) if len(peak_ratio) else np.nan
        ratio_rows.append(row)
    out.ratios = pd.DataFrame(ratio_rows)
    return out


def _lifetimes(inst: pd.DataFrame, overview: list[tuple[str, str]]) -> pd.DataFrame:
    """Quantiles of the finished lifetimes; those cut off by the end of the data (the
    reader's ``censored`` flag) are only lower bounds, shown apart (``censored ...`` rows)."""
    duration = inst["duration_s"]
    censored = inst["censored"].to_numpy(bool) if "censored" in inst else np.zeros(len(inst), dtype=bool)
    finished = duration[~censored]
    rows = []
    if len(finished):
        rows += [(f"p{round(q * 100)}", float(finished.quantile(q))) for q in QUANTILES]
        rows += [("mean", float(finished.mean())), ("max", float(finished.max()))]
    if censored.any():
        cut = duration[censored]
        overview.append(("lifetimes cut by the end of the data",
                         f"{len(cut):,} of {len(inst):,} ({len(cut) / len(inst):.1%}): lower bounds, shown apart; "
                         f"the quantiles are of the {len(finished):,} that ended"))
        rows += [("censored p50 (so far)", float(cut.quantile(0.5))), ("censored max (so far)", float(cut.max()))]
    return pd.DataFrame(rows, columns=["quantile", "duration_s"])


def convert_trace(paths: Sequence[str | Path], to: str | Path, format: str = "auto",
                  options: ReaderOptions | None = None, selection: Selection | None = None
                  ) -> tuple[TraceData, Path, Path | None]:
    """Read a trace and write it in simdc's format: ``to`` (``.csv`` or ``.parquet``) and,
    when it has usage series, ``<to stem>.usage.<suffix>``; without, a usage file left
    there by an earlier output is removed (the caller checked that ``to`` may be
    replaced). Replay it with ``[workload] trace = "<to>"`` (and ``usage = "<usage file>"``).

    Raises
    ------
    InputError
        The trace cannot be read, or an output cannot be written or a stale usage file removed
        (:class:`~simdc.errors.OutputError`: nothing was written).
    """
    data = read_trace(paths, format, options, selection, keep_started=True)  # (simdc's format keeps it)
    written, usage = write_trace(data, to)
    if SIZES[data.format] == "vm":  # simdc's format is read as needs, which VMs are sized from
        data.notes = list(data.notes) + [f"cpu_cores and memory_gib are {data.format}'s VM sizes: replay with "
                                         f"workload.sizes = \"vm\" to keep them as the VMs' sizes"]
    seed = selection.seed if selection is not None else 0
    if any("seed" in note for note in data.notes) or (selection is not None and selection.sample is not None):
        data.notes = list(data.notes) + [f"values drawn with seed {seed} (--seed): the file replays as `simdc run` "
                                         f"of the trace's own files with simulation.seed = {seed}; a config with "
                                         "another seed draws other values from them"]
    if "cell" in data.instances:  # simdc's format has no cell column (simdc.workload.COLUMNS)
        data.notes = list(data.notes) + ["the cell column is not kept in simdc's format: to route by it "
                                         "(routing.rule = \"column\"), replay the trace's own files"]
    return data, written, usage


def _per_hour(arrivals: int, last_s: float) -> str:
    """" (N per hour)" over the time to the last arrival: two significant digits below 1
    (a rare arrival is not "0.0 per hour"); nothing for fewer than two arrivals, which
    make no rate."""
    if arrivals < 2 or last_s <= 0:
        return ""
    rate = arrivals / last_s * 3600
    return f" ({rate:,.1f} per hour)" if rate >= 1 else f" ({rate:.2g} per hour)"


def generate_trace(config, to: str | Path, seed: int | None = None, usage: bool = True
                   ) -> tuple[TraceData, Path, Path | None]:
    """Write the workload of ``config``'s ``[workload.synthetic]`` table as a trace.

    The arrivals cover ``simulation.duration_s``. With ``usage``, each instance's usage
    over time is written too, on ``usage_step_s`` steps of its age, over every age a
    replay of that duration can reach (:func:`_materialise`), as if it started at its
    submit time (a replay that starts it later sees the same series, shifted).

    Raises
    ------
    ConfigError
        When the config's workload is not synthetic.

    Without usage series, a usage file an earlier output left beside ``to`` is removed
    (the caller checked that it may be replaced).
    """
    from simdc import budget
    from simdc.workload import synthetic, synthetic_usage

    spec = config.workload.synthetic
    if spec is None:
        raise ConfigError("workload: trace generate needs a [workload.synthetic] table in the config")
    seed = config.simulation.seed if seed is None else seed
    budget.check_generated(config)  # before drawing arrivals the machine cannot hold
    workload = synthetic.generate(spec, config.simulation.duration_s, seed)
    table = None
    model = synthetic_usage(spec, workload, seed) if usage else None
    if model is not None:
        table = _materialise(model, workload.instances, spec.usage_step_s, config.simulation.duration_s)
    data = TraceData(workload.instances, table, "simdc", "synthetic",
                     notes=[f"synthetic workload, seed {seed}: {len(workload.instances):,} instances"])
    written, usage_file = write_trace(data, to)
    return data, written, usage_file


MAX_USAGE_ROWS = 50_000_000


def _materialise(model, instances: pd.DataFrame, step_s: float, horizon_s: float) -> pd.DataFrame:
    """The usage model's values at each instance's age steps, as the engine reads them.

    Ages: every multiple of ``step_s`` from 0 to the larger of the instance's
    ``duration_s`` and ``horizon_s − submit_s``. An instance can live past its duration
    (batch work slowed by contention or interference, a guest paused by a move keeps its
    age), up to the run's end, and the synthetic model has usage at every age: a series
    that stopped at the duration would hold its last value where the model goes on
    (its rare memory peaks included), and a replay would see other usage. The engine
    starts no instance before its submission, so no age past ``horizon_s − submit_s``
    is ever read.

    Times (``now``, which the shared parts read: the daily shape, the common shock): as
    the engine asks them of an instance started at its submission, age 0 at ``submit_s``
    (its start) and age ``k·step`` at the first usage step of the run's clock at or after
    ``submit_s + k·step`` (the one step where the engine reads that age's value). An
    instance that starts later reads them at its own times: a documented difference
    (README, ``simdc trace generate``).
    """
    submit = instances["submit_s"].to_numpy(float)
    reach = np.maximum(instances["duration_s"].to_numpy(float), horizon_s - submit)
    steps = np.maximum(np.ceil(reach / step_s), 1).astype(np.int64)
    total = int(steps.sum())
    if total > MAX_USAGE_ROWS:
        raise ConfigError(f"workload: the usage series would have {total:,} rows (more than {MAX_USAGE_ROWS:,}); "
                          "generate without it (--no-usage) or a shorter run")
    inst = np.repeat(np.arange(len(submit)), steps)
    k = np.arange(total) - np.repeat(np.cumsum(steps) - steps, steps)
    age = k * step_s
    cpu = np.empty(total)
    mem = np.empty(total)
    first = k == 0
    cpu[first], mem[first] = model.at_start(inst[first], submit[inst[first]])
    later = np.flatnonzero(~first)
    group = np.ceil((submit[inst[later]] + age[later]) / step_s).astype(np.int64)
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    for chunk, clock in zip(np.split(later[order], bounds), np.split(group[order], bounds)):
        if len(chunk):
            cpu[chunk], mem[chunk] = model.at(inst[chunk], age[chunk], float(clock[0] * step_s))
    return pd.DataFrame({"id": instances["id"].to_numpy()[inst], "t_s": age, "cpu_cores": cpu, "memory_gib": mem})


def run_messages(manifest: dict[str, Any]) -> list[str]:
    """Lines for people about a run's trace: what the reader chose and the bad rows skipped."""
    lines = [f"workload: {note}" for note in manifest.get("workload_notes", [])]
    skipped = manifest.get("skipped_rows") or {}
    if skipped:
        lines.append(f"skipped {sum(skipped.values()):,} bad trace rows (on_bad_rows = \"skip\"):")
        lines += [f"  {reason}: {count:,}" for reason, count in skipped.items()]
    return lines


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:,.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:,.1f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds / 86400:,.1f} d"
