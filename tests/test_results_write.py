"""Writing results' Parquet tables (simdc.results.write_parquet): cheaper than
``DataFrame.to_parquet``, and what a reader gets back is the same DataFrame, dtypes
included. The oracle is pyarrow's own conversion (``pa.Table.from_pandas``, what
``to_parquet`` writes) and the frames in memory."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simdc
import simdc.results
from simdc.results import arrow_table, load_results, write_parquet

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("summary", "instances", "timeseries", "hosts", "workload")


def assert_same_frame(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert got.equals(want)
    assert got.dtypes.equals(want.dtypes)


KINDS = ("float", "float_few", "float32", "int", "int32", "bool", "str", "category", "object", "nullable", "none",
         "dates")
RESULT_KINDS = ("float", "float_few", "int", "bool", "str", "category")  # what simdc's tables hold


@st.composite
def columns(draw, n: int, kinds=KINDS) -> pd.Series:
    """A column of ``n`` rows of one of the dtypes results hold (and a few they might)."""
    kind = draw(st.sampled_from(kinds))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind in ("float", "float_few", "float32"):
        values = rng.normal(0, 1e6, n) if kind != "float_few" else rng.choice([0.0, -0.0, 1.5, np.inf], n)
        values[rng.random(n) < draw(st.sampled_from([0.0, 0.1, 1.0]))] = np.nan
        return pd.Series(values.astype(np.float32 if kind == "float32" else np.float64))
    if kind in ("int", "int32"):
        high = draw(st.sampled_from([3, 2**30 if kind == "int32" else 2**40]))
        return pd.Series(rng.integers(-5, high, n), dtype=np.int32 if kind == "int32" else np.int64)
    if kind == "bool":
        return pd.Series(rng.random(n) < 0.5)
    words = np.array(["vm", "container", "é-ü", "", "12", f"id-{rng.integers(1e9)}"])
    picked = words[rng.integers(0, len(words), n)]
    if kind == "str":
        series = pd.Series(picked, dtype="str")
        return series.where(rng.random(n) > 0.1)  # missing text
    if kind == "category":
        return pd.Series(pd.Categorical(picked, categories=sorted(set(words)),
                                        ordered=draw(st.booleans()))).where(rng.random(n) > 0.1)
    if kind == "none":  # nothing but None: Arrow's null type, pyarrow's conversion
        return pd.Series([None] * n, dtype=object)
    if kind == "dates":  # pyarrow's conversion
        return pd.Series(pd.to_datetime(rng.integers(0, 10**9, n), unit="s"))
    if kind == "nullable":  # pandas' own nullable integers: pyarrow's conversion
        return pd.Series(rng.integers(0, 9, n), dtype="Int64").where(rng.random(n) > 0.2)
    return pd.Series([f"job-{x}" for x in rng.integers(0, 99, n)], dtype=object)  # pyarrow's conversion


@st.composite
def frames(draw, kinds=KINDS, least: int = 0) -> pd.DataFrame:
    n = draw(st.integers(least, 300))
    count = draw(st.integers(1, 8))
    return pd.DataFrame({f"c{i}_s": draw(columns(n, kinds)) for i in range(count)})


@settings(max_examples=40, deadline=None)
@given(frame=frames(), sample=st.sampled_from([4, 2048]))
def test_arrow_table_is_pyarrows_conversion_and_reads_back(tmp_path_factory, frame, sample):
    """arrow_table(frame) equals pa.Table.from_pandas(frame) (values, nulls for NaN,
    types, pandas' metadata), and the written file reads back as ``frame``: equal,
    dtypes included (an object column comes back as from to_parquet: text as pandas'
    text dtype), whichever columns got a dictionary (a sample of 4 values sends
    columns both ways)."""
    want = pa.Table.from_pandas(frame, preserve_index=False)
    got = arrow_table(frame)
    assert got.equals(want)
    assert got.schema.equals(want.schema, check_metadata=True)
    path = tmp_path_factory.mktemp("write") / "table.parquet"
    with mock.patch.object(simdc.results, "DICTIONARY_SAMPLE", sample):
        write_parquet(frame, path)
    back = pd.read_parquet(path)
    frame.to_parquet(path.with_name("main.parquet"), index=False)  # main's way
    assert_same_frame(back, pd.read_parquet(path.with_name("main.parquet")))
    if len(frame):  # (empty, a category column loses its categories and an object one is
        # null-typed in pyarrow's conversion, main's too: only main's read-back above holds)
        kept = [c for c in frame if frame[c].dtype != object]  # object: as main's, above
        assert_same_frame(back[kept], frame[kept])
    assert pq.read_table(path).equals(pq.read_table(path.with_name("main.parquet")))  # any Arrow reader


def test_distinct_columns_get_no_dictionary_and_repeating_ones_do(tmp_path):
    """A column of distinct values is written plain, one of few values with a
    dictionary; statistics only for the key columns (STATISTICS_COLUMNS)."""
    n = 5000
    frame = pd.DataFrame({"id": np.arange(n), "t_s": np.arange(n) * 0.5, "host": np.arange(n) % 7,
                          "cpu_used": np.random.default_rng(1).random(n)})
    write_parquet(frame, tmp_path / "t.parquet")
    chunk = {c.path_in_schema: c for c in (pq.ParquetFile(tmp_path / "t.parquet").metadata.row_group(0).column(i)
                                           for i in range(4))}
    assert not chunk["id"].has_dictionary_page and not chunk["cpu_used"].has_dictionary_page
    assert chunk["host"].has_dictionary_page
    assert chunk["id"].is_stats_set and chunk["host"].is_stats_set and chunk["t_s"].is_stats_set
    assert not chunk["cpu_used"].is_stats_set


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_results_read_back_equal(results_of_minimal, tmp_path_factory, data):
    """Results with random instances, timeseries and workload tables, written and read
    back with load_results: every table DataFrame.equals the one in memory, dtypes included."""
    tables = {name: data.draw(frames(RESULT_KINDS, least=1), label=name)
              for name in ("instances", "timeseries", "workload")}
    tables["instances"].insert(0, "platform", pd.Series(["vm"] * len(tables["instances"]), dtype="str"))
    tables["instances"].insert(1, "id", np.arange(len(tables["instances"])))
    tables["timeseries"] = tables["timeseries"].assign(platform="vm", t_s=0.0, host=0)
    results = dataclasses.replace(results_of_minimal, **tables)
    back = load_results(results.write(tmp_path_factory.mktemp("run") / "run"))
    for name in TABLES:
        assert getattr(back, name).equals(getattr(results, name)), name
        assert getattr(back, name).dtypes.equals(getattr(results, name).dtypes), name


@pytest.fixture(scope="module")
def results_of_minimal():
    from tests.conftest import MINIMAL

    return simdc.simulate(simdc.config.validate(MINIMAL))


EXAMPLES = sorted(path.name for path in (ROOT / "configs").glob("*.toml"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_config_reads_back_equal(name, tmp_path):
    """Every example config, two hours of it: its results written and read back with
    load_results equal the tables in memory (DataFrame.equals, dtypes included), and
    each Parquet file reads as the Arrow table of the one DataFrame.to_parquet writes."""
    results = simdc.simulate(simdc.load_config(ROOT / "configs" / name, {"simulation.duration_s": 7200}))
    out = results.write(tmp_path / "run")
    back = load_results(out)
    for table in TABLES:
        assert_same_frame(getattr(back, table), getattr(results, table))  # opendc.toml's integer ids: int64 in both
    for table in ("instances", "timeseries", "workload"):
        getattr(results, table).to_parquet(tmp_path / "main.parquet", index=False)  # main's way
        assert pq.read_table(out / f"{table}.parquet").equals(pq.read_table(tmp_path / "main.parquet")), table
