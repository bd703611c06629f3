"""Results directories (simdc/results.py): written atomically, never silently replaced,
and read back into the same tables."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import simdc
from simdc import InputError, load_config, load_results
from simdc.errors import OutputError
from simdc.results import FILES, fresh_results_dir

TABLES = ("summary", "instances", "timeseries", "hosts", "workload")


@pytest.fixture
def results(config_path) -> simdc.Results:
    return simdc.simulate(load_config(config_path))


def assert_same_results(got: simdc.Results, want: simdc.Results) -> None:
    for table in TABLES:
        assert_frame_equal(getattr(got, table), getattr(want, table), check_exact=True, obj=table)
    assert got.config == want.config
    assert got.manifest == want.manifest


def leftovers(directory: Path, name: str) -> list[str]:
    """Hidden temporary directories a write may have left beside ``name``."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(f".{name}."))


def test_written_directory_reads_back_into_equal_results(results, tmp_path):
    """load_results(write(dir)) gives every table value for value, dtypes included, the
    same config and the same manifest."""
    out = results.write(tmp_path / "run")
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert_same_results(load_results(out), results)


def test_tables_past_the_parquet_dictionary_limit_read_back_identical(results, tmp_path):
    """Tables whose columns hold more distinct values than a 64 KiB dictionary (where the
    writer falls back to plain encoding, PARQUET_OPTIONS) read back value for value,
    dtypes included: floats with NaN, integers, booleans, text ids, categories."""
    import dataclasses

    import numpy as np

    rng = np.random.default_rng(7)
    n = 30_000  # 240 KB of distinct doubles a column: past the limit, whose fallback is read back
    big = pd.DataFrame({
        "platform": pd.Categorical(rng.choice(["vm", "container"], n)),
        "id": [f"job-{i}" for i in rng.permutation(n)],
        "admit_s": np.where(rng.random(n) < 0.1, np.nan, rng.random(n) * 1e6),
        "host": rng.integers(-1, 5_000, n),
        "killed": rng.random(n) < 0.5,
        "job": pd.Categorical([f"j{i}" for i in rng.integers(0, 20_000, n)]),
    })
    out = dataclasses.replace(results, instances=big, workload=big.drop(columns="platform")).write(tmp_path / "run")
    back = load_results(out)
    assert_frame_equal(back.instances, big, check_exact=True)
    assert_frame_equal(back.workload, big.drop(columns="platform"), check_exact=True)


def test_trace_workload_with_string_ids_reads_back(tmp_path, write_trace, minimal):
    """String ids, a categorical outcome and NaN times survive the round trip."""
    trace = write_trace([{"id": f"job-{i}", "submit_s": 30.0 * i, "duration_s": 4000, "cpu_cores": 4,
                          "memory_gib": 6} for i in range(8)])
    minimal["workload"] = {"trace": str(trace)}
    results = simdc.simulate(simdc.config.validate(minimal))
    assert results.instances["admit_s"].isna().any()  # some were rejected: NaN times
    assert_same_results(load_results(results.write(tmp_path / "run")), results)


def test_platform_named_like_a_number_reads_back_as_a_name(write_config, tmp_path):
    """A platform called "2" is still the string "2" in the summary read back."""
    config = load_config(write_config({"platform.2": {"preset": "vm"}, "simulation.platforms": ["2"]}))
    results = simdc.simulate(config)
    again = load_results(results.write(tmp_path / "run"))
    assert again.summary["platform"].tolist() == ["2"]
    assert again.hosts["platform"].tolist() == ["2"]
    assert_same_results(again, results)


def test_results_read_back_after_the_trace_is_gone(tmp_path, write_trace, minimal):
    """A results directory is self-contained (it holds workload.parquet): it reads back
    after the trace it was made from has been moved away."""
    trace = write_trace([{"id": i, "submit_s": 10.0 * i, "duration_s": 60, "cpu_cores": 1, "memory_gib": 1}
                         for i in range(5)])
    minimal["workload"] = {"trace": str(trace)}
    results = simdc.simulate(simdc.config.validate(minimal))
    out = results.write(tmp_path / "run")
    trace.unlink()
    assert_same_results(load_results(out), results)


def test_manifest_records_seed_hash_versions_and_wall_time(results, tmp_path):
    """manifest.json names the seed, the config hash, package versions and the wall time."""
    out = results.write(tmp_path / "run")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == results.config.simulation.seed
    assert manifest["config_hash"] == results.config.hash
    assert {"simdc", "simpy", "numpy", "pandas"} <= set(manifest["versions"])
    assert manifest["wall_time_s"] >= 0
    # each the installed distribution's version (read from the modules where imported)
    for package, version in manifest["versions"].items():
        if package != "python":
            assert version == metadata.version(package), package


def test_existing_results_are_not_replaced_without_overwrite(results, tmp_path):
    """Writing to a non-empty directory is an InputError and leaves it untouched; with
    overwrite=True it is replaced, and no temporary directory is left behind."""
    out = results.write(tmp_path / "run")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    other = simdc.simulate(results.config, seed=results.config.simulation.seed + 1)

    with pytest.raises(InputError, match="already exists"):
        other.write(out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    other.write(out, overwrite=True)
    assert_same_results(load_results(out), other)
    assert leftovers(tmp_path, "run") == []


def test_writing_into_an_existing_empty_directory_is_allowed(results, tmp_path):
    """An empty directory (made by hand for the results) is not 'existing results'."""
    (tmp_path / "run").mkdir()
    results.write(tmp_path / "run")
    assert_same_results(load_results(tmp_path / "run"), results)


def test_an_existing_file_is_never_replaced(results, tmp_path):
    """--out naming a file is refused, and the file is kept."""
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    with pytest.raises(InputError):
        results.write(target)
    assert target.read_text() == "keep me"


def test_out_below_a_file_is_reported(results, tmp_path):
    """A destination whose parent is a file is an InputError naming it, not an OSError."""
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="notes.txt"):
        results.write(tmp_path / "notes.txt" / "run")
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def fail_on(monkeypatch, name: str, error: BaseException) -> None:
    """Make results.write_parquet raise ``error`` when it writes a file called ``name``."""
    import simdc.results

    original = simdc.results.write_parquet

    def write_parquet(frame, path):
        if Path(path).name == name:
            raise error
        return original(frame, path)

    monkeypatch.setattr(simdc.results, "write_parquet", write_parquet)


@pytest.mark.parametrize("error, raised", [(OSError("disk full"), OutputError),
                                           (KeyboardInterrupt(), KeyboardInterrupt)], ids=["error", "interrupt"])
def test_interrupted_write_leaves_no_directory(results, tmp_path, monkeypatch, error, raised):
    """A write that fails half-way (here: writing the timeseries) leaves neither the
    destination nor a partial directory beside it; the caller gets an OutputError naming
    the destination (an interrupt stays an interrupt)."""
    fail_on(monkeypatch, "timeseries.parquet", error)
    with pytest.raises(raised, match=None if raised is KeyboardInterrupt else "disk full"):
        results.write(tmp_path / "run")
    assert not (tmp_path / "run").exists()
    assert leftovers(tmp_path, "run") == []


def test_interrupted_overwrite_keeps_the_old_results(results, tmp_path, monkeypatch):
    """With overwrite=True, a failed write leaves the previous results complete."""
    out = results.write(tmp_path / "run")
    other = simdc.simulate(results.config, seed=results.config.simulation.seed + 1)
    fail_on(monkeypatch, "timeseries.parquet", OSError("disk full"))
    with pytest.raises(OutputError):
        other.write(out, overwrite=True)
    monkeypatch.undo()
    assert_same_results(load_results(out), results)
    assert leftovers(tmp_path, "run") == []


def test_incomplete_directory_is_reported(results, tmp_path):
    """A directory missing one of the files is an InputError naming the missing file."""
    out = results.write(tmp_path / "run")
    (out / "timeseries.parquet").unlink()
    with pytest.raises(InputError, match="timeseries.parquet"):
        load_results(out)
    with pytest.raises(InputError):
        load_results(tmp_path / "nowhere")


def test_fresh_results_dir_never_reuses_a_name(tmp_path):
    """Names under the base are new even when made in the same second, start with the
    stem, and are made (empty) by the call itself, so that two runs cannot both pick one."""
    first = fresh_results_dir(tmp_path, "host64g")
    second = fresh_results_dir(tmp_path, "host64g")
    third = fresh_results_dir(tmp_path, "host64g")
    assert len({first, second, third}) == 3
    assert all(p.parent == tmp_path and p.name.startswith("host64g-") for p in (first, second, third))
    assert all(p.is_dir() and not any(p.iterdir()) for p in (first, second, third))


def test_fresh_results_dir_takes_the_next_suffix_when_the_name_is_taken(tmp_path, frozen_results_clock):
    """Another run made results/erlang-STAMP (and -2) in the same second: this one gets -3."""
    (tmp_path / "erlang-20261130-091004").mkdir()
    (tmp_path / "erlang-20261130-091004-2").mkdir()
    assert fresh_results_dir(tmp_path, "erlang") == tmp_path / "erlang-20261130-091004-3"
