"""A run's results: the tables in memory, and their directory on disk.

A results directory holds ``summary.csv``, ``instances.parquet``, ``timeseries.parquet``,
``hosts.csv``, ``workload.parquet``, the resolved ``config.toml`` and ``manifest.json``.
It is written beside its destination under a temporary name and renamed into place, so
an interrupted write never leaves a directory that looks complete (see :class:`Destination`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import math
import re
import secrets
import shutil
import signal
import socket
import threading
import tomllib
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

from simdc.config import Config, validate
from simdc.errors import InputError, OutputError, SimdcError, clip, resolved, special_file

try:
    import fcntl
except ImportError:  # not POSIX (Windows): results are written without the lock
    fcntl = None

FILES = ("summary.csv", "instances.parquet", "timeseries.parquet", "hosts.csv",
         "workload.parquet", "config.toml", "manifest.json")
REPORT = "report.html"  # a run's or a sweep's report: `simdc report` (or run --report) writes it there
PLAN_TABLES = ("evaluations.csv", "plan.csv")  # a plan's directory (simdc.planning.PlanResult)
# A sweep's (simdc.sweeping._Parts): its description, its tables in the order written
# (points.csv, last, marks it finished), and the folder of its finished runs.
SWEEP_RECORD, SWEEP_TABLES, SWEEP_PARTS = "sweep.json", ("aggregate.csv", "points.csv"), "parts"


@dataclass(frozen=True)
class Kind:
    """A kind of directory simdc writes (:data:`KINDS`)."""

    marks: tuple[str, ...]  # all of them there: a directory of this kind
    files: frozenset[str]  # every file simdc writes at its top (the marks among them)
    folder: str | None = None  # a folder of its own: everything in it is its own (a sweep's finished runs)


# How the Parquet tables are written: snappy (pyarrow's default) and a column's dictionary
# giving up at 64 KiB, not pyarrow's 1 MiB (``dictionary_pagesize_limit``; Parquet falls
# back to plain encoding for the rest of the column chunk). :func:`write_parquet` adds
# which columns get a dictionary and statistics (benchmarks/README.md, "Writing results").
PARQUET_OPTIONS = {"dictionary_pagesize_limit": 64 << 10}
# A column gets a dictionary only if at most half of its first DICTIONARY_SAMPLE values
# are distinct: a column of mostly distinct values (ids, times) was hashed into a
# dictionary of 8,192 doubles before the fallback above, for nothing (the dictionary
# page is written as well as the plain pages): a fifth of writing the capacity study's
# instance table (24.4 -> 19.5 ms), and the files come out 1-10 % smaller.
DICTIONARY_SAMPLE = 2048
# Min/max statistics only for the columns a reader selects rows by (pyarrow's and
# DuckDB's filters skip row groups with them); simdc's readers use none, and computing
# them for every column was up to 15 % of writing a table (0-15 % measured).
STATISTICS_COLUMNS = ("platform", "cell", "id", "host", "t_s", "submit_s", "outcome")


@dataclass(eq=False, repr=False)  # identity, and a short repr: tables compare and print ambiguously and at length
class Results:
    """Everything one run produced. Tables are tidy pandas DataFrames.

    Attributes
    ----------
    summary
        One row per platform (see :mod:`simdc.metrics` for the definitions).
    instances
        One row per instance and platform: times in seconds from the start, and outcome.
    timeseries
        One row per platform, host and sample (every ``simulation.sample_every_s``).
    hosts
        One row per platform and host: capacity and time integrals (``*_s`` columns
        are ∫ value dt, e.g. ``cpu_used_core_s`` in core-seconds).
    workload
        The instance requests replayed, identical for every platform.
    cells
        With ``[[cells]]`` only (else None): each cell's own summary, one row per cell
        and platform, the columns of ``summary`` after ``cell`` (``cells.csv``).

    Two Results are equal only when they are the same object: compare runs by their
    tables (``a.summary.equals(b.summary)``; the same config and seed give equal tables).
    """

    config: Config
    summary: pd.DataFrame
    instances: pd.DataFrame
    timeseries: pd.DataFrame
    hosts: pd.DataFrame
    workload: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)
    services: pd.DataFrame | None = None  # with [[services]]: per platform, demand and replicas over time
    releases: pd.DataFrame | None = None  # with [[services]]: per platform, one row per release
    cells: pd.DataFrame | None = None  # with [[cells]]: each cell's own summary, a row per cell and platform

    def __repr__(self) -> str:
        rows = ", ".join(f"{name}={len(table):,} rows" for name, table in
                         (("instances", self.instances), ("timeseries", self.timeseries)))
        return (f"Results(seed={self.manifest.get('seed')}, platforms={list(self.summary['platform'])!r}, "
                f"{rows})")

    def parts(self, name: str, columns: list[str]):
        """Table ``name`` (``"instances"`` or ``"timeseries"``) in parts: DataFrames of
        those of ``columns`` it has, which together are its rows in order. Here one part,
        the table in memory; a spilled run's (:class:`SpilledResults`) row group by row
        group, never the whole file at once."""
        table = getattr(self, name)
        yield table[[c for c in columns if c in table.columns]]

    def figures(self) -> dict[str, Any]:
        """The report's figures by name (``memory``, ``cpu``, ``density``,
        ``start_latency``, ``outcomes``, and ``interference``, ``failures``, ``cost``,
        ``moves``, ``services`` when the run had some), as plotly Figures: see
        :func:`simdc.report.figures`."""
        from simdc import report  # plotly only where figures are asked for

        return report.figures(self)

    def write(self, out: str | Path | Destination, overwrite: bool = False, report: bool = False,
              report_title: str | None = None) -> Path:
        """Write the results directory ``out`` atomically; refuse to replace one unless asked.

        With ``report=True`` it also holds ``report.html`` (:func:`simdc.report.write_report`,
        headed ``report_title``), written before the directory is renamed into place.
        ``out`` may be a :class:`Destination` already entered (claimed before simulating);
        ``overwrite`` is then the Destination's.

        Raises
        ------
        OutputError
            ``out`` already holds something (without ``overwrite``), is a file, a mount
            point or not a results directory, another run is writing it, or the disk is
            full or read-only. Nothing half-written is left behind.
        simdc.errors.ConfigError
            ``overwrite`` or ``report`` not True or False (a string such as "no" is true
            to Python), or ``report_title`` not a string.
        """
        _check_write_flags(overwrite, report, report_title)
        if isinstance(out, Destination):
            out.write(self, report=report, report_title=report_title)
            return out.path
        with Destination(out, overwrite=overwrite) as destination:
            destination.write(self, report=report, report_title=report_title)
        return destination.path

    def _write_files(self, directory: Path, report: bool, report_title: str | None) -> None:
        self.summary.to_csv(directory / "summary.csv", index=False)
        self._write_tables(directory)
        self.hosts.to_csv(directory / "hosts.csv", index=False)
        write_parquet(self.workload, directory / "workload.parquet")
        for name in ("services", "releases", "cells"):  # only with [[services]], or [[cells]]
            if getattr(self, name) is not None:
                getattr(self, name).to_csv(directory / f"{name}.csv", index=False)
        (directory / "config.toml").write_text(self.config.to_toml())
        (directory / "manifest.json").write_text(json.dumps(self.manifest, indent=2, default=str) + "\n")
        if report:
            from simdc.report import write_into

            write_into(self, directory, title=report_title)


    def _write_tables(self, directory: Path) -> None:
        """``instances.parquet`` and ``timeseries.parquet`` into ``directory``."""
        write_parquet(self.instances, directory / "instances.parquet")
        write_parquet(self.timeseries, directory / "timeseries.parquet")


def write_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame``'s columns (not its index) to the Parquet file ``path``.

    The Arrow table written is the one ``frame.to_parquet(path, index=False)`` writes
    (:func:`arrow_table`: the same types, NaN as null, pandas' metadata), so every reader
    (``pd.read_parquet``, :func:`load_results`, pyarrow, DuckDB) gets the same values
    back; only the encoding differs: a dictionary only for columns with repeats
    (:data:`DICTIONARY_SAMPLE`), statistics only for :data:`STATISTICS_COLUMNS`.

    The file is opened by Python and handed to pyarrow, as every file simdc gives
    pyarrow or pandas' Parquet functions is: pyarrow encodes a name as UTF-8 to find its
    filesystem (``pyarrow.fs.FileSystem.from_uri``), and a name that is not UTF-8 (bytes
    such as 0xE9, Latin-1's é, which Python holds as a surrogate, PEP 383) failed with
    UnicodeEncodeError. Python's ``open`` takes any name the system does.

    Raises
    ------
    OSError
        The file cannot be written (pyarrow's errors carry the errno).
    """
    import pyarrow.parquet as pq

    table = arrow_table(frame)
    names = table.column_names
    with open(path, "wb") as sink:
        pq.write_table(table, sink, use_dictionary=[name for name, column in zip(names, table.columns)
                                                    if _repeats(column)],
                       write_statistics=[name for name in names if name in STATISTICS_COLUMNS], **PARQUET_OPTIONS)


def arrow_table(frame: pd.DataFrame):
    """``pa.Table.from_pandas(frame, preserve_index=False)``, equal to it (schema and
    metadata included), built from the columns' numpy arrays where it can: numbers and
    booleans (a float column's NaN become nulls, as pandas' conversion makes them), text
    and categories. Any other column (object, dates, nullable integers), duplicate or
    non-text column names: pyarrow's own conversion."""
    import pyarrow as pa

    names = list(frame.columns)
    if len(names) == 0 or len(set(names)) != len(names) or not all(isinstance(n, str) for n in names) \
            or not all(_direct(dtype) for dtype in frame.dtypes):
        return pa.Table.from_pandas(frame, preserve_index=False)
    # pandas' metadata and the types from the columns' dtypes alone (an empty frame)
    schema = pa.Schema.from_pandas(frame.iloc[:0], preserve_index=False)
    arrays = []
    for name, arrow_field in zip(names, schema):
        column = frame[name]
        if isinstance(column.dtype, np.dtype):
            values = column.to_numpy()
            if values.dtype.kind == "f":
                nan = np.isnan(values)
                arrays.append(pa.array(values, type=arrow_field.type, mask=nan if nan.any() else None))
            else:
                arrays.append(pa.array(values, type=arrow_field.type))
        else:  # text and categories
            arrays.append(pa.array(column, type=arrow_field.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def _direct(dtype) -> bool:
    """Whether :func:`arrow_table` converts a column of ``dtype`` itself."""
    if isinstance(dtype, np.dtype):
        return dtype.kind in "fiub"
    return isinstance(dtype, (pd.CategoricalDtype, pd.StringDtype))


def _repeats(column) -> bool:
    """Whether at most half of the first :data:`DICTIONARY_SAMPLE` values of ``column``
    (a pyarrow ChunkedArray) are distinct (nulls count as one value). A category
    column is a dictionary already: kept as one."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type) or pa.types.is_null(column.type):
        return True
    head = column.slice(0, DICTIONARY_SAMPLE)
    if len(head) == 0:
        return True
    try:
        distinct = pc.count_distinct(head, mode="all").as_py()
    except pa.ArrowNotImplementedError:  # a type it cannot count (e.g. nested): pyarrow's default
        return True
    return 2 * distinct <= len(head)


SPILLED = ("instances", "timeseries")  # the tables a spilled run keeps on disk


def read_parquet(path: Path) -> pd.DataFrame:
    """``pandas.read_parquet(path)``, the file opened by Python (see :func:`write_parquet`)."""
    with open(path, "rb") as source:
        return pd.read_parquet(source)


def read_instances(path: Path) -> pd.DataFrame:
    """An instances table from its Parquet file, with the dtypes it had in memory: a
    table of no rows keeps its ``outcome`` categories (Parquet keeps a category column's
    values only with rows that use them)."""
    table = read_parquet(path)
    outcome = table["outcome"] if "outcome" in table else None
    if outcome is not None and not len(table) and isinstance(outcome.dtype, pd.CategoricalDtype):
        from simdc.engine.simulation import OUTCOMES  # only for an empty table: the engine's import is dear

        table["outcome"] = pd.Categorical([], categories=list(OUTCOMES))
    return table


def _check_write_flags(overwrite, report, report_title) -> None:
    """``write``'s keyword arguments as documented (``simdc.errors.checked_bool``)."""
    from simdc.errors import ConfigError, checked_bool

    checked_bool(overwrite, "overwrite")
    checked_bool(report, "report")
    if report_title is not None and not isinstance(report_title, str):
        raise ConfigError(f"report_title: expected a string, got {type(report_title).__name__}")


class SpilledResults(Results):
    """The results of a spilled run (:func:`simdc.simulate`, when the tables would not fit
    in memory): ``instances`` and ``timeseries`` are Parquet files in ``folder``; every
    other table is in memory, as in :class:`Results`.

    Reading ``instances`` or ``timeseries`` reads its whole file into a DataFrame: the
    memory of that table in memory (about 265 bytes an instance row, 80 a timeseries
    row, benchmarks/README.md), for as long as the caller holds it. Read again, the same
    DataFrame comes back while something holds it, else the file is read anew (a weak
    reference): so ask for a table once and keep it, or read the file in row groups
    (``pyarrow.parquet.ParquetFile(results.path("instances"))``, row groups of
    one platform each, up to 250,000 rows). :meth:`write` places the files without reading them.

    ``folder`` is a :class:`Destination`'s partial directory (the CLI: the files are then
    already where the results directory will be, and ``folder`` follows it when it is
    renamed into place), a folder given to :func:`simdc.simulate`, or a temporary folder
    these results own, removed with them (``owner``).
    """

    def __init__(self, folder: Path, owner: Any = None, **tables: Any):
        self._folder = Path(folder)
        self._owner = owner  # a tempfile.TemporaryDirectory: removed when these results are
        self._held: dict[str, Any] = {}
        self._placed_in: Path | None = None
        super().__init__(instances=None, timeseries=None, **tables)

    def path(self, name: str) -> Path:
        """The Parquet file of table ``name`` (``"instances"`` or ``"timeseries"``)."""
        return self._folder / f"{name}.parquet"

    def _table(self, name: str) -> pd.DataFrame:
        held = self._held.get(name)
        table = held() if isinstance(held, weakref.ref) else held
        if table is None:
            self._check_spilled(name)
            table = read_instances(self.path(name)) if name == "instances" else read_parquet(self.path(name))
            self._held[name] = weakref.ref(table)
        return table

    def parts(self, name: str, columns: list[str]):
        """:meth:`Results.parts`: the table in memory if held (read, or set by hand),
        else its file's row groups one at a time (up to 250,000 rows each).

        Raises
        ------
        InputError
            The file is gone (:meth:`_check_spilled`)."""
        held = self._held.get(name)
        if (held() if isinstance(held, weakref.ref) else held) is not None:
            yield from super().parts(name, columns)
            return
        self._check_spilled(name)
        import pyarrow.parquet as pq

        with open(self.path(name), "rb") as file:  # by Python: pyarrow takes no non-UTF-8 name (write_parquet)
            source = pq.ParquetFile(file)
            have = [c for c in columns if c in source.schema_arrow.names]
            for k in range(source.num_row_groups):
                yield source.read_row_group(k, columns=have).to_pandas()

    def _check_spilled(self, *names: str) -> None:
        """Refuse to read (or copy) a table whose spilled file is gone: the folder the run
        spilled into was removed or emptied after it ran.

        Raises
        ------
        InputError
            Naming the missing file and the folder; the tables cannot be had again
            without running the simulation again.
        """
        for name in names or SPILLED:
            if isinstance(self._held.get(name), pd.DataFrame) or self.path(name).is_file():
                continue
            raise InputError(f"{self.path(name)}: this spilled run's {name} table is gone (its folder "
                             f"{self._folder} was removed or emptied after the run); these results cannot "
                             "read or write it any more: run the simulation again")

    def _keep(self, name: str, table: pd.DataFrame | None) -> None:
        if table is not None:  # set by hand: kept, and written in place of the file
            self._held[name] = table

    instances = property(lambda self: self._table("instances"), lambda self, table: self._keep("instances", table))
    timeseries = property(lambda self: self._table("timeseries"),
                          lambda self, table: self._keep("timeseries", table))

    def __repr__(self) -> str:
        return f"SpilledResults(folder={str(self._folder)!r}, platforms={list(self.summary['platform'])!r})"

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def write(self, out, overwrite: bool = False, report: bool = False, report_title: str | None = None) -> Path:
        """:meth:`Results.write`; the Parquet tables are copied (or, written into a
        :class:`Destination` whose partial directory holds them already, left there).

        Raises
        ------
        InputError
            The folder the run spilled into lost a table (removed after the run), before
            anything is written.
        OutputError
            As :meth:`Results.write`.
        """
        if not (isinstance(out, Destination) and out.partial is not None
                and resolved(out.partial) == resolved(self._folder)):
            self._check_spilled()  # before anything is claimed: the missing folder is named, not out
        path = super().write(out, overwrite=overwrite, report=report, report_title=report_title)
        if self._placed_in is not None:  # the files moved with the partial directory
            self._folder, self._placed_in = path, None
        return path

    def _write_tables(self, directory: Path) -> None:
        for name in SPILLED:
            held = self._held.get(name)
            if isinstance(held, pd.DataFrame):
                write_parquet(held, directory / f"{name}.parquet")
            elif resolved(directory) != resolved(self._folder):
                shutil.copyfile(self.path(name), directory / f"{name}.parquet")
        if resolved(directory) == resolved(self._folder):
            self._placed_in = directory


class Destination:
    """A results directory claimed before the simulation runs, and filled after it.

    ``with Destination(out) as destination:`` checks ``out`` (refusing, at once, a
    destination it could not write), locks it against other runs, and makes a hidden
    partial directory beside it; ``destination.write(results)`` fills that and renames it
    into place. Leaving the block any other way removes the partial directory, so an
    error or an interrupt leaves nothing half-written.

    The lock is ``.NAME.lock`` beside ``out``, held with ``flock`` (released by the
    kernel when a run dies). Partial directories are ``.NAME.partial-PID@HOST-XXXXXXXX``;
    those of dead processes on this host are removed by the next run into the same
    parent. Directories are made and files written with the permissions the umask gives.

    Raises
    ------
    OutputError
        On entering: ``out`` is a file, a mount point, a non-empty directory (without
        ``overwrite``), not a results directory (with it), being written by another run,
        or cannot be created (read-only, permission denied, full).
    """

    def __init__(self, out: str | Path, overwrite: bool = False, marks: tuple[str, ...] = ("manifest.json",)):
        self.path = Path(out)
        self.overwrite = overwrite
        self.marks = marks  # the files that show a directory is one simdc wrote (check_destination)
        self.partial: Path | None = None
        self._lock: DestinationLock | None = None
        self._made: list[Path] = []

    def __enter__(self) -> Destination:
        check_destination(self.path, self.overwrite, self.marks)
        parent = self.path.parent
        self._made = absent_folders(parent)  # removed again if nothing is written (__exit__)
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:  # e.g. a part of the path is a file, or read-only
            remove_empty_folders(self._made)
            raise _output_error(self.path, parent_problem(parent, err)) from None
        self._lock = DestinationLock(parent / f".{self.path.name}.lock", self.path)
        tried: list[Path] = []
        try:
            self._lock.acquire()
            remove_stale_partials(parent)
            self.partial = _make_partial(parent, self.path.name, tried=tried)
        except BaseException:
            # An interrupt may come after the partial directory was made and before its
            # name was kept (or before this returned, when no __exit__ follows): what
            # this call made goes, whatever was kept.
            for path in tried:
                shutil.rmtree(path, ignore_errors=True)
            self.partial = None
            self._lock.release()
            remove_empty_folders(self._made)
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.partial is not None:
                shutil.rmtree(self.partial, ignore_errors=True)
                self.partial = None
        finally:
            if self._lock is not None:
                self._lock.release()
            remove_empty_folders(self._made)  # the folders made for out, when nothing was written there

    def write(self, results: Results, report: bool = False, report_title: str | None = None) -> Path:
        """Write ``results`` into the partial directory and rename it to ``path``."""
        if self.partial is None:
            raise RuntimeError("Destination.write outside its with block, or twice")
        try:
            results._write_files(self.partial, report, report_title)
            _follow_umask(self.partial)
        except OSError as err:
            shutil.rmtree(self.partial, ignore_errors=True)
            self.partial = None
            reason = describe_os_error(err)
            raise OutputError(
                self.path, f"{self.path}: the results could not be written: {reason}; nothing was written",
                cli=f"the simulation finished but its results could not be written to {self.path}: "
                    f"{reason}; nothing was written") from None
        check_destination(self.path, self.overwrite, self.marks)  # what changed while the simulation ran
        _place(self.partial, self.path, self.overwrite)
        self.partial = None
        return self.path


def check_destination(out: Path, overwrite: bool = False, marks: tuple[str, ...] = ("manifest.json",)) -> None:
    """Refuse a results destination that :meth:`Results.write` would refuse, before simulating.

    ``marks`` are the files that make a directory one simdc wrote (a run's
    ``manifest.json``; a plan's ``plan.csv`` and ``evaluations.csv``): only such a
    directory is replaced, and only with ``overwrite``.

    Raises
    ------
    OutputError
        ``out`` is one of a results directory's own files or folders (:func:`check_not_own`),
        a file, a mount point, the current working directory or one holding
        it, a non-empty directory (unless ``overwrite``), or (with ``overwrite``) a
        non-empty directory without all of ``marks``, or holding anything simdc does not
        write there (:data:`WRITTEN`: a notebook, a
        folder of one's own): simdc never deletes what it did not write.
    """
    check_not_own(out, None)  # e.g. a run's directory as a sweep's parts/, or as an unfinished sweep's points.csv
    if not os.path.lexists(out):
        return
    if not out.is_dir():
        raise OutputError(out, f"{out}: already exists and is not a directory; choose another out",
                          cli=f"{out}: already exists and is not a directory; choose another --out")
    if os.path.ismount(out):
        raise _output_error(out, "is a mount point, and results are renamed into place; choose a new "
                                 f"directory inside it, e.g. {out / 'simdc-results'}")
    here = _cwd()
    if here is not None and (resolved(out) == here or resolved(out) in here.parents):
        said = ("is the current working directory" if resolved(out) == here else
                "holds the current working directory")
        raise _output_error(out, f"{said}, and results are renamed into place: this process would be left in a "
                                 f"removed folder; choose a new directory, e.g. {out / 'simdc-results'}")
    if not any(out.iterdir()):
        return
    if not overwrite:
        raise OutputError(out, f"{out}: already exists and is not empty; choose another out or pass overwrite=True",
                          cli=f"{out}: already exists and is not empty; choose another --out or pass --overwrite")
    missing = [name for name in marks if not (out / name).is_file()]
    if missing:
        found, wanted = directory_kind(out), _kind_marked(marks)
        what = (f"is {found}, not {wanted}" if found and wanted and found != wanted
                else "is not a simdc results directory")
        raise OutputError(out, f"{out}: {what} (no {missing[0]}), so it is not "
                               "replaced even with overwrite=True; choose another out",
                          cli=f"{out}: {what} (no {missing[0]}), so it is not "
                              "replaced even with --overwrite; choose another --out")
    foreign = sorted(entry.name for entry in out.iterdir() if entry.name not in WRITTEN or not entry.is_file())
    if foreign:
        more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
        said = (f"{out}: holds {foreign[0]}{more}, which simdc did not write, so it is not replaced even with "
                "{}; move {} out first, or choose another {}")
        raise OutputError(out, said.format("overwrite=True", "them" if more else "it", "out"),
                          cli=said.format("--overwrite", "them" if more else "it", "--out"))


def _kind_marked(marks: tuple[str, ...]) -> str:
    """The name of the kind in :data:`KINDS` that ``marks`` mark."""
    return next(name for name, kind in KINDS.items() if set(kind.marks) == set(marks))


def _cwd() -> Path | None:
    """The current working directory, resolved; None when it was removed."""
    try:
        return resolved(Path.cwd())
    except OSError:
        return None


# What simdc writes, by kind: the files that mark one, and every file of its own; their
# writers are Results._write_files (with [[services]], [[cells]], --report),
# simdc.planning.PlanResult._write_files and simdc.sweeping._Parts, and
# tests/test_out_safety.py holds this to what they write. Only its writer writes such a
# file: no other output (a report's --out, a trace's --to, a run's or plan's --out) is
# ever put in its place, even with overwrite (check_not_own); and with overwrite, a
# directory holding anything but its own files is not replaced (check_destination).
KINDS = {
    "a run's results directory": Kind(("manifest.json",), frozenset(FILES + ("services.csv", "releases.csv",
                                                                              "cells.csv", REPORT))),
    "a plan's directory": Kind(PLAN_TABLES, frozenset(PLAN_TABLES)),
    "a sweep's directory": Kind((SWEEP_RECORD,), frozenset((SWEEP_RECORD, *SWEEP_TABLES, REPORT)), SWEEP_PARTS),
}
# The files a run's or a plan's directory replaced with overwrite may hold (check_destination).
WRITTEN = KINDS["a run's results directory"].files | KINDS["a plan's directory"].files


def directory_kind(directory: Path) -> str | None:
    """Which of :data:`KINDS` ``directory`` is (its marks all there), or None."""
    return next((name for name, kind in KINDS.items() if all((directory / m).is_file() for m in kind.marks)), None)


def own_file(path: str | Path) -> tuple[Path, str, str] | None:
    """The directory simdc wrote that ``path`` is one of the own files of (:data:`KINDS`),
    the directory's kind, and the file's name in it (``parts/p00000-r0000.csv``); None
    when it is none. By name, whether or not the file is there yet: a report written as
    an unfinished sweep's ``points.csv`` would mark it finished."""
    path = Path(path)
    folder = path.parent
    kind = directory_kind(folder)
    if kind is not None and (path.name in KINDS[kind].files or path.name == KINDS[kind].folder):
        return folder, kind, path.name
    above = directory_kind(folder.parent)
    if above is not None and folder.name == KINDS[above].folder:
        return folder.parent, above, f"{folder.name}/{path.name}"
    return None


def check_not_own(out: str | Path, option: str | None = "--out", allow: tuple[str, ...] = ()) -> None:
    """Refuse the output ``out`` (given as ``option``; None: said as the path alone) when it
    is one of a results directory's own files or folders (:func:`own_file`), with or
    without overwrite: only the directory's writer writes them (a report over a sweep's
    ``sweep.json`` left a sweep that could not be read or resumed). ``allow``: names that
    are this output's own place there (a report's ``report.html``).

    Raises
    ------
    OutputError
        Naming ``out``, the directory, its kind and the file.
    """
    found = own_file(out)
    if found is None or found[2] in allow:
        return
    directory, kind, name = found
    what = "a folder" if name == KINDS[kind].folder else "a file"
    place = f" (its {REPORT} is the report's place there)" if REPORT in KINDS[kind].files and REPORT in allow else ""
    said = (f"is {directory}'s own {name}, {what} of its results ({kind}), never written over, even with "
            f"{{}}; write elsewhere{place}")
    raise OutputError(Path(out), f"{out}: " + said.format("overwrite=True"),
                      cli=(f"{option} {out}: " if option else f"{out}: ") + said.format("--overwrite"))


def _unfinished_sweep(directory: Path) -> str:
    """Why a sweep's directory is no run's results: finished (its table is points.csv) or
    not (its runs kept in parts/, and how to complete it)."""
    if (directory / "points.csv").is_file():
        return (f"{directory}: is a sweep's directory, not a run's results: its tables are points.csv and "
                "aggregate.csv (simdc report reads it)")
    kept = len(list((directory / "parts").glob("p*-r*.csv")))
    total = ""
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        described = json.loads((directory / "sweep.json").read_text())
        total = f" of {math.prod(len(v) for v in described['grid'].values()) * described['replications']}"
    return (f"{directory}: is an unfinished sweep ({kept}{total} runs kept in {directory / 'parts'}, no "
            "points.csv yet): run the same sweep into it again to complete it")


def check_output_file(out: str | Path, inputs: Sequence[str | Path] = (), overwrite: bool = False,
                      option: str = "--to", allow: tuple[str, ...] = ()) -> None:
    """Refuse to write the file ``out`` (given as ``option``) before anything is read or run.

    Raises
    ------
    OutputError
        ``out`` is one of ``inputs`` or of a results directory's own files (always: the
        input or the results would be lost; :func:`check_not_own`, but for the names in
        ``allow``), a directory, a device, FIFO or socket (always:
        :func:`check_replaceable`), or an existing file (unless ``overwrite``). The
        message names ``out`` (and the input).
    """
    out = Path(out)
    check_not_input(out, inputs, option)
    check_not_own(out, option, allow)
    if not os.path.lexists(out):
        return
    check_replaceable(out, option)
    if out.is_dir():
        raise OutputError(out, f"{out}: is a directory; choose a file name",
                          cli=f"{option} {out}: is a directory; choose a file name")
    if not overwrite:
        raise OutputError(out, f"{out}: already exists; choose another file or pass overwrite=True",
                          cli=f"{option} {out}: already exists; choose another file or pass --overwrite")


def check_replaceable(out: Path, option: str | None = "--out") -> None:
    """Refuse a file output ``out`` (given as ``option``; None: a place the user did not
    name, said as the path alone) that exists and is a device, a
    FIFO or a socket, with or without ``overwrite``: overwrite replaces a regular file
    only. Renaming a file over such a path removes it (as root, ``--to /dev/full`` made
    /dev/full a regular file; a FIFO another program reads from became one).

    Raises
    ------
    OutputError
        Naming ``out`` and what it is (:func:`simdc.errors.special_file`).
    """
    kind = special_file(out)
    if kind is not None:
        said = f"is {kind}, not a regular file, and only a regular file is replaced; choose a file name"
        raise OutputError(out, f"{out}: {said}", cli=None if option is None else f"{option} {out}: {said}")


def replace_file(written: Path, out: Path, option: str | None = "--out") -> None:
    """Rename the finished file ``written`` over ``out``: the one place a file output is put
    in place (a trace, a report, a sweep's tables), checked again just before
    (:func:`check_replaceable`): whatever appeared at ``out`` while it was written."""
    check_replaceable(out, option)
    os.replace(written, out)


def check_not_input(out: str | Path, inputs: Sequence[str | Path], option: str = "--out") -> None:
    """Refuse the output ``out`` (given as ``option``) when it is one of ``inputs``, with
    or without ``--overwrite``: the input would be lost.

    Raises
    ------
    OutputError
        Naming ``out`` and the input it is.
    """
    out = Path(out)
    for source in inputs:
        if _same_file(out, Path(source)):
            raise OutputError(out, f"{out}: is the input {source}; write to another place",
                              cli=f"{option} {out}: is the input {source}; write to another place")


def _same_file(a: Path, b: Path) -> bool:
    """``a`` and ``b`` are the same file (a hard link, a symlink, another spelling)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one does not exist (yet)
        return resolved(a) == resolved(b)


def parent_problem(parent: Path, err: OSError) -> str:
    """Why ``parent`` could not be made, naming the part of it that is a file, if one is."""
    for ancestor in [parent, *parent.parents]:
        if ancestor.exists() and not ancestor.is_dir():
            return f"cannot create its parent directory: {ancestor} is a file"
    return f"cannot create its parent directory: {describe_os_error(err)}"


def _output_error(out: Path, problem: str) -> OutputError:
    return OutputError(out, f"{out}: {problem}")


def describe_os_error(err: OSError) -> str:
    """``OSError`` in words, for an error line: "no space left on device"."""
    if err.errno is not None and err.errno > 0:  # pyarrow's errors carry it, under a longer text
        return os.strerror(err.errno).lower()
    text = err.strerror or str(err) or type(err).__name__  # e.g. socket.gaierror: negative errno
    return text[:1].lower() + text[1:]


def _place(partial: Path, out: Path, overwrite: bool) -> None:
    """Rename the finished ``partial`` to ``out``. Without ``overwrite`` the rename itself
    refuses a non-empty ``out`` (``rename(2)`` onto a non-empty directory fails), so a
    run that started after this one's check still cannot be replaced. An interrupt waits
    for the renames (:func:`interrupts_held`): never the old directory moved away and
    the new one not yet in its place."""
    try:
        with interrupts_held():
            if overwrite and out.is_dir() and any(out.iterdir()):
                old = _make_partial(out.parent, out.name, kind="old")
                os.rename(out, old / out.name)
                os.rename(partial, out)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(partial, out)
    except OSError as err:
        shutil.rmtree(partial, ignore_errors=True)
        if err.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            raise OutputError(out, f"{out}: was filled by something else while this run was simulating; "
                                   "nothing was written; choose another out",
                              cli=f"{out}: was filled by something else while this run was simulating; "
                                  "nothing was written; choose another --out") from None
        raise _output_error(out, f"the results could not be moved into place: {describe_os_error(err)}; "
                                 "nothing was written") from None


@contextlib.contextmanager
def files_placed(targets: Sequence[Path], removed: Sequence[Path] = (), option: str = "--to") -> Iterator[list[Path]]:
    """Write files beside their ``targets`` and put them all in place at the end, as
    :class:`Destination` does a directory: never a file cut short at a target, never one
    new file beside another's old one.

    Yields a temporary path for each target, in a hidden partial directory beside them
    (:func:`_make_partial`; a killed writer's is removed by the next writer into the same
    folder, :func:`remove_stale_partials`). When the block ends, each of ``removed`` that
    exists (an old output's file the new output has none of) is removed and the files
    are renamed to their targets, an interrupt (SIGINT, SIGTERM) waiting until all are
    (:func:`interrupts_held`). Leaving the block by an exception or an interrupt removes
    the partial directory and leaves the targets as they were. The targets and
    ``removed`` share one folder, which exists; the caller checked that they may be replaced.

    Raises
    ------
    OutputError
        No partial directory can be made in the folder, or a target (or one of
        ``removed``) became a device, FIFO or socket meanwhile (:func:`check_replaceable`,
        named as ``option``).
    OSError
        From the block's writing, or a rename that failed (nothing is placed then,
        unless a later rename of several failed).
    """
    parent = targets[0].parent
    remove_stale_partials(parent)
    tried: list[Path] = []
    try:
        partial = _make_partial(parent, targets[0].name, tried=tried)
        yield [partial / target.name for target in targets]
        _follow_umask(partial)
        with interrupts_held():
            for path in [*targets, *removed]:  # before any is moved: all placed or none
                check_replaceable(path, option)
            for old in removed:
                if os.path.lexists(old):
                    os.rename(old, partial / f"removed-{old.name}")  # gone with the partial directory
            for target in reversed(targets):  # the first, which names the rest, last
                replace_file(partial / target.name, target, option)
    finally:
        for path in tried:
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """SIGINT and SIGTERM held off for the block, and acted on as it ends: a few renames
    that must happen together are not split by Ctrl-C or a kill. Only the main thread
    runs Python's signal handlers; in another the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum in handlers:
        signal.signal(signum, lambda number, _frame: came.append(number))
    try:
        yield
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        for signum in came:
            signal.raise_signal(signum)


def _make_partial(parent: Path, name: str, kind: str = "partial", tried: list[Path] | None = None) -> Path:
    """A new hidden directory ``.NAME.KIND-PID@HOST-XXXXXXXX`` in ``parent``, made with the
    umask's permissions (``tempfile.mkdtemp`` would make it 0700). Each name is put in
    ``tried`` before it is made, so a caller interrupted meanwhile knows what to remove."""
    for _ in range(100):
        path = parent / f".{name}.{kind}-{os.getpid()}@{_HOST}-{secrets.token_hex(4)}"
        if tried is not None:
            tried.append(path)
        try:
            os.mkdir(path)
            return path
        except FileExistsError:  # not ours: never to be removed
            if tried is not None:
                tried.pop()
            continue
        except OSError as err:
            raise _output_error(parent / name, f"cannot write in {parent}: {describe_os_error(err)}") from None
    raise _output_error(parent / name, f"cannot make a temporary directory in {parent}")


_HOST = socket.gethostname().replace("/", "_") or "localhost"
_PARTIAL = re.compile(r"^\..+\.partial-(?P<pid>\d+)@(?P<host>[^/]+)-[0-9a-f]{8}$")


def remove_stale_partials(parent: Path) -> list[Path]:
    """Remove what runs that died left in ``parent``: their partial directories and lock
    files (a lock file names its holder, ``PID@HOST``). Only a dead process's of this
    host: those of live processes, and of other hosts, are left alone. Returns them."""
    removed = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _PARTIAL.match(entry.name)
        if (match and match["host"] == _HOST and entry.is_dir()
                and not _alive(int(match["pid"]), since=_changed_at(entry))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        elif entry.name.startswith(".") and entry.name.endswith(".lock") and DestinationLock.remove_if_stale(entry):
            removed.append(entry)
    return removed


def _alive(pid: int, since: float | None = None) -> bool:
    """Whether process ``pid`` of this host (that was alive at time ``since``, seconds
    since the epoch) still runs.

    ``kill(pid, 0)`` alone also succeeds for a *thread* numbered ``pid`` of any process,
    and for a new process given a dead one's number: on a busy machine the pid of a
    killed run is soon taken, and its leftovers were kept for good (newuser_report,
    item 7). Where ``/proc`` tells (Linux, proc(5)), a thread id is not a process, and a
    process started after ``since`` is not the one that was alive then.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        pass
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot_s = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                      if line.startswith("btime "))
    except (OSError, StopIteration, ValueError, IndexError):
        return True  # cannot tell: kept
    tgid = re.search(r"^Tgid:\s*(\d+)", status, re.MULTILINE)
    if tgid is not None and int(tgid[1]) != pid:
        return False  # a thread of another process, not a process
    try:  # field 22 of proc(5)'s stat: start time in clock ticks after boot, after "(comm)"
        started_s = boot_s + int(stat.rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
    except (IndexError, ValueError, OSError):
        return True
    # btime is whole seconds, so a process started up to a second before ``since`` may
    # read as later: 2 s of slack keeps the live maker's partial directory
    return since is None or started_s <= since + 2.0


def _changed_at(path: Path) -> float | None:
    """When ``path`` was last changed (its mtime, seconds since the epoch), None if gone."""
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def umask() -> int:
    """The process's umask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _follow_umask(directory: Path) -> None:
    """Give the files under ``directory`` the permissions the umask gives a new file (some
    writers, e.g. :func:`tempfile.NamedTemporaryFile`, make them 0600)."""
    mode = 0o666 & ~umask()
    for path in directory.rglob("*"):
        if path.is_file():
            os.chmod(path, mode)


class DestinationLock:
    """An exclusive, non-blocking ``flock`` on ``path``, for the run writing ``target``.

    The kernel releases it when the holder dies, so a killed run never blocks the next
    one. The file is removed on release; an acquirer checks that the file it locked is
    still the one at ``path`` (the usual guard against locking an unlinked file).
    """

    def __init__(self, path: Path, target: Path):
        self.path = path
        self.target = target
        self._fd: int | None = None

    def acquire(self) -> None:
        if fcntl is None:
            return
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as err:
                raise _output_error(self.target,
                                    f"cannot write in {self.path.parent}: {describe_os_error(err)}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise OutputError(self.target, f"{self.target}: another simdc run (pid {holder}) is writing it; "
                                               "wait for it or choose another out",
                                  cli=f"{self.target}: another simdc run (pid {holder}) is writing it; "
                                      "wait for it or choose another --out") from None
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}@{_HOST}".encode(), 0)
                self._fd = fd
                return
            os.close(fd)  # unlinked by its previous holder after we opened it: try again

    @staticmethod
    def remove_if_stale(path: Path) -> bool:
        """Remove the lock file ``path`` if a dead process of this host left it; say so."""
        try:
            holder = re.fullmatch(r"(\d+)@(.+)", path.read_text(errors="replace").strip())
        except OSError:
            return False
        if holder is None or holder[2] != _HOST or _alive(int(holder[1])) or fcntl is None:
            return False
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails if someone holds it after all
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                os.unlink(path)
                return True
        except OSError:
            pass
        finally:
            os.close(fd)
        return False

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.unlink(self.path)  # while still locked, so no one else locks this file
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None


def fresh_results_dir(base: str | Path, stem: str) -> Path:
    """A new, empty directory ``base/STEM-YYYYmmdd-HHMMSS`` (UTC), made here, with
    ``-2``, ``-3``, ... after it when that name is taken.

    Made, not only named: ``mkdir`` either creates the name or fails, so runs started in
    the same second (two ``simdc run`` at once) each get their own directory instead of
    both choosing one and the second being refused. A run that writes nothing should
    remove it again (:func:`fresh_results`).

    Raises
    ------
    OutputError
        ``base`` cannot be created or written in (a file in its path, read-only, full).
    """
    base = Path(base)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _output_error(base / f"{stem}-{stamp}", parent_problem(base, err)) from None
    for n in range(1, 10_000):
        candidate = base / (f"{stem}-{stamp}" if n == 1 else f"{stem}-{stamp}-{n}")
        try:
            os.mkdir(candidate)  # the umask's permissions, as Destination's directories
            return candidate
        except FileExistsError:
            continue
        except OSError as err:
            raise _output_error(candidate, f"cannot write in {base}: {describe_os_error(err)}") from None
    raise _output_error(base / f"{stem}-{stamp}", f"cannot find a free name in {base}")


@contextlib.contextmanager
def fresh_results(base: str | Path, stem: str, wanted: bool = True) -> Iterator[Path | None]:
    """A new directory from :func:`fresh_results_dir` for the block (None, and nothing
    made, unless ``wanted``), removed if the block fails and leaves it empty, and with it
    ``base`` and each folder above it that was made for it: an error or Ctrl-C leaves no
    empty results folder behind, not even ``results/`` the first time.

    Raises
    ------
    OutputError
        As :func:`fresh_results_dir`.
    """
    if not wanted:
        yield None
        return
    made = absent_folders(Path(base))
    directory = None
    try:
        directory = fresh_results_dir(base, stem)
        yield directory
    except BaseException:
        remove_empty_folders(([directory] if directory is not None else []) + made)
        raise


def absent_folders(path: Path) -> list[Path]:
    """``path`` and the folders above it that do not exist yet, innermost first: what a
    ``mkdir(parents=True)`` of it makes, for :func:`remove_empty_folders` to remove again
    when the command fails before writing into them."""
    return [folder for folder in (path, *path.parents) if not os.path.lexists(folder)]


def remove_empty_folders(folders: list[Path]) -> None:
    """Remove each of ``folders``, innermost first, that is empty; keep the others (and,
    being non-empty, those holding them): what another run wrote there meanwhile stays."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


def load_results(directory: str | Path) -> Results:
    """Reopen a results directory written by :meth:`Results.write`."""
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"load_results: expected the path of a results directory, got {type(directory).__name__}")
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"{directory}: no such results directory" if not directory.exists()
                         else f"{directory}: not a directory")
    missing = [name for name in FILES if not (directory / name).is_file()]
    if missing and directory_kind(directory) == "a sweep's directory":
        raise InputError(_unfinished_sweep(directory))
    if missing and directory_kind(directory) == "a plan's directory":
        raise InputError(f"{directory}: is a plan's directory, not a run's results: its tables are plan.csv and "
                         "evaluations.csv")
    if missing:
        raise InputError(f"{directory}: not a complete simdc results directory (missing {', '.join(missing)})")
    config = _read(directory / "config.toml", "TOML", lambda path: validate(
        tomllib.loads(path.read_text(encoding="utf-8-sig")), source=str(path), check_files=False))
    # Platform names are names, even when they look like numbers.
    return Results(
        config=config,
        summary=_read(directory / "summary.csv", "CSV", lambda path: pd.read_csv(path, dtype={"platform": str}),
                      needs=("platform",)),
        instances=_read(directory / "instances.parquet", "Parquet", read_instances, needs=("platform", "id")),
        timeseries=_read(directory / "timeseries.parquet", "Parquet", read_parquet,
                         needs=("platform", "t_s", "host")),
        hosts=_read(directory / "hosts.csv", "CSV", lambda path: pd.read_csv(
            path, dtype={"platform": str, "group": str, "cell": str}, keep_default_na=False),
            needs=("platform", "host")),
        workload=_read(directory / "workload.parquet", "Parquet", read_parquet),
        manifest=_read(directory / "manifest.json", "JSON", lambda path: _json_object(path.read_text())),
        **{name: _read(directory / f"{name}.csv", "CSV", lambda path: pd.read_csv(path, dtype={"platform": str}),
                       needs=("platform", "service"))
           for name in ("services", "releases") if (directory / f"{name}.csv").is_file()},
        **({"cells": _read(directory / "cells.csv", "CSV", lambda path: pd.read_csv(
            path, dtype={"platform": str, "cell": str}, keep_default_na=False), needs=("cell", "platform"))}
           if (directory / "cells.csv").is_file() else {}),
    )


def _read(path: Path, kind: str, read, needs: tuple[str, ...] = ()):
    """``read(path)``, or one line naming the file when it is damaged: a results
    directory cut short, edited by hand or half-copied is input like any other."""
    try:
        value = read(path)
    except SimdcError as err:  # the config: each problem already names the file
        said = "; ".join(problem.removeprefix(f"{path}: ") for problem in err.problems)
        raise InputError(f"{path}: not the config simdc wrote ({clip(said, 160)}): the results directory is "
                         f"damaged; run the simulation again") from None
    except Exception as err:  # noqa: BLE001 - pandas, pyarrow, json and tomllib each raise their own
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(f"{path}: cannot be read as {kind} ({clip(detail, 120)}): the results directory is "
                         f"damaged; run the simulation again") from None
    missing = [name for name in needs if name not in value.columns]
    if missing:
        raise InputError(f"{path}: not a simdc results table (no column {', '.join(missing)}): the results "
                         f"directory is damaged; run the simulation again")
    return value


def _json_object(text: str) -> dict:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value
