"""Autopilot's check on simdc (issue #17): slack and OOM kills under declared requests
and under the VPA recommender, on a trace with per-instance usage.

Autopilot (Rzadca et al., EuroSys 2020) reports slack — (limit − usage) / limit — of
46 % for manually set limits against 23 % for autoscaled ones, with jobs severely hit
by OOMs cut 10×. simdc's counterpart: the Bitbrains GWA-T-12 Rnd sample (20 business
VMs, 5-minute CPU and memory series over July 2013, ../shared/traces), each VM a job
whose month is cut into day-long instances (a daily restart, a minute apart: an assumption that gives
the recommender earlier instances to learn from; a VM's own series is unchanged). An
instance declares its VM's provisioned size, as its owner did. Both modes replay the
same instances on the same host; slack is time-weighted,
``(booked − used) / booked`` with booked and used integrated over the instances' lives
(memory from the hosts' integrals; CPU: cores booked while resident against cores used).

    python benchmarks/rightsizing.py [--host-gib 32] [--days 30]

Prints one row per mode: instances placed, slack (memory, CPU), OOM kills, instances
OOM-killed at least once. Reads the traces from $SIMDC_TRACES or ../shared/traces.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

DAY_S = 86400.0
RESTART_S = 60.0  # the gap between one day's instance and the next (an assumption)
ROOT = Path(__file__).resolve().parent.parent


def traces() -> Path:
    return Path(os.environ.get("SIMDC_TRACES", ROOT.parent / "shared" / "traces"))


def daily_instances(days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bitbrains Rnd VMs cut into day-long instances of one job per VM: (instances in
    simdc's format, usage table ``id, t_s, cpu_cores, memory_gib`` with ``t_s`` from
    each instance's start)."""
    from simdc.workload import readers
    from simdc.workload.readers.common import series_means

    data = readers.read_trace(traces() / "bitbrains_rnd" / "2013-7", "bitbrains")
    vms, usage = data.instances, data.usage.copy()
    usage["id"] = usage["id"].astype(str)
    rows, parts = [], []
    for vm in vms.itertuples():
        series = usage[usage["id"] == str(vm.id)]
        end = min(vm.duration_s, days * DAY_S)
        for k in range(int(np.ceil(end / DAY_S))):
            life = min(DAY_S, end - k * DAY_S)
            own = series[(series["t_s"] >= k * DAY_S) & (series["t_s"] < k * DAY_S + life)]
            if life <= 0 or not len(own):
                continue
            name = f"{vm.id}-{k}"
            # a minute short of the day: the next day's instance finds its room free
            # (a service lives duration_s from its start, which comes ~1 s after submit)
            rows.append({"id": name, "submit_s": vm.submit_s + k * DAY_S, "duration_s": max(life - RESTART_S, 1.0),
                         "cpu_cores": vm.cpu_cores, "memory_gib": vm.memory_gib,
                         "job": f"vm-{vm.id}"})
            parts.append(own.assign(id=name, t_s=own["t_s"] - k * DAY_S))
    instances = pd.DataFrame(rows).sort_values("submit_s", kind="stable").reset_index(drop=True)
    series = pd.concat(parts, ignore_index=True)
    # each day's means as the replay plays its series: the readers' one rule
    instances["cpu_used"], instances["memory_used_gib"] = series_means(
        series, instances["id"].to_numpy(), instances["duration_s"].to_numpy(float))
    return instances, series


def config_text(trace: Path, usage: Path, days: int, host_gib: float, cores: float) -> str:
    return f"""
[simulation]
duration_s = {days * DAY_S}
seed = 1
platforms = ["container"]
sample_every_s = 3600

[host]
cpu_cores = {cores}
memory_gib = {host_gib}
reserved_memory_gib = 2

[placement]
when_full = "reject"         # each day's instance is placed or turned away on its own

[platform.container]
admission = "requests"

[workload]
trace = "{trace}"
usage = "{usage}"
"""


def measure(config, admission: str) -> dict:
    """One mode's figures, from the general engine's own state after the run."""
    from simdc.engine.handlers import FastLane
    from simdc.model.placement import PlacementSpec
    from simdc.workload import load_workload

    config = config.with_overrides({"platform.container.admission": admission})
    sim_spec = config.simulation
    workload = load_workload(config.workload, sim_spec.duration_s, sim_spec.seed)
    hosts = [config.host]
    sim = FastLane("container", config.platform["container"], hosts, workload.instances, sim_spec.duration_s,
                   sim_spec.sample_every_s, sim_spec.seed, workload.usage, config.placement or PlacementSpec(),
                   False, {}, config.registry, config.faults)
    run = sim.run()
    inst, host = run.instances, run.hosts
    resident_s = (inst["end_s"].fillna(sim_spec.duration_s) - inst["admit_s"]).fillna(0.0).to_numpy()
    booked_core_s = float((sim.fp.book_cpu * resident_s).sum())
    return {
        "admission": admission,
        "placed": int(inst["admit_s"].notna().sum()),
        "instances": len(inst),
        "memory slack": 1 - host["mem_used_gib_s"].sum() / host["mem_alloc_gib_s"].sum(),
        "CPU slack": 1 - host["cpu_used_core_s"].sum() / booked_core_s,
        "OOM kills": int(inst["oom_kills"].sum()),
        "instances OOM-killed": int((inst["oom_kills"] > 0).sum()),
    }


def rightsizing(days: int = 30, host_gib: float = 32.0, cores: float = 16.0,
                modes: tuple[str, ...] = ("requests", "recommender", "oracle")) -> pd.DataFrame:
    """The figures for each admission mode: ``requests``, ``recommender`` and the
    ``oracle`` bound by default. ``days`` of the trace (1-30), one host of ``cores`` and
    ``host_gib`` (2 GiB reserved)."""
    import simdc

    instances, usage = daily_instances(days)
    with tempfile.TemporaryDirectory() as folder:
        trace, series = Path(folder) / "instances.csv", Path(folder) / "usage.csv"
        instances.to_csv(trace, index=False)
        usage[["id", "t_s", "cpu_cores", "memory_gib"]].to_csv(series, index=False)
        toml = Path(folder) / "rightsizing.toml"
        toml.write_text(config_text(trace, series, days, host_gib, cores))
        config = simdc.load_config(toml)
        return pd.DataFrame([measure(config, mode) for mode in modes])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--host-gib", type=float, default=32.0)
    parser.add_argument("--cores", type=float, default=16.0)
    args = parser.parse_args()
    table = rightsizing(args.days, args.host_gib, args.cores)
    print(f"Bitbrains Rnd, {args.days} days, day-long instances of 20 VM jobs, one host of "
          f"{args.cores:g} cores and {args.host_gib:g} GiB (2 reserved)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.1%}"))
