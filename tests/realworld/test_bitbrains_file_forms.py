"""Property: a Bitbrains VM file with or without a BOM and with CRLF line ends gives the
same VM as the clean file; cut at any byte it gives one clean error (strict) or exactly
the VM of its whole lines (skip, or a cut at a line end), never a traceback and never a
sample read from a cut row (issue #14, item 6)."""

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

VM = TRACES / "bitbrains_rnd" / "2013-7" / "1.csv.gz"
pytestmark = pytest.mark.skipif(not VM.exists(), reason=f"no Bitbrains sample under {TRACES}")


def clean() -> bytes:
    lines = gzip.decompress(VM.read_bytes()).replace(b"\r\n", b"\n").split(b"\n")
    return b"\n".join(lines[:40]) + b"\n"  # the header and 39 samples


@pytest.mark.parametrize("bom, crlf", list(itertools.product([False, True], repeat=2)))
def test_bom_and_crlf_give_the_clean_files_vm(tmp_path, bom, crlf):
    for folder in ("clean", "form"):  # each VM file alone in its folder: its id is "1" in both
        (tmp_path / folder).mkdir()
    expected = read(tmp_path / "clean" / "1.csv", clean(), "bitbrains")
    assert not isinstance(expected, InputError)
    got = read(tmp_path / "form" / "1.csv", form(clean(), bom=bom, crlf=crlf), "bitbrains")
    assert_same_or_error(got, expected)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), crlf=st.booleans())
def test_a_file_cut_at_any_byte_is_an_error_or_its_whole_lines(tmp_path_factory, data, crlf):
    text = form(clean(), crlf=crlf)
    cut = text[: data.draw(st.integers(min_value=0, max_value=len(text)), label="cut at byte")]
    whole_dir, cut_dir = tmp_path_factory.mktemp("whole"), tmp_path_factory.mktemp("cut")
    whole = whole_lines(cut)
    expected = read(whole_dir / "1.csv", whole, "bitbrains", "skip")
    strict = read(cut_dir / "1.csv", cut, "bitbrains")
    if cut == whole:
        assert_same_or_error(strict, expected)
    else:
        assert isinstance(strict, InputError), "a row cut short was read as a sample"
    assert_same_or_error(read(cut_dir / "1.csv", cut, "bitbrains", "skip"), expected)


def test_a_cut_file_through_the_command_is_one_clean_error(tmp_path):
    data = clean()
    path = tmp_path / "1.csv"
    path.write_bytes(data[: len(data) - 30])
    result = simdc("trace", "inspect", path, "--format", "bitbrains")
    assert_one_clean_error(result, f"{path}: line 40: ")  # its field count, or the missing line end
