"""Measure the bytes an instance adds to a run's peak, behind simdc/budget.py's
per-instance constants: peak RSS (VmHWM) of ``simdc.simulate`` in a fresh process, for
a config run at two sizes that differ only in their instances, in memory and spilled.

    python benchmarks/memory_per_instance.py [PAIR ...]

A pair's slope is (peak of the larger − peak of the smaller) / (instances added); the
timeseries rows the larger adds (none where only the arrival rate changes; hourly
samples elsewhere) are few and counted at simdc.budget.BYTES_PER_TIMESERIES_ROW, taken
off. Prints a JSON line per run and one line per pair and mode.
"""

from __future__ import annotations

import json
import subprocess
import sys

# config (a configs/ file, or "capacity:HOSTS" for benchmarks/capacity.py's study), the
# overrides of the smaller and the larger run
PAIRS = {
    # general engine, both platforms: images, batch, Kubernetes with a queue, failures
    "capacity": ("capacity:100", {"simulation.duration_s": 21600, "simulation.sample_every_s": 3600},
                 {"simulation.duration_s": 43200, "simulation.sample_every_s": 3600}),
    # vm on the fast lane, containers on the general engine (interference, limits)
    "fleet": ("configs/fleet.toml", {"workload.synthetic.arrival_rate_per_s": 1.5},
              {"workload.synthetic.arrival_rate_per_s": 3.0}),
    # both platforms on the fast lane: one huge host, exponential lifetimes (memory_per_row.py's)
    "fast": ("configs/fleet.toml", {"workload.synthetic.arrival_rate_per_s": 2.3, "host": None,
                                    "cluster.hosts": [{"count": 1, "cpu_cores": 100000, "memory_gib": 1e6}],
                                    "workload.synthetic.lifetime_s": {"mean": 600},
                                    "workload.synthetic.batch_fraction": 0.0,
                                    "workload.synthetic.membw_intensity": 0.0,
                                    "workload.synthetic.io_intensity": 0.0,
                                    "simulation.sample_every_s": 3600},
             {"workload.synthetic.arrival_rate_per_s": 4.6}),
}

CHILD = r"""
import json, sys
p = json.loads(sys.argv[1])
sys.path.insert(0, "benchmarks")
import simdc
import simdc.budget
from simdc.config import load_config


def peak_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024


if p["config"].startswith("capacity:"):
    from capacity import capacity_config
    config = capacity_config(int(p["config"].split(":")[1]))
else:
    config = load_config(p["config"])
config = config.with_overrides(p["overrides"])
start = peak_mib()
r = simdc.simulate(config, check_memory=False, spill=p["spill"])
print(json.dumps({"instances": len(r.workload), "platforms": len(config.simulation.platforms),
                  "timeseries": simdc.budget.estimate(config).timeseries_rows,  # (a spilled run's not read back)
                  "lanes": r.manifest.get("lanes"), "peak_mib_before": round(start, 1),
                  "peak_mib": round(peak_mib(), 1)}))
"""


def run(config: str, overrides: dict, spill: bool) -> dict:
    params = {"config": config, "overrides": overrides, "spill": spill}
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(params)], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


if __name__ == "__main__":
    from simdc.budget import BYTES_PER_TIMESERIES_ROW

    for name in sys.argv[1:] or list(PAIRS):
        config, small, large = PAIRS[name]
        for spill in (False, True):
            a, b = run(config, small, spill), run(config, {**small, **large}, spill)
            print(name, "spilled" if spill else "in memory", json.dumps(a), json.dumps(b), flush=True)
            grown = (b["peak_mib"] - a["peak_mib"]) * 2**20 - (b["timeseries"] - a["timeseries"]) * (
                BYTES_PER_TIMESERIES_ROW / (1 if not spill else b["platforms"]))
            added = b["instances"] - a["instances"]
            print(f"{name} {'spilled' if spill else 'in memory'}: {added:,} instances added, "
                  f"{grown / added:,.0f} B an instance ({grown / added / b['platforms']:,.0f} a platform)",
                  flush=True)
