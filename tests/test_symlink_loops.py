"""A loop of symbolic links, wherever a path is given (a trace, --out, trace generate's
--to), is one error line naming it and exit 2: Python 3.11's ``Path.resolve()`` raises
RuntimeError("Symlink loop") for it, which was a traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from simdc.cli import app

CONFIG = """\
[simulation]
duration_s = 600
[host]
cpu_cores = 4
memory_gib = 8
[workload]
{workload}
"""


@pytest.fixture
def loop(tmp_path):
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    return tmp_path


def one_error(result, path: str) -> None:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: ") and "a loop of symbolic links" in lines[0], lines
    assert path in lines[0], lines


def test_a_trace_path_that_loops(loop):
    config = loop / "c.toml"
    config.write_text(CONFIG.format(workload='trace = "loop1"'))
    one_error(CliRunner().invoke(app, ["run", str(config), "--no-write"]), "loop1")


@pytest.mark.parametrize("command", [["run", "{config}", "--out", "{loop}"],
                                     ["trace", "generate", "{config}", "--to", "{loop}"]])
def test_an_output_path_that_loops(loop, command):
    config = loop / "c.toml"
    config.write_text(CONFIG.format(workload="synthetic = { arrival_rate_per_s = 0.01 }"))
    args = [part.format(config=config, loop=loop / "loop1") for part in command]
    one_error(CliRunner().invoke(app, args), "loop1")
