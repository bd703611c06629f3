"""A time window replays each instance's usage samples by the one rule, applied once.

The rule (README, ``workload.usage_step_s``; :func:`simdc.workload.usage.on_steps`): a
sample at offset ``t`` takes effect at the first usage step at or after ``t``; the
samples taking effect at one step give CPU their mean, and a step without samples holds
the value before it. In a window ``[S, E)`` an instance already running at ``S`` is
replayed from age 0 = ``S``, its samples at their offsets from ``S``; at age 0 the value
in force at ``S`` (its last sample at or before ``S``), known at that time.

The expected values here are computed in plain Python from the raw readings (the Azure
V2 CSV read with the csv module), not by simdc's code.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simdc.model.workload import WorkloadSpec
from simdc.workload import load_workload
from tests.workload.traces import raw_rows, sample, write_lines

VMTABLE = "azure_v2_2019/vmtable_subset_20vms_longest.csv"
READINGS = "azure_v2_2019/vm_cpu_readings_20vms.csv.gz"


def by_hand(times: list[float], cpu: list[float], start: float, step: float, steps: int,
            before: float) -> list[float]:
    """CPU at ages 0, step, ..., (steps − 1)·step of a series whose samples are at trace
    times ``times`` (sorted), replayed from ``start``: age 0 the last sample at or
    before ``start`` (``before``, the instance's mean, if none); age k·step the mean of
    the samples at offsets in ((k − 1)·step, k·step], or the value before if none."""
    offsets = [t - start for t in times]
    at_start = [c for o, c in zip(offsets, cpu) if o <= 0]
    value = at_start[-1] if at_start else before
    out = [value]
    for k in range(1, steps):
        mine = [c for o, c in zip(offsets, cpu) if (k - 1) * step < o <= k * step]
        if mine:
            value = sum(mine) / len(mine)
        out.append(value)
    return out


def replayed(trace, usage, start: float, stop: float, step: float, duration: float = 200_000.0):
    spec = WorkloadSpec(trace=str(trace), usage=str(usage), format="azure", time_window_s=(start, stop),
                        usage_step_s=step, azure_bucket_sizing="upper")
    return load_workload(spec, duration, 1)


def test_the_repro_vm_replays_its_readings_once_rounded():
    """VM xzQ++… in the window [1000100, 1100000) at a 450-s step: its readings at window
    offsets −200, 100, 400, 700, 1000, 1300 s give age 0 the reading at −200 (in force at the
    start), 450 the mean of 100 and 400, 900 the one at 700, 1350 the mean of 1000 and 1300.
    The old code rounded twice (onto 300-s steps, then after the shift onto 450-s ones): it
    gave 0.426059, 0.420599 (offset 100 alone), 0.422666 (400 and 700), 0.425614."""
    start, step = 1_000_100.0, 450.0
    vm = "xzQ++JF1UAkh70CDhmzkiOo+DQn+E2TLErCFKEmSswv1plXUxMIY6LUBGGvHU6et"
    cores = float(next(r for r in raw_rows(sample(VMTABLE), skip_header=True) if r[0] == vm)[9])
    readings = {float(r[0]): float(r[4]) / 100 * cores for r in raw_rows(sample(READINGS), skip_header=True)
                if r[1] == vm}
    want = [readings[start - 200],
            (readings[start + 100] + readings[start + 400]) / 2,
            readings[start + 700],
            (readings[start + 1000] + readings[start + 1300]) / 2]
    w = replayed(sample(VMTABLE), sample(READINGS), start, 1_100_000.0, step)
    i = int(np.flatnonzero(w.instances["id"].to_numpy() == vm)[0])
    got, _ = w.usage.at(np.full(4, i), np.arange(4) * step, 0.0)
    assert got == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("step", [450.0, 600.0, 1000.0, 170.0])
def test_every_vm_running_at_the_window_start_replays_its_readings_by_the_rule(step):
    """All 20 VMs (each running at the window's start), the first 40 steps of age."""
    start = 1_000_100.0
    vms = {r[0]: r for r in raw_rows(sample(VMTABLE), skip_header=True)}
    series: dict[str, list[tuple[float, float]]] = {}  # each VM's (trace time, cores) readings
    for r in raw_rows(sample(READINGS), skip_header=True):
        series.setdefault(r[1], []).append((float(r[0]), float(r[4]) / 100 * float(vms[r[1]][9])))
    w = replayed(sample(VMTABLE), sample(READINGS), start, 1_100_000.0, step)
    assert len(w.instances) == 20
    for i, vm in enumerate(w.instances["id"]):
        readings = sorted(series[vm])
        want = by_hand([t for t, _ in readings], [c for _, c in readings], start, step, 40,
                       float(w.instances["cpu_used"][i]))
        got, _ = w.usage.at(np.full(40, i), np.arange(40) * step + step / 2, 0.0)
        assert got == pytest.approx(want, rel=1e-12), vm


HEADER = "vm_id,subscription_id,deployment_id,timestamp_vm_created,timestamp_vm_deleted,max_cpu,avg_cpu," \
         "p95_max_cpu,vm_category,vm_virtual_core_count_bucket,vm_memory_gb_bucket"


@settings(max_examples=40, deadline=None)
@given(created=st.lists(st.integers(0, 2000), min_size=1, max_size=3),
       gaps=st.lists(st.lists(st.integers(1, 700), min_size=1, max_size=12), min_size=3, max_size=3),
       start=st.integers(1, 2500), step=st.sampled_from([7.0, 60.0, 300.0, 450.0, 1000.0]))
def test_windowed_replay_is_the_rule_on_the_raw_samples_shifted_by_the_window_start(tmp_path_factory, created,
                                                                                     gaps, start, step):
    """For any Azure readings (irregular times), any window start and step: each VM's
    replayed CPU at every age is the rule applied to its raw readings at their offsets
    from the window start (a VM created after the start: from its creation)."""
    folder = tmp_path_factory.mktemp("window")
    rows, readings, expected = [HEADER], ["timestamp,vm_id,min_cpu,max_cpu,avg_cpu"], {}
    for n, (c, gap) in enumerate(zip(created, gaps)):
        vm = f"{n:016d}"
        times = list(c + np.cumsum(gap) - gap[0])
        cpu = [float((7 * n + 13 * k) % 97 + 1) for k in range(len(times))]
        rows.append(f"{vm},s,d,{c},{times[-1] + 300},90,10,50,Interactive,2,4")
        readings += [f"{t},{vm},0,99,{v}" for t, v in zip(times, cpu)]
        expected[vm] = (times, [v / 100 * 2 for v in cpu], c)
    trace = write_lines(folder / "vmtable.csv", rows)
    usage = write_lines(folder / "vm_cpu_readings.csv", readings)
    w = replayed(trace, usage, float(start), 10_000.0, step)
    steps = int(4000 // step) + 2
    for i, vm in enumerate(w.instances["id"]):
        times, cpu, c = expected[vm]
        origin = max(float(start), float(c))  # age 0: the window start, or its creation if later
        want = by_hand([float(t) for t in times], cpu, origin, step, steps, float(w.instances["cpu_used"][i]))
        got, _ = w.usage.at(np.full(steps, i), np.arange(steps) * step, 0.0)
        assert got == pytest.approx(want, rel=1e-12), (vm, c, times)
