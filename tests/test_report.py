"""Figures and the HTML report (simdc/report.py): each figure's traces hold exactly the
numbers of the table they were drawn from, recomputed here independently, and the
report is one self-contained file."""

from __future__ import annotations

import copy
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plotly.offline import get_plotlyjs

import simdc
from simdc import report
from simdc.config import validate
from tests.conftest import MINIMAL, set_keys

T_975 = {2: 12.706204736174707, 3: 4.302652729749464, 4: 3.182446305284263}  # Student t(0.975, n−1), by n


@pytest.fixture(scope="module")
def results() -> simdc.Results:
    return simdc.simulate(validate(copy.deepcopy(MINIMAL)))


@pytest.fixture
def fleet() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A hand-made timeseries: two platforms, two hosts each, three samples an hour apart."""
    rows = []
    for p, platform in enumerate(["vm", "container"]):
        for host in (0, 1):
            for k, t in enumerate((0.0, 3600.0, 7200.0)):
                base = 10 * p + 3 * host + k
                rows.append({"platform": platform, "t_s": t, "host": host, "resident": base, "running": base - 1,
                             "cpu_demand": 1.5 * base + 2, "cpu_used": 1.5 * base, "mem_used_gib": 0.5 * base,
                             "mem_alloc_gib": 2.0 * base + 1, "swapped_gib": 0.0})
    hosts = pd.DataFrame({"platform": ["vm", "vm", "container", "container"], "host": [0, 1, 0, 1],
                          "cpu_cores": [8, 16, 8, 16], "memory_gib": [32.0, 64.0, 32.0, 64.0]})
    return pd.DataFrame(rows), hosts


def summed(timeseries: pd.DataFrame, platform: str, column: str) -> tuple[list[float], list[float]]:
    """(times in hours, column summed over hosts), by a plain loop over the rows."""
    totals: dict[float, float] = {}
    for row in timeseries[timeseries["platform"] == platform].itertuples():
        totals[row.t_s] = totals.get(row.t_s, 0.0) + getattr(row, column)
    times = sorted(totals)
    return [t / 3600 for t in times], [totals[t] for t in times]


def traces(fig, name: str, axis: str | None = None) -> list:
    """Traces called ``name`` (on x axis ``axis``, e.g. "x2", when given)."""
    return [t for t in fig.data if t.name == name and (axis is None or (t.xaxis or "x") == axis)]


def the(fig, name: str, axis: str | None = None):
    found = traces(fig, name, axis)
    assert len(found) == 1, (name, axis, [(t.name, t.xaxis) for t in fig.data])
    return found[0]


@pytest.mark.parametrize(("figure", "series"), [
    (report.figure_memory, {"allocated": "mem_alloc_gib", "used": "mem_used_gib"}),
    (report.figure_cpu, {"demand (red: unmet)": "cpu_demand", "used": "cpu_used"}),
])
def test_time_panels_hold_the_fleet_sums_per_platform(fleet, figure, series):
    """Memory and CPU figures: one panel per platform (vm on x, container on x2), each
    series the column summed over hosts at each sample, time in hours."""
    timeseries, hosts = fleet
    fig = figure(timeseries, hosts=hosts)
    for axis, platform in (("x", "vm"), ("x2", "container")):
        for name, column in series.items():
            trace = the(fig, name, axis)
            hours, values = summed(timeseries, platform, column)
            np.testing.assert_allclose(trace.x, hours)
            np.testing.assert_allclose(trace.y, values)
    assert [a.text for a in fig.layout.annotations] == ["vm", "container"]
    assert fig.layout.xaxis.title.text == "time (h)"


def test_capacity_lines_are_the_hosts_totals(fleet):
    """The dashed lines are the platform's hosts' memory (32 + 64 GiB) and cores (8 + 16)."""
    timeseries, hosts = fleet
    memory = report.figure_memory(timeseries, hosts=hosts)
    cpu = report.figure_cpu(timeseries, hosts=hosts)
    for axis in ("x", "x2"):
        assert list(the(memory, "host memory", axis).y) == [96.0, 96.0]
        assert list(the(cpu, "host cores", axis).y) == [24.0, 24.0]
        assert list(the(memory, "host memory", axis).x) == [0.0, 2.0]
    # Without a hosts table there is no capacity line, and nothing else changes.
    assert not traces(report.figure_memory(timeseries), "host memory")


def test_density_has_one_line_per_platform_of_resident_or_running(fleet):
    """figure_density: a line per platform on shared axes, the hosts' sum of resident
    (default) or running instances."""
    timeseries, _ = fleet
    for column in ("resident", "running"):
        fig = report.figure_density(timeseries, column=column)
        assert [t.name for t in fig.data] == ["vm", "container"]
        for trace in fig.data:
            hours, values = summed(timeseries, trace.name, column)
            np.testing.assert_allclose(trace.x, hours)
            np.testing.assert_allclose(trace.y, values)
    with pytest.raises(ValueError, match="resident"):
        report.figure_density(timeseries, column="alive")


def instances_with_phases() -> pd.DataFrame:
    """Six instances: four started (phases add up to ready − submit), one rejected, one queued."""
    rows = [
        # platform, submit, queue, pull, unpack, boot, outcome
        ("vm", 0.0, 0.0, 0.0, 10.0, 30.0, "completed"),
        ("vm", 5.0, 20.0, 0.0, 12.0, 28.0, "running_at_end"),
        ("vm", 9.0, np.nan, np.nan, np.nan, np.nan, "rejected"),
        ("container", 1.0, 0.0, 2.0, 0.5, 0.4, "completed"),
        ("container", 2.0, 0.0, 0.0, 0.3, 0.6, "oom_killed"),
        ("container", 3.0, np.nan, np.nan, np.nan, np.nan, "queued_at_end"),
    ]
    frame = pd.DataFrame(rows, columns=["platform", "submit_s", "queue_s", "pull_s", "unpack_s", "boot_s", "outcome"])
    started = frame["boot_s"].notna()
    frame["admit_s"] = np.where(started, frame["submit_s"] + frame["queue_s"], np.nan)
    frame["ready_s"] = frame["submit_s"] + frame[["queue_s", "pull_s", "unpack_s", "boot_s"]].sum(axis=1, min_count=4)
    frame["end_s"] = np.nan
    frame["oom_kills"] = [0, 0, 0, 1, 2, 0]
    frame["restarts"] = [0, 0, 0, 1, 0, 0]
    return frame


def test_start_latency_cdf_is_the_sorted_latencies_of_started_instances():
    """Left panel: per platform, x = sorted ready − submit of instances that started,
    y = i / n."""
    instances = instances_with_phases()
    fig = report.figure_start_latency(instances)
    assert the(fig, "vm", "x").x.tolist() == [40.0, 60.0]
    assert the(fig, "vm", "x").y.tolist() == [0.5, 1.0]
    np.testing.assert_allclose(the(fig, "container", "x").x, [0.9, 2.9])
    assert the(fig, "container", "x").y.tolist() == [0.5, 1.0]


def test_start_phases_are_the_mean_of_each_phase_the_table_has():
    """Right panel: one stacked bar per phase column present, per platform the phase's
    mean over started instances (seconds) and its share of the mean start latency (the
    bar's length); no 'other' when the phases add up."""
    instances = instances_with_phases()
    fig = report.figure_start_latency(instances)
    bars = {t.name: dict(zip(t.y, t.customdata)) for t in fig.data if t.type == "bar"}
    assert list(bars) == ["queue", "image pull", "unpack / provision", "boot / start"]
    assert bars["queue"] == pytest.approx({"vm": 10.0, "container": 0.0})
    assert bars["image pull"] == pytest.approx({"vm": 0.0, "container": 1.0})
    assert bars["unpack / provision"] == pytest.approx({"vm": 11.0, "container": 0.4})
    assert bars["boot / start"] == pytest.approx({"vm": 29.0, "container": 0.5})
    # The seconds add up to the mean start latency, the bars' lengths (shares) to 1.
    shares = {t.name: dict(zip(t.y, t.x)) for t in fig.data if t.type == "bar"}
    for platform, mean in (("vm", 50.0), ("container", 1.9)):
        assert sum(b[platform] for b in bars.values()) == pytest.approx(mean)
        for phase in bars:
            assert shares[phase][platform] == pytest.approx(bars[phase][platform] / mean)
    assert {a.y: a.text.strip() for a in fig.layout.annotations if a.xref == "x2"} == \
        {"vm": "50 s", "container": "1.9 s"}


def test_start_phases_use_whichever_columns_exist():
    """With only queue_s and boot_s (no pull/unpack columns), those two bars; time they
    do not account for shows as 'other'."""
    instances = instances_with_phases().drop(columns=["pull_s", "unpack_s"])
    fig = report.figure_start_latency(instances)
    bars = {t.name: dict(zip(t.y, t.customdata)) for t in fig.data if t.type == "bar"}
    assert list(bars) == ["queue", "boot / start", "other"]
    assert bars["other"] == pytest.approx({"vm": 11.0, "container": 1.4})


def test_outcome_bars_are_the_counts_per_platform():
    """figure_outcomes: a stacked bar per outcome that occurred, in lifecycle order, each
    platform's count of it; OOM kills and restarts are labelled beside the bars."""
    instances = instances_with_phases()
    fig = report.figure_outcomes(instances)
    got = {t.name: dict(zip(t.y, t.x)) for t in fig.data}
    assert list(got) == ["completed", "running at end", "queued at end", "rejected", "oom killed"]
    expected = instances.groupby(["outcome", "platform"]).size()
    for outcome, per_platform in got.items():
        for platform, count in per_platform.items():
            assert count == expected.get((outcome.replace(" ", "_"), platform), 0)
    labels = {a.y: a.text.strip() for a in fig.layout.annotations}
    assert labels == {"vm": "0 OOM kills, 0 restarts", "container": "3 OOM kills, 1 restarts"}


def test_figures_of_a_simulated_run_match_its_tables(results):
    """On a real run: the figures' numbers are the results' own (one host, so the fleet
    sum is the host's row), and every submitted instance is in the outcome bars."""
    figures = results.figures()
    assert list(figures) == ["memory", "cpu", "density", "start_latency", "outcomes"]
    ts = results.timeseries
    for axis, platform in (("x", "vm"), ("x2", "container")):
        mine = ts[ts["platform"] == platform]
        np.testing.assert_allclose(the(figures["memory"], "allocated", axis).y, mine["mem_alloc_gib"])
        np.testing.assert_allclose(the(figures["cpu"], "used", axis).y, mine["cpu_used"])
        np.testing.assert_allclose(the(figures["density"], platform).y, mine["resident"])
        assert the(figures["memory"], "host memory", axis).y[0] == results.config.host.memory_gib
    summary = results.summary.set_index("platform")
    outcomes = figures["outcomes"]
    for platform in ("vm", "container"):
        total = sum(dict(zip(t.y, t.x)).get(platform, 0) for t in outcomes.data)
        assert total == summary.loc[platform, "submitted"]
        cdf = the(figures["start_latency"], platform, "x")
        inst = results.instances[results.instances["platform"] == platform]
        assert len(cdf.x) == inst["ready_s"].notna().sum()
        assert np.median(cdf.x) == pytest.approx(summary.loc[platform, "start_p50_s"], rel=0.2)


def test_figure_functions_take_results_or_tables(results):
    """The same figure from Results or from the table itself."""
    a = report.figure_density(results)
    b = report.figure_density(results.timeseries)
    assert [list(t.y) for t in a.data] == [list(t.y) for t in b.data]
    with pytest.raises(TypeError, match="timeseries"):
        report.figure_memory({"not": "a table"})


# --- the start-latency axis and legends, memory reserved, interference, failures ------

# MINIMAL with what the plain run lacks: a host failure an hour in (every platform meets
# it), neighbours hammering memory bandwidth, batch work, busy bursty CPU on overcommitted
# containers, and containers in node VMs (whose nodes hold memory back too).
FEATURES = set_keys(MINIMAL, {
    "simulation.platforms": ["vm", "container", "container_in_vm"],
    "faults.host_failures": [[0, 3600.0]],
    "workload.synthetic.membw_intensity": 0.3, "workload.synthetic.batch_fraction": 0.3,
    "workload.synthetic.cpu_usage": {"mean": 0.6}, "workload.synthetic.cpu_burstiness": 1.0,
    "platform.container.overcommit": 1.5,
})


@pytest.fixture(scope="module")
def featured() -> simdc.Results:
    return simdc.simulate(validate(copy.deepcopy(FEATURES)))


@settings(max_examples=60, deadline=None)
@given(st.floats(-4, 5), st.floats(0.01, 6))
def test_log_ticks_are_every_1_2_5_value_in_the_range(low_exp, span):
    """log_ticks(low, high): exactly the numbers m·10^k (m in 1, 2, 5) within the range,
    ascending, found here by a plain scan over the decades."""
    low, high = 10 ** low_exp, 10 ** (low_exp + span)
    expected = [float(f"{m * 10.0 ** k:.12g}") for k in range(-6, 13) for m in (1, 2, 5)]
    expected = [t for t in expected if low <= t <= high]
    ticks = report.log_ticks(low, high)
    if expected:
        assert ticks == expected
    else:  # a range narrower than 2 → 5: the 1-2-5 values either side
        assert len(ticks) == 2 and ticks[0] <= low and ticks[1] >= high


def test_start_latency_log_axis_shows_every_curve_whole_with_1_2_5_ticks():
    """Latencies from 0.3 s to 80 s: the log axis range reaches a little beyond both ends
    (no curve ends on the frame) and is ticked at every 1-2-5 value it shows (0.5, 1, 2,
    5, 10, 20, 50 at least), written plainly."""
    instances = instances_with_phases()
    instances.loc[[3, 4], ["pull_s", "unpack_s", "boot_s"]] = [[0.1, 0.1, 0.1], [0.2, 0.3, 0.5]]  # 0.3 s, 1 s
    instances.loc[1, "boot_s"] = 48.0  # vm: 40 s and 80 s
    instances["ready_s"] = instances["submit_s"] + instances[["queue_s", "pull_s", "unpack_s", "boot_s"]].sum(
        axis=1, min_count=4)
    fig = report.figure_start_latency(instances)
    axis = fig.layout.xaxis
    assert axis.type == "log"
    assert axis.range[0] < np.log10(0.3) and axis.range[1] > np.log10(80.0)
    assert axis.range[1] - np.log10(80.0) < 0.5 and np.log10(0.3) - axis.range[0] < 0.5  # a margin, not a void
    shown = [v for v in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200) if axis.range[0] <= np.log10(v) <= axis.range[1]]
    assert list(axis.tickvals) == pytest.approx(shown)
    assert {0.5, 1, 2, 5, 10, 20, 50} <= set(shown)
    assert list(axis.ticktext) == [f"{v:g}" for v in shown]


def test_each_legend_sits_beside_its_own_chart():
    """Platforms (the CDF's lines) in one legend level with the CDF, phases (the bars') in
    a second level with the bars, both right of the plots."""
    fig = report.figure_start_latency(instances_with_phases())
    for trace in fig.data:
        assert (trace.legend or "legend") == ("legend2" if trace.type == "bar" else "legend"), trace.name
    for legend, axis in ((fig.layout.legend, fig.layout.yaxis), (fig.layout.legend2, fig.layout.yaxis2)):
        assert axis.domain[0] <= legend.y <= axis.domain[1]
        assert legend.x > 1
    assert fig.layout.yaxis2.domain[1] < fig.layout.yaxis.domain[0]  # the bars below the CDF


def test_phase_seconds_are_written_only_on_segments_wide_enough():
    """A segment narrower than MIN_LABELLED_SHARE of its bar carries no text (it would
    spill onto the platform's name); wider ones carry their seconds."""
    fig = report.figure_start_latency(instances_with_phases())
    for trace in (t for t in fig.data if t.type == "bar"):
        for share, seconds, text in zip(trace.x, trace.customdata, trace.text):
            assert (text == "") == (share < report.MIN_LABELLED_SHARE), (trace.name, share, text)
            if text:
                assert float(text.removesuffix(" s")) == pytest.approx(seconds, rel=0.05)
    assert fig.layout.yaxis2.ticksuffix == report.TICK_GAP


def test_memory_band_is_the_hosts_reserved_memory_and_admission_stays_below_it(featured):
    """The grey band runs from physical memory minus the hosts' reserved memory up to
    physical memory: one 16 GiB host keeping 1 GiB, 15 to 16 GiB, for every platform
    (a node VM's overhead and guest memory count as allocated, not reserved). Without
    overcommit, admission never books into the band: VMs' and node VMs' allocated stays
    at or below its bottom at every sample."""
    fig = report.figure_memory(featured)
    for axis, platform in (("x", "vm"), ("x2", "container"), ("x3", "container_in_vm")):
        band = the(fig, "reserved for the hosts", axis)
        assert min(band.y) == pytest.approx(16.0 - 1.0)
        assert max(band.y) == pytest.approx(16.0)
        if platform != "container":  # FEATURES overcommits plain containers' requests 1.5x
            assert max(the(fig, "allocated", axis).y) <= 15.0 + 1e-9
    # Reserved memory given by hand, for tables without a config.
    timeseries = featured.timeseries
    fig = report.figure_memory(timeseries, hosts=featured.hosts, reserved_gib={"vm": 2.5})
    assert min(the(fig, "reserved for the hosts", "x").y) == pytest.approx(13.5)
    assert not traces(fig, "reserved for the hosts", "x2")


def test_used_above_allocated_is_marked_where_it_happens_and_explained(fleet):
    """Samples where the fleet's used memory exceeds its allocated memory get a marker
    (exactly those samples), whose legend and hover text say containers may use more
    than they requested; a platform that never exceeds gets none."""
    timeseries, hosts = fleet
    timeseries = timeseries.copy()
    late = (timeseries["platform"] == "container") & (timeseries["t_s"] == 7200.0)
    timeseries.loc[late, "mem_used_gib"] = timeseries.loc[late, "mem_alloc_gib"] + 3.0  # 6 GiB over, 2 hosts
    fig = report.figure_memory(timeseries, hosts=hosts)
    marked = the(fig, report.USED_ABOVE_ALLOCATED_LEGEND, "x2")
    hours, used = summed(timeseries, "container", "mem_used_gib")
    assert list(marked.x) == [hours[2]] and list(marked.y) == pytest.approx([used[2]])
    assert list(marked.customdata) == pytest.approx([6.0])
    assert "may use more than they requested" in marked.hovertemplate
    assert not traces(fig, report.USED_ABOVE_ALLOCATED_LEGEND, "x")
    assert "may use more" in the(fig, "used", "x2").text[2] and the(fig, "used", "x2").text[0] == ""


def test_interference_top_is_demand_minus_used_summed_over_hosts(fleet):
    """Unmet CPU per platform and sample: Σ over hosts of max(demand − used, 0); in the
    fixture each host row wants 2 cores more than it gets, so 4 cores on two hosts."""
    timeseries, _ = fleet
    fig = report.figure_interference(timeseries)
    for platform in ("vm", "container"):
        line = the(fig, platform)
        hours, demand = summed(timeseries, platform, "cpu_demand")
        _, used = summed(timeseries, platform, "cpu_used")
        np.testing.assert_allclose(line.x, hours)
        np.testing.assert_allclose(line.y, [d - u for d, u in zip(demand, used)])
        np.testing.assert_allclose(line.y, [4.0, 4.0, 4.0])
        np.testing.assert_allclose(line.customdata, [4.0 / d for d in demand])


def test_interference_boxes_hold_every_instances_slowdown(featured):
    """Below: per kind a box trace whose points are each instance's slowdown (batch:
    completed batch instances; neighbours: instances that ran), by platform."""
    fig = report.figure_interference(featured)
    boxes = {t.name: t for t in fig.data if t.type == "box"}
    kinds = {"slowdown": "batch slowdown (completed batch)",
             "interference_slowdown": "slowed by neighbours (memory bandwidth, I/O)"}
    assert set(boxes) == set(kinds.values())
    inst = featured.instances
    for column, name in kinds.items():
        got = sorted(zip(boxes[name].y, boxes[name].x))
        expected = sorted((str(p), v) for p, v in zip(inst["platform"], inst[column]) if v == v)
        assert [g[0] for g in got] == [e[0] for e in expected]
        np.testing.assert_allclose([g[1] for g in got], [e[1] for e in expected])
        assert boxes[name].legend == "legend2"


def test_failures_figure_counts_what_the_run_met(featured):
    """One host failure at 1 h, listed in the config: every platform's bar of failures is
    1. Kills, OOM kills and restarts are the instances' own counts (a plain loop); work
    lost is their lost core-seconds in core-hours."""
    fig = report.figure_failures(featured)
    bars = {t.name: dict(zip(t.y, t.x)) for t in fig.data if t.type == "bar"}
    assert bars["host/kernel failures"] == {"vm": 1, "container": 1, "container_in_vm": 1}
    totals: dict[tuple[str, str], float] = {}
    for row in featured.instances.itertuples():
        for column in ("failure_kills", "oom_kills", "restarts", "lost_core_s"):
            totals[row.platform, column] = totals.get((row.platform, column), 0) + getattr(row, column)
    for platform in ("vm", "container", "container_in_vm"):
        assert bars["instances killed by a failure"][platform] == totals[platform, "failure_kills"]
        assert bars["work lost"][platform] == pytest.approx(totals[platform, "lost_core_s"] / 3600)
        if "OOM kills" in bars:
            assert bars["OOM kills"][platform] == totals[platform, "oom_kills"]
        lost = sum(1 for row in featured.instances.itertuples() if row.platform == platform and row.outcome == "failed")
        assert bars.get("ended lost to a failure", {}).get(platform, 0) == lost
    assert sum(totals[p, "failure_kills"] for p in ("vm", "container", "container_in_vm")) > 0
    # Kinds nobody had are left out.
    calm = featured.instances.assign(oom_kills=0, restarts=0)
    names = [t.name for t in report.figure_failures(calm, hosts=featured.hosts).data]
    assert "OOM kills" not in names and "restarts" not in names and "host/kernel failures" in names


def test_a_drain_without_failures_is_labelled_as_a_drain_in_the_failures_figure(tmp_path):
    """Containers restarted off a drained host (no failure, no OOM kill) are placed again
    and lose their work: the figure shows them, under labels that name the drain (they
    read "placed again after a failure" and "work lost to failures"). Counts by a loop."""
    from tests.engine.test_migration import drain_run

    run = drain_run(tmp_path, ["container"], container="restart")
    rows = list(run.instances.itertuples())
    placed_again = sum(1 for row in rows if row.replacements > 0)
    lost_h = sum(row.lost_core_s for row in rows) / 3600
    assert placed_again == 4 and lost_h > 0 and sum(row.failure_kills for row in rows) == 0
    assert report.has_failures(run)
    fig = report.figure_failures(run)
    bars = {t.name: dict(zip(t.y, t.x)) for t in fig.data if t.type == "bar"}
    assert bars["placed again after a failure or drain"] == {"container": placed_again}
    assert bars["work lost"]["container"] == pytest.approx(lost_h)
    titles = [a.text for a in fig.layout.annotations]
    assert "work lost (failures' victims, drains' restarts)" in titles
    assert not any("work lost to failures" in t for t in titles)


def test_interference_and_failures_figures_appear_only_when_the_run_had_them(results, featured):
    """The plain run has neither (no figure); the run with faults and contention has both,
    and its report shows them."""
    assert not report.has_interference(results) and not report.has_failures(results)
    assert list(results.figures()) == ["memory", "cpu", "density", "start_latency", "outcomes"]
    assert report.has_interference(featured) and report.has_failures(featured)
    assert list(featured.figures())[-2:] == ["interference", "failures"]


# --- sweeps ---------------------------------------------------------------------------


def sweep_points(keys: dict[str, list], replications: int = 3) -> pd.DataFrame:
    """A table in simdc.sweep's schema: one row per (point, platform, replication)."""
    rng = np.random.default_rng(5)
    combos = pd.MultiIndex.from_product(list(keys.values()), names=list(keys)).to_list()
    rows = []
    for point, values in enumerate(combos):
        for platform in ("vm", "container"):
            for replication in range(replications):
                rows.append({"point": point, **dict(zip(keys, values)), "platform": platform,
                             "replication": replication, "seed": 100 + replication,
                             "rejection_rate": float(rng.uniform(0, 0.5)),
                             "mean_instances": float(rng.uniform(5, 30)),
                             "start_p99_s": float(rng.uniform(0.5, 80))})
    return pd.DataFrame(rows)


def mean_and_ci(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    sd = (sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5
    return mean, T_975[n] * sd / n ** 0.5


def test_sweep_over_one_key_draws_mean_lines_with_ci_bands():
    """One grid key: per platform a line of the mean over replications at each value,
    and a band from mean − CI to mean + CI (Student t, 95 %)."""
    points = sweep_points({"host.memory_gib": [32, 64, 128]})
    fig = report.figure_sweep(points, "rejection_rate")
    for platform in ("vm", "container"):
        line = the(fig, platform)
        band = the(fig, f"{platform} 95% CI")
        assert line.x.tolist() == [32, 64, 128]
        upper, lower = [], []
        for i, memory in enumerate((32, 64, 128)):
            values = points[(points["platform"] == platform) & (points["host.memory_gib"] == memory)]
            mean, ci = mean_and_ci(values["rejection_rate"].tolist())
            assert line.y[i] == pytest.approx(mean)
            upper.append(mean + ci)
            lower.append(mean - ci)
        np.testing.assert_allclose(band.x, [32, 64, 128, 128, 64, 32])
        np.testing.assert_allclose(band.y, upper + lower[::-1])
    assert fig.layout.xaxis.title.text == "host.memory_gib"
    assert fig.layout.yaxis.title.text == "rejection rate"


def test_sweep_aggregate_table_is_drawn_as_given():
    """An aggregate (simdc.aggregate's schema: <metric>_mean, <metric>_ci95, n) is drawn
    as it is: no second aggregation."""
    aggregate = pd.DataFrame({"host.memory_gib": [32, 64, 32, 64], "platform": ["vm", "vm", "container", "container"],
                              "n": [4, 4, 4, 4], "start_p99_s_mean": [60.0, 55.0, 1.2, 1.1],
                              "start_p99_s_ci95": [5.0, 4.0, 0.2, 0.1]})
    fig = report.figure_sweep(aggregate, "start_p99_s")
    assert the(fig, "vm").y.tolist() == [60.0, 55.0]
    np.testing.assert_allclose(the(fig, "container 95% CI").y, [1.4, 1.2, 1.0, 1.0])


def test_sweep_over_two_keys_draws_a_heatmap_per_platform():
    """Two grid keys: a heatmap per platform, the first key across, the second down, each
    cell the mean over replications, sharing one colour scale."""
    keys = {"host.memory_gib": [64, 32], "workload.synthetic.arrival_rate_per_s": [0.002, 0.004, 0.008]}
    points = sweep_points(keys, replications=2)
    fig = report.figure_sweep(points, "mean_instances")
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert [t.name for t in heatmaps] == ["vm", "container"]
    for heatmap in heatmaps:
        assert list(heatmap.x) == ["32", "64"]
        assert list(heatmap.y) == ["0.002", "0.004", "0.008"]
        assert heatmap.coloraxis == "coloraxis"
        for r, rate in enumerate((0.002, 0.004, 0.008)):
            for c, memory in enumerate((32, 64)):
                cell = points[(points["platform"] == heatmap.name) & (points["host.memory_gib"] == memory)
                              & (points["workload.synthetic.arrival_rate_per_s"] == rate)]
                mean, ci = mean_and_ci(cell["mean_instances"].tolist())
                assert heatmap.z[r][c] == pytest.approx(mean)
                assert heatmap.customdata[r][c] == pytest.approx(ci)


def test_sweep_mistakes_are_value_errors_naming_the_way_out():
    """An unknown metric lists the metrics; three varying keys, or a key left out that
    varies, ask for params."""
    points = sweep_points({"host.memory_gib": [32, 64], "host.cpu_cores": [8, 16], "placement.policy": ["a", "b"]},
                          replications=2)
    with pytest.raises(ValueError, match="unknown metric 'rejections'.*rejection_rate"):
        report.figure_sweep(points, "rejections")
    with pytest.raises(ValueError, match="one or two parameters"):
        report.figure_sweep(points, "rejection_rate")
    with pytest.raises(ValueError, match="varies placement.policy too"):
        report.figure_sweep(points, "rejection_rate", params=["host.memory_gib", "host.cpu_cores"])
    one = points[(points["placement.policy"] == "a") & (points["host.cpu_cores"] == 8)]
    assert the(report.figure_sweep(one, "rejection_rate"), "vm").x.tolist() == [32, 64]


def test_a_single_replication_has_no_band():
    """With n = 1 there is no interval: lines only."""
    points = sweep_points({"host.memory_gib": [32, 64]}, replications=1)
    fig = report.figure_sweep(points, "rejection_rate")
    assert [t.name for t in fig.data] == ["vm", "container"]


# --- the HTML file --------------------------------------------------------------------


def test_report_is_one_self_contained_file(results, tmp_path):
    """report.html embeds plotly.js (no CDN, no external script or stylesheet), has the
    headline table with the platforms as columns and the summary's values, and one
    plot per figure."""
    path = report.write_report(results, tmp_path / "report.html", title="minimal, seed 3")
    text = path.read_text()
    assert get_plotlyjs() in text
    # Outside the library itself (whose defaults name URLs it never loads for these
    # plots) nothing points off the page.
    page = text.replace(get_plotlyjs(), "")
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=", page)
    assert "http://" not in page and "https://" not in page
    assert "<title>minimal, seed 3</title>" in text
    headline = text[text.index('<table class="headline">'):text.index("</table>")]
    assert "<th>vm</th><th>container</th>" in headline
    summary = results.summary.set_index("platform")
    submitted = "".join(f"<td>{summary.loc[p, 'submitted']:,}</td>" for p in ("vm", "container"))
    assert f'<th scope="row">submitted</th>{submitted}' in headline
    for name in results.figures():
        assert f'id="fig-{name}"' in text
    assert not list(tmp_path.glob(".*partial"))


def test_results_write_with_report_puts_it_in_the_directory(results, tmp_path):
    """Results.write(report=True) adds report.html to the directory it renames into place."""
    out = results.write(tmp_path / "run", report=True, report_title="a title")
    assert (out / "report.html").is_file()
    assert "<h1>a title</h1>" in (out / "report.html").read_text()
    simdc.load_results(out)  # still a valid results directory


def test_sweep_report_has_a_figure_per_metric_and_the_table(tmp_path):
    """write_report on a sweep table: one figure per headline metric it has, and the
    mean ± CI of every point."""
    points = sweep_points({"host.memory_gib": [32, 64, 128]})
    text = report.write_report(points, tmp_path / "sweep.html").read_text()
    for metric in ("rejection_rate", "mean_instances", "start_p99_s"):
        assert f'id="fig-sweep-{metric}"' in text
    assert '<table class="sweep">' in text and text.count("<tr>") >= 1 + 6


def test_raw_metric_names_ending_in_mean_are_not_taken_for_an_aggregate():
    """cpu_util_mean is a metric of its own in a sweep's raw table, not the mean of a
    metric 'cpu_util'; only a table with <metric>_ci95 columns is an aggregate."""
    points = sweep_points({"host.memory_gib": [32, 64]}).assign(cpu_util_mean=lambda d: d["mean_instances"] / 100)
    fig = report.figure_sweep(points, "cpu_util_mean")
    vm = points[(points["platform"] == "vm") & (points["host.memory_gib"] == 32)]
    assert the(fig, "vm").y[0] == pytest.approx(vm["cpu_util_mean"].mean())
    with pytest.raises(ValueError, match="unknown metric 'cpu_util'; choose one of: cpu_util_mean, mean_instances"):
        report.figure_sweep(points, "cpu_util")
    aggregate = report.sweep_summary(points, "cpu_util_mean")
    assert report.is_aggregate(aggregate) and not report.is_aggregate(points)
    with pytest.raises(ValueError, match="unknown metric 'rejection_rate'; choose one of: cpu_util_mean"):
        report.figure_sweep(aggregate, "rejection_rate")


def test_report_shows_the_runs_warnings_and_notes(results, tmp_path):
    """The report carries what the CLI prints after its table: each warning (here requests
    no host holds) and each note (here a fleet still filling up), word for word; a run
    with neither has no such section. The report had left both out."""
    import html

    config = validate({"simulation": {"duration_s": 3600, "seed": 3, "platforms": ["vm", "container"]},
                       # 32 hosts: room for every 2-core request (one host was full within the
                       # hour, so its residents no longer rose)
                       "cluster": {"hosts": [{"name": "h", "count": 32, "cpu_cores": 16, "memory_gib": 64}]},
                       "workload": {"synthetic": {"arrival_rate_per_s": 0.05, "sizes": [
                           {"cpu_cores": 2, "memory_gib": 4, "weight": 9},
                           {"cpu_cores": 64, "memory_gib": 8, "weight": 1}]}}})
    warned = simdc.simulate(config)
    said = warned.manifest["warnings"] + warned.manifest["notes"]
    assert any("fit no host" in line for line in said) and any("steady state" in line for line in said)
    text = report.write_report(warned, tmp_path / "warned.html").read_text()
    assert "Warnings and notes" in text
    for line in said:
        assert html.escape(line) in text, line
    quiet = [results.manifest.get("warnings"), results.manifest.get("notes")]
    assert not any(quiet), quiet
    assert "Warnings and notes" not in report.write_report(results, tmp_path / "quiet.html").read_text()


def test_replicas_up_before_the_run_are_not_in_the_start_latency_figure():
    """A service's replicas up before the run (``preexisting``, latency 0 by
    construction) did not start in it: the CDF and the phase bars leave them out, as the
    summary's start latency does. They were in, pulling release.toml's VM median from the
    table's 225.8 s to 130.9 s and the x axis from log to linear."""
    instances = instances_with_phases()
    instances["preexisting"] = False
    ready = instances.iloc[[0, 0, 0]].assign(preexisting=True, submit_s=0.0, ready_s=0.0,
                                             queue_s=0.0, pull_s=0.0, unpack_s=0.0, boot_s=0.0)
    fig = report.figure_start_latency(pd.concat([instances, ready], ignore_index=True))
    assert the(fig, "vm", "x").x.tolist() == [40.0, 60.0]  # as without them
    assert fig.layout.xaxis.type == "log"
    bars = {t.name: dict(zip(t.y, t.customdata)) for t in fig.data if t.type == "bar"}
    assert bars["boot / start"]["vm"] == pytest.approx(29.0)


@pytest.mark.parametrize("seconds, text", [(130.4, "130"), (0.62, "0.62"), (155.0, "160"), (12345.6, "12000"),
                                           (1.0, "1")])
def test_phase_seconds_are_written_without_an_exponent(seconds, text):
    """Two significant digits, never "1.3e+02" (``.2g``) on a phase's segment."""
    assert report._seconds(seconds) == text


def test_the_moves_bars_say_moves_begun_and_done_apart_and_availability_as_the_table():
    """A report trial's bar read '96.4968% · 98 moves, 0.633 s down each' where 0.633 s is
    per move done (92), and '100.0000%' beside the table's 99.99996 %. Each bar now gives
    moves begun and done, the downtime per move done, and the availability as the table
    shows it (metrics.shown), all from the run's own summary."""
    from pathlib import Path

    from simdc.metrics import AVAILABILITY, shown

    config = simdc.load_config(Path(__file__).parents[1] / "configs" / "maintenance.toml",
                               {"workload.synthetic.arrival_rate_per_s": 0.012, "placement.max_wait_s": 1,
                                "simulation.duration_s": 43200})
    results = simdc.simulate(config)
    bars = report.figure_moves(results).data[-1]
    for name, text, hover in zip(bars.y, bars.text, bars.customdata):
        row = results.summary.set_index("platform").loc[name]
        availability = shown(row["service_availability"], AVAILABILITY)
        assert hover == availability
        assert text.startswith(f"{availability} · {row['migrations']:,.0f} moves begun, "
                               f"{row['moves_done']:,.0f} done, "
                               f"{shown(row['migration_downtime_mean_s'], '{:.3g}')} s down per move done, "), text
