"""Lifetimes cut off by the end of the data are flagged ``censored`` by every reader that
can tell (issue #14): Azure VMs deleted at the trace's last timestamp, Bitbrains VMs
still sampled in their recording's last interval."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from simdc.workload.readers import read_trace
from tests.workload.traces import lines, sample, write_lines


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(1, 60)), min_size=1, max_size=8))
def test_azure_vms_deleted_at_the_trace_end_are_censored(tmp_path_factory, spans):
    """VM k created at 300·a, deleted at 300·(a + b) (5-minute timestamps); the trace's
    end is the latest deletion, and exactly the VMs deleted then are censored."""
    rows = [f"vm{k:04d}aaaaaaaaaaaaaaaa,s,d,{300 * a},{300 * (a + b)},90,10,50,Interactive,2,4"
            for k, (a, b) in enumerate(spans)]
    path = write_lines(tmp_path_factory.mktemp("az") / "vmtable.csv", rows)
    data = read_trace([path], "azure")
    end = max(a + b for a, b in spans)
    expected = {f"vm{k:04d}aaaaaaaaaaaaaaaa" for k, (a, b) in enumerate(spans) if a + b == end}
    got = data.instances.set_index("id")["censored"]
    assert {i for i, c in got.items() if c} == expected
    if expected:
        assert any(f"{len(expected):,} VM lifetimes censored" in note for note in data.notes)


def test_bitbrains_censors_per_recording(tmp_path):
    """Two recordings given together: a month (VM a sampled to its end, VM b stopping
    half-way) and a VM recorded a year later. a and the later VM are censored; b ended."""
    rows = lines(sample("bitbrains_rnd/2013-7/1.csv.gz"))
    header, body = rows[0], rows[1:]
    t = np.array([int(r.split(";")[0]) for r in body])

    def shifted(seconds, k):
        return [header] + [f"{int(r.split(';')[0]) + seconds};" + r.split(";", 1)[1] for r in body[:k]]

    (tmp_path / "m").mkdir()
    (tmp_path / "later").mkdir()
    write_lines(tmp_path / "m" / "a.csv", shifted(0, len(body)))
    write_lines(tmp_path / "m" / "b.csv", shifted(0, len(body) // 2))
    write_lines(tmp_path / "later" / "c.csv", shifted(int(t[-1] - t[0]) + 365 * 86400, len(body)))
    data = read_trace([tmp_path / "m", tmp_path / "later"], "bitbrains")
    censored = dict(zip(data.instances["id"].str.split("/").str[-1], data.instances["censored"]))
    assert censored == {"a": True, "b": False, "c": True}


def test_censored_instances_run_on_past_the_end_of_the_data(tmp_path):
    """Replayed past the data's end (here 6,000 s of data, an 8,000 s run), a VM still
    running when the data ends is running at the end of the run, never completed at the
    moment the data stops; a VM deleted earlier completes."""
    import simdc
    from simdc.config import validate

    rows = [f"vm{k:04d}aaaaaaaaaaaaaaaa,s,d,{300 * k},{end},90,10,50,Interactive,1,1.75"
            for k, end in enumerate([6000, 6000, 3000, 6000, 1500])]
    trace = write_lines(tmp_path / "vmtable.csv", rows)
    results = simdc.simulate(validate({
        "simulation": {"duration_s": 8000, "seed": 1, "platforms": ["vm", "container"]},
        "host": {"cpu_cores": 16, "memory_gib": 64},
        "workload": {"trace": str(trace), "format": "azure"},
    }))
    censored = {f"vm{k:04d}aaaaaaaaaaaaaaaa" for k in (0, 1, 3)}
    for _, inst in results.instances.groupby("platform"):
        outcome = dict(zip(inst["id"], inst["outcome"]))
        assert {i for i, o in outcome.items() if o == "running_at_end"} == censored
        assert {i for i, o in outcome.items() if o == "completed"} == set(outcome) - censored
    assert any("3 instances still running when the data ends" in note
               for note in results.manifest["workload_notes"])
