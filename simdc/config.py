"""The run configuration: TOML in, a frozen, validated :class:`Config` out.

Every problem is reported at once, one line each, naming the key path, the value and
what was expected, e.g. ``host.memory_gib: must be > 0 (got -4)``. Unknown keys are
errors, with the nearest valid key suggested.
"""

from __future__ import annotations

import copy
import datetime
import difflib
import hashlib
import json
import math
import os
import re
import tomllib
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from simdc.errors import MAX_SEED, ConfigError, clip, resolved, reworded, special_file
from simdc.model import limits
from simdc.model.base import BOOL_MARK, Spec
from simdc.model.cost import CostSpec
from simdc.model.cells import CellSpec, RoutingSpec, check_cells
from simdc.model.faults import FaultSpec
from simdc.model.host import ClusterSpec, HostSpec
from simdc.model.migration import ConsolidationSpec, MaintenanceSpec, MigrationSpec
from simdc.model.image import ImageSpec, RegistrySpec, check_catalogue, image_ref
from simdc.model.platform import PRESETS, RULES, PlatformSpec
from simdc.model.workload import WorkloadSpec
from simdc.model.placement import PlacementSpec
from simdc.model.service import ServiceSpec


class SimulationSpec(Spec):
    """What to simulate. ``duration_s`` in (0, 10 years]; ``sample_every_s`` at least
    1 ms (:mod:`simdc.model.limits`); the rows they imply are checked against the
    machine's memory before a run (:mod:`simdc.budget`)."""

    duration_s: float = Field(gt=0, le=limits.MAX_DURATION_S,
                              description="simulated time; arrivals at or after it are not submitted")
    seed: int = Field(default=0, ge=0, le=MAX_SEED)  # TOML's integers: 64-bit signed (errors.MAX_SEED)
    platforms: tuple[str, ...] = Field(default=("vm", "container"), min_length=1)
    sample_every_s: float = Field(default=60.0, ge=limits.MIN_SAMPLE_EVERY_S,
                                  description="step of the timeseries table")

    @field_validator("platforms")
    @classmethod
    def _distinct(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(names)) != len(names):
            raise ValueError(f"platform names repeat: {list(names)}")
        return names


class Config(Spec):
    """A whole run: what to simulate, on what, with which workload."""

    simulation: SimulationSpec
    host: HostSpec | None = None
    cluster: ClusterSpec | None = None
    placement: PlacementSpec = Field(default_factory=PlacementSpec)
    platform: dict[str, PlatformSpec] = Field(default_factory=dict)
    workload: WorkloadSpec  # required unless there are [[services]] (_services_alone)
    images: tuple[ImageSpec, ...] = ()
    registry: RegistrySpec = Field(default_factory=RegistrySpec)
    faults: FaultSpec = Field(default_factory=FaultSpec)
    cost: CostSpec | None = None
    maintenance: MaintenanceSpec = Field(default_factory=MaintenanceSpec)
    migration: MigrationSpec = Field(default_factory=MigrationSpec)
    consolidation: ConsolidationSpec = Field(default_factory=ConsolidationSpec)
    services: tuple[ServiceSpec, ...] = ()  # replica sets with releases and autoscaling (simdc.engine.services)
    # A fleet of cells, each scheduling on its own (simdc.model.cells); none: one fleet.
    cells: tuple[CellSpec, ...] = ()
    routing: RoutingSpec = Field(default_factory=RoutingSpec)

    @model_validator(mode="before")
    @classmethod
    def _services_alone(cls, data: Any) -> Any:
        """Without a workload, [[services]]' replicas are the whole workload."""
        if isinstance(data, dict) and "workload" not in data and data.get("services"):
            data = {**data, "workload": {}}
        return data

    @model_validator(mode="before")
    @classmethod
    def _cells_take_the_cluster_keys(cls, data: Any) -> Any:
        """A fleet of ``[[cells]]`` has no ``[cluster]`` table: each cell is its own cluster
        (:class:`simdc.model.cells.CellSpec`). Each ``cluster.*`` key given beside cells
        is said with its place, before ``[cluster]`` is validated on its own: that said
        "cluster.hosts: required key is missing", and adding it gave "not both"."""
        if not isinstance(data, dict) or "cluster" not in data or not isinstance(data.get("cells"), list) \
                or not data["cells"]:
            return data
        cluster = data["cluster"]
        keys = list(cluster) if isinstance(cluster, dict) and cluster else [None]
        raise ValueError("\n".join(_cluster_key_in_cells(key, len(data["cells"])) for key in keys))

    @model_validator(mode="before")
    @classmethod
    def _resolve_presets(cls, data: Any) -> Any:
        """Fill each platform table from its preset, so every field is explicit."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        tables = data.get("platform", {})
        if not isinstance(tables, dict):
            return data
        tables = dict(tables)
        simulation = data.get("simulation", {})
        wanted = simulation.get("platforms", ("vm", "container")) if isinstance(simulation, dict) else ()
        if isinstance(wanted, (list, tuple)):
            for name in wanted:
                if isinstance(name, str) and name in PRESETS and name not in tables:
                    tables[name] = {}
        for name, table in tables.items():
            if not isinstance(table, dict) or "rules" in table:
                continue
            preset = table.get("preset", name)
            if not isinstance(preset, str) or preset not in PRESETS:
                tables[name] = {**table, "rules": f"unknown preset {preset!r}"}
                continue
            rules, defaults = PRESETS[preset]
            tables[name] = {**defaults, **table, "rules": rules, "preset": preset}
        data["platform"] = tables
        return data

    @model_validator(mode="after")
    def _platforms_defined(self) -> "Config":
        missing = [name for name in self.simulation.platforms if name not in self.platform]
        if missing:
            raise ValueError(
                f"simulation.platforms: unknown platform {missing[0]!r}; choose one of: "
                f"{', '.join(sorted(PRESETS))}, or define [platform.{missing[0]}] with a preset"
            )
        if self.cells:
            if self.host is not None:  # [cluster] beside cells: _cells_take_the_cluster_keys
                raise ValueError("give [[cells]] or a [host] table, not both: each cell lists its own hosts")
        elif (self.host is None) == (self.cluster is None):
            raise ValueError("give exactly one of a [host] table or [[cluster.hosts]] groups")
        problems = check_catalogue(self.images) + check_cells(self.cells, self.routing)
        if self.workload.empty and not self.services:
            problems.append("workload: give workload.trace or a [workload.synthetic] table (only a config with "
                            "[[services]] may leave [workload] out: their replicas are then the whole workload)")
        if self.cells and self.routing.rule == "column" and self.workload.trace is None:
            problems.append(f"routing.rule: 'column' reads the cell from the trace's column "
                            f"{self.routing.column!r}, and the synthetic generator has none; route by share, "
                            "job or round_robin")
        if self.cells and self.services:  # a service's replicas are one fleet's: say so rather than drop it
            problems.append("services: not yet available with [[cells]] (a service spans one fleet); run the "
                            "fleet without cells")
        known = {image.name for image in self.images}
        prepull = [name for group in self.host_groups for name in group.prepull]
        for key, names in (("host.prepull", prepull),
                           ("workload.synthetic.images",
                            self.workload.synthetic.images if self.workload.synthetic else ())):
            for name in names:
                if image_ref(name) not in known:
                    problems.append(f"{key}: image {name!r} is not in [[images]]"
                                    f"{'; known: ' + ', '.join(sorted(known)) if known else ''}")
        problems += _service_problems(self.services, known, self.simulation.duration_s)
        if self.cluster is not None:  # a group's name is how `simdc plan --group` finds it
            named = [group.name for group in self.cluster.hosts]
            problems += [f"cluster.hosts[{index}].name: {name!r} is defined twice; give each group its own name"
                         for index, name in enumerate(named) if name and name in named[:index]]
        hosts = len(self.fleet)
        for key in ("host_failures", "kernel_failures"):
            for index, (host, t_s) in enumerate(getattr(self.faults, key)):
                if not 0 <= host < hosts:
                    problems.append(f"faults.{key}[{index}]: host {host} does not exist (hosts are 0..{hosts - 1})")
                problems += _moment_problems(f"faults.{key}[{index}]", t_s)
        priced = [key for group in self.host_groups for key in ("price_per_hour", "capex", "embodied_kgco2eq")
                  if getattr(group, key) is not None]
        if priced and self.cost is None:
            problems.append(f"cost: hosts give {priced[0]} but there is no [cost] table: add one with the "
                            "electricity's price_per_kwh or price_series")
        if self.cost is not None:
            known = sorted(set(self.platform) | set(PRESETS))  # a platform not run now may be run by a plan
            problems += [f"cost.licence_per_hour.{name}: no platform {name!r}; known: {', '.join(known)}"
                         for name in self.cost.licence_per_hour if name not in known]
        for index, (host, t_s) in enumerate(self.maintenance.drains):
            if not 0 <= host < hosts:
                problems.append(f"maintenance.drains[{index}]: host {host} does not exist (hosts are 0..{hosts - 1})")
            problems += _moment_problems(f"maintenance.drains[{index}]", t_s)
        if self.maintenance.predict_failures_s and not (self.faults.host_mtbf_s or self.faults.host_failures):
            problems.append("maintenance.predict_failures_s: there are no host failures to predict; give "
                            "faults.host_mtbf_s or faults.host_failures")
        if self.consolidation.active and self.cells:  # each cell consolidates its own hosts
            problems += [f"cells[{index}].power_off_idle: consolidation switches emptied hosts off; set it to true"
                         for index, cell in enumerate(self.cells) if not cell.power_off_idle][:1]
        elif self.consolidation.active and not self.power_off_idle:
            problems.append("consolidation.interval_s: consolidation switches emptied hosts off; set "
                            "cluster.power_off_idle = true (with [[cluster.hosts]] groups)")
        if problems:
            raise ValueError("\n".join(problems))  # one line each, split again by validate()
        return self

    @property
    def host_groups(self) -> tuple[HostSpec, ...]:
        """The host shapes: the single ``[host]``, or each ``[[cluster.hosts]]`` group."""
        if self.cells:
            return tuple(group for cell in self.cells for group in cell.hosts)
        return (self.host,) if self.host is not None else self.cluster.hosts

    @property
    def fleet(self) -> list[HostSpec]:
        """Every host, in placement order (groups in the order given)."""
        if self.host is not None:
            return [self.host]
        return [group for group in self.host_groups for _ in range(group.count)]

    @property
    def power_off_idle(self) -> bool:
        return self.cluster is not None and self.cluster.power_off_idle

    def to_dict(self) -> dict[str, Any]:
        """The config as plain TOML-ready data, every default made explicit (``cells`` and
        ``routing`` only with cells: a one-fleet config reads as before)."""
        plain = {"cells", "routing"} if not self.cells else None
        return self.model_dump(mode="json", exclude_none=True, exclude=plain)

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    @property
    def hash(self) -> str:
        """SHA-256 of the resolved config: equal hashes mean equal runs for a seed."""
        return hashlib.sha256(self.to_toml().encode()).hexdigest()

    def with_overrides(self, overrides: dict[str, Any] | list[str] | None) -> "Config":
        """A new config with dotted-key overrides applied and validated again: as
        :func:`load_config`'s ``overrides`` (None: none). A value that is a dict replaces
        the whole table at its key: set one key as ``{"host.memory_gib": 32}``.

        Raises
        ------
        ConfigError
            A problem with an override starts ``overrides:`` (``--set`` in
            ``cli_problems``); ``overrides`` neither a dict of dotted keys nor a list of
            ``"key=value"`` strings.
        """
        overrides = checked_overrides(overrides)
        try:
            return validate(apply_overrides(self.to_dict(), overrides), overrides=_as_given(overrides))
        except ConfigError as err:
            raise _replaced_tables(reworded(err, "--set", "overrides"), overrides) from None


MAX_DEMAND_POINTS = 1_000_000  # a service's demand steps over the run: each a row of services.csv (and a timer)


def _moment_problems(key: str, t_s: float) -> list[str]:
    """A listed moment (a failure's or a drain's ``t_s``) before the run would act at 0 as
    if given so. (One at or after the run's end is not made: a warning, since a config
    shortened for a quick run keeps its schedule; simdc.experiment.schedule_warnings.)"""
    return [] if t_s >= 0 else [f"{key}: t_s must be >= 0 (got {t_s:g})"]


def _service_problems(services, known: set[str], duration_s: float) -> list[str]:
    """Across ``[[services]]``: names once each, images in the catalogue, releases within the run."""
    problems, seen, every_job = [], set(), None
    for index, service in enumerate(services):
        if service.job == "*":
            if every_job is not None:
                problems.append(f"services[{index}].job: '*' is already in services[{every_job}]; one entry takes "
                                "every job")
            every_job = index
        elif service.name in seen:
            problems.append(f"services[{index}].name: {service.name!r} is defined twice")
        seen.add(service.name)
        images = [("image", service.image)] + [(f"releases[{k}].image", release.image)
                                               for k, release in enumerate(service.releases)]
        for key, name in images:
            if name and image_ref(name) not in known:
                problems.append(f"services[{index}].{key}: image {name!r} is not in [[images]]"
                                f"{'; known: ' + ', '.join(sorted(known)) if known else ''}")
        points = duration_s / service.demand.step_s
        if points > MAX_DEMAND_POINTS:
            problems.append(f"services[{index}].demand.step_s: {service.demand.step_s:g} s over "
                            f"simulation.duration_s {duration_s:g} s is {points:,.0f} demand steps; at most "
                            f"{MAX_DEMAND_POINTS:,} (a longer step)")
        for k, release in enumerate(service.releases):
            if release.at_s >= duration_s:
                problems.append(f"services[{index}].releases[{k}].at_s: must be before simulation.duration_s "
                                f"({duration_s:g}) (got {release.at_s:g})")
    return problems


# --- loading -------------------------------------------------------------------------


def load_config(path: str | Path, overrides: dict[str, Any] | list[str] | None = None, *,
                unset: list[str] | None = None) -> Config:
    """Read a TOML config, remove the keys ``unset`` names, apply ``overrides`` and validate.

    Parameters
    ----------
    path
        The TOML file. Relative paths inside it are relative to its folder.
    overrides
        ``{"host.memory_gib": 128}`` or ``["host.memory_gib=128"]``: dotted keys, values
        as TOML literals (strings may be bare).
    unset
        ``["placement.max_wait_s"]``: dotted keys (a list entry by index, as in
        ``overrides``) removed from the file's settings before ``overrides`` are applied,
        so that an optional key takes its default again (``--unset`` on the command line;
        TOML has no null to set it to).

    Raises
    ------
    ConfigError
        With one line per problem, naming the file and the key path; a problem with an
        override starts ``overrides:`` (``--set`` in ``cli_problems``), one with a removed
        key ``unset:`` (``--unset``); a key to remove that the file does not set is one.
    """
    if not isinstance(path, (str, os.PathLike)):
        hint = "; simdc.config.validate(data) makes a config of a dict" if isinstance(path, dict) else ""
        raise ConfigError(f"path: expected the path of a TOML config (str or pathlib.Path), got "
                          f"{type(path).__name__}{hint}")
    overrides = checked_overrides(overrides)
    unset = checked_unset(unset)
    path = Path(path)
    raw = read_toml(path)
    resolve_paths(raw, path.parent)
    try:
        kept = removed_keys(raw, unset)
        changed = apply_overrides(kept, overrides)
        # A path given on the command line is relative to where the command runs.
        resolve_paths(changed, Path.cwd())
        try:
            return validate(changed, source=str(path), overrides=_as_given(overrides), unset=unset)
        except ConfigError as err:
            if not unset:
                raise
            raise _unset_caused(err, raw, overrides, unset, str(path)) from None
    except ConfigError as err:
        err = reworded(reworded(err, "--set", "overrides"), "--unset", "unset")
        raise _replaced_tables(err, overrides) from None


def _unset_caused(err: ConfigError, raw: dict[str, Any], overrides: dict[str, Any] | list[str],
                  unset: list[str], source: str) -> ConfigError:
    """``err`` with each problem that the config has only because of ``unset`` named by
    the ``--unset`` keys rather than the file (``source``): a sibling key that no longer
    applies (``--unset placement.when_full`` leaves ``max_wait_s`` without its queue), or a
    list entry renumbered by an entry's removal. Those are the problems the same config
    and ``overrides`` do not have without ``unset``."""
    try:
        changed = apply_overrides(raw, overrides)
        resolve_paths(changed, Path.cwd())
        validate(changed, source=source, overrides=_as_given(overrides))
        before: set[str] = set()
    except ConfigError as without:
        before = set(without.cli_problems)
    keys = ", ".join(f"--unset {clip(key)}" + (" (the entries after it renumbered)" if key.rpartition(".")[2].isdigit()
                                                else "") for key in unset)
    prefix = f"{_shown_path(source)}: "

    def named(problem: str) -> str:
        if problem in before or not problem.startswith(prefix):
            return problem
        return f"{keys}: {problem[len(prefix):]}"

    return type(err)([named(p) for p in err.problems], cli=[named(p) for p in err.cli_problems])


def _as_given(overrides: dict[str, Any] | list[str]) -> list[tuple[str, str]]:
    """``(dotted key, value as written)`` of each override: what :func:`validate` names a
    problem by when the key came from ``overrides`` rather than the file."""
    if isinstance(overrides, dict):
        return [(key, str(value)) for key, value in overrides.items()]
    return [(text.partition("=")[0].strip(), text.partition("=")[2].strip()) for text in overrides]


def checked_unset(unset) -> list[str]:
    """``unset`` as :func:`load_config` takes it: a list (tuple) of dotted keys; None is none.

    Raises
    ------
    ConfigError
        Naming ``unset`` and what was expected.
    """
    if unset is None:
        return []
    if isinstance(unset, str):
        raise ConfigError(f"unset: expected a list of dotted keys such as ['placement.max_wait_s'], got the string "
                          f"{clip(repr(unset))}; write [{clip(repr(unset))}]", cli=f"--unset {clip(unset)}: expected "
                          "a dotted key such as placement.max_wait_s")
    if not isinstance(unset, (list, tuple)) or not all(isinstance(key, str) for key in unset):
        raise ConfigError(f"unset: expected a list of dotted keys such as ['placement.max_wait_s'], got "
                          f"{clip(repr(unset))}")
    return list(unset)


def removed_keys(raw: dict[str, Any], unset: list[str]) -> dict[str, Any]:
    """A copy of ``raw`` without the dotted keys ``unset`` (``--unset``): each must be set
    in ``raw`` (a key the file does not set is a mistake, not a no-op: a misspelt key
    would otherwise leave the setting in force unnoticed).

    Raises
    ------
    ConfigError
        One line starting ``--unset KEY`` for a malformed key, or one the config does not set.
    """
    if not unset:
        return raw
    raw = copy.deepcopy(raw)
    for key in unset:
        parts = key.strip().split(".")
        if not all(parts):
            raise ConfigError(f"--unset {clip(key)}: expected a dotted key such as placement.max_wait_s")
        node: Any = raw
        for depth, part in enumerate(parts):
            where = ".".join(parts[:depth]) or "the config"
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                part = int(part)
            elif not (isinstance(node, dict) and part in node):
                raise ConfigError(f"--unset {clip(key)}: {where} does not set {parts[depth]!r}; a key the config "
                                  "does not set has nothing to remove (its default is already in force)")
            if depth == len(parts) - 1:
                del node[part]
            else:
                node = node[part]
    return raw


def python_values(value: Any) -> Any:
    """``value`` with NumPy's values made Python's, in dicts, lists and tuples too: a
    NumPy scalar its Python equivalent (``np.bool_`` a ``bool``, so refused where a
    number is due, as ``True`` is; ``np.int64`` an ``int``; ``np.float64`` a ``float``;
    ``np.str_`` a ``str``), an array a (nested) list. NumPy's types are not Python's
    (``np.bool_`` is no ``bool``, ``np.int64`` no ``int``): they slipped past the checks
    that refuse true or false for a number, and an array was read as one value (an
    "unknown platform 'vm'" of the platforms listed). Tested on the type's module, so
    that NumPy is not imported for it."""
    if isinstance(value, dict):
        return {python_values(key): python_values(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(python_values(item) for item in value)
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()  # an ndarray's or a NumPy scalar's Python value(s)
    return value


def checked_overrides(overrides) -> dict[str, Any] | list[str]:
    """``overrides`` as :func:`load_config` and :meth:`Config.with_overrides` take them: a
    dict of dotted keys (``str``) to values, or a list (tuple) of ``"key=value"`` strings;
    None is none. A single string is refused rather than read one character at a time.
    A dict's NumPy values are made Python's (:func:`python_values`).

    Raises
    ------
    ConfigError
        Naming ``overrides`` and what was expected.
    """
    expected = 'expected a dict such as {"host.memory_gib": 128} or a list such as ["host.memory_gib=128"]'
    if overrides is None:
        return []
    if isinstance(overrides, str):
        raise ConfigError(f"overrides: {expected}, got the string {clip(repr(overrides))}; "
                          f"write [{clip(repr(overrides))}]")
    if isinstance(overrides, dict):
        for key in overrides:
            if not isinstance(key, str):
                raise ConfigError(f"overrides: the key {clip(repr(key))} ({type(key).__name__}): expected a dotted "
                                  "key such as 'host.memory_gib'")
        return {key: python_values(value) for key, value in overrides.items()}
    if isinstance(overrides, (list, tuple)):
        for text in overrides:
            if not isinstance(text, str):
                raise ConfigError(f"overrides: {clip(repr(text))} ({type(text).__name__}): expected a string "
                                  "'section.key=value'")
        return list(overrides)
    raise ConfigError(f"overrides: {expected}, got {type(overrides).__name__}")


def _replaced_tables(err: ConfigError, overrides: dict[str, Any] | list[str]) -> ConfigError:
    """``err`` with a note on each problem under a key whose whole table an override
    replaced with a dict (``{"host": {"memory_gib": 32}}`` drops every other key of
    [host], reported as "host.cpu_cores: required key is missing")."""
    tables = [key for key, value in _override_items(overrides) if isinstance(value, dict)]
    if not tables:
        return err

    def noted(problem: str) -> str:
        for key in tables:
            if re.search(rf"(^|: ){re.escape(key)}[.\[]", problem):  # a key under it (after the file's name)
                return (f"{problem} (overrides[{key!r}] replaced the whole {key} table; to set one key, write "
                        f"{{'{key}.<key>': value}})")
        return problem

    return type(err)([noted(p) for p in err.problems], cli=err.cli_problems)


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML file's data, or a :class:`ConfigError` naming the file.

    A leading UTF-8 byte-order mark (Notepad, Excel) is allowed; other encodings are not.
    """
    if path.is_dir():
        raise ConfigError(f"{_shown_path(path)}: is a directory; give the config's TOML file")
    special = special_file(path)
    if special is not None:  # /dev/stdin, <(...), a FIFO, /dev/null: exists, but is no file to read
        raise ConfigError(f"{_shown_path(path)}: is not a regular file ({special}); give the config's TOML file "
                          "(to use a generated config, write it to a file first)")
    if not path.is_file():
        raise ConfigError(f"{_shown_path(path)}: config file not found")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{_shown_path(path)}: not UTF-8 text (byte {err.object[err.start]:#04x} at offset "
                          f"{err.start}); save the config as UTF-8") from None
    except OSError as err:
        raise ConfigError(f"{_shown_path(path)}: cannot read: {err.strerror or err}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{_shown_path(path)}: invalid TOML: {clip(err, 200)}") from None
    except ValueError as err:  # an integer of more digits than Python converts (4,300)
        long = re.search(r"\d{4300,}", text)
        if long is None:
            raise ConfigError(f"{_shown_path(path)}: invalid TOML: {clip(err, 200)}") from None
        line = text.count("\n", 0, long.start()) + 1
        raise ConfigError(f"{_shown_path(path)}: invalid TOML (line {line}): a number of {len(long.group()):,} "
                          "digits; numbers have at most 4,300") from None
    except RecursionError:
        raise ConfigError(f"{_shown_path(path)}: invalid TOML: arrays or tables nested too deeply") from None


def validate(raw: dict[str, Any], source: str | None = None, *, check_files: bool = True,
             overrides: list[tuple[str, str]] = (), unset: list[str] = ()) -> Config:
    """Validate plain data into a :class:`Config`, or raise :class:`ConfigError`.

    NumPy's values in ``raw`` are read as Python's (:func:`python_values`).
    ``check_files=False`` skips checking that workload files exist: a results
    directory's config describes a past run, whose trace may have moved since.
    ``source`` (the file) starts each problem's line, except a problem with a key set by
    one of ``overrides`` (``(dotted key, value as written)``), which starts with ``--set key=value``,
    or with a key ``unset`` removed (a required one), which starts with ``--unset key``.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{source or 'config'}: expected a table of settings")
    raw = python_values(raw)  # a dict from Python may hold NumPy's values
    # NaN and infinity pass pydantic's bounds (and would hang a run): report them first.
    problems = [f"{where}: must be a finite number (got {value})" for where, value in _non_finite(raw)]
    if not problems:
        try:
            Config.model_validate(raw)
        except ValidationError as err:
            problems = _explained([line for e in err.errors() if not _only_failed_items(e)
                                   for line in describe(e).split("\n")])
            no_hosts = not {"host", "cluster", "cells"} & set(raw)
            if no_hosts and not any(p.startswith(HOSTS_MISSING) for p in problems):
                problems.append(HOSTS_MISSING)  # with the other missing tables, not only once they are given
    # Missing files are reported with every other problem, not only once those are fixed.
    workload = raw.get("workload") if isinstance(raw.get("workload"), dict) else {}
    cost = raw.get("cost") if isinstance(raw.get("cost"), dict) else {}
    if check_files:
        given = [(f"workload.{key}", workload.get(key)) for key in ("trace", "usage")]
        given += [(f"cost.{key}", cost.get(key)) for key in COST_SERIES]
        services = raw.get("services") if isinstance(raw.get("services"), list) else []
        given += [(f"services[{index}].demand.{key}", service["demand"].get(key))
                  for index, service in enumerate(services)
                  if isinstance(service, dict) and isinstance(service.get("demand"), dict)
                  for key in ("trace", "series")]
        problems += [problem for key, path in given if isinstance(path, (str, Path))
                     for problem in [_file_problem(key, path)] if problem is not None]
    if problems:
        raise ConfigError([_origin(p, source, overrides, unset) for p in problems]) from None
    return Config.model_validate(raw)


def _shown_path(path: str | Path) -> str:
    """A path whole (to copy), unless absurdly long."""
    return clip(path, 300)


HOSTS_MISSING = "give exactly one of a [host] table or [[cluster.hosts]] groups"


def _cluster_key_in_cells(key: str | None, cells: int) -> str:
    """Where ``cluster.<key>`` (None: the [cluster] table itself) belongs in a fleet of
    ``cells`` cells: in each ``[[cells]]`` entry when a cell has that key, else nowhere."""
    said = f"{'cluster' if key is None else f'cluster.{key}'}: a fleet of [[cells]] has no [cluster] table; "
    if key not in CellSpec.model_fields:
        return said + f"a [[cells]] entry takes {', '.join(CellSpec.model_fields)}; remove it"
    place = f"cells.0.{key}" if cells == 1 else f"cells.<index>.{key}, cells 0..{cells - 1}"
    if key == "hosts":
        return said + f"each [[cells]] entry lists its own hosts ({place})"
    return said + f"set {key} in each [[cells]] entry instead ({place})"


def _exists(path: str | Path) -> bool:
    try:
        return Path(path).exists()
    except (OSError, ValueError):  # a name too long for the system, a NUL byte
        return False


def _explained(problems: list[str]) -> list[str]:
    """Unknown keys first; a missing required key that an unknown key's "did you mean"
    names is left out (``cpu_core``: the missing ``cpu_cores`` is the same mistake)."""
    suggested = set()
    for line in problems:
        where, _, rest = line.partition(": unknown key; did you mean ")
        if rest:
            parent = where.rpartition(".")[0]
            suggested.add(f"{parent}.{rest[1:-2]}" if parent else rest[1:-2])
    kept = [line for line in problems
            if not (line.endswith(": required key is missing") and line.partition(":")[0] in suggested)]
    return sorted(kept, key=lambda line: ": unknown key" not in line)  # stable: otherwise in order


def _origin(problem: str, source: str | None, overrides: list[tuple[str, str]], unset: list[str] = ()) -> str:
    """``--set key=value: problem`` when the problem's key came from the command line,
    ``--unset key: problem`` when the command line removed it, else ``source: problem``."""
    where, _, said = problem.partition(": ")
    dotted = re.sub(r"\[(\d+)\]", r".\1", where)  # cells[1].share is --set cells.1.share
    if dotted in {key.strip() for key in unset} and not any(key == dotted for key, _ in overrides):
        return f"--unset {dotted}: {said}"
    for key, value in reversed(overrides):
        if dotted == key:
            if said.startswith("expected a list "):  # how to write one on a command line
                from simdc.workload.readers.common import is_number  # (here: an error's hint, not at import)

                words = [w.strip().strip("'\"") for w in value.strip().strip("[]").split(",") if w.strip()]
                items = ", ".join(w if is_number(w) else json.dumps(w) for w in words or ["a"])
                said += f"; write a list as '{key}=[{items}]'"
            return f"--set {key}={clip(value)}: {said}"
        if dotted.startswith(key + ".") or key.startswith(dotted + "."):
            return f"--set {key}={clip(value)}: {problem}"
    return f"{_shown_path(source)}: {problem}" if source else problem


def _non_finite(data: Any, where: str = ""):
    """(key path, value) of every NaN or infinity: TOML allows them, no setting does."""
    if isinstance(data, float) and not math.isfinite(data):
        yield where, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _non_finite(value, f"{where}.{key}" if where else str(key))
    elif isinstance(data, (list, tuple)):
        for index, value in enumerate(data):
            yield from _non_finite(value, f"{where}.{index}" if where else str(index))


def _only_failed_items(error: dict[str, Any]) -> bool:
    """A ``too_short`` list whose items failed (and are reported on their own)."""
    got = error.get("input")
    return (error["type"] == "too_short" and isinstance(got, (list, tuple))
            and len(got) >= error.get("ctx", {}).get("min_length", 0))


COST_SERIES = ("price_series", "carbon_series")  # the [cost] table's files


def _file_keys(raw: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    """Every ``(table, key)`` of a raw config whose value names a file simdc reads: the
    workload's trace and usage, the cost series, each service's demand trace or series.
    The one list of them (:func:`resolve_paths`, :func:`input_files`)."""
    services = raw.get("services")
    tables = [service.get("demand") for service in (services if isinstance(services, list) else ())
              if isinstance(service, dict)]
    keyed = [(demand, ("trace", "series")) for demand in tables]  # demand files: an invocation trace, a series
    keyed += [(raw.get("workload"), ("trace", "usage")), (raw.get("cost"), COST_SERIES)]
    for files, keys in keyed:
        if isinstance(files, dict):
            for key in keys:
                if isinstance(files.get(key), str):
                    yield files, key


def resolve_paths(raw: dict[str, Any], base: Path) -> None:
    """Make workload and series paths absolute: relative to ``base``, or else under ``$SIMDC_TRACES``.
    Paths absolute already are left as they are."""
    for files, key in _file_keys(raw):
        files[key] = _resolved(files[key], base)


def input_files(config: "Config") -> list[str]:
    """The files a validated config's runs read (paths as resolved, in config order,
    each once): what its :attr:`Config.hash` does not cover, since that hashes the
    config's text, which names a file but not what it holds."""
    return list(dict.fromkeys(files[key] for files, key in _file_keys(config.to_dict())))


def _resolved(given: str, base: Path) -> str:
    """A config's file path made absolute: relative to ``base`` (the config's folder), or,
    when nothing is there, under ``$SIMDC_TRACES`` where it exists."""
    path = Path(given).expanduser()
    if not path.is_absolute():
        elsewhere = under_traces_env(path)
        path = resolved(base / path)
        if not _exists(path) and elsewhere is not None and _exists(elsewhere):
            path = resolved(elsewhere)
    return str(path)


TRACES_ENV = "SIMDC_TRACES"  # the folder holding the trace samples, as the tests read them (tests/workload/traces.py)


def under_traces_env(path: Path) -> Path | None:
    """``$SIMDC_TRACES/<rest>`` for a path through a folder named ``traces``, ``<rest>``
    being what follows the last one (``../../shared/traces/bitbrains_rnd/2013-7`` →
    ``$SIMDC_TRACES/bitbrains_rnd/2013-7``); None without such a folder or the variable."""
    parts = path.parts
    if "traces" not in parts[:-1] or not os.environ.get(TRACES_ENV):
        return None
    rest = parts[len(parts) - parts[::-1].index("traces"):]
    return Path(os.environ[TRACES_ENV]).expanduser().joinpath(*rest)


def _file_problem(key: str, path: str | Path) -> str | None:
    """What is wrong with the file a config names at ``key``: nothing there
    (:func:`_not_found`), something that is no regular file or folder (a FIFO, a device:
    read by name, some more than once, it would hang or mislead; a price series given as
    a FIFO waited for ever), or a folder where only a file will do (a price, carbon or
    demand series: "cannot read: Is a directory" named neither key nor config); None
    when it can be read."""
    if not _exists(path):
        return _not_found(key, Path(path))
    kind = special_file(path)
    if kind is not None:
        return (f"{key}: {_shown_path(path)}: is not a regular file ({kind}); give a file (simdc reads its inputs "
                "by name, some more than once: write a generated one to a file first)")
    if not key.startswith("workload.") and Path(path).is_dir():  # a trace may be a folder; a series or demand not
        return f"{key}: {_shown_path(path)}: is a folder; give the file"
    return None


def _not_found(key: str, path: Path) -> str:
    """The missing-file problem: where it was looked for, and, for a trace sample, how to
    point ``SIMDC_TRACES`` at the samples."""
    if "traces" not in path.parts[:-1]:
        return f"{key}: file not found: {_shown_path(path)}"
    elsewhere = under_traces_env(path)
    if elsewhere is None:
        return (f"{key}: file not found: {path}, and {TRACES_ENV} is not set: point it at the folder holding "
                f"the trace samples (export {TRACES_ENV}=/path/to/shared/traces)")
    return (f"{key}: file not found: {path}, nor {elsewhere} ({TRACES_ENV}={os.environ[TRACES_ENV]}): point "
            f"{TRACES_ENV} at the folder holding the trace samples (export {TRACES_ENV}=/path/to/shared/traces)")


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any] | list[str],
                    flag: str = "--set") -> dict[str, Any]:
    """Return a copy of ``raw`` with dotted-key overrides set.

    ``["a.b=1"]`` parses the value as a TOML literal (``1``, ``1.5``, ``true``,
    ``[1, 2]``, ``{median = 3, p95 = 9}``); anything else is taken as a string. A whole
    number indexes a list from 0: ``services.0.replicas``, ``cells.1.share``,
    ``services.0.autoscale.max_replicas``.

    Raises
    ------
    ConfigError
        One line, starting with ``flag``, for a malformed key, an index out of range or
        into a list that is not there, or a path through a value.
    """
    raw = copy.deepcopy(raw)
    for key, value in _override_items(overrides):
        parts = key.split(".")
        if not all(parts):
            raise ConfigError(f"{flag} {key}: expected a dotted key such as host.memory_gib")
        if parts[0] == "host" and "host" not in raw and len(parts) > 1:
            _refuse_host_key(raw, key, parts[1], flag)
        if parts[0] == "cluster" and "cluster" not in raw and isinstance(raw.get("host"), dict):
            # it would add a [cluster] beside [host], reported as cluster.hosts missing in the file
            raise ConfigError(f"{flag} {key}: this config's host is a [host] table, not [[cluster.hosts]] groups; "
                              "write the hosts as [[cluster.hosts]] in the file to set cluster keys")
        node: Any = raw
        for depth, part in enumerate(parts):
            where, last = ".".join(parts[:depth]), depth == len(parts) - 1
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    span = f"entries 0..{len(node) - 1}" if node else "no entries"
                    raise ConfigError(f"{flag} {key}: {where} is a list with {span}; expected "
                                      f"{where}.<index> with an index among them (got {part!r})")
                index = int(part)
                if last:
                    node[index] = value
                elif isinstance(node[index], (dict, list)):
                    node = node[index]
                else:
                    raise ConfigError(f"{flag} {key}: {where}.{part} is a value, not a table")
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                    break
                if part not in node and parts[depth + 1].isdigit():
                    raise ConfigError(f"{flag} {key}: the config has no list {'.'.join(parts[:depth + 1])} "
                                      f"to index (no [[{'.'.join(parts[:depth + 1])}]] entries)")
                node = node.setdefault(part, {})
            else:
                raise ConfigError(f"{flag} {key}: {where} is a value, not a table")
    return raw


def _refuse_host_key(raw: dict[str, Any], key: str, name: str, flag: str) -> None:
    """A ``host.*`` override on a config whose hosts are host groups or cells would add a
    [host] table beside them and be reported as ``host.memory_gib`` missing; say which
    key reaches the hosts instead."""
    groups = raw.get("cluster", {}).get("hosts") if isinstance(raw.get("cluster"), dict) else None
    if isinstance(groups, list) and groups:
        raise ConfigError(f"{flag} {key}: this config's hosts are [[cluster.hosts]] groups, not a [host] "
                          f"table; set cluster.hosts.<index>.{name} (index 0..{len(groups) - 1})")
    if isinstance(raw.get("cells"), list) and raw["cells"]:
        raise ConfigError(f"{flag} {key}: this config's hosts are in [[cells]], not a [host] table; set "
                          f"cells.<index>.hosts.<index>.{name} (cells 0..{len(raw['cells']) - 1})")


def _override_items(overrides: dict[str, Any] | list[str]) -> list[tuple[str, Any]]:
    if isinstance(overrides, dict):
        return list(overrides.items())
    return [_parse_override(text) for text in overrides]


def _parse_override(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {clip(repr(text))}: expected section.key=value")
    try:
        return key, tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        return key, value.strip()
    except (ValueError, RecursionError) as err:  # more than 4,300 digits; nested too deeply
        raise ConfigError(f"--set {clip(key)}={clip(value.strip())}: not a value simdc can read "
                          f"({clip(err, 120)})") from None


# --- messages ------------------------------------------------------------------------


def key_path(parts) -> str:
    """A key path as every message writes it: list positions in brackets,
    ``services[0].releases[1].at_s`` (pydantic's loc gives ``services.0.releases.1.at_s``)."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def describe(error: dict[str, Any]) -> str:
    """One line for one pydantic error: ``key.path: what was expected (got value)``."""
    loc = list(error["loc"])
    kind = error["type"]
    # A platform table's loc carries the union tag (platform.vm.vm.boot_s): drop it.
    rules = None
    if len(loc) > 2 and loc[0] == "platform" and loc[2] in RULES:
        rules = loc.pop(2)
    where = key_path(part for part in loc if not str(part).startswith("function-"))
    got = error.get("input")
    ctx = error.get("ctx", {})

    if kind in ("union_tag_invalid", "union_tag_not_found") and loc[:1] == ["platform"]:
        tag = got.get("rules") if isinstance(got, dict) else None
        if kind == "union_tag_invalid" and not str(tag).startswith("unknown preset"):
            return f"{where}.rules: must be one of {', '.join(map(repr, RULES))} (got {clip(repr(tag))})"
        preset = got.get("preset", loc[-1]) if isinstance(got, dict) else loc[-1]
        return f"{where}.preset: unknown preset {clip(repr(preset))}; choose one of: {', '.join(sorted(PRESETS))}"
    if kind == "extra_forbidden":
        return f"{where}: unknown key{_suggest(loc, rules)}"
    if kind == "missing":
        if loc == ["workload"]:  # Config._services_alone
            return (f"{where}: required key is missing (workload.trace or [workload.synthetic]; only a config "
                    "with [[services]] may leave it out)")
        return f"{where}: required key is missing"
    bounds = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
    if kind in bounds:
        limit = next(iter(ctx.values()))
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        note = limits.NOTES.get((str(loc[-1]) if loc else "", kind))
        return f"{where}: must be {bounds[kind]} {limit:,}{f' ({note})' if note else ''} (got {clip(_shown(got))})"
    if kind == "literal_error":
        return f"{where}: must be one of {ctx.get('expected')} (got {clip(_shown(got))})"
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        return f"{where}: needs at least {least} item{'s' if least != 1 else ''} (got {clip(_shown(got))})"
    if kind == "too_long":
        most = ctx.get("max_length", 0)
        return f"{where}: takes at most {most} item{'s' if most != 1 else ''} (got {clip(_shown(got))})"
    if kind.endswith("_type") or kind.endswith("_parsing") or kind in ("int_from_float", "int_parsing_size"):
        expected = kind.split("_")[0]
        names = {"int": "an integer", "float": "a number", "bool": "true or false", "string": "a string",
                 "dict": "a table", "list": "a list", "tuple": "a list", "model": "a table",
                 "datetime": "a date and time (e.g. 2023-06-01T00:00:00Z)"}
        return f"{where}: expected {names.get(expected, expected)} (got {clip(_shown(got))})"
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    lines = []
    for line in message.split("\n"):
        if line.startswith(BOOL_MARK):  # "key: ..." of the table at ``where``
            line = line.removeprefix(BOOL_MARK)
            lines.append(f"{where}.{line}" if where else line)
        else:
            lines.append(f"{where}: {line}" if where else line)
    return "\n".join(lines)


def _shown(value: Any) -> str:
    """A value as the message shows it: a TOML date or time, and a list or table holding
    one, as its TOML text (:func:`value_text`), not its Python repr
    (``datetime.date(2024, 1, 1)``); anything else as its repr."""
    if isinstance(value, datetime.datetime):
        return f"the date and time {value.isoformat()}"
    if isinstance(value, datetime.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, datetime.time):
        return f"the time {value.isoformat()}"
    if _holds_date_or_time(value):
        try:
            return value_text(value)
        except (TypeError, ValueError):  # a Python value TOML has no text for (None, an offset time): the repr
            pass
    return repr(value)


def _holds_date_or_time(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return any(map(_holds_date_or_time, value))
    if isinstance(value, dict):
        return any(map(_holds_date_or_time, value.values()))
    return isinstance(value, (datetime.date, datetime.time))  # a datetime is a date


def value_text(value: Any) -> str:
    """``value`` as an inline TOML literal: ``32``, ``1.5``, ``"vm"``, ``["vm"]``,
    ``{least_allocated = 1}``, ``2023-06-01T00:00:00+00:00`` — what ``--grid``/``--set``
    accept back, and what a grid value that is not a number or a string is written as in
    ``points.csv``/``aggregate.csv`` and ``sweep.json``.

    Scalars and keys are written by tomli-w (the config's writer, which escapes what TOML
    needs); lists and tables are joined here, because tomli-w writes a table at the top
    level as a ``[section]`` and lists one item a line. A date-time is written with a
    ``T`` (ISO 8601; tomli-w writes a space, which TOML (RFC 3339) allows and ISO 8601 does not).
    """
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key_text(k)} = {value_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return tomli_w.dumps({"v": value}).removeprefix("v = ").rstrip("\n")


def _key_text(key: str) -> str:
    return tomli_w.dumps({key: True}).rstrip("\n").removesuffix(" = true")


def _suggest(loc: list[Any], rules: str | None) -> str:
    """``; did you mean 'x'?`` for an unknown key, from the valid keys at its place."""
    if rules is not None and len(loc) == 3:
        valid = sorted(RULES[rules].model_fields)
    else:
        valid = _keys_at(loc[:-1])
    key = str(loc[-1])
    homes = _homes(key)
    if homes:  # a real key in another table: say where it belongs, not a lookalike here
        here = ".".join(str(part) for part in loc[:-1] if not isinstance(part, int))
        below = [home for home in homes if home.startswith(here + ".")] if here else []
        shown = ", ".join(f"[{home}]" for home in (below or homes)[:3])
        return f"; {key!r} is a key of {shown}, not of this table"
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    if close:
        return f"; did you mean {close[0]!r}?"
    if valid:
        return f"; valid keys here: {', '.join(valid)}"
    return ""


def _homes(key: str) -> list[str]:
    """The tables of the config (dotted, lists' items left out: ``services.autoscale``)
    that have ``key`` as a key, nearest first."""
    found: list[str] = []
    seen: set[type] = set()

    def walk(kind: Any, path: str, depth: int) -> None:
        kind = _unwrap(kind)
        if typing.get_origin(kind) in (list, tuple):
            for arg in typing.get_args(kind):
                if arg is not Ellipsis:
                    walk(arg, path, depth)
            return
        if typing.get_origin(kind) is dict:  # tables by name: [platform.<name>]
            walk(typing.get_args(kind)[1], f"{path}.<name>", depth)
            return
        if typing.get_origin(kind) in (typing.Union, types.UnionType):
            for arg in typing.get_args(kind):
                walk(arg, path, depth)
            return
        if not (isinstance(kind, type) and issubclass(kind, BaseModel)) or depth > 4 or kind in seen:
            return
        seen.add(kind)
        if key in kind.model_fields and path:
            found.append(path)
        for name, field in kind.model_fields.items():
            walk(field.annotation, f"{path}.{name}" if path else name, depth + 1)
        seen.discard(kind)

    walk(Config, "", 0)
    return sorted(set(found), key=lambda home: (home.count("."), home))


def _keys_at(loc: list[Any]) -> list[str]:
    kind: Any = Config
    for part in loc:
        kind = _unwrap(kind)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            field = kind.model_fields.get(str(part))
            if field is None:
                return []
            kind = field.annotation
        elif typing.get_origin(kind) in (list, tuple):
            kind = typing.get_args(kind)[0]
        else:
            return []
    kind = _unwrap(kind)
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return sorted(kind.model_fields)
    return []


def _unwrap(kind: Any) -> Any:
    while True:
        origin = typing.get_origin(kind)
        if origin is typing.Annotated:
            kind = typing.get_args(kind)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(kind) if a is not type(None)]
            if len(members) != 1:
                return kind
            kind = members[0]
        else:
            return kind
