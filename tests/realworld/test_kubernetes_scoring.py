"""kube-scheduler's scores as the current scheduler computes them, on inputs shaped after
real clusters (../shared/cases/k8s_balanced_allocation)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import simdc
from simdc.placement import Fleet, balanced_allocation, kubernetes

CASES = Path(__file__).resolve().parents[2].parent / "shared" / "cases"


def test_balanced_allocation_is_one_minus_the_std_of_three_shares_by_hand():
    """Three resources (CPU, memory, GPUs) with shares 0.2, 0.5, 0.8: mean 0.5,
    σ = sqrt((0.09 + 0 + 0.09) / 3) = sqrt(0.06) ≈ 0.2449, score ≈ 0.7551
    (kube-scheduler ≥ v1.22, balanced_allocation.go)."""
    score = balanced_allocation(np.array([0.2]), np.array([0.5]), np.array([0.8]))
    assert score[0] == pytest.approx(1 - math.sqrt(0.06))
    # The pre-1.22 formula would have given 1 − |0.2 − 0.5| = 0.7 for the first two alone.
    assert balanced_allocation(np.array([0.2]), np.array([0.5]))[0] == pytest.approx(0.85)


def test_balanced_allocation_caps_shares_at_one():
    """An overcommitted resource counts as fully requested, not more."""
    assert balanced_allocation(np.array([1.7]), np.array([0.6]))[0] == pytest.approx(1 - 0.4 / 2)


@settings(max_examples=100, deadline=None)
@given(st.floats(0, 1), st.floats(0, 1))
def test_two_resource_score_is_one_minus_half_the_gap(a, b):
    assert balanced_allocation(np.array([a]), np.array([b]))[0] == pytest.approx(1 - abs(a - b) / 2, abs=1e-12)


def test_pod_goes_where_the_current_scheduler_puts_it():
    """node-a (10 cores, 8 GiB) and node-b (2 cores, 7.5 GiB), one pod of 1 core, 4 GiB:
    least allocated (90+50)/2 = 70 and balanced (1 − |0.1 − 0.5|/2)·100 = 80 on node-a,
    150 in all; 48.3 + 98.3 = 146.7 on node-b. The pod goes to node-a."""
    fleet = Fleet(np.array([10.0, 2.0]), np.array([8.0, 7.5]), np.zeros(2), np.zeros(2),
                  np.array([True, True]), 1.0, 4.0)
    assert kubernetes(fleet, weights={"least_allocated": 1, "balanced_allocation": 1}) == 0


@pytest.mark.skipif(not (CASES / "k8s_balanced_allocation").is_dir(), reason="../shared/cases not present")
def test_k8s_case_places_the_pod_on_node_a(tmp_path):
    config = simdc.load_config(CASES / "k8s_balanced_allocation" / "run.toml")
    instances = simdc.simulate(config).instances
    assert instances.set_index("id").loc["pod-1", "host"] == 0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 2), st.floats(0, 2)), min_size=1, max_size=50))
def test_the_schedulers_two_resource_path_is_the_definition_to_the_bit(shares):
    """kubernetes() scores balance with a written-out two-resource path (no temporaries):
    the same doubles as the definition, :func:`balanced_allocation`, on random shares."""
    from simdc.placement import _balanced_pair

    cpu, mem = (np.array(column, dtype=float) for column in zip(*shares))
    expected = balanced_allocation(cpu, mem)
    assert np.array_equal(_balanced_pair(cpu.copy(), mem.copy()), expected)
