"""CPU time of the summary step (``simdc.metrics.summary``) on tables of real runs.

    python benchmarks/summary.py                        # this simdc
    python benchmarks/summary.py --against /work/base10 # and another checkout's metrics.py, alternated in one process

Each table is made once by ``simdc.simulate`` (the capacity study at 40 hosts for 3 h and
100 hosts for 6 h, the erlang scenario's 200,000 arrivals); the summary of each
platform's tables is then timed ``--rounds`` times (CPU ms per call, over the platforms),
alternating with the other checkout's module when given, so that both see the same load.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import simdc  # noqa: E402
from simdc import metrics  # noqa: E402


def tables():
    from capacity import capacity_config
    from run import erlang_config

    from simdc.workload import load_workload

    for name, config in (("capacity 40 hosts 3 h", capacity_config(40, 3 * 3600.0)),
                         ("capacity 100 hosts 6 h", capacity_config(100, 6 * 3600.0)),
                         ("erlang 200,000 arrivals", erlang_config(200_000))):
        results = simdc.simulate(config)
        sim = config.simulation
        requests = load_workload(config.workload, sim.duration_s, sim.seed).instances
        parts = [(results.instances[results.instances["platform"] == p].reset_index(drop=True),
                  results.hosts[results.hosts["platform"] == p].reset_index(drop=True))
                 for p in results.hosts["platform"].unique()]
        yield name, len(results.instances), parts, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, help="another checkout whose simdc/metrics.py to time alongside")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    modules = {"this": metrics}
    if args.against:
        spec = importlib.util.spec_from_file_location("other_metrics", args.against / "simdc" / "metrics.py")
        modules["other"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(modules["other"])
    for name, rows, parts, requests in tables():
        times = {key: [] for key in modules}
        for _ in range(args.rounds):
            for key, module in modules.items():
                start = time.process_time()
                for _ in range(3):
                    for inst, hosts in parts:
                        module.summary(inst, hosts, requests)
                times[key].append((time.process_time() - start) / 3 * 1e3)
        shown = "  ".join(f"{key}: min {min(t):.2f} ms, median {sorted(t)[len(t) // 2]:.2f} ms"
                          for key, t in times.items())
        print(f"{name} ({rows:,} rows): {shown}")


if __name__ == "__main__":
    main()
