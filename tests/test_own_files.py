"""A results directory's own files are written by their writer only (found by a new user):
`simdc report --out <sweep>/points.csv --overwrite` wrote a page over a sweep's table,
`--out <sweep>/sweep.json` left a sweep that could not be read nor resumed ("holds a
different sweep"), and a plan's evaluations.csv or a trace's --to over a run's
summary.csv went the same way. Every kind of directory simdc writes (a run's, a cells
run's, a sweep's, finished or not, a plan's) is held here file by file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from simdc import load_config
from simdc.cli import app
from simdc.errors import OutputError
from simdc.report import write_report

ROOT = Path(__file__).resolve().parents[1]
HOST64G = ROOT / "configs" / "host64g.toml"
SHORT = ["--set", "simulation.duration_s=3600"]
MEMORIES, REPLICATIONS = (32, 64), 2
SWEEP = ["sweep", HOST64G, "--grid", f"host.memory_gib={','.join(map(str, MEMORIES))}",
         "--replications", REPLICATIONS, *SHORT]


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(result):
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    return result


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    """One directory of each kind, as the commands write them; ``source``, a sweep to report."""
    root = tmp_path_factory.mktemp("own")
    ok(invoke("run", HOST64G, *SHORT, "--report", "--out", root / "run"))
    ok(invoke("run", ROOT / "configs" / "cells.toml", *SHORT, "--out", root / "cells"))
    ok(invoke(*SWEEP, "--out", root / "sweep"))
    ok(invoke("plan", HOST64G, "--slo", "rejection_rate<=0.01", *SHORT, "--out", root / "plan"))
    shutil.copytree(root / "sweep", root / "source")
    shutil.copytree(root / "sweep", root / "unfinished")
    for name in ("points.csv", "aggregate.csv"):  # what a sweep stopped before its tables leaves (_Parts.finish)
        (root / "unfinished" / name).unlink()
    return {name: root / name for name in ("run", "cells", "sweep", "unfinished", "plan", "source")}


KIND_OF = {"run": "a run's results directory", "cells": "a run's results directory", "sweep": "a sweep's directory",
           "unfinished": "a sweep's directory", "plan": "a plan's directory"}
# What each holds, counted from what was asked: a run's seven files (and its report), a cells
# run's cells.csv besides; a sweep's record, two tables and one part per point and replication.
RUNS = len(MEMORIES) * REPLICATIONS
HELD = {"run": 8, "cells": 8, "sweep": 3 + RUNS, "unfinished": 1 + RUNS, "plan": 2}


def held(directory: Path) -> list[Path]:
    return sorted(path for path in directory.rglob("*") if path.is_file())


@pytest.mark.parametrize("kind", list(KIND_OF))
def test_every_file_a_directory_holds_is_one_of_its_kinds_own(made, kind):
    """KINDS held to what the writers write: each file is its directory's own, of its kind."""
    from simdc.results import own_file

    files = held(made[kind])
    assert len(files) == HELD[kind], files
    for path in files:
        assert own_file(path) == (made[kind], KIND_OF[kind], str(path.relative_to(made[kind]))), path


@pytest.mark.parametrize("kind", list(KIND_OF))
def test_a_report_never_replaces_a_file_of_a_results_directory_even_with_overwrite(made, kind):
    source = made["source"]
    points = pd.read_csv(source / "points.csv")
    for path in held(made[kind]):
        if path.name == "report.html":  # the report's own place: written again
            continue
        before = path.read_bytes()
        result = invoke("report", source, "--out", path, "--overwrite")
        assert result.exit_code == 2, (path, result.output)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith(f"error: --out {path}: is {made[kind]}'s own "), lines
        assert "even with --overwrite" in lines[0] and KIND_OF[kind] in lines[0]
        with pytest.raises(OutputError, match="a file of its results") as refused:
            write_report(points, path, overwrite=True)
        assert str(path) in refused.value.problems[0] and "overwrite=True" in refused.value.problems[0]
        assert path.read_bytes() == before, path


@pytest.mark.parametrize("kind", list(KIND_OF))
def test_a_trace_never_replaces_a_file_of_a_results_directory_even_with_overwrite(made, kind):
    for path in held(made[kind]):
        before = path.read_bytes()
        result = invoke("trace", "generate", HOST64G, "--to", path, "--overwrite")
        assert result.exit_code == 2, (path, result.output)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith(f"error: --to {path}: is {made[kind]}'s own "), lines
        assert path.read_bytes() == before, path


def test_an_unfinished_sweeps_tables_are_not_made_by_another_output(made):
    """points.csv marks a sweep finished: a report or a run's directory there would."""
    unfinished = made["unfinished"]
    for args in (("report", made["source"], "--out", unfinished / "points.csv"),
                 ("run", HOST64G, *SHORT, "--out", unfinished / "points.csv"),
                 ("run", HOST64G, *SHORT, "--out", unfinished / "parts", "--overwrite"),
                 ("run", HOST64G, *SHORT, "--out", made["cells"] / "services.csv")):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert f"{args[args.index('--out') + 1]}: is " in result.stderr and "own" in result.stderr, result.stderr
    assert not (unfinished / "points.csv").exists() and not (made["cells"] / "services.csv").exists()


def test_a_sweep_refused_as_an_output_is_still_read_and_resumed(made):
    """After every refusal above (any order), the sweep reads and its rerun adds nothing."""
    sweep = made["sweep"]
    for path in held(sweep):
        invoke("report", made["run"], "--out", path, "--overwrite")
    tables = {path: path.read_bytes() for path in held(sweep) if path.name != "report.html"}
    ok(invoke("report", sweep))
    ok(invoke(*SWEEP, "--out", sweep))
    assert {path: path.read_bytes() for path in held(sweep) if path.name != "report.html"} == tables
    platforms = load_config(HOST64G).simulation.platforms
    assert len(pd.read_csv(sweep / "points.csv")) == RUNS * len(platforms)  # a row per run and platform


def test_a_report_is_still_written_at_its_own_place(made):
    for kind in ("run", "sweep"):
        ok(invoke("report", made["source"], "--out", made[kind] / "report.html", "--overwrite"))
