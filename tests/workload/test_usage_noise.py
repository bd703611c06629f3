"""The synthetic usage noise does not depend on how finely the engine steps.

σ is calibrated on 5-minute averages (CALIBRATION.md), so whatever ``usage_step_s``
the 5-minute averages simdc produces must have the calibrated burstiness, and a longer
step's values must have the spread of averages of that many 5-minute windows.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simdc.workload.usage import NOISE_WINDOW_S, SyntheticUsage, step_sigma

VMS = 400
DAYS = 2


def series(step_s: float, sigma: float = 0.3, correlation: float = 0.0, seed: int = 7) -> np.ndarray:
    """CPU of ``VMS`` instances of mean 1, all started at 0, read every ``step_s`` for
    ``DAYS`` days as the engine reads it: shape (steps, VMS)."""
    model = SyntheticUsage(np.ones(VMS), np.ones(VMS), step_s=step_s, seed=seed, cpu_burstiness=sigma,
                           memory_burstiness=sigma, correlation=correlation, diurnal_amplitude=0.0,
                           diurnal_peak_s=0.0)
    inst = np.arange(VMS)
    steps = int(DAYS * 86400 // step_s)
    out = np.empty((steps, VMS))
    for k in range(steps):
        now = k * step_s
        out[k], _ = model.at(inst, np.full(VMS, now), now)
    return out


def burstiness(values: np.ndarray) -> float:
    """Median over instances of p95 ÷ mean (the CALIBRATION.md statistic)."""
    return float(np.median(np.quantile(values, 0.95, axis=0) / values.mean(axis=0)))


def averaged(values: np.ndarray, n: int) -> np.ndarray:
    """Averages of ``n`` consecutive rows (the 5-minute averages of a finer series)."""
    rows = len(values) // n * n
    return values[:rows].reshape(-1, n, values.shape[1]).mean(axis=1)


@pytest.mark.parametrize("step_s", [10.0, 60.0, 150.0])
def test_five_minute_averages_keep_the_calibrated_burstiness_at_a_finer_step(step_s):
    """p95/mean of 5-minute averages: exp(1.645σ − σ²/2) = 1.57 for σ = 0.3 (lognormal of
    mean 1) for the median instance, the same at a 10-s step as at the 5-minute step,
    within sampling error (±0.03 on the theory: the daily cycle's non-normal shape and
    the spread of σ over instances move the median instance's figure by about 0.01)."""
    theory = math.exp(1.6448536 * 0.3 - 0.3 ** 2 / 2)
    fine = burstiness(averaged(series(step_s), int(NOISE_WINDOW_S // step_s)))
    coarse = burstiness(series(NOISE_WINDOW_S))
    assert abs(fine - theory) < 0.03, (fine, theory)
    assert abs(fine - coarse) < 0.03, (fine, coarse)


def test_a_finer_step_reads_one_draw_per_five_minutes():
    """Within a 5-minute window of age every 60-s step reads the same value; the windows
    differ (an independent draw each)."""
    values = series(60.0)
    windows = values[: len(values) // 5 * 5].reshape(-1, 5, VMS)
    assert (windows == windows[:, :1, :]).all()
    assert (np.diff(windows[:, 0, :], axis=0) != 0).mean() > 0.99


@pytest.mark.parametrize("step_s", [900.0, 3600.0])
def test_a_longer_step_has_the_spread_of_averaged_five_minute_windows(step_s):
    """An hourly step's values spread like the averages of twelve 5-minute values of the
    same instances: each instance's coefficient of variation, median over instances, is
    the same within 10 % (the windows are correlated, so the spread of their average is
    not the independent sqrt((e^{σ²} − 1)/n): step_sigma sums the autocorrelation)."""
    n = int(step_s // NOISE_WINDOW_S)
    five = averaged(series(NOISE_WINDOW_S), n)
    long = series(step_s)
    cv_five = np.median(five.std(axis=0) / five.mean(axis=0))
    cv_long = np.median(long.std(axis=0) / long.mean(axis=0))
    independent = math.sqrt(math.expm1(0.3 ** 2) / n)
    assert abs(cv_long - cv_five) < 0.1 * cv_five, (cv_long, cv_five)
    assert cv_five > 1.1 * independent, (cv_five, independent)
    assert abs(long.mean() - 1) < 0.01


@settings(max_examples=40, deadline=None)
@given(sigma=st.floats(0.01, 2.0), step_s=st.floats(1.0, 86400.0))
def test_step_sigma_keeps_mean_one_and_divides_the_variance(sigma, step_s):
    """The lognormal of σ_step has variance (e^{σ²} − 1)·min(1, 300/step): a step of 5
    minutes or less keeps σ; a longer one never exceeds it."""
    s = step_sigma(sigma, step_s)
    n = max(step_s / NOISE_WINDOW_S, 1.0)
    assert math.isclose(math.expm1(s * s), math.expm1(sigma * sigma) / n, rel_tol=1e-9)
    assert s <= sigma


def test_autocorrelation_is_the_derived_one():
    """The own noise's autocorrelation is ρ_z(h) = w_day·cos(2πh·300/day) +
    w_block·max(0, 1 − h/12) (usage.noise_acf), through the lognormal's
    (e^{σ²ρ} − 1)/(e^{σ²} − 1) (usage.lognormal_acf): the mean over 200 instances of each
    one's sample autocorrelation over 30 days, at 5 min, 30 min, 1 h, 6 h and 1 day,
    within 0.03 (the standard error of one sample autocorrelation over 8,640 steps is about
    0.01-0.02 with this memory, and the mean over 200 is smaller still, but each instance's
    own daily phase is seen over 30 cycles only)."""
    from simdc.workload.usage import CPU_WEIGHTS, MEMORY_WEIGHTS, lognormal_acf, noise_acf

    vms, days = 200, 30
    model = SyntheticUsage(np.ones(vms), np.ones(vms), step_s=300.0, seed=3, cpu_burstiness=0.1,
                           memory_burstiness=0.1, correlation=0.0, diurnal_amplitude=0.0, diurnal_peak_s=0.0)
    model.peak_bits = 0  # memory's rare peaks are not part of the Gaussian derivation
    steps = days * 288
    inst = np.arange(vms)
    cpu, mem = np.empty((steps, vms)), np.empty((steps, vms))
    for k in range(steps):
        cpu[k], mem[k] = model.at(inst, np.full(vms, k * 300.0), k * 300.0)
    for series, weights in ((cpu, CPU_WEIGHTS), (mem, MEMORY_WEIGHTS)):
        x = series - series.mean(axis=0)
        for lag in (1, 6, 12, 72, 288):
            got = float(np.mean((x[:-lag] * x[lag:]).sum(axis=0) / (x * x).sum(axis=0)))
            sigma = model.coef[1 if series is cpu else 2][0]
            want = float(np.mean(lognormal_acf(sigma, noise_acf(weights, np.array(lag)))))
            assert abs(got - want) < 0.03, (lag, got, want)


@settings(max_examples=25, deadline=None)
@given(i=st.integers(0, 49), age_s=st.floats(0, 40 * 86400.0), start_s=st.floats(0, 10 * 86400.0),
       step_s=st.sampled_from([60.0, 300.0, 900.0, 3600.0]), correlation=st.sampled_from([0.0, 0.4]))
def test_one_instance_reads_what_the_vectorised_step_reads(i, age_s, start_s, step_s, correlation):
    """at_one (the engine's per-instance path) and at (its vectorised usage step) give the
    same usage for the same (instance, age, time), to rounding; at_start too at age 0."""
    model = SyntheticUsage(np.linspace(0.5, 4, 50), np.linspace(1, 8, 50), step_s=step_s, seed=9,
                           cpu_burstiness=0.3, memory_burstiness=0.19, correlation=correlation,
                           diurnal_amplitude=0.2, diurnal_peak_s=3600.0)
    now = start_s + age_s
    one = model.at_one(i, age_s, now)
    many = model.at(np.array([i]), np.array([age_s]), now)
    assert np.allclose(one, [many[0][0], many[1][0]], rtol=1e-12, atol=0)
    first = model.at_start(np.array([i]), np.array([start_s]))
    assert np.allclose(model.at_one(i, 0.0, start_s), [first[0][0], first[1][0]], rtol=1e-12, atol=0)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), share=st.floats(0.05, 1.0), sigma=st.floats(0.0, 1.5),
       correlation=st.sampled_from([0.0, 0.4]), amplitude=st.sampled_from([0.0, 0.5]),
       start_s=st.floats(0, 5 * 86400.0))
def test_usage_never_exceeds_the_instances_size(seed, share, sigma, correlation, amplitude, start_s):
    """The sources' readings are shares of what each VM was given: whatever the mean share,
    burstiness, peaks and daily cycle, every path (the usage step, one instance, a start,
    the engine's start function, quantiles, the upper bound) stays at or below the size,
    and reaches it when the noise would carry it above."""
    n = 40
    cores, memory = np.linspace(1, 16, n), np.linspace(2, 64, n)
    model = SyntheticUsage(cores * share, memory * share, step_s=300.0, seed=seed, cpu_burstiness=sigma,
                           memory_burstiness=sigma, correlation=correlation, diurnal_amplitude=amplitude,
                           diurnal_peak_s=3600.0, cpu_max=cores, mem_max=memory)
    inst = np.arange(n)
    ages = np.arange(0, 2 * 86400.0, 300.0)
    cpu_seen, mem_seen = [], []
    for age in ages:
        cpu, mem = model.at(inst, np.full(n, age), start_s + age)
        cpu_seen.append(cpu)
        mem_seen.append(mem)
    cpu_seen, mem_seen = np.array(cpu_seen), np.array(mem_seen)
    assert (cpu_seen <= cores).all() and (mem_seen <= memory).all()
    start = model.start_usage()
    for i in range(0, n, 7):
        assert model.at_one(i, 3600.0, start_s + 3600.0)[1] <= memory[i]
        assert start(i, start_s)[0] <= cores[i] and start(i, start_s)[1] <= memory[i]
    first = model.at_start(inst, np.full(n, start_s))
    assert (first[0] <= cores).all() and (first[1] <= memory).all()
    assert (model.quantile(0.999)[1] <= memory).all() and (model.upper()[1] <= memory).all()
    if share * math.exp(3 * sigma) > 1.5:  # the noise carries some windows far above the size
        assert (mem_seen == memory).any()
