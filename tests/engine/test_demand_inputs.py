"""A service's demand in requests per second (``per_request_core_s``: cores = rate ×
core-seconds per request) and from a plain CSV series ``t_s,value`` (issue #18); the
expected cores are computed here from the input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import simdc
from simdc.cli import app
from simdc.config import validate
from simdc.engine.services import demand_series
from simdc.errors import ConfigError, InputError
from simdc.model.service import DemandSpec


def holding(times, values, t):
    """The value of a step series (each value from its time on) at ``t``."""
    return [v for s, v in zip(times, values) if s <= t][-1]


def test_requests_per_second_times_core_seconds_per_request_are_cores():
    """50 requests/s of 0.04 core-s each: 2 cores; steps in requests/s, 10 then 100 from
    300 s, of 0.02 core-s: 0.2 then 2 cores; a spike ×3 multiplies the cores alike."""
    t, cores = demand_series(DemandSpec(requests_per_s=50, per_request_core_s=0.04), 600.0)
    assert cores == pytest.approx(np.full(len(t), 2.0))
    spec = DemandSpec(steps=[[0, 10], [300, 100]], per_request_core_s=0.02,
                      spikes=[{"at_s": 450, "duration_s": 30, "factor": 3}])
    t, cores = demand_series(spec, 600.0)
    for when, value in zip(t, cores):
        expected = (0.2 if when < 300 else 2.0) * (3 if 450 <= when < 480 else 1)
        assert value == pytest.approx(expected), when


@settings(max_examples=30, deadline=None)
@given(gaps=st.lists(st.integers(1, 400), min_size=0, max_size=12),
       values=st.lists(st.integers(0, 1000), min_size=13, max_size=13),
       per_request=st.none() | st.sampled_from([0.001, 0.25]))
def test_a_plain_series_holds_each_value_from_its_time_on(tmp_path_factory, gaps, values, per_request):
    times = np.concatenate([[0], np.cumsum(gaps)]).astype(float)
    values = [v / 10 for v in values[:len(times)]]
    path = tmp_path_factory.mktemp("s") / "series.csv"
    path.write_text("t_s,value\n" + "".join(f"{a:g},{v:g}\n" for a, v in zip(times, values)))
    duration_s = 3000.0
    t, cores = demand_series(DemandSpec(series=path, per_request_core_s=per_request, step_s=60), duration_s)
    assert set(times[times < duration_s]) <= set(t)  # every change is a step of its own
    for when, value in zip(t, cores):
        assert value == pytest.approx(holding(times, values, when) * (per_request or 1.0)), when


def services_config(demand, tmp_path=None):
    return validate({
        "simulation": {"duration_s": 600, "platforms": ["container"], "sample_every_s": 600},
        "host": {"cpu_cores": 64, "memory_gib": 256},
        "platform": {"container": {"start_s": 2.0}},
        "workload": {"synthetic": {"arrival_rate_per_s": 1e-9}},
        "services": [{"name": "api", "replicas": 8, "cpu_cores": 1, "memory_gib": 1, "running_at_start": True,
                      "demand": demand}]})


def test_a_service_serves_a_series_in_requests_per_second(tmp_path):
    """100 requests/s for 300 s, then 200, each 0.04 core-s: 4 then 8 cores, 3,600 core-s
    asked over 600 s; 8 one-core replicas up from the start serve all of it."""
    path = tmp_path / "rps.csv"
    path.write_text("t_s,value\n0,100\n300,200\n")
    results = simdc.simulate(services_config({"series": str(path), "per_request_core_s": 0.04}))
    series = results.services.sort_values("t_s", kind="stable")
    t = series["t_s"].to_numpy(float)
    held = np.diff(np.append(t, 600.0))
    assert float((series["demand_cores"] * held).sum()) == pytest.approx(3600.0)
    assert results.summary["demand_unserved_core_s"].iloc[0] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("text, said", [
    ("time,value\n0,1\n", "line 1: expected the header t_s,value (got time,value)"),
    ("0,1\n60,2\n", "line 1: expected the header t_s,value (got 0,1: a row of data; the file has no header line)"),
    ("t_s,value\n0,1\n60,-2\n", "line 3: value: expected a number >= 0 (got '-2')"),
    ("t_s,value\n0,1\n60,\n", "line 3: value: expected a number >= 0 (got nothing)"),
    ("t_s,value\n10,1\n", "line 2: the first t_s must be 0"),
    ("t_s,value\n0,1\n60,2\n60,3\n", "line 4: t_s 60 is not after the line before's (60): times must increase"),
    ("t_s,value\n", "no rows after the header"),
])
def test_a_bad_series_is_one_line_naming_the_file_and_line(tmp_path, text, said):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        demand_series(DemandSpec(series=path), 600.0)
    assert err.value.problems == [f"{path}: {said}"] or (len(err.value.problems) == 1
                                                        and err.value.problems[0].startswith(f"{path}: {said}"))


@pytest.mark.parametrize("demand, said", [
    ({"requests_per_s": 5}, "requests_per_s needs per_request_core_s"),
    ({"cores": 2, "per_request_core_s": 0.1}, "give the demand in cores or in requests per second"),
    ({"steps": [[0, 1]], "series": "x.csv"}, "give steps or a series, not both"),
    # a series added to a constant, while a step replaced it: one rule, a series is the demand
    ({"cores": 5, "series": "x.csv"}, "a series is the demand itself"),
    ({"requests_per_s": 5, "per_request_core_s": 0.1, "series": "x.csv"}, "a series is the demand itself"),
])
def test_a_demand_mixing_its_units_or_sources_is_one_config_error(demand, said):
    with pytest.raises(ConfigError, match=said):
        services_config(demand)


def test_the_cli_reports_a_missing_or_bad_series_in_one_line_exit_2(tmp_path):
    config = tmp_path / "c.toml"
    base = ('[simulation]\nduration_s = 600\nplatforms = ["container"]\n[host]\ncpu_cores = 8\nmemory_gib = 32\n'
            '[workload.synthetic]\narrival_rate_per_s = 1e-9\n[[services]]\nname = "api"\nreplicas = 2\n'
            'cpu_cores = 1\nmemory_gib = 1\n')
    runner = CliRunner()
    for series, said in (("nope.csv", f"error: {config}: services[0].demand.series: file not found"),
                         ("bad.csv", f"error: {tmp_path / 'bad.csv'}: line 3: t_s: expected a number >= 0")):
        (tmp_path / "bad.csv").write_text("t_s,value\n0,1\nsoon,2\n")
        config.write_text(base + f'demand = {{ series = "{series}", per_request_core_s = 0.01 }}\n')
        result = runner.invoke(app, ["run", str(config), "--out", str(tmp_path / "out")])
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith(said), result.output
        assert not (tmp_path / "out").exists()
