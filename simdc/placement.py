"""Placement policies: pure functions choosing a host for a request.

A policy sees the fleet as plain arrays (:class:`Fleet`): each host's capacity for
bookings, what is booked, and whether it can take the request at all (``fits``: enough
free CPU and memory, and under any limit on concurrent starts). It returns the index of
the chosen host, or ``None``. Policies never see SimPy and never change anything.

Registered policies (``[placement] policy = ...``):

first_fit
    The first host, in fleet order, that fits.
best_fit
    The host left with the least free capacity (CPU and memory, as fractions of the
    host's, summed): packs tightly, keeps whole hosts free.
worst_fit
    The host left with the most free capacity: spreads load.
random
    Any host that fits, uniformly.
kubernetes
    The Kubernetes scheduler's way: filter, then weighted scores per host, highest
    wins, ties to the first. ``least_allocated`` (NodeResourcesFit, the default
    strategy) scores the free fraction after placement; ``most_allocated`` its
    complement; ``balanced_allocation`` (NodeResourcesBalancedAllocation) scores
    1 − std of the resources' requested fractions after placement, as kube-scheduler
    has since v1.22 (kubernetes/kubernetes PR #101946, ``balanced_allocation.go``; before
    it scored 1 − |CPU fraction − memory fraction|, twice the penalty for two
    resources). Weights from ``placement.scoring``. Scores are kept as floats (the
    scheduler truncates each to an integer) and ties go to the first host (the scheduler
    picks one of the tied at random).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Fleet:
    """The hosts as a policy sees them, for one request of ``cpu`` cores and ``mem`` GiB."""

    cpu_cap: np.ndarray  # cores that may be booked on each host
    mem_cap: np.ndarray  # GiB that may be booked
    cpu_booked: np.ndarray
    mem_booked: np.ndarray
    fits: np.ndarray  # bool: the host can take the request
    cpu: float
    mem: float

    def left_after(self) -> tuple[np.ndarray, np.ndarray]:
        """Free fraction of each host's CPU and memory if the request were placed there."""
        return ((self.cpu_cap - self.cpu_booked - self.cpu) / self.cpu_cap,
                (self.mem_cap - self.mem_booked - self.mem) / self.mem_cap)


Policy = Callable[..., "int | None"]


def _best(scores: np.ndarray, fits: np.ndarray) -> int | None:
    if not fits.any():
        return None
    return int(np.argmax(np.where(fits, scores, -np.inf)))


def first_fit(fleet: Fleet, **_) -> int | None:
    """The first host, in fleet order, that fits."""
    return first_fit_index(fleet.fits)


def first_fit_index(fits: np.ndarray) -> int | None:
    """The first True of ``fits`` (shape ``(hosts,)``, bool), or None."""
    index = int(np.argmax(fits)) if len(fits) else 0
    return index if len(fits) and fits[index] else None


def best_fit(fleet: Fleet, **_) -> int | None:
    """The host left with the least free capacity."""
    cpu_left, mem_left = fleet.left_after()
    return _best(-(cpu_left + mem_left), fleet.fits)


def worst_fit(fleet: Fleet, **_) -> int | None:
    """The host left with the most free capacity."""
    cpu_left, mem_left = fleet.left_after()
    return _best(cpu_left + mem_left, fleet.fits)


def random_fit(fleet: Fleet, *, rng: np.random.Generator, **_) -> int | None:
    """Any host that fits, uniformly at random (from the run's placement stream)."""
    hits = np.flatnonzero(fleet.fits)
    return int(hits[rng.integers(len(hits))]) if len(hits) else None


def kubernetes(fleet: Fleet, *, weights: dict[str, float], **_) -> int | None:
    """Filter, then the weighted sum of the enabled scores (0-100 each).

    A score whose weight is 0 (or absent) is left out of the sum: adding ``0 × score``
    changes no host's total (nor which comes first), since every score is finite on
    hosts with capacity. Scores are summed in the order of :data:`SCORES`.
    """
    cpu_left, mem_left = fleet.left_after()
    scores = None
    least, most = weights.get("least_allocated", 0.0), weights.get("most_allocated", 0.0)
    if least:
        scores = cpu_left + mem_left
        scores *= least * 100
        scores /= 2
    if most:
        term = 2 - cpu_left
        term -= mem_left
        term *= most * 100
        term /= 2
        scores = term if scores is None else np.add(scores, term, out=scores)
    balanced = weights.get("balanced_allocation", 0.0)
    if balanced:
        requested_cpu = np.subtract(1, cpu_left, out=cpu_left)
        requested_mem = np.subtract(1, mem_left, out=mem_left)
        term = _balanced_pair(requested_cpu, requested_mem)
        term *= balanced * 100
        scores = term if scores is None else np.add(scores, term, out=scores)
    if scores is None:
        scores = np.zeros(len(fleet.fits))
    return _best(scores, fleet.fits)


def balanced_allocation(*fractions: np.ndarray) -> np.ndarray:
    """kube-scheduler's NodeResourcesBalancedAllocation score over 0..1, per host.

    Parameters
    ----------
    *fractions
        One array per resource (CPU, memory, and any other the hosts carry), each the
        host's requested share of that resource after placement, shape ``(hosts,)``.
        Shares above 1 count as 1, as the scheduler caps them.

    Returns
    -------
    ``1 − σ`` with σ the population standard deviation of the shares across resources
    (kube-scheduler ≥ v1.22, PR #101946, ``balanced_allocation.go``: for two resources
    σ = |a − b| / 2).
    """
    shares = np.minimum(np.stack([np.asarray(f, dtype=float) for f in fractions]), 1.0)
    return 1 - shares.std(axis=0)


def _balanced_pair(cpu: np.ndarray, mem: np.ndarray) -> np.ndarray:
    """:func:`balanced_allocation` of two resources, written out: the same operations in
    the same order as ``np.std`` over the stacked pair (sum, ÷ 2, deviations squared,
    sum, ÷ 2, square root), so the same doubles, without the stack and ``_var``'s
    temporaries. Overwrites ``cpu`` and ``mem``."""
    np.minimum(cpu, 1.0, out=cpu)
    np.minimum(mem, 1.0, out=mem)
    mean = cpu + mem
    mean /= 2
    cpu -= mean
    cpu *= cpu
    mem -= mean
    mem *= mem
    cpu += mem
    cpu /= 2
    np.sqrt(cpu, out=cpu)
    np.subtract(1, cpu, out=cpu)
    return cpu


POLICIES: dict[str, Policy] = {
    "first_fit": first_fit,
    "best_fit": best_fit,
    "worst_fit": worst_fit,
    "random": random_fit,
    "kubernetes": kubernetes,
}
SCORES = ("least_allocated", "most_allocated", "balanced_allocation")


def unknown_policy_message(name: str) -> str:
    return f"unknown policy {name!r}; choose one of: {', '.join(sorted(POLICIES))}"
