"""An integer written as a decimal ("123.0", as pandas saves an integer column with a gap
in it) is the integer it shows, in every reader: the same instances, ids and times as the
file written plainly, read exactly at any size, and said in the notes (file, line, column).
Unlike the exponent form ("1.2E+05", refused), it keeps every digit."""

from __future__ import annotations

import functools

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simdc.workload.readers import read_trace

from .traces import lines, sample, write_lines

# (format, sample, file name, header lines, integer columns that carry ids or times)
FORMATS = {
    "google": ("google_2011/task_events-part-00000-of-00500.csv.gz", "task_events-part-00000-of-00500.csv", 0,
               {0: "time", 2: "job_id", 3: "task_index"}),
    "google2019": ("google2019_instance_events_ep1dsid/instance-sample.csv", "instance-sample.csv", 1,  # 999 rows
                   {0: "time", 2: "collection_id", 4: "instance_index"}),
    "alibaba2017": ("alibaba_v2017/batch_task.csv", "batch_task.csv", 1,
                    {0: "create_timestamp", 2: "job_id", 3: "task_id"}),
    "azure": ("azure_v2_2019/vmtable_subset_20vms_longest.csv", "vmtable.csv", 1, {3: "vmcreated"}),
}
ROWS = 1000  # all of google2019's sample (its first rows make no instance)


@functools.cache
def _rows(fmt: str) -> tuple[str, ...]:
    """A few hundred lines of the sample that make instances: Google 2011's events of the
    first jobs with a task that finished (event type 4), else the first lines."""
    relative, _, header, _ = FORMATS[fmt]
    text = lines(sample(relative))
    if fmt != "google":
        return tuple(text[: header + ROWS])
    jobs: list[str] = []
    for line in text:
        fields = line.split(",")
        if fields[5] == "4" and fields[2] not in jobs:
            jobs.append(fields[2])
            if len(jobs) == 8:
                break
    return tuple(line for line in text if line.split(",")[2] in jobs)


def _read(path, fmt):
    data = read_trace([path], fmt)
    return data.instances.reset_index(drop=True), data.notes


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(sorted(FORMATS)), data=st.data())
def test_integers_written_as_decimals_are_the_same_instances_and_are_noted(fmt, data, tmp_path_factory):
    relative, name, header, columns = FORMATS[fmt]
    text = list(_rows(fmt))
    folder = tmp_path_factory.mktemp(fmt)
    (folder / "plain").mkdir()
    plain = write_lines(folder / "plain" / name, text)
    column = data.draw(st.sampled_from(sorted(columns)), label="column")
    rows = data.draw(st.sets(st.integers(header, len(text) - 1), min_size=1, max_size=20), label="rows")
    zeros = data.draw(st.integers(1, 3), label="zeros")
    mangled = list(text)
    for r in sorted(rows):
        fields = mangled[r].split(",")
        if fields[column].strip():
            fields[column] = fields[column].strip() + "." + "0" * zeros
        mangled[r] = ",".join(fields)
    (folder / "mangled").mkdir()
    path = write_lines(folder / "mangled" / name, mangled)
    want, _ = _read(plain, fmt)
    got, notes = _read(path, fmt)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    changed = [r for r in sorted(rows) if mangled[r] != text[r]]
    said = [note for note in notes if "written as a decimal" in note]
    if changed:
        first = changed[0] + 1  # the file's line
        assert len(said) == 1 and said[0].startswith(f"{path}: ") and f" {columns[column]} written as a decimal" \
            in said[0], notes
        if fmt != "google2019":  # (its reader names data rows, not lines)
            assert said[0].startswith(f"{path}: line {first}: "), said
        assert f"in {len(changed):,} row" in said[0]
    else:
        assert not said


@pytest.mark.parametrize("written", ["9007199254740993.0", "9007199254740993.000", "+9007199254740993."])
def test_a_large_integer_written_as_a_decimal_is_read_exactly(tmp_path, written):
    """2**53 + 1 does not survive a float: read from its text, it is the integer shown,
    and a duplicate of the same id written plainly."""
    path = write_lines(tmp_path / "t.csv", ["id,submit_s,duration_s,cpu_cores,memory_gib", "7,0,10,1,1",
                                            f"{written},1,10,1,1"])
    data = read_trace([path], "simdc")
    assert sorted(data.instances["id"].tolist()) == [7, 2**53 + 1]
    assert any(note.startswith(f"{path}: line 3: id written as a decimal") for note in data.notes)
    twice = write_lines(tmp_path / "twice.csv", ["id,submit_s,duration_s,cpu_cores,memory_gib",
                                                 "9007199254740993,0,10,1,1", f"{written},1,10,1,1"])
    with pytest.raises(Exception, match=r"line 3: id appears more than once"):
        read_trace([twice], "simdc")


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=st.lists(st.integers(-(2**53), 2**53), min_size=1, max_size=8, unique=True))
def test_integer_ids_stored_as_floats_in_parquet_are_those_integers_and_noted(ids, tmp_path_factory):
    """pandas stores an integer column with a gap as floats: simdc's own Parquet with its
    ids so stored reads them as the integers, as the same file with int64 ids does."""
    folder = tmp_path_factory.mktemp("own")
    n = len(ids)
    table = {"submit_s": [float(k) for k in range(n)], "duration_s": [10.0] * n, "cpu_cores": [1.0] * n,
             "memory_gib": [1.0] * n}
    pd.DataFrame({"id": [float(i) for i in ids], **table}).to_parquet(folder / "floats.parquet")
    pd.DataFrame({"id": ids, **table}).to_parquet(folder / "ints.parquet")
    floats, ints = read_trace([folder / "floats.parquet"], "simdc"), read_trace([folder / "ints.parquet"], "simdc")
    pd.testing.assert_frame_equal(floats.instances, ints.instances, check_exact=True)
    said = [note for note in floats.notes if "written as a decimal" in note]
    assert len(said) == 1 and said[0].startswith(f"{folder / 'floats.parquet'}: row 1: id "), said
    assert f"in {n:,} row" in said[0]
    assert not any("written as a decimal" in note for note in ints.notes)
