"""A CSV trace file cut short: its last row, when the file does not end with a line break.

A download or copy stopped short leaves a file that ends mid-row, and a cut number
still parses (``1.75`` cut to ``1.7``, ``8388608`` to ``83``): read as it is, the last
row would be silently wrong. Every genuine sample of the traces simdc reads ends with a
line break, so a plain file that does not is taken as possibly cut there: strict, the
row is an error naming the file and line; skip, the row is dropped and counted. A
gzipped file cut short fails to decompress, which the blocks reader reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from simdc.workload.readers.common import BadRows, Block, TraceFile

CUT_REASON = ("the last line has no line break: the file may have been cut there "
              "(end it with a line break if it is whole)")
CHUNK_BYTES = 1 << 20


def unterminated_line(path: Path) -> int | None:
    """The 1-based number of a plain file's last line when no line break ends it (None
    when one does, for an empty file, and for gzipped files)."""
    try:
        with open(path, "rb") as file:
            if file.read(2) == b"\x1f\x8b":
                return None
            file.seek(0, 2)
            size = file.tell()
            if size == 0:
                return None
            file.seek(size - 1)
            if file.read(1) in (b"\n", b"\r"):
                return None
            file.seek(0)
            breaks = 0
            while chunk := file.read(CHUNK_BYTES):
                breaks += chunk.count(b"\n")
    except OSError:
        return None  # the blocks reader reports a file it cannot read
    return breaks + 1


def whole_rows(tf: TraceFile, blocks: Iterator[Block], bad: BadRows) -> Iterator[Block]:
    """``blocks`` of ``tf`` (from :func:`~.common.read_blocks`) without a last row that
    may be cut (see the module's docstring): strict, an error naming its line before
    anything is read; skip, that row is left out and counted."""
    cut = unterminated_line(tf.path)
    if cut is None:
        yield from blocks
        return
    table = tf.table.name if tf.table is not None else tf.name
    if not bad.skip:
        bad.report(table, np.array([0]), CUT_REASON, lambda _: f"{tf.path}: line {cut}")
        bad.check()
    held = None
    for block in blocks:
        if held is not None:
            yield held
        held = block
    if held is None:
        return
    if len(held) and held.where(int(held.row[-1])).endswith(f": line {cut}"):
        bad.report(table, np.array([0]), CUT_REASON, lambda _: f"{tf.path}: line {cut}")
        held = Block({name: values[:-1] for name, values in held.values.items()}, held.row[:-1], held.where)
    yield held
