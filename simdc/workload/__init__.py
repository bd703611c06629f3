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
cpu_limit           cores    a container may not use more (default: no limit)
memory_limit_gib    GiB      a container above it is OOM-killed (default: no limit)
==================  =======  ======================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from simdc.model.workload import SyntheticSpec, WorkloadSpec

COLUMNS = ("id", "submit_s", "duration_s", "cpu_cores", "memory_gib",
           "cpu_used", "memory_used_gib", "kind", "image", "priority", "cpu_limit", "memory_limit_gib")
REQUIRED = COLUMNS[:5]
KINDS = ("service", "batch")


@dataclass(frozen=True)
class Workload:
    """The instances to replay, identical for every platform of a run."""

    instances: pd.DataFrame
    source: str
    usage: Any = None  # a model from simdc.workload.usage; None: each instance's mean

    def __len__(self) -> int:
        return len(self.instances)


def load_workload(spec: WorkloadSpec, duration_s: float, seed: int) -> Workload:
    """Build the workload a config asks for, truncated to arrivals before ``duration_s``,
    with its usage over time."""
    from simdc.workload import own, synthetic, usage

    if spec.synthetic is not None:
        workload = synthetic.generate(spec.synthetic, duration_s, seed)
        return Workload(workload.instances, workload.source, synthetic_usage(spec.synthetic, workload, seed))
    workload = own.read(spec.trace)
    instances = workload.instances[workload.instances["submit_s"] < duration_s].reset_index(drop=True)
    model = None
    if spec.usage is not None:
        table = usage.read_table(spec.usage)
        model = usage.SeriesUsage.from_table(table[table["id"].astype(str).isin(instances["id"].astype(str))],
                                             instances["id"].astype(str), spec.usage_step_s,
                                             _means(instances), source=str(spec.usage))
    return Workload(instances, workload.source, model)


def synthetic_usage(spec: SyntheticSpec, workload: Workload, seed: int):
    """The generator's usage over time, or constant means when it has no variation."""
    from simdc.workload.usage import SyntheticUsage

    if spec.cpu_burstiness == 0 and spec.memory_burstiness == 0 and spec.usage_diurnal_amplitude == 0:
        return None
    means = _means(workload.instances)
    return SyntheticUsage(means.cpu, means.mem, step_s=spec.usage_step_s, seed=seed,
                          cpu_burstiness=spec.cpu_burstiness, memory_burstiness=spec.memory_burstiness,
                          correlation=spec.usage_correlation, diurnal_amplitude=spec.usage_diurnal_amplitude,
                          diurnal_peak_s=spec.diurnal_peak_s)


def _means(instances: pd.DataFrame):
    from simdc.workload.usage import ConstantUsage

    return ConstantUsage(instances["cpu_used"].to_numpy(float), instances["memory_used_gib"].to_numpy(float))
