"""Alibaba cluster-trace readers (simdc/workload/readers/alibaba.py): v2017 on its
complete public batch_task and server_event tables; v2018, whose container and batch
tables are not in the public samples, on rows written here in its schema's order
(the machine_meta rows are the genuine sample's)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simdc.errors import InputError
from simdc.workload.readers import ReaderOptions, Selection, alibaba, read_trace
from simdc.workload.readers.common import on_step_table
from tests.workload.traces import raw_rows, sample, write_lines

NEVER_RAN = {"Waiting", "Ready", "Cancelled"}
ENDED = {"Terminated", "Failed", "Interrupted"}


@pytest.fixture(scope="module")
def tasks() -> pd.DataFrame:
    rows = raw_rows(sample("alibaba_v2017/batch_task.csv"), skip_header=True)
    frame = pd.DataFrame(rows, columns=["create", "end", "job", "task", "n", "status", "cpu", "mem"])
    for column in ("create", "end", "job", "task", "n"):
        frame[column] = frame[column].astype(int)
    for column in ("cpu", "mem"):
        frame[column] = pd.to_numeric(frame[column].replace("", np.nan))
    return frame


def expected_in_window(tasks: pd.DataFrame, start: float, stop: float) -> pd.DataFrame:
    """The tasks the v2017 rules replay, alive in [start, stop), computed from raw rows."""
    data_end = max(tasks["create"].max(), tasks["end"].max())
    ok = (~tasks["status"].isin(NEVER_RAN) & tasks["cpu"].notna() & tasks["mem"].notna()
          & (tasks["cpu"] > 0) & (tasks["mem"] > 0) & (tasks["n"] > 0))
    ended = tasks["status"].isin(ENDED)
    ok &= ~(ended & (tasks["end"] <= 0) & (tasks["create"] <= 0))
    t = tasks[ok].copy()
    t["begin"] = t["create"].clip(lower=0)
    t["finish"] = np.where(ended[ok] & (t["end"] > 0), t["end"], data_end)
    t["finish"] = np.maximum(t["finish"], t["begin"] + 1)
    return t[(t["begin"] < stop) & (t["finish"] > start)]


def test_v2017_instances_in_a_window_are_each_tasks_instances(tasks):
    """Each task of instance_num instances becomes that many batch instances of its plan:
    100 plan_cpu = 1 core, plan_mem × 384 GiB; the count and mean size in an hour's
    window are computed here from the raw table. Without server_event (the machines) each
    instance runs its task's whole span (tests/realworld covers the spread with them)."""
    folder = sample("alibaba_v2017/batch_task.csv")
    data = read_trace([folder], "alibaba2017", selection=Selection(time_window_s=(3600, 7200)))
    want = expected_in_window(tasks, 3600, 7200)
    inst = data.instances
    assert len(inst) == want["n"].sum()
    assert inst["cpu_cores"].mean() == pytest.approx((want["n"] * want["cpu"] / 100).sum() / want["n"].sum())
    assert inst["memory_gib"].mean() == pytest.approx((want["n"] * want["mem"] * 384).sum() / want["n"].sum())
    assert set(inst["kind"].astype(str)) == {"batch"} and (inst["priority"] == 0).all()
    assert inst["id"].is_unique


def test_v2017_named_task_lifetime_and_ids(tasks):
    """Task 4 (job 3): 15,740 instances created at 6,459 s, terminated at 6,524 s."""
    row = tasks.set_index("task").loc[4]
    assert (row["create"], row["end"], row["n"], row["status"]) == (6459, 6524, 15740, "Terminated")
    data = read_trace([sample("alibaba_v2017/batch_task.csv")], "alibaba2017",
                      selection=Selection(time_window_s=(6400, 6460)))
    mine = data.instances[data.instances["id"] // alibaba.ID_STRIDE == 4]
    assert len(mine) == 15740
    assert sorted(mine["id"] % alibaba.ID_STRIDE) == list(range(15740))
    assert (mine["submit_s"] == 6459 - 6400).all() and (mine["duration_s"] == 6524 - 6459).all()
    assert (mine["cpu_cores"] == 0.5).all()
    assert mine["memory_gib"].iloc[0] == pytest.approx(row["mem"] * 384)


def test_v2017_tasks_that_cannot_be_replayed_are_counted(tasks):
    """Waiting tasks never ran; tasks without a plan cannot be sized; tasks that ended
    before the trace (negative times) are not in it: each is counted, none is an error."""
    data = read_trace([sample("alibaba_v2017")], "alibaba2017", selection=Selection(limit=10))
    waiting = int((tasks["status"] == "Waiting").sum())
    no_plan = int((~tasks["status"].isin(NEVER_RAN) & tasks["cpu"].isna()).sum())
    before = int((tasks["status"].isin(ENDED) & (tasks["end"] <= 0) & (tasks["create"] <= 0)
                  & tasks["cpu"].notna()).sum())
    assert data.dropped == {"batch task never ran (Waiting)": waiting,
                            "batch task without a CPU or memory plan": no_plan,
                            "batch task ended before the trace began": before}
    assert len(data.instances) == 10
    machines = raw_rows(sample("alibaba_v2017/server_event.csv"))
    assert any(f"machines: {len({r[1] for r in machines if r[2] == 'add'}):,} in server_event" in n
               for n in data.notes)


def test_v2017_sample_thins_each_tasks_instances_reproducibly(tasks):
    folder = sample("alibaba_v2017/batch_task.csv")
    pick = Selection(time_window_s=(20000, 24000), sample=0.01, seed=5)
    one = read_trace([folder], "alibaba2017", selection=pick).instances
    two = read_trace([folder], "alibaba2017", selection=pick).instances
    pd.testing.assert_frame_equal(one, two)
    total = expected_in_window(tasks, 20000, 24000)["n"].sum()
    assert abs(len(one) - 0.01 * total) < 5 * np.sqrt(0.01 * total)


def test_v2017_expansion_beyond_the_cap_asks_for_a_selection(monkeypatch):
    monkeypatch.setattr(alibaba, "MAX_INSTANCES", 1000)
    with pytest.raises(InputError, match="time_window_s, sample or limit"):
        read_trace([sample("alibaba_v2017/batch_task.csv")], "alibaba2017")


V2018_CONTAINERS = [
    "c_1,m_2556,0,app_5052,started,400,400,1.56",
    "c_1,m_2556,287942,app_5052,started,400,400,1.56",
    "c_1,m_2556,338909,app_5052,started,400,800,3.12",
    "c_2,m_17,1000,app_99,started,200,100,0.78",
    "c_2,m_17,5000,app_99,stopped,200,100,0.78",
    "c_3,m_9,2000,app_7,started,-1,400,101",
]
V2018_USAGE = [
    "c_1,m_2556,10,50,25,1.1,2,3,0.1,0.1,1",
    "c_1,m_2556,20,101,25,1.1,2,3,0.1,0.1,1",
    "c_1,m_2556,310,100,75,1.1,2,3,0.1,0.1,1",
    "c_2,m_17,1300,10,50,1.1,2,3,0.1,0.1,1",
    "c_9,m_17,1300,10,50,1.1,2,3,0.1,0.1,1",
]
V2018_BATCH = [
    "M1,3,j_1,1,Terminated,100,160,50,0.39",
    "R2_1,2,j_1,1,Terminated,170,200,100,0.78",
    "M1,5,j_2,1,Waiting,0,0,100,0.39",
    "M1,1,j_3,1,Running,300,0,100,-1",
]


def write_v2018(tmp_path, containers=V2018_CONTAINERS, usage=V2018_USAGE, batch=V2018_BATCH):
    folder = tmp_path / "v2018"
    folder.mkdir()
    write_lines(folder / "container_meta.csv", containers)
    write_lines(folder / "container_usage.csv.gz", usage, gz=True)
    write_lines(folder / "batch_task.csv", batch)
    meta = sample("alibaba_v2018/machine_meta.csv")
    (folder / "machine_meta.csv").write_bytes(meta.read_bytes())
    return folder


def test_v2018_containers_usage_and_batch_tasks(tmp_path):
    """Containers: service, priority 1, from their first snapshot, the largest request
    (cpu_request/100 cores, mem_size/100 × 384 GiB), a stopped one ends there; usage in
    % of the request, invalid 101 samples left out. Batch tasks: instance_num batch
    instances from start to end time; invalid (-1) plans are counted, not errors."""
    data = read_trace([write_v2018(tmp_path)], "auto")
    assert data.format == "alibaba2018"
    inst = data.instances.set_index("id")
    c1 = inst.loc["c_1"]
    assert (c1["submit_s"], c1["cpu_cores"], c1["cpu_limit"]) == (0.0, 4.0, 8.0)
    assert c1["memory_gib"] == pytest.approx(3.12 / 100 * 384)
    # censored at the end of the data read: the latest time of every table read, the
    # machine_meta sample's included (its machines are read: they size the batch waves)
    machines = max(int(row[1]) for row in raw_rows(sample("alibaba_v2018/machine_meta.csv")))
    assert c1["duration_s"] == max(338909, machines)
    assert (c1["kind"], c1["priority"]) == ("service", 1)
    c2 = inst.loc["c_2"]
    assert (c2["submit_s"], c2["duration_s"]) == (1000.0, 4000.0)
    assert np.isnan(c2["cpu_limit"])  # a limit below the request is no limit
    assert "c_3" not in inst.index
    series = on_step_table(data.usage, 300.0).set_index(["id", "t_s"])
    # a sample takes effect at the first 300-s step at or after it: c_1's at 10 s (and the
    # invalid one at 20 s) at 300 s, its sample at 310 s at 600 s; c_2's at 300 s (1,300 s
    # from its start at 1,000 s) at 300 s
    assert series.loc[("c_1", 300.0), "cpu_cores"] == pytest.approx(0.5 * 4)  # the 101 sample is left out
    assert series.loc[("c_1", 600.0), "memory_gib"] == pytest.approx(0.75 * c1["memory_gib"])
    assert series.loc[("c_2", 300.0), "cpu_cores"] == pytest.approx(0.1 * 2)
    assert sorted(series.index) == [("c_1", 300.0), ("c_1", 600.0), ("c_2", 300.0)]
    batch = data.instances[data.instances["kind"] == "batch"].set_index("id")
    assert sorted(batch.index) == ["j_1/M1/0", "j_1/M1/1", "j_1/M1/2", "j_1/R2_1/0", "j_1/R2_1/1"]
    assert batch.loc["j_1/R2_1/1", "duration_s"] == 30 and batch.loc["j_1/R2_1/1", "cpu_cores"] == 1.0
    assert batch.loc["j_1/M1/0", "memory_gib"] == pytest.approx(0.39 / 100 * 384)
    assert data.dropped["container without a valid CPU request or memory size"] == 1
    assert data.dropped["batch task never ran (Waiting)"] == 1
    assert data.dropped["batch task with a plan marked invalid (-1 or 101)"] == 1
    assert "batch task without a CPU or memory plan" not in data.dropped  # each task counted once
    assert any("machines: 4,034 in machine_meta" in note for note in data.notes)
    assert any("1 container_usage rows for containers not replayed" in note for note in data.notes)


def test_v2018_public_samples_hold_no_instances_and_say_so():
    with pytest.raises(InputError, match="neither container_meta nor batch_task"):
        read_trace([sample("alibaba_v2018")], "auto")


def test_v2018_reference_memory_is_an_option(tmp_path):
    data = read_trace([write_v2018(tmp_path)], "alibaba2018", ReaderOptions(reference_memory_gib=100))
    assert data.instances.set_index("id").loc["c_1", "memory_gib"] == pytest.approx(3.12)


def test_v2018_bad_rows_name_file_and_line(tmp_path):
    folder = write_v2018(tmp_path, containers=V2018_CONTAINERS + ["c_4,m_1,later,app_1,started,100,100,1"])
    with pytest.raises(InputError) as caught:
        read_trace([folder], "alibaba2018")
    assert f"{folder / 'container_meta.csv'}: line 7: time_stamp is not a number (got 'later')" in caught.value.problems
    data = read_trace([folder], "alibaba2018", ReaderOptions(on_bad_rows="skip"))
    assert data.skipped == {"container_meta: time_stamp is not a number": 1}


def test_the_censored_batch_note_says_what_share_of_the_batch_work_they_hold():
    """Alibaba 2017's tasks still 'Running' at the data's end run on to it, and can hold
    most of the batch work (83 % of the whole trace's): the note gives their share of the
    batch instances' requested core-seconds, computed here from the instance table."""
    import re

    data = read_trace([str(sample("alibaba_v2017"))], "alibaba2017")
    inst = data.instances
    batch = inst["kind"].astype(str) == "batch"
    cut = batch & inst["censored"].astype(bool)
    core_s = inst["cpu_cores"] * inst["duration_s"]
    said = [n for n in data.notes if "batch instance lifetimes censored" in n]
    assert len(said) == 1 and said[0].startswith(f"{int(cut.sum()):,} batch instance lifetimes censored")
    share = float(re.search(r"they hold ([\d.]+)% of the batch", said[0]).group(1))
    assert share == round(100 * core_s[cut].sum() / core_s[batch].sum(), 1)


def test_a_2017_batch_task_listed_twice_is_a_bad_row_not_counted_twice(tmp_path):
    """The first 200 rows of the public batch_task (no (job_id, task_id) repeated) and
    its 6th and 7th lines again at the end: strict, each repeat is a bad row naming the
    file and its line; skipped, the instances are those of the 200 rows (before, the two
    tasks' instance_num were added again)."""
    lines = sample("alibaba_v2017/batch_task.csv").read_text().splitlines()[:200]
    clean, doubled = tmp_path / "clean" / "batch_task.csv", tmp_path / "doubled" / "batch_task.csv"
    for path, body in ((clean, lines), (doubled, lines + lines[5:7])):
        path.parent.mkdir()
        path.write_text("\n".join(body) + "\n")
    with pytest.raises(InputError) as caught:
        read_trace([doubled], "alibaba2017")
    keys = [tuple(line.split(",")[2:4]) for line in lines[5:7]]
    assert caught.value.problems[:2] == [f"{doubled}: line {201 + k}: (job_id, task_id) appears more than once "
                                         f"({keys[k][0]}, {keys[k][1]})" for k in range(2)]
    skipped = read_trace([doubled], "alibaba2017", ReaderOptions(on_bad_rows="skip"))
    assert len(skipped.instances) == len(read_trace([clean], "alibaba2017").instances)
    assert skipped.skipped == {"batch_task: (job_id, task_id) appears more than once": 2}
