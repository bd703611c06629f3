"""The general engine's per-instance state in chunks of rows, let go as the run goes.

A streamed run (:meth:`simdc.engine.simulation.Simulation.stream`, the spilled runs of
:func:`simdc.simulate`) keeps what the handlers write per instance (host, times, sums,
counts) in anonymous memory maps instead of lists and ``array.array``: the handlers index
them as before (a :class:`memoryview` of each map), only the storage changes under them.
A map is reserved for every row of the run but takes memory only for the pages written:
the rows are cut into chunks of :data:`CHUNK_ROWS`, a chunk is *opened* (its defaults
written) shortly before its first row arrives, and *freed* once every row in it has a
final outcome, its rows written out (:meth:`Chunks.final`): its pages go back to the
system (``madvise(MADV_DONTNEED)``). The peak then holds the chunks with an instance still
alive, not the run's length.

What a stale timer reads to learn that it no longer applies, each instance's ``state``
and ``epoch`` (the handlers test them first: :mod:`simdc.engine.handlers`), stays for
the whole run, 5 bytes an instance.

What the engine *reads* per instance (sizes, times, footprints) can live in the same
chunks (:meth:`Chunks.inputs`): a chunk's inputs are computed when it opens, by a
function of its rows (:meth:`simdc.engine.simulation.Simulation._stream_inputs`), in
chunk order, so draws from a random stream split by chunk are the draws made at once.
So can the synthetic usage model's per-instance constants (:attr:`Chunks.followers`:
:meth:`simdc.workload.usage.SyntheticUsage.windows`), held as each chunk opens and
given back as it is freed.
"""

from __future__ import annotations

import mmap

import numpy as np

# Rows per chunk: a page (4 KiB) of an 8-byte column. A chunk waits for its longest-lived
# instance, so small chunks pin fewer rows: in the capacity study (100 hosts, 36 h), of
# the container rows older than 12 h, chunks of 8,192 rows kept 95 % alive for 80 live
# instances, chunks of 512 rows 35 % (vm: 66 % and 18 %).
CHUNK_ROWS = 512
GROUP_ROWS = 250_000  # rows per row group of the file in row order (simdc.experiment.SPILL_ROWS)
_DTYPES = {"d": np.float64, "q": np.int64, "i": np.int32, "b": np.int8, "?": np.bool_}


def _ipc_options():
    """How a chunk's rows are written to the unordered file (:class:`RowGroups`): LZ4,
    Arrow's fastest codec, so the file is not several times the Parquet it becomes."""
    import pyarrow as pa

    return pa.ipc.IpcWriteOptions(compression="lz4")


def _zero_bits(value: object, dtype: np.dtype) -> bool:
    """Whether ``value`` as an item of ``dtype`` is all zero bits (0, 0.0, False; not -0.0)."""
    return not np.array([value], dtype=dtype).view(np.uint8).any()


class Chunks:
    """Per-instance columns of ``rows`` rows on anonymous memory maps, opened and freed
    chunk by chunk (module docstring), ``rows_per_chunk`` rows a chunk (default
    :data:`CHUNK_ROWS`; a chunk gives back the whole pages it spans)."""

    poison = False  # tests: a freed chunk's rows are overwritten with nonsense, not given back (a read shows)

    def __init__(self, rows: int, rows_per_chunk: int | None = None):
        rows_per_chunk = rows_per_chunk or CHUNK_ROWS
        if rows_per_chunk < 1:
            raise ValueError(f"Chunks: rows_per_chunk must be positive (got {rows_per_chunk})")
        self.rows, self.size = rows, rows_per_chunk
        self.count = -(-rows // rows_per_chunk)  # chunks
        self.columns: dict[str, tuple[mmap.mmap, np.ndarray, object]] = {}  # name: map, its array, default
        self.whole: list[mmap.mmap] = []  # the maps of the columns kept whole
        self.opened = 0  # chunks [0, opened) have been opened
        self.live: list[int] = []  # opened, not yet freed, in order
        self.freed = 0  # chunks freed so far
        self.most_live = 0  # the most chunks open at once (the peak's measure)
        self.filler = None  # (lo, hi) -> {column: values of rows [lo, hi)}: the chunks opened together
        # what else holds per-instance rows with the chunks: each told hold(lo, hi) as a chunk
        # opens and release(lo, hi) as it is freed (a synthetic usage model's window)
        self.followers: list = []

    def column(self, name: str, typecode: str, default: object = 0, chunked: bool = True) -> memoryview:
        """A column of every row, items of ``typecode`` (``array`` codes: d, q, i, b, ?),
        ``default`` in each row of a chunk when it opens; ``chunked=False``: kept whole
        (written by the handlers before a chunk opens; zero to start with, never freed).
        Returns the view the handlers index."""
        dtype = np.dtype(_DTYPES[typecode])
        # private and anonymous: zero pages, none resident until written, and given back
        # by MADV_DONTNEED (a shared map, mmap's default, would keep them)
        memory = mmap.mmap(-1, max(self.rows, 1) * dtype.itemsize, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        values = np.frombuffer(memory, dtype)[:self.rows]
        if chunked:
            self.columns[name] = (memory, values, default)
            if not _zero_bits(default, dtype):
                for k in range(self.opened):  # opened before this column was asked for
                    values[k * self.size:(k + 1) * self.size] = default
        else:
            self.whole.append(memory)
        return memoryview(memory).cast(typecode)[:self.rows]

    def inputs(self, columns: dict[str, str], filler) -> dict[str, memoryview]:
        """Chunked columns ``{name: typecode}`` whose rows are written by ``filler(lo, hi)``
        (a dict of arrays of ``hi - lo`` values a column) as chunks open, rows ``[lo, hi)``
        those of the chunks opened together, in row order; asked for before any chunk
        opens. Returns the views the handlers index."""
        if self.opened:
            raise ValueError("Chunks.inputs: asked for after a chunk opened")
        self.filler = filler
        return {name: self.column(name, typecode) for name, typecode in columns.items()}

    def array(self, name: str) -> np.ndarray:
        """Column ``name`` as a numpy array over the same memory (no copy)."""
        return self.columns[name][1]

    def open_through(self, row: int) -> None:
        """Open every chunk up to the one holding ``row`` (clipped to the last)."""
        last = min(row // self.size, self.count - 1)
        if self.opened <= last:
            # the chunks opened together filled by one filler call (its fixed cost, ~2 ms of
            # pandas and numpy, paid once a sample, not once a chunk: ~6 a sample at 1,000 hosts).
            # Their rows read zero until written (a fresh anonymous map, or pages given back),
            # and a page never written takes no memory: zeros are not written, so a column
            # that stays zero in most chunks (kills, restarts, a pod not Guaranteed) costs nothing there.
            lo, hi = self.bounds(self.opened)[0], self.bounds(last)[1]
            for _, values, default in self.columns.values():
                if not _zero_bits(default, values.dtype):
                    values[lo:hi] = default
            if self.filler is not None:
                for name, rows in self.filler(lo, hi).items():
                    values = self.columns[name][1]
                    rows = np.ascontiguousarray(rows, dtype=values.dtype)
                    if rows.view(np.uint8).any():
                        values[lo:hi] = rows
            for k in range(self.opened, last + 1):
                for follower in self.followers:
                    follower.hold(*self.bounds(k))
                self.live.append(k)
            self.opened = last + 1
        self.most_live = max(self.most_live, len(self.live))

    def bounds(self, k: int) -> tuple[int, int]:
        """Rows ``[lo, hi)`` of chunk ``k``."""
        return k * self.size, min((k + 1) * self.size, self.rows)

    def free(self, k: int) -> None:
        """Give chunk ``k``'s pages back to the system; it reads as zeros from now on
        (its whole pages: with :data:`CHUNK_ROWS`, all of it)."""
        lo, hi = self.bounds(k)
        for memory, values, _ in self.columns.values():
            if self.poison:
                values[lo:hi] = {"f": 1e300, "b": False}.get(values.dtype.kind, 99)
                continue
            start = -(-lo * values.itemsize // mmap.PAGESIZE) * mmap.PAGESIZE
            end = hi * values.itemsize if hi == self.rows else hi * values.itemsize // mmap.PAGESIZE * mmap.PAGESIZE
            if end > start:
                memory.madvise(mmap.MADV_DONTNEED, start, end - start)
        for follower in self.followers:
            follower.release(lo, hi)
        self.live.remove(k)
        self.freed += 1

    def live_rows(self) -> tuple[int, int]:
        """Rows ``[lo, hi)`` spanning every open chunk (rows outside are final or have not
        arrived); ``(0, 0)`` when none is open."""
        if not self.live:
            return 0, 0
        return self.bounds(self.live[0])[0], self.bounds(self.live[-1])[1]


class RowGroups:
    """A streamed run's instance rows, chunk by chunk, into the Parquet file ``path``:
    each chunk's rows written as the chunk is let go (in whatever order chunks become
    final) to a file beside ``path``, then, at :meth:`close`, copied into ``path`` in row
    order, in row groups of ``rows`` rows (the last shorter). The pandas metadata is kept:
    the file reads back as the table in memory would have been. ``ordered``: the row
    groups come in order (the timeseries), straight into ``path``. ``observer`` (a
    :class:`simdc.streamed.InstanceFigures`): given each chunk's rows as they are written
    (``count``) and every row in row order as ``path`` is written (``add_arrow``), so
    that nothing reads the file back for the summary.

    The file beside ``path`` holds each chunk as an Arrow IPC stream of its own
    (LZ4-compressed), found again by its byte offset: a Parquet writer keeps every row
    group's metadata until it closes, ~37 KB for a 512-row chunk of ~45 columns (74 B a
    row, for the whole platform's run; benchmarks/README.md, "month, twelfth session"),
    where an offset costs a few bytes a chunk. The IPC round trip gives back the Arrow
    table written, types and all."""

    def __init__(self, path, ordered: bool = False, rows: int | None = None, observer=None):
        from pathlib import Path

        self.path = Path(path)
        self.ordered, self.rows = ordered, rows or GROUP_ROWS
        self.unordered = self.path if ordered else self.path.with_name(self.path.name + ".unordered")
        self.writer = None  # ordered: a Parquet writer; else the unordered file, opened for appending
        self.file = None  # the file the writer writes
        self.schema = None
        self.observer = observer
        self.groups: dict[int, tuple[int, int]] = {}  # chunk: (offset, length) of its stream in the unordered file
        self.in_order = 0  # rows written to path so far, in row order
        # told (lo, hi) once rows [lo, hi) are written in row order and the observer has them
        # (a spilled run's mapped workload gives their pages back: simdc.workload.mapped)
        self.done = None

    def write(self, k: int, table) -> None:
        """Chunk ``k``'s rows (a DataFrame)."""
        self.write_chunks([k], [len(table)], table)

    def write_chunks(self, ks: list[int], sizes: list[int], table) -> None:
        """Chunks ``ks``' rows, ``sizes[i]`` rows of chunk ``ks[i]``, one after the other in
        ``table`` (a DataFrame): converted once, written a stream a chunk (ordered: a row group)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.writer is None:
            self.schema = pa.Schema.from_pandas(table, preserve_index=False)
            # opened by Python: pyarrow takes no name that is not UTF-8 (simdc.results.write_parquet)
            self.file = open(self.unordered, "wb")
            self.writer = pq.ParquetWriter(self.file, self.schema) if self.ordered else self.file
        if self.observer is not None:
            self.observer.count(table)
        rows, start = pa.Table.from_pandas(table, schema=self.schema, preserve_index=False), 0
        for k, size in zip(ks, sizes, strict=True):
            part = rows.slice(start, size)
            if self.ordered:
                self.writer.write_table(part, row_group_size=max(size, 1))
            else:
                at = self.writer.tell()
                with pa.ipc.new_stream(self.writer, self.schema, options=_ipc_options()) as stream:
                    stream.write_table(part)
                self.groups[k] = (at, self.writer.tell() - at)
            start += size
        del rows
        pa.default_memory_pool().release_unused()  # Arrow's allocator keeps freed pages otherwise

    def close(self) -> None:
        """The rows in order into ``path``; the unordered file removed."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.writer is None:
            return
        self.writer.close()
        self.file.close()
        if self.ordered:
            return
        with (open(self.unordered, "rb") as handle, open(self.path, "wb") as sink,
              pq.ParquetWriter(sink, self.schema) as writer):
            source = pa.PythonFile(handle, mode="r")
            held, count = [], 0  # chunks read, in order, not yet written
            for k in sorted(self.groups):
                start, length = self.groups[k]
                source.seek(start)
                held.append(pa.ipc.open_stream(source.read_buffer(length)).read_all().cast(self.schema))
                count += len(held[-1])
                while count >= self.rows:
                    table = pa.concat_tables(held)
                    self._write_in_order(writer, table.slice(0, self.rows))
                    held, count = [table.slice(self.rows)], count - self.rows
                    del table
                    pa.default_memory_pool().release_unused()
            if count:
                self._write_in_order(writer, pa.concat_tables(held))
            del held
        self.unordered.unlink()
        pa.default_memory_pool().release_unused()

    def _write_in_order(self, writer, table) -> None:
        """Rows of ``path`` (an Arrow table), the next in row order: a row group, and the observer's."""
        writer.write_table(table, row_group_size=len(table))
        if self.observer is not None:
            self.observer.add_arrow(table)
        self.in_order += len(table)
        if self.done is not None:
            self.done(self.in_order - len(table), self.in_order)

