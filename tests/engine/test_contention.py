"""Contention: CPU sharing, memory pressure, OOM kills and restarts, VM reclaim."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import simdc
from simdc.config import validate


def run_trace(tmp_path, rows, *, cores, memory_gib, platform, rules=None, usage=None, duration_s=1000.0,
              sample_every_s=10.0, reserved_gib=0.0):
    """Run a hand-written workload (and optional usage table) on one host."""
    trace = tmp_path / "trace.csv"
    pd.DataFrame(rows).to_csv(trace, index=False)
    workload = {"trace": str(trace)}
    if usage is not None:
        usage_path = tmp_path / "usage.csv"
        pd.DataFrame(usage, columns=["id", "t_s", "cpu_cores", "memory_gib"]).to_csv(usage_path, index=False)
        workload |= {"usage": str(usage_path), "usage_step_s": 10.0}
    zero = {"overhead_mib": 0}
    # VMs without their virtualisation overhead (tests/engine/test_virtualisation.py), sized
    # as the rows say: one mechanism at a time, on hand-sized VMs
    zero |= ({"boot_s": 0, "cpu_overhead": 0, "io_overhead": 0, "sizing": "as_given"} if platform == "vm"
             else {"start_s": 0})
    return simdc.simulate(validate({
        "simulation": {"duration_s": duration_s, "platforms": [platform], "sample_every_s": sample_every_s},
        "host": {"cpu_cores": cores, "memory_gib": memory_gib, "reserved_memory_gib": reserved_gib},
        "platform": {platform: zero | (rules or {})},
        "workload": workload,
    }))


def row(id, cpu, mem, cpu_used, mem_used, kind="service", duration=1000.0, submit=0.0):
    return {"id": id, "submit_s": submit, "duration_s": duration, "cpu_cores": cpu, "memory_gib": mem,
            "cpu_used": cpu_used, "memory_used_gib": mem_used, "kind": kind}


def test_containers_share_contended_cpu_in_proportion_to_requests(tmp_path):
    """Two containers each want 2 cores of a 2-core host; requests 1 and 3 set weights 1:3,
    so they get 0.5 and 1.5 cores: throttled 1.5 and 0.5 core-seconds per second."""
    results = run_trace(tmp_path, [row("a", 1, 1, 2, 1), row("b", 3, 1, 2, 1)],
                        cores=2, memory_gib=16, platform="container", rules={"overcommit": 2})
    unmet = results.instances.set_index("id")["cpu_unmet_core_s"]
    assert unmet["a"] == pytest.approx(1.5 * 1000)
    assert unmet["b"] == pytest.approx(0.5 * 1000)
    assert results.summary["cpu_unmet_core_s"].iloc[0] == pytest.approx(unmet.sum())


def test_overcommitted_vms_share_cores_and_record_steal(tmp_path):
    """Two busy 2-vCPU VMs on 2 cores (cpu_overcommit 2): one core each, one core stolen each."""
    results = run_trace(tmp_path, [row("a", 2, 1, 2, 1), row("b", 2, 1, 2, 1)],
                        cores=2, memory_gib=16, platform="vm", rules={"cpu_overcommit": 2})
    unmet = results.instances.set_index("id")["cpu_unmet_core_s"]
    assert unmet.to_dict() == pytest.approx({"a": 1000.0, "b": 1000.0})
    assert results.summary["cpu_util_mean"].iloc[0] == pytest.approx(1.0)


def test_a_vm_never_uses_more_than_its_vcpus(tmp_path):
    """A 2-vCPU VM whose workload wants 5 cores gets 2, on an idle 8-core host."""
    results = run_trace(tmp_path, [row("a", 2, 1, 5, 1)], cores=8, memory_gib=16, platform="vm")
    assert results.hosts["cpu_used_core_s"].iloc[0] == pytest.approx(2 * 1000)


def test_batch_work_stretches_under_sharing(tmp_path):
    """Two single-threaded batch jobs of 100 s on one core: processor sharing finishes
    both at 200 s (slowdown 2); alone, one finishes at 100 s."""
    rows = [row("a", 1, 1, 1, 1, "batch", 100), row("b", 1, 1, 1, 1, "batch", 100)]
    results = run_trace(tmp_path, rows, cores=1, memory_gib=16, platform="container", rules={"overcommit": 2})
    inst = results.instances.set_index("id")
    assert inst["end_s"].to_dict() == pytest.approx({"a": 200.0, "b": 200.0})
    assert inst["slowdown"].to_dict() == pytest.approx({"a": 2.0, "b": 2.0})
    alone = run_trace(tmp_path, rows[:1], cores=1, memory_gib=16, platform="container")
    assert alone.instances["end_s"].iloc[0] == pytest.approx(100.0)


def test_oom_killer_takes_the_container_of_highest_oom_score(tmp_path):
    """10 GiB host; at t = 100 s usage becomes a: 6 (request 2), b: 3 (request 2), c: 2
    (request 4): 11 GiB. oom_score = 1000 × usage / 10 + (1000 - 1000 × request / 10):
    a 600 + 800 = 1400, b 300 + 800 = 1100, c 200 + 600 = 800. The killer takes a, and
    only a. a restarts after the 10 s back-off at 110 s, using 1 GiB from its start again."""
    rows = [row("a", 1, 2, 0.1, 1), row("b", 1, 2, 0.1, 1), row("c", 1, 4, 0.1, 1)]
    usage = [("a", 0, 0.1, 1), ("a", 100, 0.1, 6), ("b", 0, 0.1, 1), ("b", 100, 0.1, 3),
             ("c", 0, 0.1, 1), ("c", 100, 0.1, 2)]
    results = run_trace(tmp_path, rows, cores=8, memory_gib=10, platform="container", usage=usage,
                        duration_s=115.0, sample_every_s=1.0)
    inst = results.instances.set_index("id")
    assert inst.loc["a", "oom_kills"] == 1 and inst.loc["a", "restarts"] == 1
    assert inst.loc[["b", "c"], "oom_kills"].tolist() == [0, 0]
    series = results.timeseries
    assert (series["mem_used_gib"] <= 10 + 1e-9).all()


@pytest.mark.parametrize("priority_y", [0, 1])
def test_the_kernel_kills_by_oom_score_not_by_priority_nor_furthest_above_request(tmp_path, priority_y):
    """vic.toml: a 4 GiB host; at 300 s x uses 1.6 GiB against a 1 GiB request, y 1.2
    against 0.5, z 1.3 against 2 (4.1 GiB). oom_score (mm/oom_kill.c oom_badness, the
    kubelet's adj by pkg/kubelet/qos/policy.go) = 1000 × usage / 4 + 1000 - 1000 ×
    request / 4: x 400 + 750 = 1150, y 300 + 875 = 1175, z 325 + 500 = 825. y goes,
    whatever its priority (the kernel ignores PriorityClass), though x is further above
    its request; nobody else."""
    rows = [row("x", 1, 1, 0.1, 1), row("y", 1, 0.5, 0.1, 0.5) | {"priority": priority_y}, row("z", 1, 2, 0.1, 1.3)]
    usage = [("x", 0, 0.1, 1), ("x", 300, 0.1, 1.6), ("y", 0, 0.1, 0.5), ("y", 300, 0.1, 1.2), ("z", 0, 0.1, 1.3)]
    results = run_trace(tmp_path, rows, cores=4, memory_gib=4, platform="container", usage=usage,
                        rules={"restart_policy": "never"}, duration_s=1200.0)
    inst = results.instances.set_index("id")
    assert inst["oom_kills"].to_dict() == {"x": 0, "y": 1, "z": 0}
    assert inst.loc["y", "outcome"] == "oom_killed" and inst.loc["y", "end_s"] == pytest.approx(300.0)


def test_the_kernel_scores_usage_against_the_pods_cgroup_limit_and_the_adj_against_capacity(tmp_path):
    """win.toml on an 8 GiB host with 4 GiB reserved: the kubepods cgroup's limit, what
    the containers may use, is 4 GiB; the kubelet's adj is of the node's capacity, 8.
    p uses 1.4 GiB of its 1.5 GiB request, q (request 4) 2.9 from 300 s: 4.3 GiB, both
    within their requests. oom_score = 1000 × usage / 4 + 1000 - floor(1000 × request /
    8): p 350 + 813 = 1163, q 725 + 500 = 1225. q, the largest, goes, not p, the
    closest to its request."""
    rows = [row("p", 1, 1.5, 0.1, 1.4), row("q", 1, 4, 0.1, 1)]
    usage = [("p", 0, 0.1, 1.4), ("q", 0, 0.1, 1), ("q", 300, 0.1, 2.9)]
    results = run_trace(tmp_path, rows, cores=4, memory_gib=8, reserved_gib=4, platform="container", usage=usage,
                        rules={"restart_policy": "never", "overcommit": 2}, duration_s=1200.0)
    assert results.instances.set_index("id")["oom_kills"].to_dict() == {"p": 0, "q": 1}


def test_a_guaranteed_container_outlives_a_burstable_one(tmp_path):
    """4 GiB host, requests up to twice it: g is Guaranteed (limits equal to its requests:
    1 core, 2 GiB) and uses 1.9 GiB; b, Burstable, uses 2.2 of its 2.5 GiB request from
    300 s: 4.1 GiB. g scores 475 - 997 = -522, b 550 + 375 = 925: b goes, though g is
    closer to its request."""
    rows = [row("g", 1, 2, 0.1, 1.9) | {"cpu_limit": 1.0, "memory_limit_gib": 2.0}, row("b", 1, 2.5, 0.1, 1)]
    usage = [("g", 0, 0.1, 1.9), ("b", 0, 0.1, 1), ("b", 300, 0.1, 2.2)]
    results = run_trace(tmp_path, rows, cores=4, memory_gib=4, platform="container", usage=usage,
                        rules={"restart_policy": "never", "overcommit": 2}, duration_s=1200.0)
    assert results.instances.set_index("id")["oom_kills"].to_dict() == {"g": 0, "b": 1}


@pytest.mark.parametrize("lifetime_s, outcome", [(105.0, "oom_killed"), (150.0, "completed")])
def test_a_lifetime_ending_in_back_off_is_oom_killed_not_completed(tmp_path, lifetime_s, outcome):
    """As above, a is killed at 100 s and restarts after the 10 s back-off, at 110 s (its
    usage from the start again: 1 GiB). A lifetime ending at 105 s finds it backing off,
    its work not done (Kubernetes: CrashLoopBackOff, last state OOMKilled): oom_killed.
    One ending at 150 s finds it running again: completed. Either way it leaves at its end."""
    rows = [row("a", 1, 2, 0.1, 1, duration=lifetime_s), row("b", 1, 2, 0.1, 1), row("c", 1, 4, 0.1, 1)]
    usage = [("a", 0, 0.1, 1), ("a", 100, 0.1, 6), ("b", 0, 0.1, 1), ("b", 100, 0.1, 3),
             ("c", 0, 0.1, 1), ("c", 100, 0.1, 2)]
    results = run_trace(tmp_path, rows, cores=8, memory_gib=10, platform="container", usage=usage,
                        duration_s=200.0, sample_every_s=1.0)
    a = results.instances.set_index("id").loc["a"]
    assert (a["outcome"], a["end_s"], a["oom_kills"]) == (outcome, lifetime_s, 1)
    assert a["restarts"] == (1 if outcome == "completed" else 0)
    summary = results.summary.iloc[0]
    assert summary["oom_killed"] == (outcome == "oom_killed")
    assert summary["completed"] + summary["oom_killed"] + summary["running_at_end"] == summary["submitted"] == 3


def test_restart_policy_never_leaves_the_victim_oom_killed(tmp_path):
    rows = [row("a", 1, 2, 0.1, 1), row("b", 1, 2, 0.1, 1)]
    usage = [("a", 0, 0.1, 1), ("a", 50, 0.1, 9), ("b", 0, 0.1, 2)]
    results = run_trace(tmp_path, rows, cores=8, memory_gib=10, platform="container", usage=usage,
                        rules={"restart_policy": "never"}, duration_s=200.0)
    inst = results.instances.set_index("id")
    assert inst.loc["a", "outcome"] == "oom_killed" and inst.loc["a", "end_s"] == pytest.approx(50.0)
    assert inst.loc["b", "outcome"] == "running_at_end"
    assert results.summary["oom_killed"].iloc[0] == 1


def test_overcommitted_vms_swap_and_slow_down(tmp_path):
    """Two 8 GiB batch VMs using 7 GiB each on a 10 GiB host (memory_overcommit 2, no
    page sharing, nothing to balloon, swap_slowdown 0.3): 4 GiB of 14 is swapped, so each
    runs at 1 − 0.3 × 4/14 of full speed and its 100 s of work takes 100 / that."""
    rows = [row("a", 1, 8, 1, 7, "batch", 100), row("b", 1, 8, 1, 7, "batch", 100)]
    results = run_trace(tmp_path, rows, cores=8, memory_gib=10, platform="vm",
                        rules={"memory_overcommit": 2, "ksm_savings": 0, "swap_slowdown": 0.3})
    speed = 1 - 0.3 * 4 / 14
    assert results.instances["end_s"].tolist() == pytest.approx([100 / speed] * 2)
    assert results.summary["oom_kills"].iloc[0] == 0
    assert results.hosts["swapped_gib_s"].iloc[0] == pytest.approx(4 * 100 / speed)


def test_page_sharing_and_ballooning_reclaim_before_swapping(tmp_path):
    """Same VMs, but the guests touched 7 GiB while now using 4: under pressure KSM (5 %)
    and the balloon bring the 14 GiB down to the 10 GiB host without swapping."""
    rows = [row("a", 1, 8, 1, 7), row("b", 1, 8, 1, 7)]
    usage = [("a", 0, 1, 7), ("a", 20, 1, 4), ("b", 0, 1, 4), ("b", 50, 1, 7), ("b", 60, 1, 4)]
    results = run_trace(tmp_path, rows, cores=8, memory_gib=12, platform="vm", usage=usage,
                        rules={"memory_overcommit": 2}, duration_s=100.0)
    hosts = results.hosts.iloc[0]
    assert hosts["swap_s"] == 0
    assert hosts["reclaim_s"] > 0


# --- properties over random workloads -------------------------------------------------

workloads = st.fixed_dictionaries({
    "seed": st.integers(0, 10_000),
    "rate": st.floats(0.002, 0.05),
    "cores": st.integers(2, 16),
    "memory_gib": st.floats(8, 64),
    "cpu_burstiness": st.floats(0, 1.5),
    "memory_burstiness": st.floats(0, 0.8),
    "correlation": st.floats(0, 1),
    "batch_fraction": st.floats(0, 1),
    "admission": st.sampled_from(["requests", "oracle"]),
    "overcommit": st.floats(1, 3),
    "restart_policy": st.sampled_from(["always", "never"]),
    "when_full": st.sampled_from(["reject", "queue"]),
})


def random_config(p):
    return validate({
        "simulation": {"duration_s": 6 * 3600.0, "seed": p["seed"], "platforms": ["vm", "container"],
                       "sample_every_s": 30},
        "host": {"cpu_cores": p["cores"], "memory_gib": p["memory_gib"], "reserved_memory_gib": 1},
        "placement": {"when_full": p["when_full"]},
        "platform": {"vm": {"boot_s": {"median": 20, "p95": 40}},
                     "container": {"admission": p["admission"], "overcommit": p["overcommit"],
                                   "restart_policy": p["restart_policy"]}},
        "workload": {"synthetic": {
            "arrival_rate_per_s": p["rate"], "lifetime_s": {"median": 600, "p95": 7200},
            "sizes": [{"cpu_cores": 1, "memory_gib": 2, "weight": 3}, {"cpu_cores": 4, "memory_gib": 6, "weight": 1}],
            "cpu_usage": {"mean": 0.5}, "memory_usage": {"mean": 0.5},
            "cpu_burstiness": p["cpu_burstiness"], "memory_burstiness": p["memory_burstiness"],
            "usage_correlation": p["correlation"], "batch_fraction": p["batch_fraction"],
            "usage_step_s": 60,
        }},
    })


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads)
def test_contention_invariants_hold_on_random_workloads(p):
    """Whatever the workload: CPU used never exceeds the cores; after the OOM killer has
    acted, containers' memory never exceeds the host's allocatable memory; VMs without
    overcommit are never killed nor swapped; every instance ends in exactly one outcome;
    unmet demand never exceeds demand."""
    config = random_config(p)
    results = simdc.simulate(config)
    allocatable = p["memory_gib"] - 1
    series = results.timeseries
    assert (series["cpu_used"] <= p["cores"] + 1e-9).all()
    containers = series[series["platform"] == "container"]
    assert (containers["mem_used_gib"] <= allocatable + 1e-6).all()
    inst = results.instances
    vms = inst[inst["platform"] == "vm"]
    assert vms["oom_kills"].sum() == 0 and vms["swap_s"].sum() == 0
    assert (results.hosts.loc[results.hosts["platform"] == "vm", "swap_s"] == 0).all()
    n = len(results.workload)
    for platform, part in inst.groupby("platform", observed=True):
        assert len(part) == n and part["id"].is_unique
        assert part["outcome"].notna().all()
    assert (inst["cpu_unmet_core_s"] <= inst["cpu_demand_core_s"] + 1e-6).all()
    summary = results.summary.set_index("platform")
    outcomes = ["completed", "rejected", "oom_killed", "evicted", "running_at_end", "queued_at_end"]
    assert (summary[outcomes].sum(axis=1) == summary["submitted"]).all()
    # an instance gone at its end is oom_killed exactly when its last kill had no restart
    # after it (never restarted, or its lifetime ended in the back-off), else completed
    ended = inst[inst["outcome"].isin(["completed", "oom_killed"])]
    assert ((ended["outcome"] == "oom_killed") == (ended["oom_kills"] > ended["restarts"])).all()
    # The host's integral of unmet demand is the sum of the instances' own.
    by_platform = inst.groupby("platform", observed=True)["cpu_unmet_core_s"].sum()
    for platform in ("vm", "container"):
        assert summary.loc[platform, "cpu_unmet_core_s"] == pytest.approx(by_platform[platform], rel=1e-6, abs=1e-6)


def test_a_container_above_its_limit_is_killed_alone_and_backs_off_exponentially(tmp_path):
    """A container using 2 GiB under a 1 GiB limit is killed at every start, on an
    otherwise empty host. Kubernetes' back-off doubles from 10 s to a 300 s cap: kills at
    0, 10, 30, 70, 150, 310, 610 and 910 s within 1,000 s; its neighbour is never touched."""
    # a's lifetime goes on past the run: at the horizon it waits to restart, still on its host
    rows = [row("a", 1, 1, 0.1, 2, duration=2000.0) | {"memory_limit_gib": 1.0}, row("b", 1, 1, 0.1, 0.5)]
    results = run_trace(tmp_path, rows, cores=8, memory_gib=64, platform="container", duration_s=1000.0)
    inst = results.instances.set_index("id")
    assert inst.loc["a", "oom_kills"] == 8
    assert inst.loc["a", "restarts"] == 7  # the eighth restart is due at 1,210 s
    assert inst.loc["b", "oom_kills"] == 0
    assert inst.loc["a", "outcome"] == "running_at_end"
    # its lifetime ending at the horizon itself, in its back-off: ended as killed (the run
    # covers [0, duration_s]: an end at duration_s is in it)
    rows[0]["duration_s"] = 1000.0
    ended = run_trace(tmp_path, rows, cores=8, memory_gib=64, platform="container", duration_s=1000.0)
    assert ended.instances.set_index("id").loc["a", "outcome"] == "oom_killed"


def test_a_cpu_limit_caps_a_container_even_on_an_idle_host(tmp_path):
    """A container wanting 6 cores with cpu_limit 2 gets 2 of an idle 8-core host."""
    rows = [row("a", 1, 1, 6, 1) | {"cpu_limit": 2.0}]
    results = run_trace(tmp_path, rows, cores=8, memory_gib=64, platform="container")
    assert results.hosts["cpu_used_core_s"].iloc[0] == pytest.approx(2 * 1000)


@pytest.mark.parametrize("platform", ["vm", "container"])
def test_uncontended_batch_work_finishes_on_time_across_usage_steps(tmp_path, platform):
    """On an idle host a batch job of 95 s finishes exactly 95 s after it starts, however
    often its usage changes (steps every 10 s) and whatever else starts meanwhile (b starts
    at 91 s, after the last usage step before the finish: a plan made then must count the
    work done since that step)."""
    rows = [row("a", 2, 2, 1, 1, "batch", 95.0, submit=3.0), row("b", 1, 1, 0.5, 0.5, submit=91.0)]
    usage = [("a", 0, 1.0, 1.0), ("a", 10, 1.5, 1.2), ("a", 30, 0.2, 0.8), ("b", 0, 0.5, 0.5)]
    results = run_trace(tmp_path, rows, cores=8, memory_gib=64, platform=platform, usage=usage,
                        duration_s=500.0)
    inst = results.instances.set_index("id")
    assert inst.loc["a", "end_s"] == pytest.approx(3.0 + 95.0)
    assert inst.loc["a", "slowdown"] == pytest.approx(1.0)


# Batch work held back by its own CPU ceiling: processor sharing counts what it wants, the
# ceiling included (rules.progress). A job wanting 2 cores for 100 s needs 200 core-seconds;
# a 1-core ceiling gives it 1 core-second each second: 200 s, as two such jobs on one core.


@pytest.mark.parametrize("platform", ["vm", "container"])
def test_batch_work_held_back_by_its_ceiling_takes_longer(tmp_path, platform):
    """j wants 2 cores for 100 s under a 1-core ceiling (a container's cpu_limit, a 1-vCPU
    VM): 200 core-s of work at 1 core-s/s ends at 200 s (slowdown 2), wanting 2 cores
    throughout (400 core-s, 200 of them unmet); k, the same without a ceiling, ends at 100 s."""
    if platform == "vm":  # a VM's ceiling is its vCPUs: j a 1-vCPU VM, k a 2-vCPU one
        rows = [row("j", 1, 1, 2, 0.5, "batch", 100), row("k", 2, 1, 2, 0.5, "batch", 100)]
    else:
        rows = [row("j", 1, 1, 2, 0.5, "batch", 100) | {"cpu_limit": 1.0}, row("k", 1, 1, 2, 0.5, "batch", 100)]
    results = run_trace(tmp_path, rows, cores=8, memory_gib=16, platform=platform)
    inst = results.instances.set_index("id")
    assert inst["end_s"].to_dict() == pytest.approx({"j": 200.0, "k": 100.0})
    assert inst["slowdown"].to_dict() == pytest.approx({"j": 2.0, "k": 1.0})
    assert inst["cpu_demand_core_s"].to_dict() == pytest.approx({"j": 400.0, "k": 200.0})
    assert inst["cpu_unmet_core_s"].to_dict() == pytest.approx({"j": 200.0, "k": 0.0})


def test_a_vm_above_its_vcpus_is_slowed_by_what_its_guest_asks_above_them_not_by_the_overhead_twice(tmp_path):
    """With the default cpu_overhead c = 0.01 a 1-vCPU VM whose guest wants 2 cores asks
    2.02 host cores and is given its 1 vCPU: the 1.02 above is unmet (README,
    "Contention"). Its guest gets 1 of the 2 cores it wants, so its work (100 s × 1.01 at
    full speed, the overhead charged once: work_factor) progresses at 1/2 and ends at
    101 × 2 = 202 s (slowdown 2.02), wanting 2.02 cores all along. At 1 core the same
    guest is not slowed at all: 101 s, though 0.01 of its 1.01 cores is clipped."""
    rows = [row("j", 1, 1, 2, 0.5, "batch", 100), row("k", 1, 1, 1, 0.5, "batch", 100)]
    results = run_trace(tmp_path, rows, cores=8, memory_gib=16, platform="vm", rules={"cpu_overhead": 0.01})
    inst = results.instances.set_index("id")
    assert inst["end_s"].to_dict() == pytest.approx({"j": 101 * 2, "k": 101.0})
    assert inst["slowdown"].to_dict() == pytest.approx({"j": 2.02, "k": 1.01})
    assert inst.loc["j", "cpu_demand_core_s"] == pytest.approx(2.02 * 202)
    assert inst["cpu_unmet_core_s"].to_dict() == pytest.approx({"j": 1.02 * 202, "k": 0.01 * 101})


@pytest.mark.parametrize("jobs", [4, 130])  # slot by slot, and vectorised past SHORT_HOST (128) slots
def test_batch_work_above_its_ceiling_on_a_contended_host_progresses_at_given_over_wanted(tmp_path, jobs):
    """``jobs`` jobs each wanting 2 cores under a 1-core limit, request 1, on jobs / 2 cores:
    each gets 0.5 core of the 2 it wants, so 100 s of work takes 400 s."""
    rows = [row(f"j{n}", 1, 0.1, 2, 0.05, "batch", 100) | {"cpu_limit": 1.0} for n in range(jobs)]
    results = run_trace(tmp_path, rows, cores=jobs // 2, memory_gib=64, platform="container",
                        rules={"overcommit": 2}, duration_s=1000.0)
    assert results.instances["end_s"].to_numpy() == pytest.approx([400.0] * jobs)


def test_batch_work_above_its_ceiling_across_usage_steps(tmp_path):
    """Usage steps (every 10 s): j wants 2 cores under a 1-core limit for its first 50 s
    (rate 1/2: 25 s of work done), then 1 core (full speed: the 75 s left), so its 100 s of
    work end at 125 s; k, unlimited, wants 2 then 1 and ends at 100 s."""
    rows = [row("j", 1, 1, 2, 0.5, "batch", 100) | {"cpu_limit": 1.0}, row("k", 1, 1, 2, 0.5, "batch", 100)]
    usage = [("j", 0, 2.0, 0.5), ("j", 50, 1.0, 0.5), ("k", 0, 2.0, 0.5), ("k", 50, 1.0, 0.5)]
    results = run_trace(tmp_path, rows, cores=8, memory_gib=16, platform="container", usage=usage,
                        duration_s=500.0)
    inst = results.instances.set_index("id")
    assert inst["end_s"].to_dict() == pytest.approx({"j": 125.0, "k": 100.0})
    assert inst.loc["j", "cpu_unmet_core_s"] == pytest.approx(1.0 * 50)


def test_batch_work_above_its_ceiling_among_interfering_neighbours(tmp_path):
    """Three batch jobs of memory-bandwidth intensity 0.5 at sensitivity 2: each runs at
    1 / (1 + 2 × 0.5 × min(others' 1.0, 1)) = 1/2 while three run, 1 / (1 + 2 × 0.5 × 0.5)
    = 2/3 while two do. a wants 2 cores under a 1-core limit (half its speed), b 50 s of
    work, c 100 s: b ends at 100 s (a has done 25, c 50); c at 100 + 50 / (2/3) = 175 s
    (a has done 25 + 75 × 1/3 = 50); a alone at 175 + 50 / (1/2) = 275 s."""
    rows = [row("a", 1, 1, 2, 0.5, "batch", 100) | {"cpu_limit": 1.0}, row("b", 1, 1, 1, 0.5, "batch", 50),
            row("c", 1, 1, 1, 0.5, "batch", 100)]
    rows = [r | {"membw_intensity": 0.5, "io_intensity": 0.0} for r in rows]
    results = run_trace(tmp_path, rows, cores=8, memory_gib=16, platform="container",
                        rules={"membw_sensitivity": 2.0, "io_sensitivity": 0.0}, duration_s=1000.0)
    inst = results.instances.set_index("id")
    assert inst["end_s"].to_dict() == pytest.approx({"a": 275.0, "b": 100.0, "c": 175.0})


def test_the_oom_killer_kills_only_until_the_host_is_no_longer_over_its_memory(tmp_path):
    """A 10 GiB host holds a, b, c, d using 4.6 + 4.2 + 0.9 + 0.3 = 10 GiB (a double above
    10, within the over-memory test's slack): no kill in 100 s. Then e starts (request
    0.1 GiB, using 1.4): its oom_score 140 + 990 = 1130 tops the others' 1000
    (tests/engine/test_rules.py), and once it is gone the host is back at 10 GiB. Only e
    is killed."""
    rows = [row(n, 0.1, m, 0.1, m) for n, m in (("a", 4.6), ("b", 4.2), ("c", 0.9), ("d", 0.3))]
    rows.append(row("e", 0.1, 0.1, 0.1, 1.4, submit=100.0))
    results = run_trace(tmp_path, rows, cores=4, memory_gib=10, platform="container",
                        rules={"overcommit": 2, "restart_policy": "never"}, duration_s=600.0)
    kills = results.instances.set_index("id")["oom_kills"]
    assert kills.to_dict() == {"a": 0, "b": 0, "c": 0, "d": 0, "e": 1}


def test_under_the_oracle_the_oom_killer_scores_the_requests_pods_were_admitted_with(tmp_path):
    """Admission "oracle" books each container at its own usage: A (declared 1 GiB, uses 3)
    at 3, B (declared 4, uses 2, 5 from 2,900 s: p90 2) at 2, C at 2.5, on a 10 GiB host.
    When B's spike puts the host at 10.5 GiB the kernel scores, with the requests as
    booked (oom_badness + the kubelet's Burstable adj 1000 − 1000 × request / capacity),
    A 300 + 700 = 1000, B 500 + 800 = 1300, C 250 + 750 = 1000: B goes, alone (5.5 GiB
    left). With the declared requests A would score 300 + 900 = 1200 and B 500 + 600 = 1100."""
    rows = [row("A", 1, 1, 0.5, 3, duration=3000.0), row("B", 1, 4, 0.5, 2, duration=3000.0),
            row("C", 1, 2.5, 0.5, 2.5, duration=3000.0)]
    usage = [("A", 0, 0.5, 3.0), ("B", 0, 0.5, 2.0), ("B", 2900, 0.5, 5.0), ("C", 0, 0.5, 2.5)]
    results = run_trace(tmp_path, rows, cores=4, memory_gib=10, platform="container", usage=usage,
                        rules={"admission": "oracle", "restart_policy": "never"}, duration_s=3600.0)
    inst = results.instances.set_index("id")
    assert inst["oom_kills"].to_dict() == {"A": 0, "B": 1, "C": 0}
    assert inst.loc["B", "end_s"] == pytest.approx(2900.0)
