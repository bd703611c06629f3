"""The Python API refuses a bad argument with one simdc error naming the argument and
what was expected, and never hands back results whose tables are not their own (a new
user's trial of the API, items 1, 2, 7, 9 and 10)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import simdc
from simdc.config import validate
from simdc.errors import ConfigError, OutputError

from .conftest import MINIMAL


@pytest.fixture(scope="module")
def config():
    return validate(MINIMAL)


def _bytes(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


# --- 1. spill_to: an existing empty folder, one per run ---------------------------------


def test_a_second_run_spilled_into_the_same_folder_is_refused_and_the_first_keeps_its_tables(config, tmp_path):
    """Two runs spilled into one folder: the second is refused before it runs, and the
    first run's tables are still the ones of its seed (those of the same run in memory),
    so its summary and its instance rows agree."""
    first = simdc.simulate(config, seed=3, spill=True, spill_to=tmp_path)
    before = _bytes(tmp_path)
    with pytest.raises(OutputError, match=r"^spill_to: .*is not empty") as caught:
        simdc.simulate(config, seed=4, spill=True, spill_to=tmp_path)
    assert str(tmp_path) in caught.value.problems[0]
    assert _bytes(tmp_path) == before
    held = simdc.simulate(config, seed=3, spill=False)
    assert_frame_equal(first.instances, held.instances)
    # the summary counts the rows it came from: submitted per platform
    rows = first.instances["platform"].astype(str).value_counts().to_dict()
    assert dict(zip(first.summary["platform"], first.summary["submitted"])) == rows


def test_spill_to_a_results_directory_is_refused_and_leaves_it_as_it_was(config, tmp_path):
    run = simdc.simulate(config, seed=3).write(tmp_path / "run")
    before = _bytes(run)
    with pytest.raises(OutputError, match=r"^spill_to: .*is not empty"):
        simdc.simulate(config, seed=4, spill=True, spill_to=run)
    assert _bytes(run) == before


@pytest.mark.parametrize("make, said", [
    (lambda tmp: tmp / "nonexist", "no such folder"),
    (lambda tmp: (tmp / "file").write_text("x") and tmp / "file", "is a file, not a folder"),
])
def test_spill_to_that_is_no_folder_names_spill_to_not_memory(config, tmp_path, make, said):
    """Spilling was asked for: the message is about spill_to, not "too big for memory"."""
    with pytest.raises(OutputError, match=rf"^spill_to: .*{said}") as caught:
        simdc.simulate(config, spill=True, spill_to=make(tmp_path))
    assert "too big for memory" not in str(caught.value)


def test_spill_to_of_another_type_is_refused(config):
    with pytest.raises(OutputError, match="^spill_to: expected the path of an existing empty folder"):
        simdc.simulate(config, spill=True, spill_to=3)


# --- 9. argument checks: one ConfigError naming the argument ---------------------------

CONFIG = "configs/contention.toml"


@pytest.fixture(scope="module")
def short():
    from pathlib import Path

    return simdc.load_config(Path(__file__).resolve().parents[1] / CONFIG, overrides={"simulation.duration_s": 3600})


def test_overrides_given_as_one_string_is_refused_not_read_character_by_character():
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / CONFIG
    with pytest.raises(ConfigError, match=r"^overrides: expected a dict .* got the string 'host.memory_gib=128'"):
        simdc.load_config(path, overrides="host.memory_gib=128")
    # the list it asks for is taken: the value is set
    assert simdc.load_config(path, overrides=["host.memory_gib=128"]).fleet[0].memory_gib == 128


def test_a_dict_replacing_a_whole_table_says_so(short):
    with pytest.raises(ConfigError, match=r"host\.cpu_cores: required key is missing \(overrides\['host'\] replaced "
                                          r"the whole host table"):
        short.with_overrides({"host": {"memory_gib": 32}})
    assert short.with_overrides({"host.memory_gib": 32}).fleet[0].memory_gib == 32


@pytest.mark.parametrize("call, said", [
    (lambda cfg: simdc.load_config({"simulation": {}}), r"^path: expected the path of a TOML config .* got dict"),
    (lambda cfg: cfg.with_overrides({1: 3}), r"^overrides: the key 1 \(int\): expected a dotted key"),
    (lambda cfg: cfg.with_overrides([1]), r"^overrides: 1 \(int\): expected a string"),
    (lambda cfg: cfg.with_overrides(3), r"^overrides: expected a dict .* got int"),
    (lambda cfg: simdc.plan(cfg, "rejection_rate<=0.01", platforms=["lxc"]),
     r"^platforms: unknown platform 'lxc'; choose among the config's: vm, container"),
    (lambda cfg: simdc.plan(cfg, "rejection_rate<=0.01", max_hosts=0), r"^max_hosts: must be >= 1 \(got 0\)"),
    (lambda cfg: simdc.plan(cfg, "rejection_rate<=0.01", replications=2.0), r"^replications: expected an integer"),
    (lambda cfg: simdc.sweep(cfg, {"host.memory_gib": [32]}, replications=1.5), r"^replications: expected an integer"),
    (lambda cfg: simdc.sweep(cfg, {"host.memory_gib": [32]}, replications=True), r"^replications: expected an integer"),
    (lambda cfg: simdc.sweep(cfg, {"host.memory_gib": [32]}, check_memory="no"), r"^check_memory: expected True or"),
    (lambda cfg: simdc.sweep(cfg, {}), r"^grid: expected a dict .*got an empty dict"),
    (lambda cfg: simdc.simulate(cfg, seed=np.bool_(True)), r"^seed: expected an integer"),
    (lambda cfg: simdc.simulate(cfg, seed=1.0), r"^seed: expected an integer"),
    (lambda cfg: simdc.simulate(cfg, spill="yes"), r"^spill: expected True, False or None"),
    (lambda cfg: simdc.simulate(cfg, check_memory="no"), r"^check_memory: expected True or False"),
    (lambda cfg: simdc.simulate(cfg, seed=2**64), r"^seed: must be <= 9,223,372,036,854,775,807"),
    (lambda cfg: simdc.simulate(cfg, seed=2**63), r"^seed: must be <= 9,223,372,036,854,775,807"),
    (lambda cfg: cfg.with_overrides({"simulation.seed": 2**63}), r"^overrides: simulation\.seed=9223372036854775808: "
                                                                   r"must be <= "),
], ids=lambda value: "" if callable(value) else value.split(":")[0].strip("^\\"))
def test_a_bad_argument_is_one_config_error_naming_it(short, call, said):
    with pytest.raises(ConfigError, match=said) as caught:
        call(short)
    assert len(caught.value.problems) == 1


def test_the_largest_toml_seed_runs_and_a_numpy_integer_seed_is_taken(short):
    """2**63 - 1 is TOML's largest integer (toml.io v1.0.0): it runs and is written back."""
    import tomllib

    largest = simdc.simulate(short, seed=2**63 - 1)
    assert tomllib.loads(largest.config.to_toml())["simulation"]["seed"] == 2**63 - 1
    assert simdc.simulate(short, seed=np.int64(5)).manifest["seed"] == 5
    assert short.with_overrides(None).hash == short.hash


# --- 2. a spilled run's folder removed after the run ----------------------------------


@pytest.mark.parametrize("use", ["instances", "timeseries", "figures", "write"])
def test_a_spilled_runs_folder_removed_is_an_input_error_naming_it_not_the_destination(config, tmp_path, use):
    import shutil

    from simdc.errors import InputError

    (tmp_path / "spill").mkdir()
    spilled = simdc.simulate(config, spill=True, spill_to=tmp_path / "spill")
    shutil.rmtree(tmp_path / "spill")
    out = tmp_path / "after"
    act = {"instances": lambda: spilled.instances, "timeseries": lambda: spilled.timeseries,
           "figures": lambda: spilled.figures(), "write": lambda: spilled.write(out)}[use]
    with pytest.raises(InputError, match="table is gone") as caught:
        act()
    assert not isinstance(caught.value, OutputError)  # the destination is not to blame
    [line] = caught.value.problems
    assert str(tmp_path / "spill") in line and "run the simulation again" in line
    assert list(tmp_path.iterdir()) == []  # no destination made, nor a lock or partial left


# --- 7. PlanResult.write behaves as Results.write ---------------------------------------


@pytest.fixture(scope="module")
def planned():
    """A plan built from its tables (what plan() returns), without running a search."""
    from simdc.planning import PlanResult

    evaluations = pd.DataFrame({"platform": ["vm", "vm"], "hosts": [1, 2], "replication": [0, 0], "seed": [3, 3],
                                "met": [False, True]})
    table = pd.DataFrame({"platform": ["vm"], "hosts_needed": [2], "hosts_total": [2], "reason": [""]})
    return PlanResult(evaluations, table)


def test_a_plan_written_reads_back_and_is_not_replaced_without_overwrite(planned, tmp_path):
    out = planned.write(tmp_path / "plan")
    assert out == tmp_path / "plan" and sorted(p.name for p in out.iterdir()) == ["evaluations.csv", "plan.csv"]
    assert pd.read_csv(out / "plan.csv")["hosts_needed"].tolist() == [2]
    (out / "evaluations.csv").write_text("edited by hand\n")
    with pytest.raises(OutputError, match="already exists and is not empty; choose another out or pass "
                                          "overwrite=True"):
        planned.write(out)
    assert (out / "evaluations.csv").read_text() == "edited by hand\n"
    planned.write(out, overwrite=True)  # asked: the plan's own directory is replaced
    assert len(pd.read_csv(out / "evaluations.csv")) == len(planned.evaluations)


def test_a_plan_is_not_written_into_a_runs_results_or_over_a_file(config, planned, tmp_path):
    run = simdc.simulate(config).write(tmp_path / "run")
    before = _bytes(run)
    with pytest.raises(OutputError, match="is a run's results directory, not a plan's directory"):
        planned.write(run, overwrite=True)
    assert _bytes(run) == before
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="already exists and is not a directory"):
        planned.write(tmp_path / "file")


# --- 10. the rest: what a message says, and the working directory ----------------------


def test_a_full_disk_while_spilling_as_asked_does_not_say_too_big_for_memory(config, tmp_path, monkeypatch):
    import errno
    import os

    import pyarrow.parquet as pq

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    with pytest.raises(OutputError, match=r"spilled, as spill=True asked\): no space left on device") as caught:
        simdc.simulate(config, spill=True, spill_to=tmp_path)
    assert "too big for memory" not in caught.value.problems[0]


@pytest.mark.parametrize("given", [".", "cwd", ".."])
def test_results_are_not_written_over_the_working_directory(config, tmp_path, monkeypatch, given):
    """Writing renames a new directory into place: over the working directory (even an
    empty one) the process would be left in a removed folder; "." was refused as "not
    empty" (its own lock file), the absolute path was swapped out from under the process."""
    import os

    here = tmp_path / "work"
    here.mkdir()
    monkeypatch.chdir(here)
    out = {"cwd": str(here), ".": ".", "..": ".."}[given]
    results = simdc.simulate(config)
    with pytest.raises(OutputError, match="current working directory, and results are renamed into place"):
        results.write(out)
    assert list(here.iterdir()) == [] and os.path.samefile(".", here)
    results.write("sub")  # a new folder inside it is fine
    assert (here / "sub" / "manifest.json").is_file()


@pytest.mark.parametrize("progress", [5, "bar", True])
def test_a_progress_that_is_no_function_is_refused_before_the_run(config, progress):
    """progress=5 ran until its first call, then stopped on "'int' object is not callable"."""
    with pytest.raises(TypeError, match=r"^progress: expected a function progress\(platform, t_s, duration_s\)"):
        simdc.simulate(config, progress=progress)


def test_figure_sweep_of_a_column_that_is_no_metric_names_the_metrics():
    """figure_sweep(points, "platform") raised pandas' own TypeError from the mean of strings."""
    from simdc import report

    points = pd.DataFrame({"point": [0, 0, 1, 1], "host.memory_gib": [32, 32, 64, 64], "platform": "vm",
                           "replication": [0, 1, 0, 1], "seed": [0, 1, 0, 1], "mean_instances": [3.0, 5.0, 4.0, 8.0]})
    for column in ("platform", "seed"):
        with pytest.raises(ValueError, match=rf"not a metric '{column}'; choose one of: mean_instances$"):
            report.figure_sweep(points, column)


def test_sweep_and_plan_refuse_a_callback_that_is_no_function(config):
    """sweep(progress=5) and plan(echo=5) stopped on "'int' object is not callable" after
    a run; they are refused before any, as simulate's progress is."""
    with pytest.raises(TypeError, match=r"^progress: expected a function progress\(done, total\) or None"):
        simdc.sweep(config, {"host.memory_gib": [32]}, workers=1, progress=5)
    with pytest.raises(TypeError, match=r"^echo: expected a function echo\(evaluation: dict\) or None"):
        simdc.plan(config, ["rejection_rate<=0.5"], echo=5)
