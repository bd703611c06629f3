"""The ``simdc`` command (simdc/cli.py), driven through typer's CliRunner: results
directories, overrides, and user mistakes as ``error:`` lines with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from typer.testing import CliRunner

import simdc
from simdc.cli import app, grid_headers
from tests.conftest import only_problems

ROOT = Path(__file__).resolve().parents[1]

SUMMARY_COLUMNS = ["platform", "submitted", "placed", "rejected", "completed", "running_at_end", "oom_killed",
                   "peak_instances", "mean_instances", "start_p50_s", "start_p95_s", "start_p99_s",
                   "cpu_util_mean", "mem_used_util_mean", "mem_alloc_util_mean", "cpu_booked_util_mean",
                   "queued_at_end", "replaced", "failed", "requeued_at_end"]
INSTANCE_COLUMNS = ["id", "platform", "host", "submit_s", "admit_s", "ready_s", "first_ready_s", "end_s", "outcome",
                    "queue_s", "boot_s", "resident_s", "replacements"]
TIMESERIES_COLUMNS = ["t_s", "running", "cpu_demand", "cpu_used", "mem_used_gib", "mem_alloc_gib"]
FILES = ["summary.csv", "instances.parquet", "timeseries.parquet", "hosts.csv", "workload.parquet",
         "config.toml", "manifest.json"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, *args: str):
    return runner.invoke(app, [str(a) for a in args])


def assert_user_error(result, *fragments: str) -> list[str]:
    """Exit code 2, one ``error:`` line per problem on stderr, no traceback anywhere."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert only_problems(lines), lines
    for fragment in fragments:
        assert any(fragment in line for line in lines), (fragment, lines)
    return lines


def test_run_writes_a_complete_results_directory(runner, config_path, tmp_path):
    """``run CONFIG --out DIR`` exits 0, prints the comparison with one column per
    platform, and DIR holds every file with the required columns."""
    out = tmp_path / "out"
    result = invoke(runner, "run", config_path, "--out", out)
    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if "metric" in line)
    assert header.index("vm") < header.index("container")
    for label in ("submitted", "placed", "start p50 (s)", "memory allocated", "CPU booked"):
        assert label in result.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)

    summary = pd.read_csv(out / "summary.csv")
    assert set(SUMMARY_COLUMNS) <= set(summary.columns)
    assert summary["platform"].tolist() == ["vm", "container"]
    instances = pd.read_parquet(out / "instances.parquet")
    assert set(INSTANCE_COLUMNS) <= set(instances.columns)
    timeseries = pd.read_parquet(out / "timeseries.parquet")
    assert set(TIMESERIES_COLUMNS) <= set(timeseries.columns)
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"seed", "config_hash", "versions", "wall_time_s"} <= set(manifest)
    assert manifest["seed"] == 3
    assert manifest["config_hash"] == simdc.load_config(out / "config.toml").hash
    # The printed counts are the written ones.
    cells = next(cells for line in result.stdout.splitlines()
                 if (cells := [c.strip() for c in line.split("│")[1:-1]]) and cells[0] == "submitted")
    assert cells[1:] == [f"{n:,}" for n in summary["submitted"]]


def test_run_results_equal_the_library_results(runner, config_path, tmp_path):
    """What the CLI writes is what simdc.simulate returns for the same config."""
    out = tmp_path / "out"
    assert invoke(runner, "run", config_path, "--out", out).exit_code == 0
    written = simdc.load_results(out)
    direct = simdc.simulate(simdc.load_config(config_path))
    for table in ("summary", "instances", "timeseries", "hosts", "workload"):
        assert_frame_equal(getattr(written, table), getattr(direct, table), obj=table)
    assert written.config == direct.config


def test_second_run_to_the_same_out_is_refused(runner, config_path, tmp_path):
    """Without --overwrite an existing results directory is an error (exit 2) and is left
    as it was; with --overwrite it is replaced."""
    out = tmp_path / "out"
    assert invoke(runner, "run", config_path, "--out", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    result = invoke(runner, "run", config_path, "--out", out, "--seed", "9")
    assert_user_error(result, "already exists", "--overwrite")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    result = invoke(runner, "run", config_path, "--out", out, "--seed", "9", "--overwrite")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text())["seed"] == 9


def test_runs_without_out_get_new_directories_under_results(runner, config_path, tmp_path, monkeypatch):
    """Without --out each run writes a new directory under ./results, named after the config."""
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert invoke(runner, "run", config_path).exit_code == 0
    made = sorted((tmp_path / "results").iterdir())
    assert len(made) == 2
    assert all(p.name.startswith("config-") and (p / "manifest.json").is_file() for p in made)


def test_no_write_writes_nothing(runner, config_path, tmp_path, monkeypatch):
    """--no-write prints the comparison and leaves no results directory."""
    monkeypatch.chdir(tmp_path)
    result = invoke(runner, "run", config_path, "--no-write")
    assert result.exit_code == 0 and "submitted" in result.stdout
    assert not (tmp_path / "results").exists()
    out = tmp_path / "asked"  # --out with --no-write: one of them is a mistake
    assert_user_error(invoke(runner, "run", config_path, "--no-write", "--out", out), f"--out {out}", "--no-write")
    assert not out.exists()


def test_set_and_seed_options_change_the_run(runner, config_path, tmp_path):
    """--set overrides keys (repeatable, inline tables too) and --seed the seed; both are
    recorded in the written config and manifest, and the tables match the library's."""
    out = tmp_path / "out"
    result = invoke(runner, "run", config_path, "--out", out, "--seed", "11",
                    "--set", "host.memory_gib=64", "--set", "platform.vm.boot_s={median = 5, p95 = 10}",
                    "-s", "simulation.platforms=[\"vm\"]")
    assert result.exit_code == 0, result.output
    assert "seed 11" in result.stdout
    written = simdc.load_results(out)
    assert written.config.host.memory_gib == 64
    assert written.config.platform["vm"].boot_s.median == 5
    assert written.config.simulation.seed == 11 and written.manifest["seed"] == 11
    assert written.summary["platform"].tolist() == ["vm"]
    direct = simdc.simulate(simdc.load_config(config_path, ["host.memory_gib=64",
                                                            "platform.vm.boot_s={median = 5, p95 = 10}",
                                                            "simulation.platforms=[\"vm\"]"]), seed=11)
    assert_frame_equal(written.instances, direct.instances)


def test_bad_override_and_bad_seed_are_user_errors(runner, config_path, tmp_path):
    """A bad --set path or value, or a negative --seed: exit 2 with error lines."""
    assert_user_error(invoke(runner, "run", config_path, "--no-write", "--set", "host.memroy_gib=3"),
                      "host.memroy_gib", "'memory_gib'")
    assert_user_error(invoke(runner, "run", config_path, "--no-write", "--set", "host.memory_gib.x=3"),
                      "host.memory_gib")
    assert_user_error(invoke(runner, "run", config_path, "--no-write", "--set", "nonsense"), "nonsense")
    assert_user_error(invoke(runner, "run", config_path, "--no-write", "--seed", "-1"), "--seed")


def test_out_that_cannot_be_created_is_a_user_error(runner, config_path, tmp_path):
    """--out below an existing file: exit 2 and an error line, not a traceback."""
    (tmp_path / "notes.txt").write_text("")
    assert_user_error(invoke(runner, "run", config_path, "--out", tmp_path / "notes.txt" / "run"), "notes.txt")


CLI_PROBLEMS = {
    "unknown-key": ({"host.memroy_gib": 3}, ["host.memroy_gib", "'memory_gib'"]),
    "unknown-platform-key": ({"platform.vm.bootz": 3}, ["platform.vm.bootz", "'boot_s'"]),
    "wrong-type": ({"host.cpu_cores": "many"}, ["host.cpu_cores"]),
    "out-of-range": ({"host.memory_gib": -4}, ["host.memory_gib", "-4"]),
    "bad-literal": ({"placement.when_full": "drop"}, ["placement.when_full", "'drop'"]),
    "unknown-platform": ({"simulation.platforms": ["lxc"]}, ["simulation.platforms", "'lxc'"]),
    "unknown-preset": ({"platform.x": {"preset": "turbo"}}, ["platform.x.preset", "'turbo'"]),
    "unknown-policy": ({"placement.policy": "bestfit"}, ["placement.policy", "first_fit"]),
    "bad-distribution": ({"platform.vm.boot_s": {"median": 3}}, ["platform.vm.boot_s"]),
    "missing-trace": ({"workload": {"trace": "gone.csv"}}, ["workload.trace", "gone.csv"]),
}


@pytest.mark.parametrize(("changes", "fragments"), CLI_PROBLEMS.values(), ids=CLI_PROBLEMS.keys())
def test_config_mistake_exits_2_with_error_lines(runner, write_config, changes, fragments):
    """Every config mistake reaches the user as ``error: FILE: key.path: ...`` and exit 2."""
    path = write_config(changes)
    lines = assert_user_error(invoke(runner, "run", path, "--no-write"), *fragments)
    assert len(lines) == 1 and str(path) in lines[0]


def test_several_config_mistakes_give_one_error_line_each(runner, write_config):
    """Three problems, three ``error:`` lines."""
    path = write_config({"host.memroy_gib": 3, "host.cpu_cores": -1, "placement.when_full": "drop"})
    lines = assert_user_error(invoke(runner, "run", path, "--no-write"),
                              "host.memroy_gib", "host.cpu_cores", "placement.when_full")
    assert len(lines) == 3


def test_missing_config_file_and_invalid_toml_exit_2(runner, tmp_path):
    """A config that does not exist, or is not TOML, is a user error too."""
    assert_user_error(invoke(runner, "run", tmp_path / "absent.toml"), "absent.toml", "not found")
    broken = tmp_path / "broken.toml"
    broken.write_text("[host\n")
    assert_user_error(invoke(runner, "run", broken), "broken.toml", "invalid TOML")


def test_bad_trace_row_exits_2_naming_file_and_line(runner, write_config, write_trace):
    """A malformed workload file is reported like a config mistake: file, line, reason."""
    trace = write_trace([{"id": 1, "submit_s": 0, "duration_s": 60, "cpu_cores": 1, "memory_gib": 1},
                         {"id": 2, "submit_s": 5, "duration_s": -60, "cpu_cores": 1, "memory_gib": 1}])
    path = write_config({"workload": {"trace": str(trace)}})
    assert_user_error(invoke(runner, "run", path, "--no-write"), f"{trace}: line 3: duration_s")


def test_installed_command_reports_errors_without_traceback(tmp_path, write_config):
    """The real ``simdc`` entry point, as a process: exit 2, error lines on stderr only."""
    path = write_config({"host.memory_gib": -4})
    script = Path(sys.executable).with_name("simdc")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from simdc.cli import main; main()"]
    done = subprocess.run([*command, "run", str(path)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.startswith("error: ") and "host.memory_gib: must be > 0 (got -4)" in done.stderr
    assert not (tmp_path / "results").exists()


def test_example_config_shows_the_readme_comparison(runner, tmp_path):
    """configs/host64g.toml, as the README runs it: containers place more instances and
    start faster than VMs, and VMs allocate far more memory than they use."""
    out = tmp_path / "host64g"
    result = invoke(runner, "run", ROOT / "configs" / "host64g.toml", "--out", out)
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(out / "summary.csv").set_index("platform")
    vm, container = summary.loc["vm"], summary.loc["container"]
    assert container["placed"] > vm["placed"]
    assert container["start_p50_s"] < vm["start_p50_s"]
    # a guest keeps the memory it touched: over Azure 2017 lifetimes (mean 51.8 h) its
    # high-water mark nears its usage's peak, so VMs use about half what they allocate
    assert vm["mem_alloc_util_mean"] > 1.5 * vm["mem_used_util_mean"]
    assert_frame_equal(simdc.load_results(out).summary, pd.read_csv(out / "summary.csv", dtype={"platform": str}))


def test_trace_inspect_size_mix_prints_distinct_sizes_distinctly(write_trace):
    """Bitbrains has VMs of 2 GiB and of 1.998047 GiB (2,095,104 KiB): at three significant
    digits both rows read "1 | 2", two identical rows a planner cannot tell apart. Each
    distinct size prints differently, and a round size stays round."""
    sizes = [(1, 2.0), (1, 2.0), (1, 2045 / 1024 - 0.0005), (2, 8.0)]
    trace = write_trace([{"id": k, "submit_s": 0, "duration_s": 60, "cpu_cores": c, "memory_gib": m}
                         for k, (c, m) in enumerate(sizes)])
    result = CliRunner().invoke(app, ["trace", "inspect", str(trace)])
    assert result.exit_code == 0, result.output
    table = result.output[result.output.index("size mix"):].split("└")[0]
    rows = [tuple(cell.strip() for cell in line.strip("│").split("│")[:2])
            for line in table.splitlines() if line.startswith("│")]
    assert len(rows) == len(set(sizes)) == len(set(rows)), rows
    assert ("1", "2") in rows and ("2", "8") in rows


def test_a_sweep_header_is_the_full_key_when_its_last_part_is_ambiguous():
    """review6: `--grid migration.container=...` was headed "container" beside a platform
    column holding "container". A last part naming a platform, another column or another
    key's last part shows the whole key; others stay short."""
    keys = ["migration.container", "host.memory_gib", "cluster.hosts.0.count", "cluster.hosts.1.count",
            "simulation.platform"]
    assert grid_headers(keys, ["vm", "container"], ["platform", "rejection_rate"]) == [
        "migration.container", "memory_gib", "cluster.hosts.0.count", "cluster.hosts.1.count",
        "simulation.platform"]


# The ``simdc`` entry point in a fresh interpreter, with the simulation replaced by a probe
# that records the collector's state when the run starts, then stops the run (exit 2).
GC_PROBE = """
import gc, json, sys
import simdc.cli
from simdc.errors import SimdcError

seen = {"enabled_before": gc.isenabled()}


def simulate(config, **kwargs):
    seen["enabled"], seen["frozen"] = gc.isenabled(), gc.get_freeze_count()
    seen["loaded"] = sorted({"pandas", "pyarrow", "simdc.engine"} & set(sys.modules))
    raise SimdcError("probe: stop here")


simdc.cli.simulate = simulate
from simdc.__main__ import main

sys.argv = ["simdc", "run", sys.argv[1], "--no-write"]
try:
    main()
except SystemExit as done:
    seen["exit"] = done.code
seen["enabled_after"] = gc.isenabled()
print(json.dumps(seen))
"""


def test_the_simdc_command_freezes_what_it_imported_and_collects_while_it_runs(config_path):
    """simdc/__main__.py: the collector is off while the command's modules load, then
    their objects are frozen and it runs again, before the simulation starts; when the
    command returns it is on, as it was found."""
    done = subprocess.run([sys.executable, "-c", GC_PROBE, str(config_path)], capture_output=True, text=True,
                          timeout=120)
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["exit"] == 2 and "error: probe: stop here" in done.stderr, (seen, done.stderr)
    assert seen["loaded"] == ["pandas", "pyarrow", "simdc.engine"]
    # pandas, numpy and pyarrow alone leave well over 50,000 tracked objects
    assert seen["enabled_before"] and seen["enabled"] and seen["frozen"] > 50_000, seen
    assert seen["enabled_after"]


@pytest.mark.parametrize("enabled", [True, False])
def test_the_simdc_command_leaves_the_collector_as_it_found_it(enabled, monkeypatch):
    """``simdc --version`` (which returns before a command runs) leaves the collector on
    or off as it was, and freezes nothing."""
    import gc

    from simdc.__main__ import main

    monkeypatch.setattr(sys, "argv", ["simdc", "--version"])
    frozen = gc.get_freeze_count()
    (gc.enable if enabled else gc.disable)()
    try:
        with pytest.raises(SystemExit):
            main()
        assert gc.isenabled() == enabled
        assert gc.get_freeze_count() == frozen
    finally:
        gc.enable()


def test_paths_and_titles_print_as_they_are_not_as_emoji(runner, write_config, tmp_path):
    """rich turns ``:cat:`` into an emoji unless told not to: a config named
    ``x:smile:.toml`` and an out directory ``a:cat:b`` are printed as they are."""
    config = write_config()
    named = config.with_name("x:smile:.toml")
    config.rename(named)
    out = tmp_path / "a:cat:b"
    result = invoke(runner, "run", named, "--out", out)
    assert result.exit_code == 0, result.output
    assert "x:smile:.toml, seed" in result.stdout
    assert f"wrote {out} (" in result.stderr


@pytest.mark.parametrize("args, named", [
    (["run", "CONFIG", "--seed", "abc"], "'--seed'"),
    (["run", "CONFIG", "--bogus"], "--bogus"),
    (["plan", "CONFIG"], "'--slo'"),
    (["nosuch"], "'nosuch'"),
])
def test_a_usage_error_is_one_line_naming_the_option(args, named, config_path, monkeypatch, capsys):
    """The simdc command says a wrong option, a value of the wrong type or a missing one
    in one ``error:`` line naming the command and the option, exit code 2 (typer alone
    prints a boxed usage message)."""
    from simdc.__main__ import main

    monkeypatch.setattr(sys, "argv", ["simdc", *[str(config_path) if a == "CONFIG" else a for a in args]])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: simdc") and named in lines[0], lines
