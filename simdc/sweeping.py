"""Sweeps: a grid of config overrides × replications, each point an independent run.

Replication ``r`` runs with seed ``simulation.seed + r`` at every grid point, so points
are compared on the same random numbers (common random numbers) and replications are
independent. Points run in parallel on Dask: a local cluster on this machine's cores by
default, or an existing cluster given its scheduler address. With ``out``, each finished
run is written at once (``parts/``), and a rerun into the same directory skips the runs
already there, so an interrupted sweep resumes.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from scipy import stats

from simdc.config import Config, apply_overrides, validate
from simdc.errors import ConfigError, InputError
from simdc.metrics import SUMMARY_COLUMNS

METRICS = tuple(c for c in SUMMARY_COLUMNS if c != "platform")


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """``["host.memory_gib=32,64", ...]`` → ``{"host.memory_gib": [32, 64], ...}``.

    Values are TOML literals, so ``platform.container.admission=requests,usage`` gives
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
        grid[key] = [_literal(v) for v in _split(values)]
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
    return [p.strip() for p in parts + [current] if p.strip()]


def _literal(text: str) -> Any:
    return apply_overrides({}, [f"v={text}"])["v"]


def points(config: Config, grid: dict[str, list[Any]]) -> list[tuple[dict[str, Any], Config]]:
    """Every grid point (the product of the values, in key order) and its validated config.

    Raises
    ------
    ConfigError
        For the first point whose overrides make an invalid config, naming the key.
    """
    keys = list(grid)
    out = []
    base = config.to_dict()
    for values in itertools.product(*(grid[k] for k in keys)):
        overrides = dict(zip(keys, values))
        try:
            out.append((overrides, validate(apply_overrides(base, overrides))))
        except ConfigError as err:
            raise ConfigError([f"--grid {', '.join(f'{k}={v!r}' for k, v in overrides.items())}: {p}"
                               for p in err.problems]) from None
    return out


def run_point(config: Config, seed: int) -> pd.DataFrame:
    """One run of one grid point: its summary (a Dask task; plain data in and out)."""
    from simdc.experiment import simulate

    return simulate(config, seed=seed).summary


def sweep(config: Config, grid: dict[str, list[Any]], replications: int = 1, *,
          out: str | Path | None = None, scheduler: str | None = None, workers: int | None = None,
          progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Run every grid point ``replications`` times; return the tidy table.

    Parameters
    ----------
    grid
        Dotted config key → values, e.g. ``{"host.memory_gib": [32, 64, 128]}``.
    replications
        Runs per point, with seeds ``simulation.seed + r``.
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

    Returns
    -------
    pandas.DataFrame
        A row per (point, platform, replication): ``point``, the grid keys, ``platform``,
        ``replication``, ``seed`` and every summary metric.
    """
    if replications < 1:
        raise ConfigError(f"--replications: must be >= 1 (got {replications})")
    grid_points = points(config, grid)
    tasks = [(p, r, cfg, config.simulation.seed + r)
             for p, (_, cfg) in enumerate(grid_points) for r in range(replications)]
    parts = _Parts(Path(out), config, grid, replications) if out is not None else None
    done = parts.load() if parts else {}
    todo = [t for t in tasks if (t[0], t[1]) not in done]
    if progress:
        progress(len(done), len(tasks))

    def finished(p: int, r: int, seed: int, summary: pd.DataFrame) -> None:
        overrides = grid_points[p][0]
        table = summary.assign(point=p, replication=r, seed=seed, **{k: [v] * len(summary) if isinstance(v, list)
                                                                      else v for k, v in overrides.items()})
        done[(p, r)] = table
        if parts:
            parts.save(p, r, table)
        if progress:
            progress(len(done), len(tasks))

    if todo:
        if workers == 1 and scheduler is None:
            for p, r, cfg, seed in todo:
                finished(p, r, seed, run_point(cfg, seed))
        else:
            _on_dask(todo, finished, scheduler, workers)
    table = tidy([done[(p, r)] for p, r, _, _ in tasks], list(grid))
    if parts:
        parts.finish(table)
    return table


def _on_dask(todo, finished, scheduler, workers) -> None:
    from dask.distributed import Client, LocalCluster, as_completed

    # A local cluster's worker processes start (and may restart) while it lives.
    with _workers_do_not_import_main() if scheduler is None else contextlib.nullcontext():
        if scheduler is not None:
            client, cluster = Client(scheduler), None
        else:
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                   processes=True, dashboard_address=":0")
            client = Client(cluster)
        try:
            futures = {client.submit(run_point, cfg, seed, pure=False): (p, r, seed) for p, r, cfg, seed in todo}
            for future in as_completed(futures):
                p, r, seed = futures[future]
                finished(p, r, seed, future.result())
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


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


def tidy(tables: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    """One table: ``point``, grid keys, ``platform``, ``replication``, ``seed``, metrics."""
    if not tables:
        return pd.DataFrame(columns=["point", *keys, "platform", "replication", "seed", *METRICS])
    table = pd.concat(tables, ignore_index=True)
    first = ["point", *keys, "platform", "replication", "seed"]
    return table[first + [c for c in table.columns if c not in first]].reset_index(drop=True)


def aggregate(points_table: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % confidence half-width of every metric, per grid point and platform.

    The half-width is Student's t: ``t(0.975, n−1) · s / √n`` over the replications
    (NaN with one replication).
    """
    keys = [c for c in points_table.columns
            if c not in ("replication", "seed", "platform", *METRICS) and c != "point"]
    metrics = [c for c in METRICS if c in points_table.columns]
    rows = []
    group_keys = ["point", *keys, "platform"]
    for values, group in points_table.groupby(group_keys, sort=False, dropna=False):
        n = len(group)
        row = dict(zip(group_keys, values)) | {"n": n}
        for metric in metrics:
            column = pd.to_numeric(group[metric], errors="coerce")
            mean = column.mean()
            sd = column.std(ddof=1)
            half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n) if n > 1 and np.isfinite(sd) else np.nan
            row[f"{metric}_mean"], row[f"{metric}_ci95"] = mean, half
        rows.append(row)
    return pd.DataFrame(rows)


class _Parts:
    """A sweep's directory: its description, one file per finished run, the tables."""

    def __init__(self, out: Path, config: Config, grid: dict, replications: int):
        self.out = out
        self.parts = out / "parts"
        self.description = {"config_hash": config.hash, "grid": grid, "replications": replications}

    def load(self) -> dict[tuple[int, int], pd.DataFrame]:
        """Runs already done by an earlier call with the same sweep; refuse a different one."""
        self.parts.mkdir(parents=True, exist_ok=True)
        described = self.out / "sweep.json"
        if described.exists():
            earlier = json.loads(described.read_text())
            if earlier != json.loads(json.dumps(self.description)):
                raise InputError(f"{self.out}: holds a different sweep (config, grid or replications differ); "
                                 "choose another --out")
        else:
            _atomic_write(described, json.dumps(self.description, indent=2))
        done = {}
        for path in sorted(self.parts.glob("p*-r*.csv")):
            p, r = (int(x[1:]) for x in path.stem.split("-"))
            done[(p, r)] = pd.read_csv(path, dtype={"platform": str})
        return done

    def save(self, p: int, r: int, table: pd.DataFrame) -> None:
        _atomic_write(self.parts / f"p{p:05d}-r{r:04d}.csv", table.to_csv(index=False))

    def finish(self, table: pd.DataFrame) -> None:
        _atomic_write(self.out / "points.csv", table.to_csv(index=False))
        _atomic_write(self.out / "aggregate.csv", aggregate(table).to_csv(index=False))


def _atomic_write(path: Path, text: str) -> None:
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w") as file:
        file.write(text)
    os.replace(tmp, path)
