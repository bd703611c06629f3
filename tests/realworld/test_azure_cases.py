"""Azure traces as people have them (issue #14): an empty vmtable, a Git LFS pointer in
its place, and the V2 download's own folder with its companion tables."""

from __future__ import annotations

import gzip

import pytest

from simdc.errors import InputError
from simdc.workload.readers import ReaderOptions, read_trace
from tests.realworld._trace_cli import CASES, assert_one_clean_error, simdc
from tests.workload.traces import lines, raw_rows, sample, write_lines

HEADER = ("vmid,subscriptionid,deploymentid,vmcreated,vmdeleted,maxcpu,avgcpu,p95maxcpu,vmcategory,"
          "vmcorecount,vmmemory")


def case(name: str):
    path = CASES / name
    if not path.exists():
        pytest.skip(f"no case {name} under {CASES}")
    return path


@pytest.mark.parametrize("policy", ["strict", "skip"])
def test_a_header_only_vmtable_is_one_error_naming_the_file(tmp_path, policy):
    path = write_lines(tmp_path / "vmtable.csv", [HEADER])
    result = simdc("trace", "inspect", path, "--format", "azure", "--on-bad-rows", policy)
    assert_one_clean_error(result, f"{path}: a header row and no data rows")


def test_the_handed_empty_vmtable_case_is_one_error():
    folder = case("azure_empty_vmtable")
    result = simdc("trace", "inspect", folder / "vmtable.csv", "--format", "azure", "--on-bad-rows", "skip")
    assert_one_clean_error(result, "vmtable.csv: a header row and no data rows")


def test_a_vmtable_whose_every_row_is_skipped_is_one_error_saying_so(tmp_path):
    path = write_lines(tmp_path / "vmtable.csv", ["aaaaaaaaaaaaaaaa,s,d,soon,600,90,10,50,Interactive,2,4",
                                                 "bbbbbbbbbbbbbbbb,s,d,0,600,90,10,50,Batch,2,4"])
    with pytest.raises(InputError, match=r"no valid VMs in the vmtable \(all 2 rows were bad and skipped\)"):
        read_trace([path], "azure", ReaderOptions(on_bad_rows="skip"))


def test_a_git_lfs_pointer_saved_as_the_vmtable_is_one_error_with_skip():
    """The 3-line pointer text a clone without git-lfs leaves: every row is bad, so with
    --on-bad-rows skip nothing is left, which is one error naming the file (rd-common adds
    the sharper "this is a Git LFS pointer"; either line is right here)."""
    folder = case("azure_lfs_pointer")
    result = simdc("trace", "inspect", folder / "vmtable.csv", "--format", "azure", "--on-bad-rows", "skip")
    assert_one_clean_error(result, "vmtable.csv")
    assert "no valid VMs" in result.stderr or "LFS" in result.stderr


def _v2_download(tmp_path):
    """The V2 download's layout (AzurePublicDatasetLinksV2.txt) with the 20-VM sample as its
    vmtable and readings, and deployment and subscription rows for those VMs."""
    rows = raw_rows(sample("azure_v2_2019/vmtable_subset_20vms_longest.csv"), skip_header=True)
    readings = lines(sample("azure_v2_2019/vm_cpu_readings_20vms.csv.gz"))[1:400]
    root = tmp_path / "trace_data"
    for folder in ("vmtable", "deployments", "subscriptions", "vm_cpu_readings"):
        (root / folder).mkdir(parents=True)
    write_lines(root / "vmtable" / "vmtable.csv", [",".join(r[:11]) for r in rows], gz=False)
    deployments = sorted({r[2] for r in rows})
    subscriptions = sorted({r[1] for r in rows})
    write_lines(root / "deployments" / "deployments.csv", [f"{d},{i + 1}" for i, d in enumerate(deployments)])
    (root / "subscriptions" / "subscriptions.csv.gz").write_bytes(gzip.compress(
        "".join(f"{s},0,{i + 2}\n" for i, s in enumerate(subscriptions)).encode()))
    write_lines(root / "vm_cpu_readings" / "vm_cpu_readings-file-1-of-195.csv", readings)
    return root, rows


@pytest.mark.parametrize("format", ["azure", "auto"])
def test_the_v2_download_folder_reads_its_vms_and_leaves_the_companion_tables_out(tmp_path, format):
    """Given the whole trace_data folder: the same instances as its vmtable alone, the
    readings as usage, and deployments and subscriptions named as left out."""
    root, rows = _v2_download(tmp_path)
    data = read_trace([root], format)
    alone = read_trace([root / "vmtable" / "vmtable.csv"], "azure")
    assert sorted(data.instances["id"]) == sorted(r[0] for r in rows)
    assert data.instances.equals(alone.instances)
    assert data.usage is not None and set(data.usage["id"]) <= {r[0] for r in rows}
    assert any(f"read 1 vm_cpu_readings file, 1 vmtable file: {len(rows)} instances" in note
               for note in data.notes), data.notes
    assert "not needed, left out: 1 deployments file, 1 subscriptions file" in data.notes
    assert not data.skipped


def test_the_handed_v2_companion_case_converts():
    folder = case("azure_v2_companion_tables")
    data = read_trace([folder / "trace_data"], "azure")
    assert len(data.instances) == 1 and any("left out: 1 deployments" in n for n in data.notes)
