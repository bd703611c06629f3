"""Placement alone: the capacity study's placements replayed on a fresh ScoredPlacer.

    python benchmarks/placement_replay.py HOSTS HOURS [--rounds N]

Runs ``capacity_config(HOSTS, HOURS * 3600)`` (capacity.py) once, recording, for each
platform's :class:`simdc.engine.placer.ScoredPlacer`, its inputs and every call on it in
order (``place(i)`` with the host it picked, ``grew(j)``/``shrank(j)`` with host ``j``'s
bookings and CPU limit after the change). Then replays each recording on a new placer
over arrays it writes itself, checks that every pick is the recorded one, and prints CPU
µs per placement (``time.process_time()``, best of ``--rounds``) with what each placement
did: hosts rescored one by one, as arrays, whole-fleet scorings. The replay's own writes
of the bookings are in the figure (~0.2 µs a change).

Why: in a whole run, placement's share moves with the machine's load and with
everything else the run touches; replayed, it is placement alone, with the same calls
at any fleet size (eleventh session, benchmarks/README.md, "1,000 hosts"). With
``PYTHONPATH=DIR`` the recording and the replay use another commit's simdc.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

PLACE, CHANGE = 0, 1


def record(hosts: int, hours: float) -> list[dict]:
    """Run the capacity study with every ScoredPlacer's inputs and calls recorded."""
    import numpy as np

    import simdc
    from simdc.engine import placer as placer_module
    from capacity import capacity_config

    made: list[dict] = []
    cls = placer_module.ScoredPlacer
    init, place, grew, shrank = cls.__init__, cls.place, cls.grew, cls.shrank

    def recording_init(self, booked_cpu, booked_mem, cpu_cap, mem_cap, cpu_limit, mem_limit, cpu_limits, book_cpu,
                       book_mem, score, weights, few):
        init(self, booked_cpu, booked_mem, cpu_cap, mem_cap, cpu_limit, mem_limit, cpu_limits, book_cpu, book_mem,
             score, weights, few)
        self._calls = []
        made.append(dict(args=(np.array(booked_cpu, dtype=float), np.array(booked_mem, dtype=float), list(cpu_cap),
                               list(mem_cap), list(cpu_limit), list(mem_limit), list(book_cpu), list(book_mem), score,
                               dict(weights), few), calls=self._calls))

    def recording_place(self, i):
        j = place(self, i)
        self._calls.append((PLACE, i, j, 0.0, 0.0, 0.0))
        return j

    def recorder(method):
        def recording(self, j):
            self._calls.append((CHANGE, j, 0, float(self.booked_cpu[j]), float(self.booked_mem[j]),
                                float(self.cpu_limit[j])))
            return method(self, j)
        return recording

    cls.__init__, cls.place, cls.grew, cls.shrank = recording_init, recording_place, recorder(grew), recorder(shrank)
    try:
        simdc.simulate(capacity_config(hosts, hours * 3600))
    finally:
        cls.__init__, cls.place, cls.grew, cls.shrank = init, place, grew, shrank
    return made


def replay(recording: dict) -> float:
    """CPU seconds of one replay of ``recording``; raises if a pick differs."""
    import numpy as np

    from simdc.engine.placer import ScoredPlacer

    booked_cpu, booked_mem, cpu_cap, mem_cap, cpu_limit, mem_limit, book_cpu, book_mem, score, weights, few = (
        recording["args"])
    booked_cpu, booked_mem, cpu_limit = booked_cpu.copy(), booked_mem.copy(), list(cpu_limit)
    cpu_limits = np.array(cpu_limit, dtype=float)
    placer = ScoredPlacer(booked_cpu, booked_mem, cpu_cap, mem_cap, cpu_limit, mem_limit, cpu_limits, book_cpu,
                          book_mem, score, weights, few)
    place, changed = placer.place, placer.grew  # (shrank is grew)
    differ = 0
    start = time.process_time()
    for call, k, picked, cpu, mem, limit in recording["calls"]:
        if call == CHANGE:
            booked_cpu[k], booked_mem[k] = cpu, mem
            if cpu_limit[k] != limit:
                cpu_limit[k] = cpu_limits[k] = limit
            changed(k)
        elif place(k) != picked:
            differ += 1
    spent = time.process_time() - start
    if differ:
        raise SystemExit(f"error: {differ} picks differ from the run's")
    return spent


def counted(recording: dict) -> dict[str, int]:
    """Hosts rescored one by one and as arrays, and whole-fleet scorings, in one replay."""
    from simdc.engine.placer import ScoredPlacer

    counts = {"one by one": 0, "as arrays": 0, "fleet": 0}
    each, arrays, fleet = ScoredPlacer._rescore_each, ScoredPlacer._rescore, ScoredPlacer._fleet

    def counted_each(self, hosts, *args):
        counts["one by one"] += len(hosts)
        return each(self, hosts, *args)

    def counted_arrays(self, hosts, *args):
        counts["as arrays"] += len(hosts)
        return arrays(self, hosts, *args)

    def counted_fleet(self, *args):
        counts["fleet"] += 1
        return fleet(self, *args)

    ScoredPlacer._rescore_each, ScoredPlacer._rescore, ScoredPlacer._fleet = counted_each, counted_arrays, counted_fleet
    try:
        replay(recording)
    finally:
        ScoredPlacer._rescore_each, ScoredPlacer._rescore, ScoredPlacer._fleet = each, arrays, fleet
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hosts", type=int)
    parser.add_argument("hours", type=float)
    parser.add_argument("--rounds", type=int, default=5, help="replays of each recording; the best is printed")
    args = parser.parse_args()
    import simdc

    where = os.path.dirname(os.path.dirname(simdc.__file__))
    for n, recording in enumerate(record(args.hosts, args.hours)):
        placements = sum(1 for call in recording["calls"] if call[0] == PLACE)
        best = min(replay(recording) for _ in range(args.rounds))
        per = {name: count / placements for name, count in counted(recording).items()}
        print(f"{where}: {args.hosts} hosts {args.hours} h, placer {n}: {placements} placements, "
              f"{len(recording['calls']) - placements} changes, {best / placements * 1e6:.2f} µs a placement "
              f"(best of {args.rounds}); a placement rescored {per['one by one']:.2f} hosts one by one, "
              f"{per['as arrays']:.2f} as arrays, the fleet {per['fleet']:.3f} times")


if __name__ == "__main__":
    main()
