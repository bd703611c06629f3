"""Usage over time: what each running instance demands, as a function of its age.

The engine asks, at each usage step, for the CPU (cores) and memory (GiB) of many
running instances at once, given each one's age (seconds since it last started). Three
models answer, all vectorised:

- :class:`ConstantUsage`: each instance's mean usage, for its whole life.
- :class:`SeriesUsage`: a usage table (``id, t_s, cpu_cores, memory_gib``), resampled
  once to a fixed step; the last value holds past the end of a series.
- :class:`SyntheticUsage`: the mean times a shared diurnal factor times lognormal noise.
  The noise is a counter-based hash of (seed, instance, step), so it is never stored
  (memory grows with instances, not with instances × steps) and an instance uses the
  same at the same age on every platform.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from statistics import NormalDist

import numpy as np
import pandas as pd

from simdc.errors import InputError

DAY_S = 86400.0
_INV_CDF = NormalDist().inv_cdf
# The noise's σ are calibrated on 5-minute averages (Azure 2019 VM CPU readings, Bitbrains
# Rnd memory: CALIBRATION.md), so the noise is drawn once per 5-minute window of an
# instance's age, whatever the usage step: a finer step resolves the diurnal shape and
# the engine's reactions more finely without drawing the calibrated noise more often.
NOISE_WINDOW_S = 300.0


def step_sigma(sigma: float, step_s: float) -> float:
    """σ of the lognormal noise of a ``step_s`` average, given σ of 5-minute averages.

    A step longer than :data:`NOISE_WINDOW_S` averages n = step_s / 300 independent
    windows, each lognormal with mean 1 and variance e^{σ²} − 1; the average has mean 1
    and variance (e^{σ²} − 1) / n, and the lognormal with those two moments has
    σ_step² = ln(1 + (e^{σ²} − 1) / n). (Matching the first two moments, not the shape:
    an assumption.) Steps of 5 minutes or less keep σ.
    """
    if step_s <= NOISE_WINDOW_S or sigma == 0:
        return sigma
    return math.sqrt(math.log1p(math.expm1(sigma * sigma) * NOISE_WINDOW_S / step_s))


class ConstantUsage:
    """Each instance uses its mean (``cpu_used``, ``memory_used_gib``) while running."""

    step_s: float | None = None

    def __init__(self, cpu: np.ndarray, mem: np.ndarray):
        self.cpu, self.mem = cpu, mem

    def at(self, inst: np.ndarray, age_s: np.ndarray, now: float) -> tuple[np.ndarray, np.ndarray]:
        return self.cpu[inst], self.mem[inst]

    def at_one(self, i: int, age_s: float, now: float) -> tuple[float, float]:
        return float(self.cpu[i]), float(self.mem[i])

    def scaled_cpu(self, factor: float) -> "ConstantUsage":
        """The same usage with every CPU value × ``factor`` (memory unchanged)."""
        return ConstantUsage(self.cpu * factor, self.mem)

    def start_usage(self) -> Callable[[int, float], tuple[float, float]]:
        """A function ``(i, now) -> (cpu, mem)``: :meth:`at_one` at age 0, the same numbers,
        for an engine that asks once per start (plain Python floats from memoryviews)."""
        cpu, mem = memoryview(np.ascontiguousarray(self.cpu, dtype=float)), memoryview(
            np.ascontiguousarray(self.mem, dtype=float))
        return lambda i, now: (cpu[i], mem[i])

    def quantile(self, q: float) -> tuple[np.ndarray, np.ndarray]:
        """Each instance's q-quantile of (CPU, memory) over its life: its mean, here."""
        return self.cpu, self.mem

    def upper(self) -> tuple[np.ndarray, np.ndarray]:
        """The most (CPU, memory) each instance can ever use."""
        return self.cpu, self.mem

    def at_start(self, inst: np.ndarray, start_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Usage at age 0 of instances started at ``start_s`` (an array of times)."""
        return self.cpu[inst], self.mem[inst]


class SeriesUsage:
    """Usage series per instance on a fixed step (compressed sparse rows)."""

    def __init__(self, ptr: np.ndarray, cpu: np.ndarray, mem: np.ndarray, step_s: float,
                 fallback: ConstantUsage):
        self.ptr, self.cpu, self.mem, self.step_s = ptr, cpu, mem, float(step_s)
        self.length = np.diff(ptr)
        self.fallback = fallback  # instances without a series use their means

    @classmethod
    def from_table(cls, table: pd.DataFrame, ids: pd.Series, step_s: float,
                   fallback: ConstantUsage) -> "SeriesUsage":
        """Resample ``table`` onto ``step_s`` for the instances ``ids`` (workload order).

        ``table`` holds usage rows of instances in ``ids`` only, with ids of the same type.
        The value at age ``k·step`` is the last sample at or before it (the first sample
        covers earlier ages): a step function, as traces of 5-minute averages are. Built
        with array operations only, so traces of 10^5 instances and more take seconds.
        """
        row = pd.Index(ids).get_indexer(table["id"])
        k = np.floor(table["t_s"].to_numpy(float) / step_s).astype(np.int64)
        cpu_in, mem_in = table["cpu_cores"].to_numpy(float), table["memory_gib"].to_numpy(float)
        order = np.lexsort((np.arange(len(row)), k, row))
        row, k, cpu_in, mem_in = row[order], k[order], cpu_in[order], mem_in[order]
        last = np.ones(len(row), dtype=bool)  # of repeated (row, k), the last one read wins
        last[:-1] = (row[1:] != row[:-1]) | (k[1:] != k[:-1])
        row, k, cpu_in, mem_in = row[last], k[last], cpu_in[last], mem_in[last]
        n = len(ids)
        length = np.ones(n, dtype=np.int64)  # one fallback slot for rows without a series
        has = np.zeros(n, dtype=bool)
        ends = np.flatnonzero(np.append(row[1:] != row[:-1], True))
        length[row[ends]] = k[ends] + 1
        has[row[ends]] = True
        ptr = np.concatenate(([0], np.cumsum(length)))
        cpu = np.full(ptr[-1], np.nan)
        mem = np.full(ptr[-1], np.nan)
        at = ptr[row] + k
        cpu[at], mem[at] = cpu_in, mem_in
        first = ptr[:-1]
        cpu[first[~has]] = fallback.cpu[~has]
        mem[first[~has]] = fallback.mem[~has]
        # Fill each series' gaps with its previous value, and its leading gap with its first.
        slot = np.arange(ptr[-1])
        start = np.repeat(first, length)
        given = np.zeros(ptr[-1], dtype=bool)
        given[at] = True
        given[first[~has]] = True
        previous = np.maximum.accumulate(np.where(given, slot, -1))
        following = np.minimum.accumulate(np.where(given, slot, ptr[-1])[::-1])[::-1]
        source = np.where(previous >= start, previous, following)
        return cls(ptr, cpu[source], mem[source], step_s, fallback)

    def scaled_cpu(self, factor: float) -> "SeriesUsage":
        """The same usage with every CPU value × ``factor`` (memory unchanged)."""
        return SeriesUsage(self.ptr, self.cpu * factor, self.mem, self.step_s, self.fallback.scaled_cpu(factor))

    def quantile(self, q: float) -> tuple[np.ndarray, np.ndarray]:
        """Each instance's q-quantile of (CPU, memory) over its series' steps."""
        group = np.repeat(np.arange(len(self.length)), self.length)
        frame = pd.DataFrame({"g": group, "cpu": self.cpu, "mem": self.mem}).groupby("g")
        return frame["cpu"].quantile(q).to_numpy(), frame["mem"].quantile(q).to_numpy()

    def upper(self) -> tuple[np.ndarray, np.ndarray]:
        """The most (CPU, memory) each instance can ever use: its series' maxima."""
        return np.maximum.reduceat(self.cpu, self.ptr[:-1]), np.maximum.reduceat(self.mem, self.ptr[:-1])

    def at_start(self, inst: np.ndarray, start_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Usage at age 0 (the series' first step), whenever the instance starts."""
        at = self.ptr[inst]
        return self.cpu[at], self.mem[at]

    def start_usage(self) -> Callable[[int, float], tuple[float, float]]:
        """A function ``(i, now) -> (cpu, mem)``: :meth:`at_one` at age 0 (each series' first
        step), the same numbers, for an engine that asks once per start."""
        first = self.ptr[:-1]
        cpu, mem = memoryview(np.ascontiguousarray(self.cpu[first])), memoryview(np.ascontiguousarray(self.mem[first]))
        return lambda i, now: (cpu[i], mem[i])

    def at_one(self, i: int, age_s: float, now: float) -> tuple[float, float]:
        k = min(int(age_s // self.step_s), int(self.length[i]) - 1)
        at = int(self.ptr[i]) + max(k, 0)
        return float(self.cpu[at]), float(self.mem[at])

    def at(self, inst: np.ndarray, age_s: np.ndarray, now: float) -> tuple[np.ndarray, np.ndarray]:
        k = np.minimum(np.floor(age_s / self.step_s).astype(np.int64), self.length[inst] - 1)
        at = self.ptr[inst] + np.maximum(k, 0)
        return self.cpu[at], self.mem[at]


class SyntheticUsage:
    """``usage(t) = mean × diurnal(t) × exp(σ·z − σ²/2)``, clipped at 0.

    ``z = √c·g(window) + √(1−c)·e(instance, window)``: a common shock ``g`` shared by all
    instances (correlation ``c``) and an own one ``e``, both standard normal and
    independent across noise windows. ``diurnal(t) = 1 + a·cos(2π(t − peak)/day)`` is
    shared too. The mean of the lognormal factor is 1, so each instance keeps its mean usage.

    The noise window is the larger of ``step_s`` and :data:`NOISE_WINDOW_S` (the 5 minutes
    σ is calibrated on): a step under 5 minutes reads the same draw until its window
    ends; a longer step draws once with σ of its own length's average (:func:`step_sigma`).
    So the noise an instance sees does not depend on how finely the engine steps.
    """

    def __init__(self, cpu: np.ndarray, mem: np.ndarray, *, step_s: float, seed: int,
                 cpu_burstiness: float, memory_burstiness: float, correlation: float,
                 diurnal_amplitude: float, diurnal_peak_s: float):
        self.cpu, self.mem, self.step_s = cpu, mem, float(step_s)
        self.window_s = max(self.step_s, NOISE_WINDOW_S)  # the noise is redrawn this often
        self.seed = int(seed)
        self._cache: dict[int, tuple[int, int, float]] = {}
        self._first: dict[int, np.ndarray] = {}  # per stream: every instance's own factor at age 0
        self._start: tuple[int, float, float] | None = None  # (step, shared CPU and memory factors)
        self.sigma_cpu, self.sigma_mem = step_sigma(cpu_burstiness, step_s), step_sigma(memory_burstiness, step_s)
        self.common, self.own = math.sqrt(correlation), math.sqrt(1 - correlation)
        self.amplitude, self.peak_s = diurnal_amplitude, diurnal_peak_s

    def scaled_cpu(self, factor: float) -> "SyntheticUsage":
        """The same usage (the same noise) with every CPU value × ``factor``."""
        scaled = copy.copy(self)
        scaled.cpu = self.cpu * factor
        scaled._cache, scaled._first, scaled._start = {}, {}, None  # its own caches
        return scaled

    def quantile(self, q: float) -> tuple[np.ndarray, np.ndarray]:
        """Each instance's q-quantile of (CPU, memory): lognormal, at the diurnal peak for CPU."""
        from scipy.special import ndtri  # here, not at import: ~0.3 s a trace run without usage noise never needs

        z = float(ndtri(q))
        cpu = self.cpu * (1 + self.amplitude) * math.exp(self.sigma_cpu * z - self.sigma_cpu ** 2 / 2)
        mem = self.mem * math.exp(self.sigma_mem * z - self.sigma_mem ** 2 / 2)
        return cpu, mem

    def upper(self) -> tuple[np.ndarray, np.ndarray]:
        """The most (CPU, memory) each instance can ever use: unbounded with noise."""
        cpu = self.cpu * (1 + self.amplitude) if self.sigma_cpu == 0 else np.full(len(self.cpu), np.inf)
        mem = self.mem.copy() if self.sigma_mem == 0 else np.full(len(self.mem), np.inf)
        return cpu, mem

    def at_start(self, inst: np.ndarray, start_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`at` at age 0 for instances started at different times ``start_s``."""
        step = np.floor_divide(start_s, self.window_s).astype(np.int64)
        shape = (1.0 + self.amplitude * np.cos(2 * np.pi * (start_s - self.peak_s) / DAY_S)
                 if self.amplitude else np.ones(len(inst)))
        ids, k = inst.astype(np.uint64), np.zeros(len(inst), dtype=np.uint64)
        cpu_factor, mem_factor = np.empty(len(inst)), np.empty(len(inst))
        for s in np.unique(step).tolist():  # the common shock is one per step
            these = step == s
            hashed = _hash(ids[these], k[these])
            cpu_factor[these] = self._factor(self.sigma_cpu, hashed, s, 1)
            mem_factor[these] = self._factor(self.sigma_mem, hashed, s, 2)
        return self.cpu[inst] * shape * cpu_factor, self.mem[inst] * mem_factor

    def at(self, inst: np.ndarray, age_s: np.ndarray, now: float) -> tuple[np.ndarray, np.ndarray]:
        step = int(now // self.window_s)
        k = np.floor(age_s / self.window_s).astype(np.uint64)
        shape = self._shape(now)
        hashed = _hash(inst.astype(np.uint64), k)  # the same for both streams: taken once
        cpu = self.cpu[inst] * shape * self._factor(self.sigma_cpu, hashed, step, 1)
        mem = self.mem[inst] * self._factor(self.sigma_mem, hashed, step, 2)
        return cpu, mem

    def at_one(self, i: int, age_s: float, now: float) -> tuple[float, float]:
        """:meth:`at` for one instance, in plain Python: the same numbers, 50× faster."""
        step, k = int(now // self.window_s), int(age_s // self.window_s)
        if k == 0:  # a start, the hot case: the instance's own factors times the step's shared ones
            cached = self._start
            if cached is None or cached[0] != step:
                cached = self._start = (step, self._shared(self.sigma_cpu, step, 1),
                                        self._shared(self.sigma_mem, step, 2))
            cpu_own, mem_own = self._first.get(1), self._first.get(2)
            if cpu_own is None:
                cpu_own, mem_own = self._own_first()
            shape = 1.0 if self.amplitude == 0 else self._shape(now)
            return (float(self.cpu[i]) * shape * (float(cpu_own[i]) * cached[1]),
                    float(self.mem[i]) * (float(mem_own[i]) * cached[2]))
        cpu = float(self.cpu[i]) * self._shape(now) * self._factor_one(self.sigma_cpu, i, k, step, 1)
        mem = float(self.mem[i]) * self._factor_one(self.sigma_mem, i, k, step, 2)
        return cpu, mem

    def start_usage(self) -> Callable[[int, float], tuple[float, float]]:
        """A function ``(i, now) -> (cpu, mem)``: :meth:`at_one` at age 0, the same numbers in
        the same order of operations, for an engine that asks once per start: the means and
        own factors read through memoryviews (Python floats, no numpy scalars), the step's
        shared factors kept in the closure."""
        cpu, mem = (memoryview(np.ascontiguousarray(values, dtype=float)) for values in (self.cpu, self.mem))
        cpu_own, mem_own = (memoryview(own) for own in self._own_first())
        window_s, flat = self.window_s, self.amplitude == 0
        shared = [-1, 1.0, 1.0]  # the step they are for; the CPU and memory factors

        def at_start(i: int, now: float) -> tuple[float, float]:
            step = int(now // window_s)
            if step != shared[0]:
                shared[:] = step, self._shared(self.sigma_cpu, step, 1), self._shared(self.sigma_mem, step, 2)
            shape = 1.0 if flat else self._shape(now)
            return cpu[i] * shape * (cpu_own[i] * shared[1]), mem[i] * (mem_own[i] * shared[2])

        return at_start

    def _own_first(self) -> tuple[np.ndarray, np.ndarray]:
        """Every instance's own factor at age 0, exp(σ·o·e(instance, 0)), for CPU and memory:
        computed once, vectorised."""
        if not self._first:
            ids = np.arange(len(self.cpu), dtype=np.uint64)
            for sigma, stream in ((self.sigma_cpu, 1), (self.sigma_mem, 2)):
                key, _ = self._keys(0, stream)
                own = _normal(_mix(np.uint64(key) ^ _mix(ids * np.uint64(0xD1B54A32D192ED03))))
                self._first[stream] = np.exp(sigma * self.own * own)
        return self._first[1], self._first[2]

    def _shared(self, sigma: float, step: int, stream: int) -> float:
        """The step's shared factor, exp(σ·c·g(step) − σ²/2)."""
        _, common = self._keys(step, stream)
        return math.exp(sigma * self.common * common - sigma * sigma / 2)

    def _shape(self, now: float) -> float:
        if self.amplitude == 0:
            return 1.0
        return 1.0 + self.amplitude * math.cos(2 * math.pi * (now - self.peak_s) / DAY_S)

    def _keys(self, step: int, stream: int) -> tuple[int, float]:
        """The stream's key and the common shock of ``step`` (cached: asked once per start)."""
        cached = self._cache.get(stream)
        if cached is not None and cached[0] == step:
            return cached[1], cached[2]
        key = (self.seed * 0x9E3779B97F4A7C15 + stream) & MASK
        common = _normal_one(_mix_one(key ^ _mix_one((step + 0x632BE59BD9B4E019) & MASK)))
        self._cache[stream] = (step, key, common)
        return key, common

    def _factor(self, sigma: float, hashed: np.ndarray, step: int, stream: int) -> np.ndarray:
        """exp(σ·z − σ²/2) at ``step`` for the instances and ages hashed by :func:`_hash`."""
        if sigma == 0:
            return np.ones(len(hashed))
        key, common = self._keys(step, stream)
        own = _normal(_mix(np.uint64(key) ^ hashed))
        z = self.common * common + self.own * own
        return np.exp(sigma * z - sigma * sigma / 2)

    def _factor_one(self, sigma: float, i: int, k: int, step: int, stream: int) -> float:
        if sigma == 0:
            return 1.0
        key, common = self._keys(step, stream)
        own = _normal_one(_mix_one(key ^ _mix_one((i * 0xD1B54A32D192ED03 + k) & MASK)))
        z = self.common * common + self.own * own
        return math.exp(sigma * z - sigma * sigma / 2)


MASK = (1 << 64) - 1


def _mix_one(x: int) -> int:
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def _normal_one(bits: int) -> float:
    return _INV_CDF(((bits >> 11) + 0.5) / float(1 << 53))


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijective, well-mixed hash of 64-bit integers.

    Array arithmetic on uint64 wraps around silently, which is what the hash wants.
    """
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _hash(ids: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The hash of (instance, age in steps) that each stream's key is mixed into (uint64)."""
    return _mix(ids * np.uint64(0xD1B54A32D192ED03) + k)


def _normal(bits: np.ndarray) -> np.ndarray:
    """Standard normals from 64-bit hashes, by the inverse CDF of a uniform in (0, 1)."""
    from scipy.special import ndtri  # see SyntheticUsage.quantile

    u = ((bits >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)
    return ndtri(u)


USAGE_COLUMNS = ("id", "t_s", "cpu_cores", "memory_gib")


def read_table(path) -> pd.DataFrame:
    """Read a usage table (CSV or Parquet: ``id, t_s, cpu_cores, memory_gib``).

    ``t_s`` is the offset from the instance's start, in seconds; ``cpu_cores`` the cores
    it demands, ``memory_gib`` the memory it uses, from then until its next row.

    Raises
    ------
    InputError
        Naming the file and line of the first problems.
    """
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: usage file not found")
    parquet = path.suffix == ".parquet"
    try:
        frame = pd.read_parquet(path) if parquet else pd.read_csv(path, dtype={"id": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as err:
        raise InputError(f"{path}: cannot read as {'Parquet' if parquet else 'CSV'}: {err}") from None
    missing = [c for c in USAGE_COLUMNS if c not in frame.columns]
    extra = [c for c in frame.columns if c not in USAGE_COLUMNS]
    if missing or extra:
        raise InputError(f"{path}: usage columns must be {', '.join(USAGE_COLUMNS)}"
                         f" (missing: {', '.join(missing) or 'none'}; unknown: {', '.join(extra) or 'none'})")
    problems = []
    where = (lambda r: f"row {r + 1}") if parquet else (lambda r: f"line {r + 2}")
    out = pd.DataFrame({"id": frame["id"]})
    for column in USAGE_COLUMNS[1:]:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | ~np.isfinite(values) | (values < 0)
        for r in np.flatnonzero(bad.to_numpy())[:5]:
            problems.append(f"{path}: {where(r)}: {column} must be a number >= 0 (got {frame[column].iloc[r]!r})")
        out[column] = values.astype(float)
    if problems:
        raise InputError(problems)
    return out
