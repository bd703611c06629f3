"""Property: OpenDC's Parquet tables cut at any byte are one clean error, never a
traceback (issue #14, item 6; OpenDC's format has no CSV part)."""

from __future__ import annotations

import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simdc.errors import InputError
from simdc.workload.readers import read_trace
from tests.realworld._trace_cli import assert_one_clean_error, simdc
from tests.workload.traces import TRACES

SAMPLE = TRACES / "opendc" / "v4" / "bitbrains-small"
pytestmark = pytest.mark.skipif(not SAMPLE.exists(), reason=f"no OpenDC sample under {TRACES}")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), table=st.sampled_from(["tasks.parquet", "fragments.parquet"]))
def test_a_parquet_table_cut_at_any_byte_is_an_error(tmp_path_factory, data, table):
    folder = tmp_path_factory.mktemp("opendc")
    for name in ("tasks.parquet", "fragments.parquet"):
        shutil.copy(SAMPLE / name, folder / name)
    whole = (SAMPLE / table).read_bytes()
    (folder / table).write_bytes(whole[: data.draw(st.integers(min_value=0, max_value=len(whole) - 1))])
    with pytest.raises(InputError):
        read_trace([folder], "opendc")


def test_a_cut_table_through_the_command_is_one_clean_error(tmp_path):
    shutil.copy(SAMPLE / "fragments.parquet", tmp_path / "fragments.parquet")
    whole = (SAMPLE / "tasks.parquet").read_bytes()
    (tmp_path / "tasks.parquet").write_bytes(whole[: len(whole) // 2])
    result = simdc("trace", "inspect", tmp_path, "--format", "opendc", "--opendc-memory-unit", "KB")
    assert_one_clean_error(result, "tasks.parquet")
