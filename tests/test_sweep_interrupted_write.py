"""A Ctrl-C while a sweep writes its tables leaves both or neither: the runs are kept,
the message says so and how to resume, and the rerun completes the sweep without
running anything again."""

from pathlib import Path

import pandas as pd
import pytest

from typer.testing import CliRunner

import simdc
from simdc.cli import app
from simdc import sweeping

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "host64g.toml"
GRID = {"host.memory_gib": [32, 64]}


@pytest.fixture(scope="module")
def config():
    return simdc.load_config(CONFIG, overrides={"simulation.duration_s": 1800})


@pytest.mark.parametrize("at", ["aggregate.csv", "points.csv"])
def test_interrupt_at_the_final_write_keeps_the_runs_and_a_rerun_completes(config, tmp_path, monkeypatch, at):
    out = tmp_path / "sweep"
    real = sweeping._atomic_write

    def interrupted(path, text):
        if path.name == at:
            raise KeyboardInterrupt
        real(path, text)

    monkeypatch.setattr(sweeping, "_atomic_write", interrupted)
    with pytest.raises(KeyboardInterrupt) as caught:
        simdc.sweep(config, GRID, replications=2, out=out, workers=1)
    said = str(caught.value)
    assert f"4 of 4 runs are kept in {out}" in said and "again to resume" in said
    assert not (out / "points.csv").exists() and not (out / "aggregate.csv").exists()
    assert len(list((out / "parts").glob("p*-r*.csv"))) == 4
    assert not list(out.glob(".*.tmp"))
    report = CliRunner().invoke(app, ["report", str(out)])
    assert report.exit_code == 2
    assert f"is an unfinished sweep (4 of 4 runs kept in {out / 'parts'}" in report.output
    assert "run the same sweep into it again to complete it" in report.output

    monkeypatch.setattr(sweeping, "_atomic_write", real)
    seen = []
    resumed = simdc.sweep(config, GRID, replications=2, out=out, workers=1,
                          progress=lambda done, total: seen.append((done, total)))
    assert seen == [(4, 4)]  # nothing ran again
    fresh = simdc.sweep(config, GRID, replications=2, workers=1)
    pd.testing.assert_frame_equal(resumed, fresh)
    written = pd.read_csv(out / "points.csv")
    assert len(written) == len(fresh) and (out / "aggregate.csv").exists()
