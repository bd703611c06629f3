"""simdc's own workload format: CSV or Parquet, one row per instance (see ``simdc.workload``).

The columns are named in the file (a header row in CSV), in any order; ``id``,
``submit_s``, ``duration_s``, ``cpu_cores`` and ``memory_gib`` are required, the others
optional (an empty value takes the default :mod:`simdc.workload` gives). Values are in
the units the column names say: seconds, cores, GiB.

Reading
-------
The file is streamed in blocks and checked against one declaration of the columns,
:data:`FIELDS` (plus :data:`POSITIVE`), by :func:`_check_values` for Parquet and CSV
alike. CSV is first read with its columns typed by Arrow (numbers straight to floats),
which is fast; a file in which anything is wrong is read again through the other
readers' validated text path (:func:`simdc.workload.readers.common.read_blocks`), so
that each problem is named by its line. A bad row (a value that is no number, empty
where required, out of range; a CSV row with more or fewer fields than the header; an
id seen before) is an error naming the file and the line (CSV, the header is line 1)
or row (Parquet), or, with ``on_bad_rows = "skip"``, is dropped and counted by reason.
A short row is never completed with defaults. Problems of the file as a whole (a
missing, unknown or repeated column, no instances) are errors in either mode. A
leading byte-order mark, CRLF line ends and blanks around values are read as if
absent; blank lines are skipped (and counted in line numbers). A line break inside a
quoted value is read, but the lines named after it are one short.
"""

from __future__ import annotations

import csv
import difflib
import lzma
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from simdc.errors import InputError
from simdc.workload import COLUMNS, KINDS, REQUIRED, Workload, dependencies
from simdc.workload.readers.common import (BLOCK_BYTES, LARGEST_INT, BadRows, Field, Table, TraceFile, head_lines,
                                           missing_line_end, open_data, EXPONENT_ID_TEXT, EXPONENT_REASON,
                                           decimal_integers, read_blocks, shown)

TABLE = "instances"  # the name bad rows are counted under
# The typed read's text per block, bytes: the columns are joined at the end, so a small
# block only bounds the text held at once. 1 MiB parses as fast as 16 MiB and holds less
# (benchmarks/README.md, "Erlang-B from a trace file (issue #16, `trace`)").
TYPED_BLOCK_BYTES = 1 << 20
# Every column, as the validators check it. Sizes, lifetimes and limits must also be
# > 0, which a Field's inclusive bounds cannot say: see POSITIVE.
FIELDS = {f.name: f for f in (
    Field("id", "str"),
    Field("submit_s", low=0.0),
    Field("duration_s"),
    Field("cpu_cores"),
    Field("memory_gib"),
    Field("cpu_used", required=False, low=0.0),
    Field("memory_used_gib", required=False, low=0.0),
    Field("kind", "str", required=False, choices=KINDS),
    Field("image", "str", required=False),
    Field("priority", "int", required=False),
    Field("cpu_limit", required=False),
    Field("memory_limit_gib", required=False),
    Field("membw_intensity", required=False, low=0.0, high=1.0),
    Field("io_intensity", required=False, low=0.0, high=1.0),
    Field("job", "str", required=False),
    # ids of the same file this instance waits for, separated by spaces (simdc.workload.dependencies)
    Field("parents", "str", required=False),
    Field("service", "str", required=False),  # another name for job (either, not both)
    # 1: the data ended while it ran, so duration_s is a lower bound (readers' censored flag,
    # simdc.workload.readers.common.canonical); it then runs on to the end of the run
    Field("censored", "int", required=False, low=0.0, high=1.0),
    # when it started running in the trace, where apart from submit_s (Google's SCHEDULE:
    # readers.common.run_spans); a time window judges it by that (trace convert keeps it)
    Field("started_s", required=False, low=0.0),
)}
POSITIVE = {"duration_s": "", "cpu_cores": "", "memory_gib": "",
            "cpu_limit": " (leave it empty for no limit)", "memory_limit_gib": " (leave it empty for no limit)"}
assert tuple(FIELDS)[:len(COLUMNS)] == COLUMNS  # and the optional parents and service
# A limit below its request: Kubernetes' API refuses the pod ("must be greater than or equal
# to <resource> request": kubernetes/kubernetes pkg/apis/core/validation/validation.go,
# ValidateResourceRequirements), so a trace row with one is refused too.
LIMITED = (("cpu_limit", "cpu_cores"), ("memory_limit_gib", "memory_gib"))
LIMIT_BELOW_REQUEST = " (Kubernetes refuses a request above its limit)"


def read(path: str | Path, on_bad_rows: str = "strict", block_bytes: int = BLOCK_BYTES) -> Workload:
    """Read and validate a workload file (``.csv``, ``.csv.gz`` or ``.parquet``).

    Parameters
    ----------
    path
        The file; a ``.parquet`` suffix reads Parquet, anything else CSV (``.gz``:
        gzipped CSV).
    on_bad_rows
        ``"strict"``: bad rows are errors; ``"skip"``: they are dropped and counted by
        reason in the result's ``skipped``.
    block_bytes
        CSV text read per block, bytes: bounds the memory held besides the result.

    Returns
    -------
    Workload
        The canonical instance table (:data:`simdc.workload.COLUMNS`), sorted by
        ``submit_s``, with ``skipped`` filled under ``"skip"``.

    Raises
    ------
    InputError
        Naming the file, the line (CSV) or row (Parquet) and the reason for the first
        bad rows (strict); a missing or unknown column; a file with no instances.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: workload file not found")
    bad = BadRows(on_bad_rows)
    return Workload(read_instances(path, bad, block_bytes), str(path), skipped=bad.skipped)


def read_instances(path: Path, bad: BadRows, block_bytes: int = BLOCK_BYTES) -> pd.DataFrame:
    """The canonical instance table of the workload file ``path``; bad rows go to ``bad``
    (see :func:`read`).

    A CSV file is first read with each column typed by Arrow, which is fast; a file in
    which Arrow or :func:`_check_values` finds anything wrong is read again through
    :func:`read_blocks` (every value as text), which names each problem's line and
    skips or reports it.
    """
    if path.name.lower().endswith(".parquet"):
        names = _parquet_columns(path)
        where = lambda row: f"{path}: row {int(row) + 1}"  # noqa: E731
        parts = [_check_values(values, rows, where, bad) for values, rows in _parquet_parts(path, names)]
        return _table(path, names, parts, where, bad)
    names = _header(path)
    _check_columns(path, names)
    # A file whose last line has no line end may be cut inside a value ("12" for "1234"),
    # which a typed read cannot see: the text path applies read_blocks' rule to that line.
    probe = BadRows("skip")
    parts = None if missing_line_end(path) else _typed_csv_parts(path, names, probe, block_bytes)
    if parts is not None and not probe.counts:
        table = _table(path, names, parts, None, probe, retry=True)
        if table is not None:
            return table
    table = Table("simdc", TABLE, tuple(FIELDS[n] for n in names), quote_char='"')
    tf = TraceFile(path, table, f"simdc:{TABLE}", header_lines=1, fields=len(names))
    parts, where = [], None
    try:
        for block in read_blocks(tf, names, _Deferred(bad), block_bytes):
            where = block.where
            parts.append(_check_values(block.values, block.row, where, bad, converted=True))
    except InputError:
        bad.check()  # the bad rows found before the file could not be read further come first
        raise
    bad.check()
    return _table(path, names, parts, where, bad)


def _typed_csv_parts(path: Path, names: list[str], probe: BadRows, block_bytes: int) -> list | None:
    """The checked parts of a CSV file read with typed columns (one part: the whole
    file), or None when Arrow refuses a value or a row's field count, or a check finds
    a bad row (the text path then finds and names it).

    The text is parsed in blocks of at most :data:`TYPED_BLOCK_BYTES`; each column is
    joined once and checked whole: a bad row here only sends the file to the text path,
    so nothing needs checking block by block.
    """
    types = {n: pa.string() if FIELDS[n].kind == "str" else pa.float64() for n in names}
    chunks: dict[str, list] = {n: [] for n in names}
    try:
        source = open_data(path)  # decompressed as the text path does (Arrow alone reads xz as text)
    except InputError:
        return None  # the text path reads the file again and names what is wrong
    try:
        reader = pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=False,
                                           block_size=min(block_bytes, TYPED_BLOCK_BYTES)),
            # a row with the wrong field count raises (Arrow's default): no handler, which
            # Arrow would call with the row decoded, and a row not UTF-8 would fail there
            # outside any try (printed as "Exception ignored in ...")
            parse_options=pacsv.ParseOptions(quote_char='"'),
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True, null_values=[""]),
        )
        for batch in reader:
            for n, chunk in zip(names, batch.columns):
                chunks[n].append(chunk)
    except (pa.ArrowException, OSError, EOFError, zlib.error, lzma.LZMAError):
        return None  # the text path reads the file again and names what is wrong
    finally:
        source.close()
    if not chunks[names[0]]:
        return None  # no rows: the text path says so
    values = {}
    for n in names:
        if FIELDS[n].kind == "str":
            values[n] = _typed(_concat(chunks[n]), FIELDS[n])
            continue
        # numbers: each block's values as floats, joined into one array of the table's own
        column = _concat([chunk.to_numpy(zero_copy_only=False) for chunk in chunks[n]])
        nulls = sum(chunk.null_count for chunk in chunks[n])
        if _has_nan_text(column, nulls):
            return None  # a "nan" in the text, which the typed read cannot tell from an empty value
        values[n] = column
    part = _check_values(values, np.arange(len(values[names[0]])), lambda row: "", probe)
    return None if probe.counts else [part]


def _has_nan_text(column: np.ndarray, nulls: int) -> bool:
    """Whether a typed column holds more NaN than it has empty values (``nulls``): a
    value written "nan", which a check of NaN would take for an empty one. Without
    empty values, one sum decides (NaN only if some value is NaN, or infinities of
    both signs are, which the full count then clears)."""
    if nulls == len(column):
        return False
    if not nulls and not np.isnan(np.add.reduce(column)):
        return False
    return int(np.count_nonzero(np.isnan(column))) > nulls


def _typed(column: pa.Array, spec: Field):
    """A typed column as the checks take it: numbers as a float64 numpy array with NaN
    where empty; text as an Arrow string array, trimmed, null where empty."""
    if spec.kind != "str":
        if not pa.types.is_floating(column.type):
            column = pc.cast(column, pa.float64())
        return column.to_numpy(zero_copy_only=False)
    if not pa.types.is_string(column.type):
        column = pc.cast(column, pa.string())
    if not _may_need_trimming(column) and not pc.any(pc.equal(pc.binary_length(column), 0)).as_py():
        return column  # nothing to trim, and no empty value to make null
    trimmed = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def _value_bytes(column: pa.Array) -> np.ndarray:
    """The bytes of a string column's values buffer, as uint8 (no copy). It may hold
    bytes of values outside a slice: a scan of it can only over-report."""
    data = column.buffers()[2]
    return np.empty(0, np.uint8) if data is None else np.frombuffer(data, np.uint8)


def _may_need_trimming(column: pa.Array) -> bool:
    """False when no value can hold what ``utf8_trim_whitespace`` trims: no byte outside
    printable ASCII (it trims \\t-\\r, \\x1c-\\x1f and space, and Unicode's other spaces,
    U+0085, U+00A0, U+2000-U+200A, ..., all multi-byte). One scan at memory speed."""
    return bool((_value_bytes(column) - np.uint8(0x21) >= 0x5F).any())  # uint8 wraps: below 0x21 too


def _may_break_lines(column: pa.Array) -> bool:
    """False when no value holds a CR or LF byte."""
    data = _value_bytes(column)
    return bool((data == 0x0A).any() or (data == 0x0D).any())


def _parquet_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        with open(path, "rb") as source:  # by Python: pyarrow takes no name that is not UTF-8
            schema = pq.read_schema(source)
    except (OSError, pa.ArrowException) as err:
        raise InputError(f"{path}: cannot read as Parquet: {err}") from None
    names = list(schema.names)
    _check_columns(path, names)
    for name in names:
        kind = schema.field(name).type
        if FIELDS[name].kind != "str" and not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                                               or pa.types.is_null(kind)
                                               or (name == "censored" and pa.types.is_boolean(kind))):
            raise InputError(f"{path}: column {name!r} holds {kind} values, expected numbers")
    return names


def _parquet_parts(path: Path, names: list[str], batch_rows: int = 1 << 20):
    import pyarrow.parquet as pq

    start = 0
    try:
        with open(path, "rb") as handle:
            for batch in pq.ParquetFile(handle).iter_batches(batch_size=batch_rows, columns=names):
                rows = np.arange(start, start + batch.num_rows)
                start += batch.num_rows
                values = {}
                for name in names:
                    column = batch.column(name)
                    if name == "id" and pa.types.is_integer(column.type) and column.null_count == 0:
                        values[name] = column.to_numpy().astype(np.int64)  # integer ids stay integers
                    elif name == "id" and _whole_floats(column):  # integer ids stored as floats: "1.0", which
                        # the ids' reading takes as the integers they are, and notes (common.decimal_integers)
                        values[name] = pa.array([None if v is None else repr(v) for v in column.to_pylist()],
                                                pa.string())
                    elif name == "parents" and (pa.types.is_list(column.type) or pa.types.is_large_list(column.type)):
                        values[name] = pa.array([None if ids is None else " ".join(str(i) for i in ids)
                                                 for ids in column.to_pylist()], pa.string())  # a list of ids: as text
                    else:
                        values[name] = _typed(column, FIELDS[name])
                yield values, rows
    except (OSError, pa.ArrowException) as err:
        raise InputError(f"{path}: cannot read as Parquet: {str(err).strip()[:200]}") from None


def _whole_floats(column: pa.Array) -> bool:
    """Whether ``column`` is of floats, every one finite and whole."""
    if not pa.types.is_floating(column.type):
        return False
    values = column.to_numpy(zero_copy_only=False)
    values = values[~np.isnan(values)]
    return bool(np.isfinite(values).all() and (values % 1 == 0).all())


class _Deferred:
    """``bad`` as :func:`read_blocks` sees it: its rows are counted or collected as
    usual, but strict mode raises only once :func:`_check_values` has checked the same block,
    so that every problem of the block is reported together."""

    def __init__(self, bad: BadRows):
        self.bad = bad

    def report(self, *args, **kwargs) -> None:
        self.bad.report(*args, **kwargs)

    def decimal(self, *args, **kwargs) -> None:
        self.bad.decimal(*args, **kwargs)

    def check(self) -> None:
        pass

    @property
    def cause(self) -> str | None:  # what read_blocks says the bad rows have in common
        return self.bad.cause

    @cause.setter
    def cause(self, text: str | None) -> None:
        self.bad.cause = text


def _header(path: Path) -> list[str]:
    lines = head_lines(path, lines=1)
    if not lines:
        raise InputError(f"{path}: the file is empty (expected a header: {', '.join(REQUIRED)}, ...)")
    header = lines[0].lstrip("\ufeff")  # spreadsheets' "CSV UTF-8" starts with a byte-order mark
    try:
        return [name.strip() for name in next(csv.reader([header], skipinitialspace=True))]
    except csv.Error as err:
        raise InputError(f"{path}: line 1: cannot read the header: {err}") from None


def _check_columns(path: Path, names: list[str]) -> None:
    problems: list[str] = []
    for column in dict.fromkeys(n for n in names if n not in FIELDS):
        close = difflib.get_close_matches(column, list(FIELDS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; expected columns: {', '.join(FIELDS)}"
        problems.append(f"{path}: unknown column {column!r}{hint}")
    repeated = sorted({n for n in names if names.count(n) > 1 and n in FIELDS})
    if repeated:
        problems.append(f"{path}: column(s) given more than once: {', '.join(repeated)}")
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        problems.append(f"{path}: missing required column(s): {', '.join(missing)}")
    if problems:
        raise InputError(problems)


def _check_values(values: dict[str, np.ndarray], rows: np.ndarray, where, bad: BadRows, converted: bool = False):
    """Check one block's typed columns against :data:`FIELDS` and :data:`POSITIVE`; bad
    rows go to ``bad`` (``where(row)`` names a row). ``converted``: the text path has
    applied the fields already (:func:`read_blocks`), only :data:`POSITIVE` is left.
    Returns (values, rows) without the bad rows.

    The messages are those of the text path's converter, so a value is reported alike
    whichever way it was read.
    """
    keep = np.ones(len(rows), dtype=bool)
    values = {name: pa.array(column, type=pa.string(), from_pandas=True)
              if isinstance(column, np.ndarray) and column.dtype == object else column
              for name, column in values.items()}

    def flag(mask: np.ndarray, reason: str, column=None) -> None:
        found = np.flatnonzero(mask & keep)
        if len(found):
            detail = None if column is None else (lambda i: f" (got {_shown(column[int(i)])})")
            bad.report(TABLE, found, reason, lambda i: where(rows[i]), detail)
            keep[found] = False

    with np.errstate(invalid="ignore"):
        for name, column in values.items():
            spec = FIELDS[name]
            if spec.kind == "str" and isinstance(column, pa.Array):
                # a line break inside a value: a quote opened and never closed swallows the
                # lines after it into one field, which must not pass for a value
                if _may_break_lines(column):
                    broken = pc.match_substring_regex(column, "[\r\n]").fill_null(False)
                    flag(broken.to_numpy(zero_copy_only=False),
                         f"{name} holds a line break (a quote opened and not closed?)")
            if name == "id" and isinstance(column, pa.Array):
                # an integer id a spreadsheet saved as 2.60385E+11: no longer the id recorded
                exponent = pc.match_substring_regex(column, EXPONENT_ID_TEXT).fill_null(False)
                flag(exponent.to_numpy(zero_copy_only=False), f"id {EXPONENT_REASON}", column)
            if isinstance(column, np.ndarray) and column.dtype.kind == "f" and _clean_numbers(column, spec,
                                                                                         name in POSITIVE):
                continue  # nothing below can flag a value of it
            if converted or not (isinstance(column, pa.Array) or column.dtype.kind == "f"):
                pass  # checked as text already; integer Parquet ids
            elif spec.kind == "str":
                if spec.required and column.null_count:
                    flag(column.is_null().to_numpy(zero_copy_only=False), f"{name} is empty")
                if spec.choices is not None:
                    # each value one of the (distinct) choices, or empty: the counts add up
                    if sum(pc.equal(column, choice).true_count for choice in spec.choices) + column.null_count \
                            < len(column):
                        empty = column.is_null().to_numpy(zero_copy_only=False)
                        valid = pc.is_in(column, value_set=pa.array(spec.choices)).fill_null(False)
                        flag(~empty & ~valid.to_numpy(zero_copy_only=False),
                             f"{name} must be one of {', '.join(spec.choices)}", column)
            else:
                empty = np.isnan(column)  # typed reads give NaN for empty; a NaN in the data is no finite number
                if spec.required:
                    flag(empty, f"{name} is empty")
                finite = np.isfinite(column)
                flag(~finite & ~empty, f"{name} must be a finite number", column)
                if spec.kind == "int":
                    flag(finite & (np.mod(np.where(finite, column, 0), 1) != 0), f"{name} must be an integer", column)
                    flag(finite & (np.abs(column) >= LARGEST_INT), f"{name} is out of range", column)
                if spec.low is not None and spec.high is not None:
                    flag((column < spec.low) | (column > spec.high), f"{name} must be in [{spec.low:g}, {spec.high:g}]",
                         column)
                elif spec.low is not None:
                    flag(column < spec.low, f"{name} must be >= {spec.low:g}", column)
            if name in POSITIVE:
                flag(column <= 0, f"{name} must be > 0{POSITIVE[name]}", column)
        for limit, request in LIMITED:
            if limit in values and request in values:
                lim, req = values[limit], values[request]
                found = np.flatnonzero((lim < req) & keep)  # NaN (no limit) compares False
                if len(found):
                    bad.report(TABLE, found, f"{limit} must be >= {request}{LIMIT_BELOW_REQUEST}",
                               lambda i: where(rows[i]),
                               lambda i: f" (got {limit} {_shown(lim[int(i)])} < {request} {_shown(req[int(i)])})")
                    keep[found] = False
    bad.check()
    if not keep.all():
        values = {name: _take(column, keep) for name, column in values.items()}
        rows = rows[keep]
    return values, rows


def _clean_numbers(column: np.ndarray, spec: Field, positive: bool) -> bool:
    """True when no check of :func:`_check_values` can flag a value of the float column
    ``column`` (``positive``: it is one of :data:`POSITIVE`): its extremes, NaN aside,
    finite and within the field's bounds, and no NaN where a value is required (an
    integer field: every value whole and in range). A few passes without the masks;
    False sends the column through the masks, which name the rows."""
    if not len(column):
        return True
    lo, hi = np.fmin.reduce(column), np.fmax.reduce(column)  # NaN only when every value is NaN
    if lo != lo:
        return not spec.required
    if not (-np.inf < lo and hi < np.inf):
        return False
    if (spec.low is not None and lo < spec.low) or (spec.high is not None and hi > spec.high) or (positive and lo <= 0):
        return False
    # finite extremes: a NaN sum means a NaN (or partial sums overflowing both ways: the masks clear it)
    if spec.required and np.isnan(np.add.reduce(column)):
        return False
    if spec.kind == "int":
        if max(-lo, hi) >= LARGEST_INT:
            return False
        fraction = np.trunc(column)
        np.subtract(column, fraction, out=fraction)  # 0 for a whole number, NaN for NaN
        return np.fmin.reduce(fraction) == 0 and np.fmax.reduce(fraction) == 0
    return True


def _take(column, which: np.ndarray):
    """``column`` (numpy or Arrow) at a boolean mask or at positions."""
    if isinstance(column, np.ndarray):
        return column[which]
    return column.filter(pa.array(which)) if which.dtype == bool else column.take(pa.array(which))


def _shown(value) -> str:
    if isinstance(value, pa.Scalar):
        value = value.as_py()
    return f"{value:g}" if isinstance(value, (float, np.floating)) else shown(value)


def _table(path: Path, names: list[str], parts: list, where, bad: BadRows,
           retry: bool = False) -> pd.DataFrame | None:
    """The canonical table from the checked parts: defaults filled, ids unique, sorted.

    ``retry`` (the typed CSV read, which cannot name lines): None when the table is
    empty or an id repeats, for the text path to report it.
    """
    if not parts or sum(len(p[1]) for p in parts) == 0:
        if retry:
            return None
        bad.check()
        skipped = sum(bad.counts.values())
        raise InputError(f"{path}: no instances (" + (f"every row is bad: {skipped:,} skipped)" if skipped
                                                      else "the table has no rows)"))
    rows = np.concatenate([p[1] for p in parts])
    given = {name: _concat([p[0][name] for p in parts]) for name in names}
    if retry and _floating(given["id"]):
        return None  # ids Arrow typed as floats ("1.0"): the text path reads them and names their lines
    ids, decimal = _ids(given["id"])
    if decimal is not None and retry:
        return None  # the text path names the lines of the ids written as decimals
    if decimal is not None:
        written = given["id"]
        bad.decimal(TABLE, "id", np.flatnonzero(decimal), (lambda i: where(rows[i])) if where else None,
                    lambda i: written[int(i)].as_py() if isinstance(written, pa.Array) else written[int(i)])
    repeated = _repeated(ids)
    if repeated is not None:
        if retry:
            return None
        found = np.flatnonzero(repeated)
        bad.report(TABLE, found, "id appears more than once", lambda i: where(rows[i]),
                   lambda i: f" (got {_shown(ids[int(i)])})")
        bad.check()
        keep = ~repeated
        ids, rows = _take(ids, keep), rows[keep]
        given = {name: _take(column, keep) for name, column in given.items()}
    n = len(ids)

    def number(name: str, default) -> np.ndarray:
        """Column ``name`` as floats, ``default`` (a number or an array) where empty or absent."""
        column = given.get(name)
        if column is None:
            return np.broadcast_to(np.asarray(default, dtype=float), (n,))
        if np.isscalar(default) and np.isnan(default):
            return column  # empty stays NaN
        return np.where(np.isnan(column), default, column) if np.isnan(column).any() else column

    def sort(column):
        if order is None:  # a plain writable copy where Arrow or numpy gave a read-only view
            return column.to_pandas() if isinstance(column, pa.Array) else \
                column if column.flags.writeable and column.strides[0] else np.array(column)
        return _take(column, order).to_pandas() if isinstance(column, pa.Array) else column[order]

    columns = {name: given[name].astype(float, copy=False) for name in REQUIRED[1:]}
    columns["cpu_used"] = number("cpu_used", columns["cpu_cores"])
    columns["memory_used_gib"] = number("memory_used_gib", columns["memory_gib"])
    kind = given.get("kind")
    codes = (np.zeros(n, dtype=np.int8) if kind is None else
             pc.equal(kind, KINDS[1]).fill_null(False).to_numpy(zero_copy_only=False).astype(np.int8))
    image = given.get("image")
    image = pc.fill_null(pa.nulls(n, pa.string()) if image is None else image, "")
    submit = columns["submit_s"]
    # Files are mostly written in submit order: then nothing needs to move.
    order = None if (submit[1:] >= submit[:-1]).all() else np.argsort(submit, kind="stable")
    table = {"id": sort(ids)}
    for name, column in columns.items():
        table[name] = sort(column)
    table["kind"] = pd.Categorical.from_codes(sort(codes), categories=KINDS)
    table["image"] = sort(image)
    table["priority"] = sort(number("priority", 0.0)).astype(np.int64)
    for name, default in (("cpu_limit", np.nan), ("memory_limit_gib", np.nan), ("membw_intensity", 0.0),
                          ("io_intensity", 0.0)):
        table[name] = sort(number(name, default))
    if "job" in given and "service" in given:
        raise InputError(f"{path}: columns job and service both given; they are one column (the job or service an "
                         "instance is a replica of): keep one")
    job = given.get("job", given.get("service"))
    if job is None or job.null_count == n:  # in no job: every value "", as the general case would give it
        table["job"] = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8),
                                                 dtype=pd.Categorical(pa.array([""]).to_pandas()).dtype)
    else:
        table["job"] = pd.Categorical(sort(pc.fill_null(job, "")))
    if "parents" in given:
        table["parents"] = np.asarray(sort(pc.fill_null(given["parents"], "")), dtype=object)
    if "censored" in given:
        table["censored"] = sort(number("censored", 0.0)).astype(bool)
    if "started_s" in given:  # empty: started when submitted
        started = number("started_s", submit)
        early = np.flatnonzero(started < submit)
        if len(early):
            k = int(early[0])
            raise InputError(f"{path}: {len(early):,} rows have started_s before their submit_s (the first: id "
                             f"{_shown(ids[k] if isinstance(ids, np.ndarray) else ids[k].as_py())}, started_s "
                             f"{started[k]:g} < submit_s {submit[k]:g}); an instance starts when or after it is "
                             "submitted")
        table["started_s"] = sort(started)
    # copy=False: each column stays its own block, as it is (no copy, nothing
    # consolidated into a 2-D block; each array above is this table's own).
    frame = pd.DataFrame(table, copy=False)
    if "parents" in frame:
        dependencies.check(frame, str(path), sum(bad.counts.values()))
    return frame


def _concat(chunks: list):
    if len(chunks) == 1:
        return chunks[0]
    if isinstance(chunks[0], np.ndarray):
        return np.concatenate(chunks)
    return pa.concat_arrays(chunks)


def _repeated(ids) -> np.ndarray | None:
    """Which ids appeared in an earlier row; None when none did."""
    index = pd.Index(ids if isinstance(ids, np.ndarray) else ids.to_pandas())
    if index.is_unique:  # a hash table (sorted ids: a scan); np.unique is several times slower
        return None
    return index.duplicated(keep="first")


def _floating(ids) -> bool:
    """Whether ``ids`` (numpy or Arrow) was typed as floats (by Arrow's typed CSV read, or Parquet)."""
    return ids.dtype.kind == "f" if isinstance(ids, np.ndarray) else pa.types.is_floating(ids.type)


def _ids(ids):
    """Integer ids stay integers (``1``, ``01`` and ``1.0`` are the same id): an int64
    array; anything else is text, an Arrow string array. With it, which ids were written
    as decimals ("1.0": :func:`~simdc.workload.readers.common.decimal_integers`), or None."""
    if isinstance(ids, np.ndarray):
        if ids.dtype.kind in "iu":
            return ids.astype(np.int64), None
        ids = pa.array(ids.astype(str), type=pa.string())
    elif _floating(ids):
        ids = pc.cast(ids, pa.string())
    try:
        return pc.cast(ids, pa.int64()).to_numpy(zero_copy_only=False), None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    fixed, decimal = decimal_integers(ids)
    if decimal.any():
        try:
            return pc.cast(fixed, pa.int64()).to_numpy(zero_copy_only=False), decimal
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    try:
        numbers = pc.cast(ids, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return ids, None
    # Beyond 2**53 a float no longer holds every integer: keep such ids as text.
    with np.errstate(invalid="ignore"):
        if np.isfinite(numbers).all() and (numbers % 1 == 0).all() and (np.abs(numbers) <= 2**53).all():
            return numbers.astype(np.int64), None
    return ids, None


def write(instances: pd.DataFrame, path: str | Path) -> Path:
    """Write an instance table in simdc's format; the suffix picks CSV or Parquet."""
    path = Path(path)
    table = instances[list(COLUMNS) + ([dependencies.PARENTS] if dependencies.has_parents(instances) else [])]
    if "censored" in instances:  # 0/1: the format's number columns (a CSV "True" is no number)
        table = table.assign(censored=instances["censored"].to_numpy(bool).astype(np.int8))
    if "started_s" in instances:  # a start apart from the submit (Google's), for a later time window
        table = table.assign(started_s=instances["started_s"].to_numpy(float))
    if path.suffix == ".parquet":
        with open(path, "wb") as sink:  # by Python: pyarrow takes no name that is not UTF-8
            table.to_parquet(sink, index=False)
    else:
        table.to_csv(path, index=False)
    return path
