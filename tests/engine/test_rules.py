"""The model's rules (simdc.engine.rules), each checked against what it claims, computed
here another way: by brute force, by the integral it stands for, or over random inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simdc.engine.rules import (BACKOFF_RESET_S, backoff, limit, capped_usage, contended, energy_j, fits,
                               oom_score_adj, oom_scores, oom_victims, over_memory, stranded_gib)

sizes = st.floats(0.0, 64.0, allow_nan=False)


def test_four_quarters_fit_in_one_core_and_a_hair_more_does_not():
    one = limit(1.0)
    booked = 0.0
    for _ in range(3):
        booked += 0.25
    assert fits(booked, 0.0, 0.25, 0.0, one, one)
    assert not fits(booked, 0.0, 0.25 + 1e-6, 0.0, one, one)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(sizes, sizes, sizes, sizes), min_size=1, max_size=8), sizes, sizes)
def test_the_fit_test_over_hosts_is_the_test_host_by_host(hosts, cpu, mem):
    booked_cpu, booked_mem, cpu_cap, mem_cap = (np.array(column) for column in zip(*hosts))
    mask = fits(booked_cpu, booked_mem, cpu, mem, cpu_cap, mem_cap)
    one_by_one = [bool(fits(float(a), float(b), cpu, mem, float(c), float(d))) for a, b, c, d in hosts]
    assert mask.tolist() == one_by_one
    assert one_by_one == [a + cpu <= c and b + mem <= d for a, b, c, d in hosts]


capped = st.one_of(st.just(float("inf")), sizes)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(sizes, sizes, st.floats(0.5, 128.0), capped, capped), min_size=1, max_size=8))
def test_usage_cap_for_one_instance_and_for_arrays_agree_with_min_over_the_caps(rows):
    cpu, mem, cores, cpu_cap, mem_cap = (np.array(column) for column in zip(*rows))
    demand, clip, mem_capped = capped_usage(cpu, mem, cores, cpu_cap, mem_cap)
    for k, (c, m, n, cc, mc) in enumerate(rows):
        one = capped_usage(c, m, n, cc, mc)
        assert one == (demand[k], clip[k], mem_capped[k])
        assert one[0] == min(c, n, cc)  # never more than the machine or the ceiling
        # what is clipped is the rest of what it asked: exactly that difference, and with
        # the demand back to what it asked within the difference's rounding
        assert one[1] == min(c, n) - one[0] and one[1] >= 0
        assert one[0] + one[1] == pytest.approx(min(c, n), rel=1e-15, abs=0.0)
        assert one[2] == min(m, mc)


def test_a_cap_given_as_none_is_no_cap():
    cpu, mem = np.array([3.0, np.inf]), np.array([2.0, 5.0])
    demand, clip, mem_out = capped_usage(cpu, mem, None, None, None)
    assert demand.tolist() == [3.0, np.inf] and clip.tolist() == [0.0, 0.0] and mem_out.tolist() == [2.0, 5.0]


def _adj(request_mib: int, guaranteed: bool, capacity_mib: int) -> int:
    """The kubelet's oom_score_adj as pkg/kubelet/qos/policy.go computes it (Go int64
    arithmetic, here on whole MiB): Guaranteed -997; Burstable 1000 - 1000 × request //
    capacity, below 1000 + (-997) raised to it, 1000 lowered to 999."""
    if guaranteed:
        return -997
    adj = 1000 - (1000 * request_mib) // capacity_mib
    return 3 if adj < 3 else 999 if adj == 1000 else adj


def test_oom_score_adj_is_the_kubelets_by_qos_class():
    """A request of 10 % of the node gets 900 (the example of policy.go's comment); a
    request of the whole node the floor 3; a request under a thousandth of it 999 (never
    BestEffort's 1000); a Guaranteed pod -997 whatever its request."""
    request = np.array([0.4, 1.0, 0.5, 4.0, 3.999, 0.002, 2.0])
    guaranteed = np.array([False] * 6 + [True])
    assert oom_score_adj(request, guaranteed, 4.0).tolist() == [900, 750, 875, 3, 3, 999, -997]


def test_the_victim_is_the_kernels_highest_oom_score_whatever_the_priority():
    """vic.toml: a 4 GiB host; x uses 1.6 GiB against a 1 GiB request, y 1.2 against 0.5,
    z 1.3 against 2: 4.1 GiB. oom_score = 1000 × usage / 4 + adj: x 400 + 750 = 1150,
    y 300 + 875 = 1175, z 325 + 500 = 825. The kernel kills y alone (2.9 GiB left),
    though y has the higher priority and x is further above its request (the kubelet's
    eviction order, which the old rule used, took x)."""
    mem, request = np.array([1.6, 1.2, 1.3]), np.array([1.0, 0.5, 2.0])
    guaranteed = np.zeros(3, dtype=bool)
    assert oom_scores(mem, oom_score_adj(request, guaranteed, 4.0), 4.0) == pytest.approx([1150, 1175, 825])
    assert oom_victims(mem, request, guaranteed, np.arange(3), 0.0, 4.0, 4.0).tolist() == [1]


def test_usage_is_scored_against_the_allocatable_memory_and_the_adj_against_the_capacity():
    """win.toml on an 8 GiB host with 4 GiB reserved (the kubepods cgroup's limit 4 GiB,
    the node's capacity 8): p uses 1.4 of its 1.5 GiB request, q 2.9 of 4, both within.
    p: 1000 × 1.4 / 4 + (1000 - floor(187.5)) = 350 + 813 = 1163; q: 725 + 500 = 1225.
    The kernel kills q, the largest, not p, the closest to its request."""
    mem, request = np.array([1.4, 2.9]), np.array([1.5, 4.0])
    victims = oom_victims(mem, request, np.zeros(2, dtype=bool), np.arange(2), 0.0, 4.0, 8.0)
    assert victims.tolist() == [1]


def test_a_guaranteed_container_goes_after_a_burstable_one():
    """On a 4 GiB host g (Guaranteed: limits equal to requests) uses 1.9 of 2 GiB and b
    (Burstable) 2.2 of 2.5: g scores 475 - 997 = -522, b 550 + 375 = 925. b goes."""
    mem, request, guaranteed = np.array([1.9, 2.2]), np.array([2.0, 2.5]), np.array([True, False])
    assert oom_victims(mem, request, guaranteed, np.arange(2), 0.0, 4.0, 4.0).tolist() == [1]


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 16 * 1024), st.integers(1, 16 * 1024), st.booleans()), min_size=1,
                max_size=8),
       st.integers(1, 40 * 1024), st.integers(0, 8 * 1024), st.integers(0, 512), st.randoms(use_true_random=False))
def test_each_victim_has_the_highest_oom_score_of_the_containers_still_running(rows, allocatable_mib, reserved_mib,
                                                                              overhead_mib, rand):
    """Whatever the host: the kernel kills the container of highest oom_score, 1000 ×
    usage / allocatable + adj (the kubelet's adj against the capacity, allocatable +
    reserved), of those still running, and stops as soon as the footprint left fits.
    Sizes in whole MiB, so the scores here are exact fractions (Python's Fraction), the
    adj Go's integer arithmetic (mm/oom_kill.c oom_badness; pkg/kubelet/qos/policy.go)."""
    from fractions import Fraction

    capacity_mib = allocatable_mib + reserved_mib
    instance = list(range(100, 100 + len(rows)))
    rand.shuffle(instance)  # a host's order is not its rows' order
    score = [Fraction(1000 * used, allocatable_mib) + _adj(request, guaranteed, capacity_mib)
             for used, request, guaranteed in rows]
    mem, request, guaranteed = (np.array(column) for column in zip(*rows))
    victims = oom_victims(mem / 1024, request / 1024, guaranteed.astype(bool), np.array(instance), overhead_mib / 1024,
                          allocatable_mib / 1024, capacity_mib / 1024).tolist()
    running = set(range(len(rows)))
    for k in victims:
        assert k in running
        # (1e-9: equal scores reached by different sums may differ in their last bit;
        # which of equal scores goes first is the test below)
        assert score[k] >= max(score[r] for r in running) - Fraction(1, 10**9)
        running.discard(k)
    footprint = sum(rows[k][0] + overhead_mib for k in running)
    before = footprint + rows[victims[-1]][0] + overhead_mib
    # it fits once the last victim is gone, not before (1e-6 MiB: the GiB sums' rounding),
    # or nobody is left
    assert footprint <= allocatable_mib + 1e-6 or not running
    assert before > allocatable_mib - 1e-6 or len(victims) == 1


def test_of_equal_scores_the_later_workload_row_goes_first():
    """Three identical containers, each using 1.5 GiB against a 1 GiB request, on a host
    of 4 GiB with 2 allocatable: equal scores, and two must go. The kernel keeps the
    last of equal points it scans (mm/oom_kill.c, oom_evaluate_task), the newest pod;
    the later row stands for it, whatever the host's order: rows 7 and 5 go, 2 stays."""
    mem, request = np.full(3, 1.5), np.full(3, 1.0)
    victims = oom_victims(mem, request, np.zeros(3, dtype=bool), np.array([5, 2, 7]), 0.0, 2.0, 4.0)
    assert victims.tolist() == [2, 0]


def test_the_killer_stops_where_the_host_stops_being_over_its_memory():
    """4.6 + 4.2 + 0.9 + 0.3 GiB is 10.000000000000002 in doubles: within a 10 GiB host
    for over_memory (its EPS of slack), so they ran without a kill. e (request 0.1 GiB,
    using 1.4) joins: scores 1000 × usage / 10 + (1000 − floor(1000 × request / 10)) are
    460 + 540 = 1000, 420 + 580, 90 + 910, 30 + 970 = 1000 each and e 140 + 990 = 1130.
    e goes, and the four left are again not over their memory: e alone is the victim."""
    mem = np.array([4.6, 4.2, 0.9, 0.3, 1.4])
    request = np.array([4.6, 4.2, 0.9, 0.3, 0.1])
    assert sum(mem[:4].tolist()) > 10.0 and not over_memory(mem[:4].sum(), 0.0, 4, 10.0)
    assert oom_victims(mem, request, np.zeros(5, dtype=bool), np.arange(5), 0.0, 10.0, 10.0).tolist() == [4]


def test_backoff_doubles_from_the_base_to_the_cap_and_resets_after_ten_quiet_minutes():
    streak, delays = 0, []
    for _ in range(7):
        delay, streak = backoff(streak, 5.0, 10.0, 300.0)
        delays.append(delay)
    assert delays == [10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]
    assert backoff(streak, BACKOFF_RESET_S, 10.0, 300.0) == (10.0, 1)
    assert backoff(streak, BACKOFF_RESET_S - 1.0, 10.0, 300.0) == (300.0, streak + 1)


def test_backoff_stays_at_its_cap_however_long_the_streak():
    """A container killed 1,024 times in a row (3.5 days of CrashLoopBackOff at the
    defaults) crashed the run: 10 · 2 ** 1024 does not fit a double. The delay is the cap
    from the sixth kill on, and stays there."""
    for streak in (5, 63, 64, 1023, 1024, 10**6):
        assert backoff(streak, 5.0, 10.0, 300.0) == (300.0, streak + 1)
    assert backoff(63, 5.0, 1.0, 1e9) == (min(2.0 ** 63, 1e9), 64)  # past 64 doublings any cap is reached


def test_a_restart_backoff_under_a_second_is_refused():
    """A back-off of 0 restarted a container killed at once again at one instant, about a
    thousand times, then crashed; the kubelet's least is 1 s (KEP-5593)."""
    from simdc.config import validate
    from simdc.errors import ConfigError

    base = {"simulation": {"duration_s": 60.0}, "host": {"cpu_cores": 4, "memory_gib": 8},
            "workload": {"synthetic": {"arrival_rate_per_s": 0.1}}}
    for key in ("restart_backoff_s", "restart_backoff_max_s"):
        with pytest.raises(ConfigError, match=f"platform.container.{key}"):
            validate(base | {"platform": {"container": {key: 0}}})
    validate(base | {"platform": {"container": {"restart_backoff_s": 1, "restart_backoff_max_s": 1}}})


@pytest.mark.parametrize("idle_w, max_w, cores", [(200.0, 400.0, 32.0), (0.0, 150.0, 8.0), (90.0, 90.0, 4.0)])
def test_energy_is_the_integral_of_power_linear_in_utilisation(idle_w, max_w, cores):
    """Piecewise-constant use: the energy of each piece, summed, is the whole span's, and
    both are ∫ (idle + (max − idle) × used / cores) dt computed piece by piece."""
    pieces = [(30.0, 0.0), (120.0, cores), (45.5, cores / 3), (600.0, 1.25)]  # (seconds, cores used)
    by_piece = sum(energy_j(idle_w, max_w, cores, dt, used * dt) for dt, used in pieces)
    whole = energy_j(idle_w, max_w, cores, sum(dt for dt, _ in pieces), sum(dt * used for dt, used in pieces))
    power = sum((idle_w + (max_w - idle_w) * used / cores) * dt for dt, used in pieces)
    assert by_piece == pytest.approx(power, rel=1e-12)
    assert whole == pytest.approx(power, rel=1e-12)
    assert energy_j(idle_w, max_w, cores, 3600.0, 0.0) == idle_w * 3600.0  # idle for an hour
    assert energy_j(idle_w, max_w, cores, 3600.0, cores * 3600.0) == pytest.approx(max_w * 3600.0, rel=1e-12)


def test_energy_per_host_takes_arrays():
    on_s, used = np.array([10.0, 20.0]), np.array([5.0, 0.0])
    got = energy_j(np.array([100.0, 50.0]), np.array([200.0, 50.0]), np.array([2.0, 4.0]), on_s, used)
    assert got.tolist() == [100.0 * 10 + 100.0 * 5 / 2, 50.0 * 20]


def test_capping_by_the_ceiling_or_by_the_machine_first_gives_the_same_double():
    """min() over three values picks one of them, whichever way round: a lane that caps by
    the ceiling first (the fast lane's closed mode) and one that caps by the machine first
    agree to the bit."""
    for c, n, cc in itertools.permutations([0.1 + 0.2, 0.3, 0.30000000000000004]):
        assert capped_usage(c, 0.0, n, cc, 1.0)[0] == min(min(c, cc), n)


def test_a_host_is_contended_or_over_its_memory_only_beyond_rounding():
    quarters = 0.0
    for _ in range(4):
        quarters += 0.1 + 0.15  # 1.0 to rounding
    assert not contended(quarters, 1.0) and contended(1.0 + 1e-6, 1.0)
    assert not over_memory(quarters - 0.5, 0.25, 2, 1.0)  # 0.5 used + 2 × 0.25 overhead
    assert over_memory(0.5 + 1e-6, 0.25, 2, 1.0)
    mask = over_memory(np.array([0.5, 0.6]), 0.25, np.array([2, 2]), np.array([1.0, 1.0]))
    assert mask.tolist() == [False, True]
    assert contended(np.array([1.0, 2.0]), np.array([1.0, 1.5])).tolist() == [False, True]


def test_stranded_memory_is_booked_but_unused_up_to_what_the_host_has():
    assert stranded_gib(10.0, 64.0, 4.0) == 6.0
    assert stranded_gib(80.0, 64.0, 4.0) == 60.0  # booking beyond the host strands nothing
    assert stranded_gib(10.0, 64.0, 12.0) == 0.0  # use beyond the booking strands nothing


def test_a_pod_admitted_at_other_requests_than_it_declared_runs_with_them():
    """Admission by the oracle books 3 GiB and 0.5 cores for a pod declaring 1 GiB and 2
    cores (limits 4 cores, 2 GiB): its memory request (the oom_score_adj's) is 3 GiB, its
    CPU weight 0.5 cores, its limits keep their ratio to the requests (VPA's
    RequestsAndLimits): 4 × 0.5 / 2 = 1 core and 2 × 3 / 1 = 6 GiB. A request of 0 cores
    still weighs the kubelet's MinShares, 2 / 1024 of a core."""
    import pandas as pd

    from simdc.engine.rules import footprints
    from simdc.model.platform import ContainerPlatform
    from simdc.workload.usage import ConstantUsage

    rows = pd.DataFrame({"cpu_cores": [2.0, 1.0], "memory_gib": [1.0, 1.0], "cpu_used": [0.5, 0.0],
                         "memory_used_gib": [3.0, 0.5], "cpu_limit": [4.0, np.nan],
                         "memory_limit_gib": [2.0, np.nan]})
    platform = ContainerPlatform(admission="oracle", overhead_mib=0)
    fp = footprints(platform, rows, np.random.default_rng(0),
                    ConstantUsage(rows["cpu_used"].to_numpy(), rows["memory_used_gib"].to_numpy()))
    assert fp.mem_request.tolist() == [3.0, 0.5]
    assert fp.weight.tolist() == [0.5, 2 / 1024]
    assert fp.cpu_cap.tolist() == [1.0, np.inf]
    assert fp.mem_limit.tolist() == [6.0, np.inf]


def test_a_restart_backoff_cap_below_its_base_is_refused():
    """The back-off doubles from restart_backoff_s (10 s) up to restart_backoff_max_s: a cap
    of 5 s made every delay 5 s and the base unused (a container killed 391 times instead
    of 12). Refused, naming the key and the base; a cap equal to the base is a constant delay."""
    from simdc.config import validate
    from simdc.errors import ConfigError

    base = {"simulation": {"duration_s": 60.0}, "host": {"cpu_cores": 4, "memory_gib": 8},
            "workload": {"synthetic": {"arrival_rate_per_s": 0.1}}}
    with pytest.raises(ConfigError, match=r"platform.container.restart_backoff_max_s.*restart_backoff_s \(10\)"):
        validate(base | {"platform": {"container": {"restart_backoff_max_s": 5}}})
    validate(base | {"platform": {"container": {"restart_backoff_s": 5, "restart_backoff_max_s": 5}}})
    # a base above the cap left at its default (300 s) is refused too, on every container
    # platform: it was cut to 300 s silently, and the config.toml written with the results
    # (restart_backoff_max_s = 300 beside the base) was refused when rerun
    for platform in ("container", "sandboxed_container"):
        with pytest.raises(ConfigError, match=rf"platform.{platform}.restart_backoff_max_s.*"
                                              r"restart_backoff_s \(600\).*300 by default"):
            validate(base | {"platform": {platform: {"restart_backoff_s": 600}}})
