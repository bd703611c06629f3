"""The host's change path, rewritten for speed, against the code it replaced: the same
doubles, bit for bit, over random sequences of bookings, usage and host states.

``HostState.advance`` reads its state into locals once; ``old_advance`` below is the
method as it was (main 5210a68): the oracle. A host's sorted intensities are two parallel
lists (floats, instances) instead of one list of ``(intensity, instance)`` tuples kept
with ``insort``: the oracle is the tuple list. ``_reshare_all_interfering`` settles and
shares every slot of an interfering host in one pass: the oracle is ``settle`` then
``_share_short``, the two passes it replaces."""

from __future__ import annotations

from bisect import bisect_right, insort

from hypothesis import given, settings
from hypothesis import strategies as st

from simdc.engine.host import SLOTS, HostState, _delete, _insert
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
