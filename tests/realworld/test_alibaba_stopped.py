"""Alibaba 2018 containers keep writing ``stopped`` snapshots after they stop
(alibaba/clusterdata#47; issue #14, item 1): a container ends at its first ``stopped``
snapshot after the last one that is not, and one still running at the end of the data
is censored there."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from simdc.workload.readers import read_trace
from tests.workload.traces import write_lines

CASE = ["c_7,m_3,0,app_9,started,100,100,2.5", "c_7,m_3,1000,app_9,stopped,100,100,2.5",
        "c_7,m_3,9000,app_9,stopped,100,100,2.5"]


def test_the_handed_case_ends_at_its_first_stopped_snapshot(tmp_path):
    """../shared/cases/ali18_stopped_end: 1000 s, not 9000 s."""
    data = read_trace([write_lines(tmp_path / "container_meta.csv", CASE)], "alibaba2018")
    row = data.instances.iloc[0]
    assert (row["submit_s"], row["duration_s"], bool(row["censored"])) == (0.0, 1000.0, False)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 50), st.booleans()), min_size=1, max_size=8))
def test_end_is_the_first_stopped_after_the_last_running_snapshot(tmp_path_factory, steps):
    """Snapshots at increasing times, each started or stopped: the lifetime is computed
    here from the list by the rule; the data end at the last snapshot of any container."""
    times, t = [], 0
    for gap, stopped in steps:
        t += gap * 10
        times.append((t, stopped))
    other = ("c_2", times[-1][0] + 500, False)  # another container sets the end of the data
    rows = [f"c_1,m_1,{t},app_1,{'stopped' if s else 'started'},100,100,1.0" for t, s in times]
    rows.append(f"{other[0]},m_1,{other[1]},app_1,started,100,100,1.0")
    path = write_lines(tmp_path_factory.mktemp("meta") / "container_meta.csv", rows)
    data = read_trace([path], "alibaba2018")
    running = [t for t, s in times if not s]
    mine = data.instances[data.instances["id"] == "c_1"]
    if not running:
        assert mine.empty and data.dropped["container never seen running (every snapshot says stopped)"] == 1
        return
    after = [t for t, s in times if s and t > max(running)]
    end = after[0] if after else other[1]
    row = mine.iloc[0]
    assert row["submit_s"] == times[0][0]
    assert row["duration_s"] == max(end - times[0][0], 1.0)
    assert bool(row["censored"]) == (not after)
