"""What every trace reader shares (simdc/workload/readers/common.py and __init__.py):
format detection, gzip and folders, line numbers, strict versus skip, the selection
of part of a trace, and simdc's own format as every reader writes it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simdc.errors import InputError
from simdc.workload import own
from simdc.workload.readers import ReaderOptions, Selection, detect, read_trace, usage_path, write_trace
from simdc.workload.readers.common import BadRows, TraceData, canonical, select
from tests.workload.traces import lines, sample, write_lines


@pytest.mark.parametrize(("relative", "fmt", "tables"), [
    ("azure_v1_2017", "azure", {"vmtable", "vm_cpu_readings"}),
    ("azure_v2_2019/vmtable_subset_500vms.csv", "azure", {"vmtable"}),
    ("google_2011", "google", {"task_events", "job_events"}),
    ("alibaba_v2017", "alibaba2017", {"batch_task", "server_event"}),
    ("alibaba_v2018", "alibaba2018", {"machine_meta", "machine_usage"}),
    ("bitbrains_rnd/2013-7", "bitbrains", {"vm"}),
    ("opendc/v5/surf_week", "opendc", {"tasks", "fragments"}),
])
def test_auto_recognises_each_samples_format_and_tables(relative, fmt, tables):
    found, files = detect([sample(relative)])
    assert found == fmt and set(files) == tables


def test_files_of_two_formats_are_refused_with_what_each_is():
    with pytest.raises(InputError, match="several formats") as caught:
        detect([sample("azure_v1_2017/vmtable.csv.gz"), sample("alibaba_v2017/server_event.csv")])
    assert "azure vmtable" in caught.value.problems[0] and "alibaba2017 server_event" in caught.value.problems[0]


def test_a_file_of_another_format_than_the_one_given_is_named():
    with pytest.raises(InputError, match="looks like azure vmtable, not one of the google tables"):
        detect([sample("azure_v1_2017/vmtable.csv.gz")], "google")


def test_an_unknown_file_and_a_missing_path_are_clear_errors(tmp_path):
    path = write_lines(tmp_path / "mystery.csv", ["a;b", "1;2"])
    with pytest.raises(InputError, match="cannot tell which trace table"):
        detect([path])
    with pytest.raises(InputError, match="not found"):
        detect([tmp_path / "nothing.csv"])
    with pytest.raises(InputError, match="unknown format 'gogle'"):
        detect([path], "gogle")


def test_gzip_and_plain_text_read_the_same(tmp_path):
    text = lines(sample("azure_v1_2017/vmtable.csv.gz"))
    plain = read_trace([write_lines(tmp_path / "vmtable.csv", text)], "azure").instances
    packed = read_trace([write_lines(tmp_path / "vmtable.csv.gz", text, gz=True)], "azure").instances
    pd.testing.assert_frame_equal(plain, packed)


def test_line_numbers_count_blank_lines_and_rows_dropped_for_their_width(tmp_path):
    rows = lines(sample("azure_v1_2017/vmtable.csv.gz"))
    soon = rows[2].split(",")
    soon[3] = "soon"
    broken = rows[:2] + ["", "x,y", ""] + [",".join(soon)] + rows[3:]
    path = write_lines(tmp_path / "vmtable.csv", broken)
    with pytest.raises(InputError) as caught:
        read_trace([path], "azure")
    assert caught.value.problems[:2] == [f"{path}: line 4: expected 11 fields, got 2",
                                         f"{path}: line 6: vmcreated is not a number (got 'soon')"]


def test_strict_lists_the_first_problems_then_how_many_more(tmp_path):
    rows = ["700000000,,1,0,1,0,u,2,9,0.5,0.25,0.01,0"] + [f"x{i},,1,0,1,0,u,2,9,0.5,0.25,0.01,0" for i in range(25)]
    path = write_lines(tmp_path / "task_events.csv", rows)
    with pytest.raises(InputError) as caught:
        read_trace([path], "google")
    problems = caught.value.problems
    assert problems[0] == f"{path}: line 2: time is not a number (got 'x0')"
    assert problems[-2] == "... and 15 more bad rows" and len(problems) == 12


def test_selection_window_sample_and_limit():
    """A window keeps what arrives in it and what runs at its start (replayed from 0 with
    the rest of its life and of its usage series); a sample is reproducible; a limit
    keeps the first arrivals."""
    table = canonical("test", id=np.array(["a", "b", "c", "d"], dtype=object),
                      submit_s=[0.0, 100.0, 900.0, 2000.0], duration_s=[1000.0, 50.0, 500.0, 10.0],
                      cpu_cores=[1, 1, 1, 1], memory_gib=[1, 1, 1, 1])
    usage = pd.DataFrame({"id": ["a", "a", "a", "a", "c"], "t_s": [0.0, 300.0, 600.0, 900.0, 0.0],
                          "cpu_cores": [0.1, 0.2, 0.3, 0.4, 0.5], "memory_gib": [1.0, 1.0, 1.0, 1.0, 1.0]})
    data = TraceData(table, usage, "test", "test")
    window = select(data, Selection(time_window_s=(500.0, 1500.0)))
    inst = window.instances.set_index("id")
    assert sorted(inst.index) == ["a", "c"]
    assert (inst.loc["a", "submit_s"], inst.loc["a", "duration_s"]) == (0.0, 500.0)
    assert (inst.loc["c", "submit_s"], inst.loc["c", "duration_s"]) == (400.0, 500.0)
    a = window.usage[window.usage["id"] == "a"]
    assert a["t_s"].tolist() == [0.0, 100.0, 400.0] and a["cpu_cores"].tolist() == [0.2, 0.3, 0.4]
    assert select(data, Selection(limit=2)).instances["id"].tolist() == ["a", "b"]
    one = select(data, Selection(sample=0.5, seed=3)).instances
    pd.testing.assert_frame_equal(one, select(data, Selection(sample=0.5, seed=3)).instances)


def test_every_reader_writes_simdcs_format_and_it_reads_back(tmp_path):
    """Convert the Bitbrains sample: the instances read back equal (own.read), and the
    usage table lands beside them."""
    data = read_trace([sample("bitbrains_rnd/2013-7")], "bitbrains")
    written, usage = write_trace(data, tmp_path / "bb.parquet")
    assert usage == usage_path(written) == tmp_path / "bb.usage.parquet"
    back = own.read(written).instances
    # the censored flag too (a lifetime the data's end cut replays as one)
    assert "censored" in back
    pd.testing.assert_frame_equal(back.drop(columns="id"), data.instances.drop(columns="id"), check_dtype=False)
    assert back["id"].astype(str).tolist() == data.instances["id"].tolist()
    again = read_trace([written, usage], "auto")
    assert again.format == "simdc" and len(again.usage) == len(data.usage)


def test_on_bad_rows_must_be_strict_or_skip():
    with pytest.raises(InputError, match="on_bad_rows"):
        BadRows("lenient")


def test_a_header_line_in_a_headerless_format_is_skipped_not_reported(tmp_path):
    rows = lines(sample("azure_v1_2017/vmtable.csv.gz"))
    header = ("vmid,subscriptionid,deploymentid,vmcreated,vmdeleted,maxcpu,avgcpu,p95maxcpu,vmcategory,"
              "vmcorecount,vmmemory")
    data = read_trace([write_lines(tmp_path / "vmtable.csv", [header] + rows)], "auto")
    assert len(data.instances) == 10


def test_skip_reads_the_good_rows_of_a_google_part(tmp_path):
    """Corrupt 1 % of a real part's rows: skip reads the rest and counts them by reason."""
    rows = lines(sample("google_2011/task_events-part-00000-of-00500.csv.gz"))[300000:320000]
    for i in range(0, 20000, 400):
        rows[i] = rows[i].replace(",", ";", 1)
    path = write_lines(tmp_path / "task_events.csv", rows)
    data = read_trace([path], "google", ReaderOptions(on_bad_rows="skip"))
    assert data.skipped == {"task_events: expected 13 fields, got 12": 50}


def test_the_config_accepts_exactly_the_formats_the_readers_read():
    import typing

    from simdc.model.workload import WorkloadSpec
    from simdc.workload.readers import FORMATS

    assert typing.get_args(WorkloadSpec.model_fields["format"].annotation) == FORMATS


def test_a_sample_that_keeps_no_instance_is_one_error_like_an_empty_window(tmp_path):
    """sample = 1e-6 of a small trace ran an empty workload and reported zeros, where an
    empty time window is refused: both are one error line now."""
    from simdc.workload.readers import Selection

    path = tmp_path / "w.csv"
    path.write_text("id,submit_s,duration_s,cpu_cores,memory_gib\n" + "".join(f"{k},{k},60,1,2\n" for k in range(50)))
    with pytest.raises(InputError) as err:
        read_trace([path], selection=Selection(None, 1e-6, None, 0))
    assert err.value.problems == [f"workload.sample (--sample) 1e-06: kept no instance of the 50 in {path}; raise it "
                                  "(0.02 keeps one of them on average)"]
    assert len(read_trace([path], selection=Selection(None, 0.5, None, 0)).instances) > 0
