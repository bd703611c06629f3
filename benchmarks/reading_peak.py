"""The peak memory of reading a config's trace, alone, in this fresh process.

    python benchmarks/reading_peak.py CONFIG [key=python-literal ...]

prints the instances kept, the peak resident memory (``ru_maxrss``; run it from a
shell, whose own peak a forked child's ``ru_maxrss`` would start from) after
``load_workload`` and :func:`simdc.budget.estimate`'s bytes before reading. Run at two
sizes of input, the peak's slope per input byte is what simdc.budget's
``READ_BYTES_PER_*`` constants hold (their comment says which inputs).
"""

import ast
import resource
import sys

from simdc import budget
from simdc.config import load_config
from simdc.workload import load_workload

config = load_config(sys.argv[1])
if len(sys.argv) > 2:
    config = config.with_overrides({key: ast.literal_eval(value)
                                    for key, value in (arg.split("=", 1) for arg in sys.argv[2:])})
estimated = budget.estimate(config).bytes
workload = load_workload(config.workload, config.simulation.duration_s, config.simulation.seed, lambda i, u: None)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
print(f"{len(workload.instances):,} instances; peak {peak / 2**20:,.0f} MiB; estimated {estimated / 2**20:,.0f} MiB")
