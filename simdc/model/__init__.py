"""Frozen, validated specifications: what the user asked for, not runtime state."""

from simdc.model.distribution import Distribution
from simdc.model.host import HostSpec
from simdc.model.platform import ContainerPlatform, PlatformSpec, VmPlatform, PRESETS

__all__ = ["Distribution", "HostSpec", "ContainerPlatform", "PlatformSpec", "VmPlatform", "PRESETS"]
