"""One platform's run over a workload.

Lifecycle of an instance: submit → admit, queue or reject → start → running → end; a
container killed by the OOM killer waits a back-off and starts again on the same host.

Each instance waits on one thing at a time, so instances are not SimPy processes: each
step is a timer whose handler takes the next step (DESIGN.md §3). Timers sit on a bare
heap; :func:`run_events`, the loop of both lanes, runs them in SimPy's order and steps
SimPy only for moves (:mod:`simdc.engine.migration`); an image pull is a chain of timers
too, its transfers' ends planned by the flow model (:class:`Network`). Usage changes on a
fixed step for all hosts at once, vectorised over the fleet's running slots
(:class:`~simdc.engine.host.FleetStep`). Per-instance numbers live in
plain lists indexed by workload row; tables are built once, at the end. A streamed run
(``stream_to``, a spilled run too big for memory) keeps them in chunks of rows instead,
writes a chunk's rows once they are all final and lets it go (:mod:`simdc.engine.chunks`):
the same handlers, the storage under them bounded by what is alive.

This is the general engine's state and its steps; its event handlers are the lane's
(:class:`simdc.engine.handlers.GeneralLane`). Runs that need only part of it (no batch work, images,
interference, failures, memory limits, VM memory reclaim or admission by the
recommender) take the fast lane instead (:mod:`simdc.engine.handlers`), which must give
the same results. With ``admission = "recommender"`` a container's booking is set when
it is submitted, from what :mod:`simdc.engine.recommender` observed of the running
instances once a minute until then.
"""

from __future__ import annotations

import heapq
import itertools
import operator
from array import array
from collections import deque
from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd
import simpy
from simpy.core import NORMAL, URGENT

from simdc.engine.dependencies import Dependencies
from simdc.engine.first_fit import FEW_SIZES, few_sizes
from simdc.engine.host import BookedArrays, Bookings, FleetFigures, FleetStep, HostState, SlotMirror
from simdc.engine.images import LayerCache
from simdc.engine.network import GIB_S_PER_GBPS, Network
from simdc.engine.placer import Placer
from simdc.engine.rules import (MIB_PER_GIB, admitted, capped_usage, caps, fits, fits_nowhere, footprints, host_specs,
                                image_needs, over_memory, resident_overhead_gib, runtime_overhead_gib,
                                switched_off_when_idle, take_objects, virtualisation)
from simdc.errors import moment
from simdc.model.platform import VmPlatform
from simdc.placement import POLICIES, Fleet
from simdc.random import keyed, stream
from simdc.workload.usage import ConstantUsage

# Instance states during the run, and the outcome each leaves at the end.
WAITING, QUEUED, STARTING, RUNNING, BACKOFF, COMPLETED, REJECTED, KILLED, FAILED, EVICTED = range(10)
OUTCOMES = ("completed", "rejected", "oom_killed", "evicted", "failed", "running_at_end", "queued_at_end",
            "requeued_at_end", "blocked")
FINAL_OUTCOME = {
    # every row arrives before the horizon: only one waiting for a parent that did not
    # complete before it (or completed at it, when nothing is submitted: run_events) is
    # never submitted (simdc.engine.dependencies)
    WAITING: "blocked",
    QUEUED: "queued_at_end",  # never placed; a failure's victim waiting to be placed again: requeued_at_end
    STARTING: "running_at_end",
    RUNNING: "running_at_end",
    BACKOFF: "running_at_end",
    COMPLETED: "completed",
    REJECTED: "rejected",
    KILLED: "oom_killed",  # OOM-killed and not restarted (restart_policy never), or its lifetime ended in back-off
    FAILED: "failed",  # lost to a host or kernel failure: not placed again before it gave up or its end
    EVICTED: "evicted",  # moved off a drained host by a restart, and then refused (engine/migration.py)
}
_REQUEUED = OUTCOMES.index("requeued_at_end")
INF = float("inf")
# Chunks written as one table when a sample finds them final (Simulation._flush_chunks): at
# most 16 × 512 rows (~3 MiB) held at once; a 1,000-host run lets ~6 a sample go per platform.
FLUSH_CHUNKS = 16
_OUTCOME_CODE = np.array([OUTCOMES.index(FINAL_OUTCOME[s]) for s in range(len(FINAL_OUTCOME))])


def _as_list(values: np.ndarray) -> list:
    """``values.tolist()``, sharing one float object per distinct value when there are few
    (sizes from a catalogue, absent limits, zero intensities): 8 bytes an element instead
    of 32, for the per-instance lists the event loop indexes."""
    if len(values) < 1024 or len(pd.unique(values[:4096])) > 512:
        return values.tolist()
    first = values[:1].tolist()
    if (values == first[0]).all() or (first[0] != first[0] and np.isnan(values).all()):
        return first * len(values)  # one value (NaN too: no limits)
    code, distinct = pd.factorize(values, use_na_sentinel=False)
    if len(distinct) > len(values) // 8:
        return values.tolist()
    return take_objects(distinct.tolist(), code)


def as_array(values: list | array | np.ndarray, dtype=float) -> np.ndarray:
    """A per-instance list or ``array.array`` as a numpy array: an ``array.array`` or
    numpy array without a copy (when of ``dtype``); a list by ``np.fromiter``, about half
    the time ``np.asarray`` takes."""
    if isinstance(values, (np.ndarray, array, memoryview)):
        return np.asarray(values).astype(dtype, copy=False)
    return np.fromiter(values, dtype, len(values))


def _float_array(values: np.ndarray) -> array:
    """A numpy array of floats as ``array('d')``, without a Python object per value (and
    one copy: fresh memory costs a page fault per 4 KiB touched)."""
    typed = array("d")
    typed.frombytes(np.ascontiguousarray(values, float).view(np.uint8))  # (bytes, as frombytes asks)
    return typed


def _typed(values: list | array) -> array:
    """A per-instance list of floats as ``array('d')``: 8 bytes a slot instead of 8 and a
    float object (24 bytes) of its own (an ``array('d')`` as it is)."""
    if isinstance(values, np.ndarray):
        return _float_array(values)
    return values if isinstance(values, array) and values.typecode == "d" else array("d", values)


def _input_figures(platform, instances: pd.DataFrame, rows: int = 1 << 16) -> tuple[bool, bool, tuple[float, float]]:
    """What the whole run's footprints tell before a windowed run starts (the arrays
    themselves not held): whether any instance has a memory limit (FastLane.applies),
    whether its bookings are few (:func:`~simdc.engine.first_fit.few_sizes`) and the
    smallest booking ``(cores, GiB)`` (FirstFit's floor); ``rows`` rows at a time."""
    draws = np.random.default_rng(0)  # start latencies are not read here
    limits, keys, smallest_cpu, smallest_mem = False, np.empty(0), INF, INF
    for lo in range(0, len(instances), rows):
        part = footprints(platform, instances.iloc[lo:lo + rows], draws)
        limits = limits or bool(np.isfinite(part.mem_limit).any())
        if len(keys) <= FEW_SIZES:  # the distinct keys few_sizes counts, gathered window by window
            keys = pd.unique(np.concatenate([keys, pd.unique(part.book_cpu * 1e6 + part.book_mem_gib)]))
        smallest_cpu = min(smallest_cpu, float(part.book_cpu.min()))
        smallest_mem = min(smallest_mem, float(part.book_mem_gib.min()))
    return limits, 0 < len(keys) <= FEW_SIZES, (smallest_cpu, smallest_mem)


def _at_least_one(ratio: np.ndarray) -> np.ndarray:
    """A batch instance's time from first start to end over its work: at least 1 (it never
    runs faster than full speed); the rounding of ``end − start`` puts one that ran at full
    speed a hair below (0.999999999999995), read as 1."""
    return np.where((ratio < 1.0) & (ratio > 1.0 - 1e-9), 1.0, ratio)


def _slowdown(extra_s: np.ndarray, run_s: np.ndarray) -> np.ndarray:
    """Per instance, ``1 + extra_s / run_s`` (interference's slowdown) where it ran, NaN
    where it did not. Shapes ``(instances,)``. Without any time lost, 1 where it ran
    (``1 + 0 / run_s`` is 1 for every positive ``run_s``) without the division."""
    if not extra_s.any():
        return np.where(run_s > 0, 1.0, np.nan)
    return np.where(run_s > 0, 1 + extra_s / np.maximum(run_s, 1e-300), np.nan)


def _requeue_s(admit: np.ndarray, end: np.ndarray, resident_s: np.ndarray, horizon_s: float) -> np.ndarray:
    """Per instance, seconds spent waiting for a host again after a failure: from its first
    admission to its end (or the horizon), the time it was not on a host. 0 for an
    instance never struck; NaN for one never placed. Shapes ``(instances,)``."""
    with np.errstate(invalid="ignore"):
        since = np.minimum(np.where(np.isnan(end), horizon_s, end), horizon_s) - admit - resident_s
    return np.where(np.isnan(admit), np.nan, np.where(since > 1e-6, since, 0.0))


def run_events(env: simpy.Environment, heap: list, until: float, arrival: tuple | None = None,
               on_arrival=None, ends: tuple = ()) -> None:
    """The event loop of both engines, up to ``until`` (s): SimPy's order on two queues.

    ``heap`` holds timers, ``(t, priority, eid, handler, value)``; a timer runs as
    ``handler(t, value)``. ``env``'s own queue holds the SimPy processes of moves
    (drains, rolling restarts, consolidation: :mod:`simdc.engine.migration`): it is
    stepped (``env.step()``) when it holds the earliest event; in a run without moves it
    stays empty, and ``env`` is the clock and the counter of event ids. Timers take
    their ``eid`` from ``env._eid`` and SimPy's priorities (URGENT 0, NORMAL 1), so the
    merged order is the one SimPy alone would give: by time, then priority, then
    scheduling order. ``env.now`` is the timer's ``t`` while it runs.
    ``arrival``, when given, is one more timer kept beside the heap (one comparison
    instead of a push and a pop); ``on_arrival(t, value)`` returns the next or None.
    The run covers [0, ``until``] (the usual discrete-event convention): the timers at
    ``until`` whose handler is one of ``ends`` (an instance's end: its lifetime over, its
    batch work done) still run, in the heap's order, so an instance whose end falls
    exactly at the horizon completes there, as an end at any earlier instant does
    (before the arrivals and patience expiries of that instant). Nothing else at
    ``until`` or later runs: an arrival then is outside the run (the trace readers do
    not submit it: :func:`simdc.workload.load_workload`), and so are a patience running
    out, a start, a sample, a child released by a parent ending at ``until`` (its
    ``_on_released`` timer), and SimPy's own queue (moves stop where they are). Nobody
    is admitted at ``until`` either (:meth:`simdc.engine.handlers.Lane.drain`).
    """
    queue, pop, step = env._queue, heapq.heappop, env.step
    while True:
        if queue and (not heap or queue[0] < heap[0]) and (arrival is None or queue[0] < arrival):
            if queue[0][0] >= until:
                break
            step()
        elif arrival is not None and (not heap or arrival < heap[0]):
            clock, _, _, _, i = arrival
            if clock >= until:
                break
            env._now = clock
            arrival = on_arrival(clock, i)
        elif heap:
            clock, priority, eid, handler, value = pop(heap)
            if clock >= until:
                heapq.heappush(heap, (clock, priority, eid, handler, value))  # for the horizon's ends below
                break
            env._now = clock
            handler(clock, value)
        else:
            break
    env._now = until
    others = []  # at ``until`` and no end: they do not run, and stay on the heap
    while heap and heap[0][0] == until:
        timer = pop(heap)
        if timer[3] in ends:
            timer[3](until, timer[4])
        else:
            others.append(timer)
    for timer in others:
        heapq.heappush(heap, timer)


class Timeseries:
    """The timeseries table as it grows: one row per host and sample, kept in typed
    columns (``array.array``), with no Python object per row. A month of minute samples
    of a hundred hosts is 4.3 M rows: some 300 MiB here, over 1 GiB as tuples.

    Streamed (:meth:`stream`), the rows go to a Parquet file a row group of
    :data:`STREAM_ROWS` rows at a time as the run goes, and are let go."""

    COLUMNS = {"t_s": "d", "host": "q", "resident": "q", "running": "q", "cpu_demand": "d", "cpu_used": "d",
               "mem_used_gib": "d", "mem_alloc_gib": "d", "swapped_gib": "d"}  # name: array typecode

    def __init__(self, hosts: int):
        self.hosts = hosts
        self.host_ids = array("q", range(hosts))  # the host column of one sample
        self.columns = {name: array(typecode) for name, typecode in self.COLUMNS.items()}
        self.sink = None  # streamed: (RowGroups, platform, rows per row group)

    STREAM_ROWS = 250_000  # rows a row group holds, streamed (simdc.experiment.SPILL_ROWS, as a spilled table's)

    def stream(self, path, platform: str) -> None:
        """Write the rows to the Parquet file ``path`` as they come, in row groups of
        :data:`STREAM_ROWS` rows or more (whole samples; the last one may be shorter)."""
        from simdc.engine.chunks import RowGroups

        self.sink = (RowGroups(path, ordered=True), platform, max(self.STREAM_ROWS, 1))

    def flush(self, last: bool = False) -> None:
        """Streamed: the rows held as a row group, then let go (``last``: even none)."""
        writer, platform, _ = self.sink
        if len(self.columns["t_s"]) or (last and writer.writer is None):
            writer.write(len(writer.groups), self.table(platform))
            self.columns = {name: array(typecode) for name, typecode in self.COLUMNS.items()}
        if last:
            writer.close()

    PER_HOST = tuple(COLUMNS)[2:]  # the columns add() is given, in order

    def add(self, now: float, *per_host) -> None:
        """One sample at ``now``: after it, a sequence per column from ``resident`` on,
        each holding a value per host, in order."""
        columns = self.columns
        columns["t_s"].extend(array("d", (now,)) * self.hosts)
        columns["host"].extend(self.host_ids)
        for name, values in zip(self.PER_HOST, per_host, strict=True):
            if type(values) is list:  # a list is copied in whole (three times faster than item by item)
                columns[name].fromlist(values)
            else:
                columns[name].extend(values)
        if self.sink is not None and len(columns["t_s"]) >= self.sink[2]:
            self.flush()

    def table(self, platform: str) -> pd.DataFrame:
        table = pd.DataFrame({name: np.asarray(self.columns[name]) for name in self.COLUMNS})
        table.insert(0, "platform", platform)
        return table


@dataclass(frozen=True)
class PlatformRun:
    """The raw tables of one platform's run."""

    instances: pd.DataFrame  # one row per workload row
    hosts: pd.DataFrame  # one row per host: capacity and time integrals
    timeseries: pd.DataFrame  # one row per host and sample
    lane: str = "general"  # the engine's lane that ran it: "general" or "fast"
    meter_j: np.ndarray | None = None  # hosts' energy (J) at the run's meter_at_s, a row per moment
    services: pd.DataFrame | None = None  # with [[services]]: demand, ready and served over time (engine.services)
    releases: pd.DataFrame | None = None  # with [[services]]: one row per release rolled out
    requests: pd.DataFrame | None = None  # with [[services]]: each row of instances as requested (workload columns)
    warm_pools: pd.DataFrame | None = None  # with [[services]]: each VM warm pool's books (Controller.warm_pools)
    warnings: tuple[str, ...] = ()  # what a person should hear of the run (e.g. a service out of replica rows)
    # streamed (instances None): what the summary reads of its instance rows, gathered as
    # they were written (simdc.streamed.InstanceFigures)
    figures: object | None = None
    # each time an instance was off its host between two stays (OffHost.table); None when streamed
    off_host: pd.DataFrame | None = None


class OffHost:
    """The engine's record of the instances' time off a host between stays: an entry each
    time one leaves its host alive to be placed again (a failure's victim resubmitted, a
    container a drain restarts), from that moment until it is on a host again (placed
    again). An entry still open at the end runs to the instance's end (it gave up waiting,
    or no host would have it) or the horizon (it still waits). With each placed
    instance's first admission and end (the instances' ``admit_s`` and ``end_s``) these
    are its stays on a host, which the engine's count of instances on the fleet
    (:class:`~simdc.engine.host.Bookings`' ``fleet_peak``) counts: the rows in which a
    fleet of cells finds the most on all of its cells at once
    (:func:`simdc.metrics.on_host_peak`). A few bytes an entry, only for these moments."""

    __slots__ = ("row", "from_s", "to_s", "open")

    def __init__(self) -> None:
        self.row, self.from_s, self.to_s = array("q"), array("d"), array("d")
        self.open: dict[int, int] = {}  # instance -> its entry still open

    def left(self, i: int, now: float) -> None:
        """``i`` leaves its host at ``now``, to be placed again."""
        self.open[i] = len(self.row)
        self.row.append(i)
        self.from_s.append(now)
        self.to_s.append(float("nan"))

    def back(self, i: int, now: float) -> None:
        """``i`` is on a host again from ``now``."""
        entry = self.open.pop(i, None)
        if entry is not None:
            self.to_s[entry] = now

    def table(self, end_s: np.ndarray, horizon_s: float) -> pd.DataFrame:
        """The entries, in the order they began: ``row`` (the instance's row), ``from_s``,
        ``to_s`` (s); the open ones to ``end_s`` of the instance (NaN: ``horizon_s``)."""
        row = np.frombuffer(self.row, dtype=np.int64) if len(self.row) else np.zeros(0, dtype=np.int64)
        to_s = np.array(self.to_s, dtype=float)
        end = np.minimum(np.where(np.isnan(end_s[row]), horizon_s, end_s[row]), horizon_s)
        return pd.DataFrame({"row": row.copy(), "from_s": np.array(self.from_s, dtype=float),
                             "to_s": np.where(np.isnan(to_s), end, to_s)})


class _Pull:
    """One instance's image pull under way (:meth:`Simulation._pull`): the layer it is
    at (an index into its image's layers), when its current wait began, and the seconds
    spent pulling and unpacking so far; the layer's fetch it waits for (``fetch``) or the
    disks' id of its VM disk's copy (``write``); ``gone`` once its instance has left the
    host (:meth:`Simulation._pull_off`); ``queued`` while it waits its turn in the node's
    kubelet queue, ``slot`` while it holds one of the node's pull slots
    (:meth:`Simulation._pull_begin`)."""

    __slots__ = ("i", "host", "cache", "epoch", "layer", "began_s", "pull_s", "unpack_s", "boot_s", "fetch", "write",
                 "gone", "queued", "slot")

    def __init__(self, i: int, host: HostState, cache: LayerCache):
        self.i, self.host, self.cache = i, host, cache
        self.epoch = -1  # read when the pull begins
        self.layer = 0
        self.began_s = self.pull_s = self.unpack_s = self.boot_s = 0.0
        self.fetch: _Fetch | None = None
        self.write: int | None = None
        self.gone = self.queued = self.slot = False


class _Fetch:
    """One layer being fetched onto one host (:meth:`Simulation._pull_next`): the pull that
    began it (``owner``, None once its instance left), the pulls waiting for it, and the
    step under way: the round trip (neither id), the download (``flow``, the network's
    id) or the unpack (``write``, the disks' id). ``gone`` once no pull wants it."""

    __slots__ = ("owner", "waiting", "digest", "gib", "host", "flow", "write", "gone")

    def __init__(self, owner: _Pull, digest: str, gib: float):
        self.owner, self.waiting, self.digest, self.gib, self.host = owner, [], digest, gib, owner.host
        self.flow = self.write = None
        self.gone = False


class Simulation:
    """The general engine: one platform's run on a SimPy environment (module docstring).
    Use :func:`simdc.engine.run_platform`, which also picks the fast lane when it applies."""

    def __init__(self, name, platform, hosts, instances, duration_s, sample_every_s, seed,
                 usage, placement, power_off_idle, images, registry, faults, moves=None, stream_to=None):
        self.name = name
        self.env = simpy.Environment()
        self.heap: list[tuple] = []  # timers (run_events); SimPy's queue holds moves
        self.duration_s = float(duration_s)
        self.sample_every_s = float(sample_every_s)
        self.choose = POLICIES[placement.policy]
        self.placement_policy = placement.policy
        self.policy_args = {"rng": stream(seed, f"placement:{name}"), "weights": placement.scoring}
        self.queue_when_full = placement.when_full == "queue"
        self.max_wait_s = placement.max_wait_s
        self.max_starts = placement.max_concurrent_starts
        vm = isinstance(platform, VmPlatform)
        host_args = dict(overhead_gib=resident_overhead_gib(platform), vm=vm,
                         power_off_idle=switched_off_when_idle(platform, power_off_idle),
                         membw_sensitivity=platform.membw_sensitivity, io_sensitivity=platform.io_sensitivity)
        self.vm, self.faults, self.seed = vm, faults, seed
        # a kernel per instance (a VM's, a sandboxed pod's guest kernel), or one per host
        self.own_kernel = vm or platform.guest_kernel
        if vm:
            host_args.update(ksm_savings=platform.ksm_savings, balloon=platform.balloon,
                             swap_slowdown=platform.swap_slowdown)
            self.restart, self.backoff_s, self.backoff_max_s = False, 0.0, 0.0
        else:
            self.restart = platform.restart_policy == "always"
            self.backoff_s, self.backoff_max_s = platform.restart_backoff_s, platform.restart_backoff_max_s
        hosts, self.physical, host_args["base_mem_gib"] = host_specs(platform, hosts)
        # what every host holds: fleet-wide lists (both lanes); HostState keeps the running slots
        self.booked = Bookings(len(hosts))
        cost = virtualisation(platform, instances)  # the hypervisor's share, for both lanes
        self.hosts = [HostState(i, spec, *caps(platform, spec), **host_args, booked=self.booked,
                                cpu_factor=cost.cpu_factor)
                      for i, spec in enumerate(hosts)]
        self.figures = FleetFigures.attach(self.hosts)  # what a sample reads
        self._images(platform, hosts, instances, images, registry)
        # The platform's creation rate: a host creates one instance every 1 / (rate x
        # cores) s, starts taking their turns in FIFO order (Lane.creation_wait); None: no limit
        rate = platform.creations_per_core_per_s
        self.create_gap_s = None if rate is None else [1.0 / (rate * h.cores) for h in self.hosts]
        self.next_create_s = [0.0] * len(self.hosts)  # when each host's next creation may begin
        self.cpu_caps = np.array([h.cpu_cap for h in self.hosts])
        self.mem_caps = np.array([h.mem_cap for h in self.hosts])
        # what hosts offer, without the fit test's slack: scores' capacities, free memory's
        self.cpu_capacities = np.array([h.cpu_capacity for h in self.hosts])
        self.mem_capacities = np.array([h.mem_capacity for h in self.hosts])
        # each distinct pair of the hosts' limits once (a pair per host group): what
        # fits_nowhere() tests a request against, at a cost per group, not per host
        shapes = sorted(set(zip(self.cpu_caps.tolist(), self.mem_caps.tolist())))
        self.cap_shapes = np.array([cpu for cpu, _ in shapes]), np.array([mem for _, mem in shapes])

        self.usage = usage or ConstantUsage(instances["cpu_used"].to_numpy(float),
                                            instances["memory_used_gib"].to_numpy(float))
        self.usage = cost.presented(self.usage)
        self.cpu_factor = cost.cpu_factor  # host CPU per core of an instance's own work (VMs: > 1)
        # When the next usage step comes (s; none: inf): it plans every busy host's next
        # batch finish again (_schedule_finish), so a finish planned after it needs no timer.
        step_s = self.usage.step_s
        self.replan_s = step_s if step_s is not None and step_s < self.duration_s else float("inf")
        self.stepped_s = -float("inf")  # when the last usage step was
        self.ids = instances["id"].to_numpy()
        self.inputs = instances  # its columns, as arrays, for the instances' table
        self.deps = Dependencies.of(instances)  # None: no instance waits for another
        # streamed (stream_to, a Parquet file for the instance rows): the state in chunks,
        # let go as the run goes (_stream_state); the columns read per instance typed
        # from the start, as the general engine reads them (_general_state)
        self.chunks = self.stream_path = None
        moving = moves is not None and (moves[0].active or moves[2].active)
        streamed = stream_to is not None and self.deps is None and not moving and len(instances) > 0
        # Streamed, what the engine reads per instance (footprints, times, sizes) is computed
        # chunk by chunk as the chunks open and let go with them (_stream_inputs), not held
        # for the whole run; only where each row's inputs are its own row's (not the
        # oracle's or the recommender's bookings, which read the whole run's usage).
        self.platform = platform
        # The start latencies are drawn chunk by chunk: only from a distribution whose draws
        # split across calls are those of one call (not ``samples``: Generator.choice draws
        # bounded integers from halves of 64-bit words, a call's leftover half dropped).
        start = platform.boot_s if vm else platform.start_s
        self.start_latency = start  # every start's distribution: the first's drawn here, later ones by start_time()
        self.windowed = (streamed and start.samples is None
                         and (vm or platform.admission not in ("oracle", "recommender")))
        self.too_big = None  # fits on no host, however empty (fits_nowhere): an array, or windowed a chunked column
        self.bookings_few = self.smallest_booking = None  # windowed: the whole run's, for placement
        if self.windowed:
            self._windowed_init(platform, instances, cost)
        else:
            self._whole_init(platform, instances, cost, name, seed, streamed)
        self.recommender = None
        if not vm and platform.admission == "recommender":
            self._recommender_setup(platform, instances)

        n = len(instances)
        nan = float("nan")
        self.timeseries = Timeseries(len(self.hosts))
        if streamed:
            self._stream_state(stream_to)
        else:
            self._memory_state(n, nan)
        # the first start's wait for its turn to be created (with a creation rate only)
        self.create_wait_s = None if self.create_gap_s is None else self._column("create_wait_s", "d", nan)
        # read per instance only by the general engine, typed there (_general_state: 8 bytes a
        # row, not a float object of 32 more); until then the workload's columns, not copied
        self.membw, self.io = (np.zeros(n) if column not in instances else instances[column].to_numpy(float)
                               for column in ("membw_intensity", "io_intensity"))
        self.queue: deque[int] = deque()
        self.weight = None  # CPU weights: kept by the general engine (_general_state)
        self.progress = None
        self.meter_at_s: tuple[float, ...] = ()  # energy readings for prices over time (engine/meter.py)
        self.meter = None
        self.not_made: list[str] = []  # listed failures that struck a machine down already (warnings)
        # Drains and consolidation (engine/migration.py); moves = (maintenance, migration,
        # consolidation) specs. Imported here: migration.py imports this module's states.
        self.mover = None
        if moves is not None and (moves[0].active or moves[2].active):
            from simdc.engine.migration import Mover

            self.mover = Mover(self, *moves)
        self.lane = None  # the handlers of the run under way (handlers.Lane)
        self.off_host = OffHost()  # failures' victims and restarted containers waiting to be placed again
        self.services = None  # a services.Controller whose replicas are the last rows, when the config has services

    def _whole_init(self, platform, instances, cost, name, seed, streamed) -> None:
        """What the engine reads per instance, for the whole run (__init__)."""
        fp = footprints(platform, instances, stream(seed, f"start:{name}"), self.usage)
        self.fp = fp
        self.has_limits = bool(np.isfinite(fp.mem_limit).any())
        per_row = _float_array  # typed: no float object a row to make and free (the loop reads each once or twice)
        self.submit = per_row(instances["submit_s"].to_numpy(float))
        self.duration = per_row(instances["duration_s"].to_numpy(float))
        batch = (instances["kind"] == "batch").to_numpy()
        self.any_batch = bool(batch.any())  # (FastLane.applies: numpy's test, not a bool object a row)
        self.batch = _as_list(batch)  # one shared bool a row when all are alike (the usual case)
        # batch work in full-speed seconds (a service's is never read: no list of its own)
        self.work_s = (_as_list(instances["duration_s"].to_numpy(float) * cost.work_factor)
                       if self.any_batch and (cost.work_factor != 1.0).any() else self.duration)
        self.book_cpu = _as_list(fp.book_cpu)
        self.book_mem = _as_list(fp.book_mem_gib)
        self.too_big = self.fits_nowhere(fp.book_cpu, fp.book_mem_gib)  # as declared (the recommender's: at submission)
        # a VM's ceiling is its booking (one array): one list (the recommender, which
        # changes both, copies them first)
        self.cpu_cap = self.book_cpu if fp.cpu_cap is fp.book_cpu else _as_list(fp.cpu_cap)
        self.mem_cap = _as_list(fp.mem_cap)
        self.start_s = _float_array(fp.start_s) if streamed else _as_list(fp.start_s)

    def _windowed_init(self, platform, instances, cost) -> None:
        """A windowed streamed run's (__init__): only what is asked of the whole run before
        it starts (FastLane.applies, placement's hints), computed a window of rows at a
        time; the per-instance inputs come with their chunks (:meth:`_stream_inputs`)."""
        self.fp = None
        self.any_batch = bool((instances["kind"] == "batch").to_numpy().any())
        self.work_scaled = self.any_batch and bool((cost.work_factor != 1.0).any())
        self.has_limits, self.bookings_few, self.smallest_booking = _input_figures(platform, instances)
        self.submit = self.duration = self.work_s = self.batch = self.start_s = None
        self.book_cpu = self.book_mem = self.cpu_cap = self.mem_cap = self.copy_gib = None

    def _memory_state(self, n: int, nan: float) -> None:
        """The per-instance state of a run held in memory (__init__)."""
        self.state = [WAITING] * n
        # Counters only failures, kills and restarts write: typed zeros, not an object a
        # row, read back as arrays without a copy; numpy's (calloc'd) memory, which costs
        # no page fault until a row is written, seen through a memoryview (Python ints
        # a row, as an array.array's): a failure starts a new epoch, after which older
        # timers no longer apply
        self.epoch, self.kills, self.restarts = (memoryview(np.zeros(n, np.int64)) for _ in range(3))
        # placed again (a failure's victim, a move's restart): with restarts, which start
        # an instance is at (start_time); the general engine's own column (_general_state)
        self.replacements = memoryview(np.zeros(n, np.int64))
        self.streak = memoryview(np.zeros(n, np.int64))  # kills since the back-off last reset
        # written once or twice per instance and read back as arrays: array.array, which
        # becomes a numpy array without a copy (a list costs a conversion at the end)
        self.host_of = array("q", [-1]) * n
        self.admit_s = array("d", [nan]) * n
        self.ready_s = array("d", [nan]) * n  # the start of the latest attempt
        self.first_ready_s = array("d", [nan]) * n  # the first start: start latency, a service's lifetime
        self.end_s = array("d", [nan]) * n

    def _recommender_setup(self, platform, instances) -> None:
        """Admission by a recommender that learns while the run goes: each submission
        books what it recommends then (declared requests until its job has history),
        fed by an observation of the running instances every minute."""
        from simdc.engine.recommender import Recommender, learning_keys

        keys = learning_keys(instances)
        self.rec_key = keys
        self.recommender = Recommender(int(keys.max()) + 1 if len(keys) else 0, len(keys))
        fp = self.fp
        # Bookings change per instance as the run goes: own copies (the footprints may be
        # views of the workload's columns, which every platform shares).
        self.fp = replace(fp, book_cpu=fp.book_cpu.copy(), book_mem_gib=fp.book_mem_gib.copy(),
                          weight=fp.weight.copy(), mem_request=fp.mem_request.copy(), cpu_cap=fp.cpu_cap.copy(),
                          mem_limit=fp.mem_limit.copy())
        self.declared = (fp.book_cpu.copy(), fp.mem_request.copy(), fp.cpu_cap.copy(), fp.mem_limit.copy())
        # each instance's booking at its first submission (NaN: not submitted yet), which
        # its ``unplaceable`` is of: a failure's victim is booked anew when submitted again
        self.first_booked = np.full(len(fp.book_cpu), np.nan), np.full(len(fp.book_cpu), np.nan)
        self.overhead_gib = runtime_overhead_gib(platform)
        self.book_cpu, self.book_mem = list(self.book_cpu), list(self.book_mem)
        self.cpu_cap = list(self.cpu_cap)

    def _recommend(self, i: int, now: float) -> None:
        """Set ``i``'s booking to the recommendation at ``now``. The Vertical Pod
        Autoscaler's admission controller sets a new pod's requests to the current
        recommendation, and scales its limits to keep their ratio to the requests
        (kubernetes/autoscaler vertical-pod-autoscaler README, "controlledValues":
        RequestsAndLimits is the default)."""
        declared_cpu, declared_mem, cpu_limit, mem_limit = self.declared
        advice = self.recommender.recommend(int(self.rec_key[i]), now)
        cpu, mem = (declared_cpu[i], declared_mem[i]) if advice is None else advice
        fp = self.fp
        fp.book_cpu[i] = self.book_cpu[i] = cpu
        fp.book_mem_gib[i] = self.book_mem[i] = mem + self.overhead_gib
        first_cpu, first_mem = self.first_booked
        if first_cpu[i] != first_cpu[i]:  # NaN: its first submission
            first_cpu[i], first_mem[i] = cpu, mem + self.overhead_gib
        weight, fp.mem_request[i], limit_cpu, fp.mem_limit[i] = admitted(
            cpu, mem, declared_cpu[i], declared_mem[i], cpu_limit[i], mem_limit[i])
        fp.weight[i] = weight
        if self.weight is not None:
            self.weight[i] = weight
        fp.cpu_cap[i] = self.cpu_cap[i] = limit_cpu

    def _on_observe(self, now: float, value) -> None:
        """The recommender's minute: the usage of every running instance, CPU as given
        (what the cgroup would report) and memory in use."""
        # only a run with a recommender observes (the module is imported where it is built)
        from simdc.engine.recommender import OBSERVE_EVERY_S

        busy = [host for host in self.hosts if host.inst]
        if busy:
            inst = np.fromiter(itertools.chain.from_iterable(host.inst for host in busy), np.int64)
            cpu = np.fromiter(itertools.chain.from_iterable(host.alloc for host in busy), float, len(inst))
            mem = np.fromiter(itertools.chain.from_iterable(host.mem for host in busy), float, len(inst))
            self.recommender.observe(now, inst, self.rec_key[inst], cpu, mem, self.fp.book_cpu[inst])
        if now + OBSERVE_EVERY_S < self.duration_s:
            self._after(OBSERVE_EVERY_S, self._on_observe, None)

    def _images(self, platform, hosts, instances, catalogue, registry) -> None:
        """Per-host layer caches, the network to the registry, the hosts' disks, and what
        each instance needs."""
        self.image_catalogue = catalogue
        self.needs, copy_gib = image_needs(platform, instances["image"].fillna("").astype(str), catalogue)
        self.any_needs = any(self.needs)  # once (FastLane.applies is asked twice a run)
        self.copy_gib = _as_list(copy_gib)
        self.caches = [LayerCache(spec.image_cache_gib) for spec in hosts]
        for spec, cache in zip(hosts, self.caches):
            prepulled: dict[str, float] = {}  # present at time 0: each layer (or disk image) once
            for name in spec.prepull:
                prepulled.update(image_needs(platform, pd.Series([name]), catalogue)[0][0])
            if sum(prepulled.values()) > spec.image_cache_gib * (1 + 1e-12):
                # the cache would evict some at once, and the instances would start cold
                from simdc.errors import InputError

                group = f" of group {spec.name!r}" if getattr(spec, "name", "") else ""
                node = self.physical != list(range(len(hosts)))
                raise InputError(
                    f"prepull{group}: {', '.join(repr(name) for name in spec.prepull)} need "
                    f"{sum(prepulled.values()):.4g} GiB of image cache on each {'node VM' if node else 'host'} "
                    f"of platform {self.name!r}, which holds {spec.image_cache_gib:.4g} GiB (image_cache_gib"
                    f"{', split among the nodes' if node else ''}): what a host prepulls must fit its cache; "
                    "raise image_cache_gib or prepull fewer images")
            for digest, gib in prepulled.items():
                cache.add(digest, gib)
        self.inflight: list[dict[str, _Fetch]] = [{} for _ in hosts]  # layers being fetched onto each host
        self.pulling: dict[int, _Pull] = {}  # instance: its pull under way (until its layers and disk are there)
        # The kubelet's pulls per node (ContainerPlatform.image_pulls_per_node: 1 when
        # serial, its default); None: no limit (parallel, and VMs, which kubelet does not pull for)
        self.pull_slots = None if isinstance(platform, VmPlatform) else platform.image_pulls_per_node
        self.pulls_under_way = [0] * len(hosts)  # per node: pulls holding a slot
        self.pull_queue: list[deque[_Pull]] = [deque() for _ in hosts]  # per node: pulls waiting for a slot
        source = registry.mirror or registry
        self.rtt_s = source.rtt_s
        capacity = {("link", j): spec.net_gbps * GIB_S_PER_GBPS for j, spec in enumerate(hosts)}
        capacity["registry"] = source.bandwidth_gbps * GIB_S_PER_GBPS
        self.network = Network(self.env, capacity, self._after, self._at)
        # Every write to a host's disk (a layer's unpack, a VM's disk copy) shares the
        # physical host's disk_write_mib_s with the others under way there, max-min fair:
        # the flow model with the disks as own links and an unlimited shared link (_write).
        disks = {("disk", self.physical[k]): spec.disk_write_mib_s / MIB_PER_GIB for k, spec in enumerate(hosts)}
        self.disks = Network(self.env, {**disks, "unlimited": float("inf")}, self._after, self._at)
        self.pulled_gib = [0.0] * len(hosts)
        self.free_at_failure = array("d", [float("nan")]) * len(self.needs)

    def _general_state(self) -> None:
        """Per-instance state only the general engine keeps as it runs (the fast lane
        computes these columns at the end)."""
        n = len(self.inputs) if self.windowed else len(self.submit)
        nan = float("nan")
        column = self._column
        if self.windowed:
            self._stream_inputs()
        else:
            self.weight = _as_list(self.fp.weight)
        # what each instance's slot holds while it runs, as arrays a usage step takes from
        # (fp.weight changes with self.weight, before a start)
        mirror = SlotMirror.attach(self.hosts, 0 if self.chunks is not None else n)
        if self.chunks is not None:
            for name in ("demand", "clip", "hwm"):
                column(f"mirror_{name}", "d", 0.0)
                setattr(mirror, name, self.chunks.array(f"mirror_{name}"))
        self.slot_constants = {"weight": self.fp.weight, "membw": np.asarray(self.membw, float),
                               "io": np.asarray(self.io, float), "batch": np.asarray(self.batch, bool)}
        if self.windowed:  # the chunks' own arrays (a memoryview of bools reads as bytes)
            self.slot_constants.update(membw=self.chunks.array("membw"), io=self.chunks.array("io"),
                                       batch=self.chunks.array("batch"))
        self.slot_of = column("slot_of", "q", -1) if self.chunks is not None else [-1] * n
        if self.chunks is not None:
            column("attempt_s", "d", nan)
            self.attempt_s = self.chunks.array("attempt_s")
        else:
            self.attempt_s = np.full(n, nan)  # when the current attempt started running
        # Sums and times written as the run goes: typed arrays, 8 bytes a slot (a list
        # holds a float object of 24 more per slot once written; benchmarks/README.md,
        # "Where a large run's memory goes"), at the same cost per event.
        # the workload's columns read per instance, the same way (the fast lane reads lists)
        if not self.windowed:
            same = self.work_s is self.duration
            self.submit, self.duration, self.start_s, self.membw, self.io = (
                _typed(values) for values in (self.submit, self.duration, self.start_s, self.membw, self.io))
            self.work_s = self.duration if same else _typed(self.work_s)
        self.demand_s = column("demand_s", "d", 0.0)
        self.unmet_s = column("unmet_s", "d", 0.0)
        self.swap_s = column("swap_s", "d", 0.0)
        self.extra_s = column("extra_s", "d", 0.0)  # time lost to neighbours' interference
        self.degraded_s = column("degraded_s", "d", 0.0)
        self.run_s = column("run_s", "d", 0.0)  # time spent running, over all attempts
        self.lost_core_s = column("lost_core_s", "d", 0.0)  # CPU work thrown away by failures
        self.failure_kills = column("failure_kills", "q", 0) if self.chunks is not None else [0] * n
        self.pull_s, self.unpack_s, self.first_boot_s = (column(name, "d", nan)
                                                         for name in ("pull_s", "unpack_s", "first_boot_s"))
        self.cold = column("cold", "?", False) if self.chunks is not None else [False] * n
        self.stay_s = column("stay_s", "d", nan)  # when the current stay on a host began (its admission)
        self.resident_s = column("resident_s", "d", 0.0)  # time on a host, over all stays
        self.replacements = column("replacements", "q", 0)  # placed again after a failure

    def _column(self, name: str, typecode: str, default) -> array | memoryview:
        """A per-instance column of ``default``: an ``array.array`` of every row, or, in a
        streamed run, a chunked one (:class:`~simdc.engine.chunks.Chunks`)."""
        if self.chunks is not None:
            return self.chunks.column(name, typecode, default)
        return array(typecode, [default]) * len(self.submit)

    def _stream_state(self, path) -> None:
        """A streamed run (:mod:`simdc.engine.chunks`; ``stream_to`` of the constructor):
        the per-instance state in chunks, each chunk's instance rows written to the
        Parquet file ``path`` (in row order, row groups of a chunk each) once every
        instance in it has a final outcome, then let go; the run's ``instances`` table is
        then None. Only the general engine runs it (:meth:`run`), and only without what
        reaches any row at any time (dependencies, moves, services: those runs are held
        in memory, ``chunks`` None)."""
        from pathlib import Path

        from simdc.engine.chunks import Chunks

        path = Path(path)
        self.chunks = chunks = Chunks(len(self.inputs))
        self.stream_path = path.with_name(path.name + ".instances.parquet")
        self.timeseries.stream(path.with_name(path.name + ".timeseries.parquet"), self.name)
        # the state written before the general engine's own (__init__'s lists), chunked;
        # state and epoch, read by stale timers at any time, kept whole (chunks.py)
        # the usage model's per-instance constants held with the chunks (None: it has none
        # of its own)
        windows = getattr(self.usage, "windows", None)
        self.usage_window = windows() if windows is not None else None
        if self.usage_window is not None:
            chunks.followers.append(self.usage_window)
        from simdc.workload.mapped import mapped_columns

        # a spilled run's workload in a file (simdc.workload.mapped): its rows' pages go with the chunks
        self.mapped = mapped_columns(self.inputs)
        if self.mapped is not None:
            chunks.followers.append(self.mapped)
        self.state = chunks.column("state", "b", chunked=False)
        self.final_to = array("q", (chunks.bounds(k)[0] for k in range(chunks.count)))  # _flush_chunks
        self.epoch = chunks.column("epoch", "i", chunked=False)
        for name, typecode, default in (("host_of", "q", -1), ("admit_s", "d", float("nan")),
                                        ("ready_s", "d", float("nan")), ("first_ready_s", "d", float("nan")),
                                        ("end_s", "d", float("nan")), ("kills", "q", 0), ("restarts", "q", 0),
                                        ("streak", "q", 0), ("free_at_failure", "d", float("nan"))):
            setattr(self, name, chunks.column(name, typecode, default))

    def _stream_inputs(self) -> None:
        """A windowed streamed run (``windowed``): what the engine reads per instance
        (its footprints, times, sizes, intensities, kind, copy and whether it fits
        anywhere) in chunked columns (:meth:`~simdc.engine.chunks.Chunks.inputs`), each
        chunk's computed from its rows of the workload as it opens and let go with it.
        The footprints' start latencies are drawn chunk by chunk, in chunk order, from a
        stream made as the whole run's was: the same draws (numpy's draws split across
        calls are those of one call)."""
        platform, inputs, catalogue = self.platform, self.inputs, self.image_catalogue
        draws = stream(self.seed, f"start:{self.name}")
        whole = footprints(platform, inputs.iloc[:0], draws)  # which fields there are, which share an array
        shared: dict[int, str] = {}
        named: dict[str, str] = {}  # field: its column
        typecodes: dict[str, str] = {}
        for field in fields(whole):
            values = getattr(whole, field.name)
            if values is None:
                continue
            if id(values) not in shared:
                shared[id(values)] = f"fp_{field.name}"
                typecodes[f"fp_{field.name}"] = {"i": "q", "u": "q", "b": "?"}.get(values.dtype.kind, "d")
            named[field.name] = shared[id(values)]
        scaled, nowhere = self.work_scaled, self.fits_nowhere
        typecodes.update(submit="d", duration="d", membw="d", io="d", copy_gib="d", batch="?", too_big="?")
        if scaled:
            typecodes["work_s"] = "d"

        def fill(lo: int, hi: int) -> dict[str, np.ndarray]:
            rows = inputs.iloc[lo:hi]
            part = footprints(platform, rows, draws)
            out = {column: getattr(part, field) for field, column in named.items()}
            duration = rows["duration_s"].to_numpy(float)
            out.update(submit=rows["submit_s"].to_numpy(float), duration=duration,
                       batch=(rows["kind"] == "batch").to_numpy(),
                       copy_gib=image_needs(platform, rows["image"].fillna("").astype(str), catalogue)[1],
                       too_big=nowhere(part.book_cpu, part.book_mem_gib))
            for name, column in (("membw", "membw_intensity"), ("io", "io_intensity")):
                if column in rows:
                    out[name] = rows[column].to_numpy(float)
            if scaled:
                out["work_s"] = duration * virtualisation(platform, rows).work_factor
            return out

        views = self.chunks.inputs(typecodes, fill)
        array_of = self.chunks.array
        self.fp = replace(whole, **{field: array_of(column) for field, column in named.items()})
        self.submit, self.duration, self.membw, self.io = (views[name]
                                                           for name in ("submit", "duration", "membw", "io"))
        self.work_s = views["work_s"] if scaled else self.duration
        self.batch, self.copy_gib, self.too_big = views["batch"], views["copy_gib"], views["too_big"]
        self.start_s, self.book_cpu, self.book_mem, self.cpu_cap, self.mem_cap, self.weight = (
            views[named[field]] for field in ("start_s", "book_cpu", "book_mem_gib", "cpu_cap", "mem_cap", "weight"))

    _FINAL = (COMPLETED, REJECTED, KILLED, FAILED, EVICTED)
    _IS_FINAL = tuple(map(_FINAL.__contains__, range(len(FINAL_OUTCOME))))  # whether final, by state code

    def _open_chunks(self, until_s: float) -> None:
        """Open the chunks of every row submitted up to ``until_s`` (rows sorted by submit time)."""
        submit = self.inputs["submit_s"].to_numpy(float)
        self.chunks.open_through(int(np.searchsorted(submit, until_s, side="right")))

    def _flush_chunks(self, now: float, last: bool = False) -> None:
        """Write and let go of every open chunk whose rows have all arrived (before ``now``)
        and are final; ``last``: every open chunk (the horizon).

        A final state is never left (a failure's victim passes through FAILED and out of it
        within one handler: :meth:`_fail`), so a row found final stays final, and each
        chunk's rows are tested from the first not yet found final (``final_to``): every
        row once over the run, plus one test a live chunk and sample. (Testing every row of
        every live chunk at every sample cost a numpy call or two a chunk, ~15 µs, at each
        of the 288 samples a day, over the ~800-1,500 chunks a 1,000-host run keeps open.)"""
        chunks = self.chunks
        submit = self.inputs["submit_s"].to_numpy(float)  # a view of the workload's column
        state, final, final_to = self.state, self._IS_FINAL, self.final_to
        done = []
        for k in chunks.live:
            lo, hi = chunks.bounds(k)
            if not last:
                if not submit[hi - 1] < now:  # a row has not arrived yet
                    continue
                row = final_to[k]
                while row < hi and final[state[row]]:
                    row += 1
                final_to[k] = row
                if row < hi:
                    continue
            done.append(k)
        # written FLUSH_CHUNKS chunks a table (each chunk its row group): the table's
        # fixed cost (~40 columns through pandas and Arrow, ~5 ms) paid once for them
        for first in range(0, len(done), FLUSH_CHUNKS):
            ks = done[first:first + FLUSH_CHUNKS]
            bounds = [chunks.bounds(k) for k in ks]
            rows = np.concatenate([np.arange(lo, hi) for lo, hi in bounds])
            table = self._finish_columns(self._instances_table(rows), rows)
            self.stream_writer.write_chunks(ks, [hi - lo for lo, hi in bounds], table)
            for k in ks:
                chunks.free(k)

    # --- the run -------------------------------------------------------------------

    def run(self) -> PlatformRun:
        """The run on the general mode of the lane's handlers (handlers.GeneralLane)."""
        from simdc.engine.handlers import GeneralLane  # that module builds on this one

        self._general_state()
        if self.meter_at_s:
            from simdc.engine.meter import Meter  # only runs that read energy at moments

            self.meter = Meter(self, self.meter_at_s)
        if self.chunks is not None:
            from simdc.engine.chunks import RowGroups
            from simdc.streamed import InstanceFigures

            # the summary's figures gathered from the rows as they are written, not read back
            self.stream_writer = RowGroups(self.stream_path, observer=InstanceFigures(
                len(self.submit), self.duration_s, self.inputs))
            if self.mapped is not None:  # the figures read the requests' rows again as they are written
                self.stream_writer.done = self.mapped.release
            self._open_chunks(2 * self.sample_every_s)  # the first arrivals come before the first sample
        self.lane = GeneralLane(self)
        self.lane.run()
        self.lane = None
        return self._tables()

    def _collect_running(self) -> None:
        """At the horizon: the integrals of the instances still running, and the stays on
        a host still under way (starting, running or backing off), ended there."""
        if self.services is not None:  # their rows' last spans, before the integrals move to the instances
            self.services.close(self.duration_s)
        for host in self.hosts:
            host.advance(self.duration_s)
            host.settle(self.duration_s)
            for s in range(host.n):
                self._collect(host.inst[s], host, s)
        resident_s, stay_s = self.resident_s, self.stay_s
        for i, state in enumerate(self.state):
            if state == STARTING or state == RUNNING or state == BACKOFF:
                resident_s[i] += self.duration_s - stay_s[i]

    def _tables(self) -> PlatformRun:
        warnings = tuple(self.not_made) + (() if self.mover is None else self.mover.warnings(self.name))
        if self.chunks is not None:  # streamed: the rest of the rows, then the file in row order
            self._flush_chunks(self.duration_s, last=True)
            if self.usage_window is not None:
                self.usage_window.close()
            self.stream_writer.close()
            self.timeseries.flush(last=True)
            return PlatformRun(None, self._hosts_table(), None,
                               meter_j=None if self.meter is None else self.meter.readings_j,
                               figures=self.stream_writer.observer, warnings=warnings)
        instances = self._instances_table()
        if self.mover is not None:
            for name, values in self.mover.columns().items():
                instances[name] = values
        return PlatformRun(instances, self._hosts_table(), self._timeseries_table(),
                           meter_j=None if self.meter is None else self.meter.readings_j, warnings=warnings,
                           off_host=self.off_host.table(instances["end_s"].to_numpy(float), self.duration_s))

    def _after(self, delay: float, callback, value, priority: int = NORMAL) -> None:
        """Call ``callback(t, value)`` in ``delay`` seconds (at ``t``), from the run's
        timer heap (:func:`run_events`).

        Endings are scheduled ``URGENT``: at one instant, every departure happens before
        any arrival or start, so a request sees the capacity freed at its own moment
        (and the density metrics count an end and a start at one moment as no overlap).
        """
        env = self.env
        heapq.heappush(self.heap, (env._now + delay, priority, next(env._eid), callback, value))

    def _at(self, t: float, eid: int, callback, value, priority: int = NORMAL) -> None:
        """Call ``callback(t, value)`` at ``t``, with the key ``(t, priority, eid)`` of a
        timer planned earlier (``eid`` taken from ``env._eid`` then) that waited beside the
        heap: it runs where it would have run had it been pushed then."""
        heapq.heappush(self.heap, (t, priority, eid, callback, value))

    # --- arrival, admission, queue -------------------------------------------------

    def fits_nowhere(self, book_cpu, book_mem_gib) -> np.ndarray:
        """Whether bookings of ``book_cpu`` cores and ``book_mem_gib`` GiB fit no host of
        the fleet, however empty (:func:`simdc.engine.rules.fits_nowhere`, the one rule):
        arrays give a mask, scalars a 0-d array."""
        return fits_nowhere(book_cpu, book_mem_gib, *self.cap_shapes)

    def _submit(self, i: int, now: float, j: int | None = None) -> None:
        """``i`` asks for a host at ``now``: the lane's one submission (Lane.submit);
        ``j``: the host picked for it already (a consolidation's plan)."""
        self.lane.submit(i, now, self.env._now, j)

    def _placement(self, arrays: bool) -> None:
        """Placement for both lanes: ``placer`` (:class:`~simdc.engine.placer.Placer`) for
        every policy but random on several hosts, and ``booked_arrays``, the bookings as
        arrays (:class:`BookedArrays`), where something reads them: the scoring policies,
        random (a fit test of every host at once), and ``arrays`` (the general engine,
        whose fragmentation figure reads them). Whatever keeps a copy or a cache of the
        bookings is told of every change through ``booked.placement``."""
        booked, hosts, fp = self.booked, self.hosts, self.fp
        several = len(hosts) > 1
        self.booked_arrays = self.placer = None
        if arrays or (several and self.placement_policy != "first_fit"):
            self.booked_arrays = booked.placement = BookedArrays(booked)
        if self.placement_policy != "random" or not several:
            source = booked if self.booked_arrays is None else self.booked_arrays
            self.placer = Placer(self.placement_policy, self.policy_args["weights"], hosts, source.cpu, source.mem,
                                 self.book_cpu, self.book_mem, self.max_starts,
                                 (self.bookings_few if self.windowed else few_sizes(fp.book_cpu, fp.book_mem_gib))
                                 and self.recommender is None,
                                 any_size=self.recommender is not None, smallest=self.smallest_booking)
            if self.booked_arrays is not None:
                self.booked_arrays.placer = self.placer
            elif self.placer.tracks or self.max_starts is not None:
                booked.placement = self.placer
            booked.start_limit = self.max_starts

    def _place(self, i: int) -> HostState | None:
        """The host the placement policy picks among those that can take ``i`` now."""
        j = self._pick(i)
        return None if j < 0 else self.hosts[j]

    def _pick(self, i: int) -> int:
        """The index of the host the placement policy picks for ``i`` now, or -1."""
        if self.placer is not None:
            return self.placer.place(i)
        # random: the fit test for every host at once, over the fleet-wide copy of the bookings
        cpu, mem = self.book_cpu[i], self.book_mem[i]
        booked = self.booked_arrays
        room = fits(booked.cpu, booked.mem, cpu, mem, self.cpu_caps, self.mem_caps) & ~booked.down
        if self.max_starts is not None:
            room &= np.array(self.booked.starting) < self.max_starts
        if not room.any():
            return -1
        index = self.choose(Fleet(self.cpu_capacities, self.mem_capacities, booked.cpu, booked.mem, room, cpu, mem),
                            **self.policy_args)
        return -1 if index is None else index

    def _drain_queue(self, now: float) -> None:
        """Admit waiting requests in FIFO order until the head does not fit (Lane.drain)."""
        self.lane.drain(now, self.env._now)

    def _reject(self, i: int, now: float) -> None:
        self.lane.reject(i, now)

    def _write(self, host: HostState, gib: float, then: tuple) -> int | None:
        """Write ``gib`` (GiB) to ``host``'s disk, then call ``then = (handler, value)`` as
        ``handler(now, value)``. The one rule for disk time: the writes under way on one
        physical host (its node VMs share it) share its ``disk_write_mib_s`` max-min fairly
        (processor sharing, :class:`Network`), so n equal writes begun together all end
        after n × size / speed; a write alone takes size / speed. The write's id (for
        ``self.disks.cancel``), None for one of no size (done at once)."""
        return self.disks.transfer((("disk", self.physical[host.index]), "unlimited"), gib, then)

    def start_time(self, i: int) -> float:
        """Seconds the platform takes to boot (a VM) or start (a container) instance ``i``
        this time, the one rule for every start: admitted, placed again (a failure's
        victim, a move's restart, a requeued instance) or restarted in place (an OOM kill's
        back-off over). Its first start takes the latency drawn for it before the run
        (``start_s``: footprints(), one stream per platform, so runs without restarts keep
        their draws); each later start is a new boot or container creation and draws
        afresh from the same distribution (``start_latency``), from a stream of its own
        keyed by the run's seed, the platform, the row and the attempt (simdc.random.keyed):
        the same whatever the order of events, and however the run is split (spilled,
        in cells, on workers), as the first starts' draws are. Kubernetes restarts a
        container by creating and starting a new one (pkg/kubelet/kuberuntime/
        kuberuntime_manager.go, ``computePodActions``: ``ContainersToStart``; then
        kuberuntime_container.go, ``startContainer``); a VM that failed boots again.
        """
        attempt = self.restarts[i] + self.replacements[i]  # the starts before this one (launch() follows each)
        if not attempt:
            return self.start_s[i]
        return float(self.start_latency.sample(keyed(self.seed, f"restart:{self.name}", i, attempt), 1)[0])

    def _copy(self, i: int, host: HostState) -> None:
        """``i``'s layers are on ``host``: copy the VM's own disk there (:meth:`_write`),
        then start it, as a pull goes on once its layers are there (:class:`_Pull`)."""
        pull = self.pulling[i] = _Pull(i, host, self.caches[host.index])
        pull.epoch = self.epoch[i]
        pull.layer = len(self.needs[i])
        pull.began_s = self.env.now
        pull.write = self._write(host, self.copy_gib[i], (self._pull_disk_copied, pull))

    def _pull(self, i: int, host: HostState, cache: LayerCache) -> None:
        """Start ``i``'s image pull on ``host``: pull the missing layers one after another
        (a round trip, then the bytes at a fair share of the links: :class:`Network`),
        unpack each to disk and copy the VM's disk (each at a fair share of the host's
        disk: :meth:`_write`), then start (:class:`_Pull`).

        A layer another instance on this host is already fetching is waited for, not
        fetched twice. Each step is a timer on the run's heap, taken where the SimPy
        process that did this before took its event (the first step URGENT at this
        instant, as a process's start), so the order is the one it gave. Three of its
        events are gone: the process's own end and the wake-up of a layer nobody waited
        for did nothing; the wake-up at a transfer's end is the call the flow model
        makes when it finds the flow done (:meth:`_pull_fetched`), whose one act, the
        unpack's timer, lands after that instant (the order differs only were that
        timer to tie to the bit with an event taken between the two: none in the
        comparisons of the commit that made it so).
        """
        pull = self.pulling[i] = _Pull(i, host, cache)
        self._after(0.0, self._pull_begin, pull, URGENT)

    def _pull_begin(self, now: float, pull: _Pull) -> None:
        """The pull asks its node's kubelet: with the node's slots all taken
        (``pull_slots``), it waits its turn, first come first served; its wait counts as
        pulling. Kubernetes: serializeImagePulls (default true) sends "only one image pull
        request to the image service at a time. Other image pull requests have to wait
        until the one being processed is complete" (kubernetes.io, Concepts > Containers >
        Images, "Serial and parallel image pulls"; pkg/kubelet/images/puller.go,
        serialImagePuller.processImagePullRequests, one worker over a FIFO channel;
        parallelImagePuller with maxParallelImagePulls, a semaphore). A pull is the whole
        CRI PullImage: every missing layer downloaded and unpacked. The slot is freed when
        the image is there (:meth:`_pull_slot_free`)."""
        if pull.gone:  # its instance left the host at this instant
            return
        pull.epoch = self.epoch[pull.i]
        self.cold[pull.i] = True
        if self.pull_slots is not None:
            h = pull.host.index
            if self.pulls_under_way[h] >= self.pull_slots:
                pull.began_s, pull.queued = now, True
                self.pull_queue[h].append(pull)
                return
            self.pulls_under_way[h] += 1
            pull.slot = True
        self._pull_next(now, pull)

    def _pull_slot_free(self, pull: _Pull) -> None:
        """``pull`` gives its node's pull slot back (its image is there, or its instance
        left): the first pull waiting on the node takes it, going on at this instant
        (:meth:`_pull_dequeued`)."""
        pull.slot = False
        h = pull.host.index
        queue = self.pull_queue[h]
        if queue:
            turn = queue.popleft()
            turn.queued, turn.slot = False, True
            self._after(0.0, self._pull_dequeued, turn)
        else:
            self.pulls_under_way[h] -= 1

    def _pull_dequeued(self, now: float, pull: _Pull) -> None:
        """``pull``'s turn in its node's queue has come: its wait counts as pulling."""
        if pull.gone:  # left at this instant: _pull_off passed the slot on
            return
        pull.pull_s += now - pull.began_s
        self._pull_next(now, pull)

    def _pull_next(self, now: float, pull: _Pull) -> None:
        """The layers from ``pull.layer`` on: those on the host are used, one another
        instance fetches is waited for (:meth:`_pull_waited`), one missing is fetched
        (:meth:`_pull_transfer` after a round trip); with none left, the VM's disk is
        copied and the instance started (:meth:`_pull_copied`)."""
        i, cache = pull.i, pull.cache
        needs = self.needs[i]
        while pull.layer < len(needs):
            digest, gib = needs[pull.layer]
            if cache.has(digest):
                cache.hits += 1
                cache.touch(digest)
                pull.layer += 1
                continue
            pull.began_s = now
            inflight = self.inflight[pull.host.index]
            fetch = inflight.get(digest)
            if fetch is not None:
                fetch.waiting.append(pull)
            else:
                fetch = inflight[digest] = _Fetch(pull, digest, gib)
                self._after(self.rtt_s, self._pull_transfer, fetch)
            pull.fetch = fetch
            return
        if pull.slot:
            self._pull_slot_free(pull)
        gib = self.copy_gib[i]
        if gib:
            pull.began_s = now
            pull.write = self._write(pull.host, gib, (self._pull_disk_copied, pull))
        else:
            self._pull_copied(now, pull)

    def _pull_transfer(self, now: float, fetch: _Fetch) -> None:
        """The round trip is over: the layer's bytes cross the host's link and the registry's
        (unless no pull wants the layer any more)."""
        if fetch.gone:
            return
        links = (("link", self.physical[fetch.host.index]), "registry")
        fetch.flow = self.network.transfer(links, fetch.gib, (self._pull_fetched, fetch))

    def _pull_fetched(self, now: float, fetch: _Fetch) -> None:
        """The layer's bytes are on the host (the flow model's call at its end): unpack them to disk."""
        fetch.flow = None
        host, owner = fetch.host, fetch.owner
        self.pulled_gib[host.index] += fetch.gib
        if owner is not None:
            owner.pull_s += now - owner.began_s
            owner.began_s = now
        fetch.write = self._write(host, fetch.gib, (self._pull_unpacked, fetch))

    def _pull_unpacked(self, now: float, fetch: _Fetch) -> None:
        """The layer is in the host's cache: the pulls waiting for it go on (one timer at
        this instant for all of them), and so does the one that fetched it."""
        fetch.write = None
        host, owner, waiting = fetch.host, fetch.owner, fetch.waiting
        if owner is not None:
            owner.unpack_s += now - owner.began_s
        self.caches[host.index].add(fetch.digest, fetch.gib)
        del self.inflight[host.index][fetch.digest]
        if waiting:
            for pull in waiting:
                pull.fetch = None
            self._after(0.0, self._pull_waited, waiting)
        if owner is not None:
            owner.fetch = None
            owner.layer += 1
            self._pull_next(now, owner)

    def _pull_waited(self, now: float, waiting: list[_Pull]) -> None:
        """A layer these pulls waited for is in the cache: each still on the host goes on,
        in the order it began waiting."""
        for pull in waiting:
            if pull.gone:
                continue
            pull.pull_s += now - pull.began_s
            pull.layer += 1
            self._pull_next(now, pull)

    def _pull_disk_copied(self, now: float, pull: _Pull) -> None:
        """The VM's disk is copied (the disks' call at the write's end): its time counts
        as unpacking; then the start (:meth:`_pull_copied`)."""
        pull.write = None
        pull.unpack_s += now - pull.began_s
        self._pull_copied(now, pull)

    def _pull_off(self, i: int, now: float) -> None:
        """Starting ``i`` leaves its host (failed with it, drained, removed, out of time):
        the one rule for what its pull under way does then. It stops serving ``i``; a
        layer's fetch that no pull on the host wants any more stops at this instant, and
        so does ``i``'s VM disk copy: the download's share of the registry and the link,
        and the write's of the disk, go to the others at once (:meth:`Network.cancel`);
        the bytes received count as pulled (``pulled_gib``: what was downloaded), the
        partial layer is lost (not in the cache: a later pull fetches it from scratch;
        containerd could resume a partial ingest on a host still up, content.Copy in
        content/helpers.go, which is not modelled). A fetch other pulls on the host wait
        for goes on for them.

        Kubernetes: deleting or evicting a pod cancels its sync's context
        (pkg/kubelet/pod_workers.go, podWorkers.UpdatePod: "Cancelling current pod sync",
        status.cancelFn()), the context kubelet pulls with: kuberuntime_container.go
        startContainer → imagePuller.EnsureImageExists(ctx, ...) → images/puller.go,
        imageService.PullImage(ctx, ...), the CRI call that the runtime aborts with it. A
        machine down (failure, a kernel reboot that takes the runtime down, maintenance)
        stops all that was under way on it: its starting instances fail first
        (:meth:`_fail_all`), each coming here."""
        pull = self.pulling.pop(i, None)
        if pull is None:  # started from the cache, or its layers and disk are there (starting)
            return
        pull.gone = True
        if pull.queued:
            pull.queued = False
            self.pull_queue[pull.host.index].remove(pull)
        elif pull.slot:
            self._pull_slot_free(pull)
        fetch = pull.fetch
        if fetch is not None:
            if fetch.owner is pull:
                fetch.owner = None
            else:
                fetch.waiting.remove(pull)
            if fetch.owner is None and not fetch.waiting:
                fetch.gone = True
                h = fetch.host.index
                del self.inflight[h][fetch.digest]
                if fetch.flow is not None:  # downloading: what was received so far was pulled
                    self.pulled_gib[h] += fetch.gib - self.network.cancel(fetch.flow)
                elif fetch.write is not None:  # unpacking (downloaded whole, counted then)
                    self.disks.cancel(fetch.write)
        elif pull.write is not None:
            self.disks.cancel(pull.write)

    def _pull_copied(self, now: float, pull: _Pull) -> None:
        """The layers are there and the VM's disk copied: the platform's start, after the
        instance's turn to be created on the host (Lane.creation_wait)."""
        del self.pulling[pull.i]
        start_s = pull.boot_s = self.start_time(pull.i)
        if self.create_gap_s is not None:
            start_s += self.lane.creation_wait(pull.i, pull.host.index, now)
        if start_s > 0:
            self._after(start_s, self._pull_started, pull)
        else:
            self._pull_started(now, pull)

    def _pull_started(self, now: float, pull: _Pull) -> None:
        """The start is over: the instance runs, unless its host failed meanwhile (a new epoch)."""
        i = pull.i
        if self.epoch[i] != pull.epoch:
            return  # the host failed while this start was under way
        if self.pull_s[i] != self.pull_s[i]:  # NaN: the first start, whose phases the table splits
            self.pull_s[i], self.unpack_s[i], self.first_boot_s[i] = pull.pull_s, pull.unpack_s, pull.boot_s
        self.lane.on_ready(now, (i, pull.epoch))  # running, if still starting (Lane.on_ready)

    def _run_on(self, i: int, host: HostState, now: float) -> None:
        """``i`` runs on ``host`` from ``now``: into its running set, with its usage now."""
        work, attempt = self.work_s[i], now
        if self.mover is not None and i in self.mover.carry:  # moved here: its work left, its attempt's clock
            work, attempt = self.mover.resume(i, now, work, attempt)
        self.attempt_s[i] = attempt
        cpu, mem = self.usage.at_one(i, now - attempt, now)
        demand, clip, mem = capped_usage(cpu, mem, host.cores, self.cpu_cap[i], self.mem_cap[i])
        host.add(now, i, demand, self.weight[i], mem,
                 self.batch[i], work, self.slot_of, self.membw[i], self.io[i], clip)
        self._settle_host(host, now)
        if self.own_kernel and self.faults.kernel_mtbf_s and attempt == now:  # its own kernel may fail
            delay = float(self.kernel_rng.exponential(self.faults.kernel_mtbf_s))
            # One that falls at or after the horizon, or at or after the end of the VM's
            # lifetime (fixed at its first start, Lane.ready, unless it is batch work; the
            # end comes first at one instant), never fires: not kept on the heap. The
            # draw is made all the same, so the stream and every result are unchanged.
            t = now + delay
            if t < self.duration_s and (self.batch[i] or t < self.first_ready_s[i] + self.duration[i]):
                self._after(delay, self._on_vm_kernel_failure, (i, now))
        if self.services is not None and i >= self.services.first:
            self.services.running(i, now)

    def cpu_given(self, i: int) -> float:
        """Cores the host gives instance ``i`` now (0 unless running): its demand within its
        ceiling less what contention leaves it short (its slot's ``alloc``; a fast host
        gives every slot its demand). In the host's cores: a VM's include the hypervisor's
        share (``cpu_factor``)."""
        if self.state[i] != RUNNING:
            return 0.0
        host = self.hosts[self.host_of[i]]
        s = self.slot_of[i]
        return host.demand[s] - host.gap[s] if host.contended else host.demand[s]

    def cpu_used_core_s(self, i: int, now: float) -> float:
        """Core-seconds instance ``i`` has been given from its first start up to ``now``
        (``now`` at or after its slot was last settled; nothing is settled): the instances
        table's ``cpu_demand_core_s - cpu_unmet_core_s`` so far, in the host's cores. Demand
        above a ceiling (``clip``) is in both terms and cancels."""
        used = self.demand_s[i] - self.unmet_s[i]  # the attempts accounted (stopped)
        if self.state[i] != RUNNING:
            return used
        host = self.hosts[self.host_of[i]]
        s = self.slot_of[i]
        return used + host.demand_acc[s] - host.unmet_acc[s] + self.cpu_given(i) * (now - host.since[s])

    def _stop(self, i: int, host: HostState, now: float) -> None:
        """Take ``i`` out of its host's running set and keep its integrals."""
        slot_of = self.slot_of
        self._account(i, now, *host.remove(now, slot_of[i], slot_of))  # (demand, unmet, swap, extra, degraded)
        if self.services is not None and i >= self.services.first:
            self.services.stopped(i)

    def _remove(self, i: int, now: float) -> None:
        """A controller deletes replica ``i``: it ends now, completed, wherever it was (a
        replica still waiting for its first host: rejected; one placed before and waiting
        to be placed again ends as when it gives up, :meth:`Lane.requeued_as`: failed if a
        failure requeued it last, evicted if a drain's or consolidation's restart did).
        Timers of its start or restart no longer apply (a new epoch)."""
        state = self.state[i]
        if state == WAITING or state == QUEUED:
            self._reject(i, now)
            if self.admit_s[i] == self.admit_s[i]:  # placed before: why it waited says how it ends
                self.state[i] = self.lane.requeued_as(i)
            return
        if state not in (STARTING, RUNNING, BACKOFF):
            return
        host = self.hosts[self.host_of[i]]
        self.epoch[i] += 1
        self.lane.take_off(i, host.index, now)
        self._leave(i, host, now, COMPLETED)

    def _collect(self, i: int, host: HostState, s: int) -> None:
        """At the horizon: the integrals of an instance still running."""
        self._account(i, self.duration_s, host.demand_acc[s], host.unmet_acc[s], host.swap_acc[s],
                      host.extra_acc[s], host.degraded_acc[s])

    def _account(self, i, now, demand, unmet, swap, extra, degraded) -> None:
        self.demand_s[i] += demand
        self.unmet_s[i] += unmet
        self.swap_s[i] += swap
        self.extra_s[i] += extra
        self.degraded_s[i] += degraded
        self.run_s[i] += now - self.attempt_s[i]
        self.last_work = demand - unmet  # core-seconds this attempt delivered

    def _leave(self, i: int, host: HostState, now: float, state: int, drain: bool = True) -> None:
        """``i`` leaves ``host`` for good in ``state`` (Lane.leave)."""
        self.lane.leave(i, host.index, now, self.env._now, state, drain)

    def _on_released(self, now: float, i: int) -> None:
        """The last parent of ``i`` completed: submit it."""
        self._submit(i, now)

    # --- a host's running set changed --------------------------------------------

    def _settle_host(self, host: HostState, now: float) -> None:
        """After a change: kill what memory pressure demands, share CPU, plan finishes."""
        freed = False
        if not host.vm and host.inst and (host.over_memory() or (
                self.has_limits and (host.mem_array() > self.fp.mem_limit[host.inst_array()]).any())):
            freed = self.lane.oom(host.index, now, self.env._now)  # Lane.oom
        host.rebalance(now)
        self._schedule_finish(host, now)
        if freed and self.queue:
            self._drain_queue(now)

    def _schedule_finish(self, host: HostState, now: float) -> None:
        """One pending 'next batch finish' per host; a newer plan voids the older. A plan
        for after the next usage step (``replan_s``) is pending but has no timer: that step
        plans the host again, or, if the host has emptied by then, its last removal did
        (every change of a running set ends here), so the timer would never fire. A plan
        at the time of the timer already on the heap keeps that timer."""
        if not host.batch_n and not host.finish_pending:
            return  # no batch work, and no plan to void
        when = host.next_finish(now)
        if host.finish_pending and when is not None and when == host.finish_at:
            return  # the pending timer stands (a change that moved no batch slot's finish)
        host.finish_token += 1
        host.finish_pending = when is not None
        # finish_at: the time of the timer on the heap, None when the plan has none
        host.finish_at = when if when is not None and when <= self.replan_s else None
        if host.finish_at is not None:
            self._after(max(when - now, 0.0), self._on_finish, (host.index, host.finish_token), URGENT)

    def _on_finish(self, now: float, value) -> None:
        index, token = value
        host = self.hosts[index]
        if token != host.finish_token:
            return
        host.finish_pending = False
        done = [host.inst[s] for s in host.finished_slots(now)]  # each settled as it leaves
        if not done:  # none done after all (rounding): settle, so the plan is made again from now
            host.settle(now)
        for i in done:
            self._stop(int(i), host, now)
        host.rebalance(now)
        self._schedule_finish(host, now)
        for i in done:
            self._leave(int(i), host, now, COMPLETED)

    # --- failures ------------------------------------------------------------------

    def _plan_failures(self) -> None:
        """Schedule host failures (per physical host) and the kernel failures of hosts
        whose instances share the host's kernel (containers).

        Host failure times come from a stream per physical host, independent of the
        platform: every platform meets the same failures.
        """
        faults = self.faults
        self.repairs: dict[int, float] = {}  # physical host: when its latest failure struck
        self.kernel_rng = stream(self.seed, f"faults:kernel:{self.name}")
        machines = self.machines_on = {}  # physical host: its machines, in fleet order (O(hosts), once)
        for host in self.hosts:
            machines.setdefault(self.physical[host.index], []).append(host)
        for j in sorted(machines):
            if faults.host_mtbf_s:
                rng = stream(self.seed, f"faults:host:{j}")
                delay = float(rng.exponential(faults.host_mtbf_s))
                self._after(delay, self._on_host_failure, (j, rng, None))
                if self.mover is not None:
                    self.mover.predicted(j, delay)
            if faults.kernel_mtbf_s and not self.own_kernel:
                for host in machines[j]:
                    rng = stream(self.seed, f"faults:kernel-host:{host.index}")
                    self._after(float(rng.exponential(faults.kernel_mtbf_s)), self._on_kernel_failure,
                                (host.index, rng, None))
        for k, (j, t) in enumerate(faults.host_failures):  # listed: k, its place in the list (for a warning)
            self._after(t, self._on_host_failure, (j, None, k))
            if self.mover is not None:
                self.mover.predicted(j, t)
        for k, (j, t) in enumerate(faults.kernel_failures):
            machine = self.physical.index(j)  # a container host's (first node's) kernel
            self._after(t, self._on_kernel_failure, (machine, None, k))

    def _on_host_failure(self, now: float, value) -> None:
        """A physical host fails: everything on it dies, every machine on it (the host, or
        its node VMs) stays down until the repair ends, whatever else was under way (a
        kernel reboot ending during the repair does not bring a machine back). A host down
        already (under repair, or for maintenance) cannot fail: a listed failure then is
        not made, and a warning says so."""
        j, rng, listed = value
        machines = self.machines_on[j]
        repair = self.faults.host_repair_s
        if not machines[0].repairing and not machines[0].maintenance:
            machines[0].failures += 1
            for host in machines:  # down first, so no victim is resubmitted onto it
                host.set_down(now, repairing=True)
            for host in machines:
                self._fail_all(host, now)
            self.repairs[j] = now
            # URGENT, as endings: a failure or request at the repair's end meets the host up
            self._after(repair, self._on_repair, j, URGENT)
        elif listed is not None:  # a listed failure of a host down already: no failure; said at the end
            why = (f"under repair then (failed at {moment(self.repairs[j])} s, repaired at "
                   f"{moment(self.repairs[j] + repair)} s)" if machines[0].repairing else
                   "down for maintenance then")
            self.not_made.append(f"{self.name}: faults.host_failures[{listed}]: host {j} at {moment(now)} s: it was "
                                 f"{why}; a host down cannot fail: not made")
        if rng is not None:  # the next failure comes after the repair: up m, down r on average
            delay = repair + float(rng.exponential(self.faults.host_mtbf_s))
            self._after(delay, self._on_host_failure, (j, rng, None))
            if self.mover is not None:
                self.mover.predicted(j, delay)

    def _on_kernel_failure(self, now: float, value) -> None:
        """A kernel fails: on a container host, every container; where each instance has a
        kernel of its own (VMs, sandboxed pods), one running instance. A machine already
        down (rebooting, or its host under repair) has no kernel running, nor, where each
        instance has its own, one with no instance running: a listed failure then is not
        made, counted nowhere, and a warning says so."""
        index, rng, listed = value
        host = self.hosts[index]
        if host.out:
            why = "its host under repair" if host.repairing else "rebooting" if host.rebooting else "in maintenance"
            why = f"the machine was down then ({why})"
        elif self.own_kernel and not host.inst:
            why = "no instance was running on it then (each runs its own kernel)"
        else:  # a cordoned machine's kernel still runs
            why = None
        if why is not None:
            if listed is not None:  # a listed kernel failure with no kernel to strike; said at the end
                self.not_made.append(f"{self.name}: faults.kernel_failures[{listed}]: host {self.physical[index]} "
                                     f"at {moment(now)} s: {why}, with no kernel running: not made")
        else:
            host.failures += 1
            if self.own_kernel:
                running = list(host.inst)
                self._fail(running[int(self.kernel_rng.integers(len(running)))], now)
            else:
                host.set_down(now, rebooting=True)  # down first, so no victim comes back to it
                self._fail_all(host, now)
                self._after(self.faults.kernel_repair_s, self._on_machine_up, index, URGENT)  # as _on_repair
        if rng is not None:
            self._after(float(rng.exponential(self.faults.kernel_mtbf_s)), self._on_kernel_failure,
                        (index, rng, None))

    def _on_vm_kernel_failure(self, now: float, value) -> None:
        i, attempt = value
        if self.state[i] == RUNNING and self.attempt_s[i] == attempt:  # still that VM's kernel
            self.hosts[self.host_of[i]].failures += 1
            self._fail(i, now)

    def _on_repair(self, now: float, value) -> None:
        for host in self.machines_on[value]:
            host.set_down(now, repairing=False)
        if self.queue:
            self._drain_queue(now)

    def _on_machine_up(self, now: float, value) -> None:
        """A kernel reboot ends: the machine is up unless its host is under repair."""
        host = self.hosts[value]
        host.set_down(now, rebooting=False)
        if self.queue and not host.down:
            self._drain_queue(now)

    def _fail_all(self, host: HostState, now: float) -> None:
        """Every instance resident on ``host`` (starting, running or in back-off) fails, in
        row order. The rows ever placed there are found by one vectorised comparison over
        ``host_of`` (a view of its memory, no copy): a Python test per row cost ~30 ns a row
        per failure, and rows and failures both grow with the fleet. Moves that had booked
        it as their target are called off first (their bookings go now, not at their switch)."""
        if self.mover is not None:
            self.mover.target_lost(host, now)
        if not host.resident:
            return
        lo, hi = (0, len(self.state)) if self.chunks is None else self.chunks.live_rows()  # others final
        placed = np.frombuffer(self.host_of, dtype=np.int64)[lo:hi]
        state = self.state
        victims = [i for i in (np.flatnonzero(placed == host.index) + lo).tolist()
                   if state[i] in (STARTING, RUNNING, BACKOFF)]
        for i in victims:
            self._fail(i, now)

    def _fail(self, i: int, now: float) -> None:
        """Instance ``i`` dies with its host or kernel: resubmitted, or lost."""
        host = self.hosts[self.host_of[i]]
        self.lane.take_off(i, host.index, now, lost=True)
        self.failure_kills[i] += 1
        if self.mover is not None:  # requeued by this failure now, not by an earlier move
            self.mover.evicted.discard(i)
        self.epoch[i] += 1
        self._leave(i, host, now, FAILED, drain=False)
        if self.faults.on_failure == "resubmit":
            self.off_host.left(i, now)
            self.end_s[i] = float("nan")
            self.state[i] = WAITING
            self._submit(i, now)
            if self.state[i] == REJECTED:  # no host will have it: lost after all
                self.state[i] = self.lane.requeued_as(i)

    # --- usage steps and samples ---------------------------------------------------

    def _usage_step(self, now: float) -> None:
        """New usage for every running instance of the fleet: one vectorised evaluation,
        then every slot settled and given it, and every host's shares recomputed, over
        the fleet's slots at once (no event per instance per step). A container host the
        OOM killer must act on goes through :meth:`_settle_host` instead, as at any
        change, in host order."""
        self.stepped_s = now
        busy = [host for host in self.hosts if host.inst]
        if busy:
            fp = self.fp
            counts = [len(host.inst) for host in busy]
            inst = np.fromiter(itertools.chain.from_iterable(host.inst for host in busy), np.int64, sum(counts))
            cpu, mem = self.usage.at(inst, now - self.attempt_s[inst], now)
            cores = np.repeat([host.cores for host in busy], counts)
            cpu, clip, mem = capped_usage(cpu, mem, cores, fp.cpu_cap[inst], fp.mem_cap[inst])
            step = FleetStep(busy, counts, now, inst, self.slot_constants)
            step.set_usage(cpu, clip, mem)
            pressed = None if self.vm else self._pressed(busy, step, mem)
            step.rebalance(pressed)
        step_s = self.usage.step_s  # the next step (Lane.on_usage_step schedules it)
        self.replan_s = now + step_s if now + step_s < self.duration_s else float("inf")
        if busy:
            if pressed is None or not any(pressed):
                for host in busy:
                    if host.batch_n or host.finish_pending:
                        self._schedule_finish(host, now)
                return
            for host, p in zip(busy, pressed):
                if p:  # the OOM killer acts first, as at any change
                    self._settle_host(host, now)
                elif host.batch_n or host.finish_pending:
                    self._schedule_finish(host, now)

    def stepping(self, now: float) -> bool:
        """Whether a usage step is at ``now`` (done or still to come): it reads everyone's usage."""
        return now == self.stepped_s or now == self.replan_s

    def _reread(self, inst: list[int], now: float) -> None:
        """New CPU usage now for the running instances ``inst`` alone, between usage steps
        (a service's replicas, whose shares move when its demand or ready replicas do:
        :class:`simdc.engine.services.ReplicaUsage`); each host holding some shares again."""
        if not inst:
            return
        rows = np.array(inst, dtype=np.int64)
        host_of = np.array([self.host_of[i] for i in inst], dtype=np.int64)
        cpu, mem = self.usage.at(rows, now - as_array([self.attempt_s[i] for i in inst]), now)
        cores = np.array([self.hosts[h].cores for h in host_of.tolist()])
        demand, clip, _ = capped_usage(cpu, mem, cores, as_array([self.cpu_cap[i] for i in inst]),
                                       as_array([self.mem_cap[i] for i in inst]))
        clip = np.broadcast_to(clip, demand.shape)
        for h in np.unique(host_of).tolist():
            mine = np.flatnonzero(host_of == h)
            host = self.hosts[h]
            host.set_slot_demand(now, [self.slot_of[i] for i in rows[mine].tolist()], demand[mine], clip[mine])
            self._settle_host(host, now)

    def _pressed(self, busy: list[HostState], step: FleetStep, mem: np.ndarray) -> list[bool]:
        """Which container hosts of ``busy`` are over their memory or run an instance above
        its own limit, what :meth:`_settle_host` tests, after ``step``'s set_usage
        (``mem``: every running instance's GiB now, shape ``(slots,)``, in ``step.inst``
        order)."""
        n = step.sizes
        pressed = over_memory(step.mem_sum, np.array([host.overhead for host in busy]), n,
                              np.array([host.allocatable for host in busy]))
        if self.has_limits:
            pressed |= np.logical_or.reduceat(mem > self.fp.mem_limit[step.inst], step.starts)
        return pressed.tolist()

    def _sample(self, now: float) -> None:
        """One timeseries row per host; in a streamed run, chunks written and let go
        (those whose rows are all final), and opened (those that arrive before the next
        sample and one more: no arrival reaches a chunk not open)."""
        if self.chunks is not None:
            self._flush_chunks(now)
            self._open_chunks(now + 2 * self.sample_every_s)
        figures = self.figures
        booked = self.booked
        # an instance being moved live is resident on its source until the switch; its
        # target holds its booking (memory allocated) meanwhile but not it (Mover._reserve)
        resident = booked.resident if self.mover is None else list(map(operator.sub, booked.resident, booked.incoming))
        self.timeseries.add(now, resident, figures.running, figures.cpu_demand,
                            figures.cpu_used, figures.mem_used,
                            list(map(operator.add, self.booked.mem, figures.base)), figures.swapped)

    # --- tables --------------------------------------------------------------------

    def _instances_table(self, rows: slice | np.ndarray = slice(None)) -> pd.DataFrame:
        """The instances' table, built once at the end. Each per-instance list is let go
        as soon as it is an array, so the peak holds little more than one copy. A streamed
        run's (:meth:`_stream_state`) rows ``rows`` only (a slice, or row numbers in
        increasing order), as its chunks are let go; nothing is let go here then."""
        whole = self.chunks is None

        def take(name: str, dtype=float) -> np.ndarray:
            values = getattr(self, name)
            if whole:
                setattr(self, name, None)
                return as_array(values, dtype)
            return np.asarray(values)[rows].astype(dtype)  # a copy: the chunk is let go after

        if whole:
            self.submit = self.duration = self.work_s = self.batch = None  # the lists; the table takes the inputs'
        inputs = self.inputs if whole else self.inputs.iloc[rows]
        submit, duration = inputs["submit_s"].to_numpy(float), inputs["duration_s"].to_numpy(float)
        batch = (inputs["kind"] == "batch").to_numpy()
        admit, ready, end, run_s = take("admit_s"), take("ready_s"), take("end_s"), take("run_s")
        first_ready = take("first_ready_s")
        state = take("state", np.int64)
        if self.deps is not None:  # submitted when the last parent completed; never, when blocked
            submit = self.deps.submit_times(state == WAITING)
        codes = _OUTCOME_CODE[state]
        codes[(state == QUEUED) & ~np.isnan(admit)] = _REQUEUED  # placed before: a failure's victim waiting
        outcome = pd.Categorical.from_codes(codes, categories=OUTCOMES)
        resident_s = take("resident_s")
        # Time spent waiting for a host: until admission, until giving up, or until the end.
        waited_until = np.where(np.isnan(admit), np.where(np.isnan(end), self.duration_s, end), admit)
        completed = state == COMPLETED
        # the first start's phases: its wait for its turn to be created, then the boot
        boot = take("first_boot_s")
        create_wait = np.where(np.isnan(boot), np.nan, 0.0 if self.create_wait_s is None else take("create_wait_s"))
        columns = {
            "id": self.ids[rows],
            "platform": self.name,
            "host": take("host_of", np.int64),
            "submit_s": submit,
            "admit_s": admit,
            "ready_s": ready,
            "first_ready_s": first_ready,
            "end_s": end,
            "outcome": outcome,
            "queue_s": waited_until - submit,
            "pull_s": take("pull_s"),
            "unpack_s": take("unpack_s"),
            "create_wait_s": create_wait,
            "boot_s": boot,
            "cold_start": take("cold", bool),
            "cpu_demand_core_s": take("demand_s"),
            "cpu_unmet_core_s": np.maximum(take("unmet_s"), 0.0),
            "oom_kills": take("kills", np.int64),
            "restarts": take("restarts", np.int64),
            "swap_s": take("swap_s"),
            # (no batch work, the usual case: NaN without the arithmetic)
            "slowdown": (np.where(batch & completed, _at_least_one((end - first_ready) / duration), np.nan)
                         if batch.any() else np.full(len(batch), np.nan)),
            "free_mem_gib_at_failure": take("free_at_failure"),
            "run_s": run_s,
            # A started service asked to run from its first start to its planned end.
            "requested_s": np.where(~batch & ~np.isnan(first_ready),
                                    np.minimum(duration, self.duration_s - first_ready), np.nan),
            "interference_slowdown": _slowdown(take("extra_s"), run_s),
            "degraded_s": take("degraded_s"),
            "failure_kills": take("failure_kills", np.int64),
            "lost_core_s": take("lost_core_s"),
            "resident_s": resident_s,
            "replacements": take("replacements", np.int64),
            # Waits for a host after a failure: from the first admission on, the time not
            # on a host (a placed instance is on one from admission to end but for those).
            # Sub-microsecond remainders of the subtraction count as none.
            "requeue_s": _requeue_s(admit, end, resident_s, self.duration_s),
        }
        return pd.DataFrame(columns, copy=False)

    def _finish_columns(self, table: pd.DataFrame, rows: slice | np.ndarray = slice(None)) -> pd.DataFrame:
        """``table`` (rows ``rows``, as :meth:`_instances_table`'s) with each instance marked
        ``unplaceable`` when no host of the fleet could hold it even empty: a request the
        fleet cannot serve at any load, which a capacity planner must tell apart from a
        rejection under load; and what admission booked, and a VM's size.

        ``unplaceable`` is of the instance's first submission, which the engine turned
        away at once for it (so it is in ``rejected``, or a service's replica pending
        for good): under the recommender a failure's victim is booked anew when submitted
        again, and one whose new booking fits nowhere was placed before (``failed``)."""
        fp, picked = self.fp, rows
        if self.chunks is not None:  # the chunks' rows, copied: their memory is let go after
            fp = replace(fp, **{field.name: np.array(getattr(fp, field.name)[rows]) for field in fields(fp)
                                if getattr(fp, field.name) is not None})
            rows = slice(None)
        book_cpu, book_mem = fp.book_cpu[rows], fp.book_mem_gib[rows]
        if self.recommender is not None:  # the first submission's booking, where there was one
            first_cpu, first_mem = (booked[picked] for booked in self.first_booked)
            submitted = ~np.isnan(first_cpu)
            book_cpu, book_mem = np.where(submitted, first_cpu, book_cpu), np.where(submitted, first_mem, book_mem)
        table["unplaceable"] = self.fits_nowhere(book_cpu, book_mem)
        # What admission counted against a host (cores; GiB with the overhead): a VM's size, a
        # container's request, recommendation (its last submission's) or usage percentile.
        table["booked_cpu"] = fp.book_cpu[rows]
        table["booked_memory_gib"] = fp.book_mem_gib[rows]
        # A VM's size (vCPUs, GiB with its guest OS), as given or chosen from the catalogue;
        # NaN for containers. metrics.summary compares it with the need.
        for column, size in (("vm_vcpus", fp.vm_vcpus), ("vm_memory_gib", fp.vm_memory_gib)):
            table[column] = size[rows] if size is not None else np.nan
        return table

    def _hosts_table(self) -> pd.DataFrame:
        hosts = self._host_rows()
        if self.mover is not None and (self.mover.maintenance.drains or self.mover.rolling):
            for name, values in self.mover.host_columns().items():  # only runs with maintenance due
                hosts[name] = values
        return hosts

    def _host_rows(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "platform": self.name,
            "host": h.index,
            "cpu_cores": h.spec.cpu_cores,
            "memory_gib": h.spec.memory_gib,
            "duration_s": self.duration_s,
            "group": h.spec.name if hasattr(h.spec, "name") else "",
            "physical_host": self.physical[h.index],
            "peak_resident": h.peak_resident,
            "fleet_peak_resident": self.booked.fleet_peak,  # the most on the platform's fleet at once
            "used": h.peak_resident > 0,
            "energy_kwh": h.energy_j / 3.6e6,
            "failures": h.failures,
            "down_s": h.down_s,
            "resident_s": h.resident_s,
            "cpu_demand_core_s": h.cpu_demand_s,
            "cpu_used_core_s": h.cpu_used_s,
            "cpu_booked_core_s": h.cpu_booked_s,
            "mem_used_gib_s": h.mem_used_s,
            "mem_alloc_gib_s": h.mem_alloc_s,
            "stranded_gib_s": h.stranded_s,
            "pulled_gib": self.pulled_gib[h.index],
            "layer_lookups": self.caches[h.index].lookups,
            "layer_hits": self.caches[h.index].hits,
            "layer_evictions": self.caches[h.index].evictions,
            "reclaim_s": h.reclaim_s,
            "swap_s": h.swap_s,
            "swapped_gib_s": h.swapped_gib_s,
        } for h in self.hosts])

    def _timeseries_table(self) -> pd.DataFrame:
        return self.timeseries.table(self.name)
