"""A host's next batch finish is planned again at every change there; a plan at the time
of the timer already on the heap keeps that timer, and a plan after the next usage step
has none until that step plans the host again (``Simulation._schedule_finish``). That
must run every plan exactly where a timer per plan ran it: the same tables to the bit,
over random configs with batch work sharing hosts (and ties: submissions and lifetimes
on a minute grid, ``test_kernel.run_in``).
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal
from simpy.core import URGENT

from simdc.engine.handlers import FastLane

from .test_kernel import config_for, run_in


class TimerPerPlan(FastLane):
    """Every plan its own timer; a voided plan's timer is popped and does nothing (main at 48d3964)."""

    def _schedule_finish(self, host, now):
        if not host.batch_n and not host.finish_pending:
            return
        when = host.next_finish(now)
        host.finish_token += 1
        host.finish_pending = when is not None
        if when is not None:
            self._after(max(when - now, 0.0), self._on_finish, (host.index, host.finish_token), URGENT)

    def _on_finish(self, now, value):
        index, token = value
        if token == self.hosts[index].finish_token:
            super()._on_finish(now, value)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(platform=st.sampled_from(["vm", "container"]), hosts=st.integers(1, 3), cores=st.sampled_from([4, 8]),
       policy=st.sampled_from(["first_fit", "kubernetes"]), mtbf_s=st.sampled_from([1800.0, 20000.0]),
       restart=st.booleans(), seed=st.integers(0, 2**16))
def test_plans_without_a_timer_of_their_own_run_where_a_timer_each_ran_them(platform, hosts, cores, policy, mtbf_s,
                                                                        restart, seed):
    config = config_for(platform, hosts, cores, policy, 120.0, None, 0.7, mtbf_s, restart, seed)
    ours, reference = run_in(FastLane, config, platform), run_in(TimerPerPlan, config, platform)
    assert_frame_equal(ours.instances, reference.instances, check_exact=True)
    assert_frame_equal(ours.hosts, reference.hosts, check_exact=True)
    assert_frame_equal(ours.timeseries, reference.timeseries, check_exact=True)
    # batch work ran, and some of it finished (by its plan's timer)
    table = ours.instances
    assert (table["outcome"] == "completed").any() and np.isfinite(table["slowdown"]).any()
