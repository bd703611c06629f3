"""Image-pull flows end, whatever the clock's resolution (a livelock found by the
capacity-study benchmark, issue #16)."""

from __future__ import annotations

import simpy
from hypothesis import given, settings, strategies as st

from simdc.engine import network


def test_a_flow_whose_rest_is_below_the_clocks_resolution_ends():
    """At t = 16,877.645 s, 2.06e-12 GiB left at 1.164 GiB/s is 1.8e-12 s of transfer,
    below the clock's resolution there (3.6e-12 s): its end used to be planned again at
    the same instant forever. It ends at once."""
    now, left_gib, rate_gib_s = 16877.64537099916, 2.06495931465156e-12, 1.1641532182693481
    assert now + left_gib / rate_gib_s == now
    assert left_gib > network.DONE_GIB * max(1.0, rate_gib_s)  # not "nothing left" by the old rule
    env = simpy.Environment(initial_time=now)
    net = network.Network(env, {"link": rate_gib_s})
    done = net.transfer(("link",), left_gib)
    env.run(until=now + 1.0)
    assert done.processed and not net.flows and env.now == now + 1.0


@settings(max_examples=60, deadline=None)
@given(st.floats(1e3, 1e9), st.lists(st.floats(1e-13, 10.0), min_size=1, max_size=6), st.floats(0.01, 10.0))
def test_every_flow_ends_at_size_over_its_fair_share(start_s, sizes, capacity):
    """Flows on one link, all started at ``start_s``: max-min fair is equal shares, so the
    k-th smallest ends after Σ_{j<k} (s_j − s_{j−1})·(n − j + 1)/capacity (processor
    sharing). Each ends, within the clock's resolution of that time, or 1e-9 relative."""
    env = simpy.Environment(initial_time=start_s)
    net = network.Network(env, {"link": capacity})
    ends = {}
    for k, size in enumerate(sizes):
        net.transfer(("link",), size).callbacks.append(lambda _, k=k: ends.setdefault(k, env.now))
    env.run()
    assert len(ends) == len(sizes) and not net.flows
    order = sorted(range(len(sizes)), key=lambda k: sizes[k])
    t, previous, n = start_s, 0.0, len(sizes)
    for j, k in enumerate(order):
        t += (sizes[k] - previous) * (n - j) / capacity
        previous = sizes[k]
        assert abs(ends[k] - t) <= 1e-9 * max(1.0, t - start_s) + 4 * (t * 2.3e-16) + 1e-12 * n, (k, ends[k], t)
