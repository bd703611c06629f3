"""What a new user gets wrong in the [cost] table, said rather than priced silently: a
host group left without a price beside priced ones, a series in another unit than the
one it is read in, a time shown on another clock than the one it was written on, a
gzipped series, and a bound in another unit than the value it refuses."""

from __future__ import annotations

import gzip
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

import simdc
from simdc import cost
from simdc.config import validate
from simdc.errors import ConfigError, InputError
from simdc.planning import plan

HOUR_S = 3600.0
HOURS_PER_YEAR = 365.25 * 24


def write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def two_groups(old: dict, new: dict, cost_table: dict | None = None, duration_s: float = 2 * HOUR_S) -> simdc.Config:
    """Three old hosts and two new ones, each group with its own cost keys."""
    return validate({
        "simulation": {"duration_s": duration_s, "seed": 3, "platforms": ["container"], "sample_every_s": 900},
        "cluster": {"hosts": [
            {"name": "old", "count": 3, "cpu_cores": 8, "memory_gib": 32, **old},
            {"name": "new", "count": 2, "cpu_cores": 32, "memory_gib": 128, **new}]},
        "workload": {"synthetic": {"arrival_rate_per_s": 0.01, "lifetime_s": {"mean": 1800},
                                   "sizes": [{"cpu_cores": 2, "memory_gib": 7, "weight": 1}]}},
        "cost": cost_table if cost_table is not None else {"price_per_kwh": 0.2},
    })


CAPEX = {"capex": 7000, "amortisation_years": 5}
EMBODIED = {"embodied_kgco2eq": 1100, "lifetime_years": 5}


# --- 1. a host group without a price beside priced ones -------------------------------


def test_plan_minimise_cost_refuses_a_group_left_without_a_price():
    """Ranking groups by a cost that leaves out one group's hardware calls that group the
    cheapest (it was so: the unpriced group's cost was its electricity alone). The refusal
    names the group and the keys to give."""
    config = two_groups(CAPEX, {})
    with pytest.raises(ConfigError) as err:
        plan(config, ["rejection_rate<=0.05"], minimise="cost")
    (problem,) = err.value.problems
    assert "cluster.hosts.1 ('new')" in problem and "cluster.hosts.0" not in problem.split(" while ")[0]
    assert "price_per_hour" in problem and "capex" in problem


def test_plan_minimise_cost_refusal_exits_2_naming_the_group(tmp_path):
    from typer.testing import CliRunner

    from simdc.cli import app

    toml = tmp_path / "plan.toml"
    toml.write_text("""
[simulation]
duration_s = 3600
platforms = ["container"]
[[cluster.hosts]]
name = "gen2017"
cpu_cores = 8
memory_gib = 32
price_per_hour = 0.5
[[cluster.hosts]]
name = "gen2023"
cpu_cores = 32
memory_gib = 128
[workload.synthetic]
arrival_rate_per_s = 0.01
[cost]
price_per_kwh = 0.2
""")
    result = CliRunner().invoke(app, ["plan", str(toml), "--slo", "rejection_rate<=0.05", "--minimise", "cost"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --minimise cost: cluster.hosts.1 ('gen2023') has no "
                                                   "price_per_hour"), lines


def test_a_run_with_a_group_left_unpriced_warns_once_and_counts_the_priced_hosts_only():
    """Old hosts priced (capex 7,000 over 5 years), new ones not: cost_hosts is the old
    hosts' amortised capital alone, 3 × 7000 × 2 h / (5 × 8,766 h), and one warning
    names the new group and what to give (none did: the new hosts were free, silently).
    Embodied carbon likewise, the other way round."""
    result = simdc.simulate(two_groups(CAPEX, EMBODIED))
    row = result.summary.iloc[0]
    assert row["cost_hosts"] == pytest.approx(3 * 7000 * 2 / (5 * HOURS_PER_YEAR), rel=1e-12)
    assert row["carbon_embodied_kgco2eq"] == pytest.approx(2 * 1100 * 2 / (5 * HOURS_PER_YEAR), rel=1e-12)
    (price_line,) = [w for w in result.manifest["warnings"] if "price_per_hour" in w]
    assert price_line.startswith("cost: cluster.hosts.1 ('new') has no price_per_hour, or capex with "
                                 "amortisation_years, while cluster.hosts.0 ('old') has")
    (carbon_line,) = [w for w in result.manifest["warnings"] if "embodied_kgco2eq" in w]
    assert carbon_line.startswith("cost: cluster.hosts.0 ('old') has no embodied_kgco2eq")


@pytest.mark.parametrize("old, new", [({}, {}), (CAPEX, {"price_per_hour": 0.0}), ({**CAPEX, **EMBODIED},
                                                                                     {**CAPEX, **EMBODIED})])
def test_every_group_priced_or_none_is_not_warned(old, new):
    """No group priced (electricity alone, on purpose) or every group priced (a 0 says
    free): no warning, and plan --minimise cost is not refused for it."""
    config = two_groups(old, new)
    assert cost.unpriced(config) == {}
    result = simdc.simulate(config)
    assert not [w for w in result.manifest["warnings"] if w.startswith("cost:")]


# --- 2. a series in another unit ------------------------------------------------------


def hourly(path: Path, values: list[float]) -> Path:
    return write(path, "time,price", [f"2023-06-01T{k:02d}:00:00Z,{v}" for k, v in enumerate(values)])


def test_a_per_mwh_series_read_per_kwh_is_noted_with_its_mean(tmp_path):
    """ENTSO-E's EUR/MWh (100, 110, 120, ...) read with the default per_kwh: a mean over
    the 2-h run of (100 + 110) / 2 = 105 per kWh, above every EUR or USD wholesale cap
    (EU day-ahead 4 EUR/kWh, ERCOT 5 USD/kWh): a note naming the mean and the key,
    not a refusal. It ran silently at 1,000x the bill."""
    path = hourly(tmp_path / "pmwh.csv", [100.0, 110.0, 120.0])
    result = simdc.simulate(two_groups(CAPEX, CAPEX, {"price_series": str(path)}))
    (note,) = [w for w in result.manifest["warnings"] if w.startswith("cost:")]
    assert "105 per kWh" in note and 'cost.price_series_unit = "per_mwh"' in note
    per_mwh = simdc.simulate(two_groups(CAPEX, CAPEX, {"price_series": str(path), "price_series_unit": "per_mwh"}))
    assert not [w for w in per_mwh.manifest["warnings"] if w.startswith("cost:")]


def test_a_per_kwh_series_read_per_mwh_and_a_constant_per_mwh_are_noted(tmp_path):
    """The other way round, 0.1 EUR/kWh read per MWh is 0.0001 per kWh: noted, naming
    the default per_kwh; a constant price_per_kwh of 100 (EUR/MWh) likewise."""
    path = hourly(tmp_path / "p.csv", [0.1, 0.11, 0.12])
    result = simdc.simulate(two_groups(CAPEX, CAPEX, {"price_series": str(path), "price_series_unit": "per_mwh"}))
    (note,) = [w for w in result.manifest["warnings"] if w.startswith("cost:")]
    assert '"per_kwh"' in note and "0.105 per MWh" in note
    constant = simdc.simulate(two_groups(CAPEX, CAPEX, {"price_per_kwh": 100.0}))
    (note,) = [w for w in constant.manifest["warnings"] if w.startswith("cost:")]
    assert note.startswith("cost: cost.price_per_kwh = 100: ")


def test_a_carbon_series_in_kg_is_noted(tmp_path):
    """0.2 kgCO2eq/kWh read as 0.2 g/kWh: below any source's life-cycle emissions (IPCC
    AR5 WGIII Annex III: wind and nuclear medians 11-12 g/kWh); noted with its mean."""
    path = write(tmp_path / "c.csv", "time,ci", [f"2023-06-01T{k:02d}:00:00Z,{v}" for k, v in
                                                 enumerate([0.2, 0.3, 0.25])])
    result = simdc.simulate(two_groups(CAPEX, CAPEX, {"price_per_kwh": 0.2, "carbon_series": str(path)}))
    (note,) = [w for w in result.manifest["warnings"] if w.startswith("cost:")]
    assert note.startswith("cost: cost.carbon_series: ") and "0.25 gCO2eq/kWh" in note and "kgCO2eq/kWh" in note


def test_the_run_mean_is_time_weighted_over_the_run():
    """Edges -1, 1, 4 h with values 10, 40 over a 3-h run: (1 × 10 + 2 × 40) / 3 = 30."""
    series = cost.StepSeries(np.array([-HOUR_S, HOUR_S, 4 * HOUR_S]), np.array([10.0, -40.0]))
    assert cost.run_means(series, 3 * HOUR_S) == pytest.approx(((10 - 80) / 3, (10 + 80) / 3))


# --- 3. times shown on the clock they were written on ---------------------------------


def test_a_time_in_an_error_is_shown_in_the_series_timezone(tmp_path):
    """series_start 01:00 in Brussels (UTC+2 in June: 23:00 UTC the day before) before a
    series from 00:00 UTC (02:00 in Brussels). It said 'starts at 2023-06-01 00:00:00,
    after the run's start (cost.series_start = 2023-05-31 23:00:00)': UTC, unlabelled,
    so the user's own 01:00 read as 23:00."""
    path = hourly(tmp_path / "p.csv", [0.1, 0.11, 0.12])
    with pytest.raises(InputError) as err:
        cost.read_series(path, what="price", key="cost.price_series", duration_s=HOUR_S,
                         start=datetime(2023, 6, 1, 1), zone="Europe/Brussels")
    (problem,) = err.value.problems
    assert "starts at 2023-06-01 02:00:00+02:00[Europe/Brussels], after the run's start (cost.series_start = " \
           "2023-06-01 01:00:00+02:00[Europe/Brussels])" in problem
    with pytest.raises(InputError) as err:  # without a zone, every time is UTC and says so
        cost.read_series(path, what="price", key="cost.price_series", duration_s=HOUR_S,
                         start=datetime(2023, 5, 31, 23))
    assert "starts at 2023-06-01 00:00:00 UTC" in err.value.problems[0]


def test_every_time_in_a_series_message_is_labelled(tmp_path):
    """The other messages showing a time (a series too short, timestamps not increasing)
    show them in the zone too: 04:00 UTC is 06:00 in Brussels."""
    path = hourly(tmp_path / "p.csv", [0.1, 0.11, 0.12])  # 00:00 to 02:00 UTC, covering to 03:00
    with pytest.raises(InputError) as err:
        cost.read_series(path, what="price", key="k", duration_s=8 * HOUR_S, zone="Europe/Brussels")
    assert "ends at 2023-06-01 05:00:00+02:00[Europe/Brussels]" in err.value.problems[0]
    back = write(tmp_path / "b.csv", "time,price", ["2023-06-01T04:00:00Z,1", "2023-06-01T03:00:00Z,1"])
    with pytest.raises(InputError, match=re.escape("(2023-06-01 06:00:00+02:00[Europe/Brussels]): timestamps")):
        cost.read_series(back, what="price", key="k", duration_s=HOUR_S, zone="Europe/Brussels")


# --- 4. a gzipped series ---------------------------------------------------------------


def test_a_gzipped_series_reads_as_the_plain_one(tmp_path):
    """Traces are read through gzip; a series was refused as 'not UTF-8 text (byte 0x8b)'."""
    plain = hourly(tmp_path / "c.csv", [100, 110, 120])
    packed = tmp_path / "c.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    read = [cost.read_series(p, what="carbon intensity", key="cost.carbon_series", duration_s=2 * HOUR_S)
            for p in (plain, packed)]
    assert list(read[1].values) == list(read[0].values) == [100, 110]
    assert list(read[1].edges_s) == list(read[0].edges_s)
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(packed.read_bytes()[:-12])  # an interrupted download
    with pytest.raises(InputError) as err:
        cost.read_series(cut, what="carbon intensity", key="cost.carbon_series", duration_s=2 * HOUR_S)
    (problem,) = err.value.problems
    assert problem.startswith(f"cost.carbon_series {cut}: ") and "0x8b" not in problem


@pytest.mark.parametrize("number", [7, 1_700_000_000, 0.5])
def test_a_number_for_series_start_is_refused_not_read_as_seconds_since_1970(number):
    """pydantic reads a number as a Unix time: series_start = 7 was 1970-01-01T00:00:07,
    a moment of no series, silently. A moment is written as a date and time."""
    from simdc.config import validate
    from simdc.errors import ConfigError

    with pytest.raises(ConfigError, match=r"cost.series_start: expected a date and time .*got the number"):
        validate({"simulation": {"duration_s": 3600.0}, "host": {"cpu_cores": 4, "memory_gib": 8},
                  "workload": {"synthetic": {"arrival_rate_per_s": 0.1}},
                  "cost": {"price_per_kwh": 0.2, "carbon_series": "c.csv", "series_start": number}},
                 check_files=False)
