"""How requests find a host: the policy, and what happens when none can take them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from simdc.model.base import BOOL_MARK, Spec
from simdc.placement import POLICIES, SCORES, unknown_policy_message


# kube-scheduler's default scoring: NodeResourcesFit, its strategy LeastAllocated
# (pkg/scheduler/apis/config/v1/defaults.go, SetDefaults_NodeResourcesFitArgs), and
# NodeResourcesBalancedAllocation, weight 1 each (pkg/scheduler/apis/config/v1/default_plugins.go,
# getDefaultPlugins).
KUBERNETES_SCORING = {"least_allocated": 1.0, "balanced_allocation": 1.0}


class PlacementSpec(Spec):
    policy: str = "first_fit"
    when_full: Literal["reject", "queue"] = "reject"
    max_wait_s: float | None = Field(default=None, gt=0, description="with queue: give up after this wait")
    # The kubernetes policy's weights, kube-scheduler's by default (KUBERNETES_SCORING). The
    # default is kept (and written out) with every policy, so only other weights are refused
    # with another policy: a config written with its defaults reads back.
    scoring: dict[str, float] = Field(default_factory=lambda: dict(KUBERNETES_SCORING))
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

    @model_validator(mode="after")
    def _scoring_needs_kubernetes(self) -> "PlacementSpec":
        # As max_wait_s without a queue: weights no policy reads would be silently unused.
        if self.policy != "kubernetes" and self.scoring != KUBERNETES_SCORING:
            raise ValueError(f"{BOOL_MARK}scoring: applies only with policy = 'kubernetes' (got scoring = "
                             f"{_weights(self.scoring)} with policy = {self.policy!r}): set policy = 'kubernetes' "
                             "or drop scoring")
        # Every weight 0 scores every host 0: the first host that fits wins, first fit in disguise.
        if self.policy == "kubernetes" and not any(w > 0 for w in self.scoring.values()):
            raise ValueError(f"{BOOL_MARK}scoring: needs a weight > 0 (got {_weights(self.scoring)}): with none "
                             "every host scores 0 and the first that fits wins; for that, set policy = 'first_fit'")
        return self

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, name: str) -> str:
        if name not in POLICIES:
            raise ValueError(unknown_policy_message(name))
        return name


def _weights(weights: dict[str, float]) -> str:
    """Weights as TOML writes them: ``{least_allocated = 1}``."""
    return "{" + ", ".join(f"{name} = {w:g}" for name, w in weights.items()) + "}"
