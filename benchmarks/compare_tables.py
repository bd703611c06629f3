"""Do two commits give the same results? Dump the four tables of every example config, then compare.

    python benchmarks/compare_tables.py dump OUT          # simdc on sys.path: capacity40 + configs/*.toml
    python benchmarks/compare_tables.py compare REF OUT   # identical, or the largest relative difference

``dump`` pickles ``summary``, ``instances``, ``hosts`` and ``timeseries`` of
``capacity_config(40, 3 h)`` (capacity.py) and of each ``configs/*.toml`` to
``OUT/<name>.pkl``, with whichever simdc is imported (``PYTHONPATH=DIR`` for an export of
another commit). ``compare`` prints, per config, "identical" (``DataFrame.equals``) or
each table's largest relative difference of float columns, and "BAD" for a difference
above 1e-9 or in a column that is not float (a count that moved).
"""

from __future__ import annotations

import glob
import os
import pickle
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = os.path.join(os.path.dirname(HERE), "configs")
TABLES = ("summary", "instances", "hosts", "timeseries")


def dump(out: str, names: list[str]) -> None:
    import simdc
    from simdc.config import load_config

    sys.path.insert(0, HERE)
    from capacity import capacity_config

    os.makedirs(out, exist_ok=True)
    names = names or ["capacity40"] + sorted(os.path.basename(p) for p in glob.glob(os.path.join(CONFIGS, "*.toml")))
    for name in names:
        config = capacity_config(40, 3 * 3600.0) if name == "capacity40" else load_config(os.path.join(CONFIGS, name))
        result = simdc.simulate(config)
        with open(os.path.join(out, f"{name}.pkl"), "wb") as f:
            pickle.dump({table: getattr(result, table) for table in TABLES}, f)
    print("dumped", len(names), "configs with", simdc.__file__)


def compare(ref: str, out: str) -> int:
    import numpy as np
    import pandas as pd

    bad_configs = 0
    for path in sorted(glob.glob(os.path.join(ref, "*.pkl"))):
        name = os.path.basename(path)
        other = os.path.join(out, name)
        if not os.path.exists(other):
            print(name, "missing")
            bad_configs += 1
            continue
        with open(path, "rb") as f, open(other, "rb") as g:
            a, b = pickle.load(f), pickle.load(g)
        notes, bad = [], False
        for table in TABLES:
            x, y = a[table], b[table]
            if x.equals(y):
                continue
            if x.shape != y.shape or list(x.columns) != list(y.columns):
                notes.append(f"{table}: shape or columns differ {x.shape} {y.shape}")
                bad = True
                continue
            worst, columns = 0.0, []
            for column in x.columns:
                if x[column].equals(y[column]):
                    continue
                if pd.api.types.is_float_dtype(x[column]):
                    u, v = x[column].to_numpy(float), y[column].to_numpy(float)
                    with np.errstate(all="ignore"):
                        rel = (np.nanmax(np.abs(u - v) / np.maximum(np.abs(u), 1e-300))
                               if np.array_equal(np.isnan(u), np.isnan(v)) else np.inf)
                    worst = max(worst, rel)
                    if rel > 1e-9:
                        columns.append(f"{column}:{rel:.1e}")
                else:
                    columns.append(f"{column}: not float, differs")
            bad |= bool(columns)
            notes.append(f"{table}: largest relative difference {worst:.1e}" + (f" BAD {columns}" if columns else ""))
        bad_configs += bad
        print(name, "identical" if not notes else "; ".join(notes))
    return 1 if bad_configs else 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "dump":
        dump(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
