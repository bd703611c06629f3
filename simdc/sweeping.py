"""Sweeps: a grid of config overrides × replications, each point an independent run.

Replication ``r`` of a point runs with seed ``simulation.seed + r`` of that point's
config: without a seed in the grid every point runs the same seeds, so points are compared
on the same random numbers (common random numbers) and replications are independent. A
grid over ``simulation.seed`` gives each point its own seed and runs it once (its seeds
are the replications; ``replications > 1`` beside it is refused, since ``seed + r`` of
neighbouring seeds would run the same seed twice). Points run in parallel on Dask: a
local cluster on this machine's cores by default, or an existing cluster given its
scheduler address. With ``out``, each finished run is written at once (``parts/``), and a
rerun into the same directory skips the runs already there, so an interrupted sweep
resumes: after Ctrl-C, a full disk or a lost Dask scheduler the finished runs stay in
``parts/`` and the error says so.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from simdc.config import Config, apply_overrides, python_values, resolve_paths, validate, value_text
from simdc.errors import (SKIP_HINT, ConfigError, InputError, OutputError, SimdcError, SweepError, checked_bool,
                          checked_callback, checked_int, clip, restated, reworded, stop_word)
from simdc.model.limits import MAX_REPLICATIONS, REPLICATIONS_NOTE
from simdc.metrics import COST_COLUMNS, MOVE_COLUMNS, SERVICE_COLUMNS, SUMMARY_COLUMNS, WORKFLOW_COLUMNS
from simdc.results import (SWEEP_PARTS, SWEEP_RECORD, SWEEP_TABLES, DestinationLock, absent_folders, check_not_own,
                           describe_os_error, parent_problem, remove_empty_folders, replace_file, umask)

METRICS = tuple(c for c in SUMMARY_COLUMNS if c != "platform")
# in a summary only when the workload has dependencies, the config a [cost] table or
# [[services]], or the run drains or consolidates hosts
OPTIONAL_METRICS = (*WORKFLOW_COLUMNS, *COST_COLUMNS, *MOVE_COLUMNS, *SERVICE_COLUMNS)
# How long to wait for a Dask scheduler to answer. Dask's own default
# (distributed.comm.timeouts.connect, 30 s) makes a wrong address look like a hang.
CONNECT_TIMEOUT_S = 5.0


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """``["host.memory_gib=32,64", ...]`` → ``{"host.memory_gib": [32, 64], ...}``.

    Values are TOML literals, so ``platform.container.admission=requests,recommender`` gives
    strings and ``1,1.5`` numbers.
    """
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not key or not values.strip():
            raise ConfigError(f"--grid {item!r}: expected section.key=value1,value2,...")
        if key in grid:
            raise ConfigError(f"--grid {key}: given twice")
        parts = _split(values)
        if not all(parts):
            raise ConfigError(f"--grid {item!r}: value {parts.index('') + 1} is empty "
                              "(expected section.key=value1,value2,...)")
        grid[key] = [_literal(v) for v in parts]
    return grid


def _split(values: str) -> list[str]:
    """Split on commas outside brackets and braces (values may be lists or tables)."""
    parts, depth, current = [], 0, ""
    for char in values:
        depth += char in "[{"
        depth -= char in "]}"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts = [p.strip() for p in parts + [current]]
    return parts[:-1] if len(parts) > 1 and not parts[-1] else parts  # a trailing comma ends the list


def _literal(text: str) -> Any:
    return apply_overrides({}, [f"v={text}"])["v"]


SEED_KEY = "simulation.seed"


def _scalar(value: Any) -> bool:
    """A number or a string: what a CSV cell holds and reads back as itself (a date, a
    list or a table would come back as pandas' text of it, or not at all)."""
    return isinstance(value, (bool, int, float, str))


def _json_value(value: Any) -> bool:
    """JSON holds ``value`` and reads it back equal: numbers but NaN (never equal to
    itself), strings, and lists and tables of them (not a date or a time)."""
    if isinstance(value, float):
        return not math.isnan(value)
    if isinstance(value, (list, tuple)):
        return all(map(_json_value, value))
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_value(v) for k, v in value.items())
    return isinstance(value, (bool, int, str))


def grid_labels(grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Each key's values as ``points.csv`` holds them: as given when all are numbers or
    strings, else every value of the key as its TOML text (:func:`value_text`: a list,
    a table, a date or a time), so that a column is either numbers and strings or text,
    points can be told apart and grouped, and a value reads back as the one given."""
    return {key: list(values) if all(map(_scalar, values)) else [value_text(v) for v in values]
            for key, values in grid.items()}


def grid_record(grid: dict[str, list[Any]]) -> dict[str, Any]:
    """``grid`` as ``sweep.json`` records it, to recognise the sweep when it is run again:
    ``{"grid": ...}`` with each key's values as given when JSON holds them all (numbers,
    strings, lists and tables of them), and ``"grid_toml": [keys]`` naming the keys whose
    values are written as their TOML text instead (:func:`value_text`), every value of
    such a key, so that a date ``2023-06-01`` and the string ``"2023-06-01"`` stay apart.
    Without such a key, the record is the one earlier simdc versions wrote."""
    texts = [key for key, values in grid.items() if not all(map(_json_value, values))]
    record = {key: [value_text(v) for v in values] if key in texts else list(values) for key, values in grid.items()}
    return {"grid": record} | ({"grid_toml": texts} if texts else {})


def _where(overrides: dict[str, Any]) -> str:
    return ", ".join(f"{k}={value_text(v)}" for k, v in overrides.items())


def points(config: Config, grid: dict[str, list[Any]]) -> list[tuple[dict[str, Any], Config]]:
    """Every grid point (the product of the values, in key order) and its validated config.

    Raises
    ------
    ConfigError
        For the first point whose overrides make an invalid config, naming the key; or
        two values of a key that are the same once validated (``32`` and ``32.0``), which
        would run the same point twice.
    """
    keys = list(grid)
    out = []
    base = config.to_dict()
    for values in itertools.product(*(grid[k] for k in keys)):
        overrides = dict(zip(keys, values))
        raw = apply_overrides(base, overrides, flag="--grid")  # a bad key or index: one line naming it
        resolve_paths(raw, Path.cwd())  # a file given in the grid is relative to where the sweep runs, as --set's
        try:
            out.append((overrides, validate(raw)))
        except ConfigError as err:
            raise ConfigError([f"--grid {_where(overrides)}: {p}" for p in err.problems]) from None
    _refuse_same_points(grid, out)
    return out


def _refuse_same_points(grid: dict[str, list[Any]], grid_points: list[tuple[dict[str, Any], Config]]) -> None:
    """One line for the first two points whose validated configs are equal (equal hashes:
    the same run for a seed), naming the key(s) whose values differ only in writing."""
    keys = list(grid)
    seen: dict[str, tuple[int, ...]] = {}
    for at, (overrides, cfg) in zip(itertools.product(*(range(len(grid[k])) for k in keys)), grid_points):
        earlier = seen.setdefault(cfg.hash, at)
        if earlier is at:
            continue
        differ = [k for k, i, j in zip(keys, earlier, at) if i != j]
        pairs = [(value_text(grid[k][i]), value_text(grid[k][j])) for k, i, j in zip(keys, earlier, at) if i != j]
        if len(differ) == 1:
            (a, b), = pairs
            same = f"{a} is given twice" if a == b else f"{a} and {b} are the same value once read"
            raise ConfigError(f"--grid {differ[0]}: {same} (two points would be the same runs); "
                              "give each value once")
        raise ConfigError(f"--grid {', '.join(differ)}: the points "
                          + ", ".join(f"{k}={a}" for k, (a, _) in zip(differ, pairs)) + " and "
                          + ", ".join(f"{k}={b}" for k, (_, b) in zip(differ, pairs))
                          + " make the same config (the same runs); give each point once")


def check_set(set_keys: list[str], grid: dict[str, list[Any]]) -> None:
    """Refuse a ``--set`` key that a grid key replaces (the same key, or one inside it):
    each point's value would silently drop it.

    Raises
    ------
    ConfigError
        One line naming the ``--set`` key and the ``--grid`` key.
    """
    for key in set_keys:
        for swept in grid:
            if key == swept or key.startswith(swept + "."):
                raise ConfigError(f"--set {key}: --grid {swept} varies it too, and each point's value would "
                                  "replace the --set; drop one of them (a fixed value is a grid of one: "
                                  f"--grid {swept}=VALUE)")


def check_grid(grid: dict[str, list[Any]]) -> None:
    """Refuse a ``grid`` that is not a dict of dotted keys to non-empty lists of values:
    an empty list would make a sweep of no points (the CLI's ``--grid key=`` is refused
    as well), and a bare value is one point's, not a list.

    Raises
    ------
    ConfigError
        One line naming ``grid`` and the key.
    """
    if not isinstance(grid, dict) or not grid:
        got = "an empty dict: a sweep of no key" if isinstance(grid, dict) else type(grid).__name__
        raise ConfigError(f"grid: expected a dict of dotted keys to lists of values, e.g. "
                          f"{{'host.memory_gib': [32, 64]}} (got {got}); a single run is simdc.simulate")
    for key, values in grid.items():
        inside = [k for k in grid if k != key and key.startswith(k + ".")]
        if inside:
            raise ConfigError(f"grid: {key}: {inside[0]} is swept too and replaces it at every point; "
                              "sweep one of them",
                              cli=f"--grid {key}: --grid {inside[0]} replaces it at every point; "
                                  "sweep one of them")
        if not isinstance(values, (list, tuple)):
            raise ConfigError(f"grid: {key}: expected a list of values, e.g. [32, 64] (got {clip(repr(values))}); "
                              f"a single value is [{clip(repr(values))}]")
        if not values:
            raise ConfigError(f"grid: {key}: expected at least one value (got an empty list)",
                              cli=f"--grid {key}=: expected section.key=value1,value2,...")


def check_metrics(config: Config, metrics: list[str], flag: str = "--metric") -> None:
    """Raise one :class:`ConfigError` line for the first of ``metrics`` that is not a
    summary column, or an optional one ``config`` does not produce
    (:func:`simdc.planning.missing_metric`)."""
    from simdc.planning import check_metric, missing_metric

    for metric in metrics:
        check_metric(metric, f"{flag} {metric}")
        why = missing_metric(metric, config)
        if why is not None:
            raise ConfigError(f"{flag} {metric}: {why}")


def run_point(config: Config, seed: int, check_memory: bool = True) -> pd.DataFrame:
    """One run of one grid point: its summary (a Dask task; plain data in and out)."""
    from simdc.experiment import simulate

    return simulate(config, seed=seed, check_memory=check_memory).summary


def sweep(config: Config, grid: dict[str, list[Any]], replications: int = 1, *,
          out: str | Path | None = None, scheduler: str | None = None, workers: int | None = None,
          progress: Callable[[int, int], None] | None = None, check_memory: bool = True) -> pd.DataFrame:
    """Run every grid point ``replications`` times; return the tidy table.

    Parameters
    ----------
    config
        A config, or the path of a TOML config (:func:`simdc.simulate`).
    grid
        Dotted config key → a non-empty list of values, e.g.
        ``{"host.memory_gib": [32, 64, 128]}``.
    replications
        Runs per point: replication ``r`` with seed ``simulation.seed + r`` of the point's
        config (the same seeds at every point unless the grid varies the seed). Must be 1
        when the grid varies ``simulation.seed``: its seeds are then the runs.
    out
        Directory for ``points.csv``, ``aggregate.csv`` and each run as it finishes.
    scheduler
        Address of an existing Dask scheduler (``tcp://host:8786``). Default: a local
        cluster of ``workers`` processes (default: the machine's cores); ``workers=1``
        runs in this process, without Dask. The local cluster's workers do not import
        the caller's ``__main__``: a script needs no ``if __name__ == "__main__":``
        guard to call this.
    progress
        Called as ``progress(done, total)`` after each run.
    check_memory
        Refuse a run that needs more memory than its machine has available
        (:mod:`simdc.budget`); False runs it anyway.

    Returns
    -------
    pandas.DataFrame
        A row per (point, platform, replication): ``point``, the grid keys (a key with a
        list, table, date or time value holds each value's TOML text, :func:`value_text`),
        ``platform``, ``replication``, ``seed`` (the seed the run used) and every summary
        metric.

    Raises
    ------
    TypeError
        ``config`` neither a config nor a path (:func:`simdc.experiment.as_config`).
    ConfigError
        ``grid`` not a non-empty dict of non-empty lists, a bad grid point, two values of a
        key that are the same once read (``32`` and ``32.0``), ``replications`` not an
        integer in [1, 10,000] (:data:`simdc.model.limits.MAX_REPLICATIONS`), or ``> 1``
        with a grid over ``simulation.seed``, ``workers`` not an
        integer >= 1, ``check_memory`` not a bool, or a malformed ``scheduler`` address,
        before anything runs.
    OutputError
        ``out`` is a file, a non-empty directory that is not a sweep's, or another
        sweep is writing it; before anything runs.
    InputError
        ``out`` holds a different sweep.
    simdc.budget.TooBigError
        With ``check_memory``: the points' configs and the runs' summaries would not fit in
        the memory available (:func:`simdc.budget.check_sweep`), or the largest run
        would not; before any point is built.
    SimdcError
        A run of a point raised it (:class:`InputError` for a trace that cannot be read),
        its class kept: each problem names the point by its grid values, the replication
        and the seed, and the last says how many finished runs are kept in ``out``.
    SweepError
        No scheduler at ``scheduler``, the scheduler was lost, or ``out`` filled up; the
        finished runs are kept in ``out`` and the message says how many.
    KeyboardInterrupt
        On Ctrl-C, carrying the same message.
    """
    from simdc.experiment import as_config

    config = as_config(config)
    replications = checked_int(replications, "replications", minimum=1, maximum=MAX_REPLICATIONS,
                               cli="--replications", why=REPLICATIONS_NOTE)
    if workers is not None:
        workers = checked_int(workers, "workers", minimum=1, cli="--workers")
    check_memory = checked_bool(check_memory, "check_memory")
    checked_callback(progress, "progress", "progress(done, total)")
    if scheduler is not None:
        _check_address(scheduler)
    if isinstance(grid, dict):  # a key's values as a range, a NumPy array or NumPy's scalars: Python's
        grid = {key: python_values(list(values) if isinstance(values, range) else values)
                for key, values in grid.items()}
    check_grid(grid)
    if SEED_KEY in grid and replications > 1:
        raise ConfigError(
            f"replications={replications} with grid {SEED_KEY}: the grid's seeds are the runs' seeds, so each "
            f"point runs once; list every seed in the grid, or give replications (seeds {SEED_KEY} + r) without it",
            cli=f"--replications {replications} with --grid {SEED_KEY}: the grid's seeds are the runs' seeds, so "
                f"each point runs once; list every seed in --grid {SEED_KEY}=1,2,3,..., or give --replications "
                f"(seeds {SEED_KEY} + r) without it")
    if check_memory:  # counted before any point is built: a grid's product grows fast
        from simdc.budget import check_sweep

        check_sweep(math.prod(map(len, grid.values())), replications, len(config.simulation.platforms))
    try:
        grid_points = points(config, grid)
    except ConfigError as err:
        raise reworded(err, "--grid", "grid") from None
    # each point's own seed: the grid may vary it
    tasks = [(p, r, cfg, cfg.simulation.seed + r)
             for p, (_, cfg) in enumerate(grid_points) for r in range(replications)]
    labels = grid_labels(grid)
    keys = list(grid)
    point_labels = [dict(zip(keys, values)) for values in itertools.product(*(labels[k] for k in keys))]
    with contextlib.ExitStack() as stack:
        parts = stack.enter_context(_Parts(Path(out), config, grid, replications, grid_points)) if out else None
        done = parts.load() if parts else {}
        stale = _stale(done, tasks, point_labels)
        todo = [t for t in tasks if (t[0], t[1]) not in done]
        if check_memory and scheduler is None and todo:
            _check_largest(todo, grid_points)
        if progress:
            progress(len(done), len(tasks))

        def finished(p: int, r: int, seed: int, summary: pd.DataFrame) -> None:
            table = summary.assign(point=p, replication=r, seed=seed, **point_labels[p])
            if parts:
                parts.save(p, r, table, kept=len(done), total=len(tasks))
            done[(p, r)] = table
            if progress:
                progress(len(done), len(tasks))

        try:
            if todo:
                if workers == 1 and scheduler is None:
                    for p, r, cfg, seed in todo:
                        try:
                            summary = run_point(cfg, seed, check_memory)
                        except SimdcError as err:
                            raise _PointFailed((p, r, seed), err) from None
                        finished(p, r, seed, summary)
                else:
                    _on_dask(todo, finished, scheduler, workers, check_memory)
            table = tidy([done[(p, r)] for p, r, _, _ in tasks], list(grid))
            if parts:  # a Ctrl-C here leaves both tables or neither: said as the runs' is
                parts.finish(table)
        except KeyboardInterrupt as err:  # Ctrl-C, or SIGTERM (simdc.errors.Terminated): kept as it came
            raise type(err)(_kept(stop_word(err), len(done), len(tasks), parts)) from None
        except _Lost as err:  # say what is kept
            raise SweepError(_kept(err.problems[0], len(done), len(tasks), parts),
                             cli=_kept(err.cli_problems[0], len(done), len(tasks), parts)) from None
        except _PointFailed as failure:  # say which run, and what is kept
            raise _point_failed(failure, grid_points, len(done), len(tasks), parts) from None
        if parts:
            notes = []  # said by the CLI; kept with the table for the API
            if parts.damaged:
                notes.append(f"{len(parts.damaged)} damaged part file(s) in {parts.parts} were run again: "
                             + ", ".join(parts.damaged[:5]) + (" …" if len(parts.damaged) > 5 else ""))
            if stale:
                notes.append(f"{len(stale)} part file(s) in {parts.parts} had run with another seed than their "
                             "point's (an earlier simdc's, which ran the base seed at every point) and were "
                             "run again: " + ", ".join(stale[:5]) + (" …" if len(stale) > 5 else ""))
            if notes:
                table.attrs["notes"] = notes
    return table


def _stale(done: dict[tuple[int, int], pd.DataFrame], tasks, point_labels: list[dict[str, Any]]) -> list[str]:
    """Drop from ``done`` the resumed runs whose seed is not the one their point runs now
    (their part files are overwritten when run again); name them. Label the others' grid
    columns as this sweep does (an earlier simdc wrote a list as Python's repr)."""
    stale = []
    for p, r, _, seed in tasks:
        table = done.get((p, r))
        if table is None:
            continue
        if not (pd.to_numeric(table["seed"], errors="coerce") == seed).all():
            stale.append(f"p{p:05d}-r{r:04d}.csv")
            del done[(p, r)]
        else:
            done[(p, r)] = table.assign(**point_labels[p])
    return stale


class _Lost(SweepError):
    """The Dask scheduler went away mid-sweep."""


class _PointFailed(Exception):
    """A run of a grid point raised a :class:`SimdcError` (its input was bad: a trace that
    cannot be read): the run's ``(point, replication, seed)`` and the error."""

    def __init__(self, key: tuple[int, int, int], error: SimdcError):
        super().__init__(key, error)
        self.key, self.error = key, error


def _point_failed(failure: _PointFailed, grid_points, done: int, total: int, parts: _Parts | None) -> SimdcError:
    """The error a run of a point raised (its class kept), as the sweep says it: each line
    names the point by its grid values, the replication and its seed, and the last
    problem says what is kept and how to resume, as an interrupted sweep does
    (:func:`_kept`). A closing hint stays a hint."""
    p, r, seed = failure.key
    where = f"the point {_where(grid_points[p][0])}, replication {r} (seed {seed})"

    def said(problems: list[str]) -> list[str]:
        lines = [line if line == SKIP_HINT else f"{where}: {line}" for line in problems]
        last = max((k for k, line in enumerate(problems) if line != SKIP_HINT), default=len(lines) - 1)
        lines[last] = _kept(lines[last], done, total, parts)
        return lines

    return restated(failure.error, said(failure.error.problems), said(failure.error.cli_problems))


def _kept(what: str, done: int, total: int, parts: _Parts | None) -> str:
    if parts is not None and parts.finished:  # after the last rename: nothing is missing
        return f"{what} after the sweep finished; {parts.out} holds its points.csv and aggregate.csv"
    if parts is not None and not done and parts.made:  # removed on the way out: nothing to resume
        return f"{what}; no run had finished, and {parts.out} was not kept"
    if parts is None:
        return f"{what}; {done} of {total} runs had finished (give out= to keep them)"
    return (f"{what}; {done} of {total} runs are kept in {parts.out}: "
            "run the same sweep into it again to resume")


def _check_address(scheduler: str) -> None:
    """Refuse a malformed scheduler address at once, before anything runs."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import backends

    try:
        scheme, location = parse_address(scheduler, strict=True)
        if scheme not in backends:  # Dask would refuse it only when connecting, with a traceback
            raise ValueError(f"unknown scheme {scheme!r}; Dask's are {', '.join(sorted(backends))}")
        if scheme in ("tcp", "tls", "ws", "wss"):
            port = parse_host_port(location)[1]
            if not 0 < port < 65536:
                raise ValueError(f"port {port} out of range")
    except (ValueError, TypeError) as err:
        raise ConfigError(f"scheduler {scheduler!r}: not a Dask scheduler address ({err}); "
                          "expected e.g. tcp://127.0.0.1:8786",
                          cli=f"--scheduler {scheduler!r}: not a Dask scheduler address ({err}); "
                              "expected e.g. tcp://127.0.0.1:8786") from None


def _check_largest(todo, grid_points) -> None:
    """Raise :class:`simdc.budget.TooBigError` with ``simdc run``'s message (its cause and
    hints) when the largest run of ``todo`` would not fit in this machine's memory at all,
    naming its grid point: rather than a count of workers that "need" it."""
    from simdc.budget import TooBigError, check, estimate

    sizes = [estimate(cfg).bytes for _, _, cfg, _ in todo]
    p, _, cfg, _ = todo[sizes.index(max(sizes))]
    try:
        check(cfg, spill=None)
    except TooBigError as err:
        where = "the point " + _where(grid_points[p][0])
        raise TooBigError([f"{where}: {line}" for line in err.problems],
                          cli=[f"{where}: {line}" for line in err.cli_problems]) from None


def _on_dask(todo, finished, scheduler, workers, check_memory: bool = True) -> None:
    """Run ``todo`` on Dask, calling ``finished`` for each run as it completes.

    Raises
    ------
    SweepError
        The scheduler did not answer within ``CONNECT_TIMEOUT_S``, or was lost mid-sweep.
    """
    from simdc.budget import estimate

    calls = [((p, r, seed), run_point, (cfg, seed, check_memory)) for p, r, cfg, seed in todo]
    run_bytes = max(estimate(cfg).bytes for _, _, cfg, _ in todo)  # the largest point's, imports included
    run_on_dask(calls, lambda key, summary: finished(*key, summary), scheduler, workers,
                lambda key: f"the run of point {key[0]}, replication {key[1]}", run_bytes, failed=_PointFailed)


def local_workers(workers: int | None, runs: int, run_bytes: float, available: int | None = None) -> int:
    """The local worker processes to start for ``runs`` runs: ``workers`` (default the
    machine's cores), but no more than there are runs. More than the cores run, sharing
    them (no faster than one per core).

    ``run_bytes`` is one worker's memory with its largest run, bytes (its imports,
    :data:`simdc.budget.BASE_BYTES`, and its trace's reading included); the workers are
    counted with this process and the forkserver (:func:`simdc.budget.workers_bytes`).
    ``available`` defaults to
    :func:`simdc.budget.available_bytes` (None from the system: not checked).

    Raises
    ------
    SweepError
        The workers' memory would not fit in what is available, before any starts.
    """
    from simdc.budget import _gib, available_bytes, workers_bytes, workers_that_fit

    count = max(1, min(workers or os.cpu_count() or 1, runs))
    available = available_bytes() if available is None else available
    needed = workers_bytes(count, run_bytes)
    if available is not None and needed > available:
        fit = workers_that_fit(available, run_bytes)
        problem = (f"{count:,} local workers need about {_gib(needed, available)} "
                   f"({_gib(run_bytes, available)} each: imports and its largest run, a trace's reading included, and "
                   f"{_gib(workers_bytes(0, run_bytes), available)} for this process and the forkserver), and "
                   f"{_gib(available, needed)} is available; "
                   + (f"at most {fit:,} fit" if fit else "not even one fits"))
        raise SweepError(f"workers: {problem}", cli=f"--workers: {problem}" if workers is not None else
                         f"sweep: {problem}; by default one local worker per core: give --workers for fewer")
    return count


def run_on_dask(calls, finished, scheduler: str | None, workers: int | None, describe,
                run_bytes: float | None = None, failed=None) -> None:
    """Run each ``(key, function, args)`` of ``calls`` as a Dask task, on the scheduler at
    ``scheduler`` or on a local cluster of ``workers`` processes, calling
    ``finished(key, result)`` as each completes (in the order they complete). A local
    cluster gets no more workers than there are calls, and is refused before it starts
    when their memory (``run_bytes`` each, default :data:`simdc.budget.BASE_BYTES`) does
    not fit (:func:`local_workers`).

    A worker that dies (killed, out of memory) has its task run again on another, as Dask
    does; one that kills its worker again and again, and a lost scheduler, end the run
    with :class:`SweepError` naming it by ``describe(key)``. An error the task raises is
    raised here; a :class:`SimdcError` as ``failed(key, error)`` when ``failed`` is
    given (the caller's wording of it). Ctrl-C stops the local workers at once.

    Raises
    ------
    SweepError
        The scheduler did not answer within ``CONNECT_TIMEOUT_S``, or was lost mid-run;
        the local workers would not fit in memory.
    """
    from concurrent.futures import CancelledError

    from simdc.budget import BASE_BYTES

    if scheduler is None:  # refused before Dask is imported or anything starts
        workers = local_workers(workers, len(calls), BASE_BYTES if run_bytes is None else run_bytes)

    from dask.distributed import Client, as_completed
    from distributed.scheduler import KilledWorker

    client = cluster = None
    settings = contextlib.ExitStack()
    try:
        settings.enter_context(_quiet_loop())
        interrupt_noted = settings.enter_context(_interrupts_noted())
        if scheduler is not None:
            try:
                _probe(scheduler)
            except OSError as err:
                problem = f"no Dask scheduler there ({describe_os_error(err)})"
                raise SweepError(f"scheduler {scheduler}: {problem}",
                                 cli=f"--scheduler {scheduler}: {problem}") from None
            try:
                client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError):
                raise SweepError(f"scheduler {scheduler}: no Dask scheduler answered within "
                                 f"{CONNECT_TIMEOUT_S:g} s",
                                 cli=f"--scheduler {scheduler}: no Dask scheduler answered within "
                                     f"{CONNECT_TIMEOUT_S:g} s") from None
        else:
            # The local scheduler runs in this process: its warnings (a worker removed, its
            # tasks to be recomputed) can come before the sweep has heard of a Ctrl-C or a
            # lost worker, and simdc says what happened itself. Its errors still show.
            settings.enter_context(_quiet_dask(logging.ERROR))
            settings.enter_context(_workers_do_not_import_main())  # while workers start (and restart)
            settings.enter_context(_workers_deaf_to_ctrl_c())  # kept on for workers Dask restarts
            cluster, interrupted = _start_local_cluster(workers)
            if interrupted is not None:
                raise interrupted
            client = Client(cluster)
            from simdc.dask_plugins import QuietClose

            # Registered before any task is submitted: every worker that runs one (and each
            # that Dask starts again in its place) closes quietly.
            client.register_plugin(QuietClose())
        futures = {client.submit(_reported, function, *args, pure=False): key for key, function, args in calls}
        for future in as_completed(futures):
            key = futures[future]
            try:
                result = future.result()
            except KilledWorker:
                raise _Lost(f"{describe(key)} killed its Dask worker again and again "
                            "(out of memory?)") from None
            except (CancelledError, OSError, TimeoutError):
                if future.status == "error":
                    raise  # the run itself raised it
                where = scheduler or "the local cluster"
                raise _Lost(f"the Dask scheduler at {where} was lost") from None
            del futures[future]  # its result is no longer held by the cluster either
            if isinstance(result, _Raised):
                raise result.error() if failed is None else failed(key, result.error())
            finished(key, result)
            if interrupt_noted() is not None:  # a Ctrl-C a finaliser swallowed: honoured now
                raise interrupt_noted()
    except KeyboardInterrupt:
        # Silenced for good, not for the teardown only: the scheduler's thread may still
        # log a worker's removal after the cluster is closed (and after the levels set
        # for the sweep are put back), and the interrupt's one line must stay the only one.
        _silence_dask_for_good()
        if cluster is not None:  # don't wait for the runs in flight: stop this sweep's workers now
            for nanny in list(cluster.workers.values()):
                with contextlib.suppress(Exception):  # a worker already gone, or never started
                    os.kill(nanny.pid, signal.SIGKILL)
        raise
    finally:
        _close(client, cluster)
        settings.close()


class _Raised:
    """A :class:`SimdcError` a task raised, handed back as its result: a task's exception is
    logged by its Dask worker with the traceback ("Compute Failed", on stderr), where the
    user must see the error's one line alone. Kept as its class, args and attributes, and
    made again in the driver as it was."""

    def __init__(self, err: SimdcError):
        self.kind, self.args, self.state = type(err), err.args, dict(err.__dict__)

    def error(self) -> SimdcError:
        err = self.kind.__new__(self.kind)
        err.args = self.args
        err.__dict__.update(self.state)
        return err


def _reported(function, *args):
    """``function(*args)`` in a Dask task; a :class:`SimdcError` it raises is returned,
    wrapped (:class:`_Raised`)."""
    try:
        return function(*args)
    except SimdcError as err:
        return _Raised(err)


def _start_local_cluster(workers: int):
    """A local cluster of ``workers`` processes, and the interrupt (Ctrl-C or SIGTERM) that came meanwhile, or None.

    It starts in a helper thread while this one waits: a Ctrl-C during the start is noted
    and the start completed, because Dask cannot close a half-started cluster (it fails
    with an AssertionError at exit).
    """
    from dask.distributed import LocalCluster

    started: dict = {}
    done = threading.Event()

    def start() -> None:
        try:
            started["cluster"] = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                              dashboard_address=":0")
        except BaseException as err:  # handed to the waiting thread
            started["error"] = err
        finally:
            done.set()

    threading.Thread(target=start, name="simdc-local-cluster", daemon=True).start()
    interrupted = None
    while not done.is_set():  # polled: an interrupted Thread.join can report a live thread dead
        try:
            time.sleep(0.05)
        except KeyboardInterrupt as err:  # Ctrl-C or SIGTERM: the first kept
            interrupted = interrupted or err
    if "error" in started:
        raise started["error"]
    return started["cluster"], interrupted


def _probe(scheduler: str) -> None:
    """Fail at once when nothing listens at a tcp:// address (the Dask client would retry
    a refused connection until its timeout)."""
    import socket

    from distributed.comm.addressing import parse_address, parse_host_port

    scheme, location = parse_address(scheduler)
    if scheme == "tcp":
        host, port = parse_host_port(location)
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()


@contextlib.contextmanager
def _workers_do_not_import_main():
    """Keep Dask's worker processes from running the caller's script again.

    A process started by multiprocessing's ``spawn`` or ``forkserver`` (Dask's nannies
    use ``spawn``) first imports the parent's ``__main__`` from its file or module name,
    so a script that calls :func:`sweep` without an ``if __name__ == "__main__":`` guard
    would run again in every worker, start a cluster of its own there and fail ("Nanny
    failed to start"). A ``__main__`` without a file or spec is left alone, as in an
    interactive session (multiprocessing.spawn.get_preparation_data): both are hidden
    while the workers start. The workers run :func:`run_point` only, which needs nothing
    from ``__main__``.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved = {name: vars(main)[name] for name in ("__file__", "__spec__") if name in vars(main)}
    vars(main).pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        vars(main).update(saved)
        if "__spec__" not in saved:
            del main.__spec__


@contextlib.contextmanager
def _workers_deaf_to_ctrl_c():
    """Local workers that never receive SIGINT: forked from a forkserver started, from
    this thread, with SIGINT blocked.

    A Ctrl-C in the terminal goes to the whole process group: without this every worker
    prints a traceback of its own. The signal mask survives fork and exec, so the
    forkserver and the workers it forks keep SIGINT blocked; this process unblocks it at
    once (a Ctrl-C meanwhile stays pending, then arrives), so a Ctrl-C at any time stops
    the sweep, and the sweep stops the workers. (Dask spawns workers from its own thread,
    whose mask this cannot set; ignoring SIGINT instead would lose a Ctrl-C.)
    """
    import dask

    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        if hasattr(signal, "pthread_sigmask"):
            import multiprocessing.forkserver

            from distributed.utils import get_mp_context

            get_mp_context()  # sets Dask's preload (its packages, imported once in the server)
            # The forkserver starts multiprocessing's resource tracker first, and that start
            # blocks SIGINT for its child and then UNBLOCKS it (CPython's
            # resource_tracker.ensure_running): started inside our block, the forkserver
            # after it could take a Ctrl-C while its interpreter starts ("Fatal Python
            # error: init_import_site", seen in CI). Started here first, the tracker is
            # already running inside the block, and the block holds.
            import multiprocessing.resource_tracker

            multiprocessing.resource_tracker.ensure_running()
            previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            # The workers' Dask logs errors only: its warnings while a sweep is torn down
            # (tasks cancelled) would bury the sweep's one line. Read at their start.
            level = os.environ.get("DASK_LOGGING__DISTRIBUTED")
            os.environ["DASK_LOGGING__DISTRIBUTED"] = "error"
            try:
                multiprocessing.forkserver.ensure_running()
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, previous)
                if level is None:
                    del os.environ["DASK_LOGGING__DISTRIBUTED"]
                else:
                    os.environ["DASK_LOGGING__DISTRIBUTED"] = level
        yield


def _close(client, cluster) -> None:
    """Close the client and a local cluster, quickly and quietly (also after a lost
    scheduler, when the client would otherwise log its reconnection attempts)."""
    with _quiet_dask():
        try:
            if client is not None:
                client.close(timeout=2)
            if cluster is not None:
                cluster.close(timeout=5)
        except Exception:  # already gone: nothing left to close
            pass


def _silence_dask_for_good() -> None:
    """Drop every record of Dask's loggers at the handlers they reach (this process's):
    a filter there outlives any logger level put back later."""
    def not_dask(record: logging.LogRecord) -> bool:
        return not record.name.startswith(_DASK_LOGGERS)

    for logger in (logging.getLogger("distributed"), logging.getLogger("tornado"),
                   logging.getLogger("tornado.application"), logging.getLogger()):
        for handler in logger.handlers:
            handler.addFilter(not_dask)


# Dask's loggers, and those of the event loop it runs on: an exception in one of Dask's
# own callbacks is logged by tornado (seen: distributed's ``sync`` cancelling a wait that
# a Ctrl-C interrupted, a NameError with its traceback, on stderr after the sweep's line)
_DASK_LOGGERS = ("distributed", "tornado")


@contextlib.contextmanager
def _quiet_dask(level: int | None = None):
    """Dask's loggers in this process silenced (below CRITICAL, or ``level``): what it says
    while a sweep is being torn down (workers removed, tasks lost) is said once, by the
    sweep's error."""
    names = [name for name in list(logging.root.manager.loggerDict)
             if name == "distributed" or name.startswith("distributed.")]
    with _loggers_at(names, logging.CRITICAL if level is None else level):
        yield


@contextlib.contextmanager
def _loggers_at(names: list[str], level: int):
    """The loggers ``names`` at ``level`` for the block, their own levels put back after."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, before in zip(loggers, levels):
            logger.setLevel(before)


@contextlib.contextmanager
def _interrupts_noted():
    """A Ctrl-C (or SIGTERM) that a finaliser swallowed, noted for as long as Dask runs in this process;
    yields a function telling whether one came.

    A KeyboardInterrupt raised while a finaliser runs (a Dask future's ``__del__``, as
    the garbage collector frees it) is printed by Python and lost: the sweep went on to
    the end (CI saw it once, exit 0 with a traceback). Such an interrupt is noted here,
    silently, and the caller raises it again once the run then finishing is kept.
    """
    noted: list[BaseException] = []
    previous_hook = sys.unraisablehook

    def unraisable(info) -> None:
        if info.exc_type is not None and issubclass(info.exc_type, KeyboardInterrupt):
            noted.append(info.exc_value)
        else:
            previous_hook(info)

    sys.unraisablehook = unraisable
    try:
        yield lambda: noted[0] if noted else None
    finally:
        sys.unraisablehook = previous_hook


def _quiet_loop():
    """The event loop's own loggers (``tornado``, ``tornado.application``) silenced below
    CRITICAL while Dask runs in this process: what they log is an exception in one of
    Dask's callbacks, which simdc reports itself if it matters to the run."""
    return _loggers_at(["tornado", "tornado.application"], logging.CRITICAL)


def tidy(tables: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    """One table: ``point``, grid keys, ``platform``, ``replication``, ``seed``, metrics."""
    if not tables:
        return pd.DataFrame(columns=["point", *keys, "platform", "replication", "seed", *METRICS])
    table = pd.concat(tables, ignore_index=True)
    first = ["point", *keys, "platform", "replication", "seed"]
    return table[first + [c for c in table.columns if c not in first]].reset_index(drop=True)


def ci95_half_width(n, sd):
    """Half-width of the 95 % confidence interval of a mean of ``n`` values with sample
    standard deviation ``sd`` (``ddof=1``): Student's t, ``t(0.975, n−1) · sd / √n``; NaN
    where ``n < 2`` or ``sd`` is not finite. ``n`` and ``sd`` are numbers or arrays of one
    shape (the result has it). ``n`` counts the values the mean and ``sd`` are over: a
    replication without the metric (NaN: nothing started, no failure) is not one of them.
    The one rule for a sweep's, a plan's and the report's intervals."""
    from scipy import stats  # here, not at import: ~1 s that every Dask worker would pay (issue #16)

    n, sd = np.asarray(n, dtype=float), np.asarray(sd, dtype=float)
    ok = (n > 1) & np.isfinite(sd)
    safe_n = np.where(ok, n, 2.0)
    half = np.where(ok, stats.t.ppf(0.975, safe_n - 1) * np.where(ok, sd, 0.0) / np.sqrt(safe_n), np.nan)
    return float(half) if half.ndim == 0 else half


def _digest(path: Path) -> str:
    """SHA-256 of what a file holds; a folder's over its files' names and contents, in
    name order; ``"absent"`` for a path that is not there (its run says what of it)."""
    import hashlib

    digest = hashlib.sha256()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            digest.update(str(file.relative_to(path)).encode("utf-8", "surrogateescape") + b"\0")
            digest.update(_digest(file).encode() + b"\0")
        return digest.hexdigest()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return "absent"  # what the run then says of it, it says itself
    return digest.hexdigest()


def aggregate(points_table: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % confidence half-width of every metric, per grid point and platform.

    Returns a row per point and platform: the grid keys, ``n`` (the replications), and per
    metric ``<metric>_mean``, ``<metric>_ci95`` (:func:`ci95_half_width`) and ``<metric>_n``,
    the replications that have a value: both are over those alone (a replication where the
    metric is NaN, a mean wait with nothing queued, has none), so with values in 2 of 5
    the interval is t(0.975, 1) · s / √2, not t(0.975, 4) · s / √5.

    Raises
    ------
    TypeError
        ``points_table`` is not a DataFrame.
    ValueError
        It is not a sweep's points table: no ``point`` or ``platform`` column (a single
        run's summary), or it is aggregated already.
    """
    if not isinstance(points_table, pd.DataFrame):
        raise TypeError(f"aggregate: expected a sweep's points table (a DataFrame, simdc.sweep's), "
                        f"got {type(points_table).__name__}")
    missing = [c for c in ("point", "platform") if c not in points_table.columns]
    if missing or any(str(c).endswith("_ci95") for c in points_table.columns):
        # (pandas would take a list of column names as long as the table for one label per
        # row: a run's two-row summary came back grouped by the letters of 'point')
        said = (f"it has no {' or '.join(repr(c) for c in missing)} column" if missing else
                "it is aggregated already (it has <metric>_ci95 columns)")
        raise ValueError(f"aggregate: the table given is not a sweep's points table: {said}; simdc.sweep's "
                         "table has a row per point, platform and replication (columns 'point', 'platform', "
                         "'replication', the grid keys and the metrics); a single run's summary has nothing "
                         "to aggregate")
    keys = [c for c in points_table.columns
            if c not in ("replication", "seed", "platform", *METRICS, *OPTIONAL_METRICS) and c != "point"]
    metrics = [c for c in (*METRICS, *OPTIONAL_METRICS) if c in points_table.columns]
    rows = []
    group_keys = ["point", *keys, "platform"]
    for values, group in points_table.groupby(group_keys, sort=False, dropna=False):
        row = dict(zip(group_keys, values)) | {"n": len(group)}
        for metric in metrics:
            column = pd.to_numeric(group[metric], errors="coerce")
            count = int(column.count())
            row[f"{metric}_mean"] = column.mean()
            row[f"{metric}_ci95"] = ci95_half_width(count, column.std(ddof=1))
            row[f"{metric}_n"] = count
        rows.append(row)
    return pd.DataFrame(rows)


def _part(path: Path, platforms: list[str] | None) -> tuple[tuple[int, int], pd.DataFrame] | None:
    """One finished run's table from ``parts/pPPPPP-rRRRR.csv``, or None when the file is
    not whole: unreadable, without a row, without a metric column, naming another point
    or replication than its name, or without a row for each of ``platforms``."""
    try:
        p, r = (int(x[1:]) for x in path.stem.split("-"))
        table = pd.read_csv(path, dtype={"platform": str})
    except Exception:  # noqa: BLE001 - a bad name, or whatever pandas says of a damaged file
        return None
    needed = {"platform", "point", "replication", "seed", *METRICS}
    if (not len(table) or not needed <= set(table.columns) or table[["point", "replication"]].isna().any().any()
            or not (table["point"] == p).all() or not (table["replication"] == r).all()
            or (platforms is not None and table["platform"].tolist() != platforms)):
        return None
    return (p, r), table


class _Parts:
    """A sweep's directory: its description, one file per finished run, the tables.

    Used as a context manager: entering checks the directory (refusing a file, or a
    non-empty directory that is not a sweep's) and locks it against a second sweep
    (``.NAME.lock`` beside it, see :class:`simdc.results.Destination`).
    """

    def __init__(self, out: Path, config: Config, grid: dict, replications: int,
                 grid_points: list[tuple[dict[str, Any], Config]]):
        from simdc.config import input_files

        self.out = out
        self.parts = out / SWEEP_PARTS  # its own files (simdc.results.KINDS), as are these:
        self.record = out / SWEEP_RECORD
        self.description = {"config_hash": config.hash, **grid_record(grid), "replications": replications}
        # the files each point reads, and what they hold now (sweep.json keeps it as of its runs)
        self.reads = [input_files(cfg) for _, cfg in grid_points]
        self.inputs = {path: _digest(Path(path)) for path in dict.fromkeys(p for paths in self.reads for p in paths)}
        # a whole part has a row per platform (unless the grid sweeps the platforms)
        self.platforms = None if "simulation.platforms" in grid else list(config.simulation.platforms)
        self._lock: DestinationLock | None = None
        self._new_folder = False
        self._made_above: list[Path] = []  # the folders above out made for it
        self.made = False  # out was absent or empty: what this sweep puts there goes if no run finishes
        self.finished = False  # points.csv and aggregate.csv written

    def __enter__(self) -> _Parts:
        out = self.out
        check_not_own(out, None)  # e.g. a run's directory's cells.csv, another sweep's parts/
        self.made = not out.is_dir() or not any(out.iterdir())
        self._new_folder = not os.path.lexists(out)
        if os.path.lexists(out) and not out.is_dir():
            raise OutputError(out, f"{out}: already exists and is not a directory; choose another out",
                              cli=f"{out}: already exists and is not a directory; choose another --out")
        if out.is_dir() and not self.record.exists() and any(out.iterdir()):
            raise OutputError(out, f"{out}: already exists and is not a sweep's directory (no sweep.json); "
                                   "choose another out",
                              cli=f"{out}: already exists and is not a sweep's directory (no sweep.json); "
                                  "choose another --out")
        self._made_above = absent_folders(out.parent)  # removed again with out when no run finishes
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            remove_empty_folders(self._made_above)
            raise OutputError(out, f"{out}: {parent_problem(out.parent, err)}") from None
        self._lock = DestinationLock(out.parent / f".{out.name}.lock", out)
        try:
            self._lock.acquire()
        except BaseException:
            remove_empty_folders(self._made_above)
            raise
        try:
            self.parts.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            self._lock.release()
            remove_empty_folders(self._made_above)
            raise OutputError(out, f"{out}: cannot create the sweep's directory: {describe_os_error(err)}") from None
        self._remove_temporaries()  # a killed sweep's (the lock is ours)
        return self

    def _remove_temporaries(self) -> None:
        for folder in (self.out, self.parts):
            for leftover in folder.glob(".*.tmp"):
                leftover.unlink(missing_ok=True)

    def __exit__(self, exc_type, *exc) -> None:
        if self._lock is not None:
            # A Ctrl-C between a temporary file's creation and its rename (or its removal)
            # must not leave it behind: the folder holds finished parts only.
            with contextlib.suppress(OSError):
                self._remove_temporaries()
            if exc_type is not None and self.made:
                self._remove_unfinished()
            self._lock.release()
            if exc_type is not None:
                remove_empty_folders(self._made_above)  # empty only when out went too

    def _remove_unfinished(self) -> None:
        """A sweep that failed before any run finished (no scheduler there, a bad grid
        point) leaves no folder it made, nor anything in an empty one it was given."""
        with contextlib.suppress(OSError):
            if any(self.parts.glob("p*-r*.csv")):
                return  # finished runs: kept, to resume
            shutil.rmtree(self.parts, ignore_errors=True)
            self.record.unlink(missing_ok=True)
            if self._new_folder and not any(self.out.iterdir()):
                self.out.rmdir()

    def load(self) -> dict[tuple[int, int], pd.DataFrame]:
        """Runs already done by an earlier call with the same sweep; refuse a different one,
        or one with runs of a point whose input files (trace, usage, series) have changed
        since (the config names a file, not what it holds: :attr:`Config.hash` cannot
        tell). A changed file that no kept run read (the bad trace a failed point was
        given, mended) is taken as it is now."""
        described = self.record
        recorded = None
        if described.exists():
            try:
                earlier = json.loads(described.read_text())
            except (OSError, UnicodeDecodeError, ValueError):
                earlier = None  # damaged: not this sweep's as far as anyone can tell
            same = isinstance(earlier, dict) and {k: v for k, v in earlier.items() if k != "inputs"} == json.loads(
                json.dumps(self.description))
            if not same:
                raise InputError(f"{self.out}: holds a different sweep (config, grid or replications differ); "
                                 "choose another out",
                                 cli=f"{self.out}: holds a different sweep (config, grid or replications differ); "
                                     "choose another --out")
            order = list(earlier.get("grid", {}))
            if order != list(self.description["grid"]):  # equal dicts: the same keys, in another order
                # its part files are numbered over the product in its order (points): taken as this one's,
                # each would be labelled with another point's values
                said = f"holds this sweep with its grid keys in another order ({', '.join(order)}), which its runs " \
                       "are numbered by; give the keys in that order to resume it, or choose another"
                raise InputError(f"{self.out}: {said} out", cli=f"{self.out}: {said} --out")
            recorded = earlier.get("inputs") if isinstance(earlier.get("inputs"), dict) else {}
        done = {}
        self.damaged = []
        for path in sorted(self.parts.glob("p*-r*.csv")):
            run = _part(path, self.platforms)
            if run is None:  # cut, emptied or edited: run again, never mixed into the table
                self.damaged.append(path.name)
                path.unlink(missing_ok=True)
                continue
            done[run[0]] = run[1]
        if recorded is not None:
            changed = {path for path, digest in self.inputs.items() if recorded.get(path) != digest}
            for p, _ in sorted(done):
                read = [path for path in self.reads[p] if path in changed]
                if read:
                    what = (f"{clip(read[0], 200)} has changed since runs of it were made"
                            if read[0] in recorded else
                            f"its runs were made by a simdc that did not record {clip(read[0], 200)}")
                    raise InputError(f"{self.out}: holds a different sweep ({what}); choose another out",
                                     cli=f"{self.out}: holds a different sweep ({what}); choose another --out")
            if not changed:
                return done
        self._write(described, json.dumps(self.description | {"inputs": self.inputs}, indent=2), 0, 0)
        return done

    def save(self, p: int, r: int, table: pd.DataFrame, kept: int, total: int) -> None:
        self._write(self.parts / f"p{p:05d}-r{r:04d}.csv", table.to_csv(index=False), kept, total)

    def finish(self, table: pd.DataFrame) -> None:
        """Write ``aggregate.csv``, then ``points.csv`` (each a temporary file renamed):
        ``points.csv`` marks a finished sweep (``simdc report`` reads it), so a sweep
        interrupted or failing here keeps neither, only its runs, and a rerun completes it."""
        n = len(table)
        tables = dict(zip(SWEEP_TABLES, (aggregate(table).to_csv(index=False), table.to_csv(index=False))))
        try:
            for name, text in tables.items():
                self._write(self.out / name, text, n, n)
        except BaseException:
            for name in tables:
                with contextlib.suppress(OSError):
                    (self.out / name).unlink(missing_ok=True)
            raise
        self.finished = True

    def _write(self, path: Path, text: str, kept: int, total: int) -> None:
        try:
            _atomic_write(path, text)
        except OSError as err:
            problem = f"{path}: cannot be written: {describe_os_error(err)}"
            if total:
                problem += (f"; {kept} of {total} runs are kept in {self.out}: "
                            "run the same sweep into it again to resume")
            raise SweepError(problem) from None


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` in one step (a temporary ``.NAME.XXXX.tmp`` renamed over
    it, removed if the write fails), with the permissions the umask gives a new file."""
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(handle, 0o666 & ~umask())  # mkstemp makes it 0600
        with os.fdopen(handle, "w") as file:
            file.write(text)
        replace_file(Path(tmp), path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
