"""``cpu_used`` and ``memory_used_gib`` from a series are its mean over time as the replay
plays it (:func:`simdc.workload.readers.common.series_means`): each sample holds until the
instance's next one, the last until the instance's end (README, Trace formats: "a gap in
the readings holds the last reading until the next"; :func:`simdc.workload.usage.on_steps`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simdc.workload.readers.common import WINDOW, series_means

sample_ = st.tuples(st.integers(0, 2), st.integers(0, 1000).map(float), st.floats(0, 64), st.floats(0, 256))


def played_mean(samples: list[tuple[float, float, float]], end: float) -> tuple[float, float]:
    """The integral of the step function the replay plays, over its time, by a plain loop:
    from each distinct sample time to the next (or to ``end``), the value of the samples at
    that time (CPU their mean, memory their maximum, as on_steps joins samples of a step);
    the function starts at the first sample (before it the replay plays this mean itself).
    A series with no sample before ``end`` plays none: the plain mean of its samples."""
    times = sorted({t for t, _, _ in samples})
    if times[0] >= end:
        return float(np.mean([c for _, c, _ in samples])), float(np.mean([m for _, _, m in samples]))
    cpu_area = mem_area = 0.0
    for i, t in enumerate(times):
        if t >= end:
            break
        until = min(times[i + 1] if i + 1 < len(times) else end, end)
        at = [(c, m) for u, c, m in samples if u == t]
        cpu_area += np.mean([c for c, _ in at]) * (until - t)
        mem_area += max(m for _, m in at) * (until - t)
    return cpu_area / (end - times[0]), mem_area / (end - times[0])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(samples=st.lists(sample_, min_size=1, max_size=30),
       ends=st.tuples(*(st.integers(1, 1200).map(float),) * 3), seed=st.integers(0, 2**32 - 1))
def test_the_mean_is_the_integral_of_the_played_step_function_over_its_time(samples, ends, seed):
    """Random sample times (ties included) and values of up to three instances, in any order,
    some samples after an instance's end (not played)."""
    order = np.random.default_rng(seed).permutation(len(samples))
    rows = [samples[i] for i in order]
    usage = pd.DataFrame({"id": [f"vm{r[0]}" for r in rows], "t_s": [r[1] for r in rows],
                          "cpu_cores": [r[2] for r in rows], "memory_gib": [r[3] for r in rows]})
    ids = np.array(["vm0", "vm1", "vm2", "none"], dtype=object)
    cpu, mem = series_means(usage, ids, np.array([*ends, 5.0]))
    for k in range(3):
        mine = [(t, c, m) for i, t, c, m in samples if i == k]
        if not mine:
            assert np.isnan(cpu[k]) and np.isnan(mem[k])
            continue
        want_cpu, want_mem = played_mean(mine, ends[k])
        assert cpu[k] == pytest.approx(want_cpu, rel=1e-9, abs=1e-9)
        assert mem[k] == pytest.approx(want_mem, rel=1e-9, abs=1e-9)
    assert np.isnan(cpu[3]) and np.isnan(mem[3])  # no sample: no mean


def test_a_reading_before_a_long_gap_weighs_the_whole_gap():
    """Readings at 0, 300 and 600 s of 1, 1 and 4 GiB, then none until the instance ends at
    3,600 s: the 4 GiB hold for 3,000 of the 3,600 s, (1·600 + 4·3,000) / 3,600 = 3.5 GiB
    (the plain mean of the readings said 2)."""
    usage = pd.DataFrame({"id": ["a"] * 3, "t_s": [0.0, 300.0, 600.0], "cpu_cores": [1.0, 1.0, 4.0],
                          "memory_gib": [1.0, 1.0, 4.0]})
    cpu, mem = series_means(usage, np.array(["a"], dtype=object), np.array([3600.0]))
    assert cpu[0] == mem[0] == pytest.approx((1 * 600 + 4 * 3000) / 3600)


def test_samples_with_windows_weigh_their_windows():
    """Google's and OpenDC's samples say how long each measured (window_s): each weighs
    its window, Σ value × window ÷ Σ window, whatever the gaps between them."""
    usage = pd.DataFrame({"id": ["a"] * 3, "t_s": [0.0, 140.0, 500.0], "cpu_cores": [0.2, 0.4, 0.1],
                          "memory_gib": [2.0, 1.0, 3.0], WINDOW: [140.0, 60.0, 30.0]})
    cpu, mem = series_means(usage, np.array(["a"], dtype=object), np.array([1000.0]))
    assert cpu[0] == pytest.approx((0.2 * 140 + 0.4 * 60 + 0.1 * 30) / 230)
    assert mem[0] == pytest.approx((2 * 140 + 1 * 60 + 3 * 30) / 230)
