"""``plan --minimise cost`` (issue #19): among host groups, the cheapest fleet meeting the SLOs."""

from __future__ import annotations

import re

import pytest

import simdc
from simdc.config import validate
from simdc.errors import ConfigError
from simdc.planning import only_group, plan, with_hosts

HOUR_S = 3600.0


def two_groups(cost: dict | None = None, small_price: float = 0.5) -> simdc.Config:
    """Small hosts at 0.5/h hold 4 instances each; big ones at 1.5/h hold 16: the big
    group serves the same load with a quarter of the hosts for three times the rent."""
    return validate({
        "simulation": {"duration_s": 2 * HOUR_S, "seed": 3, "platforms": ["container"], "sample_every_s": 900},
        "cluster": {"hosts": [
            {"name": "small", "cpu_cores": 8, "memory_gib": 32, "price_per_hour": small_price,
             "power_idle_w": 100, "power_max_w": 200},
            {"name": "big", "cpu_cores": 32, "memory_gib": 128, "price_per_hour": 1.5,
             "power_idle_w": 300, "power_max_w": 600}]},
        "workload": {"synthetic": {"arrival_rate_per_s": 0.01, "lifetime_s": {"mean": 1800},
                                   "sizes": [{"cpu_cores": 2, "memory_gib": 7, "weight": 1}]}},
        **({"cost": cost} if cost is not None else {}),
    })


def test_cheapest_group_is_the_least_cost_of_each_groups_fewest_hosts():
    """Each group's row is its fewest hosts meeting the SLO (as plan by hosts finds for it
    alone), priced as a run of that fleet prices it; the cheapest is the row of least cost."""
    config = two_groups({"price_per_kwh": 0.3})
    result = plan(config, ["rejection_rate<=0.05"], minimise="cost", max_hosts=64)
    table = result.plan.set_index("group")
    assert list(table.index) == ["small", "big"]
    for index, name in enumerate(["small", "big"]):
        alone = only_group(config, index)
        fewest = plan(alone, ["rejection_rate<=0.05"], max_hosts=64).plan["hosts_needed"].iloc[0]
        assert table.loc[name, "hosts_needed"] == fewest
        priced = simdc.simulate(with_hosts(alone, int(fewest))).summary.iloc[0]
        assert table.loc[name, "cost"] == pytest.approx(priced["cost"], rel=1e-12)
        # rent of the fleet for 2 h, plus its electricity at 0.3 per kWh
        assert priced["cost"] == pytest.approx(fewest * 2 * alone.host_groups[0].price_per_hour
                                               + 0.3 * priced["energy_kwh"], rel=1e-12)
    cheapest = table.index[table["cheapest"]]
    assert list(cheapest) == [table["cost"].astype(float).idxmin()]


def test_a_cheaper_small_host_changes_the_choice():
    """The same load, small hosts nearly free: they win."""
    dear = plan(two_groups({"price_per_kwh": 0.0}, small_price=2.0), ["rejection_rate<=0.05"], minimise="cost")
    cheap = plan(two_groups({"price_per_kwh": 0.0}, small_price=0.01), ["rejection_rate<=0.05"], minimise="cost")
    assert dear.plan.set_index("group")["cheapest"].to_dict() == {"small": False, "big": True}
    assert cheap.plan.set_index("group")["cheapest"].to_dict() == {"small": True, "big": False}


@pytest.mark.parametrize("kwargs, expected", [
    ({"minimise": "money"}, "minimise: must be one of hosts, cost (got 'money')"),
    ({"minimise": "cost", "group": "big"}, "chooses among the groups itself"),
])
def test_bad_minimise_requests_are_refused(kwargs, expected):
    with pytest.raises(ConfigError, match=re.escape(expected)):
        plan(two_groups({"price_per_kwh": 0.1}), ["rejection_rate<=0.05"], **kwargs)


def test_minimise_cost_without_a_cost_table_exits_2_with_one_line(tmp_path):
    from typer.testing import CliRunner

    from simdc.cli import app

    toml = tmp_path / "plan.toml"
    toml.write_text("""
[simulation]
duration_s = 3600
[host]
cpu_cores = 8
memory_gib = 32
[workload.synthetic]
arrival_rate_per_s = 0.01
""")
    result = CliRunner().invoke(app, ["plan", str(toml), "--slo", "rejection_rate<=0.1", "--minimise", "cost"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --minimise cost: the config has no [cost] table")


def _table_row(stdout: str, group: str) -> list[str]:
    """The cells of the plan table's row for ``group`` (rich's box drawing as separators)."""
    for line in stdout.splitlines():
        cells = [cell.strip() for cell in line.strip("│ ").split("│")]
        if len(cells) > 2 and cells[1].rstrip(" *") == group:
            return cells
    raise AssertionError(f"no row for {group} in:\n{stdout}")


@pytest.mark.parametrize("max_hosts", [2, 16])
def test_the_cost_table_says_none_for_a_group_no_count_serves_and_the_bound_for_one_not_met(tmp_path, max_hosts):
    """A quarter of the requests ask for 16 cores, which no 8-core host holds even empty:
    the small group meets rejection_rate<=0.05 at no count, and its row says "none" (not
    "> max_hosts", which would read as "buy more"), with a note saying why. The big group
    at 2 hosts holds 2 x 32 cores, less than the load's ~0.01/s x 1,800 s = 18 instances
    x 5.5 cores on average (99 cores): not met within 2, so "> 2"; within 16 it is met,
    and its row gives the plan's count and cost."""
    import tomli_w
    from typer.testing import CliRunner

    from simdc.cli import app

    raw = {
        "simulation": {"duration_s": HOUR_S, "seed": 3, "platforms": ["container"], "sample_every_s": 900},
        "cluster": {"hosts": [{"name": "small", "cpu_cores": 8, "memory_gib": 32, "price_per_hour": 0.5},
                              {"name": "big", "cpu_cores": 32, "memory_gib": 128, "price_per_hour": 1.5}]},
        "workload": {"synthetic": {"arrival_rate_per_s": 0.01, "lifetime_s": {"mean": 1800},
                                   "sizes": [{"cpu_cores": 2, "memory_gib": 7, "weight": 3},
                                             {"cpu_cores": 16, "memory_gib": 40, "weight": 1}]}},
        "cost": {"price_per_kwh": 0.3},
    }
    toml = tmp_path / "plan.toml"
    toml.write_bytes(tomli_w.dumps(raw).encode())
    result = CliRunner().invoke(app, ["plan", str(toml), "--slo", "rejection_rate<=0.05", "--minimise", "cost",
                                      "--max-hosts", str(max_hosts)])
    assert result.exit_code == 0, result.output
    small = _table_row(result.stdout, "small")
    assert small[2] == "none" and set(small[3:]) == {"–"}, small
    assert any(line.startswith("note: container (small): ") and "cannot be met by adding hosts" in line
               for line in result.stderr.splitlines()), result.stderr
    big = _table_row(result.stdout, "big")
    found = plan(validate(raw), ["rejection_rate<=0.05"], minimise="cost", max_hosts=max_hosts).plan
    found = found.set_index("group").loc["big"]
    if max_hosts == 2:
        assert big[2] == "> 2" and set(big[3:]) == {"–"}, big
    else:
        assert big[2] == str(int(found["hosts_needed"])) and big[3] == f"{found['cost']:,.2f}", big
    assert not any(cell.startswith(">") for cell in small + (big if max_hosts == 16 else []))
