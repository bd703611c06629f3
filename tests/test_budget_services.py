"""The memory budget counts services' replica rows (simdc/budget.py): the slots the engine
preallocates per service and version, computed here from the rule stated in
simdc.engine.services.pool_size, so an absurd replica count is refused before the run."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from simdc import budget
from simdc.budget import BYTES_PER_INSTANCE_PLATFORM, TooBigError
from simdc.cli import app
from simdc.config import validate
from simdc.experiment import simulate

DURATION_S = 3600.0


def config(services, platforms=("vm", "container"), **extra):
    return validate({"simulation": {"duration_s": DURATION_S, "platforms": list(platforms)},
                     "host": {"cpu_cores": 64, "memory_gib": 256},
                     "workload": {"synthetic": {"arrival_rate_per_s": 1e-9}},
                     "services": services, **extra})


def service(k, replicas, releases, max_replicas=None):
    spec = {"name": f"s{k}", "replicas": replicas, "cpu_cores": 1, "memory_gib": 1,
            "releases": [{"at_s": 60.0 * (r + 1)} for r in range(releases)]}
    if max_replicas is not None:
        spec["autoscale"] = {"max_replicas": max_replicas, "target_utilisation": 0.5}
    return spec


def slots_by_hand(replicas, releases, max_replicas):
    """Per version: 2 r + 8 without an autoscaler; with one, M (2 + windows) + 8 up to
    50,000 (never below 2 M + 8), a window being the 300 s scale-down stabilisation
    (the default, above the 15 s sync and 60 s), so 12 windows in an hour."""
    if max_replicas is None:
        per_version = 2 * replicas + 8
    else:
        per_version = max(min(max_replicas * (2 + math.ceil(DURATION_S / 300.0)) + 8, 50_000), 2 * max_replicas + 8)
    return per_version * (1 + releases)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 3), st.none() | st.integers(1, 10_000)),
                min_size=1, max_size=4), st.integers(1, 2))
def test_replica_rows_are_every_service_slot_per_version_on_every_platform(specs, platforms):
    cfg = config([service(k, r, n, m if m is None or m >= max(r, 1) else None) for k, (r, n, m) in enumerate(specs)],
                 platforms=("vm", "container")[:platforms])
    expected = sum(slots_by_hand(r, n, m if m is None or m >= max(r, 1) else None) for r, n, m in specs)
    bare = budget.estimate(config([], platforms=("vm", "container")[:platforms]))
    found = budget.estimate(cfg)
    assert found.replica_rows == expected
    assert found.bytes - bare.bytes == expected * platforms * BYTES_PER_INSTANCE_PLATFORM


def test_an_absurd_replica_count_is_refused_before_the_run_in_one_line(monkeypatch, tmp_path):
    """20 services of 10,000 replicas with 5 releases: 20 × 6 × 20,008 slots, 2.4 M rows
    per platform: at BYTES_PER_INSTANCE_PLATFORM each for two platforms,
    about 4 GiB with the base; refused on a machine with 2 GiB free."""
    cfg = config([service(k, 10_000, 5) for k in range(20)])
    rows = 20 * 6 * 20_008
    with pytest.raises(TooBigError, match=re.escape(f"{rows:,} services' replica rows × 2); the machine has 2.0 GiB "
                                                    "available; lower the services' replicas")):
        budget.check(cfg, available=2 * 2**30)
    monkeypatch.setattr(budget, "available_bytes", lambda: 2 * 2**30)
    path = tmp_path / "c.toml"
    path.write_text(cfg.to_toml())
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    needed = (budget.BASE_BYTES + rows * 2 * BYTES_PER_INSTANCE_PLATFORM) / 2**30
    assert len(lines) == 1 and lines[0].startswith(f"error: this run needs about {needed:.1f} GiB"), lines
    assert not (tmp_path / "out").exists()


def test_services_from_a_trace_are_counted_once_it_is_read(monkeypatch, tmp_path):
    """A job with 3 instances alive at once as a service: 2 × 3 + 8 = 14 slots per platform
    once the trace is read (the job's 3 rows leave the workload, 1 other stays); refused
    with one byte less than that estimate, run with it."""
    trace = tmp_path / "t.csv"
    trace.write_text("id,submit_s,duration_s,cpu_cores,memory_gib,job\n"
                     "1,0,600,1,2,web\n2,10,600,1,2,web\n3,20,600,1,2,web\n4,0,60,1,2,batch\n")
    cfg = validate({"simulation": {"duration_s": DURATION_S, "platforms": ["container"]},
                    "host": {"cpu_cores": 64, "memory_gib": 256},
                    "workload": {"trace": str(trace), "format": "simdc"},
                    "services": [{"job": "*"}]})
    needed = budget.estimate(cfg, 1).bytes + 14 * BYTES_PER_INSTANCE_PLATFORM
    monkeypatch.setattr(budget, "available_bytes", lambda: int(needed) - 1)
    with pytest.raises(TooBigError, match=re.escape("14 services' replica rows × 1)")):
        simulate(cfg)
    monkeypatch.setattr(budget, "available_bytes", lambda: int(needed))
    assert (simulate(cfg).instances["service"] == "web").sum() == 3
