"""Failures meet every platform the same way: nothing runs on a host under repair, a
kernel reboot never ends a repair early, and a resubmitted victim waits afresh
(../shared/cases/faults_stale_wait, faults_kernel_then_host, faults_civ_node_up)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import simdc
from simdc.config import validate

# every preset: VMs, microVMs, containers, sandboxed containers, containers in node VMs
PLATFORMS = ["vm", "microvm", "container", "sandboxed_container", "container_in_vm"]
REPAIR_S = 400.0
REBOOT_S = 60.0
SAMPLE_S = 5.0
HORIZON_S = 3000.0


def repair_windows(failures: list[tuple[int, float]], host: int) -> list[tuple[float, float]]:
    """[start, end) of each repair of ``host``, computed from the failure list alone: a
    failure during a repair is no new failure (the host is already down)."""
    windows: list[tuple[float, float]] = []
    for t in sorted(t for j, t in failures if j == host):
        if not windows or t >= windows[-1][1]:
            windows.append((t, t + REPAIR_S))
    return windows


def faulty_run(host_failures, kernel_failures, platforms):
    return simdc.simulate(validate({
        "simulation": {"duration_s": HORIZON_S, "seed": 2, "platforms": platforms, "sample_every_s": SAMPLE_S},
        "cluster": {"hosts": [{"cpu_cores": 16, "memory_gib": 64, "count": 2}]},
        "faults": {"host_failures": host_failures, "kernel_failures": kernel_failures,
                   "host_repair_s": REPAIR_S, "kernel_repair_s": REBOOT_S, "on_failure": "resubmit"},
        "workload": {"synthetic": {"arrival_rate_per_s": 0.05, "lifetime_s": {"mean": 600},
                                   "sizes": [{"cpu_cores": 1, "memory_gib": 2, "weight": 1}]}},
    }))


# Host failures, each with a kernel failure up to a reboot before it (the case where a
# reboot's end fell inside the repair) or none, plus kernel failures at random times.
host_faults = st.lists(st.tuples(st.integers(0, 1), st.integers(100, 2800), st.none() | st.integers(1, 59)),
                       max_size=3)
kernel_faults = st.lists(st.tuples(st.integers(0, 1), st.integers(1, 2800).map(float)), max_size=2)


@settings(max_examples=25, deadline=None)
@given(host_faults, kernel_faults)
def test_nothing_is_resident_on_a_host_under_repair(faults, kernel_failures):
    """On every preset, at every sample inside a repair window (from the failure list
    alone) the host's machines hold nothing; and no instance that never met a failure
    stayed on a host across one of its repairs (its one stay, admission to end)."""
    host_failures = [[j, float(t)] for j, t, _ in faults]
    kernel_failures = kernel_failures + [[j, float(t - before)] for j, t, before in faults if before]
    results = faulty_run(host_failures, kernel_failures, PLATFORMS)
    machines = results.hosts[["platform", "host", "physical_host"]]
    ts = results.timeseries.merge(machines, on=["platform", "host"])
    rows = results.instances.merge(machines, on=["platform", "host"])
    rows = rows[rows["failure_kills"] == 0]
    admit, end = rows["admit_s"].to_numpy(float), rows["end_s"].fillna(HORIZON_S).to_numpy(float)
    for j in (0, 1):
        for start, end_repair in repair_windows(host_failures, j):
            inside = ts[(ts["physical_host"] == j) & (ts["t_s"] > start) & (ts["t_s"] < end_repair)]
            assert set(inside["platform"]) == set(PLATFORMS) or end_repair > HORIZON_S
            assert inside.groupby("platform")["resident"].sum().eq(0).all(), (j, start, end_repair)
            across = (rows["physical_host"].to_numpy() == j) & (admit < end_repair) & (end > start)
            assert not across.any(), rows[across][["platform", "id", "admit_s", "end_s"]]
    # every platform met the same host failures
    failures = results.summary.set_index("platform")["failures"]
    assert failures.min() >= sum(len(repair_windows(host_failures, j)) for j in (0, 1))


def test_a_kernel_reboot_ending_during_a_repair_leaves_the_host_down():
    """Kernel fails at 1000 (reboot until 1060), the host at 1030 (repair until 1430):
    nothing is resident on host 0 at any sample in (1030, 1430), on any platform."""
    results = faulty_run([[0, 1030.0]], [[0, 1000.0]], PLATFORMS)
    ts = results.timeseries.merge(results.hosts[["platform", "host", "physical_host"]], on=["platform", "host"])
    inside = ts[(ts["physical_host"] == 0) & (ts["t_s"] > 1030) & (ts["t_s"] < 1030 + REPAIR_S)]
    assert set(inside["platform"]) == set(PLATFORMS)
    assert inside["resident"].sum() == 0
    after = ts[(ts["physical_host"] == 0) & (ts["t_s"] > 1030 + REPAIR_S + 100)]
    assert after.groupby("platform")["resident"].sum().gt(0).all()  # and it comes back


def stale_wait(tmp_path, repair_s):
    trace = tmp_path / "stale.csv"
    pd.DataFrame({"id": ["a", "b"], "submit_s": [0.0, 1.0], "duration_s": [100.0, 5000.0],
                  "cpu_cores": [4, 4], "memory_gib": [4, 4]}).to_csv(trace, index=False)
    return simdc.simulate(validate({
        "simulation": {"duration_s": 2000, "seed": 1, "platforms": ["container"]},
        "host": {"cpu_cores": 4, "memory_gib": 8},
        "placement": {"when_full": "queue", "max_wait_s": 300},
        "faults": {"host_failures": [[0, 150]], "host_repair_s": repair_s, "on_failure": "resubmit"},
        "platform": {"container": {"start_s": 0}},
        "workload": {"trace": str(trace)},
    })).instances.set_index("id")


def test_a_resubmitted_victim_waits_afresh(tmp_path):
    """b queues at 1 behind a, starts at 100, dies with the host at 150 and queues again.
    Repair of 200 s: back at 350, inside b's new 300 s wait, so b runs again."""
    b = stale_wait(tmp_path, 200.0).loc["b"]
    assert b["outcome"] == "running_at_end" and b["failure_kills"] == 1


def test_a_resubmitted_victims_wait_is_timed_from_its_resubmission(tmp_path):
    """Repair of 1000 s: b's second wait (from 150) runs out at 150 + 300 = 450, not at
    1 + 300 = 301 (its first wait's timer)."""
    b = stale_wait(tmp_path, 1000.0).loc["b"]
    assert b["outcome"] != "completed"
    assert b["end_s"] == 450.0


# --- power while down ------------------------------------------------------------------

IDLE_W, MAX_W = 100.0, 300.0


def repair_s_within(failures: list[tuple[int, float]], host: int) -> float:
    """Seconds ``host`` spends under repair before the horizon, from the failure list alone."""
    return sum(min(end, HORIZON_S) - start for start, end in repair_windows(failures, host))


@settings(max_examples=15, deadline=None)
@given(host_faults, kernel_faults)
def test_a_host_under_repair_draws_nothing_and_a_rebooting_one_draws(faults, kernel_failures):
    """Hosts on always (power_off_idle false): each machine's energy is the linear power
    model over the time it is powered, idle W × (horizon − its host's repair time, from
    the failure list alone) + (max − idle) W × its core-seconds used ÷ its cores. A kernel
    reboot leaves the machine powered; a failed host is off until repaired."""
    host_failures = [[j, float(t)] for j, t, _ in faults]
    kernel_failures = kernel_failures + [[j, float(t - before)] for j, t, before in faults if before]
    results = simdc.simulate(validate({
        "simulation": {"duration_s": HORIZON_S, "seed": 2, "platforms": ["vm", "container"],
                       "sample_every_s": 600.0},
        "cluster": {"hosts": [{"cpu_cores": 16, "memory_gib": 64, "count": 2, "power_idle_w": IDLE_W,
                               "power_max_w": MAX_W}]},
        "faults": {"host_failures": host_failures, "kernel_failures": kernel_failures,
                   "host_repair_s": REPAIR_S, "kernel_repair_s": REBOOT_S, "on_failure": "resubmit"},
        "workload": {"synthetic": {"arrival_rate_per_s": 0.05, "lifetime_s": {"mean": 600},
                                   "sizes": [{"cpu_cores": 1, "memory_gib": 2, "weight": 1}]}},
    }))
    for h in results.hosts.itertuples():
        on_s = HORIZON_S - repair_s_within(host_failures, h.physical_host)
        expected_j = IDLE_W * on_s + (MAX_W - IDLE_W) * h.cpu_used_core_s / h.cpu_cores
        assert h.energy_kwh * 3.6e6 == pytest.approx(expected_j, rel=1e-9), (h.platform, h.host)


def test_idle_hosts_switched_off_still_draw_while_rebooting_or_in_maintenance():
    """Nothing runs (no arrivals) and idle hosts are off: host 0's kernel fails at 1000
    (containers: the host reboots for 60 s) and again at 2000, 100 s into a repair (down
    already: no reboot); host 1 is drained at 500 and down 300 s for maintenance. Energy
    is idle power over exactly those powered spans: 60 s of reboot on host 0 (containers
    only: a VM platform's kernel failure strikes one VM), 300 s of maintenance on host 1."""
    results = simdc.simulate(validate({
        "simulation": {"duration_s": HORIZON_S, "seed": 2, "platforms": ["vm", "container"],
                       "sample_every_s": 600.0},
        "cluster": {"power_off_idle": True,
                    "hosts": [{"cpu_cores": 16, "memory_gib": 64, "count": 2, "power_idle_w": IDLE_W,
                               "power_max_w": MAX_W}]},
        "faults": {"host_failures": [[0, 1900.0]], "kernel_failures": [[0, 1000.0], [0, 2000.0]],
                   "host_repair_s": REPAIR_S, "kernel_repair_s": REBOOT_S},
        "maintenance": {"drains": [[1, 500.0]], "maintenance_s": 300.0},
        "workload": {"synthetic": {"arrival_rate_per_s": 1e-9}},
    }))
    energy_j = results.hosts.set_index(["platform", "host"])["energy_kwh"] * 3.6e6
    assert energy_j[("container", 0)] == pytest.approx(IDLE_W * REBOOT_S, rel=1e-12)
    assert energy_j[("vm", 0)] == 0.0
    for platform in ("vm", "container"):
        assert energy_j[(platform, 1)] == pytest.approx(IDLE_W * 300.0, rel=1e-12)


@pytest.mark.parametrize("platform", ["container", "container_in_vm", "vm"])
def test_a_failure_strikes_exactly_the_instances_resident_on_its_machines(platform, monkeypatch):
    """Every failure of a machine fails, in row order, exactly the rows whose host is that
    machine and that are starting, running or in back-off then, each once: checked
    against a plain scan of every row (what the engine did before it looked the rows up
    in one vectorised comparison), on a fleet of several machines (per physical host
    with containers in node VMs)."""
    from simdc.engine import simulation

    struck: list[tuple[list[int], list[int]]] = []  # (rows the plain scan finds, rows failed)
    fail_all, fail = simulation.Simulation._fail_all, simulation.Simulation._fail
    failed: list[int] = []

    def scanned(self, host, now):
        resident = [i for i in range(len(self.state)) if self.host_of[i] == host.index
                    and self.state[i] in (simulation.STARTING, simulation.RUNNING, simulation.BACKOFF)]
        failed.clear()
        fail_all(self, host, now)
        struck.append((resident, list(failed)))

    def counted(self, i, now):
        failed.append(i)
        fail(self, i, now)

    monkeypatch.setattr(simulation.Simulation, "_fail_all", scanned)
    monkeypatch.setattr(simulation.Simulation, "_fail", counted)
    simdc.simulate(validate({
        "simulation": {"duration_s": 6 * 3600.0, "seed": 5, "platforms": [platform], "sample_every_s": 600},
        "cluster": {"hosts": [{"cpu_cores": 16, "memory_gib": 64, "count": 6}]},
        "faults": {"host_mtbf_s": 20000, "host_repair_s": 900, "kernel_mtbf_s": 30000, "kernel_repair_s": 60,
                   "on_failure": "resubmit"},
        "workload": {"synthetic": {"arrival_rate_per_s": 0.1, "lifetime_s": {"median": 900, "p95": 7200},
                                   "sizes": [{"cpu_cores": 1, "memory_gib": 2, "weight": 2},
                                             {"cpu_cores": 4, "memory_gib": 8, "weight": 1}]}},
    }))
    assert sum(len(resident) > 1 for resident, _ in struck) >= 3  # the config reaches failures with victims
    for resident, rows in struck:
        assert rows == resident


def test_listed_failures_after_the_runs_end_are_not_made_and_are_named_in_its_warnings():
    """Of three host failures listed, two fall at or after the run's end and the one
    kernel failure too: one made, each late list counted in a warning line (they were
    dropped without a word); none when every moment falls inside."""
    late = faulty_run([(0, 100.0), (1, HORIZON_S), (1, 5000.0)], [(0, 4000.0)], ["container"])
    lines = [line for line in late.manifest["warnings"] if line.startswith("faults.")]
    assert lines == [f"faults.host_failures: 2 of 3 host failures ([1], [2]) fall at or after the run's end "
                     f"({HORIZON_S:,g} s) and are not made",
                     f"faults.kernel_failures: 1 of 1 kernel failures ([0]) fall at or after the run's end "
                     f"({HORIZON_S:,g} s) and are not made"]
    assert late.summary["failures"].tolist() == [1]
    inside = faulty_run([(0, 100.0)], [(1, 200.0)], ["container"])
    assert not [line for line in inside.manifest["warnings"] if line.startswith("faults.")]
    assert inside.summary["failures"].tolist() == [2]


@pytest.mark.parametrize("second_s", [100.0 + REPAIR_S, 100.0 + REPAIR_S - 1.0, 100.0 + REPAIR_S + 0.5, 250.0])
def test_a_listed_failure_at_a_repairs_end_is_made_and_one_inside_it_is_named(second_s):
    """Host 0 listed to fail at 100 s and at ``second_s``. At the repair's very end the
    host is up again (the repair ends first, as every ending at its instant) and fails
    again: it was dropped without a word. Inside the repair it is no failure (the host is
    down already) and a warning names it and its place in the list, once for both
    platforms (the same on each). Failures and down
    time as the list alone gives them (:func:`repair_windows`)."""
    kernel = [(1, second_s)]  # machine 1's kernel, up: a failure made
    run = faulty_run([(0, 100.0), (0, second_s), (1, 2000.0)], kernel, ["vm", "container"])
    windows = repair_windows([(0, 100.0), (0, second_s)], 0)
    hosts = run.hosts.set_index(["platform", "host"])
    for platform in ("vm", "container"):
        assert hosts.loc[(platform, 0), "failures"] == len(windows)
        assert hosts.loc[(platform, 0), "down_s"] == pytest.approx(sum(b - a for a, b in windows))
    said = [line for line in run.manifest["warnings"] if "not made" in line and "run's end" not in line]
    inside = len(windows) == 1
    assert said == ([f"vm, container: faults.host_failures[1]: host 0 at {second_s:,g} s: it was under repair then "
                     f"(failed at 100 s, repaired at {100 + REPAIR_S:,g} s); a host down cannot fail: not made"]
                    if inside else [])


def test_a_listed_kernel_failure_of_a_machine_under_repair_is_named():
    """Machine 0's kernel listed to fail while its host is under repair: no kernel runs
    there, so no failure, and a warning says so (it was dropped without a word)."""
    run = faulty_run([(0, 100.0)], [(0, 300.0)], ["container"])
    assert run.hosts.set_index("host").loc[0, "failures"] == 1
    assert [line for line in run.manifest["warnings"] if "faults.kernel_failures[0]" in line] == [
        "container: faults.kernel_failures[0]: host 0 at 300 s: the machine was down then (its host under repair), "
        "with no kernel running: not made"]


def test_a_kernel_failure_kills_every_container_on_the_host_but_one_sandboxed_pod():
    """A runc container shares the host's kernel; a sandboxed (Kata) pod runs its own
    guest kernel, as a VM does: the same listed kernel failure kills every container
    running on host 0 (as its timeseries counts them just before) and one pod there."""
    run = faulty_run([], [(0, 1500.0)], ["container", "sandboxed_container"])
    ts = run.timeseries
    before = ts[(ts["t_s"] == 1500.0 - SAMPLE_S) & (ts["host"] == 0)].set_index("platform")["running"]
    kills = run.summary.set_index("platform")["failure_kills"]
    assert before["sandboxed_container"] > 1  # more than one pod there: one killed is the rule, not the load
    assert kills["container"] == before["container"]
    assert kills["sandboxed_container"] == 1
    assert run.summary["failures"].tolist() == [1, 1]


def test_a_listed_failure_during_maintenance_is_not_made_and_moments_print_whole():
    """A host down for maintenance cannot fail, as its kernel cannot (a failure listed
    then was made: 100 s of maintenance, then a whole repair); the warning names the
    platform where the host was down then, and moments print to the millisecond, never
    rounded onto another moment or in exponent form (3699.999 read "3700")."""
    run = simdc.simulate(validate({
        "simulation": {"duration_s": HORIZON_S, "seed": 2, "platforms": ["container"], "sample_every_s": SAMPLE_S},
        "cluster": {"hosts": [{"cpu_cores": 16, "memory_gib": 64, "count": 2}]},
        "maintenance": {"drains": [[0, 100.0]], "maintenance_s": 1800},
        "faults": {"host_failures": [[0, 200.0], [1, 100.0], [1, 499.999]], "host_repair_s": REPAIR_S},
        "workload": {"synthetic": {"arrival_rate_per_s": 0.001, "lifetime_s": {"mean": 60},
                                   "sizes": [{"cpu_cores": 1, "memory_gib": 2, "weight": 1}]}},
    }))
    hosts = run.hosts.set_index("host")
    assert hosts.loc[0, "failures"] == 0 and hosts.loc[1, "failures"] == 1
    said = [line for line in run.manifest["warnings"] if "not made" in line]
    assert said == ["container: faults.host_failures[0]: host 0 at 200 s: it was down for maintenance then; a host "
                    "down cannot fail: not made",
                    "container: faults.host_failures[2]: host 1 at 499.999 s: it was under repair then (failed at "
                    "100 s, repaired at 500 s); a host down cannot fail: not made"]


def test_moments_in_the_end_warning_print_whole():
    """A run of 1,234,567.5 s: its end printed "1.23457e+06 s"."""
    from simdc.experiment import schedule_warnings

    config = validate({"simulation": {"duration_s": 1234567.5}, "host": {"cpu_cores": 8, "memory_gib": 16},
                       "faults": {"host_failures": [[0, 2e6]]},
                       "workload": {"synthetic": {"arrival_rate_per_s": 0.01}}})
    assert schedule_warnings(config) == ["faults.host_failures: 1 of 1 host failures ([0]) fall at or after the "
                                         "run's end (1,234,567.5 s) and are not made"]


def test_a_maintenance_windows_end_meets_the_host_up(tmp_path):
    """A request submitted, and a host failure listed, at the very end of a maintenance
    window (1,000 + 1,800 s) meet the host up, as at a repair's end: the window ended
    after the events queued for its last instant (the request was rejected, the failure
    not made)."""
    trace = tmp_path / "t.csv"
    trace.write_text("id,submit_s,duration_s,cpu_cores,memory_gib\nat_end,2800,100,1,1\n")

    def run(faults):
        return simdc.simulate(validate({
            "simulation": {"duration_s": 6000, "seed": 1, "platforms": ["vm", "container"]},
            "cluster": {"hosts": [{"cpu_cores": 8, "memory_gib": 32, "count": 1}]},
            "maintenance": {"drains": [[0, 1000.0]], "maintenance_s": 1800},
            "faults": faults,
            "workload": {"trace": str(trace), "format": "simdc"},
        }))

    placed = run({})
    assert placed.instances["admit_s"].tolist() == [2800.0, 2800.0]
    assert (placed.instances["outcome"].astype(str) == "completed").all()
    failed = run({"host_failures": [[0, 2800.0]], "host_repair_s": 600})
    hosts = failed.hosts.set_index("platform")
    assert (hosts["failures"] == 1).all()
    assert hosts["down_s"].tolist() == pytest.approx([1800 + 600] * 2)  # the window, then the repair after it
