"""How a replica that was placed, requeued and then removed by its service's controller
ends: as any requeued instance that never ran again (README, *Outputs*): ``failed`` only if
a host or kernel failure requeued it, ``evicted`` if a drain's restart did."""

from __future__ import annotations

import simdc
from simdc.config import validate

RELEASE_S = 200.0


def rollout_after(cause: dict) -> simdc.Results:
    """Four 1-core replicas of web:v1 on one 8-core host, up at the start; at 100 s the
    host goes (``cause``: a drain or a failure) for 600 s, so every replica waits for a
    host in the queue (``when_full = "queue"``: refused, a drain's or failure's victim
    would end at once and be replaced by a new row); at 200 s a release to web:v2
    removes old replicas while they wait."""
    return simdc.simulate(validate({
        "simulation": {"duration_s": 1200.0, "seed": 1, "platforms": ["container"]},
        "host": {"cpu_cores": 8, "memory_gib": 16},
        "images": [{"name": "web:v1", "layers": [{"digest": "os", "size_mib": 80}, {"digest": "a1", "size_mib": 30}]},
                   {"name": "web:v2", "layers": [{"digest": "os", "size_mib": 80}, {"digest": "a2", "size_mib": 30}]}],
        "placement": {"when_full": "queue"},
        "workload": {"synthetic": {"arrival_rate_per_s": 1e-9}},
        "services": [{"name": "web", "image": "web:v1", "replicas": 4, "cpu_cores": 1, "memory_gib": 1,
                      "running_at_start": True, "demand": {"cores": 1.0},
                      "releases": [{"at_s": RELEASE_S, "image": "web:v2"}]}],
        **cause,
    }))


DRAIN = {"maintenance": {"drains": [[0, 100.0]], "maintenance_s": 600.0}}
FAILURE = {"faults": {"host_failures": [[0, 100.0]], "host_repair_s": 600.0, "on_failure": "resubmit"}}


def test_a_drained_replica_removed_while_it_waits_ends_evicted_not_failed():
    results = rollout_after(DRAIN)
    summary = results.summary.iloc[0]
    old = results.instances[results.instances["version"] == 0]
    # no failure happened, so no instance is a failure's victim (README: failed is "a host
    # or kernel failure's victim not placed again")
    assert (summary["failures"], summary["failure_kills"]) == (0, 0)
    assert summary["failed"] == 0 and not (results.instances["outcome"] == "failed").any()
    # the old replicas restarted off the drained host (a move each) and removed at the
    # release while they waited, the one host being down until 700 s
    waiting = old[(old["migrations"] == 1) & (old["end_s"] == RELEASE_S)]
    assert len(waiting) >= 1
    assert (waiting["outcome"] == "evicted").all()
    assert summary["evicted"] == (results.instances["outcome"] == "evicted").sum() >= len(waiting)


def test_a_failures_victim_removed_while_it_waits_still_ends_failed():
    results = rollout_after(FAILURE)
    old = results.instances[results.instances["version"] == 0]
    waiting = old[(old["failure_kills"] == 1) & (old["end_s"] == RELEASE_S)]
    assert len(waiting) >= 1
    assert (waiting["outcome"] == "failed").all()
    assert not (results.instances["outcome"] == "evicted").any()  # nothing was moved
    assert results.summary.iloc[0]["failed"] == len(waiting)
