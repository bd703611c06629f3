"""Services from a trace's jobs (issue #18): ``[[services]] job = "*"`` makes every job
with replicas a service, its replicas and demand counted from the trace."""

from __future__ import annotations

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
