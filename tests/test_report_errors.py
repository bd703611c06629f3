"""The report and figures on the wrong input: one clear error, nothing half-written.

write_report refuses a directory, a folder that does not exist and (without
overwrite=True) an existing file with one OutputError naming the path, and leaves no
``.partial`` file behind; a figure given data without what it draws raises one
ValueError naming the function, what is missing and what to pass; a sweep report says
why it has no figures; an axis of one value is not centred on ±1."""

from __future__ import annotations

import copy
import errno
import os

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simdc
from simdc import report
from simdc.config import validate
from simdc.errors import OutputError
from tests.conftest import MINIMAL
from tests.test_report import sweep_points


@pytest.fixture(scope="module")
def results() -> simdc.Results:
    """A plain run: no cost, no moves, no services, no failures."""
    return simdc.simulate(validate(copy.deepcopy(MINIMAL)))


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.name.endswith(".partial"))


# --- write_report's destination ---------------------------------------------------------


def test_a_directory_is_refused_naming_it_and_nothing_is_left_beside_it(results, tmp_path):
    folder = tmp_path / "cli1"
    folder.mkdir()
    (folder / "kept.txt").write_text("mine")
    with pytest.raises(OutputError) as caught:
        report.write_report(results, folder)
    assert caught.value.problems == [f"{folder}: is a directory; give a file name, e.g. {folder / 'report.html'}"]
    assert leftovers(tmp_path) == [] and [p.name for p in folder.iterdir()] == ["kept.txt"]


def test_a_missing_folder_is_refused_naming_the_path_not_a_partial_file(results, tmp_path):
    target = tmp_path / "absent" / "r.html"
    with pytest.raises(OutputError) as caught:
        report.write_report(results, target)
    (line,) = caught.value.problems
    assert line.startswith(f"{target}: cannot write the report: its folder {tmp_path / 'absent'} does not exist")
    assert "partial" not in line
    assert list(tmp_path.iterdir()) == []
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        report.write_report(results, afile / "r.html")


def test_an_existing_file_is_kept_unless_overwrite(results, tmp_path):
    precious = tmp_path / "precious.csv"
    precious.write_text("a,b\n1,2\n")
    with pytest.raises(OutputError) as caught:
        report.write_report(results, precious)
    assert caught.value.problems == [f"{precious}: already exists; choose another file or pass overwrite=True"]
    assert precious.read_text() == "a,b\n1,2\n" and leftovers(tmp_path) == []
    assert report.write_report(results, precious, overwrite=True) == precious
    assert precious.read_text().startswith("<!DOCTYPE html>") and leftovers(tmp_path) == []


def test_a_failed_write_is_an_output_error_and_leaves_no_partial_file(results, tmp_path, monkeypatch):
    """The disk fills as the report is renamed into place: the old report stays whole."""
    old = tmp_path / "report.html"
    old.write_text("old")

    def full(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(report.os, "replace", full)
    with pytest.raises(OutputError, match=f"^{old}: cannot write the report: no space left on device"):
        report.write_report(results, old, overwrite=True)
    assert old.read_text() == "old" and leftovers(tmp_path) == []


def test_cli_report_still_writes_its_own_report_again_and_refuses_a_taken_out(tmp_path, results):
    """``simdc report DIR`` rewrites DIR/report.html (simdc's own) without --overwrite;
    --out naming an existing file needs --overwrite."""
    from typer.testing import CliRunner

    from simdc.cli import app

    out = results.write(tmp_path / "run")
    runner = CliRunner()
    for _ in range(2):
        done = runner.invoke(app, ["report", str(out)])
        assert done.exit_code == 0, done.output
    taken = tmp_path / "taken.html"
    taken.write_text("not a report")
    refused = runner.invoke(app, ["report", str(out), "--out", str(taken)])
    assert refused.exit_code == 2 and "--overwrite" in refused.output and taken.read_text() == "not a report"
    assert runner.invoke(app, ["report", str(out), "--out", str(taken), "--overwrite"]).exit_code == 0
    assert taken.read_text().startswith("<!DOCTYPE html>")


# --- figures without what they draw ----------------------------------------------------------


@pytest.mark.parametrize("figure, table, expected", [
    ("figure_cost", None, r"figure_cost: the run's summary table has none of the columns cost_hosts, .* \[cost\]"),
    ("figure_moves", None, "figure_moves: the run's instances table has no migrations"),
    ("figure_services", None, r"figure_services: the run has no services table \(a config with \[\[services\]\]"),
    ("figure_failures", None, "figure_failures: nothing to draw"),
    ("figure_interference", "instances", "figure_interference: the table given has no t_s, cpu_demand, cpu_used"),
    ("figure_cost", "hosts", "figure_cost: the table given has none of the columns cost_hosts, cost_energy"),
    ("figure_memory", "instances", "figure_memory: the table given has no t_s, mem_alloc_gib, mem_used_gib"),
    ("figure_cpu", "summary", "figure_cpu: the table given has no t_s, cpu_demand, cpu_used"),
    ("figure_density", "hosts", "figure_density: the table given has no t_s, resident"),
    ("figure_start_latency", "timeseries",
     "figure_start_latency: the table given has no submit_s column and none of the columns first_ready_s, ready_s"),
    ("figure_outcomes", "timeseries", "figure_outcomes: the table given has no outcome"),
    ("figure_moves", "timeseries", "figure_moves: the table given has no migrations"),
    ("figure_services", "instances", "figure_services: the table given has no t_s, service, demand_cores"),
])
def test_a_figure_without_its_data_is_one_value_error_naming_it_and_what_to_pass(results, figure, table, expected):
    source = results if table is None else getattr(results, table)
    with pytest.raises(ValueError, match=expected) as caught:
        getattr(report, figure)(source)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{figure}: ")
    assert "pass Results" in message or "has_failures" in message


def test_moves_of_a_run_that_moved_nothing_is_refused(results):
    with pytest.raises(ValueError, match="^figure_moves: nothing to draw: no instance was moved"):
        report.figure_moves(results.instances.assign(migrations=0, downtime_s=0.0, migrated_gib=0.0))


def test_something_else_than_results_or_a_table_is_a_type_error(tmp_path):
    with pytest.raises(TypeError, match="^write_report: expected simdc Results or a sweep's table .* got dict"):
        report.write_report({"summary": None}, tmp_path / "r.html")
    assert list(tmp_path.iterdir()) == []


def test_cli_report_of_a_sweep_table_without_metrics_is_one_error_line(tmp_path):
    from typer.testing import CliRunner

    from simdc.cli import app

    sweep = tmp_path / "sweep"
    sweep.mkdir()
    pd.DataFrame({"point": [0], "host.memory_gib": [32], "platform": ["vm"], "replication": [0]}).to_csv(
        sweep / "points.csv", index=False)
    done = CliRunner().invoke(app, ["report", str(sweep)])
    assert done.exit_code == 2 and "Traceback" not in done.output
    (line,) = [line for line in done.output.splitlines() if line.strip()]
    assert line.startswith(f"error: {sweep / 'points.csv'}: the sweep table has none of the headline metrics")
    assert not (sweep / "report.html").exists()


def test_figure_services_and_cost_take_their_table(tmp_path):
    """The table itself draws the same figure as the Results (README: "Results or the
    table itself"); the services' demand is the sum over services at the last moment."""
    from tests.test_budget_services import config, service

    run = simdc.simulate(config([service(0, 2, 1), service(1, 3, 0)],
                                cost={"price_per_kwh": 0.2, "licence_per_hour": {"vm": 0.1}}))
    a, b = report.figure_services(run), report.figure_services(run.services, releases=run.releases)
    assert [list(t.y) for t in a.data] == [list(t.y) for t in b.data] and len(a.layout.shapes) == len(b.layout.shapes)
    last = run.services.sort_values("t_s").groupby(["platform", "service"]).last()
    demands = [t for t in a.data if t.name.startswith("demand")]
    assert len(demands) == 2
    for trace in demands:
        platform = a.layout.annotations[int((trace.xaxis or "x")[1:] or 1) - 1].text
        assert trace.y[-1] == pytest.approx(last.loc[platform, "demand_cores"].sum())
    c, d = report.figure_cost(run), report.figure_cost(run.summary)
    assert [(t.name, list(t.y)) for t in c.data] == [(t.name, list(t.y)) for t in d.data]
    assert sum(sum(t.y) for t in c.data if t.name == "licences") == pytest.approx(run.summary["cost_licences"].sum())


# --- the sweep report -------------------------------------------------------------------


def test_a_sweep_over_three_keys_says_why_it_has_no_figures_and_its_slice_draws(tmp_path):
    keys = {"host.memory_gib": [32, 64], "host.cpu_cores": [8, 16], "simulation.seed": [1, 2]}
    points = sweep_points(keys, replications=2)
    text = report.write_report(points, tmp_path / "s3.html").read_text()
    assert 'id="fig-sweep-' not in text
    assert "No figures: this sweep varies 3 grid keys (host.memory_gib, host.cpu_cores, simulation.seed)" in text
    sliced = points[points["simulation.seed"] == 1]  # the way out the page names
    text = report.write_report(sliced, tmp_path / "s2.html").read_text()
    assert 'id="fig-sweep-rejection_rate"' in text and "No figures" not in text


@settings(max_examples=20, deadline=None)
@given(st.sampled_from([0.0, 0.3, 5.0]), st.sampled_from(["cpu_unmet_share", "mean_instances"]))
def test_an_axis_of_one_value_starts_at_zero_and_holds_it(value, metric):
    """Every point the same (every replication too, so no band): the axis is not
    plotly's ±1 around it (−100 % to 100 % for a share), it runs from 0 past it."""
    points = sweep_points({"host.memory_gib": [32, 64, 128]}).assign(**{metric: value})
    low, high = report.figure_sweep(points, metric).layout.yaxis.range
    assert low == 0 and high > value and (value == 0 or high <= 2 * value)


def test_a_heatmap_of_one_value_has_a_colour_scale_from_zero():
    points = sweep_points({"host.memory_gib": [32, 64], "host.cpu_cores": [8, 16]}).assign(cpu_unmet_share=0.0)
    axis = report.figure_sweep(points, "cpu_unmet_share").layout.coloraxis
    assert (axis.cmin, axis.cmax) == (0, 1)
    assert report.figure_sweep(points, "rejection_rate").layout.coloraxis.cmin is None


def test_a_varying_axis_is_left_to_plotly():
    points = sweep_points({"host.memory_gib": [32, 64, 128]})
    assert report.figure_sweep(points, "rejection_rate").layout.yaxis.range is None


def test_a_runs_summary_is_not_taken_for_a_sweep(results, tmp_path):
    with pytest.raises(ValueError, match=r"write_report: the table given is not a sweep's .* pass its Results"):
        report.write_report(results.summary, tmp_path / "r.html")
    assert list(tmp_path.iterdir()) == []
    aggregate = simdc.aggregate(sweep_points({"host.memory_gib": [32, 64]}))
    assert "fig-sweep-rejection_rate" in report.write_report(aggregate, tmp_path / "a.html").read_text()
