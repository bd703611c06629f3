"""A host's running set: the slot-by-slot Python path against the vectorised one, and the
kept 'next batch finish' against a scan of the slots."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

import simdc.engine.host as host_module
from simdc.engine.host import SLOTS, HostState
from simdc.model.host import HostSpec

SPEC = HostSpec(cpu_cores=8, memory_gib=32, reserved_memory_gib=2)


def scanned_finish(host: HostState) -> float | None:
    """The definition: the least ``since + max(rem, 0) / rate`` over slots with a rate."""
    whens = [since + max(rem, 0.0) / rate for since, rem, rate in zip(host.since, host.rem, host.rate) if rate > 0]
    return min(whens) if host.batch_n and whens else None


def on(host: HostState, short: bool, method: str, *args):
    """Call ``host.method`` with the Python path (short) or numpy path for every size."""
    saved = host_module.SHORT_HOST
    host_module.SHORT_HOST = 10**9 if short else 0
    try:
        return getattr(host, method)(*args)
    finally:
        host_module.SHORT_HOST = saved


ops = st.lists(st.tuples(st.sampled_from(["add", "add", "add", "remove", "usage", "settle"]),
                         st.floats(0.0, 50.0), st.integers(0, 10**6)), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(ops=ops, vm=st.booleans(), k_membw=st.sampled_from([0.0, 0.4]), k_io=st.sampled_from([0.0, 0.3]),
       swap_slowdown=st.sampled_from([0.0, 0.5]))
def test_python_and_numpy_paths_give_the_same_doubles_and_the_kept_finish_is_the_scanned_one(
        ops, vm, k_membw, k_io, swap_slowdown):
    hosts = [HostState(0, SPEC, 8.0, 30.0, overhead_gib=0.1, vm=vm, swap_slowdown=swap_slowdown,
                       membw_sensitivity=k_membw, io_sensitivity=k_io) for _ in range(2)]
    slot_of = [[-1] * 100 for _ in range(2)]
    now, next_i = 0.0, 0
    for op, dt, seed in ops:
        now += dt
        for host, short, slots in zip(hosts, (True, False), slot_of):
            r = np.random.default_rng(seed)  # the same draws for both hosts
            if op == "add" and next_i < 100:
                on(host, short, "add", now, next_i, float(r.uniform(0, 2.5)), float(r.uniform(0.5, 4)),
                   float(r.uniform(0, 8)), bool(r.random() < 0.5), float(r.uniform(0, 200)), slots,
                   float(r.uniform(0, 1)), float(r.uniform(0, 1)), float(r.choice([0.0, r.uniform(0, 1)])))
            elif op == "remove" and host.n:
                on(host, short, "remove", now, int(r.integers(host.n)), slots)
            elif op == "usage" and host.n:
                n = host.n
                on(host, short, "set_usage", now, r.uniform(0, 4, n), r.uniform(0, 12, n), r.uniform(0, 0.5, n))
            elif op == "settle":
                on(host, short, "settle", now)
            if op != "settle":
                on(host, short, "rebalance", now)
        next_i += op == "add"
        for name in SLOTS:
            assert np.array_equal(np.asarray(getattr(hosts[0], name), float),
                                  np.asarray(getattr(hosts[1], name), float)), name
        for host in hosts:
            assert host.next_finish(now) == scanned_finish(host)
            assert host._since_all is None or all(since == host._since_all for since in host.since)


def test_removing_the_soonest_batch_slot_on_a_fast_host_plans_the_next_one():
    # no interference, cores to spare: a fast host, whose slots settle lazily
    host = HostState(0, SPEC, 8.0, 30.0, overhead_gib=0.1, vm=False)
    slot_of = [-1] * 4
    for i, (start_s, work_s) in enumerate([(0.0, 100.0), (10.0, 30.0), (20.0, 500.0), (25.0, 0.0)]):
        host.add(start_s, i, 1.0, 1.0, 1.0, i != 3, work_s, slot_of)  # instance 3 is a service
        host.rebalance(start_s)
    assert not host.slow
    assert host.next_finish(25.0) == 40.0  # instance 1: 30 s of work from t = 10
    host.remove(26.0, slot_of[1], slot_of)
    host.rebalance(26.0)
    assert host.next_finish(26.0) == 100.0 == scanned_finish(host)  # instance 0
    host.remove(27.0, slot_of[2], slot_of)  # not the soonest: the plan stands
    host.rebalance(27.0)
    assert host.next_finish(27.0) == 100.0 == scanned_finish(host)
