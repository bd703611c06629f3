"""Reading speed of the trace readers: rows per second, on one core.

    python benchmarks/trace_read.py [--repeat 3] [--all]

Reads the Google 2011 task_events part (450,146 events, gzip) into instances, the whole
conversion (parse, validate, attempts, canonical table), best of ``--repeat`` runs, with
Arrow limited to one thread. ``--all`` also times the other samples. The samples are
read from ``$SIMDC_TRACES`` (default: ``../shared/traces`` beside the repository).
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simdc.workload.readers import ReaderOptions, Selection, read_trace  # noqa: E402

TRACES = Path(os.environ.get("SIMDC_TRACES", ROOT.parent / "shared" / "traces"))
TARGET_ROWS_PER_S = 500_000


def rows_in(paths: list[Path]) -> int:
    """Data rows of the files under ``paths`` (lines of text files, rows of Parquet)."""
    total = 0
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.suffix == ".parquet":
                total += pq.ParquetFile(file).metadata.num_rows
            elif file.name.endswith((".csv", ".gz")):
                opener = gzip.open if file.suffix == ".gz" else open
                with opener(file, "rb") as text:
                    total += sum(1 for line in text if line.strip())
    return total


def measure(name: str, paths: list[Path], fmt: str, repeat: int, options=None, selection=None) -> float:
    rows = rows_in(paths)
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        data = read_trace(paths, fmt, options, selection)
        best = min(best, time.perf_counter() - started)
    rate = rows / best
    print(f"{name:<34} {rows:>10,} rows  {best:6.2f} s  {rate:>12,.0f} rows/s  -> {len(data.instances):,} instances")
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--all", action="store_true", help="time every sample, not only Google's")
    args = parser.parse_args()
    if not TRACES.exists():
        print(f"no trace samples under {TRACES}: set SIMDC_TRACES", file=sys.stderr)
        return 2
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    print(f"pyarrow {pa.__version__}, 1 thread, best of {args.repeat}")
    rate = measure("google task_events part 0", [TRACES / "google_2011/task_events-part-00000-of-00500.csv.gz"],
                   "google", args.repeat)
    if args.all:
        measure("azure v2 vmtable + cpu readings", [TRACES / "azure_v2_2019/vmtable_subset_20vms_longest.csv",
                                                    TRACES / "azure_v2_2019/vm_cpu_readings_20vms.csv.gz"],
                "azure", args.repeat)
        measure("bitbrains rnd 2013-7 (20 files)", [TRACES / "bitbrains_rnd/2013-7"], "bitbrains", args.repeat)
        measure("opendc surf week (parquet)", [TRACES / "opendc/v5/surf_week"], "opendc", args.repeat)
        measure("alibaba2017 batch_task, 1 h window", [TRACES / "alibaba_v2017/batch_task.csv"], "alibaba2017",
                args.repeat, selection=Selection(time_window_s=(21600, 25200)))
        measure("alibaba2017 batch_task, all 11M", [TRACES / "alibaba_v2017/batch_task.csv"], "alibaba2017", 1,
                ReaderOptions())
    verdict = "meets" if rate >= TARGET_ROWS_PER_S else "misses"
    print(f"google task_events: {rate:,.0f} rows/s {verdict} the {TARGET_ROWS_PER_S:,} rows/s target; "
          f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
