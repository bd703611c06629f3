"""Cells: a fleet split into parts that each schedule on their own (Borg cells, Kubernetes
clusters). A request goes to one cell and is placed among that cell's hosts only.

``[[cells]]`` lists the cells, each a name, its host groups (the schema of
``[[cluster.hosts]]``) and, for the share rules, its share of the workload. ``[routing]``
says how a request is given a cell:

===============  ========================================================================
rule             the cell of a request
===============  ========================================================================
``share``        a hash of its ``id`` drawn against the cells' shares (the default)
``job``          a hash of its ``job`` against the shares: a job's instances share a cell
                 (shares optional: equal when none are given)
``round_robin``  the i-th request by submit time goes to cell ``i mod cells``
``column``       the workload's column ``routing.column`` (default ``cell``) names it, as
                 the Google 2019 trace's cell column does
===============  ========================================================================

Routing reads the workload only: it does not depend on the seed, nor on where the cells
run (:func:`simdc.cells.route`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from simdc.model.base import Spec
from simdc.model.host import HostGroup

ROUTING_RULES = ("share", "job", "round_robin", "column")
# Shares must sum to 1 to within this: 0.1 + 0.2 + 0.7 is 1 only so far in binary floating point.
SHARE_TOLERANCE = 1e-9


class CellSpec(Spec):
    """One cell: a name, 1 or more host groups, and a share of the workload in (0, 1]."""

    name: str = Field(min_length=1, description="names the cell in the results' cell column")
    hosts: tuple[HostGroup, ...] = Field(min_length=1, description="host groups, as [[cluster.hosts]]")
    share: float | None = Field(default=None, gt=0, le=1, description="share of the requests (rules share, job)")
    power_off_idle: bool = Field(default=False, description="hosts with nothing resident draw no power")

    @property
    def fleet(self) -> list[HostGroup]:
        """Every host of the cell, in placement order."""
        return [group for group in self.hosts for _ in range(group.count)]


class RoutingSpec(Spec):
    """How a request is given a cell (module docstring)."""

    rule: Literal["share", "job", "round_robin", "column"] = "share"
    column: str = Field(default="cell", min_length=1, description="the workload column naming the cell (rule column)")

    @field_validator("column")
    @classmethod
    def _plain(cls, column: str) -> str:
        if column != column.strip():
            raise ValueError(f"must not start or end with spaces (got {column!r})")
        return column


def check_cells(cells: tuple[CellSpec, ...], routing: RoutingSpec) -> list[str]:
    """The problems of a ``[[cells]]`` list under ``routing``, one line each (key path first)."""
    if not cells:
        return []
    problems = []
    names = [cell.name for cell in cells]
    for index, name in enumerate(names):
        if name in names[:index]:
            problems.append(f"cells[{index}].name: {name!r} names an earlier cell too; names must differ")
    # Against the default, not the keys given: a written config holds every default.
    if routing.column != RoutingSpec.model_fields["column"].default and routing.rule != "column":
        problems.append(f"routing.column: only routing.rule = 'column' reads it (the rule is {routing.rule!r}); "
                        "remove it or set rule = 'column'")
    given = [cell.share is not None for cell in cells]
    if routing.rule in ("round_robin", "column"):
        shared = [f"cells[{index}].share" for index, cell in enumerate(cells) if cell.share is not None]
        if shared:
            problems.append(f"{shared[0]}: routing.rule = {routing.rule!r} does not use shares; remove "
                            + ("it" if len(shared) == 1 else f"them ({', '.join(shared)})")
                            + ", or route by share or job")
        return problems
    if routing.rule == "share" and not all(given):
        missing = ", ".join(repr(cell.name) for cell in cells if cell.share is None)
        problems.append(f"cells: every cell needs a share with routing.rule = 'share' (none for {missing})")
    elif any(given) and not all(given):
        missing = ", ".join(repr(cell.name) for cell in cells if cell.share is None)
        problems.append(f"cells: give every cell a share or none (none for {missing})")
    elif all(given):
        total = sum(cell.share for cell in cells)
        if abs(total - 1) > SHARE_TOLERANCE:
            each = ", ".join(f"{cell.name} {cell.share:g}" for cell in cells)
            problems.append(f"cells: shares must sum to 1 (got {total:.6g}: {each})")
    return problems
