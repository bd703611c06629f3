"""Where the genuine trace samples are, and plain readers of their raw rows.

The samples live outside the repository, in ``../shared/traces`` beside it (or where
``SIMDC_TRACES`` says); they are read from there, never copied in. Expected numbers in
the reader tests are computed here from the raw rows with the csv and gzip modules (or
a plain pandas read), independently of simdc's readers.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRACES = Path(os.environ.get("SIMDC_TRACES", ROOT.parent / "shared" / "traces"))


def sample(relative: str) -> Path:
    """The sample file or folder ``relative`` under the traces folder; skip when absent."""
    path = TRACES / relative
    if not path.exists():
        pytest.skip(f"no trace sample {relative} under {TRACES}: set SIMDC_TRACES")
    return path


def open_text(path: Path):
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return io.StringIO(data.decode("utf-8"), newline="")


def raw_rows(path: Path, delimiter: str = ",", skip_header: bool = False) -> list[list[str]]:
    """Every row of a (gzipped) CSV file as lists of stripped strings."""
    with open_text(path) as text:
        rows = [[v.strip() for v in row] for row in csv.reader(text, delimiter=delimiter) if row]
    return rows[1:] if skip_header else rows


def lines(path: Path) -> list[str]:
    with open_text(path) as text:
        return text.read().splitlines()


def write_lines(path: Path, rows: list[str], gz: bool = False) -> Path:
    text = "\n".join(rows) + "\n"
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path
