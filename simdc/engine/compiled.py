"""The engine's modules that an opt-in build compiles with mypyc, and the guard that keeps
a stale compiled build from running in their place.

``SIMDC_MYPYC=1 pip install ...`` (setup.py) compiles the modules :data:`COMPILED` names
into extension modules beside their sources; without it nothing is compiled and simdc is
pure Python. Python imports an extension module in preference to the ``.py`` beside it
(``importlib.machinery.FileFinder`` tries ``EXTENSION_SUFFIXES`` first), so in an
editable install a source edited after the build would silently not run.
:func:`use_sources` runs, instead of any build older than its source, the source itself
(and says so once, as a warning); nothing else is compiled, so the rest of simdc never
depends on which of the two runs. The test is file times, as ``make`` does: a checkout or
an edit makes the source newer; a wheel keeps the times it was built with (the build
after its sources).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import warnings
from pathlib import Path

# simdc.engine's modules that setup.py compiles under SIMDC_MYPYC=1 (benchmarks/README.md,
# "Compiling the engine with mypyc": host.py alone paid; placer.py and placement.py did not).
COMPILED = ("host",)


def stale(folder: Path) -> list[tuple[str, Path, Path]]:
    """``(name, source, build)`` of each module in ``folder`` whose compiled build there
    (a file ending in one of ``importlib.machinery.EXTENSION_SUFFIXES``) is older than its
    ``.py``: whatever was compiled, not only :data:`COMPILED` (a build left from another
    choice of modules is guarded too). A build with no source beside it (mypyc's shared
    library, ``*__mypyc*``) is not a module of simdc's: not stale."""
    found = []
    for build in sorted(folder.iterdir()):
        name, dot, suffix = build.name.partition(".")
        if not dot or "." + suffix not in importlib.machinery.EXTENSION_SUFFIXES:
            continue
        source = folder / f"{name}.py"
        if source.is_file() and build.stat().st_mtime < source.stat().st_mtime:
            found.append((name, source, build))
    return found


def use_sources(package: str, folder: Path) -> list[str]:
    """Import from source each module of ``package`` (whose folder is ``folder``) whose
    compiled build is stale (:func:`stale`), with a warning naming the build and how to
    rebuild it, so that importing it later runs the source; returns the modules' full
    names. Call it before anything imports those modules."""
    loaded = []
    for name, source, build in stale(folder):
        full = f"{package}.{name}"
        if full in sys.modules:
            continue
        warnings.warn(f"{source} is newer than its compiled build {build.name}: running the source; "
                      f"rebuild with `SIMDC_MYPYC=1 pip install -e .`, or delete {build.name} and "
                      f"{name}__mypyc*.so to run pure Python", RuntimeWarning, stacklevel=2)
        spec = importlib.util.spec_from_file_location(full, source)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[full] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[full]
            raise
        setattr(sys.modules[package], name, module)
        loaded.append(full)
    return loaded
