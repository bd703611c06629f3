"""The fleet's bookings as arrays (BookedArrays): the free memory a refused instance
records is kept between changes of the bookings, and is always what the arrays say."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from simdc.engine.host import BookedArrays, Bookings


@settings(max_examples=60, deadline=None)
@given(caps=st.lists(st.floats(1.0, 64.0), min_size=1, max_size=6),
       ops=st.lists(st.tuples(st.sampled_from(["book", "release", "down", "up", "ask", "ask"]), st.integers(0, 5),
                              st.floats(0.0, 40.0)), max_size=40))
def test_free_memory_is_the_caps_less_the_bookings_after_any_changes(caps, ops):
    """After any bookings, releases and hosts going down or up, free_mem_gib is Σ cap −
    Σ booked over the hosts up, each sum in host order (computed here from the caps, the
    GiB booked and the down flags, kept apart), however many times it was asked in
    between: a host down has no free memory for a request (rules.free_mem_gib)."""
    booked = Bookings(len(caps))
    arrays = booked.placement = BookedArrays(booked)
    mem_caps = np.array(caps)
    held = [[] for _ in caps]  # GiB of each instance on each host
    down = [False] * len(caps)
    for op, j, gib in ops:
        j %= len(caps)
        if op == "book":
            booked.book(j, 1.0, gib)
            held[j].append(gib)
        elif op == "release" and held[j]:
            booked.release(j, 1.0, held[j].pop())
        elif op in ("down", "up"):
            down[j] = op == "down"
            booked.down[j] = down[j]
            booked.placement.set_down(j, down[j])  # as HostState.set_down tells it
        up = [k for k in range(len(caps)) if not down[k]]
        want = sum(caps[k] for k in up) - sum(booked.mem[k] for k in up)  # the lists the arrays copy
        assert arrays.free_mem_gib(mem_caps) == want
