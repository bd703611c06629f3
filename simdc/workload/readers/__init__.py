"""Trace readers: public datacenter traces into simdc's workload tables.

One module per format, each converting units once, at the edge, and documenting every
conversion and assumption in its docstring:

==============  =====================================================================
format          reader
==============  =====================================================================
``azure``       :mod:`.azure`: Azure Public Dataset V1/V2 ``vmtable``, ``vm_cpu_readings``
``google``      :mod:`.google`: Google cluster-data 2011 ``task_events``, ``task_usage``
``google2019``  :mod:`.google2019`: ClusterData2019 ``instance_events`` (with joined ``instance_usage``)
                or per-instance exports, with cells
``alibaba2017`` :mod:`.alibaba`: ``batch_task``, ``server_event``
``alibaba2018`` :mod:`.alibaba`: ``container_meta``, ``container_usage``, ``batch_task``, ``machine_meta``
``bitbrains``   :mod:`.bitbrains`: GWA-T-12, one CSV per VM
``opendc``      :mod:`.opendc`: OpenDC ``tasks.parquet`` + ``fragments.parquet`` (v2–v5)
``cloudsimpy``  :mod:`.cloudsimpy`: CloudSimPy's ``jobs.csv`` (tasks of Alibaba V2017 jobs)
``simdc``       simdc's own CSV/Parquet (:mod:`simdc.workload.own`) and usage table
==============  =====================================================================

``format = "auto"`` recognises each file's table from its values (see
:func:`.common.identify`) and says what it chose in the notes.
"""

from __future__ import annotations

import lzma
import os
import zlib
from collections import Counter
from pathlib import Path
from typing import Sequence

import pandas as pd

from simdc.errors import InputError, OutputError
from simdc.model.workload import TRACE_FORMATS
from simdc.workload.readers import alibaba, azure, bitbrains, cloudsimpy, google, google2019, opendc
from simdc.workload.readers.common import (STARTED, WINDOW, BadRows, ReaderOptions, Selection, TraceData, TraceFile,
                                           compression, find_damaged, head_lines, identify, list_files, run_spans,
                                           select)

FORMATS = TRACE_FORMATS  # what workload.format accepts
# What each format's cpu_cores and memory_gib are: the size a VM was given ("vm"), or what
# an application asked for ("need"), which a VM platform fits into a size catalogue
# (VmPlatform.sizing). Azure's vmtable, Bitbrains and OpenDC's VM traces record VMs' sizes;
# Google tasks and Alibaba containers and batch tasks record requests; simdc's own format
# holds needs unless the config says otherwise (workload.sizes = "vm").
SIZES = {"azure": "vm", "bitbrains": "vm", "opendc": "vm",
         "google": "need", "google2019": "need", "alibaba2017": "need", "alibaba2018": "need", "simdc": "need",
         "cloudsimpy": "need"}
TABLES = azure.TABLES + google.TABLES + alibaba.TABLES + bitbrains.TABLES + cloudsimpy.TABLES
USAGE_SUFFIX = ".usage"  # out.parquet's usage table is out.usage.parquet
PANDAS_SUFFIXES = {"gzip": ".gz", "bz2": ".bz2", "xz": ".xz"}  # what pandas.read_csv decompresses by name

__all__ = ["FORMATS", "ReaderOptions", "Selection", "TraceData", "detect", "read_files", "read_trace", "write_trace"]


def detect(paths: Sequence[str | Path], format: str = "auto") -> tuple[str, dict[str, list[TraceFile]]]:
    """The format of the files under ``paths`` and its files by table.

    Raises
    ------
    InputError
        A file no format reads, files of several formats, or (with a ``format`` given)
        a file that is a table of another format.
    """
    if format not in FORMATS:
        raise InputError(f"format: unknown format {format!r}; choose one of: {', '.join(FORMATS)}")
    files = list_files(paths)
    want = None if format in ("auto", "simdc", "opendc") else format
    found = [_identify(path, want) for path in files]
    formats = Counter(tf.format for tf in found)
    if format == "auto":
        if len(formats) > 1:
            kinds = "; ".join(f"{tf.path.name}: {tf.kind.replace(':', ' ')}" for tf in found)
            raise InputError(f"the files are of several formats ({kinds}); give one format's files, "
                             f"or the format (workload.format or --format)")
        format = found[0].format
    else:
        for tf in found:
            if tf.format != format:
                raise InputError(f"{tf.path}: looks like {tf.format} {tf.name}, not one of the {format} tables "
                                 f"(format = {format!r})")
    tables: dict[str, list[TraceFile]] = {}
    for tf in found:
        tables.setdefault(tf.name, []).append(tf)
    return format, tables


def read_files(paths: Sequence[str | Path], format: str = "auto") -> tuple[str, list[Path]]:
    """The format of the files under ``paths`` and the files its reader reads (tables it
    does not need left out), without reading more than each file's head (:func:`detect`):
    for :func:`simdc.budget.reading_bytes`."""
    chosen, tables = detect([Path(p) for p in paths], format)
    return chosen, [tf.path for files in tables.values() for tf in files if _role(tf) != "ignored"]


def _identify(path: Path, want: str | None) -> TraceFile:
    """:func:`.common.identify`, after the Google 2019 tables (CSV named by its header)."""
    if want in (None, google2019.FORMAT) and not path.name.lower().endswith(".parquet"):
        try:
            lines = head_lines(path, lines=1)
        except InputError:
            lines = []  # identify() says what is wrong with the file
        found = google2019.identify(path, lines[0]) if lines else None
        if found is not None:
            return found
        if want == google2019.FORMAT:
            identify(path, TABLES, None)  # a file of another format, or not data, says so
            raise InputError(f"{path}: not a google2019 table: expected a CSV header naming time, type, "
                             "collection_id, instance_index and resource_request.cpus/.memory (instance_events), "
                             "or time, collection_id, instance_index, cpus, ram (a per-instance export)")
    return identify(path, TABLES, want)


def read_trace(paths: Sequence[str | Path] | str | Path, format: str = "auto", options: ReaderOptions | None = None,
               selection: Selection | None = None, keep_started: bool = False) -> TraceData:
    """Read a trace into simdc's tables.

    Parameters
    ----------
    paths
        Files or folders (searched recursively); plain or gzipped CSV, Parquet.
    format
        One of :data:`FORMATS`; ``"auto"`` recognises it from the files.
    options
        Unit assumptions and ``on_bad_rows`` (:class:`ReaderOptions`).
    selection
        The part of the trace to keep (:class:`Selection`): time window, sample, limit.
    keep_started
        Keep the column ``started_s`` where a reader gives an instance's start apart from
        its submit (Google's SCHEDULE; :func:`~simdc.workload.readers.common.run_spans`):
        for ``trace convert``, so that a window of the converted file is judged as one of
        the trace's own files, and ``trace inspect``. A replay drops it: each platform
        starts an instance when it can.

    Raises
    ------
    InputError
        One line per problem, naming the file and line.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    options = options or ReaderOptions()
    selection = selection or Selection()
    chosen, tables = detect(paths, format)
    bad = BadRows(options.on_bad_rows)
    try:
        data = _read(chosen, tables, options, bad, selection, paths)
    except (EOFError, zlib.error, lzma.LZMAError) as err:  # a compressed file read outside common.read_blocks
        raise find_damaged([tf.path for files in tables.values() for tf in files], err) from None
    data.source = ", ".join(str(p) for p in paths)
    data.format = chosen
    data.skipped = bad.skipped
    if len(data.instances) == 0 and data.selected and selection.time_window_s is not None:
        raise _empty_window(data, selection, None)  # the reader applied the window: its data's span is not known here
    if len(data.instances) == 0:  # every row skipped or not an instance: nothing to replay, and it would not say why
        why = "; ".join(f"{reason}: {n:,}" for reason, n in {**data.skipped, **data.dropped}.items())
        raise InputError(f"{data.source}: no instances in the trace" + (f" ({why})" if why else ""))
    read = ", ".join(_files(len(files), name) for name, files in tables.items() if _role(files[0]) != "ignored")
    notes = [f"format {chosen}" + (" (detected)" if format == "auto" else "")
             + f": read {read}: {len(data.instances):,} instances"]
    ignored = [_files(len(files), name) for name, files in tables.items() if _role(files[0]) == "ignored"]
    if ignored:
        notes.append(f"not needed, left out: {', '.join(ignored)}")
    data.notes = notes + data.notes + bad.notes
    if not data.selected:
        span, before = _span(data.instances), len(data.instances)
        data = select(data, selection)
        if len(data.instances) == 0 and selection.time_window_s is not None:
            raise _empty_window(data, selection, span)
        if len(data.instances) == 0:  # the sample drew none: an empty run would report zeros
            raise InputError(f"workload.sample (--sample) {selection.sample:g}: kept no instance of the "
                             f"{before:,} in {data.source}; raise it ({1 / before:.2g} keeps one of them on average)")
    if STARTED in data.instances and not keep_started:  # a replay starts each instance when a platform does
        data.instances = data.instances.drop(columns=STARTED)
    return data


def _span(instances: pd.DataFrame) -> tuple[float, float]:
    """The data's time range, s: the first submit to the last end."""
    return float(instances["submit_s"].min()), float(run_spans(instances).end.max())


def _empty_window(data: TraceData, selection: Selection, span: tuple[float, float] | None) -> InputError:
    """A time window no instance is submitted or running in: an empty run would report zeros."""
    start, stop = (float(v) for v in selection.time_window_s)
    where = f"; the data spans [{span[0]:,.0f}, {span[1]:,.0f}] s" if span is not None else ""
    return InputError(f"workload.time_window_s (--time-window-s) [{start:g}, {stop:g}) s: no instance of "
                      f"{data.source} is submitted or running in it{where}")


def _read(chosen: str, tables: dict[str, list[TraceFile]], options: ReaderOptions, bad: BadRows,
          selection: Selection, paths: list[Path]) -> TraceData:
    if chosen == "simdc":
        return _read_simdc(tables, options, bad)
    if chosen == "azure":
        return azure.read(tables, options, bad, selection)
    if chosen == "google":
        return google.read(tables, options, bad)
    if chosen == google2019.FORMAT:
        return google2019.read(tables, options, bad)
    if chosen == "alibaba2017":
        return alibaba.read_2017(tables, options, bad, selection)
    if chosen == "alibaba2018":
        return alibaba.read_2018(tables, options, bad, selection)
    if chosen == "bitbrains":
        return bitbrains.read(tables, options, bad, paths)
    if chosen == "cloudsimpy":
        return cloudsimpy.read(tables, options, bad, selection)
    return opendc.read(tables, options, bad)


def _files(n: int, table: str) -> str:
    return f"{n} {table} file" + ("s" if n != 1 else "")


def _role(tf: TraceFile) -> str:
    if tf.format == google2019.FORMAT:
        return google2019.ROLES[tf.name]
    return tf.table.role if tf.table is not None else ("usage" if tf.name == "usage" else "instances")


def _read_simdc(tables: dict[str, list[TraceFile]], options: ReaderOptions, bad: BadRows) -> TraceData:
    """simdc's own format: one workload file (:mod:`simdc.workload.own`, streamed and
    checked row by row, bad rows to ``bad``) and any usage tables."""
    from simdc.workload import own, usage as usage_module

    for tf in [tf for files in tables.values() for tf in files]:
        codec = compression(tf.path)
        if codec is not None and not tf.path.name.lower().endswith(PANDAS_SUFFIXES.get(codec, "/")):
            # own and usage read with pandas, which tells compression by the file name and has no zstd of its own
            raise InputError(f"{tf.path}: {codec}-compressed; simdc's own format reads compressed files named "
                             f"{', '.join(PANDAS_SUFFIXES.values())} (gzip, bzip2, xz): rename or decompress it")
    instances = tables.get("instances", [])
    if len(instances) != 1:
        names = ", ".join(str(tf.path) for tf in instances) or "none"
        raise InputError(f"simdc format: expected one workload file (id, submit_s, duration_s, ...), got {names}")
    table = own.read_instances(instances[0].path, bad, options.block_bytes)
    usage = None
    parts = [usage_module.read_table(tf.path) for tf in tables.get("usage", [])]
    if parts:
        usage = pd.concat(parts, ignore_index=True)
        if table["id"].dtype.kind == "i":
            numeric = pd.to_numeric(usage["id"], errors="coerce")
            if numeric.notna().all() and (numeric % 1 == 0).all():
                usage["id"] = numeric.astype("int64")
        else:
            usage["id"] = usage["id"].astype(str).str.strip()
    notes = [] if usage is None else _usage_matches(table, usage, instances[0].path, tables["usage"])
    if usage is not None and not usage["id"].isin(table["id"]).any():
        usage = None
    if "parents" in table:
        waiting = int((table["parents"] != "").sum())
        notes.append(f"{waiting:,} instances wait for their parents (the parents column): each is submitted when "
                     "its parents have completed, at its submit_s at the earliest")
    return TraceData(table, usage, "simdc", str(instances[0].path), notes=notes)


def _usage_matches(table: pd.DataFrame, usage: pd.DataFrame, path: Path, files: list[TraceFile]) -> list[str]:
    """What the usage tables' ids say of the workload's, as the Azure reader says it: readings
    for ids not in the workload are ignored; none matching leaves every instance its mean."""
    names = ", ".join(str(tf.path) for tf in files)
    known = usage["id"].isin(table["id"])
    if not known.any():
        return [f"no usage readings in {names} match the instances of {path} (0 of {usage['id'].nunique():,} ids): "
                "each instance uses its mean (cpu_used, memory_used_gib)"]
    notes = []
    unknown = int(usage.loc[~known, "id"].nunique())
    if unknown:
        notes.append(f"usage readings for {unknown:,} ids not in {path} were ignored ({names})")
    without = int((~table["id"].isin(usage["id"])).sum())
    if without:
        notes.append(f"{without:,} of {len(table):,} instances have no usage readings in {names}: "
                     "each of them uses its mean (cpu_used, memory_used_gib)")
    return notes


def usage_path(path: str | Path) -> Path:
    """Where the usage table of the workload file ``path`` goes: ``out.parquet`` → ``out.usage.parquet``."""
    path = Path(path)
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".csv.gz") else path.suffix
    return path.with_name(path.name[: len(path.name) - len(suffix)] + USAGE_SUFFIX + suffix)


def write_trace(data: TraceData, path: str | Path) -> tuple[Path, Path | None]:
    """Write ``data`` in simdc's format: the instances to ``path`` (``.csv`` or
    ``.parquet``) and, when there are usage series, the usage table beside it
    (:func:`usage_path`). Returns both paths (the second None without usage).

    Both are written under temporary names beside them and renamed into place together
    (:func:`simdc.results.files_placed`), so an error, a full disk or an interrupt
    leaves no file cut short and any old files as they were. Without usage series, a
    usage file an earlier output left at :func:`usage_path` goes when the new file is
    placed (a replay would read it with the new one), said in ``data.notes``. The caller
    checked that ``path`` (and its usage file) may be replaced.

    Raises
    ------
    InputError
        ``path`` is not a ``.csv`` or ``.parquet`` file.
    OutputError
        The files could not be written (no space, no permission): nothing was written.
    """
    from simdc.results import describe_os_error, files_placed, write_parquet
    from simdc.workload import own

    path = Path(path)
    if path.suffix not in (".csv", ".parquet"):
        raise InputError(f"{path}: write to a .csv or .parquet file")
    usage = usage_path(path) if data.usage is not None and len(data.usage) else None
    stale = usage_path(path) if usage is None and os.path.lexists(usage_path(path)) else None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with files_placed([path] if usage is None else [path, usage], removed=[stale] if stale else []) as files:
            own.write(data.instances, files[0])
            if usage is not None:
                table = data.usage[[c for c in ("id", "t_s", "cpu_cores", "memory_gib", WINDOW) if c in data.usage]]
                if usage.suffix == ".parquet":
                    write_parquet(table, files[1])
                else:
                    table.to_csv(files[1], index=False)
    except OSError as err:
        raise OutputError(path, f"{path}: cannot write: {describe_os_error(err)}; nothing was written") from None
    if stale is not None:
        data.notes = list(data.notes) + [f"removed {stale}: the usage of the file replaced (the new one has none)"]
    return path, usage
