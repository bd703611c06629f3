"""The discrete-event engine: the only package that knows SimPy."""

from simdc.engine.runner import run_platform
from simdc.engine.simulation import PlatformRun

__all__ = ["PlatformRun", "run_platform"]
