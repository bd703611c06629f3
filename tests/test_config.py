"""The run configuration (simdc/config.py): every mistake is a ConfigError with one line
per problem naming the file and the key path; overrides, relative paths and the
resolved round trip work."""

from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simdc
from simdc import ConfigError, load_config
from simdc.config import validate


def problems_of(path: Path, overrides=None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, overrides)
    return caught.value.cli_problems  # as the CLI prints them: an override is "--set key=value"


def test_minimal_config_loads_with_presets_filled_in(config_path):
    """The values written are read, and each platform's table is completed from its
    preset (VM overhead 131 MiB, container 5 MiB; placement defaults)."""
    config = load_config(config_path)
    assert config.simulation.duration_s == 7200 and config.simulation.seed == 3
    assert config.simulation.platforms == ("vm", "container")
    assert config.host.cpu_cores == 8 and config.host.memory_gib == 16
    assert config.host.allocatable_memory_gib == 15
    assert config.platform["vm"].rules == "vm" and config.platform["vm"].overhead_mib == 131
    assert config.platform["container"].rules == "container" and config.platform["container"].overhead_mib == 5
    assert config.placement.policy == "first_fit" and config.placement.when_full == "reject"
    assert config.workload.synthetic.lifetime_s.mean == 1800


def test_platform_table_starts_from_its_preset_and_overrides_keys(write_config):
    """[platform.fast] preset = "vm" gets the VM rules and defaults, with its own boot_s."""
    config = load_config(write_config({"platform.fast": {"preset": "vm", "boot_s": 1},
                                       "simulation.platforms": ["fast", "container"]}))
    fast = config.platform["fast"]
    assert fast.rules == "vm" and fast.preset == "vm"
    assert fast.overhead_mib == 131  # the VM preset's
    assert fast.boot_s.value == 1


# (changes to MINIMAL, key path the single problem must name, fragments it must contain)
CONFIG_PROBLEMS = {
    "unknown-key": ({"host.memroy_gib": 32}, "host.memroy_gib", ["unknown key", "'memory_gib'"]),
    "unknown-platform-key": ({"platform.vm.bootz": 30}, "platform.vm.bootz", ["unknown key", "'boot_s'"]),
    "unknown-container-key": ({"platform.container.star_s": 1}, "platform.container.star_s", ["'start_s'"]),
    "unknown-section": ({"simulaton": {"seed": 1}}, "simulaton", ["unknown key", "'simulation'"]),
    "unknown-nested-key": ({"workload.synthetic.lifetime_s": {"medain": 60, "p95": 120}},
                           "workload.synthetic.lifetime_s.medain", ["'median'"]),
    "unknown-key-in-list": ({"workload.synthetic.sizes": [{"cpu_cores": 1, "memory_gib": 1, "weight": 1, "wieght": 1}]},
                            "workload.synthetic.sizes[0].wieght", ["'weight'"]),
    "wrong-type": ({"host.cpu_cores": "many"}, "host.cpu_cores", ["number", "'many'"]),
    "fractional-integer": ({"simulation.seed": 8.5}, "simulation.seed", ["integer", "8.5"]),
    "wrong-type-number": ({"host.memory_gib": "lots"}, "host.memory_gib", ["number", "'lots'"]),
    "table-expected": ({"simulation": 5}, "simulation", ["table", "5"]),
    "negative-memory": ({"host.memory_gib": -4}, "host.memory_gib", ["> 0", "-4"]),
    "zero-duration": ({"simulation.duration_s": 0}, "simulation.duration_s", ["> 0"]),
    "negative-seed": ({"simulation.seed": -1}, "simulation.seed", [">= 0", "-1"]),
    "negative-max-wait": ({"placement.max_wait_s": -5}, "placement.max_wait_s", ["> 0", "-5"]),
    "wait-without-queue": ({"placement.max_wait_s": 60}, "placement.max_wait_s", ["when_full", "'reject'", "60"]),
    # Weights only kubernetes reads, refused as max_wait_s without a queue is: silently unused.
    "scoring-without-kubernetes": ({"placement.scoring": {"most_allocated": 1}}, "placement.scoring",
                                   ["policy = 'kubernetes'", "'first_fit'", "most_allocated = 1"]),
    # Every weight 0: every host scores 0 and kubernetes would be first fit in disguise.
    "zero-scoring": ({"placement.policy": "kubernetes", "placement.scoring": {"least_allocated": 0,
                                                                              "balanced_allocation": 0}},
                     "placement.scoring", ["weight > 0", "first_fit"]),
    "empty-scoring": ({"placement.policy": "kubernetes", "placement.scoring": {}}, "placement.scoring",
                      ["weight > 0"]),
    "reserve-too-big": ({"host.reserved_memory_gib": 16}, "host", ["reserved_memory_gib", "below"]),
    "bad-literal": ({"placement.when_full": "drop"}, "placement.when_full", ["'reject'", "'queue'", "'drop'"]),
    "bad-admission": ({"platform.container.admission": "limits"}, "platform.container.admission", ["'limits'"]),
    # The clairvoyant mode's old name: refused, with both names it may now mean.
    "renamed-admission": ({"platform.container.admission": "usage"}, "platform.container.admission",
                          ['"usage"', '"oracle"', "clairvoyant", '"recommender"']),
    "zero-jobs": ({"workload.synthetic.jobs": 0}, "workload.synthetic.jobs", ["> 0"]),
    "unknown-platform": ({"simulation.platforms": ["vm", "lxc"]}, "simulation.platforms", ["'lxc'", "vm"]),
    "repeated-platform": ({"simulation.platforms": ["vm", "vm"]}, "simulation.platforms", ["repeat"]),
    "no-platforms": ({"simulation.platforms": []}, "simulation.platforms", ["at least 1"]),
    "unknown-preset": ({"platform.fast": {"preset": "turbo"}, "simulation.platforms": ["fast"]},
                       "platform.fast.preset", ["'turbo'", "container", "vm"]),
    "non-string-preset": ({"platform.vm.preset": [1]}, "platform.vm.preset", ["[1]"]),
    "unknown-rules": ({"platform.vm.rules": "lxc"}, "platform.vm.rules", ["'lxc'", "'vm'", "'container'"]),
    "unknown-policy": ({"placement.policy": "bestfit"}, "placement.policy", ["'bestfit'", "first_fit"]),
    "missing-key": ({"simulation.duration_s": None}, "simulation.duration_s", ["missing"]),
    # The trace named is the config file itself: it exists, so only the conflict is wrong.
    "two-workloads": ({"workload.trace": "config.toml"}, "workload", ["exactly one"]),
    "infinite-duration": ({"simulation.duration_s": math.inf}, "simulation.duration_s", ["finite", "inf"]),
    "nan-memory": ({"host.memory_gib": math.nan}, "host.memory_gib", ["finite", "nan"]),
    "nan-boot": ({"platform.vm.boot_s": math.nan}, "platform.vm.boot_s", ["finite"]),
    # Booleans are no numbers (pydantic would read true as 1), nested ones included.
    "bool-cores": ({"host.cpu_cores": True}, "host.cpu_cores", ["expected a number", "true or false"]),
    "bool-seed": ({"simulation.seed": False}, "simulation.seed", ["expected an integer", "true or false"]),
    "bool-in-list": ({"faults.host_failures": [[0, True]]}, "faults.host_failures", ["true or false"]),
    "bool-score": ({"placement.scoring": {"least_allocated": True}}, "placement.scoring", ["true or false"]),
    "bool-in-distribution": ({"platform.vm.boot_s": {"median": True, "p95": 3}}, "platform.vm.boot_s.median",
                             ["true or false"]),
    "bool-size": ({"workload.synthetic.sizes": [{"cpu_cores": True, "memory_gib": 1, "weight": 1}]},
                  "workload.synthetic.sizes[0].cpu_cores", ["true or false"]),
    # Nor is a quoted number (pydantic would read "50" as 50): a typo a planner should see.
    "quoted-jobs": ({"workload.synthetic.jobs": "50"}, "workload.synthetic.jobs",
                    ["expected an integer", "not the string '50'"]),
    "quoted-overhead": ({"platform.vm.cpu_overhead": "0.03"}, "platform.vm.cpu_overhead",
                        ["expected a number", "'0.03'"]),
    # Values that ask for more than any machine has: the key, the bound and its reason.
    "huge-duration": ({"simulation.duration_s": 1e12}, "simulation.duration_s", ["<= 315,576,000", "10 years"]),
    "tiny-sample-step": ({"simulation.sample_every_s": 1e-300}, "simulation.sample_every_s", [">= 0.001", "1e-300"]),
    "tiny-usage-step": ({"workload.synthetic.usage_step_s": 0.001}, "workload.synthetic.usage_step_s", [">= 1"]),
    "huge-rate": ({"workload.synthetic.arrival_rate_per_s": 1e300}, "workload.synthetic.arrival_rate_per_s",
                  ["<= 100,000"]),
    "huge-host-count": ({"host": None, "cluster": {"hosts": [{"count": 10**9, "cpu_cores": 8, "memory_gib": 16}]}},
                        "cluster.hosts[0].count", ["<= 1,000,000", "1000000000"]),
    "huge-fleet": ({"host": None, "cluster": {"hosts": [{"count": 600_000, "cpu_cores": 8, "memory_gib": 16}] * 2}},
                   "cluster", ["1,200,000 hosts", "1,000,000"]),
    "tiny-mtbf": ({"faults.host_mtbf_s": 1e-300}, "faults.host_mtbf_s", [">= 1"]),
    # A real key in the wrong table: where it belongs, not a lookalike of this table's keys
    # (host.admission got "did you mean 'amortisation_years'?").
    "key-of-another-table": ({"host.admission": "requests"}, "host.admission",
                             ["'admission' is a key of [platform.<name>], not of this table"]),
    # A boolean is true or false: pydantic read "no", "off" or 1 as one.
    "loose-bool": ({"platform.vm.balloon": "no"}, "platform.vm.balloon", ["expected true or false", "'no'"]),
    "number-for-bool": ({"platform.vm.balloon": 1}, "platform.vm.balloon", ["expected true or false", "1"]),
    # An integer too big to be one: pydantic's own words, without the key's meaning, before.
    "huge-integer": ({"simulation.seed": 1e300}, "simulation.seed", ["expected an integer", "1e+300"]),
    # A pair given three items: the count, not pydantic's "after validation" wording.
    "long-pair": ({"faults.host_failures": [[0, 100.0, 3]]}, "faults.host_failures[0]",
                  ["takes at most 2 items", "[0, 100.0, 3]"]),
    # Two groups of one name: `plan --group g` would scale the first alone.
    "repeated-group-name": ({"host": None, "cluster": {"hosts": [{"name": "g", "cpu_cores": 32, "memory_gib": 64},
                                                                 {"name": "g", "cpu_cores": 64, "memory_gib": 64}]}},
                            "cluster.hosts[1].name", ["'g' is defined twice"]),
    # A listed failure before the run would strike at 0 as if given so (one after its end: a warning).
    "host-failure-before-run": ({"faults.host_failures": [[0, -5000.0]]}, "faults.host_failures[0]",
                                ["t_s must be >= 0", "-5000"]),
    "kernel-failure-before-run": ({"faults.kernel_failures": [[0, -1.0]]}, "faults.kernel_failures[0]",
                                  ["t_s must be >= 0", "-1"]),
}


@pytest.mark.parametrize(("changes", "key", "fragments"), CONFIG_PROBLEMS.values(), ids=CONFIG_PROBLEMS.keys())
def test_config_problem_is_reported_with_its_key_path(write_config, changes, key, fragments):
    """Each mistake gives exactly one problem line: ``FILE: key.path: what (got value)``."""
    path = write_config(changes)
    found = problems_of(path)
    assert len(found) == 1, found
    assert found[0].startswith(f"{path}: {key}: "), found[0]
    for fragment in fragments:
        assert fragment in found[0], (fragment, found[0])
    assert "\n" not in found[0]


def test_several_problems_are_reported_one_line_each(write_config):
    """Four independent mistakes: four lines, each naming its own key."""
    path = write_config({"host.memroy_gib": 32, "host.cpu_cores": 0, "placement.when_full": "drop",
                         "simulation.seed": -3})
    found = problems_of(path)
    assert len(found) == 4, found
    for key in ("host.memroy_gib", "host.cpu_cores", "placement.when_full", "simulation.seed"):
        assert sum(line.startswith(f"{path}: {key}: ") for line in found) == 1, key


DISTRIBUTIONS_OK = {
    "number": (30, {"value": 30.0}),
    "lognormal": ({"median": 30, "p95": 60}, {"median": 30.0, "p95": 60.0}),
    "exponential": ({"mean": 5}, {"mean": 5.0}),
    "samples": ([1, 2, 3], {"samples": (1.0, 2.0, 3.0)}),
    "samples-table": ({"samples": [4, 5]}, {"samples": (4.0, 5.0)}),
    "zero": (0, {"value": 0.0}),
}


@pytest.mark.parametrize(("written", "fields"), DISTRIBUTIONS_OK.values(), ids=DISTRIBUTIONS_OK.keys())
@pytest.mark.parametrize("key", ["platform.vm.boot_s", "platform.container.start_s", "workload.synthetic.lifetime_s"])
def test_distribution_forms_are_accepted(write_config, key, written, fields):
    """A number, {median, p95}, {mean}, a list or {samples} is read into that form."""
    node = load_config(write_config({key: written}))
    for part in key.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    for name in ("value", "median", "p95", "mean", "samples"):
        assert getattr(node, name) == fields.get(name), name


DISTRIBUTIONS_BAD = {
    "median-alone": ({"median": 3}, "a median and one of p95 or p99"),
    "median-above-p95": ({"median": 60, "p95": 30}, "median <= p95"),
    "median-above-p99": ({"median": 60, "p99": 30}, "median <= p99"),
    "p95-and-p99": ({"median": 1, "p95": 2, "p99": 3}, "one of p95 or p99"),
    "cdf-one-point": ({"cdf": [[300, 0]]}, "at least two"),
    "cdf-not-from-zero": ({"cdf": [[300, 0.2], [600, 1]]}, "from 0 to 1"),
    "cdf-not-to-one": ({"cdf": [[300, 0], [600, 0.9]]}, "from 0 to 1"),
    "cdf-zero-seconds": ({"cdf": [[0, 0], [600, 1]]}, "seconds must be > 0"),
    "cdf-falling-seconds": ({"cdf": [[600, 0], [300, 1]]}, "point 2: 300.0 after 600.0"),
    "cdf-flat-probability": ({"cdf": [[300, 0], [600, 0.5], [900, 0.5], [1200, 1]]}, "rise strictly"),
    "negative": (-1, ">= 0"),
    "empty-list": ([], "empty"),
    "negative-sample": ([1, -2], ">= 0"),
    "zero-mean": ({"mean": 0}, "> 0"),
    "two-forms": ({"mean": 5, "median": 1, "p95": 2}, "exactly one"),
    "boolean": (True, "number of seconds"),
    "text": ("fast", ""),
}


@pytest.mark.parametrize(("written", "fragment"), DISTRIBUTIONS_BAD.values(), ids=DISTRIBUTIONS_BAD.keys())
@pytest.mark.parametrize("key", ["platform.vm.boot_s", "workload.synthetic.lifetime_s"])
def test_bad_distribution_is_reported_at_its_key(write_config, key, written, fragment):
    """An invalid distribution is one problem at its own key path."""
    path = write_config({key: written})
    found = problems_of(path)
    assert len(found) == 1, found
    assert found[0].startswith(f"{path}: {key}: ") and fragment in found[0], found[0]


def test_missing_config_file_is_reported(tmp_path):
    """A config path that does not exist is named."""
    path = tmp_path / "nowhere.toml"
    assert problems_of(path) == [f"{path}: config file not found"]


def test_invalid_toml_is_reported_with_its_line(tmp_path):
    """A TOML syntax error names the file and the line of the error."""
    path = tmp_path / "broken.toml"
    path.write_text("[simulation]\nduration_s = 3600\n[host\ncpu_cores = 8\n")
    found = problems_of(path)
    assert len(found) == 1
    assert found[0].startswith(f"{path}: invalid TOML") and "line 3" in found[0]


# --- overrides ---------------------------------------------------------------------


def test_override_replaces_a_value(config_path):
    """``host.memory_gib=128`` as a list item or a dict entry sets the value, typed."""
    assert load_config(config_path, ["host.memory_gib=128"]).host.memory_gib == 128
    assert load_config(config_path, {"host.memory_gib": 96}).host.memory_gib == 96
    assert load_config(config_path).host.memory_gib == 16  # the file is untouched


@pytest.mark.parametrize(("override", "check"), [
    ("platform.vm.boot_s={median = 3, p95 = 9}",
     lambda c: (c.platform["vm"].boot_s.median, c.platform["vm"].boot_s.p95) == (3, 9)),
    ("placement.when_full=queue", lambda c: c.placement.when_full == "queue"),
    ('placement.when_full="queue"', lambda c: c.placement.when_full == "queue"),
    ('simulation.platforms=["container"]', lambda c: c.simulation.platforms == ("container",)),
    ("platform.vm.memory_overcommit=1.5", lambda c: c.platform["vm"].memory_overcommit == 1.5),
    ("workload.synthetic.lifetime_s={mean = 60}", lambda c: c.workload.synthetic.lifetime_s.mean == 60),
    ("platform.fast={preset = \"vm\", boot_s = 2}",
     lambda c: c.platform["fast"].rules == "vm" and c.platform["fast"].boot_s.value == 2),
], ids=["inline-table", "bare-string", "quoted-string", "list", "float", "nested-inline-table", "new-platform"])
def test_override_values_are_toml_literals(config_path, override, check):
    """Override values are parsed as TOML (inline tables, lists, numbers), bare words as strings."""
    assert check(load_config(config_path, [override]))


def test_overrides_are_validated_like_the_file(config_path):
    """A bad value or unknown key given as an override is reported as coming from the
    command line (``--set key=value``), not from the config file."""
    [line] = problems_of(config_path, ["host.memory_gib=-1"])
    assert line == "--set host.memory_gib=-1: must be > 0 (got -1)"
    [line] = problems_of(config_path, ["hots.memory_gib=1"])
    assert line.startswith("--set hots.memory_gib=1: hots: unknown key") and "'host'" in line
    assert str(config_path) not in line


@pytest.mark.parametrize(("override", "fragment"), [
    ("host.memory_gib.extra=1", "host.memory_gib"),
    ("host.memory_gib", "host.memory_gib"),
    ("=1", "=1"),
    ("host..memory_gib=1", "host..memory_gib"),
], ids=["value-not-table", "no-equals", "no-key", "empty-part"])
def test_malformed_override_is_reported(config_path, override, fragment):
    """An override that is not ``section.key=value`` on a table path is a ConfigError
    naming it, not a crash."""
    found = problems_of(config_path, [override])
    assert len(found) == 1 and fragment in found[0] and "--set" in found[0]


def test_with_overrides_validates_again(config_path):
    """Config.with_overrides gives a new, validated config and leaves the original alone."""
    config = load_config(config_path)
    bigger = config.with_overrides({"host.memory_gib": 64})
    assert bigger.host.memory_gib == 64 and config.host.memory_gib == 16
    with pytest.raises(ConfigError, match="host.memory_gib"):
        config.with_overrides({"host.memory_gib": -1})


# --- paths ---------------------------------------------------------------------------


def test_relative_trace_resolves_against_the_config_folder(tmp_path, monkeypatch, write_trace, minimal):
    """workload.trace = "data/w.csv" in configs/c.toml means configs/data/w.csv, whatever
    the working directory."""
    trace = write_trace([{"id": 1, "submit_s": 0, "duration_s": 1, "cpu_cores": 1, "memory_gib": 1}],
                        name="configs/data/w.csv")
    minimal["workload"] = {"trace": "data/w.csv"}
    config_file = tmp_path / "configs" / "c.toml"
    config_file.write_text(tomli_w.dumps(minimal))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert load_config(config_file).workload.trace == trace.resolve()


def test_missing_trace_is_reported_with_the_resolved_path(tmp_path, minimal):
    """A trace that does not exist names workload.trace and the path looked for."""
    minimal["workload"] = {"trace": "absent.csv"}
    config_file = tmp_path / "c.toml"
    config_file.write_text(tomli_w.dumps(minimal))
    found = problems_of(config_file)
    assert len(found) == 1
    assert found[0].startswith(f"{config_file}: workload.trace: file not found")
    assert str((tmp_path / "absent.csv").resolve()) in found[0]


def test_trace_given_as_override_is_relative_to_the_working_directory(tmp_path, monkeypatch, write_trace, write_config):
    """``--set workload.trace=data/w.csv`` is typed where the command runs, so it is
    relative to the working directory, not to the config's folder."""
    trace = write_trace([{"id": 1, "submit_s": 0, "duration_s": 1, "cpu_cores": 1, "memory_gib": 1}],
                        name="data/w.csv")
    config_file = write_config({"workload": {}}, name="configs/c.toml")
    monkeypatch.chdir(tmp_path)
    config = load_config(config_file, ["workload.trace=data/w.csv"])
    assert config.workload.trace == trace.resolve()


# --- round trip ----------------------------------------------------------------------


ROUND_TRIP = {
    "minimal": {},
    "queue-and-wait": {"placement.when_full": "queue", "placement.max_wait_s": 120},
    "kubernetes-weights": {"placement.policy": "kubernetes", "placement.scoring": {"most_allocated": 2}},
    "distribution-forms": {"platform.vm.boot_s": [1, 2, 3], "platform.container.start_s": {"mean": 0.5},
                           "workload.synthetic.lifetime_s": {"median": 60, "p95": 600}},
    "custom-platform": {"platform.fast": {"preset": "vm", "boot_s": 1, "overhead_mib": 8},
                        "simulation.platforms": ["fast", "container", "vm"]},
    "diurnal-usage": {"workload.synthetic.diurnal_amplitude": 0.5, "workload.synthetic.batch_fraction": 0.25},
}


@pytest.mark.parametrize("changes", ROUND_TRIP.values(), ids=ROUND_TRIP.keys())
def test_resolved_config_round_trips_through_toml(write_config, changes):
    """validate(tomllib.loads(config.to_toml())) is the same config with the same hash,
    and dumping it again gives the same text."""
    config = load_config(write_config(changes))
    text = config.to_toml()
    again = validate(tomllib.loads(text))
    assert again == config
    assert again.hash == config.hash
    assert again.to_toml() == text


def test_resolved_config_with_a_trace_round_trips(tmp_path, write_trace, minimal):
    """The resolved trace path is absolute, so the dump reads back anywhere."""
    write_trace([{"id": 1, "submit_s": 0, "duration_s": 1, "cpu_cores": 1, "memory_gib": 1}])
    minimal["workload"] = {"trace": "trace.csv"}
    (tmp_path / "c.toml").write_text(tomli_w.dumps(minimal))
    config = load_config(tmp_path / "c.toml")
    again = validate(tomllib.loads(config.to_toml()))
    assert again == config and again.hash == config.hash
    assert Path(tomllib.loads(config.to_toml())["workload"]["trace"]).is_absolute()


def test_hash_changes_with_any_value(config_path):
    """Equal configs hash equal; changing one value (seed, a platform key) changes it."""
    config = load_config(config_path)
    assert load_config(config_path).hash == config.hash
    assert config.with_overrides({"simulation.seed": 4}).hash != config.hash
    assert config.with_overrides({"platform.vm.overhead_mib": 130}).hash != config.hash


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    memory=st.floats(1, 4096, allow_nan=False),
    cores=st.integers(1, 512),
    boot=st.one_of(st.floats(0, 1e4), st.builds(lambda m, r: {"median": m, "p95": m * r},
                                                 st.floats(0.01, 100), st.floats(1, 10)),
                   st.builds(lambda m: {"mean": m}, st.floats(0.01, 1e4)),
                   st.lists(st.floats(0, 1e4), min_size=1, max_size=5)),
    when_full=st.sampled_from(["reject", "queue"]),
    max_wait=st.one_of(st.none(), st.floats(0.001, 1e6)),
)
def test_any_valid_config_round_trips(minimal, memory, cores, boot, when_full, max_wait):
    """For any valid values of these keys, the dump validates back to an equal config."""
    minimal = copy.deepcopy(minimal)
    minimal["host"] = {"cpu_cores": cores, "memory_gib": memory}
    minimal["platform"] = {"vm": {"boot_s": boot}}
    minimal["placement"] = {"when_full": when_full}
    if max_wait is not None and when_full == "queue":  # with "reject": a config error
        minimal["placement"]["max_wait_s"] = max_wait
    config = validate(minimal)
    again = validate(tomllib.loads(config.to_toml()))
    assert again == config and again.hash == config.hash


def test_public_names_are_exported():
    """The notebook API: load_config, simulate, load_results and the error types."""
    for name in ("load_config", "simulate", "load_results", "Config", "ConfigError", "InputError", "Results"):
        assert hasattr(simdc, name)
    assert issubclass(ConfigError, simdc.SimdcError) and issubclass(simdc.InputError, simdc.SimdcError)


def test_a_missing_trace_is_reported_with_the_other_problems(write_config):
    """A missing file is one of the problems listed at once, not only after the rest are fixed."""
    path = write_config({"workload.trace": "nowhere.csv", "workload.synthetic": None,
                         "simulation.duration_s": -5})
    found = problems_of(path)
    assert any("simulation.duration_s: must be > 0" in line for line in found), found
    assert any("workload.trace: file not found" in line and "nowhere.csv" in line for line in found), found


def test_long_value_is_cut_in_the_message(write_config):
    """A 100,000-character value appears as its first characters and its length."""
    [line] = problems_of(write_config({"host.cpu_cores": "x" * 100_000}))
    assert len(line) < 400 and "(100,002 characters)" in line, line  # repr adds the quotes
    [line] = problems_of(write_config({"workload": {"trace": "t" * 100_000}}))
    assert "file not found" in line and "characters)" in line and len(line) < 700


def test_mistyped_key_says_did_you_mean_and_not_missing(write_config):
    """``cpu_core``: one line, the suggestion; the missing ``cpu_cores`` it explains is
    not reported besides. Other problems still are, after it."""
    found = problems_of(write_config({"host.cpu_cores": None, "host.cpu_core": 8, "simulation.seed": -1}))
    assert found[0].endswith("host.cpu_core: unknown key; did you mean 'cpu_cores'?"), found
    assert not any("cpu_cores: required key is missing" in line for line in found), found
    assert len(found) == 2 and "simulation.seed" in found[1]


def test_empty_config_reports_every_missing_table(tmp_path):
    """An empty file: simulation, workload and the hosts, at once."""
    path = tmp_path / "empty.toml"
    path.write_text("")
    found = problems_of(path)
    assert len(found) == 3, found
    assert any("simulation: required key is missing" in line for line in found)
    assert any("workload: required key is missing" in line for line in found)
    assert any("[host] table or [[cluster.hosts]]" in line for line in found)


def test_directory_as_config_says_it_is_a_directory(tmp_path):
    [line] = problems_of(tmp_path)
    assert line == f"{tmp_path}: is a directory; give the config's TOML file"


def test_config_with_a_utf8_bom_loads(write_config):
    """Notepad and Excel save UTF-8 with a byte-order mark: the config loads as without."""
    path = write_config()
    plain = load_config(path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_config(path) == plain


def test_non_utf8_config_is_one_error_naming_the_file(write_config):
    path = write_config()
    path.write_bytes(path.read_bytes().replace(b"\n", "\n# caf\xe9\n".encode("latin-1"), 1))
    [line] = problems_of(path)
    assert line.startswith(f"{path}: not UTF-8") and "0xe9" in line


def test_ten_thousand_digit_number_is_one_error_naming_file_and_line(write_config):
    """Python refuses to convert more than 4,300 digits: the file and line, no traceback;
    the same number through --set names the --set."""
    path = write_config()
    lines = path.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("seed"))
    lines[at] = "seed = " + "9" * 10_000
    path.write_text("\n".join(lines) + "\n")
    [line] = problems_of(path)
    assert line.startswith(f"{path}: invalid TOML (line {at + 1}):") and "10,000 digits" in line
    [line] = problems_of(write_config(), ["simulation.seed=" + "9" * 10_000])
    assert line.startswith("--set simulation.seed=999") and len(line) < 400


@pytest.mark.parametrize("override", ["host.cpu_cores=true", "simulation.duration_s=1e12"])
def test_set_problem_names_the_set_not_the_file(config_path, override):
    """A value from the command line is reported as ``--set key=value``, as written."""
    [line] = problems_of(config_path, [override])
    assert line.startswith(f"--set {override}: ") and str(config_path) not in line


def test_consolidation_with_cells_needs_each_cells_power_off_idle_in_one_line():
    """Each cell consolidates its own hosts, which it must be able to switch off: a cell
    without ``power_off_idle`` is one line naming it (the [cluster] key a fleet of cells
    has no table for is not asked)."""
    from tests.conftest import MINIMAL

    raw = copy.deepcopy(MINIMAL)
    host = raw.pop("host")
    raw["cells"] = [{"name": "a", "share": 0.5, "hosts": [host]}, {"name": "b", "share": 0.5, "hosts": [host]}]
    raw["consolidation"] = {"interval_s": 300}
    with pytest.raises(simdc.errors.ConfigError) as caught:
        simdc.config.validate(raw)
    lines = str(caught.value).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cells[0].power_off_idle: consolidation switches emptied hosts off")
    raw["cells"] = [dict(cell, power_off_idle=True) for cell in raw["cells"]]
    assert simdc.config.validate(raw).consolidation.interval_s == 300


IMAGES_TOML = '''
[simulation]
duration_s = 600
[host]
cpu_cores = 8
memory_gib = 16
[workload.synthetic]
arrival_rate_per_s = 0.01
[[images]]
name = "a"
layers = [{ digest = "sha256:base", size_mib = 75 }, { digest = "sha256:a", size_mib = 10 }]
[[images]]
name = "b"
layers = [{ digest = "sha256:base", size_mib = 75 }]
[[images]]
name = "c"
layers = [{ digest = "sha256:b", size_mib = 5 }, { digest = "sha256:base", size_mib = 75 }]
'''


@pytest.mark.parametrize("image, layer", [(0, 0), (1, 0), (2, 1)])
def test_a_set_layer_size_that_two_images_contradict_is_one_line_blaming_the_set(tmp_path, image, layer):
    """One digest is one layer of one size. A --set of one image's copy of a shared layer
    gave a line per other image, each naming the file; now one line, the --set's, naming
    where the other size is."""
    from simdc.config import load_config

    path = tmp_path / "c.toml"
    path.write_text(IMAGES_TOML)
    key = f"images.{image}.layers.{layer}.size_mib"
    with pytest.raises(ConfigError) as caught:
        load_config(path, [f"{key}=80"])
    others = ", ".join(f"images[{i}]" for i in range(3) if i != image)
    assert caught.value.cli_problems == [f"--set {key}=80: layer 'sha256:base' is 80.0 MiB here but 75.0 MiB in "
                                         f"{others}: a digest is one layer, of one size"]
