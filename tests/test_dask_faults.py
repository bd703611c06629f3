"""A sweep's Dask failures (issue #15): a malformed scheduler address, no scheduler at
the address, a scheduler killed mid-sweep and Ctrl-C each give one line (exit 2, or 130
for Ctrl-C), never a traceback, and keep the finished runs for a rerun to resume.

Every scheduler here listens on loopback (127.0.0.1) only.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import simdc
from simdc import sweeping
from simdc.cli import app

SIMDC = [sys.executable, "-m", "simdc"]
DASK = [sys.executable, "-m", "distributed.cli.dask_scheduler"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def one_line(stderr: str, *fragments: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def kept_parts(out: Path) -> list[Path]:
    parts = sorted((out / "parts").iterdir())
    assert [p.name for p in parts if p.name.startswith(".")] == []  # no temporary files
    return parts


@pytest.fixture
def slow_config(write_config) -> Path:
    """Runs of a few tenths of a second, so that a sweep is still running when disturbed."""
    return write_config({"simulation.duration_s": 36_000}, name="slow.toml")


@pytest.mark.parametrize("address", ["notaurl", "bad://127.0.0.1:8786"])  # no address; a scheme Dask lacks
def test_a_malformed_scheduler_address_is_one_line(config_path, tmp_path, address):
    result = CliRunner().invoke(app, ["sweep", str(config_path), "--grid", "host.memory_gib=16",
                                      "--scheduler", address, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    one_line(result.stderr, f"error: --scheduler {address!r}", "tcp://")
    assert not (tmp_path / "out").exists()
    with pytest.raises(simdc.ConfigError, match=f"scheduler {address!r}"):
        simdc.sweep(simdc.load_config(config_path), {"host.memory_gib": [16]}, scheduler=address)


def test_no_scheduler_at_the_address_fails_at_once(config_path, tmp_path):
    """Nothing listens on the port: an error well before Dask's 30 s connect timeout,
    nothing run, and no sweep directory left (it would hold no run)."""
    address = f"tcp://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = CliRunner().invoke(app, ["sweep", str(config_path), "--grid", "host.memory_gib=16",
                                      "--scheduler", address, "--out", str(tmp_path / "s")])
    assert time.monotonic() - started < 30
    assert result.exit_code == 2
    one_line(result.stderr, f"error: --scheduler {address}: no Dask scheduler there")
    assert not (tmp_path / "s").exists()


def test_a_scheduler_killed_mid_sweep_is_one_line_and_the_sweep_resumes(slow_config, tmp_path, monkeypatch):
    """A loopback scheduler and one worker; the scheduler is killed once the first run is
    written. The sweep exits 2 with one line saying how many runs are kept; rerun without
    Dask, it runs only the others and its table has every run."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen([*DASK, "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet)
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                               "--nworkers", "1", "--no-dashboard", "--host", "127.0.0.1"], **quiet)
    out = tmp_path / "s"
    grid = "host.memory_gib=" + ",".join(str(16 + i) for i in range(4))
    try:
        sweep = subprocess.Popen([*SIMDC, "sweep", str(slow_config), "--grid", grid, "--scheduler", address,
                                  "--out", str(out)], cwd=tmp_path, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not list((out / "parts").glob("p*.csv")):
            assert sweep.poll() is None, sweep.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        scheduler.kill()
        code, err = sweep.wait(timeout=120), sweep.stderr.read()
    finally:
        for process in (scheduler, worker):
            process.kill()
            process.wait()
    assert code == 2, err
    line = one_line(err, "error: the Dask scheduler at", "was lost", f"kept in {out}")
    kept = len(kept_parts(out))
    assert f"; {kept} of 4 runs are kept" in line

    runs = []
    real = sweeping.run_point
    monkeypatch.setattr(sweeping, "run_point", lambda cfg, seed, *rest: runs.append(seed) or real(cfg, seed, *rest))
    table = simdc.sweep(simdc.load_config(slow_config), sweeping.parse_grid([grid]), out=out, workers=1)
    assert len(runs) == 4 - kept
    assert sorted(table["point"].unique()) == list(range(4))
    assert len(pd.read_csv(out / "points.csv")) == 4 * 2


def interrupted_sweep(config: Path, folder: Path, grid: str, when) -> tuple[subprocess.Popen, str]:
    """``simdc sweep`` on 2 local workers into ``folder/s``, in a session of its own, sent
    SIGINT as a terminal's Ctrl-C is (to the whole process group) as soon as ``when(sweep)``
    holds; it must exit 130. Returns the process and what it printed on stderr."""
    sweep = subprocess.Popen([*SIMDC, "sweep", str(config), "--grid", grid, "--workers", "2",
                              "--out", str(folder / "s")], cwd=folder, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while not when(sweep):
        assert sweep.poll() is None, sweep.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.killpg(sweep.pid, signal.SIGINT)
    code, err = sweep.wait(timeout=60), sweep.stderr.read()
    assert code == 130, err
    return sweep, err


def test_ctrl_c_during_a_local_sweep_is_one_line_and_keeps_finished_runs(slow_config, tmp_path):
    """SIGINT to the process group (the terminal's Ctrl-C reaches the workers too) once a
    run is written: exit 130, one line, no worker tracebacks, the runs kept."""
    out = tmp_path / "s"
    grid = "host.memory_gib=" + ",".join(str(16 + i) for i in range(6))
    _, err = interrupted_sweep(slow_config, tmp_path, grid, when=lambda sweep: list((out / "parts").glob("p*.csv")))
    line = one_line(err, "interrupted;", f"kept in {out}")
    assert f"{len(kept_parts(out))} of 6 runs are kept" in line
    assert not (tmp_path / ".s.lock").exists()



def children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            pass
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc to see the workers start")
def test_ctrl_c_while_the_local_workers_start_is_one_line_and_leaves_no_process(slow_config, tmp_path):
    """SIGINT to the process group as soon as the sweep's first child process exists (its
    workers are starting): exit 130, one line, no sweep directory left (no run had
    finished), and every process it started is gone."""
    sweep, err = interrupted_sweep(slow_config, tmp_path, "host.memory_gib=16,32",
                                   when=lambda sweep: children(sweep.pid))
    one_line(err, f"interrupted; no run had finished, and {tmp_path / 's'} was not kept")
    assert not (tmp_path / "s").exists()
    deadline = time.monotonic() + 10  # workers notice their parent is gone within a second or so
    while in_session(sweep.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert in_session(sweep.pid) == []


def in_session(sid: int) -> list[int]:
    """Live (not zombie) processes of session ``sid``: the sweep and all it started."""
    alive = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # fields: state, ppid, pgrp, session
            alive.append(int(stat_file.parent.name))
    return alive


def test_a_ctrl_c_swallowed_by_a_finaliser_is_noted_silently_and_not_after(monkeypatch):
    """A KeyboardInterrupt raised in a ``__del__`` (CI saw one in a Dask future's, as it was
    freed: Python printed it and the sweep ran to its end) is noted while Dask runs and
    not reported; other errors in finalisers reach the hook as before, and once the sweep
    is over nothing is noted any more."""
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: reported.append(info.exc_type))

    class Interrupted:
        def __del__(self):
            raise KeyboardInterrupt

    class Broken:
        def __del__(self):
            raise ValueError("a finaliser's own error")

    with sweeping._interrupts_noted() as interrupt_noted:
        assert not interrupt_noted()
        Broken()
        assert not interrupt_noted()
        Interrupted()
        assert interrupt_noted()
    assert reported == [ValueError]
    with sweeping._interrupts_noted() as interrupt_noted:
        pass
    Interrupted()
    assert not interrupt_noted() and reported == [ValueError, KeyboardInterrupt]


def test_an_input_error_in_a_cell_on_dask_is_its_line_alone(tmp_path):
    """A trace with a bad row, in a fleet of cells on 2 local Dask workers: each cell's
    task raises the reader's error. Its line and hint are all that is printed, exit 2:
    the workers logged each task's failure with its traceback ("Compute Failed") first."""
    (tmp_path / "bad.csv").write_text("id,submit_s,duration_s,cpu_cores,memory_gib\na,0,100,1,1\nb,0,abc,1,1\n")
    (tmp_path / "c.toml").write_text(
        '[simulation]\nduration_s = 600\n[routing]\nrule = "share"\n'
        '[[cells]]\nname = "a"\nshare = 0.5\nhosts = [{ count = 1, cpu_cores = 8, memory_gib = 32 }]\n'
        '[[cells]]\nname = "b"\nshare = 0.5\nhosts = [{ count = 1, cpu_cores = 8, memory_gib = 32 }]\n'
        '[workload]\ntrace = "bad.csv"\n')
    done = subprocess.run([*SIMDC, "run", str(tmp_path / "c.toml"), "--workers", "2", "--no-write"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 2, lines
    assert lines[0] == f"error: {tmp_path / 'bad.csv'}: line 3: duration_s is not a number (got 'abc')"
    assert lines[1].startswith("hint: to skip bad rows")


# ``simdc sweep`` in a process whose local scheduler holds every worker's heartbeat for a
# minute before answering, and that waits 1.5 s (more than a worker's first heartbeat
# interval, 1 s) before closing its cluster: a heartbeat is then always waiting when the
# workers close, as it sometimes was on a loaded machine (once in ~17 sweeps).
HELD_HEARTBEATS = """
import asyncio, sys, time

import distributed.scheduler

from simdc import sweeping
from simdc.__main__ import main

real_init = distributed.scheduler.Scheduler.__init__


def init(self, *args, **kwargs):
    real_init(self, *args, **kwargs)
    answer = self.handlers["heartbeat_worker"]

    async def held(**kwargs):
        await asyncio.sleep(60)
        return answer(**kwargs)

    self.handlers["heartbeat_worker"] = held


real_close = sweeping._close


def late_close(client, cluster):
    time.sleep(1.5)
    real_close(client, cluster)


distributed.scheduler.Scheduler.__init__ = init
sweeping._close = late_close
sys.argv = ["simdc", *sys.argv[1:]]
main()
"""


def test_workers_closed_after_a_failed_point_say_nothing(tmp_path):
    """A point whose trace is random bytes fails; closing the workers cuts their waiting
    heartbeats ("Failed to communicate with scheduler during heartbeat" and two
    CommClosedError tracebacks, from each worker, before the sweep's line). The sweep's
    one line is all of stderr, exit 2."""
    (tmp_path / "ok.csv").write_text("id,submit_s,duration_s,cpu_cores,memory_gib\na,0,3600,2,4\nb,10,600,1,2\n")
    (tmp_path / "bin.csv").write_bytes(os.urandom(4000))
    (tmp_path / "c.toml").write_text('[simulation]\nduration_s = 3600\n[host]\ncpu_cores = 32\nmemory_gib = 64\n'
                                     '[workload]\nformat = "simdc"\ntrace = "ok.csv"\n')
    (tmp_path / "held.py").write_text(HELD_HEARTBEATS)
    done = subprocess.run([sys.executable, str(tmp_path / "held.py"), "sweep", str(tmp_path / "c.toml"), "--grid",
                           'workload.trace="ok.csv","bin.csv"', "--workers", "2", "--out", str(tmp_path / "s")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert done.returncode == 2, done.stderr
    one_line(done.stderr, 'error: the point workload.trace="bin.csv"', "binary data")
