"""Usage over time: what each running instance demands, as a function of its age.

The engine asks, at each usage step, for the CPU (cores) and memory (GiB) of many
running instances at once, given each one's age (seconds since it last started). Three
models answer, all vectorised:

- :class:`ConstantUsage`: each instance's mean usage, for its whole life.
- :class:`SeriesUsage`: a usage table (``id, t_s, cpu_cores, memory_gib``), resampled
  once to a fixed step by :func:`on_steps` (never ahead of the samples); the last value
  holds past the end of a series.
- :class:`SyntheticUsage`: the mean times a shared diurnal factor times lognormal noise.
  The noise is a counter-based hash of (seed, instance, step), so it is never stored
  (memory grows with instances, not with instances × steps) and an instance uses the
  same at the same age on every platform.
"""

from __future__ import annotations

import copy
import math
import mmap
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
# An instance's own noise z (mean 0, variance 1) is a sum of three independent parts with
# weights (shares of the variance) summing to 1:
#   √(2·w_day)·cos(2π·age/day + φ_i)   a daily cycle, phase φ_i uniform per instance;
#   √w_block·B(i, ⌊(k + o_i)/BLOCK⌋)    a normal held for BLOCK windows, offset o_i per instance;
#   √w_white·E(i, k)                    a normal per 5-minute window k.
# Its autocorrelation at a lag of h windows is
#   ρ_z(h) = w_day·cos(2πh·300 s/day) + w_block·max(0, 1 − h/BLOCK)
# (a cosine of uniform random phase has autocorrelation cos(ωh); a piecewise-constant
# process with a uniformly random offset has the triangle 1 − |h|/T: Papoulis & Pillai,
# Probability, Random Variables and Stochastic Processes, 4th ed., ch. 9, the random
# binary transmission with a uniformly random delay), and the white part adds nothing at h ≥ 1.
# The usage factor is exp(σ·z)/mean, whose autocorrelation, for the Gaussian parts, is
# (e^{σ²ρ_z(h)} − 1)/(e^{σ²} − 1) ≈ ρ_z(h) for σ ≲ 0.3 (the lognormal's, Johnson, Kotz &
# Balakrishnan, Continuous Univariate Distributions vol. 1, ch. 14; :func:`lognormal_acf`).
# The weights are fitted to the medians over VMs of the lag-1 (5 min), lag-12 (1 h) and
# lag-288 (1 day) autocorrelations computed from the source files by
# tests/workload/test_usage_calibration.py (``acf`` there: Σ(x_t − x̄)(x_{t+h} − x̄)/Σ(x_t − x̄)²
# over each VM's readings in time order):
# - CPU, traces/azure_v2_2019/vm_cpu_readings_20vms.csv.gz (avg_cpu of 20 VMs, ~8,630
#   readings each): medians 0.373 (5 min), 0.277 (1 h), 0.351 (1 day). w_day = 0.32 gives
#   0.32 at 1 day and 0.31 at 1 h; w_block = 0.06 over BLOCK = 12 windows (1 h) adds
#   0.055 at 5 min and nothing at 1 h: ρ_z = 0.375, 0.31, 0.32 (a compromise between the
#   1-h and the 1-day figure, which one cosine cannot both hold).
# - memory, traces/bitbrains_rnd/2013-7/*.csv.gz ("Memory usage [KB]" of 20 VMs, rows in
#   time order): medians 0.537, 0.158, 0.112. w_day = 0.13, w_block = 0.55: ρ_z = 0.63,
#   0.13, 0.13 for the body, which the rare peaks below (white) dilute to about 0.54 (the
#   1-h figure's IQR over VMs is 0.03-0.61: no single block length fits all).
USAGE_BLOCK_WINDOWS = 12
CPU_WEIGHTS = (0.32, 0.06)  # (w_day, w_block); w_white = 1 − both
MEMORY_WEIGHTS = (0.13, 0.55)
# Instances are not equally bursty: each one's σ is the configured (median) σ times
# exp(τ·n_i), n_i a standard normal per instance, τ = τ_below for n_i < 0 and τ_above
# above (a two-piece lognormal: the sources' spreads are skewed). The τ are fitted so that the p95 ÷ mean of
# 5-minute CPU per instance spreads over instances as over the 20 Azure 2019 VMs
# (quartiles 1.36 and 1.67 around the median 1.56, computed in
# tests/workload/test_usage_calibration.py), and memory's as over the 20 Bitbrains VMs
# (quartiles 1.30 and 2.00 around 1.36; 13 of those VMs lie within 1.20-1.41, 7 within
# 1.66-4.36: two populations, which one spread only roughly covers).
CPU_SIGMA_SPREAD = (0.55, 0.15)  # (τ_below, τ_above)
MEMORY_SIGMA_SPREAD = (0.15, 0.9)
# Memory's rare peaks: Bitbrains Rnd VMs reach, at their maximum, 6.1 times their mean
# memory (median over the 20 VMs; quartiles 3.1-9.2), far beyond their p95 (1.36 times
# the mean): a lognormal body cannot hold both. So a 5-minute window of an instance's
# memory is a peak with probability MEMORY_PEAK_SHARE (independently), multiplying the body by
# 1 + h_i, h_i lognormal per instance with median MEMORY_PEAK_MEDIAN and log-σ
# MEMORY_PEAK_SPREAD, fitted to that median and those quartiles over instances alive for
# a month (tests/workload/test_usage_calibration.py). Share and heights are assumptions
# shaped by those three figures only.
MEMORY_PEAK_SHARE = 1 / 2048  # ≈ 4 peaks a month per instance; a window's 11 spare hash bits
MEMORY_PEAK_MEDIAN = 4.0
MEMORY_PEAK_SPREAD = 0.6


def lognormal_acf(sigma, rho):
    """Autocorrelation of exp(σ·z) given that of the standard normal z: (e^{σ²ρ} − 1)/(e^{σ²} − 1).

    The correlation of two lognormals exp(σX), exp(σY) with corr(X, Y) = ρ (the bivariate
    lognormal's covariance e^{σ²}(e^{σ²ρ} − 1): Johnson, Kotz & Balakrishnan, Continuous
    Univariate Distributions vol. 1, 2nd ed., ch. 14). ``sigma`` and ``rho`` are
    numbers or broadcastable arrays; σ = 0 gives ρ.
    """
    sigma, rho = np.asarray(sigma, float), np.asarray(rho, float)
    s2 = sigma * sigma
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.expm1(s2 * rho) / np.expm1(s2)
    return np.where(s2 > 0, out, rho)


def noise_acf(weights: tuple[float, float], lags: np.ndarray) -> np.ndarray:
    """ρ_z(h) of an instance's own noise at ``lags`` (in 5-minute windows), shape of ``lags``."""
    w_day, w_block = weights
    lags = np.asarray(lags, float)
    return (w_day * np.cos(2 * np.pi * lags * NOISE_WINDOW_S / DAY_S)
            + w_block * np.clip(1 - lags / USAGE_BLOCK_WINDOWS, 0, None))


def step_sigma(sigma, step_s: float, weights: tuple[float, float] = (0.0, 0.0)):
    """σ of the lognormal noise of a ``step_s`` average, given σ of 5-minute averages.

    A step longer than :data:`NOISE_WINDOW_S` averages n = step_s / 300 windows of a
    stationary series whose values are lognormal with mean 1, variance v = e^{σ²} − 1 and
    autocorrelation ρ(h) (:func:`lognormal_acf` of the noise's :func:`noise_acf` with
    ``weights``). The average has mean 1 and variance
    v·(1 + 2·Σ_{h=1}^{⌈n⌉−1} (1 − h/n)·ρ(h)) / n (the variance of a sample mean of a
    stationary series: Brockwell & Davis, Introduction to Time Series and Forecasting,
    3rd ed., §2.4, eq. 2.4.2); the lognormal with those two moments has
    σ_step² = ln(1 + that variance). (Matching the first two moments, not the shape: an
    assumption.) With ρ = 0 (weights 0) this is ln(1 + v/n). Steps of 5 minutes or less
    keep σ. ``sigma`` may be a number or an array (one per instance).
    """
    scalar = np.ndim(sigma) == 0
    sigma = np.asarray(sigma, float)
    if step_s <= NOISE_WINDOW_S:
        return float(sigma) if scalar else sigma
    n = step_s / NOISE_WINDOW_S
    lags = np.arange(1, math.ceil(n))
    if len(lags) and any(weights):
        rho = lognormal_acf(sigma[..., None], noise_acf(weights, lags))
        inflation = 1 + 2 * ((1 - lags / n) * rho).sum(axis=-1)
    else:
        inflation = 1.0
    out = np.sqrt(np.log1p(np.expm1(sigma * sigma) * inflation / n))
    return float(out) if scalar else out


def step_of(t_s: np.ndarray, step_s: float) -> np.ndarray:
    """The step boundary (``k`` of age ``k·step_s``) at which a sample at offset ``t_s`` takes
    effect: the first at or after it, ⌈t_s / step_s⌉ (0 for an offset before the start).

    A sample is never played before its own time: a value in force over the step from
    ``k·step_s`` rests only on samples at or before ``k·step_s``, so it plays up to a step
    late, never early (no decision sees usage before it happens). No tolerance: an offset a
    rounding error past a boundary (``0.1 + 0.2`` s on 0.3-s steps) waits for the next one,
    and so does one whose quotient rounds down onto a boundary below it (5e-324 s).
    """
    t_s = np.asarray(t_s, float)
    with np.errstate(over="ignore", invalid="ignore"):  # absurd offsets: their readers report them
        k = np.ceil(t_s / step_s)
        k += k * step_s < t_s
    return np.maximum(k, 0).astype(np.int64)


def on_steps(row: np.ndarray, t_s: np.ndarray, cpu: np.ndarray, mem: np.ndarray, step_s: float,
             weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Usage samples onto the usage step: the one rule every usage series is played by
    (simdc's own usage table and each reader's series).

    A sample of instance ``row`` at offset ``t_s`` (seconds from the instance's start)
    takes effect at boundary ``k = step_of(t_s)``, the first step boundary at or after it.
    The samples that take effect at the same boundary (those in ((k−1)·step, k·step]) give
    one value, held from ``k·step_s`` until the next boundary that has samples:

    - CPU: their mean, weighted by ``weight`` (each sample's window length, when a trace
      gives one; equal weights without). CPU is a rate: Kubernetes' metrics-server reports a
      container's CPU as "a rate over a cumulative CPU counter" over its window, i.e. the
      mean over the window before the reading (kubernetes-sigs/metrics-server, FAQ.md, "How
      CPU usage is calculated?"). With samples on the step the mean is the sample.
    - memory: their maximum. Memory is a level, and the kernel OOM-kills at the moment a
      container's memory passes its limit, so a peak finer than the step must not be
      averaged away; the VPA recommender likewise keeps memory's peak per aggregation
      interval, not its mean (kubernetes/autoscaler,
      vertical-pod-autoscaler/pkg/recommender/model/container.go,
      ``ContainerState.addMemorySample``: "Each container aggregates one peak per
      aggregation interval").

    ``row`` is any integer key (an instance's position). Returns ``(row, k, cpu, mem)``,
    one entry per (row, k) that has samples, sorted by row then k.
    """
    row = np.asarray(row)
    k = step_of(t_s, step_s)
    cpu, mem = np.asarray(cpu, float), np.asarray(mem, float)
    w = np.ones(len(k)) if weight is None else np.asarray(weight, float)
    if not len(k):
        return row[:0], k, cpu[:0], mem[:0]
    order = np.lexsort((k, row))
    row, k, cpu, mem, w = row[order], k[order], cpu[order], mem[order], w[order]
    first = np.ones(len(k), dtype=bool)
    first[1:] = (row[1:] != row[:-1]) | (k[1:] != k[:-1])
    starts = np.flatnonzero(first)
    with np.errstate(over="ignore", invalid="ignore"):  # absurd inputs overflow: the readers report them
        mean = np.add.reduceat(cpu * w, starts) / np.add.reduceat(w, starts)
    return row[starts], k[starts], mean, np.maximum.reduceat(mem, starts)


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

        ``table`` holds usage samples of instances in ``ids`` only, with ids of the same type,
        and, where the trace gives them, each sample's window length (column ``window_s``,
        seconds: CPU's weights). The samples are put onto the step here and only here, as
        read (a time window shifts them to their ages in it first,
        :func:`simdc.workload.readers.common.select`), so any step replays the samples themselves.
        The value at age ``k·step`` is :func:`on_steps`' value of the samples that take
        effect there (those after the previous boundary and at or before ``k·step``: CPU
        their mean, memory their maximum), or, at a boundary with none, the value before it:
        a step function that never plays a sample before its time. Until an instance's
        first sample takes effect it uses its mean from ``fallback`` (the trace's
        ``cpu_used``, ``memory_used_gib``), as an instance without a series does. Built with
        array operations only, so traces of 10^5 instances and more take seconds.
        """
        row, k, cpu_in, mem_in = on_steps(pd.Index(ids).get_indexer(table["id"]), table["t_s"].to_numpy(float),
                                          table["cpu_cores"].to_numpy(float), table["memory_gib"].to_numpy(float),
                                          step_s, table[WINDOW].to_numpy(float) if WINDOW in table else None)
        n = len(ids)
        length = np.ones(n, dtype=np.int64)  # one fallback slot for rows without a series
        ends = np.flatnonzero(np.append(row[1:] != row[:-1], True)) if len(row) else row
        length[row[ends]] = k[ends] + 1
        ptr = np.concatenate(([0], np.cumsum(length)))
        cpu = np.full(ptr[-1], np.nan)
        mem = np.full(ptr[-1], np.nan)
        given = np.zeros(ptr[-1], dtype=bool)
        first = ptr[:-1]
        cpu[first], mem[first] = fallback.cpu, fallback.mem  # until the first sample takes effect
        given[first] = True
        at = ptr[row] + k
        cpu[at], mem[at] = cpu_in, mem_in
        given[at] = True
        # Each boundary without samples holds the value before it (every series' slot 0 is given).
        previous = np.maximum.accumulate(np.where(given, np.arange(ptr[-1]), -1))
        return cls(ptr, cpu[previous], mem[previous], step_s, fallback)

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
    """``usage(t) = min(mean × diurnal(t) × f(instance, t), size)``, with E[f] = 1 over time.

    ``f = exp(σ_i·(√c·g(window) + √(1−c)·z_i(k)) + m_i)`` (× a rare peak for memory):
    ``g`` is a common shock shared by all instances (correlation ``c``, independent across
    windows), ``z_i(k)`` the instance's own noise at age window k, with the autocorrelation
    of the sources (a daily cycle, an hourly block and white noise: :data:`CPU_WEIGHTS`,
    :func:`noise_acf`), σ_i the configured σ times exp(τ·n_i) (instances differ in
    burstiness, :data:`CPU_SIGMA_SPREAD`), and ``m_i`` the constant that makes the factor's
    mean over time 1 (the cosine's exact mean, I₀, included). ``diurnal(t) = 1 +
    a·cos(2π(t − peak)/day)`` is shared too. So each instance keeps its mean usage, less
    what the clip at its size takes: ``size`` is what it declared (``cpu_max`` cores,
    ``mem_max`` GiB), as the sources' readings are shares of what each VM was given and never
    exceed it (Azure's CPU in percent, Bitbrains' memory of the provisioned); without the
    clip a bursty instance using a large share of its size would use more than it has
    (memory peaks of 6× the mean on an instance at 30 % of its size).

    Everything is a function of (seed, instance, age window, time step): counter-based
    hashes, never stored per step, the same on every platform and in any engine order.
    The noise window is the larger of ``step_s`` and :data:`NOISE_WINDOW_S` (the 5 minutes
    σ is calibrated on): a step under 5 minutes reads the same draw until its window
    ends; a longer step draws once with σ of its own length's average (:func:`step_sigma`).
    So the noise an instance sees does not depend on how finely the engine steps.
    """

    def __init__(self, cpu: np.ndarray, mem: np.ndarray, *, step_s: float, seed: int,
                 cpu_burstiness: float, memory_burstiness: float, correlation: float,
                 diurnal_amplitude: float, diurnal_peak_s: float, cpu_max: np.ndarray | None = None,
                 mem_max: np.ndarray | None = None):
        self.cpu, self.mem, self.step_s = cpu, mem, float(step_s)
        # each instance's size, where its usage is clipped (inf: nowhere)
        self.cpu_max = np.full(len(cpu), np.inf) if cpu_max is None else np.asarray(cpu_max, dtype=float)
        # CPU as presented (scaled_cpu): the model's value, clipped at the size, × this last
        self.cpu_factor = 1.0
        self.mem_max = np.full(len(mem), np.inf) if mem_max is None else np.asarray(mem_max, dtype=float)
        self._views: tuple[memoryview, ...] | None = None  # what at_one reads per instance (_one_views)
        self.window_s = max(self.step_s, NOISE_WINDOW_S)  # the noise is redrawn this often
        self.seed = int(seed)
        self._cache: dict[int, tuple[int, int, float]] = {}
        self._start: tuple[int, float, float] | None = None  # (step, its common shocks for CPU and memory)
        self.correlation = float(correlation)
        self.amplitude, self.peak_s = diurnal_amplitude, diurnal_peak_s
        self.peak_bits = int(round(MEMORY_PEAK_SHARE * 2048))  # a window's low 11 bits below this: a peak
        self._burstiness = {1: float(cpu_burstiness), 2: float(memory_burstiness)}
        n = len(cpu)
        # The per-instance constants (what the usage step reads per instance: _PerInstance):
        # every one a function of (seed, instance) alone, computed at their first use for
        # the whole run, or, in a streamed run, a block of rows at a time as the engine's
        # chunks open, and let go with them (windows()). Shared with scaled_cpu's copies.
        self._rows = _PerInstance(n, self._fill)
        # the largest σ_i, a window of rows at a time (each σ_i computed as _fill computes it)
        self.sigma_cpu = self.sigma_mem = 0.0
        for lo in range(0, n, _SCAN_ROWS):
            sigma = self._sigmas(np.arange(lo, min(lo + _SCAN_ROWS, n), dtype=np.uint64))
            self.sigma_cpu = max(self.sigma_cpu, float(np.max(sigma[1], initial=0)))
            self.sigma_mem = max(self.sigma_mem, float(np.max(sigma[2], initial=0)))

    # The per-instance constants, where they live now (_PerInstance): phase φ_i, offset o_i,
    # peak height 1 + h_i; per stream (σ_i, amp, block, white, common, log mean); the hour
    # blocks' memo (each instance's last block index and its normals); own factors at age 0.
    _table = property(lambda self: self._rows.table)
    phase = property(lambda self: self._rows.phase)
    offset = property(lambda self: self._rows.offset)
    peak = property(lambda self: self._rows.peak)
    coef = property(lambda self: self._rows.coef)
    _memo = property(lambda self: self._rows.memo_pair)
    _first = property(lambda self: self._rows.first_by_stream)

    def _sigmas(self, ids: np.ndarray) -> dict[int, np.ndarray]:
        """σ_i of instances ``ids`` (uint64) per stream (1: CPU, 2: memory), of a step's average."""
        out = {}
        for stream, spread, weights in ((1, CPU_SIGMA_SPREAD, CPU_WEIGHTS), (2, MEMORY_SIGMA_SPREAD, MEMORY_WEIGHTS)):
            sigma = self._burstiness[stream]
            spread_n = self._instance_normal(ids, stream, 1)
            spread_n *= np.where(spread_n < 0, spread[0], spread[1])
            each = sigma * np.exp(spread_n) if sigma else np.zeros(len(ids))
            out[stream] = step_sigma(each, self.step_s, weights)
        return out

    def _fill(self, rows: "_PerInstance", lo: int, hi: int) -> None:
        """Write the constants of instances ``lo`` to ``hi`` into ``rows``' arrays (every
        value a function of the seed and the instance alone: the same numbers whichever
        rows are filled together)."""
        from scipy.special import i0e

        ids = np.arange(lo, hi, dtype=np.uint64)
        table = rows.table[lo:hi]
        table[:, 1] = (self._uniform(ids, 3, 1) * USAGE_BLOCK_WINDOWS).astype(np.int64)  # o_i
        table[:, 0] = 2 * np.pi * self._uniform(ids, 3, 2)  # φ_i, shared by CPU and memory
        peak = 1 + MEMORY_PEAK_MEDIAN * np.exp(MEMORY_PEAK_SPREAD * self._instance_normal(ids, 2, 3))
        table[:, 12] = peak
        own, common = math.sqrt(1 - self.correlation), math.sqrt(self.correlation)
        sigmas = self._sigmas(ids)
        for stream, weights, at in ((1, CPU_WEIGHTS, 2), (2, MEMORY_WEIGHTS, 7)):
            each = sigmas[stream]
            w_day, w_block = weights
            amp = each * own * math.sqrt(2 * w_day)
            # E[exp(a·cos θ)] = I₀(a) for θ uniform (Abramowitz & Stegun 9.6.19); i0e(a) = e^{−a}·I₀(a).
            log_mean = each * each * (1 - (1 - self.correlation) * w_day) / 2 + (np.log(i0e(amp)) + amp)
            if stream == 2:
                log_mean = log_mean + np.log1p(self.peak_bits / 2048 * (peak - 1))
            rows.sigma[stream - 1, lo:hi] = each
            for k, values in enumerate((amp, each * own * math.sqrt(w_block),
                                        each * own * math.sqrt(1 - w_day - w_block), each * common, -log_mean)):
                table[:, at + k] = values
        rows.memo_blk[lo:hi] = -1.0
        rows.memo[:, lo:hi] = 0.0
        rows.first[0, lo:hi], rows.first[1, lo:hi] = self._factors(np.arange(lo, hi), np.zeros(hi - lo), 0,
                                                                    common=False)

    def windows(self) -> "_Window":
        """A streamed run's hold on the per-instance constants (:class:`_PerInstance`): from
        its first ``hold(lo, hi)`` (as the engine's first chunk opens) only the rows held are
        computed, and each is given back when no hold is left on it (``release(lo, hi)``,
        as the chunks are let go), until every window is closed (``close()``). If the
        constants are whole by its first hold (a run before used them all), they stay so."""
        return _Window(self._rows)

    def _instance_normal(self, ids: np.ndarray, stream: int, purpose: int) -> np.ndarray:
        """A standard normal per instance for ``purpose`` (a per-instance constant)."""
        key, _ = self._keys(0, stream)
        return _normal(_mix(np.uint64(key) ^ _mix(ids * np.uint64(0xD1B54A32D192ED03) + np.uint64(_TAG[purpose]))))

    def _uniform(self, ids: np.ndarray, stream: int, purpose: int) -> np.ndarray:
        key, _ = self._keys(0, stream)
        bits = _mix(np.uint64(key) ^ _mix(ids * np.uint64(0xD1B54A32D192ED03) + np.uint64(_TAG[purpose])))
        return (bits >> np.uint64(11)).astype(np.float64) / float(1 << 53)

    def scaled_cpu(self, factor: float) -> "SyntheticUsage":
        """The same usage (the same noise) with every CPU value × ``factor``.

        The factor multiplies each value the model gives, last, as a usage series' values
        are multiplied (:meth:`SeriesUsage.scaled_cpu`): the same product to the bit, so a
        trace written by ``trace generate`` is presented as the model is (scaling the means
        instead rounds differently, a unit in the last place of some values)."""
        scaled = copy.copy(self)
        scaled.cpu_factor = self.cpu_factor * factor
        scaled._cache, scaled._start, scaled._views = {}, None, None  # its own caches (the constants shared)
        return scaled

    def quantile(self, q: float) -> tuple[np.ndarray, np.ndarray]:
        """Each instance's q-quantile of (CPU, memory), at the diurnal peak for CPU: arrays (n,).

        The log factor is taken as normal with variance σ_i² (its daily cosine is not, and
        memory's rare peaks are left out: an approximation for q below 1 − their share).
        """
        from scipy.special import ndtri  # here, not at import: ~0.3 s a trace run without usage noise never needs

        z = float(ndtri(q))
        sigma, *_, log_mean = self.coef[1]
        cpu = self.cpu * (1 + self.amplitude) * np.exp(sigma * z + log_mean)
        sigma, *_, log_mean = self.coef[2]
        mem = self.mem * np.exp(sigma * z + log_mean)
        return np.minimum(cpu, self.cpu_max) * self.cpu_factor, np.minimum(mem, self.mem_max)

    def upper(self) -> tuple[np.ndarray, np.ndarray]:
        """The most (CPU, memory) each instance can ever use: its size with noise."""
        cpu = self.cpu * (1 + self.amplitude) if self.sigma_cpu == 0 else np.full(len(self.cpu), np.inf)
        mem = self.mem.copy() if self.sigma_mem == 0 else np.full(len(self.mem), np.inf)
        return np.minimum(cpu, self.cpu_max) * self.cpu_factor, np.minimum(mem, self.mem_max)

    def at_start(self, inst: np.ndarray, start_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`at` at age 0 for instances started at different times ``start_s``."""
        step = np.floor_divide(start_s, self.window_s).astype(np.int64)
        shape = (1.0 + self.amplitude * np.cos(2 * np.pi * (start_s - self.peak_s) / DAY_S)
                 if self.amplitude else np.ones(len(inst)))
        cpu_own, mem_own = self._own_first()
        cpu_factor, mem_factor = cpu_own[inst], mem_own[inst]
        if self.correlation:
            for s in np.unique(step).tolist():  # the common shock is one per step
                these = step == s
                cpu_factor[these] *= np.exp(self.coef[1][4][inst[these]] * self._keys(s, 1)[1])
                mem_factor[these] *= np.exp(self.coef[2][4][inst[these]] * self._keys(s, 2)[1])
        return (np.minimum(self.cpu[inst] * shape * cpu_factor, self.cpu_max[inst]) * self.cpu_factor,
                np.minimum(self.mem[inst] * mem_factor, self.mem_max[inst]))

    def at(self, inst: np.ndarray, age_s: np.ndarray, now: float) -> tuple[np.ndarray, np.ndarray]:
        step = int(now // self.window_s)
        cpu_f, mem_f = self._factors(inst, np.floor(age_s / self.window_s), step, self.correlation != 0)
        # (take: the gathers by index of fancy indexing, the same values at a fraction of its cost)
        return (np.minimum(self.cpu.take(inst) * self._shape(now) * cpu_f, self.cpu_max.take(inst)) * self.cpu_factor,
                np.minimum(self.mem.take(inst) * mem_f, self.mem_max.take(inst)))

    def _factors(self, inst: np.ndarray, k: np.ndarray, step: int, common: bool) -> tuple[np.ndarray, np.ndarray]:
        """The own (and, with ``common``, shared) factors of CPU and memory of ``inst`` at age
        windows ``k`` (whole numbers, as floats) in time step ``step``: two arrays like ``inst``."""
        phase, offset, *rows = self._table.take(inst, axis=0).T
        ids = inst.astype(np.uint64)
        white = _hash(ids, k.astype(np.uint64))  # the same for both streams: taken once
        # The block of 5-minute windows k·(window/300) + o_i falls in (exact in floats below 2^53).
        blk = np.floor((k * (self.window_s / NOISE_WINDOW_S) + offset) / USAGE_BLOCK_WINDOWS)  # whole / 12: exact
        # The block normals, memoised per instance: a block lasts an hour, so most steps reuse
        # them (a cache of a pure function of (seed, instance, block): no state in the values).
        memo_blk, memo = self._memo
        new = np.flatnonzero(memo_blk.take(inst) != blk)
        if len(new):
            fresh = inst[new]
            block = _hash(ids[new], blk[new].astype(np.uint64) | _BLOCK_TAG)
            memo_blk[fresh] = blk[new]
            for stream in (1, 2):
                if self._varies(stream):
                    memo[stream - 1, fresh] = _normal(_mix(np.uint64(self._keys(step, stream)[0]) ^ block))
        cycle = np.cos(k * (2 * np.pi * self.window_s / DAY_S) + phase)
        out = []
        for stream, (amp, b, w, c, log_mean) in ((1, rows[0:5]), (2, rows[5:10])):
            if not self._varies(stream):
                out.append(np.ones(len(inst)))
                continue
            key, shock = self._keys(step, stream)
            bits = _mix(np.uint64(key) ^ white)
            log_f = log_mean + amp * cycle + b * memo[stream - 1].take(inst) + w * _normal(bits)
            if common:
                log_f += c * shock
            factor = np.exp(log_f)
            if stream == 2 and self.peak_bits:
                peaks = (bits & np.uint64(0x7FF)) < np.uint64(self.peak_bits)
                if peaks.any():
                    factor[peaks] *= rows[10][peaks]
            out.append(factor)
        return out[0], out[1]

    def _varies(self, stream: int) -> bool:
        return (self.sigma_cpu if stream == 1 else self.sigma_mem) != 0

    def at_one(self, i: int, age_s: float, now: float) -> tuple[float, float]:
        """:meth:`at` for one instance, in plain Python: the same numbers, 50× faster."""
        views = self._views
        if views is None:
            views = self._views = self._one_views()
        cpu, mem = self._at_one(i, age_s, now, views)
        cpu_max, mem_max = views[0][i], views[1][i]
        return (cpu if cpu <= cpu_max else cpu_max) * self.cpu_factor, (mem if mem <= mem_max else mem_max)

    def _one_views(self) -> tuple[memoryview, ...]:
        """What :meth:`at_one` reads per instance, read as Python floats, with no object
        per instance held (nor a numpy scalar made per read): the sizes (CPU, memory), the
        means; not the own factors at age 0, which live with the per-instance constants
        (:class:`_PerInstance`, ``first_views``: remade when those are)."""
        return tuple(memoryview(np.ascontiguousarray(values, dtype=float))
                     for values in (self.cpu_max, self.mem_max, self.cpu, self.mem))

    def _at_one(self, i: int, age_s: float, now: float, views: tuple[memoryview, ...]) -> tuple[float, float]:
        """:meth:`at_one` before the clip at the instance's size (``views``: :meth:`_one_views`)."""
        step, k = int(now // self.window_s), int(age_s // self.window_s)
        shape = 1.0 if self.amplitude == 0 else self._shape(now)
        if k == 0:  # a start, the hot case: the instance's own factors at age 0 (times the step's shared ones)
            _, _, cpu, mem = views
            cpu_own, mem_own = self._rows.first_views  # the live arrays' (a streamed run's are windowed)
            if not self.correlation:
                return cpu[i] * shape * cpu_own[i], mem[i] * mem_own[i]
            shocks = self._start
            if shocks is None or shocks[0] != step:
                shocks = self._start = (step, self._keys(step, 1)[1], self._keys(step, 2)[1])
            coef = self.coef  # each instance's σ_i·√c, read per start (a list of all would hold the whole run's)
            return (cpu[i] * shape * (cpu_own[i] * math.exp(float(coef[1][4][i]) * shocks[1])),
                    mem[i] * (mem_own[i] * math.exp(float(coef[2][4][i]) * shocks[2])))
        return (float(self.cpu[i]) * shape * self._factor_one(1, i, k, step),
                float(self.mem[i]) * self._factor_one(2, i, k, step))

    def start_usage(self) -> Callable[[int, float], tuple[float, float]]:
        """A function ``(i, now) -> (cpu, mem)``: :meth:`at_one` at age 0, the same numbers in
        the same order of operations, for an engine that asks once per start: the means and
        own factors read through memoryviews (Python floats, no numpy scalars)."""
        cpu, mem = (memoryview(np.ascontiguousarray(values, dtype=float)) for values in (self.cpu, self.mem))
        cpu_max, mem_max = (memoryview(np.ascontiguousarray(values, dtype=float))
                            for values in (self.cpu_max, self.mem_max))
        cpu_own, mem_own = (memoryview(own) for own in self._own_first())
        flat, factor = self.amplitude == 0, self.cpu_factor
        if self.correlation:
            return lambda i, now: self.at_one(i, 0.0, now)

        def at_start(i: int, now: float) -> tuple[float, float]:
            shape = 1.0 if flat else self._shape(now)
            c, m = cpu[i] * shape * (cpu_own[i] * 1.0), mem[i] * (mem_own[i] * 1.0)
            return (c if c <= cpu_max[i] else cpu_max[i]) * factor, (m if m <= mem_max[i] else mem_max[i])

        return at_start

    def _own_first(self) -> tuple[np.ndarray, np.ndarray]:
        """Every instance's own factor at age 0 (window 0, block 0), for CPU and memory,
        the common shock left out: computed with the other constants (:meth:`_fill`)."""
        first = self._first
        return first[1], first[2]

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

    def _factor_one(self, stream: int, i: int, k: int, step: int) -> float:
        if not self._varies(stream):
            return 1.0
        sigma, amp, b, w, c, log_mean = self.coef[stream]
        key, common = self._keys(step, stream)
        blk = int((k * (self.window_s / NOISE_WINDOW_S) + int(self.offset[i])) // USAGE_BLOCK_WINDOWS)
        block = _normal_one(_mix_one(key ^ _mix_one((i * 0xD1B54A32D192ED03 + (blk | _BLOCK_TAG_INT)) & MASK)))
        bits = _mix_one(key ^ _mix_one((i * 0xD1B54A32D192ED03 + k) & MASK))
        cycle = math.cos(k * (2 * math.pi * self.window_s / DAY_S) + float(self.phase[i]))
        log_f = (float(log_mean[i]) + float(amp[i]) * cycle + float(b[i]) * block
                 + float(w[i]) * _normal_one(bits))
        if self.correlation:
            log_f += float(c[i]) * common
        factor = math.exp(log_f)
        if stream == 2 and (bits & 0x7FF) < self.peak_bits:
            factor *= float(self.peak[i])
        return factor


# Rows of the per-instance constants computed and given back together in a streamed run: a
# page (4 KiB) of an 8-byte column, as the engine's chunks (simdc.engine.chunks.CHUNK_ROWS),
# so that a chunk's rows are whole pages of every array here (13 pages of the table's 104 B rows).
ROWS_PER_BLOCK = 512
_SCAN_ROWS = 65_536  # rows a time where the whole run is read for one figure (the largest σ)
# The arrays of _PerInstance: name, and its shape's other dimension (rows first, or last after
# it when the name is in _BY_STREAM: a row of n per stream)
_ARRAYS = {"table": 13, "sigma": 2, "memo_blk": 0, "memo": 2, "first": 2}
_BY_STREAM = ("sigma", "memo", "first")
# what _PerInstance._make makes
_MADE = (*_ARRAYS, "phase", "offset", "peak", "coef", "memo_pair", "first_by_stream", "first_views")


class _PerInstance:
    """Where a :class:`SyntheticUsage`'s per-instance constants live: 160 B an instance
    (the usage step's table of 13 doubles, two σ, the hour blocks' memo, two own factors at
    age 0), all functions of (seed, instance) computed by ``fill(rows, lo, hi)``.

    Whole (the default): the arrays are made and filled for every instance at their first
    use (an attribute asked before they exist, :meth:`__getattr__`), as a run in memory
    reads them. Windowed (:meth:`open_window`, a streamed run): they lie on anonymous
    memory maps, which take memory only for the pages written, and rows are filled a block
    of :data:`ROWS_PER_BLOCK` at a time when a window holds them and given back
    (``madvise(MADV_DONTNEED)``) when no window holds them any more: the peak holds the rows
    of the engine's live chunks, not the run's. A block given back and held again is filled
    again, with the same numbers. When the last window closes, the maps go, and a later
    use makes the arrays whole again.
    """

    poison = False  # tests: a block given back is overwritten with NaN, not given back (a read shows)

    def __init__(self, rows: int, fill):
        self.rows, self.fill = rows, fill
        self.holds: np.ndarray | None = None  # windowed: each block's holds
        self.maps: dict[str, mmap.mmap] = {}  # windowed: each array's map
        self.open_windows = 0

    def __getattr__(self, name: str):
        # only when an array or its views is asked for before they exist: the whole run's
        if name not in _MADE:
            raise AttributeError(name)
        self._make(lambda name, shape: np.empty(shape))
        self.fill(self, 0, self.rows)
        return object.__getattribute__(self, name)

    def _make(self, allocate) -> None:
        """The arrays, from ``allocate(name, shape)``, and the views the usage step reads."""
        n = self.rows
        for name, width in _ARRAYS.items():
            shape = (width, n) if name in _BY_STREAM else ((n, width) if width else (n,))
            setattr(self, name, allocate(name, shape))
        table, sigma = self.table, self.sigma
        self.phase, self.offset, self.peak = table[:, 0], table[:, 1], table[:, 12]
        self.coef = {1: (sigma[0], *(table[:, k] for k in range(2, 7))),
                     2: (sigma[1], *(table[:, k] for k in range(7, 12)))}
        self.memo_pair = (self.memo_blk, self.memo)
        self.first_by_stream = {1: self.first[0], 2: self.first[1]}
        self.first_views = (memoryview(self.first[0]), memoryview(self.first[1]))  # read as Python floats

    def _mapped(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Zeros of ``shape`` on a private anonymous map (no page resident until written)."""
        count = math.prod(shape)
        memory = self.maps[name] = mmap.mmap(-1, max(count, 1) * 8, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        return np.frombuffer(memory, np.float64, count).reshape(shape)

    def open_window(self) -> bool:
        """Windowed from now on (False: the arrays are whole already, and stay so)."""
        if self.holds is None:
            if "table" in self.__dict__:
                return False
            self._make(self._mapped)
            self.holds = np.zeros(-(-self.rows // ROWS_PER_BLOCK), np.int32)
        self.open_windows += 1
        return True

    def _blocks(self, lo: int, hi: int) -> range:
        return range(lo // ROWS_PER_BLOCK, -(-min(hi, self.rows) // ROWS_PER_BLOCK))

    def hold(self, lo: int, hi: int) -> None:
        for b in self._blocks(lo, hi):
            if self.holds[b] == 0:
                self.fill(self, b * ROWS_PER_BLOCK, min((b + 1) * ROWS_PER_BLOCK, self.rows))
            self.holds[b] += 1

    def release(self, lo: int, hi: int) -> None:
        for b in self._blocks(lo, hi):
            self.holds[b] -= 1
            if self.holds[b] == 0:
                self._give_back(b * ROWS_PER_BLOCK, min((b + 1) * ROWS_PER_BLOCK, self.rows))

    def _give_back(self, lo: int, hi: int) -> None:
        """Rows ``[lo, hi)``'s whole pages of every array back to the system (zeros from now on)."""
        page = mmap.PAGESIZE
        for name, width in _ARRAYS.items():
            values = getattr(self, name)
            if self.poison:
                (values[:, lo:hi] if name in _BY_STREAM else values[lo:hi])[...] = np.nan
                continue
            memory = self.maps[name]
            spans = ([(r * self.rows + lo, r * self.rows + hi) for r in range(width)] if name in _BY_STREAM
                     else [(lo * max(width, 1), hi * max(width, 1))])
            for start, end in spans:
                start, end = -(-start * 8 // page) * page, end * 8 // page * page
                if end > start:
                    memory.madvise(mmap.MADV_DONTNEED, start, end - start)

    def close_window(self) -> None:
        self.open_windows -= 1
        if self.open_windows == 0:  # the maps go with the arrays; a later use makes them whole
            for name in _MADE:
                self.__dict__.pop(name, None)
            self.holds, self.maps = None, {}


class _Window:
    """One streamed run's hold on a :class:`_PerInstance` (:meth:`SyntheticUsage.windows`):
    ``hold``/``release`` rows as the engine's chunks open and are let go, ``close`` at the
    end (or when the window is dropped). Opened at its first hold, so that a run built but
    not run (the engine's lane chosen after its build) leaves the constants as they were;
    a no-op if they are whole by then."""

    def __init__(self, rows: _PerInstance):
        self.rows = rows
        self.state: bool | None = None  # None: not opened yet; True: windowed; False: nothing to do

    def hold(self, lo: int, hi: int) -> None:
        if self.state is None:
            self.state = self.rows.open_window()
        if self.state:
            self.rows.hold(lo, hi)

    def release(self, lo: int, hi: int) -> None:
        if self.state:
            self.rows.release(lo, hi)

    def close(self) -> None:
        if self.state:
            self.rows.close_window()
        self.state = False

    def __del__(self):
        self.close()


MASK = (1 << 64) - 1
_BLOCK_TAG_INT = 1 << 63  # marks a block's hash apart from a window's (k < 2^63)
_BLOCK_TAG = np.uint64(_BLOCK_TAG_INT)
_TAG = {p: (1 << 62) + p for p in (1, 2, 3)}  # per-instance draws: apart from windows and blocks
_SHIFTS = (np.uint64(30), np.uint64(27), np.uint64(31))  # splitmix64's finaliser (_mix)
_MULTIPLIERS = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


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
    x = x ^ (x >> _SHIFTS[0])  # a new array: the steps after work in place on it
    x *= _MULTIPLIERS[0]
    x ^= x >> _SHIFTS[1]
    x *= _MULTIPLIERS[1]
    x ^= x >> _SHIFTS[2]
    return x


def _hash(ids: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The hash of (instance, age in steps) that each stream's key is mixed into (uint64)."""
    return _mix(ids * np.uint64(0xD1B54A32D192ED03) + k)


def _normal(bits: np.ndarray) -> np.ndarray:
    """Standard normals from 64-bit hashes, by the inverse CDF of a uniform in (0, 1)."""
    from scipy.special import ndtri  # see SyntheticUsage.quantile

    u = ((bits >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)
    return ndtri(u)


USAGE_COLUMNS = ("id", "t_s", "cpu_cores", "memory_gib")
WINDOW = "window_s"  # optional: each sample's window length, seconds (CPU's weight in on_steps)


def _shown(value) -> str:
    """A cell as a message shows it: a number as written (numpy's repr says np.float64(-1.0))."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def read_table(path) -> pd.DataFrame:
    """Read a usage table (CSV or Parquet: ``id, t_s, cpu_cores, memory_gib``).

    ``t_s`` is the offset from the instance's start, in seconds; ``cpu_cores`` the cores
    it demands, ``memory_gib`` the memory it uses, from then until its next row. An
    optional ``window_s`` (seconds, > 0) is the length of the window each CPU sample
    averages, its weight where samples share a step (:func:`on_steps`); ``trace convert``
    writes it for traces that give windows.

    Raises
    ------
    InputError
        Naming the file and line of the first problems.
    """
    from pathlib import Path

    from simdc.results import read_parquet

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: usage file not found")
    parquet = path.suffix == ".parquet"
    try:
        frame = read_parquet(path) if parquet else pd.read_csv(path, dtype={"id": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as err:
        raise InputError(f"{path}: cannot read as {'Parquet' if parquet else 'CSV'}: {err}") from None
    missing = [c for c in USAGE_COLUMNS if c not in frame.columns]
    extra = [c for c in frame.columns if c not in (*USAGE_COLUMNS, WINDOW)]
    if missing or extra:
        raise InputError(f"{path}: usage columns must be {', '.join(USAGE_COLUMNS)} (and optionally {WINDOW})"
                         f" (missing: {', '.join(missing) or 'none'}; unknown: {', '.join(extra) or 'none'})")
    problems = []
    where = (lambda r: f"row {r + 1}") if parquet else (lambda r: f"line {r + 2}")
    out = pd.DataFrame({"id": frame["id"]})
    for column in [*USAGE_COLUMNS[1:], *([WINDOW] if WINDOW in frame.columns else [])]:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | ~np.isfinite(values) | ((values <= 0) if column == WINDOW else (values < 0))
        for r in np.flatnonzero(bad.to_numpy())[:5]:
            problems.append(f"{path}: {where(r)}: {column} must be a number {'>' if column == WINDOW else '>='} 0 "
                            f"(got {_shown(frame[column].iloc[r])})")
        out[column] = values.astype(float)
    if problems:
        raise InputError(problems)
    return out
