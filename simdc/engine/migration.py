"""Moving instances between hosts: drains, live migration, checkpoint/restore, consolidation.

The model (:mod:`simdc.model.migration` for the settings and their sources):

- **Pre-copy live migration** of a VM (Clark et al., "Live Migration of Virtual
  Machines", NSDI 2005, §3-4): :func:`precopy`. The VM keeps running on its source
  while its memory is copied; the target holds its booking from the first byte (the
  guest's memory is allocated there, as QEMU's ``-incoming`` process does). At the
  switch the VM stops on the source and is paused for the downtime, then runs on the
  target with its work left and its usage's clock (a migrated VM is the same guest).
- **Checkpoint/restore** of a container (CRIU): :func:`checkpoint_restore`. Frozen for
  the whole move, which is all downtime; its state kept.
- **Stop and restart** of a container: stopped, its state lost (a batch job's work
  starts again), and submitted again: a start on its new host as any start (image pull
  when the layers are missing there: cold, else warm), queued or refused as any request.

Assumptions, stated: a migration gets its own ``bandwidth_mib_s`` of the links (image
pulls are not slowed by it, nor it by them); a drained host moves one instance at a
time (OpenStack Nova's ``max_concurrent_live_migrations = 1``), drains of different
hosts run side by side; the VM's disk is on shared storage (Clark et al. assume
network-attached storage), and a restored container's image is taken to be on its new
host (neither is copied), and a checkpoint's dump and restore write at the disks' full
``disk_write_mib_s`` (not slowed by the writes of starts, which share a host's disk:
:meth:`~simdc.engine.simulation.Simulation._write`); every guest page is sent in the
first round (zero pages are not told apart: an upper bound). The move's downtime on the target counts as a start
there (``max_concurrent_starts``).

A VM being booted, or a container starting or backing off, is not migrated: it is
stopped and submitted again, as a container restarted. An instance to migrate live or
by checkpoint that no host can take now waits ``retry_s`` and is tried again; the host
goes down only once empty, so a full fleet delays the maintenance. A restart needs no
target and waits for none: a drain stops every such instance on the host at once, and
its new requests are placed, queued or refused as any (``kubectl drain`` "evicts or
deletes all pods" of the node and "waits for graceful termination", not for their
replacements to be scheduled: kubernetes.io/docs/reference/kubectl/generated/kubectl_drain;
PodDisruptionBudgets, which could hold an eviction back, are not modelled). Nor is the
graceful termination: a stopped container is gone at once, not after up to its
``terminationGracePeriodSeconds`` (30 s by default) still on its host. Every VM preset
moves by pre-copy, ``microvm`` too, though Firecracker has no live migration (only
snapshots: firecracker docs/snapshotting/snapshot-support.md): an assumption, stated in
the README.
"""

from __future__ import annotations

from dataclasses import dataclass

from simpy.core import URGENT

from simdc.engine.network import GIB_S_PER_GBPS
from simdc.engine.rules import MIB_PER_GIB, guest_memory_gib
from simdc.engine.simulation import BACKOFF, REJECTED, RUNNING, STARTING, WAITING
from simdc.errors import moment
from simdc.model.migration import ConsolidationSpec, MaintenanceSpec, MigrationSpec


@dataclass(frozen=True)
class Move:
    """One move's timing. ``duration_s``: first byte to running on the new host;
    ``downtime_s``: the part of it the instance does not run (at its end);
    ``moved_gib``: bytes sent, GiB; ``rounds``: live pre-copy rounds (0: none);
    ``converged``: the rest fitted the downtime limit (else a forced stop-and-copy);
    ``held_s``: the first part of the downtime during which the source still holds the
    instance (a checkpoint's dump and send; 0 for a live migration, whose switch is
    at the downtime's start)."""

    duration_s: float
    downtime_s: float
    moved_gib: float
    rounds: int
    converged: bool
    held_s: float = 0.0


# Xen stops pre-copying once it has sent three times the memory (tools/libxc
# xc_domain_save.c, DEF_MAX_FACTOR 3: "never send more than 3x p2m_size").
MAX_FACTOR = 3.0


def precopy(memory_gib: float, bandwidth_gib_s: float, dirty_gib_s: float, downtime_limit_s: float,
            max_rounds: int, max_factor: float = MAX_FACTOR) -> Move:
    """Iterative pre-copy, then stop-and-copy (Clark et al., NSDI 2005, §3.1 and §4).

    Round 0 sends all ``memory_gib`` at ``bandwidth_gib_s`` while the guest runs; round
    k sends the pages dirtied during round k-1, ``min(dirty_gib_s × t_{k-1}, memory)``.
    Rounds go on while what is left to send would not fit in ``downtime_limit_s``; then
    the VM stops and the rest is sent (the downtime). With ``r = dirty / bandwidth < 1``
    the rounds send ``M r^k``, a geometric series. The rounds stop early, and the rest
    is sent stopped however long it takes, after ``max_rounds`` live rounds, once the
    rounds have sent ``max_factor`` times the memory (both Xen's bounds), or when a
    round would send no less than the one before (``dirty >= bandwidth``: no
    convergence, which QEMU's plain pre-copy would retry for ever).

    Parameters
    ----------
    memory_gib : guest memory, GiB, >= 0.
    bandwidth_gib_s : the migration's bandwidth, GiB/s, > 0.
    dirty_gib_s : memory the guest dirties per second, GiB/s, >= 0.
    downtime_limit_s : the downtime target, seconds, > 0.
    max_rounds : live rounds at most, >= 1.
    max_factor : live rounds stop once they have sent this many times the memory, > 0.

    Raises
    ------
    ValueError
        On a value out of its range.
    """
    if not (memory_gib >= 0 and bandwidth_gib_s > 0 and dirty_gib_s >= 0 and downtime_limit_s > 0
            and max_rounds >= 1 and max_factor > 0):
        raise ValueError(f"precopy: memory_gib >= 0, bandwidth_gib_s > 0, dirty_gib_s >= 0, downtime_limit_s > 0 "
                         f"and max_rounds >= 1 (got {memory_gib}, {bandwidth_gib_s}, {dirty_gib_s}, "
                         f"{downtime_limit_s}, {max_rounds})")
    left, sent, live_s, rounds = memory_gib, 0.0, 0.0, 0
    converged = True
    while left > bandwidth_gib_s * downtime_limit_s:
        if rounds == max_rounds:
            converged = False
            break
        round_s = left / bandwidth_gib_s
        sent += left
        live_s += round_s
        rounds += 1
        dirtied = min(dirty_gib_s * round_s, memory_gib)
        if dirtied >= left or sent >= max_factor * memory_gib:  # no progress, or sent enough: stop and copy
            left, converged = dirtied, dirtied <= bandwidth_gib_s * downtime_limit_s
            break
        left = dirtied
    downtime_s = left / bandwidth_gib_s
    return Move(live_s + downtime_s, downtime_s, sent + left, rounds, converged)


def checkpoint_restore(resident_gib: float, dump_mib_s: float, bandwidth_mib_s: float, restore_mib_s: float) -> Move:
    """A container moved by checkpoint/restore (CRIU: criu.org, "Checkpoint/Restore"):
    frozen, its memory dumped to image files at the source disk's speed, the images
    sent at the migration's bandwidth, restored at the target disk's speed. The
    checkpoint's size is the container's resident memory (its pages are what the
    images hold). All of it is downtime; the source holds the container's memory (and
    stays on) until its images are dumped and sent (``held_s``): CRIU's dump writes the
    frozen task's pages to image files on the source, which the restore on the target
    reads once they are there (criu.org, "Live migration": dump, copy images, restore).
    Sizes GiB, speeds MiB/s (> 0)."""
    if not (resident_gib >= 0 and dump_mib_s > 0 and bandwidth_mib_s > 0 and restore_mib_s > 0):
        raise ValueError(f"checkpoint_restore: resident_gib >= 0 and speeds > 0 (got {resident_gib}, {dump_mib_s}, "
                         f"{bandwidth_mib_s}, {restore_mib_s})")
    mib = resident_gib * MIB_PER_GIB
    total_s = mib / dump_mib_s + mib / bandwidth_mib_s + mib / restore_mib_s
    held_s = mib / dump_mib_s + mib / bandwidth_mib_s
    return Move(total_s, total_s, resident_gib, 0, True, held_s)


def _hosts(hosts: list[int]) -> str:
    """Hosts for a message: "1-5" for a run of numbers, else "1, 3, 4"."""
    if len(hosts) > 2 and hosts == list(range(hosts[0], hosts[-1] + 1)):
        return f"{hosts[0]}-{hosts[-1]}"
    return ", ".join(str(j) for j in hosts)


class Mover:
    """Drains and consolidation over one general-engine run (module docstring).

    It reads and changes the :class:`simdc.engine.simulation.Simulation`'s state through
    the same steps its own events take (``_place``, ``_stop``, ``_submit``,
    ``lane.on_ready``): placement is the arrivals' rule, never a second fit test.
    """

    def __init__(self, sim, maintenance: MaintenanceSpec, migration: MigrationSpec,
                 consolidation: ConsolidationSpec):
        self.sim = sim
        self.maintenance, self.migration, self.consolidation = maintenance, migration, consolidation
        n = len(sim.submit)
        self.migrations = [0] * n  # moves begun (its first byte sent, or stopped for a restart)
        self.moves_done = [0] * n  # of them, those it ran again after (resume())
        self.migration_s = [0.0] * n
        self.downtime_s = [0.0] * n
        self.migrated_gib = [0.0] * n
        self.link_share = [0.0] * n  # summed over its moves over a link, divided by their count at the end
        self.link_moves = [0] * n
        # core-seconds done before its moves that kept its state (live, checkpoint): a
        # later failure or restart loses them with the current attempt's (forget())
        self.kept_core_s = [0.0] * n
        self.moving: dict = {}  # instance -> the host holding a booking for it (its move's target)
        self.held: list = []  # sources holding a checkpointed instance's booking until its images are sent
        # instance -> (epoch, batch work left or None, attempt start, stopped at, the move's
        # (duration, GiB, link share)): counted when it runs again (resume())
        self.carry: dict = {}
        # instances a move's restart submitted again, since their last failure: one that
        # waits in vain ends evicted, not failed (Simulation._fail takes it out)
        self.evicted: set[int] = set()
        self.cordons = [0] * len(sim.hosts)  # drains and consolidations keeping each machine cordoned
        self.servicing = [0] * len(sim.hosts)  # drains keeping each machine down for maintenance
        # One row per move: instance, kind ("live", "checkpoint", "restart"), source, target
        # (-1: submitted again), start, switch (stops on the source), end, GiB, downtime.
        self.log: list[tuple] = []
        self.windows: list[tuple[int, float, float]] = []  # (physical host, down from, down until)
        self.drained: list[tuple[int, float, float]] = []  # (physical host, cordoned at, empty at)
        # drains under way: id -> (physical host, cordoned at, until when it stays cordoned: None for maintenance)
        self.draining: dict[int, tuple[int, float, float | None]] = {}
        # instances whose last try to leave a drained host found no host with room
        self.no_room: set[int] = set()
        # the rolling drain's hosts in turn, and how many it has begun (None: not begun)
        self.rolling: list[int] = sorted(set(sim.physical)) if maintenance.rolling_start_s is not None else []
        self.rolled: int | None = None

    # --- schedule ----------------------------------------------------------------------

    def start(self) -> None:
        """Plan the listed and rolling drains and the consolidation rounds."""
        env, spec = self.sim.env, self.maintenance
        for j, t_s in spec.drains:
            env.process(self._drain_at(j, t_s))
        if spec.rolling_start_s is not None:
            env.process(self._rolling(spec.rolling_start_s))
        if self.consolidation.active:
            env.process(self._consolidate())

    def predicted(self, j: int, delay_s: float) -> None:
        """A failure of physical host ``j`` in ``delay_s``: with predictions on, drain the
        host ``predict_failures_s`` before it (at once if that is past); it stays
        cordoned until the failure, which takes it down."""
        lead = self.maintenance.predict_failures_s
        if lead:
            env = self.sim.env
            env.process(self._drain_at(j, env.now + max(delay_s - lead, 0.0), until_s=env.now + delay_s))

    def _drain_at(self, j: int, t_s: float, until_s: float | None = None):
        env = self.sim.env
        if t_s > env.now:
            yield env.timeout(t_s - env.now)
        yield from self._drain(j, until_s)

    def _rolling(self, start_s: float):
        env = self.sim.env
        yield env.timeout(start_s)
        for k, j in enumerate(self.rolling):
            self.rolled = k + 1
            yield from self._drain(j, None)

    # --- drains ------------------------------------------------------------------------

    def _machines(self, j: int) -> list:
        return [h for h in self.sim.hosts if self.sim.physical[h.index] == j]

    def _cordon(self, machines: list, now: float, change: int) -> None:
        for host in machines:
            self.cordons[host.index] += change
            host.set_down(now, cordoned=self.cordons[host.index] > 0)

    def _service(self, machines: list, now: float, change: int) -> None:
        for host in machines:
            self.servicing[host.index] += change
            host.set_down(now, maintenance=self.servicing[host.index] > 0)

    def _residents(self, machines: list) -> list[int]:
        """Instances on these machines (starting, running or backing off), by index."""
        sim = self.sim
        on = {h.index for h in machines if h.resident}
        if not on:
            return []
        return [i for i, (h, s) in enumerate(zip(sim.host_of, sim.state))
                if h in on and s in (STARTING, RUNNING, BACKOFF) and i not in self.moving]

    def _drain(self, j: int, until_s: float | None):
        """Cordon physical host ``j``, move its instances away one at a time, then keep it
        down for maintenance (or, ahead of a predicted failure, cordoned until it)."""
        sim, env = self.sim, self.sim.env
        machines = self._machines(j)
        here = {h.index for h in machines}
        self._cordon(machines, env.now, +1)
        began = env.now
        key = len(self.draining) + len(self.drained)
        self.draining[key] = (j, began, until_s)
        while True:
            residents = self._residents(machines)
            # moves under way from here, or to here (booked before the cordon): wait for them
            pending = any(sim.host_of[i] in here or target.index in here for i, target in self.moving.items())
            if not residents and not pending:
                break
            moved = False
            for i in residents:
                if sim.host_of[i] in here and sim.state[i] in (STARTING, RUNNING, BACKOFF):
                    moved = (yield from self._move_away(i)) or moved
            if not moved:
                yield env.timeout(self.maintenance.retry_s)
        self.drained.append((j, began, env.now))
        del self.draining[key]
        if until_s is None and self.maintenance.maintenance_s > 0:
            self._service(machines, env.now, +1)
            self.windows.append((j, env.now, env.now + self.maintenance.maintenance_s))
            # The window ends URGENT, as a repair does (Simulation._after): a failure or a
            # request at its very end meets the host up (a plain timeout let those queued
            # for that instant first find it still down).
            ended = env.event()  # a rolling drain goes on to the next host once this one is back
            sim._after(self.maintenance.maintenance_s, self._serviced, (machines, ended), URGENT)
            yield ended
            return
        if until_s is not None and until_s > env.now:
            yield env.timeout(until_s - env.now)
        self._back(machines, env.now)

    def _serviced(self, now: float, value) -> None:
        """A maintenance window ends: its machines are up, and take instances again; the
        drain waiting for it (``value``: the machines and its event) goes on."""
        machines, ended = value
        self._service(machines, now, -1)
        self._back(machines, now)
        ended.succeed()

    def _back(self, machines: list, now: float) -> None:
        """A drain's machines uncordoned at ``now``; the queue tries them."""
        self._cordon(machines, now, -1)
        if self.sim.queue:
            self.sim._drain_queue(now)

    def _move_away(self, i: int):
        """Move ``i`` off its (cordoned) host: live, by checkpoint or by a restart. A
        generator returning whether it left."""
        sim = self.sim
        if i in self.moving:
            return False  # another drain of this host (or a consolidation) is moving it
        live = sim.state[i] == RUNNING and (sim.vm or self.migration.container == "checkpoint")
        if not live:
            self._evict(i)
            return True
        target = sim._place(i)
        if target is None:
            self.no_room.add(i)
            return False
        self.no_room.discard(i)
        self._reserve(i, target, sim.env.now)
        return (yield from self._migrate(i, target))

    def warnings(self, name: str) -> tuple[str, ...]:
        """At the run's end: a line for each drain that never emptied its host, naming the
        host, when it was cordoned and why each instance still on it stayed (no other
        host had room at its last try; still moving off when the run ended; not yet
        tried, behind the move under way: one at a time), and, for a rolling drain held
        up, the hosts it never reached: their maintenance was not done either."""
        lines = []
        for j, began, until_s in self.draining.values():
            why = "its maintenance was not done" if until_s is None else (
                f"it was not emptied ahead of its predicted failure at {moment(until_s)} s")
            lines.append(f"{name}: maintenance: the drain of host {j} from {moment(began)} s never emptied it "
                         f"({self._stayed(j)}): it stayed cordoned, taking nothing new, until the run's end "
                         f"({moment(self.sim.duration_s)} s), and {why}")
        unreached = self.rolling[self.rolled:] if self.rolled is not None else []
        if unreached:
            last = self.rolling[self.rolled - 1]
            stalled = any(j == last and until_s is None for j, _, until_s in self.draining.values())
            held = f"host {last}'s drain never emptied it" if stalled else f"host {last} was still down for maintenance"
            one = len(unreached) == 1
            lines.append(f"{name}: maintenance: the rolling drain never reached host{'' if one else 's'} "
                         f"{_hosts(unreached)} by the run's end ({moment(self.sim.duration_s)} s): it drains one host "
                         f"at a time, and {held}; {'its' if one else 'their'} maintenance was not done "
                         f"({len(unreached):,} of {len(self.rolling):,} hosts)")
        return tuple(lines)

    def _stayed(self, j: int) -> str:
        """Why the instances still on (or moving onto) drained host ``j`` are there, counted
        by reason: "3 instances left: 2 no other host had room for at their last try, 1
        still moving off when the run ended"."""
        sim = self.sim
        machines = self._machines(j)
        here = {h.index for h in machines}
        residents = self._residents(machines)
        no_room = sum(i in self.no_room for i in residents)
        leaving = sum(sim.host_of[i] in here for i in self.moving)
        arriving = sum(target.index in here and sim.host_of[i] not in here for i, target in self.moving.items())
        counted = ((no_room, "no other host had room for at {} last try"),
                   (leaving, "still moving off when the run ended"),
                   (len(residents) - no_room, "not yet tried, waiting behind the move under way (one at a time)"),
                   (arriving, "moving onto it (booked before the cordon) when the run ended"))
        total = sum(count for count, _ in counted)
        reasons = ", ".join(f"{count:,} {what.format('its' if count == 1 else 'their')}"
                            for count, what in counted if count)
        return f"{total:,} instance{'' if total == 1 else 's'} left: {reasons}"

    def host_columns(self) -> dict:
        """The hosts' maintenance columns, a value per host (a node VM's are its machine's):
        ``maintenance_done``, the maintenance windows its machine began (down for
        maintenance, the window maybe cut short by the run's end), and
        ``maintenance_not_done``, maintenance due on it that never began by the run's end
        (a drain that never emptied it, or a rolling drain that never reached it)."""
        physical = self.sim.physical
        done = {j: 0 for j in physical}
        missed = {j: 0 for j in physical}
        for j, _, _ in self.windows:
            done[j] += 1
        for j, _, until_s in self.draining.values():
            if until_s is None:
                missed[j] += 1
        for j in self.rolling[self.rolled:] if self.rolled is not None else []:
            missed[j] += 1
        return {"maintenance_done": [done[j] for j in physical], "maintenance_not_done": [missed[j] for j in physical]}

    # --- one move ----------------------------------------------------------------------

    def _reserve(self, i: int, target, now: float) -> None:
        """Book ``i`` on ``target`` for its move: its cores and memory are held there (the
        guest's memory is allocated from the first byte), and the host counts as holding
        something (it is on), but the instance is resident on its source until the
        switch: the fleet's count, the target's peak and the timeseries' ``resident``
        count it once, there (``Bookings.incoming``)."""
        assert i not in self.moving, f"instance {i} is being moved already"
        fleet, j = self.sim.booked, target.index
        peak, host_peak = fleet.fleet_peak, fleet.peak[j]
        target.book(now, self.sim.book_cpu[i], self.sim.book_mem[i])
        fleet.incoming[j] += 1
        fleet.fleet_resident -= 1
        fleet.fleet_peak = max(peak, fleet.fleet_resident)
        fleet.peak[j] = max(host_peak, fleet.resident[j] - fleet.incoming[j])
        self.moving[i] = target

    def _hold(self, i: int, source, now: float, held_s: float) -> None:
        """After a checkpoint's switch at ``now``, ``source`` keeps ``i``'s booking
        (memory, CPU, the host on) ``held_s`` more, while its images are dumped and sent
        (:func:`checkpoint_restore`); ``i``, resident on its target from the switch,
        counts once, there (a move's booking, as :meth:`_reserve`'s)."""
        fleet, j = self.sim.booked, source.index
        peak, host_peak = fleet.fleet_peak, fleet.peak[j]
        source.book(now, self.sim.book_cpu[i], self.sim.book_mem[i])
        fleet.incoming[j] += 1
        fleet.fleet_resident -= 1
        fleet.fleet_peak, fleet.peak[j] = peak, host_peak  # not a resident: the peaks as they were
        self.held.append(source)
        self.sim._after(held_s, self._sent, (i, source))

    def _sent(self, now: float, value) -> None:
        """A checkpoint's images are on the target: its source lets the instance go."""
        i, source = value
        self.held.remove(source)
        source.advance(now)  # its resident time up to now without i (a move's booking), first
        self.sim.booked.incoming[source.index] -= 1
        source.release(now, self.sim.book_cpu[i], self.sim.book_mem[i])
        self.sim.booked.fleet_resident += 1

    def _unreserve(self, i: int, now: float) -> None:
        target = self.moving.pop(i, None)
        if target is not None:
            target.advance(now)  # its resident time up to now without i (a move's booking), first
            self.sim.booked.incoming[target.index] -= 1
            target.release(now, self.sim.book_cpu[i], self.sim.book_mem[i])
            self.sim.booked.fleet_resident += 1

    def _arrived(self, i: int, target, now: float) -> None:
        """The switch at ``now``: ``i``, booked on ``target`` already, is resident there from now."""
        fleet, j = self.sim.booked, target.index
        del self.moving[i]
        target.advance(now)  # its resident time up to now without i (HostState.advance: not a move's booking)
        fleet.incoming[j] -= 1
        fleet.fleet_resident += 1  # back on the fleet: the target's booking holds it
        fleet.peak[j] = max(fleet.peak[j], fleet.resident[j] - fleet.incoming[j])

    def target_lost(self, host, now: float) -> None:
        """``host`` fails: the moves that had booked it as their target are called off
        now (their bookings go; each move's process finds that at its switch)."""
        for i in [i for i, target in self.moving.items() if target is host]:
            self._unreserve(i, now)

    def left(self, i: int, now: float) -> None:
        """``i`` ended, failed or was killed for good before its move's switch: the
        target's booking goes (the engine's ``_leave`` calls this)."""
        self._unreserve(i, now)

    def _plan(self, i: int, source, target) -> Move:
        sim, spec = self.sim, self.migration
        if sim.vm:
            # Pre-copy sends every page of the guest (Clark et al. 2005, §3: "During the
            # first iteration, all pages are transferred from A to B"), its OS's too; not the VMM's process
            # outside it, which the target runs its own of (QEMU's -incoming). Not the
            # host's resident overhead, which under catalogue sizing counts the guest OS.
            memory = guest_memory_gib(sim.platform, sim.book_mem[i])
            return precopy(memory, spec.bandwidth_mib_s / MIB_PER_GIB, spec.dirty_mib_s / MIB_PER_GIB,
                           spec.downtime_limit_s, spec.max_rounds)
        resident = source.mem[sim.slot_of[i]]
        return checkpoint_restore(resident, source.spec.disk_write_mib_s, spec.bandwidth_mib_s,
                                  target.spec.disk_write_mib_s)

    def _migrate(self, i: int, target):
        """Move running ``i`` to ``target`` (booked for it already): the live phase on its
        source, then the switch and the downtime. A generator returning whether it moved;
        not if it stopped running meanwhile or the target went down or was cordoned (its
        booking goes)."""
        sim, env = self.sim, self.sim.env
        source = sim.hosts[sim.host_of[i]]
        if sim.state[i] != RUNNING or self.moving.get(i) is not target:
            self._unreserve(i, env.now)
            return False
        move = self._plan(i, source, target)
        began = env.now
        self.migrations[i] += 1  # begun: a move cut short (its target lost, the run's end) counts as begun
        live_s = move.duration_s - move.downtime_s
        if live_s > 0:
            yield env.timeout(live_s)
        now = env.now
        if self.moving.get(i) is not target:
            return False  # it left its source meanwhile (left() took the booking back)
        if sim.state[i] != RUNNING or target.down or sim.host_of[i] != source.index:  # target cordoned, out
            self._unreserve(i, now)
            return False
        self._arrived(i, target, now)
        rem = self._off(i, now, lose=False)
        self.kept_core_s[i] += sim.last_work  # the source's attempt's work goes with it
        sim.host_of[i] = target.index
        sim.stay_s[i] = now
        if sim.needs[i]:
            sim.caches[target.index].pin(sim.needs[i])
        sim.state[i] = STARTING
        sim.booked.start(target.index)
        link = min(source.spec.net_gbps, target.spec.net_gbps) * GIB_S_PER_GBPS
        self.carry[i] = (sim.epoch[i], rem, sim.attempt_s[i], now,
                         (move.duration_s, move.moved_gib, self.migration.bandwidth_mib_s / MIB_PER_GIB / link))
        sim._after(move.downtime_s, sim.lane.h_ready, (i, sim.epoch[i]))
        if move.held_s > 0:
            self._hold(i, source, now, move.held_s)
        kind = "live" if sim.vm else "checkpoint"
        self.log.append((i, kind, source.index, target.index, began, now, now + move.downtime_s, move.moved_gib,
                         move.downtime_s))
        if move.downtime_s > 0:
            yield env.timeout(move.downtime_s)  # the link is this move's until the end
        return True

    def _evict(self, i: int, onto=None) -> None:
        """Stop ``i`` (its state lost) and submit it again: it starts elsewhere as any
        start does, or waits, or is refused (outcome ``evicted``); ``onto``: the host a
        consolidation's plan found for it (:meth:`_carry_out`), where it starts. A move begun
        (``migrations``), done when ``i`` runs again (:meth:`resume`) if it was running.

        One not running when stopped (a VM booting, a container starting or backing off)
        had no service for the move to interrupt: its stop is a move begun and never
        done, and counts no downtime; what the stop cost it shows in its start
        (``ready_s``) and the availability, not in the moves' figures (before, a start
        stopped while pulling counted its whole new start as a move's downtime).
        Kubernetes' drain evicts a Pending pod without consulting its
        PodDisruptionBudget (pkg/registry/core/pod/storage/eviction.go, ``canIgnorePDB``:
        ``api.PodPending``), and a budget counts only Ready pods as healthy
        (pkg/controller/disruption/disruption.go, ``countHealthyPods``): stopping a pod
        that serves nothing disrupts nothing. But one still starting after an earlier
        move, not run since, keeps that move under way: it is done when ``i`` runs, its
        downtime from that move's stop, this restart's delay included."""
        sim = self.sim
        now = sim.env.now
        source = sim.host_of[i]
        running, epoch = sim.state[i] == RUNNING, sim.epoch[i]
        self._off(i, now, lose=True)
        earlier = self.carry.get(i)
        if running:
            self.carry[i] = (sim.epoch[i], None, now, now, (0.0, 0.0, 0.0))
        elif earlier is not None and earlier[0] == epoch:  # that move goes on (its state, if kept, lost now)
            self.carry[i] = (sim.epoch[i], None, now, earlier[3], earlier[4])
        self.migrations[i] += 1
        self.evicted.add(i)
        sim.off_host.left(i, now)
        sim.end_s[i] = float("nan")
        sim.state[i] = WAITING
        sim._submit(i, now, None if onto is None else onto.index)
        if sim.state[i] == REJECTED:  # refused: evicted (Lane.requeued_as)
            sim.state[i] = sim.lane.requeued_as(i)
        self.log.append((i, "restart", source, sim.host_of[i] if sim.host_of[i] != source else -1, now, now,
                         float("nan"), 0.0, float("nan")))

    def forget(self, i: int) -> float:
        """``i`` starts again from scratch (a failure, a restart, an OOM kill): the
        core-seconds its earlier moves had carried, which it loses, and none kept now."""
        kept, self.kept_core_s[i] = self.kept_core_s[i], 0.0
        return kept

    def _count(self, i: int, duration_s: float, moved_gib: float, link_share: float) -> None:
        self.moves_done[i] += 1
        self.migration_s[i] += duration_s
        self.migrated_gib[i] += moved_gib
        if moved_gib > 0:
            self.link_share[i] += link_share
            self.link_moves[i] += 1

    def _off(self, i: int, now: float, lose: bool) -> float | None:
        """Take ``i`` off its host (running set, start, booking, image pins) with its
        integrals kept; a new epoch voids its pending timers. Returns its batch work
        left (full-speed seconds) when it was running, else None. ``lose``: the work
        done so far counts as lost (a restart)."""
        sim = self.sim
        host = sim.hosts[sim.host_of[i]]
        rem = None
        if sim.state[i] == RUNNING:
            host.settle(now)
            rem = host.rem[sim.slot_of[i]]
        sim.lane.take_off(i, host.index, now, lost=lose)
        sim.epoch[i] += 1
        sim.lane.let_go(i, host.index, now)
        return rem

    def resume(self, i: int, now: float, work_s: float, attempt_s: float) -> tuple[float, float]:
        """``i`` runs again after a move (the engine's ``_run_on`` asks): its batch work
        left and its attempt's start (a moved guest continues; a restarted one starts
        afresh). The pause counts as downtime, not as run time. Only here is a move
        done (``moves_done``; its duration, GiB, downtime counted): one whose instance
        never ran again after it (evicted: refused or given up waiting; cut short by a
        failure of its target, or by the run's end) is a move begun (``migrations``)
        and no more."""
        carried = self.carry.pop(i, None)
        if carried is None or carried[0] != self.sim.epoch[i]:
            return work_s, attempt_s  # an ordinary start, or the move's start was voided by a failure
        _, rem, attempt, stopped, move = carried
        self.downtime_s[i] += now - stopped
        self._count(i, *move)  # a completed move: running again
        if rem is None:  # restarted: its state was lost
            return work_s, attempt_s
        self.sim.run_s[i] -= now - attempt  # _account counts from the attempt's start: not the pause
        return rem, attempt

    # --- consolidation ----------------------------------------------------------------

    def _consolidate(self):
        """Every ``interval_s``: empty the least used hosts under ``under`` whose
        instances all fit now on hosts that are neither under ``under`` nor over ``over``
        once they hold them, least used first; move instances off hosts over ``over``,
        smallest memory first, until the rest is within it, onto hosts they leave within
        ``over`` (:meth:`_fits_round`, CloudSim Plus's rules). Only instances settled
        ``min_stay_s`` on their host move; a host holding one that is not is not emptied."""
        sim, env, spec = self.sim, self.sim.env, self.consolidation
        while True:
            yield env.timeout(spec.interval_s)
            now = env.now
            use = {h.index: h.cpu_used / h.cores for h in sim.hosts if h.resident and not h.down}
            added = [0.0] * len(sim.hosts)  # cores of demand this round's plans send to each host
            for index in sorted((k for k, u in use.items() if u < spec.under), key=lambda k: (use[k], k)):
                host = sim.hosts[index]
                if host.down or not host.resident:
                    continue
                running = self._running(host)
                if not all(self._settled(i, now) for i in running):
                    continue  # something arrived lately: emptying it now would move it again
                plan = self._plan_off(host, running, now, added, emptying=True)
                if plan is not None:
                    env.process(self._carry_out(host, plan, keep_cordoned=True))
            for index in sorted(k for k, u in use.items() if u > spec.over):
                host = sim.hosts[index]
                if host.down:
                    continue
                chosen, excess = [], host.cpu_used - spec.over * host.cores
                for i in sorted((i for i in self._running(host) if self._settled(i, now)),
                                key=lambda i: (sim.book_mem[i], i)):
                    if excess <= 0:
                        break
                    chosen.append(i)
                    excess -= host.demand[sim.slot_of[i]]
                plan = self._plan_off(host, chosen, now, added, emptying=False)
                if plan:
                    env.process(self._carry_out(host, plan, keep_cordoned=False))

    def _settled(self, i: int, now: float) -> bool:
        """``i`` has been on its host ``min_stay_s`` at least (placed, restarted or moved there)."""
        return now - self.sim.stay_s[i] >= self.consolidation.min_stay_s

    def _running(self, host) -> list[int]:
        return [i for i in host.inst if i not in self.moving]

    def _fits_round(self, target, demand: float, added: list[float], emptying: bool) -> bool:
        """Whether a consolidation may send an instance using ``demand`` cores to
        ``target``, which this round's plans send ``added`` cores already: the target is
        not over ``over`` after it, and, emptying an underloaded host, not itself under
        ``under`` (so a switched-off host, using nothing, is never switched on for it;
        nor is a host emptied onto one the next round would empty back). CloudSim Plus,
        VmAllocationPolicyMigrationAbstract: ``findHostForVm`` takes only a host that
        ``isNotHostOverloadedAfterAllocation``, and ``getNewVmPlacementFromUnderloadedHost``
        adds ``!isUnderloaded(host)``; its plan's VMs count on their targets
        (``addVmToMigrationMap``'s temporary VMs), as ``added`` does here."""
        spec = self.consolidation
        used = target.cpu_used + added[target.index]
        return used + demand <= spec.over * target.cores and not (emptying and used < spec.under * target.cores)

    def _plan_off(self, host, instances: list[int], now: float, added: list[float], emptying: bool):
        """Targets for ``instances`` by the placement rule among the hosts that
        :meth:`_fits_round` allows (the others cordoned meanwhile), ``host`` cordoned, each
        booked as found so the next sees it, its demand counted in ``added``. Emptying a
        host, all or none: if one finds no host, the bookings go and ``host`` is
        uncordoned; None. Else the host stays cordoned. Not emptying (an overloaded
        host), those that find one go; ``host`` is uncordoned at once."""
        sim = self.sim
        if emptying and host.resident != len(instances):
            return None  # some instance is starting or backing off: not now
        self._cordon([host], now, +1)
        plan = []
        for i in instances:
            demand = host.demand[sim.slot_of[i]]
            barred = [h for h in sim.hosts if not h.down and not self._fits_round(h, demand, added, emptying)]
            self._cordon(barred, now, +1)
            target = sim._place(i)
            self._cordon(barred, now, -1)
            if target is None:
                if emptying:
                    for k, j in plan:
                        self._unreserve(k, now)
                        added[j.index] -= host.demand[sim.slot_of[k]]
                    self._cordon([host], now, -1)
                    return None
                continue
            self._reserve(i, target, now)
            added[target.index] += demand
            plan.append((i, target))
        if not emptying:
            self._cordon([host], now, -1)
        return plan

    def _carry_out(self, host, plan: list, keep_cordoned: bool):
        """Move each planned instance to its booked target. A restarted container starts
        on its target, not wherever the placement would now put a new request: that
        could be a switched-off host, which emptying must not switch on (its round
        cordoned them only while it planned), and the host it left would be emptied
        again next round. Kubernetes' Cluster Autoscaler drains a node only once its
        simulation found every pod a place on the nodes kept (cluster-autoscaler
        FAQ, "How does scale-down work?"), and CloudSim Plus migrates a VM to the host
        its plan chose (VmAllocationPolicyMigrationAbstract.getOptimizedAllocationMap)."""
        sim = self.sim
        for i, target in plan:
            if not sim.vm and self.migration.container == "restart":
                booked = self.moving.get(i) is target  # not called off meanwhile (target_lost, left)
                self._unreserve(i, sim.env.now)
                if booked and sim.state[i] == RUNNING and sim.host_of[i] == host.index and not target.down:
                    self._evict(i, onto=target)
                continue
            yield from self._migrate(i, target)
        if keep_cordoned:
            self._cordon([host], sim.env.now, -1)
            if sim.queue:
                sim._drain_queue(sim.env.now)

    # --- tables ------------------------------------------------------------------------

    def columns(self) -> dict:
        """The instances' move columns: moves begun (live or checkpoint: its first byte
        sent, cut short or not; restart: stopped), and over the moves done (the instance ran again
        after it: :meth:`resume`) their count, seconds moving, seconds not running
        because of a move (to running again), GiB sent, and the mean share of the
        narrower link a move's bandwidth took."""
        return move_columns(self.migrations, self.moves_done, self.migration_s, self.downtime_s, self.migrated_gib,
                            self.link_share, self.link_moves)


def move_columns(migrations: list[int], moves_done: list[int], migration_s: list[float], downtime_s: list[float],
                 migrated_gib: list[float], link_share: list[float], link_moves: list[int]) -> dict:
    """The instances' move columns from a :class:`Mover`'s records (:meth:`Mover.columns`):
    ``link_share`` summed over ``link_moves`` moves over a link, their mean (NaN for none)."""
    share = [s / m if m else float("nan") for s, m in zip(link_share, link_moves)]
    return {"migrations": migrations, "moves_done": moves_done, "migration_s": migration_s,
            "downtime_s": downtime_s, "migrated_gib": migrated_gib, "migration_link_share": share}


def unmoved_columns(n: int) -> dict:
    """The move columns (:meth:`Mover.columns`) of ``n`` instances no move touched, as a
    run with drains gives its instances never moved: 0 moves, 0 s, 0 GiB, no link share.
    For a cell with no drain nor consolidation of a fleet of cells whose other cells have
    them (:func:`simdc.cells.run_cell`): its moves count 0, as a fleet's would, not
    missing."""
    counts, amounts = [0] * n, [0.0] * n
    return move_columns(counts, counts, amounts, amounts, amounts, amounts, counts)
