"""A host's state during a run, with its time-weighted integrals kept as it changes."""

from __future__ import annotations

from simdc.model.host import HostSpec

EPS = 1e-9  # slack for sums of float sizes, so 4 × 0.25 fits in 1.0


class HostState:
    """Booked and used resources of one host, and ∫ value dt of each since t = 0.

    Every change calls :meth:`advance` first, so integrals cost O(1) per change.
    """

    __slots__ = ("index", "spec", "cpu_cap", "mem_cap", "cores",
                 "book_cpu", "book_mem", "resident", "running", "cpu_demand", "mem_used",
                 "last_t", "resident_s", "cpu_demand_s", "cpu_used_s", "mem_used_s", "mem_alloc_s",
                 "peak_resident")

    def __init__(self, index: int, spec: HostSpec, cpu_cap: float, mem_cap: float):
        self.index = index
        self.spec = spec
        self.cpu_cap = cpu_cap + EPS
        self.mem_cap = mem_cap + EPS
        self.cores = float(spec.cpu_cores)
        self.book_cpu = 0.0
        self.book_mem = 0.0
        self.resident = 0  # placed: starting or running
        self.running = 0
        self.cpu_demand = 0.0
        self.mem_used = 0.0
        self.last_t = 0.0
        self.resident_s = 0.0
        self.cpu_demand_s = 0.0
        self.cpu_used_s = 0.0
        self.mem_used_s = 0.0
        self.mem_alloc_s = 0.0
        self.peak_resident = 0

    def fits(self, cpu: float, mem: float) -> bool:
        return self.book_cpu + cpu <= self.cpu_cap and self.book_mem + mem <= self.mem_cap

    def advance(self, now: float) -> None:
        dt = now - self.last_t
        if dt > 0:
            self.resident_s += self.resident * dt
            self.cpu_demand_s += self.cpu_demand * dt
            self.cpu_used_s += min(self.cpu_demand, self.cores) * dt
            self.mem_used_s += self.mem_used * dt
            self.mem_alloc_s += self.book_mem * dt
            self.last_t = now

    @property
    def cpu_used(self) -> float:
        """CPU delivered: demand, up to the host's cores (fluid sharing)."""
        return min(self.cpu_demand, self.cores)

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

    def start_running(self, now: float, cpu: float, mem: float) -> None:
        self.advance(now)
        self.running += 1
        self.cpu_demand += cpu
        self.mem_used += mem

    def stop_running(self, now: float, cpu: float, mem: float) -> None:
        self.advance(now)
        self.running -= 1
        self.cpu_demand -= cpu
        self.mem_used -= mem
        if self.running == 0:  # forget accumulated rounding error
            self.cpu_demand = self.mem_used = 0.0
