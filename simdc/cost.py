"""What a run costs and emits: hosts' rent or amortised capital, electricity and licences;
operational and embodied carbon. Pure functions over the run's tables, and the reader of
price and carbon-intensity series.

Electricity is priced and its carbon counted exactly over piecewise-constant series: the
engine reads every host's energy at each moment a price or an intensity changes
(:mod:`simdc.engine.meter`), so each interval between readings has one price and one
intensity, and ``cost = Σ_k E_k × PUE × price_k``, ``carbon = Σ_k E_k × PUE × intensity_k``.
The energy itself comes from the engine's one power rule (linear in CPU utilisation,
:class:`simdc.engine.host.HostState`); nothing here restates it.

Conventions (see :mod:`simdc.model.cost` for the keys):

- a host is paid for for the whole run, on or off: ``price_per_hour`` × hours, or
  ``capex`` × hours / (``amortisation_years`` × 8,766 h), a year being 365.25 days;
- embodied carbon likewise: ``embodied_kgco2eq`` × hours / (``lifetime_years`` × 8,766 h);
- a host's energy at the wall is its energy × ``pue`` (1 when not given);
- ``licence_per_hour`` is paid for each hour an instance is on a host (``resident_s``);
- ``cost_per_instance_hour``: the platform's cost over the hours its instances ran
  (``run_s``): what an hour of service cost.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from simdc.errors import InputError, clip
from simdc.metrics import COST_COLUMNS  # noqa: F401 - the summary's columns this module fills
from simdc.model import limits
from simdc.model.cost import CostSpec
from simdc.model.host import HostSpec

if TYPE_CHECKING:
    from simdc.config import Config

HOURS_PER_YEAR = 365.25 * 24.0
J_PER_KWH = 3.6e6
SERIES_HEADER = ("timestamp", "value")  # a price or carbon series' columns (named as the file likes)


@dataclass(frozen=True)
class StepSeries:
    """A piecewise-constant series on simulated time: ``values[k]`` holds on
    ``[edges_s[k], edges_s[k + 1])``; ``edges_s`` increasing, one longer than ``values``,
    from at most 0 to at least the run's end."""

    edges_s: np.ndarray
    values: np.ndarray
    origin_utc: datetime | None = None  # the moment (UTC, naive) taken as time 0; None: a constant
    first_utc: datetime | None = None  # its first row (UTC, naive), when time 0 was not given

    @classmethod
    def constant(cls, value: float, duration_s: float) -> StepSeries:
        return cls(np.array([0.0, duration_s]), np.array([float(value)]))

    def at(self, t_s: np.ndarray) -> np.ndarray:
        """The values holding at each of ``t_s`` (s, within the edges)."""
        k = np.searchsorted(self.edges_s, t_s, side="right") - 1
        return self.values[np.clip(k, 0, len(self.values) - 1)]

    def changes(self, duration_s: float) -> np.ndarray:
        """The moments (s) strictly inside ``(0, duration_s)`` at which the value may change."""
        edges = self.edges_s
        return edges[(edges > 0) & (edges < duration_s)]


def _parsed(text: str) -> datetime | None:
    """An ISO 8601 date and time, or Stata's ``01jan2022 00:00:00`` (as ENTSO-E extracts
    come), as written (with its zone, if any); None when it is neither."""
    text = text.strip()
    for parse in (datetime.fromisoformat, lambda t: datetime.strptime(t, "%d%b%Y %H:%M:%S")):
        try:
            return parse(text)
        except ValueError:
            continue
    return None


def utc(moment: datetime, zone: ZoneInfo | None = None, fold: int = 0) -> datetime:
    """``moment`` in UTC, without a zone; one without a zone is in ``zone`` (default UTC).
    ``fold`` picks the occurrence of a local time repeated when the clocks go back."""
    if moment.tzinfo is None:
        if zone is None:
            return moment
        moment = moment.replace(tzinfo=zone, fold=fold)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _exists(local: datetime, zone: ZoneInfo | None) -> bool:
    """Whether a local time without a zone exists in ``zone`` (not skipped when the
    clocks go forward)."""
    if local.tzinfo is not None or zone is None:
        return True
    back = local.replace(tzinfo=zone).astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None)
    return back == local


def read_series(path: str | Path, *, what: str, key: str, duration_s: float, start: datetime | None = None,
                scale: float = 1.0, negative_allowed: bool = False, zone: str | None = None,
                bound: tuple[float, str] = (math.inf, ""), units: tuple[str, str] = ("", "")) -> StepSeries:
    """Read a ``timestamp,value`` CSV into a :class:`StepSeries` covering ``[0, duration_s]``.

    The file may be compressed (gzip, bzip2, xz, zstd: told by its first bytes, read as
    the trace readers read theirs, :func:`simdc.workload.readers.common.open_data`).

    Parameters
    ----------
    what
        What the values are, for messages ("carbon intensity").
    key
        The config key naming the file, for messages (``cost.carbon_series``).
    start
        The series' timestamp at simulated time 0 (naive, on the series' clock, or with a
        zone, converted to UTC); default: its first row's.
    scale
        Multiplies each value (0.001 reads EUR/MWh as EUR/kWh).
    negative_allowed
        Whether values may be below zero (prices may, intensities not).
    zone
        IANA time zone of timestamps (and ``start``) written without one; default UTC.
    bound
        The largest value's size once scaled, and why (:mod:`simdc.model.limits`).
    units
        The unit of the values once scaled (the bound's, ``"per kWh"``) and of the file's
        values (``"per MWh"``; ``""``: the same), for messages.

    Each row's value holds until the next row's timestamp; the last row's for the step
    before it. With ``zone``, a local hour written twice when the clocks go back is read
    as its two occurrences, and an hour the clocks skip, left empty, is passed over.
    Timestamps must increase, from the first row to the run's end (rows before the run
    only locate its start: the last row at or before it; two at one moment would leave
    which holds undefined); rows after the run's end are not read.

    Raises
    ------
    InputError
        One line naming the file and line: a line 1 that is not a header of two column
        names (a file without one: its first row is data), a row of other than two
        fields, a timestamp that is
        not one or does not increase, a value that is missing, not a finite number or
        negative where not allowed, a series that does not cover the run, or a last
        line without a line end (it may have been cut inside its value), or a compressed
        file that is damaged or ends early. Times in messages are shown in ``zone``, the
        zone the config's times are written in, labelled (:func:`texts_at`).
    """
    from simdc.workload.readers.common import open_data, refuse_cut, refuse_header

    path = Path(path)
    where = f"{key} {clip(path, 300)}"
    tz = ZoneInfo(zone) if zone is not None else None
    if start is not None:
        start = utc(start, tz)
    refuse_cut(path, where)  # its last row may be cut inside its value ("1234" read as "12"); read through
    moments: list[datetime] = []
    texts: list[str] = []
    lines: list[int] = []
    with io.TextIOWrapper(open_data(path, where), encoding="utf-8-sig", newline="") as handle:
        rows = csv.reader(handle)
        try:
            # a first row of data taken for the header would move time 0 a row on, silently
            refuse_header(where, next(rows, None), SERIES_HEADER, any_names=True)
            end = None
            read = 0  # rows with a timestamp, before the run's start too
            for row in rows:
                if not row or not any(cell.strip() for cell in row):
                    continue  # a blank line
                line = rows.line_num
                if len(row) != 2:
                    raise InputError(f"{where}: line {line}: expected a timestamp and a value (two fields, as "
                                     f"the header), got {len(row)}: {clip(repr(','.join(row)))}")
                written = _parsed(row[0])
                if written is None:
                    raise InputError(f"{where}: line {line}: timestamp {clip(repr(row[0]))} is not a date and time "
                                     "(ISO 8601, e.g. 2023-01-01T00:00:00Z)")
                if not _exists(written, tz):
                    if row[1].strip():
                        raise InputError(f"{where}: line {line}: {row[0]} does not exist in {zone} (the clocks go "
                                         "forward over it), yet it has a value")
                    continue  # the hour the clocks skip, left empty (as ENTSO-E's local-time extracts do)
                moment = utc(written, tz)
                read += 1
                if moments and moment <= moments[-1] and utc(written, tz, fold=1) > moments[-1]:
                    moment = utc(written, tz, fold=1)  # the second of a local hour the clocks go back over
                if moments and moment <= moments[-1]:  # before the run's start too: which row holds there
                    raise InputError(f"{where}: line {line}: timestamp {row[0]} is not after line {lines[-1]}'s "
                                     f"({texts_at(moments[-1], zone)}): timestamps must increase")
                if start is not None and moment <= start and (not moments or moments[-1] <= start):
                    # before the run: only the last such row (the one holding at its start) is kept
                    moments[:], texts[:], lines[:] = [moment], [row[1]], [line]
                    continue
                moments.append(moment)
                texts.append(row[1])
                lines.append(line)
                if end is None:
                    origin = start if start is not None else moments[0]
                    if origin < moments[0]:
                        raise InputError(f"{where}: line {line}: starts at {texts_at(moments[0], zone)}, after the "
                                         f"run's start (cost.series_start = {texts_at(origin, zone)})")
                    end = (origin - moments[0]).total_seconds() + duration_s  # s after the first row
                if (moment - moments[0]).total_seconds() >= end:
                    break  # this row's timestamp closes the run's last interval
        except UnicodeDecodeError as err:
            raise InputError(f"{where}: not UTF-8 text (byte {err.object[err.start]:#04x}); save it as UTF-8") from None
        except csv.Error as err:
            raise InputError(f"{where}: line {rows.line_num}: not CSV: {clip(err, 120)}") from None
    if len(moments) == 1 and read > 1 and start is not None and moments[0] <= start:
        raise InputError(f"{where}: its last row (line {lines[0]}, {texts_at(moments[0], zone)}) is at or before "
                         f"the run's start (cost.series_start = {texts_at(start, zone)}): give a series covering the "
                         "whole run, or an earlier cost.series_start")
    if len(moments) < 2:
        raise InputError(f"{where}: {len(moments)} row{'s' if len(moments) != 1 else ''}; a series needs two at "
                         "least (each value holds until the next row's timestamp)")
    origin = start if start is not None else moments[0]
    times = np.array([(m - origin).total_seconds() for m in moments])
    if times[-1] >= duration_s:  # the last row read only closes the interval before it
        edges, used = times, len(times) - 1
    else:
        last = times[-1] + (times[-1] - times[-2])
        if last < duration_s:
            covered_to = (moments[-1] - moments[-2]) + moments[-1]
            raise InputError(f"{where}: ends at {texts_at(covered_to, zone)} (its last row, line {lines[-1]}, and a "
                             f"step after it), before the run's end {duration_s / 3600:g} h after "
                             f"{texts_at(origin, zone)}: "
                             f"give a series covering the whole run, or a shorter simulation.duration_s")
        edges, used = np.append(times, last), len(times)
    values = np.empty(used)
    for k in range(used):
        if edges[k + 1] <= 0:
            values[k] = np.nan  # before the run: not used, not checked
            continue
        try:
            value = float(texts[k])
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise InputError(f"{where}: line {lines[k]}: {what} {clip(repr(texts[k]))} is not a finite number")
        if value < 0 and not negative_allowed:
            raise InputError(f"{where}: line {lines[k]}: {what} {value:g} is negative")
        if abs(value * scale) > bound[0]:
            # the value and the bound in one unit: the bound's (a per-MWh file's 2e9 is 2e6 per kWh)
            unit, file_unit = units
            side = f"within ±{bound[0]:,g}" if negative_allowed else f"<= {bound[0]:,g}"
            shown = f"{value:g}" if scale == 1.0 else f"{value:g} {file_unit} ({value * scale:g} {unit})"
            raise InputError(f"{where}: line {lines[k]}: {what} {shown} must be {side}{' ' + unit if unit else ''} "
                             f"({bound[1]})")
        values[k] = value * scale
    first = int(np.searchsorted(edges, 0.0, side="right")) - 1  # the row holding at time 0
    return StepSeries(edges[first:], values[first:], origin, moments[0] if start is None else None)


def texts_at(moment: datetime, zone: str | None = None) -> str:
    """``moment`` (UTC, without a zone) as the config's times are written: in ``zone``
    (``cost.series_timezone``) with its offset and name, as RFC 9557 writes a time in a
    named zone (``2023-06-01 01:00:00+02:00[Europe/Brussels]``), or labelled UTC.
    A time shown in UTC to a user who wrote it in Brussels reads as another time."""
    if zone is None:
        return f"{moment.isoformat(sep=' ')} UTC"
    local = moment.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(zone))
    return f"{local.isoformat(sep=' ')}[{zone}]"


def grid_series(cost: CostSpec, duration_s: float) -> tuple[StepSeries, StepSeries]:
    """The electricity price (currency per kWh) and carbon intensity (gCO2eq/kWh) over
    ``[0, duration_s]``, from the constants or the series of ``cost``.

    Time 0 is ``cost.series_start``; without it, the series' first row, and for a price
    and a carbon series whose first rows differ, the later of the two: the first moment
    both have a value, so that each hour's price is paired with the same hour's intensity
    (as xarray aligns two series on the labels they share, ``join="inner"``, rather than
    each on its own first; each read from its own first row paired hours a year apart).
    :func:`series_notes` says so. Each series' ``origin_utc`` is the moment taken.

    Raises
    ------
    InputError
        A series file that is malformed or does not cover the run (:func:`read_series`).
    """
    def price_from(start: datetime | None, cover_s: float = duration_s) -> StepSeries:
        return read_series(cost.price_series, what="price", key="cost.price_series", duration_s=cover_s,
                           start=start, scale=0.001 if cost.price_series_unit == "per_mwh" else 1.0,
                           negative_allowed=True, zone=cost.series_timezone,
                           bound=(limits.MAX_PRICE_PER_KWH, limits.NOTES[("price_per_kwh", "less_than_equal")]),
                           units=("per kWh", "per MWh" if cost.price_series_unit == "per_mwh" else "per kWh"))

    def carbon_from(start: datetime | None, cover_s: float = duration_s) -> StepSeries:
        return read_series(cost.carbon_series, what="carbon intensity", key="cost.carbon_series",
                           duration_s=cover_s, start=start, zone=cost.series_timezone,
                           bound=(limits.MAX_CARBON_GCO2_PER_KWH,
                                  limits.NOTES[("carbon_intensity_gco2_per_kwh", "less_than_equal")]),
                           units=("gCO2eq/kWh", "gCO2eq/kWh"))

    start = cost.series_start
    if start is None and cost.price_series is not None and cost.carbon_series is not None:
        # time 0 found first (each series' first row, read without asking it to cover the
        # run), so that a series too short is said to be so from the moment taken
        first_price, first_carbon = price_from(None, 1e-9), carbon_from(None, 1e-9)  # (their first two rows)
        if first_price.origin_utc is not None and first_carbon.origin_utc is not None \
                and first_price.origin_utc != first_carbon.origin_utc:
            later = max(first_price.origin_utc, first_carbon.origin_utc)
            at = later.replace(tzinfo=timezone.utc)
            whose = "cost.carbon_series" if first_price.origin_utc < first_carbon.origin_utc else "cost.price_series"
            try:  # each read from the later first row (the later series' own first row)
                if first_price.origin_utc < first_carbon.origin_utc:
                    price = replace(price_from(at), first_utc=first_price.first_utc)
                    carbon = carbon_from(None)
                else:
                    price = price_from(None)
                    carbon = replace(carbon_from(at), first_utc=first_carbon.first_utc)
            except InputError as err:
                raise InputError([f"{problem} (time 0 is {texts_at(later, cost.series_timezone)}, {whose}'s first "
                                  "row, the later of the two series'; set cost.series_start to choose another)"
                                  for problem in err.problems]) from None
            return price, carbon
    price = price_from(start) if cost.price_series is not None else StepSeries.constant(cost.price_per_kwh, duration_s)
    carbon = (carbon_from(start) if cost.carbon_series is not None
              else StepSeries.constant(cost.carbon_gco2_per_kwh, duration_s))
    return price, carbon


def series_origins(cost: CostSpec, price: StepSeries, carbon: StepSeries) -> dict[str, str]:
    """For the manifest: each series' key and the moment (ISO 8601, UTC) its time 0 was
    taken as; empty for two constants."""
    return {key: series.origin_utc.isoformat() + "Z" for key, series, path in
            (("cost.price_series", price, cost.price_series), ("cost.carbon_series", carbon, cost.carbon_series))
            if path is not None and series.origin_utc is not None}


def series_notes(cost: CostSpec, price: StepSeries, carbon: StepSeries, duration_s: float) -> list[str]:
    """Warnings on the grid's price and intensity over ``[0, duration_s]``: when a price
    and a carbon series' first rows differ and no ``series_start`` was given, which
    moment was taken as time 0 (:func:`grid_series`); and a mean price or intensity
    no grid has, most likely a value in another unit (:func:`unit_notes`)."""
    notes = unit_notes(cost, price, carbon, duration_s)
    if price.first_utc is None or carbon.first_utc is None or price.first_utc == carbon.first_utc:
        return notes
    zone = cost.series_timezone
    return [f"cost: cost.price_series begins {texts_at(price.first_utc, zone)} and cost.carbon_series "
            f"{texts_at(carbon.first_utc, zone)}; both are read from the later, {texts_at(price.origin_utc, zone)}, "
            "as time 0 (the first moment both have a value); set cost.series_start to choose another", *notes]


# A mean price over a run above 5 per kWh (5,000 per MWh) is above every wholesale cap in
# euros or dollars, held for the whole run: the EU day-ahead coupling's (SDAC) harmonised
# maximum clearing price, raised to 4,000 EUR/MWh in 2022, and ERCOT's offer cap, 5,000
# USD/MWh from 2022 (PUCT, 16 TAC §25.505). The 2022 crisis peaked far below it: Belgium's
# day-ahead price (ENTSO-E, shared/traces/price_entsoe_BE_dayahead, 2022 to mid-2024) was
# at most 0.871 EUR/kWh in an hour, 0.70 over a day and 0.448 over a month (August 2022).
# A per-MWh series read per kWh is 1,000x: ENTSO-E's 100 EUR/MWh read as 100 EUR/kWh.
# Currencies of smaller units (JPY, INR) have ordinary prices above 5, so it is a note,
# never a refusal.
MEAN_PRICE_NOTE_PER_KWH = 5.0
# A per-MWh series whose values average below 1 per MWh (0.001 per kWh) in magnitude: a
# per-kWh file (0.1 EUR/kWh) read per MWh, 1,000x too low.
MEAN_PRICE_NOTE_PER_MWH_LOW = 1.0
# A mean intensity below 1 gCO2eq/kWh is below any source's life-cycle emissions: the
# cleanest medians are 11-12 g/kWh (wind, nuclear), hydropower's lowest 1 (IPCC AR5 WGIII
# Annex III, Table A.III.2). A series in kgCO2eq/kWh or tCO2eq/MWh (0.2) reads 1,000x too
# low. Above, the bound refuses each value over 2,000 (simdc.model.limits: lignite emits
# ~1,200), naming the unit it is read in.
MEAN_CARBON_NOTE_GCO2_PER_KWH = 1.0


def run_means(series: StepSeries, duration_s: float) -> tuple[float, float]:
    """The time-weighted mean over ``[0, duration_s]`` of ``series``' values and of their
    magnitudes."""
    weights = np.diff(np.clip(series.edges_s, 0.0, duration_s))
    used = weights > 0  # (a row before the run holds NaN, for no time)
    weights, values = weights[used], series.values[used]
    total = float(weights.sum())
    return float(values @ weights) / total, float(np.abs(values) @ weights) / total


def unit_notes(cost: CostSpec, price: StepSeries, carbon: StepSeries, duration_s: float) -> list[str]:
    """A note for a mean price or carbon intensity over the run that no grid has in a
    currency such as EUR or USD: most likely a series in another unit, read 1,000x too
    high or too low (the thresholds' sources beside them). Each names the mean found and
    the key to set."""
    notes = []
    mean_price, price_size = run_means(price, duration_s)
    if cost.price_series is None:
        where, fix = f"cost.price_per_kwh = {cost.price_per_kwh:g}", "a price per MWh divided by 1,000 is per kWh"
    elif cost.price_series_unit == "per_kwh":
        where = "cost.price_series (read per kWh, cost.price_series_unit's default)"
        fix = 'if the file is per MWh (ENTSO-E publishes EUR/MWh), set cost.price_series_unit = "per_mwh"'
    else:
        where, fix = "cost.price_series (read per MWh)", "check the file's unit"
    if mean_price > MEAN_PRICE_NOTE_PER_KWH:
        notes.append(f"cost: {where}: the mean price over the run is {mean_price:,.4g} per kWh, above "
                     f"{MEAN_PRICE_NOTE_PER_KWH:g} per kWh, over every EUR or USD wholesale cap; {fix} (in a "
                     "currency of smaller units, JPY or INR, such a price may be right)")
    if cost.price_series is not None and cost.price_series_unit == "per_mwh" \
            and price_size * 1000 < MEAN_PRICE_NOTE_PER_MWH_LOW:
        notes.append(f"cost: cost.price_series (read per MWh): its values average {price_size * 1000:.3g} per MWh "
                     f"in magnitude ({price_size:.3g} per kWh), below {MEAN_PRICE_NOTE_PER_MWH_LOW:g} per MWh; if "
                     'the file is per kWh, set cost.price_series_unit = "per_kwh" (the default)')
    mean_carbon = run_means(carbon, duration_s)[0]
    if 0 < mean_carbon < MEAN_CARBON_NOTE_GCO2_PER_KWH:
        where = ("cost.carbon_series" if cost.carbon_series is not None
                 else f"cost.carbon_intensity_gco2_per_kwh = {cost.carbon_gco2_per_kwh:g}")
        notes.append(f"cost: {where}: the mean carbon intensity over the run is {mean_carbon:.3g} gCO2eq/kWh, "
                     f"below {MEAN_CARBON_NOTE_GCO2_PER_KWH:g}, below any source's life-cycle emissions (wind and "
                     "nuclear 11-12 g/kWh); a figure in kgCO2eq/kWh or tCO2eq/MWh is 1,000 times gCO2eq/kWh's")
    return notes


# What prices a host group's hosts, and what they count in (simdc.model.host.HostSpec): a
# group without it counts nothing there. Some groups with it and others without is a key
# forgotten, not free hardware (which is said with a 0).
HOST_FIGURES = {
    "cost": (("price_per_hour", "capex"), "price_per_hour, or capex with amortisation_years",
             "cost_hosts and cost (the cost of hosts)", "price_per_hour = 0 for hosts that are free"),
    "embodied carbon": (("embodied_kgco2eq",), "embodied_kgco2eq with lifetime_years",
                        "carbon_embodied_kgco2eq and carbon_kgco2eq", "embodied_kgco2eq = 0 for none"),
}


def host_groups(config: Config) -> list[tuple[str, HostSpec]]:
    """Each host group with the key path naming it (``cluster.hosts.1 ('gen2023')``,
    ``cells.0.hosts.1``, ``host``)."""
    if config.cells:
        groups = [(f"cells.{i}.hosts.{k}", group) for i, cell in enumerate(config.cells)
                  for k, group in enumerate(cell.hosts)]
    elif config.host is not None:
        groups = [("host", config.host)]
    else:
        groups = [(f"cluster.hosts.{k}", group) for k, group in enumerate(config.cluster.hosts)]
    return [(f"{key} ({group.name!r})" if getattr(group, "name", "") else key, group) for key, group in groups]


def unpriced(config: Config) -> dict[str, str]:
    """For cost and for embodied carbon (:data:`HOST_FIGURES`), when some host groups give
    it and others do not: which do not, and which do (a sentence); empty when every group
    gives it or none does."""
    found = {}
    for figure, (keys, wanted, _, _) in HOST_FIGURES.items():
        given = [(name, any(getattr(group, key) is not None for key in keys)) for name, group in host_groups(config)]
        without = [name for name, has in given if not has]
        if without and len(without) < len(given):
            with_ = [name for name, has in given if has]
            found[figure] = (f"{', '.join(without)} {'has' if len(without) == 1 else 'have'} no {wanted}, while "
                             f"{', '.join(with_)} {'has' if len(with_) == 1 else 'have'}")
    return found


def unpriced_warnings(config: Config) -> list[str]:
    """A warning per figure some host groups leave out (:func:`unpriced`): the run's
    figure covers the other groups' hosts only. None without a ``[cost]`` table."""
    if config.cost is None:
        return []
    return [f"cost: {problem}: {HOST_FIGURES[figure][2]} count the latter's hosts only; give each group one "
            f"({HOST_FIGURES[figure][3]})" for figure, problem in unpriced(config).items()]


def resolved_cost(cost: CostSpec, price: StepSeries, carbon: StepSeries) -> CostSpec:
    """``cost`` with ``series_start`` the moment taken as time 0 (UTC), as the resolved
    config writes every default explicitly; unchanged without a series."""
    origin = price.origin_utc or carbon.origin_utc
    if origin is None or (cost.price_series is None and cost.carbon_series is None):
        return cost
    return cost.model_copy(update={"series_start": origin.replace(tzinfo=timezone.utc)})


def meter_moments(price: StepSeries, carbon: StepSeries, duration_s: float) -> tuple[float, ...]:
    """Every moment inside the run at which the price or the intensity changes: where the
    engine must read the hosts' energy (none for two constants)."""
    return tuple(float(t) for t in np.union1d(price.changes(duration_s), carbon.changes(duration_s)))


def interval_energy_kwh(meter_j: np.ndarray | None, energy_kwh: np.ndarray) -> np.ndarray:
    """Each host's energy (kWh) in each interval between readings: a row per interval
    (one more than the readings), a column per host; ``energy_kwh`` is each host's total."""
    total_j = np.asarray(energy_kwh, float)[None, :] * J_PER_KWH
    readings = total_j if meter_j is None or len(meter_j) == 0 else np.vstack([meter_j, total_j])
    return np.diff(np.vstack([np.zeros_like(total_j), readings]), axis=0) / J_PER_KWH


def host_costs(hosts: pd.DataFrame, fleet: list[HostSpec], price: StepSeries, carbon: StepSeries,
               moments_s: tuple[float, ...], meter_j: np.ndarray | None) -> pd.DataFrame:
    """Per row of one platform's ``hosts`` table: ``cost_host`` (rent or amortised capex),
    ``cost_energy``, ``carbon_operational_kgco2eq``, ``carbon_embodied_kgco2eq``.

    ``fleet[p]`` is physical host p's spec; rows sharing a physical host (node VMs) share
    its rent and embodied carbon equally. ``moments_s`` are the readings' moments and
    ``meter_j[k, row]`` the rows' energy (J) at them (None: no readings, two constants).

    Raises
    ------
    ValueError
        As many readings as moments are needed (a run on the fast lane has none).
    """
    if len(moments_s) != (0 if meter_j is None else len(meter_j)):
        raise ValueError(f"{len(moments_s)} meter moments but {0 if meter_j is None else len(meter_j)} readings: "
                         "a series that changes needs the general engine's meter (run_platform's meter_at_s)")
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused by platform_costs, in one line
        return _host_costs(hosts, fleet, price, carbon, moments_s, meter_j)


def _host_costs(hosts: pd.DataFrame, fleet: list[HostSpec], price: StepSeries, carbon: StepSeries,
                moments_s: tuple[float, ...], meter_j: np.ndarray | None) -> pd.DataFrame:
    duration_s = float(hosts["duration_s"].iloc[0])
    hours = duration_s / 3600.0
    physical = hosts["physical_host"].to_numpy(int)
    share = 1.0 / pd.Series(physical).map(pd.Series(physical).value_counts()).to_numpy(float)
    specs = [fleet[p] for p in physical]
    pue = np.array([1.0 if s.pue is None else s.pue for s in specs])
    energy = interval_energy_kwh(meter_j, hosts["energy_kwh"].to_numpy(float)) * pue[None, :]
    starts = np.concatenate([[0.0], moments_s])
    rent = np.array([s.price_per_hour if s.price_per_hour is not None
                     else s.capex / (s.amortisation_years * HOURS_PER_YEAR) if s.capex is not None else 0.0
                     for s in specs])
    embodied = np.array([s.embodied_kgco2eq / (s.lifetime_years * HOURS_PER_YEAR)
                         if s.embodied_kgco2eq is not None else 0.0 for s in specs])
    return pd.DataFrame({
        "cost_host": rent * hours * share,
        "cost_energy": energy.T @ price.at(starts),
        "carbon_operational_kgco2eq": energy.T @ carbon.at(starts) / 1000.0,
        "carbon_embodied_kgco2eq": embodied * hours * share,
    }, index=hosts.index)


def platform_costs(instances: pd.DataFrame, hosts: pd.DataFrame, licence_per_hour: float = 0.0) -> dict[str, float]:
    """One platform's :data:`COST_COLUMNS` from its instances and its hosts' cost columns
    (:func:`host_costs`).

    Raises
    ------
    InputError
        A figure that overflows to inf (one line naming it): never written as inf.
    """
    with np.errstate(over="ignore"):
        hosts_cost = float(hosts["cost_host"].sum())
        energy_cost = float(hosts["cost_energy"].sum())
    licences = licence_per_hour * float(np.nansum(instances["resident_s"].to_numpy(float))) / 3600.0
    total = hosts_cost + energy_cost + licences
    served_h = float(np.nansum(instances["run_s"].to_numpy(float))) / 3600.0
    operational = float(hosts["carbon_operational_kgco2eq"].sum())
    embodied = float(hosts["carbon_embodied_kgco2eq"].sum())
    figures = {"cost": total, "cost_hosts": hosts_cost, "cost_energy": energy_cost, "cost_licences": licences,
               "cost_per_instance_hour": total / served_h if served_h > 0 else np.nan,
               "carbon_kgco2eq": operational + embodied, "carbon_operational_kgco2eq": operational,
               "carbon_embodied_kgco2eq": embodied}
    overflown = [name for name, value in figures.items() if math.isinf(value)]
    if overflown:  # the bounds of simdc.model.limits keep a run below it; a last guard, not a traceback later
        raise InputError(f"cost: {', '.join(overflown)} overflow{'s' if len(overflown) == 1 else ''} (inf): the "
                         "prices, powers, PUE, carbon and hours given multiply beyond the largest number; check "
                         "the [cost] table and the hosts' cost keys")
    return figures
