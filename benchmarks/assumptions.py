"""How much the headline moves when each assumption changes by ±50 % (issue #17).

Every default with no published figure behind it (a comment in simdc/model/ says
"assumption") is listed in ASSUMPTIONS. This script runs configs/host64g.toml (one host,
one day) with each assumption at ×0.5 and ×1.5 and prints, as the Markdown table the
README's "Assumptions" section holds, the headline:

- density: mean instances of containers over those of VMs (each averaged over the seeds);
- start p95 of VMs and of containers, seconds (averaged over the seeds).

Seeds are common to every variant (the same arrivals), so differences come from the
assumption, not from sampling; the spread over seeds is printed for the base case. A
distribution's spread is scaled through its σ (p99 = median × (p99/median)^k). An
assumption host64g does not exercise (it has no images, interference or node VMs) is
listed without runs. An assumption whose default is "no limit" (a creation rate) is
varied as a limit at the nearest published rate × 0.5 and × 1.5; one that is a constant of
the code, not a config key (memory's rare peaks, simdc/workload/usage.py), is varied by
setting the module's constant for the runs. Regenerate after merges:

    python benchmarks/assumptions.py [--seeds 20] [--config configs/host64g.toml]

About 0.3 s per run: (1 + 2 × variants) × seeds runs, some 2 minutes with 20 seeds.
Each change is given ± the standard error of the paired per-seed differences.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import simdc

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Assumption:
    """One assumed default: how to read it from the resolved config and set it scaled."""

    name: str  # what is assumed, for the table
    key: str  # where it lives in a config
    why: str  # what it stands in for
    scaled: Callable[[dict, float], dict] | None  # (resolved config, factor) -> overrides; None: not exercised
    # "config": scaled gives config overrides; "constant": scaled gives {module.NAME: value}
    # for the code's constants, set for the runs (key names the constant)
    kind: str = "config"


def _get(config: dict, key: str) -> Any:
    value = config
    for part in key.split("."):
        value = value[part]
    return value


def scale_value(key: str) -> Callable[[dict, float], dict]:
    """A number × factor. A field of a small table (``cpu_usage.mean``) is given with its
    table, as resolved, so the table's other fields keep their values."""
    def overrides(config: dict, factor: float) -> dict:
        parent, field = key.rsplit(".", 1)
        table = _get(config, parent)
        if parent.count(".") >= 2:  # a table inside a section: give it whole
            return {parent: table | {field: table[field] * factor}}
        return {key: table[field] * factor}
    return overrides


def scale_spread(key: str) -> Callable[[dict, float], dict]:
    """A lognormal's σ × factor, its median kept: p = median × (p/median)^factor."""
    def overrides(config: dict, factor: float) -> dict:
        dist = copy.deepcopy(_get(config, key))
        upper = "p99" if "p99" in dist else "p95"
        dist[upper] = dist["median"] * (dist[upper] / dist["median"]) ** factor
        return {key: dist}
    return overrides


def scale_lifetime_floor(config: dict, factor: float) -> dict:
    """The Azure 2017 lifetime CDF's first point (the 300 s floor) × factor."""
    dist = copy.deepcopy(_get(config, "workload.synthetic.lifetime_s"))
    dist["cdf"][0][0] *= factor
    return {"workload.synthetic.lifetime_s": dist}


def scale_count(key: str) -> Callable[[dict, float], dict]:
    """A whole number × factor, rounded, at least 1."""
    def overrides(config: dict, factor: float) -> dict:
        return {key: max(1, round(_get(config, key) * factor))}
    return overrides


def with_container_preset(preset: str, key: str) -> Callable[[dict, float], dict]:
    """The container column run as ``preset`` instead (containers in node VMs, sandboxed
    pods), with the preset's own assumption ``key`` × factor (a distribution: its spread,
    as :func:`scale_spread`): the container column of the headline is then the preset's,
    compared with the preset at ×1."""
    def overrides(config: dict, factor: float) -> dict:
        from simdc.model.platform import PRESETS, ContainerPlatform

        field = ContainerPlatform.model_fields[key]
        value = PRESETS[preset][1].get(key, field.default_factory() if field.default_factory else field.default)
        if isinstance(value, dict) or hasattr(value, "median"):
            dist = dict(value) if isinstance(value, dict) else value.model_dump(exclude_none=True)
            upper = "p99" if "p99" in dist else "p95"
            scaled = dist | {upper: dist["median"] * (dist[upper] / dist["median"]) ** factor}
        else:
            scaled = max(1, round(value * factor)) if isinstance(value, int) else value * factor
        return {"platform.container.preset": preset, f"platform.container.{key}": scaled}
    return overrides


def with_container_in_vm(key: str) -> Callable[[dict, float], dict]:
    """:func:`with_container_preset` of container_in_vm."""
    return with_container_preset("container_in_vm", key)


# Presets whose rows compare the container column with that preset at ×1.
PRESET_ROWS = ("platform.container_in_vm.", "platform.sandboxed_container.")


def limit_at(key: str, rate: float) -> Callable[[dict, float], dict]:
    """A rate whose default is no limit (None), set to ``rate`` × factor: how much the
    headline moves were the limit the nearest published one, halved or raised by half."""
    def overrides(config: dict, factor: float) -> dict:
        return {key: rate * factor}
    return overrides


def scale_constant(name: str) -> Callable[[dict, float], dict]:
    """A module constant of the code (``simdc.workload.usage.MEMORY_PEAK_MEDIAN``) × factor."""
    def constants(config: dict, factor: float) -> dict:
        return {name: _constant(name) * factor}
    return constants


def _constant(name: str) -> Any:
    module, attribute = name.rsplit(".", 1)
    return getattr(importlib.import_module(module), attribute)


# "5 microVMs per host core per second" (firecracker docs/design.md): the microvm preset's.
FIRECRACKER_CREATIONS_PER_CORE_PER_S = 5.0

ASSUMPTIONS = (
    Assumption("container start spread", "platform.container.start_s",
               "p99/p50 of 50 parallel Firecracker boots (NSDI 2020) taken for runc",
               scale_spread("platform.container.start_s")),
    Assumption("VM boot spread", "platform.vm.boot_s", "p95 60 s for a median of 30 s: \"tens of seconds\"",
               scale_spread("platform.vm.boot_s")),
    Assumption("memory usage spread between instances", "workload.synthetic.memory_usage.concentration",
               "Beta concentration 6, as for CPU", scale_value("workload.synthetic.memory_usage.concentration")),
    Assumption("memory used, mean share of size", "workload.synthetic.memory_usage.mean",
               "30 %: the middle of Sharma et al.'s 10-50 %", scale_value("workload.synthetic.memory_usage.mean")),
    Assumption("arrival diurnal amplitude", "workload.synthetic.diurnal_amplitude",
               "± 50 % over a day, set by host64g", scale_value("workload.synthetic.diurnal_amplitude")),
    Assumption("jobs the synthetic requests belong to", "workload.synthetic.jobs",
               "50 jobs in host64g: the recommender's history per job (no source for the count)",
               scale_count("workload.synthetic.jobs")),
    Assumption("job popularity", "workload.synthetic.job_zipf_s",
               "Zipf exponent 1 over the jobs: no source for the synthetic mix",
               scale_value("workload.synthetic.job_zipf_s")),
    Assumption("lifetimes below 30 min", "workload.synthetic.lifetime_s",
               "log-linear from the trace's 300 s resolution to the chart's 39 % at 30 min", scale_lifetime_floor),
    Assumption("node VMs per host (container_in_vm)", "platform.container_in_vm.nodes_per_host",
               "4 nodes per host; density against containers in 4 nodes", with_container_in_vm("nodes_per_host")),
    Assumption("node guest and agent (container_in_vm)", "platform.container_in_vm.node_reserved_gib",
               "0.5 GiB: 157-235 MiB guest (NSDI 2020) plus kubelet", with_container_in_vm("node_reserved_gib")),
    Assumption("microVM serial boot spread", "platform.microvm.boot_s",
               "p99/p50 of 50 parallel Firecracker boots (NSDI 2020) taken for one boot alone (p99 0.192 s "
               "for the serial p50 0.161 s); a burst of 50 on 96 logical CPUs: p99 0.276 s, 0.263 s with no "
               "spread, p50 0.212 s either way", None),
    Assumption("microVM interference sensitivities", "platform.microvm.*_sensitivity",
               "half a VM's: no published figure", None),
    Assumption("image handling", "host.net_gbps, image_cache_gib, disk_write_mib_s; registry.*",
               "10 GbE, 100 GiB cache, 500 MiB/s SSD, a 1 Gbit/s registry 50 ms away", None),
    Assumption("microVM creation rate per logical CPU", "platform.microvm.creations_per_core_per_s",
               "Firecracker's \"5 microVMs per host core per second (e.g. 180 per second on a host with 36 physical "
               "cores)\" (docs/design.md) applied per logical CPU (host.cpu_cores; simdc has no threads-per-core "
               "key): double the source's rate on a host with two threads per core; on m5d.metal (48 cores, 96 "
               "logical CPUs) a burst of 50 spreads over 102 ms, over 204 ms at the source's rate; host64g runs no "
               "microVMs", None),
    Assumption("image layers fetched one after another", "simdc.engine.simulation.Simulation._pull_next",
               "containerd downloads up to 3 layers of an image at once (CRI max_concurrent_downloads = 3, "
               "containerd docs/cri/config.md); simdc fetches and unpacks each layer before the next, so a cold pull"
               " pays one round trip per missing layer and no unpack overlaps a download: too long by at most "
               "(layers - 1) x registry.rtt_s plus the unpack of all but the last layer (mysql:8 alone on "
               "presets.toml's host: 0.05 + 0.15 s of its 3.77 s pull and unpack); the bytes take as long "
               "either way on fairly shared links; host64g lists no images", None),
    Assumption("no compression", "images[].layers[].size_mib",
               "registries send gzip-compressed layer blobs, unpacked to more bytes at a CPU cost; simdc downloads "
               "and writes size_mib each, with no decompression time: give the compressed size and the unpack writes"
               " (and the cache holds) too few bytes by the layer's compression ratio, the uncompressed and the "
               "download is too long by it; host64g lists no images", None),
    Assumption("image garbage collection", "host.image_cache_gib",
               "the kubelet deletes unused images, oldest use first, when its image disk passes "
               "imageGCHighThresholdPercent 85 %, down to imageGCLowThresholdPercent 80 % (KubeletConfiguration "
               "defaults), checked every 5 min (pkg/kubelet/kubelet.go, ImageGCPeriod); simdc evicts unpinned "
               "layers, least recently used first, just enough, at the moment a new layer would overflow "
               "image_cache_gib (read it as 85 % of the image disk): it frees less at a time and never ahead of "
               "need, so idle layers stay longer; presets.toml evicts nothing at 0.5 or 5 GiB; host64g lists no "
               "images", None),
    Assumption("host peak power", "host.power_max_w", "400 W: energy only, not density or start", None),
    Assumption("trace readers' unit guesses", "workload.azure_memory_used_fraction, reference_*",
               "Azure memory used 30 %, Google/Alibaba reference machines", None),
    Assumption("consolidation's wait per instance", "consolidation.min_stay_s",
               "600 s: Cluster Autoscaler's 10-minute node waits taken per instance (host64g does not "
               "consolidate; its effect on moves and energy: \"Moving instances\")", None),
    Assumption("VM creation rate", "platform.vm.creations_per_core_per_s",
               "none: no limit, no source gives a KVM/QEMU host's rate; varied as a limit at Firecracker's "
               "5 per core per s (firecracker docs/design.md) × 0.5 and × 1.5",
               limit_at("platform.vm.creations_per_core_per_s", FIRECRACKER_CREATIONS_PER_CORE_PER_S)),
    Assumption("container creation rate", "platform.container.creations_per_core_per_s",
               "none: no limit, no source gives runc's or Kata's rate; varied as a limit at Firecracker's "
               "5 per core per s × 0.5 and × 1.5",
               limit_at("platform.container.creations_per_core_per_s", FIRECRACKER_CREATIONS_PER_CORE_PER_S)),
    Assumption("sandboxed pod start spread (sandboxed_container)", "platform.sandboxed_container.start_s",
               "the containers' p99/p50 (Firecracker's 50 parallel boots) taken for Kata",
               with_container_preset("sandboxed_container", "start_s")),
    Assumption("sandboxed pod interference sensitivities", "platform.sandboxed_container.*_sensitivity",
               "the VM's (its own guest kernel): no published figure for Kata", None),
    Assumption("memory peaks: share of windows", "simdc.workload.usage.MEMORY_PEAK_SHARE",
               "1/2048 (≈ 4 a month), fitted with the two below to Bitbrains' max ÷ mean 6.1 (quartiles "
               "3.1-9.2); a share is a whole number of 2048ths: ×0.5 rounds to none, ×1.5 to 2/2048",
               scale_constant("simdc.workload.usage.MEMORY_PEAK_SHARE"), kind="constant"),
    Assumption("memory peaks: median height", "simdc.workload.usage.MEMORY_PEAK_MEDIAN",
               "a peak is 1 + 4 (median) times the body: fitted to Bitbrains' max ÷ mean",
               scale_constant("simdc.workload.usage.MEMORY_PEAK_MEDIAN"), kind="constant"),
    Assumption("memory peaks: spread of heights", "simdc.workload.usage.MEMORY_PEAK_SPREAD",
               "log-σ 0.6 of the heights over instances: fitted to Bitbrains' quartiles",
               scale_constant("simdc.workload.usage.MEMORY_PEAK_SPREAD"), kind="constant"),
    Assumption("pages a guest dirties", "migration.dirty_mib_s",
               "16 MiB/s: the writable working set depends on the workload (Clark et al. 2005, §4); host64g "
               "moves nothing (its effect on moves: \"Moving instances\")", None),
    Assumption("a drained host's time down", "maintenance.maintenance_s",
               "1800 s: no source; host64g drains nothing", None),
    Assumption("host repair time", "faults.host_repair_s", "3600 s: no source; host64g has no failures", None),
    Assumption("container host reboot after a kernel failure", "faults.kernel_repair_s",
               "60 s: no source; host64g has no failures", None),
    Assumption("page sharing under memory pressure (VMs)", "platform.vm.ksm_savings",
               "5 % of guest memory merged: a diverse mix (VMware's vSphere docs give over 30 % for near-identical "
               "VMs); it sets the swap calibration (swap_slowdown 0.314 reproduces Sharma et al.'s 10 % with it, "
               "VMs' time over containers' with the CPU overhead: 2.5 % gives 10.7 %, 7.5 % 9.3 %); host64g does not "
               "overcommit memory", None),
    Assumption("a pending replica's retry", "simdc.engine.services.RETRY_S",
               "10 s between tries of a replica no host would take: no source; host64g has no services", None,
               kind="constant"),
    Assumption("a drain's retry", "maintenance.retry_s",
               "60 s before trying again an instance no host took in a drain: no source; host64g drains nothing",
               None),
    Assumption("a registry mirror's distance", "registry.mirror.rtt_s",
               "1 ms round trip per layer request: a mirror in the hosts' data centre, no source; host64g has "
               "no images", None),
    Assumption("spread of interference pressure over instances", "simdc.workload.synthetic.INTENSITY_CONCENTRATION",
               "Beta concentration 2 of each instance's memory-bandwidth and I/O intensity (most light, a few "
               "heavy): no source; host64g's intensities are 0, so nothing is drawn", None, kind="constant"),
    Assumption("image popularity", "workload.synthetic.image_zipf_s",
               "Zipf exponent 1 over the images: no source for the synthetic mix; host64g lists no images", None),
    Assumption("time of day of the arrivals' peak", "workload.synthetic.diurnal_peak_s",
               "14:00 (an office-hours afternoon): no source; ×0.5 and ×1.5 put it at 07:00 and 21:00",
               scale_value("workload.synthetic.diurnal_peak_s")),
    Assumption("time of day of a service's demand peak", "services.demand.diurnal_peak_s",
               "14:00, as the arrivals': no source; host64g has no services", None),
    Assumption("catalogue size order: vCPUs first", "platform.vm.catalogue",
               "the smallest holding size is the fewest vCPUs, then the least memory (a vCPU costs more than a "
               "GiB); host64g's VMs are sized from the default catalogue, where no need has two holding sizes "
               "this order and least-memory-first would rank differently (tests/test_assumptions.py), so it "
               "decides nothing; only a catalogue given per study exercises it", None),
)


@contextlib.contextmanager
def constants_set(constants: dict):
    """The code's constants (``{module.NAME: value}``) set for the block, then put back."""
    before = {name: _constant(name) for name in constants}
    try:
        for name, value in constants.items():
            module, attribute = name.rsplit(".", 1)
            setattr(importlib.import_module(module), attribute, value)
        yield
    finally:
        for name, value in before.items():
            module, attribute = name.rsplit(".", 1)
            setattr(importlib.import_module(module), attribute, value)


def headline(config_path: Path, overrides: dict, seeds: list[int], constants: dict | None = None
             ) -> dict[str, list[float]]:
    """Per seed: container/VM mean instances, and start p95 of each (``constants``: the
    code's constants set for the runs, :func:`constants_set`)."""
    if constants:
        with constants_set(constants):
            return headline(config_path, overrides, seeds)
    out: dict[str, list[float]] = {"ratio": [], "vm_p95": [], "container_p95": []}
    for seed in seeds:
        config = simdc.load_config(config_path, overrides | {"simulation.seed": seed})
        summary = simdc.simulate(config).summary.set_index("platform")
        out["ratio"].append(summary.loc["container", "mean_instances"] / summary.loc["vm", "mean_instances"])
        out["vm_p95"].append(summary.loc["vm", "start_p95_s"])
        out["container_p95"].append(summary.loc["container", "start_p95_s"])
    return out


def _pct(values: list[float], base: list[float]) -> str:
    """Change of the mean, in % of the base mean, ± the standard error of the paired
    per-seed differences (the seeds are common: the error of the change, not of the level)."""
    value, reference = statistics.fmean(values), statistics.fmean(base)
    if math.isclose(value, reference, rel_tol=1e-12):
        return "0 %"
    diffs = [v - b for v, b in zip(values, base)]
    se = statistics.stdev(diffs) / math.sqrt(len(diffs)) / reference if len(diffs) > 1 else float("nan")
    return f"{100 * (value / reference - 1):+.1f} ± {100 * se:.1f} %"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "host64g.toml")
    parser.add_argument("--seeds", type=int, default=20, help="seeds 1..N, common to every variant")
    args = parser.parse_args(argv)
    seeds = list(range(1, args.seeds + 1))
    resolved = simdc.load_config(args.config).to_dict()
    began = time.perf_counter()
    base = headline(args.config, {}, seeds)
    mean = {k: statistics.fmean(v) for k, v in base.items()}
    spread = statistics.stdev(base["ratio"]) if len(seeds) > 1 else float("nan")
    print(f"{args.config.name}, seeds {seeds[0]}-{seeds[-1]}: containers/VMs mean instances {mean['ratio']:.3f} "
          f"(sd over seeds {spread:.3f}); start p95 VM {mean['vm_p95']:.2f} s, container "
          f"{mean['container_p95']:.3f} s", file=sys.stderr)
    print("| assumption | key | stands for | density, assumption ×0.5 | density, assumption ×1.5 "
          "| start p95, assumption ×0.5 | start p95, assumption ×1.5 |")
    print("|---|---|---|---|---|---|---|")
    for item in ASSUMPTIONS:
        if item.scaled is None:
            print(f"| {item.name} | `{item.key}` | {item.why} | not exercised | not exercised | – | – |")
            continue
        cells = {}
        reference, why = base, item.why
        if item.key.startswith(PRESET_ROWS):  # against the preset at ×1
            reference = headline(args.config, item.scaled(resolved, 1.0), seeds)
            why += f" (at ×1: {statistics.fmean(reference['ratio']):.2f})"
        for factor in (0.5, 1.5):
            if item.kind == "constant":
                got = headline(args.config, {}, seeds, constants=item.scaled(resolved, factor))
            else:
                got = headline(args.config, item.scaled(resolved, factor), seeds)
            ratio = f"{statistics.fmean(got['ratio']):.2f} ({_pct(got['ratio'], reference['ratio'])})"
            starts = (f"VM {_pct(got['vm_p95'], reference['vm_p95'])}, "
                      f"container {_pct(got['container_p95'], reference['container_p95'])}")
            cells[factor] = (ratio, starts)
        print(f"| {item.name} | `{item.key}` | {why} | {cells[0.5][0]} | {cells[1.5][0]} | "
              f"{cells[0.5][1]} | {cells[1.5][1]} |")
    print(f"({time.perf_counter() - began:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
