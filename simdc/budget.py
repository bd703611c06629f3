"""Before simulating: the memory a run needs, against what the machine has.

A run's memory grows with three kinds of rows: instances (the workload table, and each
platform's instance table and engine state), timeseries rows (one per host, sample and
platform) and usage readings of a trace (resampled once, shared by the platforms). A
run that needs more than the machine has available is refused with one line saying so,
before anything is allocated, instead of being killed by the system an hour later.

The bytes per row were measured as simdc's peak resident memory (``VmHWM``) in
fresh processes, with ``python benchmarks/memory_per_row.py`` (each scenario grows one
kind of row; a slope is the peak's growth between a scenario and its twin of twice the
rows, divided by the rows added), on Linux x86-64, Python 3.11, numpy 2, pandas 2, after
``simulate`` and after ``Results.write`` (Parquet):

====================  ===========================================  ===========  ========
row                   scenarios (2 platforms)                      slope        constant
====================  ===========================================  ===========  ========
instance × platform   200k → 400k synthetic instances, 1 day       438 B; 391   750 B
                      (and three configs at two sizes, below)      B written
timeseries row        1.44 M → 2.88 M rows (500 → 1,000 hosts,     210 B; 210   300 B
                      minute samples, 1 day)                       B written
usage reading         1 M → 2 M readings of a simdc-format trace   258 B        400 B
                      (1,000 → 2,000 instances × 1,000 readings)
base                  86 instances, 48 timeseries rows             182 MiB;     200 MiB
                                                                   192 written
====================  ===========================================  ===========  ========

A run that would not fit runs *spilled* when that fits (:func:`simdc.simulate`): each
platform's instance table and timeseries are written to Parquet as soon as the platform
has run, and dropped before the next platform runs, so the peak holds the workload, the
usage readings and one platform's engine state and tables (:attr:`Estimate.spilled_bytes`).
On the fast lane that saves the tables, not the engine (1,400 B an instance,
:data:`BYTES_PER_INSTANCE_SPILLED`, bounds it). On the general engine a spilled
run *streams* (:mod:`simdc.engine.chunks`): its per-instance state is kept in chunks of
rows, each written and let go once every instance in it is final, and its timeseries is
written as it goes, and its summary gathered from the rows as they are written
(:mod:`simdc.streamed`: no read-back), so what grows with the run is little
(:data:`BYTES_PER_INSTANCE_STREAMED`; the engine's inputs come with the chunks:
:meth:`simdc.engine.simulation.Simulation._stream_inputs`, and the workload's numeric
columns are mapped from a file: :mod:`simdc.workload.mapped`), plus the chunks alive at
once, which grow with the fleet, not the run (:data:`BYTES_PER_HOST_STREAMED`). :func:`streams`
says when a config surely runs so.

A ``[[services]]`` entry adds its replica rows: the engine preallocates each service's
slots, per version (:func:`simdc.engine.services.pool_size`: twice the most replicas and
8, or with an autoscaler room for a full scale-up every stabilisation window, up to
50,000), each a row of every platform's instance table and engine state, so counted as an
instance and platform. A service taken from a trace's job without ``replicas`` or an
autoscaler is counted once the trace is read (:func:`simdc.experiment.simulate`).

The constants are rounded up: from the base, 400k instances peaked at 542 B per instance
and platform once written, and 2 M usage readings at 268 B each. An estimate must stay
at or above the real peak (it refuses runs that would not fit) and close to it (one high
by half refuses runs that would have fitted; ``check_memory=False``,
``--no-memory-check``, still runs them): the per-instance constants are the largest
slope measured on three configs, each run at two sizes in fresh processes
(``python benchmarks/memory_per_instance.py``, benchmarks/README.md, "Memory estimates
that fit"), rounded up by about 15 %; tests/test_budget.py holds the estimate at or
above what random small runs allocate (tracemalloc) and within 3× of it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

from simdc.errors import InputError, SimdcError

GIB = 2**30
MIB = 2**20
BASE_BYTES = 200 * MIB
# A run in memory's peak per instance and platform: measured as the peak RSS's growth per
# instance added (benchmarks/memory_per_instance.py, 2026-11-30): the capacity study (100
# hosts, general engine, 6 -> 12 h, hourly samples) 604 B, configs/fleet.toml (1.5 -> 3
# arrivals/s, a day) 566 B, both platforms on the fast lane (one host, 2.3 -> 4.6/s) 564
# B; tracemalloc counts at most ~585 B (tests/test_budget.py). Rounded up to stay above a
# spilled run's per instance (BYTES_PER_INSTANCE_SPILLED, one platform at a time) for two
# platforms, so that a run too big in memory may still spill. Was 1,000 B.
# + 120 B: half the synthetic usage model's (USAGE_MODEL_BYTES below: two platforms share it)
BYTES_PER_INSTANCE_PLATFORM = 750 + 120
BYTES_PER_TIMESERIES_ROW = 300
# The engine's state per host, whatever the instances: a host's running set, integrals
# and the placement's per-host arrays for the platform running, and each platform's row
# of the hosts table. Measured as the peak RSS's growth per host of a run with almost no
# instances (a trial's 4-host config with 25,000 -> 100,000 hosts, 60 s: 371 -> 1,013 MB,
# 8.8 kB a host, 2026-11-30, thirteenth session); rounded up. Before it was counted, a
# run of a million hosts (the most a fleet may have) passed the check and grew past 8 GB.
BYTES_PER_HOST = 9 * 1024
BYTES_PER_USAGE_READING = 400
# A spilled run's own cost: a row group of up to 250,000 rows (simdc.experiment.SPILL_ROWS)
# in Arrow while it is written, and again while the platforms' parts are joined into one
# file a row group at a time, measured as 61 MiB over the run's peak for 250,000-row
# groups (~250 B a row; benchmarks/README.md, "Spilled runs"), with Arrow's allocator's
# slack; rounded up. It also keeps small runs, which fit, in memory.
SPILL_BYTES = 256 * MIB
# A spilled run's peak per instance: one platform's engine at a time and the workload.
# Measured as the peak RSS's growth per instance of the capacity study, 1,000 hosts, 0.75
# days, both platforms: 1.68 KB spilled (and 1.66 KB in memory: the peak is the vm
# platform's engine, whose pending kernel-failure timers, one per VM, and per-instance
# arrays are most of it; 1 KB traced), against 612 B on the fast lane (benchmarks/README.md,
# "Spilled runs"); rounded up. Checked on configs/fleet.toml (vm on the fast lane,
# containers on the general engine, not streamed), a day at 1.5 and 3 arrivals/s (129,507
# and 259,385 instances), peak RSS in a fresh process: 297 -> 436 MiB in memory (1,122 B an
# instance, both platforms), 336 -> 481 MiB spilled (1,171 B): spilling such a run saves
# nothing (the general engine's state is the peak), so an estimate that spills it only
# when even in memory would not fit is right. Measured again with
# benchmarks/memory_per_instance.py (2026-11-30, the general engine's platforms streamed):
# configs/fleet.toml 1.5 -> 3 arrivals/s 1,237 B an instance, both platforms on the fast
# lane (one host, 2.3 -> 4.6/s) 733 B; rounded up from the larger. Was 1,800 B.
BYTES_PER_INSTANCE_SPILLED = 1400 + 240  # + the synthetic usage model's (USAGE_MODEL_BYTES)
# A streamed run's peak per instance (a spilled run on the general engine: its per-instance
# state in chunks let go as instances end, its instance rows and timeseries written as it
# goes, its summary gathered from the rows as they are written: simdc.engine.chunks,
# simdc.streamed): what is held for the whole run (the workload's columns that are not
# numbers, the percentiles' values: at most 24 B, state and epoch: 5 B), the chunks pinned
# by a long-lived instance while their number still grows, and the allocator's slack; the
# workload's numeric columns are mapped from a file, in memory for the live chunks' rows
# only (simdc.workload.mapped), and the unordered rows' file keeps no Parquet metadata
# (simdc.engine.chunks.RowGroups). Measured as the peak RSS's growth per instance of the
# capacity study, 1,000 hosts, from 1 to 2 days, both platforms, chunks of 512 rows
# (/usr/bin/time -v python benchmarks/run.py month1000 --month-days 1|2 --spill,
# 2026-11-30, twelfth session): 632 -> 833 MiB over 864,000 instances a platform, 244 B
# (benchmarks/README.md, "month, twelfth session"); on main after both of that
# session's merges (chunks freed together written from one table), 640 -> 891 MiB, 304 B
# ("Issue #16: where it stands (2026-11-30, twelfth session)"). The larger, rounded up by
# 15 %. Was 560 B (the eleventh session's 489 B: the workload held whole, 114 B, and the
# Parquet writer's metadata of every chunk written, 74 B).
BYTES_PER_INSTANCE_STREAMED = 350
# The chunks alive at once in a streamed run (simdc.engine.chunks): every chunk with an
# instance still alive, counted as at most 1,531 chunks of 512 rows on the container
# platform of the same run at 2 days (a chunk waits for its longest-lived instance:
# containers' batch work stretched by contention). A row was ~232 B of state; with the
# engine's per-instance inputs in the chunks too (Simulation._stream_inputs) it is 331 B
# (44 columns' items summed, capacity study), and 491 B with the synthetic usage model's
# per-instance constants (160 B: simdc.workload.usage._PerInstance, held for the live
# chunks' rows only, SyntheticUsage.windows). Twelfth session: + the mapped workload's
# numeric columns of the live rows (96 B: simdc.workload.mapped), - the columns that stay
# zero (no page written: kills, restarts, streak, replacements, failure kills, Guaranteed,
# ~64 B), ~523 B: 1,531 × 512 × 523 B / 1,000 hosts = 410 KB a host; rounded up. Kept
# at 448 KiB (384 KiB at 331 B a row).
BYTES_PER_HOST_STREAMED = 448 * 1024
# The synthetic usage model's per-instance constants, held for the whole run and shared
# by the platforms (simdc.workload.usage.SyntheticUsage, when usage varies): 13 columns
# read by the usage step, two σ, the hour blocks' memo, means and sizes: 176 B counted by
# tracemalloc at its build over 20,000 instances (2026-11-30, after the model was
# recalibrated), ~210 B once a run has read it (its start factors, a VM platform's
# scaled CPU); rounded up. The measurements behind the constants above were made before
# the recalibration, when the model held ~50 B an instance: each now adds this (a run in
# memory half of it per platform), trace runs included (an over-estimate for them). A
# streamed run holds the model's constants only for its live chunks' rows (in
# BYTES_PER_HOST_STREAMED and, as chunks a long-lived instance pins, in the measured
# BYTES_PER_INSTANCE_STREAMED), so it does not add this.
USAGE_MODEL_BYTES = 240
# Reading a trace: its reader builds every row it reads before workload.sample, limit and
# time_window_s keep their part, so its peak grows with the input, not with what is kept
# (Google 2011: ~690 B per task-event attempt, at common.canonical; simdc's format: ~440 B
# a row, at own._table). Bytes of peak per byte of input (uncompressed), measured as the
# slope of load_workload's peak RSS (ru_maxrss, fresh processes) between inputs of two
# sizes, on configs/google.toml at duration_s = 16,200 (2026-12-01):
#   google, 1 -> 3 task_events parts (each part 0 of the 2011 trace, 50.5 MB uncompressed):
#     342 -> 596 MiB, 2.64 B per input byte;
#   simdc CSV, the 3 parts converted (`simdc trace convert -f google --sample 0.5|1`):
#     30.2 -> 60.4 MB, 309 -> 451 MiB, 4.93 B per byte;
#   simdc Parquet, the same, 4.1 -> 7.3 MB, 306 -> 412 MiB, 34.6 B per byte
# (`python benchmarks/reading_peak.py CONFIG workload.trace=PATH`, which prints the peak;
# own.toml: configs/google.toml's [workload] as trace and sample only). Each rounded up by
# 12 % or more; google's by 33 %: its intercept, 215 MiB, is above BASE_BYTES. The other
# formats are not measured: a text file of theirs counts as simdc's CSV (the larger), a
# Parquet file as simdc's Parquet. tests/test_budget_reading.py holds the estimate within
# 0.85-1.5 × the peak of reading a sample trace (not at or above it: what the libraries take
# on loading, which BASE_BYTES stands for, differs by ~35 MB between environments with the
# same versions). Coarse at small inputs: between 150,000 and 300,000 rows of simdc's CSV
# (4-8 MB) the peak grew ~9 B a byte, against the 4.93 measured at 30-60 MB.
READ_BYTES_PER_INPUT_BYTE = {"google": 3.5}
READ_BYTES_PER_TEXT_BYTE = 5.5
READ_BYTES_PER_PARQUET_BYTE = 40.0
# A compressed file whose uncompressed size is not cheaply known (bzip2, xz, zstd; gzip of
# 4 GiB or more, whose ISIZE trailer wraps: RFC 1952, 2.3.1): its size on disk times this,
# a text trace's usual ratio (Google 2011's task_events: 12 to 1).
COMPRESSED_EXPANSION = 12
AVAILABLE_ENV = "SIMDC_AVAILABLE_BYTES"


class TooBigError(SimdcError):
    """The run would need more memory than the machine has available."""


@dataclass(frozen=True)
class Estimate:
    """The rows a run implies and the memory they take.

    ``instances`` is None when unknown yet (a trace not read); ``timeseries_rows`` counts
    every platform's rows.
    """

    instances: int | None
    platforms: int
    hosts: int
    samples: int
    usage_readings: int = 0
    replica_rows: int = 0  # every service's preallocated replica slots, each platform alike
    reading_bytes: float = 0  # a trace not read yet: its reader's peak over the base (:func:`reading_bytes`)
    spill: bool = False  # whether the run is to be spilled (what :func:`check` decided)
    streams: bool = False  # spilled, whether it surely runs streamed (:func:`streams`)

    @property
    def timeseries_rows(self) -> int:
        return self.samples * self.hosts * self.platforms

    @property
    def parts_bytes(self) -> dict[str, float]:
        """Bytes per kind of row (the base apart), for the message's advice."""
        return {
            "instances": (self.instances or 0) * self.platforms * BYTES_PER_INSTANCE_PLATFORM,
            "timeseries": self.timeseries_rows * BYTES_PER_TIMESERIES_ROW,
            "usage": self.usage_readings * BYTES_PER_USAGE_READING,
            "replicas": self.replica_rows * self.platforms * BYTES_PER_INSTANCE_PLATFORM,
            "hosts": self.hosts * BYTES_PER_HOST,
        }

    @property
    def bytes(self) -> float:
        """Estimated peak memory of the run with its tables in memory, bytes."""
        return BASE_BYTES + max(self.reading_bytes, sum(self.parts_bytes.values()))

    @property
    def spilled_bytes(self) -> float:
        """Estimated peak memory of the run spilled, bytes: one platform's instances and
        replica rows (:data:`BYTES_PER_INSTANCE_SPILLED` each) and timeseries at a time,
        the usage readings (shared anyway), and :data:`SPILL_BYTES`. A run that streams
        (:attr:`streams`): :data:`BYTES_PER_INSTANCE_STREAMED` an instance, the chunks
        alive at once (:data:`BYTES_PER_HOST_STREAMED` a host), no timeseries."""
        rows = (self.instances or 0) + self.replica_rows
        if self.streams:
            run = (SPILL_BYTES + rows * BYTES_PER_INSTANCE_STREAMED
                   + self.hosts * (BYTES_PER_HOST_STREAMED + BYTES_PER_HOST)
                   + self.usage_readings * BYTES_PER_USAGE_READING)
        else:
            timeseries = self.timeseries_rows / self.platforms if self.platforms else 0
            run = (SPILL_BYTES + rows * BYTES_PER_INSTANCE_SPILLED + self.hosts * BYTES_PER_HOST
                   + timeseries * BYTES_PER_TIMESERIES_ROW + self.usage_readings * BYTES_PER_USAGE_READING)
        return BASE_BYTES + max(self.reading_bytes, run)  # reading ends before the run's tables are built


def replica_rows(services, duration_s: float) -> int:
    """The replica slots the engine preallocates for ``services`` (specs), summed over
    their versions (one, and one per release); a service whose count is known only from
    a trace (``job`` without ``replicas`` or an autoscaler) counts 0 here."""
    if not services:
        return 0
    from simdc.engine.services import pool_size  # the engine only with services

    return sum(pool_size(service, duration_s) * (1 + len(service.releases)) for service in services
               if service.job != "*" and (service.replicas is not None or service.autoscale is not None))


def estimate(config, instances: int | None = None, usage_readings: int = 0, services=None) -> Estimate:
    """The rows and memory ``config`` implies.

    Parameters
    ----------
    config
        A validated :class:`simdc.Config`.
    instances
        Instances to replay, when known (a trace, after reading). None: the synthetic
        generator's expected count, ``arrival_rate_per_s × duration_s`` (a diurnal
        rate averages to it over whole days); for a trace not read yet, unknown, and
        its reading counted instead (:func:`reading_bytes`).
    usage_readings
        Rows of a trace's usage table kept for the instances replayed.
    services
        The services to count replica rows for (:func:`replica_rows`); None: the
        config's ``[[services]]`` as given.
    """
    sim = config.simulation
    if instances is None and config.workload.synthetic is not None:
        instances = math.ceil(config.workload.synthetic.arrival_rate_per_s * sim.duration_s)
    hosts = sum(getattr(group, "count", 1) for group in config.host_groups)
    reading = reading_bytes(config.workload) if instances is None and config.workload.trace is not None else 0
    return Estimate(instances=instances, platforms=len(sim.platforms), hosts=hosts, reading_bytes=reading,
                    samples=math.ceil(sim.duration_s / sim.sample_every_s), usage_readings=usage_readings,
                    replica_rows=replica_rows(config.services if services is None else services, sim.duration_s),
                    streams=streams(config))


def reading_bytes(workload) -> float:
    """The peak memory, over the base, of reading the trace of ``workload`` (a
    :class:`simdc.model.workload.WorkloadSpec`), bytes: each file its reader reads, at its
    uncompressed size, times its format's bytes per input byte
    (:data:`READ_BYTES_PER_INPUT_BYTE`). Cheap: each file's size and head, nothing more.
    0 for files no reader takes (the run's reading says what is wrong with them)."""
    from simdc.workload.readers import read_files
    from simdc.workload.readers.common import compression

    paths = [workload.trace] + ([workload.usage] if workload.usage is not None else [])
    try:
        chosen, files = read_files(paths, workload.format)
    except InputError:  # not a trace simdc reads: the reader says so where the run starts (a sweep names its point)
        return 0
    total = 0.0
    for path in files:
        if path.name.lower().endswith(".parquet"):
            total += path.stat().st_size * READ_BYTES_PER_PARQUET_BYTE
        else:
            total += input_bytes(path, compression(path)) * READ_BYTES_PER_INPUT_BYTE.get(
                chosen, READ_BYTES_PER_TEXT_BYTE)
    return total


def input_bytes(path: Path, codec: str | None) -> int:
    """``path``'s size uncompressed, bytes: a gzip file's ISIZE trailer (its last four
    bytes, the input's size modulo 2**32: RFC 1952, 2.3.1), else its size on disk, times
    :data:`COMPRESSED_EXPANSION` when compressed."""
    size = path.stat().st_size
    if codec is None:
        return size
    if codec == "gzip" and size >= 18:  # a header of 10 bytes, a trailer of 8
        with open(path, "rb") as raw:
            raw.seek(-4, os.SEEK_END)
            isize = int.from_bytes(raw.read(4), "little")
        if isize >= size:  # else wrapped (4 GiB or more) or several members: not told
            return isize
    return size * COMPRESSED_EXPANSION


def streams(config) -> bool:
    """Whether ``config``, spilled, surely streams on every platform: a synthetic
    workload (no dependencies) that only the general engine runs (failures, batch work,
    images or a ``[cost]`` meter: :meth:`simdc.engine.handlers.FastLane.applies`), without
    what keeps its rows in memory (drains, consolidation, services). Otherwise the
    estimate is the fast lane's spilled run, which holds its tables until it ends."""
    synthetic = config.workload.synthetic
    if synthetic is None or config.services or config.maintenance.active or config.consolidation.active:
        return False
    return bool(config.faults.active or synthetic.batch_fraction > 0 or synthetic.images or config.cost is not None)


def available_bytes() -> int | None:
    """Memory this process can still take, bytes: ``MemAvailable`` (/proc/meminfo), or
    free pages (``os.sysconf``) elsewhere, lowered to a cgroup's (a container's) limit
    less its use; None when the system says nothing. The environment variable
    ``SIMDC_AVAILABLE_BYTES`` (a number of bytes, :func:`given_bytes`) lowers it further:
    to keep runs under a limit of one's own, or to see a run spill (:func:`simdc.simulate`).

    Raises
    ------
    InputError
        ``SIMDC_AVAILABLE_BYTES`` is set but not a number of bytes >= 1.
    """
    found = []
    given = os.environ.get(AVAILABLE_ENV)
    if given is not None:
        found.append(given_bytes(given))
        if found[-1] is None:
            raise InputError(f"{AVAILABLE_ENV}: expected a positive number of bytes, e.g. 8000000000 "
                             f"(got {given!r})")
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)  # kB
    except (OSError, ValueError, IndexError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    for limit, used in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # cgroup v2
                        ("/sys/fs/cgroup/memory/memory.limit_in_bytes",  # cgroup v1
                         "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            found.append(int(Path(limit).read_text()) - int(Path(used).read_text()))
        except (OSError, ValueError):  # absent, or "max": no limit
            continue
    found = [value for value in found if value > 0]
    return min(found) if found else None


def given_bytes(text: str) -> int | None:
    """``SIMDC_AVAILABLE_BYTES``'s value as whole bytes, or None when it is not a finite
    number >= 1: an integer, with ``_`` between digits or not (``8000000000``,
    ``8_000_000_000``), or a decimal or exponent form (``8e9``,
    ``2.5e10``, ``1.5``), read exactly (not through a float) and rounded down to a whole
    byte. More than 2**64 bytes is 2**64: a cap no machine reaches (and ``1e999999999``
    is not made into a billion-digit integer)."""
    from decimal import Decimal, InvalidOperation

    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or number < 1:  # nan, inf, 0, negatives, less than a byte
        return None
    return int(min(number, Decimal(2**64)))


def check(config, instances: int | None = None, usage_readings: int = 0, available: int | None = None,
          services=None, *, spill: bool | None = False) -> Estimate:
    """Raise :class:`TooBigError` when the run needs more memory than is available.

    ``available`` (bytes) defaults to :func:`available_bytes`; when the system does not
    say, nothing is refused. ``services``: as :func:`estimate`. ``spill``: False checks
    the run with its tables in memory (:attr:`Estimate.bytes`), True spilled
    (:attr:`Estimate.spilled_bytes`), None either: in memory when that fits, else spilled.
    Returns the estimate, its ``spill`` saying which was checked (and fits).
    """
    found = estimate(config, instances, usage_readings, services)
    available = available_bytes() if available is None else available
    if available is None:
        return replace(found, spill=bool(spill))
    if spill is None:
        if found.bytes <= available:
            return found
        if found.spilled_bytes <= available:
            return replace(found, spill=True)
        raise TooBigError(*_message(config, found, available, spilled=True))
    if (found.spilled_bytes if spill else found.bytes) > available:
        raise TooBigError(*_message(config, found, available, spilled=spill))
    return replace(found, spill=spill)


def check_generated(config, available: int | None = None) -> Estimate:
    """Like :func:`check`, for writing the synthetic workload as a trace (``simdc trace
    generate``): its instances once, no timeseries."""
    full = estimate(config)
    found = Estimate(instances=full.instances, platforms=1, hosts=0, samples=0)
    available = available_bytes() if available is None else available
    if available is not None and found.bytes > available:
        raise TooBigError(*_message(config, found, available, anyway=False))
    return found


# A sweep's own memory beside its runs' (simdc.sweeping.sweep): each grid point's validated
# config, kept until the sweep ends, and each run's summary rows, kept until the tables are
# written (and once more in the joined table). Measured with tracemalloc over 200 points
# (fourteenth session): a point's config 32 KiB (configs/host64g.toml), 34 KiB
# (configs/fleet.toml), 39 KiB (configs/cells.toml); a run's summary and its share of the
# joined table, 2 platforms, 21 KiB (host64g.toml) and 57 KiB (cells.toml). Rounded up.
BYTES_PER_SWEEP_POINT = 48 * 1024
BYTES_PER_SWEEP_RUN_PLATFORM = 32 * 1024


# Local workers (simdc.sweeping.run_on_dask): beside the workers, this process (the sweep's
# or cells' parent: its imports, the results gathered) and the forkserver that forks them,
# with multiprocessing's resource tracker. Measured as each one's peak RSS, polled every
# 50 ms (`python roles.py simdc run configs/cells.toml --set
# workload.synthetic.arrival_rate_per_s=0.1|10 --workers 2`, 2026-12-01): the parent 178 ->
# 228 MiB, the forkserver and resource tracker 141 MiB; rounded up.
PARENT_BYTES = 240 * MIB
FORKSERVER_BYTES = 160 * MIB


def workers_bytes(count: int, run_bytes: float) -> float:
    """The memory of ``count`` local workers each running a run of ``run_bytes`` (its
    imports, :data:`BASE_BYTES`, and its trace's reading included: :attr:`Estimate.bytes`),
    with this process and the forkserver (:data:`PARENT_BYTES`, :data:`FORKSERVER_BYTES`),
    bytes."""
    return PARENT_BYTES + FORKSERVER_BYTES + count * run_bytes


def workers_that_fit(available: float, run_bytes: float) -> int:
    """The most local workers of ``run_bytes`` each that fit in ``available`` bytes with
    this process and the forkserver (:func:`workers_bytes`); 0 when not even one does."""
    return max(0, int((available - workers_bytes(0, run_bytes)) // run_bytes))


def check_sweep(points: int, replications: int, platforms: int, available: int | None = None) -> float:
    """Raise :class:`TooBigError` when a sweep's own tables (its points' configs and its
    runs' summaries) would not fit in the memory available, before any point is built: a
    grid of 1,000 × 1,000 values or 10^9 replications otherwise grew for minutes, saying
    nothing, until the system killed it. ``available`` as :func:`check`. Returns the
    estimate, bytes."""
    runs = points * replications
    needed = points * BYTES_PER_SWEEP_POINT + runs * platforms * BYTES_PER_SWEEP_RUN_PLATFORM
    available = available_bytes() if available is None else available
    if available is None or needed <= available:
        return needed
    fit = int((available - min(available, points * BYTES_PER_SWEEP_POINT))
              // (platforms * BYTES_PER_SWEEP_RUN_PLATFORM))
    count = (f"{points:,} grid point{'s' * (points != 1)} × {replications:,} replication{'s' * (replications != 1)}"
             f" = {runs:,} runs of {platforms} platform{'s' * (platforms != 1)}")
    said = (f"{count}: the sweep keeps each point's config and each run's summary, about "
            f"{_gib(needed, available)}; {_allowance(available, needed)}")
    room = f"about {fit:,} runs fit" if fit else "not even the points' configs fit"
    raise TooBigError(f"sweep: {said}; give fewer grid values or replications ({room}), "
                      "or run anyway with check_memory=False",
                      cli=f"sweep: {said}; give fewer --grid values or --replications ({room}), "
                          "or run anyway with --no-memory-check")


def _message(config, found: Estimate, available: int, anyway: bool = True,
             spilled: bool = False) -> tuple[str, str]:
    """The refusal in the Python API's terms and in the CLI's (how to run anyway:
    ``check_memory=False``, ``--no-memory-check``)."""
    needed = found.spilled_bytes if spilled and found.spilled_bytes < found.bytes else found.bytes
    tail = (", or run anyway with check_memory=False", ", or run anyway with --no-memory-check") if anyway else ("", "")
    if BASE_BYTES >= available:  # no part of the run can make it fit: simdc alone needs more
        said = (f"this run needs about {_gib(needed, BASE_BYTES)} of memory, of which "
                f"{_gib(BASE_BYTES, needed)} is simdc's own (its imports and base state, whatever the run); "
                f"{_allowance(available, needed)}: too little for any run; free memory or use a larger machine")
        return said + tail[0], said + tail[1]
    if found.reading_bytes and found.reading_bytes >= sum(found.parts_bytes.values()):  # reading is the peak
        said = (f"reading the trace {config.workload.trace} needs about {_gib(needed, available)} of memory "
                f"(its reader builds every row it reads, before workload.sample, limit or time_window_s keep "
                f"their part); {_allowance(available, needed)}; give fewer of its files (convert a few at a "
                f"time with simdc trace convert --sample and replay the result)")
        return said + tail[0], said + tail[1]
    rows = []
    if found.instances:
        rows.append(f"{found.instances:,} instances × {found.platforms} platform{'s' * (found.platforms > 1)}")
    if found.timeseries_rows:
        rows.append(f"{found.timeseries_rows:,} timeseries rows ({found.hosts:,} host{'s' * (found.hosts > 1)} × "
                    f"{found.samples:,} samples × {found.platforms})")
    if found.usage_readings:
        rows.append(f"{found.usage_readings:,} usage readings")
    if found.replica_rows:
        rows.append(f"{found.replica_rows:,} services' replica rows × {found.platforms}")
    largest = max(found.parts_bytes, key=found.parts_bytes.get)
    if largest == "hosts":  # named where it is what the run needs most
        rows.append(f"the state of {found.hosts:,} host{'s' * (found.hosts > 1)}")
    sim = config.simulation
    if largest == "instances":
        advice = ("lower workload.synthetic.arrival_rate_per_s or simulation.duration_s"
                  if config.workload.synthetic is not None else
                  "keep fewer instances (workload.limit, workload.sample, workload.time_window_s) "
                  "or lower simulation.duration_s")
    elif largest == "timeseries":
        advice = (f"raise simulation.sample_every_s (now {sim.sample_every_s:g} s), "
                  "lower simulation.duration_s or use fewer hosts")
    elif largest == "hosts":
        advice = "use fewer hosts (the engine keeps each host's state, whatever it runs)"
    elif largest == "replicas":
        advice = ("lower the services' replicas or autoscale.max_replicas (the engine keeps rows for twice the "
                  "most replicas, with an autoscaler for a scale-up every stabilisation window, up to 50,000 per "
                  "service and version), or give fewer releases")
    else:
        advice = "keep fewer instances (workload.limit, workload.sample) or raise workload.usage_step_s"
    # spilling is named only where it would need less (a small run's row-group allowance costs more)
    spill = (f", and about {_gib(found.spilled_bytes, available)} even with its tables written to disk as each "
             "platform finishes" if spilled and found.spilled_bytes < found.bytes else "")
    said = (f"this run needs about {_gib(found.bytes, available)} of memory ({', '.join(rows)}){spill}; "
            f"{_allowance(available, found.spilled_bytes if spill else found.bytes)}; {advice}")
    if not anyway:
        return said, said
    return f"{said}, or run anyway with check_memory=False", f"{said}, or run anyway with --no-memory-check"


def _allowance(available: int, needed: float | None = None) -> str:
    """Where the limit comes from: ``SIMDC_AVAILABLE_BYTES`` when it set it (a limit of the
    user's own, not the machine's), else the machine; with the digits to tell it from
    ``needed``."""
    if given_bytes(os.environ.get(AVAILABLE_ENV, "")) == available:
        return f"{AVAILABLE_ENV} allows {_gib(available, needed)}"
    return f"the machine has {_gib(available, needed)} available"


def _gib(count: float, beside: float | None = None) -> str:
    """``count`` bytes for people, in GiB (TiB, PiB) to one decimal, or more decimals
    (up to 4) until it reads differently from ``beside`` (a figure it is compared with
    in the same line: "needs 0.29 GiB ... allows 0.28 GiB", not 0.3 and 0.3)."""
    for digits in range(1, 5):
        shown = _in_units(count, digits)
        if beside is None or beside == count or shown != _in_units(beside, digits):
            return shown
    return shown


def _in_units(count: float, digits: int) -> str:
    if count >= 1024**2 * GIB:
        return f"{count / (1024**2 * GIB):,.{digits}f} PiB"
    if count >= 1024 * GIB:
        return f"{count / (1024 * GIB):,.{digits}f} TiB"
    return f"{count / GIB:,.{digits}f} GiB"
