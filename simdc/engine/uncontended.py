"""The uncontended lane: the general engine's run, when no host can ever be contended.

When every instance's demand and footprint stay within its booking, the caps stay within
each host (no overcommit), usage is constant, and there is no batch work, no image to
fetch, no interference and no fault, then no host is ever *slow*: every running instance
has its whole demand from start to end. Its CPU integral is then demand × time run, a
host needs only the sums it integrates, and nothing waits on more than one thing.

So this lane runs the general engine's events in the general engine's order on a bare
``heapq`` loop, with the per-instance work inlined: no SimPy event, no per-slot
accumulator, no method call per step that the general engine needs for contention.
Decisions, times and integrals are computed by the same arithmetic in the same order, so
the tables are identical to :class:`~simdc.engine.simulation.Simulation`'s
(tests/engine/test_lanes.py). Loss and queueing studies on booked resources (Erlang B
and C, Kaufman–Roberts) and every VM-only run without overcommit and usage series run here.
"""

from __future__ import annotations

import heapq
import itertools

import numpy as np

from simdc.engine.host import EPS
from simdc.engine.simulation import (
    COMPLETED,
    QUEUED,
    REJECTED,
    RUNNING,
    STARTING,
    PlatformRun,
    Simulation,
)
from simdc.placement import Fleet, first_fit

# event kinds; at one instant ends come first (URGENT in the general engine), then the
# rest in the order they were scheduled
_END, _ARRIVAL, _READY, _GIVE_UP, _SAMPLE, _USAGE_STEP = range(6)
_URGENT, _NORMAL = 0, 1  # SimPy's priorities


class BecameSlow(Exception):
    """A host of an uncontended run became slow after all (a rounding edge of the sums)."""


class Uncontended(Simulation):
    """:class:`Simulation` for runs in which no host can become slow (module docstring)."""

    def applies(self) -> bool:
        """Whether no host can become slow, decided from the inputs alone."""
        fp, usage = self.fp, self.usage
        if any(self.batch) or any(self.needs) or self.faults.active:
            return False
        host = self.hosts[0]  # the platform's sensitivities, the same on every host
        if (host.k_membw > 0 and any(self.membw)) or (host.k_io > 0 and any(self.io)):
            return False  # neighbours interfere
        if any(h.cpu_cap > h.cores + EPS or h.mem_cap > h.allocatable + EPS for h in self.hosts):
            return False  # overcommit: bookings may exceed the machine
        cpu, mem = usage.upper()  # the most each can ever use, capped by its vCPUs, size or limit
        cpu, mem = np.minimum(cpu, fp.cpu_cap), np.minimum(mem, fp.mem_cap)
        return bool(np.all(cpu <= fp.book_cpu) and np.all(mem + host.overhead <= fp.book_mem_gib)
                    and np.all(mem <= fp.mem_limit))

    def run(self) -> PlatformRun:
        """The general engine's :meth:`Simulation.run`, event for event, on a bare heap.

        Hosts' bookings and sums live in lists indexed by host while the loop runs, and
        are written back to the :class:`HostState` objects at the end.

        Raises
        ------
        BecameSlow
            A host became contended or short of memory; nothing of this run is kept.
        """
        horizon = self.duration_s
        heap: list[tuple] = []
        push, pop, tick = heapq.heappush, heapq.heappop, itertools.count().__next__
        queue, progress, hosts = self.queue, self.progress, self.hosts
        n, m = len(self.submit), len(hosts)
        submit, duration, start_s = self.submit, self.duration, self.start_s
        book_cpu, book_mem = self.book_cpu, self.book_mem
        state, host_of = self.state, self.host_of
        admit_s, ready_s, end_s = self.admit_s, self.ready_s, self.end_s
        free_at_failure = self.free_at_failure
        max_cpu_cap, max_mem_cap = self.max_cpu_cap, self.max_mem_cap
        queue_when_full, max_wait_s, max_starts = self.queue_when_full, self.max_wait_s, self.max_starts
        sample_every_s = self.sample_every_s
        # per host
        cores = [h.cores for h in hosts]
        cpu_cap, mem_cap = [h.cpu_cap for h in hosts], [h.mem_cap for h in hosts]
        mem_room = [h.allocatable + EPS for h in hosts]
        total_mem_cap = sum(mem_cap)
        overhead = hosts[0].overhead
        base = [h.base for h in hosts]
        running = [0] * m  # instances running on each host
        booked_cpu, booked_mem = [0.0] * m, [0.0] * m
        resident, peak, starting = [0] * m, [0] * m, [0] * m
        demand_sum, mem_sum = [0.0] * m, [0.0] * m
        self.busy_since, self.busy_s = busy_since, busy_s = [0.0] * m, [0.0] * m
        first_fit_only = self.choose is first_fit and max_starts is None
        usage = self.usage
        stepped = usage.step_s is not None
        if not stepped:  # constant usage, capped by vCPUs or limit and size
            run_cpu = np.minimum(usage.cpu, self.fp.cpu_cap).tolist()
            run_mem = np.minimum(usage.mem, self.fp.mem_cap).tolist()
        else:
            # Usage changes every step: the running set is a fleet-wide list, and each
            # instance's current usage and integrals are arrays, updated vectorised at each
            # step. A new instance's first usage is evaluated with the next batch (fresh).
            live: list[int] = []  # running instances, any order
            pos = [0] * n  # where each is in live
            fresh = [False] * n  # started since the last batch: no usage evaluated yet
            pending: list[int] = []
            cur_cpu, foot = np.zeros(n), np.zeros(n)  # cores; GiB on the host (a VM's high-water mark)
            since, started_at, host_np = np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64)
            self.cpu_acc, self.mem_acc = cpu_acc, mem_acc = np.zeros(n), np.zeros(n)
            cpu_cap_i, mem_cap_i, cores_np = self.fp.cpu_cap, self.fp.mem_cap, np.array(cores)
            vm = self.vm

            def capped(inst: np.ndarray, cpu: np.ndarray, mem: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                """Usage within the instance's vCPUs or limit, its host's cores and its size."""
                return (np.minimum(np.minimum(cpu, cpu_cap_i[inst]), cores_np[host_np[inst]]),
                        np.minimum(mem, mem_cap_i[inst]))

            def flush() -> None:
                """First usage of the instances started since the last batch."""
                inst = np.array([i for i in pending if fresh[i]], dtype=np.int64)
                pending.clear()
                if not len(inst):
                    return
                for i in inst.tolist():
                    fresh[i] = False
                t0 = np.array([ready_s[i] for i in inst.tolist()])
                host_np[inst] = [host_of[i] for i in inst.tolist()]
                cur_cpu[inst], foot[inst] = capped(inst, *usage.at_start(inst, t0))
                since[inst] = started_at[inst] = t0

            def settle(now: float) -> np.ndarray:
                """Every running instance's integrals up to ``now``; returns the running set."""
                flush()
                inst = np.array(live, dtype=np.int64)
                dt = now - since[inst]
                cpu_acc[inst] += cur_cpu[inst] * dt
                mem_acc[inst] += foot[inst] * dt
                since[inst] = now
                return inst

        def place(i: int) -> int:
            """Simulation._place: the host the policy picks among those that fit, or -1."""
            cpu, mem = book_cpu[i], book_mem[i]
            if m == 1:
                if (booked_cpu[0] + cpu <= cpu_cap[0] and booked_mem[0] + mem <= mem_cap[0]
                        and (max_starts is None or starting[0] < max_starts)):
                    return 0
                return -1
            if first_fit_only:
                for j in range(m):
                    if (booked_cpu[j] + cpu <= cpu_cap[j] and booked_mem[j] + mem <= mem_cap[j]
                            and (max_starts is None or starting[j] < max_starts)):
                        return j
                return -1
            fits = np.array([booked_cpu[j] + cpu <= cpu_cap[j] and booked_mem[j] + mem <= mem_cap[j]
                             and (max_starts is None or starting[j] < max_starts) for j in range(m)])
            if not fits.any():
                return -1
            fleet = Fleet(self.cpu_caps, self.mem_caps, np.array(booked_cpu), np.array(booked_mem), fits, cpu, mem)
            j = self.choose(fleet, **self.policy_args)
            return -1 if j is None else j

        def ready(i: int, j: int, now: float, clock: float) -> None:
            """Simulation._ready: running on host ``j`` from ``now`` until its lifetime is over."""
            ready_s[i] = now
            push(heap, (clock + duration[i], _URGENT, tick(), _END, i))
            state[i] = RUNNING
            count = running[j] = running[j] + 1
            if stepped:
                pos[i] = len(live)
                live.append(i)
                fresh[i] = True
                pending.append(i)
                return
            cpu = run_cpu[i]
            demand_sum[j] += cpu if cpu < cores[j] else cores[j]  # no more than its machine's cores
            mem_sum[j] += run_mem[i]
            if demand_sum[j] > cores[j] + EPS or mem_sum[j] + overhead * count > mem_room[j]:
                raise BecameSlow

        def admit(i: int, j: int, now: float, clock: float) -> None:
            """Simulation._admit and _start: book ``i`` on host ``j``, then start it."""
            booked_cpu[j] += book_cpu[i]
            booked_mem[j] += book_mem[i]
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

        def write_back() -> None:
            """The hosts' state into their HostState objects, for the tables."""
            for h, j in zip(hosts, range(m)):
                h.book_cpu, h.book_mem, h.resident, h.starting = booked_cpu[j], booked_mem[j], resident[j], starting[j]
                h.peak_resident, h.demand_sum, h.mem_sum = peak[j], demand_sum[j], mem_sum[j]
                h.cpu_demand, h.mem_used = demand_sum[j], mem_sum[j] + overhead * running[j]

        if n:
            push(heap, (submit[0], _NORMAL, tick(), _ARRIVAL, 0))
        push(heap, (0.0, _NORMAL, tick(), _SAMPLE, 0))
        if stepped:
            push(heap, (usage.step_s, _NORMAL, tick(), _USAGE_STEP, 0))
        while heap and heap[0][0] < horizon:
            clock, _, _, kind, i = pop(heap)
            if kind == _END:
                j = host_of[i]
                count = running[j] = running[j] - 1
                if stepped:
                    k = pos[i]
                    last = live.pop()
                    if last != i:
                        live[k] = last
                        pos[last] = k
                    if fresh[i]:  # ends before its first usage was evaluated: evaluate it alone
                        fresh[i] = False
                        cpu, mem = usage.at_one(i, 0.0, ready_s[i])
                        cpu = min(cpu, cpu_cap_i[i], cores[j])
                        mem = min(mem, mem_cap_i[i])
                        cpu_acc[i] = cpu * (clock - ready_s[i])
                        mem_acc[i] = mem * (clock - ready_s[i])
                    else:
                        dt = clock - since[i]
                        cpu_acc[i] += cur_cpu[i] * dt
                        mem_acc[i] += foot[i] * dt
                elif count:
                    cpu = run_cpu[i]
                    demand_sum[j] -= cpu if cpu < cores[j] else cores[j]
                    mem_sum[j] -= run_mem[i]
                else:  # forget accumulated rounding error
                    demand_sum[j] = mem_sum[j] = 0.0
                count = resident[j] = resident[j] - 1
                if count:
                    booked_cpu[j] -= book_cpu[i]
                    booked_mem[j] -= book_mem[i]
                else:  # forget accumulated rounding error
                    booked_cpu[j] = booked_mem[j] = 0.0
                    busy_s[j] += clock - busy_since[j]
                state[i] = COMPLETED
                end_s[i] = clock
                if queue:
                    drain(clock, clock)
            elif kind == _ARRIVAL:
                # The clock reached submit[i] by adding a delay: record the exact submit time.
                now = submit[i]
                while True:
                    if book_cpu[i] > max_cpu_cap or book_mem[i] > max_mem_cap:  # fits on no host
                        state[i] = REJECTED
                        end_s[i] = now
                    else:
                        while queue and state[queue[0]] != QUEUED:  # drop those who gave up
                            queue.popleft()
                        if not queue:  # FIFO: nobody may overtake a waiting request
                            if m == 1:  # place(i), inlined for one host
                                j = 0 if (booked_cpu[0] + book_cpu[i] <= cpu_cap[0]
                                          and booked_mem[0] + book_mem[i] <= mem_cap[0]
                                          and (max_starts is None or starting[0] < max_starts)) else -1
                            else:
                                j = place(i)
                            if j >= 0:
                                admit(i, j, now, clock)
                                i += 1
                                if i >= n or submit[i] > now:
                                    break
                                continue
                            # fragmentation: memory free across the fleet when i found no host
                            # (bookings never exceed the caps here: Σ caps − Σ bookings)
                            free_at_failure[i] = (mem_cap[0] - booked_mem[0] if m == 1 else
                                                  total_mem_cap - sum(booked_mem))
                        if queue_when_full:
                            state[i] = QUEUED
                            queue.append(i)
                            if max_wait_s is not None:
                                push(heap, (clock + max_wait_s, _NORMAL, tick(), _GIVE_UP, i))
                        else:
                            state[i] = REJECTED
                            end_s[i] = now
                    i += 1
                    if i >= n or submit[i] > now:
                        break
                if i < n:
                    push(heap, (clock + (submit[i] - clock), _NORMAL, tick(), _ARRIVAL, i))
            elif kind == _READY:
                j = host_of[i]
                starting[j] -= 1
                ready(i, j, clock, clock)
                if max_starts is not None and queue:
                    drain(clock, clock)  # a start slot on this host came free
            elif kind == _GIVE_UP:
                if state[i] == QUEUED:
                    state[i] = REJECTED
                    end_s[i] = clock
                    if queue and queue[0] == i:
                        drain(clock, clock)  # the head left: the next may fit
            elif kind == _USAGE_STEP:  # Simulation._on_usage_step
                inst = settle(clock)
                if len(inst):
                    cpu, mem = capped(inst, *usage.at(inst, clock - started_at[inst], clock))
                    cur_cpu[inst] = cpu
                    foot[inst] = np.maximum(foot[inst], mem) if vm else mem  # a guest keeps what it touched
                if clock + usage.step_s < horizon:
                    push(heap, (clock + usage.step_s, _NORMAL, tick(), _USAGE_STEP, 0))
            else:
                if stepped:
                    flush()
                    inst = np.array(live, dtype=np.int64)
                    demand_sum = np.bincount(host_np[inst], cur_cpu[inst], m).tolist()
                    mem_sum = np.bincount(host_np[inst], foot[inst], m).tolist()
                # Simulation._sample's rows, from the lists
                self.samples += [(clock, j, resident[j], running[j], demand_sum[j], min(demand_sum[j], cores[j]),
                                  mem_sum[j] + overhead * running[j] + base[j], booked_mem[j] + base[j], 0.0)
                                 for j in range(m)]
                if progress is not None:
                    progress(clock)
                if clock + sample_every_s < horizon:
                    push(heap, (clock + sample_every_s, _NORMAL, tick(), _SAMPLE, 0))
        if stepped:
            settle(horizon)
            inst = np.array(live, dtype=np.int64)
            demand_sum = np.bincount(host_np[inst], cur_cpu[inst], m).tolist()
            mem_sum = np.bincount(host_np[inst], foot[inst], m).tolist()
        write_back()
        self._integrate()
        return self._tables()

    def _integrate(self) -> None:
        """Every integral from the instances' intervals: an instance holds its booking from
        admission and has its whole demand and memory from its start, until its end or the
        horizon; with constant usage in closed form, else as accumulated step by step."""
        horizon = self.duration_s
        placed = np.flatnonzero(np.asarray(self.host_of) >= 0)
        host = np.asarray(self.host_of, dtype=np.int64)[placed]
        cores = np.array([h.cores for h in self.hosts])
        admit = np.asarray(self.admit_s)[placed]
        ready = np.asarray(self.ready_s)[placed]
        end = np.asarray(self.end_s)[placed]
        end = np.where(np.isnan(end), horizon, end)
        started = ~np.isnan(ready)
        ran = np.where(started, end - ready, 0.0)
        overhead = self.hosts[0].overhead
        if self.usage.step_s is None:
            cpu = np.minimum(np.minimum(self.usage.cpu, self.fp.cpu_cap)[placed], cores[host])
            demand = np.where(started, cpu * ran, 0.0)
            mem_time = (np.minimum(self.usage.mem, self.fp.mem_cap)[placed] + overhead) * ran
        else:
            demand = self.cpu_acc[placed]
            mem_time = self.mem_acc[placed] + overhead * ran
        # per instance, as the general engine accounts them (0 + demand × time run)
        n = len(self.submit)
        self.demand_s = np.zeros(n)
        self.demand_s[placed] = 0.0 + demand
        self.run_s = np.zeros(n)
        self.run_s[placed] = 0.0 + ran
        # nothing to pull or unpack; the platform's start latency
        self.pull_s, self.unpack_s, self.first_boot_s = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        self.pull_s[placed] = self.unpack_s[placed] = 0.0
        self.first_boot_s[placed] = self.fp.start_s[placed]
        # what only contention, failures and restarts change
        self.unmet_s = self.swap_s = self.extra_s = self.degraded_s = self.lost_core_s = np.zeros(n)
        self.kills = self.restarts = self.failure_kills = np.zeros(n, dtype=np.int64)
        self.cold = np.zeros(n, dtype=bool)
        # per host
        m = len(self.hosts)
        book = np.asarray(self.book_mem)[placed]
        resident_s = np.bincount(host, end - admit, m)
        cpu_s = np.bincount(host, demand, m)
        mem_used_s = np.bincount(host, mem_time, m)
        mem_alloc_s = np.bincount(host, book * (end - admit), m)
        for j, h in enumerate(self.hosts):
            if h.resident:
                self.busy_s[j] += horizon - self.busy_since[j]
            h.resident_s = float(resident_s[j])
            h.cpu_demand_s = h.cpu_used_s = float(cpu_s[j])  # never more than the cores
            h.mem_used_s = float(mem_used_s[j]) + h.base * horizon
            h.mem_alloc_s = float(mem_alloc_s[j]) + h.base * horizon
            # booked but unused (bookings stay within allocatable here)
            h.stranded_s = float(mem_alloc_s[j] - mem_used_s[j])
            on_s = self.busy_s[j] if h.power_off_idle else horizon
            h.energy_j = h.power_idle_w * on_s + (h.power_max_w - h.power_idle_w) * h.cpu_used_s / h.cores
            h.last_t = horizon
