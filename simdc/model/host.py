from pydantic import Field, model_validator

from simdc.model.base import Spec


class HostSpec(Spec):
    """One physical host.

    Memory is GiB (2^30 bytes); ``reserved_memory_gib`` is held back for the host OS and
    daemons and is never given to instances.
    """

    cpu_cores: int = Field(gt=0, description="logical CPUs")
    memory_gib: float = Field(gt=0, description="physical memory")
    reserved_memory_gib: float = Field(default=0.0, ge=0, description="memory kept for the host OS")

    @model_validator(mode="after")
    def _reserve_fits(self) -> "HostSpec":
        if self.reserved_memory_gib >= self.memory_gib:
            raise ValueError(
                f"reserved_memory_gib ({self.reserved_memory_gib}) must be below memory_gib ({self.memory_gib})"
            )
        return self

    @property
    def allocatable_memory_gib(self) -> float:
        return self.memory_gib - self.reserved_memory_gib
