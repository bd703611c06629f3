"""The handed cases for simdc's own format (``../shared/cases/own_csv_skip`` and
``short_row``), run through the CLI as their READMEs say, and the ``format`` default.

The expected values are computed here from the case files with the csv module,
independently of simdc's reader. The cases are read where they are, never copied into
the project; results go to ``tmp_path``.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from simdc.cli import app

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(os.environ.get("SIMDC_CASES", ROOT.parent / "shared" / "cases"))
REQUIRED = ("id", "submit_s", "duration_s", "cpu_cores", "memory_gib")


def case(name: str) -> Path:
    path = CASES / name
    if not path.exists():
        pytest.skip(f"no case {name} under {CASES}: set SIMDC_CASES")
    return path


def run(*args) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output  # stdout and stderr


def bad_rows(path: Path) -> tuple[list[str], dict[int, str]]:
    """(ids of the good rows, {line: why} of the bad ones) of a simdc CSV, by the README's
    rules for the required columns: every field present, numbers, times >= 0, sizes > 0."""
    good, bad = [], {}
    with open(path, newline="") as file:
        rows = csv.reader(file)
        header = next(rows)
        for line, row in enumerate(rows, start=2):
            if len(row) != len(header):
                bad[line] = f"expected {len(header)} fields, got {len(row)}"
                continue
            cells = dict(zip(header, row))
            try:
                numbers = {k: float(cells[k]) for k in REQUIRED[1:]}
            except ValueError:
                bad[line] = "not a number"
                continue
            if not all(map(math.isfinite, numbers.values())) or numbers["submit_s"] < 0 or \
                    min(numbers[k] for k in REQUIRED[2:]) <= 0:
                bad[line] = "out of range"
                continue
            good.append(cells["id"])
    return good, bad


def test_own_csv_skip_case_skips_and_counts_the_bad_rows(tmp_path):
    """own_csv_skip: with on_bad_rows = "skip" the run succeeds, replays exactly the good
    rows, and counts the bad ones in the manifest's skipped_rows."""
    folder = case("own_csv_skip")
    good, bad = bad_rows(folder / "bad_row_plain.csv")
    assert bad, "the case must hold a bad row"
    code, output = run("run", folder / "run.toml", "--out", tmp_path / "out")
    assert code == 0, output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert sum(manifest["skipped_rows"].values()) == len(bad)
    replayed = pd.read_parquet(tmp_path / "out" / "instances.parquet")
    assert sorted(set(replayed["id"].astype(str))) == sorted(good)
    assert f"{len(good):,} instances" in manifest["workload_notes"][0]


def test_own_csv_skip_case_in_strict_mode_names_the_line(tmp_path):
    """The same file in strict mode is one clean error per bad row, naming file and line."""
    folder = case("own_csv_skip")
    _, bad = bad_rows(folder / "bad_row_plain.csv")
    code, output = run("run", folder / "run.toml", "--set", "workload.on_bad_rows=strict", "--out", tmp_path / "o")
    assert code == 2 and "Traceback" not in output
    for line in bad:
        assert f"bad_row_plain.csv: line {line}: " in output


def test_short_row_case_is_an_error_naming_its_line(tmp_path):
    """short_row: a row with fewer fields than the header is an error naming the file and
    its line, exit 2; it is not completed with defaults."""
    folder = case("short_row")
    _, bad = bad_rows(folder / "workload.csv")
    short = {line: why for line, why in bad.items() if why.startswith("expected")}
    assert short, "the case must hold a short row"
    code, output = run("run", folder / "run.toml", "--out", tmp_path / "out")
    assert code == 2 and "Traceback" not in output, output
    for line, why in short.items():
        assert f"workload.csv: line {line}: {why}" in output
    assert not (tmp_path / "out").exists()


def test_short_row_case_with_skip_drops_and_counts_the_row(tmp_path):
    """short_row with on_bad_rows = "skip": the short row is dropped and counted."""
    folder = case("short_row")
    good, bad = bad_rows(folder / "workload.csv")
    code, output = run("run", folder / "run.toml", "--set", "workload.on_bad_rows=skip", "--out", tmp_path / "out")
    assert code == 0, output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["skipped_rows"] == {f"instances: {why}": 1 for why in bad.values()}
    replayed = pd.read_parquet(tmp_path / "out" / "instances.parquet")  # a row per instance and platform
    assert sorted(set(replayed["id"].astype(str))) == sorted(good)


def test_format_defaults_to_auto_and_says_what_it_chose(tmp_path):
    """A config without workload.format reads simdc's own CSV, and its notes say the format
    was detected and how many instances were read; format = "simdc", as older configs
    say, gives the same results."""
    folder = case("short_row")
    good, _ = bad_rows(folder / "workload.csv")
    code, output = run("run", folder / "run.toml", "--set", "workload.on_bad_rows=skip", "--out", tmp_path / "auto")
    assert code == 0, output
    code, output = run("run", folder / "run.toml", "--set", "workload.on_bad_rows=skip", "--set",
                       "workload.format=simdc", "--out", tmp_path / "given")
    assert code == 0, output
    notes = {name: json.loads((tmp_path / name / "manifest.json").read_text())["workload_notes"]
             for name in ("auto", "given")}
    assert notes["auto"][0] == f"format simdc (detected): read 1 instances file: {len(good):,} instances"
    assert notes["given"][0] == f"format simdc: read 1 instances file: {len(good):,} instances"
    for table in ("summary.csv",):
        assert (tmp_path / "auto" / table).read_text() == (tmp_path / "given" / table).read_text()


def test_an_option_of_another_format_is_reported_once_the_format_is_detected(tmp_path):
    """With the format left to auto, an option that only another format uses (Google's
    reference machine) is an error naming the key and the format recognised, not
    silently ignored."""
    folder = case("own_csv_skip")
    code, output = run("run", folder / "run.toml", "--set", "workload.reference_cpu_cores=48", "--out", tmp_path / "o")
    assert code == 2 and "Traceback" not in output
    assert "workload.reference_cpu_cores" in output and "'simdc'" in output
