"""The Python API behind the CLI and the notebooks: run a config, get DataFrames."""

from __future__ import annotations

import functools
import os
import platform as _platform
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from simdc import budget, metrics
from simdc.config import Config, load_config
from simdc.errors import MAX_SEED, ConfigError, checked_bool, checked_callback, checked_int, listed, moment
from simdc.engine import run_platform
from simdc.engine.rules import resolve_sizing
from simdc.results import Results
from simdc.workload import load_workload

VERSIONED = ("simdc", "simpy", "numpy", "pandas", "pyarrow", "pydantic")


SPILL_ROWS = 250_000  # rows per row group of a spilled table (simdc.budget.SPILL_BYTES holds one)


def simulate(config: Config | str | Path, seed: int | None = None, progress=None, *, check_memory: bool = True,
             spill: bool | None = None, spill_to=None) -> Results:
    """Replay the config's workload once per platform and collect the results.

    Parameters
    ----------
    config
        A validated config (:func:`simdc.load_config`), or the path of a TOML config
        (``str`` or :class:`pathlib.Path`), loaded as ``simdc run`` loads it.
    seed
        Overrides ``simulation.seed``: an integer in [0, 2**63 - 1] (TOML's integers;
        not a bool, nor a float such as ``1.0``); the results'
        config records the seed used. Same config and seed give identical tables.
    progress
        Optional ``progress(platform, t_s, duration_s)``, called as simulated time passes
        (for progress bars); it must not change anything.
    check_memory
        Estimate the run's memory first and refuse it when the machine has less
        available (:mod:`simdc.budget`); False runs it anyway.
    spill
        None (the default): with ``check_memory``, a run whose tables would not fit in
        memory but fit spilled (:attr:`simdc.budget.Estimate.spilled_bytes`) runs
        spilled: each platform's instance table and timeseries are written to Parquet
        (row groups of :data:`SPILL_ROWS` rows) as soon as the platform has run, and
        dropped before the next one runs; a run that fits runs in memory. True spills
        always, False never. The tables, the summary and the files written are the same
        either way.
    spill_to
        Where a spilled run writes its tables: an existing empty folder (one folder
        per run: the results read their tables from it for as long as they live), or a
        :class:`simdc.results.Destination` already entered (its partial directory; the
        CLI's). Default: a temporary folder (``TMPDIR``) that the results own.

    Returns
    -------
    Results
        ``summary`` (one row per platform), ``instances`` (times in seconds from the
        start), ``timeseries`` (cores and GiB per host and sample), ``hosts``,
        ``workload``; ``figures()`` draws them, ``write(dir, report=True)`` keeps them.
        With a ``[cost]`` table, the summary ends with :data:`simdc.metrics.COST_COLUMNS`
        and the hosts table has each host's cost and carbon (:mod:`simdc.cost`).
        Spilled, a :class:`simdc.results.SpilledResults`: ``instances`` and
        ``timeseries`` are read from their files when asked (its docstring gives the
        memory that costs).

    Raises
    ------
    TypeError
        ``config`` neither a :class:`Config` nor a path; ``progress`` neither a function nor None.
    simdc.errors.ConfigError
        The file at ``config`` is not a valid config, ``seed`` is not an integer in
        [0, 2**63 - 1], or ``check_memory`` (``spill``) is not a bool (or None).
    simdc.errors.InputError
        A ``[cost]`` series malformed or too short for the run, before anything runs.
    simdc.budget.TooBigError
        With ``check_memory``, when the run needs more memory than is available: before
        a synthetic workload is drawn, or once a trace is read; the message says when
        even the spilled run would not fit.
    simdc.errors.OutputError
        ``spill_to`` is not an existing empty folder (before anything runs), or a
        spilled run's tables could not be written (a full disk): nothing is left of them.
    """
    started = time.perf_counter()
    config = as_config(config)
    if seed is not None:  # True == 1 and 1.0 == 1: either would run as seed 1
        seed = checked_int(seed, "seed", maximum=MAX_SEED, cli="--seed")
    check_memory = checked_bool(check_memory, "check_memory")
    spill = checked_bool(spill, "spill", none=True)
    check_spill_to(spill_to)
    checked_callback(progress, "progress", "progress(platform, t_s, duration_s)")
    if seed is not None and seed != config.simulation.seed:
        try:
            config = config.with_overrides({"simulation.seed": seed})
        except ConfigError as err:
            raise ConfigError([p.replace("simulation.seed:", "seed:", 1) for p in err.problems]) from None
    if config.cells:  # each cell a run of its own, checked on its own
        from simdc.cells import simulate_cells

        return simulate_cells(config, check_memory=check_memory)  # (notes: run_cells's)
    sim = config.simulation
    before_replay = None
    usage_read = [0]
    spilled = [bool(spill)]  # what the latest check decided

    def checked(*args, **kwargs) -> None:
        spilled[0] = budget.check(config, *args, spill=spill, **kwargs).spill

    if check_memory:
        checked()  # the generator's expected instances; for a trace, its timeseries
        if config.workload.trace is not None:
            def before_replay(instances: int, usage_steps: int) -> None:
                usage_read[0] = usage_steps
                checked(instances, usage_steps)
    grid = None
    if config.cost is not None:  # read before the runs: a bad series stops nothing half-done
        from simdc import cost

        price, carbon = cost.grid_series(config.cost, sim.duration_s)
        grid = (price, carbon, cost.meter_moments(price, carbon, sim.duration_s))
        # the resolved config (config.toml) names the moment taken as time 0: cost.series_start
        config = config.model_copy(update={"cost": cost.resolved_cost(config.cost, price, carbon)})
    workload = load_workload(config.workload, sim.duration_s, sim.seed, before_replay)
    if check_memory and any(service.job for service in config.services):  # replicas known from the trace now
        from simdc.engine.services import from_workload

        services, rest, _ = from_workload(config.services, workload.instances, sim.duration_s, workload.usage)
        checked(len(rest), usage_read[0], services=services)
    if spilled[0]:  # the workload handed over, not held here: _spilled maps its table to a file
        held = [workload]
        del workload
        return _noted(_spilled(config, held, grid, progress, spill_to, started, spill_asked=spill is True))
    runs = replay(config, workload, sim.seed, progress, meter_at_s=grid[2] if grid else ())
    # each platform's summary from its own tables (no copy of a platform's rows out of all)
    asked = [workload.instances if r.requests is None else r.requests for r in runs]  # per platform, row by row
    summary = pd.concat([metrics.summary(r.instances, r.hosts, a, r.services) for r, a in zip(runs, asked)],
                        ignore_index=True)
    if config.services:
        summary = pd.concat([summary, _served(config, [r.services for r in runs], [r.releases for r in runs])],
                            axis=1)
    if grid is not None:
        summary = _with_costs(summary, runs, config, grid)
    records = _records(config, [r.services for r in runs], [r.releases for r in runs])
    lanes = {name: run.lane for name, run in zip(sim.platforms, runs)}
    instances = _concat_columns([r.instances for r in runs])
    hosts = pd.concat([r.hosts for r in runs], ignore_index=True)
    timeseries = pd.concat([r.timeseries for r in runs], ignore_index=True)
    engine_lines = [line for r in runs for line in r.warnings]
    del runs
    results = Results(
        config=config,
        summary=summary,
        instances=instances,
        timeseries=timeseries,
        hosts=hosts,
        workload=workload.instances,
        services=records["services"],
        releases=records["releases"],
        manifest=_manifest(config, workload, lanes,
                           fleet_warnings(config, workload,
                                          unplaceable_warnings(summary, instances,
                                                               pd.concat(asked, ignore_index=True)
                                                               if config.services else workload.instances, config),
                                          engine_lines, hosts), started, grid),
    )
    return _noted(results)


def _noted(results: Results) -> Results:
    """``results`` with the caveats on its figures in ``manifest["notes"]`` (not in steady
    state: :func:`simdc.planning.unsteady_notes`), for the API and notebooks as for the
    CLI; a spilled run's tables are read for them in row groups, never whole."""
    from simdc.planning import unsteady_notes  # (planning imports this module)

    results.manifest["notes"] = unsteady_notes(results)
    return results


def check_spill_to(spill_to) -> None:
    """Refuse ``spill_to`` (:func:`simulate`'s) before anything runs unless it is None, a
    :class:`simdc.results.Destination`, or an existing empty folder: a spilled run's
    results read their tables from that folder for as long as they live, so a folder
    holding another run's tables (or a results directory) would be overwritten, and
    results would read tables that are not theirs.

    Raises
    ------
    simdc.errors.OutputError
        Naming ``spill_to`` and what was expected.
    """
    from simdc.errors import OutputError
    from simdc.results import Destination

    if spill_to is None or isinstance(spill_to, Destination):
        return
    if not isinstance(spill_to, (str, os.PathLike)):
        raise OutputError(spill_to, f"spill_to: expected the path of an existing empty folder (str or "
                                    f"pathlib.Path), got {type(spill_to).__name__}")
    folder = Path(spill_to)
    expected = "give an existing empty folder, or leave spill_to out for a temporary one"
    if not folder.exists():
        raise OutputError(folder, f"spill_to: {folder}: no such folder; {expected}")
    if not folder.is_dir():
        raise OutputError(folder, f"spill_to: {folder}: is a file, not a folder; {expected}")
    try:
        taken = next(folder.iterdir(), None)
    except OSError as err:
        from simdc.results import describe_os_error

        raise OutputError(folder, f"spill_to: {folder}: cannot be read: {describe_os_error(err)}; "
                                  f"{expected}") from None
    if taken is not None:
        raise OutputError(folder, f"spill_to: {folder}: is not empty (it holds {taken.name}): a spilled run "
                                  f"writes its tables there and its results read them from there for as long "
                                  f"as they live; {expected}")


def as_config(config: Config | str | Path) -> Config:
    """``config`` itself, or the config at the path ``config`` (:func:`simdc.load_config`).

    Raises
    ------
    TypeError
        Anything else (a dict: ``simdc.config.validate(data)`` makes a config of one).
    simdc.errors.ConfigError
        The file is missing or not a valid config.
    """
    if isinstance(config, Config):
        return config
    if isinstance(config, (str, os.PathLike)):
        return load_config(config)
    hint = " (simdc.config.validate(data) makes one of a dict)" if isinstance(config, dict) else ""
    raise TypeError(f"config: expected a simdc Config (simdc.load_config(path)) or the path of a TOML config, "
                    f"got {type(config).__name__}{hint}")


def _manifest(config: Config, workload, lanes: dict[str, str], warnings: list[str], started: float,
              grid: tuple | None = None) -> dict:
    """The manifest of a run: ``warnings`` are the run's own (:func:`fleet_warnings`),
    the ``[cost]`` series' notes and the config's (:func:`config_warnings`) follow.
    ``grid``: the ``[cost]`` table's price and carbon series (:func:`simdc.cost.grid_series`):
    ``series_t0_utc`` names the moment each series' time 0 was taken as."""
    sim = config.simulation
    from simdc import cost

    series = {} if grid is None else {"series_t0_utc": cost.series_origins(config.cost, grid[0], grid[1])}
    notes = [] if grid is None else cost.series_notes(config.cost, grid[0], grid[1], sim.duration_s)
    return {
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
        **series,
        "warnings": warnings + notes + config_warnings(config),
        "versions": {"python": _platform.python_version(), **{p: _version(p) for p in VERSIONED}},
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": round(time.perf_counter() - started, 3),
    }


def _served(config: Config, services: list[pd.DataFrame], releases: list[pd.DataFrame]) -> pd.DataFrame:
    """The services' summary columns, a row per platform, from each platform's
    controller series and releases (:func:`simdc.metrics.service_metrics`)."""
    slo = {service.name: service.slo_served_share for service in config.services if service.job != "*"}
    every = [service.slo_served_share for service in config.services if service.job == "*"]
    if every:  # the services made from every job with replicas: named in the runs' records
        slo |= {name: every[0] for table in services for name in table["service"].unique() if name not in slo}
    duration_s = config.simulation.duration_s
    served = pd.DataFrame([metrics.service_metrics(s, r, duration_s, slo) for s, r in zip(services, releases)])
    if not any(service.releases for service in config.services):
        served = served.drop(columns=[c for c in served.columns if c.startswith("rollout_")])
    return served


def _records(config: Config, services: list, releases: list) -> dict[str, pd.DataFrame | None]:
    """With ``[[services]]``, per platform: the controller's series, and each release with
    what it cost (``Results.services``, ``Results.releases``); else None."""
    records = {"services": None, "releases": None}
    if config.services:
        sim = config.simulation
        for name, tables in (("services", services),
                             ("releases", [metrics.release_metrics(s, r, sim.duration_s)
                                           for s, r in zip(services, releases)])):
            joined = pd.concat([t.assign(platform=p) for t, p in zip(tables, sim.platforms)], ignore_index=True)
            records[name] = joined[["platform", *joined.columns[:-1]]]
    return records


def _spilled(config: Config, held: list, grid: tuple | None, progress, spill_to, started: float,
             spill_asked: bool = False) -> Results:
    """:func:`simulate`'s run, spilled: each platform's instance table and timeseries
    written to Parquet once it has run (a part per platform, row groups of
    :data:`SPILL_ROWS` rows), then dropped; the parts joined into ``instances.parquet``
    and ``timeseries.parquet`` a row group at a time (:func:`simdc.cells._join`). The
    summary, the costs and the warnings are computed per platform from its own tables
    while they are in memory, exactly as :func:`simulate` computes them; a streamed
    platform's (the general engine's, its tables never whole) from the figures gathered
    as its rows were written (:mod:`simdc.streamed`), to the bit the same.

    ``held``: a list of the workload, taken out of it, so that the caller holds no
    reference: a synthetic workload's (or one without a usage model) numeric columns are
    moved to a file and mapped (:func:`simdc.workload.mapped.on_disk`), their pages in
    memory only while the engine's live chunks need them. ``spill_asked``: spilled because
    ``spill=True`` asked, not because the run is too big for memory (a failure says which)."""
    import gc
    import shutil
    import tempfile
    from pathlib import Path

    from simdc.cells import _join, write_row_groups
    from simdc.errors import OutputError
    from simdc.results import SPILLED, Destination, SpilledResults, describe_os_error
    from simdc.streamed import summary as streamed_summary
    from simdc.workload.mapped import mapped_columns

    sim = config.simulation
    owner = None
    if isinstance(spill_to, Destination):
        folder, shown = spill_to.partial, spill_to.path
    elif spill_to is not None:
        folder = shown = Path(spill_to)
    else:
        owner = tempfile.TemporaryDirectory(prefix="simdc-spill-")
        folder = shown = Path(owner.name)
    parts = folder / ".spill"
    summaries, cost_rows, hosts, services, releases, lanes, warnings, run_warnings = [], [], [], [], [], {}, [], []
    workload = held.pop()
    try:
        parts.mkdir()
        workload = _mapped(config, workload, parts / "workload.columns")
        mapped = mapped_columns(workload.instances)
        # a general-engine run streams its instance rows into its part as instances end (bounded memory)
        runs = _replays(config, workload, sim.seed, progress, meter_at_s=grid[2] if grid else (),
                        stream_to=lambda k: parts / f"{k:05d}")
        for k, name in enumerate(sim.platforms):  # not zip(): its reused tuple would hold a run into the next
            run = next(runs)
            gc.collect()  # the platform's engine, a cycle (its events call its methods): freed now, not some day
            streamed = run.instances is None  # its instances and timeseries already in their parts
            asked = workload.instances if run.requests is None else run.requests
            if streamed:  # the summary, costs and warnings from the figures gathered as its rows were written
                summary = streamed_summary(run.figures, run.hosts)
                instances_read = run.figures.instances_for_costs()
            else:
                summary = metrics.summary(run.instances, run.hosts, asked, run.services)
                instances_read = run.instances
            summaries.append(summary)
            if grid is not None:  # as _with_costs, for this platform
                from simdc import cost

                price, carbon, moments = grid
                for column, values in cost.host_costs(run.hosts, config.fleet, price, carbon, moments,
                                                      run.meter_j).items():
                    run.hosts[column] = values
                cost_rows.append(cost.platform_costs(instances_read, run.hosts,
                                                     config.cost.licence_per_hour.get(name, 0.0)))
            if streamed:  # only the unplaceable rows (indexed by row), and the requests they are of
                unplaced = run.figures.unplaceable()
                warnings += unplaceable_warnings(summary, unplaced,
                                                 asked.iloc[unplaced.index].set_axis(unplaced.index), config)
            else:
                warnings += unplaceable_warnings(summary, run.instances, asked, config)
            run_warnings += run.warnings
            lanes[name] = run.lane
            hosts.append(run.hosts)
            services.append(run.services)
            releases.append(run.releases)
            for table in SPILLED:
                if not streamed:
                    write_row_groups(getattr(run, table), parts / f"{k:05d}.{table}.parquet", SPILL_ROWS)
            del run, asked, summary, instances_read  # this platform's tables, before the next platform runs
            gc.collect()
            if mapped is not None:  # the workload's pages the platform's end read (the summary's requests)
                mapped.release_all()
        for table in SPILLED:
            _join([parts / f"{k:05d}.{table}.parquet" for k in range(len(sim.platforms))],
                  folder / f"{table}.parquet")
        parts.rmdir()
    except OSError as err:
        shutil.rmtree(parts, ignore_errors=True)
        for table in SPILLED:
            (folder / f"{table}.parquet").unlink(missing_ok=True)
        if owner is not None:
            owner.cleanup()
        reason = describe_os_error(err)
        why = "spilled, as spill=True asked" if spill_asked else "spilled, too big for memory"
        raise OutputError(shown, f"{shown}: the run's tables could not be written as it ran ({why}): {reason}; "
                                 "nothing was written",
                          cli=f"the simulation could not write its tables to {shown} as it ran (spilled, too big "
                              f"for memory): {reason}; nothing was written") from None
    summary = pd.concat(summaries, ignore_index=True)
    if config.services:
        summary = pd.concat([summary, _served(config, services, releases)], axis=1)
    if grid is not None:
        from simdc import cost

        summary = pd.concat([summary, pd.DataFrame(cost_rows, columns=list(cost.COST_COLUMNS))], axis=1)
    records = _records(config, services, releases)
    hosts = pd.concat(hosts, ignore_index=True)
    manifest = {**_manifest(config, workload, lanes, fleet_warnings(config, workload, warnings, run_warnings, hosts),
                            started, grid), "spilled": True}
    return SpilledResults(folder, owner, config=config, summary=summary, hosts=hosts,
                          workload=workload.instances, services=records["services"], releases=records["releases"],
                          manifest=manifest)


def _mapped(config: Config, workload, path):
    """``workload`` with its table's numeric columns in the file ``path``, mapped
    (:func:`simdc.workload.mapped.on_disk`; the file unlinked at once: the map keeps it
    until the table goes), and the synthetic usage model built again on that table (the
    model holds views of its columns; built from the same values, seed and spec, it is
    the same model). A trace's usage model (series of its own, holding the workload's
    means) keeps the workload as it is."""
    from dataclasses import replace

    from simdc.workload import synthetic_usage
    from simdc.workload.mapped import mapped_columns, on_disk

    if workload.usage is not None and config.workload.synthetic is None:
        return workload
    table = on_disk(workload.instances, path)
    path.unlink()
    workload = replace(workload, instances=table)
    if workload.usage is not None:
        workload = replace(workload, usage=synthetic_usage(config.workload.synthetic, workload, config.simulation.seed))
        mapped_columns(table).release_all()  # the pages its build read (its σ over every row), out again
    return workload


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
    return list(_replays(config, workload, seed, progress, meter_at_s))


def _replays(config: Config, workload, seed: int, progress=None, meter_at_s: tuple[float, ...] = (),
             stream_to=None):
    """:func:`replay`'s runs one at a time: a platform runs when the previous one is asked for.
    ``stream_to(k)``: where platform ``k`` may stream its instance rows and timeseries
    (:func:`simdc.engine.run_platform`'s ``stream_to``)."""
    sim = config.simulation
    for k, name in enumerate(sim.platforms):
        yield run_platform(name, config.platform[name], config.fleet, workload.instances,
                           duration_s=sim.duration_s, sample_every_s=sim.sample_every_s, seed=seed,
                           usage=workload.usage, placement=config.placement, power_off_idle=config.power_off_idle,
                           progress=None if progress is None else
                           (lambda t, name=name: progress(name, t, sim.duration_s)),
                           images={image.name: image for image in config.images}, registry=config.registry,
                           faults=config.faults, sizes=workload.sizes, meter_at_s=meter_at_s,
                           moves=(config.maintenance, config.migration, config.consolidation),
                           services=config.services, stream_to=None if stream_to is None else stream_to(k))


def fleet_shapes(config: Config) -> str:
    """The fleet's hosts as a request that fits no host must be told of them: ``largest
    host 32 cores, 60 GiB allocatable`` with one shape; with several, each (up to four,
    most memory first), since a request must fit one host and the most cores and the most
    memory may be on different hosts."""
    shapes = sorted({(host.cpu_cores, host.allocatable_memory_gib) for host in config.fleet},
                    key=lambda shape: (-shape[1], -shape[0]))
    if len(shapes) == 1:
        return f"largest host {shapes[0][0]:g} cores, {shapes[0][1]:g} GiB allocatable"
    listed = "; ".join(f"{cores:g} cores, {gib:g} GiB" for cores, gib in shapes[:4])
    return (f"hosts of {len(shapes)} shapes, a request fitting one of them: {listed}"
            + (f" and {len(shapes) - 4} more" if len(shapes) > 4 else "") + " allocatable")


def fleet_warnings(config: Config, workload, unplaceable: list[str], engine_lines: list[str],
                   hosts: pd.DataFrame) -> list[str]:
    """Every warning of a run on one fleet of hosts: a run of its own (:func:`simulate`,
    spilled or not), and each cell of a fleet of cells (:func:`simdc.cells.run_cell`, its
    lines then named by the cell), so that a cell warns of what a fleet of its hosts would.

    ``unplaceable``: the requests no host could hold (:func:`unplaceable_warnings`, per
    platform); ``engine_lines``: what each platform's engine said at the run's end
    (``PlatformRun.warnings``: listed failures not made, drains that never emptied their
    host, a rolling drain held up, services short of replicas), each said once
    (:func:`by_platforms`); ``hosts``: the hosts table (maintenance done unequally by the
    platforms: :func:`maintenance_warnings`). Then needs beyond the VM catalogue, trace
    usage beyond the largest host, workflow jobs left to batch work and node VMs that do
    not interfere, and consolidation that saves no energy on node VMs
    (:func:`sizing_warnings`, :func:`usage_cap_warnings`, :func:`batch_warnings`,
    :func:`node_interference_warnings`, :func:`node_consolidation_warnings`)."""
    return (unplaceable + by_platforms(engine_lines, config.simulation.platforms) + maintenance_warnings(hosts)
            + sizing_warnings(config, workload) + usage_cap_warnings(config, workload)
            + batch_warnings(config, workload) + node_interference_warnings(config, workload)
            + node_consolidation_warnings(config))


def config_warnings(config: Config) -> list[str]:
    """The config's listed moments that fall at or after the run's end, each list named
    and counted as the config gives it (:func:`schedule_warnings`,
    :func:`demand_warnings`): a fleet of cells says them once, of its own lists (host
    numbers over all its cells), not per cell. Then host groups left unpriced beside
    priced ones (:func:`simdc.cost.unpriced_warnings`)."""
    from simdc.cost import unpriced_warnings

    return schedule_warnings(config) + demand_warnings(config) + unpriced_warnings(config)


def unplaceable_warnings(summary: pd.DataFrame, instances: pd.DataFrame, requests: pd.DataFrame,
                         config: Config) -> list[str]:
    """One line per platform with requests that no host of the fleet could hold even
    empty: a fleet too small for the workload, not a load problem. ``instances`` holds each
    platform's rows in the order of the workload's ``requests``."""
    lines = []
    if not summary["unplaceable"].any():  # the usual case: no row to build (itertuples makes a class per call)
        return lines
    hosts = fleet_shapes(config)
    for row in summary.itertuples():
        if not row.unplaceable:
            continue
        rows = instances.loc[instances["platform"] == row.platform]
        unplaced = rows["unplaceable"].to_numpy(bool)
        asked = requests.loc[rows.index] if len(requests) == len(instances) else requests  # per platform's rows
        mine = asked[unplaced]
        # the largest such request (by memory, then cores): one request, not the largest of each taken apart
        k = int(np.lexsort((mine["cpu_cores"].to_numpy(float), mine["memory_gib"].to_numpy(float)))[-1])
        booked = ""  # what admission booked, when not the request: a catalogue VM, a recommendation
        if "vm_vcpus" in rows and rows["vm_vcpus"].notna().all():
            sized = rows.loc[unplaced, ["vm_vcpus", "vm_memory_gib"]].to_numpy(float)
            if not np.array_equal(sized, mine[["cpu_cores", "memory_gib"]].to_numpy(float)):
                booked = f", a VM of {sized[k, 0]:g} vCPUs, {sized[k, 1]:g} GiB"
        elif "booked_cpu" in rows:  # a container books its request, or what admission made of it
            held = rows.loc[unplaced, ["booked_cpu", "booked_memory_gib"]].to_numpy(float)
            if not np.allclose(held, mine[["cpu_cores", "memory_gib"]].to_numpy(float), rtol=0, atol=0.05):
                booked = f", booked as {held[k, 0]:.3g} cores, {held[k, 1]:.3g} GiB"
        lines.append(
            f"{row.platform}: {row.unplaceable:,} of {row.submitted:,} requests fit no host even when it is empty "
            f"(largest such request {mine['cpu_cores'].iloc[k]:g} cores, {mine['memory_gib'].iloc[k]:g} GiB{booked}; "
            + hosts
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
        if len(need_cpu) and not vm_sizes(platform, need_cpu.max(keepdims=True), need_mem.max(keepdims=True))[2][0]:
            continue  # a size holds the largest need in both: it holds every need (the usual case, at once)
        custom = int(vm_sizes(platform, need_cpu, need_mem)[2].sum())
        if custom:
            most_cpu = max(size.vcpus for size in platform.catalogue)
            most_mem = max(size.memory_gib for size in platform.catalogue)
            lines.append(f"{name}: {custom:,} of {len(need_cpu):,} needs fit no size of the VM catalogue (at most "
                         f"{most_cpu:g} vCPUs, {most_mem:g} GiB with {platform.guest_os_mib:g} MiB of it the guest "
                         f"OS); they get a custom size of exactly their need")
    return lines


def usage_cap_warnings(config: Config, workload) -> list[str]:
    """One line when a trace has instances using more CPU than the fleet's largest host
    has cores: the usage cap (:func:`simdc.engine.rules.capped_usage`) holds their demand
    to the host's cores, and what they used above it counts neither as demand nor as unmet
    (a trace's usage beyond any machine is data no machine here can replay)."""
    if config.workload.trace is None or not len(workload.instances):
        return []
    if workload.usage is not None:
        peak = np.asarray(workload.usage.upper()[0], dtype=float)
    elif "cpu_used" in workload.instances:
        peak = workload.instances["cpu_used"].to_numpy(float)
    else:
        return []
    cores = max(host.cpu_cores for host in config.fleet)
    over = peak > cores
    if not over.any():
        return []
    return [f"workload: {int(over.sum()):,} of {len(peak):,} instances use more CPU in the trace than the largest "
            f"host has cores (up to {float(np.nanmax(peak)):g} against {cores:g}): their demand is held to the "
            "host's cores, and the CPU they used above that counts neither as demand nor as unmet"]


def by_platforms(lines: list[str], platforms) -> list[str]:
    """The platforms' run warnings, each said once: lines that differ only in the platform
    they start with ("vm: ...", "container: ...") merged into one naming them all
    ("vm, container: ..."), in the order first said; others kept once each."""
    said: dict[str, list[str]] = {}
    for line in lines:
        name = next((p for p in platforms if line.startswith(f"{p}: ")), None)
        text = line if name is None else line[len(name) + 2:]
        said.setdefault(text, [])
        if name is not None and name not in said[text]:
            said[text].append(name)
    return [f"{', '.join(names)}: {text}" if names else text for text, names in said.items()]


def maintenance_warnings(hosts: pd.DataFrame) -> list[str]:
    """A line when the platforms did different amounts of the maintenance due (the hosts
    table's ``maintenance_done`` and ``maintenance_not_done``, a value per machine): a
    platform whose drains stalled skipped the downtime and the moves the others paid,
    so its figures, its service availability first, look the better for work not done."""
    if "maintenance_done" not in hosts or hosts["platform"].nunique() < 2:
        return []
    machines = hosts.drop_duplicates(["platform", "physical_host"])  # a node VM's columns are its machine's
    per = machines.groupby("platform", sort=False)[["maintenance_done", "maintenance_not_done"]].sum()
    if len(per.drop_duplicates()) == 1:
        return []
    said = ", ".join(f"{platform} {int(row['maintenance_done']):,} done ({int(row['maintenance_not_done']):,} not)"
                     for platform, row in per.iterrows())
    return [f"maintenance: the platforms did different amounts of maintenance (host maintenance windows: {said}): "
            "their figures do not compare like for like; one that did less did not pay for the rest (moves, "
            "restarts, hosts down), and its service availability looks the better for it"]


def schedule_warnings(config: Config) -> list[str]:
    """One line per list of moments (drains, listed host or kernel failures) with some at
    or after the run's end: they are not made (a config shortened for a quick run keeps
    its schedule, so this is no error)."""
    end_s = config.simulation.duration_s
    lines = []
    for key, moments, what in (("maintenance.drains", config.maintenance.drains, "drains"),
                               ("faults.host_failures", config.faults.host_failures, "host failures"),
                               ("faults.kernel_failures", config.faults.kernel_failures, "kernel failures")):
        late = [k for k, (_, t_s) in enumerate(moments) if t_s >= end_s]
        if late:
            lines.append(f"{key}: {len(late):,} of {len(moments):,} {what} ({listed(late)}) fall at or after the "
                         f"run's end ({moment(end_s)} s) and are not made")
    rolling = config.maintenance.rolling_start_s
    if rolling is not None and rolling >= end_s:
        lines.append(f"maintenance.rolling_start_s: the rolling drain starts at {moment(rolling)} s, at or after the "
                     f"run's end ({moment(end_s)} s): no host is drained")
    return lines


def node_interference_warnings(config: Config, workload) -> list[str]:
    """One line per platform of containers in node VMs (``nodes_per_host``) whose workload
    puts pressure on memory bandwidth or disk: interference is reckoned per machine
    instances are placed on, so containers in different node VMs of one physical host do
    not slow each other (node VMs on one host share its memory bus and disk as VMs do): a
    known limit, which flatters the platform's isolation figures."""
    instances = workload.instances
    pressure = any(column in instances and (instances[column].to_numpy(float) > 0).any()
                   for column in ("membw_intensity", "io_intensity"))
    if not pressure:
        return []
    return [f"{name}: interference between its {nodes} node VMs on one host is not modelled (a known limit): "
            "containers slow each other only within one node VM, so its interference figures are better than a "
            "host shared by VMs would give"
            for name in config.simulation.platforms
            if (nodes := getattr(config.platform[name], "nodes_per_host", None)) and nodes > 1]


def node_consolidation_warnings(config: Config) -> list[str]:
    """One line per platform of containers in node VMs (``nodes_per_host``) when
    ``[consolidation]`` is on: it empties the least used machines so that they can be
    switched off, but a host of node VMs is never switched off (they are the cluster's
    nodes and run throughout: :func:`simdc.engine.rules.switched_off_when_idle`; simdc
    deletes no empty node, as Kubernetes' Cluster Autoscaler would), so on this platform
    its moves cost restarts and save no energy: a known limit, which weighs against the
    platform in the comparison."""
    if not config.consolidation.active:
        return []
    return [f"{name}: [consolidation] empties node VMs, but a host of node VMs is never switched off (simdc "
            "deletes no empty node, as Kubernetes' Cluster Autoscaler would): its moves here save no energy"
            for name in config.simulation.platforms
            if getattr(config.platform[name], "nodes_per_host", None)]


def batch_warnings(config: Config, workload) -> list[str]:
    """A ``[[services]] job = "*"`` entry that left a workflow's jobs (with dependencies)
    to run as batch work says so (:func:`simdc.engine.services.left_to_batch`)."""
    if not any(service.job == "*" for service in config.services):
        return []
    from simdc.engine.services import left_to_batch

    return left_to_batch(config.services, workload.instances)


def demand_warnings(config: Config) -> list[str]:
    """One line per service whose demand ``steps`` or ``spikes`` start at or after the
    run's end: they change nothing (as late drains, a shortened config keeps them)."""
    end_s = config.simulation.duration_s
    lines = []
    for index, service in enumerate(config.services):
        for key, starts in (("steps", [t_s for t_s, _ in service.demand.steps]),
                            ("spikes", [spike.at_s for spike in service.demand.spikes])):
            late = [k for k, t_s in enumerate(starts) if t_s >= end_s]
            if late:
                lines.append(f"services[{index}].demand.{key}: {len(late):,} of {len(starts):,} ({listed(late)}) "
                             f"start at or after the run's end ({moment(end_s)} s) and change nothing")
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
    """``package``'s version for the manifest: simdc's installed distribution's (what
    ``simdc --version`` prints); a library's ``__version__`` as imported, the same string
    here without a metadata lookup, which scans ``sys.path`` (4-6 ms a package, ~25 ms of
    every ``simdc run`` for the five); "unknown" if neither is found."""
    version = getattr(sys.modules.get(package), "__version__", None) if package != "simdc" else None
    if isinstance(version, str):
        return version
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
