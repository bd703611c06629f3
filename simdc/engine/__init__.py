"""The discrete-event engine: the only package that knows SimPy."""

from pathlib import Path

from simdc.engine.compiled import use_sources

use_sources(__name__, Path(__file__).parent)  # a compiled build older than its source does not run

from simdc.engine.runner import run_platform  # noqa: E402
from simdc.engine.simulation import PlatformRun  # noqa: E402

__all__ = ["PlatformRun", "run_platform"]
