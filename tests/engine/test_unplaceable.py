"""Requests no host could ever hold are counted apart from rejections under load, and
warned about (../shared/cases/all_too_big)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import simdc
from simdc.config import validate
from simdc.engine.rules import fits_nowhere

OVERHEAD_GIB = 0.25


def fleet_run(tmp_path, groups, sizes, platforms=("vm", "container"), when_full="reject", admission="requests",
              duration_s=None, spill=False):
    trace = tmp_path / "t.csv"
    pd.DataFrame([{"id": f"r{k}", "submit_s": float(k), "duration_s": 5.0, "cpu_cores": c, "memory_gib": m}
                  for k, (c, m) in enumerate(sizes)]).to_csv(trace, index=False)
    return simdc.simulate(validate({
        "simulation": {"duration_s": duration_s or len(sizes) + 10.0, "seed": 1, "platforms": list(platforms)},
        "cluster": {"hosts": groups},
        "placement": {"when_full": when_full},
        "platform": {"vm": {"overhead_mib": OVERHEAD_GIB * 1024, "boot_s": 0, "sizing": "as_given"},
                     "container": {"overhead_mib": 0, "admission": admission}},
        "workload": {"trace": str(trace)},
    }), spill=spill)


# Two host groups of different shapes: the most cores are on one, the most memory on the other.
WIDE, DEEP = {"name": "many_cores", "cpu_cores": 32, "memory_gib": 8}, {"name": "much_memory", "cpu_cores": 4,
                                                                         "memory_gib": 64}


def test_a_request_needing_one_hosts_cores_and_anothers_memory_fits_nowhere():
    # host A: 16 cores, 8 GiB; host B: 4 cores, 64 GiB. 8 cores + 32 GiB fits neither.
    got = fits_nowhere(np.array([8.0, 8.0, 2.0]), np.array([32.0, 4.0, 32.0]),
                       np.array([16.0, 4.0]), np.array([8.0, 64.0]))
    assert got.tolist() == [True, False, False]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([1, 2, 4, 8, 16, 48]), st.sampled_from([1, 4, 16, 31.9, 64, 200])),
                min_size=1, max_size=12))
def test_unplaceable_counts_exactly_the_requests_larger_than_every_host(tmp_path_factory, sizes):
    groups = [{"name": "wide", "cpu_cores": 32, "memory_gib": 32, "count": 2},
              {"name": "deep", "cpu_cores": 8, "memory_gib": 128}]
    results = fleet_run(tmp_path_factory.mktemp("u"), groups, sizes)
    shapes = [(g["cpu_cores"], g["memory_gib"]) for g in groups]
    for platform, extra in (("vm", OVERHEAD_GIB), ("container", 0.0)):
        expected = sum(not any(c <= hc and m + extra <= hm for hc, hm in shapes) for c, m in sizes)
        row = results.summary.set_index("platform").loc[platform]
        assert row["unplaceable"] == expected
        assert row["rejected"] >= expected  # each one is rejected too
        lines = [w for w in results.manifest["warnings"] if w.startswith(f"{platform}:")]
        assert len(lines) == (1 if expected else 0)


def test_all_too_big_case_warns_on_the_command_line(tmp_path):
    from typer.testing import CliRunner

    from simdc.cli import app

    config = tmp_path / "big.toml"
    config.write_text('[simulation]\nduration_s = 3600\nseed = 1\n[host]\ncpu_cores = 32\nmemory_gib = 64\n'
                      '[workload.synthetic]\narrival_rate_per_s = 0.01\n'
                      'sizes = [{ cpu_cores = 64, memory_gib = 256, weight = 1 }]\n')
    result = CliRunner().invoke(app, ["run", str(config), "--no-write"])
    assert result.exit_code == 0
    assert "fit no host" in result.output and "warning:" in result.output


def test_a_container_is_judged_by_what_admission_booked_not_its_request(tmp_path):
    """Under ``oracle`` a container books a percentile of its own usage: one asking 4 GiB
    but using 20 on a 16 GiB host books 20 GiB (+ its shim) and fits nowhere, and the
    warning names that booking; the instances table carries each booking."""
    from simdc.experiment import unplaceable_warnings

    trace = tmp_path / "t.csv"
    pd.DataFrame([{"id": "hog", "submit_s": 0.0, "duration_s": 5.0, "cpu_cores": 1.0, "memory_gib": 4.0,
                   "cpu_used": 0.5, "memory_used_gib": 20.0},
                  {"id": "fine", "submit_s": 1.0, "duration_s": 5.0, "cpu_cores": 1.0, "memory_gib": 4.0,
                   "cpu_used": 0.5, "memory_used_gib": 2.0}]).to_csv(trace, index=False)
    config = validate({
        "simulation": {"duration_s": 20.0, "seed": 1, "platforms": ["container"]},
        "host": {"cpu_cores": 8, "memory_gib": 16, "reserved_memory_gib": 0},
        "platform": {"container": {"overhead_mib": 5, "admission": "oracle"}},
        "workload": {"trace": str(trace)},
    })
    results = simdc.simulate(config)
    rows = results.instances.set_index("id")
    assert rows.loc["hog", "booked_memory_gib"] == 20.0 + 5 / 1024
    assert rows.loc["fine", "booked_memory_gib"] == 2.0 + 5 / 1024
    assert rows["unplaceable"].tolist() == [True, False]
    (line,) = unplaceable_warnings(results.summary, results.instances, results.workload, config)
    assert "largest such request 1 cores, 4 GiB, booked as 0.5 cores, 20 GiB" in line


@pytest.mark.parametrize("how", [{}, {"spill": True}, {"admission": "recommender", "platforms": ("container",)}])
def test_under_a_queue_a_request_no_host_holds_is_rejected_at_once_and_blocks_no_one(tmp_path, how):
    """8 cores and 16 GiB: the 32-core host has 8 GiB, the 64 GiB host 4 cores, so no one
    host holds it (though the largest cores and the largest memory, taken apart, would).
    README: such a request is counted ``unplaceable`` and in ``rejected``; Lane.submit:
    rejected at once, never queued. So it ends at its arrival, and the twenty 1-core,
    1 GiB requests behind it, each lasting 5 s, one a second (at most five at once: 5
    cores, 5 GiB, within either host), are all placed rather than queued behind it."""
    sizes = [(8, 16)] + [(1, 1)] * 20
    results = fleet_run(tmp_path, [WIDE, DEEP], sizes, when_full="queue", duration_s=60.0, **how)
    for platform, rows in results.instances.groupby("platform", sort=False):
        rows = rows.set_index("id")
        assert rows["unplaceable"].tolist() == [True] + [False] * 20
        assert rows.loc["r0", "outcome"] == "rejected" and rows.loc["r0", "end_s"] == 0.0
        assert (rows["outcome"].iloc[1:] == "completed").all()
        summary = results.summary.set_index("platform").loc[platform]
        counts = summary[["placed", "rejected", "queued_at_end", "unplaceable"]].tolist()
        assert counts == [20, 1, 0, 1]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([1, 2, 4, 8, 16, 48]), st.sampled_from([1, 4, 16, 31.9, 64, 200])),
                min_size=1, max_size=12))
def test_under_a_queue_exactly_the_requests_no_one_host_holds_are_rejected(tmp_path_factory, sizes):
    """With ``when_full = "queue"`` and no patience, a request is rejected only when no one
    host holds it; each other one is placed once those ahead of it end (5 s each, one
    arrival a second: six seconds a request is more than enough)."""
    groups = [{"name": "wide", "cpu_cores": 32, "memory_gib": 32, "count": 2},
              {"name": "deep", "cpu_cores": 8, "memory_gib": 128}]
    results = fleet_run(tmp_path_factory.mktemp("q"), groups, sizes, when_full="queue",
                        duration_s=6.0 * len(sizes) + 20.0)
    shapes = [(g["cpu_cores"], g["memory_gib"]) for g in groups]
    for platform, extra in (("vm", OVERHEAD_GIB), ("container", 0.0)):
        expected = [not any(c <= hc and m + extra <= hm for hc, hm in shapes) for c, m in sizes]
        rows = results.instances[results.instances["platform"] == platform]
        assert rows["unplaceable"].tolist() == expected
        assert (rows["outcome"] == "rejected").tolist() == expected
        assert rows["outcome"][~np.array(expected)].eq("completed").all()


def test_under_the_recommender_unplaceable_is_of_the_first_submission(tmp_path):
    """Two 8-core hosts; job j's instances declare 1 core and use 7.5. The recommender
    learns the CPU each minute (target: 90th percentile + 15 %, about 8.6 cores: more than
    either host's 8). ``a`` is placed at its declared core, and when its host fails at
    600 s it is submitted again, booked anew at the recommendation, which no host holds:
    it was placed and ran, so it is a failure's victim lost (``failed``), not a request
    the fleet could not serve. ``b``, first submitted at 1200 s, asks for the
    recommendation at once: rejected at once, and ``unplaceable`` (README: in rejected
    too)."""
    trace = tmp_path / "t.csv"
    pd.DataFrame([{"id": name, "job": "j", "submit_s": t, "duration_s": 3000.0, "cpu_cores": 1.0, "memory_gib": 1.0,
                   "cpu_used": 7.5, "memory_used_gib": 0.5} for name, t in (("a", 0.0), ("b", 1200.0))]
                 ).to_csv(trace, index=False)
    results = simdc.simulate(validate({
        "simulation": {"duration_s": 1800.0, "seed": 1, "platforms": ["container"]},
        "cluster": {"hosts": [{"name": "h", "cpu_cores": 8, "memory_gib": 32, "count": 2}]},
        "platform": {"container": {"overhead_mib": 0, "admission": "recommender", "start_s": 0}},
        "faults": {"host_failures": [[0, 600.0]], "host_repair_s": 60.0, "on_failure": "resubmit"},
        "workload": {"trace": str(trace)},
    }))
    rows = results.instances.set_index("id")
    assert rows.loc["a", "booked_cpu"] > 8 and rows.loc["b", "booked_cpu"] > 8  # the latest bookings fit nowhere
    assert (rows.loc["a", "outcome"], bool(rows.loc["a", "unplaceable"])) == ("failed", False)
    assert (rows.loc["b", "outcome"], bool(rows.loc["b", "unplaceable"])) == ("rejected", True)
    summary = results.summary.iloc[0]
    assert (summary["unplaceable"], summary["rejected"], summary["failed"]) == (1, 1, 1)


def test_the_warning_names_every_host_shape_when_the_largest_cores_and_memory_are_apart(tmp_path):
    """Hosts of 32 cores / 8 GiB and 4 cores / 64 GiB: an 8-core, 16 GiB request fits
    neither, and 'largest host 4 cores, 64 GiB' alone did not say why (the 32-core host
    went unmentioned). The warning names each shape and the request as asked (the
    largest by memory, one request, not the largest cores and memory of different ones)."""
    from simdc.experiment import unplaceable_warnings

    groups = [{"count": 1, "cpu_cores": 32, "memory_gib": 8, "reserved_memory_gib": 0},
              {"count": 1, "cpu_cores": 4, "memory_gib": 64, "reserved_memory_gib": 0}]
    sizes = [(8.0, 16.0), (1.0, 1.0), (30.0, 2.0), (6.0, 60.0), (2.0, 65.0)]
    results = fleet_run(tmp_path, groups, sizes, platforms=("container",))
    (line,) = unplaceable_warnings(results.summary, results.instances, results.workload, results.config)
    # fit nowhere, by hand: (8, 16) needs more than 8 GiB and more than 4 cores; (6, 60) the
    # same; (2, 65) more than 64 GiB; (30, 2) fits the 32-core host, (1, 1) both
    assert line.startswith("container: 3 of 5 requests fit no host even when it is empty (largest such request "
                           "2 cores, 65 GiB; hosts of 2 shapes, a request fitting one of them: 4 cores, 64 GiB; "
                           "32 cores, 8 GiB allocatable)"), line
