"""Header rows of trace tables (simdc/workload/readers/common.py: identify, header_columns):
a header that names the table's columns is read by those names, in any order; one naming
other columns is refused; a format whose files have a header refuses a file without one
rather than skip its first row of data. Expected values come from the raw rows, read here
by their header's names with the csv module."""

from __future__ import annotations

import csv
import gzip

import pytest
from typer.testing import CliRunner

from simdc.cli import app
from simdc.errors import InputError
from simdc.workload.readers import ReaderOptions, read_trace
from tests.workload.traces import lines, sample, write_lines

KIB_PER_GIB = 2**20
OPEN_BUCKETS = {">24": 32.0, ">64": 128.0}  # the reader's documented sizes of V2's open buckets


def by_name(path, delimiter=",") -> list[dict[str, str]]:
    """The rows of a CSV with a header, as {name: value}, names and values stripped."""
    rows = [[v.strip() for v in row] for row in csv.reader(lines(path), delimiter=delimiter) if row]
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def reordered(text: list[str], order: list[int], delimiter: str = ",") -> list[str]:
    """Every line of ``text`` (header included) with its fields in ``order``."""
    out = []
    for line in text:
        cells = line.split(delimiter)
        out.append(delimiter.join(cells[i] for i in order))
    return out


def write_in(folder, name: str, text: list[str]):
    folder.mkdir(parents=True, exist_ok=True)
    return write_lines(folder / name, text)


def swapped(n: int, a: int, b: int) -> list[int]:
    order = list(range(n))
    order[a], order[b] = b, a
    return order


V2 = "azure_v2_2019/vmtable_subset_20vms_longest.csv"


@pytest.mark.parametrize("how", ["sizes swapped", "reversed"])
def test_an_azure_vmtable_with_its_columns_in_another_order_is_read_by_its_header(tmp_path, how):
    """The V2 vmtable with vm_virtual_core_count_bucket and vm_memory_gb_bucket swapped
    (header too), or every column reversed: each VM's cores and GiB are its own buckets'
    bounds (azure_bucket_sizing = "upper"), by name from the raw rows. simdc read the
    swapped file by position (cores from the memory column) and could not tell what the
    reversed one was."""
    text = lines(sample(V2))
    names = text[0].split(",")
    order = (swapped(len(names), names.index("vm_virtual_core_count_bucket"), names.index("vm_memory_gb_bucket"))
             if how == "sizes swapped" else list(reversed(range(len(names)))))
    path = write_lines(tmp_path / "vmtable.csv", reordered(text, order))
    table = read_trace([path], "auto", ReaderOptions(azure_bucket_sizing="upper")).instances.set_index("id")
    rows = by_name(sample(V2))
    assert len(table) == len(rows) == 20
    for row in rows:
        vm = table.loc[row["vm_id"]]
        assert vm["cpu_cores"] == OPEN_BUCKETS.get(row["vm_virtual_core_count_bucket"],
                                                   float(row["vm_virtual_core_count_bucket"].lstrip(">")))
        assert vm["memory_gib"] == OPEN_BUCKETS.get(row["vm_memory_gb_bucket"],
                                                    float(row["vm_memory_gb_bucket"].lstrip(">")))
        assert vm["submit_s"] == float(row["timestamp_vm_created"])
        assert vm["cpu_used"] == pytest.approx(float(row["avg_cpu"]) / 100 * vm["cpu_cores"])


def test_a_bitbrains_file_with_its_memory_columns_swapped_is_read_by_its_header(tmp_path):
    """Bitbrains with 'Memory capacity provisioned [KB]' and 'Memory usage [KB]' swapped
    (header too): each VM is sized at the most provisioned memory, by name from the raw
    rows (simdc sized them at their most used memory: 32.6 GiB in all, not 55.2)."""
    folder = sample("bitbrains_rnd/2013-7")
    files = sorted(folder.glob("*.csv.gz"))[:5]
    want = {}
    for source in files:
        text = gzip.decompress(source.read_bytes()).decode().splitlines()
        names = [n.strip() for n in text[0].split(";")]
        order = swapped(len(names), names.index("Memory capacity provisioned [KB]"), names.index("Memory usage [KB]"))
        vm = source.name.split(".")[0]
        path = write_lines(tmp_path / f"{vm}.csv", reordered(text, order, ";"))
        provisioned = [float(r["Memory capacity provisioned [KB]"]) for r in by_name(path, ";")]
        want[vm] = max(provisioned) / KIB_PER_GIB
    table = read_trace([tmp_path], "bitbrains").instances.set_index("id")
    assert table["memory_gib"].to_dict() == pytest.approx(want)


def test_alibaba_2017_batch_tasks_are_read_by_the_schemas_names_in_any_order(tmp_path):
    """The published batch_task.csv has a header of cluster-trace-v2017/schema.csv's names;
    with its columns reversed the same tasks are read."""
    source = sample("alibaba_v2017/batch_task.csv")
    text = lines(source)[:2001]
    n = len(text[0].split(","))
    plain = read_trace([write_in(tmp_path / "a", "batch_task.csv", text)], "alibaba2017").instances
    turned = read_trace([write_in(tmp_path / "b", "batch_task.csv", reordered(text, list(reversed(range(n)))))],
                        "alibaba2017").instances
    assert len(plain) > 0
    assert turned.equals(plain)


def test_a_header_naming_other_columns_is_refused_with_the_names_expected_and_found(tmp_path):
    """A header that is no vmtable's (a column renamed 'memory') cannot say which column is
    which: one error naming the file, the expected names and the ones found, exit 2
    (simdc read it by position)."""
    text = lines(sample(V2))
    text[0] = text[0].replace("vm_memory_gb_bucket", "memory")
    path = write_lines(tmp_path / "vmtable.csv", text)
    for fmt in ("auto", "azure"):
        with pytest.raises(InputError) as caught:
            read_trace([path], fmt)
        (problem,) = caught.value.problems
        assert problem.startswith(f"{path}: line 1: a header whose names are not those of azure vmtable")
        assert "expected vmid, subscriptionid" in problem and "found vm_id, subscription_id" in problem
        assert "not known: memory, duration; missing: vmmemory" in problem
    result = CliRunner().invoke(app, ["trace", "inspect", str(path), "--format", "azure"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_headerless_tables_are_still_read_by_position(tmp_path):
    """Azure V1 and Google 2011 files as published have no header: read by position."""
    vmtable = sample("azure_v1_2017/vmtable.csv.gz")
    assert len(read_trace([vmtable], "azure").instances) == len(lines(vmtable)) == 10
    events = lines(sample("google_2011/task_events-part-00000-of-00500.csv.gz"))[300000:302000]
    named = ("time,missing_info,job_id,task_index,machine_id,event_type,user,scheduling_class,priority,"
             "cpu_request,memory_request,disk_space_request,different_machines_restriction")
    bare = read_trace([write_in(tmp_path / "a", "task_events.csv", events)], "google").instances
    headed = read_trace([write_in(tmp_path / "b", "task_events.csv", [named] + events)], "google").instances
    assert len(bare) > 0 and headed.equals(bare)


def test_a_bitbrains_file_without_its_header_is_refused_not_read_a_row_short(tmp_path):
    """Bitbrains files have a header; one without it, given as format bitbrains, is
    refused at line 1 (exit 2), as it is without the format. simdc skipped its first
    line, a row of data, unchecked: every VM 300 s shorter, 19 usage rows fewer of 20 files."""
    source = sorted(sample("bitbrains_rnd/2013-7").glob("*.csv.gz"))[0]
    text = gzip.decompress(source.read_bytes()).decode().splitlines()
    path = write_lines(tmp_path / "1.csv", text[1:])
    with pytest.raises(InputError) as caught:
        read_trace([tmp_path], "bitbrains")
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path}: line 1: expected the bitbrains vm header 'Timestamp [ms];CPU cores;")
    assert "the file has no header line" in problem
    with pytest.raises(InputError, match="cannot tell which trace table"):
        read_trace([tmp_path], "auto")
    result = CliRunner().invoke(app, ["trace", "inspect", str(tmp_path), "--format", "bitbrains", "--json"])
    assert result.exit_code == 2 and "expected the bitbrains vm header" in result.output


def test_a_cloudsimpy_jobs_file_without_its_header_is_refused_at_line_1(tmp_path):
    """CloudSimPy's jobs.csv has pandas' header; without it, given the format, line 1 is
    named as a row of data, not left as "cannot tell which cloudsimpy table"."""
    path = write_lines(tmp_path / "jobs.csv", ["0,539,116.3,1.0,0.0054,1,1,3,0", "1,540,10.0,1.0,0.0054,1,2,2,0"])
    with pytest.raises(InputError) as caught:
        read_trace([path], "cloudsimpy")
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path}: line 1: expected the cloudsimpy jobs header ',submit_time,duration,")


def test_a_simdc_usage_table_lacking_a_column_names_it(tmp_path):
    """A usage file of simdc's format without memory_gib was 'cannot tell which trace
    table this is; give the format', with the format given: now the column it lacks."""
    from simdc.errors import InputError
    from simdc.workload.readers import read_trace

    (tmp_path / "t.csv").write_text("id,submit_s,duration_s,cpu_cores,memory_gib\na,0,100,1,1\n")
    (tmp_path / "u.csv").write_text("id,t_s,cpu_cores\na,0,0.5\n")
    with pytest.raises(InputError, match=r"u\.csv: line 1: simdc's usage table needs the columns id, t_s, cpu_cores, "
                                         r"memory_gib; this header lacks memory_gib"):
        read_trace([tmp_path / "t.csv", tmp_path / "u.csv"], "simdc")


def test_a_usage_that_is_the_trace_itself_is_refused(tmp_path):
    """workload.usage naming the trace file was read as the trace alone: no usage, no word."""
    from simdc.config import validate
    from simdc.errors import ConfigError

    (tmp_path / "t.csv").write_text("id,submit_s,duration_s,cpu_cores,memory_gib\na,0,100,1,1\n")
    raw = {"simulation": {"duration_s": 600}, "host": {"cpu_cores": 8, "memory_gib": 16},
           "workload": {"trace": str(tmp_path / "t.csv"), "usage": str(tmp_path / "." / "t.csv")}}
    with pytest.raises(ConfigError, match="usage is the trace file itself"):
        validate(raw)
