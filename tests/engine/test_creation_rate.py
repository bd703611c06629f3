"""A host's creation rate (``creations_per_core_per_s`` of a platform): starts on a host
take their turns in FIFO order, one every 1 / (rate × cores) s (Lane.creation_wait), the
wait part of the start latency (the instances' ``create_wait_s``), in both lanes and
under both sets of rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simdc
from simdc.config import validate
from simdc.engine.runner import run_platform
from simdc.workload import load_workload

IMAGES = [{"name": "web", "layers": [{"digest": "base", "size_mib": 75}, {"digest": "web", "size_mib": 40}]}]


def burst_config(tmp_path, rules: str, n: int, cores: int, rate: float | None, boot_s: float, *, hosts: int = 1,
                 submit_s=None, image: str | None = None, seed: int = 1):
    """``n`` small instances (submitted at ``submit_s``, default all at 0) on ``hosts``
    hosts of ``cores`` cores, ample memory; a platform of ``rules`` with a constant start
    of ``boot_s`` and creation rate ``rate`` per core per second."""
    submit = np.zeros(n) if submit_s is None else np.asarray(submit_s, float)
    trace = tmp_path / "burst.csv"
    pd.DataFrame({"id": range(n), "submit_s": submit, "duration_s": 3000.0, "cpu_cores": 0.01, "memory_gib": 0.01,
                  "cpu_used": 0.001, "memory_used_gib": 0.001, "kind": "service"}
                 | ({"image": image} if image else {})).to_csv(trace, index=False)
    if rules == "vm":
        platform = {"boot_s": boot_s, "sizing": "as_given", "cpu_overcommit": 1000, "disk": "clone"}
    else:
        platform = {"start_s": boot_s, "overcommit": 1000}
    if rate is not None:
        platform["creations_per_core_per_s"] = rate
    return validate({
        "simulation": {"duration_s": 3600.0, "seed": seed, "platforms": [rules], "sample_every_s": 60},
        "cluster": {"hosts": [{"cpu_cores": cores, "memory_gib": 64, "count": hosts}]},
        "platform": {rules: platform},
        "placement": {"policy": "first_fit" if hosts == 1 else "random"},
        "workload": {"trace": str(trace), "format": "simdc"},
        "images": IMAGES if image else [],
    })


def run(config, lane: str):
    """The first (only) platform's instances, on ``lane`` ("auto" or "general")."""
    sim = config.simulation
    name = sim.platforms[0]
    workload = load_workload(config.workload, sim.duration_s, sim.seed)
    result = run_platform(name, config.platform[name], config.fleet, workload.instances, duration_s=sim.duration_s,
                          sample_every_s=sim.sample_every_s, seed=sim.seed, usage=workload.usage,
                          placement=config.placement, power_off_idle=config.power_off_idle,
                          images={image.name: image for image in config.images}, registry=config.registry,
                          faults=config.faults, lane=lane)
    return result


@pytest.mark.parametrize("rules", ["vm", "container"])
@pytest.mark.parametrize("lane", ["auto", "general"])
def test_a_burst_is_created_at_the_rate(tmp_path, rules, lane):
    """n = 40 instances at t = 0 on one 4-core host at r = 2.5 per core per second (10 a
    second), each booting in 0.3 s: the k-th created begins at (k − 1)/10 s, so the k-th
    ready is (k − 1)/10 s after the first, the last at 39/10 + 0.3 s; each waited
    (k − 1)/10 s for its turn, and its start latency is that wait plus the boot."""
    n, cores, rate, boot = 40, 4, 2.5, 0.3
    per_s = rate * cores
    result = run(burst_config(tmp_path, rules, n, cores, rate, boot), lane)
    assert result.lane == ("general" if lane == "general" else "fast")
    inst = result.instances
    ready = np.sort(inst["first_ready_s"].to_numpy())
    k = np.arange(n)
    assert np.all(ready - ready[0] >= k / per_s - 1e-9)
    assert ready[-1] == pytest.approx((n - 1) / per_s + boot, abs=1e-9)
    assert np.sort(inst["create_wait_s"].to_numpy()) == pytest.approx(k / per_s, abs=1e-9)
    latency = inst["first_ready_s"] - inst["submit_s"]
    assert latency.to_numpy() == pytest.approx((inst["create_wait_s"] + inst["boot_s"]).to_numpy(), abs=1e-9)
    assert (inst["outcome"] == "completed").sum() + (inst["outcome"] == "running_at_end").sum() == n


def test_without_a_rate_a_burst_starts_at_once(tmp_path):
    """No rate (the vm and container defaults): all 40 are ready after their boot, no wait."""
    inst = run(burst_config(tmp_path, "container", 40, 4, None, 0.3), "auto").instances
    assert inst["first_ready_s"].to_numpy() == pytest.approx(np.full(40, 0.3))
    assert (inst["create_wait_s"] == 0.0).all()


def test_a_pulled_image_takes_its_turn_after_the_pull(tmp_path):
    """Ten containers of one image at t = 0 on a 1-core host at 2 per second: they pull
    the image together (one fetch), then are created 0.5 s apart: the ready times after
    the first are 0.5 s apart, and each one's start latency is its pull, unpack, wait and
    start, the waits 0, 0.5, ..., 4.5 s."""
    result = run(burst_config(tmp_path, "container", 10, 1, 2.0, 0.2, image="web"), "auto")
    assert result.lane == "general"
    inst = result.instances
    ready = np.sort(inst["first_ready_s"].to_numpy())
    assert np.diff(ready) == pytest.approx(np.full(9, 0.5), abs=1e-9)
    assert np.sort(inst["create_wait_s"].to_numpy()) == pytest.approx(np.arange(10) * 0.5, abs=1e-9)
    phases = inst[["queue_s", "pull_s", "unpack_s", "create_wait_s", "boot_s"]].sum(axis=1)
    assert (inst["first_ready_s"] - inst["submit_s"]).to_numpy() == pytest.approx(phases.to_numpy(), abs=1e-9)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                               HealthCheck.function_scoped_fixture])
@given(rules=st.sampled_from(["vm", "container"]), hosts=st.integers(1, 3), cores=st.sampled_from([1, 2, 4]),
       rate=st.sampled_from([0.5, 1.0, 5.0]), boot=st.sampled_from([0.0, 0.2, 3.0]),
       grid=st.sampled_from([0.05, 1.0, 10.0]), image=st.sampled_from([None, "web"]),
       lane=st.sampled_from(["auto", "general"]), seed=st.integers(0, 2**16))
def test_ready_times_on_a_host_never_exceed_its_rate(tmp_path, rules, hosts, cores, rate, boot, grid, image, lane,
                                                     seed):
    """Random small fleets, bursts of arrivals on a grid, random placement: on every host
    the sorted ready times (a constant start after each creation) are at least
    1 / (rate × cores) apart, so no window of w seconds holds more than w × rate × cores
    + 1 of them; each instance's wait is its start latency less its other phases, never
    negative; every instance ends in one outcome."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    submit = np.sort(np.floor(rng.uniform(0, 20, n) / grid) * grid)
    config = burst_config(tmp_path, rules, n, cores, rate, boot, hosts=hosts, submit_s=submit, image=image,
                          seed=seed)
    inst = run(config, lane).instances
    started = inst.dropna(subset=["first_ready_s"])
    for _, on_host in started.groupby("host"):
        ready = np.sort(on_host["first_ready_s"].to_numpy())
        assert np.all(np.diff(ready) >= 1.0 / (rate * cores) - 1e-9)
    assert (started["create_wait_s"] >= 0).all()
    phases = started[["queue_s", "pull_s", "unpack_s", "create_wait_s", "boot_s"]].sum(axis=1)
    assert (started["first_ready_s"] - started["submit_s"]).to_numpy() == pytest.approx(phases.to_numpy(), abs=1e-9)
    assert len(inst) == n and inst["outcome"].notna().all()


def test_the_microvm_default_is_firecrackers_rate(tmp_path):
    """Firecracker: "5 microVMs per host core per second" (firecracker docs/design.md).
    30 microVMs at t = 0 on a 2-core host with the preset's defaults: the turns simdc
    gives them are 1/10 s apart, i.e. (30 − 1) / (last wait × 2 cores) = 5 per core per
    second; the vm and container defaults have no limit (no wait)."""
    trace = tmp_path / "burst.csv"
    pd.DataFrame({"id": range(30), "submit_s": 0.0, "duration_s": 600.0, "cpu_cores": 0.1, "memory_gib": 0.1,
                  "cpu_used": 0.01, "memory_used_gib": 0.01, "kind": "service"}).to_csv(trace, index=False)
    results = simdc.simulate(validate({
        "simulation": {"duration_s": 1200.0, "platforms": ["microvm", "vm", "container"]},
        "cluster": {"hosts": [{"cpu_cores": 2, "memory_gib": 64}]},
        "platform": {"microvm": {"cpu_overcommit": 100}, "vm": {"cpu_overcommit": 100, "sizing": "as_given"},
                     "container": {"overcommit": 100}},
        "workload": {"trace": str(trace), "format": "simdc"},
    }))
    inst = results.instances
    waits = np.sort(inst.loc[inst["platform"] == "microvm", "create_wait_s"].to_numpy())
    assert np.diff(waits) == pytest.approx(np.full(29, 0.1), abs=1e-9)
    assert (30 - 1) / (waits[-1] * 2) == pytest.approx(5.0)
    assert (inst.loc[inst["platform"] != "microvm", "create_wait_s"] == 0.0).all()


def test_same_seed_same_turns(tmp_path):
    """Bursts on microVMs with the preset's random boots, run twice with one seed: the
    same tables, turns and all; the outcomes add up to the requests."""
    trace = tmp_path / "burst.csv"
    pd.DataFrame({"id": range(60), "submit_s": np.repeat([0.0, 5.0, 5.01], 20), "duration_s": 100.0,
                  "cpu_cores": 0.5, "memory_gib": 0.5, "cpu_used": 0.1, "memory_used_gib": 0.1,
                  "kind": "service"}).to_csv(trace, index=False)
    config = validate({
        "simulation": {"duration_s": 600.0, "seed": 3, "platforms": ["microvm"]},
        "cluster": {"hosts": [{"cpu_cores": 2, "memory_gib": 16, "count": 2}]},
        "placement": {"policy": "random", "when_full": "queue"},
        "workload": {"trace": str(trace), "format": "simdc"},
    })
    first, second = simdc.simulate(config), simdc.simulate(config)
    pd.testing.assert_frame_equal(first.instances, second.instances)
    assert (first.instances["create_wait_s"] > 0).any()
    summary = first.summary.iloc[0]
    outcomes = ["completed", "rejected", "oom_killed", "evicted", "failed", "running_at_end", "queued_at_end",
                "requeued_at_end"]
    assert sum(summary[outcome] for outcome in outcomes) == summary["submitted"] == 60
