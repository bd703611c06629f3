"""The incremental placer (engine/placer.py) must never change a pick: over random fleets
and random sequences of bookings, releases, hosts going down and up, and starts against a
limit, it picks what the plain computation over the whole fleet picks (the fit test on
every host, then the policy of simdc.placement), for every policy it serves."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simdc
from simdc.config import validate
from simdc.engine import simulation
from simdc.engine.placer import Placer
from simdc.engine.rules import fits, limit
from simdc.placement import POLICIES, SCORERS, Fleet, left_after

from .test_first_fit import through_a_fifo_queue

QUARTERS = [0.25, 0.5, 1.0, 2.0, 4.0]  # cores: sums of these are exact, hosts fill to the last bit
SIZES = [(1.0, 1.75), (2.0, 3.5), (0.25, 0.5), (4.0, 7.0), (8.0, 56.0), (1.0, 0.75)]  # (cores, GiB): few
WEIGHTS = [{"least_allocated": 1.0, "balanced_allocation": 1.0}, {"most_allocated": 2.0},
           {"least_allocated": 0.5, "most_allocated": 1.0, "balanced_allocation": 3.0}, {}]
PLACED_BY_IT = ["first_fit", "best_fit", "worst_fit", "kubernetes"]


class Fleetful:
    """Hosts as the engine keeps them (bookings in fleet-wide arrays; down; starting),
    the placer told of every change as HostState tells it, each pick held to the plain
    computation's."""

    def __init__(self, policy, weights, hosts, sizes, max_starts, few, any_size=False):
        self.policy, self.weights, self.max_starts = policy, weights, max_starts
        self.hosts = [SimpleNamespace(index=j, cpu_cap=limit(float(c)), mem_cap=limit(float(g)), cpu_capacity=float(c),
                                      mem_capacity=float(g), down=False, starting=0, resident=0)
                      for j, (c, g) in enumerate(hosts)]
        self.cpu_caps = np.array([h.cpu_cap for h in self.hosts])  # the fit test's limits
        self.mem_caps = np.array([h.mem_cap for h in self.hosts])
        # what each host offers, which the scores are of (kube-scheduler's allocatable, no slack)
        self.cpu_capacities = np.array([h.cpu_capacity for h in self.hosts])
        self.mem_capacities = np.array([h.mem_capacity for h in self.hosts])
        self.booked_cpu, self.booked_mem = np.zeros(len(hosts)), np.zeros(len(hosts))
        self.book_cpu = [cpu for cpu, _ in sizes]
        self.book_mem = [mem for _, mem in sizes]
        self.placer = Placer(policy, weights, self.hosts, self.booked_cpu, self.booked_mem, self.book_cpu,
                             self.book_mem, max_starts, few, any_size=any_size)
        self.placed: list[tuple[int, float, float]] = []  # (host, cores, GiB)
        self.picks = 0

    def plain(self, size: int) -> int:
        """The whole fleet's fit test, then the policy (simulation._place before the placer)."""
        cpu, mem = self.book_cpu[size], self.book_mem[size]
        room = fits(self.booked_cpu, self.booked_mem, cpu, mem, self.cpu_caps, self.mem_caps)
        room &= ~np.array([h.down for h in self.hosts])
        if self.max_starts is not None:
            room &= np.array([h.starting < self.max_starts for h in self.hosts])
        if not room.any():
            return -1
        fleet = Fleet(self.cpu_capacities, self.mem_capacities, self.booked_cpu.copy(), self.booked_mem.copy(), room,
                      cpu, mem)
        return POLICIES[self.policy](fleet, weights=self.weights)

    def place(self, size: int) -> bool:
        expected = self.plain(size)
        j = self.placer.place(size)
        assert j == expected
        self.picks += 1
        if j >= 0:
            self.booked_cpu[j] += self.book_cpu[size]
            self.booked_mem[j] += self.book_mem[size]
            self.hosts[j].resident += 1
            self.placer.grew(j)
            self.placed.append((j, self.book_cpu[size], self.book_mem[size]))
        return j >= 0

    def release(self, pick: int) -> None:
        j, cpu, mem = self.placed.pop(pick % len(self.placed))
        self.booked_cpu[j] -= cpu
        self.booked_mem[j] -= mem
        self.hosts[j].resident -= 1
        if not self.hosts[j].resident:  # as HostState.release: accumulated rounding forgotten
            self.booked_cpu[j] = self.booked_mem[j] = 0.0
        self.placer.shrank(j)

    def resize(self, pick: int) -> None:
        """A request's booking changes before it is placed (admission by the recommender),
        to sizes below every one it was built with too."""
        size = pick % len(self.book_cpu)
        self.book_cpu[size] = [0.125, 0.25, 1.0, 2.0, 4.0][pick % 5]
        self.book_mem[size] = [0.25, 0.5, 2.0, 8.0][pick // 5 % 4]

    def toggle_down(self, j: int) -> None:
        host = self.hosts[j % len(self.hosts)]
        host.down = not host.down
        self.placer.set_down(host.index, host.down)

    def start(self, j: int, change: int) -> None:
        host = self.hosts[j % len(self.hosts)]
        if host.starting + change >= 0:
            host.starting += change
            self.placer.set_starting(host.index, host.starting)


# fleets of 1 to 100 hosts: one host (first fit), a few (the changed hosts rescored one by
# one, or the whole fleet), dozens (as arrays, between the two)
hosts_st = st.sampled_from([1, 3, 8, 40, 100]).flatmap(lambda n: st.lists(
    st.tuples(st.sampled_from([2, 4, 8, 16, 64]), st.sampled_from([4, 8, 16, 64, 256])), min_size=n, max_size=n))
steps_st = st.lists(st.tuples(st.sampled_from(["place", "place", "place", "release", "release", "down", "start",
                                               "started", "resize"]),
                              st.integers(0, 10 ** 6)), min_size=100, max_size=400)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(PLACED_BY_IT), st.sampled_from(WEIGHTS), hosts_st, steps_st,
       st.sampled_from([None, 1, 2]), st.sampled_from([True, True, True, False]), st.booleans())
def test_the_placer_picks_the_plain_computations_host(policy, weights, hosts, steps, max_starts, few, any_size):
    """A few request sizes (the capacity study's kind of workload), bookings coming and
    going, hosts down and up, starts against a limit, and (``any_size``, as with the
    recommender) requests resized before they are placed: every pick is the plain one."""
    fleet = Fleetful(policy, weights, hosts, list(SIZES), max_starts, few and not any_size, any_size)
    for step, pick in steps:
        if step == "resize":
            if any_size:
                fleet.resize(pick)
            continue
        if step == "place" or (step == "release" and not fleet.placed):
            fleet.place(pick % len(SIZES))
        elif step == "release":
            fleet.release(pick)
        elif step == "down":
            fleet.toggle_down(pick)
        else:
            fleet.start(pick, 1 if step == "start" else -1)
    fleet.place(0)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(PLACED_BY_IT), st.sampled_from(WEIGHTS), hosts_st,
       st.lists(st.tuples(st.one_of(st.floats(0.1, 8.0), st.sampled_from(QUARTERS)),
                          st.one_of(st.floats(0.1, 32.0), st.sampled_from([0.5, 2.0, 8.0]))),
                min_size=1, max_size=100),
       st.lists(st.tuples(st.booleans(), st.integers(0, 10 ** 6)), min_size=100, max_size=400), st.booleans())
def test_the_placer_picks_the_plain_computations_host_for_a_queues_head(policy, weights, hosts, sizes, steps, few):
    """Many float sizes (beyond the per-size cache when there are more than it holds)
    and sizes that fill hosts exactly, through a FIFO queue: every departure retries the
    head, as the engine's _drain_queue does."""
    through_a_fifo_queue(Fleetful(policy, weights, hosts, sizes, None, few), len(sizes), steps)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(SCORERS)), st.sampled_from(WEIGHTS),
       st.lists(st.tuples(st.floats(0.5, 512), st.floats(0.5, 2048), st.floats(0, 1), st.floats(0, 1)),
                min_size=1, max_size=20),
       st.floats(0, 64), st.floats(0, 256))
def test_scoring_one_host_gives_the_same_double_as_scoring_the_fleet(name, weights, hosts, cpu, mem):
    """What the incremental placer relies on: a host's score over Python floats (``min``,
    ``math.sqrt``) is the double the vectorised scorer gives that host, for every scorer,
    over hosts full or not (shares above 1 after placement)."""
    cpu_cap, mem_cap = np.array([h[0] for h in hosts]), np.array([h[1] for h in hosts])
    booked_cpu, booked_mem = cpu_cap * np.array([h[2] for h in hosts]), mem_cap * np.array([h[3] for h in hosts])
    score = SCORERS[name]
    whole = score(*left_after(cpu_cap, mem_cap, booked_cpu, booked_mem, cpu, mem), weights)
    for j in range(len(hosts)):
        one = score(*left_after(float(cpu_cap[j]), float(mem_cap[j]), float(booked_cpu[j]), float(booked_mem[j]),
                                cpu, mem), weights, min, math.sqrt)
        assert type(one) is float and one == whole[j]


def capacity_like(policy: str, seed: int, max_starts) -> dict:
    """Ten hosts, images, batch work, interference, failures with resubmission, a queue
    with a bounded wait: the features that book, release, take hosts down and start."""
    return validate({
        "simulation": {"duration_s": 3 * 3600.0, "seed": seed, "platforms": ["vm", "container"],
                       "sample_every_s": 600},
        "cluster": {"hosts": [{"cpu_cores": 16, "memory_gib": 64, "count": 6},
                              {"cpu_cores": 32, "memory_gib": 64, "count": 4}]},
        "placement": {"policy": policy, "when_full": "queue", "max_wait_s": 900,
                      "max_concurrent_starts": max_starts},
        "faults": {"host_mtbf_s": 20_000, "host_repair_s": 1800, "kernel_mtbf_s": 100_000,
                   "on_failure": "resubmit"},
        "workload": {"synthetic": {"arrival_rate_per_s": 0.12, "lifetime_s": {"median": 900, "p95": 7200},
                                   "batch_fraction": 0.3, "membw_intensity": 0.15, "io_intensity": 0.1}},
    })


@pytest.mark.parametrize("policy", PLACED_BY_IT)
def test_a_run_with_the_placer_is_the_run_without_it(policy, monkeypatch):
    """The general engine's whole run (failures, queue, start limit) gives the same
    instance table with the incremental placer as with the plain computation at every
    placement (the engine's own fallback, taken when there is no placer)."""
    config = capacity_like(policy, seed=7, max_starts=2)
    placed = simdc.simulate(config).instances
    monkeypatch.setattr(simulation, "Placer", lambda *args, **kwargs: None)
    plain = simdc.simulate(config).instances
    assert placed["outcome"].isin(["completed", "running_at_end"]).any()
    assert placed.equals(plain)
