"""``simdc trace inspect`` shows lifetimes cut off by the end of the data apart from the
finished ones (issue #14, item 4): the quantiles are of the finished lifetimes."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings, strategies as st
from typer.testing import CliRunner

from simdc.cli import app
from simdc.workload.inspect import inspect_trace
from tests.workload.traces import write_lines

US = 1_000_000
START_US = 600 * US


def google_trace(folder, finished_s: list[int], running: int, end_s: int):
    """Tasks scheduled at 0 that finish after ``finished_s``; ``running`` more never end;
    a last SUBMIT of another task at ``end_s`` ends the data."""
    rows = []
    for i, d in enumerate(finished_s + [None] * running):
        rows += [f"{START_US},,1,{i},7,0,u,1,0,0.05,0.05,0,0", f"{START_US},,1,{i},7,1,u,1,0,0.05,0.05,0,0"]
        if d is not None:
            rows.append(f"{START_US + d * US},,1,{i},7,4,u,1,0,0.05,0.05,0,0")
    rows.append(f"{START_US + end_s * US},,2,0,7,0,u,1,0,0.05,0.05,0,0")
    rows.sort(key=lambda r: int(r.split(",")[0]))
    return write_lines(folder / "task_events-part-00000-of-00001.csv", rows)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 5000), min_size=1, max_size=30), st.integers(0, 20))
def test_quantiles_are_of_the_finished_lifetimes(tmp_path_factory, finished, running):
    path = google_trace(tmp_path_factory.mktemp("g"), finished, running, 6000)
    report = inspect_trace([path], "google")
    table = dict(zip(report.lifetimes["quantile"], report.lifetimes["duration_s"]))
    assert table["p50"] == np.quantile(finished, 0.5)
    assert table["p90"] == np.quantile(finished, 0.9)
    assert table["max"] == max(finished)
    overview = dict(report.overview)
    if running:
        assert table["censored p50 (so far)"] == 6000.0
        assert overview["lifetimes cut by the end of the data"].startswith(
            f"{running:,} of {running + len(finished):,}")
    else:
        assert "lifetimes cut by the end of the data" not in overview
        assert not any(q.startswith("censored") for q in table)


def test_cli_json_shows_the_censored_apart(tmp_path):
    path = google_trace(tmp_path, [60, 120, 180], 2, 3600)
    result = CliRunner().invoke(app, ["trace", "inspect", str(path), "--format", "google", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    rows = {r["quantile"]: r["duration_s"] for r in data["lifetimes"]}
    assert rows["p50"] == 120.0 and rows["max"] == 180.0 and rows["censored max (so far)"] == 3600.0
    assert data["overview"]["lifetimes cut by the end of the data"].startswith("2 of 5")
