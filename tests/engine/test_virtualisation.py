"""Virtualisation overhead (simdc.engine.rules.virtualisation) and start latency, against
the published figures the defaults cite (issue #17).

- VM overhead: CPU-bound work < 3 % slower in a KVM guest than on bare metal, Redis
  latency +10 % (Sharma et al., Middleware 2016, Figs. 3-4), and CPU-bound work within
  1 % of LXC at 1.5x CPU overcommit (Fig. 9): a VM's CPU demand × (1 + c), a batch
  instance's time alone × (1 + c + o × io_intensity); containers: none, so c is the
  whole VM-container gap, 1 % (the most Fig. 9 allows).
- Start latency: container median 0.56 s (warm `docker run` on SSD, 554-568 ms: Khan
  2026); Kata-like 0.5 s above it (Kata ~600 ms against runc ~100 ms on one daemon path:
  van Rijn & Rellermeyer, Middleware 2021); microVM p50 161 ms one at a time (500 serial
  Firecracker boots) and p50 206 ms, p99 246 ms for 50 in parallel (NSDI 2020 raw data),
  the parallel figures an outcome of the serial boot and the creation rate (5 per host
  core per second: firecracker docs/design.md); the containers' and the serial boot's
  p99 take the parallel boots' p99/p50 (an assumption).
- Swap: a memory-bound VM 10 % slower than LXC at 1.5x memory overcommit (Sharma et
  al., Middleware 2016, Fig. 9): its swap and its CPU overhead together.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import simdc
from simdc.config import validate
from simdc.engine import run_platform
from simdc.workload import load_workload

SHARMA_VM_CPU_BOUND = 0.03  # VM CPU < 3 % slower than bare metal (Figs. 3-4)
SHARMA_VM_WITHIN_LXC_AT_1_5X = 0.01  # CPU-bound VM within 1 % of LXC at 1.5x overcommit (Fig. 9)
# A container pays nothing, so the VM's overhead is the VM-container gap: the most both
# figures allow is Fig. 9's 1 %, the default's value.
SHARMA_VM_CPU = min(SHARMA_VM_CPU_BOUND, SHARMA_VM_WITHIN_LXC_AT_1_5X)
SHARMA_VM_IO = 0.10  # Redis latency +10 % in a VM


def run(tmp_path, rows, platform, *, rules=None, duration_s=10_000.0, extra=None):
    """A hand-written trace on one 16-core, 64 GiB host, nothing starting slowly."""
    trace = tmp_path / "t.csv"
    pd.DataFrame([{"submit_s": 0.0, "duration_s": 500.0, "cpu_cores": 1, "memory_gib": 1, "cpu_used": 1} | r
                  for r in rows]).to_csv(trace, index=False)
    zero = {"overhead_mib": 0} | ({"boot_s": 0} if platform in ("vm", "microvm") else {"start_s": 0})
    return simdc.simulate(validate({
        "simulation": {"duration_s": duration_s, "platforms": [platform], "sample_every_s": 50.0},
        "host": {"cpu_cores": 16, "memory_gib": 64},
        "platform": {platform: zero | (rules or {})},
        "workload": {"trace": str(trace)},
    } | (extra or {})))


@pytest.mark.parametrize("io", [0.0, 0.5, 1.0])
def test_a_batch_job_alone_in_a_vm_takes_its_work_times_the_overhead(tmp_path, io):
    """Alone on a host, a batch job of 100 s full-speed work ends after
    100 × (1 + 0.01 + 0.10 × io) s in a VM (the cited defaults), and after 100 s in a container."""
    rows = [{"id": "job", "kind": "batch", "duration_s": 100.0, "io_intensity": io}]
    vm = run(tmp_path, rows, "vm").instances.set_index("id")
    assert vm.loc["job", "end_s"] == pytest.approx(100 * (1 + SHARMA_VM_CPU + SHARMA_VM_IO * io), rel=1e-12)
    assert vm.loc["job", "slowdown"] == pytest.approx(1 + SHARMA_VM_CPU + SHARMA_VM_IO * io, rel=1e-12)
    container = run(tmp_path, rows, "container").instances.set_index("id")
    assert container.loc["job", "end_s"] == pytest.approx(100.0, rel=1e-12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cpu=st.floats(0, 2), io_cost=st.floats(0, 2), io=st.floats(0, 0.99), work=st.floats(1, 1000))
def test_batch_time_in_a_vm_follows_the_formula_for_any_overheads(tmp_path, cpu, io_cost, io, work):
    """For any overheads c, o and intensity io: a lone VM batch job takes work × (1 + c + o·io)."""
    rows = [{"id": "job", "kind": "batch", "duration_s": work, "io_intensity": io}]
    inst = run(tmp_path, rows, "vm", rules={"cpu_overhead": cpu, "io_overhead": io_cost},
               duration_s=work * 8).instances.set_index("id")
    assert inst.loc["job", "end_s"] == pytest.approx(work * (1 + cpu + io_cost * io), rel=1e-9)


@pytest.mark.parametrize("lane", ["general", "fast"])
@pytest.mark.parametrize("platform, factor", [("vm", 1 + SHARMA_VM_CPU), ("microvm", 1 + SHARMA_VM_CPU),
                                              ("container", 1.0)])
def test_a_service_demands_its_cpu_times_the_overhead(tmp_path, lane, platform, factor):
    """A service using 1.5 of its 4 vCPUs for 500 s demands 1.5 × 500 × (1 + 0.01) core-s in
    a VM (the hypervisor's share) and 1.5 × 500 in a container, in either engine lane."""
    trace = tmp_path / "t.csv"
    pd.DataFrame([{"id": "svc", "submit_s": 0.0, "duration_s": 500.0, "cpu_cores": 4, "memory_gib": 1,
                   "cpu_used": 1.5}]).to_csv(trace, index=False)
    config = validate({
        "simulation": {"duration_s": 1000.0, "platforms": [platform], "sample_every_s": 50.0},
        "host": {"cpu_cores": 16, "memory_gib": 64},
        "platform": {platform: {"overhead_mib": 0} | ({"start_s": 0} if platform == "container" else {"boot_s": 0})},
        "workload": {"trace": str(trace)},
    })
    workload = load_workload(config.workload, 1000.0, 0)
    result = run_platform(platform, config.platform[platform], config.fleet, workload.instances,
                          duration_s=1000.0, sample_every_s=50.0, seed=0, usage=workload.usage, lane=lane)
    assert result.lane == lane
    demand = result.instances.set_index("id").loc["svc", "cpu_demand_core_s"]
    assert demand == pytest.approx(1.5 * 500 * factor, rel=1e-12)
    assert result.hosts["cpu_demand_core_s"].sum() == pytest.approx(1.5 * 500 * factor, rel=1e-12)


def test_a_saturated_vm_still_gets_at_most_its_vcpus(tmp_path):
    """A VM asking for all its 2 vCPUs is not given more for the overhead: it gets 2 × 500
    core-s, and the overhead's 1 % above its vCPUs is demand it does not get (unmet)."""
    inst = run(tmp_path, [{"id": "busy", "cpu_cores": 2, "cpu_used": 2}], "vm").instances.set_index("id")
    demand, unmet = inst.loc["busy", ["cpu_demand_core_s", "cpu_unmet_core_s"]]
    assert demand == pytest.approx(2 * 500 * (1 + SHARMA_VM_CPU))
    assert demand - unmet == pytest.approx(2 * 500)


def test_no_overhead_restores_bare_metal_speed(tmp_path):
    """cpu_overhead = io_overhead = 0: a VM batch job takes its work exactly, as before the rule."""
    rows = [{"id": "job", "kind": "batch", "duration_s": 100.0, "io_intensity": 1.0}]
    inst = run(tmp_path, rows, "vm", rules={"cpu_overhead": 0, "io_overhead": 0}).instances.set_index("id")
    assert inst.loc["job", "end_s"] == pytest.approx(100.0, rel=1e-12)


def cpu_bound_slowdowns(tmp_path, instances: int, overcommit: float) -> dict[str, pd.Series]:
    """Sharma et al.'s Fig. 9 setting, CPU-bound: ``instances`` batch instances of 1 core,
    each using its whole core for 1,000 s, on one 8-core host, VMs at ``cpu_overcommit``
    and containers at ``overcommit`` = ``overcommit``; boots, starts and QEMU's memory 0,
    VMs sized as given. Each platform's instances' slowdowns (time ÷ work)."""
    trace = tmp_path / "cpu_bound.csv"
    pd.DataFrame([{"id": f"i{k}", "submit_s": 0.0, "duration_s": 1000.0, "cpu_cores": 1, "memory_gib": 1,
                   "cpu_used": 1, "memory_used_gib": 0.5, "kind": "batch"} for k in range(instances)]
                 ).to_csv(trace, index=False)
    inst = simdc.simulate(validate({
        "simulation": {"duration_s": 10_000.0, "platforms": ["vm", "container"], "sample_every_s": 50.0},
        "host": {"cpu_cores": 8, "memory_gib": 64},
        "platform": {"vm": {"cpu_overcommit": overcommit, "sizing": "as_given", "boot_s": 0, "overhead_mib": 0},
                     "container": {"overcommit": overcommit, "start_s": 0, "overhead_mib": 0}},
        "workload": {"trace": str(trace), "format": "simdc"},
    })).instances
    assert (inst["outcome"] == "completed").all()
    return {platform: rows["slowdown"] for platform, rows in inst.groupby("platform")}


def test_cpu_bound_vms_at_1_5x_overcommit_run_within_1_percent_of_containers(tmp_path):
    """Sharma et al., Middleware 2016, Fig. 9: at 1.5x CPU overcommit a CPU-bound VM ran
    within 1 % of LXC. 12 one-core instances on 8 cores (1.5x) share them out: each
    container takes 1.5× its work (12/8, the fair share); each VM's time ÷ a container's
    is within 1 % (with the old 3 % overhead: 1.545 against 1.500, 3.0 % apart)."""
    slowdown = cpu_bound_slowdowns(tmp_path, 12, 1.5)
    assert slowdown["container"].to_numpy() == pytest.approx(12 / 8, rel=1e-9)
    ratio = slowdown["vm"].to_numpy() / slowdown["container"].to_numpy()
    assert (ratio <= 1 + SHARMA_VM_WITHIN_LXC_AT_1_5X + 1e-9).all(), ratio


def test_cpu_bound_vms_without_overcommit_run_under_3_percent_slower(tmp_path):
    """Sharma et al., Middleware 2016, Figs. 3-4: a CPU-bound KVM guest < 3 % slower than
    bare metal, LXC within 2 % of it (a container here runs at bare-metal speed: time =
    work). 8 one-core instances on 8 cores: VM time ÷ container time < 1.03."""
    slowdown = cpu_bound_slowdowns(tmp_path, 8, 1.0)
    assert slowdown["container"].to_numpy() == pytest.approx(1.0, rel=1e-9)
    ratio = slowdown["vm"].to_numpy() / slowdown["container"].to_numpy()
    assert (ratio < 1 + SHARMA_VM_CPU_BOUND).all(), ratio


# --- start latency ---------------------------------------------------------------------

KHAN_DOCKER_RUN_SSD_S = 0.56  # warm docker run on SSD, 554-568 ms
KATA_S, RUNC_S = 0.6, 0.1  # runtime start on one daemon path (van Rijn & Rellermeyer 2021)
NSDI_FIRECRACKER_P50_S, NSDI_FIRECRACKER_P99_S = 0.206, 0.246  # 50 parallel boots
NSDI_FIRECRACKER_SERIAL_P50_S = 0.161  # 500 serial boots
ASSUMED_P99_OVER_P50 = NSDI_FIRECRACKER_P99_S / NSDI_FIRECRACKER_P50_S  # spreads with no source


@pytest.fixture(scope="module")
def starts():
    """4,000 instances, one a second, each alone on a huge host with no images: start =
    the platform's own start latency, one at a time. Summary per platform."""
    return simdc.simulate(validate({
        "simulation": {"duration_s": 4000.0, "platforms": ["container", "microvm", "sandboxed_container"],
                       "seed": 11,
                       "sample_every_s": 1000.0},
        "host": {"cpu_cores": 1024, "memory_gib": 4096},
        "workload": {"synthetic": {"arrival_rate_per_s": 1.0, "lifetime_s": 1.0,
                                   "sizes": [{"cpu_cores": 1, "memory_gib": 1, "weight": 1}]}},
    })).summary.set_index("platform")


def quantile_se(q: float, x_q: float, sigma: float, n: int) -> float:
    """Standard error of the sample q-quantile of n lognormal draws (σ of its log):
    √(q(1−q)/n) / f(x_q), with the lognormal density f(x_q) = φ(z_q) / (x_q σ)."""
    z = NormalDist().inv_cdf(q)
    density = math.exp(-z * z / 2) / math.sqrt(2 * math.pi) / (x_q * sigma)
    return math.sqrt(q * (1 - q) / n) / density


@pytest.mark.parametrize("platform, p50_s, p99_s", [
    ("container", KHAN_DOCKER_RUN_SSD_S, KHAN_DOCKER_RUN_SSD_S * ASSUMED_P99_OVER_P50),
    ("microvm", NSDI_FIRECRACKER_SERIAL_P50_S, NSDI_FIRECRACKER_SERIAL_P50_S * ASSUMED_P99_OVER_P50),
    ("sandboxed_container", KHAN_DOCKER_RUN_SSD_S + KATA_S - RUNC_S,
     (KHAN_DOCKER_RUN_SSD_S + KATA_S - RUNC_S) * ASSUMED_P99_OVER_P50),
])
def test_start_latency_quantiles_match_their_sources(starts, platform, p50_s, p99_s):
    """simdc's start p50 and p99 over ~4,000 starts are the cited figures, within 4
    standard errors of a sample quantile (quantile_se, σ from the cited p50 and p99)."""
    row = starts.loc[platform]
    n = int(row["placed"])
    assert n > 3500
    sigma = math.log(p99_s / p50_s) / NormalDist().inv_cdf(0.99)
    assert row["start_p50_s"] == pytest.approx(p50_s, abs=4 * quantile_se(0.50, p50_s, sigma, n))
    assert row["start_p99_s"] == pytest.approx(p99_s, abs=4 * quantile_se(0.99, p99_s, sigma, n))


def test_a_sandboxed_container_starts_the_sources_gap_after_a_container(starts):
    """Kata-like against runc, p50 of ~4,000 starts each: the gap is the source's, Kata
    ~600 ms against runc ~100 ms on one daemon path (van Rijn & Rellermeyer, Middleware
    2021 §3.5): 0.5 s, within 4 standard errors of the difference of two sample medians."""
    container, sandboxed = starts.loc["container"], starts.loc["sandboxed_container"]
    sigma = math.log(ASSUMED_P99_OVER_P50) / NormalDist().inv_cdf(0.99)
    se = math.hypot(quantile_se(0.5, KHAN_DOCKER_RUN_SSD_S, sigma, int(container["placed"])),
                    quantile_se(0.5, KHAN_DOCKER_RUN_SSD_S + KATA_S - RUNC_S, sigma, int(sandboxed["placed"])))
    gap = sandboxed["start_p50_s"] - container["start_p50_s"]
    assert gap == pytest.approx(KATA_S - RUNC_S, abs=4 * se)


M5D_METAL_LOGICAL_CPUS = 96  # the paper's host: 48 cores, 96 vCPUs (a host's cpu_cores are logical CPUs)
BURST, BURSTS = 50, 40


def test_a_burst_of_50_microvms_starts_at_the_parallel_boots_p50(tmp_path):
    """50 microVMs submitted at once on NSDI 2020's host (m5d.metal, 96 logical CPUs: a
    "host core" of Firecracker's creation rate is taken as one, as a host's cpu_cores are),
    repeated 40 times 10 s apart: each boots in the serial time (p50 161 ms) after its turn
    in the creation queue (5 per core per second: 480 a second). Their start p50 is the
    source's 50-in-parallel p50, 206 ms, within 4 standard errors of that source's own
    sample median of 50 boots (quantile_se, σ from its p50 and p99: ±11 ms), with ours
    over 2,000 added in quadrature. The model gives 0.212 s; counting the parallel boot
    as every boot's time and queueing it again gave 0.257 s.

    The p99 is not reproduced: the queue spreads 50 creations over 49/480 = 102 ms, more
    than the source's p50-p99 (40 ms), so the burst's p99 is 0.276 s against the source's
    0.246 s (0.263 s with no spread in the serial boot at all). What is held is that
    bound of the rule: p99 ≤ the serial boot's p99 + the last turn's wait."""
    trace = tmp_path / "bursts.csv"
    pd.DataFrame([{"id": f"{b}-{k}", "submit_s": 10.0 * b, "duration_s": 1.0, "cpu_cores": 1, "memory_gib": 0.25}
                  for b in range(BURSTS) for k in range(BURST)]).to_csv(trace, index=False)
    inst = simdc.simulate(validate({
        "simulation": {"duration_s": 10.0 * BURSTS + 100, "platforms": ["microvm"], "seed": 1,
                       "sample_every_s": 100.0},
        "host": {"cpu_cores": M5D_METAL_LOGICAL_CPUS, "memory_gib": 384},
        "workload": {"trace": str(trace), "format": "simdc"},
    })).instances
    assert len(inst) == BURST * BURSTS
    latency = inst["first_ready_s"] - inst["submit_s"]
    parallel_sigma = math.log(NSDI_FIRECRACKER_P99_S / NSDI_FIRECRACKER_P50_S) / NormalDist().inv_cdf(0.99)
    se = math.hypot(quantile_se(0.5, NSDI_FIRECRACKER_P50_S, parallel_sigma, BURST),
                    quantile_se(0.5, NSDI_FIRECRACKER_P50_S, parallel_sigma, len(inst)))
    assert latency.quantile(0.5) == pytest.approx(NSDI_FIRECRACKER_P50_S, abs=4 * se)
    last_wait_s = (BURST - 1) / (5 * M5D_METAL_LOGICAL_CPUS)
    assert latency.quantile(0.99) <= NSDI_FIRECRACKER_SERIAL_P50_S * ASSUMED_P99_OVER_P50 + last_wait_s


# --- memory overcommit -------------------------------------------------------------------

SHARMA_SWAP_SLOWDOWN_AT_1_5X = 0.10  # memory-bound VM 10 % worse than LXC at 1.5x overcommit (Fig. 9)


def test_memory_overcommit_of_1_5x_slows_memory_bound_vms_by_10_percent_against_containers(tmp_path):
    """The setting of Sharma et al.'s Fig. 9 with simdc's defaults (page sharing, QEMU's
    131 MiB, the balloon, the CPU overhead): 9 batch instances of 2 GiB, each using all
    of it, on a 12 GiB host at 1.5x overcommit. 8 VMs fit (18 GiB of VM memory allowed;
    9 × 2.128 GiB do not); those 8 run their 1,000 s of work together, swapping, and
    paying the hypervisor's CPU overhead. Containers are run on the same host at
    overcommit 1.5: a container swaps nothing (the kernel OOM-kills instead), and those
    never killed run their work at bare-metal speed. The VMs' time ÷ those containers'
    time is the source's 1.10, to 0.1 % (the default's rounding to three places; fitted
    on swap alone, the VMs ended 1.1002 × 1.03 = 1.133 times the containers')."""
    work_s = 1000.0
    trace = tmp_path / "t.csv"
    pd.DataFrame([{"id": f"i{k}", "submit_s": 0.0, "duration_s": work_s, "cpu_cores": 1, "memory_gib": 2,
                   "cpu_used": 1, "memory_used_gib": 2, "kind": "batch"} for k in range(9)]).to_csv(trace, index=False)
    inst = simdc.simulate(validate({
        "simulation": {"duration_s": 4 * work_s, "platforms": ["vm", "container"], "sample_every_s": 50.0},
        "host": {"cpu_cores": 16, "memory_gib": 12},
        "platform": {"vm": {"memory_overcommit": 1.5, "sizing": "as_given", "boot_s": 0},
                     "container": {"overcommit": 1.5, "start_s": 0}},
        "workload": {"trace": str(trace), "format": "simdc"},
    })).instances
    vms = inst[(inst["platform"] == "vm") & (inst["first_ready_s"] == 0.0)]
    assert len(vms) == 8
    containers = inst[(inst["platform"] == "container") & (inst["outcome"] == "completed")
                      & (inst["oom_kills"] == 0)]
    assert len(containers) > 0
    vm_time = (vms["end_s"] - vms["first_ready_s"]).to_numpy()
    container_time = (containers["end_s"] - containers["first_ready_s"]).to_numpy()
    assert container_time == pytest.approx(work_s, rel=1e-12)
    ratio = vm_time / container_time.mean()
    assert ratio == pytest.approx(1 + SHARMA_SWAP_SLOWDOWN_AT_1_5X, abs=0.001)


@pytest.mark.parametrize("kind", ["constant", "series", "synthetic"])
def test_every_usage_model_scales_cpu_alone(kind):
    """The usage a VM presents (rules.Virtualisation.presented): every model's CPU × the
    factor at every age, in every access path, its memory and its noise unchanged."""
    import numpy as np

    from simdc.workload.usage import ConstantUsage, SeriesUsage, SyntheticUsage

    cpu, mem = np.array([0.5, 1.0, 2.0]), np.array([1.0, 2.0, 3.0])
    means = ConstantUsage(cpu, mem)
    if kind == "constant":
        usage = means
    elif kind == "series":
        table = pd.DataFrame({"id": ["0", "0", "1"], "t_s": [0.0, 300.0, 0.0], "cpu_cores": [0.2, 0.9, 1.5],
                              "memory_gib": [1.0, 1.5, 2.0]})
        usage = SeriesUsage.from_table(table, pd.Series(["0", "1", "2"]), 300.0, means)
    else:
        usage = SyntheticUsage(cpu, mem, step_s=300.0, seed=7, cpu_burstiness=0.3, memory_burstiness=0.3,
                               correlation=0.2, diurnal_amplitude=0.3, diurnal_peak_s=50_400.0)
    scaled = usage.scaled_cpu(1.03)
    inst = np.arange(3)
    for now in (0.0, 450.0, 3_000.0):
        age = np.full(3, now)
        (c0, m0), (c1, m1) = usage.at(inst, age, now), scaled.at(inst, age, now)
        np.testing.assert_allclose(c1, 1.03 * c0, rtol=1e-15)
        np.testing.assert_array_equal(m1, m0)
        for i in range(3):
            one, other = usage.at_one(i, now, now), scaled.at_one(i, now, now)
            assert other[0] == pytest.approx(1.03 * one[0], rel=1e-15) and other[1] == one[1]
    start, start_scaled = usage.start_usage(), scaled.start_usage()
    for i in range(3):
        assert start_scaled(i, 600.0)[0] == pytest.approx(1.03 * start(i, 600.0)[0], rel=1e-15)
    np.testing.assert_allclose(scaled.quantile(0.9)[0], 1.03 * np.asarray(usage.quantile(0.9)[0]), rtol=1e-15)



def test_synthetic_cpu_scales_as_a_series_of_its_values_does():
    """A VM presents its usage × (1 + cpu_overhead), whichever model gives it. A usage
    series holding the synthetic model's values (what ``trace generate`` writes) and the
    model itself, both scaled, present the same CPU to the bit: the factor multiplies
    the value the model gives (clipped at the size), last, as it multiplies a series'
    values. (Scaling the means instead, (mean × f) × noise, rounds differently from
    (mean × noise) × f in the last place of about a third of the values.)"""
    import numpy as np

    from simdc.workload.usage import ConstantUsage, SeriesUsage, SyntheticUsage

    rng = np.random.default_rng(4)
    n = 200
    cpu, mem = rng.uniform(0.05, 4, n), rng.uniform(0.1, 8, n)
    model = SyntheticUsage(cpu, mem, step_s=300.0, seed=5, cpu_burstiness=0.6, memory_burstiness=0.3,
                           correlation=0.0, diurnal_amplitude=0.0, diurnal_peak_s=50_400.0,
                           cpu_max=cpu * 2, mem_max=mem * 2)
    inst = np.arange(n)  # each instance once a call, as the engine asks
    ages = np.arange(12) * 300.0
    steps = [model.at(inst, np.full(n, age), 0.0) for age in ages]
    table = pd.DataFrame({"id": np.tile(inst.astype(str), len(ages)), "t_s": np.repeat(ages, n),
                          "cpu_cores": np.concatenate([c for c, _ in steps]),
                          "memory_gib": np.concatenate([m for _, m in steps])})
    series = SeriesUsage.from_table(table, pd.Series(inst.astype(str)), 300.0, ConstantUsage(cpu, mem))
    factor = 1.03
    scaled_model, scaled_series = model.scaled_cpu(factor), series.scaled_cpu(factor)
    for age in ages + 17.0:
        presented = scaled_model.at(inst, np.full(n, age), 0.0)[0]
        np.testing.assert_array_equal(presented, scaled_series.at(inst, np.full(n, age), 0.0)[0])
    starts = scaled_model.start_usage(), scaled_series.start_usage()
    for i in range(n):
        assert scaled_model.at_one(i, 0.0, 0.0) == scaled_series.at_one(i, 0.0, 0.0)
        assert starts[0](i, 0.0) == starts[1](i, 0.0)

# --- VM boot at the defaults ------------------------------------------------------------

# A traditional VM boots in "tens of seconds" (Sharma et al., Middleware 2016, §7.2;
# CALIBRATION.md, "lightweight VM vs container"); cloud provisioning takes 44-97 s on
# average for Linux (Mao & Humphrey, IEEE CLOUD 2012). The README reads them as a median
# of 30 s and a p95 of 60 s ("Platforms", the vm preset).
SHARMA_VM_BOOT_P50_S, SHARMA_VM_BOOT_P95_S = 30.0, 60.0


@pytest.fixture(scope="module")
def vm_starts():
    """~4,000 VMs of the vm preset at its defaults (no boot_s given), each on an empty,
    huge host with no images and no creation limit, so that a start is the boot alone:
    about 31 boot at once on 1,024 cores, none waits."""
    return simdc.simulate(validate({
        "simulation": {"duration_s": 4000.0, "platforms": ["vm"], "seed": 13, "sample_every_s": 1000.0},
        "host": {"cpu_cores": 1024, "memory_gib": 4096},
        "workload": {"synthetic": {"arrival_rate_per_s": 1.0, "lifetime_s": 1.0,
                                   "sizes": [{"cpu_cores": 1, "memory_gib": 1, "weight": 1}]}},
    })).summary.set_index("platform").loc["vm"]


def test_vm_boot_at_the_defaults_matches_its_source(vm_starts):
    """simdc's own VM start p50 and p95 at the default settings are the cited 30 s and
    60 s, within 4 standard errors of a sample quantile of that many starts (quantile_se,
    σ from the cited p50 and p95), and the median is "tens of seconds" (10-100 s)."""
    n = int(vm_starts["placed"])
    assert n > 3500
    assert vm_starts["queue_mean_s"] == 0.0  # nothing waited: start = boot
    sigma = math.log(SHARMA_VM_BOOT_P95_S / SHARMA_VM_BOOT_P50_S) / NormalDist().inv_cdf(0.95)
    p50, p95 = vm_starts["start_p50_s"], vm_starts["start_p95_s"]
    assert p50 == pytest.approx(SHARMA_VM_BOOT_P50_S, abs=4 * quantile_se(0.50, SHARMA_VM_BOOT_P50_S, sigma, n))
    assert p95 == pytest.approx(SHARMA_VM_BOOT_P95_S, abs=4 * quantile_se(0.95, SHARMA_VM_BOOT_P95_S, sigma, n))
    assert 10.0 <= p50 < 100.0
