"""Workloads: the instance table every source turns into.

One row per instance request, sorted by ``submit_s``:

==================  =======  ======================================================
column              unit     meaning
==================  =======  ======================================================
id                           unique per instance (int or str)
submit_s            s        request time, from the start of the run
duration_s          s        lifetime once running (service) or work at full speed (batch)
cpu_cores           cores    vCPUs of a VM, CPU request of a container
memory_gib          GiB      size of a VM, memory request of a container
cpu_used            cores    mean CPU demanded while running (default: cpu_cores)
memory_used_gib     GiB      mean memory used while running (default: memory_gib)
kind                         ``service`` or ``batch``
image                        image name, ``""`` when none
priority                     integer, higher is more important (default 0); no rule uses it
cpu_limit           cores    a container may not use more (default: no limit)
memory_limit_gib    GiB      a container above it is OOM-killed (default: no limit)
membw_intensity     0-1      pressure on memory bandwidth it puts on neighbours (default 0)
io_intensity        0-1      pressure on disk and kernel I/O (default 0)
job                          the job or service it is an instance of, ``""`` when none
                             (categorical): what admission by a recommender learns from
==================  =======  ======================================================

Optional, after those: ``censored`` (bool), a lifetime the end of the data cut (its
``duration_s`` is a lower bound; see ``_run_on_censored``), given by the readers that
can tell and kept by simdc's own format (0/1); ``parents``, the ids of instances of the same workload this one
waits for, separated by spaces (``""``: none). An instance with parents is submitted
when the last of them has completed, at its own ``submit_s`` at the earliest; one whose
parent never completes ends ``blocked`` (:mod:`simdc.workload.dependencies`);
``job_beyond_horizon`` (bool, only when some is true), a task of this row's job arrives
at or after the horizon, or cannot be submitted before a time window's end
(:func:`simdc.workload.readers.common.select`), and is not replayed, so the job does not
complete in the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from simdc.model.workload import SyntheticSpec, WorkloadSpec

COLUMNS = ("id", "submit_s", "duration_s", "cpu_cores", "memory_gib",
           "cpu_used", "memory_used_gib", "kind", "image", "priority", "cpu_limit", "memory_limit_gib",
           "membw_intensity", "io_intensity", "job")
REQUIRED = COLUMNS[:5]
KINDS = ("service", "batch")


@dataclass(frozen=True)
class Workload:
    """The instances to replay, identical for every platform of a run.

    ``skipped`` counts the bad trace rows skipped (``on_bad_rows = "skip"``) by reason;
    ``dropped`` the trace records that are no instance (a task that never ran), by
    reason; ``notes`` say what a reader chose and assumed (see
    :mod:`simdc.workload.readers`). ``sizes`` says whether ``cpu_cores`` and
    ``memory_gib`` are VM sizes (``"vm"``) or applications' needs (``"need"``), which a
    VM platform with ``sizing = "auto"`` fits into its catalogue (:data:`readers.SIZES`,
    or the config's ``workload.sizes``).
    """

    instances: pd.DataFrame
    source: str
    usage: Any = None  # a model from simdc.workload.usage; None: each instance's mean
    skipped: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    sizes: str = "need"  # cpu_cores, memory_gib: VM sizes ("vm") or applications' needs ("need")

    def __len__(self) -> int:
        return len(self.instances)


def load_workload(spec: WorkloadSpec, duration_s: float, seed: int,
                  before_replay: Callable[[int, int], None] | None = None,
                  keep: Callable[[pd.DataFrame], np.ndarray] | None = None) -> Workload:
    """Build the workload a config asks for, truncated to arrivals before ``duration_s``,
    with its usage over time.

    A trace (any format of :mod:`simdc.workload.readers`) is read with the spec's
    options, then the part ``time_window_s``, ``sample`` and ``limit`` select is kept
    (``sample`` draws from the ``workload:sample`` stream of ``seed``).
    ``before_replay(instances, usage_steps)``, when given, is called once a trace is read
    and before its usage is resampled (usage steps: the resampled series' length, summed
    over instances); it may raise to stop there (:mod:`simdc.budget`).
    ``keep(instances)``, when given, says which instances to replay (a boolean per row):
    a cell's part of the workload (:mod:`simdc.cells`); their usage is theirs alone.
    """
    if spec.empty:  # only [[services]]: the generator's table with no rows, so every column is there
        from simdc.model.workload import SyntheticSpec

        return load_workload(WorkloadSpec(synthetic=SyntheticSpec(arrival_rate_per_s=1.0)), 1.0, seed,
                             keep=lambda instances: np.zeros(len(instances), dtype=bool))
    if spec.synthetic is not None:
        from simdc.workload import synthetic

        workload = synthetic.generate(spec.synthetic, duration_s, seed)
        if keep is not None:
            workload = Workload(workload.instances[keep(workload.instances)].reset_index(drop=True), workload.source)
        return Workload(workload.instances, workload.source, synthetic_usage(spec.synthetic, workload, seed),
                        sizes=spec.sizes or "need")  # the generator draws what applications ask for
    from simdc.workload import dependencies, readers, usage  # the readers only when there is a trace to read

    data = readers.read_trace([spec.trace] + ([spec.usage] if spec.usage is not None else []), spec.format,
                              reader_options(spec), readers.Selection(spec.time_window_s, spec.sample, spec.limit,
                                                                      seed))
    _check_options(spec, data.format)
    selected, pruned = data.instances, []  # (parents a selection left out: pruned by readers.select)
    late = (selected["submit_s"] >= duration_s).to_numpy()
    # a child of a late instance cannot be submitted before its parent arrives: late too
    late = late | dependencies.late_descendants(selected, late)
    instances = selected[~late].reset_index(drop=True)
    cut = 0  # jobs with a task not replayed (late): none can complete in the run
    if late.any() and dependencies.has_parents(selected):
        beyond, cut = dependencies.cut_jobs(selected, late)
        if beyond[~late].any():  # (with the jobs a time window cut: readers.select)
            instances[dependencies.BEYOND] = beyond[~late] | dependencies.beyond_horizon(instances)
    late = int(late.sum())
    origin = instances["id"].astype(str)  # each row's instance in the trace (its usage series)
    scale_note = []
    if spec.scale is not None:
        before = len(instances)
        instances, origin = scaled(instances, spec.scale, seed)
        scale_note = [f"scale: {len(instances):,} instances from the trace's {before:,} (each replicated "
                      f"{spec.scale:g} times on average; replicas arrive with their original)"]
    instances, run_on = _run_on_censored(instances, duration_s)  # (replicas counted)
    if keep is not None:  # a cell's share (simdc.cells, which refuses a routing that splits dependencies)
        mine = keep(instances)
        origin = origin[mine].reset_index(drop=True)
        instances, elsewhere = dependencies.prune(instances[mine].reset_index(drop=True),
                                                  "replayed by another part of the fleet, not this one")
        pruned = pruned + elsewhere
    model = None
    table = None
    if data.usage is not None and len(instances):
        ids = instances["id"].astype(str)
        table = data.usage.assign(id=data.usage["id"].astype(str))
        if spec.scale is not None:  # a replica's series is its original's
            table = pd.DataFrame({"id": ids.to_numpy(), "_of": origin.to_numpy()}).merge(
                table.rename(columns={"id": "_of"}), on="_of").drop(columns="_of")
        table = table[table["id"].isin(ids)]
    if before_replay is not None:
        before_replay(len(instances), _usage_steps(table, spec.usage_step_s) if table is not None else 0)
    if table is not None:
        if len(table):
            model = usage.SeriesUsage.from_table(table, ids, spec.usage_step_s, _means(instances))
    source = str(spec.trace) if data.format == "simdc" else data.source
    notes = (list(data.notes) + [f"not replayed: {reason}: {n:,}" for reason, n in data.dropped.items()] + pruned
             + scale_note)
    if run_on:
        notes.append(f"{run_on:,} instances still running when the data ends (censored) run on to the end of the "
                     f"simulation ({duration_s:,.0f} s): their end is unknown, so none is counted as completed")
    beside = readers.usage_path(spec.trace) if data.format == "simdc" and spec.usage is None else None
    if beside is not None and Path(spec.trace).is_file() and beside.is_file():
        notes.append(f"{beside} lies beside the trace (its usage series, as simdc trace convert and generate write "
                     "them) and is not replayed: each instance uses its mean usage; set workload.usage to that "
                     "file to replay it")
    if late:
        notes.append(f"{late:,} instances arrive at or after simulation.duration_s ({duration_s:g} s)"
                     + (" or depend on one that does" if dependencies.has_parents(selected) else "")
                     + ": not submitted"
                     + (f"; {cut:,} jobs have such a task, and none of them counts as completed" if cut else ""))
    return Workload(instances, source, model, skipped=dict(data.skipped), dropped=dict(data.dropped),
                    notes=tuple(notes), sizes=spec.sizes or readers.SIZES[data.format])


def scaled(instances: pd.DataFrame, scale: float, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """``instances`` with each replicated ``floor(scale)`` times, plus once more with
    probability ``scale - floor(scale)`` (stream ``workload:scale`` of ``seed``), so the
    expected count is ``scale`` × theirs; below 1 it thins them as ``sample`` does.

    A replica is an independent instance with the same submission, duration, size and
    usage series; the first keeps the original's ``id``, the k-th more ``"<id>~k"``.
    Replicas arrive together (a batch of them where there was one request), burstier
    than as many independent arrivals would be: a planner's "+30 %" of a real trace
    rather than a new one. Returns the table (in submission order, index from 0) and
    each row's original id.

    Raises
    ------
    InputError
        The trace has dependencies (a ``parents`` column with a parent): replicas of a
        task would need their own copy of its job, which is not done.
    """
    from simdc.errors import InputError
    from simdc.random import stream
    from simdc.workload import dependencies

    if dependencies.has_parents(instances):
        raise InputError("workload.scale: replicates independent instances, and this trace's tasks have parents "
                         "(a replica would need its own copy of its job); leave scale out, or use sample")
    whole = int(np.floor(scale))
    copies = whole + (stream(seed, "workload:scale").random(len(instances)) < scale - whole)
    rows = np.repeat(np.arange(len(instances)), copies)
    out = instances.iloc[rows].reset_index(drop=True)
    origin = out["id"].astype(str)
    k = np.arange(len(rows)) - np.repeat(np.cumsum(copies) - copies, copies)  # copy number within its original
    out["id"] = np.where(k == 0, origin, origin + "~" + k.astype(str))
    if out["id"].duplicated().any():
        raise InputError("workload.scale: a replica's id '<id>~k' is an id of the trace already; rename its ids")
    return out, origin


def _run_on_censored(instances: pd.DataFrame, duration_s: float) -> tuple[pd.DataFrame, int]:
    """Instances whose lifetime the end of the data cut (the readers' ``censored`` flag)
    and that would end before the simulation does: their true end is unknown and later,
    so they run on past the horizon (ending ``running_at_end``), never as completions at
    the moment the data stops. Returns the table and how many were extended."""
    if "censored" not in instances or not len(instances):
        return instances, 0
    submit, duration = instances["submit_s"].to_numpy(float), instances["duration_s"].to_numpy(float)
    early = instances["censored"].to_numpy(bool) & (submit + duration <= duration_s)
    if not early.any():
        return instances, 0
    # past the horizon by a second: an end exactly at the horizon would be an end
    instances = instances.assign(duration_s=np.where(early, duration_s - submit + 1.0, duration))
    return instances, int(early.sum())


def _check_options(spec: WorkloadSpec, chosen: str) -> None:
    """A reader option set for another format than the one read would be ignored: with
    ``format = "auto"`` (the default) that is known only now, so it is reported here."""
    from simdc.errors import InputError
    from simdc.model.workload import FORMAT_OPTIONS

    for key, formats in FORMAT_OPTIONS.items():
        if getattr(spec, key) is not None and chosen not in formats:
            raise InputError(f"workload.{key}: applies to format {' or '.join(map(repr, formats))} only, "
                             f"and the trace was recognised as {chosen!r}")


def _usage_steps(table: pd.DataFrame, step_s: float) -> int:
    """Slots of the series :meth:`SeriesUsage.from_table` builds: per instance, the step
    its last reading takes effect at (:func:`simdc.workload.usage.step_of`) + 1."""
    from simdc.workload.usage import step_of

    if not len(table):
        return 0
    last = table.groupby("id", sort=False)["t_s"].max().to_numpy(float)
    return int(max(step_of(last, step_s).sum() + len(last), len(table)))


def reader_options(spec: WorkloadSpec):
    """The trace reader's options from a workload spec."""
    from simdc.workload.readers import ReaderOptions

    return ReaderOptions(on_bad_rows=spec.on_bad_rows, azure_memory_used_fraction=spec.azure_memory_used_fraction,
                         azure_bucket_sizing=spec.azure_bucket_sizing,
                         reference_cpu_cores=spec.reference_cpu_cores, reference_memory_gib=spec.reference_memory_gib,
                         opendc_memory_unit=spec.opendc_memory_unit, usage_step_s=spec.usage_step_s)


def synthetic_usage(spec: SyntheticSpec, workload: Workload, seed: int):
    """The generator's usage over time, or constant means when it has no variation."""
    from simdc.workload.usage import SyntheticUsage

    if spec.cpu_burstiness == 0 and spec.memory_burstiness == 0 and spec.usage_diurnal_amplitude == 0:
        return None
    means = _means(workload.instances)
    return SyntheticUsage(means.cpu, means.mem, step_s=spec.usage_step_s, seed=seed,
                          cpu_burstiness=spec.cpu_burstiness, memory_burstiness=spec.memory_burstiness,
                          correlation=spec.usage_correlation, diurnal_amplitude=spec.usage_diurnal_amplitude,
                          diurnal_peak_s=spec.diurnal_peak_s,
                          cpu_max=workload.instances["cpu_cores"].to_numpy(float),
                          mem_max=workload.instances["memory_gib"].to_numpy(float))


def _means(instances: pd.DataFrame):
    from simdc.workload.usage import ConstantUsage

    return ConstantUsage(instances["cpu_used"].to_numpy(float), instances["memory_used_gib"].to_numpy(float))
