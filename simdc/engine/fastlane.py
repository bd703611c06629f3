"""The fast lane: the general engine's run, for the runs that need only part of it.

The general engine (:mod:`simdc.engine.simulation`) models everything: image pulls that
wait on several things, batch work under processor sharing, OOM kills and restarts,
VM memory reclaim, interference, failures. Most capacity studies need only bookings,
usage, CPU contention and the OOM killer; for them this lane runs the general engine's
events in the general engine's order on a bare ``heapq`` loop, with hosts' bookings in
lists and the running instances' usage, shares and integrals in arrays updated
fleet-wide once per usage step. Three modes, by what the inputs allow:

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
  shares them out (weighted max-min, :func:`~simdc.engine.cpu.water_fill`) at every
  change, and a container host over its memory runs the OOM killer, with back-off
  restarts, as in the general engine.

The model's rules are not restated here: the fit test, the usage cap, contention and
memory pressure, the OOM victims, the back-off and energy come from
:mod:`simdc.engine.rules` (the tests run at every event compare with limits that
:func:`~simdc.engine.rules.limit` computes once), first fit's caches from
:mod:`simdc.engine.first_fit`. Events go to handlers named after the general engine's
(``on_arrival``, ``on_ready``, ``on_end``, ``on_give_up``, ``on_restart``,
``on_usage_step``, ``on_sample``).

Decisions and times match the general engine's exactly; usage figures to 1e-12 (sums in
another order). A VM host that would have to reclaim memory raises
:class:`NeedsGeneral`, and :func:`~simdc.engine.runner.run_platform` runs it again in the
general engine. Batch work, image pulls, interference, failures, memory limits and
admission by the recommender go there from the start (:meth:`FastLane.applies`).
"""

from __future__ import annotations

import heapq
import itertools
import operator

import numpy as np

from simdc.engine.cpu import water_fill
from simdc.engine.first_fit import FirstFit, few_sizes
from simdc.engine.rules import (backoff, capped_usage, contended, energy_j, fits, limit, oom_victims,
                                over_memory)
from simdc.engine.simulation import (
    BACKOFF,
    COMPLETED,
    KILLED,
    QUEUED,
    REJECTED,
    RUNNING,
    STARTING,
    PlatformRun,
    Simulation,
    as_array,
)
from simdc.metrics import stays_peak
from simdc.placement import Fleet, first_fit

# event kinds; at one instant ends come first (URGENT in the general engine), then the
# rest in the order they were scheduled
_END, _ARRIVAL, _READY, _GIVE_UP, _SAMPLE, _USAGE_STEP, _RESTART = range(7)
_URGENT, _NORMAL = 0, 1  # SimPy's priorities


class NeedsGeneral(Exception):
    """The run met something only the general engine models (VM memory reclaim)."""


class FastLane(Simulation):
    """A :class:`Simulation` that can also run the fast lane (module docstring):
    :meth:`run` is the general engine, :meth:`run_fast` the lane, when :meth:`applies`."""

    def applies(self) -> bool:
        """Whether the run needs nothing the lane lacks, judged from the inputs."""
        if any(self.batch) or any(self.needs) or self.faults.active or self.has_limits:
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
        return not ((host.k_membw > 0 and any(self.membw)) or (host.k_io > 0 and any(self.io)))

    def bounded(self) -> bool:
        """Whether no host can ever be contended or short of memory: every instance's
        usage at its most (capped by its vCPUs, limit or size) within its booking, and
        the bookings within the hosts (no overcommit)."""
        fp = self.fp
        if any(contended(h.cpu_cap, h.cores) or over_memory(h.mem_cap, 0.0, 0, h.allocatable) for h in self.hosts):
            return False  # overcommit: bookings may exceed the machine
        cpu, _, mem = capped_usage(*self.usage.upper(), None, fp.cpu_cap, fp.mem_cap)
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

        Hosts' bookings and sums live in lists indexed by host while the loop runs, and
        are written back to the :class:`HostState` objects at the end.

        Raises
        ------
        NeedsGeneral
            A VM host would have to reclaim memory, or admission is by the recommender
            (bookings learnt as the run goes); nothing of this run is kept.
        """
        if self.recommender is not None:
            raise NeedsGeneral("admission by the recommender runs in the general engine")
        horizon = self.duration_s
        heap: list[tuple] = []
        arrival: tuple | None = None  # the next arrival's event
        push, pop, tick = heapq.heappush, heapq.heappop, itertools.count().__next__
        queue, progress, hosts = self.queue, self.progress, self.hosts
        n, m = len(self.submit), len(hosts)
        submit, duration, start_s = self.submit, self.duration, self.start_s
        book_cpu, book_mem = self.book_cpu, self.book_mem
        state, host_of = self.state, self.host_of
        admit_s, ready_s, end_s, first_ready_s = self.admit_s, self.ready_s, self.end_s, self.first_ready_s
        free_at_failure = self.free_at_failure
        # fits on no host, however empty
        too_big = (~fits(0.0, 0.0, self.fp.book_cpu, self.fp.book_mem_gib, self.max_cpu_cap,
                         self.max_mem_cap)).tolist()
        queue_when_full, max_wait_s, max_starts = self.queue_when_full, self.max_wait_s, self.max_starts
        sample_every_s = self.sample_every_s
        # per host
        cores = [h.cores for h in hosts]
        cpu_cap, mem_cap = [h.cpu_cap for h in hosts], [h.mem_cap for h in hosts]
        allocatable = [h.allocatable for h in hosts]
        # What contended() and over_memory() compare with, computed once by rules.limit: the
        # paths taken at every event test against these, written out (a call costs more
        # there than the test; measured in benchmarks/README.md's figures of this change).
        cpu_limit, mem_limit = list(map(limit, cores)), list(map(limit, allocatable))
        total_mem_cap = sum(mem_cap)
        overhead = hosts[0].overhead
        base = [h.base for h in hosts]
        no_swap = [0.0] * m  # the timeseries' swapped_gib: no VM host swaps in the lane
        running = [0] * m  # instances running on each host
        booked_cpu, booked_mem = [0.0] * m, [0.0] * m
        # first fit over several hosts, without a start limit: with its caches (see FirstFit)
        fit = (FirstFit(booked_cpu, booked_mem, cpu_cap, mem_cap, book_cpu, book_mem,
                        few_sizes(self.fp.book_cpu, self.fp.book_mem_gib))
               if self.choose is first_fit and max_starts is None and m > 1 else None)
        resident, peak, starting = [0] * m, [0] * m, [0] * m
        demand_sum, mem_sum = [0.0] * m, [0.0] * m  # cores wanted; GiB used (without overheads)
        clip_sum = [0.0] * m  # cores wanted above the instances' ceilings (none in the closed mode)
        self.busy_since, self.busy_s = busy_since, busy_s = [0.0] * m, [0.0] * m
        usage = self.usage
        self.mode = "tracked"
        if self.bounded():
            self.mode = "closed" if self.closed() else "bounded"
        sums = None  # brings demand_sum and mem_sum up to date before a sample, where they lag
        closed = self.mode == "closed"
        inline = False  # the closed mode's hot path written out in the loop

        if closed:
            # the usage cap but for the machine's cores, which start() and stop() apply
            run_cpu, _, run_mem = capped_usage(usage.cpu, usage.mem, None, self.fp.cpu_cap, self.fp.mem_cap)
            # within every machine's cores, so the inlined paths need not cap it
            inline = bool(np.all(run_cpu <= min(cores)))
            run_cpu, run_mem = run_cpu.tolist(), run_mem.tolist()
            uncapped = float("inf")

            def start(i: int, j: int, now: float, clock: float) -> None:
                running[j] += 1
                cpu, _, mem = capped_usage(run_cpu[i], run_mem[i], cores[j], uncapped, uncapped)
                demand_sum[j] += cpu
                mem_sum[j] += mem
                if contended(demand_sum[j], cores[j]) or over_memory(mem_sum[j], overhead, running[j], allocatable[j]):
                    raise NeedsGeneral  # a rounding edge of the sums: not quite uncontended

            def stop(i: int, j: int, now: float) -> None:
                running[j] -= 1
                if running[j]:
                    cpu, _, mem = capped_usage(run_cpu[i], run_mem[i], cores[j], uncapped, uncapped)
                    demand_sum[j] -= cpu
                    mem_sum[j] -= mem
                else:  # forget accumulated rounding error
                    demand_sum[j] = mem_sum[j] = 0.0

            touch = None
        else:
            vm = self.vm
            # Per workload row, over all its attempts: CPU demanded and unmet, memory used
            # (core-s, GiB-s) and time run (s); the tables' columns at the end.
            cpu_acc, unmet_acc, mem_acc, run_acc = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
            self.cpu_acc, self.unmet_acc, self.mem_acc, self.run_acc = cpu_acc, unmet_acc, mem_acc, run_acc
            weight, cpu_cap_i, mem_cap_i = self.fp.weight, self.fp.cpu_cap, self.fp.mem_cap
            cpu_cap_list, mem_cap_list = self.cpu_cap, self.mem_cap  # the same, for single elements
            cores_np, allocatable_np = np.array(cores), np.array(allocatable)

            if self.mode == "tracked":
                # Running instances sit in slots: parallel arrays, one slot per running attempt,
                # in the order they started, so a usage step works on the contiguous [0, k)
                # (no search for who runs, no gathers from per-row arrays). A stop leaves a hole
                # (instance -1) that the next step, or a full table, closes by compaction. The
                # slot's integrals start from the instance's own (0 unless it restarts) and go
                # back to it at its stop, so every sum is taken in the order the general
                # engine takes it. Events read and write single slots through memoryviews:
                # twice as fast as numpy scalars, and Python floats come out, so the hosts'
                # sums stay plain floats. Each host also lists its running instances
                # (swap-remove), in the general engine's slot order, which its OOM order and
                # CPU shares follow.
                mem_request, priority = self.fp.mem_request, self.fp.priority
                kills, restarts, streak = self.kills, self.restarts, self.streak
                restart, backoff_s, backoff_max_s = self.restart, self.backoff_s, self.backoff_max_s
                capped_cpu, capped_mem = bool(np.isfinite(cpu_cap_i).any()), bool(np.isfinite(mem_cap_i).any())
                start_usage = usage.start_usage()
                room = 2 * n + 16  # slots: at most n live, so a compaction frees n + 16 or more
                k = 0  # slots in use (live or holes)
                s_inst, s_host = np.zeros(room, dtype=np.int64), np.zeros(room, dtype=np.int64)
                s_cur, s_alloc, s_foot = np.zeros(room), np.zeros(room), np.zeros(room)  # demand, share, GiB used
                s_clip = np.zeros(room)  # demand above the ceiling
                s_since, s_started = np.zeros(room), np.zeros(room)  # integrals settled up to; attempt's start
                s_cpu, s_unmet, s_mem = np.zeros(room), np.zeros(room), np.zeros(room)  # integrals; 0 past k
                columns = (s_inst, s_host, s_cur, s_alloc, s_foot, s_since, s_started, s_cpu, s_unmet, s_mem, s_clip)
                # what a usage step keeps of a slot (a VM keeps its high-water mark of memory)
                kept_at_step = (s_inst, s_host, s_started, s_cpu, s_unmet, s_mem) + ((s_foot,) if vm else ())
                slot = np.zeros(n, dtype=np.int64)  # a running instance's slot
                (v_inst, v_host, v_cur, v_alloc, v_foot, v_since, v_started,
                 v_cpu, v_unmet, v_mem, v_clip) = map(memoryview, columns)
                v_slot = memoryview(slot)
                v_cpu_acc, v_unmet_acc, v_mem_acc, v_run_acc = map(memoryview, (cpu_acc, unmet_acc, mem_acc, run_acc))
                members: list[list[int]] = [[] for _ in range(m)]
                pos = [0] * n
                sharing = [False] * m  # hosts contended now: their cores shared out

                def compact(moved: tuple[np.ndarray, ...] = columns) -> None:
                    """Close the holes: live slots to the front, in order; fresh slots at 0.
                    Only the ``moved`` columns follow (a usage step rewrites the others)."""
                    nonlocal k
                    keep = np.flatnonzero(s_inst[:k] >= 0)
                    kept = len(keep)
                    if kept < k:
                        for column in moved:
                            column[:kept] = column[keep]
                        slot[s_inst[:kept]] = np.arange(kept)
                        s_cpu[kept:k] = s_unmet[kept:k] = s_mem[kept:k] = 0.0
                        k = kept

                def slots_of(j: int) -> tuple[np.ndarray, np.ndarray]:
                    """Host ``j``'s running instances and their slots, in its order."""
                    inst = np.array(members[j], dtype=np.int64)
                    return inst, slot[inst]

                last_t, stranded = [0.0] * m, [0.0] * m
                self.stranded = stranded

                def touch(j: int, now: float) -> None:
                    """Before any change on host ``j`` at ``now`` (each event calls it once): its
                    memory booked but unused until then (up to what the host has; use beyond the
                    booking strands nothing). Every other host integral follows from the
                    instances' own, at the end."""
                    dt = now - last_t[j]
                    if dt > 0:
                        last_t[j] = now
                        # rules.stranded_gib, written out: touch runs at every event
                        booked, most = booked_mem[j], allocatable[j]
                        left = (most if most < booked else booked) - (mem_sum[j] + overhead * running[j])
                        if left > 0:
                            stranded[j] += left * dt

                def settle_host(j: int, now: float) -> None:
                    """HostState.settle: every member's integrals up to ``now``."""
                    _, at = slots_of(j)
                    dt = now - s_since[at]
                    clip = s_clip[at]
                    s_cpu[at] += (s_cur[at] + clip) * dt
                    if sharing[j]:
                        s_unmet[at] += (s_cur[at] - s_alloc[at] + clip) * dt
                    else:
                        s_unmet[at] += clip * dt
                    s_mem[at] += s_foot[at] * dt
                    s_since[at] = now

                def pressure(j: int, now: float, clock: float) -> bool:
                    """Simulation._settle_host's memory part: the OOM killer on a container host
                    over its memory (True if it freed a booking); a VM host would reclaim."""
                    if not over_memory(mem_sum[j], overhead, running[j], allocatable[j]):
                        return False
                    if vm:
                        raise NeedsGeneral  # KSM, balloon, swap: the general engine's
                    return oom(j, now, clock)

                def oom(j: int, now: float, clock: float) -> bool:
                    """Simulation._oom: victims in the kubelet's eviction order until the host fits."""
                    inst, at = slots_of(j)
                    freed = False
                    for i in inst[oom_victims(s_foot[at], mem_request[inst], priority[inst], overhead,
                                              allocatable[j])].tolist():
                        freed |= kill(i, j, now, clock)
                    return freed

                def kill(i: int, j: int, now: float, clock: float) -> bool:
                    """Simulation._kill: out of the running set; gone for good, or back after a back-off."""
                    started_s = v_started[v_slot[i]]
                    remove(i, j, now)
                    kills[i] += 1
                    if not restart:
                        release(i, j, now)
                        state[i] = KILLED
                        end_s[i] = now
                        return True
                    delay, streak[i] = backoff(streak[i], now - started_s, backoff_s, backoff_max_s)
                    state[i] = BACKOFF
                    push(heap, (clock + delay, _NORMAL, tick(), _RESTART, i))
                    return False

                def share(j: int, now: float) -> None:
                    """HostState.rebalance's CPU part: weighted max-min shares when over the cores."""
                    now_contended = contended(demand_sum[j], cores[j])
                    if now_contended and not sharing[j]:
                        settle_host(j, now)  # until now everyone had its full share
                    if now_contended or sharing[j]:
                        inst, at = slots_of(j)
                        s_alloc[at] = water_fill(s_cur[at], weight[inst], cores[j]) if now_contended else s_cur[at]
                    sharing[j] = now_contended

                # start and remove are the hot path (once per start and stop): the checks of
                # pressure and share are inlined, the rest reads single slots.
                def start(i: int, j: int, now: float, clock: float) -> None:
                    nonlocal k
                    running[j] += 1
                    if sharing[j]:
                        settle_host(j, now)
                    cpu, clip, mem = capped_usage(*start_usage(i, now), cores[j], cpu_cap_list[i], mem_cap_list[i])
                    if k == room:
                        compact()
                    s = k
                    k = s + 1
                    v_inst[s], v_host[s] = i, j
                    v_cur[s] = v_alloc[s] = cpu
                    v_clip[s] = clip
                    v_foot[s] = mem
                    v_since[s] = v_started[s] = now
                    if kills[i]:  # a restart: the integrals go on from the instance's
                        v_cpu[s], v_unmet[s], v_mem[s] = v_cpu_acc[i], v_unmet_acc[i], v_mem_acc[i]
                    v_slot[i] = s
                    group = members[j]
                    pos[i] = len(group)
                    group.append(i)
                    demand_sum[j] += cpu
                    clip_sum[j] += clip
                    mem_sum[j] += mem
                    # over_memory() and contended() against the limits: once per start
                    freed = pressure(j, now, clock) if mem_sum[j] + overhead * running[j] > mem_limit[j] else False
                    if sharing[j] or demand_sum[j] > cpu_limit[j]:
                        share(j, now)
                    if freed and queue:
                        drain(now, clock)

                def remove(i: int, j: int, now: float) -> None:
                    """HostState.remove and Simulation._account: out of the running set, with its integrals."""
                    running[j] -= 1
                    s = v_slot[i]
                    if sharing[j]:
                        settle_host(j, now)
                        v_cpu_acc[i], v_mem_acc[i] = v_cpu[s], v_mem[s]
                        v_unmet_acc[i] = v_unmet[s]
                    else:
                        dt = now - v_since[s]
                        clip = v_clip[s]
                        v_cpu_acc[i] = v_cpu[s] + (v_cur[s] + clip) * dt
                        v_mem_acc[i] = v_mem[s] + v_foot[s] * dt
                        v_unmet_acc[i] = v_unmet[s] + clip * dt
                    v_run_acc[i] += now - v_started[s]
                    v_inst[s] = -1  # a hole until the next compaction
                    group = members[j]
                    last = group.pop()
                    if last != i:
                        p = pos[i]
                        group[p] = last
                        pos[last] = p
                    if group:
                        demand_sum[j] -= v_cur[s]
                        clip_sum[j] -= v_clip[s]
                        mem_sum[j] -= v_foot[s]
                    else:  # forget accumulated rounding error
                        demand_sum[j] = clip_sum[j] = mem_sum[j] = 0.0

                def stop(i: int, j: int, now: float) -> None:
                    remove(i, j, now)
                    if sharing[j] or demand_sum[j] > cpu_limit[j]:  # contended(), against the limit
                        share(j, now)

                def step(now: float) -> None:
                    """Simulation._on_usage_step: everyone's integrals, then new usage and shares."""
                    for j in range(m):
                        touch(j, now)
                    # the integrals up to now, holes too (they go), then the live slots to the front
                    dt = now - s_since[:k]
                    cur, alloc, foot, clip = s_cur[:k], s_alloc[:k], s_foot[:k], s_clip[:k]
                    s_cpu[:k] += (cur + clip) * dt
                    s_unmet[:k] += (cur - alloc + clip) * dt  # cur - alloc: 0 on uncontended hosts
                    s_mem[:k] += foot * dt
                    compact(kept_at_step)
                    if not k:
                        return
                    live = k
                    cur, alloc, foot = s_cur[:live], s_alloc[:live], s_foot[:live]
                    s_since[:live] = now
                    inst, where = s_inst[:live], s_host[:live]
                    cpu, mem = usage.at(inst, now - s_started[:live], now)
                    # an infinite cap changes nothing: skipped
                    cpu, clip, mem = capped_usage(cpu, mem, cores_np[where], cpu_cap_i[inst] if capped_cpu else None,
                                                  mem_cap_i[inst] if capped_mem else None)
                    cur[:] = alloc[:] = cpu
                    s_clip[:live] = clip
                    clip_sum[:] = np.bincount(where, s_clip[:live], m).tolist()
                    foot[:] = np.maximum(foot, mem) if vm else mem  # a guest keeps what it touched
                    demand_sum[:] = np.bincount(where, cpu, m).tolist()
                    mem_sum[:] = np.bincount(where, foot, m).tolist()
                    over = over_memory(np.array(mem_sum), overhead, np.array(running), allocatable_np)
                    for j in np.flatnonzero(over).tolist():
                        if pressure(j, now, now) and queue:
                            # the general engine drains the queue between hosts' updates: its order
                            raise NeedsGeneral
                    over = contended(np.array(demand_sum), cores_np)
                    for j in np.flatnonzero(over).tolist():
                        inst, at = slots_of(j)
                        s_alloc[at] = water_fill(s_cur[at], weight[inst], cores[j])
                    sharing[:] = over.tolist()

                def collect(now: float) -> None:
                    """At the horizon: the hosts' stranded memory, the running instances' integrals."""
                    for j in range(m):
                        touch(j, now)
                    compact()
                    live = k
                    inst, cur, dt = s_inst[:live], s_cur[:live], now - s_since[:live]
                    clip = s_clip[:live]
                    run_acc[inst] += now - s_started[:live]
                    cpu_acc[inst] = s_cpu[:live] + (cur + clip) * dt
                    unmet_acc[inst] = s_unmet[:live] + (cur - s_alloc[:live] + clip) * dt
                    mem_acc[inst] = s_mem[:live] + s_foot[:live] * dt

            else:  # bounded
                # No host can be contended or short of memory: shares are demands and nothing
                # need be checked, so a new instance's first usage waits for the next batch
                # (the next step or sample), or is drawn alone if it ends before.
                cur, alloc, foot = np.zeros(n), np.zeros(n), np.zeros(n)  # foot: GiB used
                clip = np.zeros(n)  # demand above the ceiling: demand, and unmet
                since, started_at, host_np = np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64)
                live = np.zeros(n, dtype=bool)

                def everyone() -> np.ndarray:
                    """The running instances."""
                    return np.flatnonzero(live)

                touch = None
                pending: list[int] = []
                fresh = [False] * n

                def flush() -> None:
                    inst = np.array([i for i in pending if fresh[i]], dtype=np.int64)
                    pending.clear()
                    if not len(inst):
                        return
                    for i in inst.tolist():
                        fresh[i] = False
                    cpu, clip[inst], foot[inst] = capped_usage(
                        *usage.at_start(inst, started_at[inst]), cores_np[host_np[inst]], cpu_cap_i[inst],
                        mem_cap_i[inst])
                    cur[inst] = alloc[inst] = cpu

                def start(i: int, j: int, now: float, clock: float) -> None:
                    running[j] += 1
                    since[i] = started_at[i] = now
                    host_np[i] = j
                    live[i] = fresh[i] = True
                    pending.append(i)

                def stop(i: int, j: int, now: float) -> None:
                    running[j] -= 1
                    if fresh[i]:  # ends before its first usage was drawn: draw it alone
                        fresh[i] = False
                        cpu, clip[i], foot[i] = capped_usage(*usage.at_one(i, 0.0, started_at[i]), cores[j],
                                                             cpu_cap_i[i], mem_cap_i[i])
                        cur[i] = alloc[i] = cpu
                    dt = now - since[i]
                    cpu_acc[i] += (cur[i] + clip[i]) * dt
                    unmet_acc[i] += clip[i] * dt
                    mem_acc[i] += foot[i] * dt
                    run_acc[i] += now - started_at[i]
                    live[i] = False

                def step(now: float) -> None:
                    flush()
                    inst = everyone()
                    dt = now - since[inst]
                    cpu_acc[inst] += (cur[inst] + clip[inst]) * dt
                    unmet_acc[inst] += clip[inst] * dt
                    mem_acc[inst] += foot[inst] * dt
                    since[inst] = now
                    cpu, clip[inst], mem = capped_usage(*usage.at(inst, now - started_at[inst], now),
                                                        cores_np[host_np[inst]], cpu_cap_i[inst], mem_cap_i[inst])
                    cur[inst] = alloc[inst] = cpu
                    foot[inst] = np.maximum(foot[inst], mem) if vm else mem  # a guest keeps what it touched

                def sums() -> None:
                    flush()
                    inst = everyone()
                    demand_sum[:] = np.bincount(host_np[inst], cur[inst], m).tolist()
                    clip_sum[:] = np.bincount(host_np[inst], clip[inst], m).tolist()
                    mem_sum[:] = np.bincount(host_np[inst], foot[inst], m).tolist()

                def collect(now: float) -> None:
                    """At the horizon: the running instances' integrals."""
                    sums()
                    inst = everyone()
                    dt = now - since[inst]
                    run_acc[inst] += now - started_at[inst]
                    cpu_acc[inst] += (cur[inst] + clip[inst]) * dt
                    unmet_acc[inst] += (cur[inst] - alloc[inst] + clip[inst]) * dt
                    mem_acc[inst] += foot[inst] * dt

        def place(i: int) -> int:
            """Simulation._place: the host the policy picks among those that fit, or -1."""
            if fit is not None:
                return fit.place(i)
            cpu, mem = book_cpu[i], book_mem[i]
            if m == 1:
                return 0 if (fits(booked_cpu[0], booked_mem[0], cpu, mem, cpu_cap[0], mem_cap[0])
                             and (max_starts is None or starting[0] < max_starts)) else -1
            cpu_booked, mem_booked = np.array(booked_cpu), np.array(booked_mem)
            able = fits(cpu_booked, mem_booked, cpu, mem, self.cpu_caps, self.mem_caps)
            if max_starts is not None:
                able &= np.array(starting) < max_starts
            if not able.any():
                return -1
            fleet = Fleet(self.cpu_caps, self.mem_caps, cpu_booked, mem_booked, able, cpu, mem)
            j = self.choose(fleet, **self.policy_args)
            return -1 if j is None else j

        def ready(i: int, j: int, now: float, clock: float) -> None:
            """Simulation._ready: running on host ``j`` from ``now``; a service lives its
            lifetime from its first start."""
            ready_s[i] = now  # the latest attempt's start
            if first_ready_s[i] != first_ready_s[i]:  # NaN: the first start, not a restart
                first_ready_s[i] = now
                push(heap, (clock + duration[i], _URGENT, tick(), _END, i))
            state[i] = RUNNING
            start(i, j, now, clock)

        def release(i: int, j: int, now: float) -> None:
            """HostState.release: the booking goes."""
            count = resident[j] = resident[j] - 1
            if count:
                booked_cpu[j] -= book_cpu[i]
                booked_mem[j] -= book_mem[i]
            else:  # forget accumulated rounding error
                booked_cpu[j] = booked_mem[j] = 0.0
                busy_s[j] += now - busy_since[j]
            if fit is not None:
                fit.shrank(j)

        def admit(i: int, j: int, now: float, clock: float) -> None:
            """Simulation._admit and _start: book ``i`` on host ``j``, then start it."""
            if touch is not None:
                touch(j, now)
            booked_cpu[j] += book_cpu[i]
            booked_mem[j] += book_mem[i]
            if fit is not None:
                fit.grew(j)
            count = resident[j] = resident[j] + 1
            if count == 1:
                busy_since[j] = now
            if count > peak[j]:
                peak[j] = count
            host_of[i] = j
            admit_s[i] = now
            delay = start_s[i]
            if delay > 0:
                state[i] = STARTING
                starting[j] += 1
                push(heap, (clock + delay, _NORMAL, tick(), _READY, i))
            else:  # running at once (STARTING, and one more starting on j, for no time)
                ready(i, j, now, clock)

        def drain(now: float, clock: float) -> None:
            """Admit waiting requests in FIFO order until the head does not fit."""
            while queue:
                i = queue[0]
                if state[i] != QUEUED:  # gave up while waiting
                    queue.popleft()
                    continue
                j = place(i)
                if j < 0:
                    return
                queue.popleft()
                admit(i, j, now, clock)

        if n:
            # The next arrival waits beside the heap, not in it: one comparison instead of a
            # push and a pop per arrival (its key is the one the general engine would give it).
            arrival = (submit[0], _NORMAL, tick(), _ARRIVAL, 0)
        push(heap, (0.0, _NORMAL, tick(), _SAMPLE, 0))
        if usage.step_s is not None:
            push(heap, (usage.step_s, _NORMAL, tick(), _USAGE_STEP, 0))
        # The handlers, named after the general engine's (Simulation._on_end, ...): each
        # takes the event's time and instance, as the general engine's take the event.
        def on_end(clock: float, i: int) -> None:
            """Simulation._on_end: ``i``'s lifetime is over; its host takes the next in the queue."""
            j, was = host_of[i], state[i]
            if inline and was == RUNNING:
                # stop() and release() written out: the hot path of loss and queueing studies
                count = running[j] = running[j] - 1
                if count:
                    demand_sum[j] -= run_cpu[i]
                    mem_sum[j] -= run_mem[i]
                else:
                    demand_sum[j] = mem_sum[j] = 0.0
                count = resident[j] = resident[j] - 1
                if count:
                    booked_cpu[j] -= book_cpu[i]
                    booked_mem[j] -= book_mem[i]
                else:
                    booked_cpu[j] = booked_mem[j] = 0.0
                    busy_s[j] += clock - busy_since[j]
                if fit is not None:
                    fit.shrank(j)
                state[i] = COMPLETED
                end_s[i] = clock
                if queue:
                    drain(clock, clock)
                return
            if touch is not None:
                touch(j, clock)
            if was == RUNNING:
                stop(i, j, clock)
            elif was == STARTING:
                starting[j] -= 1
            elif was != BACKOFF:
                return  # killed for good: nothing left to end
            release(i, j, clock)
            state[i] = COMPLETED
            end_s[i] = clock
            if queue:
                drain(clock, clock)

        def on_arrival(clock: float, i: int) -> None:
            """Simulation._on_arrival: ``i`` and the arrivals right after it, placed, queued or rejected."""
            nonlocal arrival
            # This arrival, then the next while they come before every other event and the
            # horizon: those need no event of their own. The clock reaches submit[i] by
            # adding a delay (SimPy's arithmetic); times recorded are the exact submit times.
            while True:
                now = submit[i]
                j = -1
                if too_big[i]:  # fits on no host, however empty
                    state[i] = REJECTED
                    end_s[i] = now
                    i += 1
                else:
                    while queue and state[queue[0]] != QUEUED:  # drop those who gave up
                        queue.popleft()
                    if not queue:  # FIFO: nobody may overtake a waiting request
                        if m == 1:  # place(i), inlined for one host
                            j = 0 if (fits(booked_cpu[0], booked_mem[0], book_cpu[i], book_mem[i],
                                           cpu_cap[0], mem_cap[0])
                                      and (max_starts is None or starting[0] < max_starts)) else -1
                        else:
                            j = place(i)
                        if j < 0:
                            # fragmentation: memory free across the fleet when i found no
                            # host (bookings never exceed the caps: Σ caps − Σ bookings)
                            free_at_failure[i] = (mem_cap[0] - booked_mem[0] if m == 1 else
                                                  total_mem_cap - sum(booked_mem))
                    if j < 0:
                        if queue_when_full:
                            state[i] = QUEUED
                            queue.append(i)
                            if max_wait_s is not None:
                                push(heap, (clock + max_wait_s, _NORMAL, tick(), _GIVE_UP, i))
                        else:
                            state[i] = REJECTED
                            end_s[i] = now
                    elif inline and start_s[i] <= 0:
                        # admit(), ready() and start() written out: the hot path of loss
                        # and queueing studies (running at once, first start)
                        booked_cpu[j] += book_cpu[i]
                        booked_mem[j] += book_mem[i]
                        if fit is not None:
                            fit.grew(j)
                        count = resident[j] = resident[j] + 1
                        if count == 1:
                            busy_since[j] = now
                        if count > peak[j]:
                            peak[j] = count
                        host_of[i] = j
                        admit_s[i] = ready_s[i] = first_ready_s[i] = now
                        push(heap, (clock + duration[i], _URGENT, tick(), _END, i))
                        state[i] = RUNNING
                        running[j] += 1
                        demand_sum[j] += run_cpu[i]
                        mem_sum[j] += run_mem[i]
                        # contended() and over_memory(), against limits computed once: the hot path
                        if demand_sum[j] > cpu_limit[j] or mem_sum[j] + overhead * running[j] > mem_limit[j]:
                            raise NeedsGeneral  # a rounding edge of the sums: not quite uncontended
                    else:
                        admit(i, j, now, clock)
                    i += 1
                if i >= n:
                    break
                if submit[i] > now:
                    t = clock + (submit[i] - clock)
                    if t >= horizon or (heap and t >= heap[0][0]):  # not first: an event of its own
                        arrival = (t, _NORMAL, tick(), _ARRIVAL, i)
                        break
                    clock = t

        def on_ready(clock: float, i: int) -> None:
            """Simulation._on_ready: ``i`` has started and runs."""
            if state[i] != STARTING:
                return  # its lifetime ended while it was starting
            j = host_of[i]
            if touch is not None:
                touch(j, clock)
            starting[j] -= 1
            ready(i, j, clock, clock)
            if max_starts is not None and queue:
                drain(clock, clock)  # a start slot on this host came free

        def on_give_up(clock: float, i: int) -> None:
            """Simulation._on_give_up: ``i`` waited ``max_wait_s`` in the queue."""
            if state[i] == QUEUED:
                state[i] = REJECTED
                end_s[i] = clock
                if queue and queue[0] == i:
                    drain(clock, clock)  # the head left: the next may fit

        def on_restart(clock: float, i: int) -> None:
            """Simulation._on_restart: ``i`` starts again after its back-off."""
            if state[i] == BACKOFF:
                restarts[i] += 1
                j = host_of[i]
                touch(j, clock)
                state[i] = STARTING
                starting[j] += 1
                if start_s[i] > 0:
                    push(heap, (clock + start_s[i], _NORMAL, tick(), _READY, i))
                else:
                    starting[j] -= 1
                    ready(i, j, clock, clock)

        def on_usage_step(clock: float, i: int) -> None:
            """Simulation._on_usage_step: new usage for every running instance."""
            step(clock)
            if clock + usage.step_s < horizon:
                push(heap, (clock + usage.step_s, _NORMAL, tick(), _USAGE_STEP, 0))

        def on_sample(clock: float, i: int) -> None:
            """Simulation._on_sample: one timeseries row per host."""
            if sums is not None:
                sums()
            self.timeseries.add(clock, resident, running, map(operator.add, demand_sum, clip_sum),
                                map(min, demand_sum, cores),
                                [used + overhead * count + b for used, count, b in zip(mem_sum, running, base)],
                                [booked + b for booked, b in zip(booked_mem, base)], no_swap)
            if progress is not None:
                progress(clock)
            if clock + sample_every_s < horizon:
                push(heap, (clock + sample_every_s, _NORMAL, tick(), _SAMPLE, 0))


        handlers = (on_end, on_arrival, on_ready, on_give_up, on_sample, on_usage_step, on_restart)  # by kind
        while True:
            if arrival is not None and (not heap or arrival < heap[0]):
                clock, _, _, kind, i = arrival
                arrival = None
            elif heap:
                clock, _, _, kind, i = pop(heap)
            else:
                break
            if clock >= horizon:
                break
            handlers[kind](clock, i)
        if not closed:  # the running instances' and the hosts' integrals up to the horizon
            collect(horizon)
        for h, j in zip(hosts, range(m)):  # the hosts' state into their HostState objects
            h.book_cpu, h.book_mem, h.resident, h.starting = booked_cpu[j], booked_mem[j], resident[j], starting[j]
            h.peak_resident, h.demand_sum, h.mem_sum = peak[j], demand_sum[j], mem_sum[j]
            h.cpu_demand, h.mem_used = demand_sum[j], mem_sum[j] + overhead * running[j]
        self._integrate()
        return self._tables()

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
        self.resident_s = np.zeros(n)
        self.resident_s[placed] = end - admit
        self.replacements = np.zeros(n, dtype=np.int64)
        self.fleet.peak_resident = stays_peak(admit, end)
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
            cpu, _, mem = capped_usage(self.usage.cpu[placed], self.usage.mem[placed], cores[host],
                                       self.fp.cpu_cap[placed], self.fp.mem_cap[placed])
            demand = np.where(started, cpu * ran, 0.0)
            self.demand_s = np.zeros(n)
            self.demand_s[placed] = 0.0 + demand
            self.unmet_s = np.zeros(n)
            self.kills = self.restarts = np.zeros(n, dtype=np.int64)
            used, mem_time = demand, (mem + overhead) * ran
        else:
            self.demand_s, self.unmet_s = self.cpu_acc, self.unmet_acc
            demand = self.cpu_acc[placed]
            used = demand - self.unmet_acc[placed]
            mem_time = self.mem_acc[placed] + overhead * ran
        # nothing to pull or unpack; the platform's start latency
        self.pull_s, self.unpack_s, self.first_boot_s = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        self.pull_s[placed] = self.unpack_s[placed] = 0.0
        self.first_boot_s[placed] = self.fp.start_s[placed]
        # what only failures, restarts, swap and interference change
        self.swap_s = self.extra_s = self.degraded_s = self.lost_core_s = np.zeros(n)
        self.failure_kills = np.zeros(n, dtype=np.int64)
        self.cold = np.zeros(n, dtype=bool)
        book = self.fp.book_mem_gib[placed]
        resident_s = np.bincount(host, end - admit, m)
        cpu_s, used_s = np.bincount(host, demand, m), np.bincount(host, used, m)
        mem_used_s = np.bincount(host, mem_time, m)
        mem_alloc_s = np.bincount(host, book * (end - admit), m)
        cpu_booked_s = np.bincount(host, self.fp.book_cpu[placed] * (end - admit), m)
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
