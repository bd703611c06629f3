"""``simdc plan --slo`` and ``sweep --metric`` on the summary's optional columns (service,
workflow, cost, move columns): accepted where the config produces them, one error line
where it does not."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from simdc.cli import app
from simdc.config import validate
from simdc.errors import ConfigError
from simdc.metrics import MOVE_COLUMNS, SERVICE_COLUMNS, WORKFLOW_COLUMNS
from simdc.planning import parse_slo, plan

START_S = 2.0


def fork_config(path: Path, rows, hosts=1):
    pd.DataFrame(rows).to_csv(path, index=False)
    return validate({
        "simulation": {"duration_s": 5000, "seed": 1, "platforms": ["container"], "sample_every_s": 1000},
        "cluster": {"hosts": [{"cpu_cores": 1, "memory_gib": 4, "count": hosts}]},
        "platform": {"container": {"start_s": START_S}},
        "placement": {"when_full": "queue"},
        "workload": {"trace": str(path)},
    })


def task(id, parents="", duration_s=100.0):
    return {"id": id, "submit_s": 0.0, "duration_s": duration_s, "cpu_cores": 1.0, "memory_gib": 1.0,
            "parents": parents}


@pytest.mark.parametrize("metric", [*SERVICE_COLUMNS, *WORKFLOW_COLUMNS, *MOVE_COLUMNS])
def test_every_optional_column_is_a_metric_an_slo_may_name(metric):
    """Cost and carbon are not: they grow with the hosts (tests/test_sweep_plan.py)."""
    assert parse_slo(f"{metric}<=1").metric == metric


def test_an_unknown_metric_lists_the_optional_ones_by_what_makes_them():
    with pytest.raises(ConfigError) as err:
        parse_slo("makespan_p99_s<=10")
    (line,) = err.value.problems
    assert "unknown metric 'makespan_p99_s'; did you mean 'makespan_p95_s'" in line
    assert "with a workload with dependencies: blocked" in line and "with [[services]]: demand_served_share" in line


def test_plan_finds_the_hosts_a_fork_needs_for_its_makespan(tmp_path):
    """A root task then 4 children of 1 core each, d = 100 s, start s = 2 s, on 1-core hosts
    with a queue: with n hosts the children run in ceil(4 / n) waves, so the makespan is
    (1 + ceil(4 / n)) (s + d). makespan_mean_s <= 2 (s + d) needs n = 4 hosts; <= 3 (s + d), 2."""
    rows = [task("root")] + [task(f"c{k}", "root") for k in range(4)]
    cfg = fork_config(tmp_path / "fork.csv", rows)
    step = START_S + 100.0
    for bound, hosts in ((2 * step, 4), (3 * step, 2)):
        result = plan(cfg, [f"makespan_mean_s<={bound + 0.5}"], max_hosts=8)
        row = result.plan.iloc[0]
        assert row["hosts_needed"] == hosts
        assert row["makespan_mean_s"] == pytest.approx((1 + math.ceil(4 / hosts)) * step)
        for _, run in result.evaluations.iterrows():
            assert run["makespan_mean_s"] == pytest.approx((1 + math.ceil(4 / run["hosts"])) * step)


def test_plan_refuses_an_optional_metric_the_config_does_not_produce(tmp_path):
    synthetic = validate({"simulation": {"duration_s": 600, "platforms": ["container"]},
                          "host": {"cpu_cores": 8, "memory_gib": 32},
                          "workload": {"synthetic": {"arrival_rate_per_s": 0.01}}})
    for slo, said in (("demand_served_share>=0.99", "a service metric, but the config has no [[services]]"),
                      ("migrations<=0", "a move metric, but the config neither drains hosts"),
                      ("makespan_p95_s<=100", "a workflow metric, but the synthetic workload has no dependencies")):
        with pytest.raises(ConfigError) as err:
            plan(synthetic, [slo])
        metric = slo.split("<")[0].split(">")[0]
        assert len(err.value.problems) == 1 and err.value.problems[0].startswith(f"slo {metric!r}: {said}")
    services = synthetic.with_overrides({"services": [{"name": "s", "replicas": 1, "cpu_cores": 1,
                                                       "memory_gib": 1}]})
    with pytest.raises(ConfigError, match="a rollout metric, but no service has"):
        plan(services, ["rollout_s_mean<=60"])
    flat = fork_config(tmp_path / "flat.csv", [task("a"), task("b")])  # a trace without dependencies
    with pytest.raises(ConfigError, match=r"slo 'makespan_p95_s': a workflow metric, but the workload has no "
                                          r"dependencies"):
        plan(flat, ["makespan_p95_s<=1000"])


def test_the_cli_plan_and_sweep_take_a_workflow_metric_and_refuse_a_missing_one(tmp_path):
    rows = [task("root")] + [task(f"c{k}", "root") for k in range(2)]
    pd.DataFrame(rows).to_csv(tmp_path / "w.csv", index=False)
    config = tmp_path / "fork.toml"
    config.write_text(f"""[simulation]
duration_s = 5000
platforms = ["container"]
sample_every_s = 1000
[[cluster.hosts]]
cpu_cores = 1
memory_gib = 4
count = 1
[platform.container]
start_s = {START_S}
[placement]
when_full = "queue"
[workload]
trace = "w.csv"
""")
    runner = CliRunner()
    done = runner.invoke(app, ["plan", str(config), "--slo", "makespan_mean_s<=205", "--out", str(tmp_path / "p")])
    assert done.exit_code == 0, done.output
    assert pd.read_csv(tmp_path / "p" / "plan.csv")["hosts_needed"].tolist() == [2]
    swept = runner.invoke(app, ["sweep", str(config), "--grid", "cluster.hosts.0.count=1,2", "--metric",
                                "makespan_mean_s", "--out", str(tmp_path / "s"), "--workers", "1"])
    assert swept.exit_code == 0, swept.output
    aggregate = pd.read_csv(tmp_path / "s" / "aggregate.csv")
    assert aggregate["makespan_mean_s_mean"].tolist() == pytest.approx([3 * (START_S + 100), 2 * (START_S + 100)])
    bad = runner.invoke(app, ["sweep", str(config), "--grid", "cluster.hosts.0.count=1,2", "--metric", "cost",
                              "--out", str(tmp_path / "s2")])
    lines = [line for line in bad.output.splitlines() if line.strip()]
    assert bad.exit_code == 2 and lines == ["error: --metric cost: a cost metric, but the config has no [cost] table"]
    assert not (tmp_path / "s2").exists()


def test_a_sweep_report_plots_the_optional_columns_its_table_has(tmp_path):
    from simdc import report
    from tests.test_report import sweep_points

    points = sweep_points({"services.0.replicas": [2, 4]})
    points["demand_served_share"] = points["mean_instances"] / 30
    text = report.write_report(points, tmp_path / "sweep.html").read_text()
    assert 'id="fig-sweep-demand_served_share"' in text and 'id="fig-sweep-rejection_rate"' in text
    assert 'id="fig-sweep-makespan_p95_s"' not in text  # not in the table: not drawn


def test_a_sweep_metric_only_the_runs_can_refuse_is_one_line_after_writing_the_tables(tmp_path):
    """A trace without parents has no workflow columns, which only its read can tell: the
    sweep writes its tables, then says so in one line, exit 2."""
    pd.DataFrame([task("a"), task("b")]).to_csv(tmp_path / "flat.csv", index=False)
    config = tmp_path / "flat.toml"
    config.write_text('[simulation]\nduration_s = 600\nplatforms = ["container"]\n[host]\ncpu_cores = 4\n'
                      'memory_gib = 8\n[workload]\ntrace = "flat.csv"\n')
    result = CliRunner().invoke(app, ["sweep", str(config), "--grid", "host.cpu_cores=2,4", "--metric",
                                      "makespan_p95_s", "--out", str(tmp_path / "s"), "--workers", "1"])
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("note:")]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: --metric makespan_p95_s: a workflow metric, but the "
                                                   "workload has no dependencies"), lines
    assert (tmp_path / "s" / "points.csv").exists() and (tmp_path / "s" / "aggregate.csv").exists()
