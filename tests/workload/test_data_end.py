"""The end of the data is the latest time of every table read, in every reader that
censors lifetimes (:func:`simdc.workload.readers.common.data_end`).

Alibaba's docstring states the rule ("The end of the data is the latest time of every
table read"); Google's and Azure's say the same of their tables (the last event or usage
window; the vmtable's and readings' last timestamp). The ends here are computed from the
raw rows, by pandas or by hand, not by simdc.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simdc.workload.readers import read_trace
from tests.workload.traces import sample, write_lines


def test_alibaba_2017_censored_lifetimes_run_to_the_last_time_of_every_table_read():
    """With ``server_event`` read (its machines size the waves), the data end at the latest
    time of batch_task and server_event, whichever is later: the sample's server_event has
    softerror rows after every batch_task time. Each censored instance (the last wave of a
    task still running) ends there, so its duration_s is that end minus its start, and the
    note names it (it named the last batch_task time, cutting them ~21,000 s early)."""
    folder = sample("alibaba_v2017")
    tasks = pd.read_csv(folder / "batch_task.csv")  # has a header
    events = pd.read_csv(folder / "server_event.csv", header=None)
    end = max(tasks.iloc[:, 0].max(), tasks.iloc[:, 1].max(), events[0].max())
    assert events[0].max() > max(tasks.iloc[:, 0].max(), tasks.iloc[:, 1].max())  # the case this test is about

    data = read_trace([str(folder)], "alibaba2017")
    inst = data.instances
    cut = inst["censored"].to_numpy(bool)
    assert cut.any()
    ends = inst["submit_s"].to_numpy(float)[cut] + inst["duration_s"].to_numpy(float)[cut]
    np.testing.assert_allclose(ends, end, rtol=0, atol=1e-6)
    said = [n for n in data.notes if "batch instance lifetimes censored" in n]
    assert len(said) == 1 and f"({end:,.0f} s)" in said[0]


def test_azure_a_vm_is_censored_only_if_deleted_at_the_last_time_of_every_table_read(tmp_path):
    """Two VMs deleted at 600 s and 900 s, readings until 1,200 s: the data go on after both
    deletions, so neither was still running when they ended (the latest vmdeleted alone
    made the VM deleted at 900 s censored)."""
    vmtable = write_lines(tmp_path / "vmtable.csv", [
        "aaaaaaaaaaaaaaaa,s,d,0,600,90,10,50,Interactive,2,4",
        "bbbbbbbbbbbbbbbb,s,d,300,900,90,10,50,Delay-insensitive,2,4",
    ])
    readings = write_lines(tmp_path / "vm_cpu_readings.csv", [
        f"{t},{vm},1,20,10" for t in range(0, 1201, 300) for vm in ("aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb")
    ])
    data = read_trace([vmtable, readings], "azure")
    assert not data.instances["censored"].any()
    # ... and one deleted at the readings' last time is censored
    vmtable = write_lines(tmp_path / "vmtable.csv", [
        "aaaaaaaaaaaaaaaa,s,d,0,600,90,10,50,Interactive,2,4",
        "bbbbbbbbbbbbbbbb,s,d,300,1200,90,10,50,Delay-insensitive,2,4",
    ])
    data = read_trace([vmtable, readings], "azure")
    assert data.instances.set_index("id")["censored"].to_dict() == {"aaaaaaaaaaaaaaaa": False,
                                                                     "bbbbbbbbbbbbbbbb": True}


def test_google_2011_censors_at_the_last_event_of_every_type(tmp_path):
    """Task 1 is scheduled at 100 s (700 s on the trace's clock, which starts at 600 s) and
    never ends; the last row read is an UPDATE (type 8) at 1,000 s (1,600 s on that clock):
    the attempt is censored there, 900 s long (UPDATEs left out of the end: 1 µs)."""
    path = write_lines(tmp_path / "task_events.csv", [
        "700000000,,1,0,1,0,u,2,9,0.5,0.25,0.01,0",
        "700000000,,1,0,1,1,u,2,9,0.5,0.25,0.01,0",
        "1600000000,,2,0,1,8,u,2,9,0.6,0.25,0.01,0",
    ])
    data = read_trace([path], "google")
    inst = data.instances.set_index("id")
    assert inst.loc["1-0-0", "censored"]
    assert inst.loc["1-0-0", "duration_s"] == pytest.approx(1600 - 700)
    assert any("(1,000 s," in note for note in data.notes)


def test_google_2019_censors_at_the_last_event_of_every_type(tmp_path):
    """ClusterData2019 (v3 event types): instance 0 is submitted and scheduled at 1 s and
    never ends; the last row read is an UPDATE_RUNNING (10) of another instance at 61 s:
    the attempt is censored there, 60 s long."""
    s = 600_000_000  # the trace's clock starts 600 s before its start
    path = tmp_path / "events.csv"
    path.write_text("time,type,collection_id,instance_index,priority,resource_request.cpus,"
                    "resource_request.memory\n"
                    + "".join(f"{t},{kind},7,{index},200,0.25,0.125\n"
                              for t, kind, index in ((s + 1_000_000, 0, 0), (s + 1_000_000, 3, 0),
                                                     (s + 61_000_000, 10, 1))))
    data = read_trace([path], "google2019")
    inst = data.instances.set_index("id")
    assert inst.loc["7-0-0", "censored"]
    assert inst.loc["7-0-0", "duration_s"] == pytest.approx(60.0)
