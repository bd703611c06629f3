"""The event loop (``simulation.run_events``) runs timers from a bare heap and steps SimPy
only for what waits on several things (image pulls over shared flows). It must give the
order SimPy alone gives: a run whose timers are all SimPy events, stepped by SimPy, must
produce the same tables to the bit, over random configs with pulls, failures, batch work,
interference, restarts and a queue.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import simpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal
from simpy.core import NORMAL

from simdc.config import validate
from simdc.engine import run_platform, runner
from simdc.engine.handlers import FastLane
from simdc.workload import load_workload


class SimPyTimers(FastLane):
    """The same run with every timer a SimPy event on SimPy's own queue (the heap stays
    empty, so the loop only steps SimPy): the reference order."""

    def _after(self, delay, callback, value, priority=NORMAL):
        env = self.env
        event = simpy.Event(env)
        event._ok, event._value = True, value
        event.callbacks.append(lambda e: callback(env.now, e._value))
        env.schedule(event, priority, delay)


IMAGES = [
    {"name": "web", "layers": [{"digest": "base", "size_mib": 75}, {"digest": "node", "size_mib": 250},
                               {"digest": "web", "size_mib": 40}], "disk_gib": 1.5},
    {"name": "api", "layers": [{"digest": "base", "size_mib": 75}, {"digest": "py", "size_mib": 320},
                               {"digest": "api", "size_mib": 30}], "disk_gib": 1.6},
    {"name": "ml", "layers": [{"digest": "base", "size_mib": 75}, {"digest": "py", "size_mib": 320},
                              {"digest": "ml", "size_mib": 900}], "disk_gib": 2.5},
]


def config_for(platform, hosts, cores, policy, max_wait_s, max_starts, batch, mtbf_s, restart, seed):
    rules = ({"restart_policy": "always" if restart else "never", "start_s": 2} if platform == "container"
             else {"boot_s": 30})
    data = {
        "simulation": {"duration_s": 7200.0, "seed": seed, "platforms": [platform], "sample_every_s": 300.0},
        "cluster": {"hosts": [{"cpu_cores": cores, "memory_gib": 4 * cores, "count": hosts, "net_gbps": 1,
                               "image_cache_gib": 1, "disk_write_mib_s": 200}]},
        "registry": {"bandwidth_gbps": 1.0, "rtt_s": 0.02},
        "placement": {"policy": policy, "when_full": "queue", "max_wait_s": max_wait_s,
                      "max_concurrent_starts": max_starts},
        "faults": {"host_mtbf_s": mtbf_s, "host_repair_s": 600, "kernel_mtbf_s": 4 * mtbf_s,
                   "on_failure": "resubmit"},
        "platform": {platform: rules},
        "images": IMAGES,
        "workload": {"synthetic": {
            "arrival_rate_per_s": 0.002 * hosts * cores, "lifetime_s": {"median": 300, "p95": 2400},
            "batch_fraction": batch, "membw_intensity": 0.3, "io_intensity": 0.2,
            "images": [image["name"] for image in IMAGES], "image_zipf_s": 1.0,
            "sizes": [{"cpu_cores": 1, "memory_gib": 2, "weight": 3}, {"cpu_cores": 2, "memory_gib": 6, "weight": 2},
                      {"cpu_cores": 4, "memory_gib": 12, "weight": 1}],
        }},
    }
    if max_starts is None:
        del data["placement"]["max_concurrent_starts"]
    return validate(data)


def run_in(kind, config, platform):
    """The run on the general engine, with ``kind`` as the engine's class. Submissions
    and lifetimes on a minute grid, starts of whole seconds: many events share an instant
    (ends, arrivals, samples, starts), where only priorities and scheduling order decide."""
    sim = config.simulation
    workload = load_workload(config.workload, sim.duration_s, sim.seed)
    instances = workload.instances.copy()
    instances["submit_s"] = np.floor(instances["submit_s"] / 60.0) * 60.0  # still sorted
    instances["duration_s"] = np.maximum(np.round(instances["duration_s"] / 60.0), 1.0) * 60.0
    with mock.patch.object(runner, "FastLane", kind):
        return run_platform(platform, config.platform[platform], config.fleet, instances,
                            duration_s=sim.duration_s, sample_every_s=sim.sample_every_s, seed=sim.seed,
                            usage=workload.usage, placement=config.placement, power_off_idle=config.power_off_idle,
                            images={image.name: image for image in config.images}, registry=config.registry,
                            faults=config.faults, lane="general")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(platform=st.sampled_from(["vm", "container"]), hosts=st.integers(1, 4), cores=st.sampled_from([4, 8]),
       policy=st.sampled_from(["first_fit", "kubernetes", "random"]), max_wait_s=st.sampled_from([None, 120.0]),
       max_starts=st.sampled_from([None, 2]), batch=st.sampled_from([0.0, 0.5]),
       mtbf_s=st.sampled_from([1800.0, 20000.0]), restart=st.booleans(), seed=st.integers(0, 2**16))
def test_the_bare_heap_kernel_gives_simpys_order(platform, hosts, cores, policy, max_wait_s, max_starts, batch,
                                                  mtbf_s, restart, seed):
    config = config_for(platform, hosts, cores, policy, max_wait_s, max_starts, batch, mtbf_s, restart, seed)
    ours, simpy_only = run_in(FastLane, config, platform), run_in(SimPyTimers, config, platform)
    assert ours.lane == simpy_only.lane == "general"
    assert_frame_equal(ours.instances, simpy_only.instances, check_exact=True)
    assert_frame_equal(ours.hosts, simpy_only.hosts, check_exact=True)
    assert_frame_equal(ours.timeseries, simpy_only.timeseries, check_exact=True)
    # the runs were not trivial: they pulled images and placed work
    assert np.nansum(ours.instances["pull_s"]) > 0 and ours.instances["admit_s"].notna().any()
