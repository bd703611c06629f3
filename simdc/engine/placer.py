"""Placement, kept up to date as hosts change instead of recomputed.

Placing a request with a scoring policy (:data:`simdc.placement.SCORERS`: best fit, worst
fit, Kubernetes) means the fit test and a score for every host, then the best score: at
1,000 hosts that is O(hosts) numpy work for every arrival and every retry of a queue's
head, though between two requests only the few hosts that took or lost an instance
changed. :class:`ScoredPlacer` keeps, for each request size, every host's score and fit
as of that size's last placement, and rescores only the hosts reported changed since;
first fit uses :class:`~simdc.engine.first_fit.FirstFit`. :class:`Placer` puts either
behind one interface for both lanes (:meth:`~simdc.engine.simulation.Simulation._placement`)
and turns a host that takes nothing new (down, cordoned, or at the limit on concurrent
starts) into a CPU limit of −inf, which fails the fit test and leaves the caches'
assumptions as they are (only a growing booking or a lower limit makes a host fail). Random placement draws over
the fitting hosts from the run's stream (:meth:`~simdc.engine.simulation.Simulation._pick`).

Every pick is the one the plain computation over the whole fleet makes: the same fit
test, the same doubles for the scores (:mod:`simdc.placement`), the same argmax.
"""

from __future__ import annotations

import math

import numpy as np

from simdc.engine.first_fit import FEW_SIZES, FirstFit
from simdc.engine.rules import fits
from simdc.placement import SCORERS, left_after, one_host_scorer

# Up to this many changed hosts, rescored one by one in Python; beyond, as arrays. Measured
# on the project's 2-core machine (`python benchmarks/change_path.py rescore`, best of 7;
# benchmarks/README.md, "The capacity study's change path"): one host ~1.3 µs with the
# scorer composed from the fleet's rule (one_host_scorer), the arrays ~16 µs whatever
# their length up to 48: even at ~12 hosts.
SCALAR_HOSTS = 12


class _Size:
    """What :class:`ScoredPlacer` knows of one request size: each host's score where it
    fits and −inf where not (``masked``), its fit (``fits``), as of ``seen`` (a position in
    the log of changed hosts)."""

    __slots__ = ("masked", "fits", "seen")

    def __init__(self, masked: np.ndarray, fits: np.ndarray, seen: int):
        self.masked, self.fits, self.seen = masked, fits, seen


class ScoredPlacer:
    """The host with the best score among those that fit, ties to the first (``argmax``).

    ``booked_cpu`` and ``booked_mem`` are the caller's arrays of hosts' bookings (cores,
    GiB; shape ``(hosts,)``), read as they change; ``cpu_cap`` and ``mem_cap`` the caps
    scores are taken against and ``cpu_limit`` and ``mem_limit`` the limits of the fit
    test (:func:`~simdc.engine.rules.limit`), all Python lists; ``cpu_limits``, an array
    the caller keeps equal to ``cpu_limit`` (it lowers both to −inf at ``j`` while host
    ``j`` takes nothing new); ``book_cpu`` and ``book_mem``
    each request's booking, by instance; ``score`` a scorer of
    :data:`simdc.placement.SCORERS` with its ``weights``. The caller must call
    :meth:`grew` or :meth:`shrank` after host ``j``'s bookings or limit change.

    The cache, and what it assumes: for up to :data:`~simdc.engine.first_fit.FEW_SIZES`
    request sizes (only with ``few``), each host's score and fit as of the size's last
    placement, and a log of the hosts reported changed since, in order. A host's score and
    fit depend on its own bookings, caps and limits only (the scorers compute each host
    from its figures, the same doubles over one host as over the fleet), so a host not
    in the log since a size's last placement has the score and fit it had then: only the
    hosts logged since are recomputed (each once), one by one in Python when there are
    few, as arrays when more, and the whole fleet when the log since holds more changes
    than a quarter of the hosts, or was cut short. A size beyond the cache, or any size without ``few``, is
    computed over the whole fleet each time (the plain computation).
    """

    def __init__(self, booked_cpu: np.ndarray, booked_mem: np.ndarray, cpu_cap: list[float], mem_cap: list[float],
                 cpu_limit: list[float], mem_limit: list[float], cpu_limits: np.ndarray, book_cpu: list[float],
                 book_mem: list[float], score, weights: dict[str, float], few: bool):
        self.booked_cpu, self.booked_mem = booked_cpu, booked_mem
        self.cpu_cap, self.mem_cap = cpu_cap, mem_cap
        self.cpu_caps, self.mem_caps = np.array(cpu_cap, dtype=float), np.array(mem_cap, dtype=float)
        self.cpu_limit, self.mem_limit, self.cpu_limits = cpu_limit, mem_limit, cpu_limits
        self.mem_limits = np.array(mem_limit, dtype=float)
        self.book_cpu, self.book_mem = book_cpu, book_mem
        self.score, self.weights = score, weights
        self.score_one = one_host_scorer(score, weights)  # the same doubles, one host at a time
        self.sizes: dict[tuple[float, float], _Size] | None = {} if few else None
        self.log: list[int] = []  # hosts changed, oldest first; log[0] is change number self.base
        self.base = 0
        hosts = len(cpu_cap)
        self.refresh = max(hosts // 4, SCALAR_HOSTS)  # more changed hosts than this: rescore the fleet
        self.log_max = 4 * hosts + 16  # a longer log is cut (sizes behind its new start rescore the fleet)

    def place(self, i: int) -> int:
        """The host the policy picks for request ``i`` among those that fit, or -1."""
        cpu, mem = self.book_cpu[i], self.book_mem[i]
        sizes = self.sizes
        size = sizes.get((cpu, mem)) if sizes is not None else None
        end = self.base + len(self.log)
        if size is None:
            masked, fit = self._fleet(cpu, mem)
            if sizes is not None and len(sizes) < FEW_SIZES:
                sizes[(cpu, mem)] = _Size(masked, fit, end)
        else:
            masked, fit = size.masked, size.fits
            seen = size.seen
            if seen != end:
                if seen < self.base or end - seen > self.refresh:
                    masked[:], fit[:] = self._fleet(cpu, mem)
                else:
                    changed = set(self.log[seen - self.base:])
                    if len(changed) <= SCALAR_HOSTS:
                        self._rescore_each(changed, cpu, mem, masked, fit)
                    else:
                        self._rescore(np.fromiter(changed, dtype=np.intp, count=len(changed)), cpu, mem, masked, fit)
                size.seen = end
        j = int(masked.argmax())
        if masked[j] == -math.inf and not fit.any():  # (only a fitting host's score could be −inf too)
            return -1
        return j

    def grew(self, j: int) -> None:
        """Host ``j``'s bookings grew (or its limit fell)."""
        log = self.log
        log.append(j)
        if len(log) > self.log_max:
            self._cut()

    shrank = grew  # a score is not monotone in the bookings: either way, host j is rescored

    def _fleet(self, cpu: float, mem: float) -> tuple[np.ndarray, np.ndarray]:
        """Every host's masked score and fit for a request of ``cpu`` cores, ``mem`` GiB."""
        booked_cpu, booked_mem = self.booked_cpu, self.booked_mem
        fit = fits(booked_cpu, booked_mem, cpu, mem, self.cpu_limits, self.mem_limits)
        scores = self.score(*left_after(self.cpu_caps, self.mem_caps, booked_cpu, booked_mem, cpu, mem), self.weights)
        return np.where(fit, scores, -np.inf), fit

    def _rescore(self, hosts: np.ndarray, cpu: float, mem: float, masked: np.ndarray, fit: np.ndarray) -> None:
        """:meth:`_fleet` over ``hosts`` only, written into ``masked`` and ``fit``."""
        booked_cpu, booked_mem = self.booked_cpu[hosts], self.booked_mem[hosts]
        some_fit = fits(booked_cpu, booked_mem, cpu, mem, self.cpu_limits[hosts], self.mem_limits[hosts])
        scores = self.score(*left_after(self.cpu_caps[hosts], self.mem_caps[hosts], booked_cpu, booked_mem, cpu, mem),
                            self.weights)
        masked[hosts] = np.where(some_fit, scores, -np.inf)
        fit[hosts] = some_fit

    def _rescore_each(self, hosts, cpu: float, mem: float, masked: np.ndarray, fit: np.ndarray) -> None:
        """:meth:`_rescore` one host at a time, over Python floats: the same operations on
        the same doubles (the score by :func:`~simdc.placement.one_host_scorer`)."""
        booked_cpu, booked_mem = self.booked_cpu, self.booked_mem
        cpu_item = booked_cpu.item if isinstance(booked_cpu, np.ndarray) else booked_cpu.__getitem__
        mem_item = booked_mem.item if isinstance(booked_mem, np.ndarray) else booked_mem.__getitem__
        cpu_limit, mem_limit, cpu_cap, mem_cap, score_one = (self.cpu_limit, self.mem_limit, self.cpu_cap,
                                                            self.mem_cap, self.score_one)
        for j in hosts:
            cpu_booked, mem_booked = cpu_item(j), mem_item(j)
            if fits(cpu_booked, mem_booked, cpu, mem, cpu_limit[j], mem_limit[j]):
                fit[j] = True
                masked[j] = score_one(cpu_cap[j], mem_cap[j], cpu_booked, mem_booked, cpu, mem)
            else:
                fit[j] = False
                masked[j] = -math.inf

    def _cut(self) -> None:
        """Drop the log's start: sizes further behind than :attr:`refresh` rescore the
        fleet at their next placement anyway, and now must (their ``seen`` falls before
        the log's new start); the others keep what they need."""
        end = self.base + len(self.log)
        keep = min((size.seen for size in (self.sizes or {}).values() if size.seen >= end - self.refresh), default=end)
        del self.log[:keep - self.base]
        self.base = keep


class Placer:
    """Placement for every policy but ``random``, in both lanes: :class:`FirstFit` for
    ``first_fit``, :class:`ScoredPlacer` for the others, and on one host (where every
    policy picks the host if it fits) the fit test alone, which needs no cache.

    ``hosts`` are the engine's :class:`~simdc.engine.host.HostState` (their caps, in
    cores and GiB, are the fit test's limits and the scores' capacities); ``booked_cpu``
    and ``booked_mem`` the hosts' bookings, read as they change: the fleet's lists
    (:class:`~simdc.engine.host.Bookings`) or their copy as arrays
    (:class:`~simdc.engine.host.BookedArrays`), which the scoring policies need (they
    score the fleet at once); ``book_cpu`` and ``book_mem`` each
    request's booking; ``max_starts`` the limit on concurrent starts per host (None:
    none); ``few`` whether requests come in few sizes
    (:func:`~simdc.engine.first_fit.few_sizes`); ``any_size`` that bookings may change
    after this is built (admission by the recommender). The hosts report every change:
    :meth:`grew` and :meth:`shrank` after a booking (``tracks``: whether the placement
    keeps anything they change; not on one host), :meth:`set_down` and
    :meth:`set_starting` after their state changes.
    """

    def __init__(self, policy: str, weights: dict[str, float], hosts: list, booked_cpu, booked_mem,
                 book_cpu: list[float], book_mem: list[float], max_starts: int | None,
                 few: bool, any_size: bool = False, smallest: tuple[float, float] | None = None):
        self.cpu_cap = [h.cpu_cap for h in hosts]  # the fit test's limits (with its slack, rules.limit)
        mem_cap = [h.mem_cap for h in hosts]
        # the scores' capacities: what each host offers, without the slack (kube-scheduler's
        # allocatable), so that equal scores are equal doubles and ties go to the first host
        cpu_capacity, mem_capacity = [h.cpu_capacity for h in hosts], [h.mem_capacity for h in hosts]
        self.cpu_limit = list(self.cpu_cap)  # −inf where the host takes nothing new
        self.cpu_limits = np.array(self.cpu_limit, dtype=float)  # the same, as an array
        self.max_starts = max_starts
        self.down = [False] * len(hosts)
        self.full = [False] * len(hosts)  # at the limit on concurrent starts
        self.tracks = len(hosts) > 1
        if not self.tracks:  # the fit test on the one host: nothing kept, nothing to tell
            self.inner = None
            self.place = _one_host(booked_cpu, booked_mem, self.cpu_limit, mem_cap[0], book_cpu, book_mem)
            self.grew = self.shrank = _unchanged
        else:
            if policy == "first_fit":
                smallest = (-math.inf, -math.inf) if any_size else smallest
                self.inner = FirstFit(booked_cpu, booked_mem, self.cpu_limit, mem_cap, book_cpu, book_mem, few,
                                      smallest=smallest)
            else:
                self.inner = ScoredPlacer(booked_cpu, booked_mem, cpu_capacity, mem_capacity, self.cpu_limit, mem_cap,
                                          self.cpu_limits, book_cpu, book_mem, SCORERS[policy], weights, few)
            self.place = self.inner.place
            self.grew = self.inner.grew
            self.shrank = self.inner.shrank
        for host in hosts:
            self.set_down(host.index, host.down)
            self.set_starting(host.index, host.starting)

    def set_down(self, j: int, down: bool) -> None:
        """Host ``j`` went down or was cordoned (``down``), or came back."""
        if down != self.down[j]:
            self.down[j] = down
            self._block(j, down or self.full[j])

    def set_starting(self, j: int, starting: int) -> None:
        """Host ``j`` has ``starting`` instances starting now."""
        if self.max_starts is not None and (starting >= self.max_starts) != self.full[j]:
            self.full[j] = not self.full[j]
            self._block(j, self.full[j] or self.down[j])

    def _block(self, j: int, blocked: bool) -> None:
        if blocked == (self.cpu_limit[j] == -math.inf):
            return
        if blocked:
            self.cpu_limit[j] = self.cpu_limits[j] = -math.inf
            self.grew(j)
        else:
            self.cpu_limit[j] = self.cpu_limits[j] = self.cpu_cap[j]
            self.shrank(j)


def _unchanged(j: int) -> None:
    """What one host's placement does when a booking changes: nothing (it keeps nothing)."""


def _one_host(booked_cpu, booked_mem, cpu_limit: list[float], mem_limit: float, book_cpu, book_mem):
    """Placement on one host: ``place(i)``, 0 if request ``i`` fits beside the host's
    bookings (read as they change) within its limits (``cpu_limit[0]``, −inf while it
    takes nothing new), else -1. A closure: it runs at every arrival of a loss system."""

    def place(i: int) -> int:
        return 0 if fits(booked_cpu[0], booked_mem[0], book_cpu[i], book_mem[i], cpu_limit[0], mem_limit) else -1

    return place
