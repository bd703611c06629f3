"""simdc's own workload format (simdc/workload/own.py): values, defaults, and errors that
name the file and the CSV line (the header is line 1)."""

from __future__ import annotations

import csv
import io
import string
import tempfile
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
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
@example(row=0, column="job", text='"', quoted=False)  # an unclosed quote in the last column swallowed the file
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


# --- streaming, on_bad_rows, and the same instances however the file is written --------

FINITE = dict(allow_nan=False, allow_infinity=False)
OPTIONAL = ("cpu_used", "memory_used_gib", "kind", "image", "priority", "cpu_limit", "memory_limit_gib",
            "membw_intensity", "io_intensity")


@st.composite
def instances(draw) -> pd.DataFrame:
    """A few valid instances: unique ids (integers or text), the required columns and a
    random choice of optional ones, some of their values empty."""
    n = draw(st.integers(1, 12))
    if draw(st.booleans()):
        ids = draw(st.lists(st.integers(0, 10**12), min_size=n, max_size=n, unique=True))
    else:
        ids = [f"{p}-{i}" for i, p in enumerate(draw(st.lists(st.sampled_from(["web", "db", "x y", "a,b"]),
                                                               min_size=n, max_size=n)))]
    positive = st.floats(1e-3, 1e6, **FINITE)
    table = {
        "id": ids,
        "submit_s": draw(st.lists(st.floats(0, 1e7, **FINITE), min_size=n, max_size=n)),
        "duration_s": draw(st.lists(positive, min_size=n, max_size=n)),
        "cpu_cores": draw(st.lists(positive, min_size=n, max_size=n)),
        "memory_gib": draw(st.lists(positive, min_size=n, max_size=n)),
    }
    maybe = lambda values: st.one_of(st.none(), values)  # noqa: E731
    cells = {"cpu_used": maybe(st.floats(0, 64, **FINITE)), "memory_used_gib": maybe(st.floats(0, 64, **FINITE)),
             "kind": maybe(st.sampled_from(["service", "batch"])),
             "image": maybe(st.sampled_from(["nginx:1.25", "redis", "my image", "a,b", 'q"uote'])),
             "priority": maybe(st.integers(-5, 11)), "cpu_limit": maybe(positive), "memory_limit_gib": maybe(positive),
             "membw_intensity": maybe(st.floats(0, 1, **FINITE)), "io_intensity": maybe(st.floats(0, 1, **FINITE))}
    for name in draw(st.lists(st.sampled_from(OPTIONAL), unique=True, max_size=len(OPTIONAL))):
        table[name] = draw(st.lists(cells[name], min_size=n, max_size=n))
    for limit, asked in own.LIMITED:  # a limit is at least its request (Kubernetes' validation)
        if limit in table:
            table[limit] = [v if v is None else max(v, r) for v, r in zip(table[limit], table[asked])]
    return pd.DataFrame(table)


def expected(table: pd.DataFrame) -> pd.DataFrame:
    """What reading ``table`` must give, computed here from the README's defaults."""
    out = pd.DataFrame({"id": table["id"]})
    for name in ("submit_s", "duration_s", "cpu_cores", "memory_gib"):
        out[name] = table[name].astype(float)
    column = lambda name, default: (table[name].astype(float).fillna(default)  # noqa: E731
                                    if name in table else pd.Series(default, index=table.index, dtype=float))
    out["cpu_used"] = column("cpu_used", out["cpu_cores"])
    out["memory_used_gib"] = column("memory_used_gib", out["memory_gib"])
    out["kind"] = table["kind"].fillna("service") if "kind" in table else "service"
    out["image"] = table["image"].fillna("") if "image" in table else ""
    out["priority"] = column("priority", 0.0).astype(np.int64)
    out["cpu_limit"] = column("cpu_limit", np.nan)
    out["memory_limit_gib"] = column("memory_limit_gib", np.nan)
    out["membw_intensity"] = column("membw_intensity", 0.0)
    out["io_intensity"] = column("io_intensity", 0.0)
    return out.sort_values("submit_s", kind="stable").reset_index(drop=True)


def csv_text(table: pd.DataFrame, newline: str = "\n", pad: str = "", bom: bool = False) -> str:
    """``table`` as CSV, written with the csv module (not simdc's writer): floats as
    repr (exact), empty cells for None, ``pad`` around every unquoted value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(table.columns)
    for row in table.itertuples(index=False):
        writer.writerow(["" if v is None or (isinstance(v, float) and np.isnan(v)) else repr(v)
                         if isinstance(v, float) else str(v) for v in row])
    text = out.getvalue()
    if pad:
        lines = []
        for line in text.split(newline):
            cells = next(csv.reader([line])) if line else []
            lines.append(",".join(f"{pad}{c}{pad}" if not any(ch in c for ch in ',"') else
                                  '"' + c.replace('"', '""') + '"' for c in cells))
        text = newline.join(lines)
    return ("\ufeff" if bom else "") + text


def same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(COLUMNS)
    assert got["id"].astype(str).tolist() == want["id"].astype(str).tolist()
    for name in ("submit_s", "duration_s", "cpu_cores", "memory_gib", "cpu_used", "memory_used_gib",
                 "cpu_limit", "memory_limit_gib", "membw_intensity", "io_intensity"):
        np.testing.assert_array_equal(got[name].to_numpy(float), want[name].to_numpy(float), err_msg=name)
    assert got["kind"].astype(str).tolist() == want["kind"].tolist()
    assert got["image"].tolist() == want["image"].tolist()
    assert got["priority"].tolist() == want["priority"].tolist()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=instances(), newline=st.sampled_from(["\n", "\r\n"]), pad=st.sampled_from(["", " ", "  \t"]),
       bom=st.booleans())
def test_any_valid_csv_reads_as_its_instances_with_bom_crlf_or_spaces(table, newline, pad, bom):
    """A valid CSV of random instances gives exactly those instances (defaults filled as
    the README says, sorted by submit_s), whether it starts with a byte-order mark, ends
    its lines with CRLF or pads its values with whitespace."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.csv"
        path.write_bytes(csv_text(table, newline, pad, bom).encode())
        same(own.read(path).instances, expected(table))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=instances(), cut=st.floats(0, 1), newline=st.sampled_from(["\n", "\r\n"]))
def test_csv_cut_at_any_byte_reads_its_whole_rows_or_one_clean_error(table, cut, newline):
    """A CSV cut at any byte gives the instances of the rows it holds whole, or one clean
    error naming the file. (The row the cut falls in, when the cut leaves it every
    field, may be read with its last value shortened: CSV has no end marker.)"""
    data = csv_text(table, newline).encode()
    at = int(cut * len(data))
    lines = data[:at].split(newline.encode())
    whole = len(lines) - 2 if len(lines) > 1 else 0  # data rows before the last, cut, line
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.csv"
        path.write_bytes(data[:at])
        try:
            got = own.read(path).instances
        except InputError as err:
            assert err.problems and all(p.startswith(str(path)) or p == SKIP_HINT for p in err.problems)
            return
    want = expected(table.iloc[:whole])
    kept = got[got["id"].astype(str).isin(want["id"].astype(str))].reset_index(drop=True)
    same(kept, want)
    extra = got[~got["id"].astype(str).isin(want["id"].astype(str))]
    assert len(extra) <= 1 and (extra.empty or str(extra["id"].iloc[0]) == str(table["id"].iloc[whole]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=instances())
def test_csv_and_parquet_of_the_same_instances_read_identically(table):
    """The same instances written as CSV (by the csv module) and as Parquet (by pandas)
    read into equal tables, dtypes included."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.csv"
        path.write_text(csv_text(table))
        parquet = Path(tmp) / "w.parquet"
        table.to_parquet(parquet, index=False)
        from_csv, from_parquet = own.read(path).instances, own.read(parquet).instances
    assert_frame_equal(from_parquet, from_csv)
    same(from_csv, expected(table))


BREAKS = {
    "duration_s is not a number": lambda cells: {**cells, "duration_s": "abc"},
    "submit_s must be >= 0": lambda cells: {**cells, "submit_s": "-1"},
    "cpu_cores must be > 0": lambda cells: {**cells, "cpu_cores": "0"},
    "memory_gib is empty": lambda cells: {**cells, "memory_gib": ""},
    "expected 5 fields, got 4": lambda cells: dict(list(cells.items())[:4]),
    "expected 5 fields, got 6": lambda cells: {**cells, "extra": "1"},
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 40), broken=st.data())
def test_skip_drops_and_counts_exactly_the_broken_rows_strict_names_the_first(n, broken):
    """Break random rows of a valid CSV in random ways. Skip: the other rows are read
    unchanged and each reason counts the rows broken that way. Strict: one error line
    per broken row (up to ten, then how many more), naming the file, the row's line
    (row k is line k + 2) and how it was broken."""
    which = broken.draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n - 1))
    how = {row: broken.draw(st.sampled_from(sorted(BREAKS))) for row in which}
    lines = [HEADER]
    for i in range(n):
        cells = {"id": f"i{i}", "submit_s": str(i), "duration_s": "60", "cpu_cores": "1", "memory_gib": "2"}
        lines.append(",".join(BREAKS[how[i]](cells).values() if i in how else cells.values()))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.csv"
        path.write_text("\n".join(lines) + "\n")
        workload = own.read(path, on_bad_rows="skip")
        if which:
            found = problems(path)
    assert workload.instances["id"].tolist() == [f"i{i}" for i in range(n) if i not in how]
    counts: dict[str, int] = {}
    for reason in how.values():
        counts[f"instances: {reason}"] = counts.get(f"instances: {reason}", 0) + 1
    assert workload.skipped == counts
    if which:
        named = [p for p in found if not p.startswith("...")]
        assert len(named) == min(len(which), 10) and len(set(named)) == len(named)
        assert all(any(p.startswith(f"{path}: line {k + 2}: {how[k]}") for k in which) for p in named), found
        if len(which) > 10:
            more = len(which) - 10
            assert found[-1] == f"... and {more} more bad row{'s' if more != 1 else ''}"


def test_parquet_null_in_a_required_column_is_reported_or_skipped(tmp_path):
    """Parquet: a null where a value is required names the row (strict) or is skipped
    and counted (skip), like an empty CSV cell."""
    path = tmp_path / "w.parquet"
    pd.DataFrame({"id": ["a", "b", "c"], "submit_s": [0.0, None, 2.0], "duration_s": [1.0, 1.0, -1.0],
                  "cpu_cores": [1.0, 1.0, 1.0], "memory_gib": [1.0, 1.0, 1.0]}).to_parquet(path)
    assert problems(path) == [f"{path}: row 2: submit_s is empty", f"{path}: row 3: duration_s must be > 0 (got -1)"]
    workload = own.read(path, on_bad_rows="skip")
    assert workload.instances["id"].tolist() == ["a"]
    assert workload.skipped == {"instances: submit_s is empty": 1, "instances: duration_s must be > 0": 1}


def test_short_row_is_an_error_never_filled_with_defaults(tmp_path):
    """A row with fewer fields than the header is an error naming its line; with skip it
    is dropped and counted, never read with defaults for the missing fields."""
    path = write(tmp_path, "id,submit_s,duration_s,cpu_cores,memory_gib,cpu_used,memory_used_gib\n"
                           "a,0,60,2,4,0.5,1.5\nc,20,7200,4,8,1\n")
    assert problems(path) == [f"{path}: line 3: expected 7 fields, got 6"]
    workload = own.read(path, on_bad_rows="skip")
    assert workload.instances["id"].tolist() == ["a"]
    assert workload.skipped == {"instances: expected 7 fields, got 6": 1}


def test_streaming_in_small_blocks_gives_the_same_table(tmp_path):
    """Read in blocks of a few hundred bytes, a file gives the table it gives whole, and
    a bad row in a late block is named by its line."""
    rows = [f"{i},{i * 1.5},{60 + i},{1 + i % 4},{2 + i % 3}" for i in range(300)]
    path = write(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n")
    whole = own.read(path).instances
    assert_frame_equal(own.read(path, block_bytes=512).instances, whole)
    assert whole["id"].tolist() == list(range(300)) and whole["submit_s"].tolist() == [i * 1.5 for i in range(300)]
    rows[250] = "250,375,-1,1,2"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    assert problems(path) == [f"{path}: line 252: duration_s must be > 0 (got -1)"]


TEXTS = ["nginx", " nginx", "redis\u00a0", "\u2003x y", "caf\u00e9", "a,b", "tab\tin", "", "\x1cx"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=instances(), newline=st.sampled_from(["\n", "\r\n"]), pad=st.sampled_from(["", " "]),
       texts=st.data(), broken=st.data())
def test_typed_csv_path_reads_what_the_validated_path_reads(table, newline, pad, texts, broken):
    """A clean CSV read by the fast typed path (Arrow's parse, one scan of each text
    column's bytes deciding whether to trim it) gives the table the validated text path
    gives, dtypes included, whatever blanks or Unicode spaces its text values hold; an
    unpadded file is read by the fast path. With one row's duration made negative, the
    error names that row's line, as the text path does."""
    if "image" in table:
        table["image"] = texts.draw(st.lists(st.sampled_from(TEXTS), min_size=len(table), max_size=len(table)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.csv"
        path.write_bytes(csv_text(table, newline, pad).encode())
        names = own._header(path)
        fast = own._typed_csv_parts(path, names, own.BadRows("skip"), own.BLOCK_BYTES)
        assert pad or fast is not None
        got = own.read(path).instances
        with patch.object(own, "_typed_csv_parts", lambda *args: None):
            assert_frame_equal(got, own.read(path).instances)
        row = broken.draw(st.integers(0, len(table) - 1))
        table.loc[row, "duration_s"] = -1.0
        path.write_bytes(csv_text(table, newline, pad).encode())
        assert problems(path) == [f"{path}: line {row + 2}: duration_s must be > 0 (got -1)"]


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_an_xz_file_and_a_row_not_utf8_leave_nothing_unraised(tmp_path):
    """The typed read decompresses as the text path does (Arrow alone read xz bytes as
    CSV and, calling back on a row it could not decode, printed "Exception ignored in"
    beside the result): an xz file reads as the plain one, and a row that is not UTF-8
    is one error naming its line, with nothing printed besides."""
    import lzma

    plain = write(tmp_path, HEADER + "\n" + "".join(f"v{k},{k * 10},{60 + k},{1 + k % 4},{2 + k % 3}\n"
                                                    for k in range(6)))
    packed = tmp_path / "packed.csv.xz"
    packed.write_bytes(lzma.compress(b"\xef\xbb\xbf" + plain.read_bytes().replace(b"\n", b"\r\n")))
    pd.testing.assert_frame_equal(own.read(packed).instances, own.read(plain).instances)
    lines = plain.read_bytes().splitlines(keepends=True)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"".join(lines[:3]) + b"caf\xe9,1\n" + b"".join(lines[3:]))
    with pytest.raises(InputError) as caught:
        own.read(bad)
    assert "line 4" in caught.value.problems[0] and "UTF-8" in caught.value.problems[0]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("limit, asked", [("cpu_limit", "cpu_cores"), ("memory_limit_gib", "memory_gib")])
def test_a_limit_below_its_request_is_refused_with_file_line_and_both_values(tmp_path, suffix, limit, asked):
    """Kubernetes' API refuses a pod whose request exceeds its limit
    (pkg/apis/core/validation, ValidateResourceRequirements): so does the reader, naming the
    file, the line (the header is line 1: the second row is line 3), both columns and both
    values. A limit equal to its request (Guaranteed) and an empty one (none) pass."""
    rows = pd.DataFrame({"id": ["ok", "bad"], "submit_s": [0.0, 0.0], "duration_s": [10.0, 10.0],
                         "cpu_cores": [1.0, 1.0], "memory_gib": [1.0, 1.0], "cpu_limit": [1.0, np.nan],
                         "memory_limit_gib": [np.nan, np.nan]})
    rows.loc[1, asked], rows.loc[1, limit] = 2.0, 1.0
    path = tmp_path / f"w{suffix}"
    if suffix == ".csv":
        rows.to_csv(path, index=False)
    else:
        rows.to_parquet(path, index=False)
    with pytest.raises(InputError) as caught:
        own.read(path)
    message = str(caught.value)
    assert str(path) in message and ("line 3" in message or suffix == ".parquet")
    assert f"{limit} must be >= {asked}" in message
    assert f"got {limit} 1 < {asked} 2" in message
