"""The synthetic workload generator: Poisson or diurnal arrivals, a size mix,
lognormal (or any :class:`~simdc.model.Distribution`) lifetimes and per-instance usage.

Each aspect draws from its own stream, so changing the size mix leaves the arrival
times unchanged, and every draw is vectorised.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simdc.model.image import image_ref
from simdc.model.workload import SyntheticSpec, UsageFraction
from simdc.random import stream
from simdc.workload import COLUMNS, KINDS, Workload

DAY_S = 86400.0
# Concentration (α + β) of the Beta each instance's memory-bandwidth and I/O intensity is
# drawn from: 2 puts most instances light and a few heavy. No source gives how pressure
# spreads over instances: an assumption (README, Assumptions).
INTENSITY_CONCENTRATION = 2.0


def generate(spec: SyntheticSpec, duration_s: float, seed: int) -> Workload:
    """Instances arriving in ``[0, duration_s)`` as ``spec`` describes."""
    submit_s = arrival_times(spec, duration_s, stream(seed, "workload:arrivals"))
    n = len(submit_s)

    job = ""
    if spec.jobs is None:
        weights = np.array([s.weight for s in spec.sizes])
        size = stream(seed, "workload:sizes").choice(len(spec.sizes), size=n, p=weights / weights.sum())
    else:
        job, size, cpu_fraction, memory_fraction = _job_replicas(spec, stream(seed, "workload:jobs"), n)
    cpu_cores = np.array([s.cpu_cores for s in spec.sizes], dtype=float)[size]
    memory_gib = np.array([s.memory_gib for s in spec.sizes], dtype=float)[size]

    duration_s_ = spec.lifetime_s.sample(stream(seed, "workload:lifetimes"), n)
    # A zero lifetime is no instance at all; keep lifetimes above a millisecond.
    duration_s_ = np.maximum(duration_s_, 1e-3)
    if spec.jobs is None:
        usage = stream(seed, "workload:usage")
        cpu_used = cpu_cores * _fractions(spec.cpu_usage, usage, n)
        memory_used_gib = memory_gib * _fractions(spec.memory_usage, usage, n)
    else:
        cpu_used, memory_used_gib = cpu_cores * cpu_fraction, memory_gib * memory_fraction
    batch = stream(seed, "workload:kinds").random(n) < spec.batch_fraction
    image = _images(spec, stream(seed, "workload:images"), n)
    pressure = stream(seed, "workload:interference")
    membw = _intensity(spec.membw_intensity, pressure, n)
    io = _intensity(spec.io_intensity, pressure, n)

    instances = pd.DataFrame({
        "id": np.arange(n, dtype=np.int64),
        "submit_s": submit_s,
        "duration_s": duration_s_,
        "cpu_cores": cpu_cores,
        "memory_gib": memory_gib,
        "cpu_used": cpu_used,
        "memory_used_gib": memory_used_gib,
        "kind": pd.Categorical.from_codes(batch.astype(np.int8), categories=KINDS),
        "image": image,
        "priority": np.zeros(n, dtype=np.int64),
        "cpu_limit": np.nan,
        "memory_limit_gib": np.nan,
        "membw_intensity": membw,
        "io_intensity": io,
        "job": pd.Categorical(np.broadcast_to(np.asarray(job, dtype=object), (n,))),
    })
    return Workload(instances[list(COLUMNS)], source="synthetic")


def arrival_times(spec: SyntheticSpec, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    """Arrival times of a Poisson process on ``[0, duration_s)``, sorted.

    With ``diurnal_amplitude`` a > 0 the rate is ``λ(t) = λ (1 + a cos(2π (t − peak) / day))``,
    drawn by thinning a homogeneous process of rate ``λ (1 + a)`` (Lewis & Shedler 1979).
    """
    peak_rate = spec.arrival_rate_per_s * (1 + spec.diurnal_amplitude)
    times = _homogeneous(peak_rate, duration_s, rng)
    if spec.diurnal_amplitude > 0:
        phase = 2 * math.pi * (times - spec.diurnal_peak_s) / DAY_S
        rate = spec.arrival_rate_per_s * (1 + spec.diurnal_amplitude * np.cos(phase))
        times = times[rng.random(len(times)) * peak_rate < rate]
    return times


def _homogeneous(rate: float, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    expected = rate * duration_s
    chunks, end = [], 0.0
    while end < duration_s:
        n = int(expected + 6 * math.sqrt(expected) + 16)
        times = end + np.cumsum(rng.exponential(1 / rate, n))
        chunks.append(times)
        end = times[-1]
    times = np.concatenate(chunks)
    return times[times < duration_s]


def _job_replicas(spec: SyntheticSpec, rng: np.random.Generator,
                  n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each instance's job (``"job-<k>"``, k = 0 the most popular), by Zipf popularity,
    and its job's size class and mean usage fractions: arrays of shape ``(n,)``."""
    jobs = int(spec.jobs)
    weights = np.array([s.weight for s in spec.sizes])
    job_size = rng.choice(len(spec.sizes), size=jobs, p=weights / weights.sum())
    job_cpu = _fractions(spec.cpu_usage, rng, jobs)
    job_memory = _fractions(spec.memory_usage, rng, jobs)
    popularity = np.arange(1, jobs + 1, dtype=float) ** -spec.job_zipf_s
    of = rng.choice(jobs, size=n, p=popularity / popularity.sum())
    names = np.array([f"job-{k}" for k in range(jobs)], dtype=object)
    return names[of], job_size[of], job_cpu[of], job_memory[of]


def _images(spec: SyntheticSpec, rng: np.random.Generator, n: int) -> np.ndarray | str:
    """Image names by Zipf popularity, in the order the spec lists them (most popular first)."""
    if not spec.images:
        return ""
    rank = np.arange(1, len(spec.images) + 1, dtype=float)
    weights = rank ** -spec.image_zipf_s
    names = np.array([image_ref(name) for name in spec.images], dtype=object)
    return names[rng.choice(len(names), size=n, p=weights / weights.sum())]


def _intensity(mean: float, rng: np.random.Generator, n: int) -> np.ndarray:
    """Per-instance pressure on a shared resource: Beta(k·mean, k·(1 − mean)), k
    :data:`INTENSITY_CONCENTRATION`, or none."""
    if mean == 0:
        return np.zeros(n)
    return rng.beta(INTENSITY_CONCENTRATION * mean, INTENSITY_CONCENTRATION * (1 - mean), n)


def _fractions(usage: UsageFraction, rng: np.random.Generator, n: int) -> np.ndarray:
    return usage.sample(rng, n)
