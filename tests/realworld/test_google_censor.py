"""Google 2011 attempts still running when the data end (issue #14, item 2): censored at
the end of ALL the data read, task_usage included, not at the last event; their usage
windows kept; the count said in the notes."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from simdc.workload.readers import read_trace
from tests.workload.traces import write_lines

US = 1_000_000
START_US = 600 * US  # the trace starts at 600 s


def event(t_us: int, kind: int, job: int = 42, task: int = 0) -> str:
    return f"{t_us},,{job},{task},7,{kind},u,1,0,0.05,0.05,0,0"


def usage(start_us: int, end_us: int, job: int = 42, task: int = 0) -> str:
    return f"{start_us},{end_us},{job},{task},7,0.02,0.03,0.03,0,0,0.03,0,0,0.02,0,1.5,0.01,0,0,0.02"


def test_the_handed_case_runs_to_the_end_of_task_usage(tmp_path):
    """../shared/cases/google_censor_at_zero: SUBMIT and SCHEDULE at 0, usage to 1,200 s of
    trace time: 600 s of life, both windows kept, one censored lifetime noted."""
    write_lines(tmp_path / "task_events-part-00000-of-00001.csv", [event(0, 0), event(0, 1)])
    write_lines(tmp_path / "task_usage-part-00000-of-00001.csv",
                [usage(600 * US, 900 * US), usage(900 * US, 1200 * US)])
    data = read_trace([tmp_path], "google")
    row = data.instances.iloc[0]
    assert (row["duration_s"], bool(row["censored"])) == (600.0, True)
    assert len(data.usage) == 2
    assert not any("match no replayed attempt" in n for n in data.notes)
    assert any(n.startswith("1 lifetimes censored") for n in data.notes)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 3000), st.integers(1, 3000), st.integers(0, 5000), st.booleans())
def test_censoring_time_is_the_last_time_of_any_table(tmp_path_factory, sched_s, other_s, usage_end_s, finishes):
    """One task scheduled at ``sched_s``; a second task's event at ``sched_s + other_s``;
    a usage window of the first ending at ``usage_end_s`` (trace seconds). If the first
    task finishes (at the other task's time) it is not censored; otherwise it runs to the
    latest of all those times."""
    folder = tmp_path_factory.mktemp("g")
    other_t = sched_s + other_s
    events = [event(START_US + sched_s * US, 0), event(START_US + sched_s * US, 1),
              event(START_US + other_t * US, 0, task=1)]
    if finishes:
        events.append(event(START_US + other_t * US, 4))
    write_lines(folder / "task_events-part-00000-of-00001.csv", events)
    write_lines(folder / "task_usage-part-00000-of-00001.csv",
                [usage(START_US + min(sched_s, usage_end_s) * US, START_US + usage_end_s * US)])
    data = read_trace([folder], "google")
    row = data.instances.set_index("id").loc["42-0-0"]
    end = other_t if finishes else max(other_t, usage_end_s)
    assert row["duration_s"] == max(end - sched_s, 1e-6)
    assert bool(row["censored"]) == (not finishes)
