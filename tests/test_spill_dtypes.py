"""A results table does not depend on where it was kept: the instances and workload
tables of a run spilled to Parquet, and of the run written and read back, have the
dtypes (and values) of the run held in memory, for every trace format, whatever type
the trace gives its ids in."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

import simdc
from simdc.config import validate

from .workload.traces import sample

# every trace format with a sample in ../shared/traces (cloudsimpy and simdc's own have
# none there: the own format is written below, as OpenDC's is)
SAMPLES = [("azure", "azure_v1_2017/vmtable.csv.gz"), ("azure", "azure_v2_2019/vmtable_subset_20vms_longest.csv"),
           ("google", "google_2011"), ("google2019", "google2019_instance_events_ep1dsid"),
           ("google2019", "google2019_cell_a_lgdcloudsim"),
           ("google2019", "google2019_borg_joined_slice"),  # no instance survives: an empty table
           ("alibaba2017", "alibaba_v2017"), ("bitbrains", "bitbrains_rnd/2013-7"),
           ("opendc", "opendc/v5/surf_week"), ("opendc", "opendc/v4/bitbrains-small")]


def config(trace, fmt: str):
    return validate({"simulation": {"duration_s": 3600, "platforms": ["vm", "container"], "sample_every_s": 600},
                     "host": {"cpu_cores": 64, "memory_gib": 512},
                     "workload": {"trace": str(trace), "format": fmt, "limit": 200}})


def assert_kept_alike(cfg, tmp_path):
    held = simdc.simulate(cfg)
    spilled = simdc.simulate(cfg, spill=True)
    back = simdc.load_results(held.write(tmp_path / "run"))
    for table in ("instances", "workload"):
        want = getattr(held, table)
        # (a workload of no rows written to Parquet loses the categories its columns had)
        kept = (spilled, back) if table == "instances" or len(want) else (spilled,)
        for got in (getattr(results, table) for results in kept):
            assert got.dtypes.to_dict() == want.dtypes.to_dict(), table
            assert_frame_equal(got, want, check_exact=True, obj=table)
    return held


@pytest.mark.parametrize("fmt, relative", SAMPLES, ids=[rel.split("/")[0] for _, rel in SAMPLES])
def test_spilled_written_and_held_tables_have_one_dtype_for_every_trace_format(fmt, relative, tmp_path):
    assert_kept_alike(config(sample(relative), fmt), tmp_path)


ID_TYPES = {"int32": pa.int32(), "int64": pa.int64(), "string": pa.string()}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=12, unique=True),
       id_type=st.sampled_from(sorted(ID_TYPES)))
def test_an_opendc_trace_keeps_its_ids_whatever_their_type(ids, id_type, tmp_path_factory):
    """OpenDC's ids are strings in schema v2–v3 and int32 from v4: either way the ids come
    out as the trace wrote them (integers as int64), held, spilled or written alike."""
    folder = tmp_path_factory.mktemp("opendc")
    typed = [str(i) for i in ids] if id_type == "string" else ids
    n = len(ids)
    pq.write_table(pa.table({
        "id": pa.array(typed, ID_TYPES[id_type]), "submission_time": pa.array([1000 * k for k in range(n)], pa.int64()),
        "duration": pa.array([600_000] * n, pa.int64()), "cpu_count": pa.array([2] * n, pa.int32()),
        "cpu_capacity": pa.array([4000.0] * n), "mem_capacity": pa.array([4096.0] * n)}), folder / "tasks.parquet")
    pq.write_table(pa.table({"id": pa.array(typed, ID_TYPES[id_type]), "duration": pa.array([600_000] * n, pa.int64()),
                             "cpu_usage": pa.array([1000.0] * n)}), folder / "fragments.parquet")
    held = assert_kept_alike(config(folder, "opendc"), tmp_path_factory.mktemp("out"))
    inst = held.instances
    want = set(typed)
    for platform in ("vm", "container"):
        assert set(inst.loc[inst["platform"] == platform, "id"]) == want
    if id_type == "string":
        assert pd.api.types.is_string_dtype(inst["id"])
    else:
        assert inst["id"].dtype == "int64"
