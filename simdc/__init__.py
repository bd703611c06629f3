"""simdc: what do VMs with preallocated resources cost, compared with containers that
share them, on this host or fleet, replaying this workload?

>>> import simdc
>>> config = simdc.load_config("configs/host64g.toml")
>>> results = simdc.simulate(config)
>>> results.summary
"""

import importlib

__version__ = "0.1.0"

# The public names and their modules, imported on first use (PEP 562), so that the
# ``simdc`` command's entry point (simdc/__main__.py) starts before pandas and the engine
# load, and a Ctrl-C during those imports is handled rather than printed as a traceback.
_EXPORTS = {
    "Config": "simdc.config", "load_config": "simdc.config",
    "ConfigError": "simdc.errors", "InputError": "simdc.errors", "SimdcError": "simdc.errors",
    "simulate": "simdc.experiment",
    "PlanResult": "simdc.planning", "plan": "simdc.planning",
    "Results": "simdc.results", "load_results": "simdc.results",
    "aggregate": "simdc.sweeping", "sweep": "simdc.sweeping",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'simdc' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
