"""CPU µs per placed instance of ``simdc.simulate``: the figure issue #16's targets are in.

    python benchmarks/cpu_per_placed.py capacity HOSTS HOURS     # the capacity study (capacity.py)
    python benchmarks/cpu_per_placed.py contention HOSTS HOURS   # configs/contention.toml scaled (run.py)
    python benchmarks/cpu_per_placed.py isolation HOSTS HOURS    # configs/isolation.toml scaled
    python benchmarks/cpu_per_placed.py capacity 100 6 --profile 30   # cProfile, the 30 costliest calls
    python benchmarks/cpu_per_placed.py capacity 1000 6 --spill      # spilled (streamed), as the month runs

Prints the CPU seconds (``time.process_time()`` around ``simdc.simulate``), the
instances placed (a ``ready_s``, both platforms) and submitted, and the CPU per each.
``import simdc`` is lazy (``simdc --help`` stays fast), so a process's first
``simulate`` also imports pandas, pyarrow, pydantic and scipy.special and pays their
first use (~0.4 s here): a fixed cost, not a cost per instance. The script first runs
the same scenario for 10 minutes to pay it, prints it as ``first call``, then
times the run; ``--cold`` times the run in a fresh process instead (what the figures
before the seventeenth session measured). To compare two commits, export one (``git archive COMMIT | tar -x -C
DIR``) and run this script with ``PYTHONPATH=DIR`` and without, alternately: the
machine's load moves a single figure by ±15 %.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=["capacity", "contention", "isolation"])
    parser.add_argument("hosts", type=int)
    parser.add_argument("hours", type=float)
    parser.add_argument("--profile", type=int, metavar="N", help="profile the run; print the N costliest calls")
    parser.add_argument("--cold", action="store_true",
                        help="no 10-minute warm-up run: the figure includes the first call's imports")
    parser.add_argument("--spill", action="store_true",
                        help="simulate(config, spill=True): streamed, as the month runs")
    args = parser.parse_args()
    import simdc

    if args.scenario == "capacity":
        from capacity import capacity_config as make
    else:
        from run import scaled_config

        def make(hosts, duration_s):
            return scaled_config(args.scenario, hosts, duration_s)
    config = make(args.hosts, args.hours * 3600)
    first = ""
    if not args.cold:
        start = time.process_time()
        simdc.simulate(make(args.hosts, 600.0))
        first = f"; first call {time.process_time() - start:.2f} s CPU (imports, first use), not counted"
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.process_time()
    result = simdc.simulate(config, spill=True if args.spill else None)
    cpu_s = time.process_time() - start
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)
    placed = int(result.instances.ready_s.notna().sum())
    submitted = int(result.summary["submitted"].sum())
    where = os.path.dirname(os.path.dirname(simdc.__file__))
    # Per submitted too: a fleet that fills and then rejects most arrivals (contention and
    # isolation over a week) costs per simulated hour, not per placed instance.
    print(f"{where}: {args.scenario} {args.hosts} hosts {args.hours} h: {cpu_s:.2f} s CPU, {placed} placed "
          f"of {submitted} submitted, {cpu_s / placed * 1e6:.0f} µs per placed instance "
          f"({cpu_s / submitted * 1e6:.0f} per submitted)" + (" spilled" if args.spill else "")
          + (" cold" if args.cold else first) + (" (profiled)" if profiler else ""))


if __name__ == "__main__":
    main()
