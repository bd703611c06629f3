"""Where a streamed (spilled, general-engine) run's peak is, and what its live chunks hold
(issue #16, bounded memory): a small stand-in for the month of 1,000 hosts.

    python benchmarks/memory_streamed.py [--hosts 100] [--days 1 2] [--group-rows 25000]

Runs ``simulate(capacity_config(hosts, days), spill=True)`` in a fresh process per
horizon, with the row groups (``GROUP_ROWS``, ``SPILL_ROWS``, the timeseries'
``STREAM_ROWS``) cut to ``--group-rows`` (25,000 at 100 hosts holds the same share of a
platform's rows as 250,000 at 1,000 hosts), and prints VmHWM and VmRSS around each stage
(the engine built, each platform's end, its row-order rewrite, the join of the parts),
the chunks alive at each platform's end by age and the rows that pin the old ones, and
the peak's growth per instance added from one horizon to the next (both platforms'
instances, ``n`` a platform). The chunks live on memory maps and Arrow's buffers outside
Python's allocator: tracemalloc does not see them, RSS does.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _status(key: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith(key + ":"))


def child(hosts: int, days: float, group_rows: int) -> dict:
    """One run in this process; its stages and peak."""
    sys.path.insert(0, str(HERE))
    import numpy as np
    from capacity import capacity_config

    import simdc
    from simdc import cells, experiment
    from simdc.engine import chunks
    from simdc.engine import simulation as engine

    chunks.GROUP_ROWS = experiment.SPILL_ROWS = engine.Timeseries.STREAM_ROWS = group_rows
    stages: list[tuple[str, float, float, float]] = []

    def stage(name: str) -> None:
        stages.append((name, _status("VmHWM") / 2**20, _status("VmRSS") / 2**20, time.process_time()))

    def wrapped(owner, name: str, label: str) -> None:
        original = getattr(owner, name)

        def call(*args, **kwargs):
            stage("before " + label)
            out = original(*args, **kwargs)
            stage("after " + label)
            return out

        setattr(owner, name, call)

    live: dict[str, dict] = {}
    flush = engine.Simulation._flush_chunks
    final = engine.Simulation._FINAL

    def flushed(self, now: float, last: bool = False):
        if last:  # the horizon: what the live chunks hold, by age, and what pins the old ones
            state, submit = np.frombuffer(self.state, np.int8), self.inputs["submit_s"].to_numpy()
            kind = self.inputs["kind"].astype(str).to_numpy()
            ages, pins = collections.Counter(), collections.Counter()
            for k in self.chunks.live:
                lo, hi = self.chunks.bounds(k)
                age_h = (now - submit[lo]) / 3600
                ages[int(age_h // 6) * 6] += 1
                if age_h > 12:
                    for i in np.flatnonzero(~np.isin(state[lo:hi], final)) + lo:
                        pins[f"{int(state[i])}:{kind[i]}"] += 1
            live[self.name] = {"live": len(self.chunks.live), "opened": self.chunks.opened,
                               "by_age_h": dict(sorted(ages.items())), "pinning_rows_state_kind": dict(pins)}
        return flush(self, now, last)

    engine.Simulation._flush_chunks = flushed
    wrapped(engine.Simulation, "_tables", "a platform's tables")
    wrapped(chunks.RowGroups, "close", "a file's row-order rewrite")
    wrapped(cells, "_join", "the join of the parts")
    results = simdc.simulate(capacity_config(hosts, days * 86400.0), spill=True, check_memory=False)
    stage("end")
    return {"n": len(results.workload), "peak_mib": _status("VmHWM") / 2**20, "stages": stages, "live": live}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--days", type=float, nargs="+", default=[1.0, 2.0])
    parser.add_argument("--group-rows", type=int, default=25_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.hosts, args.days[0], args.group_rows)))
        return
    runs = []
    for days in args.days:
        out = subprocess.run([sys.executable, __file__, "--child", "--hosts", str(args.hosts), "--days", str(days),
                              "--group-rows", str(args.group_rows)], check=True, capture_output=True, text=True)
        run = json.loads(out.stdout.splitlines()[-1])
        runs.append((days, run))
        print(f"{args.hosts} hosts, {days:g} days: {run['n']:,} instances a platform, peak {run['peak_mib']:,.1f} MiB")
        for name, hwm, rss, cpu in run["stages"]:
            print(f"    {name:>36}: VmHWM {hwm:7.1f}  VmRSS {rss:7.1f} MiB  ({cpu:6.1f} s CPU)")
        for platform, chunks in run["live"].items():
            print(f"    {platform}: {chunks['live']} chunks alive of {chunks['opened']} at the horizon; by age (h): "
                  f"{chunks['by_age_h']}; rows pinning those older than 12 h (state:kind): "
                  f"{chunks['pinning_rows_state_kind']}")
    for (d0, r0), (d1, r1) in zip(runs, runs[1:]):
        growth = (r1["peak_mib"] - r0["peak_mib"]) * 2**20 / (r1["n"] - r0["n"])
        print(f"peak growth {d0:g} -> {d1:g} days: {growth:,.0f} B per instance (a platform's count)")


if __name__ == "__main__":
    main()
