"""Fragmentation counts the memory free on hosts that take work, not on hosts that are down.

``free_mem_gib_at_failure`` (``fragmentation_gib_mean`` is its mean) is the memory a
request that found no host could have had but for its pieces: free on the hosts the fit
test would consider (up and not cordoned), as Kubernetes' scheduler filters out a
cordoned or failed node before it looks at its room (:func:`simdc.engine.rules.free_mem_gib`).
A host under repair holds no free memory for anyone, whatever is still booked on it.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import simdc
from simdc.config import validate

HOST_GIB = 16.0
QEMU_GIB = 131 / 1024  # the vm preset's overhead (NSDI 2020)


def run(tmp_path, rows: list[dict], *, hosts: int, when_full: str, failures: list, platforms=("container",)):
    trace = tmp_path / "trace.csv"
    pd.DataFrame([{"kind": "service", "memory_used_gib": 1} | r for r in rows]).to_csv(trace, index=False)
    results = simdc.simulate(validate({
        "simulation": {"duration_s": 3600, "seed": 1, "platforms": list(platforms)},
        "cluster": {"hosts": [{"count": hosts, "cpu_cores": 4, "memory_gib": HOST_GIB}]},
        "placement": {"policy": "first_fit", "when_full": when_full},
        "faults": {"host_failures": failures, "host_repair_s": 1000},
        "platform": {"container": {"start_s": 1, "overhead_mib": 0}, "vm": {"boot_s": 1, "sizing": "as_given"}},
        "workload": {"trace": str(trace)},
    }))
    return results.instances.set_index(["platform", "id"])["free_mem_gib_at_failure"]


def test_a_host_under_repair_has_no_free_memory_for_a_request(tmp_path):
    """The trial's t13: two 4-core 16 GiB hosts; f3 (4 cores, 4 GiB) lands on host 0,
    which fails at 100 s (f3 goes to host 1) and is under repair until 1100 s; r (2 cores,
    4 GiB) at 200 s finds host 1's cores taken. Free then: host 1's 16 − 4 GiB = 12 GiB
    (for VMs, f3's 4 GiB VM and its 131 MiB QEMU: 11.87), not host 0's 16 GiB as well."""
    rows = [{"id": "f3", "submit_s": 0, "duration_s": 2000, "cpu_cores": 4, "memory_gib": 4, "cpu_used": 2},
            {"id": "r", "submit_s": 200, "duration_s": 100, "cpu_cores": 2, "memory_gib": 4, "cpu_used": 1}]
    free = run(tmp_path, rows, hosts=2, when_full="reject", failures=[[0, 100]], platforms=("vm", "container"))
    assert free[("container", "r")] == pytest.approx(HOST_GIB - 4, rel=1e-12)
    assert free[("vm", "r")] == pytest.approx(HOST_GIB - 4 - QEMU_GIB, rel=1e-12)


def test_a_failed_hosts_victim_that_finds_no_host_sees_only_the_hosts_up(tmp_path):
    """The trial's t12: f1 and f2 (2 cores, 4 GiB each) on host 0, f3 (4 cores, 4 GiB) on
    host 1; host 0 fails at 500 s. f1, taken off first, finds no host (host 0 down, host 1
    without cores): free is host 1's 16 − 4 = 12 GiB, not host 0's memory less f2's
    booking not yet taken off (+12). f2 then queues behind f1 without looking for a host
    (FIFO: nobody overtakes a waiting request), as any request arriving behind a queue
    does: it found no host only in that it waits, so it has no figure."""
    rows = [{"id": "f1", "submit_s": 0, "duration_s": 2000, "cpu_cores": 2, "memory_gib": 4, "cpu_used": 1},
            {"id": "f2", "submit_s": 0, "duration_s": 2000, "cpu_cores": 2, "memory_gib": 4, "cpu_used": 1},
            {"id": "f3", "submit_s": 0, "duration_s": 2000, "cpu_cores": 4, "memory_gib": 4, "cpu_used": 2}]
    free = run(tmp_path, rows, hosts=2, when_full="queue", failures=[[0, 500]])
    assert free[("container", "f1")] == pytest.approx(HOST_GIB - 4, rel=1e-12)
    assert math.isnan(free[("container", "f2")]) and math.isnan(free[("container", "f3")])


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(1, 15), min_size=1, max_size=5).flatmap(
    lambda mems: st.tuples(st.just(mems), st.lists(st.sampled_from(range(len(mems))), unique=True))))
def test_fragmentation_is_the_memory_free_on_the_hosts_still_up(tmp_path_factory, fleet):
    """A fleet of 4-core 16 GiB hosts, host j holding a 4-core container of m_j GiB (first
    fit, all at 0 s); some hosts fail one after another (at 10, 11, ... s, under repair
    past the end), their containers failing with them and finding no host (every host up
    is out of cores). The k-th failure's victim sees free Σ (16 − m_j) over the hosts not
    among the first k to fail; a 1-core probe at 100 s sees it over the hosts never failed."""
    mems, failing = fleet
    rows = [{"id": f"c{j}", "submit_s": 0, "duration_s": 3000, "cpu_cores": 4, "memory_gib": m, "cpu_used": 1}
            for j, m in enumerate(mems)]
    rows.append({"id": "probe", "submit_s": 100, "duration_s": 10, "cpu_cores": 1, "memory_gib": 1, "cpu_used": 1})
    free = run(tmp_path_factory.mktemp("f"), rows, hosts=len(mems), when_full="reject",
               failures=[[j, 10 + k] for k, j in enumerate(failing)])
    for k, j in enumerate(failing):
        up = [h for h in range(len(mems)) if h not in failing[:k + 1]]
        assert free[("container", f"c{j}")] == pytest.approx(sum(HOST_GIB - mems[h] for h in up), abs=1e-9)
    never = [h for h in range(len(mems)) if h not in failing]
    assert free[("container", "probe")] == pytest.approx(sum(HOST_GIB - mems[h] for h in never), abs=1e-9)
