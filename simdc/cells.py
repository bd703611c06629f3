"""A fleet of cells: each cell replays its part of the workload on its own hosts, as a task.

Real fleets are run as cells (Borg) or clusters (Kubernetes), each with its own
scheduler: a request goes to one cell (``[routing]``, :func:`route`) and is placed among
that cell's hosts only (:mod:`simdc.model.cells`). The cells share nothing while they
run, so each is a task: one after another in this process (``workers=1``), or in
parallel on Dask (a local cluster, or an existing scheduler; :func:`simdc.sweeping.run_on_dask`).

Every cell reads the whole workload with the run's seed, keeps its own requests, and
replays them with its own seed, :func:`simdc.random.cell_seed` of the run's seed and the
cell's name: so a cell's tables are the same to the bit wherever it runs, and a worker
that dies has its cell run again elsewhere with the same result.

A task hands its tables back as Parquet, one row group per platform; the driver writes
them as parts in the results directory as they come, then joins the parts in cell order
into the usual files (``instances.parquet``, ``timeseries.parquet``, ``workload.parquet``,
``hosts.csv``: one row group per cell and platform, a ``cell`` column) one row group at a
time, and computes the summary from them (:func:`summary_from_parts`): each cell's
instances in turn are a piece of :class:`simdc.metrics.InstanceReduction`, which defines
every instance figure once (for a run in memory and a streamed one too), so the fleet's
summary is :func:`simdc.metrics.summary` of the joined tables to the bit (but for the
peak, below); only the values the percentiles and the peak need are kept across cells (at
most 40 bytes an instance, 16 a request for the VM size over need, and 16 a time an
instance was off a host between stays). The driver never holds more than one cell's
tables.

Across cells, host numbers (``host``, ``physical_host``) count from 0 in each cell: a
host is named by its cell and number. ``peak_instances`` over the fleet is the most
instances on a host of any cell at once, found from the instances' stays less the times
each cell's engine recorded them off a host between stays (a failure's victim waiting to be
placed again: :func:`simdc.metrics.on_host_peak`), as each cell's engine counts its own.

Faults and drains listed by host number (``[faults]``, ``maintenance.drains``) count the
hosts of all cells in order, as ``config.fleet`` lists them; every other setting applies
to each cell as to a fleet of its own (:func:`cell_config`). The fleet's cost and carbon
are those of every cell's hosts and instances (:func:`summary_from_parts`), its moves the
cells' added. ``[[services]]`` are refused with cells: a service's replicas are one fleet's.
"""

from __future__ import annotations

import json
import platform as _platform
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from simdc.config import Config, validate
from simdc.errors import InputError, OutputError
from simdc.model.cells import CellSpec, RoutingSpec
from simdc.random import cell_seed
from simdc.results import describe_os_error, read_parquet

PARTS = ".cells"  # the parts' folder inside the results directory while the cells run
PARQUET_TABLES = ("instances", "timeseries", "workload")
# Instance columns the summary does not read: the ids (strings, most of a table's bytes).
NOT_FOR_SUMMARY = ("id", "cell")
# Metrics over host tables count hosts by physical_host: numbered apart per cell there.
HOSTS_PER_CELL = 1 << 32


def route(instances: pd.DataFrame, cells: tuple[CellSpec, ...], routing: RoutingSpec) -> np.ndarray:
    """The cell (an index into ``cells``) of each request of ``instances`` (sorted by
    ``submit_s``), as ``routing`` says (:mod:`simdc.model.cells`).

    Hashes are pandas' (:func:`pandas.util.hash_pandas_object`: of an integer id's
    value, of any other id or job as text, SipHash-2-4 with pandas' fixed key), so a
    request's cell depends on the workload alone: not on the seed, the machine or the
    process.

    Raises
    ------
    InputError
        Rule ``column``: the workload has no such column, or a value names no cell.
    """
    n = len(instances)
    if routing.rule == "round_robin":
        return np.arange(n, dtype=np.int64) % len(cells)
    if routing.rule == "column":
        return _by_column(instances, cells, routing.column)
    key = instances["id"] if routing.rule == "share" else instances["job"]
    if not pd.api.types.is_integer_dtype(key):  # integers hash as numbers: 100x faster than as text
        key = key.astype(str)
    hashed = pd.util.hash_pandas_object(key, index=False).to_numpy(np.uint64)
    uniform = (hashed >> np.uint64(11)).astype(float) / float(1 << 53)  # 53 bits: exact in a double, in [0, 1)
    shares = np.array([cell.share if cell.share is not None else 1.0 / len(cells) for cell in cells])
    edges = np.cumsum(shares)[:-1]
    return np.searchsorted(edges, uniform, side="right").astype(np.int64)


def refuse_split_dependencies(instances: pd.DataFrame, cell: np.ndarray, cells: tuple[CellSpec, ...],
                              routing: RoutingSpec) -> None:
    """Refuse a routing that puts a parent and its child (``instances``' ``parents``
    column) in different cells: each cell replays its requests alone, so the child would
    start without waiting for its parent, and the makespans would come out shorter than
    the work. ``cell``: each row's cell (:func:`route`), shape ``(n,)``.

    Raises
    ------
    InputError
        Naming ``[routing]``, how many dependencies cross cells, the first, and the fix.
    """
    from simdc.workload.dependencies import has_parents, positions, shown

    if not has_parents(instances):
        return
    edges = [(child, parent) for child, mine in enumerate(positions(instances, "workload")) for parent in mine]
    crossing = [(child, parent) for child, parent in edges if cell[child] != cell[parent]]
    if not crossing:
        return
    ids = instances["id"].to_numpy()
    child, parent = crossing[0]
    fix = ("route by job (routing.rule = 'job'), so that a job's tasks share a cell"
           if routing.rule != "job" else
           "jobs depend on each other's instances, so routing by job splits them too: route by a column that "
           "keeps each workflow in one cell (routing.rule = 'column'), or run one fleet without [[cells]]")
    raise InputError(f"routing.rule: {routing.rule!r} puts parent and child in different cells for "
                     f"{len(crossing):,} of the workload's {len(edges):,} dependencies (first: instance "
                     f"{shown(ids[child])} in cell {cells[cell[child]].name!r} waits for {shown(ids[parent])} in "
                     f"cell {cells[cell[parent]].name!r}); each cell replays its own requests, so a child would "
                     f"start without waiting for its parent: {fix}")


def _by_column(instances: pd.DataFrame, cells: tuple[CellSpec, ...], column: str) -> np.ndarray:
    if column not in instances.columns:
        extra = [c for c in instances.columns if c not in _CANONICAL]
        raise InputError(f"routing.column: the workload has no column {column!r} to route by"
                         + (f" (its other columns: {', '.join(map(str, extra))})" if extra else
                            " (the google2019 reader gives one, 'cell', where the data name cells; simdc's "
                            "own format has none)"))
    names = [cell.name for cell in cells]
    values = instances[column].astype(str).str.strip()
    index = pd.Index(names).get_indexer(values)
    unknown = index < 0
    if unknown.any():
        counts = values[unknown].value_counts()
        shown = ", ".join(f"{value!r} ({n:,})" for value, n in counts.head(5).items())
        raise InputError(f"routing.column {column!r}: {int(unknown.sum()):,} requests name no cell of [[cells]]: "
                         f"{shown}{' …' if len(counts) > 5 else ''}; the cells are {', '.join(map(repr, names))}")
    return index.astype(np.int64)


def _canonical() -> tuple[str, ...]:
    from simdc.workload import COLUMNS

    return (*COLUMNS, "censored")


_CANONICAL = _canonical()


def cell_config(config: Config, index: int) -> Config:
    """The one-fleet config of cell ``index``: its hosts as ``[[cluster.hosts]]``; the
    faults and drains listed for its hosts (fleet-wide host numbers, cells in order)
    renumbered. Everything else applies to each cell as to a fleet of its own: a rolling
    drain goes through each cell's hosts in turn (cells at once), consolidation moves
    instances within a cell, ``[cost]`` prices each cell's hosts and instances."""
    cell = config.cells[index]
    first = sum(len(c.fleet) for c in config.cells[:index])
    hosts = len(cell.fleet)
    data = config.to_dict()
    for key in ("cells", "routing"):
        data.pop(key, None)
    data["cluster"] = {"hosts": [group.model_dump(mode="json", exclude_none=True) for group in cell.hosts],
                       "power_off_idle": cell.power_off_idle}
    faults = data.get("faults", {})
    for key in LISTED:
        faults[key] = [[faults[key][k][0] - first, faults[key][k][1]] for k in _listed_here(config, index, key)]
    maintenance = data.get("maintenance", {})
    maintenance["drains"] = [[host - first, t] for host, t in maintenance.get("drains", [])
                             if first <= host < first + hosts]
    return validate(data, check_files=False)


LISTED = ("host_failures", "kernel_failures")  # [faults]' lists of failures by host number


def _listed_here(config: Config, index: int, key: str) -> list[int]:
    """The places in ``config.faults``' list ``key`` (:data:`LISTED`) of the failures of
    cell ``index``'s hosts, in order: its own list's entries (:func:`cell_config`)."""
    first = sum(len(c.fleet) for c in config.cells[:index])
    hosts = len(config.cells[index].fleet)
    return [k for k, (host, _) in enumerate(getattr(config.faults, key)) if first <= host < first + hosts]


def fleet_listed(config: Config, index: int, line: str) -> str:
    """A line of cell ``index``'s engine with each listed failure named by its place in
    the config's list (``faults.host_failures[7]``), not in the cell's own
    (:func:`cell_config`): the config is what its reader has. Hosts stay numbered in
    the cell, as its tables number them."""
    for key in LISTED:
        places = _listed_here(config, index, key)
        line = re.sub(rf"faults\.{key}\[(\d+)\]", lambda m: f"faults.{key}[{places[int(m[1])]}]", line)
    return line


def cost_grid(config: Config) -> tuple:
    """The ``[cost]`` table's price and carbon series over the run, and the moments at
    which the engine reads the hosts' energy (as :func:`simdc.simulate` reads them).

    Raises
    ------
    InputError
        A series malformed or too short for the run.
    """
    from simdc import cost

    price, carbon = cost.grid_series(config.cost, config.simulation.duration_s)
    return price, carbon, cost.meter_moments(price, carbon, config.simulation.duration_s)


def cell_instances(config: Config, index: int) -> int | None:
    """The instances cell ``index`` is expected to replay, for its memory check: a
    synthetic workload's expected count times the cell's share (or an equal share); None
    for a trace, known once read (until then its reading is counted: :mod:`simdc.budget`)."""
    if config.workload.synthetic is None:
        return None
    from simdc import budget

    share = config.cells[index].share or 1 / len(config.cells)
    return round(budget.estimate(cell_config(config, index)).instances * share)


def run_cell(config: Config, index: int, check_memory: bool = True, grid: tuple | None = None) -> dict[str, Any]:
    """Replay cell ``index`` of ``config`` (a task; plain data in and out).

    With ``check_memory``, the cell's run is refused when it needs more memory than its
    machine has available (:mod:`simdc.budget`, for the cell's hosts and requests: a
    synthetic workload's expected count times the cell's share, or equal shares; a
    trace's once read and routed). ``grid``: the ``[cost]`` table's price and carbon
    series and the meter's moments (:func:`cost_grid`), read here when not given.

    Returns its tables as Parquet bytes (``instances``, ``timeseries``, ``workload``,
    ``hosts``; a row group per platform, a ``cell`` column), its summary (a row per
    platform), its instances' times off a host between stays (``off_host``: ``from_s``,
    ``to_s``, ``platform``; :class:`simdc.engine.simulation.OffHost`), for the fleet's
    peak, and what the manifest says of it.

    Raises
    ------
    simdc.budget.TooBigError
        With ``check_memory``, as :func:`simdc.simulate` does.
    """
    from simdc import budget, metrics
    from simdc.engine.rules import resolve_sizing
    from simdc.experiment import _with_costs, fleet_warnings, replay, unplaceable_warnings
    from simdc.workload import load_workload

    cell = config.cells[index]
    sim = config.simulation
    local = cell_config(config, index)
    before_replay = None

    def check(instances: int | None, usage_steps: int = 0) -> None:
        try:
            budget.check(local, instances, usage_steps)
        except budget.TooBigError as refusal:
            raise budget.TooBigError(f"cell {cell.name!r}: {refusal.problems[0]}",
                                     cli=f"cell {cell.name!r}: {refusal.cli_problems[0]}") from None

    if check_memory:
        if config.workload.synthetic is not None:
            check(cell_instances(config, index))
        else:
            check(None)  # the trace's reading, before reading it (each cell reads it whole)
            before_replay = check

    def keep(instances: pd.DataFrame) -> np.ndarray:
        cells = route(instances, config.cells, config.routing)
        refuse_split_dependencies(instances, cells, config.cells, config.routing)
        return cells == index

    workload = load_workload(config.workload, sim.duration_s, sim.seed, before_replay, keep=keep)
    seed = cell_seed(sim.seed, cell.name)
    if config.cost is not None and grid is None:
        grid = cost_grid(config)
    runs = replay(local, workload, seed, meter_at_s=grid[2] if grid else ())
    if config.maintenance.active or config.consolidation.active:  # some cell moves: this one's moves count too
        from simdc.engine.migration import unmoved_columns

        for r in runs:
            if "migrations" not in r.instances:  # no drain nor consolidation here: none moved
                at = r.instances.columns.get_loc("unplaceable")  # where the engine puts them
                for k, (name, values) in enumerate(unmoved_columns(len(r.instances)).items()):
                    r.instances.insert(at + k, name, values)
    lanes = {name: run.lane for name, run in zip(sim.platforms, runs)}
    summary = pd.concat([metrics.summary(r.instances, r.hosts, workload.instances) for r in runs], ignore_index=True)
    off_host = pd.concat([r.off_host[["from_s", "to_s"]].assign(platform=name) for name, r in zip(sim.platforms, runs)],
                         ignore_index=True)
    if grid is not None:  # the cell's cost columns, and its hosts' (simdc.cost)
        summary = _with_costs(summary, runs, local, grid)
    instances = pd.concat([r.instances for r in runs], ignore_index=True)
    hosts = pd.concat([r.hosts for r in runs], ignore_index=True)
    # as a fleet of its own warns, each line named by the cell (its hosts numbered from 0, README)
    engine_lines = [fleet_listed(config, index, line) for r in runs for line in r.warnings]
    warnings = [f"cell {cell.name}: {line}" for line in
                fleet_warnings(local, workload, unplaceable_warnings(summary, instances, workload.instances, local),
                               engine_lines, hosts)]
    tables = {
        "instances": instances,
        "timeseries": pd.concat([r.timeseries for r in runs], ignore_index=True),
        "hosts": hosts,
        "workload": workload.instances,
    }
    del runs, instances, hosts
    out = {}
    for name in list(tables):
        table = tables.pop(name)  # each table freed once it is Parquet
        if "cell" in table:  # the trace's own: the same when routed by it, else kept beside this one
            if (table["cell"].astype(str) == cell.name).all():
                del table["cell"]
            else:
                table.rename(columns={"cell": "trace_cell"}, inplace=True)
        table.insert(1 if "platform" in table else 0, "cell", cell.name)
        out[name] = _parquet(table)
        del table
    return {
        **out,
        "summary": summary.assign(cell=cell.name),
        "off_host": off_host,
        "name": cell.name,
        "seed": seed,
        "host_count": len(local.fleet),
        "requests": len(workload.instances),
        "lanes": lanes,
        "warnings": warnings,
        "source": workload.source,
        "notes": list(workload.notes),
        "skipped": dict(workload.skipped),
        "sizes": workload.sizes,
        "vm_sizing": {name: resolve_sizing(local.platform[name], workload.sizes).sizing
                      for name in sim.platforms if local.platform[name].rules == "vm"},
    }


def _parquet(table: pd.DataFrame) -> bytes:
    """``table`` as Parquet bytes, a row group per platform (rows of a platform together)."""
    arrow = pa.Table.from_pandas(table, preserve_index=False).replace_schema_metadata(None)
    sink = pa.BufferOutputStream()
    with pq.ParquetWriter(sink, arrow.schema) as writer:
        if "platform" not in table or not len(table):
            writer.write_table(arrow, row_group_size=max(len(table), 1))
        else:
            platform = table["platform"].to_numpy()
            bounds = np.flatnonzero(np.append(True, platform[1:] != platform[:-1]))
            for start, stop in zip(bounds, np.append(bounds[1:], len(table))):
                writer.write_table(arrow.slice(start, stop - start), row_group_size=int(stop - start))
    return sink.getvalue().to_pybytes()


def write_row_groups(table: pd.DataFrame, path: Path, rows: int) -> None:
    """``table`` as the Parquet file ``path`` in row groups of at most ``rows`` rows, each
    converted to Arrow on its own: the peak holds the table and one row group in Arrow,
    not the table twice (a spilled run's tables, :func:`simdc.simulate`). The pandas
    metadata is kept: the file reads back as ``table`` was (:func:`_join` keeps it too)."""
    schema = pa.Schema.from_pandas(table, preserve_index=False)
    # opened by Python: pyarrow takes no name that is not UTF-8 (simdc.results.write_parquet)
    with open(path, "wb") as sink, pq.ParquetWriter(sink, schema) as writer:
        for start in range(0, max(len(table), 1), rows):
            chunk = pa.Table.from_pandas(table.iloc[start:start + rows], schema=schema, preserve_index=False)
            writer.write_table(chunk, row_group_size=max(len(chunk), 1))
            del chunk
            pa.default_memory_pool().release_unused()  # Arrow's allocator keeps freed pages otherwise


@dataclass
class CellsRun:
    """A fleet of cells' run, its tables already in ``directory``: the summary (a row per
    platform, over every cell), each cell's summary, and the manifest."""

    config: Config
    summary: pd.DataFrame
    cell_summary: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)
    directory: Path | None = None  # where its tables are (run_cells's)

    def parts(self, name: str, columns: list[str]):
        """Table ``name`` (``"instances"`` or ``"timeseries"``) from ``directory``, row group
        by row group, those of ``columns`` it has (:meth:`simdc.results.Results.parts`):
        what the caveats on its figures read (:func:`simdc.planning.unsteady_notes`)."""
        with open(Path(self.directory) / f"{name}.parquet", "rb") as file:  # (pyarrow takes no non-UTF-8 name)
            source = pq.ParquetFile(file)
            have = [c for c in columns if c in source.schema_arrow.names]
            for k in range(source.num_row_groups):
                yield source.read_row_group(k, columns=have).to_pandas()

    def _write_files(self, directory: Path, report: bool, report_title: str | None) -> None:
        """What :meth:`simdc.results.Destination.write` asks of results: the files not yet
        written (the tables are), and the report when asked."""
        self.summary.to_csv(directory / "summary.csv", index=False)
        self.cell_summary.to_csv(directory / "cells.csv", index=False)
        (directory / "config.toml").write_text(self.config.to_toml())
        (directory / "manifest.json").write_text(json.dumps(self.manifest, indent=2, default=str) + "\n")
        if report:  # the report draws from every table: it reads them back
            from simdc.report import write_into
            from simdc.results import load_results

            write_into(load_results(directory), directory, title=report_title)


def run_cells(config: Config, directory: str | Path, *, seed: int | None = None, scheduler: str | None = None,
              workers: int | None = 1, progress: Callable[[int, int], None] | None = None,
              check_memory: bool = True, shown: str | Path | None = None) -> CellsRun:
    """Run every cell of ``config`` and write the tables into ``directory``.

    Parameters
    ----------
    directory
        An empty directory (a :class:`simdc.results.Destination`'s partial one): the
        tables are written there; :meth:`CellsRun._write_files` adds the rest.
    seed
        Overrides ``simulation.seed``.
    scheduler, workers
        As :func:`simdc.sweeping.sweep`: an existing Dask scheduler's address, or a local
        cluster of ``workers`` processes (default: the machine's cores); ``workers=1``
        (the default) runs the cells one after another in this process, without Dask.
        The tables are the same to the bit either way.
    progress
        Called as ``progress(cells done, cells)``.
    check_memory
        Refuse a cell that needs more memory than the machine running it has
        available (:func:`run_cell`); False runs them anyway.
    shown
        The directory's name in messages (the destination it will be renamed to).

    Raises
    ------
    ConfigError
        A malformed ``scheduler`` address.
    SweepError
        No scheduler there, or it was lost; a cell killed its workers again and again.
    InputError, OutputError
        A cell's workload could not be read or routed; the tables could not be written.
    simdc.budget.TooBigError
        With ``check_memory``, a cell needs more memory than its machine has.
    """
    started = time.perf_counter()
    if seed is not None and seed != config.simulation.seed:
        config = config.with_overrides({"simulation.seed": seed})
    directory = Path(directory)
    where = shown or directory

    def unwritable(err: OSError) -> OutputError:
        return OutputError(Path(where), f"{where}: the cells' tables could not be written: "
                                        f"{describe_os_error(err)}; nothing was written")

    parts = directory / PARTS
    try:
        parts.mkdir(exist_ok=True)
    except OSError as err:
        raise unwritable(err) from None
    total = len(config.cells)
    done: dict[int, dict[str, Any]] = {}

    def finished(index: int, result: dict[str, Any]) -> None:
        try:
            for name in (*PARQUET_TABLES, "hosts"):
                (parts / f"{index:05d}.{name}.parquet").write_bytes(result.pop(name))
        except OSError as err:
            raise unwritable(err) from None
        done[index] = result
        if progress:
            progress(len(done), total)

    grid = cost_grid(config) if config.cost is not None else None  # a bad series stops nothing half-done
    if grid is not None:  # the resolved config (config.toml) names the moment taken as time 0
        from simdc import cost

        config = config.model_copy(update={"cost": cost.resolved_cost(config.cost, grid[0], grid[1])})
    if progress:
        progress(0, total)
    if workers == 1 and scheduler is None:
        for index in range(total):
            finished(index, run_cell(config, index, check_memory, grid))
    else:
        from simdc.sweeping import _check_address, run_on_dask

        if scheduler is not None:
            _check_address(scheduler)
        from simdc.budget import estimate

        # a worker's memory: the largest cell's run, as run_cell checks it (a trace's reading: each cell reads it all)
        run_bytes = max(estimate(cell_config(config, index), cell_instances(config, index)).bytes
                        for index in range(total))
        run_on_dask([(index, run_cell, (config, index, check_memory, grid)) for index in range(total)], finished,
                    scheduler, workers,
                    lambda index: f"cell {config.cells[index].name!r}", run_bytes)
    cells = [done[index] for index in range(total)]
    try:
        for name in PARQUET_TABLES:
            _join([parts / f"{index:05d}.{name}.parquet" for index in range(total)], directory / f"{name}.parquet")
        _join_csv([parts / f"{index:05d}.hosts.parquet" for index in range(total)], directory / "hosts.csv")
        shutil.rmtree(parts)
    except OSError as err:
        raise unwritable(err) from None
    summary = summary_from_parts(directory, list(config.simulation.platforms), [c["name"] for c in cells],
                                 None if config.cost is None else config.cost.licence_per_hour,
                                 off_host=pd.concat([c.pop("off_host") for c in cells], ignore_index=True))
    cell_summary = pd.concat([c["summary"] for c in cells], ignore_index=True)
    cell_summary = cell_summary[["cell", *[c for c in cell_summary.columns if c != "cell"]]]
    first = cells[0]
    from simdc.experiment import VERSIONED, _version, config_warnings

    manifest = {
        "seed": config.simulation.seed,
        "config_hash": config.hash,
        "workload": first["source"],
        "skipped_rows": first["skipped"],
        "workload_notes": first["notes"],
        "platforms": list(config.simulation.platforms),
        "cells": [{"name": c["name"], "seed": c["seed"], "hosts": c["host_count"], "requests": c["requests"],
                   "engine_lanes": c["lanes"]} for c in cells],
        "routing": config.routing.model_dump(mode="json"),
        "vm_sizing": first["vm_sizing"],
        "workload_sizes": first["sizes"],
        **({} if grid is None else {"series_t0_utc": cost.series_origins(config.cost, grid[0], grid[1])}),
        # as a fleet's (simdc.experiment._manifest): the cells' own, the series' notes, the config's
        "warnings": [line for c in cells for line in c["warnings"]]
        + ([] if grid is None else cost.series_notes(config.cost, grid[0], grid[1], config.simulation.duration_s))
        + config_warnings(config),
        "versions": {"python": _platform.python_version(), **{p: _version(p) for p in VERSIONED}},
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": round(time.perf_counter() - started, 3),
    }
    run = CellsRun(config, summary, cell_summary, manifest, Path(directory))
    from simdc.planning import unsteady_notes  # (planning imports experiment, which imports this module)

    run.manifest["notes"] = unsteady_notes(run)  # a fleet filling up, as a single fleet's run says
    return run


def _join(parts: list[Path], target: Path) -> None:
    """The Parquet ``parts`` as one file, a row group at a time, in order; columns of
    types that differ between parts (a column of nulls in an empty cell) take the type
    that holds them all."""
    # files opened by Python: pyarrow takes no name that is not UTF-8 (simdc.results.write_parquet)
    schema = pa.unify_schemas([_schema(part) for part in parts], promote_options="permissive")
    with open(target, "wb") as sink, pq.ParquetWriter(sink, schema) as writer:
        for part in parts:
            with open(part, "rb") as source:
                file = pq.ParquetFile(source)
                for group in range(file.num_row_groups):  # kept whole: a row group is a cell's and a platform's
                    table = _conform(file.read_row_group(group), schema)
                    writer.write_table(table, row_group_size=max(len(table), 1))
                    del table
                    pa.default_memory_pool().release_unused()  # Arrow's allocator keeps freed pages otherwise
                del file
            part.unlink()


def _schema(path: Path) -> pa.Schema:
    with open(path, "rb") as source:
        return pq.read_schema(source)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    columns = [table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(len(table), f.type)
               for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def _join_csv(parts: list[Path], target: Path) -> None:
    """The hosts' Parquet ``parts`` as one CSV, in order, the header once."""
    columns: list[str] | None = None
    with open(target, "w", newline="") as out:
        for part in parts:
            table = read_parquet(part)
            if columns is None:
                columns = list(table.columns)
            table.reindex(columns=columns).to_csv(out, index=False, header=out.tell() == 0)
            part.unlink()


def summary_from_parts(directory: Path, platforms: list[str], cells: list[str],
                       licence_per_hour: dict[str, float] | None = None, *, off_host: pd.DataFrame) -> pd.DataFrame:
    """The summary over every cell (a row per platform) from the joined files:
    :func:`simdc.metrics.summary` of the joined tables to the bit (:func:`fleet_summary`),
    holding one cell's instances at a time, and the peak of instances on the cells' hosts
    at once, less ``off_host`` (every cell's, as :func:`run_cell` gives them). The hosts
    table is read whole (a row per host and platform), a host numbered once across the cells.

    With ``licence_per_hour`` (a ``[cost]`` table's: a run with cost columns), the
    :data:`simdc.metrics.COST_COLUMNS` follow, :func:`simdc.cost.platform_costs` of the
    fleet's hosts (their cost columns, each cell's own) and its instances' time on a host
    and running (as a run of one fleet prices its instances).
    """
    hosts = pd.read_csv(directory / "hosts.csv", dtype={"platform": str, "group": str, "cell": str},
                        keep_default_na=False)
    # one fleet of hosts: numbered apart per cell, and its peak from the stays on a host (module docstring)
    number = pd.Index(cells).get_indexer(hosts["cell"]).astype(np.int64) * HOSTS_PER_CELL
    hosts = hosts.assign(physical_host=number + hosts["physical_host"].astype(np.int64))
    hosts = hosts.drop(columns=["fleet_peak_resident"], errors="ignore")
    # opened by Python: pyarrow takes no name that is not UTF-8 (simdc.results.write_parquet)
    with open(directory / "instances.parquet", "rb") as instances, \
            open(directory / "workload.parquet", "rb") as workload:
        return fleet_summary(pq.ParquetFile(instances), pq.ParquetFile(workload), hosts, platforms, cells,
                             licence_per_hour, off_host=off_host)


def _row_groups(file: pq.ParquetFile, keys: list[str]) -> dict[tuple, list[int]]:
    """The non-empty row groups of ``file`` by the values of its ``keys`` columns (one
    value each in a group: a group is one cell's, and one platform's)."""
    found: dict[tuple, list[int]] = {}
    for group in range(file.num_row_groups):
        if file.metadata.row_group(group).num_rows:
            first = file.read_row_group(group, columns=keys).slice(0, 1).to_pylist()[0]
            found.setdefault(tuple(str(first[key]) for key in keys), []).append(group)
    return found


def _read(file: pq.ParquetFile, groups: list[int], columns: list[str]) -> pd.DataFrame:
    arrow = file.read_row_groups(groups, columns=columns)
    # each column freed from Arrow as it becomes pandas': the peak holds one copy, not two
    table = arrow.to_pandas(split_blocks=True, self_destruct=True)
    del arrow
    pa.default_memory_pool().release_unused()  # Arrow's allocator keeps freed pages otherwise
    return table


def fleet_summary(instances: pq.ParquetFile, workload: pq.ParquetFile, hosts: pd.DataFrame, platforms: list[str],
                  cells: list[str], licence_per_hour: dict[str, float] | None = None, *,
                  off_host: pd.DataFrame) -> pd.DataFrame:
    """:func:`simdc.metrics.summary` of the instances of ``instances`` (a row group per
    cell and platform, columns ``cell`` and ``platform``), ``hosts`` (the fleet's, a host
    numbered once across cells, without the engine's ``fleet_peak_resident``) and the
    requests of ``workload`` (a row group per cell, in cell order: each platform's
    instances of a cell are the cell's requests, in their order), to the bit, one cell at
    a time; but ``peak_instances``, the most instances on a host at once of all the cells
    (:func:`simdc.metrics.on_host_peak`): their stays less ``off_host``, the times the
    cells' engines recorded an instance off a host between stays (``platform``,
    ``from_s``, ``to_s``; :class:`simdc.engine.simulation.OffHost`), which a summary of
    the joined tables alone cannot know.

    Each platform's instance figures (and its moves) are those of
    :class:`simdc.metrics.InstanceReduction`, each cell's instances a piece: counted, then
    added in cell order, every column read from the file when a term first asks for it
    (:class:`_CellColumns`), so no more than one cell's instances are held. What is kept
    across cells is what the reduction keeps (the values behind the percentiles, each
    placed instance's stay for the peak: at most 40 bytes an instance) and the requests'
    ``cpu_cores`` and ``memory_gib`` (16 bytes a request, for the VM size over need).

    Returns a row per platform of ``platforms``, the columns of
    :data:`simdc.metrics.SUMMARY_COLUMNS`, then :data:`simdc.metrics.WORKFLOW_COLUMNS`
    when the requests have dependencies, then :data:`simdc.metrics.MOVE_COLUMNS` when the
    instances have moves, then, with ``licence_per_hour``, :data:`simdc.cost.COST_COLUMNS`.
    The workflow columns read the requests' ids, parents and jobs and four columns of
    each platform's instances (a workload with dependencies only); a parent routed to
    another cell was done for its cell's engine, and is no link here either (each cell's
    ``parents`` as it replayed them).
    """
    from simdc import metrics
    from simdc.streamed import _cost_terms
    from simdc.workload import dependencies

    by_key = _row_groups(instances, ["cell", "platform"])
    columns = [name for name in instances.schema_arrow.names if name not in NOT_FOR_SUMMARY]
    need = [c for c in ("cpu_cores", "memory_gib") if c in workload.schema_arrow.names]
    requests = workload.read(columns=need).to_pandas() if len(need) == 2 else None
    duration_s = float(hosts["duration_s"].iloc[0])
    moves = "migrations" in columns
    jobs = None  # the workload's jobs and links, when it has dependencies (metrics.job_structure)
    if dependencies.PARENTS in workload.schema_arrow.names:
        linked = workload.read(columns=[c for c in ("id", dependencies.PARENTS, "job", dependencies.BEYOND)
                                        if c in workload.schema_arrow.names]).to_pandas()
        if dependencies.has_jobs(linked):
            jobs = metrics.job_structure(linked)
        del linked
    rows, costs = [], []
    for platform in platforms:
        pieces = [_CellColumns(instances, by_key[cell, platform], columns) for cell in cells
                  if (cell, platform) in by_key]
        reduction = metrics.InstanceReduction(sum(piece.num_rows for piece in pieces), duration_s, requests,
                                              extra=_cost_terms() if licence_per_hour is not None else None,
                                              keep_stays=True)
        for piece in pieces:
            reduction.count(piece)
        for piece in pieces:
            reduction.add(piece)
        off = off_host[off_host["platform"] == platform]
        peak = metrics.on_host_peak(*reduction.stays(), off["from_s"].to_numpy(float), off["to_s"].to_numpy(float))
        row = metrics.platform_row(platform, reduction, hosts[hosts["platform"] == platform], peak)
        if jobs is not None:  # each cell's instances in its requests' order, the cells in order
            ready = "first_ready_s" if "first_ready_s" in columns else "ready_s"
            timed = pd.concat([_read(instances, piece.groups, ["outcome", "submit_s", ready, "end_s"])
                               for piece in pieces], ignore_index=True)
            row.update(metrics.workflow_metrics(timed, *jobs))
            del timed
        row.update(reduction.moves())
        rows.append(row)
        if licence_per_hour is not None:
            from simdc import cost

            # what platform_costs reads of the instances: the NaN-skipping sums of resident_s and run_s
            hours = pd.DataFrame({"resident_s": [reduction.terms["resident_nansum"].value],
                                  "run_s": [reduction.terms["run_nansum"].value]})
            costs.append(cost.platform_costs(hours, hosts[hosts["platform"] == platform],
                                             licence_per_hour.get(platform, 0.0)))
        del reduction, pieces
    summary = pd.DataFrame(rows, columns=[*metrics.SUMMARY_COLUMNS, *(metrics.WORKFLOW_COLUMNS if jobs else ()),
                                          *(metrics.MOVE_COLUMNS if moves else ())])
    if licence_per_hour is None:
        return summary
    from simdc import cost

    return pd.concat([summary, pd.DataFrame(costs, columns=list(cost.COST_COLUMNS))], axis=1)


class _CellColumns:
    """One cell's row groups ``groups`` of one platform in ``file``, a source of columns
    for :class:`simdc.metrics.Rows` (``column_names``, ``num_rows``, ``series``): each
    column read from the file only when a term asks for it (one that does not apply
    reads nothing, the counting pass only what it counts), and converted on its own (the
    parts carry no pandas metadata: as ``pandas.read_parquet`` converts it), a third
    faster than through a one-column table."""

    def __init__(self, file: pq.ParquetFile, groups: list[int], columns: list[str]):
        self.file, self.groups, self.column_names = file, groups, columns
        self.num_rows = sum(file.metadata.row_group(group).num_rows for group in groups)

    def series(self, name: str) -> pd.Series:
        """Column ``name`` of these rows."""
        return self.file.read_row_groups(self.groups, columns=[name]).column(0).to_pandas()


def simulate_cells(config: Config, *, check_memory: bool = True):
    """:func:`simdc.simulate` of a fleet of cells, in this process: the cells one after
    another (:func:`run_cells`, each checked against the memory available with
    ``check_memory``), the tables read back into a :class:`simdc.results.Results`."""
    from simdc.results import load_results

    with tempfile.TemporaryDirectory(prefix="simdc-cells-") as folder:
        run = run_cells(config, folder, check_memory=check_memory)
        run._write_files(Path(folder), report=False, report_title=None)
        results = load_results(folder)
        results.config = config
        return results
