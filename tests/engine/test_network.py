"""Image-pull flows: each ends, whatever the clock's resolution (a livelock found by the
capacity-study benchmark, issue #16), when max-min fair sharing says it does (worked
cases by hand), and at the time the engine's former network (every rate recomputed by
progressive filling at every change, kept here as the reference) gives it."""

from __future__ import annotations

import pytest
import simpy
from hypothesis import given, settings, strategies as st

from simdc.engine import network


def test_a_flow_whose_rest_is_below_the_clocks_resolution_ends():
    """At t = 16,877.645 s, 2.06e-12 GiB left at 1.164 GiB/s is 1.8e-12 s of transfer,
    below the clock's resolution there (3.6e-12 s): its end used to be planned again at
    the same instant forever. It ends at once."""
    now, left_gib, rate_gib_s = 16877.64537099916, 2.06495931465156e-12, 1.1641532182693481
    assert now + left_gib / rate_gib_s == now
    assert left_gib > network.DONE_GIB * max(1.0, rate_gib_s)  # not "nothing left" by the old rule
    env = simpy.Environment(initial_time=now)
    net = network.Network(env, {"link": rate_gib_s})
    done = net.transfer(("link",), left_gib)
    env.run(until=now + 1.0)
    assert done.processed and not net.flows and env.now == now + 1.0


@settings(max_examples=60, deadline=None)
@given(st.floats(1e3, 1e9), st.lists(st.floats(1e-13, 10.0), min_size=1, max_size=6), st.floats(0.01, 10.0))
def test_every_flow_ends_at_size_over_its_fair_share(start_s, sizes, capacity):
    """Flows on one link, all started at ``start_s``: max-min fair is equal shares, so the
    k-th smallest ends after Σ_{j<k} (s_j − s_{j−1})·(n − j + 1)/capacity (processor
    sharing). Each ends, within the clock's resolution of that time, or 1e-9 relative."""
    env = simpy.Environment(initial_time=start_s)
    net = network.Network(env, {"link": capacity})
    ends = {}
    for k, size in enumerate(sizes):
        net.transfer(("link",), size).callbacks.append(lambda _, k=k: ends.setdefault(k, env.now))
    env.run()
    assert len(ends) == len(sizes) and not net.flows
    order = sorted(range(len(sizes)), key=lambda k: sizes[k])
    t, previous, n = start_s, 0.0, len(sizes)
    for j, k in enumerate(order):
        t += (sizes[k] - previous) * (n - j) / capacity
        previous = sizes[k]
        assert abs(ends[k] - t) <= 1e-9 * max(1.0, t - start_s) + 4 * (t * 2.3e-16) + 1e-12 * n, (k, ends[k], t)


class ReferenceNetwork:
    """The engine's network before virtual time (main at 8238555), kept as the reference:
    every start or end settles every flow and recomputes every rate by progressive
    filling (raise the rates of all unfixed flows together; the link that fills first
    fixes the flows crossing it)."""

    def __init__(self, env, capacity_gib_s):
        self.env, self.capacity = env, capacity_gib_s
        self.flows = {}  # id -> [left_gib, rate, links, event]
        self.next_id, self.last_t, self.token = 0, 0.0, 0

    def transfer(self, links, size_gib):
        return self.start(links, size_gib)[1]

    def start(self, links, size_gib):
        """A flow: its id (None for one of no size, done at once) and its event."""
        done = self.env.event()
        if size_gib <= 0:
            done.succeed()
            return None, done
        self._settle()
        fid = self.next_id
        self.flows[fid] = [size_gib, 0.0, links, done]
        self.next_id += 1
        self._reshare()
        return fid, done

    def cancel(self, fid):
        """Take flow ``fid`` out now, every rate recomputed: the GiB it had left."""
        self._settle()
        left = self.flows.pop(fid)[0]
        self._reshare()
        return max(left, 0.0)

    def _settle(self):
        dt = self.env.now - self.last_t
        if dt > 0:
            for flow in self.flows.values():
                flow[0] -= flow[1] * dt
        self.last_t = self.env.now

    def _reshare(self):
        left, unfixed = dict(self.capacity), set(self.flows)
        while unfixed:
            crossing = {}
            for fid in unfixed:
                for link in self.flows[fid][2]:
                    crossing.setdefault(link, []).append(fid)
            link, fids = min(crossing.items(), key=lambda item: left[item[0]] / len(item[1]))
            share = max(left[link], 0.0) / len(fids)
            for fid in fids:
                self.flows[fid][1] = share
                unfixed.discard(fid)
                for other in self.flows[fid][2]:
                    left[other] -= share
        self.token += 1
        if self.flows:
            delay = min(f[0] / f[1] if f[1] > 0 else float("inf") for f in self.flows.values())
            if delay != float("inf"):
                self.env.timeout(max(delay, 0.0), self.token).callbacks.append(self._on_done)

    def _on_done(self, event):
        if event.value != self.token:
            return
        self._settle()
        now = self.env.now
        finished = [fid for fid, f in self.flows.items()
                    if f[0] <= network.DONE_GIB * max(1.0, f[1]) or (f[1] > 0 and now + f[0] / f[1] <= now)]
        for fid in finished:
            self.flows.pop(fid)[3].succeed()
        self._reshare()


def finish_times(make, capacity, flows, start_s):
    """Run ``flows`` [(start offset s, host or None, size GiB)] through a network built by
    ``make``; each flow's end time, s."""
    env = simpy.Environment(initial_time=start_s)
    net = make(env, capacity)
    ends = {}

    def flow(k, offset_s, host, size_gib):
        yield env.timeout(offset_s)
        links = ("registry",) if host is None else (("link", host), "registry")
        yield net.transfer(links, size_gib)
        ends[k] = env.now

    for k, spec in enumerate(flows):
        env.process(flow(k, *spec))
    env.run()
    assert not net.flows
    return ends


# A flow: when it starts (often at the same instant as others, as pulls do after one
# arrival), on which host (None: on the shared link alone), how many GiB.
FLOWS = st.lists(st.tuples(st.one_of(st.just(0.0), st.floats(0.0, 50.0)),
                           st.one_of(st.none(), st.integers(0, 5)),
                           st.one_of(st.sampled_from([0.075, 0.32, 0.5]), st.floats(1e-6, 20.0))),
                 min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(FLOWS, st.lists(st.floats(0.05, 5.0), min_size=6, max_size=6), st.floats(0.05, 20.0),
       st.sampled_from([0.0, 16877.6, 1e6]), st.sampled_from([network.REBASE_GIB, 0.25]))
def test_virtual_time_ends_every_flow_when_progressive_filling_does(flows, host_caps, registry_cap, start_s,
                                                                    rebase_gib):
    """The network in virtual time against the reference above (every rate recomputed by
    progressive filling at every change), over random arrivals, sizes, hosts and link
    capacities, in both regimes (hosts' links or the registry the bottleneck, or some of
    each), with the virtual clocks brought back to 0 as in a long run or often: every
    flow ends at the same time within 1e-9 s."""
    capacity = {("link", j): cap for j, cap in enumerate(host_caps)} | {"registry": registry_cap}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(network, "REBASE_GIB", rebase_gib)
        got = finish_times(network.Network, capacity, flows, start_s)
    want = finish_times(ReferenceNetwork, capacity, flows, start_s)
    assert got.keys() == want.keys() == set(range(len(flows)))
    for k in want:
        assert abs(got[k] - want[k]) <= 1e-9, (k, flows[k], got[k], want[k])


def test_equal_host_links_and_registry_share_alike():
    """Two hosts of 1 GiB/s behind a 1 GiB/s registry, flows of 1 GiB: the first alone runs
    at 1 GiB/s; from t = 0.5 s the two share the registry at 0.5 GiB/s each, so the first
    ends at 1.5 s (0.5 + 0.5/0.5) and the second, alone again, at 2.0 s (0.5 GiB left)."""
    capacity = {("link", 0): 1.0, ("link", 1): 1.0, "registry": 1.0}
    ends = finish_times(network.Network, capacity, [(0.0, 0, 1.0), (0.5, 1, 1.0)], 0.0)
    assert ends == {0: 1.5, 1: 2.0}


def test_a_host_link_below_its_fair_share_of_the_registry_leaves_the_rest_to_others():
    """Registry 3 GiB/s; host 0's link 0.5 GiB/s, host 1's 10 GiB/s; 1 GiB each, all at 0.
    Max-min: host 0's flow is held at 0.5 by its link, host 1's gets 2.5: it ends at 0.4 s;
    host 0's then has 0.8 GiB left at 0.5 GiB/s and ends at 2.0 s."""
    capacity = {("link", 0): 0.5, ("link", 1): 10.0, "registry": 3.0}
    ends = finish_times(network.Network, capacity, [(0.0, 0, 1.0), (0.0, 1, 1.0)], 0.0)
    assert abs(ends[1] - 0.4) <= 1e-12 and abs(ends[0] - 2.0) <= 1e-12


def test_flows_must_share_one_last_link():
    env = simpy.Environment()
    net = network.Network(env, {"a": 1.0, "b": 1.0})
    net.transfer(("a",), 1.0)
    with pytest.raises(ValueError, match="shared link 'a'"):
        net.transfer(("b",), 1.0)


def engine_timers(env):
    """A bare timer heap as the engine keeps one, and the network's ``after`` and ``at``
    over it (NORMAL timers keyed by ``env``'s event ids): ``(heap, after, at)``."""
    from heapq import heappush

    heap = []

    def after(delay_s, handler, value):
        heappush(heap, (env.now + delay_s, 1, next(env._eid), handler, value))

    def at(t, eid, handler, value):
        heappush(heap, (t, 1, eid, handler, value))

    return heap, after, at


def heap_finish_times(capacity, flows, start_s):
    """:func:`finish_times` with the network's timers on a bare heap run by the engine's
    loop (``simulation.run_events``), a later plan waiting beside the heap (``at``), and
    each flow's end a call (``then``), as the engine runs image pulls: no SimPy event."""

    from simdc.engine.simulation import run_events

    env = simpy.Environment(initial_time=start_s)
    heap, after, at = engine_timers(env)
    net = network.Network(env, capacity, after, at)
    ends = {}

    def begin(now, k):
        _, host, size_gib = flows[k]
        links = ("registry",) if host is None else (("link", host), "registry")
        net.transfer(links, size_gib, (lambda t, k: ends.setdefault(k, t), k))

    for k, (offset_s, _, _) in enumerate(flows):
        after(offset_s, begin, k)
    run_events(env, heap, float("inf"))
    assert not net.flows
    return ends


@settings(max_examples=60, deadline=None)
@given(FLOWS, st.lists(st.floats(0.05, 5.0), min_size=6, max_size=6), st.floats(0.05, 20.0),
       st.sampled_from([0.0, 16877.6]))
def test_flows_on_the_engines_heap_end_when_on_simpys(flows, host_caps, registry_cap, start_s):
    """The same flows, timed by SimPy timeouts and events (a timer a plan) or by timers
    on a bare heap (a later plan waiting beside the one there) with a call at each end:
    every flow ends at the same instant, to the bit."""
    capacity = {("link", j): cap for j, cap in enumerate(host_caps)} | {"registry": registry_cap}
    assert heap_finish_times(capacity, flows, start_s) == finish_times(network.Network, capacity, flows, start_s)


def cancelled_finish_times(kind, capacity, flows, start_s, heap=False):
    """Run ``flows`` [(start offset s, host or None, size GiB, call off after s or None)]
    through the reference (``kind`` "reference": SimPy events) or the network (a call at
    each end; its timers SimPy timeouts, or with ``heap`` a bare heap run by the engine's
    loop). Each flow's fate: ("end", time) or ("off", time, GiB left)."""

    from simdc.engine.simulation import run_events

    env = simpy.Environment(initial_time=start_s)
    queue, after, at = engine_timers(env)

    if kind == "reference":
        net = ReferenceNetwork(env, capacity)
    else:
        net = network.Network(env, capacity, *((after, at) if heap else ()))
    fate, ids = {}, {}

    def ended(t, k):
        fate.setdefault(k, ("end", t))

    def begin(now, k):
        _, host, size_gib, _ = flows[k]
        links = ("registry",) if host is None else (("link", host), "registry")
        if kind == "reference":
            ids[k], done = net.start(links, size_gib)
            done.callbacks.append(lambda _, k=k: ended(env.now, k))
        else:
            ids[k] = net.transfer(links, size_gib, (ended, k))

    def call_off(now, k):
        if k not in fate and ids[k] is not None:
            fate[k] = ("off", now, net.cancel(ids[k]))

    def timer(delay_s, handler, value):
        if heap:
            after(delay_s, handler, value)
        else:
            env.timeout(delay_s).callbacks.append(lambda _: handler(env.now, value))

    def flow(k):
        offset_s, _, _, off_s = flows[k]
        begin(env.now, k)
        if off_s is not None:
            timer(off_s, call_off, k)

    for k, (offset_s, _, _, _) in enumerate(flows):
        timer(offset_s, lambda now, k: flow(k), k)
    if heap:
        run_events(env, queue, float("inf"))
    else:
        env.run()
    assert not net.flows
    if kind != "reference":
        assert net.total == net.busy == net.limited_flows == 0 and not net.ending
        assert all(not g.tags and g.n == 0 and g.dead == 0 for g in net.groups.values())
    return fate


CANCELLED_FLOWS = st.lists(st.tuples(st.one_of(st.just(0.0), st.floats(0.0, 50.0)),
                                     st.one_of(st.none(), st.integers(0, 5)),
                                     st.one_of(st.sampled_from([0.075, 0.32, 0.5]), st.floats(1e-6, 20.0)),
                                     st.one_of(st.none(), st.just(0.0), st.floats(0.0, 30.0))),
                           min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(CANCELLED_FLOWS, st.lists(st.floats(0.05, 5.0), min_size=6, max_size=6), st.floats(0.05, 20.0),
       st.sampled_from([0.0, 16877.6, 1e6]), st.sampled_from([network.REBASE_GIB, 0.25]))
def test_flows_called_off_leave_their_share_as_progressive_filling_does(flows, host_caps, registry_cap, start_s,
                                                                        rebase_gib):
    """Random flows, some called off at random times (a host's failure stops its pulls):
    against the reference (the flow taken out, every rate recomputed by progressive
    filling), every other flow ends at the same time within 1e-9 s, and each flow called
    off had the same GiB left, within 1e-9 GiB per GiB/s of the registry."""
    capacity = {("link", j): cap for j, cap in enumerate(host_caps)} | {"registry": registry_cap}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(network, "REBASE_GIB", rebase_gib)
        got = cancelled_finish_times("network", capacity, flows, start_s)
    want = cancelled_finish_times("reference", capacity, flows, start_s)
    assert got.keys() == want.keys() == set(range(len(flows)))
    for k in want:
        assert got[k][0] == want[k][0], (k, flows[k], got[k], want[k])
        assert abs(got[k][1] - want[k][1]) <= 1e-9, (k, flows[k], got[k], want[k])
        if want[k][0] == "off":
            assert abs(got[k][2] - want[k][2]) <= 1e-9 * max(1.0, registry_cap), (k, flows[k], got[k], want[k])


@settings(max_examples=60, deadline=None)
@given(CANCELLED_FLOWS, st.lists(st.floats(0.05, 5.0), min_size=6, max_size=6), st.floats(0.05, 20.0),
       st.sampled_from([0.0, 16877.6]))
def test_flows_called_off_on_the_engines_heap_as_on_simpys(flows, host_caps, registry_cap, start_s):
    """Flows called off, timed by SimPy timeouts or by the engine's bare heap (a later plan
    waiting beside the timer there: a call-off can make the next end later): every fate
    the same, to the bit."""
    capacity = {("link", j): cap for j, cap in enumerate(host_caps)} | {"registry": registry_cap}
    assert (cancelled_finish_times("network", capacity, flows, start_s, heap=True)
            == cancelled_finish_times("network", capacity, flows, start_s))


def test_a_flow_called_off_gives_its_share_of_the_registry_to_the_other_at_once():
    """Registry 1 GiB/s, two hosts' links of 10 GiB/s, 1 GiB each from t = 0: 0.5 GiB/s
    each. The first called off at 0.5 s has received 0.25 GiB (0.75 left); the second,
    0.75 GiB left, alone at 1 GiB/s, ends at 1.25 s (not at 2.0 s, as if both went on)."""
    capacity = {("link", 0): 10.0, ("link", 1): 10.0, "registry": 1.0}
    fate = cancelled_finish_times("network", capacity, [(0.0, 0, 1.0, 0.5), (0.0, 1, 1.0, None)], 0.0)
    assert fate[0][:2] == ("off", 0.5) and abs(fate[0][2] - 0.75) <= 1e-12
    assert fate[1][0] == "end" and abs(fate[1][1] - 1.25) <= 1e-12


def test_a_write_called_off_gives_its_disk_share_to_the_other():
    """Two writes of 1 GiB on one 1 GiB/s disk (own links, an unlimited shared link:
    Simulation._write): the first called off at 0.5 s has 0.75 GiB left; the other ends
    at 1.25 s. A call-off of a flow no longer under way raises KeyError."""
    env = simpy.Environment()
    net = network.Network(env, {("disk", 0): 1.0, "unlimited": float("inf")})
    ends = {}
    a = net.transfer((("disk", 0), "unlimited"), 1.0, (lambda t, k: ends.setdefault(k, t), "a"))
    net.transfer((("disk", 0), "unlimited"), 1.0, (lambda t, k: ends.setdefault(k, t), "b"))
    left = []
    env.timeout(0.5).callbacks.append(lambda _: left.append(net.cancel(a)))
    env.run()
    assert left == [0.75] and ends == {"b": 1.25}
    with pytest.raises(KeyError):
        net.cancel(a)


def test_a_flow_called_off_by_an_end_delivered_at_its_own_end_is_never_delivered():
    """Two flows end at one instant; the first's end calls the second off (a controller
    removing a replica whose pull ends then): the second's end is not delivered, and it
    had nothing left."""
    env = simpy.Environment()
    net = network.Network(env, {("link", 0): 10.0, ("link", 1): 10.0, "registry": 1.0})
    calls, left = [], []
    ids = {}

    def first(t, _):
        calls.append(("first", t))
        left.append(net.cancel(ids["second"]))

    net.transfer((("link", 0), "registry"), 1.0, (first, None))
    ids["second"] = net.transfer((("link", 1), "registry"), 1.0, (lambda t, _: calls.append(("second", t)), None))
    env.run()
    assert calls == [("first", 2.0)] and left == [0.0] and not net.flows
