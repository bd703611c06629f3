"""Each instance figure of the summary is written once (simdc.metrics: terms to accumulate
and a finish) and evaluated over the whole table for a run in memory, piece by piece for a
streamed one. Reduced in any cut of the rows into pieces (counted in any order, added in
row order, as pandas or Arrow tables), the figures are the whole table's to the bit; and
the whole table's are what pandas and numpy give, computed here without simdc."""

from __future__ import annotations

import struct
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simdc
from simdc.metrics import InstanceReduction, PairwiseSum
from simdc.workload import load_workload

from .engine.test_streamed import config_of

# a service up before the run (its replicas preexisting), asked to run for a time,
# autoscaled and released anew at 1 h, beside the test config's failures, queue, batch
# work, OOM kills and image pulls
SERVICES = {"services": [{"name": "web", "image": "a:1", "replicas": 4, "cpu_cores": 1, "memory_gib": 2,
                          "readiness_s": 10, "running_at_start": True, "demand": {"cores": 2},
                          "autoscale": {"min_replicas": 2, "max_replicas": 8, "target_utilisation": 0.6},
                          "releases": [{"at_s": 3600, "image": "b:1"}]}]}
# a drain at 30 min: VMs live-migrated, containers restarted elsewhere (the move figures)
DRAIN = {"maintenance": {"drains": [[0, 1800.0], [1, 2400.0]], "maintenance_s": 600}}
CASES = {"everything": {}, "services": SERVICES, "reject": {"placement": {"when_full": "reject"}}, "drain": DRAIN}


@lru_cache(maxsize=None)
def run(case: str, seed: int):
    """Each platform's instance table of the run in memory, its horizon, and the requests."""
    config = config_of(seed, CASES[case])
    results = simdc.simulate(config, check_memory=False)
    sim = config.simulation
    requests = load_workload(config.workload, sim.duration_s, sim.seed).instances
    tables = {name: rows.reset_index(drop=True) for name, rows in results.instances.groupby("platform", sort=False)}
    return tables, sim.duration_s, requests


def same(a, b) -> bool:
    """Equal to the bit (NaN equal to NaN)."""
    if isinstance(a, float) or isinstance(b, float):
        return (np.isnan(a) and np.isnan(b)) or struct.pack("<d", a) == struct.pack("<d", b)
    return a == b


@settings(max_examples=25, deadline=None)
@given(case=st.sampled_from(list(CASES)), seed=st.sampled_from([1, 2]), platform=st.sampled_from(["vm", "container"]),
       data=st.data())
def test_figures_reduced_in_pieces_are_the_whole_tables(case, seed, platform, data):
    tables, duration_s, requests = run(case, seed)
    inst = tables[platform]
    n = len(inst)
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=12), label="cuts"))
    pieces = [inst.iloc[lo:hi].reset_index(drop=True) for lo, hi in zip([0, *cuts], [*cuts, n])]
    order = data.draw(st.permutations(range(len(pieces))), label="count order")
    arrow = data.draw(st.lists(st.booleans(), min_size=len(pieces), max_size=len(pieces)), label="arrow")
    schema = pa.Schema.from_pandas(inst, preserve_index=False)

    reduction = InstanceReduction(n, duration_s, requests)
    for k in order:
        reduction.count(pieces[k])
    for piece, as_arrow in zip(pieces, arrow):
        reduction.add(pa.Table.from_pandas(piece, schema=schema, preserve_index=False) if as_arrow else piece)
    whole = InstanceReduction.of_table(inst, duration_s, requests).figures(7)
    pieced = reduction.figures(7)
    assert pieced.keys() == whole.keys()
    assert [name for name in whole if not same(pieced[name], whole[name])] == []
    moves, whole_moves = reduction.moves(), InstanceReduction.of_table(inst, duration_s, requests).moves()
    assert moves.keys() == whole_moves.keys() and [k for k in moves if not same(moves[k], whole_moves[k])] == []


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(-1e6, 1e6), max_size=600), cuts=st.lists(st.integers(0, 600), max_size=8))
def test_a_pairwise_sum_in_pieces_is_numpys_sum_empty_pieces_anywhere(values, cuts):
    values = np.array(values, dtype=float)
    bounds = [0, *sorted(min(c, len(values)) for c in cuts), len(values)]
    total = PairwiseSum(len(values))
    for lo, hi in zip(bounds, bounds[1:]):
        total.add(values[lo:hi])
    total.add(values[:0])  # and after the last
    assert same(total.total, float(values.sum()))


@pytest.mark.parametrize("case", list(CASES))
def test_the_whole_tables_figures_are_pandas_own(case):
    """Against pandas and numpy on the table itself: counts, means (NaN skipped), sums,
    start-latency percentiles, shares."""
    tables, duration_s, requests = run(case, 1)
    for inst in tables.values():
        got = InstanceReduction.of_table(inst, duration_s, requests).figures(7)
        placed = inst["admit_s"].notna()
        ready = inst["first_ready_s"] if "first_ready_s" in inst else inst["ready_s"]
        started = ready.notna() & ~inst.get("preexisting", False)
        latency = (ready - inst["submit_s"])[started].to_numpy(float)
        ran = inst["run_s"] > 0
        asked = inst["requested_s"].notna()
        expected = {
            "submitted": len(inst), "placed": int(placed.sum()),
            "rejected": int((inst["outcome"] == "rejected").sum()),
            "queue_mean_s": inst["queue_s"].mean(), "pull_s_mean": inst["pull_s"].mean(),
            "mean_instances": inst["resident_s"].sum() / duration_s,
            "lost_work_core_s": inst["lost_core_s"].sum(),
            "cold_starts": int((started & inst["cold_start"]).sum()),
            "warm_starts": int((started & ~inst["cold_start"]).sum()),
            "start_p95_s": np.percentile(latency, 95) if len(latency) else np.nan,
            "interference_slowdown_mean": inst["interference_slowdown"][ran].mean(),
            "degraded_share": inst["degraded_s"][ran].sum() / inst["run_s"][ran].sum() if ran.any() else np.nan,
            "service_availability": (inst["run_s"][asked].sum() / inst["requested_s"][asked].sum()
                                     if asked.any() else np.nan),
            "failure_kills": int(inst["failure_kills"].sum()),
        }
        assert {name: got[name] for name in expected} == pytest.approx(expected, rel=1e-12, nan_ok=True)
        if case == "drain":  # the moves, as pandas and numpy give them (np.average weighted by moves)
            begun, moves, sent = inst["migrations"].to_numpy(), inst["moves_done"].to_numpy(), inst["migrated_gib"] > 0
            assert moves.sum() > 0
            expected_moves = {
                "migrations": int(begun.sum()), "moves_done": int(moves.sum()),
                "moved_instances": int((moves > 0).sum()),
                "migration_downtime_mean_s": inst["downtime_s"].sum() / moves.sum(),
                "migration_s_mean": inst["migration_s"].sum() / moves[sent].sum() if sent.any() else np.nan,
                "migrated_gib": inst["migrated_gib"].sum(),
                "migration_link_share": (np.average(inst["migration_link_share"][sent], weights=moves[sent])
                                         if sent.any() else np.nan)}
            got_moves = InstanceReduction.of_table(inst, duration_s, requests).moves()
            assert got_moves == pytest.approx(expected_moves, rel=1e-12, nan_ok=True)
    if case == "services":  # the service's columns are there to be read
        assert any(inst["preexisting"].any() and inst["requested_s"].notna().any() for inst in tables.values())
