"""Requests learnt from the past, as the Kubernetes Vertical Pod Autoscaler recommends them.

A pure rule (numpy, no SimPy): the engine feeds it the usage of the instances running
at each observation, and asks it, when an instance is submitted, what that instance
should book. It learns per *key* (a job, or an image when the workload names no job)
from every instance of that key observed so far, and from nothing else; a key it has
not observed yet gets no recommendation, and the instance keeps its declared request.

It follows the VPA recommender of kubernetes/autoscaler (vertical-pod-autoscaler,
``pkg/recommender``; read at commits 115087573e (``model/aggregations_config.go``),
03934ebfcd (``logic/recommender.go``), 43e197d904 (``util/decaying_histogram.go``),
2589b9aee2 (``util/histogram.go``), 55d74adc65 (``util/histogram_options.go``),
0307fef2ad (``model/container.go``)):

- per key, a decaying histogram of CPU samples and one of memory peaks, each sample's
  weight multiplied by 2^((t − reference) / half-life), half-life 24 h
  (``DefaultCPUHistogramDecayHalfLife``, ``DefaultMemoryHistogramDecayHalfLife``);
- exponential buckets, each 5 % wider than the one before
  (``DefaultHistogramBucketSizeGrowth``): CPU from a first bucket of 0.001 core up to
  1000 cores, memory from 10^7 bytes up to 10^12 bytes; a bucket lighter than
  ε = 0.001 × 0.1 counts as empty, and a percentile is the *end* of the bucket where
  the cumulative weight first reaches it (``histogram.Percentile``);
- a CPU sample weighs the instance's CPU request, at least 0.1 (``minSampleWeight``,
  ``AggregateContainerState.addCPUSample``);
- memory keeps one sample per instance per 24 h aggregation interval: its peak, dated
  at the interval's end (``ContainerState.addMemorySample``); an OOM kill adds a peak
  of max(request, peak) × 1.2, at least +100 MiB (``RecordOOM``, ``DefaultOOMBumpUpRatio``,
  ``DefaultOOMMinBumpUp``);
- the target is the 90th percentile of CPU samples and of memory peaks
  (``--target-cpu-percentile``, ``--target-memory-percentile``), plus a 15 % safety
  margin (``--recommendation-margin-fraction``), and at least 25 millicores and
  250 MiB per pod (``--pod-recommendation-min-cpu-millicores``,
  ``--pod-recommendation-min-memory-mb``; one container per pod here).

Risk: a target at the 90th percentile of daily peaks plus 15 % leaves about one
replica-day in ten free to peak above its booking (fewer with the margin); it is killed
only when its host then runs out of memory too. simdc states the risk as
:data:`OOM_RISK`: the recommender may OOM-kill at most that share of the instances it
places more than declared requests do (tests/realworld/test_rightsizing.py).

No clairvoyance: a sample observed at ``t`` becomes visible to recommendations only
after ``t`` (a booking decided at ``t`` uses samples from strictly before ``t``), so an
instance's booking never depends on its own usage or on anything yet to happen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

GIB = 2.0 ** 30
# The VPA recommender fetches the metrics API once a minute (kubernetes/autoscaler,
# vertical-pod-autoscaler/pkg/recommender/main.go: --recommender-interval=1m, "How often
# metrics should be fetched"): the usage the recommender sees, once a minute. Not
# metrics-server's scrape period: that is --metric-resolution, 15 s as metrics-server is
# deployed (simdc.engine.services.METRIC_RESOLUTION_S, which the HPA reads through; its
# bare flag default is 60 s). Each observation here is the CPU given at the minute's
# instant, not metrics-server's mean over the 15 s before it (a simplification).
OBSERVE_EVERY_S = 60.0
HALF_LIFE_S = 24 * 3600.0
MEMORY_INTERVAL_S = 24 * 3600.0
CPU_PERCENTILE = 0.9
MEMORY_PERCENTILE = 0.9
SAFETY_MARGIN = 0.15
MIN_CPU_CORES = 0.025
MIN_MEMORY_GIB = 250 * 2.0 ** 20 / GIB  # the flag is in "MB" and multiplied by 1024 × 1024: MiB
MIN_SAMPLE_WEIGHT = 0.1
EPSILON = 0.001 * MIN_SAMPLE_WEIGHT
BUCKET_GROWTH = 0.05
MAX_DECAY_EXPONENT = 100  # half-lives before the reference time moves forward
OOM_BUMP_RATIO = 1.2
OOM_MIN_BUMP_GIB = 100 * 2.0 ** 20 / GIB
OOM_RISK = 1 - CPU_PERCENTILE  # see "Risk" above: the share of replica-days above a p90 target


@dataclass(frozen=True)
class Buckets:
    """Exponential buckets: bucket 0 is [0, first), bucket n ≥ 1 starts at
    first × (ratio^n − 1) / (ratio − 1); the last starts at or above ``largest``."""

    first: float
    ratio: float
    largest: float

    @property
    def count(self) -> int:
        return int(math.ceil(math.log(self.largest * (self.ratio - 1) / self.first + 1) / math.log(self.ratio))) + 1

    def find(self, values: np.ndarray) -> np.ndarray:
        """The bucket of each value (values past the last bucket go in the last)."""
        values = np.asarray(values, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            index = np.floor(np.log(values * (self.ratio - 1) / self.first + 1) / math.log(self.ratio))
        index = np.where(values < self.first, 0, index)
        return np.clip(index, 0, self.count - 1).astype(np.int64)

    def start(self, index: int) -> float:
        return 0.0 if index == 0 else self.first * (self.ratio ** index - 1) / (self.ratio - 1)


CPU_BUCKETS = Buckets(0.001, 1 + BUCKET_GROWTH, 1000.0)  # cores
MEMORY_BUCKETS = Buckets(1e7 / GIB, 1 + BUCKET_GROWTH, 1e12 / GIB)  # GiB


class DecayingHistograms:
    """One decaying histogram per row (a key), as VPA's ``decayingHistogram``: rows grow
    as keys appear. Each row keeps its own reference time, a multiple of the half-life."""

    def __init__(self, buckets: Buckets, half_life_s: float):
        self.buckets = buckets
        self.half_life_s = half_life_s
        self.weight = np.zeros((0, buckets.count))
        self.reference = np.zeros(0)
        self.started = np.zeros(0, dtype=bool)

    def _grow(self, rows: np.ndarray) -> None:
        need = int(rows.max()) + 1 if len(rows) else 0
        have = len(self.reference)
        if need <= have:
            return
        size = max(need, 2 * have, 16)
        self.weight = np.vstack([self.weight, np.zeros((size - have, self.buckets.count))])
        self.reference = np.concatenate([self.reference, np.zeros(size - have)])
        self.started = np.concatenate([self.started, np.zeros(size - have, dtype=bool)])

    def _decay(self, rows: np.ndarray, t_s: np.ndarray) -> np.ndarray:
        """2^((t − reference) / half-life) per sample, after moving the reference of a
        row forward (rescaling its weights) where the exponent would pass 100."""
        hl = self.half_life_s
        late = ~self.started[rows] | (t_s > self.reference[rows] + hl * MAX_DECAY_EXPONENT)
        for row, t in zip(rows[late].tolist(), t_s[late].tolist()):
            if self.started[row] and t <= self.reference[row] + hl * MAX_DECAY_EXPONENT:
                continue  # moved already by an earlier sample of this batch
            new = math.floor(t / hl + 0.5) * hl  # Go's Time.Round(halfLife)
            if self.started[row]:
                self.weight[row] *= 2.0 ** math.floor((self.reference[row] - new) / hl + 0.5)
            self.reference[row] = new
            self.started[row] = True
        return np.exp2((t_s - self.reference[rows]) / hl)

    def add(self, rows, values, weights, t_s) -> None:
        """Add samples: ``rows``, ``values``, ``weights`` and ``t_s`` (seconds) aligned."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return
        self._grow(rows)
        t_s = np.broadcast_to(np.asarray(t_s, dtype=float), rows.shape)
        factor = self._decay(rows, t_s)
        np.add.at(self.weight, (rows, self.buckets.find(values)), np.asarray(weights, dtype=float) * factor)

    def subtract(self, rows, values, weights, t_s) -> None:
        """Take samples out again; a bucket left within ε of empty is emptied
        (``histogram.SubtractSample``)."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return
        t_s = np.broadcast_to(np.asarray(t_s, dtype=float), rows.shape)
        factor = self._decay(rows, t_s)
        buckets = self.buckets.find(values)
        np.subtract.at(self.weight, (rows, buckets), np.asarray(weights, dtype=float) * factor)
        touched = self.weight[rows, buckets]
        self.weight[rows, buckets] = np.where(touched < EPSILON, 0.0, touched)

    def percentile(self, row: int, p: float) -> float | None:
        """The end of the bucket where the cumulative weight first reaches ``p`` (0-1) of
        the total, or the start of the last bucket; None for an empty histogram."""
        if row < 0 or row >= len(self.reference):
            return None
        weight = self.weight[row]
        full = np.flatnonzero(weight >= EPSILON)
        if not len(full):
            return None
        low, high = int(full[0]), int(full[-1])
        partial = np.cumsum(weight[low:high + 1])
        reached = np.flatnonzero(partial >= p * weight.sum())
        bucket = low + int(reached[0]) if len(reached) else high
        if bucket < self.buckets.count - 1:
            return self.buckets.start(bucket + 1)
        return self.buckets.start(bucket)


class Recommender:
    """The VPA recommender over ``keys`` keys (0 … keys − 1) and ``instances`` instances
    (0 … instances − 1), in cores and GiB, times in seconds (module docstring).

    Parameters
    ----------
    keys, instances
        How many keys (jobs or images) and instances the caller numbers.
    half_life_s, memory_interval_s
        The histograms' half-life and the memory aggregation interval, seconds (> 0).
    cpu_percentile, memory_percentile
        Target percentiles, in (0, 1].
    margin
        Safety margin, a fraction added to the percentile.
    min_cpu_cores, min_memory_gib
        The least it recommends.
    """

    def __init__(self, keys: int, instances: int, *, half_life_s: float = HALF_LIFE_S,
                 memory_interval_s: float = MEMORY_INTERVAL_S, cpu_percentile: float = CPU_PERCENTILE,
                 memory_percentile: float = MEMORY_PERCENTILE, margin: float = SAFETY_MARGIN,
                 min_cpu_cores: float = MIN_CPU_CORES, min_memory_gib: float = MIN_MEMORY_GIB):
        if half_life_s <= 0 or memory_interval_s <= 0:
            raise ValueError("half_life_s and memory_interval_s must be > 0")
        if not (0 < cpu_percentile <= 1 and 0 < memory_percentile <= 1):
            raise ValueError("percentiles must be in (0, 1]")
        self.keys = keys
        self.cpu = DecayingHistograms(CPU_BUCKETS, half_life_s)
        self.memory = DecayingHistograms(MEMORY_BUCKETS, half_life_s)
        self.memory_interval_s = memory_interval_s
        self.cpu_percentile, self.memory_percentile = cpu_percentile, memory_percentile
        self.margin, self.min_cpu_cores, self.min_memory_gib = margin, min_cpu_cores, min_memory_gib
        # per instance: the end of its current memory interval, its peak and OOM peak there
        self.window_end = np.full(instances, np.nan)
        self.peak = np.zeros(instances)
        self.oom_peak = np.zeros(instances)
        self.pending: list[tuple[float, tuple]] = []  # observed, not yet visible

    # --- feeding it ----------------------------------------------------------------

    def observe(self, now: float, instances, keys, cpu, mem, cpu_request) -> None:
        """Usage of running instances at ``now`` (seconds): aligned arrays of instance
        numbers (distinct), their keys (negative: learn nothing), CPU used (cores),
        memory used (GiB), and their CPU requests (cores; a CPU sample's weight).
        Visible to recommendations made after ``now``."""
        self._flush(now)
        self.pending.append((float(now), ("usage", np.asarray(instances, np.int64), np.asarray(keys, np.int64),
                                          np.asarray(cpu, float), np.asarray(mem, float),
                                          np.asarray(cpu_request, float))))

    def oom(self, now: float, instance: int, key: int, request_gib: float) -> None:
        """Instance ``instance`` of ``key`` was OOM-killed at ``now`` with a memory
        request of ``request_gib`` (VPA's ``RecordOOM``). Visible after ``now``."""
        self._flush(now)
        self.pending.append((float(now), ("oom", int(instance), int(key), float(request_gib))))

    def _flush(self, now: float) -> None:
        """Take in what was observed before ``now``, in the order it was observed."""
        if not self.pending or self.pending[0][0] >= now:
            return
        keep = []
        for t, item in self.pending:
            if t >= now:
                keep.append((t, item))
            elif item[0] == "usage":
                self._usage(t, *item[1:])
            else:
                self._oom(t, *item[1:])
        self.pending = keep

    def _usage(self, t, instances, keys, cpu, mem, cpu_request) -> None:
        known = keys >= 0
        instances, keys, cpu, mem, cpu_request = (a[known] for a in (instances, keys, cpu, mem, cpu_request))
        self.cpu.add(keys, cpu, np.maximum(cpu_request, MIN_SAMPLE_WEIGHT), t)
        self._memory(t, instances, keys, mem, oom=False)

    def _oom(self, t, instance, key, request_gib) -> None:
        if key < 0:
            return
        used = max(request_gib, self.peak[instance])
        needed = max(used + OOM_MIN_BUMP_GIB, used * OOM_BUMP_RATIO)
        self._memory(t, np.array([instance]), np.array([key]), np.array([needed]), oom=True)

    def _memory(self, t: float, inst: np.ndarray, keys: np.ndarray, mem: np.ndarray, oom: bool) -> None:
        """One peak per instance per interval, dated at the interval's end; a higher
        sample within the interval replaces the peak (``addMemorySample``)."""
        end = self.window_end[inst]
        first = np.isnan(end)
        inside = ~first & (t < end)
        old = np.maximum(self.peak[inst], self.oom_peak[inst])
        replace = inside & (old != 0) & (mem > old)
        self.memory.subtract(keys[replace], old[replace], 1.0, end[replace])
        later = ~first & ~inside
        shifted = end + np.floor((t - end) / self.memory_interval_s) * self.memory_interval_s + self.memory_interval_s
        end = np.where(first, t + self.memory_interval_s, np.where(later, shifted, end))
        self.window_end[inst] = end
        reset = first | later
        self.peak[inst[reset]] = 0.0
        self.oom_peak[inst[reset]] = 0.0
        new = reset | replace
        self.memory.add(keys[new], mem[new], 1.0, end[new])
        (self.oom_peak if oom else self.peak)[inst[new]] = mem[new]

    # --- asking it -----------------------------------------------------------------

    def recommend(self, key: int, now: float) -> tuple[float, float] | None:
        """(CPU cores, memory GiB) to request for a new instance of ``key`` at ``now``,
        from samples observed before ``now``; None while ``key`` has none (or is < 0)."""
        self._flush(now)
        if key < 0:
            return None
        cpu = self.cpu.percentile(key, self.cpu_percentile)
        mem = self.memory.percentile(key, self.memory_percentile)
        if cpu is None or mem is None:
            return None
        return (max(cpu * (1 + self.margin), self.min_cpu_cores),
                max(mem * (1 + self.margin), self.min_memory_gib))


def learning_keys(instances) -> np.ndarray:
    """Which earlier instances each instance learns from: a key per row of the instance
    table, shape ``(instances,)``, int64. Instances of one ``job`` share a key; without a
    job (no column, or an empty cell), instances of one ``image`` do; with neither, -1
    (nothing to learn from: the declared requests)."""
    import pandas as pd

    n = len(instances)

    def codes(column: str) -> tuple[np.ndarray, int]:
        """Per row, the number of its non-empty value in ``column`` (-1: empty), and how many."""
        if column not in instances:
            return np.full(n, -1, dtype=np.int64), 0
        code, names = pd.factorize(instances[column])
        named = np.asarray(names, dtype=object).astype(str) != ""
        renumber = np.where(named, np.cumsum(named) - 1, -1)
        return np.where(code < 0, -1, renumber[np.maximum(code, 0)] if len(names) else -1), int(named.sum())

    job, jobs = codes("job")
    image, _ = codes("image")
    return np.where(job >= 0, job, np.where(image >= 0, jobs + image, -1)).astype(np.int64)
