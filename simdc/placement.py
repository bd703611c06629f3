"""Placement policies: pure functions choosing a host for a request.

A policy gets the candidate hosts' free capacity, in host order, and returns the index
of the chosen host or ``None``. Hosts that cannot take the request are already filtered
out: ``fits`` marks them. Policies never see SimPy.
"""

from __future__ import annotations

from typing import Callable, Sequence

Policy = Callable[[Sequence[bool]], "int | None"]


def first_fit(fits: Sequence[bool]) -> int | None:
    """The first host, in fleet order, that can take the request."""
    for index, ok in enumerate(fits):
        if ok:
            return index
    return None


POLICIES: dict[str, Policy] = {"first_fit": first_fit}


def unknown_policy_message(name: str) -> str:
    return f"unknown policy {name!r}; choose one of: {', '.join(sorted(POLICIES))}"
