"""The workload's ``job`` column (issue #17): what the recommender learns from. Expected
jobs come from the raw rows, independently of the readers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simdc
from simdc.workload import COLUMNS, own, synthetic
from simdc.workload.readers import read_trace
from tests.workload.test_alibaba import write_v2018
from tests.workload.traces import write_lines


def test_google_instances_belong_to_their_job_id(tmp_path):
    """Google 2011: a task attempt's job is its job_id (task_events column 3)."""
    rows = ["0,,3418309,0,,0,u,0,9,0.0125,0.0159,0.0004,0",
            "1000000,,3418309,0,5,1,u,0,9,0.0125,0.0159,0.0004,0",
            "5000000,,3418309,0,5,4,u,0,9,0.0125,0.0159,0.0004,0",
            "700000000,,515042969,2,,0,u,0,2,0.1,0.2,0.0,0",
            "701000000,,515042969,2,7,1,u,0,2,0.1,0.2,0.0,0"]
    (tmp_path / "task_events").mkdir()
    write_lines(tmp_path / "task_events" / "part-00000-of-00500.csv.gz", rows, gz=True)
    data = read_trace([tmp_path], "google")
    jobs = dict(zip(data.instances["id"].astype(str), data.instances["job"].astype(str)))
    assert set(jobs.values()) == {"3418309", "515042969"}
    assert all(job == ident.split("-")[0] for ident, job in jobs.items())


def test_alibaba_2018_containers_belong_to_their_app_and_batch_to_its_job(tmp_path):
    """v2018: a container's job is its app_du (container_meta column 4), a batch
    instance's its job_name."""
    data = read_trace([write_v2018(tmp_path)], "alibaba2018")
    by_id = data.instances.set_index("id")["job"].astype(str)
    assert by_id["c_1"] == "app_5052" and by_id["c_2"] == "app_99"
    batch = data.instances[data.instances["kind"] == "batch"]
    assert (batch["job"].astype(str) == "j_1").all() and len(batch) == 5


def test_own_format_reads_and_writes_the_job_column(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("id,submit_s,duration_s,cpu_cores,memory_gib,job\n1,0,10,1,1,web\n2,1,10,1,1,\n3,2,10,1,1,web\n")
    table = own.read(path).instances
    assert table["job"].astype(str).tolist() == ["web", "", "web"]
    assert list(table.columns) == list(COLUMNS)
    again = own.read(own.write(table, tmp_path / "again.csv")).instances
    assert again["job"].astype(str).tolist() == ["web", "", "web"]


@pytest.mark.parametrize("zipf", [0.0, 1.0])
def test_synthetic_jobs_have_one_size_and_mean_usage_and_zipf_popularity(zipf):
    """Replicas of a job share its declared size and mean usage; job k is drawn with
    probability ∝ 1/(k+1)^s (checked against the counts within 5 standard errors)."""
    spec = simdc.Config.model_validate({
        "simulation": {"duration_s": 1.0}, "host": {"cpu_cores": 1, "memory_gib": 1},
        "workload": {"synthetic": {"arrival_rate_per_s": 20000.0, "jobs": 10, "job_zipf_s": zipf}},
    }).workload.synthetic
    table = synthetic.generate(spec, 1.0, seed=4).instances
    per_job = table.groupby(table["job"].astype(str), observed=True)
    for column in ("cpu_cores", "memory_gib"):
        assert (per_job[column].nunique() == 1).all()
    fractions = table["memory_used_gib"] / table["memory_gib"]
    assert (fractions.groupby(table["job"].astype(str), observed=True).nunique() == 1).all()
    p = np.arange(1, 11, dtype=float) ** -zipf
    p /= p.sum()
    counts = table["job"].astype(str).value_counts().reindex([f"job-{k}" for k in range(10)]).fillna(0).to_numpy()
    n = len(table)
    assert np.all(np.abs(counts - n * p) <= 5 * np.sqrt(n * p * (1 - p)))


def test_without_jobs_the_generator_is_unchanged():
    """No `jobs`: the same instances as before the job column existed, with job = ""."""
    spec = simdc.Config.model_validate({
        "simulation": {"duration_s": 3600.0}, "host": {"cpu_cores": 1, "memory_gib": 1},
        "workload": {"synthetic": {"arrival_rate_per_s": 0.5}},
    }).workload.synthetic
    table = synthetic.generate(spec, 3600.0, seed=2).instances
    assert (table["job"].astype(str) == "").all()
    assert isinstance(table["job"].dtype, pd.CategoricalDtype)
