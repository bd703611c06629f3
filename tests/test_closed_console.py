"""A console whose reader has gone never loses work (``simdc run X 2>&1 | head -3``).

The command goes on with the rest of its output sent to devnull, as Python's docs advise
(https://docs.python.org/3/library/signal.html#note-on-sigpipe), writes its product whole,
and exits with its own code: 0 when the work succeeded, as ``cmd | head`` expects. Before,
the first write after the reader left raised BrokenPipeError: ``simdc run``'s results
directory was never written, and the command exited 1 with no word.

Each command runs in a child process whose stdout and stderr are a pipe with its read
end closed before the child starts, so that every write meets the closed pipe.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simdc.cli import app


def _simdc(args: list[str], cwd: Path, closed: tuple[str, ...] = ("stdout", "stderr")) -> subprocess.CompletedProcess:
    """``python -m simdc ARGS`` with the streams in ``closed`` a pipe nobody reads; the others captured."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        streams = {name: write_end if name in closed else subprocess.PIPE for name in ("stdout", "stderr")}
        return subprocess.run([sys.executable, "-m", "simdc", *[str(a) for a in args]], cwd=cwd, text=True,
                              timeout=300, **streams)
    finally:
        os.close(write_end)


def _files(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@pytest.mark.parametrize("closed", [("stdout", "stderr"), ("stdout",)], ids=["2>&1 | head", "| head"])
def test_run_into_a_closed_console_writes_its_whole_results_directory_and_exits_0(write_config, tmp_path, closed):
    config = write_config()
    unpiped = CliRunner().invoke(app, ["run", str(config), "--out", str(tmp_path / "unpiped")])
    assert unpiped.exit_code == 0, unpiped.output

    piped = _simdc(["run", config, "--out", tmp_path / "piped"], tmp_path, closed)

    assert piped.returncode == 0, piped.stderr
    assert _files(tmp_path / "piped") == _files(tmp_path / "unpiped")
    assert (tmp_path / "piped" / "summary.csv").read_text() == (tmp_path / "unpiped" / "summary.csv").read_text()
    if piped.stderr is not None:  # stderr was readable: its messages, and no traceback
        assert "Traceback" not in piped.stderr and "BrokenPipeError" not in piped.stderr
        assert f"wrote {tmp_path / 'piped'}" in piped.stderr


@pytest.mark.parametrize("command, product", [
    (["sweep", "{config}", "--grid", "host.cpu_cores=8,16", "--out", "out"], ["out/points.csv", "out/aggregate.csv"]),
    (["plan", "{config}", "--slo", "rejection_rate<=0.5", "--max-hosts", "2", "--out", "out"],
     ["out/plan.csv", "out/evaluations.csv"]),
    (["trace", "generate", "{config}", "--to", "out.parquet"], ["out.parquet", "out.usage.parquet"]),
    (["report", "{results}", "--out", "report.html"], ["report.html"]),
    (["trace", "inspect", "{results}/workload.parquet"], []),
], ids=["sweep", "plan", "trace generate", "report", "trace inspect"])
def test_every_command_into_a_closed_console_does_its_work_and_exits_0(write_config, tmp_path, command, product):
    config = write_config()
    results = tmp_path / "results"
    made = CliRunner().invoke(app, ["run", str(config), "--out", str(results)])
    assert made.exit_code == 0, made.output
    args = [part.format(config=config, results=results) for part in command]

    piped = _simdc(args, tmp_path)

    assert piped.returncode == 0
    for path in product:
        assert (tmp_path / path).is_file() and (tmp_path / path).stat().st_size > 0, path


def test_a_failing_command_into_a_closed_console_keeps_its_exit_code(tmp_path):
    piped = _simdc(["run", tmp_path / "absent.toml"], tmp_path)

    assert piped.returncode == 2
