"""A streamed run lets a chunk go at the first sample at which all its rows have arrived
and are final (:meth:`simdc.engine.simulation.Simulation._flush_chunks`), testing each
row from the first not yet found final, and writes the chunks let go at one sample a few
to a table. Held here to a plain scan of every row of every live chunk at every sample,
the rule as first written, and to the run in memory's rows; and chunks opened together
filled by one call."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simdc.engine import chunks as chunks_module
from simdc.engine import simulation as simulation_module
from simdc.engine.chunks import Chunks, RowGroups
from simdc.engine.simulation import COMPLETED, EVICTED, FAILED, KILLED, REJECTED, Simulation

from .test_streamed import config_of, runs

FINAL = (COMPLETED, REJECTED, KILLED, FAILED, EVICTED)


@pytest.fixture
def checked_flushes(monkeypatch):
    """Chunks of 16 rows, written at most 3 to a table; every flush checked against the
    plain scan. Returns the list of (chunks let go mid-run, chunks seen arrived but not
    all final) per flush, and the chunks of each table written."""
    monkeypatch.setattr(chunks_module, "CHUNK_ROWS", 16)
    monkeypatch.setattr(simulation_module, "FLUSH_CHUNKS", 3)
    seen: list[tuple[int, int]] = []
    tables: list[list[int]] = []
    write_chunks = RowGroups.write_chunks

    def write(self, ks, sizes, table):
        assert len(table) == sum(sizes) and ks == sorted(ks)
        tables.append(list(ks))
        write_chunks(self, ks, sizes, table)

    monkeypatch.setattr(RowGroups, "write_chunks", write)
    original = Simulation._flush_chunks

    def flush(self, now, last=False):
        chunks = self.chunks
        submit = self.inputs["submit_s"].to_numpy(float)
        state = np.frombuffer(self.state, np.int8)
        live = list(chunks.live)
        expected, waiting = set(), 0
        for k in live:
            lo, hi = chunks.bounds(k)
            arrived = submit[hi - 1] < now
            done = arrived and bool(np.isin(state[lo:hi], FINAL).all())
            if last or done:
                expected.add(k)
            elif arrived:
                waiting += 1
        original(self, now, last)
        freed = set(live) - set(chunks.live)
        assert freed == expected, f"at {now} s: let go {sorted(freed)}, a plain scan {sorted(expected)}"
        if not last:
            seen.append((len(freed), waiting))

    monkeypatch.setattr(Simulation, "_flush_chunks", flush)
    return seen, tables


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), name=st.sampled_from(["vm", "container"]))
def test_chunks_are_let_go_when_a_plain_scan_finds_them_final(checked_flushes, tmp_path_factory, seed, name):
    seen, tables = checked_flushes
    seen.clear()
    tables.clear()
    held, streamed = runs(config_of(seed), name, tmp_path_factory.mktemp("flush") / "run")
    assert_frame_equal(streamed.instances, held.instances, check_exact=True)
    # not vacuous: chunks were let go mid-run, some waited on a row not yet final, and
    # tables held several chunks, at most 3
    assert sum(freed for freed, _ in seen) > 0
    assert sum(waiting for _, waiting in seen) > 0
    assert max(map(len, tables)) == 3


def test_row_groups_read_back_in_row_order_with_their_categories(tmp_path):
    """The chunks' file, written out of order (several chunks a table, or one) and without
    statistics or dictionaries but a categorical's (RowGroups), reads back in row order
    with every column's dtype, the categorical's unused categories too."""
    outcome = pd.CategoricalDtype(["completed", "rejected", "oom_killed", "failed"])
    table = pd.DataFrame({"id": np.arange(10), "t_s": np.linspace(0.0, 9.5, 10),
                          "outcome": pd.Categorical(["completed", "failed"] * 5, dtype=outcome),
                          "cold": np.arange(10) % 3 == 0})
    writer = RowGroups(tmp_path / "rows.parquet", rows=4)
    writer.write_chunks([2, 0], [2, 3], pd.concat([table.iloc[5:7], table.iloc[0:3]], ignore_index=True))
    writer.write(1, table.iloc[3:5].reset_index(drop=True))
    writer.write(3, table.iloc[7:10].reset_index(drop=True))
    writer.close()
    assert_frame_equal(pd.read_parquet(tmp_path / "rows.parquet"), table, check_exact=True)
    assert not writer.unordered.exists()


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 200), size=st.integers(1, 17), steps=st.lists(st.integers(0, 60), max_size=12))
def test_chunks_opened_together_are_filled_once_and_held_each(rows, size, steps):
    """Chunks.open_through: every chunk opened as the rows asked for reach it, in order,
    its rows filled with the filler's values of those rows (a function of the row here)
    and every follower told of each chunk; one filler call for the chunks opened by one
    call, over their rows exactly."""
    chunks = Chunks(rows, size)
    calls, held = [], []

    class Follower:
        def hold(self, lo, hi):
            held.append((lo, hi))

        def release(self, lo, hi):
            pass

    def filler(lo, hi):
        calls.append((lo, hi))
        return {"twice": 2.0 * np.arange(lo, hi)}

    view = chunks.inputs({"twice": "d"}, filler)["twice"]
    state = chunks.column("kills", "q", 7)
    chunks.followers.append(Follower())
    row, opened_before = 0, 0
    for step in steps:
        row += step
        chunks.open_through(row)
        opened = min(row // size, chunks.count - 1) + 1
        assert chunks.opened == max(opened, opened_before) and chunks.live == list(range(chunks.opened))
        if chunks.opened > opened_before:  # one call, over the new chunks' rows
            assert calls[-1] == (chunks.bounds(opened_before)[0], chunks.bounds(chunks.opened - 1)[1])
        opened_before = chunks.opened
    top = chunks.bounds(chunks.opened - 1)[1] if chunks.opened else 0
    assert [lo for lo, _ in calls] == sorted({lo for lo, _ in calls})  # in row order, none twice
    assert sum(hi - lo for lo, hi in calls) == top
    assert held == [chunks.bounds(k) for k in range(chunks.opened)]
    assert list(view[:top]) == [2.0 * i for i in range(top)] and list(state[:top]) == [7] * top
