"""A host's state during a run: bookings, the running set as arrays, and integrals.

Resident instances (starting, running or waiting to restart) hold their *booking*
(``book_cpu``, ``book_mem``) against the host's caps. Running instances also sit in the
*running set*: parallel arrays, one slot each, holding current CPU demand, memory use
and what the CPU model gives them.

Per change the host does O(1) work while it is uncontended (every instance gets its
demand, batch work advances at full speed). When CPU demand exceeds the cores, or VM
memory is being reclaimed, a change settles every slot and recomputes the shares:
vectorised, O(n) for the n instances on that host.
"""

from __future__ import annotations

import numpy as np

from simdc.engine.cpu import water_fill
from simdc.model.host import HostSpec

EPS = 1e-9  # slack for sums of float sizes, so 4 × 0.25 fits in 1.0
DONE = 1e-9  # batch work left (full-speed seconds) that counts as finished


class HostState:
    """Bookings, running set and ∫ value dt of one host since t = 0."""

    def __init__(self, index: int, spec: HostSpec, cpu_cap: float, mem_cap: float, *,
                 overhead_gib: float, vm: bool, ksm_savings: float = 0.0, balloon: bool = True,
                 swap_slowdown: float = 0.0, base_mem_gib: float = 0.0, power_off_idle: bool = False):
        self.index = index
        self.spec = spec
        self.cpu_cap = cpu_cap + EPS
        self.mem_cap = mem_cap + EPS
        self.cores = float(spec.cpu_cores)
        self.allocatable = spec.allocatable_memory_gib
        self.overhead = overhead_gib
        self.vm = vm
        self.ksm, self.balloon, self.swap_slowdown = ksm_savings, balloon, swap_slowdown
        # Memory the machine itself always takes, outside the instances' accounts: a node
        # VM's VMM and guest (containers in VMs). Counted as used and allocated.
        self.base = base_mem_gib
        self.power_idle_w, self.power_max_w = spec.power_idle_w, spec.power_max_w
        self.power_off_idle = power_off_idle
        self.starting = 0  # instances starting now (for a limit on concurrent starts)
        # bookings
        self.book_cpu = 0.0
        self.book_mem = 0.0
        self.resident = 0
        # running set
        self.n = 0
        size = 8
        self.inst = np.zeros(size, dtype=np.int64)
        self.demand = np.zeros(size)  # cores wanted now (already capped by vCPUs / limit)
        self.weight = np.ones(size)  # CPU weight
        self.alloc = np.zeros(size)  # cores given now
        self.gap = np.zeros(size)  # demand − alloc: cores wanted but not given
        self.rate = np.zeros(size)  # batch progress, full-speed seconds per second (0: service)
        self.mem = np.zeros(size)  # GiB used now (guest or container, without overhead)
        self.hwm = np.zeros(size)  # most GiB used so far in this attempt (a guest keeps it)
        self.batch = np.zeros(size, dtype=bool)
        self.rem = np.zeros(size)  # batch work left, full-speed seconds
        self.since = np.zeros(size)  # slot's accumulators are settled up to here
        self.demand_acc = np.zeros(size)  # ∫ demand dt, core-seconds
        self.unmet_acc = np.zeros(size)  # ∫ (demand − alloc) dt
        self.swap_acc = np.zeros(size)  # time spent on a host that swaps
        # sums over the running set, kept as slots come and go (exact again every usage step)
        self.batch_n = 0  # batch instances in the running set
        self.demand_sum = 0.0
        self.mem_sum = 0.0
        self.hwm_sum = 0.0
        # aggregates of the running set
        self.cpu_demand = 0.0
        self.mem_used = 0.0  # host memory resident: footprints after reclaim, without swap
        self.swapped = 0.0  # GiB in host swap
        self.reclaiming = False  # VM memory demand above allocatable: KSM, balloon, swap
        self.contended = False  # CPU demand above the cores
        self.speed = 1.0  # progress factor from swapping
        self.finish_token = 0  # identifies the one valid 'next batch finish' event
        self.finish_pending = False
        # integrals
        self.last_t = 0.0
        self.resident_s = 0.0
        self.cpu_demand_s = 0.0
        self.cpu_used_s = 0.0
        self.mem_used_s = 0.0
        self.mem_alloc_s = 0.0
        self.stranded_s = 0.0
        self.swap_s = 0.0
        self.swapped_gib_s = 0.0
        self.reclaim_s = 0.0
        self.energy_j = 0.0
        self.peak_resident = 0

    # --- bookings ------------------------------------------------------------------

    def fits(self, cpu: float, mem: float) -> bool:
        return self.book_cpu + cpu <= self.cpu_cap and self.book_mem + mem <= self.mem_cap

    def book(self, now: float, cpu: float, mem: float) -> None:
        self.advance(now)
        self.book_cpu += cpu
        self.book_mem += mem
        self.resident += 1
        if self.resident > self.peak_resident:
            self.peak_resident = self.resident

    def release(self, now: float, cpu: float, mem: float) -> None:
        self.advance(now)
        self.book_cpu -= cpu
        self.book_mem -= mem
        self.resident -= 1
        if self.resident == 0:  # forget accumulated rounding error
            self.book_cpu = self.book_mem = 0.0

    # --- integrals -----------------------------------------------------------------

    def advance(self, now: float) -> None:
        dt = now - self.last_t
        if dt > 0:
            self.resident_s += self.resident * dt
            self.cpu_demand_s += self.cpu_demand * dt
            used = min(self.cpu_demand, self.cores)
            self.cpu_used_s += used * dt
            if self.resident or not self.power_off_idle:  # linear in CPU utilisation
                self.energy_j += (self.power_idle_w
                                  + (self.power_max_w - self.power_idle_w) * used / self.cores) * dt
            self.mem_used_s += (self.mem_used + self.base) * dt
            self.mem_alloc_s += (self.book_mem + self.base) * dt
            # Booked but unused, up to what the host has: booking beyond it strands nothing.
            stranded = min(self.book_mem, self.allocatable) - self.mem_used
            if stranded > 0:
                self.stranded_s += stranded * dt
            if self.reclaiming:
                self.reclaim_s += dt
                if self.swapped > 0:
                    self.swap_s += dt
                    self.swapped_gib_s += self.swapped * dt
            self.last_t = now

    @property
    def cpu_used(self) -> float:
        return min(self.cpu_demand, self.cores)

    @property
    def slow(self) -> bool:
        """Shares differ from demands: every change must settle the whole running set."""
        return self.contended or self.swapped > 0

    # --- the running set -----------------------------------------------------------

    def add(self, now: float, i: int, demand: float, weight: float, mem: float, batch: bool,
            work_s: float, slot_of: list[int]) -> None:
        """Start running instance ``i``; call :meth:`rebalance` after."""
        if self.slow:
            self.settle(now)
        if self.n == len(self.inst):
            self._grow()
        s = self.n
        self.n += 1
        self.inst[s], self.demand[s], self.weight[s] = i, demand, weight
        self.alloc[s] = demand
        self.gap[s] = 0.0
        self.rate[s] = self.speed if batch else 0.0
        self.mem[s] = self.hwm[s] = mem
        self.batch[s], self.rem[s], self.since[s] = batch, work_s, now
        self.demand_acc[s] = self.unmet_acc[s] = self.swap_acc[s] = 0.0
        slot_of[i] = s
        self.demand_sum += demand
        self.mem_sum += mem
        self.hwm_sum += mem
        self.batch_n += batch

    def remove(self, now: float, s: int, slot_of: list[int]) -> tuple[float, float, float]:
        """Stop running the instance in slot ``s``; return its (demand, unmet, swap) integrals.

        The last slot moves into ``s``. Call :meth:`rebalance` after.
        """
        if self.slow:
            self.settle(now)
        else:
            self._settle_slot(now, s)
        result = (self.demand_acc[s], self.unmet_acc[s], self.swap_acc[s])
        slot_of[self.inst[s]] = -1
        self.batch_n -= bool(self.batch[s])
        if self.n == 1:  # forget accumulated rounding error
            self.demand_sum = self.mem_sum = self.hwm_sum = 0.0
        else:
            self.demand_sum -= self.demand[s]
            self.mem_sum -= self.mem[s]
            self.hwm_sum -= self.hwm[s]
        last = self.n - 1
        if s != last:
            for array in self._arrays():
                array[s] = array[last]
            slot_of[self.inst[s]] = s
        self.n = last
        return result

    def set_usage(self, now: float, demand: np.ndarray, mem: np.ndarray) -> None:
        """New demand and memory for every slot (a usage step); call :meth:`rebalance` after."""
        self.settle(now)
        n = self.n
        self.demand[:n] = demand
        self.alloc[:n] = demand  # rebalance shares them out if they no longer fit
        self.gap[:n] = 0.0
        self.mem[:n] = mem
        np.maximum(self.hwm[:n], mem, out=self.hwm[:n])
        self.demand_sum = float(self.demand[:n].sum())
        self.mem_sum = float(self.mem[:n].sum())
        self.hwm_sum = float(self.hwm[:n].sum())

    def settle(self, now: float) -> None:
        """Bring every slot's accumulators and batch work up to ``now``."""
        n = self.n
        if n == 0:
            return
        dt = now - self.since[:n]
        self.demand_acc[:n] += self.demand[:n] * dt
        if self.contended:
            self.unmet_acc[:n] += self.gap[:n] * dt
        if self.swapped > 0:
            self.swap_acc[:n] += dt
        if self.batch_n:
            self.rem[:n] -= self.rate[:n] * dt
        self.since[:n] = now

    def _settle_slot(self, now: float, s: int) -> None:
        dt = now - self.since[s]
        self.demand_acc[s] += self.demand[s] * dt
        self.unmet_acc[s] += self.gap[s] * dt
        if self.swapped > 0:
            self.swap_acc[s] += dt
        self.rem[s] -= self.rate[s] * dt
        self.since[s] = now

    def rebalance(self, now: float) -> None:
        """Recompute aggregates, VM memory reclaim and CPU shares after a change.

        Call after :meth:`add`, :meth:`remove` or :meth:`set_usage`, and after container
        memory pressure has been resolved.
        """
        self.advance(now)
        n = self.n
        cpu_demand = self.demand_sum
        contended = cpu_demand > self.cores + EPS
        mem_used, swapped, speed, reclaiming = self._memory()
        was_slow = self.slow
        if not was_slow and (contended or swapped > 0):
            self.settle(now)  # until now everyone had its full share
        self.cpu_demand, self.contended = cpu_demand, contended
        self.mem_used, self.swapped, self.speed, self.reclaiming = mem_used, swapped, speed, reclaiming
        if contended:
            demand = self.demand[:n]
            alloc = self.alloc[:n] = water_fill(demand, self.weight[:n], self.cores)
            self.gap[:n] = demand - alloc
        elif was_slow:
            self.alloc[:n] = self.demand[:n]
            self.gap[:n] = 0.0
        if self.batch_n and (was_slow or self.slow):
            # progress = share of its demand it gets, slowed by swapping
            batch, demand = self.batch[:n], self.demand[:n]
            share = np.divide(self.alloc[:n], demand, out=np.ones(n), where=demand > 0)
            self.rate[:n] = np.where(batch, share * self.speed, 0.0)

    def _memory(self) -> tuple[float, float, float, bool]:
        """(resident GiB, swapped GiB, speed, reclaiming) of the running set as it is now."""
        n = self.n
        overhead = self.overhead * n
        if not self.vm:
            return self.mem_sum + overhead, 0.0, 1.0, False
        # A guest keeps the memory it has touched (high-water mark) until the hypervisor
        # reclaims: page sharing first, then the balloon takes what the guest does not use
        # now, then the host swaps the rest.
        touched = self.hwm_sum
        demand = touched + overhead
        if demand <= self.allocatable + EPS:
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
        return self.mem_sum + self.overhead * self.n > self.allocatable + EPS

    def next_finish(self, now: float) -> float | None:
        """When the next batch instance will finish at current shares, or ``None``."""
        if not self.batch_n:
            return None
        n = self.n
        rate = self.rate[:n]
        running = rate > 0  # services have rate 0; a starved batch instance too
        if not running.any():
            return None
        # A slot's work left is as of its own `since` (fast-path slots are settled lazily).
        left = np.maximum(self.rem[:n][running], 0.0)
        return float((self.since[:n][running] + left / rate[running]).min())

    def finished_slots(self) -> list[int]:
        n = self.n
        return np.flatnonzero(self.batch[:n] & (self.rem[:n] <= DONE)).tolist()

    _ARRAYS = ("inst", "demand", "weight", "alloc", "gap", "rate", "mem", "hwm", "batch", "rem", "since",
               "demand_acc", "unmet_acc", "swap_acc")

    def _arrays(self) -> list[np.ndarray]:
        return [getattr(self, name) for name in self._ARRAYS]

    def _grow(self) -> None:
        for name in self._ARRAYS:
            old = getattr(self, name)
            new = np.zeros(2 * len(old), dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)
