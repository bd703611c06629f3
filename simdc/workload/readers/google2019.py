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
    ``a``–``h``). ``instance_events_type`` is read as ``type``.
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
  machine of the trace (1.0); they become cores and GiB through the reference machine
  (``reference_cpu_cores``, ``reference_memory_gib``; default 32 cores, 64 GiB,
  :data:`.google.DEFAULT_REFERENCE`, an assumption: Google does not disclose machine sizes).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from simdc.errors import InputError
from simdc.workload.readers import google
from simdc.workload.readers.common import (BadRows, Field, ReaderOptions, TraceData, TraceFile, canonical,
                                           check_frame, count, open_data)

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
PLACEHOLDER_DURATION_S = 1.0
REQUEST = re.compile(r"'(cpus|memory)':\s*([-+0-9.eE]+|None|nan)")


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
    if events:
        instances = _from_events(events, options, bad, ref_cores, ref_gib, notes, dropped)
    else:
        instances = _from_requests(requests, options, bad, ref_cores, ref_gib, notes, dropped)
    return TraceData(instances, None, FORMAT, "", dropped=dropped, notes=notes)


def _frame(tf: TraceFile, fields: tuple[Field, ...], bad: BadRows) -> pd.DataFrame:
    """The file's columns by name (aliases resolved), checked against ``fields``: a bad
    row is named by its data row (1 = the first after the header)."""
    try:
        with open_data(tf.path) as stream:
            frame = pd.read_csv(stream, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise InputError(f"{tf.path}: cannot read as CSV: {str(err).strip()[:200]}") from None
    frame.columns = [ALIASES.get(c.strip(), c.strip()) for c in frame.columns]
    if "resource_request" in frame and "resource_request.cpus" not in frame:
        parsed = frame["resource_request"].map(_request)
        frame["resource_request.cpus"] = [cpus for cpus, _ in parsed]
        frame["resource_request.memory"] = [memory for _, memory in parsed]
    frame = frame.replace({"": np.nan, "None": np.nan})
    missing = [f.name for f in fields if f.required and f.name not in frame]
    if missing:
        raise InputError(f"{tf.path}: missing column(s) {', '.join(missing)}")
    frame["_row"] = np.arange(len(frame))
    frame = check_frame(frame, tf.path, tf.name, fields, bad)
    return frame


def _request(text: str) -> tuple[str, str]:
    """``{'cpus': 0.02, 'memory': 0.01}`` → ("0.02", "0.01"); "" where absent."""
    found = dict(REQUEST.findall(text or ""))
    return found.get("cpus", ""), found.get("memory", "")


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
                 notes: list[str], dropped: dict[str, int]) -> pd.DataFrame:
    frames = []
    for tf in files:
        frame = _frame(tf, EVENT_FIELDS, bad)
        cells = _cells(frame, tf.path)
        frames.append(frame.assign(cell=cells if cells is not None else ""))
    frame = pd.concat(frames, ignore_index=True)
    named = bool((frame["cell"] != "").any())
    kind = pd.to_numeric(frame["type"]).to_numpy(np.int64)
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
    data_end = int(np.maximum(time - google.TRACE_START_US, 0).max(initial=0))
    attempts = google._attempts(ev, dropped, data_end, implied_ends=True)
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
                     f"({data_end / 1e6:,.0f} s); their duration_s is a lower bound")
    notes.append("no instance_usage read: each instance uses its request")
    instances = canonical(
        FORMAT, id=ids, submit_s=attempts["submit"] / 1e6,
        duration_s=np.maximum((attempts["end"] - attempts["sched"]) / 1e6, 1e-6),
        cpu_cores=attempts["cpu"] * ref_cores, memory_gib=attempts["mem"] * ref_gib,
        priority=attempts["priority"], censored=censored,
        job=np.asarray([f"{c}-{j}" if named else str(j) for c, j in zip(cell, collection)], dtype=object))
    return _with_cells(instances, attempts["submit"], cell if named else None, notes)


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
