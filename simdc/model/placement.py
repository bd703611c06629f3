"""How requests find a host: the policy, and what happens when none can take them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from simdc.model.base import BOOL_MARK, Spec
from simdc.placement import POLICIES, SCORES, unknown_policy_message


class PlacementSpec(Spec):
    policy: str = "first_fit"
    when_full: Literal["reject", "queue"] = "reject"
    max_wait_s: float | None = Field(default=None, gt=0, description="with queue: give up after this wait")
    # The kubernetes policy's weights; kube-scheduler enables least_allocated (the
    # NodeResourcesFit default strategy) and balanced_allocation, each with weight 1.
    scoring: dict[str, float] = Field(default_factory=lambda: {"least_allocated": 1.0, "balanced_allocation": 1.0})
    # A host at the limit takes no new start; a request with room only on such hosts waits
    # for a start slot, with reject too (simdc.engine.handlers.Lane.held_by_starts).
    max_concurrent_starts: int | None = Field(default=None, gt=0, description="per host: starts under way at once")

    @field_validator("scoring")
    @classmethod
    def _known_scores(cls, weights: dict[str, float]) -> dict[str, float]:
        unknown = [name for name in weights if name not in SCORES]
        if unknown:
            raise ValueError(f"unknown score {unknown[0]!r}; choose from: {', '.join(SCORES)}")
        if any(w < 0 for w in weights.values()):
            raise ValueError("score weights must be >= 0")
        return weights

    @model_validator(mode="after")
    def _wait_needs_a_queue(self) -> "PlacementSpec":
        # Only a queued request waits: with "reject" a max_wait_s would be silently unused.
        if self.max_wait_s is not None and self.when_full != "queue":
            raise ValueError(f"{BOOL_MARK}max_wait_s: applies only with when_full = 'queue' (got max_wait_s = "
                             f"{self.max_wait_s:g} with when_full = {self.when_full!r}): set when_full = 'queue' "
                             "or drop max_wait_s")
        return self

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, name: str) -> str:
        if name not in POLICIES:
            raise ValueError(unknown_policy_message(name))
        return name
