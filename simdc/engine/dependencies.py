"""Jobs with dependencies in the run: an instance waits for its parents to complete.

An instance with parents (the workload's ``parents`` column,
:mod:`simdc.workload.dependencies`) is submitted at ``max(its submit_s, the end of its
last parent)``: when both its own arrival has come and every parent has ended
``completed``. A parent that never completes (rejected, killed for good, lost to a
failure, still running at the horizon) keeps its children from ever being submitted:
they end ``blocked``; so does one that completes exactly at the horizon, where the run
ends before anything is submitted (:func:`simdc.engine.simulation.run_events`). Only
what has happened by the moment of a decision is used.

The general engine calls :meth:`Dependencies.arrive` at an instance's own arrival and
:meth:`Dependencies.completed` when an instance completes, and submits what they
release; the fast lane does not model dependencies (``FastLane.applies`` is False).
"""

from __future__ import annotations

from array import array

import numpy as np
import pandas as pd

from simdc.workload import dependencies as spec


class Dependencies:
    """Which instances each waits for, and who is released as they complete.

    ``parents[i]`` are row positions of the instance table; ``submit_s`` the trace's
    submission times (seconds), overwritten with the time each instance is submitted.
    """

    def __init__(self, parents: list[list[int]], submit_s: np.ndarray):
        n = len(parents)
        self.waiting = [len(mine) for mine in parents]  # parents not yet completed
        self.children: list[list[int]] = [[] for _ in range(n)]
        for child, mine in enumerate(parents):
            for p in mine:
                self.children[p].append(child)
        self.arrived = [False] * n
        self.submit_s = array("d", np.asarray(submit_s, dtype=float).tolist())
        self.submitted = [False] * n

    @classmethod
    def of(cls, instances: pd.DataFrame) -> "Dependencies | None":
        """The dependencies of ``instances`` (checked by the reader), or None when no
        instance has a parent."""
        if not spec.has_parents(instances):
            return None
        return cls(spec.positions(instances, "workload"), instances["submit_s"].to_numpy(float))

    def arrive(self, i: int) -> bool:
        """``i``'s own submission time has come: whether it may be submitted now (all its
        parents completed); if not, it is submitted when the last one completes."""
        self.arrived[i] = True
        if self.waiting[i]:
            return False
        self.submitted[i] = True
        return True

    def completed(self, i: int, now: float) -> list[int]:
        """``i`` completed at ``now``: the children to submit now (arrived, and ``i`` was
        the last parent they waited for). Each is released once, even if ``i`` completes
        again after a failure's resubmission."""
        released = []
        for child in self.children[i]:
            self.waiting[child] -= 1
            if not self.waiting[child] and self.arrived[child] and not self.submitted[child]:
                self.submitted[child] = True
                self.submit_s[child] = now
                released.append(child)
        self.children[i] = []  # counted once: a later completion of i releases nobody again
        return released

    def submit_times(self, never: np.ndarray) -> np.ndarray:
        """Per instance, when it was submitted (seconds); NaN where ``never`` (boolean
        mask: blocked, never submitted before the horizon)."""
        return np.where(never, np.nan, np.asarray(self.submit_s, dtype=float))
