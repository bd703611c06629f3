"""The event handlers of every run, written once, and the modes that keep hosts' running instances.

Every run goes through :class:`Lane`'s handlers on one event loop
(:func:`~simdc.engine.simulation.run_events`); the mode is the subclass that runs, chosen
from the inputs (:mod:`simdc.engine.runner`). The *general* mode (:class:`GeneralLane`)
keeps running instances in :class:`~simdc.engine.host.HostState` slots and models
everything: image pulls that wait on several things, batch work under processor sharing,
OOM kills and restarts, VM memory reclaim, interference, failures, moves, services.
Most capacity studies need only bookings, usage, CPU contention and the OOM killer; for
them the *fast lane's* modes keep the running instances' usage, shares and integrals in
arrays updated fleet-wide once per usage step (:class:`FastLane` is the simulation that
can run them). Three, by what the inputs allow:

- *closed*: constant usage within each booking and each ceiling (vCPUs, limit), and no
  overcommit, so no host is ever contended and no demand is clipped. An instance's CPU
  integral is then demand × time run and every host integral has a closed form;
  instances and timeseries are identical to the bit to the
  general engine's (the same arithmetic in the same order), host integrals to 1e-12.
  Loss and queueing studies (Erlang B and C, Kaufman–Roberts) run here.
- *bounded*: usage that changes every step (or asks above a ceiling) but whose served
  part can never exceed the bookings (VMs without overcommit): nothing need be checked,
  and new instances' first usage is drawn in batches at the next step or sample. Demand
  above a ceiling counts as demand and as unmet, here and in the tracked mode.
- *tracked*: usage that may exceed the bookings. A host whose demand exceeds its cores
  shares them out (weighted max-min, :func:`~simdc.engine.rules.water_fill`) at every
  change, and a container host over its memory runs the OOM killer, with back-off
  restarts, as in the general engine.

The model's rules are not restated here: the fit test, the usage cap, contention and
memory pressure, the OOM victims, the back-off and energy come from
:mod:`simdc.engine.rules` (the tests run at every event compare with limits that
:func:`~simdc.engine.rules.limit` computes once), placement from
:mod:`simdc.engine.placer` (one :class:`~simdc.engine.placer.Placer` for both lanes).
The event handlers (``on_arrival``, ``on_ready``, ``on_end``, ``on_give_up``,
``on_restart``, ``on_usage_step``, ``on_sample``, with ``submit``, ``drain``,
``admit``, ``launch``, ``ready``, ``take_off``, ``leave``, ``oom`` and ``kill``) are
written once, as methods of :class:`Lane`, for both lanes; the mode is which lane runs (:class:`GeneralLane`,
the general engine's; :class:`ClosedLane`, :class:`BoundedLane`, :class:`TrackedLane`),
each keeping running instances' usage its own way. All run on one event loop
(:func:`~simdc.engine.simulation.run_events`).

Decisions and times match the general engine's exactly; usage figures to 1e-12 (sums in
another order). A VM host that would have to reclaim memory raises
:class:`NeedsGeneral`, and :func:`~simdc.engine.runner.run_platform` runs it again in the
general engine. Batch work, image pulls, interference, failures, memory limits and
admission by the recommender go there from the start (:meth:`FastLane.applies`).
"""

from __future__ import annotations

import gc
import heapq
import operator

import numpy as np
from simpy.core import NORMAL, URGENT

from simdc.engine.rules import water_fill
from simdc.engine.first_fit import FirstFit
from simdc.engine.rules import (backoff, capped_usage, contended, energy_j, fits, free_mem_gib, limit,
                                oom_victims, over_memory, stranded_gib)
from simdc.engine.simulation import (
    BACKOFF,
    COMPLETED,
    EVICTED,
    FAILED,
    KILLED,
    QUEUED,
    REJECTED,
    RUNNING,
    STARTING,
    PlatformRun,
    Simulation,
    _as_list,
    as_array,
    run_events,
)
from simdc.metrics import stays_peak

# at one instant ends come first (URGENT), then the rest in the order they were scheduled
_URGENT, _NORMAL = URGENT, NORMAL  # SimPy's priorities, as module names: one lookup on the per-event paths
_push, _pop = heapq.heappush, heapq.heappop  # module names: one lookup on the per-event paths
_UNCAPPED = float("inf")  # no ceiling: the closed mode caps by the machine's cores alone


class NeedsGeneral(Exception):
    """The run met something only the general engine models (VM memory reclaim)."""


class FastLane(Simulation):
    """A :class:`Simulation` that can also run the fast lane (module docstring):
    :meth:`run` is the general engine, :meth:`run_fast` the lane, when :meth:`applies`."""

    capped_upper = ((None, None), None)  # bounded()'s (usage.upper(), capped_usage() of it), once asked

    def applies(self) -> bool:
        """Whether the run needs nothing the lane lacks, judged from the inputs."""
        if self.any_batch or self.any_needs or self.faults.active or self.has_limits:
            return False
        if self.deps is not None:  # jobs with dependencies: submissions wait on completions
            return False
        if self.mover is not None:  # drains or consolidation move instances: the general engine's only
            return False
        if self.recommender is not None:  # bookings learnt as the run goes: the general engine
            return False
        if self.meter_at_s:  # energy read at moments (prices over time): the general engine's meter
            return False
        if self.services is not None:  # replicas created as the run goes (simdc.engine.services)
            return False
        host = self.hosts[0]  # the platform's sensitivities, the same on every host
        # the intensities are typed arrays: tested in numpy, not element by element
        return not ((host.k_membw > 0 and np.asarray(self.membw).any())
                    or (host.k_io > 0 and np.asarray(self.io).any()))

    def bounded(self) -> bool:
        """Whether no host can ever be contended or short of memory: every instance's
        usage at its most (capped by its vCPUs, limit or size) within its booking, and
        the bookings within the hosts (no overcommit)."""
        fp = self.fp
        if any(contended(h.cpu_cap, h.cores) or over_memory(h.mem_cap, 0.0, 0, h.allocatable) for h in self.hosts):
            return False  # overcommit: bookings may exceed the machine
        upper = self.usage.upper()
        cpu, _, mem = capped = capped_usage(*upper, None, fp.cpu_cap, fp.mem_cap)
        self.capped_upper = (upper, capped)  # (the closed mode's usage, when constant: ClosedLane)
        return bool(np.all(cpu <= fp.book_cpu) and np.all(mem + self.hosts[0].overhead <= fp.book_mem_gib))

    def clips(self) -> bool:
        """Whether an instance's usage may ask for more than its ceiling (vCPUs, limit)
        below its machine's cores: demand it does not get, counted as unmet."""
        _, clip, _ = capped_usage(*self.usage.upper(), max(h.cores for h in self.hosts), self.fp.cpu_cap, None)
        return bool(np.any(clip > 0))

    def closed(self) -> bool:
        """Bounded, with constant usage that never asks above its ceiling: the closed mode."""
        return self.usage.step_s is None and self.bounded() and not self.clips()

    def run_fast(self) -> PlatformRun:
        """The general engine's :meth:`Simulation.run`, event for event, on a bare heap.

        Hosts' bookings are the fleet's lists (:class:`~simdc.engine.host.Bookings`), as in
        the general engine; the running sets' sums live in lists on a :class:`Lane` of the
        run's mode while the loop runs, and are written back to the :class:`HostState`
        objects at the end.

        Raises
        ------
        NeedsGeneral
            A VM host would have to reclaim memory, or admission is by the recommender
            (bookings learnt as the run goes); nothing of this run is kept.
        """
        if self.recommender is not None:
            raise NeedsGeneral("admission by the recommender runs in the general engine")
        self.mode = "tracked"
        if self.bounded():  # closed(), with bounded() known
            self.mode = "closed" if self.usage.step_s is None and not self.clips() else "bounded"
        lane = _LANES[self.mode](self)
        lane.run()
        hosts, overhead = self.hosts, lane.overhead
        for h, j in zip(hosts, range(len(hosts))):  # the running sets' sums into the HostState objects
            h.demand_sum, h.mem_sum = lane.demand_sum[j], lane.mem_sum[j]
            h.cpu_demand, h.mem_used = lane.demand_sum[j], lane.mem_sum[j] + overhead * lane.running[j]
        del lane  # its per-instance lists and slots, before the tables are built
        self._integrate()
        run = self._tables()
        # The per-instance lists the tables did not take, let go now: the simulation lives
        # in reference cycles until the collector finds it, and every collection until
        # then walks each row of each list (~5 ms a collection at 200,000 rows).
        self.needs = self.copy_gib = self.book_cpu = self.book_mem = self.cpu_cap = self.mem_cap = None
        self.start_s = None
        return run

    def _integrate(self) -> None:
        """The per-instance columns, and the hosts' integrals from the instances': an
        instance holds its booking from admission, and its demand, share and memory from
        its start, until its end or the horizon."""
        horizon, n, m = self.duration_s, len(self.submit), len(self.hosts)
        # the lists as arrays, kept for the instances' table
        self.host_of, self.admit_s = as_array(self.host_of, np.int64), as_array(self.admit_s)
        self.ready_s, self.end_s = as_array(self.ready_s), as_array(self.end_s)
        self.first_ready_s = as_array(self.first_ready_s)
        placed = np.flatnonzero(self.host_of >= 0)
        host = self.host_of[placed]
        admit, ready, end = self.admit_s[placed], self.first_ready_s[placed], self.end_s[placed]
        end = np.where(np.isnan(end), horizon, end)
        # no failures here: one stay on a host per placed instance, admission to end
        stay = end - admit
        self.resident_s = np.zeros(n)
        self.resident_s[placed] = stay
        # The columns nothing in the lane changes share one array of each kind (fresh
        # memory costs a page fault per 4 KiB; the tables read them, nothing writes them).
        zeros, none = np.zeros(n), np.zeros(n, dtype=np.int64)
        self.replacements = none
        # one host: its own count, kept as the run went (no failures here, so every stay is
        # on it from admission to end, as stays_peak() would count them: ends first)
        self.booked.fleet_peak = self.booked.peak[0] if m == 1 else stays_peak(admit, end)
        started = ~np.isnan(ready)
        ran = np.where(started, end - ready, 0.0)
        if self.mode == "closed":  # per instance, as the general engine accounts them (0 + demand × time run)
            self.run_s = np.zeros(n)
            self.run_s[placed] = 0.0 + ran
        else:  # over all attempts (an OOM-killed container restarts)
            self.run_s = self.run_acc
            ran = self.run_acc[placed]
        overhead = self.hosts[0].overhead
        if self.mode == "closed":
            cores = np.array([h.cores for h in self.hosts])
            # capped_usage() by the machine's cores too: the lane's usage, capped but for
            # them (a minimum in another order: the same doubles)
            run_cpu, run_mem = self.closed_usage
            cpu, mem = np.minimum(run_cpu[placed], cores[host] if m > 1 else cores[0]), run_mem[placed]
            demand = np.where(started, cpu * ran, 0.0)
            self.demand_s = np.zeros(n)
            self.demand_s[placed] = 0.0 + demand
            self.unmet_s = zeros
            self.kills = self.restarts = none
            used, mem_time = demand, (mem + overhead) * ran
        else:
            self.demand_s, self.unmet_s = self.cpu_acc, self.unmet_acc
            demand = self.cpu_acc[placed]
            used = demand - self.unmet_acc[placed]
            mem_time = self.mem_acc[placed] + overhead * ran
        # nothing to pull or unpack; the platform's start latency
        self.pull_s = self.unpack_s = np.full(n, np.nan)  # (one array: the same values)
        self.pull_s[placed] = 0.0
        self.first_boot_s = np.full(n, np.nan)
        self.first_boot_s[placed] = self.fp.start_s[placed]
        # what only failures, restarts, swap and interference change
        self.swap_s = self.extra_s = self.degraded_s = self.lost_core_s = zeros
        self.failure_kills = none
        self.cold = np.zeros(n, dtype=bool)
        book = self.fp.book_mem_gib[placed]
        resident_s = np.bincount(host, stay, m)
        cpu_s = np.bincount(host, demand, m)
        used_s = cpu_s if used is demand else np.bincount(host, used, m)  # (closed: none unmet)
        mem_used_s = np.bincount(host, mem_time, m)
        mem_alloc_s = np.bincount(host, book * stay, m)
        cpu_booked_s = np.bincount(host, self.fp.book_cpu[placed] * stay, m)
        for j, h in enumerate(self.hosts):
            if h.resident:
                self.busy_s[j] += horizon - self.busy_since[j]
            h.last_t = horizon
            h.resident_s = float(resident_s[j])
            h.cpu_demand_s, h.cpu_used_s = float(cpu_s[j]), float(used_s[j])
            h.cpu_booked_s = float(cpu_booked_s[j])
            h.mem_used_s = float(mem_used_s[j]) + h.base * horizon
            h.mem_alloc_s = float(mem_alloc_s[j]) + h.base * horizon
            # booked but unused: bounded, bookings stay within allocatable and use within
            # bookings; else integrated as the run went
            h.stranded_s = float(mem_alloc_s[j] - mem_used_s[j]) if self.mode != "tracked" else self.stranded[j]
            on_s = self.busy_s[j] if h.power_off_idle else horizon
            h.energy_j = energy_j(h.power_idle_w, h.power_max_w, h.cores, on_s, h.cpu_used_s)


class Lane:
    """The event handlers of one run of a :class:`FastLane`, in either lane.

    Hosts' bookings and sums are lists indexed by host; the workload's columns are the
    simulation's own lists, written in place. The handlers (``on_end``, ``on_arrival``,
    ``on_ready``, ``on_give_up``, ``on_restart``, ``on_usage_step``, ``on_sample``) are
    written once, here, with the steps they share (starting, taking off a host, the
    OOM killer and a kill); how running instances' usage is kept is the run's mode, a
    subclass's ``start``, ``stop``, ``step`` and ``collect`` (:class:`ClosedLane`,
    :class:`BoundedLane`, :class:`TrackedLane`; only the tracked mode kills, so only it
    restarts: its ``members_mem``, ``attempt_started``, ``over_memory`` and ``remove``),
    or, in the general engine (:class:`GeneralLane`), the simulation's own state behind
    the same methods and ``book``, ``release``, ``start_delay`` (image pulls), ``step``
    and ``sample``. The state is in slots, and methods called at every event bind what
    they reuse to locals: the per-event paths cost about what the closures they replaced did
    (measured in interleaved runs against them: the commit that added the slots).
    """

    # slots, not a dict: a dict of more than 30 keys is not shared, and every attribute
    # read on the per-event paths then costs a dict lookup (~14 % on the Erlang-B loop)
    __slots__ = (
        "sim", "booked", "horizon", "heap", "tick", "h_end", "h_ready", "h_give_up", "h_sample", "h_step", "h_restart",
        "env", "deps", "recommender", "services", "epoch", "restarts", "batch", "too_big", "sample_every_s",
        "cores", "allocatable",
        "mem_capacity", "overhead", "base", "no_swap", "running", "clip_sum", "usage", "queue",
        "progress",
        "n", "m", "pick", "told", "placed_cpu_limit", "submit_s", "duration", "start_s", "book_cpu", "book_mem",
        "state", "host_of",
        "admit_s", "ready_s", "end_s", "first_ready_s", "free_at_failure", "queue_when_full", "max_wait_s",
        "max_starts", "mem_cap", "cpu_limit", "mem_limit", "booked_cpu", "booked_mem", "resident",
        "peak", "starting", "demand_sum", "mem_sum", "busy_since", "busy_s", "kills", "streak", "restart",
        "backoff_s", "backoff_max_s", "nowhere", "create_gap_s", "next_create_s", "create_wait_s", "cpu_cap"
    )

    touch = None  # called before any change on a host, where the mode integrates host figures
    touches = False  # whether it does (a flag: reading a method to test it makes a bound method)
    sums = None  # brings demand_sum and mem_sum up to date before a sample, where they lag
    inline = False  # the closed mode's hot path written out in the handlers
    # The collector pauses while the loop runs (:meth:`run`): the fast lane's handlers
    # create no reference cycles (timers are tuples, state is in lists), so a collection
    # frees nothing, yet each collection still walked what was allocated since, heap
    # timers and all: 1.5 % of simulate's instructions on CloudSimPy's workload where the
    # imports' objects are not frozen (a notebook, a sweep; the CLI freezes them, and
    # gains nothing: cachegrind, issue #16). Not in the general engine, whose SimPy
    # processes (moves) and pulls make cycles that a long run must not keep until its end.
    pauses_collector = True
    arrays = False  # whether the bookings are copied as arrays even where placement reads the lists

    def __init__(self, sim: FastLane) -> None:
        self.sim = sim
        self.horizon = sim.duration_s
        self.heap = sim.heap  # timers, run by simulation.run_events as the general engine's are
        self.tick = sim.env._eid.__next__  # SimPy's event ids: one order with whatever SimPy schedules
        # the handlers as pushed with their timers: bound once, not at every push
        self.h_end, self.h_ready, self.h_give_up = self.on_end, self.on_ready, self.on_give_up
        self.h_sample, self.h_step, self.h_restart = self.on_sample, self.on_usage_step, self.on_restart
        self.queue, self.progress, hosts = sim.queue, sim.progress, sim.hosts
        self.n, self.m = len(sim.submit), len(hosts)
        m = self.m
        self.submit_s, self.duration, self.start_s = sim.submit, sim.duration, sim.start_s
        self.env, self.deps, self.recommender, self.services = sim.env, sim.deps, sim.recommender, sim.services
        self.epoch = sim.epoch  # a failure starts a new epoch: older timers no longer apply
        self.restarts, self.kills, self.streak = sim.restarts, sim.kills, sim.streak
        self.restart, self.backoff_s, self.backoff_max_s = sim.restart, sim.backoff_s, sim.backoff_max_s
        self.batch = sim.batch  # batch work ends when done (the general engine's), not at a lifetime
        self.book_cpu, self.book_mem = sim.book_cpu, sim.book_mem
        self.state, self.host_of = sim.state, sim.host_of
        self.admit_s, self.ready_s, self.end_s = sim.admit_s, sim.ready_s, sim.end_s
        self.first_ready_s, self.free_at_failure = sim.first_ready_s, sim.free_at_failure
        # fits on no host, however empty (Simulation.fits_nowhere): a list, or windowed the chunked column
        self.too_big = sim.too_big if sim.windowed else _as_list(sim.too_big)
        self.queue_when_full, self.max_wait_s, self.max_starts = sim.queue_when_full, sim.max_wait_s, sim.max_starts
        self.sample_every_s = sim.sample_every_s
        self.create_gap_s, self.next_create_s, self.create_wait_s = (sim.create_gap_s, sim.next_create_s,
                                                                     sim.create_wait_s)
        # per host
        self.cores = cores = [h.cores for h in hosts]
        self.mem_cap = [h.mem_cap for h in hosts]
        self.cpu_cap = [h.cpu_cap for h in hosts]  # the fit test's limits, as placement's (Placer)
        self.allocatable = allocatable = [h.allocatable for h in hosts]
        # What contended() and over_memory() compare with, computed once by rules.limit: the
        # paths taken at every event test against these, written out (a call costs more
        # there than the test; measured in benchmarks/README.md's figures of this change).
        self.cpu_limit, self.mem_limit = list(map(limit, cores)), list(map(limit, allocatable))
        self.mem_capacity = [h.mem_capacity for h in hosts]  # without the fit test's slack: free memory's
        self.overhead = hosts[0].overhead
        self.base = [h.base for h in hosts]
        self.no_swap = [0.0] * m  # the timeseries' swapped_gib: no VM host swaps in the lane
        self.running = [0] * m  # instances running on each host
        self.booked = booked = sim.booked  # the fleet's bookings, the general engine's lists
        self.booked_cpu, self.booked_mem = booked.cpu, booked.mem
        sim._placement(self.arrays)
        self.pick = sim.placer.place if sim.placer is not None else sim._pick  # Simulation._pick
        # The sizes first fit has found no host for, nothing having shrunk since
        # (FirstFit.nowhere): an arrival of one is turned away without a call into
        # placement, where submit() would do just that (no recommendation to take, no
        # queue, no service to tell).
        inner = sim.placer.inner if sim.placer is not None else None
        self.nowhere = (inner.nowhere if isinstance(inner, FirstFit) and sim.recommender is None
                        and not sim.queue_when_full and sim.services is None and sim.max_starts is None else None)
        self.placed_cpu_limit = sim.placer.cpu_limit if sim.placer is not None else None
        # told of every change of the bookings (placement's copy or caches), or None
        self.told = booked.placement
        self.resident, self.peak, self.starting = booked.resident, booked.peak, booked.starting
        self.demand_sum, self.mem_sum = [0.0] * m, [0.0] * m  # cores wanted; GiB used (without overheads)
        self.clip_sum = [0.0] * m  # cores wanted above the instances' ceilings (none in the closed mode)
        sim.busy_since, sim.busy_s = self.busy_since, self.busy_s = [0.0] * m, [0.0] * m
        self.usage = sim.usage

    # -- what the mode decides: how running instances' usage is kept
    def start(self, i: int, j: int, now: float, clock: float) -> None:
        """``i`` runs on host ``j`` from ``now``: into the host's sums."""
        raise NotImplementedError

    def stop(self, i: int, j: int, now: float) -> None:
        """``i`` stops running on host ``j`` at ``now``: out of the host's sums, its integrals kept."""
        raise NotImplementedError

    def step(self, now: float) -> None:
        """Simulation._on_usage_step's work: everyone's integrals, then new usage."""

    def ends(self) -> tuple:
        """The handlers of instances' ends, which run at the horizon too (:func:`run_events`)."""
        return (self.h_end,)

    def collect(self, now: float) -> None:
        """At the horizon: the running instances' (and the hosts') integrals."""

    def begin(self) -> None:
        """What the mode schedules at the start, after the first arrival, sample and step."""

    # -- the general engine's steps, shared by every mode
    def ready(self, i: int, j: int, now: float, clock: float) -> None:
        """``i`` runs on host ``j`` from ``now`` (the mode's :meth:`start`); a service
        lives its lifetime from its first start, a batch instance until its work is done."""
        self.ready_s[i] = now  # the latest attempt's start
        first_ready_s = self.first_ready_s
        if first_ready_s[i] != first_ready_s[i]:  # NaN: the first start, not a restart
            first_ready_s[i] = now
            if not self.batch[i]:
                _push(self.heap, (clock + self.duration[i], _URGENT, self.tick(), self.h_end, i))
        self.state[i] = RUNNING
        self.start(i, j, now, clock)

    def leave(self, i: int, j: int, now: float, clock: float, state: int, drain: bool = True) -> None:
        """``i`` leaves host ``j`` at ``now`` for good, in ``state`` (its booking goes:
        :meth:`release`); a completion submits the children it held back, and the queue
        takes the room (``drain``)."""
        self.release(i, j, now)
        self.state[i] = state
        self.end_s[i] = now
        deps = self.deps
        if state == COMPLETED and deps is not None:
            sim = self.sim
            for child in deps.completed(i, now):  # submitted after this moment's endings, as arrivals are
                sim._after(0.0, sim._on_released, child)
        services = self.services
        if services is not None and i >= services.first:
            services.changed(i)
        if drain and self.queue:
            self.drain(now, clock)

    def release(self, i: int, j: int, now: float) -> None:
        """The booking goes (:meth:`Bookings.release`); a host left empty is idle from ``now``."""
        booked = self.booked
        booked.release(j, self.book_cpu[i], self.book_mem[i])
        if not booked.resident[j]:
            self.busy_s[j] += now - self.busy_since[j]

    def admit(self, i: int, j: int, now: float, clock: float) -> None:
        """``i`` takes its place on host ``j`` at ``now`` (the mode's :meth:`book`), then
        starts (:meth:`launch`)."""
        self.book(i, j, now)
        self.host_of[i] = j
        admit_s = self.admit_s
        if admit_s[i] != admit_s[i]:  # NaN: the first admission (not a resubmission)
            admit_s[i] = now
        else:  # placed again: a failure's victim, or a container a drain restarted
            self.sim.replacements[i] += 1
            self.sim.off_host.back(i, now)
        self.launch(i, j, now, clock)

    def book(self, i: int, j: int, now: float) -> None:
        """``i``'s booking on host ``j`` from ``now`` (:meth:`Bookings.book`)."""
        if self.touches:
            self.touch(j, now)
        booked = self.booked
        booked.book(j, self.book_cpu[i], self.book_mem[i])
        if booked.resident[j] == 1:
            self.busy_since[j] = now

    def launch(self, i: int, j: int, now: float, clock: float) -> None:
        """``i`` starts on host ``j`` (admitted, or after a back-off): running after its
        start's :meth:`start_delay`, or at once (STARTING, and one more starting on
        ``j``, for no time), or when the image pull that the delay left under way ends."""
        self.state[i] = STARTING
        delay = self.start_delay(i, j)
        if delay is not None and self.create_gap_s is not None:  # its creation waits for its turn from now
            delay += self.creation_wait(i, j, clock)
        if delay is None or delay > 0:
            self.booked.start(j)
            if delay is not None:
                _push(self.heap, (clock + delay, _NORMAL, self.tick(), self.h_ready, (i, self.epoch[i])))
        else:
            self.ready(i, j, now, clock)

    def creation_wait(self, i: int, j: int, at: float) -> float:
        """Seconds ``i``, ready to be created on host ``j`` at ``at``, waits for its turn:
        the host creates one instance every ``create_gap_s[j]`` seconds (the platform's
        creations_per_core_per_s × the host's cores), in the order they ask (a FIFO at the
        rate; a token bucket would also need a burst size, which no source gives). The
        turn is taken here; the first start's wait is recorded (``create_wait_s``)."""
        next_create_s = self.next_create_s
        turn = next_create_s[j]
        if turn < at:
            turn = at
        next_create_s[j] = turn + self.create_gap_s[j]
        wait = turn - at
        waits = self.create_wait_s
        if waits[i] != waits[i]:  # NaN: the first start
            waits[i] = wait
        return wait

    def start_delay(self, i: int, j: int) -> float | None:
        """Seconds from ``i``'s start on host ``j`` until it runs (the platform's start
        latency for this start, :meth:`Simulation.start_time`), or None when a process (an
        image pull) takes it from here."""
        return self.sim.start_time(i)

    def drain(self, now: float, clock: float) -> None:
        """Admit waiting requests in FIFO order until the head does not fit. Nobody at
        the horizon: only the ends there are in the run (:func:`run_events`)."""
        if now >= self.horizon:
            return
        queue, state = self.queue, self.state
        while queue:
            i = queue[0]
            if state[i] != QUEUED:  # gave up while waiting
                queue.popleft()
                continue
            j = self.pick(i)  # the host the policy picks among those that fit, or -1
            if j < 0:
                if self.queue_when_full or self.held_by_starts(i):
                    return
                # with reject, only a request waiting for a start slot queues (submit()):
                # its room is gone now (taken by those ahead of it), so it is turned away
                queue.popleft()
                self.note_no_host(i)
                self.turn_away(i, now)
                continue
            queue.popleft()
            self.admit(i, j, now, clock)

    # -- the OOM killer, in the modes that run it (tracked, general): over the mode's
    # members_mem, attempt_started, over_memory and remove
    def oom(self, j: int, now: float, clock: float) -> bool:
        """The OOM killer frees memory on container host ``j`` until its footprint fits.

        First a container above its own memory limit is killed alone (its cgroup's OOM;
        only the general engine runs limits). Then, while the host is over, the kernel's
        victims, highest oom_score first (:func:`~simdc.engine.rules.oom_victims`).
        Returns whether a booking was released (a victim that will not restart).
        """
        sim = self.sim
        fp = sim.fp
        inst, mem = self.members_mem(j)
        freed = False
        if sim.has_limits:
            for i in inst[mem > fp.mem_limit[inst]].tolist():
                freed |= self.kill(i, j, now, clock)
            if not self.over_memory(j):
                return freed
            inst, mem = self.members_mem(j)
        for i in inst[oom_victims(mem, fp.mem_request[inst], fp.guaranteed[inst], inst, self.overhead,
                                  self.allocatable[j], sim.hosts[j].spec.memory_gib)].tolist():
            freed |= self.kill(i, j, now, clock)
        return freed

    def kill(self, i: int, j: int, now: float, clock: float) -> bool:
        """Running ``i`` is killed on host ``j``: out of the running set (its integrals
        kept); gone for good, or back after a back-off. True if it leaves the host."""
        started_s = self.attempt_started(i)
        self.remove(i, j, now)
        self.kills[i] += 1
        mover = self.sim.mover
        if mover is not None:  # it starts again from scratch: what moves carried is gone
            mover.forget(i)
        if self.recommender is not None:
            sim = self.sim
            self.recommender.oom(now, i, int(sim.rec_key[i]), float(sim.fp.mem_request[i]))
        if not self.restart:
            self.leave(i, j, now, clock, KILLED, drain=False)
            return True
        streak = self.streak
        delay, streak[i] = backoff(streak[i], now - started_s, self.backoff_s, self.backoff_max_s)
        self.state[i] = BACKOFF
        _push(self.heap, (clock + delay, _NORMAL, self.tick(), self.h_restart, (i, self.epoch[i])))
        return False

    # -- the handlers, the only ones of both lanes: each takes the event's time and value
    def on_end(self, clock: float, i: int) -> None:
        """``i``'s lifetime is over: it leaves its host, completed (:meth:`take_off`, then
        its booking: :meth:`leave`; the queue takes the room), unless
        it is backing off after an OOM kill: then its work was not done, and it ends
        ``oom_killed`` (Kubernetes shows such a pod in CrashLoopBackOff, its container's
        last state Terminated with reason OOMKilled; it never succeeded)."""
        was = self.state[i]
        if self.inline and was == RUNNING:
            j = self.host_of[i]
            # stop() and release() written out: the hot path of loss and queueing studies
            running = self.running
            count = running[j] = running[j] - 1
            if count:
                self.demand_sum[j] -= self.run_cpu[i]
                self.mem_sum[j] -= self.run_mem[i]
            else:
                self.demand_sum[j] = self.mem_sum[j] = 0.0
            resident = self.resident
            count = resident[j] = resident[j] - 1
            if count:
                self.booked_cpu[j] -= self.book_cpu[i]
                self.booked_mem[j] -= self.book_mem[i]
            else:
                self.booked_cpu[j] = self.booked_mem[j] = 0.0
                self.busy_s[j] += clock - self.busy_since[j]
            if self.told is not None:
                self.told.shrank(j)
            self.state[i] = COMPLETED
            self.end_s[i] = clock
            if self.queue:
                self.drain(clock, clock)
            return
        if was == RUNNING or was == STARTING:  # completed: off its host, then its booking
            j = self.host_of[i]
            self.take_off(i, j, clock)
            self.leave(i, j, clock, clock, COMPLETED)
        elif was == BACKOFF:  # on its host (booked), neither running nor starting
            j = self.host_of[i]
            self.take_off(i, j, clock)
            self.leave(i, j, clock, clock, KILLED)
        elif was == QUEUED:  # resubmitted after a failure (or a drain), its time is up before it ran again
            self.state[i] = self.requeued_as(i)
            self.end_s[i] = clock

    def take_off(self, i: int, j: int, now: float, lost: bool = False) -> None:
        """``i`` leaves host ``j``'s running set at ``now`` (the mode's :meth:`stop`: its
        integrals kept, the host's shares after it; ``lost``: the work done since its
        last start from scratch counts as lost, in the general engine, whose failures
        and moves lose work: this attempt's, and that of the attempts before it that a
        live migration or a checkpoint carried here) or the host's starts; a backed-off
        instance holds neither."""
        if self.touches:
            self.touch(j, now)
        was = self.state[i]
        if was == RUNNING:
            self.stop(i, j, now)
        elif was == STARTING:
            self.booked.started(j)
        if lost:  # this attempt's work, and what moves that kept its state carried here
            sim = self.sim
            if was == RUNNING:
                sim.lost_core_s[i] += sim.last_work
            if sim.mover is not None:
                sim.lost_core_s[i] += sim.mover.forget(i)

    def on_arrival(self, clock: float, i: int) -> tuple | None:
        """Simulation's arrival: ``i`` and the arrivals right after it submitted (placed,
        queued or rejected: :meth:`submit`). Returns the next arrival's event (it waits
        beside the heap), or None."""
        # This arrival, then the next while they come before every other event and the
        # horizon: those need no event of their own. The clock reaches submit[i] by
        # adding a delay (SimPy's arithmetic); times recorded are the exact submit times.
        submit, state, queue, heap, squeue = self.submit_s, self.state, self.queue, self.heap, self.env._queue
        n, m, inline, deps, env = self.n, self.m, self.inline, self.deps, self.env
        tick, horizon = self.tick, self.horizon
        nowhere, too_big, end_s = self.nowhere, self.too_big, self.end_s  # (turning away a size that fits nowhere)
        book_cpu, book_mem = self.book_cpu, self.book_mem
        if inline:  # what the closed mode's written-out paths use, bound once: a call runs many events
            at_once, pick, told, resident, peak, busy_since, busy_s = (
                self.at_once, self.pick, self.told, self.resident, self.peak, self.busy_since, self.busy_s)
            booked_cpu, booked_mem, book_cpu, book_mem = self.booked_cpu, self.booked_mem, self.book_cpu, self.book_mem
            host_of, end_s, free_at_failure = self.host_of, self.end_s, self.free_at_failure
            duration, h_end, running, demand_sum, mem_sum = (self.duration, self.h_end, self.running,
                                                             self.demand_sum, self.mem_sum)
            run_cpu, run_mem, cpu_limit, mem_limit, overhead = (self.run_cpu, self.run_mem, self.cpu_limit,
                                                                self.mem_limit, self.overhead)
            placed_cpu_limit, mem_cap = self.placed_cpu_limit, self.mem_cap
            mem_capacity, down = self.mem_capacity, self.booked.down  # (note_no_host's rule's inputs)
            # no host: turned away here, unless it may wait (a queue, or a start slot: submit())
            turned_away = not self.queue_when_full and self.max_starts is None
            # the placement's own methods, bound once (told's attributes: a lookup a call otherwise)
            grew, shrank = (told.grew, told.shrank) if told is not None else (None, None)
        # the one-host fit test's limits: a host's change only with failures or drains,
        # which the fast lane does not run
        cpu_limit0, mem_cap0 = (placed_cpu_limit[0], mem_cap[0]) if inline and m == 1 else (None, None)
        now = submit[i]  # read once an arrival: carried from the test for the next
        while True:
            if inline and at_once[i] and not queue:  # (no dependencies in this mode)
                # the closed mode's placement, admission and start of an instance that
                # fits somewhere and runs at once, or its turning away, written out: the
                # hot path of loss and queueing studies (the same steps as submit(),
                # admit(), ready(), start() and reject(), for this mode only)
                if m == 1:  # the one-host Placer's fit test: rules.fits() written out (CPU limit −inf: blocked)
                    cpu, mem = booked_cpu[0] + book_cpu[i], booked_mem[0] + book_mem[i]
                    j = 0 if cpu <= cpu_limit0 and mem <= mem_cap0 else -1
                else:
                    j = pick(i)
                    if j >= 0:
                        cpu, mem = booked_cpu[j] + book_cpu[i], booked_mem[j] + book_mem[i]
                if j >= 0:
                    booked_cpu[j], booked_mem[j] = cpu, mem  # Bookings.book()'s sums, the same doubles
                    if grew is not None:
                        grew(j)
                    count = resident[j] = resident[j] + 1
                    if count == 1:
                        busy_since[j] = now
                    if count > peak[j]:
                        peak[j] = count
                    host_of[i] = j  # admitted and started at its arrival: ClosedLane.collect() writes those
                    _push(heap, (clock + duration[i], _URGENT, tick(), h_end, i))
                    state[i] = RUNNING
                    count = running[j] = running[j] + 1
                    cpu = demand_sum[j] = demand_sum[j] + run_cpu[i]
                    mem = mem_sum[j] = mem_sum[j] + run_mem[i]
                    # contended() and over_memory(), against limits computed once: the hot path
                    if cpu > cpu_limit[j] or mem + overhead * count > mem_limit[j]:
                        raise NeedsGeneral  # a rounding edge of the sums: not quite uncontended
                elif turned_away:  # note_no_host() and reject(), written out
                    # free_mem_gib's sums, written out for one host (an Erlang-B study rejects
                    # tens of thousands): the same double, 0.0 for a host that is down
                    free_at_failure[i] = ((0.0 if down[0] else mem_capacity[0] - booked_mem[0]) if m == 1
                                          else free_mem_gib(mem_capacity, booked_mem, down))
                    state[i] = REJECTED
                    end_s[i] = now
                else:
                    env._now = clock
                    self.submit(i, now, clock, j)
            elif deps is None or deps.arrive(i):  # else it waits for its parents (engine.dependencies)
                if nowhere is not None and (book_cpu[i], book_mem[i]) in nowhere and not too_big[i]:
                    # submit() of a size no host has room for: note_no_host() and reject()
                    self.note_no_host(i)
                    state[i] = REJECTED
                    end_s[i] = now
                else:
                    env._now = clock
                    self.submit(i, now, clock)
            i += 1
            if i >= n:
                break
            then = now
            now = submit[i]
            if now > then:
                t = clock + (now - clock)
                if t >= horizon or (squeue and t >= squeue[0][0]):
                    return (t, _NORMAL, tick(), None, i)  # not first: an event of its own
                if heap and heap[0][0] <= t:
                    if not inline or squeue or queue:
                        return (t, _NORMAL, tick(), None, i)
                    # The closed mode runs the ends due before it here, as on_end() would
                    # (its written-out path): no event of its own, no return to the loop
                    # and no handler call per end. Nothing else is scheduled meanwhile (no
                    # queue to drain), so its event, taken if anything else comes first,
                    # has the key it would have had now. Ends at t come first (URGENT).
                    while True:
                        top = _pop(heap)
                        ended, _, _, handler, e = top
                        if handler is not h_end or state[e] != RUNNING:
                            _push(heap, top)  # back: the heap pops the same events in the same order
                            return (t, _NORMAL, tick(), None, i)
                        j = host_of[e]
                        # stop() and release(), as in on_end()
                        count = running[j] = running[j] - 1
                        if count:
                            demand_sum[j] -= run_cpu[e]
                            mem_sum[j] -= run_mem[e]
                        else:
                            demand_sum[j] = mem_sum[j] = 0.0
                        count = resident[j] = resident[j] - 1
                        if count:
                            booked_cpu[j] -= book_cpu[e]
                            booked_mem[j] -= book_mem[e]
                        else:
                            booked_cpu[j] = booked_mem[j] = 0.0
                            busy_s[j] += ended - busy_since[j]
                        if shrank is not None:
                            shrank(j)
                        state[e] = COMPLETED
                        end_s[e] = ended
                        if not heap or heap[0][0] > t:
                            break
                # env.now is not read on the written-out paths: set where they call out
                clock = t
        env._now = clock
        return None

    def submit(self, i: int, now: float, clock: float, j: int | None = None) -> None:
        """``i`` asks for a host at ``now``: admitted where the policy places it, queued
        (FIFO: nobody overtakes a waiting request) or rejected; rejected at once if no
        host could hold it even empty. ``j``: the host placement already picked (-1:
        none), when the caller tried it."""
        state = self.state
        if j is None:
            if self.recommender is not None:  # its booking: the recommendation now
                self.sim._recommend(i, now)
                nowhere = bool(self.sim.fits_nowhere(self.book_cpu[i], self.book_mem[i]))
            else:
                nowhere = self.too_big[i]
            if nowhere:  # fits on no host, however empty: never queue it
                self.reject(i, now)
                return
            queue = self.queue
            while queue and state[queue[0]] != QUEUED:  # drop those who gave up
                queue.popleft()
            behind = bool(queue)
            j = -1 if behind else self.pick(i)  # FIFO: nobody may overtake a waiting request
        else:
            behind = False
        if j >= 0:
            self.admit(i, j, now, clock)
            return
        queues = self.queue_when_full
        # behind others in the queue, it does not know whether a host has room: no figure
        held = not (behind and queues) and self.held_by_starts(i)
        if not held and not (behind and queues):
            self.note_no_host(i)
        if queues or held:
            state[i] = QUEUED
            self.queue.append(i)
            if self.max_wait_s is not None:  # this wait's timer: a later wait has its own
                _push(self.heap, (clock + self.max_wait_s, _NORMAL, self.tick(), self.h_give_up, (i, self.epoch[i])))
        else:
            self.reject(i, now)

    def held_by_starts(self, i: int) -> bool:
        """Whether ``i``, for which placement found no host, was held back by the limit on
        concurrent starts alone: it fits beside the bookings of a host that is up (every
        such host then being at ``placement.max_concurrent_starts``). Such a request waits
        for a start slot, with ``when_full = "reject"`` too, and is no fragmentation: the
        limit paces starts, it does not refuse work (README: *Configuration*,
        ``placement.max_concurrent_starts``; OpenStack Nova's ``max_concurrent_builds``
        queues builds on its semaphore, ``nova/compute/manager.py``
        ``ComputeManager.build_and_run_instance``; Firecracker's rate limits delay, not refuse)."""
        if self.max_starts is None:
            return False
        cpu, mem, down = self.book_cpu[i], self.book_mem[i], self.booked.down
        booked_cpu, booked_mem, cpu_cap, mem_cap = self.booked_cpu, self.booked_mem, self.cpu_cap, self.mem_cap
        return any(not down[j] and fits(booked_cpu[j], booked_mem[j], cpu, mem, cpu_cap[j], mem_cap[j])
                   for j in range(self.m))

    def note_no_host(self, i: int) -> None:
        """Fragmentation: memory free on the hosts that take work when ``i`` found no host
        (:func:`~simdc.engine.rules.free_mem_gib`)."""
        self.free_at_failure[i] = free_mem_gib(self.mem_capacity, self.booked_mem, self.booked.down)

    def reject(self, i: int, now: float) -> None:
        """``i`` is turned away at ``now``."""
        self.state[i] = REJECTED
        self.end_s[i] = now
        services = self.services
        if services is not None and i >= services.first:
            services.changed(i)

    def turn_away(self, i: int, now: float) -> None:
        """Queued ``i`` leaves the queue at ``now`` without a host: rejected, or, placed
        before, ended as :meth:`requeued_as` says."""
        self.reject(i, now)
        if self.admit_s[i] == self.admit_s[i]:  # placed before: lost to a failure, or to a drain's restart
            self.state[i] = self.requeued_as(i)

    def on_ready(self, clock: float, value: tuple[int, int]) -> None:
        """``i``'s start (or its image pull: :meth:`Simulation._pull_started`) of the
        attempt of ``epoch`` is over: it runs on its host from ``clock`` (:meth:`ready`),
        unless it ended, or failed, while starting. A start slot on the host comes free."""
        i, epoch = value
        if self.state[i] == STARTING and self.epoch[i] == epoch:
            j = self.host_of[i]
            if self.touches:
                self.touch(j, clock)
            self.booked.started(j)
            self.ready(i, j, clock, clock)
            if self.max_starts is not None and self.queue:
                self.drain(clock, clock)  # a start slot on this host came free

    def requeued_as(self, i: int) -> int:
        """The outcome of ``i``, placed before and submitted again, that never ran again:
        ``EVICTED`` when a move's restart requeued it last (after any failure), else
        ``FAILED`` (a failure's victim). The one rule, whatever ends its wait: refused at
        its new submission, given up, its planned end, or removed by its service's
        controller (README: *Outputs*, ``evicted`` and ``failed``)."""
        mover = self.sim.mover
        if mover is not None and i in mover.evicted:
            return EVICTED
        return FAILED if self.sim.failure_kills[i] else EVICTED

    def on_give_up(self, clock: float, value: tuple[int, int]) -> None:
        """``i`` waited ``max_wait_s`` in the queue (this wait: ``epoch``, as it was queued)."""
        i, epoch = value
        if self.state[i] == QUEUED and self.epoch[i] == epoch:
            self.turn_away(i, clock)
            queue = self.queue
            if queue and queue[0] == i:
                self.drain(clock, clock)  # the head left: the next may fit

    def on_restart(self, clock: float, value: tuple[int, int]) -> None:
        """``i`` starts again after its back-off (the attempt of ``epoch``)."""
        i, epoch = value
        if self.state[i] == BACKOFF and self.epoch[i] == epoch:
            self.restarts[i] += 1  # a later start: a new draw of its start (Simulation.start_time), never free
            self.relaunch(i, clock)

    def relaunch(self, i: int, clock: float) -> None:
        """``i`` starts again on its host at ``clock``."""
        j = self.host_of[i]
        if self.touches:
            self.touch(j, clock)
        self.launch(i, j, clock, clock)

    def on_usage_step(self, clock: float, value: None) -> None:
        """New usage for every running instance (:meth:`step`), every ``usage.step_s``."""
        self.step(clock)
        step_s = self.usage.step_s
        if clock + step_s < self.horizon:
            _push(self.heap, (clock + step_s, _NORMAL, self.tick(), self.h_step, None))

    def on_sample(self, clock: float, value: None) -> None:
        """One timeseries row per host (:meth:`sample`), every ``sample_every_s``."""
        self.sample(clock)
        if self.progress is not None:
            self.progress(clock)
        if clock + self.sample_every_s < self.horizon:
            _push(self.heap, (clock + self.sample_every_s, _NORMAL, self.tick(), self.h_sample, None))

    def sample(self, clock: float) -> None:
        """Simulation._sample: the hosts' figures now, into the timeseries."""
        if self.sums is not None:
            self.sums()
        overhead = self.overhead
        self.sim.timeseries.add(clock, self.resident, self.running, map(operator.add, self.demand_sum, self.clip_sum),
                                map(min, self.demand_sum, self.cores),
                                [used + overhead * count + b
                                 for used, count, b in zip(self.mem_sum, self.running, self.base)],
                                [booked + b for booked, b in zip(self.booked_mem, self.base)], self.no_swap)

    def run(self) -> None:
        """The event loop (:func:`~simdc.engine.simulation.run_events`) to the horizon,
        then the integrals up to it."""
        heap, tick = self.heap, self.tick
        # The next arrival waits beside the heap, not in it: one comparison instead of a
        # push and a pop per arrival (its key is the one the general engine would give it).
        arrival = (self.submit_s[0], _NORMAL, tick(), None, 0) if self.n else None
        _push(heap, (0.0, _NORMAL, tick(), self.h_sample, None))
        if self.usage.step_s is not None:
            _push(heap, (self.usage.step_s, _NORMAL, tick(), self.h_step, None))
        self.begin()
        paused = self.pauses_collector and gc.isenabled()
        if paused:
            gc.disable()
        try:
            run_events(self.sim.env, heap, self.horizon, arrival, self.on_arrival, self.ends())
        finally:
            if paused:
                gc.enable()
        self.collect(self.horizon)
        # the timers left and the bound handlers refer to the lane: let it go when dropped
        heap.clear()
        self.h_end = self.h_ready = self.h_give_up = self.h_sample = self.h_step = self.h_restart = None


class GeneralLane(Lane):
    """The general engine's mode: hosts' running sets in :class:`HostState` slots (batch
    work, interference, VM memory reclaim, OOM kills and restarts, memory limits), image
    pulls, failures, moves, services, dependencies, the recommender and the meter. The
    handlers are the lane's; what this mode does at each step (place, admit, start,
    running from its start, off its host, a usage step, a sample) is the
    :class:`Simulation`'s methods, which schedule on the same heap
    (:meth:`Simulation.run`)."""

    # the simulation's per-host and per-instance state the per-event paths read, bound
    # once (an attribute of the simulation is a lookup more at every event)
    __slots__ = ("hosts", "needs", "caches", "stay_s", "resident_s", "pull_s", "unpack_s", "first_boot_s",
                 "copy_gib", "mover", "run_on")

    arrays = True  # note_no_host reads them
    pauses_collector = False  # SimPy processes and pulls make cycles (Lane.pauses_collector)

    def __init__(self, sim: FastLane) -> None:
        super().__init__(sim)
        self.hosts, self.needs, self.caches, self.mover = sim.hosts, sim.needs, sim.caches, sim.mover
        self.stay_s, self.resident_s, self.copy_gib = sim.stay_s, sim.resident_s, sim.copy_gib
        self.pull_s, self.unpack_s, self.first_boot_s = sim.pull_s, sim.unpack_s, sim.first_boot_s
        self.run_on = sim._run_on

    def begin(self) -> None:
        sim = self.sim
        if sim.faults.active:
            sim._plan_failures()
        if sim.recommender is not None:
            sim._after(0.0, sim._on_observe, None)
        if sim.meter is not None:
            sim.meter.start()
        if sim.mover is not None:
            sim.mover.start()
        if sim.services is not None:
            sim.services.start()

    def book(self, i: int, j: int, now: float) -> None:
        self.hosts[j].book(now, self.book_cpu[i], self.book_mem[i])
        needs = self.needs[i]
        if needs:  # the image stays on the host while the instance does
            self.caches[j].pin(needs)
        self.stay_s[i] = now

    def take_off(self, i: int, j: int, now: float, lost: bool = False) -> None:
        """:meth:`Lane.take_off`; a starting instance's image pull stops serving it first
        (:meth:`Simulation._pull_off`, the one rule)."""
        if self.state[i] == STARTING:
            self.sim._pull_off(i, now)
        super().take_off(i, j, now, lost)

    def release(self, i: int, j: int, now: float) -> None:
        mover = self.mover
        if mover is not None and i in mover.moving:  # gone before its move's switch
            mover.left(i, now)
        self.let_go(i, j, now)

    def let_go(self, i: int, j: int, now: float) -> None:
        """``i`` leaves host ``j`` at ``now``: its booking goes, its time resident there
        is counted, and its image's layers are no longer pinned there. The one place for
        this, for an instance that ends and for one a move takes off its source
        (:meth:`simdc.engine.migration.Mover._off`)."""
        self.hosts[j].release(now, self.book_cpu[i], self.book_mem[i])
        self.resident_s[i] += now - self.stay_s[i]
        needs = self.needs[i]
        if needs:
            self.caches[j].unpin(needs)

    def note_no_host(self, i: int) -> None:
        self.free_at_failure[i] = self.sim.booked_arrays.free_mem_gib(self.sim.mem_capacities)

    def ends(self) -> tuple:
        return self.h_end, self.sim._on_finish  # a lifetime over; batch work done (Simulation._on_finish)

    def collect(self, now: float) -> None:
        self.sim._collect_running()

    def start_delay(self, i: int, j: int) -> float | None:
        """Seconds until ``i``, starting on host ``j``, runs: booting or starting; None
        when layers of its image are missing, which a pull (:meth:`Simulation._pull`)
        fetches first, or when the VM copies its disk (:meth:`Simulation._copy`, at its
        share of the host's disk: :meth:`Simulation._write`), and which then starts it."""
        needs = self.needs[i]
        if needs:
            cache = self.caches[j]
            if not cache.use(needs):
                self.sim._pull(i, self.hosts[j], cache)
                return None
        if self.copy_gib[i]:
            self.sim._copy(i, self.hosts[j])
            return None
        start_s = self.sim.start_time(i)
        pull_s = self.pull_s
        if pull_s[i] != pull_s[i]:  # NaN: not started before, the first start's phases
            pull_s[i], self.unpack_s[i], self.first_boot_s[i] = 0.0, 0.0, start_s
        return start_s

    def start(self, i: int, j: int, now: float, clock: float) -> None:
        self.run_on(i, self.hosts[j], now)

    def stop(self, i: int, j: int, now: float) -> None:
        sim = self.sim
        host = sim.hosts[j]
        sim._stop(i, host, now)
        host.rebalance(now)
        sim._schedule_finish(host, now)

    def step(self, now: float) -> None:
        self.sim._usage_step(now)

    def over_memory(self, j: int) -> bool:
        return self.sim.hosts[j].over_memory()

    def members_mem(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        host = self.sim.hosts[j]
        return host.inst_array(), host.mem_array()

    def attempt_started(self, i: int) -> float:
        return self.sim.attempt_s[i]

    def remove(self, i: int, j: int, now: float) -> None:
        sim = self.sim
        sim._stop(i, sim.hosts[j], now)

    def sample(self, clock: float) -> None:
        self.sim._sample(clock)


class ClosedLane(Lane):
    """The closed mode: constant usage, no host ever contended; every integral has a
    closed form, taken at the end (:meth:`FastLane._integrate`), so nothing is kept per
    running instance but the hosts' sums."""

    __slots__ = (
        "inline", "run_cpu", "run_mem", "at_once"
    )

    def __init__(self, sim: FastLane) -> None:
        super().__init__(sim)
        # the usage cap but for the machine's cores, which start() and stop() apply
        upper, capped = sim.capped_upper
        if upper[0] is self.usage.cpu and upper[1] is self.usage.mem:  # constant: bounded() capped these
            run_cpu, _, run_mem = capped
        else:
            run_cpu, _, run_mem = capped_usage(self.usage.cpu, self.usage.mem, None, sim.fp.cpu_cap, sim.fp.mem_cap)
        sim.closed_usage = run_cpu, run_mem  # for the integrals at the end (FastLane._integrate)
        # within every machine's cores, so the inlined paths need not cap it
        self.inline = bool(np.all(run_cpu <= min(self.cores)))
        self.run_cpu, self.run_mem = run_cpu.tolist(), run_mem.tolist()
        # what on_arrival() places and starts on its written-out path: fits some host
        # empty (else turned away by submit()) and runs at once (else starting)
        fp = sim.fp
        # (with a creation rate, every start waits for its turn: none runs at once)
        self.at_once = _as_list(~sim.too_big & (fp.start_s <= 0) & (sim.create_gap_s is None))

    def start(self, i: int, j: int, now: float, clock: float) -> None:
        running, demand_sum, mem_sum, cores = self.running, self.demand_sum, self.mem_sum, self.cores
        running[j] += 1
        cpu, _, mem = capped_usage(self.run_cpu[i], self.run_mem[i], cores[j], _UNCAPPED, _UNCAPPED)
        demand_sum[j] += cpu
        mem_sum[j] += mem
        if contended(demand_sum[j], cores[j]) or over_memory(mem_sum[j], self.overhead, running[j],
                                                             self.allocatable[j]):
            raise NeedsGeneral  # a rounding edge of the sums: not quite uncontended

    def collect(self, now: float) -> None:
        # The times on_arrival()'s written-out path leaves unwritten: an instance it
        # placed and started at once (no other path leaves a placed instance's admission
        # NaN) was admitted, started and first started at its submission.
        sim = self.sim
        admit_s, ready_s, first_ready_s = (np.frombuffer(sim.admit_s), np.frombuffer(sim.ready_s),
                                           np.frombuffer(sim.first_ready_s))
        at_arrival = np.flatnonzero((np.frombuffer(sim.host_of, np.int64) >= 0) & np.isnan(admit_s))
        admit_s[at_arrival] = ready_s[at_arrival] = first_ready_s[at_arrival] = \
            sim.inputs["submit_s"].to_numpy(float)[at_arrival]

    def stop(self, i: int, j: int, now: float) -> None:
        running = self.running
        running[j] -= 1
        if running[j]:
            cpu, _, mem = capped_usage(self.run_cpu[i], self.run_mem[i], self.cores[j], _UNCAPPED, _UNCAPPED)
            self.demand_sum[j] -= cpu
            self.mem_sum[j] -= mem
        else:  # forget accumulated rounding error
            self.demand_sum[j] = self.mem_sum[j] = 0.0

    def admit(self, i: int, j: int, now: float, clock: float) -> None:
        """:meth:`Lane.admit`, with :meth:`book`, :meth:`launch`, :meth:`ready` and
        :meth:`start` written out for an instance that runs at once (as :meth:`on_arrival`
        writes them out): a queue's admissions in loss and queueing studies."""
        # (no kill nor failure here: every admission is a first start, of its drawn start_s)
        if not self.inline or self.start_s[i] > 0 or self.create_gap_s is not None:
            Lane.admit(self, i, j, now, clock)
            return
        booked_cpu, booked_mem = self.booked_cpu, self.booked_mem
        booked_cpu[j] += self.book_cpu[i]
        booked_mem[j] += self.book_mem[i]
        if self.told is not None:
            self.told.grew(j)
        resident = self.resident
        count = resident[j] = resident[j] + 1
        if count == 1:
            self.busy_since[j] = now
        if count > self.peak[j]:
            self.peak[j] = count
        self.host_of[i] = j
        self.admit_s[i] = self.ready_s[i] = self.first_ready_s[i] = now
        _push(self.heap, (clock + self.duration[i], _URGENT, self.tick(), self.h_end, i))
        self.state[i] = RUNNING
        running = self.running
        running[j] += 1
        demand_sum, mem_sum = self.demand_sum, self.mem_sum
        demand_sum[j] += self.run_cpu[i]
        mem_sum[j] += self.run_mem[i]
        # contended() and over_memory(), against limits computed once: the hot path
        if demand_sum[j] > self.cpu_limit[j] or mem_sum[j] + self.overhead * running[j] > self.mem_limit[j]:
            raise NeedsGeneral  # a rounding edge of the sums: not quite uncontended


class _VaryingLane(Lane):
    """What the bounded and tracked modes share: per-instance integrals kept as the run goes."""

    __slots__ = (
        "vm", "cpu_acc", "unmet_acc", "mem_acc", "run_acc", "weight", "cpu_cap_i", "mem_cap_i",
        "cpu_cap_list", "mem_cap_list", "cores_np", "allocatable_np"
    )

    def __init__(self, sim: FastLane) -> None:
        super().__init__(sim)
        n = self.n
        self.vm = sim.vm
        # Per workload row, over all its attempts: CPU demanded and unmet, memory used
        # (core-s, GiB-s) and time run (s); the tables' columns at the end.
        self.cpu_acc, self.unmet_acc, self.mem_acc, self.run_acc = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
        sim.cpu_acc, sim.unmet_acc, sim.mem_acc, sim.run_acc = self.cpu_acc, self.unmet_acc, self.mem_acc, self.run_acc
        self.weight, self.cpu_cap_i, self.mem_cap_i = sim.fp.weight, sim.fp.cpu_cap, sim.fp.mem_cap
        self.cpu_cap_list, self.mem_cap_list = sim.cpu_cap, sim.mem_cap  # the same, for single elements
        self.cores_np, self.allocatable_np = np.array(self.cores), np.array(self.allocatable)


class BoundedLane(_VaryingLane):
    """The bounded mode: no host can be contended or short of memory, so shares are
    demands and nothing need be checked; a new instance's first usage waits for the next
    batch (the next step or sample), or is drawn alone if it ends before."""

    __slots__ = (
        "clip", "live", "pending", "fresh", "cur", "alloc", "foot", "since", "started_at", "host_np"
    )

    def __init__(self, sim: FastLane) -> None:
        super().__init__(sim)
        n = self.n
        self.cur, self.alloc, self.foot = np.zeros(n), np.zeros(n), np.zeros(n)  # foot: GiB used
        self.clip = np.zeros(n)  # demand above the ceiling: demand, and unmet
        self.since, self.started_at, self.host_np = np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64)
        self.live = np.zeros(n, dtype=bool)
        self.pending: list[int] = []
        self.fresh = [False] * n

    def everyone(self) -> np.ndarray:
        """The running instances."""
        return np.flatnonzero(self.live)

    def flush(self) -> None:
        """The first usage of the instances started since the last batch."""
        fresh, pending = self.fresh, self.pending
        inst = np.array([i for i in pending if fresh[i]], dtype=np.int64)
        pending.clear()
        if not len(inst):
            return
        for i in inst.tolist():
            fresh[i] = False
        cpu, self.clip[inst], self.foot[inst] = capped_usage(
            *self.usage.at_start(inst, self.started_at[inst]), self.cores_np[self.host_np[inst]],
            self.cpu_cap_i[inst], self.mem_cap_i[inst])
        self.cur[inst] = self.alloc[inst] = cpu

    def start(self, i: int, j: int, now: float, clock: float) -> None:
        self.running[j] += 1
        self.since[i] = self.started_at[i] = now
        self.host_np[i] = j
        self.live[i] = self.fresh[i] = True
        self.pending.append(i)

    def stop(self, i: int, j: int, now: float) -> None:
        self.running[j] -= 1
        cur, clip, foot = self.cur, self.clip, self.foot
        if self.fresh[i]:  # ends before its first usage was drawn: draw it alone
            self.fresh[i] = False
            cpu, clip[i], foot[i] = capped_usage(*self.usage.at_one(i, 0.0, self.started_at[i]), self.cores[j],
                                                 self.cpu_cap_i[i], self.mem_cap_i[i])
            cur[i] = self.alloc[i] = cpu
        dt = now - self.since[i]
        self.cpu_acc[i] += (cur[i] + clip[i]) * dt
        self.unmet_acc[i] += clip[i] * dt
        self.mem_acc[i] += foot[i] * dt
        self.run_acc[i] += now - self.started_at[i]
        self.live[i] = False

    def step(self, now: float) -> None:
        self.flush()
        cur, clip, foot, since, started_at = self.cur, self.clip, self.foot, self.since, self.started_at
        inst = self.everyone()
        dt = now - since[inst]
        self.cpu_acc[inst] += (cur[inst] + clip[inst]) * dt
        self.unmet_acc[inst] += clip[inst] * dt
        self.mem_acc[inst] += foot[inst] * dt
        since[inst] = now
        cpu, clip[inst], mem = capped_usage(*self.usage.at(inst, now - started_at[inst], now),
                                            self.cores_np[self.host_np[inst]], self.cpu_cap_i[inst],
                                            self.mem_cap_i[inst])
        cur[inst] = self.alloc[inst] = cpu
        foot[inst] = np.maximum(foot[inst], mem) if self.vm else mem  # a guest keeps what it touched

    def sums(self) -> None:
        """The hosts' sums from the running instances (they lag between batches)."""
        self.flush()
        inst, m = self.everyone(), self.m
        host = self.host_np[inst]
        self.demand_sum[:] = np.bincount(host, self.cur[inst], m).tolist()
        self.clip_sum[:] = np.bincount(host, self.clip[inst], m).tolist()
        self.mem_sum[:] = np.bincount(host, self.foot[inst], m).tolist()

    def collect(self, now: float) -> None:
        """At the horizon: the running instances' integrals."""
        self.sums()
        inst = self.everyone()
        dt = now - self.since[inst]
        cur, clip = self.cur[inst], self.clip[inst]
        self.run_acc[inst] += now - self.started_at[inst]
        self.cpu_acc[inst] += (cur + clip) * dt
        self.unmet_acc[inst] += (cur - self.alloc[inst] + clip) * dt
        self.mem_acc[inst] += self.foot[inst] * dt


class TrackedLane(_VaryingLane):
    """The tracked mode: usage that may exceed the bookings; a host over its cores shares
    them out and a container host over its memory runs the OOM killer.

    Running instances sit in slots: parallel arrays, one slot per running attempt, in the
    order they started, so a usage step works on the contiguous [0, k) (no search for who
    runs, no gathers from per-row arrays). A stop leaves a hole (instance -1) that the next
    step, or a full table, closes by compaction. The slot's integrals start from the
    instance's own (0 unless it restarts) and go back to it at its stop, so every sum is
    taken in the order the general engine takes it. Events read and write single slots
    through memoryviews: twice as fast as numpy scalars, and Python floats come out, so
    the hosts' sums stay plain floats. Each host also lists its running instances
    (swap-remove), in the general engine's slot order, which its OOM order and CPU shares
    follow.
    """

    __slots__ = (
        "start_usage", "room", "k", "s_clip", "columns", "kept_at_step", "slot", "v_slot", "members", "pos",
        "sharing", "capped_cpu", "capped_mem", "s_inst", "s_host", "s_cur", "s_alloc", "s_foot",
        "s_since", "s_started", "s_cpu", "s_unmet", "s_mem", "v_inst", "v_host", "v_cur", "v_alloc", "v_foot",
        "v_since", "v_started", "v_cpu", "v_unmet", "v_mem", "v_clip", "v_cpu_acc", "v_unmet_acc",
        "v_mem_acc", "v_run_acc", "last_t", "stranded"
    )

    def __init__(self, sim: FastLane) -> None:
        super().__init__(sim)
        n, m = self.n, self.m
        self.capped_cpu = bool(np.isfinite(self.cpu_cap_i).any())
        self.capped_mem = bool(np.isfinite(self.mem_cap_i).any())
        self.start_usage = self.usage.start_usage()
        self.room = room = 2 * n + 16  # slots: at most n live, so a compaction frees n + 16 or more
        self.k = 0  # slots in use (live or holes)
        self.s_inst, self.s_host = np.zeros(room, dtype=np.int64), np.zeros(room, dtype=np.int64)
        # demand, share, GiB used
        self.s_cur, self.s_alloc, self.s_foot = np.zeros(room), np.zeros(room), np.zeros(room)
        self.s_clip = np.zeros(room)  # demand above the ceiling
        self.s_since, self.s_started = np.zeros(room), np.zeros(room)  # integrals settled up to; attempt's start
        self.s_cpu, self.s_unmet, self.s_mem = np.zeros(room), np.zeros(room), np.zeros(room)  # integrals; 0 past k
        self.columns = (self.s_inst, self.s_host, self.s_cur, self.s_alloc, self.s_foot, self.s_since, self.s_started,
                        self.s_cpu, self.s_unmet, self.s_mem, self.s_clip)
        # what a usage step keeps of a slot (a VM keeps its high-water mark of memory)
        self.kept_at_step = ((self.s_inst, self.s_host, self.s_started, self.s_cpu, self.s_unmet, self.s_mem)
                             + ((self.s_foot,) if self.vm else ()))
        self.slot = np.zeros(n, dtype=np.int64)  # a running instance's slot
        (self.v_inst, self.v_host, self.v_cur, self.v_alloc, self.v_foot, self.v_since, self.v_started,
         self.v_cpu, self.v_unmet, self.v_mem, self.v_clip) = map(memoryview, self.columns)
        self.v_slot = memoryview(self.slot)
        self.v_cpu_acc, self.v_unmet_acc, self.v_mem_acc, self.v_run_acc = map(
            memoryview, (self.cpu_acc, self.unmet_acc, self.mem_acc, self.run_acc))
        self.members: list[list[int]] = [[] for _ in range(m)]
        self.pos = [0] * n
        self.sharing = [False] * m  # hosts contended now: their cores shared out
        self.last_t, self.stranded = [0.0] * m, [0.0] * m
        sim.stranded = self.stranded

    def compact(self, moved: tuple[np.ndarray, ...] | None = None) -> None:
        """Close the holes: live slots to the front, in order; fresh slots at 0.
        Only the ``moved`` columns follow (a usage step rewrites the others); all by default."""
        k, s_inst = self.k, self.s_inst
        keep = np.flatnonzero(s_inst[:k] >= 0)
        kept = len(keep)
        if kept < k:
            for column in (self.columns if moved is None else moved):
                column[:kept] = column[keep]
            self.slot[s_inst[:kept]] = np.arange(kept)
            self.s_cpu[kept:k] = self.s_unmet[kept:k] = self.s_mem[kept:k] = 0.0
            self.k = kept

    def slots_of(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Host ``j``'s running instances and their slots, in its order."""
        inst = np.array(self.members[j], dtype=np.int64)
        return inst, self.slot[inst]

    touches = True

    def touch(self, j: int, now: float) -> None:
        """Before any change on host ``j`` at ``now`` (each event calls it once): its
        memory booked but unused until then (up to what the host has; use beyond the
        booking strands nothing). Every other host integral follows from the
        instances' own, at the end."""
        last_t = self.last_t
        dt = now - last_t[j]
        if dt > 0:
            last_t[j] = now
            left = stranded_gib(self.booked_mem[j], self.allocatable[j],
                                self.mem_sum[j] + self.overhead * self.running[j])
            if left > 0:
                self.stranded[j] += left * dt

    def settle_host(self, j: int, now: float) -> None:
        """HostState.settle: every member's integrals up to ``now``."""
        _, at = self.slots_of(j)
        s_cur, s_since = self.s_cur, self.s_since
        dt = now - s_since[at]
        clip = self.s_clip[at]
        self.s_cpu[at] += (s_cur[at] + clip) * dt
        if self.sharing[j]:
            self.s_unmet[at] += (s_cur[at] - self.s_alloc[at] + clip) * dt
        else:
            self.s_unmet[at] += clip * dt
        self.s_mem[at] += self.s_foot[at] * dt
        s_since[at] = now

    def pressure(self, j: int, now: float, clock: float) -> bool:
        """Simulation._settle_host's memory part: the OOM killer on a container host
        over its memory (True if it freed a booking); a VM host would reclaim."""
        if not self.over_memory(j):
            return False
        if self.vm:
            raise NeedsGeneral  # KSM, balloon, swap: the general engine's
        return self.oom(j, now, clock)

    def over_memory(self, j: int) -> bool:
        return over_memory(self.mem_sum[j], self.overhead, self.running[j], self.allocatable[j])

    def members_mem(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        inst, at = self.slots_of(j)
        return inst, self.s_foot[at]

    def attempt_started(self, i: int) -> float:
        return self.v_started[self.v_slot[i]]

    def share(self, j: int, now: float) -> None:
        """HostState.rebalance's CPU part: weighted max-min shares when over the cores."""
        sharing = self.sharing
        now_contended = contended(self.demand_sum[j], self.cores[j])
        if now_contended and not sharing[j]:
            self.settle_host(j, now)  # until now everyone had its full share
        if now_contended or sharing[j]:
            inst, at = self.slots_of(j)
            s_cur = self.s_cur
            self.s_alloc[at] = water_fill(s_cur[at], self.weight[inst], self.cores[j]) if now_contended else s_cur[at]
        sharing[j] = now_contended

    # start and remove are the hot path (once per start and stop): the checks of pressure
    # and share are inlined, the rest reads single slots.
    def start(self, i: int, j: int, now: float, clock: float) -> None:
        running, sharing = self.running, self.sharing
        running[j] += 1
        if sharing[j]:
            self.settle_host(j, now)
        cpu, clip, mem = capped_usage(*self.start_usage(i, now), self.cores[j], self.cpu_cap_list[i],
                                      self.mem_cap_list[i])
        if self.k == self.room:
            self.compact()
        s = self.k
        self.k = s + 1
        self.v_inst[s], self.v_host[s] = i, j
        self.v_cur[s] = self.v_alloc[s] = cpu
        self.v_clip[s] = clip
        self.v_foot[s] = mem
        self.v_since[s] = self.v_started[s] = now
        if self.kills[i]:  # a restart: the integrals go on from the instance's
            self.v_cpu[s], self.v_unmet[s], self.v_mem[s] = self.v_cpu_acc[i], self.v_unmet_acc[i], self.v_mem_acc[i]
        self.v_slot[i] = s
        group = self.members[j]
        self.pos[i] = len(group)
        group.append(i)
        demand_sum, mem_sum = self.demand_sum, self.mem_sum
        demand_sum[j] += cpu
        self.clip_sum[j] += clip
        mem_sum[j] += mem
        # over_memory() and contended() against the limits: once per start
        freed = (self.pressure(j, now, clock) if mem_sum[j] + self.overhead * running[j] > self.mem_limit[j]
                 else False)
        if sharing[j] or demand_sum[j] > self.cpu_limit[j]:
            self.share(j, now)
        if freed and self.queue:
            self.drain(now, clock)

    def remove(self, i: int, j: int, now: float) -> None:
        """HostState.remove and Simulation._account: out of the running set, with its integrals."""
        self.running[j] -= 1
        s = self.v_slot[i]
        v_cpu, v_mem, v_unmet, v_clip, v_cur, v_foot = (self.v_cpu, self.v_mem, self.v_unmet, self.v_clip,
                                                        self.v_cur, self.v_foot)
        if self.sharing[j]:
            self.settle_host(j, now)
            self.v_cpu_acc[i], self.v_mem_acc[i] = v_cpu[s], v_mem[s]
            self.v_unmet_acc[i] = v_unmet[s]
        else:
            dt = now - self.v_since[s]
            clip = v_clip[s]
            self.v_cpu_acc[i] = v_cpu[s] + (v_cur[s] + clip) * dt
            self.v_mem_acc[i] = v_mem[s] + v_foot[s] * dt
            self.v_unmet_acc[i] = v_unmet[s] + clip * dt
        self.v_run_acc[i] += now - self.v_started[s]
        self.v_inst[s] = -1  # a hole until the next compaction
        group, pos = self.members[j], self.pos
        last = group.pop()
        if last != i:
            p = pos[i]
            group[p] = last
            pos[last] = p
        if group:
            self.demand_sum[j] -= v_cur[s]
            self.clip_sum[j] -= v_clip[s]
            self.mem_sum[j] -= v_foot[s]
        else:  # forget accumulated rounding error
            self.demand_sum[j] = self.clip_sum[j] = self.mem_sum[j] = 0.0

    def stop(self, i: int, j: int, now: float) -> None:
        self.remove(i, j, now)
        if self.sharing[j] or self.demand_sum[j] > self.cpu_limit[j]:  # contended(), against the limit
            self.share(j, now)

    def step(self, now: float) -> None:
        """Simulation._on_usage_step: everyone's integrals, then new usage and shares."""
        m, touch = self.m, self.touch
        for j in range(m):
            touch(j, now)
        # the integrals up to now, holes too (they go), then the live slots to the front
        k = self.k
        dt = now - self.s_since[:k]
        cur, alloc, foot, clip = self.s_cur[:k], self.s_alloc[:k], self.s_foot[:k], self.s_clip[:k]
        self.s_cpu[:k] += (cur + clip) * dt
        self.s_unmet[:k] += (cur - alloc + clip) * dt  # cur - alloc: 0 on uncontended hosts
        self.s_mem[:k] += foot * dt
        self.compact(self.kept_at_step)
        live = self.k
        if not live:
            return
        cur, alloc, foot = self.s_cur[:live], self.s_alloc[:live], self.s_foot[:live]
        self.s_since[:live] = now
        inst, where = self.s_inst[:live], self.s_host[:live]
        cpu, mem = self.usage.at(inst, now - self.s_started[:live], now)
        # an infinite cap changes nothing: skipped
        cpu, clip, mem = capped_usage(cpu, mem, self.cores_np[where],
                                      self.cpu_cap_i[inst] if self.capped_cpu else None,
                                      self.mem_cap_i[inst] if self.capped_mem else None)
        cur[:] = alloc[:] = cpu
        self.s_clip[:live] = clip
        self.clip_sum[:] = np.bincount(where, self.s_clip[:live], m).tolist()
        foot[:] = np.maximum(foot, mem) if self.vm else mem  # a guest keeps what it touched
        self.demand_sum[:] = np.bincount(where, cpu, m).tolist()
        self.mem_sum[:] = np.bincount(where, foot, m).tolist()
        over = over_memory(np.array(self.mem_sum), self.overhead, np.array(self.running), self.allocatable_np)
        for j in np.flatnonzero(over).tolist():
            if self.pressure(j, now, now) and self.queue:
                # the general engine drains the queue between hosts' updates: its order
                raise NeedsGeneral
        over = contended(np.array(self.demand_sum), self.cores_np)
        for j in np.flatnonzero(over).tolist():
            inst, at = self.slots_of(j)
            self.s_alloc[at] = water_fill(self.s_cur[at], self.weight[inst], self.cores[j])
        self.sharing[:] = over.tolist()

    def collect(self, now: float) -> None:
        """At the horizon: the hosts' stranded memory, the running instances' integrals."""
        for j in range(self.m):
            self.touch(j, now)
        self.compact()
        live = self.k
        inst, cur, dt = self.s_inst[:live], self.s_cur[:live], now - self.s_since[:live]
        clip = self.s_clip[:live]
        self.run_acc[inst] += now - self.s_started[:live]
        self.cpu_acc[inst] = self.s_cpu[:live] + (cur + clip) * dt
        self.unmet_acc[inst] = self.s_unmet[:live] + (cur - self.s_alloc[:live] + clip) * dt
        self.mem_acc[inst] = self.s_mem[:live] + self.s_foot[:live] * dt


_LANES = {"closed": ClosedLane, "bounded": BoundedLane, "tracked": TrackedLane}  # by FastLane.mode
