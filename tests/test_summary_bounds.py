"""Figures stay within what they mean, and a trace's usage beyond any host is said: found
by new users' trials (availability 1.0000000000000002, slowdown 0.999999999999995, a trace
using 20 cores on hosts of 8 reported as 0 % unmet without a word)."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_shares_and_slowdowns_stay_within_what_they_mean():
    """Availability is at most 1 (autoscale gave 1.0000000000000002, the sums taken in
    another order); a batch instance that ran at full speed has slowdown 1, not
    0.999999999999995 (the rounding of end − start), and none is below 1."""
    import simdc

    auto = simdc.simulate(Path(__file__).parents[1] / "configs" / "autoscale.toml")
    assert (auto.summary["service_availability"] <= 1.0).all()
    contention = simdc.simulate(Path(__file__).parents[1] / "configs" / "contention.toml")
    slowdown = contention.instances["slowdown"].dropna()
    assert len(slowdown) and (slowdown >= 1.0).all()
    assert (contention.summary["batch_slowdown_p50"] >= 1.0).all()


def test_a_trace_using_more_cpu_than_any_host_has_is_warned_about(tmp_path):
    """One instance asks 4 cores and uses 20 on hosts of 8: its demand is held to the
    host's 8 cores (the usage cap), which the run now says in a warning (it said
    nothing: 'CPU demand unmet 0 %'); an instance using 6 gets no warning."""
    import simdc
    from simdc.config import validate

    def run(used: float):
        trace = tmp_path / f"u{used:g}.csv"
        trace.write_text(f"id,submit_s,duration_s,cpu_cores,memory_gib,cpu_used\na,0,3000,4,8,{used:g}\n")
        return simdc.simulate(validate({"simulation": {"duration_s": 3600, "platforms": ["container"]},
                                        "host": {"cpu_cores": 8, "memory_gib": 32},
                                        "workload": {"trace": str(trace)}}))

    over = run(20.0)
    assert [line for line in over.manifest["warnings"] if "more CPU" in line] == [
        "workload: 1 of 1 instances use more CPU in the trace than the largest host has cores (up to 20 against "
        "8): their demand is held to the host's cores, and the CPU they used above that counts neither as demand "
        "nor as unmet"]
    assert over.instances["cpu_demand_core_s"].iloc[0] == pytest.approx(8 * 3000)
    assert not [line for line in run(6.0).manifest["warnings"] if "more CPU" in line]


def test_results_compare_as_objects_and_print_in_a_line():
    """``results == results`` raised 'The truth value of a DataFrame is ambiguous' (the
    dataclass compared its tables), and the repr printed every table (8.6 kB)."""
    import simdc

    config = Path(__file__).parents[1] / "configs" / "host64g.toml"
    run = simdc.simulate(simdc.load_config(config, overrides={"simulation.duration_s": 3600}))
    assert run == run and run != simdc.simulate(simdc.load_config(config, overrides={"simulation.duration_s": 3600}))
    text = repr(run)
    assert "\n" not in text and len(text) < 200
    assert f"instances={len(run.instances):,} rows" in text


def test_progress_reaches_the_runs_end_on_every_platform():
    """A progress bar fed by simulate's callback stopped at the last sample before the end
    (21,540 of 21,600 s): the callback's last call for each platform is now the end."""
    import simdc

    config = simdc.load_config(Path(__file__).parents[1] / "configs" / "host64g.toml",
                               overrides={"simulation.duration_s": 3570})  # samples every 60 s: the last at 3,540
    seen: dict[str, float] = {}
    simdc.simulate(config, progress=lambda platform, t_s, duration_s: seen.__setitem__(platform, t_s))
    assert seen == {"vm": 3570.0, "container": 3570.0}
