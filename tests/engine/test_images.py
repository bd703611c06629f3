"""Start latency from the mechanism: layers, the host cache, the registry, presets."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

import simdc
from simdc.config import validate
from simdc.engine.images import LayerCache

MIB = 2**20
GBPS = 1e9 / 8  # bytes per second in 1 Gbit/s
RTT = 0.05


def pull_time(sizes_mib, gbps, rtt=RTT):
    """Cold pull on an idle link: one round trip per layer plus the bytes at link speed."""
    return rtt * len(sizes_mib) + sum(sizes_mib) * MIB / (gbps * GBPS)


IMAGES = [
    {"name": "app", "layers": [{"digest": "base", "size_mib": 100}, {"digest": "app", "size_mib": 50}]},
    {"name": "other:2", "layers": [{"digest": "base", "size_mib": 100}, {"digest": "other", "size_mib": 30}]},
    {"name": "big", "layers": [{"digest": "big", "size_mib": 150}]},
    {"name": "big2", "layers": [{"digest": "big2", "size_mib": 150}]},
    {"name": "db", "layers": [{"digest": "base", "size_mib": 100}], "disk_gib": 2.0},
]


def run(tmp_path, rows, platform="container", *, images=IMAGES, host=None, registry=None, rules=None,
        duration_s=600.0):
    trace = tmp_path / "trace.csv"
    pd.DataFrame([{"submit_s": 0.0, "duration_s": 100.0, "cpu_cores": 1, "memory_gib": 1} | r for r in rows]).to_csv(
        trace, index=False)
    zero = {"start_s": 0} if platform in ("container", "sandboxed_container", "container_in_vm") else {"boot_s": 0}
    return simdc.simulate(validate({
        "simulation": {"duration_s": duration_s, "platforms": [platform]},
        "host": {"cpu_cores": 16, "memory_gib": 64, "net_gbps": 10, "disk_write_mib_s": 1e9} | (host or {}),
        "registry": {"bandwidth_gbps": 1.0, "rtt_s": RTT} | (registry or {}),
        "platform": {platform: zero | (rules or {})},
        "images": images,
        "workload": {"trace": str(trace)},
    }))


def test_a_cold_pull_on_an_idle_link_takes_a_round_trip_per_layer_plus_size_over_bandwidth(tmp_path):
    results = run(tmp_path, [{"id": 1, "image": "app"}])
    inst = results.instances.iloc[0]
    assert inst["pull_s"] == pytest.approx(pull_time([100, 50], gbps=1.0))
    assert inst["ready_s"] - inst["submit_s"] == pytest.approx(pull_time([100, 50], gbps=1.0))
    assert bool(inst["cold_start"])
    assert results.summary["pulled_gib"].iloc[0] == pytest.approx(150 / 1024)


def test_the_slower_of_host_link_and_registry_sets_the_pace(tmp_path):
    results = run(tmp_path, [{"id": 1, "image": "app"}], host={"net_gbps": 0.5}, registry={"bandwidth_gbps": 40})
    assert results.instances["pull_s"].iloc[0] == pytest.approx(pull_time([100, 50], gbps=0.5))


def test_unpacking_writes_each_pulled_layer_at_the_disk_speed(tmp_path):
    results = run(tmp_path, [{"id": 1, "image": "app"}], host={"disk_write_mib_s": 100})
    inst = results.instances.iloc[0]
    assert inst["unpack_s"] == pytest.approx(150 / 100)
    assert inst["ready_s"] == pytest.approx(pull_time([100, 50], gbps=1.0) + 1.5)


def test_a_second_container_of_the_same_image_starts_warm(tmp_path):
    results = run(tmp_path, [{"id": 1, "image": "app"}, {"id": 2, "image": "app:latest", "submit_s": 60.0}])
    second = results.instances.set_index("id").loc[2]
    assert second["pull_s"] == 0 and not second["cold_start"]
    assert second["ready_s"] == pytest.approx(60.0)
    summary = results.summary.iloc[0]
    assert (summary["cold_starts"], summary["warm_starts"]) == (1, 1)
    assert summary["cache_hit_ratio"] == pytest.approx(2 / 4)


def test_cold_and_warm_starts_split_the_instances_started_and_one_still_pulling_is_neither(tmp_path):
    """At 1 Gbit/s ``app`` (150 MiB in two layers) pulls in 1.36 s: 1 starts cold at 0 s,
    2 warm at 10 s beside it; ``huge`` (20,000 MiB: 168 s) is still pulling for 3,
    submitted at 20 s, when the run ends at 100 s. README: the two counts are of the
    instances that started in the run, so cold + warm = 2 = started."""
    assert 20.0 + pull_time([20_000], gbps=1.0) > 100.0
    images = IMAGES + [{"name": "huge", "layers": [{"digest": "huge", "size_mib": 20_000}]}]
    results = run(tmp_path, [{"id": 1, "image": "app"}, {"id": 2, "image": "app", "submit_s": 10.0},
                             {"id": 3, "image": "huge", "submit_s": 20.0}], images=images, duration_s=100.0)
    rows = results.instances.set_index("id")
    assert rows["first_ready_s"].notna().tolist() == [True, True, False]  # 3 never started
    summary = results.summary.iloc[0]
    assert (summary["cold_starts"], summary["warm_starts"]) == (1, 1)


def test_an_image_sharing_a_base_layer_pulls_only_the_difference(tmp_path):
    results = run(tmp_path, [{"id": 1, "image": "app"}, {"id": 2, "image": "other:2", "submit_s": 60.0}])
    second = results.instances.set_index("id").loc[2]
    assert second["pull_s"] == pytest.approx(pull_time([30], gbps=1.0))
    assert results.summary["pulled_gib"].iloc[0] == pytest.approx((100 + 50 + 30) / 1024)


def test_two_simultaneous_cold_pulls_share_the_link_and_take_twice_as_long(tmp_path):
    """With the kubelet's parallel pulls (serialize_image_pulls = false): both images
    download at once, each at half the link."""
    parallel = {"serialize_image_pulls": False}
    alone = run(tmp_path, [{"id": 1, "image": "big"}], rules=parallel).instances["pull_s"].iloc[0]
    both = run(tmp_path, [{"id": 1, "image": "big"}, {"id": 2, "image": "big2"}], rules=parallel).instances["pull_s"]
    assert alone == pytest.approx(pull_time([150], gbps=1.0))
    assert both.tolist() == pytest.approx([RTT + 2 * (alone - RTT)] * 2)


@pytest.mark.parametrize("platform", ["container", "sandboxed_container"])
def test_a_node_pulls_one_image_at_a_time_by_default(tmp_path, platform):
    """kubelet's serializeImagePulls defaults to true: "kubelet sends only one image pull
    request to the image service at a time. Other image pull requests have to wait until
    the one being processed is complete" (kubernetes.io, Images, "Serial and parallel
    image pulls"). Two images asked for at once on one node, 150 MiB each, a 100 MiB/s
    disk: the first pulls alone (its time on an idle link, then 1.5 s of unpack); the
    second waits for all of that, then does the same. Before, both shared the link."""
    rows = [{"id": 1, "image": "big"}, {"id": 2, "image": "big2"}]
    inst = run(tmp_path, rows, platform, host={"disk_write_mib_s": 100}).instances.set_index("id")
    one = pull_time([150], gbps=1.0)
    assert inst["ready_s"].tolist() == pytest.approx([one + 1.5, 2 * (one + 1.5)])
    assert inst["pull_s"].tolist() == pytest.approx([one, (one + 1.5) + one])  # the wait counts as pulling
    assert inst["unpack_s"].tolist() == pytest.approx([1.5, 1.5])


def test_max_parallel_image_pulls_caps_the_pulls_under_way_on_a_node(tmp_path):
    """serialize_image_pulls = false, max_parallel_image_pulls = 2 (KubeletConfiguration
    maxParallelImagePulls): of three images asked for at once, two download together at
    half the link each and unpack together at half the 100 MiB/s disk (3 s), then the
    third pulls alone."""
    images = IMAGES + [{"name": "big3", "layers": [{"digest": "big3", "size_mib": 150}]}]
    rows = [{"id": 1, "image": "big"}, {"id": 2, "image": "big2"}, {"id": 3, "image": "big3"}]
    rules = {"serialize_image_pulls": False, "max_parallel_image_pulls": 2}
    inst = run(tmp_path, rows, images=images, host={"disk_write_mib_s": 100}, rules=rules).instances.set_index("id")
    one = pull_time([150], gbps=1.0)
    two = RTT + 2 * (one - RTT)
    assert inst["ready_s"].tolist() == pytest.approx([two + 3.0, two + 3.0, two + 3.0 + one + 1.5])


def test_vm_image_fetches_are_not_kubelet_pulls_and_share_the_link(tmp_path):
    """A VM's disk image is fetched by the VM platform, not the kubelet: two fetched at
    once share the link, whatever a container platform's serialize_image_pulls."""
    images = [{"name": "d1", "layers": [], "disk_gib": 1.0}, {"name": "d2", "layers": [], "disk_gib": 1.0}]
    rows = [{"id": 1, "image": "d1"}, {"id": 2, "image": "d2"}]
    inst = run(tmp_path, rows, "vm", images=images).instances
    assert inst["pull_s"].tolist() == pytest.approx([RTT + 2 * (pull_time([1024], gbps=1.0) - RTT)] * 2)


def test_a_cap_on_parallel_pulls_with_serial_pulls_is_refused():
    """As the kubelet's validation: maxParallelImagePulls must be 1 or unset when
    serializeImagePulls is true."""
    from simdc.model.platform import ContainerPlatform

    with pytest.raises(ValueError, match="max_parallel_image_pulls = 3 needs serialize_image_pulls = false"):
        ContainerPlatform(max_parallel_image_pulls=3)
    assert ContainerPlatform(max_parallel_image_pulls=1).image_pulls_per_node == 1
    assert ContainerPlatform(serialize_image_pulls=False).image_pulls_per_node is None


def test_two_instances_needing_one_layer_at_once_download_it_once(tmp_path):
    results = run(tmp_path, [{"id": 1, "image": "big"}, {"id": 2, "image": "big"}])
    assert results.summary["pulled_gib"].iloc[0] == pytest.approx(150 / 1024)
    assert results.instances["pull_s"].tolist() == pytest.approx([pull_time([150], gbps=1.0)] * 2)
    assert results.instances["cold_start"].all()


def test_prepulled_images_start_warm(tmp_path):
    results = run(tmp_path, [{"id": 1, "image": "app"}], host={"prepull": ["app"]})
    assert results.instances["pull_s"].iloc[0] == 0
    assert results.summary["pulled_gib"].iloc[0] == 0


@pytest.mark.parametrize("platform, cache_gib, refused", [
    # app and other:2 share their 100 MiB base: 100 + 50 + 30 = 180 MiB of layers
    ("container", 170 / 1024, True), ("container", 180 / 1024, False),
    # container_in_vm's two nodes each keep half the host's cache
    ("container_in_vm", 350 / 1024, True), ("container_in_vm", 360 / 1024, False),
])
def test_prepulled_images_must_fit_the_cache(tmp_path, platform, cache_gib, refused):
    """A new user's prepull of 0.34 GiB into a 0.2 GiB cache was evicted at time 0, and the
    'prepulled' instances started cold, without a word. Refused now: the layers' sum (each
    once) against each machine's cache."""
    from simdc.errors import InputError

    rows = [{"id": 1, "image": "app"}, {"id": 2, "image": "other:2"}]
    host = {"prepull": ["app", "other:2"], "image_cache_gib": cache_gib}
    rules = {"nodes_per_host": 2} if platform == "container_in_vm" else None
    if refused:
        with pytest.raises(InputError, match=r"prepull: 'app', 'other:2' need 0\.1758 GiB of image cache on each "
                                             + ("node VM" if rules else "host")):
            run(tmp_path, rows, platform, host=host, rules=rules)
    else:
        results = run(tmp_path, rows, platform, host=host, rules=rules)
        assert list(results.instances["pull_s"]) == [0, 0] and results.summary["pulled_gib"].iloc[0] == 0


def test_a_vm_pulls_its_disk_image_once_then_copies_it_for_each_vm(tmp_path):
    """VM rules: the 2 GiB disk image is fetched to the host once; each VM's own disk is
    a full copy written at disk speed (disk = "copy"), then the guest boots."""
    rows = [{"id": 1, "image": "db"}, {"id": 2, "image": "db", "submit_s": 100.0}]
    results = run(tmp_path, rows, "vm", host={"disk_write_mib_s": 1024}, rules={"boot_s": 20})
    inst = results.instances.set_index("id")
    fetch = pull_time([2048], gbps=1.0, rtt=RTT)
    assert inst.loc[1, "pull_s"] == pytest.approx(fetch)
    assert inst.loc[1, "unpack_s"] == pytest.approx(2.0 + 2.0)  # store the image, copy the disk
    assert inst.loc[1, "ready_s"] == pytest.approx(fetch + 4.0 + 20)
    assert inst.loc[2, "pull_s"] == 0 and inst.loc[2, "unpack_s"] == pytest.approx(2.0)
    assert inst.loc[2, "ready_s"] == pytest.approx(100 + 2.0 + 20)


def test_a_microvm_boots_from_layers_and_clones_its_disk(tmp_path):
    results = run(tmp_path, [{"id": 1, "image": "app"}], "microvm")
    inst = results.instances.iloc[0]
    assert inst["pull_s"] == pytest.approx(pull_time([100, 50], gbps=1.0))
    assert inst["unpack_s"] == pytest.approx(150 / 1e9)  # unpack at the test's huge disk speed, no copy


@pytest.mark.parametrize("platform", ["vm", "microvm"])
@pytest.mark.parametrize("disk, copies", [("copy", 1), ("clone", 0)])
def test_a_vm_booting_from_layers_copies_them_to_its_own_disk_unless_it_clones(tmp_path, platform, disk, copies):
    """VmPlatform: "Its own disk is a full copy of the image, or a copy-on-write clone",
    whichever the image's form (README: disk = "copy" writes the VM's own copy). Booting
    from app's layers (100 + 50 MiB) on a 100 MiB/s disk: unpack both layers (1.5 s),
    then, with disk = "copy", write a copy of the 150 MiB (1.5 s more). Before, the copy
    of layers was 0 GiB: "copy" and "clone" gave the same start."""
    rules = {"image_source": "layers", "disk": disk}
    results = run(tmp_path, [{"id": 1, "image": "app"}], platform, host={"disk_write_mib_s": 100}, rules=rules)
    inst = results.instances.iloc[0]
    assert inst["unpack_s"] == pytest.approx(150 / 100 + copies * 150 / 100)
    assert inst["ready_s"] == pytest.approx(pull_time([100, 50], gbps=1.0) + 150 / 100 + copies * 150 / 100)


def test_a_mirror_replaces_the_registry(tmp_path):
    results = run(tmp_path, [{"id": 1, "image": "app"}], registry={"mirror": {"bandwidth_gbps": 8, "rtt_s": 0.001}})
    assert results.instances["pull_s"].iloc[0] == pytest.approx(pull_time([100, 50], gbps=8, rtt=0.001))


def test_an_unknown_image_is_reported_with_the_known_ones(tmp_path):
    with pytest.raises(simdc.InputError, match="image 'nginx' is not in \\[\\[images\\]\\]; known: app:latest"):
        run(tmp_path, [{"id": 1, "image": "nginx"}])


def test_containers_in_vms_are_packed_into_node_vms(tmp_path):
    """A 16-core, 64 GiB host split into 4 nodes: 4 cores and 16 − 0.128 − 0.5 GiB each.
    A 4-core container fills a node; a 5-core one fits none, though the host has room;
    a 15.3 GiB one fits a node's memory, a 15.5 GiB one does not."""
    rows = [{"id": 1, "cpu_cores": 4}, {"id": 2, "cpu_cores": 5},
            {"id": 3, "cpu_cores": 1, "memory_gib": 15.3}, {"id": 4, "cpu_cores": 1, "memory_gib": 15.5}]
    results = run(tmp_path, rows, "container_in_vm", images=[], rules={"overhead_mib": 0})
    assert results.instances["outcome"].tolist() == ["completed", "rejected", "completed", "rejected"]
    hosts = results.hosts
    assert len(hosts) == 4 and (hosts["cpu_cores"] == 4).all()
    assert hosts["memory_gib"].sum() == pytest.approx(64)


# --- the cache ---------------------------------------------------------------------


def test_lru_evicts_the_least_recently_used_layer():
    cache = LayerCache(capacity_gib=3)
    for digest in "abc":
        cache.add(digest, 1)
    cache.touch("a")  # b is now the least recently used
    cache.add("d", 1)
    assert sorted(cache.layers) == ["a", "c", "d"]
    assert cache.evictions == 1


def test_lru_never_evicts_a_layer_in_use():
    cache = LayerCache(capacity_gib=2)
    cache.add("a", 1)
    cache.add("b", 1)
    cache.pin([("a", 1), ("b", 1)])
    cache.add("c", 1)  # nothing may go: the cache runs over its budget instead
    assert sorted(cache.layers) == ["a", "b", "c"]
    cache.unpin([("a", 1)])
    cache.add("d", 1)
    assert "a" not in cache.layers and "b" in cache.layers


def test_a_full_cache_evicts_then_pulls_again(tmp_path):
    """A 0.2 GiB cache holds 'big' (150 MiB) or 'big2', not both: after big2 evicts big,
    a later big is cold again."""
    rows = [{"id": 1, "image": "big", "duration_s": 10.0},
            {"id": 2, "image": "big2", "submit_s": 50.0, "duration_s": 10.0},
            {"id": 3, "image": "big", "submit_s": 100.0}]
    results = run(tmp_path, rows, host={"image_cache_gib": 0.2})
    assert results.instances["cold_start"].tolist() == [True, True, True]
    assert results.hosts["layer_evictions"].iloc[0] == 2


def test_a_cold_restart_after_a_drain_leaves_the_first_starts_phases_as_they_were(tmp_path):
    """A container pulls a 500 MiB layer at first start (0.05 s round trip + 500 × 2^20 × 8
    bit at 0.1 Gbit/s; unpacked at 500 MiB/s: 1 s), then is restarted by a drain on a host
    with a 0.02 Gbit/s link and a 50 MiB/s disk (a cold start about five times as long).
    The table splits the *first* start: its phases are the first pull's and sum to
    first_ready_s − submit_s (they were the restart's: 209.8 s of pull for a 43.6 s start)."""
    trace = tmp_path / "w.csv"
    pd.DataFrame({"id": ["s0"], "submit_s": [0.0], "duration_s": [1e6], "cpu_cores": [1.0],
                  "memory_gib": [4.0], "image": ["app:1"]}).to_csv(trace, index=False)
    results = simdc.simulate(validate({
        "simulation": {"duration_s": 2000, "seed": 1, "platforms": ["container"], "sample_every_s": 60},
        "cluster": {"hosts": [{"cpu_cores": 16, "memory_gib": 64, "count": 1},
                              {"cpu_cores": 16, "memory_gib": 64, "count": 1, "net_gbps": 0.02,
                               "disk_write_mib_s": 50}]},
        "placement": {"policy": "first_fit"},
        "registry": {"bandwidth_gbps": 0.1, "rtt_s": 0.05},
        "images": [{"name": "app:1", "layers": [{"digest": "a", "size_mib": 500}]}],
        "maintenance": {"drains": [[0, 500]], "maintenance_s": 300},
        "workload": {"trace": str(trace)},
    }))
    row = results.instances.iloc[0]
    assert row.migrations == 1 and row.ready_s > 500 + 5 * 42  # restarted, cold, on the slow host
    assert row.pull_s == pytest.approx(0.05 + 500 * 2**20 * 8 / 1e8, rel=1e-9)
    assert row.unpack_s == pytest.approx(1.0, rel=1e-9)
    assert row.queue_s + row.pull_s + row.unpack_s + row.boot_s == pytest.approx(row.first_ready_s - row.submit_s)


class _ReferenceCache:
    """The cache's rules in their plainest form, to hold LayerCache to: an LRU list, and
    the images in use as a list of needs (a layer is pinned while any of them holds it)."""

    def __init__(self, capacity_gib):
        self.capacity_gib, self.order, self.size, self.in_use = capacity_gib, [], {}, []
        self.lookups = self.hits = self.evictions = 0

    def use(self, needs):
        self.lookups += len(needs)
        if not all(digest in self.size for digest, _ in needs):
            return False
        self.hits += len(needs)
        for digest, _ in needs:
            self.order.remove(digest)
            self.order.append(digest)
        return True

    def add(self, digest, gib):
        if digest in self.size:
            self.order.remove(digest)
            self.order.append(digest)
            return
        pinned = {d for needs in self.in_use for d, _ in needs}
        for victim in list(self.order):  # oldest use first, pinned ones never
            if sum(self.size.values()) + gib <= self.capacity_gib:
                break
            if victim not in pinned:
                self.order.remove(victim)
                del self.size[victim]
                self.evictions += 1
        self.order.append(digest)
        self.size[digest] = gib


_LAYERS = {"base": 1.0, "py": 2.0, "node": 1.5, "a": 0.5, "b": 0.5, "c": 3.0}
_IMAGE_NEEDS = [(("base", 1.0), ("py", 2.0), ("a", 0.5)), (("base", 1.0), ("node", 1.5), ("b", 0.5)),
                (("c", 3.0),), (("base", 1.0), ("py", 2.0))]


@settings(max_examples=60, deadline=None)
@given(capacity=st.sampled_from([2.0, 4.0, 6.0, 20.0]),
       ops=st.lists(st.tuples(st.sampled_from(["add", "use", "pin", "unpin"]), st.integers(0, 5)), max_size=60))
def test_the_cache_follows_lru_with_pins_over_random_operations(capacity, ops):
    """Over random adds, uses, pins and unpins (an instance's image, as the engine books
    and releases it), LayerCache keeps the layers, in LRU order, and the counts that the
    plain reference keeps: pinned layers never evicted, the oldest unpinned first."""
    cache, ref, pinned = LayerCache(capacity), _ReferenceCache(capacity), []
    digests = list(_LAYERS)
    for op, k in ops:
        if op == "add":
            digest = digests[k]
            cache.add(digest, _LAYERS[digest])
            ref.add(digest, _LAYERS[digest])
        elif op == "use":
            needs = _IMAGE_NEEDS[k % len(_IMAGE_NEEDS)]
            assert cache.use(needs) == ref.use(needs)
        elif op == "pin":
            needs = _IMAGE_NEEDS[k % len(_IMAGE_NEEDS)]
            cache.pin(needs)
            ref.in_use.append(needs)
            pinned.append(needs)
        elif pinned:
            needs = pinned.pop(k % len(pinned))
            cache.unpin(needs)
            ref.in_use.remove(needs)
        assert list(cache.layers) == ref.order
        assert (cache.lookups, cache.hits, cache.evictions) == (ref.lookups, ref.hits, ref.evictions)
        assert cache.used_gib == pytest.approx(sum(ref.size.values()))
    assert set(cache.pins) == {digest for needs in pinned for digest, _ in needs}


@pytest.mark.parametrize("platform", ["microvm", "container"])
def test_a_disk_only_image_on_a_layer_platform_names_the_image_and_the_way_out(platform):
    """An image with a disk and no layers cannot start where instances boot from layers:
    one line naming the image as [[images]] gives it, the platform, and both ways out."""
    config = validate({
        "simulation": {"duration_s": 600, "platforms": [platform]},
        "host": {"cpu_cores": 8, "memory_gib": 32},
        "images": [{"name": "disk-only:1", "disk_gib": 4}],
        "workload": {"synthetic": {"arrival_rate_per_s": 0.01, "images": ["disk-only:1"]}}})
    with pytest.raises(simdc.errors.InputError) as err:
        simdc.simulate(config)
    assert err.value.problems == [f"[[images]] 'disk-only:1': has no layers, only a disk image, and platform "
                                  f"{platform!r} starts from image layers: give the image its layers, or run it on "
                                  "a VM platform (image_source = \"disk\")"]
