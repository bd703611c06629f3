"""The VPA recommender (simdc.engine.recommender) against hand computation, and admission
by it in the engine: a booking decided at t uses only what was known at t."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simdc
from simdc.engine.recommender import (
    HALF_LIFE_S,
    MIN_CPU_CORES,
    MIN_MEMORY_GIB,
    Recommender,
    learning_keys,
)

DAY_S = 86400.0


def bucket_end(value: float, first: float, growth: float = 0.05) -> float:
    """VPA's exponential buckets by hand (util/histogram_options.go): bucket n ≥ 1 starts
    at first·((1+g)^n − 1)/g, a value v lies in bucket ⌊log_{1+g}(v·g/first + 1)⌋, and a
    percentile is the end of its bucket (util/histogram.go)."""
    n = math.floor(math.log(value * growth / first + 1) / math.log(1 + growth))
    return first * ((1 + growth) ** (n + 1) - 1) / growth


def test_cpu_target_is_the_p90_bucket_end_plus_the_15_percent_margin():
    rec = Recommender(1, 10)
    # ten instances at once, 1 … 10 cores, each with a request of 1 core (equal weights)
    rec.observe(0.0, np.arange(10), np.zeros(10), np.arange(1.0, 11.0), np.full(10, 1.0), np.ones(10))
    cpu, _ = rec.recommend(0, 1.0)
    # 90 % of the weight is reached at the 9th sample: the end of 9 cores' bucket
    assert cpu == pytest.approx(bucket_end(9.0, 0.001) * 1.15, rel=1e-12)
    assert 9.0 * 1.15 < cpu <= 9.0 * 1.05 * 1.15


def test_a_sample_a_half_life_later_weighs_twice_as_much():
    """Weights grow as 2^(t / half-life): one sample of 1 core at 0 and one of 4 cores a
    day later weigh 1 and 2, so 4 cores hold 2/3 of the weight: the 40th percentile is
    already in 4 cores' bucket (without decay it would be 1 core's: 1/2 ≥ 0.4)."""
    rec = Recommender(1, 2, cpu_percentile=0.4)
    rec.observe(0.0, [0], [0], [1.0], [1.0], [1.0])
    rec.observe(HALF_LIFE_S, [1], [0], [4.0], [1.0], [1.0])
    cpu, _ = rec.recommend(0, HALF_LIFE_S + 1)
    assert cpu == pytest.approx(bucket_end(4.0, 0.001) * 1.15, rel=1e-12)
    weights = rec.cpu.weight[0]
    assert sorted(weights[weights > 0]) == pytest.approx([1.0, 2.0], rel=1e-12)
    # at the 30th percentile the older sample still decides: 1/3 ≥ 0.3
    rec30 = Recommender(1, 2, cpu_percentile=0.3)
    rec30.observe(0.0, [0], [0], [1.0], [1.0], [1.0])
    rec30.observe(HALF_LIFE_S, [1], [0], [4.0], [1.0], [1.0])
    assert rec30.recommend(0, HALF_LIFE_S + 1)[0] == pytest.approx(bucket_end(1.0, 0.001) * 1.15, rel=1e-12)


def test_cpu_samples_weigh_their_request():
    """A sample weighs max(request, 0.1): 1 core at a request of 4 against 3 cores at a
    request of 0.01 (weight 0.1): the median is 1 core's bucket."""
    rec = Recommender(1, 2, cpu_percentile=0.5)
    rec.observe(0.0, [0, 1], [0, 0], [1.0, 3.0], [1.0, 1.0], [4.0, 0.01])
    assert rec.recommend(0, 1.0)[0] == pytest.approx(bucket_end(1.0, 0.001) * 1.15, rel=1e-12)


def test_memory_target_is_the_p90_of_daily_peaks():
    """One peak per instance and 24 h interval: an instance whose memory climbs 1 → 3 GiB
    within a day leaves one sample, its peak 3 GiB, whatever came before it."""
    rec = Recommender(1, 1)
    for t, gib in ((0.0, 1.0), (60.0, 2.0), (120.0, 3.0), (180.0, 2.5)):
        rec.observe(t, [0], [0], [0.5], [gib], [1.0])
    _, mem = rec.recommend(0, 200.0)
    assert mem == pytest.approx(bucket_end(3.0, 1e7 / 2**30) * 1.15, rel=1e-12)
    assert rec.memory.weight[0].sum() == pytest.approx(rec.memory.weight[0].max(), rel=1e-12)  # one sample left


def test_memory_peaks_of_two_days_are_two_samples():
    """The second day's peak is a new sample: with peaks 1 GiB and 4 GiB a day apart
    (dated at each interval's end, so 4 GiB weighs twice), p90 is 4 GiB's bucket."""
    rec = Recommender(1, 1)
    rec.observe(0.0, [0], [0], [0.5], [1.0], [1.0])
    rec.observe(DAY_S + 60, [0], [0], [0.5], [4.0], [1.0])
    assert rec.recommend(0, DAY_S + 61)[1] == pytest.approx(bucket_end(4.0, 1e7 / 2**30) * 1.15, rel=1e-12)
    weights = rec.memory.weight[0]
    # dated at 1 d and 2 d; the reference is the first sample's time rounded to the half-life (1 d)
    assert sorted(weights[weights > 0]) == pytest.approx([1.0, 2.0], rel=1e-12)


def test_recommendations_have_vpa_minimums():
    rec = Recommender(1, 1)
    rec.observe(0.0, [0], [0], [0.0001], [0.001], [1.0])
    assert rec.recommend(0, 1.0) == (MIN_CPU_CORES, MIN_MEMORY_GIB)
    assert MIN_MEMORY_GIB == pytest.approx(250 / 1024)


def test_an_oom_kill_raises_memory_above_the_request():
    """RecordOOM: max(request, peak) × 1.2, at least +100 MiB, as this interval's peak."""
    rec = Recommender(1, 1)
    rec.observe(0.0, [0], [0], [0.5], [1.0], [1.0])
    rec.oom(30.0, 0, 0, 2.0)
    assert rec.recommend(0, 31.0)[1] == pytest.approx(bucket_end(2.4, 1e7 / 2**30) * 1.15, rel=1e-12)


def test_samples_are_invisible_until_after_they_were_observed():
    rec = Recommender(2, 1)
    assert rec.recommend(0, 0.0) is None
    rec.observe(100.0, [0], [0], [1.0], [1.0], [1.0])
    assert rec.recommend(0, 100.0) is None  # observed at 100: not before 100
    assert rec.recommend(0, 100.5) is not None
    assert rec.recommend(1, 200.0) is None  # another key learns nothing from it
    assert rec.recommend(-1, 200.0) is None


def test_instances_learn_from_their_job_else_their_image_else_nothing():
    table = pd.DataFrame({"job": ["a", "", "a", "", "b", None], "image": ["x", "x", "y", "", "x", "y"]})
    keys = learning_keys(table)
    assert keys[0] == keys[2] != keys[1]  # job a; the second row learns from image x
    assert keys[3] == -1  # neither
    assert keys[5] not in (keys[0], keys[1], keys[4], -1)  # image y
    assert len({keys[0], keys[1], keys[4], keys[5]}) == 4


# --- in the engine -------------------------------------------------------------------

START_S = 0.5  # constant: an instance's usage at age a is live from submit + START_S + a
BASE = {
    "simulation": {"duration_s": 6 * 3600.0, "seed": 3, "platforms": ["container"], "sample_every_s": 600.0},
    "host": {"cpu_cores": 16, "memory_gib": 64, "reserved_memory_gib": 0},
    "platform": {"container": {"admission": "recommender", "overhead_mib": 0, "start_s": START_S}},
    "workload": {"synthetic": {"arrival_rate_per_s": 0.01, "jobs": 6, "usage_step_s": 120.0,
                               "lifetime_s": {"median": 1200.0, "p95": 5000.0}}},
}


def bookings(tmp_path, base: dict, instances: pd.DataFrame, usage: pd.DataFrame | None) -> np.ndarray:
    """Run ``instances`` (with ``usage``) under ``base``; the memory each one booked."""
    from simdc.engine.simulation import Simulation
    from simdc.model.image import RegistrySpec
    from simdc.model.faults import FaultSpec
    from simdc.model.placement import PlacementSpec
    from simdc.workload.usage import ConstantUsage, SeriesUsage

    config = simdc.Config.model_validate(base)
    model = None
    if usage is not None:
        means = ConstantUsage(instances["cpu_used"].to_numpy(float), instances["memory_used_gib"].to_numpy(float))
        model = SeriesUsage.from_table(usage, instances["id"].astype(str), 120.0, means)
    sim = Simulation("container", config.platform["container"], [config.host], instances,
                     config.simulation.duration_s, 600.0, 3, model, PlacementSpec(), False, {}, RegistrySpec(),
                     FaultSpec())
    sim.run()
    return sim.fp.book_mem_gib.copy(), sim.fp.book_cpu.copy()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0.2, 0.8), seed=st.integers(0, 2**16), scale=st.floats(0.1, 3.0))
def test_bookings_decided_at_t_ignore_what_happens_after_t(tmp_path, cut, seed, scale):
    """Usage after t — of instances submitted after t, and of those running then from t
    on — altered at random leaves every booking decided at or before t as it was; and
    the first instance of each job books exactly
    what it declares."""
    from simdc.workload import synthetic

    config = simdc.Config.model_validate(BASE)
    instances = synthetic.generate(config.workload.synthetic, BASE["simulation"]["duration_s"], seed).instances
    rng = np.random.default_rng(seed)
    steps = 200
    usage = pd.DataFrame({
        "id": np.repeat(instances["id"].astype(str).to_numpy(), steps),
        "t_s": np.tile(np.arange(steps) * 120.0, len(instances)),
        "cpu_cores": np.repeat(instances["cpu_used"].to_numpy(), steps) * rng.lognormal(0, 0.5, steps * len(instances)),
        "memory_gib": np.repeat(instances["memory_used_gib"].to_numpy(), steps) * rng.lognormal(0, 0.3,
                                                                                              steps * len(instances)),
    })
    t = cut * BASE["simulation"]["duration_s"]
    mem, cpu = bookings(tmp_path, BASE, instances, usage)

    submit = dict(zip(instances["id"].astype(str), instances["submit_s"]))
    altered = usage.copy()
    mine = (altered["id"].map(submit) + START_S + altered["t_s"] > t).to_numpy()
    assert mine.any() and not mine.all()
    altered.loc[mine, "memory_gib"] *= scale * rng.permutation(np.linspace(0.5, 1.5, int(mine.sum())))
    altered.loc[mine, "cpu_cores"] *= scale
    mem2, cpu2 = bookings(tmp_path, BASE, instances, altered)

    before = (instances["submit_s"] <= t).to_numpy()
    np.testing.assert_array_equal(mem[before], mem2[before])
    np.testing.assert_array_equal(cpu[before], cpu2[before])

    first = ~instances["job"].astype(str).duplicated().to_numpy()
    np.testing.assert_array_equal(mem[first], instances["memory_gib"].to_numpy()[first])
    np.testing.assert_array_equal(cpu[first], instances["cpu_cores"].to_numpy()[first])
    learnt = ~first & (instances["submit_s"] > 3600).to_numpy()
    assert learnt.any()
    assert (mem[learnt] != instances["memory_gib"].to_numpy()[learnt]).any()  # it does learn


def test_the_recommender_takes_the_general_engine(tmp_path):
    config = simdc.Config.model_validate(BASE)
    results = simdc.simulate(config)
    assert results.summary["platform"].tolist() == ["container"]
    from simdc.engine.handlers import FastLane
    from simdc.workload import synthetic

    workload = synthetic.generate(config.workload.synthetic, config.simulation.duration_s, 3)
    from simdc.model.image import RegistrySpec
    from simdc.model.faults import FaultSpec
    from simdc.model.placement import PlacementSpec

    lane = FastLane("container", config.platform["container"], [config.host], workload.instances,
                    config.simulation.duration_s, 600.0, 3, None, PlacementSpec(), False, {}, RegistrySpec(),
                    FaultSpec())
    assert not lane.applies()


def test_usage_admission_is_refused_with_its_new_names(tmp_path):
    path = tmp_path / "old.toml"
    path.write_text('[simulation]\nduration_s = 60\n[host]\ncpu_cores = 1\nmemory_gib = 1\n'
                    '[platform.container]\nadmission = "usage"\n[workload.synthetic]\narrival_rate_per_s = 1\n')
    from typer.testing import CliRunner

    from simdc.cli import app

    out = CliRunner().invoke(app, ["run", str(path), "--no-write"])
    assert out.exit_code == 2
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "platform.container.admission" in lines[0] and '"oracle"' in lines[0] and '"recommender"' in lines[0]


def test_unplaceable_sees_the_booking_the_recommender_made(tmp_path):
    """A job declaring 1 GiB whose first replica uses 30 GiB: the next replica is
    recommended ~30 × 1.15 GiB, more than the 32 GiB host holds, so it is rejected and
    counted unplaceable (judged on the booking used, not the declared 1 GiB)."""
    (tmp_path / "w.csv").write_text("id,submit_s,duration_s,cpu_cores,memory_gib,memory_used_gib,job\n"
                                    "a,0,600,1,1,30,big\nb,900,600,1,1,30,big\n")
    (tmp_path / "c.toml").write_text(
        '[simulation]\nduration_s = 3600\nplatforms = ["container"]\n'
        '[host]\ncpu_cores = 4\nmemory_gib = 32\nreserved_memory_gib = 0\n'
        '[platform.container]\nadmission = "recommender"\n'
        '[workload]\ntrace = "w.csv"\n')
    results = simdc.simulate(simdc.load_config(tmp_path / "c.toml"))
    rows = results.instances.set_index("id")
    assert rows.loc["a", "outcome"] == "completed" and not rows.loc["a", "unplaceable"]
    assert rows.loc["b", "outcome"] == "rejected" and rows.loc["b", "unplaceable"]


ROW = st.fixed_dictionaries({
    "submit_s": st.floats(0.0, 3 * 3600.0),
    "duration_s": st.floats(300.0, 5000.0),
    "job": st.integers(0, 2),
})
JOB_SIZES = [(1.0, 2.0), (2.0, 4.0), (0.5, 1.0)]  # (cores, GiB) each job declares


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, min_size=5, max_size=30), uses=st.lists(st.floats(0.05, 1.0), min_size=3, max_size=3))
def test_each_admission_is_the_fit_test_on_bookings_replayed_independently(rows, uses):
    """One 4-core, 8 GiB host, each job's instances using one constant share of its
    request (``uses``), so a recommendation (the job's p90 plus a margin) holds what an
    instance uses: no contention and no OOM kill; rejected when full. (Instances of one
    job using different amounts can be booked below their use and OOM-killed: the risk
    the recommender takes, tests/realworld/test_rightsizing.py.) Replaying the recommender by hand — every minute,
    the instances the run had running then; each submission asks for its job's
    recommendation — gives each instance's booking; an instance is placed exactly when
    that booking fits beside the bookings of those resident at its submission."""
    import tempfile
    from pathlib import Path

    rows = sorted(rows, key=lambda r: r["submit_s"])
    workload = pd.DataFrame([{
        "id": i, "submit_s": r["submit_s"], "duration_s": r["duration_s"],
        "cpu_cores": JOB_SIZES[r["job"]][0], "memory_gib": JOB_SIZES[r["job"]][1],
        "cpu_used": JOB_SIZES[r["job"]][0] * uses[r["job"]],
        "memory_used_gib": JOB_SIZES[r["job"]][1] * uses[r["job"]],
        "job": f"j{r['job']}",
    } for i, r in enumerate(rows)])
    horizon = 4 * 3600.0
    with tempfile.TemporaryDirectory() as folder:
        trace = Path(folder) / "w.parquet"
        workload.to_parquet(trace)
        config = simdc.Config.model_validate({
            "simulation": {"duration_s": horizon, "platforms": ["container"], "sample_every_s": 600.0},
            "host": {"cpu_cores": 4, "memory_gib": 8, "reserved_memory_gib": 0},
            "platform": {"container": {"admission": "recommender", "overhead_mib": 0, "start_s": 0.5}},
            "workload": {"trace": str(trace)},
        })
        out = simdc.simulate(config).instances.sort_values("id")
    admit, ready, end = (out[c].to_numpy(float) for c in ("admit_s", "ready_s", "end_s"))
    assert (out["oom_kills"] == 0).all()

    n = len(workload)
    rec = Recommender(3, n)
    keys = np.array([r["job"] for r in rows])
    book = np.zeros((n, 2))
    ticks = iter(np.arange(0.0, horizon, 60.0))
    tick = next(ticks)
    for i, r in enumerate(rows):
        while tick <= r["submit_s"]:
            running = np.flatnonzero((ready <= tick) & ~(end <= tick))
            rec.observe(tick, running, keys[running], workload["cpu_used"].to_numpy()[running],
                        workload["memory_used_gib"].to_numpy()[running], book[running, 0])
            tick = next(ticks)
        advice = rec.recommend(int(keys[i]), r["submit_s"])
        book[i] = advice if advice is not None else JOB_SIZES[r["job"]]
        resident = np.flatnonzero((admit[:i] <= r["submit_s"]) & ~(end[:i] <= r["submit_s"]))
        fits = (book[resident, 0].sum() + book[i, 0] <= 4 + 1e-9) and (book[resident, 1].sum() + book[i, 1] <= 8 + 1e-9)
        assert fits == (not np.isnan(admit[i])), (i, book[i], book[resident].sum(axis=0))
