"""A workload table whose numeric columns live in a file, for a spilled run (issue #16,
bounded memory).

A spilled run of a synthetic workload holds its instance table for the whole run (both
platforms read it, and the results keep it): ~114 bytes an instance, the largest part of
the run's peak that grows with its length (benchmarks/README.md, "month, twelfth
session"). :func:`on_disk` writes the table's numeric columns (ints, floats, bools: 96 of
those bytes in the capacity study) to a file, each column at a page boundary, and gives
back the same table with those columns read-only views of a shared read-only map of the
file: the same values, dtypes and columns, so every consumer reads what it read before.
A page of the map is in memory once read, and :meth:`MappedColumns.release` gives rows'
whole pages back (``MADV_DONTNEED``; read again, they come back from the file, or the
system's cache of it): the engine's chunks (:mod:`simdc.engine.chunks`) release their
rows as they are let go (a chunk follower, found by :func:`mapped_columns`), so the
table's pages in memory are those of the live chunks' rows.
"""

from __future__ import annotations

import mmap
import weakref
from pathlib import Path

import numpy as np
import pandas as pd

# id of a mapped table: (a weak reference to it, its columns' owner); forgotten as the table goes
_MAPPED: dict[int, tuple[weakref.ref, "MappedColumns"]] = {}


class MappedColumns:
    """Columns of ``rows`` rows in the file ``path``, mapped read-only (module docstring):
    :attr:`arrays` by name. A chunk follower (:attr:`simdc.engine.chunks.Chunks.followers`):
    ``hold`` does nothing, ``release(lo, hi)`` gives rows ``[lo, hi)``'s whole pages back."""

    def __init__(self, path: Path, columns: dict[str, np.ndarray]):
        self.rows = len(next(iter(columns.values()))) if columns else 0
        page = mmap.PAGESIZE
        offsets, end = {}, 0
        with open(path, "wb") as file:
            for name, values in columns.items():
                offsets[name] = end
                data = np.ascontiguousarray(values).tobytes()
                file.write(data)
                end += len(data)
                pad = -end % page  # the next column at a page boundary
                file.write(b"\0" * pad)
                end += pad
            if end == 0:
                file.write(b"\0" * page)
        with open(path, "rb") as file:
            self.map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        self.spans: list[tuple[int, int]] = []  # (offset, itemsize) of each column
        self.arrays: dict[str, np.ndarray] = {}
        for name, values in columns.items():
            dtype = np.asarray(values).dtype
            self.arrays[name] = np.frombuffer(self.map, dtype, count=self.rows, offset=offsets[name])
            self.spans.append((offsets[name], dtype.itemsize))

    def hold(self, lo: int, hi: int) -> None:
        """Nothing: a row's pages come back when it is read."""

    def release(self, lo: int, hi: int) -> None:
        """Rows ``[lo, hi)``'s whole pages of every column out of memory (read again: from the file)."""
        page = mmap.PAGESIZE
        for offset, itemsize in self.spans:
            start = offset + -(-lo * itemsize // page) * page
            end = offset + hi * itemsize // page * page if hi < self.rows else offset + -(-hi * itemsize // page) * page
            if end > start:
                self.map.madvise(mmap.MADV_DONTNEED, start, end - start)

    def release_all(self) -> None:
        """Every page out of memory."""
        self.release(0, self.rows)


def on_disk(instances: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``instances`` with its numeric columns (dtype kind b, i, u, f) in the file ``path``
    (created; kept as long as the table is used), the others as they are: equal to
    ``instances`` (``DataFrame.equals``), the same dtypes and index."""
    numeric = {name: instances[name].to_numpy() for name in instances.columns
               if isinstance(instances[name].dtype, np.dtype) and instances[name].dtype.kind in "biuf"}
    owner = MappedColumns(Path(path), numeric)
    table = pd.DataFrame({name: owner.arrays[name] if name in numeric else instances[name]
                          for name in instances.columns}, index=instances.index, copy=False)
    table.attrs.update(instances.attrs)
    _MAPPED[id(table)] = (weakref.ref(table), owner)
    weakref.finalize(table, _MAPPED.pop, id(table), None)
    return table


def mapped_columns(instances: pd.DataFrame) -> MappedColumns | None:
    """The owner of ``instances``' mapped columns if :func:`on_disk` made it, else None."""
    ref, owner = _MAPPED.get(id(instances), (None, None))
    return owner if ref is not None and ref() is instances else None
