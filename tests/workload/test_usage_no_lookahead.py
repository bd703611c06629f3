"""A usage series is never played before its time (README, ``workload.usage_step_s``).

The rule (:func:`simdc.workload.usage.on_steps`): a sample at offset t takes effect at the
first step boundary at or after it, ⌈t / step⌉·step; the samples taking effect together
give CPU their mean and memory their maximum; until the first sample takes effect the
instance uses its trace row's means. Expected figures below are worked out by hand from
that rule and the input files, not read from simdc's output. Each of the first three
cases is a new user's trial that the old resampling (each sample in the step that *starts
before* it, the last one winning) got wrong.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import simdc
from simdc.workload.readers.common import usage_samples
from simdc.workload.usage import ConstantUsage, SeriesUsage


def _run(tmp: Path, instances: list[dict], usage: list[tuple], duration_s: float, step_s: float | None = None,
         platform: str = "container", **container):
    pd.DataFrame(instances).to_csv(tmp / "trace.csv", index=False)
    pd.DataFrame(usage, columns=["id", "t_s", "cpu_cores", "memory_gib"]).to_csv(tmp / "usage.csv", index=False)
    workload = {"trace": str(tmp / "trace.csv"), "usage": str(tmp / "usage.csv")}
    if step_s is not None:
        workload["usage_step_s"] = step_s
    raw = {"simulation": {"duration_s": duration_s, "seed": 1, "platforms": [platform]},
           "host": {"cpu_cores": 8, "memory_gib": 16}, "workload": workload,
           "platform": {"container": {"start_s": 0, **container}}}
    return simdc.simulate(simdc.config.validate(raw))


def _row(results, name):
    return results.instances.set_index("id").loc[name]


LIMITED = {"id": "l", "submit_s": 0, "duration_s": 3000, "cpu_cores": 1, "memory_gib": 1, "cpu_used": 0.8,
           "memory_used_gib": 0.5, "memory_limit_gib": 2}


def test_a_memory_rise_kills_at_the_first_step_after_it_never_before(tmp_path):
    """Memory 0.5 GiB from 0 s, 2.5 GiB from 700 s, limit 2 GiB, 60-s steps: the rise takes
    effect at ⌈700/60⌉·60 = 720 s. Up to 690 s nothing is killed (the old code killed at
    660 s, 40 s before the rise); by 1,000 s it has been killed once, at 720 s."""
    usage = [("l", 0, 0.8, 0.5), ("l", 700, 0.8, 2.5)]
    early = _run(tmp_path, [LIMITED], usage, 690, step_s=60, restart_policy="never")
    assert (_row(early, "l")["outcome"], _row(early, "l")["oom_kills"]) == ("running_at_end", 0)
    late = _run(tmp_path, [LIMITED], usage, 1000, step_s=60, restart_policy="never")
    row = _row(late, "l")
    assert (row["outcome"], row["oom_kills"], row["end_s"], row["run_s"]) == ("oom_killed", 1, 720.0, 720.0)


def test_a_rise_between_steps_is_not_played_from_the_start(tmp_path):
    """Memory 0.5 GiB at 0 s, 3 GiB at 240 s, limit 1 GiB, the default 300-s step, no
    restart: the rise takes effect at 300 s, so the container runs 300 s (the old code
    killed it at 0 s: availability 0). Availability is the time run over the time asked:
    300 / 3,000 = 10 %."""
    instance = {**LIMITED, "id": "A", "cpu_used": 0.5, "memory_limit_gib": 1}
    results = _run(tmp_path, [instance], [("A", 0, 0.5, 0.5), ("A", 240, 0.5, 3.0)], 4000, restart_policy="never")
    row = _row(results, "A")
    assert (row["outcome"], row["end_s"], row["run_s"]) == ("oom_killed", 300.0, 300.0)
    assert results.summary.set_index("platform").loc["container", "service_availability"] == pytest.approx(0.1)


MINUTES = [("a", 60 * m, 3.0 if m == 4 else 1.0, 0.5) for m in range(10)]
TEN_MINUTES = {"id": "a", "submit_s": 0, "duration_s": 600, "cpu_cores": 4, "memory_gib": 2, "cpu_used": 1,
               "memory_used_gib": 0.5}


@pytest.mark.parametrize("step_s, demand", [
    # 300-s steps: the sample at 0 s over [0, 300), then the mean of those at 60..300 s,
    # (1 + 1 + 1 + 3 + 1) / 5 = 1.4 cores, over [300, 600): 300 + 420 core-s (the old code: 1,200)
    (300, 300 * 1 + 300 * 1.4),
    # 60-s steps: every sample on its own step, the series' integral 60 × (9 × 1 + 3)
    (60, 60 * (9 * 1 + 3)),
])
def test_cpu_demand_of_a_finer_series_is_the_mean_of_its_samples_per_step(tmp_path, step_s, demand):
    results = _run(tmp_path, [TEN_MINUTES], MINUTES, 1000, step_s=step_s)
    assert _row(results, "a")["cpu_demand_core_s"] == pytest.approx(demand)


def test_a_memory_peak_finer_than_the_step_is_kept_not_averaged_away(tmp_path):
    """Memory 0.5 GiB with one minute at 2.5 GiB (120-180 s), limit 2 GiB, 300-s steps:
    the samples at 60..300 s take effect at 300 s and memory is their maximum, 2.5 GiB, so
    the container is killed at 300 s (the kernel would at 120 s: up to a step late, never
    early). The old code kept the last sample of [0, 300), 0.5 GiB: never killed."""
    usage = [("l", 60 * m, 0.5, 2.5 if m == 2 else 0.5) for m in range(10)]
    results = _run(tmp_path, [LIMITED], usage, 1000, restart_policy="never")
    row = _row(results, "l")
    assert (row["outcome"], row["end_s"]) == ("oom_killed", 300.0)


def test_an_instance_uses_its_means_until_its_first_sample_takes_effect():
    """A series whose first sample is at 100 s: with 300-s steps that sample takes effect at
    300 s, and [0, 300) uses the trace row's means (as an instance without a series)."""
    table = pd.DataFrame({"id": ["x"], "t_s": [100.0], "cpu_cores": [3.0], "memory_gib": [2.0]})
    model = SeriesUsage.from_table(table, pd.Series(["x"]), 300.0, ConstantUsage(np.array([0.5]), np.array([1.0])))
    assert model.at_one(0, 299.0, 299.0) == (0.5, 1.0)
    assert model.at_one(0, 300.0, 300.0) == (3.0, 2.0)


# --- no instance's usage at time t depends on a sample later than t ---------------------------

SAMPLES = st.lists(st.tuples(st.floats(0, 3000, allow_nan=False), st.floats(0, 8), st.floats(0, 8)),
                   min_size=1, max_size=12)


def _table(samples_by_id: dict[str, list]) -> pd.DataFrame:
    rows = [(i, t, c, m) for i, samples in samples_by_id.items() for t, c, m in samples]
    return pd.DataFrame(rows, columns=["id", "t_s", "cpu_cores", "memory_gib"])


def _changed_after(samples: list, cut: float, new: list) -> list:
    """``samples`` with those after ``cut`` replaced by ``new`` (moved after ``cut``)."""
    return [s for s in samples if s[0] <= cut] + [(cut + 1 + t, c, m) for t, c, m in new]


@settings(max_examples=150, deadline=None)
@given(a=SAMPLES, b=SAMPLES, new_a=SAMPLES, new_b=st.lists(st.tuples(st.floats(0, 3000), st.floats(0, 8),
                                                                   st.floats(0, 8)), max_size=5),
       step_s=st.sampled_from([1.0, 7.5, 60.0, 300.0, 1000.0]), cut=st.floats(0, 3000, allow_nan=False),
       through_reader=st.booleans())
def test_usage_up_to_any_age_is_unchanged_by_samples_after_it(a, b, new_a, new_b, step_s, cut, through_reader):
    """Two series tables that agree on every sample at or before ``cut`` (each instance's own
    offsets) give the same usage at every age up to ``cut``, whatever came after, built by
    ``from_table`` directly (simdc's own usage table) or through the readers' ``usage_samples``."""
    means = ConstantUsage(np.array([0.25, 0.75, 1.5]), np.array([0.5, 1.0, 2.0]))
    ids = pd.Series(["a", "b", "none"])

    def model(table):
        if through_reader:
            position = pd.Index(ids).get_indexer(table["id"])
            table = usage_samples(position, table["t_s"].to_numpy(float), table["cpu_cores"].to_numpy(float),
                                  table["memory_gib"].to_numpy(float), ids.to_numpy(object))
        return SeriesUsage.from_table(table, ids, step_s, means)

    before = model(_table({"a": a, "b": b}))
    after = model(_table({"a": _changed_after(a, cut, new_a), "b": _changed_after(b, cut, new_b)}))
    ages = np.concatenate([np.linspace(0, cut, 25), [t for t, _, _ in a + b if t <= cut]])
    for inst in range(3):
        rows = np.full(len(ages), inst)
        got, want = after.at(rows, ages, 0.0), before.at(rows, ages, 0.0)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    for got, want in zip(after.at_start(np.arange(3), np.zeros(3)), before.at_start(np.arange(3), np.zeros(3))):
        assert np.array_equal(got, want)


@settings(max_examples=12, deadline=None)
@given(submit=st.lists(st.sampled_from([0.0, 45.0, 130.0, 400.0]), min_size=2, max_size=3),
       samples=st.lists(SAMPLES, min_size=3, max_size=3), new=st.lists(SAMPLES, min_size=3, max_size=3),
       step_s=st.sampled_from([60.0, 300.0]), horizon=st.sampled_from([500.0, 900.0]),
       platform=st.sampled_from(["container", "vm"]))
def test_a_run_to_t_is_unchanged_by_samples_after_t(submit, samples, new, step_s, horizon, platform):
    """Whole runs: a run to ``horizon`` gives the same results when every instance's samples
    later than ``horizon − submit`` (later than any age it can reach by then) differ. Memory
    limits make usage decide OOM kills; the hosts are small enough to contend."""
    instances = [{"id": f"i{k}", "submit_s": s, "duration_s": 2000, "cpu_cores": 2, "memory_gib": 4,
                  "cpu_used": 1, "memory_used_gib": 1, "memory_limit_gib": 6} for k, s in enumerate(submit)]
    runs = []
    for variant in (samples, [_changed_after(x, horizon - s, y) for x, s, y in zip(samples, submit, new)]):
        usage = [(f"i{k}", t, c, m) for k, (series, _) in enumerate(zip(variant, submit)) for t, c, m in series]
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(_run(Path(tmp), instances, usage, horizon, step_s=step_s, platform=platform))
    for table in ("summary", "instances", "timeseries"):
        pd.testing.assert_frame_equal(getattr(runs[0], table), getattr(runs[1], table))
