"""The notebooks in notebooks/ run top to bottom (nbclient, a real kernel) on small
settings (SIMDC_NOTEBOOK_FAST=1), are stored without outputs, and use only simdc's
public API."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import simdc

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NAMES = ["01_vm_vs_container.ipynb", "02_real_trace.ipynb", "03_what_if.ipynb"]
TRACES = Path(os.environ.get("SIMDC_TRACES", ROOT.parent / "shared" / "traces"))
# What a notebook may touch in simdc: the package's exports and the report's figures.
PUBLIC = set(simdc.__all__) | {"report", "__version__"}


def read(name: str):
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def test_the_three_notebooks_are_there():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_stored_without_outputs(name):
    """No outputs, no execution counts: diffs stay readable and nothing stale is shown."""
    for cell in read(name).cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_uses_only_the_public_api(name):
    """``import simdc`` and ``from simdc import report``; no simdc.<module> internals."""
    code = "\n".join(cell.source for cell in read(name).cells if cell.cell_type == "code")
    imports = re.findall(r"^[ \t]*(?:import|from)[ \t]+simdc\S*.*$", code, re.M)
    assert imports == ["import simdc", "from simdc import report"]
    used = set(re.findall(r"\bsimdc\.(\w+)", code))
    assert used <= PUBLIC, used - PUBLIC
    assert not re.search(r"\breport\._", code)


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_and_leaves_no_temporary_files(name, monkeypatch, tmp_path):
    """Execute every cell in a fresh kernel, from notebooks/, in fast mode. What the
    notebook writes to temporary folders (results, reports: megabytes) is gone at the end:
    the kernel's temporary folder (TMPDIR, checked by a last cell) is left empty."""
    if name == "02_real_trace.ipynb" and not (TRACES / "bitbrains_rnd" / "2013-7").is_dir():
        pytest.skip(f"no Bitbrains sample under {TRACES}: set SIMDC_TRACES")
    kernel_tmp = tmp_path / "kernel-tmp"
    kernel_tmp.mkdir()
    monkeypatch.setenv("SIMDC_NOTEBOOK_FAST", "1")
    monkeypatch.setenv("SIMDC_TRACES", str(TRACES))
    monkeypatch.setenv("TMPDIR", str(kernel_tmp))
    notebook = read(name)
    notebook.cells.append(nbformat.v4.new_code_cell("import tempfile\nprint(tempfile.gettempdir())"))
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    errors = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
              if output.output_type == "error"]
    assert errors == []
    assert notebook.cells[-1].outputs[0]["text"].strip() == str(kernel_tmp)
    assert sorted(p.name for p in kernel_tmp.iterdir()) == []
