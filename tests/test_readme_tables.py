"""The README's comparison tables are what `simdc run` prints now.

A reader checks the README against their own terminal. Each fenced block that begins like
the CLI's table title (``host64g.toml, seed 1``) is parsed, the config is simulated with
that seed, and every row the README shows (the tables are abridged: rows may be left out)
must have the label the CLI prints and, in each platform's column, the same text.
"""

import re
from pathlib import Path

import pytest

import simdc
from simdc.cli import _fmt
from simdc.metrics import HEADLINE

ROOT = Path(__file__).resolve().parents[1]
TITLE = re.compile(r"^(?P<config>[\w-]+\.toml), seed (?P<seed>\d+)\s*$")


def readme_tables() -> list[tuple[str, int, list[str], list[tuple[str, list[str]]]]]:
    """(config, seed, platforms, [(label, cells), ...]) for each table block of the README."""
    tables, fenced, block = [], False, []
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("```"):
            if fenced and block and TITLE.match(block[0]):
                tables.append(parse(block))
            fenced, block = not fenced, []
        elif fenced:
            block.append(line)
    return tables


def parse(block: list[str]):
    title = TITLE.match(block[0])
    cells = [[c.strip() for c in line.strip("┃│").split("┃" if "┃" in line else "│")]
             for line in block[1:] if line.startswith(("┃", "│"))]
    platforms = cells[0][1:]
    return title["config"], int(title["seed"]), platforms, [(row[0], row[1:]) for row in cells[1:]]


TABLES = readme_tables()


def test_the_readme_has_the_tables_this_test_reads():
    assert {config for config, *_ in TABLES} >= {"host64g.toml", "contention.toml", "isolation.toml"}


@pytest.mark.parametrize("config, seed, platforms, rows", TABLES, ids=[t[0] for t in TABLES])
def test_readme_table_is_what_simdc_run_prints(config, seed, platforms, rows):
    """Labels as in :data:`simdc.metrics.HEADLINE`, values formatted as the CLI formats
    them, from a fresh simulation of the config at the README's seed."""
    summary = simdc.simulate(simdc.load_config(ROOT / "configs" / config), seed=seed).summary
    assert list(summary["platform"]) == platforms
    by_label = {label: (column, fmt) for column, label, fmt in HEADLINE}
    stale = [label for label, _ in rows if label not in by_label]
    assert not stale, f"README {config}: rows the CLI no longer prints: {stale}"
    moved = {label: (cells, [_fmt(v, by_label[label][1]) for v in summary[by_label[label][0]]])
             for label, cells in rows}
    moved = {label: pair for label, pair in moved.items() if pair[0] != pair[1]}
    assert not moved, f"README {config}: figures (README, now): {moved}"


def test_every_public_figure_function_is_named_in_the_readmes_python_api():
    """A notebook user learns the figures from the README's list: each ``figure_*`` of
    :mod:`simdc.report` must be in it (figure_cost, _moves and _services were not)."""
    from simdc import report

    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Python API"):text.index("## Notebooks")]
    public = [name for name in dir(report) if name.startswith("figure_")]
    assert public and not [name for name in public if f"`{name}" not in section]
