"""A plan judges a makespan SLO with the jobs not completed by the end counted against it,
as never completing: the censoring rule of a start not made by the end
(simdc.metrics.censored_bounds, used by slo_bounds for both)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simdc.config import validate
from simdc.planning import plan

JOBS, MAPS, HOST_CORES = 12, 8, 8
START_S, PARENT_S, MAP_S, REDUCER_S = 1.0, 60.0, 120.0, 60.0


def fan_config(tmp_path):
    """JOBS jobs 900 s apart, each a 1-core parent, MAPS maps and a reducer after them; the
    odd jobs' maps take 4 cores each, so one 8-core host holds 2 of them at once and turns
    the other 6 away (when_full = reject), and their reducer is blocked: those 6 jobs never
    complete on fewer than MAPS × 4 / 8 = 4 hosts."""
    rows = []
    for j in range(JOBS):
        cores = 4 if j % 2 else 1
        maps = [f"j{j}-m{m}" for m in range(MAPS)]
        rows.append(f"j{j}-p,{900 * j},{PARENT_S:g},1,2,j{j},,batch")
        rows += [f"{m},{900 * j},{MAP_S:g},{cores},4,j{j},j{j}-p,batch" for m in maps]
        rows.append(f"j{j}-r,{900 * j},{REDUCER_S:g},1,2,j{j},{' '.join(maps)},batch")
    trace = tmp_path / "w.csv"
    trace.write_text("id,submit_s,duration_s,cpu_cores,memory_gib,job,parents,kind\n" + "\n".join(rows) + "\n")
    return validate({"simulation": {"duration_s": 11700.0, "seed": 1, "platforms": ["container"]},
                     "cluster": {"hosts": [{"count": 1, "cpu_cores": HOST_CORES, "memory_gib": 64}]},
                     "platform": {"container": {"start_s": START_S}},
                     "workload": {"trace": str(trace), "format": "simdc"}})


# each of parent, maps and reducer starts START_S after its submission (an idle host)
MAKESPAN_S = 3 * START_S + PARENT_S + MAP_S + REDUCER_S  # 243 s


@pytest.mark.parametrize("slo", ["makespan_p95_s<=300", "makespan_p50_s<=300", "makespan_mean_s<=300"])
def test_a_plan_needs_every_job_completed_for_a_makespan_slo(tmp_path, slo):
    """On 1 host the 6 even jobs complete in 243 s and the 6 odd ones never do: the
    summary's makespans (over the completed jobs) were 243 and the plan answered 1 host.
    Counted as never completing, half the jobs put p50, p95 and the mean at infinity until
    every odd job's 8 maps fit at once: 32 cores, 4 hosts, where each job takes 243 s."""
    result = plan(fan_config(tmp_path), [slo], max_hosts=16)
    answer = result.plan.iloc[0]
    assert answer["hosts_needed"] == math.ceil(MAPS * 4 / HOST_CORES) == 4
    metric = slo.split("<=")[0]
    assert answer[metric] == pytest.approx(MAKESPAN_S)
    runs = result.evaluations.set_index("hosts")[metric]
    assert np.isinf(runs[1]) and np.isinf(runs[2]) and np.isinf(runs[3])


def test_censored_values_count_as_never_ending_for_the_high_bound():
    """Six known values 1..6 and two censored at 10 and 20: the low bound takes them at
    their censoring times (numpy's p50 of 1, 2, 3, 4, 5, 6, 10, 20 is 4.5, the mean 51/8);
    the high one as infinite (p50 of 1..6, inf, inf is 4.5: position 3.5 between 4 and 5;
    p95 at position 6.65 lies between two infinite values; the mean is infinite)."""
    from simdc.metrics import censored_bounds

    bounds = censored_bounds(np.arange(1.0, 7.0), np.array([10.0, 20.0]), (50, 95))
    assert bounds["50"] == (4.5, 4.5)
    assert bounds["95"][1] == np.inf and bounds["95"][0] == pytest.approx(np.percentile([1, 2, 3, 4, 5, 6, 10, 20], 95))
    assert bounds["mean"] == (pytest.approx(51 / 8), np.inf)
