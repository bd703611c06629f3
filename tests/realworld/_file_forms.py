"""Shared by the file-form property tests: one trace file written in the forms people's
copies take (a byte-order mark, CRLF line ends, a header row, cut at any byte), and
what reading it must give."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from simdc.errors import InputError
from simdc.workload.readers import ReaderOptions, read_trace

BOM = b"\xef\xbb\xbf"


def form(data: bytes, bom: bool = False, crlf: bool = False, header: bytes = b"") -> bytes:
    """``data`` (LF line ends, no BOM) with a header row before it, CRLF ends, a BOM."""
    text = header + data
    if crlf:
        text = text.replace(b"\n", b"\r\n")
    return (BOM if bom else b"") + text


def whole_lines(data: bytes) -> bytes:
    """``data`` up to the end of its last complete line."""
    return data[: max(data.rfind(b"\n"), data.rfind(b"\r")) + 1]


def read(path: Path, data: bytes, format: str, policy: str = "strict"):
    """The instances read from ``data`` written at ``path``, or the InputError; any other
    exception fails the test (it would be a traceback)."""
    path.write_bytes(data)
    try:
        return read_trace([path], format, ReaderOptions(on_bad_rows=policy)).instances
    except InputError as err:
        return err


def assert_same_or_error(got, expected) -> None:
    """``got`` is the expected instances, or an InputError when none are expected."""
    if isinstance(expected, InputError):
        assert isinstance(got, InputError), "expected an error: nothing whole to read"
        return
    if isinstance(got, InputError):
        raise AssertionError(f"an error where whole lines give {len(expected)} instances: {got}")
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True))
