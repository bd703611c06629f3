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
"""

import atexit
import gc
import signal
import sys

INTERRUPTED_EXIT_CODE = 130  # 128 + SIGINT, the shell's convention


def main() -> None:
    atexit.unregister(gc.freeze)  # registered once, however often main runs in a process
    atexit.register(gc.freeze)  # see the module's docstring
    try:
        from simdc.cli import app

        app()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        _ignore_interrupts()
        sys.exit(INTERRUPTED_EXIT_CODE)
    except SystemExit as done:
        if done.code == INTERRUPTED_EXIT_CODE:  # the command said "interrupted" and cleaned up
            _ignore_interrupts()
        raise


def _ignore_interrupts() -> None:
    """After an interrupt has been reported: a SIGINT that arrives while the interpreter
    shuts down (a second Ctrl-C, or one re-sent by a library that saw the first, as
    pyarrow's signal handling does) would otherwise find SIGINT's default action restored
    by the interpreter's finalisation and kill the process, exit -2 instead of 130."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


if __name__ == "__main__":
    main()
