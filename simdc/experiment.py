"""The Python API behind the CLI and the notebooks: run a config, get DataFrames."""

from __future__ import annotations

import functools
import platform as _platform
import time
from datetime import datetime, timezone
from importlib import metadata

import numpy as np
import pandas as pd

from simdc import budget, metrics
from simdc.config import Config
from simdc.engine import run_platform
from simdc.engine.rules import resolve_sizing
from simdc.results import Results
from simdc.workload import load_workload

VERSIONED = ("simdc", "simpy", "numpy", "pandas", "pyarrow", "pydantic")


def simulate(config: Config, seed: int | None = None, progress=None, *, check_memory: bool = True) -> Results:
    """Replay the config's workload once per platform and collect the results.

    Parameters
    ----------
    config
        A validated config (:func:`simdc.load_config`).
    seed
        Overrides ``simulation.seed``; the results' config records the seed used.
        Same config and seed give identical tables.
    progress
        Optional ``progress(platform, t_s, duration_s)``, called as simulated time passes
        (for progress bars); it must not change anything.
    check_memory
        Estimate the run's memory first and refuse it when the machine has less
        available (:mod:`simdc.budget`); False runs it anyway.

    Returns
    -------
    Results
        ``summary`` (one row per platform), ``instances`` (times in seconds from the
        start), ``timeseries`` (cores and GiB per host and sample), ``hosts``,
        ``workload``; ``figures()`` draws them, ``write(dir, report=True)`` keeps them.
        With a ``[cost]`` table, the summary ends with :data:`simdc.metrics.COST_COLUMNS`
        and the hosts table has each host's cost and carbon (:mod:`simdc.cost`).

    Raises
    ------
    simdc.errors.InputError
        A ``[cost]`` series malformed or too short for the run, before anything runs.
    simdc.budget.TooBigError
        With ``check_memory``, when the run needs more memory than is available: before
        a synthetic workload is drawn, or once a trace is read.
    """
    started = time.perf_counter()
    if seed is not None and seed != config.simulation.seed:
        config = config.with_overrides({"simulation.seed": seed})
    if config.cells:  # each cell a run of its own, checked on its own
        from simdc.cells import simulate_cells

        return simulate_cells(config, check_memory=check_memory)
    sim = config.simulation
    before_replay = None
    usage_read = [0]
    if check_memory:
        budget.check(config)  # the generator's expected instances; for a trace, its timeseries
        if config.workload.trace is not None:
            def before_replay(instances: int, usage_steps: int) -> None:
                usage_read[0] = usage_steps
                budget.check(config, instances, usage_steps)
    grid = None
    if config.cost is not None:  # read before the runs: a bad series stops nothing half-done
        from simdc import cost

        price, carbon = cost.grid_series(config.cost, sim.duration_s)
        grid = (price, carbon, cost.meter_moments(price, carbon, sim.duration_s))
    workload = load_workload(config.workload, sim.duration_s, sim.seed, before_replay)
    if check_memory and any(service.job for service in config.services):  # replicas known from the trace now
        from simdc.engine.services import from_workload

        services, rest, _ = from_workload(config.services, workload.instances, sim.duration_s, workload.usage)
        budget.check(config, len(rest), usage_read[0], services=services)
    runs = replay(config, workload, sim.seed, progress, meter_at_s=grid[2] if grid else ())
    # each platform's summary from its own tables (no copy of a platform's rows out of all)
    asked = [workload.instances if r.requests is None else r.requests for r in runs]  # per platform, row by row
    summary = pd.concat([metrics.summary(r.instances, r.hosts, a) for r, a in zip(runs, asked)], ignore_index=True)
    if config.services:
        slo = {service.name: service.slo_served_share for service in config.services if service.job != "*"}
        every = [service.slo_served_share for service in config.services if service.job == "*"]
        if every:  # the services made from every job with replicas: named in the runs' records
            slo |= {name: every[0] for r in runs for name in r.services["service"].unique() if name not in slo}
        served = pd.DataFrame([metrics.service_metrics(r.services, r.releases, sim.duration_s, slo) for r in runs])
        if not any(service.releases for service in config.services):
            served = served.drop(columns=[c for c in served.columns if c.startswith("rollout_")])
        summary = pd.concat([summary, served], axis=1)
    if grid is not None:
        summary = _with_costs(summary, runs, config, grid)
    records = {"services": None, "releases": None}
    if config.services:  # per platform: the controller's series, and each release with what it cost
        for name, tables in (("services", [r.services for r in runs]),
                             ("releases", [metrics.release_metrics(r.services, r.releases, sim.duration_s)
                                           for r in runs])):
            joined = pd.concat([t.assign(platform=p) for t, p in zip(tables, sim.platforms)], ignore_index=True)
            records[name] = joined[["platform", *joined.columns[:-1]]]
    lanes = {name: run.lane for name, run in zip(sim.platforms, runs)}
    instances = _concat_columns([r.instances for r in runs])
    hosts = pd.concat([r.hosts for r in runs], ignore_index=True)
    timeseries = pd.concat([r.timeseries for r in runs], ignore_index=True)
    run_warnings = [line for r in runs for line in r.warnings]
    del runs
    return Results(
        config=config,
        summary=summary,
        instances=instances,
        timeseries=timeseries,
        hosts=hosts,
        workload=workload.instances,
        services=records["services"],
        releases=records["releases"],
        manifest={
            "seed": sim.seed,
            "config_hash": config.hash,
            "workload": workload.source,
            "skipped_rows": dict(workload.skipped),  # bad trace rows skipped, by reason
            "workload_notes": list(workload.notes),  # what the trace reader chose and assumed
            "platforms": list(sim.platforms),
            "engine_lanes": lanes,
            # how each VM platform sized its VMs: "auto" decided by what the workload's sizes are
            "vm_sizing": {name: resolve_sizing(config.platform[name], workload.sizes).sizing
                          for name in sim.platforms if config.platform[name].rules == "vm"},
            "workload_sizes": workload.sizes,
            "warnings": unplaceable_warnings(summary, instances, pd.concat(asked, ignore_index=True)
                                             if config.services else workload.instances, config)
            + run_warnings
            + sizing_warnings(config, workload)
            + maintenance_warnings(config)
            + demand_warnings(config),
            "versions": {"python": _platform.python_version(), **{p: _version(p) for p in VERSIONED}},
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "wall_time_s": round(time.perf_counter() - started, 3),
        },
    )


def _with_costs(summary: pd.DataFrame, runs: list, config: Config, grid: tuple) -> pd.DataFrame:
    """The summary with :data:`simdc.cost.COST_COLUMNS` after its own, and each run's
    hosts table with its cost columns (:func:`simdc.cost.host_costs`)."""
    from simdc import cost

    price, carbon, moments = grid
    rows = []
    for name, run in zip(config.simulation.platforms, runs):
        for column, values in cost.host_costs(run.hosts, config.fleet, price, carbon, moments, run.meter_j).items():
            run.hosts[column] = values
        rows.append(cost.platform_costs(run.instances, run.hosts, config.cost.licence_per_hour.get(name, 0.0)))
    return pd.concat([summary, pd.DataFrame(rows, columns=list(cost.COST_COLUMNS))], axis=1)


def replay(config: Config, workload, seed: int, progress=None, meter_at_s: tuple[float, ...] = ()) -> list:
    """Each platform's run (:class:`simdc.engine.simulation.PlatformRun`) of ``workload`` on
    the config's fleet, its streams derived from ``seed``: the heart of :func:`simulate`,
    and of each cell of a fleet of cells (:mod:`simdc.cells`). ``meter_at_s``: moments at
    which to read every host's energy (a ``[cost]`` series, :mod:`simdc.engine.meter`)."""
    sim = config.simulation
    return [
        run_platform(name, config.platform[name], config.fleet, workload.instances,
                     duration_s=sim.duration_s, sample_every_s=sim.sample_every_s, seed=seed,
                     usage=workload.usage, placement=config.placement, power_off_idle=config.power_off_idle,
                     progress=None if progress is None else
                     (lambda t, name=name: progress(name, t, sim.duration_s)),
                     images={image.name: image for image in config.images}, registry=config.registry,
                     faults=config.faults, sizes=workload.sizes, meter_at_s=meter_at_s,
                     moves=(config.maintenance, config.migration, config.consolidation), services=config.services)
        for name in sim.platforms
    ]


def unplaceable_warnings(summary: pd.DataFrame, instances: pd.DataFrame, requests: pd.DataFrame,
                         config: Config) -> list[str]:
    """One line per platform with requests that no host of the fleet could hold even
    empty: a fleet too small for the workload, not a load problem. ``instances`` holds each
    platform's rows in the order of the workload's ``requests``."""
    lines = []
    if not summary["unplaceable"].any():  # the usual case: no row to build (itertuples makes a class per call)
        return lines
    largest = max(config.fleet, key=lambda host: (host.memory_gib, host.cpu_cores))
    for row in summary.itertuples():
        if not row.unplaceable:
            continue
        rows = instances.loc[instances["platform"] == row.platform]
        unplaced = rows["unplaceable"].to_numpy(bool)
        asked = requests.loc[rows.index] if len(requests) == len(instances) else requests  # per platform's rows
        mine = asked[unplaced]
        booked = ""  # what admission booked, when not the request: a catalogue VM, a recommendation
        if "vm_vcpus" in rows and rows["vm_vcpus"].notna().all():
            sized = rows.loc[unplaced, ["vm_vcpus", "vm_memory_gib"]].to_numpy(float)
            if not np.array_equal(sized, mine[["cpu_cores", "memory_gib"]].to_numpy(float)):
                booked = f", a VM of {sized[:, 0].max():g} vCPUs, {sized[:, 1].max():g} GiB"
        elif "booked_cpu" in rows:  # a container books its request, or what admission made of it
            held = rows.loc[unplaced, ["booked_cpu", "booked_memory_gib"]].to_numpy(float)
            if not np.allclose(held, mine[["cpu_cores", "memory_gib"]].to_numpy(float), rtol=0, atol=0.05):
                booked = f", booked as {held[:, 0].max():.3g} cores, {held[:, 1].max():.3g} GiB"
        lines.append(
            f"{row.platform}: {row.unplaceable:,} of {row.submitted:,} requests fit no host even when it is empty "
            f"(largest such request {mine['cpu_cores'].max():g} cores, {mine['memory_gib'].max():g} GiB{booked}; "
            f"largest host {largest.cpu_cores:g} cores, {largest.allocatable_memory_gib:g} GiB allocatable"
            + (f", split into {nodes} node VMs: a request must fit one node, with the node's own overheads"
               if (nodes := getattr(config.platform[row.platform], "nodes_per_host", None)) else "")
            + "); they are counted as 'unplaceable' and in rejected, and no fleet of these hosts can serve them"
            + (" as booked" if booked else ""))
    return lines


def sizing_warnings(config: Config, workload) -> list[str]:
    """One line per VM platform that sizes VMs from its catalogue when some needs exceed
    every size: those VMs get a custom size of exactly the need (plus the guest OS), which
    no cloud of that catalogue offers (:func:`simdc.engine.rules.vm_sizes`)."""
    from simdc.engine.rules import vm_sizes
    from simdc.model.platform import VmPlatform

    lines = []
    need_cpu = workload.instances["cpu_cores"].to_numpy(float)
    need_mem = workload.instances["memory_gib"].to_numpy(float)
    for name in config.simulation.platforms:
        platform = resolve_sizing(config.platform[name], workload.sizes)
        if not isinstance(platform, VmPlatform) or platform.sizing != "catalogue":
            continue
        custom = int(vm_sizes(platform, need_cpu, need_mem)[2].sum())
        if custom:
            most_cpu = max(size.vcpus for size in platform.catalogue)
            most_mem = max(size.memory_gib for size in platform.catalogue)
            lines.append(f"{name}: {custom:,} of {len(need_cpu):,} needs fit no size of the VM catalogue (at most "
                         f"{most_cpu:g} vCPUs, {most_mem:g} GiB with {platform.guest_os_mib:g} MiB of it the guest "
                         f"OS); they get a custom size of exactly their need")
    return lines


def maintenance_warnings(config: Config) -> list[str]:
    """One line when drains are planned at or after the run's end: they are not made (a
    config shortened for a quick run keeps its schedule, so this is no error)."""
    end_s = config.simulation.duration_s
    late = [t_s for _, t_s in config.maintenance.drains if t_s >= end_s]
    rolling = config.maintenance.rolling_start_s
    lines = []
    if late:
        lines.append(f"maintenance.drains: {len(late):,} of {len(config.maintenance.drains):,} drains fall at or "
                     f"after the run's end ({end_s:g} s) and are not made")
    if rolling is not None and rolling >= end_s:
        lines.append(f"maintenance.rolling_start_s: the rolling drain starts at {rolling:g} s, at or after the "
                     f"run's end ({end_s:g} s): no host is drained")
    return lines


def demand_warnings(config: Config) -> list[str]:
    """One line per service whose demand ``steps`` or ``spikes`` start at or after the
    run's end: they change nothing (as late drains, a shortened config keeps them)."""
    end_s = config.simulation.duration_s
    lines = []
    for index, service in enumerate(config.services):
        for key, starts in (("steps", [t_s for t_s, _ in service.demand.steps]),
                            ("spikes", [spike.at_s for spike in service.demand.spikes])):
            late = sum(t_s >= end_s for t_s in starts)
            if late:
                lines.append(f"services[{index}].demand.{key}: {late:,} of {len(starts):,} start at or after the "
                             f"run's end ({end_s:g} s) and change nothing")
    return lines


def _concat_columns(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """``pd.concat(frames, ignore_index=True)`` one column at a time, each dropped from its
    frame once joined: the peak holds one copy of the table and a column, not two copies."""
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)  # one platform: nothing to join
    columns = {}
    for name in list(frames[0].columns):
        columns[name] = pd.concat([frame[name] for frame in frames], ignore_index=True)
        for frame in frames:
            del frame[name]
    return pd.DataFrame(columns, copy=False)


@functools.cache
def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
