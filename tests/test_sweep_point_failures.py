"""A sweep point whose run fails on bad input (a trace that cannot be read) is said as
the other ways a sweep stops are: which run (the point's grid values, its replication and
seed), the error, and how many runs are kept and how to resume; the error keeps its
class. Expected counts come from the grid: the points before the bad one, times the
replications, are the runs that had finished (``--workers 1`` runs them in order)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import tomli_w
from typer.testing import CliRunner

import simdc
from simdc.cli import app
from simdc.errors import SKIP_HINT, InputError

TRACE = "id,submit_s,duration_s,cpu_cores,memory_gib\na,0,3600,2,4\nb,10,600,1,2\nc,20,100,1,1\n"
SEED = 7


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A trace config (simdc's format) beside a good trace and one of random bytes."""
    (tmp_path / "ok.csv").write_text(TRACE)
    (tmp_path / "bin.csv").write_bytes(os.urandom(4000))
    (tmp_path / "okc.toml").write_text(tomli_w.dumps({
        "simulation": {"duration_s": 3600, "seed": SEED},
        "host": {"cpu_cores": 32, "memory_gib": 64},
        "workload": {"format": "simdc", "trace": "ok.csv"}}))
    return tmp_path


def sweep_cli(folder: Path, values: list[str], *args: str):
    grid = "workload.trace=" + ",".join(f'"{v}"' for v in values)
    return CliRunner().invoke(app, ["sweep", str(folder / "okc.toml"), "--grid", grid, *args])


def errors(result) -> list[str]:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    return [line for line in result.stderr.splitlines() if line.strip()]


@pytest.mark.parametrize("replications", [1, 2])
def test_a_point_that_fails_names_its_grid_values_seed_and_the_runs_kept(folder, monkeypatch, replications):
    """The line named neither the point nor what was kept: ``error: bin.csv: binary
    data…`` (a path relative to nowhere said), the good point's part files kept silently."""
    monkeypatch.chdir(folder)
    values = ["ok.csv", "bin.csv"]
    out = folder / "out"
    lines = errors(sweep_cli(folder, values, "--replications", str(replications), "--workers", "1",
                             "--out", str(out)))
    done, total = values.index("bin.csv") * replications, len(values) * replications
    assert len(lines) == 1, lines
    assert lines[0].startswith(f'error: the point workload.trace="bin.csv", replication 0 (seed {SEED}): '
                               f"{folder / 'bin.csv'}: binary data"), lines[0]
    assert lines[0].endswith(f"; {done} of {total} runs are kept in {out}: run the same sweep into it again "
                             "to resume"), lines[0]
    assert len(list((out / "parts").glob("p*-r*.csv"))) == done

    (folder / "bin.csv").write_text(TRACE)  # mended: the same sweep resumes and completes
    resumed = sweep_cli(folder, values, "--replications", str(replications), "--workers", "1", "--out", str(out))
    assert resumed.exit_code == 0, resumed.output
    assert len(list((out / "parts").glob("p*-r*.csv"))) == total


def test_every_line_of_a_bad_rows_error_names_the_point_and_the_hint_stays_last(folder):
    """Bad rows are a line each, then the hint: each line names the point, the last
    problem line says what is kept, the hint is said as a hint."""
    (folder / "rows.csv").write_text("id,submit_s,duration_s,cpu_cores,memory_gib\na,0,3600,2,4\nb,10,600\n"
                                     "c,x,100,1,1\n")
    out = folder / "out"
    lines = errors(sweep_cli(folder, [str(folder / "ok.csv"), str(folder / "rows.csv")], "--workers", "1",
                             "--out", str(out)))
    point = f'error: the point workload.trace="{folder / "rows.csv"}", replication 0 (seed {SEED}): '
    assert len(lines) == 3 and all(line.startswith(point) for line in lines[:2]), lines  # rows 3 and 4
    assert lines[1].endswith(f"; 1 of 2 runs are kept in {out}: run the same sweep into it again to resume")
    assert lines[2] == f"hint: {SKIP_HINT}"


def test_the_api_raises_the_errors_own_class_naming_the_point(folder, monkeypatch):
    """simdc.sweep: an InputError still, its problem naming the point; without out= the
    finished runs are counted, not kept."""
    monkeypatch.chdir(folder)
    config = simdc.load_config(folder / "okc.toml")
    with pytest.raises(InputError) as caught:
        simdc.sweep(config, {"workload.trace": ["ok.csv", "bin.csv"]}, workers=1)
    problem, = caught.value.problems
    assert problem.startswith(f'the point workload.trace="bin.csv", replication 0 (seed {SEED}): '
                              f"{folder / 'bin.csv'}: binary data")
    assert problem.endswith("; 1 of 2 runs had finished (give out= to keep them)")


def test_on_dask_the_line_names_the_point_and_what_it_says_is_kept_is_on_disk(folder):
    """Two local workers: which runs finish before the bad one fails is the machine's, but
    the line names the point and counts the part files left."""
    out = folder / "out"
    lines = errors(sweep_cli(folder, [str(folder / "ok.csv"), str(folder / "bin.csv")], "--workers", "2",
                             "--out", str(out)))
    assert len(lines) == 1, lines
    assert lines[0].startswith(f'error: the point workload.trace="{folder / "bin.csv"}", replication 0 '
                               f"(seed {SEED}): {folder / 'bin.csv'}: binary data"), lines[0]
    kept = re.search(r"; (\d+) of 2 runs are kept in (.+): run the same sweep into it again to resume$", lines[0])
    if kept:
        assert kept[2] == str(out) and len(list((out / "parts").glob("p*-r*.csv"))) == int(kept[1]) > 0
    else:
        assert lines[0].endswith(f"; no run had finished, and {out} was not kept") and not out.exists()
