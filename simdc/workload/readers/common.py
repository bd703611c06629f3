"""What every trace reader shares: finding the files, telling their tables apart,
reading CSV in chunks, accounting for bad rows, and the canonical instance table.

Files
-----
A trace is given as files or folders (searched recursively, parts in natural order:
``part-2`` before ``part-10``). Compressed files (gzip, bzip2, xz, zstd: recognised by
their first bytes, not their name) are decompressed while they are read; one that ends
early (an interrupted download) is an error naming it, never a shorter trace. Files
other than ``.csv``, ``.gz``, ``.bz2``, ``.xz``, ``.zst`` and ``.parquet`` (a
``SOURCE.txt``, a ``README.md``) are not data and are passed over.

Real files as people have them: a leading UTF-8 byte-order mark (a spreadsheet's "CSV
UTF-8") and CRLF line ends are read as if absent. A Git LFS pointer left by a clone
without git-lfs, a saved HTML page, UTF-16 text, an empty file and a table with a
header row but no data are each one error naming the file (:func:`identify`).

A CSV whose last line has no line end may have been cut short, and its last row cut
inside a value ("1234" read as "12"), which no check of the value can tell. So that
last row is a bad row: an error under ``on_bad_rows = "strict"`` (saying to end the file
with a newline if it is complete), dropped and counted under ``"skip"``. The same holds
for a compressed file, judged by its decompressed text: a whole stream says nothing of
whether the text was whole when it was compressed (a cut file gzipped afterwards).

Tables
------
Most public traces are headerless CSV whose meaning is given by column order only, so
each reader declares its tables (:class:`Table`: fields in the published order, types,
valid ranges, a pattern per field and the names the trace's documentation and its
redistributions give each column). :func:`identify` recognises a file by its field
count and by how the values of its first rows match those patterns;
``format = "auto"`` picks the format whose tables the files are.

A header row, when a file has one, says which column is which: a file whose header
names the table's columns (:func:`header_columns`: its fields' names or aliases, in any
order) is read by those names, never by position; a header naming other columns is
refused, naming the file, the names expected and the names found, since reading it by
position would put values under the wrong columns silently. A file without a header is
read by position, where its format has none as published; a table whose format has a
header (``header_required``: Bitbrains, CloudSimPy) is refused at line 1 without it, so
that its first row of data is never skipped as a header (:func:`refuse_header` does the
same for the small series files).

Chunks
------
CSV is read with ``pyarrow.csv`` in blocks of :data:`BLOCK_BYTES` of text, every value
as text first and converted column by column, so a value that is not a number is
found and named, never guessed. Readers keep only the compact numeric columns they
need from each block; the raw text of a multi-GB trace is never held at once.

Bad rows
--------
:class:`BadRows` applies ``on_bad_rows``: ``"strict"`` (the default) stops after the
block in which the first problems were found and reports them, one line each, naming
the file, the line and the reason; ``"skip"`` drops the rows and counts them by
reason. A row with the wrong number of fields is a bad row like any other. Known
quirks of a trace are not bad rows: each reader handles and documents its own.
"""

from __future__ import annotations

import contextlib
import gzip
import lzma
import re
import sys
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Collection, Iterator, NamedTuple, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from simdc.errors import SKIP_HINT, InputError, clip, resolved, special_file
from simdc.workload import COLUMNS, KINDS
from simdc.workload.usage import WINDOW  # a usage sample's window length, seconds (Google, OpenDC)

BLOCK_BYTES = 16 << 20  # text per block: bounds memory, large enough to amortise per-block work
MAX_PROBLEMS = 10  # problems listed before "... and N more"
DATA_SUFFIXES = (".csv", ".gz", ".bz2", ".xz", ".zst", ".parquet")
# Compression by the file's first bytes (RFC 1952 gzip; bzip2 "BZh"; xz format spec 2.1.1.1; RFC 8878 zstd).
MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"))
TRUNCATED = "compressed data ends early: truncated or still downloading"
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"  # git-lfs docs/spec.md: a pointer's first line
HTML_START = ("<!doctype html", "<html", "<?xml", "<head", "<body")
NO_LINE_END = "the last line has no line end, so the file may be cut short"
INT = r"[-+]?\d+"
NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
NUMBER_TEXT = rf"^(?:{NUM}|[-+]?(?:inf|infinity|nan))$"
# An integer column (an id, a time) written with an exponent, "2.60385E+11": a spreadsheet's
# save keeps 6 significant digits of a 12-digit number, so the value is no longer the one
# recorded; refused rather than read as 260385000000.
EXPONENT_TEXT = r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+\s*$"
_EXPONENT = re.compile(EXPONENT_TEXT)
# The same in a text id column, where "12e4" may be an id (hex): only a spreadsheet's and
# pandas' forms, with a signed exponent (2.60385E+11, 1E+11, 2.6e+11), which no hex id has.
EXPONENT_ID_TEXT = r"^\s*[-+]?\d+(?:\.\d*)?[eE][-+]\d+\s*$"
EXPONENT_REASON = "is in float notation, expected an integer as the trace records it (a spreadsheet's save?)"
# An integer written as a decimal, "123.0": a float column's save (pandas writes an integer
# column with a gap in it as floats). Unlike the exponent form it keeps every digit: it is
# the integer it shows, the same id as "123", read exactly from its text at any size (not
# through a float), and said in the notes (BadRows.decimal). Every reader's integer
# columns and simdc's own ids go through decimal_integers.
DECIMAL_INTEGER_TEXT = r"^\s*[-+]?\d+\.0*\s*$"
LARGEST_INT = 2.0**63  # integer fields beyond int64 are not ids or times: out of range
HEADER_FIELD = re.compile(r"\s*[A-Za-z_][^,;]*")
# A reader's column beside the canonical ones: when the trace saw an instance start running
# (trace seconds), where its duration_s counts from then and not from submit_s (run_spans).
STARTED = "started_s"


# --- reader options, selection, results ------------------------------------------------


@dataclass(frozen=True)
class ReaderOptions:
    """How a trace is turned into instances (see each reader's docstring for its defaults).

    Attributes
    ----------
    on_bad_rows
        ``"strict"``: the first bad rows are errors. ``"skip"``: they are dropped and
        counted by reason.
    azure_memory_used_fraction
        Azure has no memory usage: each VM is assumed to use this fraction of its size.
    azure_bucket_sizing
        Azure V2 size buckets: ``"v1_mix"`` (an exact size from the V1 mix in the
        bucket, the default) or ``"upper"`` (the bucket's upper bound).
    reference_cpu_cores, reference_memory_gib
        The trace's largest machine, for traces whose requests are normalised to it.
    opendc_memory_unit
        Unit of OpenDC's ``mem_capacity``: ``"MB"`` (OpenDC's documentation) or ``"KB"``.
    usage_step_s
        The replay's usage step, seconds: readers keep the samples as read (the replay puts
        them onto the step, :func:`simdc.workload.usage.on_steps`); a report of the series
        as played (``trace inspect``'s peaks, Google 2019's thin-series note) uses it.
    block_bytes
        Text read per block, bytes.
    """

    on_bad_rows: str = "strict"
    azure_memory_used_fraction: float | None = None
    azure_bucket_sizing: str | None = None
    reference_cpu_cores: float | None = None
    reference_memory_gib: float | None = None
    opendc_memory_unit: str | None = None
    usage_step_s: float = 300.0
    block_bytes: int = BLOCK_BYTES


@dataclass(frozen=True)
class Selection:
    """Which part of a trace to replay: applied in this order.

    Attributes
    ----------
    time_window_s
        ``(start, end)`` in trace seconds: instances submitted in ``[start, end)`` and
        those submitted before it still running, or still waiting to start, at
        ``start``; a task with parents judged by when they let it run, its earliest
        start (:func:`run_spans`, :func:`select`); times then count from ``start``.
    sample
        Keep each instance with this probability, in (0, 1].
    limit
        Keep the first this many instances by submit time.
    seed
        Seeds the ``sample`` stream.
    """

    time_window_s: tuple[float, float] | None = None
    sample: float | None = None
    limit: int | None = None
    seed: int = 0

    @property
    def empty(self) -> bool:
        return self.time_window_s is None and self.sample is None and self.limit is None


@dataclass
class TraceData:
    """What a reader produced.

    Attributes
    ----------
    instances
        The canonical instance table (:data:`simdc.workload.COLUMNS`), sorted by ``submit_s``.
    usage
        The samples as read (:func:`usage_samples`): ``id, t_s, cpu_cores, memory_gib``
        (``t_s`` from the instance's start, seconds) and, where the trace gives each
        sample's window, ``window_s``; not on a step (the replay puts them onto
        ``usage_step_s`` once, :func:`simdc.workload.usage.on_steps`). None when the
        trace has no series.
    format
        The format read (``"azure"``, ``"google"``, ...).
    source
        The paths read, for messages and the results' manifest.
    skipped
        Bad rows skipped (``on_bad_rows = "skip"``), by reason.
    dropped
        Records that are not instances, by documented reason (a task that never ran).
    notes
        What a planner should know about this conversion: the format chosen, the
        assumptions applied, rows of other tables that were ignored.
    selected
        True when the reader applied the :class:`Selection` itself.
    """

    instances: pd.DataFrame
    usage: pd.DataFrame | None
    format: str
    source: str
    skipped: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    selected: bool = False


# --- tables and fields -----------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One column of a trace table.

    ``kind`` is ``"int"``, ``"float"`` or ``"str"``; an empty ``required`` value is a
    bad row; ``low``/``high`` bound valid values (inclusive); ``choices`` lists valid
    strings; ``pattern`` is the regular expression a value matches when a file is
    identified (default: by kind); ``aliases`` are other names a header may give the
    column (the trace's documentation, a redistribution's header), compared as
    :func:`name_key` compares them.
    """

    name: str
    kind: str = "float"
    required: bool = True
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    pattern: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def regex(self) -> re.Pattern:
        if self.pattern is not None:
            text = self.pattern
        elif self.choices is not None:
            text = "|".join(re.escape(c) for c in self.choices)
        else:
            text = {"int": INT, "float": NUM}.get(self.kind, r".+")
        return re.compile(f"(?:{text})" if self.required else f"(?:{text})?")


@dataclass(frozen=True)
class Table:
    """A table of a trace format: its fields in column order, and how to recognise it.

    ``optional_tail`` trailing fields may be missing from a file (a later version
    added them); ``extra_tail`` more fields may follow and are ignored (a column a
    redistribution added). ``role`` says what the reader does with it: ``instances``,
    ``usage``, ``machines`` or ``ignored`` (recognised, noted, not used). ``quote_char``:
    ``False`` for the public traces (a quote is part of the value), ``'"'`` for CSV that
    quotes values holding a comma (simdc's own format, as pandas writes it). ``header``:
    the exact names of a format's header row, when it has one that tells it apart.
    """

    format: str
    name: str
    fields: tuple[Field, ...]
    role: str = "instances"
    optional_tail: int = 0
    extra_tail: int = 0
    delimiter: str = ","
    hints: tuple[str, ...] = ()
    header_required: bool = False
    header_prefix: str | None = None
    header: tuple[str, ...] | None = None
    quote_char: str | bool = False

    @property
    def field_counts(self) -> range:
        return range(len(self.fields) - self.optional_tail, len(self.fields) + self.extra_tail + 1)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


@dataclass(frozen=True)
class TraceFile:
    """A data file and what it was recognised as."""

    path: Path
    table: Table | None  # None for Parquet and simdc files, which name their columns
    kind: str  # "<format>:<table>"
    header_lines: int = 0
    fields: int = 0  # fields per row in this file
    # Parquet and simdc's CSV: the file's columns; a trace table's CSV with a header: the field
    # each column holds, in the file's order (header_columns); empty: the fields by position
    columns: tuple[str, ...] = ()

    @property
    def format(self) -> str:
        return self.kind.split(":")[0]

    @property
    def name(self) -> str:
        return self.kind.split(":")[1]


# --- opening files ------------------------------------------------------------------------


def compression(path: Path, where: object = None) -> str | None:
    """The compression of ``path`` by its first bytes: ``"gzip"``, ``"bz2"``, ``"xz"``,
    ``"zstd"``, or None for a plain file. ``where``: how an error names the file (default
    its path; a series names its config key too)."""
    try:
        with open(path, "rb") as raw:
            magic = raw.read(6)
    except OSError as err:
        raise InputError(f"{where or path}: cannot read: {err.strerror or err}") from None
    return next((name for start, name in MAGIC if magic.startswith(start)), None)


def open_data(path: Path, where: object = None):
    """``path`` as a binary stream, decompressed (see :func:`compression`).

    A ``pyarrow`` input stream (gzip, bzip2, zstd and plain files: native code), or
    Python's ``lzma`` file for xz, which Arrow does not decode. Read errors of either
    become one line with :func:`read_failure` (naming ``where``, default the path).
    """
    codec = compression(path, where)
    try:
        if codec == "xz":
            return lzma.open(path, "rb")
        # opened by Python: pyarrow takes no name that is not UTF-8 (simdc.results.write_parquet)
        return pa.input_stream(open(path, "rb"), compression=codec)
    except (OSError, pa.ArrowException) as err:
        raise read_failure(path, err, where) from None


def read_failure(path: Path, err: BaseException, where: object = None) -> InputError:
    """The one-line error for ``err`` raised while reading ``path``: a compressed stream
    that ends early or is damaged, text that is not UTF-8, or the OS's reason; named by
    ``where`` (default the path)."""
    failure = _data_failure(where or path, err)
    if failure is not None:
        return failure
    reason = err.strerror if isinstance(err, OSError) and err.strerror else _arrow_message(err)
    return InputError(f"{where or path}: cannot read: {reason}")


def _data_failure(path: object, err: BaseException) -> InputError | None:
    """The error for a compressed stream that ends early or is damaged, or for text
    that is not UTF-8; None for other failures. ``path``: how the error names the file."""
    text = str(err)
    if isinstance(err, EOFError) or "truncated compressed stream" in text.lower() \
            or "end-of-stream marker" in text:
        return InputError(f"{path}: {TRUNCATED}")
    if isinstance(err, (zlib.error, lzma.LZMAError, gzip.BadGzipFile)) or "inflate" in text \
            or "decompress" in text.lower() or "Invalid data stream" in text:
        return InputError(f"{path}: compressed data is damaged ({_arrow_message(err)}): download the file again")
    if isinstance(err, UnicodeDecodeError):
        return InputError(f"{path}: not UTF-8 text (byte 0x{err.object[err.start]:02x}): save the file as UTF-8")
    if "invalid utf8" in text.lower():
        return InputError(f"{path}: not UTF-8 text ({_arrow_message(err)}): save the file as UTF-8")
    return None


READ_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError, UnicodeDecodeError, pa.ArrowException)


def find_damaged(paths: Sequence[Path], err: BaseException) -> InputError:
    """The error for a decompression failure ``err`` met while reading ``paths``:
    names the first compressed file that does not decompress to its end (each is read
    through once; called only after a failure)."""
    for path in paths:
        if compression(path) is None:
            continue
        try:
            with open_data(path) as stream:
                while stream.read(BLOCK_BYTES):
                    pass
        except READ_ERRORS as found:
            return read_failure(path, found)
    names = ", ".join(str(p) for p in paths)
    return InputError(f"{names}: {TRUNCATED if isinstance(err, EOFError) else _arrow_message(err)}")


def missing_line_end(path: Path, where: object = None) -> bool:
    """True when the text of ``path`` (decompressed) ends in a last line with no line
    end (trailing spaces and tabs aside): it may have been cut short. False for an empty
    file. A compressed file is read through to its end to tell (a reader that reads it
    anyway keeps its tail instead: :class:`TailKept`). ``where``: how an error names the
    file (default its path)."""
    if compression(path, where) is not None:
        try:
            with open_data(path, where) as stream:
                kept = TailKept(stream)
                while kept.read(1 << 20):
                    pass
        except READ_ERRORS as err:
            raise read_failure(path, err, where) from None
        return kept.cut
    try:
        with open(path, "rb") as raw:
            size = raw.seek(0, 2)
            raw.seek(max(0, size - TAIL_BYTES))
            tail = raw.read()
    except OSError as err:
        raise read_failure(path, err, where) from None
    return _cut(tail)


def refuse_cut(path: Path, where: str | None = None) -> None:
    """Raise the one-line error for a file read whole (not through :func:`read_blocks`,
    which counts the row as a bad row) whose last line has no line end
    (:func:`missing_line_end`): it may have been cut inside a value, which no check of
    the value can tell. ``where``: how the message names the file (default its path)."""
    if missing_line_end(path, where):
        raise InputError(f"{where or path}: line {count_lines(path)}: {NO_LINE_END}; if the file is complete, "
                         "end it with a newline")


def refuse_header(where: object, cells: Sequence[str] | None, expected: Sequence[str], any_names: bool = False) -> None:
    """Refuse a small CSV (a demand, price or carbon series) whose line 1 is not its
    header: one line naming ``where`` (the file), line 1, the header ``expected`` and the
    line got. A file without a header would otherwise lose its first row of data to it.

    ``cells``: line 1 split (None: an empty file). With ``any_names``, any names fit (the
    published series name their columns as they like: ``time,DAM_price``), as long as
    there are ``len(expected)`` of them and none looks like data (a number, or a date
    and time: it begins with a digit); else they must be ``expected`` exactly.

    Raises
    ------
    InputError
        ``{where}: line 1: expected the header t_s,value (got 0,1: a row of data; the file
        has no header line)``.
    """
    got = [str(cell).strip().lstrip("\ufeff") for cell in cells or []]
    data = any(cell[:1].isdigit() or is_number(cell) for cell in got)
    fits = len(got) == len(expected) and not data if any_names else got == list(expected)
    if not fits:
        shown = clip(",".join(got)) if got else "an empty line"
        why = ": a row of data; the file has no header line" if data else ""
        names = " (any names: one per column)" if any_names else ""
        raise InputError(f"{where}: line 1: expected the header {','.join(expected)}{names} (got {shown}{why})")


def is_number(text: str) -> bool:
    """Whether ``text`` reads as a number (Python's ``float``: 1, 1.5, 1e3, nan, inf)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


TAIL_BYTES = 256  # of a file's end: enough to see past trailing spaces and tabs to its last line end


def _cut(tail: bytes) -> bool:
    """Whether text ending in ``tail`` ends without a line end (spaces and tabs aside)."""
    tail = tail.rstrip(b" \t")
    return bool(tail) and not tail.endswith((b"\n", b"\r"))


class TailKept:
    """A binary stream (``read(n)``) read through this object, which keeps the last
    :data:`TAIL_BYTES` bytes read: once the stream has been read to its end, ``cut``
    says whether its last line has no line end, without a second pass over a compressed
    file. Arrow's CSV reader takes it as a Python file."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.tail = b""

    def read(self, n: int = -1) -> bytes:
        data = self.stream.read(n)
        if data:
            self.tail = (self.tail + data[-TAIL_BYTES:])[-TAIL_BYTES:]
        return data

    @property
    def closed(self) -> bool:
        return self.stream.closed

    def close(self) -> None:
        self.stream.close()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    @property
    def cut(self) -> bool:
        return _cut(self.tail)


def count_lines(path: Path) -> int:
    """Lines in ``path`` (decompressed), a last line without a line end included."""
    n, last = 0, b"\n"
    try:
        with open_data(path) as stream:
            while chunk := stream.read(1 << 20):
                n += chunk.count(b"\n")
                last = chunk[-1:]
    except READ_ERRORS as err:
        raise read_failure(path, err) from None
    return n + (last != b"\n")


# --- finding and recognising files -----------------------------------------------------


def list_files(paths: Sequence[str | Path]) -> list[Path]:
    """The data files under ``paths`` (files, or folders searched recursively, leaving out
    hidden files and folders, and simdc's own results: a folder below holding a
    ``manifest.json``, as ``simdc run`` writes into ``results/`` beside its config, which
    may be the trace's folder)."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            results = {m.parent for m in path.rglob("manifest.json") if m.parent != path}
            found = [p for p in path.rglob("*") if p.is_file() and not any(part.startswith(".")
                     for part in p.relative_to(path).parts) and p.name.lower().endswith(DATA_SUFFIXES)
                     and not any(folder in results for folder in p.parents)]
            if not found:
                raise InputError(f"{path}: no trace files in this folder (looked for "
                                 f"{', '.join(DATA_SUFFIXES[:-1])} and {DATA_SUFFIXES[-1]})")
            files.extend(sorted(found, key=_natural))
        elif path.is_file():
            files.append(path)
        elif special_file(path) is not None:  # read more than once (its head, then its rows): a pipe cannot be
            raise InputError(f"{path}: is not a regular file ({special_file(path)}); give the trace's file or "
                             "folder (to use a generated trace, write it to a file first)")
        else:
            raise InputError(f"{path}: trace file or folder not found")
    seen: set[Path] = set()
    return [f for f in files if not (resolved(f) in seen or seen.add(resolved(f)))]


def _natural(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


def head_lines(path: Path, nbytes: int = 1 << 16, lines: int = 40) -> list[str]:
    """The first non-blank lines of a (possibly compressed) UTF-8 text file, without a
    leading byte-order mark.

    Raises
    ------
    InputError
        The file cannot be read, its compressed data ends within ``nbytes``, or those
        bytes are binary (NUL bytes) or not UTF-8.
    """
    try:
        with open_data(path) as file:
            data = file.read(nbytes)
    except READ_ERRORS as err:
        raise read_failure(path, err) from None
    if b"\x00" in data:
        raise InputError(f"{path}: binary data, not CSV text (a file of another kind, or compressed data cut short?)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        if len(data) == nbytes and err.start >= nbytes - 3:  # a character cut by the nbytes limit
            text = data.decode("utf-8-sig", errors="replace")
        else:
            line = data[: err.start].count(b"\n") + 1
            raise InputError(f"{path}: line {line}: not UTF-8 text (byte 0x{data[err.start]:02x}): "
                             f"save the file as UTF-8") from None
    rows = text.splitlines()
    if len(data) == nbytes and rows:
        rows = rows[:-1]  # the last line may be cut
    return [r for r in rows if r.strip()][:lines]


def identify(path: Path, tables: Sequence[Table], want: str | None = None) -> TraceFile:
    """Recognise the table ``path`` holds, among ``tables``.

    ``want`` (a format name) restricts the choice to that format's tables and, when the
    values do not tell, falls back on the file name and then on the format's only
    instance table, so that a damaged first row is reported as a bad row, not as an
    unknown file.
    """
    _refuse_non_data(path)
    if path.name.lower().endswith(".parquet"):
        return _identify_parquet(path)
    lines = head_lines(path)
    if not lines:
        raise InputError(f"{path}: the file is empty")
    header = lines[0]
    if header.lstrip().lower().startswith(HTML_START):
        raise _html(path)
    simdc = _identify_simdc(path, header)
    candidates = [t for t in tables if want in (None, t.format)]
    if len(lines) == 1 and (simdc is not None or any(
            len(row) in t.field_counts and _looks_like_header(row, t)
            for t in candidates for row in [header.split(t.delimiter)])):
        raise InputError(f"{path}: a header row and no data rows (first line: {clip(header)!r})")
    if simdc is not None:
        return simdc
    best: tuple[bool, float, int, Table, int, int, tuple[str, ...] | None] | None = None
    for table in candidates:
        rows = [line.split(table.delimiter) for line in lines]
        for skip in (0, 1):
            if skip and not _looks_like_header(rows[0], table):
                continue
            if not skip and table.header_required:
                continue
            sample = rows[skip:]
            if not sample:
                continue
            counts = Counter(len(r) for r in sample)
            width = max(counts, key=lambda w: (counts[w], w))
            columns = header_columns(rows[0], table) if skip else None
            if columns is not None:
                width = len(columns)  # the header's: rows of another width are bad rows
            elif width not in table.field_counts:
                continue
            score = sum(_matches(r, table, columns) for r in sample) / len(sample)
            specific = sum(f.pattern is not None or f.choices is not None for f in table.fields)
            named = columns is not None  # the table's own names: the rows' problems are bad rows
            if (score >= 0.6 or named) and (best is None or (named, score, specific) > best[:3]):
                best = (named, score, specific, table, skip, width, columns)
    if best is not None:
        named, _, _, table, skip, width, columns = best
        if skip and not named:  # a header, but not of the table the values look like
            raise header_mismatch(path, lines[0].split(table.delimiter), table)
        return TraceFile(path, table, f"{table.format}:{table.name}", header_lines=skip, fields=width,
                         columns=columns or ())
    if want is not None:
        try:  # a file clearly of another format is named as such, not read as garbage
            other = identify(path, [t for t in tables if t.format != want])
        except InputError:
            other = None
        if other is not None:
            raise InputError(f"{path}: looks like {other.format} {other.name}, not one of the {want} tables "
                             f"(format = {want!r})")
        return _by_name(path, lines, [t for t in tables if t.format == want], want)
    raise InputError([f"{path}: cannot tell which trace table this is (first line: {clip(lines[0])!r}); "
                      f"give the format (workload.format or --format)"] + _separator_hint(path, lines, tables))


OTHER_SEPARATORS = {"\t": "a tab", ";": "';'"}  # what spreadsheets in some locales save "CSV" with
DECIMAL_COMMA = re.compile(r"\d,\d")


def other_separator(text: str, fields: int, delimiter: str, expected: Collection[int]) -> str | None:
    """``;`` or a tab when a line of ``fields`` fields (split on ``delimiter``) is one
    field holding it, or splits on it into a count of fields ``expected`` that the
    delimiter does not give; else None. (A separator that splits a line just as the
    delimiter does explains nothing: Bitbrains' values are separated by ';' and a tab,
    so a Bitbrains row cut short splits on the tab into as few fields as on ';'.)"""
    for separator in OTHER_SEPARATORS:
        if separator not in text:
            continue
        parts = len(text.split(separator))
        if (fields == 1 and delimiter not in text) or (parts in expected and parts != fields):
            return separator
    return None


def _separator_hint(path: Path, lines: list[str], tables: Sequence[Table]) -> list[str]:
    """One line naming ``;`` or a tab when the first line splits on it into the header
    (or the values) of one of ``tables``: the hint after "cannot tell which table"."""
    for separator, shown in OTHER_SEPARATORS.items():
        first = lines[0].split(separator)
        if len(first) < 2:
            continue
        rows = [[re.sub(r"^(-?\d*),(\d+)$", r"\1.\2", v.strip()) for v in line.split(separator)]
                for line in lines[:2]]  # decimal commas to points
        named = [t for t in tables if t.delimiter != separator and len(first) in t.field_counts
                 and (_matches(rows[0], t) or (_looks_like_header(first, t) and rows[1:] and _matches(rows[1], t)))]
        if not named:
            continue
        t = named[0]
        commas = any(DECIMAL_COMMA.search(line) for line in lines[:20])
        return [f"{path}: its first line splits on {shown} into the {len(first)} columns of {t.format} {t.name}"
                + (" (with decimal commas: 2,5 for 2.5)" if commas else "")
                + f": the file looks separated by {shown} (a spreadsheet's export in a European locale?); save it "
                "as comma-separated CSV with decimal points"]
    return []


def _refuse_non_data(path: Path) -> None:
    """Files that are not the data at all, named as such before any table is tried."""
    try:
        with open(path, "rb") as raw:
            start = raw.read(64)
    except OSError as err:
        raise read_failure(path, err) from None
    if start.startswith(LFS_POINTER):
        raise InputError(f"{path} is a Git LFS pointer, not the data: run `git lfs pull` "
                         f"(or download the file itself)")
    if start.lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith(tuple(h.encode() for h in HTML_START)):
        raise _html(path)
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{path}: UTF-16 text (a spreadsheet's \"Unicode text\"?): save it as CSV UTF-8")
    if not start.strip():
        try:
            empty = path.stat().st_size == len(start) or not head_lines(path)
        except OSError as err:
            raise read_failure(path, err) from None
        if empty:
            raise InputError(f"{path}: the file is empty")


def _html(path: Path) -> InputError:
    return InputError(f"{path} is an HTML or XML page (a saved error or sign-in page?), not trace data: "
                      f"download the file itself")


def _identify_parquet(path: Path) -> TraceFile:
    import pyarrow.parquet as pq

    try:
        with open(path, "rb") as source:  # by Python: pyarrow takes no name that is not UTF-8
            names = tuple(pq.read_schema(source).names)
    except (OSError, pa.ArrowException) as err:
        raise InputError(f"{path}: cannot read as Parquet: {err}") from None
    have = set(names)
    if {"id", "submit_s", "duration_s"} <= have:
        return TraceFile(path, None, "simdc:instances", columns=names)
    if {"id", "t_s", "cpu_cores", "memory_gib"} <= have:
        return TraceFile(path, None, "simdc:usage", columns=names)
    if {"id", "submission_time", "cpu_count"} <= have:
        return TraceFile(path, None, "opendc:tasks", columns=names)
    if {"id", "duration", "cpu_usage"} <= have:
        return TraceFile(path, None, "opendc:fragments", columns=names)
    raise InputError(f"{path}: a Parquet file with columns {', '.join(names)}, which is no trace table simdc "
                     f"reads (simdc instances or usage, OpenDC tasks or fragments)")


# simdc's own tables: the columns each needs, and the one that marks a header as meant for it
SIMDC_TABLES = (("instances", ("id", "submit_s", "duration_s"), "submit_s"),
                ("usage", ("id", "t_s", "cpu_cores", "memory_gib"), "t_s"))


def _identify_simdc(path: Path, header: str) -> TraceFile | None:
    """The simdc table whose columns ``header`` names (any order, others beside them), or
    None. A header naming ``id`` and a table's mark (``submit_s``, ``t_s``) but not all
    its columns is refused, naming those missing ("cannot tell which trace table" hid it)."""
    names = {n.strip().strip('"') for n in header.split(",")}
    for kind, needed, _ in SIMDC_TABLES:
        if set(needed) <= names:
            return TraceFile(path, None, f"simdc:{kind}", header_lines=1,
                             columns=tuple(n.strip().strip('"') for n in header.split(",")))
    for kind, needed, mark in SIMDC_TABLES:
        if {"id", mark} <= names:
            missing = [c for c in needed if c not in names]
            raise InputError(f"{path}: line 1: simdc's {kind} table needs the columns {', '.join(needed)}; "
                             f"this header lacks {', '.join(missing)} (first line: {clip(header)!r})")
    return None


def name_key(name: str) -> str:
    """A column's name as headers are compared: letters and digits only, in lower case
    (``Memory usage [KB]``, ``memory_usage_kb`` and ``memory usage (KB)`` are one name)."""
    return re.sub(r"[^a-z0-9]", "", name.strip().strip('"').lower())


def header_columns(row: Sequence[str], table: Table) -> tuple[str, ...] | None:
    """The field each column of a header ``row`` names, in the file's order, when the
    names are ``table``'s: each a field's name or alias (:func:`name_key`), in any order,
    each field at most once, every field but the ``optional_tail`` named, and at most
    ``extra_tail`` other names (a column a redistribution added: ``_extra0``, ...). A
    table with an exact ``header`` takes that header only. None for any other row."""
    if table.header is not None:
        exact = tuple(v.strip().strip('"') for v in row) == table.header
        return tuple(f.name for f in table.fields) if exact else None
    known = {name_key(name): f.name for f in table.fields for name in (f.name, *f.aliases)}
    columns, extra = [], 0
    for cell in row:
        name = known.get(name_key(cell))
        if name is None:
            name, extra = f"_extra{extra}", extra + 1
        columns.append(name)
    named = [c for c in columns if c in known.values()]
    needed = {f.name for f in table.fields[: len(table.fields) - table.optional_tail]}
    if extra > table.extra_tail or len(set(named)) < len(named) or not needed <= set(named):
        return None
    return tuple(columns)


def header_mismatch(path: Path, row: Sequence[str], table: Table) -> InputError:
    """The error for a header row whose names are not ``table``'s (:func:`header_columns`):
    read by position, its values would go under other columns than it says."""
    text = table.delimiter.join(row)
    for separator in (",", ";", "\t"):
        if separator != table.delimiter and header_columns(text.split(separator), table) is not None:
            return InputError(f"{path}: line 1: the {table.format} {table.name} header, its names separated by "
                              f"{separator!r}; {table.format} files separate values by {table.delimiter!r}: save it "
                              "so (a spreadsheet's export?)")
    known = {name_key(name): f.name for f in table.fields for name in (f.name, *f.aliases)}
    found = [v.strip().strip('"') for v in row]
    named = [known[name_key(v)] for v in found if name_key(v) in known]
    unknown = [v for v in found if name_key(v) not in known]
    needed = [f.name for f in table.fields[: len(table.fields) - table.optional_tail]]
    missing = [n for n in needed if n not in named]
    twice = sorted({n for n in named if named.count(n) > 1})
    optional = f"; the last {table.optional_tail} may be left out" if table.optional_tail else ""
    extra = f"; {table.extra_tail} more column may follow" if table.extra_tail else ""
    why = "; ".join(part for part in (f"not known: {', '.join(unknown)}" if unknown else "",
                                       f"missing: {', '.join(missing)}" if missing else "",
                                       f"named twice: {', '.join(twice)}" if twice else "") if part)
    return InputError(f"{path}: line 1: a header whose names are not those of {table.format} {table.name}, so its "
                      f"columns cannot be told apart: expected {', '.join(f.name for f in table.fields)} (in any "
                      f"order{optional}{extra}), found {clip(', '.join(found), 400)}" + (f" ({why})" if why else ""))


def _looks_like_header(row: list[str], table: Table) -> bool:
    """A header names columns: the table's own names (any order), or as many fields as
    the table's rows have, every one a word and none where a number is due a number (a
    line of one word in a 13-column table is a bad row, not a header naming other columns)."""
    if header_columns(row, table) is not None:
        return True
    if table.header_prefix is not None:
        return row[0].strip().startswith(table.header_prefix)
    if table.header is not None:
        return tuple(v.strip().strip('"') for v in row) == table.header
    if len(row) not in table.field_counts or not all(HEADER_FIELD.fullmatch(v) for v in row if v.strip()):
        return False
    numeric = [f for f, v in zip(table.fields, row) if f.kind in ("int", "float")]
    return bool(numeric) and not any(re.fullmatch(NUM, v.strip()) for f, v in zip(table.fields, row)
                                     if f.kind in ("int", "float"))


def _matches(row: list[str], table: Table, columns: tuple[str, ...] | None = None) -> bool:
    """Whether the values of ``row`` fit ``table``'s fields: by position, or under the
    fields ``columns`` names (a header's, :func:`header_columns`)."""
    if columns is not None:
        fields = {f.name: f for f in table.fields}
        return len(row) == len(columns) and all(fields[c].regex.fullmatch(v.strip())
                                                for c, v in zip(columns, row) if c in fields)
    if len(row) not in table.field_counts:
        return False
    return all(f.regex.fullmatch(v.strip()) for f, v in zip(table.fields, row))


def _by_name(path: Path, lines: list[str], tables: list[Table], want: str) -> TraceFile:
    name = path.name.lower()
    named = [t for t in tables if any(h in name for h in t.hints)]
    primary = [t for t in tables if t.role == "instances"]
    one = {t.name for t in named} if named else {t.name for t in primary}  # a table's variants (CloudSimPy's)
    chosen = (named or primary)[0] if len(one) == 1 else None
    if chosen is None:
        raise InputError(f"{path}: cannot tell which {want} table this is (first line: {clip(lines[0])!r}); "
                         f"expected one of: {', '.join(t.name for t in tables)}")
    first = lines[0].split(chosen.delimiter)
    columns: tuple[str, ...] | None = ()
    if _looks_like_header(first, chosen):
        columns = header_columns(first, chosen)
        if columns is None:
            raise header_mismatch(path, first, chosen)
    elif chosen.header_required:  # its first row of data is no header to skip
        names = (chosen.header if chosen.header is not None else
                 [next(iter(f.aliases), f.name) for f in chosen.fields])
        raise InputError(f"{path}: line 1: expected the {chosen.format} {chosen.name} header "
                         f"{clip(chosen.delimiter.join(names), 400)!r}, got {clip(lines[0].strip())!r}: the file has "
                         "no header line; add the format's header as its first line")
    header = 1 if columns else 0
    rows = [line.split(chosen.delimiter) for line in lines[header:]] or [first]
    counts = Counter(len(r) for r in rows)
    width = len(columns) if columns else max(counts, key=lambda w: (counts[w], w))
    if width not in chosen.field_counts and not columns:
        width = len(chosen.fields)
    return TraceFile(path, chosen, f"{chosen.format}:{chosen.name}", header_lines=header, fields=width,
                     columns=columns)


# --- bad rows ----------------------------------------------------------------------------


class BadRows:
    """Applies ``on_bad_rows``: collects the first problems (strict) or counts by reason (skip)."""

    def __init__(self, policy: str = "strict"):
        if policy not in ("strict", "skip"):
            raise InputError(f"on_bad_rows: must be 'strict' or 'skip' (got {policy!r})")
        self.skip = policy == "skip"
        self.counts: Counter[str] = Counter()
        self.problems: list[str] = []
        self.total = 0
        self.cause: str | None = None  # a line after the problems saying what they have in common
        self.decimals: dict[str, list] = {}  # "table: column" -> [rows, where the first is, its text]

    def report(self, table: str, rows: np.ndarray, reason: str, where: Callable[[int], str],
               detail: Callable[[int], str] | None = None) -> None:
        """Rows ``rows`` (indices into the current block) are bad for ``reason``."""
        if len(rows) == 0:
            return
        if self.skip:
            self.counts[f"{table}: {reason}"] += len(rows)
            return
        self.total += len(rows)
        for r in rows[: max(0, MAX_PROBLEMS - len(self.problems))]:
            self.problems.append(f"{where(int(r))}: {reason}{detail(int(r)) if detail else ''}")

    def check(self) -> None:
        """Raise the collected problems (strict); called after each block."""
        if self.total:
            more = self.total - len(self.problems)
            lines = self.problems + ([f"... and {more} more bad row{'s' if more != 1 else ''}"] if more else [])
            raise InputError(lines + ([self.cause] if self.cause else []) + [SKIP_HINT])

    @property
    def skipped(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))

    def decimal(self, table: str, column: str, rows: np.ndarray, where: Callable[[int], str] | None,
                text: Callable[[int], str]) -> None:
        """Rows ``rows`` (indices into the current block) of ``table``'s integer column
        ``column`` were written as decimals ("123.0") and read as the integers they show."""
        if len(rows) == 0:
            return
        entry = self.decimals.get(f"{table}: {column}")
        if entry is None:
            first = int(rows[0])
            entry = self.decimals[f"{table}: {column}"] = [0, where(first) if where else table, text(first)]
        entry[0] += len(rows)

    @property
    def notes(self) -> list[str]:
        """A line per integer column with values written as decimals, for the reader's notes."""
        return [f"{first}: {key.split(': ', 1)[1]} written as a decimal ({shown(example)}) in {n:,} "
                f"row{'s' if n != 1 else ''}: read as the integer{'s' if n != 1 else ''} shown, the same id or time "
                "as written without '.0' (a float column's save?)"
                for key, (n, first, example) in self.decimals.items()]


def decimal_integers(column: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """``column`` (text) with the integers written as decimals (``"123.0"``, ``"-7."``)
    written as the integers they are (``"123"``), exactly; and which rows were so written.
    A column that is not text comes back as it is, no row marked."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return column, np.zeros(len(column), dtype=bool)
    decimal = pc.match_substring_regex(column, DECIMAL_INTEGER_TEXT).fill_null(False).to_numpy(zero_copy_only=False)
    if not decimal.any():
        return column, decimal
    return pc.replace_substring_regex(column, r"^\s*\+?(-?\d+)\.0*\s*$", r"\1"), decimal


# --- reading CSV blocks ----------------------------------------------------------------


class _Lines:
    """Names a data row by its line in the file, counting the header, the blank lines
    pyarrow skips and the rows dropped for a wrong field count. The file is scanned
    only when a problem is reported."""

    def __init__(self, path: Path, header_lines: int):
        self.path, self.header_lines = path, header_lines
        self.invalid: list[int] = []  # record numbers (non-blank lines, 1-based) of rejected rows
        self.physical: list[int] | None = None

    def record(self, row: int) -> int:
        """The record number (1-based, blank lines not counted) of data row ``row``."""
        r = self.header_lines + row + 1
        for bad in self.invalid:
            if bad <= r:
                r += 1
            else:
                break
        return r

    def line(self, record: int) -> int:
        if self.physical is None or len(self.physical) < record:
            self.physical = self._scan(record)
        return self.physical[record - 1] if record <= len(self.physical) else record

    def _scan(self, upto: int) -> list[int]:
        lines: list[int] = []
        try:
            with open_data(self.path) as stream:
                # Lines end in \n, \r\n or a lone \r, as pyarrow.csv reads them.
                for number, text in enumerate(_text_lines(stream), start=1):
                    if text.strip(b"\r\n"):
                        lines.append(number)
                        if len(lines) >= upto + 1024:
                            break
        except (InputError, *READ_ERRORS):
            pass
        return lines

    def where(self, row: int) -> str:
        return f"{self.path}: line {self.line(self.record(row))}"


def _text_lines(stream) -> Iterator[bytes]:
    """The lines of a binary stream, split at \\n, \\r\\n or a lone \\r."""
    rest = b""
    while chunk := stream.read(1 << 20):
        rest += chunk
        parts = re.split(rb"\r\n|\n|\r(?!$)", rest)
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


@dataclass
class Block:
    """Converted columns of one block: ``values[name]`` as numpy arrays, aligned with ``row``
    (the data row index within the file), bad rows already removed."""

    values: dict[str, np.ndarray]
    row: np.ndarray
    where: Callable[[int], str]  # names a file row (by ``row`` value) for messages

    def __len__(self) -> int:
        return len(self.row)


def read_blocks(tf: TraceFile, use: Sequence[str], bad: BadRows, block_bytes: int = BLOCK_BYTES) -> Iterator[Block]:
    """Blocks of ``tf``'s table with the fields ``use`` converted and checked.

    Every value of a used field is checked against its :class:`Field`: a number that is
    not one, an empty required value, a non-integer where an integer is due, a value out
    of range or not among the choices; a row with the wrong number of fields. Bad rows
    go to ``bad``; strict mode raises after the block in which they were found.
    """
    table = tf.table
    assert table is not None
    names = (list(tf.columns) if tf.columns else  # by a header's names, or by position
             [f.name for f in table.fields[: tf.fields]] + [f"_extra{i}" for i in range(tf.fields - len(table.fields))])
    fields = {f.name: f for f in table.fields}
    lines = _Lines(tf.path, tf.header_lines)
    separators: set[str] = set()  # what every bad row holds in place of the delimiter; None: not all
    decimal_commas = []  # a bad row so held has a decimal comma ("2,5")

    def invalid(row) -> str:
        record = row.number or 0  # pyarrow's count of non-blank lines, the header included
        lines.invalid.append(record)
        held = other_separator(row.text or "", row.actual_columns, table.delimiter, table.field_counts)
        separators.add(held)
        if held is not None and DECIMAL_COMMA.search(row.text or ""):
            decimal_commas.append(record)
        if None not in separators:  # every bad row so far: one field, or the fields due, on ";" or a tab
            shown_as = " or ".join(OTHER_SEPARATORS[s] for s in sorted(separators))
            commas = " with decimal commas (2,5 for 2.5)" if decimal_commas else ""
            bad.cause = (f"{tf.path}: every line reported holds {shown_as}: the file looks separated by "
                         f"{shown_as}{commas} (a "
                         f"spreadsheet's export in a European locale?), and {table.format} {table.name} files by "
                         f"{table.delimiter!r}; save it as comma-separated CSV with decimal points")
        elif bad.cause is not None and bad.cause.startswith(f"{tf.path}: every line reported"):
            bad.cause = None
        bad.report(table.name, np.array([0]), f"expected {tf.fields} fields, got {row.actual_columns}",
                   lambda _: f"{tf.path}: line {lines.line(record) if record else '?'}")
        return "skip"

    undecodable: list[UnicodeDecodeError] = []
    source = None
    try:
        with _undecodable_rows(undecodable):
            # a compressed file's tail is kept as it is read: whether it ends cut is known at its end
            source = TailKept(open_data(tf.path)) if compression(tf.path) is not None else open_data(tf.path)
            reader = pacsv.open_csv(
                source,
                read_options=pacsv.ReadOptions(column_names=names, skip_rows=tf.header_lines, use_threads=False,
                                               block_size=block_bytes),
                parse_options=pacsv.ParseOptions(delimiter=table.delimiter, quote_char=table.quote_char,
                                                 invalid_row_handler=invalid),
                convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in use},
                                                     include_columns=list(use), strings_can_be_null=True,
                                                     null_values=[""]),
            )
    except READ_ERRORS as err:
        if source is not None:
            source.close()
        bad.check()
        raise _block_failure(tf, undecodable[0] if undecodable else err, "") from None
    # uncompressed: its end read now; compressed: known once the reader has read it through
    cut = missing_line_end(tf.path) if not isinstance(source, TailKept) else None
    start = 0

    def batches() -> Iterator[pa.RecordBatch]:
        while True:
            try:
                with _undecodable_rows(undecodable):
                    batch = reader.read_next_batch()
            except StopIteration:
                return
            except READ_ERRORS as err:
                bad.check()
                raise _block_failure(tf, undecodable[0] if undecodable else err,
                                     f" (after data row {start})") from None
            yield batch

    def block(batch: pa.RecordBatch, last: bool) -> Block:
        nonlocal start, cut
        n = batch.num_rows
        rows = np.arange(start, start + n)
        first = start
        where = lambda i, first=first: lines.where(first + i)  # noqa: E731
        keep = np.ones(n, dtype=bool)
        if last and cut is None:  # the reader has read the whole stream: its tail is known
            cut = source.cut
        if last and cut and n and (not lines.invalid or max(lines.invalid) <= lines.record(first + n - 1)):
            # The file's last line (unless pyarrow already rejected it for its field count).
            keep[n - 1] = False
            bad.report(table.name, np.array([n - 1]), NO_LINE_END, where,
                       lambda _: "; if the file is complete, end it with a newline")
        values: dict[str, np.ndarray] = {}
        for name in use:
            values[name] = _convert(batch.column(name), fields[name], table.name, keep, bad, where)
        start += n
        bad.check()
        if not keep.all():
            values = {k: v[keep] for k, v in values.items()}
            rows = rows[keep]
        return Block(values, rows, lambda r: lines.where(int(r)))

    try:
        stream = batches()
        current = next(stream, None)
        if current is None:  # no data rows: one empty block, so that every reader sees its (empty) table
            current = pa.RecordBatch.from_pydict({name: pa.array([], pa.string()) for name in use})
        while current is not None:
            following = next(stream, None)
            yield block(current, last=following is None)
            current = following
    finally:  # read through, failed or let go by the caller: the file is closed now, not when collected
        source.close()
    bad.check()


@contextlib.contextmanager
def _undecodable_rows(seen: list[UnicodeDecodeError]) -> Iterator[None]:
    """Collect, instead of printing, the UnicodeDecodeError pyarrow meets when it decodes
    a row with the wrong field count and bytes that are not UTF-8 for the invalid-row
    handler: Python would print it as an "unraisable" traceback, then pyarrow fails the
    read, and the caller reports the file as not UTF-8."""
    previous = sys.unraisablehook

    def hook(unraisable) -> None:
        if isinstance(unraisable.exc_value, UnicodeDecodeError):
            seen.append(unraisable.exc_value)
        else:
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous


def _block_failure(tf: TraceFile, err: BaseException, after: str) -> InputError:
    table = tf.table
    failure = _data_failure(tf.path, err)
    if failure is not None:
        return failure
    return InputError(f"{tf.path}: cannot read as {table.format} {table.name}{after}: {_arrow_message(err)}")


def _arrow_message(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:200]


def _convert(column: pa.Array, spec: Field, table: str, keep: np.ndarray, bad: BadRows,
             where: Callable[[int], str]) -> np.ndarray:
    """Convert one text column, reporting bad values and clearing ``keep`` for them."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    null = column.is_null().to_numpy(zero_copy_only=False)
    name = spec.name

    def flag(mask: np.ndarray, reason: str, show=None) -> None:
        mask = mask & keep
        rows = np.flatnonzero(mask)
        if len(rows):
            bad.report(table, rows, reason, where, show)
            keep[rows] = False

    def text(i: int) -> str:
        value = column[i].as_py()
        return f" (got {shown(value)})"

    if spec.kind == "str":
        trimmed = pc.utf8_trim_whitespace(column)
        out = trimmed.to_numpy(zero_copy_only=False).astype(object)
        empty = null | pc.equal(trimmed, "").fill_null(False).to_numpy(zero_copy_only=False)
        if spec.required:
            flag(empty, f"{name} is empty")
        if spec.choices is not None:
            valid = pc.is_in(trimmed, value_set=pa.array(spec.choices)).fill_null(False).to_numpy(zero_copy_only=False)
            flag(~valid & ~empty, f"{name} must be one of {', '.join(spec.choices)}", text)
        out[empty] = None
        return out

    values, unparsed, blank = _numbers(column, int_wanted=spec.kind == "int")
    if spec.kind == "int" and values.dtype.kind == "f":  # not all plain integers: any written as decimals?
        written = column
        column, decimal = decimal_integers(column)
        if decimal.any():
            bad.decimal(table, name, np.flatnonzero(decimal & keep), where, lambda i: written[i].as_py())
            values, unparsed, blank = _numbers(column, int_wanted=True)
    empty = null | blank
    flag(unparsed & ~empty, f"{name} is not a number", text)
    if spec.required:
        flag(empty, f"{name} is empty")
    number = ~empty & ~unparsed
    finite = np.isfinite(values)
    flag(number & ~finite, f"{name} must be a finite number", text)
    if spec.kind == "int":
        if values.dtype.kind == "f":  # not all plain integers: any with an exponent?
            exponent = pc.match_substring_regex(column, EXPONENT_TEXT).fill_null(False)
            flag(number & exponent.to_numpy(zero_copy_only=False), f"{name} {EXPONENT_REASON}", text)
        flag(number & finite & (np.mod(np.where(finite, values, 0), 1) != 0), f"{name} must be an integer", text)
        if values.dtype.kind == "f":  # parsed as a float: beyond int64 it is no id or time
            flag(number & finite & (np.abs(values) >= LARGEST_INT), f"{name} is out of range", text)
    if spec.low is not None and spec.high is not None:
        flag(number & finite & ((values < spec.low) | (values > spec.high)),
             f"{name} must be in [{spec.low:g}, {spec.high:g}]", text)
    elif spec.low is not None:
        flag(number & finite & (values < spec.low), f"{name} must be >= {spec.low:g}", text)
    elif spec.high is not None:
        flag(number & finite & (values > spec.high), f"{name} must be <= {spec.high:g}", text)
    if values.dtype.kind == "f":
        values = values.copy() if not values.flags.writeable else values
        values[empty | unparsed] = np.nan
    return values


def _numbers(column: pa.Array, int_wanted: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, not-a-number mask, blank mask). Integers stay int64 when every value is
    one (exact microsecond times and 64-bit ids); otherwise values are float64, NaN
    where there is none."""
    n = len(column)
    none = np.zeros(n, dtype=bool)
    try:
        cast = pc.cast(column, pa.int64() if int_wanted else pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    else:
        values = cast.to_numpy(zero_copy_only=False)
        return (values.astype(float) if cast.null_count else values), none, none
    trimmed = pc.utf8_trim_whitespace(column)
    blank = pc.equal(trimmed, "").fill_null(False).to_numpy(zero_copy_only=False)
    ok = pc.match_substring_regex(trimmed, pattern=NUMBER_TEXT, ignore_case=True).fill_null(False)
    text = pc.if_else(ok, trimmed, pa.scalar(None, pa.string()))
    try:
        values = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # a form the pattern allows but Arrow does not
        values = pd.to_numeric(pd.Series(text.to_pylist(), dtype=object), errors="coerce").to_numpy(float)
    null = column.is_null().to_numpy(zero_copy_only=False)
    unparsed = ~ok.to_numpy(zero_copy_only=False) & ~null & ~blank
    return values.astype(float), unparsed, blank


# --- Parquet -----------------------------------------------------------------------------


def parquet_batches(path: Path, columns: Sequence[str], batch_rows: int = 1 << 20) -> Iterator[pd.DataFrame]:
    """Batches of a Parquet file's ``columns`` as DataFrames with a ``_row`` column."""
    import pyarrow.parquet as pq

    try:
        with open(path, "rb") as handle:  # by Python: pyarrow takes no name that is not UTF-8
            start = 0
            for batch in pq.ParquetFile(handle).iter_batches(batch_size=batch_rows, columns=list(columns)):
                frame = batch.to_pandas()
                frame["_row"] = np.arange(start, start + len(frame))
                start += len(frame)
                yield frame
    except (OSError, pa.ArrowException) as err:
        raise InputError(f"{path}: cannot read as Parquet: {_arrow_message(err)}") from None


def check_frame(frame: pd.DataFrame, path: Path, table: str, fields: Sequence[Field], bad: BadRows,
                locate: Callable[[int], str] | None = None) -> pd.DataFrame:
    """Check typed columns (Parquet) against ``fields``; bad rows removed or reported.
    ``locate`` names a row by its ``_row`` (0 = the first data row) in messages; default
    ``"<path>: row <_row + 1>"``."""
    keep = np.ones(len(frame), dtype=bool)
    rows = frame["_row"].to_numpy()

    def where(i: int) -> str:
        return locate(int(rows[i])) if locate is not None else f"{path}: row {int(rows[i]) + 1}"

    for spec in fields:
        if spec.name not in frame:
            continue
        column = frame[spec.name]

        def flag(mask, reason, column=column):
            mask = np.asarray(mask, dtype=bool) & keep
            found = np.flatnonzero(mask)
            if len(found):
                bad.report(table, found, reason, where, lambda i: f" (got {shown(column.iloc[i])})")
                keep[found] = False

        if spec.kind == "str":
            if spec.required:
                blank = column.isna().to_numpy() | (column.astype(str).str.strip() == "").to_numpy()
                flag(blank, f"{spec.name} is empty")
            continue
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if spec.required:
            flag(column.isna().to_numpy(), f"{spec.name} is empty")
        flag(column.notna().to_numpy() & ~np.isfinite(values), f"{spec.name} must be a finite number")
        ok = np.isfinite(values)
        if spec.kind == "int" and not pd.api.types.is_numeric_dtype(column):  # text: "123.0" is 123
            try:
                text = pa.array(column.to_numpy(object), pa.string(), from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: left to the checks below
                text = None
            if text is not None:
                fixed, decimal = decimal_integers(text)
                if decimal.any():
                    bad.decimal(table, spec.name, np.flatnonzero(decimal & keep), where, lambda i: column.iloc[i])
                    column = frame[spec.name] = pd.Series(fixed.to_numpy(zero_copy_only=False), index=frame.index,
                                                          dtype=object)
                    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                    ok = np.isfinite(values)
        if spec.kind == "int":
            if not pd.api.types.is_numeric_dtype(column):  # text (a CSV read as strings): an exponent is no
                # integer as recorded
                exponent = column.astype(object).map(lambda v: isinstance(v, str) and bool(_EXPONENT.match(v)))
                flag(exponent.to_numpy(bool), f"{spec.name} {EXPONENT_REASON}")
            flag(ok & (np.mod(np.where(ok, values, 0), 1) != 0), f"{spec.name} must be an integer")
        if spec.low is not None:
            flag(ok & (values < spec.low), f"{spec.name} must be >= {spec.low:g}")
        if spec.high is not None:
            flag(ok & (values > spec.high), f"{spec.name} must be <= {spec.high:g}")
    bad.check()
    return frame[keep]


# --- building the results ----------------------------------------------------------------


def instance_ids(ids: np.ndarray) -> np.ndarray:
    """One type for a table's instance ids, whatever the reader built them in: integers
    (an object array of Python ints, as a Parquet ``int32`` column read row by row gives)
    as int64, as pyarrow stores them and reads them back, so that a table in memory, spilled
    or written has one dtype; a mix of integers and text, or integers beyond int64, as
    text. Any other array is returned as it is."""
    if ids.dtype != object or not len(ids):
        return ids
    kind = pd.api.types.infer_dtype(ids, skipna=False)
    if kind == "integer":
        try:
            return ids.astype(np.int64)
        except OverflowError:
            return ids.astype(str).astype(object)
    if kind in ("mixed-integer", "mixed-integer-float"):
        return ids.astype(str).astype(object)
    return ids


def canonical(source: str, *, id, submit_s, duration_s, cpu_cores, memory_gib, cpu_used=None,
              memory_used_gib=None, kind="service", priority=0, cpu_limit=None,
              memory_limit_gib=None, censored=None, job=None, started_s=None) -> pd.DataFrame:
    """The canonical instance table from a reader's arrays, sorted by ``submit_s``.

    ``censored`` (bool per instance, optional) marks lifetimes cut off by the end of
    the data (still running when the trace ends: ``duration_s`` is a lower bound); when
    given, the table has a ``censored`` column after :data:`~simdc.workload.COLUMNS`.
    ``started_s`` (seconds, at or after ``submit_s``, optional) is when the trace saw the
    instance start running, for a reader whose ``duration_s`` counts from then rather
    than from ``submit_s`` (Google's, from the SCHEDULE): the column :data:`STARTED`,
    last, which :func:`run_spans` reads and :func:`~simdc.workload.readers.read_trace`
    drops once the selection is made.
    ``job`` (str per instance, or a :class:`pandas.Categorical` of them, optional) names the
    job or service of each instance.

    Readers check the rows they read; this checks the table they built, so that values
    valid alone but absurd together (a usage of 10^308 MHz over a long fragment) are
    reported, not passed to the engine. Works on arrays throughout: 10^7 instances take
    seconds, not minutes.
    """
    submit = np.asarray(submit_s, dtype=float)
    n = len(submit)
    columns = {
        "submit_s": submit,
        "duration_s": np.asarray(duration_s, dtype=float),
        "cpu_cores": np.asarray(cpu_cores, dtype=float),
        "memory_gib": np.asarray(memory_gib, dtype=float),
    }
    cpu_used = columns["cpu_cores"] if cpu_used is None else np.asarray(cpu_used, dtype=float)
    mem_used = columns["memory_gib"] if memory_used_gib is None else np.asarray(memory_used_gib, dtype=float)
    columns["cpu_used"] = np.where(np.isnan(cpu_used), columns["cpu_cores"], cpu_used)
    columns["memory_used_gib"] = np.where(np.isnan(mem_used), columns["memory_gib"], mem_used)
    broken = np.zeros(n, dtype=bool)
    for name, values in columns.items():
        broken |= ~np.isfinite(values)
    broken |= (submit < 0) | (columns["duration_s"] <= 0) | (columns["cpu_cores"] <= 0) | (columns["memory_gib"] <= 0)
    broken |= (columns["cpu_used"] < 0) | (columns["memory_used_gib"] < 0)
    ids = instance_ids(np.asarray(id))
    if broken.any():
        i = int(np.flatnonzero(broken)[0])
        raise InputError(f"{source}: instance {shown(ids[i])} converts to values out of range "
                         f"(submit_s={submit[i]:g}, duration_s={columns['duration_s'][i]:g}, "
                         f"cpu_cores={columns['cpu_cores'][i]:g}, memory_gib={columns['memory_gib'][i]:g}, "
                         f"cpu_used={columns['cpu_used'][i]:g}, memory_used_gib={columns['memory_used_gib'][i]:g}): "
                         f"check its rows")
    order = np.argsort(submit, kind="stable")
    codes = (np.zeros(n, dtype=np.int8) if isinstance(kind, str) and kind == "service" else
             np.ones(n, dtype=np.int8) if isinstance(kind, str) else np.asarray(kind, dtype=np.int8))
    if job is None:
        job = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[""])
    elif isinstance(job, pd.Categorical):  # a reader's own codes: categories of the values, sorted
        job = pd.Categorical.from_codes(job.codes[order], dtype=job.dtype).remove_unused_categories()
    else:
        job = pd.Categorical(np.asarray(job, dtype=object)[order])
    table = {
        "id": ids[order],
        **{name: values[order] for name, values in columns.items()},
        "kind": pd.Categorical.from_codes(codes[order], categories=KINDS),
        "image": "",
        "priority": np.broadcast_to(np.asarray(priority, dtype=np.int64), (n,))[order],
        "cpu_limit": np.full(n, np.nan) if cpu_limit is None else np.asarray(cpu_limit, dtype=float)[order],
        "memory_limit_gib": (np.full(n, np.nan) if memory_limit_gib is None
                             else np.asarray(memory_limit_gib, dtype=float)[order]),
        "job": job,
    }
    for name in COLUMNS:  # columns no trace gives (interference intensities): their neutral 0
        table.setdefault(name, 0.0)
    extra = []
    if censored is not None:
        table["censored"] = np.broadcast_to(np.asarray(censored, dtype=bool), (n,))[order]
        extra.append("censored")
    if started_s is not None:
        table[STARTED] = np.asarray(started_s, dtype=float)[order]
        extra.append(STARTED)
    # copy=False, one array a column: 10^7-row arrays are neither copied again nor
    # consolidated into a 2-D block.
    return pd.DataFrame({name: table[name] for name in (*COLUMNS, *extra)}, index=pd.RangeIndex(n), copy=False)


def usage_samples(position: np.ndarray, t_s: np.ndarray, cpu: np.ndarray, mem: np.ndarray, ids: np.ndarray,
                  window_s: np.ndarray | None = None) -> pd.DataFrame:
    """The usage table of the samples of each instance (``position`` into ``ids``) at
    offsets ``t_s``, as read: ``id, t_s, cpu_cores, memory_gib`` and, with ``window_s``
    (each sample's window length, seconds), a column :data:`WINDOW`.

    The samples are not put onto a step here: the replay does that once
    (:meth:`simdc.workload.usage.SeriesUsage.from_table`, by the one rule,
    :func:`simdc.workload.usage.on_steps`), after a time window has shifted them to the
    ages they have in it (:func:`select`), so a window or a converted file replays as the
    trace's own samples do at any ``usage_step_s``. Samples at negative offsets (before
    the instance started) are not part of its life and are left out, as are non-finite ones.
    """
    ok = np.isfinite(t_s) & (t_s >= 0) & np.isfinite(cpu) & np.isfinite(mem)
    table = {"id": ids[position[ok]], "t_s": np.asarray(t_s, float)[ok], "cpu_cores": np.asarray(cpu, float)[ok],
             "memory_gib": np.asarray(mem, float)[ok]}
    if window_s is not None:
        window = np.asarray(window_s, dtype=float)[ok]
        table[WINDOW] = np.where(window > 0, window, 1e-12)  # a window of no length still counts, barely
    return pd.DataFrame(table)


def usage_weights(usage: pd.DataFrame) -> np.ndarray | None:
    """Each sample's weight in a mean over time: its window length where the table has
    them (:data:`WINDOW`), else None (equal weights: samples at the trace's interval)."""
    return usage[WINDOW].to_numpy(float) if WINDOW in usage else None


def on_step_table(usage: pd.DataFrame, step_s: float) -> pd.DataFrame:
    """``usage`` (samples, :func:`usage_samples`) as the replay plays them on ``step_s``:
    one row per step boundary that has samples (:func:`simdc.workload.usage.on_steps`),
    ``t_s`` the boundary's age."""
    from simdc.workload.usage import on_steps

    codes, uniques = pd.factorize(usage["id"])
    p, k, cpu, mem = on_steps(codes, usage["t_s"].to_numpy(float), usage["cpu_cores"].to_numpy(float),
                              usage["memory_gib"].to_numpy(float), step_s, usage_weights(usage))
    return pd.DataFrame({"id": np.asarray(uniques, dtype=object)[p] if len(p) else usage["id"].iloc[:0].to_numpy(),
                         "t_s": k * float(step_s), "cpu_cores": cpu, "memory_gib": mem})


def series_means(usage: pd.DataFrame, ids: np.ndarray, duration_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each instance's mean (cpu_cores, memory_gib) over time: the one rule for every
    reader's ``cpu_used`` and ``memory_used_gib`` from a series; NaN without any sample.

    Samples without windows: the time-weighted mean of the series as the replay plays it
    (README, Trace formats, Bitbrains: "a gap in the readings holds the last reading until
    the next"; :func:`simdc.workload.usage.on_steps`), whatever the usage step: each sample
    holds from its offset until the instance's next sample, the last until the end of its
    life (``duration_s``), and a sample at or after the end is not played. Before its first
    sample the replay plays the mean itself (:meth:`.SeriesUsage.from_table`), so the mean
    is the integral of that step function from the first sample to the end over that time.
    Samples at the same offset take effect together, as :func:`.on_steps` joins those of
    one step: CPU their mean, memory their maximum. An instance whose samples all lie at or
    after its end plays none of them: the plain mean of its samples.

    Samples with windows (:data:`WINDOW`: Google, OpenDC): each weighs its window's length
    (:func:`usage_weights`), the time it measured.

    Parameters
    ----------
    usage
        The samples, :func:`usage_samples`.
    ids
        The instances, shape (n,); samples of other ids are not counted.
    duration_s
        Each instance's life, seconds from its start (the samples' ``t_s`` origin), shape (n,).
    """
    n = len(ids)
    if usage is None or len(usage) == 0:
        nan = np.full(n, np.nan)
        return nan, nan.copy()
    row = pd.Index(ids).get_indexer(usage["id"])
    mine = row >= 0
    row, t = row[mine], usage["t_s"].to_numpy(float)[mine]
    cpu, mem = usage["cpu_cores"].to_numpy(float)[mine], usage["memory_gib"].to_numpy(float)[mine]
    windows = usage_weights(usage)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # absurd inputs: canonical() reports them
        if windows is not None:
            w = windows[mine]
            total = np.bincount(row, weights=w, minlength=n)
            return (np.bincount(row, weights=cpu * w, minlength=n) / total,
                    np.bincount(row, weights=mem * w, minlength=n) / total)
        samples = np.bincount(row, minlength=n)  # for a series that plays none of them
        plain_cpu = np.bincount(row, weights=cpu, minlength=n) / samples
        plain_mem = np.bincount(row, weights=mem, minlength=n) / samples
        order = np.lexsort((t, row))
        row, t, cpu, mem = row[order], t[order], cpu[order], mem[order]
        first = np.ones(len(row), dtype=bool)
        first[1:] = (row[1:] != row[:-1]) | (t[1:] != t[:-1])
        starts = np.flatnonzero(first)
        row, t = row[starts], t[starts]
        cpu = np.add.reduceat(cpu, starts) / np.diff(np.append(starts, len(first)))
        mem = np.maximum.reduceat(mem, starts)
        end = np.asarray(duration_s, dtype=float)[row]
        last = np.append(row[1:] != row[:-1], True)  # an instance's last sample holds until its end
        until = np.where(last, end, np.append(t[1:], 0.0))
        held = np.maximum(np.minimum(until, end) - np.minimum(t, end), 0.0)
        total = np.bincount(row, weights=held, minlength=n)
        cpu_mean = np.bincount(row, weights=cpu * held, minlength=n) / total
        mem_mean = np.bincount(row, weights=mem * held, minlength=n) / total
        unplayed = total <= 0
        return np.where(unplayed, plain_cpu, cpu_mean), np.where(unplayed, plain_mem, mem_mean)


def data_end(*times) -> float:
    """The end of the data read: the latest of ``times`` (arrays or numbers, in the
    trace's unit), non-finite values left out; 0 when there is none.

    The one rule of the readers that censor lifetimes at the end of the data (Alibaba,
    Google 2011 and 2019, Azure): pass it every time column of every table read (events,
    usage, machines), so that an instance still running when the data end runs until the
    last moment any table saw, not until the last time of the table that describes it (the
    sample of Alibaba v2017 has ``server_event`` rows 21,000 s after its last
    ``batch_task`` time). Bitbrains' files are per VM and may come from separate
    recordings: a VM is censored at the end of its own recording (``bitbrains._censored``).
    """
    latest = 0.0
    for values in times:
        values = np.asarray(values, dtype=float).ravel()
        values = values[np.isfinite(values)]
        if len(values):
            latest = max(latest, float(values.max()))
    return latest


def shown(value) -> str:
    """A value as a message shows it: numpy scalars as plain numbers, text quoted."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, str):
        value = value.strip()
    return repr(value)


def count(counter: dict[str, int], reason: str, n: int) -> None:
    if n:
        counter[reason] = counter.get(reason, 0) + int(n)


def duplicate_rows(keys: pd.Series) -> np.ndarray:
    """Positions of rows whose key appeared in an earlier row."""
    return np.flatnonzero(keys.duplicated(keep="first").to_numpy())


# --- replaying part of a trace -------------------------------------------------------------


class Spans(NamedTuple):
    """When each instance ran in the trace (:func:`run_spans`), seconds: ``began`` and
    ``end`` its run; ``ready`` when it could be submitted, its ``submit_s`` or, if later,
    the end of its last parent."""

    began: np.ndarray
    end: np.ndarray
    ready: np.ndarray


def run_spans(instances: pd.DataFrame, through_s: float | None = None,
              links: tuple[np.ndarray, np.ndarray] | None = None) -> Spans:
    """When each instance ran in the trace: its start and end, seconds, and when it was
    ready to be submitted.

    ``duration_s`` is the time an instance ran, counted from its start. An instance
    starts at ``submit_s``, except where a reader gives the start apart (the column
    :data:`STARTED`): Google's attempts are submitted at their SUBMIT and run from their
    SCHEDULE (clusterdata-2011-2 and ClusterData2019 schemas; :mod:`.google`), the trace's
    wait between the two not replayed; their end is SCHEDULE + ``duration_s``, not
    SUBMIT + ``duration_s``.

    An instance with parents (:mod:`simdc.workload.dependencies`) cannot start before the
    last of them has ended, as the engine replays it (:mod:`simdc.engine.dependencies`:
    submitted at ``max(submit_s, its last parent's end)``): it is ready at
    ``max(submit_s, parents' ends)`` and starts at ``max(its own start, parents' ends)``,
    each parent's end found the same way first (a topological pass, one wave of the DAG
    at a time, vectorised over each wave). Without contention: the earliest the trace's
    dependencies allow, which is what a window replays (:func:`select`).

    ``through_s``: a censored instance (``censored``: still running when the data ends, its
    ``duration_s`` a lower bound) runs at least until then, and its children wait for it.
    ``links``: :func:`simdc.workload.dependencies.edges` of ``instances``, when the caller
    has them already.
    """
    submit = instances["submit_s"].to_numpy(float)
    own = instances[STARTED].to_numpy(float) if STARTED in instances else submit
    duration = instances["duration_s"].to_numpy(float)
    runs_on = (instances["censored"].to_numpy(bool) if through_s is not None and "censored" in instances
               else np.zeros(len(submit), dtype=bool))

    def ended(began: np.ndarray, rows) -> np.ndarray:
        end = began + duration[rows]
        return np.where(runs_on[rows], np.maximum(end, through_s if through_s is not None else end), end)

    from simdc.workload.dependencies import edges

    child, parent = edges(instances) if links is None else links
    if not len(child):
        return Spans(own, ended(own, slice(None)), submit)
    n = len(submit)
    after = np.full(n, -np.inf)  # the latest end among each row's parents
    end = np.full(n, np.nan)
    order = np.argsort(parent, kind="stable")
    kids = child[order]
    first = np.searchsorted(parent[order], np.arange(n + 1))  # row r's children: kids[first[r]:first[r + 1]]
    waiting = np.bincount(child, minlength=n)
    wave = np.flatnonzero(waiting == 0)
    while len(wave):
        end[wave] = ended(np.maximum(own[wave], after[wave]), wave)
        count = first[wave + 1] - first[wave]
        at = np.repeat(first[wave] - np.cumsum(count) + count, count) + np.arange(count.sum())
        mine = kids[at]
        np.maximum.at(after, mine, np.repeat(end[wave], count))
        np.subtract.at(waiting, mine, 1)
        wave = np.unique(mine[waiting[mine] == 0])
    if np.isnan(end).any():  # readers refuse cycles (dependencies.check)
        raise InputError(f"the dependencies of {int(np.isnan(end).sum()):,} instances form a cycle")
    return Spans(np.maximum(own, after), end, np.maximum(submit, after))


def select(data: TraceData, selection: Selection) -> TraceData:
    """The part of ``data`` that ``selection`` asks for (see :class:`Selection`).

    The window keeps the instances ready before its end whose run (:func:`run_spans`:
    with dependencies, the earliest their parents allow) ends after its start. One
    running at the window's start is replayed from time 0 with the rest of its run, and
    its usage series (offsets from its start) continues from the age it had then; one
    submitted before the window and still waiting at its start (Google's pending tasks,
    or a task whose parents are still running or waiting) is submitted at time 0 with its
    whole run, and waits in the replay for its parents that the window keeps. A parent
    that ended before the window's start is done: the dependencies on it are dropped. A
    censored one (still running when the data ends: its lifetime a lower bound) runs on
    in a replay of the whole trace, so it is running in any window after its submission,
    and runs at least through the window here (and on, as censored); its children
    cannot start in the window.

    A parent the sample or the limit leaves out passes its own parents on to its
    children, transitively; one with no ancestor kept counts as done before the replay
    (:func:`simdc.workload.dependencies.prune`, which says how many).
    """
    if selection.empty:
        return data
    from simdc.workload import dependencies

    instances, usage, notes = data.instances, data.usage, list(data.notes)
    if selection.time_window_s is not None:
        start, stop = (float(v) for v in selection.time_window_s)
        submit = instances["submit_s"].to_numpy(float)
        child, parent = dependencies.edges(instances)
        began, end, ready = run_spans(instances, through_s=stop, links=(child, parent))
        alive = (ready < stop) & (end > start)
        done = int((alive[child] & ~alive[parent]).sum())  # parents kept ended before the start (run_spans)
        # not replayed: cannot be submitted before the window's end (its own submit_s or a
        # parent's earliest end at or after it); a job with such a task and others replayed
        # cannot complete in the replay, as one cut by the horizon (load_workload)
        cut_off = ready >= stop
        waited = int((cut_off & (submit < stop)).sum())  # the others arrive after the window: not in it
        beyond, jobs_cut = (dependencies.cut_jobs(instances, cut_off) if cut_off.any() and len(child)
                            else (np.zeros(len(instances), dtype=bool), 0))
        submit, began, end, ready = submit[alive], began[alive], end[alive], ready[alive]
        age = np.maximum(start - began, 0.0)  # how long it had run at the window's start
        runs_from = np.maximum(began, start)
        # (every row kept, as when a reader applied the window already: no copy of the others)
        instances = (instances if alive.all() else instances[alive]).assign(
            submit_s=np.maximum(submit, start) - start, duration_s=end - runs_from,
            **({STARTED: runs_from - start} if STARTED in instances else {}),
            **({dependencies.BEYOND: beyond[alive]} if beyond[alive].any() else {}))
        instances, _ = dependencies.prune(instances)  # (counted as done above)
        running = int((age > 0).sum())
        for_parents = int(((submit < start) & (ready > start)).sum())
        pending = int(((submit < start) & (ready <= start) & (began >= start)).sum())
        notes.append(f"time window [{start:g}, {stop:g}) s: {len(instances):,} instances"
                     + (f", {running:,} of them already running at its start" if running else "")
                     + (f", {for_parents:,} submitted before it and waiting at its start for parents still "
                        "running or waiting (each replayed whole)" if for_parents else "")
                     + (f", {pending:,} submitted before it and still waiting to start" if pending else "")
                     + (f"; {done:,} {'dependency' if done == 1 else 'dependencies'} on parents that ended before "
                        "its start dropped (they are done)" if done else "")
                     + (f"; {waited:,} submitted before its end but waiting for parents that end at or after it"
                        ", not replayed" if waited else "")
                     + (f"; {jobs_cut:,} jobs have a task not replayed, and none of them counts as completed"
                        if jobs_cut else ""))
        if usage is not None and running:
            shift = pd.Series(age, index=instances["id"].to_numpy())
            shift = shift[shift > 0]
            usage = usage[usage["id"].isin(instances["id"])].sort_values(["id", "t_s"], kind="stable")
            moved = usage["id"].map(shift).fillna(0.0).to_numpy()
            t = usage["t_s"].to_numpy(float) - moved
            before = t < 0
            # Of the samples before the window, only the last (the value in force at its start) stays, at 0.
            last_before = before & ~pd.Series(before).groupby(usage["id"].to_numpy()).shift(-1, fill_value=False) \
                .to_numpy(dtype=bool)
            # ... unless a sample falls at the window's start itself: that one is in force
            at_start = usage["id"].isin(usage["id"].to_numpy()[t == 0.0]).to_numpy()
            usage = usage.assign(t_s=np.maximum(t, 0.0))[~before | (last_before & ~at_start)]
    chosen_from = instances  # the table the sample and the limit take their part of (prune)
    if selection.sample is not None:
        keep = stream_for(selection.seed, "workload:sample").random(len(instances)) < selection.sample
        instances = instances[keep]
        notes.append(f"sample: kept {len(instances):,} instances (each with probability {selection.sample:g})")
    if selection.limit is not None and len(instances) > selection.limit:
        instances = instances.iloc[: selection.limit]
        notes.append(f"limit: the first {selection.limit:,} instances by submit time")
    # (a file trace convert writes reads back)
    instances, left_out = dependencies.prune(instances, whole=chosen_from)
    notes += left_out
    instances = instances.sort_values("submit_s", kind="stable").reset_index(drop=True)
    if usage is not None:
        usage = usage[usage["id"].isin(instances["id"])].reset_index(drop=True)
        usage = usage if len(usage) else None
    return TraceData(instances, usage, data.format, data.source, dict(data.skipped), dict(data.dropped), notes,
                     selected=True)


def stream_for(seed: int, purpose: str) -> np.random.Generator:
    from simdc.random import stream

    return stream(seed, purpose)
