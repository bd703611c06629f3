"""``workload.time_window_s`` over tasks with parents: a task runs in the trace from its
earliest start, the later of its own start and its parents' earliest ends (the engine
submits a child at ``max(submit_s, its last parent's end)``, :mod:`simdc.engine.dependencies`),
so that is the run a window keeps, cuts or leaves whole. Expected values are computed
here from the input, by hand or by a recursion written for the test."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simdc
from simdc.config import validate
from simdc.workload import load_workload
from simdc.workload.readers import Selection, read_trace
from tests.engine.test_dependencies import START_S, of, run, task

ROOT = Path(__file__).resolve().parents[2]

# L runs 0-500 s and M (10 s) waits for it; A runs 0-100 s and B (300 s) waits for it,
# so B really runs 100-400 s. Window [200, 1000): L and B are running at its start
# with 300 s and 200 s left; M waits for L, so it is kept whole (L ends at 300 s of
# window time); A ended before the window, so B's dependency on it is dropped.
PENDING = [task("L", duration_s=500), task("M", "L", duration_s=10), task("A", duration_s=100),
           task("B", "A", duration_s=300)]


def test_a_child_waiting_for_a_running_parent_is_kept_whole_and_a_cut_child_runs_from_its_parents_end(tmp_path):
    """The trial's pend.csv by hand. simdc dropped M (its submit 0 + 10 s ends before
    200 s) and gave B 100 s (0 + 300 - 200), as if it had started at 0."""
    path = tmp_path / "pend.csv"
    pd.DataFrame(PENDING).to_csv(path, index=False)
    data = read_trace([path], "simdc", selection=Selection((200.0, 1000.0)))
    got = data.instances.set_index("id")
    assert set(got.index) == {"L", "M", "B"}
    assert got.loc["L", ["submit_s", "duration_s"]].tolist() == [0.0, 300.0]
    assert got.loc["M", ["submit_s", "duration_s"]].tolist() == [0.0, 10.0]
    assert got.loc["B", ["submit_s", "duration_s"]].tolist() == [0.0, 200.0]
    assert got["parents"].to_dict() == {"L": "", "M": "L", "B": ""}
    note = next(n for n in data.notes if n.startswith("time window"))
    assert "3 instances, 2 of them already running at its start" in note
    assert "1 submitted before it and waiting at its start for parents" in note
    assert "1 dependency on parents that ended before its start dropped" in note


def test_in_the_replay_the_kept_child_starts_when_its_parent_ends(tmp_path):
    """On an empty fleet with start latency s: L ends at s + 300, M is submitted then and
    ends at 2 s + 310; B ends at s + 200."""
    results = run(tmp_path, PENDING, time_window_s=[200.0, 1000.0])
    tasks = of(results)
    assert (tasks["outcome"] == "completed").all()
    assert tasks.at["M", "submit_s"] == pytest.approx(START_S + 300)
    assert tasks.at["M", "end_s"] == pytest.approx(2 * START_S + 310)
    assert tasks.at["B", "end_s"] == pytest.approx(START_S + 200)


def test_the_workflow_configs_window_keeps_the_maps_and_reduce_of_a_running_prepare_whole():
    """configs/workflow.toml over [2730, 6000): job j is submitted at 900 j s; its prepare
    (60 s) runs 2700-2760 for j = 3, so it is running at 2730 with 30 s left, and its
    8 maps (60 + 30 × ((j + m) mod 5) s, configs/workflow.toml) and reduce (60 s) cannot
    start before 2760: they are kept whole. Jobs 4 to 6 arrive in the window. simdc cut
    every j3 task by 30 s (j3-map0 150 -> 120 s, j3-reduce 60 -> 30 s)."""
    config = simdc.load_config(ROOT / "configs" / "workflow.toml",
                               ["workload.time_window_s=[2730,6000]", "simulation.duration_s=3270"])
    workload = load_workload(config.workload, config.simulation.duration_s, config.simulation.seed)
    got = workload.instances.set_index("id")
    want = {"j3-prepare": 30.0, "j3-reduce": 60.0, **{f"j3-map{m}": 60.0 + 30 * ((3 + m) % 5) for m in range(8)}}
    for j in (4, 5, 6):
        want |= {f"j{j}-prepare": 60.0, f"j{j}-reduce": 60.0,
                 **{f"j{j}-map{m}": 60.0 + 30 * ((j + m) % 5) for m in range(8)}}
    assert got["duration_s"].to_dict() == want
    assert (got.loc[[i for i in want if i.startswith("j3")], "submit_s"] == 0).all()
    assert got.loc["j3-map0", "parents"] == "j3-prepare"  # it waits for the prepare still running
    note = next(n for n in workload.notes if n.startswith("time window"))
    assert "1 of them already running at its start, 9 submitted before it and waiting" in note


def test_a_converted_window_reads_back_and_replays_as_the_window(tmp_path):
    """Over [2790, 6000) j3's prepare ended before the window (2760): its maps lose the
    dependency on it. The converted file named the dropped prepare as a parent and could
    not be read back ("parent 'j3-prepare' is no instance of the workload")."""
    from simdc.workload.inspect import convert_trace

    trace = ROOT / "configs" / "workflow.csv"
    selection = Selection((2790.0, 6000.0))
    data, written, _ = convert_trace([trace], tmp_path / "w.csv", "simdc", selection=selection)
    again = read_trace([written], "simdc").instances
    assert again[["id", "submit_s", "duration_s", "parents"]].equals(
        data.instances[["id", "submit_s", "duration_s", "parents"]])
    # j3-map4 (60 + 30 × 2 = 120 s) ran 2760-2880 s: 90 s left at 2790
    assert again.set_index("id").loc["j3-map4", ["duration_s", "parents"]].tolist() == [90.0, ""]


def test_a_converted_sample_of_a_dag_reads_back(tmp_path):
    """A sample leaves parents out (they count as done, dependencies.prune): the file
    trace convert writes names none of them, so it reads back as written. It named them,
    and reading it failed on the first ("parent 'j0-map0' is no instance")."""
    from simdc.workload.inspect import convert_trace

    data, written, _ = convert_trace([ROOT / "configs" / "workflow.csv"], tmp_path / "s.csv", "simdc",
                                     selection=Selection(sample=0.5))
    kept = set(data.instances["id"])
    assert 0 < len(kept) < 240
    assert all(p in kept for names in data.instances["parents"] for p in names.split())
    again = read_trace([written], "simdc").instances
    assert again["parents"].tolist() == data.instances["parents"].tolist()
    assert any(n.endswith("(their children start at their own submit_s)") for n in data.notes)


@st.composite
def windowed_dags(draw):
    """A random DAG of up to 25 tasks (parents among earlier rows), some with a start in
    the trace apart from their submit (``started_s``), and a window."""
    n = draw(st.integers(1, 25))
    rows = []
    for i in range(n):
        parents = draw(st.lists(st.integers(0, i - 1), max_size=3, unique=True)) if i else []
        submit = float(draw(st.integers(0, 1000)))
        rows.append(task(f"t{i}", " ".join(f"t{p}" for p in parents), submit_s=submit,
                         duration_s=float(draw(st.integers(1, 400))),
                         started_s=submit + float(draw(st.sampled_from([0, 0, 50])))))
    start = float(draw(st.integers(0, 1500)))
    return rows, (start, start + float(draw(st.integers(1, 1500))))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=windowed_dags())
def test_a_window_of_a_random_dag_keeps_what_its_earliest_starts_say(tmp_path, case):
    """Written here, row by row in topological order: ready = max(submit, parents'
    ends), began = max(started, parents' ends), end = began + duration. Kept: ready
    before the window's end and end after its start; submitted at max(submit, start) -
    start; running for end - max(began, start); waiting for the parents kept."""
    rows, (start, stop) = case
    path = tmp_path / "dag.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    end: dict[str, float] = {}
    want = {}
    for row in rows:
        after = max((end[p] for p in row["parents"].split()), default=0.0)
        ready, began = max(row["submit_s"], after), max(row["started_s"], after)
        end[row["id"]] = began + row["duration_s"]
        if ready < stop and end[row["id"]] > start:
            want[row["id"]] = (max(row["submit_s"], start) - start, end[row["id"]] - max(began, start))
    parents = {row["id"]: " ".join(p for p in row["parents"].split() if p in want) for row in rows if row["id"] in want}
    if not want:  # an empty window is an error saying so
        with pytest.raises(simdc.InputError, match="no instance"):
            read_trace([path], "simdc", selection=Selection((start, stop)))
        return
    got = read_trace([path], "simdc", selection=Selection((start, stop))).instances.set_index("id")
    assert set(got.index) == set(want)
    for me, (submit, duration) in want.items():
        assert got.at[me, "submit_s"] == pytest.approx(submit, abs=1e-9)
        assert got.at[me, "duration_s"] == pytest.approx(duration, abs=1e-9)
    assert got["parents"].to_dict() == parents


def test_a_window_cut_counts_the_tasks_it_leaves_out_and_their_jobs_never_complete(tmp_path):
    """Job J: a (0-100 s) -> b (50 s) -> c (30 s) -> d (10 s), and g (submitted at 130, 10 s)
    after a; job K: h (0-1000 s) -> i (10 s), and q (submitted at 130, 10 s) after h. By
    the trace alone b runs 100-150, c 150-180, d 180-190, g 130-140, i and q 1000-1010.
    The window [120, 140) replays b and h (running at 120) and g (arriving at 130); c, d,
    i and q cannot be submitted before 140 (a parent's earliest end at or after it; q's
    own submit, 130, lies inside the window, but h ends at 1000): 4 not replayed, and both
    jobs have a task not replayed and others replayed: 2 jobs, none completed (before:
    the note did not count the 4, and the summary had no job at all)."""
    trace = tmp_path / "w.csv"
    trace.write_text("id,submit_s,duration_s,cpu_cores,memory_gib,job,parents\n"
                     "a,0,100,1,1,J,\nb,0,50,1,1,J,a\nc,0,30,1,1,J,b\nd,0,10,1,1,J,c\ng,130,10,1,1,J,a\n"
                     "h,0,1000,1,1,K,\ni,0,10,1,1,K,h\nq,130,10,1,1,K,h\n")
    config = validate({"simulation": {"duration_s": 2000.0, "seed": 1, "platforms": ["container"]},
                       "host": {"cpu_cores": 8, "memory_gib": 32}, "platform": {"container": {"start_s": 1.0}},
                       "workload": {"trace": str(trace), "format": "simdc", "time_window_s": [120.0, 140.0]}})
    results = simdc.simulate(config)
    assert sorted(results.instances["id"]) == ["b", "g", "h"]
    (note,) = [n for n in results.manifest["workload_notes"] if n.startswith("time window")]
    assert "4 submitted before its end but waiting for parents that end at or after it, not replayed" in note
    assert "2 jobs have a task not replayed" in note
    summary = results.summary.iloc[0]
    assert (summary["jobs"], summary["jobs_completed"], summary["blocked"]) == (2, 0, 0)
