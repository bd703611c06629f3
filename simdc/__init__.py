"""simdc: what do VMs with preallocated resources cost, compared with containers that
share them, on this host or fleet, replaying this workload?

>>> import simdc
>>> config = simdc.load_config("configs/host64g.toml")
>>> results = simdc.simulate(config)
>>> results.summary
"""

from simdc.config import Config, load_config
from simdc.errors import ConfigError, InputError, SimdcError
from simdc.experiment import simulate
from simdc.planning import PlanResult, plan
from simdc.results import Results, load_results
from simdc.sweeping import aggregate, sweep

__version__ = "0.1.0"
__all__ = ["Config", "ConfigError", "InputError", "PlanResult", "Results", "SimdcError", "aggregate",
           "load_config", "load_results", "plan", "simulate", "sweep"]
