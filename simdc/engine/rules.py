"""The model's rules, each written once: both engine lanes call these.

Platforms' rules turn into per-instance numbers once, before the run
(:func:`footprints`, :func:`virtualisation`, :func:`caps`): the engine itself is
platform-blind. It books ``book_cpu`` / ``book_mem`` against a host's caps from
admission to the end, and adds the instance's usage, capped by ``cpu_cap`` / ``mem_cap``,
while it runs. What differs between a VM and a container is only how those numbers and
the caps are derived.

The rules the run applies as it goes are pure functions over scalars or arrays, called
by the general engine (:mod:`simdc.engine.simulation`, :mod:`simdc.engine.host`) and the
fast lane (:mod:`simdc.engine.handlers`) alike: the tolerance of sums (:func:`limit`),
the fit test (:func:`fits`), the usage cap (:func:`capped_usage`), when a host is contended or over
its memory (:func:`contended`, :func:`over_memory`), the CPU shares of a contended host
(:func:`water_fill`), batch work's progress from its CPU (:func:`progress`), the OOM killer's victims
(:func:`oom_victims`), the restart back-off (:func:`backoff`), the power model
(:func:`energy_j`, :func:`switched_off_when_idle`) and fragmentation (:func:`free_mem_gib`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import compress

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
    start_s: np.ndarray  # start latency: admission to running
    weight: np.ndarray  # CPU weight under contention: vCPUs, or the container's request
    cpu_cap: np.ndarray  # most cores it can use: vCPUs, or the container's cpu_limit
    mem_cap: np.ndarray  # most GiB it can use: a VM's size (its guest cannot exceed it)
    mem_limit: np.ndarray  # a container above this is OOM-killed alone (cgroup limit)
    mem_request: np.ndarray  # GiB: a container's memory request, which its oom_score_adj is of
    guaranteed: np.ndarray  # bool: a container's pod is of QoS class Guaranteed (oom_score_adj)
    vm_vcpus: np.ndarray | None = None  # a VM's size: vCPUs (None for containers)
    vm_memory_gib: np.ndarray | None = None  # a VM's size: GiB, its guest OS included


def footprints(platform: VmPlatform | ContainerPlatform, instances: pd.DataFrame,
               rng: np.random.Generator, usage=None) -> Footprints:
    """What each instance of ``instances`` takes under ``platform``'s rules.

    ``usage`` (a :mod:`simdc.workload.usage` model) sizes the oracle's admission; without
    it, each instance's mean usage.
    """
    size_cpu = instances["cpu_cores"].to_numpy(float)
    size_mem = instances["memory_gib"].to_numpy(float)
    used_cpu = instances["cpu_used"].to_numpy(float)
    used_mem = instances["memory_used_gib"].to_numpy(float)
    overhead_gib = runtime_overhead_gib(platform)
    n = len(instances)
    none = np.full(n, np.inf)

    if isinstance(platform, VmPlatform):
        # Static preallocation: the whole size is taken for the whole life; a guest can
        # neither use more vCPUs nor more memory than it was given, and the application
        # in it has the size less its guest OS (which the host counts as used:
        # resident_overhead_gib).
        vcpus, memory_gib, _ = vm_sizes(platform, size_cpu, size_mem)
        return Footprints(
            book_cpu=vcpus,
            book_mem_gib=memory_gib + overhead_gib,
            start_s=platform.boot_s.sample(rng, n),
            weight=vcpus,
            # The ceiling is the vCPUs, in the host's cores the demand is counted in
            # (usage × cpu_factor: the hypervisor's share inside them, README "Contention"):
            # what a guest asks above them is clipped (unmet) and slows its batch work
            # (progress), as a container's CPU limit does.
            cpu_cap=vcpus,
            mem_cap=memory_gib - _guest_gib(platform),
            mem_limit=none,
            mem_request=memory_gib,
            guaranteed=np.zeros(n, dtype=bool),
            vm_vcpus=vcpus,
            vm_memory_gib=memory_gib,
        )
    # Dynamic sharing: the footprint is what the container uses. Admission counts the
    # declared requests (Kubernetes), or, as the clairvoyant upper bound ("oracle"), a
    # percentile of the container's own usage over its whole life. With "recommender"
    # these are the declared requests the engine starts from: it replaces them at each
    # submission by what the recommender learnt until then (simdc.engine.recommender).
    cpu_limit, mem_limit = _limit(instances, "cpu_limit", n), _limit(instances, "memory_limit_gib", n)
    if platform.admission == "oracle":
        book_cpu, book_mem = (usage.quantile(platform.usage_percentile / 100) if usage is not None
                              else (used_cpu, used_mem))
        book_cpu, book_mem = np.asarray(book_cpu, dtype=float), np.asarray(book_mem, dtype=float)
        weight, mem_request, cpu_cap, mem_cap_limit = admitted(book_cpu, book_mem, size_cpu, size_mem,
                                                               cpu_limit, mem_limit)
    else:
        book_cpu, book_mem = size_cpu, size_mem
        weight, mem_request, cpu_cap, mem_cap_limit = size_cpu, size_mem, cpu_limit, mem_limit
    return Footprints(
        book_cpu=np.asarray(book_cpu, dtype=float),
        book_mem_gib=np.asarray(book_mem, dtype=float) + overhead_gib,
        start_s=platform.start_s.sample(rng, n),
        weight=weight,
        cpu_cap=cpu_cap,
        mem_cap=none,
        mem_limit=mem_cap_limit,
        mem_request=mem_request,
        # Kubernetes' QoS class (pkg/apis/core/v1/helper/qos, GetPodQOS): Guaranteed when
        # every resource has a limit equal to its request. Decided on the declared
        # figures: the recommender scales limits with requests, so a pod keeps its class.
        guaranteed=(cpu_limit == size_cpu) & (mem_limit == size_mem),
    )


# A pod's requests are what it was admitted with. An admission that books other figures
# than the declared ones (the VPA's recommendation, the oracle's percentile of its own
# usage) rewrites the pod's requests, as the VPA's admission controller does: the kubelet
# then derives the container's CPU weight (cpu.shares from the CPU request:
# pkg/kubelet/cm/helpers_linux.go, MilliCPUToShares, at least MinShares = 2 of 1024 a
# core) and its oom_score_adj (from the memory request: oom_score_adj) from those, and its
# limits keep their ratio to the requests (kubernetes/autoscaler vertical-pod-autoscaler
# README, "controlledValues": RequestsAndLimits, the default). The QoS class stays the
# declared one: limits scaled with requests keep Guaranteed pods Guaranteed.
MIN_SHARES_CORES = 2 / 1024


def admitted(cpu, mem_gib, declared_cpu, declared_mem_gib, cpu_limit, mem_limit_gib):
    """A container admitted with requests ``cpu`` cores and ``mem_gib`` GiB, declared with
    ``declared_cpu`` and ``declared_mem_gib`` (> 0) and limits ``cpu_limit``,
    ``mem_limit_gib`` (``inf``: none): ``(weight, mem_request_gib, cpu_limit,
    mem_limit_gib)`` as the node runs it. Python floats, or arrays of one shape."""
    if isinstance(cpu, np.ndarray):
        weight = np.maximum(cpu, MIN_SHARES_CORES)
        with np.errstate(invalid="ignore"):  # inf × 0: no limit stays none
            cpu_limit = np.where(np.isinf(cpu_limit), cpu_limit, cpu_limit * cpu / declared_cpu)
            mem_limit_gib = np.where(np.isinf(mem_limit_gib), mem_limit_gib, mem_limit_gib * mem_gib / declared_mem_gib)
        return weight, mem_gib, cpu_limit, mem_limit_gib
    weight = cpu if cpu > MIN_SHARES_CORES else MIN_SHARES_CORES
    if cpu_limit != np.inf:
        cpu_limit = cpu_limit * cpu / declared_cpu
    if mem_limit_gib != np.inf:
        mem_limit_gib = mem_limit_gib * mem_gib / declared_mem_gib
    return weight, mem_gib, cpu_limit, mem_limit_gib


@dataclass(frozen=True)
class Virtualisation:
    """What a platform's virtualisation costs each instance (:func:`virtualisation`)."""

    cpu_factor: float  # a running instance demands its usage's CPU × this (≥ 1)
    work_factor: np.ndarray  # shape (instances,): batch work at full speed × this (≥ 1)

    def presented(self, usage):
        """``usage`` (a :mod:`simdc.workload.usage` model) as the host sees it: its CPU × ``cpu_factor``."""
        return usage if self.cpu_factor == 1.0 else usage.scaled_cpu(self.cpu_factor)


def virtualisation(platform: VmPlatform | ContainerPlatform, instances: pd.DataFrame) -> Virtualisation:
    """The hypervisor's cost: the one rule both engine lanes apply.

    For a VM, with ``c = platform.cpu_overhead`` and ``o = platform.io_overhead``:

    - CPU: every instance demands its usage × (1 + c) from the host (the guest's work
      plus the hypervisor's share of it), still capped at its vCPUs;
    - batch work: an instance runs at speed 1 / (1 + c + o × io), ``io`` its
      ``io_intensity`` (0-1), so alone on a host it takes ``duration_s × (1 + c + o × io)``.

    Sharma et al., Middleware 2016: CPU-bound work < 3 % slower in a KVM guest than on
    bare metal and Redis latency +10 % (Figs. 3-4), CPU-bound work within 1 % of LXC at
    1.5x overcommit (Fig. 9): ``c = 0.01``, ``o = 0.10`` (VmPlatform.cpu_overhead). A service's
    lifetime is fixed, so ``o`` touches batch work only. Containers: factors of 1.

    Returns factors aligned with ``instances`` rows; ``work_factor`` has shape ``(len(instances),)``.
    """
    n = len(instances)
    if not isinstance(platform, VmPlatform):
        return Virtualisation(1.0, np.ones(n))
    io = instances["io_intensity"].to_numpy(float) if "io_intensity" in instances else np.zeros(n)
    return Virtualisation(1.0 + platform.cpu_overhead, 1.0 + platform.cpu_overhead + platform.io_overhead * io)

def resolve_sizing(platform: VmPlatform | ContainerPlatform, sizes: str) -> VmPlatform | ContainerPlatform:
    """``platform`` with a VM's ``sizing = "auto"`` decided by what the workload's sizes
    are: ``"need"`` (applications' needs) gives ``"catalogue"``, ``"vm"`` (VM sizes)
    ``"as_given"``. Containers and a sizing already chosen are returned as they are.

    Raises
    ------
    ValueError
        ``sizes`` is neither ``"vm"`` nor ``"need"``.
    """
    if not isinstance(platform, VmPlatform) or platform.sizing != "auto":
        return platform
    if sizes not in ("vm", "need"):
        raise ValueError(f"sizes: expected 'vm' or 'need' (got {sizes!r})")
    return platform.model_copy(update={"sizing": "catalogue" if sizes == "need" else "as_given"})


def vm_sizes(platform: VmPlatform, need_cpu: np.ndarray,
             need_mem_gib: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each VM's size and whether it is a custom one, ``(vcpus, memory_gib, custom)``,
    shapes ``(instances,)``; needs in cores and GiB.

    With ``sizing = "catalogue"``: the smallest size of ``platform.catalogue`` with
    ``vcpus >= need_cpu`` and ``memory_gib >= need_mem_gib + guest_os_mib`` (GiB), the
    smallest being the fewest vCPUs, then the least memory (so no other holding size is
    smaller or equal in both; vCPUs first is an assumption, README, Assumptions: a vCPU
    costs more than a GiB in general-purpose price lists; with the default catalogue no
    need has two holding sizes that order would rank differently); the catalogue's order
    does not matter. A need no size holds
    gets a custom size of exactly the need (plus the guest OS in memory): the planner sees
    it placed, or counted ``unplaceable`` when no host holds it, rather than the run
    refused (``custom`` marks them). Otherwise (``"as_given"``, or
    ``"auto"`` not yet resolved by :func:`resolve_sizing`) the need is the size.
    """
    need_cpu, need_mem_gib = np.asarray(need_cpu, float), np.asarray(need_mem_gib, float)
    if platform.sizing != "catalogue":
        return need_cpu, need_mem_gib, np.zeros(len(need_cpu), dtype=bool)
    guest_gib = _guest_gib(platform)
    sizes = sorted(platform.catalogue, key=lambda size: (size.vcpus, size.memory_gib))
    vcpus = np.array([size.vcpus for size in sizes])
    memory = np.array([size.memory_gib for size in sizes])
    # Distinct needs are few (a trace's request classes): fit those, then spread back.
    # Pairs found by hashing (pandas.factorize per column, then per pair of codes):
    # np.unique(axis=0) sorts the rows as bytes, 0.07 s for 200,000 rows against a few
    # ms. The pairs' order does not matter: each is fitted on its own.
    if len(need_cpu) and need_cpu.min() == need_cpu.max() and need_mem_gib.min() == need_mem_gib.max():
        # one need for all (a loss study's equal VMs): fitted once, without hashing every row
        back = np.zeros(len(need_cpu), dtype=np.intp)
        pairs = np.array([[need_cpu[0], need_mem_gib[0] + guest_gib]])
    else:
        cpu_codes, cpu_values = pd.factorize(need_cpu, use_na_sentinel=False)
        mem_codes, mem_values = pd.factorize(need_mem_gib + guest_gib, use_na_sentinel=False)
        width = max(len(mem_values), 1)
        back, pair_codes = pd.factorize(cpu_codes.astype(np.int64) * width + mem_codes)
        pairs = np.column_stack([cpu_values[pair_codes // width], mem_values[pair_codes % width]])
    holds = (vcpus[None, :] >= pairs[:, :1] - _TOLERANCE) & (memory[None, :] >= pairs[:, 1:] - _TOLERANCE)
    first = holds.argmax(axis=1)  # the first holding size in (vCPUs, memory) order
    found = holds.any(axis=1)
    chosen_cpu = np.where(found, vcpus[first], pairs[:, 0])
    chosen_mem = np.where(found, memory[first], pairs[:, 1])
    return chosen_cpu[back], chosen_mem[back], ~found[back]


# A need equal to a size up to rounding (1.75 + 0.25 GiB) is held by it.
_TOLERANCE = 1e-9


def _guest_gib(platform: VmPlatform) -> float:
    """GiB of a VM's size its guest OS takes: counted only for sizes chosen from the
    catalogue (a size given by a VM trace already holds its guest)."""
    return platform.guest_os_mib / MIB_PER_GIB if platform.sizing == "catalogue" else 0.0


def runtime_overhead_gib(platform: VmPlatform | ContainerPlatform) -> float:
    """GiB each instance holds on its host outside itself: the VMM's process (QEMU's
    own memory) or the container's shim, ``overhead_mib``. An instance books its size
    plus this (:func:`footprints`); a VM's guest, its OS included, is the size alone, so
    a VM's memory is its booking less this (:func:`guest_memory_gib`)."""
    return platform.overhead_mib / MIB_PER_GIB


def guest_memory_gib(platform: VmPlatform, book_mem_gib: float) -> float:
    """A VM's memory, GiB: all its guest holds (the guest OS too), without the VMM's
    process outside it; its booking less :func:`runtime_overhead_gib`, as
    :func:`footprints` books it."""
    return max(book_mem_gib - runtime_overhead_gib(platform), 0.0)


def resident_overhead_gib(platform: VmPlatform | ContainerPlatform) -> float:
    """GiB each instance holds on its host besides its application's usage: the VMM or
    the container's shim (:func:`runtime_overhead_gib`), and a catalogue-sized VM's guest
    OS (inside the guest: :func:`guest_memory_gib` counts it)."""
    base = runtime_overhead_gib(platform)
    return base + _guest_gib(platform) if isinstance(platform, VmPlatform) else base


def _limit(instances: pd.DataFrame, column: str, n: int) -> np.ndarray:
    """A container's limit from the workload; no column or an empty cell means none."""
    if column not in instances:
        return np.full(n, np.inf)
    return instances[column].fillna(np.inf).to_numpy(float)


def caps(platform: VmPlatform | ContainerPlatform, host: HostSpec) -> tuple[float, float]:
    """(CPU cores, memory GiB) that instances may book on ``host``."""
    if isinstance(platform, VmPlatform):
        return (host.cpu_cores * platform.cpu_overcommit,
                host.allocatable_memory_gib * platform.memory_overcommit)
    return host.cpu_cores * platform.overcommit, host.allocatable_memory_gib * platform.overcommit


# Slack for sums of float sizes, so 4 × 0.25 fits in 1.0: far above the rounding of a
# sum of bookings, far below any size a workload gives.
EPS = 1e-9


def limit(capacity):
    """What a sum of float sizes may reach against ``capacity``: it with :data:`EPS` of
    slack. The one place the tolerance is applied: bookings against a host's cap
    (:func:`caps`; :func:`fits` compares with this limit), demand against its cores
    (:func:`contended`), use against its allocatable memory (:func:`over_memory`)."""
    return capacity + EPS


def fits(booked_cpu, booked_mem_gib, cpu, mem_gib, cpu_limit, mem_limit):
    """The fit test: whether a request of ``cpu`` cores and ``mem_gib`` GiB fits beside the
    bookings, in CPU and memory at once.

    Scalars (Python floats: a bool comes back) or arrays that broadcast (shape
    ``(hosts,)``: a mask over hosts comes back). Limits from :func:`limit`.
    ``booked + request <= limit`` in that order of operations, so every caller gets the
    same doubles.
    """
    return (booked_cpu + cpu <= cpu_limit) & (booked_mem_gib + mem_gib <= mem_limit)


def contended(demand_cores, cores):
    """Whether a host's CPU is contended: its instances demand more than its ``cores``
    (beyond :data:`EPS`), so they share them out (:func:`water_fill`).
    Scalars, or arrays per host (a mask comes back)."""
    return demand_cores > cores + EPS  # > limit(cores), without the call


def over_memory(used_gib, overhead_gib, running, allocatable_gib):
    """Whether a host is over its memory: its ``running`` instances' usage (``used_gib``
    in all) and ``overhead_gib`` each, beyond its allocatable GiB (and :data:`EPS`). A
    container host then runs the OOM killer (:func:`oom_victims`), a VM host reclaims.
    Scalars, or arrays per host (a mask comes back)."""
    return used_gib + overhead_gib * running > allocatable_gib + EPS  # > limit(allocatable_gib)


def stranded_gib(booked_gib: float, allocatable_gib: float, used_gib: float) -> float:
    """Memory booked but unused on a host (GiB, ≥ 0): its bookings, up to what the host
    has (booking beyond it strands nothing), less what is used. One host, Python floats."""
    left = (allocatable_gib if allocatable_gib < booked_gib else booked_gib) - used_gib  # min(), written out
    return left if left > 0 else 0.0


# CPU as a fluid: Linux's CFS gives each runnable group CPU in proportion to its weight
# (``cpu.shares`` / ``cpu.weight``); a group that wants less than its proportional share
# keeps only what it wants, and the rest is divided among the others. In the fluid limit
# this is weighted max-min fairness ("water-filling"): instance i receives
# ``min(d_i, w_i θ)`` with the level θ chosen so the cores are exactly used, whenever
# total demand exceeds them. Demands already include each instance's ceiling (a VM's
# vCPUs, a container's ``cpu_limit``); weights are a VM's vCPUs (one equal-weight thread
# each) or a container's CPU request.


def water_fill(demand: np.ndarray, weight: np.ndarray, cores: float) -> np.ndarray:
    """Cores given to each instance: weighted max-min fair share of ``cores``.

    Parameters
    ----------
    demand
        Cores each instance would use, ≥ 0.
    weight
        CPU weight of each instance, > 0.
    cores
        Capacity, > 0.

    Returns
    -------
    numpy.ndarray
        Allocation ``a`` with ``a ≤ demand`` and ``a.sum() == min(demand.sum(), cores)``
        (to rounding).
    """
    total = demand.sum()
    if total <= cores:
        return demand.copy()
    ratio = demand / weight  # level at which each instance is satisfied
    level = cores / weight.sum()
    if ratio.min() >= level:  # nobody is satisfied below the common level: no sort needed
        return weight * level
    order = np.argsort(ratio, kind="stable")
    r, d, w = ratio[order], demand[order], weight[order]
    # If the first k (smallest ratios) are satisfied, the level for the rest is
    # θ_k = (cores − Σ_{<k} d) / Σ_{≥k} w; the right k is the first with θ_k ≤ r_k.
    satisfied = np.concatenate(([0.0], np.cumsum(d)[:-1]))
    weight_left = np.cumsum(w[::-1])[::-1]
    level = (cores - satisfied) / weight_left
    k = int(np.argmax(level <= r))
    theta = level[k]
    return np.minimum(demand, weight * theta)


def capped_usage(cpu, mem_gib, cores, cpu_cap, mem_cap):
    """The usage cap: what an instance's usage amounts to on its machine, as
    ``(demand, clip, mem_gib)``.

    No instance can demand more than its machine's ``cores``, whatever its trace says;
    what it asks above its ceiling ``cpu_cap`` (a VM's vCPUs, a container's CPU limit) is
    demand it does not get (``clip``: counted as demand and as unmet); its memory is held
    to ``mem_cap`` GiB (a VM's size less its guest OS: the guest cannot use more)::

        demand = min(cpu, cores, cpu_cap)
        clip = min(cpu, cores) - demand       (>= 0)
        mem_gib = min(mem_gib, mem_cap)

    Parameters
    ----------
    cpu, mem_gib
        Usage: cores and GiB. One instance's (Python floats: floats come back, with no
        numpy call) or arrays that broadcast with the caps.
    cores, cpu_cap, mem_cap
        The machine's cores and the instance's ceilings (``inf``: none). For arrays,
        ``None`` skips a cap that cannot bind (a pass less over the arrays): ``cores``
        when the machine is not known yet, a ceiling that is infinite everywhere.
    """
    if isinstance(cpu, np.ndarray):
        wanted = cpu if cores is None else np.minimum(cpu, cores)
        demand = wanted if cpu_cap is None else np.minimum(wanted, cpu_cap)
        if cores is None:  # usage may be unbounded: inf - inf is no clip
            clip = np.subtract(wanted, demand, out=np.zeros(np.shape(demand)), where=demand < wanted)
        else:
            clip = wanted - demand
        return demand, clip, mem_gib if mem_cap is None else np.minimum(mem_gib, mem_cap)
    # min() written out: a call less each, on the path taken once per start
    wanted = cores if cores < cpu else cpu
    demand = cpu_cap if cpu_cap < wanted else wanted
    return demand, wanted - demand, mem_cap if mem_cap < mem_gib else mem_gib


# Batch work under processor sharing: an instance that gets a fraction of the CPU it wants
# progresses at that fraction of its full speed, whether the rest is withheld by a
# contended host (the CFS shares of water_fill) or by its own ceiling (CFS bandwidth
# control throttles a cgroup to cpu.max, its CPU limit: Linux
# Documentation/scheduler/sched-bwc.rst; a VM's guest has its vCPUs and no more). A job
# of 2 cores for 100 s under a 1-core limit needs its 200 core-seconds all the same: it
# takes 200 s.
#
# A VM's ceiling is its vCPUs: its guest's own work may use them all. The host counts that
# work with the hypervisor's share, usage × cpu_factor (virtualisation), and gives a VM at
# most its vCPUs (capped_usage: the share above them is clipped, counted unmet, README
# "Contention"); but the share's cost is already the work's (work_factor: a lone VM's
# batch work takes duration × (1 + c), Sharma et al. 2016), so it does not slow the work a
# second time. What holds the work back is what its guest asks above its vCPUs: the
# ceiling holds vcpus × cpu_factor of the host's demand (demand × cpu_factor when
# clipped: the demand is then the vCPUs). A container's cpu_factor is 1: its ceiling
# holds its demand, and the rule is given / (demand + clip).


def progress(given, demand, clip, cpu_factor=1.0):
    """A batch instance's progress rate from its CPU (full-speed seconds per second, before
    swapping and neighbours' interference): the share of its demand it is given, times the
    share of what it wants that its ceiling holds::

        progress = given / demand × min(demand × cpu_factor, demand + clip) / (demand + clip)

    (each factor 1 where its denominator is 0). For a container (``cpu_factor`` 1) that is
    ``given / (demand + clip)``: the CPU it gets over the CPU it wants, its ceiling included.

    Parameters
    ----------
    given
        Cores it is given (≤ ``demand``): ``demand`` on an uncontended host, its
        :func:`water_fill` share on a contended one.
    demand, clip
        Cores it wants within its ceiling and above it (:func:`capped_usage`), ≥ 0.
        Python floats (a float comes back) or arrays that broadcast.
    cpu_factor
        Host cores per core of the instance's own work (:class:`Virtualisation`, ≥ 1):
        what its ceiling holds of the host's demand per core of it. A float, or an array.
    """
    wanted = demand + clip
    if isinstance(wanted, np.ndarray):
        share = np.divide(given, demand, out=np.ones(np.shape(wanted)), where=demand > 0)
        held = np.divide(np.minimum(demand * cpu_factor, wanted), wanted, out=np.ones(np.shape(wanted)),
                         where=wanted > 0)
        return share * held  # without a clip, held is d / d = 1.0: the share itself
    share = given / demand if demand > 0 else 1.0
    if not clip:
        return share
    held = demand * cpu_factor
    return share * ((held if held < wanted else wanted) / wanted)


# The OOM killer simdc models is the kernel's: its victim's pod stays on the node and the
# kubelet restarts the container in place after the back-off (:func:`backoff`). Not the
# kubelet's node-pressure eviction, which ranks pods by usage above request and
# PriorityClass and fails them for their controller to replace, scheduled anew
# (README, "Memory pressure").
#
# The kubelet gives each container's processes an oom_score_adj by its pod's QoS class
# (kubernetes/kubernetes, pkg/kubelet/qos/policy.go, GetContainerOOMScoreAdjust, from
# pkg/kubelet/kuberuntime/kuberuntime_container_linux.go with the machine's memory
# capacity): Guaranteed -997; BestEffort 1000; Burstable
# 1000 - 1000 × memoryRequest / memoryCapacity in integers (truncated), raised to
# 1000 + (-997) = 3 when below it and lowered to 999 when 1000. Node-critical pods get
# -997 too; simdc has no such pods, and no BestEffort one (every container has memory
# and CPU requests > 0). PriorityClass plays no part.
GUARANTEED_OOM_SCORE_ADJ = -997
BURSTABLE_OOM_SCORE_ADJ_MIN = 1000 + GUARANTEED_OOM_SCORE_ADJ
BURSTABLE_OOM_SCORE_ADJ_MAX = 999


def oom_score_adj(request_gib: np.ndarray, guaranteed: np.ndarray, capacity_gib: float) -> np.ndarray:
    """The oom_score_adj the kubelet sets on each container (-997 to 999): -997 for a
    Guaranteed pod (``guaranteed``: its limits equal its requests, CPU and memory), else
    ``1000 - floor(1000 × request_gib / capacity_gib)`` held to [3, 999].

    Parameters
    ----------
    request_gib
        Each container's memory request, GiB, > 0.
    guaranteed
        Bool, the same shape: whether its pod is of QoS class Guaranteed.
    capacity_gib
        The node's memory capacity, GiB, > 0: the kubelet's ``machineInfo.MemoryCapacity``,
        the physical memory (simdc's ``host.memory_gib``; a node VM's share of its host
        when containers run in node VMs), not its allocatable.
    """
    # floats, not bytes: a request in GiB is no whole number of bytes in general; the
    # floor is Go's integer division of positive quantities
    burstable = np.clip(1000.0 - np.floor(1000.0 * request_gib / capacity_gib),
                        BURSTABLE_OOM_SCORE_ADJ_MIN, BURSTABLE_OOM_SCORE_ADJ_MAX)
    return np.where(guaranteed, float(GUARANTEED_OOM_SCORE_ADJ), burstable)


def oom_scores(mem_gib: np.ndarray, adj: np.ndarray, total_gib: float) -> np.ndarray:
    """The kernel's badness of each container, in /proc/<pid>/oom_score's units:
    ``1000 × mem_gib / total_gib + adj``.

    The kernel scores a task ``points = rss + swap entries + page tables (pages) + adj ×
    (totalpages / 1000)`` and kills the highest (torvalds/linux, mm/oom_kill.c,
    ``oom_badness`` and ``oom_evaluate_task``); divided by ``totalpages / 1000`` that is
    this, up to a page's rounding. A container's usage is its processes' memory (a
    cgroup v2 container is killed whole: the kubelet sets ``memory.oom.group``).
    ``total_gib`` is ``totalpages`` in GiB: RAM + swap for an OOM of the whole machine,
    the cgroup's limit for one inside a memory cgroup.
    """
    return 1000.0 * mem_gib / total_gib + adj


def oom_victims(mem_gib: np.ndarray, request_gib: np.ndarray, guaranteed: np.ndarray, instance: np.ndarray,
                overhead_gib: float, allocatable_gib: float, capacity_gib: float) -> np.ndarray:
    """The OOM killer's victims on a container host over its memory: positions into the
    host's running instances, in the order they are killed, until the host fits.

    The kernel kills the container of highest :func:`oom_scores`, one at a time, until the
    footprint left (usage plus ``overhead_gib`` an instance) is no longer
    :func:`over_memory` (within ``allocatable_gib``, with the same slack); killing one
    changes no other's score, so that is the scores' descending order. The adj is
    :func:`oom_score_adj` against the node's capacity ``capacity_gib``. The usage is scored
    against ``allocatable_gib``: simdc's host is over its memory when its containers outgrow
    what is allocatable (capacity less the reserved memory), the limit of the kubepods
    cgroup that Node Allocatable enforcement sets (Kubernetes docs, "Reserve Compute
    Resources for System Daemons"), so the OOM is inside that cgroup and the kernel's
    ``totalpages`` is its limit (no swap: the kubelet's default is no swap for pods).

    Of equal scores the larger ``instance`` goes first: the kernel keeps the task it
    scanned last among equal points (``oom_evaluate_task`` skips only lower points),
    and scans pod cgroups oldest first; the workload's row order stands for the pods'
    creation order. Priority plays no part.

    Parameters
    ----------
    mem_gib, request_gib, guaranteed, instance
        Shape ``(running,)``: each instance's usage and memory request (GiB), whether
        its pod is Guaranteed, and its row in the workload (ties).
    overhead_gib, allocatable_gib, capacity_gib
        GiB: each instance's runtime overhead, the host's allocatable memory (> 0) and
        its capacity (> 0).
    """
    score = oom_scores(mem_gib, oom_score_adj(request_gib, guaranteed, capacity_gib), allocatable_gib)
    order = np.lexsort((-instance, -score))
    # after each kill: the usage and the instances left, judged by the host's own test
    # (over_memory, its EPS of slack for a sum of float sizes: 4.6 + 4.2 + 0.9 + 0.3 is
    # 10.000000000000002, within a 10 GiB host)
    left_gib = mem_gib.sum() - np.cumsum(mem_gib[order])
    left_running = len(mem_gib) - np.arange(1, len(mem_gib) + 1)
    return order[:int(np.argmax(~over_memory(left_gib, overhead_gib, left_running, allocatable_gib))) + 1]


# "After containers in a Pod run for 10 minutes without any problems, the kubelet
# resets the restart backoff timer" (Kubernetes docs, Pod Lifecycle).
BACKOFF_RESET_S = 600.0


def backoff(streak: int, ran_s: float, base_s: float, max_s: float) -> tuple[float, int]:
    """The restart back-off of a killed container: ``(delay_s, streak)``, the seconds it
    waits before it starts again and its streak of kills after this one.

    The delay doubles with each kill in a row, from ``base_s`` up to ``max_s``
    (``restart_backoff_s``, ``restart_backoff_max_s``); an attempt that ran
    ``BACKOFF_RESET_S`` or more before this kill (``ran_s``) starts a new streak.
    """
    if ran_s >= BACKOFF_RESET_S:
        streak = 0
    # 2 ** streak overflows a double past 1,023 kills in a row (3.5 days of CrashLoopBackOff
    # at the defaults); by 64 doublings any base of at least 1 s is past any cap
    return min(base_s * 2.0 ** streak if streak < 64 else max_s, max_s), streak + 1


def energy_j(power_idle_w, power_max_w, cores, on_s, cpu_used_core_s):
    """Energy a machine draws, in joules, over a span it is powered on for ``on_s`` seconds
    while its instances use ``cpu_used_core_s`` core-seconds of its ``cores``.

    Power is linear in CPU utilisation, ``power_idle_w`` idle to ``power_max_w`` with
    every core busy (the host model's, :class:`simdc.model.host.HostSpec`: Barroso &
    Hölzle, IEEE Computer 2007), so over any span its integral is ``power_idle_w × on_s + (power_max_w − power_idle_w) ×
    cpu_used_core_s / cores``: one host over the run, or one interval of it (a sample's
    ``cpu_used`` × its step). Scalars or arrays that broadcast (a value per host).

    The callers count a machine on (``on_s``) unless its physical host has failed and is
    under repair, or it holds nothing and idle machines are switched off
    (:func:`switched_off_when_idle`: never a node VM). A failed server is off
    until repaired, 0 W: the usual assumption of power-aware simulators (CloudSim Plus:
    ``HostAbstract.setFailed(true)`` makes the host inactive, and
    ``PowerModelHostSimple.getPowerMeasurement`` gives an inactive host no power;
    github.com/cloudsimplus/cloudsimplus, org/cloudsimplus/hosts and power/models). A
    machine rebooting after a kernel failure, or down for maintenance (drained, patched,
    rebooted), is on: at least idle power, whether or not idle hosts are switched off.
    """
    return power_idle_w * on_s + (power_max_w - power_idle_w) * cpu_used_core_s / cores


def switched_off_when_idle(platform: VmPlatform | ContainerPlatform, power_off_idle: bool) -> bool:
    """Whether ``platform``'s machines draw nothing while they hold no instance, with
    idle hosts switched off or not (``cluster.power_off_idle``).

    The unit of power is the physical host: powered, it draws :func:`energy_j`'s idle
    power whatever runs on it, and ``power_off_idle`` switches it off only while nothing
    runs on it. A host of VMs or containers holds its instances, so it is off while it
    holds none. A host of containers in node VMs holds its node VMs: they are the
    cluster's nodes and run from start to end (their VMM and guest memory are counted used
    and allocated all the run, :func:`host_specs`'s third value), so it is never empty and
    is off only under repair. simdc does not remove empty node VMs, as Kubernetes'
    Cluster Autoscaler would (github.com/kubernetes/autoscaler,
    ``cluster-autoscaler/FAQ.md``, "How does scale-down work?": a node whose pods fit
    elsewhere for 10 minutes is deleted): without it, a node stays.

    A physical host's power is shared out among its node VMs as exact shares of the
    linear model (:func:`host_specs`: idle / n and max / n W with cores / n cores each), so
    the shares of the n nodes, all powered while their host is, add up to its energy:
    Σ_k idle/n × on_s + (max − idle)/n × used_k / (cores/n) = idle × on_s + (max − idle) ×
    Σ_k used_k / cores.
    """
    return power_off_idle and (isinstance(platform, VmPlatform) or platform.nodes_per_host is None)


def fits_nowhere(book_cpu, book_mem_gib, cpu_caps: np.ndarray, mem_caps: np.ndarray) -> np.ndarray:
    """Which requests no host could ever hold, even empty: the one rule of an unplaceable
    request, which the engine turns away at once (never queued) and the instances' table
    counts as ``unplaceable``. Shape ``(instances,)``, bool; scalars give a 0-d array.

    A request fits a host when its booking (``book_cpu`` cores, ``book_mem_gib`` GiB,
    what :func:`footprints` books: a VM's size with its overhead, a container's request
    with its own) is within that one host's caps (``cpu_caps``, ``mem_caps``: the limits
    of :func:`limit` applied to :func:`caps`, overcommit and reserved memory in) in CPU
    and memory at once (:func:`fits` on an empty host), as Kubernetes' scheduler filters
    node by node: NodeResourcesFit admits a pod to a node only if every resource it asks
    for is within that node's allocatable (kubernetes/kubernetes,
    pkg/scheduler/framework/plugins/noderesources/fit.go, ``fitsRequest``). So a request
    that needs host A's cores and host B's memory fits nowhere: the largest CPU and the
    largest memory, taken over hosts apart, are no host's. Hosts are compared by their
    distinct limit pairs, which a fleet has few of (one per host group), so the cost is
    instances × groups.
    """
    book_cpu, book_mem_gib = np.asarray(book_cpu, float), np.asarray(book_mem_gib, float)
    somewhere = np.zeros(np.shape(book_cpu), dtype=bool)
    for cpu_cap, mem_cap in set(zip(np.asarray(cpu_caps, float).tolist(), np.asarray(mem_caps, float).tolist())):
        somewhere |= fits(0.0, 0.0, book_cpu, book_mem_gib, cpu_cap, mem_cap)
    return ~somewhere


def free_mem_gib(capacity_gib, booked_gib, down) -> float:
    """Fragmentation: the GiB free on the hosts that take work, when a request found no
    host (``free_mem_gib_at_failure``; ``fragmentation_gib_mean`` is its mean).

    A host takes work when it is not ``down`` (under repair, rebooting, in maintenance or
    cordoned: :attr:`HostState.down`, the flag placement's fit test skips a host by), as
    Kubernetes' scheduler filters out a cordoned node (NodeUnschedulable,
    pkg/scheduler/framework/plugins/nodeunschedulable/node_unschedulable.go, ``Filter``)
    and a failed one (its ``node.kubernetes.io/unreachable`` or ``not-ready`` NoSchedule
    taint, TaintToleration's ``Filter``). Memory on a host that is down is no free memory
    a request could have had, whatever is still booked there (a failed host's victims
    leave it one by one). Free is those hosts' capacity (``capacity_gib``, without the fit
    test's slack) less their bookings (``booked_gib``), each summed in host order: the
    same double in both lanes. Bookings exceed a capacity by the fit test's slack at most
    (:data:`EPS`), so no host's share is clamped at 0. Sequences (lists) of one value per
    host; with no host down, two sums over all hosts, the cost of the lane's hot path.
    """
    if any(down):
        up = [not off for off in down]
        return sum(compress(capacity_gib, up)) - sum(compress(booked_gib, up))
    return sum(capacity_gib) - sum(booked_gib)


def image_needs(platform: VmPlatform | ContainerPlatform, images: pd.Series,
                catalogue: dict) -> tuple[list[tuple[tuple[str, float], ...]], np.ndarray]:
    """What each instance must have on its host before it starts, and what it copies.

    Returns ``(needs, copy_gib)``: per instance, the (digest, GiB) it needs cached, in
    pull order, and the GiB its own disk copies from the cached image: a VM with
    ``disk = "copy"`` writes a full copy of the image it boots from, the disk image
    (``image_source = "disk"``) or its layers' total (``"layers"``), whatever the
    source (VmPlatform: "Its own disk is a full copy of the image, or a copy-on-write
    clone"); 0 for a clone and for a container. Instances without an image need nothing.

    Raises
    ------
    InputError
        An image the workload names that the catalogue lacks, or lacks in the form this
        platform boots from.
    """
    from simdc.errors import InputError
    from simdc.model.image import image_ref

    by_name: dict[str, tuple[tuple[tuple[str, float], ...], float]] = {}
    problems = []
    vm = isinstance(platform, VmPlatform)
    codes, names = pd.factorize(images)
    for name in names:
        if not name:
            by_name[name] = ((), 0.0)
            continue
        image = catalogue.get(image_ref(name))
        if image is None:
            problems.append(f"workload: image {name!r} is not in [[images]]"
                            f"{'; known: ' + ', '.join(sorted(catalogue)) if catalogue else ' (there is none)'}")
            continue
        if vm and platform.image_source == "disk":
            size = image.disk_gib if image.disk_gib is not None else platform.default_disk_gib
            by_name[name] = (((f"disk:{image.name}", size),), size if platform.disk == "copy" else 0.0)
        elif not image.layers:
            problems.append(f"[[images]] {image.name!r}: has no layers, only a disk image, and platform "
                            f"{platform.preset!r} starts from image layers: give the image its layers, or run it "
                            "on a VM platform (image_source = \"disk\")")
        else:
            layers = tuple((layer.digest, layer.size_mib / MIB_PER_GIB) for layer in image.layers)
            copy_gib = image.layers_mib / MIB_PER_GIB if vm and platform.disk == "copy" else 0.0
            by_name[name] = (layers, copy_gib)
    if problems:
        raise InputError(problems)
    needs_by_code = [by_name[name][0] for name in names]
    copy_by_code = np.array([by_name[name][1] for name in names] or [0.0], dtype=float)
    needs = take_objects(needs_by_code, codes)
    return needs, copy_by_code[codes] if len(names) else np.zeros(len(codes))


def take_objects(distinct: list, code: np.ndarray) -> list:
    """``[distinct[c] for c in code]`` at C speed: an object array's take hands back the
    same Python objects."""
    if len(distinct) == 1:
        return [distinct[0]] * len(code)
    objects = np.empty(len(distinct), dtype=object)
    for k, value in enumerate(distinct):  # one by one: a tuple must not be spread out
        objects[k] = value
    return objects[code].tolist()


def host_specs(platform: VmPlatform | ContainerPlatform,
               hosts: list[HostSpec]) -> tuple[list[HostSpec], list[int], float]:
    """The machines instances are placed on (the hosts, or their node VMs), for each the
    index of the physical host it is on (whose network link it uses), and the GiB each
    machine takes for itself (a node VM's VMM overhead and guest; 0 for hosts).

    For containers in VMs each host is split evenly into ``nodes_per_host`` node VMs:
    a node gets its share of the cores, and of the allocatable memory less its VMM
    overhead (outside the guest) and ``node_reserved_gib`` (guest kernel and node agent,
    inside). A node is described by its share of the host's physical memory, with
    everything but its allocatable memory reserved, so memory utilisation stays a
    fraction of the physical host. Each node keeps its own image cache.
    """
    if isinstance(platform, VmPlatform) or platform.nodes_per_host is None:
        return hosts, list(range(len(hosts))), 0.0
    from simdc.errors import InputError

    count = platform.nodes_per_host
    nodes, physical = [], []
    for index, host in enumerate(hosts):
        share_gib = host.memory_gib / count
        allocatable = (host.allocatable_memory_gib / count - platform.node_overhead_mib / MIB_PER_GIB
                       - platform.node_reserved_gib)
        if allocatable <= 0:
            raise InputError(f"platform {platform.preset!r}: {count} nodes leave no memory on a "
                             f"{host.memory_gib} GiB host after node overheads")
        nodes += [host.model_copy(update={
            "cpu_cores": host.cpu_cores / count,
            "memory_gib": share_gib,
            "reserved_memory_gib": share_gib - allocatable,
            "image_cache_gib": host.image_cache_gib / count,
            "power_idle_w": host.power_idle_w / count,
            "power_max_w": host.power_max_w / count,
        }) for _ in range(count)]
        physical += [index] * count
    return nodes, physical, platform.node_overhead_mib / MIB_PER_GIB + platform.node_reserved_gib
