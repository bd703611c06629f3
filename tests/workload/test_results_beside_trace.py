"""A trace given as a folder (``trace = "."`` beside the config) may hold simdc's own
results: ``simdc run`` writes them into ``results/`` beside the config. The next run must
read the trace, not its own ``hosts.csv`` (it stopped with "cannot tell which trace
table this is" on the second run)."""

from __future__ import annotations

import shutil

from typer.testing import CliRunner

from simdc.cli import app
from simdc.workload.readers.common import list_files
from tests.workload.traces import sample

CONFIG = """\
[simulation]
duration_s = 600
seed = 1
platforms = ["container"]

[host]
cpu_cores = 64
memory_gib = 256

[workload]
trace = "."
format = "opendc"
"""


def test_a_trace_folder_holding_simdcs_results_is_read_twice_alike(tmp_path):
    source = sample("opendc/v5/surf_week")
    traces = sorted(p.name for p in source.iterdir() if p.suffix == ".parquet")
    for name in traces:
        shutil.copy(source / name, tmp_path / name)
    (tmp_path / "run.toml").write_text(CONFIG)
    runner = CliRunner()
    first = runner.invoke(app, ["run", str(tmp_path / "run.toml"), "--out", str(tmp_path / "results" / "a"),
                                "--format", "csv"])
    assert first.exit_code == 0, first.output
    assert (tmp_path / "results" / "a" / "hosts.csv").is_file()
    # the files read are the trace's, whatever simdc wrote below it
    assert sorted(p.name for p in list_files([tmp_path])) == traces
    second = runner.invoke(app, ["run", str(tmp_path / "run.toml"), "--out", str(tmp_path / "results" / "b"),
                                 "--format", "csv"])
    assert second.exit_code == 0, second.output
    assert first.output.splitlines()[:3] == second.output.splitlines()[:3]
