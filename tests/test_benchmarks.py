"""The issue-16 benchmark scenarios measure what they say (benchmarks/capacity.py, run.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    """A module of benchmarks/ by its file: benchmarks/ is no package, and a bare
    ``import run`` could find another module of that name."""
    spec = importlib.util.spec_from_file_location(f"simdc_benchmarks_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


capacity = _load("capacity")
run = _load("run")


@pytest.mark.parametrize("hosts", [100, 1000])
def test_capacity_study_keeps_the_load_per_host_and_has_every_feature(hosts):
    config = capacity.capacity_config(hosts)
    synthetic = config.workload.synthetic
    assert sum(group.count for group in config.host_groups) == hosts
    assert synthetic.arrival_rate_per_s / hosts == pytest.approx(capacity.ARRIVALS_PER_HOST_S)
    assert config.registry.bandwidth_gbps / hosts == pytest.approx(capacity.REGISTRY_GBPS_PER_HOST)
    assert config.simulation.duration_s == 6 * 3600.0
    assert set(config.simulation.platforms) == {"vm", "container"}
    assert config.placement.policy == "kubernetes" and config.placement.when_full == "queue"
    assert config.placement.max_wait_s is not None
    assert config.faults.host_mtbf_s and config.faults.kernel_mtbf_s
    assert synthetic.membw_intensity > 0 and synthetic.io_intensity > 0
    assert synthetic.batch_fraction == pytest.approx(1 / 3, abs=0.01)
    # a catalogue with shared layers: one base under all ten, middle layers under several
    digests = [[layer.digest for layer in image.layers] for image in config.images]
    assert len(digests) == 10 and all(layers[0] == digests[0][0] for layers in digests)
    middle = pd.Series([d for layers in digests for d in layers[1:-1]]).value_counts()
    assert (middle >= 2).sum() >= 3


def test_booked_share_is_booked_core_seconds_over_the_fleets():
    """10 cores, window [50, 100): 2 cores held 40→70 (20 s in the window), 4 cores from
    60 to the end (40 s), one never admitted: (2·20 + 4·40) / (10·50) = 0.4."""
    results = SimpleNamespace(
        config=SimpleNamespace(simulation=SimpleNamespace(duration_s=100.0),
                               host_groups=[SimpleNamespace(cpu_cores=5.0, count=2)]),
        workload=pd.DataFrame({"id": ["a", "b", "c"], "cpu_cores": [2.0, 4.0, 1.0]}),
        instances=pd.DataFrame({"platform": "vm", "id": ["a", "b", "c"], "admit_s": [40.0, 60.0, np.nan],
                                "end_s": [70.0, np.nan, 55.0]}))
    assert capacity.booked_share(results, since_s=50.0) == {"vm": pytest.approx(0.4)}


@pytest.mark.parametrize("name", ["contention", "isolation"])
def test_scaled_configs_keep_the_arrivals_per_host(name):
    from simdc import load_config

    original = load_config(BENCHMARKS.parent / "configs" / f"{name}.toml")
    scaled = run.scaled_config(name, 100, 7 * 86400.0)
    before = sum(getattr(group, "count", 1) for group in original.host_groups)  # [host]: one
    assert sum(group.count for group in scaled.host_groups) == 100
    assert scaled.workload.synthetic.arrival_rate_per_s / 100 == pytest.approx(
        original.workload.synthetic.arrival_rate_per_s / before)
    assert scaled.simulation.duration_s == 7 * 86400.0
    assert scaled.simulation.platforms == original.simulation.platforms


def test_a_small_capacity_study_runs_with_hosts_booked_and_nothing_lost():
    """Two hosts for an hour: every arrival is placed or accounted for, and the booked
    share is a share."""
    import simdc

    results = simdc.simulate(capacity.capacity_config(2, 3600.0))
    summary = results.summary.set_index("platform")
    assert (summary["placed"] + summary["rejected"] + summary["queued_at_end"] <= summary["submitted"] * 2).all()
    assert (summary["placed"] > 0).all()
    assert all(0 < share <= 1 for share in capacity.booked_share(results).values())


def test_bare_fifo_first_fit_loop_by_hand():
    """Two hosts of 2 cores. a (2 cores, 0-10) fills host 0; b (1 core, at 1, 5 s) goes to
    host 1; c (2 cores, at 2) fits nowhere and waits; d (1 core, at 3) may not overtake c
    although host 1 has a core free; at 6 b leaves and c takes host 1, then d waits for a's
    end at 10 and takes host 0."""
    submit, life = np.array([0.0, 1, 2, 3]), np.array([10.0, 5, 4, 1])
    cpu, mem = np.array([2.0, 1, 2, 1]), np.ones(4)
    _, start, end, host = run.bare_fifo_first_fit(submit, life, cpu, mem, hosts=2, cores=2.0, memory_gib=8.0)
    assert start.tolist() == [0.0, 1.0, 6.0, 10.0]
    assert end.tolist() == [10.0, 6.0, 10.0, 11.0]
    assert host.tolist() == [0, 1, 1, 0]


def test_simdc_places_cloudsimpys_kind_of_workload_as_the_bare_loop_does(tmp_path):
    """The cloudsimpy scenario's claim that simdc and the reference loop do the same work,
    on a small random workload in CloudSimPy's format under the scenario's config: every
    instance is admitted at the same time on the same host."""
    import simdc
    from simdc import load_config

    rng = np.random.default_rng(7)
    tasks = 60
    jobs = tmp_path / "jobs.csv"
    rows = [",submit_time,duration,cpu,memory,job_id,task_id,instances_num,disk"]
    for t in range(tasks):
        rows.append(f"{t},{int(rng.integers(0, 600))},{rng.uniform(1, 300):.6f},{rng.choice([0.5, 1.0, 2.0])},"
                    f"{rng.uniform(0.001, 0.05):.6f},{t // 3},{t + 1},{int(rng.integers(1, 40))},0")
    jobs.write_text("\n".join(rows) + "\n")
    config = tmp_path / "c.toml"
    config.write_text(run.CLOUDSIMPY_TOML.format(trace=jobs, start=0, stop=600).replace("count = 50", "count = 3"))
    results = simdc.simulate(load_config(config))
    workload = results.workload
    columns = [workload[c].to_numpy(float) for c in ("submit_s", "duration_s", "cpu_cores", "memory_gib")]
    _, start, _, host = run.bare_fifo_first_fit(*columns, hosts=3, cores=64.0, memory_gib=384.0)
    table = results.instances.set_index("id").loc[workload["id"]]
    assert (start[1:] > columns[0][1:]).any()  # some waited: the queue was exercised
    assert np.array_equal(table["admit_s"].to_numpy(float), start, equal_nan=True)
    assert np.array_equal(table["host"].to_numpy(float), np.where(host < 0, np.nan, host), equal_nan=True)


@pytest.mark.parametrize("cells", [2, 3, 8])
def test_the_cells_scenario_is_the_capacity_study_split_into_equal_cells(cells):
    """Each cell holds the study's host shape ``hosts_per_cell`` times; the workload is
    the whole fleet's (0.01 arrivals per second per host) in equal shares summing to 1."""
    config = run.cells_config(cells, 10, 3600.0)
    study = capacity.capacity_config(10)
    assert [cell.name for cell in config.cells] == [f"cell{i}" for i in range(cells)]
    assert all(len(cell.fleet) == 10 for cell in config.cells)
    assert all(cell.hosts[0].model_dump(exclude={"count"}) == study.cluster.hosts[0].model_dump(exclude={"count"})
               for cell in config.cells)
    assert config.workload.synthetic.arrival_rate_per_s == pytest.approx(capacity.ARRIVALS_PER_HOST_S * 10 * cells)
    assert [cell.share for cell in config.cells] == pytest.approx([1 / cells] * cells)
    assert config.faults == study.faults and config.images == study.images


def test_compare_tables_flags_a_moved_count_and_passes_last_bit_float_differences(tmp_path, capsys):
    """benchmarks/compare_tables.py, the check that results did not move: a count that
    moved is BAD (exit 1), a float regrouped in its last bits (below 1e-9 relative) is
    reported but passes, equal tables are "identical"."""
    import pickle

    compare_tables = _load("compare_tables")
    rng = np.random.default_rng(3)
    base = pd.DataFrame({"placed": rng.integers(0, 100, 20), "cpu_used": rng.random(20)})

    def dumped(folder, frame):
        (tmp_path / folder).mkdir()
        with open(tmp_path / folder / "x.toml.pkl", "wb") as f:
            pickle.dump({table: frame for table in compare_tables.TABLES}, f)
        return str(tmp_path / folder)

    ref = dumped("ref", base)
    assert compare_tables.compare(ref, dumped("same", base.copy())) == 0
    assert "identical" in capsys.readouterr().out
    nudged = base.assign(cpu_used=base.cpu_used * (1 + 1e-13))
    assert compare_tables.compare(ref, dumped("nudged", nudged)) == 0
    assert "BAD" not in capsys.readouterr().out
    moved = base.assign(placed=base.placed + (np.arange(20) == 7))
    assert compare_tables.compare(ref, dumped("moved", moved)) == 1
    assert "placed: not float, differs" in capsys.readouterr().out


def test_placement_replay_gives_every_pick_of_the_run_and_catches_one_that_differs():
    """benchmarks/placement_replay.py: a fresh ScoredPlacer fed the run's changes in order
    picks the host the run picked at every placement (the placer's picks depend on the
    bookings alone); a recording with one pick altered is refused."""
    replay = _load("placement_replay")
    recordings = replay.record(8, 0.4)
    assert len(recordings) == 2  # a placer per platform
    for recording in recordings:
        calls = recording["calls"]
        assert sum(call[0] == replay.PLACE for call in calls) > 50
        assert sum(call[0] == replay.CHANGE for call in calls) > 50
        replay.replay(recording)
        k = next(n for n, call in enumerate(calls) if call[0] == replay.PLACE and call[2] >= 0)
        calls[k] = (*calls[k][:2], (calls[k][2] + 1) % 8, *calls[k][3:])
        with pytest.raises(SystemExit, match="1 picks differ"):
            replay.replay(recording)
