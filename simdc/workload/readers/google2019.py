"""Google cluster-data 2019 (ClusterData2019, Borg v3: eight cells, ``a`` to ``h``).

Files are CSV with a header naming the columns (BigQuery exports of the trace's tables,
any subset and order of columns); each is recognised by the names it has
(:func:`identify`):

``instance_events``
    raw rows of the ``instance_events`` table: ``time``, ``type``, ``collection_id``,
    ``instance_index``, the request as ``resource_request.cpus`` and
    ``resource_request.memory`` (or one ``resource_request`` column holding
    ``{'cpus': …, 'memory': …}``, as exports through pandas write it); optional
    ``priority``, and the cell as ``cell`` (``a``–``h``) or ``cluster`` (1–8, read as
    ``a``–``h``). ``instance_events_type`` is read as ``type``. Rows joined with
    ``instance_usage`` (the Kaggle extract "derrickmwiti/google-2019-cluster-sample")
    also carry a usage window: ``start_time``, ``end_time`` and ``average_usage`` (one
    dict column, or ``average_usage.cpus`` and ``average_usage.memory``), read as
    below. A dict cell that is not ``{'cpus': …, 'memory': …}`` (cut short, another
    key, a value that is no number) is a bad row.
``instance_requests``
    one row per instance, aggregated from ``instance_events`` (the LGDCloudSim export:
    ``time, user, collection_id, instance_index, cpus, ram, collection_type``, the
    earliest event's time and the mean request). It has no lifetimes.
``machines``
    machine shapes and counts (``cpus, ram, machine_count``): noted, not replayed; they
    are what a cell's ``[[cells.hosts]]`` could hold.
``collection_events``
    recognised and not needed.

Events into instances
---------------------
As for the 2011 trace (:mod:`.google`, the same code): each SUBMIT starts an attempt of
an instance (``collection_id``, ``instance_index``), one simdc instance, id
``"<collection_id>-<instance_index>-<k>"`` (with the cell first, ``"a-…"``, when the
data name cells); it runs from its first SCHEDULE to its first EVICT, FAIL, FINISH,
KILL or LOST, or is censored at the end of the data read. An instance runs once at a
time: the trace's extracts miss end events, so a later SUBMIT of the instance, or a
SCHEDULE after its attempt's first, ends a running attempt that has no end event at
that time, counted as LOST (the v3 format's "presumably terminated, but due to missing
data there is insufficient information to identify when or how") and noted apart; such
a SCHEDULE starts a new attempt. Runs both scheduled and so ended at time 0 ("before
the trace", where the sample's order of events is not theirs) ran before the trace only:
counted in ``dropped``, not replayed. Event types of the v3 format:
0 SUBMIT, 1 QUEUE, 2 ENABLE, 3 SCHEDULE, 4 EVICT, 5 FAIL, 6 FINISH, 7 KILL, 8 LOST,
9 UPDATE_PENDING, 10 UPDATE_RUNNING (clusterdata_trace_format_v3.proto, google/cluster-data
@ 0180978a). QUEUE, ENABLE and the UPDATEs neither start nor end an attempt: the request
in force is the SCHEDULE event's, as in 2011. Instances of different cells are kept
apart (a collection id is a cell's).

Usage
-----
Each usage window (``instance_usage``: the instance's average over ``start_time`` to
``end_time``, usually 300 s) goes to the attempt of its instance (``collection_id``,
``instance_index``, cell) running at the window's start: the latest run started at or
before it, if it has not ended by then, as for the 2011 trace's ``task_usage`` (the same
code, :func:`.google._usage`). It is placed at its offset from that run's start and
kept with its length, which weighs it when the replay puts the series onto ``usage_step_s``
(:func:`simdc.workload.usage.on_steps`); ``cpu_used`` and ``memory_used_gib`` are the series'
window-weighted means (:func:`.common.series_means`). A window before an attempt's start belongs
to a run the rows do not hold (the joined extracts keep a few rows per instance) and is
left out, as is one after its end; an attempt with no window within its run uses its
request. A window the join repeats (the same instance, times and values) counts once.
The notes say how many windows were read and placed, how many attempts have a series
and what share of their request they use, pooled (Σ mean usage ÷ Σ request); without
any ``average_usage``, "no instance_usage read". The data read end at the last event or
usage window, whichever is later: an attempt still running is censored there.

Per-instance exports (``instance_requests``) carry no end: each instance is submitted at
its ``time`` and marked censored, so it runs on to the end of the simulation
(:func:`simdc.workload.load_workload`); its ``duration_s`` (1 s) is a placeholder.
The cell is the export's file name's (``2019_a_user_requests.csv``: cell ``a``) when
the rows name none.

Units, once, here
-----------------
- Times are microseconds since 600 s before the trace's start, as in 2011: ``t_s =
  max(time − 600 s, 0)``; 0 is "before the trace", 2^63 − 1 "after it" (left out).
- CPU is in normalised compute units (NCUs) and memory normalised, both to the largest
  machine of the trace (1.0), in requests and usage alike; they become cores and GiB
  through the reference machine
  (``reference_cpu_cores``, ``reference_memory_gib``; default 32 cores, 64 GiB,
  :data:`.google.DEFAULT_REFERENCE`, an assumption: Google does not disclose machine sizes).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from simdc.errors import InputError
from simdc.workload.readers import google
from simdc.workload.readers.common import (NUM, BadRows, Field, ReaderOptions, TraceData, TraceFile, canonical,
                                           check_frame, count, data_end, on_step_table, open_data, series_means,
                                           shown)

FORMAT = "google2019"
# v3 event types into the 2011 codes google._attempts reads (None: neither starts nor ends an attempt)
V3_TO_2011 = {0: google.SUBMIT, 3: google.SCHEDULE, 4: google.EVICT, 5: google.FAIL, 6: google.FINISH,
              7: google.KILL, 8: google.LOST}
CELLS = "abcdefgh"  # ClusterData2019's cells; the joined extracts number them 1-8
ALIASES = {"instance_events_type": "type", "cluster": "cell"}
EVENT_FIELDS = (
    Field("time", "int", low=0),
    Field("type", "int", low=0, high=10),
    Field("collection_id", "int", low=0),
    Field("instance_index", "int", low=0),
    Field("priority", "int", required=False, low=0),
    Field("resource_request.cpus", required=False, low=0.0),
    Field("resource_request.memory", required=False, low=0.0),
)
REQUEST_FIELDS = (
    Field("time", "int", low=0),
    Field("collection_id", "int", low=0),
    Field("instance_index", "int", low=0),
    Field("cpus", low=0.0),
    Field("ram", low=0.0),
)
# instance_usage, as the joined extracts carry it beside each event: the window (µs, as
# ``time``) and its average usage (NCUs, normalised memory), read when the rows have them
USAGE_FIELDS = (
    Field("start_time", "int", required=False, low=0),
    Field("end_time", "int", required=False, low=0),
    Field("average_usage.cpus", required=False, low=0.0),
    Field("average_usage.memory", required=False, low=0.0),
)
WINDOW = ("start_time", "end_time", "average_usage.cpus", "average_usage.memory")
DICTS = ("resource_request", "average_usage")  # columns holding {'cpus': …, 'memory': …} (Python reprs)
PLACEHOLDER_DURATION_S = 1.0
ENTRY = re.compile(rf"\s*(['\"])(cpus|memory)\1\s*:\s*({NUM}|None|nan|null)\s*")


def identify(path: Path, header: str) -> TraceFile | None:
    """The 2019 table a CSV file with this header line is, or None."""
    names = tuple(n.strip().strip('"') for n in header.lstrip("\ufeff").split(","))
    have = {ALIASES.get(n, n) for n in names}
    request = {"resource_request.cpus", "resource_request.memory"} <= have or "resource_request" in have
    if {"time", "type", "collection_id", "instance_index"} <= have and request:
        kind = "instance_events"
    elif {"time", "collection_id", "instance_index", "cpus", "ram"} <= have:
        kind = "instance_requests"
    elif {"cpus", "ram", "machine_count"} <= have:
        kind = "machines"
    elif {"time", "type", "collection_id"} <= have and "instance_index" not in have:
        kind = "collection_events"
    else:
        return None
    return TraceFile(path, None, f"{FORMAT}:{kind}", header_lines=1, columns=names)


ROLES = {"instance_events": "instances", "instance_requests": "instances", "machines": "ignored",
         "collection_events": "ignored"}


def read(files: dict[str, list[TraceFile]], options: ReaderOptions, bad: BadRows) -> TraceData:
    """Read the instance events or per-instance requests (not both), noting machine shapes."""
    events, requests = files.get("instance_events", []), files.get("instance_requests", [])
    if events and requests:
        raise InputError(f"{FORMAT}: give instance_events or a per-instance export, not both "
                         f"({events[0].path.name}, {requests[0].path.name})")
    if not events and not requests:
        raise InputError(f"{FORMAT}: no instance_events nor per-instance requests among the files given "
                         "(instances are built from them)")
    ref_cores, ref_gib = google.reference(options)
    notes = [f"reference machine (normalised 1.0): {ref_cores:g} cores, {ref_gib:g} GiB "
             "(reference_cpu_cores, reference_memory_gib)"]
    notes += [_machines_note(tf) for tf in files.get("machines", [])]
    dropped: dict[str, int] = {}
    usage = None
    if events:
        instances, usage = _from_events(events, options, bad, ref_cores, ref_gib, notes, dropped)
    else:
        instances = _from_requests(requests, options, bad, ref_cores, ref_gib, notes, dropped)
    return TraceData(instances, usage, FORMAT, "", dropped=dropped, notes=notes)


def _frame(tf: TraceFile, fields: tuple[Field, ...], bad: BadRows) -> pd.DataFrame:
    """The file's columns by name (aliases resolved), checked against ``fields``: a bad
    row is named by the line it starts on (a quoted value may span lines, as the joined
    extracts' arrays do). A dict column (``resource_request``, ``average_usage``) becomes
    its ``.cpus`` and ``.memory`` columns unless the file has those already."""
    try:
        with open_data(tf.path) as stream:
            frame = pd.read_csv(stream, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise InputError(f"{tf.path}: cannot read as CSV: {str(err).strip()[:200]}") from None
    frame.columns = [ALIASES.get(c.strip(), c.strip()) for c in frame.columns]
    locate = _lines(tf.path)
    broken = np.zeros(len(frame), dtype=bool)
    for column in DICTS:
        if column in frame and f"{column}.cpus" not in frame:
            parsed = frame[column].map(_resources)
            bad_cell = parsed.isna().to_numpy()
            rows = np.flatnonzero(bad_cell & ~broken)
            cells = frame[column].to_numpy(object)
            bad.report(tf.name, rows, f"{column} is not a {{'cpus': …, 'memory': …}} dict", locate,
                       lambda i, cells=cells: f" (got {shown(cells[i])})")
            broken |= bad_cell
            pairs = [pair or ("", "") for pair in parsed]
            frame[f"{column}.cpus"] = [cpus for cpus, _ in pairs]
            frame[f"{column}.memory"] = [memory for _, memory in pairs]
    frame = frame.replace({"": np.nan, "None": np.nan})
    missing = [f.name for f in fields if f.required and f.name not in frame]
    if missing:
        raise InputError(f"{tf.path}: missing column(s) {', '.join(missing)}")
    frame["_row"] = np.arange(len(frame))
    frame = check_frame(frame[~broken], tf.path, tf.name, fields, bad, locate)
    if {"start_time", "end_time"} <= set(frame):
        backwards = (pd.to_numeric(frame["end_time"]) < pd.to_numeric(frame["start_time"])).to_numpy()
        rows = frame["_row"].to_numpy()
        bad.report(tf.name, np.flatnonzero(backwards), "end_time is before start_time", lambda i: locate(int(rows[i])),
                   lambda i: f" (got {shown(frame['start_time'].iloc[i])}, {shown(frame['end_time'].iloc[i])})")
        bad.check()
        frame = frame[~backwards]
    return frame


def _resources(text: str) -> tuple[str, str] | None:
    """``{'cpus': 0.02, 'memory': 0.01}`` → ("0.02", "0.01"); "" for a value absent or
    None; ("", "") for an empty cell; None when the text is no such dict (cut, or
    another key)."""
    text = (text or "").strip()
    if text in ("", "None", "nan", "null", "{}"):
        return "", ""
    if not (text.startswith("{") and text.endswith("}")):
        return None
    found: dict[str, str] = {}
    for part in text[1:-1].split(","):
        entry = ENTRY.fullmatch(part)
        if entry is None or entry[2] in found:
            return None
        found[entry[2]] = "" if entry[3] in ("None", "nan", "null") else entry[3]
    return found.get("cpus", ""), found.get("memory", "")


def _lines(path: Path) -> Callable[[int], str]:
    """Names data row ``row`` (0 = the first after the header) by the line of the file it
    starts on. The file is scanned, as far as needed, only when a problem is reported."""
    starts: list[int] = []
    records: Iterator[int] | None = None

    def scan() -> Iterator[int]:
        with open_data(path) as stream:
            reader = csv.reader(io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline=""))
            first = 1
            for number, record in enumerate(reader):
                if number > 0 and any(field.strip() for field in record):  # pandas skips blank lines
                    yield first
                first = reader.line_num + 1

    def where(row: int) -> str:
        nonlocal records
        if records is None:
            records = scan()
        try:
            while len(starts) <= row:
                starts.append(next(records))
        except (StopIteration, InputError, csv.Error, OSError):
            return f"{path}: row {row + 1}"
        return f"{path}: line {starts[row]}"

    return where


def _cells(frame: pd.DataFrame, path: Path) -> np.ndarray | None:
    """Each row's cell (``a``–``h``), or None when the rows name none."""
    if "cell" not in frame:
        return None
    text = frame["cell"].astype(str).str.strip().str.lower()
    numbered = text.str.fullmatch(r"[1-8]")
    cells = np.where(numbered, text.map(lambda v: CELLS[int(v) - 1] if v.isdigit() and 1 <= int(v) <= 8 else v), text)
    unknown = sorted(set(cells) - set(CELLS))
    if unknown:
        raise InputError(f"{path}: cell {unknown[0]!r} is not a ClusterData2019 cell (a-h, or 1-8)")
    return cells.astype(object)


def _from_events(files: list[TraceFile], options: ReaderOptions, bad: BadRows, ref_cores: float, ref_gib: float,
                 notes: list[str], dropped: dict[str, int]) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    frames = []
    for tf in files:
        frame = _frame(tf, EVENT_FIELDS + USAGE_FIELDS, bad)
        cells = _cells(frame, tf.path)
        frames.append(frame.assign(cell=cells if cells is not None else ""))
    frame = pd.concat(frames, ignore_index=True)
    named = bool((frame["cell"] != "").any())
    windows = _windows(frame, notes)  # from every row: an ENABLE's or UPDATE's window is its instance's too
    kind = pd.to_numeric(frame["type"]).to_numpy(np.int64)
    every = pd.to_numeric(frame["time"]).to_numpy(np.int64)  # every event's time, QUEUE, ENABLE and UPDATEs too
    # The data read end at the last time of every row read, event or usage window: an
    # instance still running then is censored there, not at its last event.
    end_us = int(data_end(every[every != google.AFTER_END_US] - google.TRACE_START_US,
                          windows["stop"] if windows is not None else ()))
    mapped = pd.Series(kind).map(V3_TO_2011)
    keep = mapped.notna().to_numpy()
    frame = frame[keep]
    time = pd.to_numeric(frame["time"]).to_numpy(np.int64)
    after = time == google.AFTER_END_US
    if after.any():
        notes.append(f"{int(after.sum())} events dated after the end of the trace were left out")
    frame, time, event = frame[~after], time[~after], mapped.to_numpy()[keep][~after].astype(np.int8)
    # (cell, collection) as one job number, so that equal collection ids of two cells stay apart
    job_codes, jobs = pd.factorize(pd.MultiIndex.from_arrays([frame["cell"].to_numpy(),
                                                              pd.to_numeric(frame["collection_id"]).to_numpy()]))

    def number(name: str) -> np.ndarray:
        return pd.to_numeric(frame[name]).to_numpy(float) if name in frame else np.full(len(frame), np.nan)

    ev = {"time": time, "job": job_codes.astype(np.int64),
          "task": pd.to_numeric(frame["instance_index"]).to_numpy(np.int64), "event": event,
          "priority": number("priority"), "cpu": number("resource_request.cpus"),
          "mem": number("resource_request.memory")}
    attempts = google._attempts(ev, dropped, end_us, implied_ends=True)
    if len(attempts["job"]) == 0:
        raise InputError(f"{files[0].path}: no instance attempt that ran with a request")
    job = attempts["job"].astype(np.int64)
    cell = np.asarray([jobs[j][0] for j in job], dtype=object)
    collection = np.asarray([jobs[j][1] for j in job], dtype=np.int64)
    ids = google._ids({"job": collection, "task": attempts["task"], "k": attempts["k"]})
    if named:
        ids = np.asarray([f"{c}-{i}" for c, i in zip(cell, ids)], dtype=object)
    censored = attempts["end_event"] < 0
    ends = pd.Series(attempts["end_event"]).map({**google.ENDS, -1: "still running at the end of the data"})
    notes.append("attempts: " + ", ".join(f"{n:,} {label}" for label, n in ends.value_counts().items()))
    implied = int(attempts["implied"].sum())
    if implied:
        notes.append(f"{implied:,} of the lost attempts have no end event in the data: each ended when its "
                     "instance was submitted or scheduled again (an instance runs once at a time)")
    if censored.any():
        notes.append(f"{int(censored.sum()):,} lifetimes censored: still running at the end of the data read "
                     f"({end_us / 1e6:,.0f} s, the last event or usage window); their duration_s is a lower bound")
    cpu, mem = attempts["cpu"] * ref_cores, attempts["mem"] * ref_gib
    usage = cpu_used = mem_used = None
    if windows is None:
        notes.append("no instance_usage read: each instance uses its request")
    else:
        # each window to its instance's job number; one of a collection with no attempt matches none
        windows["job"] = jobs.get_indexer(pd.MultiIndex.from_arrays([windows.pop("cell").to_numpy(),
                                                                     windows.pop("collection").to_numpy()]))
        replayed = pd.MultiIndex.from_arrays([attempts["job"].astype(np.int64), attempts["task"].astype(np.int64)])
        mine = pd.MultiIndex.from_frame(windows[["job", "task"]]).isin(replayed)
        usage, outside = google._usage(windows[mine], attempts, ids, ref_cores, ref_gib, options)
        cpu_used, mem_used = series_means(usage, ids, (attempts["end"] - attempts["sched"]) / 1e6)
        # series covering under a tenth of their run: the last window's value holds on to its end
        steps = (on_step_table(usage, options.usage_step_s).groupby("id", sort=False).size() if len(usage)
                 else pd.Series(dtype=float))
        run_s = pd.Series((attempts["end"] - attempts["sched"]) / 1e6, index=ids).reindex(steps.index)
        thin = int((steps * options.usage_step_s < THIN_SERIES * run_s).sum())
        notes.append(_usage_note(len(windows), len(windows) - int(mine.sum()), outside, cpu, mem, cpu_used, mem_used,
                                 thin))
        usage = usage if len(usage) else None
    instances = canonical(
        FORMAT, id=ids, submit_s=attempts["submit"] / 1e6,
        duration_s=np.maximum((attempts["end"] - attempts["sched"]) / 1e6, 1e-6), started_s=attempts["sched"] / 1e6,
        cpu_cores=cpu, memory_gib=mem, cpu_used=cpu_used, memory_used_gib=mem_used,
        priority=attempts["priority"], censored=censored,
        job=np.asarray([f"{c}-{j}" if named else str(j) for c, j in zip(cell, collection)], dtype=object))
    return _with_cells(instances, attempts["submit"], cell if named else None, notes), usage


def _windows(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame | None:
    """The rows' ``instance_usage`` windows: ``cell, collection, task, at, stop`` (µs from
    the trace's start), ``w`` (length, µs), ``cpu`` and ``mem`` (normalised), each window
    once; None when the rows carry no average usage."""
    if "average_usage.cpus" not in frame and "average_usage.memory" not in frame:
        return None
    absent = [name for name in WINDOW if name not in frame]
    if absent:
        notes.append(f"average_usage not read: its window ({', '.join(absent)}) is not in the file, so its time "
                     "in an instance's life is unknown")
        return None
    given = frame[list(WINDOW)].notna().to_numpy()
    whole = given.all(axis=1)
    part = int((given.any(axis=1) & ~whole).sum())
    if part:
        notes.append(f"{part:,} rows carry part of a usage window only (of start_time, end_time, average_usage's "
                     "cpus and memory): left out")
    rows = frame[whole]
    start = pd.to_numeric(rows["start_time"]).to_numpy(np.int64)
    end = pd.to_numeric(rows["end_time"]).to_numpy(np.int64)
    at = np.maximum(start - google.TRACE_START_US, 0).astype(float)
    stop = np.where(end >= google.AFTER_END_US, at, np.maximum(end - google.TRACE_START_US, 0)).astype(float)
    windows = pd.DataFrame({
        "cell": rows["cell"].to_numpy(object), "collection": pd.to_numeric(rows["collection_id"]).to_numpy(np.int64),
        "task": pd.to_numeric(rows["instance_index"]).to_numpy(np.int64), "at": at, "stop": stop,
        "w": stop - at, "cpu": pd.to_numeric(rows["average_usage.cpus"]).to_numpy(float),
        "mem": pd.to_numeric(rows["average_usage.memory"]).to_numpy(float)})
    # A joined extract repeats an instance's usage row beside each of its events: one window once.
    repeated = windows.duplicated()
    if repeated.any():
        notes.append(f"{_n(int(repeated.sum()), 'usage window')} repeating another of the same instance (a join's "
                     "copy): read once")
    return windows[~repeated].reset_index(drop=True)


THIN_SERIES = 0.1  # a series whose steps span less than this share of its run is named in the note


def _usage_note(read: int, others: int, outside: int, cpu: np.ndarray, mem: np.ndarray, cpu_used: np.ndarray,
                mem_used: np.ndarray, thin: int = 0) -> str:
    """What the usage windows gave: how many were read and placed (``others`` are of
    instances with no replayed attempt, ``outside`` outside their instance's runs), how
    many attempts got a series, and the share of their request those use (pooled:
    Σ mean usage ÷ Σ request)."""
    has = np.isfinite(cpu_used)
    text = (f"instance_usage read: {_n(read, 'window')} (average_usage over start_time-end_time), "
            f"{read - others - outside:,} within a replayed attempt's run, giving {int(has.sum()):,} of "
            f"{_n(len(cpu), 'attempt')} a usage series")
    if has.any():
        text += (f" (pooled, they use {cpu_used[has].sum() / cpu[has].sum():.0%} of the CPU and "
                 f"{mem_used[has].sum() / mem[has].sum():.0%} of the memory they request)")
    if thin:
        text += (f"; {thin:,} of those series span under a tenth of their attempt's run (a window of a few "
                 "seconds in a run of weeks): those few windows stand for the whole run")
    if outside:
        text += (f"; {_n(outside, 'window')} of replayed instances fall outside their runs (before the first: a "
                 "run these rows do not hold; between runs, or after the last) and are left out")
    if others:
        text += f"; {_n(others, 'window')} of instances not replayed (never scheduled, or no request) are left out"
    if (~has).any():
        text += f"; the other {_n(int((~has).sum()), 'attempt')} use their request"
    return text


def _n(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _from_requests(files: list[TraceFile], options: ReaderOptions, bad: BadRows, ref_cores: float, ref_gib: float,
                   notes: list[str], dropped: dict[str, int]) -> pd.DataFrame:
    frames = []
    for tf in files:
        frame = _frame(tf, REQUEST_FIELDS, bad)
        cells = _cells(frame, tf.path)
        if cells is None:
            named = re.search(r"2019_([a-h])_", tf.path.name.lower())
            cells = np.full(len(frame), named[1] if named else "", dtype=object)
            if named:
                notes.append(f"{tf.path.name}: cell {named[1]!r}, from the file's name")
        frames.append(frame.assign(cell=cells))
    frame = pd.concat(frames, ignore_index=True)
    named = bool((frame["cell"] != "").any())
    time = pd.to_numeric(frame["time"]).to_numpy(np.int64)
    submit = np.maximum(time - google.TRACE_START_US, 0).astype(float)
    collection = pd.to_numeric(frame["collection_id"]).to_numpy(np.int64)
    index = pd.to_numeric(frame["instance_index"]).to_numpy(np.int64)
    cell = frame["cell"].to_numpy(object)
    ids = np.asarray([f"{c}-{j}-{i}" if named else f"{j}-{i}" for c, j, i in zip(cell, collection, index)],
                     dtype=object)
    if len(set(ids)) != len(ids):
        raise InputError(f"{files[0].path}: an instance (collection_id, instance_index) is given twice; a "
                         "per-instance export has one row per instance")
    cpu, mem = pd.to_numeric(frame["cpus"]).to_numpy(float), pd.to_numeric(frame["ram"]).to_numpy(float)
    zero = (cpu <= 0) | (mem <= 0)
    if zero.all():
        raise InputError(f"{files[0].path}: every instance requests zero CPU or memory")
    keep = ~zero
    count(dropped, "requested zero CPU or memory", int(zero.sum()))
    notes.append(f"a per-instance export has no lifetimes: each of its {int(keep.sum()):,} instances is censored at "
                 "its submission and runs on to the end of the simulation (running_at_end)")
    instances = canonical(
        FORMAT, id=ids[keep], submit_s=submit[keep] / 1e6, duration_s=np.full(int(keep.sum()), PLACEHOLDER_DURATION_S),
        cpu_cores=cpu[keep] * ref_cores, memory_gib=mem[keep] * ref_gib, censored=np.ones(int(keep.sum()), bool),
        job=np.asarray([f"{c}-{j}" if named else str(j) for c, j in zip(cell[keep], collection[keep])], dtype=object))
    return _with_cells(instances, submit[keep], cell[keep] if named else None, notes)


def _with_cells(instances: pd.DataFrame, submit: np.ndarray, cell: np.ndarray | None, notes: list[str]) -> pd.DataFrame:
    """The instances with a ``cell`` column, in canonical()'s order (its stable sort by submit)."""
    if cell is None:
        return instances
    instances["cell"] = pd.Categorical(cell[np.argsort(submit, kind="stable")])
    counts = instances["cell"].value_counts().sort_index()
    notes.append("cells: " + ", ".join(f"{name} {n:,}" for name, n in counts.items() if n)
                 + " instances (the cell column, for routing.rule = \"column\")")
    return instances


def _machines_note(tf: TraceFile) -> str:
    try:
        with open_data(tf.path) as stream:
            frame = pd.read_csv(stream)
        count = pd.to_numeric(frame["machine_count"], errors="coerce")
        cpus, ram = pd.to_numeric(frame["cpus"], errors="coerce"), pd.to_numeric(frame["ram"], errors="coerce")
    except (OSError, ValueError, KeyError, pd.errors.ParserError):
        return f"{tf.path.name}: machine shapes, unreadable; left out"
    top = frame.assign(n=count).sort_values("n", ascending=False).head(3)
    shapes = ", ".join(f"{int(n):,} × ({c:g}, {r:g})" for n, c, r in zip(top["n"], cpus[top.index], ram[top.index]))
    return (f"{tf.path.name}: {int(count.sum()):,} machines in {len(frame)} shapes (normalised cpus, ram), most "
            f"common {shapes}: not replayed; a cell's hosts (cells.hosts) can hold them")
