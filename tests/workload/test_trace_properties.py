"""Property tests: any reader fed a randomly corrupted row gives a clear error (strict)
or a counted skip (skip), never a traceback; what it does read is a valid workload.

Each case starts from a few genuine rows of a sample (written to a temporary folder,
never into the project), replaces one cell (or one whole line) with arbitrary text,
and reads it both ways.
"""

from __future__ import annotations

import string
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simdc.errors import InputError
from simdc.workload.readers import ReaderOptions, read_trace
from tests.workload.test_alibaba import V2018_BATCH, V2018_CONTAINERS, V2018_USAGE
from tests.workload.traces import TRACES, lines, write_lines

CELL = st.one_of(
    st.text(alphabet=string.printable, max_size=10),
    st.sampled_from(["", " ", "nan", "-inf", "inf", "1e400", "-1", "0", "101", "9223372036854775808", "0x1F",
                     "1_000", "١٢", '"', ",", ";", "\n", "\t", ",,", "Unkown", "Terminated", "c_1", ">24"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


def _text_cases() -> dict[str, tuple[str, dict[str, tuple[list[str], int]]]]:
    """case -> (format, {file name: (lines, header lines)}) of small valid traces."""
    if not TRACES.exists():
        return {}
    v2 = lines(TRACES / "azure_v2_2019/vmtable_subset_20vms_longest.csv")
    readings = lines(TRACES / "azure_v2_2019/vm_cpu_readings_20vms.csv.gz")[:120]
    batch = lines(TRACES / "alibaba_v2017/batch_task.csv")[:40]
    server = lines(TRACES / "alibaba_v2017/server_event.csv")[:20]
    events = lines(TRACES / "google_2011/task_events-part-00000-of-00500.csv.gz")[300000:300080]
    vm = lines(TRACES / "bitbrains_rnd/2013-7/1.csv.gz")[:40]
    return {
        "azure vmtable": ("azure", {"vmtable.csv": (lines(TRACES / "azure_v1_2017/vmtable.csv.gz"), 0)}),
        "azure readings": ("azure", {"vmtable.csv": (v2, 1), "vm_cpu_readings.csv": (readings, 1)}),
        "google": ("google", {"task_events.csv": (events, 0)}),
        "alibaba2017": ("alibaba2017", {"batch_task.csv": (batch, 1), "server_event.csv": (server, 0)}),
        "alibaba2018": ("alibaba2018", {"container_meta.csv": (V2018_CONTAINERS[:5], 0),
                                        "container_usage.csv": (V2018_USAGE, 0), "batch_task.csv": (V2018_BATCH, 0)}),
        "bitbrains": ("bitbrains", {"1.csv": (vm, 1)}),
    }


CASES = _text_cases()


def check_valid(instances) -> None:
    numbers = instances[["submit_s", "duration_s", "cpu_cores", "memory_gib", "cpu_used", "memory_used_gib"]]
    assert np.isfinite(numbers.to_numpy(float)).all()
    assert (instances["duration_s"] > 0).all() and (instances["cpu_cores"] > 0).all()
    assert (instances["memory_gib"] > 0).all() and (instances["submit_s"] >= 0).all()
    assert instances["id"].astype(str).is_unique
    assert instances["submit_s"].is_monotonic_increasing


def read_both(paths: list[Path], fmt: str) -> None:
    """Strict: a valid read or an InputError naming a file. Skip: a valid read, with the
    bad rows counted whenever strict reported one."""
    row_problem = False
    try:
        check_valid(read_trace(paths, fmt).instances)
    except InputError as err:
        assert err.problems
        named = [p for p in err.problems if not p.startswith(("...", "to skip bad rows"))]
        folders = {str(path.parent) for path in paths} | {str(path) for path in paths}
        assert named and all(p.startswith(tuple(folders)) or p.startswith(f"{fmt}:") for p in named), err.problems
        row_problem = any(": line " in p or ": row " in p for p in named)
    try:
        data = read_trace(paths, fmt, ReaderOptions(on_bad_rows="skip"))
    except InputError as err:
        assert not row_problem or not any(": line " in p for p in err.problems), err.problems
        return
    check_valid(data.instances)
    if row_problem:
        assert sum(data.skipped.values()) >= 1


@pytest.mark.skipif(not CASES, reason="no trace samples: set SIMDC_TRACES")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(sorted(CASES)), where=st.floats(0, 1, exclude_max=True), column=st.integers(0, 20),
       text=CELL, whole_line=st.booleans())
def test_a_corrupted_row_is_reported_or_skipped_never_a_traceback(case, where, column, text, whole_line):
    fmt, files = CASES[case]
    name = sorted(files)[int(where * len(files) * 7) % len(files)]
    rows, header = files[name]
    rows = list(rows)
    i = header + int(where * (len(rows) - header))
    delimiter = ";" if fmt == "bitbrains" else ","
    if whole_line:
        rows[i] = text
    else:
        cells = rows[i].split(delimiter)
        cells[column % len(cells)] = text
        rows[i] = delimiter.join(cells)
    with tempfile.TemporaryDirectory() as tmp:
        paths = [write_lines(Path(tmp) / file, files[file][0] if file != name else rows) for file in sorted(files)]
        read_both(paths, fmt)


PARQUET_VALUES = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**40), 2**40),
                           st.text(max_size=6), st.none())


@pytest.mark.skipif(not (TRACES / "opendc/v4/bitbrains-small").exists(), reason="no OpenDC sample")
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=st.sampled_from(["tasks", "fragments"]), row=st.integers(0, 19), column=st.integers(0, 5),
       value=PARQUET_VALUES)
def test_a_corrupted_opendc_value_is_reported_or_skipped(table, row, column, value):
    """OpenDC's Parquet is typed: the corruption is a value of any type in any column."""
    source = TRACES / "opendc/v4/bitbrains-small"
    tasks = pq.read_table(source / "tasks.parquet").to_pandas().head(20)
    fragments = pq.read_table(source / "fragments.parquet").to_pandas()
    fragments = fragments[fragments["id"].isin(tasks["id"])].groupby("id").head(5).reset_index(drop=True)
    frames = {"tasks": tasks, "fragments": fragments}
    frame = frames[table]
    name = frame.columns[column % len(frame.columns)]
    frame[name] = frame[name].astype(object)
    frame.loc[row % len(frame), name] = value
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for key, data in frames.items():
            try:
                arrow = pa.Table.from_pandas(data, preserve_index=False)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                arrow = pa.Table.from_pandas(data.astype({name: str}), preserve_index=False)
            pq.write_table(arrow, folder / f"{key}.parquet")
        read_both([folder], "opendc")
