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

from simdc.metrics import HEADLINE

if TYPE_CHECKING:
    from simdc.results import Results

TEMPLATE = "plotly_white"
# One colour per platform, the same in every figure: the first two are the comparison.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
KNOWN_COLORS = {"vm": PALETTE[0], "container": PALETTE[1]}
OUTCOME_ORDER = ("completed", "running_at_end", "queued_at_end", "rejected", "oom_killed", "evicted")
OUTCOME_COLORS = {"completed": "#2ca02c", "running_at_end": "#98df8a", "queued_at_end": "#c7c7c7",
                  "rejected": "#d62728", "oom_killed": "#8c1c13", "evicted": "#ff9896"}
# Phases of a start, in the order they happen; whichever the instances table has are shown.
START_PHASES = (("queue_s", "queue"), ("pull_s", "image pull"), ("unpack_s", "unpack / provision"),
                ("boot_s", "boot / start"))
FLEET_COLUMNS = ("resident", "running", "cpu_demand", "cpu_used", "mem_used_gib", "mem_alloc_gib", "swapped_gib")
# The metrics a sweep report plots, when its table has them.
SWEEP_METRICS = ("rejection_rate", "mean_instances", "peak_instances", "start_p99_s", "cpu_util_mean",
                 "cpu_unmet_share", "mem_used_util_mean", "mem_alloc_util_mean", "stranded_mem_gib_mean",
                 "oom_kills")
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
    """Instances that started, with ``start_s = ready_s − submit_s`` (seconds)."""
    started = instances[instances["ready_s"].notna()]
    return started.assign(start_s=started["ready_s"] - started["submit_s"])


def start_phases(instances: pd.DataFrame) -> pd.DataFrame:
    """Mean seconds per start phase, one row per platform (instances that started).

    Columns: ``platform``, ``start_s`` (mean start latency), then one column per phase the
    table has, of ``queue_s``, ``pull_s``, ``unpack_s``, ``boot_s``, and ``other_s``:
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
        if "n" not in table.columns:
            table["n"] = np.nan
        return table[[*params, "platform", "n", mean, ci]].reset_index(drop=True)
    if metric not in points.columns:
        skip = {"point", "replication", "seed", "platform", *params}
        known = sorted(c for c in points.columns if c not in skip and "." not in str(c)
                       and pd.api.types.is_numeric_dtype(points[c]))
        raise ValueError(f"unknown metric {metric!r}; choose one of: {', '.join(known)}")
    from scipy import stats

    grouped = points.groupby([*params, "platform"], sort=False, observed=True)[metric]
    table = grouped.agg(n="count", mean="mean", sd="std").reset_index()
    t = np.where(table["n"] > 1, stats.t.ppf(0.975, np.maximum(table["n"] - 1, 1)), np.nan)
    table[ci] = t * table["sd"] / np.sqrt(table["n"])
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


def figure_memory(source: Results | pd.DataFrame, hosts: pd.DataFrame | None = None) -> go.Figure:
    """Memory allocated versus used over time, one panel per platform (GiB, fleet sum).

    Allocated is what admission counted as taken (a VM's size plus overhead; a
    container's request or usage percentile); used is resident host memory. The gap is
    stranded memory. The dashed line is the hosts' physical memory (from ``hosts``, or
    the results' hosts table).
    """
    fleet = fleet_timeseries(_table(source, "timeseries"))
    capacity = _capacity(source, hosts, "memory_gib")
    fig = _panels(fleet, "memory (GiB)")
    scale = _time_scale(fleet["t_s"])
    for col, name in enumerate(_platforms(fleet), start=1):
        mine = fleet[fleet["platform"] == name]
        x = mine["t_s"].to_numpy(float) / scale[1]
        first = col == 1
        fig.add_trace(go.Scatter(x=x, y=mine["mem_alloc_gib"].to_numpy(float), name="allocated",
                                 legendgroup="allocated", showlegend=first, mode="lines", fill="tozeroy",
                                 line=dict(color="#9ecae1", width=1.5), fillcolor="rgba(158,202,225,0.45)",
                                 hovertemplate="%{y:.1f} GiB allocated<extra>" + _esc(name) + "</extra>"),
                      row=1, col=col)
        fig.add_trace(go.Scatter(x=x, y=mine["mem_used_gib"].to_numpy(float), name="used",
                                 legendgroup="used", showlegend=first, mode="lines", fill="tozeroy",
                                 line=dict(color="#08519c", width=1.5), fillcolor="rgba(8,81,156,0.55)",
                                 hovertemplate="%{y:.1f} GiB used<extra>" + _esc(name) + "</extra>"),
                      row=1, col=col)
        _capacity_line(fig, capacity, name, x, "host memory", "GiB", first, col)
    return fig


def figure_cpu(source: Results | pd.DataFrame, hosts: pd.DataFrame | None = None) -> go.Figure:
    """CPU demand versus CPU used over time, one panel per platform (cores, fleet sum).

    Demand is what the instances wanted; used is what they got. Where demand rises above
    used (red) the host could not serve it: steal for VMs, throttling for
    containers. The dashed line is the hosts' cores.
    """
    fleet = fleet_timeseries(_table(source, "timeseries"))
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
    fleet = fleet_timeseries(_table(source, "timeseries"))
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
    """Start latency per platform: its CDF (left) and where the time goes (right).

    Start latency is ``ready_s − submit_s`` in seconds, over instances that started. The
    CDF's x axis is logarithmic when the latencies span more than a factor of ten. On the
    right, one bar per platform split into the phases the instances table has (queue,
    image pull, unpack/provision, boot), each segment its mean's share of the mean start
    latency (``x``; seconds in ``customdata``), the mean itself written beside the bar.
    """
    instances = _table(source, "instances")
    started = start_latencies(instances)
    phases = start_phases(instances)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.6, 0.4], horizontal_spacing=0.12,
                        subplot_titles=("CDF of start latency", "where the time goes (mean)"))
    for name in _platforms(instances):
        latency = np.sort(started.loc[started["platform"] == name, "start_s"].to_numpy(float))
        if len(latency) == 0:
            continue
        fig.add_trace(go.Scatter(x=latency, y=np.arange(1, len(latency) + 1) / len(latency), name=str(name),
                                 legendgroup=str(name), mode="lines", line=dict(color=_color(name, instances),
                                                                               width=2, shape="hv"),
                                 hovertemplate="%{y:.0%} started within %{x:.3g} s<extra>" + _esc(name) + "</extra>"),
                      row=1, col=1)
    labels = dict(START_PHASES, other_s="other")
    shades = dict(zip([c for c, _ in START_PHASES] + ["other_s"],
                      ("#bdbdbd", "#9e9ac8", "#74c476", "#525252", "#e7e7e7")))
    names = [str(p) for p in phases["platform"]]
    total = phases["start_s"].to_numpy(float)
    # Shares, not seconds: a container's half second would not show beside a VM's boot.
    # The seconds are on the segments, the mean start latency beside each bar.
    for column in [c for c in phases.columns if c.endswith("_s") and c != "start_s"]:
        if column == "other_s" and not (phases[column] > 0).any():
            continue
        seconds = phases[column].to_numpy(float)
        share = np.divide(seconds, total, out=np.zeros_like(seconds), where=total > 0)
        fig.add_trace(go.Bar(x=share, y=names, orientation="h", name=labels[column], customdata=seconds,
                             legendgroup="phase " + column, marker_color=shades[column],
                             text=[f"{v:.3g} s" if f >= 0.12 else "" for v, f in zip(seconds, share)], textangle=0,
                             textposition="inside", insidetextanchor="middle",
                             hovertemplate="%{customdata:.3g} s mean " + labels[column]
                                           + " (%{x:.0%})<extra>%{y}</extra>"),
                      row=1, col=2)
    for name, mean in zip(names, total):
        if np.isfinite(mean):
            fig.add_annotation(x=1.0, y=name, xref="x2", yref="y2", xanchor="left", showarrow=False,
                               text=f" {mean:.3g} s")
    positive = started["start_s"][started["start_s"] > 0]
    log = len(positive) == len(started) and len(positive) > 0 and positive.max() / positive.min() > 10
    fig.update_xaxes(title_text="start latency (s)", type="log" if log else "linear", dtick=1 if log else None,
                     row=1, col=1)
    fig.update_yaxes(title_text="share of started instances", tickformat=".0%", range=[0, 1.02], row=1, col=1)
    fig.update_xaxes(title_text="share of the mean start latency", tickformat=".0%", range=[0, 1.18],
                     row=1, col=2)
    fig.update_yaxes(autorange="reversed", row=1, col=2)
    fig.update_layout(template=TEMPLATE, barmode="stack", height=380, margin=dict(t=40, b=50, l=60, r=20))
    return fig


def figure_outcomes(source: Results | pd.DataFrame) -> go.Figure:
    """How each submitted instance ended, per platform: stacked counts (completed,
    still running, queued, rejected, OOM-killed, evicted); outcomes no platform had are
    left out. When the OOM killer struck, each bar is labelled with its platform's kills
    and restarts (a restarted container still ends completed or running)."""
    instances = _table(source, "instances")
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
    fig.update_yaxes(autorange="reversed")
    return fig


def figures(results: Results) -> dict[str, go.Figure]:
    """Every figure of a run's report, by name, in the report's order."""
    return {
        "memory": figure_memory(results),
        "cpu": figure_cpu(results),
        "density": figure_density(results),
        "start_latency": figure_start_latency(results),
        "outcomes": figure_outcomes(results),
    }


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
    return fig


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
    return fig


# --- the HTML report -------------------------------------------------------------------


_CAPTIONS = {
    "memory": ("Memory: allocated versus used",
               "Allocated is what admission counts as taken (a VM's whole size plus overhead, a container's "
               "booking); used is what is resident. The light area above the dark one is stranded: no other "
               "instance can have it. Dashed: the hosts' physical memory."),
    "cpu": ("CPU: demand versus used",
            "What the instances wanted and what they got, in cores. Red shading is demand the host could not "
            "serve at that moment (steal for VMs, throttling for containers). Dashed: the hosts' cores."),
    "density": ("Density: instances on the hosts",
                "Resident instances (placed and holding resources, starting or running) over time, all "
                "platforms on one axis."),
    "start_latency": ("Start latency",
                      "Left: share of started instances ready within x seconds of their request. Right: where "
                      "the time goes: each phase's share of the mean start latency (seconds on the segments), "
                      "the mean written beside the bar."),
    "outcomes": ("Outcomes",
                 "How each submitted instance ended. The same requests arrive at every platform."),
}


def write_report(source: Results | pd.DataFrame, path: str | Path, title: str | None = None) -> Path:
    """Write one self-contained HTML report (plotly.js embedded, works offline).

    Parameters
    ----------
    source
        A run's :class:`~simdc.results.Results`: the headline table (platforms as
        columns) and :func:`figures`. Or a sweep's table (``simdc.sweep``) or aggregate
        (``simdc.aggregate``): the mean and 95 % CI per point and platform, and
        :func:`figure_sweep` for each headline metric it has.
    path
        The file to write; an existing one is replaced in one step (written beside it
        under a temporary name, then renamed).
    title
        The page's heading (default: a description of the run).

    Returns
    -------
    The path written.
    """
    path = Path(path)
    page = _sweep_page(source, title) if isinstance(source, pd.DataFrame) else _run_page(source, title)
    # Written beside the target and renamed over it: a reader never sees half a report.
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.",
                                     suffix=".partial", delete=False) as handle:
        partial = Path(handle.name)
        try:
            handle.write(page)
        except BaseException:
            handle.close()
            partial.unlink(missing_ok=True)
            raise
    os.chmod(partial, 0o666 & ~_umask())  # NamedTemporaryFile makes it 0600; a report is a plain file
    os.replace(partial, path)
    return path


def _umask() -> int:
    from simdc.results import umask

    return umask()


def _run_page(results: Results, title: str | None) -> str:
    sections = [f"<section><h2>Headline</h2>{_headline_table(results.summary)}</section>"]
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
    params = sweep_params(points)
    suffix = "_mean" if is_aggregate(points) else ""
    metrics = [m for m in SWEEP_METRICS if f"{m}{suffix}" in points.columns]
    if not metrics:
        raise ValueError("the sweep table has none of the headline metrics: " + ", ".join(SWEEP_METRICS))
    sections = []
    if len(params) in (1, 2):
        for metric in metrics:
            sections.append(_figure_section(f"sweep-{metric}", _metric_label(metric),
                                            "Mean over replications; band or ± is the 95% confidence interval.",
                                            figure_sweep(points, metric, params)))
    sections.append("<section><h2>Every point: mean ± 95% confidence interval</h2>"
                    f'<div class="wide">{_sweep_table(points, metrics, params)}</div></section>')
    subtitle = f"sweep over {', '.join(params) or 'no parameter'}"
    return _page(title or "simdc sweep", subtitle, sections)


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
    tables = [sweep_summary(points, m, params) for m in metrics]
    merged = tables[0]
    for extra in tables[1:]:
        merged = merged.merge(extra.drop(columns="n"), on=[*params, "platform"], how="outer", sort=False)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in [*params, "platform", "n"]) + \
        "".join(f"<th>{html.escape(_metric_label(m))}</th>" for m in metrics)
    rows = []
    for _, row in merged.iterrows():
        cells = [html.escape(str(row[c])) for c in [*params, "platform"]]
        cells.append(_fmt(row["n"], "{:.0f}"))
        fmt = {c: f for c, _, f in HEADLINE}
        for m in metrics:
            f = fmt.get(m, "{:.4g}")
            cells.append(html.escape(_cell_text(row[f"{m}_mean"], row[f"{m}_ci95"], f)))
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f'<table class="sweep"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _manifest_list(manifest: dict[str, Any]) -> str:
    keep = ("seed", "config_hash", "workload", "workload_notes", "skipped_rows", "platforms", "created_utc",
            "wall_time_s")
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


def _capacity(source: Any, hosts: pd.DataFrame | None, column: str) -> dict[str, float]:
    """Each platform's total capacity (sum over its hosts), when a hosts table is at hand."""
    if hosts is None and not isinstance(source, pd.DataFrame):
        hosts = getattr(source, "hosts", None)
    if hosts is None or column not in hosts.columns:
        return {}
    return {str(k): float(v) for k, v in hosts.groupby("platform", sort=False, observed=True)[column].sum().items()}


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
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    try:
        return fmt.format(value)
    except (TypeError, ValueError):
        return str(value)


def _esc(text: Any) -> str:
    """Text for a plotly hovertemplate: HTML-escaped, braces not taken for ``%{field}``."""
    return html.escape(str(text)).replace("{", "&#123;").replace("}", "&#125;")
