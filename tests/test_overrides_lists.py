"""``--set`` and ``sweep --grid`` reaching into lists of tables (``services.0.replicas``,
``cells.1.name``): the entry named by its index changes, every other stays, and a bad
index is one error line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from simdc.cli import app
from simdc.config import apply_overrides, load_config, validate
from simdc.errors import ConfigError
from simdc.sweeping import parse_grid, points

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def services_config(count: int):
    return validate({
        "simulation": {"duration_s": 600, "platforms": ["container"]},
        "host": {"cpu_cores": 64, "memory_gib": 256},
        "workload": {"synthetic": {"arrival_rate_per_s": 1e-9}},
        "services": [{"name": f"s{k}", "replicas": k + 1, "cpu_cores": 1, "memory_gib": 1,
                      "autoscale": {"max_replicas": 10 + k, "target_utilisation": 0.5}} for k in range(count)]})


@settings(max_examples=30, deadline=None)
@given(count=st.integers(1, 4), data=st.data())
def test_set_changes_only_the_entry_it_indexes(count, data):
    index = data.draw(st.integers(0, count - 1))
    replicas = data.draw(st.integers(0, 50))
    top = data.draw(st.integers(replicas or 1, 60))
    cfg = services_config(count).with_overrides([f"services.{index}.replicas={replicas}",
                                                 f"services.{index}.autoscale.max_replicas={top}"])
    for k, service in enumerate(cfg.services):
        expected = (replicas, top) if k == index else (k + 1, 10 + k)
        assert (service.replicas, service.autoscale.max_replicas) == expected


@pytest.mark.parametrize("override, said", [
    ("services.3.replicas=8", "--set services.3.replicas: services is a list with entries 0..1; expected "
                              "services.<index> with an index among them (got '3')"),
    ("services.web.replicas=8", "(got 'web')"),
    ("services.0.replicaz=8", "--set services.0.replicaz=8: unknown key; did you mean 'replicas'?"),
    ("services.0.name.x=1", "--set services.0.name.x: services.0.name is a value, not a table"),
    ("cells.1.share=0.5", "--set cells.1.share: the config has no list cells to index"),
])
def test_a_bad_index_or_key_is_one_error(override, said):
    with pytest.raises(ConfigError) as err:
        services_config(2).with_overrides([override])
    assert len(err.value.cli_problems) == 1 and said in err.value.cli_problems[0]  # the CLI's wording


def test_set_reaches_a_cell_and_the_cli_reports_a_bad_index_in_one_line_exit_2(tmp_path):
    cfg = load_config(CONFIGS / "cells.toml", ["cells.1.name='bee'"])
    assert [cell.name for cell in cfg.cells] == ["a", "bee", "c", "d"]
    result = CliRunner().invoke(app, ["run", str(CONFIGS / "release.toml"), "--set", "services.1.replicas=8",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("error: --set services.1.replicas: services is a list with entries 0..0")
    assert not (tmp_path / "out").exists()


def test_a_grid_over_a_list_entry_makes_one_config_per_value_and_a_bad_index_is_one_error():
    cfg = services_config(2)
    grid = parse_grid(["services.1.autoscale.max_replicas=20,30", "services.0.replicas=4"])
    made = points(cfg, grid)
    assert [(o["services.1.autoscale.max_replicas"], c.services[1].autoscale.max_replicas, c.services[0].replicas,
             c.services[0].autoscale.max_replicas) for o, c in made] == [(20, 20, 4, 10), (30, 30, 4, 10)]
    with pytest.raises(ConfigError) as err:
        points(cfg, parse_grid(["services.2.replicas=1,2"]))
    assert err.value.problems == ["--grid services.2.replicas: services is a list with entries 0..1; expected "
                                  "services.<index> with an index among them (got '2')"]


def test_overrides_leave_the_raw_config_untouched():
    raw = services_config(2).to_dict()
    apply_overrides(raw, ["services.0.replicas=9"])
    assert raw["services"][0]["replicas"] == 1


@pytest.mark.parametrize("config, expected", [
    ("workflow.toml", "set cluster.hosts.<index>.cpu_cores (index 0..0)"),
    ("cells.toml", "set cells.<index>.hosts.<index>.cpu_cores (cells 0..3)"),
])
def test_a_host_key_on_a_config_of_host_groups_or_cells_names_the_key_that_reaches_them(config, expected):
    """``--set host.cpu_cores=8`` on a config with [[cluster.hosts]] was reported as
    ``host.memory_gib: required key is missing``; it is one line naming the right key, and
    that key works."""
    result = CliRunner().invoke(app, ["run", str(CONFIGS / config), "--no-write", "--set", "host.cpu_cores=8"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --set host.cpu_cores: ") and expected in lines[0], lines
    with pytest.raises(ConfigError, match="cluster.hosts"):
        points(load_config(CONFIGS / "workflow.toml"), parse_grid(["host.memory_gib=32,64"]))
    fleet = load_config(CONFIGS / "workflow.toml").with_overrides(["cluster.hosts.0.cpu_cores=8"]).fleet
    assert fleet[0].cpu_cores == 8


def test_a_cluster_key_on_a_config_of_one_host_table_says_so():
    """``--set cluster.power_off_idle=true`` on a [host] config was reported as
    ``host64g.toml: cluster.hosts: required key is missing``, blaming the file: one line
    naming the --set and why."""
    result = CliRunner().invoke(app, ["run", str(CONFIGS / "host64g.toml"), "--no-write",
                                      "--set", "cluster.power_off_idle=true"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == ["error: --set cluster.power_off_idle: this config's host is a [host] table, not "
                     "[[cluster.hosts]] groups; write the hosts as [[cluster.hosts]] in the file to set cluster keys"]


@pytest.mark.parametrize("override", [["host.memory_gib=abc"], ["host.nokey=1"], {"host.memory_gib": True}])
def test_with_overrides_names_the_override_as_load_config_does(override):
    """A bad override through Config.with_overrides is reported as through load_config:
    ``overrides: key=value: problem`` (``--set key=value: ...`` for the CLI), not as if
    the key were the file's."""
    path = CONFIGS / "host64g.toml"
    with pytest.raises(ConfigError) as direct:
        load_config(path, override)
    with pytest.raises(ConfigError) as later:
        load_config(path).with_overrides(override)
    assert later.value.problems == [p.replace(f"{path}: ", "") for p in direct.value.problems]
    assert later.value.problems[0].startswith("overrides: host.")
    assert later.value.cli_problems[0].startswith("--set host.")
