"""OpenDC workflow traces (issue #14, item 5): tasks with ``parents``/``children`` are
replayed as independent until dependencies are modelled, and the notes and the run's
manifest.json say so."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import tomli_w

from simdc.workload.readers import read_trace
from tests.realworld._trace_cli import CASES, assert_one_clean_error, simdc
from tests.workload.traces import sample

NOTE = "carry workflow dependencies (parents/children) that simdc does not replay"


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
def test_tasks_with_dependencies_are_counted_in_the_notes(tmp_path, text):
    """Task 2 depends on 1, task 3 on nothing: 2 tasks carry a link (1 as parent, 2 as child)."""
    folder = write_tasks(tmp_path / "wf", [[], [1], []], [[2], [], []], text=text)
    data = read_trace([folder], "opendc")
    assert len(data.instances) == 3
    assert any(note.startswith("2 tasks " + NOTE) for note in data.notes), data.notes


def test_tasks_without_dependencies_have_no_such_note(tmp_path):
    folder = write_tasks(tmp_path / "wf", [[], [], []], [[], [], []])
    assert not any(NOTE in note for note in read_trace([folder], "opendc").notes)
    surf = read_trace([sample("opendc/v5/surf_week")], "opendc")
    assert not any(NOTE in note for note in surf.notes)


def test_the_handed_case_says_so_in_the_runs_manifest(tmp_path):
    """The opendc_workflow_deps case run end to end: manifest.json's workload_notes carry it."""
    folder = CASES / "opendc_workflow_deps"
    if not folder.exists():
        pytest.skip("no opendc_workflow_deps case")
    config = {"simulation": {"duration_s": 7200, "seed": 1, "platforms": ["container"]},
              "host": {"cpu_cores": 4, "memory_gib": 16},
              "workload": {"trace": str(folder), "format": "opendc"}}
    path = tmp_path / "run.toml"
    path.write_text(tomli_w.dumps(config))
    result = simdc("run", path, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert any(note.startswith("2 tasks " + NOTE) for note in manifest["workload_notes"])


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
