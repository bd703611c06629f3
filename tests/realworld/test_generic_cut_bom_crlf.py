"""Real trace files as people have them, for every reader format: cut short at any byte,
saved with a byte-order mark, with CRLF line ends, with a header row added, compressed
and cut, or not the data at all (a Git LFS pointer, a saved HTML page, an empty file).

Each test starts from a small genuine excerpt of a sample in ``../shared/traces``
(written into a temporary folder, never into the project) and states what a correct
reader must do, without knowing what simdc's reader does:

* BOM, CRLF, an added header: the same instances and usage as the clean file.
* A cut at byte ``k``: the oracle is the same file cut back to its last complete line
  (every row whole, ending with a line end). The cut file either reads to exactly what
  that prefix reads to, or is one clean error (one line per problem). Never anything
  else: a number cut "1234" -> "12" must not come back as 12. Under
  ``on_bad_rows = "strict"`` a cut inside a row is an error; under ``"skip"`` that row
  is dropped and counted, and the rest is the prefix's result.
* A compressed file cut anywhere before its end: an error naming the file.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from simdc.cli import app
from simdc.errors import SimdcError
from simdc.workload.readers import ReaderOptions, TraceData, google, read_trace, write_trace
from simdc.workload.readers.azure import TABLES as AZURE_TABLES
from simdc.workload.readers.alibaba import TABLES as ALIBABA_TABLES

ROOT = Path(__file__).resolve().parents[2]
TRACES = Path(os.environ.get("SIMDC_TRACES", ROOT.parent / "shared" / "traces"))
CASES = ROOT.parent / "shared" / "cases"
BOM = b"\xef\xbb\xbf"
TRUNCATED = "compressed data ends early"
EXAMPLES = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _source(relative: str) -> Path:
    path = (TRACES / relative) if not relative.startswith("cases/") else CASES / relative[len("cases/"):]
    if not path.exists():
        pytest.skip(f"no sample {path}: set SIMDC_TRACES")
    return path


def _text(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _first_lines(relative: str, n: int) -> bytes:
    return b"".join(line + b"\n" for line in _text(_source(relative)).splitlines()[:n])


def _google_tasks(n_tasks: int = 4) -> bytes:
    """The rows, in file order, of the first tasks submitted after the trace's start that
    were then scheduled and finished (so that the excerpt holds instances)."""
    rows = _text(_source("google_2011/task_events-part-00000-of-00500.csv.gz")).splitlines()
    events: dict[tuple[bytes, bytes], list[int]] = {}
    for i, row in enumerate(rows):
        f = row.split(b",")
        events.setdefault((f[2], f[3]), []).append(i)
    chosen = [k for k, idx in events.items() if rows[idx[0]].split(b",")[0] != b"0"
              and [rows[i].split(b",")[5] for i in idx][:3] == [b"0", b"1", b"4"]]
    keep = sorted(i for k in chosen[:n_tasks] for i in events[k])
    return b"".join(rows[i] + b"\n" for i in keep)


def _header(tables, name: str, excerpt: bytes, delimiter: str = ",") -> bytes:
    """A header row of the table's published column names, as many as the excerpt's fields."""
    table = next(t for t in tables if t.name == name)
    width = len(excerpt.splitlines()[0].split(delimiter.encode()))
    return delimiter.join(f.name for f in table.fields[:width]).encode() + b"\n"


def _simdc(tmp: Path) -> bytes:
    data = read_trace(_write(tmp, "vmtable.csv", _first_lines("azure_v1_2017/vmtable.csv.gz", 10)), "azure")
    path, _ = write_trace(data, tmp / "converted.csv")
    return path.read_bytes()


def _cloudsimpy() -> bytes:
    from tests.workload.test_cloudsimpy import HEADER, TASKS

    return (HEADER + "\n").encode() + b"".join(",".join(str(v) for v in (i, *row)).encode() + b"\n"
                                               for i, row in enumerate(TASKS))


# format -> (file name, excerpt builder, header row to add, or None where the file has one)
FORMATS = {
    "google": ("task_events.csv", lambda tmp: _google_tasks(),
               lambda data: _header(google.TABLES, "task_events", data)),
    "alibaba2017": ("batch_task.csv", lambda tmp: _first_lines("alibaba_v2017/batch_task.csv", 13), None),
    "alibaba2018": ("container_meta.csv", lambda tmp: _first_lines("cases/ali18_stopped_end/container_meta.csv", 3),
                    lambda data: _header(ALIBABA_TABLES, "container_meta", data)),
    "azure": ("vmtable.csv", lambda tmp: _first_lines("azure_v1_2017/vmtable.csv.gz", 10),
              lambda data: _header(AZURE_TABLES, "vmtable", data)),
    "bitbrains": ("1.csv", lambda tmp: _first_lines("bitbrains_rnd/2013-7/1.csv.gz", 15), None),
    "simdc": ("workload.csv", _simdc, None),
    # CloudSimPy's jobs.csv has no sample in ../shared/traces: its header and first rows, as written there
    "cloudsimpy": ("jobs.csv", lambda tmp: _cloudsimpy(), None),
}
CSV_FORMATS = list(FORMATS)


class Excerpts(dict):
    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return f"<excerpts of {', '.join(self)}>"


@pytest.fixture(scope="module")
def excerpts(tmp_path_factory) -> dict[str, bytes]:
    """Each format's clean excerpt: whole lines, each ending with a line end."""
    out = Excerpts()
    for fmt, (_, build, _) in FORMATS.items():
        data = build(tmp_path_factory.mktemp(fmt))
        assert data.endswith(b"\n") and not data.startswith(BOM)
        out[fmt] = data
    return out


def _write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def _read(path: Path, fmt: str, policy: str = "strict") -> TraceData | SimdcError:
    """What the reader makes of ``path``: its data, or the SimdcError it raised (any
    other exception fails the test)."""
    try:
        return read_trace(path, fmt, ReaderOptions(on_bad_rows=policy))
    except SimdcError as err:
        return err


def _read_bytes(fmt: str, data: bytes, policy: str = "strict", name: str | None = None) -> TraceData | SimdcError:
    with tempfile.TemporaryDirectory() as folder:
        return _read(_write(Path(folder), name or FORMATS[fmt][0], data), fmt, policy)


def _assert_clean_error(err: SimdcError) -> None:
    assert err.problems
    for problem in err.problems:
        assert problem.strip() and "\n" not in problem and "Traceback" not in problem


def _assert_same(got: TraceData, want: TraceData) -> None:
    pd.testing.assert_frame_equal(got.instances, want.instances)
    if want.usage is None:
        assert got.usage is None or len(got.usage) == 0
    else:
        pd.testing.assert_frame_equal(got.usage.reset_index(drop=True), want.usage.reset_index(drop=True))


def _clean(fmt: str, excerpts) -> TraceData:
    clean = _read_bytes(fmt, excerpts[fmt])
    assert isinstance(clean, TraceData), clean
    assert len(clean.instances) >= 1
    return clean


# --- BOM, CRLF, a header row: the same trace ------------------------------------------------


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\n", b"\r\n")


VARIANTS = {
    "bom": lambda data, header: BOM + data,
    "crlf": lambda data, header: _crlf(data),
    "bom_crlf": lambda data, header: BOM + _crlf(data),
    "header": lambda data, header: header + data,
    "bom_crlf_header": lambda data, header: BOM + _crlf(header + data),
    "bom_crlf_gzip": lambda data, header: gzip.compress(BOM + _crlf(data)),
    "bom_bz2": lambda data, header: bz2.compress(BOM + data),
    "crlf_xz": lambda data, header: lzma.compress(_crlf(data)),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("fmt", CSV_FORMATS)
def test_bom_crlf_and_an_added_header_read_as_the_clean_file(excerpts, fmt, variant):
    header = FORMATS[fmt][2]
    if "header" in variant and header is None:
        pytest.skip(f"{fmt}: the file has a header row already")
    data = VARIANTS[variant](excerpts[fmt], header(excerpts[fmt]) if header else b"")
    name = FORMATS[fmt][0] + {"bom_crlf_gzip": ".gz", "bom_bz2": ".bz2", "crlf_xz": ".xz"}.get(variant, "")
    got = _read_bytes(fmt, data, name=name)
    assert isinstance(got, TraceData), got
    _assert_same(got, _clean(fmt, excerpts))


def test_the_bom_header_case_runs_as_its_format(tmp_path):
    """../shared/cases/bom_header: Excel's "CSV UTF-8" (BOM, CRLF) is simdc's format."""
    source = _source("cases/bom_header/workload.csv")
    got = _read(source, "auto")
    assert isinstance(got, TraceData) and got.format == "simdc"
    plain = _read(_write(tmp_path, "workload.csv", source.read_bytes()[len(BOM):].replace(b"\r\n", b"\n")), "simdc")
    _assert_same(got, plain)


# --- cut at any byte --------------------------------------------------------------------------


def _whole_lines(data: bytes, k: int) -> bytes:
    """``data[:k]`` cut back to its last line end (\\n or \\r)."""
    end = max(data.rfind(b"\n", 0, k), data.rfind(b"\r", 0, k))
    return data[: end + 1]


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
@pytest.mark.parametrize("fmt", CSV_FORMATS)
@EXAMPLES
@given(data=st.data())
def test_a_file_cut_at_any_byte_reads_as_its_whole_lines_or_is_one_error(excerpts, fmt, crlf, data):
    text = _crlf(excerpts[fmt]) if crlf else excerpts[fmt]
    # Any byte, or (where a cut is hardest to see) a few bytes before a line end: inside a last value.
    ends = [i for i, byte in enumerate(text) if byte == ord("\n")]
    near_end = st.tuples(st.sampled_from(ends), st.integers(1, 6)).map(lambda e: max(0, e[0] - e[1]))
    k = data.draw(st.one_of(st.integers(0, len(text)), near_end), label="cut at byte")
    policy = data.draw(st.sampled_from(["strict", "skip"]), label="on_bad_rows")
    cut = _read_bytes(fmt, text[:k], policy)
    prefix = _whole_lines(text, k)
    whole = _read_bytes(fmt, prefix, policy)
    partial_row = text[len(prefix):k].strip(b" \t") != b""
    if isinstance(cut, SimdcError):
        _assert_clean_error(cut)
        # Under skip, a cut row is dropped: the cut file fails only where its whole lines do
        # (no data rows left; a reader's own check on what remains) -- or in simdc's own
        # format, whose reader cannot drop the row and so refuses it.
        if policy == "skip" and fmt != "simdc":
            assert isinstance(whole, SimdcError), f"skip: the cut row should be dropped, not {cut}"
        return
    # It read: then every value must be what the whole lines say; no value from a cut row.
    assert not (policy == "strict" and partial_row), "strict: a row cut short must be an error"
    assert isinstance(whole, TraceData), f"the cut file read but its whole lines do not: {whole}"
    _assert_same(cut, whole)
    if partial_row:
        assert sum(cut.skipped.values()) >= 1, "the dropped cut row is counted"


@pytest.mark.parametrize("fmt", CSV_FORMATS)
def test_a_last_row_without_its_line_end_is_named_in_strict_mode_and_dropped_under_skip(excerpts, fmt):
    """A complete file that lacks only its last line end: strict says how to fix it."""
    text = excerpts[fmt][:-1]
    strict = _read_bytes(fmt, text, "strict")
    assert isinstance(strict, SimdcError)
    assert any("no line end" in p and "newline" in p for p in strict.problems), strict.problems
    last = len(text.splitlines())
    assert any(f"line {last}" in p for p in strict.problems), strict.problems
    if fmt == "simdc":
        return  # simdc's own format refuses the row under skip too (see readers._read_simdc)
    skip = _read_bytes(fmt, text, "skip")
    whole = _read_bytes(fmt, _whole_lines(text, len(text)), "skip")
    if isinstance(whole, TraceData):
        assert isinstance(skip, TraceData), skip
        _assert_same(skip, whole)
        assert any("no line end" in reason for reason in skip.skipped), skip.skipped


# --- compressed and cut -------------------------------------------------------------------------

COMPRESSORS = {
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
    ".zst": lambda data: pa.compress(data, codec="zstd", asbytes=True),
}


@pytest.mark.parametrize("suffix", list(COMPRESSORS))
@pytest.mark.parametrize("fmt", CSV_FORMATS)
@settings(max_examples=8, deadline=None)
@given(fraction=st.floats(0.0, 1.0, exclude_max=True))
def test_a_compressed_file_cut_anywhere_is_an_error_naming_it(excerpts, fmt, suffix, fraction):
    packed = COMPRESSORS[suffix](excerpts[fmt])
    k = int(fraction * len(packed))
    name = FORMATS[fmt][0] + suffix
    got = _read_bytes(fmt, packed[:k], name=name)
    assert isinstance(got, SimdcError), f"{len(packed) - k} bytes of {len(packed)} missing, yet it read"
    _assert_clean_error(got)
    if k >= 16:  # past the format's header: the reader knows it is that compression
        assert any(name in p and TRUNCATED in p for p in got.problems), got.problems


@pytest.mark.parametrize("fmt", CSV_FORMATS)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_file_cut_then_compressed_reads_as_the_cut_text_does(excerpts, fmt, data):
    """A whole compressed stream says nothing of the text in it: a file cut short and
    compressed afterwards (``head -c`` piped to gzip) has the outcome of the same cut
    text uncompressed (itself held to its whole lines by the test above): the same
    instances and usage, the same rows skipped, or an error just when that is one."""
    text = excerpts[fmt]
    ends = [i for i, byte in enumerate(text) if byte == ord("\n")]
    near_end = st.tuples(st.sampled_from(ends), st.integers(1, 6)).map(lambda e: max(0, e[0] - e[1]))
    k = data.draw(st.one_of(st.integers(0, len(text)), near_end), label="cut at byte")
    # (simdc's own format takes no zstd: test_simdc_files_pandas_cannot_decompress_are_one_error)
    suffix = data.draw(st.sampled_from([s for s in COMPRESSORS if fmt != "simdc" or s != ".zst"]),
                       label="compressed as")
    policy = data.draw(st.sampled_from(["strict", "skip"]), label="on_bad_rows")
    plain = _read_bytes(fmt, text[:k], policy)
    packed = _read_bytes(fmt, COMPRESSORS[suffix](text[:k]), policy, name=FORMATS[fmt][0] + suffix)
    if isinstance(plain, SimdcError):
        assert isinstance(packed, SimdcError), f"the cut text is refused ({plain.problems[0]}), compressed it read"
        _assert_clean_error(packed)
        return
    assert isinstance(packed, TraceData), f"the cut text reads, compressed it is refused: {packed.problems}"
    _assert_same(packed, plain)
    assert packed.skipped == plain.skipped


@pytest.mark.parametrize("command", ["inspect", "convert", "run"])
def test_the_truncated_gzip_case_is_one_error_line_not_aborted(tmp_path, command):
    """../shared/cases/truncated_gzip: `Aborted.` (click's answer to an EOFError) is gone."""
    source = _source("cases/truncated_gzip/truncated.csv.gz")
    if command == "inspect":
        args = ["trace", "inspect", source]
    elif command == "convert":
        args = ["trace", "convert", source, "--to", tmp_path / "out.parquet"]
    else:
        config = tmp_path / "run.toml"
        config.write_text(f'[simulation]\nduration_s = 3600\n[host]\ncpu_cores = 32\nmemory_gib = 64\n'
                          f'[workload]\ntrace = "{source}"\n')
        args = ["run", config, "--out", tmp_path / "results"]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: ") and "truncated.csv.gz" in errors[0]
    assert TRUNCATED in errors[0] and "Aborted" not in result.output


def test_a_parquet_file_cut_anywhere_is_an_error_naming_it(tmp_path):
    """OpenDC's Parquet: a cut loses the footer, so any cut is an error."""
    packed = _source("opendc/v4/bitbrains-small/tasks.parquet").read_bytes()
    whole = _read(_write(tmp_path / "whole", "tasks.parquet", packed), "opendc")
    assert isinstance(whole, TraceData) and len(whole.instances)
    for k in sorted({0, 1, 4, len(packed) // 3, len(packed) // 2, len(packed) - 8, len(packed) - 1}):
        got = _read(_write(tmp_path / str(k), "tasks.parquet", packed[:k]), "opendc")
        assert isinstance(got, SimdcError), k
        _assert_clean_error(got)
        assert "tasks.parquet" in got.problems[0]


# --- not the data at all: one error line through the command ------------------------------------

LFS = (b"version https://git-lfs.github.com/spec/v1\n"
       b"oid sha256:b83e98246f9efab0c68a736a3903b91271a604a52c9ad561d9b0b9ca09dc4317\nsize 734003200\n")
HTML = b"<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head><body>Access denied</body></html>\n"
NOT_DATA = {
    "lfs_pointer": (LFS, "Git LFS pointer, not the data"),
    "html_page": (HTML, "HTML"),
    "empty": (b"", "empty"),
    "blank_lines": (b"\n\r\n  \n", "empty"),
    "utf16": ("id,submit_s\r\n".encode("utf-16"), "UTF-16"),
}


@pytest.mark.parametrize("what", list(NOT_DATA))
@pytest.mark.parametrize("fmt", CSV_FORMATS + ["opendc", "auto"])
def test_a_file_that_is_not_the_data_is_one_error_line_naming_it(tmp_path, fmt, what):
    content, says = NOT_DATA[what]
    name = "tasks.parquet" if fmt == "opendc" else FORMATS.get(fmt, ("vmtable.csv",))[0]
    path = _write(tmp_path, name, content)
    for policy in ("strict", "skip"):
        result = CliRunner().invoke(app, ["trace", "inspect", str(path), "--format", fmt, "--on-bad-rows", policy])
        errors = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.exit_code == 2 and len(errors) == 1, result.output
        assert errors[0].startswith(f"error: {path}") and says in errors[0], errors[0]


@pytest.mark.parametrize("fmt", CSV_FORMATS)
def test_a_header_row_with_no_data_is_one_error_naming_the_file(excerpts, fmt, tmp_path):
    header = FORMATS[fmt][2]
    data = excerpts[fmt]
    first = header(data) if header else data.splitlines(keepends=True)[0]
    for variant in (first, BOM + first.replace(b"\n", b"\r\n"), gzip.compress(first)):
        got = _read_bytes(fmt, variant, "skip", name=FORMATS[fmt][0] + (".gz" if variant[:2] == b"\x1f\x8b" else ""))
        assert isinstance(got, SimdcError), got
        assert any("no data rows" in p for p in got.problems), got.problems


def test_the_lfs_pointer_case_says_so():
    """../shared/cases/azure_lfs_pointer, read with --on-bad-rows skip."""
    got = _read(_source("cases/azure_lfs_pointer/vmtable.csv"), "azure", "skip")
    assert isinstance(got, SimdcError) and "git lfs pull" in got.problems[0]


# --- other generic read failures ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", CSV_FORMATS)
def test_bytes_that_are_not_utf8_are_an_error_or_change_nothing(excerpts, fmt):
    """A Latin-1 byte inside a value: either one error, or (in a column the reader does
    not use) the same trace; never a value read wrong."""
    data = excerpts[fmt]
    lines = data.splitlines(keepends=True)
    at = 1 if (FORMATS[fmt][2] is None) else 0  # the first data row
    delimiter = b";\t" if fmt == "bitbrains" else b","
    for column in range(3):
        fields = lines[at].split(delimiter)
        fields[column] = b"\xe9" + fields[column]
        changed = b"".join(lines[:at]) + delimiter.join(fields) + b"".join(lines[at + 1:])
        got = _read_bytes(fmt, changed)
        if isinstance(got, SimdcError):
            _assert_clean_error(got)
        else:
            _assert_same(got, _clean(fmt, excerpts))


def test_a_folder_without_trace_files_is_one_error(tmp_path):
    _write(tmp_path / "download", "README.md", b"# the trace\n")
    _write(tmp_path / "download", "index.html", HTML)
    got = _read(tmp_path / "download", "auto")
    assert isinstance(got, SimdcError) and len(got.problems) == 1
    assert "no trace files in this folder" in got.problems[0] and "download" in got.problems[0]


def test_a_gzip_file_without_gz_in_its_name_is_read_as_gzip(excerpts, tmp_path):
    """Compression is told from a file's first bytes, not its name, by every part of the
    reader (recognising the table and reading its rows)."""
    got = _read(_write(tmp_path, "vmtable.csv", gzip.compress(excerpts["azure"])), "azure")
    assert isinstance(got, TraceData), got
    _assert_same(got, _clean("azure", excerpts))


@pytest.mark.parametrize("policy", ["strict", "skip"])
def test_bytes_that_are_not_utf8_past_the_first_lines_are_one_error_line(excerpts, tmp_path, policy):
    """Past what identification reads (64 KiB), in a row pyarrow rejects for its field
    count: pyarrow's invalid-row handler cannot decode the row, which Python would print
    as an "unraisable" traceback; the command prints one error line."""
    rows = excerpts["azure"].splitlines()
    body = b"".join(b"vm%d," % i + rows[i % len(rows)].split(b",", 1)[1] + b"\n" for i in range(400))
    path = _write(tmp_path, "vmtable.csv", body + b"vm-x,\xe9t\xe9,3\n")
    result = CliRunner().invoke(app, ["trace", "inspect", str(path), "--format", "azure", "--on-bad-rows", policy])
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(errors) == 1, result.stderr
    assert errors[0].startswith(f"error: {path}") and "UTF-8" in errors[0]


def test_simdc_files_pandas_cannot_decompress_are_one_error(excerpts):
    """simdc's own format is read with pandas, which decompresses by file name and has no
    zstd without an optional package: such a file is refused by name, not a traceback."""
    for name, data in (("workload.csv.zst", COMPRESSORS[".zst"](excerpts["simdc"])),
                       ("workload.csv", gzip.compress(excerpts["simdc"]))):
        got = _read_bytes("simdc", data, name=name)
        assert isinstance(got, SimdcError), name
        _assert_clean_error(got)
        assert "rename or decompress" in got.problems[0]
