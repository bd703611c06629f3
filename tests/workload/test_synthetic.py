"""The synthetic generator (simdc/workload/synthetic.py) against the distributions it
claims to draw from.

Each statistical check allows 4 standard errors of the statistic, computed from the
claimed distribution; seeds are fixed, so the tests are deterministic, and a correct
generator would pass them for all but about 1 seed in 15,000.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pandas.testing import assert_frame_equal

from simdc.model.workload import SyntheticSpec
from simdc.workload import COLUMNS
from simdc.workload.synthetic import DAY_S, generate

Z = 4.0  # tolerance, in standard errors


def spec(**fields) -> SyntheticSpec:
    return SyntheticSpec.model_validate({"arrival_rate_per_s": 0.01, **fields})


def test_table_has_the_workload_schema():
    """Columns in canonical order, unique integer ids, kinds from the two allowed,
    no image, priority 0, positive lifetimes."""
    table = generate(spec(batch_fraction=0.5), 20_000, seed=1).instances
    assert list(table.columns) == list(COLUMNS)
    assert len(table) > 100
    assert table["id"].is_unique and table["id"].dtype == np.int64
    assert set(table["kind"].astype(str)) == {"service", "batch"}
    assert (table["image"] == "").all() and (table["priority"] == 0).all()
    assert (table["duration_s"] > 0).all()


def test_arrival_count_is_poisson_with_mean_rate_times_duration():
    """Over 300 seeds, the number of arrivals in T has mean λT and variance λT
    (Poisson: index of dispersion 1)."""
    rate, duration = 0.01, 10_000.0
    expected = rate * duration
    counts = np.array([len(generate(spec(arrival_rate_per_s=rate), duration, seed)) for seed in range(300)])
    n = len(counts)
    assert abs(counts.mean() - expected) < Z * math.sqrt(expected / n), counts.mean()
    dispersion = counts.var(ddof=1) / expected
    # Var(s²)/λ² ≈ 2/(n−1) + 1/(nλ) for a Poisson sample.
    assert abs(dispersion - 1) < Z * math.sqrt(2 / (n - 1) + 1 / (n * expected)), dispersion


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_arrivals_are_sorted_and_inside_the_run(seed):
    """Every submit_s is in [0, T) and the table is sorted by it."""
    duration = 5_000.0
    submit = generate(spec(arrival_rate_per_s=0.2), duration, seed).instances["submit_s"]
    assert len(submit) > 500
    assert submit.min() >= 0 and submit.max() < duration
    assert submit.is_monotonic_increasing


def test_inter_arrival_times_are_exponential():
    """Gaps between Poisson arrivals are exponential: P(gap > 1/λ) = e^-1."""
    rate = 0.5
    submit = generate(spec(arrival_rate_per_s=rate), 40_000, seed=5).instances["submit_s"].to_numpy()
    gaps = np.diff(submit)
    share = (gaps > 1 / rate).mean()
    p = math.exp(-1)
    assert abs(share - p) < Z * math.sqrt(p * (1 - p) / len(gaps)), share


def test_size_mix_matches_weights():
    """Class frequencies over ~20,000 draws match weights 1:2:5 (not summing to 1)."""
    sizes = [{"cpu_cores": 1, "memory_gib": 2, "weight": 1},
             {"cpu_cores": 2, "memory_gib": 4, "weight": 2},
             {"cpu_cores": 8, "memory_gib": 56, "weight": 5}]
    table = generate(spec(arrival_rate_per_s=1.0, sizes=sizes), 20_000, seed=2).instances
    n = len(table)
    for size in sizes:
        p = size["weight"] / 8
        share = ((table["cpu_cores"] == size["cpu_cores"]) & (table["memory_gib"] == size["memory_gib"])).mean()
        assert abs(share - p) < Z * math.sqrt(p * (1 - p) / n), (size, share)
    pairs = set(zip(table["cpu_cores"], table["memory_gib"]))
    assert pairs == {(s["cpu_cores"], s["memory_gib"]) for s in sizes}


def test_exponential_lifetimes_have_the_configured_mean():
    """lifetime_s = {mean = 600}: sample mean within 4 standard errors (sd = mean)."""
    mean = 600.0
    durations = generate(spec(arrival_rate_per_s=1.0, lifetime_s={"mean": mean}), 20_000, seed=3
                         ).instances["duration_s"]
    assert abs(durations.mean() - mean) < Z * mean / math.sqrt(len(durations)), durations.mean()


def test_lognormal_lifetimes_have_the_configured_median_and_p95():
    """lifetime_s = {median, p95}: half the lifetimes are below the median and 95 % below
    the p95 (binomial tolerance on each share)."""
    median, p95 = 1800.0, 43200.0
    durations = generate(spec(arrival_rate_per_s=1.0, lifetime_s={"median": median, "p95": p95}),
                         20_000, seed=4).instances["duration_s"]
    n = len(durations)
    for value, p in ((median, 0.5), (p95, 0.95)):
        share = (durations < value).mean()
        assert abs(share - p) < Z * math.sqrt(p * (1 - p) / n), (value, share)


def test_constant_and_sampled_lifetimes():
    """lifetime_s = 90 gives 90 s for all; a list draws only its values, equally often."""
    constant = generate(spec(arrival_rate_per_s=0.5, lifetime_s=90), 10_000, seed=1).instances
    assert (constant["duration_s"] == 90).all()
    sampled = generate(spec(arrival_rate_per_s=1.0, lifetime_s=[60, 120, 600]), 9_000, seed=1).instances
    n = len(sampled)
    assert set(sampled["duration_s"]) == {60.0, 120.0, 600.0}
    for value in (60.0, 120.0, 600.0):
        share = (sampled["duration_s"] == value).mean()
        assert abs(share - 1 / 3) < Z * math.sqrt(2 / 9 / n), (value, share)


@pytest.mark.parametrize(("column", "size", "key"), [
    ("cpu_used", "cpu_cores", "cpu_usage"),
    ("memory_used_gib", "memory_gib", "memory_usage"),
])
def test_usage_fractions_are_in_unit_interval_with_configured_mean(column, size, key):
    """Usage / size is a Beta(m·k, (1−m)·k) fraction: in [0, 1], mean m, variance
    m(1−m)/(k+1) (the concentration k sets the spread between instances)."""
    mean, k = 0.2, 4.0
    table = generate(spec(arrival_rate_per_s=1.0, **{key: {"mean": mean, "concentration": k}}),
                     20_000, seed=6).instances
    fraction = table[column] / table[size]
    assert fraction.between(0, 1).all()
    variance = mean * (1 - mean) / (k + 1)
    assert abs(fraction.mean() - mean) < Z * math.sqrt(variance / len(fraction)), fraction.mean()
    # Relative standard error of a sample variance: √((κ − 1)/n) ≈ 1.2 % here (kurtosis
    # κ = 3.75 for Beta(0.8, 3.2)); 10 % is loose, yet a uniform of mean m is far off.
    assert fraction.var() == pytest.approx(variance, rel=0.1), fraction.var()


def test_full_usage_means_instances_use_their_whole_size():
    """memory_usage.mean = 1: every instance uses exactly its size."""
    table = generate(spec(memory_usage={"mean": 1.0}), 20_000, seed=1).instances
    assert (table["memory_used_gib"] == table["memory_gib"]).all()


def test_batch_fraction_sets_the_share_of_batch_instances():
    """batch_fraction = 0.3: about 30 % of instances are of kind batch."""
    table = generate(spec(arrival_rate_per_s=1.0, batch_fraction=0.3), 20_000, seed=7).instances
    share = (table["kind"] == "batch").mean()
    assert abs(share - 0.3) < Z * math.sqrt(0.3 * 0.7 / len(table)), share


@pytest.mark.parametrize("peak_s", [14 * 3600.0, 3 * 3600.0])
def test_diurnal_rate_puts_more_arrivals_in_the_peak_half_day(peak_s):
    """λ(t) = λ(1 + a cos(2π(t − peak)/day)) integrates to λ·day(1/2 ± a/π) over the
    half-days centred on the peak and on the trough, so the peak half holds a share
    (1 + 2a/π)/2 of the arrivals, ≈ 1.93 times the trough's for a = 0.5; the daily
    mean rate stays λ."""
    rate, amplitude, days = 0.05, 0.5, 5
    duration = days * DAY_S
    submit = generate(spec(arrival_rate_per_s=rate, diurnal_amplitude=amplitude, diurnal_peak_s=peak_s),
                      duration, seed=8).instances["submit_s"].to_numpy()
    n = len(submit)
    assert abs(n - rate * duration) < Z * math.sqrt(rate * duration), n

    phase = ((submit - peak_s) / DAY_S) % 1.0
    in_peak_half = (phase < 0.25) | (phase >= 0.75)
    p = (1 + 2 * amplitude / math.pi) / 2
    share = in_peak_half.mean()
    ratio = in_peak_half.sum() / (~in_peak_half).sum()
    assert abs(share - p) < Z * math.sqrt(p * (1 - p) / n), (share, p, ratio)


def test_no_diurnal_amplitude_means_a_flat_rate():
    """Without an amplitude the two half-days get the same share (1/2)."""
    submit = generate(spec(arrival_rate_per_s=0.05), 5 * DAY_S, seed=8).instances["submit_s"].to_numpy()
    phase = ((submit - 14 * 3600) / DAY_S) % 1.0
    share = ((phase < 0.25) | (phase >= 0.75)).mean()
    assert abs(share - 0.5) < Z * math.sqrt(0.25 / len(submit)), share


def test_same_seed_gives_identical_workload():
    """Equal spec and seed: identical tables, every column."""
    s = spec(batch_fraction=0.2, diurnal_amplitude=0.3)
    assert_frame_equal(generate(s, 50_000, seed=11).instances, generate(s, 50_000, seed=11).instances)


def test_different_seeds_give_different_workloads():
    """Another seed changes arrival times, sizes, lifetimes and usage."""
    a = generate(spec(), 50_000, seed=11).instances
    b = generate(spec(), 50_000, seed=12).instances
    n = min(len(a), len(b))
    for column in ("submit_s", "duration_s", "memory_gib", "cpu_used", "memory_used_gib"):
        assert not np.array_equal(a[column].to_numpy()[:n], b[column].to_numpy()[:n]), column


def test_each_aspect_has_its_own_random_stream():
    """Changing the size mix leaves arrival times and lifetimes unchanged; changing the
    lifetimes leaves arrivals and sizes unchanged."""
    base = generate(spec(), 50_000, seed=5).instances
    other_sizes = generate(spec(sizes=[{"cpu_cores": 2, "memory_gib": 3, "weight": 1},
                                       {"cpu_cores": 4, "memory_gib": 6, "weight": 1}]),
                           50_000, seed=5).instances
    assert_frame_equal(other_sizes[["submit_s", "duration_s"]], base[["submit_s", "duration_s"]])
    other_lifetimes = generate(spec(lifetime_s={"mean": 10}), 50_000, seed=5).instances
    assert_frame_equal(other_lifetimes[["submit_s", "cpu_cores", "memory_gib"]],
                       base[["submit_s", "cpu_cores", "memory_gib"]])


def test_run_shorter_than_any_arrival_gives_an_empty_table():
    """A tiny rate over a short run may give no arrival: an empty table, same schema."""
    table = generate(spec(arrival_rate_per_s=1e-9), 1.0, seed=0).instances
    assert len(table) == 0
    assert list(table.columns) == list(COLUMNS)
