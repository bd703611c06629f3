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
time, and computes the summary from them a platform at a time, without the instances'
ids. The driver never holds more than one cell's tables and one platform's metric
columns.

Across cells, host numbers (``host``, ``physical_host``) count from 0 in each cell: a
host is named by its cell and number. ``peak_instances`` over the fleet is found from the
instances' stays (:func:`simdc.metrics.peak_resident`): a failure's victim waiting to be
placed again counts as resident there, which the engine's own count of one fleet does not.
"""

from __future__ import annotations

import json
import platform as _platform
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
from simdc.results import describe_os_error

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
    faults listed for its hosts (fleet-wide host numbers, cells in order) renumbered."""
    cell = config.cells[index]
    first = sum(len(c.fleet) for c in config.cells[:index])
    hosts = len(cell.fleet)
    data = config.to_dict()
    for key in ("cells", "routing"):
        data.pop(key, None)
    data["cluster"] = {"hosts": [group.model_dump(mode="json", exclude_none=True) for group in cell.hosts],
                       "power_off_idle": cell.power_off_idle}
    faults = data.get("faults", {})
    for key in ("host_failures", "kernel_failures"):
        faults[key] = [[host - first, t] for host, t in faults.get(key, []) if first <= host < first + hosts]
    return validate(data, check_files=False)


def run_cell(config: Config, index: int, check_memory: bool = True) -> dict[str, Any]:
    """Replay cell ``index`` of ``config`` (a task; plain data in and out).

    With ``check_memory``, the cell's run is refused when it needs more memory than its
    machine has available (:mod:`simdc.budget`, for the cell's hosts and requests: a
    synthetic workload's expected count times the cell's share, or equal shares; a
    trace's once read and routed).

    Returns its tables as Parquet bytes (``instances``, ``timeseries``, ``workload``,
    ``hosts``; a row group per platform, a ``cell`` column), its summary (a row per
    platform) and what the manifest says of it.

    Raises
    ------
    simdc.budget.TooBigError
        With ``check_memory``, as :func:`simdc.simulate` does.
    """
    from simdc import budget, metrics
    from simdc.engine.rules import resolve_sizing
    from simdc.experiment import replay, sizing_warnings, unplaceable_warnings
    from simdc.workload import load_workload

    cell = config.cells[index]
    sim = config.simulation
    local = cell_config(config, index)
    before_replay = None

    def check(instances: int, usage_steps: int = 0) -> None:
        try:
            budget.check(local, instances, usage_steps)
        except budget.TooBigError as refusal:
            raise budget.TooBigError(f"cell {cell.name!r}: {refusal.problems[0]}") from None

    if check_memory:
        if config.workload.synthetic is not None:
            check(round(budget.estimate(local).instances * (cell.share or 1 / len(config.cells))))
        else:
            before_replay = check
    workload = load_workload(config.workload, sim.duration_s, sim.seed, before_replay,
                             keep=lambda instances: route(instances, config.cells, config.routing) == index)
    seed = cell_seed(sim.seed, cell.name)
    runs = replay(local, workload, seed)
    lanes = {name: run.lane for name, run in zip(sim.platforms, runs)}
    summary = pd.concat([metrics.summary(r.instances, r.hosts, workload.instances) for r in runs], ignore_index=True)
    instances = pd.concat([r.instances for r in runs], ignore_index=True)
    warnings = [f"cell {cell.name}: {line}" for line in
                unplaceable_warnings(summary, instances, workload.instances, local) + sizing_warnings(local, workload)]
    tables = {
        "instances": instances,
        "timeseries": pd.concat([r.timeseries for r in runs], ignore_index=True),
        "hosts": pd.concat([r.hosts for r in runs], ignore_index=True),
        "workload": workload.instances,
    }
    del runs, instances
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


@dataclass
class CellsRun:
    """A fleet of cells' run, its tables already in ``directory``: the summary (a row per
    platform, over every cell), each cell's summary, and the manifest."""

    config: Config
    summary: pd.DataFrame
    cell_summary: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)

    def _write_files(self, directory: Path, report: bool, report_title: str | None) -> None:
        """What :meth:`simdc.results.Destination.write` asks of results: the files not yet
        written (the tables are), and the report when asked."""
        self.summary.to_csv(directory / "summary.csv", index=False)
        self.cell_summary.to_csv(directory / "cells.csv", index=False)
        (directory / "config.toml").write_text(self.config.to_toml())
        (directory / "manifest.json").write_text(json.dumps(self.manifest, indent=2, default=str) + "\n")
        if report:  # the report draws from every table: it reads them back
            from simdc.report import write_report
            from simdc.results import load_results

            write_report(load_results(directory), directory / "report.html", title=report_title)


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

    if progress:
        progress(0, total)
    if workers == 1 and scheduler is None:
        for index in range(total):
            finished(index, run_cell(config, index, check_memory))
    else:
        from simdc.sweeping import _check_address, run_on_dask

        if scheduler is not None:
            _check_address(scheduler)
        run_on_dask([(index, run_cell, (config, index, check_memory)) for index in range(total)], finished,
                    scheduler, workers,
                    lambda index: f"cell {config.cells[index].name!r}")
    cells = [done[index] for index in range(total)]
    try:
        for name in PARQUET_TABLES:
            _join([parts / f"{index:05d}.{name}.parquet" for index in range(total)], directory / f"{name}.parquet")
        _join_csv([parts / f"{index:05d}.hosts.parquet" for index in range(total)], directory / "hosts.csv")
        shutil.rmtree(parts)
    except OSError as err:
        raise unwritable(err) from None
    summary = summary_from_parts(directory, list(config.simulation.platforms), [c["name"] for c in cells])
    cell_summary = pd.concat([c["summary"] for c in cells], ignore_index=True)
    cell_summary = cell_summary[["cell", *[c for c in cell_summary.columns if c != "cell"]]]
    first = cells[0]
    from simdc.experiment import VERSIONED, _version

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
        "warnings": [line for c in cells for line in c["warnings"]],
        "versions": {"python": _platform.python_version(), **{p: _version(p) for p in VERSIONED}},
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": round(time.perf_counter() - started, 3),
    }
    return CellsRun(config, summary, cell_summary, manifest)


def _join(parts: list[Path], target: Path) -> None:
    """The Parquet ``parts`` as one file, a row group at a time, in order; columns of
    types that differ between parts (a column of nulls in an empty cell) take the type
    that holds them all."""
    schema = pa.unify_schemas([pq.read_schema(part) for part in parts], promote_options="permissive")
    with pq.ParquetWriter(target, schema) as writer:
        for part in parts:
            file = pq.ParquetFile(part)
            for group in range(file.num_row_groups):
                writer.write_table(_conform(file.read_row_group(group), schema))
            del file
            part.unlink()


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    columns = [table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(len(table), f.type)
               for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def _join_csv(parts: list[Path], target: Path) -> None:
    """The hosts' Parquet ``parts`` as one CSV, in order, the header once."""
    columns: list[str] | None = None
    with open(target, "w", newline="") as out:
        for part in parts:
            table = pd.read_parquet(part)
            if columns is None:
                columns = list(table.columns)
            table.reindex(columns=columns).to_csv(out, index=False, header=out.tell() == 0)
            part.unlink()


def summary_from_parts(directory: Path, platforms: list[str], cells: list[str]) -> pd.DataFrame:
    """The summary over every cell (a row per platform), from the joined files: a
    platform's instances at a time, without their ids."""
    from simdc import metrics

    hosts = pd.read_csv(directory / "hosts.csv", dtype={"platform": str, "group": str, "cell": str},
                        keep_default_na=False)
    # one fleet of hosts: numbered apart per cell, and its peak from the stays (module docstring)
    number = pd.Index(cells).get_indexer(hosts["cell"]).astype(np.int64) * HOSTS_PER_CELL
    hosts = hosts.assign(physical_host=number + hosts["physical_host"].astype(np.int64))
    hosts = hosts.drop(columns=["fleet_peak_resident"], errors="ignore")
    instances_file = pq.ParquetFile(directory / "instances.parquet")
    wanted = [name for name in instances_file.schema_arrow.names if name not in NOT_FOR_SUMMARY]
    requests = pd.read_parquet(directory / "workload.parquet", columns=["cpu_cores", "memory_gib"])
    rows = []
    for platform in platforms:
        groups = [g for g in range(instances_file.num_row_groups)
                  if instances_file.metadata.row_group(g).num_rows
                  and instances_file.read_row_group(g, columns=["platform"]).column(0)[0].as_py() == platform]
        arrow = instances_file.read_row_groups(groups, columns=wanted) if groups else \
            instances_file.schema_arrow.empty_table().select(wanted)
        # each column freed from Arrow as it becomes pandas': the peak holds one copy, not two
        table = arrow.to_pandas(split_blocks=True, self_destruct=True)
        del arrow
        pa.default_memory_pool().release_unused()  # Arrow's allocator keeps freed pages otherwise
        rows.append(metrics.summary(table, hosts[hosts["platform"] == platform], requests))
        del table
    return pd.concat(rows, ignore_index=True)


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
