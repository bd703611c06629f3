"""Real files as people have them (issue #14, item 5), for the Alibaba 2017 and 2018 and
Google readers: a UTF-8 BOM, CRLF line ends or a header row give the same instances as
the clean file; a file cut at any byte gives either a prefix-consistent result or one
clean error (exit 2, ``error:`` lines naming the file), never a traceback."""

from __future__ import annotations

import functools
import gzip

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from typer.testing import CliRunner

from simdc.cli import app
from simdc.errors import SimdcError
from simdc.workload.readers import read_trace
from tests.workload.traces import sample
from tests.conftest import only_problems

BOM = b"\xef\xbb\xbf"
ALIBABA_2018 = [
    "c_1,m_1,0,app_1,started,400,400,1.56", "c_2,m_1,100,app_1,started,200,200,0.78",
    "c_1,m_1,3000,app_1,started,400,800,3.12", "c_3,m_2,3100,app_2,started,100,100,2.5",
    "c_2,m_1,4000,app_1,stopped,200,200,0.78", "c_4,m_2,4500,app_2,started,100,100,2.5",
    "c_3,m_2,6000,app_2,stopped,100,100,2.5", "c_2,m_1,9000,app_1,stopped,200,200,0.78",
    "c_4,m_2,9500,app_2,started,100,100,2.5",
]
HEADERS = {
    "alibaba2018": "container_id,machine_id,time_stamp,app_du,status,cpu_request,cpu_limit,mem_size",
    "google": "time,missing_info,job_id,task_index,machine_id,event_type,user,scheduling_class,priority,"
              "cpu_request,memory_request,disk_space_request,different_machines_restriction",
}


@functools.lru_cache(maxsize=None)
def clean_text(fmt: str) -> tuple[str, str]:
    """(file name, clean text): genuine rows for v2017 and Google, v2018 written here."""
    if fmt == "alibaba2017":
        lines = sample("alibaba_v2017/batch_task.csv").read_text().splitlines()
        HEADERS["alibaba2017"] = lines[0]  # the redistribution's own header row
        return "batch_task.csv", "\n".join(lines[1:41]) + "\n"
    if fmt == "google":
        text = gzip.decompress(sample("google_2011/task_events-part-00000-of-00500.csv.gz").read_bytes()).decode()
        rows = text.splitlines()
        # Every event, in file order, of some tasks that finish and some still running at the end.
        finished = list(dict.fromkeys(tuple(r.split(",")[2:4]) for r in rows if r.split(",")[5] == "4"))[:8]
        running = list(dict.fromkeys(tuple(r.split(",")[2:4]) for r in rows[200000:200020]))[:4]
        keep = set(finished + running)
        return "task_events-part-00000-of-00001.csv", "\n".join(
            r for r in rows if tuple(r.split(",")[2:4]) in keep) + "\n"
    return "container_meta.csv", "\n".join(ALIBABA_2018) + "\n"


def read(path, fmt: str):
    """The instances read, or None after checking the CLI's error: exit 2, error lines only."""
    try:
        return read_trace([path], fmt).instances
    except SimdcError:
        result = CliRunner().invoke(app, ["trace", "inspect", str(path), "--format", fmt])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert only_problems(lines), result.output
        assert path.name in lines[0]
        return None


FORMATS = ("alibaba2017", "alibaba2018", "google")
WHOLE: dict[tuple[str, bool], pd.DataFrame] = {}  # each clean file read once


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("variant", ["bom", "crlf", "header", "bom+crlf+header"])
def test_bom_crlf_and_header_read_as_the_clean_file(tmp_path, fmt, variant):
    name, text = clean_text(fmt)
    (tmp_path / "clean").mkdir()
    clean = tmp_path / "clean" / name
    clean.write_bytes(text.encode())
    want = read_trace([clean], fmt).instances
    if "header" in variant:
        text = HEADERS[fmt] + "\n" + text
    if "crlf" in variant:
        text = text.replace("\n", "\r\n")
    data = text.encode()
    if "bom" in variant:
        data = BOM + data
    (tmp_path / "variant").mkdir()
    changed = tmp_path / "variant" / name
    changed.write_bytes(data)
    pd.testing.assert_frame_equal(read_trace([changed], fmt).instances, want)


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0.0, 1.0), bom=st.booleans(), line=st.none() | st.integers(1, 60))
def test_a_file_cut_at_any_byte_reads_a_prefix_or_fails_cleanly(tmp_path, fmt, cut, bom, line):
    """Cut: the instances are those of the whole file, fewer (ids a subset), and every
    one that the cut file says ended ended at the same time in the whole file; or an error."""
    name, text = clean_text(fmt)
    data = (BOM if bom else b"") + text.encode()
    if (fmt, bom) not in WHOLE:
        WHOLE[fmt, bom] = read_trace([_write(tmp_path / "whole", name, data)], fmt).instances.set_index("id")
    whole = WHOLE[fmt, bom]
    at = int(cut * len(data))
    if line is not None:  # just after a line end (or just before it, mid-row)
        ends = [i + 1 for i, byte in enumerate(data) if byte == ord("\n")]
        at = ends[min(line, len(ends)) - 1] - (1 if cut < 0.3 else 0)
    got = read(_write(tmp_path / f"cut{at}", name, data[:at]), fmt)
    if got is None:
        return
    got = got.set_index("id")
    assert set(got.index) <= set(whole.index)
    done = got[~got["censored"]] if "censored" in got else got
    if fmt == "alibaba2017":  # whole-span rule: an ended task's times do not depend on the other rows
        done = done[done.index.isin(whole.index[~whole["censored"]])]
    for column in ("submit_s", "duration_s"):
        assert list(done[column]) == list(whole.loc[done.index, column]), column


def _write(folder, name, data: bytes):
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path
