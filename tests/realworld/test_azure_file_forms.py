"""Property: an Azure vmtable with or without a BOM, with CRLF line ends or a header row
gives the same instances as the clean file; cut at any byte it gives one clean error
(strict) or exactly the instances of its whole lines (skip, or a cut at a line end),
never a traceback and never a VM read from a cut row (issue #14, item 6)."""

from __future__ import annotations

import gzip
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simdc.errors import InputError
from tests.realworld._trace_cli import assert_one_clean_error, simdc
from tests.realworld._file_forms import assert_same_or_error, form, read, whole_lines
from tests.workload.traces import TRACES

HEADER = (b"vmid,subscriptionid,deploymentid,vmcreated,vmdeleted,maxcpu,avgcpu,p95maxcpu,vmcategory,"
          b"vmcorecount,vmmemory\n")
V1 = TRACES / "azure_v1_2017" / "vmtable.csv.gz"
pytestmark = pytest.mark.skipif(not V1.exists(), reason=f"no Azure V1 sample under {TRACES}")


def clean() -> bytes:
    return gzip.decompress(V1.read_bytes()).replace(b"\r\n", b"\n")


FORMS = [dict(bom=b, crlf=c, header=h) for b, c, h in itertools.product([False, True], repeat=3)]


@pytest.mark.parametrize("shape", FORMS, ids=lambda f: "-".join(k for k, v in f.items() if v) or "clean")
def test_bom_crlf_and_header_give_the_clean_files_instances(tmp_path, shape):
    expected = read(tmp_path / "clean.csv", clean(), "azure")
    assert not isinstance(expected, InputError)
    data = form(clean(), bom=shape["bom"], crlf=shape["crlf"], header=HEADER if shape["header"] else b"")
    assert_same_or_error(read(tmp_path / "vmtable.csv", data, "azure"), expected)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), crlf=st.booleans(), header=st.booleans())
def test_a_file_cut_at_any_byte_is_an_error_or_its_whole_lines(tmp_path_factory, data, crlf, header):
    text = form(clean(), crlf=crlf, header=HEADER if header else b"")
    cut = text[: data.draw(st.integers(min_value=0, max_value=len(text)), label="cut at byte")]
    folder = tmp_path_factory.mktemp("cut")
    whole = whole_lines(cut)
    expected = read(folder / "whole.csv", whole, "azure", "skip")
    strict = read(folder / "vmtable.csv", cut, "azure")
    if cut == whole:
        assert_same_or_error(strict, expected)
    else:
        assert isinstance(strict, InputError), "a row cut short was read as a VM"
    assert_same_or_error(read(folder / "vmtable.csv", cut, "azure", "skip"), expected)


def test_a_cut_file_through_the_command_is_one_clean_error(tmp_path):
    data = clean()
    path = tmp_path / "vmtable.csv"
    path.write_bytes(data[: len(data) - 3])  # "...,8,5" of the last VM's "8,56"
    result = simdc("trace", "inspect", path, "--format", "azure")
    assert_one_clean_error(result, f"{path}: line 10: the last line has no line end")
