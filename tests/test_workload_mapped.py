"""Bounded memory (issue #16): a spilled run moves its workload table's numeric columns
to a file and maps it (simdc/workload/mapped.py), and the engine's chunks give a row's
pages back as they are let go. The table must read as the table in memory did, whatever
was given back, and the run's results must not move."""

from __future__ import annotations

import mmap

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

import simdc
from simdc.config import validate
from simdc.engine import chunks as chunks_module
from simdc.workload import mapped as mapped_module
from simdc.workload.mapped import MappedColumns, mapped_columns, on_disk

from .conftest import MINIMAL, set_keys


def owner_map(values: np.ndarray):
    """The object at the bottom of ``values``' chain of bases."""
    while isinstance(values, np.ndarray | memoryview):
        if isinstance(values, memoryview):
            values = values.obj
        elif values.base is None:
            break
        else:
            values = values.base
    return values


@settings(max_examples=20, deadline=None)
@given(n=st.integers(0, 3000), seed=st.integers(0, 999),
       releases=st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 3000)), max_size=6))
def test_a_table_on_disk_reads_as_the_table_whatever_was_given_back(tmp_path_factory, n, seed, releases):
    """Floats with NaN, ints, bools, a categorical and strings: the mapped table equals
    the table (values, dtypes, index) before and after any rows' pages were given back;
    its numeric columns are read-only views of the file's map, the others the table's."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({
        "id": np.arange(n, dtype=np.int64) * 3, "submit_s": np.sort(rng.random(n)) * 1e5,
        "cpu_limit": np.where(rng.random(n) < 0.3, np.nan, rng.random(n)), "priority": rng.integers(-5, 5, n),
        "flag": rng.random(n) < 0.5, "kind": pd.Categorical(rng.choice(["service", "batch"], n),
                                                            categories=["service", "batch"]),
        "image": pd.Series(rng.choice(["a:1", "", "b:2"], n), dtype="str"),
    })
    path = tmp_path_factory.mktemp("mapped") / "columns"
    mapped = on_disk(table, path)
    assert_frame_equal(mapped, table, check_exact=True)
    owner = mapped_columns(mapped)
    assert isinstance(owner, MappedColumns) and mapped_columns(table) is None
    for name in ("id", "submit_s", "cpu_limit", "priority", "flag"):
        values = mapped[name].to_numpy()
        assert isinstance(owner_map(values), mmap.mmap) and not values.flags.writeable, name
    for lo, hi in releases:
        owner.release(min(lo, hi, n), min(max(lo, hi), n))
        assert_frame_equal(mapped, table, check_exact=True)
    owner.release_all()
    assert_frame_equal(mapped, table, check_exact=True)


def test_a_spilled_run_maps_its_workload_and_gives_every_row_back_with_its_chunk(monkeypatch):
    """A spilled run of a synthetic workload with bursty usage (general engine, streamed):
    its workload's numeric columns come from a file map, every row is given back as its
    chunk is let go, on both platforms, and every table is the run in memory's."""
    monkeypatch.setattr(chunks_module, "CHUNK_ROWS", 16)
    given_back: list[tuple[int, int]] = []
    original = MappedColumns.release

    def release(self, lo, hi):
        given_back.append((lo, hi))
        original(self, lo, hi)

    monkeypatch.setattr(MappedColumns, "release", release)
    config = validate(set_keys(MINIMAL, {
        "simulation.duration_s": 3 * 3600, "workload.synthetic.arrival_rate_per_s": 0.05,
        "workload.synthetic.cpu_burstiness": 1.0, "workload.synthetic.batch_fraction": 0.3,
        "placement": {"when_full": "queue", "max_wait_s": 300},
        "workload.synthetic.images": ["a:1"], "images": [{"name": "a:1", "layers": [{"digest": "sha256:a",
                                                                                      "size_mib": 300}]}]}))
    held = simdc.simulate(config)
    spilled = simdc.simulate(config, spill=True)
    n = len(spilled.workload)
    assert n > 200 and isinstance(owner_map(spilled.workload["submit_s"].to_numpy()), mmap.mmap)
    # each chunk's rows (16 at most) given back as it is let go, once a platform: twice in all
    # (the platform's end gives back all rows, its row-order rewrite groups of rows, too)
    times = np.zeros(n, int)
    for lo, hi in given_back:
        if hi - lo <= 16:
            times[lo:hi] += 1
    assert (times == len(config.simulation.platforms)).all()
    for table in ("summary", "instances", "timeseries", "hosts", "workload"):
        assert_frame_equal(getattr(spilled, table), getattr(held, table), check_exact=True, obj=table)


def test_a_trace_with_usage_series_keeps_its_workload_in_memory():
    """A usage model that is not the generator's (a trace's series hold the workload's
    means) is not rebuilt: its workload is left as it is, not mapped."""
    from simdc.experiment import _mapped
    from simdc.workload import Workload

    workload = Workload(pd.DataFrame({"submit_s": [0.0]}), "trace.csv", usage=object())
    assert _mapped(_TraceConfig(validate(MINIMAL)), workload, None) is workload
    assert mapped_module.mapped_columns(workload.instances) is None


class _TraceConfig:
    """A config seen as a trace's: its workload has no synthetic spec."""

    def __init__(self, config):
        self.simulation = config.simulation
        self.workload = type("Spec", (), {"synthetic": None})()
