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


def test_readme_isolation_shares_of_victims_placed_again_are_the_runs():
    """The isolation rows' reading quotes, per platform, the share of failure victims
    placed again as "P % (re-placed of victims)". Each must be the run's: victims are the
    instances a failure struck (re-placed + lost + still waiting at the end, the table's
    rows), P = 100 re-placed / victims; and the order the sentence states (containers'
    above the VMs', below the microVMs') must be the order of the shares. It once said a
    larger share of the containers' victims was placed again, true against VMs only."""
    text = (ROOT / "README.md").read_text()
    paragraph = text[text.index("How to read the isolation rows:"):text.index("`failure_kills`, `lost_work_core_s`")]
    quoted = {name: (float(p), int(a), int(b)) for name, p, a, b in re.findall(
        r"(containers|VMs|microVMs)'\s+(\d+\.\d)\s+%\s+\((\d+)\s+of\s+(\d+)\)", paragraph)}
    assert set(quoted) == {"containers", "VMs", "microVMs"}, "the paragraph quotes no share of victims placed again"
    summary = simdc.simulate(simdc.load_config(ROOT / "configs" / "isolation.toml"), seed=5).summary
    shares = {}
    for name, platform in (("containers", "container"), ("VMs", "vm"), ("microVMs", "microvm")):
        row = summary.set_index("platform").loc[platform]
        victims = int(row["replaced"] + row["failed"] + row["requeued_at_end"])
        assert quoted[name][1:] == (int(row["replaced"]), victims), name
        assert quoted[name][0] == round(100 * row["replaced"] / victims, 1), name
        shares[name] = row["replaced"] / victims
    assert shares["VMs"] < shares["containers"] < shares["microVMs"]
