"""A host's disk is shared by the writes under way on it (a layer's unpack after its pull,
a VM's copy of its disk image): processor sharing of ``disk_write_mib_s``, as pulls share
network links. Before, each write had its own timer at the disk's full speed, so eight
VMs copying 10 GiB at once on a 500 MiB/s disk all took 20.48 s, 8x the disk's speed (a
new user's trial). The expected times are computed from the inputs: n equal writes begun
together on one disk each take n × size / speed (processor sharing), one alone size /
speed, and any set of writes on one disk ends when a work-conserving server of that
speed would finish the same work (Kleinrock, *Queueing Systems* vol. 2, 1976, §4.4:
processor sharing is work-conserving)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import simpy
from hypothesis import given, settings, strategies as st

import simdc
from simdc.config import validate
from simdc.engine.network import Network

DISK_MIB_S = 500.0
DISK_GIB = 10.0


def run(tmp_path, platform: str, rows: list[dict], hosts: int = 1, memory_gib: float = 64.0,
        prepull: bool = True, images: list[dict] | None = None) -> pd.DataFrame:
    """The instances table of one platform's run of ``rows`` (id, submit_s, image, memory_gib)."""
    trace = tmp_path / "w.csv"
    table = pd.DataFrame([{"duration_s": 3000, "cpu_cores": 1, "memory_gib": 2, **row} for row in rows])
    table.to_csv(trace, index=False)
    images = images or [{"name": "app:v1", "disk_gib": DISK_GIB, "layers": [{"digest": "x", "size_mib": 100}]}]
    host = {"cpu_cores": 32, "memory_gib": memory_gib, "count": hosts, "disk_write_mib_s": DISK_MIB_S,
            "prepull": ["app:v1"] if prepull else []}
    config = validate({
        "simulation": {"duration_s": 3600, "seed": 1, "platforms": [platform]},
        "cluster": {"hosts": [host]},
        "registry": {"bandwidth_gbps": 100.0, "rtt_s": 0.0},
        "placement": {"policy": "first_fit"},
        # containers pull in parallel (the kubelet's serial default would queue the pulls)
        "platform": ({"vm": {"sizing": "as_given"}} if platform == "vm"
                     else {"container": {"serialize_image_pulls": False}} if platform == "container" else {}),
        "images": images,
        "workload": {"trace": str(trace)},
    })
    return simdc.simulate(config).instances.set_index("id")


@pytest.mark.parametrize("n", [1, 2, 8])
def test_n_vm_disk_copies_begun_together_on_one_host_end_together_at_n_times_size_over_speed(tmp_path, n):
    """The trial's case: n VMs at t = 0 on one host whose image is there; each copies its
    10 GiB disk. Shared equally, every copy takes n × 10 GiB / 500 MiB/s (alone: 20.48 s)."""
    table = run(tmp_path, "vm", [{"id": f"v{k}", "submit_s": 0, "image": "app:v1"} for k in range(n)])
    assert (table["host"] == 0).all()
    expected_s = n * DISK_GIB * 1024 / DISK_MIB_S
    assert table["unpack_s"].to_numpy() == pytest.approx([expected_s] * n, rel=1e-12)


def test_copies_on_different_hosts_do_not_slow_each_other(tmp_path):
    """Four VMs on two hosts that each hold two (memory): each disk has two copies under
    way, so each copy takes 2 × size / speed, not 4 ×."""
    rows = [{"id": f"v{k}", "submit_s": 0, "image": "app:v1", "memory_gib": 20} for k in range(4)]
    table = run(tmp_path, "vm", rows, hosts=2, memory_gib=48.0)
    assert sorted(table["host"].tolist()) == [0, 0, 1, 1]
    assert table["unpack_s"].to_numpy() == pytest.approx([2 * DISK_GIB * 1024 / DISK_MIB_S] * 4, rel=1e-12)


def test_a_copy_begun_later_gets_its_share_from_then_on(tmp_path):
    """One copy from 0, a second from 10 s (10 GiB each, 0.48828125 GiB/s): alone until
    10 s, the first has 10 − 10 × 0.488 GiB left, which at half speed ends at
    10 + 2 × 5.117 = 30.48 s; the second then has 10 − 10.234 / 2 GiB left at full speed."""
    rows = [{"id": "a", "submit_s": 0, "image": "app:v1"}, {"id": "b", "submit_s": 10, "image": "app:v1"}]
    table = run(tmp_path, "vm", rows)
    speed = DISK_MIB_S / 1024
    first_end = 10 + 2 * (DISK_GIB - 10 * speed) / speed
    second_left = DISK_GIB - (first_end - 10) * speed / 2
    assert table.loc["a", "unpack_s"] == pytest.approx(first_end, rel=1e-12)
    assert table.loc["b", "unpack_s"] == pytest.approx(first_end - 10 + second_left / speed, rel=1e-12)


def test_container_layer_unpacks_share_the_disk(tmp_path):
    """n containers at t = 0, each of its own one-layer image (1 GiB), none on the host:
    the equal pulls end together, then the n unpacks share the disk: each n × 1 GiB / speed."""
    n = 4
    images = [{"name": f"i{k}", "disk_gib": 1, "layers": [{"digest": f"d{k}", "size_mib": 1024}]} for k in range(n)]
    images.append({"name": "app:v1", "disk_gib": 1, "layers": [{"digest": "x", "size_mib": 1}]})
    rows = [{"id": f"c{k}", "submit_s": 0, "image": f"i{k}"} for k in range(n)]
    table = run(tmp_path, "container", rows, images=images)
    assert table["cold_start"].all()
    assert table["unpack_s"].to_numpy() == pytest.approx([n * 1024 / DISK_MIB_S] * n, rel=1e-9)


def disk_writes(writes: list[tuple[float, float]], speed_gib_s: float) -> list[tuple[float, float, float]]:
    """Each write ``(start_s, gib)`` on one disk of the engine's kind (an own link of
    ``speed_gib_s`` before an unlimited shared one, as ``Simulation._write`` builds it):
    ``(start_s, gib, end_s)``."""
    env = simpy.Environment()
    disks = Network(env, {("disk", 0): speed_gib_s, "unlimited": math.inf})
    ends: dict[int, float] = {}

    def begin(k: int, gib: float):
        yield env.timeout(writes[k][0])
        yield disks.transfer((("disk", 0), "unlimited"), gib)
        ends[k] = env.now

    for k, (_, gib) in enumerate(writes):
        env.process(begin(k, gib))
    env.run()
    return [(start, gib, ends[k]) for k, (start, gib) in enumerate(writes)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 100.0), st.floats(0.01, 20.0)), min_size=1, max_size=12),
       st.sampled_from([0.1, 0.48828125, 2.0]))
def test_writes_on_one_disk_never_beat_its_speed_and_leave_it_idle_only_when_done(writes, speed_gib_s):
    """Random writes on one disk. No write ends before start + size / speed (none beats
    the disk alone); the bytes of the writes ending by any time, over the time since the
    first start, never exceed the speed; and the disk is work-conserving, so the last end
    is where a single server of that speed, serving the same work as it comes, goes idle
    (at least total / speed after the first start)."""
    done = disk_writes(writes, speed_gib_s)
    slack = 1e-9
    for start, gib, end in done:
        assert end >= start + gib / speed_gib_s - slack
    first = min(start for start, _, _ in done)
    by_end = sorted(done, key=lambda write: write[2])
    total = 0.0
    for _, gib, end in by_end:
        total += gib
        assert total <= speed_gib_s * (end - first) * (1 + 1e-9) + slack
    idle_at = 0.0
    for start, gib in sorted(writes):
        idle_at = max(idle_at, start) + gib / speed_gib_s
    last = by_end[-1][2]
    assert last == pytest.approx(idle_at, rel=1e-9, abs=1e-9)
    assert last >= first + sum(gib for _, gib in writes) / speed_gib_s - slack


def test_a_write_begun_where_another_ends_runs_alone_from_then():
    """A VM's disk copy begins in the call that ends its last layer's unpack (a flow
    started from a flow's ``then``): 1 GiB, then 2 GiB, at 0.5 GiB/s, alone on the disk
    but for 1 GiB begun at 0 s beside the first, end at 4 s (both, shared) and 8 s."""
    env = simpy.Environment()
    disks = Network(env, {("disk", 0): 0.5, "unlimited": math.inf})
    link = (("disk", 0), "unlimited")
    ends = {}

    def ended(now, name):
        ends[name] = now
        if name == "first":
            disks.transfer(link, 2.0, (ended, "second"))

    disks.transfer(link, 1.0, (ended, "first"))
    disks.transfer(link, 1.0, (ended, "beside"))
    env.run()
    assert ends == {"first": pytest.approx(4.0), "beside": pytest.approx(4.0), "second": pytest.approx(8.0)}
