"""Upper bounds on every cost, power, PUE and carbon key (issue: 1e300 was accepted and
overflowed to inf in the JSON output and summary.csv), the same bounds on the values of
price and carbon series, and the last guard on a figure that still overflows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simdc import cost
from simdc.config import validate
from simdc.errors import ConfigError, InputError
from simdc.model.host import HostSpec

HOUR_S = 3600.0

# key -> (lowest fine value, bound, what goes with the key), typed from the sources cited
# in simdc/model/limits.py, not read from it.
BOUNDS = {
    "cost.price_per_kwh": (-1e6, 1e6, {}),  # AEMO's cap AUD 17.5/kWh, in the weakest currency, with room
    "cost.carbon_intensity_gco2_per_kwh": (0, 2000, {}),  # lignite ~1,200 g/kWh
    "cost.licence_per_hour.vm": (0, 1e9, {}),  # the dearest cloud instance, ~USD 400/h, in VND, x100
    "host.price_per_hour": (0, 1e9, {}),
    "host.capex": (0, 1e13, {"amortisation_years": 5}),  # a Superdome Flex ~USD 10^7, in VND, x40
    "host.pue": (1, 3, {}),  # Uptime Institute: 1.58 average; above 3 is no data centre
    "host.power_max_w": (0, 10_200_000, {"power_idle_w": 0}),  # NVIDIA DGX H100, 10.2 kW, x1000
    "host.power_idle_w": (0, 10_200_000, {"power_max_w": 10_200_000}),
    "host.embodied_kgco2eq": (0, 1e7, {"lifetime_years": 5}),  # a rack server's ~7,700 kg, x1000
}


def config_with(key: str, value: float):
    table, _, name = key.partition(".")
    data = {"simulation": {"duration_s": HOUR_S, "platforms": ["vm", "container"]},
            "host": {"cpu_cores": 16, "memory_gib": 64},
            "workload": {"synthetic": {"arrival_rate_per_s": 0.01}},
            "cost": {"price_per_kwh": 0.2}}
    section = data[table]
    if name.startswith("licence_per_hour."):
        section["licence_per_hour"] = {name.rpartition(".")[2]: value}
    else:
        section[name] = value
    section.update(BOUNDS[key][2])
    return validate(data)


@settings(max_examples=40, deadline=None)
@given(key=st.sampled_from(sorted(BOUNDS)), share=st.floats(0, 1), over=st.floats(1, 1e300))
def test_values_up_to_a_bound_load_and_above_it_are_one_problem_naming_key_and_bound(key, share, over):
    low, bound, _ = BOUNDS[key]
    assert config_with(key, low + (bound - low) * share) is not None
    value = min(bound * over * (1 + 1e-9) if over == 1.0 else bound * over, 1e300)  # finite: inf is refused apart
    with pytest.raises(ConfigError) as caught:
        config_with(key, value)
    (problem,) = caught.value.problems
    assert key.rpartition(".")[2] in problem and f"<= {bound:,.0f}" in problem, problem
    assert "(got" in problem and "(" in problem.split("<=")[1]  # the bound's reason, then the value


def test_a_negative_price_beyond_the_lowest_floor_is_refused():
    with pytest.raises(ConfigError) as caught:
        config_with("cost.price_per_kwh", -1.5e6)
    (problem,) = caught.value.problems
    assert "price_per_kwh" in problem and ">= -1,000,000" in problem


@pytest.mark.parametrize("key", ["host.amortisation_years", "host.lifetime_years"])
def test_years_near_zero_are_refused_as_their_hourly_share_is_inf(key):
    """capex / (1e-300 years × 8,766 h) overflows: at least 0.01 year (3.7 days)."""
    other = {"host.amortisation_years": {"capex": 1000}, "host.lifetime_years": {"embodied_kgco2eq": 1000}}[key]
    BOUNDS[key] = (0.01, 0.01, other)
    try:
        assert config_with(key, 0.01) is not None
        with pytest.raises(ConfigError, match=r">= 0\.01"):
            config_with(key, 1e-300)
    finally:
        del BOUNDS[key]


def write(path, header, rows):
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_a_series_value_beyond_its_bound_names_its_line(tmp_path):
    """A carbon series in g/MWh (186,330 for NL's 186.33 g/kWh) and a price of 2 x 10^9
    per MWh (2 x 10^6 per kWh) are each refused at their line."""
    carbon = write(tmp_path / "c.csv", "timestamp,carbon_intensity",
                   ["2023-01-01T00:00:00Z,186", "2023-01-01T01:00:00Z,186330", "2023-01-01T02:00:00Z,186"])
    with pytest.raises(InputError) as err:
        cost.read_series(carbon, what="carbon intensity", key="cost.carbon_series", duration_s=2 * HOUR_S,
                         bound=(2000.0, "lignite"))
    (problem,) = err.value.problems
    assert "line 3: carbon intensity 186330 must be <= 2,000 (lignite)" in problem
    config = validate({"simulation": {"duration_s": 2 * HOUR_S}, "host": {"cpu_cores": 4, "memory_gib": 8},
                       "workload": {"synthetic": {"arrival_rate_per_s": 0.01}},
                       "cost": {"price_series": str(write(tmp_path / "p.csv", "time,DAM_price",
                                                          ["2023-01-01T00:00:00Z,2e9", "2023-01-01T01:00:00Z,50",
                                                           "2023-01-01T02:00:00Z,50"])),
                                "price_series_unit": "per_mwh"}})
    with pytest.raises(InputError) as err:
        cost.grid_series(config.cost, 2 * HOUR_S)
    (problem,) = err.value.problems
    # the value in the bound's unit beside the file's: 2e9 per MWh is 2e6 per kWh (it compared 2e+09 with ±1e+06
    # per kWh, a per-MWh value against a per-kWh bound)
    assert "line 2: price 2e+09 per MWh (2e+06 per kWh) must be within ±1e+06 per kWh" in problem


def test_a_figure_that_still_overflows_is_one_line_not_inf():
    """Past validation (model_construct skips it): 1e308 per hour for 2 h is inf; the
    costs refuse it in one line naming the figure, and print no RuntimeWarning."""
    spec = HostSpec.model_construct(**{**HostSpec(cpu_cores=1, memory_gib=1).model_dump(), "price_per_hour": 1e308})
    hosts = pd.DataFrame({"duration_s": [2 * HOUR_S], "physical_host": [0], "energy_kwh": [1.0]})
    flat = cost.StepSeries.constant(0.1, 2 * HOUR_S)
    with np.errstate(all="raise"):  # a RuntimeWarning would be a FloatingPointError here
        costed = hosts.join(cost.host_costs(hosts, [spec], flat, flat, (), None))
    instances = pd.DataFrame({"resident_s": [HOUR_S], "run_s": [HOUR_S]})
    with pytest.raises(InputError) as err:
        cost.platform_costs(instances, costed)
    (problem,) = err.value.problems
    assert problem.startswith("cost: cost, cost_hosts, cost_per_instance_hour overflow (inf)")


def test_json_output_writes_null_for_inf(capsys):
    from simdc.cli import print_summary

    print_summary(pd.DataFrame({"platform": ["vm"], "cost": [np.inf], "energy_kwh": [2.5]}), "t", "json")
    assert json.loads(capsys.readouterr().out) == [{"platform": "vm", "cost": None, "energy_kwh": 2.5}]
