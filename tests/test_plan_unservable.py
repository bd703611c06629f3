"""A plan whose SLO no host count can meet, because some requests fit no host of the
fleet's size: it says so, with the bound, and stops searching."""

from __future__ import annotations

import pandas as pd

import pytest
from typer.testing import CliRunner

from simdc.cli import app
from simdc.config import validate
from simdc.planning import plan

SMALL, LARGE = 20, 3  # 1-core requests, and 8-core ones that no 4-core host holds


def trace_config(tmp_path, platforms=("vm", "container")):
    """SMALL 1-core requests one after another (never two at once) and LARGE 8-core ones,
    replayed on 4-core hosts: one host serves every small one, none ever a large one."""
    rows = [f"{k},{10 * k},5,1,1" for k in range(SMALL)]
    rows += [f"{SMALL + k},{10 * k + 5},2,8,1" for k in range(LARGE)]
    trace = tmp_path / "w.csv"
    trace.write_text("id,submit_s,duration_s,cpu_cores,memory_gib\n" + "\n".join(rows) + "\n")
    raw = {"simulation": {"duration_s": 600.0, "seed": 1, "platforms": list(platforms)},
           "host": {"cpu_cores": 4, "memory_gib": 8},
           "platform": {"vm": {"overhead_mib": 0, "boot_s": 0}, "container": {"admission": "requests"}},
           "workload": {"trace": str(trace)}}
    return raw


@pytest.mark.parametrize("platform", ["vm", "container"])
def test_an_slo_below_the_share_no_host_holds_is_reported_with_its_bound_and_not_searched(tmp_path, platform):
    """LARGE of SMALL + LARGE requests fit no 4-core host: rejection_rate >= 3/23 at any
    count, so 'rejection_rate<=0.05' is out of reach. The plan stops after the first
    count (it ran to 1024 hosts, 11 evaluations, and said nothing) and its reason gives
    the share and the bound."""
    config = validate(trace_config(tmp_path, [platform]))
    result = plan(config, ["rejection_rate<=0.05"], max_hosts=64)
    row = result.plan.iloc[0]
    floor = LARGE / (SMALL + LARGE)
    assert pd.isna(row["hosts_needed"])
    assert row["unplaceable_share"] == pytest.approx(floor)
    assert f"rejection_rate >= {floor:.4g} at any host count" in row["reason"]
    assert f"{floor:.1%} of requests fit no host" in row["reason"]
    assert list(result.evaluations["hosts"]) == [1]


def test_an_slo_above_that_share_is_planned_as_before(tmp_path):
    """With the SLO above the bound (3/23 ≈ 0.13 <= 0.2) one host meets it: no reason."""
    config = validate(trace_config(tmp_path, ["vm"]))
    result = plan(config, ["rejection_rate<=0.2"], max_hosts=64)
    row = result.plan.iloc[0]
    assert row["hosts_needed"] == 1 and row["reason"] == ""
    assert row["rejection_rate"] == pytest.approx(LARGE / (SMALL + LARGE))


def test_an_slo_not_met_for_want_of_hosts_says_so_without_a_bound(tmp_path):
    """Only small requests, all at once: 4 per host; 'rejection_rate<=0' needs 5 hosts for
    20, so a max of 2 is too few, and the reason says that, not a bound."""
    raw = trace_config(tmp_path, ["vm"])
    trace = tmp_path / "w.csv"
    trace.write_text("id,submit_s,duration_s,cpu_cores,memory_gib\n"
                     + "\n".join(f"{k},0,100,1,1" for k in range(SMALL)) + "\n")
    result = plan(validate(raw), ["rejection_rate<=0"], max_hosts=2)
    row = result.plan.iloc[0]
    assert row["unplaceable_share"] == 0 and row["reason"] == "not met with up to 2 hosts"
    assert sorted(result.evaluations["hosts"]) == [1, 2]


def test_cli_plan_notes_why_no_host_count_serves(tmp_path):
    import tomli_w

    config = tmp_path / "c.toml"
    config.write_bytes(tomli_w.dumps(trace_config(tmp_path, ["vm"])).encode())
    result = CliRunner().invoke(app, ["plan", str(config), "--slo", "rejection_rate<=0.05"])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and notes[0].startswith("note: vm: 13.0% of requests fit no host of this size"), notes
    assert notes[0].endswith("rejection_rate<=0.05 cannot be met by adding hosts")
    assert "> 1024" not in result.stdout and "none" in result.stdout


def test_a_recommender_is_searched_to_the_end_and_its_bound_named_at_that_count(tmp_path):
    """A recommender books from what ran, which more hosts change: the share that fits
    nowhere at 1 host bounds 1 host only, so the search goes on (1, 2, 4) and the reason
    gives the share at the most hosts tried."""
    raw = trace_config(tmp_path, ["container"])
    raw["platform"]["container"]["admission"] = "recommender"
    result = plan(validate(raw), ["rejection_rate<=0.05"], max_hosts=4)
    row = result.plan.iloc[0]
    floor = LARGE / (SMALL + LARGE)
    assert pd.isna(row["hosts_needed"]) and sorted(result.evaluations["hosts"]) == [1, 2, 4]
    assert f"rejection_rate >= {floor:.4g} at 4 hosts, the most tried" in row["reason"]


def test_with_replications_the_floor_note_is_one_replications_share_and_bound():
    """host64g's synthetic workload draws some requests no host holds, a different share
    per seed: over 3 replications the note gives the worst one's seed, its share of
    requests that fit no host and its rejection rate, all three of one run (it gave the
    mean share beside one seed's rate, naming no seed)."""
    from pathlib import Path

    import simdc
    from simdc.config import load_config
    from simdc.planning import floor_reasons, parse_slo, unservable

    config = load_config(Path(__file__).parents[1] / "configs" / "host64g.toml",
                         overrides={"simulation.duration_s": 21600, "simulation.platforms": ["vm"]})
    lost = [unservable(simdc.simulate(config, seed=config.simulation.seed + r).instances) for r in range(3)]
    worst = max(range(3), key=lambda r: lost[r][1])
    (line,) = floor_reasons([parse_slo("rejection_rate<=0.01")], lost, config)
    assert line.startswith(f"in replication {worst + 1} of 3 (seed {config.simulation.seed + worst}), "
                           f"{lost[worst][0]:.1%} of requests fit no host")
    assert f"rejection_rate >= {lost[worst][1]:.4g} at any host count" in line


def test_the_floor_note_names_every_host_shape_of_a_mixed_fleet():
    """One host of 32 cores / 64 GiB and two of 8 cores / 256 GiB: a request of 16 cores,
    128 GiB fits neither shape, and 'largest host 8 cores, 252 GiB' read as if no host
    had more than 8 cores (a re-check trial). The note names both shapes, as the run's
    warning does (experiment.fleet_shapes)."""
    from simdc.config import validate
    from simdc.planning import floor_reasons, parse_slo

    config = validate({"simulation": {"duration_s": 600.0, "platforms": ["vm"]},
                       "cluster": {"hosts": [{"count": 1, "cpu_cores": 32, "memory_gib": 64, "reserved_memory_gib": 2},
                                             {"count": 2, "cpu_cores": 8, "memory_gib": 256,
                                              "reserved_memory_gib": 4}]},
                       "workload": {"synthetic": {"arrival_rate_per_s": 0.01}}})
    (line,) = floor_reasons([parse_slo("rejection_rate<=0.01")], [(0.25, 0.25)], config)
    assert line.startswith("25.0% of requests fit no host of this size even empty (hosts of 2 shapes, a request "
                           "fitting one of them: 8 cores, 252 GiB; 32 cores, 62 GiB allocatable), "), line
