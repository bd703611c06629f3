"""A command that fails before writing leaves no folder it made: not its default
``results/STEM-STAMP``, not ``results/`` itself (the new user's failed sweep left an
empty ``results/``), not the folders above an ``--out`` it had to make. Folders that
were there before stay."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simdc.cli import app

# a trace simdc cannot read: each command fails after it has claimed its destination
BAD_TRACE = ["--set", 'workload.trace="bad.csv"', "--unset", "workload.synthetic"]
COMMANDS = {
    "run": ["run", "config.toml", *BAD_TRACE],
    "sweep": ["sweep", "config.toml", *BAD_TRACE, "--grid", "host.memory_gib=16,32", "--workers", "1"],
    "plan": ["plan", "config.toml", *BAD_TRACE, "--slo", "rejection_rate<=0.01"],
}


def tree(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@pytest.fixture
def here(tmp_path, write_config, monkeypatch) -> Path:
    write_config()
    (tmp_path / "bad.csv").write_text("foo,bar\n1,2\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_failed_command_leaves_no_default_results_folder(here, command):
    before = tree(here)
    result = CliRunner().invoke(app, COMMANDS[command])
    assert result.exit_code == 2, result.output
    assert tree(here) == before  # neither results/STEM-STAMP nor results/


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_results_folder_that_was_there_stays(here, command):
    (here / "results").mkdir()
    result = CliRunner().invoke(app, COMMANDS[command])
    assert result.exit_code == 2, result.output
    assert (here / "results").is_dir() and not os.listdir(here / "results")


@pytest.mark.parametrize("command", ["run", "sweep", "plan"])
def test_a_failed_command_leaves_no_folder_it_made_for_out(here, command):
    (here / "kept").mkdir()
    before = tree(here)
    result = CliRunner().invoke(app, [*COMMANDS[command], "--out", "kept/a/b/out"])
    assert result.exit_code == 2, result.output
    assert tree(here) == before  # kept/ stays, empty; a/ and a/b/ go
