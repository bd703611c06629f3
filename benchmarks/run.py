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

Scenarios (issue 16, the baseline before the one engine; config in benchmarks/capacity.py):
  capacity       the capacity study (image catalogue with shared layers, a third batch,
                 kubernetes placement with a queue and max_wait_s, interference, host and
                 kernel failures, both platforms, 6 h) at each of ``--hosts`` (default
                 100 and 1000): µs per placed instance, wall time, placed, peak memory.
  contention100  configs/contention.toml on 100 hosts (arrival rate × 100), ``--days``.
  isolation100   configs/isolation.toml on 100 hosts (arrival rate × 25), ``--days``.
  erlang_trace   the erlang scenario's workload written to a simdc-format CSV first and
                 replayed from it (workload.trace, reading included), beside the bare loop.
  cli            ``simdc --help``: median wall time of 5 fresh processes.

Scenario (issue 20, a fleet of cells):
  cells          the capacity study as ``--cells`` cells (default 2, 4 and 8) of
                 ``--hosts-per-cell`` hosts (default 100) for ``--days`` (default 7), the
                 workload shared by hash of the id, each cell a Dask task: wall time on
                 each of ``--workers`` (default 1 and 2: one after another in the
                 driver, and a local cluster of 2), and the driver's peak memory, which
                 should not grow with the cells when they run on workers.
  month1000      (only when named) a month of the capacity study on 1,000 hosts: simdc's
                 memory estimate for the month, and a measured fraction (``--month-days``,
                 default 1) with per-day figures extrapolated to 30 days.

Each scenario runs in a fresh subprocess so its peak memory (max RSS) is its own; each
line ends with the load average (1, 5, 15 min) as the child ended: the machine is shared.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))  # benchmarks/capacity.py


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


def timed_beside_bare_loop(config, repeat: int, records: bool = False):
    """``simdc.simulate(config)`` once (the first call in this process), then ``repeat``
    warm calls, each beside the bare loop (and, with ``records``, the loop that keeps
    records) on the same arrivals: (results, first wall, warm walls, bare walls, the
    bare loop's rejections, record-loop walls)."""
    import simdc

    started = time.perf_counter()
    results = simdc.simulate(config)
    first_wall = time.perf_counter() - started
    submit, life = results.workload["submit_s"].to_numpy(), results.workload["duration_s"].to_numpy()
    walls, bare, kept = [], [], []
    bare_rejected = 0
    for _ in range(repeat):
        started = time.perf_counter()
        simdc.simulate(config)
        walls.append(time.perf_counter() - started)
        bare_wall, bare_rejected = bare_loop(submit, life, 10)
        bare.append(bare_wall)
        if records:
            kept.append(bare_loop_records(submit, life, 10)[0])
    return results, first_wall, walls, bare, bare_rejected, kept


def scenario_erlang(args) -> dict:
    """simdc.simulate's first call in a fresh interpreter (imports and the libraries'
    first-call costs included), then its median over ``--repeat`` calls, each beside a
    call of the two reference loops, which pay no such costs: the ratio is of medians."""

    config = erlang_config(args.arrivals)
    results, first_wall, walls, bare, bare_rejected, records = timed_beside_bare_loop(config, args.repeat,
                                                                                      records=True)
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
        "platform": {"container": {"admission": "oracle"}},
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


def _per_placed(results, wall_s: float) -> dict:
    """µs per placed instance: ``wall_s`` over placed instances summed over platforms."""
    placed = {str(k): int(v) for k, v in results.summary.set_index("platform")["placed"].items()}
    total = sum(placed.values())
    return {"placed": placed, "placed_total": total, "us_per_placed": wall_s / total * 1e6 if total else float("nan"),
            "lanes": results.manifest["engine_lanes"]}


def scenario_capacity(args) -> dict:
    """The capacity study on ``--hosts`` hosts (one count), 6 h, both platforms."""
    import simdc
    from capacity import booked_share, capacity_config

    hosts = int(args.hosts.split(",")[0])
    config = capacity_config(hosts)
    started = time.perf_counter()
    results = simdc.simulate(config)
    wall = time.perf_counter() - started
    summary = results.summary.set_index("platform")
    return {"scenario": "capacity", "hosts": hosts, "wall_s": wall, **_per_placed(results, wall),
            "submitted": int(summary["submitted"].iloc[0]),
            "booked_cpu": booked_share(results, since_s=2 * 3600.0),
            "failures": {str(k): int(v) for k, v in summary["failures"].items()},
            "failure_kills": {str(k): int(v) for k, v in summary["failure_kills"].items()},
            "queue_mean_s": {str(k): float(v) for k, v in summary["queue_mean_s"].items()},
            "rejected": {str(k): int(v) for k, v in summary["rejected"].items()}}


def scaled_config(name: str, hosts: int, duration_s: float):
    """configs/<name>.toml with its hosts multiplied up to ``hosts`` in all and the arrival
    rate multiplied by the same factor (the same load per host), for ``duration_s``."""
    import tomllib

    from simdc.config import validate

    raw = tomllib.loads((ROOT / "configs" / f"{name}.toml").read_text())
    if "host" in raw:  # one host given as [host]: a cluster of one group
        raw["cluster"] = {"hosts": [{**raw.pop("host"), "count": 1}]}
    groups = raw["cluster"]["hosts"]
    before = sum(group.get("count", 1) for group in groups)
    if len(groups) != 1 or hosts % before:
        raise SystemExit(f"error: configs/{name}.toml: cannot scale {before} hosts to {hosts}")
    groups[0]["count"] = hosts
    raw["workload"]["synthetic"]["arrival_rate_per_s"] *= hosts / before
    raw["simulation"]["duration_s"] = duration_s
    return validate(raw)


def scenario_scaled(args) -> dict:
    """configs/contention.toml or isolation.toml scaled to 100 hosts for ``--days``."""
    import simdc

    name = args.child.removesuffix("100")
    config = scaled_config(name, 100, args.days * 86400.0)
    started = time.perf_counter()
    results = simdc.simulate(config)
    wall = time.perf_counter() - started
    return {"scenario": args.child, "days": args.days, "wall_s": wall, **_per_placed(results, wall),
            "submitted": int(results.summary["submitted"].iloc[0]), "platforms": list(config.simulation.platforms)}


def scenario_erlang_trace(args) -> dict:
    """The erlang scenario from a trace file: the workload is drawn once, written in
    simdc's CSV format (as ``simdc trace generate`` would), and every timed call of
    simdc.simulate reads it again; the bare loops run on the instances read back."""
    import tempfile

    import simdc
    from simdc.config import validate
    from simdc.workload import own

    drawn = simdc.simulate(erlang_config(args.arrivals))  # the workload, and imports warmed
    with tempfile.TemporaryDirectory() as folder:
        path = own.write(drawn.workload, Path(folder) / "erlang.csv")
        raw = erlang_config(args.arrivals).to_dict()
        raw["workload"] = {"trace": str(path), "format": "simdc"}
        config = validate(raw)
        results, first_wall, walls, bare, bare_rejected, _ = timed_beside_bare_loop(config, args.repeat)
        csv_mib = path.stat().st_size / 2**20
    wall, bare_wall = float(np.median(walls)), float(np.median(bare))
    submitted = int(results.summary["submitted"].iloc[0])
    return {"scenario": "erlang_trace", "arrivals": submitted, "csv_mib": csv_mib, "first_wall_s": first_wall,
            "wall_s": wall, "walls_s": walls, "arrivals_per_s": submitted / wall,
            "bare_loop_arrivals_per_s": submitted / bare_wall, "ratio_to_bare": wall / bare_wall,
            "lanes": results.manifest["engine_lanes"], "rejected": int(results.summary["rejected"].iloc[0]),
            "drawn_rejected": int(drawn.summary["rejected"].iloc[0]), "bare_rejected": bare_rejected}


def scenario_month1000(args) -> dict:
    """A month of the capacity study on 1,000 hosts: simdc's memory estimate of the
    month (simdc.budget, as simulate(check_memory=True) checks it), then a measured run
    of ``--month-days`` days (checked the same way), extrapolated linearly to 30 days."""
    import simdc
    from simdc import budget
    from capacity import capacity_config

    month = capacity_config(1000, 30 * 86400.0)
    estimate, available = budget.estimate(month), budget.available_bytes()
    figures = {"scenario": "month1000", "estimate_gib": estimate.bytes / 2**30, "available_gib":
               (available or float("nan")) / 2**30, "estimate_instances": estimate.instances, "refused": None}
    try:
        budget.check(month, available=available)
    except budget.TooBigError as refusal:
        figures["refused"] = str(refusal)
    config = capacity_config(1000, args.month_days * 86400.0)
    figures["days"] = args.month_days
    figures["fraction_estimate_gib"] = budget.estimate(config).bytes / 2**30
    import pandas  # noqa: F401  imports in the base the extrapolation keeps fixed
    import simdc.engine.simulation  # noqa: F401

    figures["rss_before_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    try:
        results = simdc.simulate(config)  # check_memory=True: refused if even the fraction won't fit
    except budget.TooBigError as refusal:
        figures["fraction_refused"] = str(refusal)
        return figures
    wall = time.perf_counter() - started
    return {**figures, "wall_s": wall, **_per_placed(results, wall),
            "submitted": int(results.summary["submitted"].iloc[0])}


def cells_config(cells: int, hosts_per_cell: int, duration_s: float):
    """The capacity study (benchmarks/capacity.py) as ``cells`` cells of
    ``hosts_per_cell`` hosts each, the arrival rate that of the whole fleet, each cell an
    equal share of it (routing by a hash of the id)."""
    from capacity import capacity_dict

    from simdc.config import validate

    raw = capacity_dict(cells * hosts_per_cell, duration_s)
    group = {**raw.pop("cluster")["hosts"][0], "count": hosts_per_cell}
    raw["cells"] = [{"name": f"cell{i}", "share": 1 / cells, "hosts": [group]} for i in range(cells)]
    raw["cells"][-1]["share"] = 1 - (cells - 1) / cells  # the shares sum to 1 exactly
    return validate(raw)


def scenario_cells(args) -> dict:
    """One fleet of cells on ``--workers`` (1: in this process, without Dask); the
    driver's peak memory is this process's (the workers' are their own)."""
    import tempfile

    from simdc.cells import run_cells

    cells, workers = int(args.cells.split(",")[0]), int(args.workers.split(",")[0])
    config = cells_config(cells, args.hosts_per_cell, args.days * 86400.0)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        run = run_cells(config, folder, workers=workers)
        wall = time.perf_counter() - started
        instances_mib = (Path(folder) / "instances.parquet").stat().st_size / 2**20
    summary = run.summary.set_index("platform")
    placed = {str(k): int(v) for k, v in summary["placed"].items()}
    return {"scenario": "cells", "cells": cells, "hosts": cells * args.hosts_per_cell, "workers": workers,
            "days": args.days, "wall_s": wall, "placed": placed, "submitted": int(summary["submitted"].iloc[0]),
            "us_per_placed": wall / sum(placed.values()) * 1e6, "instances_parquet_mib": instances_mib}


SCENARIOS = {"erlang": scenario_erlang, "fleet": scenario_fleet, "capacity": scenario_capacity,
             "contention100": scenario_scaled, "isolation100": scenario_scaled,
             "erlang_trace": scenario_erlang_trace, "month1000": scenario_month1000, "cells": scenario_cells}
KNOWN = [*SCENARIOS, "memory", "trace", "sweep", "cli"]
DEFAULT = ["erlang", "fleet", "memory", "trace", "sweep", "capacity", "contention100", "isolation100",
           "erlang_trace", "cli"]


def run_child(name: str, extra: list[str]) -> dict:
    """Run one scenario in a fresh interpreter; return its figures with its peak memory."""
    out = subprocess.run([sys.executable, __file__, "--child", name, *extra],
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"error: scenario {name} failed (exit {out.returncode}): "
                         f"{(out.stderr.strip().splitlines() or ['no message'])[-1]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def load() -> str:
    """The load average (1, 5, 15 min), as ``uptime`` gives it."""
    return "load " + "/".join(f"{x:.1f}" for x in os.getloadavg())


def cli_help_s(runs: int = 5) -> list[float]:
    """Wall times of ``simdc --help`` in ``runs`` fresh processes (the venv's script)."""
    script = Path(sys.executable).with_name("simdc")
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([str(script), "--help"], capture_output=True, check=True)
        walls.append(time.perf_counter() - started)
    return walls


def _platforms(counts: dict) -> str:
    return ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in counts.items())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenarios", nargs="*", default=DEFAULT, help=f"any of {', '.join(KNOWN)}")
    parser.add_argument("--arrivals", type=int, default=200_000)
    parser.add_argument("--instances", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="erlang: calls after the first, for the median")
    parser.add_argument("--hosts", default="100,1000", help="capacity: host counts, comma-separated")
    parser.add_argument("--days", type=float, default=7.0, help="contention100, isolation100: simulated days")
    parser.add_argument("--month-days", type=float, default=1.0, help="month1000: days actually run")
    parser.add_argument("--cells", default="2,4,8", help="cells: cell counts, comma-separated")
    parser.add_argument("--workers", default="1,2", help="cells: worker counts, comma-separated (1: no Dask)")
    parser.add_argument("--hosts-per-cell", type=int, default=100, help="cells: hosts in each cell")
    parser.add_argument("--child")
    args = parser.parse_args()
    unknown = [name for name in args.scenarios if name not in KNOWN]
    if unknown:
        parser.exit(2, f"error: unknown scenario {unknown[0]!r}: expected one of {', '.join(KNOWN)}\n")
    if args.child:
        figures = SCENARIOS[args.child](args)
        figures["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        figures["load"] = load()
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
        elif name == "capacity":
            for hosts in args.hosts.split(","):
                f = run_child("capacity", ["--hosts", hosts])
                print(f"capacity: {f['hosts']:,} hosts, 6 h, {f['submitted']:,} arrivals: "
                      f"**{f['us_per_placed']:,.0f} µs per placed instance** ({f['wall_s']:.1f} s for "
                      f"{f['placed_total']:,} placed: {_platforms(f['placed'])}); peak {f['peak_rss_mib']:,.0f} MiB; "
                      f"CPU booked after 2 h {_platforms({k: f'{v:.0%}' for k, v in f['booked_cpu'].items()})}; "
                      f"failures {_platforms(f['failures'])} (killing {_platforms(f['failure_kills'])}); "
                      f"queue mean {_platforms({k: f'{v:.1f} s' for k, v in f['queue_mean_s'].items()})}; "
                      f"rejected {_platforms(f['rejected'])}; lanes {f['lanes']}; {f['load']}")
        elif name in ("contention100", "isolation100"):
            f = run_child(name, ["--days", str(args.days)])
            print(f"{name}: 100 hosts, {f['days']:g} days, {f['submitted']:,} arrivals × {len(f['platforms'])} "
                  f"platforms: **{f['us_per_placed']:,.0f} µs per placed instance** ({f['wall_s']:.1f} s for "
                  f"{f['placed_total']:,} placed: {_platforms(f['placed'])}); peak {f['peak_rss_mib']:,.0f} MiB; "
                  f"lanes {f['lanes']}; {f['load']}")
        elif name == "erlang_trace":
            f = run_child("erlang_trace", ["--arrivals", str(args.arrivals), "--repeat", str(args.repeat)])
            print(f"erlang_trace: {f['arrivals']:,} arrivals from a {f['csv_mib']:.1f} MiB simdc CSV: simdc.simulate "
                  f"with reading {f['wall_s']:.2f} s = {f['arrivals_per_s']:,.0f} arrivals/s (median of "
                  f"{args.repeat}: {', '.join(f'{w:.2f}' for w in f['walls_s'])} s; the first "
                  f"{f['first_wall_s']:.2f} s); bare heapq loop {f['bare_loop_arrivals_per_s']:,.0f}/s: simdc "
                  f"**{f['ratio_to_bare']:.1f}x** the bare loop; peak {f['peak_rss_mib']:,.0f} MiB; rejected "
                  f"{f['rejected']:,} (drawn workload {f['drawn_rejected']:,}, bare {f['bare_rejected']:,}); "
                  f"lane {f['lanes']}; {f['load']}")
        elif name == "cli":
            walls = cli_help_s()
            print(f"cli: simdc --help **{np.median(walls):.2f} s** (median of 5 fresh processes: "
                  f"{', '.join(f'{w:.2f}' for w in walls)} s); {load()}")
        elif name == "month1000":
            f = run_child("month1000", ["--month-days", str(args.month_days)])
            print(f"month1000: simdc's estimate for 30 days of 1,000 hosts: {f['estimate_gib']:,.1f} GiB "
                  f"({f['estimate_instances']:,} instances a platform) against {f['available_gib']:,.1f} GiB "
                  f"available: " + (f"REFUSED by simdc.budget: {f['refused']}" if f["refused"] else "fits"))
            if "fraction_refused" in f:
                print(f"month1000: even {f['days']:g} days is refused: {f['fraction_refused']}")
            else:
                days = f["days"]
                grown = f["peak_rss_mib"] - f["rss_before_mib"]
                print(f"month1000: ran {days:g} of 30 days (estimate {f['fraction_estimate_gib']:.1f} GiB): "
                      f"{f['wall_s']:,.0f} s, {f['us_per_placed']:,.0f} µs per placed instance "
                      f"({f['placed_total']:,} placed: {_platforms(f['placed'])}), peak {f['peak_rss_mib']:,.0f} MiB; "
                      f"per day {f['wall_s'] / days:,.0f} s and {grown / days:,.0f} MiB over the "
                      f"{f['rss_before_mib']:,.0f} MiB of imports; extrapolated linearly to 30 days (not run): "
                      f"{f['wall_s'] / days * 30 / 3600:,.1f} h and "
                      f"{(f['rss_before_mib'] + grown / days * 30) / 1024:,.1f} GiB; lanes {f['lanes']}; {f['load']}")
        elif name == "cells":
            for cells in args.cells.split(","):
                for workers in args.workers.split(","):
                    f = run_child("cells", ["--cells", cells, "--workers", workers, "--days", str(args.days),
                                            "--hosts-per-cell", str(args.hosts_per_cell)])
                    print(f"cells: {f['cells']} cells × {args.hosts_per_cell} hosts, {f['days']:g} days, "
                          f"{f['submitted']:,} arrivals, {'in the driver' if f['workers'] == 1 else ''}"
                          f"{'' if f['workers'] == 1 else f'{workers} local workers'}: **{f['wall_s']:.1f} s** "
                          f"({f['us_per_placed']:,.0f} µs per placed instance, {_platforms(f['placed'])}); "
                          f"driver peak **{f['peak_rss_mib']:,.0f} MiB**; instances.parquet "
                          f"{f['instances_parquet_mib']:.1f} MiB; {f['load']}")
        elif name == "trace":
            subprocess.run([sys.executable, str(HERE / "trace_read.py")], check=False)
        elif name == "sweep":
            subprocess.run([sys.executable, str(HERE / "sweep.py")], check=False)


if __name__ == "__main__":
    main()
