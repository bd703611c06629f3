"""SIGTERM (what ``timeout``, systemd, Kubernetes and CI's cancelling send) is handled as
Ctrl-C is: the same clean-up (no ``.OUT.lock``, no ``.OUT.partial-*``, no sweep folder
with no finished run, no Dask worker left), one line saying "terminated", and exit code
143 = 128 + 15 (SIGTERM's number, signal(7); the shell's convention for a process a
signal ended). It was the signal's default action: exit 143 with no word, and the lock and
partial folder left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "host64g.toml"
LONG = "simulation.duration_s=3000000"  # a run of many seconds: stopped long before its end

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _start(tmp_path: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "simdc", *args], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for(found, child: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not found():
        assert child.poll() is None, f"ended first: {child.stderr.read()}"
        assert time.monotonic() < deadline, "never got there"
        time.sleep(0.01)


def test_sigterm_during_a_run_removes_its_partial_folder_and_lock_and_exits_143(tmp_path):
    out = tmp_path / "X"
    child = _start(tmp_path, "run", str(CONFIG), "--set", LONG, "--out", str(out))
    _wait_for(lambda: any(p.name.startswith(".X.partial-") for p in tmp_path.iterdir()), child)
    time.sleep(0.3)  # simulating now
    child.send_signal(signal.SIGTERM)
    code = child.wait(timeout=60)
    assert (code, child.stderr.read().splitlines()) == (128 + signal.SIGTERM, ["terminated; nothing written"])
    assert list(tmp_path.iterdir()) == []  # neither X, nor .X.lock, nor .X.partial-*


def test_sigterm_to_a_sweep_on_two_workers_before_any_run_leaves_no_folder_nor_worker(tmp_path):
    out = tmp_path / "S"
    child = _start(tmp_path, "sweep", str(CONFIG), "--set", LONG, "--grid", "host.memory_gib=32,64",
                   "--workers", "2", "--out", str(out))
    _wait_for(lambda: (out / "sweep.json").exists(), child)
    time.sleep(3)  # the workers started and running
    os.killpg(child.pid, signal.SIGTERM)  # as systemd and CI stop a job: every process of the group
    code = child.wait(timeout=60)
    said = child.stderr.read().splitlines()
    assert code == 128 + signal.SIGTERM
    assert said == [f"terminated; no run had finished, and {out} was not kept"]
    assert list(tmp_path.iterdir()) == []
    deadline = time.monotonic() + 20  # the workers, forkserver and resource tracker end with the sweep
    while _group(child.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _group(child.pid) == []


def _group(pgid: int) -> list[int]:
    """The live processes of process group ``pgid`` (from /proc; none where it is not)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(int(entry.name))
    return alive
