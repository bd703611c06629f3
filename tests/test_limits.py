"""Absurd sizes and counts are refused before anything runs (simdc/model/limits.py,
simdc.sweeping.local_workers): one ``error:`` line naming the key, file or flag, exit 2;
values up to a bound are accepted; a local cluster never gets more workers than runs."""

from __future__ import annotations

import operator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from simdc import ConfigError, InputError, load_config, sweeping
from simdc.budget import BASE_BYTES
from simdc.cli import app
from simdc.engine.services import plain_series
from simdc.errors import SweepError
from simdc.model import limits
from tests.test_out_safety import one_error_line

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
GIB = 2**30

# key -> (its bound, typed independently of the code: the sources cited in limits.py)
BOUNDS = {
    "host.memory_gib": 48 * 1024 * 1000,  # HPE Superdome Flex, 48 TiB, x1000
    "host.cpu_cores": 1792 * 1000,  # 896 cores, 2 threads each, x1000
    "host.image_cache_gib": 114_000_000,  # a 122.88 TB SSD (~114,000 GiB), x1000
    "platform.vm.cpu_overcommit": 10**6,  # no admission limit (the processor-sharing oracle)
    "platform.vm.memory_overcommit": 10**6,
    "platform.vm.default_disk_gib": 114_000_000,
    "host.net_gbps": 800 * 1000,  # 800 Gbit/s Ethernet (IEEE 802.3df), x1000
    "registry.bandwidth_gbps": 800 * 1000,
}


def invoke(*args) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(sorted(BOUNDS)), share=st.floats(1e-6, 1.0), over=st.floats(1.0, 1e200))
def test_values_up_to_a_bound_are_accepted_and_above_it_refused(write_config, key, share, over):
    """Any value in (0, bound] loads; any value above it is one problem naming the key,
    the bound (with thousands separators) and the value."""
    bound = BOUNDS[key]
    config = load_config(write_config({key: bound * share}))
    assert config is not None
    value = bound * over * (1 + 1e-9) if over == 1.0 else bound * over
    with pytest.raises(ConfigError) as caught:
        load_config(write_config({key: value}))
    (problem,) = caught.value.problems
    assert key.rpartition(".")[2] in problem and f"<= {bound:,}" in problem, problem


@pytest.mark.parametrize("config, setting, fragments", [
    ("host64g", "host.memory_gib=1e300", ["--set host.memory_gib", "<= 49,152,000", "1e+300"]),
    ("host64g", "host.cpu_cores=1e12", ["--set host.cpu_cores", "<= 1,792,000"]),
    ("release", "cluster.hosts.0.memory_gib=1e12", ["cluster.hosts", "memory_gib", "<= 49,152,000"]),
    ("host64g", "platform.vm.cpu_overcommit=1e9", ["cpu_overcommit", "<= 1,000,000"]),
    ("release", "services.0.demand.cores=1e300", ["--set services.0.demand.cores=1e300", "<= 1,000,000,000"]),
    ("release", "services.0.cpu_cores=1e12", ["--set services.0.cpu_cores=1e12", "<= 1,792,000"]),
    ("release", "workload.synthetic.sizes.0.memory_gib=1e300",
     ["--set workload.synthetic.sizes.0.memory_gib=1e300", "<= 49,152,000"]),
    ("host64g", "registry.bandwidth_gbps=1e30", ["registry.bandwidth_gbps", "<= 800,000", "Ethernet"]),
    ("isolation", "platform.microvm.creations_per_core_per_s=5e-324", ["creations_per_core_per_s", ">= 1e-06"]),
    ("isolation", "platform.microvm.creations_per_core_per_s=1e300", ["creations_per_core_per_s", "<= 1,000,000"]),
])
def test_absurd_sizes_are_one_error_line_exit_2(config, setting, fragments):
    result = invoke("run", CONFIGS / f"{config}.toml", "--set", setting, "--no-write")
    one_error_line(result, *fragments)


def test_a_steps_value_above_the_bound_is_refused(write_config):
    base = {"services": [{"name": "web", "image": "nginx:1.25", "replicas": 1, "cpu_cores": 1, "memory_gib": 1,
                          "demand": {"steps": [[0, 1], [60, 1e300]]}}]}
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(base))
    assert any("steps" in p and "1e+300" in p for p in caught.value.problems), caught.value.problems


def test_a_demand_series_value_above_the_bound_names_file_and_line(tmp_path):
    series = tmp_path / "demand.csv"
    series.write_text(f"t_s,value\n0,5\n60,{limits.MAX_DEMAND:.0f}\n120,1e308\n")
    with pytest.raises(InputError) as caught:
        plain_series(series, 3600.0)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{series}: line 4: value") and "1e308" in problem, problem
    series.write_text(f"t_s,value\n0,5\n60,{limits.MAX_DEMAND:.0f}\n")  # at the bound: read
    assert plain_series(series, 3600.0)[1].tolist() == [5, limits.MAX_DEMAND]


def test_a_demand_series_cut_mid_line_is_refused_with_its_line(tmp_path):
    """The trace readers' rule: a last line without a line end may be cut ("800" of
    "8000"), so it is refused, naming the line; with the line end the same file reads."""
    series = tmp_path / "demand.csv"
    series.write_text("t_s,value\n0,5\n2000,800")
    with pytest.raises(InputError) as caught:
        plain_series(series, 3600.0)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{series}: line 3: ") and "line end" in problem, problem
    series.write_text("t_s,value\n0,5\n2000,800\n")
    assert plain_series(series, 3600.0)[1].tolist() == [5, 800]


def test_a_toml_date_is_shown_as_its_text_not_a_python_repr(tmp_path):
    path = tmp_path / "dated.toml"
    path.write_text((CONFIGS / "host64g.toml").read_text().replace("seed = 1", "seed = 2024-01-01"))
    line = one_error_line(invoke("run", path, "--no-write"), "simulation.seed", "2024-01-01")
    assert "datetime" not in line


def test_an_empty_grid_value_is_refused():
    one_error_line(invoke("sweep", CONFIGS / "host64g.toml", "--grid", "host.memory_gib=32,,64"),
              "--grid", "empty")


def test_expected_a_list_shows_how_to_write_one():
    one_error_line(invoke("run", CONFIGS / "host64g.toml", "--set", "simulation.platforms=vm", "--no-write"),
              "expected a list", """'simulation.platforms=["vm"]'""")


@given(workers=st.integers(1, 10_000), runs=st.integers(1, 10_000))
@settings(max_examples=50, deadline=None)
def test_a_local_cluster_gets_no_more_workers_than_runs(workers, runs):
    assert sweeping.local_workers(workers, runs, BASE_BYTES, available=10**15) == min(workers, runs)


def test_workers_whose_memory_does_not_fit_are_refused_naming_the_flag():
    """10 workers of 1 GiB with 4.5 GiB available: refused, 4 said to fit (4 GiB with this
    process and the forkserver, PARENT_BYTES + FORKSERVER_BYTES, 0.39 GiB)."""
    with pytest.raises(SweepError) as caught:
        sweeping.local_workers(10, 20, GIB, available=int(4.5 * GIB))
    (problem,) = caught.value.cli_problems
    assert problem.startswith("--workers: 10 local workers") and "10.4 GiB" in problem and "4.5 GiB" in problem
    assert "at most 4 fit" in problem, problem
    assert sweeping.local_workers(4, 20, GIB, available=int(4.5 * GIB)) == 4


def test_workers_refused_on_the_command_line_before_any_starts(monkeypatch):
    started = []
    monkeypatch.setattr(sweeping, "_start_local_cluster", lambda n: started.append(n))
    monkeypatch.setenv("SIMDC_AVAILABLE_BYTES", str(300 * 2**20))  # room for one worker's imports
    one_error_line(invoke("run", CONFIGS / "cells.toml", "--set", "simulation.duration_s=3600", "--workers", "1000",
                     "--no-write"), "--workers", "available")
    assert started == []


def test_a_thousand_workers_for_two_runs_start_two(monkeypatch):
    """Counted on the cluster itself, once started."""
    real = sweeping._start_local_cluster
    counted = []

    def start(workers):
        cluster, interrupted = real(workers)
        counted.append(len(cluster.workers))
        return cluster, interrupted

    monkeypatch.setattr(sweeping, "_start_local_cluster", start)
    results = {}
    sweeping.run_on_dask([(k, operator.neg, (k,)) for k in (1, 2)], results.__setitem__, None, 1000, str)
    assert counted == [2] and results == {1: -1, 2: -2}
