"""Services as replica sets (issue #18): rolling updates and horizontal autoscaling,
checked against Kubernetes' arithmetic worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import simdc
from simdc.config import validate
from simdc.engine import run_platform
from simdc.engine.services import fenceposts, hpa_recommendation, rollout_step
from simdc.errors import ConfigError
from simdc.model.platform import VmPlatform
from simdc.workload import load_workload

MIB_PER_GIB = 1024.0
# What a VM's CPU costs the host per core it uses: 1 + the default cpu_overhead, 1.01
# (Sharma et al. 2016: within 1 % of LXC, Fig. 9; VmPlatform.cpu_overhead).
VM_CPU_FACTOR = 1 + VmPlatform().cpu_overhead


def config(services, duration_s=600.0, platforms=("container",), images=(), cluster=None, **extra):
    """A run with a background workload that never arrives (one per 10^9 s), so the
    fleet holds only the services' replicas."""
    return validate({
        "simulation": {"duration_s": duration_s, "platforms": list(platforms), "sample_every_s": duration_s},
        **({"cluster": cluster} if cluster else {"host": {"cpu_cores": 64, "memory_gib": 256}}),
        "platform": {"container": {"start_s": 2.0}, "vm": {"boot_s": 30.0, "sizing": "as_given"}},
        "workload": {"synthetic": {"arrival_rate_per_s": 1e-9}},
        "images": list(images),
        "services": services,
        **extra,
    })


def runs(cfg):
    """Each platform's raw run (instances, the controller's series and releases)."""
    workload = load_workload(cfg.workload, cfg.simulation.duration_s, cfg.simulation.seed)
    assert len(workload.instances) == 0
    return {name: run_platform(name, cfg.platform[name], cfg.fleet, workload.instances,
                               duration_s=cfg.simulation.duration_s, sample_every_s=cfg.simulation.sample_every_s,
                               seed=cfg.simulation.seed, placement=cfg.placement,
                               images={image.name: image for image in cfg.images}, registry=cfg.registry,
                               faults=cfg.faults, services=cfg.services)
            for name in cfg.simulation.platforms}


def web(**fields):
    return {"name": "web", "replicas": 4, "cpu_cores": 1, "memory_gib": 2, "demand": {"cores": 2.0}, **fields}


# --- Kubernetes' rounding and step -----------------------------------------------------

def test_surge_rounds_up_and_unavailable_down_and_both_zero_allow_one_unavailable():
    """ResolveFenceposts: 25 % of 10 is 2.5: surge 3, unavailable 2; 0 and 0 become 0 and 1."""
    assert fenceposts("25%", "25%", 10) == (3, 2)
    assert fenceposts("25%", "25%", 1) == (1, 0)
    assert fenceposts(0, 0, 5) == (0, 1)
    assert fenceposts(2, "50%", 3) == (2, 1)


def test_rollout_step_surges_first_then_removes_old_only_as_new_become_ready():
    """replicas 4, surge 1, unavailable 0: one new at a time, one old out per new ready."""
    assert rollout_step(4, 1, 0, old=4, old_ready=4, new=0, new_ready=0) == (1, 0)
    assert rollout_step(4, 1, 0, old=4, old_ready=4, new=1, new_ready=0) == (0, 0)
    assert rollout_step(4, 1, 0, old=4, old_ready=4, new=1, new_ready=1) == (0, 1)
    # surge 0, unavailable 2: remove two old first, then replace them
    assert rollout_step(4, 0, 2, old=4, old_ready=4, new=0, new_ready=0) == (0, 2)
    assert rollout_step(4, 0, 2, old=2, old_ready=2, new=0, new_ready=0) == (2, 0)


# --- rolling updates -------------------------------------------------------------------

@pytest.mark.parametrize("n, readiness_s", [(1, 0.0), (4, 3.0), (7, 10.0)])
def test_rollout_with_surge_1_unavailable_0_takes_n_times_start_plus_readiness(n, readiness_s):
    """maxSurge 1, maxUnavailable 0, start latency s = 2 s, readiness r, on an empty
    fleet: the k-th new replica is created at T + (k−1)(s + r), runs from s later, is
    ready r after that, and then one old replica ends; the rollout takes n × (s + r),
    booking one replica above n at most, with never fewer than n ready."""
    start_s, release_s = 2.0, 100.0
    cfg = config([web(replicas=n, readiness_s=readiness_s, max_surge=1, max_unavailable=0,
                      releases=[{"at_s": release_s}])])
    run = runs(cfg)["container"]
    step = start_s + readiness_s
    (release,) = run.releases.itertuples()
    assert release.end_s - release.at_s == pytest.approx(n * step, abs=1e-9)
    inst = run.instances
    new = inst[inst["version"] == 1].sort_values("submit_s")
    old = inst[inst["version"] == 0]
    k = np.arange(n)
    np.testing.assert_allclose(new["submit_s"], release_s + k * step, atol=1e-9)
    np.testing.assert_allclose(new["first_ready_s"], release_s + k * step + start_s, atol=1e-9)
    np.testing.assert_allclose(np.sort(old["end_s"]), release_s + (k + 1) * step, atol=1e-9)
    assert (old["outcome"] == "completed").all() and (new["outcome"] == "running_at_end").all()
    during = run.services[(run.services["t_s"] >= release_s) & (run.services["t_s"] < release.end_s)]
    assert during["pods"].max() == n + 1
    assert during["ready"].min() >= n


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 8), surge=st.integers(0, 3), unavailable=st.integers(0, 3),
       readiness_s=st.sampled_from([0.0, 4.0]))
def test_a_rollout_never_exceeds_its_surge_nor_its_unavailable_and_ends_all_new(n, surge, unavailable, readiness_s):
    """Over any maxSurge/maxUnavailable: at every instant of the rollout at most n + surge
    replicas exist and at least n − unavailable are ready (as resolved by
    ResolveFenceposts); at the end exactly n replicas, all of the new version, all ready."""
    assume(surge or unavailable)  # both 0: a config error (test_a_rollout_that_could_never_start_...)
    cfg = config([web(replicas=n, readiness_s=readiness_s, max_surge=surge, max_unavailable=unavailable,
                      releases=[{"at_s": 100.0}])], duration_s=400.0)
    run = runs(cfg)["container"]
    max_surge, max_unavailable = fenceposts(surge, unavailable, n)
    (release,) = run.releases.itertuples()
    assert release.end_s == release.end_s, "the rollout finished"
    held = run.services.groupby("t_s").last()  # several rows at one instant: the last holds
    during = held[(held.index >= 100.0) & (held.index < release.end_s)]
    assert (during["pods"] <= n + max_surge).all()
    assert (during["ready"] >= n - max_unavailable).all()
    alive = run.instances[run.instances["outcome"] == "running_at_end"]
    assert len(alive) == n and (alive["version"] == 1).all()


def test_a_new_tag_sharing_all_but_its_top_layer_pulls_exactly_that_layer_per_host():
    """v2 shares v1's base and middle layers (700 MiB) and replaces its 50 MiB top with a
    60 MiB one: a container host that held v1 pulls 60 MiB for v2, no more; one that
    never did pulls all 760 MiB. A VM copies the whole new disk image (4 GiB) per host."""
    images = [{"name": "web:v1", "disk_gib": 4.0, "layers": [{"digest": "base", "size_mib": 500},
                                                               {"digest": "mid", "size_mib": 200},
                                                               {"digest": "top1", "size_mib": 50}]},
              {"name": "web:v2", "disk_gib": 4.0, "layers": [{"digest": "base", "size_mib": 500},
                                                               {"digest": "mid", "size_mib": 200},
                                                               {"digest": "top2", "size_mib": 60}]}]
    cluster = {"hosts": [{"cpu_cores": 2, "memory_gib": 16, "count": 4}]}  # two replicas a host at most
    cfg = config([web(image="web:v1", replicas=5, releases=[{"at_s": 300.0, "image": "web:v2"}])],
                 duration_s=900.0, platforms=("container", "vm"), images=images, cluster=cluster)
    for name, run in runs(cfg).items():
        (release,) = run.releases.itertuples()
        new = run.instances[run.instances["version"] == 1]
        had_v1 = set(run.instances.loc[run.instances["version"] == 0, "host"])
        hosts = set(new["host"])
        if name == "container":
            expected_mib = sum(60 if host in had_v1 else 760 for host in hosts)
            assert len(hosts & had_v1) >= 2
        else:
            expected_mib = 4 * MIB_PER_GIB * len(hosts)
        assert release.pulled_gib == pytest.approx(expected_mib / MIB_PER_GIB, rel=1e-12), name


# --- horizontal autoscaling ------------------------------------------------------------

def test_hpa_replicas_after_a_step_match_the_algorithm_by_hand_at_each_sync():
    """1-core replicas, target 50 %, 2 to start, start 2 s, demand 2 cores, 10 from 300 s,
    2 again from 600 s. By the HPA's rule (Kubernetes docs, Algorithm details;
    replica_calculator.go): each sync at t reads metrics-server's window [t - 15, t); a
    replica ready less than a window before it is unready (left out, or at 0 % on a
    scale-up); utilisation is a whole percent; desired = ceil(ratio × counted) unless
    within 10 %; scale-up at most max(2×, +4) per 15 s; scale-down to the highest
    recommendation of the last 300 s (one exactly 300 s old no longer counts):

    - t=15: the 2 replicas, ready at 2 s, have no full window yet: 2. t=30: 2 at 100 %:
      ratio 2 → 4 (ready at 32 s). t=45: the 2 counted used (2 × 1 + 13 × 0.5) / 15 =
      567 m, 56 %, ratio 1.12, with 2 unready at 0 %: 28 %, below the target, the other
      way: 4. Then 4 at 50 %: 4, up to and at t=300 (its window ends as the step begins).
    - t=315: 4 use their 4 cores of the 10 asked, 100 % (usage, not demand): ratio 2 → 8.
      t=330: 4 at 100 % with 4 unready at 0 %: 50 %, ratio 1 → 8. t=345: 8 at 100 % → 16.
      t=360: 8 at 100 %, 8 unready: 16. t=375: 16 at 62.5 % (625 m), 62 %, ratio 1.24
      → ceil(19.84) = 20. t=390: 16 at 517 m (51 %) with 4 unready → 41 %: 20. Then 20.
    - t=615: 20 at 10 %: recommends 4, but 20 was recommended up to 600 s: 20 until
      t=885; t=900: the 20 of 600 s is exactly 300 s old, out → 4.
    """
    cfg = config([web(replicas=2, demand={"cores": 2.0, "steps": [[300, 10.0], [600, 2.0]]},
                      autoscale={"min_replicas": 1, "max_replicas": 40, "target_utilisation": 0.5})],
                 duration_s=1000.0)
    series = runs(cfg)["container"].services.groupby("t_s").last()
    expected = {15: 2, 30: 4, 45: 4, 285: 4, 300: 4, 315: 8, 330: 8, 345: 16, 360: 16, 375: 20, 390: 20,
                585: 20, 600: 20, 615: 20, 885: 20, 900: 4, 990: 4}
    for t, desired in expected.items():
        assert series.loc[float(t), "desired"] == desired, t
    assert series.loc[317.0, "ready"] == 8 and series.loc[347.0, "ready"] == 16


def test_hpa_scales_down_only_once_its_window_has_held_the_starting_replicas_300_s():
    """10 replicas of 1 core up at the start serve 1 core, target 50 %: every sync
    recommends ceil(10 % / 50 % × 10) = 2. Kubernetes seeds the scale-down window with the
    replicas at its first reconcile (horizontal.go, recordInitialRecommendation), and
    counts only recommendations less than the window old (stabilizeRecommendationWithBehaviors:
    ``rec.timestamp.After(downCutoff)``, cutoff now - 300 s): 10 at each sync to 285 s; at
    300 s the seed is exactly 300 s old, out: 2, on containers and VMs alike."""
    cfg = config([web(replicas=10, running_at_start=True, demand={"cores": 1.0},
                      autoscale={"min_replicas": 1, "max_replicas": 20, "target_utilisation": 0.5})],
                 duration_s=900.0, platforms=("container", "vm"))
    for name, run in runs(cfg).items():
        series = run.services.groupby("t_s").last()
        assert series.loc[:299.0, "desired"].min() == 10, name
        assert series.loc[285.0, "desired"] == 10 and series.loc[300.0, "desired"] == 2, name
        assert series.loc[300.0, "pods"] == 2, name


def test_hpa_with_no_scale_down_window_follows_its_recommendation_at_the_first_sync():
    """The same 10 replicas serving 1 core, target 50 %, with a 0 s scale-down window: no
    earlier recommendation is after the cutoff (now), so the first sync's own, 2, holds
    at 15 s (stabilizeRecommendationWithBehaviors)."""
    cfg = config([web(replicas=10, running_at_start=True, demand={"cores": 1.0},
                      autoscale={"min_replicas": 1, "max_replicas": 20, "target_utilisation": 0.5,
                                 "scale_down_stabilisation_s": 0.0})],
                 duration_s=60.0)
    series = runs(cfg)["container"].services.groupby("t_s").last()
    assert series.loc[0.0, "desired"] == 10 and series.loc[15.0, "desired"] == 2


def test_hpa_reads_the_usage_served_not_the_demand_left_unserved():
    """2-core replicas (usage capped at their 2 cores: limit ÷ request = 1), target 60 %,
    5 up at the start serving 8 cores, 24 from 300 s. A Kubernetes HPA reads the pods' CPU
    usage, which cannot exceed their limit, so it cannot see the 10 cores left unserved at
    300 s (Kubernetes docs, "Horizontal Pod Autoscaling"; CALIBRATION.md: desired =
    ceil(current × metric / target), tolerance 0.1). By hand:

    - t=15: 5 ready used 8 of 10 cores over [0, 15), 80 %: ratio 1.33 → ceil(6.67) = 7
      (ready at 22 s). t=30: the 5 used 1,357 m each ((7 × 1.6 + 8 × 8/7) / 15), 67 %,
      ratio 1.12, but with the 2 unready at 0 % 48 %, the other way: 7. Then 7 at 8/14 =
      57 %: ratio 0.95, within 0.1 → 7, also at t=300 (its window [285, 300) ends at the step).
    - t=315: 7 ready used 14 of the 24 cores asked, 100 %: ratio 1.67 → ceil(11.67) = 12
      (reading the demand, 171 %, it would jump to 20, cut to the scale-up limit 14).
    - t=330: 7 at 100 % and 5 unready at 0 %: 58 %, the other way: 12. t=345: 12 use 24
      of 24, 100 % → 20. t=360: 12 at 100 % and 8 unready: 60 %, ratio 1 → 20. Then 20
      use 24 of 40, 60 % → 20.
    """
    cfg = config([web(replicas=5, cpu_cores=2, memory_gib=4, readiness_s=5, running_at_start=True,
                      demand={"cores": 8.0, "steps": [[300, 24.0]]},
                      autoscale={"min_replicas": 2, "max_replicas": 40, "target_utilisation": 0.6})],
                 duration_s=600.0)
    series = runs(cfg)["container"].services.groupby("t_s").last()
    expected = {15: 7, 30: 7, 285: 7, 300: 7, 315: 12, 330: 12, 345: 20, 360: 20, 375: 20, 585: 20}
    for t, desired in expected.items():
        assert series.loc[float(t), "desired"] == desired, t


@settings(max_examples=15, deadline=None)
@given(start=st.integers(1, 6), cores=st.sampled_from([1.0, 2.0]), target=st.sampled_from([0.5, 0.6, 0.8]),
       jump=st.floats(2.0, 20.0))
def test_hpa_grows_at_most_limit_over_target_a_sync(start, cores, target, jump):
    """Whatever the demand, a replica uses at most its cores, so utilisation is at most
    100 % of the request and one sync raises the replicas at most to ceil(ready / target)
    (ready <= current): never to the scale-up limit on unserved demand alone."""
    demand = start * cores * target
    cfg = config([web(replicas=start, cpu_cores=cores, running_at_start=True,
                      demand={"cores": demand, "steps": [[120, demand * jump]]},
                      autoscale={"max_replicas": 200, "target_utilisation": target})],
                 duration_s=300.0, platforms=("container", "vm"))
    for name, run in runs(cfg).items():
        rows = run.services
        desired = rows["desired"].to_numpy()
        before = np.concatenate([[start], desired[:-1]])
        ready = rows["ready"].to_numpy()
        grew = desired > before
        assert (desired[grew] <= np.ceil(np.maximum.accumulate(ready)[grew] / target - 1e-9)).all(), name


def test_hpa_recommendation_follows_the_formula_tolerance_and_unready_pods():
    """desired = ceil(current × metric / target); within 10 % no change; unready pods
    count as idle when scaling up (Kubernetes docs, Algorithm details)."""
    assert hpa_recommendation(4, 4, 0, usage_cores=3.0, cores_per_replica=1.0, target=0.5, tolerance=0.1) == 6
    assert hpa_recommendation(4, 4, 0, usage_cores=2.1, cores_per_replica=1.0, target=0.5, tolerance=0.1) == 4
    # 2 ready at 75 %: ratio 1.5, up; with the 2 unready as 0 % the average is 37.5 %,
    # below the target: the direction reverses, so no change
    assert hpa_recommendation(4, 2, 2, usage_cores=1.5, cores_per_replica=1.0, target=0.5, tolerance=0.1) == 4
    # 2 ready at 100 %, 2 unready as 0 %: average 50 % = target → no change (not 2 × 2 / 0.5 = 8)
    assert hpa_recommendation(4, 2, 2, usage_cores=2.0, cores_per_replica=1.0, target=0.5, tolerance=0.1) == 4
    assert hpa_recommendation(4, 0, 4, usage_cores=0.0, cores_per_replica=1.0, target=0.5, tolerance=0.1) == 4


# Cases of Kubernetes' own tests (kubernetes/pkg/controller/podautoscaler/
# replica_calculator_test.go, TestReplicaCalc*), pods of 1-core requests: (current, ready,
# unready, missing, the ready pods' usage in cores, target, replicas Kubernetes expects).
KUBERNETES_CASES = {
    "ScaleUp": (3, 3, 0, 0, 0.3 + 0.5 + 0.7, 0.3, 5),
    "ScaleDown": (5, 5, 0, 0, 0.1 + 0.3 + 0.5 + 0.25 + 0.25, 0.5, 3),
    "ScaleUpUnreadyLessScale": (3, 2, 1, 0, 0.5 + 0.7, 0.3, 4),
    "ScaleUpUnreadyNoScale": (3, 1, 2, 0, 0.4, 0.3, 3),
    "ScaleDownIncludeUnreadyPods": (5, 3, 2, 0, 0.1 + 0.3 + 0.5, 0.5, 2),
    "ScaleDownExcludeUnscheduledPods": (5, 1, 4, 0, 0.1, 0.5, 1),
    "MissingMetrics": (4, 2, 0, 2, 0.4 + 0.095, 1.0, 3),
    "MissingMetricsNoChangeEq": (2, 1, 0, 1, 1.0, 1.0, 2),
    "MissingMetricsNoChangeGt": (2, 1, 0, 1, 1.9, 1.0, 2),
    "MissingMetricsNoChangeLt": (2, 1, 0, 1, 0.6, 1.0, 2),
    "MissingMetricsUnreadyChange": (3, 1, 1, 1, 0.45, 0.5, 3),
    "MissingMetricsUnreadyScaleUp": (3, 1, 1, 1, 2.0, 0.5, 4),
    "MissingMetricsUnreadyScaleDown": (4, 2, 1, 1, 0.2, 0.5, 3),
}


@pytest.mark.parametrize("case", sorted(KUBERNETES_CASES))
def test_hpa_recommendation_gives_what_kubernetes_own_tests_expect(case):
    """GetResourceReplicas: unready pods (Pending, or not ready) are left out of the usage
    ratio, and added back at 0 % only on a scale-up; pods without metrics count 100 % of
    their request on a scale-down, 0 % on a scale-up. So 3 ready pods at 30 % of 5 with 2
    unready, target 50 %, scale to ceil(0.6 × 3) = 2: the unready pods do not hold it up."""
    current, ready, unready, missing, usage, target, expected = KUBERNETES_CASES[case]
    extra = {"missing": missing} if missing else {}  # the engine's replicas are never missing: no metrics pipeline
    assert hpa_recommendation(current, ready, unready, usage_cores=usage, cores_per_replica=1.0, target=target,
                              tolerance=0.1, **extra) == expected


def test_hpa_recommendation_keeps_the_replicas_when_the_count_would_move_against_the_ratio():
    """GetResourceReplicas' last check: 4 pods, 3 ready at 30 % and 1 without metrics
    (counted at 100 % on a scale-down), target 100 %: new ratio (0.9 + 1) / 4 = 0.475,
    ceil(0.475 × 4) = 2 pods; with current 1 that would scale up on a ratio below 1, so 1."""
    assert hpa_recommendation(3, 3, 0, usage_cores=0.9, cores_per_replica=1.0, target=1.0, tolerance=0.1,
                              missing=1) == 2
    assert hpa_recommendation(1, 3, 0, usage_cores=0.9, cores_per_replica=1.0, target=1.0, tolerance=0.1,
                              missing=1) == 1


def test_hpa_reads_utilisation_as_a_whole_percent_so_a_whole_ratio_gives_no_extra_replica():
    """Kubernetes' usage ratio is the utilisation as a whole percent of the requests,
    truncated, over the target percent (metrics/utilization.go, GetResourceUtilizationRatio:
    ``int32(metricsTotal*100/requestsTotal)``), and the replicas ``ceil(ratio × ready)``
    (replica_calculator.go, GetResourceReplicas). By hand:

    - 11 replicas using 9 cores of 11, target 60 %: 9000 × 100 // 11000 = 81 %, 81 / 60 =
      1.35, ceil(14.85) = 15 (as a float ratio, 9 / 11 / 0.6 × 11 = 15.000000000000002 → 16).
    - 15 using 3 of 15, target 60 %: 20 %, 20 / 60 × 15 = 5.0 → 5 (3 / 15 / 0.6 × 15 =
      5.000000000000001 → 6).
    - 11 using 7.26 of 11: 66 %, 66 / 60 = 1.1: within the 0.1 tolerance, as
      Tolerances.isWithin has it (1 - 0.1 <= 1.1 <= 1 + 0.1): 11.
    """
    assert hpa_recommendation(11, 11, 0, usage_cores=9.0, cores_per_replica=1.0, target=0.6, tolerance=0.1) == 15
    assert hpa_recommendation(15, 15, 0, usage_cores=3.0, cores_per_replica=1.0, target=0.6, tolerance=0.1) == 5
    assert hpa_recommendation(11, 11, 0, usage_cores=7.26, cores_per_replica=1.0, target=0.6, tolerance=0.1) == 11


def test_hpa_recommendation_matches_kubernetes_arithmetic_over_a_sweep():
    """1 to 40 ready replicas of 1 core, each whole number of cores used up to all of them,
    targets 50 % to 80 % by 5: Kubernetes' own steps, written out here in its order and
    types: utilisation ``used × 1000 × 100 // (ready × 1000)`` (int64), ratio
    ``float64(utilisation) / float64(target)``, the replicas kept if ``1 - 0.1 <= ratio
    <= 1 + 0.1``, else ``ceil(ratio × ready)`` (GetResourceUtilizationRatio,
    GetResourceReplicas). Floats as Go's float64: where Kubernetes' product lands a hair
    above a whole number (25 replicas at 28 %, target 50 %: 0.56 × 25 = 14.000000000000002),
    it too asks for one more."""
    for target_percent in range(50, 81, 5):
        for ready in range(1, 41):
            for used in range(ready + 1):
                utilisation = used * 1000 * 100 // (ready * 1000)
                ratio = utilisation / target_percent
                expected = ready if 1 - 0.1 <= ratio <= 1 + 0.1 else math.ceil(ratio * ready)
                got = hpa_recommendation(ready, ready, 0, usage_cores=float(used), cores_per_replica=1.0,
                                         target=target_percent / 100, tolerance=0.1)
                assert got == expected, (ready, used, target_percent)


@pytest.mark.parametrize("step_s, at_315", [(300.0, 8), (301.0, 8), (310.0, 6)])
def test_hpa_sees_a_demand_step_only_through_metrics_servers_window_before_the_sync(step_s, at_315):
    """4 replicas of 1 core up at the start, demand 2 cores then 4 from ``step_s``, target
    50 %. metrics-server's reading is each pod's CPU averaged over its last 15 s window
    (kubernetes-sigs/metrics-server, pkg/storage/types.go; FAQ.md "How CPU usage is
    calculated?"), so the sync at 300 s reads [285, 300): 50 %, ratio 1 → 4, even with the
    step at exactly 300 s. The sync at 315 s reads [300, 315): a step at 300 s, 100 %,
    ratio 2 → 8; at 301 s, (1 × 0.5 + 14 × 1) / 15 = 967 m, 96 %, ceil(1.92 × 4) = 8; at
    310 s, (10 × 0.5 + 5 × 1) / 15 = 667 m, 66 %, ceil(1.32 × 4) = 6 (not the 100 % of the
    instant)."""
    cfg = config([web(replicas=4, running_at_start=True, demand={"cores": 2.0, "steps": [[step_s, 4.0]]},
                      autoscale={"max_replicas": 40, "target_utilisation": 0.5})],
                 duration_s=400.0)
    series = runs(cfg)["container"].services.groupby("t_s").last()
    assert series.loc[:300.0, "desired"].max() == 4
    assert series.loc[315.0, "desired"] == at_315


def test_hpa_scale_up_limit_holds_per_15_s_period_when_syncing_faster():
    """The default scale-up behaviour allows the larger of +100 % and +4 pods per 15 s,
    counted from the replicas at the period's start: the scale events of the last 15 s are
    taken back (horizontal.go, calculateScaleUpLimitWithScalingRules,
    getReplicasChangePerPeriod: events ``After(now - 15 s)``). 4 replicas of 1 core up at
    the start, 40 cores asked, target 25 %, a sync every 5 s, start 2 s:

    - t=5, 10: no metric window yet: 4. t=15: 4 at 100 %, ratio 4 → 16, limit max(8, 8) → 8.
    - t=20, 25: 4 at 100 % and 4 unready at 0 %: 50 %, ratio 2 → 16; the +4 at 15 s is within
      the period, so it starts at 4: limit 8 → 8 (a limit per sync would allow 16).
    - t=30: the 15 s event is exactly 15 s old, out: from 8, limit 16 → 16.
    - t=35: the +8 at 30 s counts: from 8, limit 16 → 16. t=45: 8 at 100 %, 8 unready:
      50 %, ratio 2 → 32; the 30 s event out: from 16, limit 32 → 32.
    """
    cfg = config([web(replicas=4, running_at_start=True, demand={"cores": 40.0},
                      autoscale={"max_replicas": 100, "target_utilisation": 0.25, "sync_s": 5.0})],
                 duration_s=60.0)
    series = runs(cfg)["container"].services.groupby("t_s").last()
    expected = {5: 4, 10: 4, 15: 8, 20: 8, 25: 8, 30: 16, 35: 16, 40: 16, 45: 32}
    assert {t: int(series["desired"].asof(float(t))) for t in expected} == expected


def test_hpa_never_more_than_doubles_or_adds_4_within_15_s_at_any_sync_period():
    """Whatever the sync period, the replicas desired at t are at most max(2 d, d + 4),
    d those desired 15 s before (the default behaviour's limit per 15 s period). 2 replicas
    up at the start, 40 cores asked, readiness 0, a sync every 5 s (the user's case)."""
    cfg = config([web(replicas=2, running_at_start=True, demand={"cores": 40.0},
                      autoscale={"max_replicas": 100, "target_utilisation": 0.6, "sync_s": 5.0})],
                 duration_s=300.0)
    desired = runs(cfg)["container"].services.groupby("t_s")["desired"].last()
    for t in np.arange(5.0, 300.0, 5.0):
        before = int(desired.asof(t - 15.0)) if t >= 15.0 else 2
        assert desired.asof(t) <= max(2 * before, before + 4), t


def test_pending_replicas_do_not_hold_the_hpa_up_once_demand_falls():
    """One 8-core host holds 4 replicas of 2 cores; demand 2 cores, 100 from 300 s, 0 from
    600 s; target 50 %. The HPA asks for 8 by 345 s (4 ready at 100 %), so 4 stay pending
    (8 - 8 // 2). From 600 s the 4 ready use nothing: Kubernetes leaves the pending ones
    out of the ratio on a scale-down, so it recommends ceil(0 × 4) = 0, min 1. The 8s
    recommended until 585 s hold it for the 300 s window: 8 at 885 s, 1 at 900 s. Then
    the 4 pending replicas, not ready, go first (rejected), and 3 running ones complete."""
    cfg = config([web(replicas=2, cpu_cores=2, memory_gib=2, readiness_s=5, running_at_start=True,
                      demand={"cores": 2.0, "steps": [[300, 100.0], [600, 0.0]]},
                      autoscale={"min_replicas": 1, "max_replicas": 20, "target_utilisation": 0.5})],
                 duration_s=2400.0, platforms=("container", "vm"),
                 cluster={"hosts": [{"cpu_cores": 8, "memory_gib": 64, "count": 1}]})
    for name, run in runs(cfg).items():
        series = run.services.groupby("t_s").last()
        assert (series.loc[600.0, "pods"], series.loc[600.0, "ready"]) == (8, 4), name
        assert (series.loc[885.0, "desired"], series.loc[900.0, "desired"], series["desired"].iloc[-1]) == (8, 1, 1)
        outcomes = run.instances["outcome"].value_counts()
        assert (outcomes.get("rejected", 0), outcomes.get("completed", 0), outcomes.get("running_at_end", 0),
                outcomes.get("queued_at_end", 0)) == (4, 3, 1, 0), name


def test_vms_scale_slower_than_containers_and_leave_more_demand_unserved():
    """The same HPA on both: a VM replica boots in 30 s, a container starts in 2 s, so
    after the step the VMs serve all demand later and leave more of it unserved."""
    cfg = config([web(replicas=2, demand={"cores": 2.0, "steps": [[300, 10.0]]},
                      autoscale={"max_replicas": 40, "target_utilisation": 0.5})],
                 duration_s=900.0, platforms=("container", "vm"))
    summary = simdc.simulate(cfg).summary.set_index("platform")
    assert summary.loc["vm", "catch_up_max_s"] > summary.loc["container", "catch_up_max_s"]
    assert summary.loc["vm", "demand_unserved_core_s"] > summary.loc["container", "demand_unserved_core_s"]
    # after the step, capacity short of 10 cores until enough replicas are ready: at least one boot
    assert summary.loc["vm", "catch_up_max_s"] >= 30.0
    assert summary.loc["container", "catch_up_max_s"] >= 2.0


# --- accounting and errors -----------------------------------------------------------

def test_replicas_are_accounted_like_any_instance_under_failures():
    """Hosts failing under an autoscaled service with a release: every replica created
    ends in exactly one outcome, and placed + rejected + queued_at_end = submitted."""
    cfg = config([web(replicas=3, readiness_s=2.0, demand={"cores": 3.0, "spikes": [{"at_s": 400, "duration_s": 300,
                                                                                      "factor": 3}]},
                      releases=[{"at_s": 500}], autoscale={"max_replicas": 12, "target_utilisation": 0.6})],
                 duration_s=1500.0, platforms=("container", "vm"),
                 cluster={"hosts": [{"cpu_cores": 4, "memory_gib": 32, "count": 5}]},
                 faults={"host_mtbf_s": 600, "host_repair_s": 120, "on_failure": "resubmit"},
                 placement={"when_full": "queue"})
    results = simdc.simulate(cfg)
    for row in results.summary.itertuples():
        assert row.placed + row.rejected + row.queued_at_end == row.submitted
        assert row.failures > 0 and row.failure_kills > 0
        inst = results.instances[results.instances["platform"] == row.platform]
        assert inst["id"].is_unique and inst["outcome"].notna().all()
        assert 0 <= row.demand_served_share <= 1


@pytest.mark.parametrize("service, said", [
    (web(max_surge="25"), "services[0].max_surge: "),
    (web(max_unavailable=2.5), "services[0].max_unavailable: must be a whole number of replicas >= 0 or a whole-number "
                               "percentage"),
    # Kubernetes: whole-number percentages only (apimachinery validation, IsValidPercent "^[0-9]+%$")
    (web(max_surge="25.5%"), "services[0].max_surge: must be a whole number of replicas >= 0 or a whole-number "
                             "percentage like '25%' (got '25.5%')"),
    # a time that would do nothing: refused, as placement.max_wait_s without a queue is
    (web(in_place_s=30.0), "services[0].in_place_s: applies only with vm_update = 'in_place' (got in_place_s = 30 "
                           "with vm_update = 'replace')"),
    (web(releases=[{"at_s": 10, "image": "nope:v2"}]), "services[0].releases[0].image: image 'nope:v2'"),
    (web(autoscale={"min_replicas": 5, "max_replicas": 2, "target_utilisation": 0.5}), "services[0].autoscale"),
    (web(replica=3), "services[0].replica: unknown key"),
])
def test_a_bad_service_key_is_reported_with_its_path(service, said):
    with pytest.raises(ConfigError) as err:
        config([service])
    (line,) = err.value.problems  # one line, naming the key
    assert said in line, line


def test_a_vm_scale_set_takes_warm_vms_first_and_boots_the_rest():
    """Warm pool of 3, warm start 5 s, boot 30 s: the scale-out at the 315 s sync, the first
    whose metric window [300, 315) holds the step (4 → 8 replicas), takes 3 warm VMs, ready
    at 320 s, and boots the fourth, ready at 345 s. (The 2 → 4 at 45 s, once the first two
    had a window's metrics, took 2 warm VMs; their replacements were back by 75 s.)"""
    cfg = config([web(replicas=2, demand={"cores": 2.0, "steps": [[300, 10.0]]},
                      autoscale={"max_replicas": 40, "target_utilisation": 0.5, "warm_pool": 3,
                                 "warm_start_s": 5.0})],
                 duration_s=335.0 + 30.0, platforms=("vm",))
    inst = runs(cfg)["vm"].instances
    scaled = inst[inst["submit_s"] == 315.0].sort_values("first_ready_s")
    np.testing.assert_allclose(scaled["first_ready_s"], [320.0, 320.0, 320.0, 345.0])


def test_the_service_records_are_written_and_read_back(tmp_path):
    cfg = config([web(releases=[{"at_s": 100.0}])], duration_s=300.0, platforms=("container", "vm"))
    results = simdc.simulate(cfg)
    again = simdc.load_results(results.write(tmp_path / "out"))
    pd.testing.assert_frame_equal(again.services, results.services, check_dtype=False)
    assert list(again.releases["platform"]) == ["container", "vm"]
    releases = again.releases.set_index("platform")
    np.testing.assert_allclose(releases["rollout_s"], releases["end_s"] - releases["at_s"])
    np.testing.assert_allclose(results.summary.set_index("platform").loc[releases.index, "rollout_s_mean"],
                               releases["rollout_s"])
    # the report's figure: demand and served summed over services, as the records hold them
    fig = again.figures()["services"]
    served = [trace for trace in fig.data if trace.name == "served"]
    assert len(served) == 2 and max(served[0].y) == pytest.approx(2.0)


def test_a_bad_service_value_on_the_command_line_is_one_error_line_and_exit_2(tmp_path):
    from typer.testing import CliRunner

    from simdc.cli import app

    path = tmp_path / "bad.toml"
    path.write_text('[simulation]\nduration_s = 100\n[host]\ncpu_cores = 8\nmemory_gib = 32\n'
                    '[workload.synthetic]\narrival_rate_per_s = 0.01\n'
                    '[[services]]\nname = "web"\nreplicas = 2\ncpu_cores = 1\nmemory_gib = 1\n'
                    'max_unavailable = "a lot"\n')
    result = CliRunner().invoke(app, ["run", str(path), "--no-write"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("error")]
    assert len(lines) == 1 and "services[0].max_unavailable" in lines[0] and "percentage" in lines[0], result.output


@pytest.mark.parametrize("surge, unavailable", [(0, 0), ("0%", "0%"), ("0%", 0)])
def test_a_rollout_that_could_never_start_is_one_config_error_naming_both_keys(surge, unavailable):
    """Kubernetes: maxUnavailable "may not be 0 when maxSurge is 0"."""
    with pytest.raises(ConfigError, match=r"services\[0\].max_unavailable: may not be 0 when max_surge is 0"):
        config([web(max_surge=surge, max_unavailable=unavailable)])
    config([web(max_surge=surge, max_unavailable=1)])  # either above 0 is a rollout
    config([web(max_surge="1%", max_unavailable=unavailable)])


@pytest.mark.parametrize("unavailable, refused", [("100%", False), ("101%", True), ("250%", True)])
def test_max_unavailable_above_100_percent_is_refused_as_kubernetes_does(unavailable, refused):
    """Kubernetes: maxUnavailable "must not be greater than 100%"; maxSurge may be."""
    if refused:
        with pytest.raises(ConfigError, match=r"services\[0\].max_unavailable: must not be greater than 100%"):
            config([web(max_unavailable=unavailable)])
    else:
        config([web(max_unavailable=unavailable)])
    config([web(max_surge="250%")])


def test_a_service_out_of_replica_rows_is_warned_about():
    """1 replica lost with its host every ~20 s (on_failure = "lose"): each loss is a new
    replica, a new row, until the 2 × 1 + 8 = 10 rows are used."""
    cfg = validate({"simulation": {"duration_s": 1000, "platforms": ["container"]},
                    "host": {"cpu_cores": 4, "memory_gib": 64, "reserved_memory_gib": 0},
                    "platform": {"container": {"start_s": 1.0}},
                    "workload": {"synthetic": {"arrival_rate_per_s": 1e-9}},
                    "faults": {"host_mtbf_s": 20, "host_repair_s": 1, "on_failure": "lose"},
                    "services": [web(replicas=1)]})
    results = simdc.simulate(cfg)
    assert len(results.instances) == 10
    assert any("used all 10 replica rows" in line for line in results.manifest["warnings"])


@pytest.mark.parametrize("replicas, cpu_cores, fit", [(6, 1, 4), (3, 100, 0), (1, 5, 0)])
def test_a_replica_no_host_takes_is_one_pending_request_not_one_per_retry(replicas, cpu_cores, fit):
    """Kubernetes: a pod no node takes stays Pending, one object, retried by the scheduler.
    On one 4-core host, ``replicas`` of ``cpu_cores`` each: ``fit`` = floor(4 / cores) run,
    the rest are submitted once at 0 s and still pending at the end (queued_at_end, having
    waited the whole run), however many 10 s retries 1000 s holds; none rejected."""
    cfg = validate({"simulation": {"duration_s": 1000, "platforms": ["vm", "container"]},
                    "host": {"cpu_cores": 4, "memory_gib": 64, "reserved_memory_gib": 0},
                    "platform": {"container": {"start_s": 1.0}, "vm": {"sizing": "as_given"}},
                    "workload": {"synthetic": {"arrival_rate_per_s": 1e-9}},
                    "services": [web(replicas=replicas, cpu_cores=cpu_cores)]})
    results = simdc.simulate(cfg)
    for row in results.summary.itertuples():
        assert (row.submitted, row.placed, row.rejected, row.queued_at_end) == (
            replicas, fit, 0, replicas - fit), row.platform
    table = results.instances
    pending = table[table["outcome"] == "queued_at_end"]
    assert len(pending) == 2 * (replicas - fit) and (pending["submit_s"] == 0).all()
    np.testing.assert_allclose(pending["queue_s"], 1000.0)


def test_pending_replicas_the_autoscaler_no_longer_wants_are_rejected_once_and_first():
    """6 replicas of 1 core on a 4-core host: 2 pending. Demand 2 cores at target 0.9 has
    the HPA settle on ceil(2 / 0.9) = 3; the pending ones, not ready, are removed first:
    each rejected once, with 1 running replica removed (completed) and 3 left running."""
    cfg = validate({"simulation": {"duration_s": 1200, "platforms": ["container"]},
                    "host": {"cpu_cores": 4, "memory_gib": 64, "reserved_memory_gib": 0},
                    "platform": {"container": {"start_s": 1.0}},
                    "workload": {"synthetic": {"arrival_rate_per_s": 1e-9}},
                    "services": [web(replicas=6, autoscale={"min_replicas": 1, "max_replicas": 6,
                                                            "target_utilisation": 0.9})]})
    results = simdc.simulate(cfg)
    outcomes = results.instances["outcome"].value_counts()
    assert (len(results.instances), outcomes["rejected"], outcomes["completed"], outcomes["running_at_end"]) == (
        6, 2, 1, 3)
    rejected = results.instances[results.instances["outcome"] == "rejected"]
    assert rejected["admit_s"].isna().all()


def test_a_replica_up_at_start_that_found_no_host_pays_its_start_when_placed_later():
    """One 4-core host; service a's 4 replicas of 1 core fill it at 0 s (running_at_start)
    so b's one replica (running_at_start too) stays pending. From the HPA's first sync, 15 s,
    a's 0.5 cores over 4 replicas at target 0.5 recommend ceil(0.25 × 4) = 1, but the
    scale-down window holds the 4 it was seeded with at 0 s (Kubernetes' initial
    recommendation) until it is 300 s old: 3 removed at the 300 s sync. b's retries fall
    every 10 s, the one at 300 s after that sync (whose timer was set first): placed at
    300 s, and as it was not up when the run began it pays its start (container 2 s, VM
    boot 30 s) and is no preexisting replica."""
    cfg = validate({"simulation": {"duration_s": 900, "platforms": ["container", "vm"]},
                    "host": {"cpu_cores": 4, "memory_gib": 64, "reserved_memory_gib": 0},
                    "platform": {"container": {"start_s": 2.0}, "vm": {"boot_s": 30.0, "sizing": "as_given"}},
                    "workload": {"synthetic": {"arrival_rate_per_s": 1e-9}},
                    "services": [web(name="a", running_at_start=True, demand={"cores": 0.5},
                                     autoscale={"min_replicas": 1, "max_replicas": 4, "target_utilisation": 0.5}),
                                 web(name="b", replicas=1, running_at_start=True)]})
    table = simdc.simulate(cfg).instances
    for platform, start_s in (("container", 2.0), ("vm", 30.0)):
        mine = table[table["platform"] == platform]
        a, (b,) = mine[mine["service"] == "a"], mine[mine["service"] == "b"].itertuples()
        assert (a["end_s"].dropna() == 300.0).sum() == 3
        assert (b.submit_s, b.admit_s, b.first_ready_s - b.admit_s, b.preexisting) == (0.0, 300.0, start_s, False)


def test_a_release_of_a_service_too_big_for_its_hosts_submits_each_wanted_replica_once():
    """configs/release.toml with 30-core replicas: one fits per 32-core host (4 hosts), so
    of v1's 20 replicas 16 stay pending; each release creates at most its 20 replicas
    (a rollout whose new replicas never become ready stalls, as Kubernetes' does), never a
    row per retry; every row ends in one outcome and the counts add up."""
    root = Path(__file__).resolve().parents[2]
    overrides = ["services.0.cpu_cores=30", "services.0.memory_gib=100"]
    results = simdc.simulate(simdc.load_config(root / "configs" / "release.toml", overrides))
    normal = simdc.simulate(simdc.load_config(root / "configs" / "release.toml")).summary
    table = results.instances
    for row, usual in zip(results.summary.itertuples(), normal.itertuples()):
        assert row.submitted <= usual.submitted
        assert row.placed + row.rejected + row.queued_at_end == row.submitted
        mine = table[(table["platform"] == row.platform) & (table["service"] == "web")]
        per_version = mine.groupby("version").size()
        assert per_version[0] == 20 and (per_version <= 20).all(), per_version
        assert (mine[mine["version"] == 0]["admit_s"].notna()).sum() == 4


def test_vms_updated_in_place_one_at_a_time_take_n_times_the_update_and_copy_the_changed_layer_each():
    """vm_update = "in_place", maxSurge 0, maxUnavailable 1, in_place_s u = 45 s: VM after
    VM leaves service for u, so the rollout takes n × u with one replica short all along
    (n × u unavailable replica-seconds), creates no VM, and each VM copies the 60 MiB
    layer v2 changed into its own disk; then v3 (back to v1's top layer) copies 50 MiB each."""
    images = [{"name": "web:v1", "disk_gib": 4.0, "layers": [{"digest": "base", "size_mib": 500},
                                                               {"digest": "top1", "size_mib": 50}]},
              {"name": "web:v2", "disk_gib": 4.0, "layers": [{"digest": "base", "size_mib": 500},
                                                               {"digest": "top2", "size_mib": 60}]}]
    n, u = 5, 45.0
    cfg = config([web(image="web:v1", replicas=n, max_surge=0, max_unavailable=1, vm_update="in_place",
                      in_place_s=u, releases=[{"at_s": 200.0, "image": "web:v2"}, {"at_s": 500, "image": "web:v1"}])],
                 duration_s=800.0, platforms=("vm",), images=images)
    run = runs(cfg)["vm"]
    np.testing.assert_allclose(run.releases["end_s"] - run.releases["at_s"], [n * u, n * u])
    np.testing.assert_allclose(run.releases["pulled_gib"], [n * 60 / MIB_PER_GIB, n * 50 / MIB_PER_GIB])
    assert len(run.instances) == n
    # each VM, its row v0's, ends on the last release it was updated to: v2 (the table's version)
    assert (run.instances["version"] == 2).all()
    summary = simdc.metrics.service_metrics(run.services, run.releases, 800.0, {"web": 0.99})
    assert summary["rollout_surge_peak"] == 0
    assert summary["rollout_unavailable_replica_s"] == pytest.approx(n * u)
    # the run's pulled GiB (its hosts') holds the copies too: the releases add exactly them
    unreleased = config([web(image="web:v1", replicas=n, vm_update="in_place", in_place_s=u)], duration_s=800.0,
                        platforms=("vm",), images=images)
    added = run.hosts["pulled_gib"].sum() - runs(unreleased)["vm"].hosts["pulled_gib"].sum()
    assert added == pytest.approx(n * (60 + 50) / MIB_PER_GIB)


def test_a_vm_updated_in_place_waits_its_readiness_before_serving_again():
    """An update in place is a package upgrade and a restart, so the restarted application
    waits readiness_s R for its probe, as after any start: with maxSurge 0, maxUnavailable
    1, n = 5 VMs of 1 core serving n cores, each VM is out of service u + R = 45 + 10 s in
    turn. The rollout takes n × (u + R) = 275 s, one replica short all along: n × (u + R)
    unavailable replica-seconds. Meanwhile the n − 1 left are each asked 1 core, which
    costs 1.01 of the host (cpu_overhead 1 %) within their 1 vCPU: each serves 1 / 1.01,
    so n − (n − 1) / 1.01 cores are unserved, over n × (u + R) s."""
    images = [{"name": "web:v1", "disk_gib": 4.0, "layers": [{"digest": "base", "size_mib": 500},
                                                               {"digest": "top1", "size_mib": 50}]},
              {"name": "web:v2", "disk_gib": 4.0, "layers": [{"digest": "base", "size_mib": 500},
                                                               {"digest": "top2", "size_mib": 60}]}]
    n, u, r = 5, 45.0, 10.0
    cfg = config([web(image="web:v1", replicas=n, max_surge=0, max_unavailable=1, vm_update="in_place",
                      in_place_s=u, readiness_s=r, demand={"cores": float(n)},
                      releases=[{"at_s": 200.0, "image": "web:v2"}])],
                 duration_s=800.0, platforms=("vm",), images=images)
    run = runs(cfg)["vm"]
    np.testing.assert_allclose(run.releases["end_s"] - run.releases["at_s"], [n * (u + r)])
    summary = simdc.metrics.service_metrics(run.services, run.releases, 800.0, {"web": 0.99})
    assert summary["rollout_unavailable_replica_s"] == pytest.approx(n * (u + r))
    assert summary["rollout_unserved_core_s"] == pytest.approx(n * (u + r) * (n - (n - 1) / VM_CPU_FACTOR))


def test_a_sweep_averages_the_service_numbers_and_plan_accepts_them_as_slos():
    """Service columns are metrics (mean and CI over replications), not grid keys; an SLO
    on one is refused, naming it, for a config without services."""
    from simdc.metrics import SUMMARY_COLUMNS
    from simdc.planning import parse_slo, plan
    from simdc.sweeping import aggregate

    row = {c: 1.0 for c in SUMMARY_COLUMNS if c != "platform"}
    points = pd.DataFrame([{"point": 0, "host.cpu_cores": 8, "platform": "vm", "replication": r, "seed": r, **row,
                            "demand_served_share": share} for r, share in enumerate([0.9, 1.0])])
    table = aggregate(points)
    assert len(table) == 1 and table["demand_served_share_mean"].iloc[0] == pytest.approx(0.95)
    assert "demand_served_share" not in table.columns
    assert parse_slo("demand_served_share>=0.99").metric == "demand_served_share"
    plain = validate({"simulation": {"duration_s": 60}, "host": {"cpu_cores": 4, "memory_gib": 8},
                      "workload": {"synthetic": {"arrival_rate_per_s": 0.1}}})
    with pytest.raises(ConfigError, match="demand_served_share.*no \\[\\[services\\]\\]"):
        plan(plain, ["demand_served_share>=0.99"])


def test_a_service_taken_from_a_workload_job_has_its_peak_replicas_and_summed_demand(tmp_path):
    """Job "web" in a trace: instances alive over [0, 600), [100, 400), [200, 800) using
    0.5, 0.7, 0.4 cores. As a service: 3 replicas (the most alive at once) and demand 0.5
    from 0, 1.2 from 100, 1.6 from 200, 0.9 from 400, 0.4 from 600, 0 from 800; the
    workload's other job stays an ordinary instance."""
    from simdc.engine.services import demand_series, from_workload

    trace = tmp_path / "trace.csv"
    trace.write_text("id,submit_s,duration_s,cpu_cores,memory_gib,cpu_used,job\n"
                     "1,0,600,1,2,0.5,web\n2,100,300,1,2,0.7,web\n3,150,100,2,4,1.0,batch\n4,200,600,1,2,0.4,web\n")
    cfg = validate({"simulation": {"duration_s": 1000, "platforms": ["container"]},
                    "host": {"cpu_cores": 16, "memory_gib": 64},
                    "workload": {"trace": str(trace), "format": "simdc"},
                    "services": [{"name": "web", "job": "web", "readiness_s": 1}]})
    workload = load_workload(cfg.workload, 1000.0, 0)
    (service,), rest, kept = from_workload(cfg.services, workload.instances, 1000.0)
    assert (service.replicas, service.cpu_cores, service.memory_gib) == (3, 1.0, 2.0)
    assert list(rest["id"]) == [3] and list(kept) == [2]
    t, cores = demand_series(service.demand, 1000.0)
    at = {0: 0.5, 100: 1.2, 200: 1.6, 400: 0.9, 600: 0.4, 800: 0.0}
    for when, expected in at.items():
        assert cores[np.searchsorted(t, when, side="right") - 1] == pytest.approx(expected), when
    results = simdc.simulate(cfg)
    inst = results.instances
    assert (inst["service"] == "web").sum() == 3 and (inst["service"] == "").sum() == 1
    assert results.summary["demand_served_share"].iloc[0] > 0.99


def test_a_service_job_the_workload_lacks_is_one_error():
    cfg = config([{"name": "web", "job": "nope"}])
    with pytest.raises(simdc.errors.InputError, match=r"services\[0\].job: the workload has no instance of job 'nope'"):
        simdc.simulate(cfg)
    with pytest.raises(ConfigError, match=r"services\[0\].cpu_cores: required key is missing"):
        config([{"name": "web", "replicas": 2, "memory_gib": 1}])


def test_replicas_running_at_start_serve_from_0_s_and_are_left_out_of_start_latency():
    """running_at_start: the 4 replicas are up and ready at 0 s (no boot, no readiness),
    so all demand is served from the start; only the release's new VMs, booted in 30 s
    and ready 5 s later, count in start latency."""
    cfg = config([web(running_at_start=True, readiness_s=5.0, releases=[{"at_s": 100.0}])],
                 duration_s=600.0, platforms=("vm",))
    results = simdc.simulate(cfg)
    inst = results.instances
    up = inst[inst["preexisting"]]
    assert len(up) == 4 and (up["first_ready_s"] == 0.0).all()
    row = results.summary.iloc[0]
    assert row.start_p50_s == pytest.approx(30.0) and row.start_p99_s == pytest.approx(30.0)
    assert results.services.groupby("t_s").last().loc[0.0, "served_cores"] == 2.0  # what holds from 0 s
    assert row.demand_served_share == 1.0


def test_the_workload_rows_keep_their_own_usage_model_beside_a_service():
    """Beside replicas, the workload's rows answer as their own usage model does: the
    oracle's quantile (not the most), and their usage over time, row by row."""
    from simdc.engine.services import Plan, ReplicaUsage

    class Model:  # a stand-in: quantiles and maxima differ, usage tells the row asked
        step_s = 300.0

        def quantile(self, q):
            return np.array([1.0, 2.0, 3.0]) * q, np.array([4.0, 5.0, 6.0])

        def upper(self):
            return np.array([10.0, 20.0, 30.0]), np.array([40.0, 50.0, 60.0])

        def at(self, inst, age_s, now):
            return inst.astype(float), inst.astype(float) + 100

    service = validate({"simulation": {"duration_s": 10}, "host": {"cpu_cores": 4, "memory_gib": 8},
                        "workload": {"synthetic": {"arrival_rate_per_s": 1}},
                        "services": [web(replicas=1)]}).services
    plan = Plan(service, first=2, service_of=np.array([0]), version_of=np.array([0]))
    usage = ReplicaUsage(Model(), plan, np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.0, 2.0]),
                         kept=np.array([0, 2]))  # row 1 of the model went to the service
    cpu, mem = usage.quantile(0.5)
    np.testing.assert_allclose(cpu, [0.5, 1.5, 1.0])
    np.testing.assert_allclose(mem, [4.0, 6.0, 2.0])
    np.testing.assert_allclose(usage.upper()[0], [10.0, 30.0, 1.0])
    cpu, mem = usage.at(np.array([1, 0]), np.array([0.0, 0.0]), 0.0)
    np.testing.assert_allclose(cpu, [2.0, 0.0])
    assert usage.step_s == 15.0  # the service's demand step, finer than the model's 300 s


def test_a_release_during_a_rollout_cuts_it_short_and_only_finished_rollouts_have_a_duration():
    """Releases 5 s apart on VMs that boot in 30 s: the first rollout is cut short by the
    second (ended then, not finished), the second finishes; the mean duration is the
    finished one's."""
    cfg = config([web(replicas=2, max_surge=1, max_unavailable=0, releases=[{"at_s": 100.0}, {"at_s": 105.0}])],
                 duration_s=600.0, platforms=("vm",))
    run = runs(cfg)["vm"]
    first, second = run.releases.itertuples()
    assert (first.finished, first.end_s) == (False, 105.0)
    assert second.finished and second.end_s > 105.0
    summary = simdc.metrics.service_metrics(run.services, run.releases, 600.0, {"web": 0.99})
    assert summary["rollout_s_mean"] == pytest.approx(second.end_s - second.at_s)


def test_demand_from_azure_functions_is_invocations_per_minute_times_the_average_duration():
    """Demand (cores) in minute m = invocations in m / 60 s × the function's average
    duration (ms / 1000), read here from the sample's two files with the csv module; the
    default function is the one invoked most."""
    import csv

    from simdc.engine.services import demand_series
    from simdc.model.service import DemandSpec
    from tests.workload.traces import sample

    folder = sample("azure_functions_2019_sample500")
    with open(folder / "invocations.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    busiest = max(rows, key=lambda r: sum(int(r[str(m)]) for m in range(480, 960)))
    with open(folder / "durations.csv", newline="") as f:
        average_ms = next(float(r["Average"]) for r in csv.DictReader(f)
                          if r["HashFunction"] == busiest["HashFunction"])
    t, cores = demand_series(DemandSpec(trace=folder / "invocations.csv", step_s=60.0), 3600.0)
    expected = [int(busiest[str(480 + m)]) / 60.0 * average_ms / 1000.0 for m in range(60)]
    np.testing.assert_allclose(t, np.arange(0.0, 3600.0, 60.0))
    np.testing.assert_allclose(cores, expected, rtol=1e-12)


@pytest.mark.parametrize("cut", ["invocations.csv", "durations.csv"])
def test_a_functions_table_cut_inside_its_last_row_is_refused_not_read_short(tmp_path, cut):
    """Either file of the Azure Functions sample cut inside its last line's value, with no
    line end after it, would be read short ("1234" as "12") by pandas: it is refused,
    naming the file's last line, as the trace readers refuse such a file."""
    import shutil

    from simdc.engine.services import demand_series
    from simdc.errors import InputError
    from simdc.model.service import DemandSpec
    from tests.workload.traces import sample

    folder = sample("azure_functions_2019_sample500")
    for name in ("invocations.csv", "durations.csv"):
        shutil.copy(folder / name, tmp_path / name)
    text = (tmp_path / cut).read_bytes()
    assert text.endswith(b"\n")
    (tmp_path / cut).write_bytes(text[:-3])  # the line end and the last value's last two characters
    lines = text.count(b"\n")
    with pytest.raises(InputError) as err:
        demand_series(DemandSpec(trace=tmp_path / "invocations.csv", step_s=60.0), 3600.0)
    assert err.value.problems == [f"{tmp_path / cut}: line {lines}: the last line has no line end, so the file may "
                                  "be cut short; if the file is complete, end it with a newline"]


@settings(max_examples=12, deadline=None)
@given(replicas=st.integers(1, 6), surge=st.integers(0, 2), unavailable=st.integers(0, 2),
       mtbf_s=st.sampled_from([300.0, 900.0]), on_failure=st.sampled_from(["resubmit", "lose"]),
       when_full=st.sampled_from(["reject", "queue"]), seed=st.integers(0, 50))
# a row 0.057 s long whose integrals' difference gave 5.000000003 cores served by 5 ready
@example(replicas=4, surge=1, unavailable=2, mtbf_s=300.0, on_failure="resubmit", when_full="queue", seed=28)
def test_records_and_outcomes_stay_consistent_under_failures_releases_and_scaling(
        replicas, surge, unavailable, mtbf_s, on_failure, when_full, seed):
    """Whatever fails: served ≤ demand and ≤ ready × cores, ready ≤ replicas existing, and
    every replica ends in one outcome with placed + rejected + queued_at_end = submitted."""
    assume(surge or unavailable)  # both 0: a config error
    cfg = validate({
        "simulation": {"duration_s": 1200, "seed": seed, "platforms": ["vm", "container"], "sample_every_s": 600},
        "cluster": {"hosts": [{"cpu_cores": 4, "memory_gib": 16, "count": 3}]},
        "platform": {"vm": {"sizing": "as_given"}},
        "placement": {"when_full": when_full},
        "faults": {"host_mtbf_s": mtbf_s, "host_repair_s": 60, "on_failure": on_failure},
        "workload": {"synthetic": {"arrival_rate_per_s": 0.005, "lifetime_s": {"mean": 300},
                                   "sizes": [{"cpu_cores": 1, "memory_gib": 2, "weight": 1}]}},
        "services": [web(replicas=replicas, max_surge=surge, max_unavailable=unavailable, readiness_s=3,
                         demand={"cores": 2.0, "spikes": [{"at_s": 500, "duration_s": 200, "factor": 3}]},
                         releases=[{"at_s": 300}],
                         autoscale={"max_replicas": 8, "target_utilisation": 0.7})],
    })
    results = simdc.simulate(cfg)
    s = results.services
    assert (s["served_cores"] <= s["demand_cores"] + 1e-9).all()
    assert (s["served_cores"] <= s["ready"] * 1.0 + 1e-9).all()
    assert (s["ready"] <= s["pods"]).all()
    for row in results.summary.itertuples():
        assert row.placed + row.rejected + row.queued_at_end == row.submitted
        assert 0 <= row.demand_served_share <= 1


def test_a_run_too_long_for_its_demand_step_or_a_sync_too_short_is_refused():
    with pytest.raises(ConfigError, match=r"services\[0\].demand.step_s: 15 s over simulation.duration_s 3e\+07 s "
                                          r"is 2,000,000 demand steps; at most 1,000,000"):
        config([web()], duration_s=3e7)
    with pytest.raises(ConfigError, match=r"services\[0\].autoscale.sync_s: must be >= 1 \(got 0.1\)"):
        config([web(autoscale={"max_replicas": 3, "target_utilisation": 0.5, "sync_s": 0.1})])


def test_a_functions_demand_shorter_than_the_run_is_refused_not_held_at_its_last_minute():
    """The sample's invocations cover as many minutes as it has minute columns (counted
    here with the csv module); a run one second longer is one error line naming the file,
    where the demand used to repeat the last minute for the rest of the run."""
    import csv

    from simdc.engine.services import demand_series
    from simdc.errors import InputError
    from simdc.model.service import DemandSpec
    from tests.workload.traces import sample

    path = sample("azure_functions_2019_sample500") / "invocations.csv"
    with open(path, newline="") as f:
        minutes = sum(name.isdigit() for name in next(csv.reader(f)))
    spec = DemandSpec(trace=path, step_s=60.0)
    t, _ = demand_series(spec, 60.0 * minutes)  # the whole series: accepted
    assert t[-1] == 60.0 * (minutes - 1)
    with pytest.raises(InputError, match=rf"invocations.csv: {minutes:,} minutes of invocations "
                                         rf"\({60 * minutes:,} s\), shorter than the run "
                                         rf"\(simulation.duration_s = {60 * minutes + 1:,} s\)"):
        demand_series(spec, 60.0 * minutes + 1)


def test_a_replica_up_at_the_start_pays_its_start_when_a_drain_restarts_it():
    """running_at_start makes the first start free, only that one: four replicas on host
    0 of two, host 0 drained at 100 s, containers restarted (a 2 s start, no image): each
    is down exactly 2 s, and the table's first-start phases stay 0 (they were down 0 s,
    every later start free)."""
    cfg = config([web(running_at_start=True)], cluster={"hosts": [{"cpu_cores": 64, "memory_gib": 256, "count": 2}]},
                 placement={"policy": "first_fit"}, maintenance={"drains": [[0, 100]], "maintenance_s": 60})
    rows = simdc.simulate(cfg).instances
    moved = rows[(rows["service"] == "web") & (rows["migrations"] > 0)]
    assert len(moved) == 4
    assert moved["downtime_s"].to_numpy() == pytest.approx([2.0] * 4, rel=1e-12)
    assert (moved["ready_s"] == 102.0).all() and (moved["boot_s"] == 0.0).all()


def test_a_replica_up_at_the_start_pays_its_start_when_an_oom_kill_restarts_it_in_place():
    """review6 F12's leftover: one replica up at 0 s, booked 2 GiB but using 6 GiB on a
    4 GiB host, is OOM-killed each time it runs. The kubelet's back-off is 10 s, doubled
    each crash (kubelet ``backOffPeriod`` 10 s, ``MaxContainerBackOff`` 300 s); each
    restart in place is a 2 s start: killed at 0, 10 + 2 = 12, 12 + 20 + 2 = 34, then
    34 + 40 + 2 = 76 s, its last ready time in a 100 s run (instant restarts made it 70 s)."""
    cfg = config([web(replicas=1, memory_gib=2, memory_used_gib=6, running_at_start=True)], duration_s=100.0,
                 host={"cpu_cores": 8, "memory_gib": 4})
    row = simdc.simulate(cfg).instances.iloc[0]
    assert (row["oom_kills"], row["restarts"]) == (4, 3)
    assert row["ready_s"] == pytest.approx(76.0) and row["first_ready_s"] == 0.0


def test_demand_steps_and_spikes_after_the_run_are_named_in_its_warnings():
    """A step at 700 s and a spike at 600 s in a 600 s run change nothing: the run's
    warnings count them (one of two steps, the one spike); the step at 100 s counts."""
    demand = {"cores": 2.0, "steps": [[100.0, 3.0], [700.0, 5.0]],
              "spikes": [{"at_s": 600.0, "duration_s": 60.0, "factor": 2.0}]}
    results = simdc.simulate(config([web(demand=demand)], duration_s=600.0))
    lines = [line for line in results.manifest["warnings"] if ".demand." in line]
    assert lines == ["services[0].demand.steps: 1 of 2 ([1]) start at or after the run's end (600 s) and change "
                     "nothing",
                     "services[0].demand.spikes: 1 of 1 ([0]) start at or after the run's end (600 s) and change "
                     "nothing"]
    assert results.services["demand_cores"].max() == pytest.approx(3.0)


def test_the_time_to_serve_a_rise_is_none_when_demand_never_rose_and_a_plan_reads_it_as_no_wait():
    """Constant demand: no rise, so "time to serve a rise" is NaN (the table's "–"), not
    0 s; a plan's `catch_up_max_s<=10` is met (no wait), with one host of 64 cores."""
    cfg = config([web()], duration_s=300.0)
    summary = simdc.simulate(cfg).summary.iloc[0]
    assert np.isnan(summary["catch_up_max_s"])
    from simdc.planning import plan

    table = plan(cfg, ["catch_up_max_s<=10"]).plan
    assert (table["hosts_needed"] == 1).all(), table


# --- replicas' CPU and the demand served ------------------------------------------------

def served_core_s(series: pd.DataFrame, duration_s: float) -> float:
    """∫ served_cores dt per service, each row holding until the service's next (or the end)."""
    total = 0.0
    for _, rows in series.groupby("service", sort=False):
        t = rows["t_s"].to_numpy(float)
        total += float((rows["served_cores"].to_numpy(float) * np.diff(np.r_[t, duration_s])).sum())
    return total


def crowded(platforms=("vm", "container"), **service):
    """One host of 4 cores and 64 GiB whose CPU is overcommitted 2× on both platforms, so
    4 replicas of 2 cores fit on it (8 cores booked) and share its 4 cores."""
    return validate({
        "simulation": {"duration_s": 600, "platforms": list(platforms), "sample_every_s": 600},
        "host": {"cpu_cores": 4, "memory_gib": 64},
        "platform": {"container": {"overcommit": 2.0, "start_s": 2.0},
                     "vm": {"sizing": "as_given", "cpu_overcommit": 2.0, "boot_s": 30.0}},
        "workload": {"synthetic": {"arrival_rate_per_s": 1e-9}},
        "services": [web(replicas=4, cpu_cores=2, memory_gib=4, running_at_start=True, demand={"cores": 7.0},
                         **service)],
    })


def test_demand_served_is_what_the_host_gives_the_replicas_not_what_they_ask():
    """4 replicas × 2 cores on one 4-core host, 7 cores of demand for 600 s: each is asked
    1.75 cores, but the host has 4 cores in all, so at most 4 × 600 = 2,400 core-s of the
    4,200 asked are served (4/7 = 57.1 %) and 1,800 are not, and every second is below
    the 99 % SLO. The host is work-conserving (CFS shares, all 4 cores given out), so
    containers serve exactly 2,400; a VM spends 1 % of what it is given on the
    hypervisor (cpu_overhead), so VMs serve 2,400 / 1.01. Worked out by hand."""
    results = simdc.simulate(crowded())
    summary = results.summary.set_index("platform")
    assert summary.loc["container", "demand_unserved_core_s"] == pytest.approx(1800.0, rel=1e-9)
    assert summary.loc["container", "demand_served_share"] == pytest.approx(4 / 7, rel=1e-9)
    assert summary.loc["vm", "demand_unserved_core_s"] == pytest.approx(4200.0 - 2400.0 / VM_CPU_FACTOR, rel=1e-9)
    assert (summary["slo_violation_s"] == 600.0).all()
    s = results.services
    assert (s["served_cores"] <= 4.0 + 1e-9).all()


def test_hpa_reads_the_cpu_the_replicas_get_under_contention_not_the_demand_sent_to_them():
    """The crowded host (4 replicas × 2-core requests, 4 cores, 7 cores of demand), target
    50 %: the metrics API reports what the containers use, 1 core each (the host's 4
    cores shared), 50 % of their request: ratio 1.0, so the HPA keeps 4 (Kubernetes docs,
    "Horizontal Pod Autoscaling", Algorithm details; "Resource metrics pipeline"). Read
    as the 7 cores sent to them it would be 87.5 % → ceil(4 × 1.75) = 7."""
    cfg = crowded(platforms=("container",), autoscale={"min_replicas": 1, "max_replicas": 8,
                                                        "target_utilisation": 0.5})
    series = simdc.simulate(cfg).services.groupby("t_s").last()
    assert (series["desired"] == 4).all()


def test_service_availability_counts_a_failed_replica_down_only_until_its_replacement_is_ready():
    """2 hosts × 4 cores, 4 replicas × 2 cores up at 0 s (2 per host), 900 s. Host 0 fails
    at 100 s for 300 s: its 2 replicas are lost; the controller replaces them at once, but
    host 1 is full, so they wait (retried every 10 s) until host 0 is back at 400 s, then
    start (VM boot 30 s, container start 2 s) and pass readiness 10 s. Ready replicas
    against the 4 desired (a Deployment's availableReplicas against its replicas):
    2 × (300 + start + 10) replica-seconds short of 4 × 900, so 1 − 2 × 340 / 3,600 =
    81.1 % on VMs and 1 − 2 × 312 / 3,600 = 82.7 % on containers. Counting each lost
    replica as down until the horizon (and its replacement's time beside it) gave 64.8 %
    and 65.2 %. Without the failure: 100 %."""
    service = web(replicas=4, cpu_cores=2, memory_gib=4, readiness_s=10, running_at_start=True,
                  demand={"cores": 7.0})
    hosts = {"hosts": [{"cpu_cores": 4, "memory_gib": 64, "count": 2}]}
    failed = config([service], duration_s=900.0, platforms=("vm", "container"), cluster=hosts,
                    faults={"host_failures": [[0, 100]], "host_repair_s": 300})
    availability = simdc.simulate(failed).summary.set_index("platform")["service_availability"]
    assert availability["vm"] == pytest.approx(1 - 2 * (300 + 30 + 10) / (4 * 900), rel=1e-12)
    assert availability["container"] == pytest.approx(1 - 2 * (300 + 2 + 10) / (4 * 900), rel=1e-12)
    calm = config([service], duration_s=900.0, platforms=("vm", "container"), cluster=hosts)
    assert (simdc.simulate(calm).summary["service_availability"] == 1.0).all()


@settings(max_examples=10, deadline=None)
@given(replicas=st.integers(1, 5), cpu_cores=st.sampled_from([1.0, 2.0]), readiness_s=st.sampled_from([0.0, 7.0, 40.0]),
       cores=st.floats(0.5, 12.0), spike_at_s=st.floats(1.0, 500.0), release_at_s=st.floats(1.0, 500.0),
       in_place=st.booleans(), autoscale=st.booleans(), running_at_start=st.booleans(), seed=st.integers(0, 20),
       crowded=st.booleans())
def test_the_demand_served_adds_up_to_the_cpu_the_replicas_were_given(
        replicas, cpu_cores, readiness_s, cores, spike_at_s, release_at_s, in_place, autoscale, running_at_start,
        seed, crowded):
    """A replica carries traffic, so CPU, only once ready (Kubernetes sends traffic to
    Ready endpoints only), and the ready replicas share the demand evenly, each up to its
    cores; what it serves is the CPU its host gives it. So over the run ∫ served_cores dt
    from the services table × (1 + cpu_overhead) on VMs = Σ replicas' cpu_demand_core_s −
    cpu_unmet_core_s from the instances table, whenever demand or readiness moves (spikes
    and releases off the 15 s demand grid, readiness delays, VMs updated in place, the
    autoscaler) and whether or not the hosts' CPU is contended (``crowded``: 4-core
    hosts overcommitted 2×). And no row serves more than its demand or its ready
    replicas' cores. Both sides from the tables."""
    service = web(replicas=replicas, cpu_cores=cpu_cores, readiness_s=readiness_s, running_at_start=running_at_start,
                  demand={"cores": cores, "spikes": [{"at_s": spike_at_s, "duration_s": 100.0, "factor": 2.5}]},
                  releases=[{"at_s": release_at_s}], max_surge=1, max_unavailable=1)
    if in_place:
        service.update(vm_update="in_place", in_place_s=20.0)
    if autoscale:
        service["autoscale"] = {"max_replicas": 8, "target_utilisation": 0.6}
    hosts = ({"cpu_cores": 4, "memory_gib": 32, "count": 2} if crowded
             else {"cpu_cores": 8, "memory_gib": 32, "count": 3})
    cfg = config([service], duration_s=900.0, platforms=("vm", "container"), cluster={"hosts": [hosts]})
    platform = {"container": cfg.platform["container"].model_copy(update={"overcommit": 2.0 if crowded else 1.0}),
                "vm": cfg.platform["vm"].model_copy(update={"cpu_overcommit": 2.0 if crowded else 1.0})}
    cfg = cfg.model_copy(update={"simulation": cfg.simulation.model_copy(update={"seed": seed}), "platform": platform})
    for name, run in runs(cfg).items():
        served = served_core_s(run.services, 900.0)
        overhead = 1.0 + cfg.platform[name].cpu_overhead if name == "vm" else 1.0
        inst = run.instances  # the fleet holds only replicas
        used_core_s = (inst["cpu_demand_core_s"].fillna(0.0) - inst["cpu_unmet_core_s"].fillna(0.0)).sum()
        assert used_core_s == pytest.approx(served * overhead, rel=1e-9, abs=1e-6), name
        rows = run.services
        assert (rows["served_cores"] <= np.minimum(rows["demand_cores"], rows["ready"] * cpu_cores) + 1e-9).all(), name


@pytest.mark.parametrize("function", [None, "f1"])
def test_a_functions_table_with_only_its_header_is_an_input_error_naming_it(tmp_path, function):
    """An invocations file of the Azure Functions 2019 layout with its header and no row:
    no function to replay (the busiest of none was numpy's "argmax of an empty sequence"
    ValueError, exit 1), in the API and the CLI alike."""
    import tomli_w
    from typer.testing import CliRunner

    from simdc.cli import app
    from simdc.errors import InputError
    from tests.test_out_safety import one_error_line

    trace = tmp_path / "invocations.csv"
    trace.write_text("HashOwner,HashApp,HashFunction,Trigger," + ",".join(str(m) for m in range(1, 1441)) + "\n")
    demand = {"trace": str(trace), "core_s_per_invocation": 0.1, **({"function": function} if function else {})}
    data = {"simulation": {"duration_s": 600, "platforms": ["container"]},
            "host": {"cpu_cores": 4, "memory_gib": 64},
            "workload": {"synthetic": {"arrival_rate_per_s": 1e-9}},
            "services": [web(replicas=1, demand=demand)]}
    with pytest.raises(InputError) as caught:
        simdc.simulate(validate(data))
    assert caught.value.problems == [f"{trace}: no functions: the header only (expected a row per function: its "
                                     "HashFunction and its invocations in each minute)"]
    config = tmp_path / "config.toml"
    config.write_text(tomli_w.dumps(data))
    one_error_line(CliRunner().invoke(app, ["run", str(config), "--no-write"]), str(trace), "no functions")
