"""Errors that carry a message for people.

Anything a user can get wrong (a config key, a trace row, a missing file) raises a
:class:`SimdcError` whose ``problems`` are complete, one-line sentences naming the
file, line or key. The CLI prints them and exits with code 2; nothing else is shown.
"""

from __future__ import annotations


MAX_LINE = 1000  # characters of one problem line


class SimdcError(Exception):
    """A problem with the user's input, described in one line per problem."""

    def __init__(self, problems: str | list[str]):
        problems = [problems] if isinstance(problems, str) else list(problems)
        # A last guard: a value repeated in full would make a line of any length.
        self.problems = [p if len(p) <= MAX_LINE else f"{p[:MAX_LINE // 2]}… ({len(p):,} characters) …"
                         f"{p[-MAX_LINE // 4:]}" for p in problems]
        super().__init__("\n".join(self.problems))


class ConfigError(SimdcError):
    """The configuration (file or overrides) is invalid."""


class InputError(SimdcError):
    """A workload or results file is missing or malformed."""


def clip(text: object, keep: int = 60) -> str:
    """``text`` as a string, cut to its first ``keep`` characters plus the length when
    longer: a message never repeats a million-character value in full."""
    text = str(text)
    if len(text) <= keep:
        return text
    return f"{text[:keep]}… ({len(text):,} characters)"
