"""Fleets: placement policies, limits on concurrent starts, energy, and a fleet's blocking."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import simdc
from simdc.config import validate
from simdc.placement import (POLICIES, SCORERS, Fleet, best_fit, first_fit, kubernetes, left_after,
                             one_host_scorer, random_fit, worst_fit)
from tests.oracle.theory import batch_means, erlang_b, within


def fleet(free_cpu, free_mem, cpu=1.0, mem=1.0, cap_cpu=8.0, cap_mem=16.0):
    free_cpu, free_mem = np.asarray(free_cpu, float), np.asarray(free_mem, float)
    n = len(free_cpu)
    caps_c, caps_m = np.full(n, cap_cpu), np.full(n, cap_mem)
    return Fleet(caps_c, caps_m, caps_c - free_cpu, caps_m - free_mem,
                 (free_cpu >= cpu) & (free_mem >= mem), cpu, mem)


# Host 0 is full; host 1 nearly full; host 2 half free; host 3 empty.
HOSTS = fleet([0.5, 2, 4, 8], [0.5, 3, 8, 16])


def test_first_fit_takes_the_first_host_that_fits():
    assert first_fit(HOSTS) == 1


def test_best_fit_takes_the_host_left_fullest():
    assert best_fit(HOSTS) == 1


def test_worst_fit_takes_the_host_left_emptiest():
    assert worst_fit(HOSTS) == 3


def test_random_picks_only_hosts_that_fit_and_each_of_them():
    rng = np.random.default_rng(0)
    picks = {random_fit(HOSTS, rng=rng) for _ in range(200)}
    assert picks == {1, 2, 3}


def test_kubernetes_least_allocated_spreads_and_most_allocated_packs():
    assert kubernetes(HOSTS, weights={"least_allocated": 1}) == 3
    assert kubernetes(HOSTS, weights={"most_allocated": 1}) == 1


def test_kubernetes_balanced_allocation_prefers_even_cpu_and_memory():
    """Host 0 would be left 7/8 CPU free but 2/16 memory free; host 1 half and half."""
    hosts = fleet([8, 5], [3, 9], cpu=1, mem=1)
    assert kubernetes(hosts, weights={"balanced_allocation": 1}) == 1


def test_no_policy_places_where_nothing_fits():
    full = fleet([0.5, 0.5], [8, 8])
    assert all(policy(full, rng=np.random.default_rng(0), weights={"least_allocated": 1}) is None
               for policy in POLICIES.values())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 8), st.floats(0, 16)), min_size=1, max_size=12),
       st.floats(0.1, 8), st.floats(0.1, 16), st.sampled_from(sorted(POLICIES)))
def test_every_policy_picks_only_a_host_that_fits(free, cpu, mem, name):
    hosts = fleet([c for c, _ in free], [m for _, m in free], cpu=cpu, mem=mem)
    pick = POLICIES[name](hosts, rng=np.random.default_rng(1), weights={"least_allocated": 1, "balanced_allocation": 1})
    if hosts.fits.any():
        assert pick is not None and hosts.fits[pick]
    else:
        assert pick is None


def kube_scores(hosts: Fleet, weights: dict[str, float]) -> list[float]:
    """kube-scheduler's scores from their definitions, host by host, in plain Python: the
    free fractions after placement (least allocated), their complement (most allocated),
    and 1 − the population std of the requested fractions capped at 1 (balanced)."""
    scores = []
    for cap_c, cap_m, booked_c, booked_m in zip(hosts.cpu_cap, hosts.mem_cap, hosts.cpu_booked, hosts.mem_booked):
        cpu_left = (cap_c - booked_c - hosts.cpu) / cap_c
        mem_left = (cap_m - booked_m - hosts.mem) / cap_m
        shares = [min(1 - cpu_left, 1.0), min(1 - mem_left, 1.0)]
        mean = (shares[0] + shares[1]) / 2
        std = math.sqrt(((shares[0] - mean) ** 2 + (shares[1] - mean) ** 2) / 2)
        scores.append(weights.get("least_allocated", 0) * 100 * (cpu_left + mem_left) / 2
                      + weights.get("most_allocated", 0) * 100 * (2 - cpu_left - mem_left) / 2
                      + weights.get("balanced_allocation", 0) * 100 * (1 - std))
    return scores


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 16), st.integers(0, 32)), min_size=1, max_size=30),
       st.sampled_from([0.5, 1.0, 2.0, 4.0]), st.sampled_from([0.5, 1.75, 3.5, 7.0]),
       st.dictionaries(st.sampled_from(["least_allocated", "most_allocated", "balanced_allocation"]),
                       st.sampled_from([0.0, 0.5, 1.0, 2.0])))
def test_kubernetes_picks_the_first_host_with_the_highest_score(free, cpu, mem, weights):
    """Free capacity in halves of a core and of a GiB, so many hosts tie: the pick scores
    the most (to rounding), and among hosts booked alike the first wins, as documented."""
    hosts = fleet([c / 2 for c, _ in free], [m / 2 for _, m in free], cpu=cpu, mem=mem)
    pick = kubernetes(hosts, weights=weights)
    if not hosts.fits.any():
        assert pick is None
        return
    scores = kube_scores(hosts, weights)
    best = max(score for score, fits in zip(scores, hosts.fits) if fits)
    assert hosts.fits[pick]
    assert math.isclose(scores[pick], best, rel_tol=1e-12, abs_tol=1e-9)
    # ties to the first: no fitting host before the pick is booked exactly like it
    # (hosts booked alike score alike to the bit, whatever the rounding)
    same = (hosts.cpu_booked[:pick] == hosts.cpu_booked[pick]) & (hosts.mem_booked[:pick] == hosts.mem_booked[pick])
    assert not (same & hosts.fits[:pick]).any()


def cluster_config(groups, *, policy="first_fit", rate=10.0, arrivals=60_000, seed=1, extra=None):
    duration_s = arrivals / rate
    return validate({
        "simulation": {"duration_s": duration_s, "seed": seed, "platforms": ["vm"], "sample_every_s": duration_s / 10},
        "cluster": {"hosts": groups},
        "placement": {"policy": policy},
        "platform": {"vm": {"overhead_mib": 0, "boot_s": 0}},
        "workload": {"synthetic": {"arrival_rate_per_s": rate, "lifetime_s": {"mean": 1.0},
                                   "sizes": [{"cpu_cores": 1, "memory_gib": 1, "weight": 1}]}},
    } | (extra or {}))


weight = st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 1.7])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.floats(1, 256), st.floats(1, 1024), st.floats(0, 1.2), st.floats(0, 1.2)),
                min_size=1, max_size=20),
       st.floats(0, 64), st.floats(0, 256), st.sampled_from(sorted(SCORERS)),
       st.fixed_dictionaries({}, optional={"least_allocated": weight, "most_allocated": weight,
                                           "balanced_allocation": weight}))
def test_one_host_scorer_gives_each_host_the_double_the_fleet_scorer_gives_it(hosts, cpu, mem, name, weights):
    """The placer rescores a changed host alone with one_host_scorer; the plain computation
    scores the fleet with the policy's numpy scorer. Bookings up to 1.2 × the caps (a host
    overbooked: shares above 1, which balanced_allocation caps) and request sizes beyond a
    host's: each host's score must be the same double, bit for bit."""
    cpu_cap, mem_cap = np.array([h[0] for h in hosts]), np.array([h[1] for h in hosts])
    cpu_booked = cpu_cap * np.array([h[2] for h in hosts])
    mem_booked = mem_cap * np.array([h[3] for h in hosts])
    fleet_scores = SCORERS[name](*left_after(cpu_cap, mem_cap, cpu_booked, mem_booked, cpu, mem), weights)
    one = one_host_scorer(SCORERS[name], weights)
    for j in range(len(hosts)):
        got = one(float(cpu_cap[j]), float(mem_cap[j]), float(cpu_booked[j]), float(mem_booked[j]), cpu, mem)
        assert type(got) is float
        assert got == fleet_scores[j] or (math.isnan(got) and math.isnan(fleet_scores[j]))


@pytest.mark.parametrize("policy", ["first_fit", "worst_fit", "kubernetes"])
def test_a_fleet_of_equal_hosts_blocks_as_erlang_b_of_all_its_slots(policy):
    """4 hosts × 5 slots under any policy that only refuses when no host fits, Poisson
    arrivals at A = 15: blocking is B(20, 15) = 0.045593 (CALIBRATION.md)."""
    config = cluster_config([{"cpu_cores": 5, "memory_gib": 1e4, "count": 4}], policy=policy, rate=15.0,
                            arrivals=90_000)
    inst = simdc.simulate(config).instances
    blocked, se = batch_means(inst["submit_s"].to_numpy(), (inst["outcome"] == "rejected").to_numpy())
    assert within(blocked, se, erlang_b(20, 15.0)), (blocked, se)


def test_first_fit_fills_the_first_hosts_and_worst_fit_spreads():
    groups = [{"cpu_cores": 8, "memory_gib": 64, "count": 5}]
    low = {"rate": 0.5, "arrivals": 2_000}
    first = simdc.simulate(cluster_config(groups, policy="first_fit", **low))
    spread = simdc.simulate(cluster_config(groups, policy="worst_fit", **low))
    assert first.summary["hosts_used"].iloc[0] < spread.summary["hosts_used"].iloc[0] == 5
    per_host = first.instances.groupby("host").size()
    assert per_host.index[0] == 0 and per_host.iloc[0] == per_host.max()


def test_hosts_of_different_shapes_are_placed_in_group_order(tmp_path):
    groups = [{"cpu_cores": 2, "memory_gib": 4, "name": "small"},
              {"cpu_cores": 16, "memory_gib": 64, "count": 2, "name": "big"}]
    results = simdc.simulate(cluster_config(groups, rate=1.0, arrivals=3_000))
    hosts = results.hosts
    assert hosts["group"].tolist() == ["small", "big", "big"]
    assert hosts["cpu_cores"].tolist() == [2, 16, 16]


def one_vm(tmp_path, rows, *, extra=None, platform_rules=None, duration_s=100.0, host=None, power_off_idle=False):
    trace = tmp_path / "t.csv"
    pd.DataFrame([{"duration_s": 50.0, "memory_gib": 1} | r for r in rows]).to_csv(trace, index=False)
    return simdc.simulate(validate({
        "simulation": {"duration_s": duration_s, "platforms": ["vm"]},
        "cluster": {"hosts": [{"cpu_cores": 8, "memory_gib": 16, "power_idle_w": 100, "power_max_w": 300}
                              | (host or {})],
                    "power_off_idle": power_off_idle},
        "platform": {"vm": {"overhead_mib": 0, "boot_s": 10, "sizing": "as_given"} | (platform_rules or {})},
        "workload": {"trace": str(trace)},
    } | (extra or {})))


def test_energy_is_linear_in_cpu_utilisation(tmp_path):
    """One VM using 4 of 8 cores from t = 10 (after its boot) to 60 on a host drawing 100 W
    idle and 300 W flat out: 100 W × 100 s + 200 W × 4/8 × 50 s."""
    results = one_vm(tmp_path, [{"id": 1, "submit_s": 0.0, "cpu_cores": 4, "cpu_used": 4}])
    assert results.summary["energy_kwh"].iloc[0] == pytest.approx((100 * 100 + 200 * 0.5 * 50) / 3.6e6)


def test_an_idle_host_switched_off_draws_nothing(tmp_path):
    """With power_off_idle the host draws only while the VM is on it (t = 20 to 80)."""
    results = one_vm(tmp_path, [{"id": 1, "submit_s": 20.0, "cpu_cores": 4, "cpu_used": 0}], power_off_idle=True)
    assert results.summary["energy_kwh"].iloc[0] == pytest.approx(100 * 60 / 3.6e6)


def test_a_limit_on_concurrent_starts_staggers_boots(tmp_path):
    """Three VMs arrive together on a host allowed one start at a time; boots take 10 s:
    they are ready at 10, 20 and 30 s, the later ones waiting in the queue."""
    rows = [{"id": i, "submit_s": 0.0, "cpu_cores": 1, "cpu_used": 1} for i in range(3)]
    results = one_vm(tmp_path, rows, extra={"placement": {"when_full": "queue", "max_concurrent_starts": 1}})
    assert results.instances["ready_s"].tolist() == pytest.approx([10.0, 20.0, 30.0])
    assert results.instances["queue_s"].tolist() == pytest.approx([0.0, 10.0, 20.0])


def test_fragmentation_is_the_free_memory_when_a_request_finds_no_host(tmp_path):
    """Two hosts with 16 GiB each, each holding a 10 GiB VM: a 8 GiB request finds 12 GiB
    free across the fleet but no host with 8 GiB."""
    rows = [{"id": 1, "submit_s": 0.0, "cpu_cores": 1, "memory_gib": 10},
            {"id": 2, "submit_s": 0.0, "cpu_cores": 1, "memory_gib": 10},
            {"id": 3, "submit_s": 1.0, "cpu_cores": 1, "memory_gib": 8}]
    results = one_vm(tmp_path, rows, host={"count": 2})
    inst = results.instances.set_index("id")
    assert inst.loc[3, "outcome"] == "rejected"
    assert inst.loc[3, "free_mem_gib_at_failure"] == pytest.approx(12.0)
    assert results.summary["fragmentation_gib_mean"].iloc[0] == pytest.approx(12.0)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 16), st.integers(4, 64), st.integers(1, 3)), min_size=1, max_size=3),
       st.sampled_from(sorted(POLICIES)), st.integers(0, 1000))
def test_no_policy_ever_books_a_host_beyond_its_capacity(groups, policy, seed):
    """Random fleets, random policy: at every sample each host's booked memory stays
    within its allocatable memory, and every instance ends in one outcome."""
    config = validate({
        "simulation": {"duration_s": 4 * 3600.0, "seed": seed, "platforms": ["vm", "container"], "sample_every_s": 60},
        "cluster": {"hosts": [{"cpu_cores": c, "memory_gib": m, "count": k} for c, m, k in groups]},
        "placement": {"policy": policy, "when_full": "queue"},
        "workload": {"synthetic": {"arrival_rate_per_s": 0.02, "lifetime_s": {"median": 600, "p95": 3600}}},
    })
    results = simdc.simulate(config)
    series = results.timeseries.merge(results.hosts[["platform", "host", "memory_gib"]], on=["platform", "host"])
    assert (series["mem_alloc_gib"] <= series["memory_gib"] + 1e-6).all()
    summary = results.summary
    outcomes = ["completed", "rejected", "oom_killed", "evicted", "running_at_end", "queued_at_end"]
    assert (summary[outcomes].sum(axis=1) == summary["submitted"]).all()
