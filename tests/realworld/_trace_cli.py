"""Running ``simdc`` in-process for the real-world trace tests, and what a clean error is."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from simdc.cli import app
from tests.conftest import only_problems

CASES = Path(__file__).resolve().parents[2].parent / "shared" / "cases"


def simdc(*args):
    """``simdc ARGS`` through typer's test runner: the result, with stdout and stderr apart."""
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_one_clean_error(result, *fragments: str) -> None:
    """Exit code 2, no traceback, error lines only, and each fragment in one of them."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert only_problems(errors), result.stderr
    for fragment in fragments:
        assert any(fragment in line for line in errors), (fragment, result.stderr)
