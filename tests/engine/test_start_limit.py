"""A limit on concurrent starts paces starts; it neither refuses work nor counts as fragmentation.

``placement.max_concurrent_starts`` holds a request back while every host with room for
it is starting that many instances: it waits for a start slot, with ``when_full =
"reject"`` too (OpenStack Nova's ``max_concurrent_builds`` queues builds on a semaphore,
``nova/compute/manager.py``; Firecracker's rate limits delay, not refuse). Only a request
that fits on no host for want of room is rejected and counted in
``fragmentation_gib_mean`` (README: "memory free across the fleet, in pieces no host
could use")."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import simdc
from simdc.config import validate

START_S = 10.0


def run(tmp_path, rows, *, when_full, hosts=2, max_starts=1):
    trace = tmp_path / "t.csv"
    pd.DataFrame([{"duration_s": 100.0, "cpu_cores": 1, "memory_gib": 1} | r for r in rows]).to_csv(trace, index=False)
    return simdc.simulate(validate({
        "simulation": {"duration_s": 400.0, "platforms": ["container"]},
        "cluster": {"hosts": [{"count": hosts, "cpu_cores": 8, "memory_gib": 16}]},
        "placement": {"policy": "first_fit", "when_full": when_full, "max_concurrent_starts": max_starts},
        "platform": {"container": {"overhead_mib": 0, "start_s": START_S}},
        "workload": {"trace": str(trace)},
    }))


TRIAL = [{"id": name, "submit_s": t} for name, t in zip("abcde", (0.0, 1.0, 2.0, 3.0, 15.0))]


def trial_ready_s() -> list[float]:
    """First fit on 2 hosts, one start at a time, starts of 10 s, by hand: a and b start
    at once (0, 1); c and d wait for the slots a and b free (10, 11); e, at 15, waits for
    c's (20). Each runs 10 s after it starts."""
    starts = [0.0, 1.0, 0.0 + START_S, 1.0 + START_S, 0.0 + 2 * START_S]
    return [s + START_S for s in starts]


@pytest.mark.parametrize("when_full", ["reject", "queue"])
def test_a_request_with_room_waits_for_a_start_slot_and_is_not_fragmentation(tmp_path, when_full):
    results = run(tmp_path, TRIAL, when_full=when_full)
    inst = results.instances.set_index("id").loc[list("abcde")]
    assert (inst["outcome"] == "completed").all()
    assert inst["ready_s"].tolist() == pytest.approx(trial_ready_s())
    assert inst["free_mem_gib_at_failure"].isna().all()  # nothing ever fitted nowhere for want of room
    summary = results.summary.iloc[0]
    assert summary["rejected"] == 0
    assert math.isnan(summary["fragmentation_gib_mean"])


def test_with_reject_a_request_whose_room_went_while_it_waited_is_rejected_then(tmp_path):
    """One host of 16 GiB, one start at a time: b (15 GiB) at 1 and c (1 GiB) at 2 fit
    beside a (1 GiB) and wait for its start to end (10 s); at 10 b takes the last 15 GiB,
    so c, behind it, is rejected then, with no memory free."""
    rows = [{"id": "a", "submit_s": 0.0}, {"id": "b", "submit_s": 1.0, "memory_gib": 15},
            {"id": "c", "submit_s": 2.0}]
    inst = run(tmp_path, rows, when_full="reject", hosts=1).instances.set_index("id")
    assert inst.loc["b", "ready_s"] == pytest.approx(START_S + START_S)
    assert inst.loc["c", "outcome"] == "rejected"
    assert inst.loc["c", "end_s"] == pytest.approx(START_S)
    assert inst.loc["c", "free_mem_gib_at_failure"] == pytest.approx(16 - 1 - 15, abs=1e-6)


def test_with_reject_a_request_with_no_room_is_rejected_at_once_beside_the_start_limit(tmp_path):
    """Two hosts of 16 GiB each starting a 10 GiB container: an 8 GiB request fits
    neither (6 GiB free on each), start slots or not: rejected at its arrival, 12 GiB free."""
    rows = [{"id": "a", "submit_s": 0.0, "memory_gib": 10}, {"id": "b", "submit_s": 0.0, "memory_gib": 10},
            {"id": "c", "submit_s": 1.0, "memory_gib": 8}]
    results = run(tmp_path, rows, when_full="reject")
    inst = results.instances.set_index("id")
    assert inst.loc["c", "outcome"] == "rejected"
    assert inst.loc["c", "end_s"] == pytest.approx(1.0)
    assert inst.loc["c", "free_mem_gib_at_failure"] == pytest.approx(2 * 16 - 2 * 10)
    assert results.summary["fragmentation_gib_mean"].iloc[0] == pytest.approx(12.0)
