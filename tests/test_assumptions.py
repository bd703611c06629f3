"""benchmarks/assumptions.py (issue #17): every assumption it varies is still a key of
the config it runs, and ×0.5 / ×1.5 change exactly that value by that factor. Checked
on the resolved config only, without simulating, so it stays fast."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

import simdc

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("simdc_benchmarks_assumptions", ROOT / "benchmarks" / "assumptions.py")
assumptions = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = assumptions  # dataclasses look their module up there
_spec.loader.exec_module(assumptions)

HOST64G = ROOT / "configs" / "host64g.toml"
EXERCISED = [item for item in assumptions.ASSUMPTIONS if item.scaled is not None]


@pytest.mark.parametrize("factor", [0.5, 1.5])
@pytest.mark.parametrize("item", EXERCISED, ids=[item.name for item in EXERCISED])
def test_each_assumption_scales_one_valid_key(item, factor):
    """The overrides validate, and the value they change moved by the factor (a spread:
    log(upper/median) × factor; the lifetime floor: its first point × factor)."""
    resolved = simdc.load_config(HOST64G).to_dict()
    if item.kind == "constant":  # the code's constant × factor, put back after the runs
        before = assumptions._constant(item.key)
        constants = item.scaled(resolved, factor)
        assert constants == {item.key: pytest.approx(before * factor)}
        with assumptions.constants_set(constants):
            assert assumptions._constant(item.key) == pytest.approx(before * factor)
        assert assumptions._constant(item.key) == before
        return
    changed = simdc.load_config(HOST64G, item.scaled(resolved, factor)).to_dict()
    if item.key.startswith(assumptions.PRESET_ROWS):
        field = item.key.rsplit(".", 1)[1]
        base = simdc.load_config(HOST64G, item.scaled(resolved, 1.0)).to_dict()["platform"]["container"][field]
        got = changed["platform"]["container"][field]
        if isinstance(base, dict):
            upper = "p99" if "p99" in base else "p95"
            assert got["median"] == base["median"]
            assert got[upper] / got["median"] == pytest.approx((base[upper] / base["median"]) ** factor)
        else:
            assert got == (max(1, round(base * factor)) if isinstance(base, int) else pytest.approx(base * factor))
        return
    *path, last = item.key.split(".")
    if last not in assumptions._get(resolved, ".".join(path)):  # None (no limit) is left out of the resolved
        # config: varied as a limit at the published rate × factor, nothing else moved
        assert assumptions._get(changed, item.key) == pytest.approx(
            assumptions.FIRECRACKER_CREATIONS_PER_CORE_PER_S * factor)
        del assumptions._get(changed, ".".join(path))[last]
        assert changed == resolved
        return
    before, after = assumptions._get(resolved, item.key), assumptions._get(changed, item.key)
    if isinstance(before, dict) and "cdf" in before:
        assert after["cdf"][0][0] == pytest.approx(before["cdf"][0][0] * factor)
        assert after["cdf"][1:] == before["cdf"][1:]
    elif isinstance(before, dict):
        upper = "p99" if "p99" in before else "p95"
        assert after["median"] == before["median"]
        ratio = after[upper] / after["median"]
        assert ratio == pytest.approx((before[upper] / before["median"]) ** factor)
    else:
        assert after == pytest.approx(before * factor)
    # nothing else moved: putting the value back gives the resolved config
    *path, last = item.key.split(".")
    node = changed
    for part in path:
        node = node[part]
    node[last] = before
    assert changed == resolved


# Defaults the code calls assumptions, by the key they are set with (or the module
# constant): each beside a comment that says "assumption" in simdc/.
CODE_ASSUMPTIONS = (
    "platform.vm.creations_per_core_per_s", "platform.container.creations_per_core_per_s",
    "platform.container.start_s", "platform.microvm.*_sensitivity",
    "platform.sandboxed_container.start_s", "platform.sandboxed_container.*_sensitivity",
    "platform.container_in_vm.nodes_per_host", "migration.dirty_mib_s", "maintenance.maintenance_s",
    "faults.host_repair_s", "faults.kernel_repair_s", "consolidation.min_stay_s", "host.power_max_w",
    "workload.synthetic.job_zipf_s", "simdc.workload.usage.MEMORY_PEAK_SHARE",
    "simdc.workload.usage.MEMORY_PEAK_MEDIAN", "simdc.workload.usage.MEMORY_PEAK_SPREAD",
    "platform.vm.ksm_savings", "simdc.engine.services.RETRY_S",
    "maintenance.retry_s", "registry.mirror.rtt_s", "simdc.workload.synthetic.INTENSITY_CONCENTRATION",
    "workload.synthetic.image_zipf_s", "workload.synthetic.diurnal_peak_s", "services.demand.diurnal_peak_s",
    "platform.vm.catalogue",
)


@pytest.mark.parametrize("key", CODE_ASSUMPTIONS)
def test_every_default_the_code_calls_an_assumption_is_listed(key):
    """benchmarks/assumptions.py says it lists every default the code calls an assumption
    (a calibration trial found creation rates, the dirty rate, maintenance and repair
    times, the sandboxed pod's spread and sensitivities and memory's peaks missing)."""
    listed = {part.strip().strip("`") for item in assumptions.ASSUMPTIONS for part in item.key.split(",")}
    assert key in listed


@pytest.mark.parametrize("field, section", [("host_repair_s", "faults"), ("kernel_repair_s", "faults"),
                                            ("creations_per_core_per_s", "platform")])
def test_the_code_marks_those_defaults_as_assumptions_beside_them(field, section):
    """Each of those defaults has "assumption" in the comment above it in simdc/model/."""
    lines = (ROOT / "simdc" / "model" / f"{section}.py").read_text().splitlines()
    at = [k for k, line in enumerate(lines) if line.strip().startswith(f"{field}:")]
    assert at
    for k in at:
        above = []
        j = k - 1
        while j >= 0 and lines[j].strip().startswith("#"):
            above.append(lines[j])
            j -= 1
        assert "assumption" in " ".join(above), (field, k)


@pytest.mark.parametrize("path, name", [
    ("simdc/model/migration.py", "retry_s"), ("simdc/model/image.py", "rtt_s"),
    ("simdc/model/workload.py", "image_zipf_s"), ("simdc/model/workload.py", "DIURNAL_PEAK_S"),
    ("simdc/model/service.py", "diurnal_peak_s"), ("simdc/workload/synthetic.py", "INTENSITY_CONCENTRATION"),
])
def test_defaults_listed_later_say_assumption_beside_them(path, name):
    """The defaults a calibration trial found with no source and no row (a drain's retry,
    a mirror's distance, image popularity, the hour of the diurnal peak, the intensities'
    Beta concentration): each definition has a comment saying "assumption" above it."""
    lines = (ROOT / path).read_text().splitlines()
    at = [k for k, line in enumerate(lines) if line.strip().startswith((f"{name}:", f"{name} ="))]
    assert at
    for k in at:
        above, j = [], k - 1
        while j >= 0 and lines[j].strip().startswith("#"):
            above.append(lines[j])
            j -= 1
        assert "assumption" in " ".join(above), (path, name, k)


def test_the_default_catalogue_never_lets_the_vcpus_first_order_decide():
    """The catalogue row says "not exercised": with the default catalogue (Azure Av2 and
    Dv5), for every need the fewest-vCPUs-then-least-memory size is also the
    least-memory-then-fewest-vCPUs one, so host64g's sizes do not depend on the order.
    Checked on the catalogue's own figures, at each size's vCPUs and memory and just
    above (the needs where the set of holding sizes changes)."""
    from simdc.model.platform import AZURE_GENERAL_PURPOSE

    sizes = [(size.vcpus, size.memory_gib) for size in AZURE_GENERAL_PURPOSE]
    cpus = [0.5] + [c + d for c in {c for c, _ in sizes} for d in (0.0, 0.01)]
    mems = [0.1] + [m + d for m in {m for _, m in sizes} for d in (0.0, 0.01)]
    for cpu in cpus:
        for mem in mems:
            holding = [size for size in sizes if size[0] >= cpu and size[1] >= mem]
            if holding:
                assert min(holding) == min(holding, key=lambda s: (s[1], s[0])), (cpu, mem)
    assert simdc.load_config(HOST64G).platform["vm"].sizing == "auto"  # the generator's needs: catalogue
