"""A streamed platform's summary from its instance rows as they are written (issue #16).

A spilled run on the general engine streams its instance rows to Parquet a chunk at a
time (:mod:`simdc.engine.chunks`); its summary row must be :func:`simdc.metrics.summary`'s
of the whole table, to the bit, without the table. :class:`InstanceFigures` gathers what
the summary reads of the instances in two passes over the rows, neither holding them:

1. each chunk as it is written (in whatever order chunks end): counts, including the
   length of every masked array the summary sums (the instances that ran, that were
   placed, ...);
2. the rows in row order, a row group at a time, as the file is rewritten in order: each
   float sum by :class:`PairwiseSum`, numpy's own summation replayed over pieces (the
   length known from pass 1), so the figure is the one ``ndarray.sum`` gives on the whole
   column; and the values the percentiles need (start latency of the started instances,
   batch slowdown, interference slowdown of those that ran), kept whole, 8 bytes each:
   an exact percentile needs every value. Those are the only per-instance figures held,
   at most 24 bytes an instance, against ~410 of the rows read back.

:func:`summary` turns them and the platform's hosts into the summary row. Only runs
without dependencies and without moves stream (:class:`simdc.engine.simulation.Simulation`),
so neither the workflow nor the move columns arise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# numpy's pairwise summation (numpy/_core/src/umath/loops_utils.h.src, pairwise_sum):
# a block of at most 128 values is summed by 8 accumulators, a longer run split in two
# at half its length rounded down to a multiple of 8; ndarray.sum of float64 is 0.0 plus
# that over the whole array (checked against numpy by tests/test_streamed_summary.py).
_BLOCK = 128
_UNROLL = 8


class PairwiseSum:
    """``numpy.sum`` of ``n`` float64 values, to the bit, given the values in order in
    pieces of any length (:meth:`add`); holds one float per block of about 64–128 values.

    Raises ValueError if more than ``n`` values are given, or :attr:`total` is read
    before all ``n`` are."""

    def __init__(self, n: int):
        self.n = n
        self.levels = _levels(n)  # block lengths level by level, the leaves last
        self.lengths = self.levels[-1]
        self.ends = np.cumsum(self.lengths)
        self.sums = np.empty(len(self.lengths))
        self.done = 0  # blocks summed
        self.seen = 0  # values given
        self.pending = np.empty(0)  # given, their block not complete yet

    def add(self, values: np.ndarray) -> None:
        """The next values (float64, in order)."""
        values = np.asarray(values, dtype=np.float64)
        if self.seen + len(values) > self.n:
            raise ValueError(f"PairwiseSum: more than {self.n} values given")
        self.seen += len(values)
        held = np.concatenate([self.pending, values]) if len(self.pending) else values
        first = self.ends[self.done - 1] if self.done else 0  # the row of held[0]
        last = int(np.searchsorted(self.ends, self.seen, side="right"))  # blocks complete now
        for length in np.unique(self.lengths[self.done:last]):
            which = np.flatnonzero(self.lengths[self.done:last] == length) + self.done
            starts = self.ends[which] - length - first
            self.sums[which] = _block_sums(held[starts[:, None] + np.arange(length)])
        used = (self.ends[last - 1] - first) if last > self.done else 0
        self.pending = held[used:].copy()
        self.done = last

    @property
    def total(self) -> float:
        """The sum, as ``numpy.sum`` of the ``n`` values gives it."""
        if self.seen != self.n:
            raise ValueError(f"PairwiseSum: {self.seen} of {self.n} values given")
        if self.n == 0:
            return 0.0
        sums = self.sums
        for level in reversed(self.levels[:-1]):  # each split block: its halves' sums added
            split = level > _BLOCK
            at = np.cumsum(1 + split) - (1 + split)  # its first half among the level below
            sums = np.where(split, sums[at] + sums[np.minimum(at + 1, len(sums) - 1)], sums[at])
        return float(0.0 + sums[0])


def _levels(n: int) -> list[np.ndarray]:
    """The block lengths of numpy's pairwise summation of ``n`` values, level by level
    from ``[n]`` down to the blocks summed directly (every one at most :data:`_BLOCK`)."""
    levels = [np.array([n], dtype=np.int64)]
    while (levels[-1] > _BLOCK).any():
        sizes = levels[-1]
        split = sizes > _BLOCK
        half = sizes // 2
        half -= half % _UNROLL
        left = np.where(split, half, sizes)
        pairs = np.stack([left, sizes - left], axis=1)
        levels.append(pairs[np.stack([np.ones_like(split), split], axis=1)])  # a block not split: one
    return levels


def _block_sums(blocks: np.ndarray) -> np.ndarray:
    """numpy's sum of each row of ``blocks`` (rows of one length, at most :data:`_BLOCK`),
    the operations of pairwise_sum's direct case applied to every row at once."""
    length = blocks.shape[1]
    if length < _UNROLL:
        result = np.zeros(len(blocks))
        for i in range(length):
            result += blocks[:, i]
        return result
    r = blocks[:, :_UNROLL].copy()
    body = length - length % _UNROLL
    for i in range(_UNROLL, body, _UNROLL):
        r += blocks[:, i:i + _UNROLL]
    result = ((r[:, 0] + r[:, 1]) + (r[:, 2] + r[:, 3])) + ((r[:, 4] + r[:, 5]) + (r[:, 6] + r[:, 7]))
    for i in range(body, length):
        result += blocks[:, i]
    return result


class _Totals(dict):
    """Each :class:`PairwiseSum`'s total of ``sums``, taken when first read."""

    def __init__(self, sums: dict[str, PairwiseSum]):
        super().__init__()
        self.sums = sums

    def __missing__(self, name: str) -> float:
        self[name] = value = self.sums[name].total
        return value


def _no_nan(values: np.ndarray) -> np.ndarray:
    """NaN as 0: what :func:`simdc.metrics._mean`, ``Series.sum`` and ``np.nansum`` sum."""
    return np.where(np.isnan(values), 0.0, values)


# The float sums of the summary and its costs: name -> the mask of the rows summed (None:
# every row). Each figure of metrics.summary (and of simdc.cost.platform_costs) that sums
# floats is one of these, summed over the same values in the same order.
_SUMS = {
    "resident": None,  # mean_instances: resident_s (or the stays, without it)
    "queue": None,  # queue_mean_s: queue_s, NaN as 0
    "requeue": "failure_killed",  # requeue_mean_s
    "pull": None,  # pull_s_mean
    "fragmentation": None,  # fragmentation_gib_mean
    "interference": "ran",  # interference_slowdown_mean
    "degraded": "ran",  # degraded_share's numerator
    "run_ran": "ran",  # and denominator
    "lost": None,  # lost_work_core_s (Series.sum: NaN as 0)
    "run_asked": "asked",  # service_availability's numerator
    "requested": "asked",  # and denominator
    "cpu_booked_need": "placed",  # size over need (VMs): stay × need
    "cpu_over": "placed",  # stay × (size − need)
    "mem_booked_need": "placed",
    "mem_over": "placed",
    "resident_nansum": None,  # simdc.cost.platform_costs: licences
    "run_nansum": None,  # and instance-hours served
}
_COUNTS = ("submitted", "placed", "replaced", "unplaceable", "oom_kills", "restarts", "cold_starts", "warm_starts",
           "failure_kills", "queue_n", "requeue_n", "pull_n", "fragmentation_n", "interference_n")
_UNPLACEABLE_COLUMNS = ("platform", "unplaceable", "vm_vcpus", "vm_memory_gib", "booked_cpu", "booked_memory_gib")
# the columns pass 2 reads (InstanceFigures.add)
_READ = ("submit_s", "admit_s", "ready_s", "first_ready_s", "end_s", "queue_s", "pull_s", "slowdown",
         "free_mem_gib_at_failure", "run_s", "requested_s", "interference_slowdown", "degraded_s", "failure_kills",
         "lost_core_s", "resident_s", "requeue_s", "preexisting", *_UNPLACEABLE_COLUMNS)


class InstanceFigures:
    """What :func:`simdc.metrics.summary`, :func:`simdc.cost.platform_costs` and
    :func:`simdc.experiment.unplaceable_warnings` read of one platform's ``rows`` instance
    rows (module docstring): :meth:`count` each chunk's rows (a DataFrame of the engine's
    instance table, any order), then :meth:`add` every row in row order (DataFrames of
    consecutive rows from the first). ``duration_s``: the run's horizon (s);
    ``requests``: the workload the rows are of (``cpu_cores``, ``memory_gib``), for the
    VM size over need."""

    def __init__(self, rows: int, duration_s: float, requests: pd.DataFrame | None):
        self.rows, self.duration_s, self.requests = rows, duration_s, requests
        self.masks = {"failure_killed": 0, "ran": 0, "asked": 0, "placed": 0}
        self.outcomes: dict[str, int] = {}
        self.counts = dict.fromkeys(_COUNTS, 0)
        self.sums: dict[str, PairwiseSum] | None = None  # once every row is counted
        self.quantiles: dict[str, list[np.ndarray]] = {"start": [], "slowdown": [], "interference": []}
        self.columns: set[str] = set()
        self.vm_size_nan = False  # some placed VM without a size (no size over need then)
        self.vm_vcpus_all = True  # every row has vm_vcpus (unplaceable_warnings' test)
        self.unplaceable_rows: list[pd.DataFrame] = []
        self.added = 0  # rows given in order so far

    def count(self, chunk: pd.DataFrame) -> None:
        """One chunk's rows, as written (pass 1: counts and the masks' lengths)."""
        self.columns = set(chunk.columns)
        columns = self.columns
        for name, count in chunk["outcome"].value_counts().items():
            self.outcomes[name] = self.outcomes.get(name, 0) + int(count)
        masks, counts = self._masks(chunk), self.counts
        for name, mask in masks.items():
            self.masks[name] += int(mask.sum())
        counts["submitted"] += len(chunk)
        counts["placed"] += int(masks["placed"].sum())
        if "replacements" in columns:
            counts["replaced"] += int((chunk["replacements"] > 0).sum())
        if "unplaceable" in columns:
            counts["unplaceable"] += int(chunk["unplaceable"].sum())
        counts["oom_kills"] += int(chunk["oom_kills"].to_numpy().sum())
        counts["restarts"] += int(chunk["restarts"].to_numpy().sum())
        cold = chunk["cold_start"].to_numpy()
        counts["cold_starts"] += int(cold.sum())
        counts["warm_starts"] += int((self._started(chunk) & ~cold).sum())
        counts["failure_kills"] += int(chunk["failure_kills"].sum())
        for name, column, mask in (("queue_n", "queue_s", None), ("pull_n", "pull_s", None),
                                   ("fragmentation_n", "free_mem_gib_at_failure", None),
                                   ("interference_n", "interference_slowdown", masks["ran"])):
            values = chunk[column].to_numpy(float)
            counts[name] += int((~np.isnan(values if mask is None else values[mask])).sum())
        if "requeue_s" in columns and "failure_kills" in columns:
            counts["requeue_n"] += int((~np.isnan(chunk["requeue_s"].to_numpy(float)[masks["failure_killed"]])).sum())

    def add(self, rows: pd.DataFrame) -> None:
        """The next rows in row order (pass 2: the float sums and the percentiles' values)."""
        if self.sums is None:
            self.sums = {name: PairwiseSum(self.rows if mask is None else self.masks[mask])
                         for name, mask in _SUMS.items()}
        lo, hi = self.added, self.added + len(rows)
        self.added = hi
        sums, masks, duration_s = self.sums, self._masks(rows), self.duration_s
        ran, asked, placed = masks["ran"], masks["asked"], masks["placed"]

        def column(name: str) -> np.ndarray:
            return rows[name].to_numpy(float)

        admit, end = column("admit_s"), column("end_s")
        stay = np.minimum(np.where(np.isnan(end[placed]), duration_s, end[placed]), duration_s) - admit[placed]
        sums["resident"].add(column("resident_s") if "resident_s" in rows else stay)
        sums["queue"].add(_no_nan(column("queue_s")))
        if "requeue_s" in rows and "failure_kills" in rows:
            sums["requeue"].add(_no_nan(column("requeue_s")[masks["failure_killed"]]))
        sums["pull"].add(_no_nan(column("pull_s")))
        sums["fragmentation"].add(_no_nan(column("free_mem_gib_at_failure")))
        run_s, slowdown = column("run_s"), column("interference_slowdown")[ran]
        sums["interference"].add(_no_nan(slowdown))
        sums["degraded"].add(column("degraded_s")[ran])
        sums["run_ran"].add(run_s[ran])
        sums["lost"].add(_no_nan(column("lost_core_s")))
        sums["run_asked"].add(run_s[asked])
        sums["requested"].add(column("requested_s")[asked])
        sums["resident_nansum"].add(_no_nan(column("resident_s")) if "resident_s" in rows else np.zeros(hi - lo))
        sums["run_nansum"].add(_no_nan(run_s))
        if self._sized():
            for key, size_column, need_column in (("cpu", "vm_vcpus", "cpu_cores"),
                                                  ("mem", "vm_memory_gib", "memory_gib")):
                size = column(size_column)[placed]
                need = self.requests[need_column].to_numpy(float)[lo:hi][placed]
                self.vm_size_nan |= bool(np.isnan(size).any())
                sums[f"{key}_booked_need"].add(stay * need)
                sums[f"{key}_over"].add(stay * (size - need))
        started = self._started(rows)
        ready = column("first_ready_s" if "first_ready_s" in rows else "ready_s")
        self.quantiles["start"].append(ready[started] - column("submit_s")[started])
        for name, values in (("slowdown", column("slowdown")), ("interference", slowdown)):
            self.quantiles[name].append(values[~np.isnan(values)])
        if "vm_vcpus" in rows:
            self.vm_vcpus_all &= bool(rows["vm_vcpus"].notna().all())
        if "unplaceable" in rows and rows["unplaceable"].any():
            kept = rows.loc[rows["unplaceable"].to_numpy(bool), [c for c in _UNPLACEABLE_COLUMNS if c in rows]]
            self.unplaceable_rows.append(kept.set_axis(np.flatnonzero(rows["unplaceable"].to_numpy(bool)) + lo))

    def add_arrow(self, rows) -> None:
        """:meth:`add` of an Arrow table's rows (the columns it reads converted as
        ``pandas.read_parquet`` would)."""
        self.add(rows.select([name for name in rows.column_names if name in _READ]).to_pandas())

    def held_bytes(self) -> int:
        """Bytes of the arrays held (the percentiles' values, the sums' blocks, the
        unplaceable rows): what the figures cost per row, which tests bound."""
        arrays = [a for values in self.quantiles.values() for a in values]
        for total in (self.sums or {}).values():
            arrays += [total.sums, total.ends, total.lengths, total.pending, *total.levels]
        return (sum(a.nbytes for a in arrays)
                + sum(int(t.memory_usage(deep=True).sum()) for t in self.unplaceable_rows))

    def _masks(self, rows: pd.DataFrame) -> dict[str, np.ndarray]:
        run_s = rows["run_s"].to_numpy(float)
        return {"failure_killed": (rows["failure_kills"].to_numpy() > 0 if "failure_kills" in rows
                                   else np.zeros(len(rows), bool)),
                "ran": run_s > 0, "asked": ~np.isnan(rows["requested_s"].to_numpy(float)),
                "placed": ~np.isnan(rows["admit_s"].to_numpy(float))}

    @staticmethod
    def _started(rows: pd.DataFrame) -> np.ndarray:
        started = ~np.isnan(rows["first_ready_s" if "first_ready_s" in rows else "ready_s"].to_numpy(float))
        if "preexisting" in rows:
            started &= ~rows["preexisting"].to_numpy(bool)
        return started

    def _sized(self) -> bool:
        """Whether :func:`simdc.metrics.size_over_need` applies (VM sizes, the requests aligned)."""
        return self.requests is not None and "vm_vcpus" in self.columns and len(self.requests) == self.rows

    def instance_metrics(self, peak_instances: int) -> dict[str, float]:
        """:func:`simdc.metrics.instance_metrics`, :func:`~simdc.metrics.isolation_metrics`
        and :func:`~simdc.metrics.size_over_need` of the rows, to the bit."""
        from simdc.metrics import _quantiles

        if self.added != self.rows:
            raise ValueError(f"InstanceFigures: {self.added} of {self.rows} rows added")
        # each sum taken when a figure reads it: one the table's columns never fed is never read
        total = _Totals(self.sums)
        counts, outcomes = self.counts, self.outcomes
        submitted = counts["submitted"]
        quantiles = {name: np.concatenate(values) if values else np.empty(0)
                     for name, values in self.quantiles.items()}

        def mean(name: str) -> float:
            n = counts[f"{name}_n"]
            return float(total[name] / n) if n else np.nan

        figures = {
            "submitted": submitted,
            "placed": counts["placed"],
            **{name: int(outcomes.get(name, 0)) for name in
               ("rejected", "completed", "running_at_end", "queued_at_end", "oom_killed", "evicted", "failed",
                "requeued_at_end")},
            "rejection_rate": outcomes.get("rejected", 0) / submitted if submitted else np.nan,
            "replaced": counts["replaced"],
            "unplaceable": counts["unplaceable"],
            "peak_instances": int(peak_instances),
            "mean_instances": float(total["resident"] / self.duration_s),
            "queue_mean_s": mean("queue"),
            "requeue_mean_s": mean("requeue") if {"requeue_s", "failure_kills"} <= self.columns else np.nan,
            **_quantiles(quantiles["start"], "start_p", (50, 95, 99), "_s"),
            **_quantiles(quantiles["slowdown"], "batch_slowdown_p", (50, 95, 99)),
            "oom_kills": counts["oom_kills"],
            "restarts": counts["restarts"],
            "cold_starts": counts["cold_starts"],
            "warm_starts": counts["warm_starts"],
            "pull_s_mean": mean("pull"),
            "fragmentation_gib_mean": mean("fragmentation"),
            "interference_slowdown_mean": mean("interference"),
            **_quantiles(quantiles["interference"], "interference_slowdown_p", (95, 99)),
            "degraded_share": float(total["degraded"] / total["run_ran"]) if self.masks["ran"] else np.nan,
            "failure_kills": counts["failure_kills"],
            "lost_work_core_s": float(total["lost"]),
            "service_availability": (float(total["run_asked"] / total["requested"]) if total["requested"] > 0
                                     else np.nan),
        }
        over = {"vm_cpu_over_need": np.nan, "vm_mem_over_need": np.nan}
        if self._sized() and not self.vm_size_nan and total["cpu_booked_need"] > 0 and total["mem_booked_need"] > 0:
            over = {f"vm_{key}_over_need": float(total[f"{key}_over"] / total[f"{key}_booked_need"])
                    for key in ("cpu", "mem")}
        return {**figures, **over}

    def instances_for_costs(self) -> pd.DataFrame:
        """A one-row stand-in for the instances in :func:`simdc.cost.platform_costs`, which
        reads only the NaN-skipping sums of ``resident_s`` and ``run_s`` (``np.nansum`` of
        one value is that value)."""
        return pd.DataFrame({"resident_s": [self.sums["resident_nansum"].total],
                             "run_s": [self.sums["run_nansum"].total]})

    def unplaceable(self) -> pd.DataFrame:
        """The unplaceable rows, indexed by row, with the columns
        :func:`simdc.experiment.unplaceable_warnings` reads of them; ``vm_vcpus`` NaN in
        the first when some row of the whole table has none (the test it makes of all rows)."""
        if not self.unplaceable_rows:
            return pd.DataFrame(columns=[c for c in _UNPLACEABLE_COLUMNS if c in self.columns])
        table = pd.concat(self.unplaceable_rows)
        if "vm_vcpus" in table and not self.vm_vcpus_all:
            table.iloc[0, table.columns.get_loc("vm_vcpus")] = np.nan
        return table


def summary(figures: InstanceFigures, hosts: pd.DataFrame) -> pd.DataFrame:
    """One platform's :func:`simdc.metrics.summary` row from its :class:`InstanceFigures`
    and its hosts table (which gives the engine's ``fleet_peak_resident``), to the bit."""
    from simdc.metrics import SUMMARY_COLUMNS, host_metrics

    platform = hosts["platform"].iloc[0]
    of_hosts = host_metrics(hosts)
    if "fleet_peak_resident" not in of_hosts:
        raise ValueError("streamed summary: the hosts table has no fleet_peak_resident (the general engine's)")
    peak = of_hosts.pop("fleet_peak_resident")
    row = {"platform": platform, **figures.instance_metrics(peak), **of_hosts}
    row["blast_radius_mean"] = row["failure_kills"] / row["failures"] if row["failures"] else np.nan
    return pd.DataFrame([row], columns=list(SUMMARY_COLUMNS))
