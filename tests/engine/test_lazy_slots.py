"""A slow host's running set, changed slot by slot (HostState: a change settles only the
slots whose rates it moves), against the definition computed the old way: at every
change every slot settled at the rates it had, then every slot's share recomputed from
the whole running set (``EagerHost``, written here from the model in DESIGN.md: weighted
max-min CPU shares, VM memory reclaim and swap, interference saturating at one hog).
Sums regroup (one long interval against several short ones), so figures agree to 1e-9
relative, not to the last bit."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings, strategies as st

import simdc.engine.host as host_module
from simdc.engine.rules import water_fill
from simdc.engine.host import DEGRADED, DONE, HostState
from simdc.engine.rules import EPS
from simdc.model.host import HostSpec

INSTANCES = 80
ACCUMULATORS = ("demand_acc", "unmet_acc", "swap_acc", "extra_acc", "degraded_acc")


class EagerHost:
    """The old computation, one slot a dict: settle everything, then share everything."""

    def __init__(self, cores: float, allocatable: float, overhead: float, vm: bool, swap_slowdown: float,
                 k_membw: float, k_io: float):
        self.cores, self.allocatable, self.overhead, self.vm = cores, allocatable, overhead, vm
        self.swap_slowdown, self.k_membw, self.k_io = swap_slowdown, k_membw, k_io
        self.slots: dict[int, dict] = {}  # by instance
        self.t = 0.0
        self.swapped = 0.0

    def settle(self, now: float) -> None:
        dt = now - self.t
        for slot in self.slots.values():
            slot["demand_acc"] += (slot["demand"] + slot["clip"]) * dt
            slot["unmet_acc"] += (slot["demand"] - slot["alloc"] + slot["clip"]) * dt
            slot["swap_acc"] += dt if self.swapped > 0 else 0.0
            slot["extra_acc"] += (1.0 / slot["ispeed"] - 1.0) * dt
            slot["degraded_acc"] += dt if slot["ispeed"] < DEGRADED else 0.0
            slot["rem"] -= slot["rate"] * dt
        self.t = now

    def share(self) -> None:
        slots = list(self.slots.values())
        n = len(slots)
        demand = np.array([s["demand"] for s in slots])
        weight = np.array([s["weight"] for s in slots])
        alloc = water_fill(demand, weight, self.cores) if demand.sum() > self.cores + EPS else demand
        speed, self.swapped = 1.0, 0.0
        if self.vm:  # a guest keeps what it touched; the balloon takes back what it does not use now
            touched = sum(s["hwm"] for s in slots)
            want = touched + self.overhead * n
            if want > self.allocatable + EPS:
                unused = touched - sum(s["mem"] for s in slots)
                want -= min(unused, want - self.allocatable)
                self.swapped = max(0.0, want - self.allocatable)
                speed = 1.0 - self.swap_slowdown * self.swapped / want if self.swapped > 0 else 1.0
        membw_sum, io_sum = sum(s["membw"] for s in slots), sum(s["io"] for s in slots)
        interfering = n > 1 and ((self.k_membw > 0 and membw_sum > 0) or (self.k_io > 0 and io_sum > 0))
        for slot, d, a in zip(slots, demand.tolist(), np.asarray(alloc).tolist()):
            slot["alloc"] = a
            m, o = slot["membw"], slot["io"]
            slot["ispeed"] = 1.0 / (1.0 + self.k_membw * m * min(membw_sum - m, 1.0)
                                    + self.k_io * o * min(io_sum - o, 1.0)) if interfering else 1.0
            wanted = d + slot["clip"]  # what it wants, its ceiling included (processor sharing)
            share = a / wanted if wanted > 0 else 1.0
            slot["rate"] = share * speed * slot["ispeed"] if slot["batch"] else 0.0

    def next_finish(self) -> float | None:
        whens = [self.t + max(s["rem"], 0.0) / s["rate"] for s in self.slots.values() if s["rate"] > 0]
        return min(whens) if whens else None


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


ops = st.lists(st.tuples(st.sampled_from(["add", "add", "add", "remove", "remove", "usage", "finish"]),
                         st.floats(0.0, 50.0), st.integers(0, 2**32 - 1)), min_size=1, max_size=60)


@settings(max_examples=80, deadline=None)
@given(ops=ops, vm=st.booleans(), cores=st.sampled_from([8.0, 64.0]), allocatable=st.sampled_from([30.0, 500.0]),
       k_membw=st.sampled_from([0.0, 0.47]), k_io=st.sampled_from([0.0, 1.0]), light=st.booleans(),
       lazy_share=st.sampled_from([host_module.LAZY_SHARE, math.inf]))
def test_a_change_settling_only_the_slots_it_moves_agrees_with_settling_every_slot(
        ops, vm, cores, allocatable, k_membw, k_io, light, lazy_share):
    # lazy_share inf: every interference-only change settles slot by slot, however many move
    saved = host_module.LAZY_SHARE
    host_module.LAZY_SHARE = lazy_share
    try:
        run_against_eager(ops, vm, cores, allocatable, k_membw, k_io, light)
    finally:
        host_module.LAZY_SHARE = saved


def run_against_eager(ops, vm, cores, allocatable, k_membw, k_io, light):
    spec = HostSpec(cpu_cores=cores, memory_gib=allocatable + 2, reserved_memory_gib=2)
    host = HostState(0, spec, cores, allocatable, overhead_gib=0.1, vm=vm, swap_slowdown=0.5,
                     membw_sensitivity=k_membw, io_sensitivity=k_io)
    eager = EagerHost(cores, allocatable, 0.1, vm, 0.5, k_membw, k_io)
    slot_of = [-1] * INSTANCES
    now, next_i = 0.0, 0
    for op, dt, seed in ops:
        now += dt
        rng = np.random.default_rng(seed)
        eager.settle(now)
        if op == "add" and next_i < INSTANCES:
            i = next_i
            next_i += 1
            # light: intensities of a Beta(0.3, 1.7) (the synthetic generator's for a mean of
            # 0.15), so sums cross the saturation at 1 as slots come and go
            membw, io = (rng.beta(0.3, 1.7, 2) if light else rng.uniform(0, 1, 2)).tolist()
            slot = dict(demand=float(rng.uniform(0, 2.5)), clip=float(rng.choice([0.0, rng.uniform(0, 1)])),
                        weight=float(rng.uniform(0.5, 4)), mem=float(rng.uniform(0, 8)),
                        batch=bool(rng.random() < 0.5), rem=float(rng.uniform(0, 200)), membw=membw, io=io)
            host.add(now, i, slot["demand"], slot["weight"], slot["mem"], slot["batch"], slot["rem"], slot_of,
                     membw, io, slot["clip"])
            slot.update(hwm=slot["mem"], **{name: 0.0 for name in ACCUMULATORS})
            eager.slots[i] = slot
        elif op == "remove" and host.n:
            i = host.inst[int(rng.integers(host.n))]
            got = host.remove(now, slot_of[i], slot_of)
            gone = eager.slots.pop(i)
            assert all(close(g, gone[name]) for g, name in zip(got, ACCUMULATORS)), (got, gone)
        elif op == "usage" and host.n:
            demand, mem = rng.uniform(0, 4, host.n), rng.uniform(0, 12, host.n)
            clip = np.where(rng.random(host.n) < 0.3, rng.uniform(0, 1, host.n), 0.0)
            host.set_usage(now, demand, mem, clip)
            for i, d, m, c in zip(host.inst, demand.tolist(), mem.tolist(), clip.tolist()):
                slot = eager.slots[i]
                slot.update(demand=d, mem=m, clip=c, hwm=max(slot["hwm"], m))
        elif op == "finish" and host.n:  # what Simulation._on_finish does
            done = [host.inst[s] for s in host.finished_slots(now)]
            assert sorted(done) == sorted(i for i, s in eager.slots.items() if s["batch"] and s["rem"] <= DONE)
            for i in done:
                got = host.remove(now, slot_of[i], slot_of)
                gone = eager.slots.pop(i)
                assert all(close(g, gone[name]) for g, name in zip(got, ACCUMULATORS))
        host.rebalance(now)
        eager.share()
        for s, i in enumerate(host.inst):
            slot = eager.slots[i]
            assert close(host.ispeed[s], slot["ispeed"]) and close(host.rate[s], slot["rate"])
            assert close(host.alloc[s], slot["alloc"])
        # (a finish already due, which the test does not fire in time, is due now: max(when - now, 0))
        mine, theirs = host.next_finish(now), eager.next_finish()
        assert (mine is None) == (theirs is None), (mine, theirs)
        assert mine is None or close(max(mine, now), theirs), (mine, theirs)
        assert host._since_all is None or all(since == host._since_all for since in host.since)
    host.settle(now)
    for s, i in enumerate(host.inst):
        slot = eager.slots[i]
        for name in (*ACCUMULATORS, "rem"):
            assert close(getattr(host, name)[s], slot[name]), (name, getattr(host, name)[s], slot[name])


def test_on_a_saturated_host_a_change_leaves_the_other_slots_unsettled():
    # Five neighbours of memory-bandwidth intensity 0.5: each sees 2 or more of the others'
    # pressure, above the one hog it saturates at, before and after a sixth comes and goes;
    # 64 cores, no contention. Only the newcomer's and the leaver's slots are touched.
    spec = HostSpec(cpu_cores=64, memory_gib=256, reserved_memory_gib=8)
    host = HostState(0, spec, 64.0, 248.0, overhead_gib=0.1, vm=False, membw_sensitivity=0.47)
    slot_of = [-1] * 8
    for i in range(5):
        host.add(0.0, i, 1.0, 1.0, 1.0, True, 1000.0, slot_of, 0.5, 0.0)
        host.rebalance(0.0)
    alone = 1.0 / (1.0 + 0.47 * 0.5 * 1.0)  # the saturated speed
    assert host.interfering and host.ispeed == [alone] * 5
    host.add(10.0, 5, 1.0, 1.0, 1.0, True, 2000.0, slot_of, 0.2, 0.0)  # done after the five
    host.rebalance(10.0)
    assert host.since == [0.0] * 5 + [10.0]  # the five not settled
    assert host.ispeed == [alone] * 5 + [1.0 / (1.0 + 0.47 * 0.2)]
    # the next finish is the five's, planned at t = 0 and unchanged: 1000 s at `alone`
    assert host.next_finish(10.0) == 1000.0 / alone
    host.remove(20.0, slot_of[5], slot_of)
    host.rebalance(20.0)
    assert host.since == [0.0] * 5
    host.settle(30.0)  # each accumulated 30 s at `alone`: lost (1 / alone − 1) × 30 s
    assert all(math.isclose(extra, (1.0 / alone - 1.0) * 30.0, rel_tol=1e-12) for extra in host.extra_acc)
    assert all(math.isclose(rem, 1000.0 - alone * 30.0, rel_tol=1e-12) for rem in host.rem)
