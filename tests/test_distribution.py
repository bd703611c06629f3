"""Distribution forms added for published figures (issue #17): a lognormal given by its
median and p99, and a CDF given by points, log-linear in between."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from simdc.model import Distribution


@st.composite
def cdfs(draw):
    """2-8 points: seconds > 0 never falling (repeats are atoms), probabilities 0 … 1 rising.

    Seconds are whole milliseconds and probabilities whole percents: points a float's
    last bit apart are neither one point nor two a test could tell apart."""
    k = draw(st.integers(2, 8))
    seconds = sorted(ms / 1000 for ms in draw(st.lists(st.integers(1, 10**10), min_size=k, max_size=k)))
    inner = sorted({pct / 100 for pct in draw(st.lists(st.integers(1, 99), min_size=k - 2, max_size=k - 2))})
    probabilities = [0.0, *inner, 1.0]
    return tuple(zip(seconds[:len(probabilities)], probabilities))


@settings(max_examples=40, deadline=None)
@given(points=cdfs(), seed=st.integers(0, 2**32 - 1))
def test_a_cdf_draws_each_point_with_its_probability(points, seed):
    """The share of 20,000 draws at or below each point's seconds is its probability,
    within 4 binomial standard errors; the quantile at each probability is its seconds."""
    dist = Distribution(cdf=points)
    draws = dist.sample(np.random.default_rng(seed), 20_000)
    expected = {}
    for x, p in points:  # at a repeated number of seconds (an atom) the later probability holds
        expected[x] = p
    for x, p in expected.items():
        share = (draws <= x * (1 + 1e-12)).mean()
        assert abs(share - p) <= 4 * math.sqrt(max(p * (1 - p), 1e-4) / len(draws)), (x, p, share)
    for (x0, p0), (x1, p1) in zip(points, points[1:]):
        assert dist.quantile((p0 + p1) / 2) == pytest.approx(math.sqrt(x0 * x1), rel=1e-9)  # log-midpoint


@settings(max_examples=40, deadline=None)
@given(points=cdfs())
def test_a_cdfs_mean_is_the_integral_of_its_quantiles(points):
    """expected_s equals ∫₀¹ quantile(u) du, integrated numerically (midpoint rule, fine grid)."""
    dist = Distribution(cdf=points)
    u = (np.arange(200_000) + 0.5) / 200_000
    numeric = float(dist._cdf_quantile(u).mean())
    assert dist.expected_s == pytest.approx(numeric, rel=1e-3)


def test_a_median_and_p99_give_the_lognormal_through_both():
    """{median, p99}: σ = ln(p99/median)/z₀.₉₉, so its p99 and p95 are where a lognormal's are."""
    dist = Distribution(median=0.206, p99=0.246)
    sigma = math.log(0.246 / 0.206) / NormalDist().inv_cdf(0.99)
    assert dist.quantile(0.99) == pytest.approx(0.246, rel=1e-12)
    assert dist.quantile(0.95) == pytest.approx(0.206 * math.exp(sigma * NormalDist().inv_cdf(0.95)), rel=1e-12)
    assert dist.expected_s == pytest.approx(0.206 * math.exp(sigma ** 2 / 2), rel=1e-12)
    assert Distribution.model_validate(dist.to_config()) == dist
