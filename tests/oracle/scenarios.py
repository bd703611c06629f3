"""Small configs for the oracle tests: one host, equal-or-few sizes, no overheads."""

from __future__ import annotations

from simdc.config import Config, validate


def single_host(*, slots: int, arrival_rate_per_s: float, lifetime_s, arrivals: int,
                sizes=((1, 1.0),), when_full: str = "reject", boot_s=0, seed: int = 1,
                sample_every_s: float | None = None, platform: str = "vm") -> Config:
    """A host of ``slots`` cores and ample memory; instances of ``sizes`` = (cores, weight).

    Overheads are zero and start latency is ``boot_s``, so an instance holds ``cores``
    units of CPU for start + lifetime: a loss (or queueing) system with ``slots`` units.
    """
    duration_s = arrivals / arrival_rate_per_s
    if platform == "vm":
        rules = {"overhead_mib": 0, "boot_s": boot_s}
    else:
        rules = {"overhead_mib": 0, "start_s": boot_s, "admission": "requests"}
    return validate({
        "simulation": {"duration_s": duration_s, "seed": seed, "platforms": [platform],
                       "sample_every_s": sample_every_s or duration_s / 10},
        "host": {"cpu_cores": slots, "memory_gib": 1e6},
        "placement": {"when_full": when_full},
        "platform": {platform: rules},
        "workload": {"synthetic": {
            "arrival_rate_per_s": arrival_rate_per_s,
            "lifetime_s": lifetime_s,
            "sizes": [{"cpu_cores": c, "memory_gib": 1.0, "weight": w} for c, w in sizes],
        }},
    })
