"""What the Python API writes, held to what the CLI refuses: found by a new user's
re-check (a report written over a results directory's own summary.csv; "no" taken as
yes for overwrite; availability 0.9999999999999997 failing a plan's >= 1)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import simdc
from simdc.errors import ConfigError, OutputError
from simdc.planning import PlanResult, disagreements, parse_slo
from simdc.report import write_report

CONFIG = Path(__file__).parents[1] / "configs" / "host64g.toml"


@pytest.fixture(scope="module")
def run():
    return simdc.simulate(simdc.load_config(CONFIG, overrides={"simulation.duration_s": 21600}))


def test_a_report_is_never_written_over_a_results_directorys_own_files(run, tmp_path):
    folder = run.write(tmp_path / "r")
    for name in ("summary.csv", "instances.parquet", "manifest.json"):
        before = (folder / name).read_bytes()
        with pytest.raises(OutputError, match="a file of its results"):
            write_report(run, folder / name, overwrite=True)
        assert (folder / name).read_bytes() == before
    assert simdc.load_results(folder).summary.equals(pd.read_csv(folder / "summary.csv"))
    assert write_report(run, folder / "report.html", overwrite=True).is_file()  # its report's own place


@pytest.mark.parametrize("call", ["results", "report", "report_flag", "plan"])
def test_a_string_is_no_yes_or_no_for_an_output_flag(run, tmp_path, call):
    """"no" is true to Python: it replaced what it was told not to."""
    taken = tmp_path / "taken"
    if call == "results":
        run.write(taken)
        with pytest.raises(ConfigError, match="overwrite: expected True or False"):
            run.write(taken, overwrite="yes")
    elif call == "report":
        taken.write_text("mine")
        with pytest.raises(ConfigError, match="overwrite: expected True or False"):
            write_report(run, taken, overwrite="no")
        assert taken.read_text() == "mine"
    elif call == "report_flag":
        with pytest.raises(ConfigError, match="report: expected True or False"):
            run.write(tmp_path / "fresh", report="no")
        assert not (tmp_path / "fresh").exists()
    else:
        result = PlanResult(pd.DataFrame({"platform": ["vm"], "hosts": [1]}), pd.DataFrame({"platform": ["vm"]}))
        result.write(taken)
        with pytest.raises(ConfigError, match="overwrite: expected True or False"):
            result.write(taken, overwrite="no")


def test_availability_is_exactly_one_when_nothing_was_down(run):
    """No failures, moves or services: every instance ran all it asked; the two sums differ
    in their last bits only, and a plan's service_availability>=1 must be met."""
    assert run.summary["service_availability"].tolist() == [1.0, 1.0]


def test_plan_arguments_and_counts_of_each_group(run):
    with pytest.raises(ConfigError, match="slos: expected a list of objectives"):
        simdc.plan(run.config, None)
    with pytest.raises(ConfigError, match="slos: expected a list of objectives"):
        simdc.plan(run.config, [None])
    evaluations = pd.DataFrame({"platform": ["c"] * 4, "hosts": [5, 5, 6, 6], "seed": [1, 2, 1, 2],
                                "rejection_rate": [0.02, 0.0, 0.0, 0.0]})
    (line,) = disagreements(PlanResult(evaluations, pd.DataFrame({"platform": ["c"], "hosts_needed": [6]}),
                                       "× each group"), [parse_slo("rejection_rate<=0.01")])
    assert "at 5 × each group (" in line


def test_api_arguments_of_the_wrong_kind_are_named():
    """load_results(None) and aggregate(None) gave os-level and attribute errors; a key's
    values as a numpy array or a range were refused as 'a single value'."""
    import numpy as np

    with pytest.raises(TypeError, match="load_results: expected the path of a results directory, got NoneType"):
        simdc.load_results(None)
    with pytest.raises(TypeError, match="aggregate: expected a sweep's points table"):
        simdc.aggregate(None)
    config = simdc.load_config(CONFIG, overrides={"simulation.duration_s": 600, "simulation.platforms": ["vm"]})
    as_array = simdc.sweep(config, {"host.memory_gib": np.array([64, 128])}, workers=1)
    as_list = simdc.sweep(config, {"host.memory_gib": [64, 128]}, workers=1)
    assert as_array.equals(as_list)
    assert simdc.sweep(config, {"simulation.seed": range(3, 5)}, workers=1)["seed"].tolist() == [3, 4]
