"""Bounded memory (issue #16): a run too big for memory but not for disk runs spilled,
its tables written to Parquet as each platform finishes, and gives the same tables,
summary and results directory as the same run held in memory."""

from __future__ import annotations

import errno
import gc
import math
import os
import re

import pyarrow.parquet as pq
import pytest
from pandas.testing import assert_frame_equal
from typer.testing import CliRunner

import simdc
from simdc import budget, load_config, load_results
from simdc.budget import TooBigError
from simdc.cli import app
from simdc.config import validate
from simdc.errors import OutputError
from simdc.results import FILES, SpilledResults

from .conftest import MINIMAL, set_keys
from .test_out_safety import hidden, one_error_line, tmpfs
from .test_results import assert_same_results

TABLES = ("summary", "instances", "timeseries", "hosts", "workload", "services", "releases")
# the parts of a config that change what the engine keeps per instance and what the summary adds
VARIANTS = {
    "minimal": {},
    "faults_queue_cost": {
        "faults": {"host_failures": [[0, 1800.0]], "host_repair_s": 600, "on_failure": "resubmit"},
        "placement": {"when_full": "queue", "max_wait_s": 300},
        "cost": {"price_per_kwh": 0.2, "carbon_intensity_gco2_per_kwh": 300, "licence_per_hour": {"vm": 0.1}},
        "workload.synthetic.batch_fraction": 0.3,
    },
    "services": {"services": [{"name": "web", "replicas": 3, "cpu_cores": 1, "memory_gib": 1}]},
}


def between(config) -> int:
    """Bytes available for which ``config`` would not fit in memory but fits spilled."""
    found = budget.estimate(config)
    assert found.spilled_bytes < found.bytes, "the config is too small to spill: grow it"
    return int((found.spilled_bytes + found.bytes) / 2)


@pytest.fixture
def no_spill_bytes(monkeypatch):
    """The spill's own bytes (a row group in Arrow, 256 MiB) set to 0, so that a config
    small enough to run in a test has a spilled figure below its figure in memory."""
    monkeypatch.setattr(budget, "SPILL_BYTES", 0)


def manifest_of(results) -> dict:
    # (not the notes on steady state: a spilled run's tables are not read back for them)
    return {k: v for k, v in results.manifest.items() if k not in ("created_utc", "wall_time_s", "spilled")}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_a_spilled_run_gives_the_tables_of_the_run_in_memory(variant):
    """Every table, dtypes included, the summary to the bit and the manifest but its times
    are the same spilled as in memory; the spilled tables come from their Parquet files."""
    config = validate(set_keys(MINIMAL, VARIANTS[variant]))
    held = simdc.simulate(config)
    spilled = simdc.simulate(config, spill=True)
    assert type(held) is simdc.Results and isinstance(spilled, SpilledResults)
    assert spilled.manifest["spilled"] is True and "spilled" not in held.manifest
    for table in TABLES:
        want, got = getattr(held, table), getattr(spilled, table)
        if want is None:
            assert got is None, table
        else:
            assert_frame_equal(got, want, check_exact=True, obj=table)
    assert manifest_of(spilled) == manifest_of(held)
    # a row group per platform (each under 250,000 rows), in the platforms' order
    file = pq.ParquetFile(spilled.path("instances"))
    assert file.num_row_groups == len(config.simulation.platforms)
    assert [file.read_row_group(k, columns=["platform"])["platform"][0].as_py()
            for k in range(file.num_row_groups)] == list(config.simulation.platforms)


def test_a_platform_larger_than_a_row_group_is_cut_into_row_groups(monkeypatch):
    """With row groups of 16 rows, each platform's instances are ⌈rows / 16⌉ row groups
    of at most 16 rows, one platform's each, and read back as the run in memory."""
    from simdc import experiment

    config = validate(MINIMAL)
    held = simdc.simulate(config)
    monkeypatch.setattr(experiment, "SPILL_ROWS", 16)
    spilled = simdc.simulate(config, spill=True)
    file = pq.ParquetFile(spilled.path("instances"))
    sizes = [file.metadata.row_group(k).num_rows for k in range(file.num_row_groups)]
    per_platform = held.instances["platform"].value_counts(sort=False)
    assert len(sizes) == sum(math.ceil(n / 16) for n in per_platform) and max(sizes) <= 16
    for k in range(file.num_row_groups):
        assert len(set(file.read_row_group(k, columns=["platform"])["platform"].to_pylist())) == 1
    assert_frame_equal(spilled.instances, held.instances, check_exact=True)
    assert_frame_equal(spilled.timeseries, held.timeseries, check_exact=True)


def test_the_estimate_refuses_in_memory_but_accepts_spilled():
    """Between the two figures, :func:`budget.check` spills (spill=None) or refuses
    (spill=False); below both it refuses and says the spilled figure. The spilled figure
    is one platform's rows, the usage readings and the spill's own bytes. (Estimated
    only: ten million instances.)"""
    config = validate(set_keys(MINIMAL, {"workload.synthetic.arrival_rate_per_s": 1500}))
    found = budget.estimate(config)
    instances = math.ceil(1500 * 7200)
    timeseries = math.ceil(7200 / 300) * 1 * 2
    assert found.bytes == (budget.BASE_BYTES + instances * 2 * budget.BYTES_PER_INSTANCE_PLATFORM
                           + timeseries * budget.BYTES_PER_TIMESERIES_ROW + budget.BYTES_PER_HOST)
    assert found.spilled_bytes == (budget.BASE_BYTES + budget.SPILL_BYTES + instances *
                                   budget.BYTES_PER_INSTANCE_SPILLED + timeseries / 2 * budget.BYTES_PER_TIMESERIES_ROW
                                   + budget.BYTES_PER_HOST)
    available = between(config)
    assert budget.check(config, available=available, spill=None).spill is True
    assert budget.check(config, available=int(found.bytes), spill=None).spill is False  # fits: in memory
    with pytest.raises(TooBigError) as refused:
        budget.check(config, available=available)  # spill=False: in memory or not at all
    assert "even with its tables written" not in refused.value.problems[0]
    with pytest.raises(TooBigError) as refused:
        budget.check(config, available=int(found.spilled_bytes) - 1, spill=None)
    [line] = refused.value.problems
    assert line.startswith("this run needs about ") and "even with its tables written to disk" in line
    # (as many digits as tell the need from what is available: budget._gib)
    said = re.search(r"about ([\d,.]+) GiB even", line)
    assert said and abs(float(said[1].replace(",", "")) - found.spilled_bytes / 2**30) < 0.05, line


def test_simulate_spills_only_what_does_not_fit(monkeypatch, no_spill_bytes):
    """With check_memory, the same run is held in memory when it fits and spilled when
    only the spilled figure fits; the environment variable lowers what is available."""
    config = validate(MINIMAL)
    monkeypatch.setenv(budget.AVAILABLE_ENV, str(between(config)))
    spilled = simdc.simulate(config)
    assert isinstance(spilled, SpilledResults)
    monkeypatch.delenv(budget.AVAILABLE_ENV)
    held = simdc.simulate(config)
    assert type(held) is simdc.Results
    assert_frame_equal(spilled.summary, held.summary, check_exact=True)
    assert len(spilled.instances) == 2 * len(held.workload)


def test_the_temporary_folder_goes_with_the_results(tmp_path):
    """The Python API's spilled tables live in a temporary folder the results own: a
    table read twice while held is one DataFrame; the folder is gone with the results.
    Written out, the directory reads back as the same results."""
    spilled = simdc.simulate(validate(MINIMAL), spill=True)
    folder = spilled.path("instances").parent
    first = spilled.instances
    assert spilled.instances is first
    out = spilled.write(tmp_path / "run")
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    again = load_results(out)
    for table in ("instances", "timeseries", "summary", "hosts", "workload"):
        assert_frame_equal(getattr(again, table), getattr(spilled, table), check_exact=True)
    del spilled, first
    gc.collect()
    assert not folder.exists()


def test_spill_to_a_folder_of_ones_own(tmp_path):
    """``spill_to``: the tables are written there, and nothing else is left beside them."""
    spilled = simdc.simulate(validate(MINIMAL), spill=True, spill_to=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["instances.parquet", "timeseries.parquet"]
    assert spilled.path("timeseries") == tmp_path / "timeseries.parquet"


def test_cli_spilled_run_writes_the_results_directory_of_the_run_in_memory(config_path, tmp_path, monkeypatch,
                                                                           no_spill_bytes):
    """``simdc run`` of a run too big for memory writes its tables into the results
    directory's partial folder as it runs: the directory is complete, reads back with
    load_results, and holds the tables of the same run in memory."""
    config = load_config(config_path)
    runner = CliRunner()
    held = runner.invoke(app, ["run", str(config_path), "--out", str(tmp_path / "held")])
    assert held.exit_code == 0, held.output
    monkeypatch.setenv(budget.AVAILABLE_ENV, str(between(config)))
    spilled = runner.invoke(app, ["run", str(config_path), "--out", str(tmp_path / "spilled")])
    assert spilled.exit_code == 0, spilled.output
    assert sorted(p.name for p in (tmp_path / "spilled").iterdir()) == sorted(FILES)
    assert hidden(tmp_path) == []
    want, got = load_results(tmp_path / "held"), load_results(tmp_path / "spilled")
    assert got.manifest.pop("spilled") is True
    for results in (want, got):
        for key in ("created_utc", "wall_time_s"):
            results.manifest.pop(key, None)
    assert_same_results(got, want)
    # the CLI says a spilled run's notes as a run in memory's (it left them out)
    notes = [line for line in held.stderr.splitlines() if line.startswith("note: ")]
    assert [line for line in spilled.stderr.splitlines() if line.startswith("note: ")] == notes


def test_a_full_disk_while_spilling_is_one_line_and_leaves_nothing(config_path, tmp_path, monkeypatch,
                                                                    no_spill_bytes):
    """ENOSPC while a platform's table is written (the second Parquet write): one
    ``error:`` line naming the destination and the cause, exit 2, and neither the results
    directory nor a partial one left."""
    original = pq.ParquetWriter.write_table
    calls = []

    def write_table(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", write_table)
    monkeypatch.setenv(budget.AVAILABLE_ENV, str(between(load_config(config_path))))
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(config_path), "--out", str(out)])
    one_error_line(result, str(out), "as it ran", "no space left on device", "nothing was written")
    assert not out.exists()
    assert hidden(tmp_path) == []


def test_a_real_full_tmpfs_while_spilling_is_one_line_and_leaves_it_empty(config_path, tmp_path, monkeypatch,
                                                                          no_spill_bytes):
    """The same on an 8 KiB tmpfs that really fills up as the first table is written
    (pyarrow's own error)."""
    monkeypatch.setenv(budget.AVAILABLE_ENV, str(between(load_config(config_path))))
    with tmpfs(tmp_path / "small", "size=8k") as small:
        result = CliRunner().invoke(app, ["run", str(config_path), "--out", str(small / "run")])
        one_error_line(result, "no space left on device", "nothing was written")
        assert list(small.iterdir()) == []


def test_a_full_disk_in_the_python_api_raises_output_error(tmp_path, monkeypatch):
    """The same through simdc.simulate: an OutputError naming the folder, and the folder
    given left empty."""
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    with pytest.raises(OutputError, match="no space left on device") as caught:
        simdc.simulate(validate(MINIMAL), spill=True, spill_to=tmp_path)
    assert str(tmp_path) in caught.value.problems[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["lots", "0", "-5", "-1e9", "0.5", "1e-3", "nan", "inf", "1e", ""])
def test_a_bad_available_bytes_variable_is_one_line(config_path, monkeypatch, value):
    """SIMDC_AVAILABLE_BYTES that is not a number of at least one byte (nor finite): one
    error line naming it."""
    monkeypatch.setenv(budget.AVAILABLE_ENV, value)
    result = CliRunner().invoke(app, ["run", str(config_path), "--no-write"])
    one_error_line(result, budget.AVAILABLE_ENV, "positive number of bytes", repr(value))


def _rising_trace(path) -> str:
    """A trace whose residents still rise at the end: an arrival every 30 s over 2 h, each
    living 5 h (none ends within the run), every one fitting the host."""
    path.write_text("id,submit_s,duration_s,cpu_cores,memory_gib\n"
                    + "".join(f"{k},{30 * k},18000,0.1,0.1\n" for k in range(240)))
    return str(path)


@pytest.mark.parametrize("source", ["synthetic", "trace"])
def test_a_spilled_run_has_the_steady_state_notes_of_the_run_in_memory(source, tmp_path, monkeypatch):
    """A fleet still filling up gets its 'not in steady state' note spilled too (the
    spilled path had none), the same words as in memory, though its tables are read in
    row groups of 16 rows (the synthetic rule over instances, a trace's over the
    timeseries), and without reading either table whole."""
    from simdc import experiment

    # room for every request (a host of 64 cores was full from the first hour on: its
    # residents did not rise, whatever the lifetimes)
    changes = {"host.cpu_cores": 512, "host.memory_gib": 1024, "workload.synthetic.lifetime_s.mean": 36000}
    if source == "trace":
        changes["workload"] = {"trace": _rising_trace(tmp_path / "t.csv"), "format": "simdc"}
    config = validate(set_keys(MINIMAL, changes))
    held = simdc.simulate(config)
    monkeypatch.setattr(experiment, "SPILL_ROWS", 16)
    spilled = simdc.simulate(config, spill=True)
    assert pq.ParquetFile(spilled.path("instances")).num_row_groups > 2
    assert held.manifest["notes"] and all("not in steady state" in n for n in held.manifest["notes"])
    assert spilled.manifest["notes"] == held.manifest["notes"]
    assert not any(ref() is not None for ref in spilled._held.values())  # neither table read whole
