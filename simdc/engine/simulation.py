"""One platform's run over a workload: submit → admit, queue or reject → start →
running → end.

Each instance waits on one thing at a time, so instances are not SimPy processes: each
step is a timeout whose callback takes the next step (DESIGN.md §3). Per-instance
numbers live in plain lists indexed by workload row; the tables are built once, at
the end.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import pandas as pd
import simpy
from simpy.events import Timeout

from simdc.engine.host import HostState
from simdc.engine.rules import caps, footprints
from simdc.model.host import HostSpec
from simdc.model.platform import ContainerPlatform, VmPlatform
from simdc.placement import POLICIES
from simdc.random import stream

# Instance states during the run, and the outcome each leaves at the end.
WAITING, QUEUED, STARTING, RUNNING, COMPLETED, REJECTED = range(6)
OUTCOMES = ("completed", "rejected", "oom_killed", "evicted", "running_at_end", "queued_at_end")
FINAL_OUTCOME = {
    WAITING: "queued_at_end",  # not reached: every row arrives before the horizon
    QUEUED: "queued_at_end",
    STARTING: "running_at_end",
    RUNNING: "running_at_end",
    COMPLETED: "completed",
    REJECTED: "rejected",
}


@dataclass(frozen=True)
class PlatformRun:
    """The raw tables of one platform's run."""

    instances: pd.DataFrame  # one row per workload row
    hosts: pd.DataFrame  # one row per host: capacity and time integrals
    timeseries: pd.DataFrame  # one row per host and sample


def run_platform(name: str, platform: VmPlatform | ContainerPlatform, hosts: list[HostSpec],
                 instances: pd.DataFrame, *, duration_s: float, sample_every_s: float, seed: int,
                 policy: str = "first_fit", when_full: str = "reject",
                 max_wait_s: float | None = None) -> PlatformRun:
    """Replay ``instances`` (sorted by ``submit_s``) on ``hosts`` under ``platform``.

    Parameters
    ----------
    duration_s
        Horizon in seconds; the state at that moment decides ``running_at_end``.
    sample_every_s
        Step of the timeseries, seconds.
    seed
        The run's seed; this platform's random streams are derived from it and ``name``.
    """
    sim = _Simulation(name, platform, hosts, instances, duration_s, sample_every_s, seed,
                      policy, when_full, max_wait_s)
    return sim.run()


class _Simulation:
    def __init__(self, name, platform, hosts, instances, duration_s, sample_every_s, seed,
                 policy, when_full, max_wait_s):
        self.name = name
        self.env = simpy.Environment()
        self.duration_s = float(duration_s)
        self.sample_every_s = float(sample_every_s)
        self.choose = POLICIES[policy]
        self.queue_when_full = when_full == "queue"
        self.max_wait_s = max_wait_s
        self.hosts = [HostState(i, spec, *caps(platform, spec)) for i, spec in enumerate(hosts)]
        self.max_cpu_cap = max(h.cpu_cap for h in self.hosts)
        self.max_mem_cap = max(h.mem_cap for h in self.hosts)

        fp = footprints(platform, instances, stream(seed, f"start:{name}"))
        self.ids = instances["id"].to_numpy()
        self.submit = instances["submit_s"].to_numpy(float).tolist()
        self.duration = instances["duration_s"].to_numpy(float).tolist()
        self.book_cpu = fp.book_cpu.tolist()
        self.book_mem = fp.book_mem_gib.tolist()
        self.cpu_demand = fp.cpu_demand.tolist()
        self.mem_used = fp.mem_used_gib.tolist()
        self.start_s = fp.start_s.tolist()

        n = len(self.submit)
        nan = float("nan")
        self.state = [WAITING] * n
        self.host_of = [-1] * n
        self.admit_s = [nan] * n
        self.ready_s = [nan] * n
        self.end_s = [nan] * n
        self.queue: deque[int] = deque()
        self.samples: list[tuple] = []

    # --- the run -------------------------------------------------------------------

    def run(self) -> PlatformRun:
        if self.submit:
            self._after(self.submit[0], self._on_arrival, 0)
        self._after(0.0, self._on_sample, None)
        self.env.run(until=self.duration_s)
        for host in self.hosts:
            host.advance(self.duration_s)
        return PlatformRun(self._instances_table(), self._hosts_table(), self._timeseries_table())

    def _after(self, delay: float, callback, value) -> None:
        Timeout(self.env, delay, value).callbacks.append(callback)

    def _on_arrival(self, event) -> None:
        k = event._value
        now = self.env.now
        submit = self.submit
        n = len(submit)
        while True:
            self._submit(k, now)
            k += 1
            if k >= n or submit[k] > now:
                break
        if k < n:
            self._after(submit[k] - now, self._on_arrival, k)

    def _submit(self, i: int, now: float) -> None:
        cpu, mem = self.book_cpu[i], self.book_mem[i]
        if cpu > self.max_cpu_cap or mem > self.max_mem_cap:
            self._reject(i, now)  # fits on no host, even empty: never queue it
            return
        queue = self.queue
        while queue and self.state[queue[0]] != QUEUED:  # drop those who gave up
            queue.popleft()
        if not queue:  # FIFO: nobody may overtake a waiting request
            host = self._place(i)
            if host is not None:
                self._admit(i, host, now)
                return
        if self.queue_when_full:
            self.state[i] = QUEUED
            queue.append(i)
            if self.max_wait_s is not None:
                self._after(self.max_wait_s, self._on_give_up, i)
        else:
            self._reject(i, now)

    def _place(self, i: int) -> HostState | None:
        cpu, mem = self.book_cpu[i], self.book_mem[i]
        index = self.choose([h.fits(cpu, mem) for h in self.hosts])
        return None if index is None else self.hosts[index]

    def _admit(self, i: int, host: HostState, now: float) -> None:
        host.book(now, self.book_cpu[i], self.book_mem[i])
        self.host_of[i] = host.index
        self.admit_s[i] = now
        self.state[i] = STARTING
        delay = self.start_s[i]
        if delay > 0:
            self._after(delay, self._on_ready, i)
        else:
            self._ready(i, now)

    def _on_ready(self, event) -> None:
        self._ready(event._value, self.env.now)

    def _ready(self, i: int, now: float) -> None:
        self.hosts[self.host_of[i]].start_running(now, self.cpu_demand[i], self.mem_used[i])
        self.ready_s[i] = now
        self.state[i] = RUNNING
        self._after(self.duration[i], self._on_end, i)

    def _on_end(self, event) -> None:
        i = event._value
        now = self.env.now
        host = self.hosts[self.host_of[i]]
        host.stop_running(now, self.cpu_demand[i], self.mem_used[i])
        host.release(now, self.book_cpu[i], self.book_mem[i])
        self.end_s[i] = now
        self.state[i] = COMPLETED
        if self.queue:
            self._drain_queue(now)

    def _drain_queue(self, now: float) -> None:
        """Admit waiting requests in FIFO order until the head does not fit."""
        queue = self.queue
        while queue:
            i = queue[0]
            if self.state[i] != QUEUED:  # gave up while waiting
                queue.popleft()
                continue
            host = self._place(i)
            if host is None:
                return
            queue.popleft()
            self._admit(i, host, now)

    def _on_give_up(self, event) -> None:
        i = event._value
        if self.state[i] == QUEUED:
            self._reject(i, self.env.now)
            if self.queue and self.queue[0] == i:
                self._drain_queue(self.env.now)  # the head left: the next may fit

    def _reject(self, i: int, now: float) -> None:
        self.state[i] = REJECTED
        self.end_s[i] = now

    def _on_sample(self, event) -> None:
        now = self.env.now
        for h in self.hosts:
            self.samples.append((now, h.index, h.resident, h.running, h.cpu_demand, h.cpu_used,
                                 h.mem_used, h.book_mem))
        if now + self.sample_every_s < self.duration_s:
            self._after(self.sample_every_s, self._on_sample, None)

    # --- tables --------------------------------------------------------------------

    def _instances_table(self) -> pd.DataFrame:
        submit = np.asarray(self.submit)
        admit = np.asarray(self.admit_s)
        ready = np.asarray(self.ready_s)
        end = np.asarray(self.end_s)
        outcome = [FINAL_OUTCOME[s] for s in self.state]
        # Time spent waiting for a host: until admission, until giving up, or until the end.
        waited_until = np.where(np.isnan(admit), np.where(np.isnan(end), self.duration_s, end), admit)
        return pd.DataFrame({
            "id": self.ids,
            "platform": self.name,
            "host": np.asarray(self.host_of, dtype=np.int64),
            "submit_s": submit,
            "admit_s": admit,
            "ready_s": ready,
            "end_s": end,
            "outcome": pd.Categorical(outcome, categories=OUTCOMES),
            "queue_s": waited_until - submit,
            "boot_s": ready - admit,
        })

    def _hosts_table(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "platform": self.name,
            "host": h.index,
            "cpu_cores": h.spec.cpu_cores,
            "memory_gib": h.spec.memory_gib,
            "duration_s": self.duration_s,
            "peak_resident": h.peak_resident,
            "resident_s": h.resident_s,
            "cpu_demand_core_s": h.cpu_demand_s,
            "cpu_used_core_s": h.cpu_used_s,
            "mem_used_gib_s": h.mem_used_s,
            "mem_alloc_gib_s": h.mem_alloc_s,
        } for h in self.hosts])

    def _timeseries_table(self) -> pd.DataFrame:
        columns = ["t_s", "host", "resident", "running", "cpu_demand", "cpu_used",
                   "mem_used_gib", "mem_alloc_gib"]
        table = pd.DataFrame(self.samples, columns=columns)
        table.insert(0, "platform", self.name)
        return table
