"""Every ``--set`` example of the README applies to a config it names (or one that has
the tables it sets), with the ``--unset`` of the same command: the README's own ``--set
cells.1.share=0.5`` always failed ("shares must sum to 1 (got 1.2)")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simdc.config import load_config

ROOT = Path(__file__).resolve().parents[1]
# The config an example without one is meant for, by its first key part: one that has the
# list it indexes; every other example is tried on configs/host64g.toml.
CONFIG_FOR = {"services": "configs/autoscale.toml", "cells": "configs/cells.toml"}
PLACEHOLDER = re.compile(r"…|\.\.\.|^section\.key=")


def readme_overrides() -> list[tuple[str, str, tuple[str, ...]]]:
    """``(config, key=value, unset keys)`` for each ``--set`` in a code span of the README
    (with the span's ``--unset`` keys), and each span that is a bare ``a.b=value`` (the
    README's list of what --set indexes)."""
    found = []
    for span in re.findall(r"`([^`]*)`", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.S):
        named = re.search(r"configs/\w+\.toml", span)
        items = [m.group(1) for m in re.finditer(r"--set\s+'?([A-Za-z_][\w.]*=[^\s'`]*)", span)]
        unset = tuple(re.findall(r"--unset\s+([A-Za-z_][\w.]*)", span))
        if re.fullmatch(r"[a-z_]+(\.\w+)+=\S+", span):
            items.append(span)
        for item in items:
            if PLACEHOLDER.search(item):
                continue
            config = named.group() if named else CONFIG_FOR.get(item.split(".")[0], "configs/host64g.toml")
            found.append((config, item, unset))
    return found


def test_the_readme_has_set_examples_to_check():
    assert len(readme_overrides()) >= 8


@pytest.mark.parametrize("config, override, unset", readme_overrides())
def test_a_readme_set_example_applies(config, override, unset):
    load_config(ROOT / config, [override], unset=list(unset))
