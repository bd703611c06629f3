from pydantic import BaseModel, ConfigDict


class Spec(BaseModel):
    """Base of every spec: immutable, and unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)
