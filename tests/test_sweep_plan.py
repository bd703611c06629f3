"""Sweeps and capacity plans: what a study runs, and that it answers as theory says."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from typer.testing import CliRunner

import simdc
import simdc.sweeping as sweep_module
from simdc.cli import app
from simdc.config import validate
from simdc.errors import ConfigError, InputError
from simdc.planning import parse_slo, plan
from simdc.sweeping import aggregate, parse_grid, sweep
from tests.oracle.theory import erlang_b

KEY = ["point", "platform", "replication"]


def small_config(**synthetic):
    return validate({
        "simulation": {"duration_s": 7200.0, "seed": 5, "platforms": ["vm", "container"], "sample_every_s": 600},
        "host": {"cpu_cores": 16, "memory_gib": 32},
        "workload": {"synthetic": {"arrival_rate_per_s": 0.01} | synthetic},
    })


GRID = {"host.memory_gib": [16, 32], "platform.container.admission": ["requests", "oracle"]}


def test_a_sweep_on_a_dask_cluster_equals_the_same_points_run_one_by_one():
    """Two Dask workers, 4 points × 2 replications: the table is identical, cell for cell,
    to running each point alone in this process with the same seeds."""
    config = small_config()
    on_dask = sweep(config, GRID, replications=2, workers=2)
    one_by_one = sweep(config, GRID, replications=2, workers=1)
    pd.testing.assert_frame_equal(on_dask.sort_values(KEY).reset_index(drop=True),
                                  one_by_one.sort_values(KEY).reset_index(drop=True))
    assert len(on_dask) == 4 * 2 * 2
    # And each row is exactly what simulate() gives for that point and seed.
    alone = simdc.simulate(config.with_overrides({"host.memory_gib": 32, "platform.container.admission": "oracle"}),
                           seed=config.simulation.seed + 1).summary.set_index("platform")
    row = one_by_one[(one_by_one["host.memory_gib"] == 32) & (one_by_one["platform.container.admission"] == "oracle")
                     & (one_by_one["replication"] == 1) & (one_by_one["platform"] == "container")].iloc[0]
    assert row["mean_instances"] == alone.loc["container", "mean_instances"]
    assert row["seed"] == 6


def test_replications_differ_and_grid_points_share_seeds():
    table = sweep(small_config(), {"host.memory_gib": [32, 64]}, replications=2, workers=1)
    submitted = table[table["platform"] == "vm"].set_index(["host.memory_gib", "replication"])["submitted"]
    assert submitted[(32, 0)] == submitted[(64, 0)]  # same seed, same arrivals at every point
    assert submitted[(32, 0)] != submitted[(32, 1)]


def test_an_interrupted_sweep_resumes_without_rerunning_what_is_done(tmp_path, monkeypatch):
    config = small_config()
    first = sweep(config, GRID, replications=2, out=tmp_path, workers=1)
    assert len(list((tmp_path / "parts").glob("*.csv"))) == 8
    (tmp_path / "parts" / "p00002-r0001.csv").unlink()  # as if interrupted before that run
    calls = []
    real = sweep_module.run_point
    monkeypatch.setattr(sweep_module, "run_point",
                        lambda cfg, seed, *rest: calls.append(seed) or real(cfg, seed, *rest))
    again = sweep(config, GRID, replications=2, out=tmp_path, workers=1)
    assert calls == [config.simulation.seed + 1]
    pd.testing.assert_frame_equal(first, again)
    written = pd.read_csv(tmp_path / "points.csv")
    assert len(written) == len(first)
    assert set(pd.read_csv(tmp_path / "aggregate.csv")["n"]) == {2}


def test_a_resume_after_a_trace_file_changed_is_refused_naming_it(tmp_path):
    """The new user's sweep over two trace files failed on one, was fixed and run again
    into the same folder: the runs of the other file, since changed (240 instances, now
    99), were kept without a word. The config names a file, not what it holds: a resume
    after an input changed is refused, naming the file; unchanged, it resumes."""
    trace = tmp_path / "trace.csv"
    rows = [f"i{k},{30 * k},600,1,2" for k in range(12)]
    trace.write_text("id,submit_s,duration_s,cpu_cores,memory_gib\n" + "\n".join(rows) + "\n")
    config = validate({"simulation": {"duration_s": 3600.0, "seed": 5, "platforms": ["container"]},
                       "host": {"cpu_cores": 8, "memory_gib": 32},
                       "workload": {"trace": str(trace), "format": "simdc"}})
    out = tmp_path / "sweep"
    first = sweep(config, {"host.cpu_cores": [4, 8]}, out=out, workers=1)
    assert list(first["submitted"]) == [12, 12]
    again = sweep(config, {"host.cpu_cores": [4, 8]}, out=out, workers=1)  # unchanged: resumed, nothing run
    pd.testing.assert_frame_equal(first, again)
    trace.write_text("id,submit_s,duration_s,cpu_cores,memory_gib\n" + "\n".join(rows[:5]) + "\n")
    changed = re.escape(f"holds a different sweep ({trace} has changed since runs of it were made")
    with pytest.raises(InputError, match=changed):
        sweep(config, {"host.cpu_cores": [4, 8]}, out=out, workers=1)
    assert list(sweep(config, {"host.cpu_cores": [4, 8]}, out=tmp_path / "other", workers=1)["submitted"]) == [5, 5]


def test_a_different_sweep_into_the_same_directory_is_refused(tmp_path):
    sweep(small_config(), {"host.memory_gib": [32]}, out=tmp_path, workers=1)
    with pytest.raises(InputError, match="holds a different sweep"):
        sweep(small_config(), {"host.memory_gib": [64]}, out=tmp_path, workers=1)


def test_aggregate_gives_the_mean_and_student_t_half_width():
    points = pd.DataFrame({"point": 0, "x": 1, "platform": "vm", "replication": range(4), "seed": range(4),
                           "mean_instances": [3.0, 5.0, 4.0, 8.0]})
    row = aggregate(points).iloc[0]
    values = np.array([3.0, 5.0, 4.0, 8.0])
    assert row["n"] == 4 and row["mean_instances_mean"] == pytest.approx(5.0)
    assert row["mean_instances_ci95"] == pytest.approx(stats.t.ppf(0.975, 3) * values.std(ddof=1) / 2)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(-1e3, 1e3)), min_size=1, max_size=8))
def test_aggregate_takes_the_mean_and_interval_over_the_replications_that_have_a_value(values):
    """A metric NaN in some replications (fragmentation with nothing turned away, a
    requeue mean without failures): the new user's 2 values of 5 were given
    t(0.975, 4) · s / √5, 7 times too narrow. The mean, interval and count are over the
    values that exist; the report's sweep table (raw points or the aggregate) agrees."""
    column = np.array([np.nan if v is None else v for v in values])
    points = pd.DataFrame({"point": 0, "x.y": 1, "platform": "vm", "replication": range(len(values)),
                           "seed": range(len(values)), "fragmentation_gib_mean": column})
    row = aggregate(points).iloc[0]
    present = column[~np.isnan(column)]
    assert row["n"] == len(values) and row["fragmentation_gib_mean_n"] == len(present)
    if len(present) < 2:
        assert np.isnan(row["fragmentation_gib_mean_ci95"])
    else:
        half = stats.t.ppf(0.975, len(present) - 1) * present.std(ddof=1) / np.sqrt(len(present))
        # (pandas' and numpy's standard deviations differ in the last bits where the values nearly agree)
        assert row["fragmentation_gib_mean_ci95"] == pytest.approx(half, rel=1e-9, abs=1e-12)
    if len(present):
        assert row["fragmentation_gib_mean_mean"] == pytest.approx(present.mean(), rel=1e-12, abs=1e-9)
    from simdc import report
    for table in (points, aggregate(points)):
        shown = report.sweep_summary(table, "fragmentation_gib_mean").iloc[0]
        assert shown["n"] == len(present)
        np.testing.assert_allclose(shown["fragmentation_gib_mean_ci95"], row["fragmentation_gib_mean_ci95"],
                                   rtol=1e-9, atol=1e-12, equal_nan=True)  # (a groupby's std and a Series'
        # differ in the last bits, and on equal values one may be 0 and the other 1e-84)


def test_grid_values_are_typed_and_a_bad_point_names_its_key():
    assert parse_grid(["host.memory_gib=32,64", "platform.container.admission=requests,oracle",
                       "platform.vm.boot_s={median=3,p95=9},5"]) == {
        "host.memory_gib": [32, 64], "platform.container.admission": ["requests", "oracle"],
        "platform.vm.boot_s": [{"median": 3, "p95": 9}, 5]}
    with pytest.raises(ConfigError, match=r"host\.memory_gib=-1.*host\.memory_gib: must be > 0"):
        sweep(small_config(), {"host.memory_gib": [32, -1]}, workers=1)
    with pytest.raises(ConfigError, match="expected section.key=value1,value2"):
        parse_grid(["host.memory_gib"])


def test_plan_finds_the_fewest_hosts_erlang_b_says():
    """Hosts of 5 slots, A = 20: B(25, 20) = 0.050 > 0.02 ≥ B(30, 20) = 0.0085, so a
    blocking SLO of 2 % needs exactly 6 hosts."""
    assert erlang_b(25, 20.0) > 0.02 > erlang_b(30, 20.0)
    config = validate({
        "simulation": {"duration_s": 3000.0, "seed": 1, "platforms": ["vm"]},
        "host": {"cpu_cores": 5, "memory_gib": 1e4},
        "platform": {"vm": {"overhead_mib": 0, "boot_s": 0}},
        "workload": {"synthetic": {"arrival_rate_per_s": 20.0, "lifetime_s": {"mean": 1.0},
                                   "sizes": [{"cpu_cores": 1, "memory_gib": 1, "weight": 1}]}},
    })
    result = plan(config, ["rejection_rate<=0.02"])
    assert result.plan.set_index("platform").loc["vm", "hosts_needed"] == 6
    judged = result.evaluations.groupby("hosts")["met_at_count"].first()
    assert not judged[5] and judged[6]


def test_plan_scales_one_named_group_of_a_cluster():
    config = validate({
        "simulation": {"duration_s": 3000.0, "seed": 1, "platforms": ["vm"]},
        "cluster": {"hosts": [{"name": "fixed", "cpu_cores": 5, "memory_gib": 1e4, "count": 2},
                              {"name": "grow", "cpu_cores": 5, "memory_gib": 1e4}]},
        "platform": {"vm": {"overhead_mib": 0, "boot_s": 0}},
        "workload": {"synthetic": {"arrival_rate_per_s": 20.0, "lifetime_s": {"mean": 1.0},
                                   "sizes": [{"cpu_cores": 1, "memory_gib": 1, "weight": 1}]}},
    })
    result = plan(config, ["rejection_rate<=0.02"], group="grow")
    assert result.plan["hosts_needed"].iloc[0] == 4  # 2 fixed + 4 = 6 hosts in all
    with pytest.raises(ConfigError, match="no such group"):
        plan(config, ["rejection_rate<=0.02"], group="nope")


@pytest.mark.parametrize("text, message", [("rejections<=1", "unknown metric 'rejections'"),
                                            ("start_p99_s=5", "expected metric<=value")])
def test_a_bad_slo_is_reported(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_slo(text)


@pytest.mark.parametrize("metric", ["makespan_p95_s", "critical_start_share", "migration_downtime_mean_s"])
def test_the_optional_features_metrics_are_slos_too(metric):
    """Dependencies and moves have summary columns a plan can hold to (they were 'unknown
    metric'); the message of an unknown one lists them with what they need (its middle
    clipped to a line's length)."""
    assert parse_slo(f"{metric}<=0.5").metric == metric  # within a share's range too
    with pytest.raises(ConfigError, match=r"unknown metric 'costs'; did you mean 'cost' .* with a workload with "
                                          r"dependencies: blocked, .* with drains or consolidation: migrations, "):
        parse_slo("costs<=5")


def test_an_slo_on_a_metric_the_run_lacks_is_one_line_naming_what_it_needs():
    """A job metric without dependencies: one error, not a KeyError from the summary."""
    with pytest.raises(ConfigError, match=r"makespan_p95_s.*a workflow metric, but the synthetic workload has no "
                                          r"dependencies"):
        plan(small_config(), ["makespan_p95_s<=500"])


@pytest.mark.parametrize("metric", ["cost", "carbon_kgco2eq", "cost_per_instance_hour"])
def test_an_slo_on_cost_or_carbon_is_refused_as_more_hosts_raise_them(metric):
    """The search doubles the hosts until the SLOs hold, trusting that more never hurt;
    cost and carbon grow with hosts (configs/cost_carbon.toml: 6 gen2023 hosts meet
    rejection_rate<=0.01 at 18 kg, 8 do not meet carbon<=20, so the search ran to '> 1024')."""
    with pytest.raises(ConfigError, match=rf"{metric} grows with the hosts"):
        parse_slo(f"{metric}<=20")


def test_cli_plan_and_sweep_write_their_tables(tmp_path, tmp_path_factory):
    config = tmp_path / "c.toml"
    config.write_text('[simulation]\nduration_s = 3600\n[host]\ncpu_cores = 16\nmemory_gib = 32\n'
                      '[workload.synthetic]\narrival_rate_per_s = 0.01\n')
    runner = CliRunner()
    result = runner.invoke(app, ["plan", str(config), "--slo", "rejection_rate<=0.5", "--out", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv(tmp_path / "p" / "plan.csv")["platform"]) == {"vm", "container"}
    assert len(pd.read_csv(tmp_path / "p" / "evaluations.csv")) >= 2
    result = runner.invoke(app, ["sweep", str(config), "--grid", "host.memory_gib=16,32", "--workers", "1",
                                 "--out", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "s" / "points.csv")) == 4
    bad = runner.invoke(app, ["plan", str(config), "--slo", "nope<=1"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output and "unknown metric" in bad.output


def test_cli_plan_prints_each_evaluation_on_one_line_when_redirected(tmp_path):
    """Off a terminal rich wraps at 80 columns, which broke an evaluation line mid-word
    (`... start_p99_s=600.1  not` / `met`): every line of the log is one evaluation, ending
    in `met` or `not met`, however long."""
    config = tmp_path / "c.toml"
    config.write_text('[simulation]\nduration_s = 3600\n[host]\ncpu_cores = 16\nmemory_gib = 32\n'
                      '[workload.synthetic]\narrival_rate_per_s = 0.01\n')
    slos = ["rejection_rate<=0.5", "start_p99_s<=100000", "stranded_mem_gib_mean<=100000"]
    result = CliRunner().invoke(app, ["plan", str(config), *[a for s in slos for a in ("--slo", s)]])
    assert result.exit_code == 0, result.output
    log = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("note: ")]
    assert log and max(map(len, log)) > 80
    assert all(line.startswith(("vm: ", "container: ")) and line.endswith("met") for line in log), log


def test_cli_plan_says_when_more_hosts_do_not_bring_an_slo_closer(tmp_path):
    """A VM's start p50 is its guest boot (median 30 s), whatever the host count: plan ran
    to '> max' as if more hosts were needed. It now adds one note naming the platform, the
    SLO and its value at the fewest and most hosts tried; a container meeting it gets none,
    nor does an SLO that more hosts bring closer (rejections of a loaded host)."""
    config = tmp_path / "c.toml"
    config.write_text('[simulation]\nduration_s = 3600\n[host]\ncpu_cores = 16\nmemory_gib = 32\n'
                      '[workload.synthetic]\narrival_rate_per_s = 0.2\n')
    result = CliRunner().invoke(app, ["plan", str(config), "--slo", "start_p50_s<=5", "--max-hosts", "2"])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines()  # (a 1-hour run of Azure lifetimes: not steady)
             if line.startswith("note: ") and "not in steady state" not in line]
    assert len(notes) == 1 and notes[0].startswith("note: vm: start_p50_s<=5 is not met at 1 host ("), notes
    assert notes[0].endswith("more hosts do not bring it closer")
    # 128 GiB: every request of the default mix (up to 56 GiB) fits a host, so no count is ruled out
    result = CliRunner().invoke(app, ["plan", str(config), "--slo", "rejection_rate<=0", "--max-hosts", "2",
                                      "--set", "host.memory_gib=128"])
    assert result.exit_code == 0, result.output
    assert "> 2" in result.stdout and "note: " not in result.stderr, result.output


@pytest.mark.parametrize("rows", [2, 3, 0])
def test_aggregate_refuses_a_table_that_is_no_sweeps(rows):
    """A run's summary (no 'point' column) is refused with one message: as long as the
    list of group keys (two rows), pandas grouped it by the letters of 'point' and
    'platform' and aggregate returned platforms 'o' and 'l'; other lengths gave a bare
    KeyError. An aggregated table is refused too."""
    summary = pd.DataFrame({"platform": ["vm", "container", "kata"][:rows], "mean_instances": [3.0, 5.0, 4.0][:rows]})
    with pytest.raises(ValueError, match="not a sweep's points table: it has no 'point' column"):
        aggregate(summary)
    points = pd.DataFrame({"point": 0, "platform": "vm", "replication": range(2), "seed": range(2),
                           "mean_instances": [3.0, 5.0]})
    with pytest.raises(ValueError, match="aggregated already"):
        aggregate(aggregate(points))
