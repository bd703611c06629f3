"""Heap events per placed instance, by kind, in the capacity study (issue #16).

    python benchmarks/events.py HOSTS HOURS

Runs ``simdc.simulate`` on :func:`capacity.capacity_config` with the event loop
(``simulation.run_events``) wrapped to count what it runs: a timer by its
handler's name (marked stale when its plan or attempt was over: it does nothing), a SimPy
step by the event's type and first callback. Prints the counts per platform run, events
per placed instance (an instance with a ``ready_s``) and the heap's peak length.
Works on any simdc on ``sys.path`` (run it with ``PYTHONPATH=/path/to/other`` to count
another tree's).
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from types import SimpleNamespace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from capacity import capacity_config  # noqa: E402

import simdc  # noqa: E402
from simdc.engine import handlers, simulation  # noqa: E402

RUNS: list[Counter] = []
RUN_EVENTS = simulation.run_events  # the real loop, wrapped by counting_run_events


def _kind(handler) -> str:
    return getattr(handler, "__qualname__", None) or type(handler).__name__


def _simpy_kind(event) -> str:
    callbacks = event.callbacks or []
    first = _kind(callbacks[0]) if callbacks else "no callback"
    return f"simpy {type(event).__name__} -> {first}"


def _stale(handler, value) -> bool:
    """Whether a timer will do nothing when it runs (its plan or attempt is over)."""
    owner, name = getattr(handler, "__self__", None), getattr(handler, "__name__", "")
    if name == "_on_finish":
        return value[1] != owner.hosts[value[0]].finish_token  # voided by a later plan (Simulation._schedule_finish)
    if name == "_on_done" and hasattr(owner, "token"):  # the flow model's plan (a later one may wait beside it)
        return value != (owner.carrier if getattr(owner, "at", None) is not None else owner.token)
    if name in ("on_ready", "on_give_up", "on_restart"):
        i, epoch = value
        want = {"on_ready": simulation.STARTING, "on_give_up": simulation.QUEUED,
                "on_restart": simulation.BACKOFF}[name]
        return owner.state[i] != want or owner.epoch[i] != epoch
    if name == "_on_vm_kernel_failure":
        i, attempt = value
        return owner.state[i] != simulation.RUNNING or owner.attempt_s[i] != attempt
    if name == "on_end":
        return owner.state[value] not in (simulation.RUNNING, simulation.STARTING, simulation.BACKOFF,
                                          simulation.QUEUED)
    return False


def counting_run_events(env, heap, until, arrival=None, on_arrival=None) -> None:
    """``simulation.run_events`` itself, counting each event it runs by kind: its heap pops,
    SimPy steps and arrivals go through counting wrappers (the loop is not restated)."""
    counts = Counter()
    RUNS.append(counts)
    real_heapq, real_step = simulation.heapq, env.step

    def pop(h):
        entry = real_heapq.heappop(h)
        clock, _, _, handler, value = entry
        if clock < until:  # it runs
            label = " (stale)" if _stale(handler, value) else ""
            if not label and getattr(handler, "__name__", "") == "_on_finish":
                if value[1] != handler.__self__.hosts[value[0]].finish_token:
                    label = " (carries the host's later plan)"
            if not label and getattr(handler, "__name__", "") == "_on_done":
                if value != getattr(handler.__self__, "token", value):
                    label = " (carries the later plan)"
            counts[_kind(handler) + label] += 1
            counts["peak heap length"] = max(counts["peak heap length"], len(h) + 1)
        return entry

    def step():
        counts[_simpy_kind(env._queue[0][3])] += 1
        real_step()

    def arrive(clock, i):
        counts["arrival (beside the heap)"] += 1
        return on_arrival(clock, i)

    # the module's heapq as it is but for heappop, which run_events takes at its start
    simulation.heapq = SimpleNamespace(**{**vars(real_heapq), "heappop": pop})
    env.step = step
    try:
        RUN_EVENTS(env, heap, until, arrival, arrive if on_arrival is not None else None)
    finally:
        simulation.heapq = real_heapq
        del env.step
    counts["heap left"] = len(heap)
    counts["heap left stale"] = sum(_stale(entry[3], entry[4]) for entry in heap)


def main() -> None:
    hosts, hours = int(sys.argv[1]), float(sys.argv[2])
    handlers.run_events = simulation.run_events = counting_run_events
    results = simdc.simulate(capacity_config(hosts, hours * 3600))
    placed = results.instances.groupby("platform", sort=False)["ready_s"].count()
    for counts, (platform, n) in zip(RUNS, placed.items()):
        peak = counts.pop("peak heap length", 0)
        left, left_stale = counts.pop("heap left", 0), counts.pop("heap left stale", 0)
        print(f"{platform}: at the horizon the heap holds {left} timers, {left_stale} of them stale")
        total = sum(counts.values())
        stale = sum(c for kind, c in counts.items() if kind.endswith("(stale)"))
        print(f"{platform}: peak heap length {peak}; {stale} events found stale ({stale / n:.2f} per placed)")
        print(f"{platform}: {n} placed, {total} events, {total / n:.2f} per placed instance")
        for kind, c in counts.most_common():
            print(f"  {c:9d}  {c / n:6.2f}  {kind}")


if __name__ == "__main__":
    main()
