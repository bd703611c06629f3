"""Distributions of durations in seconds (start latency, lifetimes).

A config value may be written as
- a number: a constant, ``boot_s = 30``;
- ``{median = 30, p95 = 60}``: a lognormal with that median and 95th percentile, or
  ``{median = 0.206, p99 = 0.246}`` with its 99th percentile (sources often publish one
  or the other: the lognormal is the one through both points given);
- ``{mean = 3600}``: an exponential with that mean;
- a list, or ``{samples = [...]}``: the empirical distribution of those samples;
- ``{cdf = [[300, 0], [3600, 0.58], ..., [86400, 1]]}``: points ``[seconds, cumulative
  probability]`` of a published CDF, log-linear in between: the quantile at probability
  ``u`` between points ``(x0, p0)`` and ``(x1, p1)`` is ``x0·(x1/x0)^((u − p0)/(p1 − p0))``.
  Probabilities rise strictly from 0 to 1; seconds are > 0 and never fall (a repeated
  value holds the probability between its two points: an atom).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import model_serializer, model_validator

from simdc.model.base import Spec

Z_95 = 1.6448536269514722  # standard normal 95th percentile
Z_99 = 2.3263478740408408  # standard normal 99th percentile


class Distribution(Spec):
    """A non-negative distribution of seconds, in exactly one of five forms (module docstring)."""

    value: float | None = None
    median: float | None = None
    p95: float | None = None
    p99: float | None = None
    mean: float | None = None
    samples: tuple[float, ...] | None = None
    cdf: tuple[tuple[float, float], ...] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_shorthand(cls, data: Any) -> Any:
        if isinstance(data, bool):
            raise ValueError("expected a number of seconds, {median, p95}, {median, p99}, {mean}, "
                             "a list of samples or {cdf = [[seconds, probability], ...]}")
        if isinstance(data, (int, float)):
            return {"value": data}
        if isinstance(data, (list, tuple)):
            return {"samples": data}
        return data

    @model_validator(mode="after")
    def _one_form(self) -> "Distribution":
        forms = {
            "value": self.value is not None,
            "lognormal": self.median is not None or self.p95 is not None or self.p99 is not None,
            "mean": self.mean is not None,
            "samples": self.samples is not None,
            "cdf": self.cdf is not None,
        }
        if sum(forms.values()) != 1:
            raise ValueError("give exactly one of: a number, {median, p95}, {median, p99}, {mean}, "
                             "a list of samples or {cdf = [[seconds, probability], ...]}")
        if self.value is not None and self.value < 0:
            raise ValueError(f"must be >= 0 (got {self.value})")
        if forms["lognormal"]:
            if self.median is None or (self.p95 is None) == (self.p99 is None):
                raise ValueError("a lognormal needs a median and one of p95 or p99")
            upper, name = (self.p95, "p95") if self.p95 is not None else (self.p99, "p99")
            if not 0 < self.median <= upper:
                raise ValueError(f"needs 0 < median <= {name} (got median={self.median}, {name}={upper})")
        if self.cdf is not None:
            _check_cdf(self.cdf)
        if self.mean is not None and self.mean <= 0:
            raise ValueError(f"mean must be > 0 (got {self.mean})")
        if self.samples is not None:
            if len(self.samples) == 0:
                raise ValueError("the list of samples is empty")
            if min(self.samples) < 0:
                raise ValueError(f"samples must be >= 0 (got {min(self.samples)})")
        return self

    @property
    def expected_s(self) -> float:
        """The distribution's mean, in seconds."""
        if self.value is not None:
            return self.value
        if self.mean is not None:
            return self.mean
        if self.samples is not None:
            return float(np.mean(self.samples))
        if self.cdf is not None:
            # a log-linear segment from x0 to x1 carrying probability dp has mean
            # dp·(x1 − x0)/ln(x1/x0); an atom (x0 = x1) has dp·x0
            total = 0.0
            for (x0, p0), (x1, p1) in zip(self.cdf, self.cdf[1:]):
                total += (p1 - p0) * (x0 if x1 == x0 else (x1 - x0) / math.log(x1 / x0))
            return total
        sigma = self.sigma
        return self.median * math.exp(sigma * sigma / 2)

    @property
    def sigma(self) -> float:
        """σ of the lognormal form: ln(p95/median)/z₀.₉₅ or ln(p99/median)/z₀.₉₉."""
        if self.p95 is not None:
            return math.log(self.p95 / self.median) / Z_95
        return math.log(self.p99 / self.median) / Z_99

    def quantile(self, q: float) -> float:
        """The q-quantile in seconds, 0 < q < 1 (exact for every form but ``mean``'s
        exponential, where it is exact too: −mean·ln(1 − q))."""
        if self.value is not None:
            return self.value
        if self.mean is not None:
            return -self.mean * math.log1p(-q)
        if self.samples is not None:
            return float(np.quantile(self.samples, q, method="inverted_cdf"))
        if self.cdf is not None:
            return float(self._cdf_quantile(np.array([q]))[0])
        return self.median * math.exp(self.sigma * _z(q))

    def _cdf_quantile(self, u: np.ndarray) -> np.ndarray:
        seconds = np.array([x for x, _ in self.cdf])
        probability = np.array([p for _, p in self.cdf])
        segment = np.clip(np.searchsorted(probability, u, side="right") - 1, 0, len(seconds) - 2)
        p0, p1 = probability[segment], probability[segment + 1]
        x0, x1 = seconds[segment], seconds[segment + 1]
        return x0 * (x1 / x0) ** np.clip((u - p0) / (p1 - p0), 0.0, 1.0)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values (seconds) from ``rng``; always consumes the stream the same way."""
        if self.value is not None:
            return np.full(n, self.value)
        if self.mean is not None:
            return rng.exponential(self.mean, n)
        if self.samples is not None:
            return rng.choice(np.asarray(self.samples, dtype=float), n)
        if self.cdf is not None:
            return self._cdf_quantile(rng.random(n))
        return self.median * np.exp(self.sigma * rng.standard_normal(n))

    @model_serializer
    def to_config(self) -> float | dict | list:
        """The shortest config form that reads back to this distribution."""
        if self.value is not None:
            return self.value
        if self.mean is not None:
            return {"mean": self.mean}
        if self.samples is not None:
            return list(self.samples)
        if self.cdf is not None:
            return {"cdf": [list(point) for point in self.cdf]}
        if self.p99 is not None:
            return {"median": self.median, "p99": self.p99}
        return {"median": self.median, "p95": self.p95}


def _z(q: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(q)


def _check_cdf(points: tuple[tuple[float, float], ...]) -> None:
    """Raise ValueError unless ``points`` is a CDF the log-linear form can draw from."""
    if len(points) < 2:
        raise ValueError(f"cdf needs at least two [seconds, probability] points (got {len(points)})")
    seconds = [x for x, _ in points]
    probability = [p for _, p in points]
    if min(seconds) <= 0:
        raise ValueError(f"cdf seconds must be > 0: the CDF is log-linear between points (got {min(seconds)})")
    for k in range(1, len(points)):
        if seconds[k] < seconds[k - 1]:
            raise ValueError(f"cdf seconds must never fall (point {k + 1}: {seconds[k]} after {seconds[k - 1]})")
        if probability[k] <= probability[k - 1]:
            raise ValueError(f"cdf probabilities must rise strictly (point {k + 1}: "
                             f"{probability[k]} after {probability[k - 1]})")
    if probability[0] != 0 or probability[-1] != 1:
        raise ValueError(f"cdf probabilities must run from 0 to 1 (got {probability[0]} to {probability[-1]})")
