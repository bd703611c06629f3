"""Workloads: the instance table every source turns into.

One row per instance request, sorted by ``submit_s``:

==================  =======  ======================================================
column              unit     meaning
==================  =======  ======================================================
id                           unique per instance (int or str)
submit_s            s        request time, from the start of the run
duration_s          s        lifetime once running (service) or work at full speed (batch)
cpu_cores           cores    vCPUs of a VM, CPU request of a container
memory_gib          GiB      size of a VM, memory request of a container
cpu_used            cores    mean CPU demanded while running (default: cpu_cores)
memory_used_gib     GiB      mean memory used while running (default: memory_gib)
kind                         ``service`` or ``batch``
image                        image name, ``""`` when none
priority                     integer, higher is more important (default 0)
==================  =======  ======================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from simdc.model.workload import WorkloadSpec

COLUMNS = ("id", "submit_s", "duration_s", "cpu_cores", "memory_gib",
           "cpu_used", "memory_used_gib", "kind", "image", "priority")
REQUIRED = COLUMNS[:5]
KINDS = ("service", "batch")


@dataclass(frozen=True)
class Workload:
    """The instances to replay, identical for every platform of a run."""

    instances: pd.DataFrame
    source: str

    def __len__(self) -> int:
        return len(self.instances)


def load_workload(spec: WorkloadSpec, duration_s: float, seed: int) -> Workload:
    """Build the workload a config asks for, truncated to arrivals before ``duration_s``."""
    from simdc.workload import own, synthetic

    if spec.synthetic is not None:
        return synthetic.generate(spec.synthetic, duration_s, seed)
    workload = own.read(spec.trace)
    kept = workload.instances[workload.instances["submit_s"] < duration_s]
    return Workload(kept.reset_index(drop=True), workload.source)
