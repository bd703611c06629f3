"""Admission without a queue is a loss system: the simulator must block as theory says."""

import pytest

import simdc
from tests.oracle.scenarios import single_host
from tests.oracle.theory import batch_means, erlang_b, kaufman_roberts, results_frame, within

ARRIVALS = 120_000


@pytest.mark.parametrize("slots, load", [(5, 5.0), (10, 10.0), (20, 15.0)])
def test_vm_blocking_matches_erlang_b(slots, load):
    """Equal 1-vCPU VMs, Poisson arrivals, exponential lifetimes, c slots, no queue:
    blocking is Erlang B(c, A) (Erlang 1917; exact values in CALIBRATION.md)."""
    config = single_host(slots=slots, arrival_rate_per_s=load, lifetime_s={"mean": 1.0}, arrivals=ARRIVALS)
    inst = simdc.simulate(config).instances
    blocked, se = batch_means(inst["submit_s"].to_numpy(), (inst["outcome"] == "rejected").to_numpy())
    assert within(blocked, se, erlang_b(slots, load)), (blocked, se, erlang_b(slots, load))


def test_erlang_b_holds_for_lognormal_lifetimes_and_counts_boot_as_holding_time():
    """Erlang B is insensitive to the holding-time distribution: lognormal lifetimes
    (median 0.4 s, p95 2 s) plus a constant 0.3 s boot hold a slot for 0.3 + E[L] seconds."""
    lifetime = simdc.model.Distribution(median=0.4, p95=2.0)
    holding_s = 0.3 + lifetime.expected_s
    rate = 10.0 / holding_s
    config = single_host(slots=10, arrival_rate_per_s=rate, lifetime_s={"median": 0.4, "p95": 2.0},
                         boot_s=0.3, arrivals=ARRIVALS)
    inst = simdc.simulate(config).instances
    blocked, se = batch_means(inst["submit_s"].to_numpy(), (inst["outcome"] == "rejected").to_numpy())
    assert within(blocked, se, erlang_b(10, 10.0)), (blocked, se)


def test_container_requests_admission_is_the_same_loss_system():
    """Containers admitted by requests, with zero overhead and start time, block like VMs."""
    config = single_host(slots=10, arrival_rate_per_s=8.0, lifetime_s={"mean": 1.0}, arrivals=ARRIVALS,
                         platform="container")
    inst = simdc.simulate(config).instances
    blocked, se = batch_means(inst["submit_s"].to_numpy(), (inst["outcome"] == "rejected").to_numpy())
    assert within(blocked, se, erlang_b(10, 8.0)), (blocked, se)


def test_two_vm_sizes_match_kaufman_roberts_per_class():
    """32 cores shared by 1-vCPU VMs (A = 8) and 4-vCPU VMs (A = 4): per-class blocking
    follows the Kaufman–Roberts recursion (0.031348 and 0.146601, CALIBRATION.md)."""
    config = single_host(slots=32, arrival_rate_per_s=12.0, lifetime_s={"mean": 1.0},
                         sizes=((1, 8.0), (4, 4.0)), arrivals=2 * ARRIVALS)
    frame = results_frame(simdc.simulate(config))
    expected = kaufman_roberts(32, [(1, 8.0), (4, 4.0)])
    for units, exact in zip((1, 4), expected):
        cls = frame[frame["cpu_cores"] == units]
        blocked, se = batch_means(cls["submit_s"].to_numpy(), (cls["outcome"] == "rejected").to_numpy())
        assert within(blocked, se, exact), (units, blocked, se, exact)


def test_mean_busy_slots_is_offered_load_times_acceptance():
    """Carried load of an Erlang loss system: mean instances = A (1 − B)."""
    config = single_host(slots=10, arrival_rate_per_s=10.0, lifetime_s={"mean": 1.0}, arrivals=ARRIVALS)
    results = simdc.simulate(config)
    hosts = results.hosts
    resident = hosts["resident_s"].iloc[0] / hosts["duration_s"].iloc[0]
    exact = 10.0 * (1 - erlang_b(10, 10.0))
    # ±2 %: the carried load's batch-means error at this length is about 0.5 %.
    assert resident == pytest.approx(exact, rel=0.02)
    assert results.summary["mean_instances"].iloc[0] == pytest.approx(resident, rel=1e-9)
