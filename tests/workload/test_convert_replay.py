"""A trace converted to simdc's format replays exactly as the trace itself: every
per-instance column a reader gives (the ``censored`` flag among them) survives the
conversion, so the per-instance outcomes of both runs are equal."""

from __future__ import annotations

import pandas as pd
import pytest

import simdc
from simdc.config import validate
from simdc.workload.readers import SIZES, ReaderOptions, Selection, read_trace, write_trace
from tests.workload.traces import sample

# (format, trace files, simulation duration_s, sample, written as): every reader that can
# flag a lifetime censored, on a genuine sample, the run long enough to pass the data's
# end; Parquet and CSV each twice
READERS = [
    ("azure", ["azure_v2_2019/vmtable_subset_20vms_longest.csv", "azure_v2_2019/vm_cpu_readings_20vms.csv.gz"],
     2_592_000, None, ".parquet"),
    ("google", ["google_2011"], 5400, 0.002, ".csv"),
    ("bitbrains", ["bitbrains_rnd/2013-7"], 3_000_000, None, ".csv"),
    ("alibaba2017", ["alibaba_v2017"], 90_000, 0.001, ".parquet"),
    ("google2019", ["google2019_instance_events_ep1dsid/instance-sample.csv"], 700_000, None, ".csv"),
]
OPTIONS = {"google": {"reference_cpu_cores": 32, "reference_memory_gib": 64}}


def _outcomes(workload: dict, duration_s: float) -> pd.DataFrame:
    results = simdc.simulate(validate({
        "simulation": {"duration_s": duration_s, "seed": 1, "platforms": ["vm", "container"],
                       "sample_every_s": duration_s / 4},
        "cluster": {"hosts": [{"count": 8, "cpu_cores": 32, "memory_gib": 64}]},
        "placement": {"when_full": "queue"},
        "workload": workload,
    }))
    table = results.instances.drop(columns=[c for c in ("source",) if c in results.instances])
    table = table.assign(id=table["id"].astype(str))
    return table.sort_values(["platform", "id"]).reset_index(drop=True)


@pytest.mark.parametrize("fmt, files, duration_s, fraction, suffix", READERS, ids=[r[0] for r in READERS])
def test_converted_trace_replays_as_the_trace(tmp_path, fmt, files, duration_s, fraction, suffix):
    paths = [str(sample(f)) for f in files]
    options = OPTIONS.get(fmt, {})
    selection = {"sample": fraction} if fraction else {}
    data = read_trace(paths, fmt, ReaderOptions(**options), Selection(None, fraction, None, 1))
    if "censored" in data.instances:
        assert data.instances["censored"].any() or fmt != "azure"  # the 20 longest Azure VMs run to the end
    written, usage = write_trace(data, tmp_path / f"t{suffix}")
    direct = {"trace": paths[0], "format": fmt, **options, **selection}
    if len(paths) > 1:
        direct["usage"] = paths[1]
    # simdc's format holds needs unless told (convert's note says so)
    converted = {"trace": str(written), "format": "simdc", "sizes": SIZES[fmt],
                 **({"usage": str(usage)} if usage else {})}
    assert _outcomes(direct, duration_s).equals(_outcomes(converted, duration_s))


def test_a_v2_trace_converted_with_the_default_seed_replays_as_a_run_with_the_default_seed(tmp_path):
    """Azure V2 sizes are drawn within their buckets from the seed: `trace convert`'s
    default --seed is simulation.seed's, so a config that sets no seed replays the
    converted file exactly as the trace's own files; its note names the seed."""
    import inspect

    from typer.testing import CliRunner

    from simdc.cli import app, trace_convert
    from simdc.config import SimulationSpec

    assert inspect.signature(trace_convert).parameters["seed"].default == SimulationSpec.model_fields["seed"].default
    files = [str(sample(f)) for f in ("azure_v2_2019/vmtable_subset_20vms_longest.csv",
                                      "azure_v2_2019/vm_cpu_readings_20vms.csv.gz")]
    out = tmp_path / "az.parquet"
    result = CliRunner().invoke(app, ["trace", "convert", *files, "--to", str(out)])
    assert result.exit_code == 0, result.output
    assert "simulation.seed = 0" in result.output

    def outcomes(workload: dict, seed: dict) -> pd.DataFrame:
        results = simdc.simulate(validate({
            "simulation": {"duration_s": 2_592_000, "platforms": ["vm", "container"], "sample_every_s": 648_000,
                           **seed},
            "cluster": {"hosts": [{"count": 1, "cpu_cores": 32, "memory_gib": 64}]},
            "placement": {"when_full": "queue"}, "workload": workload}))
        return results.instances.assign(id=results.instances["id"].astype(str)).sort_values(
            ["platform", "id"]).reset_index(drop=True).drop(columns=["source"], errors="ignore")

    converted = {"trace": str(out), "format": "simdc", "sizes": "vm", "usage": str(tmp_path / "az.usage.parquet")}
    direct = {"trace": files[0], "usage": files[1], "format": "azure"}
    assert outcomes(converted, {}).equals(outcomes(direct, {}))
    assert not outcomes(converted, {}).equals(outcomes(direct, {"seed": 1}))  # the seed decides the sizes


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_usage_file_beside_a_converted_trace_is_named_when_it_is_not_replayed(tmp_path, suffix):
    """A converted trace with usage series is two files; a config naming only the first
    ran each instance at its mean usage without a word. The run now says which file it
    leaves out, and says nothing once workload.usage names it (or when there is none)."""
    from simdc.workload import load_workload
    from simdc.model.workload import WorkloadSpec

    data = read_trace([str(sample("azure_v2_2019/vmtable_subset_20vms_longest.csv")),
                       str(sample("azure_v2_2019/vm_cpu_readings_20vms.csv.gz"))], "azure")
    written, usage = write_trace(data, tmp_path / f"t{suffix}")
    assert usage is not None and usage.is_file()

    def notes(**keys) -> list[str]:
        spec = WorkloadSpec(trace=written, format="simdc", **keys)
        return [n for n in load_workload(spec, 2_592_000, 1).notes if "lies beside the trace" in n]

    said = notes()
    assert len(said) == 1 and said[0].startswith(f"{usage} lies beside the trace")
    assert notes(usage=usage) == []
    usage.unlink()
    assert notes() == []


GOOGLE2019_USAGE = "google2019_borg_joined_slice/slice.csv"  # with instance_usage windows
# (format, trace files, sample): readers whose samples are finer than a step or carry
# windows of their own length (Google's task_usage, OpenDC's 30-s fragments)
RESTEPPED = [("google2019", [GOOGLE2019_USAGE], None), ("opendc", ["opendc/v5/surf_week"], 0.05),
             ("azure", ["azure_v2_2019/vmtable_subset_20vms_longest.csv", "azure_v2_2019/vm_cpu_readings_20vms.csv.gz"],
              None)]


@pytest.mark.parametrize("fmt, files, fraction", RESTEPPED, ids=[r[0] for r in RESTEPPED])
@pytest.mark.parametrize("step", [30.0, 600.0, 450.0])
def test_a_converted_trace_replayed_at_another_step_plays_as_the_trace_at_that_step(tmp_path, fmt, files, fraction,
                                                                                    step):
    """``trace convert`` at its default step (300 s) and a replay at another step: every
    instance's usage at every step is what the trace's own files give at that step (the
    rule applied once to the samples, CPU weighted by their windows). The old convert wrote
    series already on 300-s steps, which a replay at 600 s stepped again (Google's: a
    task's 600-s value the mean of two 300-s means, not of its windows weighted by length)."""
    from simdc.model.workload import WorkloadSpec
    from simdc.workload import load_workload
    from simdc.workload.inspect import convert_trace

    paths = [str(sample(f)) for f in files]
    options = OPTIONS.get(fmt, {})
    _, written, usage = convert_trace(paths, tmp_path / "t.parquet", fmt, ReaderOptions(**options),
                                      Selection(None, fraction, None, 1))
    direct = WorkloadSpec(trace=paths[0], usage=paths[1] if len(paths) > 1 else None, format=fmt,
                          usage_step_s=step, sample=fraction, **options)
    converted = WorkloadSpec(trace=str(written), usage=str(usage), format="simdc", usage_step_s=step,
                             sizes=SIZES[fmt])
    a, b = load_workload(direct, 1e7, 1).usage, load_workload(converted, 1e7, 1).usage
    assert a.ptr.tolist() == b.ptr.tolist()
    assert a.cpu == pytest.approx(b.cpu, rel=1e-12, abs=1e-15) and a.mem == pytest.approx(b.mem, rel=1e-12, abs=1e-15)
