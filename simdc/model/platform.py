"""Platforms: the rules by which an instance is realised on a host.

Every platform follows one of two sets of rules (``rules``): ``vm`` (static
preallocation) or ``container`` (dynamic sharing). A platform is those rules plus
numbers, and a *preset* is a named set of numbers. A config's ``[platform.NAME]`` table
starts from the preset ``preset`` (default: NAME) and overrides any of its keys.

Every default names its source; the figures are collected in shared/CALIBRATION.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, ValidationInfo, field_validator, model_validator

from simdc.model import limits
from simdc.model.base import Spec
from simdc.model.distribution import Distribution


# Start latency's spread where no source publishes one: p99/p50 of 50 Firecracker boots
# in parallel, 246/206 ms (Agache et al., NSDI 2020, raw data firecracker-microvm/nsdi2020-data).
START_P99_OVER_P50 = 0.246 / 0.206
CONTAINER_START_MEDIAN_S = 0.56  # warm `docker run` on SSD (ContainerPlatform.start_s)
CONTAINER_START_P99_S = round(CONTAINER_START_MEDIAN_S * START_P99_OVER_P50, 3)  # 0.669 s
# Kata against runc on one daemon path: ~600 ms against ~100 ms (van Rijn & Rellermeyer,
# Middleware 2021 §3.5): the sandbox adds 0.5 s to the container's own median.
KATA_OVER_RUNC_S = 0.6 - 0.1
SANDBOXED_START_MEDIAN_S = round(CONTAINER_START_MEDIAN_S + KATA_OVER_RUNC_S, 3)  # 1.06 s
SANDBOXED_START_P99_S = round(SANDBOXED_START_MEDIAN_S * START_P99_OVER_P50, 3)  # 1.266 s
# One Firecracker boot alone: p50 161 ms over 500 serial boots, 1 vCPU / 256 MiB (Agache
# et al., NSDI 2020, raw data). Its spread is not in shared/CALIBRATION.md: the parallel
# boots' p99/p50 is taken for it (an assumption: benchmarks/assumptions.py), p99 0.192 s.
MICROVM_BOOT_MEDIAN_S = 0.161
MICROVM_BOOT_P99_S = round(MICROVM_BOOT_MEDIAN_S * START_P99_OVER_P50, 3)  # 0.192 s

class VmSize(Spec):
    """One size of a cloud's VM catalogue: its name, vCPUs and memory (GiB), both > 0."""

    name: str = Field(min_length=1)
    vcpus: float = Field(gt=0, le=limits.MAX_HOST_CPU_CORES)
    memory_gib: float = Field(gt=0, le=limits.MAX_HOST_MEMORY_GIB)


# Azure's general-purpose sizes, Av2 and Dv5 series (vCPUs, memory GiB), from the size
# tables of https://learn.microsoft.com/azure/virtual-machines/av2-series and
# https://learn.microsoft.com/azure/virtual-machines/dv5-dsv5-series (MicrosoftDocs/azure-docs,
# articles/virtual-machines/av2-series.md and dv5-dsv5-series.md). Av2 is the entry-level
# general-purpose series and the successor of the A-series the synthetic size mix comes
# from (simdc.model.workload.AZURE_2017_SIZES): it has 1-vCPU 2 GiB and 2-vCPU 4 GiB sizes,
# so a 1-core 1.75 GiB need gets 2 GiB, not the 8 GiB of the smallest Dv5; Dv5 (4 GiB per
# vCPU, up to 96 vCPUs) holds what Av2's 8 vCPUs and 64 GiB cannot.
_AZURE_SIZES = (  # name, vCPUs, memory GiB
    ("Standard_A1_v2", 1, 2), ("Standard_A2_v2", 2, 4), ("Standard_A4_v2", 4, 8), ("Standard_A8_v2", 8, 16),
    ("Standard_A2m_v2", 2, 16), ("Standard_A4m_v2", 4, 32), ("Standard_A8m_v2", 8, 64),
    ("Standard_D2_v5", 2, 8), ("Standard_D4_v5", 4, 16), ("Standard_D8_v5", 8, 32), ("Standard_D16_v5", 16, 64),
    ("Standard_D32_v5", 32, 128), ("Standard_D48_v5", 48, 192), ("Standard_D64_v5", 64, 256),
    ("Standard_D96_v5", 96, 384),
)
AZURE_GENERAL_PURPOSE: tuple[VmSize, ...] = tuple(
    VmSize(name=name, vcpus=vcpus, memory_gib=memory_gib) for name, vcpus, memory_gib in _AZURE_SIZES)


class VmPlatform(Spec):
    """A VM: size + overhead is allocated for its whole life, whatever the guest uses."""

    rules: Literal["vm"] = "vm"
    preset: str = "vm"
    # QEMU's own memory per VM, flat from 128 MiB to 8 GiB guests: 131 MiB
    # (Agache et al., NSDI 2020, raw data firecracker-microvm/nsdi2020-data).
    overhead_mib: float = Field(default=131.0, ge=0)
    cpu_overcommit: float = Field(default=1.0, gt=0, le=limits.MAX_OVERCOMMIT,
                                  description="allowed vCPUs per logical CPU")
    memory_overcommit: float = Field(default=1.0, gt=0, le=limits.MAX_OVERCOMMIT,
                                     description="allowed VM memory per GiB allocatable")
    # A traditional VM boots in "tens of seconds" (Sharma et al., Middleware 2016, §7.2);
    # cloud provisioning adds scheduling and image transfer on top: 44-97 s mean for
    # Linux (Mao & Humphrey, IEEE CLOUD 2012). Median 30 s, p95 60 s sits in that range.
    boot_s: Distribution = Field(default_factory=lambda: Distribution(median=30.0, p95=60.0))
    # A VM boots from a whole disk image ("disk"), or from container image layers
    # ("layers", as firecracker-containerd and Kata do). Its own disk is a full copy of
    # the image, or a copy-on-write clone of the host's cached copy.
    image_source: Literal["disk", "layers"] = "disk"
    disk: Literal["copy", "clone"] = "copy"
    # VM images: MySQL 1.68 GB, Node.js 2.05 GB (Sharma et al., Middleware 2016, Table 4).
    default_disk_gib: float = Field(default=2.0, gt=0, le=limits.MAX_DISK_GIB,
                                    description="disk image size when the image gives none")
    # Interference from neighbours on resources the CPU model does not share out: an
    # instance's speed is 1 / (1 + Σ_r sensitivity_r × own_r × neighbours_r), with own_r
    # and neighbours_r its own and its neighbours' summed intensity (0-1) on r.
    # Calibrated on one full-intensity neighbour (Sharma et al., Middleware 2016, Figs.
    # 5-7): a memory hog cost a VM 11 % (1/(1+k) = 0.89: k = 0.124) and an LXC container
    # 32 % (k = 0.47); a disk-heavy neighbour raised latency 2x for a VM (k = 1) and 8x for
    # LXC (k = 7).
    membw_sensitivity: float = Field(default=0.124, ge=0)
    io_sensitivity: float = Field(default=1.0, ge=0)
    # Under memory overcommit, when the VMs' footprint exceeds the host, the hypervisor
    # reclaims in order: page sharing, then ballooning, then host swap.
    # KSM/TPS saves > 30 % for near-identical VMs, < 5 % for diverse ones (VMware
    # vSphere 4.1 docs); 5 % assumes a diverse mix.
    ksm_savings: float = Field(default=0.05, ge=0, lt=1, description="share of guest memory merged under pressure")
    balloon: bool = Field(default=True, description="reclaim guest memory above current use under pressure")
    # A memory-bound VM at 1.5x memory overcommit ran 10 % slower than LXC (Sharma et al.,
    # Middleware 2016, Fig. 9), read as 10 % more time than a container's for the same
    # work. The engine's rule (simdc.engine.host, HostState._memory): speed = 1 −
    # swap_slowdown × swapped / demand, demand = touched + overhead − ksm_savings × touched,
    # swapped = demand − allocatable; the VM's own cpu_overhead divides that speed too
    # (simdc.engine.rules.virtualisation), and a container pays neither. At 1.5x with these
    # defaults, 8 VMs of 2 GiB, each touching all of it, on 12 GiB: demand = 16 + 8 ×
    # 131/1024 − 0.05 × 16 = 16.223 GiB, swapped 4.223 GiB, a share of 0.2603 (not the
    # third the working sets alone would give), so a VM's time over a container's,
    # (1 + cpu_overhead) / (1 − swap_slowdown × 0.2603) = 1.10, needs swap_slowdown =
    # (1 − 1.01/1.1) / 0.2603 = 0.3143: 0.314 (1.0999; tests/engine/test_virtualisation.py
    # holds it). Fitted on swap alone, 0.35, the VMs ended 1.1002 × 1.03 = 13.3 % late.
    swap_slowdown: float = Field(default=0.314, ge=0, le=1, description="speed lost per unit share of memory swapped")
    # Virtualisation's own cost: a KVM guest ran CPU-bound work < 3 % slower than bare
    # metal alone on the host, and Redis (I/O through the virtual NIC and the host's
    # kernel) at 10 % higher latency (Sharma et al., Middleware 2016, Figs. 3-4); at 1.5x
    # CPU overcommit a CPU-bound VM ran within 1 % of LXC (same, Fig. 9). A container
    # pays no overhead (LXC within 2 % of bare metal, Figs. 3-4: ContainerPlatform), so
    # the VM-container gap is cpu_overhead at every level of overcommit: Fig. 9 bounds it
    # at 1 %, Figs. 3-4 at 3 %, and 1 % is the largest value both allow (3 %, the bound of
    # Figs. 3-4 alone, put VMs 3.0 % behind containers at 1.5x). Applied by
    # simdc.engine.rules.virtualisation: a VM's CPU demand × (1 + cpu_overhead); a batch
    # instance's speed ÷ (1 + cpu_overhead + io_overhead × its io_intensity).
    cpu_overhead: float = Field(default=0.01, ge=0,
                                description="CPU a guest costs above bare metal, as a share of its demand")
    io_overhead: float = Field(default=0.10, ge=0,
                               description="extra time of fully I/O-bound work in a guest, as a share")

    # How many instances one host can create per second, per host core: starts on a host
    # take their turns in FIFO order, one every 1 / (rate x cores) s (simdc.engine.handlers,
    # Lane.creation_wait); the wait is part of the start latency. None: no limit. No
    # source gives a rate for a KVM/QEMU host (an assumption: README, "Assumptions"); the
    # microvm preset sets Firecracker's.
    creations_per_core_per_s: float | None = Field(default=None, ge=limits.MIN_CREATIONS_PER_CORE_PER_S,
                                                   le=limits.MAX_CREATIONS_PER_CORE_PER_S,
                                                   description="instances a host creates per second per core")
    # How a VM's size is chosen (simdc.engine.rules.vm_sizes). "as_given": the workload's
    # cpu_cores and memory_gib are the VM's size. "catalogue": the smallest size of
    # `catalogue` whose vCPUs hold the CPU need and whose memory holds the memory need plus
    # the guest OS, as a cloud user picks one; a need larger than every size keeps itself
    # (plus the guest OS) as a custom size, and the run's warnings count those. "auto":
    # "catalogue" where the workload states needs (container traces, the generator, simdc's
    # format), "as_given" where it gives VM sizes (Azure, Bitbrains, OpenDC VM traces): see
    # simdc.workload.readers.SIZES and workload.sizes.
    sizing: Literal["auto", "catalogue", "as_given"] = "auto"
    catalogue: tuple[VmSize, ...] = Field(default=AZURE_GENERAL_PURPOSE, min_length=1,
                                          description="sizes a VM can have with sizing = catalogue")
    # Memory a Linux guest uses for itself: 157-235 MiB in 1-8 GiB VMs (Agache et al., NSDI
    # 2020, raw data). The upper end: a cloud image runs agents the minimal guest measured
    # there does not. Counted inside a catalogue-sized VM (its size holds it, and the host
    # counts it as used); a given size already holds its guest.
    guest_os_mib: float = Field(default=235.0, ge=0)

    @field_validator("catalogue")
    @classmethod
    def _distinct_sizes(cls, sizes: tuple[VmSize, ...]) -> tuple[VmSize, ...]:
        names = [size.name for size in sizes]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"size names repeat: {', '.join(map(repr, repeated))}; give each size once")
        return sizes


class ContainerPlatform(Spec):
    """A container: admitted by its requests; its footprint is what it uses.

    ``admission`` says what a container books: ``requests`` (declared, as written in
    the workload), ``recommender`` (requests a Vertical Pod Autoscaler learnt from
    earlier instances of the same job or image, :mod:`simdc.engine.recommender`), or
    ``oracle`` (a percentile of the container's *own future* usage: no scheduler can
    know it; the clairvoyant upper bound, never a default).
    """

    rules: Literal["container"] = "container"
    preset: str = "container"
    # containerd-shim per container: RSS 5.2 MB (containerd PR #1767).
    overhead_mib: float = Field(default=5.0, ge=0)
    admission: Literal["requests", "recommender", "oracle"] = "requests"
    # With admission = "oracle", a container books this percentile of its own usage
    # over its whole life (the VPA's target percentile, 90: kubernetes/autoscaler
    # vertical-pod-autoscaler --target-cpu-percentile, --target-memory-percentile).
    usage_percentile: float = Field(default=90.0, gt=0, le=100)
    overcommit: float = Field(default=1.0, gt=0, le=limits.MAX_OVERCOMMIT,
                              description="allowed requests per unit of allocatable")
    # Warm `docker run` on SSD: 554-568 ms over images of 5-155 MB (Khan, arXiv 2602.15214,
    # 2026, secondary; 1157 ms is its HDD figure); runtime start alone ~100 ms, the daemon
    # path +250 ms (van Rijn & Rellermeyer, Middleware 2021 §3.5). Median 0.56 s. No
    # source gives its tail: the spread is taken from the nearest published one, 50
    # Firecracker boots in parallel, p99/p50 = 246/206 ms (NSDI 2020 raw data), so p99 =
    # 0.56 × 246/206 = 0.67 s (an assumption: README, "Assumptions").
    start_s: Distribution = Field(default_factory=lambda: Distribution(median=CONTAINER_START_MEDIAN_S,
                                                                         p99=CONTAINER_START_P99_S))
    # No virtualisation overhead (VmPlatform.cpu_overhead): LXC ran within 2 % of bare
    # metal on the same benchmarks (Sharma et al., Middleware 2016, Figs. 3-4), inside
    # those measurements' spread, so a container runs at bare-metal speed. The VM's
    # cpu_overhead is then the whole VM-container gap: 1 %, the most Fig. 9 allows.
    # One shared kernel and page cache: see VmPlatform for the model and the source.
    membw_sensitivity: float = Field(default=0.47, ge=0)
    io_sensitivity: float = Field(default=7.0, ge=0)
    # Kubernetes restarts a killed container after "an exponential back-off delay (10s,
    # 20s, 40s, …), that is capped at five minutes" (Kubernetes docs, Pod Lifecycle).
    restart_policy: Literal["always", "never"] = "always"
    restart_backoff_s: float = Field(default=10.0, ge=limits.MIN_RESTART_BACKOFF_S, le=limits.MAX_DURATION_S)
    # validated when left at its default too: a base above the default cap is as wrong
    restart_backoff_max_s: float = Field(default=300.0, ge=limits.MIN_RESTART_BACKOFF_S, le=limits.MAX_DURATION_S,
                                         validate_default=True)
    # Instances a host creates per second per core (VmPlatform.creations_per_core_per_s).
    # No source gives one for runc or Kata (an assumption: README, "Assumptions").
    creations_per_core_per_s: float | None = Field(default=None, ge=limits.MIN_CREATIONS_PER_CORE_PER_S,
                                                   le=limits.MAX_CREATIONS_PER_CORE_PER_S,
                                                   description="instances a host creates per second per core")
    # Each pod in a VM of its own with its own guest kernel (Kata Containers: "each pod
    # runs in its own lightweight VM with its own kernel", katacontainers.io): a kernel
    # failure kills that pod alone, as a VM's kills that VM (simdc.model.faults).
    guest_kernel: bool = False
    # Containers inside VMs: each host is split evenly into this many node VMs, and
    # containers are packed into the nodes. None: containers run on the host itself.
    nodes_per_host: int | None = Field(default=None, gt=0, le=limits.MAX_NODES_PER_HOST)
    # Each node is a QEMU VM: 131 MiB of VMM per VM (NSDI 2020 raw data) outside it, and
    # inside a guest kernel and kubelet; a minimal Linux guest uses 157-235 MiB in 1-8 GiB
    # VMs (same source), so 0.5 GiB with the node agent.
    node_overhead_mib: float = Field(default=131.0, ge=0)
    node_reserved_gib: float = Field(default=0.5, ge=0)
    # The kubelet's image pulls on one node (KubeletConfiguration, as Kubernetes names
    # them). serializeImagePulls, default true: "By default, kubelet pulls images serially
    # ... Other image pull requests have to wait until the one being processed is
    # complete" (kubernetes.io, Concepts > Containers > Images, "Serial and parallel image
    # pulls"; pkg/kubelet/images/puller.go, serialImagePuller: one worker, FIFO). With it
    # false, maxParallelImagePulls caps the pulls under way (None: no limit, kubelet's
    # default), and the kubelet refuses a cap other than 1 with serial pulls. Managed
    # nodes often turn it off: the EKS optimized AMI's kubelet-config.json sets
    # serializeImagePulls false (awslabs/amazon-eks-ami, files/kubelet-config.json).
    # Applied per node (a node VM's own kubelet in container_in_vm) by
    # simdc.engine.simulation.Simulation._pull_begin; VMs are not kubelet pulls.
    serialize_image_pulls: bool = True
    max_parallel_image_pulls: int | None = Field(default=None, ge=1, le=limits.MAX_PARALLEL_IMAGE_PULLS,
                                                 description="image pulls under way per node")

    @model_validator(mode="after")
    def _pulls_serial_or_capped(self) -> "ContainerPlatform":
        # pkg/kubelet/apis/config/validation: maxParallelImagePulls must be 1 (or unset)
        # when serializeImagePulls is true
        if self.serialize_image_pulls and self.max_parallel_image_pulls not in (None, 1):
            raise ValueError(f"max_parallel_image_pulls = {self.max_parallel_image_pulls} needs "
                             "serialize_image_pulls = false (a serial kubelet pulls one image at a time)")
        return self

    @property
    def image_pulls_per_node(self) -> int | None:
        """Image pulls a node's kubelet has under way at once: 1 when serial, else the
        cap (None: no limit)."""
        return 1 if self.serialize_image_pulls else self.max_parallel_image_pulls

    @field_validator("restart_backoff_max_s")
    @classmethod
    def _cap_at_least_base(cls, value: float, info: ValidationInfo) -> float:
        # The back-off doubles from its base up to its cap (rules.backoff; the kubelet's
        # initial 10 s and maximum 300 s, Kubernetes docs, Pod Lifecycle): a cap below the
        # base would make every delay the cap and the base never used.
        base = info.data.get("restart_backoff_s")
        if base is not None and value < base:
            raise ValueError(f"must be at least restart_backoff_s ({base:g}), the back-off's first delay "
                             f"(it is {value:g}{' by default' if value == 300.0 else ''}; give both)")
        return value

    @field_validator("admission", mode="before")
    @classmethod
    def _renamed(cls, value: Any) -> Any:
        if value == "usage":
            raise ValueError('"usage" booked each container\'s percentile of its own future usage and is now '
                             '"oracle" (clairvoyant: an upper bound no scheduler reaches); for requests learnt '
                             'from the past, as the Vertical Pod Autoscaler does, use "recommender"')
        return value



PlatformSpec = Annotated[Union[VmPlatform, ContainerPlatform], Field(discriminator="rules")]

RULES: dict[str, type[Spec]] = {"vm": VmPlatform, "container": ContainerPlatform}

# Preset name -> (rules, keys that differ from that rule set's defaults).
PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    # KVM/QEMU: the VmPlatform defaults.
    "vm": ("vm", {}),
    # Firecracker-like: VMM overhead 2.5 MiB flat from 128 MiB to 8 GiB guests (Agache et
    # al., NSDI 2020, raw data); boot: one boot alone, p50 161 ms over 500 serial boots
    # (same), p99 assumed (MICROVM_BOOT_P99_S). Creation rate: "5 microVMs per host core
    # per second (e.g. 180 per second on a host with 36 physical cores)" (firecracker
    # docs/design.md): per physical core. simdc applies it per logical CPU (a host's
    # cpu_cores; no key gives threads per core), an assumption that doubles the source's
    # rate on a host with two threads per core (README, "Assumptions"). The source's 50
    # boots in parallel (p50 206 ms, p99 246 ms) are not a boot's time but an outcome:
    # the serial boot plus the queue at the rate.
    # On its host, m5d.metal's 96 logical CPUs, a burst of 50 gets p50 0.212 s; its p99,
    # 0.276 s, is 30 ms above the source's (the queue spreads the 50 over 102 ms, the
    # source's p50-p99 is 40 ms): tests/engine/test_virtualisation.py. Boots a container
    # image's layers (firecracker-containerd), disk cloned. Virtualisation overhead: KVM's
    # (VmPlatform). Interference: no published figure; a minimal device model and its own
    # kernel put it below a full VM, taken as half the VM's sensitivities (an assumption).
    "microvm": ("vm", {"overhead_mib": 2.5, "boot_s": {"median": MICROVM_BOOT_MEDIAN_S, "p99": MICROVM_BOOT_P99_S},
                       "image_source": "layers", "disk": "clone",
                       "membw_sensitivity": 0.062, "io_sensitivity": 0.5, "creations_per_core_per_s": 5.0}),
    # runc: the ContainerPlatform defaults.
    "container": ("container", {}),
    # Kata-like: container rules, plus a VM per pod. Per-pod overhead: Kubernetes
    # podOverhead default 160 Mi (QEMU 144-168 MB, shim 9-11 MB, proxy 4-5 MB PSS;
    # kata-containers/runtime PRs #329, #555). Start: the container's median plus the
    # sandbox's cost on one daemon path, Kata ~600 ms against runc ~100 ms (van Rijn &
    # Rellermeyer, Middleware 2021 §3.5): 0.56 + 0.5 = 1.06 s (KATA_OVER_RUNC_S), so the
    # gap to `container` is the source's; its tail has no source: the containers' assumed
    # spread (p99/p50 of Firecracker's parallel boots), p99 1.266 s.
    # Its guest kernel isolates it like a VM: the VM's interference sensitivities.
    # Its own guest kernel: a kernel failure kills that pod alone (guest_kernel).
    "sandboxed_container": ("container", {"overhead_mib": 160.0, "guest_kernel": True,
                                          "start_s": {"median": SANDBOXED_START_MEDIAN_S,
                                                      "p99": SANDBOXED_START_P99_S},
                                          "membw_sensitivity": 0.124, "io_sensitivity": 1.0}),
    # Containers packed into VM-sized nodes (Kubernetes on VMs): each host split into 4
    # node VMs (an assumption; set nodes_per_host per study).
    "container_in_vm": ("container", {"nodes_per_host": 4}),
}
