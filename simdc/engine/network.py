"""Image transfers as fluid flows sharing links max-min fairly, in virtual time.

Every flow crosses one shared link (the registry's or mirror's egress) and, before it,
at most one link of its own (its host's network link). Rates are max-min fair: the
most constrained link is shared equally by the flows crossing it, and what those flows
cannot use goes to the others (progressive filling). Rates change only when a flow
starts or ends; the next completion is one timed event.

Flows that cross the same links always get the same rate, so they form a *group* (one
per host link) served as processor sharing in virtual time: the group's clock counts
the GiB each of its flows has received, a flow's finish tag is the clock at its start
plus its size, and the flow with the smallest tag ends first (the virtual time of fair
queueing: Demers, Keshav & Shenker, SIGCOMM 1989). On this star of links, max-min
fairness is water-filling (Bertsekas & Gallager, *Data Networks*, 2nd ed., 1992, §6.5,
max-min flow control): a group whose own link gives each of its flows less than the
shared link would (``capacity / flows < λ``) is *limited* by its own link and runs at
that share; every other group runs at the shared link's fair share of what the limited
groups leave, ``λ = (C_shared − Σ C_limited) / (flows not limited)``. The limited
groups are those with the smallest per-flow share, so a change moves few groups
between the two sets. The groups on the shared link keep no clock of their own: they
run on one shared virtual clock, each with an offset. A flow's start or end therefore
costs O(log n) plus the groups it moves, instead of settling and resharing every flow.

End times agree with recomputing every rate by progressive filling at every change
(the engine before issue #16) to rounding: ``tests/engine/test_network.py`` holds the
two to 1e-9 s over random flows and links.

The network keeps time with timers: one at the next completion, planned again at every
change (an older plan's timer finds its token stale and does nothing). The engine gives
it its own timer heap (``after``, :meth:`simdc.engine.simulation.Simulation._after`) and
has a flow's end call what comes next (``then``): no SimPy event at all. Without
``after`` the timers are SimPy timeouts on ``env``, and a flow without ``then`` gives a
SimPy event that succeeds when it ends.

A flow can be called off (:meth:`Network.cancel`: a host that fails stops its pulls).
Its finish tag cannot be taken out of the middle of its group's heap in O(log n), so it
stays there, dead (its id no longer among the flows under way), and is dropped when it
comes to the top; a group counts its live flows (``n``), and its head is always live, so
the rest of the model reads as before. Then its group's rate and the water level are
redone as at any end: the others get its share at once.

The same model serves the hosts' disks (:meth:`simdc.engine.simulation.Simulation._write`):
each host's disk is a flow's own link and the shared link is unlimited (``inf``), so every
group is limited by its own link and the writes on one disk share it equally (processor
sharing), those on different disks never meet.
"""

from __future__ import annotations

from heapq import heapify, heappop, heappush
from itertools import count
from typing import Callable, Hashable

import simpy

GIB_S_PER_GBPS = 1e9 / 8 / 2**30  # 1 Gbit/s in GiB/s
DONE_GIB = 1e-12
# Virtual clocks are brought back to 0 once they pass this many GiB, so that a tag minus
# a clock keeps its precision: an ulp of 1,024 GiB (2.3e-13 GiB) is 2.3e-10 s at 1 MiB/s.
REBASE_GIB = 1024.0
INF = float("inf")


class _Group:
    """The flows crossing the same links, so always at one rate: a heap of finish tags
    ``(tag_gib, flow id)`` on the group's virtual clock ``clock_gib`` (as of ``since_s``
    while the group is limited by its own link; ``shared clock + offset_gib`` while not).
    ``n`` flows are live; ``dead`` tags below the top are of flows called off."""

    __slots__ = ("cap", "tags", "n", "dead", "limited", "clock_gib", "since_s", "offset_gib", "version")

    def __init__(self, cap_gib_s: float):
        self.cap = cap_gib_s  # its own link's capacity (inf: crosses the shared link only)
        self.tags: list[tuple[float, int]] = []
        self.n = self.dead = 0
        self.limited = False
        self.clock_gib = 0.0
        self.since_s = 0.0
        self.offset_gib = 0.0
        self.version = 0  # heap entries carry it: an entry of an older version is stale


class Network:
    """Flows over a star of links: per flow one optional own link, then one shared link.

    Parameters
    ----------
    env : the SimPy environment whose clock (``env.now``, seconds) the transfers run on.
    capacity_gib_s : each link's capacity in GiB/s, keyed by the names flows cross.
    after : ``after(delay_s, handler, value)`` calls ``handler(t, value)`` at ``t = now +
        delay_s``, a NORMAL timer in SimPy's order (the engine's timer heap); None: a
        SimPy timeout on ``env``.
    at : with ``after``, ``at(t, eid, handler, value)`` puts a NORMAL timer with that key
        on the same heap (``eid`` one taken from ``env._eid`` earlier). Then a plan that
        comes after the timer already on the heap waits beside it and is put on the heap
        with its own key when that timer comes up void: it runs where it would have, and
        the heap holds one timer of the network's, not one a change.
    """

    def __init__(self, env: simpy.Environment, capacity_gib_s: dict[Hashable, float],
                 after: Callable[[float, Callable, object], None] | None = None,
                 at: Callable[[float, int, Callable, object], None] | None = None):
        self.env = env
        self.capacity = capacity_gib_s
        self.after = after if after is not None else self._simpy_after
        self.at = at if after is not None else None
        self.carrier_s, self.carrier = INF, 0  # the earliest plan's timer on the heap (with ``at``): time, token
        self.waiting: tuple[float, int, int] | None = None  # a later plan beside it: time, eid, token
        self.delivering = False  # ends are being delivered: a flow they start is planned after them
        # the flows under way: group, what their end calls, and finish tag (on the group's clock)
        self.flows: dict[int, tuple[_Group, object, float]] = {}
        self.ending: dict[int, tuple[_Group, object, float]] = {}  # ended, their ends being delivered
        self.next_id = 0
        self.token = 0
        self.shared: Hashable = None  # the link every flow ends on (the first flow's last)
        self.shared_cap = 0.0
        self.groups: dict[Hashable, _Group] = {}
        self.busy = 0  # groups with flows
        self.total = 0  # flows under way
        self.limited_flows = 0  # of them, in groups limited by their own link
        self.limited_caps: dict[float, int] = {}  # own-link capacity -> limited groups with it
        self.rate = 0.0  # λ, GiB/s per flow on the shared link (0 while it carries none)
        self.clock_gib = 0.0  # the shared virtual clock, as of since_s
        self.since_s = 0.0
        self.seq = count()
        # heaps of (key, seq, group, version); an entry is live while its version is the group's
        self.open_tags: list = []  # groups on the shared link, by head tag on the shared clock
        self.open_shares: list = []  # the same groups, by own-link share per flow (smallest first)
        self.limited_ends: list = []  # limited groups, by the time their head flow ends
        self.limited_shares: list = []  # limited groups, by minus own-link share per flow

    def transfer(self, links: tuple[Hashable, ...], size_gib: float,
                 then: tuple[Callable, object] | None = None) -> simpy.Event | None:
        """A flow of ``size_gib`` (GiB) across ``links``: one link, or a flow's own link
        then the shared link. Every flow must end on the same shared link (raises
        ValueError otherwise). When it has crossed, ``then = (handler, value)`` is called
        as ``handler(now, value)``, from the timer that found it done, once the network
        has settled (flows ending together in the order they started; a flow of no size
        at once, and None is returned), and the flow's id is returned (for :meth:`cancel`).
        ``handler`` may start a flow (the network plans its next timer once every end is
        delivered). Without ``then``, the SimPy event returned succeeds then (scheduled
        at that instant, in the same order)."""
        done = self.env.event() if then is None else then
        if size_gib <= 0:
            self._deliver(done)
            return None if then is not None else done
        if len(links) not in (1, 2):
            raise ValueError(f"a flow crosses one or two links, got {links!r}")
        if self.shared is None:
            self.shared, self.shared_cap = links[-1], self.capacity[links[-1]]
        elif links[-1] != self.shared:
            raise ValueError(f"every flow must end on the shared link {self.shared!r}, got {links!r}")
        key = links[0] if len(links) == 2 else None
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = _Group(self.capacity[key] if key is not None else INF)
        now = self.env.now
        if self.shared_cap == INF and key is not None:
            fid = self._own_link(group, size_gib, done, now)
            return fid if then is not None else done
        self._advance(now)
        if group.limited:
            self._advance_group(group, now)
        if not group.tags:
            self.busy += 1
            group.clock_gib, group.since_s, group.offset_gib = 0.0, now, -self.clock_gib
        clock = self._clock(group)
        if clock > REBASE_GIB:  # bring the group's clock back to 0, its tags with it
            self._rebase_group(group, clock)
            group.clock_gib, group.since_s, group.offset_gib, clock = 0.0, now, -self.clock_gib, 0.0
        fid = self.next_id
        self.next_id += 1
        tag = clock + size_gib
        heappush(group.tags, (tag, fid))
        self.flows[fid] = (group, done, tag)
        group.n += 1
        self.total += 1
        if group.limited:
            self.limited_flows += 1
        self._post(group)
        self._refill()
        if not self.delivering:
            self._plan()
        return fid if then is not None else done

    def _own_link(self, group: _Group, size_gib: float, done, now: float) -> int:
        """:meth:`transfer` on a star whose shared link is unlimited (a host's disk writes,
        :meth:`simdc.engine.simulation.Simulation._write`): every group is limited by its
        own link from its first flow on, so nothing is water-filled. The same operations
        as the general path takes on each value (a group joins at clock 0 and is limited at
        once; a limited group's clock advances before its share changes), so the same
        doubles, without filing the group on the shared link first and moving it. The flow's id."""
        if group.tags:  # limited already: its clock to now before its share changes
            self._advance_group(group, now)
        else:
            self.busy += 1
            group.clock_gib, group.since_s, group.limited = 0.0, now, True
            self.limited_caps[group.cap] = self.limited_caps.get(group.cap, 0) + 1
        clock = group.clock_gib
        if clock > REBASE_GIB:  # bring the group's clock back to 0, its tags with it
            self._rebase_group(group, clock)
            group.clock_gib, group.since_s, clock = 0.0, now, 0.0
        fid = self.next_id
        self.next_id += 1
        tag = clock + size_gib
        heappush(group.tags, (tag, fid))
        self.flows[fid] = (group, done, tag)
        group.n += 1
        self.total += 1
        self.limited_flows += 1
        self._post(group)
        if not self.delivering:
            self._plan()
        return fid

    def cancel(self, fid: int) -> float:
        """Call off flow ``fid`` (an id :meth:`transfer` returned) now: its ``then`` is
        never called, and the flows it shared links with get its share at once, as when
        a flow ends. Returns the GiB it had still to cross (0.0 for a flow that has
        crossed but whose end is still being delivered at this instant). Raises KeyError
        for a flow that is not under way (ended and delivered, or called off before).
        O(log n) plus the groups whose limit changes, as a start or an end."""
        if fid in self.ending:  # crossed at this instant, its end not yet delivered: it never will be
            del self.ending[fid]
            return 0.0
        group, _, tag = self.flows.pop(fid)
        now = self.env.now
        self._advance(now)
        if group.limited:
            self._advance_group(group, now)
        left = tag - self._clock(group)
        group.n -= 1
        group.dead += 1
        self.total -= 1
        if group.limited:
            self.limited_flows -= 1
        self._drop_dead(group)
        if not group.tags:
            self.busy -= 1
            if group.limited:
                group.limited = False
                self.limited_caps[group.cap] -= 1
        self._post(group)
        self._refill()
        if not self.delivering:
            self._plan()
        return max(left, 0.0)

    def _drop_dead(self, group: _Group) -> None:
        """Drop the tags of called-off flows from the top of ``group``'s heap: its head is live."""
        tags, flows = group.tags, self.flows
        while tags and tags[0][1] not in flows:
            heappop(tags)
            group.dead -= 1

    def _rebase_group(self, group: _Group, clock: float) -> None:
        """``group``'s tags less ``clock`` (its clock brought back to 0), dead ones dropped."""
        flows = self.flows
        group.tags = [(tag - clock, fid) for tag, fid in group.tags if fid in flows]
        heapify(group.tags)
        group.dead = 0
        for tag, fid in group.tags:
            entry = flows[fid]
            flows[fid] = (group, entry[1], tag)

    def _simpy_after(self, delay_s: float, handler: Callable, value) -> None:
        """The timers without an engine's heap: a SimPy timeout on ``env``."""
        env = self.env
        env.timeout(delay_s, value).callbacks.append(lambda event: handler(env.now, event.value))

    def _deliver(self, done) -> None:
        """A flow has crossed: its SimPy event succeeds, or its ``then`` is called."""
        if isinstance(done, simpy.Event):
            done.succeed()
        else:
            handler, value = done
            handler(self.env.now, value)

    # --- virtual clocks --------------------------------------------------------------

    def _advance(self, now: float) -> None:
        """The shared clock to ``now`` (at the rate that held since it last moved)."""
        if now > self.since_s:
            self.clock_gib += self.rate * (now - self.since_s)
            self.since_s = now

    def _advance_group(self, group: _Group, now: float) -> None:
        """A limited group's clock to ``now``, before its rate changes."""
        if now > group.since_s:
            group.clock_gib += group.cap / group.n * (now - group.since_s)
            group.since_s = now

    def _clock(self, group: _Group) -> float:
        """A group's virtual clock now (the clocks advanced to now)."""
        return group.clock_gib if group.limited else self.clock_gib + group.offset_gib

    # --- water-filling ---------------------------------------------------------------

    def _shared_rate(self, drop: _Group | None = None) -> float:
        """λ: what the limited groups leave of the shared link, per flow not limited;
        with ``drop`` counted as not limited. Summed per distinct capacity in the same
        order every time, so the same sets give the same double (a group moved one way
        is never moved straight back by rounding)."""
        free, flows = self.shared_cap, self.total - self.limited_flows
        for cap, groups in self.limited_caps.items():
            if drop is not None and cap == drop.cap:
                groups -= 1
            free -= cap * groups
        if drop is not None:
            flows += drop.n
        return max(free, 0.0) / flows if flows else INF

    def _refill(self) -> None:
        """Move groups between limited and not until water-filling holds: every limited
        group's share per flow is below λ, and no other group's is. (An unlimited shared
        link limits no group's own: every group stays limited, :meth:`_own_link`.)"""
        if self.shared_cap == INF and self.total == self.limited_flows:
            self.rate, self.clock_gib = 0.0, 0.0
            return
        for _ in range(2 * len(self.groups) + 2):  # each move brings λ closer; a bound for ties
            entry = self._top(self.open_shares)
            if entry is not None and entry[0] < self._shared_rate():
                self._limit(entry[2])
                continue
            entry = self._top(self.limited_shares)
            if entry is not None and -entry[0] >= self._shared_rate(entry[2]):
                self._unlimit(entry[2])
                continue
            break
        self.rate = self._shared_rate() if self.total > self.limited_flows else 0.0
        if self.total == self.limited_flows:
            self.clock_gib = 0.0  # no group on the shared clock: start it again from 0
        elif self.clock_gib > REBASE_GIB:
            self._rebase()

    def _limit(self, group: _Group) -> None:
        group.clock_gib, group.since_s = self._clock(group), self.env.now
        group.limited = True
        self.limited_caps[group.cap] = self.limited_caps.get(group.cap, 0) + 1
        self.limited_flows += group.n
        self._post(group)

    def _unlimit(self, group: _Group) -> None:
        self._advance_group(group, self.env.now)
        group.offset_gib = group.clock_gib - self.clock_gib
        group.limited = False
        self.limited_caps[group.cap] -= 1
        self.limited_flows -= group.n
        self._post(group)

    def _rebase(self) -> None:
        """Bring the shared clock back to 0: each group on it keeps its clock in its offset."""
        shift, self.clock_gib = self.clock_gib, 0.0
        groups = {id(e[2]): e[2] for e in self.open_tags if e[3] == e[2].version}
        self.open_tags = []
        for group in groups.values():
            group.offset_gib += shift
            self.open_tags.append((group.tags[0][0] - group.offset_gib, next(self.seq), group, group.version))
        heapify(self.open_tags)

    # --- heaps -----------------------------------------------------------------------

    def _post(self, group: _Group) -> None:
        """The group changed (flows, rate or set): file it afresh in its set's heaps."""
        group.version += 1
        if not group.tags:
            return
        share, version, seq = group.cap / group.n, group.version, next(self.seq)
        if group.limited:
            ends = group.since_s + (group.tags[0][0] - group.clock_gib) / share if share > 0 else INF
            self._push(self.limited_ends, (ends, seq, group, version))
            self._push(self.limited_shares, (-share, seq, group, version))
        else:
            self._push(self.open_tags, (group.tags[0][0] - group.offset_gib, seq, group, version))
            self._push(self.open_shares, (share, seq, group, version))

    def _push(self, heap: list, entry: tuple) -> None:
        heappush(heap, entry)
        if len(heap) > 4 * self.busy + 64:  # drop stale entries: memory stays O(groups)
            heap[:] = [e for e in heap if e[3] == e[2].version]
            heapify(heap)

    @staticmethod
    def _top(heap: list):
        while heap:
            entry = heap[0]
            if entry[3] == entry[2].version:
                return entry
            heappop(heap)
        return None

    # --- completions -----------------------------------------------------------------

    def _plan(self) -> None:
        """One timed event at the next completion (a later change re-plans)."""
        self.token += 1
        ends = INF
        entry = self._top(self.open_tags)
        if entry is not None and self.rate > 0:
            ends = self.since_s + (entry[0] - self.clock_gib) / self.rate
        entry = self._top(self.limited_ends)
        if entry is not None and entry[0] < ends:
            ends = entry[0]
        if ends != INF:
            env, delay = self.env, max(ends - self.env.now, 0.0)
            t = env._now + delay  # the timer's time, as ``after`` makes it
            if self.at is None or t < self.carrier_s:  # before the carrier (at one time, the older comes first)
                self.carrier_s, self.carrier = t, self.token
                self.after(delay, self._on_done, self.token)
            else:
                self.waiting = (t, next(env._eid), self.token)

    def _on_done(self, now: float, token: int) -> None:
        """The timer of the plan ``token`` (stale if a later change planned again)."""
        if self.at is not None:
            if token != self.carrier:
                return  # an earlier plan took its place on the heap
            self.carrier_s = INF
            if token != self.token and self.waiting is not None and self.waiting[2] == self.token:
                t, eid, _ = self.waiting  # the latest plan, which this timer carries
                self.carrier_s, self.carrier, self.waiting = t, self.token, None
                self.at(t, eid, self._on_done, self.token)
                return
        if token != self.token:
            return  # a later change re-planned
        self._advance(now)
        finished = []
        while True:
            group = self._due(now)
            if group is None:
                break
            if group.limited:
                self._advance_group(group, now)
            _, fid = heappop(group.tags)
            finished.append(fid)
            group.n -= 1
            if group.dead:
                self._drop_dead(group)
            self.total -= 1
            if group.limited:
                self.limited_flows -= 1
                if not group.tags:
                    group.limited = False
                    self.limited_caps[group.cap] -= 1
            if not group.tags:
                self.busy -= 1
            self._post(group)
            self._refill()
        self.delivering = True
        ending, flows = self.ending, self.flows
        for fid in finished:
            ending[fid] = flows.pop(fid)
        try:
            for fid in sorted(finished):  # in the order the flows started, as events at one instant
                entry = ending.pop(fid, None)
                if entry is not None:  # not called off by an end delivered before it
                    self._deliver(entry[1])
        finally:
            self.delivering = False
            ending.clear()
        self._plan()

    def _due(self, now: float) -> _Group | None:
        """A group whose head flow is done at ``now``: (almost) nothing left, or what is
        left would end within the clock's resolution at this time (planned again, its end
        would fire at this same instant and transfer nothing, forever: a hang seen at
        t ≈ 16,878 s with 2e-12 GiB left)."""
        entry = self._top(self.open_tags)
        if entry is not None and self.rate > 0:
            left = entry[0] - self.clock_gib
            if left <= DONE_GIB * max(1.0, self.rate) or now + left / self.rate <= now:
                return entry[2]
        entry = self._top(self.limited_ends)
        if entry is not None and entry[0] != INF:
            group = entry[2]
            rate = group.cap / group.n
            left = group.tags[0][0] - (group.clock_gib + rate * (now - group.since_s))
            if left <= DONE_GIB * max(1.0, rate) or now + left / rate <= now:
                return group
        return None
