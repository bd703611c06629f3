"""Bitbrains GWA-T-12 reader (simdc/workload/readers/bitbrains.py), on the 20 Rnd VMs
of July 2013: sizes, lifetimes and usage computed here from each file's raw rows."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from simdc.errors import InputError
from simdc.workload.readers import ReaderOptions, read_trace
from simdc.workload.readers.common import on_step_table
from tests.workload.traces import lines, raw_rows, sample, write_lines

FOLDER = "bitbrains_rnd/2013-7"
KIB_PER_GIB = 2**20


@functools.lru_cache(maxsize=None)
def vm_rows(path):
    """(timestamp, cores, capacity MHz, usage MHz, provisioned KB, used KB) of a file's rows."""
    return [tuple(float(v) for v in (r[0], r[1], r[2], r[3], r[5], r[6]))
            for r in raw_rows(path, delimiter=";", skip_header=True)]


@pytest.fixture(scope="module")
def data():
    return read_trace([sample(FOLDER)], "bitbrains")


def test_each_vm_is_sized_at_its_largest_provision_and_lives_its_sampled_span(data):
    """Cores and memory: the maximum provisioned (KB of 1,024 bytes); lifetime: first to
    last sized sample plus one 300-s interval; submit: its first sample after the
    earliest one of all VMs (timestamps are seconds)."""
    folder = sample(FOLDER)
    files = sorted(folder.glob("*.csv.gz"))
    assert len(files) == len(data.instances) == 20
    table = data.instances.set_index("id")
    firsts = {}
    for path in files:
        rows = [r for r in vm_rows(path) if r[1] > 0 and r[4] > 0]
        firsts[path.name.removesuffix(".csv.gz")] = rows[0][0]
    earliest = min(firsts.values())
    assert 1.37e9 < earliest < 1.38e9  # Unix seconds, July 2013
    for path in files:
        name = path.name.removesuffix(".csv.gz")
        rows = [r for r in vm_rows(path) if r[1] > 0 and r[4] > 0]
        vm = table.loc[name]
        assert vm["cpu_cores"] == max(r[1] for r in rows)
        assert vm["memory_gib"] == pytest.approx(max(r[4] for r in rows) / KIB_PER_GIB)
        assert vm["submit_s"] == pytest.approx(rows[0][0] - earliest)
        gaps = np.diff([r[0] for r in rows])
        assert vm["duration_s"] == pytest.approx(rows[-1][0] - rows[0][0] + np.median(gaps[gaps > 0]))


def test_a_vm_whose_file_starts_with_zeros_starts_at_its_first_sized_row(data):
    """14.csv.gz opens with rows of 0 cores and 0 KB: the VM did not exist yet."""
    path = sample(FOLDER) / "14.csv.gz"
    rows = vm_rows(path)
    assert rows[0][1] == 0 and rows[0][4] == 0
    sized = [r for r in rows if r[1] > 0 and r[4] > 0]
    vm = data.instances.set_index("id").loc["14"]
    assert vm["cpu_cores"] == 1
    span = sized[-1][0] - sized[0][0]
    assert span < vm["duration_s"] < span + 600


@pytest.mark.parametrize("name", ["1", "4", "12", "14"])
def test_mean_usage_is_the_mean_over_time_of_the_series_as_replayed(data, name):
    """CPU used = usage MHz / (capacity MHz / cores); memory used = usage KB / 2^20, each the
    mean over the VM's life of the series as the replay plays it: a reading holds until the
    next (README: "a gap in the readings holds the last reading until the next"), the last
    until the VM's end (last sized sample + the median interval). Computed here with pandas
    from the raw file. The plain mean of the readings, which let a 31-hour gap count as one
    reading, gave VM 12 0.3407 GiB of memory instead of 0.3607."""
    raw = pd.read_csv(sample(FOLDER) / f"{name}.csv.gz", sep=";\t", engine="python")
    raw.columns = raw.columns.str.strip()
    sized = (raw["CPU cores"] > 0) & (raw["Memory capacity provisioned [KB]"] > 0)
    life = raw.loc[sized.idxmax(): sized[::-1].idxmax()]
    t = life["Timestamp [ms]"].to_numpy(float)  # Unix seconds despite the header
    gaps = np.diff(t)
    end = t[-1] + np.median(gaps[gaps > 0])
    held = np.diff(np.append(t, end))
    per_core = life["CPU capacity provisioned [MHZ]"] / life["CPU cores"]
    cpu = (life["CPU usage [MHZ]"] / per_core).where(per_core > 0, 0.0).to_numpy(float)
    memory = life["Memory usage [KB]"].to_numpy(float) / KIB_PER_GIB
    vm = data.instances.set_index("id").loc[name]
    assert vm["duration_s"] == pytest.approx(end - t[0])
    assert vm["cpu_used"] == pytest.approx((cpu * held).sum() / held.sum(), rel=1e-9)
    assert vm["memory_used_gib"] == pytest.approx((memory * held).sum() / held.sum(), rel=1e-9)


def test_usage_series_follows_the_samples(data):
    """A sample at offset t takes effect at the first 300-s step at or after it, ⌈t/300⌉·300
    (README, workload.usage_step_s); of the samples taking effect together, CPU is their
    mean and memory their maximum."""
    rows = vm_rows(sample(FOLDER) / "5.csv.gz")
    series = on_step_table(data.usage, 300.0).query("id == '5'").set_index("t_s")
    start = rows[0][0]
    seen = set()
    for t, *_ in rows[::1500]:
        k = -(-(t - start) // 300) * 300
        in_step = [r for r in rows if -(-(r[0] - start) // 300) * 300 == k]
        seen.add(len(in_step))
        cpu = np.mean([used / (capacity / cores) for _, cores, capacity, used, _, _ in in_step])
        assert series.loc[k, "cpu_cores"] == pytest.approx(cpu)
        assert series.loc[k, "memory_gib"] == pytest.approx(max(r[5] for r in in_step) / KIB_PER_GIB)
    assert 1 in seen


def test_memory_used_share_is_calibrations_figure(data):
    """CALIBRATION.md: memory used / provisioned, mean over the 20 VMs 9.7 %, median 8.9 %."""
    share = data.instances["memory_used_gib"] / data.instances["memory_gib"]
    assert share.mean() == pytest.approx(0.097, abs=0.002)
    assert share.median() == pytest.approx(0.089, abs=0.002)


def test_a_folder_with_subfolders_names_vms_by_their_path():
    """The whole sample folder: the 20 VMs under 2013-7/ and OpenDC's single-VM file."""
    data = read_trace([sample("bitbrains_rnd")], "auto")
    ids = set(data.instances["id"])
    assert "1" in ids and "opendc_bitbrains_single_vm" in ids and len(ids) == 21  # month folder 2013-7 left out


def test_millisecond_timestamps_are_recognised(tmp_path):
    header = lines(sample(FOLDER) / "5.csv.gz")[0]
    rows = [f"{1372629804000 + 300000 * i};\t2;\t5000.0;\t500.0;\t10.0;\t2097152.0;\t1048576.0;\t0;\t0;\t0;\t0"
            for i in range(4)]
    path = write_lines(tmp_path / "9.csv", [header, *rows])
    data = read_trace([path], "bitbrains")
    vm = data.instances.iloc[0]
    assert vm["duration_s"] == 1200 and vm["cpu_used"] == pytest.approx(0.2) and vm["memory_gib"] == 2
    assert any("milliseconds" in note for note in data.notes)


def test_bad_sample_rows_name_file_and_line(tmp_path):
    header = lines(sample(FOLDER) / "5.csv.gz")[0]
    good = "1372629804;\t2;\t5000.0;\t500.0;\t10.0;\t2097152.0;\t1048576.0;\t0;\t0;\t0;\t0"
    bad = "1372630104;\t2;\t5000.0;\tlots;\t10.0;\t2097152.0;\t1048576.0;\t0;\t0;\t0;\t0"
    path = write_lines(tmp_path / "3.csv", [header, good, bad, good.replace("1372629804", "1372630404")])
    with pytest.raises(InputError) as caught:
        read_trace([path], "bitbrains")
    assert caught.value.problems[0] == f"{path}: line 3: cpu_usage_mhz is not a number (got 'lots')"
    data = read_trace([path], "bitbrains", ReaderOptions(on_bad_rows="skip"))
    assert data.skipped == {"vm: cpu_usage_mhz is not a number": 1} and len(data.instances) == 1
