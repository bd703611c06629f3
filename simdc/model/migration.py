"""Moving instances between hosts: maintenance drains, migration, consolidation (issue #19).

A *drain* takes one physical host out of service, as ``kubectl drain`` does: the host is
cordoned (it takes no new instance), its residents move elsewhere, then it is down for
``maintenance_s`` and comes back. Drains come from a list (``drains``: ``[host, t_s]``
pairs), from a rolling schedule (``rolling_start_s``: every host in turn, one at a time)
or ahead of predicted host failures (``predict_failures_s``: each failure of
``[faults]`` is known that long before; the host is drained, and the failure takes it
down). A running VM moves by pre-copy live migration; a container is stopped and
started again elsewhere (``container = "restart"``: its state is lost, the start is
cold or warm as any start) or checkpointed and restored (``"checkpoint"``, CRIU).

*Consolidation* (``[consolidation]``) looks at the fleet every ``interval_s``: a host
whose CPU utilisation is under ``under`` is emptied, if all its instances fit
elsewhere, and then holds nothing (it draws no power with ``cluster.power_off_idle``); a
host over ``over`` moves instances off, smallest memory first, until it is not.

Defaults, and where they come from:

- ``bandwidth_mib_s = 128``: QEMU's default ``max-bandwidth`` (128 MiB/s; QEMU
  migration/options.c ``MAX_THROTTLE (128 << 20)``; qapi/migration.json, "max-bandwidth").
- ``downtime_limit_s = 0.3``: QEMU's default ``downtime-limit`` (300 ms;
  migration/options.c ``DEFAULT_MIGRATE_SET_DOWNTIME 300``).
- ``max_rounds = 30``: Xen's pre-copy bound, the system of Clark et al. (NSDI 2005)
  (tools/libxc xc_domain_save.c ``DEF_MAX_ITERS 29``: "limit us to 30 times round loop").
- one migration at a time per drained host: OpenStack Nova's default
  ``max_concurrent_live_migrations = 1``.
- ``under = 0.35``, ``over = 0.9``: CloudSim Plus's defaults
  (``VmAllocationPolicyMigrationAbstract.DEF_UNDERLOAD_THRESHOLD``,
  ``VmAllocationPolicyMigrationStaticThreshold.DEF_OVER_UTILIZATION_THRESHOLD``).
- ``min_stay_s = 600``: an instance stays on a host this long after it arrived there
  (placed, restarted or moved) before consolidation may move it, so a host just filled
  is not emptied again at once. Kubernetes' Cluster Autoscaler waits 10 minutes the same
  way before it empties a node (``--scale-down-unneeded-time`` and
  ``--scale-down-delay-after-add``, default ``10m``: cluster-autoscaler FAQ, "What are the
  parameters to CA?"; AKS autoscaler profile documents the same defaults). Beloglazov &
  Buyya's policies (2012; CloudSim's ``PowerVmSelectionPolicy*``) skip only a VM whose move
  is under way (``vm.isInMigration()``), so a VM can move again at the next round, which at
  short intervals restarts containers over and over (review6 F15).
- ``dirty_mib_s = 16`` (pages a guest dirties per second) and ``maintenance_s = 1800``
  are assumptions, to be set per study: the dirty rate depends on the workload (Clark
  et al. measure each benchmark's writable working set, §4; no one figure fits all).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from simdc.model import limits
from simdc.model.base import Spec


class MaintenanceSpec(Spec):
    """Drains, as the module describes. Host indices are physical hosts, as in ``[faults]``."""

    drains: tuple[tuple[int, float], ...] = Field(default=(), description="[host index, t_s] pairs")
    rolling_start_s: float | None = Field(default=None, ge=0,
                                          description="drain every host in turn from then on, one at a time")
    maintenance_s: float = Field(default=1800.0, ge=0, le=limits.MAX_DURATION_S,
                                 description="a drained host is down this long")
    # No source gives how long a drain waits before trying again an instance no host
    # took: 60 s is an assumption (README, Assumptions).
    retry_s: float = Field(default=60.0, gt=0, description="wait before trying again an instance no host took")
    predict_failures_s: float | None = Field(default=None, gt=0,
                                             description="drain a host this long before each of its failures")

    @property
    def active(self) -> bool:
        return bool(self.drains or self.rolling_start_s is not None or self.predict_failures_s)


class MigrationSpec(Spec):
    """How an instance moves (module docstring for the defaults' sources)."""

    bandwidth_mib_s: float = Field(default=128.0, gt=0, description="a migration's share of the link, MiB/s")
    downtime_limit_s: float = Field(default=0.3, gt=0, description="pre-copy stops when the rest fits in this")
    max_rounds: int = Field(default=30, ge=1, le=1000, description="live pre-copy rounds at most")
    dirty_mib_s: float = Field(default=16.0, ge=0, description="memory a running guest dirties per second")
    container: Literal["restart", "checkpoint"] = "restart"


class ConsolidationSpec(Spec):
    """Periodic consolidation; off unless ``interval_s`` is given. Thresholds are CPU
    utilisation (cores in use over the host's cores), 0 to 1, ``under`` below ``over``.
    ``min_stay_s`` (seconds, >= 0): an instance that arrived on its host less than this
    ago is not moved, and a host holding one is not emptied."""

    interval_s: float | None = Field(default=None, ge=1.0)
    min_stay_s: float = Field(default=600.0, ge=0, le=limits.MAX_DURATION_S,
                              description="an instance stays put this long after it arrived on its host")
    under: float = Field(default=0.35, ge=0, le=1)
    over: float = Field(default=0.9, gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> "ConsolidationSpec":
        if self.under >= self.over:
            raise ValueError(f"under ({self.under}) must be below over ({self.over})")
        return self

    @property
    def active(self) -> bool:
        return self.interval_s is not None
