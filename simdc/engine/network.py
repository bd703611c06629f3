"""Image transfers as fluid flows sharing links max-min fairly.

A flow crosses links (a host's network link, the registry's or mirror's egress). Rates
are max-min fair: the most constrained link is shared equally by the flows crossing it,
and what those flows cannot use goes to the others (progressive filling). Rates change
only when a flow starts or ends; the next completion is one timed event.
"""

from __future__ import annotations

from typing import Hashable

import simpy

GIB_S_PER_GBPS = 1e9 / 8 / 2**30  # 1 Gbit/s in GiB/s
DONE_GIB = 1e-12


class Network:
    def __init__(self, env: simpy.Environment, capacity_gib_s: dict[Hashable, float]):
        self.env = env
        self.capacity = capacity_gib_s
        self.flows: dict[int, list] = {}  # id -> [left_gib, rate, links, event]
        self.next_id = 0
        self.last_t = 0.0
        self.token = 0

    def transfer(self, links: tuple[Hashable, ...], size_gib: float) -> simpy.Event:
        """An event that succeeds when ``size_gib`` has crossed ``links``."""
        done = self.env.event()
        if size_gib <= 0:
            done.succeed()
            return done
        self._settle()
        self.flows[self.next_id] = [size_gib, 0.0, links, done]
        self.next_id += 1
        self._reshare()
        return done

    def _settle(self) -> None:
        now = self.env.now
        dt = now - self.last_t
        if dt > 0:
            for flow in self.flows.values():
                flow[0] -= flow[1] * dt
        self.last_t = now

    def _reshare(self) -> None:
        """Max-min fair rates by progressive filling, then plan the next completion."""
        left = dict(self.capacity)
        unfixed = set(self.flows)
        while unfixed:
            crossing: dict[Hashable, list[int]] = {}
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
                event = self.env.timeout(max(delay, 0.0), self.token)
                event.callbacks.append(self._on_done)

    def _on_done(self, event) -> None:
        if event.value != self.token:
            return  # a later change re-planned
        self._settle()
        now = self.env.now
        # Done: (almost) nothing left, or what is left would end within the clock's
        # resolution at this time (planned again, its end would fire at this same instant
        # and transfer nothing, forever: a hang seen at t ≈ 16,878 s with 2e-12 GiB left).
        finished = [fid for fid, f in self.flows.items()
                    if f[0] <= DONE_GIB * max(1.0, f[1]) or (f[1] > 0 and now + f[0] / f[1] <= now)]
        for fid in finished:
            self.flows.pop(fid)[3].succeed()
        self._reshare()
