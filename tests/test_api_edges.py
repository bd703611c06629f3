"""The Python API takes what a notebook user naturally passes, and its errors name the
API's parameters (``overrides``, ``grid``, ``slos``), not the CLI's flags."""

from pathlib import Path

import pytest

import simdc
from simdc.errors import ConfigError

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "host64g.toml"
SHORT = {"simulation.duration_s": 1800}


@pytest.fixture(scope="module")
def config():
    return simdc.load_config(CONFIG, overrides=SHORT)


@pytest.mark.parametrize("as_path", [str, Path])
def test_simulate_accepts_a_config_path_and_equals_loading_it(tmp_path, as_path):
    short = tmp_path / "short.toml"  # the same config, shortened
    short.write_text(CONFIG.read_text().replace("duration_s = 86400", "duration_s = 1800", 1))
    loaded = simdc.load_config(short)
    by_path = simdc.simulate(as_path(short), seed=5)
    by_config = simdc.simulate(loaded, seed=5)
    assert by_path.summary.equals(by_config.summary)


def test_simulate_refuses_a_dict_with_a_typeerror_naming_what_it_expects():
    with pytest.raises(TypeError, match="expected a simdc Config .* or the path of a TOML config, got dict"):
        simdc.simulate({"simulation": {"duration_s": 100}})


@pytest.mark.parametrize("seed", [True, False])
def test_simulate_refuses_a_bool_seed_even_when_it_equals_the_configs(config, seed):
    # host64g.toml's seed is 1: True once ran silently as seed 1
    with pytest.raises(ConfigError, match="^seed: expected an integer"):
        simdc.simulate(config.with_overrides({"simulation.seed": int(seed)}), seed=seed)


def test_sweep_refuses_an_empty_grid_value_in_the_apis_terms(config):
    with pytest.raises(ConfigError) as caught:
        simdc.sweep(config, {"host.memory_gib": []}, workers=1)
    assert caught.value.problems[0].startswith("grid: host.memory_gib: expected at least one value")
    assert caught.value.cli_problems[0].startswith("--grid host.memory_gib=")


def test_sweep_refuses_a_bare_value_for_a_list(config):
    with pytest.raises(ConfigError, match=r"grid: host.memory_gib: expected a list of values.*\[32\]"):
        simdc.sweep(config, {"host.memory_gib": 32}, workers=1)


def test_sweep_bad_key_names_grid_not_the_flag(config):
    with pytest.raises(ConfigError) as caught:
        simdc.sweep(config, {"host.memroy_gib": [32]}, workers=1)
    assert caught.value.problems[0].startswith("grid: host.memroy_gib=32: ")
    assert "--grid" not in str(caught.value)
    assert caught.value.cli_problems[0].startswith("--grid host.memroy_gib=32: ")


def test_plan_accepts_one_slo_as_a_string(config):
    one = simdc.plan(config, "rejection_rate<=0.5", max_hosts=4)
    listed = simdc.plan(config, ["rejection_rate<=0.5"], max_hosts=4)
    assert one.plan.equals(listed.plan)


def test_plan_bad_slo_names_slos_not_the_flag(config):
    with pytest.raises(ConfigError) as caught:
        simdc.plan(config, ["rejection_rate = 0.01"])
    assert caught.value.problems[0].startswith("slos: 'rejection_rate = 0.01': expected metric<=value")
    assert caught.value.cli_problems[0].startswith("--slo 'rejection_rate = 0.01'")


def test_load_config_override_problem_names_overrides_not_the_flag():
    with pytest.raises(ConfigError) as caught:
        simdc.load_config(CONFIG, overrides={"host.memroy_gib": 1})
    assert caught.value.problems[0].startswith("overrides: host.memroy_gib=1: unknown key")
    assert caught.value.cli_problems[0].startswith("--set host.memroy_gib=1: unknown key")


def test_with_overrides_bad_path_names_overrides(config):
    with pytest.raises(ConfigError, match="^overrides: host.memory_gib.x: "):
        config.with_overrides({"host.memory_gib.x": 1})
