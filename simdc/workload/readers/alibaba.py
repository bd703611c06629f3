"""Alibaba cluster-trace v2017 and v2018 (github.com/alibaba/clusterdata).

Tables read (headerless CSV; column order from each version's schema; a header row, as
v2017's ``batch_task.csv`` has, is read by its names: the schema's or those below)
-------------------------------------------------------------------
v2017 (format ``alibaba2017``): ``batch_task`` (``create_timestamp, modify_timestamp,
job_id, task_id, instance_num, status, plan_cpu, plan_mem``), ``batch_instance``
(``start_timestamp, end_timestamp, job_id, task_id, machine_id, status, seq_no,
total_seq_no, real_cpu_max, real_cpu_avg, real_mem_max, real_mem_avg``) and
``server_event`` (``timestamp, machine_id, event_type, event_detail, cpus, mem, disk``).
v2018 (format ``alibaba2018``): ``container_meta`` (``container_id, machine_id,
time_stamp, app_du, status, cpu_request, cpu_limit, mem_size``), ``container_usage``
(``container_id, machine_id, time_stamp, cpu_util_percent, mem_util_percent, cpi,
mem_gps, mpki, net_in, net_out, disk_io_percent``), ``batch_task`` (``task_name,
instance_num, job_name, task_type, status, start_time, end_time, plan_cpu, plan_mem``),
``batch_instance`` (``instance_name, task_name, job_name, task_type, status,
start_time, end_time, machine_id, seq_no, total_seq_no, cpu_avg, cpu_max, mem_avg,
mem_max``) and ``machine_meta`` (``machine_id, time_stamp, failure_domain_1,
failure_domain_2, cpu_num, mem_size, status``). Machine usage and v2017's container
tables are recognised and not needed.

Instances
---------
- Batch: all instances of a task run the same binary with the same request (the
  trace's documentation), the task's ``plan_cpu`` and ``plan_mem``.

  * With ``batch_instance``: each row is one try of an instance (the documentation:
    "each record in instance table record one try run") and one ``batch`` instance,
    from its own start to its own end; id ``task_id·100000 + k`` (v2017) or
    ``"<job_name>/<task_name>/<instance_name>/<k>"`` (v2018), k counting the task's
    rows. ``Ready``, ``Waiting`` and ``Cancelled`` tries never ran; tries of a task not
    replayed are counted in ``dropped``. A ``Running`` try is censored at the end of the
    data; an ended try without an end time (0) ends with its task.
  * Without it, a task of ``instance_num`` instances becomes that many instances, ids
    ``task_id·100000 + k`` (v2017) or ``"<job_name>/<task_name>/<k>"`` (v2018), within the
    task's span: from its creation (v2017) or start (v2018) to its end. The trace does
    not say how many ran at once; running all of them for the whole span asks for
    several times the cluster (4.6x its CPU at the peak of v2017). So, when the
    machines are read (``server_event``, ``machine_meta``), a task's instances run in
    equal back-to-back waves of at most c at once, c the largest (one for every task)
    with which the requests never exceed the machines' cores and memory: the cluster
    ran them, so they fitted on it. Without the machines each runs the whole span (an
    upper bound; a note says so). Tasks whose instances are all in ``batch_instance``
    are not spread.

  ``Terminated``, ``Failed`` and ``Interrupted`` tasks end at their end time;
  ``Running`` tasks were still running when the trace ended and are censored at the end
  of the data (their last wave is flagged ``censored``). ``Waiting``, ``Ready`` and
  ``Cancelled`` tasks never ran, tasks without a plan (the public v2017 table leaves it
  empty for 9,017 tasks) or with no instances cannot be replayed: all are counted in
  ``dropped``.
- Dependencies (v2018): a batch task's name encodes the tasks of its job it waits for
  (``"R3_1_2"``: task 3 after tasks 1 and 2; ``"task_..."``: none), so each instance of
  a task waits for every replayed instance of its parent tasks (the ``parents`` column,
  :func:`_task_dependencies`); a parent task not replayed passes its own parent tasks
  on, transitively, and one with none replayed counts as done.
- Containers (v2018): each ``container_id`` is one ``service`` instance with priority 1
  (online services are favoured over batch work, priority 0, in Alibaba's
  co-location). It starts at its first ``time_stamp``. A stopped container keeps
  writing snapshots that say ``stopped`` (alibaba/clusterdata#47): it ends at its first
  ``stopped`` snapshot after the last one that is not; one whose last snapshot is not
  ``stopped`` is censored at the end of the data; one never seen running is counted
  in ``dropped``. Its request is the largest it had.
- The end of the data is the latest time of every table read, usage and machine tables
  included (:func:`.common.data_end`); lifetimes cut there carry ``censored = True`` and
  are counted in the notes.

Quirks, handled here, not errors
--------------------------------
- Time 0 (and, v2017, a negative time) means "before the trace began": read as 0. A
  v2017 task that ended at or before time 0 ended before the trace (dropped, counted);
  one that ended with no end time (0) after a creation in the trace is censored at the
  end. In v2018 an end time of 0 means "after the trace": censored at the end.
- v2018 marks invalid values as −1 or 101: such a size makes a container or task
  unsizable (dropped, counted); such a usage sample is left out (counted in the notes).
- A lifetime below the timestamps' resolution (1 s), or an end a second before the
  start (one v2017 task), becomes 1 s.

Units, once, here
-----------------
- Times are seconds from the start of the trace.
- CPU is not normalised: ``plan_cpu``, ``cpu_request`` and ``cpu_limit`` count hundredths
  of a core (100 = 1 core): ``cpu_cores = value / 100``.
- Memory is normalised to the largest machine's: 1.0 in v2017 (``server_event``'s
  largest machine carries 1.0, most carry 0.69), 100 in v2018 (every machine of
  ``machine_meta`` carries 100). So ``memory_gib = plan_mem × reference_memory_gib``
  (v2017) and ``memory_gib = value / 100 × reference_memory_gib`` (v2018), with
  ``reference_memory_gib`` the largest machine's memory. The traces do not disclose it:
  the default, :data:`DEFAULT_REFERENCE_GIB` = 384 GiB, is an assumption of 4 GiB per
  core of v2018's 96-core machines (and of v2017's typical 64-core machine at 0.69 of
  the largest: 265 GiB) — set it.
- Container usage (v2018): ``cpu_util_percent`` and ``mem_util_percent`` are taken as
  percentages of the container's own request, as v2017's schema defines them
  (v2018's leaves the base unstated): ``cores = cpu_util_percent / 100 × request``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simdc.errors import InputError
from simdc.random import stream
from simdc.workload.readers.common import (BadRows, Field, ReaderOptions, Selection, Table, TraceData, TraceFile,
                                           usage_samples, canonical, count, data_end, read_blocks,
                                           select, series_means, shown)

DEFAULT_REFERENCE_GIB = {"alibaba2017": 384.0, "alibaba2018": 384.0}  # GiB of normalised memory 1.0 / 100
INVALID = (-1.0, 101.0)  # v2018's marks of an invalid value
# Links between batch instances replayed at most (each instance of a task waits for every
# instance of its parent tasks): some 100 MiB of ids as text; an assumption of this code.
MAX_DEPENDENCIES = 2_000_000
MAX_INSTANCES = 20_000_000  # beyond this, expanding tasks needs time_window_s, sample or limit
ID_STRIDE = 100_000  # v2017 instance ids: task_id * ID_STRIDE + k (instance_num < 10^5)
STATUS_2017 = ("Ready", "Waiting", "Running", "Terminated", "Failed", "Cancelled", "Interrupted")
ENDED = ("Terminated", "Failed", "Interrupted")
NEVER_RAN = ("Waiting", "Ready", "Cancelled")

TABLES = (
    # aliases: the names of cluster-trace-v2017/schema.csv (alibaba/clusterdata), which the
    # published batch_task.csv carries as its header; headers compare letters and digits only
    Table("alibaba2017", "batch_task", (
        Field("create_timestamp", "int", aliases=("task_create_time",)),
        Field("modify_timestamp", "int", aliases=("task_end_time",)),
        Field("job_id", "int", low=0),
        Field("task_id", "int", low=0, high=2**62 / ID_STRIDE),
        Field("instance_num", "int", low=0, high=ID_STRIDE - 1, aliases=("number_of_instances",)),
        Field("status", "str", choices=STATUS_2017),
        Field("plan_cpu", required=False, low=0.0, aliases=("number_of_cpus_requested_per_instance_in_the_task",)),
        Field("plan_mem", required=False, low=0.0,
              aliases=("normalized_memory_requested_per_instance_in_the_task",)),
    ), hints=("batch_task",)),
    Table("alibaba2017", "server_event", (
        Field("timestamp", "int"),
        Field("machine_id", "int", low=0),
        Field("event_type", "str", choices=("add", "softerror", "harderror", "remove")),
        Field("event_detail", "str", required=False),
        Field("cpus", required=False, low=0.0, aliases=("number_of_cpus",)),
        Field("mem", required=False, low=0.0, aliases=("normalized_memory",)),
        Field("disk", required=False, aliases=("normalized_disk_space",)),
    ), role="machines", hints=("server_event",)),
    Table("alibaba2017", "batch_instance", (
        Field("start_timestamp", "int"), Field("end_timestamp", "int", required=False),
        Field("job_id", "int", required=False), Field("task_id", "int", required=False),
        Field("machine_id", "int", required=False), Field("status", "str", choices=STATUS_2017),
        Field("seq_no", "int", required=False, aliases=("sequence_number",)),
        Field("total_seq_no", "int", required=False, aliases=("total_sequence_number",)),
        *(Field(n, required=False, aliases=(alias,)) for n, alias in (
            ("real_cpu_max", "maximum_real_cpu_number"), ("real_cpu_avg", "average_real_cpu_number"),
            ("real_mem_max", "maximum_normalized_memory_usage"), ("real_mem_avg", "average_normalized_memory_usage"))),
    ), role="instances", hints=("batch_instance",)),
    Table("alibaba2017", "container_event", (
        Field("ts", "int", aliases=("timestamp",)), Field("event", "str", choices=("Create", "Remove"),
                                                          aliases=("event_type",)),
        Field("instance_id", "int"), Field("machine_id", "int", required=False),
        Field("plan_cpu", required=False, aliases=("number_of_cpu_requested",)),
        Field("plan_mem", required=False, aliases=("normalized_memory_requested",)),
        Field("plan_disk", required=False, aliases=("normalized_disk_space_requested",)),
        Field("cpuset", "str", required=False, aliases=("cpu_id_of_allocated_cpus",)),
    ), role="ignored", hints=("container_event",)),
    Table("alibaba2018", "container_meta", (
        Field("container_id", "str", pattern=r"c_\d+"),
        Field("machine_id", "str", required=False, pattern=r"m_\d+"),
        Field("time_stamp", "int"),
        Field("app_du", "str", required=False),
        Field("status", "str", pattern=r"[A-Za-z_]+"),
        Field("cpu_request", required=False),
        Field("cpu_limit", required=False),
        Field("mem_size", required=False),
    ), hints=("container_meta",)),
    Table("alibaba2018", "container_usage", (
        Field("container_id", "str", pattern=r"c_\d+"),
        Field("machine_id", "str", required=False, pattern=r"m_\d+"),
        Field("time_stamp"),
        Field("cpu_util_percent", required=False),
        Field("mem_util_percent", required=False),
        *(Field(n, required=False) for n in ("cpi", "mem_gps", "mpki", "net_in", "net_out", "disk_io_percent")),
    ), role="usage", hints=("container_usage",)),
    Table("alibaba2018", "batch_task", (
        Field("task_name", "str"),
        Field("instance_num", "int", required=False, low=0),
        Field("job_name", "str", pattern=r"j_\d+"),
        Field("task_type", "str", required=False),
        Field("status", "str", pattern=r"[A-Za-z_]+"),
        Field("start_time", "int", required=False),
        Field("end_time", "int", required=False),
        Field("plan_cpu", required=False),
        Field("plan_mem", required=False),
    ), hints=("batch_task",)),
    Table("alibaba2018", "machine_meta", (
        Field("machine_id", "str", pattern=r"m_\d+"),
        Field("time_stamp", "int"),
        Field("failure_domain_1", "int", required=False),
        Field("failure_domain_2", "str", required=False),
        Field("cpu_num", "int", required=False),
        Field("mem_size", required=False),
        Field("status", "str", required=False, pattern=r"[A-Za-z_]+"),
    ), role="machines", hints=("machine_meta",)),
    Table("alibaba2018", "machine_usage", (
        Field("machine_id", "str", pattern=r"m_\d+"),
        Field("time_stamp"),
        *(Field(n, required=False) for n in ("cpu_util_percent", "mem_util_percent", "mem_gps", "mkpi",
                                            "net_in", "net_out", "disk_io_percent")),
    ), role="ignored", hints=("machine_usage",)),
    Table("alibaba2018", "batch_instance", (
        Field("instance_name", "str"), Field("task_name", "str"), Field("job_name", "str", pattern=r"j_\d+"),
        Field("task_type", "str", required=False), Field("status", "str", pattern=r"[A-Za-z_]+"),
        Field("start_time", "int", required=False), Field("end_time", "int", required=False),
        Field("machine_id", "str", required=False), Field("seq_no", "int", required=False),
        Field("total_seq_no", "int", required=False),
        *(Field(n, required=False) for n in ("cpu_avg", "cpu_max", "mem_avg", "mem_max")),
    ), role="instances", hints=("batch_instance",)),
)


def reference_gib(version: str, options: ReaderOptions) -> float:
    return options.reference_memory_gib if options.reference_memory_gib is not None else DEFAULT_REFERENCE_GIB[version]


def read_2017(files: dict[str, list[TraceFile]], options: ReaderOptions, bad: BadRows,
              selection: Selection) -> TraceData:
    """Read v2017 ``batch_task`` (required), ``batch_instance`` and ``server_event`` (optional)."""
    if not files.get("batch_task"):
        raise InputError("alibaba2017: no batch_task among the files given (instances are built from it)")
    ref = reference_gib("alibaba2017", options)
    dropped: dict[str, int] = {}
    notes = [f"reference machine memory (normalised 1.0): {ref:g} GiB (reference_memory_gib)"]
    capacity = None
    times = []  # every time column of every table read: the end of the data is their latest (data_end)
    if files.get("server_event"):
        machines = _frame(files["server_event"], ["timestamp", "machine_id", "event_type", "cpus", "mem"], options,
                          bad)
        times.append(machines["timestamp"])
        added = machines[machines["event_type"] == "add"].drop_duplicates("machine_id", keep="last")
        cores, memory = added["cpus"].dropna(), added["mem"].dropna()
        notes.append(f"machines: {added['machine_id'].nunique():,} in server_event"
                     + (f", {cores.min():g}-{cores.max():g} cores" if len(cores) else "")
                     + (f", normalised memory {memory.min():.2f}-{memory.max():.2f}" if len(memory) else ""))
        if len(cores) and len(memory):
            capacity = (float(cores.sum()), float(memory.sum()) * ref)

    tasks = _frame(files["batch_task"], ["create_timestamp", "modify_timestamp", "job_id", "task_id", "instance_num",
                                         "status", "plan_cpu", "plan_mem"], options, bad, once=("job_id", "task_id"))
    rows = None
    times += [tasks["create_timestamp"], tasks["modify_timestamp"]]
    if files.get("batch_instance"):
        rows = _frame(files["batch_instance"], ["start_timestamp", "end_timestamp", "task_id", "status"], options, bad)
        times += [rows["start_timestamp"], rows["end_timestamp"]]
    end_s = data_end(*times)
    status = tasks["status"].astype(str)
    created = tasks["create_timestamp"].to_numpy(float)
    create = np.maximum(created, 0.0)
    modify = tasks["modify_timestamp"].to_numpy(float)
    ended = status.isin(ENDED).to_numpy()
    keep = _task_rules(status, tasks["instance_num"], tasks["plan_cpu"], tasks["plan_mem"], dropped)
    before = keep & ended & (modify <= 0) & (created <= 0)
    count(dropped, "batch task ended before the trace began", int(before.sum()))
    unknown_end = keep & ended & (modify == 0) & (created > 0)
    if unknown_end.any():
        notes.append(f"{int(unknown_end.sum())} ended tasks without an end time: censored at the end of the data")
    censored = ~(ended & (modify > 0))
    end = np.where(censored, end_s, modify)
    keep &= ~before
    early = keep & (end < create)
    if early.any():
        notes.append(f"{int(early.sum())} tasks end before they are created: read as lasting 1 s")
    frame = pd.DataFrame({
        "task": tasks["task_id"].to_numpy(np.int64), "submit": create,
        "duration": np.maximum(end - create, 1.0), "n": tasks["instance_num"].to_numpy(np.int64),
        "cpu": tasks["plan_cpu"].to_numpy(float) / 100.0,
        "mem": tasks["plan_mem"].to_numpy(float) * ref, "censored": censored, "end": end,
    })[keep]
    parts = []
    if rows is not None:
        rows = pd.DataFrame({"key": rows["task_id"].to_numpy(float), "start": rows["start_timestamp"].to_numpy(float),
                             "end": rows["end_timestamp"].to_numpy(float), "status": rows["status"].to_numpy(object)})
        measured, frame = _measured("alibaba2017", rows, frame.assign(key=frame["task"].astype(float)), end_s,
                                    _ids_2017, dropped, notes)
        parts.append(_select_instances(measured, selection, "alibaba2017", "workload:sample:instances"))
    if len(frame):
        concurrency = _concurrency(frame, capacity, "server_event", notes)
        parts.append(_expand(frame, selection, "alibaba2017",
                             lambda tasks, k: tasks["task"].to_numpy(np.int64) * ID_STRIDE + k,
                             concurrency=concurrency))
    instances = _combine(parts, selection, "alibaba2017")
    _note_censored(instances, end_s, notes)
    return TraceData(instances, None, "alibaba2017", "", dropped=dropped, notes=notes, selected=True)


def read_2018(files: dict[str, list[TraceFile]], options: ReaderOptions, bad: BadRows,
              selection: Selection) -> TraceData:
    """Read v2018 ``container_meta`` (+ ``container_usage``) and/or ``batch_task``."""
    if not files.get("container_meta") and not files.get("batch_task"):
        raise InputError("alibaba2018: neither container_meta nor batch_task among the files given "
                         "(instances are built from them)")
    ref = reference_gib("alibaba2018", options)
    dropped: dict[str, int] = {}
    notes = [f"reference machine memory (normalised 100): {ref:g} GiB (reference_memory_gib)"]
    capacity = None
    times = []  # every time column of every table read: the end of the data is their latest (data_end)
    if files.get("machine_meta"):
        machines = _frame(files["machine_meta"], ["machine_id", "time_stamp", "cpu_num", "mem_size"], options, bad)
        times.append(machines["time_stamp"])
        cores = machines["cpu_num"].dropna()
        notes.append(f"machines: {machines['machine_id'].nunique():,} in machine_meta"
                     + (f", {cores.max():g} cores each at most" if len(cores) else ""))
        sized = machines.assign(mem_size=_valid(machines["mem_size"])).dropna(subset=["cpu_num", "mem_size"]) \
            .drop_duplicates("machine_id", keep="last")
        if len(sized):
            capacity = (float(sized["cpu_num"].sum()), float(sized["mem_size"].sum()) / 100.0 * ref)
    if files.get("container_meta"):
        meta = _frame(files["container_meta"], ["container_id", "time_stamp", "app_du", "status", "cpu_request",
                                                "cpu_limit", "mem_size"], options, bad)
        times.append(meta["time_stamp"])
    if files.get("batch_task"):
        tasks = _frame(files["batch_task"], ["task_name", "instance_num", "job_name", "status", "start_time",
                                             "end_time", "plan_cpu", "plan_mem"], options, bad)
        times += [tasks["start_time"], tasks["end_time"]]
    if files.get("batch_instance"):
        rows = _frame(files["batch_instance"], ["instance_name", "task_name", "job_name", "status", "start_time",
                                                "end_time"], options, bad)
        times += [rows["start_time"], rows["end_time"]]

    parts, usage = [], None
    if files.get("container_meta"):
        containers = _containers(meta, ref, dropped)
        if files.get("container_usage"):
            usage, notes_usage, last = _container_usage(files["container_usage"], containers, options, bad)
            notes.extend(notes_usage)
            times.append(last)
        else:
            notes.append("no container_usage read: each container uses its request")
    end_s = data_end(*times)
    if files.get("container_meta"):
        # A container still running at the end of the data is censored there.
        censored = containers["censored"].to_numpy(bool)
        end = np.where(censored, end_s, containers["stop"].to_numpy(float))
        containers["duration"] = np.maximum(end - containers["submit"].to_numpy(float), 1.0)
        cpu_used = mem_used = None
        if usage is not None:
            cpu_used, mem_used = series_means(usage, containers["id"].to_numpy(object),
                                              containers["duration"].to_numpy(float))
        if censored.any():
            notes.append(f"{int(censored.sum()):,} container lifetimes censored: still running at the end of the "
                         f"data read ({end_s:,.0f} s); their duration_s is a lower bound")
        ids = containers["id"].to_numpy(object)
        table = canonical("alibaba2018", id=ids, submit_s=containers["submit"], duration_s=containers["duration"],
                          cpu_cores=containers["cpu"], memory_gib=containers["mem"], cpu_used=cpu_used,
                          memory_used_gib=mem_used, priority=1, cpu_limit=containers["limit"],
                          censored=containers["censored"].to_numpy(bool), job=containers["app"].to_numpy(object))
        chosen = select(TraceData(table, usage, "alibaba2018", ""), Selection(selection.time_window_s,
                        selection.sample, None, selection.seed))
        parts.append(chosen.instances)
        usage = chosen.usage
    if files.get("batch_task"):
        status = tasks["status"].astype(str)
        start = np.maximum(tasks["start_time"].fillna(0).to_numpy(float), 0.0)
        stop = tasks["end_time"].fillna(0).to_numpy(float)
        ended = status.isin(ENDED).to_numpy() & (stop > 0)
        end = np.where(ended, stop, end_s)
        cpu = _valid(tasks["plan_cpu"])
        mem = _valid(tasks["plan_mem"])
        marked = (np.isnan(cpu) & tasks["plan_cpu"].notna().to_numpy()) | (np.isnan(mem) & tasks["plan_mem"].notna()
                                                                           .to_numpy())
        keep = _task_rules(status, tasks["instance_num"], pd.Series(cpu), pd.Series(mem), dropped, marked)
        frame = pd.DataFrame({
            "job": tasks["job_name"].astype(str).to_numpy(object),
            "task": tasks["task_name"].astype(str).to_numpy(object),
            "submit": start, "duration": np.maximum(end - start, 1.0),
            "n": tasks["instance_num"].fillna(0).to_numpy(np.int64),
            "cpu": cpu / 100.0, "mem": mem / 100.0 * ref, "censored": ~ended, "end": end,
        })[keep]
        frame["key"] = frame["job"] + "/" + frame["task"]
        if files.get("batch_instance"):
            rows = pd.DataFrame({
                "key": (rows["job_name"].astype(str) + "/" + rows["task_name"].astype(str)).to_numpy(object),
                "name": rows["instance_name"].astype(str).to_numpy(object),
                "start": rows["start_time"].to_numpy(float), "end": rows["end_time"].to_numpy(float),
                "status": rows["status"].to_numpy(object)})
            measured, frame = _measured("alibaba2018", rows, frame, end_s, lambda r, k: (
                r["key"] + "/" + r["name"] + "/" + pd.Series(k, index=r.index).astype(str)).to_numpy(object),
                dropped, notes)
            parts.append(_select_instances(measured, selection, "alibaba2018", "workload:sample:batch"))
        if len(frame):
            concurrency = _concurrency(frame, capacity, "machine_meta", notes)
            parts.append(_expand(frame, selection, "alibaba2018",
                                 lambda t, k: (t["key"].to_numpy(object).astype(str) + "/"
                                               + pd.Series(k).astype(str).to_numpy(object)).astype(object),
                                 purpose="workload:sample:batch", concurrency=concurrency))
    instances = _jobs(_combine(parts, selection, "alibaba2018"))
    if files.get("batch_task"):
        instances = _task_dependencies(instances, str(files["batch_task"][0].path), notes,
                                       tasks[["job_name", "task_name"]])
    _note_censored(instances, end_s, notes)
    if usage is not None:
        usage = usage[usage["id"].isin(instances["id"])].reset_index(drop=True)
        if len(usage) == 0:
            usage = None
    kinds = instances["kind"].astype(str).value_counts()
    notes.append("instances: " + ", ".join(f"{n:,} {k}" for k, n in kinds.items()))
    return TraceData(instances, usage, "alibaba2018", "", dropped=dropped, notes=notes, selected=True)


# --- helpers -----------------------------------------------------------------------------


def _frame(files: list[TraceFile], columns: list[str], options: ReaderOptions, bad: BadRows,
           once: tuple[str, ...] = ()) -> pd.DataFrame:
    """The ``columns`` of every file's rows; a row repeating the ``once`` key of an earlier
    row is a bad row naming its file and line (a batch task listed twice counted its
    instances twice), as the other readers refuse a repeated id."""
    parts, wheres = [], []
    for tf in files:
        for block in read_blocks(tf, columns, bad, options.block_bytes):
            parts.append(pd.DataFrame(block.values).assign(_row=block.row, _at=len(wheres)))
            wheres.append(block.where)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    frame = pd.concat(parts, ignore_index=True)
    # the key's columns hashed as they are (a string per row joined from them took ~2.6 KB a
    # row at the peak: Alibaba's 11 M-instance batch_task in ~1 GB)
    repeated = np.flatnonzero(frame.duplicated(list(once), keep="first").to_numpy()) if once and len(frame) else []
    if len(repeated):
        bad.report(files[0].kind.partition(":")[2], repeated, f"({', '.join(once)}) appears more than once",
                   lambda i: wheres[int(frame["_at"].iloc[i])](frame["_row"].iloc[i]),
                   lambda i: f" ({', '.join(shown(frame[c].iloc[i]) for c in once)})")
        bad.check()
        frame = frame.drop(index=repeated).reset_index(drop=True)
    return frame.drop(columns=["_row", "_at"])


def _valid(values: pd.Series) -> np.ndarray:
    """v2018 values with its invalid marks (-1, 101) as NaN."""
    out = values.to_numpy(dtype=float, na_value=np.nan).copy()
    out[np.isin(out, INVALID)] = np.nan
    return out


def _task_rules(status: pd.Series, instance_num: pd.Series, cpu: pd.Series, mem: pd.Series,
                dropped: dict[str, int], marked_invalid: np.ndarray | None = None) -> np.ndarray:
    """Which tasks can be replayed; the others counted in ``dropped`` by reason, once each.
    ``marked_invalid``: tasks whose plan is missing because v2018 marked it invalid."""
    never = status.isin(NEVER_RAN).to_numpy()
    for name in NEVER_RAN:
        count(dropped, f"batch task never ran ({name})", int((status == name).sum()))
    n = instance_num.fillna(0).to_numpy(float)
    cpu_v = cpu.to_numpy(dtype=float, na_value=np.nan)
    mem_v = mem.to_numpy(dtype=float, na_value=np.nan)
    no_plan = ~never & (np.isnan(cpu_v) | np.isnan(mem_v))
    marked = no_plan & (marked_invalid if marked_invalid is not None else np.zeros(len(n), dtype=bool))
    count(dropped, "batch task with a plan marked invalid (-1 or 101)", int(marked.sum()))
    count(dropped, "batch task without a CPU or memory plan", int((no_plan & ~marked).sum()))
    zero = ~never & ~no_plan & ((cpu_v <= 0) | (mem_v <= 0))
    count(dropped, "batch task planning zero CPU or memory", int(zero.sum()))
    empty = ~never & ~no_plan & ~zero & (n <= 0)
    count(dropped, "batch task with no instances", int(empty.sum()))
    return ~(never | no_plan | zero | empty)


def _expand(tasks: pd.DataFrame, selection: Selection, version: str, make_ids, purpose: str = "workload:sample",
            concurrency: int | None = None) -> pd.DataFrame:
    """Batch instances from tasks (``submit, duration, n, cpu, mem, censored``).

    With ``concurrency`` c, a task's n instances run in ``w = ceil(n / c)`` equal,
    back-to-back waves of ``ceil(n / w)`` instances spanning the task; without it each
    runs the whole span. A window, a sample and a limit are applied while the instances
    are built, so that a trace of 10^9 instances never builds them all; a sample keeps
    instances spread evenly over a task's waves (stratified, random offset).
    """
    tasks = tasks.sort_values("submit", kind="stable").reset_index(drop=True)
    submit = tasks["submit"].to_numpy(float)
    span = tasks["duration"].to_numpy(float)
    if selection.time_window_s is not None:  # tasks: a superset of what the window keeps
        start, stop = selection.time_window_s
        alive = (submit < stop) & (submit + span > start)
        tasks, submit, span = tasks[alive].reset_index(drop=True), submit[alive], span[alive]
    n = tasks["n"].to_numpy(np.int64)
    waves = np.ones(len(n), dtype=np.int64) if concurrency is None else -(-n // np.minimum(n, concurrency))
    width = -(-n // waves)
    wave_s = span / waves
    m = n
    offset = np.zeros(len(n))
    if selection.sample is not None:
        rng = stream(selection.seed, purpose)
        m = rng.binomial(n, selection.sample)
        offset = rng.random(len(n))
    censored_task = tasks["censored"].to_numpy(bool)

    def build(lo: int, hi: int) -> tuple[np.ndarray, ...]:
        """(task row, instance index k, start, length, censored) of tasks [lo, hi)."""
        counts = m[lo:hi]
        rows = lo + np.repeat(np.arange(hi - lo), counts)
        j = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        k = j if selection.sample is None else \
            np.floor((j + offset[rows]) * n[rows] / np.maximum(m[rows], 1)).astype(np.int64)
        wave = k // width[rows]
        begin = submit[rows] + wave * wave_s[rows]
        length = wave_s[rows]
        cut = censored_task[rows] & (wave == waves[rows] - 1)
        if selection.time_window_s is not None:
            start, stop = (float(v) for v in selection.time_window_s)
            inside = (begin < stop) & (begin + length > start)
            rows, k, begin, length, cut = rows[inside], k[inside], begin[inside], length[inside], cut[inside]
            clipped = np.maximum(begin, start)
            length = begin + length - clipped
            begin = clipped - start
        return rows, k, begin, length, cut

    if selection.limit is None:
        total = int(m.sum())
        if total > MAX_INSTANCES:
            raise InputError(f"{version}: the batch tasks expand into {total:,} instances, more than "
                             f"{MAX_INSTANCES:,}; replay part of the trace (workload.time_window_s, sample or limit)")
        rows, k, begin, length, cut = build(0, len(m))
    else:
        # The first `limit` by start, tasks taken in order of submit a block at a time: an
        # instance starts no earlier than its task, so once a task is submitted after the
        # limit-th start kept, no later task has one among the first.
        limit, ends = int(selection.limit), np.cumsum(m)
        kept = tuple(np.zeros(0, dtype=t) for t in (np.int64, np.int64, float, float, bool))
        lo = 0
        while lo < len(m):
            hi = max(int(np.searchsorted(ends, ends[lo] - m[lo] + max(limit, 1 << 16), side="right")), lo + 1)
            block = build(lo, hi)
            kept = tuple(np.concatenate([a, b]) for a, b in zip(kept, block))
            order = np.lexsort((kept[1], kept[0], kept[2]))[:limit]
            kept = tuple(a[order] for a in kept)
            lo = hi
            if len(kept[0]) >= limit and lo < len(m) and submit[lo] - (
                    selection.time_window_s[0] if selection.time_window_s is not None else 0.0) >= kept[2].max():
                break
        rows, k, begin, length, cut = kept
    expanded = tasks.iloc[rows].reset_index(drop=True)
    return canonical(version, id=make_ids(expanded, k), submit_s=begin, duration_s=length,
                     cpu_cores=expanded["cpu"].to_numpy(float), memory_gib=expanded["mem"].to_numpy(float),
                     kind="batch", priority=0, censored=cut)


def _peak(start: np.ndarray, end: np.ndarray, weight: np.ndarray) -> float:
    """The largest sum of ``weight`` over the intervals ``[start, end)`` alive at once."""
    if not len(start):
        return 0.0
    t = np.concatenate([start, end])
    w = np.concatenate([weight, -weight])
    order = np.lexsort((w, t))  # at one time, ends before starts
    return float(max(np.cumsum(w[order]).max(), 0.0))


def _concurrency(tasks: pd.DataFrame, capacity: tuple[float, float] | None, source: str,
                 notes: list[str]) -> int | None:
    """How many instances of a task run at once when the trace has no per-instance times.

    The largest c (the same for every task) for which the batch requests, each task's
    instances in waves of at most c (:func:`_expand`), never exceed the machines'
    ``capacity`` (cores, GiB): the trace's cluster ran them, so they fitted on it. None
    when every instance of every task fits at once, or when the machines are unknown.
    """
    if capacity is None:
        notes.append(f"no per-instance times and no {source}: each batch instance runs its task's whole span "
                     f"(an upper bound on the load; give {source} to spread them within the cluster)")
        return None
    n = tasks["n"].to_numpy(np.int64)
    start = tasks["submit"].to_numpy(float)
    end = start + tasks["duration"].to_numpy(float)
    cpu, mem = tasks["cpu"].to_numpy(float), tasks["mem"].to_numpy(float)
    cores, gib = capacity

    def fits(c: int) -> bool:
        width = -(-n // -(-n // np.minimum(n, c)))
        return (_peak(start, end, width * cpu) <= cores * (1 + 1e-9)
                and _peak(start, end, width * mem) <= gib * (1 + 1e-9))

    high = int(n.max(initial=1))
    if fits(high):
        notes.append(f"no per-instance times: every instance of a task runs its whole span (all fit on the "
                     f"{source} machines at once)")
        return None
    low = 1
    if not fits(low):
        notes.append(f"no per-instance times: a task's instances run one at a time over its span, and even so the "
                     f"batch requests exceed the {source} machines ({cores:,.0f} cores, {gib:,.0f} GiB)")
        return 1
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    notes.append(f"no per-instance times: a task's instances run in equal waves of at most {low:,} at once over "
                 f"its span, the most with which the batch requests never exceed the {source} machines "
                 f"({cores:,.0f} cores, {gib:,.0f} GiB)")
    return low


def _measured(version: str, rows: pd.DataFrame, tasks: pd.DataFrame, data_end: float, make_ids,
              dropped: dict[str, int], notes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Instances from ``batch_instance`` rows (``key, start, end, status``; one row per
    try), with their task's request; and the tasks (``key``) with no row there, to be spread."""
    status = rows["status"].astype(str).str.strip()
    never = status.isin(NEVER_RAN).to_numpy()
    for name in NEVER_RAN:
        count(dropped, f"batch instance never ran ({name})", int((status == name).sum()))
    info = tasks.drop_duplicates("key", keep="first").set_index("key")
    known = ~never & rows["key"].isin(info.index).to_numpy()
    count(dropped, "batch instance of no replayed task (its task missing, or not replayed)",
          int((~never & ~known).sum()))
    r = rows[known].reset_index(drop=True)
    status = status[known].to_numpy(object)
    of = info.reindex(r["key"])
    start = np.maximum(r["start"].fillna(0).to_numpy(float), 0.0)
    stop = r["end"].fillna(0).to_numpy(float)
    finished = np.isin(status, ENDED) & (stop > 0)
    # An instance that ended at an unknown time (end 0) ended with its task, if that ended.
    with_task = ~finished & (status != "Running") & ~of["censored"].to_numpy(bool)
    end = np.where(finished, stop, np.where(with_task, of["end"].to_numpy(float), data_end))
    if with_task.any():
        notes.append(f"{int(with_task.sum()):,} batch instances ended without an end time: read as ending with "
                     "their task")
    k = r.groupby("key", sort=False).cumcount().to_numpy(np.int64)
    measured = canonical(version, id=make_ids(r, k), submit_s=start, duration_s=np.maximum(end - start, 1.0),
                         cpu_cores=of["cpu"].to_numpy(float), memory_gib=of["mem"].to_numpy(float), kind="batch",
                         priority=0, censored=~finished & ~with_task)
    remaining = tasks[~tasks["key"].isin(r["key"])]
    notes.append(f"{len(measured):,} batch instances from batch_instance (their own start and end)"
                 + (f"; {len(remaining):,} tasks without rows there are spread" if len(remaining) else ""))
    return measured, remaining


def _ids_2017(rows: pd.DataFrame, k: np.ndarray) -> np.ndarray:
    if len(k) and k.max() >= ID_STRIDE:
        raise InputError(f"alibaba2017: a task has more than {ID_STRIDE - 1:,} batch_instance rows; "
                         "instance ids cannot be made")
    return rows["key"].to_numpy(float).astype(np.int64) * ID_STRIDE + k


def _select_instances(instances: pd.DataFrame, selection: Selection, version: str, purpose: str) -> pd.DataFrame:
    """Window and sample (not limit: applied to all the instances together) of built instances."""
    chosen = select(TraceData(instances, None, version, ""),
                    Selection(selection.time_window_s, selection.sample, None, selection.seed))
    return chosen.instances


def _combine(parts: list[pd.DataFrame], selection: Selection, version: str) -> pd.DataFrame:
    if not parts:  # nothing to replay: the empty table (counted in dropped)
        none = np.zeros(0)
        parts = [canonical(version, id=none.astype(object), submit_s=none, duration_s=none, cpu_cores=none,
                           memory_gib=none, kind="batch", censored=none.astype(bool))]
    instances = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    instances = instances.sort_values("submit_s", kind="stable").reset_index(drop=True)
    if selection.limit is not None:
        instances = instances.iloc[: selection.limit].reset_index(drop=True)
    return instances


def _jobs(instances: pd.DataFrame) -> pd.DataFrame:
    """v2018's ``job`` column: a container's ``app_du`` (its application deployment
    unit, read by _containers), a batch instance's ``job_name`` (the first part of its
    id, ``"<job_name>/<task_name>/..."``)."""
    batch = (instances["kind"] == "batch").to_numpy()
    job = instances["job"].astype(object).fillna("").astype(str).to_numpy(object)
    if batch.any():
        ids = instances["id"].to_numpy(object)[batch].astype(str)
        job[batch] = np.char.partition(ids, "/")[:, 0].astype(object)
    return instances.assign(job=pd.Categorical(job))


def _task_dependencies(instances: pd.DataFrame, source: str, notes: list[str],
                       every: pd.DataFrame | None = None) -> pd.DataFrame:
    """v2018 batch tasks' dependencies, from their names (``"R3_1_2"`` waits for tasks 1
    and 2 of its job, :func:`simdc.workload.dependencies.alibaba_parents`): each instance
    of a task waits for every replayed instance of its parent tasks (the ``parents``
    column). A parent task of the file not replayed (dropped, or not selected) passes
    its own parent tasks on, transitively (:func:`simdc.workload.dependencies.prune`);
    ``every``: the file's tasks (``job_name``, ``task_name``), those not replayed among
    them (without it, only the replayed ones are known). One named but not in the file,
    or with no ancestor replayed, counts as done; beyond :data:`MAX_DEPENDENCIES` links
    the dependencies are not replayed (a note says so: a selection brings them back)."""
    from simdc.workload import dependencies

    batch = np.flatnonzero((instances["kind"] == "batch").to_numpy())
    if not len(batch):
        return instances
    parts = pd.Series(instances["id"].to_numpy(object)[batch].astype(str)).str.split("/", n=2, expand=True)
    key = (parts[0] + "/" + parts[1]).to_numpy(object)
    members = pd.Series(instances["id"].to_numpy(object)[batch].astype(str)).groupby(key).agg(list)
    tasks = pd.DataFrame({"job": parts[0], "task": parts[1]})
    if every is not None:
        tasks = pd.concat([tasks, pd.DataFrame({"job": every["job_name"].astype(str).to_numpy(object),
                                                "task": every["task_name"].astype(str).to_numpy(object)})])
    tasks = tasks.drop_duplicates()
    named = dependencies.alibaba_parents(tasks["task"].tolist(), tasks["job"].tolist())
    parent_keys, missing = {}, 0
    for job, task, names in zip(tasks["job"], tasks["task"], named):
        keys = [f"{job}/{n}" for n in names.split() if not n.startswith("?")]
        missing += sum(n.startswith("?") for n in names.split())
        if keys:
            parent_keys[f"{job}/{task}"] = keys
    if not parent_keys:
        return instances
    links = sum(len(members[k]) * sum(len(members.get(p, ())) for p in ps) for k, ps in parent_keys.items()
                if k in members)
    if links > MAX_DEPENDENCIES:
        notes.append(f"batch task dependencies not replayed: {links:,} links between instances (more than "
                     f"{MAX_DEPENDENCIES:,}); select fewer instances (sample, limit, time_window_s) to replay them")
        return instances
    # a task not replayed stands as one row named by its key ("j_1/M2": no instance's id,
    # which has a third part), for prune to pass its parents on through it
    text = {k: " ".join(i for p in ps for i in members.get(p, [p])) for k, ps in parent_keys.items()}
    column = np.full(len(instances), "", dtype=object)
    column[batch] = [text.get(k, "") for k in key]
    instances = instances.assign(parents=column)
    absent = [k for k in text if k not in members]
    whole = pd.concat([instances[["id", "parents"]],
                       pd.DataFrame({"id": absent, "parents": [text[k] for k in absent]})], ignore_index=True)
    dependencies.check(whole, source)
    instances, passed = dependencies.prune(instances, "of tasks not replayed (dropped or not selected)", whole)
    waiting = int((instances["parents"] != "").sum())
    notes.append(f"{waiting:,} batch instances wait for every instance of their parent tasks (task names such as "
                 "R3_1_2: task 3 after tasks 1 and 2 of its job)")
    if missing:
        notes.append(f"{missing:,} parent tasks named in task names are not in the file: they count as done")
    notes += passed
    return instances


def _note_censored(instances: pd.DataFrame, data_end: float, notes: list[str]) -> None:
    cut = instances["censored"].to_numpy(bool) & (instances["kind"].astype(str) == "batch").to_numpy() \
        if "censored" in instances else np.zeros(0, dtype=bool)
    if cut.any():
        # what they weigh: run on to the end of the data, a few long tasks can hold most of the batch work
        batch = (instances["kind"].astype(str) == "batch").to_numpy()
        core_s = instances["cpu_cores"].to_numpy(float) * instances["duration_s"].to_numpy(float)
        share = core_s[cut].sum() / core_s[batch].sum() if core_s[batch].sum() > 0 else 0.0
        notes.append(f"{int(cut.sum()):,} batch instance lifetimes censored: still running at the end of the data "
                     f"read ({data_end:,.0f} s); their duration_s is a lower bound; "
                     f"they hold {share:.1%} of the batch instances' requested core-seconds")


def _containers(meta: pd.DataFrame, ref: float, dropped: dict[str, int]) -> pd.DataFrame:
    """One row per container: ``id, app`` (its app_du, "" when none), ``submit, cpu,
    limit, mem, stop`` (inf when it was still running at its last snapshot) and
    ``censored``."""
    meta = meta.assign(time_stamp=np.maximum(meta["time_stamp"].to_numpy(float), 0.0),
                       cpu_request=_valid(meta["cpu_request"]), cpu_limit=_valid(meta["cpu_limit"]),
                       mem_size=_valid(meta["mem_size"]))
    meta = meta.sort_values(["container_id", "time_stamp"], kind="stable")
    groups = meta.groupby("container_id", sort=False)
    out = pd.DataFrame({
        "app": (groups["app_du"].first().fillna("").astype(str) if "app_du" in meta
                else pd.Series("", index=groups.size().index)),
        "submit": groups["time_stamp"].min(),
        "cpu": groups["cpu_request"].max() / 100.0,
        "limit": groups["cpu_limit"].max() / 100.0,
        "mem": groups["mem_size"].max() / 100.0 * ref,
    })
    # A stopped container keeps writing snapshots that say so (alibaba/clusterdata#47):
    # it ended at the first ``stopped`` snapshot after the last one that is not.
    is_stopped = meta["status"].astype(str).str.strip().str.lower().eq("stopped").to_numpy()
    running_t = pd.Series(np.where(is_stopped, -np.inf, meta["time_stamp"].to_numpy(float)))
    last_running = running_t.groupby(meta["container_id"].to_numpy(), sort=False).transform("max").to_numpy()
    after = is_stopped & (meta["time_stamp"].to_numpy(float) > last_running)
    stop = pd.Series(np.where(after, meta["time_stamp"].to_numpy(float), np.inf)) \
        .groupby(meta["container_id"].to_numpy(), sort=False).min().reindex(out.index).to_numpy()
    ever_ran = (pd.Series(last_running).groupby(meta["container_id"].to_numpy(), sort=False).max()
                .reindex(out.index).to_numpy() > -np.inf)
    count(dropped, "container never seen running (every snapshot says stopped)", int((~ever_ran).sum()))
    out["censored"] = ~np.isfinite(stop)
    out["stop"] = stop
    out = out[ever_ran]
    unsized = ~(np.isfinite(out["cpu"].to_numpy()) & np.isfinite(out["mem"].to_numpy())
                & (out["cpu"].to_numpy() > 0) & (out["mem"].to_numpy() > 0))
    count(dropped, "container without a valid CPU request or memory size", int(unsized.sum()))
    out = out[~unsized]
    out["limit"] = out["limit"].where(out["limit"] >= out["cpu"])
    return out.rename_axis("id").reset_index()


def _container_usage(files: list[TraceFile], containers: pd.DataFrame, options: ReaderOptions, bad: BadRows):
    """(usage table or None, notes, the last time_stamp read or NaN)."""
    ids = containers["id"].to_numpy(object)
    index = pd.Index(ids)
    submit = containers["submit"].to_numpy(float)
    cpu_req = containers["cpu"].to_numpy(float)
    mem_req = containers["mem"].to_numpy(float)
    pos, t, cpu, mem = [], [], [], []
    unknown = invalid = 0
    last = np.nan
    for tf in files:
        for block in read_blocks(tf, ["container_id", "time_stamp", "cpu_util_percent", "mem_util_percent"], bad,
                                 options.block_bytes):
            stamps = block.values["time_stamp"].astype(float)
            if len(stamps):
                last = np.nanmax([last, stamps.max()])
            p = index.get_indexer(block.values["container_id"])
            known = p >= 0
            unknown += int((~known).sum())
            c = _valid(pd.Series(block.values["cpu_util_percent"][known]))
            m = _valid(pd.Series(block.values["mem_util_percent"][known]))
            ok = np.isfinite(c) & np.isfinite(m) & (c >= 0) & (m >= 0)
            invalid += int((~ok).sum())
            p = p[known][ok]
            pos.append(p)
            t.append(stamps[known][ok] - submit[p])
            cpu.append(c[ok] / 100.0 * cpu_req[p])
            mem.append(m[ok] / 100.0 * mem_req[p])
    notes = []
    if unknown:
        notes.append(f"{unknown:,} container_usage rows for containers not replayed were left out")
    if invalid:
        notes.append(f"{invalid:,} container_usage samples marked invalid (-1, 101 or empty) were left out")
    if not pos or not sum(len(p) for p in pos):
        return None, notes, last
    table = usage_samples(np.concatenate(pos), np.concatenate(t), np.concatenate(cpu), np.concatenate(mem), ids)
    return table, notes, last
