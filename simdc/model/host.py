from pydantic import Field, model_validator

from simdc.model import limits
from simdc.model.base import Spec


class HostSpec(Spec):
    """One physical host.

    Memory is GiB (2^30 bytes); ``reserved_memory_gib`` is held back for the host OS and
    daemons and is never given to instances. Network in Gbit/s (10^9 bit/s), disk write
    speed in MiB/s.
    """

    cpu_cores: float = Field(gt=0, le=limits.MAX_HOST_CPU_CORES, description="logical CPUs")
    memory_gib: float = Field(gt=0, le=limits.MAX_HOST_MEMORY_GIB, description="physical memory")
    reserved_memory_gib: float = Field(default=0.0, ge=0, le=limits.MAX_HOST_MEMORY_GIB,
                                       description="memory kept for the host OS")
    # Image handling. No figure in CALIBRATION.md fixes these; they are assumptions for
    # a current datacenter host (10 GbE, an SSD), to be set per study.
    net_gbps: float = Field(default=10.0, gt=0, le=limits.MAX_GBPS, description="network link for image pulls, Gbit/s")
    image_cache_gib: float = Field(default=100.0, gt=0, le=limits.MAX_DISK_GIB,
                                   description="disk for cached layers and images")
    disk_write_mib_s: float = Field(default=500.0, gt=0, description="write speed for unpacking and copying")
    prepull: tuple[str, ...] = Field(default=(), description="images present on the host at time 0")
    # Power, linear in CPU utilisation. Servers draw about half their peak power when
    # idle (Barroso & Hölzle, "The Case for Energy-Proportional Computing", IEEE Computer
    # 2007); 400 W peak for a two-socket, 32-core host is an assumption.
    power_idle_w: float = Field(default=200.0, ge=0, le=limits.MAX_HOST_POWER_W)
    power_max_w: float = Field(default=400.0, ge=0, le=limits.MAX_HOST_POWER_W)
    # Money and carbon (simdc.cost); None: not counted. A host is paid for whether on
    # or off: a rent per hour, or its capital cost spread evenly over its years (of
    # 365.25 days). Its energy is drawn at the wall, times the datacenter's PUE (power
    # usage effectiveness, >= 1; None: 1, the IT load alone). Its embodied carbon (making
    # and shipping it) is spread evenly over its lifetime.
    price_per_hour: float | None = Field(default=None, ge=0, le=limits.MAX_PRICE_PER_HOUR)
    capex: float | None = Field(default=None, ge=0, le=limits.MAX_CAPEX,
                                description="purchase cost, amortised over amortisation_years")
    amortisation_years: float | None = Field(default=None, ge=limits.MIN_YEARS)
    pue: float | None = Field(default=None, ge=1, le=limits.MAX_PUE)
    embodied_kgco2eq: float | None = Field(default=None, ge=0, le=limits.MAX_EMBODIED_KGCO2EQ)
    lifetime_years: float | None = Field(default=None, ge=limits.MIN_YEARS)

    @model_validator(mode="after")
    def _reserve_fits(self) -> "HostSpec":
        if self.reserved_memory_gib >= self.memory_gib:
            raise ValueError(
                f"reserved_memory_gib ({self.reserved_memory_gib}) must be below memory_gib ({self.memory_gib})"
            )
        if self.power_idle_w > self.power_max_w:
            raise ValueError(f"power_idle_w ({self.power_idle_w}) must not exceed power_max_w ({self.power_max_w})")
        if self.price_per_hour is not None and self.capex is not None:
            raise ValueError("give at most one of price_per_hour or capex (with amortisation_years)")
        for cost, years in (("capex", "amortisation_years"), ("embodied_kgco2eq", "lifetime_years")):
            if (getattr(self, cost) is None) != (getattr(self, years) is None):
                raise ValueError(f"{cost} and {years} go together: give both or neither")
        return self

    @property
    def allocatable_memory_gib(self) -> float:
        return self.memory_gib - self.reserved_memory_gib


class HostGroup(HostSpec):
    """``count`` identical hosts of one shape, in a fleet: 1 to 1,000,000 (a million
    hosts in the whole fleet at most, :mod:`simdc.model.limits`)."""

    count: int = Field(default=1, ge=1, le=limits.MAX_HOSTS)
    name: str = ""


class ClusterSpec(Spec):
    """A fleet: groups of hosts, possibly of different shapes, in placement order."""

    hosts: tuple[HostGroup, ...] = Field(min_length=1)
    power_off_idle: bool = Field(default=False, description="hosts with nothing resident draw no power")

    @model_validator(mode="after")
    def _fleet_size(self) -> "ClusterSpec":
        total = sum(group.count for group in self.hosts)
        if total > limits.MAX_HOSTS:
            raise ValueError(f"{total:,} hosts in all; at most {limits.MAX_HOSTS:,} (a million hosts)")
        return self
