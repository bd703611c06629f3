"""Alibaba batch load (issue #14, item 3): a task's instances do not all run from its
creation to its end. The replayed load is checked against the trace's own machines
(server_event, machine_meta) and the published utilisation (../shared/CALIBRATION.md);
batch_instance's own times are used when given. Expected values are computed here from
raw rows, independently of the reader."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simdc.workload.readers import Selection, alibaba, read_trace
from tests.workload.traces import raw_rows, sample, write_lines

REFERENCE_GIB = 384.0  # the reader's default for normalised memory 1.0
PUBLISHED_CPU = 0.40  # CALIBRATION.md: Alibaba 2018, mean machine CPU 40 % (all work, used)


@pytest.fixture(scope="module")
def machines() -> tuple[float, float]:
    rows = [r for r in raw_rows(sample("alibaba_v2017/server_event.csv")) if r[2] == "add"]
    by_machine = {r[1]: (float(r[4]), float(r[5])) for r in rows}
    return (sum(c for c, _ in by_machine.values()), sum(m for _, m in by_machine.values()) * REFERENCE_GIB)


@pytest.fixture(scope="module")
def hour():
    """06:00-07:00 of the trace, the hour configs/alibaba.toml replays."""
    return read_trace([sample("alibaba_v2017")], "alibaba2017", selection=Selection(time_window_s=(21600, 25200)))


def test_v2017_hour_asks_no_more_than_the_machines_hold(hour, machines):
    """Every instance alive in the hour, clipped to it: the requested cores and memory
    at the busiest moment stay within the 1,313 machines' (it used to be 4.6x the CPU)."""
    inst = hour.instances
    start = inst["submit_s"].to_numpy()
    end = start + inst["duration_s"].to_numpy()
    cores, gib = machines
    assert cores == 1313 * 64
    grid = np.arange(0.0, 3600.0, 10.0)
    cpu = np.array([inst["cpu_cores"].to_numpy()[(start <= t) & (end > t)].sum() for t in grid])
    mem = np.array([inst["memory_gib"].to_numpy()[(start <= t) & (end > t)].sum() for t in grid])
    assert cpu.max() <= cores * (1 + 1e-9)
    assert mem.max() <= gib * (1 + 1e-9)
    # Of the order of the published utilisation: batch requests alone, on average over the
    # hour, at least a quarter of Alibaba's published mean CPU use, and never above the machines.
    assert cpu.mean() / cores >= PUBLISHED_CPU / 4
    assert any("equal waves of at most" in note for note in hour.notes)


def test_v2017_each_task_keeps_its_instances_inside_its_span(hour):
    """Task 4 (15,740 instances, 6,459 to 6,524 s) is before the hour; in the hour, every
    task's instances lie within its own span and run in equal waves of one length."""
    tasks = pd.DataFrame(raw_rows(sample("alibaba_v2017/batch_task.csv"), skip_header=True),
                         columns=["create", "end", "job", "task", "n", "status", "cpu", "mem"])
    tasks = tasks[tasks["status"] == "Terminated"].astype({"create": int, "end": int, "task": int, "n": int})
    inst = hour.instances.assign(task=hour.instances["id"] // alibaba.ID_STRIDE)
    joined = inst.merge(tasks, on="task")
    assert len(joined) > 1000
    start = joined["submit_s"] + 21600
    assert (start >= joined["create"].clip(lower=0) - 1e-6).all()
    assert (start + joined["duration_s"] <= np.maximum(joined["end"], joined["create"] + 1) + 1e-6).all()
    # Tasks wholly inside the hour: all their instances, and waves of one length.
    inside = joined[(joined["create"] >= 21600) & (joined["end"] < 25200)]
    for _, group in list(inside.groupby("task"))[:200]:
        assert len(group) == group["n"].iloc[0]
        assert np.ptp(group["duration_s"]) < 1e-6


def test_v2018_waves_fit_the_machines(tmp_path):
    """Two 96-core machines; a task of ten 48-core instances over 300 s: four fit at once
    (4 x 48 = 192 cores), so three waves of 100 s with 4, 4 and 2 instances."""
    write_lines(tmp_path / "machine_meta.csv", ["m_1,0,1,a,96,100,USING", "m_2,0,1,a,96,100,USING"])
    write_lines(tmp_path / "batch_task.csv", ["M1,10,j_1,1,Terminated,100,400,4800,1.0"])
    data = read_trace([tmp_path], "alibaba2018")
    inst = data.instances.sort_values(["submit_s", "id"])
    assert len(inst) == 10
    assert list(inst["submit_s"]) == [100.0] * 4 + [200.0] * 4 + [300.0] * 2
    assert np.allclose(inst["duration_s"], 100.0)
    assert (inst["cpu_cores"] == 48).all()


def test_v2017_batch_instance_rows_give_each_try_its_own_times(tmp_path):
    """batch_instance rows: a Terminated try runs from its start to its end; a Running
    one is censored at the end of the data (the latest time of any table read); a
    Waiting one never ran; a row of an unknown task is counted."""
    write_lines(tmp_path / "batch_task.csv", ["100,900,1,7,3,Terminated,50,0.01"])
    write_lines(tmp_path / "batch_instance.csv", [
        "120,300,1,7,5,Terminated,1,1,0.5,0.4,0.01,0.01",
        "130,0,1,7,6,Running,1,1,,,,",
        "0,0,1,7,,Waiting,1,1,,,,",
        "150,2000,1,99,6,Terminated,1,1,,,,",
    ])
    data = read_trace([tmp_path], "alibaba2017")
    inst = data.instances.set_index("id")
    assert list(inst.index) == [7 * alibaba.ID_STRIDE, 7 * alibaba.ID_STRIDE + 1]
    first, second = inst.iloc[0], inst.iloc[1]
    assert (first["submit_s"], first["duration_s"], bool(first["censored"])) == (120.0, 180.0, False)
    assert (second["submit_s"], second["duration_s"], bool(second["censored"])) == (130.0, 2000.0 - 130.0, True)
    assert first["cpu_cores"] == 0.5 and first["memory_gib"] == pytest.approx(0.01 * REFERENCE_GIB)
    assert data.dropped["batch instance never ran (Waiting)"] == 1
    assert data.dropped["batch instance of no replayed task (its task missing, or not replayed)"] == 1


def test_v2018_batch_instance_rows_and_spread_tasks_together(tmp_path):
    """v2018: task t1's two tries come from batch_instance (their own times); task t2 has
    no row there and is spread over its span (no machine_meta: the whole span); the end
    of the data is the latest time of any table (2,500 s, a Running try's start)."""
    write_lines(tmp_path / "batch_task.csv", ["t1,2,j_1,1,Terminated,100,1000,100,1.0",
                                              "t2,3,j_1,1,Terminated,200,800,50,2.0"])
    write_lines(tmp_path / "batch_instance.csv", [
        "ins_1,t1,j_1,1,Terminated,110,400,m_1,1,1,1,1,1,1",
        "ins_2,t1,j_1,1,Running,2500,0,m_1,1,1,1,1,1,1",
    ])
    data = read_trace([tmp_path], "alibaba2018")
    inst = data.instances.set_index("id")
    assert inst.loc["j_1/t1/ins_1/0", ["submit_s", "duration_s"]].tolist() == [110.0, 290.0]
    assert inst.loc["j_1/t1/ins_2/1", "duration_s"] == 1.0 and inst.loc["j_1/t1/ins_2/1", "censored"]
    spread = inst[inst.index.str.startswith("j_1/t2/")]
    assert len(spread) == 3 and (spread["submit_s"] == 200).all() and (spread["duration_s"] == 600).all()
    assert (spread["cpu_cores"] == 0.5).all() and not spread["censored"].any()


@pytest.mark.parametrize("pick", [dict(limit=700), dict(limit=5000, sample=0.3, seed=2)])
def test_v2017_limit_keeps_the_first_instances_of_the_whole_selection(pick):
    """A limit is applied while instances are built (so a trace of 10^7 instances is not
    built for 10 of them): the same first instances, by submit time, as cutting the whole."""
    window = Selection(time_window_s=(20000, 26000), **{k: v for k, v in pick.items() if k != "limit"})
    whole = read_trace([sample("alibaba_v2017")], "alibaba2017", selection=window).instances
    limited = read_trace([sample("alibaba_v2017")], "alibaba2017",
                         selection=Selection(window.time_window_s, window.sample, pick["limit"], window.seed)).instances
    pd.testing.assert_frame_equal(limited, whole.iloc[: pick["limit"]].reset_index(drop=True))
