"""The Google 2019 reader's usage: the ``average_usage`` the joined extracts carry beside each
event (instance_usage's average over the window ``start_time``-``end_time``). Expected
numbers come from the genuine slice in ../shared/traces, parsed here with the csv module
and ``ast.literal_eval`` and replayed by a plain loop (:func:`attempts_by_loop`), not by the
reader's code."""

from __future__ import annotations

import ast
import csv
import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import simdc
from simdc.cli import app
from simdc.config import validate
from simdc.errors import InputError
from simdc.workload.readers import ReaderOptions, read_trace
from simdc.workload.readers.common import on_step_table
from tests.workload.test_google2019 import START_US, attempts_by_loop, clip
from tests.workload.traces import sample

SLICE = "google2019_borg_joined_slice/slice.csv"
REFERENCE = (32.0, 64.0)  # the reader's default reference machine: cores, GiB
STEP_S = 300.0  # usage_step_s's default
AFTER_END_US = 2**63 - 1
ENDING = {0, 3, 4, 5, 6, 7, 8}  # SUBMIT, SCHEDULE and the ends: the events that start or end a run


def slice_rows(path: Path) -> list[dict]:
    """The slice's rows with the dict cells parsed, in the column names attempts_by_loop reads."""
    rows = []
    with open(path, newline="") as f:
        for raw in csv.DictReader(f):
            request = ast.literal_eval(raw["resource_request"])
            rows.append({**raw, "type": raw["instance_events_type"], "cell": "abcdefgh"[int(raw["cluster"]) - 1],
                         "resource_request.cpus": str(request["cpus"]),
                         "resource_request.memory": str(request["memory"]),
                         "usage": ast.literal_eval(raw["average_usage"]) if raw["average_usage"] else None})
    return rows


def expected_usage(rows: list[dict], step_s: float = STEP_S):
    """Per replayed attempt (keyed by the reader's id): its run (sched, end, µs), its
    request (cores) and its usage series {step: (cores, GiB)}: each window of its instance
    starting within its run, at its offset from the run's start, taking effect at the first
    step at or after it (README, workload.usage_step_s); of the windows taking effect
    together, CPU averaged weighted by their length and memory their maximum; a window
    repeated by the join counted once."""
    windows = {(r["cell"], r["collection_id"], r["instance_index"], clip(r["start_time"]), clip(r["end_time"]),
                r["usage"]["cpus"], r["usage"]["memory"]) for r in rows if r["usage"] is not None}
    times = [clip(r["time"]) for r in rows if int(r["type"]) in ENDING and int(r["time"]) != AFTER_END_US]
    data_end = max(times + [w[4] for w in windows])  # the last event or window read
    out = {}
    for a in attempts_by_loop(rows):
        cell, collection, index = a["key"]
        sched = clip(a["sched"]["time"])
        end = clip(a["end"]["time"]) if a["end"] is not None else data_end
        sums: dict[int, list[float]] = {}
        placed = []
        for (wc, wj, wi, at, stop, cpus, memory) in windows:
            if (wc, int(wj), int(wi)) == (cell, collection, index) and sched <= at <= end:
                placed.append(at)
                k = math.ceil((at - sched) / 1e6 / step_s)
                s = sums.setdefault(k, [0.0, 0.0, 0.0])
                s[0] += (stop - at) * cpus * REFERENCE[0]
                s[1] = max(s[1], memory * REFERENCE[1])
                s[2] += stop - at
        series = {k: (c / w, m) for k, (c, m, w) in sums.items()}
        weight = sum(w for _, _, w in sums.values())
        out[(cell, collection, index, a["submit_us"])] = {
            "sched": sched, "end": end, "series": series, "windows": placed,
            "cpu_mean": sum(c for c, _, _ in sums.values()) / weight if sums else None,
            "cpu_cores": float(a["sched"]["resource_request.cpus"]) * REFERENCE[0]}
    return out


def by_id(data, expected) -> dict[str, dict]:
    """The expected attempts under the reader's ids, matched by instance and submission."""
    table = data.instances
    keys = [(i.split("-")[0], int(i.split("-")[1]), int(i.split("-")[2]), round(s * 1e6))
            for i, s in zip(table["id"], table["submit_s"])]
    assert sorted(keys) == sorted(expected)
    return {i: expected[k] for i, k in zip(table["id"], keys)}


def test_each_replayed_attempts_usage_is_its_windows_within_its_run():
    path = sample(SLICE)
    data = read_trace(path, "google2019")
    expected = by_id(data, expected_usage(slice_rows(path)))
    want = pd.DataFrame([(i, k * STEP_S, c, m) for i, e in expected.items() for k, (c, m) in e["series"].items()],
                        columns=["id", "t_s", "cpu_cores", "memory_gib"]).sort_values(["id", "t_s"])
    got = on_step_table(data.usage, 300.0).sort_values(["id", "t_s"])
    assert len(want) >= 5  # the slice gives several attempts a window within their run
    assert got["id"].tolist() == want["id"].tolist()
    assert got["t_s"].tolist() == want["t_s"].tolist()
    assert got["cpu_cores"].to_numpy() == pytest.approx(want["cpu_cores"].to_numpy(), rel=1e-12, abs=1e-15)
    assert got["memory_gib"].to_numpy() == pytest.approx(want["memory_gib"].to_numpy(), rel=1e-12, abs=1e-15)
    # lifetimes end at the last event or usage window read (censored there)
    table = data.instances.set_index("id")
    for i, e in expected.items():
        assert table.loc[i, "duration_s"] == pytest.approx(max((e["end"] - e["sched"]) / 1e6, 1e-6))


@pytest.mark.parametrize("step_s", [7.0, 120.0, 300.0, 3600.0])
def test_cpu_used_is_the_window_weighted_mean_of_the_windows_whatever_the_usage_step(step_s):
    """README: ``cpu_used`` is the series' mean over time: Σ cpu × window length ÷ Σ window
    length over the attempt's windows within its run, the same at every ``usage_step_s``
    (it was the plain mean of the values on the step, which moved with the step)."""
    path = sample(SLICE)
    data = read_trace(path, "google2019", ReaderOptions(usage_step_s=step_s))
    expected = by_id(data, expected_usage(slice_rows(path)))
    table = data.instances.set_index("id")
    with_usage = [i for i, e in expected.items() if e["series"]]
    assert with_usage
    for i in with_usage:
        assert table.loc[i, "cpu_used"] == pytest.approx(expected[i]["cpu_mean"], rel=1e-12, abs=1e-15)


def test_an_attempt_without_a_window_in_its_run_uses_its_request_and_the_note_says_how_many():
    path = sample(SLICE)
    data = read_trace(path, "google2019")
    expected = by_id(data, expected_usage(slice_rows(path)))
    table = data.instances.set_index("id")
    with_usage = [i for i, e in expected.items() if e["series"]]
    without = [i for i, e in expected.items() if not e["series"]]
    assert with_usage and without
    for i in without:
        assert table.loc[i, "cpu_used"] == table.loc[i, "cpu_cores"] == pytest.approx(expected[i]["cpu_cores"])
    for i in with_usage:
        assert table.loc[i, "cpu_used"] == pytest.approx(expected[i]["cpu_mean"], rel=1e-12, abs=1e-15)
    used = sum(table.loc[i, "cpu_used"] for i in with_usage) / sum(expected[i]["cpu_cores"] for i in with_usage)
    rows = slice_rows(path)
    windows = {(r["cell"], int(r["collection_id"]), int(r["instance_index"]), r["start_time"], r["end_time"],
                r["average_usage"]) for r in rows if r["usage"] is not None}
    replayed = {key[:3] for key in expected_usage(rows)}
    others = sum(w[:3] not in replayed for w in windows)
    placed = sum(len(e["windows"]) for e in expected.values())
    note = next(n for n in data.notes if n.startswith("instance_usage read:"))
    assert f"instance_usage read: {len(windows)} windows" in note
    assert f"{placed} within a replayed attempt's run" in note
    assert f"{len(windows) - others - placed} windows of replayed instances fall outside their runs" in note
    assert f"{others} windows of instances not replayed" in note
    assert f"giving {len(with_usage)} of {len(expected)} attempts a usage series" in note
    assert f"use {used:.0%} of the CPU" in note
    assert f"the other {len(without)} attempts use their request" in note
    assert not any("no instance_usage read" in n for n in data.notes)


def test_rows_without_average_usage_still_say_no_usage_was_read():
    path = sample("google2019_instance_events_ep1dsid")
    data = read_trace(path)
    assert data.usage is None
    assert "no instance_usage read: each instance uses its request" in data.notes


def test_a_run_of_the_slice_demands_the_integral_of_its_usage_within_a_step():
    """On a host nothing contends on, each container demands ∫ u(age) d(age) over its run,
    u the step function of its usage series (the first step covering earlier ages, the
    last holding on; its request without a series), to within the documented usage-step
    sampling limit: a series plays late by up to a step and that much of its end is cut
    (README, workload.usage_step_s), so |demand − integral| ≤ step × max u."""
    path = sample(SLICE)
    data = read_trace(path, "google2019")
    expected = by_id(data, expected_usage(slice_rows(path)))
    horizon_s = 2_700_000.0  # past the last window (2,678,100 s): every attempt runs to the end
    config = validate({"simulation": {"duration_s": horizon_s, "platforms": ["container"], "sample_every_s": 86400},
                       "host": {"cpu_cores": 64, "memory_gib": 512},
                       "workload": {"trace": str(path), "format": "google2019"}})
    result = simdc.simulate(config)
    instances = result.instances.set_index("id")
    assert len(instances) == len(expected)
    assert instances["cpu_unmet_core_s"].sum() == 0.0  # nothing contends
    for i, e in expected.items():
        run_s = instances.loc[i, "run_s"]
        if e["series"]:
            steps = sorted(e["series"])
            value = [e["series"][k][0] for k in steps]
            # u(age) = value of the last step at or before the age; the first covers earlier ages
            bounds = [0.0] + [k * STEP_S for k in steps[1:]] + [math.inf]
            integral = sum(v * max(0.0, min(hi, run_s) - lo) for v, lo, hi in zip(value, bounds, bounds[1:]))
            most = max(value)
        else:
            integral = most = e["cpu_cores"]
            integral *= run_s
        assert abs(instances.loc[i, "cpu_demand_core_s"] - integral) <= STEP_S * most + 1e-6, i


def test_average_usage_as_separate_columns_reads_as_the_dict_does(tmp_path):
    """BigQuery exports write ``average_usage.cpus`` and ``average_usage.memory`` (and the
    request so): the same usage as the slice's dict cells."""
    path = sample(SLICE)
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    split = tmp_path / "bigquery.csv"
    names = ["time", "type", "collection_id", "instance_index", "priority", "cluster", "start_time", "end_time",
             "resource_request.cpus", "resource_request.memory", "average_usage.cpus", "average_usage.memory"]
    with open(split, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(names)
        for r in rows:
            request, usage = ast.literal_eval(r["resource_request"]), ast.literal_eval(r["average_usage"])
            out.writerow([r["time"], r["instance_events_type"], r["collection_id"], r["instance_index"], r["priority"],
                          r["cluster"],
                          r["start_time"], r["end_time"], request["cpus"], request["memory"], usage["cpus"],
                          usage["memory"]])
    joined, exported = read_trace(path, "google2019"), read_trace(split, "google2019")
    pd.testing.assert_frame_equal(exported.usage, joined.usage)
    pd.testing.assert_frame_equal(exported.instances, joined.instances)


def damaged(tmp_path: Path, column: str, value: str, row: int = 6) -> tuple[Path, int]:
    """The slice with data row ``row``'s ``column`` replaced; and the line that row starts on."""
    with open(sample(SLICE), newline="") as f:
        reader = csv.reader(f)
        rows, starts, line = [], [], 1
        for record in reader:
            rows.append(record)
            starts.append(line)
            line = reader.line_num + 1
    rows[row + 1][rows[0].index(column)] = value
    path = tmp_path / "slice.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    # the rewritten file's lines: each record keeps its own line breaks, so the same starts
    return path, starts[row + 1]


@pytest.mark.parametrize("cell", ["{'cpus': 0.004, 'mem", "{'cpus': 0.004, 'memory': abc}", "0.004",
                                  "{'cpus': 0.004, 'disk': 0.1}"])
def test_a_cut_or_malformed_average_usage_cell_is_one_error_naming_its_line(tmp_path, cell):
    path, line = damaged(tmp_path, "average_usage", cell)
    result = CliRunner().invoke(app, ["trace", "convert", str(path), "--format", "google2019",
                                      "--to", str(tmp_path / "out.csv")])
    assert result.exit_code == 2
    errors = [text for text in result.stderr.splitlines() if text.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"error: {path}: line {line}: "
                                "average_usage is not a {'cpus': …, 'memory': …} dict")
    assert "Traceback" not in result.output


def test_a_malformed_usage_cell_is_skipped_and_counted_with_skip(tmp_path):
    path, _ = damaged(tmp_path, "average_usage", "{'cpus': 0.004, 'mem")
    data = read_trace(path, "google2019", options=ReaderOptions(on_bad_rows="skip"))
    assert data.skipped == {"instance_events: average_usage is not a {'cpus': …, 'memory': …} dict": 1}


def test_a_window_ending_before_it_starts_is_a_bad_row(tmp_path):
    with open(sample(SLICE), newline="") as f:
        start = list(csv.DictReader(f))[6]["start_time"]
    path, line = damaged(tmp_path, "end_time", str(int(start) - 1))
    with pytest.raises(InputError) as err:
        read_trace(path, "google2019")
    assert err.value.problems[0].startswith(f"{path}: line {line}: end_time is before start_time")


def test_a_cut_request_cell_is_a_bad_row_not_a_missing_request(tmp_path):
    """A cut ``resource_request`` cell was read as 'no memory request' and the attempt
    silently dropped: now it is a bad row like any other."""
    path, line = damaged(tmp_path, "resource_request", "{'cpus': 0.02, 'mem")
    with pytest.raises(InputError) as err:
        read_trace(path, "google2019")
    assert err.value.problems[0].startswith(f"{path}: line {line}: resource_request is not a")


def test_windows_are_placed_from_the_run_start_of_the_attempt_running_then(tmp_path):
    """One instance, submitted at 100 s, scheduled at 400 s, evicted at 2,000 s, then
    scheduled again at 3,000 s and censored. Windows (s): 50-350 (before its first run:
    left out), 500-800 and 700-760 (first run, offsets 100 and 300 from 400 s: both take
    effect at the step at 300 s, CPU averaged by length 300:60, memory their maximum),
    2,500-2,800 (between the runs: left out), 3,100-3,400 and 3,200-3,300 (second run,
    offsets 100 and 200: the step at 300 s, by length 300:100). Hand-computed."""
    s = START_US
    header = ("time,type,collection_id,instance_index,start_time,end_time,resource_request.cpus,"
              "resource_request.memory,average_usage.cpus,average_usage.memory\n")
    rows = [(100, 0, None), (400, 3, None), (2000, 4, None), (3000, 3, None),
            (3000, 2, (50, 350, 0.5, 0.5)), (3000, 2, (500, 800, 0.1, 0.2)), (3000, 2, (700, 760, 0.2, 0.1)),
            (3000, 2, (2500, 2800, 0.5, 0.5)), (3000, 2, (3100, 3400, 0.125, 0.25)),
            (3000, 2, (3200, 3300, 0.25, 0.125))]
    def us(x):
        return "" if x == "" else str(s + int(x * 1e6))

    lines = []
    for t, kind, window in rows:
        start, end, cpus, memory = window if window else ("", "", "", "")
        lines.append(f"{s + t * 1_000_000},{kind},7,0,{us(start)},{us(end)},0.25,0.125,{cpus},{memory}\n")
    path = tmp_path / "events.csv"
    path.write_text(header + "".join(lines))
    data = read_trace(path, "google2019")
    assert sorted(data.instances["id"]) == ["7-0-0", "7-0-1"]
    usage = on_step_table(data.usage, 300.0).sort_values(["id", "t_s"]).reset_index(drop=True)
    assert usage["id"].tolist() == ["7-0-0", "7-0-1"]
    assert usage["t_s"].tolist() == [300.0, 300.0]
    assert usage["cpu_cores"].tolist() == pytest.approx([(0.1 * 300 + 0.2 * 60) / 360 * 32,
                                                         (0.125 * 300 + 0.25 * 100) / 400 * 32])
    assert usage["memory_gib"].tolist() == pytest.approx([0.2 * 64, 0.25 * 64])
    # the censored run ends at the last window read (3,400 s), not at its SCHEDULE
    assert data.instances.set_index("id").loc["7-0-1", "duration_s"] == pytest.approx(400.0)
    note = next(n for n in data.notes if n.startswith("instance_usage read:"))
    assert "6 windows" in note and "4 within a replayed attempt's run" in note
    assert "2 windows of replayed instances fall outside their runs" in note


def test_no_cut_of_a_genuine_dict_cell_is_read_as_a_value():
    """Every dict cell of the slice reads as ``ast.literal_eval`` gives it, and every
    proper, non-empty beginning of one (a file cut inside it) is refused: a cut number
    ("0.0246" of "0.024658203125") is never read as a value."""
    from simdc.workload.readers.google2019 import _resources

    with open(sample(SLICE), newline="") as f:
        cells = [r[c] for r in csv.DictReader(f) for c in ("resource_request", "average_usage", "maximum_usage")]
    for cell in cells:
        want = ast.literal_eval(cell)
        cpus, memory = _resources(cell)
        assert (float(cpus), float(memory)) == (want["cpus"], want["memory"])
        assert all(_resources(cell[:n]) is None for n in range(1, len(cell))), cell


def test_the_readme_states_what_the_slice_gives():
    path = sample(SLICE)
    data = read_trace(path, "google2019")
    expected = by_id(data, expected_usage(slice_rows(path)))
    table = data.instances.set_index("id")
    has = [i for i, e in expected.items() if e["series"]]
    cpu = sum(table.loc[i, "cpu_used"] for i in has) / sum(table.loc[i, "cpu_cores"] for i in has)
    memory = sum(table.loc[i, "memory_used_gib"] for i in has) / sum(table.loc[i, "memory_gib"] for i in has)
    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    assert (f"the slice: {len(has)} of its {len(expected)} attempts have a window in their run, using "
            f"{cpu:.0%} of the CPU and {memory:.0%} of the memory they request, pooled; "
            f"{len(expected) - len(has)} use their request").replace("%", " %") in readme


def test_the_note_counts_series_spanning_under_a_tenth_of_their_run():
    """A window of a few seconds stands for a run of weeks: the note counts the attempts
    whose series' steps span under a tenth of their run, counted here from the windows."""
    path = sample(SLICE)
    data = read_trace(path, "google2019")
    expected = by_id(data, expected_usage(slice_rows(path)))
    thin = sum(1 for e in expected.values() if e["series"]
               and len(e["series"]) * STEP_S < 0.1 * (e["end"] - e["sched"]) / 1e6)
    note = next(n for n in data.notes if n.startswith("instance_usage read:"))
    assert thin and f"{thin} of those series span under a tenth of their attempt's run" in note
