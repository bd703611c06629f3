"""The host's change path, rewritten for speed, against the code it replaced: the same
doubles, bit for bit, over random sequences of bookings, usage and host states.

``HostState.advance`` reads its state into locals once; ``old_advance`` below is the
method as it was (main 5210a68): the oracle. A host's sorted intensities are two parallel
lists (floats, instances) instead of one list of ``(intensity, instance)`` tuples kept
with ``insort``: the oracle is the tuple list. ``_reshare_all_interfering`` settles and
shares every slot of an interfering host in one pass: the oracle is ``settle`` then
``_share_short``, the two passes it replaces. ``book``, ``release``, ``add``, ``remove``,
``rebalance``, ``_rebalance_state``, ``_reshare_interference`` and ``_settle_slot`` as they
were at main 25b4332 (before the eleventh session trimmed them) are copied below as
``old_*`` functions of the host: the oracle of the whole change path. Their batch rates
follow the rule as it is now (``rules.progress``: the CPU given over the CPU wanted, its
ceiling's clip included), which the old forms applied without the clip."""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import MutableSequence

import numpy as np

from hypothesis import given, settings
from hypothesis import strategies as st

from simdc.engine.rules import progress, water_fill
from simdc.engine.host import (DEGRADED, LAZY_SHARE, SATURATED_MARGIN, SHORT_HOST, SLOTS, FleetFigures,
                               HostState, _delete, _insert)
from simdc.engine.rules import contended as is_contended
from simdc.engine.rules import energy_j, stranded_gib
from simdc.model.host import HostSpec

INTEGRALS = ("resident_s", "cpu_demand_s", "cpu_used_s", "cpu_booked_s", "mem_used_s", "mem_alloc_s",
             "stranded_s", "energy_j", "down_s", "reclaim_s", "swap_s", "swapped_gib_s", "last_t")


def old_advance(self: HostState, now: float) -> None:
    """HostState.advance before the change path was written out (the oracle)."""
    dt = now - self.last_t
    if dt <= 0:
        return
    self.last_t = now
    booked, j = self.booked, self.index
    resident, book_cpu, book_mem = booked.resident[j], booked.cpu[j], booked.mem[j]
    self.resident_s += resident * dt
    demand = self.cpu_demand
    self.cpu_demand_s += (demand + self.cpu_clip) * dt
    used = demand if demand < self.cores else self.cores
    self.cpu_used_s += used * dt
    self.cpu_booked_s += book_cpu * dt
    mem_used = self.mem_used + self.base
    book = book_mem + self.base
    self.mem_used_s += mem_used * dt
    self.mem_alloc_s += book * dt
    stranded = stranded_gib(book_mem, self.allocatable, self.mem_used)
    if stranded > 0:
        self.stranded_s += stranded * dt
    # powered: since the power rule changed on purpose (off under repair; on while out
    # rebooting or in maintenance), the oracle says it the plain way
    powered = (resident > 0 or not self.power_off_idle or self.out) and not self.repairing
    if powered:
        self.energy_j += energy_j(self.power_idle_w, self.power_max_w, self.cores, dt, used * dt)
    if self.out:
        self.down_s += dt
    if self.reclaiming:
        self.reclaim_s += dt
        if self.swapped > 0:
            self.swap_s += dt
            self.swapped_gib_s += self.swapped * dt


size = st.floats(0.0, 64.0, allow_subnormal=False)
step = st.tuples(
    st.floats(0.0, 5000.0, allow_subnormal=False),  # seconds to the change (0: a second change at one instant)
    st.sampled_from(["book", "release", "usage", "out", "reclaim"]),
    size, size, st.booleans())


@settings(max_examples=150, deadline=None)
@given(cores=st.sampled_from([6, 7, 48, 96]), memory=st.sampled_from([32.0, 256.0, 1024.0]),
       base=st.sampled_from([0.0, 1.5]), power_off_idle=st.booleans(), steps=st.lists(step, max_size=40))
def test_advance_gives_the_integrals_the_old_advance_gave(cores, memory, base, power_off_idle, steps):
    """Two hosts, changed alike, one brought up to each change by ``advance``, the other
    by ``old_advance``: every integral the same double after every step. Bookings may
    exceed the allocatable memory (nothing stranded then) and demand the cores."""
    spec = HostSpec(cpu_cores=cores, memory_gib=memory, reserved_memory_gib=0.0)
    hosts = [HostState(0, spec, float(cores), memory, overhead_gib=0.1, vm=True, base_mem_gib=base,
                       power_off_idle=power_off_idle) for _ in range(2)]
    now = 0.0
    booked: list[tuple[float, float]] = []
    for dt, what, a, b, flag in steps:
        now += dt
        hosts[0].advance(now)
        old_advance(hosts[1], now)
        for host in hosts:
            if what == "book":
                host.booked.book(0, a, b * 4)
            elif what == "release" and booked:
                host.booked.release(0, *booked[-1])
            elif what == "usage":
                host.cpu_demand, host.cpu_clip, host.mem_used = a * 1.5, b if flag else 0.0, b * 4
            elif what == "out":  # out for repair (a > 32) or for a reboot or maintenance
                host.out, host.repairing = flag, flag and a > 32.0
            elif what == "reclaim":
                host.reclaiming, host.swapped = flag, a if flag else 0.0
        if what == "book":
            booked.append((a, b * 4))
        elif what == "release" and booked:
            booked.pop()
        for name in INTEGRALS:
            assert getattr(hosts[0], name) == getattr(hosts[1], name), name
    assert hosts[0].energy_j >= 0.0


@settings(max_examples=150, deadline=None)
@given(ops=st.lists(st.tuples(st.booleans(), st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 0.3333]),
                              st.floats(-1.0, 3.0)), max_size=80))
def test_sorted_intensities_hold_what_the_tuple_list_held(ops):
    """Inserts and deletes, with many equal intensities: after each, the same instances in
    the same intensity order as the old ``(intensity, instance)`` list, and the same tail
    past any cut (the instances ``_reshare_interference`` looks at)."""
    intensities, insts, old = [], [], []
    present: dict[int, float] = {}
    next_i = 0
    for add, m, low in ops:
        if add or not present:
            _insert(intensities, insts, m, next_i)
            insort(old, (m, next_i))
            present[next_i] = m
            next_i += 1
        else:
            i = sorted(present)[int(abs(low) * 1000) % len(present)]  # any instance present
            m_i = present.pop(i)
            _delete(intensities, insts, m_i, i)
            del old[bisect_right(old, (m_i, i)) - 1]  # HostState.remove before
        assert intensities == [m for m, _ in old]
        assert sorted(zip(intensities, insts)) == old
        cut = bisect_right(intensities, low)
        assert cut == bisect_right(old, (low, float("inf")))
        assert sorted(insts[cut:]) == sorted(i for _, i in old[cut:])


change = st.tuples(st.sampled_from(["add", "add", "remove", "rebalance"]), st.floats(0.0, 300.0),
                   st.floats(0.05, 4.0), st.floats(0.0, 0.6), st.floats(0.0, 0.6), st.booleans(), st.booleans())


@settings(max_examples=120, deadline=None)
@given(changes=st.lists(change, min_size=2, max_size=40), k_io=st.sampled_from([0.0, 0.3]),
       swapping=st.booleans(), dt=st.floats(0.0, 300.0))
def test_one_pass_reshare_gives_what_settle_then_share_gave(changes, k_io, swapping, dt):
    """A host changed at random (slots settled lazily, so their ``since`` differ; some
    batch, some clipped), then, while it interferes uncontended, both ways at one instant:
    every slot column, the next finish and the settled time the same, bit for bit."""
    def changed_host() -> tuple[HostState, float, bool]:
        spec = HostSpec(cpu_cores=64, memory_gib=256, reserved_memory_gib=8)
        host = HostState(0, spec, 64.0, 248.0, overhead_gib=0.1, vm=False, membw_sensitivity=0.47,
                         io_sensitivity=k_io)
        slot_of = [-1] * (len(changes) + 1)
        now = 0.0
        for i, (what, step_s, demand, membw, io, batch, clipped) in enumerate(changes):
            now += step_s
            if what == "add" or not host.inst:
                host.add(now, i, demand, 1.0, 2.0, batch, 50.0 * demand, slot_of, membw, io, 0.5 if clipped else 0.0)
            elif what == "remove":
                host.remove(now, int(membw * 1000) % host.n, slot_of)
            host.rebalance(now)
        # one more change, as rebalance meets it: the sums move, every slot's old speed is stale
        now += dt
        if changes[-1][6] or host.n < 3:
            host.add(now, len(changes), 1.0, 1.0, 2.0, True, 30.0, slot_of, 0.3, 0.2, 0.25)  # a newcomer
        else:
            host.remove(now, 0, slot_of)
        state = host._rebalance_state(now)
        host.swapped = 1.0 if swapping else 0.0  # settle's one test of it
        return host, now, state is not None

    # two hosts through the same changes (not copies of one: a class compiled with mypyc
    # cannot be deep-copied)
    (old, now, slow), (new, _, _) = changed_host(), changed_host()
    if not old._lazy:  # not interfering alone before and after: not this path
        return
    assert slow
    old.settle(now)
    old._share_short(old.n, old.speed, False, True, True, True)
    new._reshare_all_interfering(now, new.speed)
    for name in SLOTS:
        assert getattr(new, name) == getattr(old, name), name
    assert (new._finish_known, new._finish, new._since_all) == (old._finish_known, old._finish, old._since_all)


# --- the change path as it was (main 25b4332): book, release, add, remove, rebalance ---
# The methods copied as functions of the host (``self``), each calling the others' old
# forms; settle, _share_short, _reshare_all_interfering and _memory are the host's own
# (tested on their own above and in test_host_state.py).

def old_book(self, now: float, cpu: float, mem: float) -> None:
    """Book ``cpu`` cores and ``mem`` GiB here at ``now`` (integrals up to it first)."""
    old_advance(self, now)
    self.booked.book(self.index, cpu, mem)


def old_release(self, now: float, cpu: float, mem: float) -> None:
    """Release a booking of ``cpu`` cores and ``mem`` GiB at ``now``."""
    old_advance(self, now)
    self.booked.release(self.index, cpu, mem)


def old_add(self, now: float, i: int, demand: float, weight: float, mem: float, batch: bool,
        work_s: float, slot_of: MutableSequence[int], membw: float = 0.0, io: float = 0.0,
        clip: float = 0.0) -> None:
    """Start running instance ``i`` (``demand`` cores within its ceiling, ``clip``
    cores wanted above it); call :meth:`rebalance` after (which settles the slots
    whose rates the newcomer changes)."""
    if not self.inst:
        self._since_all = now
    elif self._since_all != now:
        self._since_all = None
    slot_of[i] = len(self.inst)
    if self._interferes:
        self._slot_of = slot_of
        self._fresh.append(i)
        if membw > 0 and self.k_membw > 0:
            _insert(self._membw_sorted, self._membw_inst, membw, i)
        if io > 0 and self.k_io > 0:
            _insert(self._io_sorted, self._io_inst, io, i)
    self.inst.append(i)
    self.demand.append(demand)
    self.clip.append(clip)
    self.weight.append(weight)
    self.alloc.append(demand)
    self.gap.append(0.0)
    self.rate.append(progress(demand, demand, clip, self.cpu_factor) * self.speed if batch else 0.0)
    self.mem.append(mem)
    self.hwm.append(mem)
    mirror = self.mirror
    if mirror is not None:
        mirror.demand[i], mirror.clip[i], mirror.hwm[i] = demand, clip, mem
    self.batch.append(batch)
    self.rem.append(work_s)
    self.since.append(now)
    self.demand_acc.append(0.0)
    self.unmet_acc.append(0.0)
    self.swap_acc.append(0.0)
    self.membw.append(membw)
    self.io.append(io)
    self.ispeed.append(1.0)
    self.extra_acc.append(0.0)
    self.degraded_acc.append(0.0)
    self.demand_sum += demand
    self.clip_sum += clip
    self.mem_sum += mem
    self.hwm_sum += mem
    self.membw_sum += membw
    self.io_sum += io
    self.batch_n += batch
    rate = self.rate[-1]
    if batch and rate > 0 and self._finish_known:  # next_finish's formula for this slot
        when = now + (work_s if work_s > 0 else 0.0) / rate
        if self._finish is None or when < self._finish:
            self._finish = when


def old_remove(self, now: float, s: int, slot_of: MutableSequence[int]) -> tuple[float, float, float, float, float]:
    """Stop running the instance in slot ``s``; return its integrals: (demand, unmet,
    swap, time lost to interference, time degraded).

    The last slot moves into ``s``. Only this slot is settled; call :meth:`rebalance`
    after (which settles the slots whose rates its leaving changes).
    """
    rate = self.rate[s]
    if self._finish_known and rate > 0:  # the soonest finish leaves: find the next
        rem = self.rem[s]
        if self.since[s] + (rem if rem > 0 else 0.0) / rate == self._finish:
            self._finish_known = False
    old_settle_slot(self, now, s)
    result = (self.demand_acc[s], self.unmet_acc[s], self.swap_acc[s], self.extra_acc[s], self.degraded_acc[s])
    i = self.inst[s]
    slot_of[i] = -1
    if self._interferes:
        m, o = self.membw[s], self.io[s]
        if m > 0 and self.k_membw > 0:
            _delete(self._membw_sorted, self._membw_inst, m, i)
        if o > 0 and self.k_io > 0:
            _delete(self._io_sorted, self._io_inst, o, i)
    self.batch_n -= self.batch[s]
    if len(self.inst) == 1:  # forget accumulated rounding error
        self.demand_sum = self.clip_sum = self.mem_sum = self.hwm_sum = self.membw_sum = self.io_sum = 0.0
    else:
        self.demand_sum -= self.demand[s]
        self.clip_sum -= self.clip[s]
        self.mem_sum -= self.mem[s]
        self.hwm_sum -= self.hwm[s]
        self.membw_sum -= self.membw[s]
        self.io_sum -= self.io[s]
    if s == len(self.inst) - 1:
        for column in self._columns:
            column.pop()
    else:
        for column in self._columns:
            column[s] = column.pop()
        slot_of[self.inst[s]] = s
    return result


def old_settle_slot(self, now: float, s: int) -> None:
    """Bring slot ``s``'s accumulators and batch work up to ``now`` at the rates it has
    had since its ``since``: :meth:`_settle_short`'s operations on one element (a
    fast host's slot: full share, no swap, no interference)."""
    dt = now - self.since[s]
    clip = self.clip[s]
    if clip:
        self.demand_acc[s] += (self.demand[s] + clip) * dt
        self.unmet_acc[s] += ((self.gap[s] + clip) if self.contended else clip) * dt
    else:
        self.demand_acc[s] += self.demand[s] * dt
        if self.contended:
            self.unmet_acc[s] += self.gap[s] * dt
    if self.swapped > 0:
        self.swap_acc[s] += dt
    if self.interfering:
        v = self.ispeed[s]
        self.extra_acc[s] += (1.0 / v - 1.0) * dt
        self.degraded_acc[s] += dt if v < DEGRADED else 0.0
    self.rem[s] -= self.rate[s] * dt
    self.since[s] = now


def old_rebalance(self, now: float) -> None:
    """Recompute aggregates, VM memory reclaim, interference and CPU shares after a change.

    Call after :meth:`add`, :meth:`remove` or :meth:`set_usage`, and after container
    memory pressure has been resolved.
    """
    change = old_rebalance_state(self, now)
    if change is None:
        return  # fast before and after: every slot keeps its full share
    n, speed, contended, interfering, was_slow, was_interfering = change
    if self._lazy:
        if old_reshare_interference(self, now, speed):
            return
        if n <= SHORT_HOST:  # most slots move: settle and share them all in one pass
            self._reshare_all_interfering(now, speed)
            return
        self.settle(now)  # most slots move: settling them all at once is cheaper
    if n <= SHORT_HOST:
        self._share_short(n, speed, contended, interfering, was_slow, was_interfering)
        return
    demand = np.asarray(self.demand)
    if interfering:
        # Neighbours' combined pressure saturates at one full-intensity hog: the case
        # the sensitivities were measured on (a resource cannot be taken twice).
        membw, io = np.asarray(self.membw), np.asarray(self.io)
        ispeed = 1.0 / (1.0 + self.k_membw * membw * np.minimum(self.membw_sum - membw, 1.0)
                        + self.k_io * io * np.minimum(self.io_sum - io, 1.0))
        self.ispeed[:] = ispeed.tolist()
    else:
        ispeed = None
        if was_interfering:
            self.ispeed[:] = [1.0] * n
    if contended:
        alloc = water_fill(demand, np.asarray(self.weight), self.cores)
        self.alloc[:] = alloc.tolist()
        self.gap[:] = (demand - alloc).tolist()
    else:
        alloc = demand
        if was_slow:
            self.alloc[:] = list(self.demand)
            self.gap[:] = [0.0] * n
    self._finish_known = False
    if self.batch_n:
        # progress = share of its demand it gets, slowed by swapping and neighbours
        rate = progress(alloc, demand, np.asarray(self.clip), self.cpu_factor) * speed
        if ispeed is not None:
            rate = rate * ispeed
        self.rate[:] = np.where(np.asarray(self.batch, dtype=bool), rate, 0.0).tolist()


def old_rebalance_state(self, now: float) -> tuple[int, float, bool, bool, bool, bool] | None:
    """:meth:`rebalance`'s part per host: integrals up to ``now``, then the running
    set's aggregates, memory reclaim and whether it is contended or interfering.
    On a host slow before or after, every slot not settled at ``now`` is settled
    first (at the rates it had), unless the change is one
    :meth:`_reshare_interference` handles (``self._lazy``).
    Returns ``(n, speed, contended, interfering, was_slow, was_interfering)`` for the
    shares to be recomputed, or ``None`` when the host was and stays fast (every slot
    keeps its full share)."""
    if now > self.last_t:
        old_advance(self, now)
    n = len(self.inst)
    cpu_demand = self.demand_sum
    contended = is_contended(cpu_demand, self.cores)
    if self.vm:
        mem_used, swapped, speed, reclaiming = self._memory()
    else:
        mem_used, swapped, speed, reclaiming = self.mem_sum + self.overhead * n, 0.0, 1.0, False
    interfering = n > 1 and ((self.k_membw > 0 and self.membw_sum > 0) or (self.k_io > 0 and self.io_sum > 0))
    was_interfering = self.interfering
    was_slow = self.contended or self.swapped > 0 or was_interfering
    slow = contended or swapped > 0 or interfering
    # Interference alone, before and after, at one swap speed: a slot's shares move
    # only if its speed left by neighbours does, and rebalance settles just those
    # (_reshare_interference). Any other slow change settles every slot first, at
    # the rates they had (a change settled only the slot it added or removed).
    if slow or was_slow:
        self._lazy = lazy = (interfering and was_interfering and not contended and not self.contended
                             and speed == self.speed and (swapped > 0) == (self.swapped > 0))
        if not lazy and self._since_all != now:
            self.settle(now)
    else:
        self._lazy = False
    if self._interferes:
        self._sums_was, self._sums_seen = self._sums_seen, (self.membw_sum, self.io_sum)
        self._fresh_was, self._fresh = self._fresh, []
    self.cpu_demand, self.contended, self.interfering = cpu_demand, contended, interfering
    self.cpu_clip = self.clip_sum
    self.mem_used, self.swapped, self.speed, self.reclaiming = mem_used, swapped, speed, reclaiming
    figures = self.figures
    if figures is not None:  # what a sample reads, as _sample computed it from these
        index = self.index
        figures.running[index] = n
        figures.cpu_demand[index] = cpu_demand + self.clip_sum
        figures.cpu_used[index] = cpu_demand if cpu_demand < self.cores else self.cores
        figures.mem_used[index] = mem_used + self.base
        figures.swapped[index] = swapped
    if not (was_slow or slow):
        return None
    return n, speed, contended, interfering, was_slow, was_interfering


def old_reshare_interference(self, now: float, speed: float) -> bool:
    """:meth:`rebalance` on a host interfering before and after a change, neither
    contended nor at a new swap speed (``speed``): every share is the demand, and a
    batch slot's rate is ``speed`` × its speed left by neighbours (``ispeed``). Only
    slots whose ``ispeed`` moves are settled (at the old one) and given the new;
    the others keep their ``since`` and accumulate lazily. The kept next batch
    finish stays known unless the slot that held it moved.

    The slots looked at: those added since the last rebalance, and those whose
    intensity leaves them unsaturated at the sums before or after (found by bisection
    in the sorted intensities: the rest keep the same ``ispeed``, SATURATED_MARGIN).
    When they are more than ``LAZY_SHARE`` of the slots it does nothing and returns
    False: the caller settles every slot and recomputes every share instead.
    """
    k_membw, k_io, membw_sum, io_sum = self.k_membw, self.k_io, self.membw_sum, self.io_sum
    membw_was, io_was = self._sums_was
    slot_of = self._slot_of
    inst, n = self.inst, len(self.inst)
    membw_sorted, io_sorted = self._membw_sorted, self._io_sorted
    # the unsaturated at either sum: the tail of each sorted list, past its cut (the
    # intensities at most `low`)
    cut_membw = cut_io = None
    if membw_sum != membw_was and membw_sorted:
        low = (membw_sum if membw_sum < membw_was else membw_was) - 1.0 - SATURATED_MARGIN
        cut_membw = bisect_right(membw_sorted, low)
    if io_sum != io_was and io_sorted:
        low = (io_sum if io_sum < io_was else io_was) - 1.0 - SATURATED_MARGIN
        cut_io = bisect_right(io_sorted, low)
    looked = (len(self._fresh_was) + (0 if cut_membw is None else len(membw_sorted) - cut_membw)
              + (0 if cut_io is None else len(io_sorted) - cut_io))
    if not looked:
        return True
    if looked > LAZY_SHARE * n:
        return False
    # added since (and still here: one added and removed again has left)
    look = [s for i in self._fresh_was for s in (slot_of[i],) if 0 <= s < n and inst[s] == i]
    if cut_membw is not None:
        look += [slot_of[i] for i in self._membw_inst[cut_membw:]]
    if cut_io is not None:
        look += [slot_of[i] for i in self._io_inst[cut_io:]]
    membw, io, ispeed = self.membw, self.io, self.ispeed
    since, rem, rate, batch = self.since, self.rem, self.rate, self.batch
    known, soonest = self._finish_known, self._finish
    settled = False
    for s in set(look):
        m, o = membw[s], io[s]
        # the same expression as _share_short's, so the same doubles
        v = 1.0 / (1.0 + k_membw * m * (membw_sum - m if membw_sum - m < 1.0 else 1.0)
                   + k_io * o * (io_sum - o if io_sum - o < 1.0 else 1.0))
        if v == ispeed[s]:
            continue
        if batch[s]:
            r = rate[s]
            if known and r > 0:  # its finish moves: was it the soonest?
                left = rem[s]
                if since[s] + (left if left > 0 else 0.0) / r == soonest:
                    known = False
        if since[s] != now:
            old_settle_slot(self, now, s)
            settled = True
        ispeed[s] = v
        if batch[s]:
            r = rate[s] = progress(self.demand[s], self.demand[s], self.clip[s], self.cpu_factor) * speed * v
            if known and r > 0:
                left = rem[s]
                when = now + (left if left > 0 else 0.0) / r
                if soonest is None or when < soonest:
                    soonest = when
    self._finish_known, self._finish = known, soonest
    if settled:
        self._since_all = None
    return True


STATE = ("n", "batch_n", "demand_sum", "clip_sum", "mem_sum", "hwm_sum", "membw_sum", "io_sum", "cpu_demand",
         "cpu_clip", "mem_used", "swapped", "reclaiming", "contended", "interfering", "speed", "_finish_known",
         "_finish", "_since_all", "_lazy", "_sums_seen", "_sums_was", "_fresh", "_fresh_was", "_membw_sorted",
         "_membw_inst", "_io_sorted", "_io_inst", "resident", "book_cpu", "book_mem", "peak_resident")

op = st.tuples(st.sampled_from(["start", "start", "start", "stop", "stop", "finish", "usage"]),
               st.floats(0.0, 600.0), st.floats(0.05, 12.0), st.floats(0.5, 40.0), st.floats(0.0, 0.7),
               st.floats(0.0, 0.7), st.booleans(), st.booleans(), st.integers(0, 10**6))


def _old_step(host: HostState, what: str, now: float, args: tuple, slot_of: list[int], out: list) -> None:
    """One change on ``host`` through the old methods (the oracle's side of the test below)."""
    _change(host, what, now, args, slot_of, out, old_book, old_release, old_add, old_remove, old_rebalance)


def _new_step(host: HostState, what: str, now: float, args: tuple, slot_of: list[int], out: list) -> None:
    _change(host, what, now, args, slot_of, out, HostState.book, HostState.release, HostState.add,
            HostState.remove, HostState.rebalance)


def _change(host, what, now, args, slot_of, out, book, release, add, remove, rebalance) -> None:
    """A start (book, then add and rebalance), a stop (remove, rebalance, release), the batch
    slots done leaving, or new usage, as the engine makes them; ``out`` gets what removals return."""
    i, demand, mem, membw, io, batch, clipped, pick = args
    if what == "start" or not host.inst:
        book(host, now, demand, mem)
        add(host, now, i, demand, 1.0 + membw, mem * 0.8, batch, 100.0 * demand, slot_of, membw, io,
            0.4 if clipped else 0.0)
        rebalance(host, now)
    elif what == "stop":
        s = pick % host.n
        out.append(remove(host, now, s, slot_of))
        rebalance(host, now)
        release(host, now, 1.0, 1.0)
    elif what == "finish":
        for s in sorted(host.finished_slots(now), reverse=True):
            out.append(remove(host, now, s, slot_of))
        rebalance(host, now)
    else:
        rng = np.random.default_rng(pick)
        host.set_usage(now, rng.uniform(0.0, 2 * demand, host.n), rng.uniform(0.0, mem, host.n),
                       rng.uniform(0.0, 0.5, host.n) if clipped else None)
        rebalance(host, now)


@settings(max_examples=120, deadline=None)
@given(ops=st.lists(op, min_size=1, max_size=60), vm=st.booleans(), cores=st.sampled_from([8, 64]),
       memory=st.sampled_from([24.0, 512.0]), k_membw=st.sampled_from([0.0, 0.47]), k_io=st.sampled_from([0.0, 0.3]))
def test_the_change_path_gives_the_doubles_the_old_one_gave(ops, vm, cores, memory, k_membw, k_io):
    """Two hosts through the same random starts, stops, finishes and usage changes, one by
    the change path's methods, the other by their old forms (main 25b4332, copied above):
    after every change every slot column, integral, sum and kept state the same double
    (contended, swapping, interfering and fast hosts, lazily settled slots), and the same
    integrals returned by every removal."""
    def made() -> tuple[HostState, list[int]]:
        spec = HostSpec(cpu_cores=cores, memory_gib=memory, reserved_memory_gib=0.0)
        host = HostState(0, spec, float(cores) * 4, memory * 4, overhead_gib=0.2, vm=vm, ksm_savings=0.1,
                         swap_slowdown=0.5, base_mem_gib=1.0, membw_sensitivity=k_membw, io_sensitivity=k_io)
        FleetFigures.attach([host])
        return host, [-1] * (len(ops) + 1)

    (old, old_slots), (new, new_slots) = made(), made()
    old_out: list = []
    new_out: list = []
    now = 0.0
    for k, (what, dt, demand, mem, membw, io, batch, clipped, pick) in enumerate(ops):
        now += dt
        args = (k, demand, mem, membw, io, batch, clipped, pick)
        _old_step(old, what, now, args, old_slots, old_out)
        _new_step(new, what, now, args, new_slots, new_out)
        for name in SLOTS + INTEGRALS + STATE:
            assert getattr(new, name) == getattr(old, name), (k, name)
        assert new_slots == old_slots
        assert new_out == old_out
        figures = (old.figures, new.figures)
        for name in ("running", "cpu_demand", "cpu_used", "mem_used", "swapped"):
            assert getattr(figures[0], name) == getattr(figures[1], name), name
