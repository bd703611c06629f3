"""Opt-in build of the engine's hot modules with mypyc: ``SIMDC_MYPYC=1 pip install .``
(or ``-e .``) compiles those that simdc.engine.compiled.COMPILED names (a C compiler and
Python's headers needed; pip installs mypy into the build environment). Without it simdc
is pure Python, and setuptools builds it from pyproject.toml alone.
(benchmarks/README.md, "Compiling the engine with mypyc": what it buys and costs.)"""

import os
import runpy
import sys

from setuptools import setup

# the one list of them (stdlib only: read without importing simdc and its dependencies)
COMPILED = [f"simdc/engine/{name}.py" for name in runpy.run_path("simdc/engine/compiled.py")["COMPILED"]]
MYPY_ARGS = ["--follow-imports=silent", "--ignore-missing-imports"]  # check the compiled modules, not their imports

if os.environ.get("SIMDC_MYPYC", "0") not in ("", "0"):
    try:
        from mypyc.build import mypycify
    except ImportError:
        # pip first asks what the build needs (setuptools runs this file for "egg_info"),
        # then installs it and builds: mypy, which brings mypyc
        if "egg_info" not in sys.argv:
            sys.exit("error: SIMDC_MYPYC=1 compiles with mypyc: install mypy into the build environment first")
        setup(setup_requires=["mypy>=1.10"])
    else:
        setup(ext_modules=mypycify(MYPY_ARGS + COMPILED, opt_level="3"))
else:
    setup()
