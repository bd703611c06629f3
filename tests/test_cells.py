"""A fleet of cells (issue #20): the same tables wherever the cells run, routing that
depends on the workload alone, one cell that is a one-fleet run, and a bad cells config
that is one line.

Every Dask scheduler here listens on loopback (127.0.0.1) only.
"""

from __future__ import annotations

import copy
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import simdc
from simdc.cells import route
from simdc.cli import app
from simdc.config import validate
from simdc.model.cells import CellSpec, RoutingSpec
from simdc.model.host import ClusterSpec
from simdc.random import cell_seed
from simdc.results import load_results

from tests.conftest import MINIMAL

DASK_SCHEDULER = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
DASK_WORKER = [sys.executable, "-m", "distributed.cli.dask_worker"]
HOST = {"cpu_cores": 8, "memory_gib": 16, "reserved_memory_gib": 1}
TABLES = ("summary", "instances", "timeseries", "hosts", "workload")


def cells_config(cells: int = 4, **changes) -> dict:
    """MINIMAL's workload, four times the arrivals, on ``cells`` cells of one to three hosts."""
    raw = copy.deepcopy(MINIMAL)
    del raw["host"]
    raw["workload"]["synthetic"]["arrival_rate_per_s"] = 0.04
    raw["cells"] = [{"name": f"cell{i}", "share": 1 / cells, "hosts": [dict(HOST, count=1 + i % 3)]}
                    for i in range(cells)]
    raw.update(changes)
    return raw


def write(path: Path, raw: dict) -> Path:
    path.write_text(tomli_w.dumps(raw))
    return path


def run(config: Path, out: Path, *flags: str) -> None:
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(out), "--format", "csv", *flags])
    assert result.exit_code == 0, result.output


def tables(directory: Path) -> dict[str, pd.DataFrame]:
    results = load_results(directory)
    return {name: getattr(results, name) for name in TABLES}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, "the Dask scheduler did not start"
            time.sleep(0.1)


def test_four_cells_give_identical_tables_in_process_on_a_local_cluster_and_on_a_dask_scheduler(tmp_path):
    """The cells' tables do not depend on where the cells ran: in this process one after
    another, on a 2-worker local cluster, or on a ``dask scheduler`` with two ``dask
    worker`` processes (started here on loopback, and stopped even when the test fails)."""
    config = write(tmp_path / "cells.toml", cells_config(4))
    run(config, tmp_path / "in-process")
    run(config, tmp_path / "local", "--workers", "2")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [subprocess.Popen([*DASK_SCHEDULER, "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                  **quiet)]
    try:
        processes += [subprocess.Popen([*DASK_WORKER, address, "--nthreads", "1", "--no-dashboard",
                                        "--host", "127.0.0.1"], **quiet) for _ in range(2)]
        wait_for_port(port)
        run(config, tmp_path / "scheduler", "--scheduler", address)
    finally:
        for process in processes:
            process.kill()
            process.wait()
    expected = tables(tmp_path / "in-process")
    assert sorted(expected["instances"]["cell"].unique()) == [f"cell{i}" for i in range(4)]
    for where in ("local", "scheduler"):
        for name, table in tables(tmp_path / where).items():
            pd.testing.assert_frame_equal(table, expected[name], check_exact=True, obj=f"{where} {name}")


def test_every_request_is_replayed_in_exactly_one_cell_and_the_summary_adds_up(tmp_path):
    """Each request of the workload is in one cell's rows, once per platform; the fleet's
    counts are the sums of the cells' own summaries, its hosts the cells' hosts."""
    config = validate(cells_config(3))
    results = load_results(_written(tmp_path, config))
    workload = results.workload
    assert workload["id"].is_unique
    cells = pd.read_csv(tmp_path / "out" / "cells.csv", dtype={"platform": str, "cell": str})
    for platform in config.simulation.platforms:
        mine = results.instances[results.instances["platform"] == platform]
        assert sorted(mine["id"]) == sorted(workload["id"])
        assert (mine["cell"].to_numpy() == workload["cell"].to_numpy()).all()
        fleet = results.summary.set_index("platform").loc[platform]
        by_cell = cells[cells["platform"] == platform]
        for count in ("submitted", "placed", "rejected", "completed", "running_at_end", "hosts", "hosts_used"):
            assert fleet[count] == by_cell[count].sum(), count
        assert fleet["hosts"] == len(config.fleet) == 1 + 2 + 3


def _written(tmp_path: Path, config) -> Path:
    path = write(tmp_path / "c.toml", config.to_dict())
    run(path, tmp_path / "out")
    return tmp_path / "out"


def test_one_cell_is_the_one_fleet_run_with_the_cells_seed(tmp_path, write_trace):
    """A single cell replays the same requests on the same hosts as a one-fleet run whose
    seed is the cell's own (:func:`simdc.random.cell_seed`): the cell machinery changes
    nothing but the seed it hands the engine. (A trace, so the workload does not depend
    on the seed.)"""
    rng = np.random.default_rng(7)
    rows = [{"id": i, "submit_s": float(t), "duration_s": float(d), "cpu_cores": c, "memory_gib": 2.0 * c}
            for i, (t, d, c) in enumerate(zip(np.sort(rng.uniform(0, 7000, 150)), rng.uniform(60, 4000, 150),
                                              rng.choice([1, 2, 4], 150)))]
    trace = write_trace(rows)
    fleet = copy.deepcopy(MINIMAL)
    fleet["workload"] = {"trace": str(trace)}
    fleet["host"]["memory_gib"] = 32
    fleet["simulation"]["seed"] = cell_seed(3, "only")
    one_cell = copy.deepcopy(fleet)
    one_cell["simulation"]["seed"] = 3
    one_cell["cells"] = [{"name": "only", "share": 1.0, "hosts": [one_cell.pop("host")]}]
    run(write(tmp_path / "fleet.toml", fleet), tmp_path / "fleet")
    run(write(tmp_path / "cell.toml", one_cell), tmp_path / "cell")
    expected, got = tables(tmp_path / "fleet"), tables(tmp_path / "cell")
    for name in ("instances", "timeseries"):
        table = got[name].drop(columns="cell")
        pd.testing.assert_frame_equal(table, expected[name], check_exact=True, check_dtype=False,
                                      check_categorical=False, obj=name)
    pd.testing.assert_frame_equal(got["summary"], expected["summary"], check_exact=True)


@settings(max_examples=12, deadline=None)
@given(cells=st.integers(1, 3), seed=st.integers(0, 2**31), host_mtbf_s=st.sampled_from([2000, 5000, 20000]),
       kernel_mtbf_s=st.sampled_from([1500, 4000, 30000]), max_wait_s=st.sampled_from([60, 600, 3600]))
def test_a_fleets_peak_counts_an_instance_only_while_it_is_on_a_host(cells, seed, host_mtbf_s, kernel_mtbf_s,
                                                                    max_wait_s):
    """A failure's victim waiting to be placed again "is on no host and not counted"
    (simdc.metrics' docstring): the fleet's ``peak_instances`` is the most instances on
    the hosts of all its cells at once. Counted here from the engine's own bookings: every
    time a host takes an instance and lets one go (``HostState.book`` and ``release``, with
    their moments), each platform's changes of every cell swept in time order, those that
    let go first at one moment. A single cell's fleet has its cell's peak (``cells.csv``,
    the engine's count)."""
    import tempfile
    from unittest import mock

    from simdc.cells import run_cells
    from simdc.engine.host import HostState

    changes = []  # (platform, moment, +1 taken / -1 let go), as the engine made them
    book, release = HostState.book, HostState.release

    def booked(host, now, cpu, mem):
        changes.append(("vm" if host.vm else "container", now, 1))
        book(host, now, cpu, mem)

    def released(host, now, cpu, mem):
        changes.append(("vm" if host.vm else "container", now, -1))
        release(host, now, cpu, mem)

    raw = cells_config(cells, placement={"when_full": "queue", "max_wait_s": max_wait_s},
                       faults={"host_mtbf_s": host_mtbf_s, "host_repair_s": 1800, "kernel_mtbf_s": kernel_mtbf_s,
                               "on_failure": "resubmit"})
    raw["simulation"]["seed"] = seed
    with tempfile.TemporaryDirectory() as folder, mock.patch.object(HostState, "book", booked), \
            mock.patch.object(HostState, "release", released):
        run = run_cells(validate(raw), folder, check_memory=False)
    swept = pd.DataFrame(changes, columns=["platform", "t_s", "change"]).sort_values(["t_s", "change"], kind="stable")
    expected = swept.groupby("platform")["change"].cumsum().groupby(swept["platform"]).max()
    got = run.summary.set_index("platform")["peak_instances"]
    assert got.to_dict() == {platform: expected.get(platform, 0) for platform in got.index}
    if cells == 1:
        assert got.to_dict() == run.cell_summary.set_index("platform")["peak_instances"].to_dict()


def requests(n: int, jobs: int = 20, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": np.arange(n), "submit_s": np.sort(rng.uniform(0, 1e4, n)),
                         "job": rng.integers(0, jobs, n).astype(str)})


def cell_specs(shares) -> tuple[CellSpec, ...]:
    return tuple(CellSpec(name=f"c{i}", share=share, hosts=[HOST]) for i, share in enumerate(shares))


@settings(max_examples=25, deadline=None)
@given(weights=st.lists(st.integers(1, 10), min_size=1, max_size=6))
def test_routing_by_share_gives_each_cell_its_share_within_binomial_bounds(weights):
    """Each request lands in cell k with probability share_k, independently (a hash of its
    id): the count is Binomial(n, share_k), within 5 standard deviations of n·share_k."""
    shares = np.array(weights) / sum(weights)
    shares[-1] = 1 - shares[:-1].sum()
    n = 4000
    cells = route(requests(n), cell_specs(shares), RoutingSpec(rule="share"))
    counts = np.bincount(cells, minlength=len(shares))
    sd = np.sqrt(n * shares * (1 - shares))
    assert (np.abs(counts - n * shares) <= 5 * sd + 1).all(), (counts, n * shares)


def test_routing_reads_the_workload_only_so_a_request_keeps_its_cell_whatever_else_is_replayed():
    """Seed-free and stable: a request's cell is the same when the table is shuffled or cut."""
    table = requests(2000)
    cells = cell_specs([0.5, 0.3, 0.2])
    for rule in ("share", "job"):
        whole = route(table, cells, RoutingSpec(rule=rule))
        part = table.sample(frac=0.5, random_state=1)
        assert (route(part, cells, RoutingSpec(rule=rule)) == whole[part.index]).all()


def test_routing_by_job_keeps_every_job_in_one_cell_and_round_robin_deals_evenly():
    table = requests(1001, jobs=40)
    cells = cell_specs([0.25] * 4)
    by_job = route(table, cells, RoutingSpec(rule="job"))
    assert (pd.Series(by_job).groupby(table["job"]).nunique() == 1).all()
    dealt = route(table, cell_specs([None] * 4), RoutingSpec(rule="round_robin"))
    assert list(dealt[:5]) == [0, 1, 2, 3, 0]
    assert np.bincount(dealt).max() - np.bincount(dealt).min() <= 1


@pytest.mark.parametrize("change, fragments", [
    ({"cells.0.share": 0.5}, ["cells: shares must sum to 1", "got 1.25"]),
    ({"cells.1.hosts": []}, ["cells[1].hosts", "at least 1 item"]),
    ({"cells.1.name": "cell0"}, ["cells[1].name", "names an earlier cell"]),
    ({"routing": {"rule": "round_robin"}}, ["cells[0].share: routing.rule = 'round_robin' does not use shares",
                                            "cells[3].share"]),
    ({"host": HOST}, ["[[cells]]", "not both"]),
    ({"routing": {"rule": "share", "column": "x"}}, ["routing.column: only routing.rule = 'column' reads it",
                                                     "'share'"]),
])
def test_a_bad_cells_config_is_one_line_naming_its_key(tmp_path, change, fragments):
    raw = cells_config(4)
    for key, value in change.items():
        table = raw
        *path, last = key.split(".")
        for part in path:
            table = table[int(part)] if part.isdigit() else table[part]
        table[last] = value
    result = CliRunner().invoke(app, ["run", str(write(tmp_path / "bad.toml", raw)), "--no-write"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.mark.parametrize("key", sorted(ClusterSpec.model_fields))
@pytest.mark.parametrize("given", ["toml", "set"])
def test_a_cluster_key_beside_cells_is_one_line_saying_it_goes_in_each_cell(tmp_path, key, given):
    """`[cluster] power_off_idle = true` beside [[cells]] said "cluster.hosts: required key
    is missing", and adding [[cluster.hosts]] then said "not both": every [cluster] key
    (ClusterSpec's fields) is one line naming it and its place in each [[cells]] entry."""
    value = {"power_off_idle": True, "hosts": [dict(HOST, count=1)]}[key]
    raw = cells_config(3)
    flags = []
    if given == "toml":
        raw["cluster"] = {key: value}
    else:
        flags = ["--set", f"cluster.{key}={'true' if value is True else '[{cpu_cores=8, memory_gib=16}]'}"]
    result = CliRunner().invoke(app, ["run", str(write(tmp_path / "bad.toml", raw)), "--no-write", *flags])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert f"cluster.{key}" in lines[0] and f"cells.<index>.{key}, cells 0..{len(raw['cells']) - 1}" in lines[0]
    assert "required key is missing" not in lines[0] and "not both" not in lines[0]
    raw.pop("cluster", None)
    for cell in raw["cells"]:  # where the message says it goes: accepted there
        cell[key] = value
    assert all(getattr(cell, key) for cell in validate(raw).cells)


def test_routing_by_column_needs_a_trace(tmp_path):
    raw = cells_config(2, routing={"rule": "column"})
    for cell in raw["cells"]:
        del cell["share"]
    result = CliRunner().invoke(app, ["run", str(write(tmp_path / "bad.toml", raw)), "--no-write"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "routing.rule: 'column' reads the cell from the trace's column 'cell'" in lines[0]


def test_an_unknown_routing_column_is_one_line(tmp_path, write_trace):
    rows = [{"id": i, "submit_s": float(i), "duration_s": 600.0, "cpu_cores": 1, "memory_gib": 2} for i in range(10)]
    raw = cells_config(2, workload={"trace": str(write_trace(rows))}, routing={"rule": "column", "column": "zone"})
    for cell in raw["cells"]:
        del cell["share"]
    result = CliRunner().invoke(app, ["run", str(write(tmp_path / "bad.toml", raw)), "--no-write"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "routing.column: the workload has no column 'zone'" in lines[0], result.stderr


def test_workers_without_cells_is_refused(config_path):
    result = CliRunner().invoke(app, ["run", str(config_path), "--no-write", "--workers", "2"])
    assert result.exit_code == 2
    assert "--workers: runs the cells of a fleet of [[cells]]" in result.stderr


def test_a_worker_killed_mid_run_has_its_cell_run_again_with_the_same_tables(tmp_path):
    """Two ``dask worker`` processes without nannies; one is killed (SIGKILL) once the
    first cell is back, while others run. Dask runs its cell again on the other worker,
    and the tables equal the in-process run's: a cell's result does not depend on the
    worker that ran it, nor on how often it ran."""
    raw = cells_config(4)
    raw["simulation"]["duration_s"] = 43_200
    raw["workload"]["synthetic"]["arrival_rate_per_s"] = 0.2
    config = write(tmp_path / "slow.toml", raw)
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [subprocess.Popen([*DASK_SCHEDULER, "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                  **quiet)]
    try:
        workers = [subprocess.Popen([*DASK_WORKER, address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                     "--host", "127.0.0.1"], **quiet) for _ in range(2)]
        processes += workers
        wait_for_port(port)
        run_ = subprocess.Popen([sys.executable, "-m", "simdc", "run", str(config), "--out", str(tmp_path / "dask"),
                                 "--scheduler", address, "--format", "csv"], cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        processes.append(run_)
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".dask.partial-*/.cells/*.instances.parquet")):
            assert run_.poll() is None, run_.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        workers[0].kill()
        code, err = run_.wait(timeout=120), run_.stderr.read()
    finally:
        for process in processes:
            process.kill()
            process.wait()
    assert code == 0, err
    run(config, tmp_path / "in-process")
    expected = tables(tmp_path / "in-process")
    for name, table in tables(tmp_path / "dask").items():
        pd.testing.assert_frame_equal(table, expected[name], check_exact=True, obj=name)


def test_a_cell_too_big_for_the_memory_is_one_line_naming_it(tmp_path):
    """Each cell is checked against the memory available (simdc.budget) for its own share
    of the requests: here each needs far more than any machine has."""
    raw = cells_config(2)
    raw["workload"]["synthetic"]["arrival_rate_per_s"] = 50_000
    raw["simulation"]["duration_s"] = 10_000_000
    result = CliRunner().invoke(app, ["run", str(write(tmp_path / "big.toml", raw)), "--no-write"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    # half of the 5e11 requests, the cell's share
    assert lines[0].startswith("error: cell 'cell0': this run needs about") and "250,000,000,000 instances" in lines[0]


def test_plan_refuses_a_fleet_of_cells_with_one_line(tmp_path):
    config = write(tmp_path / "cells.toml", cells_config(2))
    result = CliRunner().invoke(app, ["plan", str(config), "--slo", "rejection_rate<=0.01"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "a fleet of [[cells]]" in lines[0], result.stderr


def test_ctrl_c_during_a_run_on_local_workers_is_one_line_and_writes_nothing(tmp_path):
    """SIGINT to the process group (a terminal's Ctrl-C reaches the workers too) once the
    first cell is back: exit 130, one line, and neither the results directory nor its
    partial one is left."""
    raw = cells_config(4)
    raw["simulation"]["duration_s"] = 43_200
    raw["workload"]["synthetic"]["arrival_rate_per_s"] = 0.2
    config = write(tmp_path / "slow.toml", raw)
    run_ = subprocess.Popen([sys.executable, "-m", "simdc", "run", str(config), "--out", str(tmp_path / "out"),
                             "--workers", "2", "--format", "csv"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".out.partial-*/.cells/*.instances.parquet")):
            assert run_.poll() is None, run_.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.killpg(run_.pid, signal.SIGINT)
        code, err = run_.wait(timeout=60), run_.stderr.read()
    finally:
        if run_.poll() is None:
            os.killpg(run_.pid, signal.SIGKILL)
            run_.wait()
    assert code == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == ["interrupted; nothing written"], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slow.toml"]


# --- the fleet's summary from the cells' parts ------------------------------------------

def busy_fleet() -> dict:
    """Three hosts near capacity for 4 h: a queue with a patience, a third batch, host and
    kernel failures, a drain (VMs live-migrated, containers restarted), interference."""
    return {
        "simulation": {"duration_s": 14_400, "seed": 5, "platforms": ["vm", "container"], "sample_every_s": 3600},
        "cluster": {"hosts": [{"cpu_cores": 8, "memory_gib": 32, "count": 3}]},
        "placement": {"when_full": "queue", "max_wait_s": 600},
        "faults": {"host_mtbf_s": 5000, "host_repair_s": 600, "kernel_mtbf_s": 4000, "kernel_repair_s": 60,
                   "on_failure": "resubmit"},
        "maintenance": {"drains": [[1, 3000.0]], "maintenance_s": 600},
        "workload": {"synthetic": {"arrival_rate_per_s": 0.03, "lifetime_s": {"mean": 1200}, "batch_fraction": 0.3,
                                   "membw_intensity": 0.3, "io_intensity": 0.2,
                                   "sizes": [{"cpu_cores": 1, "memory_gib": 2, "weight": 3},
                                             {"cpu_cores": 2, "memory_gib": 6, "weight": 1}]}},
    }


@pytest.fixture(scope="module")
def one_fleet():
    """A busy fleet's run: its instances, hosts (with the engine's count of the most
    instances on the fleet at once), workload, and the engine's record of the instances'
    times off a host between stays (a row per time, its ``platform``)."""
    from simdc.experiment import replay
    from simdc.workload import load_workload

    config = validate(busy_fleet())
    sim = config.simulation
    workload = load_workload(config.workload, sim.duration_s, sim.seed)
    runs = replay(config, workload, sim.seed)
    off_host = pd.concat([r.off_host.assign(platform=name) for name, r in zip(sim.platforms, runs)],
                         ignore_index=True)
    assert len(off_host)  # failures' victims and drained containers waited to be placed again
    return (pd.concat([r.instances for r in runs], ignore_index=True),
            pd.concat([r.hosts for r in runs], ignore_index=True), workload.instances, off_host)


@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_the_fleet_summary_from_the_cells_parts_is_the_summary_of_the_joined_tables(one_fleet, tmp_path_factory,
                                                                                  data):
    """Any split of a run's requests into cells (and an empty one), written as the cells'
    Parquet parts and joined, gives the summary :func:`simdc.metrics.summary` computes
    over the joined tables in memory, to the bit; and, the rows in another order (sums
    added in another order), the summary of the run's own tables: counts exactly, the
    rest to 1e-12, percentiles over every cell's values. However the instances are split,
    as many are on a host at each moment: the peak is the engine's own count of the one
    run (its victims of failures and drained containers waiting to be placed again on no
    host), from the stays and the engine's record of their times off a host."""
    from simdc import cells as fleet
    from simdc import metrics

    instances, counted, workload, off_host = one_fleet
    hosts = counted.drop(columns=["fleet_peak_resident"])  # as the fleet's hosts come: each cell counted its own
    cells = data.draw(st.integers(1, 5), label="cells")
    cell_of = np.array(data.draw(st.lists(st.integers(0, cells - 1), min_size=len(workload),
                                          max_size=len(workload)), label="cell of each request"))
    folder = tmp_path_factory.mktemp("parts")
    names = [f"c{k}" for k in range(cells)] + ["empty"]  # a cell no request went to, always
    platforms = list(hosts["platform"].unique())
    parts = {"instances": [], "workload": []}
    for k, name in enumerate(names):
        mine = cell_of == k
        rows = pd.concat([instances[instances["platform"] == p][mine] for p in platforms], ignore_index=True)
        for table, frame in (("instances", rows), ("workload", workload[mine])):
            path = folder / f"{k}.{table}.parquet"
            path.write_bytes(fleet._parquet(frame.reset_index(drop=True).assign(cell=name)
                                            [["cell", *frame.columns]] if table == "workload" else
                                            frame.assign(cell=name)))
            parts[table].append(path)
    for table, paths in parts.items():
        fleet._join(paths, folder / f"{table}.parquet")
    import pyarrow.parquet as pq

    got = fleet.fleet_summary(pq.ParquetFile(folder / "instances.parquet"), pq.ParquetFile(folder / "workload.parquet"),
                              hosts, platforms, names, off_host=off_host)
    joined = metrics.summary(pd.read_parquet(folder / "instances.parquet"), counted,
                             pd.read_parquet(folder / "workload.parquet"))
    pd.testing.assert_frame_equal(got, joined, check_dtype=False, check_exact=True)
    expected = metrics.summary(instances, counted, workload)
    assert list(got.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_exact=False, rtol=1e-12, atol=0)
    counts = [c for c in expected.columns if pd.api.types.is_integer_dtype(expected[c])]
    assert (got[counts].to_numpy() == expected[counts].to_numpy()).all()


@pytest.mark.parametrize("change", [
    {"maintenance": {"drains": [[2, 1800.0]], "maintenance_s": 600},  # moves in one cell only: 0 in the others
     "cost": {"price_per_kwh": 0.2, "carbon_intensity_gco2_per_kwh": 300, "licence_per_hour": {"vm": 0.02}}},
    {"placement": {"when_full": "queue", "max_wait_s": 300},
     "faults": {"host_mtbf_s": 3000, "host_repair_s": 600, "on_failure": "resubmit"}},
])
def test_run_cells_summary_is_the_in_memory_summary_of_the_joined_tables_to_the_bit(tmp_path, change):
    """:func:`simdc.cells.run_cells`' fleet summary, reduced one cell at a time, is what
    :func:`simdc.metrics.summary` (and, with a [cost] table, :func:`simdc.cost.platform_costs`)
    computes over the joined instances and workload read whole, every value to the bit:
    the hosts named by cell and number; but the fleet's peak, from the stays less the
    times the cells' engines recorded instances off a host
    (test_a_fleets_peak_counts_an_instance_only_while_it_is_on_a_host), which the joined
    tables alone do not tell (its peak from the stays counts them, an upper bound)."""
    from simdc import cost, metrics
    from simdc.cells import run_cells

    config = validate(cells_config(3, **change))
    fleet = run_cells(config, tmp_path, check_memory=False).summary
    instances = pd.read_parquet(tmp_path / "instances.parquet")
    hosts = pd.read_csv(tmp_path / "hosts.csv", dtype={"platform": str, "group": str, "cell": str},
                        keep_default_na=False)
    hosts = hosts.assign(physical_host=hosts["cell"] + ":" + hosts["physical_host"].astype(str))
    hosts = hosts.drop(columns=["fleet_peak_resident"], errors="ignore")
    expected = metrics.summary(instances, hosts, pd.read_parquet(tmp_path / "workload.parquet"))
    if config.cost is not None:
        priced = [cost.platform_costs(instances[instances["platform"] == platform],
                                      hosts[hosts["platform"] == platform],
                                      config.cost.licence_per_hour.get(platform, 0.0))
                  for platform in expected["platform"]]
        expected = pd.concat([expected, pd.DataFrame(priced, columns=list(cost.COST_COLUMNS))], axis=1)
    assert fleet["submitted"].sum() > 0 and fleet["placed"].sum() > 0
    if "maintenance" in change:
        moved = instances.groupby("cell")["migrations"].sum()  # counted in every cell (were null where none moved)
        assert fleet["migrations"].sum() > 0 and (moved == 0).any() and instances["migrations"].notna().all()
    assert (fleet["peak_instances"] <= expected["peak_instances"]).all()
    others = [c for c in expected.columns if c != "peak_instances"]
    pd.testing.assert_frame_equal(fleet[others], expected[others], check_dtype=False, check_exact=True)


# --- cost, drains and consolidation, per cell --------------------------------------------

def test_cells_with_a_cost_table_price_each_cells_hosts_and_the_fleet_pays_their_sum(tmp_path):
    """Six hosts in three cells drawing a constant 300 W (idle = peak) for 3 h from 00:30,
    PUE 1.5, under hourly price and carbon series: each host's electricity is
    Σ_h 0.3 kW × overlap_h × 1.5 × price_h (carbon likewise), its capital capex × 3 h /
    (5 years × 8,766 h), so the fleet's are six hosts' (simdc.cost's conventions); the
    licences are 0.02 per VM-hour on a host; and every cost column is the sum of the
    cells' own (cells.csv). On 2 local workers, the same tables to the bit."""
    prices, intensities = [0.10, 0.30, -0.05, 0.20], [200, 100, 400, 50]
    for name, values in (("price", prices), ("carbon", intensities)):
        (tmp_path / f"{name}.csv").write_text("timestamp,value\n" + "".join(
            f"2024-03-01T{k:02d}:00:00Z,{v}\n" for k, v in enumerate(values)))
    host = dict(HOST, power_idle_w=300, power_max_w=300, pue=1.5, capex=8766, amortisation_years=5)
    raw = cells_config(3, cost={"price_series": str(tmp_path / "price.csv"),
                                "carbon_series": str(tmp_path / "carbon.csv"),
                                "series_start": "2024-03-01T00:30:00Z", "licence_per_hour": {"vm": 0.02}})
    raw["simulation"]["duration_s"] = 3 * 3600
    for cell in raw["cells"]:
        cell["hosts"] = [dict(host, count=cell["hosts"][0]["count"])]
    run(write(tmp_path / "cost.toml", raw), tmp_path / "out")
    results = load_results(tmp_path / "out")
    cells = pd.read_csv(tmp_path / "out" / "cells.csv", dtype={"platform": str, "cell": str})
    kwh = 0.3 * np.array([0.5, 1, 1, 0.5]) * 1.5 * 6
    for row in results.summary.itertuples():
        assert row.cost_energy == pytest.approx(kwh @ prices, rel=1e-12)
        assert row.carbon_operational_kgco2eq == pytest.approx(kwh @ intensities / 1000, rel=1e-12)
        assert row.cost_hosts == pytest.approx(6 * 8766 * 3 / (5 * 365.25 * 24), rel=1e-12)
        mine = results.instances[results.instances["platform"] == row.platform]
        rate = 0.02 if row.platform == "vm" else 0.0
        assert row.cost_licences == pytest.approx(rate * mine["resident_s"].sum() / 3600, rel=1e-12)
        assert row.cost_per_instance_hour == pytest.approx(row.cost / (mine["run_s"].sum() / 3600), rel=1e-12)
        by_cell = cells[cells["platform"] == row.platform]
        for column in ("cost", "cost_hosts", "cost_energy", "cost_licences", "carbon_kgco2eq",
                       "carbon_operational_kgco2eq", "carbon_embodied_kgco2eq"):
            assert getattr(row, column) == pytest.approx(by_cell[column].sum(), rel=1e-12, abs=1e-12), column
    run(tmp_path / "cost.toml", tmp_path / "local", "--workers", "2")  # the series shipped to the workers
    for name, table in tables(tmp_path / "local").items():
        pd.testing.assert_frame_equal(table, tables(tmp_path / "out")[name], check_exact=True, obj=name)


def test_a_drain_names_its_host_by_fleet_index_across_the_cells_in_order(tmp_path):
    """Cells of 1, 2 and 3 hosts: fleet host 2 is cell1's second host, so only cell1's
    instances move; the fleet's moves are the sum of the cells' (the mean downtime per
    move: the instances' downtime over their moves)."""
    raw = cells_config(3, maintenance={"drains": [[2, 1800.0]], "maintenance_s": 600})
    run(write(tmp_path / "drain.toml", raw), tmp_path / "out")
    results = load_results(tmp_path / "out")
    cells = pd.read_csv(tmp_path / "out" / "cells.csv", dtype={"platform": str, "cell": str})
    moved = results.instances[results.instances["migrations"] > 0]
    assert len(moved) and set(moved["cell"]) == {"cell1"}
    _moves_add_up(results, cells)


def test_cells_consolidate_their_own_hosts_and_the_fleet_sums_their_moves(tmp_path):
    raw = cells_config(3, consolidation={"interval_s": 300})
    # instances busy enough that some hosts are not under `under`: only those take an
    # emptied host's instances (CloudSim Plus's rule, simdc.engine.migration._fits_round)
    raw["workload"]["synthetic"]["cpu_usage"] = {"mean": 0.8}
    for cell in raw["cells"]:
        cell["power_off_idle"] = True
    run(write(tmp_path / "consolidate.toml", raw), tmp_path / "out")
    results = load_results(tmp_path / "out")
    cells = pd.read_csv(tmp_path / "out" / "cells.csv", dtype={"platform": str, "cell": str})
    assert results.summary["migrations"].sum() > 0
    _moves_add_up(results, cells)


def _moves_add_up(results, cells: pd.DataFrame) -> None:
    for row in results.summary.itertuples():
        by_cell = cells[cells["platform"] == row.platform]
        mine = results.instances[results.instances["platform"] == row.platform]
        assert row.migrations == by_cell["migrations"].sum() == mine["migrations"].sum()
        assert row.moved_instances == by_cell["moved_instances"].sum()
        assert row.migrated_gib == pytest.approx(by_cell["migrated_gib"].sum(), rel=1e-12, abs=1e-12)
        assert row.moves_done == by_cell["moves_done"].sum() == mine["moves_done"].sum()
        if row.moves_done:
            assert row.migration_downtime_mean_s == pytest.approx(mine["downtime_s"].sum() / row.moves_done,
                                                                  rel=1e-12)


@pytest.mark.parametrize("change, fragment", [
    ({"consolidation": {"interval_s": 600}}, "cells[0].power_off_idle: consolidation switches emptied hosts off"),
    ({"maintenance": {"drains": [[6, 100.0]]}}, "maintenance.drains[0]: host 6 does not exist (hosts are 0..5)"),
    ({"services": [{"name": "web", "replicas": 2, "cpu_cores": 1, "memory_gib": 1}]},
     "services: not yet available with [[cells]]"),
])
def test_what_cells_cannot_do_is_one_line(tmp_path, change, fragment):
    result = CliRunner().invoke(app, ["run", str(write(tmp_path / "bad.toml", cells_config(3, **change))),
                                      "--no-write"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0], result.stderr


def test_a_fleet_of_cells_reports_the_jobs_of_a_workload_with_dependencies(tmp_path, write_trace):
    """Fork-join jobs routed by job to two cells: the fleet's summary has the workflow
    columns (they were left out), equal to metrics.summary over the joined tables, and
    counts every job of the input once."""
    from simdc import metrics

    rows, t = [], 0.0
    for j in range(12):  # prepare -> three maps -> reduce, a job every 200 s
        ids = [f"j{j}p", *(f"j{j}m{k}" for k in range(3)), f"j{j}r"]
        parents = ["", *[ids[0]] * 3, " ".join(ids[1:4])]
        for i, (name, parent) in enumerate(zip(ids, parents)):
            rows.append({"id": name, "submit_s": t, "duration_s": 60.0 + 30 * (i % 3), "cpu_cores": 1,
                         "memory_gib": 1.0, "job": f"job{j}", "parents": parent})
        t += 200.0
    raw = cells_config(2, workload={"trace": str(write_trace(rows))}, routing={"rule": "job"})
    for cell in raw["cells"]:
        del cell["share"]
    run(write(tmp_path / "c.toml", raw), tmp_path / "out")
    results = load_results(tmp_path / "out")
    summary = results.summary.set_index("platform")
    assert set(metrics.WORKFLOW_COLUMNS) <= set(summary.columns)
    for platform, row in summary.iterrows():
        mine = results.instances[results.instances["platform"] == platform].reset_index(drop=True)
        whole = metrics.summary(mine, results.hosts[results.hosts["platform"] == platform],
                                results.workload).set_index("platform").loc[platform]
        assert row["jobs"] == 12 and row["jobs_completed"] == whole["jobs_completed"] and row["blocked"] == 0
        for column in ("makespan_mean_s", "makespan_p50_s", "makespan_p95_s", "critical_start_share"):
            assert row[column] == pytest.approx(whole[column], rel=1e-12), column


def test_the_python_api_keeps_each_cells_summary_through_simulate_write_and_load(tmp_path):
    """A notebook's `simdc.simulate` of a fleet of cells has `results.cells` (a row per
    cell and platform, whose counts add up to the fleet's), `write` keeps it as cells.csv
    and `load_results` reads it back: it was dropped, so the API lost what the CLI wrote."""
    config = validate(cells_config(3))
    results = simdc.simulate(config)
    assert results.cells is not None
    assert sorted(zip(results.cells["cell"], results.cells["platform"])) == sorted(
        (cell.name, platform) for cell in config.cells for platform in config.simulation.platforms)
    by_platform = results.cells.groupby("platform")[["submitted", "placed", "completed"]].sum()
    fleet = results.summary.set_index("platform")
    for count in ("submitted", "placed", "completed"):
        assert (by_platform[count] == fleet.loc[by_platform.index, count]).all(), count
    back = load_results(results.write(tmp_path / "out"))
    assert (tmp_path / "out" / "cells.csv").is_file()
    pd.testing.assert_frame_equal(back.cells, results.cells, check_dtype=False)
    (tmp_path / "cli").mkdir()
    assert load_results(_written(tmp_path / "cli", config)).cells is not None


# --- dependencies must not be routed apart ------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def cells_over_workflow(rule: str) -> dict:
    """configs/cells.toml (four cells) with its workload replaced by configs/workflow.csv
    (24 fork-join jobs) and workflow.toml's image and registry, routed by ``rule``."""
    import tomllib

    raw = tomllib.loads((ROOT / "configs" / "cells.toml").read_text())
    flow = tomllib.loads((ROOT / "configs" / "workflow.toml").read_text())
    raw["workload"] = {"trace": str(ROOT / "configs" / "workflow.csv"), "format": "simdc"}
    raw["images"], raw["registry"], raw["routing"] = flow["images"], flow["registry"], {"rule": rule}
    raw["simulation"]["duration_s"] = flow["simulation"]["duration_s"]
    return raw


def test_cells_routing_a_workflow_by_id_is_one_error_naming_routing_and_the_fix(tmp_path):
    """Routed by a hash of the id, a job's tasks land in different cells, where each cell
    would replay a child without its parent (was: a note that the parents were "left out
    of the replay", and makespans shorter than the work). The count of dependencies split
    is computed here from the parents column and each row's cell."""
    from simdc.workload import dependencies, load_workload

    raw = cells_over_workflow("share")
    cfg = validate(raw)
    instances = load_workload(cfg.workload, cfg.simulation.duration_s, 0).instances
    cell = route(instances, cfg.cells, cfg.routing)
    edges = [(c, p) for c, mine in enumerate(dependencies.positions(instances, "t")) for p in mine]
    split = sum(cell[c] != cell[p] for c, p in edges)
    assert len(edges) == 24 * (8 + 8) and split > 0
    result = CliRunner().invoke(app, ["run", str(write(tmp_path / "c.toml", raw)), "--no-write"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: routing.rule: 'share' puts parent and child in different cells for {split} "
                               f"of the workload's {len(edges)} dependencies (first: instance ")
    assert lines[0].endswith("route by job (routing.rule = 'job'), so that a job's tasks share a cell")


def test_cells_routing_a_workflow_by_job_replay_every_child_after_its_parent(tmp_path):
    """Routed by job, each job's tasks share a cell: every child is submitted no earlier
    than each of its parents ended (read from the instances table and the parents column),
    and no note says a dependency was dropped."""
    run(write(tmp_path / "c.toml", cells_over_workflow("job")), tmp_path / "out")
    results = load_results(tmp_path / "out")
    for platform, mine in results.instances.groupby("platform"):
        mine = mine.set_index("id")
        assert len(mine) == 240
        for child, parents in zip(results.workload["id"], results.workload["parents"].fillna("")):
            for parent in str(parents).split():
                assert mine.loc[child, "cell"] == mine.loc[parent, "cell"]
                assert mine.loc[child, "submit_s"] >= mine.loc[parent, "end_s"] - 1e-9, (platform, child, parent)
    assert not [note for note in results.manifest.get("workload_notes", []) if "were dropped" in note]


def test_cells_routing_by_job_with_dependencies_across_jobs_is_one_error(tmp_path, write_trace):
    """Job b's instance waits for job a's: routing by job may split them too, and when it
    does the error says so and names the column rule."""
    rows = [{"id": f"a{k}", "submit_s": 0.0, "duration_s": 60.0, "cpu_cores": 1, "memory_gib": 1.0, "job": f"a{k}",
             "parents": ""} for k in range(20)]
    rows += [{"id": f"b{k}", "submit_s": 0.0, "duration_s": 60.0, "cpu_cores": 1, "memory_gib": 1.0,
              "job": f"b{k}", "parents": f"a{k}"} for k in range(20)]
    raw = cells_config(2, workload={"trace": str(write_trace(rows))}, routing={"rule": "job"})
    result = CliRunner().invoke(app, ["run", str(write(tmp_path / "c.toml", raw)), "--no-write"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: routing.rule: 'job' puts parent and child in different "
                                                   "cells for "), result.stderr
    assert "routing.rule = 'column'" in lines[0]


FULL_HOSTS = {"count": 2, "cpu_cores": 16, "memory_gib": 64, "reserved_memory_gib": 4}


def full_fleet(tmp_path: Path, **changes) -> dict:
    """Four 8-core containers filling two 16-core hosts (2 each: 32 cores asked of 32), so
    host 0's drain at 1,000 s finds no room for its two checkpoints and never empties it."""
    trace = tmp_path / "full.csv"
    pd.DataFrame({"id": [f"f{k}" for k in range(4)], "submit_s": [0.0, 1.0, 2.0, 3.0], "duration_s": [1e5] * 4,
                  "cpu_cores": [8.0] * 4, "memory_gib": [2.0] * 4}).to_csv(trace, index=False)
    return {"simulation": {"duration_s": 6000, "seed": 1, "platforms": ["container"], "sample_every_s": 60},
            "placement": {"when_full": "queue", "max_wait_s": 10000},
            "maintenance": {"drains": [[0, 1000.0]], "maintenance_s": 600},
            "migration": {"container": "checkpoint"},
            "workload": {"trace": str(trace)}, **changes}


def test_a_cell_warns_of_its_drain_that_never_emptied_its_host_as_a_fleet_of_its_hosts_does(tmp_path):
    """The same hosts and requests as one fleet and as one cell of share 1: the fleet's
    warning that host 0's drain never emptied it (2 instances left, none with room
    elsewhere) is the cell's, named by the cell. (A re-check trial: the cell printed
    nothing, though hosts.csv had the maintenance not done; README: such a drain "is
    named in the run's warnings", and [maintenance] applies to a cell as to a fleet.)"""
    fleet = simdc.simulate(validate({**full_fleet(tmp_path), "cluster": {"hosts": [FULL_HOSTS]}}))
    cell = simdc.simulate(validate({**full_fleet(tmp_path), "cells": [{"name": "a", "share": 1.0,
                                                                       "hosts": [FULL_HOSTS]}]}))
    said = [line for line in fleet.manifest["warnings"] if "never emptied" in line]
    assert len(said) == 1 and "host 0 from 1,000 s" in said[0] and "2 instances left: 2 no other host" in said[0]
    assert [line for line in cell.manifest["warnings"] if "never emptied" in line] == [f"cell a: {said[0]}"]
    assert cell.hosts.set_index("host").loc[0, "maintenance_not_done"] == 1


def test_cells_name_listed_moments_not_made_by_the_configs_own_lists(tmp_path):
    """Two cells of two hosts: a drain at 7,000 s (after the 6,000 s run) is said once for
    the fleet, counted in the config's drains (1 of 2: the second); fleet host 3 (cell b's
    second host) failing at 3,100 s and again, while under repair, at 3,200 s: the second
    is not made, named by its place in the config's faults.host_failures ([2]), not in
    cell b's own list ([1]). (The cells said neither.)"""
    raw = full_fleet(tmp_path, cells=[{"name": "a", "hosts": [FULL_HOSTS]}, {"name": "b", "hosts": [FULL_HOSTS]}],
                     routing={"rule": "round_robin"},
                     faults={"host_failures": [[0, 5000.0], [3, 3100.0], [3, 3200.0]], "host_repair_s": 1800})
    raw["maintenance"]["drains"].append([2, 7000.0])
    warnings = simdc.simulate(validate(raw)).manifest["warnings"]
    assert [line for line in warnings if line.startswith("maintenance.drains")] == [
        "maintenance.drains: 1 of 2 drains ([1]) fall at or after the run's end (6,000 s) and are not made"]
    not_made = [line for line in warnings if "not made" in line and "host_failures[" in line]
    assert len(not_made) == 1
    assert not_made[0].startswith("cell b: container: faults.host_failures[2]: host 1 at 3,200 s")


def test_a_cell_without_drains_counts_no_moves_when_another_cells_drain_moved_some(tmp_path):
    """Cell a's host 0 is drained, cell b has no drain: b's moves in cells.csv are counts
    of nothing, 0 (its means over no move stay empty), as a one-fleet run with drains
    counts them, and its instances' move columns are 0 (they were NaN: a re-check trial)."""
    trace = tmp_path / "w.csv"
    pd.DataFrame({"id": [f"x{k}" for k in range(6)], "submit_s": np.arange(6.0), "duration_s": [1e5] * 6,
                  "cpu_cores": [1.0] * 6, "memory_gib": [2.0] * 6,
                  "job": ["a", "b"] * 3}).to_csv(trace, index=False)
    raw = full_fleet(tmp_path, cells=[{"name": "a", "hosts": [FULL_HOSTS]}, {"name": "b", "hosts": [FULL_HOSTS]}],
                     routing={"rule": "column", "column": "job"})
    raw["workload"] = {"trace": str(trace)}
    run(write(tmp_path / "c.toml", raw), tmp_path / "out")
    cells = pd.read_csv(tmp_path / "out" / "cells.csv", dtype={"platform": str, "cell": str}).set_index("cell")
    results = load_results(tmp_path / "out")
    assert cells.loc["a", "migrations"] > 0
    b = cells.loc["b"]
    assert b["migrations"] == 0 and b["moves_done"] == 0 and b["moved_instances"] == 0 and b["migrated_gib"] == 0
    assert np.isnan(b["migration_downtime_mean_s"]) and np.isnan(b["migration_s_mean"])
    mine = results.instances[results.instances["cell"] == "b"]
    assert len(mine) == 3 and (mine["migrations"] == 0).all() and (mine["downtime_s"] == 0).all()
    _moves_add_up(results, cells.reset_index())
