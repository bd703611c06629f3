"""Bounded memory (issue #16): a streamed run (``run_platform(stream_to=...)``, what a
spilled :func:`simdc.simulate` does on the general engine) keeps its per-instance state in
chunks (simdc/engine/chunks.py), writes a chunk's rows once they are all final and lets
the chunk go. Its instance rows must be the run in memory's, to the bit, and the chunks
alive at once must not grow with the run's length."""

from __future__ import annotations

import math
import os
import re
import struct
from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

import simdc
from simdc.config import validate
from simdc import metrics
from simdc import streamed as streamed_module
from simdc.engine import chunks as chunks_module
from simdc.engine import run_platform
from simdc.engine.chunks import Chunks
from simdc.engine.simulation import Timeseries
from simdc.metrics import PairwiseSum
from simdc.workload import load_workload

from ..conftest import MINIMAL, set_keys

# every feature whose state the chunks hold: failures with resubmission (random and
# fixed), a queue with a bound on the wait, batch work, bursty usage on overcommitted
# container hosts (OOM kills and restarts after a back-off), image pulls
EVERYTHING = {
    "simulation.duration_s": 4 * 3600,
    "host": None,
    "cluster.hosts": [{"cpu_cores": 16, "memory_gib": 32, "reserved_memory_gib": 2, "count": 3, "image_cache_gib": 2}],
    # overcommitted 2x: usage never exceeds a container's request (it is clipped at the size),
    # so only booking more than the host holds lets bursts meet and OOM-kill
    "platform.container": {"admission": "requests", "overcommit": 2.0},
    "placement": {"when_full": "queue", "max_wait_s": 300},
    "faults": {"host_mtbf_s": 20000, "host_repair_s": 600, "kernel_mtbf_s": 40000, "on_failure": "resubmit",
               "host_failures": [[1, 3000.0]]},
    "workload.synthetic.arrival_rate_per_s": 0.05,
    "workload.synthetic.lifetime_s": {"median": 600, "p95": 3000},
    "workload.synthetic.batch_fraction": 0.3,
    "workload.synthetic.cpu_usage": {"mean": 0.4},
    "workload.synthetic.memory_usage": {"mean": 0.5},
    "workload.synthetic.cpu_burstiness": 1.0,
    "workload.synthetic.memory_burstiness": 0.5,
    "workload.synthetic.images": ["a:1", "b:1"],
    "images": [{"name": "a:1", "layers": [{"digest": "sha256:a", "size_mib": 300}]},
               {"name": "b:1", "layers": [{"digest": "sha256:b", "size_mib": 900}]}],
}


def config_of(seed: int, changes: dict | None = None):
    return validate(set_keys(set_keys(MINIMAL, EVERYTHING), {"simulation.seed": seed, **(changes or {})}))


def runs(config, name: str, path):
    """The platform's run in memory and streamed into ``path`` (general engine both):
    the streamed run's instances and timeseries read back from their files."""
    sim = config.simulation
    workload = load_workload(config.workload, sim.duration_s, sim.seed)
    args = dict(duration_s=sim.duration_s, sample_every_s=sim.sample_every_s, seed=sim.seed, usage=workload.usage,
                placement=config.placement, images={image.name: image for image in config.images},
                registry=config.registry, faults=config.faults, lane="general", sizes=workload.sizes)
    held = run_platform(name, config.platform[name], config.fleet, workload.instances, **args)
    streamed = run_platform(name, config.platform[name], config.fleet, workload.instances, stream_to=path, **args)
    assert streamed.instances is None and streamed.timeseries is None
    return held, replace(streamed, instances=pd.read_parquet(f"{path}.instances.parquet"),
                         timeseries=pd.read_parquet(f"{path}.timeseries.parquet"))


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of a few rows, whose rows are overwritten with nonsense when let go: a
    handler that read a let-go row would change the results."""
    monkeypatch.setattr(chunks_module, "CHUNK_ROWS", 16)
    monkeypatch.setattr(chunks_module, "GROUP_ROWS", 50)  # row groups cut across chunks
    monkeypatch.setattr(Chunks, "poison", True)
    monkeypatch.setattr(Timeseries, "STREAM_ROWS", 10)  # a row group every 4 samples of 3 hosts
    made: list[Chunks] = []
    original = Chunks.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(Chunks, "__init__", init)
    return made


# start latencies of every form (the streamed run draws them chunk by chunk); a list of
# samples is drawn for the whole run at once (Simulation.windowed)
STARTS = [{"median": 20, "p95": 90}, {"mean": 15}, 12.5, {"cdf": [[2, 0], [10, 0.6], [60, 1]]}, [3.0, 8.0, 40.0]]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), name=st.sampled_from(["vm", "container"]),
       max_wait_s=st.sampled_from([60, 300, 1200]), start=st.sampled_from(STARTS))
def test_a_streamed_run_writes_the_rows_of_the_run_in_memory(small_chunks, tmp_path_factory, seed, name, max_wait_s,
                                                              start):
    key = "platform.vm.boot_s" if name == "vm" else "platform.container.start_s"
    config = config_of(seed, {"placement.max_wait_s": max_wait_s, key: start})
    path = tmp_path_factory.mktemp("streamed") / "run"
    held, streamed = runs(config, name, path)
    assert held.lane == streamed.lane == "general"
    chunks = small_chunks[-1]
    # the inputs came with the chunks (computed as each opened), but for a list of samples
    assert ("fp_book_cpu" in chunks.columns) == (not isinstance(start, list))
    assert chunks.count == math.ceil(len(held.instances) / 16) and chunks.freed == chunks.count
    file = pq.ParquetFile(f"{path}.instances.parquet")  # in row order, row groups of 50 rows across chunks
    sizes = [file.metadata.row_group(k).num_rows for k in range(file.num_row_groups)]
    whole, rest = divmod(len(held.instances), 50)
    assert sizes == [50] * whole + ([rest] if rest else [])
    assert_frame_equal(streamed.instances, held.instances, check_exact=True)
    assert_frame_equal(streamed.hosts, held.hosts, check_exact=True)
    assert_frame_equal(streamed.timeseries, held.timeseries, check_exact=True)


def test_the_test_config_reaches_every_feature(small_chunks, tmp_path):
    """What the property above compares is not vacuous: with seed 3 the containers are
    OOM-killed and restarted, hosts fail and their instances are resubmitted, requests
    queue and give up, batch work completes, and chunks are let go while the run goes
    (and the timeseries written a few samples at a time)."""
    held, _ = runs(config_of(3), "container", tmp_path / "run")
    table = held.instances
    assert table["oom_kills"].sum() > 0 and table["restarts"].sum() > 0
    assert table["failure_kills"].sum() > 0 and table["replacements"].sum() > 0
    assert (table["queue_s"] > 0).any() and (table["outcome"] == "rejected").any()
    assert table["slowdown"].notna().any()  # batch work completed
    chunks = small_chunks[-1]
    assert chunks.most_live < chunks.count / 2  # most chunks were let go before the end
    assert pq.ParquetFile(tmp_path / "run.timeseries.parquet").num_row_groups > 10  # written as it went


def test_live_chunks_do_not_grow_with_the_run(small_chunks, tmp_path):
    """Chunks alive at once are bounded by what is alive, not by the run's length: at a
    steady load, a run four times as long holds no more chunks at its peak than a margin
    over the shorter one's, while it writes four times the chunks. Lifetimes here are at
    most a few thousand seconds (lognormal, p95 3,000 s) and waits at most 300 s, so
    a chunk ends within a few hours of its last arrival."""
    most = {}
    for hours in (6, 24):
        config = config_of(5, {"simulation.duration_s": hours * 3600})
        runs(config, "vm", tmp_path / f"{hours}")
        chunks = small_chunks[-1]
        most[hours] = (chunks.most_live, chunks.count)
    (short_live, short_count), (long_live, long_count) = most[6], most[24]
    assert long_count > 3.5 * short_count
    assert long_live <= 1.5 * short_live


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(["vm", "container"]), start=st.sampled_from(STARTS[:4]),
       cuts=st.lists(st.integers(0, 300), max_size=6))
def test_footprints_drawn_window_by_window_are_the_whole_runs(seed, name, start, cuts):
    """Same seed, same draws: a streamed run's footprints, computed a chunk of rows at a
    time from one stream (Simulation._stream_inputs), are the whole run's to the bit,
    however the rows are cut, for every start latency but a list of samples."""
    from simdc.engine.rules import footprints
    from simdc.random import stream

    key = "platform.vm.boot_s" if name == "vm" else "platform.container.start_s"
    config = config_of(seed % 1000, {key: start, "workload.synthetic.sizes": [
        {"cpu_cores": 2, "memory_gib": 4, "weight": 1}, {"cpu_cores": 3, "memory_gib": 7, "weight": 1}]})
    instances = load_workload(config.workload, config.simulation.duration_s, seed).instances
    platform = config.platform[name]
    whole = footprints(platform, instances, stream(seed, "start:x"))
    draws, parts = stream(seed, "start:x"), []
    bounds = sorted({0, len(instances), *(min(cut, len(instances)) for cut in cuts)})
    for lo, hi in zip(bounds, bounds[1:]):
        parts.append(footprints(platform, instances.iloc[lo:hi], draws))
    for field in ("book_cpu", "book_mem_gib", "start_s", "weight", "cpu_cap", "mem_cap", "mem_limit",
                  "mem_request", "guaranteed"):
        joined = np.concatenate([getattr(part, field) for part in parts])
        assert joined.tobytes() == getattr(whole, field).tobytes(), field


def test_the_engine_holds_little_per_instance_for_the_whole_run(tmp_path, monkeypatch):
    """What a streamed run holds for the whole run, counted (tracemalloc) as its handlers
    start: the per-instance inputs came with the chunks, so a run four times as long
    holds a few bytes more an instance (the images each needs, a VM's presented usage and
    its clip: 8 B each), where the run in memory holds well over 100 B more (its inputs
    and state)."""
    import tracemalloc

    from simdc.engine.handlers import GeneralLane

    held = {}
    original = GeneralLane.run

    def run(self):
        held[self.sim.chunks is not None] = tracemalloc.get_traced_memory()[0]
        return original(self)

    monkeypatch.setattr(GeneralLane, "run", run)
    for name in ("vm", "container"):
        grew = {}
        for hours in (6, 24):
            config = config_of(5, {"simulation.duration_s": hours * 3600})
            sim = config.simulation
            workload = load_workload(config.workload, sim.duration_s, sim.seed)
            args = dict(duration_s=sim.duration_s, sample_every_s=sim.sample_every_s, seed=sim.seed,
                        usage=workload.usage, placement=config.placement, lane="general",
                        images={image.name: image for image in config.images}, registry=config.registry,
                        faults=config.faults, sizes=workload.sizes)
            for streamed in (False, True):
                tracemalloc.start()
                before = tracemalloc.get_traced_memory()[0]
                run_platform(name, config.platform[name], config.fleet, workload.instances,
                             stream_to=tmp_path / f"{name}{hours}" if streamed else None, **args)
                tracemalloc.stop()
                grew[hours, streamed] = held[streamed] - before
            grew[hours] = len(workload.instances)
        added = grew[24] - grew[6]
        assert added > 3000
        per_instance = {streamed: (grew[24, streamed] - grew[6, streamed]) / added for streamed in (False, True)}
        assert per_instance[True] <= 32, (name, per_instance)  # a VM's presented usage and its clip: 16 B
        assert per_instance[False] >= 100, (name, per_instance)


def test_a_spilled_simulate_streams_and_equals_the_run_in_memory(small_chunks):
    """Through :func:`simdc.simulate`: every table of the spilled run, its instances
    streamed chunk by chunk, is the run in memory's, to the bit."""
    config = config_of(11)
    held = simdc.simulate(config, check_memory=False)
    spilled = simdc.simulate(config, check_memory=False, spill=True)
    assert len(small_chunks) == 2  # both platforms streamed
    for table in ("summary", "instances", "hosts", "timeseries"):
        assert_frame_equal(getattr(spilled, table), getattr(held, table), check_exact=True, obj=table)


def test_chunks_open_and_free_whole_pages():
    """A chunk opens with its defaults, is given back (reads zero) when freed, and the
    column kept whole is not."""
    chunks = Chunks(10_000, rows_per_chunk=4096)
    times = chunks.column("t", "d", float("nan"))
    state = chunks.column("state", "b", chunked=False)
    chunks.open_through(5000)
    assert chunks.live == [0, 1] and math.isnan(times[4999])
    times[10], state[10] = 1.5, 3
    chunks.free(0)
    assert times[10] == 0.0 and state[10] == 3 and chunks.live == [1] and chunks.live_rows() == (4096, 8192)
    chunks.open_through(10**9)
    assert chunks.live == [1, 2] and chunks.bounds(2) == (8192, 10_000) and math.isnan(times[9999])


def _rss_anon_bytes() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("RssAnon:"))


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads Linux's /proc/self/status")
def test_a_column_that_stays_zero_takes_no_memory_in_the_chunks_it_is_zero_in():
    """Chunks do not write zeros (a page never written reads zero and costs nothing): a
    column of zeros (defaults or inputs) takes no memory as its chunks open, one of NaN
    its 8 bytes a row; both read as their values, and a zero input written over it does
    not hide the value written later."""
    rows = 2_000_000  # 16 MB a column of doubles
    chunks = Chunks(rows)
    zeros = chunks.column("zeros", "d", 0.0)
    before = _rss_anon_bytes()
    chunks.open_through(rows)
    zero_cost = _rss_anon_bytes() - before
    chunks = Chunks(rows)
    nans = chunks.column("nans", "d", float("nan"))
    before = _rss_anon_bytes()
    chunks.open_through(rows)
    nan_cost = _rss_anon_bytes() - before
    assert zero_cost < 2 * 2**20 < 15 * 2**20 < nan_cost, (zero_cost, nan_cost)
    assert zeros[rows - 1] == 0.0 and math.isnan(nans[rows - 1])
    inputs = Chunks(1000, rows_per_chunk=100)
    given = inputs.inputs({"x": "d", "n": "q"}, lambda lo, hi: {"x": np.where(np.arange(lo, hi) % 300 < 100, 0.0,
                                                                              np.arange(lo, hi) - 0.5),
                                                                "n": np.zeros(hi - lo, int)})
    inputs.open_through(999)
    assert list(given["x"]) == [0.0 if i % 300 < 100 else i - 0.5 for i in range(1000)]
    assert list(given["n"]) == [0] * 1000


@settings(max_examples=15, deadline=None)
@given(sizes=st.lists(st.integers(1, 9), min_size=1, max_size=12), group=st.integers(1, 20), seed=st.integers(0, 999))
def test_chunks_written_in_any_order_come_out_in_row_order_as_written(tmp_path_factory, sizes, group, seed):
    """RowGroups: chunks written in any order (as they become final) are the file's rows in
    row order, in row groups of ``rows`` rows (the last shorter), every value and dtype as
    pandas gave them: floats with NaN, ints, bools, strings and a categorical whose
    categories differ from chunk to chunk (each chunk's Arrow dictionary its own)."""
    rng = np.random.default_rng(seed)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    n = int(starts[-1])
    whole = pd.DataFrame({
        "id": np.arange(n, dtype=np.int64) * 7, "t_s": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
        "flag": rng.random(n) < 0.5, "platform": "vm",
        "outcome": pd.Categorical(rng.choice(["completed", "killed", "rejected"], n)),
    })
    path = tmp_path_factory.mktemp("rows") / "part.instances.parquet"
    writer = chunks_module.RowGroups(path, rows=group)
    for k in rng.permutation(len(sizes)):
        chunk = whole.iloc[starts[k]:starts[k + 1]].reset_index(drop=True)
        chunk["outcome"] = chunk["outcome"].cat.remove_unused_categories()
        writer.write(int(k), chunk)
    writer.close()
    assert not writer.unordered.exists()
    back = pq.ParquetFile(path)
    assert [back.metadata.row_group(g).num_rows for g in range(back.num_row_groups)] == (
        [group] * (n // group) + ([n % group] if n % group else []))
    read = pd.read_parquet(path)
    assert list(read.dtypes) == list(whole.dtypes)
    read["outcome"], whole["outcome"] = read["outcome"].astype(str), whole["outcome"].astype(str)
    assert_frame_equal(read, whole, check_exact=True)


def test_the_budget_estimates_the_streamed_run_and_refuses_only_what_even_that_exceeds():
    """A spilled run that surely streams (the general engine's features, a synthetic
    workload) is estimated as streamed: instances at the streamed rate, the chunks alive
    per host, no timeseries; refused only below that figure, with the message naming
    it. A run the fast lane may take keeps the spilled estimate."""
    from simdc import budget
    from simdc.budget import TooBigError

    config = config_of(1, {"workload.synthetic.arrival_rate_per_s": 1500, "simulation.duration_s": 7200})
    found = budget.estimate(config)
    assert found.streams
    instances, hosts = math.ceil(1500 * 7200), 3
    streamed = (instances * budget.BYTES_PER_INSTANCE_STREAMED
                + hosts * (budget.BYTES_PER_HOST_STREAMED + budget.BYTES_PER_HOST))
    assert found.spilled_bytes == budget.BASE_BYTES + budget.SPILL_BYTES + streamed
    assert found.spilled_bytes < found.bytes
    assert budget.check(config, available=int(found.spilled_bytes), spill=None).spill is True
    with pytest.raises(TooBigError) as refused:
        budget.check(config, available=int(found.spilled_bytes) - 1, spill=None)
    [line] = refused.value.problems
    # (as many digits as tell the need from what is available: budget._gib)
    said = re.search(r"about ([\d,.]+) GiB even with its tables written to disk", line)
    assert said and abs(float(said[1].replace(",", "")) - found.spilled_bytes / 2**30) < 0.05, line
    for changes in ({"faults": None, "workload.synthetic.batch_fraction": 0.0, "workload.synthetic.images": None,
                     "images": None},  # the fast lane may run it
                    {"maintenance": {"drains": [[0, 600.0]]}}):  # drains keep rows in memory
        assert not budget.estimate(config_of(1, changes)).streams


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


@settings(max_examples=60, deadline=None)
@given(n=st.one_of(st.integers(0, 300), st.integers(300, 5000)), seed=st.integers(0, 2**32 - 1),
       pieces=st.integers(1, 12), nan=st.booleans())
def test_pairwise_sum_is_numpys_sum_to_the_bit(n, seed, pieces, nan):
    """PairwiseSum replays numpy's pairwise summation over values given in pieces: the
    total is ``np.sum`` of the whole array, bit for bit (sign of zero and NaN included),
    for any length and any cut into pieces. Values of wildly mixed magnitude and sign, so
    that another order of additions would round differently."""
    rng = np.random.default_rng(seed)
    values = rng.lognormal(0, 6, n) * rng.choice([-1.0, 1.0], n)
    if nan and n:
        values[rng.integers(0, n)] = np.nan
    cuts = np.sort(rng.integers(0, n + 1, pieces - 1))
    total = PairwiseSum(n)
    for piece in np.split(values, cuts):
        total.add(piece)
    assert _bits(total.total) == _bits(float(np.sum(values)))


def test_pairwise_sum_of_a_long_column_in_row_groups():
    """A million values in the pieces a streamed run gives (uneven row groups): numpy's sum;
    and a naive running sum of the same pieces is not, so the test can tell."""
    rng = np.random.default_rng(7)
    values = rng.lognormal(0, 6, 1_000_003) * rng.choice([-1.0, 1.0], 1_000_003)
    total, running = PairwiseSum(len(values)), 0.0
    for piece in np.split(values, [1, 250_000, 250_513, 700_000, 999_999]):
        total.add(piece)
        running += float(piece.sum())
    assert _bits(total.total) == _bits(float(values.sum())) and running != float(values.sum())
    with pytest.raises(ValueError):
        total.add(values[:1])


# variants of the test config for the summary: requests that fit no host (warnings),
# a [cost] table (licences and instance-hours from the rows), rejection without a queue,
# VMs of exactly their request (size over need 0) and a larger catalogue size (above 0)
SUMMARY_VARIANTS = {
    "queue": {},
    "reject": {"placement": {"when_full": "reject"}},
    "unplaceable_cost": {
        "workload.synthetic.sizes": [*MINIMAL["workload"]["synthetic"]["sizes"],
                                     {"cpu_cores": 40, "memory_gib": 8, "weight": 0.3}],  # > 2 x 16 cores
        "cost": {"price_per_kwh": 0.2, "carbon_intensity_gco2_per_kwh": 300,
                 "licence_per_hour": {"vm": 0.1, "container": 0.02}},
    },
    "as_given": {"platform.vm": {"sizing": "as_given"}},
    "catalogue": {"platform.vm": {"sizing": "catalogue", "catalogue": [{"name": "big", "vcpus": 8, "memory_gib": 14}]}},
}


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), variant=st.sampled_from(list(SUMMARY_VARIANTS)))
def test_a_streamed_summary_is_the_summary_of_the_table_in_memory(small_chunks, seed, variant):
    """The summary of a spilled run, gathered from its rows as they were written (never
    read back: simdc.streamed), is the run in memory's to the bit, costs and warnings
    included, on random configs with failures, a queue or none, batch work, OOM kills,
    image pulls and VM sizes; both paths give every summary column a value of their own
    (none left blank by the table's columns); and what it held per row is the
    percentiles' values and the sums' blocks (bytes counted), not rows."""
    held_bytes, rows = [], []
    streamed_summary, platform_row = streamed_module.summary, metrics.platform_row

    def counted(figures, hosts):
        held_bytes.append((figures.held_bytes(), figures.rows))
        return streamed_summary(figures, hosts)

    def recorded(*args, **kwargs):
        rows.append(platform_row(*args, **kwargs))
        return rows[-1]

    config = config_of(seed, SUMMARY_VARIANTS[variant])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(metrics, "platform_row", recorded)
        held = simdc.simulate(config, check_memory=False)
        patch.setattr(streamed_module, "summary", counted)
        spilled = simdc.simulate(config, check_memory=False, spill=True)
    assert len(held_bytes) == 2  # both platforms streamed
    assert len(rows) == 4 and all(set(row) == set(metrics.SUMMARY_COLUMNS) for row in rows)
    assert_frame_equal(spilled.summary, held.summary, check_exact=True)
    assert spilled.manifest["warnings"] == held.manifest["warnings"]
    if variant == "unplaceable_cost":
        assert (held.summary["unplaceable"] > 0).all() and held.summary["cost_licences"].gt(0).all()
        assert any("fit no host" in line for line in held.manifest["warnings"])
    over_need = held.summary.set_index("platform").loc["vm", ["vm_cpu_over_need", "vm_mem_over_need"]]
    if variant == "as_given":  # the VM is the request (its guest OS aside): no vCPU over need
        assert over_need["vm_cpu_over_need"] == 0
    if variant == "catalogue":  # every VM 8 vCPUs, against needs of 1-4 cores
        assert over_need["vm_cpu_over_need"] > 1
    for used, count in held_bytes:  # 3 percentile columns, 8 B a value; the blocks' sums ~1 B a row each
        assert used <= 48 * count + 65_536


def test_a_figure_added_in_one_place_is_in_both_summaries(small_chunks):
    """A figure is written once (simdc.metrics: its terms and its finish), so that one
    added there is in the summary of a run in memory and of a streamed one alike: here
    twice the core-seconds run, a float sum whose value is known independently (doubling
    is exact, so it is twice numpy's sum of ``run_s``)."""
    terms, figures = metrics._instance_terms, metrics._instance_figures
    config = config_of(7)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(metrics, "_instance_terms", lambda: {**terms(), "probe": metrics.Sum(lambda r: 2 * r["run_s"])})
        patch.setattr(metrics, "_instance_figures", lambda t, *args: {**figures(t, *args), "probe_core_s": t["probe"]})
        patch.setattr(metrics, "SUMMARY_COLUMNS", (*metrics.SUMMARY_COLUMNS, "probe_core_s"))
        held = simdc.simulate(config, check_memory=False)
        spilled = simdc.simulate(config, check_memory=False, spill=True)
    assert len(small_chunks) == 2  # both platforms streamed
    by_platform = held.instances.groupby("platform", sort=False)["run_s"]
    expected = {name: 2 * float(np.sum(values.to_numpy(float))) for name, values in by_platform}
    for results in (held, spilled):
        got = results.summary.set_index("platform")["probe_core_s"]
        assert got.to_dict() == expected
    assert_frame_equal(spilled.summary, held.summary, check_exact=True)
