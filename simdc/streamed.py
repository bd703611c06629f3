"""A streamed platform's summary from its instance rows as they are written (issue #16).

A spilled run on the general engine streams its instance rows to Parquet a chunk at a
time (:mod:`simdc.engine.chunks`); its summary row must be :func:`simdc.metrics.summary`'s
of the whole table, to the bit, without the table. The figures are not restated here:
:class:`simdc.metrics.InstanceReduction` defines each once, as what to accumulate and how
to finish, and is fed here the rows in two passes, neither holding them:

1. each chunk as it is written (in whatever order chunks end): counts, including how
   many values each float sum will have;
2. the rows in row order, a row group at a time, as the file is rewritten in order: each
   float sum as numpy sums the whole column (:class:`simdc.metrics.PairwiseSum`), and
   the values the percentiles need, kept whole (8 bytes each: an exact percentile needs
   every value). Those are the only per-instance figures held, at most 24 bytes an
   instance, against ~410 of the rows read back.

:class:`InstanceFigures` also keeps what the costs and the warnings read of the rows;
:func:`summary` turns it and the platform's hosts into the summary row
(:func:`simdc.metrics.platform_row`, as a run in memory). Only runs without dependencies
and without moves stream (:class:`simdc.engine.simulation.Simulation`), so neither the
workflow nor the move columns arise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simdc.metrics import InstanceReduction, Kept, Sum, _no_nan

_UNPLACEABLE_COLUMNS = ("platform", "unplaceable", "vm_vcpus", "vm_memory_gib", "booked_cpu", "booked_memory_gib")


def _cost_terms() -> dict:
    """What :func:`simdc.cost.platform_costs` reads of the instances: the NaN-skipping
    sums (``np.nansum``) of ``resident_s`` (licences) and ``run_s`` (instance-hours served)."""
    return {"resident_nansum": Sum(lambda r: _no_nan(r["resident_s"]) if "resident_s" in r else np.zeros(len(r))),
            "run_nansum": Sum(lambda r: _no_nan(r["run_s"]))}


class InstanceFigures:
    """What :func:`simdc.metrics.summary`, :func:`simdc.cost.platform_costs` and
    :func:`simdc.experiment.unplaceable_warnings` read of one platform's ``rows`` instance
    rows (module docstring): :meth:`count` each chunk's rows (a DataFrame of the engine's
    instance table, any order), then :meth:`add` every row in row order (pandas or Arrow
    tables of consecutive rows from the first). ``duration_s``: the run's horizon (s);
    ``requests``: the workload the rows are of (``cpu_cores``, ``memory_gib``), for the
    VM size over need."""

    def __init__(self, rows: int, duration_s: float, requests: pd.DataFrame | None):
        self.rows = rows
        self.reduction = InstanceReduction(rows, duration_s, requests, extra=_cost_terms())
        self.vm_vcpus_all = True  # every row has vm_vcpus (unplaceable_warnings' test)
        self.unplaceable_rows: list[pd.DataFrame] = []

    def count(self, chunk: pd.DataFrame) -> None:
        """One chunk's rows, as written (pass 1)."""
        self.reduction.count(chunk)

    def add(self, table) -> None:
        """The next rows in row order, a pandas or an Arrow table (pass 2)."""
        rows = self.reduction.add(table)
        if "vm_vcpus" in rows:
            self.vm_vcpus_all &= bool(rows.series("vm_vcpus").notna().all())
        if "unplaceable" in rows and rows.raw("unplaceable").any():
            mask = rows.raw("unplaceable").astype(bool)
            kept = [name for name in _UNPLACEABLE_COLUMNS if name in rows]
            picked = table.filter(mask).select(kept).to_pandas() if rows.arrow else table.loc[mask, kept]
            self.unplaceable_rows.append(picked.set_axis(np.flatnonzero(mask) + rows.first))

    add_arrow = add  # what simdc.engine.chunks.RowGroups gives its observer

    def held_bytes(self) -> int:
        """Bytes of the arrays held (the percentiles' values, the sums' blocks, the
        unplaceable rows): what the figures cost per row, which tests bound."""
        arrays = []
        for term in self.reduction.terms.values():
            if isinstance(term, Kept):
                arrays += term.pieces
            elif isinstance(term, Sum) and term.sum is not None:
                arrays += term.sum.held()
        return (sum(a.nbytes for a in arrays)
                + sum(int(t.memory_usage(deep=True).sum()) for t in self.unplaceable_rows))

    def instances_for_costs(self) -> pd.DataFrame:
        """A one-row stand-in for the instances in :func:`simdc.cost.platform_costs`, which
        reads only the NaN-skipping sums of ``resident_s`` and ``run_s`` (``np.nansum`` of
        one value is that value)."""
        terms = self.reduction.terms
        return pd.DataFrame({"resident_s": [terms["resident_nansum"].value], "run_s": [terms["run_nansum"].value]})

    def unplaceable(self) -> pd.DataFrame:
        """The unplaceable rows, indexed by row, with the columns
        :func:`simdc.experiment.unplaceable_warnings` reads of them; ``vm_vcpus`` NaN in
        the first when some row of the whole table has none (the test it makes of all rows)."""
        if not self.unplaceable_rows:
            return pd.DataFrame(columns=[c for c in _UNPLACEABLE_COLUMNS if c in self.reduction.names])
        table = pd.concat(self.unplaceable_rows)
        if "vm_vcpus" in table and not self.vm_vcpus_all:
            table.iloc[0, table.columns.get_loc("vm_vcpus")] = np.nan
        return table


def summary(figures: InstanceFigures, hosts: pd.DataFrame) -> pd.DataFrame:
    """One platform's :func:`simdc.metrics.summary` row from its :class:`InstanceFigures`
    and its hosts table (which must give the engine's ``fleet_peak_resident``: the stays
    are not kept), to the bit."""
    from simdc.metrics import SUMMARY_COLUMNS, platform_row

    if "fleet_peak_resident" not in hosts:
        raise ValueError("streamed summary: the hosts table has no fleet_peak_resident (the general engine's)")
    row = platform_row(hosts["platform"].iloc[0], figures.reduction, hosts)
    return pd.DataFrame([row], columns=list(SUMMARY_COLUMNS))
