"""Jobs with dependencies (issue #18): a task is submitted when all its parents have
completed, at its own submit time at the earliest; a task whose parent never completes
is blocked, and every instance still ends in exactly one outcome.

The expected times are computed here from the input alone: on an empty fleet with a
fixed start latency s, a task of duration d submitted at t ends at t + s + d, so a
task's earliest end is ``max(its submit, its parents' ends) + s + d`` (the longest path).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simdc
from simdc.config import validate
from simdc.errors import InputError
from simdc.model.platform import VmPlatform
from simdc.workload import own
from tests.engine.test_accounting import check_outcomes

ROOT = Path(__file__).resolve().parents[2]
START_S = 2.0  # the containers' fixed start latency
BOOT_S = 30.0  # the VMs' fixed boot


def run(tmp_path, rows, platforms=("container",), duration_s=10_000.0, hosts=None, **workload):
    """Simulate the own-format workload ``rows`` (dicts) with fixed start latencies."""
    path = tmp_path / "w.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return simdc.simulate(validate({
        "simulation": {"duration_s": duration_s, "seed": 1, "platforms": list(platforms),
                       "sample_every_s": duration_s / 4},
        "cluster": {"hosts": hosts or [{"cpu_cores": 64, "memory_gib": 256, "count": 4}]},
        "platform": {"container": {"start_s": START_S}, "vm": {"boot_s": BOOT_S, "sizing": "as_given"}},
        "workload": {"trace": str(path), **workload},
    }))


def task(id, parents="", submit_s=0.0, duration_s=100.0, cpu_cores=1.0, memory_gib=1.0, **more):
    return {"id": id, "submit_s": submit_s, "duration_s": duration_s, "cpu_cores": cpu_cores,
            "memory_gib": memory_gib, "parents": parents, **more}


def of(results, platform="container"):
    rows = results.instances[results.instances["platform"] == platform]
    return rows.set_index(rows["id"].astype(str))


@pytest.mark.parametrize("platform, start_s", [("container", START_S), ("vm", BOOT_S)])
def test_a_chain_of_k_tasks_takes_k_times_start_plus_duration(tmp_path, platform, start_s):
    """k tasks, each the parent of the next, all submitted at 0, of duration d, on an
    empty fleet with start latency s: makespan k (s + d), and each task is submitted at
    its parent's end."""
    k, d = 5, 300.0
    rows = [task(i, parents=str(i - 1) if i else "", duration_s=d) for i in range(k)]
    results = run(tmp_path, rows, platforms=(platform,))
    tasks = of(results, platform)
    assert (tasks["outcome"] == "completed").all()
    for i in range(1, k):
        assert tasks.at[str(i), "submit_s"] == pytest.approx(tasks.at[str(i - 1), "end_s"])
    assert tasks["end_s"].max() == pytest.approx(k * (start_s + d))
    row = results.summary.set_index("platform").loc[platform]
    assert row["jobs"] == row["jobs_completed"] == 1
    assert row["makespan_mean_s"] == pytest.approx(k * (start_s + d))
    assert row["critical_start_share"] == pytest.approx(start_s / (start_s + d))


def test_a_diamond_waits_for_both_parents(tmp_path):
    """a -> (b, c) -> d with b four times as long as c: d is submitted when b ends, not c."""
    rows = [task("a", duration_s=100), task("b", "a", duration_s=400), task("c", "a", duration_s=100),
            task("d", "b c", duration_s=50)]
    tasks = of(run(tmp_path, rows))
    a_end = START_S + 100
    assert tasks.at["b", "submit_s"] == tasks.at["c", "submit_s"] == pytest.approx(a_end)
    assert tasks.at["c", "end_s"] == pytest.approx(a_end + START_S + 100)
    assert tasks.at["d", "submit_s"] == pytest.approx(a_end + START_S + 400)
    assert tasks.at["d", "end_s"] == pytest.approx(a_end + START_S + 400 + START_S + 50)


def test_a_later_submit_time_is_a_lower_bound(tmp_path):
    """A child whose own submit time comes after its parent's end is submitted then."""
    tasks = of(run(tmp_path, [task("a", duration_s=100), task("b", "a", submit_s=1000)]))
    assert tasks.at["b", "submit_s"] == 1000
    assert tasks.at["b", "end_s"] == pytest.approx(1000 + START_S + 100)


def test_children_of_a_parent_that_never_completes_are_blocked_and_counted(tmp_path):
    """A parent too big for any host is rejected: its child and grandchild are never
    submitted (blocked, no submit time), an independent task runs; every row has one
    outcome and placed + rejected + queued_at_end + blocked = instances."""
    rows = [task("big", cpu_cores=1000), task("child", "big"), task("grandchild", "child"), task("free")]
    results = run(tmp_path, rows)
    tasks = of(results)
    assert tasks["outcome"].astype(str).to_dict() == {
        "big": "rejected", "child": "blocked", "grandchild": "blocked", "free": "completed"}
    assert tasks.loc[["child", "grandchild"], ["submit_s", "admit_s", "queue_s"]].isna().all().all()
    row = results.summary.iloc[0]
    assert row["blocked"] == 2 and row["jobs"] == 1 and row["jobs_completed"] == 0
    assert np.isnan(row["makespan_mean_s"])
    check_outcomes(results)


def test_a_parent_still_running_at_the_horizon_blocks_its_child(tmp_path):
    tasks = of(run(tmp_path, [task("long", duration_s=5000), task("after", "long")], duration_s=3000))
    assert tasks.at["long", "outcome"] == "running_at_end" and tasks.at["after", "outcome"] == "blocked"


def test_a_child_of_an_instance_arriving_after_the_horizon_is_not_submitted(tmp_path):
    """Its parent arrives after the run: neither can be submitted within it (the late note counts both)."""
    results = run(tmp_path, [task("a"), task("late", submit_s=5000), task("child", "late")], duration_s=3000)
    assert set(of(results).index) == {"a"}
    assert any(note.startswith("2 instances arrive at or after") for note in results.manifest["workload_notes"])


def test_without_parents_the_summary_has_no_workflow_columns(tmp_path):
    results = run(tmp_path, [{k: v for k, v in task("a").items() if k != "parents"}])
    assert "makespan_mean_s" not in results.summary and "blocked" not in results.summary


def test_the_fast_lane_leaves_dependent_workloads_to_the_general_engine(tmp_path):
    """The same two tasks without the dependency take the fast lane; with it, the general engine."""
    with_parents = run(tmp_path, [task("a"), task("b", "a")])
    without = run(tmp_path, [{k: v for k, v in task(i).items() if k != "parents"} for i in ("a", "b")])
    assert with_parents.manifest["engine_lanes"] == {"container": "general"}
    assert without.manifest["engine_lanes"] == {"container": "fast"}


@pytest.mark.parametrize("parents, named", [("x", "'x'"), ("b", "'b'")])
def test_an_unknown_parent_or_a_cycle_in_the_own_format_is_one_error(tmp_path, parents, named):
    path = tmp_path / "w.csv"
    pd.DataFrame([task("a", parents), task("b", "a")]).to_csv(path, index=False)
    with pytest.raises(InputError) as caught:
        own.read(path)
    (line,) = caught.value.problems
    assert line.startswith(f"{path}: instance ") and named in line, line


def test_integer_ids_are_named_as_the_file_reads_them(tmp_path):
    """Ids 1 and 2 are integers; "01" and "1.0" name 1, as the own format reads ids."""
    tasks = of(run(tmp_path, [task(1), task(2, "01"), task(3, "1.0 2")]))
    assert tasks.at["3", "submit_s"] == pytest.approx(2 * (START_S + 100))


@st.composite
def dags(draw):
    """Up to 12 tasks; each may depend on any earlier ones (so no cycle), with its own
    submit time and duration (whole seconds: sums stay exact in floating point)."""
    n = draw(st.integers(1, 12))
    rows = []
    for i in range(n):
        parents = draw(st.lists(st.integers(0, i - 1), max_size=3, unique=True)) if i else []
        rows.append(task(f"t{i}", " ".join(f"t{p}" for p in parents), submit_s=float(draw(st.integers(0, 500))),
                         duration_s=float(draw(st.integers(1, 400)))))
    return rows


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=dags())
def test_random_dags_start_after_their_parents_and_take_the_longest_path(tmp_path, rows):
    """On an empty big fleet: every task starts at or after its parents' ends, and each
    ends at its earliest possible end, max(submit, parents' ends) + s + d, computed here
    from the input alone; the makespan is the longest such path."""
    results = run(tmp_path, rows)
    tasks = of(results)
    earliest: dict[str, float] = {}
    submitted: dict[str, float] = {}  # a task is submitted at max(its submit, its parents' ends)
    for row in rows:  # parents come first
        submitted[row["id"]] = max([row["submit_s"], *(earliest[p] for p in row["parents"].split())])
        earliest[row["id"]] = submitted[row["id"]] + START_S + row["duration_s"]
    for row in rows:
        me = row["id"]
        for p in row["parents"].split():
            assert tasks.at[me, "ready_s"] >= tasks.at[p, "end_s"]
        assert tasks.at[me, "end_s"] == pytest.approx(earliest[me], abs=1e-6)
    assert (tasks["outcome"] == "completed").all()
    # jobs: tasks linked by dependencies (union-find here); each job's makespan is its
    # longest path: from its first submission to its latest earliest end
    root = {row["id"]: row["id"] for row in rows}

    def find(x):
        while root[x] != x:
            x = root[x]
        return x

    for row in rows:
        for p in row["parents"].split():
            root[find(row["id"])] = find(p)
    linked = {row["id"] for row in rows if row["parents"]} | {p for row in rows for p in row["parents"].split()}
    jobs: dict[str, list[dict]] = {}
    for row in rows:
        if row["id"] in linked:
            jobs.setdefault(find(row["id"]), []).append(row)
    makespans = [max(earliest[r["id"]] for r in job) - min(submitted[r["id"]] for r in job) for job in jobs.values()]
    summary = results.summary.iloc[0]
    if jobs:
        assert summary["jobs"] == summary["jobs_completed"] == len(jobs)
        assert summary["makespan_mean_s"] == pytest.approx(np.mean(makespans), abs=1e-6)
        assert summary["makespan_p50_s"] == pytest.approx(np.median(makespans), abs=1e-6)
    else:  # no dependency at all: no workflow columns
        assert "makespan_mean_s" not in summary


def test_the_workflow_config_pays_each_start_on_the_critical_path():
    """configs/workflow.toml, as the README reads it: each job's critical path is 300 s
    of work (prepare 60 s, the longest map 60 + 30 × 4 = 180 s, reduce 60 s) and three
    starts. Containers: three starts of under a second (p99 0.66 s, the preset's), so
    300 to 303 s. VMs: the work × (1 + cpu_overhead), and three copies of the 2 GiB disk
    at 500 MiB/s (4.1 s each) before three boots of about 30 s: over 315 s, and the
    starts over a fifth of it."""
    results = simdc.simulate(simdc.load_config(ROOT / "configs" / "workflow.toml"))
    row = results.summary.set_index("platform")
    assert (row["jobs_completed"] == 24).all() and (row["blocked"] == 0).all()
    assert 300 < row.at["container", "makespan_mean_s"] < 303
    assert row.at["container", "critical_start_share"] < 3 * 1.0 / 300
    copy_s = 2 * 1024 / 500
    assert row.at["vm", "makespan_mean_s"] > 300 * (1 + VmPlatform().cpu_overhead) + 3 * copy_s
    assert row.at["vm", "critical_start_share"] > 0.2
    check_outcomes(results)
