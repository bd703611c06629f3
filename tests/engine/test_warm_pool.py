"""A VM scale set's warm pool (services' ``autoscale.warm_pool``): its books balance, and
its size after the run is what its own rule gives, counted from the instances table.

The rule (simdc.model.service.AutoscaleSpec): a VM placed after the start takes a VM
from the pool while any is left and starts in ``warm_start_s``; the pool refills one VM
per VM used, a boot (``boot_s``, no disk to copy here) after it was taken. A VM taken for
a replica that finds no host is given back at once; it was never used.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simdc.config import validate
from simdc.engine import run_platform
from simdc.workload import load_workload

BOOT_S = 30.0


def _run(services, hosts: int, duration_s: float, faults: dict | None):
    cfg = validate({
        "simulation": {"duration_s": duration_s, "platforms": ["vm"], "sample_every_s": duration_s},
        "cluster": {"hosts": [{"cpu_cores": 4, "memory_gib": 32, "count": hosts}]},
        "platform": {"vm": {"boot_s": BOOT_S, "sizing": "as_given"}},
        "workload": {"synthetic": {"arrival_rate_per_s": 1e-9}},  # no background work: the fleet holds replicas only
        "services": services,
        **({"faults": faults} if faults else {}),
    })
    workload = load_workload(cfg.workload, duration_s, cfg.simulation.seed)
    return run_platform("vm", cfg.platform["vm"], cfg.fleet, workload.instances, duration_s=duration_s,
                        sample_every_s=duration_s, seed=cfg.simulation.seed, placement=cfg.placement,
                        faults=cfg.faults, services=cfg.services)


def _service(name, replicas, steps, max_replicas, pool, warm_start_s, readiness_s):
    return {"name": name, "replicas": replicas, "cpu_cores": 1, "memory_gib": 2, "readiness_s": readiness_s,
            "demand": {"cores": 1.0, "steps": steps},
            "autoscale": {"max_replicas": max_replicas, "target_utilisation": 0.5, "warm_pool": pool,
                          "warm_start_s": warm_start_s}}


services = st.lists(st.builds(
    _service, name=st.just(""), replicas=st.integers(1, 4),
    steps=st.lists(st.tuples(st.integers(1, 40).map(lambda t: t * 10.0), st.sampled_from([0.5, 2.0, 6.0, 12.0])),
                   max_size=3, unique_by=lambda s: s[0]).map(lambda s: [list(x) for x in sorted(s)]),
    max_replicas=st.integers(4, 20), pool=st.integers(1, 5),
    warm_start_s=st.sampled_from([1.0, 5.0, 12.5]), readiness_s=st.sampled_from([0.0, 3.0])), min_size=1, max_size=2)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=services, hosts=st.integers(1, 3), duration_s=st.sampled_from([250.0, 450.0]),
       failing=st.booleans())
def test_the_warm_pool_balances_and_ends_at_the_size_its_rule_gives(specs, hosts, duration_s, failing):
    for k, spec in enumerate(specs):
        spec["name"] = f"s{k}"
    faults = {"host_mtbf_s": 300.0, "host_repair_s": 60.0, "on_failure": "resubmit"} if failing else None
    run = _run(specs, hosts, duration_s, faults)
    inst, books = run.instances, run.warm_pools.set_index("service")
    for spec in specs:
        rows = inst[inst["service"] == spec["name"]]
        warm_s = spec["autoscale"]["warm_start_s"]
        size = spec["autoscale"]["warm_pool"]
        # placed from the pool: a first start of warm_start_s (a cold one boots in BOOT_S)
        from_pool = rows[rows["boot_s"] == warm_s]
        assert (rows["boot_s"].dropna().isin([warm_s, BOOT_S])).all()
        taken_s = from_pool["admit_s"].to_numpy(float)  # placed at once, or never (no engine queue)
        assert (taken_s > 0).all()  # the replicas up from the start are not the pool's
        back_s = taken_s + BOOT_S  # its replacement in the pool is booted then (timers at the end never fire)
        # never more VMs out of the pool than it holds
        for t in taken_s:
            assert ((taken_s <= t) & (t < back_s)).sum() <= size
        book = books.loc[spec["name"]]
        assert book["taken"] == book["used"] + book["returned"]
        assert book["used"] == len(from_pool)
        assert book["left"] == size - (back_s >= duration_s).sum()
        # a replica never placed holds no VM of the pool: none of its rows started warm
        assert rows.loc[rows["admit_s"].isna(), "boot_s"].isna().all()


def test_a_vm_taken_for_a_replica_that_finds_no_host_goes_back_to_the_pool():
    """One 4-core host, 2 replicas of 1 core booted at the start; at 45 s two more from
    the pool of 3 (5 s), then at 100 s demand of 20 cores asks for far more than the host
    holds: each replica turned away gives its VM back, so the pool holds 3 at the end
    (the two used were replaced 30 s after they were taken), and nothing starts warm
    that the pool did not give."""
    run = _run([_service("web", 2, [[100.0, 20.0]], 40, 3, 5.0, 0.0)], 1, 400.0, None)
    (book,) = run.warm_pools.to_dict("records")
    assert (book["size"], book["used"], book["left"]) == (3, 2, 3)
    assert book["returned"] == book["taken"] - 2 > 0
    inst = run.instances
    np.testing.assert_array_equal(inst["boot_s"].dropna(), [BOOT_S, BOOT_S, 5.0, 5.0])
