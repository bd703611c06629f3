"""Pinned results: small scenarios whose summaries must not move when the engine is made
faster (issue 8: "results are identical before and after each optimisation").

The numbers in tests/golden/ were produced by the model itself, so this is a regression
pin, not an oracle: the oracle tests hold the model to theory. When the model changes on
purpose, regenerate them with tests/golden/regenerate.py and say so in the commit.
"""

from pathlib import Path

import pandas as pd
import pytest

import simdc

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"

# config, overrides: contention (CPU sharing, OOM kills, batch), images and presets,
# isolation (interference, host and kernel failures, a fleet).
SCENARIOS = {
    "contention": ("contention.toml", {"simulation.duration_s": 21600}),
    "presets": ("presets.toml", {"simulation.duration_s": 7200}),
    "isolation": ("isolation.toml", {"simulation.duration_s": 21600}),
}


def summary(name: str) -> pd.DataFrame:
    config, overrides = SCENARIOS[name]
    return simdc.simulate(simdc.load_config(ROOT / "configs" / config, overrides)).summary


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_pinned_summary_is_unchanged(name):
    expected = pd.read_csv(GOLDEN / f"{name}.csv", dtype={"platform": str})
    got = summary(name)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False, rtol=1e-9, atol=1e-12)
