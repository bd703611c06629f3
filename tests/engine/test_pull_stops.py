"""A host that fails, or is drained, stops the image pulls of the instances that leave it
(Simulation._pull_off). Before, a failed host went on downloading and unpacking while
down: it held half the registry until its transfer ended, so the victim placed on the
other host took 16.3 s to pull instead of 8.4 s; the dead host counted the whole layer
as pulled, and after a repair the re-placed instances found layers "downloaded" while
the host was down (a new user's trial: its ghost.toml, drain.toml and fail.toml).

Expected times come from the documented formulas (README, "Images"): a pull is the
registry's round trip, then the layer's bytes at the fair share of the links (Gbit/s are
1e9 bit/s, MiB 2^20 bytes), then its unpack at the disk's speed, then the platform's start.
The containers pull in parallel (serialize_image_pulls = false), so that pulls on one host
share a fetch, the mechanism these tests stop; the kubelet's serial default is tested last.
"""

from __future__ import annotations

from unittest import mock

import pandas as pd
import pytest

import simdc
from simdc.config import validate
from simdc.engine import runner
from simdc.engine.handlers import FastLane
from simdc.workload import load_workload

MIB = 2**20
GIB = 2**30
REGISTRY_B_S = 1e9 / 8  # 1 Gbit/s
RTT_S = 0.05
DISK_MIB_S = 500.0
START_S = 0.5


def run(tmp_path, rows: list[dict], images: list[dict], platforms: list[str], hosts: list[dict],
        extra: dict, duration_s: float = 300.0):
    """One run of ``rows`` (the trace) on ``hosts`` with ``extra`` sections: the result."""
    trace = tmp_path / "w.csv"
    pd.DataFrame([{"cpu_cores": 1, "memory_gib": 1, **row} for row in rows]).to_csv(trace, index=False)
    config = validate({
        "simulation": {"duration_s": duration_s, "seed": 1, "platforms": platforms},
        "cluster": {"hosts": hosts},
        "registry": {"bandwidth_gbps": 1.0, "rtt_s": RTT_S},
        "images": images,
        "platform": {"container": {"start_s": START_S, "serialize_image_pulls": False}, "vm": {"boot_s": 10}},
        "placement": {"when_full": "queue"},
        "workload": {"trace": str(trace)},
        **extra,
    })
    return simdc.simulate(config)


BIG = [{"name": "big:1", "layers": [{"digest": "sha256:big", "size_mib": 1000}]}]
TWO_SMALL_HOSTS = [{"count": 2, "cpu_cores": 1, "memory_gib": 8, "disk_write_mib_s": DISK_MIB_S}]
DOWN_AT_S = 0.5


def ghost(tmp_path, how: dict):
    rows = [{"id": "i1", "submit_s": 0, "duration_s": 100, "image": "big:1"}]
    return run(tmp_path, rows, BIG, ["container"], TWO_SMALL_HOSTS, how)


FAILED = {"faults": {"host_failures": [[0, DOWN_AT_S]], "host_repair_s": 3600, "on_failure": "resubmit"}}
DRAINED = {"maintenance": {"drains": [[0, DOWN_AT_S]], "maintenance_s": 3600}}


@pytest.mark.parametrize("how", [FAILED, DRAINED], ids=["failed", "drained"])
def test_the_victims_pull_on_the_other_host_has_the_registry_to_itself(tmp_path, how):
    """The trial's ghost.toml (and drain.toml): one 1000 MiB layer, pulled on host 0 from
    t = 0; host 0 fails (or is drained) at 0.5 s, and the instance is placed on host 1 at
    once. Host 0's transfer stops then, so host 1's has the registry alone: ready at
    0.5 + 0.05 + 1000 MiB / 125e6 B/s + 1000 MiB / 500 MiB/s + 0.5 = 11.438608 s (the
    old code: 19.327216 s, sharing the registry with the dead host's download)."""
    result = ghost(tmp_path, how)
    row = result.instances.set_index("id").loc["i1"]
    size_b = 1000 * MIB
    pull_s = RTT_S + size_b / REGISTRY_B_S
    unpack_s = 1000 / DISK_MIB_S
    assert row["host"] == 1
    assert row["pull_s"] == pytest.approx(pull_s, abs=1e-9)
    assert row["unpack_s"] == pytest.approx(unpack_s, abs=1e-9)
    assert row["ready_s"] == pytest.approx(DOWN_AT_S + pull_s + unpack_s + START_S, abs=1e-9)
    hosts = result.hosts.set_index("host")
    # pulled_gib is what was downloaded: host 0 received 0.45 s of the registry alone,
    # not the whole layer; host 1 the whole layer
    received_b = (DOWN_AT_S - RTT_S) * REGISTRY_B_S
    assert hosts.loc[0, "pulled_gib"] == pytest.approx(received_b / GIB, abs=1e-12)
    assert hosts.loc[1, "pulled_gib"] == pytest.approx(size_b / GIB, abs=1e-12)
    assert (hosts["layer_hits"] == 0).all()


def test_a_pull_on_another_host_is_not_stopped_and_gets_the_failed_hosts_share(tmp_path):
    """Two instances of one 1-core size on two 1-core hosts, both pulling the 1000 MiB
    layer from t = 0; host 0 fails at 0.5 s (its victim finds no room: it waits). Host
    1's pull goes on: 0.45 s at half the registry, then the rest alone; it is ready at
    0.5 + (1000 MiB − 0.45 × 62.5e6 B) / 125e6 B/s + 2.0 + 0.5 s (the old code: 19.327216 s,
    at half the registry throughout)."""
    rows = [{"id": f"i{k}", "submit_s": 0, "duration_s": 100, "image": "big:1"} for k in (1, 2)]
    result = run(tmp_path, rows, BIG, ["container"], TWO_SMALL_HOSTS, FAILED)
    table = result.instances.set_index("id")
    survivor = table[table["failure_kills"] == 0].iloc[0]  # the victim waits, then runs on host 1 too
    assert survivor["host"] == 1 and len(table) == 2
    shared_b = (DOWN_AT_S - RTT_S) * REGISTRY_B_S / 2
    ready_s = DOWN_AT_S + (1000 * MIB - shared_b) / REGISTRY_B_S + 1000 / DISK_MIB_S + START_S
    assert survivor["ready_s"] == pytest.approx(ready_s, abs=1e-9)
    assert result.hosts.set_index("host").loc[0, "pulled_gib"] == pytest.approx(shared_b / GIB, abs=1e-12)


IMAGES = [
    {"name": "a:1", "layers": [{"digest": "sha256:base", "size_mib": 100}, {"digest": "sha256:a", "size_mib": 50}],
     "disk_gib": 1.0},
    {"name": "b:1", "layers": [{"digest": "sha256:base", "size_mib": 100}, {"digest": "sha256:b", "size_mib": 200}],
     "disk_gib": 2.0},
]
REPAIR_S = 10.0
# fail.toml's host and its failure: one host, down at DOWN_AT_S for REPAIR_S, victims resubmitted
ONE_HOST = [{"count": 1, "cpu_cores": 8, "memory_gib": 32, "net_gbps": 10, "image_cache_gib": 20,
             "disk_write_mib_s": DISK_MIB_S}]
REPAIRED = {"faults": {"host_failures": [[0, DOWN_AT_S]], "host_repair_s": REPAIR_S, "on_failure": "resubmit"}}


def test_after_a_repair_the_re_placed_containers_pull_again_from_scratch(tmp_path):
    """The trial's fail.toml: one host, i1 and i2 of image a:1 (base 100 MiB, a 50 MiB),
    i3 of b:1 (base, b 200 MiB) at t = 0, i4 of b:1 at 100 s; the host fails at 0.5 s
    during base's download and is repaired at 10.5 s, where the three are placed again.
    Nothing was cached while it was down (the old code: started at 11.0 s, pull_s 0).
    From 10.5 s: i1 fetches base (i2, i3 wait), alone: rtt + 100 MiB / 125e6 B/s, unpack
    100/500 s; then a (i1; i2 waits) and b (i3) share the registry: a's 50 MiB at 62.5e6
    B/s; then b alone for the rest; each unpacked at 500 MiB/s, then the 0.5 s start.
    The only layer hits are i4's two."""
    rows = [{"id": "i1", "image": "a:1"}, {"id": "i2", "image": "a:1"}, {"id": "i3", "image": "b:1"},
            {"id": "i4", "image": "b:1", "submit_s": 100}]
    rows = [{"submit_s": 0, "duration_s": 600, **row} for row in rows]
    result = run(tmp_path, rows, IMAGES, ["container"], ONE_HOST, REPAIRED, duration_s=1200)
    table = result.instances.set_index("id")
    up_s = DOWN_AT_S + REPAIR_S
    base_s = up_s + RTT_S + 100 * MIB / REGISTRY_B_S + 100 / DISK_MIB_S
    both_s = base_s + RTT_S  # a and b begin downloading together
    a_fetched_s = both_s + 50 * MIB / (REGISTRY_B_S / 2)
    b_fetched_s = a_fetched_s + (200 - 50) * MIB / REGISTRY_B_S
    ready = {"i1": a_fetched_s + 50 / DISK_MIB_S + START_S, "i2": a_fetched_s + 50 / DISK_MIB_S + START_S,
             "i3": b_fetched_s + 200 / DISK_MIB_S + START_S, "i4": 100 + START_S}
    for i, ready_s in ready.items():
        assert table.loc[i, "ready_s"] == pytest.approx(ready_s, abs=1e-9), i
    assert table.loc["i1", "pull_s"] == pytest.approx((base_s - 100 / DISK_MIB_S - up_s) + (a_fetched_s - both_s)
                                                      + RTT_S, abs=1e-9)
    assert table.loc["i1", "unpack_s"] == pytest.approx((100 + 50) / DISK_MIB_S, abs=1e-9)
    hosts = result.hosts.iloc[0]
    assert hosts["layer_hits"] == 2  # i4's base and b; none from the attempt cut short
    received_b = (DOWN_AT_S - RTT_S) * REGISTRY_B_S  # base's bytes before the failure
    assert hosts["pulled_gib"] == pytest.approx((received_b + (100 + 50 + 200) * MIB) / GIB, abs=1e-12)


def test_after_a_repair_vms_fetch_their_disk_images_again(tmp_path):
    """fail.toml's VMs: each image is fetched whole as a disk image (a:1 1 GiB, b:1 2 GiB),
    written to the host's cache, then copied as the VM's disk. Both fetches begun at 0.05 s
    stop at 0.5 s; from 10.5 s they run again from scratch, sharing the registry (the old
    code: the VMs waited on the transfers begun before the failure). i1 fetches a:1, i2
    waits for it; a:1 ends at 10.55 + 1 GiB / 62.5e6 B/s; its write to the cache takes
    1 GiB / 500 MiB/s; then i1's and i2's copies share the disk (2 GiB / 500 MiB/s); boot 10 s."""
    rows = [{"id": "i1", "image": "a:1"}, {"id": "i2", "image": "a:1"}, {"id": "i3", "image": "b:1"}]
    rows = [{"submit_s": 0, "duration_s": 600, **row} for row in rows]
    result = run(tmp_path, rows, IMAGES, ["vm"], ONE_HOST, REPAIRED, duration_s=1200)
    table = result.instances.set_index("id")
    a_fetched_s = DOWN_AT_S + REPAIR_S + RTT_S + GIB / (REGISTRY_B_S / 2)
    ready_s = a_fetched_s + 1024 / DISK_MIB_S + 2 * 1024 / DISK_MIB_S + 10
    assert table.loc["i1", "ready_s"] == pytest.approx(ready_s, abs=1e-9)
    assert table.loc["i2", "ready_s"] == pytest.approx(ready_s, abs=1e-9)
    received_b = 2 * (DOWN_AT_S - RTT_S) * REGISTRY_B_S / 2  # a:1 and b:1, half the registry each
    assert result.hosts.iloc[0]["pulled_gib"] == pytest.approx(3.0 + received_b / GIB, abs=1e-12)


class Removing(FastLane):
    """The engine with replicas deleted by a controller at given moments
    (Simulation._remove, the services' deletion): ``REMOVE`` = [(t_s, row), ...]."""

    REMOVE: list[tuple[float, int]] = []

    def run(self):
        for t_s, i in self.REMOVE:
            self._after(t_s, lambda now, i: self._remove(i, now), i)
        return super().run()


def removing(tmp_path, remove: list[tuple[float, int]], serial: bool = False):
    """Two containers of big:1 on one host at t = 0 (one fetch, the second waits for it;
    ``serial``: the second waits its turn in the kubelet's queue), with ``remove``
    applied: the run's instances and hosts tables."""
    rows = [{"id": f"i{k}", "submit_s": 0, "duration_s": 100, "image": "big:1"} for k in (0, 1)]
    trace = tmp_path / "w.csv"
    pd.DataFrame([{"cpu_cores": 1, "memory_gib": 1, **row} for row in rows]).to_csv(trace, index=False)
    config = validate({
        "simulation": {"duration_s": 300, "seed": 1, "platforms": ["container"]},
        "cluster": {"hosts": [{"count": 1, "cpu_cores": 2, "memory_gib": 8, "disk_write_mib_s": DISK_MIB_S}]},
        "registry": {"bandwidth_gbps": 1.0, "rtt_s": RTT_S},
        "images": BIG,
        "platform": {"container": {"start_s": START_S, "serialize_image_pulls": serial}},
        "workload": {"trace": str(trace)},
    })
    instances = load_workload(config.workload, 300, 1).instances
    with mock.patch.object(runner, "FastLane", Removing), mock.patch.object(Removing, "REMOVE", remove):
        return runner.run_platform("container", config.platform["container"], config.fleet, instances,
                                   duration_s=300, sample_every_s=60, seed=1, placement=config.placement,
                                   images={image.name: image for image in config.images},
                                   registry=config.registry, lane="general")


@pytest.mark.parametrize("who", [0, 1], ids=["the one fetching", "the one waiting"])
def test_a_fetch_another_instance_on_the_host_waits_for_goes_on(tmp_path, who):
    """One of the two deleted at 0.3 s, mid-download: the layer still serves the other,
    so its fetch goes on, untouched: the other is ready at 0.05 + 1000 MiB / 125e6 B/s
    + 1000/500 + 0.5 s, and the host pulled the layer once, whole."""
    run = removing(tmp_path, [(0.3, who)])
    table = run.instances.set_index("id")
    assert table.loc[f"i{who}", "end_s"] == 0.3 and pd.isna(table.loc[f"i{who}", "ready_s"])  # deleted, never started
    other = table.loc[f"i{1 - who}"]
    assert other["ready_s"] == pytest.approx(RTT_S + 1000 * MIB / REGISTRY_B_S + 1000 / DISK_MIB_S + START_S,
                                             abs=1e-9)
    assert run.hosts["pulled_gib"].iloc[0] == pytest.approx(1000 / 1024, abs=1e-12)


def test_a_fetch_no_instance_on_the_host_wants_stops(tmp_path):
    """Both deleted at 0.3 s: the download stops then, 0.25 s of the registry received
    (what pulled_gib counts; the old code: the whole layer), and nothing is cached."""
    run = removing(tmp_path, [(0.3, 0), (0.3, 1)])
    hosts = run.hosts.iloc[0]
    assert hosts["pulled_gib"] == pytest.approx((0.3 - RTT_S) * REGISTRY_B_S / GIB, abs=1e-12)
    assert run.instances["ready_s"].isna().all() and (run.instances["end_s"] == 0.3).all()


@pytest.mark.parametrize("who", [0, 1], ids=["the one pulling", "the one queued"])
def test_with_serial_pulls_a_deleted_pull_passes_the_node_to_the_next(tmp_path, who):
    """The kubelet's default, serial pulls: i0 pulls big:1 alone, i1 waits its turn.
    Deleting i0 at 0.3 s cancels its pull (nobody else is fetching with it) and hands
    the node to i1, which pulls from scratch: ready at 0.3 + 0.05 + 1000 MiB / 125e6 B/s
    + 1000/500 + 0.5 s; the host received 0.25 s of the first download, then the layer
    whole. Deleting the queued i1 leaves i0's pull untouched: 0.05 + ... + 0.5 s."""
    run = removing(tmp_path, [(0.3, who)], serial=True)
    table = run.instances.set_index("id")
    alone_s = RTT_S + 1000 * MIB / REGISTRY_B_S + 1000 / DISK_MIB_S + START_S
    other = table.loc[f"i{1 - who}"]
    assert pd.isna(table.loc[f"i{who}", "ready_s"])
    if who == 0:
        assert other["ready_s"] == pytest.approx(0.3 + alone_s, abs=1e-9)
        received_b = (0.3 - RTT_S) * REGISTRY_B_S
        assert run.hosts["pulled_gib"].iloc[0] == pytest.approx((received_b + 1000 * MIB) / GIB, abs=1e-12)
    else:
        assert other["ready_s"] == pytest.approx(alone_s, abs=1e-9)
        assert run.hosts["pulled_gib"].iloc[0] == pytest.approx(1000 / 1024, abs=1e-12)
