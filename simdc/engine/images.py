"""Layers on a host: an LRU cache on the host's image disk, with layers in use pinned."""

from __future__ import annotations

from collections import OrderedDict


class LayerCache:
    """Layers (or VM disk images) stored on one host, least recently used first.

    A layer in use by an instance on the host is pinned and never evicted; if pinned
    layers alone exceed the budget, the cache runs over it rather than fail a start.
    """

    def __init__(self, capacity_gib: float):
        self.capacity_gib = capacity_gib
        self.layers: OrderedDict[str, float] = OrderedDict()  # digest -> GiB, LRU first
        self.pins: dict[str, int] = {}  # digest -> instances on the host using it (none: absent)
        self.used_gib = 0.0
        self.lookups = 0
        self.hits = 0
        self.evictions = 0

    def has(self, digest: str) -> bool:
        return digest in self.layers

    def touch(self, digest: str) -> None:
        self.layers.move_to_end(digest)

    def use(self, needs: list[tuple[str, float]]) -> bool:
        """Whether every layer of ``needs`` (``(digest, GiB)`` pairs) is here: if so each
        is a hit and is touched, in order; either way each is a lookup. A start's one
        call (:meth:`has` and :meth:`touch` per layer, written out)."""
        self.lookups += len(needs)
        layers = self.layers
        for digest, _ in needs:
            if digest not in layers:
                return False
        self.hits += len(needs)
        touch = layers.move_to_end
        for digest, _ in needs:
            touch(digest)
        return True

    def add(self, digest: str, size_gib: float) -> None:
        """Store a layer, evicting unpinned layers, oldest use first, to make room."""
        if digest in self.layers:
            self.touch(digest)
            return
        if self.used_gib + size_gib > self.capacity_gib:
            for victim in [d for d in self.layers if d not in self.pins]:
                self.used_gib -= self.layers.pop(victim)
                self.evictions += 1
                if self.used_gib + size_gib <= self.capacity_gib:
                    break
        self.layers[digest] = size_gib
        self.used_gib += size_gib

    def pin(self, needs: list[tuple[str, float]]) -> None:
        """One more instance uses every layer of ``needs`` (``(digest, GiB)`` pairs, as
        :meth:`use` takes them): none of them is evicted while it does."""
        pins = self.pins
        for digest, _ in needs:
            pins[digest] = pins.get(digest, 0) + 1

    def unpin(self, needs: list[tuple[str, float]]) -> None:
        """An instance that used every layer of ``needs`` (:meth:`pin`) no longer does."""
        pins = self.pins
        for digest, _ in needs:
            count = pins.get(digest, 0) - 1
            if count > 0:
                pins[digest] = count
            else:
                pins.pop(digest, None)
