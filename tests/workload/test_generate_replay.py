"""``simdc trace generate`` writes a trace that replays as the synthetic run does.

The synthetic run is the oracle: its usage model has a value at every age of every
instance, read by the engine at each usage step of the run's clock. A replay of the
generated trace and its usage series must give the same instance tables, on every
platform, with the VPA-like recommender learning from that usage (README, ``simdc
trace generate``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simdc
from simdc.workload import synthetic, synthetic_usage
from simdc.workload.inspect import generate_trace

ROOT = Path(__file__).resolve().parents[2]


def replayed(config_path: Path, overrides: dict, tmp_path: Path, suffix: str) -> tuple[simdc.Results, simdc.Results]:
    """The synthetic run of a config, and the run of the trace ``trace generate`` writes of it."""
    config = simdc.load_config(config_path, overrides)
    _, written, usage = generate_trace(config, tmp_path / f"generated{suffix}")
    assert usage is not None
    replay = simdc.load_config(config_path, {**overrides, "workload.synthetic": None, "workload.trace": str(written),
                                             "workload.usage": str(usage)})
    return simdc.simulate(config), simdc.simulate(replay)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_generated_trace_replays_as_the_synthetic_run_under_the_recommender(tmp_path, suffix):
    """configs/isolation.toml for six hours: containers booked by the recommender (jobs,
    memory peaks), batch work slowed by neighbours past its duration, kernel and host
    failures. Every platform's instance table equals the synthetic run's, to the bit."""
    overrides = {"simulation.duration_s": 21600}
    synthetic_run, replay = replayed(ROOT / "configs" / "isolation.toml", overrides, tmp_path, suffix)
    want, got = synthetic_run.instances.reset_index(drop=True), replay.instances.reset_index(drop=True)
    assert (want["platform"] == "container").any()
    # the trace's ids are text; everything the run decided must be the same
    got["id"] = got["id"].astype(want["id"].dtype)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    pd.testing.assert_frame_equal(replay.summary, synthetic_run.summary, check_exact=True)


def test_generated_series_cover_every_age_a_run_can_reach(tmp_path):
    """An instance starts at its submission at the earliest and can run past its duration
    (slowed batch work, a move's pause) until the run ends, so the engine may read any
    age below ``duration_s − submit_s``: each instance's series has a sample at every
    multiple of the step below it, and over its whole duration."""
    config = simdc.load_config(ROOT / "configs" / "isolation.toml", {"simulation.duration_s": 21600})
    data, _, _ = generate_trace(config, tmp_path / "generated.parquet")
    step, horizon = config.workload.synthetic.usage_step_s, config.simulation.duration_s
    ages = data.usage.groupby("id")["t_s"].agg(["min", "max", "count"])
    instances = data.instances.set_index("id")
    reach = np.maximum(horizon - instances["submit_s"], instances["duration_s"])
    ages = ages.reindex(instances.index)
    assert (ages["min"] == 0).all()
    assert (ages["max"] + step >= reach).all()  # the last sample holds to the furthest age
    assert (ages["count"] == ages["max"] / step + 1).all()  # one sample every step, none missing


def test_generated_series_hold_the_shared_usage_an_instance_started_at_submission_sees(tmp_path):
    """With usage_correlation and usage_diurnal_amplitude (configs/contention.toml), the
    usage depends on the run's clock too. For an instance that starts at its submission
    the series holds what the model gives the engine: at the start (age 0, the submit
    time) and at each usage step of the clock (multiples of the step) from its second step
    of age on, where the engine reads the sample of the age it has reached
    (``SeriesUsage.at``: the latest sample at or before that age). At the clock's first
    step inside its first step of age the engine still reads the age-0 sample, while the
    model reads the shared parts anew: the one documented difference."""
    config = simdc.load_config(ROOT / "configs" / "contention.toml", {"simulation.duration_s": 7200})
    spec = config.workload.synthetic
    assert spec.usage_correlation > 0 and spec.usage_diurnal_amplitude > 0
    data, _, _ = generate_trace(config, tmp_path / "generated.parquet")
    workload = synthetic.generate(spec, config.simulation.duration_s, config.simulation.seed)
    model = synthetic_usage(spec, workload, config.simulation.seed)
    step, horizon = spec.usage_step_s, config.simulation.duration_s
    usage = data.usage.groupby("id")
    for i, row in enumerate(data.instances.head(40).itertuples()):
        series = usage.get_group(row.id).sort_values("t_s")
        t_s, cpu, mem = (series[c].to_numpy(float) for c in ("t_s", "cpu_cores", "memory_gib"))
        # (the engine reads a start through at_start or at_one, whose cos and exp, numpy's
        # or math's, may differ in the last place where the usage reads the clock)
        np.testing.assert_allclose((cpu[0], mem[0]), model.at_one(i, 0.0, row.submit_s), rtol=1e-15)
        clock = step * np.arange(np.ceil((row.submit_s + step) / step), np.ceil(horizon / step))
        for now in clock:
            age = now - row.submit_s
            k = np.flatnonzero(t_s <= age)[-1]
            want_cpu, want_mem = model.at(np.array([i]), np.array([age]), float(now))
            assert (cpu[k], mem[k]) == (want_cpu[0], want_mem[0]), (row.id, now)
