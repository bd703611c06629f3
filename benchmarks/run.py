"""simdc's benchmarks: wall time, events or arrivals per second, and peak memory.

    python benchmarks/run.py                   # every scenario
    python benchmarks/run.py erlang fleet      # some of them
    python benchmarks/run.py fleet --instances 250000

Scenarios (issue 8):
  erlang  one host, equal VMs, 200,000 Poisson arrivals, no usage series; the same
          arrivals and lifetimes through a bare heapq loop, in the same run, as the
          reference for what Python can do at all.
  fleet   100 hosts, N instances (default 1,000,000) from the generator over 7 days,
          both platforms, usage series at 300 s steps.
  memory  the fleet scenario at 250k, 500k and 1M instances: peak memory should grow
          linearly with instances.
  trace   rows per second reading the Google task_events sample (benchmarks/trace_read.py).
  sweep   points per minute on 1 core and all cores (benchmarks/sweep.py).

Each scenario runs in a fresh subprocess so its peak memory (max RSS) is its own.
"""

from __future__ import annotations

import argparse
import heapq
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def erlang_config(arrivals: int):
    from simdc.config import validate

    rate = 10.0
    return validate({
        "simulation": {"duration_s": arrivals / rate, "seed": 1, "platforms": ["vm"], "sample_every_s": 3600},
        "host": {"cpu_cores": 10, "memory_gib": 1e5},
        "platform": {"vm": {"overhead_mib": 0, "boot_s": 0}},
        "workload": {"synthetic": {"arrival_rate_per_s": rate, "lifetime_s": {"mean": 1.0},
                                   "cpu_burstiness": 0, "memory_burstiness": 0,
                                   "sizes": [{"cpu_cores": 1, "memory_gib": 1, "weight": 1}]}},
    })


def bare_loop(submit: np.ndarray, life: np.ndarray, slots: int) -> tuple[float, int]:
    """The physical reference: a discrete-event loop on a bare heapq, with arrivals and
    departures as events (time, kind, instance), admission by free slots, and nothing
    else: no records, no metrics."""
    started = time.perf_counter()
    submit_l, life_l = submit.tolist(), life.tolist()
    events = [(submit_l[0], 1, 0)] if submit_l else []
    busy = rejected = 0
    n = len(submit_l)
    while events:
        t, kind, i = heapq.heappop(events)
        if kind == 0:  # departure
            busy -= 1
            continue
        if busy < slots:
            busy += 1
            heapq.heappush(events, (t + life_l[i], 0, i))
        else:
            rejected += 1
        if i + 1 < n:
            heapq.heappush(events, (submit_l[i + 1], 1, i + 1))
    return time.perf_counter() - started, rejected


def bare_loop_records(submit: np.ndarray, life: np.ndarray, slots: int) -> tuple[float, int]:
    """The same loop keeping what any simulator must hand back per instance: when it
    started and when it ended (NaN if turned away), as arrays at the end."""
    started = time.perf_counter()
    submit_l, life_l = submit.tolist(), life.tolist()
    n = len(submit_l)
    start, end = [float("nan")] * n, [float("nan")] * n
    events = [(submit_l[0], 1, 0)] if submit_l else []
    busy = rejected = 0
    while events:
        t, kind, i = heapq.heappop(events)
        if kind == 0:  # departure
            busy -= 1
            end[i] = t
            continue
        if busy < slots:
            busy += 1
            start[i] = t
            heapq.heappush(events, (t + life_l[i], 0, i))
        else:
            rejected += 1
            end[i] = t
        if i + 1 < n:
            heapq.heappush(events, (submit_l[i + 1], 1, i + 1))
    np.asarray(start), np.asarray(end)
    return time.perf_counter() - started, rejected


def scenario_erlang(args) -> dict:
    """simdc.simulate's first call in a fresh interpreter (imports and the libraries'
    first-call costs included), then its median over ``--repeat`` calls, each beside a
    call of the two reference loops, which pay no such costs: the ratio is of medians."""
    import simdc

    config = erlang_config(args.arrivals)
    started = time.perf_counter()
    results = simdc.simulate(config)
    first_wall = time.perf_counter() - started
    submit, life = results.workload["submit_s"].to_numpy(), results.workload["duration_s"].to_numpy()
    walls, bare, records = [], [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        simdc.simulate(config)
        walls.append(time.perf_counter() - started)
        bare_wall, bare_rejected = bare_loop(submit, life, 10)
        bare.append(bare_wall)
        records.append(bare_loop_records(submit, life, 10)[0])
    wall, bare_wall, records_wall = (float(np.median(w)) for w in (walls, bare, records))
    submitted = int(results.summary["submitted"].iloc[0])
    return {"scenario": "erlang", "arrivals": submitted, "first_wall_s": first_wall, "wall_s": wall,
            "walls_s": walls, "arrivals_per_s": submitted / wall, "first_arrivals_per_s": submitted / first_wall,
            "bare_loop_arrivals_per_s": submitted / bare_wall, "ratio_to_bare": wall / bare_wall,
            "records_loop_arrivals_per_s": submitted / records_wall, "ratio_to_records": wall / records_wall,
            "lanes": results.manifest["engine_lanes"],
            "rejected": int(results.summary["rejected"].iloc[0]), "bare_rejected": bare_rejected}


def fleet_config(instances: int):
    from simdc.config import validate

    duration_s = 7 * 86400.0
    return validate({
        "simulation": {"duration_s": duration_s, "seed": 1, "platforms": ["vm", "container"], "sample_every_s": 3600},
        "cluster": {"hosts": [{"cpu_cores": 64, "memory_gib": 256, "reserved_memory_gib": 8, "count": 100}]},
        "platform": {"container": {"admission": "usage"}},
        "workload": {"synthetic": {"arrival_rate_per_s": instances / duration_s,
                                   "lifetime_s": {"median": 1800, "p95": 43200},
                                   "usage_step_s": 300}},
    })


def scenario_fleet(args) -> dict:
    import simdc

    config = fleet_config(args.instances)
    first_sample: dict[str, float] = {}  # when each platform's run began, to split the wall time
    started = time.perf_counter()
    results = simdc.simulate(config, progress=lambda name, t, _: first_sample.setdefault(name, time.perf_counter()))
    wall = time.perf_counter() - started
    summary = results.summary.set_index("platform")
    return {"scenario": "fleet", "instances": int(summary["submitted"].iloc[0]), "platforms": 2, "hosts": 100,
            "wall_s": wall, "instances_per_s": 2 * int(summary["submitted"].iloc[0]) / wall,
            "placed": summary["placed"].to_dict(), "lanes": results.manifest["engine_lanes"],
            "vm_s": first_sample["container"] - first_sample["vm"],
            "container_s": started + wall - first_sample["container"]}


SCENARIOS = {"erlang": scenario_erlang, "fleet": scenario_fleet}


def run_child(name: str, extra: list[str]) -> dict:
    """Run one scenario in a fresh interpreter; return its figures with its peak memory."""
    out = subprocess.run([sys.executable, __file__, "--child", name, *extra],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenarios", nargs="*", default=["erlang", "fleet", "memory", "trace", "sweep"])
    parser.add_argument("--arrivals", type=int, default=200_000)
    parser.add_argument("--instances", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="erlang: calls after the first, for the median")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        figures = SCENARIOS[args.child](args)
        figures["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(figures))
        return
    print(f"# {platform.node()}: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    for name in args.scenarios:
        if name == "erlang":
            f = run_child("erlang", ["--arrivals", str(args.arrivals), "--repeat", str(args.repeat)])
            print(f"erlang: {f['arrivals']:,} arrivals: simdc.simulate {f['wall_s']:.2f} s = "
                  f"{f['arrivals_per_s']:,.0f} arrivals/s (median of {args.repeat}: "
                  f"{', '.join(f'{w:.2f}' for w in f['walls_s'])} s); first call in a fresh process "
                  f"{f['first_wall_s']:.2f} s = {f['first_arrivals_per_s']:,.0f}/s; bare heapq loop "
                  f"{f['bare_loop_arrivals_per_s']:,.0f}/s (simdc {f['ratio_to_bare']:.1f}x slower); bare loop "
                  f"keeping start and end per instance {f['records_loop_arrivals_per_s']:,.0f}/s "
                  f"({f['ratio_to_records']:.1f}x); peak {f['peak_rss_mib']:,.0f} MiB; rejected "
                  f"{f['rejected']:,} vs bare {f['bare_rejected']:,}; engine lane {f['lanes']}")
        elif name == "fleet":
            f = run_child("fleet", ["--instances", str(args.instances)])
            print(f"fleet: {f['instances']:,} instances × 2 platforms on 100 hosts, 7 days, usage every 300 s: "
                  f"{f['wall_s']:.1f} s ({f['instances_per_s']:,.0f} instance-runs/s; vm ≈ {f['vm_s']:.0f} s, "
                  f"container ≈ {f['container_s']:.0f} s with the workload and tables); peak "
                  f"{f['peak_rss_mib']:,.0f} MiB; engine lanes {f['lanes']}")
        elif name == "memory":
            for n in (250_000, 500_000, 1_000_000):
                f = run_child("fleet", ["--instances", str(n)])
                print(f"memory: {f['instances']:>9,} instances: peak {f['peak_rss_mib']:7,.0f} MiB, "
                      f"{f['peak_rss_mib'] * 2**20 / f['instances']:,.0f} bytes per instance, {f['wall_s']:.1f} s")
        elif name == "trace":
            subprocess.run([sys.executable, str(HERE / "trace_read.py")], check=False)
        elif name == "sweep":
            subprocess.run([sys.executable, str(HERE / "sweep.py")], check=False)


if __name__ == "__main__":
    main()
