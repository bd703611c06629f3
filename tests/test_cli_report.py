"""The CLI's reporting parts: ``run --report``, ``simdc report RESULTS_DIR``, the progress
bar, and a comparison table that fits in 80 columns."""

from __future__ import annotations

import io
import time

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

import simdc
from simdc.cli import comparison_table, simulation_progress
from tests.test_cli import assert_user_error, invoke


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_run_with_report_writes_report_html_in_the_results_directory(runner, config_path, tmp_path):
    """``run --report``: the results directory also holds report.html, titled after the
    config and seed, and stdout is still just the comparison table."""
    out = tmp_path / "out"
    result = invoke(runner, "run", config_path, "--out", out, "--report")
    assert result.exit_code == 0, result.output
    text = (out / "report.html").read_text()
    assert "<title>config.toml, seed 3</title>" in text
    assert "report.html" in result.stderr and "report.html" not in result.stdout
    simdc.load_results(out)


def test_report_with_no_write_is_a_user_error(runner, config_path, tmp_path, monkeypatch):
    """--report needs the results directory it writes into."""
    monkeypatch.chdir(tmp_path)
    assert_user_error(invoke(runner, "run", config_path, "--no-write", "--report"), "--report", "--no-write")
    assert not (tmp_path / "results").exists()


def test_report_command_renders_an_existing_results_directory(runner, config_path, tmp_path):
    """``simdc report DIR`` writes DIR/report.html (or --out) from the directory alone."""
    out = tmp_path / "out"
    assert invoke(runner, "run", config_path, "--out", out).exit_code == 0
    assert not (out / "report.html").exists()
    result = invoke(runner, "report", out)
    assert result.exit_code == 0, result.output
    assert '<table class="headline">' in (out / "report.html").read_text()
    elsewhere = tmp_path / "elsewhere.html"
    assert invoke(runner, "report", out, "--out", elsewhere).exit_code == 0
    assert elsewhere.is_file()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_report_command_errors_are_one_line_and_exit_2(runner, config_path, tmp_path):
    """A missing directory, an incomplete one, or an --out that cannot be written: one
    ``error:`` line each, exit 2."""
    lines = assert_user_error(invoke(runner, "report", tmp_path / "absent"), "absent", "no such results directory")
    assert len(lines) == 1
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "summary.csv").write_text("platform\nvm\n")
    lines = assert_user_error(invoke(runner, "report", tmp_path / "half"), "half", "missing", "instances.parquet")
    assert len(lines) == 1
    out = tmp_path / "out"
    assert invoke(runner, "run", config_path, "--out", out).exit_code == 0
    assert_user_error(invoke(runner, "report", out, "--out", tmp_path / "no" / "such" / "r.html"), "cannot write")


def rendered(table, width: int = 80) -> list[str]:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(table)
    return console.export_text().splitlines()


@pytest.mark.parametrize("platforms", [["vm", "container"], ["vm", "container", "microvm"],
                                       ["microvm", "container_in_vm", "sandboxed_container"]])
def test_comparison_table_fits_80_columns(platforms):
    """Two or three platforms: every line within 80 columns, labels and numbers whole."""
    summary = pd.DataFrame({"platform": platforms, "submitted": [12345] * len(platforms),
                            "rejection_rate": [0.123] * len(platforms), "start_p99_s": [1234.5] * len(platforms),
                            "stranded_mem_gib_mean": [25.5] * len(platforms)})
    lines = rendered(comparison_table(summary, title="host64g.toml, seed 1"))
    assert max(len(line.rstrip()) for line in lines) <= 80
    body = "\n".join(lines)
    for text in ("stranded memory (GiB)", "12,345", "12.3%", "1,234.50", *platforms):
        assert text in body


def test_comparison_table_of_two_platforms_stays_narrow():
    """The everyday table is under 50 columns: it reads beside an editor."""
    summary = pd.DataFrame({"platform": ["vm", "container"], "submitted": [380, 380], "rejection_rate": [0.49, 0.09]})
    assert max(len(line.rstrip()) for line in rendered(comparison_table(summary))) < 50


def test_comparison_table_leaves_out_metrics_the_summary_lacks():
    """A summary from an older simdc (fewer columns) still prints."""
    summary = pd.DataFrame({"platform": ["vm"], "submitted": [3]})
    lines = rendered(comparison_table(summary))
    assert any("submitted" in line for line in lines)
    assert not any("OOM" in line for line in lines)


def test_progress_is_silent_when_stderr_is_not_a_terminal():
    """No bar (and no callback at all) when stderr is a file or a test runner's pipe."""
    console = Console(file=io.StringIO(), force_terminal=False)
    with simulation_progress(console) as progress:
        assert progress is None
    assert console.file.getvalue() == ""


def test_progress_bar_shows_each_platform_on_a_terminal():
    """On a terminal the bar appears once the run has taken ``delay_s``, a task per
    platform, marking an earlier platform done when the next one starts."""
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    with simulation_progress(console, delay_s=0.0) as progress:
        progress("vm", 3600.0, 7200.0)
        time.sleep(0.11)  # the bar redraws at most every 0.1 s
        progress("container", 1800.0, 7200.0)
        time.sleep(0.11)
        progress("container", 7200.0, 7200.0)
    shown = console.file.getvalue()
    assert "vm" in shown and "container" in shown
    assert "2.0 h of 2.0 h simulated" in shown


def test_cli_runner_output_has_no_progress(runner, config_path, tmp_path):
    """Under CliRunner (not a terminal) stdout is the table alone and stderr the one
    'wrote' line: the progress bar never pollutes captured output."""
    result = invoke(runner, "run", config_path, "--out", tmp_path / "out")
    assert result.exit_code == 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"wrote {tmp_path / 'out'} ("), lines
    assert "simulated" not in result.output


def test_report_command_renders_a_sweep_directory(runner, tmp_path):
    """A sweep's directory (points.csv: one row per point, platform and replication)
    gets the sweep report: a figure per metric against the swept key."""
    from tests.test_report import sweep_points

    sweep_dir = tmp_path / "sweep"
    sweep_dir.mkdir()
    sweep_points({"host.memory_gib": [32, 64, 128]}).to_csv(sweep_dir / "points.csv", index=False)
    result = invoke(runner, "report", sweep_dir)
    assert result.exit_code == 0, result.output
    text = (sweep_dir / "report.html").read_text()
    assert 'id="fig-sweep-rejection_rate"' in text and "host.memory_gib" in text
