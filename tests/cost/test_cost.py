"""Cost and carbon (issue #19): exact integrals over piecewise-constant price and
carbon-intensity series, the hosts' rent, amortised capital and embodied carbon, and
licences, each computed here by hand from the inputs."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simdc
from simdc import cost
from simdc.config import validate
from simdc.errors import ConfigError, InputError
from simdc.model.host import HostSpec

HOUR_S = 3600.0
NL = Path(__file__).resolve().parents[3] / "shared" / "traces" / "carbon_electricitymaps_NL" / \
    "NL_2021-2024_year2023.csv"


def write_series(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def hourly(path: Path, values: list[float], first_hour: int = 0) -> Path:
    return write_series(path, "timestamp,value",
                        [f"2024-03-01T{first_hour + k:02d}:00:00Z,{v}" for k, v in enumerate(values)])


def config(duration_s: float, cost_table: dict, host: dict | None = None, platforms=("vm", "container"),
           rate: float = 0.02) -> simdc.Config:
    return validate({
        "simulation": {"duration_s": duration_s, "seed": 5, "platforms": list(platforms), "sample_every_s": 900},
        "host": {"cpu_cores": 16, "memory_gib": 64, **(host or {})},
        "workload": {"synthetic": {"arrival_rate_per_s": rate, "lifetime_s": {"mean": 900},
                                   "sizes": [{"cpu_cores": 2, "memory_gib": 4, "weight": 1}]}},
        "cost": cost_table,
    })


def test_cost_and_carbon_integrate_exactly_over_hourly_series(tmp_path):
    """A host drawing a constant 300 W (idle = peak, whatever it runs), 3 h from 00:30:
    energy per series step is 0.3 kW × its overlap with the run, so
    cost = Σ overlap_h × 0.3 × price_h × PUE and carbon likewise with the intensity."""
    price = hourly(tmp_path / "price.csv", [0.10, 0.30, -0.05, 0.20])  # 00:00 .. 03:00, holds to 04:00
    carbon = hourly(tmp_path / "carbon.csv", [200, 100, 400, 50])
    result = simdc.simulate(config(3 * HOUR_S, {
        "price_series": str(price), "carbon_series": str(carbon), "series_start": "2024-03-01T00:30:00Z"},
        host={"power_idle_w": 300, "power_max_w": 300, "pue": 1.5}))
    overlap_h = np.array([0.5, 1, 1, 0.5])
    kwh = 0.3 * overlap_h * 1.5
    for row in result.summary.itertuples():
        assert row.energy_kwh == pytest.approx(0.3 * 3, rel=1e-12)
        assert row.cost_energy == pytest.approx(kwh @ [0.10, 0.30, -0.05, 0.20], rel=1e-12)
        assert row.carbon_operational_kgco2eq == pytest.approx(kwh @ [200, 100, 400, 50] / 1000, rel=1e-12)
    assert set(result.manifest["engine_lanes"].values()) == {"general"}  # the meter is the general engine's


def test_meter_readings_add_no_energy_and_split_it_exactly():
    """Load-dependent power: a run read at every quarter hour has the energy of the same
    run read at none, on either lane, and its intervals sum to it; a constant price of 1
    makes cost_energy the energy itself."""
    from simdc.engine import run_platform
    from simdc.workload import load_workload

    cfg = config(4 * HOUR_S, {"price_per_kwh": 1.0})
    price = cost.StepSeries(np.arange(0, 4 * HOUR_S + 1, 900.0), np.ones(16))
    moments = cost.meter_moments(price, cost.StepSeries.constant(1.0, 4 * HOUR_S), 4 * HOUR_S)
    assert len(moments) == 15
    workload = load_workload(cfg.workload, 4 * HOUR_S, 5)
    for name in cfg.simulation.platforms:
        args = dict(duration_s=4 * HOUR_S, sample_every_s=900, seed=5, usage=workload.usage, sizes=workload.sizes)
        metered = run_platform(name, cfg.platform[name], cfg.fleet, workload.instances, meter_at_s=moments, **args)
        for lane in ("general", "fast"):
            plain = run_platform(name, cfg.platform[name], cfg.fleet, workload.instances, lane=lane, **args)
            assert metered.hosts["energy_kwh"].to_numpy() == pytest.approx(plain.hosts["energy_kwh"].to_numpy(),
                                                                          rel=1e-12)
        total = metered.hosts["energy_kwh"].to_numpy()
        steps = cost.interval_energy_kwh(metered.meter_j, total)
        assert steps.shape == (16, 1) and (steps >= 0).all()
        assert steps.sum() == pytest.approx(total.sum(), rel=1e-12)
    summary = simdc.simulate(cfg).summary
    assert summary["cost_energy"].to_numpy() == pytest.approx(summary["energy_kwh"].to_numpy(), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(1, 5000), st.floats(-1, 1), st.floats(0, 800)), min_size=1, max_size=12),
       st.lists(st.floats(0, 2000), min_size=1, max_size=12), st.floats(1, 3))
def test_cost_is_the_sum_of_each_intervals_energy_times_its_price(steps, powers_w, pue):
    """For random step series and a host whose power changes only at the steps:
    cost = Σ_i E_i × PUE × price_i and carbon = Σ_i E_i × PUE × intensity_i / 1000."""
    lengths = np.array([s[0] for s in steps])
    edges = np.concatenate([[0.0], np.cumsum(lengths)])
    duration_s = float(edges[-1])
    prices, intensities = np.array([s[1] for s in steps]), np.array([s[2] for s in steps])
    power = np.resize(np.array(powers_w), len(steps))
    energy_kwh = power * lengths / cost.J_PER_KWH
    price, carbon = cost.StepSeries(edges, prices), cost.StepSeries(edges, intensities)
    moments = cost.meter_moments(price, carbon, duration_s)
    meter_j = np.cumsum(power * lengths)[:-1][:, None][: len(moments)]
    hosts = pd.DataFrame({"duration_s": [duration_s], "physical_host": [0], "energy_kwh": [energy_kwh.sum()]})
    spec = HostSpec(cpu_cores=1, memory_gib=1, pue=pue)
    got = cost.host_costs(hosts, [spec], price, carbon, moments, meter_j)
    assert got["cost_energy"].iloc[0] == pytest.approx(float((energy_kwh * pue) @ prices), rel=1e-9, abs=1e-12)
    assert got["carbon_operational_kgco2eq"].iloc[0] == pytest.approx(
        float((energy_kwh * pue) @ intensities) / 1000, rel=1e-9, abs=1e-12)


def test_rent_capex_embodied_and_licences_by_hand():
    """2 h on one host: rent 1.5/h → 3; capex 8,766 over 1 year → 2 (1 per hour);
    embodied 876.6 kg over 0.1 years → 2 kg; a VM licence of 0.1 per resident hour."""
    rented = simdc.simulate(config(2 * HOUR_S, {"price_per_kwh": 0.0, "carbon_intensity_gco2_per_kwh": 0.0,
                                                "licence_per_hour": {"vm": 0.1}},
                                   host={"price_per_hour": 1.5, "embodied_kgco2eq": 876.6, "lifetime_years": 0.1}))
    vm, container = (rented.summary.set_index("platform").loc[name] for name in ("vm", "container"))
    resident_h = rented.instances.loc[rented.instances["platform"] == "vm", "resident_s"].sum() / HOUR_S
    run_h = rented.instances.loc[rented.instances["platform"] == "vm", "run_s"].sum() / HOUR_S
    assert vm["cost_hosts"] == pytest.approx(3.0) and container["cost_hosts"] == pytest.approx(3.0)
    assert vm["cost_licences"] == pytest.approx(0.1 * resident_h) and container["cost_licences"] == 0
    assert vm["cost"] == pytest.approx(3.0 + 0.1 * resident_h)
    assert vm["cost_per_instance_hour"] == pytest.approx(vm["cost"] / run_h)
    assert vm["carbon_kgco2eq"] == pytest.approx(2.0) and vm["carbon_embodied_kgco2eq"] == pytest.approx(2.0)
    owned = simdc.simulate(config(2 * HOUR_S, {"price_per_kwh": 0.0},
                                  host={"capex": 8766, "amortisation_years": 1}, platforms=("container",)))
    assert owned.summary["cost_hosts"].iloc[0] == pytest.approx(2.0)


def test_report_has_the_cost_figure_and_headline_rows(tmp_path):
    result = simdc.simulate(config(HOUR_S, {"price_per_kwh": 0.2, "licence_per_hour": {"vm": 0.1}},
                                   host={"price_per_hour": 1.0}))
    figure = result.figures()["cost"]
    stacked = {trace.name: sum(trace.y) for trace in figure.data}
    assert stacked["licences"] == pytest.approx(result.summary["cost_licences"].sum())
    out = result.write(tmp_path / "out", report=True)
    page = (out / "report.html").read_text()
    assert 'data-figure="cost"' in page and "cost per instance-hour served" in page
    again = simdc.load_results(out)
    assert again.summary["cost"].to_numpy() == pytest.approx(result.summary["cost"].to_numpy())


def test_the_headline_shows_every_part_the_cost_is_the_sum_of():
    """cost = hosts + electricity + licences (simdc.cost): each part has a headline row, so
    the table's rows add up to its cost row (the hosts' part had none)."""
    from simdc.metrics import HEADLINE

    shown = {column for column, _, _ in HEADLINE}
    result = simdc.simulate(config(HOUR_S, {"price_per_kwh": 0.2, "licence_per_hour": {"vm": 0.1}},
                                   host={"price_per_hour": 1.0}))
    parts = ["cost_hosts", "cost_energy", "cost_licences"]
    assert set(parts) <= shown
    for row in result.summary.to_dict("records"):
        assert row["cost"] == pytest.approx(sum(row[p] for p in parts), rel=1e-12)
        assert row["cost_hosts"] == pytest.approx(1.0 * HOUR_S / 3600)  # one host at 1 an hour, for an hour


def test_no_cost_table_no_cost_columns():
    result = simdc.simulate(simdc.load_config(Path(__file__).resolve().parents[2] / "configs" / "presets.toml",
                                              {"simulation.duration_s": 600}))
    assert not set(cost.COST_COLUMNS) & set(result.summary.columns)


def test_a_day_of_nl_carbon_intensity_from_the_shared_trace():
    """The series' value from each hour's start: a 300 W host over 2023-06-01 00:00-24:00
    emits 0.3 kWh × Σ that day's 24 intensities / 1000."""
    if not NL.exists():
        pytest.skip("shared traces not present")
    lines = NL.read_text().splitlines()
    day = [float(line.split(",")[1]) for line in lines if line.startswith("2023-06-01T")]
    assert len(day) == 24
    got = simdc.simulate(config(24 * HOUR_S, {"price_per_kwh": 0.0, "carbon_series": str(NL),
                                              "series_start": "2023-06-01T00:00:00Z"},
                                host={"power_idle_w": 300, "power_max_w": 300}, platforms=("container",), rate=0.001))
    assert got.summary["carbon_operational_kgco2eq"].iloc[0] == pytest.approx(0.3 * sum(day) / 1000, rel=1e-12)


# --- malformed series: one line naming the file and the line ------------------------------


@pytest.mark.parametrize("rows, expected", [
    (["2024-03-01T00:00:00Z"], "line 2: expected a timestamp and a value"),
    (["2024-03-01T00:00:00Z,1", "2024-03-01T02:00:00Z,1", "2024-03-01T01:00:00Z,1"],
     "line 4: timestamp 2024-03-01T01:00:00Z is not after line 3's"),
    (["2024-03-01T00:00:00Z,1", "2024-03-01T01:00:00Z,nan", "2024-03-01T02:00:00Z,1"],
     "line 3: carbon intensity 'nan' is not a finite number"),
    (["2024-03-01T00:00:00Z,1", "2024-03-01T01:00:00Z,", "2024-03-01T02:00:00Z,1"],
     "line 3: carbon intensity '' is not a finite number"),
    (["2024-03-01T00:00:00Z,1", "2024-03-01T01:00:00Z,-3", "2024-03-01T02:00:00Z,1"],
     "line 3: carbon intensity -3 is negative"),
    (["2024-03-01T00:00:00Z,1", "yesterday,1"], "line 3: timestamp 'yesterday' is not a date and time"),
    (["2024-03-01T00:00:00Z,1", "2024-03-01T01:00:00Z,1"], "ends at 2024-03-01 02:00:00"),
    (["2024-03-01T00:00:00Z,1"], "1 row; a series needs two at least"),
])
def test_malformed_series_is_one_line_naming_file_and_line(tmp_path, rows, expected):
    path = write_series(tmp_path / "carbon.csv", "timestamp,carbon_intensity", rows)
    with pytest.raises(InputError) as err:
        cost.read_series(path, what="carbon intensity", key="cost.carbon_series", duration_s=3 * HOUR_S)
    assert len(err.value.problems) == 1
    assert err.value.problems[0].startswith(f"cost.carbon_series {path}: ")
    assert expected in err.value.problems[0]


@pytest.mark.parametrize("rows, line", [
    # two rows at the run's start (cost.series_start): which value holds there is undefined
    (["2024-03-01T00:00:00Z,100", "2024-03-01T00:00:00Z,120", "2024-03-01T01:00:00Z,1", "2024-03-01T04:00:00Z,1"], 2),
    # the same before the start, and rows going back in time before it
    (["2024-02-29T23:00:00Z,100", "2024-02-29T23:00:00Z,120", "2024-03-01T01:00:00Z,1", "2024-03-01T04:00:00Z,1"], 2),
    (["2024-02-29T23:00:00Z,100", "2024-02-29T22:00:00Z,120", "2024-03-01T01:00:00Z,1", "2024-03-01T04:00:00Z,1"], 2),
])
def test_timestamps_must_increase_before_and_at_the_runs_start_too(tmp_path, rows, line):
    """Rows before the run locate the value holding at its start: the last one at or
    before it. Two rows at one moment, or rows out of order, leave that undefined (the
    new user's duplicate at series_start was read silently, the last winning: 120 g/kWh
    for the first day); they are refused as inside the run."""
    path = write_series(tmp_path / "carbon.csv", "timestamp,carbon_intensity", rows)
    with pytest.raises(InputError) as err:
        cost.read_series(path, what="carbon intensity", key="cost.carbon_series", duration_s=3 * HOUR_S,
                         start=datetime(2024, 3, 1, tzinfo=timezone.utc))
    (problem,) = err.value.problems
    assert f"line {line + 1}: timestamp " in problem and f"is not after line {line}'s" in problem


def test_header_of_one_column_is_refused(tmp_path):
    path = write_series(tmp_path / "c.csv", "timestamp", ["2024-03-01T00:00:00Z"])
    with pytest.raises(InputError, match="line 1: expected the header timestamp,value"):
        cost.read_series(path, what="price", key="cost.price_series", duration_s=10)


@pytest.mark.parametrize("first", ["2024-03-01T00:00:00Z,0.1", "01mar2024 00:00:00,.1", "0,0.1"])
def test_a_series_without_its_header_is_refused_not_read_from_its_second_row(tmp_path, first):
    """A file of data alone: its first row, taken as the header, moved time 0 an hour on
    (the new user's p.csv: +66 % on cost_energy). One line: the key, the file, line 1,
    the header expected."""
    path = tmp_path / "p.csv"
    path.write_text(f"{first}\n2024-03-01T01:00:00Z,0.2\n2024-03-01T02:00:00Z,0.3\n")
    with pytest.raises(InputError) as err:
        cost.read_series(path, what="price", key="cost.price_series", duration_s=2 * HOUR_S)
    (problem,) = err.value.problems
    assert problem.startswith(f"cost.price_series {path}: line 1: expected the header timestamp,value")
    assert "no header line" in problem


def test_a_series_with_its_header_prices_energy_from_its_first_row(tmp_path):
    """The same rows under a header: a host at a constant 300 W for 2 h pays
    0.3 kW × 1 h × 0.1 + 0.3 kW × 1 h × 0.2 (the new user's 0.1552 was of three hosts)."""
    path = write_series(tmp_path / "p.csv", "timestamp,value",
                        ["2024-03-01T00:00:00Z,0.1", "2024-03-01T01:00:00Z,0.2", "2024-03-01T02:00:00Z,0.3"])
    result = simdc.simulate(config(2 * HOUR_S, {"price_series": str(path)},
                                   host={"power_idle_w": 300, "power_max_w": 300}, platforms=("vm",)))
    assert result.summary["cost_energy"].iloc[0] == pytest.approx(0.3 * 0.1 + 0.3 * 0.2, rel=1e-12)


@pytest.mark.parametrize("line", ["2024-03-01T01:00:00Z,0.2,7", "2024-03-01T01:00:00Z,0.2,"])
def test_a_series_row_with_an_extra_field_is_refused_naming_its_line(tmp_path, line):
    path = write_series(tmp_path / "c.csv", "timestamp,value",
                        ["2024-03-01T00:00:00Z,0.1", line, "2024-03-01T02:00:00Z,0.3"])
    with pytest.raises(InputError) as err:
        cost.read_series(path, what="carbon intensity", key="cost.carbon_series", duration_s=2 * HOUR_S)
    (problem,) = err.value.problems
    assert problem.startswith(f"cost.carbon_series {path}: line 3: expected a timestamp and a value"), problem
    assert "got 3" in problem


def test_negative_prices_are_read_and_per_mwh_is_scaled(tmp_path):
    """Day-ahead prices go below zero; EUR/MWh is read as EUR/kWh × 1,000."""
    path = hourly(tmp_path / "p.csv", [-50.0, 120.0, 80.0])
    got = cost.read_series(path, what="price", key="k", duration_s=2 * HOUR_S, scale=0.001, negative_allowed=True)
    assert list(got.values) == pytest.approx([-0.05, 0.12])  # the third row only closes the run
    assert list(got.edges_s) == [0.0, HOUR_S, 2 * HOUR_S]


def test_stata_timestamps_of_entsoe_extracts_are_read(tmp_path):
    path = write_series(tmp_path / "p.csv", "time,DAM_price",
                        ["01jan2022 00:00:00,.08", "01jan2022 01:00:00,.06", "01jan2022 02:00:00,.07"])
    got = cost.read_series(path, what="price", key="k", duration_s=2 * HOUR_S)
    assert list(got.values) == pytest.approx([0.08, 0.06])


def test_series_starting_after_the_run_start_is_refused(tmp_path):
    path = hourly(tmp_path / "c.csv", [1, 2, 3], first_hour=5)
    from datetime import datetime
    with pytest.raises(InputError, match="after the run's start"):
        cost.read_series(path, what="x", key="k", duration_s=HOUR_S, start=datetime(2024, 3, 1, 4))


def test_series_ending_before_the_run_start_says_so(tmp_path):
    """Every row before ``start``: the message names the last row and the start (it said
    "1 row; a series needs two" of a file of three)."""
    path = hourly(tmp_path / "c.csv", [1, 2, 3])
    from datetime import datetime
    with pytest.raises(InputError, match=r"its last row \(line 4, 2024-03-01 02:00:00 UTC\) is at or before the "
                                         r"run's start \(cost.series_start = 2024-03-01 05:00:00 UTC\)"):
        cost.read_series(path, what="x", key="k", duration_s=HOUR_S, start=datetime(2024, 3, 1, 5))
    one = hourly(tmp_path / "one.csv", [1])
    with pytest.raises(InputError, match="1 row; a series needs two at least"):
        cost.read_series(one, what="x", key="k", duration_s=HOUR_S, start=datetime(2024, 3, 1, 5))


@pytest.mark.parametrize("cost_table, host, expected", [
    ({}, {}, "cost: give exactly one of price_per_kwh or price_series"),
    ({"price_per_kwh": 0.2, "licence_per_hour": {"vmm": 0.1}}, {},
     "cost.licence_per_hour.vmm: no platform 'vmm'; known:"),
    ({"price_per_kwh": 0.2}, {"capex": 1000}, "capex and amortisation_years go together"),
    ({"price_per_kwh": 0.2}, {"pue": 0.9}, "host.pue: must be >= 1"),
    ({"price_per_kwh": 0.2, "carbon_intensity_gco2_per_kwh": -1}, {}, "carbon_intensity_gco2_per_kwh: must be >= 0"),
    ({"price_per_kwh": 0.2, "series_timezone": "Europe/Bruxelles"}, {}, "unknown time zone 'Europe/Bruxelles'"),
])
def test_bad_cost_keys_name_their_key(cost_table, host, expected):
    with pytest.raises(ConfigError) as err:
        config(HOUR_S, cost_table, host=host)
    assert any(expected in line for line in err.value.problems), err.value.problems


def test_host_prices_without_a_cost_table_are_refused():
    raw = config(HOUR_S, {"price_per_kwh": 0.1}).to_dict()
    raw.pop("cost")
    raw["host"]["price_per_hour"] = 2.0
    with pytest.raises(ConfigError, match=r"cost: hosts give price_per_hour but there is no \[cost\] table"):
        validate(raw)


def test_cli_exits_2_with_one_line_for_a_truncated_series(tmp_path):
    from typer.testing import CliRunner

    from simdc.cli import app

    series = hourly(tmp_path / "c.csv", [100, 200])
    toml = tmp_path / "run.toml"
    toml.write_text(f"""
[simulation]
duration_s = 10800
[host]
cpu_cores = 8
memory_gib = 32
[workload.synthetic]
arrival_rate_per_s = 0.01
[cost]
price_per_kwh = 0.2
carbon_series = "{series}"
""")
    result = CliRunner().invoke(app, ["run", str(toml), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cost.carbon_series") and "ends at" in lines[0]


def test_local_timestamps_are_taken_to_utc_and_rows_before_the_run_only_locate_it(tmp_path):
    """ENTSO-E's Belgian prices are in local time (CEST = UTC+2 in June), and repeat an
    hour when the clocks go back: a run starting 2023-06-01T00:00Z reads 02:00 local on,
    whatever came before."""
    path = write_series(tmp_path / "p.csv", "time,DAM_price",
                        ["30oct2022 02:00:00,9", "30oct2022 02:00:00,9",  # the repeated hour, long before
                         "01jun2023 01:00:00,.01", "01jun2023 02:00:00,.20", "01jun2023 03:00:00,.30",
                         "01jun2023 04:00:00,"])  # empty, after the run: not read
    from datetime import datetime, timezone as tz
    got = cost.read_series(path, what="price", key="k", duration_s=2 * HOUR_S, zone="Europe/Brussels",
                           start=datetime(2023, 6, 1, tzinfo=tz.utc))
    assert list(got.values) == pytest.approx([0.20, 0.30]) and list(got.edges_s) == [0.0, HOUR_S, 2 * HOUR_S]


def test_the_shared_entsoe_prices_read_for_a_day_of_2023():
    path = NL.parents[1] / "price_entsoe_BE_dayahead" / "DAM_prices.csv"
    if not path.exists():
        pytest.skip("shared traces not present")
    from datetime import datetime
    got = cost.read_series(path, what="price", key="k", duration_s=24 * HOUR_S, zone="Europe/Brussels",
                           start=datetime.fromisoformat("2023-06-01T00:00:00+00:00"), negative_allowed=True)
    local_hours = [line.split(",")[1] for line in path.read_text().splitlines()
                   if line.startswith(("01jun2023 ", "02jun2023 0")) ][2:26]  # 02:00 CEST = 00:00 UTC
    assert list(got.values) == pytest.approx([float(v) for v in local_hours])


def test_local_hours_around_the_clock_changes_are_placed_in_utc(tmp_path):
    """Brussels, 2022: on 27 March 02:00 local does not exist (left empty), so 01:00 CET
    is followed by 03:00 CEST, an hour later; on 30 October 02:00 local comes twice (CEST,
    then CET), an hour apart. Each value holds for exactly one hour of UTC."""
    spring = write_series(tmp_path / "spring.csv", "time,DAM_price",
                          ["27mar2022 01:00:00,.1", "27mar2022 02:00:00,", "27mar2022 03:00:00,.3",
                           "27mar2022 04:00:00,.4"])
    got = cost.read_series(spring, what="price", key="k", duration_s=2 * HOUR_S, zone="Europe/Brussels")
    assert list(got.values) == pytest.approx([0.1, 0.3]) and list(got.edges_s) == [0, HOUR_S, 2 * HOUR_S]
    autumn = write_series(tmp_path / "autumn.csv", "time,DAM_price",
                          ["30oct2022 01:00:00,.1", "30oct2022 02:00:00,.2", "30oct2022 02:00:00,.25",
                           "30oct2022 03:00:00,.3"])
    got = cost.read_series(autumn, what="price", key="k", duration_s=3 * HOUR_S, zone="Europe/Brussels")
    assert list(got.values) == pytest.approx([0.1, 0.2, 0.25]) and list(got.edges_s) == [
        0, HOUR_S, 2 * HOUR_S, 3 * HOUR_S]
    skipped_with_value = write_series(tmp_path / "bad.csv", "time,DAM_price",
                                      ["27mar2022 01:00:00,.1", "27mar2022 02:00:00,.2", "27mar2022 03:00:00,.3"])
    with pytest.raises(InputError, match="line 3: 27mar2022 02:00:00 does not exist in Europe/Brussels"):
        cost.read_series(skipped_with_value, what="price", key="k", duration_s=HOUR_S, zone="Europe/Brussels")


def test_a_sweep_aggregates_cost_columns_as_metrics_not_grid_keys():
    """Two replications of one point: cost 1 and 3 give a mean of 2, and the point stays one."""
    from simdc.sweeping import aggregate

    points = pd.DataFrame({"point": [0, 0], "host.price_per_hour": [1.0, 1.0], "platform": ["vm", "vm"],
                           "replication": [0, 1], "seed": [0, 1], "cost": [1.0, 3.0], "carbon_kgco2eq": [2.0, 2.0]})
    table = aggregate(points)
    assert len(table) == 1
    assert table["cost_mean"].iloc[0] == 2.0 and table["carbon_kgco2eq_mean"].iloc[0] == 2.0


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_a_series_cut_inside_its_last_value_is_refused_not_read_short(tmp_path, cut):
    """A series file cut short ("1234" read as "12"): every row's timestamp whole, the
    last value not, and no line end after it. Read, its value would price or weigh the
    run's last interval; it is one line naming the file's last line instead."""
    rows = ["2024-03-01T00:00:00Z,1", "2024-03-01T01:00:00Z,2", "2024-03-01T02:00:00Z,3",
            "2024-03-01T03:00:00Z,1234"]
    path = tmp_path / "carbon.csv"
    path.write_text("timestamp,carbon_intensity\n" + "\n".join(rows)[:-cut])
    with pytest.raises(InputError) as err:
        cost.read_series(path, what="carbon intensity", key="cost.carbon_series", duration_s=3 * HOUR_S)
    assert err.value.problems == [f"cost.carbon_series {path}: line 5: the last line has no line end, so the file "
                                  "may be cut short; if the file is complete, end it with a newline"]
    path.write_text("timestamp,carbon_intensity\n" + "\n".join(rows) + "\n")  # whole: read
    assert cost.read_series(path, what="carbon intensity", key="cost.carbon_series", duration_s=3 * HOUR_S)


def test_a_price_and_a_carbon_series_starting_apart_are_read_from_the_later_first_row(tmp_path):
    """Prices from 00:00, intensities from 02:00, no series_start: time 0 is 02:00 for
    both (the first hour both have a value; each read from its own first row paired
    00:00's price with 02:00's intensity). A constant 300 W for 2 h pays
    0.3 kW × (0.3 + 0.4) and emits 0.3 kW × (100 + 200) g; the manifest and the
    resolved config name 02:00, and the resolved config run again gives the same."""
    price = hourly(tmp_path / "price.csv", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    carbon = hourly(tmp_path / "carbon.csv", [100, 200, 300], first_hour=2)
    cfg = config(2 * HOUR_S, {"price_series": str(price), "carbon_series": str(carbon)},
                 host={"power_idle_w": 300, "power_max_w": 300}, platforms=("vm",))
    result = simdc.simulate(cfg)
    row = result.summary.iloc[0]
    assert row["cost_energy"] == pytest.approx(0.3 * (0.3 + 0.4), rel=1e-12)
    assert row["carbon_operational_kgco2eq"] == pytest.approx(0.3 * (100 + 200) / 1000, rel=1e-12)
    assert result.manifest["series_t0_utc"] == {"cost.price_series": "2024-03-01T02:00:00Z",
                                                "cost.carbon_series": "2024-03-01T02:00:00Z"}
    (note,) = [w for w in result.manifest["warnings"] if w.startswith("cost:")]
    assert "2024-03-01 00:00:00" in note and "2024-03-01 02:00:00" in note and "cost.series_start" in note
    written = result.config.to_dict()["cost"]["series_start"]
    assert pd.Timestamp(written) == pd.Timestamp("2024-03-01T02:00:00Z")
    again = simdc.simulate(validate(result.config.to_dict()))
    assert again.summary["cost_energy"].iloc[0] == row["cost_energy"]
    assert again.manifest["config_hash"] == result.manifest["config_hash"]
    assert not [w for w in again.manifest["warnings"] if w.startswith("cost:")]


def test_one_series_or_a_given_start_names_its_time_0_without_a_warning(tmp_path):
    """A carbon series alone: time 0 its first row (01:00). With series_start = 03:00 in
    Europe/Brussels (UTC+1 in March): 02:00 UTC."""
    carbon = hourly(tmp_path / "carbon.csv", [100, 200, 300, 400], first_hour=1)
    alone = simdc.simulate(config(HOUR_S, {"price_per_kwh": 0.2, "carbon_series": str(carbon)}, platforms=("vm",)))
    assert alone.manifest["series_t0_utc"] == {"cost.carbon_series": "2024-03-01T01:00:00Z"}
    assert not [w for w in alone.manifest["warnings"] if w.startswith("cost:")]
    given = simdc.simulate(config(HOUR_S, {"price_per_kwh": 0.2, "carbon_series": str(carbon),
                                           "series_start": "2024-03-01T03:00:00", "series_timezone": "Europe/Brussels"},
                                  platforms=("vm",)))
    assert given.manifest["series_t0_utc"] == {"cost.carbon_series": "2024-03-01T02:00:00Z"}
    assert pd.Timestamp(given.config.to_dict()["cost"]["series_start"]) == pd.Timestamp("2024-03-01T02:00:00Z")
    constants = simdc.simulate(config(HOUR_S, {"price_per_kwh": 0.2}, platforms=("vm",)))
    assert "series_t0_utc" in constants.manifest and constants.manifest["series_t0_utc"] == {}


def test_an_earlier_series_too_short_from_the_later_first_row_says_time_0_and_series_start(tmp_path):
    price = hourly(tmp_path / "price.csv", [0.1, 0.2, 0.3])  # 00:00 .. 03:00
    carbon = hourly(tmp_path / "carbon.csv", [100, 200, 300], first_hour=2)
    with pytest.raises(InputError) as err:
        cost.grid_series(config(2 * HOUR_S, {"price_series": str(price), "carbon_series": str(carbon)}).cost,
                         2 * HOUR_S)
    (problem,) = err.value.problems
    assert problem.startswith(f"cost.price_series {price}: ")
    assert "time 0 is 2024-03-01 02:00:00 UTC, cost.carbon_series's first row" in problem
    assert "set cost.series_start" in problem


def test_an_earlier_series_too_short_even_from_its_own_first_row_names_the_later_time_0(tmp_path):
    """Prices 00:00 to 05:00, intensities from 02:00 on, a run of 8 h: the price series is
    short whichever moment is time 0, and the error says from which: 02:00, the moment
    taken (it said 'after 00:00', the price series' own first row, read before the two
    were aligned)."""
    price = hourly(tmp_path / "price.csv", [0.1, 0.2, 0.3, 0.4, 0.5])
    carbon = hourly(tmp_path / "carbon.csv", [100] * 12, first_hour=2)
    with pytest.raises(InputError) as err:
        cost.grid_series(config(8 * HOUR_S, {"price_series": str(price), "carbon_series": str(carbon)}).cost,
                         8 * HOUR_S)
    (problem,) = err.value.problems
    assert "before the run's end 8 h after 2024-03-01 02:00:00" in problem
    assert "time 0 is 2024-03-01 02:00:00 UTC, cost.carbon_series's first row" in problem


def test_cells_read_two_series_starting_apart_from_the_later_first_row_and_record_it(tmp_path):
    """A fleet of cells, as a single fleet: prices from 00:00, intensities from 01:00;
    six hosts at a constant 300 W for 1 h pay 6 × 0.3 kW × 0.2 (01:00's price) and emit
    6 × 0.3 kW × 50 g; manifest.json and config.toml name 01:00 UTC."""
    import json
    import tomllib

    from tests.test_cells import HOST, cells_config, run, write

    hourly(tmp_path / "price.csv", [0.1, 0.2, 0.3])
    hourly(tmp_path / "carbon.csv", [50, 60], first_hour=1)
    raw = cells_config(3, cost={"price_series": str(tmp_path / "price.csv"),
                                "carbon_series": str(tmp_path / "carbon.csv")})
    raw["simulation"]["duration_s"] = HOUR_S
    for cell in raw["cells"]:
        cell["hosts"] = [dict(HOST, power_idle_w=300, power_max_w=300, count=cell["hosts"][0]["count"])]
    run(write(tmp_path / "cells.toml", raw), tmp_path / "out")
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert summary["cost_energy"].to_numpy() == pytest.approx(6 * 0.3 * 0.2, rel=1e-12)
    assert summary["carbon_operational_kgco2eq"].to_numpy() == pytest.approx(6 * 0.3 * 50 / 1000, rel=1e-12)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert set(manifest["series_t0_utc"].values()) == {"2024-03-01T01:00:00Z"}
    assert any(w.startswith("cost: cost.price_series begins") for w in manifest["warnings"])
    written = tomllib.loads((tmp_path / "out" / "config.toml").read_text())["cost"]["series_start"]
    assert pd.Timestamp(written) == pd.Timestamp("2024-03-01T01:00:00Z")
