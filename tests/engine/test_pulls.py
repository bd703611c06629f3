"""Image pulls run as timers on the bare heap (``Simulation._pull`` and its steps) must give
what the SimPy process they replaced gave, to the bit: the same order of events and the
same tables, over random configs where pulls share layers on a host, queue behind a busy
registry or a slow host link, and meet failures and restarts. The reference is that
process, kept here as it was (main at 48d3964, ``Simulation._fetch``), stepped by SimPy
beside the heap, but for its disk writes: since a host's writes share its disk, they are
flows on the run's disks (``Simulation.disks``) as its transfers are on the network; and
but for an instance leaving its host mid-pull, whose pull now stops (the rule of
``Simulation._pull_off``, written for the process here).
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from simdc.config import validate
from simdc.engine.handlers import FastLane

from .test_kernel import IMAGES, run_in


class _Fetching:
    """The reference's record of a layer being fetched onto a host: the event its waiters
    wait for, the instances that want it (the one fetching first), and the flow or write
    under way (ids in the run's network and disks)."""

    def __init__(self, event, i):
        self.event, self.wanters = event, [i]
        self.flow = self.write = None
        self.gone = self.done = False


class SimPyPulls(FastLane):
    """The run with each image pull a SimPy process, as before pulls were timers; and,
    since an instance that leaves its host stops its pull (Simulation._pull_off), that
    rule written for the process: what each pull waits on is kept (``procs``), a fetch
    nobody wants any more is called off, and a process whose instance left returns
    where it wakes, but drives a fetch others still wait for to its end first."""

    procs = None  # instance: [what its pull waits on], a list per pull

    def _pull(self, i, host, cache):
        if self.procs is None:
            self.procs = {}
        me = self.procs[i] = [None]
        self.env.process(self._fetch(i, host, cache, me))

    def _pull_off(self, i, now):
        if i in self.pulling:  # a VM's copy begun by the engine (Simulation._copy)
            return super()._pull_off(i, now)
        me = (self.procs or {}).pop(i, None)
        if me is None or me[0] is None:
            return
        kind, what = me[0]
        if kind == "copy":
            self.disks.cancel(what)
            return
        if what.done:
            return
        what.wanters.remove(i)
        if not what.wanters:
            what.gone = True
            host, digest, gib = what.where
            del self.inflight[host][digest]
            if what.flow is not None:
                self.pulled_gib[host] += gib - self.network.cancel(what.flow)
            elif what.write is not None:
                self.disks.cancel(what.write)

    def _crossed(self, net, links, gib):
        """A flow as an event that succeeds at its end, and its id."""
        event = self.env.event()
        return net.transfer(links, gib, (lambda now, event: event.succeed(), event)), event

    def _fetch(self, i, host, cache, me):
        env = self.env

        def alive():
            return self.procs.get(i) is me

        if not alive():
            return
        epoch = self.epoch[i]
        links = (("link", self.physical[host.index]), "registry")
        disk = (("disk", self.physical[host.index]), "unlimited")
        inflight = self.inflight[host.index]
        pull = unpack = 0.0
        self.cold[i] = True
        for digest, gib in self.needs[i]:
            if cache.has(digest):
                cache.hits += 1
                cache.touch(digest)
                continue
            pending = inflight.get(digest)
            if pending is not None:
                pending.wanters.append(i)
                me[0] = ("fetch", pending)
                began = env.now
                yield pending.event
                if not alive():
                    return
                me[0] = None
                pull += env.now - began
                continue
            fetching = inflight[digest] = _Fetching(env.event(), i)
            fetching.where = (host.index, digest, gib)
            me[0] = ("fetch", fetching)
            began = env.now
            yield env.timeout(self.rtt_s)
            if fetching.gone:
                return
            fetching.flow, crossed = self._crossed(self.network, links, gib)
            yield crossed
            fetching.flow = None
            pull += env.now - began
            self.pulled_gib[host.index] += gib
            began = env.now
            fetching.write, written = self._crossed(self.disks, disk, gib)
            yield written
            fetching.write = None
            unpack += env.now - began
            cache.add(digest, gib)
            del inflight[digest]
            fetching.done = True
            fetching.event.succeed()
            if not alive():
                return
            me[0] = None
        if self.copy_gib[i]:
            began = env.now
            fid, written = self._crossed(self.disks, disk, self.copy_gib[i])
            me[0] = ("copy", fid)
            yield written
            unpack += env.now - began
        del self.procs[i]
        if self.start_s[i] > 0:
            yield env.timeout(self.start_s[i])
        if self.epoch[i] != epoch:
            return
        if self.pull_s[i] != self.pull_s[i]:
            self.pull_s[i], self.unpack_s[i], self.first_boot_s[i] = pull, unpack, self.start_s[i]
        self.lane.on_ready(env.now, (i, epoch))  # running, if still starting (as became_ready() and a drain were)


def pull_config(platform, hosts, net_gbps, registry_gbps, cache_gib, start_s, zipf_s, mtbf_s, max_starts, seed):
    # the reference pulls every image at once: the kubelet's parallel pulls (its serial
    # default, a queue per node before this, is tested in test_images.py)
    rules = ({"restart_policy": "always", "start_s": start_s, "serialize_image_pulls": False}
             if platform == "container" else {"boot_s": start_s})
    data = {
        "simulation": {"duration_s": 5400.0, "seed": seed, "platforms": [platform], "sample_every_s": 300.0},
        "cluster": {"hosts": [{"cpu_cores": 8, "memory_gib": 32, "count": hosts, "net_gbps": net_gbps,
                               "image_cache_gib": cache_gib, "disk_write_mib_s": 200}]},
        "registry": {"bandwidth_gbps": registry_gbps, "rtt_s": 0.02},
        "placement": {"policy": "kubernetes", "when_full": "queue", "max_wait_s": 600.0,
                      "max_concurrent_starts": max_starts},
        "faults": {"host_mtbf_s": mtbf_s, "host_repair_s": 600, "kernel_mtbf_s": 4 * mtbf_s, "on_failure": "resubmit"},
        "platform": {platform: rules},
        "images": IMAGES,
        "workload": {"synthetic": {
            "arrival_rate_per_s": 0.004 * hosts * 8, "lifetime_s": {"median": 300, "p95": 2400},
            "batch_fraction": 0.3, "images": [image["name"] for image in IMAGES], "image_zipf_s": zipf_s,
            "sizes": [{"cpu_cores": 1, "memory_gib": 2, "weight": 3}, {"cpu_cores": 2, "memory_gib": 6, "weight": 1}],
        }},
    }
    if max_starts is None:
        del data["placement"]["max_concurrent_starts"]
    return validate(data)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(platform=st.sampled_from(["vm", "container"]), hosts=st.integers(1, 4),
       net_gbps=st.sampled_from([0.2, 1.0, 10.0]), registry_gbps=st.sampled_from([0.1, 0.5, 10.0]),
       cache_gib=st.sampled_from([0.5, 1.0, 20.0]),
       start_s=st.sampled_from([0.0, 2.0]), zipf_s=st.sampled_from([0.0, 2.0]), mtbf_s=st.sampled_from([1800.0, 1e6]),
       max_starts=st.sampled_from([None, 2]), seed=st.integers(0, 2**16))
def test_pulls_on_the_heap_give_what_the_simpy_process_gave(platform, hosts, net_gbps, registry_gbps, cache_gib,
                                                            start_s, zipf_s, mtbf_s, max_starts, seed):
    config = pull_config(platform, hosts, net_gbps, registry_gbps, cache_gib, start_s, zipf_s, mtbf_s, max_starts,
                         seed)
    ours, reference = run_in(FastLane, config, platform), run_in(SimPyPulls, config, platform)
    assert_frame_equal(ours.instances, reference.instances, check_exact=True)
    assert_frame_equal(ours.hosts, reference.hosts, check_exact=True)
    assert_frame_equal(ours.timeseries, reference.timeseries, check_exact=True)
    # pulls happened, and some waited for the network (a fetch took longer than its round trip)
    pull_s = ours.instances["pull_s"].to_numpy()
    assert np.nansum(pull_s) > 0 and ours.hosts["pulled_gib"].sum() > 0


def test_a_layer_being_fetched_is_waited_for_not_fetched_twice():
    """Two instances needing the same image start on one host at one instant: the second
    waits for the first's layers (the host pulls each layer's GiB once) and both wait as
    long (rtt + transfer at the link's rate + the layer's unpack, per layer)."""
    config = pull_config("container", 1, 1.0, 10.0, 20.0, 0.0, 0.0, 1e6, None, 7)
    from simdc.workload import load_workload

    workload = load_workload(config.workload, config.simulation.duration_s, 7)
    instances = workload.instances.iloc[:2].copy()
    instances["submit_s"] = 10.0
    instances["image"] = "ml"
    instances["duration_s"] = 1000.0
    instances["kind"] = "service"
    from simdc.engine import run_platform

    sim = config.simulation
    run = run_platform("container", config.platform["container"], config.fleet, instances,
                       duration_s=sim.duration_s, sample_every_s=sim.sample_every_s, seed=sim.seed,
                       usage=None, placement=config.placement, power_off_idle=config.power_off_idle,
                       images={image.name: image for image in config.images}, registry=config.registry,
                       faults=config.faults, lane="general")
    layers_gib = [layer["size_mib"] / 1024 for layer in IMAGES[2]["layers"]]  # "ml"
    link_gib_s = 1.0 * 1e9 / 8 / 2**30  # 1 Gbit/s, slower than the 10 Gbit/s registry
    pull_s = sum(0.02 + gib / link_gib_s for gib in layers_gib)  # one flow at a time: the link's whole rate
    unpack_s = sum(gib * 1024 / 200 for gib in layers_gib)
    table = run.instances
    assert run.hosts["pulled_gib"].iloc[0] == sum(layers_gib)
    assert np.allclose(table["ready_s"], 10.0 + pull_s + unpack_s, rtol=0, atol=1e-9)
    # the first pulled and unpacked; the second waited out both
    assert np.allclose(sorted(table["pull_s"]), [pull_s, pull_s + unpack_s], rtol=0, atol=1e-9)
