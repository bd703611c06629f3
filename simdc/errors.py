"""Errors that carry a message for people.

Anything a user can get wrong (a config key, a trace row, a missing file) raises a
:class:`SimdcError` whose ``problems`` are complete, one-line sentences naming the
file, line or key. The CLI prints them and exits with code 2; nothing else is shown.
"""

from __future__ import annotations


class SimdcError(Exception):
    """A problem with the user's input, described in one line per problem."""

    def __init__(self, problems: str | list[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class ConfigError(SimdcError):
    """The configuration (file or overrides) is invalid."""


class InputError(SimdcError):
    """A workload or results file is missing or malformed."""
