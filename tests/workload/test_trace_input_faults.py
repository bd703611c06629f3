"""Trace input faults a new user met, each refused or named instead of read silently:
a usage table whose ids match no instance, a stale usage file left by convert, OpenDC
memory in a smaller unit than read, a time window outside the data, integer ids and
times a spreadsheet saved in float notation, and a file separated by ';' or tabs.
Expected values are computed here from the rows written, not by the readers."""

from __future__ import annotations

import csv
import gzip

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings, strategies as st
from typer.testing import CliRunner

from simdc.cli import app
from simdc.errors import InputError
from simdc.workload.readers import ReaderOptions, Selection, read_trace
from tests.workload.traces import sample, write_lines


def _own(path, submits, durations):
    rows = [f"{k},{s},{d},1,1" for k, (s, d) in enumerate(zip(submits, durations))]
    return write_lines(path, ["id,submit_s,duration_s,cpu_cores,memory_gib"] + rows)


# --- a time window outside the data -------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5000), st.integers(1, 3000)), min_size=1, max_size=10),
       st.integers(1, 10_000), st.integers(1, 10_000))
def test_a_time_window_keeping_no_instance_is_an_error_naming_the_span(tmp_path_factory, rows, gap, width):
    """A window starting after the last end (or ending before the first submit) is an
    error naming the key, the window and the data's span; a window overlapping an
    instance keeps exactly the instances alive in it."""
    submits, durations = [s for s, _ in rows], [d for _, d in rows]
    path = _own(tmp_path_factory.mktemp("w") / "t.csv", submits, durations)
    first, last = min(submits), max(s + d for s, d in rows)
    for window in ((last + gap, last + gap + width), (-gap - width, min(-gap, first)) if first == 0 else
                   (first - min(gap, first), first)):
        with pytest.raises(InputError) as err:
            read_trace([path], "simdc", selection=Selection(time_window_s=window))
        text = str(err.value)
        assert "workload.time_window_s" in text and f"{window[0]:g}" in text
        assert f"the data spans [{first:,.0f}, {last:,.0f}] s" in text
    alive = sum(1 for s, d in rows if s < first + 1 and s + d > first)
    assert len(read_trace([path], "simdc", selection=Selection(time_window_s=(first, first + 1))).instances) == alive


def test_run_with_a_window_after_the_data_exits_2(tmp_path, write_config):
    path = _own(tmp_path / "t.csv", [0, 10], [100, 200])
    config = write_config({"workload": {"trace": str(path), "time_window_s": [1e9, 2e9]}})
    result = CliRunner().invoke(app, ["run", str(config), "--no-write"])
    assert result.exit_code == 2
    assert "[1e+09, 2e+09)" in result.stderr and "[0, 210] s" in result.stderr


# --- usage tables that match no instance; stale usage files ----------------------------------


@pytest.mark.parametrize("known", [0, 2, 5])
def test_usage_ids_not_in_the_workload_are_named(tmp_path, known):
    """5 instances; usage for ``known`` of them and for 3 others: the unknown ids and the
    instances without readings are counted in the notes; none matching says so."""
    path = _own(tmp_path / "t.csv", [0, 1, 2, 3, 4], [10] * 5)
    ids = list(range(known)) + [100, 101, 102]
    usage = pd.DataFrame({"id": ids, "t_s": 0.0, "cpu_cores": 0.5, "memory_gib": 0.5})
    usage.to_csv(tmp_path / "t.usage.csv", index=False)
    data = read_trace([path, tmp_path / "t.usage.csv"], "simdc")
    notes = " | ".join(data.notes)
    if known == 0:
        assert "no usage readings" in notes and "(0 of 3 ids)" in notes and data.usage is None
    else:
        assert "usage readings for 3 ids not in" in notes
        without = 5 - known
        assert (f"{without:,} of 5 instances have no usage readings" in notes) == (without > 0)
        assert set(data.usage["id"]) >= set(range(known))


def test_convert_overwrite_without_usage_removes_the_old_usage_file(tmp_path):
    runner = CliRunner()
    azure = sample("azure_v2_2019")
    to = tmp_path / "az.parquet"
    first = runner.invoke(app, ["trace", "convert", str(azure / "vmtable_subset_20vms_longest.csv"),
                                str(azure / "vm_cpu_readings_20vms.csv.gz"), "--to", str(to)])
    assert first.exit_code == 0 and (tmp_path / "az.usage.parquet").exists()
    refused = runner.invoke(app, ["trace", "convert", str(azure / "vmtable_subset_500vms.csv"), "--to", str(to)])
    assert refused.exit_code == 2 and (tmp_path / "az.usage.parquet").exists()
    again = runner.invoke(app, ["trace", "convert", str(azure / "vmtable_subset_500vms.csv"), "--to", str(to),
                                "--overwrite"])
    assert again.exit_code == 0, again.output
    assert not (tmp_path / "az.usage.parquet").exists() and "removed" in again.stderr
    assert len(pd.read_parquet(to)) == sum(1 for _ in open(azure / "vmtable_subset_500vms.csv")) - 1


# --- OpenDC memory in a smaller unit than read ---------------------------------------------------


@settings(max_examples=10, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([1, 2, 4, 8, 16]), st.floats(0.01, 200.0)), min_size=1, max_size=8),
       st.sampled_from(["MB", "KB", None]))
def test_opendc_sizes_beyond_any_machine_are_named(tmp_path_factory, tasks, unit):
    """Tasks of ``cores`` cores and ``gib_per_core`` GiB per core written in KB: a warning
    names tasks.parquet and the option exactly when the median per core as read (KB
    read as MB: 1024 times) is above 64 GiB."""
    folder = tmp_path_factory.mktemp("odc")
    cores = np.array([c for c, _ in tasks])
    kb = np.array([max(1, int(round(c * g * 2**20))) for c, g in tasks], dtype=np.int64)
    pq.write_table(pa.table({"id": pa.array(range(len(tasks)), pa.int32()),
                             "submission_time": pa.array([1_000_000] * len(tasks), pa.int64()),
                             "duration": pa.array([60_000] * len(tasks), pa.int64()),
                             "cpu_count": pa.array(cores, pa.int32()), "cpu_capacity": cores * 2000.0,
                             "mem_capacity": kb}), folder / "tasks.parquet")
    data = read_trace([folder], "opendc", ReaderOptions(opendc_memory_unit=unit))
    per_core_gib = np.median(kb / (2**20 if unit == "KB" else 2**10) / cores)
    warned = [n for n in data.notes if n.startswith("warning:")]
    assert bool(warned) == (per_core_gib > 64)
    if warned:
        assert str(folder / "tasks.parquet") in warned[0]
        assert ('opendc_memory_unit = "KB"' in warned[0]) == (unit != "KB")


# --- integers saved in float notation; other separators -----------------------------------------


def _excel(value: str) -> str:
    """What a spreadsheet's CSV save makes of a long integer: 6 significant digits."""
    return f"{float(value):.5E}" if len(value) >= 12 else value


def test_google2019_times_and_ids_in_float_notation_are_refused(tmp_path):
    rows = list(csv.reader(open(sample("google2019_instance_events_ep1dsid/instance-sample.csv"))))
    mangled = [rows[0]] + [[_excel(r[0]), r[1], _excel(r[2])] + r[3:] for r in rows[1:]]
    path = tmp_path / "instance-sample.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows(mangled)
    first = next(i for i, r in enumerate(rows[1:], start=1) if len(r[0]) >= 12)  # data row of the first long time
    with pytest.raises(InputError) as err:
        read_trace([path], "auto")
    # named by its line: the header is line 1, data row k is line k + 1
    assert err.value.problems[0].startswith(f"{path}: line {first + 1}: time is in float notation")
    assert f"(got '{_excel(rows[first][0])}')" in err.value.problems[0]


@pytest.mark.parametrize("fmt, relative, column", [
    ("azure", "azure_v2_2019/vmtable_subset_20vms_longest.csv", 3),
    ("alibaba2017", "alibaba_v2017/batch_task.csv", 0),
])
def test_integer_columns_in_float_notation_are_refused_by_line(tmp_path, fmt, relative, column):
    text = open(sample(relative)).read().splitlines()
    header = 1 if not text[0].split(",")[column].strip().lstrip("-").isdigit() else 0
    line = header + 3  # the third data line
    fields = text[line - 1].split(",")
    fields[column] = f"{float(fields[column]):.2E}"
    text[line - 1] = ",".join(fields)
    path = write_lines(tmp_path / sample(relative).name, text[:line + 5])
    with pytest.raises(InputError) as err:
        read_trace([path], fmt)
    assert f"{path}: line {line}: " in err.value.problems[0] and "float notation" in err.value.problems[0]


def test_own_format_ids_in_float_notation_are_refused(tmp_path):
    path = write_lines(tmp_path / "t.csv", ["id,submit_s,duration_s,cpu_cores,memory_gib", "7,0,10,1,1",
                                            "2.60385E+11,1,10,1,1"])
    with pytest.raises(InputError) as err:
        read_trace([path], "simdc")
    assert err.value.problems[0] == (f"{path}: line 3: id is in float notation, expected an integer as the trace "
                                     "records it (a spreadsheet's save?) (got '2.60385E+11')")


@pytest.mark.parametrize("separator, named", [(";", "';'"), ("\t", "a tab")])
def test_a_file_of_another_separator_is_named(tmp_path, separator, named):
    text = open(sample("azure_v2_2019/vmtable_subset_20vms_longest.csv")).read().replace(",", separator)
    path = tmp_path / "vmtable.csv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_trace([path], "azure")
    assert any(p.startswith(f"{path}: every line reported holds {named}: the file looks separated by {named}")
               for p in err.value.problems)
    # one line of the right separator among them: no such claim
    lines = text.splitlines()
    lines[2] = lines[2].replace(separator, ",")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as err:
        read_trace([path], "azure")
    assert not any("every line reported" in p for p in err.value.problems)


def test_generate_no_usage_over_an_output_with_usage_removes_it(tmp_path):
    import tomli_w

    from tests.conftest import MINIMAL

    config = tmp_path / "synthetic.toml"
    config.write_text(tomli_w.dumps(MINIMAL))
    runner, to = CliRunner(), tmp_path / "g.csv"
    first = runner.invoke(app, ["trace", "generate", str(config), "--to", str(to)])
    assert first.exit_code == 0, first.output
    if not (tmp_path / "g.usage.csv").exists():
        pytest.skip("MINIMAL's synthetic workload has no usage variation")
    (tmp_path / "g.csv").unlink()  # only the usage file left: still refused without --overwrite
    refused = runner.invoke(app, ["trace", "generate", str(config), "--to", str(to), "--no-usage"])
    assert refused.exit_code == 2 and "g.usage.csv" in refused.stderr
    again = runner.invoke(app, ["trace", "generate", str(config), "--to", str(to), "--no-usage", "--overwrite"])
    assert again.exit_code == 0 and to.exists() and not (tmp_path / "g.usage.csv").exists()


def test_own_format_text_ids_like_hex_stay_ids(tmp_path):
    """"12e4" may be a hex id: only a signed exponent (a spreadsheet's form) is refused."""
    path = write_lines(tmp_path / "t.csv", ["id,submit_s,duration_s,cpu_cores,memory_gib", "12e4,0,10,1,1",
                                            "ab,1,10,1,1"])
    assert sorted(read_trace([path], "simdc").instances["id"].astype(str)) == ["12e4", "ab"]


def _european(rows: list[list[str]]) -> str:
    """Rows as a spreadsheet in a European locale saves "CSV": ';' between fields, decimal commas."""
    def value(v: str) -> str:
        try:
            float(v)
        except ValueError:
            return v
        return v.replace(".", ",")
    return "".join(";".join(value(v) for v in row) + "\n" for row in rows)


def test_a_european_export_with_decimal_commas_is_named_once(tmp_path):
    rows = list(csv.reader(open(sample("azure_v2_2019/vmtable_subset_20vms_longest.csv"))))
    path = tmp_path / "euro.csv"
    path.write_text(_european(rows))
    n = len(rows[0])  # the fields of each line, split on ';'; some of them hold decimal commas
    assert any(len(r) == n and any("," in v for v in r) for r in csv.reader(open(path), delimiter=";"))
    with pytest.raises(InputError) as err:
        read_trace([path], "azure")
    hints = [p for p in err.value.problems if "looks separated by" in p]
    assert len(hints) == 1 and hints[0].startswith(f"{path}: every line reported holds ';'")
    assert "decimal commas" in hints[0]
    # without a format: the table is named from the header split on ';'
    result = CliRunner().invoke(app, ["trace", "inspect", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    said = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert "cannot tell which trace table" in said[0]
    assert said[1].startswith(f"error: {path}: its first line splits on ';' into the {n} columns of azure vmtable "
                              "(with decimal commas")
    assert len(said) == 2


def test_a_semicolon_inside_a_value_is_no_separator_hint(tmp_path):
    """';' in a line that does not split on it into the expected fields claims nothing."""
    rows = list(csv.reader(open(sample("azure_v2_2019/vmtable_subset_20vms_longest.csv"))))
    rows[3][8] = "Delay;insensitive"
    rows[3] = rows[3][:5] + [rows[3][5] + ";" + rows[3][6]] + rows[3][7:]  # 10 fields, one holding ';'
    path = tmp_path / "v.csv"
    path.write_text("".join(",".join(r) + "\n" for r in rows))
    with pytest.raises(InputError) as err:
        read_trace([path], "azure")
    assert not any("looks separated by" in p for p in err.value.problems)
    path.write_text("header;of;nothing\n1;2;3\n")
    with pytest.raises(InputError) as err:
        read_trace([path])
    assert len(err.value.problems) == 1


@pytest.mark.parametrize("keep", [1, 4, 7, 10])
def test_a_bitbrains_row_cut_short_is_no_separator_hint(tmp_path, keep):
    """Bitbrains separates its values by ';' and a tab, so a row cut short splits on the
    tab into as few fields as on ';': the tab explains nothing, and the one problem is
    the row's field count."""
    lines = gzip.decompress(sample("bitbrains_rnd/2013-7/1.csv.gz").read_bytes()).decode().splitlines()[:12]
    fields = lines[5].split(";")
    lines[5] = ";".join(fields[:keep])
    path = tmp_path / "1.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as err:
        read_trace([path], "bitbrains")
    problems = [p for p in err.value.problems if "on_bad_rows" not in p]  # and the hint to skip
    assert problems == [f"{path}: line 6: expected {len(fields)} fields, got {keep}"]
