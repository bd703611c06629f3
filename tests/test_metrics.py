"""The summary's counts against a count made by brute force from the same stays."""

from __future__ import annotations

import numpy as np
import pandas as pd
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


@settings(max_examples=100, deadline=None)
@given(stays)
def test_mean_resident_is_the_stays_total_over_the_horizon(rows):
    total = sum(min(a + (HORIZON_S if d is None else d), HORIZON_S) - a for a, d in (r for r in rows if r))
    assert np.isclose(metrics.mean_resident(table(rows), HORIZON_S), total / HORIZON_S)
