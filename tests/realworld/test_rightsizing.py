"""Autopilot's check (issue #17; CALIBRATION.md "Rightsizing"): on a trace with
per-instance usage, the VPA recommender leaves less slack than declared requests, and
OOM-kills no more instances than requests do, beyond the recommender's documented risk.

Autopilot (Rzadca et al., EuroSys 2020): slack (limit − usage) / limit of 46 % under
manual limits, 23 % autoscaled, OOM-hit jobs cut 10×. Here: the Bitbrains Rnd sample
cut into day-long instances of one job per VM (benchmarks/rightsizing.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from simdc.engine.recommender import OOM_RISK

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "rightsizing.py"


@pytest.fixture(scope="module")
def figures():
    spec = importlib.util.spec_from_file_location("simdc_benchmarks_rightsizing", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not (module.traces() / "bitbrains_rnd" / "2013-7").is_dir():
        pytest.skip("the shared Bitbrains sample is not there")
    table = module.rightsizing(days=8, host_gib=32.0, cores=16.0, modes=("requests", "recommender"))
    return table.set_index("admission")


def test_the_recommender_leaves_less_slack_than_requests(figures):
    requests, recommender = figures.loc["requests"], figures.loc["recommender"]
    assert recommender["memory slack"] < requests["memory slack"]
    assert recommender["CPU slack"] < requests["CPU slack"]
    assert recommender["placed"] >= requests["placed"]


def test_the_recommender_oom_kills_no_more_than_its_documented_risk(figures):
    requests, recommender = figures.loc["requests"], figures.loc["recommender"]
    allowed = requests["instances OOM-killed"] + OOM_RISK * recommender["placed"]
    assert recommender["instances OOM-killed"] <= allowed
