"""Energy meter readings at given moments: what prices and carbon intensities that
change over time need (:mod:`simdc.cost`).

A host's energy is integrated by :meth:`HostState.advance` (its power rule, in one
place); the meter only asks every host to bring its integral up to each moment and
reads it. Readings add no energy, so their order among the moment's other events does
not matter.
"""

from __future__ import annotations

import numpy as np


class Meter:
    """Every host's cumulative energy (J) at each of ``at_s`` (increasing, inside the run).

    ``readings_j[k, h]``: host ``h``'s energy from 0 to ``at_s[k]``.
    """

    def __init__(self, sim, at_s: tuple[float, ...]):
        self.sim = sim
        self.at_s = at_s
        self.readings_j = np.zeros((len(at_s), len(sim.hosts)))

    def start(self) -> None:
        if self.at_s:
            self.sim._after(self.at_s[0], self._on_read, 0)

    def _on_read(self, clock: float, k: int) -> None:
        now = self.at_s[k]  # exact, not the clock's sum of delays
        for j, host in enumerate(self.sim.hosts):
            host.advance(now)
            self.readings_j[k, j] = host.energy_j
        if k + 1 < len(self.at_s):
            self.sim._after(self.at_s[k + 1] - self.sim.env.now, self._on_read, k + 1)
