"""simdc's benchmarks: wall time, events or arrivals per second, and peak memory.

    python benchmarks/run.py                   # every scenario
    python benchmarks/run.py erlang fleet      # some of them
    python benchmarks/run.py fleet --instances 250000

Scenarios (issue 8):
  erlang  one host, equal VMs, 200,000 Poisson arrivals, no usage series; the same
          arrivals and lifetimes through a bare heapq loop, in the same run, as the
          reference for what Python can do at all.
  fleet   100 hosts, N instances (default 1,000,000) from the generator over 7 days,
          both platforms, usage series at 300 s steps.
  memory  the fleet scenario at 250k, 500k and 1M instances: peak memory should grow
          linearly with instances.
  trace   rows per second reading the Google task_events sample (benchmarks/trace_read.py).
  sweep   points per minute on 1 core and all cores (benchmarks/sweep.py).

Scenarios (issue 16, the baseline before the one engine; config in benchmarks/capacity.py):
  capacity       the capacity study (image catalogue with shared layers, a third batch,
                 kubernetes placement with a queue and max_wait_s, interference, host and
                 kernel failures, both platforms, 6 h) at each of ``--hosts`` (default
                 100 and 1000): µs per placed instance, wall time, placed, peak memory.
  contention100  configs/contention.toml on 100 hosts (arrival rate × 100), ``--days``.
  isolation100   configs/isolation.toml on 100 hosts (arrival rate × 25), ``--days``.
  erlang_trace   the erlang scenario's workload written to a simdc-format CSV first and
                 replayed from it (workload.trace, reading included), beside the bare loop.
  cli            ``simdc --help``: median wall time of 5 fresh processes.
  cloudsimpy     CloudSimPy's own workload (its ``jobs.csv``, ``--jobs-csv``; default: taken
                 from the mirror of its repository into a temporary file, skipped when
                 absent): the first 500 jobs (165,653 instances) on 50 of its 64-core
                 machines, FIFO queue, first fit, through ``simdc run`` in a fresh process
                 as a user runs it (a config file, reading and writing the results
                 included), beside a bare FIFO + first-fit heapq loop on the same instances
                 in the same run; the two must place every instance at the same time on
                 the same host. Its processes run with a bytecode cache in a temporary
                 folder, as an installed package runs (this machine sets
                 PYTHONDONTWRITEBYTECODE=1); ``--no-pycache``: the environment as it is.

Scenario (issue 20, a fleet of cells):
  cells          the capacity study as ``--cells`` cells (default 2, 4 and 8) of
                 ``--hosts-per-cell`` hosts (default 100) for ``--days`` (default 7), the
                 workload shared by hash of the id, each cell a Dask task: wall time on
                 each of ``--workers`` (default 1 and 2: one after another in the
                 driver, and a local cluster of 2), the CPU seconds of the driver and its
                 workers, and the driver's peak memory, which should not grow with the
                 cells when they run on workers (benchmarks/cells_phases.py: by phase).
  month1000      (only when named) a month of the capacity study on 1,000 hosts: simdc's
                 memory estimate for the month, and a measured fraction (``--month-days``,
                 default 1) with per-day figures extrapolated to 30 days.

Each scenario runs in a fresh subprocess so its peak memory (max RSS) is its own; each
line ends with the load average (1, 5, 15 min) as the child ended: the machine is shared.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))  # benchmarks/capacity.py


def erlang_config(arrivals: int):
    from simdc.config import validate

    rate = 10.0
    return validate({
        "simulation": {"duration_s": arrivals / rate, "seed": 1, "platforms": ["vm"], "sample_every_s": 3600},
        "host": {"cpu_cores": 10, "memory_gib": 1e5},
        "platform": {"vm": {"overhead_mib": 0, "boot_s": 0}},
        "workload": {"synthetic": {"arrival_rate_per_s": rate, "lifetime_s": {"mean": 1.0},
                                   "cpu_burstiness": 0, "memory_burstiness": 0,
                                   "sizes": [{"cpu_cores": 1, "memory_gib": 1, "weight": 1}]}},
    })


def bare_loop(submit: np.ndarray, life: np.ndarray, slots: int) -> tuple[float, int]:
    """The physical reference: a discrete-event loop on a bare heapq, with arrivals and
    departures as events (time, kind, instance), admission by free slots, and nothing
    else: no records, no metrics."""
    started = time.perf_counter()
    submit_l, life_l = submit.tolist(), life.tolist()
    events = [(submit_l[0], 1, 0)] if submit_l else []
    busy = rejected = 0
    n = len(submit_l)
    while events:
        t, kind, i = heapq.heappop(events)
        if kind == 0:  # departure
            busy -= 1
            continue
        if busy < slots:
            busy += 1
            heapq.heappush(events, (t + life_l[i], 0, i))
        else:
            rejected += 1
        if i + 1 < n:
            heapq.heappush(events, (submit_l[i + 1], 1, i + 1))
    return time.perf_counter() - started, rejected


def bare_loop_records(submit: np.ndarray, life: np.ndarray, slots: int) -> tuple[float, int]:
    """The same loop keeping what any simulator must hand back per instance: when it
    started and when it ended (NaN if turned away), as arrays at the end."""
    started = time.perf_counter()
    submit_l, life_l = submit.tolist(), life.tolist()
    n = len(submit_l)
    start, end = [float("nan")] * n, [float("nan")] * n
    events = [(submit_l[0], 1, 0)] if submit_l else []
    busy = rejected = 0
    while events:
        t, kind, i = heapq.heappop(events)
        if kind == 0:  # departure
            busy -= 1
            end[i] = t
            continue
        if busy < slots:
            busy += 1
            start[i] = t
            heapq.heappush(events, (t + life_l[i], 0, i))
        else:
            rejected += 1
            end[i] = t
        if i + 1 < n:
            heapq.heappush(events, (submit_l[i + 1], 1, i + 1))
    np.asarray(start), np.asarray(end)
    return time.perf_counter() - started, rejected


def timed_beside_bare_loop(config, repeat: int, records: bool = False):
    """``simdc.simulate(config)`` once (the first call in this process), then ``repeat``
    warm calls, each beside the bare loop (and, with ``records``, the loop that keeps
    records) on the same arrivals: (results, first wall, warm walls, bare walls, the
    bare loop's rejections, record-loop walls)."""
    import simdc

    started = time.perf_counter()
    results = simdc.simulate(config)
    first_wall = time.perf_counter() - started
    submit, life = results.workload["submit_s"].to_numpy(), results.workload["duration_s"].to_numpy()
    walls, bare, kept = [], [], []
    bare_rejected = 0
    for _ in range(repeat):
        started = time.perf_counter()
        simdc.simulate(config)
        walls.append(time.perf_counter() - started)
        bare_wall, bare_rejected = bare_loop(submit, life, 10)
        bare.append(bare_wall)
        if records:
            kept.append(bare_loop_records(submit, life, 10)[0])
    return results, first_wall, walls, bare, bare_rejected, kept


def scenario_erlang(args) -> dict:
    """simdc.simulate's first call in a fresh interpreter (imports and the libraries'
    first-call costs included), then its median over ``--repeat`` calls, each beside a
    call of the two reference loops, which pay no such costs: the ratio is of medians."""

    config = erlang_config(args.arrivals)
    results, first_wall, walls, bare, bare_rejected, records = timed_beside_bare_loop(config, args.repeat,
                                                                                      records=True)
    wall, bare_wall, records_wall = (float(np.median(w)) for w in (walls, bare, records))
    submitted = int(results.summary["submitted"].iloc[0])
    return {"scenario": "erlang", "arrivals": submitted, "first_wall_s": first_wall, "wall_s": wall,
            "walls_s": walls, "arrivals_per_s": submitted / wall, "first_arrivals_per_s": submitted / first_wall,
            "bare_loop_arrivals_per_s": submitted / bare_wall, "ratio_to_bare": wall / bare_wall,
            "records_loop_arrivals_per_s": submitted / records_wall, "ratio_to_records": wall / records_wall,
            "lanes": results.manifest["engine_lanes"],
            "rejected": int(results.summary["rejected"].iloc[0]), "bare_rejected": bare_rejected}


def fleet_config(instances: int):
    from simdc.config import validate

    duration_s = 7 * 86400.0
    return validate({
        "simulation": {"duration_s": duration_s, "seed": 1, "platforms": ["vm", "container"], "sample_every_s": 3600},
        "cluster": {"hosts": [{"cpu_cores": 64, "memory_gib": 256, "reserved_memory_gib": 8, "count": 100}]},
        "platform": {"container": {"admission": "oracle"}},
        "workload": {"synthetic": {"arrival_rate_per_s": instances / duration_s,
                                   "lifetime_s": {"median": 1800, "p95": 43200},
                                   "usage_step_s": 300}},
    })


def scenario_fleet(args) -> dict:
    import simdc

    config = fleet_config(args.instances)
    first_sample: dict[str, float] = {}  # when each platform's run began, to split the wall time
    started = time.perf_counter()
    results = simdc.simulate(config, progress=lambda name, t, _: first_sample.setdefault(name, time.perf_counter()))
    wall = time.perf_counter() - started
    summary = results.summary.set_index("platform")
    return {"scenario": "fleet", "instances": int(summary["submitted"].iloc[0]), "platforms": 2, "hosts": 100,
            "wall_s": wall, "instances_per_s": 2 * int(summary["submitted"].iloc[0]) / wall,
            "placed": summary["placed"].to_dict(), "lanes": results.manifest["engine_lanes"],
            "vm_s": first_sample["container"] - first_sample["vm"],
            "container_s": started + wall - first_sample["container"]}


def _per_placed(results, wall_s: float) -> dict:
    """µs per placed instance: ``wall_s`` over placed instances summed over platforms."""
    placed = {str(k): int(v) for k, v in results.summary.set_index("platform")["placed"].items()}
    total = sum(placed.values())
    return {"placed": placed, "placed_total": total, "us_per_placed": wall_s / total * 1e6 if total else float("nan"),
            "lanes": results.manifest["engine_lanes"]}


def scenario_capacity(args) -> dict:
    """The capacity study on ``--hosts`` hosts (one count), 6 h, both platforms."""
    import simdc
    from capacity import booked_share, capacity_config

    hosts = int(args.hosts.split(",")[0])
    config = capacity_config(hosts)
    started = time.perf_counter()
    results = simdc.simulate(config)
    wall = time.perf_counter() - started
    summary = results.summary.set_index("platform")
    return {"scenario": "capacity", "hosts": hosts, "wall_s": wall, **_per_placed(results, wall),
            "submitted": int(summary["submitted"].iloc[0]),
            "booked_cpu": booked_share(results, since_s=2 * 3600.0),
            "failures": {str(k): int(v) for k, v in summary["failures"].items()},
            "failure_kills": {str(k): int(v) for k, v in summary["failure_kills"].items()},
            "queue_mean_s": {str(k): float(v) for k, v in summary["queue_mean_s"].items()},
            "rejected": {str(k): int(v) for k, v in summary["rejected"].items()}}


def scaled_config(name: str, hosts: int, duration_s: float):
    """configs/<name>.toml with its hosts multiplied up to ``hosts`` in all and the arrival
    rate multiplied by the same factor (the same load per host), for ``duration_s``."""
    import tomllib

    from simdc.config import validate

    raw = tomllib.loads((ROOT / "configs" / f"{name}.toml").read_text())
    if "host" in raw:  # one host given as [host]: a cluster of one group
        raw["cluster"] = {"hosts": [{**raw.pop("host"), "count": 1}]}
    groups = raw["cluster"]["hosts"]
    before = sum(group.get("count", 1) for group in groups)
    if len(groups) != 1 or hosts % before:
        raise SystemExit(f"error: configs/{name}.toml: cannot scale {before} hosts to {hosts}")
    groups[0]["count"] = hosts
    raw["workload"]["synthetic"]["arrival_rate_per_s"] *= hosts / before
    raw["simulation"]["duration_s"] = duration_s
    return validate(raw)


def scenario_scaled(args) -> dict:
    """configs/contention.toml or isolation.toml scaled to 100 hosts for ``--days``."""
    import simdc

    name = args.child.removesuffix("100")
    config = scaled_config(name, 100, args.days * 86400.0)
    started = time.perf_counter()
    results = simdc.simulate(config)
    wall = time.perf_counter() - started
    return {"scenario": args.child, "days": args.days, "wall_s": wall, **_per_placed(results, wall),
            "submitted": int(results.summary["submitted"].iloc[0]), "platforms": list(config.simulation.platforms)}


def scenario_erlang_trace(args) -> dict:
    """The erlang scenario from a trace file: the workload is drawn once, written in
    simdc's CSV format (as ``simdc trace generate`` would), and every timed call of
    simdc.simulate reads it again; the bare loops run on the instances read back."""
    import tempfile

    import simdc
    from simdc.config import validate
    from simdc.workload import own

    drawn = simdc.simulate(erlang_config(args.arrivals))  # the workload, and imports warmed
    with tempfile.TemporaryDirectory() as folder:
        path = own.write(drawn.workload, Path(folder) / "erlang.csv")
        raw = erlang_config(args.arrivals).to_dict()
        raw["workload"] = {"trace": str(path), "format": "simdc"}
        config = validate(raw)
        results, first_wall, walls, bare, bare_rejected, _ = timed_beside_bare_loop(config, args.repeat)
        csv_mib = path.stat().st_size / 2**20
    wall, bare_wall = float(np.median(walls)), float(np.median(bare))
    submitted = int(results.summary["submitted"].iloc[0])
    return {"scenario": "erlang_trace", "arrivals": submitted, "csv_mib": csv_mib, "first_wall_s": first_wall,
            "wall_s": wall, "walls_s": walls, "arrivals_per_s": submitted / wall,
            "bare_loop_arrivals_per_s": submitted / bare_wall, "ratio_to_bare": wall / bare_wall,
            "lanes": results.manifest["engine_lanes"], "rejected": int(results.summary["rejected"].iloc[0]),
            "drawn_rejected": int(drawn.summary["rejected"].iloc[0]), "bare_rejected": bare_rejected}


CLOUDSIMPY_MIRROR = Path("/work/.mirror/RobertLexis+CloudSimPy/repo")  # a bare git mirror of the repository
CLOUDSIMPY_JOBS = "playground/Non_DAG/jobs_files/jobs.csv"
# CloudSimPy's first 500 jobs (CSVReader.generate(0, 500)) are those submitted before
# 5,900 s: the 500th at 5,886 s, the 501st at 5,951 s; 165,653 instances.
CLOUDSIMPY_WINDOW_S = (0.0, 5900.0)
CLOUDSIMPY_TOML = """\
# CloudSimPy's own workload as CloudSimPy runs it: machines of 64 CPU and memory 1
# (MachineConfig(64, 1, 1) in its launch scripts; memory 1 taken as 384 GiB, simdc's
# assumption for Alibaba V2017, where the data come from), a task instance placed with
# no start-up delay or overhead and running for its duration. simdc's FIFO queue (no
# overtaking) and first fit, 50 machines (issue #16).
[simulation]
duration_s = 10000   # the last of these jobs is submitted at 5,886 s; its tasks run up to 3,629 s
seed = 1
platforms = ["container"]

[[cluster.hosts]]
count = 50
cpu_cores = 64
memory_gib = 384

[placement]
when_full = "queue"

[platform.container]
overhead_mib = 0
start_s = 0

[workload]
trace = "{trace}"
format = "cloudsimpy"
time_window_s = [{start:g}, {stop:g}]
reference_memory_gib = 384
"""


# What `simdc run` imports before it reads the config (the CLI, the engine, pandas,
# pyarrow's CSV and Parquet modules), in a process of its own.
RUN_IMPORTS = "import simdc.cli, simdc.experiment, simdc.results, simdc.workload.readers, pyarrow.csv, pyarrow.parquet"


# `simdc run CONFIG --out OUT` in a process that times its phases: the imports, reading
# the workload, the engine, the rest of simulate (tables, summary), writing the results;
# prints them as JSON with the time its main() returned, so that the caller can add the exit.
# Where the entry point has simdc.__main__.loaded (called once the command's modules are
# imported, with the collector off until then), the imports are timed up to that call and
# the phases' wrappers put in then, so that the modules load as in `simdc run` itself;
# otherwise (an older simdc) they are imported first, and timed alone.
RUN_PHASES = """
import json, sys, time
started = time.perf_counter()
import simdc.__main__ as entry
phases = {}

def timed(owner, name, key):
    inner = getattr(owner, name)
    def wrapper(*args, **kwargs):
        begin = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            phases[key] = phases.get(key, 0.0) + time.perf_counter() - begin
    setattr(owner, name, wrapper)

def wrap():
    import simdc.cli, simdc.experiment as experiment, simdc.results as results
    timed(experiment, "load_workload", "read_s")
    timed(experiment, "run_platform", "engine_s")
    timed(simdc.cli, "simulate", "simulate_s")
    timed(results.Results, "write", "write_s")

if hasattr(entry, "loaded"):
    inner_loaded = entry.loaded
    def loaded():
        phases.setdefault("imports_s", time.perf_counter() - started)
        inner_loaded()
        wrap()
    entry.loaded = loaded  # before simdc.cli, which imports it by name, is imported
else:
    wrap()
    phases["imports_s"] = time.perf_counter() - started
sys.argv = ["simdc", "run", sys.argv[1], "--out", sys.argv[2]]
try:
    entry.main()
except SystemExit:
    pass
phases["simulate_other_s"] = phases.pop("simulate_s") - phases["read_s"] - phases["engine_s"]
print(json.dumps({**phases, "returned": time.time()}))
"""


# The bare loop as a hand-written script would run it, end to end in a process of its
# own: pandas reads jobs.csv, CloudSimPy's reader is restated (a job's submit time is its
# last row's, jobs by submit time, tasks in file order, instances_num copies of each),
# the window kept, the loop run, and each instance's start, end and host written to Parquet.
BARE_SCRIPT = """
import sys
import numpy as np, pandas as pd
sys.path.insert(0, sys.argv[4])
from run import bare_fifo_first_fit
jobs = pd.read_csv(sys.argv[1])
jobs["job_submit"] = jobs["job_id"].map(jobs.groupby("job_id", sort=False)["submit_time"].last())
jobs["first_seen"] = jobs["job_id"].map(pd.Series(np.arange(jobs["job_id"].nunique()),
                                                  index=jobs["job_id"].drop_duplicates()))
jobs = jobs.sort_values(["job_submit", "first_seen"], kind="stable")
jobs = jobs[jobs["job_submit"] < float(sys.argv[2])]
n = jobs["instances_num"].to_numpy()
expand = lambda column: np.repeat(jobs[column].to_numpy(float), n)
submit, life, cpu = expand("job_submit"), expand("duration"), expand("cpu")
_, start, end, host = bare_fifo_first_fit(submit, life, cpu, expand("memory") * 384.0, 50, 64.0, 384.0)
pd.DataFrame({"start_s": start, "end_s": end, "host": host}).to_parquet(sys.argv[3])
"""


def user_env(folder: Path | None) -> dict | None:
    """The environment of a process run as a user runs it, with Python's bytecode cache
    kept in ``folder`` (None: this process's environment as it is). This machine's
    environment sets PYTHONDONTWRITEBYTECODE=1, so each process run as it is compiles
    every simdc module from source again (some 50 modules, 0.7 MB of Python: 0.2-0.27 s
    of `compile` on the loaded machine), which an installed package never does (pip
    compiles it at install). The cache goes under ``folder`` (PYTHONPYCACHEPREFIX), never
    into the project or another checkout."""
    if folder is None:
        return None
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(folder)
    return env


def run_phases(config: Path, out: Path, env: dict | None = None) -> dict:
    """One ``simdc run`` split into phases (:data:`RUN_PHASES`), with its exit and the
    process's wall time."""
    started = time.perf_counter()
    # out's folder as the working directory: ``python -c`` puts it first on sys.path, and
    # run from a checkout it would import that checkout's simdc whatever PYTHONPATH says
    done = subprocess.run([sys.executable, "-c", RUN_PHASES, str(config), str(out)], capture_output=True, text=True,
                          env=env, cwd=out.parent)
    ended, wall = time.time(), time.perf_counter() - started
    phases = json.loads(done.stdout.strip().splitlines()[-1])
    phases["exit_s"] = ended - phases.pop("returned")
    phases["startup_and_other_s"] = wall - sum(phases.values())
    phases["process_s"] = wall
    return phases


def cloudsimpy_jobs(given: str | None, folder: Path) -> Path | None:
    """CloudSimPy's jobs.csv: ``given``, else taken from the mirror into ``folder``; None
    without either."""
    if given:
        return Path(given)
    if not CLOUDSIMPY_MIRROR.exists():
        return None
    target = folder / "jobs.csv"
    with open(target, "wb") as out:
        done = subprocess.run(["git", "-C", str(CLOUDSIMPY_MIRROR), "show", f"HEAD:{CLOUDSIMPY_JOBS}"], stdout=out)
    return target if done.returncode == 0 else None


def bare_fifo_first_fit(submit: np.ndarray, life: np.ndarray, cpu: np.ndarray, mem: np.ndarray,
                        hosts: int, cores: float, memory_gib: float):
    """The physical reference for a queue: a bare heapq loop with arrivals and departures
    as events, a FIFO queue without overtaking, first fit over ``hosts`` equal hosts (a
    request fits where booking + request <= capacity, with simdc's 1e-9 slack for sums of
    float sizes), each instance's start, end and host kept. Returns (wall s, start, end,
    host)."""
    from collections import deque

    started = time.perf_counter()
    submit_l, life_l, cpu_l, mem_l = submit.tolist(), life.tolist(), cpu.tolist(), mem.tolist()
    n = len(submit_l)
    free_cpu, free_mem = [cores + 1e-9] * hosts, [memory_gib + 1e-9] * hosts
    start, end, host = [float("nan")] * n, [float("nan")] * n, [-1] * n
    queue: deque[int] = deque()
    events = [(submit_l[0], 1, 0)] if n else []
    order = range(hosts)

    def place(i: int, t: float) -> bool:
        c, m = cpu_l[i], mem_l[i]
        for j in order:
            if free_cpu[j] >= c and free_mem[j] >= m:
                free_cpu[j] -= c
                free_mem[j] -= m
                start[i], host[i] = t, j
                heapq.heappush(events, (t + life_l[i], 0, i))
                return True
        return False

    while events:
        t, kind, i = heapq.heappop(events)
        if kind == 0:  # departure, then the queue's head while it fits
            j = host[i]
            free_cpu[j] += cpu_l[i]
            free_mem[j] += mem_l[i]
            end[i] = t
            while queue and place(queue[0], t):
                queue.popleft()
            continue
        if queue or not place(i, t):
            queue.append(i)
        if i + 1 < n:
            heapq.heappush(events, (submit_l[i + 1], 1, i + 1))
    wall = time.perf_counter() - started
    return wall, np.asarray(start), np.asarray(end), np.asarray(host)


def scenario_cloudsimpy(args) -> dict:
    """``simdc run`` on CloudSimPy's workload in a fresh process, ``--repeat`` times,
    each beside the bare loop: the ratio of medians, and of the best of each (on a shared
    machine the least disturbed run of each is the closest to what each costs)."""
    import tempfile

    import pandas as pd

    from simdc.workload.readers import Selection, read_trace

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        jobs = cloudsimpy_jobs(args.jobs_csv, folder)
        if jobs is None or not jobs.exists():
            return {"scenario": "cloudsimpy",
                    "skipped": f"no jobs.csv: give --jobs-csv (looked in {CLOUDSIMPY_MIRROR})"}
        config = folder / "cloudsimpy.toml"
        config.write_text(CLOUDSIMPY_TOML.format(trace=jobs, start=CLOUDSIMPY_WINDOW_S[0],
                                                 stop=CLOUDSIMPY_WINDOW_S[1]))
        script = Path(sys.executable).with_name("simdc")
        env = user_env(None if args.no_pycache else folder / "pycache")
        if env is not None:  # every module compiled once, before anything is timed
            subprocess.run([sys.executable, "-c", RUN_IMPORTS + ", simdc.__main__, rich.table"], check=True, env=env,
                           cwd=folder)  # not the caller's folder, first on sys.path: PYTHONPATH's simdc
            subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(HERE)!r}); import run"],
                           check=True, env=env)
        instances = read_trace(jobs, "cloudsimpy", selection=Selection(time_window_s=CLOUDSIMPY_WINDOW_S)).instances
        columns = [instances[c].to_numpy(float) for c in ("submit_s", "duration_s", "cpu_cores", "memory_gib")]
        walls, simulate, bare, imports, scripts = [], [], [], [], []
        # CPU time (user + system) beside the wall times: on the shared machine a process
        # waiting for a core adds wall time, not CPU time (a steadier view under load; the
        # target is on wall times)
        cpus, bare_cpus = [], []
        for k in range(args.repeat):
            started = time.perf_counter()  # what every simdc run pays before it reads a byte, and its exit
            subprocess.run([sys.executable, "-c", RUN_IMPORTS], check=True, env=env, cwd=folder)
            imports.append(time.perf_counter() - started)
            out = folder / f"out{k}"
            used = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            done = subprocess.run([str(script), "run", str(config), "--out", str(out)], capture_output=True, text=True,
                                  env=env)
            walls.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - used.ru_utime + after.ru_stime - used.ru_stime)
            if done.returncode:
                raise SystemExit(f"error: simdc run failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
            simulate.append(json.loads((out / "manifest.json").read_text())["wall_time_s"])
            cpu = time.process_time()
            wall, start, end, host = bare_fifo_first_fit(*columns, hosts=50, cores=64.0, memory_gib=384.0)
            bare_cpus.append(time.process_time() - cpu)
            bare.append(wall)
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", BARE_SCRIPT, str(jobs), str(CLOUDSIMPY_WINDOW_S[1]),
                            str(folder / "bare.parquet"), str(HERE)], check=True, env=env)
            scripts.append(time.perf_counter() - started)
        phases = run_phases(config, folder / "phases", env)
        table = pd.read_parquet(out / "instances.parquet").set_index("id").loc[instances["id"]]
        # to the last bits only: a time window gives simdc's instances duration = (submit + duration) - start
        script_same = bool(np.allclose(pd.read_parquet(folder / "bare.parquet")["start_s"].to_numpy(), start,
                                       rtol=0, atol=1e-6, equal_nan=True))
        same = bool(np.array_equal(table["admit_s"].to_numpy(float), start, equal_nan=True)
                    and np.array_equal(table["host"].to_numpy(float), np.where(host < 0, np.nan, host), equal_nan=True))
        sizes = {p.name: p.stat().st_size for p in out.iterdir()}
    wall, bare_wall = float(np.median(walls)), float(np.median(bare))
    return {"scenario": "cloudsimpy", "instances": len(instances), "wall_s": wall, "walls_s": walls,
            "simulate_s": float(np.median(simulate)), "imports_s": float(np.median(imports)),
            "bare_s": bare_wall, "bares_s": bare, "script_s": float(np.median(scripts)), "scripts_s": scripts,
            "script_same": script_same,
            "ratio_to_bare": wall / bare_wall, "best_ratio": min(walls) / min(bare), "same_placements": same,
            "cpus_s": cpus, "bare_cpus_s": bare_cpus, "cpu_ratio": float(np.median(cpus)) / float(np.median(bare_cpus)),
            "completed": int(np.isfinite(end).sum()), "phases": phases, "pycache": env is not None,
            "files_mib": {k: v / 2**20 for k, v in sizes.items()}}


def scenario_month1000(args) -> dict:
    """A month of the capacity study on 1,000 hosts: simdc's memory estimate of the
    month (simdc.budget, as simulate(check_memory=True) checks it), then a measured run
    of ``--month-days`` days (checked the same way), extrapolated linearly to 30 days."""
    import simdc
    from simdc import budget
    from capacity import capacity_config

    month = capacity_config(1000, 30 * 86400.0)
    estimate, available = budget.estimate(month), budget.available_bytes()
    figures = {"scenario": "month1000", "estimate_gib": estimate.bytes / 2**30, "available_gib":
               (available or float("nan")) / 2**30, "estimate_instances": estimate.instances, "refused": None,
               "spilled_estimate_gib": estimate.spilled_bytes / 2**30}
    try:
        figures["month_spills"] = budget.check(month, available=available, spill=None).spill
    except budget.TooBigError as refusal:
        figures["refused"] = str(refusal)
    config = capacity_config(1000, args.month_days * 86400.0)
    figures["days"] = args.month_days
    figures["fraction_estimate_gib"] = budget.estimate(config).bytes / 2**30
    import pandas  # noqa: F401  imports in the base the extrapolation keeps fixed
    import simdc.engine.simulation  # noqa: F401

    figures["rss_before_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    try:
        # check_memory=True: refused if even the fraction won't fit; --spill: spilled as the month would be
        results = simdc.simulate(config, spill=True if args.spill else None)
    except budget.TooBigError as refusal:
        figures["fraction_refused"] = str(refusal)
        return figures
    wall = time.perf_counter() - started
    return {**figures, "wall_s": wall, **_per_placed(results, wall), "spilled": args.spill,
            "submitted": int(results.summary["submitted"].iloc[0])}


def cells_config(cells: int, hosts_per_cell: int, duration_s: float):
    """The capacity study (benchmarks/capacity.py) as ``cells`` cells of
    ``hosts_per_cell`` hosts each, the arrival rate that of the whole fleet, each cell an
    equal share of it (routing by a hash of the id)."""
    from capacity import capacity_dict

    from simdc.config import validate

    raw = capacity_dict(cells * hosts_per_cell, duration_s)
    group = {**raw.pop("cluster")["hosts"][0], "count": hosts_per_cell}
    raw["cells"] = [{"name": f"cell{i}", "share": 1 / cells, "hosts": [group]} for i in range(cells)]
    raw["cells"][-1]["share"] = 1 - (cells - 1) / cells  # the shares sum to 1 exactly
    return validate(raw)


def scenario_cells(args) -> dict:
    """One fleet of cells on ``--workers`` (1: in this process, without Dask); the
    driver's peak memory is this process's (the workers' are their own)."""
    import tempfile

    from simdc.cells import run_cells

    cells, workers = int(args.cells.split(",")[0]), int(args.workers.split(",")[0])
    config = cells_config(cells, args.hosts_per_cell, args.days * 86400.0)
    with tempfile.TemporaryDirectory() as folder, _ChildrenCpu() as children:
        started, cpu_before = time.perf_counter(), time.process_time()
        run = run_cells(config, folder, workers=workers)
        wall = time.perf_counter() - started
        cpu_s = time.process_time() - cpu_before + children.cpu_s()
        instances_mib = (Path(folder) / "instances.parquet").stat().st_size / 2**20
    summary = run.summary.set_index("platform")
    placed = {str(k): int(v) for k, v in summary["placed"].items()}
    return {"scenario": "cells", "cells": cells, "hosts": cells * args.hosts_per_cell, "workers": workers,
            "days": args.days, "wall_s": wall, "placed": placed, "submitted": int(summary["submitted"].iloc[0]),
            "us_per_placed": wall / sum(placed.values()) * 1e6, "instances_parquet_mib": instances_mib,
            "cpu_s": cpu_s}


class _ChildrenCpu:
    """CPU seconds (user + system) of this process's children and theirs (a local Dask
    cluster's nannies and workers), polled every 0.25 s with psutil (Dask's own
    dependency): the last reading of each, so up to 0.25 s of each is missed. Their
    rusage is no help: the workers are not reaped by the time the run returns."""

    def __enter__(self) -> "_ChildrenCpu":
        import threading

        import psutil

        self._seen: dict[int, float] = {}
        self._stop = threading.Event()

        def poll() -> None:
            me = psutil.Process()
            while not self._stop.wait(0.25):
                for child in me.children(recursive=True):
                    try:
                        times = child.cpu_times()
                    except psutil.Error:
                        continue
                    self._seen[child.pid] = times.user + times.system

        self._thread = threading.Thread(target=poll, daemon=True)
        self._thread.start()
        return self

    def cpu_s(self) -> float:
        return sum(self._seen.values())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


SCENARIOS = {"erlang": scenario_erlang, "fleet": scenario_fleet, "capacity": scenario_capacity,
             "contention100": scenario_scaled, "isolation100": scenario_scaled,
             "erlang_trace": scenario_erlang_trace, "month1000": scenario_month1000,
             "cloudsimpy": scenario_cloudsimpy, "cells": scenario_cells}
KNOWN = [*SCENARIOS, "memory", "trace", "sweep", "cli"]
DEFAULT = ["erlang", "fleet", "memory", "trace", "sweep", "capacity", "contention100", "isolation100",
           "erlang_trace", "cloudsimpy", "cli"]


def run_child(name: str, extra: list[str]) -> dict:
    """Run one scenario in a fresh interpreter; return its figures with its peak memory."""
    out = subprocess.run([sys.executable, __file__, "--child", name, *extra],
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"error: scenario {name} failed (exit {out.returncode}): "
                         f"{(out.stderr.strip().splitlines() or ['no message'])[-1]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def load() -> str:
    """The load average (1, 5, 15 min), as ``uptime`` gives it."""
    return "load " + "/".join(f"{x:.1f}" for x in os.getloadavg())


def cli_help_s(runs: int = 5) -> list[float]:
    """Wall times of ``simdc --help`` in ``runs`` fresh processes (the venv's script)."""
    script = Path(sys.executable).with_name("simdc")
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([str(script), "--help"], capture_output=True, check=True)
        walls.append(time.perf_counter() - started)
    return walls


def _platforms(counts: dict) -> str:
    return ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in counts.items())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenarios", nargs="*", default=DEFAULT, help=f"any of {', '.join(KNOWN)}")
    parser.add_argument("--arrivals", type=int, default=200_000)
    parser.add_argument("--instances", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="erlang: calls after the first, for the median")
    parser.add_argument("--hosts", default="100,1000", help="capacity: host counts, comma-separated")
    parser.add_argument("--days", type=float, default=7.0, help="contention100, isolation100: simulated days")
    parser.add_argument("--month-days", type=float, default=1.0, help="month1000: days actually run")
    parser.add_argument("--spill", action="store_true", help="month1000: run spilled, as the month would run")
    parser.add_argument("--jobs-csv", help="cloudsimpy: CloudSimPy's jobs.csv (default: from its mirror)")
    parser.add_argument("--cells", default="2,4,8", help="cells: cell counts, comma-separated")
    parser.add_argument("--workers", default="1,2", help="cells: worker counts, comma-separated (1: no Dask)")
    parser.add_argument("--hosts-per-cell", type=int, default=100, help="cells: hosts in each cell")
    parser.add_argument("--no-pycache", action="store_true",
                        help="cloudsimpy: run its processes in this environment as it is (PYTHONDONTWRITEBYTECODE "
                             "kept: every simdc module compiled at each start), not with a bytecode cache")
    parser.add_argument("--child")
    args = parser.parse_args()
    unknown = [name for name in args.scenarios if name not in KNOWN]
    if unknown:
        parser.exit(2, f"error: unknown scenario {unknown[0]!r}: expected one of {', '.join(KNOWN)}\n")
    if args.child:
        figures = SCENARIOS[args.child](args)
        figures["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        figures["load"] = load()
        print(json.dumps(figures))
        return
    print(f"# {platform.node()}: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    for name in args.scenarios:
        if name == "erlang":
            f = run_child("erlang", ["--arrivals", str(args.arrivals), "--repeat", str(args.repeat)])
            print(f"erlang: {f['arrivals']:,} arrivals: simdc.simulate {f['wall_s']:.2f} s = "
                  f"{f['arrivals_per_s']:,.0f} arrivals/s (median of {args.repeat}: "
                  f"{', '.join(f'{w:.2f}' for w in f['walls_s'])} s); first call in a fresh process "
                  f"{f['first_wall_s']:.2f} s = {f['first_arrivals_per_s']:,.0f}/s; bare heapq loop "
                  f"{f['bare_loop_arrivals_per_s']:,.0f}/s (simdc {f['ratio_to_bare']:.1f}x slower); bare loop "
                  f"keeping start and end per instance {f['records_loop_arrivals_per_s']:,.0f}/s "
                  f"({f['ratio_to_records']:.1f}x); peak {f['peak_rss_mib']:,.0f} MiB; rejected "
                  f"{f['rejected']:,} vs bare {f['bare_rejected']:,}; engine lane {f['lanes']}")
        elif name == "fleet":
            f = run_child("fleet", ["--instances", str(args.instances)])
            print(f"fleet: {f['instances']:,} instances × 2 platforms on 100 hosts, 7 days, usage every 300 s: "
                  f"{f['wall_s']:.1f} s ({f['instances_per_s']:,.0f} instance-runs/s; vm ≈ {f['vm_s']:.0f} s, "
                  f"container ≈ {f['container_s']:.0f} s with the workload and tables); peak "
                  f"{f['peak_rss_mib']:,.0f} MiB; engine lanes {f['lanes']}")
        elif name == "memory":
            for n in (250_000, 500_000, 1_000_000):
                f = run_child("fleet", ["--instances", str(n)])
                print(f"memory: {f['instances']:>9,} instances: peak {f['peak_rss_mib']:7,.0f} MiB, "
                      f"{f['peak_rss_mib'] * 2**20 / f['instances']:,.0f} bytes per instance, {f['wall_s']:.1f} s")
        elif name == "capacity":
            for hosts in args.hosts.split(","):
                f = run_child("capacity", ["--hosts", hosts])
                print(f"capacity: {f['hosts']:,} hosts, 6 h, {f['submitted']:,} arrivals: "
                      f"**{f['us_per_placed']:,.0f} µs per placed instance** ({f['wall_s']:.1f} s for "
                      f"{f['placed_total']:,} placed: {_platforms(f['placed'])}); peak {f['peak_rss_mib']:,.0f} MiB; "
                      f"CPU booked after 2 h {_platforms({k: f'{v:.0%}' for k, v in f['booked_cpu'].items()})}; "
                      f"failures {_platforms(f['failures'])} (killing {_platforms(f['failure_kills'])}); "
                      f"queue mean {_platforms({k: f'{v:.1f} s' for k, v in f['queue_mean_s'].items()})}; "
                      f"rejected {_platforms(f['rejected'])}; lanes {f['lanes']}; {f['load']}")
        elif name in ("contention100", "isolation100"):
            f = run_child(name, ["--days", str(args.days)])
            print(f"{name}: 100 hosts, {f['days']:g} days, {f['submitted']:,} arrivals × {len(f['platforms'])} "
                  f"platforms: **{f['us_per_placed']:,.0f} µs per placed instance** ({f['wall_s']:.1f} s for "
                  f"{f['placed_total']:,} placed: {_platforms(f['placed'])}); peak {f['peak_rss_mib']:,.0f} MiB; "
                  f"lanes {f['lanes']}; {f['load']}")
        elif name == "erlang_trace":
            f = run_child("erlang_trace", ["--arrivals", str(args.arrivals), "--repeat", str(args.repeat)])
            print(f"erlang_trace: {f['arrivals']:,} arrivals from a {f['csv_mib']:.1f} MiB simdc CSV: simdc.simulate "
                  f"with reading {f['wall_s']:.2f} s = {f['arrivals_per_s']:,.0f} arrivals/s (median of "
                  f"{args.repeat}: {', '.join(f'{w:.2f}' for w in f['walls_s'])} s; the first "
                  f"{f['first_wall_s']:.2f} s); bare heapq loop {f['bare_loop_arrivals_per_s']:,.0f}/s: simdc "
                  f"**{f['ratio_to_bare']:.1f}x** the bare loop; peak {f['peak_rss_mib']:,.0f} MiB; rejected "
                  f"{f['rejected']:,} (drawn workload {f['drawn_rejected']:,}, bare {f['bare_rejected']:,}); "
                  f"lane {f['lanes']}; {f['load']}")
        elif name == "cloudsimpy":
            f = run_child("cloudsimpy", ["--repeat", str(args.repeat)]
                          + (["--jobs-csv", args.jobs_csv] if args.jobs_csv else [])
                          + (["--no-pycache"] if args.no_pycache else []))
            if "skipped" in f:
                print(f"cloudsimpy: skipped: {f['skipped']}")
                continue
            print(f"cloudsimpy: CloudSimPy's first 500 jobs, {f['instances']:,} instances, 50 machines, FIFO + first "
                  f"fit: simdc run (a fresh process, reading and writing included) {f['wall_s']:.2f} s (median of "
                  f"{len(f['walls_s'])}: {', '.join(f'{w:.2f}' for w in f['walls_s'])} s; simulate "
                  f"{f['simulate_s']:.2f} s of it, reading included; a process that only imports what it imports "
                  f"{f['imports_s']:.2f} s); bare FIFO + first-fit heapq loop {f['bare_s']:.2f} s "
                  f"({', '.join(f'{w:.2f}' for w in f['bares_s'])}): simdc **{f['ratio_to_bare']:.1f}x** the bare "
                  f"loop (best {min(f['walls_s']):.2f} s over best {min(f['bares_s']):.2f} s: {f['best_ratio']:.1f}x); "
                  f"CPU time (user + system; less moved by the load): simdc run {np.median(f['cpus_s']):.2f} s, "
                  f"bare loop {np.median(f['bare_cpus_s']):.2f} s (medians): {f['cpu_ratio']:.1f}x (best "
                  f"{min(f['cpus_s']) / min(f['bare_cpus_s']):.1f}x); "
                  f"same placements: {'yes' if f['same_placements'] else 'NO'}; files "
                  f"{', '.join(f'{k} {v:.1f} MiB' for k, v in f['files_mib'].items() if v >= 0.05)}; "
                  f"peak {f['peak_rss_mib']:,.0f} MiB (the bare loop's process); processes "
                  f"{'with a bytecode cache' if f['pycache'] else 'compiling simdc at each start (--no-pycache)'}; "
                  f"{f['load']}")
            print(f"cloudsimpy: the bare loop as a script, in a process of its own (pandas reads jobs.csv, "
                  f"CloudSimPy's reader restated, the loop, starts, ends and hosts to Parquet): {f['script_s']:.2f} s "
                  f"(median of {len(f['scripts_s'])}: {', '.join(f'{w:.2f}' for w in f['scripts_s'])} s): simdc run "
                  f"**{f['wall_s'] / f['script_s']:.1f}x** the script (best "
                  f"{min(f['walls_s']) / min(f['scripts_s']):.1f}x); same starts (to 1 µs): "
                  f"{'yes' if f['script_same'] else 'NO'}")
            print("cloudsimpy: one more simdc run, by phase: " + ", ".join(
                f"{k.removesuffix('_s').replace('_', ' ')} {v:.2f} s" for k, v in f["phases"].items()))
        elif name == "cli":
            walls = cli_help_s()
            print(f"cli: simdc --help **{np.median(walls):.2f} s** (median of 5 fresh processes: "
                  f"{', '.join(f'{w:.2f}' for w in walls)} s); {load()}")
        elif name == "month1000":
            f = run_child("month1000", ["--month-days", str(args.month_days), *(["--spill"] if args.spill else [])])
            print(f"month1000: simdc's estimate for 30 days of 1,000 hosts: {f['estimate_gib']:,.1f} GiB "
                  f"({f['estimate_instances']:,} instances a platform), {f['spilled_estimate_gib']:,.1f} GiB spilled, "
                  f"against {f['available_gib']:,.1f} GiB available: "
                  + (f"REFUSED by simdc.budget: {f['refused']}" if f["refused"] else
                     "runs spilled" if f["month_spills"] else "fits"))
            if "fraction_refused" in f:
                print(f"month1000: even {f['days']:g} days is refused: {f['fraction_refused']}")
            else:
                days = f["days"]
                grown = f["peak_rss_mib"] - f["rss_before_mib"]
                print(f"month1000: ran {days:g} of 30 days{' spilled' if f['spilled'] else ''} "
                      f"(estimate {f['fraction_estimate_gib']:.1f} GiB): "
                      f"{f['wall_s']:,.0f} s, {f['us_per_placed']:,.0f} µs per placed instance "
                      f"({f['placed_total']:,} placed: {_platforms(f['placed'])}), peak {f['peak_rss_mib']:,.0f} MiB; "
                      f"per day {f['wall_s'] / days:,.0f} s and {grown / days:,.0f} MiB over the "
                      f"{f['rss_before_mib']:,.0f} MiB of imports; extrapolated linearly to 30 days (not run): "
                      f"{f['wall_s'] / days * 30 / 3600:,.1f} h and "
                      f"{(f['rss_before_mib'] + grown / days * 30) / 1024:,.1f} GiB; lanes {f['lanes']}; {f['load']}")
        elif name == "cells":
            for cells in args.cells.split(","):
                for workers in args.workers.split(","):
                    f = run_child("cells", ["--cells", cells, "--workers", workers, "--days", str(args.days),
                                            "--hosts-per-cell", str(args.hosts_per_cell)])
                    print(f"cells: {f['cells']} cells × {args.hosts_per_cell} hosts, {f['days']:g} days, "
                          f"{f['submitted']:,} arrivals, {'in the driver' if f['workers'] == 1 else ''}"
                          f"{'' if f['workers'] == 1 else f'{workers} local workers'}: **{f['wall_s']:.1f} s** "
                          f"({f['us_per_placed']:,.0f} µs per placed instance, {_platforms(f['placed'])}); "
                          f"driver peak **{f['peak_rss_mib']:,.0f} MiB**; instances.parquet "
                          f"{f['instances_parquet_mib']:.1f} MiB; CPU {f['cpu_s']:.1f} s, "
                          f"{f['cpu_s'] / f['wall_s']:.2f} cores busy on average; {f['load']}")
        elif name == "trace":
            subprocess.run([sys.executable, str(HERE / "trace_read.py")], check=False)
        elif name == "sweep":
            subprocess.run([sys.executable, str(HERE / "sweep.py")], check=False)


if __name__ == "__main__":
    main()
