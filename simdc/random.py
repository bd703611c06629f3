"""Random streams: one independent stream per purpose, derived from the run's seed.

Nothing in simdc touches global random state. A stream is named by its purpose
(``"arrivals"``, ``"start:vm"``), so adding a platform or a purpose never shifts the
numbers another one draws: a platform's results do not depend on which others run.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, purpose: str) -> np.random.Generator:
    """The generator for ``purpose`` under ``seed``; equal arguments give equal streams."""
    key = zlib.crc32(purpose.encode())
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(key,))))


def keyed(seed: int, purpose: str, *key: int) -> np.random.Generator:
    """The generator of one draw of ``purpose`` named by ``key`` (integers >= 0, e.g. an
    instance's row and its attempt) under ``seed``: a stream of its own, spawned from the
    seed, the purpose and the key alone, so the draw does not depend on which other draws
    were made before it, nor in which order (the order of events, how a run is split).
    Distinct from :func:`stream`'s for any key (a longer spawn key)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(
        seed, spawn_key=(zlib.crc32(purpose.encode()), *key))))


def cell_seed(seed: int, cell: str) -> int:
    """The seed of the cell named ``cell`` in a run of ``seed``: its engine's streams derive
    from it as a one-fleet run's derive from ``seed``. It depends on the name only, so a
    cell draws the same numbers wherever it runs and whichever other cells there are."""
    return int(stream(seed, f"cell:{cell}").integers(0, 2**63 - 1))
