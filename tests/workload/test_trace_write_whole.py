"""``simdc trace convert`` and ``trace generate`` write ``--to`` (and its usage file) whole
or not at all: written beside it under temporary names and renamed into place together
(simdc.results.files_placed), as ``run`` writes its results directory. An interrupt or a
full disk part-way leaves no file cut short, no leftovers, and an old file as it was."""

from __future__ import annotations

import errno

import pandas as pd
import pyarrow.parquet as pq
import pytest
import tomli_w
from typer.testing import CliRunner

from simdc.cli import app
from simdc.workload import own
from tests.conftest import MINIMAL

ROWS = 400


@pytest.fixture
def trace(tmp_path):
    """A simdc trace of ROWS instances in its own folder."""
    folder = tmp_path / "in"
    folder.mkdir()
    path = folder / "trace.csv"
    pd.DataFrame({"id": range(ROWS), "submit_s": [10.0 * k for k in range(ROWS)], "duration_s": 60.0,
                  "cpu_cores": 1.0, "memory_gib": 2.0}).to_csv(path, index=False)
    return path


def _cut_short(monkeypatch, failure: BaseException) -> None:
    """own.write writes the first half of the rows to its file, then ``failure`` comes."""
    real = own.write

    def half_then_fail(instances, path):
        real(instances.iloc[: len(instances) // 2], path)
        raise failure

    monkeypatch.setattr(own, "write", half_then_fail)


def _invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_an_interrupt_while_converting_leaves_no_file_at_to(tmp_path, trace, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    _cut_short(monkeypatch, KeyboardInterrupt())
    result = _invoke("trace", "convert", trace, "--to", out / "gI.csv")
    assert result.exit_code == 130
    assert list(out.iterdir()) == []  # neither the half file nor a temporary one
    monkeypatch.undo()
    again = _invoke("trace", "convert", trace, "--to", out / "gI.csv")  # not refused as "already exists"
    assert again.exit_code == 0, again.output
    assert len(pd.read_csv(out / "gI.csv")) == ROWS


def test_a_full_disk_with_overwrite_leaves_the_old_file_as_it_was(tmp_path, trace, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    old = b"id,submit_s,duration_s,cpu_cores,memory_gib\n7,0,60,1,2\n"
    (out / "gI.csv").write_bytes(old)
    _cut_short(monkeypatch, OSError(errno.ENOSPC, "No space left on device"))
    result = _invoke("trace", "convert", trace, "--to", out / "gI.csv", "--overwrite")
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"error: {out / 'gI.csv'}: cannot write: no space left on device; "
                                          "nothing was written"]
    assert (out / "gI.csv").read_bytes() == old
    assert sorted(p.name for p in out.iterdir()) == ["gI.csv"]


def test_generate_failing_on_the_usage_file_keeps_the_old_pair(tmp_path, monkeypatch):
    config = tmp_path / "synthetic.toml"
    config.write_text(tomli_w.dumps(MINIMAL))
    out = tmp_path / "out"
    out.mkdir()
    assert _invoke("trace", "generate", config, "--to", out / "gen.parquet").exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(before) == ["gen.parquet", "gen.usage.parquet"]
    real = pq.write_table

    def usage_fails(table, where, *args, **kwargs):  # the writer under pandas' to_parquet and simdc's
        if "usage" in str(getattr(where, "name", where)):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(table, where, *args, **kwargs)

    monkeypatch.setattr(pq, "write_table", usage_fails)
    result = _invoke("trace", "generate", config, "--to", out / "gen.parquet", "--overwrite", "--seed", "9")
    assert result.exit_code == 2 and "nothing was written" in result.output
    # the new trace (another seed) is not put beside the old usage file: both as they were
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_an_interrupt_while_generating_leaves_neither_file(tmp_path, monkeypatch):
    config = tmp_path / "synthetic.toml"
    config.write_text(tomli_w.dumps(MINIMAL))
    out = tmp_path / "out"
    out.mkdir()
    _cut_short(monkeypatch, KeyboardInterrupt())
    result = _invoke("trace", "generate", config, "--to", out / "gen.parquet")
    assert result.exit_code == 130
    assert list(out.iterdir()) == []
