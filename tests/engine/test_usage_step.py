"""The usage step's and the arrivals' shortcuts against the plain computations they
replace: a step's slot columns left unwritten where they cannot change (gaps on a host
that was not contended, clips where no ceiling binds) against the step host by host; a
size first fit has found no host for turned away without a call into placement against
the same run through submit(); a sample's columns copied whole against the rows
written out by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import simdc
from simdc.config import validate
from simdc.engine import handlers
from simdc.engine.host import SLOTS, FleetStep
from simdc.engine.simulation import Timeseries

from .test_fleet_step import FIGURES, fleet

ROOT = Path(__file__).parents[2]
TABLES = ("summary", "instances", "hosts", "timeseries")


def _step_both(by_host, whole, now, demand, clip, mem):
    """The step host by host (the oracle), then over the fleet at once."""
    busy = [h for h in range(len(by_host)) if by_host[h].n]
    counts = [by_host[h].n for h in busy]
    start = 0
    for h, count in zip(busy, counts):
        part = slice(start, start + count)
        by_host[h].set_usage(now, demand[part], mem[part], clip[part])
        by_host[h].rebalance(now)
        start += count
    step = FleetStep([whole[h] for h in busy], counts, now)
    step.set_usage(demand, clip, mem)
    step.rebalance()


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.tuples(st.floats(0.0, 20.0), st.booleans(), st.booleans()), min_size=2, max_size=8),
       per_host=st.integers(1, 12), seed=st.integers(0, 2**32 - 1))
def test_a_step_after_contention_or_clipping_ends_leaves_every_slot_as_host_by_host(steps, per_host, seed):
    """Hosts going in and out of contention (8 cores) and of demand above a ceiling from
    one step to the next: the fleet step, which writes a host's gaps only where it was
    contended and its clips only where a ceiling bound before or binds now, leaves every
    slot column and host figure the doubles of HostState.set_usage and rebalance, host
    by host (which write every column)."""
    rng = np.random.default_rng(seed)
    by_host, whole = fleet(2, False, 0.0, 0.0), fleet(2, False, 0.0, 0.0)
    slot_of = ([-1] * 60, [-1] * 60)
    for i in range(2 * per_host):
        args = (float(rng.uniform(0, 1)), float(rng.uniform(0.5, 4)), 0.5, bool(rng.random() < 0.5),
                float(rng.uniform(0, 100)))
        for states, slots in zip((by_host, whole), slot_of):
            states[i % 2].add(0.0, i, *args, slots)
            states[i % 2].rebalance(0.0)
    now, n = 0.0, 2 * per_host
    for dt, hot, clipped in steps:
        now += dt
        # hot: every slot wants 3 cores (contended past 2 slots a host); else well within
        demand = np.full(n, 3.0) if hot else rng.uniform(0, 8.0 / (2 * per_host), n)
        clip = rng.uniform(0, 1, n) * (rng.random(n) < 0.5) if clipped else np.zeros(n)
        _step_both(by_host, whole, now, demand, clip, rng.uniform(0, 1, n))
        for a, b in zip(by_host, whole):
            for name in SLOTS:
                assert np.array_equal(np.asarray(getattr(a, name), float), np.asarray(getattr(b, name), float)), name
            for name in FIGURES:
                assert repr(getattr(a, name)) == repr(getattr(b, name)), name
            assert a.next_finish(now) == b.next_finish(now)


def _trace_run(tmp_path, sizes, boot_s):
    trace = tmp_path / "t.csv"
    pd.DataFrame([{"id": f"r{k}", "submit_s": float(k), "duration_s": float(d), "cpu_cores": c, "memory_gib": m}
                  for k, (c, m, d) in enumerate(sizes)]).to_csv(trace, index=False)
    return simdc.simulate(validate({
        "simulation": {"duration_s": len(sizes) + 200.0, "seed": 1, "platforms": ["vm", "container"]},
        "cluster": {"hosts": [{"name": "a", "cpu_cores": 8, "memory_gib": 16, "count": 2},
                              {"name": "b", "cpu_cores": 4, "memory_gib": 64}]},
        "platform": {"vm": {"overhead_mib": 256, "boot_s": boot_s, "sizing": "as_given"},
                     "container": {"overhead_mib": 0, "admission": "requests"}},
        "workload": {"trace": str(trace)},
    }))


class _NotFirstFit:
    """Stands in for FirstFit in handlers' isinstance test: the lane finds no cache of
    sizes fitting nowhere, and every arrival goes through submit()."""


def _same_tables(a, b):
    for table in TABLES:
        assert getattr(a, table).equals(getattr(b, table)), table


@settings(max_examples=15, deadline=None)
@given(sizes=st.lists(st.tuples(st.sampled_from([1, 2, 4, 8]), st.sampled_from([2, 8, 15.5, 40]),
                                st.sampled_from([3, 30, 150])), min_size=4, max_size=40),
       boot_s=st.sampled_from([0, 2]))
def test_an_arrival_of_a_size_that_fits_nowhere_is_turned_away_as_submit_would(tmp_path_factory, sizes, boot_s):
    """A few sizes arriving every second on three hosts: many find no host, and their
    size again and again. The run that turns those away without a call into placement
    (Lane.nowhere) and the run through submit() for every arrival give the same four
    tables: the same rejections, at the same times, with the same fragmentation figure."""
    fast = _trace_run(tmp_path_factory.mktemp("f"), sizes, boot_s)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(handlers, "FirstFit", _NotFirstFit)
        plain = _trace_run(tmp_path_factory.mktemp("p"), sizes, boot_s)
    _same_tables(fast, plain)


def test_the_contention_config_rejects_as_through_submit_with_fewer_calls_into_it(monkeypatch):
    """configs/contention.toml scaled to 6 hosts over 2 h (the general engine: usage
    steps, OOM kills, batch work; 3 of 4 arrivals turned away): the same four tables
    with the shortcut and without it, and submit() called for fewer arrivals with it."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from run import scaled_config
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    calls = {"submit": 0}
    submit = handlers.Lane.submit

    def counted(self, *args, **kwargs):
        calls["submit"] += 1
        return submit(self, *args, **kwargs)

    monkeypatch.setattr(handlers.Lane, "submit", counted)
    fast = simdc.simulate(scaled_config("contention", 6, 7200.0))
    fast_calls, calls["submit"] = calls["submit"], 0
    monkeypatch.setattr(handlers, "FirstFit", _NotFirstFit)
    plain = simdc.simulate(scaled_config("contention", 6, 7200.0))
    _same_tables(fast, plain)
    rejected = int(plain.summary["rejected"].sum())
    assert rejected > 0
    assert fast_calls < calls["submit"]


@pytest.mark.parametrize("as_list", [True, False])
def test_a_samples_rows_are_one_per_host_with_the_values_given(as_list):
    """Timeseries.add, from lists (copied whole) or from iterators (item by item): one
    row per host, in host order, at the sample's time, each column the value given."""
    series = Timeseries(3)
    samples = [(0.0, [1, 0, 2], [1, 0, 1], [0.5, 0.0, 1.25], [0.5, 0.0, 1.0], [2.0, 0.5, 3.0], [4.0, 0.5, 4.0],
                [0.0, 0.0, 0.25]),
               (60.0, [0, 0, 3], [0, 0, 3], [0.0, 0.0, 7.5], [0.0, 0.0, 4.0], [0.5, 0.5, 6.0], [0.5, 0.5, 6.5],
                [0.0, 0.0, 0.0])]
    for now, *columns in samples:
        series.add(now, *(list(c) if as_list else iter(c) for c in columns))
    table = series.table("vm")
    names = list(Timeseries.COLUMNS)[2:]
    want = pd.DataFrame([{"platform": "vm", "t_s": now, "host": h, **{k: c[h] for k, c in zip(names, columns)}}
                         for now, *columns in samples for h in range(3)]).astype(table.dtypes.to_dict())
    assert table.equals(want)
