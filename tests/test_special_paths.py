"""A config or trace path that exists but is no regular file (a FIFO, ``/dev/stdin``, a
process substitution, ``/dev/null``) is refused with what it is, exit 2 and one line:
it was called "not found", which it is not (stat(2): S_ISFIFO, S_ISCHR)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from simdc.cli import app

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "cfg.fifo"
    os.mkfifo(path)
    return path


def _errors(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.strip()]


def test_a_config_that_is_a_fifo_is_said_to_be_one_not_missing(fifo):
    result = CliRunner().invoke(app, ["run", str(fifo), "--no-write"])
    assert result.exit_code == 2
    assert _errors(result) == [f"error: {fifo}: is not a regular file (a FIFO or pipe); give the config's TOML "
                               "file (to use a generated config, write it to a file first)"]


def test_dev_null_as_a_config_is_said_to_be_a_device():
    result = CliRunner().invoke(app, ["run", "/dev/null", "--no-write"])
    assert result.exit_code == 2
    assert len(_errors(result)) == 1 and "is not a regular file (a character device)" in result.output


def test_dev_stdin_from_a_pipe_is_said_to_be_a_pipe(tmp_path):
    # the way an operator feeds a generated config: `envsubst < c.toml | simdc run /dev/stdin`
    done = subprocess.run([sys.executable, "-m", "simdc", "run", "/dev/stdin", "--no-write"], input="[host]\n",
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["error: /dev/stdin: is not a regular file (a FIFO or pipe); give the "
                                        "config's TOML file (to use a generated config, write it to a file first)"]


def test_a_trace_that_is_a_fifo_is_said_to_be_one_not_missing(fifo):
    result = CliRunner().invoke(app, ["trace", "inspect", str(fifo)])
    assert result.exit_code == 2
    assert _errors(result) == [f"error: {fifo}: is not a regular file (a FIFO or pipe); give the trace's file or "
                               "folder (to use a generated trace, write it to a file first)"]


@pytest.mark.parametrize("key", ["cost.price_series", "cost.carbon_series", "services.0.demand.trace",
                                 "services.0.demand.series"])
def test_a_series_or_demand_file_that_is_a_fifo_is_refused_not_waited_on(tmp_path, fifo, key):
    """A price or carbon series or a service's demand file given as a FIFO waited for ever
    (read by name, as every input is); now one line naming the key, exit 2."""
    config = tmp_path / "c.toml"
    config.write_text('[simulation]\nduration_s = 600\n[host]\ncpu_cores = 8\nmemory_gib = 16\n'
                      '[workload.synthetic]\narrival_rate_per_s = 0.01\n'
                      '[[services]]\nname = "web"\nreplicas = 1\ncpu_cores = 1\nmemory_gib = 1\n')
    command = [sys.executable, "-m", "simdc", "run", str(config), "--no-write", "--set", f"{key}={fifo}"]
    if key == "cost.carbon_series":  # a [cost] table needs its prices too
        command += ["--set", "cost.price_per_kwh=0.2"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"{fifo}: is not a regular file (a FIFO or pipe)" in lines[0], lines


@pytest.mark.parametrize("key", ["cost.price_series", "services.0.demand.trace"])
def test_a_folder_given_as_a_series_or_demand_file_names_the_key(tmp_path, key):
    """It said "<folder>: cannot read: Is a directory", naming neither key nor config."""
    config = tmp_path / "c.toml"
    config.write_text('[simulation]\nduration_s = 600\n[host]\ncpu_cores = 8\nmemory_gib = 16\n'
                      '[workload.synthetic]\narrival_rate_per_s = 0.01\n'
                      '[[services]]\nname = "web"\nreplicas = 1\ncpu_cores = 1\nmemory_gib = 1\n')
    folder = tmp_path / "adir"
    folder.mkdir()
    result = CliRunner().invoke(app, ["run", str(config), "--no-write", "--set", f"{key}={folder}"])
    assert result.exit_code == 2
    lines = _errors(result)
    assert len(lines) == 1 and lines[0].startswith(f"error: --set {key}=")  # (the value clipped if long)
    assert lines[0].endswith(f": {folder}: is a folder; give the file")
