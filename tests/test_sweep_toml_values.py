"""Every TOML value type through ``--grid`` and ``--set``: a date or a time (with an
offset, local, a date alone, a time alone) runs, or is refused with one line, and is
written where the config's values are (``sweep.json``, ``points.csv``) in a form that
reads back as the value given. Before, a grid of dates ended in a traceback ("Object of
type datetime is not JSON serializable", writing ``sweep.json``) and left an empty
``results/`` folder behind."""

from __future__ import annotations

import datetime
import json
import tomllib

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import simdc.sweeping as sweep_module
from simdc.cli import app
from simdc.sweeping import METRICS, sweep
from tests.conftest import MINIMAL, only_problems, set_keys

UTC = datetime.timezone.utc
COST = ("cost", "cost_energy", "energy_kwh", "carbon_kgco2eq")


@pytest.fixture
def cost_config(tmp_path, write_config):
    """MINIMAL (two hours) with a power draw and an hourly price series over two days,
    2023-06-01 from 00:00 UTC, each hour's price its own (0.10 + 0.01 × hour): a run
    started at another hour pays other prices."""
    rows = [f"{datetime.datetime(2023, 6, 1, tzinfo=UTC) + datetime.timedelta(hours=h):%Y-%m-%dT%H:%M:%SZ},"
            f"{0.10 + 0.01 * h:.2f}" for h in range(48)]
    (tmp_path / "price.csv").write_text("\n".join(["timestamp,value", *rows]) + "\n")
    return write_config({"host.power_idle_w": 100, "host.power_max_w": 300,
                         "cost": {"price_series": str(tmp_path / "price.csv")}})


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def alone(config, setting: str) -> pd.DataFrame:
    """``simdc run CONFIG --set SETTING``'s summary, a row per platform."""
    result = invoke("run", config, "--set", setting, "--no-write", "--format", "json")
    assert result.exit_code == 0, result.output
    return pd.DataFrame(json.loads(result.stdout)).set_index("platform")


def test_a_sweep_over_two_datetimes_matches_two_single_runs(tmp_path, cost_config):
    """The new user's sweep: two date-times with offsets (the second 22:00 UTC, written
    at +02:00) run, and each point's rows equal ``simdc run --set`` of its value; the
    column reads back as the moments given."""
    given = ["2023-06-01T00:00:00Z", "2023-06-02T00:00:00+02:00"]
    out = tmp_path / "s"
    result = invoke("sweep", cost_config, "--grid", "cost.series_start=" + ",".join(given),
                    "--workers", "1", "--out", out, "--metric", "cost")
    assert result.exit_code == 0, result.output
    points = pd.read_csv(out / "points.csv", dtype={"platform": str})
    moments = [pd.Timestamp(text) for text in given]
    assert [pd.Timestamp(text) for text in points["cost.series_start"].unique()] == moments
    costs = []
    for text, moment in zip(given, moments):
        rows = points[points["cost.series_start"].map(pd.Timestamp) == moment].set_index("platform")
        single = alone(cost_config, f"cost.series_start={text}")
        assert list(rows.index) == list(single.index)
        for metric in (*METRICS, *COST):
            pd.testing.assert_series_equal(rows[metric].astype(float), single[metric].astype(float),
                                           check_names=False, rtol=1e-12, obj=metric)
        costs.append(rows["cost"].tolist())
    assert costs[0] != costs[1]  # the two starts pay different hours: a swapped label would show


def test_a_sweep_of_dates_resumes_into_its_own_directory(tmp_path, cost_config, monkeypatch):
    """Run again into its directory after a run was lost, the sweep recognises itself
    (sweep.json), runs the missing run alone, and writes the same points."""
    grid = "cost.series_start=2023-06-01,2023-06-01T05:00:00"
    out = tmp_path / "s"
    first = invoke("sweep", cost_config, "--grid", grid, "--workers", "1", "--out", out)
    assert first.exit_code == 0, first.output
    before = pd.read_csv(out / "points.csv")
    (out / "points.csv").unlink()
    (out / "parts" / "p00001-r0000.csv").unlink()
    ran = []
    real = sweep_module.run_point
    monkeypatch.setattr(sweep_module, "run_point", lambda cfg, seed, check=True: ran.append(seed) or real(cfg, seed))
    again = invoke("sweep", cost_config, "--grid", grid, "--workers", "1", "--out", out)
    assert again.exit_code == 0, again.output
    assert ran == [MINIMAL["simulation"]["seed"]]  # the one run missing, nothing else
    pd.testing.assert_frame_equal(pd.read_csv(out / "points.csv"), before)


def test_a_sweep_refuses_a_directory_of_the_same_texts_as_strings(tmp_path, cost_config):
    """A quoted "2023-06-01" is a string, not the date 2023-06-01: another grid, so
    another sweep's directory is refused rather than taken as this one's."""
    out = tmp_path / "s"
    assert invoke("sweep", cost_config, "--grid", "cost.series_start=2023-06-01",
                  "--workers", "1", "--out", out).exit_code == 0
    (out / "points.csv").unlink()
    result = invoke("sweep", cost_config, "--grid", 'cost.series_start="2023-06-01"', "--workers", "1", "--out", out)
    assert result.exit_code == 2, result.output
    assert "holds a different sweep" in result.output


@pytest.mark.parametrize("values, moments", [
    ("2023-06-01T03:00:00", ["2023-06-01T03:00:00Z"]),  # a local date-time: the series' zone, UTC
    ("2023-06-01,2023-06-02", ["2023-06-01T00:00:00Z", "2023-06-02T00:00:00Z"]),  # a date: its midnight
])
def test_local_datetimes_and_dates_sweep_and_read_back(tmp_path, cost_config, values, moments):
    out = tmp_path / "s"
    result = invoke("sweep", cost_config, "--grid", f"cost.series_start={values}", "--workers", "1", "--out", out)
    assert result.exit_code == 0, result.output
    column = pd.read_csv(out / "points.csv")["cost.series_start"].unique().tolist()
    assert column == values.split(",")  # as written: TOML and ISO 8601
    for text, moment in zip(column, moments):
        written = tomllib.loads(f"v = {text}")["v"]
        assert pd.Timestamp(written).tz_localize(pd.Timestamp(written).tz or "UTC") == pd.Timestamp(moment)
    recorded = json.loads((out / "sweep.json").read_text())
    assert recorded["grid"]["cost.series_start"] == column and recorded["grid_toml"] == ["cost.series_start"]


@pytest.mark.parametrize("grid, said", [
    ("cost.series_start=07:32:00", "cost.series_start: expected a date and time (e.g. 2023-06-01T00:00:00Z) "
                                   "(got the time 07:32:00)"),
    ("host.memory_gib=[2023-06-01]", "host.memory_gib: expected a number (got [2023-06-01])"),
    ("host.memory_gib={a = 2023-06-01T00:00:00Z}", "host.memory_gib: expected a number "
                                                   "(got {a = 2023-06-01T00:00:00+00:00})"),
    ("simulation.platforms=[07:32:00]", "simulation.platforms[0]: expected a string (got the time 07:32:00)"),
])
def test_a_date_or_time_where_none_is_taken_is_one_line_and_leaves_nothing(tmp_path, cost_config, monkeypatch,
                                                                          grid, said):
    """A time alone, and lists and tables of dates, fit no key: refused (exit 2) in one
    line showing the value as TOML, not as Python's repr; no results folder is made."""
    monkeypatch.chdir(tmp_path)
    result = invoke("sweep", cost_config, "--grid", grid, "--workers", "1")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert only_problems(lines) and len(lines) == 1 and lines[0].endswith(said), lines
    assert "datetime." not in result.output
    assert not (tmp_path / "results").exists()


def test_lists_and_tables_through_the_grid_read_back_from_sweep_json(tmp_path, write_config):
    """Arrays and inline tables: sweep.json holds them as JSON (as earlier simdc wrote it,
    so their sweeps still resume), points.csv as TOML text that reads back as them."""
    config = write_config()
    out = tmp_path / "s"
    result = invoke("sweep", config, "--grid", "workload.synthetic.lifetime_s=[600, 1200],{mean = 900}",
                    "--workers", "1", "--out", out)
    assert result.exit_code == 0, result.output
    recorded = json.loads((out / "sweep.json").read_text())
    assert recorded["grid"] == {"workload.synthetic.lifetime_s": [[600, 1200], {"mean": 900}]}
    assert "grid_toml" not in recorded
    column = pd.read_csv(out / "points.csv")["workload.synthetic.lifetime_s"].unique().tolist()
    assert [tomllib.loads(f"v = {text}")["v"] for text in column] == [[600, 1200], {"mean": 900}]


def test_numpy_scalars_in_a_python_grid_run_as_their_values(tmp_path):
    """NumPy's integers in a grid given from Python (not a list JSON holds) run and are
    recorded as the numbers they are."""
    from simdc.config import validate

    config = validate(set_keys(MINIMAL, {"simulation.duration_s": 1800}))
    table = sweep(config, {"host.memory_gib": [np.int64(16), np.int64(32)]}, workers=1, out=tmp_path / "s")
    assert table["host.memory_gib"].unique().tolist() == [16, 32]
    assert json.loads((tmp_path / "s" / "sweep.json").read_text())["grid"] == {"host.memory_gib": [16, 32]}
