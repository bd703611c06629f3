"""simdc's own CSV read by its typed path (simdc/workload/own.py: Arrow's typed parse in
blocks, each column joined once and checked whole, the checks' shortcuts) against the
validated text path, which reads every value as text and names each bad row's line."""

from __future__ import annotations

import tempfile
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal, assert_series_equal

from simdc.errors import InputError
from simdc.workload import own
from simdc.workload.readers.common import BadRows
from tests.workload.test_own_format import csv_text, instances

JOBS = st.lists(st.one_of(st.none(), st.sampled_from(["web", "db", "a b", "x,y", " pad"])))


def read_both(path: Path, block_bytes: int = own.BLOCK_BYTES):
    """(table or problems) by the typed path, then by the text path alone."""
    def attempt():
        try:
            return own.read(path, block_bytes=block_bytes).instances
        except InputError as err:
            return err.problems
    typed = attempt()
    with patch.object(own, "_typed_csv_parts", lambda *args: None):
        text = attempt()
    return typed, text


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=instances(), jobs=st.data(), block_bytes=st.sampled_from([300, 4096, own.BLOCK_BYTES]))
def test_typed_read_in_any_blocks_equals_the_validated_read(table, jobs, block_bytes):
    """A valid CSV of random instances, with or without a job column, read in blocks of
    any size by the typed path (which must take it) gives the table the text path gives,
    dtypes included; its job column is the categorical of the jobs as written ("" where
    none), built here as pandas builds it from the text."""
    if jobs.draw(st.booleans()):
        table["job"] = jobs.draw(st.lists(st.one_of(st.none(), st.sampled_from(["web", "db", "a b", "x,y"])),
                                          min_size=len(table), max_size=len(table)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.csv"
        path.write_bytes(csv_text(table).encode())
        names = own._header(path)
        assert own._typed_csv_parts(path, names, BadRows("skip"), block_bytes) is not None
        typed, text = read_both(path, block_bytes)
    assert_frame_equal(typed, text)
    written = table["job"].fillna("") if "job" in table else pd.Series([""] * len(table))
    order = np.argsort(table["submit_s"].to_numpy(float), kind="stable")
    want = pd.Categorical(pa.array(written.to_numpy(object)[order].tolist(), pa.string()).to_pandas())
    assert_series_equal(typed["job"], pd.Series(want, name="job"))


BAD_TEXT = ["nan", "NaN", "inf", "-inf", "-1", "0", "1e400", "-1e-300", "2", "0.5", "1e300", "", "x"]
NUMBERS = [name for name, spec in own.FIELDS.items() if spec.kind != "str"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=instances(), where=st.data(), text=st.sampled_from(BAD_TEXT))
def test_a_doubtful_number_reads_or_fails_as_the_validated_read_says(table, where, text):
    """Put a doubtful value (NaN written out, an infinity, a negative, zero, a huge or
    fractional number, nothing, text) into a random number cell of a valid CSV: the
    typed path gives exactly what the text path gives, the same table or the same error
    lines; an error is one line naming the row's line and the column."""
    name = where.draw(st.sampled_from(NUMBERS))
    row = where.draw(st.integers(0, len(table) - 1))
    cells = table.astype(object).where(table.notna(), None)
    if name not in cells:
        cells[name] = None
    cells[name] = cells[name].astype(object)
    cells.loc[row, name] = text
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.csv"
        lines = csv_text(cells).splitlines()
        path.write_text("\n".join(lines) + "\n")
        typed, text_read = read_both(path)
    if isinstance(text_read, pd.DataFrame):
        assert isinstance(typed, pd.DataFrame)
        assert_frame_equal(typed, text_read)
        return
    assert typed == text_read
    named = [p for p in typed if p.startswith(str(path))]
    # a number fine alone may put a request above its limit: the pair is named, the limit first
    pair = [limit for limit, asked in own.LIMITED if name in (limit, asked)]
    assert len(named) == 1 and (named[0].startswith(f"{path}: line {row + 2}: {name} ")
                                or (pair and named[0].startswith(f"{path}: line {row + 2}: {pair[0]} must be >=")))


FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 1.0, 2**53, 0.5]))


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(NUMBERS), values=st.lists(FLOATS, max_size=30))
def test_the_checks_shortcut_passes_only_columns_the_masks_pass(name, values):
    """Whenever the shortcut (a column's extremes and sum) calls a column clean, the
    masks, which name every bad row, find nothing in it either; and a column of finite
    values inside the field's bounds (positive, whole, as the field asks) is called
    clean, so a clean file never pays for the masks."""
    spec = own.FIELDS[name]
    column = np.array(values, dtype=float)
    bad = BadRows("skip")
    with patch.object(own, "_clean_numbers", lambda *args: False):
        own._check_values({name: column}, np.arange(len(column)), lambda row: f"row {row}", bad)
    clean = own._clean_numbers(column, spec, name in own.POSITIVE)
    if clean:
        assert not bad.counts, (name, values, bad.counts)
    with np.errstate(invalid="ignore"):
        valid = (np.isfinite(column).all()
                 and (spec.low is None or (column >= spec.low).all())
                 and (spec.high is None or (column <= spec.high).all())
                 and (name not in own.POSITIVE or (column > 0).all())
                 and (spec.kind != "int" or ((column % 1 == 0).all() and (np.abs(column) < own.LARGEST_INT).all())))
    if valid and np.isfinite(np.add.reduce(column)):  # partial sums overflowing both ways: the masks decide
        assert clean, (name, values)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(FLOATS, max_size=30), empty=st.data())
def test_a_nan_written_out_is_told_from_an_empty_value(values, empty):
    """Arrow reads an empty value as null (NaN once a float array) and "nan" as NaN: a
    column holds NaN written out exactly when it has more NaN than empty values."""
    column = np.array(values, dtype=float)
    nulls = empty.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values)))
    column[np.array(nulls, dtype=bool)] = np.nan
    assert own._has_nan_text(column, sum(nulls)) == (int(np.isnan(column).sum()) > sum(nulls))


@pytest.mark.parametrize("block_bytes", [256, own.BLOCK_BYTES])
def test_a_bad_row_in_a_late_block_is_one_line_naming_it(tmp_path, block_bytes):
    """A file read in many blocks (its columns joined before any check) still names the
    line of a bad value in a late block, once, with the hint on skipping."""
    rows = [f"{i},{i * 1.5},{60 + i},{1 + i % 4},{2 + i % 3},{i % 2},batch" for i in range(400)]
    rows[377] = "377,565.5,60,1,2,0.5,sevice"
    path = tmp_path / "w.csv"
    path.write_text("id,submit_s,duration_s,cpu_cores,memory_gib,membw_intensity,kind\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError) as caught:
        own.read(path, block_bytes=block_bytes)
    named = [p for p in caught.value.problems if p.startswith(str(path))]
    assert named == [f"{path}: line 379: kind must be one of service, batch (got 'sevice')"]
