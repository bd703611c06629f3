"""Running one platform: the general engine, or its fast lane when that suffices."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from simdc.engine.handlers import FastLane, NeedsGeneral
from simdc.engine.rules import resolve_sizing
from simdc.engine.simulation import PlatformRun
from simdc.model.faults import FaultSpec
from simdc.model.host import HostSpec
from simdc.model.image import RegistrySpec
from simdc.model.placement import PlacementSpec
from simdc.model.platform import ContainerPlatform, VmPlatform


def run_platform(name: str, platform: VmPlatform | ContainerPlatform, hosts: list[HostSpec],
                 instances: pd.DataFrame, *, duration_s: float, sample_every_s: float, seed: int,
                 usage=None, placement: PlacementSpec | None = None, power_off_idle: bool = False,
                 progress=None, images: dict | None = None,
                 registry: RegistrySpec | None = None, faults: FaultSpec | None = None,
                 lane: str = "auto", sizes: str = "vm", meter_at_s: tuple[float, ...] = (),
                 moves: tuple | None = None, services: tuple = (), stream_to=None) -> PlatformRun:
    """Replay ``instances`` (sorted by ``submit_s``) on ``hosts`` under ``platform``.

    Parameters
    ----------
    duration_s
        Horizon in seconds: the run covers [0, ``duration_s``]. An end exactly then
        completes; nothing begins then (:func:`simdc.engine.simulation.run_events`), and
        the state left decides ``running_at_end``.
    sample_every_s
        Step of the timeseries, seconds.
    seed
        The run's seed; this platform's random streams are derived from it and ``name``.
    usage
        A usage model (:mod:`simdc.workload.usage`); default: each instance's mean usage.
    progress
        Called as ``progress(t_s)`` with the simulated time at every sample, and with
        ``duration_s`` once the run has ended.
    images, registry
        The image catalogue (``name:tag`` -> ImageSpec) and where images are pulled from.
    faults
        Host and kernel failures to inject (:mod:`simdc.model.faults`).
    lane
        ``"auto"`` takes the fast lane (:mod:`simdc.engine.handlers`) when the run needs
        nothing it lacks (the same results, a fraction of the work), else the general
        engine (:mod:`simdc.engine.simulation`); ``"general"`` and ``"fast"`` force one
        (the tests compare them; ``"fast"`` on a run it does not model raises
        ValueError). The result says which ran.
    stream_to
        A path ``P``: a general-engine run streams its instance rows into the Parquet
        file ``P.instances.parquet`` as instances end, its per-instance state let go chunk
        by chunk, and its timeseries into ``P.timeseries.parquet`` as it goes (bounded
        memory: :mod:`simdc.engine.chunks`); its ``instances`` and ``timeseries`` are then
        None. A fast-lane run, or one with dependencies, moves or services, runs in
        memory, as without it.
    sizes
        What the instances' ``cpu_cores`` and ``memory_gib`` are: VM sizes (``"vm"``) or
        applications' needs (``"need"``); decides a VM's ``sizing = "auto"``
        (:func:`simdc.engine.rules.resolve_sizing`).
    meter_at_s
        Moments (s, increasing, inside the run) at which to read every host's energy:
        the result's ``meter_j`` (:mod:`simdc.engine.meter`). Any makes it the general
        engine's run.
    moves
        ``(maintenance, migration, consolidation)`` specs (:mod:`simdc.model.migration`):
        drains and consolidation, which only the general engine runs.
    services
        ``[[services]]`` specs (:mod:`simdc.model.service`): replica sets whose replicas a
        controller creates as the run goes (:mod:`simdc.engine.services`), general engine only.
    """
    platform = resolve_sizing(platform, sizes)
    if services:
        return _with_services(name, platform, hosts, instances, duration_s, sample_every_s, seed, usage,
                              placement, power_off_idle, images, registry, faults, progress, services, moves,
                              meter_at_s)
    args = (name, platform, hosts, instances, duration_s, sample_every_s, seed, usage,
            placement or PlacementSpec(), power_off_idle, images or {}, registry or RegistrySpec(),
            faults or FaultSpec(), moves)
    sim = FastLane(*args, stream_to=stream_to)
    if lane == "fast" and not sim.applies():  # it would leave out what it lacks: wrong rows, not an error
        raise ValueError(f"{name}: lane='fast' forced on a run the fast lane does not model (batch work, "
                         "failures, limits, dependencies, moves, a recommender, meter readings, services or "
                         "interference: FastLane.applies); use lane='auto' or 'general'")
    if lane == "fast" or (lane == "auto" and sim.applies()):
        if sim.chunks is not None:  # the fast lane holds its state in memory: built again without chunks
            del sim
            sim = FastLane(*args)
    sim.progress = progress
    sim.meter_at_s = tuple(meter_at_s)
    if lane == "general" or (lane == "auto" and not sim.applies()):
        return _finished(sim, sim.run(), "general")
    try:
        return _finished(sim, sim.run_fast(), "fast")
    except NeedsGeneral:  # VM memory reclaim, which only the general engine models
        if lane != "auto":
            raise
        del sim
        sim = FastLane(*args, stream_to=stream_to)
        sim.progress = progress
        return _finished(sim, sim.run(), "general")


def _with_services(name, platform, hosts, instances, duration_s, sample_every_s, seed, usage, placement,
                   power_off_idle, images, registry, faults, progress, services, moves=None,
                   meter_at_s=()) -> PlatformRun:
    """The general engine with a controller for ``services``; the instances table holds the
    workload's rows, then every replica created (its ``service`` column names its service,
    ``version`` the release it ran last, 0 before any: a VM updated in place, the one it was
    updated to)."""
    from simdc.engine.services import Controller, ReplicaUsage, from_workload, with_replicas

    services, instances, kept = from_workload(tuple(services), instances, duration_s, usage)
    rows, plan = with_replicas(instances, services, duration_s)
    usage = ReplicaUsage(usage, plan, rows["cpu_used"].to_numpy(float), rows["memory_used_gib"].to_numpy(float),
                         kept=kept)
    sim = FastLane(name, platform, hosts, rows, duration_s, sample_every_s, seed, usage,
                   placement or PlacementSpec(), power_off_idle, images or {}, registry or RegistrySpec(),
                   faults or FaultSpec(), moves)
    sim.progress = progress
    sim.meter_at_s = tuple(meter_at_s)
    sim.services = Controller(sim, plan, duration_s)
    sim.usage.controller = sim.services
    run = _finished(sim, sim.run(), "general")
    series, releases = sim.services.tables()
    table = run.instances
    service = np.full(len(table), "", dtype=object)
    version = np.zeros(len(table), dtype=np.int64)
    service[plan.first:] = [plan.services[k].name for k in plan.service_of]
    version[plan.first:] = plan.version_of
    for i in sim.services.updated:  # VMs updated in place: their row's version no longer
        version[i] = sim.services.version_run(i)
    table["service"], table["version"] = service, version
    preexisting = np.zeros(len(table), dtype=bool)  # up when the run began: no start to measure
    preexisting[list(sim.services.preexisting)] = True
    table["preexisting"] = preexisting
    created = sim.services.created_s
    slots = np.fromiter(created, np.int64, len(created))
    submit = table["submit_s"].to_numpy(float).copy()
    submit[slots] = np.fromiter(created.values(), float, len(created))
    table["submit_s"] = submit
    # waited for a host from its creation: until admitted, turned away, or the end
    admit, end = table["admit_s"].to_numpy(float), table["end_s"].to_numpy(float)
    waited = np.where(np.isnan(admit), np.where(np.isnan(end), duration_s, end), admit)
    queue = table["queue_s"].to_numpy(float).copy()
    queue[slots] = waited[slots] - submit[slots]
    table["queue_s"] = queue
    # No replica is asked to run for a time: its service is asked for its desired count, and
    # the controller replaces a lost one (simdc.metrics.replica_availability_s).
    requested = table["requested_s"].to_numpy(float).copy()
    requested[slots] = np.nan
    table["requested_s"] = requested
    pools = sim.services.warm_pools(admit)
    keep = sim.services.used_rows()
    table = table[keep].reset_index(drop=True)
    asked = rows.loc[keep].reset_index(drop=True)  # the workload's rows (all their columns), then the replicas'
    warnings = tuple(f"{name}: service {plan.services[k].name!r} used all {len(plan.pools[k][0]):,} replica rows of a "
                     "version and created no more (simdc.engine.services.pool_size); its numbers after that are "
                     "short of replicas" for k in sorted(sim.services.exhausted))
    return replace(run, instances=table, services=series, releases=releases, requests=asked,
                   warnings=run.warnings + warnings,
                   warm_pools=pools)


def _finished(sim: FastLane, run: PlatformRun, lane: str) -> PlatformRun:
    """The run with its lane, and each instance marked ``unplaceable`` when no host of the
    fleet could hold it even empty: a request the fleet cannot serve at any load, which a
    capacity planner must tell apart from a rejection under load."""
    if run.instances is not None:  # a streamed run's chunks had theirs (Simulation.stream)
        sim._finish_columns(run.instances)
    if sim.progress is not None:  # the run's end: a progress bar reaches it (samples stop short of it)
        sim.progress(sim.duration_s)
    return replace(run, lane=lane)
