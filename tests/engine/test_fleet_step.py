"""A usage step over the whole fleet at once (FleetStep) against the same step host by
host (HostState.set_usage, then rebalance): the same doubles in every slot and every
host figure, over random small fleets with interference, CPU limits, contention, VM
memory reclaim and batch work on."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from simdc.engine.host import SLOTS, FleetFigures, FleetStep, HostState, SlotMirror
from simdc.model.host import HostSpec

SPEC = HostSpec(cpu_cores=8, memory_gib=32, reserved_memory_gib=2)
INSTANCES = 60
# every number a host keeps besides its slots: integrals, sums and state
FIGURES = ("last_t", "resident_s", "cpu_demand_s", "cpu_used_s", "cpu_booked_s", "mem_used_s", "mem_alloc_s",
           "stranded_s", "swap_s", "swapped_gib_s", "reclaim_s", "energy_j", "demand_sum", "clip_sum", "mem_sum",
           "hwm_sum", "membw_sum", "io_sum", "batch_n", "cpu_demand", "cpu_clip", "mem_used", "swapped",
           "reclaiming", "contended", "interfering", "speed", "_since_all")


def fleet(hosts: int, vm: bool, k_membw: float, k_io: float, ksm: float = 0.0, balloon: bool = True) -> list[HostState]:
    states = [HostState(h, SPEC, 12.0, 40.0, overhead_gib=0.1, vm=vm, swap_slowdown=0.5, ksm_savings=ksm,
                        balloon=balloon, membw_sensitivity=k_membw, io_sensitivity=k_io) for h in range(hosts)]
    FleetFigures.attach(states)
    SlotMirror.attach(states, INSTANCES)
    return states


def usage(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A step's usage of ``n`` slots: demand (some above the cores: contention), clip
    above a ceiling for some slots (limits), memory up to above the host (reclaim)."""
    demand = rng.uniform(0, 4, n)
    clip = np.where(rng.random(n) < 0.3, rng.uniform(0, 1, n), 0.0)
    return demand, clip, rng.uniform(0, 12, n)


ops = st.lists(st.tuples(st.sampled_from(["add", "add", "fill", "remove", "step", "step"]),
                         st.floats(0.0, 50.0), st.integers(0, 2**32 - 1)), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(ops=ops, hosts=st.integers(1, 4), vm=st.booleans(), k_membw=st.sampled_from([0.0, 0.4]),
       k_io=st.sampled_from([0.0, 0.3]), ksm=st.sampled_from([0.0, 0.25]), balloon=st.booleans())
def test_the_fleet_step_gives_each_slot_and_host_the_doubles_of_the_step_host_by_host(ops, hosts, vm, k_membw, k_io,
                                                                                       ksm, balloon):
    by_host, whole = fleet(hosts, vm, k_membw, k_io, ksm, balloon), fleet(hosts, vm, k_membw, k_io, ksm, balloon)
    slot_of = ([-1] * INSTANCES, [-1] * INSTANCES)
    # what each instance's slot is given and keeps: the step takes these by instance
    constants = {"weight": np.zeros(INSTANCES), "membw": np.zeros(INSTANCES), "io": np.zeros(INSTANCES),
                 "batch": np.zeros(INSTANCES, dtype=bool)}
    now, next_i = 0.0, 0
    for op, dt, seed in ops:
        now += dt
        rng = np.random.default_rng(seed)
        if op in ("add", "fill"):  # fill: several at once, for hosts of more than 8 slots (sums of 9+ terms)
            h = int(rng.integers(hosts))
            for _ in range(min(6 if op == "fill" else 1, INSTANCES - next_i)):
                args = (float(rng.uniform(0, 2.5)), float(rng.uniform(0.5, 4)), float(rng.uniform(0, 8)),
                        bool(rng.random() < 0.5), float(rng.uniform(0, 200)))
                extra = (float(rng.uniform(0, 1)), float(rng.uniform(0, 1)),
                         float(rng.choice([0.0, rng.uniform(0, 1)])))
                for states, slots in zip((by_host, whole), slot_of):
                    states[h].add(now, next_i, *args, slots, *extra)
                    states[h].rebalance(now)
                for name, value in (("weight", args[1]), ("batch", args[3]), ("membw", extra[0]), ("io", extra[1])):
                    constants[name][next_i] = value
                next_i += 1
        elif op == "remove":
            busy = [h for h in range(hosts) if by_host[h].n]
            if busy:
                h = busy[int(rng.integers(len(busy)))]
                s = int(rng.integers(by_host[h].n))
                for states, slots in zip((by_host, whole), slot_of):
                    states[h].remove(now, s, slots)
                    states[h].rebalance(now)
        elif op == "step":
            busy = [h for h in range(hosts) if by_host[h].n]
            counts = [by_host[h].n for h in busy]
            demand, clip, mem = usage(rng, sum(counts))
            start = 0
            for h, count in zip(busy, counts):  # the reference: host by host
                part = slice(start, start + count)
                by_host[h].set_usage(now, demand[part], mem[part], clip[part])
                by_host[h].rebalance(now)
                start += count
            if busy:
                inst = np.array([i for h in busy for i in whole[h].inst], dtype=np.int64)
                step = FleetStep([whole[h] for h in busy], counts, now, *((inst, constants) if seed % 2 else ()))
                step.set_usage(demand, clip, mem)
                # the GiB in use the caller's pressure test reads: each host's own figure
                assert step.mem_sum.tolist() == [whole[h].mem_sum for h in busy]
                skip = (rng.random(len(busy)) < 0.3).tolist()  # hosts the caller rebalances (memory pressure)
                step.rebalance(skip)
                for h, skipped in zip(busy, skip):
                    if skipped:
                        whole[h].rebalance(now)
        for a, b in zip(by_host, whole):
            for name in SLOTS:
                assert np.array_equal(np.asarray(getattr(a, name), float), np.asarray(getattr(b, name), float)), name
            for name in FIGURES:
                assert repr(getattr(a, name)) == repr(getattr(b, name)), name  # the same double (or None)
            assert a.next_finish(now) == b.next_finish(now)
            for host in (a, b):  # the mirror holds each running instance's slot values
                for name in ("demand", "clip", "hwm"):
                    assert getattr(host.mirror, name)[host.inst].tolist() == getattr(host, name), name
        for name in ("running", "cpu_demand", "cpu_used", "mem_used", "swapped"):
            assert getattr(by_host[0].figures, name) == getattr(whole[0].figures, name), name


def test_the_figures_a_sample_reads_are_the_hosts_own():
    """FleetFigures holds, per host, the numbers a sample computed from each host before:
    checked on hosts of known state (a contended container host, an idle one)."""
    states = fleet(2, vm=False, k_membw=0.0, k_io=0.0)
    slot_of = [-1] * 4
    for i, demand in enumerate([5.0, 6.0]):  # 11 cores wanted of 8: contended
        states[0].add(10.0, i, demand, 1.0, 3.0, False, 0.0, slot_of, 0.0, 0.0, 0.5)
        states[0].rebalance(10.0)
    figures = states[0].figures
    assert figures.running == [2, 0]
    assert figures.cpu_demand == [5.0 + 6.0 + 2 * 0.5, 0.0]  # demand above the ceilings counts
    assert figures.cpu_used == [8.0, 0.0]  # the cores, no more
    assert figures.mem_used == [3.0 + 3.0 + 2 * 0.1, 0.0]  # usage and the overhead each
    assert figures.swapped == [0.0, 0.0]


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.sampled_from([1, 2, 7, 8, 9, 16, 17, 127, 128, 129, 300]) | st.integers(1, 40),
                      min_size=1, max_size=12),
       seed=st.integers(0, 2**32 - 1))
def test_host_sums_are_numpy_sums_of_each_hosts_own_slots(sizes, seed):
    """FleetStep.host_sums against each host's slice summed alone, as HostState.set_usage
    sums it: the same doubles, for sizes around numpy's pairwise blocks (8 terms
    unrolled, 128 to a block) and hosts of one size side by side."""
    states = [HostState(h, SPEC, 12.0, 40.0, overhead_gib=0.1, vm=False) for h in range(len(sizes))]
    rows = np.random.default_rng(seed).uniform(0, 7, (3, sum(sizes)))
    got = FleetStep(states, sizes, 0.0).host_sums(rows)
    edges = np.cumsum([0] + sizes)
    want = [[float(row[lo:hi].sum()) for lo, hi in zip(edges, edges[1:])] for row in rows]
    assert got.tolist() == want


def test_finish_timers_a_usage_step_would_void_are_not_kept_and_nothing_moves(monkeypatch):
    """A usage step plans every busy host's next batch finish again, so a finish planned
    beyond the next step never fires: no timer is kept for it. The four tables of
    configs/contention.toml (3 h: batch work, contention, OOM kills, restarts) with a
    timer for every plan and without those are identical, and fewer timers were kept."""
    from pathlib import Path

    import simdc
    from simdc.config import load_config
    from simdc.engine.simulation import Simulation

    from .test_finish_plans import TimerPerPlan

    config = load_config(Path(__file__).parents[2] / "configs" / "contention.toml", ["simulation.duration_s=10800"])
    planned = {"timers": 0}
    after = Simulation._after

    def counting_after(self, delay, callback, value, priority=0):
        planned["timers"] += callback == self._on_finish
        after(self, delay, callback, value, priority)

    monkeypatch.setattr(Simulation, "_after", counting_after)
    lean = simdc.simulate(config)
    lean_timers, planned["timers"] = planned["timers"], 0
    monkeypatch.setattr(Simulation, "_schedule_finish", TimerPerPlan._schedule_finish)  # a timer for every plan
    full = simdc.simulate(config)
    assert lean_timers < planned["timers"]
    for table in ("summary", "instances", "hosts", "timeseries"):
        assert getattr(lean, table).equals(getattr(full, table)), table


@settings(max_examples=30, deadline=None)
@given(starts=st.lists(st.tuples(st.integers(0, 3), st.booleans(), st.floats(0.0, 1.9), st.floats(0.0, 500.0)),
                       min_size=1, max_size=24),
       ends=st.lists(st.integers(0, 23), max_size=8), seed=st.integers(0, 2**32 - 1))
def test_a_fast_fleets_batch_rates_taken_by_instance_are_the_hosts_own(starts, ends, seed):
    """While no host is slow, FleetStep takes each slot's batch progress by instance (1.0
    a batch slot, 0.0 a service) instead of reading the hosts' rate lists: the same
    numbers as the lists hold after starts and ends on uncontended, non-interfering
    container hosts (a start that would reach the 8 cores is left out), and after a step
    that keeps them so."""
    states = fleet(4, vm=False, k_membw=0.0, k_io=0.0)
    slot_of = [-1] * INSTANCES
    batch = np.zeros(INSTANCES, dtype=bool)
    now = 0.0
    for i, (h, is_batch, demand, work_s) in enumerate(starts):
        if states[h].demand_sum + demand >= 8.0:  # stay uncontended: no host slow
            continue
        now += 1.0
        states[h].add(now, i, demand, 1.0, 1.0, is_batch, work_s, slot_of)
        states[h].rebalance(now)
        batch[i] = is_batch
    for i in ends:
        if slot_of[i] >= 0:
            now += 1.0
            host = next(h for h in states if i in h.inst)
            host.remove(now, slot_of[i], slot_of)
            host.rebalance(now)
    busy = [h for h in states if h.n]
    if not busy:
        return
    now += 300.0
    counts = [h.n for h in busy]
    inst = np.array([i for h in busy for i in h.inst], dtype=np.int64)
    step = FleetStep(busy, counts, now, inst, {"batch": batch})
    assert not any(h.slow for h in busy)
    assert step._rates([False] * len(busy)).tolist() == [r for h in busy for r in h.rate]
    # and a step over them leaves each host as its own step would (rates included)
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 8.0 / max(counts), sum(counts))
    step.set_usage(demand, np.zeros(sum(counts)), rng.uniform(0, 2, sum(counts)))
    step.rebalance()
    assert [r for h in busy for r in h.rate] == np.where(batch[inst], 1.0, 0.0).tolist()
