"""Where a host's slot-by-slot Python stops beating numpy (``simdc.engine.host.SHORT_HOST``).

Times one change on a slow host (interference on, a third batch work): ``settle``,
``rebalance`` and ``next_finish``, as the general engine does at every arrival and end,
slot by slot in Python and vectorised, for hosts of 10 to 200 running instances.

    python benchmarks/host_short.py              # demands that fit the 64 cores
    python benchmarks/host_short.py --contended  # twice the cores wanted: water-filling
"""

from __future__ import annotations

import sys
import timeit

import numpy as np

import simdc.engine.host as host_module
from simdc.model.host import HostSpec

SPEC = HostSpec(cpu_cores=64, memory_gib=256, reserved_memory_gib=8)


def slow_host(n: int, cores_wanted: float) -> host_module.HostState:
    """A 64-core host running ``n`` instances wanting about ``cores_wanted`` cores."""
    host = host_module.HostState(0, SPEC, 64.0, 248.0, overhead_gib=0.1, vm=False,
                                 membw_sensitivity=0.3, io_sensitivity=0.2)
    slot_of = [-1] * n
    rng = np.random.default_rng(n)
    for i in range(n):
        host.add(0.0, i, float(rng.uniform(0.1, 1.0) * cores_wanted / n), 1.0, 1.0, i % 3 == 0, 1e4, slot_of,
                 float(rng.uniform(0, 0.5)), float(rng.uniform(0, 0.5)))
        host.rebalance(0.0)
    return host


def main() -> None:
    cores_wanted = 200.0 if "--contended" in sys.argv else 100.0
    for n in (10, 20, 40, 60, 80, 120, 200):
        row = []
        for short in (10**9, 0):  # all in Python, all in numpy
            host_module.SHORT_HOST = short
            host, clock = slow_host(n, cores_wanted), [1.0]

            def change():
                clock[0] += 1.0
                host.settle(clock[0])
                host.rebalance(clock[0])
                host.next_finish(clock[0])

            row.append(min(timeit.repeat(change, number=300, repeat=5)) / 300 * 1e6)
        print(f"{n:4d} slots: Python {row[0]:6.1f} µs, numpy {row[1]:6.1f} µs per change")


if __name__ == "__main__":
    main()
