"""Measure the bytes per row behind simdc/budget.py's constants: peak RSS of
``simdc.simulate`` in a fresh process, for runs that differ in one kind of row.

    python benchmarks/memory_per_row.py [--spill] [SCENARIO ...]

Prints, per scenario, the rows of each kind and the peak RSS (VmHWM, MiB) before the run (the
usage scenarios build their trace files in the process), after ``simulate`` and after
``Results.write``. A constant is the slope: (peak of a scenario − peak of its smaller
twin) / (rows of the kind it grows − the twin's).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

SCENARIOS = {
    # few instances, few samples: the imports and the engine's fixed cost
    "base": dict(hosts=1, rate=0.001, duration=86400, every=3600),
    # instances: 1 day at 2.3/s = ~200k instances, 1 host of huge capacity, hourly samples
    "instances": dict(hosts=1, rate=2.3, duration=86400, every=3600),
    "instances2": dict(hosts=1, rate=4.6, duration=86400, every=3600),
    # samples x hosts: 500 hosts x 1 day of minute samples = 720k rows per platform
    "samples": dict(hosts=500, rate=0.001, duration=86400, every=60),
    "samples2": dict(hosts=1000, rate=0.001, duration=86400, every=60),
    # usage series of a trace: 1,000 instances x 1,000 readings (300 s apart) = 1 M usage rows
    "usage": dict(hosts=1, duration=300000, every=3600, trace=1000, readings=1000),
    "usage2": dict(hosts=1, duration=300000, every=3600, trace=2000, readings=1000),
}

CHILD = r"""
import json, sys, tempfile
from pathlib import Path
import numpy as np, pandas as pd
from simdc.config import validate
from simdc.experiment import simulate
p = json.loads(sys.argv[1])


def peak_mib():
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child forked from a
    # large parent would report the parent's size
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024


tmp = Path(tempfile.mkdtemp())
if "trace" in p:
    workload = {"trace": p["files"] + "/trace.parquet", "usage": p["files"] + "/usage.parquet"}
else:
    workload = {"synthetic": {"arrival_rate_per_s": p["rate"], "lifetime_s": {"mean": 600}}}
config = validate({
    "simulation": {"duration_s": p["duration"], "seed": 1, "platforms": ["vm", "container"],
                   "sample_every_s": p["every"]},
    "cluster": {"hosts": [{"count": p["hosts"], "cpu_cores": 100000, "memory_gib": 1e6}]},
    "workload": workload,
})
start = peak_mib()
r = simulate(config, check_memory=False, spill=p.get("spill", False))
simulated = peak_mib()
r.write(tmp / "out")
print(json.dumps({"instances": len(r.workload), "timeseries": len(r.timeseries),
                  "usage_rows": p.get("trace", 0) * p.get("readings", 0), "peak_mib_before": round(start),
                  "peak_mib": round(simulated), "peak_mib_written": round(peak_mib())}))
"""

def write_trace(folder: Path, n: int, k: int) -> None:
    """``n`` instances alive throughout, each with ``k`` usage readings 300 s apart."""
    import numpy as np
    import pandas as pd

    pd.DataFrame({"id": np.arange(n), "submit_s": np.zeros(n), "duration_s": np.full(n, 1e9),
                  "cpu_cores": np.ones(n), "memory_gib": np.ones(n)}).to_parquet(folder / "trace.parquet")
    pd.DataFrame({"id": np.repeat(np.arange(n), k), "t_s": np.tile(np.arange(k) * 300.0, n),
                  "cpu_cores": np.random.default_rng(1).random(n * k),
                  "memory_gib": np.random.default_rng(2).random(n * k)}).to_parquet(folder / "usage.parquet")


if __name__ == "__main__":
    # python benchmarks/memory_per_row.py [--spill] [SCENARIO ...]: the scenarios named
    # (default all), spilled with --spill (simdc.simulate(spill=True))
    spill = "--spill" in sys.argv[1:]
    names = [name for name in sys.argv[1:] if name != "--spill"] or list(SCENARIOS)
    for name, params in ((name, {**SCENARIOS[name], "spill": spill}) for name in names):
        if "trace" in params:
            params["files"] = tempfile.mkdtemp()
            write_trace(Path(params["files"]), params["trace"], params["readings"])
        out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(params)], capture_output=True, text=True,
                             check=True).stdout
        print(name, params, out.strip(), flush=True)
