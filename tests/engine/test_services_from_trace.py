"""Services from a trace's jobs (issue #18): ``[[services]] job = "*"`` makes every job
with replicas a service, its replicas and demand counted from the trace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simdc
from simdc.config import validate
from simdc.engine.services import demand_series, from_workload
from simdc.errors import ConfigError, InputError
from simdc.workload import load_workload

HORIZON_S = 1000.0


def write_trace(path, rows):
    """``rows``: (submit_s, duration_s, cpu_used, job) each; sizes 1 core, 2 GiB."""
    lines = ["id,submit_s,duration_s,cpu_cores,memory_gib,cpu_used,job"]
    lines += [f"{i + 1},{s:g},{d:g},1,2,{u:g},{job}" for i, (s, d, u, job) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def config(trace, services, **extra):
    return validate({"simulation": {"duration_s": HORIZON_S, "platforms": ["container"], **extra},
                     "host": {"cpu_cores": 64, "memory_gib": 256},
                     "workload": {"trace": str(trace), "format": "simdc"},
                     "services": services})


def peak_by_brute_force(rows, job):
    """The most of ``job``'s instances alive at one instant: alive over [s, min(s + d, horizon))
    checked at every arrival (the count only rises at arrivals)."""
    spans = [(s, min(s + d, HORIZON_S)) for s, d, _, j in rows if j == job and s < HORIZON_S]
    return max((sum(a <= t < b for a, b in spans) for t, _ in spans), default=0)


rows_strategy = st.lists(
    st.tuples(st.integers(0, 900).map(float), st.integers(1, 500).map(float),
              st.sampled_from([0.25, 0.5, 1.0]), st.sampled_from(["a", "b", "c", "d"])),
    min_size=1, max_size=25)


@settings(max_examples=40, deadline=None)
@given(rows=rows_strategy)
def test_every_job_with_replicas_becomes_a_service_with_its_peak_count(tmp_path_factory, rows):
    """Each job whose instances overlap (2+ alive at once, counted by brute force at every
    arrival) is one service with that many replicas; every other instance stays in the
    workload; the demand at each arrival is the sum of cpu_used of the job's instances alive."""
    trace = write_trace(tmp_path_factory.mktemp("t") / "trace.csv", rows)
    cfg = config(trace, [{"job": "*", "readiness_s": 1}])
    instances = load_workload(cfg.workload, HORIZON_S, 0).instances
    peaks = {job: peak_by_brute_force(rows, job) for job in {r[3] for r in rows}}
    expected = {job: peak for job, peak in peaks.items() if peak >= 2}
    if not expected:
        with pytest.raises(InputError, match=r"^services\[0\]\.job: '\*' takes every job with 2 or more"):
            from_workload(cfg.services, instances, HORIZON_S)
        return
    services, rest, kept = from_workload(cfg.services, instances, HORIZON_S)
    assert {s.name: s.replicas for s in services} == expected
    assert len(rest) == sum(1 for r in rows if r[3] not in expected)
    assert set(rest["job"].astype(str)) == set(peaks) - set(expected)
    assert len(kept) == len(rest)
    for service in services:
        t, cores = demand_series(service.demand, HORIZON_S)
        for s, _, _, job in rows:
            if job != service.name or s >= HORIZON_S:
                continue
            alive = sum(u for a, d, u, j in rows if j == job and a <= s < min(a + d, HORIZON_S))
            assert cores[np.searchsorted(t, s, side="right") - 1] == pytest.approx(alive)


def test_an_explicit_job_entry_wins_and_a_named_star_entry_prefixes_the_rest(tmp_path):
    """Jobs web (3 at once), api (2 at once) and cron (never 2 at once): the explicit entry
    takes web, the '*' entry makes 'jobs/api' only; cron's two instances stay instances."""
    trace = write_trace(tmp_path / "trace.csv", [
        (0, 600, 0.5, "web"), (100, 300, 0.7, "web"), (200, 600, 0.4, "web"),
        (0, 900, 0.5, "api"), (50, 100, 0.5, "api"),
        (0, 100, 0.2, "cron"), (500, 100, 0.2, "cron")])
    cfg = config(trace, [{"job": "*", "name": "jobs", "readiness_s": 2, "slo_served_share": 0.5},
                         {"name": "front", "job": "web", "replicas": 4}])
    results = simdc.simulate(cfg)
    inst = results.instances
    assert (inst["service"] == "front").sum() >= 4
    assert (inst["service"] == "jobs/api").sum() >= 2
    assert set(inst["service"]) == {"front", "jobs/api", ""}
    assert (inst["service"] == "").sum() == 2
    assert set(results.services["service"]) == {"front", "jobs/api"}
    # every replica fits on the empty 64-core host: each service's demand is served
    assert results.summary["demand_served_share"].iloc[0] > 0.99


def test_star_entry_errors_are_one_line_each(tmp_path):
    trace = write_trace(tmp_path / "trace.csv", [(0, 100, 0.5, "solo"), (200, 100, 0.5, "solo"),
                                                 (0, 500, 0.5, "pair"), (10, 500, 0.5, "pair")])
    with pytest.raises(ConfigError, match=r"services\[1\]\.job: '\*' is already in services\[0\]"):
        config(trace, [{"job": "*"}, {"job": "*"}])
    with pytest.raises(ConfigError, match=r"services\[0\]\.name: required key is missing"):
        config(trace, [{"replicas": 2, "cpu_cores": 1, "memory_gib": 1}])
    clash = config(trace, [{"job": "*"}, {"name": "pair", "replicas": 1, "cpu_cores": 1, "memory_gib": 1}])
    with pytest.raises(InputError, match=r"services\[0\]\.job: '\*' makes a service 'pair' from job 'pair'"):
        simdc.simulate(clash)
    none = write_trace(tmp_path / "none.csv", [(0, 100, 0.5, "solo"), (200, 100, 0.5, "solo")])
    with pytest.raises(InputError, match=r"and the workload has none$"):
        simdc.simulate(config(none, [{"job": "*"}]))


def test_a_service_column_is_read_as_the_job_and_both_at_once_are_refused(tmp_path):
    """simdc's format takes ``service`` for ``job``: the two replicas of "api" alive
    together over [0, 500) become one service of 2; a file with both columns is one error."""
    trace = tmp_path / "svc.csv"
    trace.write_text("id,submit_s,duration_s,cpu_cores,memory_gib,service\n"
                     "1,0,500,1,2,api\n2,0,500,1,2,api\n3,0,100,1,2,\n")
    cfg = config(trace, [{"job": "*"}])
    services, rest, _ = from_workload(cfg.services, load_workload(cfg.workload, HORIZON_S, 0).instances, HORIZON_S)
    assert [(s.name, s.replicas) for s in services] == [("api", 2)] and len(rest) == 1
    both = tmp_path / "both.csv"
    both.write_text("id,submit_s,duration_s,cpu_cores,memory_gib,job,service\n1,0,500,1,2,a,b\n")
    with pytest.raises(InputError, match="columns job and service both given"):
        load_workload(config(both, [{"job": "*"}]).workload, HORIZON_S, 0)


@settings(max_examples=25, deadline=None)
@given(instances=st.lists(st.tuples(st.integers(0, 8), st.integers(1, 9),
                                    st.lists(st.integers(0, 8), min_size=1, max_size=6)),
                          min_size=2, max_size=5))
def test_a_job_with_usage_series_demands_the_sum_of_its_series(tmp_path_factory, instances):
    """Each instance (submit and duration in 100-s steps, a usage reading at each of its
    first steps, 0.5 core each unit) adds, while alive, its reading at age k·100 s from
    submit + k·100 s on, the last holding on: summed by brute force at every 50 s."""
    step = 100.0
    rows, usage = [], []
    for i, (submit, life, readings) in enumerate(instances):
        rows.append(f"{i + 1},{submit * step:g},{life * step:g},1,2,0.1,web")
        usage += [f"{i + 1},{k * step:g},{value / 2:g},1" for k, value in enumerate(readings)]
    base = tmp_path_factory.mktemp("u")
    (base / "t.csv").write_text("id,submit_s,duration_s,cpu_cores,memory_gib,cpu_used,job\n" + "\n".join(rows) + "\n")
    (base / "u.csv").write_text("id,t_s,cpu_cores,memory_gib\n" + "\n".join(usage) + "\n")
    cfg = validate({"simulation": {"duration_s": HORIZON_S, "platforms": ["container"]},
                    "host": {"cpu_cores": 64, "memory_gib": 256},
                    "workload": {"trace": str(base / "t.csv"), "usage": str(base / "u.csv"), "format": "simdc",
                                 "usage_step_s": step},
                    "services": [{"name": "web", "job": "web"}]})
    workload = load_workload(cfg.workload, HORIZON_S, 0)
    (service,), _, _ = from_workload(cfg.services, workload.instances, HORIZON_S, workload.usage)
    t, cores = demand_series(service.demand, HORIZON_S)
    for when in np.arange(0.0, HORIZON_S, 50.0):
        expected = 0.0
        for submit, life, readings in instances:
            start, end = submit * step, min((submit + life) * step, HORIZON_S)
            if start <= when < end:
                expected += readings[min(int((when - start) // step), len(readings) - 1)] / 2
        assert cores[np.searchsorted(t, when, side="right") - 1] == pytest.approx(expected), when


# --- jobs with dependencies (a workflow's tasks) are not replica sets ----------------------

def write_mixed(path):
    """Job "web": 3 instances alive together over [0, 600), no dependencies. Job "wf": a
    fork-join, "a" (100 s) then "b1", "b2" (200 s each, alive together: 2 at once) that
    wait for it, then "c" waiting for both (a makespan of 100 + 200 + 50 = 350 s on an
    empty host with instant starts). Job "feed": two instances alive together, one of them
    the parent of "wf"'s "a" (a cross-job edge: feed is in a workflow too)."""
    path.write_text("id,submit_s,duration_s,cpu_cores,memory_gib,job,parents,kind\n"
                    "w1,0,600,1,2,web,,service\nw2,0,600,1,2,web,,service\nw3,0,600,1,2,web,,service\n"
                    "f1,0,10,1,2,feed,,batch\nf2,0,10,1,2,feed,,batch\n"
                    "a,0,100,1,2,wf,f1,batch\nb1,0,200,1,2,wf,a,batch\nb2,0,200,1,2,wf,a,batch\n"
                    "c,0,50,1,2,wf,b1 b2,batch\n")
    return path


def test_star_leaves_jobs_with_dependencies_to_run_as_batch_work_and_says_so(tmp_path):
    """'*' makes "web" a service (3 replicas) and leaves "wf" and "feed" (both with two
    instances alive at once, but in dependencies, as parent or child) to the workload,
    whose tasks still wait for their parents: c ends at 10 + 100 + 200 + 50 = 360 s at
    the earliest (f1, then a, the b's, c; starts of 0 s). The manifest says what was left."""
    cfg = validate({"simulation": {"duration_s": HORIZON_S, "platforms": ["container"]},
                    "host": {"cpu_cores": 64, "memory_gib": 256}, "platform": {"container": {"start_s": 0.0}},
                    "workload": {"trace": str(write_mixed(tmp_path / "mixed.csv")), "format": "simdc"},
                    "services": [{"job": "*", "readiness_s": 1}]})
    results = simdc.simulate(cfg)
    assert [(s, n) for s, n in results.services.groupby("service")["pods"].max().items()] == [("web", 3)]
    rows = results.instances.set_index("id")
    assert rows.loc["c", "end_s"] >= 360.0 - 1e-6
    assert rows.loc["b1", "submit_s"] >= rows.loc["a", "end_s"] - 1e-6
    assert [w for w in results.manifest["warnings"] if "services[0].job" in w] == [
        "services[0].job: '*' left out 2 jobs with dependencies (instances that wait for parents or are parents: "
        "a workflow's tasks, which replicas cannot replay); they run as batch work"]


@pytest.mark.parametrize("job, waits, parents", [("wf", 4, 3), ("feed", 0, 1)])
def test_a_service_named_after_a_job_with_dependencies_is_one_error(tmp_path, job, waits, parents):
    """"wf": a, b1, b2, c wait for parents, a, b1, b2 are parents; "feed": f1 is a's parent."""
    cfg = config(write_mixed(tmp_path / "mixed.csv"), [{"name": "svc", "job": job}])
    with pytest.raises(InputError) as err:
        simdc.simulate(cfg)
    assert str(err.value).startswith(f"services[0].job: job {job!r} has dependencies: {waits} of its ")
    assert f"and {parents} are parents" in str(err.value)
    assert "\n" not in str(err.value)


def test_star_over_a_workflow_trace_is_one_error_line_and_exit_2(tmp_path):
    """configs/workflow.csv: 24 fork-join jobs, every one with dependencies: '*' has no job
    to make a service of, and says why (was: 32 never-ending replicas, no job completed)."""
    from typer.testing import CliRunner

    from simdc.cli import app

    root = Path(__file__).resolve().parents[2]
    text = (root / "configs" / "workflow.toml").read_text().replace('trace = "workflow.csv"',
                                                                      f'trace = "{root / "configs" / "workflow.csv"}"')
    path = tmp_path / "workflow.toml"
    path.write_text(text + '\n[[services]]\njob = "*"\n')
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == ["error: services[0].job: '*' takes every job with 2 or more instances alive at once and no "
                     "dependencies, and the workload has none (24 jobs with dependencies, whose instances wait for "
                     "parents or are parents, are left to run as batch work)"]
