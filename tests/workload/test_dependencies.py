"""The ``parents`` column as readers build it (issue #18): Alibaba 2018's task names,
the own format's ids, and what a selection of the trace does to them."""

from __future__ import annotations

import pandas as pd
import pytest

from simdc.errors import InputError
from simdc.workload import dependencies
from simdc.workload.readers import read_trace
from tests.workload.test_alibaba import V2018_BATCH, write_v2018


def test_alibaba_task_names_encode_their_parents_within_the_job():
    """trace_2018.md: "M3_1_2" is task 3, after tasks 1 and 2 of its job; "task_..." is
    independent. As CloudSimPy's father_task_indices: the other runs of digits are parents."""
    names = ["M1", "M2", "R3_1_2", "J4_3", "task_Nzg3ODAwNjgzODc5", "MergeTask", "M1"]
    jobs = ["a", "a", "a", "a", "a", "a", "b"]
    assert dependencies.alibaba_parents(names, jobs) == ["", "", "M1 M2", "R3_1_2", "", "", ""]
    # a number that names no task of the job, not even of another job's
    assert dependencies.alibaba_parents(["R2_1", "M1"], ["a", "b"]) == ["?1", ""]


def test_alibaba_2018_instances_wait_for_every_instance_of_their_parent_tasks(tmp_path):
    """The v2018 fixture: job j_1's R2_1 (2 instances) waits for all 3 instances of M1."""
    data = read_trace([write_v2018(tmp_path)], "alibaba2018")
    parents = dict(zip(data.instances["id"], data.instances["parents"]))
    assert parents["j_1/R2_1/0"] == parents["j_1/R2_1/1"] == "j_1/M1/0 j_1/M1/1 j_1/M1/2"
    assert parents["j_1/M1/0"] == parents["c_1"] == ""
    assert any(note.startswith("2 batch instances wait") for note in data.notes)


def test_alibaba_2018_cyclic_task_names_are_one_error_naming_the_file(tmp_path):
    batch = V2018_BATCH + ["M1_2,1,j_9,1,Terminated,100,160,50,0.39", "M2_1,1,j_9,1,Terminated,100,160,50,0.39"]
    folder = write_v2018(tmp_path, batch=batch)
    with pytest.raises(InputError) as caught:
        read_trace([folder], "alibaba2018")
    (line,) = caught.value.problems
    assert line.startswith(str(folder / "batch_task.csv")) and "j_9/M" in line and "depends on itself" in line


def test_a_selection_drops_parents_it_left_out_and_says_so():
    kept = pd.DataFrame({"id": ["b", "c"], "parents": ["a", "a b"]})
    pruned, notes = dependencies.prune(kept)
    assert pruned["parents"].tolist() == ["", "b"]
    assert notes and notes[0].startswith("2 dependencies on instances left out")


def test_descendants_of_a_late_instance_are_late_too():
    table = pd.DataFrame({"id": [1, 2, 3, 4], "parents": ["", "1", "2", ""]})
    late = dependencies.late_descendants(table, pd.Series([True, False, False, False]).to_numpy())
    assert late.tolist() == [False, True, True, False]


def test_jobs_cut_by_the_horizon_are_those_with_a_late_task_and_one_replayed():
    """a -> b -> c of job J with c late; d -> e of job K, none late; f -> g, unnamed, g
    late; h -> i of job L, both late (a job of no task replayed is no job of the run). The
    rows of J, of f's job and of L are in a job with a late task; two such jobs (J and
    f's) have tasks replayed."""
    table = pd.DataFrame({"id": list("abcdefghi"), "job": ["J"] * 3 + ["K"] * 2 + [""] * 2 + ["L"] * 2,
                          "parents": ["", "a", "b", "", "d", "", "f", "", "h"]})
    late = pd.Series([False, False, True, False, False, False, True, True, True]).to_numpy()
    cut, count = dependencies.cut_jobs(table, late)
    assert cut.tolist() == [True, True, True, False, False, True, True, True, True]
    assert count == 2


def test_own_parquet_parents_may_be_a_list_and_convert_keeps_them(tmp_path):
    """A Parquet ``parents`` column of integer lists reads as the ids separated by
    spaces; writing the table in simdc's format keeps it, and it reads back the same."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from simdc.workload import own

    path = tmp_path / "w.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3], "submit_s": [0.0] * 3, "duration_s": [10.0] * 3,
                             "cpu_cores": [1.0] * 3, "memory_gib": [1.0] * 3,
                             "parents": pa.array([[], [1], [1, 2]], pa.list_(pa.int64()))}), path)
    table = own.read(path).instances
    assert table["parents"].tolist() == ["", "1", "1 2"]
    again = own.read(own.write(table, tmp_path / "again.csv")).instances
    assert again["parents"].tolist() == ["", "1", "1 2"]



@pytest.mark.parametrize("policy", ["strict", "skip"])
def test_a_parent_whose_row_was_skipped_is_named_as_maybe_skipped(tmp_path, policy):
    """Row a (line 2) has a bad duration; b depends on a and c on b. Strict: the bad row
    is the error. Skipped: b's parent is missing, and the error says a bad row was skipped
    (it said only that 'a' is no instance, with a on line 2 of the file)."""
    from simdc.workload.readers.common import ReaderOptions

    path = tmp_path / "t.csv"
    path.write_text("id,submit_s,duration_s,cpu_cores,memory_gib,parents\na,0,abc,1,1,\nb,0,10,1,1,a\n"
                    "c,0,10,1,1,b\n")
    with pytest.raises(InputError) as err:
        read_trace([path], options=ReaderOptions(on_bad_rows=policy))
    text = "\n".join(err.value.problems)
    if policy == "strict":
        assert "line 2" in text and "duration_s" in text
    else:
        assert "instance 'b': parent 'a' is no instance of the workload" in text
        assert "1 bad row was skipped" in text


def test_an_unknown_column_lists_every_column_the_own_format_reads(tmp_path):
    """A column simdc does not read (a trace's cell) gets the list of those it does: all
    of them, parents, service and censored included (the list stopped at job)."""
    from simdc.workload.own import FIELDS

    path = tmp_path / "t.csv"
    path.write_text("id,submit_s,duration_s,cpu_cores,memory_gib,cell\na,0,10,1,1,x\n")
    with pytest.raises(InputError) as err:
        read_trace([path])
    (line,) = [p for p in err.value.problems if "unknown column" in p]
    listed = line.split("expected columns: ")[1].split(", ")
    assert listed == list(FIELDS) and {"parents", "service", "censored"} <= set(listed)
