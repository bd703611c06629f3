"""A refusal names what a directory is when simdc wrote it: a run's results are not a
plan's, and a sweep's directory is not a run's."""

import json

import pytest

from simdc.errors import InputError, OutputError
from simdc.planning import PlanResult
from simdc.results import check_destination, load_results


def test_overwriting_a_runs_results_with_a_plan_says_it_is_a_runs(tmp_path):
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(OutputError) as caught:
        check_destination(tmp_path, overwrite=True, marks=PlanResult.MARKS)
    assert "is a run's results directory, not a plan's directory (no evaluations.csv)" in str(caught.value)
    assert "--overwrite; choose another --out" in caught.value.cli_problems[0]


def test_a_folder_simdc_did_not_write_is_still_not_a_results_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="is not a simdc results directory"):
        check_destination(tmp_path, overwrite=True, marks=PlanResult.MARKS)


@pytest.mark.parametrize("grid, replications, kept", [({"a.b": [1, 2, 3]}, 2, 1), ({"a.b": [1], "c.d": [1, 2]}, 1, 0)])
def test_loading_an_unfinished_sweep_says_so_and_how_to_complete_it(tmp_path, grid, replications, kept):
    (tmp_path / "sweep.json").write_text(json.dumps({"config_hash": "x", "grid": grid, "replications": replications}))
    (tmp_path / "parts").mkdir()
    for r in range(kept):
        (tmp_path / "parts" / f"p00000-r{r:04d}.csv").write_text("x\n")
    total = len(grid["a.b"]) * len(grid.get("c.d", [0])) * replications
    with pytest.raises(InputError) as caught:
        load_results(tmp_path)
    assert str(caught.value) == (f"{tmp_path}: is an unfinished sweep ({kept} of {total} runs kept in "
                                 f"{tmp_path / 'parts'}, no points.csv yet): run the same sweep into it again "
                                 "to complete it")
