"""Micro-benchmarks behind the `cap` branch's choices (benchmarks/README.md, "The capacity
study's change path"): µs per call, best of 7, on one host or one placer.

    python benchmarks/change_path.py fallback   # settle + _share_short vs _reshare_all_interfering
    python benchmarks/change_path.py rescore    # ScoredPlacer._rescore_each vs _rescore, by changed hosts
"""

from __future__ import annotations

import sys
import timeit

import numpy as np

from simdc.engine.host import HostState
from simdc.engine.placer import ScoredPlacer
from simdc.engine.rules import limit
from simdc.model.host import HostSpec
from simdc.placement import SCORERS


def _interfering_host(n: int) -> tuple[HostState, float]:
    spec = HostSpec(cpu_cores=64, memory_gib=256, reserved_memory_gib=8)
    rng = np.random.default_rng(n)
    host = HostState(0, spec, 64.0, 248.0, overhead_gib=0.1, vm=False, membw_sensitivity=0.47, io_sensitivity=0.3)
    slot_of, now = [-1] * n, 0.0
    for i in range(n):
        now += 10.0
        host.add(now, i, float(rng.uniform(0.1, 3)), 1.0, 2.0, i % 3 == 0, 5000.0, slot_of,
                 float(rng.uniform(0, 0.4)), float(rng.uniform(0, 0.4)))
        host.rebalance(now)
    return host, now + 1.0


def fallback() -> None:
    for n in (4, 8, 12, 16, 24, 32, 64):
        host, now = _interfering_host(n)

        def two_passes():
            host.settle(now)
            host._share_short(n, 1.0, False, True, True, True)

        def one_pass():
            host._reshare_all_interfering(now, 1.0)

        old, new = (min(timeit.repeat(f, number=500, repeat=7)) / 500 * 1e6 for f in (two_passes, one_pass))
        print(f"{n:3d} slots: settle + _share_short {old:6.1f} µs, one pass {new:6.1f} µs")


def rescore() -> None:
    weights = {"least_allocated": 1.0, "balanced_allocation": 1.0}
    for hosts in (100, 1000):
        rng = np.random.default_rng(1)
        caps, mems = [limit(64.0)] * hosts, [limit(248.0)] * hosts
        placer = ScoredPlacer(rng.uniform(0, 60, hosts), rng.uniform(0, 200, hosts), caps, mems, list(caps), mems,
                              np.array(caps), [2.0], [8.0], SCORERS["kubernetes"], weights, True)
        masked, fit = np.zeros(hosts), np.zeros(hosts, dtype=bool)
        for k in (1, 4, 8, 12, 16, 24, 32, 48):
            changed = set(rng.choice(hosts, k, replace=False).tolist())
            index = np.fromiter(changed, dtype=np.intp, count=len(changed))
            each = min(timeit.repeat(lambda: placer._rescore_each(changed, 2.0, 8.0, masked, fit), number=500,
                                     repeat=7)) / 500 * 1e6
            arrays = min(timeit.repeat(lambda: placer._rescore(index, 2.0, 8.0, masked, fit), number=500,
                                       repeat=7)) / 500 * 1e6
            print(f"{hosts:5d} hosts, {k:3d} changed: one by one {each:6.1f} µs, as arrays {arrays:6.1f} µs")


if __name__ == "__main__":
    {"fallback": fallback, "rescore": rescore}[sys.argv[1] if len(sys.argv) > 1 else "fallback"]()
