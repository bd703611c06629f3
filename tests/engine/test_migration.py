"""Moving instances (issue #19): pre-copy against its series, drains against the sum of
their moves, consolidation never switching off a host that holds an instance, and the
accounting with moves on.

Expected figures are computed here from the inputs (sizes, bandwidth, dirty rate, disk
speed) by the formulas the docstrings cite, not read back from the engine.
"""

from __future__ import annotations

import re

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

import simdc
from simdc.config import validate
from simdc.engine.handlers import FastLane
from simdc.engine.migration import checkpoint_restore, precopy
from simdc.engine.rules import resolve_sizing
from simdc.errors import ConfigError
from simdc.workload import load_workload
from tests.engine.test_accounting import check_outcomes

MIB = 1 / 1024  # GiB


# --- pre-copy, as a pure function -----------------------------------------------------------

@pytest.mark.parametrize("memory_gib, bandwidth_gib_s", [(4.0, 0.125), (0.5, 1.0), (64.0, 1.1641532182693481)])
def test_precopy_without_dirtying_moves_the_memory_once_at_the_links_speed(memory_gib, bandwidth_gib_s):
    """No page dirtied: one round sends the memory, M / b seconds, and nothing is left
    for the stop-and-copy (Clark et al. 2005, §3.1)."""
    move = precopy(memory_gib, bandwidth_gib_s, 0.0, 0.3, 30)
    assert move.rounds == 1 and move.converged
    assert move.moved_gib == memory_gib
    assert move.duration_s == pytest.approx(memory_gib / bandwidth_gib_s, rel=1e-15)
    assert move.downtime_s == 0.0


@settings(max_examples=200, deadline=None)
@given(memory_gib=st.floats(0.5, 512), bandwidth_gib_s=st.floats(0.01, 10), ratio=st.floats(0.01, 0.9),
       downtime_limit_s=st.floats(0.01, 2))
def test_precopy_rounds_follow_the_geometric_series_and_stop_at_the_downtime_target(
        memory_gib, bandwidth_gib_s, ratio, downtime_limit_s):
    """Round k sends M r^k (r = d / b); the first k with M r^k <= b D is sent stopped.
    So k = ceil(log(b D / M) / log r) live rounds, time M/b (1 - r^k)/(1 - r) + M r^k / b,
    bytes M (1 - r^(k+1))/(1 - r), downtime M r^k / b <= D (when the rounds before the
    last sent less than 3 M, Xen's bound)."""
    dirty = ratio * bandwidth_gib_s
    threshold = bandwidth_gib_s * downtime_limit_s
    assume(threshold < memory_gib)  # else the whole memory is sent stopped, no live round
    exact = math.log(threshold / memory_gib) / math.log(ratio)
    assume(abs(exact - round(exact)) > 1e-6)  # not on a boundary rounding could move
    k = math.ceil(exact)
    assume(k <= 30)
    assume((1 - ratio ** (k - 1)) / (1 - ratio) < 3 - 1e-9)  # Xen's 3 × M bound not reached before
    move = precopy(memory_gib, bandwidth_gib_s, dirty, downtime_limit_s, 30)
    assert move.rounds == k and move.converged
    live_s = memory_gib / bandwidth_gib_s * (1 - ratio ** k) / (1 - ratio)
    assert move.downtime_s == pytest.approx(memory_gib * ratio ** k / bandwidth_gib_s, rel=1e-9)
    assert move.downtime_s <= downtime_limit_s
    assert move.duration_s == pytest.approx(live_s + move.downtime_s, rel=1e-9)
    assert move.moved_gib == pytest.approx(memory_gib * (1 - ratio ** (k + 1)) / (1 - ratio), rel=1e-9)


def test_the_readmes_64_gib_guest_takes_the_pre_copy_series_at_the_maintenance_settings():
    """configs/maintenance.toml's settings (128 MiB/s, 16 MiB/s dirtied, 0.3 s target):
    rounds of 64 GiB, 8, 1, 1/8 (512 + 64 + 8 + 1 s), then 16 MiB <= 38.4 MiB stopped
    (0.125 s): 585.125 s. The README said "<= 512 s" (new-user trial A, item 10)."""
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    shown = re.findall(r"([\d.]+) s for a 64 GiB guest", readme)
    expected_s = sum(64 * 1024 / 128 * (16 / 128) ** k for k in range(5))
    assert expected_s == 585.125
    assert precopy(64.0, 0.125, 16 / 1024, 0.3, 30).duration_s == pytest.approx(expected_s, rel=1e-12)
    assert shown == [f"{expected_s:.1f}"]


def test_precopy_that_cannot_converge_stops_and_copies_the_memory_with_a_long_downtime():
    """d >= b: the first round's dirt is the whole memory again (pages dirtied are
    counted once), so the VM stops and all of it is sent stopped: 2 M sent, M/b down."""
    move = precopy(8.0, 0.125, 0.25, 0.3, 30)
    assert not move.converged and move.rounds == 1
    assert move.downtime_s == 8.0 / 0.125
    assert move.duration_s == 2 * 8.0 / 0.125 and move.moved_gib == 16.0


def test_precopy_stops_after_its_rounds_and_sends_the_rest_stopped():
    """r = 1/2, one round allowed: M/b live, then M/2 sent stopped (above the target)."""
    move = precopy(8.0, 1.0, 0.5, 0.3, 1)
    assert not move.converged and move.rounds == 1
    assert move.downtime_s == 4.0 and move.duration_s == 12.0 and move.moved_gib == 12.0


def test_precopy_stops_once_it_has_sent_three_times_the_memory():
    """Xen's bound: r = 0.9, M = 1 GiB at 1 GiB/s. Rounds send 1, 0.9, 0.81, 0.729
    (3.439 GiB, the first sum past 3); 0.6561 GiB is left to send stopped."""
    move = precopy(1.0, 1.0, 0.9, 0.01, 30)
    assert not move.converged and move.rounds == 4
    assert move.downtime_s == pytest.approx(0.9 ** 4, rel=1e-12)
    assert move.moved_gib == pytest.approx(3.439 + 0.6561, rel=1e-12)
    assert move.duration_s == pytest.approx(3.439 + 0.6561, rel=1e-12)


def test_precopy_and_checkpoint_refuse_values_out_of_range():
    with pytest.raises(ValueError, match="bandwidth_gib_s > 0"):
        precopy(1.0, 0.0, 0.0, 0.3, 30)
    with pytest.raises(ValueError, match="speeds > 0"):
        checkpoint_restore(1.0, 500.0, 0.0, 500.0)


def test_checkpoint_restore_dumps_sends_and_restores_the_resident_memory():
    """CRIU: size = resident memory; dump at the source disk, send, restore at the target
    disk, all frozen: 1 GiB at 512, 128, 256 MiB/s is 2 + 8 + 4 s."""
    move = checkpoint_restore(1.0, 512.0, 128.0, 256.0)
    assert move.duration_s == move.downtime_s == 14.0 and move.moved_gib == 1.0


# --- drains -----------------------------------------------------------------------------

DRAIN_AT_S = 100.0
STEP_S = 0.0625  # samples on a grid the expected times fall on


def drain_run(tmp_path, platforms, container="restart", horizon_s=1200.0, maintenance_s=600.0,
              drains=((0, DRAIN_AT_S),), predict_s=None, **extra):
    """Four 1-core services of 4 GiB (1 GiB in use) on host 0 of two, first fit; host 0
    drained at 100 s. VM moves: 16 MiB/s dirtied, 128 MiB/s sent, 300 ms target."""
    trace = tmp_path / "w.csv"
    pd.DataFrame({"id": [f"s{k}" for k in range(4)], "submit_s": [0.0, 1.0, 2.0, 3.0],
                  "duration_s": [1e6] * 4, "cpu_cores": [1.0] * 4, "memory_gib": [4.0] * 4,
                  "cpu_used": [0.5] * 4, "memory_used_gib": [1.0] * 4}).to_csv(trace, index=False)
    return simdc.simulate(validate({
        "simulation": {"duration_s": horizon_s, "seed": 1, "platforms": platforms, "sample_every_s": STEP_S},
        "cluster": {"hosts": [{"cpu_cores": 16, "memory_gib": 64, "count": 2, "disk_write_mib_s": 512}]},
        "placement": {"policy": "first_fit"},
        "platform": {"vm": {"sizing": "as_given"}} if "vm" in platforms else {},
        "maintenance": {"drains": [list(d) for d in drains], "maintenance_s": maintenance_s,
                        **({"predict_failures_s": predict_s} if predict_s else {})},
        "migration": {"dirty_mib_s": 16, "bandwidth_mib_s": 128, "downtime_limit_s": 0.3, "container": container},
        "workload": {"trace": str(trace)}, **extra,
    }))


def resident(results, platform: str, host: int) -> pd.Series:
    ts = results.timeseries
    return ts[(ts["platform"] == platform) & (ts["host"] == host)].set_index("t_s")["resident"]


def test_a_drained_host_holds_nothing_once_its_vms_have_live_migrated_one_after_another(tmp_path):
    """Each 4 GiB guest: rounds of 4096, 512, 64 MiB (r = 1/8) then 8 MiB stopped:
    36.5 s live + 62.5 ms down. Four in turn: host 0 empty at 100 + 4 × 36.5625 s and
    for the maintenance after it; holding the last VM just before its switch."""
    results = drain_run(tmp_path, ["vm"])
    per_vm_s = (4096 + 512 + 64 + 8) / 128
    empty_at = DRAIN_AT_S + 4 * per_vm_s
    on_0 = resident(results, "vm", 0)
    assert on_0[DRAIN_AT_S - STEP_S] == 4
    assert on_0[empty_at - per_vm_s + 36.5 - STEP_S] == 1  # the last VM, live phase
    window = on_0[(on_0.index >= empty_at) & (on_0.index < empty_at + 600)]
    assert len(window) == 600 / STEP_S and (window == 0).all()
    assert resident(results, "vm", 1)[empty_at] == 4
    rows = results.instances
    assert (rows["migrations"] == 1).all() and (rows["host"] == 1).all()
    assert rows["downtime_s"].to_numpy() == pytest.approx([8 / 128] * 4, rel=1e-12)
    assert rows["migration_s"].to_numpy() == pytest.approx([per_vm_s] * 4, rel=1e-12)
    assert rows["migrated_gib"].to_numpy() == pytest.approx([(4096 + 512 + 64 + 8) * MIB] * 4, rel=1e-12)
    # the default 10 Gbit/s link: 128 MiB/s is 10.7 % of it
    assert rows["migration_link_share"].to_numpy() == pytest.approx([128 * 2**20 * 8 / 10e9] * 4)
    # a service ran all but its downtime: availability from the sizes alone
    asked = rows["requested_s"].sum()
    assert results.summary["service_availability"].iloc[0] == pytest.approx(1 - 4 * (8 / 128) / asked, rel=1e-9)
    assert (results.hosts.set_index("host")["down_s"] == [600.0, 0.0]).all()


def test_a_vm_being_migrated_is_resident_once_on_the_fleet_and_its_target_holds_its_memory(tmp_path):
    """Four VMs, none ending: at every sample the fleet's residents are 4, as
    peak_instances says (new-user trial A, item 11: 5 during each pre-copy), while the
    target's memory allocated holds the incoming guest from the first byte (pre-copy
    allocates it there: 4 GiB + the VMM's overhead more during each live phase)."""
    results = drain_run(tmp_path, ["vm"])
    ts = results.timeseries
    fleet = ts.groupby("t_s")["resident"].sum()
    assert (fleet[fleet.index >= 3.0] == 4).all()
    assert results.summary["peak_instances"].iloc[0] == fleet.max() == 4
    assert (results.hosts.set_index("host")["peak_resident"] == [4, 4]).all()
    per_vm_s = (4096 + 512 + 64 + 8) / 128
    mid_first_s = DRAIN_AT_S + 10.0  # the first VM's live phase: on host 0, booked on both
    booked_gib = results.instances["booked_memory_gib"].iloc[0]
    on = ts[ts["t_s"] == mid_first_s].set_index("host")
    before = ts[ts["t_s"] == DRAIN_AT_S - STEP_S].set_index("host")
    assert on.loc[0, "resident"] == 4 and on.loc[1, "resident"] == 0
    assert on.loc[1, "mem_alloc_gib"] - before.loc[1, "mem_alloc_gib"] == pytest.approx(booked_gib, rel=1e-12)
    after = ts[ts["t_s"] == DRAIN_AT_S + per_vm_s].set_index("host")
    assert after.loc[0, "resident"] == 3 and after.loc[1, "resident"] == 1


def test_a_target_that_fails_during_the_pre_copy_lets_its_booking_go_at_once(tmp_path):
    """Host 1 fails at 110 s, 10 s into the first VM's 36.5625 s pre-copy to it: the move
    is called off then, so host 1 holds nothing from 110 s (it showed 1 resident until
    the move's planned switch, new-user trial A, item 11), and the VM stays on host 0."""
    results = drain_run(tmp_path, ["vm"], faults={"host_failures": [[1, 110.0]], "host_repair_s": 1e5})
    on_1 = resident(results, "vm", 1)
    assert (on_1[(on_1.index >= 110.0)] == 0).all()
    ts = results.timeseries
    alloc_1 = ts[(ts["host"] == 1) & (ts["t_s"] >= 110.0)]["mem_alloc_gib"]
    base = ts[(ts["host"] == 1) & (ts["t_s"] == 0.0)]["mem_alloc_gib"].iloc[0]
    assert (alloc_1 == base).all()
    rows = results.instances
    assert (rows["host"] == 0).all() and (rows["moves_done"] == 0).all() and (rows["failure_kills"] == 0).all()


def test_containers_checkpointed_move_their_resident_memory_in_turn(tmp_path):
    """Each container: 1 GiB in use, dumped at 512 MiB/s, sent at 128, restored at 512:
    2 + 8 + 2 = 12 s, all down. Four in turn: host 0 empty at 100 + 48 s."""
    results = drain_run(tmp_path, ["container"], container="checkpoint")
    on_0 = resident(results, "container", 0)
    assert on_0[DRAIN_AT_S - STEP_S] == 4
    assert on_0[DRAIN_AT_S + 36 - STEP_S] == 1 and on_0[DRAIN_AT_S + 48] == 0
    rows = results.instances
    assert (rows["downtime_s"] == 12.0).all() and (rows["migrated_gib"] == 1.0).all()
    assert (rows["restarts"] == 0).all() and (rows["cold_start"] == False).all()  # noqa: E712 (state kept)


def test_containers_restarted_leave_at_once_and_start_again_elsewhere(tmp_path):
    """Stop and restart: all four leave at the drain, each a start on host 1 (no image:
    instant), their state lost, nothing sent."""
    results = drain_run(tmp_path, ["container"], container="restart")
    assert resident(results, "container", 0)[DRAIN_AT_S + STEP_S] == 0
    rows = results.instances
    assert (rows["migrations"] == 1).all() and (rows["host"] == 1).all()
    assert (rows["migrated_gib"] == 0).all() and (rows["replacements"] == 1).all()
    # half a core since each started: the work its restart throws away
    assert rows["lost_core_s"].to_numpy() == pytest.approx((0.5 * (DRAIN_AT_S - rows["first_ready_s"])).to_numpy())


@pytest.mark.parametrize("platform, container, paused_s", [("vm", "restart", 8 / 128),
                                                           ("container", "checkpoint", 12.0),
                                                           ("container", "restart", None)])
def test_moved_batch_work_continues_after_its_pause_and_a_restart_starts_it_again(tmp_path, platform, container,
                                                                                  paused_s):
    """A batch job of 1,000 s of work drained at 100 s: moved live or checkpointed it ends
    its downtime later than it would have (62.5 ms; 12 s); restarted, it does all its
    work again from its new start."""
    trace = tmp_path / "b.csv"
    pd.DataFrame({"id": ["b"], "submit_s": [0.0], "duration_s": [1000.0], "cpu_cores": [1.0], "memory_gib": [4.0],
                  "cpu_used": [0.5], "memory_used_gib": [1.0], "kind": ["batch"]}).to_csv(trace, index=False)
    results = simdc.simulate(validate({
        "simulation": {"duration_s": 3000, "seed": 1, "platforms": [platform], "sample_every_s": 100},
        "cluster": {"hosts": [{"cpu_cores": 16, "memory_gib": 64, "count": 2, "disk_write_mib_s": 512}]},
        "platform": {"vm": {"sizing": "as_given", "cpu_overhead": 0.0, "io_overhead": 0.0}} if platform == "vm" else {},
        "maintenance": {"drains": [[0, 100.0]]},
        "migration": {"dirty_mib_s": 16, "container": container},
        "workload": {"trace": str(trace)},
    }))
    row = results.instances.iloc[0]
    assert row["outcome"] == "completed" and row["migrations"] == 1
    if paused_s is None:
        assert row["end_s"] - row["ready_s"] == pytest.approx(1000.0, rel=1e-12)
        assert row["lost_core_s"] == pytest.approx(0.5 * (100.0 - row["first_ready_s"]), rel=1e-12)
    else:
        assert row["end_s"] - row["first_ready_s"] == pytest.approx(1000.0 + paused_s, rel=1e-12)
        assert row["downtime_s"] == pytest.approx(paused_s, rel=1e-12) and row["lost_core_s"] == 0
        assert row["run_s"] == pytest.approx(1000.0, rel=1e-12)


def batch_run(tmp_path, platform: str, container: str, fail_at_s: float, **extra):
    """One batch job of 1,000 s at half a core, 4 GiB (1 GiB in use), on host 0 of two;
    host 0 drained at 100 s, host 1 (where the job went) fails at ``fail_at_s``."""
    trace = tmp_path / "b.csv"
    pd.DataFrame({"id": ["b"], "submit_s": [0.0], "duration_s": [1000.0], "cpu_cores": [1.0], "memory_gib": [4.0],
                  "cpu_used": [0.5], "memory_used_gib": [1.0], "kind": ["batch"]}).to_csv(trace, index=False)
    return simdc.simulate(validate({
        "simulation": {"duration_s": 3000, "seed": 1, "platforms": [platform], "sample_every_s": 100},
        "cluster": {"hosts": [{"cpu_cores": 16, "memory_gib": 64, "count": 2, "disk_write_mib_s": 512}]},
        "placement": {"when_full": "queue"},
        "platform": {"vm": {"sizing": "as_given", "cpu_overhead": 0.0, "io_overhead": 0.0}} if platform == "vm" else {},
        "maintenance": {"drains": [[0, 100.0]], "maintenance_s": 60.0},
        "migration": {"dirty_mib_s": 16, "container": container},
        "faults": {"host_failures": [[1, fail_at_s]], "host_repair_s": 60.0, "on_failure": "resubmit"},
        "workload": {"trace": str(trace)}, **extra,
    }))


@pytest.mark.parametrize("platform, container, paused_s", [("vm", "restart", 8 / 128),
                                                           ("container", "checkpoint", 12.0)])
def test_a_failure_after_a_move_that_kept_the_state_loses_the_work_since_the_first_start(
        tmp_path, platform, container, paused_s):
    """Moved at 100 s with its state (live: 62.5 ms down; checkpoint: 12 s), the job is
    killed by host 1's failure at 500 s and starts again from scratch: it had run
    500 - first start - pause seconds at half a core, all of it lost (new-user trial
    A, item 2: only the work since the move was counted). The rerun does the whole
    1,000 s again: lost work + the last attempt's = all the work delivered."""
    row = batch_run(tmp_path, platform, container, 500.0).instances.iloc[0]
    assert row["migrations"] == 1 and row["failure_kills"] == 1 and row["outcome"] == "completed"
    assert row["lost_core_s"] == pytest.approx(0.5 * (500.0 - row["first_ready_s"] - paused_s), rel=1e-12)
    assert row["end_s"] - row["ready_s"] == pytest.approx(1000.0, rel=1e-12)
    assert row["cpu_demand_core_s"] - row["cpu_unmet_core_s"] == pytest.approx(
        row["lost_core_s"] + 0.5 * 1000.0, rel=1e-12)


def test_a_failure_during_a_checkpoints_restore_loses_the_work_before_the_move(tmp_path):
    """Checkpointed at 100 s (12 s frozen), the container is being restored on host 1
    when it fails at 105 s: the state the checkpoint carried is lost, 0.5 × (100 -
    first start) core-s (it was counted as none)."""
    row = batch_run(tmp_path, "container", "checkpoint", 105.0).instances.iloc[0]
    assert row["failure_kills"] == 1
    assert row["lost_core_s"] == pytest.approx(0.5 * (100.0 - row["first_ready_s"]), rel=1e-12)


def test_a_move_cut_short_by_its_targets_failure_is_not_a_move_done(tmp_path):
    """The checkpoint of 100 s is restoring on host 1 when it fails (105 s): the
    container never ran after that move, so the move is not counted, nor its 12 s
    (new-user trial A, item 4: it was counted with its whole duration and 0 s down)."""
    results = batch_run(tmp_path, "container", "checkpoint", 105.0)
    row = results.instances.iloc[0]
    assert row["migrations"] == 1 and row["moves_done"] == 0
    assert row["migration_s"] == 0 and row["downtime_s"] == 0
    summary = results.summary.iloc[0]
    assert summary["migrations"] == 1 and summary["moves_done"] == 0
    assert np.isnan(summary["migration_downtime_mean_s"])


# A 1,000 MiB layer at 1 Gbit/s (README, "Images": Gbit/s are 1e9 bit/s, MiB 2^20 bytes),
# no round trip: 8.388608 s of pull before its unpack and start.
PULL_S = 1000 * 2**20 * 8 / 1e9


def pulling_run(tmp_path, hosts: int, drains: list[list[float]]):
    """Container ``x`` (image of one 1,000 MiB layer, pulled in :data:`PULL_S`) placed
    first fit on host 0 at 0 s, restarted by each of ``drains``."""
    trace = tmp_path / "x.csv"
    trace.write_text("id,submit_s,duration_s,cpu_cores,memory_gib,image\nx,0,5000,1,2,big\n")
    return simdc.simulate(validate({
        "simulation": {"duration_s": 3000, "seed": 1, "platforms": ["container"], "sample_every_s": 60},
        "cluster": {"hosts": [{"count": hosts, "cpu_cores": 16, "memory_gib": 64}]},
        "placement": {"policy": "first_fit"},
        "registry": {"bandwidth_gbps": 1.0, "rtt_s": 0.0},
        "images": [{"name": "big", "layers": [{"digest": "sha256:big", "size_mib": 1000}]}],
        "maintenance": {"drains": drains, "maintenance_s": 600},
        "workload": {"trace": str(trace)}}))


def test_a_start_stopped_by_a_drain_is_a_move_begun_never_done_and_counts_no_downtime(tmp_path):
    """Host 0 drained at 4 s, while x still pulls its layer (8.39 s): x never ran, so
    the drain interrupted no service (Kubernetes evicts a Pending pod without consulting
    its disruption budget: eviction.go, canIgnorePDB). The stop is a move begun, not
    done, with no downtime; the delay shows in x's start: its pull on host 1 from 4 s.
    (A re-check trial: its whole new start, 17.3 s, was counted as the move's downtime.)"""
    results = pulling_run(tmp_path, 2, [[0, 4.0]])
    x = results.instances.iloc[0]
    assert x["migrations"] == 1 and x["moves_done"] == 0 and x["downtime_s"] == 0
    assert x["host"] == 1 and x["outcome"] == "running_at_end" and x["ready_s"] >= 4.0 + PULL_S
    summary = results.summary.iloc[0]
    assert summary["migrations"] == 1 and summary["moves_done"] == 0 and summary["moved_instances"] == 0
    assert np.isnan(summary["migration_downtime_mean_s"])


def test_a_moved_container_stopped_again_while_starting_is_one_move_done_down_since_it_stopped_running(tmp_path):
    """x runs on host 0 (its pull ends at 8.39 s); host 0's drain at 100 s restarts it on
    host 1, where it pulls again; host 1's drain at 102 s, before that pull ends, sends it
    to host 2. Two moves begun, one done: x is down from 100 s, when it stopped running,
    until it runs on host 2 (before, the downtime counted from 102 s)."""
    results = pulling_run(tmp_path, 3, [[0, 100.0], [1, 102.0]])
    x = results.instances.iloc[0]
    assert x["first_ready_s"] < 100.0 and x["host"] == 2 and x["ready_s"] >= 102.0 + PULL_S
    assert x["migrations"] == 2 and x["moves_done"] == 1
    assert x["downtime_s"] == pytest.approx(x["ready_s"] - 100.0, rel=1e-12)
    assert results.summary.iloc[0]["migration_downtime_mean_s"] == pytest.approx(x["ready_s"] - 100.0, rel=1e-12)


CROWDED_TOML = """
[simulation]
duration_s = 8000
seed = 1
platforms = ["container"]
sample_every_s = 10

[[cluster.hosts]]
count = 2
cpu_cores = 8
memory_gib = 64

[placement]
policy = "first_fit"
when_full = "queue"
max_wait_s = 300

[maintenance]
drains = [[0, 1000]]
maintenance_s = 1800

[workload]
trace = "w.csv"
"""


def test_restarts_no_host_could_take_are_evicted_shown_in_the_table_and_not_moves_done(tmp_path):
    """Six 1-core containers on host 0, a 6-core one on host 1 (first fit), host 0
    drained at 1,000 s with restarts: host 1 has 8 - 6 = 2 cores free, so 2 restart
    there and 6 - 2 = 4 wait 300 s and are evicted (host 0 is down until 2,800 s).
    The table shows them; the downtime per move is over the 2 moves done, each a
    container start (the restart's own, from the drain to its ready_s: no image to pull,
    a new draw of the start latency, not its first start's boot_s), not over the 6 begun (new-user trial A,
    item 4: no evicted row, and 0 s down counted for each evicted one)."""
    from typer.testing import CliRunner

    from simdc.cli import app

    pd.DataFrame({"id": [f"a{k}" for k in range(6)] + ["b"], "submit_s": [0.0] * 6 + [10.0],
                  "duration_s": [6000.0] * 6 + [3000.0], "cpu_cores": [1.0] * 6 + [6.0],
                  "memory_gib": [4.0] * 6 + [8.0], "cpu_used": [0.5] * 6 + [3.0],
                  "memory_used_gib": [2.0] * 6 + [4.0]}).to_csv(tmp_path / "w.csv", index=False)
    (tmp_path / "c.toml").write_text(CROWDED_TOML)
    free_cores = 8 - 6
    evicted = 6 - free_cores
    result = CliRunner().invoke(app, ["run", str(tmp_path / "c.toml"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in result.output.splitlines()
            if line.count("│") == 3}
    assert rows["evicted by a move, not run again"] == str(evicted)
    assert rows["moves begun (migrations, restarts)"] == "6"
    assert rows["moves done (ran again after)"] == str(free_cores)
    instances = pd.read_parquet(tmp_path / "out" / "instances.parquet")
    assert (instances["outcome"] == "evicted").sum() == evicted
    restarted = instances[instances["moves_done"] == 1]
    assert len(restarted) == free_cores
    assert restarted["downtime_s"].to_numpy() == pytest.approx(restarted["ready_s"].to_numpy() - 1000.0, rel=1e-12)
    summary = pd.read_csv(tmp_path / "out" / "summary.csv").iloc[0]
    assert summary["evicted"] == evicted
    # as kubectl drain: all six stop at the drain, with or without a host to go to, and
    # host 0, empty, is down for its maintenance_s from then (README, Moving instances)
    ts = pd.read_parquet(tmp_path / "out" / "timeseries.parquet")
    on_0 = ts[ts["host"] == 0].set_index("t_s")["resident"]
    assert on_0[990.0] == 6 and on_0[1000.0] == 0
    hosts = pd.read_csv(tmp_path / "out" / "hosts.csv").set_index("host")
    assert hosts.loc[0, "down_s"] == 1800.0 and hosts.loc[1, "down_s"] == 0.0
    assert not [line for line in result.output.splitlines() if "maintenance:" in line]
    assert summary["migration_downtime_mean_s"] == pytest.approx(restarted["downtime_s"].mean(), rel=1e-12)


def clark_precopy_mib(memory_mib: float, bandwidth_mib_s: float, dirty_mib_s: float, downtime_limit_s: float):
    """(MiB sent, seconds moving, seconds down) of a pre-copy (Clark et al., NSDI 2005,
    §3: "During the first iteration, all pages are transferred"; each next round the
    pages dirtied during the last): round k sends M r^k, r = dirty / bandwidth, while it
    would not fit the downtime limit; the rest is sent with the guest stopped."""
    left, sent_mib, live_s = memory_mib, 0.0, 0.0
    while left > bandwidth_mib_s * downtime_limit_s:
        sent_mib, live_s = sent_mib + left, live_s + left / bandwidth_mib_s
        left *= dirty_mib_s / bandwidth_mib_s
    return sent_mib + left, live_s + left / bandwidth_mib_s, left / bandwidth_mib_s


def test_a_catalogue_sized_vm_migrates_its_whole_memory_guest_os_included(tmp_path):
    """A catalogue-sized VM's size holds its guest OS (235 MiB), and live migration copies
    the guest's every page, its OS's too, not the VMM's process outside it: each 4 GiB
    need (+ 235 MiB guest OS) gets the catalogue's one 8 GiB size, and sends the pre-copy
    series of 8,192 MiB: 8192 + 1024 + 128 MiB live (64 + 8 + 1 s), 16 MiB stopped
    (0.125 s). (New-user trial: the guest OS was taken off, 235 MiB less a move.)"""
    size_gib = 8.0
    results = drain_run(tmp_path, ["vm"], platform={"vm": {
        "sizing": "catalogue", "catalogue": [{"name": "m8", "vcpus": 2, "memory_gib": size_gib}]}})
    rows = results.instances
    assert (rows["vm_memory_gib"] == size_gib).all() and (rows["moves_done"] == 1).all()
    sent_mib, moving_s, down_s = clark_precopy_mib(size_gib * 1024, 128.0, 16.0, 0.3)
    assert (sent_mib, moving_s, down_s) == (8192 + 1024 + 128 + 16, 64 + 8 + 1 + 0.125, 0.125)
    assert rows["migrated_gib"].to_numpy() == pytest.approx([sent_mib * MIB] * 4, rel=1e-12)
    assert rows["migration_s"].to_numpy() == pytest.approx([moving_s] * 4, rel=1e-12)
    assert rows["downtime_s"].to_numpy() == pytest.approx([down_s] * 4, rel=1e-12)


def test_a_host_whose_vms_fit_nowhere_waits_and_goes_down_only_when_empty(tmp_path):
    """One host: the drain finds no target, so nothing moves and the host never goes down."""
    trace = tmp_path / "w.csv"
    pd.DataFrame({"id": ["a"], "submit_s": [0.0], "duration_s": [1e6], "cpu_cores": [1.0],
                  "memory_gib": [4.0]}).to_csv(trace, index=False)
    results = simdc.simulate(validate({
        "simulation": {"duration_s": 1000, "platforms": ["vm", "container"], "sample_every_s": 10},
        "host": {"cpu_cores": 16, "memory_gib": 64},
        "maintenance": {"drains": [[0, 100.0]]}, "workload": {"trace": str(trace)},
    }))
    vm = results.instances[results.instances["platform"] == "vm"]
    assert (vm["migrations"] == 0).all() and (vm["outcome"] == "running_at_end").all()
    assert (results.hosts[results.hosts["platform"] == "vm"]["down_s"] == 0).all()
    # said, with the host and the times (new-user trial A, item 5: it was silent); the
    # container was restarted (it needs no target), so its host emptied and went down
    lines = [line for line in results.manifest["warnings"] if "maintenance:" in line]
    assert lines[0] == ("vm: maintenance: the drain of host 0 from 100 s never emptied it (1 instance left: 1 no "
                        "other host had room for at its last try): it stayed cordoned, taking nothing new, until the "
                        "run's end (1,000 s), and its maintenance was not done")
    # the container's host was maintained, the VM's not: the comparison says so
    assert lines[1:] == [line for line in lines if line.startswith("maintenance: the platforms did different amounts "
                                                                   "of maintenance (host maintenance windows: vm 0 "
                                                                   "done (1 not), container 1 done (0 not))")]
    assert len(lines) == 2


def test_a_move_cut_short_by_the_runs_end_is_a_move_begun_and_the_warning_says_why_each_stayed(tmp_path):
    """Host 0's four 4 GiB VMs are drained 10 s before the run's end; a move takes
    (4096 + 512 + 64 + 8) / 128 = 36.6 s, one at a time, so the first is still being
    copied at the end and the other three were never tried; host 1 had room for all.
    The first counts as a move begun (README: ``migrations``, "moves begun"; a move cut
    short by the run's end is not done), and the warning says why each of the four
    stayed (new-user trial: "moves begun 0" and "10 instances found no other host")."""
    end_s = DRAIN_AT_S + 10.0
    per_vm_s = (4096 + 512 + 64 + 8) / 128
    assert per_vm_s > end_s - DRAIN_AT_S
    results = drain_run(tmp_path, ["vm"], horizon_s=end_s)
    rows = results.instances
    assert rows["migrations"].sum() == 1 and rows["moves_done"].sum() == 0
    assert results.summary.iloc[0]["migrations"] == 1 and results.summary.iloc[0]["moves_done"] == 0
    lines = [line for line in results.manifest["warnings"] if "maintenance:" in line]
    assert lines == ["vm: maintenance: the drain of host 0 from 100 s never emptied it (4 instances left: 1 still "
                     "moving off when the run ended, 3 not yet tried, waiting behind the move under way (one at a "
                     "time)): it stayed cordoned, taking nothing new, until the run's end (110 s), and its "
                     "maintenance was not done"]
    hosts = results.hosts.set_index("host")
    assert hosts["maintenance_done"].tolist() == [0, 0] and hosts["maintenance_not_done"].tolist() == [1, 0]


@pytest.mark.parametrize("spill", [False, True])
def test_a_stalled_rolling_drain_names_the_hosts_it_never_reached_and_platforms_doing_less_are_flagged(
        tmp_path, spill):
    """Three hosts, a 40 GiB service on each (first fit: 2 x 40 > 64 - 1 GiB reserved):
    the rolling drain from 100 s finds no host with 40 GiB free for host 0's VM, so it
    never empties host 0 and never reaches hosts 1 and 2. Containers are restarted
    (they need no target): every host is emptied and maintained in turn (3 x 600 s of
    maintenance end well before 5,000 s). The VM run did none of its three maintenances,
    the container run all three: said, since the VMs' availability is then not won on
    equal terms (new-user trial: only host 0 was named, VMs 99.99994 % against the
    containers' 80.74 %)."""
    trace = tmp_path / "w.csv"
    pd.DataFrame({"id": ["a", "b", "c"], "submit_s": [0.0, 1.0, 2.0], "duration_s": [1e6] * 3,
                  "cpu_cores": [1.0] * 3, "memory_gib": [40.0] * 3, "cpu_used": [0.5] * 3,
                  "memory_used_gib": [4.0] * 3}).to_csv(trace, index=False)
    results = simdc.simulate(validate({
        "simulation": {"duration_s": 5000, "seed": 1, "platforms": ["vm", "container"], "sample_every_s": 100},
        "cluster": {"hosts": [{"cpu_cores": 16, "memory_gib": 64, "reserved_memory_gib": 1, "count": 3}]},
        "placement": {"policy": "first_fit"},
        "platform": {"vm": {"sizing": "as_given"}},
        "maintenance": {"rolling_start_s": 100.0, "maintenance_s": 600.0},
        "workload": {"trace": str(trace)},
    }), spill=spill)
    hosts = results.hosts
    vm, container = (hosts[hosts["platform"] == p].set_index("host") for p in ("vm", "container"))
    assert vm["maintenance_done"].tolist() == [0, 0, 0] and vm["maintenance_not_done"].tolist() == [1, 1, 1]
    assert (vm["down_s"] == 0).all()
    assert container["maintenance_done"].tolist() == [1, 1, 1] and container["maintenance_not_done"].sum() == 0
    assert (container["down_s"] == 600.0).all()
    lines = [line for line in results.manifest["warnings"] if "maintenance:" in line]
    assert lines == [
        "vm: maintenance: the drain of host 0 from 100 s never emptied it (1 instance left: 1 no other host had room "
        "for at its last try): it stayed cordoned, taking nothing new, until the run's end (5,000 s), and its "
        "maintenance was not done",
        "vm: maintenance: the rolling drain never reached hosts 1, 2 by the run's end (5,000 s): it drains one host "
        "at a time, and host 0's drain never emptied it; their maintenance was not done (2 of 3 hosts)",
        "maintenance: the platforms did different amounts of maintenance (host maintenance windows: vm 0 done "
        "(3 not), container 3 done (0 not)): their figures do not compare like for like; one that did less did not "
        "pay for the rest (moves, restarts, hosts down), and its service availability looks the better for it"]


@pytest.mark.parametrize("ahead_s, kills", [(200.0, 0), (100.0, 2)])
def test_a_predicted_failure_drains_the_host_before_it_strikes(tmp_path, ahead_s, kills):
    """A failure at 400 s known ahead: its VMs move one after another from then on,
    36.5625 s each. 200 s ahead, all four have left by 346.25 s: the failure kills
    none. 100 s ahead, two have left by 373.125 s and the third is still copying at
    400 s: the failure kills the third and the fourth."""
    faults = {"host_failures": [[0, 400.0]], "host_repair_s": 300.0}
    results = drain_run(tmp_path, ["vm"], drains=(), predict_s=ahead_s, faults=faults)
    rows = results.instances
    assert (rows["failure_kills"] > 0).sum() == kills
    assert (rows["moves_done"] == 1).sum() == 4 - kills
    # the third's move was begun (copying when the failure struck), the fourth's not
    assert (rows["migrations"] == 1).sum() == 4 - kills + (kills > 0)
    without = drain_run(tmp_path, ["vm"], drains=(), faults=faults)
    assert (without.instances["failure_kills"] == 1).all() and "migrations" not in without.instances


# --- accounting and invariants with moves on ------------------------------------------

def moving_config(seed: int, drains, container: str, consolidate: bool, failures, sample_every_s: float = 20.0):
    return validate({
        "simulation": {"duration_s": 6000, "seed": seed, "platforms": ["vm", "container", "container_in_vm"],
                       "sample_every_s": sample_every_s},
        "cluster": {"hosts": [{"cpu_cores": 8, "memory_gib": 32, "count": 3}], "power_off_idle": True},
        "placement": {"when_full": "queue", "max_wait_s": 300, "policy": "best_fit"},
        "platform": {"vm": {"sizing": "as_given"}},
        "faults": {"host_failures": failures, "host_repair_s": 500, "on_failure": "resubmit"},
        "maintenance": {"drains": drains, "maintenance_s": 400, "retry_s": 30},
        "migration": {"container": container},
        "consolidation": {"interval_s": 300} if consolidate else {},
        "workload": {"synthetic": {"arrival_rate_per_s": 0.03, "lifetime_s": {"mean": 900},
                                   "sizes": [{"cpu_cores": 1, "memory_gib": 2, "weight": 1}]}},
    })


def moving_run(seed: int, drains, container: str, consolidate: bool, failures):
    return simdc.simulate(moving_config(seed, drains, container, consolidate, failures))


def engine_runs(config):
    """Each platform's general engine, run by hand so its mover's record of maintenance
    windows can be read beside the timeseries: (name, simulation, its tables)."""
    workload = load_workload(config.workload, config.simulation.duration_s, config.simulation.seed)
    for name in config.simulation.platforms:
        sim = FastLane(name, resolve_sizing(config.platform[name], workload.sizes), config.fleet, workload.instances,
                       config.simulation.duration_s, config.simulation.sample_every_s, config.simulation.seed,
                       workload.usage, config.placement, config.power_off_idle,
                       {image.name: image for image in config.images}, config.registry, config.faults,
                       (config.maintenance, config.migration, config.consolidation))
        yield name, sim, sim.run()


drain_lists = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 5000).map(float)), min_size=1, max_size=3)
failure_lists = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 5000).map(float)), max_size=2)


# No shrinking: a run takes a second, and shrinking one took over five minutes.
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(seed=st.integers(0, 1000), drains=drain_lists, container=st.sampled_from(["restart", "checkpoint"]),
       consolidate=st.booleans(), failures=failure_lists)
def test_no_host_holds_an_instance_while_down_for_maintenance_and_requests_add_up(
        seed, drains, container, consolidate, failures):
    """Random drains, host failures and consolidation on three hosts, every preset kind
    (VMs, containers, containers in node VMs): every request is placed once or not
    (placed + rejected + queued_at_end = submitted, outcomes agreeing with the times);
    the hosts' resident seconds add up to the instances'; and at every 5-second sample
    inside a maintenance window the engine recorded, the host's machines hold nothing,
    each window beginning at or after its drain; at the end each machine's count of
    residents is its instances plus the moves booked onto it (no booking leaked by a move
    called off)."""
    drains, failures = [list(d) for d in drains], [list(f) for f in failures]
    results = moving_run(seed, drains, container, consolidate, failures)
    check_outcomes(results)
    # each instance resident once, on one host at a time: the hosts' resident_s add up to
    # the instances' (a live move's target counted the VM from its booking: +71 s a move)
    for platform in results.summary["platform"]:
        on_hosts = results.hosts.loc[results.hosts["platform"] == platform, "resident_s"].sum()
        of_instances = results.instances.loc[results.instances["platform"] == platform, "resident_s"].sum()
        assert on_hosts == pytest.approx(of_instances, rel=1e-9, abs=1e-6), platform
    for name, sim, run in engine_runs(moving_config(seed, drains, container, consolidate, failures, 5.0)):
        ts = run.timeseries.assign(physical=lambda t: np.asarray(sim.physical)[t["host"].to_numpy()])
        for j, down_from, down_until in sim.mover.windows:
            assert any(h == j and t <= down_from for h, t in drains)
            inside = ts[(ts["physical"] == j) & (ts["t_s"] > down_from) & (ts["t_s"] < down_until)]
            assert (inside["resident"] == 0).all(), (name, j, down_from)
        moved = np.asarray(sim.mover.migrations) > 0
        assert (np.asarray(sim.mover.downtime_s)[~moved] == 0).all()
        # no booking leaked: each machine holds its residents and the moves booked onto it
        on = run.instances["outcome"] == "running_at_end"  # starting, running or backing off at the end
        held = np.bincount(run.instances["host"][on].to_numpy(), minlength=len(sim.hosts))
        for target in [*sim.mover.moving.values(), *sim.mover.held]:  # and sources a checkpoint still sends from
            held[target.index] += 1
        assert [host.resident for host in sim.hosts] == held.tolist(), name


def consolidating_run(consolidate: bool, horizon_s: float = 20000.0, sample_every_s: float = 20.0):
    """Four 8-core hosts, 1-core instances using 80 % of it, about 15 at a time (about
    0.375 of the fleet's CPU used), placed at random (spread): some hosts under
    ``under`` (0.35), others above it to take their instances (CloudSim Plus's rule: a
    host emptied moves only onto hosts not under it). Containers move by checkpoint."""
    return simdc.simulate(validate({
        "simulation": {"duration_s": horizon_s, "seed": 5, "platforms": ["vm", "container"],
                       "sample_every_s": sample_every_s},
        "cluster": {"hosts": [{"cpu_cores": 8, "memory_gib": 32, "count": 4}], "power_off_idle": True},
        "placement": {"when_full": "queue", "max_wait_s": 300, "policy": "random"},
        "platform": {"vm": {"sizing": "as_given"}},
        "migration": {"container": "checkpoint"},
        "consolidation": {"interval_s": 300} if consolidate else {},
        "workload": {"synthetic": {"arrival_rate_per_s": 0.005, "lifetime_s": {"mean": 3000},
                                   "sizes": [{"cpu_cores": 1, "memory_gib": 2, "weight": 1}],
                                   "cpu_usage": {"mean": 0.8}}},
    }))


def test_consolidation_never_powers_off_a_host_with_an_instance_on_it():
    """Sampled every second, each host's energy lies between its idle power (200 W) and
    its peak (400 W) over the time it held an instance, give or take a second per change
    of holding: it draws power exactly while it holds something."""
    results = consolidating_run(True, horizon_s=6000.0, sample_every_s=1.0)
    for platform in ("vm", "container"):
        ts = results.timeseries[results.timeseries["platform"] == platform]
        hosts = results.hosts[results.hosts["platform"] == platform].set_index("host")
        assert results.instances[results.instances["platform"] == platform]["migrations"].sum() > 0
        for host, samples in ts.groupby("host"):
            held = (samples["resident"] > 0).to_numpy()
            held_s, changes = held.sum() * 1.0, np.count_nonzero(np.diff(held)) + 1
            energy_j = hosts.loc[host, "energy_kwh"] * 3.6e6
            assert 200.0 * (held_s - changes) <= energy_j <= 400.0 * (held_s + changes), (platform, host)


def test_consolidation_saves_energy_against_the_same_run_without_it():
    """Spread placement leaves some hosts little used; emptying them saves energy (the
    moves' cost, both hosts on while a VM copies, included), on both platforms."""
    on, off = consolidating_run(True), consolidating_run(False)
    saved = off.summary.set_index("platform")["energy_kwh"] - on.summary.set_index("platform")["energy_kwh"]
    assert (saved > 0).all(), saved
    assert "migrations" not in off.instances and (on.instances.groupby("platform")["migrations"].sum() > 0).all()


def test_moves_need_their_tables_right():
    """Bad move settings are one line each, naming the key."""
    base = {"simulation": {"duration_s": 100}, "host": {"cpu_cores": 4, "memory_gib": 8},
            "workload": {"synthetic": {"arrival_rate_per_s": 0.1}}}
    with pytest.raises(ConfigError, match=r"maintenance.drains\[0\]: host 3 does not exist"):
        validate({**base, "maintenance": {"drains": [[3, 10.0]]}})
    with pytest.raises(ConfigError, match=re.escape("maintenance.drains[0]: t_s must be >= 0 (got -5)")):
        validate({**base, "maintenance": {"drains": [[0, -5.0]]}})
    with pytest.raises(ConfigError, match="consolidation.interval_s: .*power_off_idle"):
        validate({**base, "consolidation": {"interval_s": 60}})
    with pytest.raises(ConfigError, match="under .* must be below over"):
        validate({**base, "consolidation": {"under": 0.9, "over": 0.5}})
    with pytest.raises(ConfigError, match=r"maintenance.maintenance_s: must be <= 315,576,000 .*10 years.*1e\+30"):
        validate({**base, "maintenance": {"maintenance_s": 1e30}})
    with pytest.raises(ConfigError, match=r"consolidation.min_stay_s: must be <= 315,576,000 .*10 years"):
        validate({**base, "consolidation": {"min_stay_s": 1e30}})
    with pytest.raises(ConfigError, match=r"consolidation.min_stay_s: must be >= 0"):
        validate({**base, "consolidation": {"min_stay_s": -1}})
    with pytest.raises(ConfigError, match="maintenance.predict_failures_s: there are no host failures"):
        validate({**base, "maintenance": {"predict_failures_s": 60}})
    with pytest.raises(ConfigError, match="migration.container: must be one of"):
        validate({**base, "migration": {"container": "teleport"}})
    assert np.isfinite(validate(base).migration.downtime_limit_s)


def test_a_drain_outside_the_fleet_is_one_error_line_and_exit_2(tmp_path):
    """Through the CLI, as a user meets it: the key path, the bad host, the valid range."""
    from typer.testing import CliRunner

    from simdc.cli import app

    config = Path(__file__).resolve().parents[2] / "configs" / "maintenance.toml"
    result = CliRunner().invoke(app, ["run", str(config), "--set", "maintenance.drains=[[9, 100.0]]",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "maintenance.drains[0]: host 9 does not exist (hosts are 0..5)" in lines[0]


def test_the_report_shows_moves_only_for_a_run_that_moved_instances(tmp_path):
    from simdc.report import figures

    moved = drain_run(tmp_path, ["vm", "container"])
    still = drain_run(tmp_path, ["vm", "container"], drains=())
    assert "moves" in figures(moved) and "moves" not in figures(still)
    bars = figures(moved)["moves"].data[-1]
    # availability: run time over the service time asked for, from the instances' own columns
    rows = moved.instances
    for name, value in zip(bars.y, bars.x):
        mine = rows[rows["platform"] == name]
        assert value == pytest.approx(mine["run_s"].sum() / mine["requested_s"].sum())


def test_drains_planned_after_the_runs_end_are_named_in_its_warnings(tmp_path):
    """Two of three listed drains at or after a 1,200 s run's end: not made, one warning
    line counting them (they were dropped without a word); none when all fall inside."""
    late = drain_run(tmp_path, ["vm"], drains=((0, 100.0), (1, 1200.0), (1, 5000.0)))
    lines = [line for line in late.manifest["warnings"] if line.startswith("maintenance.")]
    assert lines == ["maintenance.drains: 2 of 3 drains ([1], [2]) fall at or after the run's end (1,200 s) and are "
                     "not made"]
    assert late.instances["migrations"].sum() == 4  # host 0's four VMs, moved by the one drain made
    inside = drain_run(tmp_path, ["vm"])
    assert not [line for line in inside.manifest["warnings"] if line.startswith("maintenance.")]


@pytest.mark.parametrize("min_stay_s", [0.0, 600.0])
def test_consolidation_moves_an_instance_again_only_after_it_stayed_min_stay_s(min_stay_s):
    """Every second a round (review6 F15): an instance arriving on a host (placed,
    restarted or moved there) is not moved by consolidation until ``min_stay_s`` later,
    so each move starts that long after the instance's previous arrival. With the wait
    off (0) the same run moves instances again within seconds: the rule, not the
    workload, keeps them put."""
    config = validate({
        "simulation": {"duration_s": 8000, "seed": 5, "platforms": ["vm", "container"], "sample_every_s": 100},
        "cluster": {"hosts": [{"cpu_cores": 8, "memory_gib": 32, "count": 4}], "power_off_idle": True},
        "placement": {"when_full": "queue", "max_wait_s": 300, "policy": "random"},
        "platform": {"vm": {"sizing": "as_given"}},
        "consolidation": {"interval_s": 1, "min_stay_s": min_stay_s},
        "workload": {"synthetic": {"arrival_rate_per_s": 0.005, "lifetime_s": {"mean": 3000},
                                   "sizes": [{"cpu_cores": 1, "memory_gib": 2, "weight": 1}],
                                   "cpu_usage": {"mean": 0.8}}},
    })
    gaps = []
    for name, sim, run in engine_runs(config):
        arrived = {i: a for i, a in enumerate(run.instances["admit_s"])}
        for i, kind, _source, _target, start, switch, *_ in sim.mover.log:
            gaps.append(start - arrived[i])
            arrived[i] = switch  # a live move's arrival; a restart is placed again at its start
        assert len(sim.mover.log) > 0, name
    if min_stay_s:
        assert min(gaps) >= min_stay_s
    else:
        assert min(gaps) < 60.0


def test_a_failures_victim_placed_again_then_refused_after_a_drain_is_evicted(tmp_path):
    """x is killed with host 0 at 1,000 s and placed again on host 1 at once; host 0 is
    repaired at 1,600 s and filled at 1,700 s; host 1's drain restarts x at 2,000 s and x
    waits 300 s in vain. The drain requeued it last: evicted, not failed (the outcome
    went by whether a failure had ever struck it)."""
    trace = tmp_path / "t.csv"
    trace.write_text("id,submit_s,duration_s,cpu_cores,memory_gib\nx,0,5000,4,8\nfill,1700,5000,8,30\n")
    config = validate({
        "simulation": {"duration_s": 4000, "seed": 1, "platforms": ["container"]},
        "cluster": {"hosts": [{"count": 2, "cpu_cores": 8, "memory_gib": 32}]},
        "placement": {"when_full": "queue", "max_wait_s": 300},
        "faults": {"host_failures": [[0, 1000]], "host_repair_s": 600},
        "maintenance": {"drains": [[1, 2000]], "maintenance_s": 600},
        "workload": {"trace": str(trace)}})
    x = simdc.simulate(config).instances.set_index("id").loc["x"]
    assert x["failure_kills"] == 1 and x["migrations"] == 1
    assert x["outcome"] == "evicted"
    assert x["end_s"] == pytest.approx(2300.0)


# --- the defaults against their sources ---------------------------------------------------

# QEMU's defaults: max-bandwidth 128 MiB/s (migration/options.c MAX_THROTTLE (128 << 20))
# and downtime-limit 300 ms (DEFAULT_MIGRATE_SET_DOWNTIME 300); Xen's pre-copy, Clark et
# al.'s system, stops after 30 rounds (tools/libxc xc_domain_save.c DEF_MAX_ITERS 29).
QEMU_MAX_BANDWIDTH_MIB_S, QEMU_DOWNTIME_LIMIT_S, XEN_MAX_ROUNDS = 128.0, 0.3, 30
# "service downtimes as low as 60ms" for a live-migrated guest (Clark et al., NSDI 2005,
# abstract; CALIBRATION.md, "live migration, pre-copy").
CLARK_LOWEST_DOWNTIME_S = 0.060


def test_migration_defaults_reproduce_their_sources_on_the_default_size_mix(tmp_path):
    """The migration defaults, read from the config model, are QEMU's and Xen's; with
    them (no [migration] given), simdc live-migrates one VM of each default Azure 2017
    size off a drained host: every move converges within QEMU's 300 ms target, and the
    shortest downtime is Clark et al.'s lowest, 60 ms, within 10 ms (the rounds shrink by
    dirty/bandwidth = 1/8 with the assumed dirty rate, 16 MiB/s, so a downtime falls
    anywhere in (37.5, 300] ms by the size; the six sizes give 55-219 ms)."""
    from simdc.model.migration import MigrationSpec
    from simdc.model.workload import SyntheticSpec

    defaults = MigrationSpec()
    assert defaults.bandwidth_mib_s == QEMU_MAX_BANDWIDTH_MIB_S
    assert defaults.downtime_limit_s == QEMU_DOWNTIME_LIMIT_S
    assert defaults.max_rounds == XEN_MAX_ROUNDS
    sizes = SyntheticSpec.model_fields["sizes"].default
    trace_rows = [{"id": f"v{k}", "submit_s": float(k), "duration_s": 1e6, "cpu_cores": s.cpu_cores,
                   "memory_gib": s.memory_gib, "cpu_used": 0.1 * s.cpu_cores,
                   "memory_used_gib": 0.3 * s.memory_gib} for k, s in enumerate(sizes)]
    trace = tmp_path / "w.csv"
    pd.DataFrame(trace_rows).to_csv(trace, index=False)
    config = validate({
        "simulation": {"duration_s": 3000.0, "seed": 1, "platforms": ["vm"]},
        "cluster": {"hosts": [{"cpu_cores": 32, "memory_gib": 128, "count": 2}]},
        "placement": {"policy": "first_fit"},
        "platform": {"vm": {"sizing": "as_given"}},
        "maintenance": {"drains": [[0, 100.0]]},
        "workload": {"trace": str(trace)},
    })
    assert config.migration == defaults
    rows = simdc.simulate(config).instances
    assert len(rows) == len(sizes) and (rows["migrations"] == 1).all() and (rows["host"] == 1).all()
    downtimes = rows["downtime_s"].to_numpy(float)
    assert (downtimes > 0).all() and (downtimes <= QEMU_DOWNTIME_LIMIT_S).all(), downtimes
    assert downtimes.min() == pytest.approx(CLARK_LOWEST_DOWNTIME_S, abs=0.010), downtimes


def two_on_three_run(tmp_path, consolidate: bool, container: str = "restart"):
    """The new user's cons3.toml, b busier: three 8-core hosts, switched off when
    empty; the least allocated placement (kubernetes) puts a (2 cores, using 1) at 0 s
    on host 0 and b (4 cores, using 3) at 1 s on host 1; host 2 stays empty. Containers
    only."""
    trace = tmp_path / "w5.csv"
    trace.write_text("id,submit_s,duration_s,cpu_cores,memory_gib,cpu_used,memory_used_gib\n"
                     "a,0,10000,2,4,1,2\nb,1,10000,4,4,3,2\n")
    return simdc.simulate(validate({
        "simulation": {"duration_s": 7200, "seed": 1, "platforms": ["container"], "sample_every_s": 1},
        "cluster": {"hosts": [{"name": "g", "count": 3, "cpu_cores": 8, "memory_gib": 16}], "power_off_idle": True},
        "placement": {"policy": "kubernetes"},
        "platform": {"vm": {"sizing": "as_given"}},
        "consolidation": {"interval_s": 300 if consolidate else 1e6},
        "migration": {"container": container},
        "workload": {"trace": str(trace)}}))


def test_a_consolidation_restart_starts_where_its_plan_put_it_never_on_a_switched_off_host(tmp_path):
    """Host 0 is 1/8 used (< under 0.35), host 1 3/8. At 600 s (a has stayed
    min_stay_s 600 s) host 0 is emptied: a restarts on host 1, the one host on and not
    under, as the plan found (4/8 after, within over 0.9). Host 1 is never under after:
    one restart in all, host 2 never on, host 0 resident 600 s. Energy (200 W idle,
    400 W at 8 cores: 25 W a core) drops by host 0's idle 200 W over 6,600 s, and a's
    25 W over its restart's warm start (< 1 s). The plan's target was dropped before:
    the restart went through the placement, whose least allocated pick was the
    switched-off host 2, which the next round emptied again, back to host 0 then off,
    and so on (the new user's cons3.toml: 22 restarts in 2 h, no energy saved)."""
    on, off = two_on_three_run(tmp_path, True), two_on_three_run(tmp_path, False)
    assert on.instances["migrations"].sum() == 1
    hosts = on.hosts.set_index("host")
    assert hosts.loc[2, "resident_s"] == 0.0 and hosts.loc[2, "energy_kwh"] == 0.0
    assert hosts.loc[0, "resident_s"] == pytest.approx(600.0)
    saved_j = (off.summary["energy_kwh"].iloc[0] - on.summary["energy_kwh"].iloc[0]) * 3.6e6
    assert 200.0 * 6600.0 <= saved_j <= 200.0 * 6600.0 + 25.0 * 1.0


def test_consolidation_does_not_move_instances_back_and_forth_between_an_overloaded_and_an_underloaded_host(
        tmp_path):
    """The new user's over.toml: two 8-core hosts, first fit puts four 2-core instances
    using 2 cores each (a-d at 0-3 s) on host 0: 8/8 used, over ``over`` 0.9. At 600 s
    only a has stayed min_stay_s (600 s); 0.8 cores above 7.2, so a, the smallest
    memory first (all 3 GiB: by index), goes to host 1 (2/8 after, within 0.9): host 0
    is at 6/8. Host 1 is then under 0.35, but its one way out is host 0, which would be
    8/8 > 0.9 after (CloudSim Plus, VmAllocationPolicyMigrationAbstract.findHostForVm:
    isNotHostOverloadedAfterAllocation), and host 0 is not over any more: one move per
    platform in 2 h, a on host 1 at the end, the others on host 0. Before, each round
    min_stay_s allowed moved one back and forth: 11 VM live migrations, 15 container
    checkpoints."""
    trace = tmp_path / "w13.csv"
    trace.write_text("id,submit_s,duration_s,cpu_cores,memory_gib,cpu_used,memory_used_gib\n"
                     + "".join(f"{name},{t},100000,2,3,2,2\n" for t, name in enumerate("abcd")))
    results = simdc.simulate(validate({
        "simulation": {"duration_s": 7200, "seed": 1, "platforms": ["vm", "container"], "sample_every_s": 60},
        "cluster": {"hosts": [{"name": "g", "count": 2, "cpu_cores": 8, "memory_gib": 16}], "power_off_idle": True},
        "placement": {"policy": "first_fit"},
        "platform": {"vm": {"sizing": "as_given"}},
        "consolidation": {"interval_s": 300},
        "migration": {"container": "checkpoint"},
        "workload": {"trace": str(trace)}}))
    for platform, rows in results.instances.groupby("platform"):
        rows = rows.set_index("id")
        assert rows["migrations"].to_dict() == {"a": 1, "b": 0, "c": 0, "d": 0}, platform
        assert rows["host"].to_dict() == {"a": 1, "b": 0, "c": 0, "d": 0}, platform


def test_a_checkpoints_source_holds_the_container_until_its_images_are_dumped_and_sent(tmp_path):
    """The fault-1 fleet with containers checkpointed: a (resident 2 GiB) leaves host 0
    at 600 s. CRIU dumps its pages on the source (2,048 MiB at the disk's 500 MiB/s:
    4.096 s) and sends the images (at 128 MiB/s: 16 s) before the target restores them
    (4.096 s): down 24.192 s, and host 0 on, holding a's memory, 20.096 s after the
    move began. Host 0's powered seconds are (energy - 25 W x core-seconds used) / 200 W
    idle: 620.096 s. Before, the source let a go at the move's start: 600 s, and with
    power_off_idle it drew nothing while it dumped and sent."""
    results = two_on_three_run(tmp_path, True, container="checkpoint")
    a = results.instances.set_index("id").loc["a"]
    dump_s, send_s = 2 * 1024 / 500, 2 * 1024 / 128
    assert a["migrations"] == 1 and a["downtime_s"] == pytest.approx(2 * dump_s + send_s, rel=1e-9)
    host0 = results.hosts.set_index("host").loc[0]
    powered_s = (host0["energy_kwh"] * 3.6e6 - 25.0 * host0["cpu_used_core_s"]) / 200.0
    assert powered_s == pytest.approx(600.0 + dump_s + send_s, rel=1e-9)
    assert host0["resident_s"] == pytest.approx(600.0)  # a resident once: on its target from the switch


def test_the_readme_says_what_a_drain_does_not_model_and_that_microvms_move_live_by_assumption():
    """Nothing waits a pod's terminationGracePeriodSeconds (30 s by default,
    kubernetes.io, Pod Lifecycle, "Termination of Pods") before its restart here: the
    README said drains "wait for graceful termination" without saying so. Firecracker
    has no live migration (firecracker docs/snapshotting/snapshot-support.md): the
    microvm preset's live moves must be stated as an assumption."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Moving instances"):readme.index("## Releases and autoscaling")]
    flat = " ".join(section.split())
    assert "Nor does it model the graceful termination" in flat
    assert "`terminationGracePeriodSeconds` (30 s by default)" in flat
    assert "though Firecracker has none" in flat and "an assumption" in flat
