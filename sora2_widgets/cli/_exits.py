"""Exit codes: one per error class, stable so scripts can branch on them, listed in ``--help``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._errors import Sora2Error

EXIT_OK, EXIT_USAGE, EXIT_AUTH, EXIT_BUDGET, EXIT_UNAVAILABLE, EXIT_SERVICE, EXIT_CANCELLED = 0, 2, 3, 4, 5, 6, 7
EXIT_NOT_SAVED = 8
EXIT_CONFIG = 9
EXIT_LEDGER = 10
EXIT_INTERRUPTED = 130


def _exit_for() -> tuple[tuple[type[Sora2Error], int], ...]:
    """Every error class of the package and its exit code (the first match wins: subclasses first).

    Built when an error is reported, not at import: ``--help`` needs none of the error classes.
    """
    from .._errors import (
        AuthError,
        BudgetExceededError,
        ConfigError,
        JobCancelledError,
        JobTimeoutError,
        LedgerError,
        ModelUnavailableError,
        RateLimitError,
        ServiceError,
        SubmitUncertainError,
        UnknownModelError,
        ValidationError,
    )

    return (
        (ValidationError, EXIT_USAGE),
        (UnknownModelError, EXIT_USAGE),
        (ConfigError, EXIT_CONFIG),
        (LedgerError, EXIT_LEDGER),
        (AuthError, EXIT_AUTH),
        (BudgetExceededError, EXIT_BUDGET),
        (ModelUnavailableError, EXIT_UNAVAILABLE),
        (RateLimitError, EXIT_SERVICE),
        (SubmitUncertainError, EXIT_SERVICE),
        (ServiceError, EXIT_SERVICE),
        (JobCancelledError, EXIT_CANCELLED),
        (JobTimeoutError, EXIT_CANCELLED),
    )


def exit_code_for(error: BaseException) -> int:
    for kind, code in _exit_for():
        if isinstance(error, kind):
            return code
    return EXIT_SERVICE


def error_line(error: Sora2Error) -> str:
    """The one line ``main`` prints for a package error: its title, then what it says.

    A refused input names each field once ("Invalid input: duration must be …"), not the title
    and then the error's own "model: invalid input:" prefix again.
    """
    from .._errors import ValidationError

    if isinstance(error, ValidationError) and error.errors:
        detail = "; ".join(str(e) for e in error.errors)
        if error.from_service:
            return f"{error.title}: the service refused the input of {error.model_id}: {detail}"
        return f"{error.title}: {detail} ({error.model_id}; nothing was sent)"
    return f"{error.title}: {error}"


def one_line(text: str) -> str:
    """``text`` with every unprintable character escaped (``\\n``, ``\\x00``, ``\\ud800``): one printable line."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


EXIT_CODES_HELP = """\
exit codes:
  0    success
  2    bad usage or invalid input (nothing was sent)
  3    authentication failed (the fal key was refused)
  4    over budget (nothing was sent)
  5    model unavailable: retired endpoint (nothing was charged)
  6    the service failed or could not be reached, or the outcome of a submit is unknown
  7    cancelled or timed out (the job stays in the history)
  8    a file could not be written: generate made the video (it is paid for and in the
       history) but could not save it locally or copy it to --out; history --csv failed
  9    configuration error: SORA2_WIDGETS_BUDGET or the fal key (FAL_KEY, FAL_KEY_ID/
       FAL_KEY_SECRET) is unusable (nothing was sent)
  10   the history file (SORA2_WIDGETS_HOME/history.sqlite3) is damaged, empty, from a
       newer release or not writable; the message names it and what to do (nothing was
       sent, the file was not changed). history and spend work on a read-only file
  130  interrupted (Ctrl-C): the job is cancelled on the service if it still can be;
       otherwise it stays in the history and can be resumed"""
