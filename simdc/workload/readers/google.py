"""Google cluster-data 2011 (clusterdata-2011-2): ``task_events`` and ``task_usage``.

Tables (headerless CSV, usually ``part-NNNNN-of-00500.csv.gz`` files in time order)
----------------------------------------------------------------------------------
``task_events``: ``time, missing_info, job_id, task_index, machine_id, event_type, user,
scheduling_class, priority, cpu_request, memory_request, disk_space_request,
different_machines_restriction``. ``task_usage``: ``start_time, end_time, job_id,
task_index, machine_id, cpu_rate, canonical_memory_usage, ...`` (19 or 20 columns).
``job_events`` files are recognised and not needed.

Events into instances
---------------------
Event types: 0 SUBMIT, 1 SCHEDULE, 2 EVICT, 3 FAIL, 4 FINISH, 5 KILL, 6 LOST, 7/8 UPDATE.
The events of each task (``job_id``, ``task_index``) are ordered by time (ties keep
file order). Each SUBMIT starts an **attempt**: a task resubmitted after an eviction,
failure or kill is a new attempt, and each attempt is one instance, id
``"<job_id>-<task_index>-<k>"`` (k = 0, 1, ... in the order read). Events of a task
before its first SUBMIT in the files read belong to an attempt submitted earlier.

- ``submit_s``: the attempt's SUBMIT time (the time Google's scheduler got the request;
  its own pending time is not replayed: simdc's platforms decide when it starts). The
  SCHEDULE time goes beside it (``started_s``) for a time window, which judges an attempt
  by when it ran, SCHEDULE to end: one running at the window's start keeps the rest of
  its run, one still pending then its whole run (:func:`.common.select`).
- ``duration_s``: from its first SCHEDULE to the first EVICT/FAIL/FINISH/KILL/LOST after
  it: the time it ran. An attempt still running when the data end is censored at the
  end of all the data read: the latest event time or ``task_usage`` window end (a
  one-job extract may have no event after the SCHEDULE but usage for hours); such
  lifetimes carry ``censored = True`` and are counted in the notes. A lifetime below
  the timestamps' resolution (1 µs) is 1 µs.
- Requests: those of the SCHEDULE event (what the task was placed with), else the
  last given before it in the attempt, else the first given in it.
- ``priority``: the trace's priority (0–11, higher is more important), as simdc's.
- Every instance is a ``service``: the durations are observed run times.

Not instances (counted in ``dropped``): attempts never scheduled (killed or failed
while pending, or still pending when the data end), attempts with no request given,
and attempts requesting zero CPU or memory (a VM cannot be sized at zero).

Units, once, here
-----------------
- Times are microseconds since 600 s before the trace began; 0 means "before the
  trace" and 2^63 − 1 "after it". simdc's time 0 is the trace's start:
  ``t_s = max(time − 600 s, 0)``; events after the end are dropped.
- CPU and memory are normalised to the largest machine (1.0). They become cores and
  GiB through a **reference machine**: ``cpu_cores = cpu_request × reference_cpu_cores``
  and ``memory_gib = memory_request × reference_memory_gib``. The trace does not
  disclose machine sizes; the default, :data:`DEFAULT_REFERENCE` = 32 cores and 64 GiB,
  is an assumption (a two-socket server of 2011) — set both to what you assume.
- ``task_usage``: ``cpu_rate`` (normalised cores) and ``canonical_memory_usage``
  (normalised, the trace's recommended memory measure) become cores and GiB the same
  way; each measurement window is matched to the attempt running at its start and
  kept with its length (``window_s``), which weighs it when the replay puts the series
  onto ``usage_step_s`` (:func:`simdc.workload.usage.on_steps`); ``cpu_used`` and
  ``memory_used_gib`` are the window-weighted means (:func:`.common.series_means`).
  Without ``task_usage``, each task uses its request.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from simdc.errors import InputError
from simdc.workload.readers.common import (BadRows, Field, ReaderOptions, Table, TraceData, TraceFile, usage_samples,
                                           canonical, count, data_end, read_blocks, series_means)

TRACE_START_US = 600_000_000  # time 600 s is the start of the trace
AFTER_END_US = 2**63 - 1  # "after the end of the trace"
DEFAULT_REFERENCE = (32.0, 64.0)  # cores, GiB of the largest machine: an assumption
SUBMIT, SCHEDULE, EVICT, FAIL, FINISH, KILL, LOST = range(7)
ENDS = {EVICT: "evicted", FAIL: "failed", FINISH: "finished", KILL: "killed", LOST: "lost"}
NORMALISED = dict(low=0.0, high=1.0)
ID = dict(kind="int", low=0)

TABLES = (
    Table("google", "task_events", (
        Field("time", "int", low=0),
        Field("missing_info", "int", required=False),
        Field("job_id", **ID),
        Field("task_index", **ID),
        Field("machine_id", "int", required=False),
        Field("event_type", "int", low=0, high=8, pattern=r"[0-8]"),
        Field("user", "str", required=False),
        Field("scheduling_class", "int", required=False, pattern=r"[0-3]?"),
        Field("priority", "int", required=False, low=0, high=11),
        Field("cpu_request", required=False, **NORMALISED),
        Field("memory_request", required=False, **NORMALISED),
        Field("disk_space_request", required=False),
        Field("different_machines_restriction", "int", required=False, pattern=r"[01]?"),
    ), hints=("task_events",)),
    Table("google", "task_usage", (
        Field("start_time", "int", low=0),
        Field("end_time", "int", low=0),
        Field("job_id", **ID),
        Field("task_index", **ID),
        Field("machine_id", "int", required=False),
        Field("cpu_rate", required=False, low=0.0),
        Field("canonical_memory_usage", required=False, low=0.0),
        *(Field(name, required=False) for name in (
            "assigned_memory_usage", "unmapped_page_cache", "total_page_cache", "maximum_memory_usage",
            "disk_io_time", "local_disk_space_usage", "maximum_cpu_rate", "maximum_disk_io_time",
            "cycles_per_instruction", "memory_accesses_per_instruction", "sample_portion")),
        Field("aggregation_type", "int", required=False),
        Field("sampled_cpu_usage", required=False),
    ), role="usage", optional_tail=1, hints=("task_usage",)),
    Table("google", "job_events", (
        Field("time", "int", low=0),
        Field("missing_info", "int", required=False),
        Field("job_id", **ID),
        Field("event_type", "int", low=0, high=8, pattern=r"[0-8]"),
        Field("user", "str", required=False),
        Field("scheduling_class", "int", required=False),
        Field("job_name", "str", required=False),
        Field("logical_job_name", "str", required=False),
    ), role="ignored", hints=("job_events",)),
)


def reference(options: ReaderOptions) -> tuple[float, float]:
    cores = options.reference_cpu_cores if options.reference_cpu_cores is not None else DEFAULT_REFERENCE[0]
    gib = options.reference_memory_gib if options.reference_memory_gib is not None else DEFAULT_REFERENCE[1]
    return cores, gib


def read(files: dict[str, list[TraceFile]], options: ReaderOptions, bad: BadRows) -> TraceData:
    """Read ``task_events`` (required) and ``task_usage`` (optional) parts."""
    if not files.get("task_events"):
        raise InputError("google: no task_events among the files given (instances are built from them)")
    ref_cores, ref_gib = reference(options)
    notes = [f"reference machine (normalised 1.0): {ref_cores:g} cores, {ref_gib:g} GiB "
             "(reference_cpu_cores, reference_memory_gib)"]
    dropped: dict[str, int] = {}
    events, latest_us = _events(files["task_events"], options, bad)
    after = events["time"] == AFTER_END_US
    if after.any():
        notes.append(f"{int(after.sum())} events dated after the end of the trace were left out")
        events = {k: v[~after] for k, v in events.items()}
    windows = _usage_windows(files["task_usage"], options, bad) if files.get("task_usage") else None
    # The data read end at the last time of every table read (an UPDATE event, a usage
    # window included): a task still running then is censored there, not at its last event.
    end_us = int(data_end(latest_us - TRACE_START_US, windows["stop"] if windows is not None else ()))
    attempts = _attempts(events, dropped, end_us)
    if len(attempts["job"]) == 0:
        raise InputError(f"{files['task_events'][0].path}: no task attempt that ran with a request")
    ids = _ids(attempts)
    cpu = attempts["cpu"] * ref_cores
    mem = attempts["mem"] * ref_gib
    ends = pd.Series(attempts["end_event"]).map({**ENDS, -1: "still running at the end of the data"})
    notes.append("attempts: " + ", ".join(f"{n:,} {label}" for label, n in ends.value_counts().items()))
    censored = attempts["end_event"] < 0
    if censored.any():
        notes.append(f"{int(censored.sum()):,} lifetimes censored: still running at the end of the data read "
                     f"({end_us / 1e6:,.0f} s, the last task_events or task_usage time); their duration_s "
                     "is a lower bound")
    resubmitted = int((attempts["k"] > 0).sum())
    if resubmitted:
        notes.append(f"{resubmitted:,} attempts are resubmissions of a task")

    usage = None
    cpu_used = mem_used = None
    if windows is not None:
        usage, unmatched = _usage(windows, attempts, ids, ref_cores, ref_gib, options)
        if unmatched:
            notes.append(f"{unmatched:,} task_usage windows match no replayed attempt and were left out")
        if usage is not None and len(usage):
            cpu_used, mem_used = series_means(usage, ids, (attempts["end"] - attempts["sched"]) / 1e6)
        else:
            usage = None
    else:
        notes.append("no task_usage read: each task uses its request")
    instances = canonical(
        "google", id=ids, submit_s=attempts["submit"] / 1e6,
        duration_s=np.maximum((attempts["end"] - attempts["sched"]) / 1e6, 1e-6), started_s=attempts["sched"] / 1e6,
        cpu_cores=cpu, memory_gib=mem, cpu_used=cpu_used, memory_used_gib=mem_used,
        priority=attempts["priority"], censored=censored, job=attempts["job"].astype(np.int64).astype(str))
    return TraceData(instances, usage, "google", "", dropped=dropped, notes=notes)


def _events(files: list[TraceFile], options: ReaderOptions, bad: BadRows) -> tuple[dict[str, np.ndarray], int]:
    """The used columns of every task event but UPDATEs, compact: about 40 bytes per event;
    and the latest time of every event read, UPDATEs included (0 without any; "after the
    end of the trace" left out), for the end of the data."""
    columns = ("time", "job_id", "task_index", "event_type", "priority", "cpu_request", "memory_request")
    parts: dict[str, list[np.ndarray]] = {c: [] for c in columns}
    latest = 0
    for tf in files:
        for block in read_blocks(tf, columns, bad, options.block_bytes):
            v = block.values
            t = v["time"].astype(np.int64)
            latest = max(latest, int(t[t != AFTER_END_US].max(initial=0)))
            keep = v["event_type"] <= LOST  # UPDATE events: the SCHEDULE event carries the request in force
            for c in columns:
                parts[c].append(v[c][keep])
    out = {c: (np.concatenate(parts[c]) if parts[c] else np.zeros(0)) for c in columns}
    return {
        "time": out["time"].astype(np.int64), "job": out["job_id"].astype(np.int64),
        "task": out["task_index"].astype(np.int64), "event": out["event_type"].astype(np.int8),
        "priority": out["priority"].astype(float), "cpu": out["cpu_request"].astype(float),
        "mem": out["memory_request"].astype(float),
    }, latest


def _attempts(ev: dict[str, np.ndarray], dropped: dict[str, int], data_end: int = 0,
              implied_ends: bool = False) -> dict[str, np.ndarray]:
    """One record per attempt that ran with a request; the rest counted in ``dropped``.
    Attempts still running are censored at ``data_end`` (µs from the trace's start) or
    at the last event, whichever is later.

    With ``implied_ends`` (the 2019 reader: its samples miss end events) a task runs at
    most once at a time: a SCHEDULE after the attempt's first starts a new attempt too,
    and an attempt with no end event before the task's next attempt starts ends there,
    as LOST (the trace's "presumably terminated, but due to missing data there is
    insufficient information to identify when or how", clusterdata_trace_format_v3.proto);
    ``implied`` marks those. An attempt superseded while pending is dropped, and so is one
    both scheduled and superseded at time 0 (before the trace: a run that ended before it)."""
    n = len(ev["time"])
    if n == 0:
        return {k: np.zeros(0) for k in ("job", "task", "k", "submit", "sched", "end", "end_event", "cpu",
                                          "mem", "priority", "implied")}
    t = np.maximum(ev["time"] - TRACE_START_US, 0)
    order = np.lexsort((np.arange(n), t, ev["task"], ev["job"]))
    t, job, task, kind = t[order], ev["job"][order], ev["task"][order], ev["event"][order]
    cpu, mem, prio = ev["cpu"][order], ev["mem"][order], ev["priority"][order]
    data_end = max(int(t.max()), int(data_end))

    new_task = np.empty(n, dtype=bool)
    new_task[0] = True
    new_task[1:] = (job[1:] != job[:-1]) | (task[1:] != task[:-1])
    begins = new_task | (kind == SUBMIT)
    if implied_ends:  # a SCHEDULE after the first of its attempt: the instance started again
        scheduled = np.where(kind == SCHEDULE, 1, 0)
        before = np.cumsum(scheduled) - scheduled  # SCHEDULEs before each row
        begins = begins | ((kind == SCHEDULE) & (before > before[np.flatnonzero(begins)][np.cumsum(begins) - 1]))
    starts = np.flatnonzero(begins)
    group = np.cumsum(begins) - 1
    groups = len(starts)
    idx = np.arange(n)
    big = n
    sched = np.minimum.reduceat(np.where(kind == SCHEDULE, idx, big), starts)
    ran = sched < big
    ending = (kind >= EVICT) & (kind <= LOST)
    end = np.minimum.reduceat(np.where(ending & (idx > sched[group]), idx, big), starts)
    ended = end < big
    first_end = np.minimum.reduceat(np.where(ending, idx, big), starts)
    task_start = np.where(new_task[starts], np.arange(groups), 0)
    k = np.arange(groups) - np.maximum.accumulate(task_start)

    bounds = np.append(starts, n)

    def at_schedule(values: np.ndarray) -> np.ndarray:
        """Per attempt: the value at its SCHEDULE, else the last given before it, else the first given."""
        given = ~np.isnan(values)
        last = np.maximum.accumulate(np.where(given, idx, -1))  # last given at or before each row
        following = np.minimum.accumulate(np.where(given, idx, big)[::-1])[::-1]  # first given at or after
        at = last[np.minimum(sched, n - 1)]
        out = np.where(ran & (at >= starts), values[np.maximum(at, 0)], np.nan)
        first = following[starts]
        fallback = np.where(first < bounds[1:], values[np.minimum(first, n - 1)], np.nan)
        return np.where(np.isnan(out), fallback, out)

    req_cpu, req_mem, priority = at_schedule(cpu), at_schedule(mem), at_schedule(prio)
    # the task's next attempt, where there is one (the start of the group after, same task)
    followed = np.append(~new_task[starts[1:]], False) if implied_ends else np.zeros(groups, bool)
    implied = ran & ~ended & followed
    superseded = ~ran & (first_end >= big) & followed
    end = np.where(implied, np.append(starts[1:], n), end)
    ended = ended | implied
    count(dropped, "never scheduled: killed or failed while pending", int((~ran & (first_end < big)).sum()))
    count(dropped, "never scheduled: resubmitted or started again before it was scheduled", int(superseded.sum()))
    count(dropped, "never scheduled: still pending at the end of the data",
          int((~ran & (first_end >= big) & ~superseded).sum()))
    no_request = ran & (np.isnan(req_cpu) | np.isnan(req_mem))
    count(dropped, "ran without a CPU or memory request in the trace", int(no_request.sum()))
    zero = ran & ~no_request & ((req_cpu <= 0) | (req_mem <= 0))
    count(dropped, "requested zero CPU or memory", int(zero.sum()))
    # superseded at time 0 ("before the trace"), where the events' order is unknown: a run before the trace only
    before = implied & (t[np.minimum(sched, n - 1)] == 0) & (t[np.minimum(end, n - 1)] == 0) & ~no_request & ~zero
    count(dropped, "ran before the trace only: started again at its start (time 0) with no end event",
          int(before.sum()))
    keep = ran & ~no_request & ~zero & ~before
    s = sched[keep]
    e = end[keep]
    done = ended[keep]
    return {
        "job": job[starts][keep], "task": task[starts][keep], "k": k[keep],
        "submit": t[starts][keep].astype(float), "sched": t[s].astype(float),
        "end": np.where(done, t[np.minimum(e, n - 1)], data_end).astype(float),
        "end_event": np.where(implied[keep], LOST, np.where(done, kind[np.minimum(e, n - 1)], -1)).astype(np.int64),
        "implied": implied[keep],
        "cpu": req_cpu[keep], "mem": req_mem[keep],
        "priority": np.nan_to_num(priority[keep], nan=0.0).astype(np.int64),
    }


def _ids(attempts: dict[str, np.ndarray]) -> np.ndarray:
    parts = [pc.cast(pa.array(attempts[key].astype(np.int64)), pa.string()) for key in ("job", "task", "k")]
    return pc.binary_join_element_wise(*parts, "-").to_numpy(zero_copy_only=False).astype(object)


def _usage_windows(files: list[TraceFile], options: ReaderOptions, bad: BadRows) -> pd.DataFrame | None:
    """Every ``task_usage`` window: ``job, task, at, stop`` (µs from the trace's start),
    ``w`` (its length, µs), ``cpu`` and ``mem`` (normalised); None when there is none."""
    columns = ("start_time", "end_time", "job_id", "task_index", "cpu_rate", "canonical_memory_usage")
    parts: dict[str, list[np.ndarray]] = {c: [] for c in columns}
    for tf in files:
        for block in read_blocks(tf, columns, bad, options.block_bytes):
            for c in columns:
                parts[c].append(block.values[c])
    if not parts["start_time"] or not sum(len(p) for p in parts["start_time"]):
        return None
    v = {c: np.concatenate(parts[c]) for c in columns}
    start = np.maximum(v["start_time"].astype(np.int64) - TRACE_START_US, 0).astype(float)
    stop = np.maximum(v["end_time"].astype(np.int64) - TRACE_START_US, 0).astype(float)
    stop = np.where(v["end_time"].astype(np.int64) >= AFTER_END_US, start, stop)  # "after the trace": no end
    return pd.DataFrame({"job": v["job_id"].astype(np.int64), "task": v["task_index"].astype(np.int64),
                         "at": start, "stop": stop, "w": np.maximum(stop - start, 0.0),
                         "cpu": v["cpu_rate"].astype(float), "mem": v["canonical_memory_usage"].astype(float)})


def _usage(windows: pd.DataFrame, attempts: dict[str, np.ndarray], ids: np.ndarray, ref_cores: float,
           ref_gib: float, options: ReaderOptions):
    windows = windows.assign(cpu=windows["cpu"] * ref_cores, mem=windows["mem"] * ref_gib)
    windows = windows.sort_values("at", kind="stable")
    runs = pd.DataFrame({"job": attempts["job"].astype(np.int64), "task": attempts["task"].astype(np.int64),
                         "at": attempts["sched"], "end": attempts["end"],
                         "p": np.arange(len(ids))}).sort_values("at", kind="stable")
    matched = pd.merge_asof(windows, runs, on="at", by=["job", "task"], direction="backward")
    # The run's start is "at" on the right: recover it from the matched attempt.
    sched = attempts["sched"][matched["p"].fillna(0).astype(np.int64).to_numpy()]
    inside = matched["p"].notna().to_numpy() & (matched["at"].to_numpy() <= matched["end"].to_numpy())
    unmatched = int((~inside).sum())
    m = matched[inside]
    p = m["p"].to_numpy(np.int64)
    offset = (m["at"].to_numpy() - sched[inside]) / 1e6
    table = usage_samples(p, offset, m["cpu"].to_numpy(), m["mem"].to_numpy(), ids, window_s=m["w"].to_numpy() / 1e6)
    return table, unmatched
