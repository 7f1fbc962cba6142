"""The exceptions a user of sora2-widgets can meet.

Every error says, in one plain sentence, what happened and what to do next, and
carries the facts as attributes so that code (the panel, the CLI) can act on them.
None of them ever holds a secret: messages are built from field names, model ids,
request ids and numbers only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "AuthError",
    "BudgetExceededError",
    "ConfigError",
    "FieldError",
    "JobCancelledError",
    "JobTimeoutError",
    "LedgerError",
    "ModelUnavailableError",
    "RateLimitError",
    "ServiceError",
    "Sora2Error",
    "SubmitUncertainError",
    "UnknownModelError",
    "ValidationError",
]


class Sora2Error(Exception):
    """Root of every error raised by sora2-widgets."""

    #: A short label for cards and tables ("Invalid input", "Rate limited", ...).
    title: str = "Error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field, as the service (or our schema) reports it."""

    field: str
    message: str

    def __str__(self) -> str:
        if not self.field or self.message.startswith(self.field + " "):
            return self.message
        return f"{self.field}: {self.message}"


class ValidationError(Sora2Error, ValueError):
    """The input was refused, by our schema before sending or by the service (HTTP 422)."""

    title = "Invalid input"

    def __init__(self, model_id: str, errors: Sequence[FieldError], *, from_service: bool = False) -> None:
        self.model_id = model_id
        self.errors = tuple(errors)
        self.from_service = from_service
        where = "the service refused the input" if from_service else "invalid input"
        lines = "; ".join(str(e) for e in self.errors) or "no details given"
        super().__init__(f"{model_id}: {where}: {lines}")


class ConfigError(Sora2Error, ValueError):
    """A setting the package was given is unusable: an environment variable, a CLI option, an argument.

    Raised before anything is recorded or sent. ``field`` names the setting as the user wrote it
    (``SORA2_WIDGETS_BUDGET``, ``--budget``, ``budget=``, ``key=``); ``reason`` is the rest of the
    sentence, so that a caller that already names the setting (argparse: "argument --budget: ...")
    can show it alone. Neither ever holds a secret: a key's problem is described, never quoted.
    """

    title = "Configuration error"

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field} {reason}")


class LedgerError(Sora2Error):
    """The history file (the ledger of spend) cannot be used as it is: damaged, unreadable, not
    writable, or from a newer release. ``path`` is the file (or folder) concerned; the message is one
    sentence naming it and what to do. Raised before anything is recorded or sent; the file is never
    modified to "repair" it: it holds what was paid for."""

    title = "History file unusable"

    def __init__(self, path: object, message: str) -> None:
        self.path = path
        super().__init__(message)


class UnknownModelError(Sora2Error, KeyError):
    """A model id that is not in the catalog."""

    title = "Unknown model"

    def __init__(self, model_id: str, known: Sequence[str]) -> None:
        self.model_id = model_id
        self.known = tuple(known)
        shown = repr(model_id)  # quoted and escaped: a line break in an id stays on one line
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        super().__init__(f"unknown model {shown}; known models: {', '.join(self.known)}")


class AuthError(Sora2Error):
    """The fal key was missing, malformed or refused (HTTP 401/403)."""

    title = "Authentication failed"

    def __init__(self, message: str, *, status_code: int | None = None, key_source: str | None = None) -> None:
        self.status_code = status_code
        self.key_source = key_source
        super().__init__(message)


class RateLimitError(Sora2Error):
    """fal answered 429 and our retries ran out."""

    title = "Rate limited"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class ServiceError(Sora2Error):
    """The service (or the network in front of it) failed in a way we could not recover from.

    ``job_failed``: the service said the job itself failed (it is over; resuming cannot help),
    as opposed to us losing contact with a job that may still run.
    """

    title = "Service error"

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        detail: object = None,
        job_failed: bool = False,
    ) -> None:
        self.status_code = status_code
        self.request_id = request_id
        self.detail = detail
        self.job_failed = job_failed
        super().__init__(message)


class ModelUnavailableError(Sora2Error):
    """The endpoint is gone (404/410) or says the model was retired. Never retried, never charged."""

    title = "Model unavailable"

    def __init__(self, model_id: str, endpoint: str, *, status_code: int | None = None, reason: str = "") -> None:
        self.model_id = model_id
        self.endpoint = endpoint
        self.status_code = status_code
        self.reason = reason
        extra = f" ({reason})" if reason else ""
        super().__init__(
            f"{model_id} is not available on the service any more{extra}. "
            "OpenAI removed the Sora 2 API on 2026-09-24; nothing was charged. "
            "Pick another model."
        )


class SubmitUncertainError(Sora2Error):
    """A submit failed after the request body may have reached the service.

    A job *may* exist and be billed. We never resubmit blindly (that could pay twice);
    the user decides, with what we know attached.
    """

    title = "Submit outcome unknown"

    def __init__(self, model_id: str, endpoint: str, cause: str) -> None:
        self.model_id = model_id
        self.endpoint = endpoint
        self.cause = cause
        super().__init__(
            f"Submitting to {endpoint} failed after the request was sent ({cause}). "
            "A job may have been created and charged, so it was not retried automatically. "
            "Check your requests on fal.ai before submitting again."
        )


class BudgetExceededError(Sora2Error):
    """Generating would take spending past the configured budget; nothing was sent."""

    title = "Over budget"

    def __init__(self, *, budget: Decimal, spent: Decimal, requested: Decimal) -> None:
        self.budget = budget
        self.spent = spent
        self.requested = requested
        left = max(budget - spent, Decimal(0))
        super().__init__(
            f"This would cost up to ${requested:.2f} but only ${left:.2f} of the "
            f"${budget:.2f} budget is left (${spent:.2f} spent). Nothing was sent. "
            "Raise the budget (SORA2_WIDGETS_BUDGET) or pick a cheaper setting."
        )


class JobCancelledError(Sora2Error):
    """The job was cancelled (by the user, or because a wait timed out with cancel on)."""

    title = "Cancelled"

    def __init__(self, request_id: str, message: str | None = None) -> None:
        self.request_id = request_id
        super().__init__(message or f"Request {request_id} was cancelled.")


class JobTimeoutError(Sora2Error, TimeoutError):
    """A wait ran past its wall-clock limit. The job is kept (and resumable) unless cancelled."""

    title = "Timed out"

    def __init__(self, request_id: str, waited: float, *, cancelled: bool) -> None:
        self.request_id = request_id
        self.waited = waited
        self.cancelled = cancelled
        what = (
            "it was cancelled on the service"
            if cancelled
            else "it is still running on the service and can be resumed by its request id"
        )
        super().__init__(f"Request {request_id} did not finish within {waited:.0f} s; {what}.")
