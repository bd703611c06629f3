"""The guard against a stale mypyc build (simdc/engine/compiled.py), on a package of its
own: a source with a "compiled build" beside it that is not a loadable extension at all,
so whichever of the two an import runs is plain to see."""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import sys
import warnings

import pytest

from simdc.engine.compiled import COMPILED, stale

SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]  # the one Python tries first


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package ``guarded`` whose ``__init__`` calls the guard, as simdc.engine's does,
    with a module ``mod`` (``WHERE = "source"``) and, beside it, a build of ``mod`` that
    is not an extension (importing it fails) and mypyc's shared library (no source)."""
    folder = tmp_path / "guarded"
    folder.mkdir()
    (folder / "__init__.py").write_text("from pathlib import Path\nfrom simdc.engine.compiled import use_sources\n"
                                        "use_sources(__name__, Path(__file__).parent)\n")
    (folder / "mod.py").write_text('WHERE = "source"\n')
    (folder / f"mod{SUFFIX}").write_bytes(b"not an extension module")
    (folder / f"mod__mypyc{SUFFIX}").write_bytes(b"not one either")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield folder
    for name in [m for m in sys.modules if m == "guarded" or m.startswith("guarded.")]:
        del sys.modules[name]


def _times(folder, source_s: float, build_s: float) -> None:
    os.utime(folder / "mod.py", (source_s, source_s))
    os.utime(folder / f"mod{SUFFIX}", (build_s, build_s))


def test_a_build_newer_than_its_source_is_what_python_imports(package):
    """The premise: Python prefers the extension to the .py beside it (the import fails
    here because this 'build' is not one); the guard leaves a fresh build alone."""
    _times(package, 1_000_000.0, 2_000_000.0)
    assert stale(package) == []
    with pytest.raises(ImportError):
        importlib.import_module("guarded.mod")


def test_a_build_older_than_its_source_is_not_run_and_says_so(package):
    """An edit after the build (the source newer): the source runs, with one warning
    naming the build and how to rebuild."""
    _times(package, 2_000_000.0, 1_000_000.0)
    assert [(name, build.name) for name, _, build in stale(package)] == [("mod", f"mod{SUFFIX}")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mod = importlib.import_module("guarded.mod")
    assert mod.WHERE == "source"
    assert importlib.import_module("guarded").mod is mod
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and f"mod{SUFFIX}" in messages[0] and "SIMDC_MYPYC=1" in messages[0]


def test_the_modules_setup_compiles_are_simdc_engine_modules():
    """setup.py compiles simdc/engine/NAME.py for each name here: each must exist."""
    folder = importlib.import_module("simdc.engine").__path__[0]
    assert COMPILED and all(os.path.isfile(os.path.join(folder, f"{name}.py")) for name in COMPILED)
