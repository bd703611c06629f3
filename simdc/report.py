"""Figures and the HTML report. plotly lives here and nowhere else.

Every ``figure_*`` function is pure: result tables in, a :class:`plotly.graph_objects.Figure`
out, nothing read from disk or changed. Each takes a :class:`~simdc.results.Results` or
the table it needs (a DataFrame), so the same functions serve the report, notebooks and
tests:

>>> results = simdc.simulate(config)
>>> figure_memory(results)                         # or figure_memory(results.timeseries)
>>> results.figures()["start_latency"].show()

Units: times on the x axis are hours (days for runs longer than four days), memory is
GiB, CPU is cores, latencies are seconds. A fleet's hosts are summed per platform and
sample (:func:`fleet_timeseries`).

:func:`write_report` renders a run (or a sweep's table) into one self-contained HTML
file: plotly.js is embedded, nothing is fetched, it opens offline.
"""

from __future__ import annotations

import html
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from simdc.errors import OutputError
from simdc.metrics import AVAILABILITY, HEADLINE, Rows, shown

if TYPE_CHECKING:
    from simdc.results import Results

TEMPLATE = "plotly_white"
# One colour per platform, the same in every figure: the first two are the comparison.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
KNOWN_COLORS = {"vm": PALETTE[0], "container": PALETTE[1]}
OUTCOME_ORDER = ("completed", "running_at_end", "queued_at_end", "requeued_at_end", "rejected", "oom_killed",
                 "evicted", "failed", "blocked")
OUTCOME_COLORS = {"completed": "#2ca02c", "running_at_end": "#98df8a", "queued_at_end": "#c7c7c7",
                  "requeued_at_end": "#7f7f7f", "rejected": "#d62728", "oom_killed": "#8c1c13",
                  "evicted": "#ff9896", "failed": "#9467bd", "blocked": "#bcbd22"}
# Phases of a start, in the order they happen; whichever the instances table has are shown.
START_PHASES = (("queue_s", "queue"), ("pull_s", "image pull"), ("unpack_s", "unpack / provision"),
                ("create_wait_s", "turn to be created"), ("boot_s", "boot / start"))
FLEET_COLUMNS = ("resident", "running", "cpu_demand", "cpu_used", "mem_used_gib", "mem_alloc_gib", "swapped_gib")
# The metrics a sweep report plots, when its table has them.
SWEEP_METRICS = ("rejection_rate", "mean_instances", "peak_instances", "start_p99_s", "cpu_util_mean",
                 "cpu_unmet_share", "mem_used_util_mean", "mem_alloc_util_mean", "cpu_booked_util_mean",
                 "stranded_mem_gib_mean",
                 "oom_kills")
# Optional summary columns a sweep report also plots when its table has them (with
# [[services]], dependencies, [cost]).
SWEEP_OPTIONAL_METRICS = ("demand_served_share", "demand_unserved_core_s", "slo_violation_s", "catch_up_max_s",
                          "replica_hours", "rollout_s_mean", "rollout_unserved_core_s", "makespan_mean_s",
                          "makespan_p95_s", "cost", "carbon_kgco2eq")
# A phase's seconds are written on its segment when it is at least this share of the bar:
# narrower, "0.05 s" would spill out of it onto the platform's name.
MIN_LABELLED_SHARE = 0.15
# Put after a bar chart's category names, room between a name and a label at its bar's
# start. No-break spaces: SVG collapses trailing ordinary ones.
TICK_GAP = "\u00a0\u00a0"
_LABELS = {column: label for column, label, _ in HEADLINE}
_PERCENT = {column for column, _, fmt in HEADLINE if "%" in fmt}


# --- tables the figures are drawn from -------------------------------------------------


def fleet_timeseries(timeseries: pd.DataFrame) -> pd.DataFrame:
    """The timeseries summed over hosts: one row per platform and sample time.

    Columns: ``platform``, ``t_s`` (s), ``resident``, ``running`` (instances),
    ``cpu_demand``, ``cpu_used`` (cores), ``mem_used_gib``, ``mem_alloc_gib``,
    ``swapped_gib`` (GiB), those of them the table has. Platforms keep their order.
    """
    columns = [c for c in FLEET_COLUMNS if c in timeseries.columns]
    fleet = timeseries.groupby(["platform", "t_s"], sort=False, observed=True)[columns].sum().reset_index()
    order = {name: i for i, name in enumerate(_platforms(timeseries))}
    fleet["_order"] = fleet["platform"].map(order)
    return fleet.sort_values(["_order", "t_s"], kind="stable").drop(columns="_order").reset_index(drop=True)


def start_latencies(instances: pd.DataFrame) -> pd.DataFrame:
    """Instances that started in the run, with ``start_s = first_ready_s − submit_s``
    (seconds): until the first start (``ready_s``, the latest attempt's start, in tables
    without it). A service's replicas up before the run (``preexisting``) did not start in
    it: left out, as the summary's start latency leaves them out (one rule,
    :attr:`simdc.metrics.Rows.started`)."""
    ready = "first_ready_s" if "first_ready_s" in instances.columns else "ready_s"
    started = instances[Rows(instances, math.nan).started]
    return started.assign(start_s=started[ready] - started["submit_s"])


def _seconds(value: float) -> str:
    """``value`` seconds to two significant digits, never in exponent form ("130", "0.62";
    ``.2g`` wrote "1.3e+02")."""
    return np.format_float_positional(value, precision=2, unique=False, fractional=False, trim="-")


def start_phases(instances: pd.DataFrame) -> pd.DataFrame:
    """Mean seconds per start phase, one row per platform (instances that started).

    Columns: ``platform``, ``start_s`` (mean start latency), then one column per phase the
    table has, of ``queue_s``, ``pull_s``, ``unpack_s``, ``create_wait_s``, ``boot_s``, and ``other_s``:
    what the phases do not account for (0 when they partition the start latency).
    """
    started = start_latencies(instances)
    phases = [column for column, _ in START_PHASES if column in instances.columns]
    rows = []
    for name in _platforms(instances):
        mine = started[started["platform"] == name]
        row = {"platform": name, "start_s": float(mine["start_s"].mean()) if len(mine) else np.nan}
        for column in phases:
            row[column] = float(mine[column].fillna(0.0).mean()) if len(mine) else np.nan
        known = sum(row[column] for column in phases)
        residual = row["start_s"] - known
        # Rounding in the engine leaves ~1e-12 s: not a phase.
        row["other_s"] = residual if len(mine) and residual > 1e-6 * max(row["start_s"], 1.0) else 0.0
        rows.append(row)
    return pd.DataFrame(rows, columns=["platform", "start_s", *phases, "other_s"])


def outcome_counts(instances: pd.DataFrame) -> pd.DataFrame:
    """Instances per platform (rows, in order) and outcome (columns, in lifecycle order)."""
    counts = pd.crosstab(instances["platform"].astype(str), instances["outcome"].astype(str))
    columns = [o for o in OUTCOME_ORDER if o in counts.columns] + \
              sorted(c for c in counts.columns if c not in OUTCOME_ORDER)
    return counts.reindex(index=[str(p) for p in _platforms(instances)], columns=columns, fill_value=0)


def sweep_summary(points: pd.DataFrame, metric: str, params: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per grid point and platform: the params, ``platform``, ``n``,
    ``<metric>_mean`` and ``<metric>_ci95`` (half-width of the 95 % confidence interval).

    ``points`` is a sweep's table (one row per point, platform and replication, the
    metric in a column named ``metric``) or an aggregate of one (already holding
    ``<metric>_mean`` and ``<metric>_ci95``). The interval is Student's t over the
    replications: ``t(0.975, n−1) · sd / √n``, NaN for a single replication.
    """
    params = sweep_params(points, params)
    mean, ci = f"{metric}_mean", f"{metric}_ci95"
    if is_aggregate(points):
        if mean not in points.columns:
            known = sorted(c[: -len("_mean")] for c in points.columns
                           if c.endswith("_mean") and f"{c[: -len('_mean')]}_ci95" in points.columns)
            raise ValueError(f"unknown metric {metric!r}; choose one of: {', '.join(known)}")
        table = points.copy()
        if ci not in table.columns:
            table[ci] = np.nan
        if f"{metric}_n" in table.columns:  # the replications with a value (aggregate()), as below
            table["n"] = table[f"{metric}_n"]
        elif "n" not in table.columns:
            table["n"] = np.nan
        return table[[*params, "platform", "n", mean, ci]].reset_index(drop=True)
    skip = {"point", "replication", "seed", "platform", *params}
    if metric not in points.columns or metric in skip or not pd.api.types.is_numeric_dtype(points[metric]):
        # (a column that is no metric, 'platform' say, gave pandas' own TypeError from its mean)
        known = sorted(c for c in points.columns if c not in skip and "." not in str(c)
                       and pd.api.types.is_numeric_dtype(points[c]))
        what = "unknown metric" if metric not in points.columns else "not a metric"
        raise ValueError(f"{what} {metric!r}; choose one of: {', '.join(known)}")
    from simdc.sweeping import ci95_half_width

    grouped = points.groupby([*params, "platform"], sort=False, observed=True)[metric]
    table = grouped.agg(n="count", mean="mean", sd="std").reset_index()
    table[ci] = ci95_half_width(table["n"].to_numpy(), table["sd"].to_numpy())
    return table.rename(columns={"mean": mean})[[*params, "platform", "n", mean, ci]]


def is_aggregate(points: pd.DataFrame) -> bool:
    """Whether a sweep table is already aggregated (``simdc.aggregate``: it has
    ``<metric>_ci95`` columns) rather than one row per replication."""
    return any(str(c).endswith("_ci95") for c in points.columns)


def sweep_params(points: pd.DataFrame, params: Sequence[str] | None = None) -> list[str]:
    """The grid keys of a sweep table: its dotted columns (``host.memory_gib``) that take
    more than one value (all of them if none does), or ``params`` checked against them.
    Raises ValueError if a grid key not in ``params`` varies."""
    grid = [c for c in points.columns if "." in str(c)]
    if params is None:
        varying = [c for c in grid if points[c].astype(str).nunique() > 1]
        return varying or grid
    params = [params] if isinstance(params, str) else list(params)
    for name in params:
        if name not in points.columns:
            raise ValueError(f"unknown sweep parameter {name!r}; "
                             f"the table's grid keys are: {', '.join(grid) or 'none'}")
    varying = [c for c in grid if c not in params and points[c].astype(str).nunique() > 1]
    if varying:
        raise ValueError(f"the table varies {', '.join(varying)} too: keep one value of it "
                         f"(e.g. points[points[{varying[0]!r}] == value]) or add it to params")
    return params


# --- figures of a run ------------------------------------------------------------------


def figure_memory(source: Results | pd.DataFrame, hosts: pd.DataFrame | None = None,
                  reserved_gib: dict[str, float] | None = None) -> go.Figure:
    """Memory allocated versus used over time, one panel per platform (GiB, fleet sum).

    Allocated is what admission counted as taken (a VM's size plus overhead; a
    container's request as admission booked it); used is resident host memory. The gap is
    stranded memory. The dashed line is the hosts' physical memory (from ``hosts``, or
    the results' hosts table); the grey band below it is memory reserved for the hosts
    themselves (their OS), never given to instances: ``reserved_gib`` per platform, or
    the results' config's ``reserved_memory_gib`` summed over the hosts. Where used rises
    above allocated (containers may use more than they requested, up to their limit or
    the host) triangles mark the samples, and the legend and hover text say why.
    """
    fleet = fleet_timeseries(_checked(source, "timeseries", "figure_memory",
                                      ("platform", "t_s", "mem_alloc_gib", "mem_used_gib")))
    capacity = _capacity(source, hosts, "memory_gib")
    reserved = reserved_gib if reserved_gib is not None else _reserved_memory(source)
    fig = _panels(fleet, "memory (GiB)")
    scale = _time_scale(fleet["t_s"])
    marked = False  # the legend tells of used above allocated once
    for col, name in enumerate(_platforms(fleet), start=1):
        mine = fleet[fleet["platform"] == name]
        x = mine["t_s"].to_numpy(float) / scale[1]
        first = col == 1
        allocated, used = mine["mem_alloc_gib"].to_numpy(float), mine["mem_used_gib"].to_numpy(float)
        fig.add_trace(go.Scatter(x=x, y=allocated, name="allocated",
                                 legendgroup="allocated", showlegend=first, mode="lines", fill="tozeroy",
                                 line=dict(color="#9ecae1", width=1.5), fillcolor="rgba(158,202,225,0.45)",
                                 hovertemplate="%{y:.1f} GiB allocated<extra>" + _esc(name) + "</extra>"),
                      row=1, col=col)
        excess = used - allocated
        above = excess > 1e-9 * np.maximum(np.abs(allocated), 1.0)
        fig.add_trace(go.Scatter(x=x, y=used, name="used",
                                 legendgroup="used", showlegend=first, mode="lines", fill="tozeroy",
                                 line=dict(color="#08519c", width=1.5), fillcolor="rgba(8,81,156,0.55)",
                                 text=np.where(above, "<br>above allocated: " + USED_ABOVE_ALLOCATED, ""),
                                 hovertemplate="%{y:.1f} GiB used%{text}<extra>" + _esc(name) + "</extra>"),
                      row=1, col=col)
        if above.any():
            fig.add_trace(go.Scatter(x=x[above], y=used[above], name=USED_ABOVE_ALLOCATED_LEGEND,
                                     legendgroup="above", showlegend=not marked, mode="markers",
                                     marker=dict(symbol="triangle-up", size=7, color="#d94801"),
                                     customdata=excess[above],
                                     hovertemplate="used %{customdata:.2f} GiB above allocated:<br>"
                                                   + USED_ABOVE_ALLOCATED + "<extra>" + _esc(name) + "</extra>"),
                          row=1, col=col)
            marked = True
        _reserved_band(fig, capacity, reserved, name, x, first, col)
        _capacity_line(fig, capacity, name, x, "host memory", "GiB", first, col)
    return fig


USED_ABOVE_ALLOCATED = "containers may use more than they requested,<br>up to their limit or the host"
USED_ABOVE_ALLOCATED_LEGEND = "used > allocated (containers may use more than requested, up to their limit)"


def figure_cpu(source: Results | pd.DataFrame, hosts: pd.DataFrame | None = None) -> go.Figure:
    """CPU demand versus CPU used over time, one panel per platform (cores, fleet sum).

    Demand is what the instances wanted, above their ceilings too (a VM's vCPUs, a
    container's limit); used is what they got. Where demand rises above used (red) it
    was not served: clipped at a ceiling, or steal for VMs and throttling for containers
    on a contended host. The dashed line is the hosts' cores.
    """
    fleet = fleet_timeseries(_checked(source, "timeseries", "figure_cpu",
                                      ("platform", "t_s", "cpu_demand", "cpu_used")))
    capacity = _capacity(source, hosts, "cpu_cores")
    fig = _panels(fleet, "CPU (cores)")
    scale = _time_scale(fleet["t_s"])
    for col, name in enumerate(_platforms(fleet), start=1):
        mine = fleet[fleet["platform"] == name]
        x = mine["t_s"].to_numpy(float) / scale[1]
        first = col == 1
        # Demand first, used drawn over it: red shows only where demand exceeded what was served.
        fig.add_trace(go.Scatter(x=x, y=mine["cpu_demand"].to_numpy(float), name="demand (red: unmet)",
                                 legendgroup="demand", showlegend=first, mode="lines", fill="tozeroy",
                                 line=dict(color="#d62728", width=1), fillcolor="rgba(214,39,40,0.55)",
                                 hovertemplate="%{y:.2f} cores wanted<extra>" + _esc(name) + "</extra>"),
                      row=1, col=col)
        fig.add_trace(go.Scatter(x=x, y=mine["cpu_used"].to_numpy(float), name="used", legendgroup="used",
                                 showlegend=first, mode="lines", fill="tozeroy",
                                 line=dict(color="#238b45", width=1), fillcolor="#a1d99b",
                                 hovertemplate="%{y:.2f} cores used<extra>" + _esc(name) + "</extra>"),
                      row=1, col=col)
        _capacity_line(fig, capacity, name, x, "host cores", "cores", first, col)
    return fig


def figure_density(source: Results | pd.DataFrame, column: str = "resident") -> go.Figure:
    """Instances on the hosts over time, one line per platform on shared axes (fleet sum).

    ``column``: ``"resident"`` (placed and holding resources, starting or running: the
    density the summary's ``peak_instances``/``mean_instances`` count) or ``"running"``.
    """
    if column not in ("resident", "running"):
        raise ValueError(f"column: choose 'resident' or 'running' (got {column!r})")
    fleet = fleet_timeseries(_checked(source, "timeseries", "figure_density", ("platform", "t_s", column)))
    unit, divisor = _time_scale(fleet["t_s"])
    fig = go.Figure()
    for name in _platforms(fleet):
        mine = fleet[fleet["platform"] == name]
        fig.add_trace(go.Scatter(x=mine["t_s"].to_numpy(float) / divisor, y=mine[column].to_numpy(float),
                                 name=str(name), mode="lines", line=dict(color=_color(name, fleet), width=2,
                                                                          shape="hv"),
                                 hovertemplate="%{y:.0f} instances<extra>" + _esc(name) + "</extra>"))
    fig.update_layout(template=TEMPLATE, hovermode="x unified", legend_title_text="platform",
                      margin=dict(t=30, b=50, l=60, r=20), height=360)
    fig.update_xaxes(title_text=f"time ({unit})")
    fig.update_yaxes(title_text=f"{column} instances", rangemode="tozero")
    return fig


def figure_start_latency(source: Results | pd.DataFrame) -> go.Figure:
    """Start latency per platform: its CDF (top) and where the time goes (below), each
    with its own legend beside it.

    Start latency is ``first_ready_s − submit_s`` in seconds, over instances that started. The
    CDF's x axis is logarithmic when the latencies span more than a factor of ten, its
    range padded so every curve shows whole, ticked 1-2-5 per decade (0.1, 0.2, 0.5, 1,
    2, 5 ... s). Below, one bar per platform split into the phases the instances table
    has (queue, image pull, unpack/provision, boot), each segment its mean's share of
    the mean start latency (``x``; seconds in ``customdata``), the mean itself written
    beside the bar.
    """
    instances = _checked(source, "instances", "figure_start_latency", ("platform", "submit_s"),
                         any_of=("first_ready_s", "ready_s"))
    started = start_latencies(instances)
    phases = start_phases(instances)
    names = [str(p) for p in phases["platform"]]
    bars_px = 45 * max(len(names), 1) + 60
    fig = make_subplots(rows=2, cols=1, row_heights=[360, bars_px], vertical_spacing=130 / (480 + bars_px),
                        subplot_titles=("CDF of start latency", "where the time goes (mean)"))
    for name in _platforms(instances):
        latency = np.sort(started.loc[started["platform"] == name, "start_s"].to_numpy(float))
        if len(latency) == 0:
            continue
        fig.add_trace(go.Scatter(x=latency, y=np.arange(1, len(latency) + 1) / len(latency), name=str(name),
                                 legend="legend", mode="lines", line=dict(color=_color(name, instances),
                                                                          width=2, shape="hv"),
                                 hovertemplate="%{y:.0%} started within %{x:.3g} s<extra>" + _esc(name) + "</extra>"),
                      row=1, col=1)
    labels = dict(START_PHASES, other_s="other")
    shades = dict(zip([c for c, _ in START_PHASES] + ["other_s"],
                      ("#bdbdbd", "#9e9ac8", "#74c476", "#fd8d3c", "#525252", "#e7e7e7")))
    total = phases["start_s"].to_numpy(float)
    # Shares, not seconds: a container's half second would not show beside a VM's boot.
    # The seconds are on the segments wide enough for them, the mean beside each bar.
    for column in [c for c in phases.columns if c.endswith("_s") and c != "start_s"]:
        if column == "other_s" and not (phases[column] > 0).any():
            continue
        seconds = phases[column].to_numpy(float)
        share = np.divide(seconds, total, out=np.zeros_like(seconds), where=total > 0)
        fig.add_trace(go.Bar(x=share, y=names, orientation="h", name=labels[column], customdata=seconds,
                             legend="legend2", marker_color=shades[column],
                             text=[f"{_seconds(v)} s" if f >= MIN_LABELLED_SHARE else "" for v, f in
                                   zip(seconds, share)],
                             textangle=0, textposition="inside", insidetextanchor="middle",
                             hovertemplate="%{customdata:.3g} s mean " + labels[column]
                                           + " (%{x:.0%})<extra>%{y}</extra>"),
                      row=2, col=1)
    for name, mean in zip(names, total):
        if np.isfinite(mean):
            fig.add_annotation(x=1.0, y=name, xref="x2", yref="y2", xanchor="left", showarrow=False,
                               text=f" {_seconds(mean)} s")
    positive = started["start_s"][started["start_s"] > 0]
    log = len(positive) == len(started) and len(positive) > 0 and positive.max() / positive.min() > 10
    if log:
        low, high = math.log10(positive.min()), math.log10(positive.max())
        pad = 0.04 * (high - low)  # a little room either side: no curve ends on the frame
        ticks = log_ticks(10 ** (low - pad), 10 ** (high + pad))
        fig.update_xaxes(type="log", range=[low - pad, high + pad], tickvals=ticks,
                         ticktext=[f"{t:g}" for t in ticks], row=1, col=1)
    elif len(started):
        fig.update_xaxes(type="linear", range=[0, float(started["start_s"].max()) * 1.04 or 1.0], row=1, col=1)
    fig.update_xaxes(title_text="start latency (s)", row=1, col=1)
    fig.update_yaxes(title_text="share of started", tickformat=".0%", range=[0, 1.03], row=1, col=1)
    fig.update_xaxes(title_text="share of the mean start latency", tickformat=".0%", range=[0, 1.12],
                     row=2, col=1)
    fig.update_yaxes(autorange="reversed", ticksuffix=TICK_GAP, row=2, col=1)
    fig.update_layout(template=TEMPLATE, barmode="stack", height=480 + bars_px,
                      margin=dict(t=40, b=50, l=60, r=20),
                      legend=_legend_beside(fig.layout.yaxis.domain, "platform"),
                      legend2=dict(_legend_beside(fig.layout.yaxis2.domain, "phase"), traceorder="normal"))
    return fig


def log_ticks(low: float, high: float) -> list[float]:
    """Tick values 1, 2, 5 times each power of ten within ``[low, high]`` (both > 0),
    e.g. 0.1, 0.2, 0.5, 1, 2, 5, 10 ... for a latency axis; at least the two 1-2-5
    values around the range when none falls inside it."""
    ticks = [m * 10.0 ** k for k in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
             for m in (1, 2, 5)]
    inside = [float(f"{t:.12g}") for t in ticks if low <= t <= high]
    return inside or [float(f"{t:.12g}") for t in ticks if t <= low][-1:] + \
        [float(f"{t:.12g}") for t in ticks if t >= high][:1]


def figure_outcomes(source: Results | pd.DataFrame) -> go.Figure:
    """How each instance ended, per platform: stacked counts (completed,
    still running, queued, rejected, OOM-killed, evicted); outcomes no platform had are
    left out. When the OOM killer struck, each bar is labelled with its platform's kills
    and restarts (a restarted container still ends completed or running)."""
    instances = _checked(source, "instances", "figure_outcomes", ("platform", "outcome"))
    counts = outcome_counts(instances)
    counts = counts.loc[:, (counts > 0).any(axis=0)] if len(counts) else counts
    fig = go.Figure()
    # A container the OOM killer restarts still ends "completed" or "running at end":
    # its kills are told beside the bar, or they would not show at all.
    if "oom_kills" in instances.columns and instances["oom_kills"].sum() > 0:
        for name in counts.index:
            mine = instances[instances["platform"].astype(str) == name]
            restarts = int(mine["restarts"].sum()) if "restarts" in mine.columns else 0
            fig.add_annotation(x=int(counts.loc[name].sum()), y=name, xanchor="left", showarrow=False,
                               text=f" {int(mine['oom_kills'].sum()):,} OOM kills, {restarts:,} restarts")
    for outcome in counts.columns:
        fig.add_trace(go.Bar(x=counts[outcome].to_numpy(), y=list(counts.index), orientation="h",
                             name=outcome.replace("_", " "), marker_color=OUTCOME_COLORS.get(outcome, "#7f7f7f"),
                             text=counts[outcome].to_numpy(), textposition="inside", insidetextanchor="middle",
                             hovertemplate="%{x:,} " + outcome.replace("_", " ") + "<extra>%{y}</extra>"))
    fig.update_layout(template=TEMPLATE, barmode="stack", height=140 + 50 * max(len(counts), 1),
                      legend=dict(orientation="h", y=-0.35, traceorder="normal"),
                      margin=dict(t=20, b=40, l=90, r=190 if fig.layout.annotations else 20))
    fig.update_xaxes(title_text="instances")
    fig.update_yaxes(autorange="reversed", ticksuffix=TICK_GAP)
    return fig


def has_interference(source: Results | pd.DataFrame, timeseries: pd.DataFrame | None = None) -> bool:
    """Whether a run had any: CPU demand unmet at a sample, or an instance slowed (batch
    slowdown or neighbours' interference above 1)."""
    instances = _table(source, "instances")
    timeseries = timeseries if timeseries is not None else getattr(source, "timeseries", None)
    slowed = any(column in instances.columns and (instances[column] > 1 + SLOWED_TOLERANCE).any()
                 for column in ("slowdown", "interference_slowdown"))
    if timeseries is None or not {"cpu_demand", "cpu_used"} <= set(timeseries.columns):
        return bool(slowed)
    return bool(slowed or (timeseries["cpu_demand"] - timeseries["cpu_used"] > UNMET_TOLERANCE_CORES).any())


def has_failures(source: Results | pd.DataFrame, hosts: pd.DataFrame | None = None) -> bool:
    """Whether a run had any host or kernel failure, instance killed by one, OOM kill, or
    instance placed again (after a failure, or a container restarted off a drained host)."""
    counts = failure_counts(source, hosts)
    return bool(len(counts) and counts.drop(columns="lost_core_h", errors="ignore").to_numpy().sum() > 0)


# Below these, demand unmet and slowdowns are the engine's rounding, not interference.
UNMET_TOLERANCE_CORES = 1e-6
SLOWED_TOLERANCE = 1e-9
FAILURE_KINDS = (("failures", "host/kernel failures", "#7f7f7f"),
                 ("failure_kills", "instances killed by a failure", "#d62728"),
                 ("replaced", "placed again after a failure or drain", "#2ca02c"),
                 ("failed", "ended lost to a failure", "#8c1c13"),
                 ("oom_kills", "OOM kills", "#ff7f0e"),
                 ("restarts", "restarts", "#9467bd"))


def failure_counts(source: Results | pd.DataFrame, hosts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Failures and kills per platform (rows, in the run's order).

    Columns, those the tables allow: ``failures`` (host and kernel failures, from the
    hosts table), ``failure_kills`` (kills of instances by failures; one instance
    resubmitted and killed again counts twice), ``replaced`` (instances placed again after
    a failure), ``failed`` (instances that ended lost to a failure), ``oom_kills``,
    ``restarts`` and ``lost_core_h`` (CPU work the victims had done, core-hours). A
    container restarted off a drained or consolidated host counts in ``replaced`` and its
    work in ``lost_core_h`` too (:mod:`simdc.engine.migration`).
    """
    instances = _table(source, "instances")
    if hosts is None and not isinstance(source, pd.DataFrame):
        hosts = getattr(source, "hosts", None)
    names = [str(p) for p in _platforms(instances)]
    platform = instances["platform"].astype(str)
    table = pd.DataFrame(index=pd.Index(names, name="platform"))
    if hosts is not None and "failures" in hosts.columns:
        per_host = hosts.groupby(hosts["platform"].astype(str), sort=False)["failures"].sum()
        table["failures"] = per_host.reindex(names, fill_value=0).astype(int)
    for column in ("failure_kills", "oom_kills", "restarts"):
        if column in instances.columns:
            table[column] = instances.groupby(platform, sort=False)[column].sum() \
                .reindex(names, fill_value=0).astype(int)
    if "replacements" in instances.columns:
        table["replaced"] = (instances["replacements"] > 0).groupby(platform, sort=False).sum() \
            .reindex(names, fill_value=0).astype(int)
    if "outcome" in instances.columns:
        table["failed"] = (instances["outcome"] == "failed").groupby(platform, sort=False).sum() \
            .reindex(names, fill_value=0).astype(int)
    if "lost_core_s" in instances.columns:
        table["lost_core_h"] = instances.groupby(platform, sort=False)["lost_core_s"].sum() \
            .reindex(names, fill_value=0.0) / 3600.0
    order = [c for c, _, _ in FAILURE_KINDS if c in table.columns] + \
        (["lost_core_h"] if "lost_core_h" in table.columns else [])
    return table[order]


def figure_interference(source: Results | pd.DataFrame) -> go.Figure:
    """What sharing cost the instances: CPU demand unmet over time (top, cores, fleet sum,
    one line per platform: above an instance's ceiling, or steal for VMs and throttling for
    containers on a contended host), and per platform
    the spread of slowdowns (below, boxes): each completed batch instance's slowdown
    (time from first start to end over its work at full speed) and each instance's
    slowdown by neighbours' memory-bandwidth and I/O pressure (time-weighted mean of
    1/speed); a kind no instance of any platform suffered is left out. 1 is never slowed.
    Each part has its legend beside it.
    """
    timeseries = _checked(source, "timeseries", "figure_interference", ("platform", "t_s", "cpu_demand", "cpu_used"))
    instances = _table(source, "instances") if not isinstance(source, pd.DataFrame) else None
    fleet = fleet_timeseries(timeseries)
    unit, divisor = _time_scale(fleet["t_s"])
    fig = make_subplots(rows=2, cols=1, row_heights=[320, 300], vertical_spacing=0.17,
                        subplot_titles=("CPU demand unmet (ceilings, throttling, steal)", "slowdown per instance"))
    for name in _platforms(fleet):
        mine = fleet[fleet["platform"] == name]
        demand = mine["cpu_demand"].to_numpy(float)
        unmet = np.maximum(demand - mine["cpu_used"].to_numpy(float), 0.0)
        share = np.divide(unmet, demand, out=np.zeros_like(unmet), where=demand > 0)
        fig.add_trace(go.Scatter(x=mine["t_s"].to_numpy(float) / divisor, y=unmet, name=str(name), legend="legend",
                                 mode="lines", line=dict(color=_color(name, fleet), width=1.5), customdata=share,
                                 hovertemplate="%{y:.2f} cores unmet (%{customdata:.0%} of demand)<extra>"
                                               + _esc(name) + "</extra>"),
                      row=1, col=1)
    if instances is not None:
        kinds = (("slowdown", "batch slowdown (completed batch)", "#6a51a3"),
                 ("interference_slowdown", "slowed by neighbours (memory bandwidth, I/O)", "#e6550d"))
        for column, label, color in kinds:
            if column not in instances.columns:
                continue
            values = instances[["platform", column]].dropna()
            if not (values[column] > 1 + SLOWED_TOLERANCE).any():
                continue  # never slowed anywhere: a box at 1 for each platform tells nothing
            fig.add_trace(go.Box(x=values[column].to_numpy(float), y=values["platform"].astype(str).to_numpy(),
                                 orientation="h", name=label, legend="legend2", marker=dict(color=color, size=3),
                                 line=dict(width=1.5), boxpoints="outliers",
                                 hovertemplate="%{x:.2f}×<extra>%{y}</extra>"),
                          row=2, col=1)
        fig.update_layout(boxmode="group")
    fig.update_xaxes(title_text=f"time ({unit})", row=1, col=1)
    fig.update_yaxes(title_text="cores unmet", rangemode="tozero", row=1, col=1)
    fig.update_xaxes(title_text="slowdown (× the time at full speed; 1 = never slowed)", row=2, col=1)
    fig.update_yaxes(autorange="reversed", ticksuffix=TICK_GAP, row=2, col=1)
    fig.update_layout(template=TEMPLATE, height=700, hovermode="closest", margin=dict(t=40, b=50, l=60, r=20),
                      legend=_legend_beside(fig.layout.yaxis.domain, "platform"),
                      legend2=_legend_beside(fig.layout.yaxis2.domain, "slowdown"))
    return fig


def figure_failures(source: Results | pd.DataFrame, hosts: pd.DataFrame | None = None) -> go.Figure:
    """Failures and what they cost, per platform (:func:`failure_counts`): above, grouped
    bars of host/kernel failures, instances they killed, instances lost to them, OOM
    kills and restarts (kinds no platform had are left out); below, when there was any,
    the CPU work the failures' victims (and containers restarted by a drain) lost
    (core-hours). Every platform meets the same host failures;
    kernel failures strike per container host but per VM."""
    _checked(source, "instances", "figure_failures", ("platform",))
    counts = failure_counts(source, hosts)
    kinds = [(c, label, color) for c, label, color in FAILURE_KINDS if c in counts.columns and counts[c].sum() > 0]
    names = list(counts.index)
    lost = "lost_core_h" in counts.columns and bool((counts["lost_core_h"] > 0).any())
    if not kinds and not lost:
        told = [c for c in (*(c for c, _, _ in FAILURE_KINDS), "lost_core_h") if c in counts.columns]
        raise ValueError("figure_failures: nothing to draw: no host or kernel failure, kill, OOM kill, "
                         "re-placement or lost work in " + (f"{', '.join(told)} (all 0)" if told else
                         "the tables given (the instances table has none of failure_kills, oom_kills, restarts, "
                         "replacements, lost_core_s; failures come from the hosts table)")
                         + "; has_failures() tells whether a run has any")
    rows_px = 40 + 22 * max(len(kinds), 1) * max(len(names), 1)
    fig = make_subplots(rows=2 if lost else 1, cols=1, row_heights=[rows_px, 60 + 40 * len(names)] if lost else None,
                        vertical_spacing=110 / (rows_px + 160 + 40 * len(names)),
                        subplot_titles=("failures and kills", "work lost (failures' victims, drains' restarts)")
                        if lost else None)
    for column, label, color in kinds:
        values = counts[column].to_numpy()
        fig.add_trace(go.Bar(x=values, y=names, orientation="h", name=label, legend="legend", marker_color=color,
                             text=values, textposition="outside", cliponaxis=False,
                             hovertemplate="%{x:,} " + label + "<extra>%{y}</extra>"), row=1, col=1)
    fig.update_xaxes(title_text="count", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(autorange="reversed", ticksuffix=TICK_GAP, row=1, col=1)
    if lost:
        hours = counts["lost_core_h"].to_numpy(float)
        fig.add_trace(go.Bar(x=hours, y=names, orientation="h", name="work lost", showlegend=False,
                             marker_color="#525252", text=[f"{h:,.3g} core-h" for h in hours], textposition="outside",
                             cliponaxis=False, hovertemplate="%{x:,.3g} core-hours of work lost<extra>%{y}</extra>"),
                      row=2, col=1)
        fig.update_xaxes(title_text="CPU work lost (core-hours)", rangemode="tozero", row=2, col=1)
        fig.update_yaxes(autorange="reversed", ticksuffix=TICK_GAP, row=2, col=1)
    fig.update_layout(template=TEMPLATE, barmode="group", height=rows_px + 160 + (100 + 40 * len(names) if lost else 0),
                      margin=dict(t=40, b=50, l=60, r=40),
                      legend=_legend_beside(fig.layout.yaxis.domain, "per platform"))
    return fig


# What a platform pays and emits, by part: (summary column, label, colour).
COST_PARTS = (("cost_hosts", "hosts (rent or amortised capital)", "#6a51a3"),
              ("cost_energy", "electricity (at the wall, × PUE)", "#fd8d3c"),
              ("cost_licences", "licences", "#41ab5d"))
CARBON_PARTS = (("carbon_operational_kgco2eq", "operational (energy × grid intensity)", "#e6550d"),
                ("carbon_embodied_kgco2eq", "embodied (amortised over the hosts' lifetime)", "#756bb1"))


def has_cost(source: Results | pd.DataFrame) -> bool:
    """Whether the run priced itself (a ``[cost]`` table: :mod:`simdc.cost`)."""
    return "cost" in _table(source, "summary").columns


def figure_cost(source: Results | pd.DataFrame) -> go.Figure:
    """Cost and carbon per platform: left, stacked bars of what the hosts, their
    electricity and the licences cost; right, operational and embodied kgCO2eq.

    ``source``: Results, or its summary table (a row per platform). Raises ValueError
    when it has none of the parts' columns: the run was not priced (no ``[cost]``)."""
    summary = _checked(source, "summary", "figure_cost", ("platform",),
                       any_of=tuple(c for c, _, _ in (*COST_PARTS, *CARBON_PARTS)),
                       what=" (a config's [cost] table prices the run)")
    names = [str(p) for p in summary["platform"]]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("cost", "carbon (kgCO2eq)"), horizontal_spacing=0.12)
    for col, parts in ((1, COST_PARTS), (2, CARBON_PARTS)):
        for column, label, color in parts:
            if column not in summary.columns:
                continue
            values = summary[column].to_numpy(float)
            if not np.any(values):
                continue
            fig.add_trace(go.Bar(x=names, y=values, name=label, marker_color=color,
                                 hovertemplate="%{y:,.4g} " + label + "<extra>%{x}</extra>"), row=1, col=col)
    fig.update_layout(template=TEMPLATE, barmode="stack", height=420, margin=dict(t=40, b=40, l=60, r=20),
                      legend=dict(orientation="h", y=-0.15))
    return fig


def service_totals(services: pd.DataFrame) -> pd.DataFrame:
    """Per platform and moment, the services' demand, served cores and ready replicas
    summed over services (each service's last row at a moment holds until its next)."""
    rows = []
    for platform, mine in services.groupby("platform", sort=False):
        held = mine.groupby(["t_s", "service"], sort=True)[["demand_cores", "served_cores", "ready"]].last()
        wide = held.unstack("service").ffill().fillna(0.0)
        totals = wide.T.groupby(level=0).sum().T  # sum over services, per quantity
        rows.append(totals.reset_index().assign(platform=platform))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["t_s", "demand_cores", "served_cores", "ready", "platform"])


def figure_services(source: Results | pd.DataFrame, releases: pd.DataFrame | None = None) -> go.Figure:
    """With ``[[services]]``: their demand versus demand served over time, one panel per
    platform (cores, summed over services); releases are dotted lines.

    ``source``: Results, or its services table (``results.services``); ``releases``:
    the releases table (default: the results', none for a table). Raises ValueError for a
    run without ``[[services]]`` (no services table) or a table without the columns drawn."""
    services = _checked(source, "services", "figure_services",
                        ("platform", "t_s", "service", "demand_cores", "served_cores", "ready"),
                        what=" (a config with [[services]] makes one)")
    if releases is None and not isinstance(source, pd.DataFrame):
        releases = getattr(source, "releases", None)
    totals = service_totals(services)
    fig = _panels(totals, "service demand (cores)")
    scale = _time_scale(totals["t_s"])
    for col, name in enumerate(_platforms(totals), start=1):
        mine = totals[totals["platform"] == name]
        x = mine["t_s"].to_numpy(float) / scale[1]
        first = col == 1
        fig.add_trace(go.Scatter(x=x, y=mine["demand_cores"].to_numpy(float), name="demand (red: unserved)",
                                 legendgroup="demand", showlegend=first, mode="lines", fill="tozeroy",
                                 line=dict(color="#d62728", width=1, shape="hv"), fillcolor="rgba(214,39,40,0.55)",
                                 hovertemplate="%{y:.2f} cores asked<extra>" + _esc(name) + "</extra>"),
                      row=1, col=col)
        fig.add_trace(go.Scatter(x=x, y=mine["served_cores"].to_numpy(float), name="served", legendgroup="served",
                                 showlegend=first, mode="lines", fill="tozeroy",
                                 line=dict(color="#238b45", width=1, shape="hv"), fillcolor="#a1d99b",
                                 hovertemplate="%{y:.2f} cores served<extra>" + _esc(name) + "</extra>"),
                      row=1, col=col)
        if releases is not None:
            for at_s in releases.loc[releases["platform"] == name, "at_s"].unique():
                fig.add_vline(x=float(at_s) / scale[1], line=dict(color="#555", dash="dot", width=1), row=1, col=col)
    return fig


def figures(results: Results) -> dict[str, go.Figure]:
    """Every figure of a run's report, by name, in the report's order: interference and
    failures only when the run had some (:func:`has_interference`, :func:`has_failures`)."""
    made = {
        "memory": figure_memory(results),
        "cpu": figure_cpu(results),
        "density": figure_density(results),
        "start_latency": figure_start_latency(results),
        "outcomes": figure_outcomes(results),
    }
    if has_interference(results):
        made["interference"] = figure_interference(results)
    if has_failures(results):
        made["failures"] = figure_failures(results)
    if has_cost(results):
        made["cost"] = figure_cost(results)
    if has_moves(results):
        made["moves"] = figure_moves(results)
    if getattr(results, "services", None) is not None and len(results.services):
        made["services"] = figure_services(results)
    return made


def has_moves(source: Results | pd.DataFrame) -> bool:
    """Whether a run moved any instance (drains or consolidation)."""
    instances = _table(source, "instances")
    return "migrations" in instances.columns and bool((instances["migrations"] > 0).any())


def figure_moves(source: Results | pd.DataFrame) -> go.Figure:
    """Moves per platform: above, a box of each moved instance's ``downtime_s`` (seconds
    not running because of its moves; log axis); below, bars of service availability
    (share of the service time asked for that services ran) labelled with the moves'
    count, mean downtime per move done and GiB sent.

    ``source``: Results, or its instances table. Raises ValueError when it has no
    ``migrations`` column (the run moved nothing: no drain or consolidation) or lacks
    another column drawn."""
    instances = _checked(source, "instances", "figure_moves",
                         ("platform", "migrations", "downtime_s", "requested_s", "run_s", "migrated_gib"),
                         what=" (a run with drains or consolidation has them; has_moves() tells)")
    if not (instances["migrations"] > 0).any():
        raise ValueError("figure_moves: nothing to draw: no instance was moved (migrations is 0 for every one); "
                         "has_moves() tells whether a run moved any")
    names = [str(p) for p in _platforms(instances)]
    platform = instances["platform"].astype(str)
    fig = make_subplots(rows=2, cols=1, row_heights=[300, 60 + 40 * len(names)], vertical_spacing=0.2,
                        subplot_titles=("time not running per moved instance", "service availability"))
    for name in names:
        done = instances["moves_done"] if "moves_done" in instances else instances["migrations"]
        moved = instances[(platform == name) & (done > 0)]  # ran again after a move: its time down
        down = np.maximum(moved["downtime_s"].to_numpy(float), 1e-3)  # a log axis: 0 shown as 1 ms
        fig.add_trace(go.Box(x=down, y=[name] * len(down), orientation="h", name=name, showlegend=False,
                             marker=dict(color=_color(name, instances), size=3), boxpoints="outliers",
                             hovertemplate="%{x:.3g} s<extra>" + _esc(name) + "</extra>"), row=1, col=1)
    availability, labels = [], []
    for name in names:
        mine = instances[platform == name]
        asked = mine["requested_s"].sum()
        availability.append(float(mine["run_s"].where(mine["requested_s"].notna()).sum() / asked) if asked else np.nan)
        moves = int(mine["migrations"].sum())
        done = int(mine["moves_done"].sum()) if "moves_done" in mine else moves
        per_move = mine["downtime_s"].sum() / done if done else np.nan  # over the moves done
        # the availability as the tables show it (its first digit short of 100 %); moves begun
        # and done apart, the downtime being per move done (the table's "downtime per move done")
        labels.append(f"{shown(availability[-1], AVAILABILITY)} · {moves:,} moves begun, {done:,} done, "
                      f"{shown(per_move, '{:.3g}')} s down per move done, {mine['migrated_gib'].sum():,.0f} GiB")
    fig.add_trace(go.Bar(x=availability, y=names, orientation="h", text=labels, textposition="inside",
                         marker_color=[_color(n, instances) for n in names], showlegend=False,
                         customdata=[shown(a, AVAILABILITY) for a in availability],
                         hovertemplate="%{customdata} of the service time asked for<extra>%{y}</extra>"), row=2, col=1)
    fig.update_xaxes(type="log", title_text="seconds (log; 0 shown at 1 ms)", row=1, col=1)
    fig.update_yaxes(autorange="reversed", ticksuffix=TICK_GAP, row=1, col=1)
    fig.update_xaxes(title_text="availability", tickformat=".2%", row=2, col=1,
                     range=[min([a for a in availability if a == a] or [0.99]) * 0.999, 1.0])
    fig.update_yaxes(autorange="reversed", ticksuffix=TICK_GAP, row=2, col=1)
    fig.update_layout(template=TEMPLATE, height=460 + 40 * len(names), margin=dict(t=40, b=50, l=60, r=20))
    return fig


# --- figures of a sweep ----------------------------------------------------------------


def figure_sweep(points: pd.DataFrame, metric: str, params: Sequence[str] | str | None = None) -> go.Figure:
    """A metric across a sweep's grid, per platform, with its 95 % confidence interval.

    Parameters
    ----------
    points
        A sweep's table (``simdc.sweep``: one row per point, platform and replication)
        or its aggregate (``simdc.aggregate``: ``<metric>_mean`` and ``<metric>_ci95``).
    metric
        A summary column, e.g. ``"rejection_rate"`` or ``"start_p99_s"``.
    params
        One or two grid keys (dotted, e.g. ``"host.memory_gib"``); default: every
        dotted column. One key: the metric against it, a line per platform and a band
        of ±CI (error bars when the key is not numeric). Two keys: a heatmap of the mean
        per platform, the first key across, the second down.
    """
    table = sweep_summary(points, metric, params)
    params = sweep_params(points, params)
    if len(params) not in (1, 2):
        raise ValueError(f"figure_sweep draws one or two parameters (the table has {len(params)}: "
                         f"{', '.join(params) or 'none'}); pass params=[...] with one or two")
    label = _metric_label(metric)
    if len(params) == 1:
        return _sweep_lines(table, metric, params[0], label)
    return _sweep_heatmaps(table, metric, params[0], params[1], label)


def _sweep_lines(table: pd.DataFrame, metric: str, param: str, label: str) -> go.Figure:
    mean, ci = f"{metric}_mean", f"{metric}_ci95"
    numeric = pd.api.types.is_numeric_dtype(table[param])
    fig = go.Figure()
    for name in _platforms(table):
        mine = table[table["platform"] == name]
        mine = mine.sort_values(param) if numeric else mine
        x = mine[param].to_numpy() if numeric else mine[param].astype(str).to_numpy()
        y, half = mine[mean].to_numpy(float), mine[ci].to_numpy(float)
        color = _color(name, table)
        band = np.isfinite(half)
        if numeric and band.any():
            xs = x[band].astype(float)
            fig.add_trace(go.Scatter(x=np.concatenate([xs, xs[::-1]]),
                                     y=np.concatenate([(y + half)[band], (y - half)[band][::-1]]),
                                     mode="lines", fill="toself", fillcolor=_rgba(color, 0.2), line=dict(width=0),
                                     name=f"{name} 95% CI", legendgroup=str(name), showlegend=False,
                                     hoverinfo="skip"))
        fig.add_trace(go.Scatter(
            x=x, y=y, name=str(name), legendgroup=str(name), mode="lines+markers", line=dict(color=color, width=2),
            error_y=None if numeric else dict(type="data", array=np.nan_to_num(half), visible=True),
            customdata=np.column_stack([half, mine["n"].to_numpy(float)]),
            hovertemplate=f"{_esc(param)} = %{{x}}<br>{_esc(label)}: %{{y:.4g}} ± %{{customdata[0]:.2g}}"
                          f" (n = %{{customdata[1]}})<extra>{_esc(name)}</extra>"))
    fig.update_layout(template=TEMPLATE, hovermode="closest", legend_title_text="platform (band: 95% CI)",
                      height=380, margin=dict(t=30, b=50, l=70, r=20))
    fig.update_xaxes(title_text=param)
    fig.update_yaxes(title_text=label, tickformat=".0%" if metric in _PERCENT else None)
    drawn = np.concatenate([table[mean].to_numpy(float),
                            (table[mean] + table[ci]).to_numpy(float), (table[mean] - table[ci]).to_numpy(float)])
    single = _one_value_range(drawn)
    if single is not None:  # plotly would centre one value on ±1 (−100 % to 100 % for a share)
        fig.update_yaxes(range=single)
    return fig


def _one_value_range(values: np.ndarray) -> list[float] | None:
    """When every finite value is the same: a range from 0 to twice it (0 to 1 for 0);
    else None (plotly's own range)."""
    values = values[np.isfinite(values)]
    if not len(values) or values.min() != values.max():
        return None
    value = float(values[0])
    return [min(0.0, 2 * value), max(0.0, 2 * value)] if value else [0.0, 1.0]


def _sweep_heatmaps(table: pd.DataFrame, metric: str, across: str, down: str, label: str) -> go.Figure:
    mean, ci = f"{metric}_mean", f"{metric}_ci95"
    platforms = _platforms(table)
    xs = _grid_values(table[across])
    ys = _grid_values(table[down])
    fig = make_subplots(rows=1, cols=len(platforms), subplot_titles=[str(p) for p in platforms],
                        shared_yaxes=True, horizontal_spacing=0.06)
    percent = metric in _PERCENT
    for col, name in enumerate(platforms, start=1):
        mine = table[table["platform"] == name]
        z = mine.pivot_table(index=down, columns=across, values=mean, aggfunc="first", dropna=False)
        z = z.reindex(index=ys, columns=xs)
        half = mine.pivot_table(index=down, columns=across, values=ci, aggfunc="first", dropna=False)
        half = half.reindex(index=ys, columns=xs)
        fmt = "{:.1%}" if percent else "{:.3g}"
        text = [[_cell_text(z.iat[r, c], half.iat[r, c], fmt) for c in range(len(xs))] for r in range(len(ys))]
        fig.add_trace(go.Heatmap(
            z=z.to_numpy(float), x=[str(v) for v in xs], y=[str(v) for v in ys], coloraxis="coloraxis",
            text=text, texttemplate="%{text}", customdata=half.to_numpy(float), name=str(name),
            hovertemplate=f"{_esc(across)} = %{{x}}<br>{_esc(down)} = %{{y}}<br>{_esc(label)}: %{{z:.4g}}"
                          f" ± %{{customdata:.2g}}<extra>{_esc(name)}</extra>"), row=1, col=col)
        fig.update_xaxes(title_text=across, type="category", row=1, col=col)
    fig.update_yaxes(title_text=down, type="category", row=1, col=1)
    fig.update_layout(template=TEMPLATE, height=420, margin=dict(t=40, b=50, l=80, r=20),
                      coloraxis=dict(colorscale="Viridis", colorbar=dict(
                          title=dict(text=label), tickformat=".0%" if percent else None)))
    single = _one_value_range(table[mean].to_numpy(float))
    if single is not None:  # plotly would spread one value over ±0.5 around it
        fig.update_layout(coloraxis=dict(cmin=single[0], cmax=single[1]))
    return fig


# --- the HTML report -------------------------------------------------------------------


_CAPTIONS = {
    "cost": ("Cost and carbon",
             "What each platform's run cost and emitted for the same requests: the hosts (rent, or capital "
             "amortised over their years, paid on or off), their electricity (energy at the wall priced hour by "
             "hour), licences per instance-hour; carbon from the energy times the grid's intensity at the time, plus "
             "the hosts' embodied carbon spread over their lifetime."),
    "memory": ("Memory: allocated versus used",
               "Allocated is what admission counts as taken (a VM's whole size plus overhead, a container's "
               "booking); used is what is resident. The light area above the dark one is stranded: no other "
               "instance can have it. Dashed: the hosts' physical memory; grey band below it: memory reserved for the "
               "hosts' OS, never given to instances (a node VM's own memory counts as allocated and used). "
               "Containers may use more than they requested, up to their limit or the host, so their used can "
               "rise above allocated (triangles)."),
    "cpu": ("CPU: demand versus used",
            "What the instances wanted and what they got, in cores. Red shading is demand the host could not "
            "serve: above an instance's ceiling (a VM's vCPUs, a container's limit), or on a contended host "
            "(steal for VMs, throttling for containers). Dashed: the hosts' cores."),
    "density": ("Density: instances on the hosts",
                "Resident instances (placed and holding resources, starting or running) over time, all "
                "platforms on one axis."),
    "start_latency": ("Start latency",
                      "Top: share of started instances ready within x seconds of their request. Below: where "
                      "the time goes: each phase's share of the mean start latency (seconds on the segments wide "
                      "enough for them), the mean written beside the bar."),
    "outcomes": ("Outcomes",
                 "How each instance ended. The same requests arrive at every platform (a workflow task "
                 "whose parent did not complete is never submitted: blocked)."),
    "interference": ("Interference: what sharing cost",
                     "Top: CPU the instances wanted but did not get, in cores: above an instance's ceiling (a "
                     "VM's vCPUs, a container's limit), or on a contended host (steal for VMs, throttling for "
                     "containers). Below: per platform, the spread of batch instances' slowdown (time to finish "
                     "over the time at full speed) and of every instance's slowdown by its neighbours' memory "
                     "bandwidth and I/O; the box is the middle half, the whiskers the rest but outliers. "
                     "1 = never slowed."),
    "services": ("Services: demand versus served",
                 "The services' demand and what their ready replicas served, in cores, summed over services. "
                 "Red shows demand unserved: replicas still starting (booting, pulling, or before their "
                 "readiness probe passed) after a rise or during a release (dotted)."),
    "failures": ("Failures",
                 "Host and kernel failures and what they killed, per platform; OOM kills and the restarts "
                 "that followed. A host failure kills everything on it; a kernel failure kills every container "
                 "on its host but only its own VM. Below, when any was lost: the CPU work the victims had "
                 "done, and containers restarted off a drained or consolidated host (placed again, as victims "
                 "are)."),
    "moves": ("Moves: drains and consolidation",
              "Instances moved off drained or consolidated hosts (simdc.engine.migration). Above, per platform, "
              "each moved instance's time not running because of its moves (log scale): a VM's pre-copy "
              "downtime, a checkpointed container's dump, copy and restore, a restarted container's wait and "
              "start. Below: the share of the service time asked for that services ran (availability), and "
              "the moves' count and GiB sent."),
}


def write_report(source: Results | pd.DataFrame, path: str | Path, title: str | None = None,
                 overwrite: bool = False) -> Path:
    """Write one self-contained HTML report (plotly.js embedded, works offline).

    Parameters
    ----------
    source
        A run's :class:`~simdc.results.Results`: the headline table (platforms as
        columns) and :func:`figures`. Or a sweep's table (``simdc.sweep``) or aggregate
        (``simdc.aggregate``): the mean and 95 % CI per point and platform, and
        :func:`figure_sweep` for each headline metric it has (with one or two grid keys;
        with more, the page says why it has no figures).
    path
        The file to write, in a folder that exists. It is written beside its place under
        a temporary name and renamed there: a reader never sees half a report, and a
        failure leaves nothing behind.
    title
        The page's heading (default: a description of the run).
    overwrite
        Replace ``path`` if it is an existing regular file (as :meth:`Results.write` does);
        a device, FIFO or socket there is never replaced.

    Returns
    -------
    The path written.

    Raises
    ------
    OutputError
        ``path`` is a directory, a device, FIFO or socket, its folder does not exist (or is not a folder), it is
        an existing file (without ``overwrite``), one of a results directory's own tables
        or records (even with it), or it could not be written (no space, no
        permission): the message names the path.
    simdc.errors.ConfigError
        ``overwrite`` not True or False, or ``title`` not a string.
    ValueError
        ``source`` is a DataFrame that is not a sweep's table (a run's summary: pass the
        Results), or a sweep's table without any headline metric.
    """
    if not isinstance(source, pd.DataFrame) and not hasattr(source, "summary"):
        raise TypeError(f"write_report: expected simdc Results or a sweep's table (a DataFrame), "
                        f"got {type(source).__name__}")
    from simdc.errors import ConfigError, checked_bool

    overwrite = checked_bool(overwrite, "overwrite")
    if title is not None and not isinstance(title, str):
        raise ConfigError(f"title: expected a string, got {type(title).__name__}")
    path = Path(path)
    _check_report_path(path, overwrite)
    page = _sweep_page(source, title) if isinstance(source, pd.DataFrame) else _run_page(source, title)
    _check_report_path(path, overwrite)  # rendering takes a while: whatever appeared meanwhile
    from simdc.results import replace_file

    partial: Path | None = None
    try:
        # Written beside the target and renamed over it: a reader never sees half a report.
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".partial", delete=False) as handle:
            partial = Path(handle.name)
            handle.write(_encodable(page))
        os.chmod(partial, 0o666 & ~_umask())  # NamedTemporaryFile makes it 0600; a report is a plain file
        replace_file(partial, path, None)
        partial = None
    except OSError as err:
        from simdc.results import describe_os_error

        raise _report_error(path, f"cannot write the report: {describe_os_error(err)}") from None
    finally:
        if partial is not None:
            partial.unlink(missing_ok=True)
    return path


def write_into(results: Results, directory: Path, title: str | None = None) -> None:
    """``directory/report.html`` for a run's ``results``, into a results directory being
    written: a :class:`simdc.results.Destination`'s hidden partial directory, renamed into
    place once whole (so the page needs no temporary name of its own). An :class:`OSError`
    (a full disk) is raised as it is, for the destination to say: it names the results
    directory the user gave, not the hidden one (which it removes), and that nothing was
    written."""
    (directory / "report.html").write_text(_encodable(_run_page(results, title)), encoding="utf-8")


def _encodable(page: str) -> str:
    """``page`` as UTF-8 can hold it. A name that is not UTF-8 (a config or results folder
    named in Latin-1) reaches the page as Python's surrogates (PEP 383), which UTF-8
    cannot encode: shown as the bytes decode, each stray byte as U+FFFD, as a browser
    shows it (a run's report raised UnicodeEncodeError after its simulation)."""
    return page.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _check_report_path(path: Path, overwrite: bool) -> None:
    """Refuse a report's ``path`` that cannot or must not be written (see :func:`write_report`)."""
    parent = path.parent
    if path.is_dir():
        raise _report_error(path, "is a directory; give a file name, e.g. "
                                  f"{path / 'report.html'}")
    if not parent.exists():
        raise _report_error(path, f"cannot write the report: its folder {parent} does not exist; "
                                  "create it first or write elsewhere")
    if not parent.is_dir():
        raise _report_error(path, f"cannot write the report: its folder {parent} is a file, not a folder")
    from simdc.results import REPORT, check_not_own, check_replaceable

    check_replaceable(path, None)  # a FIFO or device: not even with overwrite (the CLI checked --out)
    check_not_own(path, "--out", allow=(REPORT,))  # a run's, a plan's or a sweep's table or record
    if os.path.lexists(path) and not overwrite:
        raise _report_error(path, "already exists; choose another file or pass overwrite=True",
                            cli="already exists; choose another file or pass --overwrite")


def _report_error(path: Path, problem: str, cli: str | None = None) -> OutputError:
    return OutputError(path, f"{path}: {problem}", cli=None if cli is None else f"--out {path}: {cli}")


def _umask() -> int:
    from simdc.results import umask

    return umask()


def _run_page(results: Results, title: str | None) -> str:
    sections = [f"<section><h2>Headline</h2>{_headline_table(results.summary)}</section>"]
    caveats = _caveats(results.manifest)
    if caveats:  # what the CLI prints after its table (warnings, then notes): the figures' caveats
        sections.append(f'<section class="caveats"><h2>Warnings and notes</h2>{caveats}</section>')
    for name, fig in figures(results).items():
        heading, caption = _CAPTIONS[name]
        sections.append(_figure_section(name, heading, caption, fig))
    config_toml = results.config.to_toml() if results.config is not None else ""
    sections.append("<section><h2>Run</h2>" + _manifest_list(results.manifest)
                    + f"<details><summary>config.toml (as resolved)</summary><pre>{html.escape(config_toml)}</pre>"
                      "</details></section>")
    description = _describe(results)
    return _page(title or description, description if title and title != description else "", sections)


def _sweep_page(points: pd.DataFrame, title: str | None) -> str:
    grid = [c for c in points.columns if "." in str(c)]
    if "point" not in points.columns and not grid and not is_aggregate(points):
        raise ValueError("write_report: the table given is not a sweep's (simdc.sweep's table and "
                         "simdc.aggregate's have a 'point' column and the grid keys, e.g. host.memory_gib); "
                         "for a run, pass its Results, not results.summary")
    params = sweep_params(points)
    suffix = "_mean" if is_aggregate(points) else ""
    metrics = [m for m in (*SWEEP_METRICS, *SWEEP_OPTIONAL_METRICS) if f"{m}{suffix}" in points.columns]
    if not metrics:
        raise ValueError("the sweep table has none of the headline metrics: " + ", ".join(SWEEP_METRICS))
    sections = []
    if len(params) in (1, 2):
        for metric in metrics:
            sections.append(_figure_section(f"sweep-{metric}", _metric_label(metric),
                                            "Mean over replications; band or ± is the 95% confidence interval.",
                                            figure_sweep(points, metric, params)))
    else:
        sections.append(f'<section class="no-figures"><h2>No figures</h2><p class="caption">'
                        f"{html.escape(_why_no_sweep_figures(params))}</p></section>")
    sections.append("<section><h2>Every point: mean ± 95% confidence interval</h2>"
                    f'<div class="wide">{_sweep_table(points, metrics, params)}</div></section>')
    subtitle = f"sweep over {', '.join(params) or 'no parameter'}"
    return _page(title or "simdc sweep", subtitle, sections)


def _why_no_sweep_figures(params: list[str]) -> str:
    """Why a sweep's page has only its table: a figure draws one or two grid keys."""
    if not params:
        return ("No figures: the table has no grid key (no dotted column such as host.memory_gib) to draw "
                "the metrics against; the table below holds every point.")
    return (f"No figures: this sweep varies {len(params)} grid keys ({', '.join(params)}) and a figure draws "
            f"one (lines) or two (heatmaps). Keep one value of {', '.join(params[2:])} to draw the others: in "
            f"Python, sub = points[points[{params[2]!r}] == value]{' & ...' if len(params) > 3 else ''}, then "
            f"report.figure_sweep(sub, metric, params={params[:2]!r}) or report.write_report(sub, path).")


def _figure_section(name: str, heading: str, caption: str, fig: go.Figure) -> str:
    div = fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{name}",
                      config={"displaylogo": False, "responsive": True})
    return (f'<section class="figure" data-figure="{html.escape(name)}"><h2>{html.escape(heading)}</h2>'
            f'<p class="caption">{html.escape(caption)}</p>{div}</section>')


def _headline_table(summary: pd.DataFrame) -> str:
    platforms = [str(p) for p in summary["platform"]]
    head = "".join(f"<th>{html.escape(p)}</th>" for p in platforms)
    rows = []
    for column, label, fmt in HEADLINE:
        if column not in summary.columns:
            continue
        cells = "".join(f"<td>{html.escape(_fmt(v, fmt))}</td>" for v in summary[column])
        rows.append(f"<tr><th scope=\"row\">{html.escape(label)}</th>{cells}</tr>")
    return (f'<table class="headline"><thead><tr><th>metric</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _sweep_table(points: pd.DataFrame, metrics: list[str], params: list[str]) -> str:
    tables = [sweep_summary(points, m, params).rename(columns={"n": f"{m}_n"}) for m in metrics]
    merged = tables[0]
    for extra in tables[1:]:
        merged = merged.merge(extra, on=[*params, "platform"], how="outer", sort=False)
    merged["n"] = merged[[f"{m}_n" for m in metrics]].max(axis=1)  # the replications (a metric may lack some)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in [*params, "platform", "n"]) + \
        "".join(f"<th>{html.escape(_metric_label(m))}</th>" for m in metrics)
    rows = []
    for _, row in merged.iterrows():
        cells = [html.escape(str(row[c])) for c in [*params, "platform"]]
        cells.append(_fmt(row["n"], "{:.0f}"))
        fmt = {c: f for c, _, f in HEADLINE}
        for m in metrics:
            f = fmt.get(m, "{:.4g}")
            count, runs = row[f"{m}_n"], row["n"]  # over the replications with a value
            of = "" if count == runs or count != count else f" ({count:.0f} of {runs:.0f})"
            cells.append(html.escape(_cell_text(row[f"{m}_mean"], row[f"{m}_ci95"], f) + of))
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f'<table class="sweep"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _caveats(manifest: dict[str, Any]) -> str:
    """The run's warnings (``manifest["warnings"]``: requests no host could hold, usage
    capped, series aligned, ...) and notes (``manifest["notes"]``: not in steady state), as
    a list: "" when it has none."""
    lines = [f"<li><b>warning</b>: {html.escape(str(w))}</li>" for w in manifest.get("warnings") or []]
    lines += [f"<li><b>note</b>: {html.escape(str(n))}</li>" for n in manifest.get("notes") or []]
    return f'<ul class="caveats">{"".join(lines)}</ul>' if lines else ""


def _manifest_list(manifest: dict[str, Any]) -> str:
    keep = ("seed", "config_hash", "workload", "workload_notes", "skipped_rows", "platforms", "created_utc",
            "series_t0_utc", "wall_time_s")
    items = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(str(manifest[k]))}</li>" for k in keep
                    if manifest.get(k) not in (None, [], {}, ""))
    versions = manifest.get("versions")
    if isinstance(versions, dict):
        items += "<li><b>versions</b>: " + html.escape(", ".join(f"{k} {v}" for k, v in versions.items())) + "</li>"
    return f"<ul class=\"manifest\">{items}</ul>"


def _describe(results: Results) -> str:
    parts = [" vs ".join(str(p) for p in results.summary["platform"])]
    hosts = results.hosts
    if len(hosts):
        first = hosts[hosts["platform"] == hosts["platform"].iloc[0]]
        shapes = first.groupby(["cpu_cores", "memory_gib"], sort=False).size()
        if len(shapes) == 1:
            (cores, memory), = shapes.index
            described = f"{cores:g} cores, {memory:g} GiB"
        else:
            described = " + ".join(f"{count} × {cores:g} cores/{memory:g} GiB"
                                   for (cores, memory), count in shapes.items())
        parts.append(f"{len(first)} host{'s' if len(first) != 1 else ''} ({described})")
        duration = float(first["duration_s"].iloc[0])
        parts.append(f"{duration / 3600:g} h" if duration < 4 * 86400 else f"{duration / 86400:g} days")
    if "seed" in results.manifest:
        parts.append(f"seed {results.manifest['seed']}")
    return ", ".join(parts)


def _page(title: str, subtitle: str, sections: list[str]) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="simdc">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 1em 2em; color: #222; }}
h1 {{ font-size: 1.6em; margin-bottom: 0.1em; }}
.subtitle {{ color: #555; margin-top: 0; }}
h2 {{ font-size: 1.2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.8em; }}
.caption {{ color: #444; max-width: 70em; }}
table {{ border-collapse: collapse; font-variant-numeric: tabular-nums; }}
th, td {{ padding: 0.25em 0.8em; border-bottom: 1px solid #eee; }}
td {{ text-align: right; }}
th {{ text-align: left; font-weight: 600; }}
thead th {{ border-bottom: 2px solid #999; }}
table.headline thead th:not(:first-child) {{ text-align: right; }}
tbody th {{ font-weight: normal; }}
pre {{ background: #f6f6f6; padding: 0.8em; overflow-x: auto; }}
.wide {{ overflow-x: auto; }}
table.sweep td, table.sweep th {{ white-space: nowrap; }}
</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p class="subtitle">{html.escape(subtitle)}</p>
{"".join(sections)}
<footer><p class="caption">Made by simdc. Times are seconds unless an axis says otherwise; memory in GiB
(2<sup>30</sup> bytes); CPU in cores.</p></footer>
</body>
</html>
"""


# --- helpers ---------------------------------------------------------------------------


def _table(source: Any, name: str) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source
    try:
        return getattr(source, name)
    except AttributeError:
        raise TypeError(f"expected simdc Results or the {name} DataFrame, got {type(source).__name__}") from None


def _checked(source: Any, name: str, figure: str, columns: Sequence[str] = (), any_of: Sequence[str] = (),
             what: str = "") -> pd.DataFrame:
    """``source``'s table ``name`` (or ``source`` itself, a DataFrame), holding every one of
    ``columns`` and at least one of ``any_of``; else a ValueError naming ``figure``, what
    is missing (``what``: why a run may lack it) and what to pass."""
    table = _table(source, name)
    if table is None:
        raise ValueError(f"{figure}: the run has no {name} table{what}; pass Results of a run that has one, "
                         f"or the table itself (results.{name})")
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{figure}: expected simdc Results or the {name} DataFrame, got {type(table).__name__}")
    where = "the table given" if isinstance(source, pd.DataFrame) else f"the run's {name} table"
    missing = [c for c in columns if c not in table.columns]
    lacks = [f"no {', '.join(missing)} column{'s' if len(missing) > 1 else ''}"] if missing else []
    if any_of and not any(c in table.columns for c in any_of):
        lacks.append(f"none of the columns {', '.join(any_of)}")
    if lacks:
        raise ValueError(f"{figure}: {where} has {' and '.join(lacks)}{what}; "
                         f"pass Results or its {name} table (results.{name})")
    return table


def _capacity(source: Any, hosts: pd.DataFrame | None, column: str) -> dict[str, float]:
    """Each platform's total capacity (sum over its hosts), when a hosts table is at hand."""
    if hosts is None and not isinstance(source, pd.DataFrame):
        hosts = getattr(source, "hosts", None)
    if hosts is None or column not in hosts.columns:
        return {}
    return {str(k): float(v) for k, v in hosts.groupby("platform", sort=False, observed=True)[column].sum().items()}


def _reserved_memory(source: Any) -> dict[str, float]:
    """Each platform's memory the hosts keep for themselves, GiB summed over the fleet
    (``reserved_memory_gib`` of the results' config). Node VMs' overhead and guest
    reservation (containers in VMs) are not in it: the engine counts them as allocated
    and used. Empty without a config."""
    config = getattr(source, "config", None)
    if config is None or isinstance(source, pd.DataFrame):
        return {}
    held = float(sum(host.reserved_memory_gib for host in config.fleet))
    return {str(name): held for name in config.simulation.platforms}


def _reserved_band(fig: go.Figure, capacity: dict[str, float], reserved: dict[str, float], name: Any,
                   x: np.ndarray, first: bool, col: int) -> None:
    """The band from allocatable memory up to the hosts' physical memory."""
    held = reserved.get(str(name), 0.0)
    if str(name) not in capacity or held <= 0 or len(x) == 0:
        return
    top = capacity[str(name)]
    fig.add_trace(go.Scatter(x=[x.min(), x.max(), x.max(), x.min(), x.min()],
                             y=[top - held, top - held, top, top, top - held], name="reserved for the hosts",
                             legendgroup="reserved", showlegend=first, mode="lines", fill="toself",
                             fillcolor="rgba(120,120,120,0.22)", line=dict(color="#777", width=1, dash="dot"),
                             hoveron="fills+points",
                             hovertemplate=f"{held:.4g} GiB reserved for the hosts' OS: "
                                           "never given to instances<extra></extra>"), row=1, col=col)


def _capacity_line(fig: go.Figure, capacity: dict[str, float], name: Any, x: np.ndarray, label: str, unit: str,
                   first: bool, col: int) -> None:
    if str(name) not in capacity or len(x) == 0:
        return
    value = capacity[str(name)]
    fig.add_trace(go.Scatter(x=[x.min(), x.max()], y=[value, value], name=label, legendgroup="capacity",
                             showlegend=first, mode="lines", line=dict(color="#555", width=1.5, dash="dash"),
                             hovertemplate=f"{label}: %{{y:.4g}} {unit}<extra></extra>"), row=1, col=col)


def _panels(fleet: pd.DataFrame, y_title: str) -> go.Figure:
    platforms = _platforms(fleet)
    fig = make_subplots(rows=1, cols=max(len(platforms), 1), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[str(p) for p in platforms] or None)
    unit, _ = _time_scale(fleet["t_s"])
    fig.update_xaxes(title_text=f"time ({unit})")
    fig.update_yaxes(title_text=y_title, rangemode="tozero", row=1, col=1)
    fig.update_layout(template=TEMPLATE, hovermode="x unified", height=380,
                      legend=dict(orientation="h", y=-0.2), margin=dict(t=40, b=50, l=60, r=20))
    return fig


def _legend_beside(domain: Sequence[float], title: str) -> dict[str, Any]:
    """A legend right of the subplot whose y ``domain`` (paper fraction) is given, its top
    level with the subplot's top."""
    return dict(title=dict(text=title), x=1.02, xanchor="left", y=domain[1], yanchor="top", yref="paper",
                tracegroupgap=4)


def _time_scale(t_s: pd.Series) -> tuple[str, float]:
    """Hours, or days for runs longer than four days."""
    longest = float(t_s.max()) if len(t_s) else 0.0
    return ("d", 86400.0) if longest > 4 * 86400 else ("h", 3600.0)


def _platforms(table: pd.DataFrame) -> list[Any]:
    """Platforms in the order they first appear (the run's order)."""
    return list(pd.unique(table["platform"])) if "platform" in table.columns else []


def _color(name: Any, table: pd.DataFrame) -> str:
    if str(name) in KNOWN_COLORS:
        return KNOWN_COLORS[str(name)]
    others = [p for p in _platforms(table) if str(p) not in KNOWN_COLORS]
    free = [c for c in PALETTE if c not in KNOWN_COLORS.values()]
    return free[others.index(name) % len(free)] if name in others else PALETTE[-1]


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _grid_values(values: pd.Series) -> list[Any]:
    unique = list(pd.unique(values))
    try:
        return sorted(unique)
    except TypeError:
        return unique


def _metric_label(metric: str) -> str:
    return _LABELS.get(metric, metric.replace("_", " "))


def _cell_text(mean: float, half: float, fmt: str) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    text = _fmt(mean, fmt)
    if half is not None and not (isinstance(half, float) and math.isnan(half)):
        text += " ± " + _fmt(half, fmt)
    return text


def _fmt(value: Any, fmt: str) -> str:
    return shown(value, fmt)


def _esc(text: Any) -> str:
    """Text for a plotly hovertemplate: HTML-escaped, braces not taken for ``%{field}``."""
    return html.escape(str(text)).replace("{", "&#123;").replace("}", "&#125;")
