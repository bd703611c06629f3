"""The synthetic usage over time against the traces it is calibrated on, figure by figure.

Each figure is computed twice in the same test: from simdc's output (``trace generate``
of the default generator over 30 days: its usage table, 5-minute steps, the instances
alive for at least 28 days) and from the source files under ../shared/traces:

- CPU: traces/azure_v2_2019/vm_cpu_readings_20vms.csv.gz, ``avg_cpu`` of 20 VMs in time
  order (~8,630 readings each); per-VM mean CPU: vmtable_subset_500vms.csv, ``avg_cpu``.
- memory: traces/bitbrains_rnd/2013-7/*.csv.gz, ``Memory usage [KB]`` of 20 VMs in time
  order (~8,250 rows each).

A figure is a median or quartile over VMs (instances). The tolerance is twice the
standard error of the difference, each side's standard error bootstrapped from its own
VMs or instances (2,000 resamples, a fixed seed): with 20 source VMs that is what the
sample can tell apart, and no more.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from simdc.config import validate
from simdc.workload.inspect import generate_trace
from tests.workload.traces import sample

DAY_S = 86400.0
STEP_S = 300.0
LONG_STEPS = int(28 * DAY_S / STEP_S)  # a month-long series, as the sources' (8,250-8,640 readings)


def acf(x: np.ndarray, lag: int) -> float:
    """Sample autocorrelation at ``lag`` steps: Σ(x_t − x̄)(x_{t+lag} − x̄) / Σ(x_t − x̄)²."""
    x = np.asarray(x, float) - np.mean(x)
    return float((x[:-lag] * x[lag:]).sum() / (x * x).sum())


def month_of_usage(folder, synthetic: dict) -> dict[str, np.ndarray | pd.DataFrame]:
    """``trace generate`` of the defaults, but for ``synthetic``'s fields, for 30 days
    (≈ 5,200 instances, ≈ 280 living the month), read back from the files it wrote: the
    long instances' CPU and memory fractions of their size, shape (LONG_STEPS,
    instances), and every instance's row."""
    config = validate({"simulation": {"duration_s": 30 * DAY_S, "seed": 11},
                       "host": {"cpu_cores": 32, "memory_gib": 64},
                       "workload": {"synthetic": {"arrival_rate_per_s": 0.002, **synthetic}}})
    _, written, usage_file = generate_trace(config, folder / "month.parquet", seed=11)
    instances = pd.read_parquet(written).set_index("id")
    usage = pd.read_parquet(usage_file)
    ids, t_s = usage["id"].to_numpy(), usage["t_s"].to_numpy(float)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])  # written instance by instance, by age
    assert len(starts) == len(np.unique(ids))
    # the instances living 28 days or more (a series runs on to the run's end, past a
    # shorter instance's duration: what it would use if it lived longer)
    lived = instances.loc[ids[starts], "duration_s"].to_numpy(float)
    long = starts[np.ceil(lived / STEP_S) >= LONG_STEPS]
    assert len(long) >= 150, len(long)
    take = (long[:, None] + np.arange(LONG_STEPS)).T  # (LONG_STEPS, instances): rows of each one's first 28 days
    assert (t_s[take] == np.arange(LONG_STEPS)[:, None] * STEP_S).all()
    sizes = instances.loc[ids[long]]
    cpu = usage["cpu_cores"].to_numpy(float)[take] / sizes["cpu_cores"].to_numpy(float)
    mem = usage["memory_gib"].to_numpy(float)[take] / sizes["memory_gib"].to_numpy(float)
    return {"cpu": cpu, "memory": mem, "instances": instances}


@pytest.fixture(scope="module")
def simdc_series(tmp_path_factory) -> dict[str, np.ndarray | pd.DataFrame]:
    """A month of the generator's usage (:func:`month_of_usage`) with memory's mean share
    of size at Bitbrains' (9.7 %, CALIBRATION.md), the regime its figures were measured
    in: usage is clipped at the size, so at the default 30 % a peak of 6× the mean would
    be cut to the size (test_memory_peaks_at_the_default_mean_are_capped_by_the_size)."""
    return month_of_usage(tmp_path_factory.mktemp("gen"), {"memory_usage": {"mean": 0.097}})


@pytest.fixture(scope="module")
def default_series(tmp_path_factory) -> dict[str, np.ndarray | pd.DataFrame]:
    """A month of the generator's usage at every default (memory's mean share 30 %)."""
    return month_of_usage(tmp_path_factory.mktemp("default"), {})


@pytest.fixture(scope="module")
def azure_cpu() -> list[np.ndarray]:
    """Each Azure 2019 VM's 5-minute average CPU, in time order."""
    readings = pd.read_csv(sample("azure_v2_2019/vm_cpu_readings_20vms.csv.gz"))
    readings = readings.sort_values(["vm_id", "timestamp"], kind="stable")
    return [group.to_numpy(float) for _, group in readings.groupby("vm_id")["avg_cpu"]]


@pytest.fixture(scope="module")
def bitbrains_memory() -> list[np.ndarray]:
    """Each Bitbrains Rnd VM's memory used, in time order (the README's ';' + tab separator)."""
    series = []
    for path in sorted(sample("bitbrains_rnd/2013-7").glob("*.csv.gz")):
        table = pd.read_csv(path, sep=";", usecols=[0, 6])  # the tab after ';' is read as leading space
        table.columns = [c.strip() for c in table.columns]
        assert list(table.columns) == ["Timestamp [ms]", "Memory usage [KB]"]
        series.append(table.sort_values("Timestamp [ms]", kind="stable")["Memory usage [KB]"].to_numpy(float))
    assert len(series) == 20
    return series


def per_unit(values, statistic) -> np.ndarray:
    """``statistic`` of each VM's series (a list) or each instance's column (an array)."""
    columns = values.T if isinstance(values, np.ndarray) else values
    return np.array([statistic(column) for column in columns])


def boot_se(values: np.ndarray, q: float, seed: int = 3) -> float:
    """Bootstrap standard error of the q-quantile of ``values`` (2,000 resamples)."""
    rng = np.random.default_rng(seed)
    draws = rng.choice(values, size=(2000, len(values)), replace=True)
    return float(np.quantile(draws, q, axis=1).std())


def assert_quantile_matches(got: np.ndarray, source: np.ndarray, q: float) -> None:
    """The q-quantile over simdc's instances equals the source's over its VMs, within two
    standard errors of the difference."""
    a, b = float(np.quantile(got, q)), float(np.quantile(source, q))
    tolerance = 2 * math.hypot(boot_se(got, q), boot_se(source, q))
    assert abs(a - b) <= tolerance, f"q{q}: simdc {a:.3f}, source {b:.3f}, tolerance {tolerance:.3f}"


def p95_over_mean(x: np.ndarray) -> float:
    return float(np.quantile(x, 0.95) / np.mean(x))


def max_over_mean(x: np.ndarray) -> float:
    return float(np.max(x) / np.mean(x))


def test_cpu_lag_1_autocorrelation_matches_azure_2019(simdc_series, azure_cpu):
    """5-minute CPU is not independent noise: the median VM's lag-1 (5-min) autocorrelation
    is 0.37 in Azure 2019, and simdc's median instance's is the same within tolerance
    (it was 0.00 with a fresh draw every 5 minutes)."""
    got = per_unit(simdc_series["cpu"], lambda x: acf(x, 1))
    source = per_unit(azure_cpu, lambda x: acf(x, 1))
    assert_quantile_matches(got, source, 0.5)
    assert np.median(got) > 0.2


def test_cpu_has_a_daily_cycle_as_azure_2019(simdc_series, azure_cpu):
    """The autocorrelation one day apart (lag 288) of the median VM, 0.35 in Azure 2019:
    a daily cycle, which simdc's instances have too."""
    got = per_unit(simdc_series["cpu"], lambda x: acf(x, 288))
    source = per_unit(azure_cpu, lambda x: acf(x, 288))
    assert_quantile_matches(got, source, 0.5)


def test_memory_lag_1_autocorrelation_matches_bitbrains(simdc_series, bitbrains_memory):
    """Memory moves slowly: lag-1 autocorrelation 0.54 for the median Bitbrains VM."""
    got = per_unit(simdc_series["memory"], lambda x: acf(x, 1))
    source = per_unit(bitbrains_memory, lambda x: acf(x, 1))
    assert_quantile_matches(got, source, 0.5)
    assert np.median(got) > 0.3


@pytest.mark.parametrize("q", [0.25, 0.5, 0.75])
def test_cpu_burstiness_spreads_over_instances_as_over_azure_vms(simdc_series, azure_cpu, q):
    """p95 ÷ mean of 5-minute CPU per instance: its median and quartiles over instances
    match the 20 Azure 2019 VMs' (1.36, 1.56, 1.67), not one figure for every instance."""
    got = per_unit(simdc_series["cpu"], p95_over_mean)
    source = per_unit(azure_cpu, p95_over_mean)
    assert_quantile_matches(got, source, q)


def test_memory_burstiness_matches_bitbrains(simdc_series, bitbrains_memory):
    """Memory p95 ÷ mean for the median instance: 1.36 for the median Bitbrains VM."""
    got = per_unit(simdc_series["memory"], p95_over_mean)
    source = per_unit(bitbrains_memory, p95_over_mean)
    assert_quantile_matches(got, source, 0.5)


def test_memory_rare_peaks_match_bitbrains(simdc_series, bitbrains_memory):
    """Memory max ÷ mean over a month for the median instance: 6.1 for the median
    Bitbrains VM, far beyond its p95 (a lognormal body alone gave 2.9)."""
    got = per_unit(simdc_series["memory"], max_over_mean)
    source = per_unit(bitbrains_memory, max_over_mean)
    assert_quantile_matches(got, source, 0.5)


def test_memory_burstiness_at_the_default_mean_matches_bitbrains(default_series, bitbrains_memory):
    """At the default memory mean (30 %, read from the config model) the median
    instance's memory p95 ÷ mean is still Bitbrains' (1.355 for the median of its 20 VMs):
    a p95 of 1.36 × 30 % stays under the size, so clipping leaves it alone."""
    assert default_mean() > 0.097
    got = per_unit(default_series["memory"], p95_over_mean)
    source = per_unit(bitbrains_memory, p95_over_mean)
    assert np.median(source) == pytest.approx(1.355, abs=0.0005)  # CALIBRATION.md's figure, from the files
    assert_quantile_matches(got, source, 0.5)


# README, "Usage over time" (a known limit, measured by a new user's trial): at the default
# memory mean the month's memory max ÷ size of instances alive for a month averages 0.88,
# against Bitbrains' 0.56 (CALIBRATION.md: per-VM max 56 % on average).
README_MAX_OVER_SIZE, BITBRAINS_MAX_OVER_SIZE = 0.88, 0.56


def default_mean() -> float:
    """The generator's default memory mean share of size, from the config model."""
    from simdc.model.workload import SyntheticSpec

    return SyntheticSpec.model_fields["memory_usage"].default_factory().mean


def test_memory_peaks_at_the_default_mean_are_capped_by_the_size(default_series, bitbrains_memory):
    """The known limit the README states, held at the default memory mean: usage is held
    to the size, so each instance's month max ÷ mean is at most 1 ÷ its own mean (3.3 at a
    mean of 0.30), below Bitbrains' 6.1 for the median VM; and max used ÷ size averages
    the README's 0.88 (within 2 standard errors over the instances), far above
    Bitbrains' 0.56."""
    memory = default_series["memory"]
    means, peaks = memory.mean(axis=0), memory.max(axis=0)
    assert abs(means.mean() - default_mean()) < 4 * means.std(ddof=1) / math.sqrt(len(means))
    assert (peaks / means <= 1 / means * (1 + 1e-9)).all() and (peaks <= 1 + 1e-9).all()
    assert np.median(peaks / means) < np.median(per_unit(bitbrains_memory, max_over_mean))
    se = peaks.std(ddof=1) / math.sqrt(len(peaks))
    assert abs(peaks.mean() - README_MAX_OVER_SIZE) <= 2 * se, (peaks.mean(), se)
    assert peaks.mean() - BITBRAINS_MAX_OVER_SIZE > 10 * se


@pytest.fixture(scope="module")
def azure_vm_means() -> np.ndarray:
    """Each of the 500 Azure 2019 VMs' average CPU, as a fraction of its cores."""
    return pd.read_csv(sample("azure_v2_2019/vmtable_subset_500vms.csv"))["avg_cpu"].to_numpy(float) / 100


@pytest.mark.parametrize("q", [0.25, 0.5, 0.75])
def test_per_instance_mean_cpu_quartiles_match_azure_2019(simdc_series, azure_vm_means, q):
    """Median and quartiles of the per-instance mean CPU fraction (cpu_used ÷ cpu_cores of
    every generated instance) match the 500 VMs' (6.9 %, 3.6-10.6 %): the former Beta had
    median 5.3 %, beyond this tolerance."""
    instances = simdc_series["instances"]
    got = (instances["cpu_used"] / instances["cpu_cores"]).to_numpy(float)
    assert_quantile_matches(got, azure_vm_means, q)


def test_per_instance_mean_cpu_mean_matches_azure_2019(simdc_series, azure_vm_means):
    """The mean of per-instance mean CPU is the 500 VMs' 9.4 %, within two standard errors
    of the difference of the two sample means."""
    instances = simdc_series["instances"]
    got = (instances["cpu_used"] / instances["cpu_cores"]).to_numpy(float)
    se = math.hypot(got.std(ddof=1) / math.sqrt(len(got)), azure_vm_means.std(ddof=1) / math.sqrt(len(azure_vm_means)))
    assert abs(got.mean() - azure_vm_means.mean()) <= 2 * se, (got.mean(), azure_vm_means.mean(), se)


def test_the_default_cpu_table_is_the_files_quantiles(azure_vm_means):
    """AZURE_2019_CPU_MEAN_CDF is numpy's quantiles of the file at its shares (4 decimals)."""
    from simdc.model.workload import AZURE_2019_CPU_MEAN_CDF

    fractions, shares = zip(*AZURE_2019_CPU_MEAN_CDF)
    assert np.allclose(fractions, np.quantile(azure_vm_means, shares), atol=5e-5)


def test_a_mean_set_over_the_default_table_is_a_beta_again():
    """``--set workload.synthetic.cpu_usage.mean=0.5`` over the default (whose dump holds
    the table) gives Beta(0.5·6, 0.5·6); a mean beside a table of one's own is refused."""
    from simdc.model.workload import SyntheticSpec, UsageFraction

    base = SyntheticSpec(arrival_rate_per_s=1.0).model_dump(mode="json", exclude_none=True)
    base["cpu_usage"]["mean"] = 0.5
    usage = SyntheticSpec.model_validate(base).cpu_usage
    assert usage.cdf is None and usage.mean == 0.5
    draws = usage.sample(np.random.default_rng(1), 20_000)
    assert abs(draws.mean() - 0.5) < 0.01  # Beta(3, 3): sd 0.19, SE 0.0013
    with pytest.raises(ValueError, match="not both"):
        UsageFraction(mean=0.2, cdf=((0.1, 0.0), (0.5, 1.0)))


def test_a_concentration_the_table_would_ignore_is_refused_and_a_written_config_reloads():
    """Concentration shapes only a Beta: alone (no mean over the default table) or beside a
    cdf of another value it would be ignored silently, so it is refused, naming what to set;
    the default's dump (a results folder's config.toml: the table beside concentration 6)
    loads back to the same table."""
    from simdc.model.workload import AZURE_2019_CPU_MEAN_CDF, SyntheticSpec, UsageFraction

    with pytest.raises(ValueError, match="concentration alone shapes a Beta around no mean"):
        UsageFraction(concentration=3.0)
    with pytest.raises(ValueError, match=r"concentration \(3\) shapes only a Beta"):
        UsageFraction(cdf=((0.1, 0.0), (0.5, 1.0)), concentration=3.0)
    dumped = SyntheticSpec(arrival_rate_per_s=1.0).model_dump(mode="json", exclude_none=True)
    assert dumped["cpu_usage"]["concentration"] == 6.0
    assert SyntheticSpec.model_validate(dumped).cpu_usage.cdf == AZURE_2019_CPU_MEAN_CDF
