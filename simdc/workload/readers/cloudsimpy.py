"""CloudSimPy's job files (github.com/RobertLexis/CloudSimPy, ``playground/*/jobs_files/jobs.csv``).

Format
------
A CSV written by pandas with its index, so the header's first name is empty::

    ,submit_time,duration,cpu,memory,job_id,task_id,instances_num,disk
    0,539,116.38162544169612,1.0,0.005404705821447985,1,1,283,0

(the same without the index column is read too). The header is required: it is what
tells the format.

One row per task of a job. CloudSimPy's reader (``playground/Non_DAG/utils/csv_reader.py``)
makes each row a ``TaskConfig(task_id, instances_num, cpu, memory, disk, duration)``
of job ``job_id``; its ``core/job.py`` makes a task ``instances_num`` identical
instances, each of which runs for ``duration`` (``do_work``: ``env.timeout(duration)``)
on a machine of ``MachineConfig(64, 1, 1)``: 64 CPU, memory 1, disk 1 (the launch
scripts, ``playground/Non_DAG/launch_scripts/main-makespan.py``). The data come from
Alibaba Cluster Data V2017 (the DeepJS paper shipped with it,
``playground/paper/F0049-4.19.pdf``, section 4.1): ``cpu`` is cores (0.5, 1, ...),
``memory`` and ``disk`` fractions of the machine.

Instances, as CloudSimPy builds them
------------------------------------
- A task of ``instances_num`` becomes that many instances, all submitted with their
  job: **a job's submit time is that of its last row in the file** (CloudSimPy keeps one
  per job, overwriting it row by row; in its ``jobs.csv`` 78 of 5,216 jobs list rows
  with different times). Times are seconds from the trace's time 0, as in the file
  (CloudSimPy's ``generate(offset, n)`` counts from the first job of a chunk;
  ``workload.time_window_s`` does the same for a window).
- Instances are in CloudSimPy's order: jobs by submit time (ties in order of first
  appearance), tasks in file order within a job, instances by index. That is simdc's
  submission order, so a FIFO queue serves them as CloudSimPy's broker submits them.
- ``duration_s = duration``: a fixed lifetime whatever the machine's load, which is
  simdc's ``service`` (not ``batch``, whose duration is work that slows when CPU is
  contended). Priority 0. ``job`` is the job id.
- Ids: ``task_id × 10^6 + k`` (k the instance's index in its task) when task ids are
  unique in the files read (they are in CloudSimPy's ``jobs.csv``); otherwise
  CloudSimPy's own ``"<job_id>-<task_id>-<k>"``.
- ``disk`` is not modelled (0 throughout CloudSimPy's ``jobs.csv``); it is checked and
  otherwise left out.

Units, once, here
-----------------
- ``cpu_cores = cpu``.
- ``memory_gib = memory × reference_memory_gib``: memory is a fraction of CloudSimPy's
  machine, whose memory is 1. As in Alibaba V2017, which it comes from, that is the
  largest machine; the default, 384 GiB, is :mod:`.alibaba`'s assumption for V2017
  (``DEFAULT_REFERENCE_GIB``) — set ``reference_memory_gib`` to what you assume, and
  give hosts of 64 cores and that memory to replay CloudSimPy's machines.

Bad rows
--------
A value that is not a number, a ``duration``, ``cpu`` or ``memory`` not above 0, a
``memory`` or ``disk`` above 1, an ``instances_num`` below 1 or above 999,999, a
negative ``submit_time``, and a task listed twice in one job (CloudSimPy would keep
the last and lose the first) are bad rows, named by file and line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simdc.errors import InputError
from simdc.workload.readers.alibaba import DEFAULT_REFERENCE_GIB
from simdc.workload.readers.common import (BadRows, Field, ReaderOptions, Selection, Table, TraceData, TraceFile,
                                           canonical, read_blocks)

ID_STRIDE = 1_000_000  # instance ids: task_id * ID_STRIDE + k, so instances_num < ID_STRIDE
MAX_INSTANCES = 20_000_000  # beyond this, expanding tasks needs time_window_s (as alibaba's)
HEADER = ("", "submit_time", "duration", "cpu", "memory", "job_id", "task_id", "instances_num", "disk")
DEFAULT_REFERENCE = DEFAULT_REFERENCE_GIB["alibaba2017"]  # GiB of memory 1.0: the data are Alibaba V2017's

FIELDS = (
    Field("index", "int", required=False),
    Field("submit_time", low=0.0),
    Field("duration", low=0.0),
    Field("cpu", low=0.0),
    Field("memory", low=0.0, high=1.0),
    Field("job_id", "int"),
    Field("task_id", "int"),
    Field("instances_num", "int", low=1, high=ID_STRIDE - 1),
    Field("disk", required=False, low=0.0, high=1.0),
)
TABLES = (
    Table("cloudsimpy", "jobs", FIELDS, header_required=True, header=HEADER, hints=("jobs",)),
    # the same table saved again without pandas' index column (to_csv(index=False))
    Table("cloudsimpy", "jobs", FIELDS[1:], header_required=True, header=HEADER[1:], hints=("jobs",)),
)
USED = ("submit_time", "duration", "cpu", "memory", "job_id", "task_id", "instances_num", "disk")
POSITIVE = ("duration", "cpu", "memory")


def reference_gib(options: ReaderOptions) -> float:
    return options.reference_memory_gib if options.reference_memory_gib is not None else DEFAULT_REFERENCE


def read(files: dict[str, list[TraceFile]], options: ReaderOptions, bad: BadRows,
         selection: Selection) -> TraceData:
    """Read CloudSimPy job files into instances (see the module's docstring).

    A ``time_window_s`` is applied to tasks before they are expanded (a task's instances
    share its submit time and duration, so this keeps exactly the instances the window
    would); the selection itself is then applied by :func:`.read_trace` as for any
    format.

    Raises
    ------
    InputError
        No job file; bad rows (strict); more than :data:`MAX_INSTANCES` instances
        without a window.
    """
    jobs = files.get("jobs", [])
    if not jobs:
        raise InputError("cloudsimpy: no jobs file among the files given")
    tasks = _tasks(jobs, bad)
    ref = reference_gib(options)
    notes = [f"machine memory (CloudSimPy's 1.0): {ref:g} GiB (reference_memory_gib)"]
    # CloudSimPy's csv_reader: job_submit_time_map[job_id] = submit_time, row after row.
    job_submit = tasks.groupby("job_id", sort=False)["submit_time"].last()
    differing = int((tasks.groupby("job_id", sort=False)["submit_time"].nunique() > 1).sum())
    if differing:
        notes.append(f"{differing:,} jobs of the files read list tasks with different submit times: each is "
                     f"submitted at its last row's time, as CloudSimPy does")
    submit = tasks["job_id"].map(job_submit).to_numpy(float)
    # Jobs by submit time, ties by first appearance; tasks in file order within a job.
    first_seen = tasks.groupby("job_id", sort=False).cumcount().eq(0)
    job_rank = pd.Series(np.arange(int(first_seen.sum())), index=tasks.loc[first_seen, "job_id"].to_numpy())
    order = np.lexsort((np.arange(len(tasks)), tasks["job_id"].map(job_rank).to_numpy(), submit))
    tasks, submit = tasks.iloc[order].reset_index(drop=True), submit[order]
    duration = tasks["duration"].to_numpy(float)
    if selection.time_window_s is not None:  # the tasks whose instances the window keeps
        start, stop = (float(v) for v in selection.time_window_s)
        alive = (submit < stop) & (submit + duration > start)
        tasks, submit, duration = tasks[alive].reset_index(drop=True), submit[alive], duration[alive]
    n = tasks["instances_num"].to_numpy(np.int64)
    total = int(n.sum())
    if total > MAX_INSTANCES:
        raise InputError(f"cloudsimpy: the tasks expand into {total:,} instances, more than {MAX_INSTANCES:,}; "
                         f"replay part of the trace (workload.time_window_s)")
    rows = np.repeat(np.arange(len(n)), n)
    k = np.arange(total) - np.repeat(np.cumsum(n) - n, n)
    task_id = tasks["task_id"].to_numpy(np.int64)
    job_id = tasks["job_id"].to_numpy(np.int64)
    if tasks["task_id"].is_unique:
        ids = task_id[rows] * ID_STRIDE + k
    else:
        ids = (pd.Series(job_id[rows]).astype(str) + "-" + pd.Series(task_id[rows]).astype(str) + "-"
               + pd.Series(k).astype(str)).to_numpy(object)
        notes.append("task ids repeat across jobs: instance ids are CloudSimPy's \"<job_id>-<task_id>-<k>\"")
    instances = canonical(
        "cloudsimpy", id=ids, submit_s=submit[rows], duration_s=duration[rows],
        cpu_cores=tasks["cpu"].to_numpy(float)[rows], memory_gib=tasks["memory"].to_numpy(float)[rows] * ref,
        job=pd.Categorical(tasks["job_id"].astype(str).to_numpy(object))[rows])  # per task, then expanded
    return TraceData(instances, None, "cloudsimpy", "", notes=notes)


def _tasks(files: list[TraceFile], bad: BadRows) -> pd.DataFrame:
    """The task rows of every file, in file order, checked."""
    parts = []
    for number, tf in enumerate(files):
        for block in read_blocks(tf, USED, bad):
            zero = np.zeros(len(block), dtype=bool)
            for name in POSITIVE:
                values = block.values[name]
                hit = np.flatnonzero(values <= 0)
                if len(hit):
                    bad.report("jobs", hit, f"{name} must be > 0", lambda i, b=block: b.where(b.row[i]),
                               lambda i, v=values: f" (got {v[i]:g})")
                    zero[hit] = True
            bad.check()
            frame = pd.DataFrame({name: block.values[name] for name in USED})
            frame["_file"], frame["_row"] = number, block.row
            parts.append((block, frame[~zero]))
    tasks = pd.concat([frame for _, frame in parts], ignore_index=True)
    repeated = np.flatnonzero(tasks.duplicated(["job_id", "task_id"], keep="last").to_numpy())
    if len(repeated):
        where = {int(f["_file"].iloc[0]): b.where for b, f in parts if len(f)}

        def named(i: int) -> str:
            return where[int(tasks["_file"].iloc[i])](int(tasks["_row"].iloc[i]))

        bad.report("jobs", repeated, "task listed again later in its job", named,
                   lambda i: f" (job_id {int(tasks['job_id'].iloc[i])}, task_id {int(tasks['task_id'].iloc[i])})")
        bad.check()
        tasks = tasks.drop(index=repeated).reset_index(drop=True)
    if len(tasks) == 0:
        raise InputError(f"{files[0].path}: no tasks" + (" (every row was bad and skipped)" if bad.skipped else ""))
    return tasks
