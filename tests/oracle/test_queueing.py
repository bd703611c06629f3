"""With ``when_full = "queue"`` requests wait in FIFO order: M/M/c and Little's law."""

import numpy as np
import pytest

import simdc
from tests.oracle.scenarios import single_host
from tests.oracle.theory import batch_means, erlang_c, erlang_c_wait, poisson_tail, within

ARRIVALS = 120_000


@pytest.mark.parametrize("slots, load", [(2, 1.0), (5, 4.0), (10, 8.0)])
def test_queue_wait_matches_erlang_c(slots, load):
    """M/M/c (μ = 1): P(wait > 0) = C(c, A) and mean wait Wq = C / (cμ − λ) (CALIBRATION.md:
    C(2,1) = 1/3, C(5,4) = 0.554113, C(10,8) = 0.409180 with Wq = 0.204590)."""
    config = single_host(slots=slots, arrival_rate_per_s=load, lifetime_s={"mean": 1.0},
                         arrivals=ARRIVALS, when_full="queue")
    inst = simdc.simulate(config).instances
    done = inst[inst["admit_s"].notna()]
    times = done["submit_s"].to_numpy()
    waited, se_p = batch_means(times, (done["queue_s"] > 0).to_numpy())
    wait, se_w = batch_means(times, done["queue_s"].to_numpy())
    assert within(waited, se_p, erlang_c(slots, load)), (waited, se_p, erlang_c(slots, load))
    assert within(wait, se_w, erlang_c_wait(slots, load, 1.0)), (wait, se_w, erlang_c_wait(slots, load, 1.0))


def test_no_admission_limit_is_m_m_infinity():
    """A host too big to fill: instances alive ~ Poisson(A). P(N > 10) = 0.416960 and
    P(N > 15) = 0.048740 for A = 10 (CALIBRATION.md), read off the sampled timeseries."""
    config = single_host(slots=10_000, arrival_rate_per_s=10.0, lifetime_s={"mean": 1.0},
                         arrivals=ARRIVALS, sample_every_s=0.25)
    results = simdc.simulate(config)
    series = results.timeseries[results.timeseries["t_s"] >= 10]  # past the empty start
    n = series["resident"].to_numpy()
    t = series["t_s"].to_numpy()
    for c in (10, 15):
        share, se = batch_means(t, n > c)
        assert within(share, se, poisson_tail(10.0, c)), (c, share, se)
    mean, se = batch_means(t, n)
    assert within(mean, se, 10.0)


def test_littles_law_links_density_arrivals_and_time_on_host():
    """L = λW for the instances on the host, in a queueing host with lognormal lifetimes and
    a lognormal boot: L from the engine's own time integral, λ and W from the instance table."""
    config = single_host(slots=8, arrival_rate_per_s=6.0, lifetime_s={"median": 0.8, "p95": 3.0},
                         boot_s={"median": 0.2, "p95": 0.5}, arrivals=60_000, when_full="queue")
    results = simdc.simulate(config)
    duration = config.simulation.duration_s
    inst = results.instances
    placed = inst[inst["admit_s"].notna()]
    stay = placed["end_s"].fillna(duration).clip(upper=duration) - placed["admit_s"]
    lam = len(placed) / duration
    L = results.hosts["resident_s"].iloc[0] / duration
    assert L == pytest.approx(lam * stay.mean(), rel=1e-9)
    # And the system is the one we think it is: its arrival rate is the configured one.
    assert lam == pytest.approx(6.0, rel=0.02)


def test_max_wait_turns_waiting_into_rejection_after_exactly_that_long():
    """Requests that wait max_wait_s are rejected at submit + max_wait_s; none waits longer."""
    config = single_host(slots=4, arrival_rate_per_s=6.0, lifetime_s={"mean": 1.0},
                         arrivals=20_000, when_full="queue").with_overrides({"placement.max_wait_s": 0.5})
    inst = simdc.simulate(config).instances
    gave_up = inst[(inst["outcome"] == "rejected")]
    assert len(gave_up) > 0
    assert np.allclose(gave_up["end_s"] - gave_up["submit_s"], 0.5)
    assert (inst["queue_s"] <= 0.5 + 1e-9).all()
