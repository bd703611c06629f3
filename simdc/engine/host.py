"""A host's state during a run: bookings, the running set, and integrals.

Resident instances (starting, running or waiting to restart) hold their *booking*
(``book_cpu``, ``book_mem``) against the host's caps. Running instances also sit in the
*running set*: parallel lists, one slot each, holding current CPU demand, memory use,
what the CPU model gives them and their accumulators.

Each slot's accumulators are settled up to its own ``since``, at the rates it has had
since then, so a change settles only the slots whose rates it moves. While the host is
*fast* (uncontended CPU, no VM memory swapped, no interference) every instance gets its
demand and batch work advances at full speed: a change touches only its own slot. While
it interferes, and only interferes, before and after a change at one swap speed, a
change moves only the slots whose speed left by neighbours moves: those whose
intensity leaves them below the saturation at the sums before or after (found by
bisection in the host's sorted intensities), and the newcomer
(:meth:`HostState._reshare_interference`); when most slots move (a host filling up),
they are all settled and reshared in one pass over the slots
(:meth:`HostState._reshare_all_interfering`). Any other slow change (contention, a swap
speed that moves) settles every slot and recomputes the shares over the n instances on
the host. Settling one long interval instead of several short ones regroups the sums:
the same figures to ~1e-12 relative, not the same last bits. Slots
are Python lists, not numpy arrays: the fast path reads and writes single elements,
which lists do ten times faster. The slow path works slot by slot in Python up to
``SHORT_HOST`` instances (a host holds 10-60 in typical runs; building arrays from the
lists cost more than the work) and vectorised with numpy above; both do the same
operations per element, so they give the same doubles.

The next batch finish is kept between changes rather than found by a scan each time
(:meth:`HostState.next_finish`).

A usage step changes every running slot of the fleet at once: :class:`FleetStep` reads
the hosts' slot lists into arrays over the fleet's slots, settles them and sets their
usage in one numpy evaluation, recomputes the slow hosts' shares the same way (only the
contended ones water-filled, host by host), and writes the lists back; the columns fixed
while an instance runs, and those only a start or a step changes (:class:`SlotMirror`),
are taken by instance instead of read from the lists. :class:`FleetFigures` keeps what a
timeseries sample records of each host, so a sample does not walk the hosts.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from collections.abc import MutableSequence
from operator import attrgetter
from typing import Any

import numpy as np

from simdc.engine.rules import progress, water_fill
from simdc.engine.rules import EPS, energy_j, free_mem_gib, limit, over_memory, stranded_gib  # noqa: F401 (EPS)
from simdc.engine.rules import contended as is_contended
from simdc.model.host import HostSpec

DONE = 1e-9  # batch work left (full-speed seconds) that counts as finished
DEGRADED = 0.95  # an instance running below this speed counts as degraded
# Up to this many running instances a host's settle and shares run slot by slot in
# Python; above it, vectorised with numpy (both give the same doubles). Measured on the
# project's 2-core machine (benchmarks/README.md, "Host state"): building arrays from
# the lists costs more than the loops below about this size (a slow host's settle,
# shares and next finish, interference and batch work on: 14 µs vs 44 µs at 20 slots,
# 46 vs 74 at 60, even between 120 and 200).
SHORT_HOST = 128
# numpy sums up to this many terms in one block (PW_BLOCKSIZE, numpy/_core/src/umath/loops_utils.h.src)
PAIRWISE_BLOCK = 128
# A slot's speed left by neighbours, 1 / (1 + k·m·min(S − m, 1) + ...), is the same double
# at two sums S when S − m ≥ 1 at both (rules: saturation). A slot with m below
# min(S_before, S_after) − 1 − SATURATED_MARGIN has S − m ≥ 1 + margin in exact arithmetic
# at both sums, so ≥ 1 after rounding too; the margin covers the rounding of the
# threshold itself (~1e-14 for sums up to 100s).
SATURATED_MARGIN = 1e-9
# A change that may move more than this share of a host's slots settles them all at once
# and recomputes every share (a list comprehension per column costs less per slot than
# settling slots one by one). Without it the capacity study at 1,000 hosts over its
# first hour, hosts filling up below saturation, ran 3-10 % slower than settling every
# slot; 0.25, 0.5 and 0.75 measured within the machine's noise (benchmarks/README.md,
# "Slots settled only where rates move").
LAZY_SHARE = 0.5

SLOTS = ("inst", "demand", "clip", "weight", "alloc", "gap", "rate", "mem", "hwm", "batch", "rem", "since",
         "demand_acc", "unmet_acc", "swap_acc", "membw", "io", "ispeed", "extra_acc", "degraded_acc")


def _insert(intensities: list[float], insts: list[int], m: float, i: int) -> None:
    """Instance ``i`` of intensity ``m`` into a host's sorted intensities and, beside
    them, their instances (after any equal intensity)."""
    k = bisect_right(intensities, m)
    intensities.insert(k, m)
    insts.insert(k, i)


def _delete(intensities: list[float], insts: list[int], m: float, i: int) -> None:
    """Instance ``i`` of intensity ``m`` out of a host's sorted intensities (:func:`_insert`)."""
    k = bisect_left(intensities, m)
    while insts[k] != i:  # among equal intensities
        k += 1
    del intensities[k]
    del insts[k]


class Bookings:
    """What every host of the fleet holds, as lists indexed by host: the one record of it
    for both lanes. Resident instances (starting, running or waiting to restart) hold
    their booking (``cpu`` cores, ``mem`` GiB) against the host's caps; ``starting``
    counts those starting now (for a limit on concurrent starts), ``peak`` the most
    resident at once, ``down`` whether the machine takes nothing new. ``fleet_resident``
    and ``fleet_peak``: instances on the fleet's hosts now, and the most at once (a
    failure's victim waiting is on none).

    Placement reads these lists; a placement that keeps a cache of them is
    ``placement``, told of every change by :meth:`book` and :meth:`release` (``grew(j)``,
    ``shrank(j)``) and by :meth:`HostState.set_down` (``set_down(j, down)``). The fast
    lane writes the lists in its own hot paths and tells its placement itself.
    """

    def __init__(self, hosts: int):
        self.cpu = [0.0] * hosts
        self.mem = [0.0] * hosts
        self.resident = [0] * hosts
        self.incoming = [0] * hosts  # of resident, bookings held for a live move not yet switched (Mover)
        self.starting = [0] * hosts
        self.peak = [0] * hosts
        self.down = [False] * hosts
        self.fleet_resident = 0
        self.fleet_peak = 0
        self.placement: Any = None  # an object with grew(j), shrank(j) and set_down(j, down), or None
        self.start_limit: int | None = None  # a limit on concurrent starts: placement is told of every start then

    def start(self, j: int) -> None:
        """One more instance starts on host ``j``."""
        count = self.starting[j] = self.starting[j] + 1
        if self.start_limit is not None and self.placement is not None:
            self.placement.set_starting(j, count)

    def started(self, j: int) -> None:
        """An instance starting on host ``j`` is no longer starting (it runs, or left)."""
        count = self.starting[j] = self.starting[j] - 1
        if self.start_limit is not None and self.placement is not None:
            self.placement.set_starting(j, count)

    def book(self, j: int, cpu: float, mem: float) -> None:
        """An instance of ``cpu`` cores and ``mem`` GiB takes its place on host ``j``."""
        self.cpu[j] += cpu
        self.mem[j] += mem
        count = self.resident[j] = self.resident[j] + 1
        count -= self.incoming[j]  # instances here: a live move's booking is not one yet
        if count > self.peak[j]:
            self.peak[j] = count
        self.fleet_resident += 1
        if self.fleet_resident > self.fleet_peak:
            self.fleet_peak = self.fleet_resident
        if self.placement is not None:
            self.placement.grew(j)

    def release(self, j: int, cpu: float, mem: float) -> None:
        """An instance of ``cpu`` cores and ``mem`` GiB leaves host ``j``."""
        count = self.resident[j] = self.resident[j] - 1
        if count:
            self.cpu[j] -= cpu
            self.mem[j] -= mem
        else:  # forget accumulated rounding error
            self.cpu[j] = self.mem[j] = 0.0
        self.fleet_resident -= 1
        if self.placement is not None:
            self.placement.shrank(j)


class BookedArrays:
    """The fleet's bookings and down flags as arrays, shape ``(hosts,)``, for a fit test
    of every host at once (one vectorised test instead of a Python call per host): a
    copy of :class:`Bookings`' lists that its hooks keep equal (the same doubles). The
    placement that reads these arrays (``placer``: :class:`~simdc.engine.placer.Placer`)
    is told of each change after them."""

    def __init__(self, booked: Bookings):
        self.booked = booked
        self.cpu = np.array(booked.cpu, dtype=float)  # cores booked
        self.mem = np.array(booked.mem, dtype=float)  # GiB booked
        self.down = np.array(booked.down, dtype=bool)
        self.placer: Any = None  # a Placer (engine/placer.py), or None
        self.changes = 0  # bookings changed so far: what is computed from them holds until this moves
        self._free_at, self._free = -1, 0.0

    def grew(self, j: int) -> None:
        booked = self.booked
        self.cpu[j], self.mem[j] = booked.cpu[j], booked.mem[j]
        self.changes += 1
        if self.placer is not None:
            self.placer.grew(j)

    def shrank(self, j: int) -> None:
        booked = self.booked
        self.cpu[j], self.mem[j] = booked.cpu[j], booked.mem[j]
        self.changes += 1
        if self.placer is not None:
            self.placer.shrank(j)

    def free_mem_gib(self, mem_caps: np.ndarray) -> float:
        """:func:`~simdc.engine.rules.free_mem_gib` of the fleet's memory caps ``mem_caps``
        (shape ``(hosts,)``, the same array at every call), these bookings and down
        flags. Kept until a booking or a down flag changes (an instance no host takes,
        in a queue's drain, asks many times in between)."""
        if self._free_at != self.changes:
            self._free_at, self._free = self.changes, free_mem_gib(mem_caps.tolist(), self.mem.tolist(),
                                                                   self.down.tolist())
        return self._free

    def set_down(self, j: int, down: bool) -> None:
        self.down[j] = down
        self._free_at = -1  # a host up or down: the free memory that takes work changes
        if self.placer is not None:
            self.placer.set_down(j, down)

    def set_starting(self, j: int, count: int) -> None:
        if self.placer is not None:
            self.placer.set_starting(j, count)


class FleetFigures:
    """Every host's figures a timeseries sample records, as lists indexed by host: what
    each host's last rebalance left (:meth:`HostState._rebalance_state` writes its own
    entry), so a sample reads them without walking the hosts. The same doubles as the
    hosts' attributes give: ``cpu_demand`` is ``cpu_demand + cpu_clip`` (cores, demand
    above the ceilings included), ``cpu_used`` is ``min(cpu_demand, cores)``,
    ``mem_used`` is the GiB resident with the machine's own ``base``, ``swapped`` GiB."""

    def __init__(self, hosts: list["HostState"]):
        self.running = [0] * len(hosts)  # instances in each host's running set
        self.cpu_demand = [0.0] * len(hosts)
        self.cpu_used = [0.0] * len(hosts)
        self.mem_used = [host.mem_used + host.base for host in hosts]
        self.swapped = [0.0] * len(hosts)
        self.base = [host.base for host in hosts]  # each machine's own GiB (HostState.base), fixed

    @classmethod
    def attach(cls, hosts: list["HostState"]) -> "FleetFigures":
        """Figures for ``hosts`` (indexed by ``host.index``, which must be 0..n-1, as
        placed) that the hosts keep up to date from now on; they must be empty."""
        figures = cls(hosts)
        for k, host in enumerate(hosts):
            if host.inst or host.index != k:
                raise ValueError("FleetFigures.attach: hosts must be empty and in index order")
            host.figures = figures
        return figures


class SlotMirror:
    """Per-instance copies, shape ``(instances,)``, of the slot columns only a start and a
    usage step change: ``demand``, ``clip`` (cores) and ``hwm`` (GiB) of each running
    instance's slot, as :meth:`HostState.add` and the usage steps leave them (an entry of
    an instance not running is stale). A usage step reads them by instance
    (:class:`FleetStep`) instead of from every host's lists."""

    def __init__(self, instances: int):
        self.demand = np.zeros(instances)
        self.clip = np.zeros(instances)
        self.hwm = np.zeros(instances)

    @classmethod
    def attach(cls, hosts: list["HostState"], instances: int) -> "SlotMirror":
        """A mirror the empty ``hosts`` keep up to date from now on."""
        mirror = cls(instances)
        for host in hosts:
            if host.inst:
                raise ValueError("SlotMirror.attach: hosts must be empty")
            host.mirror = mirror
        return mirror


class HostState:
    """Bookings, running set and ∫ value dt of one host since t = 0."""

    # The running set's slot columns (SLOTS), declared so that mypyc can compile the class.
    inst: list[int]
    demand: list[float]
    clip: list[float]
    weight: list[float]
    alloc: list[float]
    gap: list[float]
    rate: list[float]
    mem: list[float]
    hwm: list[float]
    batch: list[bool]
    rem: list[float]
    since: list[float]
    demand_acc: list[float]
    unmet_acc: list[float]
    swap_acc: list[float]
    membw: list[float]
    io: list[float]
    ispeed: list[float]
    extra_acc: list[float]
    degraded_acc: list[float]

    def __init__(self, index: int, spec: HostSpec, cpu_cap: float, mem_cap: float, *,
                 overhead_gib: float, vm: bool, ksm_savings: float = 0.0, balloon: bool = True,
                 swap_slowdown: float = 0.0, base_mem_gib: float = 0.0, power_off_idle: bool = False,
                 membw_sensitivity: float = 0.0, io_sensitivity: float = 0.0, booked: Bookings | None = None,
                 cpu_factor: float = 1.0):
        self.index = index
        # what it holds, in the fleet's lists (its own, alone)
        self.booked = booked if booked is not None else Bookings(index + 1)
        self.spec = spec
        self.cpu_cap = limit(cpu_cap)  # what bookings may add up to (rules.fits)
        self.mem_cap = limit(mem_cap)
        # what it offers, without the fit test's slack: the scores' capacities and the
        # fragmentation's free memory (with it, a smaller host scored EPS / cap higher,
        # which broke exact ties away from the first host)
        self.cpu_capacity, self.mem_capacity = float(cpu_cap), float(mem_cap)
        self.cores = float(spec.cpu_cores)
        self.allocatable = spec.allocatable_memory_gib
        self.overhead = overhead_gib
        self.vm = vm
        self.cpu_factor = cpu_factor  # host cores per core of an instance's own work (rules.progress)
        self.ksm, self.balloon, self.swap_slowdown = ksm_savings, balloon, swap_slowdown
        # Memory the machine itself always takes, outside the instances' accounts: a node
        # VM's VMM and guest (containers in VMs). Counted as used and allocated.
        self.base = base_mem_gib
        self.power_idle_w, self.power_max_w = spec.power_idle_w, spec.power_max_w
        self.power_off_idle = power_off_idle
        self.k_membw, self.k_io = membw_sensitivity, io_sensitivity
        self._interferes = membw_sensitivity > 0 or io_sensitivity > 0  # instances here may slow each other
        # Why the machine is down, each reason ended by its own event: its physical host
        # under repair, or its kernel rebooting. Down while either holds: takes nothing.
        self.repairing = False
        self.rebooting = False
        # Moves (engine/migration.py): down for maintenance; cordoned (up, taking nothing new).
        self.maintenance = False
        self.cordoned = False
        self.out = False  # repairing, rebooting or in maintenance: counted in down_s
        self.down = False  # out or cordoned, kept as one flag for the hot fit test
        self.failures = 0  # host or kernel failures that struck here
        self.figures: FleetFigures | None = None  # the fleet-wide figures samples read, when attached
        self.mirror: SlotMirror | None = None  # per-instance copies of slot columns, when attached
        # the running set, one slot per running instance:
        # inst, demand (cores wanted now, capped by vCPUs or limit), clip (cores wanted now
        # above that ceiling: demand never served, counted as unmet), weight (CPU weight),
        # alloc (cores given), gap (demand − alloc), rate (batch progress, full-speed
        # seconds per second; 0 for a service), mem (GiB used now, without overhead),
        # hwm (most GiB used so far: a guest keeps it), batch, rem (batch work left),
        # since (accumulators settled up to here), demand_acc, unmet_acc, swap_acc,
        # membw and io (pressure put on neighbours, 0-1), ispeed (speed left by
        # neighbours' interference), extra_acc (∫ 1/ispeed − 1 dt), degraded_acc.
        self.inst = []
        self.demand = []
        self.clip = []
        self.weight = []
        self.alloc = []
        self.gap = []
        self.rate = []
        self.mem = []
        self.hwm = []
        self.batch = []
        self.rem = []
        self.since = []
        self.demand_acc = []
        self.unmet_acc = []
        self.swap_acc = []
        self.membw = []
        self.io = []
        self.ispeed = []
        self.extra_acc = []
        self.degraded_acc = []
        # The same list objects for the whole run (updates assign into them), so the
        # swap-remove can walk them without looking them up.
        self._columns = tuple(getattr(self, name) for name in SLOTS)
        self.batch_n = 0
        self.demand_sum = 0.0  # sums over the running set, kept as slots come and go
        self.clip_sum = 0.0
        self.mem_sum = 0.0
        self.hwm_sum = 0.0
        self.membw_sum = 0.0
        self.io_sum = 0.0
        # state of the running set
        self.cpu_demand = 0.0  # cores wanted within the ceilings
        self.cpu_clip = 0.0  # cores wanted above them
        self.mem_used = 0.0  # host memory resident: footprints after reclaim, without swap
        self.swapped = 0.0  # GiB in host swap
        self.reclaiming = False  # VM memory demand above allocatable: KSM, balloon, swap
        self.contended = False  # CPU demand above the cores
        self.interfering = False  # neighbours slow each other down
        self.speed = 1.0  # progress factor from swapping
        self.finish_token = 0  # identifies the one valid 'next batch finish' event
        self.finish_pending = False
        self.finish_at: float | None = None  # the pending plan's time, as next_finish gave it
        # The next batch finish at current shares, kept while no slot's rate, work left
        # or `since` changes but by an add or a lazy removal (see next_finish).
        self._finish_known = True
        self._finish: float | None = None
        self._since_all: float | None = None  # every slot's `since` while they are all the same
        self._lazy = False  # the last rebalance settles only the slots whose shares move
        # For the lazy rebalance: the interference sums its slots' ispeed were computed
        # at, the slots added since (ispeed not computed yet), and the slots' intensities
        # sorted, per resource that interferes, to find the unsaturated ones: the
        # intensities (floats: bisection compares floats, not tuples) and beside them the
        # instances, in the same order.
        self._sums_seen = (0.0, 0.0)
        self._sums_was = (0.0, 0.0)
        self._fresh: list[int] = []
        self._fresh_was: list[int] = []
        self._membw_sorted: list[float] = []
        self._membw_inst: list[int] = []
        self._io_sorted: list[float] = []
        self._io_inst: list[int] = []
        self._slot_of: MutableSequence[int] = []
        # integrals
        self.last_t = 0.0
        self.resident_s = 0.0
        self.cpu_demand_s = 0.0
        self.cpu_used_s = 0.0
        self.cpu_booked_s = 0.0  # ∫ cores booked dt: vCPUs, or containers' requests
        self.mem_used_s = 0.0
        self.mem_alloc_s = 0.0
        self.stranded_s = 0.0
        self.swap_s = 0.0
        self.swapped_gib_s = 0.0
        self.reclaim_s = 0.0
        self.energy_j = 0.0
        self.down_s = 0.0

    @property
    def n(self) -> int:
        return len(self.inst)

    # --- bookings: the fleet's lists (Bookings), read here by host -----------------

    @property
    def book_cpu(self) -> float:
        return self.booked.cpu[self.index]

    @property
    def book_mem(self) -> float:
        return self.booked.mem[self.index]

    @property
    def resident(self) -> int:
        return self.booked.resident[self.index]

    @property
    def peak_resident(self) -> int:
        return self.booked.peak[self.index]

    @property
    def starting(self) -> int:
        return self.booked.starting[self.index]

    def set_down(self, now: float, *, repairing: bool | None = None, rebooting: bool | None = None,
                 maintenance: bool | None = None, cordoned: bool | None = None) -> None:
        """Start or end one reason for being down at ``now`` (the time spent down so far
        is accounted first); the machine takes instances only when no reason holds, and
        is out (``down_s``) while one but ``cordoned`` holds."""
        self.advance(now)
        if repairing is not None:
            self.repairing = repairing
        if rebooting is not None:
            self.rebooting = rebooting
        if maintenance is not None:
            self.maintenance = maintenance
        if cordoned is not None:
            self.cordoned = cordoned
        self.out = self.repairing or self.rebooting or self.maintenance
        was, self.down = self.down, self.out or self.cordoned
        booked = self.booked
        booked.down[self.index] = self.down
        if booked.placement is not None and was != self.down:
            booked.placement.set_down(self.index, self.down)

    def book(self, now: float, cpu: float, mem: float) -> None:
        """Book ``cpu`` cores and ``mem`` GiB here at ``now`` (integrals up to it first)."""
        if now > self.last_t:  # advance's own test, without the call
            self.advance(now)
        self.booked.book(self.index, cpu, mem)

    def release(self, now: float, cpu: float, mem: float) -> None:
        """Release a booking of ``cpu`` cores and ``mem`` GiB at ``now``."""
        if now > self.last_t:  # a stop's rebalance has mostly advanced to now already
            self.advance(now)
        self.booked.release(self.index, cpu, mem)

    # --- integrals -----------------------------------------------------------------

    def advance(self, now: float) -> None:
        """Bring the host's integrals up to ``now`` at the values they have had since
        ``last_t`` (stranded memory and energy by their rules, :mod:`simdc.engine.rules`)."""
        dt = now - self.last_t
        if dt <= 0:
            return
        self.last_t = now
        booked, j = self.booked, self.index
        resident, book_mem = booked.resident[j], booked.mem[j]
        self.resident_s += (resident - booked.incoming[j]) * dt  # instances here: not a move's booking
        demand, cores = self.cpu_demand, self.cores
        self.cpu_demand_s += (demand + self.cpu_clip) * dt  # demand above a ceiling is demand too
        used_s = (demand if demand < cores else cores) * dt
        self.cpu_used_s += used_s
        self.cpu_booked_s += booked.cpu[j] * dt
        mem_used, base, allocatable = self.mem_used, self.base, self.allocatable
        self.mem_used_s += (mem_used + base) * dt
        self.mem_alloc_s += (book_mem + base) * dt
        stranded = stranded_gib(book_mem, allocatable, mem_used)
        if stranded > 0:
            self.stranded_s += stranded * dt
        # powered (rules.energy_j): off under repair; on while it holds instances, reboots or
        # is in maintenance, and while idle unless idle machines are switched off
        # (rules.switched_off_when_idle: never a node VM, whose physical host it keeps on)
        if not self.repairing and (resident or self.out or not self.power_off_idle):
            self.energy_j += energy_j(self.power_idle_w, self.power_max_w, cores, dt, used_s)
        if self.out:
            self.down_s += dt
        if self.reclaiming:
            self.reclaim_s += dt
            if self.swapped > 0:
                self.swap_s += dt
                self.swapped_gib_s += self.swapped * dt

    @property
    def cpu_used(self) -> float:
        return min(self.cpu_demand, self.cores)

    @property
    def slow(self) -> bool:
        """Shares differ from demands: contended, swapping or interfering."""
        return self.contended or self.swapped > 0 or self.interfering

    # --- the running set -----------------------------------------------------------

    def add(self, now: float, i: int, demand: float, weight: float, mem: float, batch: bool,
            work_s: float, slot_of: MutableSequence[int], membw: float = 0.0, io: float = 0.0,
            clip: float = 0.0) -> None:
        """Start running instance ``i`` (``demand`` cores within its ceiling, ``clip``
        cores wanted above it); call :meth:`rebalance` after (which settles the slots
        whose rates the newcomer changes)."""
        inst = self.inst
        if not inst:
            self._since_all = now
        elif self._since_all != now:
            self._since_all = None
        slot_of[i] = len(inst)
        if self._interferes:
            self._slot_of = slot_of
            self._fresh.append(i)
            if membw > 0 and self.k_membw > 0:
                _insert(self._membw_sorted, self._membw_inst, membw, i)
            if io > 0 and self.k_io > 0:
                _insert(self._io_sorted, self._io_inst, io, i)
        rate = progress(demand, demand, clip, self.cpu_factor) * self.speed if batch else 0.0  # a fast host's share
        inst.append(i)
        self.demand.append(demand)
        self.clip.append(clip)
        self.weight.append(weight)
        self.alloc.append(demand)
        self.gap.append(0.0)
        self.rate.append(rate)
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
        if rate > 0 and self._finish_known:  # a batch slot (a service's rate is 0): next_finish's formula
            when = now + (work_s if work_s > 0 else 0.0) / rate
            if self._finish is None or when < self._finish:
                self._finish = when

    def remove(self, now: float, s: int, slot_of: MutableSequence[int]) -> tuple[float, float, float, float, float]:
        """Stop running the instance in slot ``s``; return its integrals: (demand, unmet,
        swap, time lost to interference, time degraded).

        The last slot moves into ``s``. Only this slot is settled; call :meth:`rebalance`
        after (which settles the slots whose rates its leaving changes).
        """
        rate = self.rate[s]
        if rate > 0 and self._finish_known:  # the soonest finish leaves: find the next
            rem = self.rem[s]
            if self.since[s] + (rem if rem > 0 else 0.0) / rate == self._finish:
                self._finish_known = False
        self._settle_slot(now, s)  # (the one place a slot's accumulators are settled one by one)
        result = (self.demand_acc[s], self.unmet_acc[s], self.swap_acc[s], self.extra_acc[s], self.degraded_acc[s])
        demand, clip = self.demand[s], self.clip[s]
        inst = self.inst
        i = inst[s]
        slot_of[i] = -1
        membw, io = self.membw[s], self.io[s]
        if self._interferes:
            if membw > 0 and self.k_membw > 0:
                _delete(self._membw_sorted, self._membw_inst, membw, i)
            if io > 0 and self.k_io > 0:
                _delete(self._io_sorted, self._io_inst, io, i)
        self.batch_n -= self.batch[s]
        last = len(inst) - 1
        if not last:  # forget accumulated rounding error
            self.demand_sum = self.clip_sum = self.mem_sum = self.hwm_sum = self.membw_sum = self.io_sum = 0.0
        else:
            self.demand_sum -= demand
            self.clip_sum -= clip
            self.mem_sum -= self.mem[s]
            self.hwm_sum -= self.hwm[s]
            self.membw_sum -= membw
            self.io_sum -= io
        if s == last:
            for column in self._columns:
                column.pop()
        else:
            for column in self._columns:
                column[s] = column.pop()
            slot_of[inst[s]] = s
        return result

    def set_usage(self, now: float, demand: np.ndarray, mem: np.ndarray, clip: np.ndarray | None = None) -> None:
        """New demand (within the ceilings; ``clip``: above them), and memory for every slot
        (a usage step); call :meth:`rebalance` after."""
        self.settle(now)
        had_clip = any(self.clip)
        hwm = np.maximum(np.asarray(self.hwm), mem)
        self.demand[:] = demand.tolist()
        if clip is None:
            self.clip[:] = [0.0] * len(self.demand)
            self.clip_sum = 0.0
        else:
            self.clip[:] = clip.tolist()
            self.clip_sum = float(clip.sum())
        self.alloc[:] = list(self.demand)  # rebalance shares them out if they no longer fit
        self.gap[:] = [0.0] * len(self.demand)
        self.mem[:] = mem.tolist()
        self.hwm[:] = hwm.tolist()
        self.demand_sum = float(demand.sum())
        self.mem_sum = float(mem.sum())
        self.hwm_sum = float(hwm.sum())
        if self.batch_n and (had_clip or self.clip_sum):
            self._fast_rates(range(len(self.inst)))
        if self.mirror is not None:
            inst = self.inst_array()
            self.mirror.demand[inst], self.mirror.clip[inst], self.mirror.hwm[inst] = demand, self.clip, hwm

    def set_slot_demand(self, now: float, slots: list[int], demand: np.ndarray, clip: np.ndarray) -> None:
        """New CPU demand (within the ceilings; ``clip``: above them) for the slots
        ``slots`` only, between usage steps (a service's replicas when its demand or ready
        replicas change); every slot is settled first. Call :meth:`rebalance` after."""
        self.settle(now)
        mirror = self.mirror
        for s, d, c in zip(slots, demand.tolist(), clip.tolist()):
            self.demand_sum += d - self.demand[s]
            self.clip_sum += c - self.clip[s]
            self.demand[s], self.clip[s], self.alloc[s], self.gap[s] = d, c, d, 0.0
            if mirror is not None:
                mirror.demand[self.inst[s]], mirror.clip[self.inst[s]] = d, c
        if self.batch_n:
            self._fast_rates(slots)

    def _fast_rates(self, slots) -> None:
        """The batch slots of ``slots`` given the rate an uncontended host gives them,
        their demand as their share (:func:`~simdc.engine.rules.progress`, less than the
        full speed above a ceiling) at its swap speed and their speed left by neighbours,
        after their demand or clip changed: what :meth:`rebalance` keeps when the host is
        fast, or interfering and resharing lazily (:meth:`_reshare_interference`, the same
        expression); it computes every other slow host's again. The slots must be settled."""
        demand, clip, batch, rate, ispeed = self.demand, self.clip, self.batch, self.rate, self.ispeed
        speed, factor = self.speed, self.cpu_factor
        for s in slots:
            if batch[s]:
                rate[s] = progress(demand[s], demand[s], clip[s], factor) * speed * ispeed[s]

    def settle(self, now: float) -> None:
        """Bring every slot's accumulators and batch work up to ``now``."""
        n = len(self.inst)
        if not n:
            return
        self._finish_known = False  # each slot's work left is now as of `now`: plan again
        if n <= SHORT_HOST:
            self._settle_short(now)
            return
        dt = now - np.asarray(self.since)
        if any(self.clip):  # demand above a ceiling: demand, and unmet
            clip = np.asarray(self.clip)
            self.demand_acc[:] = (np.asarray(self.demand_acc) + (np.asarray(self.demand) + clip) * dt).tolist()
            unmet = np.asarray(self.gap) + clip if self.contended else clip
            self.unmet_acc[:] = (np.asarray(self.unmet_acc) + unmet * dt).tolist()
        else:
            self.demand_acc[:] = (np.asarray(self.demand_acc) + np.asarray(self.demand) * dt).tolist()
            if self.contended:
                self.unmet_acc[:] = (np.asarray(self.unmet_acc) + np.asarray(self.gap) * dt).tolist()
        if self.swapped > 0:
            self.swap_acc[:] = (np.asarray(self.swap_acc) + dt).tolist()
        if self.interfering:
            ispeed = np.asarray(self.ispeed)
            self.extra_acc[:] = (np.asarray(self.extra_acc) + (1.0 / ispeed - 1.0) * dt).tolist()
            self.degraded_acc[:] = (np.asarray(self.degraded_acc) + np.where(ispeed < DEGRADED, dt, 0.0)).tolist()
        if self.batch_n:
            self.rem[:] = (np.asarray(self.rem) - np.asarray(self.rate) * dt).tolist()
        self.since[:] = [now] * n
        self._since_all = now

    def _settle_short(self, now: float) -> None:
        """:meth:`settle` slot by slot in Python: the same operations on each element in
        the same order as the vectorised form, so the same doubles, without building
        arrays from the lists (cheaper up to ``SHORT_HOST`` slots)."""
        since_all = self._since_all  # a slow host's slots were all settled at its last change
        dt = [now - since_all] * len(self.inst) if since_all is not None else [now - since for since in self.since]
        clip = self.clip
        if any(clip):
            self.demand_acc[:] = [a + (d + c) * t for a, d, c, t in zip(self.demand_acc, self.demand, clip, dt)]
            if self.contended:
                self.unmet_acc[:] = [a + (g + c) * t for a, g, c, t in zip(self.unmet_acc, self.gap, clip, dt)]
            else:
                self.unmet_acc[:] = [a + c * t for a, c, t in zip(self.unmet_acc, clip, dt)]
        else:
            self.demand_acc[:] = [a + d * t for a, d, t in zip(self.demand_acc, self.demand, dt)]
            if self.contended:
                self.unmet_acc[:] = [a + g * t for a, g, t in zip(self.unmet_acc, self.gap, dt)]
        if self.swapped > 0:
            self.swap_acc[:] = [a + t for a, t in zip(self.swap_acc, dt)]
        if self.interfering:
            ispeed = self.ispeed
            self.extra_acc[:] = [a + (1.0 / v - 1.0) * t for a, v, t in zip(self.extra_acc, ispeed, dt)]
            self.degraded_acc[:] = [a + (t if v < DEGRADED else 0.0)
                                    for a, v, t in zip(self.degraded_acc, ispeed, dt)]
        if self.batch_n:
            self.rem[:] = [r - q * t for r, q, t in zip(self.rem, self.rate, dt)]
        self.since[:] = [now] * len(dt)
        self._since_all = now

    def _settle_slot(self, now: float, s: int) -> None:
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

    def rebalance(self, now: float) -> None:
        """Recompute aggregates, VM memory reclaim, interference and CPU shares after a change.

        Call after :meth:`add`, :meth:`remove` or :meth:`set_usage`, and after container
        memory pressure has been resolved.
        """
        change = self._rebalance_state(now)
        if change is None:
            return  # fast before and after: every slot keeps its full share
        n, speed, contended, interfering, was_slow, was_interfering = change
        if self._lazy:
            if self._reshare_interference(now, speed):
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
            # progress = share of what it wants it gets, slowed by swapping and neighbours
            rate = progress(alloc, demand, np.asarray(self.clip), self.cpu_factor) * speed
            if ispeed is not None:
                rate = rate * ispeed
            self.rate[:] = np.where(np.asarray(self.batch, dtype=bool), rate, 0.0).tolist()

    def _rebalance_state(self, now: float) -> tuple[int, float, bool, bool, bool, bool] | None:
        """:meth:`rebalance`'s part per host: integrals up to ``now``, then the running
        set's aggregates, memory reclaim and whether it is contended or interfering.
        On a host slow before or after, every slot not settled at ``now`` is settled
        first (at the rates it had), unless the change is one
        :meth:`_reshare_interference` handles (``self._lazy``).
        Returns ``(n, speed, contended, interfering, was_slow, was_interfering)`` for the
        shares to be recomputed, or ``None`` when the host was and stays fast (every slot
        keeps its full share)."""
        if now > self.last_t:
            self.advance(now)
        n = len(self.inst)
        cpu_demand, clip_sum, cores = self.demand_sum, self.clip_sum, self.cores
        contended = is_contended(cpu_demand, cores)
        if self.vm:
            mem_used, swapped, speed, reclaiming = self._memory()
        else:
            mem_used, swapped, speed, reclaiming = self.mem_sum + self.overhead * n, 0.0, 1.0, False
        membw_sum, io_sum = self.membw_sum, self.io_sum
        interfering = n > 1 and ((self.k_membw > 0 and membw_sum > 0) or (self.k_io > 0 and io_sum > 0))
        was_contended, was_swapping, was_interfering = self.contended, self.swapped > 0, self.interfering
        was_slow = was_contended or was_swapping or was_interfering
        slow = contended or swapped > 0 or interfering
        # Interference alone, before and after, at one swap speed: a slot's shares move
        # only if its speed left by neighbours does, and rebalance settles just those
        # (_reshare_interference). Any other slow change settles every slot first, at
        # the rates they had (a change settled only the slot it added or removed).
        if slow or was_slow:
            self._lazy = lazy = (interfering and was_interfering and not contended and not was_contended
                                 and speed == self.speed and (swapped > 0) == was_swapping)
            if not lazy and self._since_all != now:
                self.settle(now)
        else:
            self._lazy = False
        if self._interferes:
            self._sums_was, self._sums_seen = self._sums_seen, (membw_sum, io_sum)
            self._fresh_was, self._fresh = self._fresh, []
        self.cpu_demand, self.contended, self.interfering = cpu_demand, contended, interfering
        self.cpu_clip = clip_sum
        self.mem_used, self.swapped, self.speed, self.reclaiming = mem_used, swapped, speed, reclaiming
        figures = self.figures
        if figures is not None:  # what a sample reads, as _sample computed it from these
            index = self.index
            figures.running[index] = n
            figures.cpu_demand[index] = cpu_demand + clip_sum
            figures.cpu_used[index] = cpu_demand if cpu_demand < cores else cores
            figures.mem_used[index] = mem_used + self.base
            figures.swapped[index] = swapped
        if not (was_slow or slow):
            return None
        return n, speed, contended, interfering, was_slow, was_interfering

    def _reshare_interference(self, now: float, speed: float) -> bool:
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
        fresh = self._fresh_was
        looked = len(fresh)
        if cut_membw is not None:
            looked += len(membw_sorted) - cut_membw
        if cut_io is not None:
            looked += len(io_sorted) - cut_io
        if not looked:
            return True
        if looked > LAZY_SHARE * n:
            return False
        # added since (and still here: one added and removed again has left)
        look = [s for i in fresh for s in (slot_of[i],) if 0 <= s < n and inst[s] == i]
        if cut_membw is not None:
            look += [slot_of[i] for i in self._membw_inst[cut_membw:]]
        if cut_io is not None:
            look += [slot_of[i] for i in self._io_inst[cut_io:]]
        membw, io, ispeed = self.membw, self.io, self.ispeed
        since, rem, rate, batch, demand, clip = self.since, self.rem, self.rate, self.batch, self.demand, self.clip
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
                self._settle_slot(now, s)
                settled = True
            ispeed[s] = v
            if batch[s]:
                r = rate[s] = progress(demand[s], demand[s], clip[s], self.cpu_factor) * speed * v
                if known and r > 0:
                    left = rem[s]
                    when = now + (left if left > 0 else 0.0) / r
                    if soonest is None or when < soonest:
                        soonest = when
        self._finish_known, self._finish = known, soonest
        if settled:
            self._since_all = None
        return True

    def _reshare_all_interfering(self, now: float, speed: float) -> None:
        """:meth:`settle` then :meth:`_share_short` on a host interfering before and after
        a change, neither contended nor at a new swap speed (``speed``), up to
        ``SHORT_HOST`` slots: every slot settled at the rates it had, then its speed left
        by neighbours, its rate and the next batch finish, in one pass over the slots
        instead of one per column. Each element goes through the operations those two
        apply to it, in their order (old ``ispeed`` for the settle, the new after), so
        the same doubles (tests/engine/test_change_path.py)."""
        n = len(self.inst)
        self._finish_known = False
        k_membw, k_io, membw_sum, io_sum = self.k_membw, self.k_io, self.membw_sum, self.io_sum
        since_all = self._since_all
        dt = [now - since_all] * n if since_all is not None else [now - since for since in self.since]
        clip, factor = self.clip, self.cpu_factor
        clipped, swapping, batch_n = any(clip), self.swapped > 0, self.batch_n
        demand_acc, extra_acc, degraded_acc, rem, ispeed, rate = [], [], [], [], [], []
        soonest = None
        for a, d, c, t, x, g, v, r, q, b, m, o in zip(self.demand_acc, self.demand, clip, dt, self.extra_acc,
                                                      self.degraded_acc, self.ispeed, self.rem, self.rate,
                                                      self.batch, self.membw, self.io):
            demand_acc.append(a + (d + c) * t if clipped else a + d * t)
            extra_acc.append(x + (1.0 / v - 1.0) * t)
            degraded_acc.append(g + (t if v < DEGRADED else 0.0))
            v = 1.0 / (1.0 + k_membw * m * (membw_sum - m if membw_sum - m < 1.0 else 1.0)
                       + k_io * o * (io_sum - o if io_sum - o < 1.0 else 1.0))
            ispeed.append(v)
            if batch_n:
                r = r - q * t
                q = progress(d, d, c, factor) * speed * v if b else 0.0
                if q > 0:
                    when = now + (r if r > 0 else 0.0) / q
                    if soonest is None or when < soonest:
                        soonest = when
                rem.append(r)
                rate.append(q)
        self.demand_acc[:] = demand_acc
        if clipped:  # not contended: the unmet is the demand above the ceilings
            self.unmet_acc[:] = [a + c * t for a, c, t in zip(self.unmet_acc, clip, dt)]
        if swapping:
            self.swap_acc[:] = [a + t for a, t in zip(self.swap_acc, dt)]
        self.extra_acc[:] = extra_acc
        self.degraded_acc[:] = degraded_acc
        self.since[:] = [now] * n
        self._since_all = now
        self.ispeed[:] = ispeed
        self.alloc[:] = list(self.demand)
        self.gap[:] = [0.0] * n
        if batch_n:
            self.rem[:] = rem
            self.rate[:] = rate
        self._finish_known, self._finish = True, soonest

    def _share_short(self, n: int, speed: float, contended: bool, interfering: bool, was_slow: bool,
                     was_interfering: bool) -> None:
        """:meth:`rebalance`'s shares on a slow host, slot by slot in Python (the same
        doubles as the vectorised form), planning the next batch finish on the way."""
        demand = self.demand
        if interfering:  # x if x < 1.0 else 1.0 is np.minimum(x, 1.0) for the finite sums here
            k_membw, k_io, membw_sum, io_sum = self.k_membw, self.k_io, self.membw_sum, self.io_sum
            ispeed = [1.0 / (1.0 + k_membw * m * (membw_sum - m if membw_sum - m < 1.0 else 1.0)
                             + k_io * o * (io_sum - o if io_sum - o < 1.0 else 1.0))
                      for m, o in zip(self.membw, self.io)]
            self.ispeed[:] = ispeed
        else:
            ispeed = None
            if was_interfering:
                self.ispeed[:] = [1.0] * n
        batch = self.batch
        if contended:
            shares = water_fill(np.asarray(demand), np.asarray(self.weight), self.cores)
            alloc = shares.tolist()
            self.alloc[:] = alloc
            self.gap[:] = [d - a for d, a in zip(demand, alloc)]
            if self.batch_n:
                # progress = share of its demand it gets, slowed by swapping and neighbours
                clip, factor = self.clip, self.cpu_factor
                if ispeed is None:
                    rate = [progress(a, d, c, factor) * speed if b else 0.0
                            for a, d, c, b in zip(alloc, demand, clip, batch)]
                else:
                    rate = [progress(a, d, c, factor) * speed * v if b else 0.0
                            for a, d, c, v, b in zip(alloc, demand, clip, ispeed, batch)]
        else:
            if was_slow:
                self.alloc[:] = list(demand)
                self.gap[:] = [0.0] * n
            if self.batch_n:  # every share is its demand: progress(d, d, c), 1.0 without a clip
                clip, factor = self.clip, self.cpu_factor
                if ispeed is None:
                    rate = [progress(d, d, c, factor) * speed if b else 0.0 for d, c, b in zip(demand, clip, batch)]
                else:
                    rate = [progress(d, d, c, factor) * speed * v if b else 0.0
                            for d, c, v, b in zip(demand, clip, ispeed, batch)]
        if not self.batch_n:
            self._finish_known, self._finish = True, None
            return
        self.rate[:] = rate
        soonest = None
        for since, rem, r in zip(self.since, self.rem, rate):
            if r > 0:
                when = since + (rem if rem > 0 else 0.0) / r
                if soonest is None or when < soonest:
                    soonest = when
        self._finish_known, self._finish = True, soonest

    def _memory(self) -> tuple[float, float, float, bool]:
        """(resident GiB, swapped GiB, speed, reclaiming) of a VM host's running set."""
        overhead = self.overhead * len(self.inst)
        # A guest keeps the memory it has touched (high-water mark) until the hypervisor
        # reclaims: page sharing first, then the balloon takes what the guest does not use
        # now, then the host swaps the rest.
        touched = self.hwm_sum
        demand = touched + overhead
        if not over_memory(touched, self.overhead, len(self.inst), self.allocatable):
            return demand, 0.0, 1.0, False
        demand -= self.ksm * touched
        if self.balloon and demand > self.allocatable:
            unused = (touched - self.mem_sum) * (1 - self.ksm)
            demand -= min(unused, demand - self.allocatable)
        swapped = max(0.0, demand - self.allocatable)
        speed = 1.0 - self.swap_slowdown * swapped / demand if swapped > 0 else 1.0
        return demand - swapped, swapped, speed, True

    def over_memory(self) -> bool:
        """Container footprint above the host's allocatable memory: the OOM killer must act."""
        return over_memory(self.mem_sum, self.overhead, len(self.inst), self.allocatable)

    def next_finish(self, now: float) -> float | None:
        """When the next batch instance will finish at current shares, or ``None``.

        Each batch slot finishes at ``since + max(rem, 0) / rate`` (its work left is as
        of its own ``since``: fast slots are settled lazily); this is the least. It is
        kept between changes: a slow host's rebalance computes it with the rates, an
        add on a fast host takes the new slot's into account, and only a settle, or the
        removal of the slot that held it, makes the next call scan the slots again.
        """
        if not self.batch_n:
            return None
        if self._finish_known:
            return self._finish
        soonest = None
        for since, rem, rate in zip(self.since, self.rem, self.rate):
            if rate > 0:  # services have rate 0; a starved batch instance too
                when = since + (rem if rem > 0 else 0.0) / rate
                if soonest is None or when < soonest:
                    soonest = when
        self._finish_known, self._finish = True, soonest
        return soonest

    def finished_slots(self, now: float | None = None) -> list[int]:
        """The slots whose batch work is done (at most ``DONE`` full-speed seconds left):
        as last settled, or, given ``now``, at ``now`` without settling (each slot's
        work left there is :meth:`settle`'s ``rem - rate × (now - since)``, the same
        double), so a finish settles only the slots that leave."""
        if now is None:
            return [s for s, (batch, rem) in enumerate(zip(self.batch, self.rem)) if batch and rem <= DONE]
        return [s for s, (batch, rem, rate, since) in enumerate(zip(self.batch, self.rem, self.rate, self.since))
                if batch and rem - rate * (now - since) <= DONE]

    def inst_array(self) -> np.ndarray:
        return np.asarray(self.inst, dtype=np.int64)

    def mem_array(self) -> np.ndarray:
        return np.asarray(self.mem, dtype=float)


# --- a usage step over the fleet -------------------------------------------------------
#
# At a usage step every running instance of the fleet gets new usage at once. The hosts'
# slot lists are read into arrays over the fleet's slots (host after host, the order of
# `hosts`), settled and given their usage in one numpy evaluation, and the shares of the
# hosts that are slow (contended, swapping or interfering) recomputed the same way, only
# the contended ones water-filled, host by host. Each element goes through the same IEEE
# operations as :meth:`HostState.settle`, :meth:`HostState.set_usage` and
# :meth:`HostState.rebalance` apply to it (a branch a host does not take keeps the old
# value, by ``np.where``), and each host's sums are numpy's pairwise sums over its own slots,
# as set_usage's (FleetStep.host_sums): the same doubles as host by host
# (tests/engine/test_fleet_step.py).


class FleetStep:
    """One usage step at ``now`` over ``hosts`` (each with a running instance), in two
    halves: :meth:`set_usage` (every slot settled up to ``now`` and given its new usage),
    then :meth:`rebalance` (shares, rates and the next batch finish of every host).
    ``counts[k]`` is ``hosts[k].n``. A caller that must act on a host between the two
    (memory pressure) skips it in :meth:`rebalance` and rebalances it itself.

    ``inst`` (shape ``(total slots,)``: the instances in the hosts' slots, host after
    host) and ``constants`` (per-instance arrays, shape ``(instances,)``, of slot columns
    that never change while an instance runs: any of ``weight``, ``membw``, ``io``,
    ``batch``, holding what :meth:`HostState.add` was given) let those columns be taken
    by instance instead of read from every host's lists; so do the hosts' mirror
    (:class:`SlotMirror`), when attached, for ``demand``, ``clip`` and ``hwm``.

    Settles, new usage, sums (:meth:`host_sums`), interference speeds, water-fills,
    rates and next finishes are numpy over the fleet's slots; what is left in Python per
    host is writing the results into its lists (the change path reads them there), its
    integrals and state (:meth:`HostState._rebalance_state`), and the water-fill of a
    contended host. After :meth:`set_usage`, ``mem_sum`` holds each host's GiB in use
    (shape ``(hosts,)``), for a caller's memory-pressure test.
    """

    def __init__(self, hosts: list[HostState], counts: list[int], now: float, inst: np.ndarray | None = None,
                 constants: dict[str, np.ndarray] | None = None):
        self.hosts, self.counts, self.now = hosts, counts, now
        self.total = sum(counts)
        self.edges = list(itertools.accumulate(counts, initial=0))  # host k's slots: edges[k]:edges[k + 1]
        self.sizes = np.asarray(counts, dtype=np.int64)
        self.starts = np.asarray(self.edges[:-1], dtype=np.int64)
        self.inst, self.constants = inst, dict(constants or {})
        self.mirror = hosts[0].mirror if hosts else None
        if self.mirror is not None:  # read, and kept up to date, by instance
            if inst is None:
                self.inst = self._column("inst", np.int64)
            self.constants.update(demand=self.mirror.demand, clip=self.mirror.clip, hwm=self.mirror.hwm)

    def _column(self, name: str, dtype=float) -> np.ndarray:
        """Slot column ``name`` over the fleet's slots, host after host."""
        if name in self.constants and self.inst is not None:
            return self.constants[name][self.inst]
        return np.fromiter(itertools.chain.from_iterable(map(attrgetter(name), self.hosts)), dtype, self.total)

    def _part(self, name: str, flags: list[bool]) -> np.ndarray:
        """Slot column ``name`` over the slots of the hosts ``flags`` marks only, host after host."""
        chain = itertools.chain.from_iterable(itertools.compress(map(attrgetter(name), self.hosts), flags))
        return np.fromiter(chain, float, sum(itertools.compress(self.counts, flags)))

    def _rates(self, slow: list[bool]) -> np.ndarray:
        """The slots' batch progress (``rate``) over the fleet's slots. While no host is
        slow (``slow``: contended, swapping or interfering at its last rebalance, or with
        demand above a ceiling) they are taken by instance, 1.0 for a batch slot and 0.0
        for a service, as :meth:`HostState.add` and every share of a fast host leave them
        (full speed, no swapping, no neighbours' interference, no ceiling holding it
        back: :func:`~simdc.engine.rules.progress`); else read from the hosts' lists."""
        batch = self.constants.get("batch")
        if batch is None or self.inst is None or any(slow):
            return self._column("rate")
        return np.where(batch[self.inst], 1.0, 0.0)

    def _per_slot(self, flags: list[bool]) -> np.ndarray:
        return np.repeat(np.array(flags, dtype=bool), self.counts)

    def host_sums(self, rows: np.ndarray) -> np.ndarray:
        """Each host's sum over its own slots of every row of ``rows`` (shape ``(r, total
        slots)``), shape ``(r, hosts)``: the doubles ``row[lo:hi].sum()`` gives host by
        host, as :meth:`HostState.set_usage`'s numpy sums.

        Those follow numpy's pairwise summation (``pairwise_sum`` in
        numpy/_core/src/umath/loops_utils.h.src): under 8 terms, one by one from 0.0; up
        to 128, eight accumulators take every eighth term of the whole blocks of 8, are
        added as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), and the last n % 8
        terms follow one by one. Here each of those steps is one numpy operation for every
        host at once, the terms a host lacks padded with -0.0 (x + -0.0 is x for every
        double x). A host above 128 slots (numpy splits its sum in two) is summed alone.
        (``np.add.reduceat`` and ``np.bincount`` add one by one: other doubles from 9
        terms on.)"""
        sizes, starts = self.sizes, self.starts
        pad = rows.shape[1]  # the index of a -0.0 appended to each row
        padded = np.concatenate([rows, np.full((len(rows), 1), -0.0)], axis=1)
        alone = sizes > PAIRWISE_BLOCK
        n = np.where(alone, 0, sizes)
        head = n & ~7  # the terms in whole blocks of 8
        width = int(head.max()) if len(n) else 0
        # one gather: each host's whole blocks (columns 0 to width - 1, block b's term j at
        # 8b + j), then its last n % 8 terms (the 7 columns after)
        at = np.arange(width + 7)
        block, tail = at < width, at - width
        index = np.where(block, starts[:, None] + at, (starts + head)[:, None] + tail)
        have = np.where(block, at < head[:, None], tail < (n - head)[:, None])
        terms = padded[:, np.where(have, index, pad)]  # (r, hosts, width + 7)
        if width:
            r = terms[:, :, 0:8]  # (r, hosts, 8): the accumulators
            for b in range(8, width, 8):
                r = r + terms[:, :, b:b + 8]
            total = (((r[..., 0] + r[..., 1]) + (r[..., 2] + r[..., 3]))
                     + ((r[..., 4] + r[..., 5]) + (r[..., 6] + r[..., 7])))
            total = np.where(head > 0, total, 0.0)
        else:
            total = np.zeros((len(rows), len(n)))
        for t in range(width, width + 7):
            total = total + terms[:, :, t]
        for h in np.flatnonzero(alone).tolist():
            lo, hi = starts[h], starts[h] + sizes[h]
            total[:, h] = [row[lo:hi].sum() for row in rows]
        return total

    def set_usage(self, demand: np.ndarray, clip: np.ndarray, mem: np.ndarray) -> None:
        """:meth:`HostState.set_usage` for every host: shapes ``(total slots,)``, in
        ``hosts`` order (cores within the ceilings, cores above them, GiB)."""
        hosts, counts, edges, now = self.hosts, self.counts, self.edges, self.now
        contended = [h.contended for h in hosts]
        swapped = [h.swapped > 0 for h in hosts]
        interfering = [h.interfering for h in hosts]
        batch = [h.batch_n > 0 for h in hosts]
        column = self._column
        # settle: each slot's integrals and batch work up to now (HostState._settle_short)
        since_all = [h._since_all for h in hosts]  # a host's slots' one `since`, when they share one
        if None in since_all:
            dt = now - np.fromiter(itertools.chain.from_iterable(
                h.since if s is None else itertools.repeat(s, n) for h, s, n in zip(hosts, since_all, counts)),
                float, self.total)
        else:
            dt = np.repeat(now - np.array(since_all), counts)
        old_demand, old_clip = column("demand"), column("clip")
        starts = self.starts
        clipped = np.logical_or.reduceat(old_clip != 0, starts).tolist()  # any(host.clip)
        clip_slot = self._per_slot(clipped)
        acc = column("demand_acc")
        demand_acc = np.where(clip_slot, acc + (old_demand + old_clip) * dt, acc + old_demand * dt).tolist()
        unmet_hosts = [c or k for c, k in zip(contended, clipped)]
        # lists of floats, or None for a column no host needs (Any: mypyc compiles this module)
        unmet_acc: Any = None
        swap_acc: Any = None
        extra_acc: Any = None
        degraded_acc: Any = None
        rem_list: Any = None
        # The columns only some hosts settle (those contended or above a ceiling, swapping,
        # interfering) are read and computed over those hosts' slots only, in host order.
        if any(unmet_hosts):
            on = self._per_slot(unmet_hosts)
            acc, gap = self._part("unmet_acc", unmet_hosts), self._part("gap", unmet_hosts)
            old_clip_on = old_clip[on]
            gap = np.where(clip_slot[on], np.where(self._per_slot(contended)[on], gap + old_clip_on, old_clip_on), gap)
            unmet_acc = (acc + gap * dt[on]).tolist()
        if any(swapped):
            swap_acc = (self._part("swap_acc", swapped) + dt[self._per_slot(swapped)]).tolist()
        if any(interfering):
            on = self._per_slot(interfering)
            dt_on = dt[on]
            ispeed, extra = self._part("ispeed", interfering), self._part("extra_acc", interfering)
            extra_acc = (extra + (1.0 / ispeed - 1.0) * dt_on).tolist()
            degraded_acc = (self._part("degraded_acc", interfering) + np.where(ispeed < DEGRADED, dt_on, 0.0)).tolist()
        if any(batch):
            rem = column("rem")
            self.rate = self._rates([c or s or i or k for c, s, i, k in zip(contended, swapped, interfering, clipped)])
            self.rem = np.where(self._per_slot(batch), rem - self.rate * dt, rem)
            rem_list = self.rem.tolist()
        # the new usage (HostState.set_usage)
        old_hwm = column("hwm")
        hwm = np.maximum(old_hwm, mem)
        clip_now = np.logical_or.reduceat(clip != 0, starts).tolist()
        if any(clip_now):
            sums = self.host_sums(np.stack([demand, clip, mem, hwm]))
        else:  # every clip 0.0, so every host's sum of them 0.0
            demand_sum, mem_sum, hwm_sum = self.host_sums(np.stack([demand, mem, hwm]))
            sums = np.stack([demand_sum, np.zeros(len(hosts)), mem_sum, hwm_sum])
        self.demand_sum, self.clip_sum, self.mem_sum, self.hwm_sum = sums
        # a host's hwm list is written only where a slot's memory rose above it
        hwm_moved = np.logical_or.reduceat(mem > old_hwm, starts).tolist()
        if self.mirror is not None:
            inst = self.inst
            self.mirror.demand[inst], self.mirror.clip[inst], self.mirror.hwm[inst] = demand, clip, hwm
        new_demand, new_mem = demand.tolist(), mem.tolist()
        new_hwm: Any = hwm.tolist() if any(hwm_moved) else None
        # A host's clip list is written only where a slot had or has demand above its
        # ceiling (zeros stay zeros), its gap list only where it was contended (an
        # uncontended host's gaps are all 0.0: every rebalance that ends a contention,
        # and every add, leaves them so); its next finish is planned again, or marked
        # unknown for a host it skips, by :meth:`rebalance`.
        new_clip: Any = clip.tolist() if any(clip_now) or any(clipped) else None
        self.demand, self.clip = demand, clip
        # a batch slot's rate on a host with demand above a ceiling, before or after, is
        # what an uncontended host gives it (HostState._fast_rates, the same doubles);
        # rebalance recomputes a slow host's, or the caller a host it skips
        fast_rates: Any = None
        moved = [b and (k or h) for b, k, h in zip(batch, clipped, clip_now)]
        if any(moved):
            speed = np.repeat([h.speed for h in hosts], counts)
            fast = progress(demand, demand, clip, hosts[0].cpu_factor) * speed * self._column("ispeed")
            self.rate = np.where(self._per_slot(moved) & self._column("batch", bool), fast, self.rate)
            fast_rates = self.rate.tolist()
        at_unmet = at_swap = at_interf = 0
        for host, lo, hi, unmet, swap, interf, on_batch, was_contended, had_clip, has_clip, rose, demand_sum, \
                clip_sum, mem_sum, hwm_sum in zip(hosts, edges, edges[1:], unmet_hosts, swapped, interfering, batch,
                                                  contended, clipped, clip_now, hwm_moved, *sums.tolist()):
            host.demand_acc[:] = demand_acc[lo:hi]
            n = hi - lo
            if unmet:  # (these lists hold the hosts they are computed for only, one after another)
                host.unmet_acc[:] = unmet_acc[at_unmet:at_unmet + n]
                at_unmet += n
            if swap:
                host.swap_acc[:] = swap_acc[at_swap:at_swap + n]
                at_swap += n
            if interf:
                host.extra_acc[:] = extra_acc[at_interf:at_interf + n]
                host.degraded_acc[:] = degraded_acc[at_interf:at_interf + n]
                at_interf += n
            if on_batch:
                host.rem[:] = rem_list[lo:hi]
                if had_clip or has_clip:
                    host.rate[:] = fast_rates[lo:hi]
            host.since[:] = [now] * (hi - lo)
            host._since_all = now
            host.demand[:] = host.alloc[:] = new_demand[lo:hi]
            if was_contended:
                host.gap[:] = [0.0] * (hi - lo)
            if had_clip or has_clip:
                host.clip[:] = new_clip[lo:hi]
            host.mem[:] = new_mem[lo:hi]
            if rose:
                host.hwm[:] = new_hwm[lo:hi]
            host.demand_sum, host.clip_sum, host.mem_sum, host.hwm_sum = demand_sum, clip_sum, mem_sum, hwm_sum

    def rebalance(self, skip: list[bool] | None = None) -> None:
        """:meth:`HostState.rebalance` at ``now`` for every host but those ``skip`` marks
        (left as :meth:`set_usage` left them, for the caller to rebalance), right after
        set_usage (nothing may change a host's running set between the two), with the
        next batch finish of each planned."""
        hosts, counts, edges, now = self.hosts, self.counts, self.edges, self.now
        if skip is None:
            mine = [True] * len(hosts)
        else:
            mine = [not s for s in skip]
            for host, s in zip(hosts, skip):
                if s:  # every slot's work left is as of now (set_usage settled it): plan again
                    host._finish_known = False
        changes = [host._rebalance_state(now) if m else None for host, m in zip(hosts, mine)]
        batch = [m and host.batch_n > 0 for host, m in zip(hosts, mine)]
        slow = [c is not None for c in changes]
        if not any(slow) and not any(batch):
            for host, m in zip(hosts, mine):
                if m:
                    host._finish_known, host._finish = True, None
            return
        column = self._column
        demand = self.demand
        if any(slow):
            speed = np.repeat([c[1] if c is not None else 1.0 for c in changes], counts)
            contended = [c is not None and c[2] for c in changes]
            interfering = [c is not None and c[3] for c in changes]
            rate: Any = self.rate if any(batch) else None
            ispeed = None
            if any(interfering):
                # HostState._share_short's interference speeds, per slot with its host's sums
                membw, io = column("membw"), column("io")
                k_membw = np.repeat([h.k_membw for h in hosts], counts)
                k_io = np.repeat([h.k_io for h in hosts], counts)
                membw_sum = np.repeat([h.membw_sum for h in hosts], counts)
                io_sum = np.repeat([h.io_sum for h in hosts], counts)
                on = self._per_slot(interfering)
                ispeed = np.where(on, 1.0 / (1.0 + k_membw * membw * np.minimum(membw_sum - membw, 1.0)
                                             + k_io * io * np.minimum(io_sum - io, 1.0)), 1.0)
                ispeed_list = ispeed.tolist()
            alloc = demand.copy()
            weight: Any = column("weight") if any(contended) else None
            for k, host in enumerate(hosts):
                if contended[k]:
                    lo, hi = edges[k], edges[k + 1]
                    alloc[lo:hi] = water_fill(demand[lo:hi], weight[lo:hi], host.cores)
            if any(contended):
                alloc_list, gap_list = alloc.tolist(), (demand - alloc).tolist()
            if rate is not None:
                # progress = share of what it wants it gets, slowed by swapping and neighbours
                new = progress(alloc, demand, self.clip, hosts[0].cpu_factor) * speed
                if ispeed is not None:
                    new = np.where(on, new * ispeed, new)
                new = np.where(self._column("batch", bool), new, 0.0)
                rate = np.where(self._per_slot(slow), new, rate)  # a fast host keeps its rates
                rate_list = rate.tolist()
            for k, host in enumerate(hosts):
                change = changes[k]
                if change is None:
                    continue
                lo, hi = edges[k], edges[k + 1]
                n, _, _, host_interfering, _, was_interfering = change
                if host_interfering:
                    host.ispeed[:] = ispeed_list[lo:hi]
                elif was_interfering:
                    host.ispeed[:] = [1.0] * n
                if contended[k]:
                    host.alloc[:] = alloc_list[lo:hi]
                    host.gap[:] = gap_list[lo:hi]
                if host.batch_n:
                    host.rate[:] = rate_list[lo:hi]
        else:
            rate = self.rate
        # the next batch finish of each host: since + max(rem, 0) / rate, since = now
        if any(batch):
            rem = self.rem
            going = rate > 0
            when = np.where(going, now + np.where(rem > 0, rem, 0.0) / np.where(going, rate, 1.0), np.inf)
            soonest = np.minimum.reduceat(when, self.starts).tolist()
            any_going = np.logical_or.reduceat(going, self.starts).tolist()
        for k, host in enumerate(hosts):
            if mine[k]:
                host._finish_known = True
                host._finish = soonest[k] if batch[k] and any_going[k] else None
