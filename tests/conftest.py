"""Shared fixtures: small, valid configs and workload files written to ``tmp_path``."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import pytest
import tomli_w

# A one-host run small enough to simulate in a few milliseconds: about 70 arrivals in
# two hours, lifetimes of half an hour, sizes that fill an 8-core, 16 GiB host. The sizes
# are Azure A-series ones, so as VMs (the generator states needs) each gets the Av2 size
# that holds it with its guest OS (1 x 2, 2 x 4, 4 x 8 GiB) and every one fits the host.
MINIMAL: dict[str, Any] = {
    "simulation": {"duration_s": 7200, "seed": 3, "platforms": ["vm", "container"], "sample_every_s": 300},
    "host": {"cpu_cores": 8, "memory_gib": 16, "reserved_memory_gib": 1},
    "workload": {"synthetic": {
        "arrival_rate_per_s": 0.01,
        "lifetime_s": {"mean": 1800},
        "sizes": [
            {"cpu_cores": 1, "memory_gib": 1.75, "weight": 3},
            {"cpu_cores": 2, "memory_gib": 3.5, "weight": 2},
            {"cpu_cores": 4, "memory_gib": 7, "weight": 1},
        ],
    }},
}

def set_keys(data: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with dotted keys set, or removed when the value is None.

    Deliberately independent of ``simdc.config.apply_overrides``, which is under test.
    """
    data = copy.deepcopy(data)
    for key, value in changes.items():
        *tables, last = key.split(".")
        table = data
        for part in tables:
            table = table.setdefault(part, {})
        if value is None:
            table.pop(last, None)
        else:
            table[last] = value
    return data


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """``write_config({"host.memory_gib": 32}, name="c.toml")``: MINIMAL with dotted-key
    changes (None removes a key), written as TOML."""

    def write(changes: dict[str, Any] | None = None, name: str = "config.toml",
              base: dict[str, Any] | None = None) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tomli_w.dumps(set_keys(MINIMAL if base is None else base, changes or {})))
        return path

    return write


@pytest.fixture
def minimal() -> dict[str, Any]:
    """A fresh copy of the MINIMAL config data, free to modify."""
    return copy.deepcopy(MINIMAL)


@pytest.fixture
def config_path(write_config) -> Path:
    """The MINIMAL config written to ``tmp_path/config.toml``."""
    return write_config()


@pytest.fixture
def write_trace(tmp_path: Path) -> Callable[..., Path]:
    """``write_trace(rows, name="trace.csv")``: instance rows in simdc's own CSV format."""

    def write(rows: list[dict[str, Any]], name: str = "trace.csv") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(path, index=False)
        return path

    return write


def only_problems(lines: list[str]) -> bool:
    """Each line one ``error:`` problem, but for a closing ``hint:`` line (the advice on
    how to skip bad rows, simdc.errors.SKIP_HINT); at least one problem."""
    problems = lines[:-1] if lines and lines[-1].startswith("hint: ") else lines
    return bool(problems) and all(line.startswith("error: ") for line in problems)


@pytest.fixture
def frozen_results_clock(monkeypatch):
    """``simdc.results`` reads the time as 2026-11-30 09:10:04: default results folders
    are stamped ``-20261130-091004``."""
    import simdc.results as results_module

    class Frozen(results_module.datetime):
        @classmethod
        def now(cls, tz=None):
            return results_module.datetime(2026, 11, 30, 9, 10, 4, tzinfo=tz)

    monkeypatch.setattr(results_module, "datetime", Frozen)
