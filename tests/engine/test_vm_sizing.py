"""VM sizing as clouds do it (issue #17): a need gets the smallest catalogue size that
holds it plus the guest OS; a VM trace keeps its sizes; the summary shows what the
rounding costs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tomli_w
from hypothesis import given, settings, strategies as st
from typer.testing import CliRunner

import simdc
from simdc.cli import app
from simdc.config import validate
from simdc.engine.rules import resolve_sizing, vm_sizes
from simdc.model.platform import VmPlatform, VmSize
from tests.test_cli import assert_user_error
from tests.workload.traces import raw_rows, sample

GUEST_MIB = 235.0  # VmPlatform.guest_os_mib's default (NSDI 2020 raw data)
VMM_MIB = 131.0  # VmPlatform.overhead_mib's default

# --- the choice: smallest holding size -------------------------------------------------

SIZE = st.tuples(st.integers(1, 64).map(float) | st.sampled_from([0.25, 0.5, 1.5]),
                 st.sampled_from([0.5, 1, 2, 3.5, 4, 7, 8, 14, 16, 32, 56, 64, 128]).map(float))
NEED = st.tuples(st.floats(0.01, 80, allow_nan=False), st.floats(0.01, 150, allow_nan=False))


def platform_of(sizes, guest_mib: float) -> VmPlatform:
    return VmPlatform(sizing="catalogue", guest_os_mib=guest_mib,
                      catalogue=[VmSize(name=f"s{k}", vcpus=c, memory_gib=m) for k, (c, m) in enumerate(sizes)])


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(SIZE, min_size=1, max_size=12), needs=st.lists(NEED, min_size=1, max_size=30),
       guest_mib=st.sampled_from([0.0, 157.0, 235.0]), order=st.randoms(use_true_random=False))
def test_the_chosen_size_is_the_smallest_that_holds_the_need_and_the_guest(sizes, needs, guest_mib, order):
    """For every need: the size holds vCPUs >= need and memory >= need + guest OS; no
    other holding size is smaller or equal in both vCPUs and memory (strictly smaller in
    one); a need no size holds keeps itself (plus the guest) and is marked custom; and
    shuffling the catalogue changes nothing."""
    cpu = np.array([c for c, _ in needs])
    mem = np.array([m for _, m in needs])
    guest = guest_mib / 1024
    vcpus, memory, custom = vm_sizes(platform_of(sizes, guest_mib), cpu, mem)
    for i in range(len(needs)):
        holding = [(c, m) for c, m in sizes if c >= cpu[i] and m >= mem[i] + guest]
        if not holding:
            assert custom[i] and vcpus[i] == cpu[i] and memory[i] == pytest.approx(mem[i] + guest)
            continue
        assert not custom[i]
        assert (vcpus[i], memory[i]) in holding
        assert not any(c <= vcpus[i] and m <= memory[i] and (c, m) != (vcpus[i], memory[i]) for c, m in holding)
    shuffled = list(sizes)
    order.shuffle(shuffled)
    again = vm_sizes(platform_of(shuffled, guest_mib), cpu, mem)
    np.testing.assert_array_equal(again[0], vcpus)
    np.testing.assert_array_equal(again[1], memory)


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(SIZE, min_size=1, max_size=12), need=NEED, rows=st.integers(1, 40),
       guest_mib=st.sampled_from([0.0, 235.0]))
def test_a_workload_of_one_need_gets_for_every_row_what_that_need_gets(sizes, need, rows, guest_mib):
    """Rows that all ask the same (a loss study's equal VMs, fitted once) get, each, the
    smallest holding size by brute force over the catalogue (or the need plus the guest,
    custom), and exactly the arrays the same rows get in a workload of two needs."""
    platform = platform_of(sizes, guest_mib)
    cpu, mem = np.full(rows, need[0]), np.full(rows, need[1])
    got = vm_sizes(platform, cpu, mem)
    mixed = vm_sizes(platform, np.append(cpu, need[0] + 1), np.append(mem, need[1] + 1))
    for one, two in zip(got, mixed):
        assert one.dtype == two.dtype
        np.testing.assert_array_equal(one, two[:rows])
    holding = [(c, m) for c, m in sizes if c >= need[0] and m >= need[1] + guest_mib / 1024]
    want = min(holding) if holding else (need[0], need[1] + guest_mib / 1024)
    assert (got[0] == want[0]).all() and np.allclose(got[1], want[1], rtol=1e-12) and (got[2] == (not holding)).all()


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(SIZE, min_size=1, max_size=8), needs=st.lists(NEED, min_size=1, max_size=30),
       guest_mib=st.sampled_from([0.0, 235.0]))
def test_the_custom_size_warning_counts_the_needs_no_size_holds(sizes, needs, guest_mib):
    """The manifest's warning counts, by brute force over the catalogue, the needs that
    no size holds (vCPUs >= need, memory >= need + guest OS); none, no warning. (It
    first asks whether a size holds the largest need in both, which would hold all.)"""
    from types import SimpleNamespace

    from simdc.experiment import sizing_warnings

    guest = guest_mib / 1024
    slack = 1e-9  # a need equal to a size up to rounding is held (rules._TOLERANCE)
    unheld = sum(not any(c >= cpu - slack and m >= mem + guest - slack for c, m in sizes) for cpu, mem in needs)
    config = SimpleNamespace(simulation=SimpleNamespace(platforms=("vm",)),
                             platform={"vm": platform_of(sizes, guest_mib)})
    workload = SimpleNamespace(sizes="need", instances=pd.DataFrame(needs, columns=["cpu_cores", "memory_gib"]))
    lines = sizing_warnings(config, workload)
    assert lines == ([] if unheld == 0 else [lines[0]])
    assert not lines or lines[0].startswith(f"vm: {unheld:,} of {len(needs):,} needs fit no size")


def test_the_default_catalogue_gives_small_needs_small_sizes():
    """The Azure 2017 mix (1 × 0.75, 1 × 1.75, 2 × 3.5, 4 × 7, 8 × 14, 8 × 56) gets the Av2
    sizes a user would pick: 1 × 2, 1 × 2, 2 × 4, 4 × 8, 8 × 16 and 8 × 64 (Av2 size
    table), not the smallest Dv5's 8 GiB."""
    platform = VmPlatform(sizing="catalogue")
    vcpus, memory, custom = vm_sizes(platform, np.array([1, 1, 2, 4, 8, 8.0]),
                                     np.array([0.75, 1.75, 3.5, 7, 14, 56.0]))
    assert list(zip(vcpus, memory)) == [(1, 2), (1, 2), (2, 4), (4, 8), (8, 16), (8, 64)]
    assert not custom.any()


def test_auto_sizing_follows_what_the_workload_sizes_are():
    assert resolve_sizing(VmPlatform(), "need").sizing == "catalogue"
    assert resolve_sizing(VmPlatform(), "vm").sizing == "as_given"
    assert resolve_sizing(VmPlatform(sizing="as_given"), "need").sizing == "as_given"


# --- a VM trace keeps its sizes --------------------------------------------------------


def test_azure_vms_keep_their_sizes_and_book_size_plus_overhead():
    """The Azure 2017 sample's 10 VMs on a host that holds them all: each VM's size is the
    vmtable's cores and memory, the host's allocated memory integral is Σ stay × (size +
    131 MiB), computed from the raw rows, and nothing is rounded."""
    path = sample("azure_v1_2017/vmtable.csv.gz")
    rows = raw_rows(path)
    given = {row[0]: (float(row[9]), float(row[10])) for row in rows}
    horizon = 2_600_000.0
    results = simdc.simulate(validate({
        "simulation": {"duration_s": horizon, "platforms": ["vm"], "sample_every_s": 86400},
        "host": {"cpu_cores": 64, "memory_gib": 512, "reserved_memory_gib": 0},
        "workload": {"trace": str(path)},
    }))
    inst = results.instances.set_index("id")
    assert (inst["admit_s"].notna()).all()
    for vmid, (cores, memory) in given.items():
        assert inst.loc[vmid, "vm_vcpus"] == cores and inst.loc[vmid, "vm_memory_gib"] == memory
    stay = np.minimum(inst["end_s"].fillna(horizon), horizon) - inst["admit_s"]
    size = np.array([given[vmid][1] for vmid in inst.index])
    expected = (stay.to_numpy() * (size + VMM_MIB / 1024)).sum()
    assert results.hosts["mem_alloc_gib_s"].iloc[0] == pytest.approx(expected, rel=1e-9)
    row = results.summary.iloc[0]
    assert row["vm_cpu_over_need"] == 0 and row["vm_mem_over_need"] == 0


# --- the rounding's cost, by hand --------------------------------------------------------

TINY = [  # id, submit, duration, cores, GiB; the default catalogue's choice, by hand from its table
    ("a", 0.0, 100.0, 1.0, 1.75),  # 1.75 + 0.23 → Standard_A1_v2, 1 vCPU 2 GiB
    ("b", 10.0, 300.0, 0.5, 3.0),  # 3.23 GiB: no 1-vCPU size holds it → Standard_A2_v2, 2 vCPUs 4 GiB
    ("c", 20.0, 200.0, 3.0, 10.0),  # 4 vCPUs, 10.23 GiB: A4_v2's 8 GiB is short → Standard_D4_v5, 4 vCPUs 16 GiB
]
TINY_SIZES = {"a": (1, 2), "b": (2, 4), "c": (4, 16)}


def tiny_config(tmp_path, **workload):
    trace = tmp_path / "tiny.csv"
    pd.DataFrame([{"id": i, "submit_s": s, "duration_s": d, "cpu_cores": c, "memory_gib": m}
                  for i, s, d, c, m in TINY]).to_csv(trace, index=False)
    return {
        "simulation": {"duration_s": 1000.0, "platforms": ["vm", "container"], "sample_every_s": 100},
        "host": {"cpu_cores": 16, "memory_gib": 64, "reserved_memory_gib": 0},
        "platform": {"vm": {"boot_s": 5}, "container": {"start_s": 1}},
        "workload": {"trace": str(trace), **workload},
    }


def test_rounding_cost_equals_a_hand_computation(tmp_path):
    """Every VM stays its whole lifetime plus its 5 s boot, so the over-need shares are
    Σ stay × (size − need) / Σ stay × need with the sizes read off the catalogue by hand;
    the host books size + VMM overhead; containers have no VM size."""
    results = simdc.simulate(validate(tiny_config(tmp_path)))
    summary = results.summary.set_index("platform")
    stay = {i: d + 5 for i, _, d, _, _ in TINY}
    cpu_extra = sum(stay[i] * (TINY_SIZES[i][0] - c) for i, _, _, c, _ in TINY)
    cpu_need = sum(stay[i] * c for i, _, _, c, _ in TINY)
    mem_extra = sum(stay[i] * (TINY_SIZES[i][1] - m) for i, _, _, _, m in TINY)
    mem_need = sum(stay[i] * m for i, _, _, _, m in TINY)
    # (105·0 + 305·1.5 + 205·1) / (105·1 + 305·0.5 + 205·3) = 662.5 / 872.5
    assert summary.loc["vm", "vm_cpu_over_need"] == pytest.approx(cpu_extra / cpu_need, rel=1e-12)
    assert summary.loc["vm", "vm_cpu_over_need"] == pytest.approx(662.5 / 872.5, rel=1e-12)
    assert summary.loc["vm", "vm_mem_over_need"] == pytest.approx(mem_extra / mem_need, rel=1e-12)
    assert np.isnan(summary.loc["container", "vm_cpu_over_need"])
    assert results.manifest["vm_sizing"] == {"vm": "catalogue"} and results.manifest["workload_sizes"] == "need"
    vm = results.hosts.set_index("platform").loc["vm"]
    booked = sum(stay[i] * (TINY_SIZES[i][1] + VMM_MIB / 1024) for i in stay)
    assert vm["mem_alloc_gib_s"] == pytest.approx(booked, rel=1e-9)


def test_a_vm_waiting_to_be_placed_again_weighs_nothing_in_the_rounding_cost(tmp_path):
    """The over-need shares are time-weighted over the VMs' time on a host (metrics
    docstring): a failure's victim waiting for a host books nothing. The one host fails
    at 150 s and is repaired at 250 s; b and c are resubmitted and wait. b is placed
    again at 250 and lives to its planned end, 15 + 300 = 315 s: on a host 140 + 65 =
    205 s; c's planned end, 25 + 200 = 225 s, comes while it waits (lost): 130 s; a ends
    at 105 s, before the failure. By hand, CPU: (205·1.5 + 130·1) / (105·1 + 205·0.5 +
    130·3) = 437.5 / 597.5; memory: (105·0.25 + 205·1 + 130·6) / (105·1.75 + 205·3 +
    130·10) = 1011.25 / 2098.75. (From first admission to end, the waits counted: 662.5 /
    872.5 for CPU.)"""
    raw = tiny_config(tmp_path)
    raw.update(placement={"when_full": "queue"},
               faults={"host_failures": [[0, 150.0]], "host_repair_s": 100, "on_failure": "resubmit"})
    results = simdc.simulate(validate(raw))
    vm = results.instances[results.instances["platform"] == "vm"].set_index("id")
    assert vm["outcome"].astype(str).to_dict() == {"a": "completed", "b": "completed", "c": "failed"}
    summary = results.summary.set_index("platform")
    assert summary.loc["vm", "vm_cpu_over_need"] == pytest.approx(437.5 / 597.5, rel=1e-12)
    assert summary.loc["vm", "vm_mem_over_need"] == pytest.approx(1011.25 / 2098.75, rel=1e-12)


def test_the_comparison_table_shows_the_rounding_cost(tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(tomli_w.dumps(tiny_config(tmp_path)))
    result = CliRunner().invoke(app, ["run", str(config), "--no-write"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if "VM memory over need" in line)
    mem_extra = sum((d + 5) * (TINY_SIZES[i][1] - m) for i, _, d, _, m in TINY)
    mem_need = sum((d + 5) * m for i, _, d, _, m in TINY)
    assert f"+{mem_extra / mem_need:.1%}" in line


def test_a_workload_of_vm_sizes_keeps_them(tmp_path):
    """workload.sizes = "vm" says the trace holds VM sizes: no rounding, no guest OS added."""
    results = simdc.simulate(validate(tiny_config(tmp_path, sizes="vm")))
    vm = results.instances[results.instances["platform"] == "vm"].set_index("id")
    for i, _, _, c, m in TINY:
        assert (vm.loc[i, "vm_vcpus"], vm.loc[i, "vm_memory_gib"]) == (c, m)
    assert results.summary.set_index("platform").loc["vm", "vm_mem_over_need"] == 0
    assert results.manifest["vm_sizing"] == {"vm": "as_given"}


def test_a_need_beyond_the_catalogue_keeps_itself_and_is_warned_about(tmp_path):
    data = tiny_config(tmp_path)
    data["platform"]["vm"]["catalogue"] = [{"name": "small", "vcpus": 2, "memory_gib": 4}]
    results = simdc.simulate(validate(data))
    vm = results.instances[results.instances["platform"] == "vm"].set_index("id")
    assert (vm.loc["c", "vm_vcpus"], vm.loc["c", "vm_memory_gib"]) == (3.0, pytest.approx(10 + GUEST_MIB / 1024))
    warnings = [w for w in results.manifest["warnings"] if "catalogue" in w]
    assert len(warnings) == 1 and warnings[0].startswith("vm: 1 of 3 needs")


# --- config errors -----------------------------------------------------------------------


@pytest.mark.parametrize("catalogue, fragments", [
    ([], ["platform.vm.catalogue", "at least 1"]),
    ([{"name": "x", "vcpus": -2, "memory_gib": 4}], ["platform.vm.catalogue[0].vcpus", "> 0", "-2"]),
    ([{"name": "x", "vcpus": 2, "memory_gib": 0}], ["platform.vm.catalogue[0].memory_gib", "> 0"]),
    ([{"name": "x", "vcpus": 2, "memory_gib": 4}, {"name": "x", "vcpus": 4, "memory_gib": 8}],
     ["platform.vm.catalogue", "'x'", "repeat"]),
])
def test_a_bad_catalogue_is_one_clear_error_with_exit_code_2(tmp_path, catalogue, fragments):
    data = tiny_config(tmp_path)
    data["platform"]["vm"]["catalogue"] = catalogue
    config = tmp_path / "bad.toml"
    config.write_text(tomli_w.dumps(data))
    result = CliRunner().invoke(app, ["run", str(config), "--no-write"])
    lines = assert_user_error(result, *fragments)
    assert len(lines) == 1, lines


def test_an_unknown_sizing_is_reported_with_the_choices(tmp_path):
    data = tiny_config(tmp_path)
    data["platform"]["vm"]["sizing"] = "smallest"
    config = tmp_path / "bad.toml"
    config.write_text(tomli_w.dumps(data))
    result = CliRunner().invoke(app, ["run", str(config), "--no-write"])
    lines = assert_user_error(result, "platform.vm.sizing", "catalogue")
    assert len(lines) == 1, lines


# --- which workloads state needs ---------------------------------------------------------


def test_every_trace_format_says_what_its_sizes_are():
    from simdc.model.workload import TRACE_FORMATS
    from simdc.workload.readers import SIZES

    assert set(SIZES) == set(TRACE_FORMATS) - {"auto"}
    assert set(SIZES.values()) == {"vm", "need"}


@pytest.mark.parametrize("relative, sizes", [
    ("azure_v1_2017/vmtable.csv.gz", "vm"),
    ("bitbrains_rnd", "vm"),
    ("google_2011", "need"),
])
def test_vm_traces_give_vm_sizes_and_container_traces_needs(relative, sizes):
    from simdc.model.workload import WorkloadSpec
    from simdc.workload import load_workload

    workload = load_workload(WorkloadSpec(trace=sample(relative)), 30 * 86400.0, 0)
    assert workload.sizes == sizes
    override = "need" if sizes == "vm" else "vm"
    assert load_workload(WorkloadSpec(trace=sample(relative), sizes=override), 30 * 86400.0, 0).sizes == override


def test_converting_a_vm_trace_says_how_to_keep_its_sizes(tmp_path):
    """simdc's format is read as needs: converting Azure's vmtable notes workload.sizes =
    "vm", and the converted file replayed with it keeps every VM's size."""
    from simdc.workload.inspect import convert_trace

    data, written, _ = convert_trace([sample("azure_v1_2017/vmtable.csv.gz")], tmp_path / "azure.csv")
    assert any('workload.sizes = "vm"' in note for note in data.notes)
    results = simdc.simulate(validate({
        "simulation": {"duration_s": 2_600_000.0, "platforms": ["vm"], "sample_every_s": 86400},
        "host": {"cpu_cores": 64, "memory_gib": 512},
        "workload": {"trace": str(written), "sizes": "vm"},
    }))
    vm = results.instances.set_index("id")
    given = data.instances.set_index("id")
    assert (vm["vm_vcpus"] == given.loc[vm.index, "cpu_cores"]).all()
    assert (vm["vm_memory_gib"] == given.loc[vm.index, "memory_gib"]).all()
