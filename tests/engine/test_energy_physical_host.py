"""The physical host is the unit of power, containers in node VMs included.

Power is linear in CPU utilisation (Barroso & Hölzle, IEEE Computer 2007; README
*Configuration*): a physical host powered for ``on_s`` seconds whose instances use
``used`` core-seconds of its ``cores`` draws ``idle × on_s + (max − idle) × used / cores``
joules. ``cluster.power_off_idle`` switches a host off while nothing runs on it; a host
of ``container_in_vm`` holds its node VMs, which run all the run (their VMM and guest
memory are counted used throughout), so it is on unless under repair
(:func:`simdc.engine.rules.switched_off_when_idle`).
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import simdc
from simdc.config import validate

START_S = 1.0  # both platforms' start latency: a row runs from submit + 1 s


def run(tmp_path, row: dict, *, horizon_s: float, idle_w: float, max_w: float, cores: int = 8,
        power_off_idle: bool = True, faults: dict | None = None):
    trace = tmp_path / "trace.csv"
    pd.DataFrame([{"id": "k1", "kind": "service"} | row]).to_csv(trace, index=False)
    data = {
        "simulation": {"duration_s": horizon_s, "seed": 1, "platforms": ["container", "container_in_vm"]},
        "cluster": {"hosts": [{"count": 1, "cpu_cores": cores, "memory_gib": 32, "power_idle_w": idle_w,
                               "power_max_w": max_w}],
                    "power_off_idle": power_off_idle},
        "platform": {"container": {"start_s": START_S, "overhead_mib": 0},
                     "container_in_vm": {"start_s": START_S, "overhead_mib": 0}},
        "workload": {"trace": str(trace)},
    }
    if faults:
        data["faults"] = faults
    results = simdc.simulate(validate(data))
    return results.summary.set_index("platform")["energy_kwh"] * 3.6e6


def test_a_host_of_node_vms_draws_idle_power_all_the_run_with_idle_hosts_switched_off(tmp_path):
    """The trial's case (one 8-core host, 100 W idle, 300 W flat out, an hour; one
    container using 1 core from 1 s to 1001 s). Containers: the host is on while the
    container is there, 0 to 1001 s: 100 × 1001 + 200 × 1000 / 8 = 125,100 J. Containers
    in node VMs: the node VMs run all the hour, so the host does: 100 × 3600 + 200 × 1000
    / 8 = 385,000 J (not a quarter of the host switched on with the busy node: 34,775 J)."""
    row = {"submit_s": 0, "duration_s": 1000, "cpu_cores": 1, "memory_gib": 2, "cpu_used": 1, "memory_used_gib": 1}
    energy_j = run(tmp_path, row, horizon_s=3600.0, idle_w=100.0, max_w=300.0)
    assert energy_j["container"] == pytest.approx(100 * 1001 + 200 * 1000 / 8, rel=1e-12)
    assert energy_j["container_in_vm"] == pytest.approx(100 * 3600 + 200 * 1000 / 8, rel=1e-12)


def test_a_host_of_node_vms_is_off_under_repair_and_on_otherwise(tmp_path):
    """The same, the host failing at 2000 s (after the container ended) and repaired in
    1000 s (the general engine): containers in node VMs draw idle power for 3600 − 1000 s
    (the host off under repair: CloudSim Plus's failed host), the container's CPU term as
    before; containers only while the container ran."""
    row = {"submit_s": 0, "duration_s": 1000, "cpu_cores": 1, "memory_gib": 2, "cpu_used": 1, "memory_used_gib": 1}
    energy_j = run(tmp_path, row, horizon_s=3600.0, idle_w=100.0, max_w=300.0,
                   faults={"host_failures": [[0, 2000.0]], "host_repair_s": 1000.0})
    assert energy_j["container"] == pytest.approx(100 * 1001 + 200 * 1000 / 8, rel=1e-12)
    assert energy_j["container_in_vm"] == pytest.approx(100 * 2600 + 200 * 1000 / 8, rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(submit_s=st.integers(0, 1000), duration_s=st.integers(1, 2000),
       used=st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0]), idle_w=st.integers(0, 500),
       extra_w=st.integers(0, 500), cores=st.sampled_from([4, 8, 16]), power_off_idle=st.booleans())
def test_node_vms_energy_is_the_physical_hosts_linear_power(
        tmp_path_factory, submit_s, duration_s, used, idle_w, extra_w, cores, power_off_idle):
    """A random single-row trace and power figures on one host: containers in node VMs
    (whose VMMs use no CPU here) draw idle power over the whole run and the CPU term of
    the row's core-seconds over the physical host's cores, with idle hosts switched off or
    not; plain containers on the same host draw the same with idle hosts on, and idle
    power only while the row is there with them off. The row asks for what a node of
    the smallest host has (1 core of 4 / 4 nodes) and uses at most that."""
    horizon_s = 3600.0
    row = {"submit_s": submit_s, "duration_s": duration_s, "cpu_cores": min(used, 1.0) or 0.5, "memory_gib": 1,
           "cpu_used": min(used, 1.0), "memory_used_gib": 0.5}
    ran_s = min(submit_s + START_S + duration_s, horizon_s) - (submit_s + START_S)
    cpu_term = extra_w * row["cpu_used"] * ran_s / cores
    energy_j = run(tmp_path_factory.mktemp("t"), row, horizon_s=horizon_s, idle_w=idle_w, max_w=idle_w + extra_w,
                   cores=cores, power_off_idle=power_off_idle)
    assert energy_j["container_in_vm"] == pytest.approx(idle_w * horizon_s + cpu_term, rel=1e-9, abs=1e-6)
    held_s = min(submit_s + START_S + duration_s, horizon_s) - submit_s if power_off_idle else horizon_s
    assert energy_j["container"] == pytest.approx(idle_w * held_s + cpu_term, rel=1e-9, abs=1e-6)
