"""Fault injection: host failures and kernel failures, and what happens to their victims.

A host failure kills everything on the host and takes it down for a repair time. A
kernel failure kills what shares that kernel: on a container host every container (and
the host reboots, ``kernel_repair_s``); a VM, or a sandboxed pod (``guest_kernel``), has a
kernel of its own, so a kernel failure kills that one instance, the host staying up.
Killed instances are resubmitted (placed again, on another host when the failed one is
down) or lost.

Failures come at exponential intervals (mean ``*_mtbf_s``: per host for host failures;
per kernel, i.e. per container host or per running VM or sandboxed pod, for kernel
failures) and/or at the listed ``[host index, t_s]`` moments. A host's mean time between
failures is its mean time up: the next failure's interval is drawn when its repair ends,
so failures come every ``host_mtbf_s + host_repair_s`` on average (a repair as long as
the MTBF halves the count over a run). Failure times are drawn per host, independent
of the platform, so every platform meets the same host failures.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from simdc.model import limits
from simdc.model.base import Spec


class FaultSpec(Spec):
    """Failures as the module describes; a mean time between failures is at least 1 s."""

    host_mtbf_s: float | None = Field(default=None, ge=limits.MIN_MTBF_S)
    # No source fixes either repair time: an hour to repair a host and a minute to reboot
    # a container host after a kernel failure are assumptions (README, "Assumptions").
    host_repair_s: float = Field(default=3600.0, ge=0)
    host_failures: tuple[tuple[int, float], ...] = Field(default=(), description="[host index, t_s] pairs")
    kernel_mtbf_s: float | None = Field(default=None, ge=limits.MIN_MTBF_S)
    # A container host's reboot: 60 s, an assumption (above).
    kernel_repair_s: float = Field(default=60.0, ge=0, description="a container host's reboot after a kernel failure")
    kernel_failures: tuple[tuple[int, float], ...] = Field(default=(), description="[host index, t_s] pairs")
    on_failure: Literal["resubmit", "lose"] = "resubmit"

    @property
    def active(self) -> bool:
        return bool(self.host_mtbf_s or self.kernel_mtbf_s or self.host_failures or self.kernel_failures)
