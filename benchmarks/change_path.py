"""Micro-benchmarks behind the `cap` branch's choices (benchmarks/README.md, "The capacity
study's change path"): µs per call, best of 7, on one host or one placer.

    python benchmarks/change_path.py fallback   # settle + _share_short vs _reshare_all_interfering
    python benchmarks/change_path.py rescore    # ScoredPlacer._rescore_each vs _rescore, by changed hosts
    python benchmarks/change_path.py cycle      # µs per change: a start (book, add, rebalance) or a stop
                                                # (remove, rebalance, release) on a host of 18-24 slots

``cycle`` times whatever simdc is imported: run it with ``PYTHONPATH=DIR`` (another
commit, unpacked) and without, alternately (benchmarks/README.md, "Host change path,
eleventh session").
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


def cycle(changes: int = 20000) -> None:
    """Starts and stops on one interfering host (VM, then container) holding 18-24
    instances, as the capacity study's hosts do once full: µs per change, best of 7."""
    import random

    from simdc.engine.host import FleetFigures

    def run(vm: bool) -> float:
        spec = HostSpec(cpu_cores=64, memory_gib=256, reserved_memory_gib=8)
        host = HostState(0, spec, 64.0, 248.0, overhead_gib=0.1, vm=vm, membw_sensitivity=0.47, io_sensitivity=0.3)
        FleetFigures.attach([host])
        rng, slot_of, now, live = random.Random(1), [-1] * changes, 0.0, []
        start = timeit.default_timer()
        for i in range(changes):
            now += rng.random()
            if len(live) < 18 or (len(live) < 24 and rng.random() < 0.5):
                host.book(now, 2.0, 4.0)
                now += rng.random()
                host.add(now, i, rng.random() * 2, 1.0, 3.0, rng.random() < 0.3, 1000.0, slot_of,
                         rng.random() * 0.3, rng.random() * 0.2)
                host.rebalance(now)
                live.append(i)
            else:
                j = live.pop(rng.randrange(len(live)))
                host.remove(now, slot_of[j], slot_of)
                host.rebalance(now)
                host.release(now, 2.0, 4.0)
        return timeit.default_timer() - start

    best = min(run(True) + run(False) for _ in range(7))
    print(f"{best / (2 * changes) * 1e6:.2f} µs per change (best of 7)")


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
    {"fallback": fallback, "rescore": rescore, "cycle": cycle}[sys.argv[1] if len(sys.argv) > 1 else "fallback"]()
