"""What the grid charges and emits: the ``[cost]`` table.

Money is in one currency throughout, whichever the config's figures are in (the
report writes none). Energy is priced and its carbon counted at the wall: the hosts'
energy times their group's ``pue`` (:class:`simdc.model.host.HostSpec`).

Series are CSV files of a header (two column names, any: ``time,DAM_price``) and rows
``timestamp,value``, two fields each: a file without the header, or a row with more
fields, is refused. Each value holds from its timestamp to the next row's, the last one for as
long as the step before it. Timestamps written without a zone are in ``series_timezone``
(default UTC) and all are taken to UTC. Simulated time 0 is ``series_start`` (default:
the series' first timestamp; of a price and a carbon series, the later first timestamp,
so that both are read on one calendar: :func:`simdc.cost.grid_series`); a series must
cover the whole run. Values are bounded (:mod:`simdc.model.limits`), as are the keys.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from simdc.model import limits
from simdc.model.base import Spec

# The world's average carbon intensity of electricity in 2023, 480 gCO2eq/kWh (Ember,
# "Global Electricity Review 2024", the power sector's emissions over its generation):
# the constant used when a [cost] table gives neither a constant nor a series.
WORLD_CARBON_INTENSITY_GCO2_PER_KWH = 480.0


class CostSpec(Spec):
    """Electricity price and carbon intensity (each a constant or a series), and licences.

    ``price_per_kwh`` (currency per kWh, may be negative: day-ahead markets go below
    zero) or ``price_series`` (a CSV, its values per kWh, or per MWh with
    ``price_series_unit = "per_mwh"``: ENTSO-E publishes EUR/MWh); one of them is
    required. ``carbon_intensity_gco2_per_kwh`` (>= 0) or ``carbon_series`` (a CSV in
    gCO2eq/kWh, as Electricity Maps publishes); neither: the world average, 480.
    ``licence_per_hour``: per platform name, what an instance pays per hour on a host
    (a guest OS licence for a VM), >= 0.
    """

    price_per_kwh: float | None = Field(default=None, ge=-limits.MAX_PRICE_PER_KWH, le=limits.MAX_PRICE_PER_KWH)
    price_series: str | None = None
    price_series_unit: Literal["per_kwh", "per_mwh"] = "per_kwh"
    carbon_intensity_gco2_per_kwh: float | None = Field(default=None, ge=0, le=limits.MAX_CARBON_GCO2_PER_KWH)
    carbon_series: str | None = None
    series_start: datetime | None = Field(
        default=None, description="the series' timestamp at simulated time 0; default: the (later) first row")
    series_timezone: str | None = Field(
        default=None, description="IANA zone of timestamps written without one (e.g. Europe/Brussels); default UTC")
    licence_per_hour: dict[str, float] = Field(default_factory=dict)

    @field_validator("licence_per_hour")
    @classmethod
    def _licences_not_negative(cls, prices: dict[str, float]) -> dict[str, float]:
        for name, price in prices.items():
            if price < 0:
                raise ValueError(f"{name}: must be >= 0 (got {price})")
            if price > limits.MAX_PRICE_PER_HOUR:
                raise ValueError(f"{name}: must be <= {limits.MAX_PRICE_PER_HOUR:,.0f} ({limits.LICENCE_NOTE}) "
                                 f"(got {price:g})")
        return prices

    @field_validator("series_start", mode="before")
    @classmethod
    def _a_date_not_a_number(cls, value: Any) -> Any:
        # pydantic reads a number as seconds (or ms) since 1970: 7 would be 1970-01-01T00:00:07,
        # silently, for a key that names a moment of the series
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError(f"expected a date and time (e.g. 2023-06-01T00:00:00Z), got the number {value!r}")
        return value

    @field_validator("series_timezone")
    @classmethod
    def _known_zone(cls, name: str | None) -> str | None:
        if name is not None:
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {name!r}; give an IANA name such as 'Europe/Brussels' "
                                 "or 'UTC'") from None
        return name

    @model_validator(mode="after")
    def _one_of_each(self) -> "CostSpec":
        if (self.price_per_kwh is None) == (self.price_series is None):
            raise ValueError("give exactly one of price_per_kwh or price_series")
        if self.carbon_intensity_gco2_per_kwh is not None and self.carbon_series is not None:
            raise ValueError("give at most one of carbon_intensity_gco2_per_kwh or carbon_series")
        if self.series_start is not None and self.price_series is None and self.carbon_series is None:
            raise ValueError("series_start: no price_series or carbon_series to start")
        return self

    @property
    def carbon_gco2_per_kwh(self) -> float:
        """The constant carbon intensity: the one given, else the world average."""
        given = self.carbon_intensity_gco2_per_kwh
        return WORLD_CARBON_INTENSITY_GCO2_PER_KWH if given is None else given
