"""The pre-run memory estimate (simdc/budget.py): the rows a config implies, computed
here independently from the config's numbers, and a run refused before anything is
allocated when the machine has less memory available, unless asked to go on."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from simdc import budget
from simdc.budget import TooBigError
from simdc.cli import app
from simdc.config import load_config, validate
from simdc.experiment import simulate
from tests.conftest import MINIMAL, set_keys


@settings(max_examples=40, deadline=None, derandomize=True)
@given(rate=st.floats(1e-4, 1e4), duration_s=st.floats(1, 3e8), step_s=st.floats(1, 1e5),
       counts=st.lists(st.integers(1, 5000), min_size=1, max_size=3), platforms=st.integers(1, 3))
def test_estimate_counts_the_rows_the_config_implies(rate, duration_s, step_s, counts, platforms):
    """Instances = rate × duration (the Poisson mean), timeseries rows = ⌈duration /
    step⌉ samples × hosts × platforms, memory = base + the constants × those rows."""
    names = ["vm", "container", "microvm"][:platforms]
    config = validate(set_keys(MINIMAL, {
        "simulation.duration_s": duration_s, "simulation.sample_every_s": step_s, "simulation.platforms": names,
        "workload.synthetic.arrival_rate_per_s": rate, "host": None,
        "cluster": {"hosts": [{"count": n, "cpu_cores": 8, "memory_gib": 16} for n in counts]}}))
    found = budget.estimate(config)
    instances = math.ceil(rate * duration_s)
    rows = math.ceil(duration_s / step_s) * sum(counts) * platforms
    assert found.instances == instances
    assert found.timeseries_rows == rows
    assert found.bytes == (budget.BASE_BYTES + instances * platforms * budget.BYTES_PER_INSTANCE_PLATFORM
                           + rows * budget.BYTES_PER_TIMESERIES_ROW + sum(counts) * budget.BYTES_PER_HOST)


def test_available_memory_is_positive_and_below_the_machine_total():
    """On Linux: MemAvailable (or a cgroup's room), at most MemTotal."""
    available = budget.available_bytes()
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        pytest.skip("no /proc/meminfo")
    total = next(int(line.split()[1]) * 1024 for line in meminfo.read_text().splitlines()
                 if line.startswith("MemTotal:"))
    assert available is not None and 0 < available <= total


def test_too_big_synthetic_run_is_refused_before_the_workload_is_drawn(monkeypatch):
    """A day of 10,000 arrivals/s (864 M instances) is refused with the size and the
    knobs to turn, and the generator never runs."""
    from simdc.workload import synthetic

    def never(*args, **kwargs):
        raise AssertionError("the workload was drawn")

    monkeypatch.setattr(synthetic, "generate", never)
    config = validate(set_keys(MINIMAL, {"simulation.duration_s": 86400,
                                         "workload.synthetic.arrival_rate_per_s": 10_000}))
    with pytest.raises(TooBigError) as caught:
        simulate(config)
    [line] = caught.value.problems
    needed = 864_000_000 * 2 * budget.BYTES_PER_INSTANCE_PLATFORM / 2**40  # TiB, at least
    # (said to a tenth of a TiB)
    assert line.startswith("this run needs about ") and "TiB" in line and float(line.split()[4]) >= needed - 0.05
    assert "864,000,000 instances" in line and "arrival_rate_per_s" in line
    # how to run anyway, in each one's terms: the API's keyword, the CLI's flag
    assert line.endswith("or run anyway with check_memory=False") and "--no-memory-check" not in line
    [cli] = caught.value.cli_problems
    assert cli.endswith("or run anyway with --no-memory-check") and "check_memory" not in cli


def _needed(instances: int, platforms: int, samples: int, hosts: int) -> int:
    return (budget.BASE_BYTES + instances * platforms * budget.BYTES_PER_INSTANCE_PLATFORM
            + samples * hosts * platforms * budget.BYTES_PER_TIMESERIES_ROW + hosts * budget.BYTES_PER_HOST)


def test_trace_run_is_checked_on_the_rows_read(monkeypatch, write_config, write_trace):
    """A trace of 30 instances (5 arriving after the run's end): the check counts the 25
    replayed; with 1 byte less than they need available the run is refused, with exactly
    that it runs."""
    rows = [{"id": i, "submit_s": 100 * i, "duration_s": 60, "cpu_cores": 1, "memory_gib": 1} for i in range(30)]
    path = write_config({"workload": {"trace": str(write_trace(rows))}, "simulation.duration_s": 2500,
                         "simulation.sample_every_s": 100})
    config = load_config(path)
    needed = _needed(instances=25, platforms=2, samples=25, hosts=1)
    monkeypatch.setattr(budget, "available_bytes", lambda: needed - 1)
    with pytest.raises(TooBigError, match="25 instances"):
        simulate(config)
    monkeypatch.setattr(budget, "available_bytes", lambda: needed)
    assert simulate(config).summary["submitted"].tolist() == [25, 25]


def test_trace_usage_readings_count_towards_the_estimate(monkeypatch, write_config, write_trace):
    """Usage readings of a trace: 3 instances with 10 readings 300 s apart, resampled on
    300 s steps = 30 readings on top of the instances."""
    rows = [{"id": i, "submit_s": 0, "duration_s": 3000, "cpu_cores": 1, "memory_gib": 1} for i in range(3)]
    usage = [{"id": i, "t_s": 300 * k, "cpu_cores": 0.5, "memory_gib": 0.5} for i in range(3) for k in range(10)]
    path = write_config({"workload": {"trace": str(write_trace(rows)), "usage": str(write_trace(usage, "u.csv"))},
                         "simulation.duration_s": 3000, "simulation.sample_every_s": 300})
    config = load_config(path)
    needed = _needed(instances=3, platforms=2, samples=10, hosts=1) + 30 * budget.BYTES_PER_USAGE_READING
    monkeypatch.setattr(budget, "available_bytes", lambda: needed - 1)
    with pytest.raises(TooBigError, match="30 usage readings"):
        simulate(config)
    monkeypatch.setattr(budget, "available_bytes", lambda: needed)
    simulate(config)


def test_check_memory_false_runs_anyway(monkeypatch):
    """With no memory available by the system's word, the check refuses; asked not to
    check, the same run goes ahead."""
    monkeypatch.setattr(budget, "available_bytes", lambda: 1)
    config = validate(MINIMAL)
    with pytest.raises(TooBigError):
        simulate(config)
    assert len(simulate(config, check_memory=False).summary) == 2


def test_cli_refuses_in_one_line_and_runs_with_no_memory_check(monkeypatch, config_path, tmp_path):
    """``simdc run``: exit 2 with one ``error: this run needs about ...`` line and no
    results directory; ``--no-memory-check`` runs it."""
    monkeypatch.setattr(budget, "available_bytes", lambda: 1)
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(config_path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: this run needs about "), lines
    assert not (tmp_path / "out").exists()
    result = runner.invoke(app, ["run", str(config_path), "--out", str(tmp_path / "out"), "--no-memory-check"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "summary.csv").exists()


def test_estimate_is_above_the_measured_peak_of_a_small_run():
    """The estimate errs high: a run of ~7,000 instances on 20 hosts with minute samples
    peaks (the high-water mark of a fresh process's resident memory) below what the
    estimate says."""
    if not Path("/proc/self/status").exists():
        pytest.skip("no /proc/self/status")

    raw = set_keys(MINIMAL, {"simulation.duration_s": 86400, "simulation.sample_every_s": 60,
                             "workload.synthetic.arrival_rate_per_s": 0.08, "host": None,
                             "cluster": {"hosts": [{"count": 20, "cpu_cores": 64, "memory_gib": 256}]}})
    assert budget.estimate(validate(raw)).bytes > peak_of(raw)


def peak_of(raw: dict) -> int:
    """The peak resident memory of ``simulate`` on the config ``raw`` in a fresh process, bytes
    (VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child of this possibly
    large test process would report the parent's size)."""
    import json
    import subprocess
    import sys

    script = ("import json, sys\nfrom simdc.config import validate\nfrom simdc.experiment import simulate\n"
              "simulate(validate(json.loads(sys.argv[1])), check_memory=False)\n"
              "print(next(int(line.split()[1]) * 1024 for line in open('/proc/self/status') "
              "if line.startswith('VmHWM:')))")
    done = subprocess.run([sys.executable, "-c", script, json.dumps(raw)], capture_output=True, text=True,
                          timeout=120, check=True)
    return int(done.stdout.split()[-1])


def test_the_estimate_counts_each_hosts_state():
    """20,000 hosts and almost no instances for a minute: the engine's per-host state is
    the peak (the estimate had counted a host only through its timeseries rows, and a
    million hosts passed the check and grew past 8 GB); the estimate is above the peak."""
    if not Path("/proc/self/status").exists():
        pytest.skip("no /proc/self/status")
    raw = set_keys(MINIMAL, {"simulation.duration_s": 60, "workload.synthetic.arrival_rate_per_s": 0.02,
                             "host": None, "cluster": {"hosts": [{"count": 20_000, "cpu_cores": 32,
                                                                  "memory_gib": 128}]}})
    found = budget.estimate(validate(raw))
    assert found.parts_bytes["hosts"] > found.parts_bytes["timeseries"]
    assert found.bytes > peak_of(raw)


def test_trace_generate_refuses_what_the_machine_cannot_hold(tmp_path, config_path):
    """``simdc trace generate`` of a day at 10,000 arrivals/s: one error line, before
    anything is drawn, and no file."""
    target = tmp_path / "big.parquet"
    result = CliRunner().invoke(app, ["trace", "generate", str(config_path), "--to", str(target),
                                      "--set", "simulation.duration_s=86400",
                                      "--set", "workload.synthetic.arrival_rate_per_s=10000"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: this run needs about "), lines
    assert "864,000,000 instances × 1 platform" in lines[0] and "--no-memory-check" not in lines[0]
    assert not target.exists()


@pytest.mark.parametrize("command", ["sweep", "plan"])
def test_sweep_and_plan_refuse_too_big_runs_and_go_on_with_no_memory_check(monkeypatch, config_path, tmp_path,
                                                                          command):
    """The refusal says ``--no-memory-check``; sweep and plan take it as run does."""
    monkeypatch.setattr(budget, "available_bytes", lambda: 1)
    args = {"sweep": ["sweep", str(config_path), "--grid", "host.memory_gib=16", "--workers", "1",
                      "--out", str(tmp_path / "s")],
            "plan": ["plan", str(config_path), "--slo", "rejection_rate<=1", "--max-hosts", "2"]}[command]
    runner = CliRunner()
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2 and "--no-memory-check" in refused.stderr, refused.output
    assert "Traceback" not in refused.output
    ran = runner.invoke(app, [*args[:-2], *([args[-2], str(tmp_path / "s2")] if command == "sweep" else args[-2:]),
                              "--no-memory-check"])
    assert ran.exit_code == 0, ran.output


@pytest.mark.parametrize("written", ["1040000000", "1_040_000_000", "1.04e9", "104e7", "1040000000.75"])
def test_a_limit_set_by_the_environment_variable_is_named_as_its(monkeypatch, written):
    """SIMDC_AVAILABLE_BYTES is the user's limit, not the machine's: the refusal says so;
    without it, the limit is the machine's. The README calls it a cap in bytes: the same
    1,040,000,000 bytes written with digit groups, as an exponent (1.04e9 was refused as
    "expected a positive number of bytes") or with a fraction of a byte (rounded down)."""
    config = validate(set_keys(MINIMAL, {"simulation.duration_s": 86400,
                                         "workload.synthetic.arrival_rate_per_s": 100}))
    monkeypatch.setenv(budget.AVAILABLE_ENV, written)
    assert budget.available_bytes() == 1040000000  # the machine has more (24 GiB)
    with pytest.raises(TooBigError) as caught:
        budget.check(config)
    assert f"; {budget.AVAILABLE_ENV} allows {1040000000 / 2**30:.1f} GiB; " in caught.value.problems[0]
    monkeypatch.delenv(budget.AVAILABLE_ENV)
    with pytest.raises(TooBigError) as caught:
        budget.check(config, available=1040000000)
    assert "; the machine has 1.0 GiB available; " in caught.value.problems[0]


# every kind of run the estimate counts: the fast lane (nothing but arrivals), the general
# engine in memory, and spilled (the general engine's streamed: failures, batch work,
# images, a queue)
_GENERAL = {
    "faults": {"host_mtbf_s": 20000, "host_repair_s": 600, "on_failure": "resubmit"},
    "placement": {"when_full": "queue", "max_wait_s": 300},
    "workload.synthetic.batch_fraction": 0.3,
    "workload.synthetic.images": ["a:1"],
    "images": [{"name": "a:1", "layers": [{"digest": "sha256:a", "size_mib": 300}]}],
}


@pytest.mark.parametrize("general", [False, True], ids=["fast-lane", "general"])
@pytest.mark.parametrize("spill", [False, True], ids=["in-memory", "spilled"])
@settings(max_examples=2, deadline=None, derandomize=True)
@given(hosts=st.integers(2, 6), hours=st.integers(3, 8), seed=st.integers(0, 1000))
def test_the_estimate_bounds_the_bytes_a_run_counts(hosts, hours, seed, general, spill):
    """What a run allocates (counted by tracemalloc: Python's objects, numpy's arrays; not
    the streamed chunks' memory maps, which the per-host term counts) over the imports
    stays at or below the estimate's rows part (the estimate less the base, and less the
    spilled run's row-group allowance), and within a factor of it: the constants bound
    the run without refusing runs three times too small."""
    import gc
    import tracemalloc

    config = validate(set_keys(MINIMAL, {
        "simulation.duration_s": hours * 3600, "simulation.seed": seed, "host": None,
        "cluster": {"hosts": [{"count": hosts, "cpu_cores": 32, "memory_gib": 128, "image_cache_gib": 4}]},
        "workload.synthetic.arrival_rate_per_s": 0.3, "workload.synthetic.lifetime_s": {"mean": 600},
        **(_GENERAL if general else {})}))
    simulate(config, check_memory=False, spill=spill)  # the modules a run imports, imported
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = simulate(config, check_memory=False, spill=spill)
        counted = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    found = budget.estimate(config, instances=len(result.workload))
    rows = (found.spilled_bytes - budget.SPILL_BYTES if spill else found.bytes) - budget.BASE_BYTES
    assert counted <= rows, (counted, rows)
    assert rows <= 3 * counted + (found.hosts * budget.BYTES_PER_HOST_STREAMED if found.streams else 0), (counted, rows)
