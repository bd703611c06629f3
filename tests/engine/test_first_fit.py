"""FirstFit's caches must never change the pick: over random admissions and releases, it
picks what the plain scan (the first host that passes rules.fits) picks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from simdc.engine.first_fit import FirstFit
from simdc.engine.rules import limit, fits

QUARTERS = [0.25, 0.5, 1.0, 2.0, 4.0]  # cores; sums of these are exact: hosts fill to the last bit
HALVES_GIB = [0.5, 2.0, 8.0, 16.0]  # GiB, the same in memory
SIZES = [(1.0, 2.0), (0.25, 0.5), (2.0, 8.0), (4.0, 1.0), (16.0, 64.0)]  # (cores, GiB): few sizes


def plain_scan(booked_cpu, booked_mem, cpu_limit, mem_limit, cpu, mem) -> int:
    for j in range(len(booked_cpu)):
        if fits(booked_cpu[j], booked_mem[j], cpu, mem, cpu_limit[j], mem_limit[j]):
            return j
    return -1


class Checked:
    """Hosts with FirstFit over them, every pick held to the plain scan's."""

    def __init__(self, hosts, sizes, few: bool):
        self.cpu_limit = [limit(float(c)) for c, _ in hosts]
        self.mem_limit = [limit(float(g)) for _, g in hosts]
        self.book_cpu = [cpu for cpu, _ in sizes]
        self.book_mem = [mem for _, mem in sizes]
        self.booked_cpu, self.booked_mem = [0.0] * len(hosts), [0.0] * len(hosts)
        self.fit = FirstFit(self.booked_cpu, self.booked_mem, self.cpu_limit, self.mem_limit, self.book_cpu,
                            self.book_mem, few)
        self.placed: list[tuple[int, int]] = []  # (size, host)

    def place(self, size: int) -> bool:
        expected = plain_scan(self.booked_cpu, self.booked_mem, self.cpu_limit, self.mem_limit,
                              self.book_cpu[size], self.book_mem[size])
        j = self.fit.place(size)
        assert j == expected
        if j >= 0:
            self.booked_cpu[j] += self.book_cpu[size]
            self.booked_mem[j] += self.book_mem[size]
            self.fit.grew(j)
            self.placed.append((size, j))
        return j >= 0

    def release(self, pick: int) -> None:
        size, j = self.placed.pop(pick % len(self.placed))
        self.booked_cpu[j] -= self.book_cpu[size]
        self.booked_mem[j] -= self.book_mem[size]
        self.fit.shrank(j)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(2, 16), st.integers(4, 64)), min_size=2, max_size=6),
       st.lists(st.tuples(st.booleans(), st.integers(0, len(SIZES) - 1), st.integers(0, 10 ** 6)), max_size=120),
       st.booleans())
def test_first_fit_with_its_caches_picks_the_plain_scans_host(hosts, steps, few):
    fleet = Checked(hosts, SIZES, few)
    for arrive, size, pick in steps:
        if arrive or not fleet.placed:
            fleet.place(size)
        else:
            fleet.release(pick)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(2, 16), st.integers(4, 64)), min_size=1, max_size=8),
       st.lists(st.tuples(st.one_of(st.floats(0.1, 8.0), st.sampled_from(QUARTERS)),
                          st.one_of(st.floats(0.1, 32.0), st.sampled_from(HALVES_GIB))), min_size=1, max_size=40),
       st.lists(st.tuples(st.booleans(), st.integers(0, 10 ** 6)), max_size=160),
       st.booleans())
def test_first_fit_for_a_queues_head_picks_the_plain_scans_host(hosts, sizes, steps, few):
    """A FIFO queue as the lanes keep it: arrivals wait behind the head, and every
    departure tries the head again (the *failed* cache's case), over many float sizes and
    sizes that fill hosts exactly (the *first* cache's case: hosts with no room at all)."""
    through_a_fifo_queue(Checked(hosts, sizes, few), len(sizes), steps)


def through_a_fifo_queue(fleet, sizes: int, steps) -> None:
    """Arrivals (``(True, pick)``: size ``pick % sizes``) wait behind the queue's head;
    departures (``(False, pick)``) release a placed instance and try the head again, as
    the engine's drain does. ``fleet`` checks each pick (``place(size) -> bool``,
    ``release(pick)``, ``placed``)."""
    queue: list[int] = []
    for arrive, pick in steps:
        if arrive or not fleet.placed:
            size = pick % sizes
            if queue or not fleet.place(size):
                queue.append(size)
        else:
            fleet.release(pick)
            while queue and fleet.place(queue[0]):
                queue.pop(0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(2, 16), st.integers(4, 64)), min_size=2, max_size=8),
       st.lists(st.tuples(st.integers(0, len(SIZES) - 1), st.integers(1, 12), st.lists(st.integers(0, 10 ** 6),
                                                                                      max_size=4)), max_size=30),
       st.booleans())
def test_first_fit_over_runs_of_one_size_picks_the_plain_scans_host(hosts, jobs, few):
    """Jobs whose instances come one after another, each of the job's size (the *after*
    cache's case: a scan starts where the last one of that size stopped), with releases
    anywhere in the fleet between them (which move that start back)."""
    fleet = Checked(hosts, SIZES, few)
    for size, count, releases in jobs:
        for k in range(count):
            fleet.place(size)
            if k < len(releases) and fleet.placed:
                fleet.release(releases[k])
