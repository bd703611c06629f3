"""Bitbrains GWA-T-12 Rnd as distributed: one folder per month, the same file name for
the same VM (issue #14, item 4). Expected values are computed here from the raw rows."""

from __future__ import annotations

import pytest

from simdc.errors import InputError
from simdc.workload.readers import read_trace
from tests.realworld._trace_cli import CASES, assert_one_clean_error, simdc
from tests.workload.traces import lines, raw_rows, sample, write_lines

MONTH_S = 31 * 86400


def put(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_lines(path, rows)


def test_the_handed_month_split_case_is_one_vm_held_across_the_gap():
    """VM 5: 3 samples in 2013-7 and 3 in 2013-8 → one VM, id '5', 2 cores, 8 GiB,
    living from its first July sample to its last August sample plus one interval."""
    root = CASES / "bitbrains_month_split" / "Rnd"
    if not root.exists():
        pytest.skip("no bitbrains_month_split case")
    july = raw_rows(root / "2013-7" / "5.csv", delimiter=";", skip_header=True)
    august = raw_rows(root / "2013-8" / "5.csv", delimiter=";", skip_header=True)
    data = read_trace([root], "bitbrains")
    assert len(data.instances) == 1
    vm = data.instances.iloc[0]
    assert vm["id"] == "5"
    assert vm["cpu_cores"] == max(float(r[1]) for r in july + august)
    assert vm["memory_gib"] == max(float(r[5]) for r in july + august) / 2**20
    assert vm["duration_s"] == float(august[-1][0]) - float(july[0][0]) + 300
    assert any("several month folders" in note for note in data.notes)
    files = read_trace([root / "2013-7" / "5.csv", root / "2013-8" / "5.csv"], "bitbrains")
    assert files.instances.equals(data.instances)  # the two files given alone: the same one VM


def test_a_vm_in_two_months_of_genuine_samples_is_one_vm(tmp_path):
    """VM 1's July file, and the same rows shifted a month on as its August file: one VM
    whose size is the larger month's, whose mean usage is over its life spanning both
    months with the gap between them (through which its last July sample holds); VM 2, in
    July only, is its own."""
    rows = lines(sample("bitbrains_rnd/2013-7/1.csv.gz"))
    header, body = rows[0], rows[1:200]
    shifted = []
    for line in body:
        cells = line.split(";")
        cells[0] = str(int(cells[0]) + MONTH_S)
        cells[5] = f"\t{2 * float(cells[5]):.1f}"  # August: twice the memory provisioned
        shifted.append(";".join(cells))
    put(tmp_path / "Rnd" / "2013-7" / "1.csv", [header, *body])
    put(tmp_path / "Rnd" / "2013-8" / "1.csv", [header, *shifted])
    put(tmp_path / "Rnd" / "2013-7" / "2.csv", lines(sample("bitbrains_rnd/2013-7/2.csv.gz"))[:50])
    data = read_trace([tmp_path / "Rnd"], "bitbrains")
    table = data.instances.set_index("id")
    assert sorted(table.index) == ["1", "2"]
    july = [r.split(";") for r in body]
    august = [r.split(";") for r in shifted]
    sized = [r for r in july + august if float(r[1]) > 0 and float(r[5]) > 0]
    vm = table.loc["1"]
    assert vm["memory_gib"] == max(float(r[5]) for r in sized) / 2**20
    assert vm["duration_s"] == pytest.approx(float(sized[-1][0]) - float(sized[0][0]) + 300)
    # the mean over its life of the series as played: each sample holds until the next, so
    # July's last one through the month's gap, and August's last until the VM's end
    t = [float(r[0]) for r in sized] + [float(sized[-1][0]) + 300]
    used = [float(r[6]) / 2**20 for r in sized]
    held = [after - before for before, after in zip(t, t[1:])]
    assert vm["memory_used_gib"] == pytest.approx(sum(u * h for u, h in zip(used, held)) / sum(held))
    assert any(note.startswith("1 VMs appear in several month folders") for note in data.notes)


def test_the_same_vm_twice_in_one_month_is_an_error(tmp_path):
    rows = lines(sample("bitbrains_rnd/2013-7/1.csv.gz"))[:20]
    for root in ("a", "b"):
        put(tmp_path / root / "1.csv", rows)
    with pytest.raises(InputError, match="two files give VM '1'"):
        read_trace([tmp_path / "a", tmp_path / "b"], "bitbrains")


@pytest.mark.parametrize("body", [[], ["1372629804;\t0;\t0.0;\t0.0;\t0.0;\t0.0;\t0.0;\t0.0;\t0.0;\t0.0;\t0.0"]])
def test_a_vm_file_without_a_sized_sample_is_one_error_naming_it(tmp_path, body):
    header = lines(sample("bitbrains_rnd/2013-7/1.csv.gz"))[0]
    path = write_lines(tmp_path / "7.csv", [header, *body])
    result = simdc("trace", "inspect", path, "--format", "bitbrains")
    # no rows at all is caught for every reader; rows without a size by this one
    expected = "no VM with a provisioned size" if body else "a header row and no data rows"
    assert_one_clean_error(result, f"{path}: {expected}")
