"""The workflow columns of the summary (jobs with dependencies), checked against values
computed here by hand from the input.

On one host with a fixed container start of s seconds (``platform.container.start_s``),
a task submitted at t on room to spare is ready at t + s and ends at t + s + d; a task
that waits in the queue for room is admitted when the instance holding it ends. From
those times alone follow each job's makespan (first submission to last end), its
critical path (back from its last-ending task through each task's last-ending parent)
and the rejection rate (rejected over the requests that reached the platform).
"""

from __future__ import annotations

import pandas as pd
import pytest

import simdc
from simdc.config import validate
from simdc.errors import ConfigError
from simdc.metrics import job_structure, slo_bounds, value_range, workflow_metrics
from simdc.planning import parse_slo

START_S = 2.0  # the containers' fixed start


def run(tmp_path, rows, duration_s=1000.0, cpu_cores=4.0, **placement):
    """The own-format workload ``rows`` (dicts) on one host of ``cpu_cores``, containers only."""
    path = tmp_path / "w.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return simdc.simulate(validate({
        "simulation": {"duration_s": duration_s, "seed": 1, "platforms": ["container"],
                       "sample_every_s": duration_s / 4},
        "cluster": {"hosts": [{"cpu_cores": cpu_cores, "memory_gib": 64, "count": 1}]},
        "platform": {"container": {"start_s": START_S}},
        "placement": {"policy": "first_fit", **placement},
        "workload": {"trace": str(path)},
    }))


def task(id, submit_s, duration_s, cpu_cores, job="", parents=""):
    return {"id": id, "submit_s": submit_s, "duration_s": duration_s, "cpu_cores": cpu_cores, "memory_gib": 1.0,
            "job": job, "parents": parents, "kind": "batch"}


def test_the_critical_path_stops_at_a_parent_of_another_job(tmp_path):
    """The trial's case: X (0 s, 300 s, 4 cores) fills the host; k1 (job K, 10 s, 100 s, 4
    cores) waits for it; j1 (job J, 10 s, 1 core) waits for k1. X ready at s, ends at
    s + 300; k1 admitted then, ready at 2 s + 300, ends at 2 s + 400; j1 submitted then,
    ready s later, ends 10 s after. Job K (k1 alone): makespan 2 s + 390 from 10, start
    wait 2 s + 290. Job J: makespan s + 10, start wait s: its path stops at k1, of job K
    (k1's wait is K's, and J's makespan starts after it). The share is the mean of the two,
    each in [0, 1] (before: J's took k1's 292 s over its 12 s, 2467 %)."""
    s = START_S
    rows = [task("X", 0, 300, 4, "X"), task("k1", 10, 100, 4, "K"), task("j1", 0, 10, 1, "J", "k1")]
    results = run(tmp_path, rows, when_full="queue")
    row = results.summary.iloc[0]
    k_share = (2 * s + 290) / (2 * s + 390)
    j_share = s / (s + 10)
    assert (row["jobs"], row["jobs_completed"]) == (2, 2)
    assert row["makespan_mean_s"] == pytest.approx(((2 * s + 390) + (s + 10)) / 2)
    assert row["critical_start_share"] == pytest.approx((k_share + j_share) / 2)


def test_a_tie_between_parents_follows_the_job_own_parent():
    """Tables alone. j2 (job J) waits for k (job K) and a (job J), both ending at 100: the
    path goes on through a, J's own (a's wait 5 s, j2's 3 s over J's makespan 0 to 200);
    job K (k alone, its child in J) waits 40 s of its 100."""
    requests = pd.DataFrame({"id": ["k", "a", "j2"], "job": ["K", "J", "J"], "parents": ["", "", "k a"]})
    inst = pd.DataFrame({"submit_s": [0.0, 0.0, 100.0], "first_ready_s": [40.0, 5.0, 103.0],
                         "end_s": [100.0, 100.0, 200.0], "outcome": ["completed"] * 3})
    got = workflow_metrics(inst, *job_structure(requests))
    assert (got["jobs"], got["jobs_completed"]) == (2, 2)
    assert got["critical_start_share"] == pytest.approx(((5 + 3) / 200 + 40 / 100) / 2)


def test_critical_start_share_is_a_share_to_a_plan():
    """A share cannot be 2: an SLO of <= 2 always holds, and is refused as rejection_rate's is."""
    assert value_range("critical_start_share") == (0.0, 1.0)
    with pytest.raises(ConfigError, match="critical_start_share is a share"):
        parse_slo("critical_start_share<=2")


def test_blocked_tasks_are_not_requests_the_platform_turned_away(tmp_path):
    """The trial's case: X (4 cores, 100 s) fills the host at 0; Y (10 s, 1 core) gives up
    after 50 s (max_wait_s) and is rejected; Z and W are its descendants, never submitted
    (blocked). Two requests reached the platform and one was turned away: rejection rate
    1/2 (before: 1/4, the blocked pair in the denominator), in the summary and in the
    plan's bounds alike; placed + rejected + queued_at_end = submitted, and submitted +
    blocked = the workload's 4 rows."""
    rows = [task("X", 0, 100, 4), task("Y", 10, 50, 1, "R"), task("Z", 20, 50, 1, "R", "Y"),
            task("W", 20, 50, 1, "R", "Z")]
    results = run(tmp_path, rows, when_full="queue", max_wait_s=50)
    row = results.summary.iloc[0]
    assert (row["submitted"], row["placed"], row["rejected"], row["blocked"]) == (2, 1, 1, 2)
    assert row["rejection_rate"] == pytest.approx(1 / 2)
    assert row["placed"] + row["rejected"] + row["queued_at_end"] == row["submitted"]
    assert row["submitted"] + row["blocked"] == len(rows)
    assert row["queue_mean_s"] == pytest.approx((0 + 50) / 2)  # X's and Y's waits, the blocked have none
    assert slo_bounds(results.instances, 1000.0)["rejection_rate"] == pytest.approx((1 / 2, 1 / 2))


def test_the_workflow_config_rejects_over_the_tasks_submitted():
    """configs/workflow.toml on one 8-core host that turns away what does not fit. Each of
    its jobs (configs/workflow.csv, 900 s apart, each done in under 400 s) is a 1-core
    prepare, then 8 maps of 2 cores submitted together when it ends, then a reduce after
    all maps: 8 // 2 = 4 maps fit, 4 are rejected, and the reduce is never submitted
    (blocked). Per job 1 + 8 = 9 tasks submitted, 4 rejected: the rate is 4/9 (96 of
    216; before: 96 of 240, the blocked reduces counted as requests)."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    tasks = pd.read_csv(root / "configs" / "workflow.csv")
    jobs = tasks["job"].nunique()
    maps = int(tasks["id"].str.contains("-map").sum()) // jobs
    fit = 8 // 2
    results = simdc.simulate(simdc.load_config(root / "configs" / "workflow.toml", {
        "placement.when_full": "reject", "cluster.hosts.0.cpu_cores": 8}))
    for _, row in results.summary.iterrows():
        assert (row["submitted"], row["rejected"], row["blocked"]) == (jobs * (1 + maps), jobs * (maps - fit), jobs)
        assert row["rejection_rate"] == pytest.approx((maps - fit) / (1 + maps))


@pytest.mark.parametrize("job", ["J", ""])
def test_a_job_with_a_task_beyond_the_horizon_is_not_completed(tmp_path, job):
    """A -> B -> C, C submitted at 1500 s after a 1000 s horizon: C is not replayed, so its
    job cannot complete in the run; it is one of the jobs, not a completed one (before: a
    completed job of makespan 2 (s + 50)). Job K, D -> E, completes: makespan 2 (s + 50),
    start share 2 s over it. The same whether the job is named or only linked."""
    s = START_S
    rows = [task("A", 0, 50, 1, job), task("B", 0, 50, 1, job, "A"), task("C", 1500, 50, 1, job, "B"),
            task("D", 0, 50, 1, "K"), task("E", 0, 50, 1, "K", "D")]
    results = run(tmp_path, rows)
    row = results.summary.iloc[0]
    assert (row["jobs"], row["jobs_completed"]) == (2, 1)
    assert row["makespan_mean_s"] == pytest.approx(2 * (s + 50))
    assert row["critical_start_share"] == pytest.approx(2 * s / (2 * (s + 50)))
    assert any("1 jobs have such a task" in note for note in results.manifest["workload_notes"])
