"""Platforms' rules turned into per-instance numbers, once, before the run.

The engine itself is platform-blind: it books ``book_cpu`` / ``book_mem`` against a
host's caps from admission to the end, and adds ``cpu_demand`` / ``mem_used`` while the
instance runs. What differs between a VM and a container is only how those numbers
and the caps are derived, here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simdc.model.host import HostSpec
from simdc.model.platform import ContainerPlatform, VmPlatform

MIB_PER_GIB = 1024.0


@dataclass(frozen=True)
class Footprints:
    """Per-instance quantities, aligned with the workload rows."""

    book_cpu: np.ndarray  # cores counted against the host's CPU cap, admission to end
    book_mem_gib: np.ndarray  # GiB counted against the memory cap: the "allocated" memory
    cpu_demand: np.ndarray  # cores demanded while running
    mem_used_gib: np.ndarray  # GiB resident on the host while running
    start_s: np.ndarray  # start latency: admission to running


def footprints(platform: VmPlatform | ContainerPlatform, instances: pd.DataFrame,
               rng: np.random.Generator) -> Footprints:
    """What each instance of ``instances`` takes under ``platform``'s rules."""
    size_cpu = instances["cpu_cores"].to_numpy(float)
    size_mem = instances["memory_gib"].to_numpy(float)
    used_cpu = instances["cpu_used"].to_numpy(float)
    used_mem = instances["memory_used_gib"].to_numpy(float)
    overhead_gib = platform.overhead_mib / MIB_PER_GIB
    n = len(instances)

    if isinstance(platform, VmPlatform):
        # Static preallocation: the whole size is taken for the whole life; a guest can
        # neither use more vCPUs nor more memory than it was given.
        return Footprints(
            book_cpu=size_cpu,
            book_mem_gib=size_mem + overhead_gib,
            cpu_demand=np.minimum(used_cpu, size_cpu),
            mem_used_gib=np.minimum(used_mem, size_mem) + overhead_gib,
            start_s=platform.boot_s.sample(rng, n),
        )
    # Dynamic sharing: the footprint is what the container uses. Admission counts
    # requests (Kubernetes) or current usage.
    by_usage = platform.admission == "usage"
    return Footprints(
        book_cpu=used_cpu if by_usage else size_cpu,
        book_mem_gib=(used_mem if by_usage else size_mem) + overhead_gib,
        cpu_demand=used_cpu,
        mem_used_gib=used_mem + overhead_gib,
        start_s=platform.start_s.sample(rng, n),
    )


def caps(platform: VmPlatform | ContainerPlatform, host: HostSpec) -> tuple[float, float]:
    """(CPU cores, memory GiB) that instances may book on ``host``."""
    if isinstance(platform, VmPlatform):
        return (host.cpu_cores * platform.cpu_overcommit,
                host.allocatable_memory_gib * platform.memory_overcommit)
    return host.cpu_cores * platform.overcommit, host.allocatable_memory_gib * platform.overcommit
