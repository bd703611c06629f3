"""Exact queueing results the simulator is held to (shared/CALIBRATION.md, DESIGN.md §6)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def erlang_b(c: int, a: float) -> float:
    """Blocking of c servers at offered load a: B_n = a·B_{n−1} / (n + a·B_{n−1}), B_0 = 1."""
    b = 1.0
    for n in range(1, c + 1):
        b = a * b / (n + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability of waiting in M/M/c at offered load a < c: C = c·B / (c − a(1 − B))."""
    b = erlang_b(c, a)
    return c * b / (c - a * (1 - b))


def erlang_c_wait(c: int, lam: float, mu: float) -> float:
    """Mean wait in queue of M/M/c: Wq = C / (c·μ − λ)."""
    return erlang_c(c, lam / mu) / (c * mu - lam)


def kaufman_roberts(capacity: int, classes: list[tuple[int, float]]) -> list[float]:
    """Per-class blocking for classes of (units, offered load) sharing ``capacity`` units.

    q(j) ∝ (1/j) Σ_k a_k b_k q(j − b_k); class k is blocked in states j > capacity − b_k
    (Kaufman 1981, Roberts 1981).
    """
    q = np.zeros(capacity + 1)
    q[0] = 1.0
    for j in range(1, capacity + 1):
        q[j] = sum(a * b * q[j - b] for b, a in classes if j >= b) / j
    q /= q.sum()
    return [float(q[capacity - b + 1:].sum()) for b, _ in classes]


def poisson_tail(a: float, c: int) -> float:
    """P(N > c) for N ~ Poisson(a): the M/M/∞ occupancy beyond c."""
    return 1.0 - sum(math.exp(-a) * a**k / math.factorial(k) for k in range(c + 1))


def batch_means(times: np.ndarray, values: np.ndarray, batches: int = 20) -> tuple[float, float]:
    """Mean of ``values`` and its standard error from ``batches`` consecutive time batches.

    Observations of one queue are correlated; batch means over long stretches are nearly
    independent, so their spread gives an honest standard error.
    """
    order = np.argsort(times, kind="stable")
    groups = np.array_split(np.asarray(values, dtype=float)[order], batches)
    means = np.array([g.mean() for g in groups])
    return float(np.mean(values)), float(means.std(ddof=1) / math.sqrt(batches))


def within(estimate: float, se: float, exact: float, z: float = 4.0, floor: float = 0.0) -> bool:
    """|estimate − exact| within z standard errors (plus ``floor`` for discretisation)."""
    return abs(estimate - exact) <= z * se + floor


def results_frame(results) -> pd.DataFrame:
    """Instances joined with the workload's sizes, for per-class statistics."""
    return results.instances.merge(results.workload[["id", "cpu_cores", "duration_s"]], on="id")
