"""README, "Where start latency comes from": its figures and reasons about images, checked
against runs and against the sources they quote."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simdc
from simdc.config import validate
from simdc.workload import load_workload

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MIB = 2**20
REGISTRY_B_S = 1e9 / 8  # 1 Gbit/s


def _image_section() -> str:
    start = README.index("## Where start latency comes from")
    return " ".join(README[start:README.index("\n## ", start + 1)].split())  # one space between words


def test_the_cache_size_changes_nothing_because_no_layer_is_ever_added_to_evict_for():
    """The presets table's cache rows are equal. Not because the three images are always
    in use (README said so): mysql:8 has spells with no instance on the host. Because a
    layer is evicted only to make room for one being added, and after each image's first
    pull none is: layer_evictions is 0 in every run of the table. The spells are counted
    here from the workload and the run, and the README must quote them."""
    config_path = ROOT / "configs" / "presets.toml"
    platforms = 'simulation.platforms=["vm", "microvm", "container"]'
    p99 = {}
    for gbps in (0.1, 1, 10):
        for cache in (0.5, 5):
            config = simdc.load_config(config_path, [platforms, f"registry.bandwidth_gbps={gbps}",
                                                     f"host.image_cache_gib={cache}"])
            result = simdc.simulate(config)
            assert (result.hosts["layer_evictions"] == 0).all()
            p99[gbps, cache] = result.summary.set_index("platform")["start_p99_s"]
    for gbps in (0.1, 1, 10):
        pd.testing.assert_series_equal(p99[gbps, 0.5], p99[gbps, 5])
    # mysql:8's spells with no instance on the container host, after its first start, in
    # configs/presets.toml as it is
    config = simdc.load_config(config_path, ['simulation.platforms=["container"]'])
    result = simdc.simulate(config)
    workload = load_workload(config.workload, config.simulation.duration_s, config.simulation.seed).instances
    mysql = set(workload.loc[workload["image"] == "mysql:8", "id"])
    rows = result.instances[(result.instances["platform"] == "container") & result.instances["id"].isin(mysql)]
    begin = np.sort(rows["admit_s"].to_numpy())
    end = rows["end_s"].fillna(config.simulation.duration_s).to_numpy()[np.argsort(rows["admit_s"].to_numpy())]
    gaps, covered = [], begin[0]
    for a, b in zip(begin, end):
        if a > covered:
            gaps.append(a - covered)
        covered = max(covered, b)
    if covered < config.simulation.duration_s:
        gaps.append(config.simulation.duration_s - covered)
    section = _image_section()
    assert "images always in use" not in section
    assert f"no instance on the host {len(gaps)} times" in section
    assert f"({sum(gaps):,.0f} s of the 21,600 s" in section
    assert "`layer_evictions` is 0 in every run of the table" in section


def test_the_readme_quotes_firecrackers_rate_per_physical_core_and_says_simdc_applies_it_per_logical_cpu(tmp_path):
    """firecracker docs/design.md: "5 microVMs per host core per second (e.g. 180 per second
    on a host with 36 physical cores)". simdc's hosts count logical CPUs and the rate is
    applied per logical CPU: three microVMs at once on 4 logical CPUs begin their boots
    1 / (5 × 4) = 0.05 s apart. The README says so, not that the source gives it per
    logical CPU."""
    section = _image_section()
    assert '"5 microVMs per host core per second (e.g. 180 per second on a host with 36 physical cores)"' in section
    assert "applies the rate per logical CPU, an assumption that doubles the rate" in section
    trace = tmp_path / "w.csv"
    pd.DataFrame([{"id": k, "submit_s": 0.0, "duration_s": 10.0, "cpu_cores": 1, "memory_gib": 1}
                  for k in range(3)]).to_csv(trace, index=False)
    result = simdc.simulate(validate({
        "simulation": {"duration_s": 60, "platforms": ["microvm"]},
        "host": {"cpu_cores": 4, "memory_gib": 16},
        "platform": {"microvm": {"boot_s": 1}},
        "workload": {"trace": str(trace)},
    }))
    assert sorted(result.instances["create_wait_s"]) == pytest.approx([0.0, 0.05, 0.1])


def test_the_serial_and_parallel_pull_figures_are_the_kubelet_rules_by_hand():
    """README's two pods (mysql:8, node:20, asked for at t = 10 s on one empty host, 1
    Gbit/s registry 50 ms away, 500 MiB/s disk, start 0.5 s). Serial (kubelet's default):
    mysql:8 pulls alone, base 75 then 278 MiB, each a round trip, its bytes, its unpack;
    node:20 waits, then pulls buildpack 300 and node 254 MiB (the base is there)."""
    def layer(mib):
        return 0.05 + mib * MIB / REGISTRY_B_S + mib / 500

    mysql_done = 10 + layer(75) + layer(278)
    node_done = mysql_done + layer(300) + layer(254)
    section = _image_section()
    assert f"ready at {mysql_done + 0.5:.3f} s and {node_done + 0.5:.3f} s serially" in section


def test_the_image_departures_are_in_the_assumptions_table():
    """Layers fetched one at a time (containerd: max_concurrent_downloads = 3), no
    compression, and LRU eviction for the kubelet's image GC (85 % / 80 %) are stated,
    in benchmarks/assumptions.py and in the README table it prints."""
    spec = importlib.util.spec_from_file_location("simdc_benchmarks_assumptions_images",
                                                  ROOT / "benchmarks" / "assumptions.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    by_name = {item.name: item for item in module.ASSUMPTIONS}
    for name, cited in [("image layers fetched one after another", "max_concurrent_downloads = 3"),
                        ("no compression", "gzip"),
                        ("image garbage collection", "imageGCHighThresholdPercent 85 %"),
                        ("microVM creation rate per logical CPU", "36 physical cores")]:
        item = by_name[name]
        assert cited in item.why
        assert f"| {item.name} | `{item.key}` | {item.why} | not exercised |" in README
