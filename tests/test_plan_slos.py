"""A plan's SLOs: each objective keeps its own worst replication and margin, a cell reads
in one unit, and an objective the metric can never meet is refused before any run.

Found by a new user's trial on ``configs/host64g.toml`` over 6 h, 3 replications:
``--slo 'cpu_util_mean>=0.02' --slo 'cpu_util_mean<=0.5'`` gave the ``>=`` one the
largest replication as its worst (6.98 %, margin +0.43) where it is the smallest (3.82 %,
+0.0182); the cell read ``4.96% ± 0.044`` (a percent ± a fraction); and
``--slo 'rejection_rate>=2'`` simulated 1, 2, 4 and 8 hosts to answer ``none``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

import simdc
from simdc.cli import _slo_cell, app
from simdc.errors import ConfigError
from simdc.planning import UNSERVED, Slo, not_improving, parse_slo, plan

HOST64G = Path(__file__).resolve().parents[1] / "configs" / "host64g.toml"
SIX_HOURS = ["--set", "simulation.duration_s=21600"]
REPLICATIONS = 3
# two objectives on each of two metrics: held from below and above, and two upper limits
# (cpu_util_mean>=0.02 alone is met at 1 host; the rejections need 3 VM hosts, where the
# smallest run's CPU use is under 2 %: 0.005 keeps an answer for both platforms)
SLOS = ["cpu_util_mean>=0.005", "cpu_util_mean<=0.5", "rejection_rate<=0.05", "rejection_rate<=0.2"]


@pytest.fixture(scope="module")
def two_per_metric(tmp_path_factory):
    out = tmp_path_factory.mktemp("plan") / "p"
    result = CliRunner().invoke(app, ["plan", str(HOST64G), *SIX_HOURS, *(a for s in SLOS for a in ("--slo", s)),
                                      "--replications", str(REPLICATIONS), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return result, pd.read_csv(out / "plan.csv"), pd.read_csv(out / "evaluations.csv")


def test_two_slos_on_one_metric_each_get_their_own_worst_and_margin(two_per_metric):
    """For each SLO, from the runs at the answer's count in evaluations.csv: the worst is
    the smallest value for >= and the largest for <=, the margin worst − objective for >=
    and objective − worst for <=. plan.csv names them by the SLO as written, since the
    metric alone names two objectives (it had one rejection_rate_margin column for both)."""
    _, table, evaluations = two_per_metric
    for row in table.to_dict("records"):
        runs = evaluations[(evaluations["platform"] == row["platform"]) & (evaluations["hosts"] == row["hosts_needed"])]
        assert len(runs) == REPLICATIONS
        for text in SLOS:
            metric, objective = text.split(">=" if ">=" in text else "<=")
            values = runs[metric].to_numpy(float)
            worst = values.min() if ">=" in text else values.max()
            margin = worst - float(objective) if ">=" in text else float(objective) - worst
            assert row[f"{text}_worst"] == pytest.approx(worst), (row["platform"], text)
            assert row[f"{text}_margin"] == pytest.approx(margin), (row["platform"], text)
            assert row[metric] == pytest.approx(values.mean())
    assert not {"cpu_util_mean_worst", "rejection_rate_margin"} & set(table.columns)


def test_the_progress_line_shows_each_slos_worst(two_per_metric):
    """The vm's progress line at its answer: the >= objective's worst is its smallest run."""
    result, table, evaluations = two_per_metric
    n = int(table.set_index("platform").at["vm", "hosts_needed"])
    values = evaluations[(evaluations["platform"] == "vm") & (evaluations["hosts"] == n)]["cpu_util_mean"]
    (line,) = [x for x in result.stderr.splitlines() if x.startswith(f"vm: {n} hosts ")]
    assert f"cpu_util_mean={values.mean():.2%} (worst {values.min():.2%})" in line, line


def test_a_cell_in_percent_gives_its_spread_and_margin_in_percentage_points(two_per_metric):
    """'4.96% ± 0.044, worst 3.82% (+0.0182)': the ± and the margin were fractions beside
    percents. The ± is Student's t half-width over the runs (t(2) × sd / √3), the margin
    the smallest run less the objective, both read back in points of a percent."""
    result, table, evaluations = two_per_metric
    for row in table.to_dict("records"):
        values = evaluations[(evaluations["platform"] == row["platform"])
                             & (evaluations["hosts"] == row["hosts_needed"])]["cpu_util_mean"].to_numpy(float)
        half = stats.t.ppf(0.975, REPLICATIONS - 1) * values.std(ddof=1) / math.sqrt(REPLICATIONS)
        cell = next(line for line in result.stdout.splitlines() if line.startswith(f"│ {row['platform']} "))
        shown = cell.split("│")[3].strip()  # platform, hosts, then cpu_util_mean>=0.005
        assert shown == (f"{values.mean():.2%} ± {100 * half:.2g}%, worst {values.min():.2%} "
                         f"(+{100 * (values.min() - 0.005):.3g}%)"), shown


def test_a_cell_in_the_metrics_own_units_is_unchanged():
    """An upper limit on a share is shown as a fraction, its ± and margin too."""
    slo = parse_slo("rejection_rate<=0.05")
    row = {"rejection_rate": 0.01111, "rejection_rate_ci95": 0.048, "rejection_rate_worst": 0.03333,
           "rejection_rate_margin": 0.05 - 0.03333}
    assert _slo_cell(slo, row, "rejection_rate") == "0.01111 ± 0.048, worst 0.03333 (+0.0167)"


def test_an_slo_on_a_metric_of_its_own_keeps_the_metrics_names():
    """One objective per metric: the columns keep the names plans always had."""
    from simdc.planning import slo_name

    slos = [parse_slo(s) for s in ("rejection_rate<=0.01", "start_p99_s<=120", "start_p99_s<=120")]
    assert [slo_name(s, slos) for s in slos] == ["rejection_rate", "start_p99_s", "start_p99_s"]
    close = [parse_slo("start_p99_s<=0.0100001"), parse_slo("start_p99_s<=0.01")]
    assert [slo_name(s, close) for s in close] == ["start_p99_s<=0.0100001", "start_p99_s<=0.01"]


def test_the_search_stops_on_each_slos_own_worst_values():
    """Two objectives on one metric: the >= one not met and no closer over two doublings
    (its smallest run 0.01 each time) stops the search, though the largest runs rise."""
    from simdc.planning import slo_name

    slos = [parse_slo("cpu_util_mean>=0.02"), parse_slo("cpu_util_mean<=0.5")]
    low, high = (slo_name(s, slos) for s in slos)
    history = [(n, {low: 0.01, high: top, UNSERVED: 0.0}) for n, top in ((1, 0.1), (2, 0.2), (4, 0.3))]
    (reason,) = not_improving(slos, history)
    assert reason.startswith("cpu_util_mean>=0.02 is not improving (0.01 at 1, 0.01 at 2, 0.01 at 4 hosts)")


def test_a_note_on_slos_out_of_reach_takes_two_on_one_metric():
    """Two SLOs on cpu_util_mean, never met: the note's table of means had the column twice
    and the comparison raised 'The truth value of a Series is ambiguous'."""
    from simdc.cli import out_of_reach

    slos = [parse_slo("cpu_util_mean>=0.02"), parse_slo("cpu_util_mean<=0.5")]
    evaluations = pd.DataFrame({"platform": ["vm"] * 3, "hosts": [1, 2, 4], "met": [False] * 3,
                                "cpu_util_mean": [0.015, 0.0075, 0.00375]})
    assert out_of_reach(evaluations, slos) == [
        "note: vm: cpu_util_mean>=0.02 is not met at 1 host (0.015) nor at 4 (0.00375): more hosts do not bring it "
        "closer"]


@pytest.mark.parametrize("text, message", [
    ("rejection_rate<=-0.5", "rejection_rate is a share, in [0, 1] (0.05 for 5 %), so an objective of -0.5 can "
                             "never be met; give one in [0, 1]"),
    ("rejection_rate>=2", "so an objective of 2 can never be met; give one in [0, 1]"),
    ("rejection_rate<=5", "so an objective of 5 always holds; give one in [0, 1]"),
    ("rejection_rate<0", "rejection_rate is a share, in [0, 1] (0.05 for 5 %), so it is never < 0"),
    ("cpu_util_mean>1", "so it is never > 1: the SLO can never be met"),
    ("start_p99_s<=-1", "start_p99_s is never below 0 (a count, or seconds, GiB, ...), so an objective of -1 can "
                        "never be met; give one >= 0"),
    ("oom_kills<0", "oom_kills is never below 0"),
    ("batch_slowdown_p95<=0.9", "batch_slowdown_p95 is a slowdown, at least 1"),
    ("start_p99_s<=1e400", "the objective must be a finite number (got inf)"),
    ("start_p99_s<=inf", "the objective must be a finite number (got inf)"),
    ("start_p99_s<=-inf", "the objective must be a finite number (got -inf)"),
    ("rejection_rate<=nan", "the objective must be a finite number (got nan)"),
])
def test_an_objective_the_metric_can_never_meet_is_refused(text, message):
    with pytest.raises(ConfigError) as caught:
        parse_slo(text)
    (line,) = caught.value.problems
    assert line.startswith(f"--slo {text!r}: ") and message in line, line


@pytest.mark.parametrize("text", ["rejection_rate<=0", "rejection_rate>=1", "cpu_util_mean>=0", "start_p99_s<=0",
                                  "cpu_booked_util_mean<=1.5", "mem_alloc_util_mean>=1.2", "vm_cpu_over_need>=-0.5",
                                  "batch_slowdown_p95<=1", "start_p99_s<=1e300"])
def test_an_objective_the_metric_can_reach_is_kept(text):
    """Overcommit books more than the hosts' cores and memory (above 1); a VM smaller than
    its need is below 0 over it; a slowdown of 1 is never slowed."""
    metric, value = text.split("<=" if "<=" in text else ">=")
    slo = parse_slo(text)
    assert (slo.metric, slo.value) == (metric, float(value))


def test_the_cli_refuses_it_before_running_anything():
    """Exit 2 with the one line, and no evaluation printed (it ran 1, 2, 4, 8 hosts)."""
    result = CliRunner().invoke(app, ["plan", str(HOST64G), *SIX_HOURS, "--slo", "rejection_rate>=2"])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        "error: --slo 'rejection_rate>=2': rejection_rate is a share, in [0, 1] (0.05 for 5 %), so an objective "
        "of 2 can never be met; give one in [0, 1]"]


def test_the_python_api_holds_an_slo_given_as_such_to_the_same_rule():
    with pytest.raises(ConfigError, match=r"slos: 'start_p99_s<=-1': start_p99_s is never below 0"):
        plan(HOST64G, [Slo("start_p99_s", "<=", -1.0)])


@pytest.mark.parametrize("name", ["host64g", "contention", "isolation", "maintenance", "workflow", "presets"])
def test_every_summary_value_lies_in_its_columns_range(name):
    """What an objective is refused on must hold of every run: the value_range of each
    summary column contains what these configs' runs give it (none is refused that a run
    could meet)."""
    from simdc.metrics import value_range

    summary = simdc.simulate(Path(__file__).resolve().parents[1] / "configs" / f"{name}.toml").summary
    for column in summary.columns.drop("platform"):
        low, high = value_range(column)
        values = summary[column].to_numpy(float)
        values = values[~np.isnan(values)]
        assert ((values >= low) & (values <= high)).all(), (column, values)
