"""Azure Public Dataset V1 (2017) and V2 (2019) VM traces: ``vmtable`` and ``vm_cpu_readings``.

Tables (headerless CSV; a header row, as some redistributions add, is read by its names)
-------------------------------------------------------------------------------------------
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
  (the rule of the dataset's own analysis notebook). A VM deleted at the end of the
  data (the latest time of the vmtable and the readings read, :func:`.common.data_end`)
  was still running when the trace ended: its lifetime is censored there.
- Sizes: ``cpu_cores = vmcorecount``; ``memory_gib = vmmemory``. Azure's sizes are in
  GiB although the schema says GB (an A1 is 1.75 GiB), so no conversion.
- V2 (2019) gives size *buckets* instead: ``2, 4, 8, 24, >24`` cores and ``2, 4, 8,
  32, 64, >64`` GB, each the upper bound of the sizes above the bucket before it
  (bucket ``32`` holds 8 < GB <= 32). A vmtable is read as V2 when every size in it is
  a bucket value (V1's 1-core and 1.75-GB VMs, half of V1, are none). Read at the upper
  bound a 14-GB VM would reserve 32 GiB, 2.3 times its size, so by default
  (``azure_bucket_sizing = "v1_mix"``) each VM is given an exact size drawn from
  the V1 trace's sizes that lie in its bucket, in their V1 proportions
  (:data:`V1_CORE_MIX`, :data:`V1_MEMORY_MIX`): cores and memory drawn
  independently, since the V1 notebook publishes their distributions separately. A
  bucket holding no V1 size (cores 8 < n <= 24) is sized at its upper bound. The draw
  is a hash of the VM's id and the seed: the same VM gets the same size in every
  subset read with the same seed. ``azure_bucket_sizing = "upper"`` keeps the bounds
  (what a VM may use at most). The open buckets ``>24`` cores and ``>64`` GB, 0.4 % of
  V2's VMs, are sized at :data:`OPEN_BUCKETS` (the next Azure size up), an assumption,
  either way.
- CPU: percentages of the VM's own cores. ``cpu_used = avgcpu / 100 × cores`` (the
  lifetime average), and each reading's ``avgcpu / 100 × cores`` is the usage series
  (``t_s = timestamp − vmcreated``), kept as read and put onto ``usage_step_s`` by the
  replay (:func:`simdc.workload.usage.on_steps`).
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

Other tables of the V2 download (``trace_data/deployments/``: ``deploymentid,
deploymentsize``; ``trace_data/subscriptions/``: ``subscriptionid,
timestamp_first_vm_created, count_vms_created``) are recognised and left out, noted:
they describe groups of VMs the vmtable already lists.

A plain file that does not end with a line break may have been cut mid-row: its last
row is a bad row (:func:`.common.read_blocks`).

Readings for VMs not in the vmtable that was read (each of V1's 125 reading files
covers all VMs, while a vmtable may be a subset) are ignored and counted in the notes.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from simdc.errors import InputError
from simdc.workload.readers.common import (NUM, BadRows, Field, ReaderOptions, Selection, Table, TraceData,
                                           TraceFile, usage_samples, canonical, data_end, duplicate_rows, read_blocks,
                                           shown)

DEFAULT_MEMORY_USED_FRACTION = 0.30
MIN_LIFETIME_S = 300.0  # the timestamps' resolution
OPEN_BUCKETS = {"cores": 32.0, "memory": 128.0}  # ">24" cores, ">64" GB
BUCKET_SIZINGS = ("v1_mix", "upper")
DEFAULT_BUCKET_SIZING = "v1_mix"
# V2's bucket values (AzurePublicDatasetV2.md, schema items 13-14 and 19-20: "VM virtual
# core count bucket", "VM memory (GBs) bucket"); each bucket holds the sizes above the
# one before it, up to its own value.
V2_CORE_BUCKETS = (2.0, 4.0, 8.0, 24.0)
V2_MEMORY_BUCKETS = (2.0, 4.0, 8.0, 32.0, 64.0)
# The V1 (2017) trace's exact sizes, % of its 2,013,767 VMs: the Azure Public Dataset V1
# analysis notebook's "VM Cores Distribution" and "VM Memory Distribution" charts
# (analysis/Azure Public Dataset - Trace Analysis.ipynb, read from the charts, ±3
# points; CALIBRATION.md): cores 1: 50, 2: 25, 4: 11, 8: 14; GB 0.75: 2, 1.75: 48,
# 3.5: 25, 7: 11, 14: 10, 56: 4. Computed once from those: each V2 bucket's V1 sizes
# with their shares renormalised to 1 within the bucket (bucket 2 cores: 50 / 75 and
# 25 / 75; bucket 2 GB: 2 / 50 and 48 / 50). Every size of the 10-VM V1 sample in
# shared/traces/azure_v1_2017 (1 core 0.75 or 1.75 GB, 8 cores 56 GB) is among them.
V1_CORE_MIX = {
    2.0: ((1.0, 2.0), (2 / 3, 1 / 3)),
    4.0: ((4.0,), (1.0,)),
    8.0: ((8.0,), (1.0,)),
}
V1_MEMORY_MIX = {
    2.0: ((0.75, 1.75), (0.04, 0.96)),
    4.0: ((3.5,), (1.0,)),
    8.0: ((7.0,), (1.0,)),
    32.0: ((14.0,), (1.0,)),
    64.0: ((56.0,), (1.0,)),
}
CATEGORIES = ("Delay-insensitive", "Interactive", "Unknown", "Unkown")
PERCENT = dict(low=0.0, high=100.0)
VMID = r"[A-Za-z0-9+/=_-]{8,}"
# Header names of the size columns besides V1's (headers compare letters and digits only, so
# vm_id is vmid): V2's schema (AzurePublicDatasetV2.md items 13-14, "VM virtual core count
# bucket", "VM memory (GBs) bucket"), the V2 analysis notebook's (vmcorecountbucket,
# vmmemorybucket) and the redistributed subsets' (vm_virtual_core_count_bucket, vm_memory_gb_bucket).
V2_NAMES = {"vmcorecount": ("vm_virtual_core_count_bucket", "vmcorecountbucket", "vm_virtual_core_count"),
            "vmmemory": ("vm_memory_gb_bucket", "vm_memory_gbs_bucket", "vmmemorybucket", "vm_memory_gb")}
BUCKET = rf">?{NUM}"

TABLES = (
    Table("azure", "vmtable", (
        Field("vmid", "str", pattern=VMID),
        Field("subscriptionid", "str", required=False),
        Field("deploymentid", "str", required=False),
        Field("vmcreated", "int", low=0, aliases=("timestamp_vm_created",)),
        Field("vmdeleted", "int", low=0, aliases=("timestamp_vm_deleted",)),
        Field("maxcpu", required=False, **PERCENT),
        Field("avgcpu", **PERCENT),
        Field("p95maxcpu", required=False, **PERCENT),
        Field("vmcategory", "str", choices=CATEGORIES),
        Field("vmcorecount", "str", pattern=BUCKET, aliases=V2_NAMES["vmcorecount"]),
        Field("vmmemory", "str", pattern=BUCKET, aliases=V2_NAMES["vmmemory"]),
    ), extra_tail=1, hints=("vmtable",)),
    Table("azure", "vm_cpu_readings", (
        Field("timestamp", "int", low=0),
        Field("vmid", "str", pattern=VMID),
        Field("mincpu", required=False, **PERCENT),
        Field("maxcpu", required=False, **PERCENT),
        Field("avgcpu", **PERCENT),
    ), role="usage", hints=("cpu_readings", "readings")),
    Table("azure", "deployments", (
        Field("deploymentid", "str", pattern=VMID),
        Field("deploymentsize", "int", low=1),
    ), role="ignored", hints=("deployment",)),
    Table("azure", "subscriptions", (
        Field("subscriptionid", "str", pattern=VMID),
        Field("timestamp_first_vm_created", "int", low=0),
        Field("count_vms_created", "int", low=1),
    ), role="ignored", hints=("subscription",)),
)


def read(files: dict[str, list[TraceFile]], options: ReaderOptions, bad: BadRows,
         selection: Selection | None = None) -> TraceData:
    """Read Azure ``vmtable`` files (required) and ``vm_cpu_readings`` files (optional).

    ``selection.seed`` seeds the V2 bucket sizing (``azure_bucket_sizing = "v1_mix"``).

    Raises
    ------
    InputError
        No vmtable; a vmtable without a valid VM (only a header, or every row bad and
        skipped); bad rows (strict); an unknown ``azure_bucket_sizing``.
    """
    if not files.get("vmtable"):
        raise InputError("azure: no vmtable among the files given: the VMs' sizes and lifetimes are there "
                         "(vm_cpu_readings alone has no sizes)")
    sizing = options.azure_bucket_sizing or DEFAULT_BUCKET_SIZING
    if sizing not in BUCKET_SIZINGS:
        raise InputError(f"azure_bucket_sizing: must be one of {', '.join(BUCKET_SIZINGS)} (got {sizing!r})")
    seed = selection.seed if selection is not None else 0
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
            _, _, bad_cores = _bucket(frame["vmcorecount"], OPEN_BUCKETS["cores"])
            _, _, bad_memory = _bucket(frame["vmmemory"], OPEN_BUCKETS["memory"])
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
            parts.append(frame[keep])
            wheres.append(where)
    if not parts or not sum(len(part) for part in parts):
        names = ", ".join(str(tf.path) for tf in files["vmtable"])
        skipped = sum(n for reason, n in bad.skipped.items() if reason.startswith("vmtable:"))
        raise InputError(f"{names}: no valid VMs in the vmtable"
                         + (f" (all {skipped:,} rows were bad and skipped)" if skipped else
                            " (no data rows: only a header, or empty)"))
    vms = pd.concat(parts, ignore_index=True)
    repeated = duplicate_rows(vms["vmid"])
    if len(repeated):
        bad.report("vmtable", repeated, "vmid appears more than once",
                   lambda i: wheres[int(vms["_file"].iloc[i])](vms["_row"].iloc[i]),
                   lambda i: f" ({vms['vmid'].iloc[i]!r})")
        bad.check()
        vms = vms.drop(index=repeated).reset_index(drop=True)

    created = vms["vmcreated"].to_numpy(float)
    duration = np.maximum(vms["vmdeleted"].to_numpy(float) - created, MIN_LIFETIME_S)
    ids = vms["vmid"].to_numpy(object)
    cores, open_cores, _ = _bucket(vms["vmcorecount"], OPEN_BUCKETS["cores"])
    memory, open_memory, _ = _bucket(vms["vmmemory"], OPEN_BUCKETS["memory"])
    opened = open_cores | open_memory
    if _are_v2_buckets(cores, open_cores, V2_CORE_BUCKETS) and _are_v2_buckets(memory, open_memory,
                                                                                 V2_MEMORY_BUCKETS):
        upper = (float(cores.sum()), float(memory.sum()))
        if sizing == "v1_mix":
            cores = np.where(open_cores, cores, size_in_bucket(cores, ids, V1_CORE_MIX, seed, "cores"))
            memory = np.where(open_memory, memory, size_in_bucket(memory, ids, V1_MEMORY_MIX, seed, "memory"))
            unmixed = int((~open_cores & ~np.isin(cores, [s for v in V1_CORE_MIX.values() for s in v[0]])).sum())
            notes.append(f"V2 size buckets: each VM sized from the V1 trace's sizes in its bucket "
                         f"(azure_bucket_sizing = 'v1_mix', seed {seed}): {cores.sum() / upper[0]:.0%} of the "
                         f"bounds' cores and {memory.sum() / upper[1]:.0%} of their memory in all"
                         + (f"; {unmixed} VMs of 8-24 cores (no V1 size) stay at 24" if unmixed else ""))
        else:
            notes.append("V2 size buckets: each VM sized at its bucket's upper bound (azure_bucket_sizing = "
                         "'upper'): the most it may have, not its size")
    category = vms["vmcategory"].replace({"Unkown": "Unknown"})
    if opened.any():
        notes.append(f"{int(opened.sum())} VMs in an open size bucket (>24 cores or >64 GB) sized at "
                     f"{OPEN_BUCKETS['cores']:g} cores / {OPEN_BUCKETS['memory']:g} GiB")
    mix = category.value_counts()
    notes.append("categories: " + ", ".join(f"{name} {n}" for name, n in mix.items()))

    usage = None
    readings = files.get("vm_cpu_readings", [])
    last_reading = np.nan
    if readings:
        usage, unknown, last_reading = _readings(readings, ids, created, cores, memory * fraction, options, bad)
        if unknown:
            notes.append(f"{unknown} CPU readings for VMs not in the vmtable were ignored")
        if usage is None or len(usage) == 0:
            notes.append("no CPU readings match the vmtable's VMs: each VM uses its lifetime average")
            usage = None
    # A VM still running when the trace ends is "deleted" at the trace's last timestamp:
    # its lifetime is a lower bound (censored), as in the V1/V2 notebooks' lifetime CDFs.
    deleted = vms["vmdeleted"].to_numpy(float)
    end_s = data_end(created, deleted, last_reading)
    censored = deleted >= end_s
    if censored.any():
        notes.append(f"{int(censored.sum()):,} VM lifetimes censored: still running at the end of the data read "
                     f"({end_s:,.0f} s); their duration_s is a lower bound")
    instances = canonical(
        "azure", id=ids, submit_s=created, duration_s=duration, cpu_cores=cores, memory_gib=memory,
        cpu_used=vms["avgcpu"].to_numpy(float) / 100.0 * cores, memory_used_gib=memory * fraction,
        priority=(category == "Interactive").to_numpy(np.int64), censored=censored)
    return TraceData(instances, usage, "azure", "", dropped=dropped, notes=notes)


def _are_v2_buckets(size: np.ndarray, opened: np.ndarray, buckets: tuple[float, ...]) -> bool:
    """Every size is a V2 bucket value (or an open bucket)."""
    return bool(np.isin(size[~opened], buckets).all())


def size_in_bucket(bound: np.ndarray, ids: np.ndarray, mix: dict[float, tuple[tuple[float, ...], tuple[float, ...]]],
                   seed: int, purpose: str) -> np.ndarray:
    """Exact sizes for VMs in V2 buckets: each VM's drawn from ``mix[bound]`` (sizes and
    their probabilities), by a hash of its id, ``seed`` and ``purpose``; a bound with no
    mix stays as it is.

    Parameters
    ----------
    bound
        Each VM's bucket value (its upper bound), shape (n,).
    ids
        Each VM's id, shape (n,): the same id and seed always draw the same size.

    Returns
    -------
    numpy.ndarray
        Shape (n,), in the bound's unit, each within its bucket.
    """
    key = hashlib.blake2b(f"{seed}:{purpose}".encode(), digest_size=8).hexdigest()  # 16 characters
    hashed = pd.util.hash_array(np.asarray(ids, dtype=object).astype(str).astype(object), hash_key=key)
    u = (hashed >> np.uint64(11)).astype(float) / 2.0**53  # uniform in [0, 1)
    out = np.asarray(bound, dtype=float).copy()
    for value, (sizes, shares) in mix.items():
        inside = bound == value
        if inside.any():
            edges = np.cumsum(shares) / np.sum(shares)
            out[inside] = np.asarray(sizes)[np.minimum(np.searchsorted(edges, u[inside], side="right"),
                                                       len(sizes) - 1)]
    return out


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
    """(usage table or None, readings of VMs not in ``ids``, the last timestamp read or NaN)."""
    index = pd.Index(ids)
    positions, offsets, cpu = [], [], []
    unknown = 0
    last = np.nan
    for tf in files:
        for block in read_blocks(tf, ["timestamp", "vmid", "avgcpu"], bad, options.block_bytes):
            last = data_end(last, block.values["timestamp"])
            p = index.get_indexer(block.values["vmid"])
            known = p >= 0
            unknown += int((~known).sum())
            p = p[known]
            positions.append(p)
            offsets.append(block.values["timestamp"][known].astype(float) - created[p])
            cpu.append(block.values["avgcpu"][known].astype(float) / 100.0 * cores[p])
    if not positions:
        return None, unknown, last
    p = np.concatenate(positions)
    t = np.concatenate(offsets)
    c = np.concatenate(cpu)
    return usage_samples(p, t, c, memory_used[p], ids), unknown, last
