"""Azure V2 size buckets sized from the V1 trace's exact-size mix (issue #14, item 3).

The V1 mix is typed here from its source, not imported from the reader: the Azure
Public Dataset V1 analysis notebook's core and memory charts, as CALIBRATION.md reads
them (cores 1: 50 %, 2: 25 %, 4: 11 %, 8: 14 %; GB 0.75: 2 %, 1.75: 48 %, 3.5: 25 %,
7: 11 %, 14: 10 %, 56: 4 %). V2's buckets hold the sizes above the bucket before them,
up to their own value.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from simdc.workload.readers import ReaderOptions, Selection, read_trace
from tests.workload.traces import raw_rows, sample, write_lines

V1_CORES = {1: 50, 2: 25, 4: 11, 8: 14}
V1_MEMORY = {0.75: 2, 1.75: 48, 3.5: 25, 7: 11, 14: 10, 56: 4}
CORE_BUCKETS = [2, 4, 8, 24]
MEMORY_BUCKETS = [2, 4, 8, 32, 64]


def lower_bound(buckets: list[float], bound: float) -> float:
    i = buckets.index(bound)
    return 0.0 if i == 0 else buckets[i - 1]


def restricted(mix: dict[float, float], low: float, high: float) -> dict[float, float]:
    """The V1 mix restricted to (low, high], renormalised."""
    inside = {size: share for size, share in mix.items() if low < size <= high}
    total = sum(inside.values())
    return {size: share / total for size, share in inside.items()}


def vmtable(tmp_path, n: int, seed: int = 7):
    """n V2 rows with random ids, spread over every bucket pair."""
    rng = np.random.default_rng(seed)
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"))
    rows, cells = [], []
    for i in range(n):
        vmid = "".join(rng.choice(alphabet, 32))
        cores, memory = int(rng.choice(CORE_BUCKETS)), int(rng.choice(MEMORY_BUCKETS))
        rows.append(f"{vmid},s{i:08d},d{i:08d},0,86400,90,10,50,Interactive,{cores},{memory}")
        cells.append((vmid, cores, memory))
    return write_lines(tmp_path / "vmtable.csv", rows), cells


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    path, cells = vmtable(tmp_path_factory.mktemp("buckets"), 6000)
    data = read_trace([path], "azure", selection=Selection(seed=11))
    return data, cells


def test_every_vm_lies_in_its_bucket(drawn):
    data, cells = drawn
    table = data.instances.set_index("id")
    for vmid, cores, memory in cells:
        vm = table.loc[vmid]
        assert lower_bound(CORE_BUCKETS, cores) < vm["cpu_cores"] <= cores
        assert lower_bound(MEMORY_BUCKETS, memory) < vm["memory_gib"] <= memory


@pytest.mark.parametrize("column, buckets, mix", [("cpu_cores", CORE_BUCKETS, V1_CORES),
                                                  ("memory_gib", MEMORY_BUCKETS, V1_MEMORY)])
def test_drawn_sizes_mean_per_bucket_matches_the_v1_mix(drawn, column, buckets, mix):
    """Per bucket: the drawn sizes' mean is the V1 mix's mean within 4 standard errors
    (sd of the restricted mix / √n); only sizes of that mix are drawn. A bucket holding
    no V1 size (8 < cores <= 24) stays at its bound."""
    data, cells = drawn
    table = data.instances.set_index("id")
    bound = {vmid: (cores if column == "cpu_cores" else memory) for vmid, cores, memory in cells}
    for value in buckets:
        ids = [vmid for vmid, b in bound.items() if b == value]
        sizes = table.loc[ids, column].to_numpy(float)
        inside = restricted(mix, lower_bound(buckets, value), value)
        if not inside:
            assert (sizes == value).all()
            continue
        mean = sum(size * p for size, p in inside.items())
        sd = math.sqrt(sum(p * (size - mean) ** 2 for size, p in inside.items()))
        assert set(np.unique(sizes)) <= set(inside)
        assert abs(sizes.mean() - mean) <= 4 * sd / math.sqrt(len(sizes)) + 1e-12, (value, sizes.mean(), mean)
        for size, p in inside.items():  # each size's share, within 4 binomial standard errors
            share = (sizes == size).mean()
            assert abs(share - p) <= 4 * math.sqrt(p * (1 - p) / len(sizes)) + 1e-12


def test_the_draw_is_per_vm_and_seeded(tmp_path):
    """The same VM gets the same size in any subset read with the same seed; another
    seed redraws (some of) them; the upper option gives the bounds."""
    path, cells = vmtable(tmp_path, 400)
    full = read_trace([path], "azure", selection=Selection(seed=3)).instances.set_index("id")
    part = write_lines(tmp_path / "part.csv", [line for line in path.read_text().splitlines()[::3]])
    subset = read_trace([part], "azure", selection=Selection(seed=3)).instances.set_index("id")
    assert subset[["cpu_cores", "memory_gib"]].equals(full.loc[subset.index, ["cpu_cores", "memory_gib"]])
    other = read_trace([path], "azure", selection=Selection(seed=4)).instances.set_index("id")
    assert not other["cpu_cores"].equals(full["cpu_cores"])
    upper = read_trace([path], "azure", ReaderOptions(azure_bucket_sizing="upper")).instances.set_index("id")
    for vmid, cores, memory in cells:
        assert (upper.loc[vmid, "cpu_cores"], upper.loc[vmid, "memory_gib"]) == (cores, memory)


def test_v1_exact_sizes_are_read_as_they_are_and_lie_in_the_mix():
    """A V1 vmtable is not bucketed: each VM keeps its exact size, and every size of the
    10-VM V1 sample is one of the mix's sizes."""
    path = sample("azure_v1_2017/vmtable.csv.gz")
    rows = raw_rows(path)
    table = read_trace([path], "azure").instances.set_index("id")
    for row in rows:
        assert (table.loc[row[0], "cpu_cores"], table.loc[row[0], "memory_gib"]) == (float(row[9]), float(row[10]))
        assert float(row[9]) in V1_CORES and float(row[10]) in V1_MEMORY


def test_a_14_gb_vm_is_no_longer_reserved_32_gib(tmp_path):
    """The issue's example: bucket 32 GB holds V1's 14 GB VMs only."""
    path = write_lines(tmp_path / "vmtable.csv", ["aaaaaaaaaaaaaaaa,s,d,0,600,90,10,50,Interactive,8,32"])
    vm = read_trace([path], "azure").instances.iloc[0]
    assert (vm["cpu_cores"], vm["memory_gib"]) == (8.0, 14.0)


def test_an_unknown_sizing_is_a_config_error_naming_the_key(tmp_path):
    from simdc.errors import ConfigError
    from simdc.workload.inspect import settings

    with pytest.raises(ConfigError, match="azure-bucket-sizing"):
        settings("azure", {"azure_bucket_sizing": "lower"})
