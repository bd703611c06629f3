"""Capacity planning: the fewest hosts per platform that meet every SLO.

An SLO is ``metric<=value`` (or ``<``, ``>=``, ``>``) on a summary metric. A host count
meets the SLOs only when every replication meets every one of them (not their mean: one
seed's queueing tail of 246 s against two of 0.67 s averages to 82 s, under 120), the
conservative rule a planner can rely on. The host count is searched per platform:
doubling from one host until the SLOs are met, then bisection between the last count
that failed and the first that met. This assumes more hosts never hurt, which holds
for the metrics planners use (rejections, start latency, kills).

What is scaled: the single ``[host]`` (n copies of it), the one group of a cluster, the
group named ``group``, or, for several groups, all of them (n × each group's count).
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from simdc.budget import TooBigError
from simdc.config import Config, validate
from simdc.errors import ConfigError, checked_bool, checked_callback, checked_int, clip, reworded
from simdc.metrics import COST_COLUMNS, MOVE_COLUMNS, SERVICE_COLUMNS, SUMMARY_COLUMNS, WORKFLOW_COLUMNS
from simdc.model.limits import MAX_REPLICATIONS, REPLICATIONS_NOTE
from simdc.results import PLAN_TABLES

OPERATORS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}


@dataclass(frozen=True)
class Slo:
    metric: str
    op: str
    value: float

    def met(self, observed: float) -> bool:
        """Whether ``observed`` (one run's value) meets the objective. NaN meets it only
        where the metric is NaN because what it is taken over never happened in the run
        (:data:`simdc.metrics.NAN_HOLDS`: no failure victim to wait, no failure to harm
        anyone): nothing broke it. Any other NaN (nothing started, :data:`simdc.metrics.
        NAN_UNMEASURED`) and ``inf`` (a latency not known to be finite) do not."""
        from simdc.metrics import NAN_HOLDS

        if observed != observed:
            return self.metric in NAN_HOLDS
        return bool(np.isfinite(observed) and OPERATORS[self.op](observed, self.value))

    @property
    def upper(self) -> bool:
        """Whether the objective is an upper limit (``<=``, ``<``)."""
        return self.op in ("<=", "<")

    def margin(self, observed: float) -> float:
        """How far inside the objective ``observed`` is, in the metric's units: the
        objective − observed for an upper limit, observed − the objective for a lower one
        (negative: outside; 0 with ``<`` or ``>``: just outside)."""
        return self.value - observed if self.upper else observed - self.value

    def worst(self, values) -> float:
        """The value of ``values`` (one per replication) furthest from meeting the
        objective: the largest for an upper limit, the smallest for a lower one; NaN when
        one is a NaN that does not meet it (not measured, :meth:`met`), or when all are
        NaNs that do (nothing happened to measure in any replication). A NaN that meets
        the objective is passed over: nothing in that replication broke it."""
        values = np.asarray(values, float)
        missing = np.isnan(values)
        if not len(values) or missing.all() or (missing.any() and not self.met(float("nan"))):
            return float("nan")
        values = values[~missing]
        return float(values.max() if self.upper else values.min())

    @property
    def in_percent(self) -> bool:
        """Whether this objective's values are shown in percent (:meth:`shown`): a share
        held from below, its summary format a percent (``service_availability>=0.9999``)."""
        from simdc.metrics import AVAILABILITY, HEADLINE

        fmt = next((f for column, _, f in HEADLINE if column == self.metric), "")
        return not self.upper and (fmt == AVAILABILITY or fmt.endswith("%}"))

    def shown(self, observed: float) -> str:
        """``observed`` with the digits that matter to this objective: in percent
        (:attr:`in_percent`) with the decimals that show its first digit short of 100 %
        (:data:`simdc.metrics.AVAILABILITY`: 99.9968 %, where 4 significant digits show
        "1"); anything else to 4 significant digits. "–" for NaN."""
        from simdc.metrics import AVAILABILITY, shown

        return shown(observed, AVAILABILITY if self.in_percent else "{:.4g}")

    def shown_or_why(self, observed: float) -> str:
        """:meth:`shown`, and for NaN what it says of the run beside the "–"
        (:func:`simdc.metrics.without_value`): "– (no failure victim: holds)", "– (nothing
        started: not met)"."""
        from simdc.metrics import without_value

        return f"– ({without_value(self.metric)})" if observed != observed else self.shown(observed)

    def __str__(self) -> str:
        """The SLO as ``metric<=value``, the value in full ("0.0100001", not ":g"'s "0.01"):
        it names the SLO's columns in a plan (:func:`slo_name`), one per objective."""
        value = repr(float(self.value))
        return f"{self.metric}{self.op}{value.removesuffix('.0')}"


def slo_name(slo: Slo, slos: list[Slo]) -> str:
    """What names ``slo``'s own columns among ``slos`` (``<name>_worst``, ``<name>_margin``
    in a plan; the keys of its values in the progress rows): its metric while no other
    objective of ``slos`` is on that metric (``rejection_rate_worst``, the names plans
    have always had), else the SLO as written (``cpu_util_mean>=0.02_worst`` beside
    ``cpu_util_mean<=0.5_worst``): the worst replication and the margin are each
    objective's own (the largest value for ``<=``, the smallest for ``>=``)."""
    others = {other for other in slos if other.metric == slo.metric and other != slo}
    return str(slo) if others else slo.metric


# The summary's optional columns, each group with what makes a run produce it.
OPTIONAL_GROUPS = (
    ("with [[services]]", SERVICE_COLUMNS),
    ("with a workload with dependencies", WORKFLOW_COLUMNS),
    ("with [cost]", COST_COLUMNS),
    ("with drains or consolidation", MOVE_COLUMNS),
)
METRICS = tuple(c for c in SUMMARY_COLUMNS if c != "platform")


def check_metric(metric: str, flag: str) -> None:
    """Raise one :class:`ConfigError` line, starting ``flag``, unless ``metric`` is a
    summary column (always or optional)."""
    if metric in METRICS or any(metric in columns for _, columns in OPTIONAL_GROUPS):
        return
    known = [*METRICS, *(c for _, columns in OPTIONAL_GROUPS for c in columns)]
    close = difflib.get_close_matches(metric, known, n=3, cutoff=0.6)
    hint = (f"did you mean {' or '.join(map(repr, close))}?" if close
            else "choose a column of summary.csv, e.g. rejection_rate, start_p99_s, cpu_util_mean")
    optional = "; ".join(f"{when}: {columns[0]}, ..." for when, columns in OPTIONAL_GROUPS)
    raise ConfigError(f"{flag}: unknown metric {metric!r}; {hint} (the README's Results lists them; optional "
                      f"ones {optional})")


def missing_metric(metric: str, config: Config) -> str | None:
    """Why a run of ``config`` will not have the summary column ``metric`` (None: it will,
    or only the workload can tell, as with dependencies in a trace)."""
    if metric in SERVICE_COLUMNS:
        if not config.services:
            return "a service metric, but the config has no [[services]]"
        if metric.startswith("rollout_") and not any(service.releases for service in config.services):
            return "a rollout metric, but no service has [[services.releases]]"
    if metric in COST_COLUMNS and config.cost is None:
        return "a cost metric, but the config has no [cost] table"
    if metric in MOVE_COLUMNS and not (config.maintenance.active or config.consolidation.active):
        return "a move metric, but the config neither drains hosts ([maintenance]) nor consolidates them"
    if metric in WORKFLOW_COLUMNS and config.workload.trace is None:
        return "a workflow metric, but the synthetic workload has no dependencies (a trace with parents has)"
    return None


def unmeasured(metric: str, config: Config) -> str | None:
    """Why every run of ``config`` leaves the summary column ``metric`` NaN (None: it
    may not). For a plan, which varies only the host count; a sweep may vary what makes
    the metric (``batch_fraction``, ``[faults]``), so it is not refused there."""
    synthetic = config.workload.synthetic
    if metric in BATCH_COLUMNS and synthetic is not None and synthetic.batch_fraction == 0:
        return ("a batch metric (completed batch work's slowdown), but the synthetic workload has no batch work "
                "(workload.synthetic.batch_fraction = 0)")
    if metric in FAILURE_COLUMNS and not config.faults.active:
        return ("a failure metric (NaN without a failure), but the config has no failures ([faults]: host_mtbf_s, "
                "kernel_mtbf_s, host_failures or kernel_failures)")
    if metric in CACHE_COLUMNS:
        if not any(image.layers for image in config.images):
            return "an image-cache metric, but no [[images]] has layers: nothing is looked up in a host's cache"
        if synthetic is not None and not synthetic.images and not any(s.image for s in config.services):
            return ("an image-cache metric, but no instance has an image (workload.synthetic.images and the "
                    "services' image are empty): nothing is looked up in a host's cache")
    return None


# Summary columns that are NaN when the config makes nothing they measure (unmeasured
# and produced say which); the trace's content is known only after a run.
BATCH_COLUMNS = ("batch_slowdown_p50", "batch_slowdown_p95", "batch_slowdown_p99")
FAILURE_COLUMNS = ("requeue_mean_s", "blast_radius_mean")
CACHE_COLUMNS = ("cache_hit_ratio",)


def unproduced(metric: str, workload: pd.DataFrame) -> str | None:
    """Why no run of this ``workload`` (a run's table of requests) gives ``metric`` a
    value whatever the host count (None: it may): for a trace, whose batch work or images
    only its rows show."""
    if metric in BATCH_COLUMNS and "kind" in workload and not (workload["kind"].astype(str) == "batch").any():
        return "a batch metric, but the workload has no batch work (no request of kind 'batch')"
    if metric in CACHE_COLUMNS and "image" in workload and not workload["image"].astype(str).str.len().gt(0).any():
        return "an image-cache metric, but no request of the workload has an image"
    return None


def absent_metric(metric: str) -> str:
    """Why a run's summary lacked the optional column ``metric`` (found only after it)."""
    if metric in WORKFLOW_COLUMNS:
        return "a workflow metric, but the workload has no dependencies (no instance names a parent)"
    return "not in this run's summary"


def parse_slo(text: str) -> Slo:
    """``"start_p99_s<=5"`` → Slo; a clear error for anything else. The metric is a
    summary column, or an optional one (:data:`OPTIONAL_GROUPS`); whether the config
    produces it is :func:`missing_metric`'s to say. The objective is a finite number
    the metric can be on the side the SLO asks for (:func:`check_objective`)."""
    match = re.fullmatch(r"\s*([a-z0-9_]+)\s*(<=|>=|<|>)\s*(\S+?)\s*", text)
    if not match:
        raise ConfigError(f"--slo {text!r}: expected metric<=value (or <, >=, >), e.g. 'rejection_rate<=0.01'")
    metric, op, value = match.groups()
    if metric in COST_COLUMNS:  # they grow with hosts: the search's "more hosts never hurt" fails
        raise ConfigError(f"--slo {text!r}: {metric} grows with the hosts, and a plan searches the fewest hosts "
                          "on the rule that more never hurt; plan on service levels and read the cost (or "
                          "--minimise cost: each group's cheapest fleet)")
    check_metric(metric, f"--slo {text!r}")
    try:
        slo = Slo(metric, op, float(value))
    except ValueError:
        raise ConfigError(f"--slo {text!r}: {value!r} is not a number") from None
    check_objective(slo, f"--slo {text!r}")
    return slo


def check_objective(slo: Slo, flag: str) -> None:
    """Raise one :class:`ConfigError` line, starting ``flag``, unless ``slo``'s objective is
    a finite number within what its metric can be (:func:`simdc.metrics.value_range`:
    a share in [0, 1], a slowdown at least 1, a count or a time at least 0), and ``slo``
    can be met there: an objective outside that range always holds or never does (a
    share of 5 meant as 5 %, a latency below 0), and so does ``<`` the least or ``>`` the
    most (``rejection_rate<0``)."""
    from simdc.metrics import value_range

    if not np.isfinite(slo.value):
        raise ConfigError(f"{flag}: the objective must be a finite number (got {slo.value:g})")
    low, high = value_range(slo.metric)
    what, where = {(0.0, 1.0): ("a share, in [0, 1] (0.05 for 5 %)", "in [0, 1]"),
                   (1.0, np.inf): ("a slowdown, at least 1 (1: never slowed)", ">= 1"),
                   (-1.0, np.inf): ("a share of the need, at least -1", ">= -1")}.get(
        (low, high), ("never below 0 (a count, or seconds, GiB, ...)", ">= 0"))
    if not low <= slo.value <= high:
        never = slo.value < low if slo.upper else slo.value > high
        given = str(slo)[len(slo.metric) + len(slo.op):]  # in full: 1.0000001 is not "1" (which is in range)
        raise ConfigError(f"{flag}: {slo.metric} is {what}, so an objective of {given} "
                          f"{'can never be met' if never else 'always holds'}; give one {where}")
    if (slo.op == "<" and slo.value == low) or (slo.op == ">" and slo.value == high):
        raise ConfigError(f"{flag}: {slo.metric} is {what}, so it is never {slo.op} {slo.value:g}: the SLO can "
                          "never be met")


@dataclass
class PlanResult:
    """``evaluations``: a row per run (platform, hosts, replication, seed, the SLO metrics
    as judged, ``met``: this run meets every SLO, ``met_at_count``: every replication at
    this count does, ``unplaceable_share``); ``plan``: a row per platform (``hosts_needed``:
    the count that was searched, see ``scaled``, the fewest where every replication met
    every SLO, empty when none did; ``hosts_total``: every host of the fleet then; per SLO
    there, ``<metric>`` the mean over the replications, ``<metric>_ci95`` its 95 %
    confidence half-width (Student's t, NaN with one replication), ``<name>_worst`` the
    worst replication's value for that objective and ``<name>_margin`` how far inside the
    objective that is (:meth:`Slo.margin`, in the metric's units, >= 0 at an answer), with
    ``<name>`` the metric, or where several SLOs are on one metric the SLO as written
    (:func:`slo_name`: ``cpu_util_mean>=0.02_worst``, ``cpu_util_mean<=0.5_worst``);
    ``unplaceable_share``:
    the share of requests no host of the fleet's sizes holds even empty, which no count of
    them changes (the mean over the replications; the note on a floor gives the worst
    one's); ``unplaceable_warning``: what `simdc run` warns of those (at the count shown,
    seed ``simulation.seed``; "" for none); ``reason``: why ``hosts_needed`` is empty, ""
    when it is not;
    ``residents_rise``: the most :func:`residents_rise` over its replications there, the
    rise in residents over the run's last tenth, which above :data:`STEADY_RISE` says the
    run was too short for steady state). ``evaluations`` also has ``not_started_share``
    and ``residents_rise`` per run. ``scaled``
    says what ``hosts_needed`` counts, for people."""

    evaluations: pd.DataFrame
    plan: pd.DataFrame
    scaled: str = "hosts"

    def write(self, out, overwrite: bool = False) -> Path:
        """Write the plan's directory ``out`` (``plan.csv``, ``evaluations.csv``) atomically,
        as :meth:`simdc.results.Results.write` writes a run's; refuse to replace one unless
        asked. Returns ``out`` as a :class:`pathlib.Path`.

        ``out`` may be a :class:`simdc.results.Destination` already entered (the CLI's);
        ``overwrite`` is then the Destination's.

        Raises
        ------
        simdc.errors.OutputError
            ``out`` already holds something (without ``overwrite``), is a file, a mount
            point, or (with ``overwrite``) not a plan's directory (a run's results, a folder
            of one's own), another run is writing it, or the disk is full or read-only.
            Nothing half-written is left behind.
        """
        from simdc.errors import checked_bool
        from simdc.results import Destination

        checked_bool(overwrite, "overwrite")
        if isinstance(out, Destination):
            return out.write(self)
        with Destination(out, overwrite=overwrite, marks=self.MARKS) as destination:
            return destination.write(self)

    @property
    def warnings(self) -> list[str]:
        """The unplaceable warnings of the plan's rows (``unplaceable_warning``), each once."""
        if "unplaceable_warning" not in self.plan:
            return []
        return list(dict.fromkeys(w for w in self.plan["unplaceable_warning"] if isinstance(w, str) and w))

    MARKS = PLAN_TABLES  # a plan's directory, and every file of it (simdc.results.KINDS)

    def _write_files(self, directory, report: bool = False, report_title: str | None = None) -> None:
        """The tables into ``directory`` (also as a :class:`simdc.results.Destination` writes them)."""
        self.evaluations.to_csv(directory / "evaluations.csv", index=False)
        # host counts as integers in the file, "2" not "2.0" (a column with an empty cell is float in pandas)
        counts = {c: "Int64" for c in ("hosts_needed", "hosts_total") if c in self.plan.columns}
        self.plan.astype(counts).to_csv(directory / "plan.csv", index=False)


def with_hosts(config: Config, n: int, group: str | None = None) -> Config:
    """``config`` with ``n`` hosts (or n × every group, for several groups)."""
    raw = config.to_dict()
    if config.host is not None:
        raw.pop("host")
        raw["cluster"] = {"hosts": [config.host.model_dump(mode="json") | {"count": n}]}
    else:
        groups = raw["cluster"]["hosts"]
        names = [g.get("name", "") for g in groups]
        if group is not None:
            if group not in names:
                raise ConfigError(f"--group {group!r}: no such group; groups: {', '.join(repr(x) for x in names)}")
            groups[names.index(group)]["count"] = n
        elif len(groups) == 1:
            groups[0]["count"] = n
        else:
            base = config.cluster.hosts
            for g, spec in zip(groups, base):
                g["count"] = spec.count * n
    try:
        return validate(raw)
    except ConfigError as err:  # valid as given, not at this count: say it is the plan's count
        total = sum(g["count"] for g in raw["cluster"]["hosts"])
        hint = ("; listed failures and drains name hosts by number, and a plan tries fleets from one host up: "
                "give failures by faults.host_mtbf_s, or drain by maintenance.rolling_start_s")
        raise ConfigError([f"plan, trying a fleet of {total:,} host{'' if total == 1 else 's'}: {problem}"
                           + (hint if "does not exist" in problem else "") for problem in err.problems]) from None


def fleet_size(config: Config, n: int, group: str | None = None) -> int:
    """Every host of the fleet when :func:`with_hosts` scales ``config`` to ``n``."""
    return sum(spec.count for spec in with_hosts(config, n, group).cluster.hosts)


def scaled_hosts(config: Config, group: str | None = None) -> str:
    """What the searched count is, in words: "hosts", "hosts in 'large'" or "× each group".

    Raises
    ------
    ConfigError
        For a fleet of ``[[cells]]``, which plan does not search, or a ``group`` that is
        not the name of one of the config's ``[[cluster.hosts]]`` (a single ``[host]``
        has none).
    """
    if config.cells:
        raise ConfigError("plan: searches the hosts of one fleet ([host] or [[cluster.hosts]]), and this config is "
                          "a fleet of [[cells]]; plan a cell as a fleet of its own (its hosts as [[cluster.hosts]], "
                          "the workload at its share)")
    names = [g.name for g in config.cluster.hosts if g.name] if config.host is None else []
    if group is not None and group not in names:
        where = (f"groups: {', '.join(repr(x) for x in names)}" if names else
                 "this config's hosts are one [host] table, with no named groups; leave --group out"
                 if config.host is not None else "its [[cluster.hosts]] have no names (give each a name)")
        raise ConfigError(f"group {group!r}: no such group; {where.replace('--group', 'group')}",
                          cli=f"--group {group!r}: no such group; {where}")
    if config.host is not None or len(config.cluster.hosts) == 1:
        return "hosts"
    return f"hosts in {group!r}" if group is not None else "× each group"


def only_group(config: Config, index: int) -> Config:
    """``config`` with only its ``index``-th host group (the single ``[host]`` for 0)."""
    if config.host is not None:
        return config
    raw = config.to_dict()
    raw["cluster"]["hosts"] = [raw["cluster"]["hosts"][index]]
    return validate(raw)


def group_names(config: Config) -> list[str]:
    """Each host group's name, or ``group N`` (from 0) for one without."""
    return [group.name if getattr(group, "name", "") else f"group {k}" for k, group in enumerate(config.host_groups)]


MINIMISE = ("hosts", "cost")


def plan(config: Config | str, slos: list[Slo | str] | str, *, replications: int = 1, max_hosts: int = 1024,
         group: str | None = None, platforms: list[str] | None = None,
         echo: Callable[[dict], None] | None = None, check_memory: bool = True,
         minimise: str = "hosts") -> PlanResult:
    """The fewest hosts meeting every SLO, per platform; or, with ``minimise="cost"``,
    the cheapest fleet of one host group meeting them.

    Parameters
    ----------
    config
        A config, or the path of a TOML config (:func:`simdc.simulate`).
    slos
        Objectives, e.g. ``["rejection_rate<=0.01", "start_p99_s<=5"]``, or one as a string.
    replications
        Runs per host count (seeds ``simulation.seed + r``); a count meets the SLOs only
        when every run does.
    max_hosts
        Give up beyond this many (``hosts_needed`` is then empty), or sooner when a run
        shows that no count can meet an SLO (requests no host of the fleet's sizes holds,
        rejected whatever the count): the plan's ``reason`` says which.
    echo
        Called with each evaluation (a dict) as it is made.
    check_memory
        Refuse a run that needs more memory than the machine has available
        (:mod:`simdc.budget`); False runs it anyway.
    minimise
        ``"hosts"``: the fewest hosts (see the module docstring for what is scaled).
        ``"cost"``: for each host group alone, the fewest of its hosts meeting the SLOs,
        and that fleet's ``cost`` (:mod:`simdc.cost`; the config needs a ``[cost]``
        table); ``plan`` then has a row per platform and group, the cheapest marked
        ``cheapest``. Every host adds its rent or capital and its idle power, so a group's
        cheapest fleet meeting the SLOs is its smallest (more hosts never cost less),
        unless hosts are free and switched off when idle.

    Raises
    ------
    ConfigError
        No SLO, an SLO no value of its metric can meet or that every value meets
        (:func:`check_objective`: ``rejection_rate>=2``, ``start_p99_s<=-1``),
        ``replications`` or ``max_hosts`` not an integer >= 1 (``replications`` at most
        :data:`simdc.model.limits.MAX_REPLICATIONS`), ``check_memory``
        not a bool, a name in ``platforms`` the config does not define, an unknown
        ``group``, ``minimise`` not one of
        :data:`MINIMISE`, or ``"cost"`` without a ``[cost]`` table, with ``group``, or with
        some host groups priced and others not (:func:`simdc.cost.unpriced`).
    """
    from simdc.experiment import as_config

    config = as_config(config)
    if isinstance(slos, (str, Slo)):  # one objective
        slos = [slos]
    if not isinstance(slos, (list, tuple)) or not all(isinstance(s, (str, Slo)) for s in slos):
        raise ConfigError(f"slos: expected a list of objectives such as [\"rejection_rate<=0.01\"], "
                          f"got {clip(repr(slos))}")
    try:
        slos = [s if isinstance(s, Slo) else parse_slo(s) for s in slos]
        for slo in slos:  # an Slo given as such is held to parse_slo's rules too
            check_metric(slo.metric, f"--slo {str(slo)!r}")
            check_objective(slo, f"--slo {str(slo)!r}")
    except ConfigError as err:
        raise reworded(err, "--slo", "slos") from None
    if not slos:
        raise ConfigError("plan: give at least one SLO (slos=[\"rejection_rate<=0.01\"], say)",
                          cli="plan: give at least one --slo")
    replications = checked_int(replications, "replications", minimum=1, maximum=MAX_REPLICATIONS,
                               cli="--replications", why=REPLICATIONS_NOTE)
    max_hosts = checked_int(max_hosts, "max_hosts", minimum=1, cli="--max-hosts")
    check_memory = checked_bool(check_memory, "check_memory")
    checked_callback(echo, "echo", "echo(evaluation: dict)")
    scaled_hosts(config, group)  # a fleet plan can search
    if minimise not in MINIMISE:
        raise ConfigError(f"minimise: must be one of {', '.join(MINIMISE)} (got {minimise!r})",
                          cli=f"--minimise: must be one of {', '.join(MINIMISE)} (got {minimise!r})")
    for slo in slos:
        why = missing_metric(slo.metric, config) or unmeasured(slo.metric, config)
        if why is not None:
            raise ConfigError(f"slo {slo.metric!r}: {why}", cli=f"--slo {slo.metric}: {why}")
    platforms = _checked_platforms(platforms, config)
    if minimise == "hosts":
        evaluations, table = _plan_fleets(config, slos, platforms, replications, max_hosts, group, echo, check_memory)
        return PlanResult(evaluations, table, scaled_hosts(config, group))
    if config.cost is None:
        raise ConfigError("minimise='cost': the config has no [cost] table (the electricity's price_per_kwh or "
                          "price_series, and the hosts' price_per_hour or capex)",
                          cli="--minimise cost: the config has no [cost] table (the electricity's price_per_kwh or "
                              "price_series, and the hosts' price_per_hour or capex)")
    if group is not None:
        raise ConfigError("minimise='cost' chooses among the groups itself: leave group out",
                          cli="--minimise cost chooses among the groups itself: leave --group out")
    from simdc.cost import unpriced

    forgotten = unpriced(config).get("cost")
    if forgotten is not None:  # its hardware counted as free, a group would be called the cheapest for that
        why = (f"{forgotten}: a group without one would be ranked on its electricity alone, as if its hosts "
               "were free; give each group one (price_per_hour = 0 if its hosts are free)")
        raise ConfigError(f"minimise='cost': {why}", cli=f"--minimise cost: {why}")
    evaluations, tables = [], []
    for index, name in enumerate(group_names(config)):
        alone = only_group(config, index)
        tagged = None if echo is None else (lambda row, name=name: echo({**row, "group": name}))
        runs, table = _plan_fleets(alone, slos, platforms, replications, max_hosts, None, tagged, check_memory)
        evaluations.append(runs.assign(group=name))
        tables.append(table.assign(group=name))
    table = pd.concat(tables, ignore_index=True)
    met = table["hosts_needed"].notna()
    table["cheapest"] = False
    for platform in platforms:
        mine = table.index[(table["platform"] == platform) & met]
        if len(mine) and "cost" in table:
            table.loc[table.loc[mine, "cost"].astype(float).idxmin(), "cheapest"] = True
    table = table[["platform", "group", *[c for c in table.columns if c not in ("platform", "group")]]]
    return PlanResult(pd.concat(evaluations, ignore_index=True), table, "hosts of the group")


def _checked_platforms(platforms, config: Config) -> list[str]:
    """``platforms`` (None: the config's ``simulation.platforms``) as a list of names the
    config defines, or a :class:`ConfigError` naming ``platforms``."""
    if platforms is None:
        return list(config.simulation.platforms)
    if isinstance(platforms, str):
        platforms = [platforms]
    if not isinstance(platforms, (list, tuple)) or not platforms:
        raise ConfigError(f"platforms: expected a non-empty list of platform names, e.g. "
                          f"{list(config.simulation.platforms)!r} (got {clip(repr(platforms))})")
    known = list(config.platform)
    for name in platforms:
        if name not in known:
            raise ConfigError(f"platforms: unknown platform {clip(repr(name))}; choose among the config's: "
                              f"{', '.join(known)}")
    return list(platforms)


PRICED = ("cost", "cost_per_instance_hour", "carbon_kgco2eq")  # kept from each run when it was priced


def _plan_fleets(config: Config, slos: list[Slo], platforms: list[str], replications: int, max_hosts: int,
                 group: str | None, echo: Callable[[dict], None] | None,
                 check_memory: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The evaluations and the plan table of :func:`plan` by host count."""
    from simdc.experiment import simulate

    rows, answers = [], []
    for platform in platforms:
        cache: dict[int, bool] = {}
        warnings: dict[int, list[str]] = {}  # per count: the unplaceable warning of its first replication

        blocked: list[str] = []  # why no host count can meet the SLOs, as the last count that failed shows
        elsewhere: list[str] = []  # with --group: requests only the groups left as they are hold (a note)
        stuck = [False]  # ... and they alone break a rejection SLO, whatever the group's count (stop)
        history: list[tuple[int, dict[str, float]]] = []  # (count, the SLOs' worst values) in the order run
        flat: list[str] = []  # an SLO not met and not improving over two doublings (stop)
        # A recommender books from what ran before, which more hosts change: the requests
        # that fit nowhere at one count may fit at another, so it is searched to the end.
        fixed = getattr(config.platform[platform], "admission", None) != "recommender"

        def evaluate(n: int) -> bool:
            if n not in cache:
                cfg = with_hosts(config, n, group).with_overrides({"simulation.platforms": [platform]})
                means = {}
                runs, lost, apart, rises = [], [], [], []
                for r in range(replications):
                    results = simulate(cfg, seed=config.simulation.seed + r, check_memory=check_memory)
                    summary = results.summary.iloc[0]
                    for slo in slos:
                        if slo.metric not in summary.index:
                            raise ConfigError(f"slo {slo.metric!r}: {absent_metric(slo.metric)}",
                                              cli=f"--slo {slo.metric}: {absent_metric(slo.metric)}")
                    for slo in slos if not cache else ():  # the first run shows what the trace holds
                        why = unproduced(slo.metric, results.workload)
                        if why is not None:
                            raise ConfigError(f"slo {slo.metric!r}: {why}", cli=f"--slo {slo.metric}: {why}")
                    run = judged(summary, slos, results.instances, cfg.simulation.duration_s, results.hosts,
                                 results.workload)
                    runs.append(run)
                    if r == 0:  # what `simdc run` (seed simulation.seed) prints of this fleet
                        warnings[n] = unplaceable_lines(results)
                    lost.append(unservable(results.instances))
                    rises.append(residents_rise(results, platform))
                    if group is not None:
                        apart.append(only_elsewhere(results, cfg, platform, group))
                    # let the run's tables go before the next is made: held until the name is
                    # rebound, the last run's tables and the next run's were in memory at once
                    # (a trial's plan peaked 1.34-1.44x the largest run's estimate)
                    del results, summary
                for slo in slos:  # over the replications with a value, as plan.csv's (spread_of)
                    values = [run[slo.metric] for run in runs if run[slo.metric] == run[slo.metric]]
                    means[slo.metric] = float(np.mean(values)) if values else float("nan")
                # met only when every replication meets every SLO (the module docstring)
                each = [all(slo.met(run[slo.metric]) for slo in slos) for run in runs]
                met = all(each)
                # requests turned away or never placed: a fleet short of room serves more with more hosts
                unserved = float(np.mean([(run["rejected"] + run["queued_at_end"]) / run["submitted"]
                                          if run["submitted"] else 0.0 for run in runs]))
                # the search stops on the worst replication's values, as a count is judged on them
                worsts = {slo_name(slo, slos): slo.worst([run[slo.metric] for run in runs]) for slo in slos}
                history.append((n, {**worsts, UNSERVED: unserved}))
                for r, run in enumerate(runs):
                    row = {"platform": platform, "hosts": n, "replication": r, "seed": config.simulation.seed + r,
                           **{slo.metric: run[slo.metric] for slo in slos},
                           **{column: run[column] for column in PRICED if column in run.index},
                           **{f"{slo.metric}_at_least": run[f"{slo.metric}_at_least"] for slo in slos
                              if f"{slo.metric}_at_least" in run.index},
                           "not_started_share": run["not_started_share"], "residents_rise": rises[r],
                           "met": each[r], "met_at_count": met,
                           "unplaceable_share": lost[r][0]}
                    rows.append(row)
                if not met:
                    blocked[:] = floor_reasons(slos, lost, config, None if fixed else n)
                    if apart:
                        elsewhere[:], stuck[0] = group_reasons(slos, apart, group, n)
                if echo:
                    echo({"platform": platform, "hosts": n, **means, "met": met,
                          "replications": replications,
                          "seeds_breaking": [config.simulation.seed + r for r, ok in enumerate(each) if not ok],
                          # the replications where a metric has no value (what that says: Slo.shown)
                          **{f"{slo.metric}_without_value": [config.simulation.seed + r for r, run in enumerate(runs)
                                                             if run[slo.metric] != run[slo.metric]] for slo in slos},
                          **{f"{name}_worst": worst for name, worst in worsts.items()},
                          # a latency not known to be finite: the worst replication's lower bound and
                          # share not started (a mean of bounds showed a value inside the objective
                          # beside "not met")
                          **{f"{slo.metric}_at_least": float(slo.worst([run[f"{slo.metric}_at_least"] for run in runs]))
                             for slo in slos if f"{slo.metric}_at_least" in runs[0].index},
                          "not_started_share": float(max(run["not_started_share"] for run in runs)),
                          **{column: float(np.mean([run[column] for run in runs]))
                             for column in PRICED if column in runs[0].index}})
                cache[n] = met
            return cache[n]

        def hopeless() -> bool:
            flat[:] = not_improving(slos, history[-3:], scaled_hosts(config, group))
            return bool(flat) or (fixed and (bool(blocked) or stuck[0]))

        try:
            answer = _search(evaluate, max_hosts, hopeless=hopeless)
        except TooBigError as err:  # a larger count would not fit: keep what was found for the caller
            tried = max((k for k, _ in history), default=0)
            answers.append({"hosts_needed": None, "platform": platform,
                            "reason": f"stopped after {tried} {scaled_hosts(config, group)}: the next count's run "
                                      "would not fit in memory "
                                      f"(the error below)" + "".join(f"; {x}" for x in blocked + elsewhere),
                            "unplaceable_warning": " ".join(warnings.get(tried, []))})
            # the platforms after it were not searched: each a row saying so (they were absent)
            answers += [{"hosts_needed": None, "platform": later, "reason": f"not searched: the plan stopped on "
                         f"memory while searching {platform}", "unplaceable_warning": ""}
                        for later in platforms[platforms.index(platform) + 1:]]
            err.partial = PlanResult(*_tables(rows, answers, slos, config, group), scaled_hosts(config, group))
            raise
        reason = ("" if answer["hosts_needed"] is not None else
                  "; ".join(blocked + elsewhere + flat) or not_met(max_hosts, scaled_hosts(config, group)))
        shown_at = answer["hosts_needed"] or max((k for k, _ in history), default=0)
        answers.append(answer | {"platform": platform, "reason": reason,
                                 "unplaceable_warning": " ".join(warnings.get(shown_at, []))})
    return _tables(rows, answers, slos, config, group)


UNSERVED = "_unserved"  # in a plan's history: the share of requests turned away or never placed


def not_improving(slos: list[Slo], last: list[tuple[int, dict[str, float]]], unit: str = "hosts") -> list[str]:
    """Why the search stops: an SLO not met at the last three counts tried (two
    doublings; ``last``: each count's worst replication's values), finite at each and no
    closer at each step, while the share of requests
    turned away or never placed fell at neither step either, so more hosts do not bring
    it closer (a VM's boot bounds its start latency, the work itself a makespan). A
    fleet short of room (queue waits pinned at ``max_wait_s`` while fewer give up) is
    not flat. Values not finite (requests not started: :func:`judged`) are not taken as
    flat: more hosts start more of them. ``unit``: what the counts are
    (:func:`scaled_hosts`: hosts, a group's hosts, or × each group)."""
    if len(last) < 3:
        return []
    unserved = [means[UNSERVED] for _, means in last]
    if unserved[1] < unserved[0] or unserved[2] < unserved[1]:
        return []
    reasons = []
    for slo in slos:
        values = [means[slo_name(slo, slos)] for _, means in last]
        margins = [slo.margin(v) for v in values]
        if (all(np.isfinite(values)) and not slo.met(values[-1])
                and margins[1] <= margins[0] and margins[2] <= margins[1]):
            counts = ", ".join(f"{v:.4g} at {k}" for v, (k, _) in zip(values, last))
            reasons.append(f"{slo} is not improving ({counts} {unit}): more hosts do not bring it closer, so the "
                           "search stopped")
    return reasons


def _tables(rows: list[dict], answers: list[dict], slos: list[Slo], config: Config,
            group: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The evaluations and the plan table from the runs' ``rows`` and each platform's answer."""
    evaluations = pd.DataFrame(rows)
    table = []
    for answer in answers:
        n = answer["hosts_needed"]
        mine = (evaluations[evaluations["platform"] == answer["platform"]] if len(evaluations)
                else pd.DataFrame({"unplaceable_share": []}))
        row = {"platform": answer["platform"], "hosts_needed": n,
               "hosts_total": fleet_size(config, n, group) if n is not None else None,
               "unplaceable_share": float(mine["unplaceable_share"].mean()), "reason": answer["reason"]}
        if n is not None:
            at = evaluations[(evaluations["platform"] == answer["platform"]) & (evaluations["hosts"] == n)]
            row["residents_rise"] = float(at["residents_rise"].max())
            spread = spread_of(at, slos)
            for slo in slos:  # the mean and its spread are the metric's; the worst and margin each SLO's
                worst, name = slo.worst(at[slo.metric]), slo_name(slo, slos)
                row[f"{slo.metric}"] = spread[f"{slo.metric}_mean"]
                row[f"{slo.metric}_ci95"] = spread[f"{slo.metric}_ci95"]
                row[f"{name}_worst"] = worst
                row[f"{name}_margin"] = slo.margin(worst)
            for column in PRICED:
                if column in at:
                    row[column] = float(at[column].mean())
        row["unplaceable_warning"] = answer.get("unplaceable_warning", "")
        table.append(row)
    return evaluations, pd.DataFrame(table)


def spread_of(at: pd.DataFrame, slos: list[Slo]) -> dict[str, float]:
    """Each SLO metric's mean and 95 % confidence half-width over ``at`` (the evaluations
    of one platform at one count, a row per replication): ``<metric>_mean`` and
    ``<metric>_ci95``, Student's t as a sweep's (:func:`simdc.sweeping.aggregate`; NaN
    with one replication)."""
    from simdc.sweeping import aggregate

    metrics = list(dict.fromkeys(slo.metric for slo in slos))
    points = at[["platform", "replication", "seed", *metrics]].assign(point=0)
    return aggregate(points).iloc[0].to_dict()


def disagreements(result: "PlanResult", slos: list[Slo]) -> list[str]:
    """A line per platform, count and SLO where the replications disagree, at the count
    the plan chose and the largest count tried below it (or, with no answer, the largest
    tried): which seeds break the SLO there and their values, e.g. ``container: seed 3
    breaks start_p99_s<=120 at 114 hosts (start_p99_s=246; seeds 1, 2 meet it)``. A count
    is met only when every replication meets every SLO, so a disagreement says the
    answer rests on the seeds: more replications may move it."""
    evaluations = result.evaluations
    lines = []
    if not len(evaluations):
        return lines
    for answer in result.plan.to_dict("records"):
        runs = evaluations[evaluations["platform"] == answer["platform"]]
        if "group" in answer and "group" in runs:
            runs = runs[runs["group"] == answer["group"]]
        counts = sorted(set(runs["hosts"]))
        needed = answer["hosts_needed"]
        if needed is None or needed != needed:
            shown_at = counts[-1:]
        else:
            shown_at = [k for k in counts if k < needed][-1:] + [int(needed)]
        where = f"{answer['platform']} ({answer['group']})" if "group" in answer else str(answer["platform"])
        for n in shown_at:
            at = runs[runs["hosts"] == n]
            for slo in slos:
                ok = np.array([slo.met(v) for v in at[slo.metric]], bool)
                if ok.all() or not ok.any():
                    continue
                broken = at[~ok]
                seeds = [int(x) for x in broken["seed"]]
                low = f"{slo.metric}_at_least"

                def value(row) -> str:  # a latency not known to be finite: its bound and the share not started
                    if row[slo.metric] == np.inf and low in row and row[low] == row[low]:
                        return (f"{slo.metric}>={slo.shown(row[low])}, {row['not_started_share']:.1%} not started "
                                "by the end")
                    return f"{slo.metric}={slo.shown_or_why(row[slo.metric])}"

                values = ", ".join(value(row) for row in broken.to_dict("records"))
                meeting = [int(x) for x in at["seed"].to_numpy()[ok]]
                lines.append(f"{where}: seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))} "
                             f"break{'' if len(seeds) > 1 else 's'} {slo} at {n} {result.scaled} ({values}; "
                             f"seed{'s' if len(meeting) > 1 else ''} {', '.join(map(str, meeting))} "
                             f"meet{'' if len(meeting) > 1 else 's'} it)")
    return lines


def unplaceable_lines(results) -> list[str]:
    """The warning `simdc run` prints of a run's requests that fit no host even empty
    (:func:`simdc.experiment.unplaceable_warnings`, a line per platform with any), read
    from the run's manifest, where they come first (:func:`simdc.experiment.simulate`)."""
    count = int((results.summary["unplaceable"] > 0).sum()) if "unplaceable" in results.summary else 0
    return list(results.manifest.get("warnings", [])[:count])


def judged(summary: pd.Series, slos: list[Slo], instances: pd.DataFrame, duration_s: float,
           hosts: pd.DataFrame | None = None, requests: pd.DataFrame | None = None) -> pd.Series:
    """``summary`` (one platform's row) with each SLO's metric as the plan judges it: for
    ``rejection_rate``, ``start_p*_s`` and (with ``requests``, the run's workload, when it
    has dependencies) ``makespan_*_s``, the bound that holds whatever the requests not
    started, or the jobs not completed, by the end do next
    (:func:`simdc.metrics.slo_bounds`): the high one for an
    upper limit (``<=``, ``<``), the low one for a lower limit, and for a start latency
    the low one ("at least") as ``<metric>_at_least``; ``not_started_share``: of the
    requests not turned away, the share not started by the end (0-1).

    A move mean (:data:`MOVE_MEANS`) with no move done is NaN, which holds when no move
    was asked for (:data:`simdc.metrics.NAN_HOLDS`); but when moves were begun and none
    was done (``migrations`` > ``moves_done``), or a drain never emptied its host (the
    ``hosts`` table's ``maintenance_not_done``: no room to move to), what was asked for
    took longer than the run, so it is judged ``inf``, as a start not made by the end:
    not met (more hosts give the moves room, and the mean a value)."""
    from simdc.metrics import job_structure, slo_bounds, was_submitted
    from simdc.workload import dependencies

    makespans = any(slo.metric.startswith("makespan_") for slo in slos)
    jobs = (job_structure(requests) if makespans and requests is not None and dependencies.has_jobs(requests)
            else None)
    bounds = slo_bounds(instances, duration_s, jobs)
    row = summary.copy()
    for slo in slos:
        if slo.metric in bounds:
            low, high = bounds[slo.metric]
            row[slo.metric] = high if slo.op in ("<=", "<") else low
            if slo.metric.startswith("start_"):
                row[f"{slo.metric}_at_least"] = low
        elif slo.metric in MOVE_MEANS and row[slo.metric] != row[slo.metric] and moves_undone(summary, hosts):
            row[slo.metric] = math.inf
    outcome = instances["outcome"].astype(str).to_numpy()
    mask = was_submitted(outcome) & (outcome != "rejected")  # as slo_bounds counts them
    if "preexisting" in instances:
        mask &= ~instances["preexisting"].to_numpy(bool)
    asked = int(mask.sum())
    ready = instances["first_ready_s" if "first_ready_s" in instances else "ready_s"].to_numpy(float)
    unstarted = int((mask & np.isnan(ready)).sum())
    row["not_started_share"] = unstarted / asked if asked else 0.0
    return row


MOVE_MEANS = ("migration_downtime_mean_s", "migration_s_mean", "migration_link_share")  # over moves done


def moves_undone(summary: pd.Series, hosts: pd.DataFrame | None) -> bool:
    """Whether one platform's run asked for moves it did not do: some begun and not done
    (``migrations`` > ``moves_done``), or a host's maintenance not done for want of room
    (``maintenance_not_done`` in ``hosts``, the run's hosts table)."""
    begun, done = summary.get("migrations", 0), summary.get("moves_done", 0)
    if begun == begun and done == done and begun > done:
        return True
    return bool(hosts is not None and "maintenance_not_done" in hosts and (hosts["maintenance_not_done"] > 0).any())


def not_met(max_hosts: int, unit: str = "hosts") -> str:
    """The plan's ``reason`` when no count up to ``max_hosts`` met the SLOs, and nothing
    more is known of why (``unit``: what the count is, :func:`scaled_hosts`)."""
    return f"not met with up to {max_hosts} {unit}"


def unservable(instances: pd.DataFrame) -> tuple[float, float]:
    """Of one platform's run: the share of its requests that no host of the fleet could
    hold even empty (``unplaceable``), and the share of them rejected, both in [0, 1]
    (0 for no request). Host counts do not change either: the hosts' sizes decide them."""
    if not len(instances) or "unplaceable" not in instances:
        return 0.0, 0.0
    unplaceable = instances["unplaceable"].to_numpy(bool)
    # queued for good counts as rejected: a plan judges rejection_rate so (judged)
    rejected = unplaceable & instances["outcome"].isin(("rejected", "queued_at_end")).to_numpy()
    return float(unplaceable.mean()), float(rejected.mean())


def floor_reasons(slos: list[Slo], lost: list[tuple[float, float]], config: Config,
                  hosts: int | None = None) -> list[str]:
    """Why no host count can meet ``slos``: a ``rejection_rate`` objective below the share
    of requests rejected because no host of the fleet's sizes holds them, in the
    replication with most (``lost``: each replication's :func:`unservable`; the message
    gives that replication's seed, share and rejection rate), which more hosts of the same
    sizes never lower
    while the bookings do not depend on the count; ``hosts``: the count it was seen at,
    for bookings that do (a recommender's), where it bounds that count only."""
    worst = int(np.argmax([rejected for _, rejected in lost]))  # the worst replication: it must meet it too
    share, floor = lost[worst]
    which = (f"in replication {worst + 1} of {len(lost)} (seed {config.simulation.seed + worst}), "
             if len(lost) > 1 else "")
    reasons = []
    for slo in slos:
        if slo.metric == "rejection_rate" and slo.op in ("<=", "<") and floor > 0 and not slo.met(floor):
            from simdc.experiment import fleet_shapes

            reasons.append(f"{which}{share:.1%} of requests fit no host of this size even empty "
                           f"({fleet_shapes(config)}), "
                           + (f"so rejection_rate >= {floor:.4g} at any host count: {slo} cannot be met by "
                              "adding hosts" if hosts is None else
                              f"so rejection_rate >= {floor:.4g} at {hosts} hosts, the most tried (the "
                              "recommender's bookings, which depend on what ran)"))
    return reasons


# How much the residents may still rise over the run's last tenth before a run is said not
# to have reached steady state: our choice, at the scale of the 1 % SLOs plans are held to
# (a rise of 2 % in a tenth is ~20 % more over another run's length if it goes on).
# Azure 2017 lifetimes on configs/fleet.toml: 916 residents at 24 h, 1,316 at 48 h, a
# rise of ~4 % per tenth of a 1-day run.
STEADY_RISE = 0.02


def filling_rise(submit_s, lifetime_s, duration_s: float) -> tuple[float, float]:
    """The residents a fleet that never fills holds at the run's end T, and how many more
    than at 0.9 T, expected from the lifetimes alone: ``(at T, at T − at 0.9 T)``.

    Requests submitted at 0 s (a trace's instances running at its start) count as they
    are: each there until its lifetime ends. The rest are taken as stationary arrivals,
    at their mean rate λ (their count over T), into an M/G/∞ system started empty, where
    E N(t) = λ ∫₀ᵗ S(u) du = λ E[min(L, t)] (S(u): the share of lifetimes L longer than
    u; Eick, Massey & Whitt, "The physics of the Mt/G/∞ queue", Operations Research
    41(4), 1993, Theorem 1). So no sampling noise of the arrivals enters: lifetimes far
    shorter than 0.9 T give a rise of 0 whatever the counts did.

    Parameters
    ----------
    submit_s, lifetime_s
        Each request's arrival and lifetime (``duration_s``), seconds, ≥ 0.
    duration_s
        The run's length T, seconds, > 0.
    """
    submit, life = np.asarray(submit_s, float), np.asarray(lifetime_s, float)
    at_start = submit <= 0

    def held(t: float) -> float:
        return float((life[at_start] > t).sum() + np.minimum(life[~at_start], t).sum() / duration_s)

    at_end = held(duration_s)
    return at_end, at_end - held(0.9 * duration_s)


def _requests(results) -> tuple[np.ndarray, np.ndarray]:
    """Each request's ``submit_s`` and ``duration_s`` of ``results``' workload, a
    service's replicas (kept up by their controller, not ended by a lifetime) left out."""
    columns = ["submit_s", "duration_s"] + (["id"] if results.config.services else [])
    table = getattr(results, "workload", None)  # a fleet of cells' is in its directory only
    parts = [table[columns]] if table is not None else results.parts("workload", columns)
    rows = pd.concat(list(parts), ignore_index=True)
    if results.config.services:  # the jobs services took replay as replicas: only the other rows' ids are kept
        kept = set()
        for inst in results.parts("instances", ["id", "service"]):
            if "service" in inst:
                inst = inst[inst["service"].astype(str).isin(("", "nan", "None"))]
            kept.update(inst["id"].astype(str))
        rows = rows[rows["id"].astype(str).isin(kept)]
    return rows["submit_s"].to_numpy(float), rows["duration_s"].to_numpy(float)


def residents_rise(results, platform: str) -> float:
    """How much one platform's residents (instances on a host) still rise over the run's
    last tenth because the run started from an empty fleet with lifetimes long against
    it, as a share of those at the end (0: steady; negative: falling).

    It is the rise the lifetimes give (:func:`filling_rise`: the same for every platform,
    free of the arrivals' noise: the residents' mean over a tenth against the tenth
    before moves by ~4 % on an M/M/10 queue of 100-s lifetimes over 83 h), but never more
    than the platform's residents show beyond their noise (:func:`_shown_rise`) where
    they may not follow it:

    - a trace's arrivals need not be stationary (they may stop, or slow);
    - a platform that turned requests away in the last tenth (rejected, or still queued
      at the end; not those no host holds even empty) was full then, and capacity, not
      the lifetimes, holds its residents (10 one-core slots against an offered load of
      43 hold 10), unless it still takes what fits (small requests on hosts that turn
      large ones away).

    A synthetic workload's arrivals are stationary, or periodic over a day, which a
    tenth of a short run cannot tell from a rise: on a fleet with room, the lifetimes'
    rise alone. The tables are read in parts (:meth:`simdc.results.Results.parts`): a
    spilled run's row group by row group, never whole.
    """
    duration_s = float(results.config.simulation.duration_s)
    held, rise = filling_rise(*_requests(results), duration_s)
    expected = rise / held if held > 0 else 0.0
    if results.config.workload.synthetic is None or _turned_away(results, platform, 0.9 * duration_s):
        expected = min(expected, _shown_rise(results, platform))
    return float(expected)


def _turned_away(results, platform: str, after_s: float) -> bool:
    """Whether ``platform`` rejected, or left queued at the end, a request submitted after
    ``after_s`` that some host of the fleet holds empty (a service's replicas aside)."""
    for inst in results.parts("instances", ["platform", "submit_s", "outcome", "service", "unplaceable"]):
        inst = inst[inst["platform"].astype(str) == platform]
        if "service" in inst:
            inst = inst[inst["service"].astype(str).isin(("", "nan", "None"))]
        turned = (inst["submit_s"].to_numpy(float) > after_s) & inst["outcome"].astype(str).isin(
            ("rejected", "queued_at_end")).to_numpy()
        if "unplaceable" in inst:
            turned &= ~inst["unplaceable"].to_numpy(bool)
        if turned.any():
            return True
    return False


# Batches each tenth's samples are cut into for the noise of its mean (batch means: the
# samples a few minutes apart are not independent; the batches' means nearly are).
NOISE_BATCHES = 5


def _shown_rise(results, platform: str) -> float:
    """The rise of ``platform``'s residents as sampled, beyond their noise: their mean
    over the run's last tenth less the tenth before's, less twice the standard error of
    that difference, down to 0, as a share of the last tenth's mean; a fall as it is (0
    without samples in both tenths). The standard error is of batch means: each tenth's
    samples cut into NOISE_BATCHES batches, their means' scatter about a straight line
    through all of them (a steady rise is not noise)."""
    duration_s = float(results.config.simulation.duration_s)
    series = None
    for part in results.parts("timeseries", ["platform", "t_s", "resident"]):
        sums = part[part["platform"].astype(str) == platform].groupby("t_s")["resident"].sum()
        series = sums if series is None else series.add(sums, fill_value=0)
    if series is None or not len(series):
        return 0.0
    t = series.index.to_numpy(float)
    values = series.to_numpy(float)
    last, before = values[t >= 0.9 * duration_s], values[(t >= 0.8 * duration_s) & (t < 0.9 * duration_s)]
    if not len(last) or not len(before) or last.mean() <= 0:
        return 0.0
    rise = last.mean() - before.mean()
    k = min(NOISE_BATCHES, len(last), len(before))
    if rise > 0 and k > 1:
        means = np.array([b.mean() for x in (before, last) for b in np.array_split(x, k)])
        at = np.arange(2 * k, dtype=float)
        scatter = means - np.polyval(np.polyfit(at, means, 1), at)
        noise = math.sqrt(2 * float(scatter @ scatter) / (2 * k - 2) / k)
        rise = max(rise - 2 * noise, 0.0)
    return float(rise / last.mean())


def unsteady_notes(results) -> list[str]:
    """A line per platform whose residents still rise by more than :data:`STEADY_RISE`
    over the run's last tenth (:func:`residents_rise`): figures of a fleet filling up."""
    notes = []
    for platform in results.summary["platform"]:
        rise = residents_rise(results, platform)
        if rise > STEADY_RISE:
            running = int((_requests(results)[0] <= 0).sum())
            start = (f"with {running:,} instances submitted at 0 s" if running else "from an empty fleet")
            notes.append(f"{platform}: not in steady state: residents still rise about {rise:.0%} over the run's "
                         f"last tenth (lifetimes long against the run, started {start}); its figures "
                         f"are of a fleet filling up, so judge on a longer run (simulation.duration_s, here "
                         f"{results.config.simulation.duration_s:g} s) until this note goes")
    return notes


def only_elsewhere(results, config: Config, platform: str, group: str) -> tuple[float, float, bool]:
    """Of one run of ``config`` scaled in ``group``: the share of requests that fit some
    host of the fleet, empty, but none of ``group`` (they can only go to the groups left
    as they are), the share of all requests that are those and were not placed
    (rejected or queued at the end), and whether every other request was served on a
    host of ``group`` (none rejected or queued at the end, none placed elsewhere): then
    the other groups held only those requests, and more hosts of ``group`` do not change
    what they see."""
    from simdc.engine.rules import caps, fits, limit

    inst = results.instances
    if not len(inst) or "booked_cpu" not in inst:
        return 0.0, 0.0, False
    spec = next(g for g in config.cluster.hosts if g.name == group)
    cpu_cap, mem_cap = caps(config.platform[platform], spec)
    inside = fits(0.0, 0.0, inst["booked_cpu"].to_numpy(float), inst["booked_memory_gib"].to_numpy(float),
                  limit(cpu_cap), limit(mem_cap))
    outside = ~inside & ~inst["unplaceable"].to_numpy(bool)
    unplaced = inst["outcome"].isin(("rejected", "queued_at_end")).to_numpy()
    hosts = results.hosts[results.hosts["platform"] == platform]
    where = dict(zip(hosts["host"], hosts["group"].astype(str)))
    placed = inst["host"].notna().to_numpy() & ~np.isnan(inst["admit_s"].to_numpy(float))
    on_other = placed & (inst["host"].map(where).astype(str).to_numpy() != group)
    served = not (inside & (unplaced | on_other)).any()
    return float(outside.mean()), float((outside & unplaced).mean()), served


def group_reasons(slos: list[Slo], apart: list[tuple[float, float, bool]], group: str,
                  hosts: int) -> tuple[list[str], bool]:
    """Why scaling ``group`` does not meet a ``rejection_rate`` objective (``apart``: each
    replication's :func:`only_elsewhere` at ``hosts``): the requests only the other groups
    hold, and the share of them not placed. The second value says no count of ``group``
    can: they alone break the objective while ``group`` served every other request."""
    share = float(np.mean([a[0] for a in apart]))
    unplaced = float(np.mean([a[1] for a in apart]))
    served = all(a[2] for a in apart)
    for slo in slos:
        if slo.metric == "rejection_rate" and slo.op in ("<=", "<") and unplaced > 0:
            stop = served and not slo.met(unplaced)
            return [f"{share:.2%} of requests fit only the groups left as they are, not {group!r}, and "
                    f"{unplaced:.4g} of all requests are those left unplaced at {hosts} hosts in {group!r}"
                    + (f", while {group!r} served every other request: rejection_rate >= {unplaced:.4g} at any "
                       f"count of {group!r}" if stop else "")
                    + "; scale the groups that hold them (leave out --group, or plan on theirs)"], stop
    return [], False


def _search(meets: Callable[[int], bool], max_hosts: int, hopeless: Callable[[], bool] = lambda: False) -> dict:
    """Smallest n in [1, max_hosts] with meets(n), assuming meets is monotone; None when
    none is, or as soon as ``hopeless()`` says no n can be (after a count that failed)."""
    if meets(1):
        return {"hosts_needed": 1}
    if hopeless():
        return {"hosts_needed": None}
    low, high = 1, 2  # low fails
    while not meets(min(high, max_hosts)):
        if high >= max_hosts or hopeless():
            return {"hosts_needed": None}
        low, high = high, high * 2
    high = min(high, max_hosts)
    while high - low > 1:
        middle = (low + high) // 2
        if meets(middle):
            high = middle
        else:
            low = middle
    return {"hosts_needed": high}
