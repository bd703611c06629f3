"""Honest accounting (issue #17): only instances on a host count as resident, every
request is placed or not exactly once, a failure's victims are counted apart, and CPU
demand and bookings mean the same on every platform.

Each figure is computed here from the tables' raw columns (timeseries samples, times,
the workload), by hand, or from theory, not read back from the summary's own code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simdc
from simdc.config import validate
from simdc.model.platform import PRESETS

ROOT = Path(__file__).resolve().parents[2]
HORIZON_S = 20000.0


def heavy_faults(platforms, sample_every_s=HORIZON_S / 4, seed=3, **faults):
    """Two hosts near capacity, a queue with a patience, and hosts and kernels failing
    every hour or so: victims often wait for a host again."""
    return simdc.simulate(validate({
        "simulation": {"duration_s": HORIZON_S, "seed": seed, "platforms": platforms,
                       "sample_every_s": sample_every_s},
        "cluster": {"hosts": [{"cpu_cores": 16, "memory_gib": 64, "count": 2}]},
        "placement": {"when_full": "queue", "max_wait_s": 900},
        # VMs of the rows' own size (1 core, 2 GiB), as the containers' requests
        "platform": {"vm": {"sizing": "as_given"}} if "vm" in platforms else {},
        "faults": {"host_mtbf_s": 4000, "host_repair_s": 900, "kernel_mtbf_s": 3000, "kernel_repair_s": 120,
                   "on_failure": "resubmit", **faults},
        "workload": {"synthetic": {"arrival_rate_per_s": 0.08, "lifetime_s": {"mean": 600},
                                   "sizes": [{"cpu_cores": 1, "memory_gib": 2, "weight": 1}]}},
    }))


def outcome_counts(rows: pd.DataFrame) -> pd.Series:
    return rows["outcome"].astype(str).value_counts()


# --- Little's law: mean_instances counts only instances on a host -----------------------

def test_mean_instances_is_the_time_average_of_instances_on_hosts_under_heavy_faults():
    """L = λW (Little): the time average of instances on the fleet's hosts, read from a
    timeseries sampled every second (Σ over hosts of ``resident``, averaged over the
    samples), equals ``mean_instances`` within 1 %, on every platform; the old count
    (first admission to end, a victim's wait for a host included) is off by more."""
    results = heavy_faults(["vm", "container", "container_in_vm"], sample_every_s=1.0)
    summary = results.summary.set_index("platform")
    for platform, ts in results.timeseries.groupby("platform"):
        on_hosts = ts.groupby("t_s")["resident"].sum()
        assert len(on_hosts) == HORIZON_S
        time_average = on_hosts.mean()
        row = summary.loc[platform]
        assert row["failure_kills"] > 50 and row["replaced"] > 10  # heavy: many victims, placed again
        assert row["mean_instances"] == pytest.approx(time_average, rel=0.01), platform
        # λ × W: arrivals per second × mean time on a host per arrival, from the table
        rows = results.instances[results.instances["platform"] == platform]
        arrivals_per_s = len(rows) / HORIZON_S
        assert arrivals_per_s * rows["resident_s"].mean() == pytest.approx(time_average, rel=0.01)
        # first admission to end counts victims waiting for a host: too many
        admit, end = rows["admit_s"], rows["end_s"].fillna(HORIZON_S).clip(upper=HORIZON_S)
        old = (end - admit).sum() / HORIZON_S
        assert old > time_average * 1.01, platform
        # the peak: at least the most seen at a sample, at most the old intervals' count
        assert on_hosts.max() <= row["peak_instances"] <= old_peak(admit.to_numpy(), end.to_numpy())


def old_peak(admit: np.ndarray, end: np.ndarray) -> int:
    placed = ~np.isnan(admit)
    times = np.concatenate([end[placed], admit[placed]])
    steps = np.concatenate([-np.ones(placed.sum()), np.ones(placed.sum())])
    return int(np.cumsum(steps[np.lexsort((steps, times))]).max())


@pytest.mark.parametrize("seed", [3, 11])
def test_the_engines_record_of_time_off_a_host_is_each_instances_wait_to_be_placed_again(seed):
    """The engine's record of the times instances were off a host between stays
    (``PlatformRun.off_host``: failures' victims resubmitted, containers a drain
    restarted) adds up, per instance, to ``requeue_s``, which the engine derives apart
    from it (first admission to end, less ``resident_s``, the sum of its stays); every
    time lies within its instance's first admission and end; and the stays less these
    times give, swept (:func:`simdc.metrics.peak_resident`), the engine's own running count
    of the most instances on its fleet at once (``fleet_peak_resident``, from its bookings)."""
    from simdc import metrics
    from simdc.experiment import replay
    from simdc.workload import load_workload

    config = validate({
        "simulation": {"duration_s": HORIZON_S / 2, "seed": seed, "platforms": ["vm", "container"],
                       "sample_every_s": 1000.0},
        "cluster": {"hosts": [{"cpu_cores": 16, "memory_gib": 64, "count": 3}]},
        "placement": {"when_full": "queue", "max_wait_s": 900},
        "faults": {"host_mtbf_s": 4000, "host_repair_s": 900, "kernel_mtbf_s": 3000, "kernel_repair_s": 120,
                   "on_failure": "resubmit"},
        "maintenance": {"drains": [[1, 2000.0]], "maintenance_s": 600},
        "workload": {"synthetic": {"arrival_rate_per_s": 0.08, "lifetime_s": {"mean": 900},
                                   "sizes": [{"cpu_cores": 1, "memory_gib": 2, "weight": 1}]}},
    })
    sim = config.simulation
    for name, run in zip(sim.platforms, replay(config, load_workload(config.workload, sim.duration_s, seed), seed)):
        inst, off = run.instances, run.off_host
        waited = (off["to_s"] - off["from_s"]).groupby(off["row"]).sum()
        requeue = inst["requeue_s"].to_numpy()
        assert len(waited) > 20, name
        np.testing.assert_allclose(waited.to_numpy(), requeue[waited.index], rtol=0, atol=1e-6, err_msg=name)
        others = np.setdiff1d(np.flatnonzero(inst["admit_s"].notna()), waited.index)
        assert (requeue[others] == 0).all(), name
        admit, end = inst["admit_s"].to_numpy()[off["row"]], inst["end_s"].fillna(sim.duration_s).to_numpy()[off["row"]]
        assert ((admit <= off["from_s"]) & (off["from_s"] <= off["to_s"]) & (off["to_s"] <= end)).all(), name
        engine = int(run.hosts["fleet_peak_resident"].iloc[0])
        assert metrics.peak_resident(inst, sim.duration_s, off) == engine, name
        assert metrics.peak_resident(inst, sim.duration_s) > engine, name  # the victims' waits counted


# --- every request placed once or not ----------------------------------------------------

def check_outcomes(results: simdc.Results) -> None:
    """placed + rejected + queued_at_end = submitted, and submitted (+ blocked, with
    dependencies: never submitted) = the instances; every outcome agrees with the
    instance's own times and failure count."""
    summary = results.summary.set_index("platform")
    for platform, row in summary.iterrows():
        rows = results.instances[results.instances["platform"] == platform]
        counts = outcome_counts(rows)
        placed = rows["admit_s"].notna()
        # blocked: never submitted, a parent did not complete (a column only with dependencies)
        blocked = row.get("blocked", 0)
        assert row["submitted"] + blocked == len(rows)
        assert row["placed"] == placed.sum()
        assert row["placed"] + row["rejected"] + row["queued_at_end"] == row["submitted"], platform
        assert counts.sum() == len(rows)
        for outcome in ("rejected", "queued_at_end", "failed", "requeued_at_end"):
            assert row[outcome] == counts.get(outcome, 0), outcome
        assert blocked == counts.get("blocked", 0)
        outcome = rows["outcome"].astype(str)
        # never placed: rejected on the first placement, still waiting for it, or never submitted
        assert set(outcome[~placed]) <= {"rejected", "queued_at_end", "blocked"}
        assert not set(outcome[placed]) & {"rejected", "queued_at_end", "blocked"}
        # a failure's victims: lost, waiting again, or re-placed (then any outcome); a drain
        # restarts instances too (engine/migration.py), which may wait again
        victim = rows["failure_kills"] > 0
        moved = rows["migrations"] > 0 if "migrations" in rows else pd.Series(False, index=rows.index)
        assert (victim[outcome == "failed"]).all()
        assert ((victim | moved)[outcome == "requeued_at_end"]).all()
        assert (moved[outcome == "evicted"]).all()
        # a victim never placed again did not complete: lost, or still waiting
        assert outcome[victim & (rows["replacements"] == 0)].isin(["failed", "requeued_at_end"]).all()
        assert row["replaced"] == (rows["replacements"] > 0).sum()
        assert ((victim | moved)[rows["replacements"] > 0]).all()
        # only a failure or a move makes an instance wait for a host again; one still
        # waiting at the end has waited since it was struck, so a while
        assert (rows.loc[placed & ~victim & ~moved, "requeue_s"] == 0).all()
        assert rows["requeue_s"][~placed].isna().all()
        assert (rows.loc[outcome == "requeued_at_end", "requeue_s"] > 0).all()
        again = rows["replacements"] > 0
        assert (rows.loc[again, "replacements"] <= rows.loc[again, "failure_kills"]
                + (rows.loc[again, "migrations"] if "migrations" in rows else 0)).all()
        # the rejection rate is first placements turned away, of the requests submitted
        assert row["rejection_rate"] == pytest.approx((outcome == "rejected").sum() / (outcome != "blocked").sum())


EXAMPLES = sorted(path.name for path in (ROOT / "configs").glob("*.toml"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_config_places_each_request_once_or_not(name):
    """Every example config, two hours of it, with and without a host failure (victims
    resubmitted)."""
    path = ROOT / "configs" / name
    short = {"simulation.duration_s": 7200}
    check_outcomes(simdc.simulate(simdc.load_config(path, short)))
    check_outcomes(simdc.simulate(simdc.load_config(path, {
        **short, "faults.host_failures": [[0, 1800.0]], "faults.host_repair_s": 1200.0,
        "faults.on_failure": "resubmit"})))


def test_the_isolation_config_adds_up_for_a_whole_day():
    """The issue's case: placed + rejected + queued was 988 for 979 submitted."""
    check_outcomes(simdc.simulate(simdc.load_config(ROOT / "configs" / "isolation.toml")))


@pytest.mark.parametrize("container", ["restart", "checkpoint"])
def test_the_maintenance_config_adds_up_with_its_drains(container):
    """configs/maintenance.toml for two hours, its rolling drain from 10 minutes on (VMs
    live-migrated; containers restarted or checkpointed), a host failure during it:
    every request is placed once or not, and instances did move."""
    results = simdc.simulate(simdc.load_config(ROOT / "configs" / "maintenance.toml", {
        "simulation.duration_s": 7200, "maintenance.rolling_start_s": 600, "maintenance.maintenance_s": 300,
        "migration.container": container, "faults.host_failures": [[2, 1500.0]], "faults.host_repair_s": 600.0}))
    assert (results.summary["migrations"] > 0).all()
    check_outcomes(results)


fault_lists = st.lists(st.tuples(st.integers(0, 1), st.integers(0, int(HORIZON_S) // 4).map(float)),
                       max_size=4)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(host_failures=fault_lists, kernel_failures=fault_lists, on_failure=st.sampled_from(["resubmit", "lose"]),
       seed=st.integers(0, 1000))
def test_random_faults_place_each_request_once_or_not(host_failures, kernel_failures, on_failure, seed):
    results = simdc.simulate(validate({
        "simulation": {"duration_s": HORIZON_S / 4, "seed": seed, "platforms": ["vm", "container"],
                       "sample_every_s": 1000.0},
        "cluster": {"hosts": [{"cpu_cores": 8, "memory_gib": 32, "count": 2}]},
        "placement": {"when_full": "queue", "max_wait_s": 300},
        "faults": {"host_failures": [list(f) for f in host_failures],
                   "kernel_failures": [list(f) for f in kernel_failures],
                   "host_repair_s": 600, "kernel_repair_s": 60, "on_failure": on_failure},
        "workload": {"synthetic": {"arrival_rate_per_s": 0.05, "lifetime_s": {"mean": 400},
                                   "sizes": [{"cpu_cores": 1, "memory_gib": 2, "weight": 1}]}},
    }))
    check_outcomes(results)


# --- a victim's restart: ready_s and first_ready_s -----------------------------------------

def test_a_victim_placed_again_reports_its_restart_and_keeps_its_first_start(tmp_path):
    """../shared/cases/faults_stale_wait: a runs 0–100; b queues at 1, starts at 100,
    dies with the host at 150, waits for the repair (200 s) and starts again at 350.
    b's time on a host: 150 − 100 + 2000 − 350 = 1700 s; a's 100 s."""
    trace = tmp_path / "stale.csv"
    pd.DataFrame({"id": ["a", "b"], "submit_s": [0.0, 1.0], "duration_s": [100.0, 5000.0],
                  "cpu_cores": [4, 4], "memory_gib": [4, 4]}).to_csv(trace, index=False)
    results = simdc.simulate(validate({
        "simulation": {"duration_s": 2000, "seed": 1, "platforms": ["container"], "sample_every_s": 50},
        "host": {"cpu_cores": 4, "memory_gib": 8},
        "placement": {"when_full": "queue", "max_wait_s": 300},
        "faults": {"host_failures": [[0, 150]], "host_repair_s": 200, "on_failure": "resubmit"},
        "platform": {"container": {"start_s": 0}},
        "workload": {"trace": str(trace)},
    }))
    rows = results.instances.set_index("id")
    b = rows.loc["b"]
    assert (b["admit_s"], b["first_ready_s"], b["ready_s"]) == (100.0, 100.0, 350.0)
    assert b["outcome"] == "running_at_end" and b["replacements"] == 1
    assert rows["resident_s"].tolist() == [100.0, 1700.0]
    assert rows["requeue_s"].tolist() == [0.0, 200.0]  # b waited 150 → 350 for the repair
    assert rows["queue_s"].tolist() == [0.0, 99.0]  # its first wait: 1 → 100
    row = results.summary.iloc[0]
    assert row["requeue_mean_s"] == 200.0  # b, the one instance the failure struck
    assert row["mean_instances"] == pytest.approx(1800.0 / 2000.0)
    assert row["peak_instances"] == 1
    assert row["start_p50_s"] == pytest.approx((0.0 + 99.0) / 2)  # first start − submit: 0 and 99
    assert (row["placed"], row["replaced"], row["rejected"], row["failed"]) == (2, 1, 0, 0)


def test_a_victim_that_gives_up_waiting_is_lost_to_the_failure_not_rejected(tmp_path):
    """The same, with a repair of 1000 s: b's second wait runs out at 150 + 300 = 450."""
    trace = tmp_path / "stale.csv"
    pd.DataFrame({"id": ["a", "b"], "submit_s": [0.0, 1.0], "duration_s": [100.0, 5000.0],
                  "cpu_cores": [4, 4], "memory_gib": [4, 4]}).to_csv(trace, index=False)
    results = simdc.simulate(validate({
        "simulation": {"duration_s": 2000, "seed": 1, "platforms": ["container"]},
        "host": {"cpu_cores": 4, "memory_gib": 8},
        "placement": {"when_full": "queue", "max_wait_s": 300},
        "faults": {"host_failures": [[0, 150]], "host_repair_s": 1000, "on_failure": "resubmit"},
        "platform": {"container": {"start_s": 0}},
        "workload": {"trace": str(trace)},
    }))
    b = results.instances.set_index("id").loc["b"]
    assert b["outcome"] == "failed" and b["end_s"] == 450.0 and b["resident_s"] == 50.0
    assert b["requeue_s"] == 300.0  # 150 → 450, when its patience ran out
    row = results.summary.iloc[0]
    assert (row["rejected"], row["failed"], row["rejection_rate"]) == (0, 1, 0.0)


# --- comparable CPU: demand above a ceiling is demand, and unmet -------------------------

def busy_trace(tmp_path, **columns) -> Path:
    """One instance of 2 cores asking for 3 for 1000 s, from t = 0."""
    trace = tmp_path / "busy.csv"
    pd.DataFrame({"id": ["x"], "submit_s": [0.0], "duration_s": [1000.0], "cpu_cores": [2.0],
                  "memory_gib": [4.0], "cpu_used": [3.0], "memory_used_gib": [1.0], **columns}).to_csv(trace,
                                                                                                  index=False)
    return trace


@pytest.mark.parametrize("lane", ["general", "fast"])
@pytest.mark.parametrize("platform, limit, unmet_core_s", [
    ("vm", None, 1000.0),  # 2 vCPUs: 1 core of 3 clipped for 1000 s
    ("container", 2.0, 1000.0),  # a 2-core limit: the same
    ("container", None, 0.0),  # no ceiling on an idle 8-core host: all of it
])
def test_demand_above_a_ceiling_counts_as_demand_and_unmet(tmp_path, lane, platform, limit, unmet_core_s):
    """By hand: 3 cores wanted for 1000 s on an 8-core host over a 2000 s run: demand
    3000 core-s (3000 / 16000 of the host), used 3000 − unmet."""
    from simdc.engine import run_platform
    from simdc.workload import load_workload

    extra = {} if limit is None else {"cpu_limit": [limit]}
    config = validate({
        "simulation": {"duration_s": 2000, "seed": 1, "platforms": [platform]},
        "host": {"cpu_cores": 8, "memory_gib": 16},
        # no virtualisation overhead: the demand is the trace's, as asked
        "platform": {platform: {"boot_s": 0, "cpu_overhead": 0} if platform == "vm" else {"start_s": 0}},
        "workload": {"trace": str(busy_trace(tmp_path, **extra))},
    })
    sim = config.simulation
    workload = load_workload(config.workload, sim.duration_s, sim.seed)
    run = run_platform(platform, config.platform[platform], config.fleet, workload.instances, lane=lane,
                       duration_s=sim.duration_s, sample_every_s=100.0, seed=sim.seed, usage=workload.usage)
    assert run.lane == lane
    x = run.instances.iloc[0]
    assert x["cpu_demand_core_s"] == pytest.approx(3000.0)
    assert x["cpu_unmet_core_s"] == pytest.approx(unmet_core_s)
    summary = simdc.metrics.summary(run.instances, run.hosts).iloc[0]
    assert summary["cpu_demand_util_mean"] == pytest.approx(3000.0 / 16000.0)
    assert summary["cpu_util_mean"] == pytest.approx((3000.0 - unmet_core_s) / 16000.0)
    assert summary["cpu_unmet_core_s"] == pytest.approx(unmet_core_s)
    assert summary["cpu_unmet_share"] == pytest.approx(unmet_core_s / 3000.0)
    ts = run.timeseries
    assert ts.loc[ts["t_s"] < 1000, "cpu_demand"].eq(3.0).all()
    assert ts.loc[ts["t_s"] < 1000, "cpu_used"].eq(3.0 - unmet_core_s / 1000.0).all()


# --- CPU booked ---------------------------------------------------------------------------

@pytest.mark.parametrize("platform", ["vm", "container"])
def test_cpu_booked_is_the_time_weighted_bookings_over_the_cores(tmp_path, platform):
    """By hand: 2 cores booked over 0–100 s and 4 cores over 50–150 s on one 8-core host,
    a 200 s run: (2 × 100 + 4 × 100) / (8 × 200) = 0.375, whatever they use; memory
    allocated beside it: (4 + 6 GiB) × 100 s over 32 GiB × 200 s, plus overheads."""
    trace = tmp_path / "two.csv"
    pd.DataFrame({"id": ["a", "b"], "submit_s": [0.0, 50.0], "duration_s": [100.0, 100.0],
                  "cpu_cores": [2.0, 4.0], "memory_gib": [4.0, 6.0], "cpu_used": [0.1, 0.5],
                  "memory_used_gib": [1.0, 1.0]}).to_csv(trace, index=False)
    results = simdc.simulate(validate({
        "simulation": {"duration_s": 200, "seed": 1, "platforms": [platform]},
        "host": {"cpu_cores": 8, "memory_gib": 32, "reserved_memory_gib": 0},
        # hand-sized VMs: the rows are their sizes (no catalogue rounding)
        "platform": {platform: {"boot_s": 0, "overhead_mib": 0, "sizing": "as_given"} if platform == "vm"
                     else {"start_s": 0, "overhead_mib": 0}},
        "workload": {"trace": str(trace)},
    }))
    row = results.summary.iloc[0]
    assert row["cpu_booked_util_mean"] == pytest.approx(0.375)
    assert row["mem_alloc_util_mean"] == pytest.approx((4.0 + 6.0) * 100 / (32 * 200))


def test_cpu_booked_counts_only_bookings_on_hosts_under_faults():
    """Under failures, booked CPU is the instances' time on a host × what each books
    (1 core here) over the cores: Σ resident_s / (cores × duration)."""
    results = heavy_faults(["vm", "container"])
    cores_s = 32 * HORIZON_S
    for platform, rows in results.instances.groupby("platform", observed=True):
        row = results.summary.set_index("platform").loc[platform]
        assert row["cpu_booked_util_mean"] == pytest.approx(rows["resident_s"].sum() / cores_s, rel=1e-9)


def test_every_preset_is_a_platform_the_fault_tests_cover():
    from tests.engine.test_fault_timing import PLATFORMS

    assert set(PLATFORMS) == set(PRESETS)
