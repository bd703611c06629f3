"""Errors that carry a message for people.

Anything a user can get wrong (a config key, a trace row, a missing file) raises a
:class:`SimdcError` whose ``problems`` are complete, one-line sentences naming the
file, line or key. The CLI prints them and exits with code 2; nothing else is shown.

The Python API and the CLI name the same choice differently (``overwrite=True`` and
``--overwrite``): ``problems`` speak the API's language, and an error that names such a
choice also carries the CLI's wording in ``cli_problems``.
"""

from __future__ import annotations


MAX_LINE = 1000  # characters of one problem line
# The closing line of a bad-rows error: advice, not a problem (the CLI prints it as "hint:").
SKIP_HINT = ('to skip bad rows and count them by reason instead, set workload.on_bad_rows = "skip" '
             "(simdc run: --set workload.on_bad_rows=skip; simdc trace: --on-bad-rows skip)")


class Terminated(KeyboardInterrupt):
    """SIGTERM, what ``timeout``, systemd, Kubernetes and CI's cancelling send: raised by the
    ``simdc`` command's handler (:mod:`simdc.__main__`) where Ctrl-C raises
    KeyboardInterrupt, and so met by the same clean-up (``except KeyboardInterrupt``);
    said "terminated" for "interrupted", with exit code 143 (128 + SIGTERM's 15, as the
    shell reports a process SIGTERM killed)."""


def stop_word(err: BaseException) -> str:
    """How an interrupt ``err`` is said: "terminated" (SIGTERM) or "interrupted" (Ctrl-C)."""
    return "terminated" if isinstance(err, Terminated) else "interrupted"


class SimdcError(Exception):
    """A problem with the user's input, described in one line per problem.

    Parameters
    ----------
    problems
        One sentence per problem, in the Python API's terms.
    cli
        The same sentences in the CLI's terms (flags rather than keyword arguments);
        default: ``problems``.
    """

    def __init__(self, problems: str | list[str], cli: str | list[str] | None = None):
        self.problems = _bounded([problems] if isinstance(problems, str) else list(problems))
        self.cli_problems = self.problems if cli is None else _bounded([cli] if isinstance(cli, str) else list(cli))
        super().__init__("\n".join(self.problems))


class ConfigError(SimdcError):
    """The configuration (file or overrides) is invalid."""


class InputError(SimdcError):
    """A workload or results file is missing or malformed."""


class OutputError(InputError):
    """Results could not be written: the destination is taken, busy, read-only or full.

    Nothing half-written is left behind; ``path`` is the destination. (An
    :class:`InputError`, as a taken destination always was.)
    """

    def __init__(self, path, problems: str | list[str], cli: str | list[str] | None = None):
        self.path = path
        super().__init__(problems, cli)


class SweepError(SimdcError):
    """A sweep stopped (its Dask scheduler was lost or never answered, or its directory
    became unwritable); the runs already finished are kept in its directory for a rerun
    to resume."""


def reworded(err: SimdcError, flag: str, parameter: str) -> SimdcError:
    """``err`` (a :class:`ConfigError` or :class:`InputError`) for the Python API: a problem
    starting with the CLI's ``flag`` (``--set``) names the keyword argument ``parameter``
    (``overrides``) instead; the CLI's wording is kept in ``cli_problems``."""
    api = [f"{parameter}: {p[len(flag) + 1:]}" if p.startswith(flag + " ") else p for p in err.problems]
    return type(err)(api, cli=err.cli_problems)


def restated(err: SimdcError, problems: list[str], cli: list[str]) -> SimdcError:
    """``err`` (its class and attributes, e.g. an :class:`OutputError`'s ``path``) saying
    ``problems`` instead, and ``cli`` in the CLI's terms: the same error, told where it
    happened (a sweep's point)."""
    said = type(err).__new__(type(err))
    said.__dict__.update(err.__dict__)
    said.problems, said.cli_problems = _bounded(list(problems)), _bounded(list(cli))
    said.args = ("\n".join(said.problems),)
    return said


def clip(text: object, keep: int = 60) -> str:
    """``text`` as a string, cut to its first ``keep`` characters plus the length when
    longer: a message never repeats a million-character value in full."""
    text = str(text)
    if len(text) <= keep:
        return text
    return f"{text[:keep]}… ({len(text):,} characters)"


def _bounded(problems: list[str]) -> list[str]:
    """A last guard: a value repeated in full would make a line of any length."""
    return [p if len(p) <= MAX_LINE else f"{p[:MAX_LINE // 2]}… ({len(p):,} characters) …{p[-MAX_LINE // 4:]}"
            for p in problems]


def resolved(path):
    """``path.resolve()`` (a :class:`pathlib.Path`), but a loop of symbolic links on the
    way is an :class:`InputError` naming the path, not the ``RuntimeError("Symlink
    loop")`` Python 3.11 raises for it (3.13 gives the path back unresolved)."""
    try:
        return path.resolve()
    except RuntimeError:
        raise InputError(f"{path}: a loop of symbolic links (each link leads back to another); "
                         "give the file itself") from None


def special_file(path) -> str | None:
    """What ``path`` is when it exists but is neither a regular file nor a folder: "a FIFO
    (named pipe)", "a character device" (``/dev/null``, a terminal), "a socket", "a block
    device"; None otherwise (a file, a folder, or nothing there).

    simdc reads its configs and traces by name, some of them more than once (a trace's
    head to recognise its format, then its rows), and a pipe (``/dev/stdin``, a process
    substitution ``<(...)``, which is ``/dev/fd/N``) can be read only once; a device has
    no end or no content. Such a path is refused with this, not called "not found".
    """
    import os
    import stat

    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    for test, kind in ((stat.S_ISFIFO, "a FIFO or pipe"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return kind
    return None


# TOML's integers are signed 64-bit (toml.io, v1.0.0, "Integer"): a larger seed would be
# written into config.toml as a number no other TOML reader takes.
MAX_SEED = 2**63 - 1


def checked_int(value, name: str, minimum: int = 0, maximum: int | None = None, cli: str | None = None,
                why: str | None = None) -> int:
    """``value`` as an ``int`` when it is an integer (``int`` or a numpy integer, not a
    bool, nor a float such as ``1.0``) in ``[minimum, maximum]``; else a
    :class:`ConfigError` naming the keyword argument ``name`` (and the CLI's ``cli``),
    and beyond ``maximum`` the bound's reason ``why`` (:mod:`simdc.model.limits`)."""
    import numbers

    import numpy as np

    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        said = f"expected an integer, got {clip(repr(value))} ({type(value).__name__})"
        raise ConfigError(f"{name}: {said}", cli=None if cli is None else f"{cli}: {said}")
    value = int(value)
    said = (f"must be >= {minimum} (got {clip(value)})" if value < minimum else
            f"must be <= {maximum:,} (got {clip(f'{value:,}')}){f': {why}' if why else ''}"
            if maximum is not None and value > maximum else None)
    if said is not None:
        raise ConfigError(f"{name}: {said}", cli=None if cli is None else f"{cli}: {said}")
    return value


def moment(t_s: float) -> str:
    """A moment (seconds) for a message, to the millisecond, never in exponent form
    ("3,699.999", "1,234,567.5"; ``:g`` wrote 3699.999 as "3700" and 1234567.5 as
    "1.23457e+06")."""
    return f"{t_s:,.3f}".rstrip("0").rstrip(".")


def listed(indices) -> str:
    """Places in a config's list, for a message: "[1], [2]" (the first five, then "...")."""
    shown = [f"[{k}]" for k in list(indices)[:5]]
    return ", ".join(shown) + (", ..." if len(list(indices)) > 5 else "")


def checked_callback(value, name: str, signature: str):
    """``value`` when it is None or callable (a progress or echo callback); else a
    :class:`TypeError` naming the keyword argument ``name`` and the call expected
    (``signature``), before anything runs: ``progress=5`` ran until its first call, then
    stopped on "'int' object is not callable"."""
    if value is not None and not callable(value):
        raise TypeError(f"{name}: expected a function {signature} or None, got {type(value).__name__}")
    return value


def checked_bool(value, name: str, none: bool = False) -> bool | None:
    """``value`` when it is ``True`` or ``False`` (a numpy bool as well; ``None`` too when
    ``none``); else a :class:`ConfigError` naming the keyword argument ``name``: a string
    such as ``"no"`` is true to Python, and would quietly mean yes."""
    import numpy as np

    if value is None and none:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    allowed = "True, False or None" if none else "True or False"
    raise ConfigError(f"{name}: expected {allowed}, got {clip(repr(value))} ({type(value).__name__})")
