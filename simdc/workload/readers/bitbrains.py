"""Bitbrains GWA-T-12 (Grid Workloads Archive, TU Delft): one CSV file per VM.

Format
------
A header row (required: a file without it is refused at line 1), then one row per 300-s
sample, fields separated by ``;`` and a tab:
``Timestamp [ms]; CPU cores; CPU capacity provisioned [MHZ]; CPU usage [MHZ];
CPU usage [%]; Memory capacity provisioned [KB]; Memory usage [KB];`` then disk and
network throughputs (not used). The columns are read by the header's names, in
whatever order the file has them. A folder of such files (``fastStorage/``,
``Rnd/2013-7/``) is a trace of as many VMs; each VM's id is its file's path below the
folder given, without ``.csv``/``.csv.gz`` and without month folders (``1`` for
``Rnd/2013-7/1.csv`` given ``Rnd``; ``Rnd/1`` given the folder above it).

Month folders
-------------
GWA-T-12 ``Rnd`` is distributed as one folder per month (``2013-7/``, ``2013-8/``,
``2013-9/``: a folder named ``YYYY-M``), with the same file name for the same VM in
each. The files of one VM in several month folders are **one VM**: its samples joined
in time order, sized at the most it was given in any month, living from its first
sized sample to its last, so its reservation is held across the gaps between the
months' monitoring (a VM is not deleted and requested anew each month); through a gap
its usage stays at its last sample before it (usage series are step functions). The
notes say how many VMs were joined so.

Conversions, once, here
-----------------------
- **The timestamps are Unix seconds**, whatever the header says (values near 1.37e9
  in July 2013). A file whose timestamps are above 10^11 really is in ms and is read so
  (and noted). simdc's time 0 is the earliest first sample of all the VMs read:
  ``submit_s = first − earliest``.
- A VM lives from its first sample that has a size to its last, plus one sample
  interval (the last sample covers the 300 s after it):
  ``duration_s = last − first + interval`` (the interval: the median gap between samples).
  Rows before the first and after the last sized sample (some files start with rows of
  zeros: ``0`` cores, ``0`` KB, before the VM existed) are not part of its life.
- Size: **the maximum over the file** of provisioned cores and of provisioned memory.
  Provisioned memory (and sometimes cores) changes during a month for several VMs; a VM
  must reserve the most it is ever given, so the maximum is what a VM platform would
  have to preallocate. Memory is in KB of 1,024 bytes (provisioned sizes are exact
  powers of two in KiB: 8,388,608 KB = 8 GiB): ``memory_gib = KB / 2^20``.
- CPU used, per sample: ``CPU usage [MHZ]`` divided by the MHz of one provisioned
  core in that sample (``capacity / cores``), in cores. Memory used: ``Memory usage
  [KB] / 2^20`` GiB. Both become the usage series (offsets from the first sample,
  put onto ``usage_step_s`` by the replay, :func:`simdc.workload.usage.on_steps`); ``cpu_used``
  and ``memory_used_gib`` are their means over time (:func:`.common.series_means`: each
  sample held until the next, the last until the VM's end, as the replay plays them).
- Every VM is a ``service`` of priority 0.
- A plain file that does not end with a line break may have been cut mid-row: its
  last row is a bad row (:func:`.common.read_blocks`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from simdc.errors import InputError, resolved
from simdc.workload.readers.common import (BadRows, Field, ReaderOptions, Table, TraceData, TraceFile, usage_samples,
                                           canonical, count, read_blocks, series_means)

KIB_PER_GIB = 2.0**20
MS_THRESHOLD = 1e11  # a timestamp above this is in milliseconds (1e11 s is the year 5138)
NONNEG = dict(low=0.0)
MONTH_FOLDER = re.compile(r"\d{4}-\d{1,2}")  # GWA-T-12 Rnd's month folders: 2013-7, 2013-8, 2013-9

TABLES = (
    Table("bitbrains", "vm", (
        Field("timestamp", low=0.0, aliases=("Timestamp [ms]",)),
        Field("cpu_cores", aliases=("CPU cores",), **NONNEG),
        Field("cpu_capacity_mhz", aliases=("CPU capacity provisioned [MHZ]",), **NONNEG),
        Field("cpu_usage_mhz", aliases=("CPU usage [MHZ]",), **NONNEG),
        Field("cpu_usage_percent", required=False, aliases=("CPU usage [%]",), **NONNEG),
        Field("memory_capacity_kb", aliases=("Memory capacity provisioned [KB]",), **NONNEG),
        Field("memory_usage_kb", aliases=("Memory usage [KB]",), **NONNEG),
        *(Field(n, required=False, aliases=(header,)) for n, header in (
            ("disk_read_kbps", "Disk read throughput [KB/s]"), ("disk_write_kbps", "Disk write throughput [KB/s]"),
            ("net_in_kbps", "Network received throughput [KB/s]"),
            ("net_out_kbps", "Network transmitted throughput [KB/s]"))),
    ), delimiter=";", header_required=True, header_prefix="Timestamp", optional_tail=4),
)
USED = ("timestamp", "cpu_cores", "cpu_capacity_mhz", "cpu_usage_mhz", "memory_capacity_kb", "memory_usage_kb")


def read(files: dict[str, list[TraceFile]], options: ReaderOptions, bad: BadRows, roots: list[Path]) -> TraceData:
    """Read one VM per file, or per file name across month folders.

    Raises
    ------
    InputError
        No VM file; no file with a sized sample (empty files, only a header, or every
        row bad and skipped); two files giving the same VM in the same month; bad rows
        (strict).
    """
    vms = files.get("vm", [])
    if not vms:
        raise InputError("bitbrains: no VM files among the files given")
    notes: list[str] = []
    dropped: dict[str, int] = {}
    rows = []
    series = []
    in_ms = 0
    groups: dict[str, list[TraceFile]] = {}
    for tf in vms:
        groups.setdefault(_vm_id(tf.path, roots), []).append(tf)
    joined = 0
    for vm_id, group in groups.items():
        months = [_month(tf.path, roots) for tf in group]
        if len(set(months)) < len(months):
            raise InputError(f"bitbrains: two files give VM {vm_id!r} ({', '.join(str(tf.path) for tf in group)}): "
                             "read one folder at a time")
        frames, times = [], []
        for tf in group:
            parts = [pd.DataFrame(b.values) for b in read_blocks(tf, USED, bad, options.block_bytes)]
            frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(USED), dtype=float)
            t = frame["timestamp"].to_numpy(float)
            if len(t) and np.nanmedian(t) > MS_THRESHOLD:
                t = t / 1000.0
                in_ms += 1
            frames.append(frame)
            times.append(t)
        frame = pd.concat(frames, ignore_index=True)
        t = np.concatenate(times)
        order = np.argsort(t, kind="stable")
        frame, t = frame.iloc[order].reset_index(drop=True), t[order]
        sized = ((frame["cpu_cores"] > 0) & (frame["memory_capacity_kb"] > 0)).to_numpy(dtype=bool)
        if not sized.any():
            count(dropped, "VM file without a sample that has a size", len(group))
            continue
        joined += len(group) > 1
        first, last = np.flatnonzero(sized)[[0, -1]]
        life = slice(first, last + 1)
        frame, t = frame.iloc[life].reset_index(drop=True), t[life]
        gaps = np.diff(t)
        # The sampling interval within a month, not the gap between months.
        interval = float(np.median(gaps[gaps > 0])) if (gaps > 0).any() else options.usage_step_s
        cores = frame["cpu_cores"].to_numpy(float)
        per_core = np.divide(frame["cpu_capacity_mhz"].to_numpy(float), cores, out=np.zeros(len(frame)),
                             where=cores > 0)
        used = np.divide(frame["cpu_usage_mhz"].to_numpy(float), per_core, out=np.zeros(len(frame)),
                         where=per_core > 0)
        rows.append({
            "id": vm_id, "first": t[0], "duration": t[-1] - t[0] + interval, "last": t[-1], "interval": interval,
            "cores": float(cores.max()), "memory": float(frame["memory_capacity_kb"].max()) / KIB_PER_GIB,
        })
        series.append(pd.DataFrame({"p": len(rows) - 1, "t": t - t[0], "cpu": used,
                                    "mem": frame["memory_usage_kb"].to_numpy(float) / KIB_PER_GIB}))
    if not rows:
        where = vms[0].path if len(vms) == 1 else vms[0].path.parent
        raise InputError(f"{where}: no VM with a provisioned size in the files given "
                         "(no data rows, or every sample without cores and memory)")
    if in_ms:
        notes.append(f"{in_ms} files have timestamps in milliseconds and were read so")
    if joined:
        notes.append(f"{joined} VMs appear in several month folders (same file name): each is one VM living from "
                     "its first month's first sample to its last month's last, its reservation held across the "
                     "gaps between months")
    table = pd.DataFrame(rows)
    ids = table["id"].to_numpy(object)
    samples = pd.concat(series, ignore_index=True)
    usage = usage_samples(samples["p"].to_numpy(), samples["t"].to_numpy(float), samples["cpu"].to_numpy(float),
                          samples["mem"].to_numpy(float), ids)
    cpu_used, mem_used = series_means(usage, ids, table["duration"].to_numpy(float))
    cores = table["cores"].to_numpy(float)
    memory = table["memory"].to_numpy(float)
    # A VM sampled until its recording's last interval was still running when the
    # recording stopped: its lifetime is a lower bound (censored). A recording is a run of
    # VMs whose sampled spans overlap (files from separate recordings may be given together).
    censored = _censored(table["first"].to_numpy(float), table["last"].to_numpy(float),
                         table["interval"].to_numpy(float))
    notes.append(f"{int(censored.sum()):,} VM lifetimes censored: still sampled in the recording's last interval; "
                 f"their duration_s is a lower bound")
    instances = canonical("bitbrains", id=ids, submit_s=table["first"].to_numpy() - table["first"].min(),
                          duration_s=table["duration"].to_numpy(float), cpu_cores=cores, memory_gib=memory,
                          cpu_used=cpu_used, memory_used_gib=mem_used,
                          censored=censored)
    notes.append(f"{len(instances)} VMs sized at the most cores and memory each was provisioned; "
                 f"memory used is {instances['memory_used_gib'].sum() / instances['memory_gib'].sum():.1%} "
                 f"of provisioned, CPU {instances['cpu_used'].sum() / instances['cpu_cores'].sum():.1%}")
    return TraceData(instances, usage, "bitbrains", "", dropped=dropped, notes=notes)


def _censored(first: np.ndarray, last: np.ndarray, interval: np.ndarray) -> np.ndarray:
    """Which VMs were still sampled in the last interval of their recording, the spans
    ``[first, last]`` that overlap one another (sorted by first, a span joins the run
    while it starts before the run's latest last)."""
    order = np.argsort(first, kind="stable")
    run = np.empty(len(first), dtype=np.int64)
    current, reach = -1, -np.inf
    for k in order:
        if first[k] > reach:
            current += 1
        run[k] = current
        reach = max(reach, last[k])
    end = pd.Series(last).groupby(run).transform("max").to_numpy()
    return last >= end - interval


def _relative(path: Path, roots: list[Path]) -> tuple[str, ...]:
    """``path``'s parts below the first folder in ``roots`` that holds it (its name alone otherwise)."""
    for root in roots:
        if not root.is_dir():
            continue
        try:
            return resolved(path).relative_to(resolved(root)).parts
        except ValueError:
            continue
    return (path.name,)


def _month(path: Path, roots: list[Path]) -> tuple[str, ...]:
    """The month folders a VM file lies in (its own folder's name for a file given alone)."""
    parts = _relative(path, roots)
    folders = parts[:-1] if len(parts) > 1 else (path.parent.name,)
    return tuple(part for part in folders if MONTH_FOLDER.fullmatch(part))


def _vm_id(path: Path, roots: list[Path]) -> str:
    """The VM's id: its file's path below the folder given, month folders and suffixes left out."""
    parts = [part for part in _relative(path, roots)[:-1] if not MONTH_FOLDER.fullmatch(part)]
    name = path.name
    for suffix in (".gz", ".bz2", ".xz", ".zst", ".csv"):
        name = name.removesuffix(suffix)
    return "/".join([*parts, name])
