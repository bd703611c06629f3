"""Header rows of trace tables (simdc/workload/readers/common.py: identify): a format
whose files have a header refuses a file without one rather than skip its first row of
data."""

from __future__ import annotations

import gzip

import pytest
from typer.testing import CliRunner

from simdc.cli import app
from simdc.errors import InputError
from simdc.workload.readers import read_trace
from tests.workload.traces import sample, write_lines


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
