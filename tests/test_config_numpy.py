"""NumPy's values given to the config from Python are read as Python's equivalents
(simdc.config.python_values): ``np.bool_`` is a bool, refused where a number is due with
the same problem as ``True``; NumPy integers and floats are numbers, accepted with their
value; an array is a list. Before, ``np.bool_(True)`` as host.cpu_cores loaded as 1.0
cores, and ``np.array(['vm', 'container'])`` as the platforms gave "unknown platform
'vm'; choose one of: ..., vm, ...". The oracle is the config's own answer to the Python
value NumPy's stands for."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simdc.config import load_config, validate
from simdc.errors import ConfigError
from tests.conftest import MINIMAL, set_keys

# numeric keys of MINIMAL (with workload.synthetic.jobs, which it leaves unset) and a
# value each may take (within int8 and exact in float16: every NumPy type holds it)
NUMBERS = {"host.cpu_cores": 4, "simulation.duration_s": 120, "workload.synthetic.jobs": 5, "simulation.seed": 7}
INTEGER_TYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
FLOAT_TYPES = [np.float16, np.float32, np.float64]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def problems(call) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        call()
    return caught.value.problems


def three_ways(config_path, key, value):
    """The config with ``key`` set to ``value``: as load_config's override, through
    Config.with_overrides, and as validate's dict from Python."""
    yield lambda: load_config(config_path, {key: value})
    yield lambda: load_config(config_path).with_overrides({key: value})
    yield lambda: validate(set_keys(MINIMAL, {key: value}))


def value_at(config, key):
    node = config
    for part in key.split("."):
        node = getattr(node, part)
    return node


@SETTINGS
@given(key=st.sampled_from(sorted(NUMBERS)), truth=st.booleans())
def test_a_numpy_bool_is_refused_where_a_number_is_due_as_a_python_bool_is(config_path, key, truth):
    for numpy_way, python_way in zip(three_ways(config_path, key, np.bool_(truth)),
                                     three_ways(config_path, key, truth)):
        said = problems(numpy_way)
        assert said == problems(python_way)
        assert any("not true or false" in line for line in said), said


@SETTINGS
@given(key=st.sampled_from(sorted(NUMBERS)), kind=st.sampled_from(INTEGER_TYPES + FLOAT_TYPES))
def test_numpy_numbers_are_accepted_with_their_value(config_path, key, kind):
    value = kind(NUMBERS[key])
    if key in ("workload.synthetic.jobs", "simulation.seed") and kind in FLOAT_TYPES:
        return  # an integer key: a float is refused, NumPy's or Python's alike
    for way in three_ways(config_path, key, value):
        assert value_at(way(), key) == NUMBERS[key]


@pytest.mark.parametrize("kind", [np.array, lambda names: np.array(names, dtype=object)])
def test_a_numpy_array_of_platforms_is_a_list_of_them(config_path, kind):
    names = ["vm", "container"]
    for way in three_ways(config_path, "simulation.platforms", kind(names[::-1])):
        assert list(way().simulation.platforms) == names[::-1]
    for way in three_ways(config_path, "simulation.platforms", np.array(["vm", "vmm"])):
        (line,) = [p for p in problems(way) if "vmm" in p]
        assert "unknown platform 'vmm'" in line and "unknown platform 'vm'" not in line
