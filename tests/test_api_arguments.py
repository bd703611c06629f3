"""The Python API refuses a bad argument with one simdc error naming the argument and
what was expected, and never hands back results whose tables are not their own (a new
user's trial of the API, items 1, 2, 7, 9 and 10)."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import simdc
from simdc.config import validate
from simdc.errors import ConfigError, OutputError

from .conftest import MINIMAL


@pytest.fixture(scope="module")
def config():
    return validate(MINIMAL)


def _bytes(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


# --- 1. spill_to: an existing empty folder, one per run ---------------------------------


def test_a_second_run_spilled_into_the_same_folder_is_refused_and_the_first_keeps_its_tables(config, tmp_path):
    """Two runs spilled into one folder: the second is refused before it runs, and the
    first run's tables are still the ones of its seed (those of the same run in memory),
    so its summary and its instance rows agree."""
    first = simdc.simulate(config, seed=3, spill=True, spill_to=tmp_path)
    before = _bytes(tmp_path)
    with pytest.raises(OutputError, match=r"^spill_to: .*is not empty") as caught:
        simdc.simulate(config, seed=4, spill=True, spill_to=tmp_path)
    assert str(tmp_path) in caught.value.problems[0]
    assert _bytes(tmp_path) == before
    held = simdc.simulate(config, seed=3, spill=False)
    assert_frame_equal(first.instances, held.instances)
    # the summary counts the rows it came from: submitted per platform
    rows = first.instances["platform"].astype(str).value_counts().to_dict()
    assert dict(zip(first.summary["platform"], first.summary["submitted"])) == rows


def test_spill_to_a_results_directory_is_refused_and_leaves_it_as_it_was(config, tmp_path):
    run = simdc.simulate(config, seed=3).write(tmp_path / "run")
    before = _bytes(run)
    with pytest.raises(OutputError, match=r"^spill_to: .*is not empty"):
        simdc.simulate(config, seed=4, spill=True, spill_to=run)
    assert _bytes(run) == before


@pytest.mark.parametrize("make, said", [
    (lambda tmp: tmp / "nonexist", "no such folder"),
    (lambda tmp: (tmp / "file").write_text("x") and tmp / "file", "is a file, not a folder"),
])
def test_spill_to_that_is_no_folder_names_spill_to_not_memory(config, tmp_path, make, said):
    """Spilling was asked for: the message is about spill_to, not "too big for memory"."""
    with pytest.raises(OutputError, match=rf"^spill_to: .*{said}") as caught:
        simdc.simulate(config, spill=True, spill_to=make(tmp_path))
    assert "too big for memory" not in str(caught.value)


def test_spill_to_of_another_type_is_refused(config):
    with pytest.raises(OutputError, match="^spill_to: expected the path of an existing empty folder"):
        simdc.simulate(config, spill=True, spill_to=3)
