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

import math
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
        return left_after(self.cpu_cap, self.mem_cap, self.cpu_booked, self.mem_booked, self.cpu, self.mem)


Policy = Callable[..., "int | None"]
Scorer = Callable[..., "np.ndarray | float"]


def _best(scores: np.ndarray, fits: np.ndarray) -> int | None:
    if not fits.any():
        return None
    return int(np.argmax(np.where(fits, scores, -np.inf)))


def left_after(cpu_cap, mem_cap, cpu_booked, mem_booked, cpu: float, mem: float):
    """Free fraction of a host's CPU and memory if the request were placed there: arrays
    of shape ``(hosts,)`` or one host's floats (the same operations, so the same doubles)."""
    return (cpu_cap - cpu_booked - cpu) / cpu_cap, (mem_cap - mem_booked - mem) / mem_cap


def first_fit(fleet: Fleet, **_) -> int | None:
    """The first host, in fleet order, that fits."""
    return first_fit_index(fleet.fits)


def first_fit_index(fits: np.ndarray) -> int | None:
    """The first True of ``fits`` (shape ``(hosts,)``, bool), or None."""
    index = int(np.argmax(fits)) if len(fits) else 0
    return index if len(fits) and fits[index] else None


# A scorer takes what :func:`left_after` returns, the policy's ``weights`` and the
# ``minimum`` and ``sqrt`` to use (numpy's over arrays, :func:`min` and :func:`math.sqrt`
# over one host's floats), and returns each host's score: the highest wins, ties to the
# first. Each host's score is computed from that host's figures alone, with the same IEEE
# operations in the same order whether over the fleet or over one host, so scoring one
# host gives the same double as scoring the whole fleet (``simdc.engine.placer`` rescores
# only the hosts that changed). Written with operators that work on both (in place on
# arrays, rebinding on floats); no input array is changed.

def best_fit_scores(cpu_left, mem_left, weights=None, minimum=None, sqrt=None):
    """Best fit's score: minus the free fractions left, summed."""
    return -(cpu_left + mem_left)


def worst_fit_scores(cpu_left, mem_left, weights=None, minimum=None, sqrt=None):
    """Worst fit's score: the free fractions left, summed."""
    return cpu_left + mem_left


def kubernetes_scores(cpu_left, mem_left, weights: dict[str, float], minimum=np.minimum, sqrt=np.sqrt):
    """The weighted sum of the enabled Kubernetes scores (0-100 each), per host.

    A score whose weight is 0 (or absent) is left out of the sum: adding ``0 × score``
    changes no host's total (nor which comes first), since every score is finite on
    hosts with capacity. Scores are summed in the order of :data:`SCORES`.
    """
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
        scores = term if scores is None else scores + term
    balanced = weights.get("balanced_allocation", 0.0)
    if balanced:
        term = _balanced_pair(1 - cpu_left, 1 - mem_left, minimum, sqrt)
        term *= balanced * 100
        scores = term if scores is None else scores + term
    if scores is None:
        scores = cpu_left - cpu_left  # +0.0 for every host (the fractions are finite), in the inputs' shape
    return scores


def best_fit(fleet: Fleet, **_) -> int | None:
    """The host left with the least free capacity."""
    return _best(best_fit_scores(*fleet.left_after()), fleet.fits)


def worst_fit(fleet: Fleet, **_) -> int | None:
    """The host left with the most free capacity."""
    return _best(worst_fit_scores(*fleet.left_after()), fleet.fits)


def random_fit(fleet: Fleet, *, rng: np.random.Generator, **_) -> int | None:
    """Any host that fits, uniformly at random (from the run's placement stream)."""
    hits = np.flatnonzero(fleet.fits)
    return int(hits[rng.integers(len(hits))]) if len(hits) else None


def kubernetes(fleet: Fleet, *, weights: dict[str, float], **_) -> int | None:
    """Filter, then the weighted sum of the enabled scores (:func:`kubernetes_scores`)."""
    return _best(kubernetes_scores(*fleet.left_after(), weights), fleet.fits)


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


def _balanced_pair(cpu, mem, minimum=np.minimum, sqrt=np.sqrt):
    """:func:`balanced_allocation` of two resources, written out: the same operations in
    the same order as ``np.std`` over the stacked pair (sum, ÷ 2, deviations squared,
    sum, ÷ 2, square root), so the same doubles, without the stack and ``_var``'s
    temporaries. Arrays (left as they are: ``minimum`` returns new ones) or one host's
    floats."""
    cpu = minimum(cpu, 1.0)
    mem = minimum(mem, 1.0)
    mean = cpu + mem
    mean /= 2
    cpu -= mean
    cpu *= cpu
    mem -= mean
    mem *= mem
    cpu += mem
    cpu /= 2
    return 1 - sqrt(cpu)


def one_host_scorer(score: Scorer, weights: dict[str, float]) -> Callable[..., float]:
    """``score`` with ``weights`` for one host at a time, from its figures: a function
    ``(cpu_cap, mem_cap, cpu_booked, mem_booked, cpu, mem) -> float`` (cores and GiB,
    Python floats) returning ``score(*left_after(...), weights, min, math.sqrt)``: the
    same rule as the fleet's arrays get, written once (a written-out copy per scorer was
    measured 0.4 against 1.0 µs a call, ~3 % of the capacity study: not worth a second
    copy of each rule)."""
    sqrt = math.sqrt

    def one(cpu_cap, mem_cap, cpu_booked, mem_booked, cpu, mem):
        return score(*left_after(cpu_cap, mem_cap, cpu_booked, mem_booked, cpu, mem), weights, min, sqrt)

    return one


POLICIES: dict[str, Policy] = {
    "first_fit": first_fit,
    "best_fit": best_fit,
    "worst_fit": worst_fit,
    "random": random_fit,
    "kubernetes": kubernetes,
}
SCORERS: dict[str, Scorer] = {  # the policies that pick the best score
    "best_fit": best_fit_scores,
    "worst_fit": worst_fit_scores,
    "kubernetes": kubernetes_scores,
}
SCORES = ("least_allocated", "most_allocated", "balanced_allocation")


def unknown_policy_message(name: str) -> str:
    return f"unknown policy {name!r}; choose one of: {', '.join(sorted(POLICIES))}"
