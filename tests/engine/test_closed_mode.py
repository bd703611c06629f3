"""The closed mode's written-out path (loss and queueing studies) and the set-up and
tables around it, held to the general engine and to an independent loss loop.

The closed mode writes out admission, start and end for instances that start at once
(:meth:`simdc.engine.handlers.Lane.on_arrival`), with a one-host fit test of its own; the
fast lane's tables share the arrays of columns nothing changes. Every run here must give
the general engine's tables (the same decisions and times; instances and timeseries to the
bit), read from a trace file as from the generator, and a one-host loss system of equal
VMs must turn away exactly the arrivals a bare loop of free slots turns away.
"""

from __future__ import annotations

import heapq

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simdc
from simdc.config import validate
from simdc.engine.simulation import _slowdown
from simdc.metrics import _quantiles
from simdc.workload import own
from tests.engine.test_fastlane import assert_same, lane_of, run_both


def loss_config(platform: str, hosts: list[dict], when_full: str, rate: float, lifetime_s: float, seed: int,
                sizes: list[dict], trace: str | None = None):
    """A closed-mode run: constant usage, no overcommit, starts at once."""
    start_key = "boot_s" if platform == "vm" else "start_s"
    data = {
        "simulation": {"duration_s": 3000.0, "seed": seed, "platforms": [platform], "sample_every_s": 200.0},
        "cluster": {"hosts": hosts},
        "placement": {"policy": "first_fit", "when_full": when_full},
        "platform": {platform: {start_key: 0, "overhead_mib": 0} if platform == "vm" else {start_key: 0}},
        "workload": {"synthetic": {"arrival_rate_per_s": rate, "lifetime_s": {"mean": lifetime_s},
                                   "cpu_burstiness": 0, "memory_burstiness": 0, "sizes": sizes}},
    }
    if trace is not None:
        data["workload"] = {"trace": trace, "format": "simdc"}
    return validate(data)


sizes_st = st.lists(st.fixed_dictionaries({
    "cpu_cores": st.sampled_from([1, 2, 3]),
    "memory_gib": st.sampled_from([0.5, 1, 3, 7]),
    "weight": st.integers(1, 3),
}), min_size=1, max_size=3)
hosts_st = st.lists(st.fixed_dictionaries({
    "cpu_cores": st.sampled_from([4, 6, 10]),
    "memory_gib": st.sampled_from([8, 12, 40]),
    "count": st.integers(1, 2),
}), min_size=1, max_size=2)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(platform=st.sampled_from(["vm", "container"]), hosts=hosts_st, sizes=sizes_st,
       when_full=st.sampled_from(["reject", "queue"]), rate=st.sampled_from([0.05, 0.3, 1.0]),
       lifetime_s=st.sampled_from([5.0, 40.0]), seed=st.integers(0, 2**16))
def test_the_closed_modes_tables_are_the_general_engines(platform, hosts, sizes, when_full, rate, lifetime_s,
                                                         seed):
    config = loss_config(platform, hosts, when_full, rate, lifetime_s, seed, sizes)
    assert lane_of(config, platform).closed()  # the mode under test
    general, lane, _ = run_both(config, platform)
    assert lane.lane == "fast"
    assert_same(general, lane)
    # columns that share one array in the lane hold what the general engine writes
    assert (lane.instances["swap_s"] == 0).all() and (lane.instances["failure_kills"] == 0).all()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hosts=hosts_st, sizes=sizes_st, seed=st.integers(0, 2**16))
def test_a_closed_run_from_a_trace_file_is_the_generated_run(tmp_path_factory, hosts, sizes, seed):
    """The workload written in simdc's format and read back (its intensity columns
    included) runs to the same tables as the drawn workload, on both engines."""
    config = loss_config("vm", hosts, "reject", 0.5, 20.0, seed, sizes)
    drawn = simdc.simulate(config)
    path = own.write(drawn.workload, tmp_path_factory.mktemp("trace") / "loss.csv")
    read = simdc.simulate(loss_config("vm", hosts, "reject", 0.5, 20.0, seed, sizes, trace=str(path)))
    assert read.manifest["engine_lanes"] == {"vm": "fast"}
    for name in ("summary", "instances", "hosts", "timeseries"):
        assert getattr(read, name).equals(getattr(drawn, name)), name


def bare_loss_rejections(submit: np.ndarray, life: np.ndarray, slots: int) -> np.ndarray:
    """Which arrivals a loss system of ``slots`` servers turns away: departures before
    arrivals at one instant, nothing else (independent of simdc)."""
    ends: list[float] = []
    rejected = np.zeros(len(submit), dtype=bool)
    for i, (t, d) in enumerate(zip(submit.tolist(), life.tolist())):
        while ends and ends[0] <= t:
            heapq.heappop(ends)
        if len(ends) < slots:
            heapq.heappush(ends, t + d)
        else:
            rejected[i] = True
    return rejected


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slots=st.integers(1, 12), load=st.sampled_from([0.5, 1.0, 3.0]), seed=st.integers(0, 2**16))
def test_a_one_host_loss_system_turns_away_what_a_bare_loop_of_free_slots_does(slots, load, seed):
    """Equal 1-vCPU VMs on one host of ``slots`` cores: the written-out one-host fit test
    admits exactly when a slot is free."""
    rate = load * slots / 10.0  # mean lifetime 10 s: ``load`` × slots Erlang offered
    config = loss_config("vm", [{"cpu_cores": slots, "memory_gib": 1000, "count": 1}], "reject", rate, 10.0, seed,
                         [{"cpu_cores": 1, "memory_gib": 1, "weight": 1}])
    results = simdc.simulate(config)
    assert results.manifest["engine_lanes"] == {"vm": "fast"}
    inst = results.instances
    expected = bare_loss_rejections(inst["submit_s"].to_numpy(), results.workload["duration_s"].to_numpy(), slots)
    assert np.array_equal((inst["outcome"] == "rejected").to_numpy(), expected)
    assert int(results.summary["rejected"].iloc[0]) == int(expected.sum())


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(float("nan")), st.just(2.5)), max_size=40),
       repeat=st.booleans())
def test_percentiles_of_one_value_are_numpys(values, repeat):
    """The summary's percentiles (a shortcut when every value is one) are numpy's."""
    x = np.array(values * (50 if repeat else 1), dtype=float)
    got = _quantiles(x, "p", (50, 95, 99))
    kept = x[~np.isnan(x)]
    want = np.percentile(kept, (50, 95, 99)) if len(kept) else [np.nan] * 3
    for p, w in zip((50, 95, 99), want):
        assert got[f"p{p}"] == w or (np.isnan(got[f"p{p}"]) and np.isnan(w))
    constant = np.full(30, 7.25)
    assert _quantiles(constant, "p", (50, 99)) == {"p50": float(np.percentile(constant, 50)), "p99": 7.25}


@settings(max_examples=60, deadline=None)
@given(run=st.lists(st.one_of(st.floats(0, 1e5), st.just(0.0), st.just(float("nan"))), min_size=1, max_size=30),
       lost=st.booleans())
def test_the_interference_slowdown_column_is_its_formula(run, lost):
    run_s = np.array(run, dtype=float)
    extra_s = run_s * 0.25 if lost else np.zeros(len(run_s))
    want = np.where(run_s > 0, 1 + extra_s / np.maximum(run_s, 1e-300), np.nan)
    np.testing.assert_array_equal(_slowdown(extra_s, run_s), want)
