"""A pinned scenario's workload replayed from simdc's own format: written as CSV and as
Parquet (``simdc trace generate``'s path), both read back to the instances written and
give the same summary, whichever the format and whether it is named or detected."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import simdc
from simdc.workload.inspect import generate_trace
from simdc.workload.readers import read_trace

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "contention.toml"
DURATION = {"simulation.duration_s": 21600}  # as tests/test_pinned.py runs it


def replay(trace: Path, usage: Path | None, format: str) -> pd.DataFrame:
    overrides = {**DURATION, "workload.synthetic": None, "workload.trace": str(trace), "workload.format": format}
    if usage is not None:
        overrides["workload.usage"] = str(usage)
    return simdc.simulate(simdc.load_config(CONFIG, overrides)).summary.reset_index(drop=True)


def test_pinned_workload_replays_alike_from_csv_and_parquet(tmp_path):
    config = simdc.load_config(CONFIG, DURATION)
    summaries = {}
    for suffix in (".csv", ".parquet"):
        data, written, usage = generate_trace(config, tmp_path / f"workload{suffix}", usage=True)
        back = read_trace([written]).instances
        assert back["id"].tolist() == data.instances["id"].tolist()
        for column in ("submit_s", "duration_s", "cpu_cores", "memory_gib", "cpu_used", "memory_used_gib"):
            np.testing.assert_allclose(back[column].to_numpy(float), data.instances[column].to_numpy(float),
                                       rtol=1e-15, atol=0, err_msg=column)  # CSV holds floats exactly (repr)
        summaries[suffix, "auto"] = replay(written, usage, "auto")
        summaries[suffix, "simdc"] = replay(written, usage, "simdc")
    first = summaries[".csv", "auto"]
    for key, summary in summaries.items():
        pd.testing.assert_frame_equal(summary, first, check_exact=True, obj=str(key))
