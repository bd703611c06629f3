"""A run's results: the tables in memory, and their directory on disk.

A results directory holds ``summary.csv``, ``instances.parquet``, ``timeseries.parquet``,
``hosts.csv``, ``workload.parquet``, the resolved ``config.toml`` and ``manifest.json``.
It is written beside its destination under a temporary name and renamed into place, so
an interrupted write never leaves a directory that looks complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from simdc.config import Config, validate
from simdc.errors import InputError

FILES = ("summary.csv", "instances.parquet", "timeseries.parquet", "hosts.csv",
         "workload.parquet", "config.toml", "manifest.json")


@dataclass
class Results:
    """Everything one run produced. Tables are tidy pandas DataFrames.

    Attributes
    ----------
    summary
        One row per platform (see :mod:`simdc.metrics` for the definitions).
    instances
        One row per instance and platform: times in seconds from the start, and outcome.
    timeseries
        One row per platform, host and sample (every ``simulation.sample_every_s``).
    hosts
        One row per platform and host: capacity and time integrals (``*_s`` columns
        are ∫ value dt, e.g. ``cpu_used_core_s`` in core-seconds).
    workload
        The instance requests replayed, identical for every platform.
    """

    config: Config
    summary: pd.DataFrame
    instances: pd.DataFrame
    timeseries: pd.DataFrame
    hosts: pd.DataFrame
    workload: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        """The report's figures by name (``memory``, ``cpu``, ``density``,
        ``start_latency``, ``outcomes``), as plotly Figures: see :mod:`simdc.report`."""
        from simdc import report  # plotly only where figures are asked for

        return report.figures(self)

    def write(self, out: str | Path, overwrite: bool = False, report: bool = False,
              report_title: str | None = None) -> Path:
        """Write the results directory ``out`` atomically; refuse to replace one unless asked.

        With ``report=True`` it also holds ``report.html`` (:func:`simdc.report.write_report`,
        headed ``report_title``), written before the directory is renamed into place.
        """
        out = Path(out)
        if out.exists() and not overwrite and (not out.is_dir() or any(out.iterdir())):
            raise InputError(f"{out}: already exists and is not empty; choose another --out or pass --overwrite")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        except OSError as err:  # e.g. a part of the path is a file
            raise InputError(f"{out}: cannot create a results directory there: {err.strerror or err}") from None
        try:
            self.summary.to_csv(tmp / "summary.csv", index=False)
            self.instances.to_parquet(tmp / "instances.parquet", index=False)
            self.timeseries.to_parquet(tmp / "timeseries.parquet", index=False)
            self.hosts.to_csv(tmp / "hosts.csv", index=False)
            self.workload.to_parquet(tmp / "workload.parquet", index=False)
            (tmp / "config.toml").write_text(self.config.to_toml())
            (tmp / "manifest.json").write_text(json.dumps(self.manifest, indent=2, default=str) + "\n")
            if report:
                from simdc.report import write_report

                write_report(self, tmp / "report.html", title=report_title)
            _replace_dir(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return out


def _replace_dir(new: Path, out: Path) -> None:
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rename(out, old / out.name)
        os.rename(new, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(new, out)


def fresh_results_dir(base: str | Path, stem: str) -> Path:
    """A directory name under ``base`` that no earlier run has used."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    candidate = Path(base) / f"{stem}-{stamp}"
    n = 1
    while candidate.exists():
        n += 1
        candidate = Path(base) / f"{stem}-{stamp}-{n}"
    return candidate


def load_results(directory: str | Path) -> Results:
    """Reopen a results directory written by :meth:`Results.write`."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"{directory}: no such results directory" if not directory.exists()
                         else f"{directory}: not a directory")
    missing = [name for name in FILES if not (directory / name).is_file()]
    if missing:
        raise InputError(f"{directory}: not a complete simdc results directory (missing {', '.join(missing)})")
    config = validate(tomllib.loads((directory / "config.toml").read_text()), source=str(directory / "config.toml"),
                      check_files=False)
    # Platform names are names, even when they look like numbers.
    return Results(
        config=config,
        summary=pd.read_csv(directory / "summary.csv", dtype={"platform": str}),
        instances=pd.read_parquet(directory / "instances.parquet"),
        timeseries=pd.read_parquet(directory / "timeseries.parquet"),
        hosts=pd.read_csv(directory / "hosts.csv", dtype={"platform": str, "group": str}, keep_default_na=False),
        workload=pd.read_parquet(directory / "workload.parquet"),
        manifest=json.loads((directory / "manifest.json").read_text()),
    )
