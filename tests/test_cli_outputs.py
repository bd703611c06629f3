"""Nothing a user has is replaced without being asked (newuser_report items 1, 2, 4, 7):
every command that writes refuses an output that is its input (always), an existing file
or folder (unless --overwrite), and a folder simdc did not make (even with it); a sweep
that fails before any run leaves no folder it made; a dead run's partial folder is removed
by the next run into the same destination, a live one's kept."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from simdc.cli import app
from simdc.sweeping import _Lost

TRACE = Path(__file__).resolve().parents[2] / "shared" / "traces" / "azure_v2_2019" / "vmtable_subset_20vms_longest.csv"
CONFIG = ('[simulation]\nduration_s = 3600\n[host]\ncpu_cores = 16\nmemory_gib = 32\n'
          '[workload.synthetic]\narrival_rate_per_s = 0.01\n')


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def refused(result, *paths) -> str:
    """Exit code 2 and one ``error:`` line naming every path."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for path in paths:
        assert str(path) in lines[0], (path, lines[0])
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(CONFIG)
    return path


def test_convert_onto_its_input_is_refused_even_with_overwrite_and_the_input_is_unchanged(tmp_path):
    source = tmp_path / "az.csv"
    source.write_bytes(TRACE.read_bytes())
    before = digest(source)
    for extra in ([], ["--overwrite"]):
        refused(invoke("trace", "convert", source, "--format", "azure", "--to", source, *extra), source)
        assert digest(source) == before
    # another spelling of the same file, through a symbolic link, is the input too
    (tmp_path / "link.csv").symlink_to(source)
    refused(invoke("trace", "convert", source, "--format", "azure", "--to", tmp_path / "link.csv", "--overwrite"),
            tmp_path / "link.csv")
    assert digest(source) == before


def test_convert_and_generate_ask_for_overwrite_before_replacing_a_file(tmp_path, config):
    notes = tmp_path / "notes.parquet"
    notes.write_text("my notes\n")
    refused(invoke("trace", "convert", TRACE, "--format", "azure", "--to", notes), notes, "--overwrite")
    assert notes.read_text() == "my notes\n"
    assert invoke("trace", "convert", TRACE, "--format", "azure", "--to", notes, "--overwrite").exit_code == 0
    assert notes.read_bytes()[:4] == b"PAR1"  # now the trace, as asked

    generated = tmp_path / "gen.csv"
    generated.write_text("mine\n")
    refused(invoke("trace", "generate", config, "--to", generated), generated)
    assert generated.read_text() == "mine\n"
    refused(invoke("trace", "generate", config, "--to", config, "--overwrite"), config)
    assert config.read_text() == CONFIG
    assert invoke("trace", "generate", config, "--to", generated, "--overwrite").exit_code == 0
    assert generated.read_text() != "mine\n"


def test_plan_out_refuses_an_earlier_plan_without_overwrite_and_a_foreign_folder_always(tmp_path, config):
    out = tmp_path / "plan1"
    args = ["plan", config, "--slo", "rejection_rate<=0.5", "--max-hosts", "2", "--out", out]
    assert invoke(*args).exit_code == 0
    (out / "plan.csv").write_text("earlier\n")
    refused(invoke(*args), out, "--overwrite")
    assert (out / "plan.csv").read_text() == "earlier\n"
    assert invoke(*args, "--overwrite").exit_code == 0
    assert (out / "plan.csv").read_text() != "earlier\n"

    mine = tmp_path / "mydir"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep\n")
    for extra in ([], ["--overwrite"]):
        refused(invoke(*args[:-1], mine, *extra), mine)
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_report_out_asks_for_overwrite_and_never_writes_onto_its_input(tmp_path, config):
    results = tmp_path / "r"
    assert invoke("run", config, "--out", results).exit_code == 0
    afile = tmp_path / "afile"
    afile.write_text("mine\n")
    refused(invoke("report", results, "--out", afile), afile)
    assert afile.read_text() == "mine\n"
    summary = results / "summary.csv"
    before = digest(summary)
    refused(invoke("report", results, "--out", summary, "--overwrite"), summary)
    assert digest(summary) == before
    assert invoke("report", results, "--out", afile, "--overwrite").exit_code == 0
    assert "<html" in afile.read_text().lower()


def test_a_sweep_that_fails_before_any_run_leaves_no_folder_and_one_that_ran_keeps_its_runs(
        tmp_path, config, monkeypatch):
    def unreachable(todo, finished, *args):
        raise _Lost("no Dask scheduler there (connection refused)")

    monkeypatch.setattr("simdc.sweeping._on_dask", unreachable)
    out = tmp_path / "deeper" / "sw"
    line = refused(invoke("sweep", config, "--grid", "host.memory_gib=16,32", "--workers", "2", "--out", out))
    assert not out.exists() and "was not kept" in line
    given = tmp_path / "empty"
    given.mkdir()
    refused(invoke("sweep", config, "--grid", "host.memory_gib=16,32", "--workers", "2", "--out", given))
    assert given.is_dir() and not any(given.iterdir())  # the user's folder stays, as it was

    def one_then_lost(todo, finished, scheduler, workers, check_memory):
        from simdc.sweeping import run_point

        p, r, cfg, seed = todo[0]
        finished(p, r, seed, run_point(cfg, seed, check_memory))
        raise _Lost("the scheduler was lost")

    monkeypatch.setattr("simdc.sweeping._on_dask", one_then_lost)
    line = refused(invoke("sweep", config, "--grid", "host.memory_gib=16,32", "--workers", "2", "--out", out))
    assert "1 of 2 runs are kept" in line
    assert len(list((out / "parts").glob("p*-r*.csv"))) == 1


def partial_of(parent: Path, name: str, pid: int, suffix: str = "0123abcd") -> Path:
    """A partial folder as a run of ``pid`` on this host leaves it (simdc.results._make_partial)."""
    path = parent / f".{name}.partial-{pid}@{socket.gethostname().replace('/', '_') or 'localhost'}-{suffix}"
    path.mkdir()
    (path / "summary.csv").write_text("half\n")
    return path


def test_the_next_run_removes_a_dead_runs_partial_folder_and_keeps_a_live_ones(tmp_path, config):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.1)
        stale = partial_of(tmp_path, "out", dead.pid)
        running = partial_of(tmp_path, "out", live.pid)
        # a thread's id answers kill(id, 0) as a process would (item 7: the dead pid was soon
        # another's): it is not a live run
        stop = threading.Event()
        thread = threading.Thread(target=stop.wait)
        thread.start()
        try:
            of_thread = partial_of(tmp_path, "out", thread.native_id)
            # a live process that started after a partial folder was last written did not make it
            reused = partial_of(tmp_path, "out", live.pid, suffix="89abcdef")
            an_hour_ago = time.time() - 3600
            os.utime(reused, (an_hour_ago, an_hour_ago))
            result = invoke("run", config, "--out", tmp_path / "out")
        finally:
            stop.set()
            thread.join()
        assert result.exit_code == 0, result.output
        assert not stale.exists() and not of_thread.exists() and not reused.exists()
        assert running.is_dir() and (running / "summary.csv").read_text() == "half\n"
        assert (tmp_path / "out" / "manifest.json").is_file()
    finally:
        live.kill()
        live.wait()


@pytest.mark.parametrize("command", [
    ["run", "--overwrite"],
    ["sweep", "--grid", "host.memory_gib=16,32", "--workers", "1"],
    ["plan", "--slo", "rejection_rate<=0.5", "--overwrite"],
])
def test_a_folder_output_that_is_the_config_is_refused_naming_it_and_the_config_is_unchanged(
        tmp_path, config, command):
    line = refused(invoke(command[0], config, *command[1:], "--out", config), config)
    assert "is the input" in line
    assert config.read_text() == CONFIG
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]


def test_plan_csv_writes_host_counts_as_integers_beside_an_empty_one(tmp_path):
    """host64g's VMs cannot meet the SLO at any count (their row's counts are empty), which
    made pandas write the containers' count as "5.0"; a count of hosts is an integer."""
    import csv

    out = tmp_path / "p"
    result = CliRunner().invoke(app, ["plan", str(Path(__file__).resolve().parents[1] / "configs" / "host64g.toml"),
                                      "--slo", "rejection_rate<=0.01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = {r["platform"]: r for r in csv.DictReader(open(out / "plan.csv"))}
    assert rows["vm"]["hosts_needed"] == rows["vm"]["hosts_total"] == ""
    for column in ("hosts_needed", "hosts_total"):
        assert rows["container"][column].isdigit() and int(rows["container"][column]) >= 1, rows["container"]


@settings(max_examples=200, deadline=None)
@given(value=st.floats(1e-3, 1e7), sign=st.sampled_from([1, -1]))
def test_a_plan_margin_reads_as_a_number_without_an_exponent(value, sign):
    """A margin of 99.98 showed as '+1e+02'."""
    from simdc.cli import _margin

    text = _margin(sign * value)
    assert "e" not in text and text[0] == ("+" if sign > 0 else "-")
    back = float(text.replace(",", ""))
    assert abs(back - sign * value) <= max(0.5, 0.005 * value), (value, text)
