"""Google cluster-data 2011 reader (simdc/workload/readers/google.py), on the first
task_events part (450,146 events): expected counts, requests and lifetimes are computed
here from the raw rows."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from simdc.errors import InputError
from simdc.workload.readers import ReaderOptions, read_trace
from simdc.workload.readers.common import on_step_table
from tests.workload.traces import sample, write_lines

PART = "google_2011/task_events-part-00000-of-00500.csv.gz"
START_US = 600_000_000


NAMES = ["time", "missing", "job", "task", "machine", "event", "user", "cls", "priority", "cpu", "mem", "disk",
         "diff"]


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """The raw events (a plain pandas read), each task's in time order (file order for ties)."""
    frame = pd.read_csv(sample(PART), header=None, names=NAMES)
    return frame.sort_values(["job", "task", "time"], kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def firsts(raw) -> pd.DataFrame:
    """Per task: its number of events and the time, type and CPU request of its first five."""
    group = raw.groupby(["job", "task"], sort=False)
    out = pd.DataFrame({"n": group.size()})
    position = group.cumcount()
    for k in range(5):
        at = raw[position == k].set_index(["job", "task"])
        out[f"t{k}"], out[f"e{k}"], out[f"c{k}"] = at["time"], at["event"], at["cpu"]
    return out


@pytest.fixture(scope="module")
def data():
    return read_trace([sample(PART)], "google")


def test_event_counts_per_type_are_those_of_the_raw_rows(raw):
    """The sample's event mix, as counted from its rows (sanity of the sample itself)."""
    assert len(raw) == 450_146
    assert raw["event"].value_counts().to_dict() == {0: 201_491, 1: 189_994, 4: 43_237, 5: 10_505, 2: 4_338, 3: 581}


def test_every_submit_is_an_attempt_that_is_replayed_or_counted(raw, data):
    """Each SUBMIT starts one attempt (resubmissions are new attempts): instances plus
    the attempts counted as not replayed equal the SUBMIT events."""
    assert len(data.instances) + sum(data.dropped.values()) == (raw["event"] == 0).sum()
    assert data.instances["id"].is_unique


def test_instances_are_the_scheduled_attempts_with_their_requests(raw, data):
    """One instance per SCHEDULE with a non-zero request; cores and GiB are the request
    times the reference machine (32 cores, 64 GiB by default)."""
    scheduled = raw[raw["event"] == 1]
    sized = scheduled[(scheduled["cpu"] > 0) & (scheduled["mem"] > 0)]
    inst = data.instances
    assert len(inst) == len(sized)
    assert inst["cpu_cores"].mean() == pytest.approx(32 * sized["cpu"].mean())
    assert inst["memory_gib"].mean() == pytest.approx(64 * sized["mem"].mean())
    zero = ((scheduled["cpu"] == 0) | (scheduled["mem"] == 0)).sum()
    assert data.dropped["requested zero CPU or memory"] == zero
    assert Counter(inst["priority"].tolist()) == Counter(sized["priority"].tolist())


def test_lifetimes_of_named_tasks(raw, firsts, data):
    """A task submitted, scheduled and finished inside the trace lives FINISH − SCHEDULE;
    one scheduled at time 0 (before the trace) lives from the trace's start (600 s); one
    still running lives to the last event of the part; a resubmission is attempt 1."""
    table = data.instances.set_index("id")
    last_us = raw["time"].max()
    f = firsts

    def first(mask) -> tuple:
        key = f[mask].index[0]
        return key, f.loc[key]

    (job, task), ev = first((f["n"] == 3) & (f["e0"] == 0) & (f["e1"] == 1) & (f["e2"] == 4) & (f["t0"] > START_US))
    got = table.loc[f"{job}-{task}-0"]
    assert got["submit_s"] == pytest.approx((ev["t0"] - START_US) / 1e6)
    assert got["duration_s"] == pytest.approx((ev["t2"] - ev["t1"]) / 1e6)
    assert got["cpu_cores"] == pytest.approx(32 * ev["c1"])

    (job, task), ev = first((f["n"] == 3) & (f["e0"] == 0) & (f["e1"] == 1) & (f["e2"] == 4) & (f["t1"] == 0))
    got = table.loc[f"{job}-{task}-0"]
    assert got["submit_s"] == 0
    assert got["duration_s"] == pytest.approx((ev["t2"] - START_US) / 1e6)

    (job, task), ev = first((f["n"] == 2) & (f["e0"] == 0) & (f["e1"] == 1) & (f["t1"] > START_US) & (f["c1"] > 0))
    assert table.loc[f"{job}-{task}-0", "duration_s"] == pytest.approx((last_us - ev["t1"]) / 1e6)

    again = (f["e0"] == 0) & (f["e1"] == 1) & (f["e2"] == 2) & (f["e3"] == 0) & (f["e4"] == 1) & (f["c4"] > 0)
    (job, task), ev = first(again)
    second = table.loc[f"{job}-{task}-1"]
    assert second["submit_s"] == pytest.approx((max(ev["t3"], START_US) - START_US) / 1e6)
    first_attempt = table.loc[f"{job}-{task}-0"]
    assert first_attempt["duration_s"] == pytest.approx((max(ev["t2"], START_US) - max(ev["t1"], START_US)) / 1e6)


def test_the_reference_machine_is_an_option(data):
    halved = read_trace([sample(PART)], "google", ReaderOptions(reference_cpu_cores=16, reference_memory_gib=128))
    assert halved.instances["cpu_cores"].sum() == pytest.approx(data.instances["cpu_cores"].sum() / 2)
    assert halved.instances["memory_gib"].sum() == pytest.approx(data.instances["memory_gib"].sum() * 2)
    assert any("16 cores, 128 GiB" in note for note in halved.notes)


def test_task_usage_becomes_each_attempts_series(tmp_path):
    """task_usage windows (20-column schema) are matched to the attempt running at their
    start; cpu_rate and canonical memory become cores and GiB via the reference machine,
    each window taking effect at the first 300-s step at or after its start (README,
    workload.usage_step_s): CPU averaged weighted by window length, memory the maximum."""
    data = read_trace(list(_two_tasks(tmp_path)), "auto")
    assert data.format == "google"
    series = on_step_table(data.usage, 300.0).set_index(["id", "t_s"])
    assert series.loc[("7-0-0", 0.0), "cpu_cores"] == pytest.approx(0.1 * 32)
    assert series.loc[("7-0-0", 300.0), "memory_gib"] == pytest.approx(0.15 * 64)
    # Task 8 ran from 360 s: its first window (at 0 s) is its first step; the next two, at
    # 140 s and 200 s from its start (60 s and 30 s long), take effect together at 300 s.
    assert series.loc[("8-0-0", 0.0), "cpu_cores"] == pytest.approx(0.2 * 32)
    assert series.loc[("8-0-0", 300.0), "cpu_cores"] == pytest.approx(32 * (0.4 * 60 + 0.1 * 30) / 90)
    assert series.loc[("8-0-0", 300.0), "memory_gib"] == pytest.approx(0.3 * 64)
    assert len(series.loc["8-0-0"]) == 2
    inst = data.instances.set_index("id")
    assert inst.loc["7-0-0", "cpu_used"] == pytest.approx(32 * 0.2)
    assert inst.loc["8-0-0", "duration_s"] == pytest.approx(600 - 360)  # running at the last task event


@pytest.mark.parametrize("step_s", [30.0, 300.0, 1000.0])
def test_cpu_used_is_the_mean_over_time_of_the_windows_at_any_usage_step(tmp_path, step_s):
    """README: cpu_used is the series' mean over time. Task 8's windows are 140 s at 0.2,
    60 s at 0.4 and 30 s at 0.1 of 32 cores: Σ rate × length ÷ Σ length, at every step (the
    old plain mean of the values on 300-s steps gave 32 × (0.2 + 0.3) / 2 = 8.0)."""
    data = read_trace(list(_two_tasks(tmp_path)), "google", ReaderOptions(usage_step_s=step_s))
    inst = data.instances.set_index("id")
    assert inst.loc["8-0-0", "cpu_used"] == pytest.approx(32 * (0.2 * 140 + 0.4 * 60 + 0.1 * 30) / 230, rel=1e-12)
    assert inst.loc["7-0-0", "cpu_used"] == pytest.approx(32 * (0.1 * 300 + 0.3 * 300) / 600, rel=1e-12)


def _two_tasks(tmp_path):
    """task_events and task_usage (20-column schema) of two tasks, 7 and 8."""
    events = write_lines(tmp_path / "task_events.csv", [
        "0,,7,0,1,0,u,2,9,0.5,0.25,0.01,0",
        "0,,7,0,1,1,u,2,9,0.5,0.25,0.01,0",
        "1200000000,,7,0,1,4,u,2,9,0.5,0.25,0.01,0",
        "900000000,,8,0,2,0,u,2,4,0.25,0.5,0.01,0",
        "960000000,,8,0,2,1,u,2,4,0.25,0.5,0.01,0",
    ])
    usage = write_lines(tmp_path / "task_usage.csv", [
        # start, end, job, task, machine, cpu_rate, canonical_mem, 13 more columns
        "600000000,900000000,7,0,1,0.1,0.05,0.06,0,0,0.07,0,0,0.2,0,1,0,1,0,0.1",
        "900000000,1200000000,7,0,1,0.3,0.15,0.16,0,0,0.17,0,0,0.4,0,1,0,1,0,0.3",
        "960000000,1100000000,8,0,2,0.2,0.1,0.1,0,0,0.1,0,0,0.2,0,1,0,1,0,0.2",
        "1100000000,1160000000,8,0,2,0.4,0.3,0.1,0,0,0.1,0,0,0.2,0,1,0,1,0,0.2",
        "1160000000,1190000000,8,0,2,0.1,0.2,0.1,0,0,0.1,0,0,0.2,0,1,0,1,0,0.2",
    ])
    return events, usage


def test_events_after_the_trace_and_updates_are_handled(tmp_path):
    """2^63 − 1 means after the trace: such events are left out and noted; UPDATE
    events do not start attempts."""
    path = write_lines(tmp_path / "task_events.csv", [
        "700000000,,1,0,1,0,u,2,9,0.5,0.25,0.01,0",
        "700000000,,1,0,1,1,u,2,9,0.5,0.25,0.01,0",
        "800000000,,1,0,1,8,u,2,9,0.6,0.25,0.01,0",
        "900000000,,2,0,1,0,u,2,9,0.5,0.25,0.01,0",
        "9223372036854775807,,1,0,1,4,u,2,9,0.5,0.25,0.01,0",
    ])
    data = read_trace([path], "google")
    assert data.instances["id"].tolist() == ["1-0-0"]
    assert data.instances["duration_s"].iloc[0] == pytest.approx(200.0)  # censored at the last event (900 s)
    assert data.dropped == {"never scheduled: still pending at the end of the data": 1}
    assert any("after the end of the trace" in note for note in data.notes)


def test_bad_event_rows_name_file_and_line(tmp_path):
    path = write_lines(tmp_path / "part-00000-of-00500.csv", [
        "700000000,,1,0,1,0,u,2,9,0.5,0.25,0.01,0",
        "700000000,,1,0,1,9,u,2,9,0.5,0.25,0.01,0",
        "",
        "700000000,,1,0,1,1,u,2,9,1.5,0.25,0.01,0",
        "700000000,,1,0,1,1,u,2,9,0.5,0.25,0.01",
        "700000000,,1,0,1,1,u,2,9,0.5,0.25,0.01,0",
    ])
    with pytest.raises(InputError) as caught:
        read_trace([path], "google")
    problems = caught.value.problems
    assert f"{path}: line 2: event_type must be in [0, 8] (got '9')" in problems
    assert f"{path}: line 4: cpu_request must be in [0, 1] (got '1.5')" in problems
    assert f"{path}: line 5: expected 13 fields, got 12" in problems
    assert problems[-1].startswith("to skip bad rows")
    data = read_trace([path], "google", ReaderOptions(on_bad_rows="skip"))
    assert data.skipped == {"task_events: cpu_request must be in [0, 1]": 1,
                            "task_events: event_type must be in [0, 8]": 1,
                            "task_events: expected 13 fields, got 12": 1}


def test_a_folder_of_parts_is_read_in_part_order(tmp_path):
    """Parts split across files read as one trace, ordered part-2 before part-10."""
    rows = ["700000000,,1,0,1,0,u,2,9,0.5,0.25,0.01,0", "800000000,,1,0,1,1,u,2,9,0.5,0.25,0.01,0",
            "1000000000,,1,0,1,4,u,2,9,0.5,0.25,0.01,0"]
    write_lines(tmp_path / "part-00002-of-00500.csv.gz", rows[:1], gz=True)
    write_lines(tmp_path / "part-00010-of-00500.csv", rows[1:])
    data = read_trace([tmp_path], "google")
    assert data.instances["duration_s"].tolist() == [200.0]
    with pytest.raises(InputError, match="no trace files"):
        read_trace([tmp_path / "empty"] if (tmp_path / "empty").mkdir() is None else [], "google")


def raw_attempts(raw: pd.DataFrame) -> pd.DataFrame:
    """Every attempt of the raw events, by id ``job-task-k``: ``submit``, ``sched`` and
    ``end`` in trace seconds (µs / 10^6 − 600, 0 at the least) and ``censored``, built
    here with pandas from the trace's documented rules: an attempt begins at a task's
    first event or at a SUBMIT, runs from its first SCHEDULE to the first EVICT, FAIL,
    FINISH, KILL or LOST after it (UPDATEs neither start nor end one), and is censored at
    the last event of the data when it has no end. Attempts never scheduled have no
    ``sched``."""
    ev = raw[raw["event"] <= 6].reset_index(drop=True)
    t = (ev["time"].clip(lower=START_US) - START_US) / 1e6
    task = ev["job"].astype(str) + "-" + ev["task"].astype(str)
    begins = (task != task.shift()) | (ev["event"] == 0)
    attempt = begins.cumsum()
    k = begins.astype(int).groupby(task).cumsum() - 1
    ids = task + "-" + k.astype(str)
    frame = pd.DataFrame({"attempt": attempt, "t": t, "event": ev["event"], "pos": range(len(ev))})
    sched_pos = frame[frame["event"] == 1].groupby("attempt")["pos"].min()
    after = frame["pos"] > frame["attempt"].map(sched_pos)
    end = frame[frame["event"].between(2, 6) & after].groupby("attempt")["t"].first()
    out = pd.DataFrame({"id": ids.groupby(attempt).first(), "submit": t.groupby(attempt).first()})
    out["sched"] = t.reindex(sched_pos.reindex(out.index).to_numpy()).to_numpy()
    out["censored"] = ~out.index.isin(end.index)
    out["end"] = end.reindex(out.index).fillna(t.max())
    return out.set_index("id")


@pytest.mark.parametrize("window", [(1800.0, 3600.0), (600.0, 5000.0), (0.0, 900.0), (4900.0, 6000.0)])
def test_a_time_window_replays_each_attempt_from_its_schedule_to_its_end(raw, data, window):
    """A window [start, stop) keeps the attempts submitted before its end whose run, from
    SCHEDULE to its end, ends after its start; a censored one runs on at least through
    the window. One running at the start (SCHEDULE < start) keeps the rest of its run,
    end − start; one submitted before the start and still pending then is submitted at 0
    with its whole run, end − SCHEDULE. Expected from the raw events (raw_attempts), for
    the attempts the whole-trace read replays (the request rules are not under test).
    simdc took SUBMIT + duration for the end: over [1800, 3600) it cut 13,347 running
    attempts and 186 pending ones short and dropped 117 that ran in the window."""
    from simdc.workload.readers import Selection

    start, stop = window
    want = raw_attempts(raw).loc[data.instances["id"]]
    whole = data.instances.set_index("id")
    assert whole["submit_s"].to_numpy() == pytest.approx(want["submit"].to_numpy())  # the oracle reads as simdc
    assert whole["duration_s"].to_numpy() == pytest.approx((want["end"] - want["sched"]).clip(lower=1e-6).to_numpy())

    end = want["end"].where(~want["censored"], want["end"].clip(lower=stop))
    alive = want[(want["submit"] < stop) & (end > start)]
    expected = pd.DataFrame({"submit_s": alive["submit"].clip(lower=start) - start,
                             "duration_s": end[alive.index] - alive["sched"].clip(lower=start)})
    got = read_trace([sample(PART)], "google", selection=Selection(window, None, None, 0))
    table = got.instances.set_index("id")
    assert set(table.index) == set(expected.index)
    table = table.loc[expected.index]
    assert table["submit_s"].to_numpy() == pytest.approx(expected["submit_s"].to_numpy(), abs=1e-6)
    assert table["duration_s"].to_numpy() == pytest.approx(expected["duration_s"].to_numpy(), abs=1e-5)
    running = int((alive["sched"] < start).sum())
    pending = int(((alive["submit"] < start) & (alive["sched"] >= start)).sum())
    note = next(n for n in got.notes if n.startswith("time window"))
    assert (f"{running:,} of them already running at its start" in note) == (running > 0)
    assert (f"{pending:,} submitted before it and still waiting to start" in note) == (pending > 0)
    if window == (1800.0, 3600.0):  # the cases the trial found occur
        assert running and pending
        assert (alive["sched"] > alive["submit"]).sum() > 10_000


def test_a_time_window_continues_a_running_tasks_usage_from_its_age_at_the_start(tmp_path):
    """Worked by hand (trace seconds; µs = (s + 600) × 10^6). Task 7 is submitted at
    100 s, scheduled at 400 s and finishes at 1,600 s, with task_usage windows of 300 s
    from its schedule at CPU 0.1, 0.2, 0.3, 0.4 (× 32 cores). In the window [1000, 2000)
    it has run 600 s and has 600 s left; its series goes on from offset 600 s: 0.3 at
    0, 0.4 at 300 s. Task 8, submitted at 900 s and scheduled at 1,200 s, is pending at
    the start: submitted at 0, it runs its whole 300 s (to 1,500 s). (simdc gave task 7
    300 s, from SUBMIT + 1,200 s, and its series from offset 900 s: 0.4 at 0.)"""
    from simdc.workload.readers import Selection

    def us(s: float) -> int:
        return int((s + 600) * 1e6)

    events = write_lines(tmp_path / "task_events.csv", [
        f"{us(100)},,7,0,1,0,u,2,9,0.5,0.25,0.01,0",
        f"{us(400)},,7,0,1,1,u,2,9,0.5,0.25,0.01,0",
        f"{us(1600)},,7,0,1,4,u,2,9,0.5,0.25,0.01,0",
        f"{us(900)},,8,0,2,0,u,2,4,0.25,0.5,0.01,0",
        f"{us(1200)},,8,0,2,1,u,2,4,0.25,0.5,0.01,0",
        f"{us(1500)},,8,0,2,4,u,2,4,0.25,0.5,0.01,0",
    ])
    tail = "0.06,0,0,0.07,0,0,0.2,0,1,0,1,0,0.1"
    usage = write_lines(tmp_path / "task_usage.csv", [
        *(f"{us(400 + 300 * i)},{us(700 + 300 * i)},7,0,1,{cpu},0.05,{tail}"
          for i, cpu in enumerate((0.1, 0.2, 0.3, 0.4))),
        f"{us(1200)},{us(1500)},8,0,2,0.5,0.05,{tail}",
    ])
    got = read_trace([events, usage], "google", selection=Selection((1000.0, 2000.0), None, None, 0))
    table = got.instances.set_index("id")
    assert table.loc["7-0-0", ["submit_s", "duration_s"]].tolist() == pytest.approx([0.0, 600.0])
    assert table.loc["8-0-0", ["submit_s", "duration_s"]].tolist() == pytest.approx([0.0, 300.0])
    series = on_step_table(got.usage, 300.0).set_index(["id", "t_s"])["cpu_cores"]
    assert series.loc["7-0-0"].to_dict() == pytest.approx({0.0: 0.3 * 32, 300.0: 0.4 * 32})
    assert series.loc["8-0-0"].to_dict() == pytest.approx({0.0: 0.5 * 32})
    assert any("1 of them already running at its start, 1 submitted before it" in n for n in got.notes)


def test_a_time_window_keeps_every_censored_instance_submitted_before_its_end():
    """A censored instance (still running when the data ends; its lifetime a lower
    bound) runs on in a replay of the whole trace, so it is running in any window after
    its submission: a window after the data's end (5,011 s) keeps every censored
    instance and no other, each running through the window at least."""
    from simdc.workload.readers import Selection

    files = [str(sample("google_2011"))]
    whole = read_trace(files, "google").instances
    want = set(whole.loc[whole["censored"].astype(bool), "id"].astype(str))
    got = read_trace(files, "google", selection=Selection((5100.0, 6000.0), None, None, 0)).instances
    assert set(got["id"].astype(str)) == want
    assert (got["submit_s"] == 0).all() and (got["duration_s"] >= 900 - 1e-9).all()


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_converted_trace_windows_as_the_trace_itself(raw, data, tmp_path, suffix):
    """trace convert keeps each attempt's start in the trace (``started_s``, its SCHEDULE),
    so a window of the converted file keeps the attempts a window of the raw trace keeps,
    with the same times (without it, the converted file was judged by SUBMIT + duration,
    the fault the raw trace's window had); trace inspect ends each at SCHEDULE + duration
    (the raw events' last end). A replay of the converted file drops the column."""
    from simdc.workload.inspect import convert_trace, inspect_trace
    from simdc.workload.readers import Selection

    converted = tmp_path / f"g{suffix}"
    convert_trace([sample(PART)], converted, "google")
    window = Selection((1800.0, 3600.0), None, None, 0)
    want = read_trace([sample(PART)], "google", selection=window).instances.set_index("id").sort_index()
    got = read_trace([converted], "simdc", selection=window).instances.set_index("id").sort_index()
    assert got.index.equals(want.index) and "started_s" not in got
    for column in ("submit_s", "duration_s"):
        assert got[column].to_numpy() == pytest.approx(want[column].to_numpy(), abs=1e-5)
    attempts = raw_attempts(raw).loc[data.instances["id"]]
    last = attempts.loc[~attempts["censored"], "end"].max()
    figures = inspect_trace([converted], "simdc").to_dict()["figures"]
    assert figures["last_end_s"] == pytest.approx(max(last, (attempts["sched"] + data.instances.set_index("id")[
        "duration_s"].loc[attempts.index]).max()), abs=1e-5)


def test_started_s_before_submit_s_is_refused(tmp_path):
    from simdc.workload.readers import read_trace as read

    path = tmp_path / "t.csv"
    path.write_text("id,submit_s,duration_s,cpu_cores,memory_gib,started_s\na,0,10,1,1,5\nb,20,10,1,1,15\n")
    with pytest.raises(InputError, match=r"1 rows have started_s before their submit_s \(the first: id 'b'"):
        read([path], "simdc")
