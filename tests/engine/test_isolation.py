"""Isolation: interference from noisy neighbours, failures and their blast radius."""

from __future__ import annotations

import pandas as pd
import pytest

import simdc
from simdc.config import validate


def run(tmp_path, rows, platform, *, rules=None, faults=None, duration_s=1000.0, cores=16, extra=None):
    trace = tmp_path / "t.csv"
    pd.DataFrame([{"submit_s": 0.0, "duration_s": 500.0, "cpu_cores": 1, "memory_gib": 1, "cpu_used": 1} | r
                  for r in rows]).to_csv(trace, index=False)
    # VMs without their virtualisation overhead (tests/engine/test_virtualisation.py): one mechanism at a time
    # and without the microVM's creation rate (tests/engine/test_creation_rate.py): the two start together
    zero = {"overhead_mib": 0} | ({"boot_s": 0, "cpu_overhead": 0, "io_overhead": 0} if platform in ("vm", "microvm")
                                  else {"start_s": 0}) | ({"creations_per_core_per_s": None} if platform == "microvm"
                                                         else {})
    return simdc.simulate(validate({
        "simulation": {"duration_s": duration_s, "platforms": [platform]},
        "host": {"cpu_cores": cores, "memory_gib": 64},
        "platform": {platform: zero | (rules or {})},
        "faults": faults or {},
        "workload": {"trace": str(trace)},
    } | (extra or {})))


@pytest.mark.parametrize("platform, resource, speed", [
    ("container", "membw_intensity", 1 / 1.47),   # LXC lost 32 % to a memory hog
    ("vm", "membw_intensity", 1 / 1.124),         # a VM 11 %
    ("container", "io_intensity", 1 / 8),         # a disk hog: LXC latency 8x
    ("vm", "io_intensity", 1 / 2),                # a VM 2x
    ("microvm", "io_intensity", 1 / 1.5),         # half the VM's sensitivity
])
def test_one_hog_neighbour_slows_the_victim_by_the_calibrated_amount(tmp_path, platform, resource, speed):
    """A batch job of 100 s at full intensity beside a full-intensity hog (Sharma et al.,
    Middleware 2016, Figs. 5-7): it runs at the calibrated speed, so takes 100 / speed."""
    rows = [{"id": "victim", "kind": "batch", "duration_s": 100.0, resource: 1.0},
            {"id": "hog", resource: 1.0, "duration_s": 5000.0}]  # outlives the victim
    inst = run(tmp_path, rows, platform, duration_s=2000.0).instances.set_index("id")
    assert inst.loc["victim", "end_s"] == pytest.approx(100 / speed)
    assert inst.loc["victim", "interference_slowdown"] == pytest.approx(1 / speed)
    assert inst.loc["victim", "degraded_s"] == pytest.approx(100 / speed)


def test_zero_sensitivity_gives_the_same_results_as_no_interference(tmp_path):
    """With every sensitivity 0 (and the VM's own I/O overhead 0, which io_intensity also
    drives) the intensities change nothing: the tables are identical to a run of the same
    workload without them."""
    config = simdc.load_config("configs/contention.toml", {"simulation.duration_s": 21600})
    noisy = config.with_overrides({"workload.synthetic.membw_intensity": 0.4, "workload.synthetic.io_intensity": 0.3,
                                   "platform.vm.membw_sensitivity": 0, "platform.vm.io_sensitivity": 0,
                                   "platform.vm.io_overhead": 0,
                                   "platform.container.membw_sensitivity": 0, "platform.container.io_sensitivity": 0})
    a, b = simdc.simulate(config), simdc.simulate(noisy)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.instances, b.instances)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    assert (b.workload["io_intensity"] > 0).any()


def test_interference_stays_on_its_host(tmp_path):
    """The same hog on another host slows nobody: cross-host interference is zero."""
    rows = [{"id": "victim", "kind": "batch", "duration_s": 100.0, "io_intensity": 1.0, "cpu_cores": 4},
            {"id": "hog", "io_intensity": 1.0, "cpu_cores": 4}]
    results = run(tmp_path, rows, "container", cores=4, extra={
        "host": None, "cluster": {"hosts": [{"cpu_cores": 4, "memory_gib": 64, "count": 2}]}})
    inst = results.instances.set_index("id")
    assert inst.loc["victim", "host"] != inst.loc["hog", "host"]
    assert inst.loc["victim", "end_s"] == pytest.approx(100.0)


@pytest.mark.parametrize("platform, killed", [("container", 5), ("vm", 1)])
def test_a_kernel_failure_kills_every_container_but_only_one_vm(tmp_path, platform, killed):
    """Five instances on one host; one kernel failure at t = 100 s. Containers share the
    host's kernel: all five die. Each VM has its own: one dies."""
    rows = [{"id": i} for i in range(5)]
    results = run(tmp_path, rows, platform, faults={"kernel_failures": [[0, 100.0]], "on_failure": "lose"})
    summary = results.summary.iloc[0]
    assert summary["failures"] == 1
    assert summary["failure_kills"] == killed and summary["failed"] == killed
    assert summary["blast_radius_mean"] == killed


@pytest.mark.parametrize("platform, made", [("vm", False), ("microvm", False), ("sandboxed_container", False),
                                            ("container", True)])
def test_a_listed_kernel_failure_with_no_guest_running_is_not_made_where_each_has_its_kernel(tmp_path, platform,
                                                                                              made):
    """Five instances of 500 s from 0 on one host; a kernel failure listed at 800 s, when
    none runs. A VM's (a microVM's, a sandboxed pod's) kernel is its own: with none
    running there is no kernel to fail, so no failure is counted and a warning names it,
    as for a machine down. A container host's kernel runs with or without containers:
    it fails (and reboots), killing nobody."""
    rows = [{"id": i} for i in range(5)]
    results = run(tmp_path, rows, platform, faults={"kernel_failures": [[0, 800.0]], "on_failure": "resubmit"})
    summary = results.summary.iloc[0]
    assert (results.instances["end_s"] == 500.0).all()
    assert summary["failures"] == (1 if made else 0)
    assert summary["failure_kills"] == 0
    said = [line for line in results.manifest["warnings"] if "faults.kernel_failures[0]" in line]
    assert said == ([] if made else [f"{platform}: faults.kernel_failures[0]: host 0 at 800 s: no instance was "
                                     "running on it then (each runs its own kernel), with no kernel running: not made"])


def test_a_host_failure_kills_everything_and_victims_move_to_another_host(tmp_path):
    rows = [{"id": i, "cpu_cores": 2} for i in range(3)]
    results = run(tmp_path, rows, "vm", faults={"host_failures": [[0, 100.0]], "host_repair_s": 10_000},
                  extra={"host": None, "cluster": {"hosts": [{"cpu_cores": 8, "memory_gib": 64, "count": 2}]}})
    inst = results.instances
    assert (inst["failure_kills"] == 1).all()
    assert (inst["host"] == 1).all() and (inst["outcome"] == "completed").all()
    # Each used 1 core for the 100 s before the failure: 100 core-seconds thrown away.
    assert inst["lost_core_s"].tolist() == pytest.approx([100.0] * 3)


def test_measured_availability_is_mtbf_over_mtbf_plus_repair(tmp_path):
    """One host failing at exponential intervals (mean m = 1,000 s up) and repaired in
    r = 250 s is up m / (m + r) = 0.8 of the time; a service that lives through the whole
    run, resubmitted and waiting for the repair (queue), is available as much. Over
    4·10^6 s the estimate's s.d. is ≈ 0.003 (renewal theory: up times exponential)."""
    results = run(tmp_path, [{"id": "svc", "duration_s": 1e7}], "container", duration_s=4e6,
                  faults={"host_mtbf_s": 1000.0, "host_repair_s": 250.0},
                  extra={"placement": {"when_full": "queue"}})
    hosts = results.hosts.iloc[0]
    assert hosts["failures"] > 2500  # ≈ 4e6 / 1250
    assert 1 - hosts["down_s"] / 4e6 == pytest.approx(0.8, abs=0.012)
    assert results.summary["service_availability"].iloc[0] == pytest.approx(1 - hosts["down_s"] / 4e6, abs=1e-9)
