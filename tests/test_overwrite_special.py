"""``--overwrite`` (``overwrite=True``) replaces an existing regular file only: a FIFO,
device or socket at a file output is refused with one line naming it, exit 2, and left as
it was. Renaming a finished file over it replaced it: ``report --out f.html
--overwrite`` and ``trace convert --to f.parquet --overwrite`` turned a FIFO into a
regular file (as root, ``--to /dev/full`` did the same to the device). The tests use a
FIFO (os.mkfifo), never a real device; stat(2)'s S_ISFIFO says it is still one."""

from __future__ import annotations

import os
import stat

import pytest
from typer.testing import CliRunner

from simdc.cli import app
from simdc.errors import OutputError
from simdc.results import files_placed, load_results
from tests.test_out_safety import one_error_line

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def fifo_at(path):
    os.mkfifo(path)
    return path


def still_fifo(path) -> bool:
    return stat.S_ISFIFO(os.lstat(path).st_mode)


@pytest.fixture
def results_dir(config_path, tmp_path):
    out = tmp_path / "results"
    assert invoke("run", config_path, "--out", out).exit_code == 0
    return out


@pytest.fixture
def trace(write_trace):
    return write_trace([{"id": k, "submit_s": 10 * k, "duration_s": 60, "cpu_cores": 1, "memory_gib": 1}
                        for k in range(3)])


def test_report_out_fifo_with_overwrite_is_refused_and_left_a_fifo(results_dir, tmp_path):
    fifo = fifo_at(tmp_path / "f.html")
    one_error_line(invoke("report", results_dir, "--out", fifo, "--overwrite"),
                   f"--out {fifo}: is a FIFO or pipe, not a regular file")
    assert still_fifo(fifo)


def test_a_results_directorys_own_report_html_fifo_is_not_replaced(results_dir):
    fifo = fifo_at(results_dir / "report.html")
    line = one_error_line(invoke("report", results_dir, "--overwrite"), f"{fifo}: is a FIFO or pipe")
    assert "--out" not in line  # the user gave no --out
    assert still_fifo(fifo)


@pytest.mark.parametrize("name", ["f.parquet", "f.usage.parquet"])
def test_trace_convert_to_fifo_with_overwrite_is_refused_and_left_a_fifo(trace, tmp_path, name):
    """The output, or the usage file beside it (both checked before reading)."""
    fifo = fifo_at(tmp_path / name)
    one_error_line(invoke("trace", "convert", trace, "--to", tmp_path / "f.parquet", "--overwrite"),
                   f"--to {fifo}: is a FIFO or pipe")
    assert still_fifo(fifo)


def test_trace_generate_to_fifo_with_overwrite_is_refused_and_left_a_fifo(config_path, tmp_path):
    fifo = fifo_at(tmp_path / "f.csv")
    one_error_line(invoke("trace", "generate", config_path, "--to", fifo, "--overwrite"), f"--to {fifo}: is a FIFO")
    assert still_fifo(fifo)


def test_a_regular_file_is_still_replaced_with_overwrite(trace, results_dir, tmp_path):
    old = tmp_path / "old.csv"
    old.write_text("not a trace\n")
    assert invoke("trace", "convert", trace, "--to", old, "--overwrite").exit_code == 0
    assert old.read_text().splitlines()[0].startswith("id,")
    page = tmp_path / "old.html"
    page.write_text("old")
    assert invoke("report", results_dir, "--out", page, "--overwrite").exit_code == 0
    assert page.read_text() != "old" and stat.S_ISREG(os.lstat(page).st_mode)


def test_the_api_refuses_a_fifo_even_with_overwrite(results_dir, tmp_path):
    from simdc.report import write_report

    fifo = fifo_at(tmp_path / "api.html")
    with pytest.raises(OutputError, match="is a FIFO or pipe, not a regular file"):
        write_report(load_results(results_dir), fifo, overwrite=True)
    assert still_fifo(fifo)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".api.html")] == []  # no partial left


def test_a_fifo_that_appears_while_files_are_written_is_not_replaced(tmp_path):
    """Checked again where files are renamed into place: none of them is placed."""
    first, second = tmp_path / "a.csv", tmp_path / "a.usage.csv"
    with pytest.raises(OutputError, match="is a FIFO"):
        with files_placed([first, second]) as files:
            for file in files:
                file.write_text("x\n")
            fifo_at(second)
    assert still_fifo(second) and not first.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["a.usage.csv"]  # no partial directory left
