"""The run covers [0, ``simulation.duration_s``]: an instance whose end falls exactly at
the horizon completes there (``end_s == duration_s``), and nothing begins at it (an
arrival, an admission from the queue, a child its parent released then): those fall
outside the run, as the trace readers drop an arrival at ``submit_s == duration_s``.

This is the usual discrete-event convention, and the one every instant before the
horizon already has: at one moment ends come first, then arrivals and patience
expiries. Before, an end at exactly the horizon never ran: the instance ended
``running_at_end`` (run_s == requested_s, end_s NaN), and a child in a workflow waiting
for it ended ``blocked`` as if its parent had not completed. Traces on a 300 s grid
with a run length a multiple of it meet this tie.

Expected outcomes are worked out here from the input: on one 1-core host and containers
that start at once, a 1-core instance submitted at t to an idle host runs
[t, t + duration); the next 1-core one starts when it ends.
"""

from __future__ import annotations

import heapq
import math

import pandas as pd
import pytest
import simpy
from simpy.core import NORMAL, URGENT

import simdc
from simdc.config import validate
from simdc.engine import run_platform
from simdc.engine.simulation import run_events
from simdc.workload import load_workload

LANES = ("general", "fast")


def config(tmp_path, rows, duration_s, max_wait_s=100.0, cores=1):
    path = tmp_path / "trace.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return validate({
        "simulation": {"duration_s": duration_s, "seed": 1, "platforms": ["container"], "sample_every_s": 1},
        "host": {"cpu_cores": cores, "memory_gib": 100},
        "placement": {"when_full": "queue", "max_wait_s": max_wait_s},
        "platform": {"container": {"overhead_mib": 0, "start_s": 0, "admission": "requests"},
                     "vm": {"overhead_mib": 0, "boot_s": 0, "sizing": "as_given"}},
        "workload": {"trace": str(path)},
    })


def instances(cfg, lane="auto", platform="container") -> pd.DataFrame:
    """The instance table of ``cfg``'s run of ``platform`` on ``lane``, indexed by id."""
    sim = cfg.simulation
    workload = load_workload(cfg.workload, sim.duration_s, sim.seed)
    run = run_platform(platform, cfg.platform[platform], cfg.fleet, workload.instances, duration_s=sim.duration_s,
                       sample_every_s=sim.sample_every_s, seed=sim.seed, usage=workload.usage,
                       placement=cfg.placement, lane=lane)
    return run.instances.set_index("id")


def row(id, submit_s, duration_s, **more):
    return {"id": id, "submit_s": submit_s, "duration_s": duration_s, "cpu_cores": 1, "memory_gib": 1, **more}


@pytest.mark.parametrize("platform", ["container", "vm"])
@pytest.mark.parametrize("lane", LANES)
def test_an_end_exactly_at_the_horizon_completes_and_frees_nothing_for_the_queue(tmp_path, lane, platform):
    # A holds the only core over [0, 50]; B and C wait. At 50 A ends: inside the run.
    # B would be admitted at 50, which is outside it, so B and C are still waiting.
    rows = [row("A", 0, 50), row("B", 10, 100), row("C", 40, 100)]
    table = instances(config(tmp_path, rows, duration_s=50), lane, platform)

    a = table.loc["A"]
    assert a["outcome"] == "completed"
    assert a["end_s"] == 50.0 and a["run_s"] == 50.0
    assert list(table.loc[["B", "C"], "outcome"]) == ["queued_at_end", "queued_at_end"]
    assert table.loc[["B", "C"], "admit_s"].isna().all()
    assert list(table.loc[["B", "C"], "queue_s"]) == [50.0 - 10.0, 50.0 - 40.0]


@pytest.mark.parametrize("lane", LANES)
def test_a_second_more_lets_the_queue_head_start_at_the_end(tmp_path, lane):
    rows = [row("A", 0, 50), row("B", 10, 100), row("C", 40, 100)]
    table = instances(config(tmp_path, rows, duration_s=51), lane)

    assert table.loc["A", "outcome"] == "completed" and table.loc["A", "end_s"] == 50.0
    assert table.loc["B", "outcome"] == "running_at_end" and table.loc["B", "admit_s"] == 50.0
    assert table.loc["C", "outcome"] == "queued_at_end"


@pytest.mark.parametrize("lane", LANES)
def test_two_ends_at_the_horizon_both_complete(tmp_path, lane):
    # two cores: A over [0, 50] and B over [20, 50] hold them; C waits from 30
    rows = [row("A", 0, 50), row("B", 20, 30), row("C", 30, 100)]
    table = instances(config(tmp_path, rows, duration_s=50, cores=2), lane)

    assert list(table.loc[["A", "B"], "outcome"]) == ["completed", "completed"]
    assert list(table.loc[["A", "B"], "end_s"]) == [50.0, 50.0]
    assert table.loc["C", "outcome"] == "queued_at_end"


@pytest.mark.parametrize("lane", LANES)
def test_an_arrival_at_the_horizon_is_outside_the_run_as_an_end_there_is_inside(tmp_path, lane):
    rows = [row("A", 0, 50), row("D", 50, 10)]
    table = instances(config(tmp_path, rows, duration_s=50), lane)

    assert list(table.index) == ["A"]  # the reader does not submit D (submit_s == duration_s)
    assert table.loc["A", "outcome"] == "completed"


def test_batch_work_done_exactly_at_the_horizon_completes(tmp_path):
    # alone on its core, 50 core-seconds of work at full speed take 50 s
    table = instances(config(tmp_path, [row("A", 0, 50, kind="batch")], duration_s=50))

    assert table.loc["A", "outcome"] == "completed"
    assert table.loc["A", "end_s"] == 50.0


def test_a_patience_running_out_at_the_horizon_is_outside_the_run(tmp_path):
    # B waits from 10 with 40 s of patience: it would give up at 50, the horizon
    rows = [row("A", 0, 100), row("B", 10, 100)]
    table = instances(config(tmp_path, rows, duration_s=50, max_wait_s=40))

    assert table.loc["B", "outcome"] == "queued_at_end"
    assert math.isnan(table.loc["B", "end_s"])


def workflow(tmp_path, parent_s, duration_s):
    rows = [row("A", 0, parent_s, parents=""), row("B", 10, 5, parents="A")]
    results = simdc.simulate(config(tmp_path, rows, duration_s=duration_s))
    return results.instances.set_index("id")


def test_a_child_of_a_parent_ending_at_the_horizon_is_never_submitted(tmp_path):
    table = workflow(tmp_path, parent_s=50, duration_s=50)

    assert table.loc["A", "outcome"] == "completed" and table.loc["A", "end_s"] == 50.0
    # B's submission would be at 50, the horizon: outside the run, as an arrival there is
    assert table.loc["B", "outcome"] == "blocked"
    assert math.isnan(table.loc["B", "submit_s"])


def test_a_child_of_a_parent_ending_inside_the_run_is_submitted_then(tmp_path):
    table = workflow(tmp_path, parent_s=50, duration_s=60)

    assert table.loc["A", "end_s"] == 50.0
    assert table.loc["B", "submit_s"] == 50.0 and table.loc["B", "outcome"] == "completed"
    assert table.loc["B", "end_s"] == 50.0 + 5.0


def test_every_end_at_the_horizon_runs_whatever_else_falls_there():
    """``run_events`` directly: at the horizon the ends run in the heap's order, and a
    timer of another kind there (a repair's end, URGENT too, between two ends) neither
    runs nor stops the ends after it; it stays on the heap."""
    ran = []

    def end(t, value):
        ran.append(("end", t, value))

    def other(t, value):
        ran.append(("other", t, value))

    env = simpy.Environment()
    heap = [(10.0, URGENT, 1, end, "a"), (50.0, URGENT, 2, end, "b"), (50.0, URGENT, 3, other, "repair"),
            (50.0, URGENT, 4, end, "c"), (50.0, NORMAL, 5, other, "arrival"), (60.0, URGENT, 6, end, "d")]
    heapq.heapify(heap)

    run_events(env, heap, 50.0, ends=(end,))

    assert ran == [("end", 10.0, "a"), ("end", 50.0, "b"), ("end", 50.0, "c")]
    assert sorted(value for *_, value in heap) == ["arrival", "d", "repair"]
    assert env.now == 50.0
