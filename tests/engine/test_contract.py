"""The engine's contract, checked through ``simdc.simulate`` on small configs.

Every claim is recomputed here from the instances table, the workload and the config,
independently of the engine's own bookkeeping: outcomes add up, only arrivals before
the horizon are submitted, runs are reproducible and platforms independent, and a
host's caps are never exceeded.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

import simdc
from simdc.config import Config, validate
from simdc.model.workload import SyntheticSpec
from simdc.workload import own
from simdc.workload.synthetic import generate

OUTCOMES = {"completed", "rejected", "oom_killed", "evicted", "running_at_end", "queued_at_end", "failed",
            "requeued_at_end"}
TOL = 1e-6


def build(data: dict[str, Any], directory: Path, changes: dict[str, Any] | None = None) -> Config:
    """Write ``data``, with dotted-key ``changes``, as TOML and load it as a user would."""
    data = copy.deepcopy(data)
    for key, value in (changes or {}).items():
        *tables, last = key.split(".")
        table = data
        for part in tables:
            table = table.setdefault(part, {})
        table[last] = value
    path = directory / "config.toml"
    path.write_text(tomli_w.dumps(data))
    return simdc.load_config(path)


def vm_size(config: Config, platform: str, workload: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, float]:
    """(vCPUs, memory GiB, guest OS GiB) of each workload row's VM: with the catalogue
    (these tests' traces and generator state needs, so ``sizing = "auto"`` takes it) the
    smallest size, fewest vCPUs then least memory, holding the need and the guest OS,
    found by trying every size; else the row's own size."""
    spec = config.platform[platform]
    sizing = spec.sizing if spec.sizing != "auto" else (
        "catalogue" if (config.workload.sizes or "need") == "need" else "as_given")
    cpu, mem = workload["cpu_cores"].to_numpy(float), workload["memory_gib"].to_numpy(float)
    if sizing != "catalogue":
        return cpu, mem, 0.0
    guest = spec.guest_os_mib / 1024
    vcpus, memory = cpu.copy(), mem + guest  # a need no size holds keeps itself
    for i, (c, m) in enumerate(zip(cpu, mem)):
        holding = [(s.vcpus, s.memory_gib) for s in spec.catalogue if s.vcpus >= c and s.memory_gib >= m + guest - 1e-9]
        if holding:
            vcpus[i], memory[i] = min(holding)
    return vcpus, memory, guest


def footprint(config: Config, platform: str, workload: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(CPU, memory GiB) each workload row books under ``platform``, from DESIGN.md §1:
    a VM books its size (:func:`vm_size`) + overhead; a container its request (or usage)
    + overhead."""
    spec = config.platform[platform]
    overhead = spec.overhead_mib / 1024
    if spec.rules == "vm":
        vcpus, memory, _ = vm_size(config, platform, workload)
        return vcpus, memory + overhead
    if spec.admission == "oracle":
        return workload["cpu_used"].to_numpy(float), workload["memory_used_gib"].to_numpy(float) + overhead
    return workload["cpu_cores"].to_numpy(float), workload["memory_gib"].to_numpy(float) + overhead


def caps(config: Config, platform: str) -> tuple[float, float]:
    """(CPU, memory GiB) a host lets instances book under ``platform``."""
    spec, host = config.platform[platform], config.host
    allocatable = host.memory_gib - host.reserved_memory_gib
    if spec.rules == "vm":
        return host.cpu_cores * spec.cpu_overcommit, allocatable * spec.memory_overcommit
    return host.cpu_cores * spec.overcommit, allocatable * spec.overcommit


def platform_rows(results: simdc.Results, platform: str) -> pd.DataFrame:
    """The instances of ``platform``, row for row aligned with the workload."""
    rows = results.instances[results.instances["platform"] == platform].reset_index(drop=True)
    assert rows["id"].tolist() == results.workload["id"].tolist()
    return rows


def stays(rows: pd.DataFrame, horizon: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(placed mask, from, to) of each instance's stay on its host, clipped to the horizon."""
    placed = rows["admit_s"].notna().to_numpy()
    start = rows["admit_s"].to_numpy(float)
    end = np.minimum(rows["end_s"].fillna(horizon).to_numpy(float), horizon)
    return placed, start, end


def peak_load(start: np.ndarray, end: np.ndarray, amount: np.ndarray) -> float:
    """Largest Σ amount over time of intervals [start, end); at one moment, ends come first."""
    if len(start) == 0:
        return 0.0
    times = np.concatenate([end, start])
    steps = np.concatenate([-amount, amount])
    order = np.lexsort((steps, times))
    return float(np.cumsum(steps[order]).max())


def check_contract(results: simdc.Results) -> None:
    """Conservation, time order and caps for every platform of ``results``."""
    config = results.config
    horizon = config.simulation.duration_s
    workload = results.workload
    summary = results.summary.set_index("platform")
    assert list(summary.index) == list(config.simulation.platforms)
    assert len(results.instances) == len(workload) * len(config.simulation.platforms)

    for platform in config.simulation.platforms:
        rows = platform_rows(results, platform)
        outcome = rows["outcome"].astype(str)
        assert set(outcome) <= OUTCOMES and outcome.notna().all()
        row = summary.loc[platform]
        assert row["submitted"] == len(workload)
        counts = ["rejected", "completed", "running_at_end", "queued_at_end", "oom_killed", "evicted", "failed",
                  "requeued_at_end"]
        assert sum(row[c] for c in counts) == row["submitted"]
        # placed at least once, or not: turned away on its first placement, or still waiting for it
        assert row["placed"] + row["rejected"] + row["queued_at_end"] == row["submitted"]
        for name in counts:
            assert row[name] == (outcome == name).sum(), name

        submit, admit = rows["submit_s"].to_numpy(float), rows["admit_s"].to_numpy(float)
        ready, end = rows["first_ready_s"].to_numpy(float), rows["end_s"].to_numpy(float)
        latest = rows["ready_s"].to_numpy(float)  # the latest attempt's start: the first, or a restart's
        began = ~np.isnan(ready)
        assert (np.isnan(latest) == ~began).all() and (latest[began] >= ready[began]).all()
        np.testing.assert_array_equal(submit, workload["submit_s"].to_numpy(float))
        placed = ~np.isnan(admit)
        assert row["placed"] == placed.sum()
        # Times are ordered and inside the run; each outcome has the times it implies.
        assert (admit[placed] >= submit[placed] - TOL).all()
        started = ~np.isnan(ready)
        assert (placed | ~started).all() and (ready[started] >= admit[started] - TOL).all()
        finished = ~np.isnan(end)
        assert (end[finished] <= horizon + TOL).all()
        assert (end[finished] >= submit[finished] - TOL).all()
        completed = (outcome == "completed").to_numpy()
        assert (placed & started & finished)[completed].all()
        # A service lives exactly duration_s from its first start, whatever the contention.
        duration = workload["duration_s"].to_numpy(float)
        service = (workload["kind"] == "service").to_numpy()
        done = completed & service
        np.testing.assert_allclose(end[done] - ready[done], duration[done], rtol=1e-9, atol=1e-6)
        running = (outcome == "running_at_end").to_numpy()
        assert (placed & ~finished)[running].all()
        assert (np.where(started, ready + duration, horizon)[running & service] >= horizon - TOL).all()
        rejected = (outcome == "rejected").to_numpy()
        assert (~placed & finished)[rejected].all()
        killed = (outcome == "oom_killed").to_numpy()
        assert (placed & finished)[killed].all()
        queued = (outcome == "queued_at_end").to_numpy()
        assert (~placed & ~finished)[queued].all()
        np.testing.assert_allclose(rows["boot_s"].to_numpy(float)[started], (ready - admit)[started])
        waited = np.where(placed, admit, np.where(finished, end, horizon)) - submit
        np.testing.assert_allclose(rows["queue_s"].to_numpy(float), waited, atol=1e-9)

        if config.placement.when_full == "reject":
            np.testing.assert_array_equal(admit[placed], submit[placed])
        else:
            # FIFO: nobody overtakes, and a waiting request is admitted only when an
            # instance leaves (ends or gives up) or on arrival.
            assert (np.diff(admit[placed]) >= -TOL).all()
            leaves = np.sort(end[finished])
            late = placed & (admit > submit + TOL)
            for t in admit[late]:
                k = np.searchsorted(leaves, t)
                assert any(abs(leaves[j] - t) <= TOL for j in (k - 1, k) if 0 <= j < len(leaves)), t
            wait = config.placement.max_wait_s
            if wait is not None:
                assert (admit[placed] - submit[placed] <= wait + TOL).all()
                gave_up = rejected & (end > submit + TOL)
                np.testing.assert_allclose(end[gave_up] - submit[gave_up], wait)

        # Caps: what is booked on the host never exceeds what it lets instances book.
        cpu, mem = footprint(config, platform, workload)
        cpu_cap, mem_cap = caps(config, platform)
        mask, start, stop = stays(rows, horizon)
        assert peak_load(start[mask], stop[mask], mem[mask]) <= mem_cap + TOL
        assert peak_load(start[mask], stop[mask], cpu[mask]) <= cpu_cap + TOL
        if config.placement.when_full == "queue":
            check_queue_head_never_fits(rows, cpu, mem, cpu_cap, mem_cap, horizon)

        # Density: summary (from the instances) and the engine's own integral agree.
        host = results.hosts[results.hosts["platform"] == platform]
        assert row["mean_instances"] == pytest.approx(host["resident_s"].sum() / horizon, rel=1e-9, abs=1e-9)


def check_queue_head_never_fits(rows: pd.DataFrame, cpu: np.ndarray, mem: np.ndarray,
                                cpu_cap: float, mem_cap: float, horizon: float) -> None:
    """Between any two events, the request at the head of the FIFO queue does not fit:
    the queue never holds a request the host could take. Checked at the midpoint of
    every interval between event times, so ties between events do not matter."""
    submit = rows["submit_s"].to_numpy(float)
    admit = rows["admit_s"].to_numpy(float)
    end = rows["end_s"].to_numpy(float)
    left = np.where(np.isnan(end), np.inf, end)
    times = np.unique(np.concatenate([submit, admit[~np.isnan(admit)], end[~np.isnan(end)], [horizon]]))
    times = times[times <= horizon]
    for m in (times[:-1] + times[1:]) / 2:
        booked = (admit <= m) & (left > m)
        waiting = np.flatnonzero((submit <= m) & ~(admit <= m) & (left > m))
        if len(waiting) == 0:
            continue
        head = waiting[0]  # rows are in submit order, as the queue is
        fits = cpu[booked].sum() + cpu[head] <= cpu_cap + TOL and mem[booked].sum() + mem[head] <= mem_cap + TOL
        assert not fits, ("queued request fits", rows["id"].iloc[head], m)


# --- configs ---------------------------------------------------------------------------

# A small host under heavy load, so the caps bind and requests are turned away.
BUSY_SYNTHETIC: dict[str, Any] = {
    "arrival_rate_per_s": 0.01,
    "lifetime_s": {"median": 1800, "p95": 7200},
    "sizes": [{"cpu_cores": 1, "memory_gib": 2, "weight": 4},
              {"cpu_cores": 2, "memory_gib": 8, "weight": 2},
              {"cpu_cores": 4, "memory_gib": 16, "weight": 1}],
    "memory_usage": {"mean": 0.4},
}
BUSY: dict[str, Any] = {
    "simulation": {"duration_s": 6 * 3600, "seed": 5, "platforms": ["vm", "container"], "sample_every_s": 600},
    "host": {"cpu_cores": 8, "memory_gib": 32, "reserved_memory_gib": 2},
    "workload": {"synthetic": BUSY_SYNTHETIC},
}

VARIANTS = {
    "reject": {},
    "queue": {"placement.when_full": "queue"},
    "queue-max-wait": {"placement.when_full": "queue", "placement.max_wait_s": 600},
    "overcommit": {"platform.vm.memory_overcommit": 1.5, "platform.vm.cpu_overcommit": 2.0,
                   "platform.container.overcommit": 1.25},
    "container-usage": {"platform.container.admission": "oracle", "host.cpu_cores": 2},
}


@pytest.fixture(scope="module")
def busy_runs(tmp_path_factory) -> dict[str, simdc.Results]:
    """One run of BUSY per variant, shared by the tests that only read them.

    The workload is drawn once and replayed as a trace, so every instance uses its mean
    (cpu_used, memory_used_gib) for its whole life and footprints can be recomputed here.
    """
    directory = tmp_path_factory.mktemp("busy")
    spec = SyntheticSpec.model_validate(BUSY_SYNTHETIC)
    drawn = generate(spec, BUSY["simulation"]["duration_s"], seed=BUSY["simulation"]["seed"])
    trace = own.write(drawn.instances, directory / "busy.parquet")
    data = {**BUSY, "workload": {"trace": str(trace)}}
    return {name: simdc.simulate(build(data, tmp_path_factory.mktemp(name), changes))
            for name, changes in VARIANTS.items()}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_instance_ends_in_one_outcome_and_caps_hold(busy_runs, variant):
    """Outcome counts add up to submitted, times are consistent with each outcome, and the
    booked memory and CPU on the host stay within allocatable × overcommit."""
    results = busy_runs[variant]
    check_contract(results)
    vm = results.summary.set_index("platform").loc["vm"]
    assert vm["submitted"] > 100
    # The load is heavy enough that the caps matter: some request had to wait or go.
    assert vm["rejected"] + vm["queued_at_end"] > 0 or (results.instances["queue_s"] > 0).any()


@pytest.mark.parametrize("variant", ["reject", "overcommit", "container-usage"])
def test_a_request_is_rejected_only_when_it_does_not_fit(busy_runs, variant):
    """With when_full = "reject", a request is turned away only if what is booked at
    its arrival plus its own footprint exceeds a cap (arrival times are continuous,
    so no departure coincides with an arrival)."""
    results = busy_runs[variant]
    config = results.config
    horizon = config.simulation.duration_s
    for platform in config.simulation.platforms:
        rows = platform_rows(results, platform)
        cpu, mem = footprint(config, platform, results.workload)
        cpu_cap, mem_cap = caps(config, platform)
        placed, start, stop = stays(rows, horizon)
        rejected = np.flatnonzero((rows["outcome"] == "rejected").to_numpy())
        assert len(rejected) > 0
        for i in rejected:
            t = rows["submit_s"].iloc[i]
            here = placed & (start < t) & (stop > t)
            too_much_memory = mem[here].sum() + mem[i] > mem_cap - TOL
            too_much_cpu = cpu[here].sum() + cpu[i] > cpu_cap - TOL
            assert too_much_memory or too_much_cpu, (platform, i, t)


def test_summary_and_engine_agree_on_density_and_utilisation(busy_runs):
    """mean_instances, peak_instances and the memory/CPU utilisation means, recomputed
    from the instances table (stays × footprints / capacity × duration), match the
    engine's own time integrals."""
    results = busy_runs["reject"]
    config = results.config
    horizon = config.simulation.duration_s
    workload = results.workload
    for platform in config.simulation.platforms:
        row = results.summary.set_index("platform").loc[platform]
        host = results.hosts.set_index("platform").loc[platform]
        rows = platform_rows(results, platform)
        placed, start, stop = stays(rows, horizon)
        assert row["mean_instances"] == pytest.approx((stop - start)[placed].sum() / horizon, rel=1e-9)
        assert row["mean_instances"] == pytest.approx(host["resident_s"] / horizon, rel=1e-9)
        assert row["peak_instances"] == host["peak_resident"]
        assert row["peak_instances"] == round(peak_load(start[placed], stop[placed], np.ones(placed.sum())))

        cpu, mem = footprint(config, platform, workload)
        capacity_s = config.host.memory_gib * horizon
        alloc = ((stop - start) * mem)[placed].sum() / capacity_s
        assert row["mem_alloc_util_mean"] == pytest.approx(alloc, rel=1e-9)

        overhead = config.platform[platform].overhead_mib / 1024
        # a VM demands its usage plus the hypervisor's share, within its vCPUs (rules.virtualisation)
        spec = config.platform[platform]
        if spec.rules == "vm":  # the application gets the size less the guest, which is used
            vcpus, memory, guest = vm_size(config, platform, workload)
            used = np.minimum(workload["memory_used_gib"], memory - guest).to_numpy() + overhead + guest
            demand = np.minimum(workload["cpu_used"] * (1 + spec.cpu_overhead), vcpus).to_numpy()
        else:
            used = np.minimum(workload["memory_used_gib"], workload["memory_gib"]).to_numpy() + overhead
            demand = np.minimum(workload["cpu_used"], workload["cpu_cores"]).to_numpy()
        started = rows["ready_s"].notna().to_numpy()
        run = np.minimum(rows["end_s"].fillna(horizon).to_numpy(), horizon) - rows["ready_s"].to_numpy()
        assert row["mem_used_util_mean"] == pytest.approx((run * used)[started].sum() / capacity_s, rel=1e-9)
        # Without CPU overcommit, demand never exceeds the cores: used = demand.
        cpu_s = config.host.cpu_cores * horizon
        assert row["cpu_util_mean"] == pytest.approx((run * demand)[started].sum() / cpu_s, rel=1e-9)


def test_timeseries_samples_match_the_instances_table(busy_runs):
    """At each sample time t (0, step, 2·step, … < duration) the timeseries shows the
    instances running then (ready ≤ t < end) and the memory booked then."""
    results = busy_runs["reject"]
    config = results.config
    horizon, step = config.simulation.duration_s, config.simulation.sample_every_s
    for platform in config.simulation.platforms:
        series = results.timeseries[results.timeseries["platform"] == platform]
        np.testing.assert_allclose(series["t_s"].to_numpy(), np.arange(0, horizon, step))
        rows = platform_rows(results, platform)
        _, mem = footprint(config, platform, results.workload)
        ready = rows["ready_s"].to_numpy(float)
        admit = rows["admit_s"].to_numpy(float)
        end = rows["end_s"].fillna(np.inf).to_numpy(float)
        for t, running, alloc in zip(series["t_s"], series["running"], series["mem_alloc_gib"]):
            assert running == ((ready <= t) & (end > t)).sum(), t
            assert alloc == pytest.approx(mem[(admit <= t) & (end > t)].sum(), abs=1e-6), t


# --- horizon, reproducibility, independence --------------------------------------------


def test_only_arrivals_before_the_horizon_are_submitted(tmp_path, write_trace, minimal):
    """Rows with submit_s >= duration_s are not submitted; everything before is, once per
    platform (the instances table has one row per kept workload row per platform)."""
    horizon = 3600.0
    submits = [0.0, 10.0, 1800.0, 3599.5, 3600.0, 3600.5, 7200.0]
    trace = write_trace([{"id": f"r{i}", "submit_s": s, "duration_s": 60, "cpu_cores": 1, "memory_gib": 1}
                         for i, s in enumerate(submits)])
    minimal["workload"] = {"trace": str(trace)}
    results = simdc.simulate(build(minimal, tmp_path, {"simulation.duration_s": horizon}))
    expected = sum(s < horizon for s in submits)
    assert results.summary["submitted"].tolist() == [expected, expected]
    for platform in ("vm", "container"):
        ids = results.instances.loc[results.instances["platform"] == platform, "id"].tolist()
        assert ids == [f"r{i}" for i, s in enumerate(submits) if s < horizon]
    check_contract(results)


def test_same_config_and_seed_give_identical_results(tmp_path):
    """Two runs of one config and seed: every table identical, value for value."""
    config = build(BUSY, tmp_path, {"placement.when_full": "queue", "placement.max_wait_s": 900})
    first, second = simdc.simulate(config), simdc.simulate(config)
    for table in ("summary", "instances", "timeseries", "hosts", "workload"):
        assert_frame_equal(getattr(first, table), getattr(second, table), check_exact=True, obj=table)


def test_different_seeds_give_different_results(tmp_path):
    """Another seed draws another workload and other start latencies, and records it."""
    config = build(BUSY, tmp_path)
    first, second = simdc.simulate(config), simdc.simulate(config, seed=config.simulation.seed + 1)
    assert second.config.simulation.seed == config.simulation.seed + 1
    assert second.manifest["seed"] == config.simulation.seed + 1
    assert not first.workload["submit_s"].equals(second.workload["submit_s"])
    assert not first.summary.equals(second.summary)


def test_seed_changes_start_latency_but_not_a_trace_workload(tmp_path, write_trace, minimal):
    """With a trace the workload is fixed; the seed still drives the start-latency draws."""
    trace = write_trace([{"id": i, "submit_s": 120.0 * i, "duration_s": 300, "cpu_cores": 1, "memory_gib": 1}
                         for i in range(20)])
    minimal["workload"] = {"trace": str(trace)}
    config = build(minimal, tmp_path)
    first, second = simdc.simulate(config, seed=1), simdc.simulate(config, seed=2)
    assert_frame_equal(first.workload, second.workload)
    assert (first.instances["outcome"] == "completed").all() and (second.instances["outcome"] == "completed").all()
    assert not np.allclose(first.instances["boot_s"], second.instances["boot_s"])


def test_a_platform_does_not_depend_on_the_others_in_the_run(tmp_path):
    """vm run alone, or alongside container (before or after it): identical vm rows in
    every table."""
    alone = simdc.simulate(build(BUSY, tmp_path, {"simulation.platforms": ["vm"]}))
    both = simdc.simulate(build(BUSY, tmp_path, {"simulation.platforms": ["vm", "container"]}))
    reversed_ = simdc.simulate(build(BUSY, tmp_path, {"simulation.platforms": ["container", "vm"]}))

    def vm(results: simdc.Results, table: str) -> pd.DataFrame:
        frame = getattr(results, table)
        return frame[frame["platform"] == "vm"].reset_index(drop=True)

    for other in (both, reversed_):
        for table in ("summary", "instances", "timeseries", "hosts"):
            assert_frame_equal(vm(other, table), vm(alone, table), check_exact=True, obj=table)


def test_request_larger_than_the_host_is_rejected_even_with_a_queue(tmp_path, write_trace, minimal):
    """A request that fits on no empty host is rejected at once, not queued forever;
    requests behind it are not blocked."""
    trace = write_trace([
        {"id": "huge", "submit_s": 0, "duration_s": 60, "cpu_cores": 1, "memory_gib": 64},
        {"id": "small", "submit_s": 1, "duration_s": 60, "cpu_cores": 1, "memory_gib": 1},
    ])
    minimal["workload"] = {"trace": str(trace)}
    results = simdc.simulate(build(minimal, tmp_path, {"placement.when_full": "queue"}))
    for platform in ("vm", "container"):
        rows = platform_rows(results, platform).set_index("id")
        assert rows.loc["huge", "outcome"] == "rejected" and rows.loc["huge", "end_s"] == 0
        assert rows.loc["small", "outcome"] == "completed" and rows.loc["small", "admit_s"] == 1


def test_queued_request_is_admitted_when_capacity_frees(tmp_path, write_trace, minimal):
    """One 4-core host, fixed 10 s boot: b (4 cores) arrives while a holds the host,
    waits, and is admitted the moment a ends; its start latency counts the wait."""
    trace = write_trace([
        {"id": "a", "submit_s": 0, "duration_s": 100, "cpu_cores": 4, "memory_gib": 1},
        {"id": "b", "submit_s": 30, "duration_s": 100, "cpu_cores": 4, "memory_gib": 1},
    ])
    minimal["workload"] = {"trace": str(trace)}
    results = simdc.simulate(build(minimal, tmp_path, {
        "simulation.platforms": ["vm"], "host.cpu_cores": 4, "platform.vm.boot_s": 10,
        "placement.when_full": "queue"}))
    rows = platform_rows(results, "vm").set_index("id")
    assert rows.loc["a", "end_s"] == 110
    assert rows.loc["b", "admit_s"] == 110 and rows.loc["b", "ready_s"] == 120
    assert rows.loc["b", "queue_s"] == 80 and rows.loc["b", "end_s"] == 220
    assert results.summary["start_p50_s"].iloc[0] == pytest.approx((10 + 90) / 2)


def test_queue_moves_on_when_its_head_gives_up(tmp_path, write_trace, minimal):
    """a holds half of a 4-core host; b wants all 4 and waits at the head; c wants 2 and
    waits behind b (FIFO). When b gives up after max_wait_s, c is admitted at once."""
    trace = write_trace([
        {"id": "a", "submit_s": 0, "duration_s": 1000, "cpu_cores": 2, "memory_gib": 1},
        {"id": "b", "submit_s": 1, "duration_s": 100, "cpu_cores": 4, "memory_gib": 1},
        {"id": "c", "submit_s": 2, "duration_s": 100, "cpu_cores": 2, "memory_gib": 1},
    ])
    minimal["workload"] = {"trace": str(trace)}
    results = simdc.simulate(build(minimal, tmp_path, {
        "simulation.platforms": ["vm"], "host.cpu_cores": 4, "platform.vm.boot_s": 0,
        "placement.when_full": "queue", "placement.max_wait_s": 10}))
    rows = platform_rows(results, "vm").set_index("id")
    assert rows.loc["b", "outcome"] == "rejected" and rows.loc["b", "end_s"] == 11
    assert rows.loc["c", "admit_s"] == 11 and rows.loc["c", "queue_s"] == 9
    check_contract(results)


def test_departure_frees_capacity_for_a_simultaneous_arrival(tmp_path, write_trace, minimal):
    """a holds all 4 cores until t = 15; b asks for them at t = 15. An end and a start at
    one moment do not overlap (simdc.metrics.peak_resident), so b fits."""
    trace = write_trace([
        {"id": "a", "submit_s": 0, "duration_s": 10, "cpu_cores": 4, "memory_gib": 1},
        {"id": "b", "submit_s": 15, "duration_s": 10, "cpu_cores": 4, "memory_gib": 1},
    ])
    minimal["workload"] = {"trace": str(trace)}
    results = simdc.simulate(build(minimal, tmp_path, {
        "simulation.platforms": ["vm"], "host.cpu_cores": 4, "platform.vm.boot_s": 5}))
    rows = platform_rows(results, "vm").set_index("id")
    assert rows.loc["a", "end_s"] == 15
    assert rows.loc["b", "outcome"] == "completed"


def test_admission_time_is_the_submit_time_exactly(tmp_path, write_trace, minimal):
    """With when_full = "reject" an instance is admitted at its submit time: admit_s ==
    submit_s and queue_s == 0, exactly. These two times make a + (b − a) != b."""
    a, b = 0.6408325365024959, 1.6448536269514722
    trace = write_trace([{"id": 1, "submit_s": a, "duration_s": 1, "cpu_cores": 1, "memory_gib": 1},
                         {"id": 2, "submit_s": b, "duration_s": 1, "cpu_cores": 1, "memory_gib": 1}])
    minimal["workload"] = {"trace": str(trace)}
    results = simdc.simulate(build(minimal, tmp_path, {"simulation.platforms": ["vm"]}))
    rows = platform_rows(results, "vm")
    assert rows["admit_s"].tolist() == [a, b]
    assert rows["queue_s"].tolist() == [0.0, 0.0]


def test_run_without_arrivals_still_summarises_every_platform(tmp_path, write_trace, minimal):
    """Every platform gets a summary row, with zero counts, even when nothing arrives
    before the horizon."""
    trace = write_trace([{"id": 1, "submit_s": 9000, "duration_s": 60, "cpu_cores": 1, "memory_gib": 1}])
    minimal["workload"] = {"trace": str(trace)}
    results = simdc.simulate(build(minimal, tmp_path, {"simulation.duration_s": 3600}))
    assert results.summary["platform"].tolist() == ["vm", "container"]
    assert (results.summary["submitted"] == 0).all()


# --- property: random small workloads ---------------------------------------------------

SIZE = st.sampled_from([0.5, 1.0, 2.0, 3.0, 4.0, 8.0])
ROW = st.fixed_dictionaries({
    "submit_s": st.one_of(st.integers(0, 400).map(float), st.floats(0, 400, allow_nan=False)),
    "duration_s": st.one_of(st.integers(1, 300).map(float), st.floats(0.5, 600, allow_nan=False)),
    "cpu_cores": SIZE,
    "memory_gib": SIZE,
    "use": st.floats(0, 1),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(ROW, min_size=1, max_size=25),
    when_full=st.sampled_from(["reject", "queue"]),
    max_wait_s=st.one_of(st.none(), st.sampled_from([1.0, 30.0, 200.0])),
    boot_s=st.sampled_from([0, 5, [0, 3, 40], {"mean": 20}]),
    vm_overcommit=st.sampled_from([1.0, 1.5]),
    admission=st.sampled_from(["requests", "oracle"]),
    host=st.sampled_from([(4, 8.0, 0.0), (8, 16.0, 2.0), (2, 32.0, 1.0)]),
    seed=st.integers(0, 3),
)
def test_outcomes_and_caps_hold_for_random_small_workloads(rows, when_full, max_wait_s, boot_s, vm_overcommit,
                                                           admission, host, seed):
    """Any small workload, either full-host policy, any wait limit, overcommit or not:
    every instance ends in one outcome, times are consistent, caps hold."""
    workload = pd.DataFrame([{
        "id": i, "submit_s": r["submit_s"], "duration_s": r["duration_s"],
        "cpu_cores": r["cpu_cores"], "memory_gib": r["memory_gib"],
        "cpu_used": r["cpu_cores"] * r["use"], "memory_used_gib": r["memory_gib"] * r["use"],
    } for i, r in enumerate(rows)])
    cores, memory, reserved = host
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "trace.parquet"
        workload.to_parquet(trace)
        data: dict[str, Any] = {
            "simulation": {"duration_s": 500, "seed": seed, "platforms": ["vm", "container"],
                           "sample_every_s": 50},
            "host": {"cpu_cores": cores, "memory_gib": memory, "reserved_memory_gib": reserved},
            "placement": {"when_full": when_full},
            "platform": {"vm": {"boot_s": boot_s, "memory_overcommit": vm_overcommit,
                                "cpu_overcommit": vm_overcommit},
                         "container": {"admission": admission, "start_s": boot_s}},
            "workload": {"trace": str(trace)},
        }
        if max_wait_s is not None and when_full == "queue":  # with "reject": a config error
            data["placement"]["max_wait_s"] = max_wait_s
        results = simdc.simulate(validate(data))
    assert len(results.workload) == sum(r["submit_s"] < 500 for r in rows)
    check_contract(results)
