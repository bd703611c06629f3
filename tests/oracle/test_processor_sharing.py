"""Batch work sharing one core is M/G/1 processor sharing (DESIGN.md §6)."""

import math

import pytest

import simdc
from simdc.config import validate
from tests.oracle.theory import batch_means, within

# Lognormal job sizes with E[S] = 1: σ = 0.8, median = exp(−σ²/2).
SIGMA = 0.8
MEDIAN = math.exp(-SIGMA**2 / 2)
P95 = MEDIAN * math.exp(1.6448536269514722 * SIGMA)


def one_core_batch(load: float, arrivals: int, seed: int = 3):
    """Single-threaded batch jobs on one core, all admitted (overcommit without limit)."""
    duration_s = arrivals / load
    return validate({
        "simulation": {"duration_s": duration_s, "seed": seed, "platforms": ["container"],
                       "sample_every_s": duration_s / 4},
        "host": {"cpu_cores": 1, "memory_gib": 1e6},
        "platform": {"container": {"overhead_mib": 0, "start_s": 0, "overcommit": 1e6}},
        "workload": {"synthetic": {
            "arrival_rate_per_s": load,
            "sizes": [{"cpu_cores": 1, "memory_gib": 0.001, "weight": 1}],
            "lifetime_s": {"median": MEDIAN, "p95": P95},
            "cpu_usage": {"mean": 1.0}, "cpu_burstiness": 0, "memory_burstiness": 0,
            "batch_fraction": 1.0,
        }},
    })


@pytest.mark.parametrize("load", [0.5, 0.8])
def test_batch_sojourn_matches_m_g_1_processor_sharing(load):
    """M/G/1-PS: mean sojourn E[T] = E[S] / (1 − ρ), whatever the size distribution
    (Kleinrock 1967; CALIBRATION.md: E[T] = 2 at ρ = 0.5, 5 at ρ = 0.8, for E[S] = 1)."""
    config = one_core_batch(load, arrivals=50_000)
    assert config.workload.synthetic.lifetime_s.expected_s == pytest.approx(1.0)
    results = simdc.simulate(config)
    inst = results.instances
    done = inst[inst["outcome"] == "completed"]
    sojourn, se = batch_means(done["submit_s"].to_numpy(), (done["end_s"] - done["submit_s"]).to_numpy())
    assert within(sojourn, se, 1 / (1 - load)), (sojourn, se)


@pytest.mark.parametrize("load", [0.5, 0.8])
def test_processor_sharing_is_fair_to_every_job_size(load):
    """Under PS a job of size x stays x / (1 − ρ) on average: the slowdown T/x has the
    same mean 1/(1 − ρ) for small and for large jobs."""
    results = simdc.simulate(one_core_batch(load, arrivals=50_000, seed=4))
    frame = results.instances.merge(results.workload[["id", "duration_s"]], on="id")
    done = frame[frame["outcome"] == "completed"]
    for label, part in (("small", done[done["duration_s"] < 0.5]), ("large", done[done["duration_s"] > 2.0])):
        slowdown, se = batch_means(part["submit_s"].to_numpy(), part["slowdown"].to_numpy())
        assert within(slowdown, se, 1 / (1 - load)), (label, slowdown, se)


def test_busy_core_delivers_the_offered_work():
    """Work conservation: the core is busy a fraction ρ of the time, and no demand is
    unmet beyond what queueing implies (delivered work = arrived work)."""
    results = simdc.simulate(one_core_batch(0.5, arrivals=40_000))
    summary = results.summary.iloc[0]
    assert summary["cpu_util_mean"] == pytest.approx(0.5, rel=0.03)
