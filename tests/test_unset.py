"""``--unset KEY`` (``load_config(..., unset=[...])``): an optional key the file sets is
removed before ``--set`` applies, so its default is in force again; a key the file does not
set, or a required one, is one clear error with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from simdc.cli import app
from simdc.config import load_config, removed_keys
from simdc.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_unset_then_set_turns_a_queue_into_rejections():
    # fleet.toml queues with max_wait_s = 600, which `--set placement.when_full=reject` alone
    # cannot undo: max_wait_s applies only to a queue (refused), and TOML has no null
    with pytest.raises(ConfigError, match="max_wait_s"):
        load_config(CONFIGS / "fleet.toml", ["placement.when_full=reject"])
    cfg = load_config(CONFIGS / "fleet.toml", ["placement.when_full=reject"], unset=["placement.max_wait_s"])
    assert cfg.placement.when_full == "reject" and cfg.placement.max_wait_s is None
    assert load_config(CONFIGS / "fleet.toml").placement.max_wait_s == 600  # the file as it is


def _keys(data, prefix=()):
    for key, value in data.items():
        yield prefix + (key,)
        if isinstance(value, dict):
            yield from _keys(value, prefix + (key,))


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_removed_keys_removes_exactly_the_key(data):
    raw = data.draw(st.recursive(st.integers(), lambda inner: st.dictionaries(
        st.sampled_from("abcd"), inner, min_size=1, max_size=3), max_leaves=8).filter(lambda d: isinstance(d, dict)))
    keys = list(_keys(raw))
    path = data.draw(st.sampled_from(keys))
    out = removed_keys(raw, [".".join(path)])
    kept = set(_keys(out))
    # the key and everything under it gone; every other key kept; the input untouched
    assert kept == {k for k in keys if k[:len(path)] != path}
    assert path in set(_keys(raw))


def test_unset_of_a_list_entry_by_index():
    raw = {"cells": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}]}
    assert removed_keys(raw, ["cells.1.share"]) == {"cells": [{"name": "a", "share": 0.5}, {"name": "b"}]}


@pytest.mark.parametrize("key, said", [
    ("placement.max_wait", "--unset placement.max_wait: placement does not set 'max_wait'"),
    ("nosuch.key", "--unset nosuch.key: the config does not set 'nosuch'"),
    ("simulation.duration_s", "--unset simulation.duration_s: required key is missing"),
    ("placement..x", "--unset placement..x: expected a dotted key"),
])
def test_a_bad_unset_is_one_line_and_exit_2(tmp_path, key, said):
    result = CliRunner().invoke(app, ["run", str(CONFIGS / "fleet.toml"), "--unset", key, "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and said in lines[0], result.output
    assert not (tmp_path / "out").exists()
    with pytest.raises(ConfigError) as err:  # the API names its parameter
        load_config(CONFIGS / "fleet.toml", unset=[key])
    assert err.value.problems[0].startswith("unset: ")


def test_unset_is_refused_as_a_bare_string():
    with pytest.raises(ConfigError, match=r"write \['placement.max_wait_s'\]"):
        load_config(CONFIGS / "fleet.toml", unset="placement.max_wait_s")


@pytest.mark.parametrize("config, args, said", [
    # a sibling left without what it applies to: the file sets when_full = "queue"
    ("fleet.toml", ["--unset", "placement.when_full"], "--unset placement.when_full: placement.max_wait_s: applies "
                                                        "only with when_full = 'queue'"),
    # the shares the file gives sum to 1; the removal leaves 0.9
    ("cells.toml", ["--unset", "cells.3"], "--unset cells.3 (the entries after it renumbered): cells: shares must "
                                           "sum to 1"),
    # releases[0] is the file's releases[1] once the first is removed
    ("release.toml", ["--set", "simulation.duration_s=3000", "--unset", "services.0.releases.0"],
     "--unset services.0.releases.0 (the entries after it renumbered): services[0].releases[0].at_s"),
])
def test_a_problem_the_unset_makes_is_named_by_it_not_the_file(tmp_path, config, args, said):
    result = CliRunner().invoke(app, ["run", str(CONFIGS / config), *args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and said in lines[0] and str(CONFIGS) not in lines[0], result.output


def test_a_problem_the_file_has_anyway_is_still_the_files():
    # the file's own problem (a --set makes releases[1] late) is named by the file even with an --unset elsewhere
    with pytest.raises(ConfigError) as err:
        load_config(CONFIGS / "release.toml", ["simulation.duration_s=3000"], unset=["simulation.sample_every_s"])
    assert err.value.problems[0].startswith(f"{CONFIGS / 'release.toml'}: services[0].releases[1].at_s")
