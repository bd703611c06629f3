"""The ``simdc`` command's entry point (also ``python -m simdc``).

Deliberately tiny: it imports the CLI (typer and rich; each command imports pandas, the
engine and the rest when it runs) inside the ``try``, so a Ctrl-C at any moment ends with
one line and exit code 130, never an import traceback.

At exit, the objects alive then are frozen (:func:`gc.freeze`) before the interpreter
tears itself down: its finalisation runs full garbage collections over every object of
pandas, pyarrow and the rest while it clears the modules, which took 0.3-0.5 s of a
``simdc run`` on the 2-core machine (perf: ``gc_collect_main``), about as long as the
simulation of 50,000 instances. Frozen objects are still freed by reference counting;
only the cycles among them are left to the operating system, which reclaims the whole
process a moment later.

While the command's modules load, the collector is off, and once they have loaded
(:func:`loaded`, which the CLI's ``friendly`` wrapper calls before each command runs,
after importing the modules the command names) their objects are frozen and collection
resumes.
Imports create some 300,000 long-lived objects (typer, rich, pydantic, pandas, numpy,
pyarrow, simdc), and the collector walked them again and again as they came: 0.1-0.15 s
of CPU of a ``simdc run`` of CloudSimPy's workload on the 2-core machine (gc.callbacks:
~250 collections, two of them full, one inside the import of ``ssl`` under pyarrow's
filesystems), and a full collection during the run itself walked them once more. Frozen
objects are never walked; what the command creates afterwards is collected as usual.
Only this entry point does it: a program that calls the CLI otherwise (tests, typer's
``CliRunner``) keeps its collector as it is.
"""

import atexit  # builtin and loaded modules only up here: an interrupt while this module
import gc  # loads is outside main()'s handler (signal is imported where it is used)
import io
import os
import sys

INTERRUPTED_EXIT_CODE = 130  # 128 + SIGINT, the shell's convention
TERMINATED_EXIT_CODE = 143  # 128 + SIGTERM: what timeout, systemd, Kubernetes and CI send to stop a command


_loading = False  # main() turned the collector off while the command's modules load
_interrupt_said = False  # the command printed its own line for a Ctrl-C (said_interrupted)
_interrupted = False  # the command ends on an interrupt, reported: it exits 130 (_exit_interrupted)
_terminated = False  # the interrupt was SIGTERM (_terminate): said "terminated", exit code 143
# A Ctrl-C that Python swallowed: one raised inside a callback the interpreter calls from C
# (a weak reference's, as the import machinery's module locks use) is printed as
# "Exception ignored in ..." with its traceback and dropped, and the command ran on and
# wrote its results (CI met it once, the interrupt landing in _get_module_lock's callback
# as numpy loaded). main()'s sys.unraisablehook keeps it here, said nowhere, and
# loaded(), once the command's modules are in and before anything is claimed, raises it.
_swallowed: BaseException | None = None


def main() -> None:
    global _loading, _interrupt_said, _swallowed, _terminated
    hook = sys.unraisablehook
    try:  # from the first line: an interrupt anywhere in here is said in one line
        _interrupt_said, _swallowed, _terminated = False, None, False
        _handle_sigterm()
        sys.unraisablehook = _keep_interrupts(hook)
        _closed_console_harmless()
        _names_printable()
        for done in (_exit_interrupted, gc.freeze):  # registered once, however often main runs in a process
            atexit.unregister(done)
        atexit.register(_exit_interrupted)  # first registered, so the last to run (_exit_interrupted)
        atexit.register(gc.freeze)  # see the module's docstring
        if gc.isenabled():  # off while the modules load (module docstring); left as it was found
            gc.disable()
            _loading = True
        from typer import Abort, BadParameter

        from simdc.cli import app

        # click's base of every usage error (typer vendors click in typer._click: found
        # through a public class rather than a private module's name)
        ClickException = next(k for k in BadParameter.__mro__ if k.__name__ == "ClickException")

        try:
            code = app(standalone_mode=False, prog_name="simdc")  # usage errors come back here, said in one line
        except ClickException as err:  # an unknown option, a value of the wrong type, a missing one
            command = f"{err.ctx.command_path}: " if getattr(err, "ctx", None) is not None else ""
            unknown = getattr(err, "possibilities", None) and getattr(err, "option_name", None)  # NoSuchOption
            said = (_no_such_option(err.message, err.option_name, err.possibilities) if unknown
                    else err.format_message())
            if not said.strip():  # no command given: click has printed the help, with no message
                said = "missing command: give one of the commands listed above"
            print(f"error: {command}{said} (see --help)", file=sys.stderr)
            sys.exit(err.exit_code)
        except Abort:  # end of input at a prompt, as click says it
            print("aborted", file=sys.stderr)
            sys.exit(1)
        if code == INTERRUPTED_EXIT_CODE and not _interrupt_said:
            # typer turns a Ctrl-C (or SIGTERM) while it parses the options (before the
            # command's own handler, cli.friendly, runs) into exit code 130, silently: say it here
            print(_stop_word(), file=sys.stderr)
            code = _stop_code()
        sys.exit(code if isinstance(code, int) else 0)  # typer.Exit(code) comes back as its code
    except KeyboardInterrupt:
        print(_stop_word(), file=sys.stderr)
        _ignore_interrupts()
        sys.exit(_stop_code())
    except SystemExit as done:
        if done.code in (INTERRUPTED_EXIT_CODE, TERMINATED_EXIT_CODE):  # the command said so and cleaned up
            _ignore_interrupts()
        raise
    except BaseException as err:
        # a Ctrl-C while a class is made (say, a module's dataclass as it is imported) comes
        # back wrapped: Python 3.11 raises RuntimeError("Error calling __set_name__ ...")
        # from the KeyboardInterrupt (typeobject.c, type_new_set_names)
        if not _caused_by_interrupt(err):
            raise
        print(_stop_word(), file=sys.stderr)
        _ignore_interrupts()
        sys.exit(_stop_code())
    finally:
        sys.unraisablehook = hook
        if _loading:  # the command ended (or never ran: --help, a usage error) before loaded()
            _loading = False
            gc.enable()


class _ConsoleFd(io.RawIOBase):
    """The writer under :func:`_closed_console_harmless`'s stdout and stderr: file
    descriptor ``fd``, which, once its reader has gone (``EPIPE``), is pointed at
    ``os.devnull`` and takes the rest of the output there, as written."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def fileno(self) -> int:
        return self._fd

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, data) -> int:
        try:
            return os.write(self._fd, data)
        except BrokenPipeError:
            # https://docs.python.org/3/library/signal.html#note-on-sigpipe: the rest of the
            # output goes to devnull (dup2 onto the same fd: a flush at exit finds it too)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._fd)
            os.close(devnull)
            return len(memoryview(data))


def _closed_console_harmless() -> None:
    """stdout and stderr whose reader has gone (``simdc run X 2>&1 | head -3``) take the
    rest of the output to devnull, said nowhere, and the command goes on: its results
    are written whole and its exit code is its own (0 when the work succeeded), as
    ``cmd | head`` expects. Every line the CLI prints (rich's consoles, typer's echo,
    the messages here) goes through these two streams, so this is the one place.

    Before, the write raised BrokenPipeError wherever it fell: a line on stderr after
    ``simdc run``'s table (``2>&1 | head``) unwound the run before its results
    directory was written, and rich (``Console.on_broken_pipe``) or typer turned it
    into exit code 1 with no word. A stream that is not a file descriptor's (replaced:
    pytest's capture, typer's ``CliRunner``) is left as it is."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        try:
            fd = stream.fileno()
            stream.flush()
        except (AttributeError, OSError, ValueError):  # not a file descriptor's, or closed
            continue
        safe = io.TextIOWrapper(io.BufferedWriter(_ConsoleFd(fd)), encoding=stream.encoding, errors=stream.errors,
                                line_buffering=stream.line_buffering, write_through=stream.write_through)
        setattr(sys, name, safe)


def _names_printable() -> None:
    """A file name that is not UTF-8 (held by Python as surrogates, PEP 383) is printed on
    stdout as its own bytes, as ``ls`` prints it: with a locale such as en_US.UTF-8 (or
    PYTHONIOENCODING=utf-8) stdout's errors are "strict", and ``simdc trace inspect`` of
    such a file died with UnicodeEncodeError printing its name. stderr's errors are
    "backslashreplace" in every locale (it never fails), which printed such a name as the
    text ``\udce9``, not to be pasted back: in UTF-8 it too prints the bytes (surrogates
    only: every other character encodes), in another encoding it keeps its escapes."""
    try:
        sys.stdout.reconfigure(errors="surrogateescape")
    except (AttributeError, ValueError):  # not a text stream of io's (replaced, or closed)
        pass
    try:
        if (sys.stderr.encoding or "").lower().replace("-", "") == "utf8":
            sys.stderr.reconfigure(errors="surrogateescape")
    except (AttributeError, ValueError):
        pass


def _handle_sigterm() -> None:
    """SIGTERM raises :class:`simdc.errors.Terminated`, a KeyboardInterrupt: whatever a
    Ctrl-C cleans up (a results directory's partial folder and lock, a sweep's workers,
    a half-written ``--to``) a SIGTERM does too, and the command says "terminated" and
    exits 143. Its default action killed the process where it stood: exit 143 with no
    word, ``.OUT.lock`` and ``.OUT.partial-*`` left behind."""
    import signal

    signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum, frame) -> None:
    global _terminated
    from simdc.errors import Terminated

    _terminated = True
    raise Terminated


def _stop_word() -> str:
    return "terminated" if _terminated else "interrupted"


def _stop_code() -> int:
    return TERMINATED_EXIT_CODE if _terminated else INTERRUPTED_EXIT_CODE


def _keep_interrupts(hook):
    """``sys.unraisablehook`` that keeps a KeyboardInterrupt Python would drop
    (:data:`_swallowed`) and passes anything else on to ``hook``."""

    def unraisable(found) -> None:
        global _swallowed
        if isinstance(found.exc_value, KeyboardInterrupt):
            _swallowed = found.exc_value
            return
        hook(found)

    return unraisable


def _caused_by_interrupt(err: BaseException) -> bool:
    """Whether ``err`` is, or was raised from or during, a KeyboardInterrupt."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, KeyboardInterrupt):
            return True
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return False


def loaded() -> None:
    """The command's modules are imported: their objects are frozen (:func:`gc.freeze`)
    and the collector, off since :func:`main` began, runs again (module docstring). Does
    nothing unless :func:`main` turned it off, and nothing the second time."""
    global _loading
    if _swallowed is not None:  # a Ctrl-C Python dropped while the modules loaded: the command does not run
        raise _swallowed
    if _loading:
        _loading = False
        gc.freeze()
        gc.enable()


def _no_such_option(message: str, name: str, possibilities) -> str:
    """click's "No such option" with its suggestions kept only when they are close
    without their dashes: it compares the whole names, so ``--bogus`` got "(Possible
    options: --out)" for the shared ``--`` and an ``o`` and ``u``."""
    import difflib

    bare = {option.lstrip("-"): option for option in possibilities}
    close = difflib.get_close_matches(name.lstrip("-"), list(bare), n=3, cutoff=0.6)
    return f"{message} (did you mean {' or '.join(bare[c] for c in close)}?)" if close else message


def said_interrupted() -> None:
    """The command has printed its line for a Ctrl-C (``cli.friendly``): :func:`main`
    adds none."""
    global _interrupt_said
    _interrupt_said = True


def _ignore_interrupts() -> None:
    """After an interrupt has been reported: a SIGINT that arrives while the interpreter
    shuts down (a second Ctrl-C, or one re-sent by a library that saw the first, as
    pyarrow's signal handling does) would otherwise find SIGINT's default action restored
    by the interpreter's finalisation and kill the process, exit -2 instead of 130. And
    the process ends with exit code 130 once the exit handlers have run
    (:func:`_exit_interrupted`)."""
    import signal

    global _interrupted
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM too: the word is said, the code set
    _interrupted = True


def _exit_interrupted() -> None:
    """At exit, the last exit handler (:func:`main` registers it first): after a reported
    interrupt, end the process with exit code 130 here, its output flushed.

    Python's own exit would otherwise, now and then, kill the process with SIGINT (exit
    −2) after the line was printed: ``Py_RunMain`` re-raises SIGINT with its default
    action (``exit_sigint``: SIG_DFL, then ``kill(getpid(), SIGINT)``) whenever its flag
    ``_Py_UnhandledKeyboardInterrupt`` is set, and a KeyboardInterrupt that passes through
    code the interpreter runs for itself sets it even when :func:`main` caught the
    interrupt and exits with 130 (seen with ``python -m simdc`` interrupted ~0.3-0.5 s in,
    while the CLI's modules load: strace shows SIGINT set to SIG_DFL and sent to itself
    after "interrupted"). Only the interpreter's teardown after the exit handlers is
    skipped, which :func:`gc.freeze` made a formality already."""
    if not _interrupted:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):  # closed, or replaced by something without flush
            pass
    os._exit(_stop_code())


if __name__ == "__main__":
    # ``python -m simdc`` runs this file as ``__main__``, and the CLI imports it again as
    # ``simdc.__main__``: run that copy's main, whose state (said_interrupted, loaded)
    # the CLI sets, or a command's own "interrupted" line would be followed by a second
    try:
        from simdc.__main__ import main as _main

        _main()
    except KeyboardInterrupt:  # before main()'s own handler (this module loading again): the same line and code
        print("interrupted", file=sys.stderr)
        sys.exit(INTERRUPTED_EXIT_CODE)
