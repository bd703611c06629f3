"""OpenDC workload reader (simdc/workload/readers/opendc.py): the v5 SURF week and the
v4 Bitbrains sample, read against a plain pyarrow read of the same files; schema v2/v3
files written here in their schemas' types."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from simdc.errors import InputError
from simdc.workload.readers import ReaderOptions, read_trace
from simdc.workload.readers.common import on_step_table
from tests.workload.traces import sample


@pytest.fixture(scope="module")
def surf():
    return read_trace([sample("opendc/v5/surf_week")], "opendc")


def test_v5_tasks_become_instances_in_seconds_cores_and_gib(surf):
    """6,295 SURF tasks: submit from the earliest submission (ms → s), duration ms → s,
    cpu_count cores, mem_capacity MB read as MiB → GiB."""
    folder = sample("opendc/v5/surf_week")
    raw = pq.read_table(folder / "tasks.parquet").to_pandas()
    data = surf
    inst = data.instances.set_index("id")
    assert len(inst) == len(raw) == 6295
    first = raw["submission_time"].min()
    for row in raw.sample(25, random_state=1).itertuples():
        got = inst.loc[row.id]
        assert got["submit_s"] == pytest.approx((row.submission_time - first) / 1000)
        assert got["duration_s"] == pytest.approx(row.duration / 1000)
        assert got["cpu_cores"] == row.cpu_count
        assert got["memory_gib"] == pytest.approx(row.mem_capacity / 1024)
        assert got["memory_used_gib"] == got["memory_gib"]  # OpenDC has no memory usage


def test_v5_fragments_give_each_tasks_cpu_usage(surf):
    """A fragment's cpu_usage (MHz) over one core's MHz (cpu_capacity / cpu_count) is the
    cores used; the task's mean is weighted by fragment duration. A fragment takes effect at
    the first 300-s step at or after its start (README, workload.usage_step_s): the step at
    0 s is the first fragment's, the step at 300 s the duration-weighted mean of those
    starting after 0 s and by 300 s."""
    folder = sample("opendc/v5/surf_week")
    tasks = pq.read_table(folder / "tasks.parquet").to_pandas().set_index("id")
    fragments = pq.read_table(folder / "fragments.parquet").to_pandas()
    data = surf
    inst = data.instances.set_index("id")
    for task in fragments["id"].drop_duplicates().sample(10, random_state=2):
        mine = fragments[fragments["id"] == task]
        per_core = tasks.loc[task, "cpu_capacity"] / tasks.loc[task, "cpu_count"]
        want = (mine["cpu_usage"] / per_core * mine["duration"]).sum() / mine["duration"].sum()
        assert inst.loc[task, "cpu_used"] == pytest.approx(want)
    one = fragments["id"].iloc[0]
    mine = fragments[fragments["id"] == one]
    played = on_step_table(data.usage, 300.0)
    series = played[played["id"] == one].set_index("t_s")
    per_core = tasks.loc[one, "cpu_capacity"] / tasks.loc[one, "cpu_count"]
    start = np.cumsum(mine["duration"].to_numpy()) - mine["duration"].to_numpy()
    for t_s, taking in ((0.0, start <= 0), (300.0, (start > 0) & (start <= 300_000))):
        usage, duration = mine["cpu_usage"][taking], mine["duration"][taking]
        assert len(usage) == (1 if t_s == 0 else 10)  # fragments of 30 s
        assert series.loc[t_s, "cpu_cores"] == pytest.approx((usage * duration).sum() / duration.sum() / per_core)


def test_v4_bitbrains_sample_in_kb():
    """OpenDC's bitbrains-small carries Bitbrains' KB: with opendc_memory_unit = KB the
    sizes are GiB again (the MB default would make 1-core VMs of 177 GiB)."""
    folder = sample("opendc/v4/bitbrains-small")
    raw = pq.read_table(folder / "tasks.parquet").to_pandas()
    data = read_trace([folder], "opendc", ReaderOptions(opendc_memory_unit="KB"))
    assert len(data.instances) == len(raw) == 50
    assert data.instances["memory_gib"].sum() == pytest.approx(raw["mem_capacity"].sum() / 2**20)
    assert data.instances["cpu_cores"].sum() == raw["cpu_count"].sum()


def write_v2(folder, with_duration: bool, string_ids: bool = True):
    folder.mkdir()
    ids = ["a", "b"] if string_ids else [1, 2]
    tasks = {
        "id": pa.array(ids),
        "submission_time": pa.array(pd.to_datetime([1_600_000_000_000, 1_600_000_060_000], unit="ms"),
                                    type=pa.timestamp("ms")),
        "cpu_count": pa.array([2, 4], type=pa.int32()),
        "cpu_capacity": pa.array([4000.0, 8000.0]),
        "mem_capacity": pa.array([2048, 4096], type=pa.int64()),
    }
    if with_duration:
        tasks["submission_time"] = pa.array([1_600_000_000_000, 1_600_000_060_000], type=pa.int64())
        tasks["duration"] = pa.array([900_000, 600_000], type=pa.int64())
    pq.write_table(pa.table(tasks), folder / "tasks.parquet")
    pq.write_table(pa.table({
        "id": pa.array([ids[0], ids[0], ids[1]]),
        "duration": pa.array([300_000, 300_000, 600_000], type=pa.int64()),
        "cpu_count": pa.array([2, 2, 4], type=pa.int32()),
        "cpu_usage": pa.array([2000.0, 1000.0, 4000.0]),
    }), folder / "fragments.parquet")
    return folder


def test_v2_without_task_durations_lasts_as_long_as_its_fragments(tmp_path):
    data = read_trace([write_v2(tmp_path / "v2", with_duration=False)], "auto")
    inst = data.instances.set_index("id")
    assert data.format == "opendc"
    assert inst.loc["a", "duration_s"] == 600 and inst.loc["b", "submit_s"] == 60
    assert inst.loc["a", "cpu_used"] == pytest.approx(0.75)  # 2000 then 1000 MHz, of 2000-MHz cores
    assert inst.loc["b", "memory_gib"] == 4.0
    assert any("schema v2" in note for note in data.notes)


def test_v3_with_durations(tmp_path):
    data = read_trace([write_v2(tmp_path / "v3", with_duration=True)], "opendc")
    assert data.instances.set_index("id").loc["a", "duration_s"] == 900


def test_bad_task_rows_name_file_and_row(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    pq.write_table(pa.table({
        "id": pa.array([1, 2, 3], type=pa.int32()),
        "submission_time": pa.array([0, 1000, 2000], type=pa.int64()),
        "duration": pa.array([1000, -5, 1000], type=pa.int64()),
        "cpu_count": pa.array([1, 1, 0], type=pa.int32()),
        "cpu_capacity": pa.array([1000.0, 1000.0, 1000.0]),
        "mem_capacity": pa.array([1024, 1024, 1024], type=pa.int64()),
    }), folder / "tasks.parquet")
    with pytest.raises(InputError) as caught:
        read_trace([folder], "opendc")
    path = folder / "tasks.parquet"
    assert f"{path}: row 2: duration must be >= 0 (got -5)" in caught.value.problems
    assert f"{path}: row 3: cpu_count must be >= 1 (got 0)" in caught.value.problems
    data = read_trace([folder], "opendc", ReaderOptions(on_bad_rows="skip"))
    assert data.instances["id"].tolist() == [1]
    assert data.skipped == {"tasks: cpu_count must be >= 1": 1, "tasks: duration must be >= 0": 1}
