"""A results or sweep directory damaged on disk (cut, emptied, edited by hand) is input
like any other: one clear error naming the file, or, for a sweep's finished parts, the
damaged runs run again. Never a traceback, never numbers mixed from a damaged file."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

import simdc
from simdc.cli import app
from simdc.errors import InputError
from simdc.results import FILES

DAMAGE = {
    "garbage": lambda data: b"garbage\n",
    "empty": lambda data: b"",
    "cut": lambda data: data[: len(data) // 2],
    "json_open_brace": lambda data: b"{",
}


@pytest.fixture(scope="module")
def written(tmp_path_factory, minimal):
    out = tmp_path_factory.mktemp("r") / "run"
    simdc.simulate(simdc.config.validate(minimal)).write(out)
    return out


@pytest.fixture(scope="module")
def minimal():
    from tests.conftest import MINIMAL
    import copy
    return copy.deepcopy(MINIMAL)


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("name", sorted(FILES))
def test_a_damaged_results_file_is_one_error_naming_it(written, tmp_path, name, damage):
    copy = tmp_path / "run"
    shutil.copytree(written, copy)
    (copy / name).write_bytes(DAMAGE[damage]((written / name).read_bytes()))
    try:
        simdc.load_results(copy)
    except InputError as err:
        assert len(err.problems) == 1 and str(copy / name) in err.problems[0]
    else:  # a cut that still parses must still be the whole table (CSV cut at a row end)
        assert damage == "cut" and name.endswith((".csv", ".toml", ".json"))
        return
    result = CliRunner().invoke(app, ["report", str(copy), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert [line for line in result.output.splitlines() if line.strip()][0].startswith("error: ")
    assert "Traceback" not in result.output


SWEEP = {"simulation": {"duration_s": 1800, "seed": 2, "platforms": ["vm", "container"]},
         "host": {"cpu_cores": 8, "memory_gib": 16},
         "workload": {"synthetic": {"arrival_rate_per_s": 0.01}}}


@pytest.mark.parametrize("damage", ["garbage", "empty", "cut", "cut_at_a_row", "other_point"])
def test_a_sweep_resumed_over_a_damaged_part_runs_it_again(tmp_path, damage):
    config = simdc.config.validate(SWEEP)
    grid = {"host.memory_gib": [16, 32]}
    clean = simdc.sweep(config, grid, replications=2, out=tmp_path / "clean", workers=1)
    out = tmp_path / "s"
    simdc.sweep(config, grid, replications=2, out=out, workers=1)
    (out / "points.csv").unlink()
    part = out / "parts" / "p00001-r0000.csv"
    if damage == "other_point":  # a part copied over another's name
        shutil.copy(out / "parts" / "p00000-r0001.csv", part)
    elif damage == "cut_at_a_row":  # its header and first platform's row only, as a whole CSV
        part.write_text("\n".join(part.read_text().splitlines()[:2]) + "\n")
    else:
        part.write_bytes(DAMAGE[damage](part.read_bytes()))
    again = simdc.sweep(config, grid, replications=2, out=out, workers=1)
    pd.testing.assert_frame_equal(again, clean)
    assert pd.read_csv(out / "points.csv").shape == pd.read_csv(tmp_path / "clean" / "points.csv").shape
    if damage != "cut":  # half a CSV may still hold its header and a whole row
        assert again.attrs["notes"] and "p00001-r0000.csv" in again.attrs["notes"][0]
