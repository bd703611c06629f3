"""Services as replica sets: a replica count, an image, a demand over time, releases that
roll a new image over the replicas, and an optional horizontal autoscaler.

Times in seconds, demand in cores (what the service's users ask of its replicas at once).
The controller that acts on these specs is :mod:`simdc.engine.services`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from simdc.model import limits
from simdc.model.base import BOOL_MARK, Spec
from simdc.model.workload import DIURNAL_PEAK_S

# Kubernetes accepts whole-number percentages only (k8s.io/apimachinery/pkg/util/validation,
# IsValidPercent: "^[0-9]+%$"; intstr.GetScaledValueFromIntOrPercent reads them with Atoi).
_PERCENT = re.compile(r"^[0-9]+%$")


def _int_or_percent(value):
    """A count of replicas (an integer >= 0) or a percentage string ("25%"), else one error."""
    if isinstance(value, str) and _PERCENT.match(value.strip()):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ValueError(f"must be a whole number of replicas >= 0 or a whole-number percentage like '25%' "
                     f"(got {value!r})")


def _is_zero(value: int | str) -> bool:
    """A count or percentage (as :func:`_int_or_percent` keeps it) that is 0 or "0%"."""
    return float(value.rstrip("%")) == 0 if isinstance(value, str) else value == 0


class Spike(Spec):
    """Demand × ``factor`` during [``at_s``, ``at_s + duration_s``)."""

    at_s: float = Field(ge=0)
    duration_s: float = Field(gt=0)
    factor: float = Field(gt=0, le=limits.MAX_SPIKE_FACTOR)


class DemandSpec(Spec):
    """A service's demand in cores over time, evaluated on a grid of ``step_s``.

    ``cores`` (a constant until the first step: a step at 0 replaces it), changed to
    ``steps`` ``[[at_s, cores], ...]`` from each ``at_s`` on, or a plain ``series`` (a
    CSV of ``t_s,value``: each value from its ``t_s`` on, the first at 0), times a
    diurnal swing of ± ``diurnal_amplitude`` peaking at ``diurnal_peak_s`` of the day,
    times each spike's factor while it lasts. With
    ``per_request_core_s`` the demand is in requests per second instead
    (``requests_per_s``, the steps' and the series' values), each request costing that
    many core-seconds: cores = rate × ``per_request_core_s``. Or a real invocation
    trace, added: ``trace``, the Azure Functions 2019 ``invocations.csv`` (invocations per
    minute), for ``function`` (its HashFunction; default the busiest), each invocation
    costing ``core_s_per_invocation`` core-seconds (default: the function's average
    duration in the trace's ``durations.csv``, one core while it runs).
    """

    cores: float = Field(default=0.0, ge=0, le=limits.MAX_DEMAND, description="constant demand, cores")
    requests_per_s: float = Field(default=0.0, ge=0, le=limits.MAX_DEMAND,
                                  description="constant demand, requests per second (with per_request_core_s)")
    per_request_core_s: float | None = Field(default=None, gt=0, description="core-seconds a request costs: the "
                                                                              "demand is in requests per second")
    steps: tuple[tuple[float, float], ...] = Field(default=(), description="[[at_s, value], ...]: from at_s on")
    series: Path | None = Field(default=None, description="CSV t_s,value: each value from its t_s on, the first at 0")
    diurnal_amplitude: float = Field(default=0.0, ge=0, lt=1)
    # 14:00, as the generator's arrivals: an assumption (README, Assumptions).
    diurnal_peak_s: float = Field(default=DIURNAL_PEAK_S, ge=0, lt=86400)
    spikes: tuple[Spike, ...] = ()
    trace: Path | None = Field(default=None, description="Azure Functions 2019 invocations.csv")
    function: str | None = Field(default=None, description="HashFunction of the trace; default the busiest")
    core_s_per_invocation: float | None = Field(default=None, gt=0)
    step_s: float = Field(default=15.0, ge=limits.MIN_STEP_S,
                          description="grid the demand is evaluated and recorded on")

    @field_validator("steps")
    @classmethod
    def _steps(cls, steps):
        for at_s, cores in steps:
            if at_s < 0 or cores < 0:
                raise ValueError(f"each step is [at_s >= 0, value >= 0] (got {[at_s, cores]})")
            if cores > limits.MAX_DEMAND:
                raise ValueError(f"each step's value must be <= {limits.MAX_DEMAND:,.0f} "
                                 f"(a million hosts of 1,000 cores) (got {cores:g})")
        if list(steps) != sorted(steps):
            raise ValueError("steps must be in order of at_s")
        return steps

    @model_validator(mode="after")
    def _source(self) -> "DemandSpec":
        if self.trace is None and (self.function is not None or self.core_s_per_invocation is not None):
            raise ValueError("function and core_s_per_invocation go with demand.trace")
        if self.per_request_core_s is None and self.requests_per_s:
            raise ValueError("requests_per_s needs per_request_core_s (the core-seconds one request costs)")
        if self.per_request_core_s is not None and self.cores:
            raise ValueError("give the demand in cores or in requests per second (per_request_core_s), not both")
        if self.per_request_core_s is not None and self.trace is not None:
            raise ValueError("with demand.trace an invocation costs core_s_per_invocation; per_request_core_s goes "
                             "with requests_per_s, steps or series")
        if self.series is not None and self.steps:
            raise ValueError("give steps or a series, not both")
        if self.series is not None and (self.cores or self.requests_per_s):
            raise ValueError("a series is the demand itself, from 0 on: give cores (or requests_per_s, with steps) "
                             "or a series, not both")
        return self


class ReleaseSpec(Spec):
    """At ``at_s``, a new version of the service: ``image`` (default: the same image, a
    configuration change) rolled over the replicas."""

    at_s: float = Field(ge=0)
    image: str | None = None


class AutoscaleSpec(Spec):
    """A horizontal autoscaler: Kubernetes' HPA on average CPU utilisation of the ready
    replicas, from their usage: what they serve, at most their cores each, never the
    demand they leave unserved, which no metric shows; as metrics-server reports it, each
    replica's mean over the 15 s window before its last scrape, so a sync never sees a
    change at its own instant; utilisation in whole percent of the requests, truncated
    (defaults from the Kubernetes docs, "Horizontal Pod Autoscaling": 15 s sync period,
    0.1 tolerance, 300 s scale-down stabilisation window, a recommendation exactly that old
    no longer counting; scale-up by at most the larger of 100 % and 4 replicas per 15 s
    period, counted from the replicas at the period's start whatever ``sync_s``, the
    default ``behavior``). The controller's rules and their sources:
    :mod:`simdc.engine.services` (``hpa_recommendation``, ``hpa_scale_up_limit``,
    ``Controller._sync``)."""

    min_replicas: int = Field(default=1, ge=1)
    max_replicas: int = Field(ge=1, le=10_000)
    target_utilisation: float = Field(gt=0, le=1, description="of the replicas' CPU request")
    sync_s: float = Field(default=15.0, ge=limits.MIN_STEP_S)
    tolerance: float = Field(default=0.1, ge=0, lt=1)
    scale_down_stabilisation_s: float = Field(default=300.0, ge=0)
    # A VM scale set's warm pool: VMs booted ahead and stopped. A scale-out takes one while
    # any is left and it starts in warm_start_s (no disk copy, no boot); the pool refills
    # one VM per VM taken, a boot later. No default for warm_start_s: resuming a stopped
    # VM depends on the cloud, so the study must state it.
    warm_pool: int = Field(default=0, ge=0, le=10_000, description="VMs kept booted and stopped (VM platforms)")
    warm_start_s: float | None = Field(default=None, ge=0, description="start of a VM from the warm pool")

    @model_validator(mode="after")
    def _bounds(self) -> "AutoscaleSpec":
        if self.max_replicas < self.min_replicas:
            raise ValueError(f"max_replicas ({self.max_replicas}) must be >= min_replicas ({self.min_replicas})")
        if self.warm_pool and self.warm_start_s is None:
            raise ValueError("warm_pool needs warm_start_s (how long a VM from the pool takes to start)")
        return self


class ServiceSpec(Spec):
    """A service: ``replicas`` instances of ``image``, each of ``cpu_cores`` and
    ``memory_gib`` (a VM's size, a container's request), serving ``demand``.

    A replica serves once it has started and passed ``readiness_s`` (its readiness
    probe); a ready replica serves up to ``cpu_cores`` of the demand. ``max_surge`` and
    ``max_unavailable`` govern rollouts as in Kubernetes (a count, or a percentage of
    the replicas: surge rounds up, unavailable down; defaults 25 %, Kubernetes'
    Deployment defaults). Time with a share of its demand served below
    ``slo_served_share`` counts as SLO violated (the summary's ``slo_violation_s``:
    service-seconds, summed over the services).
    """

    name: str = ""
    # From the workload: its instances of this job become the service (they leave the
    # workload): replicas, the most of them at once; size, image and memory used, the
    # first's; demand (unless given), the sum of their cpu_used while each was alive.
    # job = "*": every job of the workload with replicas (two or more of its instances
    # alive at once) that no other entry names becomes a service of its own, named after
    # the job (after "name/" when the entry has a name); the entry's other keys apply
    # to each (simdc.engine.services.from_workload).
    job: str | None = Field(default=None, min_length=1, description="take the service from the workload's job; "
                                                                   "'*': every job with replicas")
    image: str = ""
    replicas: int | None = Field(default=None, ge=0, le=10_000)
    cpu_cores: float | None = Field(default=None, gt=0, le=limits.MAX_HOST_CPU_CORES)
    memory_gib: float | None = Field(default=None, gt=0, le=limits.MAX_HOST_MEMORY_GIB)
    memory_used_gib: float | None = Field(default=None, gt=0, le=limits.MAX_HOST_MEMORY_GIB,
                                          description="default: memory_gib")
    readiness_s: float = Field(default=0.0, ge=0)
    max_surge: int | str = "25%"
    max_unavailable: int | str = "25%"
    demand: DemandSpec = Field(default_factory=DemandSpec)
    releases: tuple[ReleaseSpec, ...] = ()
    autoscale: AutoscaleSpec | None = None
    slo_served_share: float = Field(default=0.99, gt=0, le=1)
    # true: the service ran before the run, so its first replicas are up at 0 s (no pull,
    # boot or readiness; left out of start latency); false: created at 0 s like any other.
    running_at_start: bool = False
    # How a VM platform releases: "replace" (new VMs from the new disk image, as
    # containers) or "in_place" (each VM taken out of service for in_place_s, e.g. a
    # package upgrade and a restart, copying the layers the new image changed into its
    # own disk, then readiness_s until its readiness probe passes, as after any start; up
    # to max_unavailable at once). No default time: the study states it.
    vm_update: Literal["replace", "in_place"] = "replace"
    in_place_s: float | None = Field(default=None, ge=0, description="a VM's in-place update, seconds")

    @field_validator("max_surge", "max_unavailable", mode="before")
    @classmethod
    def _rollout(cls, value):
        return _int_or_percent(value)

    @field_validator("max_unavailable")
    @classmethod
    def _at_most_all(cls, value):
        # Kubernetes refuses maxUnavailable above 100 % ("must not be greater than 100%":
        # ValidateRollingUpdateDeployment, IsNotMoreThan100Percent); maxSurge may exceed it.
        if isinstance(value, str) and float(value.rstrip("%")) > 100:
            raise ValueError(f"must not be greater than 100% (got {value!r}): at most every replica is unavailable")
        return value

    @model_validator(mode="after")
    def _rollout_can_progress(self) -> "ServiceSpec":
        # Kubernetes refuses a Deployment whose maxUnavailable and maxSurge are both 0
        # ("may not be 0 when `maxSurge` is 0": kubernetes/pkg/apis/apps/validation/
        # validation.go, ValidateRollingUpdateDeployment); a rollout could never start.
        if _is_zero(self.max_surge) and _is_zero(self.max_unavailable):
            raise ValueError(f"{BOOL_MARK}max_unavailable: may not be 0 when max_surge is 0 (got max_surge = "
                             f"{self.max_surge!r}, max_unavailable = {self.max_unavailable!r}): a rollout could "
                             "never start; allow one of them above 0")
        return self

    @model_validator(mode="after")
    def _named(self) -> "ServiceSpec":
        if not self.name and self.job != "*":
            raise ValueError(f"{BOOL_MARK}name: required key is missing (only job = '*' names its services "
                             "after the workload's jobs)")
        return self

    @model_validator(mode="after")
    def _sized(self) -> "ServiceSpec":
        missing = [key for key in ("replicas", "cpu_cores", "memory_gib") if getattr(self, key) is None]
        if missing and self.job is None:
            raise ValueError("\n".join(f"{BOOL_MARK}{key}: required key is missing (or give job, to take the "
                                        "service from the workload's instances of that job)" for key in missing))
        return self

    @model_validator(mode="after")
    def _in_place_time(self) -> "ServiceSpec":
        if self.vm_update == "in_place" and self.in_place_s is None:
            raise ValueError("vm_update = 'in_place' needs in_place_s (how long a VM's update in place takes)")
        # a VM replaced from its new image is never updated in place: the time would be silently
        # unused (refused, as placement.max_wait_s without a queue is)
        if self.vm_update != "in_place" and self.in_place_s is not None:
            raise ValueError(f"{BOOL_MARK}in_place_s: applies only with vm_update = 'in_place' (got in_place_s = "
                             f"{self.in_place_s:g} with vm_update = {self.vm_update!r}): set vm_update = 'in_place' "
                             "or drop in_place_s")
        return self

    @field_validator("releases")
    @classmethod
    def _in_order(cls, releases):
        times = [release.at_s for release in releases]
        if times != sorted(times):
            raise ValueError(f"releases must be in order of at_s (got {times})")
        return releases
