"""The summary's counts against a count made by brute force from the same stays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simdc import metrics

HORIZON_S = 50.0

# (admitted at, stayed for or None: still there at the horizon; None for never placed),
# on a coarse grid so that starts and ends often fall on one moment
stays = st.lists(st.one_of(st.none(), st.tuples(st.integers(0, 40).map(float),
                                                 st.one_of(st.none(), st.integers(0, 20).map(float)))),
                 max_size=60)


def table(rows) -> pd.DataFrame:
    admit = [np.nan if r is None else r[0] for r in rows]
    end = [np.nan if r is None or r[1] is None else r[0] + r[1] for r in rows]
    return pd.DataFrame({"admit_s": admit, "end_s": end}, dtype=float)


def brute_force_peak(rows) -> int:
    """The count changes only when a stay begins or ends: just after each such moment t,
    count the stays begun by t and not yet ended (a stay ending at t has left)."""
    placed = [(a, HORIZON_S if d is None else min(a + d, HORIZON_S)) for a, d in (r for r in rows if r)]
    moments = {t for stay in placed for t in stay}
    return max((sum(1 for a, e in placed if a <= t < e) for t in moments), default=0)


@settings(max_examples=300, deadline=None)
@given(stays)
def test_peak_resident_counts_what_brute_force_counts(rows):
    assert metrics.peak_resident(table(rows), HORIZON_S) == brute_force_peak(rows)


# a placed instance's times off its host between stays, as (from, for) within its stay
interruptions = st.lists(st.tuples(st.integers(0, 20).map(float), st.integers(0, 10).map(float)), max_size=3)


@settings(max_examples=300, deadline=None)
@given(rows=stays, data=st.data())
def test_peak_resident_leaves_out_the_times_off_a_host_as_brute_force_does(rows, data):
    """A failure's victim waiting to be placed again is on no host (metrics docstring):
    the peak over each stay's on-host pieces, counted by brute force, is
    :func:`simdc.metrics.peak_resident` given those times off a host."""
    off, on_host = [], []
    for a, d in (r for r in rows if r):
        end = HORIZON_S if d is None else min(a + d, HORIZON_S)
        cuts = []  # disjoint times off the host inside [a, end], in order
        at = a
        for gap_from, gap_for in data.draw(interruptions):
            start = at + gap_from
            if start >= end:
                break
            stop = min(start + gap_for, end)
            cuts.append((start, stop))
            at = stop
        off += cuts
        edges = [a, *[t for cut in cuts for t in cut], end]
        on_host += [(edges[k], edges[k + 1]) for k in range(0, len(edges), 2)]
    moments = {t for piece in on_host for t in piece}
    expected = max((sum(1 for f, t in on_host if f <= m < t) for m in moments), default=0)
    frame = pd.DataFrame({"from_s": [f for f, _ in off], "to_s": [t for _, t in off]}, dtype=float)
    assert metrics.peak_resident(table(rows), HORIZON_S, frame) == expected


@settings(max_examples=100, deadline=None)
@given(stays)
def test_mean_resident_is_the_stays_total_over_the_horizon(rows):
    total = sum(min(a + (HORIZON_S if d is None else d), HORIZON_S) - a for a, d in (r for r in rows if r))
    assert np.isclose(metrics.mean_resident(table(rows), HORIZON_S), total / HORIZON_S)


def test_workflow_metrics_follow_the_last_ending_parent_by_hand():
    """metrics over tables alone. Job x: a (submit 0, ready 10, end 110) -> b (submit
    110, ready 115, end 215) and c (submit 110, ready 140, end 200) -> d (submit 215,
    ready 220, end 320): the critical path is a, b, d (b ends after c): starting 10 + 5
    + 5 = 20 s of a 320-s makespan. Job y: e -> f, f blocked. Job z: two replicas with no
    dependency: no workflow job."""
    from simdc.metrics import job_structure, workflow_metrics

    requests = pd.DataFrame({"id": list("abcdefgh"), "job": ["x"] * 4 + ["y"] * 2 + ["z"] * 2,
                             "parents": ["", "a", "a", "b c", "", "e", "", ""]})
    nan = float("nan")
    inst = pd.DataFrame({
        "submit_s": [0, 110, 110, 215, 0, nan, 0, 0],
        "first_ready_s": [10, 115, 140, 220, 1, nan, 1, 1],
        "end_s": [110, 215, 200, 320, 50, nan, 9, 9],
        "outcome": ["completed"] * 4 + ["rejected", "blocked", "completed", "completed"]})
    got = workflow_metrics(inst, *job_structure(requests))
    assert (got["blocked"], got["jobs"], got["jobs_completed"]) == (1, 2, 1)
    assert got["makespan_mean_s"] == got["makespan_p95_s"] == 320
    assert got["critical_start_share"] == pytest.approx(20 / 320)


@settings(max_examples=200, deadline=None)
@given(short=st.floats(1e-8, 0.5))
def test_an_availability_is_shown_to_the_digit_it_falls_short(short):
    """Shown with 2 decimals, 99.9998 % and 99.9994 % both read 100.00 %: the shortfall
    must show (its first significant digit), and the figure must round the value."""
    from simdc.metrics import AVAILABILITY, shown

    value = 1.0 - short
    text = shown(value, AVAILABILITY)
    assert text.endswith("%")
    decimals = len(text[:-1].partition(".")[2])
    assert 2 <= decimals <= 8
    assert abs(float(text[:-1]) - value * 100) <= 0.5 * 10.0 ** -decimals * (1 + 1e-9)
    if short * 100 >= 10.0 ** -8:  # within the 8 decimals shown at most: not 100 %
        assert float(text[:-1]) < 100.0, text
    assert shown(1.0, AVAILABILITY) == "100.00%"
    assert shown(float("nan"), AVAILABILITY) == "–"


def test_the_work_a_move_threw_away_is_a_row_of_the_table_when_there_is_some():
    """maintenance.toml's restarted containers lose their attempts' work (the README's
    'work thrown away'), which only summary.csv had: the table's row is the sum over the
    instance table, and a run that loses none shows no such row."""
    from pathlib import Path

    from rich.console import Console

    import simdc
    from simdc.cli import comparison_table

    def rows(results) -> dict[str, list[str]]:
        console = Console(width=200, record=True)
        console.print(comparison_table(results.summary))
        lines = [line.split("│") for line in console.export_text().splitlines() if "│" in line]
        return {cells[1].strip(): [c.strip() for c in cells[2:-1]] for cells in lines}

    configs = Path(__file__).resolve().parents[1] / "configs"
    moved = simdc.simulate(configs / "maintenance.toml")
    lost = moved.instances.groupby("platform", sort=False)["lost_core_s"].sum()
    shown = rows(moved)["work lost to failures and moves (core-s)"]
    assert shown == [f"{lost[p]:,.0f}" for p in moved.summary["platform"]] and lost.max() > 0
    assert "work lost to failures and moves (core-s)" not in rows(simdc.simulate(configs / "host64g.toml"))
