"""Jobs with dependencies: the optional ``parents`` column of the instance table.

``parents`` holds, per instance, the ids of the instances of the same workload it
depends on, separated by spaces (``""``: none). An instance with parents is submitted
when the last of them has completed, and not before its own ``submit_s`` (the engine's
:mod:`simdc.engine.dependencies`). An id that contains a space cannot be named as a
parent.

Readers build the column (simdc's own format reads it as written; OpenDC's workflow
columns ``parents``/``children`` and Alibaba 2018's task names convert to it) and check
it here, on the whole trace: a parent id that is no instance of the trace, or a cycle,
is an error naming the file and the id (:func:`check`). Once a part of the trace is
selected, :func:`prune` keeps the table consistent: a child of an instance left out
waits for that instance's own parents.
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from simdc.errors import InputError

PARENTS = "parents"
# Optional bool column: a task of this row's job arrives at or after the horizon (or
# depends on one that does), or cannot be submitted before a time window's end, so is
# not replayed, and the job cannot complete in the run (written by
# simdc.workload.load_workload and, for a window, simdc.workload.readers.common.select,
# only when a job is so cut; read by simdc.metrics.workflow_metrics).
BEYOND = "job_beyond_horizon"
# Alibaba 2018 batch_task names: "M3_1_2" is task 3 of its job, which depends on tasks 1
# and 2 of the same job (M map, R reduce, J join, ...); names with "task_" ("task_Nzg3...")
# are independent (alibaba/clusterdata, cluster-trace-v2018/trace_2018.md). Read as
# CloudSimPy reads them (playground/DAG/utils/feature_synthesize.py, father_task_indices):
# the runs of digits, the first the task's number, the others its parents'; a name with
# no digit is independent.
ALIBABA_DIGITS = re.compile(r"\d+")


def has_parents(instances: pd.DataFrame) -> bool:
    """Whether any instance of ``instances`` names a parent."""
    return PARENTS in instances and bool((instances[PARENTS].astype(str).str.strip() != "").any())


def tokens(parents: Iterable) -> list[list[str]]:
    """Each instance's parent ids, as text (empty or missing: none)."""
    return [[] if value is None or value != value else str(value).split() for value in parents]


def positions(instances: pd.DataFrame, source: str, skipped: int = 0) -> list[list[int]]:
    """Each instance's parents as row positions of ``instances``.

    Raises
    ------
    InputError
        ``"<source>: instance <id>: parent <pid> is no instance of the workload"``; with
        ``skipped`` bad rows skipped while reading, saying the parent's row may be one.
    """
    ids = instances["id"].to_numpy()
    index = _index(ids)
    result = []
    for p, names in enumerate(tokens(instances[PARENTS].tolist())):
        mine = []
        for name in names:
            q = _find(index, name)
            if q is None:
                why = (f"; {skipped:,} bad row{'s were' if skipped > 1 else ' was'} skipped "
                       "(workload.on_bad_rows = \"skip\"), and the parent's may be one: mend it, or drop the "
                       "dependency" if skipped else "")
                raise InputError(f"{source}: instance {shown(ids[p])}: parent {name!r} is no instance of the "
                                 f"workload (parents: ids of the same file, separated by spaces){why}")
            mine.append(q)
        result.append(sorted(set(mine)))
    return result


def edges(instances: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Every dependency of ``instances`` as row positions: ``(child, parent)``, two int64
    arrays of one entry per link (a parent named twice counts once), sorted by child. A
    parent id that is no row of ``instances`` is left out, as :func:`prune` drops it.
    Split and looked up in Arrow, not row by row: the links of a DAG of 10^7 tasks."""
    import pyarrow as pa
    import pyarrow.compute as pc

    none = np.zeros(0, dtype=np.int64)
    if not has_parents(instances):
        return none, none.copy()
    column = instances[PARENTS]
    text = pa.array(column.where(column.notna(), "").astype(str).to_numpy(object), pa.string())
    lists = pc.utf8_split_whitespace(text)  # as str.split() (tokens)
    child = pc.list_parent_indices(lists).to_numpy().astype(np.int64)
    flat = pc.list_flatten(lists)
    named_any = pc.not_equal(flat, "").to_numpy(zero_copy_only=False)  # "" splits into [""]
    flat, child = flat.filter(pa.array(named_any)), child[named_any]
    ids = instances["id"].to_numpy()
    named = pa.array([str(v) for v in ids[::-1].tolist()], pa.string())  # reversed: the last row of an id, as _index
    found = pc.index_in(flat, value_set=named).to_numpy(zero_copy_only=False)
    parent = np.where(np.isnan(found), -1, len(ids) - 1 - np.nan_to_num(found, nan=0)).astype(np.int64)
    missing = np.flatnonzero(parent < 0)
    if len(missing):  # "01" or "1.0" naming integer id 1 (_find)
        index = _index(ids)
        for k in missing:
            row = _find(index, flat[int(k)].as_py())
            parent[k] = -1 if row is None else row
    known = parent >= 0
    pairs = np.sort(child[known] * len(ids) + parent[known])
    pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]] if len(pairs) else pairs
    return pairs // len(ids), pairs % len(ids)


def check(instances: pd.DataFrame, source: str, skipped: int = 0) -> None:
    """Every parent is an instance of ``instances`` and the dependencies have no cycle
    (``skipped``: bad rows skipped while reading, named in an unknown parent's message).

    Raises
    ------
    InputError
        Naming ``source`` and the first unknown parent id, or an id on a cycle with the
        cycle (an instance that is its own parent is a cycle of one).
    """
    if not has_parents(instances):
        return
    parents = positions(instances, source, skipped)
    order = graphlib.TopologicalSorter({p: mine for p, mine in enumerate(parents) if mine})
    try:
        order.prepare()
    except graphlib.CycleError as err:
        ids = instances["id"].to_numpy()
        cycle = [shown(ids[p]) for p in err.args[1]][::-1]
        raise InputError(f"{source}: instance {cycle[0]} depends on itself: {' -> '.join(cycle)} "
                         "(parents must form no cycle)") from None


def prune(kept: pd.DataFrame, where: str = "left out of the replay",
          whole: pd.DataFrame | None = None) -> tuple[pd.DataFrame, list[str]]:
    """``kept`` (a part of a checked table) with each parent that is not among its rows
    replaced by its own parents, transitively, as far as rows of ``kept``: the nearest
    ancestors replayed through it; returns the table and notes saying how many parents
    were so left out, and ``where`` those are (the note's words).

    An instance not replayed (left out by a sample or a limit, or by a reader: a task of
    zero duration) does not cut its children loose: they wait for what it waited for
    (A → B → C with B not replayed: C waits for A), so a chain keeps its order. Its own
    parents are its row's in ``whole``, the table ``kept`` was taken from (``None``:
    ``kept``'s own rows only). One with no such row, or with no ancestor replayed,
    counts as done before the replay: its child is replayed from its own ``submit_s``.
    """
    if not has_parents(kept):
        return kept, []
    present = _index(kept["id"].to_numpy())
    # the parents of each row of `whole`, by its row position there
    above = tokens(whole[PARENTS].tolist()) if whole is not None and PARENTS in whole else []
    lookup = _index(whole["id"].to_numpy()) if above else {}
    nearest: dict[str, list[str]] = {}  # a parent not kept: its nearest ancestors kept

    def ancestors(name: str) -> list[str]:
        if name not in nearest:
            found, seen, stack = [], {name}, [name]
            while stack:  # through the rows not kept, up to the first kept on each path
                row = _find(lookup, stack.pop())
                for up in above[row] if row is not None else []:
                    if up not in seen:
                        seen.add(up)
                        (found if _find(present, up) is not None else stack).append(up)
            nearest[name] = found
        return nearest[name]

    dropped = passed = 0
    pruned = []
    for names in tokens(kept[PARENTS].tolist()):
        mine = [n for n in names if _find(present, n) is not None]
        for name in names:
            if _find(present, name) is None:
                dropped += 1
                inherited = ancestors(name)
                passed += bool(inherited)
                mine += inherited
        rows = {}
        for name in mine:  # each kept parent once, in the order named
            rows.setdefault(_find(present, name), name)
        pruned.append(" ".join(rows.values()))
    if not dropped:
        return kept, []
    return kept.assign(**{PARENTS: pruned}), [
        f"{dropped:,} dependencies on instances {where}: "
        + (f"{passed:,} passed on to those instances' own parents replayed (transitively: their children wait "
           f"for them instead)" + ("; " if passed < dropped else "") if passed else "")
        + (f"{dropped - passed:,} with no ancestor replayed count as done before the replay (their children start at "
           "their own submit_s)" if passed < dropped else "")]


def jobs(instances: pd.DataFrame) -> tuple[np.ndarray, list[list[int]]]:
    """The jobs of a workload with dependencies: a job label per row (``-1``: in none)
    and each row's parents as row positions. A job is one ``job`` value; rows with an
    empty ``job`` are grouped by the weakly connected components of their dependencies
    (a row with neither is in no job). Only jobs with at least one dependency count, and
    jobs of rows marked :data:`BEYOND` (their dependency may have been on a task not
    replayed)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    parents = positions(instances, "workload") if PARENTS in instances else [[] for _ in range(len(instances))]
    n = len(parents)
    child = np.fromiter((c for c, mine in enumerate(parents) for _ in mine), np.int64)
    parent = np.fromiter((p for mine in parents for p in mine), np.int64)
    _, component = connected_components(coo_matrix((np.ones(len(child)), (child, parent)), shape=(n, n)),
                                        directed=True, connection="weak")
    linked = np.zeros(n, dtype=bool)
    linked[child], linked[parent] = True, True
    named = instances["job"].astype(str).to_numpy() if "job" in instances else np.full(n, "")
    label = np.where(named != "", "job:" + named, np.where(linked, "dag:" + component.astype(str), ""))
    codes, _ = pd.factorize(pd.Series(label).replace("", None), use_na_sentinel=True)
    # only jobs with a dependency (a named job of independent replicas is a service, not a workflow)
    counted = linked | beyond_horizon(instances)
    with_links = np.zeros(codes.max() + 2, dtype=bool)
    with_links[codes[counted] + 1] = True
    return np.where(with_links[codes + 1], codes, -1), parents


def has_jobs(instances: pd.DataFrame) -> bool:
    """Whether ``instances`` has jobs with dependencies: a parent named, or a job cut
    (:data:`BEYOND`: its dependencies may all have been on tasks not replayed)."""
    return has_parents(instances) or bool(beyond_horizon(instances).any())


def beyond_horizon(instances: pd.DataFrame) -> np.ndarray:
    """Per row, whether its job has a task not replayed because it arrives at or after
    the horizon (:data:`BEYOND`; all False without the column)."""
    if BEYOND not in instances:
        return np.zeros(len(instances), dtype=bool)
    return instances[BEYOND].eq(True).to_numpy()  # a row of a table without the column (NaN): False


def cut_jobs(instances: pd.DataFrame, late: np.ndarray) -> tuple[np.ndarray, int]:
    """Of a workload with dependencies whose ``late`` rows (a boolean mask) are not
    replayed: per row, whether its job (:func:`jobs`) has a late task; and how many jobs
    have both late tasks and others, replayed (the jobs of the run so cut)."""
    job, _ = jobs(instances)
    hit = np.isin(job, job[late & (job >= 0)])
    return hit, len(np.unique(job[hit & ~late]))


def late_descendants(instances: pd.DataFrame, late: np.ndarray) -> np.ndarray:
    """Which rows depend, directly or not, on a ``late`` row (boolean mask): none of
    them can be submitted before their parent arrives, so none before the horizon."""
    out = np.asarray(late, dtype=bool).copy()
    if not has_parents(instances) or not out.any():
        return out & False
    parents = positions(instances, "workload")
    children: list[list[int]] = [[] for _ in parents]
    for child, mine in enumerate(parents):
        for p in mine:
            children[p].append(child)
    stack = list(np.flatnonzero(out))
    while stack:
        for child in children[stack.pop()]:
            if not out[child]:
                out[child] = True
                stack.append(child)
    return out & ~np.asarray(late, dtype=bool)


def alibaba_parents(task_names: Sequence[str], jobs: Sequence[str]) -> list[str]:
    """The parent task names of Alibaba 2018 batch tasks, from their names.

    ``"M3_1_2"`` of job ``j`` depends on the tasks of ``j`` numbered 1 and 2, whatever
    their letters (``"M1"``, ``"R2_1"``); ``"task_..."`` names and names without a digit
    have no parents. Returns, per task, the parents' names separated by spaces; a number
    that names no task of the job is returned as ``"?<n>"`` for the caller to report.
    """

    def numbers(name: str) -> list[str]:
        return [] if "task_" in name else [str(int(d)) for d in ALIBABA_DIGITS.findall(name)]

    by_number: dict[tuple[str, str], str] = {}
    for name, job in zip(task_names, jobs):
        mine = numbers(str(name))
        if mine:
            by_number[(str(job), mine[0])] = str(name)
    return [" ".join(by_number.get((str(job), n), f"?{n}") for n in numbers(str(name))[1:])
            for name, job in zip(task_names, jobs)]


def shown(value) -> str:
    """An id as a message shows it (as :func:`simdc.workload.readers.common.shown`, which
    this module does not import: the engine reads this module, and not the readers)."""
    if hasattr(value, "item"):
        value = value.item()
    return repr(value.strip() if isinstance(value, str) else value)


def _index(ids: np.ndarray) -> dict[str, int]:
    """Row position by id as text."""
    return {str(v): p for p, v in enumerate(ids.tolist())}


def _find(index: dict[str, int], name: str) -> int | None:
    """The row of parent ``name``: its text, or for integer ids the number it spells
    (``01`` and ``1.0`` are ``1``, as the own format reads integer ids)."""
    found = index.get(name)
    if found is None:
        try:
            number = float(name)
        except ValueError:
            return None
        if number.is_integer():
            found = index.get(str(int(number)))
    return found
