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
    changed = simdc.load_config(HOST64G, item.scaled(resolved, factor)).to_dict()
    if item.key.startswith("platform.container_in_vm."):
        field = item.key.rsplit(".", 1)[1]
        base = simdc.load_config(HOST64G, item.scaled(resolved, 1.0)).to_dict()["platform"]["container"][field]
        got = changed["platform"]["container"][field]
        assert got == (max(1, round(base * factor)) if isinstance(base, int) else pytest.approx(base * factor))
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
