"""Sweep grids as a researcher writes them: a grid over the seed runs each point's own
seed, lists and tables are values, a value given twice or a --set the grid replaces is
refused before anything runs."""

from __future__ import annotations

import datetime
import math
import tomllib

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import simdc
import simdc.sweeping as sweep_module
from simdc.cli import app
from simdc.config import validate
from simdc.errors import ConfigError
from simdc.sweeping import METRICS, aggregate, sweep, value_text


def small_config(seed: int = 1):
    return validate({
        "simulation": {"duration_s": 3600.0, "seed": seed, "platforms": ["vm", "container"], "sample_every_s": 600},
        "host": {"cpu_cores": 32, "memory_gib": 64},
        "workload": {"synthetic": {"arrival_rate_per_s": 0.01}},
    })


def _same_as_alone(rows: pd.DataFrame, config, seed: int) -> None:
    """``rows`` (one run's, a row per platform) equal ``simulate(config, seed=seed)``'s
    summary, metric by metric."""
    alone = simdc.simulate(config, seed=seed).summary.set_index("platform")
    rows = rows.set_index("platform")
    assert list(rows.index) == list(alone.index)
    assert (rows["seed"] == seed).all()
    for metric in METRICS:
        pd.testing.assert_series_equal(rows[metric].astype(float), alone[metric].astype(float),
                                       check_names=False, obj=metric)


@pytest.fixture
def no_runs(monkeypatch):
    """A refusal must come before any run."""
    def refuse(*_):
        raise AssertionError("a run started")
    monkeypatch.setattr(sweep_module, "run_point", refuse)


def test_a_seed_grid_runs_each_point_on_its_own_seed():
    """The new user's sweep: every point ran the base seed (1); now each runs its own."""
    config = small_config(seed=1)
    table = sweep(config, {"simulation.seed": [5, 9]}, workers=1)
    for seed in (5, 9):
        _same_as_alone(table[table["simulation.seed"] == seed], config, seed)


def test_replications_run_the_points_own_seed_plus_r(tmp_path):
    """Replication r of a point runs the point config's seed + r (here a --set seed of 3),
    and ``points.csv`` says so."""
    config = small_config(seed=3)
    sweep(config, {"host.memory_gib": [32]}, replications=2, workers=1, out=tmp_path)
    written = pd.read_csv(tmp_path / "points.csv")
    for r in (0, 1):
        _same_as_alone(written[written["replication"] == r], config.with_overrides({"host.memory_gib": 32}), 3 + r)


def test_replications_beside_a_seed_grid_are_refused_before_any_run(no_runs):
    with pytest.raises(ConfigError, match=r"^replications=2 with grid simulation\.seed: .* each point runs once"):
        sweep(small_config(), {"simulation.seed": [1, 2]}, replications=2, workers=1)


def test_resuming_parts_run_with_another_seed_runs_them_again(tmp_path):
    """An earlier simdc wrote a seed grid's parts with the base seed: resumed, such a part
    is run again with its point's seed, never mixed into the table."""
    config = small_config(seed=1)
    grid = {"simulation.seed": [5, 9]}
    sweep(config, grid, workers=1, out=tmp_path)
    part = tmp_path / "parts" / "p00001-r0000.csv"
    old = pd.read_csv(part)
    old["seed"], old["submitted"] = 1, 999999  # as the earlier simdc ran it: the base seed
    old.to_csv(part, index=False)
    again = sweep(config, grid, workers=1, out=tmp_path)
    assert any("another seed" in note and "p00001-r0000.csv" in note for note in again.attrs["notes"])
    _same_as_alone(again[again["point"] == 1], config, 9)
    assert pd.read_csv(part)["seed"].eq(9).all()


def test_a_list_value_is_one_point_written_as_its_toml_text(tmp_path):
    """A list was an unhashable TypeError after every run; now the column holds the
    value's TOML, which reads back (tomllib) as the value each point ran."""
    config = small_config()
    grid = {"simulation.platforms": [["vm"], ["container"]]}
    table = sweep(config, grid, workers=1, out=tmp_path)
    written = pd.read_csv(tmp_path / "points.csv")
    for text, group in written.groupby("simulation.platforms"):
        platforms = tomllib.loads(f"v = {text}")["v"]
        assert platforms in grid["simulation.platforms"]
        _same_as_alone(group, config.with_overrides({"simulation.platforms": platforms}), 1)
    assert len(aggregate(table)) == 2
    assert sorted(pd.read_csv(tmp_path / "aggregate.csv")["simulation.platforms"]) == ['["container"]', '["vm"]']


def test_a_table_value_tells_its_points_apart_in_both_tables(tmp_path):
    """An inline table was an empty column (NaN): the points could not be told apart."""
    grid = {"placement.scoring": [{"least_allocated": 1}, {"most_allocated": 1}]}
    sweep(small_config().with_overrides({"placement.policy": "kubernetes"}), grid, workers=1, out=tmp_path)
    for name in ("points.csv", "aggregate.csv"):
        column = pd.read_csv(tmp_path / name)["placement.scoring"]
        assert column.notna().all()
        by_point = pd.read_csv(tmp_path / name).drop_duplicates("point").set_index("point")["placement.scoring"]
        assert [tomllib.loads(f"v = {text}")["v"] for text in by_point] == grid["placement.scoring"]


def test_cli_sweep_over_lists_finishes_and_shows_each_value(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[simulation]\nduration_s = 3600\nseed = 1\n[host]\ncpu_cores = 32\nmemory_gib = 64\n'
                      '[workload.synthetic]\narrival_rate_per_s = 0.01\n')
    result = CliRunner().invoke(app, ["sweep", str(config), "--grid", "workload.synthetic.lifetime_s=3600,[60, 120]",
                                      "--workers", "1", "--out", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert "[60, 120]" in result.stdout
    assert sorted(pd.read_csv(tmp_path / "s" / "aggregate.csv")["workload.synthetic.lifetime_s"].unique()) == \
        ["3600", "[60, 120]"]


# TOML's offsets are whole minutes; its years four digits (datetime's are 1 to 9999)
offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: datetime.timezone(datetime.timedelta(minutes=m)))
scalars = st.one_of(st.booleans(), st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=False), st.text(max_size=8),
                    st.datetimes(timezones=st.none() | offsets), st.dates(), st.times())
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                      max_leaves=8)


@settings(max_examples=80, deadline=None)
@given(values)
def test_value_text_reads_back_as_the_value(value):
    """The text written for a grid value, dates and times too, is TOML that tomllib (the
    reference reader) reads back as that value."""
    back = tomllib.loads(f"v = {value_text(value)}")["v"]
    assert back == value or (isinstance(value, float) and math.isinf(value) and back == value)


@pytest.mark.parametrize("grid, key, said", [
    ({"host.memory_gib": [32.0, 32]}, "host.memory_gib", "32.0 and 32 are the same value"),
    ({"simulation.seed": [1, 1]}, "simulation.seed", "1 is given twice"),
    ({"simulation.platforms": [["vm"], ["vm"]]}, "simulation.platforms", r'\["vm"\] is given twice'),
])
def test_a_value_given_twice_is_one_error_before_any_run(no_runs, grid, key, said):
    with pytest.raises(ConfigError, match=rf"^grid: {key}: {said}") as caught:
        sweep(small_config(), grid, workers=1)
    assert len(caught.value.problems) == 1
    assert caught.value.cli_problems[0].startswith(f"--grid {key}: ")


def _cli(tmp_path, *args):
    config = tmp_path / "c.toml"
    config.write_text('[simulation]\nduration_s = 3600\n[host]\ncpu_cores = 32\nmemory_gib = 64\n'
                      '[workload.synthetic]\narrival_rate_per_s = 0.01\n')
    return CliRunner().invoke(app, ["sweep", str(config), *args, "--out", str(tmp_path / "s")])


@pytest.mark.parametrize("args, said", [
    (["--grid", "host.memory_gib=32,64", "--set", "host.memory_gib=128"],
     "error: --set host.memory_gib: --grid host.memory_gib varies it too"),
    (["--grid", "simulation.seed=1,2", "--replications", "3"],
     "error: --replications 3 with --grid simulation.seed: "),
    (["--grid", "host.memory_gib=32.0,32"], "error: --grid host.memory_gib: 32.0 and 32 are the same value"),
    (["--grid", "host.memory_gib=32,64", "--workers", "0"], "error: --workers: must be >= 1 (got 0)"),
])
def test_cli_refusals_are_one_line_exit_2_and_nothing_written(no_runs, tmp_path, args, said):
    result = _cli(tmp_path, *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(said), result.stderr
    assert not (tmp_path / "s").exists()


def test_api_refuses_workers_below_one(no_runs):
    with pytest.raises(ConfigError, match=r"^workers: must be >= 1 \(got 0\)"):
        sweep(small_config(), {"host.memory_gib": [32]}, workers=0)


def test_an_earlier_simdcs_unfinished_list_sweep_completes(tmp_path, monkeypatch):
    """An earlier simdc wrote a list value as Python's repr (``['vm']``) in its parts and
    then failed, leaving no points.csv: rerun, the sweep finishes with the TOML text."""
    config = small_config()
    grid = {"simulation.platforms": [["vm"], ["container"]]}
    sweep(config, grid, workers=1, out=tmp_path)
    for name in ("points.csv", "aggregate.csv"):
        (tmp_path / name).unlink()
    for part in (tmp_path / "parts").glob("*.csv"):
        table = pd.read_csv(part)
        table["simulation.platforms"] = [repr(tomllib.loads(f"v = {t}")["v"]) for t in table["simulation.platforms"]]
        table.to_csv(part, index=False)
    monkeypatch.setattr(sweep_module, "run_point", lambda *_: pytest.fail("a finished run ran again"))
    again = sweep(config, grid, workers=1, out=tmp_path)
    assert "notes" not in again.attrs  # resumed, nothing run again
    assert list(pd.read_csv(tmp_path / "aggregate.csv")["simulation.platforms"]) == ['["vm"]', '["container"]']


def test_a_sweep_with_its_grid_keys_in_another_order_is_not_resumed_as_it(tmp_path):
    """Points are numbered over the product of the values in key order, and so are the
    part files: the same keys given in another order made equal sweep.json records, and
    the runs kept were taken as other points' (the run of memory 16, cores 8 labelled
    memory 8, cores 16). Refused now, naming the order to give."""
    config = small_config()
    out = tmp_path / "s"
    first = {"host.memory_gib": [16, 32], "host.cpu_cores": [8, 16]}
    sweep(config, first, workers=1, out=out)
    (out / "points.csv").unlink()
    with pytest.raises(simdc.InputError, match="grid keys in another order \\(host.memory_gib, host.cpu_cores\\)"):
        sweep(config, dict(reversed(first.items())), workers=1, out=out)
    table = sweep(config, first, workers=1, out=out)  # in its own order it resumes
    for (memory, cores), rows in table.groupby(["host.memory_gib", "host.cpu_cores"]):
        _same_as_alone(rows, config.with_overrides({"host.memory_gib": memory, "host.cpu_cores": cores}), 1)
