"""The ``simdc`` command's entry point (also ``python -m simdc``).

Deliberately tiny: it imports the CLI (typer and rich; each command imports pandas, the
engine and the rest when it runs) inside the ``try``, so a Ctrl-C at any moment ends with
one line and exit code 130, never an import traceback.
"""

import sys

INTERRUPTED_EXIT_CODE = 130  # 128 + SIGINT, the shell's convention


def main() -> None:
    try:
        from simdc.cli import app

        app()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(INTERRUPTED_EXIT_CODE)


if __name__ == "__main__":
    main()
