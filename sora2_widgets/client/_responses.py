"""Reading fal's answers: JSON bodies, error details, ``Retry-After``, retirement wording, network failures.

fal's errors carry a ``detail`` (a sentence, or FastAPI's list of ``{loc, msg, type}``), sometimes an
``error_type`` and an ``X-Fal-Error-Type`` header; a gateway in front of fal answers with an empty or
HTML body instead. Nothing here raises the package's errors (``_errormap`` does): these functions only
say what an answer means.
"""

from __future__ import annotations

import email.utils
import json
import re
import ssl
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx

from .._errors import FieldError

if TYPE_CHECKING:
    from ._models import RetryPolicy

__all__ = [
    "Malformed",
    "Retryable",
    "billable_units_of",
    "body_of",
    "carries_fal_error",
    "describe_exc",
    "field_errors",
    "message_and_type",
    "names_unavailable",
    "plain",
    "request_not_found",
    "retry_after",
    "said",
    "tls_verification_failed",
]


class Malformed(ValueError):
    """A 2xx answer we could not read: retried like a transport error on idempotent requests."""


class Retryable(Exception):
    """This attempt failed in a way that is safe to retry."""

    def __init__(
        self, why: str, *, status_code: int | None = None, retry_after: float | None = None, message: str = ""
    ) -> None:
        super().__init__(why)
        self.why = why
        self.status_code = status_code
        self.retry_after = retry_after
        #: what the service said, if anything readable (scrubbed): the user sees it if retries run out
        self.message = message


class Backoff:
    """One request's retries under a :class:`RetryPolicy`: the give-up rule and the waits, in one place.

    The three retry loops (idempotent GETs, submit, download) differ in what they may retry; how long
    they wait and when they stop is this."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.tries = 0
        self._slept = 0.0

    def attempt(self) -> int:
        """Count a try; returns its number (1 for the first)."""
        self.tries += 1
        return self.tries

    def delay_after(self, last: Retryable) -> float | None:
        """Seconds to wait before trying again after ``last``, or ``None`` when the policy says stop."""
        delay = self.policy.delay(self.tries, last.retry_after)
        if self.tries >= self.policy.attempts or self._slept + delay > self.policy.max_total:
            return None
        return delay

    async def wait(self, delay: float) -> None:
        await self.policy.sleep(delay)
        self._slept += delay


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds: either a number or an HTTP date (RFC 9110 §10.2.3)."""
    raw = response.headers.get("retry-after", "").strip()
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def billable_units_of(response: httpx.Response) -> Decimal | None:
    """``x-fal-billable-units`` as an exact ``Decimal`` (e.g. ``3.008``), or ``None``.

    A header that is missing or not a finite number ≥ 0 is ignored, never guessed: the result it
    came with is paid for and must not fail over it; the billed cost then stays unknown.
    """
    raw = response.headers.get("x-fal-billable-units", "").strip()
    if not raw:
        return None
    try:
        units = Decimal(raw)
    except ArithmeticError:
        return None
    return units if units.is_finite() and units >= 0 else None


def body_of(response: httpx.Response) -> Any:
    """The answer as JSON, or as text when it is not JSON."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text


def plain(detail: Any) -> str:
    """A person-readable sentence from fal's ``detail`` (a string, or a list of {loc, msg, type})."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, Mapping):
                parts.append(str(item.get("msg") or item.get("message") or item.get("type") or ""))
            else:
                parts.append(str(item))
        return "; ".join(p for p in parts if p)
    if isinstance(detail, Mapping):
        return plain(detail.get("detail") or detail.get("error") or detail.get("message") or "")
    return "" if detail is None else str(detail)


def message_and_type(body: Any) -> tuple[str, str | None]:
    """What an error answer says, and its ``error_type`` if it has one."""
    if isinstance(body, Mapping):
        error_type = body.get("error_type")
        for key in ("detail", "error", "message"):
            if body.get(key):
                return plain(body[key]), str(error_type) if error_type else None
        return "", str(error_type) if error_type else None
    return (str(body).strip()[:300] if body else ""), None


def carries_fal_error(response: httpx.Response, body: Any) -> bool:
    """Whether an error answer comes from fal itself (``detail``/``error_type``, ``X-Fal-Error-Type``).

    A gateway in front of fal answers 502/503/504 with an empty or HTML body; fal's own errors,
    including a job's final failure on its result URL, carry these (fal's request-errors page).
    """
    if response.headers.get("x-fal-error-type"):
        return True
    return isinstance(body, Mapping) and bool(body.get("detail") or body.get("error_type"))


def said(body: Any) -> str:
    """A short line of what an error answer said; nothing for an HTML error page."""
    message, _ = message_and_type(body)
    message = " ".join(message.split())
    if message.startswith("<"):
        return ""
    return message if len(message) <= 200 else message[:197] + "..."


def field_errors(detail: Any) -> list[FieldError]:
    """One :class:`FieldError` per item of a 422 ``detail``, named as the user knows the field."""
    if isinstance(detail, Mapping):
        detail = detail.get("detail")
    if not isinstance(detail, list):
        return [FieldError("", plain(detail) or "the service gave no details")]
    out = []
    for item in detail:
        if not isinstance(item, Mapping):
            out.append(FieldError("", str(item)))
            continue
        loc = [str(p) for p in item.get("loc") or []]
        if loc and loc[0] == "body":  # FastAPI prefixes the request part; the field is what a user knows
            loc = loc[1:]
        out.append(FieldError(".".join(loc), str(item.get("msg") or item.get("type") or "invalid")))
    return out


#: error_type values that name a retirement outright.
_RETIRED_TYPES = frozenset(
    {"model_retired", "model_deprecated", "model_discontinued", "endpoint_retired", "endpoint_deprecated"}
)
#: error_type values that may be a retirement, or an outage: read together with the message.
_UNAVAILABLE_TYPES = frozenset({"model_unavailable", "endpoint_unavailable"})
# Retirement takes a subject (the model, the endpoint, Sora…) and a word that says "for good".
# Both are needed: "the video is no longer available" (a remix source) or "model output was removed
# due to policy" say nothing about the model, and "unavailable" alone is what outages say too.
_SUBJECT = r"\b(?:model|endpoint|application|app|api(?!\s*key)|version|sora(?:[ -]?2)?)\b"
_FOR_GOOD = (
    r"\b(?:retired|deprecated|discontinued|decommissioned|shut\s+down|(?:has|have)\s+been\s+removed"
    r"|no\s+longer\s+(?:available|supported|offered))\b"
)
_RETIRED_TEXT = re.compile(
    rf"{_SUBJECT}[^.;\n]{{0,60}}?{_FOR_GOOD}|{_FOR_GOOD}[^.;\n]{{0,30}}?{_SUBJECT}", re.IGNORECASE
)
#: An outage, however it is worded, is never a retirement: the model must not be disabled for it.
_TEMPORARY = re.compile(r"\btemporar|\bmaintenance\b|\boverloaded\b", re.IGNORECASE)
_REQUEST_NOT_FOUND = re.compile(r"\brequest\b[^.;\n]{0,60}?\b(?:not found|does not exist|unknown)\b", re.IGNORECASE)


def names_unavailable(message: str, error_type: str | None) -> bool:
    """Whether an error says the model is gone for good (not merely failing right now)."""
    kind = (error_type or "").lower()
    if kind in _RETIRED_TYPES:
        return True
    if _TEMPORARY.search(message):
        return False
    return kind in _UNAVAILABLE_TYPES or bool(_RETIRED_TEXT.search(message))


def request_not_found(message: str) -> bool:
    """Whether an error says the request (not the endpoint) is unknown."""
    return bool(_REQUEST_NOT_FOUND.search(message))


_EXC_WORDS: dict[type[BaseException], str] = {
    httpx.ConnectError: "could not connect",
    httpx.ConnectTimeout: "timed out connecting",
    httpx.ReadTimeout: "timed out waiting for the answer",
    httpx.WriteTimeout: "timed out sending the request",
    httpx.PoolTimeout: "no free connection",
    httpx.RemoteProtocolError: "the connection was closed mid-answer",
    httpx.ReadError: "the connection was reset",
    httpx.WriteError: "the connection was reset while sending",
}


def describe_exc(exc: BaseException) -> str:
    """A network failure in a few plain words."""
    for cls, text in _EXC_WORDS.items():
        if isinstance(exc, cls):
            return text
    return type(exc).__name__


def tls_verification_failed(exc: BaseException) -> bool:
    """Whether a connect error is a certificate that failed verification (anywhere in its chain)."""
    seen: BaseException | None = exc
    for _ in range(8):  # the chain is short; a bound guards against cycles
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
