"""Services as replica sets: a Deployment controller (rolling updates) and a horizontal
autoscaler, acting on the general engine's instances.

A service's replicas are instances like any other: placed, pulled, started, contended,
OOM-killed and failed by the engine. The controller only decides how many exist and of
which version, as Kubernetes' ReplicaSet, Deployment and HorizontalPodAutoscaler
controllers do, and records what the service's users get: demand served vs demand asked.

The engine's per-instance state is sized when a run starts, so each service gets a pool
of instance rows ("slots") per version at the end of the workload, never submitted by
the arrival process; the controller submits a slot when it creates a replica. Unused
slots are dropped from the instances table at the end (:func:`used_rows`).

Records: ``series`` rows ``(t_s, service, demand_cores, ready, pods, desired,
served_cores)`` at every change (piecewise constant until the next row; ``served_cores``
the time average over the row's span of the CPU the ready replicas were given:
:meth:`Controller.served_now`), and
``releases`` rows ``(service, release, at_s, end_s, pulled_gib)``;
:func:`simdc.metrics.service_metrics` turns them into the summary's numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from simdc.errors import InputError, clip
from simdc.model import limits
from simdc.model.image import image_ref
from simdc.model.service import DemandSpec, ServiceSpec
from simdc.workload.dependencies import has_parents, positions
from simdc.workload.readers.common import refuse_cut, refuse_header

# Instance states, as simulation.py numbers them (imported there from here would loop).
WAITING, QUEUED, STARTING, RUNNING, BACKOFF = range(5)
LIVE = (WAITING, QUEUED, STARTING, RUNNING, BACKOFF)
RETRY_S = 10.0  # a pending replica no host would take is tried again this much later (an assumption)
MAX_ROUNDS = 10_000  # reconcile rounds at one instant: far above any rollout's steps
TIME_EPS_S = 1e-9  # a timer set for n × period may fire a rounding error before it


# --- Kubernetes' arithmetic ----------------------------------------------------------

def scaled(value: int | str, replicas: int, round_up: bool) -> int:
    """A count or a percentage of ``replicas`` as a count: percentages round up or down
    (Kubernetes' intstr.GetScaledValueFromIntOrPercent)."""
    if isinstance(value, int):
        return value
    exact = float(value.rstrip("%")) * replicas / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def fenceposts(max_surge: int | str, max_unavailable: int | str, replicas: int) -> tuple[int, int]:
    """``(surge, unavailable)`` as counts for ``replicas``: surge rounds up, unavailable
    down, and both 0 becomes unavailable 1, so a rollout can always progress
    (kubernetes/pkg/controller/deployment/util/deployment_util.go, ResolveFenceposts)."""
    surge = scaled(max_surge, replicas, round_up=True)
    unavailable = scaled(max_unavailable, replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def rollout_step(replicas: int, surge: int, unavailable: int, old: int, old_ready: int,
                 new: int, new_ready: int) -> tuple[int, int]:
    """One step of a rolling update: ``(new replicas to create, old ones to remove)``.

    The new replica set grows until old + new reaches ``replicas + surge`` (and the new
    set ``replicas``); the old shrinks while old + new stays above ``replicas -
    unavailable`` plus the new set's replicas not yet ready (kubernetes/pkg/controller/
    deployment/rolling.go, reconcileNewReplicaSet, reconcileOldReplicaSets). Counts >= 0.
    """
    up = max(0, min(replicas + surge - (old + new), replicas - new))
    new += up
    down = max(0, min(old, (old + new) - (replicas - unavailable) - (new - new_ready)))
    return up, down


# metrics-server's CPU reading of a pod: the rate of the kubelet's cumulative CPU counter
# between its last two scrapes, one scrape every --metric-resolution
# (kubernetes-sigs/metrics-server, pkg/storage/types.go: (last.CumulativeCPUUsed -
# prev.CumulativeCPUUsed) / window; FAQ.md, "How CPU usage is calculated?"). 15 s as
# metrics-server is deployed: its README ("collecting metrics every 15 seconds"),
# manifests/base/deployment.yaml and Helm chart (charts/metrics-server/values.yaml) pass
# --metric-resolution=15s; the bare binary's flag default is 60 s
# (cmd/metrics-server/app/options/options.go), which FAQ.md quotes.
METRIC_RESOLUTION_S = 15.0
# The default scale-up behaviour: the larger of +100 % and +4 pods per 15 s
# (kubernetes/pkg/apis/autoscaling/v2/defaults.go, defaultHPAScaleUpRules: Percent 100 and
# Pods 4, periodSeconds 15, selectPolicy Max; Kubernetes docs, HPA "Default Behavior").
SCALE_UP_PERCENT = 100
SCALE_UP_PODS = 4
SCALE_UP_PERIOD_S = 15.0


def millicores(cores: float) -> int:
    """``cores`` (>= 0) as whole millicores, as the HPA reads a CPU quantity: metrics-server
    reports whole nanocores and the metrics client takes ``Quantity.MilliValue()``, which
    rounds up (kubernetes/pkg/controller/podautoscaler/metrics/client.go,
    GetResourceMetric). The nanocores are rounded, not truncated: the float sums' last
    bits (20 × 0.1 = 2.0000000000000004) are no usage."""
    nanocores = round(cores * 1e9)
    return -(-nanocores // 1_000_000)


def utilisation_ratio(usage_m: int, requests_m: int, target: float) -> float:
    """The HPA's usage ratio: utilisation as a whole percent of the requests, truncated,
    over the target percent (``target`` a fraction of the request, 0.6 for 60 %).

    kubernetes/pkg/controller/podautoscaler/metrics/utilization.go,
    GetResourceUtilizationRatio: ``currentUtilization := int32((metricsTotal * 100) /
    requestsTotal)``, returned as ``float64(currentUtilization) /
    float64(targetUtilization)``. ``usage_m`` and ``requests_m``: millicores, summed over
    the pods counted (``requests_m`` > 0). A target is a whole percent in Kubernetes
    (``averageUtilization``, an int32); a finer one is kept as given."""
    percent = usage_m * 100 // requests_m
    return percent / round(target * 100, 9)


def within(ratio: float, tolerance: float) -> bool:
    """Whether the usage ratio is close enough to 1 to keep the replicas: ``1 - tolerance
    <= ratio <= 1 + tolerance`` (replica_calculator.go, Tolerances.isWithin; in floats, so
    66 % over a 60 % target, 1.1, is within 0.1, where ``abs(1 - 1.1)`` is not)."""
    return 1 - tolerance <= ratio <= 1 + tolerance


def hpa_recommendation(current: int, ready: int, unready: int, usage_cores: float, cores_per_replica: float,
                       target: float, tolerance: float, missing: int = 0) -> int:
    """The replicas Kubernetes' HPA recommends for average CPU utilisation ``target`` (of
    the request, 0 < target <= 1), before its bounds and behaviour, by its rule
    (kubernetes/pkg/controller/podautoscaler/replica_calculator.go, GetResourceReplicas
    and groupPods; Kubernetes docs, "Horizontal Pod Autoscaling", Algorithm details):

    - The ``ready`` replicas' metrics alone give the usage ratio, their utilisation as a
      whole percent of their requests (truncated) over the target percent
      (:func:`utilisation_ratio`). ``unready`` replicas (Pending, or running but not
      ready, or ready less than a metric window ago: within the CPU initialisation
      period) are left out of it; so are the ``missing`` ones (running, without metrics).
    - With neither missing replicas nor unready ones on a scale-up (ratio > 1):
      ``current`` within ``tolerance`` of 1, else ``ceil(ratio × ready)``.
    - Else the ratio is worked out again over more replicas: the missing ones at 100 % of
      their request (``max(100 %, target)``, and the target is at most 100 % here) if
      the ratio was below 1, at 0 % if above; the unready ones at 0 % only if it was
      above 1 (a scale-up), else they stay left out. If the new ratio is within
      ``tolerance`` of 1, or on the other side of 1 than the first, ``current``; else
      ``ceil(new ratio × replicas counted)``, unless that moves from ``current`` the
      other way than the new ratio says (then ``current``).

    No ready replica (no metrics): ``current``.

    ``usage_cores``: the CPU the ``ready`` replicas use, in cores (what the metrics API
    reports: cgroup usage over metrics-server's window, so at most each replica's limit;
    demand its replicas could not serve is not in it), read in whole millicores
    (:func:`millicores`). ``cores_per_replica``: each replica's request, in cores (> 0)."""
    if ready == 0:
        return current
    request_m = millicores(cores_per_replica)
    usage_m = millicores(usage_cores)
    ratio = utilisation_ratio(usage_m, ready * request_m, target)
    scale_up_with_unready = unready > 0 and ratio > 1
    if not scale_up_with_unready and missing == 0:
        if within(ratio, tolerance):
            return current
        return math.ceil(ratio * ready)
    counted, usage = ready, usage_m
    if ratio < 1:  # missing replicas as using their whole request on a scale-down ...
        counted, usage = counted + missing, usage + missing * request_m
    elif ratio > 1:  # ... and nothing on a scale-up (at exactly 1 they stay left out)
        counted += missing
    if scale_up_with_unready:
        counted += unready  # unready replicas as using nothing, on a scale-up only
    new_ratio = utilisation_ratio(usage, counted * request_m, target)
    if within(new_ratio, tolerance) or (ratio < 1 < new_ratio) or (ratio > 1 > new_ratio):
        return current
    replicas = math.ceil(new_ratio * counted)
    if (new_ratio < 1 and replicas > current) or (new_ratio > 1 and replicas < current):
        return current
    return replicas


def hpa_scale_up_limit(current: int, added: int = 0, removed: int = 0) -> int:
    """Most replicas the HPA may set now, from ``current`` (its last desired count), given
    the replicas it ``added`` and ``removed`` within the last :data:`SCALE_UP_PERIOD_S`
    (its scale events less than a period old). The default scale-up behaviour counts
    from the replicas at the period's start, ``current - added + removed``: the larger of
    +100 % (rounded up) and +4 pods of them, and never below ``current``
    (kubernetes/pkg/controller/podautoscaler/horizontal.go,
    calculateScaleUpLimitWithScalingRules, getReplicasChangePerPeriod,
    convertDesiredReplicasWithBehaviorRate). With a sync every 15 s or more, no event is
    within the period and the limit is ``max(2 × current, current + 4)``."""
    start = current - added + removed
    limit = max(math.ceil(start * (1 + SCALE_UP_PERCENT / 100)), start + SCALE_UP_PODS)
    return max(limit, current)


# --- demand --------------------------------------------------------------------------

def demand_series(spec: DemandSpec, duration_s: float) -> tuple[np.ndarray, np.ndarray]:
    """``(t_s, cores)``: the demand from each time on until the next, shapes ``(k,)``;
    times start at 0 and include every ``step_s`` and every step's and spike's edge.

    Raises ``InputError`` (one line, naming the file) when a ``trace`` has fewer minutes
    than ``duration_s``."""
    times = set(np.arange(0.0, duration_s, spec.step_s).tolist())
    times.update(at for at, _ in spec.steps if at < duration_s)
    for spike in spec.spikes:
        times.update(t for t in (spike.at_s, spike.at_s + spike.duration_s) if t < duration_s)
    series = None
    if spec.series is not None:
        series = plain_series(spec.series, duration_s)
        times.update(series[0][series[0] < duration_s].tolist())
    t = np.array(sorted(times))
    per_request = spec.per_request_core_s
    values = np.full(len(t), spec.cores if per_request is None else spec.requests_per_s)
    for at, value in spec.steps:
        values[t >= at] = value
    if series is not None:  # the demand itself (DemandSpec: no cores or requests_per_s beside it)
        values = series[1][np.searchsorted(series[0], t, side="right") - 1]
    cores = values if per_request is None else values * per_request  # requests/s × core-s per request
    if spec.trace is not None:
        per_minute, core_s = _azure_functions(spec)
        if duration_s > 60.0 * len(per_minute):  # held at its last minute, the rest of the run would be made up
            raise InputError(f"{spec.trace}: {len(per_minute):,} minutes of invocations "
                             f"({60 * len(per_minute):,} s), shorter than the run (simulation.duration_s = "
                             f"{duration_s:,.10g} s): give a series covering the whole run, or a shorter "
                             "simulation.duration_s")
        minute = (t // 60).astype(int)
        cores = cores + per_minute[minute] / 60.0 * core_s
    if spec.diurnal_amplitude:
        cores = cores * (1 + spec.diurnal_amplitude * np.cos(2 * np.pi * (t - spec.diurnal_peak_s) / 86400.0))
    for spike in spec.spikes:
        cores = np.where((t >= spike.at_s) & (t < spike.at_s + spike.duration_s), cores * spike.factor, cores)
    return t, cores


MAX_SERIES_ROWS = 1_000_000  # a series' rows within the run: each a demand step (simdc.config.MAX_DEMAND_POINTS)


def plain_series(path: Path, duration_s: float) -> tuple[np.ndarray, np.ndarray]:
    """``(t_s, value)`` of a CSV with the columns ``t_s,value``: each value (>= 0) holds
    from its ``t_s`` until the next; times increase from 0. Shapes ``(k,)``.

    Raises
    ------
    InputError
        One line naming the file and line: unreadable, another header, a time or value
        that is not a number, negative, a value above ``limits.MAX_DEMAND``, a first time
        after 0, times not increasing, more than :data:`MAX_SERIES_ROWS` rows within the
        run, or a last line without a line end (it may have been cut, as in the trace
        readers: :func:`simdc.workload.readers.common.refuse_cut`).
    """
    refuse_cut(path)
    try:
        table = pd.read_csv(path, dtype=str, skipinitialspace=True, skip_blank_lines=False)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read the demand series: {clip(err, 200)}") from None
    refuse_header(path, list(map(str, table.columns)), ("t_s", "value"))
    if not len(table):
        raise InputError(f"{path}: no rows after the header (expected t_s,value rows, the first at t_s 0)")
    lines = np.arange(len(table)) + 2  # rows after the header (blank lines kept: they are errors)
    numbers = table.apply(lambda column: pd.to_numeric(column.str.strip(), errors="coerce"))
    t, value = numbers.iloc[:, 0].to_numpy(float), numbers.iloc[:, 1].to_numpy(float)
    for name, column, raw in (("t_s", t, table.iloc[:, 0]), ("value", value, table.iloc[:, 1])):
        bad = np.flatnonzero(~np.isfinite(column) | (column < 0))
        if len(bad):
            got = raw.iloc[bad[0]]
            raise InputError(f"{path}: line {lines[bad[0]]}: {name}: expected a number >= 0 "
                             f"(got {'nothing' if got != got or got is None else clip(repr(got))})")
    high = np.flatnonzero(value > limits.MAX_DEMAND)
    if len(high):
        raise InputError(f"{path}: line {lines[high[0]]}: value: must be <= {limits.MAX_DEMAND:,.0f} "
                         f"(a million hosts of 1,000 cores) (got {clip(table.iloc[high[0], 1])})")
    if t[0] != 0:
        raise InputError(f"{path}: line 2: the first t_s must be 0 (the value at the run's start; got {t[0]:g})")
    back = np.flatnonzero(np.diff(t) <= 0)
    if len(back):
        raise InputError(f"{path}: line {lines[back[0] + 1]}: t_s {t[back[0] + 1]:g} is not after the line before's "
                         f"({t[back[0]]:g}): times must increase")
    within = int((t < duration_s).sum())
    if within > MAX_SERIES_ROWS:
        raise InputError(f"{path}: {within:,} rows within the run; at most {MAX_SERIES_ROWS:,} (a coarser series)")
    return t, value


def _azure_functions(spec: DemandSpec) -> tuple[np.ndarray, float]:
    """Invocations per minute of one function of the Azure Functions 2019 trace (from the
    file's first minute column on), and the core-seconds one invocation costs."""
    path = spec.trace
    refuse_cut(path)
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: cannot read the invocations table: {err}") from None
    minutes = [c for c in table.columns if str(c).isdigit()]
    if "HashFunction" not in table.columns or not minutes:
        raise InputError(f"{path}: expected Azure Functions 2019 invocations (HashFunction and a column per "
                         "minute of the day)")
    if not len(table):  # the busiest function of none (argmax of an empty sequence) was a ValueError
        raise InputError(f"{path}: no functions: the header only (expected a row per function: its HashFunction "
                         "and its invocations in each minute)")
    numbers = table[minutes].apply(pd.to_numeric, errors="coerce")
    bad = numbers.isna() | (numbers < 0)
    if bad.any().any():
        row, column = np.argwhere(bad.to_numpy())[0]
        raise InputError(f"{path}: line {row + 2}, minute {minutes[column]}: expected a count of invocations >= 0 "
                         f"(got {table[minutes[column]].iloc[row]!r})")
    counts = numbers.to_numpy(float)
    if spec.function is None:
        row = int(counts.sum(axis=1).argmax())
    else:
        found = np.flatnonzero(table["HashFunction"].to_numpy() == spec.function)
        if not len(found):
            raise InputError(f"{path}: function {spec.function!r} is not in the trace (HashFunction)")
        row = int(found[0])
    core_s = spec.core_s_per_invocation
    if core_s is None:
        durations = path.with_name("durations.csv")
        if durations.is_file():
            refuse_cut(durations)
        try:
            table_d = pd.read_csv(durations)
        except (OSError, ValueError) as err:
            raise InputError(f"{durations}: needed for the function's average duration (or set "
                             f"demand.core_s_per_invocation): {err}") from None
        if not {"HashFunction", "Average"} <= set(table_d.columns):
            raise InputError(f"{durations}: expected Azure Functions 2019 durations (HashFunction, Average in ms)")
        match = pd.to_numeric(table_d.loc[table_d["HashFunction"] == table["HashFunction"].iloc[row], "Average"],
                              errors="coerce")
        if not len(match) or not match.iloc[0] >= 0:
            raise InputError(f"{durations}: no average duration for function {table['HashFunction'].iloc[row]!r}; "
                             "set demand.core_s_per_invocation")
        core_s = float(match.iloc[0]) / 1000.0  # ms
    return counts[row], core_s


def changed_layers_gib(spec: ServiceSpec, catalogue: dict) -> list[float]:
    """Per version of ``spec``: GiB of the layers its image has and the previous
    version's lacks (what an update in place copies; 0 for version 0 and without layers)."""
    names = [spec.image] + [r.image if r.image is not None else spec.image for r in spec.releases]
    layers = [{layer.digest: layer.size_mib for layer in catalogue[image_ref(n)].layers} if n else {} for n in names]
    return [0.0] + [sum(size for digest, size in new.items() if digest not in old) / 1024.0
                    for old, new in zip(layers, layers[1:])]


def from_workload(services: tuple[ServiceSpec, ...], instances: pd.DataFrame,
                  duration_s: float, usage=None) -> tuple[tuple[ServiceSpec, ...], pd.DataFrame, np.ndarray | None]:
    """Services that name a ``job`` take it from the workload: ``(services complete, the
    workload without those jobs' instances, the rows kept: None when all)``. Replicas: the most of the job's instances
    alive at once; size, image and memory used: its first instance's; demand (unless the
    service gives one): the sum of its instances' ``cpu_used`` while each was alive
    (from ``submit_s`` for ``duration_s``), a step at each arrival and end; with a
    trace's usage series (``usage``, a :class:`simdc.workload.usage.SeriesUsage` over
    ``instances``' rows), the sum of each one's series instead, a step wherever one
    changes.

    An entry with ``job = "*"`` stands for every job no other entry names that has
    replicas (:data:`MIN_JOB_REPLICAS` or more instances alive at once) and no
    dependencies (no instance that waits for a parent or is one: a workflow's tasks, left
    to run as batch work; :func:`workflow_jobs`), in the order of their first arrival:
    one service each, named after the job (``name/job`` when the entry has a name), the
    entry's keys applied to each.

    Raises
    ------
    InputError
        A job the workload does not have, or one with dependencies (a service's replicas
        run until removed and wait for nothing, so they cannot replay a workflow's
        tasks); ``job = "*"`` over a workload with no job with replicas and without
        dependencies, or making a service whose name another entry has.
    """
    if not any(service.job for service in services):
        return services, instances, None
    jobs = instances["job"].astype(str).to_numpy() if "job" in instances else np.full(len(instances), "")
    waits, parent = linked_rows(instances)
    taken = np.zeros(len(instances), dtype=bool)
    done = []
    for index, service in enumerate(services):
        if service.job is None or service.job == "*":
            done.append(service)
            continue
        mine = jobs == service.job
        if not mine.any():
            known = sorted(set(jobs) - {""})
            raise InputError(f"services[{index}].job: the workload has no instance of job {service.job!r}"
                             + (f"; its jobs include: {', '.join(known[:5])}" if known else " (it has no job column)"))
        if (mine & (waits | parent)).any():
            raise InputError(f"services[{index}].job: job {service.job!r} has dependencies: "
                             f"{int((mine & waits).sum()):,} of its {int(mine.sum()):,} instances wait for parents and "
                             f"{int((mine & parent).sum()):,} are parents (the workload's parents column); a service's "
                             "replicas run until removed and wait for nothing, so a workflow's tasks cannot be one: "
                             "name a job without dependencies, or leave this one out to replay it as batch work")
        taken |= mine
        done.append(_from_job(service, instances, np.flatnonzero(mine), duration_s, usage))
    every = [index for index, service in enumerate(services) if service.job == "*"]
    if every:
        index = every[0]
        template = done[index]
        expanded = []
        names = {service.name for service in done if service.job != "*"}
        workflows = workflow_jobs(jobs, waits, parent)
        free = ~taken & (jobs != "") & ~np.isin(jobs, list(workflows))
        most = most_alive(jobs[free], instances["submit_s"].to_numpy(float)[free],
                          instances["duration_s"].to_numpy(float)[free], duration_s)
        chosen = [job for job, count in most.items() if count >= MIN_JOB_REPLICAS]
        if not chosen:
            left = len(workflows)
            raise InputError(f"services[{index}].job: '*' takes every job with {MIN_JOB_REPLICAS} or more instances "
                             "alive at once and no dependencies, and the workload has none"
                             + ("" if (jobs != "").any() else " (it has no job column)")
                             + (f" ({left:,} jobs with dependencies, whose instances wait for parents or are parents, "
                                "are left to run as batch work)" if left else ""))
        for job in chosen:
            name = f"{template.name}/{job}" if template.name else job
            if name in names:
                raise InputError(f"services[{index}].job: '*' makes a service {name!r} from job {job!r}, and another "
                                 "entry is named so; rename that entry")
            mine = jobs == job
            taken |= mine
            expanded.append(_from_job(template.model_copy(update={"name": name, "job": job}), instances,
                                      np.flatnonzero(mine), duration_s, usage))
        done[index:index + 1] = expanded
    return tuple(done), instances[~taken].reset_index(drop=True), np.flatnonzero(~taken)


def _series_changes(usage, index: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(t_s, change in cores)``: the instances ``index`` of ``usage`` (a SeriesUsage),
    each alive over [``start``, ``end``): its series' value at age ``k·step_s`` from
    ``start + k·step_s`` on (the last holding to its end), as the engine reads it."""
    step = usage.step_s
    live = end > start
    index, start, end = index[live], start[live], end[live]
    steps = np.minimum(usage.length[index], np.ceil((end - start) / step).astype(np.int64))
    first = np.repeat(np.cumsum(steps) - steps, steps)
    k = np.arange(int(steps.sum())) - first  # each instance's steps 0, 1, ...
    owner = np.repeat(np.arange(len(index)), steps)
    value = usage.cpu[usage.ptr[index][owner] + k]
    before = np.where(k > 0, np.r_[0.0, value[:-1]], 0.0)
    final = value[np.cumsum(steps) - 1]
    return (np.concatenate([start[owner] + k * step, end]), np.concatenate([value - before, -final]))


MIN_JOB_REPLICAS = 2  # job = "*": a job is a replica set when this many of its instances are alive at once


def linked_rows(instances: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(waits, parent)``, shapes ``(n,)``: which rows of ``instances`` wait for a parent,
    and which are a parent of some row (the ``parents`` column; both all False without)."""
    waits, parent = np.zeros(len(instances), dtype=bool), np.zeros(len(instances), dtype=bool)
    if has_parents(instances):
        for row, mine in enumerate(positions(instances, "workload")):
            if mine:
                waits[row] = True
                parent[mine] = True
    return waits, parent


def workflow_jobs(jobs: np.ndarray, waits: np.ndarray, parent: np.ndarray) -> set[str]:
    """The jobs (``jobs``: each row's, ``""`` none) with a row that waits for a parent or
    is one (:func:`linked_rows`): a workflow's, which ``job = "*"`` leaves as batch work."""
    return set(jobs[(waits | parent) & (jobs != "")].tolist())


def left_to_batch(services: tuple[ServiceSpec, ...], instances: pd.DataFrame) -> list[str]:
    """A note when a ``job = "*"`` entry of ``services`` leaves jobs with dependencies of
    ``instances`` to run as batch work (:func:`from_workload`), else none."""
    every = [index for index, service in enumerate(services) if service.job == "*"]
    if not every or "job" not in instances:
        return []
    jobs = instances["job"].astype(str).to_numpy()
    named = {service.job for service in services if service.job not in (None, "*")}
    left = workflow_jobs(jobs, *linked_rows(instances)) - named
    if not left:
        return []
    return [f"services[{every[0]}].job: '*' left out {len(left):,} jobs with dependencies (instances that wait "
            "for parents or are parents: a workflow's tasks, which replicas cannot replay); they run as batch work"]


def most_alive(jobs: np.ndarray, submit_s: np.ndarray, duration_s: np.ndarray, horizon_s: float) -> dict[str, int]:
    """Per job (in the order of its first arrival), the most of its instances alive at
    once, each over [``submit_s``, ``submit_s + duration_s``) cut at ``horizon_s``
    (one ending as another arrives is not alive with it). Shapes ``(n,)``."""
    if not len(jobs):
        return {}
    end = np.minimum(submit_s + duration_s, horizon_s)
    live = submit_s < horizon_s
    frame = pd.DataFrame({"job": np.concatenate([jobs[live], jobs[live]]),
                          "t": np.concatenate([submit_s[live], end[live]]),
                          "alive": np.concatenate([np.ones(live.sum(), int), -np.ones(live.sum(), int)])})
    frame = frame.sort_values(["job", "t", "alive"], kind="stable")  # at one moment, ends first
    frame["count"] = frame.groupby("job", sort=False)["alive"].cumsum()
    peak = frame.groupby("job", sort=False)["count"].max()
    first = pd.Series(submit_s[live], index=jobs[live]).groupby(level=0).min()
    return {str(job): int(peak[job]) for job in first.sort_values(kind="stable").index}


def _from_job(service: ServiceSpec, instances: pd.DataFrame, index: np.ndarray, duration_s: float,
              usage=None) -> ServiceSpec:
    """``service`` completed from its job's instances, the rows ``index`` of ``instances``
    (see :func:`from_workload`)."""
    from simdc.workload.usage import SeriesUsage

    rows = instances.iloc[index]
    start = rows["submit_s"].to_numpy(float)
    end = np.minimum(start + rows["duration_s"].to_numpy(float), duration_s)
    n = len(start)
    if isinstance(usage, SeriesUsage):
        edges, change = _series_changes(usage, index, start, end)
    else:
        cpu = rows["cpu_used"].to_numpy(float)
        edges, change = np.concatenate([start, end]), np.concatenate([cpu, -cpu])
    alive_at, alive = np.concatenate([start, end]), np.concatenate([np.ones(n), -np.ones(n)])
    order = np.lexsort((alive, alive_at))  # at one moment, ends before arrivals
    count = np.cumsum(alive[order])
    order = np.lexsort((change, edges))
    times, cores = edges[order], np.cumsum(change[order])
    last = np.r_[times[1:] != times[:-1], True]  # a moment's value after all its changes
    steps = [(0.0, 0.0)] + [(float(t), max(float(c), 0.0)) for t, c in zip(times[last], cores[last])
                            if t < duration_s]
    first = rows.iloc[0]
    update = {"replicas": service.replicas if service.replicas is not None else int(count.max()),
              "cpu_cores": service.cpu_cores or float(first["cpu_cores"]),
              "memory_gib": service.memory_gib or float(first["memory_gib"]),
              "memory_used_gib": service.memory_used_gib or float(first["memory_used_gib"]),
              "image": service.image or str(first.get("image", "") or "")}
    if "demand" not in service.model_fields_set:
        update["demand"] = service.demand.model_copy(update={"steps": tuple(steps), "cores": 0.0})
    return service.model_copy(update=update)


# --- the rows of replicas ------------------------------------------------------------

@dataclass
class Plan:
    """Where each service's slots are: ``pools[s][v]`` the row indices of version ``v``."""

    services: tuple[ServiceSpec, ...]
    first: int  # the first slot row; rows before are the workload's
    pools: list[list[list[int]]] = field(default_factory=list)
    service_of: np.ndarray | None = None  # per slot row (offset by first): the service's index
    version_of: np.ndarray | None = None


MAX_POOL = 50_000  # slots per version at most (about 1 KiB of engine state each); beyond, a warning


def pool_size(service: ServiceSpec, duration_s: float) -> int:
    """Slots per version: twice the most replicas (replacements of lost ones), and with
    an autoscaler room for a full scale-up every stabilisation window, up to MAX_POOL
    (never fewer than twice the most replicas)."""
    if service.autoscale is None:
        return 2 * service.replicas + 8
    scale = service.autoscale
    windows = math.ceil(duration_s / max(scale.scale_down_stabilisation_s, scale.sync_s, 60.0))
    return max(min(scale.max_replicas * (2 + windows) + 8, MAX_POOL), 2 * scale.max_replicas + 8)


def with_replicas(instances: pd.DataFrame, services: tuple[ServiceSpec, ...],
                  duration_s: float) -> tuple[pd.DataFrame, Plan]:
    """The workload's rows followed by every service's slots (never submitted by the
    arrival process: ``submit_s`` is infinite), and where they are."""
    plan = Plan(services, len(instances))
    numeric = pd.api.types.is_numeric_dtype(instances["id"]) and len(instances)
    next_id = int(instances["id"].max()) + 1 if numeric else 0
    frames, service_of, version_of = [], [], []
    row = plan.first
    for s, service in enumerate(services):
        images = [service.image] + [release.image if release.image is not None else service.image
                                    for release in service.releases]
        size = pool_size(service, duration_s)
        pools = []
        for v, image in enumerate(images):
            pools.append(list(range(row, row + size)))
            row += size
            ids = (np.arange(next_id, next_id + size) if numeric or not len(instances)
                   else [f"{service.name}/v{v}/{k}" for k in range(size)])
            next_id += size
            frames.append(pd.DataFrame({
                "id": ids, "submit_s": np.inf, "duration_s": np.inf, "cpu_cores": service.cpu_cores,
                "memory_gib": service.memory_gib, "cpu_used": service.cpu_cores,
                "memory_used_gib": service.memory_used_gib or service.memory_gib, "kind": "service",
                "image": image, "priority": 0, "cpu_limit": np.nan, "memory_limit_gib": np.nan,
                "membw_intensity": 0.0, "io_intensity": 0.0, "job": service.name}))
            service_of += [s] * size
            version_of += [v] * size
        plan.pools.append(pools)
    plan.service_of, plan.version_of = np.array(service_of, int), np.array(version_of, int)
    slots = pd.concat(frames, ignore_index=True)
    if not len(instances):
        return slots, plan
    for column in instances.columns.difference(slots.columns):
        slots[column] = np.nan
    if isinstance(instances["job"].dtype, pd.CategoricalDtype):
        instances = instances.assign(job=instances["job"].astype(str))
    frame = pd.concat([instances, slots[instances.columns]], ignore_index=True)
    return frame, plan


class ReplicaUsage:
    """The workload's usage model for its rows; a replica's CPU is its share of its
    service's demand (split evenly over the service's ready replicas, at most its cores;
    none while not ready), its memory its ``memory_used_gib``, re-read every demand step
    and whenever the service's demand or ready replicas change (:meth:`Controller._on_reshare`)."""

    def __init__(self, base, plan: Plan, cpu: np.ndarray, mem: np.ndarray, factor: float = 1.0,
                 kept: np.ndarray | None = None):
        self.base, self.plan, self.cpu, self.mem, self.factor = base, plan, cpu, mem, factor
        self.kept = kept  # the base model's row of each workload row (some left to services), None: the same
        self.controller = None
        steps = [s.demand.step_s for s in plan.services]
        self.step_s = min([*steps, *([base.step_s] if base is not None and base.step_s else [])])

    def scaled_cpu(self, factor: float) -> "ReplicaUsage":
        base = None if self.base is None else self.base.scaled_cpu(factor)
        return ReplicaUsage(base, self.plan, self.cpu, self.mem, self.factor * factor, self.kept)

    def _replica_cpu(self, inst: np.ndarray, now: float) -> np.ndarray:
        share = np.zeros(len(inst))
        if self.controller is not None:
            s = self.plan.service_of[inst - self.plan.first]
            for k in np.unique(s).tolist():  # one count of a service's ready replicas, not one per replica
                share[s == k] = self.controller.share(k, now)
            share *= [self.controller.carries(i) for i in inst.tolist()]  # not ready: no traffic, no CPU
        return np.minimum(share, self.cpu[inst]) * self.factor

    def at(self, inst, age_s, now):
        inst = np.asarray(inst)
        cpu, mem = np.empty(len(inst)), np.empty(len(inst))
        mine = inst >= self.plan.first
        if (~mine).any():
            if self.base is None:
                cpu[~mine], mem[~mine] = self.cpu[inst[~mine]] * self.factor, self.mem[inst[~mine]]
            else:
                rows = inst[~mine] if self.kept is None else self.kept[inst[~mine]]
                cpu[~mine], mem[~mine] = self.base.at(rows, np.asarray(age_s)[~mine], now)
        if mine.any():
            cpu[mine], mem[mine] = self._replica_cpu(inst[mine], now), self.mem[inst[mine]]
        return cpu, mem

    def at_one(self, i, age_s, now):
        cpu, mem = self.at(np.array([i]), np.array([age_s]), now)
        return float(cpu[0]), float(mem[0])

    def quantile(self, q):
        """The workload rows' q-quantile (their model's); a replica's most: its cores."""
        return self._with_base(lambda base: base.quantile(q))

    def upper(self):
        return self._with_base(lambda base: base.upper())

    def _with_base(self, ask):
        cpu, mem = self.cpu * self.factor, self.mem.copy()
        if self.base is not None:
            n = self.plan.first
            base_cpu, base_mem = ask(self.base)
            rows = np.arange(n) if self.kept is None else self.kept
            cpu[:n], mem[:n] = base_cpu[rows], base_mem[rows]
        return cpu, mem


# --- the controller ------------------------------------------------------------------

class Controller:
    """Every service's Deployment (and autoscaler) in one platform's run.

    ``sim`` is the :class:`simdc.engine.simulation.Simulation` it acts on; it calls
    :meth:`running`, :meth:`stopped` and :meth:`changed` when a replica's state changes.
    """

    def __init__(self, sim, plan: Plan, duration_s: float):
        self.sim, self.plan, self.first = sim, plan, plan.first
        self.specs = plan.services
        n = len(self.specs)
        self.demand = [demand_series(spec.demand, duration_s) for spec in self.specs]
        self.version = [0] * n
        self.next_slot = [[0] * len(pools) for pools in plan.pools]
        self.pods: list[list[int]] = [[] for _ in range(n)]  # live replicas, oldest first
        self.ready: set[int] = set()
        self.created_s: dict[int, float] = {}
        self.desired = [self._bounded(k, spec.replicas) for k, spec in enumerate(self.specs)]
        self.pending = [False] * n
        self.blocked_until = [-1.0] * n
        # Each autoscaler's (time, recommendation) within its scale-down window, seeded with the
        # replicas at the start, as Kubernetes seeds it when it first reconciles the HPA
        # (pkg/controller/podautoscaler/horizontal.go, recordInitialRecommendation in
        # reconcileAutoscaler): no scale-down below them until the window has passed.
        self.recommendations: list[list[tuple[float, int]]] = [[(0.0, replicas)] for replicas in self.desired]
        # Each autoscaler's scale events, (time, replicas added, or removed if < 0), for its
        # scale-up limit (hpa_scale_up_limit); and metrics-server's scrapes of its replicas:
        # the core-seconds each had been given at the last two (`scrapes`: earlier, later),
        # taken every METRIC_RESOLUTION_S from 0 s (`scraped`: how many so far), and when each
        # replica last became ready (`ready_since`).
        self.scale_events: list[list[tuple[float, int]]] = [[] for _ in range(n)]
        self.scrapes: list[tuple[dict[int, float], dict[int, float]]] = [({}, {}) for _ in range(n)]
        self.scraped = [0] * n
        self.synced = [0] * n
        self.ready_since: dict[int, float] = {}
        self.rollout: list[dict | None] = [None] * n
        self.series: list[list] = []
        # Per service: its last row in `series` (None before the first), and the core-seconds
        # its replicas had been given by then (the engine's, host cores); replicas no longer
        # live, pruned from `pods`, leave theirs in `banked`.
        self.last_row: list[int | None] = [None] * n
        self.used_mark = [0.0] * n
        self.banked = [0.0] * n
        # Per service: (demand, ready_moves) when its running replicas last got their shares,
        # the count of changes to its ready replicas, and whether a new sharing is due now.
        self.shared: list[tuple | None] = [None] * n
        self.ready_moves = [0] * n
        self.resharing = [False] * n
        self.releases: list[dict] = []
        self.exhausted: set[int] = set()
        # replicas created that no host would take: pending (QUEUED, outside the engine's
        # queue) until a retry places them or the controller removes them (rejected)
        self.unplaced: list[list[int]] = [[] for _ in range(n)]
        self.updated: dict[int, int] = {}  # replica -> the version it was updated to in place
        self.updating: dict[int, int] = {}
        self.changed_gib = [changed_layers_gib(spec, sim.image_catalogue) for spec in self.specs]
        self.preexisting: set[int] = set()  # replicas up when the run began (running_at_start)
        # their drawn start, disk copy and layers, put back once they leave their first host:
        # only the start before the run was free, not a restart after a drain or a failure
        # (whose start is a new draw in any case: Simulation.start_time)
        self.drawn: dict[int, tuple] = {}
        self.warm = [spec.autoscale.warm_pool if spec.autoscale is not None and sim.vm else 0
                     for spec in self.specs]
        # The warm pools' books: every VM taken is used (its replica placed on a host) or
        # returned (its replica never placed: pending, removed, or still waiting at the end).
        self.taken_from_pool: dict[int, int] = {}  # replica -> its take (a serial), until placed or returned
        self.void_refills: set[int] = set()  # takes returned: their refill timers do nothing
        self.pool_counts = [{"taken": 0, "used": 0, "returned": 0} for _ in self.specs]

    def _bounded(self, k: int, replicas: int) -> int:
        scale = self.specs[k].autoscale
        return replicas if scale is None else min(max(replicas, scale.min_replicas), scale.max_replicas)

    # --- the engine's hooks --------------------------------------------------------

    def start(self) -> None:
        for k, spec in enumerate(self.specs):
            if spec.running_at_start:
                self._create(k, self.desired[k], 0.0, up_already=True)
            self._reconcile(k, 0.0)
            if len(self.demand[k][0]) > 1:  # one timer at a time along the demand's grid
                self.sim._after(float(self.demand[k][0][1]), self._on_demand, (k, 1))
            for r, release in enumerate(spec.releases):
                self.sim._after(release.at_s, self._on_release, (k, r))
            if spec.autoscale is not None:
                self._on_metrics(0.0, k)

    def running(self, i: int, now: float) -> None:
        """Replica ``i`` runs: ready after its service's readiness delay, unless it stops first
        (a VM restarted from its disk runs the version of its row again)."""
        self.updated.pop(i, None)
        up_already = i in self.preexisting and self.sim.restarts[i] == 0 and self.sim.replacements[i] == 0
        self._await_readiness(i, up_already)

    def _await_readiness(self, i: int, up_already: bool = False) -> None:
        """Replica ``i``'s application has started (or restarted): ready once its readiness
        probe passes, ``readiness_s`` later, unless it stops first; at once if it was up
        when the run began (``up_already``)."""
        delay_s = 0.0 if up_already else self.specs[self._service(i)].readiness_s
        self.sim._after(delay_s, self._on_readiness, (i, self.sim.attempt_s[i]))

    def stopped(self, i: int) -> None:
        """Replica ``i`` no longer runs (its readiness ends with it)."""
        if i in self.ready:
            self._set_ready(i, False)
            self.changed(i)

    def changed(self, i: int) -> None:
        """Replica ``i`` left its host or was turned away: reconcile its service, at this
        instant but after the engine's step is done."""
        k = self._service(i)
        if i in self.taken_from_pool:
            self._settle_warm_vm(k, i)
        drawn = self.drawn.pop(i, None)
        if drawn is not None:  # off its host, its layers unpinned: the next start pins and pays them
            self.sim.start_s[i], self.sim.copy_gib[i], self.sim.needs[i] = drawn
        if not self.pending[k]:
            self.pending[k] = True
            self.sim._after(0.0, self._on_reconcile, k)

    def share(self, k: int, now: float) -> float:
        """Cores of demand each ready replica of service ``k`` carries now (at most its
        ``cpu_cores``); a replica not ready carries none: Kubernetes sends traffic to
        Ready endpoints only (Kubernetes docs, "Pod Lifecycle", Container probes:
        readinessProbe). So the replicas' demand adds up to :meth:`_carried`; what they
        serve of it is what their hosts give them (:meth:`served_now`)."""
        ready = sum(1 for i in self.pods[k] if i in self.ready)
        return self._carried(k, self._demand_at(k, now), ready) / ready if ready else 0.0

    def _set_ready(self, i: int, ready: bool) -> None:
        """Replica ``i`` becomes ready, or no longer is (its service's shares move)."""
        if ready:
            self.ready.add(i)
            self.ready_since[i] = self.sim.env.now
        else:
            self.ready.discard(i)
            self.ready_since.pop(i, None)
        self.ready_moves[self._service(i)] += 1

    def carries(self, i: int) -> bool:
        """Whether replica ``i`` takes a share of its service's demand (it is ready)."""
        return i in self.ready

    # --- events --------------------------------------------------------------------

    def _service(self, i: int) -> int:
        return int(self.plan.service_of[i - self.first])

    def _demand_at(self, k: int, now: float) -> float:
        times, cores = self.demand[k]
        return float(cores[max(int(np.searchsorted(times, now, side="right")) - 1, 0)])

    def _on_readiness(self, now: float, value) -> None:
        i, attempt = value
        if self.sim.state[i] == RUNNING and self.sim.attempt_s[i] == attempt:
            self._set_ready(i, True)
            self._reconcile(self._service(i), self.sim.env.now)

    def _on_reconcile(self, now: float, value) -> None:
        k = value
        self.pending[k] = False
        self._reconcile(k, self.sim.env.now)

    def _on_demand(self, now: float, value) -> None:
        k, j = value
        self._record(k, now)
        times = self.demand[k][0]
        if j + 1 < len(times):
            self.sim._after(float(times[j + 1]) - now, self._on_demand, (k, j + 1))

    def _on_release(self, now: float, value) -> None:
        k, r = value
        self._finish_rollout(k, now, done=False)  # a release during a rollout cuts the older one short
        self.version[k] = r + 1
        self.rollout[k] = {"service": self.specs[k].name, "release": r + 1, "at_s": now, "end_s": np.nan,
                           "finished": False,
                           "pulled_before": sum(self.sim.pulled_gib), "pulled_gib": np.nan}
        self._reconcile(k, now)

    def _on_metrics(self, now: float, value) -> None:
        """Service ``k``'s autoscaler timer: metrics-server's scrape of its replicas every
        :data:`METRIC_RESOLUTION_S` from 0 s, and the HPA's sync every ``sync_s`` from
        ``sync_s``, the scrape first when both fall at one instant, so a sync reads the
        window that ends then. Times are counted (n × period), so neither grid drifts."""
        k = value
        sync_s = self.specs[k].autoscale.sync_s
        if now + TIME_EPS_S >= self.scraped[k] * METRIC_RESOLUTION_S:
            self._scrape(k, now)
        if now + TIME_EPS_S >= (self.synced[k] + 1) * sync_s:
            self._sync(k, now)
        following = min(self.scraped[k] * METRIC_RESOLUTION_S, (self.synced[k] + 1) * sync_s)
        if following < self.sim.duration_s:
            self.sim._after(max(following - now, 0.0), self._on_metrics, k)

    def _scrape(self, k: int, now: float) -> None:
        """metrics-server scrapes service ``k``'s replicas: the core-seconds each has been
        given so far (the kubelet's cumulative CPU counter) beside those of the scrape
        before."""
        _, later = self.scrapes[k]
        self.scrapes[k] = (later, {i: self.sim.cpu_used_core_s(i, now) for i in self._live(k)})
        self.scraped[k] += 1

    def _metrics(self, k: int, now: float) -> tuple[int, int]:
        """``(millicores, pods)``: what the HPA reads at ``now`` of service ``k``'s ready
        replicas from metrics-server's last scrape, at ``s`` (now or before): each one's
        CPU averaged over the window ``[s - METRIC_RESOLUTION_S, s)`` (its core-seconds
        between the last two scrapes ÷ the window; nothing before it was created), in whole
        millicores (:func:`millicores`) and application cores (÷ ``cpu_factor``), summed;
        and how many replicas that sums. So a change at ``now`` (a demand step) is not in
        it: the usage the HPA sees is at least the window's age behind.

        A replica ready less than a window before ``s`` is not counted (its sample may hold
        its start-up): groupPods sets a pod aside as unready while within the CPU
        initialisation period (5 min) if ``metric.Timestamp.Before(readyTransition +
        metric.Window)`` (kubernetes/pkg/controller/podautoscaler/replica_calculator.go).
        A replica's readiness here comes within minutes of its start, so within that period."""
        earlier, later = self.scrapes[k]
        s = (self.scraped[k] - 1) * METRIC_RESOLUTION_S
        total, pods = 0, 0
        for i in self._live(k):
            if i in self.ready and self.ready_since[i] <= s - METRIC_RESOLUTION_S and i in later:
                rate = (later[i] - earlier.get(i, 0.0)) / METRIC_RESOLUTION_S / self.sim.cpu_factor
                total += millicores(rate)
                pods += 1
        return total, pods

    def _sync(self, k: int, now: float) -> None:
        """The HPA's sync for service ``k``: its recommendation from the metrics
        (:meth:`_metrics`, :func:`hpa_recommendation`), within its bounds, then its
        default behaviour (normalizeDesiredReplicasWithBehaviors in
        kubernetes/pkg/controller/podautoscaler/horizontal.go): a scale-down to the highest
        recommendation of the stabilisation window, a scale-up within the limit
        (:func:`hpa_scale_up_limit`). That is the path of an HPA with a ``behavior``
        (defaults filled in: AutoscaleSpec's docstring). One with none at all takes
        normalizeDesiredReplicas instead, whose edges differ: a recommendation exactly the
        window old still counts (``!rec.timestamp.Before(cutoff)``), and scale-up is
        limited per sync to ``max(2 × current, 4)`` (calculateScaleUpLimit)."""
        scale = self.specs[k].autoscale
        live = self._live(k)
        current = self.desired[k]
        usage_m, counted = self._metrics(k, now)
        # A live replica not counted is pending, starting, backing off, within its readiness
        # delay (or an update in place), or ready less than a metric window: one Kubernetes
        # sets aside as unready. Every replica ready a window long has a reading, so none is missing.
        rec = hpa_recommendation(current, counted, len(live) - counted, usage_m / 1000, self.specs[k].cpu_cores,
                                 scale.target_utilisation, scale.tolerance)
        rec = min(max(rec, scale.min_replicas), scale.max_replicas)
        window = self.recommendations[k]
        # only recommendations less than the window old count beside this one:
        # `rec.timestamp.After(downCutoff)` (stabilizeRecommendationWithBehaviors), so one
        # exactly the window old is out (and with a 0 s window every earlier one)
        while window and window[0][0] <= now - scale.scale_down_stabilisation_s:
            window.pop(0)
        events = self.scale_events[k]
        while events and events[0][0] <= now - SCALE_UP_PERIOD_S:  # getReplicasChangePerPeriod: After(cutoff)
            events.pop(0)
        if rec > current:
            added = sum(change for _, change in events if change > 0)
            removed = -sum(change for _, change in events if change < 0)
            desired = min(rec, hpa_scale_up_limit(current, added, removed))
        else:
            desired = min(current, max([rec] + [r for _, r in window]))
        window.append((now, rec))
        if desired != current:
            events.append((now, desired - current))
            self.desired[k] = desired
            self._reconcile(k, now)
        self.synced[k] += 1

    # --- the Deployment ------------------------------------------------------------

    def _live(self, k: int) -> list[int]:
        """Service ``k``'s replicas not gone (pending, starting, running, backing off)."""
        state = self.sim.state
        pods = [i for i in self.pods[k] if state[i] in LIVE]
        if len(pods) < len(self.pods[k]):  # gone for good: what they were given is final
            self.banked[k] += sum(self.sim.cpu_used_core_s(i, 0.0) for i in self.pods[k] if state[i] not in LIVE)
        self.pods[k] = pods
        return pods

    def _reconcile(self, k: int, now: float) -> None:
        """Create and remove replicas until the service matches its spec (a rollout step
        at a time), then record it."""
        spec = self.specs[k]
        for _ in range(MAX_ROUNDS):
            live = self._live(k)
            new = [i for i in live if self._version(i) == self.version[k]]
            old = [i for i in live if self._version(i) != self.version[k]]
            replicas = self.desired[k]
            if old and self.sim.vm and spec.vm_update == "in_place":
                self._update_in_place(k, old, replicas, now)
                up, victims = max(replicas - len(live), 0), self._victims(old, len(live) - replicas)
            elif not old:
                up, down = max(replicas - len(new), 0), 0
                surplus = max(len(new) - replicas, 0)
                victims = self._victims(new, surplus)
            else:
                surge, unavailable = fenceposts(spec.max_surge, spec.max_unavailable, replicas)
                new_ready = sum(1 for i in new if i in self.ready)
                old_ready = sum(1 for i in old if i in self.ready)
                up, down = rollout_step(replicas, surge, unavailable, len(old), old_ready, len(new), new_ready)
                victims = self._victims(old, down)
            retried = self._retry(k, victims, now) if self.unplaced[k] else 0
            created = self._create(k, up, now) if up else 0
            for i in victims:
                self.sim._remove(i, now)
            if not created and not victims and not retried:
                break
        self._finish_rollout(k, now, done=True)
        self._record(k, now)

    def version_run(self, i: int) -> int:
        """The version replica ``i`` runs (or last ran): its row's, or the one it was updated
        to in place (until a restart from its disk runs its row's again: :meth:`running`)."""
        return self._version(i)

    def _version(self, i: int) -> int:
        """The version replica ``i`` runs: its row's, or the one it was updated to in place."""
        return self.updated.get(i, int(self.plan.version_of[i - self.first]))

    def _update_in_place(self, k: int, old: list[int], replicas: int, now: float) -> None:
        """Take old ready VMs out of service to update them in place while fewer than
        ``max_unavailable`` (at least 1) of the desired replicas are unavailable."""
        _, unavailable = fenceposts(self.specs[k].max_surge, self.specs[k].max_unavailable, replicas)
        ready = sum(1 for i in self._live(k) if i in self.ready)
        for i in [i for i in old if i in self.ready][:max(0, max(unavailable, 1) - (replicas - ready))]:
            self._set_ready(i, False)
            self.updating[i] = self.version[k]
            # the changed layers a VM updated in place fetches count as its host's pulls
            self.sim.pulled_gib[self.sim.host_of[i]] += self.changed_gib[k][self.version[k]]
            self.sim._after(self.specs[k].in_place_s, self._on_updated, (i, self.sim.attempt_s[i]))

    def _on_updated(self, now: float, value) -> None:
        i, attempt = value
        version = self.updating.pop(i, None)
        if self.sim.state[i] == RUNNING and self.sim.attempt_s[i] == attempt and version is not None:
            self.updated[i] = version
            # an update in place is a package upgrade and a restart: the restarted application
            # waits for its readiness probe like any start (ServiceSpec.vm_update)
            self._await_readiness(i)
        self.changed(i)

    def _victims(self, pods: list[int], count: int) -> list[int]:
        """Which replicas to remove: not yet ready first, then the newest (Kubernetes'
        ReplicaSet ranks pending and unready pods first; among the rest, younger first)."""
        if count <= 0:
            return []
        ranked = sorted(pods, key=lambda i: (i in self.ready, -self.created_s[i]))
        return ranked[:count]

    def _create(self, k: int, count: int, now: float, up_already: bool = False) -> int:
        """Create ``count`` new replicas of service ``k``'s current version; how many were
        created (placed, queued, or pending where no host would take them: :meth:`_pending`).
        ``up_already``: replicas running before the run (no pull, copy, boot or readiness)."""
        v = self.version[k]
        pool = self.plan.pools[k][v]
        made = 0
        for _ in range(count):
            if self.next_slot[k][v] >= len(pool):
                self.exhausted.add(k)
                return made
            i = pool[self.next_slot[k][v]]
            self.next_slot[k][v] += 1
            self.created_s[i] = now
            self.pods[k].append(i)
            if up_already:
                self.preexisting.add(i)
                self.drawn[i] = (self.sim.start_s[i], self.sim.copy_gib[i], self.sim.needs[i])
                self.sim.start_s[i], self.sim.copy_gib[i], self.sim.needs[i] = 0.0, 0.0, ()
            self._submit(k, i, now)
            made += 1
        return made

    def _submit(self, k: int, i: int, now: float) -> bool:
        """Submit replica ``i`` of service ``k``; whether a host (or the engine's queue)
        took it, else it is pending (:meth:`_pending`). A VM placed for the first time after
        the start comes from the warm pool while any is left; one that finds no host gives
        its VM back (:meth:`changed`)."""
        sim = self.sim
        if self.warm[k] and now > 0 and i not in self.drawn and sim.admit_s[i] != sim.admit_s[i]:
            self._from_warm_pool(k, i)
        sim._submit(i, now)
        if sim.state[i] not in LIVE:  # no host: pending, tried again later
            self._pending(k, i, now)
            return False
        return True

    def _pending(self, k: int, i: int, now: float) -> None:
        """Replica ``i``, turned away at ``now``, stays one pending replica (as a pod no
        node takes stays Pending, retried by the scheduler): QUEUED, never in the engine's
        queue, so it counts as live, ends queued_at_end if still pending at the horizon,
        and is rejected only when the controller removes it. The service's pending replicas
        are tried again RETRY_S later (one timer for them all), except one no host could
        hold even empty (its booking fixed: no recommender), which no retry would place."""
        self.sim.state[i] = QUEUED
        self.sim.end_s[i] = float("nan")
        self.preexisting.discard(i)  # not up when the run began after all: it pays its start (changed put it back)
        if self.sim.recommender is None and self.sim.lane.too_big[i]:
            return  # no host of the fleet could hold it even empty: pending for good, never tried again
        if i not in self.unplaced[k]:
            self.unplaced[k].append(i)
        if now >= self.blocked_until[k]:
            self.blocked_until[k] = now + RETRY_S
            self.sim._after(RETRY_S, self._on_reconcile, k)

    def _retry(self, k: int, victims: list[int], now: float) -> int:
        """Submit service ``k``'s pending replicas again, oldest first, once their retry is
        due, except those the controller is removing (``victims``); how many a host (or the
        engine's queue) took. One turned away again stays pending, and so do the rest until
        the next retry (the replicas of a service are all one size)."""
        if now < self.blocked_until[k]:
            return 0
        sim, placed = self.sim, 0
        for i in list(self.unplaced[k]):
            if sim.state[i] != QUEUED or i in victims:
                continue
            sim.state[i] = WAITING
            if not self._submit(k, i, now):
                break
            self.unplaced[k].remove(i)
            placed += 1
        self.unplaced[k] = [i for i in self.unplaced[k] if sim.state[i] == QUEUED]
        return placed

    def _from_warm_pool(self, k: int, i: int) -> None:
        """Replica ``i`` is a VM from service ``k``'s warm pool: already on disk and booted,
        it starts in ``warm_start_s``; a VM to replace it in the pool boots meanwhile. Only
        this first start is warm: its own start, disk copy and layers are kept (``drawn``)
        and come back once it leaves its host, as a VM up at the start's do (a later start
        boots for a new draw: Simulation.start_time).

        The replacement's time is an estimate: its start plus its disk copy alone on the
        slowest disk of the fleet. The pool's VMs are on no host the run models (it keeps
        no host for them), so their copies share no modelled disk; a copy to a host does
        (:meth:`Simulation._write`)."""
        sim = self.sim
        self.warm[k] -= 1
        take = sum(counts["taken"] for counts in self.pool_counts)
        self.pool_counts[k]["taken"] += 1
        self.taken_from_pool[i] = take
        self.drawn[i] = (sim.start_s[i], sim.copy_gib[i], sim.needs[i])
        refill_s = sim.start_s[i] + sim.copy_gib[i] * 1024.0 / min(h.spec.disk_write_mib_s for h in sim.hosts)
        sim.start_s[i] = self.specs[k].autoscale.warm_start_s
        sim.copy_gib[i] = 0.0
        sim.needs[i] = ()
        sim._after(refill_s, self._on_warm_refill, (k, take))

    def _settle_warm_vm(self, k: int, i: int, admit_s: float | None = None) -> None:
        """Replica ``i``, holding a VM from the pool, left the engine's hands: the VM was
        used if the replica was ever placed on a host (``admit_s``, default the engine's,
        not NaN), else it goes back to the pool (and the VM booting to replace it is not
        needed: its refill does nothing)."""
        take = self.taken_from_pool.pop(i)
        if admit_s is None:
            admit_s = self.sim.admit_s[i]
        if admit_s == admit_s:  # placed: the VM started on its host
            self.pool_counts[k]["used"] += 1
            return
        self.pool_counts[k]["returned"] += 1
        self.warm[k] += 1
        self.void_refills.add(take)

    def _on_warm_refill(self, now: float, value) -> None:
        k, take = value
        if take in self.void_refills:
            self.void_refills.discard(take)
        else:
            self.warm[k] += 1

    def warm_pools(self, admit_s: np.ndarray) -> pd.DataFrame:
        """After the run, given each row's ``admit_s`` (s, NaN: never placed): one row per
        service with a warm pool: its ``size``, the VMs ``taken`` from it, ``used`` (their
        replica placed on a host) and ``returned`` (never placed), and the VMs in it at the
        end (``left``). A replica still waiting for a host at the end gives its VM back
        there. ``taken == used + returned``."""
        for i in list(self.taken_from_pool):
            self._settle_warm_vm(self._service(i), i, float(admit_s[i]))
        rows = [{"service": spec.name, "size": spec.autoscale.warm_pool, **self.pool_counts[k], "left": self.warm[k]}
                for k, spec in enumerate(self.specs)
                if self.sim.vm and spec.autoscale is not None and spec.autoscale.warm_pool]
        return pd.DataFrame(rows, columns=["service", "size", "taken", "used", "returned", "left"])

    def _finish_rollout(self, k: int, now: float, done: bool) -> None:
        """Close the rollout under way: ``done`` only once no old replica is left and the
        new ones are all ready."""
        rollout = self.rollout[k]
        if rollout is None:
            return
        if done:
            live = self._live(k)
            if any(self._version(i) != self.version[k] for i in live):
                return
            if sum(1 for i in live if i in self.ready) < self.desired[k]:
                return
            rollout["finished"] = True
        rollout["end_s"] = now  # finished, or cut short by the next release
        rollout["pulled_gib"] = sum(self.sim.pulled_gib) - rollout.pop("pulled_before")
        self.releases.append(rollout)
        self.rollout[k] = None

    def _record(self, k: int, now: float) -> None:
        """Record service ``k`` now (closing its row before: :meth:`_close_row`); if its
        demand or ready replicas changed since its running replicas last got their shares,
        give them new ones at this instant (:meth:`_on_reshare`), so their CPU demand
        follows the row's demand and ready replicas. The new row's ``served_cores`` is
        what is served now (:meth:`served_now`) until the row is closed."""
        live = self._live(k)
        ready = sum(1 for i in live if i in self.ready)
        demand = self._demand_at(k, now)
        self._close_row(k, now)
        self.last_row[k] = len(self.series)
        self.series.append([now, self.specs[k].name, demand, ready, len(live), self.desired[k],
                            min(demand, self.served_now(k))])
        if (demand, self.ready_moves[k]) != self.shared[k] and not self.resharing[k]:
            self.resharing[k] = True  # one sharing for every change at this instant
            self.sim._after(0.0, self._on_reshare, k)

    def _on_reshare(self, now: float, value) -> None:
        """Service ``k``'s running replicas get their shares of its demand now, between the
        engine's usage steps too (:meth:`simdc.engine.simulation.Simulation._reread`); the
        demand alone moving at a usage step needs none: the step reads it."""
        k = value
        self.resharing[k] = False
        key = (self._demand_at(k, now), self.ready_moves[k])
        last, self.shared[k] = self.shared[k], key
        if key == last or (last is not None and key[1] == last[1] and self.sim.stepping(now)):
            return
        state = self.sim.state
        self.sim._reread([i for i in self._live(k) if state[i] == RUNNING], now)

    def _carried(self, k: int, demand_cores: float, ready: int) -> float:
        """Cores of ``demand_cores`` sent to service ``k``'s ``ready`` replicas: each up to
        its ``cpu_cores`` (a container's limit, a VM's vCPUs). What they are asked to run
        (:meth:`share`), not what they serve: the host may give them less
        (:meth:`served_now`)."""
        return min(demand_cores, ready * self.specs[k].cpu_cores)

    def served_now(self, k: int) -> float:
        """Cores of demand service ``k`` serves now: the CPU the engine gives each of its
        ready replicas (its share of the host after contention, within its vCPUs or
        limit: :meth:`Simulation.cpu_given`), summed, in the application's cores (a
        VM's host cores ÷ ``cpu_factor``: the hypervisor's share serves no user). A
        replica not ready carries no demand and is given none (:meth:`share`). The one
        rule of what a service serves: the services table records its time average per
        row (:meth:`_close_row`), and the HPA reads the same CPU given, per replica,
        averaged over metrics-server's window (:meth:`_metrics`) as the pods' usage, as
        the metrics API reports what containers use (cgroup CPU usage), not what they
        were asked (Kubernetes docs, "Resource metrics pipeline"; metrics-server)."""
        sim = self.sim
        return sum(sim.cpu_given(i) for i in self.pods[k] if i in self.ready) / sim.cpu_factor

    def _used_core_s(self, k: int, now: float) -> float:
        """Core-seconds (host cores) service ``k``'s replicas have been given up to ``now``."""
        return self.banked[k] + sum(self.sim.cpu_used_core_s(i, now) for i in self.pods[k])

    def _close_row(self, k: int, now: float) -> None:
        """Service ``k``'s last row, held from its time until ``now``, gets as
        ``served_cores`` the time average of :meth:`served_now` over that span: the
        core-seconds its replicas were given meanwhile (the engine's integrals, the
        instances table's ``cpu_demand_core_s - cpu_unmet_core_s``) ÷ the span ÷
        ``cpu_factor``; so the table's served core-seconds are the replicas' used ones,
        whatever moved their shares between rows (neighbours coming and going). At most
        what the row's ready replicas were sent (:meth:`_carried`: its demand, up to their
        cores), which only rounding could put it above or a hair below: the difference of
        two integrals thousands of core-seconds large, over a row a fraction of a second
        long, is off by ~1e-9 core."""
        used = self._used_core_s(k, now)
        row = self.last_row[k]
        if row is not None and now > self.series[row][0]:
            served = (used - self.used_mark[k]) / (now - self.series[row][0]) / self.sim.cpu_factor
            carried = self._carried(k, self.series[row][2], self.series[row][3])
            # within the integrals' rounding of it (2.06 × t ÷ 1.03 ÷ t is not 2): all of it
            self.series[row][6] = carried if served > carried * (1 - 1e-12) else max(served, 0.0)
        self.used_mark[k] = used

    def close(self, now: float) -> None:
        """At the horizon ``now``, before the engine collects the running replicas'
        integrals: every service's last row closed."""
        for k in range(len(self.specs)):
            self._close_row(k, now)

    # --- tables --------------------------------------------------------------------

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(series, releases)`` of the run; a rollout under way at the end has no end."""
        for k, rollout in enumerate(self.rollout):
            if rollout is not None:
                rollout["pulled_gib"] = sum(self.sim.pulled_gib) - rollout.pop("pulled_before")
                self.releases.append(rollout)
                self.rollout[k] = None
        series = pd.DataFrame(self.series, columns=["t_s", "service", "demand_cores", "ready", "pods", "desired",
                                                    "served_cores"])
        releases = pd.DataFrame(self.releases, columns=["service", "release", "at_s", "end_s", "finished",
                                                        "pulled_gib"])
        return series, releases

    def used_rows(self) -> np.ndarray:
        """Rows to keep in the instances table: the workload's and the slots submitted."""
        keep = np.zeros(self.first + len(self.plan.service_of), dtype=bool)
        keep[: self.first] = True
        keep[list(self.created_s)] = True
        return keep
