"""OpenDC's workload format: ``tasks.parquet`` and ``fragments.parquet``, schema versions 2 to 5.

Schema (github.com/atlarge-research/opendc-traces, ``workload/schemas/``)
------------------------------------------------------------------------
tasks: ``id``, ``submission_time``, ``duration`` (from v3), ``cpu_count``,
``cpu_capacity``, ``mem_capacity`` (and optional columns simdc does not need).
fragments: ``id``, ``duration``, ``cpu_usage`` (and ``cpu_count`` in v2–v3); the
fragments of a task, in file order, are consecutive slices of its run.
Versions differ in types only where it matters little here: ids are strings in v2–v3
and int32 from v4; v2's ``submission_time`` is a timestamp and it has no task
``duration`` (a task then lasts as long as its fragments add up to).

Conversions, once, here
-----------------------
- Times are milliseconds since the Unix epoch; simdc's time 0 is the earliest
  submission: ``submit_s = (submission_time − earliest) / 1000``; ``duration_s =
  duration / 1000``.
- ``cpu_count`` is the instance's cores (vCPUs, or CPU request). ``cpu_capacity`` is MHz
  for all of them, so one core is ``cpu_capacity / cpu_count`` MHz, and a fragment's
  ``cpu_usage`` (MHz) is ``cpu_usage / (cpu_capacity / cpu_count)`` cores.
- ``mem_capacity`` is in MB by OpenDC's documentation, read as MiB
  (``memory_gib = mem_capacity / 1024``); traces converted from Bitbrains, such as
  OpenDC's own ``bitbrains-small``, carry Bitbrains' KB instead: set
  ``opendc_memory_unit = "KB"`` for those (``memory_gib = mem_capacity / 2^20``). The
  files do not say their unit: when the median task would hold more memory per core
  than any machine (:data:`MAX_GIB_PER_CORE`), a warning in the notes names the file and
  the option.
- OpenDC's format has **no memory usage**: each task uses its whole ``mem_capacity``.
- The fragments become the CPU usage series (offset = the durations of the task's
  earlier fragments), kept with their durations (``window_s``), which weigh CPU when the
  replay puts them onto ``usage_step_s`` (:func:`simdc.workload.usage.on_steps`); ``cpu_used``
  is the duration-weighted mean (:func:`.common.series_means`).
- Every task is a ``service`` of priority 0 (OpenDC replays fragments at their times).

Workflow dependencies (the optional ``parents`` and ``children`` columns of OpenDC's
workflow traces, lists of task ids; OpenDC's ``TaskSchemas`` and its test trace
``workflow_example``) become simdc's ``parents`` column (a task is a parent of each of
its children, and of each task that names it), so a task starts when its parents have
completed, as in OpenDC (:mod:`simdc.workload.dependencies`). A parent id that is no
task of the table, or a cycle, is an error naming the file and the id; a task
dropped for zero duration or memory passes its own parents on to its children,
transitively (a zero-length task ends as its parents do), and one with no ancestor
replayed counts as done (said in the notes).

Tasks of zero duration or zero memory have nothing to replay and are counted in
``dropped``; fragments of tasks not in ``tasks.parquet`` are left out and counted in
the notes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from simdc.errors import InputError
from simdc.workload.readers.common import (BadRows, Field, ReaderOptions, TraceData, TraceFile, canonical,
                                           check_frame, count, duplicate_rows, parquet_batches, series_means, shown,
                                           usage_samples)

MEMORY_UNITS_GIB = {"MB": 1.0 / 1024.0, "KB": 1.0 / 2.0**20}  # MB and KB of 2^20 and 2^10 bytes
DEFAULT_MEMORY_UNIT = "MB"
# Above this much memory per core a size is no machine's: the largest memory per vCPU sold is
# AWS's u-24tb1.112xlarge, 24,576 GiB over 448 vCPUs = 54.9 GiB per vCPU (AWS EC2 High Memory
# instances, instance types page). KB read as MB gives 1024 times the size, far above it.
MAX_GIB_PER_CORE = 64.0
TASK_FIELDS = (
    Field("id", "str"),
    Field("submission_time", "int", low=0),
    Field("duration", "int", required=False, low=0),
    Field("cpu_count", "int", low=1),
    Field("cpu_capacity", low=0.0),
    Field("mem_capacity", low=0.0),
)
FRAGMENT_FIELDS = (
    Field("id", "str"),
    Field("duration", "int", low=0),
    Field("cpu_usage", low=0.0),
)


def read(files: dict[str, list[TraceFile]], options: ReaderOptions, bad: BadRows) -> TraceData:
    """Read ``tasks`` (required) and ``fragments`` (optional) Parquet files."""
    if not files.get("tasks"):
        raise InputError("opendc: no tasks.parquet among the files given")
    folders = sorted({str(tf.path.parent) for tf in files["tasks"]})
    if len(folders) > 1:  # each OpenDC workload is a folder of its own: tasks from two are two traces
        raise InputError(f"opendc: tasks tables in {len(folders)} folders ({', '.join(folders[:3])}"
                         f"{', …' if len(folders) > 3 else ''}): each is a workload of its own, with its own time "
                         "origin and units; give one workload's folder")
    unit = options.opendc_memory_unit or DEFAULT_MEMORY_UNIT
    if unit not in MEMORY_UNITS_GIB:
        raise InputError(f"opendc_memory_unit: must be one of {', '.join(MEMORY_UNITS_GIB)} (got {unit!r})")
    notes = [f"mem_capacity read in {unit} (opendc_memory_unit); OpenDC's format has no memory usage: "
             "each task uses its whole mem_capacity"]
    dropped: dict[str, int] = {}
    tasks = _tasks(files["tasks"], bad)
    links = {}
    for tf in files["tasks"]:
        links.update(_links(tf))
    has_duration = "duration" in tasks and tasks["duration"].notna().all()
    fragments = files.get("fragments", [])
    cpu_mhz = tasks["cpu_capacity"].to_numpy(float) / tasks["cpu_count"].to_numpy(float)
    index = pd.Index(tasks["id"].to_numpy(object))
    usage_parts = None
    if fragments:
        usage_parts, unknown = _fragments(fragments, index, cpu_mhz, bad)
        if unknown:
            notes.append(f"{unknown:,} fragments of tasks not in tasks.parquet were left out")
    if has_duration:
        duration_ms = tasks["duration"].to_numpy(float)
    elif usage_parts is not None:
        total = pd.Series(usage_parts["d"]).groupby(usage_parts["p"]).sum()
        duration_ms = total.reindex(np.arange(len(tasks)), fill_value=0.0).to_numpy(float)
        notes.append("tasks.parquet has no duration (schema v2): each task lasts as long as its fragments")
    else:
        raise InputError(f"{files['tasks'][0].path}: tasks have no duration column (schema v2) and no "
                         "fragments.parquet was given to take it from")
    memory = tasks["mem_capacity"].to_numpy(float) * MEMORY_UNITS_GIB[unit]
    cores = tasks["cpu_count"].to_numpy(float)
    usable = (duration_ms > 0) & (memory > 0) & (tasks["cpu_capacity"].to_numpy(float) > 0)
    notes += _absurd_memory(files["tasks"][0].path, memory, tasks["cpu_count"].to_numpy(float), unit,
                            options.opendc_memory_unit is None)
    count(dropped, "task of zero duration", int((duration_ms <= 0).sum()))
    count(dropped, "task of zero memory or CPU capacity", int(((duration_ms > 0) & ~usable).sum()))
    ids = tasks["id"].to_numpy(object)
    usage = cpu_used = None
    if usage_parts is not None and len(usage_parts["p"]):
        p, d = usage_parts["p"], usage_parts["d"]
        keep = usable[p]
        p, d, start, cpu = p[keep], d[keep], usage_parts["start"][keep], usage_parts["cpu"][keep]
        usage = usage_samples(p, start / 1000.0, cpu, memory[p], ids, window_s=d / 1000.0)
        cpu_used, _ = series_means(usage, ids, duration_ms / 1000.0)
        if len(usage) == 0:
            usage = None
    submit_ms = tasks["submission_time"].to_numpy(float)
    earliest = submit_ms[usable].min() if usable.any() else 0.0
    if not usable.any():
        raise InputError(f"{files['tasks'][0].path}: no task with a duration, memory and CPU capacity")
    instances = canonical(
        "opendc", id=ids[usable], submit_s=(submit_ms[usable] - earliest) / 1000.0,
        duration_s=duration_ms[usable] / 1000.0, cpu_cores=cores[usable], memory_gib=memory[usable],
        cpu_used=None if cpu_used is None else cpu_used[usable])
    if links:
        instances, passed = _with_parents(instances, links, set(map(str, ids)), files["tasks"][0].path, notes)
        notes += passed
    return TraceData(instances, usage, "opendc", "", dropped=dropped, notes=notes)


def _absurd_memory(path: Path, memory_gib: np.ndarray, cores: np.ndarray, unit: str, defaulted: bool) -> list[str]:
    """A warning when the median task holds more memory per core than any machine
    (:data:`MAX_GIB_PER_CORE`): mem_capacity is then in a smaller unit than read."""
    with np.errstate(divide="ignore", invalid="ignore"):
        per_core = memory_gib / cores
    per_core = per_core[np.isfinite(per_core) & (per_core > 0)]
    if not len(per_core) or np.median(per_core) <= MAX_GIB_PER_CORE:
        return []
    smaller = [u for u, gib in MEMORY_UNITS_GIB.items() if gib < MEMORY_UNITS_GIB[unit]]
    told = "the default" if defaulted else "as set"
    advice = (f"if the file is in {smaller[0]} (as traces converted from Bitbrains are), set "
              f"opendc_memory_unit = \"{smaller[0]}\" (--opendc-memory-unit {smaller[0]})" if smaller
              else "check the file's unit")
    return [f"warning: {path}: mem_capacity read in {unit} ({told}) gives a median task "
            f"{np.median(memory_gib):,.0f} GiB, {np.median(per_core):,.0f} GiB per core, more than any machine "
            f"has (at most {MAX_GIB_PER_CORE:g} GiB per core); {advice}"]


def _tasks(files: list[TraceFile], bad: BadRows) -> pd.DataFrame:
    parts = []
    for tf in files:
        wanted = [f.name for f in TASK_FIELDS if f.name in tf.columns]
        missing = [n for n in ("id", "submission_time", "cpu_count", "cpu_capacity", "mem_capacity") if n not in wanted]
        if missing:
            raise InputError(f"{tf.path}: OpenDC tasks without column(s) {', '.join(missing)}")
        for frame in parquet_batches(tf.path, wanted):
            if "submission_time" in frame and pd.api.types.is_datetime64_any_dtype(frame["submission_time"]):
                stamp = frame["submission_time"]
                frame["submission_time"] = (stamp.dt.tz_localize(None) if stamp.dt.tz is not None else stamp) \
                    .astype("datetime64[ms]").astype("int64")
            frame = check_frame(frame, tf.path, "tasks", TASK_FIELDS, bad)
            frame["_file"] = len(parts)
            parts.append((tf, frame))
    if not parts or not sum(len(f) for _, f in parts):
        names = ", ".join(str(tf.path) for tf in files)
        raise InputError(f"{names}: no tasks" + (" (every row was bad and skipped)" if bad.skipped else
                                                  " (the table has no rows)"))
    tasks = pd.concat([f for _, f in parts], ignore_index=True)
    repeated = duplicate_rows(tasks["id"].astype(str))
    if len(repeated):

        def where(i: int) -> str:
            return f"{parts[int(tasks['_file'].iloc[i])][0].path}: row {int(tasks['_row'].iloc[i]) + 1}"

        bad.report("tasks", repeated, "id appears more than once", where, lambda i: f" ({shown(tasks['id'].iloc[i])})")
        bad.check()
        tasks = tasks.drop(index=repeated).reset_index(drop=True)
    if len(tasks) == 0:
        raise InputError(f"{files[0].path}: no tasks")
    tasks["id"] = tasks["id"].to_numpy(object)
    return tasks


def _links(tf: TraceFile) -> dict[str, set[str]]:
    """Each task's parents (as ids in text) from ``parents`` and ``children`` of ``tf``;
    empty without those columns. Lists, or a redistribution's text form of one (:func:`_listed`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = [c for c in ("parents", "children") if c in tf.columns]
    if not columns:
        return {}
    parents: dict[str, set[str]] = {}
    try:
        with open(tf.path, "rb") as handle:
            for batch in pq.ParquetFile(handle).iter_batches(columns=["id", *columns]):
                ids = [str(v) for v in batch.column("id").to_pylist()]
                for name in columns:
                    for task, value in zip(ids, batch.column(name).to_pylist()):
                        if value is None:
                            continue
                        for other in _listed(value):
                            if name == "parents":
                                parents.setdefault(task, set()).add(other)
                            else:
                                parents.setdefault(other, set()).add(task)
    except (OSError, pa.ArrowException) as err:
        raise InputError(f"{tf.path}: cannot read parents/children: {str(err).strip()[:200]}") from None
    return parents


def _listed(value) -> list[str]:
    """The task ids of one ``parents`` or ``children`` cell, as text: a list, or a
    redistribution's text form of one: JSON (``[1, 2]``, ``["a", "b"]``), Python's
    (``['a', 'b']``) or bare ids (``1 2``, ``[a, b]``)."""
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    text = str(value).strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, list):
        return [str(v) for v in parsed if v is not None]
    tokens = (token.strip("'\"") for token in text.replace(",", " ").strip(" []").split())
    return [token for token in tokens if token]


def _with_parents(instances: pd.DataFrame, links: dict[str, set[str]], tasks: set[str], path, notes: list[str]):
    """``instances`` with simdc's ``parents`` column from OpenDC's links, checked on the
    whole table (the tasks not replayed too); a child of a task not replayed waits for
    that task's own parents (:func:`simdc.workload.dependencies.prune`)."""
    from simdc.workload import dependencies

    for task in sorted(links):
        for parent in sorted(links[task]):
            unknown = parent if parent not in tasks else task if task not in tasks else None
            if unknown is not None:
                raise InputError(f"{path}: task {unknown!r} is named in parents/children but is no task of the table")

    def named(ids) -> dict:
        return {"id": list(ids), dependencies.PARENTS: [" ".join(sorted(links.get(t, set()), key=_order))
                                                        for t in map(str, ids)]}

    whole = pd.DataFrame(named(sorted(tasks, key=_order)))
    dependencies.check(whole, str(path))
    instances, passed = dependencies.prune(instances.assign(**{dependencies.PARENTS: named(
        instances["id"].to_numpy(object))[dependencies.PARENTS]}), "not replayed (zero duration or memory)", whole)
    linked = int((instances[dependencies.PARENTS] != "").sum())
    notes.append(f"{linked:,} tasks wait for their parents (workflow columns parents/children): each starts when "
                 "its parents have completed, at its submission_time at the earliest")
    return instances, passed


def _order(task: str):
    return (0, int(task), "") if task.isdigit() else (1, 0, task)


def _fragments(files: list[TraceFile], index: pd.Index, cpu_mhz: np.ndarray, bad: BadRows):
    positions, durations, cpu = [], [], []
    unknown = 0
    for tf in files:
        missing = [n for n in ("id", "duration", "cpu_usage") if n not in tf.columns]
        if missing:
            raise InputError(f"{tf.path}: OpenDC fragments without column(s) {', '.join(missing)}")
        for frame in parquet_batches(tf.path, ["id", "duration", "cpu_usage"]):
            frame = check_frame(frame, tf.path, "fragments", FRAGMENT_FIELDS, bad)
            p = index.get_indexer(frame["id"].to_numpy(object))
            known = p >= 0
            unknown += int((~known).sum())
            p = p[known]
            positions.append(p)
            durations.append(frame["duration"].to_numpy(float)[known])
            cpu.append(frame["cpu_usage"].to_numpy(float)[known] / cpu_mhz[p])
    p = np.concatenate(positions) if positions else np.zeros(0, np.int64)
    d = np.concatenate(durations) if durations else np.zeros(0)
    c = np.concatenate(cpu) if cpu else np.zeros(0)
    start = pd.Series(d).groupby(p).cumsum().to_numpy() - d
    return {"p": p, "d": d, "cpu": c, "start": start}, unknown
