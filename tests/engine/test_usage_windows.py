"""Bounded memory (issue #16): a streamed run holds the synthetic usage model's
per-instance constants (simdc/workload/usage.py, ``_PerInstance``) only for the rows of
the engine's live chunks, computed as a chunk opens and given back as it is let go. The
numbers must be those of the run in memory, to the bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

import simdc
from simdc.engine import run_platform
from simdc.workload import load_workload, usage as usage_module
from simdc.workload.usage import SyntheticUsage, _PerInstance

from .test_streamed import config_of, small_chunks  # noqa: F401  (a fixture)


@pytest.fixture
def small_blocks(small_chunks, monkeypatch):  # noqa: F811
    """Blocks of 12 rows (not the chunks' 16: a block spans two chunks, a chunk two or three
    blocks), overwritten with NaN when given back: a read of a given-back row shows in the
    results. Records the most blocks held at once by each model's rows."""
    monkeypatch.setattr(usage_module, "ROWS_PER_BLOCK", 12)
    monkeypatch.setattr(_PerInstance, "poison", True)
    most: dict[int, int] = {}
    original = _PerInstance.hold

    def hold(self, lo, hi):
        original(self, lo, hi)
        most[id(self)] = max(most.get(id(self), 0), int(np.count_nonzero(self.holds)))

    monkeypatch.setattr(_PerInstance, "hold", hold)
    return small_chunks, most


def _args(config, workload):
    sim = config.simulation
    return dict(duration_s=sim.duration_s, sample_every_s=sim.sample_every_s, seed=sim.seed, usage=workload.usage,
                placement=config.placement, images={image.name: image for image in config.images},
                registry=config.registry, faults=config.faults, lane="general", sizes=workload.sizes)


# no shrinking: each example is two runs of a few seconds
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(seed=st.integers(0, 10_000), name=st.sampled_from(["vm", "container"]),
       correlation=st.sampled_from([0.0, 0.3]), step_s=st.sampled_from([60.0, 300.0, 900.0]))
def test_a_streamed_run_with_windowed_usage_is_the_run_in_memory(small_blocks, tmp_path_factory, seed, name,
                                                                   correlation, step_s):
    """Each run on a workload of its own (so the streamed run's model starts unfilled and
    is windowed): the streamed run's instances, hosts and timeseries equal the run in
    memory's, with bursty, correlated or not, usage on overcommitted hosts (OOM kills,
    restarts, failures, a queue); the model held at most the blocks of the live chunks,
    and at the end none (its rows made whole again only if asked)."""
    import pandas as pd

    chunks_made, most = small_blocks
    config = config_of(seed, {"workload.synthetic.usage_correlation": correlation,
                              "workload.synthetic.usage_step_s": step_s,
                              "workload.synthetic.usage_diurnal_amplitude": 0.2})
    sim = config.simulation
    held_load = load_workload(config.workload, sim.duration_s, sim.seed)
    held = run_platform(name, config.platform[name], config.fleet, held_load.instances, **_args(config, held_load))
    streamed_load = load_workload(config.workload, sim.duration_s, sim.seed)
    model = streamed_load.usage
    assert isinstance(model, SyntheticUsage)
    path = tmp_path_factory.mktemp("windows") / "run"
    streamed = run_platform(name, config.platform[name], config.fleet, streamed_load.instances, stream_to=path,
                            **_args(config, streamed_load))
    rows = model._rows
    assert "table" not in rows.__dict__ and rows.holds is None  # windowed, and let go at the end
    chunks = chunks_made[-1]
    assert chunks.freed == chunks.count > 2
    # a chunk of 16 rows spans at most 3 blocks of 12
    assert 0 < most[id(rows)] <= 3 * chunks.most_live
    assert_frame_equal(pd.read_parquet(f"{path}.instances.parquet"), held.instances, check_exact=True)
    assert_frame_equal(streamed.hosts, held.hosts, check_exact=True)
    assert_frame_equal(pd.read_parquet(f"{path}.timeseries.parquet"), held.timeseries, check_exact=True)


def test_a_spilled_simulate_with_windowed_usage_equals_the_run_in_memory(small_blocks):
    """Through :func:`simdc.simulate`, both platforms streamed one after the other on one
    model (the second refills the rows the first gave back): every table is the run in
    memory's, to the bit."""
    chunks_made, most = small_blocks
    config = config_of(7, {"workload.synthetic.usage_diurnal_amplitude": 0.3})
    held = simdc.simulate(config, check_memory=False)
    assert not most  # in memory: nothing windowed
    spilled = simdc.simulate(config, check_memory=False, spill=True)
    assert len(chunks_made) == 2 and len(most) == 1  # both platforms streamed, on one model's rows
    for table in ("summary", "instances", "hosts", "timeseries"):
        assert_frame_equal(getattr(spilled, table), getattr(held, table), check_exact=True, obj=table)


def _model(n: int, seed: int) -> SyntheticUsage:
    rng = np.random.default_rng(seed)
    cpu, mem = rng.uniform(0.1, 4, n), rng.uniform(0.1, 8, n)
    return SyntheticUsage(cpu, mem, step_s=float(rng.choice([60, 300, 1800])), seed=seed, cpu_burstiness=0.4,
                          memory_burstiness=0.2, correlation=float(rng.choice([0, 0.25])), diurnal_amplitude=0.2,
                          diurnal_peak_s=0.0, cpu_max=2 * cpu, mem_max=1.5 * mem)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 2000), seed=st.integers(0, 2**31), holds=st.lists(st.tuples(st.integers(0, 2000),
                                                                                   st.integers(1, 300)), max_size=8))
def test_constants_held_in_blocks_are_the_whole_runs(n, seed, holds):
    """Rows computed a block at a time, in any order, held and given back and held again,
    are the rows computed for every instance at once, to the bit: every constant (the
    usage step's table, σ, the own factors at age 0) and what ``at`` and ``at_start``
    answer for the held rows; a model's scaled copy shares them."""
    whole, windowed = _model(n, seed), _model(n, seed)
    window = windowed.scaled_cpu(1.5).windows()
    spans = [(min(lo, n - 1), min(lo + length, n)) for lo, length in holds] or [(0, n)]
    for lo, hi in spans:  # held twice, let go once: still held
        window.hold(lo, hi)
        window.hold(lo, hi)
        window.release(lo, hi)
    rows = windowed._rows
    held = np.flatnonzero(np.repeat(rows.holds > 0, usage_module.ROWS_PER_BLOCK)[:n])
    assert all(np.isin(np.arange(lo, hi), held).all() for lo, hi in spans)
    for name in ("table", "first", "sigma"):
        mine, theirs = getattr(rows, name), getattr(whole._rows, name)
        if name == "table":
            assert mine[held].tobytes() == theirs[held].tobytes()
        else:
            assert mine[:, held].tobytes() == theirs[:, held].tobytes()
    age = np.random.default_rng(seed).uniform(0, 3 * 86400, len(held))
    for a, b in zip(windowed.at(held, age, 5000.0), whole.at(held, age, 5000.0)):
        assert a.tobytes() == b.tobytes()
    for a, b in zip(windowed.at_start(held, age), whole.at_start(held, age)):
        assert a.tobytes() == b.tobytes()
    for lo, hi in spans:
        window.release(lo, hi)
    assert not rows.holds.any()
    window.close()
    assert rows.holds is None and "table" not in rows.__dict__
    # used again as a whole (a run in memory after a streamed one): made whole, the same numbers
    assert windowed._table.tobytes() == whole._table.tobytes()
    assert windowed.windows().rows.open_window() is False  # whole now: windows leave it whole


def test_rows_given_back_leave_memory():
    """Without the poison, a block given back is the system's again: its pages read as
    zeros, and held again it is filled again."""
    model = _model(4 * 512, 1)
    window = model.windows()
    window.hold(512, 1024)
    rows = model._rows
    before = rows.table[512:1024].copy()
    assert np.all(rows.table[:512] == 0) and np.all(before[:, 12] > 1)  # only the held block was filled
    window.release(512, 1024)
    assert np.all(rows.table[512:1024] == 0) and np.all(rows.first[:, 512:1024] == 0)
    window.hold(512, 1024)
    assert rows.table[512:1024].tobytes() == before.tobytes()
    window.close()
