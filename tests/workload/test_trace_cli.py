"""Real traces end to end through the ``simdc`` command: a replay of each sample, with
conservation (every instance the reader produced ends in exactly one outcome on every
platform), and the ``simdc trace`` inspect, convert and generate commands."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import tomli_w
from typer.testing import CliRunner

import simdc
from simdc.cli import app
from simdc.workload.readers import read_trace
from tests.conftest import MINIMAL, set_keys
from tests.workload.test_alibaba import write_v2018
from tests.workload.traces import lines, sample, write_lines

OUTCOMES = {"completed", "rejected", "oom_killed", "evicted", "running_at_end", "queued_at_end"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner, *args):
    return runner.invoke(app, [str(a) for a in args])


def write_config(tmp_path, workload: dict, **changes) -> str:
    base = set_keys(MINIMAL, {"workload": None, "simulation.duration_s": 86400, "host.cpu_cores": 16,
                              "host.memory_gib": 64, **changes})
    base["workload"] = {k: (str(v) if hasattr(v, "parts") else v) for k, v in workload.items()}
    path = tmp_path / "trace.toml"
    path.write_text(tomli_w.dumps(base))
    return path


REPLAYS = [
    ("azure V1", lambda tmp: {"trace": sample("azure_v1_2017"), "format": "azure"}),
    ("azure V2 with readings", lambda tmp: {"trace": sample("azure_v2_2019/vmtable_subset_20vms_longest.csv"),
                                            "usage": sample("azure_v2_2019/vm_cpu_readings_20vms.csv.gz"),
                                            "format": "azure", "azure_memory_used_fraction": 0.2}),
    ("google", lambda tmp: {"trace": sample("google_2011/task_events-part-00000-of-00500.csv.gz"),
                            "format": "google", "sample": 0.002}),
    ("alibaba2017", lambda tmp: {"trace": sample("alibaba_v2017"), "format": "alibaba2017",
                                 "time_window_s": [20000, 21800], "sample": 0.001}),
    ("alibaba2018", lambda tmp: {"trace": write_v2018(tmp), "format": "alibaba2018"}),
    ("bitbrains", lambda tmp: {"trace": sample("bitbrains_rnd/2013-7"), "format": "bitbrains"}),
    ("opendc v5", lambda tmp: {"trace": sample("opendc/v5/surf_week"), "format": "auto", "limit": 100}),
    ("opendc v4", lambda tmp: {"trace": sample("opendc/v4/bitbrains-small"), "format": "opendc",
                               "opendc_memory_unit": "KB"}),
]


@pytest.mark.parametrize("name,workload", REPLAYS, ids=[r[0] for r in REPLAYS])
def test_each_sample_replays_and_every_instance_ends_in_exactly_one_outcome(runner, tmp_path, name, workload):
    """``simdc run`` on a config whose [workload] names the sample: exit 0, the reader's
    notes on stderr, and per platform one row per instance of the workload, each with
    one outcome; the summary's counts add up."""
    config = write_config(tmp_path, workload(tmp_path))
    out = tmp_path / "out"
    result = invoke(runner, "run", config, "--out", out)
    assert result.exit_code == 0, result.output
    assert "workload: format" in result.stderr
    results = simdc.load_results(out)
    ids = results.workload["id"].astype(str)
    assert len(ids) > 0 and ids.is_unique
    for platform in ("vm", "container"):
        mine = results.instances[results.instances["platform"] == platform]
        assert sorted(mine["id"].astype(str)) == sorted(ids)
        assert set(mine["outcome"].astype(str)) <= OUTCOMES
        row = results.summary.set_index("platform").loc[platform]
        assert row["submitted"] == len(ids)
        assert row["placed"] + row["rejected"] + row["queued_at_end"] == len(ids)
    assert results.manifest["skipped_rows"] == {}
    assert results.manifest["workload_notes"]


def test_skipped_bad_rows_are_counted_in_the_run_output_and_manifest(runner, tmp_path):
    rows = lines(sample("azure_v1_2017/vmtable.csv.gz"))
    rows[3] = rows[3].replace("Delay-insensitive", "Sometimes")
    trace = write_lines(tmp_path / "vmtable.csv", rows)
    strict = invoke(runner, "run", write_config(tmp_path, {"trace": trace, "format": "azure"}), "--no-write")
    assert strict.exit_code == 2
    assert f"error: {trace}: line 4: vmcategory must be one of" in strict.stderr
    assert "Traceback" not in strict.output
    # one problem, one error line; the way to skip it follows as advice, not a second error
    said = strict.stderr.strip().splitlines()
    assert [line.split(":")[0] for line in said] == ["error", "hint"], said
    assert said[1].startswith("hint: to skip bad rows")
    config = write_config(tmp_path, {"trace": trace, "format": "azure", "on_bad_rows": "skip"},
                          **{"simulation.duration_s": 2600000})  # the trace's 30 days
    out = tmp_path / "out"
    result = invoke(runner, "run", config, "--out", out)
    assert result.exit_code == 0, result.output
    assert "skipped 1 bad trace rows" in result.stderr
    reason = "vmtable: vmcategory must be one of Delay-insensitive, Interactive, Unknown, Unkown"
    assert simdc.load_results(out).manifest["skipped_rows"] == {reason: 1}
    assert len(simdc.load_results(out).workload) == 9


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"format": "gogle"}, "workload.format: must be one of"),
    ({"format": "google", "azure_memory_used_fraction": 0.5}, "azure_memory_used_fraction applies to format 'azure'"),
    ({"format": "azure", "time_window_s": [100, 50]}, "workload.time_window_s: must be [start, end]"),
    ({"format": "azure", "sample": 1.5}, "workload.sample: must be <= 1"),
    ({"format": "azure", "on_bad_rows": "lenient"}, "workload.on_bad_rows: must be one of"),
])
def test_trace_options_are_validated_like_any_config_key(runner, tmp_path, changes, fragment):
    config = write_config(tmp_path, {"trace": sample("azure_v1_2017"), **changes})
    result = invoke(runner, "run", config, "--no-write")
    assert result.exit_code == 2 and fragment in result.stderr, result.output


def test_inspect_prints_what_a_planner_asks_first(runner):
    paths = [sample("azure_v2_2019/vmtable_subset_20vms_longest.csv"),
             sample("azure_v2_2019/vm_cpu_readings_20vms.csv.gz")]
    result = invoke(runner, "trace", "inspect", *paths)
    assert result.exit_code == 0, result.output
    for section in ("instances", "time span", "arrivals after time 0", "size mix", "lifetimes",
                    "usage / request", "p95 of p95s", "format azure (detected)", "memory used assumed 30%"):
        assert section in result.stdout, section
    as_json = invoke(runner, "trace", "inspect", *paths, "--json")
    report = json.loads(as_json.stdout)
    assert report["overview"]["instances"] == "20"
    rows = [r.split(",") for r in lines(paths[0])[1:]]  # the vmtable's own rows (after its header)
    figures = report["figures"]
    assert figures["instances"] == len(rows) == 20
    assert figures["cpu_cores_requested_total"] > 0 and isinstance(figures["memory_gib_requested_total"], float)
    assert figures["first_submit_s"] == min(float(r[3]) for r in rows)
    assert {row["resource"] for row in report["ratios"]} == {"cpu", "memory"}
    assert sum(row["instances"] for row in report["sizes"]) == 20


def test_inspect_flags_are_checked_and_name_the_flag(runner):
    result = invoke(runner, "trace", "inspect", sample("azure_v1_2017"), "--sample", "2")
    assert result.exit_code == 2 and "error: --sample: must be <= 1 (got 2.0)" in result.stderr
    result = invoke(runner, "trace", "inspect", sample("azure_v1_2017"), "--format", "google",
                    "--azure-memory-used-fraction", "0.5")
    assert result.exit_code == 2 and "--azure-memory-used-fraction applies to format 'azure'" in result.stderr
    result = invoke(runner, "trace", "inspect", sample("azure_v1_2017"), "--format", "google")
    assert result.exit_code == 2 and "looks like azure" in result.stderr


def test_convert_writes_simdcs_format_that_replays_the_same(runner, tmp_path):
    source = sample("azure_v2_2019")
    paths = [source / "vmtable_subset_20vms_longest.csv", source / "vm_cpu_readings_20vms.csv.gz"]
    to = tmp_path / "azure.parquet"
    result = invoke(runner, "trace", "convert", *paths, "--to", to)
    assert result.exit_code == 0, result.output
    assert to.exists() and (tmp_path / "azure.usage.parquet").exists()
    direct = read_trace(paths, "azure")
    back = read_trace([to, tmp_path / "azure.usage.parquet"], "simdc")
    # the censored flag included: a lifetime the data's end cut stays a lower bound
    pd.testing.assert_frame_equal(back.instances, direct.instances, check_dtype=False)
    assert len(back.usage) == len(direct.usage)
    config = write_config(tmp_path, {"trace": to, "usage": tmp_path / "azure.usage.parquet"})
    assert invoke(runner, "run", config, "--no-write").exit_code == 0


def test_generate_writes_the_synthetic_workload_as_a_trace(runner, tmp_path):
    config = tmp_path / "synthetic.toml"
    config.write_text(tomli_w.dumps(MINIMAL))
    to = tmp_path / "synthetic.csv"
    result = invoke(runner, "trace", "generate", config, "--to", to)
    assert result.exit_code == 0, result.output
    table = read_trace([to], "auto")
    assert table.format == "simdc" and len(table.instances) > 10
    usage = pd.read_csv(tmp_path / "synthetic.usage.csv")
    assert set(usage["id"]) <= set(table.instances["id"])
    replay = write_config(tmp_path, {"trace": to, "usage": tmp_path / "synthetic.usage.csv"},
                          **{"simulation.duration_s": 7200})
    assert invoke(runner, "run", replay, "--no-write").exit_code == 0
    bad = invoke(runner, "trace", "generate", write_config(tmp_path, {"trace": to}), "--to", tmp_path / "x.csv")
    assert bad.exit_code == 2 and "[workload.synthetic]" in bad.stderr


@pytest.mark.parametrize("name", ["azure", "google", "alibaba", "bitbrains", "opendc"])
def test_example_configs_point_at_their_samples_and_are_valid(name):
    """configs/<trace>.toml validates, and its trace (a relative path beside the repo) exists."""
    from simdc.config import load_config
    from tests.workload.traces import ROOT

    if not (ROOT.parent / "shared" / "traces").exists():
        pytest.skip("the example configs read ../shared/traces beside the repository, which is not there")
    config = load_config(ROOT / "configs" / f"{name}.toml")
    assert config.workload.trace.exists() and config.workload.format != "simdc"


@pytest.mark.parametrize("submits, said", [
    ([0, 5000], None),  # one arrival after time 0: no rate
    ([0, 3600, 36000, 72000], "(0.15 per hour)"),  # 3 in 20 h, not "0.0 per hour"
    ([0] + [10 * k for k in range(1, 361)], "(360.0 per hour)"),  # 360 in an hour
])
def test_inspect_gives_the_arrival_rate_only_where_there_is_one(tmp_path, submits, said):
    path = tmp_path / "w.csv"
    path.write_text("id,submit_s,duration_s,cpu_cores,memory_gib\n"
                    + "".join(f"{i},{s},60,1,2\n" for i, s in enumerate(submits)))
    result = CliRunner().invoke(app, ["trace", "inspect", str(path)])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "arrivals after time 0" in line)
    assert f"{len(submits) - 1:,}" in line
    assert ("per hour" not in line) if said is None else (said in line), line


def test_inspect_has_no_arrival_table_when_everything_is_there_at_time_0(tmp_path):
    """Azure V2's subset is all present at time 0: inspect printed twelve rows of
    '0 s | 0 s | 0' under "arrivals after time 0"; now no such table, and --json's
    arrivals are empty, while a trace with later arrivals still gets its rows."""
    path = tmp_path / "w.csv"
    path.write_text("id,submit_s,duration_s,cpu_cores,memory_gib\n" + "".join(f"{i},0,60,1,2\n" for i in range(5)))
    result = CliRunner().invoke(app, ["trace", "inspect", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.count("arrivals after time 0") == 1  # the overview's line (0), no table titled so
    said = json.loads(CliRunner().invoke(app, ["trace", "inspect", str(path), "--json"]).output)
    assert said["arrivals"] == []
    later = tmp_path / "v.csv"
    later.write_text("id,submit_s,duration_s,cpu_cores,memory_gib\n"
                     + "".join(f"{i},{i * 60},60,1,2\n" for i in range(5)))
    said = json.loads(CliRunner().invoke(app, ["trace", "inspect", str(later), "--json"]).output)
    assert sum(row["arrivals"] for row in said["arrivals"]) == 4


def test_inspect_pools_usage_to_request_by_size_and_by_time(tmp_path):
    """"weighted" pooled usage over request by request size only; a planner's fleet
    holds requests over time, where a long instance counts for longer. Two instances:
    1 of 2 cores for 100 s and 4 of 4 for 10 s: by size 5/6, by time 140/240."""
    path = tmp_path / "w.csv"
    path.write_text("id,submit_s,duration_s,cpu_cores,memory_gib,cpu_used,memory_used_gib\n"
                    "a,0,100,2,4,1,2\nb,0,10,4,4,4,4\n")
    said = json.loads(CliRunner().invoke(app, ["trace", "inspect", str(path), "--json"]).output)
    cpu = next(row for row in said["ratios"] if row["resource"] == "cpu")
    assert cpu["weighted_by_size"] == pytest.approx(5 / 6)
    assert cpu["weighted_by_time"] == pytest.approx((1 * 100 + 4 * 10) / (2 * 100 + 4 * 10))
