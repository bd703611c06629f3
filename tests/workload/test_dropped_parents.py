"""A task not replayed passes its own parents on to its children, transitively
(simdc.workload.dependencies.prune, the one place every reader and selection prunes
dependencies in): A -> B -> C with B not replayed makes C wait for A, not start at once."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import tomli_w

import simdc
from simdc.config import load_config
from simdc.workload import dependencies
from simdc.workload.readers import read_trace
from tests.workload.test_alibaba import write_v2018


def parents_of(table: pd.DataFrame) -> dict[str, list[str]]:
    return {str(i): sorted(str(p).split()) for i, p in zip(table["id"], table["parents"])}


def test_a_chain_of_dropped_instances_passes_the_first_parent_to_the_last_child():
    """a -> b -> c -> d -> e with b, c and d left out: e waits for a (before: for none)."""
    whole = pd.DataFrame({"id": list("abcde"), "parents": ["", "a", "b", "c", "d"]})
    kept = whole[whole["id"].isin(["a", "e"])]
    pruned, notes = dependencies.prune(kept, whole=whole)
    assert parents_of(pruned) == {"a": [], "e": ["a"]}
    assert notes == ["1 dependencies on instances left out of the replay: 1 passed on to those instances' own "
                     "parents replayed (transitively: their children wait for them instead)"]


def test_a_dropped_diamond_names_its_top_once_and_keeps_the_parents_replayed():
    """a -> b, a -> c, b -> d, c -> d, and d -> e with x -> e too: b, c and d left out, e
    waits for a (through both sides of the diamond, once) and for x; z (no row of
    ``whole``) counts as done."""
    whole = pd.DataFrame({"id": list("abcdxe"), "parents": ["", "a", "a", "b c", "", "d x z"]})
    kept = whole[whole["id"].isin(["a", "x", "e"])]
    pruned, notes = dependencies.prune(kept, whole=whole)
    assert pruned.set_index("id").at["e", "parents"].split() == ["x", "a"]
    assert notes[0].startswith("2 dependencies on instances left out of the replay: 1 passed on")
    assert notes[0].endswith("1 with no ancestor replayed count as done before the replay (their children start at "
                             "their own submit_s)")


def write_opendc(folder, durations_s: dict[int, float], parents: dict[int, list[int]]):
    """OpenDC v4 tasks submitted together: 1 core, 1024 MB, ``durations_s`` by id."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = list(durations_s)
    pq.write_table(pa.table({
        "id": pa.array(ids, pa.int32()), "submission_time": pa.array([1_665_093_600_000] * len(ids), pa.int64()),
        "duration": pa.array([int(durations_s[i] * 1000) for i in ids], pa.int64()),
        "cpu_count": pa.array([1] * len(ids), pa.int32()), "cpu_capacity": pa.array([2000.0] * len(ids)),
        "mem_capacity": pa.array([1024] * len(ids), pa.int64()),
        "parents": pa.array([parents.get(i, []) for i in ids], pa.list_(pa.int32())),
        "children": pa.array([[] for _ in ids], pa.list_(pa.int32())),
    }), folder / "tasks.parquet")
    return folder


START_S = 1.0


def run_opendc(tmp_path, folder):
    config = {"simulation": {"duration_s": 2000, "seed": 1, "platforms": ["container"]},
              "host": {"cpu_cores": 8, "memory_gib": 32}, "platform": {"container": {"start_s": START_S}},
              "workload": {"trace": str(folder), "format": "opendc"}}
    path = tmp_path / "c.toml"
    path.write_text(tomli_w.dumps(config))
    return simdc.simulate(load_config(path))


def test_a_zero_duration_opendc_task_leaves_its_child_waiting_for_its_parent(tmp_path):
    """The user's case: 1 (100 s), 3 (0 s, after 1), 4 (20 s, after 3). 3 is not replayed;
    4 waits for 1 as it did through 3: 1 starts at 1 s (start_s) and ends at 101, 4 is
    submitted at 101, starts at 102 and ends at 122, the job's makespan (before: 4 was
    submitted at 0 and the summary had no job)."""
    results = run_opendc(tmp_path, write_opendc(tmp_path / "wf", {1: 100.0, 3: 0.0, 4: 20.0}, {3: [1], 4: [3]}))
    tasks = results.instances.assign(id=results.instances["id"].astype(str)).set_index("id")
    one_end = START_S + 100.0
    assert tasks.at["1", "end_s"] == pytest.approx(one_end)
    assert tasks.at["4", "submit_s"] == pytest.approx(one_end)
    assert tasks.at["4", "end_s"] == pytest.approx(one_end + START_S + 20.0)
    summary = results.summary.iloc[0]
    assert summary["jobs"] == summary["jobs_completed"] == 1
    assert summary["makespan_p95_s"] == pytest.approx(2 * START_S + 120.0)


def test_a_chain_and_a_diamond_of_zero_duration_opendc_tasks(tmp_path):
    """1 (100 s) -> 2, 3 (0 s) -> 5 (0 s, after 2 and 3) -> 6 (0 s) -> 7 (20 s): 7 waits for
    1 (its parents are "1"), and is submitted at 1's end, 101 s."""
    folder = write_opendc(tmp_path / "wf", {1: 100.0, 2: 0.0, 3: 0.0, 5: 0.0, 6: 0.0, 7: 20.0},
                          {2: [1], 3: [1], 5: [2, 3], 6: [5], 7: [6]})
    data = read_trace([folder], "opendc")
    assert parents_of(data.instances) == {"1": [], "7": ["1"]}
    results = run_opendc(tmp_path, folder)
    tasks = results.instances.assign(id=results.instances["id"].astype(str)).set_index("id")
    assert tasks.at["7", "submit_s"] == pytest.approx(START_S + 100.0)


def test_an_alibaba_task_not_replayed_passes_its_parent_task_on(tmp_path):
    """j_1: M1 (3 instances, Terminated), M2_1 (Waiting: never ran, dropped), R3_2
    (Terminated, 2 instances): R3_2's instances wait for M1's 3, through M2_1 (before:
    for none)."""
    batch = ["M1,3,j_1,1,Terminated,100,160,50,0.39", "M2_1,2,j_1,1,Waiting,0,0,50,0.39",
             "R3_2,2,j_1,1,Terminated,170,200,100,0.78"]
    data = read_trace([write_v2018(tmp_path, batch=batch)], "alibaba2018")
    parents = parents_of(data.instances)
    assert parents["j_1/R3_2/0"] == parents["j_1/R3_2/1"] == ["j_1/M1/0", "j_1/M1/1", "j_1/M1/2"]
    assert not any(i.startswith("j_1/M2_1") for i in parents)
