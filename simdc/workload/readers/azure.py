"""Azure Public Dataset V1 (2017) and V2 (2019) VM traces: ``vmtable`` and ``vm_cpu_readings``.

Tables (headerless CSV; a header row, as some redistributions add, is recognised and skipped)
-----------------------------------------------------------------------------------------------
``vmtable``: ``vmid, subscriptionid, deploymentid, vmcreated, vmdeleted, maxcpu, avgcpu,
p95maxcpu, vmcategory, vmcorecount, vmmemory`` (one extra trailing column, such as the
``duration`` some V2 subsets carry, is ignored). ``vm_cpu_readings``: ``timestamp, vmid,
mincpu, maxcpu, avgcpu``, one row per VM every 5 minutes.

Conversions, once, here
-----------------------
- Times are seconds from the start of the trace already: ``submit_s = vmcreated``.
  A VM created at 0 existed when the trace began; it is replayed from time 0.
- Lifetime ``duration_s = max(vmdeleted − vmcreated, 300)``: timestamps have a 5-minute
  resolution, so a VM seen created and deleted in the same reading lived up to 300 s
  (the rule of the dataset's own analysis notebook). A VM deleted at the last
  timestamp was still running when the trace ended: its lifetime is censored there.
- Sizes: ``cpu_cores = vmcorecount``; ``memory_gib = vmmemory``. Azure's sizes are in
  GiB although the schema says GB (an A1 is 1.75 GiB), so no conversion.
  V2 gives size *buckets*, each an upper bound: a VM in bucket ``4`` has at most 4
  cores, and is sized at the bound (what it may use). The open buckets ``>24`` cores and
  ``>64`` GB, 0.4 % of V2's VMs, are sized at :data:`OPEN_BUCKETS` (the next Azure
  size up), an assumption.
- CPU: percentages of the VM's own cores. ``cpu_used = avgcpu / 100 × cores`` (the
  lifetime average), and each reading's ``avgcpu / 100 × cores`` is the usage series
  (``t_s = timestamp − vmcreated``), averaged onto ``usage_step_s``.
- Memory: **Azure publishes no memory usage.** Each VM is assumed to use
  ``azure_memory_used_fraction`` of its size, constant over its life; default
  :data:`DEFAULT_MEMORY_USED_FRACTION` = 0.30 (containers of the same applications used
  50–90 % less than the 4 GB VMs they replaced, i.e. 10–50 % of it: Sharma et al.,
  Middleware 2016, Table 2; the synthetic generator's default too). Set it to what
  your VMs really use: it decides how densely usage-admitted containers pack.
- Category: ``Interactive`` VMs get priority 1 (kept longer under memory pressure),
  ``Delay-insensitive`` and ``Unknown`` priority 0. V1 spells the last ``Unkown``:
  both spellings are read as ``Unknown``. Every VM is a ``service`` (a VM lives until
  its owner deletes it).

Readings for VMs not in the vmtable that was read (each of V1's 125 reading files
covers all VMs, while a vmtable may be a subset) are ignored and counted in the notes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simdc.workload.readers.common import (NUM, BadRows, Field, ReaderOptions, Table, TraceData, TraceFile,
                                           binned_usage, canonical, duplicate_rows, read_blocks, shown)

DEFAULT_MEMORY_USED_FRACTION = 0.30
MIN_LIFETIME_S = 300.0  # the timestamps' resolution
OPEN_BUCKETS = {"cores": 32.0, "memory": 128.0}  # ">24" cores, ">64" GB
CATEGORIES = ("Delay-insensitive", "Interactive", "Unknown", "Unkown")
PERCENT = dict(low=0.0, high=100.0)
VMID = r"[A-Za-z0-9+/=_-]{8,}"
BUCKET = rf">?{NUM}"

TABLES = (
    Table("azure", "vmtable", (
        Field("vmid", "str", pattern=VMID),
        Field("subscriptionid", "str", required=False),
        Field("deploymentid", "str", required=False),
        Field("vmcreated", "int", low=0),
        Field("vmdeleted", "int", low=0),
        Field("maxcpu", required=False, **PERCENT),
        Field("avgcpu", **PERCENT),
        Field("p95maxcpu", required=False, **PERCENT),
        Field("vmcategory", "str", choices=CATEGORIES),
        Field("vmcorecount", "str", pattern=BUCKET),
        Field("vmmemory", "str", pattern=BUCKET),
    ), extra_tail=1, hints=("vmtable",)),
    Table("azure", "vm_cpu_readings", (
        Field("timestamp", "int", low=0),
        Field("vmid", "str", pattern=VMID),
        Field("mincpu", required=False, **PERCENT),
        Field("maxcpu", required=False, **PERCENT),
        Field("avgcpu", **PERCENT),
    ), role="usage", hints=("cpu_readings", "readings")),
)


def read(files: dict[str, list[TraceFile]], options: ReaderOptions, bad: BadRows) -> TraceData:
    """Read Azure ``vmtable`` files (required) and ``vm_cpu_readings`` files (optional)."""
    if not files.get("vmtable"):
        from simdc.errors import InputError

        raise InputError("azure: no vmtable among the files given: the VMs' sizes and lifetimes are there "
                         "(vm_cpu_readings alone has no sizes)")
    fraction = options.azure_memory_used_fraction
    fraction = DEFAULT_MEMORY_USED_FRACTION if fraction is None else fraction
    dropped: dict[str, int] = {}
    notes = [f"memory used assumed {fraction:.0%} of each VM's size (azure_memory_used_fraction): "
             "Azure publishes no memory usage"]

    parts, wheres = [], []
    for tf in files["vmtable"]:
        for block in read_blocks(tf, ["vmid", "vmcreated", "vmdeleted", "avgcpu", "vmcategory", "vmcorecount",
                                      "vmmemory"], bad, options.block_bytes):
            frame = pd.DataFrame(block.values)
            frame["_row"], frame["_file"] = block.row, len(wheres)
            cores, open_cores, bad_cores = _bucket(frame["vmcorecount"], OPEN_BUCKETS["cores"])
            memory, open_memory, bad_memory = _bucket(frame["vmmemory"], OPEN_BUCKETS["memory"])
            ended_before = (frame["vmdeleted"] < frame["vmcreated"]).to_numpy()
            rows = frame["_row"].to_numpy()
            where = block.where
            for mask, reason, column in ((bad_cores, "vmcorecount must be a number > 0", "vmcorecount"),
                                         (bad_memory, "vmmemory must be a number > 0", "vmmemory"),
                                         (ended_before, "vmdeleted is before vmcreated", "vmdeleted")):
                found = np.flatnonzero(mask)
                bad.report("vmtable", found, reason, lambda i: where(rows[i]),
                           lambda i, column=column: f" (got {shown(frame[column].iloc[i])})")
            bad.check()
            keep = ~(bad_cores | bad_memory | ended_before)
            frame["cores"], frame["memory"] = cores, memory
            frame["open"] = open_cores | open_memory
            parts.append(frame[keep])
            wheres.append(where)
    vms = pd.concat(parts, ignore_index=True)
    repeated = duplicate_rows(vms["vmid"])
    if len(repeated):
        bad.report("vmtable", repeated, "vmid appears more than once",
                   lambda i: wheres[int(vms["_file"].iloc[i])](vms["_row"].iloc[i]),
                   lambda i: f" ({vms['vmid'].iloc[i]!r})")
        bad.check()
        vms = vms.drop(index=repeated).reset_index(drop=True)
    if len(vms) == 0:
        from simdc.errors import InputError

        raise InputError(f"{files['vmtable'][0].path}: no valid VMs in the vmtable")

    created = vms["vmcreated"].to_numpy(float)
    duration = np.maximum(vms["vmdeleted"].to_numpy(float) - created, MIN_LIFETIME_S)
    cores = vms["cores"].to_numpy(float)
    memory = vms["memory"].to_numpy(float)
    category = vms["vmcategory"].replace({"Unkown": "Unknown"})
    ids = vms["vmid"].to_numpy(object)
    if vms["open"].any():
        notes.append(f"{int(vms['open'].sum())} VMs in an open size bucket (>24 cores or >64 GB) sized at "
                     f"{OPEN_BUCKETS['cores']:g} cores / {OPEN_BUCKETS['memory']:g} GiB")
    mix = category.value_counts()
    notes.append("categories: " + ", ".join(f"{name} {n}" for name, n in mix.items()))

    usage = None
    readings = files.get("vm_cpu_readings", [])
    if readings:
        usage, unknown = _readings(readings, ids, created, cores, memory * fraction, options, bad)
        if unknown:
            notes.append(f"{unknown} CPU readings for VMs not in the vmtable were ignored")
        if usage is None or len(usage) == 0:
            notes.append("no CPU readings match the vmtable's VMs: each VM uses its lifetime average")
            usage = None
    instances = canonical(
        "azure", id=ids, submit_s=created, duration_s=duration, cpu_cores=cores, memory_gib=memory,
        cpu_used=vms["avgcpu"].to_numpy(float) / 100.0 * cores, memory_used_gib=memory * fraction,
        priority=(category == "Interactive").to_numpy(np.int64))
    return TraceData(instances, usage, "azure", "", dropped=dropped, notes=notes)


def _bucket(values: pd.Series, open_value: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(size, is-open-bucket, is-invalid) of V1 sizes and V2 buckets (``2``, ``>24``)."""
    text = values.astype(str).str.strip()
    opened = text.str.startswith(">").to_numpy(dtype=bool)
    number = pd.to_numeric(text.str.lstrip(">"), errors="coerce").to_numpy(float)
    invalid = ~np.isfinite(number) | (number <= 0)
    size = np.where(opened, np.maximum(open_value, np.nan_to_num(number)), number)
    return size, opened & ~invalid, invalid


def _readings(files: list[TraceFile], ids: np.ndarray, created: np.ndarray, cores: np.ndarray,
              memory_used: np.ndarray, options: ReaderOptions, bad: BadRows):
    index = pd.Index(ids)
    positions, offsets, cpu = [], [], []
    unknown = 0
    for tf in files:
        for block in read_blocks(tf, ["timestamp", "vmid", "avgcpu"], bad, options.block_bytes):
            p = index.get_indexer(block.values["vmid"])
            known = p >= 0
            unknown += int((~known).sum())
            p = p[known]
            positions.append(p)
            offsets.append(block.values["timestamp"][known].astype(float) - created[p])
            cpu.append(block.values["avgcpu"][known].astype(float) / 100.0 * cores[p])
    if not positions:
        return None, unknown
    p = np.concatenate(positions)
    t = np.concatenate(offsets)
    c = np.concatenate(cpu)
    return binned_usage(p, t, c, memory_used[p], ids, options.usage_step_s), unknown
