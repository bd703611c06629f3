"""Where a large run's memory goes, per instance and platform (issue #16, bounded memory).

    python benchmarks/memory_breakdown.py [--hosts 1000] [--hours 1]

Runs the capacity study (benchmarks/capacity.py) under :mod:`tracemalloc` in this
process and prints, per platform, the bytes of each part, divided by the instances:

- the workload table (``Results.workload``, pandas' deep ``memory_usage``), shared by the platforms;
- the engine's per-instance state at the end of the run, before the tables: every
  attribute of the simulation that holds a value per instance (lists, ``array.array``,
  numpy arrays, the footprints), deep, each object counted once (a float shared by many
  slots once), with the total traced by tracemalloc beside it;
- the instance table the engine builds at the end, and the transient peak of building it;
- the timeseries (per host and sample: per instance it depends on the load) and the summary;
- the peak traced during the whole run and the process's ``ru_maxrss``.

tracemalloc sees what Python allocates through its allocators (numpy's and pandas'
buffers included); the RSS adds the interpreter, the libraries and the allocator's slack.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from array import array
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))


def deep_bytes(value, seen: set[int]) -> int:
    """Bytes of ``value`` and what it holds (lists, tuples, dicts, sets), each object once."""
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        return value.nbytes if value.base is None else 0  # a view: its base's bytes counted there
    if isinstance(value, pd.DataFrame | pd.Series):
        return int(np.sum(value.memory_usage(deep=True, index=False)))
    size = sys.getsizeof(value)
    if isinstance(value, array):
        return size
    if isinstance(value, list | tuple | set | frozenset):
        return size + sum(deep_bytes(item, seen) for item in value)
    if isinstance(value, dict):
        return size + sum(deep_bytes(k, seen) + deep_bytes(v, seen) for k, v in value.items())
    if hasattr(value, "__dataclass_fields__"):
        return size + sum(deep_bytes(getattr(value, name), seen) for name in value.__dataclass_fields__)
    return size


def per_instance_state(sim, n: int) -> dict[str, int]:
    """Bytes of each attribute of ``sim`` that holds a value per instance (length ``n``)."""
    seen: set[int] = {id(sim.inputs)}  # the workload's table: counted apart
    seen.update(id(column) for column in (sim.inputs[name].to_numpy() for name in sim.inputs.columns))
    found = {}
    for name, value in list(vars(sim).items()):
        if isinstance(value, list | array | np.ndarray) and len(value) == n:
            found[name] = deep_bytes(value, seen)
        elif name in ("fp", "usage", "needs", "deps"):
            found[name] = deep_bytes(value if name != "usage" else vars(value), seen)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=1.0)
    args = parser.parse_args()
    from capacity import capacity_config

    import simdc
    from simdc.engine.simulation import Simulation

    config = capacity_config(args.hosts, args.hours * 3600.0)
    figures: dict[str, dict] = {}
    original = Simulation._tables

    def measured_tables(self):
        n = len(self.ids)
        mine = figures.setdefault(self.name, {"n": n})
        mine["traced_before_tables"] = tracemalloc.get_traced_memory()[0]
        mine["state"] = per_instance_state(self, n)
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        run = original(self)
        now, peak = tracemalloc.get_traced_memory()
        mine["tables_peak_extra"] = peak - before
        mine["instance_table"] = int(run.instances.memory_usage(deep=True, index=False).sum())
        mine["timeseries"] = int(run.timeseries.memory_usage(deep=True, index=False).sum())
        return run

    Simulation._tables = measured_tables
    tracemalloc.start()
    started = time.perf_counter()
    results = simdc.simulate(config, check_memory=False)
    wall = time.perf_counter() - started
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    Simulation._tables = original
    workload = int(results.workload.memory_usage(deep=True, index=False).sum())
    n = len(results.workload)
    print(f"capacity study, {args.hosts} hosts, {args.hours:g} h: {n:,} instances a platform, "
          f"{len(config.simulation.platforms)} platforms; {wall:.0f} s under tracemalloc")
    print(f"workload table: {workload / 2**20:,.1f} MiB = {workload / n:,.0f} B per instance (shared)")
    for name, mine in figures.items():
        state = mine["state"]
        total = sum(state.values())
        print(f"{name} ({mine['n']:,} rows): engine state {total / 2**20:,.1f} MiB = {total / n:,.0f} B per instance; "
              f"instance table {mine['instance_table'] / n:,.0f} B per instance (building it peaked "
              f"{mine['tables_peak_extra'] / n:,.0f} B per instance over the state); timeseries "
              f"{mine['timeseries'] / 2**20:,.1f} MiB")
        for attribute, size in sorted(state.items(), key=lambda item: -item[1]):
            if size / n >= 4:
                print(f"    {attribute:>22}: {size / n:6,.0f} B per instance")
    summary = int(results.summary.memory_usage(deep=True).sum())
    instances = int(results.instances.memory_usage(deep=True, index=False).sum())
    print(f"summary {summary:,} B; joined instance table {instances / (2 * n):,.0f} B per instance and platform")
    print(f"traced peak {traced_peak / 2**20:,.0f} MiB; ru_maxrss "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
