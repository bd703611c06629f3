"""Reading speed of the trace readers: rows per second and peak memory, on one core.

    python benchmarks/trace_read.py [--repeat 3] [--rows 500000] [--all]

Times, best of ``--repeat`` runs with Arrow limited to one thread, the whole conversion
(parse, validate, canonical table) of:

- the Google 2011 task_events part (450,146 events, gzip) into instances;
- simdc's own format, CSV and Parquet, ``--rows`` instances with all 14 columns as
  ``simdc trace convert`` writes them (drawn once from a fixed seed and cached in the
  temporary folder; see :func:`own_sample`).

``--all`` also times the other samples. Each case runs in a fresh process, so the peak
memory (max RSS) it prints is its own (imports included). The samples are read from
``$SIMDC_TRACES`` (default: ``../shared/traces`` beside the repository). On a shared
machine the ratio between cases measured in the same run holds better than the rates.
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simdc.workload import own  # noqa: E402
from simdc.workload.readers import ReaderOptions, Selection, read_trace  # noqa: E402

TRACES = Path(os.environ.get("SIMDC_TRACES", ROOT.parent / "shared" / "traces"))
TARGETS = {"google": 500_000, "own-csv": 1_000_000, "own-parquet": 1_000_000}  # rows/s (issues #8 and #14)


def own_sample(rows: int, suffix: str) -> Path:
    """simdc's own format, ``rows`` instances, written once per size and kept in the
    temporary folder: Poisson arrivals over a day, lognormal lifetimes, Azure-like
    sizes, usage below the request, a third batch, three images and a few limits."""
    path = Path(tempfile.gettempdir()) / f"simdc-bench-own-{rows}{suffix}"
    if path.exists():
        return path
    rng = np.random.default_rng(20261129)
    cores = rng.choice([1.0, 2.0, 4.0, 8.0], rows, p=[0.5, 0.25, 0.11, 0.14])
    memory = cores * rng.choice([0.75, 1.75, 3.5, 7.0], rows)
    limited = rng.random(rows) < 0.1
    table = pd.DataFrame({
        "id": np.arange(rows),
        "submit_s": np.sort(rng.uniform(0, 86400, rows)).round(3),
        "duration_s": rng.lognormal(7.5, 1.5, rows).round(3),
        "cpu_cores": cores,
        "memory_gib": memory,
        "cpu_used": (cores * rng.beta(0.6, 5.4, rows)).round(4),
        "memory_used_gib": (memory * rng.beta(1.8, 4.2, rows)).round(4),
        "kind": np.where(rng.random(rows) < 1 / 3, "batch", "service"),
        "image": rng.choice(["nginx:1.25", "redis:7", "postgres:16"], rows),
        "priority": rng.integers(0, 3, rows),
        "cpu_limit": np.where(limited, cores, np.nan),
        "memory_limit_gib": np.where(limited, memory, np.nan),
        "membw_intensity": rng.beta(1, 9, rows).round(3),
        "io_intensity": rng.beta(1, 9, rows).round(3),
    })
    partial = path.with_name(path.name + ".part" + suffix)
    own.write(table, partial)
    partial.rename(path)
    return path


def rows_in(paths: list[Path]) -> int:
    """Data rows of the files under ``paths`` (non-blank lines of text files, less the
    header of simdc's own CSV; rows of Parquet)."""
    total = 0
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.suffix == ".parquet":
                total += pq.ParquetFile(file).metadata.num_rows
            elif file.name.endswith((".csv", ".gz")):
                opener = gzip.open if file.suffix == ".gz" else open
                with opener(file, "rb") as text:
                    first = text.readline()
                    total += sum(1 for line in text if line.strip()) + (not first.startswith(b"id,"))
    return total


def cases(rows: int) -> dict[str, tuple]:
    """name: (label, paths, format, options, selection)."""
    return {
        "google": ("google task_events part 0", [TRACES / "google_2011/task_events-part-00000-of-00500.csv.gz"],
                   "google", None, None),
        "own-csv": (f"simdc own CSV, {rows:,} instances", [own_sample(rows, ".csv")], "auto", None, None),
        "own-parquet": (f"simdc own Parquet, {rows:,} instances", [own_sample(rows, ".parquet")], "auto", None, None),
        "azure": ("azure v2 vmtable + cpu readings", [TRACES / "azure_v2_2019/vmtable_subset_20vms_longest.csv",
                                                      TRACES / "azure_v2_2019/vm_cpu_readings_20vms.csv.gz"],
                  "azure", None, None),
        "bitbrains": ("bitbrains rnd 2013-7 (20 files)", [TRACES / "bitbrains_rnd/2013-7"], "bitbrains", None, None),
        "opendc": ("opendc surf week (parquet)", [TRACES / "opendc/v5/surf_week"], "opendc", None, None),
        "alibaba-window": ("alibaba2017 batch_task, 1 h window", [TRACES / "alibaba_v2017/batch_task.csv"],
                           "alibaba2017", None, Selection(time_window_s=(21600, 25200))),
        "alibaba-all": ("alibaba2017 batch_task, all 11M", [TRACES / "alibaba_v2017/batch_task.csv"], "alibaba2017",
                        ReaderOptions(), None),
    }


def measure(name: str, rows_wanted: int, repeat: int) -> None:
    """Time one case in this process and print one line: rows/s and peak memory."""
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    label, paths, fmt, options, selection = cases(rows_wanted)[name]
    rows = rows_in(paths)
    best = float("inf")
    for _ in range(repeat if name != "alibaba-all" else 1):
        started = time.perf_counter()
        data = read_trace(paths, fmt, options, selection)
        best = min(best, time.perf_counter() - started)
    rate = rows / best
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    target = TARGETS.get(name)
    verdict = "" if target is None else f"  {'meets' if rate >= target else 'misses'} {target:,}/s"
    print(f"{label:<36} {rows:>10,} rows {best:6.2f} s {rate:>12,.0f} rows/s  peak {peak:5,.0f} MiB"
          f"  -> {len(data.instances):,} instances{verdict}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=500_000, help="instances in the own-format sample")
    parser.add_argument("--all", action="store_true", help="time every sample, not only Google's and simdc's own")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # run one case in this process
    args = parser.parse_args()
    if args.case:
        measure(args.case, args.rows, args.repeat)
        return 0
    if not TRACES.exists():
        print(f"no trace samples under {TRACES}: set SIMDC_TRACES", file=sys.stderr)
        return 2
    print(f"pyarrow {pa.__version__}, 1 thread, best of {args.repeat}, each case in a fresh process")
    names = list(cases(args.rows)) if args.all else ["google", "own-csv", "own-parquet"]
    for name in names:
        result = subprocess.run([sys.executable, __file__, "--case", name, "--rows", str(args.rows),
                                 "--repeat", str(args.repeat)], check=False)
        if result.returncode:
            return result.returncode
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
