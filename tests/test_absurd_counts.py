"""Absurd counts on the command line (``trace inspect --bins``, ``sweep``'s and ``plan``'s
``--replications``, a sweep's grid) are refused at once, in one line with exit code 2, and
say why; a large count within the bounds is not refused.

Before, ``--bins 1000000000`` allocated the bin edges (16 GB, killed by the system),
``sweep --replications 1000000000`` built its task list for minutes, and a 1,000 × 1,000
grid validated its points for as long, each saying nothing.
"""

from __future__ import annotations

import math
import time

import pytest
from typer.testing import CliRunner

from simdc import sweeping
from simdc.budget import TooBigError, check_sweep
from simdc.cli import app
from simdc.config import load_config
from simdc.errors import ConfigError
from simdc.workload.inspect import inspect_trace
from tests.test_out_safety import one_error_line

FAST_S = 5.0  # "at once": the refusals below take about a second, the faults took minutes
GIB = 2**30


def invoke(*args, env=None):
    started = time.monotonic()
    result = CliRunner().invoke(app, [str(a) for a in args], env=env)
    return result, time.monotonic() - started


@pytest.fixture
def trace(write_trace):
    return write_trace([{"id": k, "submit_s": 60 * k, "duration_s": 60, "cpu_cores": 1, "memory_gib": 1}
                        for k in range(10)])


def test_a_billion_bins_are_refused_before_the_trace_is_read(trace):
    result, took = invoke("trace", "inspect", trace, "--bins", 10**9)
    one_error_line(result, "--bins", "<= 10,000", "1,000,000,000")
    assert took < FAST_S


def test_bins_up_to_the_bound_are_counted_into_that_many_rows(trace):
    """10,000 bins over the 540 s from the first arrival after 0 to the last: 9
    arrivals after time 0, each in one bin."""
    report = inspect_trace([trace], bins=10_000)
    assert len(report.arrivals) == 10_000
    assert int(report.arrivals["arrivals"].sum()) == 9


@pytest.mark.parametrize("bins", [0, 10_001, True, 2.5])
def test_bins_out_of_range_or_not_an_integer_are_refused_in_the_api(trace, bins):
    with pytest.raises(ConfigError, match="^bins: "):
        inspect_trace([trace], bins=bins)


@pytest.mark.parametrize("command", ["sweep", "plan"])
def test_a_billion_replications_are_refused_at_once(config_path, tmp_path, command):
    args = (["sweep", config_path, "--grid", "host.memory_gib=32,64", "--out", tmp_path / "out"]
            if command == "sweep" else ["plan", config_path, "--slo", "rejection_rate<=0.01"])
    result, took = invoke(*args, "--replications", 10**9)
    one_error_line(result, "--replications", "<= 10,000", "1,000,000,000", "95 % CI")
    assert took < FAST_S
    assert not (tmp_path / "out").exists()


def test_a_million_point_grid_is_refused_with_its_count_and_estimate(config_path, tmp_path):
    """1,000 × 1,000 grid values: a million points, each point's validated config (~32 KiB
    measured) alone more than the 8 GB allowed; refused before any point is built."""
    memory = ",".join(str(32 + k) for k in range(1000))
    cores = ",".join(str(1 + k) for k in range(1000))
    result, took = invoke("sweep", config_path, "--grid", f"host.memory_gib={memory}", "--grid",
                          f"host.cpu_cores={cores}", "--out", tmp_path / "out",
                          env={"SIMDC_AVAILABLE_BYTES": str(8 * 10**9)})
    one_error_line(result, "1,000,000 grid points", "1 replication", "1,000,000 runs", "GiB",
                   "SIMDC_AVAILABLE_BYTES allows 7.5 GiB", "fewer --grid values or --replications",
                   "--no-memory-check")
    assert took < FAST_S
    assert not (tmp_path / "out").exists()


def test_the_sweep_check_counts_points_times_replications():
    """What fits: the points' configs and the runs' summaries (per platform) against the
    allowance; the runs that would fit are said."""
    per_point, per_run_platform = 48 * 1024, 32 * 1024
    needed = 100 * per_point + 100 * 10_000 * 2 * per_run_platform  # 61 GiB
    assert check_sweep(100, 10_000, 2, available=needed) == needed  # exactly fits
    with pytest.raises(TooBigError) as caught:
        check_sweep(100, 10_000, 2, available=needed - 1)
    (line,) = caught.value.problems
    fit = (needed - 1 - 100 * per_point) // (2 * per_run_platform)
    assert "100 grid points × 10,000 replications = 1,000,000 runs" in line
    assert f"about {fit:,} runs fit" in line and "check_memory=False" in line


def test_large_legal_sweeps_are_not_refused(monkeypatch, config_path):
    """10,000 replications of two points (the bound) and a grid of 10,000 points are
    within 8 GB: the sweep starts (the runs replaced by a stub that stops it)."""
    monkeypatch.setenv("SIMDC_AVAILABLE_BYTES", str(8 * 10**9))
    assert check_sweep(2, 10_000, 2) < 8 * 10**9
    assert check_sweep(10_000, 1, 2) < 8 * 10**9

    class Started(Exception):
        pass

    def points(config, grid):
        raise Started(math.prod(map(len, grid.values())))

    monkeypatch.setattr(sweeping, "points", points)
    config = load_config(config_path)
    with pytest.raises(Started):
        sweeping.sweep(config, {"host.memory_gib": [32, 64]}, replications=10_000, workers=1)
    with pytest.raises(Started):
        sweeping.sweep(config, {"host.memory_gib": list(range(1, 101)), "host.cpu_cores": list(range(1, 101))},
                       workers=1)
