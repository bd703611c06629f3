"""Running one platform: the general engine, or its uncontended lane when that suffices."""

from __future__ import annotations

import pandas as pd

from simdc.engine.simulation import PlatformRun, Simulation
from simdc.engine.uncontended import BecameSlow, Uncontended
from simdc.model.faults import FaultSpec
from simdc.model.host import HostSpec
from simdc.model.image import RegistrySpec
from simdc.model.placement import PlacementSpec
from simdc.model.platform import ContainerPlatform, VmPlatform


def run_platform(name: str, platform: VmPlatform | ContainerPlatform, hosts: list[HostSpec],
                 instances: pd.DataFrame, *, duration_s: float, sample_every_s: float, seed: int,
                 usage=None, placement: PlacementSpec | None = None, power_off_idle: bool = False,
                 progress=None, images: dict | None = None,
                 registry: RegistrySpec | None = None, faults: FaultSpec | None = None,
                 lane: str = "auto") -> PlatformRun:
    """Replay ``instances`` (sorted by ``submit_s``) on ``hosts`` under ``platform``.

    Parameters
    ----------
    duration_s
        Horizon in seconds; the state at that moment decides ``running_at_end``.
    sample_every_s
        Step of the timeseries, seconds.
    seed
        The run's seed; this platform's random streams are derived from it and ``name``.
    usage
        A usage model (:mod:`simdc.workload.usage`); default: each instance's mean usage.
    progress
        Called as ``progress(t_s)`` with the simulated time at every sample.
    images, registry
        The image catalogue (``name:tag`` -> ImageSpec) and where images are pulled from.
    faults
        Host and kernel failures to inject (:mod:`simdc.model.faults`).
    lane
        ``"auto"`` runs :class:`~simdc.engine.uncontended.Uncontended` when no host can
        ever be contended (the same tables, a fraction of the work), else the general
        :class:`~simdc.engine.simulation.Simulation`; ``"general"`` and ``"uncontended"``
        force one (the tests compare them).
    """
    args = (name, platform, hosts, instances, duration_s, sample_every_s, seed, usage,
            placement or PlacementSpec(), power_off_idle, images or {}, registry or RegistrySpec(),
            faults or FaultSpec())
    sim = Simulation(*args) if lane == "general" else Uncontended(*args)
    if lane == "auto" and not sim.applies():
        sim = Simulation(*args)
    sim.progress = progress
    try:
        return sim.run()
    except BecameSlow:  # the lane's premise failed at a rounding edge: run it in full
        if lane != "auto":
            raise
        sim = Simulation(*args)
        sim.progress = progress
        return sim.run()
