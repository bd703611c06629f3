"""A plan judges SLOs with the requests not started by the end counted against them:
queued for good is neither a fast start nor a served request (simdc.metrics.slo_bounds)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simdc
from simdc.config import validate
from simdc.metrics import slo_bounds
from simdc.planning import plan, with_hosts

REQUESTS, PER_HOST = 40, 4  # 1-core requests living past the end, on 4-core hosts


def queue_config(tmp_path):
    """REQUESTS 1-core containers, one a second, each living past the run's end, queued
    when no 4-core host has room: n hosts start min(4n, REQUESTS) of them, the rest wait
    to the end."""
    rows = [f"{k},{k},100000,1,1" for k in range(REQUESTS)]
    trace = tmp_path / "w.csv"
    trace.write_text("id,submit_s,duration_s,cpu_cores,memory_gib\n" + "\n".join(rows) + "\n")
    return validate({"simulation": {"duration_s": 600.0, "seed": 1, "platforms": ["container"]},
                     "host": {"cpu_cores": PER_HOST, "memory_gib": 16},
                     "placement": {"when_full": "queue"},
                     "platform": {"container": {"admission": "requests"}},
                     "workload": {"trace": str(trace)}})


def started_share(config, hosts: int) -> tuple[float, float]:
    """(placed over submitted, started over requests not turned away) at ``hosts``,
    counted from the instances table."""
    inst = simdc.simulate(with_hosts(config, hosts)).instances
    asked = inst["outcome"] != "rejected"
    return float(inst["admit_s"].notna().mean()), float(inst.loc[asked, "first_ready_s"].notna().mean())


@pytest.mark.parametrize("slo, share", [("start_p99_s<=120", 0.99), ("rejection_rate<=0.1", 0.9)])
def test_the_plan_starts_the_share_its_slo_names(tmp_path, slo, share):
    """One host starts 4 of 40 and the 36 others queue for good; the summary's start p99
    (over the 4) and rejection rate (0: none turned away) met both SLOs there. Now the
    answer is the fewest hosts starting the share: ceil(share × 40 / 4)."""
    config = queue_config(tmp_path)
    result = plan(config, [slo], max_hosts=16)
    needed = int(result.plan["hosts_needed"].iloc[0])
    assert needed == math.ceil(share * REQUESTS / PER_HOST)
    placed, started = started_share(config, needed)
    assert placed >= share and started >= share
    assert started_share(config, needed - 1)[1] < share


def test_the_summary_keeps_its_definitions(tmp_path):
    """The summary's columns are unchanged (results must not move): at 1 host the start
    quantiles cover the 4 that started, and nothing counts as rejected; the bounds say
    how far the rest could take them."""
    config = queue_config(tmp_path)
    results = simdc.simulate(config)
    row = results.summary.iloc[0]
    assert row["placed"] == PER_HOST and row["queued_at_end"] == REQUESTS - PER_HOST and row["rejection_rate"] == 0
    bounds = slo_bounds(results.instances, 600.0)
    assert bounds["rejection_rate"] == (0.0, (REQUESTS - PER_HOST) / REQUESTS)
    assert bounds["start_p99_s"][1] == math.inf
    assert bounds["start_p99_s"][0] >= 600 - REQUESTS  # the last queued waited at least from its submission


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0, 50), st.sampled_from(["started", "queued", "rejected"]),
                          st.floats(0, 1000)), min_size=1, max_size=60))
def test_the_bounds_hold_whatever_the_unstarted_do_next(requests):
    """For random runs: each request submitted at s, started after a wait w, queued to
    the end (100 s), or turned away; a queued one then starts at any time x after the end.
    The true start quantiles (numpy, over the not turned away) lie within the bounds, and
    the rejection rate, whether the queued give up or not, too."""
    duration = 100.0
    rows = []
    for submit, wait, fate, later in requests:
        ready = submit + wait if fate == "started" and submit + wait <= duration else np.nan
        outcome = {"started": "running_at_end", "queued": "queued_at_end", "rejected": "rejected"}[fate]
        if fate == "started" and np.isnan(ready):
            outcome = "queued_at_end"
        rows.append({"submit_s": submit, "first_ready_s": ready, "outcome": outcome, "later": later})
    inst = pd.DataFrame(rows)
    bounds = slo_bounds(inst, duration)
    asked = inst["outcome"] != "rejected"
    true_ready = inst["first_ready_s"].fillna(duration + inst["later"])
    latency = (true_ready - inst["submit_s"])[asked].to_numpy()
    for name, q in (("start_p50_s", 50), ("start_p95_s", 95), ("start_p99_s", 99)):
        low, high = bounds[name]
        if len(latency) == 0:
            assert np.isnan(low) and np.isnan(high)
            continue
        truth = float(np.percentile(latency, q))
        assert low - 1e-9 <= truth <= high + 1e-9
    n, rejected, queued = len(inst), (inst["outcome"] == "rejected").sum(), (inst["outcome"] == "queued_at_end").sum()
    assert bounds["rejection_rate"][0] == rejected / n and bounds["rejection_rate"][1] == (rejected + queued) / n


@pytest.mark.parametrize("metric, why", [
    ("batch_slowdown_p95", "no batch work"),
    ("requeue_mean_s", "no failures"),
    ("cache_hit_ratio", "no [[images]] has layers"),
])
def test_an_slo_the_config_cannot_produce_is_one_line_before_any_run(tmp_path, monkeypatch, metric, why):
    """fleet.toml has no batch work, no failures and no images: each of these metrics is
    NaN at every host count, and the search ran 22 counts up to 10,240 hosts. Now: one
    error line naming the SLO and why, exit 2, and no run at all."""
    from typer.testing import CliRunner

    import simdc.experiment
    from simdc.cli import app

    def no_run(*args, **kwargs):
        raise AssertionError("a run was started")

    monkeypatch.setattr(simdc.experiment, "simulate", no_run)
    fleet = Path(__file__).resolve().parent.parent / "configs" / "fleet.toml"
    # 1, not 1.5: a hit ratio <= 1.5 always holds, which is refused first (test_plan_slos)
    result = CliRunner().invoke(app, ["plan", str(fleet), "--slo", f"{metric}<=1"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --slo {metric}: ") and why in lines[0]


def test_a_trace_without_batch_work_is_refused_after_its_first_run(tmp_path):
    """A trace shows its kinds only once read: the first run's workload has no batch
    request, so a batch SLO is refused then, not searched to --max-hosts."""
    from simdc.errors import ConfigError

    with pytest.raises(ConfigError, match="no batch work"):
        plan(queue_config(tmp_path), ["batch_slowdown_p95<=2"], max_hosts=64)


def two_group_config(tmp_path, policy="first_fit"):
    """20 1-core requests one after another and 3 8-core ones at once, on a group
    'small' of 4-core hosts (scaled) and one 8-core host 'big': the big host holds one
    8-core request at a time, so 2 of 23 are rejected whatever the count of 'small'."""
    rows = [f"{k},{10 * k},5,1,1" for k in range(20)] + [f"{20 + k},{5 + k},100,8,1" for k in range(3)]
    trace = tmp_path / "w.csv"
    trace.write_text("id,submit_s,duration_s,cpu_cores,memory_gib\n" + "\n".join(rows) + "\n")
    return validate({"simulation": {"duration_s": 600.0, "seed": 1, "platforms": ["vm"]},
                     "cluster": {"hosts": [{"name": "small", "count": 1, "cpu_cores": 4, "memory_gib": 16},
                                           {"name": "big", "count": 1, "cpu_cores": 8, "memory_gib": 16}]},
                     "placement": {"policy": policy},
                     "platform": {"vm": {"overhead_mib": 0, "boot_s": 0}},
                     "workload": {"trace": str(trace)}})


def test_a_group_plan_names_the_requests_only_other_groups_hold_and_stops(tmp_path):
    """'rejection_rate<=0.05' against 2/23 rejected on 'big', which no count of 'small'
    changes: the plan climbed to --max-hosts and said nothing. Now, as 'small' served
    every other request, it stops at the first count and says why, with the shares."""
    result = plan(two_group_config(tmp_path), ["rejection_rate<=0.05"], group="small", max_hosts=64)
    row = result.plan.iloc[0]
    assert pd.isna(row["hosts_needed"])
    assert list(result.evaluations["hosts"]) == [1]
    assert f"{3 / 23:.2%} of requests fit only the groups left as they are, not 'small'" in row["reason"]
    assert f"rejection_rate >= {2 / 23:.4g} at any count of 'small'" in row["reason"]


def test_a_group_plan_notes_them_when_other_requests_spread_there_too(tmp_path):
    """With worst_fit the small requests go to the big host too (most free), so the
    stop's premise fails and the search runs on; the note still names the share."""
    result = plan(two_group_config(tmp_path, "worst_fit"), ["rejection_rate<=0.05"], group="small", max_hosts=4)
    row = result.plan.iloc[0]
    assert pd.isna(row["hosts_needed"]) and f"{3 / 23:.2%} of requests fit only" in row["reason"]
    assert list(result.evaluations["hosts"]) == [1, 2, 4]


def mginf_config(duration_s: float, lifetime_s: float = 2000.0):
    """Poisson arrivals (1 a second) of small containers with exponential lifetimes on
    hosts that never fill: an M/M/∞ system started empty."""
    return validate({"simulation": {"duration_s": duration_s, "seed": 3, "platforms": ["container"]},
                     "host": {"cpu_cores": 4096, "memory_gib": 16384},
                     "platform": {"container": {"admission": "requests"}},
                     "workload": {"synthetic": {"arrival_rate_per_s": 1.0, "lifetime_s": {"mean": lifetime_s},
                                                "sizes": [{"cpu_cores": 1, "memory_gib": 1, "weight": 1}]}}})


@pytest.mark.parametrize("multiple", [1.0, 8.0])
def test_the_residents_rise_is_the_mginf_one(multiple):
    """M/M/∞ from empty: N(T) = λL(1 − e^(−T/L)) and dN/dT = λe^(−T/L), so over the last
    tenth residents rise by (T/10L) e^(−T/L) / (1 − e^(−T/L)): 5.8 % at T = L (a note),
    0.03 % at T = 8L (none)."""
    from simdc.planning import STEADY_RISE, residents_rise, unsteady_notes

    lifetime = 2000.0
    duration = multiple * lifetime
    results = simdc.simulate(mginf_config(duration, lifetime))
    theory = duration / (10 * lifetime) * math.exp(-multiple) / (1 - math.exp(-multiple))
    rise = residents_rise(results, "container")
    assert rise == pytest.approx(theory, rel=0.3, abs=0.003)
    assert bool(unsteady_notes(results)) == (theory > STEADY_RISE)


def boot_config(tmp_path, rate_per_s: float = 0.2, memory_gib: int = 32):
    """Azure 2017 VMs (the default mix: up to 56 GiB) on 16-core hosts."""
    config = tmp_path / "c.toml"
    config.write_text('[simulation]\nduration_s = 3600\nplatforms = ["vm"]\n[host]\ncpu_cores = 16\n'
                      f'memory_gib = {memory_gib}\n'
                      f'[workload.synthetic]\narrival_rate_per_s = {rate_per_s}\n')
    return config


def test_an_slo_that_more_hosts_do_not_move_stops_the_search(tmp_path):
    """A VM's start p50 is its boot (median 30 s) once nothing queues: the search doubled
    to --max-hosts (128 × on fleet.toml, until memory ran out). Now it stops after two
    doublings that bring the SLO no closer, and says so."""
    result = plan(simdc.load_config(boot_config(tmp_path)), ["start_p50_s<=5"], max_hosts=1024)
    runs = result.evaluations
    assert runs["hosts"].max() < 1024 and pd.isna(result.plan["hosts_needed"].iloc[0])
    last = runs.tail(3)["start_p50_s"].to_numpy()
    assert np.all(last > 5) and last[2] >= last[1] >= last[0] - 1e-12  # no closer at either doubling
    assert "start_p50_s<=5 is not improving" in result.plan["reason"].iloc[0]


def runs_fit_up_to(hosts: int, monkeypatch) -> None:
    """simulate refuses, as the memory check does, any run of more than ``hosts`` hosts."""
    import simdc.experiment
    from simdc.budget import TooBigError

    real = simdc.experiment.simulate

    def small_only(config, **kwargs):
        if config.cluster.hosts[0].count > hosts:
            raise TooBigError("this run needs about 0.29 GiB of memory; SIMDC_AVAILABLE_BYTES allows 0.28 GiB")
        return real(config, **kwargs)

    monkeypatch.setattr(simdc.experiment, "simulate", small_only)


def test_a_plan_stopped_by_memory_prints_what_it_found_then_one_error(tmp_path, monkeypatch):
    """A run that would not fit in memory partway: the counts tried so far are printed,
    then the one error line, exit 2 (it printed no plan)."""
    from typer.testing import CliRunner

    from simdc.cli import app

    runs_fit_up_to(2, monkeypatch)
    result = CliRunner().invoke(app, ["plan", str(boot_config(tmp_path, 2.0, 128)), "--slo", "rejection_rate<=0"])
    assert result.exit_code == 2
    assert "what was found so far" in result.stderr and "> 2" in result.stdout
    assert "stopped after 2 hosts" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: this run needs about 0.29 GiB")


def test_the_memory_message_shows_the_digits_that_tell_need_from_allowance():
    """0.29 GiB needed against 0.28 allowed printed as 0.3 and 0.3."""
    from simdc.budget import _gib

    gib = 1024**3
    assert (_gib(0.29 * gib, 0.28 * gib), _gib(0.28 * gib, 0.29 * gib)) == ("0.29 GiB", "0.28 GiB")
    assert _gib(193.6 * gib) == "193.6 GiB" and _gib(2.0 * gib, 1.0 * gib) == "2.0 GiB"


def test_a_sweep_whose_largest_run_fits_nowhere_names_it_and_runs_hints(tmp_path, monkeypatch):
    """The sweep blamed --workers (not passed): "2 local workers need about 193.6 GiB ...
    not even one fits". Its largest point's run is the cause: the error is simdc run's
    (what it needs, what is allowed, what to lower) naming that point."""
    from typer.testing import CliRunner

    from simdc.cli import app

    monkeypatch.setenv("SIMDC_AVAILABLE_BYTES", str(400 * 2**20))
    result = CliRunner().invoke(app, ["sweep", str(boot_config(tmp_path)), "--grid",
                                      "workload.synthetic.arrival_rate_per_s=0.1,1000", "--out", str(tmp_path / "s")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: the point workload.synthetic.arrival_rate_per_s=1000: this run needs about")
    assert "lower workload.synthetic.arrival_rate_per_s or simulation.duration_s" in lines[0]
    assert "--workers" not in lines[0]


def test_too_many_default_workers_do_not_blame_a_flag_not_given():
    from simdc import sweeping
    from simdc.errors import SweepError

    gib = 2**30
    with pytest.raises(SweepError) as caught:
        sweeping.local_workers(None, 20, gib, available=int(1.5 * gib))
    assert not caught.value.cli_problems[0].startswith("--workers") and "give --workers" in caught.value.cli_problems[0]


SERVICE_ONLY = """[simulation]
duration_s = 600
platforms = ["vm", "container"]
[[cluster.hosts]]
cpu_cores = 32
memory_gib = 128
count = 2
"""


def test_a_config_of_services_alone_runs_without_a_workload(tmp_path):
    """Only [[services]] was refused ("workload: required key is missing"); now their
    replicas are the whole workload: 4 replicas, 4 instances placed per platform."""
    path = tmp_path / "svc.toml"
    path.write_text(SERVICE_ONLY + '[[services]]\nname = "web"\nreplicas = 4\ncpu_cores = 1\nmemory_gib = 2\n'
                    'demand = { cores = 2 }\n')
    results = simdc.simulate(simdc.load_config(path))
    assert list(results.summary["submitted"]) == [4, 4] and list(results.summary["placed"]) == [4, 4]


def test_a_config_with_neither_workload_nor_services_is_one_line():
    from simdc.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        validate({"simulation": {"duration_s": 60}, "host": {"cpu_cores": 4, "memory_gib": 8}, "workload": {}})
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith("workload: give workload.trace or a [workload.synthetic] table")
    with pytest.raises(ConfigError, match="workload: required key is missing"):
        validate({"simulation": {"duration_s": 60}, "host": {"cpu_cores": 4, "memory_gib": 8}})


@pytest.mark.parametrize("scale", [2.0, 1.3, 0.5])
def test_a_trace_scaled_has_the_replicas_its_scale_says(tmp_path, scale):
    """workload.scale = s: each of N instances floor(s) times plus once more with
    probability s − floor(s): N·floor(s) + Binomial(N, s − floor(s)) rows, within 4σ of
    N·s; each original's replicas share its submission and size, ids all distinct."""
    from simdc.model.workload import WorkloadSpec
    from simdc.workload import load_workload

    n = 2000
    rows = [f"{k},{k * 0.5},{100 + k % 7},{1 + k % 3},2" for k in range(n)]
    trace = tmp_path / "w.csv"
    trace.write_text("id,submit_s,duration_s,cpu_cores,memory_gib\n" + "\n".join(rows) + "\n")
    instances = load_workload(WorkloadSpec(trace=trace, scale=scale), 10_000.0, seed=5).instances
    whole, part = math.floor(scale), scale - math.floor(scale)
    sigma = math.sqrt(n * part * (1 - part))
    assert abs(len(instances) - n * scale) <= 4 * sigma + 1e-9
    assert instances["id"].is_unique
    original = instances["id"].astype(str).str.split("~").str[0].astype(int)
    per = original.value_counts()
    assert per.min() >= whole and per.max() <= whole + (part > 0)
    assert np.allclose(instances["submit_s"], original * 0.5)
    assert (instances["cpu_cores"].to_numpy() == 1 + original.to_numpy() % 3).all()


def test_scale_goes_with_a_trace():
    from simdc.errors import ConfigError

    with pytest.raises(ConfigError, match="scale goes with workload.trace"):
        validate({"simulation": {"duration_s": 60}, "host": {"cpu_cores": 4, "memory_gib": 8},
                  "workload": {"synthetic": {"arrival_rate_per_s": 1}, "scale": 2}})


def test_a_wait_pinned_at_max_wait_while_fewer_give_up_is_not_flat():
    """fleet.toml's containers: start p99 600.5, 600.4, 600.3 s at 1, 2, 4 hosts (the
    queue's max_wait_s) while the share turned away falls 46 %, 42 %, 33 %: more hosts
    do help, so the search goes on; with that share flat too, it stops."""
    from simdc.planning import UNSERVED, not_improving

    slo = [parse("start_p99_s<=120")]
    pinned = [(1, {"start_p99_s": 600.5, UNSERVED: 0.46}), (2, {"start_p99_s": 600.5, UNSERVED: 0.42}),
              (4, {"start_p99_s": 600.5, UNSERVED: 0.33})]
    assert not_improving(slo, pinned) == []
    flat = [(n, {**means, UNSERVED: 0.0}) for n, means in pinned]
    assert "start_p99_s<=120 is not improving" in not_improving(slo, flat)[0]
    # a fleet of several groups scaled as a whole: the counts are multiples of each group
    assert "600.5 at 4 × each group)" in not_improving(slo, flat, "× each group")[0]


def parse(text):
    from simdc.planning import parse_slo

    return parse_slo(text)


@pytest.mark.parametrize("scale", [3.0, 0.5])
def test_a_scaled_trace_notes_its_scale_and_counts_censored_replicas(scale):
    """Bitbrains scaled 3×: the note said 19 censored instances run on, of 57 in the
    workload, and nothing said the trace was scaled. Both now count the workload's rows:
    the censored originals' replicas, computed here from the unscaled read."""
    import re

    from simdc.model.workload import WorkloadSpec
    from simdc.workload import load_workload
    from simdc.workload.readers import read_trace
    from tests.workload.traces import sample

    trace, horizon = sample("bitbrains_rnd/2013-7"), 2_592_000.0
    raw = read_trace([str(trace)], "bitbrains").instances
    early = set(raw.loc[raw["censored"].astype(bool) & (raw["submit_s"] + raw["duration_s"] <= horizon),
                        "id"].astype(str))
    workload = load_workload(WorkloadSpec(trace=trace, format="bitbrains", scale=scale), horizon, seed=3)
    origin = workload.instances["id"].astype(str).str.split("~").str[0]
    said = [n for n in workload.notes if "run on to the end" in n]
    assert len(said) == 1 and int(re.match(r"([\d,]+) instances", said[0]).group(1).replace(",", "")) \
        == int(origin.isin(early).sum())
    scaled = [n for n in workload.notes if n.startswith("scale:")]
    assert scaled == [f"scale: {len(workload.instances):,} instances from the trace's {len(raw):,} (each "
                      f"replicated {scale:g} times on average; replicas arrive with their original)"]


def test_a_plan_stopped_by_memory_writes_what_it_found_to_out(tmp_path, monkeypatch):
    """With --out, a plan stopped by memory writes the evaluations it made (the counts
    tried, 1 and 2 hosts here) and its plan rows saying where it stopped, then exits 2 on
    the error: it wrote nothing, losing the runs made."""
    import pandas as pd
    from typer.testing import CliRunner

    from simdc.cli import app

    runs_fit_up_to(2, monkeypatch)
    out = tmp_path / "plan"
    result = CliRunner().invoke(app, ["plan", str(boot_config(tmp_path, 2.0, 128)), "--slo", "rejection_rate<=0",
                                      "--set", 'simulation.platforms=["vm", "container"]', "--out", str(out)])
    assert result.exit_code == 2
    evaluations = pd.read_csv(out / "evaluations.csv")
    assert sorted(set(evaluations["hosts"])) == [1, 2] and set(evaluations["platform"]) == {"vm"}
    plan_rows = pd.read_csv(out / "plan.csv").set_index("platform")
    # every platform has its row: the one cut short, and the one never searched (it was absent)
    assert list(plan_rows.index) == ["vm", "container"] and plan_rows["hosts_needed"].isna().all()
    assert plan_rows.loc["vm", "reason"].startswith("stopped after 2 hosts")
    assert plan_rows.loc["container", "reason"] == "not searched: the plan stopped on memory while searching vm"
    table = result.stdout[result.stdout.index("container"):].splitlines()[0]
    assert "not searched" in table and ">" not in table  # not "> 1024": it was never tried
    assert result.stderr.strip().splitlines()[-1].startswith("error: this run needs about 0.29 GiB")


def test_a_fleet_of_cells_says_when_it_is_not_in_steady_state(tmp_path):
    """configs/cells.toml's fleet still fills at 6 h; the cells path never said so (its
    own copy as one fleet did). Its notes are the caveat's, over the whole fleet's tables,
    on the command line and in the results."""
    from pathlib import Path

    from simdc.planning import unsteady_notes
    from simdc.results import load_results

    config = simdc.load_config(Path(__file__).parents[1] / "configs" / "cells.toml")
    results = simdc.simulate(config)
    assert results.manifest["notes"] and results.manifest["notes"] == unsteady_notes(results)
    assert all("not in steady state" in note for note in results.manifest["notes"])
    from typer.testing import CliRunner

    from simdc.cli import app

    run = CliRunner().invoke(app, ["run", str(Path(__file__).parents[1] / "configs" / "cells.toml"), "--out",
                                   str(tmp_path / "out")])
    assert run.exit_code == 0, run.output
    assert [line for line in run.stderr.splitlines() if line.startswith("note: ")] == [
        f"note: {note}" for note in results.manifest["notes"]]
    assert load_results(tmp_path / "out").manifest["notes"] == results.manifest["notes"]
