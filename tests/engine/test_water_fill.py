"""The CPU fluid model: weighted max-min fair sharing (water-filling)."""

import numpy as np
from hypothesis import given, settings, strategies as st

from simdc.engine.rules import water_fill


def test_equal_jobs_share_a_core_equally():
    assert np.allclose(water_fill(np.ones(4), np.ones(4), 1.0), 0.25)


def test_a_small_demand_is_met_and_the_rest_is_shared_by_weight():
    """0.1 core is met in full; the other 1.9 cores go 1:3 by weight, within demands."""
    alloc = water_fill(np.array([0.1, 2.0, 2.0]), np.array([1.0, 1.0, 3.0]), 2.0)
    assert np.allclose(alloc, [0.1, 0.475, 1.425])


def test_no_sharing_below_capacity():
    demand = np.array([0.5, 1.5, 3.0])
    assert np.array_equal(water_fill(demand, np.array([1.0, 9.0, 2.0]), 8.0), demand)


positive = st.floats(min_value=0.01, max_value=10.0)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(min_value=0.0, max_value=16.0), positive), min_size=1, max_size=30),
       st.floats(min_value=0.5, max_value=64.0))
def test_water_fill_is_weighted_max_min_fair(pairs, cores):
    """Never above demand; exactly min(Σ demand, cores) in total; every instance that is
    short of its demand has the same allocation per unit weight, and no satisfied
    instance has more per unit weight than that level."""
    demand = np.array([d for d, _ in pairs])
    weight = np.array([w for _, w in pairs])
    alloc = water_fill(demand, weight, cores)
    assert (alloc <= demand + 1e-9).all() and (alloc >= 0).all()
    assert abs(alloc.sum() - min(demand.sum(), cores)) < 1e-6
    short = alloc < demand - 1e-9
    if short.any():
        level = alloc[short] / weight[short]
        assert level.max() - level.min() < 1e-6
        assert (alloc[~short] / weight[~short] <= level.max() + 1e-6).all()
