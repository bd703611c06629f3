"""Fuzzing ``simdc run`` (issue #15, "fail safe"): every example config in configs/ and a
small trace config and its trace, mutated (keys deleted, wrong types, booleans, negative, zero, NaN,
±inf, 1e308 and 10,000-digit numbers, huge counts, long strings, non-UTF-8 bytes, a BOM),
either runs (exit 0) or exits 2 with nothing but ``error:`` lines: never a traceback, a
hang or a process killed for memory.

Durations are shrunk before mutating, so that a mutant that is still valid finishes in a
second or two. Most examples run in this process through typer's CliRunner under an
alarm; a few run the installed command in a subprocess with a timeout.
"""

from __future__ import annotations

import copy
import math
import signal
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from simdc.cli import app
from tests.conftest import only_problems

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*.toml"))
TIME_LIMIT_S = 20
BIG_INTEGER = "1" * 10_000  # more digits than Python converts from text (4,300)

TRACE_CSV = "id,submit_s,duration_s,cpu_cores,memory_gib\n" + "".join(
    f"{i},{i * 60},{600 + 30 * i},{1 + i % 4},{2 + 2 * (i % 3)}\n" for i in range(20))
TRACE_CONFIG = {
    "simulation": {"duration_s": 1800, "seed": 1, "platforms": ["vm", "container"], "sample_every_s": 60},
    "host": {"cpu_cores": 16, "memory_gib": 32, "reserved_memory_gib": 2},
    "placement": {"when_full": "queue", "max_wait_s": 600},
    "workload": {"trace": "trace.csv", "format": "simdc"},
}


def _base(name: str) -> dict[str, Any]:
    """A config to mutate, shrunk to run in a second or two: half an hour, few instances
    of a trace, trace paths made absolute."""
    if name == "trace":
        return copy.deepcopy(TRACE_CONFIG)
    path = ROOT / "configs" / name
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data["simulation"]["duration_s"] = min(data["simulation"].get("duration_s", 1800), 1800)
    workload = data.get("workload", {})
    for key in ("trace", "usage"):
        if isinstance(workload.get(key), str):
            workload[key] = str((path.parent / workload[key]).resolve())
    if "trace" in workload:
        workload["limit"] = 50
    cost = data.get("cost", {})
    for key in ("price_series", "carbon_series"):
        if isinstance(cost.get(key), str):
            cost[key] = str((path.parent / cost[key]).resolve())
    return data


BASES = {name: _base(name) for name in [path.name for path in CONFIGS] + ["trace"]}


def _leaves(data: Any, where: tuple = ()) -> list[tuple]:
    """Key paths of every value (tables and lists included) in ``data``."""
    found = [where] if where else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _leaves(value, (*where, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _leaves(value, (*where, index))
    return found


def _get(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


VALUES = st.sampled_from([
    True, False, -1, 0, -1e-9, math.nan, math.inf, -math.inf, 1e308, -1e308, 1e-308, 2**63 - 1, 10**18,
    BIG_INTEGER, "vm", "", "x" * 100_000, [], {}, [1, 2], {"median": 1, "p95": 2}, 1_000_000_000,
])


@st.composite
def mutants(draw) -> tuple[str, bytes]:
    """(story, TOML bytes, trace CSV bytes): one base config with one or two mutations,
    perhaps damaged as a file; for the trace config, perhaps a damaged trace too."""
    name = draw(st.sampled_from(sorted(BASES)))
    data = copy.deepcopy(BASES[name])
    story = [name]
    for _ in range(draw(st.integers(1, 2))):
        paths = _leaves(data)
        scalars = [p for p in paths if not isinstance(_get(data, p), (dict, list))]
        if not paths:
            break
        # mostly one value (a run may still succeed), sometimes a whole table or list
        path = draw(st.sampled_from(scalars if scalars and draw(st.integers(0, 4)) else paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        old = parent[path[-1]]
        how = draw(st.sampled_from(["scale", "delete", "replace", "replace"]))
        if how == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
            story.append(f"del {path}")
        elif how == "scale" and isinstance(old, (int, float)) and not isinstance(old, bool):
            # a plausible neighbour, so that some mutants still run
            parent[path[-1]] = type(old)(old * draw(st.sampled_from([0.5, 2, 10])))
            story.append(f"{path} = {parent[path[-1]]}")
        else:
            value = copy.deepcopy(draw(VALUES))  # a later mutation may change it in place
            parent[path[-1]] = value
            story.append(f"{path} = {str(value)[:20]}")
    text = tomli_w.dumps(data).replace(f'"{BIG_INTEGER}"', BIG_INTEGER).encode()
    damage = draw(st.sampled_from(["none"] * 6 + ["bom", "latin1", "truncate"]))
    if damage == "bom":
        text = b"\xef\xbb\xbf" + text
    elif damage == "latin1":
        text = text.replace(b"\n", "\n# caf\xe9\n".encode("latin-1"), 1)
    elif damage == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    story.append(damage)
    trace = TRACE_CSV.encode()
    if name == "trace" and draw(st.booleans()):
        trace = draw(trace_mutants())
        story.append(f"trace {trace[:40]!r}…")
    return " / ".join(story), text, trace


CELLS = st.sampled_from(["true", "nan", "inf", "-inf", "-1", "0", "1e308", "1e-308", "", "x" * 10_000, BIG_INTEGER,
                         "9223372036854775808", "\"", "a,b"])


@st.composite
def trace_mutants(draw) -> bytes:
    """The small trace with a cell replaced, a row cut short, a BOM, a Latin-1 byte or
    truncated."""
    rows = [line.split(",") for line in TRACE_CSV.splitlines()]
    how = draw(st.sampled_from(["cell", "cell", "short", "bom", "latin1", "truncate"]))
    if how == "cell":
        row, col = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(rows[0]) - 1))
        rows[row][col] = draw(CELLS)
    elif how == "short":
        rows[draw(st.integers(1, len(rows) - 1))].pop()
    text = ("\n".join(",".join(row) for row in rows) + "\n").encode()
    if how == "bom":
        text = b"\xef\xbb\xbf" + text
    elif how == "latin1":
        text = text.replace(b"\n", b"\n\xe9", 1)
    elif how == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    return text


def _write(tmp_path: Path, text: bytes, trace: bytes = TRACE_CSV.encode()) -> Path:
    (tmp_path / "trace.csv").write_bytes(trace)
    path = tmp_path / "config.toml"
    path.write_bytes(text)
    return path


class _TooSlow(Exception):
    pass


def _alarm(signum, frame):
    raise _TooSlow(f"no answer in {TIME_LIMIT_S} s")


def _assert_clean(code: int, stdout: str, stderr: str, story: str) -> None:
    assert code in (0, 2), (story, code, stderr[-2000:])
    assert "Traceback" not in stdout + stderr, (story, stderr[-2000:])
    if code == 2:
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert only_problems(lines), (story, lines[:5])
        assert all(len(line) < 2000 for line in lines), (story, [len(line) for line in lines])


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutant=mutants())
def test_mutated_config_runs_or_exits_2_with_error_lines(mutant, tmp_path_factory):
    """In process (CliRunner), under a 20 s alarm: exit 0, or exit 2 with error lines only."""
    story, text, trace = mutant
    tmp_path = tmp_path_factory.mktemp("fuzz")
    path = _write(tmp_path, text, trace)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIME_LIMIT_S)
    try:
        result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert result.exception is None or isinstance(result.exception, SystemExit), (story, repr(result.exception))
    _assert_clean(result.exit_code, result.stdout, result.stderr, story)


@settings(max_examples=4, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutant=mutants())
def test_mutated_config_through_the_installed_command(mutant, tmp_path_factory):
    """The real entry point as a process, with a 20 s timeout: the same outcomes, and no
    kill by the system (a negative return code)."""
    story, text, trace = mutant
    tmp_path = tmp_path_factory.mktemp("fuzz")
    path = _write(tmp_path, text, trace)
    script = Path(sys.executable).with_name("simdc")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from simdc.cli import main; main()"]
    try:
        done = subprocess.run([*command, "run", str(path), "--out", str(tmp_path / "out")], capture_output=True,
                              text=True, cwd=tmp_path, timeout=TIME_LIMIT_S, errors="replace")
    except subprocess.TimeoutExpired:
        pytest.fail(f"{story}: no answer in {TIME_LIMIT_S} s")
    _assert_clean(done.returncode, done.stdout, done.stderr, story)


@pytest.mark.parametrize("case", sorted(p.name for p in (ROOT.parent / "shared" / "cases" / "fuzz").glob("*"))
                         if (ROOT.parent / "shared" / "cases" / "fuzz").is_dir() else [])
def test_handed_fuzz_case_exits_cleanly(case, tmp_path):
    """Each case of ../shared/cases/fuzz (a config that once crashed or hung) now runs or
    exits 2 with error lines, in this process under the alarm."""
    folder = ROOT.parent / "shared" / "cases" / "fuzz" / case
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIME_LIMIT_S)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(folder)
            result = CliRunner().invoke(app, ["run", "config.toml", "--out", str(tmp_path / "out")])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    _assert_clean(result.exit_code, result.stdout, result.stderr, case)
