"""Paths whose bytes are not UTF-8 (0xE9, Latin-1's é; Python holds such a byte as a
surrogate, PEP 383) work as any other: simdc opens every file it hands pyarrow or
pandas' Parquet functions with Python's ``open``, since pyarrow encodes a name as UTF-8
(``pyarrow.fs.FileSystem.from_uri``) and failed with UnicodeEncodeError and a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
import tomli_w
from typer.testing import CliRunner

import simdc
from simdc.cli import app
from simdc.workload.readers import read_trace
from tests.conftest import MINIMAL, set_keys

pytestmark = pytest.mark.skipif(sys.platform != "linux" or sys.getfilesystemencoding() != "utf-8",
                                reason="names of any bytes: Linux's filesystems with a UTF-8 locale")


def latin1(folder, name: str) -> str:
    """``folder/name`` with an 0xE9 byte before the name's suffix, as Python holds it."""
    stem, dot, suffix = name.partition(".")
    return os.fsdecode(os.fsencode(str(folder)) + b"/" + stem.encode() + b"\xe9" + dot.encode() + suffix.encode())


def _invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(tomli_w.dumps(set_keys(MINIMAL, {"simulation.duration_s": 3600})))
    return path


@pytest.mark.parametrize("spill", [False, True])
def test_a_run_into_a_non_utf8_folder_writes_and_reads_back(tmp_path, config, spill):
    out = latin1(tmp_path, "out")
    results = simdc.simulate(config, spill=spill)
    results.write(out)
    back = simdc.load_results(out)
    assert len(back.instances) == len(results.instances) == int(results.summary["submitted"].sum())
    assert back.timeseries.shape == results.timeseries.shape


def test_the_cli_runs_and_reports_into_a_non_utf8_folder(tmp_path, config):
    out = latin1(tmp_path, "out")
    result = _invoke("run", config, "--out", out, "--report")
    assert result.exit_code == 0, result.output
    assert {"instances.parquet", "manifest.json", "report.html", "summary.csv"} <= set(os.listdir(out))
    assert _invoke("report", out, "--out", latin1(tmp_path, "again.html")).exit_code == 0


def test_trace_inspect_and_convert_take_non_utf8_names_both_ways(tmp_path):
    rows = pd.DataFrame({"id": range(50), "submit_s": [60.0 * k for k in range(50)], "duration_s": 120.0,
                         "cpu_cores": 1.0, "memory_gib": 2.0})
    source = latin1(tmp_path, "ok.csv")
    rows.to_csv(source, index=False)
    # as an operator's shell runs it: stdout strict UTF-8 (en_US.UTF-8, or PYTHONIOENCODING)
    inspect = subprocess.run([sys.executable, "-m", "simdc", "trace", "inspect", source], capture_output=True,
                             env={**os.environ, "PYTHONIOENCODING": "utf-8"}, timeout=120)
    assert inspect.returncode == 0, inspect.stderr
    assert os.fsencode(source) in inspect.stdout  # its name as its own bytes, as ls prints it
    parquet = latin1(tmp_path, "c.parquet")
    converted = _invoke("trace", "convert", source, "--to", parquet)
    assert converted.exit_code == 0, converted.output
    back = latin1(tmp_path, "back.csv")
    assert _invoke("trace", "convert", parquet, "--to", back).exit_code == 0
    assert pd.read_csv(back)["id"].tolist() == list(range(50))


def test_a_generated_trace_and_its_usage_go_to_non_utf8_names_and_read_back(tmp_path, config):
    to = latin1(tmp_path, "gen.parquet")
    result = _invoke("trace", "generate", config, "--to", to)
    assert result.exit_code == 0, result.output
    usage = latin1(tmp_path, "gen.usage.parquet")
    assert os.path.exists(usage)
    read = read_trace([to, usage], "simdc")
    assert len(read.instances) == len(pd.read_parquet(open(to, "rb")))
    assert set(read.usage["id"]) <= set(read.instances["id"])


def test_a_fleet_of_cells_writes_into_a_non_utf8_folder(tmp_path):
    from tests.workload.traces import ROOT

    out = latin1(tmp_path, "fleet")
    result = _invoke("run", ROOT / "configs" / "fleet.toml", "--set", "simulation.duration_s=1800", "--out", out)
    assert result.exit_code == 0, result.output
    assert len(simdc.load_results(out).instances) > 0


def test_a_config_named_in_latin1_runs_with_its_report(tmp_path, config):
    """The report's title is the config's name: `run --report` of a config named in
    Latin-1 raised UnicodeEncodeError after simulating (the report written into the
    results directory took the strict encoding); its byte shows as U+FFFD."""
    named = latin1(tmp_path, "caf.toml")
    os.rename(config, named)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "simdc", "run", named, "--out", out, "--report"],
                          capture_output=True, timeout=300)  # as a shell runs it: stdout's bytes as they are
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert "caf\ufffd" in (out / "report.html").read_text(encoding="utf-8")
