"""OpenDC workflow traces (issue #14, item 5; issue #18, jobs with dependencies): tasks
with ``parents``/``children`` start when their parents have completed, as OpenDC starts
them, and the notes say so."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import tomli_w

from simdc.errors import InputError
from simdc.workload.readers import read_trace
from tests.realworld._trace_cli import CASES, assert_one_clean_error, simdc
from tests.workload.traces import sample

NOTE = "wait for their parents (workflow columns parents/children)"
TASK_S = 1800.0  # each task of write_tasks and of the handed case: 30 min
def write_tasks(folder, parents, children, text=False):
    """Three OpenDC v4 tasks of 30 min, 1 core, 1024 MB; ``parents``/``children`` as given."""
    folder.mkdir(parents=True, exist_ok=True)
    columns = {
        "id": pa.array([1, 2, 3], pa.int32()), "submission_time": pa.array([1_700_000_000_000] * 3, pa.int64()),
        "duration": pa.array([1_800_000] * 3, pa.int64()), "cpu_count": pa.array([1] * 3, pa.int32()),
        "cpu_capacity": pa.array([2000.0] * 3), "mem_capacity": pa.array([1024] * 3, pa.int64()),
    }
    if text:
        columns["parents"] = pa.array([" ".join(map(str, p)) for p in parents])
        columns["children"] = pa.array([" ".join(map(str, c)) for c in children])
    else:
        columns["parents"] = pa.array(parents, pa.list_(pa.int32()))
        columns["children"] = pa.array(children, pa.list_(pa.int32()))
    pq.write_table(pa.table(columns), folder / "tasks.parquet")
    return folder


@pytest.mark.parametrize("text", [False, True])
def test_parents_and_children_become_the_parents_column(tmp_path, text):
    """Task 2 names 1 as parent, task 1 names 3 as child, task 3 names nothing: 2 waits
    for 1, 3 for 1, whichever column said it (lists, or their text form)."""
    folder = write_tasks(tmp_path / "wf", [[], [1], []], [[3], [], []], text=text)
    data = read_trace([folder], "opendc")
    parents = dict(zip(data.instances["id"].astype(str), data.instances["parents"]))
    assert parents == {"1": "", "2": "1", "3": "1"}
    assert any(note.startswith("2 tasks " + NOTE) for note in data.notes), data.notes


@pytest.mark.parametrize("shown", [
    lambda ids: json.dumps(ids),  # JSON: ["a", "b"]
    lambda ids: repr(ids),  # Python's repr: ['a', 'b']
    lambda ids: "[" + ", ".join(ids) + "]",  # bare: [a, b]
])
def test_text_lists_of_quoted_ids_name_the_tasks(tmp_path, shown):
    """String ids (v2-v3) in text columns, as a redistribution writes lists: c names a and
    b as parents, a names b as child. Whatever the quoting, b waits for a, and c for a
    and b (before: quoted, '"a"' was no task and the trace was refused)."""
    folder = tmp_path / "wf"
    folder.mkdir()
    pq.write_table(pa.table({
        "id": ["a", "b", "c"], "submission_time": pa.array([1_700_000_000_000] * 3, pa.int64()),
        "duration": pa.array([1_800_000] * 3, pa.int64()), "cpu_count": pa.array([1] * 3, pa.int32()),
        "cpu_capacity": [2000.0] * 3, "mem_capacity": pa.array([1024] * 3, pa.int64()),
        "parents": [shown([]), shown([]), shown(["a", "b"])],
        "children": [shown(["b"]), shown([]), shown([])],
    }), folder / "tasks.parquet")
    data = read_trace([folder], "opendc")
    parents = dict(zip(data.instances["id"].astype(str), data.instances["parents"]))
    assert {task: sorted(named.split()) for task, named in parents.items()} == {"a": [], "b": ["a"], "c": ["a", "b"]}


def test_tasks_without_dependencies_have_no_such_note(tmp_path):
    folder = write_tasks(tmp_path / "wf", [[], [], []], [[], [], []])
    assert not any(NOTE in note for note in read_trace([folder], "opendc").notes)
    surf = read_trace([sample("opendc/v5/surf_week")], "opendc")
    assert not any(NOTE in note for note in surf.notes)
    assert "parents" not in surf.instances


@pytest.mark.parametrize("parents, children, named", [
    ([[], [7], []], [[], [], []], "7"),  # a parent that is no task
    ([[3], [1], [2]], [[], [], []], "1"),  # 1 waits for 3, 3 for 2, 2 for 1
    ([[1], [], []], [[], [], []], "1"),  # its own parent
])
def test_an_unknown_parent_or_a_cycle_is_one_error_naming_the_file_and_the_id(tmp_path, parents, children, named):
    folder = write_tasks(tmp_path / "wf", parents, children)
    with pytest.raises(InputError) as caught:
        read_trace([folder], "opendc")
    (line,) = caught.value.problems
    assert line.startswith(str(folder / "tasks.parquet")) and named in line.split(": ", 1)[1], line
    result = simdc("trace", "inspect", folder, "--format", "opendc")
    assert_one_clean_error(result, str(folder / "tasks.parquet"))


def test_the_handed_case_runs_task_2_after_task_1(tmp_path):
    """The opendc_workflow_deps case end to end (its README: OpenDC starts task 2 when
    task 1 finishes, 1800 -> 3600 s, makespan 60 min). With a fixed container start of s
    seconds each task takes s + 1800 s from its submission: task 2 is submitted at task
    1's end, 1800 + s, and ends at 2 (s + 1800); the summary's makespan says the same,
    and the notes in manifest.json say the dependencies were honoured."""
    folder = CASES / "opendc_workflow_deps"
    if not folder.exists():
        pytest.skip("no opendc_workflow_deps case")
    start_s = 0.5
    config = {"simulation": {"duration_s": 7200, "seed": 1, "platforms": ["container"]},
              "host": {"cpu_cores": 4, "memory_gib": 16},
              "platform": {"container": {"start_s": start_s}},
              "workload": {"trace": str(folder), "format": "opendc"}}
    path = tmp_path / "run.toml"
    path.write_text(tomli_w.dumps(config))
    result = simdc("run", path, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    tasks = pd.read_parquet(tmp_path / "out" / "instances.parquet").set_index("id")
    one, two = tasks.loc[tasks.index.astype(str) == "1"].iloc[0], tasks.loc[tasks.index.astype(str) == "2"].iloc[0]
    assert one["end_s"] == pytest.approx(start_s + TASK_S)
    assert two["submit_s"] == pytest.approx(one["end_s"]) and two["ready_s"] >= one["end_s"]
    assert two["end_s"] == pytest.approx(2 * (start_s + TASK_S))
    assert set(tasks["outcome"].astype(str)) == {"completed"}
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert summary["makespan_mean_s"].iloc[0] == pytest.approx(2 * (start_s + TASK_S))
    assert summary["critical_start_share"].iloc[0] == pytest.approx(2 * start_s / (2 * (start_s + TASK_S)))
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert any(note.startswith("1 tasks " + NOTE) for note in manifest["workload_notes"])


def test_a_tasks_table_without_rows_is_one_error_naming_it(tmp_path):
    folder = write_tasks(tmp_path / "wf", [[], [], []], [[], [], []])
    table = pq.read_table(folder / "tasks.parquet").slice(0, 0)
    pq.write_table(table, folder / "tasks.parquet")
    result = simdc("trace", "inspect", folder, "--format", "opendc")
    assert_one_clean_error(result, f"{folder / 'tasks.parquet'}: no tasks")
    assert pd.read_parquet(folder / "tasks.parquet").empty


def test_a_folder_holding_two_opendc_workloads_is_one_error_naming_both(tmp_path):
    """Two workloads' folders given together (their units and time origins differ): one
    error naming both folders, never one merged trace."""
    import shutil

    from simdc.errors import InputError
    from simdc.workload.readers import read_trace
    from tests.workload.traces import sample

    for name in ("a", "b"):
        shutil.copytree(sample("opendc/v5/surf_week"), tmp_path / "both" / name)
    with pytest.raises(InputError) as caught:
        read_trace([tmp_path / "both"], "auto")
    (line,) = caught.value.problems
    assert str(tmp_path / "both" / "a") in line and str(tmp_path / "both" / "b") in line
    assert read_trace([tmp_path / "both" / "a"], "auto").format == "opendc"
