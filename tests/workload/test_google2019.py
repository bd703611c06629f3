"""The Google 2019 reader (issue #20) against the genuine samples in ../shared/traces and
small files written here: expected numbers come from the raw rows, read with the csv
module and replayed by a plain loop, not from the reader."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli_w
from typer.testing import CliRunner

from simdc.cli import app
from simdc.errors import InputError
from simdc.results import load_results
from simdc.workload.readers import read_trace

from tests.conftest import MINIMAL
from tests.workload.traces import raw_rows, sample

START_US = 600_000_000  # the 2019 trace's times count from 600 s before its start
REFERENCE = (32.0, 64.0)  # the reader's default reference machine: cores, GiB


def attempts_by_loop(rows: list[dict]) -> list[dict]:
    """ClusterData2019 events into attempts, one event at a time: a SUBMIT (0) starts an
    attempt; it ran if a SCHEDULE (3) follows, and ends at the first EVICT/FAIL/FINISH/
    KILL/LOST (4-8) after it. QUEUE, ENABLE and UPDATEs (1, 2, 9, 10) are passed over.
    An instance runs once at a time: a SCHEDULE of an attempt already scheduled starts
    a new attempt, and a new attempt ends a running one that has no end yet ("implied")."""
    tasks: dict[tuple, list[dict]] = {}
    for order, row in enumerate(rows):
        if int(row["type"]) in (1, 2, 9, 10):
            continue
        tasks.setdefault((row.get("cell", ""), int(row["collection_id"]), int(row["instance_index"])),
                         []).append({**row, "order": order})
    out = []
    for key, events in tasks.items():
        events.sort(key=lambda e: (clip(e["time"]), e["order"]))
        attempt = None
        for event in events:
            kind = int(event["type"])
            if kind == 0 or attempt is None or (kind == 3 and attempt["sched"] is not None):
                if attempt is not None:
                    if attempt["sched"] is not None and attempt["end"] is None:
                        attempt["end"], attempt["implied"] = event, True
                    out.append(attempt)
                attempt = {"key": key, "submit_us": clip(event["time"]), "sched": None, "end": None,
                           "implied": False}
            if kind == 3 and attempt["sched"] is None:
                attempt["sched"] = event
            elif 4 <= kind <= 8 and attempt["sched"] is not None and attempt["end"] is None:
                attempt["end"] = event
        out.append(attempt)
    return [a for a in out if a["sched"] is not None and float(a["sched"]["resource_request.cpus"]) > 0
            and float(a["sched"]["resource_request.memory"]) > 0
            and not (a["implied"] and clip(a["sched"]["time"]) == clip(a["end"]["time"]) == 0)]  # before the trace


def clip(time: str) -> int:
    """Microseconds from the trace's start; 0 ("before the trace") is its start."""
    return max(int(time) - START_US, 0)


def as_dicts(path: Path) -> list[dict]:
    rows = raw_rows(path)
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def test_the_instance_events_sample_gives_the_attempts_a_plain_replay_of_its_events_finds():
    folder = sample("google2019_instance_events_ep1dsid")
    expected = attempts_by_loop(as_dicts(folder / "instance-sample.csv"))
    data = read_trace(folder)
    assert data.format == "google2019"
    assert len(data.instances) == len(expected)
    assert sorted(data.instances["submit_s"]) == sorted(a["submit_us"] / 1e6 for a in expected)
    ended = [a for a in expected if a["end"] is not None]
    got_ended = data.instances[~data.instances["censored"]]
    assert sorted(got_ended["duration_s"]) == pytest.approx(sorted(
        max((clip(a["end"]["time"]) - clip(a["sched"]["time"])) / 1e6, 1e-6) for a in ended))
    assert sorted(data.instances["cpu_cores"]) == pytest.approx(sorted(
        float(a["sched"]["resource_request.cpus"]) * REFERENCE[0] for a in expected))
    assert "cell" not in data.instances  # the sample names no cell
    implied = sum(a["implied"] for a in expected)
    assert implied and any(note.startswith(f"{implied:,} of the lost attempts have no end event")
                           for note in data.notes)


@pytest.mark.parametrize("window", [(200_000.0, 400_000.0), (0.0, 150_000.0), (500_000.0, 700_000.0)])
def test_a_time_window_replays_each_attempt_from_its_schedule_to_its_end(window):
    """A window [start, stop) keeps the attempts submitted before its end whose run, from
    SCHEDULE to its end (censored: the end of the data, and on through the window),
    ends after its start; one running at the start keeps end − start, one pending then
    is submitted at 0 with its whole run. Expected from the plain replay of the sample's
    events. simdc took SUBMIT + duration for the end: 221049983013-51 (scheduled 81 s
    after its SUBMIT, running at 200,000 s) was cut short by those 81 s."""
    from simdc.workload.readers import Selection

    folder = sample("google2019_instance_events_ep1dsid")
    rows = as_dicts(folder / "instance-sample.csv")
    start, stop = window
    data_end = max(clip(r["time"]) for r in rows) / 1e6
    want = []
    for a in attempts_by_loop(rows):
        submit, sched = a["submit_us"] / 1e6, clip(a["sched"]["time"]) / 1e6
        end = clip(a["end"]["time"]) / 1e6 if a["end"] is not None else max(data_end, stop)
        end = max(end, sched + 1e-6)  # the timestamps' resolution
        if submit < stop and end > start:
            want.append((f"{a['key'][1]}-{a['key'][2]}", max(submit, start) - start, end - max(sched, start)))
    got = read_trace(folder, selection=Selection(window, None, None, 0)).instances
    have = sorted(zip(got["id"].str.rsplit("-", n=1).str[0], got["submit_s"], got["duration_s"]))
    want.sort()
    assert [h[0] for h in have] == [w[0] for w in want]
    assert [h[1:] for h in have] == [pytest.approx(w[1:], abs=1e-5) for w in want]
    if window == (200_000.0, 400_000.0):  # the instance the trial named, from its raw rows
        times = {int(r["type"]): [] for r in rows}
        for r in rows:
            if (r["collection_id"], r["instance_index"]) == ("221049983013", "51"):
                times[int(r["type"])].append(clip(r["time"]) / 1e6)
        sched = max(t for t in times[3] if t < start)
        assert sched - max(t for t in times[0] if t < start) > 80  # it waited before it ran
        next_submit = min(t for t in times[0] if t > start)  # its run's implied end
        named = got[got["id"].str.startswith("221049983013-51-") & (got["submit_s"] == 0)]
        assert named["duration_s"].tolist() == pytest.approx([next_submit - start])


def test_an_instance_of_the_sample_never_runs_twice_at_once():
    """The sample misses end events (257 SUBMITs, 356 SCHEDULEs of 165 instances): one
    instance's attempts, in time order, each end before or when the next starts, and
    there are as many as SCHEDULE events (each in the sample starts a run), less those
    superseded at time 0: runs before the trace only."""
    folder = sample("google2019_instance_events_ep1dsid")
    rows = as_dicts(folder / "instance-sample.csv")
    data = read_trace(folder)
    at_zero = {}  # per instance, SCHEDULEs at time 0 ("before the trace"): all but the last ran before it
    for r in rows:
        if int(r["type"]) == 3 and clip(r["time"]) == 0:
            at_zero[(r["collection_id"], r["instance_index"])] = at_zero.get((r["collection_id"], r["instance_index"]),
                                                                             0) + 1
    assert len(data.instances) == sum(int(r["type"]) == 3 for r in rows) - sum(n - 1 for n in at_zero.values())
    frame = data.instances.assign(instance=data.instances["id"].str.rsplit("-", n=1).str[0],
                                  k=data.instances["id"].str.rsplit("-", n=1).str[1].astype(int))
    assert frame["instance"].nunique() <= len({(r["collection_id"], r["instance_index"]) for r in rows})
    schedules: dict[str, list[float]] = {}
    for r in rows:
        if int(r["type"]) == 3:
            schedules.setdefault(f"{r['collection_id']}-{r['instance_index']}", []).append(clip(r["time"]) / 1e6)
    for instance, runs in frame.sort_values(["instance", "k"]).groupby("instance"):
        submit = runs["submit_s"].to_numpy()
        # each run starts at its instance's first SCHEDULE at or after its submission
        start = np.array([min(t for t in schedules[instance] if t >= s) for s in submit])
        end = start + runs["duration_s"].to_numpy()
        assert (end[:-1] <= start[1:] + 1e-6).all(), instance
        assert runs["censored"].sum() <= 1 and not runs["censored"].to_numpy()[:-1].any()


def test_the_per_instance_export_of_cell_a_is_every_request_of_cell_a_running_to_the_end():
    folder = sample("google2019_cell_a_lgdcloudsim")
    rows = as_dicts(folder / "2019_a_user_requests.csv.gz")
    kept = [r for r in rows if float(r["cpus"]) > 0 and float(r["ram"]) > 0]
    data = read_trace(folder)
    assert len(data.instances) == len(kept)
    assert data.dropped == {"requested zero CPU or memory": len(rows) - len(kept)}
    assert set(data.instances["cell"]) == {"a"}
    assert data.instances["censored"].all()
    assert sorted(data.instances["submit_s"]) == pytest.approx(sorted((int(r["time"]) - START_US) / 1e6 for r in kept))
    assert data.instances["memory_gib"].sum() == pytest.approx(sum(float(r["ram"]) for r in kept) * REFERENCE[1])
    assert any("10,002 machines in 13 shapes" in note for note in data.notes)


def test_the_joined_slice_names_its_cells_from_the_cluster_column():
    path = sample("google2019_borg_joined_slice/slice.csv")
    frame = pd.read_csv(path)
    data = read_trace(path, "google2019")
    cells = data.instances["id"].str[0]
    assert (data.instances["cell"].astype(str) == cells).all()
    clusters = set(frame["cluster"].map(lambda n: "abcdefgh"[n - 1]))
    assert set(cells) <= clusters


EVENTS = "time,type,collection_id,instance_index,priority,resource_request.cpus,resource_request.memory,cell\n"


def write_events(path: Path, rows: list[tuple]) -> Path:
    path.write_text(EVENTS + "".join(",".join(map(str, row)) + "\n" for row in rows))
    return path


def test_equal_collection_ids_of_two_cells_are_two_instances(tmp_path):
    """Collection 7, instance 0 in cells a and b: each its own instance, its own times."""
    s = START_US
    path = write_events(tmp_path / "events.csv", [
        (s + 1_000_000, 0, 7, 0, 200, 0.25, 0.125, "a"), (s + 2_000_000, 3, 7, 0, 200, 0.25, 0.125, "a"),
        (s + 5_000_000, 0, 7, 0, 100, 0.5, 0.25, "b"), (s + 9_000_000, 3, 7, 0, 100, 0.5, 0.25, "b"),
        (s + 12_000_000, 6, 7, 0, 200, 0.25, 0.125, "a"), (s + 29_000_000, 6, 7, 0, 100, 0.5, 0.25, "b"),
    ])
    data = read_trace(path)
    table = data.instances.set_index("id")
    assert sorted(table.index) == ["a-7-0-0", "b-7-0-0"]
    assert table.loc["a-7-0-0", ["submit_s", "duration_s", "cpu_cores", "memory_gib"]].tolist() == [1, 10, 8, 8]
    assert table.loc["b-7-0-0", ["submit_s", "duration_s", "cpu_cores", "memory_gib"]].tolist() == [5, 20, 16, 16]
    assert table["cell"].astype(str).tolist() == ["a", "b"]


def two_cell_config(trace: Path, names=("a", "b")) -> dict:
    raw = copy.deepcopy(MINIMAL)
    host = raw.pop("host")
    raw["workload"] = {"trace": str(trace)}
    raw["routing"] = {"rule": "column"}
    raw["cells"] = [{"name": name, "hosts": [dict(host, count=2)]} for name in names]
    return raw


def test_routing_by_the_cell_column_replays_each_cells_instances_in_that_cell(tmp_path):
    rng = np.random.default_rng(5)
    rows = []
    for task in range(40):
        cell = "ab"[task % 2]
        submit = START_US + int(rng.uniform(0, 3600e6))
        end = submit + int(rng.uniform(60e6, 1800e6))
        rows += [(t, kind, 100 + task, 0, 0, 0.03, 0.02, cell)
                 for t, kind in ((submit, 0), (submit + 1000, 3), (end, 6))]
    trace = write_events(tmp_path / "events.csv", rows)
    config = tmp_path / "c.toml"
    config.write_text(tomli_w.dumps(two_cell_config(trace)))
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(tmp_path / "out"), "--format", "csv"])
    assert result.exit_code == 0, result.output
    instances = load_results(tmp_path / "out").instances
    assert (instances["cell"] == instances["id"].str[0]).all()
    assert len(instances) == 40 * 2


def test_a_cell_the_config_does_not_list_is_one_line(tmp_path):
    trace = write_events(tmp_path / "events.csv", [(START_US, 0, 1, 0, 0, 0.1, 0.1, "c"),
                                                   (START_US + 5, 3, 1, 0, 0, 0.1, 0.1, "c")])
    config = tmp_path / "c.toml"
    config.write_text(tomli_w.dumps(two_cell_config(trace)))
    result = CliRunner().invoke(app, ["run", str(config), "--no-write"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "routing.column 'cell': 1 requests name no cell of [[cells]]: 'c' (1)" in lines[0]


def test_a_cell_outside_a_to_h_is_refused(tmp_path):
    trace = write_events(tmp_path / "events.csv", [(START_US, 0, 1, 0, 0, 0.1, 0.1, "z")])
    with pytest.raises(InputError, match="cell 'z' is not a ClusterData2019 cell"):
        read_trace(trace)


def test_a_cell_without_requests_listed_first_leaves_the_tables_whole(tmp_path):
    """Cell a gets no request: its empty parts come first in the joined tables, whose
    columns keep the types of the cells that have rows (ids stay text)."""
    s = START_US
    trace = write_events(tmp_path / "events.csv", [
        (s, 0, 1, 0, 0, 0.1, 0.1, "b"), (s + 5, 3, 1, 0, 0, 0.1, 0.1, "b"),
        (s + 9, 0, 2, 0, 0, 0.1, 0.1, "c"), (s + 12, 3, 2, 0, 0, 0.1, 0.1, "c")])
    config = tmp_path / "c.toml"
    config.write_text(tomli_w.dumps(two_cell_config(trace, names=("a", "b", "c"))))
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(tmp_path / "out"), "--format", "csv"])
    assert result.exit_code == 0, result.output
    results = load_results(tmp_path / "out")
    assert sorted(results.instances["id"]) == ["b-1-0-0", "b-1-0-0", "c-2-0-0", "c-2-0-0"]
    assert results.summary["submitted"].tolist() == [2, 2]
    assert results.summary["hosts"].tolist() == [6, 6]  # cell a's idle hosts count in the fleet
    cells = pd.read_csv(tmp_path / "out" / "cells.csv")
    assert cells.groupby("cell")["submitted"].sum().to_dict() == {"a": 0, "b": 2, "c": 2}
