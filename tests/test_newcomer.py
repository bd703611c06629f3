"""A newcomer's first hour (issue #15): the version, help texts that show what they say,
output a program can read, tables that say what they count, example configs that find
the trace samples, and the README's Python snippet run as a script."""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest
import tomli_w
import typer.main
from pandas.testing import assert_frame_equal
from typer.testing import CliRunner

import simdc
from simdc.cli import QUIET_WHEN_ZERO, app
from simdc.metrics import HEADLINE

from tests.conftest import MINIMAL, only_problems, set_keys

ROOT = Path(__file__).resolve().parents[1]
TRACES = Path(os.environ.get("SIMDC_TRACES", ROOT.parent / "shared" / "traces"))
PLATFORMS = ["vm", "microvm", "container", "sandboxed_container", "container_in_vm"]  # wider than 100 columns


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def simdc_command() -> list[str]:
    script = Path(sys.executable).with_name("simdc")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from simdc.cli import main; main()"]


def error_lines(result) -> list[str]:
    """Exit code 2 and only ``error:`` lines on stderr, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert only_problems(lines), lines
    return lines


# --- --version and help --------------------------------------------------------------------


def test_version_is_the_installed_package_metadata(runner):
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"simdc {importlib.metadata.version('simdc')}\n"


def _commands(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


HELPS = [(path, text) for path, command in _commands(typer.main.get_command(app))
         for text in [command.help or "", *(getattr(p, "help", None) or "" for p in command.params)] if "[" in text]


def test_some_help_texts_hold_brackets():
    assert any("[[cluster.hosts]]" in text.replace("\\[", "[") for _, text in HELPS)


@pytest.mark.parametrize("path, text", HELPS, ids=[" ".join(p) for p, _ in HELPS])
def test_help_shows_brackets_as_written(runner, path, text):
    """Rich markup must not eat ``[[cluster.hosts]]`` or ``[workload.synthetic]``: every
    word with a bracket in a help text (escapes removed) appears in ``--help``."""
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    shown = " ".join(result.stdout.split())
    for word in text.replace("\\[", "[").split():
        if "[" in word or "]" in word:
            assert word in shown, (word, path)


# --- what `simdc run` prints --------------------------------------------------------------


@pytest.fixture
def wide_run(tmp_path):
    """MINIMAL on five platforms (too wide for 100 columns), run by the installed command
    with stdout piped: (stdout, stderr, the results directory)."""
    config = tmp_path / "four.toml"
    config.write_text(tomli_w.dumps(set_keys(MINIMAL, {"simulation.platforms": PLATFORMS})))

    def run(*args: str):
        out = tmp_path / f"out-{len(list(tmp_path.glob('out-*')))}"
        done = subprocess.run([*simdc_command(), "run", str(config), "--out", str(out), *args],
                              capture_output=True, text=True, cwd=tmp_path, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout, done.stderr, out

    return run


def test_piped_table_keeps_every_row_and_cell_whole(wide_run):
    """Piped, the table is as wide as it needs: a row per metric, each label and number on
    one line, and the numbers are those of summary.csv."""
    stdout, stderr, out = wide_run()
    summary = pd.read_csv(out / "summary.csv", dtype={"platform": str})
    lines = stdout.splitlines()
    header = next(line for line in lines if "metric" in line)
    assert header.split("┃")[2:-1] and [c.strip() for c in header.split("┃")[2:-1]] == PLATFORMS
    rows = {}
    for line in lines:
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            assert len(cells) == 1 + len(PLATFORMS) and all(cells), line  # no continuation lines
            rows[cells[0]] = cells[1:]
    # every headline row, but for the failure and fit counts that no platform has (QUIET_WHEN_ZERO)
    expected = {label: column for column, label, _ in HEADLINE if column in summary.columns
                and (column not in QUIET_WHEN_ZERO or summary[column].any())}
    assert set(rows) == set(expected)
    assert rows["placed"] == [f"{n:,}" for n in summary["placed"]]
    assert rows["rejection rate"] == [f"{100 * r:.1f}%" for r in summary["rejection_rate"]]
    assert stdout.count("wrote") == 0 and "wrote" in stderr


def test_csv_and_json_formats_print_the_summary(wide_run):
    """``--format csv`` and ``json`` print summary.csv's data on stdout, and nothing else."""
    stdout, _, out = wide_run("--format", "csv")
    written = pd.read_csv(out / "summary.csv", dtype={"platform": str})
    assert_frame_equal(pd.read_csv(io.StringIO(stdout), dtype={"platform": str}), written)
    stdout, _, out = wide_run("--format", "json")
    records = json.loads(stdout)
    assert [r["platform"] for r in records] == PLATFORMS
    printed = pd.DataFrame(records, columns=list(written.columns))
    for column in written.columns:
        if column == "platform":
            continue
        got, want = printed[column].astype(float).to_numpy(), written[column].astype(float).to_numpy()
        assert np.allclose(got, want, rtol=1e-12, equal_nan=True), column


def test_unknown_format_is_one_error_line(runner, config_path, tmp_path):
    result = runner.invoke(app, ["run", str(config_path), "--format", "xml", "--out", str(tmp_path / "o")])
    assert error_lines(result) == ["error: --format: expected one of table, csv, json (got 'xml')"]
    assert not (tmp_path / "o").exists()


def test_table_says_what_cpu_used_is_a_share_of(runner, config_path, tmp_path):
    """The caption names the denominator of CPU used, and the number is that: the cores
    the instances got (demand less unmet, instances.parquet), over cores × duration."""
    out = tmp_path / "o"
    result = runner.invoke(app, ["run", str(config_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "CPU used and booked: time-weighted share of the hosts' cores" in " ".join(result.stdout.split())
    instances = pd.read_parquet(out / "instances.parquet")
    got_core_s = (instances["cpu_demand_core_s"] - instances["cpu_unmet_core_s"]).groupby(instances["platform"]).sum()
    share = got_core_s / (MINIMAL["host"]["cpu_cores"] * MINIMAL["simulation"]["duration_s"])
    row = next(line for line in result.stdout.splitlines() if line.startswith("│ CPU used "))
    cells = [c.strip() for c in row.strip("│").split("│")][1:]
    assert cells == [f"{100 * share[p]:.1f}%" for p in ("vm", "container")]


# --- simdc plan: what the host count counts -------------------------------------------------


def test_plan_table_shows_the_scaled_group_and_the_fleet_total(runner, tmp_path):
    """Hosts of 5 one-core slots, offered load A = 20 Erlang: B(25, 20) = 0.050 > 0.02 ≥
    B(30, 20) = 0.0085 (Erlang B), so a 2 % blocking SLO needs 6 hosts in all: with 2 fixed
    hosts, 4 in the scaled group."""
    config = tmp_path / "fleet.toml"
    config.write_text(tomli_w.dumps({
        "simulation": {"duration_s": 3000.0, "seed": 1, "platforms": ["vm"]},
        "cluster": {"hosts": [{"name": "fixed", "cpu_cores": 5, "memory_gib": 1e4, "count": 2},
                              {"name": "grow", "cpu_cores": 5, "memory_gib": 1e4}]},
        "platform": {"vm": {"overhead_mib": 0, "boot_s": 0}},
        "workload": {"synthetic": {"arrival_rate_per_s": 20.0, "lifetime_s": {"mean": 1.0},
                                   "sizes": [{"cpu_cores": 1, "memory_gib": 1, "weight": 1}]}},
    }))
    result = runner.invoke(app, ["plan", str(config), "--slo", "rejection_rate<=0.02", "--group", "grow",
                                 "--out", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    planned = pd.read_csv(tmp_path / "p" / "plan.csv").set_index("platform")
    assert (planned.loc["vm", "hosts_needed"], planned.loc["vm", "hosts_total"]) == (4, 6)
    lines = result.stdout.splitlines()
    header = [c.strip() for c in next(line for line in lines if "platform" in line).strip("┃").split("┃")]
    row = [c.strip() for c in next(line for line in lines if line.startswith("│ vm")).strip("│").split("│")]
    assert header[:3] == ["platform", "hosts in 'grow'", "fleet total"] and row[:3] == ["vm", "4", "6"]


# --- example configs find the trace samples ---------------------------------------------------

EXAMPLES = sorted(p.name for p in (ROOT / "configs").glob("*.toml")  # those reading a sample of traces/
                  if re.search(r"^(trace|usage)\s*=\s*\".*traces/", p.read_text(), re.M))


def _moved(name: str, tmp_path: Path) -> Path:
    """The example config copied two folders deep elsewhere: its relative trace paths lead nowhere."""
    target = tmp_path / "a" / "b" / name
    target.parent.mkdir(parents=True)
    shutil.copy(ROOT / "configs" / name, target)
    return target


def _relative_paths(name: str) -> dict[str, str]:
    workload = tomllib.loads((ROOT / "configs" / name).read_text())["workload"]
    return {key: workload[key] for key in ("trace", "usage") if key in workload}


@pytest.mark.parametrize("name", EXAMPLES)
def test_a_moved_example_config_finds_its_sample_under_simdc_traces(name, tmp_path, monkeypatch):
    paths = _relative_paths(name)
    expected = {key: TRACES / path.split("traces/", 1)[1] for key, path in paths.items()}
    if not all(p.exists() for p in expected.values()):
        pytest.skip(f"no samples for {name} under {TRACES}: set SIMDC_TRACES")
    monkeypatch.setenv("SIMDC_TRACES", str(TRACES))
    config = simdc.load_config(_moved(name, tmp_path))
    for key, path in expected.items():
        assert Path(getattr(config.workload, key)).resolve() == path.resolve()


def test_a_missing_sample_says_where_it_looked_and_how_to_set_simdc_traces(runner, tmp_path, monkeypatch):
    moved = _moved("bitbrains.toml", tmp_path)
    beside = (moved.parent / "../../shared/traces/bitbrains_rnd/2013-7").resolve()
    monkeypatch.delenv("SIMDC_TRACES", raising=False)
    [line] = error_lines(runner.invoke(app, ["run", str(moved), "--no-write"]))
    assert f"{moved}: workload.trace: file not found: {beside}" in line
    assert "SIMDC_TRACES is not set" in line and "export SIMDC_TRACES=" in line
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("SIMDC_TRACES", str(empty))
    [line] = error_lines(runner.invoke(app, ["run", str(moved), "--no-write"]))
    assert str(beside) in line and str(empty / "bitbrains_rnd" / "2013-7") in line


def test_a_trace_beside_the_config_wins_over_simdc_traces(tmp_path, monkeypatch, write_trace):
    rows = [{"id": 1, "submit_s": 0, "duration_s": 60, "cpu_cores": 1, "memory_gib": 1}]
    beside = write_trace(rows, name="traces/t.csv")
    write_trace([{**rows[0], "id": 2}], name="elsewhere/t.csv")
    monkeypatch.setenv("SIMDC_TRACES", str(tmp_path / "elsewhere"))
    path = tmp_path / "c.toml"
    path.write_text(tomli_w.dumps(set_keys(MINIMAL, {"workload": {"trace": "traces/t.csv"}})))
    assert Path(simdc.load_config(path).workload.trace) == beside.resolve()
    (tmp_path / "traces" / "t.csv").unlink()
    assert Path(simdc.load_config(path).workload.trace) == (tmp_path / "elsewhere" / "t.csv").resolve()


# --- the README's Python snippet, pasted into a script -----------------------------------------


def readme_snippet() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("```python\n", text.index("## Python API")) + len("```python\n")
    return text[start:text.index("\n```", start)] + "\n"


SHORTER = ('overrides={"host.memory_gib": 128}', 'overrides={"host.memory_gib": 128, "simulation.duration_s": 1800}')


@pytest.mark.parametrize("guarded", [True, False], ids=["as written", "without the guard"])
def test_readme_python_snippet_runs_as_a_script(guarded, tmp_path):
    """The snippet, pasted into a file and run with ``python`` from a folder holding the
    configs: it runs once (Dask's workers do not run it again), and its sweep and plan
    come back whole. Shortened to half an hour of simulated time."""
    code = readme_snippet()
    assert code.count(SHORTER[0]) == 1 and 'if __name__ == "__main__":' in code
    code = code.replace(*SHORTER)
    if not guarded:
        head, _, body = code.partition('if __name__ == "__main__":')
        code = head + textwrap.dedent(body.split("\n", 1)[1])
    code = ('print("script started", flush=True)\n' + code
            + 'assert __file__.endswith("snippet.py")  # given back to the script after the sweep\n'
            + 'print("tables", len(points), len(summary), sorted(needed["platform"]), flush=True)\n')
    (tmp_path / "snippet.py").write_text(code)
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    env = {**os.environ, "PLOTLY_RENDERER": "json"}  # figures["memory"].show(): no browser here
    done = subprocess.run([sys.executable, "snippet.py"], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("script started") == 1
    last = done.stdout.strip().splitlines()[-1]
    # a row per point, replication and platform (3 × 3 × 2); the aggregate, per point and platform
    assert last == "tables 18 6 ['container', 'vm']", last
    assert (tmp_path / "results" / "what-if-128g" / "report.html").is_file()


def test_every_readme_table_row_belongs_to_a_table():
    """A blank line inside a Markdown table ends it, and the rows after it render as a
    paragraph of pipes (the configuration table's maintenance and services rows did).
    Every run of lines starting with '|' must begin with a header and its separator."""
    lines = (ROOT / "README.md").read_text().splitlines()
    fenced = False
    orphans = []
    for k, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
        if fenced or not line.startswith("|") or (k and lines[k - 1].startswith("|")):
            continue
        following = lines[k + 1] if k + 1 < len(lines) else ""
        if not re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", following.strip()):
            orphans.append(f"README.md:{k + 1}: {line[:60]}")
    assert not orphans, orphans
