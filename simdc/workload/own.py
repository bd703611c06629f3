"""simdc's own workload format: CSV or Parquet, one row per instance (see ``simdc.workload``)."""

from __future__ import annotations

import csv
import difflib
import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from simdc.errors import InputError
from simdc.workload import COLUMNS, KINDS, REQUIRED, Workload

MAX_REPORTED = 5
NUMERIC = ("submit_s", "duration_s", "cpu_cores", "memory_gib", "cpu_used", "memory_used_gib", "priority",
           "cpu_limit", "memory_limit_gib", "membw_intensity", "io_intensity")


def read(path: str | Path) -> Workload:
    """Read and validate a workload file (``.csv``, ``.csv.gz`` or ``.parquet``).

    Raises
    ------
    InputError
        Naming the file, the line (CSV) or row (Parquet) and the reason, for the first
        few problems; nothing is silently dropped or guessed.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: workload file not found")
    parquet = path.suffix == ".parquet"
    try:
        if parquet:
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as err:
        raise InputError(f"{path}: cannot read as {'Parquet' if parquet else 'CSV'}: {err}".strip()) from None
    where = (lambda row: f"row {row + 1}") if parquet else _CsvLines(path, len(frame))
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas takes the extra leading fields of a first row longer than the header
        # as an index, shifting every value one column along: refuse, never guess.
        fields = len(frame.columns) + frame.index.nlevels
        raise InputError(f"{path}: {where(0)}: {fields} fields, but the header has {len(frame.columns)} columns")
    return Workload(normalise(frame, str(path), where), str(path))


class _CsvLines:
    """Names a data row by its line in the CSV file (the header is line 1), counting the
    blank lines pandas skips and line breaks inside quoted fields. The file is scanned
    again only when a problem is reported."""

    def __init__(self, path: Path, rows: int):
        self.path, self.rows, self.starts = path, rows, None

    def __call__(self, row: int) -> str:
        if self.starts is None:
            self.starts = self._record_starts()
        if len(self.starts) == self.rows + 1:  # header + rows: the scan agrees with pandas
            return f"line {self.starts[row + 1]}"
        return f"line {row + 2}"

    def _record_starts(self) -> list[int]:
        starts, line = [], 1
        opener = gzip.open if self.path.suffix == ".gz" else open
        try:
            with opener(self.path, "rt", newline="", encoding="utf-8", errors="replace") as file:
                reader = csv.reader(file, skipinitialspace=True)
                for record in reader:
                    if len(record) > 1 or (record and record[0].strip()):  # pandas skips blank lines
                        starts.append(line)
                    line = reader.line_num + 1
        except (OSError, csv.Error):
            return []
        return starts


def normalise(frame: pd.DataFrame, source: str, where=lambda row: f"row {row + 1}") -> pd.DataFrame:
    """Check a raw instance table and return it in canonical form, sorted by ``submit_s``.

    ``where(row)`` names a row for messages (``line 7``). Every check is vectorised.
    """
    problems: list[str] = []

    unknown = [c for c in frame.columns if c not in COLUMNS]
    for column in unknown:
        close = difflib.get_close_matches(column, COLUMNS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; expected columns: {', '.join(COLUMNS)}"
        problems.append(f"{source}: unknown column {column!r}{hint}")
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        problems.append(f"{source}: missing required column(s): {', '.join(missing)}")
    if problems:
        raise InputError(problems)
    if len(frame) == 0:
        raise InputError(f"{source}: no instances (the table has no rows)")

    out = pd.DataFrame(index=frame.index)
    out["id"] = frame["id"]
    for column in NUMERIC:
        if column not in frame.columns:
            continue
        raw = frame[column]
        values = pd.to_numeric(raw, errors="coerce").astype(float)
        blank = raw.isna() | (raw.astype(str).str.strip() == "")
        bad = values.isna() & ~blank
        _report(problems, source, where, bad, lambda r: f"{column} is not a number ({frame[column].iloc[r]!r})")
        if column in REQUIRED:
            _report(problems, source, where, blank, lambda r: f"{column} is empty")
        out[column] = values

    def check(column: str, mask: pd.Series, rule: str) -> None:
        _report(problems, source, where, mask.fillna(False),
                lambda r: f"{column} {rule} (got {out[column].iloc[r]:g})")

    check("submit_s", out["submit_s"] < 0, "must be >= 0")
    check("duration_s", out["duration_s"] <= 0, "must be > 0")
    check("cpu_cores", out["cpu_cores"] <= 0, "must be > 0")
    check("memory_gib", out["memory_gib"] <= 0, "must be > 0")
    for column in ("submit_s", "duration_s", "cpu_cores", "memory_gib"):
        check(column, ~np.isfinite(out[column]) & out[column].notna(), "must be finite")
    for column in ("cpu_used", "memory_used_gib"):
        if column in out:
            check(column, out[column] < 0, "must be >= 0")
            check(column, np.isinf(out[column]), "must be finite")
    for column in ("membw_intensity", "io_intensity"):
        if column in out:
            check(column, (out[column] < 0) | (out[column] > 1), "must be between 0 and 1")
            out[column] = out[column].fillna(0.0)
        else:
            out[column] = 0.0
    for column in ("cpu_limit", "memory_limit_gib"):
        if column in out:
            check(column, out[column] <= 0, "must be > 0 (leave it empty for no limit)")
        else:
            out[column] = np.nan

    out["cpu_used"] = out["cpu_used"].fillna(out["cpu_cores"]) if "cpu_used" in out else out["cpu_cores"]
    if "memory_used_gib" in out:
        out["memory_used_gib"] = out["memory_used_gib"].fillna(out["memory_gib"])
    else:
        out["memory_used_gib"] = out["memory_gib"]

    kind = frame["kind"].astype(str).str.strip() if "kind" in frame else pd.Series("service", index=frame.index)
    kind = kind.where(kind != "", "service")
    _report(problems, source, where, ~kind.isin(KINDS),
            lambda r: f"kind must be one of {', '.join(KINDS)} (got {kind.iloc[r]!r})")
    out["kind"] = kind
    out["image"] = frame["image"].fillna("").astype(str).str.strip() if "image" in frame else ""
    priority = out["priority"] if "priority" in out else pd.Series(0.0, index=frame.index)
    _report(problems, source, where, (priority.fillna(0) % 1 != 0),
            lambda r: f"priority must be an integer (got {priority.iloc[r]:g})")
    out["priority"] = priority.fillna(0)

    ids = out["id"].astype(str).str.strip()
    _report(problems, source, where, ids == "", lambda r: "id is empty")
    # Compare ids as they will be stored: '1' and '1.0' are both the integer 1.
    repeated = _ids(out["id"]).astype(str).duplicated(keep="first") & (ids != "")
    _report(problems, source, where, repeated, lambda r: f"id {ids.iloc[r]!r} appears more than once")

    if problems:
        raise InputError(_capped(problems))
    out["priority"] = out["priority"].astype(np.int64)
    out["kind"] = pd.Categorical(out["kind"], categories=KINDS)
    out["id"] = _ids(out["id"])
    out = out.sort_values("submit_s", kind="stable").reset_index(drop=True)
    return out[list(COLUMNS)]


def write(instances: pd.DataFrame, path: str | Path) -> Path:
    """Write an instance table in simdc's format; the suffix picks CSV or Parquet."""
    path = Path(path)
    table = instances[list(COLUMNS)]
    if path.suffix == ".parquet":
        table.to_parquet(path, index=False)
    else:
        table.to_csv(path, index=False)
    return path


def _ids(column: pd.Series) -> pd.Series:
    """Integer ids stay integers; anything else is a string."""
    as_int = pd.to_numeric(column, errors="coerce")
    # Beyond 2**53 a float no longer holds every integer: keep such ids as text.
    if as_int.notna().all() and (as_int % 1 == 0).all() and (as_int.abs() <= 2**53).all():
        return as_int.astype(np.int64)
    return column.astype(str).str.strip()


def _report(problems: list[str], source: str, where, mask: pd.Series, reason) -> None:
    rows = np.flatnonzero(mask.to_numpy(dtype=bool))
    for row in rows[: MAX_REPORTED + 1]:
        problems.append(f"{source}: {where(row)}: {reason(row)}")
    if len(rows) > MAX_REPORTED + 1:
        problems.append(f"{source}: ... and {len(rows) - MAX_REPORTED - 1} more rows like that")


def _capped(problems: list[str]) -> list[str]:
    if len(problems) <= 3 * MAX_REPORTED:
        return problems
    return problems[: 3 * MAX_REPORTED] + [f"... and {len(problems) - 3 * MAX_REPORTED} more problems"]
