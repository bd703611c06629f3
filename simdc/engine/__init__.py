"""The discrete-event engine: the only package that knows SimPy."""

from simdc.engine.simulation import PlatformRun, run_platform

__all__ = ["PlatformRun", "run_platform"]
