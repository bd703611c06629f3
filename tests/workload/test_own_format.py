"""simdc's own workload format (simdc/workload/own.py): values, defaults, and errors that
name the file and the CSV line (the header is line 1)."""

from __future__ import annotations

import string
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from simdc.errors import InputError
from simdc.workload import COLUMNS, own
from simdc.workload.readers.common import SKIP_HINT

HEADER = "id,submit_s,duration_s,cpu_cores,memory_gib"


def write(tmp_path: Path, text: str, name: str = "trace.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(path: Path) -> list[str]:
    """The problems reported for ``path``, without the closing hint on how to skip bad rows."""
    with pytest.raises(InputError) as caught:
        own.read(path)
    return [p for p in caught.value.problems if p != SKIP_HINT]


def test_csv_values_and_defaults_are_read():
    """Given values are kept, sorted by submit_s; cpu_used defaults to cpu_cores,
    memory_used_gib to memory_gib, kind to service, image to "" and priority to 0."""
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp), "\n".join([
            "id,submit_s,duration_s,cpu_cores,memory_gib,cpu_used,memory_used_gib,kind,image,priority",
            "7,50,10,2,4,0.5,1.5,batch,nginx:1.25,3",
            "8,0,20.5,1,2,,,,,",
            "9,25,30,4,8,,3,service,,-1",
        ]) + "\n")
        table = own.read(path).instances

    assert list(table.columns) == list(COLUMNS)
    assert table["id"].tolist() == [8, 9, 7]
    assert table["id"].dtype == np.int64
    assert table["submit_s"].tolist() == [0.0, 25.0, 50.0]
    assert table["duration_s"].tolist() == [20.5, 30.0, 10.0]
    assert table["cpu_cores"].tolist() == [1.0, 4.0, 2.0]
    assert table["memory_gib"].tolist() == [2.0, 8.0, 4.0]
    assert table["cpu_used"].tolist() == [1.0, 4.0, 0.5]
    assert table["memory_used_gib"].tolist() == [2.0, 3.0, 1.5]
    assert table["kind"].astype(str).tolist() == ["service", "service", "batch"]
    assert table["image"].tolist() == ["", "", "nginx:1.25"]
    assert table["priority"].tolist() == [0, -1, 3]


def test_csv_with_only_required_columns_gets_every_column(tmp_path):
    """A file with the five required columns reads into the full canonical table, and
    string ids stay strings."""
    path = write(tmp_path, f"{HEADER}\nweb-1,0,60,2,4\nweb-2,1,60,1,1\n")
    table = own.read(path).instances
    assert list(table.columns) == list(COLUMNS)
    assert table["id"].tolist() == ["web-1", "web-2"]
    assert table["cpu_used"].tolist() == [2.0, 1.0]
    assert table["memory_used_gib"].tolist() == [4.0, 1.0]
    assert set(table["kind"].astype(str)) == {"service"}
    assert (table["priority"] == 0).all()


@pytest.mark.parametrize(("row", "fragments"), [
    ("b,soon,20,1,2", ["submit_s", "not a number", "'soon'"]),
    ("b,5,-20,1,2", ["duration_s", "> 0", "-20"]),
    ("b,5,0,1,2", ["duration_s", "> 0"]),
    ("b,-1,20,1,2", ["submit_s", ">= 0"]),
    ("b,5,20,1,", ["memory_gib", "empty"]),
    ("b,5,,1,2", ["duration_s", "empty"]),
    ("b,5,20,0,2", ["cpu_cores", "> 0"]),
    ("b,5,inf,1,2", ["duration_s", "finite"]),
    ("a,5,20,1,2", ["id", "more than once", "'a'"]),
    (",5,20,1,2", ["id", "empty"]),
], ids=["not-a-number", "negative-duration", "zero-duration", "negative-submit", "empty-memory",
        "empty-duration", "zero-cpu", "infinite-duration", "duplicate-id", "empty-id"])
def test_bad_value_is_reported_with_file_and_line(tmp_path, row, fragments):
    """One bad value in the fourth line of the file gives one problem naming the file,
    ``line 4`` and the column."""
    path = write(tmp_path, f"{HEADER}\na,0,10,2,4\nc,1,10,2,4\n{row}\nd,9,10,2,4\n")
    found = problems(path)
    assert len(found) == 1, found
    assert found[0].startswith(f"{path}: line 4: ")
    for fragment in fragments:
        assert fragment in found[0]


def test_bad_kind_is_reported_with_file_and_line(tmp_path):
    """kind is service or batch; anything else names line and value."""
    path = write(tmp_path, f"{HEADER},kind\na,0,10,2,4,batch\nb,1,10,2,4,vm\n")
    found = problems(path)
    assert len(found) == 1
    assert found[0].startswith(f"{path}: line 3: kind")
    assert "'vm'" in found[0] and "service" in found[0]


def test_non_integer_priority_is_reported(tmp_path):
    """priority is an integer: 1.5 is an error, not rounded."""
    path = write(tmp_path, f"{HEADER},priority\na,0,10,2,4,1.5\n")
    assert problems(path) == [f"{path}: line 2: priority must be an integer (got '1.5')"]


def test_unknown_column_is_reported_with_a_suggestion(tmp_path):
    """A misspelt column names the file and suggests the nearest real column."""
    path = write(tmp_path, f"{HEADER},memroy_used_gib\na,0,10,2,4,1\n")
    found = problems(path)
    assert len(found) == 1
    assert found[0].startswith(f"{path}: ")
    assert "'memroy_used_gib'" in found[0] and "'memory_used_gib'" in found[0]


def test_missing_required_column_is_reported(tmp_path):
    """Every missing required column is named, and the file with them."""
    path = write(tmp_path, "id,submit_s,cpu_cores\na,0,2\n")
    found = problems(path)
    assert len(found) == 1
    assert found[0].startswith(f"{path}: ")
    assert "duration_s" in found[0] and "memory_gib" in found[0]
    assert "cpu_cores" not in found[0]


def test_several_bad_rows_are_each_reported(tmp_path):
    """Problems in different lines are reported together, one line each, in file order."""
    path = write(tmp_path, f"{HEADER}\na,0,10,2,4\nb,x,10,2,4\nc,1,-5,2,4\nd,2,10,2,4\n")
    found = problems(path)
    assert any(p.startswith(f"{path}: line 3: submit_s") for p in found)
    assert any(p.startswith(f"{path}: line 4: duration_s") for p in found)
    assert len(found) == 2


def test_line_numbers_count_blank_lines(tmp_path):
    """The line named is the line in the file: blank lines are skipped but counted; a
    line of spaces is a row of one field, reported as such."""
    path = write(tmp_path, f'{HEADER}\na,0,1,1,1\n\n   \nb,x,1,1,1\nc,"1",-1,1,1\n\nd,0,1,1,\n')
    found = problems(path)
    assert sorted(found) == sorted([
        f"{path}: line 4: expected 5 fields, got 1",
        f"{path}: line 5: submit_s is not a number (got 'x')",
        f"{path}: line 6: duration_s must be > 0 (got -1)",
        f"{path}: line 8: memory_gib is empty",
    ])


def test_gzipped_csv_is_read_and_its_errors_name_the_line(tmp_path):
    """.csv.gz reads like .csv, and its problems name the line in the decompressed file."""
    import gzip

    path = tmp_path / "trace.csv.gz"
    with gzip.open(path, "wt") as file:
        file.write(f"{HEADER}\na,0,10,2,4\n\nb,1,20,1,2\n")
    table = own.read(path).instances
    assert table["id"].tolist() == ["a", "b"] and table["duration_s"].tolist() == [10.0, 20.0]
    with gzip.open(path, "wt") as file:
        file.write(f"{HEADER}\na,0,10,2,4\n\nb,1,-20,1,2\n")
    assert problems(path) == [f"{path}: line 4: duration_s must be > 0 (got -20)"]


def test_row_with_more_fields_than_the_header_is_an_error(tmp_path):
    """A data row with an extra field is reported, never read with its values shifted
    one column along (pandas would silently take the first field as an index)."""
    path = write(tmp_path, f"{HEADER}\na,0,10,2,4,99\nb,1,10,2,4\n")
    found = problems(path)
    assert len(found) == 1
    assert found[0].startswith(f"{path}: line 2: ") and "expected 5 fields, got 6" in found[0], found


def test_trailing_separator_on_every_row_is_an_error(tmp_path):
    """Rows ending in a stray comma are longer than the header: each is an error, not a shift."""
    path = write(tmp_path, f"{HEADER}\na,0,10,2,4,\nb,1,10,2,4,\n")
    assert problems(path) == [f"{path}: line {n}: expected 5 fields, got 6" for n in (2, 3)]


def test_ids_equal_as_integers_are_duplicates(tmp_path):
    """Integer ids are read as integers, so '1' and '1.0' (or '01') are the same id."""
    path = write(tmp_path, f"{HEADER}\n1,0,10,2,4\n1.0,1,10,2,4\n")
    found = problems(path)
    assert len(found) == 1 and found[0].startswith(f"{path}: line 3: id")


def test_non_finite_usage_is_an_error(tmp_path):
    """cpu_used and memory_used_gib must be finite, like the sizes they come from."""
    path = write(tmp_path, f"{HEADER},cpu_used,memory_used_gib\na,0,10,2,4,inf,1\nb,0,10,2,4,1,-inf\n")
    found = problems(path)
    assert any(p.startswith(f"{path}: line 2: cpu_used") for p in found)
    assert any(p.startswith(f"{path}: line 3: memory_used_gib") for p in found)


def test_missing_file_is_reported(tmp_path):
    """A workload path that does not exist names the path."""
    path = tmp_path / "absent.csv"
    assert problems(path) == [f"{path}: workload file not found"]


def test_file_with_header_only_is_reported(tmp_path):
    """An empty table is an error: a run with no instances is a mistake, not a result."""
    path = write(tmp_path, HEADER + "\n")
    found = problems(path)
    assert len(found) == 1 and "no instances" in found[0]


def test_parquet_round_trip_keeps_every_value(tmp_path):
    """own.write to Parquet then own.read gives back the same table, dtypes included."""
    source = write(tmp_path, "\n".join([
        "id,submit_s,duration_s,cpu_cores,memory_gib,cpu_used,memory_used_gib,kind,image,priority",
        "web-1,0,10,2,4,0.5,1.5,batch,nginx,3",
        "web-2,0.25,20,1,2,,,,,",
        "web-3,7.125,1e5,8,56,8,0,service,redis:7,-2",
    ]) + "\n")
    table = own.read(source).instances
    again = own.read(own.write(table, tmp_path / "trace.parquet")).instances
    assert_frame_equal(again, table)
    csv_again = own.read(own.write(table, tmp_path / "again.csv")).instances
    assert_frame_equal(csv_again, table)


def test_parquet_errors_name_the_row(tmp_path):
    """A bad Parquet row is named by its 1-based row number (Parquet has no lines)."""
    path = tmp_path / "bad.parquet"
    pd.DataFrame({"id": [1, 2], "submit_s": [0.0, 1.0], "duration_s": [10.0, -1.0],
                  "cpu_cores": [1.0, 1.0], "memory_gib": [1.0, 1.0]}).to_parquet(path)
    found = problems(path)
    assert len(found) == 1 and found[0].startswith(f"{path}: row 2: duration_s")


# --- property: a corrupted cell is read or reported, nothing else ---------------------

ROWS = 6
VALID_ROWS = [
    {"id": i, "submit_s": 10.0 * i, "duration_s": 100.0 + i, "cpu_cores": 1 + i % 4,
     "memory_gib": 0.5 * (1 + i), "cpu_used": 0.5, "memory_used_gib": 0.25 * (1 + i),
     "kind": ("service", "batch")[i % 2], "image": f"img{i}", "priority": i % 3}
    for i in range(ROWS)
]
CELL_TEXT = st.one_of(
    st.text(alphabet=string.printable, max_size=8),
    st.sampled_from(["", " ", "nan", "NaN", "inf", "-inf", "-1", "0", "1e400", "1.0", "3", "1e30",
                     "batch", "service", '"', ",", "\n", "0x10", "1_000", "١٢", "True"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(row=st.integers(0, ROWS - 1), column=st.sampled_from(COLUMNS), text=CELL_TEXT,
       quoted=st.booleans())
def test_corrupted_cell_is_read_or_reported_never_crashes(row, column, text, quoted):
    """Replacing any one cell of a valid CSV with arbitrary text gives either a valid
    table (untouched rows read back unchanged, ids unique, numbers finite) or an
    InputError; never another exception and never silently shifted values.

    ``quoted``: the cell is CSV-quoted as a tool would write it; otherwise it is pasted
    in as typed, so a comma, quote or newline in it breaks the row's structure."""
    frame = pd.DataFrame(VALID_ROWS).astype(str)
    if column not in frame:  # an optional column the valid rows leave out
        frame[column] = ""
    frame.loc[row, column] = text
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trace.csv"
        if quoted:
            frame.to_csv(path, index=False)
        else:
            lines = [",".join(frame.columns)] + [",".join(values) for values in frame.to_numpy()]
            path.write_text("\n".join(lines) + "\n")
        try:
            table = own.read(path).instances
        except InputError as err:
            assert err.problems and all(p.startswith(str(path)) or p.startswith("...") or p == SKIP_HINT
                                        for p in err.problems)
            return

    assert table["id"].astype(str).is_unique
    numeric = table[["submit_s", "duration_s", "cpu_cores", "memory_gib", "cpu_used", "memory_used_gib"]]
    assert np.isfinite(numeric.to_numpy(float)).all()
    assert (table["duration_s"] > 0).all() and (table["submit_s"] >= 0).all()
    assert table["submit_s"].is_monotonic_increasing
    # Every row but the corrupted one reads back exactly as written.
    expected = pd.DataFrame(VALID_ROWS).drop(index=row)
    got = table.assign(key=table["id"].astype(str)).set_index("key")
    for _, want in expected.iterrows():
        have = got.loc[str(want["id"])]
        for name in ("submit_s", "duration_s", "cpu_cores", "memory_gib", "cpu_used",
                     "memory_used_gib", "priority"):
            assert float(have[name]) == float(want[name]), (name, have[name], want[name])
        assert str(have["kind"]) == want["kind"] and have["image"] == want["image"]
