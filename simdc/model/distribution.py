"""Distributions of durations in seconds (start latency, lifetimes).

A config value may be written as
- a number: a constant, ``boot_s = 30``;
- ``{median = 30, p95 = 60}``: a lognormal with that median and 95th percentile;
- ``{mean = 3600}``: an exponential with that mean;
- a list, or ``{samples = [...]}``: the empirical distribution of those samples.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import model_serializer, model_validator

from simdc.model.base import Spec

Z_95 = 1.6448536269514722  # standard normal 95th percentile


class Distribution(Spec):
    """A non-negative distribution of seconds, in exactly one of four forms."""

    value: float | None = None
    median: float | None = None
    p95: float | None = None
    mean: float | None = None
    samples: tuple[float, ...] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_shorthand(cls, data: Any) -> Any:
        if isinstance(data, bool):
            raise ValueError("expected a number of seconds, {median, p95}, {mean} or a list of samples")
        if isinstance(data, (int, float)):
            return {"value": data}
        if isinstance(data, (list, tuple)):
            return {"samples": data}
        return data

    @model_validator(mode="after")
    def _one_form(self) -> "Distribution":
        forms = {
            "value": self.value is not None,
            "lognormal": self.median is not None or self.p95 is not None,
            "mean": self.mean is not None,
            "samples": self.samples is not None,
        }
        if sum(forms.values()) != 1:
            raise ValueError("give exactly one of: a number, {median, p95}, {mean} or a list of samples")
        if self.value is not None and self.value < 0:
            raise ValueError(f"must be >= 0 (got {self.value})")
        if forms["lognormal"]:
            if self.median is None or self.p95 is None:
                raise ValueError("a lognormal needs both median and p95")
            if not 0 < self.median <= self.p95:
                raise ValueError(f"needs 0 < median <= p95 (got median={self.median}, p95={self.p95})")
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
        sigma = math.log(self.p95 / self.median) / Z_95
        return self.median * math.exp(sigma * sigma / 2)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values (seconds) from ``rng``; always consumes the stream the same way."""
        if self.value is not None:
            return np.full(n, self.value)
        if self.mean is not None:
            return rng.exponential(self.mean, n)
        if self.samples is not None:
            return rng.choice(np.asarray(self.samples, dtype=float), n)
        sigma = math.log(self.p95 / self.median) / Z_95
        return self.median * np.exp(sigma * rng.standard_normal(n))

    @model_serializer
    def to_config(self) -> float | dict | list:
        """The shortest config form that reads back to this distribution."""
        if self.value is not None:
            return self.value
        if self.mean is not None:
            return {"mean": self.mean}
        if self.samples is not None:
            return list(self.samples)
        return {"median": self.median, "p95": self.p95}
