"""Writing a run's Parquet tables (benchmarks/README.md, "Writing results (issue #16,
`write`)"): ``simdc.results.write_parquet`` against main's way (``DataFrame.to_parquet``
with ``PARQUET_OPTIONS``), CPU ms per table, median of ``--repeat`` rounds, the two
interleaved in each round; the files' sizes; and the other encodings tried.

    python benchmarks/write_results.py capacity --hosts 100 --hours 6
    python benchmarks/write_results.py cloudsimpy --jobs-csv jobs.csv   # CloudSimPy's workload
    python benchmarks/write_results.py capacity --against /work/base9   # whole Results.write, fresh processes

``--against CHECKOUT``: ``Results.write`` of the same results once per fresh process
(first calls included, as in ``simdc run``), alternately with CHECKOUT's simdc and this
one's, ``--repeat`` pairs; CPU ms of the call.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import simdc
from simdc.results import PARQUET_OPTIONS, arrow_table, write_parquet

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TABLES = ("instances", "timeseries", "workload")


def main_way(frame, path) -> None:
    """How main (5210a68) wrote a table."""
    frame.to_parquet(path, index=False, **PARQUET_OPTIONS)


def cpu_ms(write, frame, path) -> float:
    started = time.process_time()
    write(frame, path)
    return (time.process_time() - started) * 1e3


def results_of(args):
    if args.scenario == "capacity":
        from capacity import capacity_config

        return simdc.simulate(capacity_config(args.hosts, args.hours * 3600.0))
    from run import CLOUDSIMPY_TOML, CLOUDSIMPY_WINDOW_S

    from simdc.config import load_config

    folder = Path(tempfile.mkdtemp())
    config = folder / "cloudsimpy.toml"
    config.write_text(CLOUDSIMPY_TOML.format(trace=Path(args.jobs_csv).resolve(), start=CLOUDSIMPY_WINDOW_S[0],
                                             stop=CLOUDSIMPY_WINDOW_S[1]))
    return simdc.simulate(load_config(config))


def encodings(frame, folder: Path) -> None:
    """The same table with other writer options: CPU ms (median of 5) and KiB."""
    table = arrow_table(frame)
    chosen = dict(use_dictionary=[n for n, c in zip(table.column_names, table.columns)
                                  if simdc.results._repeats(c)],
                  write_statistics=[n for n in table.column_names if n in simdc.results.STATISTICS_COLUMNS])
    variants = {
        "main: dictionary everywhere, statistics everywhere": {},
        "written: sampled dictionary, key statistics": chosen,
        "sampled dictionary, statistics everywhere": {**chosen, "write_statistics": True},
        "no dictionary": {**chosen, "use_dictionary": False},
        "written, zstd (level 1)": {**chosen, "compression": "zstd", "compression_level": 1},
        "written, zstd (level 3, pyarrow's)": {**chosen, "compression": "zstd"},
        "written, lz4": {**chosen, "compression": "lz4"},
        "written, uncompressed": {**chosen, "compression": "none"},
    }
    for label, options in variants.items():
        path = folder / "variant.parquet"
        times = []
        for _ in range(5):
            started = time.process_time()
            pq.write_table(table, path, **{**PARQUET_OPTIONS, **options})
            times.append((time.process_time() - started) * 1e3)
        print(f"    {label:55s} {np.median(times):7.1f} ms {path.stat().st_size / 1024:8.0f} KiB")
    started = time.process_time()
    for _ in range(5):
        pa.Table.from_pandas(frame, preserve_index=False)
    from_pandas = (time.process_time() - started) * 200
    started = time.process_time()
    for _ in range(5):
        arrow_table(frame)
    direct_ms = (time.process_time() - started) * 200
    print(f"    Arrow table: from_pandas {from_pandas:.1f} ms, arrow_table {direct_ms:.1f} ms")


# One Results.write in a fresh process: argv[1] a pickle of the results, argv[2] a folder.
ONCE = """
import json, pickle, sys, time
from pathlib import Path
import pyarrow.parquet  # imported in simdc run before the write
import simdc
results = pickle.load(open(sys.argv[1], "rb"))
started = time.process_time()
results.write(Path(sys.argv[2]))
print(json.dumps({"cpu_ms": (time.process_time() - started) * 1e3, "simdc": simdc.__file__}))
"""


def fresh_writes(results, against: str, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        pickled = folder / "results.pkl"
        pickled.write_bytes(pickle.dumps(results))
        times: dict[str, list[float]] = {against: [], "this": []}
        for k in range(repeat):
            for who, path in ((against, against), ("this", str(HERE.parent))):
                env = {**os.environ, "PYTHONPATH": path}
                out = folder / f"{k}-{'this' if who == 'this' else 'against'}"
                done = subprocess.run([sys.executable, "-c", ONCE, str(pickled), str(out)],
                                      capture_output=True, text=True, env=env, cwd=folder)  # not this folder's simdc
                if done.returncode:
                    raise SystemExit(f"error: the write with {path} failed: {done.stderr.strip()[-400:]}")
                written = json.loads(done.stdout)
                assert written["simdc"].startswith(str(Path(path).resolve())), written["simdc"]
                times[who].append(written["cpu_ms"])
        for who, values in times.items():
            print(f"Results.write, fresh process, {who}: median {np.median(values):.1f} ms CPU "
                  f"({', '.join(f'{v:.0f}' for v in values)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=("capacity", "cloudsimpy"))
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--jobs-csv", default="jobs.csv")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--encodings", action="store_true", help="also time other writer options")
    parser.add_argument("--against", help="another checkout's simdc: whole writes in fresh processes")
    args = parser.parse_args()
    results = results_of(args)
    if args.against:
        fresh_writes(results, args.against, args.repeat)
        return
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        for name in TABLES:
            frame = getattr(results, name)
            times = {"main": [], "write_parquet": []}
            for _ in range(args.repeat):
                times["main"].append(cpu_ms(main_way, frame, folder / "main.parquet"))
                times["write_parquet"].append(cpu_ms(write_parquet, frame, folder / "new.parquet"))
            assert pq.read_table(folder / "new.parquet").equals(pq.read_table(folder / "main.parquet"))
            main_ms, new_ms = np.median(times["main"]), np.median(times["write_parquet"])
            print(f"{name} ({len(frame):,} rows x {frame.shape[1]}): main {main_ms:.1f} ms "
                  f"{(folder / 'main.parquet').stat().st_size / 1024:.0f} KiB; write_parquet {new_ms:.1f} ms "
                  f"{(folder / 'new.parquet').stat().st_size / 1024:.0f} KiB; {new_ms / main_ms - 1:+.0%}")
            if args.encodings:
                encodings(frame, folder)


if __name__ == "__main__":
    main()
