"""``simdc run`` on CloudSimPy's workload, before and after a change, interleaved: the
wall time and the CPU time (user + sys) of each process, and their ratio per pair. CPU
time moves less than wall time on a shared machine, where a process waits for a core.

    python benchmarks/ab_run.py --before /work/main --pairs 6 [--jobs-csv jobs.csv]

"Before" runs with ``PYTHONPATH=BEFORE`` (another checkout's simdc), "after" with the
simdc installed here; both with a bytecode cache in a temporary folder (see
``run.user_env``). The config is the cloudsimpy scenario's (``run.CLOUDSIMPY_TOML``).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import CLOUDSIMPY_TOML, CLOUDSIMPY_WINDOW_S, cloudsimpy_jobs, load, user_env  # noqa: E402


def timed_run(env: dict, config: Path, out: Path) -> tuple[float, float]:
    """(wall s, CPU s) of one ``simdc run CONFIG --out OUT`` process."""
    shutil.rmtree(out, ignore_errors=True)
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("simdc")), "run", str(config), "--out", str(out)],
                   env=env, check=True, capture_output=True)
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", required=True, help="a checkout whose simdc is 'before' (PYTHONPATH)")
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--jobs-csv", help="CloudSimPy's jobs.csv (default: from its mirror)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        jobs = cloudsimpy_jobs(args.jobs_csv, folder)
        if jobs is None or not jobs.exists():
            raise SystemExit("error: no jobs.csv: give --jobs-csv")
        config = folder / "cloudsimpy.toml"
        config.write_text(CLOUDSIMPY_TOML.format(trace=jobs, start=CLOUDSIMPY_WINDOW_S[0],
                                                 stop=CLOUDSIMPY_WINDOW_S[1]))
        after = user_env(folder / "pycache")
        envs = {"before": {**after, "PYTHONPATH": args.before}, "after": after}
        for name, env in envs.items():  # bytecode cached, nothing timed
            timed_run(env, config, folder / name)
        figures = {name: [] for name in envs}
        for _ in range(args.pairs):
            for name, env in envs.items():
                figures[name].append(timed_run(env, config, folder / name))
    for name, rows in figures.items():
        wall, cpu = np.array(rows).T
        print(f"{name}: wall median {np.median(wall):.2f} s ({', '.join(f'{w:.2f}' for w in wall)}); "
              f"CPU median {np.median(cpu):.2f} s ({', '.join(f'{c:.2f}' for c in cpu)})")
    ratio = np.array(figures["after"]) / np.array(figures["before"])
    print(f"after / before, per pair: wall {', '.join(f'{r:.2f}' for r in ratio[:, 0])} (median "
          f"{np.median(ratio[:, 0]):.2f}); CPU {', '.join(f'{r:.2f}' for r in ratio[:, 1])} (median "
          f"{np.median(ratio[:, 1]):.2f}); {load()}")


if __name__ == "__main__":
    main()
