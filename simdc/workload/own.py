"""simdc's own workload format: CSV or Parquet, one row per instance (see ``simdc.workload``).

The columns are named in the file (a header row in CSV), in any order; ``id``,
``submit_s``, ``duration_s``, ``cpu_cores`` and ``memory_gib`` are required, the others
optional (an empty value takes the default :mod:`simdc.workload` gives). Values are in
the units the column names say: seconds, cores, GiB.

Reading
-------
The file is streamed through the readers' validated path
(:func:`simdc.workload.readers.common.read_blocks` for CSV, ``check_frame`` for Parquet)
against one declaration of the columns, :data:`FIELDS`, so both give the same checks and
the same messages. A bad row (a value that is no number, empty where required, out of
range; a CSV row with more or fewer fields than the header; an id seen before) is an
error naming the file and the line (CSV, the header is line 1) or row (Parquet), or,
with ``on_bad_rows = "skip"``, is dropped and counted by reason. A short row is never
completed with defaults. Problems of the file as a whole (a missing or unknown column,
no instances) are errors in either mode.
"""

from __future__ import annotations

import csv
import difflib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from simdc.errors import InputError
from simdc.workload import COLUMNS, KINDS, REQUIRED, Workload
from simdc.workload.readers.common import (BLOCK_BYTES, BadRows, Field, Table, TraceFile, check_frame, head_lines,
                                           parquet_batches, read_blocks, shown)

TABLE = "instances"  # the name bad rows are counted under
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
)}
POSITIVE = {"duration_s": "", "cpu_cores": "", "memory_gib": "",
            "cpu_limit": " (leave it empty for no limit)", "memory_limit_gib": " (leave it empty for no limit)"}
NUMERIC = tuple(name for name, f in FIELDS.items() if f.kind != "str")
assert tuple(FIELDS) == COLUMNS


def read(path: str | Path, on_bad_rows: str = "strict", block_bytes: int = BLOCK_BYTES) -> Workload:
    """Read and validate a workload file (``.csv``, ``.csv.gz`` or ``.parquet``).

    Parameters
    ----------
    path
        The file; a ``.parquet`` suffix reads Parquet, anything else CSV (gzip is
        recognised by its content).
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
    (see :func:`read`)."""
    if path.name.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        try:
            names = list(pq.read_schema(path).names)
        except (OSError, pa.ArrowException) as err:
            raise InputError(f"{path}: cannot read as Parquet: {err}") from None
        _check_columns(path, names)
        parts = [_parquet_part(path, frame, names, bad) for frame in parquet_batches(path, names)]
        where = lambda row: f"{path}: row {int(row) + 1}"  # noqa: E731
    else:
        names = _header(path)
        _check_columns(path, names)
        table = Table("simdc", TABLE, tuple(FIELDS[n] for n in names), quote_char='"')
        tf = TraceFile(path, table, f"simdc:{TABLE}", header_lines=1, fields=len(names))
        parts, where = [], None
        try:
            for block in read_blocks(tf, names, _Deferred(bad), block_bytes):
                where = block.where
                parts.append(_checked(block.values, block.row, where, bad))
        except InputError:
            bad.check()  # the bad rows found before the file could not be read further come first
            raise
        bad.check()
    if not parts or sum(len(p[1]) for p in parts) == 0:
        skipped = sum(bad.counts.values())
        raise InputError(f"{path}: no instances (" + (f"all {skipped:,} rows are bad and were skipped)" if skipped
                                                      else "the table has no rows)"))
    return _table(path, names, parts, where, bad)


class _Deferred:
    """``bad`` as :func:`read_blocks` sees it: its rows are counted or collected as
    usual, but strict mode raises only once :func:`_checked` has checked the same block,
    so that every problem of the block is reported together."""

    def __init__(self, bad: BadRows):
        self.bad = bad

    def report(self, *args, **kwargs) -> None:
        self.bad.report(*args, **kwargs)

    def check(self) -> None:
        pass


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
        close = difflib.get_close_matches(column, COLUMNS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; expected columns: {', '.join(COLUMNS)}"
        problems.append(f"{path}: unknown column {column!r}{hint}")
    repeated = sorted({n for n in names if names.count(n) > 1 and n in FIELDS})
    if repeated:
        problems.append(f"{path}: column(s) given more than once: {', '.join(repeated)}")
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        problems.append(f"{path}: missing required column(s): {', '.join(missing)}")
    if problems:
        raise InputError(problems)


def _parquet_part(path: Path, frame: pd.DataFrame, names: list[str], bad: BadRows):
    frame = check_frame(frame, path, TABLE, [FIELDS[n] for n in names], bad)
    rows = frame["_row"].to_numpy()
    values: dict[str, np.ndarray] = {}
    for name in names:
        column = frame[name]
        if FIELDS[name].kind == "str":
            text = column.astype(object).where(column.notna(), None)
            if name != "id":  # ids keep their Parquet type: integer ids stay integers
                text = text.map(lambda v: v.strip() if isinstance(v, str) else v if v is None else str(v))
                text = text.where(text != "", None)
            values[name] = text.to_numpy(dtype=object)
        else:
            values[name] = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return _checked(values, rows, lambda row: f"{path}: row {int(row) + 1}", bad)


def _checked(values: dict[str, np.ndarray], rows: np.ndarray, where, bad: BadRows):
    """The checks a :class:`Field` cannot state, on one block's converted columns: sizes
    > 0; ``kind`` among :data:`KINDS` (CSV checks it while converting, Parquet here).
    Returns (values, rows) without the bad rows."""
    keep = np.ones(len(rows), dtype=bool)

    def flag(mask: np.ndarray, reason: str, column: np.ndarray) -> None:
        found = np.flatnonzero(mask & keep)
        if len(found):
            bad.report(TABLE, found, reason, lambda i: where(rows[i]), lambda i: f" (got {_shown(column[i])})")
            keep[found] = False

    for name, hint in POSITIVE.items():
        if name in values:
            column = values[name]
            with np.errstate(invalid="ignore"):
                flag(column <= 0, f"{name} must be > 0{hint}", column)
    if "kind" in values:
        kind = values["kind"]
        flag(~np.isin(kind, (*KINDS, None)), f"kind must be one of {', '.join(KINDS)}", kind)
    bad.check()
    if not keep.all():
        values = {name: column[keep] for name, column in values.items()}
        rows = rows[keep]
    return values, rows


def _shown(value) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else shown(value)


def _table(path: Path, names: list[str], parts: list, where, bad: BadRows) -> pd.DataFrame:
    """The canonical table from the checked parts: defaults filled, ids unique, sorted."""
    rows = np.concatenate([p[1] for p in parts])
    given = {name: np.concatenate([p[0][name] for p in parts]) for name in names}
    ids = _ids(given["id"])
    repeated = pd.Series(ids).duplicated(keep="first").to_numpy()
    if repeated.any():
        found = np.flatnonzero(repeated)
        bad.report(TABLE, found, "id appears more than once", lambda i: where(rows[i]),
                   lambda i: f" (got {shown(ids[i])})")
        bad.check()
        keep = ~repeated
        ids, rows = ids[keep], rows[keep]
        given = {name: column[keep] for name, column in given.items()}
    n = len(ids)

    def number(name: str, default) -> np.ndarray:
        """Column ``name`` as floats, ``default`` (a number or an array) where empty or absent."""
        column = given.get(name)
        if column is None:
            return np.broadcast_to(np.asarray(default, dtype=float), (n,)).copy()
        column = column.astype(float)
        return np.where(np.isnan(column), default, column)

    columns = {name: given[name].astype(float, copy=False) for name in REQUIRED[1:]}
    columns["cpu_used"] = number("cpu_used", columns["cpu_cores"])
    columns["memory_used_gib"] = number("memory_used_gib", columns["memory_gib"])
    kind = given.get("kind")
    codes = np.zeros(n, dtype=np.int8) if kind is None else (kind == KINDS[1]).astype(np.int8)
    image = given.get("image")
    image = np.full(n, "", dtype=object) if image is None else np.where(pd.isna(image), "", image)
    priority = number("priority", 0.0).astype(np.int64)
    order = np.argsort(columns["submit_s"], kind="stable")
    # Column by column: a dict of 10^7-row arrays would be copied into one 2-D block.
    frame = pd.DataFrame({"id": ids[order]})
    for name, column in columns.items():
        frame[name] = column[order]
    frame["kind"] = pd.Categorical.from_codes(codes[order], categories=KINDS)
    frame["image"] = image[order]
    frame["priority"] = priority[order]
    frame["cpu_limit"] = number("cpu_limit", np.nan)[order]
    frame["memory_limit_gib"] = number("memory_limit_gib", np.nan)[order]
    frame["membw_intensity"] = number("membw_intensity", 0.0)[order]
    frame["io_intensity"] = number("io_intensity", 0.0)[order]
    return frame[list(COLUMNS)]


def _ids(ids: np.ndarray) -> np.ndarray:
    """Integer ids stay integers (``1``, ``01`` and ``1.0`` are the same id); anything
    else is text."""
    if ids.dtype.kind in "iu":
        return ids.astype(np.int64)
    if ids.dtype.kind != "f":
        try:
            text = pa.array(ids, type=pa.string())
        except (pa.ArrowTypeError, pa.ArrowInvalid):  # mixed Python types from Parquet
            ids = np.array([str(v).strip() for v in ids], dtype=object)
            text = pa.array(ids, type=pa.string())
        try:
            return pc.cast(text, pa.int64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            numbers = pd.to_numeric(pd.Series(ids, dtype=object), errors="coerce").to_numpy(float)
    else:
        numbers = ids
    # Beyond 2**53 a float no longer holds every integer: keep such ids as text.
    with np.errstate(invalid="ignore"):
        if np.isfinite(numbers).all() and (numbers % 1 == 0).all() and (np.abs(numbers) <= 2**53).all():
            return numbers.astype(np.int64)
    return ids if ids.dtype == object else np.array([str(v) for v in ids], dtype=object)


def write(instances: pd.DataFrame, path: str | Path) -> Path:
    """Write an instance table in simdc's format; the suffix picks CSV or Parquet."""
    path = Path(path)
    table = instances[list(COLUMNS)]
    if path.suffix == ".parquet":
        table.to_parquet(path, index=False)
    else:
        table.to_csv(path, index=False)
    return path
