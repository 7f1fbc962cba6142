"""``sora2-widgets``: the toolkit from a shell.

Subcommands: ``generate``, ``history``, ``spend``, ``emulator``, ``lab``. Exit codes are
stable so scripts can branch on them; ``EXIT_CODES_HELP`` (shown by ``--help``) lists them.

Modules: ``_exits`` (exit codes), ``_args`` (argument types, the one-line parser), ``_generate``,
``_ledger`` (``history``, ``spend``), ``_lab``, ``_parser`` (subcommands and help), ``_output``
(tables, the live progress line, plain text when not a terminal).

Only the standard library and ``_errors`` load at start-up: ``--help`` answers at once, and each
command imports what it needs (the catalog, the generator, pandas, Rich) when it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._args import OPENAI_KEY_ENV, OneLineArgumentParser
from ._exits import EXIT_CODES_HELP, EXIT_INTERRUPTED, error_line, exit_code_for, one_line
from ._parser import build_parser, parse_args

if TYPE_CHECKING:
    from ._generate import checked_request, cmd_generate
    from ._lab import lab_command

__all__ = [
    "EXIT_CODES_HELP",
    "OPENAI_KEY_ENV",
    "OneLineArgumentParser",
    "build_parser",
    "checked_request",
    "cmd_generate",
    "exit_code_for",
    "lab_command",
    "main",
    "one_line",
    "parse_args",
]


def __getattr__(name: str) -> Any:
    # Commands' helpers load what they need (the catalog, subprocess): only when asked for (PEP 562).
    if name in ("checked_request", "cmd_generate"):
        from . import _generate

        return getattr(_generate, name)
    if name == "lab_command":
        from ._lab import lab_command

        return lab_command
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:
        # The emulator owns its flags (and its --help); argparse would claim them here.
        from ..emulator import main as emulator_main

        return emulator_main(argv[1:])
    args = parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        # generate itself never resumes (resume=False: a script wants its one job), so say who does.
        print(
            "interrupted; a submitted job stays in the history, and the panel or sw.Generator() resumes it",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except Exception as exc:
        # The package's errors are one line and an exit code; anything else is a bug and a traceback.
        # (Imported here: a raised Sora2Error has loaded _errors already, and --help never needs it.)
        from .._errors import Sora2Error

        if not isinstance(exc, Sora2Error):
            raise
        print(error_line(exc), file=sys.stderr)
        return exit_code_for(exc)
    return code
