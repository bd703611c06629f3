"""Fail safe (issue #15): a results destination that is full, read-only, a mount point,
taken or being written by another run gives one ``error:`` line and exit code 2, is
refused before the simulation runs, and leaves nothing half-written; Ctrl-C is one line
and exit code 130; permissions follow the umask; the API and the CLI each speak their own
language."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import simdc
from simdc import load_config
from simdc.cli import app
from simdc.errors import OutputError
from simdc.results import FILES

ROOT = Path(__file__).resolve().parents[1]
SIMDC = [sys.executable, "-m", "simdc"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, *args):
    return runner.invoke(app, [str(a) for a in args])


def one_error_line(result, *fragments: str) -> str:
    """Exit code 2 and exactly one ``error:`` line on stderr, holding every fragment."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def hidden(directory: Path) -> list[str]:
    """What a write may leave behind: hidden partial directories, locks, temporary files."""
    return sorted(p.name for p in directory.rglob(".*"))


@pytest.fixture
def no_simulation(monkeypatch):
    """Make the CLI's simulation fail the test: a refusal must come before it."""

    def simulate(*args, **kwargs):
        raise AssertionError("simulated although the destination was bad")

    monkeypatch.setattr("simdc.cli.simulate", simulate)


@contextlib.contextmanager
def tmpfs(directory: Path, *options: str):
    """A small tmpfs mounted on ``directory`` (root only; the test is skipped otherwise)."""
    directory.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(directory)],
                             capture_output=True) if os.geteuid() == 0 else None
    if mounted is None or mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield directory
    finally:
        subprocess.run(["umount", str(directory)], check=True)


# --- full, read-only, mount points ---------------------------------------------------------

def test_disk_full_while_writing_says_the_finished_simulation_was_lost(runner, config_path, tmp_path, monkeypatch):
    """ENOSPC half-way through the write (the second Parquet file): one error line saying the
    simulation finished but nothing could be written, and no partial directory left."""
    import simdc.results

    original = simdc.results.write_parquet
    calls = []

    def write_parquet(frame, path):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(frame, path)

    monkeypatch.setattr(simdc.results, "write_parquet", write_parquet)
    out = tmp_path / "run"
    result = invoke(runner, "run", config_path, "--out", out)
    one_error_line(result, "the simulation finished but its results could not be written to", str(out),
                   "no space left on device")
    assert not out.exists()
    assert hidden(tmp_path) == []


def test_a_real_full_tmpfs_gives_one_line_and_leaves_it_empty(runner, config_path, tmp_path):
    """The same on a 64 KiB tmpfs that really fills up (pyarrow's own error included)."""
    with tmpfs(tmp_path / "small", "size=64k") as small:
        result = invoke(runner, "run", config_path, "--out", small / "run")
        one_error_line(result, "no space left on device", "nothing was written")
        assert list(small.iterdir()) == []


def test_a_report_that_fills_the_disk_names_the_results_directory_and_says_nothing_was_written(runner, config_path,
                                                                                                tmp_path):
    """--report on a tmpfs that holds a run's tables but not its report (the page embeds
    plotly.js, megabytes): the same line as a full disk without --report, naming the --out
    given, not the hidden directory the report was written in (gone with it: the line
    said ``.run.partial-PID@HOST/report.html: cannot write the report``)."""
    with tmpfs(tmp_path / "small", "size=1m") as small:
        fits = invoke(runner, "run", config_path, "--out", small / "tables")
        assert fits.exit_code == 0, fits.output  # the tables alone fit
        shutil.rmtree(small / "tables")
        out = small / "run"
        line = one_error_line(invoke(runner, "run", config_path, "--out", out, "--report"),
                              f"could not be written to {out}: no space left on device", "nothing was written")
        assert ".partial" not in line
        assert list(small.iterdir()) == []


def test_a_read_only_destination_is_refused_before_simulating(runner, config_path, tmp_path, no_simulation):
    """A read-only file system (or, without root, a directory without write permission)."""
    if os.geteuid() == 0:
        with tmpfs(tmp_path / "ro", "ro", "size=64k") as readonly:
            one_error_line(invoke(runner, "run", config_path, "--out", readonly / "run"),
                           str(readonly), "read-only file system")
    else:
        readonly = tmp_path / "ro"
        readonly.mkdir()
        readonly.chmod(0o555)
        one_error_line(invoke(runner, "run", config_path, "--out", readonly / "run"),
                       str(readonly), "permission denied")


def test_an_empty_mount_point_as_out_is_refused_before_simulating(runner, config_path, tmp_path, no_simulation):
    """A mount point cannot be renamed over ("Device or resource busy"): say so, first."""
    with tmpfs(tmp_path / "mnt", "size=64k") as mount:
        one_error_line(invoke(runner, "run", config_path, "--out", mount), "mount point", str(mount / "simdc-results"))
        assert list(mount.iterdir()) == []


# --- existing destinations: refused first, in each language --------------------------------

def test_an_existing_out_is_refused_before_simulating(runner, config_path, tmp_path, no_simulation):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    one_error_line(invoke(runner, "run", config_path, "--out", out), "already exists", "--overwrite")
    # --overwrite never deletes a directory simdc did not write
    one_error_line(invoke(runner, "run", config_path, "--out", out, "--overwrite"), "not a simdc results directory")
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("own", [["analysis.ipynb"], [".ipynb_checkpoints/"], ["notes.txt", "figures/"]])
def test_overwrite_keeps_a_results_directory_that_holds_a_file_of_ones_own(runner, config_path, tmp_path,
                                                                          no_simulation, own):
    """A results directory the user has added to (a notebook beside the tables) is not
    replaced even with --overwrite: that would delete what simdc did not write."""
    out = tmp_path / "run"
    out.mkdir()
    for name in FILES:
        (out / name).write_text("a run's file")
    for name in own:
        (out / name).mkdir() if name.endswith("/") else (out / name).write_text("mine")
    before = sorted(p.name for p in out.iterdir())
    first = sorted(name.rstrip("/") for name in own)[0]
    more = f" and {len(own) - 1} more" if len(own) > 1 else ""
    line = one_error_line(invoke(runner, "run", config_path, "--out", out, "--overwrite"),
                          f"holds {first}{more}, which simdc did not write", "--overwrite", "--out")
    assert "overwrite=True" not in line
    assert sorted(p.name for p in out.iterdir()) == before


@pytest.mark.parametrize("config", ["release.toml", "cells.toml"])
def test_every_file_simdc_writes_is_one_overwrite_replaces(tmp_path, config):
    """What a run writes (with services, with cells, with the report) and what a plan
    writes are all files WRITTEN names, so that --overwrite replaces them."""
    from simdc.planning import PlanResult
    from simdc.results import WRITTEN

    out = simdc.simulate(ROOT / "configs" / config).write(tmp_path / "run", report=True)
    written = {p.name for p in out.iterdir()}
    assert written <= WRITTEN and {"report.html", *FILES} <= written, written - WRITTEN
    assert set(PlanResult.MARKS) <= WRITTEN
    again = simdc.simulate(ROOT / "configs" / config).write(out, overwrite=True)
    assert {p.name for p in again.iterdir()} == written - {"report.html"}


def test_a_sweep_into_a_directory_that_is_not_a_sweep_is_refused_before_running(runner, config_path, tmp_path,
                                                                                monkeypatch):
    monkeypatch.setattr("simdc.sweeping.run_point", lambda *a: pytest.fail("ran a point"))
    out = tmp_path / "run"
    out.mkdir()
    (out / "summary.csv").write_text("platform\n")
    one_error_line(invoke(runner, "sweep", config_path, "--grid", "host.memory_gib=16,32", "--workers", "1",
                          "--out", out), "not a sweep's directory", "--out")
    assert sorted(p.name for p in out.iterdir()) == ["summary.csv"]


def test_the_api_says_overwrite_true_and_the_cli_says_dash_dash_overwrite(runner, config_path, tmp_path):
    results = simdc.simulate(load_config(config_path))
    out = results.write(tmp_path / "run")
    with pytest.raises(OutputError) as caught:
        results.write(out)
    assert "overwrite=True" in str(caught.value) and "--" not in str(caught.value)
    with pytest.raises(simdc.ConfigError) as caught:
        simdc.sweep(results.config, {"host.memory_gib": [16]}, replications=0)
    assert "replications" in str(caught.value) and "--" not in str(caught.value)
    line = one_error_line(invoke(runner, "run", config_path, "--out", out), "--overwrite")
    assert "overwrite=True" not in line


# --- two runs at once, and what killed runs leave ------------------------------------------

def test_two_runs_into_the_same_out_at_once_never_replace_each_other(config_path, tmp_path):
    """Started together without --overwrite: exactly one writes DIR, the other exits 2 with
    one error line, and DIR holds the winner's results (told apart by their seeds)."""
    out = tmp_path / "run"
    runs = {seed: subprocess.Popen([*SIMDC, "run", str(config_path), "--out", str(out), "--seed", str(seed)],
                                   cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for seed in (11, 12)}
    outcomes = {seed: (p.wait(timeout=120), p.stderr.read()) for seed, p in runs.items()}
    winners = [seed for seed, (code, _) in outcomes.items() if code == 0]
    assert len(winners) == 1, outcomes
    (loser_code, loser_err), = [o for seed, o in outcomes.items() if seed not in winners]
    assert loser_code == 2 and "Traceback" not in loser_err, loser_err
    lines = loser_err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(out) in lines[0], lines
    assert json.loads((out / "manifest.json").read_text())["seed"] == winners[0]
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert hidden(tmp_path) == []


def test_a_second_run_is_refused_while_the_first_holds_the_destination(config_path, tmp_path, no_simulation):
    """While one run holds DIR (between its check and its rename), another is refused at
    once, naming the holder's pid, and the holder still writes DIR."""
    results = simdc.simulate(load_config(config_path))
    out = tmp_path / "run"
    with simdc.results.Destination(out) as held:
        one_error_line(CliRunner().invoke(app, ["run", str(config_path), "--out", str(out)]),
                       "another simdc run", f"pid {os.getpid()}")
        results.write(held)
    assert json.loads((out / "manifest.json").read_text())["seed"] == results.config.simulation.seed
    assert hidden(tmp_path) == []


def test_a_sweep_into_a_directory_another_run_holds_is_refused_before_running(config_path, tmp_path,
                                                                              monkeypatch):
    monkeypatch.setattr("simdc.sweeping.run_point", lambda *a: pytest.fail("ran a point"))
    with simdc.results.Destination(tmp_path / "s"):
        with pytest.raises(OutputError, match=f"another simdc run \\(pid {os.getpid()}"):
            simdc.sweep(load_config(config_path), {"host.memory_gib": [16]}, out=tmp_path / "s", workers=1)
    assert hidden(tmp_path) == []


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_partial_directories_of_dead_runs_are_removed_by_the_next_run(config_path, tmp_path):
    """Partial directories and lock files, only those whose pid is dead on this host: a
    live run's, and another host's, are kept."""
    host = socket.gethostname()
    dead = tmp_path / f".old.partial-{dead_pid()}@{host}-0123abcd"
    live = tmp_path / f".old.partial-{os.getpid()}@{host}-0123abcd"
    elsewhere = tmp_path / f".old.partial-{dead_pid()}@{host}x-0123abcd"
    for directory in (dead, live, elsewhere):
        directory.mkdir()
        (directory / "summary.csv").write_text("half")
    dead_lock = tmp_path / ".old.lock"
    dead_lock.write_text(f"{dead_pid()}@{host}")
    live_lock = tmp_path / ".other.lock"
    live_lock.write_text(f"{os.getpid()}@{host}")
    simdc.simulate(load_config(config_path)).write(tmp_path / "run")
    assert not dead.exists() and live.exists() and elsewhere.exists()
    assert not dead_lock.exists() and live_lock.exists()


def test_a_killed_run_blocks_nothing_and_its_leftovers_go_with_the_next_run(config_path, tmp_path, write_config):
    """SIGKILL (no cleanup possible) while simulating leaves a partial directory and a lock
    file; the next run into the same directory is not blocked and removes both."""
    slow = write_config({"simulation.duration_s": 3_600_000}, name="slow.toml")
    run = subprocess.Popen([*SIMDC, "run", str(slow), "--out", str(tmp_path / "run")], cwd=tmp_path,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".run.partial-*")):
        assert run.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    run.kill()
    run.wait()
    assert len(hidden(tmp_path)) == 2  # the partial directory and the lock
    results = simdc.simulate(load_config(config_path))
    results.write(tmp_path / "run")
    assert hidden(tmp_path) == []
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["seed"] == results.config.simulation.seed


# --- permissions follow the umask ----------------------------------------------------------

@pytest.mark.parametrize("mask, directory_mode, file_mode", [(0o022, 0o755, 0o644), (0o077, 0o700, 0o600)])
def test_results_and_sweep_files_follow_the_umask(config_path, tmp_path, mask, directory_mode, file_mode):
    """Directories 0777 & ~umask, files 0666 & ~umask (mkdtemp and mkstemp would give
    0700 and 0600), report.html and a sweep's parts included."""
    config = load_config(config_path)
    previous = os.umask(mask)
    try:
        out = simdc.simulate(config).write(tmp_path / "run", report=True)
        swept = tmp_path / "sweep"
        simdc.sweep(config, {"host.memory_gib": [16]}, out=swept, workers=1)
    finally:
        os.umask(previous)
    for root in (out, swept):
        for path in [root, *root.rglob("*")]:
            want = directory_mode if path.is_dir() else file_mode
            assert stat.S_IMODE(path.stat().st_mode) == want, (path, oct(path.stat().st_mode))
    assert (out / "report.html").is_file()


# --- a sweep's disk fills --------------------------------------------------------------------

def test_a_sweep_on_a_full_disk_keeps_its_finished_runs_and_no_temporary_files(runner, config_path, tmp_path):
    """A tmpfs of 16 pages fills after a few runs' files: one error line naming how many
    runs are kept; every file there is whole (no 0-byte temporary files)."""
    with tmpfs(tmp_path / "small", "size=64k") as small:
        out = small / "sweep"
        result = invoke(runner, "sweep", config_path, "--grid", "simulation.seed=" + ",".join(map(str, range(30))),
                        "--workers", "1", "--out", out)
        line = one_error_line(result, "no space left on device", "runs are kept in", str(out))
        kept = int(line.split(" runs are kept")[0].rsplit(";", 1)[1].split(" of ")[0])
        parts = sorted((out / "parts").iterdir())
        assert [p.name for p in parts if p.name.startswith(".")] == []
        assert len(parts) == kept > 0
        assert all(len(pd.read_csv(p)) == 2 for p in parts)  # two platforms, whole
        assert hidden(small) == []


# --- Ctrl-C ------------------------------------------------------------------------------------

def interrupt_when(args: list[str], ready, cwd: Path, timeout_s: float = 120) -> tuple[int, str]:
    """Run ``simdc args`` in its own session, send SIGINT to its process group (as a
    terminal's Ctrl-C does) once ``ready(pid)`` holds, and return its exit code and stderr."""
    process = subprocess.Popen([*SIMDC, *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while not ready(process.pid):
        assert process.poll() is None, ("finished before the interrupt", process.stderr.read())
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGINT)
    return process.wait(timeout=timeout_s), process.stderr.read()


def loaded(library: str):
    """True once the process has mapped ``library`` (it is importing the CLI)."""

    def ready(pid: int) -> bool:
        with contextlib.suppress(OSError):
            return library in Path(f"/proc/{pid}/maps").read_text()
        return False

    return ready


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see the imports")
def test_ctrl_c_while_importing_is_one_line(config_path, tmp_path):
    code, err = interrupt_when(["run", str(config_path), "--out", str(tmp_path / "run")], loaded("numpy"), tmp_path)
    assert code == 130 and err.strip().startswith("interrupted") and "Traceback" not in err, err
    assert not (tmp_path / "run").exists()


def test_ctrl_c_while_simulating_writes_nothing(config_path, tmp_path, write_config):
    """Interrupted once its destination is claimed (the lock exists): "interrupted; nothing
    written", exit 130, no directory, no partial directory, no lock."""
    slow = write_config({"simulation.duration_s": 3_600_000}, name="slow.toml")
    out = tmp_path / "run"
    code, err = interrupt_when(["run", str(slow), "--out", str(out)],
                               lambda pid: (tmp_path / ".run.lock").exists(), tmp_path)
    assert (code, err.strip()) == (130, "interrupted; nothing written")
    assert not out.exists() and hidden(tmp_path) == []


@pytest.mark.parametrize("late", [False, True])
def test_an_interrupt_as_the_partial_directory_is_made_leaves_nothing(tmp_path, monkeypatch, late):
    """Ctrl-C right after the partial directory is made, before its name is kept (CI met
    this window once: the lock seen, SIGINT sent, a partial directory left behind), or
    right after it is kept, before ``with`` has entered (no ``__exit__`` then): neither
    the partial directory nor the lock is left, and the interrupt goes through."""
    from simdc import results

    made = []
    real_mkdir = os.mkdir

    def mkdir_then_interrupted(path, *args, **kwargs):
        real_mkdir(path, *args, **kwargs)
        made.append(Path(path))
        if not late:
            raise KeyboardInterrupt

    monkeypatch.setattr(results.os, "mkdir", mkdir_then_interrupted)
    if late:
        real_make = results._make_partial

        def made_then_interrupted(*args, **kwargs):
            real_make(*args, **kwargs)
            raise KeyboardInterrupt

        monkeypatch.setattr(results, "_make_partial", made_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        with results.Destination(tmp_path / "run"):
            pass
    assert made and not any(path.exists() for path in made)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
