"""Metrics: pure pandas over the result tables; no simulation needed to test them.

Definitions
-----------
resident instances
    On a host and holding its resources: starting, running or backing off before a
    restart. ``peak_instances`` and ``mean_instances`` count these (density); a failure's
    victim waiting to be placed again is on no host and not counted. ``mean_instances``
    is the instances' time on a host (``resident_s``, over all their stays) over the
    duration, so Little's law holds: ``mean_instances = λ × mean time on a host``.
    ``peak_instances`` is the engine's own count of instances on the fleet at once; a
    fleet of cells', the most on all its cells at once, from their stays on a host
    (:func:`on_host_peak`).
outcomes
    Every submitted request is ``placed`` (on a host at least once) or not, and
    ``placed + rejected + queued_at_end = submitted`` always; an instance ``blocked``
    (:data:`NOT_SUBMITTED`) never reached the platform and is not submitted, so
    ``submitted + blocked`` = the instances, and ``rejection_rate`` is ``rejected /
    submitted``: of the requests the platform was asked to place, the share it turned
    away (a blocked child is no request it could have refused). ``rejected``: turned away
    on its first placement (no host for it, or it gave up waiting in the queue);
    ``queued_at_end``: never placed, still waiting at the end. A failure's victim counts
    once in ``placed``: ``replaced`` counts those placed again after a failure,
    ``failed`` those lost to a failure (not placed again: no host for them, or their
    patience or their planned end ran out while they waited), ``requeued_at_end`` those
    still waiting to be placed again at the end.
waits
    ``queue_s``: submission to first admission, or to giving up or the run's end for a
    request never admitted (``queue_mean_s``, over every instance);
    ``requeue_s``: after a failure, the time waiting to be placed again (first admission
    to end, less the time on a host); ``requeue_mean_s`` averages it over the instances a
    failure struck (``failure_kills > 0``).
jobs with dependencies (only when the workload has a ``parents`` column)
    ``blocked``: never submitted, because a parent did not complete (``placed + rejected
    + queued_at_end + blocked = submitted + blocked = instances``). A job is the
    instances of one ``job`` value, or, where ``job`` is empty, those linked by
    dependencies (a weakly connected component); only jobs with a dependency count.
    ``makespan``: from a job's first submission to its last task's end, over the jobs
    whose every task completed (``jobs_completed`` of ``jobs``); a job with a task
    arriving at or after the horizon, or cut by a time window (not replayed), is one of ``jobs`` and never
    completed, as one with a task still running at the end: its makespan is not known.
    ``critical_start_share``: along the critical path (from the job's last-ending task,
    back through each task's last-ending parent), the time between each task's
    submission and its first start (waiting for a host, pulling, booting) over the
    makespan; the mean over completed jobs. The path stays within the job: where a
    task's last-ending parent is of another job, it stops there (the job waited for the
    other job, whose starts are that job's own). So the share is at most 1: each task on
    the path is submitted after its parent's end, so the waits along it do not overlap
    and lie within the job's makespan.
start latency
    ``first_ready_s − submit_s``: queueing plus provisioning/boot until the first start,
    for instances that started (``ready_s`` is the start of the latest attempt).
not started by the end (how plans judge SLOs, :func:`slo_bounds`)
    A request still queued at the end, or placed and still starting, has a start latency
    the run cannot tell: in survival-analysis terms it is right-censored at ``duration −
    submit_s``, and its eventual outcome (placed, or giving up) unknown. The summary's
    ``start_p*_s`` leave such requests out and ``rejection_rate`` counts only those turned
    away, so a fleet where almost nothing starts can "meet" an SLO on them. A plan judges
    each SLO on the bound that holds whatever they do next: ``rejection_rate`` up to
    ``(rejected + queued_at_end) / submitted`` (never placed within the run), and
    ``start_p*_s`` over every request not turned away, each not started counted at its
    censoring time for the lower bound ("at least") and as never starting for the upper
    one, so that ``start_p99_s <= x`` is met only when 99 % of them started within x s
    (not met while more than 1 % have not started). ``makespan_*_s`` likewise, over
    every job: one not completed (a task turned away, blocked, not finished or not
    replayed) counted at ``duration − first submission`` for the lower bound and as
    never completing for the upper one (:func:`censored_bounds`, the one rule for both).
utilisation
    Time-weighted fraction of the hosts' physical capacity (``cpu_cores``,
    ``memory_gib``): ``∫ used dt / (capacity × duration)``.
allocated memory
    What the platform's admission rule counts as taken: size + overhead for a VM,
    request (as admission booked it: declared, recommended or, with ``admission = "oracle"``,
    a percentile of its own usage) + overhead for a container.
stranded memory
    Allocated (up to the host's allocatable memory) minus used, when positive: memory
    that sits idle yet no other instance can be admitted into. Bookings beyond the
    host (overcommit) strand nothing.
CPU demand, unmet CPU
    Demand is what an instance's usage asks for (up to its machine's cores), whatever
    its ceiling; unmet is what it did not get, in core-seconds: the part above its
    ceiling (a VM's vCPUs, a container's ``cpu_limit``: clipped) plus what contention
    for the cores withheld (steal for VMs, throttling for containers). The two platforms'
    ``cpu_demand_util_mean`` and ``cpu_unmet_share`` (unmet over demand) mean the same.
booked CPU
    ``cpu_booked_util_mean``: cores booked (a VM's vCPUs, a container's request, or its
    usage-based booking) over the hosts' cores, time-weighted: what CPU admission counts,
    the companion of ``mem_alloc_util_mean``.
slowdown
    For completed batch instances: time from first start to end over the work's
    duration at full speed (1 = never slowed; restarts count).
image pulls
    A *cold* start fetched at least one layer (or waited for one another instance was
    fetching); ``pull_s_mean`` is the mean time spent fetching, ``pulled_gib`` what was
    downloaded (with the changed layers VMs updated in place copy), ``cache_hit_ratio``
    the share of layer lookups found on the host.
isolation
    ``interference_slowdown_*``: per instance, the time-weighted mean of 1/speed left by
    neighbours' pressure on memory bandwidth and I/O (1 = never slowed);
    ``degraded_share``: share of running time slowed by more than 5 %; ``failures``:
    host and kernel failures; ``failure_kills`` and ``blast_radius_mean`` (killed per
    failure); ``lost_work_core_s``: CPU work the victims of failures, and instances a
    move restarted, had done since their last start from scratch (thrown away: a live
    migration or a checkpoint keeps the state, so a later failure loses its work too);
    ``service_availability``: time services were up over the time they were asked to be,
    in replica-seconds: an instance asked to run (from its first start to its planned
    end, within the run) counts its run time; a controller's service (``[[services]]``)
    its ready replicas, up to the desired count, against the desired count over the run
    (:func:`replica_availability_s`).
fleet
    ``hosts_used``: physical hosts that ever held an instance; ``energy_kwh``: power
    linear in CPU utilisation between ``power_idle_w`` and ``power_max_w``, integrated
    per physical host (0 for an empty host with ``cluster.power_off_idle``; a host of
    node VMs is never empty: :func:`simdc.engine.rules.switched_off_when_idle`);
    ``fragmentation_gib_mean``: over the requests that found no host, the memory then
    free on the hosts that take work (up and not cordoned): free but in pieces too small
    (or on hosts short of CPU; :func:`simdc.engine.rules.free_mem_gib`).
VM size over need
    ``vm_cpu_over_need`` and ``vm_mem_over_need``: what the VMs booked beyond what their
    applications need, as a share of the need, time-weighted over the VMs' stays on a
    host: ``Σ stay × (size − need) / Σ stay × need``, ``stay`` a VM's time on a host
    (a failure's victim waiting to be placed again books nothing), ``size`` the VM's vCPUs or
    memory (GiB, its guest OS included; the VMM's overhead not) and ``need`` the
    workload's ``cpu_cores`` or ``memory_gib``. It is the cost of rounding needs up to
    a catalogue's sizes (``sizing = "catalogue"``; Borg measured 30-50 % more resources
    for rounding requests up to powers of two, Verma et al., EuroSys 2015 §5) and of the
    guest OS; 0 for VMs of given sizes, NaN for containers (they book the need itself).
cost and carbon
    With a ``[cost]`` table only (:mod:`simdc.cost`): ``cost`` = ``cost_hosts`` (rent or
    amortised capital, on or off) + ``cost_energy`` (energy × PUE × the price at the time)
    + ``cost_licences`` (per instance-hour on a host); ``cost_per_instance_hour`` over the
    hours instances ran; ``carbon_kgco2eq`` = operational (energy × PUE × the grid's
    intensity at the time) + embodied (spread over the hosts' lifetime).
memory pressure
    ``oom_kills``: containers killed by the OOM killer (each restart may be killed
    again); ``reclaim_share``: share of host-time a hypervisor was reclaiming VM memory
    (page sharing, ballooning, swap); ``swap_share``: share of host-time it swapped.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
import pandas as pd

SUMMARY_COLUMNS = (
    "platform", "submitted", "placed", "rejected", "completed", "running_at_end", "queued_at_end",
    "oom_killed", "evicted", "rejection_rate", "replaced", "requeued_at_end", "peak_instances", "mean_instances",
    "queue_mean_s", "requeue_mean_s", "start_p50_s", "start_p95_s", "start_p99_s",
    "cpu_util_mean", "cpu_demand_util_mean", "cpu_unmet_core_s", "cpu_unmet_share",
    "batch_slowdown_p50", "batch_slowdown_p95", "batch_slowdown_p99",
    "mem_used_util_mean", "mem_alloc_util_mean", "cpu_booked_util_mean", "stranded_mem_gib_mean",
    "vm_cpu_over_need", "vm_mem_over_need",
    "oom_kills", "restarts", "reclaim_share", "swap_share",
    "cold_starts", "warm_starts", "pull_s_mean", "pulled_gib", "cache_hit_ratio",
    "hosts", "hosts_used", "energy_kwh", "fragmentation_gib_mean",
    "interference_slowdown_mean", "interference_slowdown_p95", "interference_slowdown_p99", "degraded_share",
    "failed", "failures", "failure_kills", "blast_radius_mean", "lost_work_core_s", "service_availability",
    "unplaceable",
)
# After those, when the config has a [cost] table (simdc.cost): money and carbon.
COST_COLUMNS = ("cost", "cost_hosts", "cost_energy", "cost_licences", "cost_per_instance_hour",
                "carbon_kgco2eq", "carbon_operational_kgco2eq", "carbon_embodied_kgco2eq")


# Outcomes of instances never submitted to the platform: a task whose parent did not
# complete (simdc.engine.dependencies). They are left out of ``submitted`` and so of the
# rates over it (``rejection_rate``, and the plan's bounds on it, slo_bounds), as
# ``queue_mean_s`` and the start latencies leave them out (they have no submit_s).
NOT_SUBMITTED = ("blocked",)

# Appended to the summary's columns when the workload has dependencies (workflow_metrics).
WORKFLOW_COLUMNS = ("blocked", "jobs", "jobs_completed", "makespan_mean_s", "makespan_p50_s", "makespan_p95_s",
                    "critical_start_share")


def summary(instances: pd.DataFrame, hosts: pd.DataFrame, requests: pd.DataFrame | None = None,
            services: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per platform (every platform in ``hosts``, in its order), even without instances.

    ``requests`` is the workload (each platform's instances are its rows, in its order):
    with it and the instances' VM sizes, the VM size over need (module docstring);
    without, NaN. When ``requests`` has dependencies (a ``parents`` column), the
    :data:`WORKFLOW_COLUMNS` follow (:func:`workflow_metrics`). ``services``: the
    controller's series (one platform's, or with a ``platform`` column), whose ready
    replicas against the desired count the service availability counts
    (:func:`replica_availability_s`).
    """
    from simdc.workload import dependencies

    workflow = requests is not None and dependencies.has_jobs(requests)
    jobs = job_structure(requests) if workflow else None
    rows = []
    duration_s = float(hosts["duration_s"].iloc[0])
    platforms = hosts["platform"].unique()
    for platform in platforms:
        mine = instances["platform"] == platform
        inst = instances if mine.all() else instances[mine]  # no copy when the table is one platform's
        reduction = InstanceReduction.of_table(inst, duration_s, requests)
        replica_s = (0.0, 0.0)
        if services is not None:
            mine_s = services if "platform" not in services else services[services["platform"] == platform]
            replica_s = replica_availability_s(mine_s, duration_s)
        row = platform_row(platform, reduction, hosts[hosts["platform"] == platform] if len(platforms) > 1 else hosts,
                           replica_s=replica_s)
        if jobs is not None:
            row.update(workflow_metrics(inst, *jobs))
        row.update(reduction.moves())
        rows.append(row)
    moves = list(MOVE_COLUMNS) if "migrations" in instances else []  # only runs with drains or consolidation
    return pd.DataFrame(rows, columns=[*SUMMARY_COLUMNS, *(WORKFLOW_COLUMNS if workflow else ()), *moves])


def platform_row(platform: str, instances: InstanceReduction, hosts: pd.DataFrame,
                 peak_instances: int | None = None, replica_s: tuple[float, float] = (0.0, 0.0)) -> dict[str, float]:
    """One platform's summary row, a value for each of :data:`SUMMARY_COLUMNS`: its
    instances' figures (``instances``, reduced over the whole table of a run in memory or
    row group by row group as a streamed run writes them), its hosts' (:func:`host_metrics`
    of the platform's hosts table) and those of both. The peak of instances is the
    engine's own count when its hosts table gives one (exact with failures' victims off
    host), else ``peak_instances`` (a fleet of cells': :func:`on_host_peak` of its cells'
    stays), else found from the instances' stays. ``replica_s``: the controller's services'
    (up, asked) replica-seconds (:func:`replica_availability_s`)."""
    of_hosts = host_metrics(hosts)
    engine_peak = of_hosts.pop("fleet_peak_resident", None)
    row = {"platform": platform, **instances.figures(peak_instances if engine_peak is None else engine_peak,
                                                     replica_s),
           **of_hosts}
    row["blast_radius_mean"] = row["failure_kills"] / row["failures"] if row["failures"] else np.nan
    return row


def job_structure(requests: pd.DataFrame) -> tuple[np.ndarray, list[list[int]], np.ndarray]:
    """The jobs of a workload with dependencies (:func:`simdc.workload.dependencies.jobs`:
    a job label per row, ``-1`` in none, and each row's parents as row positions), and per
    row whether its job has a task beyond the horizon, never replayed
    (:func:`simdc.workload.dependencies.beyond_horizon`)."""
    from simdc.workload import dependencies

    return (*dependencies.jobs(requests), dependencies.beyond_horizon(requests))


def workflow_metrics(inst: pd.DataFrame, job: np.ndarray, parents: list[list[int]],
                     beyond: np.ndarray | None = None) -> dict[str, float]:
    """Jobs with dependencies on one platform (module docstring): ``inst`` the platform's
    instances in the workload's order, ``job``, ``parents`` and ``beyond`` (a job's
    task arrives beyond the horizon: the job is not completed) from :func:`job_structure`.
    Seconds for makespans; the start share is 0-1."""
    outcome = inst["outcome"].astype(str).to_numpy()
    submit = inst["submit_s"].to_numpy(float)
    ready = inst["first_ready_s" if "first_ready_s" in inst else "ready_s"].to_numpy(float)
    end = inst["end_s"].to_numpy(float)
    frame, per_job = _per_job(inst, job, beyond, tasks=True)
    completed = per_job[per_job["done"]]
    makespan = (completed["last"] - completed["first"]).to_numpy(float)
    shares = []
    if len(completed):
        rows = frame[frame["job"].isin(completed.index)]
        last_task = rows.groupby("job")["end"].idxmax()
        for j, task in last_task.items():
            starting = 0.0
            while True:  # back along the last-ending parents, within the job
                starting += ready[task] - submit[task]
                if not parents[task]:
                    break
                # of parents ending together, the job's own is the one its path goes on through
                task = max(parents[task], key=lambda p: (end[p], job[p] == j))
                if job[task] != j:  # the job waited for another job: its path starts at the wait's end
                    break
            span = completed.at[j, "last"] - completed.at[j, "first"]
            shares.append(starting / span if span > 0 else np.nan)
    return {
        "blocked": int((outcome == "blocked").sum()),
        "jobs": len(per_job),
        "jobs_completed": len(completed),
        "makespan_mean_s": _mean(makespan),
        **_quantiles(makespan, "makespan_p", (50, 95), "_s"),
        "critical_start_share": _mean(np.asarray(shares, dtype=float)),
    }


def _per_job(inst: pd.DataFrame, job: np.ndarray, beyond: np.ndarray | None = None, tasks: bool = False):
    """Per job (``job`` and ``beyond`` of :func:`job_structure`; ``inst`` the platform's
    instances in the workload's order): its first submission, its last task's end, and whether every one
    of its tasks completed (``first``, ``last``, ``done``); with ``tasks``, the table of
    the jobs' tasks too (``(tasks, per_job)``)."""
    done = inst["outcome"].astype(str).to_numpy() == "completed"
    if beyond is not None:  # a task not replayed did not complete
        done &= ~beyond
    frame = pd.DataFrame({"job": job, "submit": inst["submit_s"].to_numpy(float),
                          "end": inst["end_s"].to_numpy(float), "done": done})[job >= 0]
    per_job = frame.groupby("job").agg(first=("submit", "min"), last=("end", "max"), done=("done", "all"))
    return (frame, per_job) if tasks else per_job


MOVE_COLUMNS = ("migrations", "moves_done", "moved_instances", "migration_downtime_mean_s", "migration_s_mean",
                "migrated_gib", "migration_link_share")


def move_metrics(inst: pd.DataFrame) -> dict[str, float]:
    """Moves off drained or consolidated hosts (:mod:`simdc.engine.migration`): the
    moves begun (``migrations``), and the figures of those done (``moves_done``: the
    instance ran again after it; one evicted, or cut short by a failure or the run's
    end, is not, and shows in ``evicted`` or ``failure_kills``): the instances moved,
    mean seconds not running per move (a restart's: until running again), mean seconds a
    move took (live and checkpoint moves), GiB sent, and the share of the narrower link a
    move's bandwidth took (mean over moves that sent something). Empty without the
    columns (no drains, no consolidation). Defined once, as terms of
    :class:`InstanceReduction` (:meth:`InstanceReduction.moves`)."""
    return InstanceReduction.of_table(inst, np.nan).moves()


def _availability(ran_s: float, asked_s: float) -> float:
    """The share of the asked run time run: at most 1 (the run time within the asked is at
    most the asked), and 1 where the two sums differ by their rounding only (summed in
    another order they gave 0.9999999999999997 and 1.0000000000000002, and a plan's
    ``service_availability>=1`` failed on a run with nothing down); NaN with nothing asked."""
    if not asked_s > 0:
        return np.nan
    share = float(ran_s / asked_s)
    return 1.0 if share > 1.0 - 1e-12 else share


def _mean(values: np.ndarray) -> float:
    """The mean of the values that are not NaN (NaN if none are), as pandas takes it: the
    sum with NaN as 0, over the count (so to the last bit the figure pandas gives)."""
    missing = np.isnan(values)
    count = len(values) - int(missing.sum())
    if count == len(values):  # none missing: the same sum without the copy
        return float(values.sum() / count) if count else np.nan
    return float(np.where(missing, 0.0, values).sum() / count) if count else np.nan


def _quantiles(values: np.ndarray, prefix: str, percents: tuple[int, ...], suffix: str = "") -> dict[str, float]:
    """Linear-interpolated percentiles of the values that are not NaN (NaN if none are)."""
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return {f"{prefix}{p}{suffix}": np.nan for p in percents}
    lowest, highest = values.min(), values.max()
    if lowest == highest and np.isfinite(lowest):  # one value (starts at once, no interference): every
        return {f"{prefix}{p}{suffix}": float(lowest) for p in percents}  # percentile is it, as numpy's lerp gives
    return {f"{prefix}{p}{suffix}": float(q) for p, q in zip(percents, np.percentile(values, percents))}


def host_metrics(hosts: pd.DataFrame) -> dict[str, float]:
    """Time-weighted utilisation of one platform's hosts, from their integrals."""
    duration = hosts["duration_s"]
    cpu_capacity = (hosts["cpu_cores"] * duration).sum()
    mem_capacity = (hosts["memory_gib"] * duration).sum()
    demand = hosts["cpu_demand_core_s"].sum()
    used = hosts["cpu_used_core_s"].sum()
    return {
        "cpu_util_mean": used / cpu_capacity,
        "cpu_demand_util_mean": demand / cpu_capacity,
        "cpu_unmet_core_s": max(demand - used, 0.0),
        "cpu_unmet_share": max(demand - used, 0.0) / demand if demand > 0 else 0.0,
        "mem_used_util_mean": hosts["mem_used_gib_s"].sum() / mem_capacity,
        "mem_alloc_util_mean": hosts["mem_alloc_gib_s"].sum() / mem_capacity,
        **({"cpu_booked_util_mean": hosts["cpu_booked_core_s"].sum() / cpu_capacity}
           if "cpu_booked_core_s" in hosts else {}),
        **({"fleet_peak_resident": hosts["fleet_peak_resident"].max()} if "fleet_peak_resident" in hosts else {}),
        "stranded_mem_gib_mean": hosts["stranded_gib_s"].sum() / duration.iloc[0],
        "reclaim_share": hosts["reclaim_s"].sum() / duration.sum(),
        "pulled_gib": float(hosts["pulled_gib"].sum()),
        "hosts": int(hosts["physical_host"].nunique()),
        "hosts_used": int(hosts.loc[hosts["used"].astype(bool), "physical_host"].nunique()),
        "energy_kwh": float(hosts["energy_kwh"].sum()),
        "failures": int(hosts["failures"].sum()),
        "cache_hit_ratio": hosts["layer_hits"].sum() / hosts["layer_lookups"].sum()
        if hosts["layer_lookups"].sum() else np.nan,
        "swap_share": hosts["swap_s"].sum() / duration.sum(),
    }


def resident_intervals(inst: pd.DataFrame, duration_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(from, to) of each placed instance's stay on its host, clipped to the run: from
    its first admission to its end (a failure's victim's time off host included, which
    the engine's ``resident_s`` and peak count leave out: :func:`on_host_peak` takes it out)."""
    return Rows(inst, duration_s).stays


def mean_resident(inst: pd.DataFrame, duration_s: float) -> float:
    """Time-average number of instances on a host: Σ time on a host / duration, from the
    engine's per-instance ``resident_s`` (all stays of a failure's victim, not the time it
    waited between them); a table without it, from :func:`resident_intervals`."""
    term = _resident_s()
    term.of_whole(Rows(inst, duration_s))
    return float(term.value / duration_s)


def peak_resident(inst: pd.DataFrame, duration_s: float, off_host: pd.DataFrame | None = None) -> int:
    """Most instances resident at once; an end and a start at one moment do not overlap.
    ``off_host``: the engine's record of the instances' time off a host between stays
    (:class:`simdc.engine.simulation.OffHost`: ``from_s``, ``to_s``), taken out
    (:func:`on_host_peak`); None: none was."""
    start, end = resident_intervals(inst, duration_s)
    if off_host is None:
        return stays_peak(start, end)
    return on_host_peak(start, end, off_host["from_s"].to_numpy(float), off_host["to_s"].to_numpy(float))


def on_host_peak(start: np.ndarray, end: np.ndarray, off_from: np.ndarray, off_to: np.ndarray) -> int:
    """Most instances on a host at once (``peak_instances``): of the placed instances'
    stays ``[start, end)`` from first admission to end (:func:`resident_intervals`), less
    their times off a host between stays ``[off_from, off_to)`` (a failure's victim or a
    restarted container waiting to be placed again, which is on no host: the engine's
    record, :class:`simdc.engine.simulation.OffHost`), ends first at one moment.

    As the engine counts the instances on its fleet (:class:`simdc.engine.host.Bookings`:
    from booking to release), so that the rows of several fleets give the most on all of
    them at once (a fleet of cells). Each time off a host lies within its instance's
    stay, so the count at a moment is the stays begun less those over, less the times
    off begun, plus those over: :func:`stays_peak` with a time off's end as a start and
    its start as an end.
    """
    return stays_peak(np.concatenate([start, off_to]), np.concatenate([end, off_from]))


def stays_peak(start: np.ndarray, end: np.ndarray) -> int:
    """Most of the stays ``[start, end)`` under way at once, ends first at one moment.

    The count is highest just after a start: after the k-th start in time order (k from
    1), k stays have begun and those with ``end <= start`` are over, which
    ``searchsorted(side="right")`` counts in the sorted ends (an end at the moment of a
    start comes first). Two sorts and a search: a stable sort of all the ends and starts
    together took twice as long. The sorts are numpy's stable one (timsort), which finds
    the runs already in order: starts come from the engine nearly in time order, and 157,000
    of them sort in 0.3 ms instead of 7 ms (quicksort).
    """
    if len(start) == 0:
        return 0
    starts, ends = np.sort(start, kind="stable"), np.sort(end, kind="stable")
    under_way = np.arange(1, len(starts) + 1) - np.searchsorted(ends, starts, side="right")
    return max(0, int(under_way.max()))


# --- The instance figures of the summary, each defined once as a reduction -------------
#
# A figure is what to accumulate over a platform's instance rows (terms: counts, float
# sums, values kept) and how to finish. The terms are fed pieces of the table: the whole
# table at once for a run in memory (InstanceReduction.of_table), or a streamed run's
# chunks as they are written, then its row groups in row order (simdc.streamed), so that
# the two paths give one figure to the bit: a float sum is numpy's of the whole column
# either way (PairwiseSum replays its order over pieces), a percentile reads every value.


class Rows:
    """Consecutive rows of one platform's instance table (a pandas or an Arrow table: the
    whole table, a chunk or a row group) and what several terms read of them, each
    computed once. ``requests``: the workload the instance table's rows are of (a row per
    instance), these rows from its row ``first``; None without (no VM size over need).

    Columns read from an Arrow table are converted one at a time as
    ``pandas.read_parquet`` would convert them (the schema's pandas metadata). A source
    of columns (``column_names``, ``num_rows`` and ``series(name)``, a pandas Series: a
    cell's rows read from a file column by column, :mod:`simdc.cells`) is read as one."""

    def __init__(self, table, duration_s: float, requests: pd.DataFrame | None = None, first: int = 0):
        self.table, self.duration_s, self.requests, self.first = table, duration_s, requests, first
        self.arrow = not isinstance(table, pd.DataFrame)
        self.names = frozenset(table.column_names if self.arrow else table.columns)
        self.n = table.num_rows if self.arrow else len(table)
        self._series: dict[str, pd.Series] = {}
        self._floats: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return self.n

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def series(self, name: str) -> pd.Series:
        if name not in self._series:
            if not self.arrow:
                self._series[name] = self.table[name]
            elif hasattr(self.table, "series"):  # a source of columns
                self._series[name] = self.table.series(name)
            else:
                self._series[name] = self.table.select([name]).to_pandas()[name]
        return self._series[name]

    def raw(self, name: str) -> np.ndarray:
        """Column ``name`` as pandas holds it."""
        return self.series(name).to_numpy()

    def __getitem__(self, name: str) -> np.ndarray:
        """Column ``name`` as float64."""
        if name not in self._floats:
            self._floats[name] = self.series(name).to_numpy(float)
        return self._floats[name]

    def placed_rows(self, name: str) -> np.ndarray:
        """Column ``name`` of the placed rows, float64."""
        key = f"placed:{name}"
        if key not in self._floats:
            self._floats[key] = self[name][self.placed]
        return self._floats[key]

    def need(self, name: str) -> np.ndarray:
        """The requests' column ``name`` (``cpu_cores``, ``memory_gib``) of the placed rows, float64."""
        key = f"need:{name}"
        if key not in self._floats:
            self._floats[key] = self.requests[name].to_numpy(float)[self.first:self.first + self.n][self.placed]
        return self._floats[key]

    @property
    def sized(self) -> bool:
        """Whether the VM size over need applies: VM sizes, and the requests they are of."""
        return self.requests is not None and "vm_vcpus" in self

    @cached_property
    def placed(self) -> np.ndarray:
        return ~np.isnan(self["admit_s"])

    @cached_property
    def ran(self) -> np.ndarray:
        return self["run_s"] > 0

    @cached_property
    def asked(self) -> np.ndarray:
        """Asked to run for a time (services: ``requested_s``)."""
        return ~np.isnan(self["requested_s"])

    @cached_property
    def struck(self) -> np.ndarray:
        """Struck by a failure at least once."""
        return self.raw("failure_kills") > 0 if "failure_kills" in self else np.zeros(self.n, dtype=bool)

    @cached_property
    def ready(self) -> np.ndarray:
        """First start (``ready_s`` where the table has no ``first_ready_s``)."""
        return self["first_ready_s" if "first_ready_s" in self else "ready_s"]

    @cached_property
    def started(self) -> np.ndarray:
        """Started in the run: a service's replicas up before it did not."""
        started = ~np.isnan(self.ready)
        if "preexisting" in self:
            started &= ~self.raw("preexisting").astype(bool)
        return started

    @cached_property
    def stays(self) -> tuple[np.ndarray, np.ndarray]:
        """(from, to) of each placed instance's stay (:func:`resident_intervals`)."""
        end = self["end_s"][self.placed]
        return self["admit_s"][self.placed], np.minimum(np.where(np.isnan(end), self.duration_s, end), self.duration_s)

    @cached_property
    def stay(self) -> np.ndarray:
        start, end = self.stays
        return end - start

    @cached_property
    def on_host(self) -> np.ndarray:
        """Each placed instance's time on a host: its :attr:`stay` less, where the table
        has it, ``requeue_s``, the time a failure's victim (or a container a drain
        restarted) waited to be placed again, on no host (the engine gives it as the stay
        less ``resident_s``, the sum of its stays; 0 for an instance that never waited,
        whose stay is then kept to the bit)."""
        if "requeue_s" not in self:
            return self.stay
        return self.stay - self.placed_rows("requeue_s")

    @cached_property
    def moves(self) -> np.ndarray:
        """Each instance's moves (``migrations``), integers: 0 where null (a fleet of cells'
        joined table, for a cell without drains nor consolidation) or without the column."""
        if "migrations" not in self:
            return np.zeros(self.n, dtype=np.int64)
        moves = self.raw("migrations")
        return np.where(np.isnan(moves), 0, moves).astype(np.int64) if moves.dtype.kind == "f" else moves

    @cached_property
    def done(self) -> np.ndarray:
        """Each instance's moves done (``moves_done``: it ran again after them), as
        :attr:`moves`; its ``migrations`` in a table from before the column."""
        if "moves_done" not in self:
            return self.moves
        done = self.raw("moves_done")
        return np.where(np.isnan(done), 0, done).astype(np.int64) if done.dtype.kind == "f" else done

    @cached_property
    def sent(self) -> np.ndarray:
        """Moved with something sent (``migrated_gib > 0``)."""
        return self["migrated_gib"] > 0 if "migrated_gib" in self else np.zeros(self.n, dtype=bool)


class Term:
    """What one figure accumulates over pieces of the rows: :meth:`count` each piece once,
    in any order (pass 1), :meth:`add` each in row order (pass 2), then :attr:`value`.
    A table held whole is reduced only when its value is read (:meth:`of_whole`): a
    figure that does not apply reads no term it would not use (a container's VM sizes)."""

    whole: Rows | None = None

    def of_whole(self, rows: Rows) -> None:
        """The whole table, reduced when :attr:`value` is first read."""
        self.whole = rows

    def count(self, rows: Rows) -> None:
        pass

    def add(self, rows: Rows) -> None:
        pass

    @property
    def value(self):
        if self.whole is not None:
            rows, self.whole = self.whole, None
            self.count(rows)
            self.add(rows)
        return self.result()

    def result(self):
        raise NotImplementedError


class Count(Term):
    """An integer total: ``of(rows)`` of each piece added, in any order (pass 1)."""

    def __init__(self, of):
        self.of, self.total = of, 0

    def count(self, rows: Rows) -> None:
        self.total += int(self.of(rows))

    def result(self) -> int:
        return self.total


class Tally(Term):
    """How many rows hold each value of column ``name`` (pass 1): a dict."""

    def __init__(self, name: str):
        self.name, self.counts = name, {}

    def count(self, rows: Rows) -> None:
        column = rows.series(self.name)
        if isinstance(column.dtype, pd.CategoricalDtype):  # the engine's outcome: its codes counted, 10× faster
            codes = column.cat.codes.to_numpy()
            counts = zip(column.cat.categories, np.bincount(codes[codes >= 0], minlength=len(column.cat.categories)))
        else:
            counts = column.value_counts().items()
        for key, count in counts:
            self.counts[key] = self.counts.get(key, 0) + int(count)

    def result(self) -> dict:
        return self.counts


class Sum(Term):
    """A float sum, to the bit numpy's ``sum`` of the whole column: ``of(rows)``, the
    values of the rows ``over(rows)`` selects (a mask; None, or no ``over``: every row),
    counted in pass 1 and summed in row order in pass 2 (:class:`PairwiseSum`). ``of``
    gives None where the rows lack what it sums; the value is then read only when no
    row was selected (0.0), else raises ValueError."""

    def __init__(self, of, over=None):
        self.of, self.over = of, over
        self.n = 0  # values, counted in pass 1
        self.sum: PairwiseSum | None = None

    def count(self, rows: Rows) -> None:
        mask = None if self.over is None else self.over(rows)
        self.n += len(rows) if mask is None else np.count_nonzero(mask)

    def add(self, rows: Rows) -> None:
        values = self.of(rows)
        if values is not None:
            self._add(values)

    def _add(self, values: np.ndarray) -> None:
        if self.sum is None:
            self.sum = PairwiseSum(self.n)
        self.sum.add(values)

    def result(self) -> float:
        if self.sum is None and self.n == 0:
            return 0.0
        if self.sum is None:
            raise ValueError(f"Sum: {self.n} values counted, none given")
        return self.sum.total


class Mean(Sum):
    """The mean of the values that are not NaN, NaN if none are: their :class:`Sum` with
    NaN as 0, over their count; :func:`_mean`'s figure to the bit."""

    def __init__(self, of, over=None):
        super().__init__(of, over)
        self.present = 0

    def add(self, rows: Rows) -> None:
        values = self.of(rows)
        if values is None:
            return
        missing = np.isnan(values)
        absent = np.count_nonzero(missing)
        self.present += len(values) - absent
        self._add(np.where(missing, 0.0, values) if absent else values)  # none missing: no copy

    def result(self) -> float:
        return float(super().result() / self.present) if self.present else np.nan


class Kept(Term):
    """The values themselves, in row order (pass 2), for a figure that needs every value
    (a percentile); ``drop_nan``: without the NaN (which percentiles skip)."""

    def __init__(self, of, drop_nan: bool = False):
        self.of, self.drop_nan = of, drop_nan
        self.pieces: list[np.ndarray] = []

    def add(self, rows: Rows) -> None:
        values = self.of(rows)
        self.pieces.append(values[~np.isnan(values)] if self.drop_nan else values)

    def result(self) -> np.ndarray:
        if len(self.pieces) != 1:
            self.pieces = [np.concatenate(self.pieces) if self.pieces else np.empty(0)]
        return self.pieces[0]


def _no_nan(values: np.ndarray) -> np.ndarray:
    """NaN as 0, what ``Series.sum`` and ``np.nansum`` sum (the values themselves when none is)."""
    missing = np.isnan(values)
    return np.where(missing, 0.0, values) if missing.any() else values


def _resident_s() -> Sum:
    """Time on a host: the engine's ``resident_s`` (every stay of a failure's victim, not
    the wait between them), or, for a table without it, the stays from first admission."""
    return Sum(lambda r: r["resident_s"] if "resident_s" in r else r.stay,
               over=lambda r: None if "resident_s" in r else r.placed)


def _placed(rows: Rows) -> np.ndarray:
    return rows.placed


def _ran(rows: Rows) -> np.ndarray:
    return rows.ran


def _asked(rows: Rows) -> np.ndarray:
    return rows.asked


def _struck(rows: Rows) -> np.ndarray:
    return rows.struck


def _stay_times(size: str, need: str, over: bool):
    """Σ time on a host × need (or, ``over``, × (size − need)) over the placed VMs
    (:attr:`Rows.on_host`: a VM waiting to be placed again books nothing), the terms of
    the VM size over need: ``size`` the instances' column, ``need`` the requests'."""
    def of(rows: Rows) -> np.ndarray | None:
        if not rows.sized:
            return None
        asked = rows.need(need)
        return rows.on_host * ((rows.placed_rows(size) - asked) if over else asked)
    return Sum(of, over=_placed)


def _instance_terms() -> dict:
    """What the summary's instance figures accumulate, fresh (:func:`_instance_figures`
    finishes them)."""
    return {
        "instances": Count(len),
        "placed": Count(lambda r: np.count_nonzero(r.placed)),
        "outcome": Tally("outcome"),
        "replaced": Count(lambda r: np.count_nonzero(r.raw("replacements") > 0) if "replacements" in r else 0),
        # requests no host could hold even empty (counted in rejected or queued_at_end too)
        "unplaceable": Count(lambda r: r.raw("unplaceable").sum() if "unplaceable" in r else 0),
        "resident_s": _resident_s(),
        "queue_s": Mean(lambda r: r["queue_s"]),
        "requeue_s": Mean(lambda r: r["requeue_s"][r.struck] if "requeue_s" in r else None, over=_struck),
        "start_s": Kept(lambda r: r.ready[r.started] - r["submit_s"][r.started]),
        "slowdown": Kept(lambda r: r["slowdown"], drop_nan=True),
        "oom_kills": Count(lambda r: r.raw("oom_kills").sum()),
        "restarts": Count(lambda r: r.raw("restarts").sum()),
        # of the instances started in the run (Rows.started), those that pulled layers and
        # the rest: cold + warm = started (one still pulling at the end started neither)
        "cold_starts": Count(lambda r: np.count_nonzero(r.started & r.raw("cold_start"))),
        "warm_starts": Count(lambda r: np.count_nonzero(r.started & ~r.raw("cold_start"))),
        "pull_s": Mean(lambda r: r["pull_s"]),
        "free_mem_gib_at_failure": Mean(lambda r: r["free_mem_gib_at_failure"]),
        # of the instances that ran, NaN kept: the mean sums them as NaN-as-0 in their order
        "interference_slowdown": Kept(lambda r: r["interference_slowdown"][r.ran]),
        "degraded_s": Sum(lambda r: r["degraded_s"][r.ran], over=_ran),
        "ran_s": Sum(lambda r: r["run_s"][r.ran], over=_ran),
        "failure_kills": Count(lambda r: r.raw("failure_kills").sum()),
        "lost_core_s": Sum(lambda r: _no_nan(r["lost_core_s"])),  # as Series.sum: NaN as 0
        "asked_run_s": Sum(lambda r: r["run_s"][r.asked], over=_asked),
        "requested_s": Sum(lambda r: r["requested_s"][r.asked], over=_asked),
        "cpu_need": _stay_times("vm_vcpus", "cpu_cores", over=False),
        "cpu_over": _stay_times("vm_vcpus", "cpu_cores", over=True),
        "mem_need": _stay_times("vm_memory_gib", "memory_gib", over=False),
        "mem_over": _stay_times("vm_memory_gib", "memory_gib", over=True),
        "size_nan": Count(lambda r: np.isnan(r.placed_rows("vm_vcpus")).any()
                          or np.isnan(r.placed_rows("vm_memory_gib")).any() if "vm_vcpus" in r else 0),
    }


def _instance_figures(t, duration_s: float, peak_instances: int, names: frozenset, sized: bool,
                      replica_s: tuple[float, float] = (0.0, 0.0)) -> dict:
    """The summary's instance figures from their terms' values ``t`` (a mapping: each read
    when a figure needs it); ``names``: the instance table's columns; ``sized``: whether the
    VM size over need applies (VM sizes and the requests they are of); ``replica_s``: the
    controller's services' ``(up, asked)`` replica-seconds (:func:`replica_availability_s`),
    which the service availability counts beside the instances asked to run."""
    outcomes = t["outcome"]
    submitted = t["instances"] - sum(outcomes.get(name, 0) for name in NOT_SUBMITTED)
    interference = t["interference_slowdown"]
    over = {"vm_cpu_over_need": np.nan, "vm_mem_over_need": np.nan}
    if sized and not t["size_nan"] and t["cpu_need"] > 0 and t["mem_need"] > 0:
        over = {f"vm_{key}_over_need": float(t[f"{key}_over"] / t[f"{key}_need"]) for key in ("cpu", "mem")}
    return {
        "submitted": submitted,
        "placed": t["placed"],
        **{name: int(outcomes.get(name, 0)) for name in
           ("rejected", "completed", "running_at_end", "queued_at_end", "oom_killed", "evicted", "failed",
            "requeued_at_end")},
        "rejection_rate": outcomes.get("rejected", 0) / submitted if submitted else np.nan,
        "replaced": t["replaced"],
        "unplaceable": t["unplaceable"],
        "peak_instances": int(peak_instances),
        "mean_instances": float(t["resident_s"] / duration_s),
        "queue_mean_s": t["queue_s"],
        "requeue_mean_s": t["requeue_s"] if {"requeue_s", "failure_kills"} <= names else np.nan,
        **_quantiles(t["start_s"], "start_p", (50, 95, 99), "_s"),
        **_quantiles(t["slowdown"], "batch_slowdown_p", (50, 95, 99)),
        "oom_kills": t["oom_kills"],
        "restarts": t["restarts"],
        "cold_starts": t["cold_starts"],
        "warm_starts": t["warm_starts"],
        "pull_s_mean": t["pull_s"],
        "fragmentation_gib_mean": t["free_mem_gib_at_failure"],
        "interference_slowdown_mean": _mean(interference),
        **_quantiles(interference, "interference_slowdown_p", (95, 99)),
        "degraded_share": float(t["degraded_s"] / t["ran_s"]) if t["ran_s"] > 0 else np.nan,
        "failure_kills": t["failure_kills"],
        "lost_work_core_s": float(t["lost_core_s"]),
        "service_availability": _availability(t["asked_run_s"] + replica_s[0], t["requested_s"] + replica_s[1]),
        **over,
    }


def _moved(rows: Rows) -> np.ndarray | None:
    """Every row of a table with moves, none of one without."""
    return None if "migrations" in rows else np.zeros(len(rows), dtype=bool)


def _sent(rows: Rows) -> np.ndarray:
    return rows.sent


def _move_sum(name: str) -> Sum:
    """Σ of column ``name`` with NaN as 0 (``Series.sum``), over a table with moves."""
    return Sum(lambda r: _no_nan(r[name]) if "migrations" in r else None, over=_moved)


def _move_terms() -> dict:
    """What the move figures accumulate, fresh (:func:`_move_figures` finishes them)."""
    return {
        "migrations": Count(lambda r: r.moves.sum()),
        "moves_done": Count(lambda r: r.done.sum()),
        "moved_instances": Count(lambda r: np.count_nonzero(r.done > 0)),
        "sent_rows": Count(lambda r: np.count_nonzero(r.sent)),
        "sent_moves": Count(lambda r: r.done[r.sent].sum()),
        "downtime_s": _move_sum("downtime_s"),
        "migration_s": _move_sum("migration_s"),
        "migrated_gib": _move_sum("migrated_gib"),
        # np.average's numerator: Σ share × moves over the moves that sent something
        "link_share_moves": Sum(lambda r: r["migration_link_share"][r.sent] * r.done[r.sent]
                                if "migrations" in r else None, over=_sent),
    }


def _move_figures(t, names: frozenset) -> dict:
    """The columns of :data:`MOVE_COLUMNS` (:func:`move_metrics`) from their terms'
    values ``t``; none when the table has no moves (``names``: its columns)."""
    if "migrations" not in names:
        return {}
    total, sent = t["moves_done"], t["sent_rows"] > 0
    return {
        "migrations": t["migrations"],
        "moves_done": total,
        "moved_instances": t["moved_instances"],
        "migration_downtime_mean_s": float(t["downtime_s"] / total) if total else np.nan,
        "migration_s_mean": float(t["migration_s"] / t["sent_moves"]) if sent else np.nan,
        "migrated_gib": float(t["migrated_gib"]),
        "migration_link_share": float(t["link_share_moves"] / t["sent_moves"]) if sent else np.nan,
    }


class _Values(dict):
    """Each term's value, taken when first read: a sum the rows never fed is never read."""

    def __init__(self, terms: dict):
        super().__init__()
        self.terms = terms

    def __missing__(self, name: str):
        self[name] = value = self.terms[name].value
        return value


class InstanceReduction:
    """The summary's instance figures of one platform's ``rows`` instance rows, reduced
    over pieces of its table: :meth:`count` every piece once, in any order (pass 1: counts
    and how many values each sum has), then :meth:`add` every piece in row order from the
    first (pass 2: the sums, the values kept); :meth:`of_table` does both over a table in
    memory. ``duration_s``: the run's horizon (s); ``requests``: the workload the rows are
    of (``cpu_cores``, ``memory_gib``; used only with a row per instance), for the VM
    size over need; ``extra``: more terms to accumulate (name -> term), read from
    :attr:`terms`; ``keep_stays``: keep every placed instance's stay (16 bytes each,
    :meth:`stays`), for the peak of instances where no engine count of it is (a fleet of
    cells, whose engines counted each cell's: :func:`on_host_peak`). Pieces are pandas
    or Arrow tables, or sources of columns (:class:`Rows`)."""

    def __init__(self, rows: int, duration_s: float, requests: pd.DataFrame | None = None,
                 extra: dict | None = None, keep_stays: bool = False):
        self.rows, self.duration_s = rows, duration_s
        self.requests = requests if requests is not None and len(requests) == rows else None
        self.terms = {**_instance_terms(), **_move_terms(), **(extra or {})}
        if keep_stays:
            self.terms.update(stay_from=Kept(lambda r: r.stays[0]), stay_to=Kept(lambda r: r.stays[1]))
        self.names: frozenset = frozenset()
        self.added = 0  # rows given in order so far
        self.whole: Rows | None = None  # the table, reduced at once (its stays give the peak)

    @classmethod
    def of_table(cls, inst: pd.DataFrame, duration_s: float,
                 requests: pd.DataFrame | None = None) -> InstanceReduction:
        """The figures of a platform's whole instance table, in memory."""
        reduction = cls(len(inst), duration_s, requests)
        reduction.whole = rows = Rows(inst, duration_s, reduction.requests)
        reduction.names, reduction.added = rows.names, len(rows)
        for term in reduction.terms.values():
            term.of_whole(rows)
        return reduction

    def count(self, piece) -> Rows:
        """Pass 1: a piece of the rows, any one, once."""
        rows = piece if isinstance(piece, Rows) else Rows(piece, self.duration_s)  # in any order: no requests
        self.names = rows.names
        for term in self.terms.values():
            term.count(rows)
        return rows

    def add(self, piece) -> Rows:
        """Pass 2: the next rows in row order."""
        rows = piece if isinstance(piece, Rows) else Rows(piece, self.duration_s, self.requests, self.added)
        if rows.first != self.added:
            raise ValueError(f"InstanceReduction: rows from {rows.first} given after {self.added}")
        self.added += len(rows)
        for term in self.terms.values():
            term.add(rows)
        return rows

    def figures(self, peak_instances: int | None = None,
                replica_s: tuple[float, float] = (0.0, 0.0)) -> dict[str, float]:
        """The instance figures of the summary. ``peak_instances``: the engine's count of
        the most instances on the fleet at once; None: the peak of the stays
        (:func:`stays_peak` of :meth:`stays`), which counts a failure's victim waiting to be
        placed again (the table alone does not tell when it was off a host: :func:`on_host_peak`).
        ``replica_s``: the controller's services' (up, asked) replica-seconds
        (:func:`replica_availability_s`)."""
        if self.added != self.rows:
            raise ValueError(f"InstanceReduction: {self.added} of {self.rows} rows added")
        if peak_instances is None:
            peak_instances = stays_peak(*self.stays())
        return _instance_figures(_Values(self.terms), self.duration_s, peak_instances, self.names,
                                 self.requests is not None and "vm_vcpus" in self.names, replica_s)

    def stays(self) -> tuple[np.ndarray, np.ndarray]:
        """(from, to) of each placed instance's stay (:func:`resident_intervals`): of the
        table reduced whole, or of the pieces with ``keep_stays``."""
        if self.whole is not None:
            return self.whole.stays
        if "stay_from" in self.terms:
            return self.terms["stay_from"].value, self.terms["stay_to"].value
        raise ValueError("InstanceReduction: the stays of a table reduced in pieces are not kept (keep_stays)")

    def moves(self) -> dict[str, float]:
        """The columns of :data:`MOVE_COLUMNS` (:func:`move_metrics`); none without moves."""
        if self.added != self.rows:
            raise ValueError(f"InstanceReduction: {self.added} of {self.rows} rows added")
        return _move_figures(_Values(self.terms), self.names)


# numpy's pairwise summation (numpy/_core/src/umath/loops_utils.h.src, pairwise_sum):
# a block of at most 128 values is summed by 8 accumulators, a longer run split in two
# at half its length rounded down to a multiple of 8; ndarray.sum of float64 is 0.0 plus
# that over the whole array (checked against numpy by tests/engine/test_streamed.py).
_BLOCK = 128
_UNROLL = 8


class PairwiseSum:
    """``numpy.sum`` of ``n`` float64 values, to the bit, given the values in order in
    pieces of any length (:meth:`add`); holds one float per block of about 64–128 values
    (nothing when all ``n`` come in one piece: that piece's own sum).

    Raises ValueError if more than ``n`` values are given, or :attr:`total` is read
    before all ``n`` are."""

    def __init__(self, n: int):
        self.n = n
        self.whole: float | None = None  # the sum of the values given in one piece
        self.levels: list[np.ndarray] | None = None  # block lengths level by level, the leaves last
        self.done = 0  # blocks summed
        self.seen = 0  # values given
        self.pending = np.empty(0)  # given, their block not complete yet

    def add(self, values: np.ndarray) -> None:
        """The next values (float64, in order)."""
        values = np.asarray(values, dtype=np.float64)
        if self.seen + len(values) > self.n:
            raise ValueError(f"PairwiseSum: more than {self.n} values given")
        if len(values) == 0:  # nothing to add (and none after all n came in one piece)
            return
        if self.seen == 0 and len(values) == self.n:
            self.whole, self.seen = float(values.sum()), self.n
            return
        if self.levels is None:
            self.levels = _levels(self.n)
            self.lengths = self.levels[-1]
            self.ends = np.cumsum(self.lengths)
            self.sums = np.empty(len(self.lengths))
        self.seen += len(values)
        held = np.concatenate([self.pending, values]) if len(self.pending) else values
        first = self.ends[self.done - 1] if self.done else 0  # the row of held[0]
        last = int(np.searchsorted(self.ends, self.seen, side="right"))  # blocks complete now
        for length in np.unique(self.lengths[self.done:last]):
            which = np.flatnonzero(self.lengths[self.done:last] == length) + self.done
            starts = self.ends[which] - length - first
            self.sums[which] = _block_sums(held[starts[:, None] + np.arange(length)])
        used = (self.ends[last - 1] - first) if last > self.done else 0
        self.pending = held[used:].copy()
        self.done = last

    @property
    def total(self) -> float:
        """The sum, as ``numpy.sum`` of the ``n`` values gives it."""
        if self.seen != self.n:
            raise ValueError(f"PairwiseSum: {self.seen} of {self.n} values given")
        if self.whole is not None:
            return self.whole
        if self.n == 0:
            return 0.0
        sums = self.sums
        for level in reversed(self.levels[:-1]):  # each split block: its halves' sums added
            split = level > _BLOCK
            at = np.cumsum(1 + split) - (1 + split)  # its first half among the level below
            sums = np.where(split, sums[at] + sums[np.minimum(at + 1, len(sums) - 1)], sums[at])
        return float(0.0 + sums[0])

    def held(self) -> list[np.ndarray]:
        """The arrays it holds (for the bytes a streamed summary costs)."""
        if self.levels is None:
            return [self.pending]
        return [self.sums, self.ends, self.lengths, self.pending, *self.levels]


def _levels(n: int) -> list[np.ndarray]:
    """The block lengths of numpy's pairwise summation of ``n`` values, level by level
    from ``[n]`` down to the blocks summed directly (every one at most :data:`_BLOCK`)."""
    levels = [np.array([n], dtype=np.int64)]
    while (levels[-1] > _BLOCK).any():
        sizes = levels[-1]
        split = sizes > _BLOCK
        half = sizes // 2
        half -= half % _UNROLL
        left = np.where(split, half, sizes)
        pairs = np.stack([left, sizes - left], axis=1)
        levels.append(pairs[np.stack([np.ones_like(split), split], axis=1)])  # a block not split: one
    return levels


def _block_sums(blocks: np.ndarray) -> np.ndarray:
    """numpy's sum of each row of ``blocks`` (rows of one length, at most :data:`_BLOCK`),
    the operations of pairwise_sum's direct case applied to every row at once."""
    length = blocks.shape[1]
    if length < _UNROLL:
        result = np.zeros(len(blocks))
        for i in range(length):
            result += blocks[:, i]
        return result
    r = blocks[:, :_UNROLL].copy()
    body = length - length % _UNROLL
    for i in range(_UNROLL, body, _UNROLL):
        r += blocks[:, i:i + _UNROLL]
    result = ((r[:, 0] + r[:, 1]) + (r[:, 2] + r[:, 3])) + ((r[:, 4] + r[:, 5]) + (r[:, 6] + r[:, 7]))
    for i in range(body, length):
        result += blocks[:, i]
    return result


# An availability is shown to the digit where it falls short of 100 % (99.9998 %, 99.977 %):
# at a fixed 2 decimals every platform of a maintenance run read 100.00 %.
AVAILABILITY = "availability %"


def shown(value, fmt: str) -> str:
    """``value`` as the CLI's table and the HTML report show it: ``fmt`` (a
    :meth:`str.format` pattern, or :data:`AVAILABILITY`: a share in percent with the
    decimals that show its first digit short of 100 %, 2 to 8); "–" for a missing value;
    ``str(value)`` for one the pattern does not take."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    try:
        if fmt == AVAILABILITY:
            short = (1.0 - float(value)) * 100.0
            decimals = 2 if short <= 0 else min(8, max(2, -math.floor(math.log10(short))))
            return f"{value:.{decimals}%}"
        return fmt.format(value)
    except (TypeError, ValueError):
        return str(value)


# The headline comparison, for people: (summary column, label, format) in the order the
# CLI's table and the HTML report show them. A row whose column a summary lacks is skipped.
HEADLINE = (
    ("submitted", "submitted", "{:,.0f}"),
    ("placed", "placed", "{:,.0f}"),
    ("rejected", "rejected", "{:,.0f}"),
    ("rejection_rate", "rejection rate", "{:.1%}"),
    ("unplaceable", "fit no host at all", "{:,.0f}"),
    ("completed", "completed", "{:,.0f}"),
    ("running_at_end", "running at end", "{:,.0f}"),
    ("queued_at_end", "queued at end", "{:,.0f}"),
    ("replaced", "re-placed after a failure or drain", "{:,.0f}"),
    ("failed", "lost to a failure", "{:,.0f}"),
    ("evicted", "evicted by a move, not run again", "{:,.0f}"),
    ("requeued_at_end", "waiting to be re-placed at end", "{:,.0f}"),
    ("peak_instances", "peak instances", "{:,.0f}"),
    ("mean_instances", "mean instances", "{:,.1f}"),
    ("queue_mean_s", "queue wait mean (s)", "{:,.2f}"),
    ("requeue_mean_s", "wait to be re-placed, mean (s)", "{:,.2f}"),
    ("start_p50_s", "start p50 (s)", "{:,.2f}"),
    ("start_p95_s", "start p95 (s)", "{:,.2f}"),
    ("start_p99_s", "start p99 (s)", "{:,.2f}"),
    ("cold_starts", "cold starts", "{:,.0f}"),
    ("pull_s_mean", "image pull mean (s)", "{:,.2f}"),
    ("cpu_util_mean", "CPU used", "{:.1%}"),
    ("cpu_unmet_share", "CPU demand unmet", "{:.1%}"),
    ("batch_slowdown_p95", "batch slowdown p95", "{:.2f}×"),
    ("mem_used_util_mean", "memory used", "{:.1%}"),
    ("mem_alloc_util_mean", "memory allocated", "{:.1%}"),
    ("cpu_booked_util_mean", "CPU booked", "{:.1%}"),
    ("stranded_mem_gib_mean", "stranded memory (GiB)", "{:,.1f}"),
    ("vm_cpu_over_need", "VM vCPUs over need", "{:+.1%}"),
    ("vm_mem_over_need", "VM memory over need", "{:+.1%}"),
    ("oom_kills", "OOM kills", "{:,.0f}"),
    ("restarts", "restarts", "{:,.0f}"),
    ("swap_share", "host time swapping", "{:.1%}"),
    ("hosts_used", "hosts used", "{:,.0f}"),
    ("energy_kwh", "energy (kWh)", "{:,.1f}"),
    ("cost", "cost", "{:,.2f}"),  # the [cost] table's columns (simdc.cost), when a config has one
    ("cost_hosts", "cost of hosts", "{:,.2f}"),  # rent or amortised capital: with the next two, the cost
    ("cost_energy", "cost of electricity", "{:,.2f}"),
    ("cost_licences", "cost of licences", "{:,.2f}"),
    ("cost_per_instance_hour", "cost per instance-hour served", "{:,.4f}"),
    ("carbon_kgco2eq", "carbon (kgCO2eq)", "{:,.2f}"),
    ("interference_slowdown_p95", "interference slowdown p95", "{:.2f}×"),
    ("degraded_share", "time degraded by neighbours", "{:.1%}"),
    ("failures", "host/kernel failures", "{:,.0f}"),
    ("blast_radius_mean", "killed per failure", "{:,.1f}"),
    ("lost_work_core_s", "work lost to failures and moves (core-s)", "{:,.0f}"),
    ("service_availability", "service availability", AVAILABILITY),
    ("blocked", "blocked by a parent", "{:,.0f}"),
    ("jobs_completed", "jobs completed", "{:,.0f}"),
    ("makespan_mean_s", "job makespan mean (s)", "{:,.1f}"),
    ("makespan_p50_s", "job makespan p50 (s)", "{:,.1f}"),
    ("makespan_p95_s", "job makespan p95 (s)", "{:,.1f}"),
    ("critical_start_share", "critical path starting", "{:.2%}"),
    ("migrations", "moves begun (migrations, restarts)", "{:,.0f}"),
    ("moves_done", "moves done (ran again after)", "{:,.0f}"),
    ("migration_downtime_mean_s", "downtime per move done (s)", "{:,.3f}"),
    ("migrated_gib", "moved (GiB)", "{:,.1f}"),
    ("migration_link_share", "link share of a move", "{:.1%}"),
    # with [[services]] only (service_metrics): absent columns are left out of the table
    ("demand_served_share", "service demand served", "{:.2%}"),
    ("demand_unserved_core_s", "service demand unserved (core-s)", "{:,.0f}"),
    ("rollout_s_mean", "rollout duration mean (s)", "{:,.1f}"),
    ("rollout_pulled_gib", "pulled per release (GiB)", "{:,.2f}"),
    ("rollout_surge_peak", "peak surge (replicas)", "{:,.0f}"),
    ("rollout_unavailable_replica_s", "unavailable replica-s per release", "{:,.0f}"),
    ("rollout_unserved_core_s", "unserved per rollout (core-s)", "{:,.0f}"),
    ("catch_up_max_s", "time to serve a rise, max (s)", "{:,.1f}"),
    ("replica_hours", "replica-hours", "{:,.1f}"),
    # summed over services: up to services × the run's length (service_metrics)
    ("slo_violation_s", "SLO violated (service-s)", "{:,.0f}"),
)

SERVICE_COLUMNS = ("demand_served_share", "demand_unserved_core_s", "rollout_s_mean", "rollout_pulled_gib",
                   "rollout_surge_peak", "rollout_unavailable_replica_s", "rollout_unserved_core_s",
                   "catch_up_max_s", "replica_hours", "slo_violation_s")


# What a summary column can be, for the objectives that name it (simdc.planning.parse_slo):
# shares of a whole, in [0, 1]; slowdowns, at least 1 (1: never slowed); a VM's size over
# its need, a signed share, at least -1 (a size of 0); everything else at least 0: counts,
# seconds, GiB, kWh, core-seconds, and the utilisations of cores booked or demanded and of
# memory allocated or used, which overcommit and demand take above 1.
SHARES = ("rejection_rate", "cpu_util_mean", "cpu_unmet_share", "reclaim_share", "swap_share", "cache_hit_ratio",
          "degraded_share", "service_availability", "demand_served_share", "critical_start_share")
SLOWDOWNS = ("batch_slowdown_p50", "batch_slowdown_p95", "batch_slowdown_p99", "interference_slowdown_mean",
             "interference_slowdown_p95", "interference_slowdown_p99")
SIGNED_SHARES = ("vm_cpu_over_need", "vm_mem_over_need")


def value_range(column: str) -> tuple[float, float]:
    """The least and the most a summary column can be (both included), by what it
    measures: (0, 1) for a share of a whole (:data:`SHARES`), (1, inf) for a slowdown,
    (-1, inf) for a VM's size over its need, (0, inf) for anything else."""
    if column in SHARES:
        return 0.0, 1.0
    if column in SLOWDOWNS:
        return 1.0, math.inf
    if column in SIGNED_SHARES:
        return -1.0, math.inf
    return 0.0, math.inf


# What a summary column's NaN says of a run, for the objectives that name it
# (simdc.planning.Slo.met): every column an SLO may name is in exactly one of the three
# below (the cost columns are refused as SLOs, simdc.planning.parse_slo).
#
# NAN_HOLDS: NaN only because what the column is taken over never happened in the run
# (a mean over no events): nothing broke an objective on it, so the objective holds. A
# mean wait over no waits is no wait; a blast radius over no failures harmed nobody.
# The value is what did not happen, as a plan shows it ("no failure: holds"). Taken as
# "not met", the SLO was met only in runs that happened to have the rare event, and a
# plan's answer hung on whether a failure struck (its count grew to where one did).
NAN_HOLDS = {
    # rejected / submitted (the plan's bound: slo_bounds): NaN with no request, none turned away
    "rejection_rate": "no request",
    # over every submitted request (queue_s is set for each): NaN with none submitted
    "queue_mean_s": "no request",
    # over the instances a failure struck (Rows.struck; _requeue_s is finite for each, a
    # victim still waiting counted to the horizon): NaN when no failure struck an instance
    "requeue_mean_s": "no failure victim",
    # over the requests that found no host (free_mem_gib_at_failure is set at such a
    # failed placement only): NaN when every request found room
    "fragmentation_gib_mean": "no request found the fleet full",
    # failure_kills / failures (platform_row): NaN with no failure
    "blast_radius_mean": "no failure",
    # per move done (_move_figures; moves evicted or cut short are left out by definition,
    # and counted in evicted and failure_kills): NaN with no move done. It holds only with
    # no move asked for: a plan judges moves begun and not done, or a drain that never
    # emptied its host, as taking longer than the run (simdc.planning.judged: inf)
    "migration_downtime_mean_s": "no move done",
    # over the moves done that sent memory (live and checkpoint moves): NaN with none
    "migration_s_mean": "no live or checkpoint move",
    "migration_link_share": "no live or checkpoint move",
    # served / asked core-seconds of the services (service_metrics): NaN with no demand
    "demand_served_share": "no service demand",
    # means over the releases begun in the run, finished or not (release_metrics lists each
    # rollout begun, under way at the horizon too): NaN with no release in the run
    "rollout_pulled_gib": "no release",
    "rollout_surge_peak": "no release",
    "rollout_unavailable_replica_s": "no release",
    "rollout_unserved_core_s": "no release",
    # the longest wait from a rise in demand that left some unserved (one never served
    # counts to the horizon): NaN when no rise left demand unserved, so nothing waited
    "catch_up_max_s": "no rise left demand unserved",
}

# NaN because the run could not measure the column: what it is taken over is the
# service's own output (starts, runs, completions), so its absence is no good news, and
# an objective on it is not met (more hosts give it a value). The value says what was
# missing. A plan's start quantiles count the requests not started by the end
# (slo_bounds: a bound, inf while too many have not), so they are NaN only when no
# request was left to start (all turned away, or none): not met, as the README's "How
# many hosts?" says.
NAN_UNMEASURED = {
    # quantiles over the requests started in the run (the plan's: over all not turned away)
    "start_p50_s": "nothing started",
    "start_p95_s": "nothing started",
    "start_p99_s": "nothing started",
    # over completed batch instances: NaN with none completed (still running, or never placed)
    "batch_slowdown_p50": "no batch work completed",
    "batch_slowdown_p95": "no batch work completed",
    "batch_slowdown_p99": "no batch work completed",
    # time-weighted over the VMs' stays on a host: NaN with no VM on one (containers have none)
    "vm_cpu_over_need": "no VM on a host",
    "vm_mem_over_need": "no VM on a host",
    # over the instances' first starts (pull_s is set there): NaN with nothing started
    "pull_s_mean": "nothing started",
    # hits / lookups, looked up when an instance with an image is placed: NaN with none
    "cache_hit_ratio": "no image looked up",
    # over the instances that ran (run time > 0): NaN with none
    "interference_slowdown_mean": "nothing ran",
    "interference_slowdown_p95": "nothing ran",
    "interference_slowdown_p99": "nothing ran",
    "degraded_share": "nothing ran",
    # run / asked replica-seconds, asked from an instance's first start: NaN with nothing
    # started and no service replica desired
    "service_availability": "nothing asked to run",
    # over completed jobs (workflow_metrics): NaN with no job completed
    "makespan_mean_s": "no job completed",
    "makespan_p50_s": "no job completed",
    "makespan_p95_s": "no job completed",
    "critical_start_share": "no job completed",
    # over finished rollouts only: NaN when a release's rollout did not finish by the end
    # (the slow case: more room lets its surge in), not only with no release
    "rollout_s_mean": "no rollout finished",
}

# Never NaN in a run: counts, sums, and shares of the hosts' capacity or time (> 0 by
# validation) or of demand (0 without it: host_metrics).
NEVER_NAN = (
    "submitted", "placed", "rejected", "completed", "running_at_end", "queued_at_end", "oom_killed", "evicted",
    "replaced", "requeued_at_end", "peak_instances", "mean_instances", "cpu_util_mean", "cpu_demand_util_mean",
    "cpu_unmet_core_s", "cpu_unmet_share", "mem_used_util_mean", "mem_alloc_util_mean", "cpu_booked_util_mean",
    "stranded_mem_gib_mean", "oom_kills", "restarts", "reclaim_share", "swap_share", "cold_starts", "warm_starts",
    "pulled_gib", "hosts", "hosts_used", "energy_kwh", "failed", "failures", "failure_kills", "lost_work_core_s",
    "unplaceable", "blocked", "jobs", "jobs_completed", "migrations", "moves_done", "moved_instances",
    "migrated_gib", "demand_unserved_core_s", "replica_hours", "slo_violation_s",
)


def without_value(column: str) -> str:
    """What a NaN of summary column ``column`` says of the run, as a plan shows it beside
    "–": ``"no failure: holds"`` (:data:`NAN_HOLDS`), ``"nothing started: not met"``
    (:data:`NAN_UNMEASURED`), or ``"not measured: not met"`` for any other column."""
    if column in NAN_HOLDS:
        return f"{NAN_HOLDS[column]}: holds"
    return f"{NAN_UNMEASURED.get(column, 'not measured')}: not met"


def _held(series: pd.DataFrame, duration_s: float) -> pd.DataFrame:
    """One service's rows with ``dt_s``: how long each held (until the next row's time,
    or the horizon); of rows at one time only the last holds."""
    rows = series.sort_values("t_s", kind="stable")
    t = rows["t_s"].to_numpy(float)
    return rows.assign(dt_s=np.diff(np.append(t, duration_s)))


def replica_availability_s(series: pd.DataFrame, duration_s: float) -> tuple[float, float]:
    """``(up, asked)`` replica-seconds of the controller's services over the whole run, from
    its ``series`` (:func:`service_metrics`): up = ∫ min(ready, desired) dt, asked =
    ∫ desired dt, summed over the services. A service is asked for its desired replicas,
    not for any one of them: a replica that fails and is replaced leaves it short only
    until the replacement is ready, and one removed (scaled in, rolled out) was no longer
    asked for. Ready is what Kubernetes counts as available (a Deployment's
    availableReplicas against its replicas, Kubernetes docs, "Deployments"; minReadySeconds
    0). From 0 s: a service not up when the run begins (``running_at_start`` false) counts
    its first deployment as unavailable."""
    up = asked = 0.0
    for _, rows in series.groupby("service", sort=False):
        h = _held(rows, duration_s)
        up += float((np.minimum(h["ready"], h["desired"]) * h["dt_s"]).sum())
        asked += float((h["desired"] * h["dt_s"]).sum())
    return up, asked


def release_metrics(series: pd.DataFrame, releases: pd.DataFrame, duration_s: float) -> pd.DataFrame:
    """``releases`` with, per release, what its rollout cost (over [``at_s``, ``end_s``],
    to the horizon while under way): ``rollout_s`` (finished rollouts only, else NaN),
    ``surge_peak`` (most replicas above the desired count at once), ``unavailable_replica_s``
    (replicas short of the desired count ready, integrated) and ``unserved_core_s``; from
    the controller's ``series`` (see :func:`service_metrics`)."""
    held = {name: _held(rows, duration_s) for name, rows in series.groupby("service", sort=False)}
    rows = []
    for release in releases.itertuples():
        h = held[release.service]
        end = release.end_s if release.end_s == release.end_s else duration_s
        t0, t1 = h["t_s"].to_numpy(float), np.append(h["t_s"].to_numpy(float)[1:], duration_s)
        overlap = np.clip(np.minimum(t1, end) - np.maximum(t0, release.at_s), 0, None)
        during = overlap > 0
        rows.append({
            "rollout_s": end - release.at_s if release.finished else np.nan,
            "surge_peak": float((h["pods"] - h["desired"])[during].max()) if during.any() else 0.0,
            "unavailable_replica_s": float((np.maximum(h["desired"] - h["ready"], 0) * overlap).sum()),
            "unserved_core_s": float(((h["demand_cores"] - h["served_cores"]) * overlap).sum())})
    costs = pd.DataFrame(rows, columns=["rollout_s", "surge_peak", "unavailable_replica_s", "unserved_core_s"])
    return pd.concat([releases.reset_index(drop=True), costs], axis=1)


def service_metrics(series: pd.DataFrame, releases: pd.DataFrame, duration_s: float,
                    slo: dict[str, float]) -> dict[str, float]:
    """One platform's service numbers from the controller's records
    (:mod:`simdc.engine.services`): ``series`` holds each service's demand, ready
    replicas, replicas (pods), desired count and demand served (cores) from each
    ``t_s`` until its next row; ``releases`` each rollout's ``at_s``, ``end_s`` (when it
    ``finished``, or was cut short by the next release; NaN: under way at the horizon)
    and GiB pulled by the fleet meanwhile. ``slo`` maps a
    service to the share of its demand that must be served.

    Returns the columns of :data:`SERVICE_COLUMNS`: the share of demand (core-seconds)
    served and the core-seconds unserved; per release (means over releases, NaN
    without): rollout seconds (from the release until no old replica is left and every
    new one is ready; finished rollouts only), GiB pulled, the most replicas above the
    desired count at once, replica-seconds below the desired count ready, demand
    unserved; the longest wait from a rise in demand that left some unserved (while
    already short too) until all was served again (the horizon if never; NaN, shown "–",
    when no rise did); replica-hours of replicas existing (pods, pending ones included);
    ``slo_violation_s``, service-seconds with a service's served share below its SLO:
    each service's seconds out of its SLO, summed over the services, so up to
    services × ``duration_s`` (two services out of it over the same 100 s count 200;
    a service's own seconds are in ``series``). Summed rather than the time any service
    was out, so that it grows with every service that misses, as demand unserved does.
    """
    held = [_held(rows, duration_s) for _, rows in series.groupby("service", sort=False)]
    demand = sum(float((h["demand_cores"] * h["dt_s"]).sum()) for h in held)
    unserved = sum(float(((h["demand_cores"] - h["served_cores"]) * h["dt_s"]).sum()) for h in held)
    violated, catch_up = 0.0, []
    for h in held:
        share = np.where(h["demand_cores"] > 0, h["served_cores"] / h["demand_cores"].where(h["demand_cores"] > 0, 1),
                         1.0)
        violated += float(h["dt_s"][share < slo.get(h["service"].iloc[0], 1.0) - 1e-12].sum())
        t, short = h["t_s"].to_numpy(float), (h["served_cores"] < h["demand_cores"] - 1e-9).to_numpy()
        d = h["demand_cores"].to_numpy(float)
        # a rise that leaves demand unserved, one while already short (a failure's, an
        # earlier rise's) too: its own wait runs from it until all is served again (the
        # demand at the start is the deployment's, not a rise: running_at_start says how
        # the run begins)
        for j in np.flatnonzero(short[1:] & (d[1:] > d[:-1] + 1e-9)) + 1:
            after = np.flatnonzero(~short[j:])
            catch_up.append((t[j + after[0]] if len(after) else duration_s) - t[j])
    rollouts = release_metrics(series, releases, duration_s)
    measures = ["rollout_s", "pulled_gib", "surge_peak", "unavailable_replica_s", "unserved_core_s"]
    means = rollouts[measures].mean().to_numpy(float) if len(rollouts) else np.full(5, np.nan)  # skips NaN
    return {
        "demand_served_share": (demand - unserved) / demand if demand else np.nan,
        "demand_unserved_core_s": unserved,
        "rollout_s_mean": means[0], "rollout_pulled_gib": means[1], "rollout_surge_peak": means[2],
        "rollout_unavailable_replica_s": means[3], "rollout_unserved_core_s": means[4],
        "catch_up_max_s": max(catch_up) if catch_up else np.nan,  # no rise left any unserved
        "replica_hours": sum(float((h["pods"] * h["dt_s"]).sum()) for h in held) / 3600.0,
        "slo_violation_s": violated,
    }


START_QUANTILES = {"start_p50_s": 50, "start_p95_s": 95, "start_p99_s": 99}


def was_submitted(outcome: np.ndarray) -> np.ndarray:
    """Which instances reached the platform as requests (a boolean per row of their
    ``outcome``, as text): all but those of :data:`NOT_SUBMITTED`."""
    return ~np.isin(outcome, NOT_SUBMITTED)


def censored_bounds(known: np.ndarray, censored_at: np.ndarray,
                    percents: tuple[int, ...]) -> dict[str, tuple[float, float]]:
    """Bounds (low, high) on the ``percents`` (keys ``str(p)``) and the mean (key
    ``"mean"``) of values right-censored by the run's end: ``known`` those observed,
    ``censored_at`` where each of the others was cut off (it is at least that, perhaps
    ``inf``). The low bound takes each censored value at its censoring time, the high one
    as never ending (``inf``), so ``p99 <= x`` holds for the high bound only when 99 % of
    all are known to be within x (Klein & Moeschberger, *Survival Analysis*, 2nd ed.,
    §1.2 and §3.2: right censoring). Linear interpolation as numpy's, with the censored
    values last; ``inf`` where the percentile falls on or beside one. Both bounds are
    the values' own figures when none is censored (NaN for no value at all)."""
    exact = _quantiles(known, "", percents)
    if not len(censored_at):
        return {str(p): (exact[str(p)], exact[str(p)]) for p in percents} | {"mean": (_mean(known), _mean(known))}
    low = _quantiles(np.concatenate([known, censored_at]), "", percents)
    ordered = np.concatenate([np.sort(known), np.full(len(censored_at), np.inf)])
    bounds = {}
    for p in percents:
        position = (len(ordered) - 1) * p / 100  # numpy's linear interpolation, with the censored last
        k = int(np.floor(position))
        below, above, part = ordered[k], ordered[min(k + 1, len(ordered) - 1)], position - k
        high = below if part == 0 else (np.inf if np.isinf(above) else below + (above - below) * part)
        bounds[str(p)] = (low[str(p)], float(high))
    return bounds | {"mean": (_mean(np.concatenate([known, censored_at])), np.inf)}


MAKESPAN_QUANTILES = (50, 95)  # the summary's makespan_p*_s


def slo_bounds(inst: pd.DataFrame, duration_s: float,
               jobs: tuple[np.ndarray, list[list[int]], np.ndarray] | None = None) -> dict[str, tuple[float, float]]:
    """Bounds (low, high) on ``rejection_rate`` and the ``start_p*_s`` of one platform's
    instances whatever the requests not started by the end do next (module docstring,
    "not started by the end"); both equal the summary's value when every request started
    or was turned away. Start latencies in seconds (``inf``: more have not started than
    the quantile leaves above it); rejection as a share in [0, 1]; NaN without requests.
    With ``jobs`` (:func:`job_structure` of the workload, whose rows ``inst`` holds in
    order), the ``makespan_*_s`` too, each job not completed censored as a request not
    started is (:func:`censored_bounds`: never completing for the high bound)."""
    outcome = inst["outcome"].astype(str).to_numpy()
    sent = was_submitted(outcome)
    requests = int(sent.sum())
    rejected = int((outcome == "rejected").sum())
    queued = int((outcome == "queued_at_end").sum())
    bounds = {"rejection_rate": (rejected / requests, (rejected + queued) / requests) if requests
              else (np.nan, np.nan)}
    ready = inst["first_ready_s" if "first_ready_s" in inst else "ready_s"].to_numpy(float)
    submit = inst["submit_s"].to_numpy(float)
    asked = sent & (outcome != "rejected")  # submitted, and not turned away
    if "preexisting" in inst:  # a service's replicas up before the run did not start in it
        asked &= ~inst["preexisting"].to_numpy(bool)
    started = asked & ~np.isnan(ready)
    latency = ready[started] - submit[started]
    unstarted = asked & np.isnan(ready)
    censored = censored_bounds(latency, np.maximum(duration_s - submit[unstarted], 0.0),
                               tuple(START_QUANTILES.values()))
    bounds |= {name: censored[str(q)] for name, q in START_QUANTILES.items()}
    if jobs is not None:  # no job (no task with a dependency): NaN, as the summary's
        per_job = _per_job(inst, jobs[0], jobs[2])
        done = per_job["done"].to_numpy(bool)
        first, last = per_job["first"].to_numpy(float), per_job["last"].to_numpy(float)
        # a job not completed ends after the run's end, or never: at least duration − first
        makespans = censored_bounds(last[done] - first[done], np.fmax(duration_s - first[~done], 0.0),
                                    MAKESPAN_QUANTILES)
        bounds |= {f"makespan_{key if key == 'mean' else f'p{key}'}_s": value for key, value in makespans.items()}
    return bounds
