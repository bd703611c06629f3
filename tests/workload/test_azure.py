"""Azure Public Dataset reader (simdc/workload/readers/azure.py), on the V1 and V2
samples: every expected number is computed here from the raw rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simdc.errors import InputError
from simdc.workload.readers import ReaderOptions, read_trace
from tests.workload.traces import raw_rows, sample, write_lines


def test_v1_vmtable_sizes_lifetimes_and_categories_match_the_raw_rows():
    """Each of the 10 VMs: submit = vmcreated, lifetime = max(deleted − created, 300),
    cores and GiB as given, mean CPU = avgcpu % of its cores, memory used 30 % of its
    size, priority 1 for Interactive; V1's 'Unkown' spelling is read, not rejected."""
    path = sample("azure_v1_2017/vmtable.csv.gz")
    rows = raw_rows(path)
    data = read_trace([path], "azure")
    table = data.instances.set_index("id")
    assert len(table) == len(rows) == 10
    assert any(row[8] == "Unkown" for row in rows)
    for vmid, _, _, created, deleted, _, avg, _, category, cores, memory in rows:
        vm = table.loc[vmid]
        assert vm["submit_s"] == float(created)
        assert vm["duration_s"] == max(float(deleted) - float(created), 300.0)
        assert vm["cpu_cores"] == float(cores) and vm["memory_gib"] == float(memory)
        assert vm["cpu_used"] == pytest.approx(float(avg) / 100 * float(cores))
        assert vm["memory_used_gib"] == pytest.approx(0.3 * float(memory))
        assert vm["priority"] == (1 if category == "Interactive" else 0)
        assert vm["kind"] == "service"
    assert table["submit_s"].is_monotonic_increasing
    assert any("Unknown 2" in note for note in data.notes)


def test_v1_readings_of_vms_outside_the_vmtable_are_ignored_and_counted():
    """V1's first readings file covers other VMs than the 10-row vmtable: they are left
    out, the VMs keep their lifetime averages, and the notes say how many."""
    folder = sample("azure_v1_2017")
    readings = raw_rows(folder / "vm_cpu_readings-file-1-of-125.head100.csv.gz")
    data = read_trace([folder])
    assert data.format == "azure" and data.usage is None and len(data.instances) == 10
    assert any(f"{len(readings)} CPU readings for VMs not in the vmtable" in note for note in data.notes)
    assert any("(detected)" in note for note in data.notes)


def test_v2_size_buckets_with_a_header_and_an_extra_column_are_read():
    """The 500-VM V2 subset has a header and a 'duration' column: with
    azure_bucket_sizing = "upper", sizes are the bucket bounds, summed here from the raw rows."""
    path = sample("azure_v2_2019/vmtable_subset_500vms.csv")
    rows = raw_rows(path, skip_header=True)
    data = read_trace([path], options=ReaderOptions(azure_bucket_sizing="upper"))
    inst = data.instances
    assert len(inst) == len(rows) == 500
    assert inst["cpu_cores"].sum() == sum(float(r[9]) for r in rows)
    assert inst["memory_gib"].sum() == sum(float(r[10]) for r in rows)
    assert (inst["duration_s"] == 2591400).all()
    assert inst["cpu_used"].mean() == pytest.approx(np.mean([float(r[6]) / 100 * float(r[9]) for r in rows]))


def test_v2_cpu_readings_become_each_vms_usage_series():
    """Each reading's avgcpu % of the VM's cores is its usage at (timestamp − created);
    checked for one named VM at several readings, and the series count per VM."""
    table_path = sample("azure_v2_2019/vmtable_subset_20vms_longest.csv")
    readings_path = sample("azure_v2_2019/vm_cpu_readings_20vms.csv.gz")
    vms = {r[0]: r for r in raw_rows(table_path, skip_header=True)}
    readings = raw_rows(readings_path, skip_header=True)
    data = read_trace([table_path, readings_path], "azure", ReaderOptions(azure_memory_used_fraction=0.5,
                                                                          azure_bucket_sizing="upper"))
    usage = data.usage
    vmid = "xzQ++JF1UAkh70CDhmzkiOo+DQn+E2TLErCFKEmSswv1plXUxMIY6LUBGGvHU6et"
    cores, memory = float(vms[vmid][9]), float(vms[vmid][10])
    mine = [r for r in readings if r[1] == vmid]
    series = usage[usage["id"] == vmid].set_index("t_s")
    assert len(series) == len({int(r[0]) // 300 for r in mine})
    for timestamp, _, _, _, avg in mine[::997]:
        assert series.loc[float(timestamp), "cpu_cores"] == pytest.approx(float(avg) / 100 * cores)
        assert series.loc[float(timestamp), "memory_gib"] == pytest.approx(0.5 * memory)
    assert usage["id"].nunique() == 20 == len({r[1] for r in readings})


def test_memory_used_fraction_is_an_option():
    path = sample("azure_v1_2017/vmtable.csv.gz")
    half = read_trace([path], "azure", ReaderOptions(azure_memory_used_fraction=0.5)).instances
    assert (half["memory_used_gib"] == 0.5 * half["memory_gib"]).all()
    assert any("50%" in note for note in read_trace([path], "azure", ReaderOptions(
        azure_memory_used_fraction=0.5)).notes)


def test_open_size_buckets_are_sized_at_the_next_azure_size(tmp_path):
    """V2's open buckets '>24' cores and '>64' GB become 32 cores and 128 GiB, noted."""
    path = write_lines(tmp_path / "vmtable.csv", [
        "aaaaaaaaaaaaaaaa,s,d,0,600,90,10,50,Interactive,>24,>64",
        "bbbbbbbbbbbbbbbb,s,d,300,900,90,10,50,Delay-insensitive,2,4",
    ])
    data = read_trace([path], "azure")
    big = data.instances.set_index("id").loc["aaaaaaaaaaaaaaaa"]
    assert (big["cpu_cores"], big["memory_gib"]) == (32.0, 128.0)
    assert any("open size bucket" in note for note in data.notes)


def test_bad_vmtable_rows_name_file_and_line_or_are_counted(tmp_path):
    """Strict: the bad rows are errors naming the file and line. Skip: counted by reason."""
    path = write_lines(tmp_path / "vmtable.csv", [
        "aaaaaaaaaaaaaaaa,s,d,0,600,90,10,50,Interactive,2,4",
        "bbbbbbbbbbbbbbbb,s,d,soon,900,90,10,50,Interactive,2,4",
        "cccccccccccccccc,s,d,900,300,90,10,50,Interactive,2,4",
        "dddddddddddddddd,s,d,0,600,90,10,50,Batch,2,4",
        "eeeeeeeeeeeeeeee,s,d,0,600,90,10,50,Interactive,2,4",
    ])
    with pytest.raises(InputError) as caught:
        read_trace([path], "azure")
    problems = caught.value.problems
    assert f"{path}: line 2: vmcreated is not a number (got 'soon')" in problems
    assert any(p.startswith(f"{path}: line 4: vmcategory must be one of") for p in problems)
    data = read_trace([path], "azure", ReaderOptions(on_bad_rows="skip"))
    assert sorted(data.instances["id"]) == ["aaaaaaaaaaaaaaaa", "eeeeeeeeeeeeeeee"]
    assert data.skipped == {"vmtable: vmcategory must be one of Delay-insensitive, Interactive, Unknown, Unkown": 1,
                            "vmtable: vmcreated is not a number": 1, "vmtable: vmdeleted is before vmcreated": 1}


def test_a_vm_listed_twice_is_a_bad_row(tmp_path):
    path = write_lines(tmp_path / "vmtable.csv", [
        "aaaaaaaaaaaaaaaa,s,d,0,600,90,10,50,Interactive,2,4",
        "aaaaaaaaaaaaaaaa,s,d,0,900,90,10,50,Interactive,2,4",
    ])
    with pytest.raises(InputError, match="line 2: vmid appears more than once"):
        read_trace([path], "azure")
    assert read_trace([path], "azure", ReaderOptions(on_bad_rows="skip")).instances["duration_s"].tolist() == [600.0]


def test_readings_without_a_vmtable_are_a_clear_error():
    path = sample("azure_v2_2019/vm_cpu_readings_20vms.csv.gz")
    with pytest.raises(InputError, match="no vmtable"):
        read_trace([path], "azure")


def test_the_v2_subsets_mean_cpu_is_calibrations_figure():
    """CALIBRATION.md: mean of per-VM average CPU 9.4 % over the 500 V2 VMs."""
    path = sample("azure_v2_2019/vmtable_subset_500vms.csv")
    inst = read_trace([path]).instances
    assert (inst["cpu_used"] / inst["cpu_cores"]).mean() == pytest.approx(0.094, abs=0.001)
    assert pd.Series(inst["cpu_used"] / inst["cpu_cores"]).median() == pytest.approx(0.069, abs=0.001)


@pytest.mark.parametrize("window", [(864000.0, 950400.0), (864150.0, 950400.0)])
def test_a_window_keeps_one_usage_sample_at_its_start(window):
    """Azure V2 readings every 300 s: a window opening on a reading kept it and also the
    reading before (both at t_s = 0 for each VM); one opening between two keeps the one
    before, the value in force. Either way each VM has one sample at t_s = 0, the one in
    force at the window's start, read here from the unwindowed series."""
    from simdc.workload.readers import Selection

    files = [str(sample("azure_v2_2019/vmtable_subset_20vms_longest.csv")),
             str(sample("azure_v2_2019/vm_cpu_readings_20vms.csv.gz"))]
    whole = read_trace(files, "azure")
    cut = read_trace(files, "azure", selection=Selection(window, None, None, 0))
    start = window[0]
    first = cut.usage[cut.usage["t_s"] == 0.0]
    assert first["id"].is_unique and set(first["id"]) == set(cut.usage["id"])
    submit = whole.instances.set_index("id")["submit_s"]
    for vm, row in first.set_index("id").iterrows():
        own = whole.usage[whole.usage["id"] == vm]
        at = own["t_s"] + submit[vm]  # its readings' times on the trace's clock
        in_force = own[at <= start].iloc[-1] if (at <= start).any() else own.iloc[0]
        assert row["cpu_cores"] == in_force["cpu_cores"], vm
