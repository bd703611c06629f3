"""CPU as a fluid: how a host's cores are divided among the instances that want them.

Linux's CFS gives each runnable group CPU in proportion to its weight (``cpu.shares`` /
``cpu.weight``); a group that wants less than its proportional share keeps only what it
wants, and the rest is divided among the others. In the fluid limit this is weighted
max-min fairness ("water-filling"): instance i receives ``min(d_i, w_i θ)`` with the
level θ chosen so the cores are exactly used, whenever total demand exceeds them.

Demands ``d`` already include each instance's ceiling (a VM's vCPUs, a container's
``cpu_limit``). Weights ``w``: a VM's vCPUs (one equal-weight thread each); a
container's CPU request.
"""

from __future__ import annotations

import numpy as np


def water_fill(demand: np.ndarray, weight: np.ndarray, cores: float) -> np.ndarray:
    """Cores given to each instance: weighted max-min fair share of ``cores``.

    Parameters
    ----------
    demand
        Cores each instance would use, ≥ 0.
    weight
        CPU weight of each instance, > 0.
    cores
        Capacity, > 0.

    Returns
    -------
    numpy.ndarray
        Allocation ``a`` with ``a ≤ demand`` and ``a.sum() == min(demand.sum(), cores)``
        (to rounding).
    """
    total = demand.sum()
    if total <= cores:
        return demand.copy()
    ratio = demand / weight  # level at which each instance is satisfied
    level = cores / weight.sum()
    if ratio.min() >= level:  # nobody is satisfied below the common level: no sort needed
        return weight * level
    order = np.argsort(ratio, kind="stable")
    r, d, w = ratio[order], demand[order], weight[order]
    # If the first k (smallest ratios) are satisfied, the level for the rest is
    # θ_k = (cores − Σ_{<k} d) / Σ_{≥k} w; the right k is the first with θ_k ≤ r_k.
    satisfied = np.concatenate(([0.0], np.cumsum(d)[:-1]))
    weight_left = np.cumsum(w[::-1])[::-1]
    level = (cores - satisfied) / weight_left
    k = int(np.argmax(level <= r))
    theta = level[k]
    return np.minimum(demand, weight * theta)
