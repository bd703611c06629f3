"""Measure the bytes per row behind simdc/budget.py's constants: peak RSS of
``simdc.simulate`` in a fresh process, for runs that differ in one kind of row.

    python benchmarks/memory_per_row.py

Prints, per scenario, the rows of each kind and the peak RSS (MiB). The constants are
(peak of a scenario − peak of the base run) / rows of the kind that scenario grows.
"""

from __future__ import annotations

import json
import subprocess
import sys

SCENARIOS = {
    # few instances, few samples: the imports and the engine's fixed cost
    "base": dict(hosts=1, rate=0.001, duration=86400, every=3600),
    # instances: 1 day at 2.3/s = ~200k instances, 1 host of huge capacity, hourly samples
    "instances": dict(hosts=1, rate=2.3, duration=86400, every=3600),
    "instances2": dict(hosts=1, rate=4.6, duration=86400, every=3600),
    # samples x hosts: 500 hosts x 1 day of minute samples = 720k rows per platform
    "samples": dict(hosts=500, rate=0.001, duration=86400, every=60),
    "samples2": dict(hosts=1000, rate=0.001, duration=86400, every=60),
}

CHILD = r"""
import json, resource, sys
from simdc.config import validate
from simdc.experiment import simulate
p = json.loads(sys.argv[1])
config = validate({
    "simulation": {"duration_s": p["duration"], "seed": 1, "platforms": ["vm", "container"],
                   "sample_every_s": p["every"]},
    "cluster": {"hosts": [{"count": p["hosts"], "cpu_cores": 100000, "memory_gib": 1e6}]},
    "workload": {"synthetic": {"arrival_rate_per_s": p["rate"], "lifetime_s": {"mean": 600}}},
})
r = simulate(config)
print(json.dumps({"instances": len(r.workload), "timeseries": len(r.timeseries),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

if __name__ == "__main__":
    for name, params in SCENARIOS.items():
        out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(params)], capture_output=True, text=True,
                             check=True).stdout
        print(name, params, out.strip(), flush=True)
