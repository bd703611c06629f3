"""Containers in node VMs (``container_in_vm``): interference is reckoned per node VM, so
containers in two node VMs of one host do not slow each other. A known limit, said in
the run's warnings whenever the workload puts pressure on memory bandwidth or disk."""

from __future__ import annotations

import pandas as pd
import pytest

import simdc
from simdc.config import validate


def run(tmp_path, membw: float):
    trace = tmp_path / "civ.csv"
    pd.DataFrame([
        {"id": "hog", "submit_s": 0, "duration_s": 5000, "cpu_cores": 1, "memory_gib": 20, "cpu_used": 1,
         "memory_used_gib": 10, "kind": "service", "membw_intensity": membw, "io_intensity": 0},
        {"id": "victim", "submit_s": 10, "duration_s": 1000, "cpu_cores": 1, "memory_gib": 20, "cpu_used": 1,
         "memory_used_gib": 10, "kind": "batch", "membw_intensity": membw, "io_intensity": 0},
    ]).to_csv(trace, index=False)
    return simdc.simulate(validate({
        "simulation": {"duration_s": 2000.0, "platforms": ["container", "container_in_vm"]},
        "host": {"cpu_cores": 8, "memory_gib": 64},
        "platform": {"container_in_vm": {"nodes_per_host": 2}},
        "workload": {"trace": str(trace)},
    }))


@pytest.mark.parametrize("membw", [1.0, 0.0])
def test_containers_in_two_node_vms_of_one_host_do_not_slow_each_other_and_the_run_says_so(tmp_path, membw):
    """A hog and a victim at full memory-bandwidth intensity, each in its own node VM of
    one host: on plain containers the victim is slowed (1 + k·1·1 with the container's
    sensitivity), in node VMs not at all; the warning names the platform and its nodes,
    and only when some instance puts pressure on its neighbours."""
    results = run(tmp_path, membw)
    rows = results.instances.set_index(["platform", "id"])
    assert rows.loc[("container_in_vm", "victim"), "host"] != rows.loc[("container_in_vm", "hog"), "host"]
    slowed = rows.loc[("container", "victim"), "interference_slowdown"]
    assert (slowed > 1.0) == (membw > 0)
    assert rows.loc[("container_in_vm", "victim"), "interference_slowdown"] == 1.0
    warned = [line for line in results.manifest["warnings"] if "node VMs on one host is not modelled" in line]
    assert warned == ([("container_in_vm: interference between its 2 node VMs on one host is not modelled (a known "
                        "limit): containers slow each other only within one node VM, so its interference figures "
                        "are better than a host shared by VMs would give")] if membw else [])


@pytest.mark.parametrize("consolidate", [True, False])
def test_consolidation_on_node_vms_is_warned_to_save_no_energy(consolidate):
    """Consolidation empties machines to switch them off; a host of node VMs never is
    (rules.switched_off_when_idle), so a run consolidating container_in_vm says its moves
    there save no energy, naming that platform only; with nothing placed, its two idle
    hosts draw their idle power all run, where plain containers' idle hosts are off."""
    config = {
        "simulation": {"duration_s": 1200.0, "platforms": ["container", "container_in_vm"]},
        "cluster": {"hosts": [{"count": 2, "cpu_cores": 8, "memory_gib": 64, "power_idle_w": 100,
                               "power_max_w": 300}], "power_off_idle": True},
        "workload": {"synthetic": {"arrival_rate_per_s": 1e-9}},
    }
    if consolidate:
        config["consolidation"] = {"interval_s": 300}
    results = simdc.simulate(validate(config))
    said = [w for w in results.manifest["warnings"] if "[consolidation]" in w]
    assert [w.split(":")[0] for w in said] == (["container_in_vm"] if consolidate else [])
    energy = results.summary.set_index("platform")["energy_kwh"]
    # two idle hosts of node VMs are powered all run at 100 W; plain containers' idle hosts are off
    assert energy["container_in_vm"] == pytest.approx(2 * 100 * 1200 / 3.6e6, rel=1e-9)
    assert energy["container"] == 0
