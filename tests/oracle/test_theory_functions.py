"""The oracles themselves reproduce the published exact values (shared/CALIBRATION.md)."""

import pytest

from tests.oracle.theory import erlang_b, erlang_c, erlang_c_wait, kaufman_roberts, poisson_tail


@pytest.mark.parametrize("c, a, b", [(1, 1, 0.5), (5, 5, 0.284868), (10, 5, 0.018385),
                                     (10, 10, 0.214582), (20, 15, 0.045593), (100, 90, 0.026957)])
def test_erlang_b_matches_published_values(c, a, b):
    assert erlang_b(c, a) == pytest.approx(b, abs=1e-6)


@pytest.mark.parametrize("c, a, p", [(2, 1, 1 / 3), (5, 4, 0.554113), (10, 8, 0.409180)])
def test_erlang_c_matches_published_values(c, a, p):
    assert erlang_c(c, a) == pytest.approx(p, abs=1e-6)


def test_erlang_c_mean_wait_matches_published_value():
    assert erlang_c_wait(10, 8, 1) == pytest.approx(0.204590, abs=1e-6)


def test_kaufman_roberts_matches_published_values():
    small, large = kaufman_roberts(32, [(1, 8.0), (4, 4.0)])
    assert small == pytest.approx(0.031348, abs=1e-6)
    assert large == pytest.approx(0.146601, abs=1e-6)


@pytest.mark.parametrize("a, c, p", [(10, 10, 0.416960), (10, 15, 0.048740)])
def test_poisson_tail_matches_published_values(a, c, p):
    assert poisson_tail(a, c) == pytest.approx(p, abs=1e-6)
