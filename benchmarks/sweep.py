"""Sweep throughput: points per minute on one core and on all local cores.

    python benchmarks/sweep.py [--points 16] [--duration-s 604800]

Each point is configs/host64g.toml (both platforms) shortened to --duration-s; the same
grid runs once in this process (1 core) and once on a local Dask cluster of all cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import simdc
from simdc.sweeping import sweep

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=16)
    parser.add_argument("--duration-s", type=float, default=7 * 86400)
    args = parser.parse_args()
    config = simdc.load_config(ROOT / "configs" / "host64g.toml", {"simulation.duration_s": args.duration_s})
    grid = {"host.memory_gib": [32 + 8 * i for i in range(args.points)]}
    from dask.distributed import LocalCluster

    cores = os.cpu_count() or 1
    started = time.perf_counter()
    one = sweep(config, grid, workers=1)
    wall_one = time.perf_counter() - started
    started = time.perf_counter()
    with LocalCluster(n_workers=cores, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        startup = time.perf_counter() - started
        started = time.perf_counter()
        many = sweep(config, grid, scheduler=cluster.scheduler_address)
        wall_many = time.perf_counter() - started
    assert one.sort_values(["point", "platform"]).reset_index(drop=True).equals(
        many.sort_values(["point", "platform"]).reset_index(drop=True)), "results differ"
    for label, wall in (("1 core", wall_one), (f"{cores} cores (Dask)", wall_many)):
        print(f"sweep, {label:>16}: {args.points} points in {wall:6.2f} s = {args.points / wall * 60:7.1f} points/min")
    print(f"speed-up: {wall_one / wall_many:.2f}x on {cores} cores; starting the local Dask cluster took "
          f"{startup:.1f} s more")
    # the workers (and their nannies) have ended by now: the children's figure is the largest of them
    print(f"peak memory: this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB, "
          f"the largest worker process {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
