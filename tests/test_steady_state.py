"""The 'not in steady state' note (simdc.planning.residents_rise, unsteady_notes): it says
the residents still rise because lifetimes are long against a run that started from an
empty fleet. It must hold when it fires: not on the sampling noise of a stationary
workload of short lifetimes, not on a fleet held full by its capacity, and still on a
fleet of lifetimes longer than the run."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import simdc
from simdc.cli import app
from simdc.config import validate
from simdc.planning import STEADY_RISE, residents_rise, unsteady_notes

DURATION_S = 300_000.0


def poisson_trace(path, seed: int, rate_per_s: float, lifetime_s: float, n: int) -> str:
    """``n`` 1-core requests, Poisson arrivals at ``rate_per_s`` and exponential lifetimes
    of mean ``lifetime_s`` (a stationary M/M/· workload), as a simdc CSV trace."""
    rng = np.random.default_rng(seed)
    pd.DataFrame({"id": [f"i{k}" for k in range(n)], "submit_s": np.cumsum(rng.exponential(1 / rate_per_s, n)),
                  "duration_s": rng.exponential(lifetime_s, n), "cpu_cores": 1,
                  "memory_gib": 1.0}).to_csv(path, index=False)
    return str(path)


def trace_config(trace: str, cpu_cores: int, duration_s: float = DURATION_S, when_full: str = "queue"):
    return validate({"simulation": {"duration_s": duration_s, "seed": 1, "platforms": ["container"],
                                    "sample_every_s": 60},
                     "host": {"cpu_cores": cpu_cores, "memory_gib": max(cpu_cores, 1000)},
                     "placement": {"when_full": when_full},
                     "platform": {"container": {"overhead_mib": 0, "start_s": 0, "admission": "requests"}},
                     "workload": {"trace": trace}})


@pytest.mark.parametrize("cpu_cores", [10, 1000])  # M/M/10 at 80 % (queueing), and M/M/∞
def test_a_stationary_workload_of_short_lifetimes_gets_no_note_on_any_seed(cpu_cores, tmp_path):
    """Poisson arrivals (0.08 a second) of 100-s lifetimes over 300,000 s: the fleet is
    steady within minutes of the start (the M/G/∞ residents from empty, λ ∫₀ᵗ S(u) du,
    are within e⁻³⁰⁰⁰ of their limit after 0.9 T), so the expected rise over the last
    tenth is 0. The note fired on 6 of these 16 runs (seeds 21, 24 and 25 of each, 'rise
    about 3 % to 8 %'), on the noise of the tenth-means (the residents' mean over the
    last tenth against the tenth before differs by ~4 % (one standard deviation) here)."""
    fired = []
    for seed in range(21, 29):
        trace = poisson_trace(tmp_path / f"s{seed}.csv", seed, 0.08, 100.0, 30_000)
        results = simdc.simulate(trace_config(trace, cpu_cores))
        if unsteady_notes(results):
            fired.append((seed, residents_rise(results, "container")))
    assert not fired


def syn_config(duration_s: float, lifetime_s: float, cpu_cores: int, when_full: str = "reject"):
    """1-core containers arriving 0.0005 a second (43 a day), lifetimes exponential of
    mean ``lifetime_s``, on one host of ``cpu_cores`` cores."""
    return validate({"simulation": {"duration_s": duration_s, "seed": 1, "platforms": ["container"],
                                    "sample_every_s": 600},
                     "host": {"cpu_cores": cpu_cores, "memory_gib": max(cpu_cores, 1000)},
                     "placement": {"when_full": when_full},
                     "platform": {"container": {"overhead_mib": 0, "start_s": 0, "admission": "requests"}},
                     "workload": {"synthetic": {"arrival_rate_per_s": 0.0005, "lifetime_s": {"mean": lifetime_s},
                                                "sizes": [{"cpu_cores": 1, "memory_gib": 1, "weight": 1}]}}})


@pytest.mark.parametrize("when_full", ["reject", "queue"])
def test_a_fleet_held_full_by_its_capacity_is_not_said_to_fill_from_lifetimes(when_full):
    """10 one-core slots against an offered load of 43 (lifetimes of a day, a day's run):
    the host is full over the whole last tenth and turns arrivals away, so the residents
    cannot rise whatever the lifetimes. The note said 'residents still rise about 14 %
    (lifetimes longer than the run, started from an empty fleet)': the M/G/∞ estimate
    ignored the capacity. The residents' own counts are no proof of a rise either: the
    reject run's mean went from 8.6 to 9.4 between the last two tenths as departures
    were refilled, the host turning the next 5 arrivals away."""
    results = simdc.simulate(syn_config(86_400.0, 86_400.0, 10, when_full))
    # on a fleet that never fills, λ L (1 − e⁻¹) = 27 residents at the end: 10 slots hold 10
    series = results.timeseries
    last = series[series["t_s"] >= 0.9 * 86_400.0]["resident"]
    assert last.max() == 10 and last.iloc[-1] == 10  # the fleet is full at the end
    inst = results.instances
    late = inst[inst["submit_s"] > 0.9 * 86_400.0]
    assert late["admit_s"].isna().sum() >= 5  # and turns the last tenth's arrivals away (or keeps them waiting)
    assert not any("lifetimes" in note for note in unsteady_notes(results))
    assert residents_rise(results, "container") <= STEADY_RISE


def mginf_rise(multiple: float) -> float:
    """M/M/∞ from empty (Eick, Massey & Whitt 1993, Theorem 1: E N(t) = λ ∫₀ᵗ S(u) du,
    S(u) = e^(−u/L)): the rise over the last tenth of a run of T = multiple·L, as a share
    of the residents at T: (e^(−0.9 T/L) − e^(−T/L)) / (1 − e^(−T/L))."""
    return (math.exp(-0.9 * multiple) - math.exp(-multiple)) / (1 - math.exp(-multiple))


def test_lifetimes_much_longer_than_the_run_still_get_the_note(tmp_path):
    """Lifetimes ten times the run, on hosts that never fill: the residents rise ~9.5 %
    over the last tenth from an empty start, a trace's as a synthetic workload's, and
    the note says so, with its cause."""
    theory = mginf_rise(0.1)
    trace = poisson_trace(tmp_path / "long.csv", 5, 0.08, 10 * 30_000.0, 3_000)
    for config in (trace_config(trace, 4000, duration_s=30_000.0),
                   syn_config(2_000_000.0, 20_000_000.0, 4000)):
        results = simdc.simulate(config)
        rise = residents_rise(results, "container")
        assert rise == pytest.approx(theory, rel=0.15)
        notes = unsteady_notes(results)
        assert len(notes) == 1 and f"rise about {rise:.0%}" in notes[0]
        assert "started from an empty fleet" in notes[0]


@pytest.mark.parametrize("lifetime_s, cpu_cores, duration_s, noted", [
    (100.0, 10, DURATION_S, False),  # the user's M/M/10 queue, seed 25: 'rise about 8 %' on run and on plan
    (300_000.0, 4000, 30_000.0, True),  # lifetimes ten times the run, on a host that never fills
])
def test_run_and_plan_say_so_only_of_a_fleet_filling_up(lifetime_s, cpu_cores, duration_s, noted, tmp_path):
    """`simdc run` prints the note and `simdc plan` repeats it ('the answer is of a fleet
    filling up') of lifetimes ten times the run, and neither of a steady queue of 100-s
    lifetimes over 83 h."""
    trace = poisson_trace(tmp_path / "t.csv", 25, 0.08, lifetime_s, 30_000)
    config = tmp_path / "c.toml"
    config.write_text(f'[simulation]\nduration_s = {duration_s}\nplatforms = ["container"]\nsample_every_s = 60\n'
                      f'[host]\ncpu_cores = {cpu_cores}\nmemory_gib = {max(cpu_cores, 1000)}\n'
                      f'[placement]\nwhen_full = "queue"\n'
                      f'[platform.container]\nadmission = "requests"\n[workload]\ntrace = "{trace}"\n')
    run = CliRunner().invoke(app, ["run", str(config), "--out", str(tmp_path / "r")])
    assert run.exit_code == 0, run.output
    assert ("not in steady state" in run.stderr) == noted, run.stderr
    planned = CliRunner().invoke(app, ["plan", str(config), "--slo", "rejection_rate<=0.01", "--max-hosts", "1"])
    assert planned.exit_code == 0, planned.output
    assert ("a fleet filling up" in planned.stderr) == noted, planned.stderr


def test_the_lifetimes_rise_is_the_mginf_one_without_the_arrivals_noise():
    """filling_rise against E N(t) = λ ∫₀ᵗ S(u) du (Eick, Massey & Whitt 1993), for
    exponential lifetimes of mean L over T = L: the rise over the last tenth is
    (e^(−0.9) − e^(−1)) / (1 − e^(−1)) of λ L (1 − e^(−1)); lifetimes all shorter than
    0.9 T give exactly none, however the arrivals fell; a request at 0 s is there until
    its lifetime ends."""
    from simdc.planning import filling_rise

    rng = np.random.default_rng(7)
    lifetimes = rng.exponential(1000.0, 200_000)
    submit = np.sort(rng.uniform(1.0, 1000.0, 200_000))  # λ = 200 a second
    held, rise = filling_rise(submit, lifetimes, 1000.0)
    assert held == pytest.approx(200 * 1000.0 * (1 - math.exp(-1)), rel=0.01)
    assert rise / held == pytest.approx(mginf_rise(1.0), rel=0.02)
    assert filling_rise(submit, np.minimum(lifetimes, 899.0), 1000.0)[1] == 0.0
    assert filling_rise([0.0, 0.0, 5.0], [950.0, 2000.0, 10.0], 1000.0) == pytest.approx((1.0 + 10.0 / 1000.0, -1.0))


def test_a_trace_whose_arrivals_stopped_is_not_said_to_rise(tmp_path):
    """Lifetimes of 10 h in a 4-h run, but the arrivals stop at 2 h: the residents are
    flat over the last two tenths (none ends within the run), so no note, though the
    lifetimes alone, as if the arrivals went on, would rise 10 %."""
    from simdc.planning import filling_rise

    trace = tmp_path / "stop.csv"
    trace.write_text("id,submit_s,duration_s,cpu_cores,memory_gib\n"
                     + "".join(f"{k},{30 * k + 1},36000,1,1\n" for k in range(240)))
    results = simdc.simulate(trace_config(str(trace), 1000, duration_s=14_400.0))
    assert filling_rise(*[results.workload[c] for c in ("submit_s", "duration_s")], 14_400.0)[1] > 0
    assert residents_rise(results, "container") == 0.0 and not unsteady_notes(results)
