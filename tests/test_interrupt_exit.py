"""Ctrl-C at any moment once simdc's code runs: one line, ``interrupted`` (or the
command's own), and exit code 130, from ``python -m simdc`` and the ``simdc`` console
script alike, never a traceback nor a death by SIGINT (exit -2).

The moments are not times but points of the run: the child is started with ``-X
importtime``, which writes a line as each module has loaded, and the SIGINT is sent when
the line of a chosen module appears; the child is then loading the next ones (or running).
Before simdc's code runs at all (the interpreter's start, ``site``, runpy finding the
module), an interrupt is the interpreter's to handle, and is not tested here.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "contention.toml"
# simdc's entry point loaded (python -m: its main() is called next; the console script
# runs a line of pip's wrapper first, sys.argv[0]'s re.sub, which no code of simdc's
# can guard); the CLI's typer, the CLI itself; pandas and the engine, which `simdc run`
# imports before it runs
MILESTONES = ("simdc.__main__", "typer", "simdc.cli", "pandas", "simdc.engine.simulation")


def _entry_points() -> dict[str, list[str]]:
    script = shutil.which("simdc", path=str(Path(sys.executable).parent))
    points = {"python -m simdc": [sys.executable, "-X", "importtime", "-m", "simdc"]}
    if script is not None:
        points["simdc script"] = [sys.executable, "-X", "importtime", script]
    return points


def _interrupted_at(command: list[str], milestone: str, tmp_path: Path) -> tuple[int, list[str]]:
    child = subprocess.Popen([*command, "run", str(CONFIG), "--no-write"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    said: list[str] = []
    sent = False
    for line in child.stderr:
        if line.startswith("import time:"):
            if not sent and line.rsplit("|", 1)[-1].strip() == milestone:
                child.send_signal(signal.SIGINT)
                sent = True
            continue
        said.append(line.rstrip("\n"))
    code = child.wait(timeout=60)
    assert sent, f"{milestone} was never imported"
    return code, said


@pytest.mark.parametrize("milestone", MILESTONES)
@pytest.mark.parametrize("entry", sorted(_entry_points()))
def test_an_interrupt_at_any_point_is_one_line_and_exit_130(entry, milestone, tmp_path):
    if entry == "simdc script" and milestone == "simdc.__main__":
        pytest.skip("pip's wrapper runs before simdc's main()")
    code, said = _interrupted_at(_entry_points()[entry], milestone, tmp_path)
    assert code == 130, (code, said)
    assert len(said) == 1 and said[0].startswith("interrupted"), said


def test_an_interrupt_wrapped_by_python_is_said_as_an_interrupt(monkeypatch, capsys):
    """Python 3.11 wraps a KeyboardInterrupt raised while a class is made (a dataclass of a
    module being imported) in a RuntimeError: main() still says "interrupted" and exits
    130; another error keeps its traceback."""
    import simdc.__main__ as entry
    import simdc.cli

    def wrapped(*args, **kwargs):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise RuntimeError("Error calling __set_name__ on 'Field' instance") from interrupt

    monkeypatch.setattr(simdc.cli, "app", wrapped)
    monkeypatch.setattr(entry, "_ignore_interrupts", lambda: None)
    with pytest.raises(SystemExit) as done:
        entry.main()
    assert done.value.code == 130
    assert capsys.readouterr().err.strip().splitlines() == ["interrupted"]

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(simdc.cli, "app", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        entry.main()
