"""Issue #16: ``import simdc``, ``simdc --help``, ``simdc --version`` and every
``simdc X --help`` load none of the heavy libraries; a command imports what it calls
when it runs.

Each check runs in a fresh interpreter (this one has long since imported everything)
and reads ``sys.modules`` there: what was imported, not how long it took, so the tests
hold on a loaded machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

import pytest

# Seconds each at import (python -X importtime, issue #16): scipy.stats ~1.1, pandas ~0.3
# with numpy, pyarrow through pandas, the engine's simpy; dask and plotly only for the
# commands that use them.
HEAVY = ("scipy", "dask", "distributed", "plotly", "pyarrow", "simpy", "pandas", "numpy")

# Runs in a fresh interpreter: for each command of the app (found by walking the typer
# app, so that a new command is covered without listing it here), the console script's
# entry point with --help, then with --version; prints, as JSON on its last line, the
# heavy top-level packages loaded so far, the exit code and what was printed.
PROBE = """
import contextlib, io, json, sys

HEAVY = set(sys.argv[1].split(","))


def heavy():
    return sorted({name.split(".")[0] for name in sys.modules} & HEAVY)


import simdc

seen = {"import simdc": {"heavy": heavy()}}

from simdc.__main__ import main
from simdc.cli import app
import typer.main


def paths(command, path):
    yield path
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from paths(sub, [*path, name])


for argv in [*([*path, "--help"] for path in paths(typer.main.get_command(app), [])), ["--version"]]:
    sys.argv = ["simdc", *argv]
    printed = io.StringIO()
    code = None
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        try:
            main()
        except SystemExit as exit:
            code = exit.code
    seen["simdc " + " ".join(argv)] = {"heavy": heavy(), "exit": code, "printed": printed.getvalue()}
print(json.dumps(seen))
"""


@pytest.fixture(scope="module")
def probed() -> dict[str, dict]:
    done = subprocess.run([sys.executable, "-c", PROBE, ",".join(HEAVY)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_import_simdc_loads_no_heavy_library(probed):
    assert probed["import simdc"]["heavy"] == []


def test_help_of_every_command_and_version_load_no_heavy_library(probed):
    # The modules accumulate over the commands, in order: the first command shown with a
    # package is the one that imported it.
    loaded = [(command, outcome["heavy"]) for command, outcome in probed.items()]
    assert loaded == [(command, []) for command in probed]


def test_the_probe_reached_every_command_and_each_printed_its_help(probed):
    helps = {command: outcome for command, outcome in probed.items() if command.endswith("--help")}
    # The top level, its commands and the trace group's: a walk that found nothing would pass vacuously.
    for command in ("simdc --help", "simdc run --help", "simdc report --help", "simdc sweep --help",
                    "simdc plan --help", "simdc trace --help", "simdc trace inspect --help",
                    "simdc trace convert --help", "simdc trace generate --help"):
        assert command in helps
    for command, outcome in helps.items():
        assert outcome["exit"] == 0, (command, outcome["printed"])
        assert "Usage:" in outcome["printed"], command
        assert "Traceback" not in outcome["printed"], command


def test_version_prints_the_installed_distributions_version(probed):
    outcome = probed["simdc --version"]
    assert outcome["exit"] == 0
    assert outcome["printed"].strip() == f"simdc {version('simdc')}"


def test_the_sweep_and_plan_modules_load_no_scipy_dask_or_plotly_until_used():
    """A Dask worker imports simdc.sweeping to run a point: scipy.stats (~1 s, for the
    confidence intervals of :func:`simdc.sweeping.aggregate`), dask and plotly stay out."""
    probe = ("import sys, simdc.sweeping, simdc.planning; "
             "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1].split(',')))))")
    done = subprocess.run([sys.executable, "-c", probe, "scipy,dask,distributed,plotly"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_a_trace_run_without_usage_noise_loads_no_scipy(tmp_path):
    """scipy.special (~0.3 s at import) draws the synthetic usage noise only: a replay of
    a trace with no usage series never needs it."""
    trace = tmp_path / "w.csv"
    trace.write_text("id,submit_s,duration_s,cpu_cores,memory_gib\n1,0,10,1,1\n2,5,10,1,1\n")
    probe = ("import sys, simdc; from simdc.config import validate; "
             "simdc.simulate(validate({'simulation': {'duration_s': 60}, 'host': {'cpu_cores': 4, 'memory_gib': 8}, "
             f"'workload': {{'trace': {str(trace)!r}}}}})); "
             "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'dask', 'plotly'})))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1:] in ([], [""])


def test_simdc_run_off_a_terminal_loads_no_progress_bar_and_no_engine_feature_it_does_not_use(tmp_path):
    """``simdc run`` as a script or a benchmark runs it (stderr not a terminal, no
    recommender, no energy meter) never draws a bar nor observes usage: rich.progress
    (with rich.live and its spinners), simdc.engine.recommender and simdc.engine.meter
    stay out, as do scipy, dask and plotly (issue #16, CloudSimPy's workload through
    ``simdc run``). The run itself must succeed, or the probe proves nothing."""
    (tmp_path / "w.csv").write_text("id,submit_s,duration_s,cpu_cores,memory_gib\n1,0,10,1,1\n2,5,10,1,1\n")
    config = tmp_path / "c.toml"
    config.write_text('[simulation]\nduration_s = 60\n[host]\ncpu_cores = 4\nmemory_gib = 8\n'
                      '[workload]\ntrace = "w.csv"\n')
    deferred = ("rich.progress", "rich.live", "simdc.engine.recommender", "simdc.engine.meter", "scipy", "dask",
                "plotly")
    probe = ("import sys\n"
             f"sys.argv = ['simdc', 'run', {str(config)!r}, '--out', {str(tmp_path / 'out')!r}]\n"
             "from simdc.__main__ import main\n"
             "try:\n    main()\nexcept SystemExit as done:\n    code = done.code\n"
             # a package's parent is loaded too
             f"print(code, ','.join(sorted(set(sys.modules) & set({deferred!r}))))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    code, _, loaded = done.stdout.strip().splitlines()[-1].partition(" ")
    assert code in ("0", "None"), done.stderr
    assert (tmp_path / "out" / "instances.parquet").exists()
    assert loaded == ""
