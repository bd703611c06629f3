"""Reading a trace closes every file it opens: a long session (a notebook reading trace
after trace, a sweep's worker) must not hold descriptors until the collector runs, and
Python reports each one left open (``ResourceWarning: unclosed file``)."""

from __future__ import annotations

import gc
import warnings

import pytest

from simdc.workload.readers import read_trace, write_trace
from tests.workload.traces import sample

CASES = [
    ("azure", ["azure_v2_2019/vmtable_subset_20vms_longest.csv", "azure_v2_2019/vm_cpu_readings_20vms.csv.gz"]),
    ("opendc", ["opendc/v5/surf_week"]),
]


def _unclosed(read) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        read()
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.mark.parametrize("fmt, files", CASES, ids=[c[0] for c in CASES])
def test_reading_a_trace_leaves_no_file_open(fmt, files):
    paths = [str(sample(f)) for f in files]
    assert _unclosed(lambda: read_trace(paths, fmt)) == []


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_reading_the_own_format_leaves_no_file_open(tmp_path, suffix):
    files = ["azure_v2_2019/vmtable_subset_20vms_longest.csv", "azure_v2_2019/vm_cpu_readings_20vms.csv.gz"]
    data = read_trace([str(sample(f)) for f in files], "azure")
    path = tmp_path / f"t{suffix}"
    write_trace(data, path)
    assert _unclosed(lambda: read_trace([str(path)], "simdc")) == []
