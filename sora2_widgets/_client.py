"""The fal queue client: the whole protocol in one module.

fal runs long jobs through a queue (DESIGN.md §3)::

    POST {queue}/{endpoint}           → {request_id, status_url, response_url, cancel_url, queue_position?}
    GET  {status_url}/stream?logs=1   → server-sent events, one status per event, ends at COMPLETED
    GET  {status_url}?logs=1          → {status, queue_position?, logs?, error?, error_type?}
    GET  {response_url}               → the output JSON (or the model's error, 4xx/5xx + detail)
    PUT  {cancel_url}                 → 202 accepted / 400 already completed

Where this differs from the official ``fal-client`` on purpose:

* **Submit is never retried when a job may exist.** Only failures that prove no job was created
  (connection refused, 429, a 503 from the gateway without a request id) are retried; anything
  ambiguous raises :class:`SubmitUncertainError`, because a duplicate Sora job costs real money.
* **Waiting streams** the status (one long request per job) and falls back to polling with
  backoff (0.25 s → ×1.5 → 2.5 s) instead of polling every 0.1 s.
* **The URLs the service returns are used as-is**; only :meth:`AsyncFalClient.resume` without URLs
  rebuilds them, with fal's app-id rule (``{queue}/{owner}/{app}/requests/{id}/status``).
* **The key goes only to the queue/run hosts** (never to a media CDN), lives in a ``SecretStr``
  and the ``Authorization`` header, and never reaches a log line, repr or exception.

:class:`AsyncFalClient` is the real thing; :class:`FalClient` runs it on a private event-loop
thread so that plain synchronous calls work everywhere, including inside a Jupyter cell whose
event loop is already running.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import dataclasses
import email.utils
import functools
import hashlib
import importlib
import inspect
import json
import logging
import os
import random as _random
import re
import ssl
import tempfile
import threading
import time
import urllib.request
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import quote

import httpx
import pydantic
from pydantic import SecretStr

from ._catalog import ModelSpec, get_model
from ._config import resolve_key
from ._errors import (
    AuthError,
    FieldError,
    JobCancelledError,
    JobTimeoutError,
    ModelUnavailableError,
    RateLimitError,
    ServiceError,
    Sora2Error,
    SubmitUncertainError,
    ValidationError,
)
from ._http11 import make_transport
from ._images import with_image_data_uris
from ._results import VideoResult
from ._sync import wait_interruptibly

__all__ = [
    "DEFAULT_QUEUE_URL",
    "DEFAULT_RUN_URL",
    "AsyncFalClient",
    "Downloaded",
    "FalClient",
    "Job",
    "LogLine",
    "QueueUpdate",
    "RetryPolicy",
]

log = logging.getLogger("sora2_widgets.client")

DEFAULT_QUEUE_URL = "https://queue.fal.run"
QUEUE_URL_ENV = "SORA2_WIDGETS_QUEUE_URL"
RUN_URL_ENV = "SORA2_WIDGETS_RUN_URL"
DEFAULT_RUN_URL = "https://fal.run"
#: Per-request limits. A submit or status answer comes back in well under a second; 30 s of silence
#: means the connection is dead, not slow.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
#: fal sends a keep-alive comment on the status stream every 15 s (research.md §5), so a minute
#: without a byte means the stream is dead and we reconnect or poll.
STREAM_READ_TIMEOUT = 60.0
#: Stream attempts per wait before switching to polling for the rest of that wait.
STREAM_ATTEMPTS = 2
#: After COMPLETED, fal closes the status stream; reading its last bytes (usually none) lets the
#: keep-alive connection go back to the pool instead of being dropped — one TCP connect per job saved.
STREAM_DRAIN_TIMEOUT = 0.5
#: Downloads: bytes written between background fdatasyncs (so that the final fsync is short).
SINK_SYNC_EVERY = 32 << 20

Status = Literal["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]
_STATUSES: frozenset[str] = frozenset({"IN_QUEUE", "IN_PROGRESS", "COMPLETED"})
Provider = Literal["fal", "emulator"]

T = TypeVar("T")

#: The slot semaphores (by id) the current task — or the task that started it — holds. A slot
#: is held across awaits, so only a context variable can tell "already inside a slot" apart from
#: "a new job": nested ``slot()`` calls then reuse the outer slot instead of waiting for a second
#: one, which with every slot taken by jobs waiting the same way would never come.
_HELD_SLOTS: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar("sora2_widgets_slots", default=frozenset())


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogLine:
    """One log line of a running job, as the service sent it."""

    message: str
    level: str = "INFO"
    timestamp: str | None = None


@dataclass(frozen=True)
class QueueUpdate:
    """Where a job stands. ``logs`` holds every line so far, not only the new ones."""

    request_id: str
    status: Status
    queue_position: int | None = None
    logs: tuple[LogLine, ...] = ()
    elapsed: float = 0.0
    error: str | None = None
    error_type: str | None = None

    @property
    def done(self) -> bool:
        return self.status == "COMPLETED"

    @property
    def failed(self) -> bool:
        return self.status == "COMPLETED" and self.error is not None


@dataclass(frozen=True)
class Job:
    """A submitted request: everything needed to follow it, even from another process.

    Record it (the generator writes it to the history) before waiting: a job that was
    submitted is paid for, and its ``request_id`` is how it is found again.
    """

    model_id: str
    endpoint: str
    request_id: str
    status_url: str
    response_url: str
    cancel_url: str
    submitted_at: float
    provider: Provider
    queue_position: int | None = None


@dataclass(frozen=True)
class Downloaded:
    """A file that was downloaded completely, checked and renamed into place."""

    path: Path
    size: int
    sha256: str


async def _asyncio_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """How idempotent requests (status, result, cancel, download) are retried.

    ``attempts`` counts every try (first included); ``max_total`` caps the seconds spent
    sleeping between them. Delays grow ``base × 2ⁿ`` up to ``cap`` with "equal jitter"
    (half fixed, half random) so that many clients that failed together do not retry
    together. A ``Retry-After`` from the service is honoured when it fits in ``max_total``.
    ``sleep`` and ``random`` are injectable so tests run instantly and deterministically.
    """

    attempts: int = 6
    base: float = 0.5
    cap: float = 8.0
    max_total: float = 60.0
    sleep: Callable[[float], Awaitable[None]] = field(default=_asyncio_sleep, repr=False, compare=False)
    random: Callable[[], float] = field(default=_random.random, repr=False, compare=False)

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
        if retry_after is not None:
            return max(0.0, retry_after)
        step = min(self.cap, self.base * 2.0 ** (retry - 1))
        return step / 2 + self.random() * step / 2


UpdateCallback = Callable[[QueueUpdate], Awaitable[None] | None]
SubmitCallback = Callable[[Job], Awaitable[None] | None]


class _Emulator(Protocol):
    """What the client needs from sora2_widgets.emulator (imported lazily: it is optional here)."""

    @property
    def base_url(self) -> str: ...

    def transport(self) -> httpx.AsyncBaseTransport: ...


# --------------------------------------------------------------------------------------------
# Helpers: parsing answers and errors
# --------------------------------------------------------------------------------------------
class _Malformed(ValueError):
    """A 2xx answer we could not read: retried like a transport error on idempotent requests."""


class _Retry(Exception):
    """Internal: this attempt failed in a way that is safe to retry."""

    def __init__(
        self, why: str, *, status_code: int | None = None, retry_after: float | None = None, message: str = ""
    ) -> None:
        super().__init__(why)
        self.why = why
        self.status_code = status_code
        self.retry_after = retry_after
        #: what the service said, if anything readable (scrubbed): the user sees it if retries run out
        self.message = message


class _StreamUnsupported(Exception):
    """No status stream here: poll instead (for this client's life when ``permanent``)."""

    def __init__(self, *, permanent: bool) -> None:
        super().__init__("status stream unavailable")
        self.permanent = permanent


def _retry_after(response: httpx.Response) -> float | None:
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


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text


def _plain(detail: Any) -> str:
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
        return _plain(detail.get("detail") or detail.get("error") or detail.get("message") or "")
    return "" if detail is None else str(detail)


def _message_and_type(body: Any) -> tuple[str, str | None]:
    if isinstance(body, Mapping):
        error_type = body.get("error_type")
        for key in ("detail", "error", "message"):
            if body.get(key):
                return _plain(body[key]), str(error_type) if error_type else None
        return "", str(error_type) if error_type else None
    return (str(body).strip()[:300] if body else ""), None


def _carries_fal_error(response: httpx.Response, body: Any) -> bool:
    """Whether an error answer comes from fal itself (``detail``/``error_type``, ``X-Fal-Error-Type``).

    A gateway in front of fal answers 502/503/504 with an empty or HTML body; fal's own errors,
    including a job's final failure on its result URL, carry these (fal's request-errors page).
    """
    if response.headers.get("x-fal-error-type"):
        return True
    return isinstance(body, Mapping) and bool(body.get("detail") or body.get("error_type"))


def _said(body: Any) -> str:
    """A short line of what an error answer said; nothing for an HTML error page."""
    message, _ = _message_and_type(body)
    message = " ".join(message.split())
    if message.startswith("<"):
        return ""
    return message if len(message) <= 200 else message[:197] + "..."


def _safe_detail(body: Any) -> Any:
    """The error body without the echoed ``input`` fal puts in 422 items (it can hold the api_key)."""
    if isinstance(body, Mapping):
        out = {k: v for k, v in body.items() if k != "input"}
        if isinstance(out.get("detail"), list):
            out["detail"] = [
                {k: v for k, v in item.items() if k not in ("input", "ctx")} if isinstance(item, Mapping) else item
                for item in out["detail"]
            ]
        return out
    return body


#: An OpenAI key ("sk-…", "sk-proj-…", "sk-svcacct-…"). A job resumed by another process has no
#: record of its api_key (the history never keeps it), so an echo of it can only be caught by shape.
_OPENAI_KEY = re.compile(r"\bsk-[A-Za-z0-9][A-Za-z0-9_-]{15,}")


def _has_secret(text: str, secrets: tuple[str, ...]) -> bool:
    return "sk-" in text or any(secret in text for secret in secrets)


def _redact(value: Any, secrets: tuple[str, ...]) -> Any:
    """``value`` (a string, or JSON made of dicts and lists) with every secret replaced, and
    anything shaped like an OpenAI key."""
    if isinstance(value, str):
        for secret in secrets:
            if secret:
                value = value.replace(secret, "**********")
        return _OPENAI_KEY.sub("**********", value) if "sk-" in value else value
    if isinstance(value, Mapping):
        return {k: _redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, secrets) for v in value]
    return value


def _field_errors(detail: Any) -> list[FieldError]:
    if isinstance(detail, Mapping):
        detail = detail.get("detail")
    if not isinstance(detail, list):
        return [FieldError("", _plain(detail) or "the service gave no details")]
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


def _names_unavailable(message: str, error_type: str | None) -> bool:
    """Whether an error says the model is gone for good (not merely failing right now)."""
    kind = (error_type or "").lower()
    if kind in _RETIRED_TYPES:
        return True
    if _TEMPORARY.search(message):
        return False
    return kind in _UNAVAILABLE_TYPES or bool(_RETIRED_TEXT.search(message))


def _describe_exc(exc: BaseException) -> str:
    names = {
        httpx.ConnectError: "could not connect",
        httpx.ConnectTimeout: "timed out connecting",
        httpx.ReadTimeout: "timed out waiting for the answer",
        httpx.WriteTimeout: "timed out sending the request",
        httpx.PoolTimeout: "no free connection",
        httpx.RemoteProtocolError: "the connection was closed mid-answer",
        httpx.ReadError: "the connection was reset",
        httpx.WriteError: "the connection was reset while sending",
    }
    for cls, text in names.items():
        if isinstance(exc, cls):
            return text
    return type(exc).__name__


def _tls_verification_failed(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(8):  # the chain is short; a bound guards against cycles
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _origin(url: str | httpx.URL) -> tuple[str, str, int | None]:
    return _origin_of(str(url))


@functools.lru_cache(maxsize=256)
def _origin_of(url: str) -> tuple[str, str, int | None]:
    # Cached: every request asks (is this a key host?), and parsing a URL with httpx costs more
    # than the rest of that check; a client sees only a few distinct URLs per job.
    u = httpx.URL(url)
    return (u.scheme, u.host, u.port)


def _env_proxies() -> bool:
    """Whether httpx would route through a proxy from the environment (HTTP(S)_PROXY, ALL_PROXY)."""
    proxies = urllib.request.getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


def _with_logs(url: str, logs: bool) -> str:
    # The query is appended as text: handing httpx ``params=`` makes it parse and rebuild the URL.
    return f"{url}{'&' if '?' in url else '?'}logs={'1' if logs else '0'}"


async def _call_back(callback: Callable[[T], Awaitable[None] | None], value: T) -> None:
    outcome = callback(value)
    if inspect.isawaitable(outcome):
        await outcome


# --------------------------------------------------------------------------------------------
# Per-wait state
# --------------------------------------------------------------------------------------------
class _Tracker:
    """Turns status JSON into :class:`QueueUpdate` s for one wait, accumulating logs."""

    def __init__(self, job: Job, secrets: tuple[str, ...] = ()) -> None:
        self.job = job
        self.logs: tuple[LogLine, ...] = ()
        # The job's own secrets (its api_key): a model that echoes one in a log line or error must
        # not hand it to on_update, the panel or the history.
        self.secrets = secrets

    def apply(self, data: Any) -> QueueUpdate:
        if not isinstance(data, Mapping) or data.get("status") not in _STATUSES:
            raise _Malformed("status answer without a known status")
        new = tuple(
            dataclasses.replace(line, message=_redact(line.message, self.secrets))
            if _has_secret(line.message, self.secrets)
            else line
            for line in _parse_logs(data.get("logs"))
        )
        self.logs = _merge_logs(self.logs, new)
        position = data.get("queue_position")
        return QueueUpdate(
            request_id=self.job.request_id,
            status=data["status"],
            queue_position=position if isinstance(position, int) and not isinstance(position, bool) else None,
            logs=self.logs,
            elapsed=max(0.0, time.time() - self.job.submitted_at),
            error=_redact(_plain(data["error"]), self.secrets) if data.get("error") else None,
            error_type=str(data["error_type"]) if data.get("error_type") else None,
        )


def _parse_logs(raw: Any) -> tuple[LogLine, ...]:
    if not isinstance(raw, list):
        return ()
    out = []
    for item in raw:
        if isinstance(item, Mapping):
            ts = item.get("timestamp")
            out.append(LogLine(str(item.get("message", "")), str(item.get("level") or "INFO"), str(ts) if ts else None))
        elif isinstance(item, str):
            out.append(LogLine(item))
    return tuple(out)


def _merge_logs(seen: tuple[LogLine, ...], new: tuple[LogLine, ...]) -> tuple[LogLine, ...]:
    # fal's status carries every line so far; a stream event may carry only new ones. Accept both:
    # a list that starts with what we have is the whole history, anything else is appended.
    if new[: len(seen)] == seen:
        return new if len(new) >= len(seen) else seen
    if seen[-len(new) :] == new:  # the same tail again (a reconnect replayed it)
        return seen
    return seen + new


@dataclass
class _Ctx:
    """What an error message needs to say: which model, which request, doing what."""

    spec: ModelSpec
    action: str
    request_id: str | None = None
    #: the request's own secrets (its api_key), scrubbed from whatever the service says
    secrets: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# The async client
# --------------------------------------------------------------------------------------------
_announced_emulator = False
_announce_lock = threading.Lock()


def _announce_emulator(where: str) -> None:
    global _announced_emulator
    with _announce_lock:
        if _announced_emulator:
            return
        _announced_emulator = True
    log.warning(
        "No fal key found (FAL_KEY, or FAL_KEY_ID/FAL_KEY_SECRET): using the built-in emulator at %s. "
        "Videos are synthetic and nothing is charged. Set FAL_KEY to use fal.ai.",
        where,
    )


def mark_emulator_announced() -> None:
    """Skip the one-time "using the emulator" notice: the caller has told the user already.

    The panel calls this: its provider badge says "Emulator", and in JupyterLab the logged
    warning would show as a red stderr box right above it. Plain Python users of the clients
    still get the notice once per process.
    """
    global _announced_emulator
    with _announce_lock:
        _announced_emulator = True


class AsyncFalClient:
    """fal's queue API over httpx, asynchronous. One instance per event loop.

    ``key``: a fal key; default ``FAL_KEY`` or ``FAL_KEY_ID``/``FAL_KEY_SECRET``. With no key
    anywhere (and no ``transport``/``queue_url`` given), the client talks to the built-in
    in-process emulator and says so once (``.provider == "emulator"``).

    ``transport``: any httpx async transport (the emulator's, or a test's fault injector).
    ``max_concurrency``: how many jobs may be in flight (submit→result) at once: each
    :meth:`generate` and each block under :meth:`slot` (the generator's jobs) holds one.
    ``retry``: the :class:`RetryPolicy` of idempotent requests (submit has its own, stricter rule).
    ``poll_interval``/``max_poll_interval``: polling backoff when the status stream is unavailable.
    """

    def __init__(
        self,
        key: str | SecretStr | None = None,
        *,
        queue_url: str | None = None,
        run_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_concurrency: int = 8,
        retry: RetryPolicy | None = None,
        poll_interval: float = 0.25,
        max_poll_interval: float = 2.5,
        use_stream: bool = True,
        emulator: _Emulator | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        # Environment overrides let the CLI and the panel reach a loopback emulator or a proxy
        # without code changes; an explicit argument still wins.
        queue_url = queue_url or os.environ.get(QUEUE_URL_ENV) or DEFAULT_QUEUE_URL
        run_url = (
            run_url
            or os.environ.get(RUN_URL_ENV)
            or (DEFAULT_RUN_URL if queue_url.rstrip("/") == DEFAULT_QUEUE_URL else queue_url.rstrip("/") + "/run")
        )
        resolved = resolve_key(key)
        self._key: SecretStr | None = resolved.secret if resolved else None
        self._key_source = resolved.source if resolved else None
        custom_target = transport is not None or queue_url.rstrip("/") != DEFAULT_QUEUE_URL
        if emulator is None and resolved is None and not custom_target:
            emulator = _default_emulator()
        if emulator is not None:
            transport = emulator.transport()
            queue_url = emulator.base_url
            run_url = emulator.base_url.rstrip("/") + "/run"
            _announce_emulator(emulator.base_url)
        #: "fal" when a key is used; "emulator" otherwise (nothing is charged without a key).
        self.provider: Provider = "fal" if resolved is not None and emulator is None else "emulator"
        self._queue_url = queue_url.rstrip("/")
        self._run_url = run_url.rstrip("/")
        # The key is sent only to these origins; media/CDN hosts never see it.
        self._key_origins = {_origin(self._queue_url), _origin(self._run_url)}
        self._retry = retry or RetryPolicy()
        self._poll_interval = poll_interval
        self._max_poll_interval = max(poll_interval, max_poll_interval)
        self._use_stream = use_stream
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._slots = asyncio.Semaphore(max_concurrency)
        self.max_concurrency = max_concurrency
        # Each waiting job may hold one streaming connection; leave room for submits, results
        # and downloads beside them so that a full house of waits never starves a result fetch.
        limits = httpx.Limits(max_connections=2 * max_concurrency + 16, max_keepalive_connections=max_concurrency + 8)
        from . import __version__

        # The queue API's requests skip httpx.AsyncClient's per-request layers (URL merging, cookie
        # jar, auth and redirect machinery: ~0.1 ms each) and go straight to the transport the
        # client would pick. Not when environment proxies are set: httpx then routes by URL.
        self._direct: httpx.AsyncBaseTransport | None = None
        if transport is None and not _env_proxies():
            # Our own HTTP/1.1 on plain asyncio (_http11): a fraction of httpcore + h11 + anyio per request.
            transport = make_transport(limits)
        if transport is not None:
            self._direct = transport  # httpx ignores environment proxies when given a transport
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=self._timeout,
            limits=limits,
            follow_redirects=True,  # CDNs redirect; httpx drops Authorization on a cross-origin redirect
            headers={"User-Agent": f"sora2-widgets/{__version__}"},
        )
        self._base_headers = {k.lower(): v for k, v in self._http.headers.items()}
        self._timeout_ext = self._timeout.as_dict()
        # Failures a COMPLETED status reported, so result() can raise them without another request.
        self._failures: dict[str, tuple[str, str | None]] = {}
        # Each submitted job's own secrets (its api_key), to scrub from that job's later errors and
        # logs. Only this client's jobs: a job resumed in a new process has no record of its key
        # (the history does not keep it), so there only the key's shape is caught (_OPENAI_KEY).
        self._job_secrets: dict[str, tuple[str, ...]] = {}

    # -- presentation --------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return httpx.URL(self._queue_url).host

    @property
    def queue_url(self) -> str:
        return self._queue_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r}, host={self.host!r})"

    # -- lifecycle -----------------------------------------------------------------------------
    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncFalClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- sending -------------------------------------------------------------------------------
    async def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        *,
        body: Any = None,
        timeout: httpx.Timeout | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        try:
            return await self._send_once(method, url, headers, body=body, timeout=timeout, stream=stream)
        except httpx.ConnectError as exc:
            # A certificate that fails verification will fail the same way on every retry, and
            # "could not connect" would hide the one thing the user must look at.
            if _tls_verification_failed(exc):
                host = httpx.URL(url).host
                raise ServiceError(
                    f"The TLS certificate of {host} could not be verified, so nothing was sent. "
                    "If you go through a proxy with its own certificate authority, point "
                    "SSL_CERT_FILE at that authority's certificate."
                ) from None
            raise

    async def _send_once(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        *,
        body: Any = None,
        timeout: httpx.Timeout | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """One queue-API request: what ``AsyncClient.request``/``.send(stream=True)`` do for us, minus
        what these requests never use (cookies, auth flows, event hooks, params merging).

        A redirect (never sent by fal's queue API) is handed to the full client, which follows
        it and drops the key on a cross-origin hop as before."""
        content = None
        all_headers = {**self._base_headers, **{k.lower(): v for k, v in headers.items()}}
        if body is not None:
            content = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
            all_headers["content-type"] = "application/json"
        transport = self._direct
        if transport is None:
            return await self._send_full(method, url, headers, content, timeout, stream)
        request = httpx.Request(method, url, headers=all_headers, content=content)
        request.extensions = {"timeout": timeout.as_dict() if timeout is not None else self._timeout_ext}
        response = await transport.handle_async_request(request)
        response.request = request
        try:
            if response.has_redirect_location:
                await response.aclose()
                return await self._send_full(method, url, headers, content, timeout, stream)
            if not stream:
                await response.aread()
        except BaseException:
            await response.aclose()
            raise
        return response

    async def _send_full(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
        timeout: httpx.Timeout | None,
        stream: bool,
    ) -> httpx.Response:
        extra = {**headers, "Content-Type": "application/json"} if content is not None else headers
        request = self._http.build_request(
            method, url, headers=extra, content=content, timeout=timeout if timeout is not None else self._timeout
        )
        return await self._http.send(request, stream=stream)

    # -- auth ----------------------------------------------------------------------------------
    def _headers_for(self, url: str | httpx.URL) -> dict[str, str]:
        if self._key is None or _origin(url) not in self._key_origins:
            return {}
        return {"Authorization": f"Key {self._key.get_secret_value()}"}

    def _secrets(self, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
        every = (self._key.get_secret_value(), *extra) if self._key is not None else extra
        return tuple(secret for secret in every if secret)

    def _scrub(self, text: str, secrets: tuple[str, ...] = ()) -> str:
        """Belt and braces: a service that echoes a key back (the fal key, or the job's own OpenAI
        ``api_key``: "Incorrect API key provided: sk-…") must not put it in our messages."""
        redacted: str = _redact(text, self._secrets(secrets))
        return redacted[:500]

    def _scrub_detail(self, body: Any, secrets: tuple[str, ...]) -> Any:
        return _redact(_safe_detail(body), self._secrets(secrets))

    def _job_ctx(self, job: Job, action: str) -> _Ctx:
        return _Ctx(get_model(job.model_id), action, job.request_id, self._job_secrets.get(job.request_id, ()))

    # -- error mapping -------------------------------------------------------------------------
    def _error_for(self, response: httpx.Response, ctx: _Ctx) -> Sora2Error:
        """The exception for a non-retryable HTTP error answer."""
        code = response.status_code
        body = _body(response)
        message, error_type = _message_and_type(body)
        message = self._scrub(message, ctx.secrets)
        spec = ctx.spec
        if code in (401, 403):
            if self._key is None:
                return AuthError(
                    f"{self.host} asked for a fal key (HTTP {code}). Set FAL_KEY (https://fal.ai/dashboard/keys).",
                    status_code=code,
                )
            return AuthError(
                f"fal refused the key from {self._key_source} (HTTP {code}). "
                "Check it at https://fal.ai/dashboard/keys, or unset it to use the built-in emulator.",
                status_code=code,
                key_source=self._key_source,
            )
        if code == 422:
            errors = [FieldError(e.field, self._scrub(e.message, ctx.secrets)) for e in _field_errors(body)]
            if spec.is_sora and _names_unavailable(message, error_type):
                return ModelUnavailableError(spec.id, spec.endpoint, status_code=code, reason=message[:200])
            return ValidationError(spec.id, errors, from_service=True)
        if code == 404 and ctx.request_id and _REQUEST_NOT_FOUND.search(message):
            return ServiceError(
                f"{spec.name}: request {ctx.request_id} is not known to the service "
                "(wrong id, or it expired). Nothing to wait for.",
                status_code=code,
                request_id=ctx.request_id,
                detail=self._scrub_detail(body, ctx.secrets),
            )
        # 404/410 means "no such endpoint" only where the URL is the endpoint's own (submit); on a
        # request's URLs it is the request that is unknown or expired (``_is_gone`` upstream).
        retired_endpoint = ctx.action == "submit" and code in (404, 410)
        if spec.is_sora and (retired_endpoint or (400 <= code < 500 and _names_unavailable(message, error_type))):
            return ModelUnavailableError(spec.id, spec.endpoint, status_code=code, reason=message[:200])
        if code == 429:
            return RateLimitError(f"fal is rate-limiting requests ({spec.name}); try again shortly.")
        what = f" ({message})" if message else ""
        return ServiceError(
            f"{spec.name}: the {ctx.action} request failed with HTTP {code}{what}.",
            status_code=code,
            request_id=ctx.request_id,
            detail=self._scrub_detail(body, ctx.secrets),
        )

    def _completed_error(
        self, job: Job, error: str, error_type: str | None, *, status_code: int | None = None
    ) -> Sora2Error:
        """The exception for a job that finished with an error (COMPLETED + ``error``, or the
        service's error on its result URL)."""
        spec = get_model(job.model_id)
        error = self._scrub(error, self._job_secrets.get(job.request_id, ()))
        if spec.is_sora and _names_unavailable(error, error_type):
            return ModelUnavailableError(spec.id, spec.endpoint, status_code=status_code, reason=error[:200])
        if (error_type or "") in ("client_cancelled", "cancelled", "request_cancelled") or "cancel" in error.lower():
            return JobCancelledError(job.request_id)
        return ServiceError(
            f"{spec.name} failed: {error}",
            status_code=status_code,
            request_id=job.request_id,
            detail={"error": error, "error_type": error_type},
            job_failed=True,
        )

    def _exhausted(self, ctx: _Ctx, last: _Retry, tries: int) -> Sora2Error:
        about = f" for request {ctx.request_id}" if ctx.request_id else ""
        if last.status_code == 429:
            return RateLimitError(
                f"fal kept rate-limiting the {ctx.action} request{about} ({tries} tries); try again in a minute.",
                retry_after=last.retry_after,
            )
        tail = " The job is still recorded and can be resumed by its request id." if ctx.request_id else ""
        why = f"{last.why}: {last.message}" if last.message else last.why
        return ServiceError(
            f"{ctx.spec.name}: the {ctx.action} request{about} kept failing ({why}; {tries} tries).{tail}",
            status_code=last.status_code,
            request_id=ctx.request_id,
        )

    # -- the retry loop for idempotent requests -------------------------------------------------
    async def _request(
        self,
        method: str,
        url: str,
        ctx: _Ctx,
        *,
        parse: Callable[[httpx.Response], T],
        passthrough: frozenset[int] = frozenset(),
        final_5xx: Callable[[httpx.Response, Any], Sora2Error | None] | None = None,
    ) -> tuple[int, T | None]:
        """Send an idempotent request, retrying what is safe to retry; parse the 2xx answer.

        Returns ``(status_code, parsed)``; for a status code in ``passthrough`` (e.g. cancel's 400)
        returns ``(code, None)`` instead of raising. ``final_5xx(response, body)`` may turn a 5xx
        into a final error (the result URL's job failures) instead of a retry.
        """
        policy = self._retry
        slept = 0.0
        tries = 0
        while True:
            tries += 1
            try:
                response = await self._send(method, url, self._headers_for(url))
                code = response.status_code
                if code in passthrough:
                    return code, None
                if code == 429 or code >= 500:
                    body = _body(response)
                    final = final_5xx(response, body) if final_5xx is not None and code >= 500 else None
                    if final is not None:
                        raise final
                    said = self._scrub(_said(body), ctx.secrets)
                    raise _Retry(f"HTTP {code}", status_code=code, retry_after=_retry_after(response), message=said)
                if code >= 400:
                    raise self._error_for(response, ctx)
                try:
                    return code, parse(response)
                except (_Malformed, ValueError, KeyError, TypeError) as exc:
                    raise _Retry(f"unreadable answer ({type(exc).__name__})", status_code=code) from None
            except httpx.TransportError as exc:
                last = _Retry(_describe_exc(exc))
            except _Retry as exc:
                last = exc
            delay = policy.delay(tries, last.retry_after)
            if tries >= policy.attempts or slept + delay > policy.max_total:
                raise self._exhausted(ctx, last, tries)
            log.info(
                "%s %s: %s; retry %d/%d in %.2f s", ctx.action, ctx.request_id or ctx.spec.id, last.why, tries,
                policy.attempts - 1, delay,
            )  # fmt: skip
            await policy.sleep(delay)
            slept += delay

    # -- submit --------------------------------------------------------------------------------
    def _payload(self, spec: ModelSpec, params: Mapping[str, Any]) -> dict[str, Any]:
        """Validated request body. Invalid input raises here, before any network traffic."""
        return spec.validate(with_image_data_uris(spec.id, params)).to_payload()

    def _job_urls(self, spec: ModelSpec, request_id: str) -> tuple[str, str, str]:
        # fal's rule (research.md §4): queue URLs live under owner/app only, the sub-path is dropped.
        base = f"{self._queue_url}/{spec.app_id}/requests/{quote(request_id, safe='')}"
        return f"{base}/status", base, f"{base}/cancel"

    async def submit(self, model_id: str | ModelSpec, **params: Any) -> Job:
        """Validate ``params`` with the catalog schema, then submit one job. Never submits twice.

        ``image_url`` may be a local path, bytes or a PIL image: it is sent as a data URI.
        Raises :class:`ValidationError` (nothing sent), :class:`SubmitUncertainError` (a job may exist;
        not retried), :class:`AuthError`, :class:`ModelUnavailableError`, :class:`RateLimitError`.
        """
        spec = get_model(model_id)
        return await self._submit(spec, self._payload(spec, params))

    async def _submit(self, spec: ModelSpec, body: dict[str, Any]) -> Job:
        url = f"{self._queue_url}/{spec.endpoint}"
        secrets = tuple(str(body[name]) for name in spec.input_model.SECRET_FIELDS if body.get(name))
        ctx = _Ctx(spec, "submit", secrets=secrets)
        policy = self._retry
        slept = 0.0
        tries = 0
        while True:
            tries += 1
            try:
                response = await self._send("POST", url, self._headers_for(url), body=body)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # No connection was ever made, so the body never left: provably no job. Safe to retry.
                last = _Retry(_describe_exc(exc))
            except httpx.TransportError as exc:
                # The body may have reached fal: a job may exist and be billed. Never resubmit blindly.
                raise SubmitUncertainError(spec.id, spec.endpoint, f"{_describe_exc(exc)} after sending") from exc
            else:
                code = response.status_code
                request_id = response.headers.get("x-fal-request-id")
                if 200 <= code < 300:
                    job = self._job_from_submit(spec, response)
                    if secrets:
                        self._job_secrets[job.request_id] = secrets
                    return job
                if code == 429 or (code == 503 and not request_id):
                    # Refused at the door (rate limit / gateway without a request id): no job was made.
                    said = self._scrub(_said(_body(response)), secrets)
                    last = _Retry(f"HTTP {code}", status_code=code, retry_after=_retry_after(response), message=said)
                elif code >= 500:
                    known = f", request id {request_id}" if request_id else ""
                    raise SubmitUncertainError(spec.id, spec.endpoint, f"HTTP {code}{known}")
                else:
                    raise self._error_for(response, ctx)
            delay = policy.delay(tries, last.retry_after)
            if tries >= policy.attempts or slept + delay > policy.max_total:
                raise self._exhausted(ctx, last, tries)
            log.info("submit %s: %s (no job was created); retry in %.2f s", spec.id, last.why, delay)
            await policy.sleep(delay)
            slept += delay

    def _job_from_submit(self, spec: ModelSpec, response: httpx.Response) -> Job:
        try:
            data = response.json()
            request_id = str(data["request_id"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            # The service accepted the job but we cannot tell which one it is.
            raise SubmitUncertainError(
                spec.id, spec.endpoint, f"HTTP {response.status_code} with an unreadable answer"
            ) from None
        status_url, response_url, cancel_url = self._job_urls(spec, request_id)
        position = data.get("queue_position")
        job = Job(
            model_id=spec.id,
            endpoint=spec.endpoint,
            request_id=request_id,
            status_url=str(data.get("status_url") or status_url),
            response_url=str(data.get("response_url") or response_url),
            cancel_url=str(data.get("cancel_url") or cancel_url),
            submitted_at=time.time(),
            provider=self.provider,
            queue_position=position if isinstance(position, int) and not isinstance(position, bool) else None,
        )
        log.info("submitted %s as request %s (%s)", spec.id, request_id, self.provider)
        return job

    def resume(
        self,
        request_id: str,
        model_id: str | ModelSpec,
        *,
        status_url: str | None = None,
        response_url: str | None = None,
        cancel_url: str | None = None,
        submitted_at: float | None = None,
    ) -> Job:
        """A :class:`Job` for a request submitted earlier (e.g. before a kernel restart).

        Pass the URLs recorded at submit time when you have them; otherwise they are rebuilt with
        fal's app-id rule. ``submitted_at`` (epoch seconds) keeps ``elapsed`` meaningful.
        """
        spec = get_model(model_id)
        if not request_id or not request_id.strip():
            raise ValueError("resume() needs the request id of the earlier job")
        rebuilt = self._job_urls(spec, request_id)
        return Job(
            model_id=spec.id,
            endpoint=spec.endpoint,
            request_id=request_id,
            status_url=status_url or rebuilt[0],
            response_url=response_url or rebuilt[1],
            cancel_url=cancel_url or rebuilt[2],
            submitted_at=submitted_at if submitted_at is not None else time.time(),
            provider=self.provider,
        )

    # -- status / wait -------------------------------------------------------------------------
    async def status(self, job: Job, *, logs: bool = True) -> QueueUpdate:
        """One status check (``GET {status_url}?logs=1``)."""
        update = await self._poll_once(job, self._tracker(job), logs=logs)
        self._note_failure(update)
        return update

    async def _poll_once(self, job: Job, tracker: _Tracker, *, logs: bool = True) -> QueueUpdate:
        ctx = self._job_ctx(job, "status")
        _, update = await self._request(
            "GET",
            _with_logs(job.status_url, logs),
            ctx,
            parse=lambda r: tracker.apply(r.json()),
        )
        assert update is not None
        return update

    def _tracker(self, job: Job) -> _Tracker:
        return _Tracker(job, self._secrets(self._job_secrets.get(job.request_id, ())))

    def _note_failure(self, update: QueueUpdate) -> None:
        if update.failed and update.error is not None:
            self._failures[update.request_id] = (update.error, update.error_type)

    async def wait(
        self,
        job: Job,
        *,
        on_update: UpdateCallback | None = None,
        timeout: float | None = None,
        cancel_on_timeout: bool = False,
    ) -> QueueUpdate:
        """Wait until the job is COMPLETED; return the final update (check ``.failed``).

        ``on_update(update)`` (sync or async) gets every status change with queue position, all logs
        so far and elapsed time. ``timeout`` (wall-clock seconds) raises :class:`JobTimeoutError`;
        with ``cancel_on_timeout=True`` the job is cancelled on the service first. If the waiting
        task is cancelled (KeyboardInterrupt, Stop button) the job is left running: it was returned
        by :meth:`submit` and can be resumed.
        """
        if timeout is None:
            return await self._wait(job, on_update)
        try:
            return await asyncio.wait_for(self._wait(job, on_update), timeout)
        except asyncio.TimeoutError:
            cancelled = False
            if cancel_on_timeout:
                try:
                    cancelled = await self.cancel(job)
                except Sora2Error as exc:
                    log.warning("could not cancel request %s after the timeout: %s", job.request_id, exc)
            raise JobTimeoutError(job.request_id, timeout, cancelled=cancelled) from None

    async def _wait(self, job: Job, on_update: UpdateCallback | None) -> QueueUpdate:
        tracker = self._tracker(job)
        seen: list[tuple[object, ...]] = []

        async def emit(update: QueueUpdate) -> None:
            key = (update.status, update.queue_position, update.logs, update.error)
            if seen and seen[-1] == key:
                return  # nothing new (a keep-alive poll): don't wake the UI
            seen[:] = [key]
            if on_update is not None:
                try:
                    await _call_back(on_update, update)
                except Exception:
                    # A broken progress display must not abandon a paid job.
                    log.exception("on_update callback failed for request %s", job.request_id)

        final: QueueUpdate | None = None
        if self._use_stream:
            for attempt in range(1, STREAM_ATTEMPTS + 1):
                retry_after: float | None = None
                try:
                    final = await self._wait_stream(job, tracker, emit)
                except _StreamUnsupported as exc:
                    if exc.permanent:
                        log.info("status stream not offered by %s; polling from now on", self.host)
                        self._use_stream = False
                    break
                except (httpx.TransportError, _Retry) as exc:
                    why = exc.why if isinstance(exc, _Retry) else _describe_exc(exc)
                    retry_after = exc.retry_after if isinstance(exc, _Retry) else None
                    log.info("status stream for %s broke (%s), attempt %d", job.request_id, why, attempt)
                if final is not None:
                    break
                # A 429/503 on the stream says when to come back, like on any other request.
                await self._retry.sleep(self._retry.delay(attempt, retry_after))
        if final is None:
            final = await self._wait_poll(job, tracker, emit)
        self._note_failure(final)
        return final

    async def _wait_stream(
        self, job: Job, tracker: _Tracker, emit: Callable[[QueueUpdate], Awaitable[None]]
    ) -> QueueUpdate | None:
        """Follow ``{status_url}/stream``; the final update, or None if the stream ended early."""
        url = _with_logs(job.status_url.rstrip("/") + "/stream", True)
        headers = {**self._headers_for(url), "Accept": "text/event-stream"}
        timeout = httpx.Timeout(self._timeout.connect or 10.0, read=STREAM_READ_TIMEOUT)
        ctx = self._job_ctx(job, "status")
        response = await self._send("GET", url, headers, timeout=timeout, stream=True)
        try:
            code = response.status_code
            if code in (404, 405, 501):
                await response.aread()
                # 405/501: this server has no stream endpoint. 404 may instead be an unknown (or
                # expired) request: polling says which, precisely, and only this wait polls.
                raise _StreamUnsupported(permanent=code != 404)
            if code >= 400:
                await response.aread()
                if code == 429 or code >= 500:
                    raise _Retry(f"HTTP {code}", status_code=code, retry_after=_retry_after(response))
                raise self._error_for(response, ctx)
            data: list[bytes] = []
            lines = _sse_lines(response.aiter_bytes())
            async for line in lines:
                if line.startswith(b"data:"):
                    data.append(line[6:] if line.startswith(b"data: ") else line[5:])
                    continue
                if line or not data:
                    continue  # comments (":" keep-alives), event:/id:/retry: fields, blank lines between events
                update = self._event(tracker, data)
                data = []
                if update is not None:
                    await emit(update)
                    if update.done:
                        await _drain(lines)
                        return update
            if data:  # last event without its trailing blank line
                update = self._event(tracker, data)
                if update is not None:
                    await emit(update)
                    if update.done:
                        return update
        finally:
            await response.aclose()
        return None

    @staticmethod
    def _event(tracker: _Tracker, data: list[bytes]) -> QueueUpdate | None:
        try:
            # json.loads takes the UTF-8 bytes as they came: no text decoding step per event.
            return tracker.apply(json.loads(data[0] if len(data) == 1 else b"\n".join(data)))
        except (ValueError, _Malformed):
            # One unreadable event is skipped: the next one carries the whole state again.
            log.debug("skipping an unreadable status event for %s", tracker.job.request_id)
            return None

    async def _wait_poll(
        self, job: Job, tracker: _Tracker, emit: Callable[[QueueUpdate], Awaitable[None]]
    ) -> QueueUpdate:
        interval = self._poll_interval
        while True:
            update = await self._poll_once(job, tracker)
            await emit(update)
            if update.done:
                return update
            await asyncio.sleep(interval)
            interval = min(interval * 1.5, self._max_poll_interval)

    # -- result / cancel -----------------------------------------------------------------------
    async def result(self, job: Job) -> VideoResult:
        """The finished video. A job that failed raises (:class:`ServiceError` with the service's
        plain message, :class:`ModelUnavailableError`, :class:`ValidationError` for a refused prompt)."""
        failure = self._failures.get(job.request_id)
        if failure is not None:
            raise self._completed_error(job, *failure)
        ctx = self._job_ctx(job, "result")

        def parse(response: httpx.Response) -> dict[str, Any]:
            data = response.json()
            if not isinstance(data, dict):
                raise _Malformed("result is not a JSON object")
            return data

        def job_failure(response: httpx.Response, body: Any) -> Sora2Error | None:
            # fal retries a failing job itself (up to 10 runners) before its result URL answers
            # 5xx with the reason: that answer is the job's end, and asking again repeats it.
            if not _carries_fal_error(response, body):
                return None  # a bare gateway 502/503/504: the answer was lost on the way, ask again
            message, error_type = _message_and_type(body)
            error_type = error_type or response.headers.get("x-fal-error-type") or None
            code = response.status_code
            return self._completed_error(job, message or f"HTTP {code}", error_type, status_code=code)

        _, data = await self._request("GET", job.response_url, ctx, parse=parse, final_5xx=job_failure)
        assert data is not None
        if data.get("video") is None and (data.get("error") or data.get("detail")):
            message, error_type = _message_and_type(data)
            raise self._completed_error(job, message, error_type)
        # A service may echo the request's input (api_key included) in the result; it is kept in
        # VideoResult.raw, which shows in its repr.
        data = _redact(data, self._secrets(ctx.secrets))
        try:
            return VideoResult.parse(job.model_id, data, job.request_id)
        except (ValueError, pydantic.ValidationError) as exc:
            raise ServiceError(
                f"{ctx.spec.name}: the result of request {job.request_id} holds no usable video ({exc})",
                request_id=job.request_id,
            ) from None

    async def cancel(self, job: Job) -> bool:
        """Ask the service to cancel. True: accepted; False: it had already finished (or is unknown)."""
        ctx = self._job_ctx(job, "cancel")
        code, _ = await self._request(
            "PUT", job.cancel_url, ctx, parse=lambda r: None, passthrough=frozenset({400, 404})
        )
        accepted = 200 <= code < 300
        log.info("cancel %s: %s", job.request_id, "accepted" if accepted else f"not needed (HTTP {code})")
        return accepted

    # -- all in one ----------------------------------------------------------------------------
    async def generate(
        self,
        model_id: str | ModelSpec,
        *,
        on_update: UpdateCallback | None = None,
        on_submit: SubmitCallback | None = None,
        timeout: float | None = None,
        cancel_on_timeout: bool = False,
        **params: Any,
    ) -> VideoResult:
        """Submit, wait, fetch the result. ``on_submit(job)`` runs right after the submit and before
        any waiting, so the request id can be recorded first. Holds one of ``max_concurrency``
        slots from submit to result."""
        spec = get_model(model_id)
        body = self._payload(spec, params)  # invalid input fails now, not after queuing for a slot
        async with self.slot():
            job = await self._submit(spec, body)
            if on_submit is not None:
                await _call_back(on_submit, job)
            await self.wait(job, on_update=on_update, timeout=timeout, cancel_on_timeout=cancel_on_timeout)
            return await self.result(job)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the ``max_concurrency`` slots for a job driven step by step.

        :meth:`submit`, :meth:`wait` and :meth:`result` take no slot themselves (a slot taken at
        submit could never be given back by a caller that stops after it). A caller running a job
        as separate calls holds the slot around them all::

            async with client.slot():
                job = await client.submit(...)
                await client.wait(job)
                result = await client.result(job)

        Reentrant: inside a slot (and in tasks started from it) ``slot()`` and :meth:`generate`
        use the slot already held, so nesting never waits for itself.
        """
        held = _HELD_SLOTS.get()
        if id(self._slots) in held:
            yield
            return
        async with self._slots:
            token = _HELD_SLOTS.set(held | {id(self._slots)})
            try:
                yield
            finally:
                _HELD_SLOTS.reset(token)

    # -- download ------------------------------------------------------------------------------
    async def download(self, url: str, dest: str | os.PathLike[str]) -> Downloaded:
        """Save ``url`` at ``dest`` atomically: stream to a temp file beside it, check the length,
        fsync, rename. Retried like any idempotent GET; the key is sent only to the queue host."""
        target = _prepare_target(dest)
        policy = self._retry
        slept = 0.0
        tries = 0
        while True:
            tries += 1
            try:
                return await self._download_once(url, target)
            except httpx.TransportError as exc:
                last = _Retry(_describe_exc(exc))
            except _Retry as exc:
                last = exc
            delay = policy.delay(tries, last.retry_after)
            if tries >= policy.attempts or slept + delay > policy.max_total:
                raise ServiceError(
                    f"Downloading {httpx.URL(url).host or 'the video'} kept failing ({last.why}; {tries} tries).",
                    status_code=last.status_code,
                )
            log.info("download from %s: %s; retry in %.2f s", httpx.URL(url).host, last.why, delay)
            await policy.sleep(delay)
            slept += delay

    async def _download_once(self, url: str, target: Path) -> Downloaded:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb", buffering=0) as out:
                sink = _FileSink(out)
                try:
                    async with self._http.stream("GET", url, headers=self._headers_for(url)) as response:
                        code = response.status_code
                        if code == 429 or code >= 500:
                            raise _Retry(f"HTTP {code}", status_code=code, retry_after=_retry_after(response))
                        if code >= 400:
                            gone = " (the link may have expired)" if code in (403, 404, 410) else ""
                            raise ServiceError(
                                f"Downloading the video failed with HTTP {code}{gone}.", status_code=code
                            )
                        expected = response.headers.get("content-length")
                        encoded = response.headers.get("content-encoding", "identity").lower() not in ("", "identity")
                        async for chunk in response.aiter_bytes():
                            sink.add(chunk)
                    size, sha256 = await sink.finish()
                finally:
                    await sink.aclose()
                if expected is not None and not encoded and expected.isdigit() and int(expected) != size:
                    raise _Retry(f"truncated body ({size} of {expected} bytes)")
            os.replace(tmp, target)
            _fsync_dir(target.parent)
        finally:
            _discard(tmp)  # no-op after the rename; removes a partial file otherwise
        log.info("downloaded %s (%d bytes)", target.name, size)
        return Downloaded(target, size, sha256)


class _FileSink:
    """Writes and hashes a download as it arrives; flushes it to disk behind the reader's back.

    Writing and hashing stay on the event loop, one received chunk (≤256 KiB) at a time: that is
    under a millisecond per chunk, and measured on 2 cores it beat handing the work to a thread
    (the loop, the thread and a local server then compete for the cores). What does pay off in
    the background is the disk: every ``SINK_SYNC_EVERY`` bytes a worker thread fdatasyncs what
    was written so far (at most one at a time; it waits on the disk, not the CPU), so the final
    fsync finds little left instead of the whole file. Memory: nothing is held beyond the chunk.
    """

    def __init__(self, out: Any) -> None:
        self._out = out
        self._fd: int = out.fileno()
        self._digest = hashlib.sha256()
        self._size = 0
        self._unsynced = 0
        self._syncing: asyncio.Future[None] | None = None

    def add(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:  # an unbuffered file may write less than asked
            view = view[self._out.write(view) :]
        self._digest.update(chunk)
        self._size += len(chunk)
        self._unsynced += len(chunk)
        if self._unsynced >= SINK_SYNC_EVERY and (self._syncing is None or self._syncing.done()):
            if self._syncing is not None:
                self._syncing.result()  # a failed flush fails the download
            self._syncing = asyncio.get_running_loop().run_in_executor(None, _datasync, self._fd)
            self._unsynced = 0

    async def finish(self) -> tuple[int, str]:
        """fsync everything; the size and sha256 of what was written."""
        if self._syncing is not None:
            await self._syncing
            self._syncing = None
        await asyncio.to_thread(os.fsync, self._fd)
        return self._size, self._digest.hexdigest()

    async def aclose(self) -> None:
        # On an error, let a flush still running end before the file is closed under it.
        syncing, self._syncing = self._syncing, None
        if syncing is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(syncing)


def _datasync(fd: int) -> None:
    # fdatasync skips the metadata flush; macOS and Windows have only fsync.
    sync = getattr(os, "fdatasync", os.fsync)
    sync(fd)


async def _sse_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The lines of a server-sent-event body, without their ends (CR LF, LF or CR, per the spec).

    Works on bytes: the events are UTF-8 JSON, which ``json.loads`` reads as bytes, so the
    incremental text decoder and line splitter of ``aiter_lines`` are pure overhead here.
    """
    pending = b""
    after_cr = False  # the last chunk ended in CR: a LF starting the next one belongs to it
    async for chunk in chunks:
        if after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        if pending:
            chunk = pending + chunk
        if not chunk:
            continue
        lines = chunk.splitlines()  # bytes split only on \n, \r\n and \r
        after_cr = chunk.endswith(b"\r")
        pending = b"" if after_cr or chunk.endswith(b"\n") else lines.pop()
        for line in lines:
            yield line
    if pending:
        yield pending


async def _drain(lines: AsyncIterator[bytes]) -> None:
    """Read what is left of a finished stream (bounded), so that its connection can be reused.

    The bound is a timer that cancels this task, not ``asyncio.wait_for``: that would start a
    second task (three extra event-loop turns per job) to read what is nearly always nothing.
    """
    task = asyncio.current_task()
    assert task is not None
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    timer = asyncio.get_running_loop().call_later(STREAM_DRAIN_TIMEOUT, expire)
    try:
        async for _ in lines:
            pass
    except asyncio.CancelledError:
        if not expired:
            raise
        uncancel = getattr(task, "uncancel", None)  # 3.11+: keep the task's cancel count right
        if uncancel is not None:
            uncancel()
    except httpx.TransportError:
        pass  # on a timeout or error the connection is simply not reused
    finally:
        timer.cancel()


def _prepare_target(dest: str | os.PathLike[str]) -> Path:
    target = Path(dest).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself durable (POSIX); not possible (nor needed) on Windows.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _default_emulator() -> _Emulator:
    # Imported here, not at module top: the emulator is heavy (PyAV, Starlette) and optional for fal users.
    module = importlib.import_module("sora2_widgets.emulator")
    emulator: _Emulator = module.default_emulator()
    return emulator


# --------------------------------------------------------------------------------------------
# The sync facade
# --------------------------------------------------------------------------------------------
def _stop_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    if loop.is_closed():
        return
    loop.call_soon_threadsafe(loop.stop)
    if thread is not threading.current_thread():
        thread.join(timeout=5)
    if not loop.is_running():
        loop.close()


class FalClient:
    """The same client, synchronous. Works in scripts and inside a running Jupyter event loop.

    The real :class:`AsyncFalClient` lives on a private daemon thread with its own event loop;
    each method hands it a coroutine and blocks on the answer, so no "event loop is already
    running" error can happen. Callbacks (``on_update``, ``on_submit``) run on that thread.
    Interrupting a wait (Ctrl-C / the notebook's stop button) stops waiting, not the job: it was
    already returned by :meth:`submit` (or given to ``on_submit`` by :meth:`generate`).
    """

    def __init__(
        self,
        key: str | SecretStr | None = None,
        *,
        queue_url: str | None = None,
        run_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_concurrency: int = 8,
        retry: RetryPolicy | None = None,
        poll_interval: float = 0.25,
        max_poll_interval: float = 2.5,
        use_stream: bool = True,
        emulator: _Emulator | None = None,
    ) -> None:
        # The client is built first: if that fails (bad argument), no thread is left behind.
        self._async = AsyncFalClient(
            key,
            queue_url=queue_url,
            run_url=run_url,
            transport=transport,
            timeout=timeout,
            max_concurrency=max_concurrency,
            retry=retry,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            use_stream=use_stream,
            emulator=emulator,
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sora2-widgets-client", daemon=True)
        self._thread.start()
        # Stops the thread if the client is dropped without close() (daemon: never blocks exit).
        self._finalizer = weakref.finalize(self, _stop_loop, self._loop, self._thread)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError(
                "FalClient methods cannot be called from its own callbacks (they run on the client's "
                "thread); use AsyncFalClient there"
            )
        if self._loop.is_closed():
            coro.close()
            raise RuntimeError("this FalClient is closed")
        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return wait_interruptibly(future)
        except KeyboardInterrupt:
            future.cancel()  # stops our waiting task; the job itself keeps running on the service
            raise

    @property
    def provider(self) -> Provider:
        return self._async.provider

    @property
    def host(self) -> str:
        return self._async.host

    @property
    def max_concurrency(self) -> int:
        return self._async.max_concurrency

    @property
    def async_client(self) -> AsyncFalClient:
        """The underlying client (use it only from coroutines run on :attr:`loop`)."""
        return self._async

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def __repr__(self) -> str:
        return f"FalClient(provider={self.provider!r}, host={self.host!r})"

    def submit(self, model_id: str | ModelSpec, **params: Any) -> Job:
        return self._run(self._async.submit(model_id, **params))

    def status(self, job: Job, *, logs: bool = True) -> QueueUpdate:
        return self._run(self._async.status(job, logs=logs))

    def wait(
        self,
        job: Job,
        *,
        on_update: UpdateCallback | None = None,
        timeout: float | None = None,
        cancel_on_timeout: bool = False,
    ) -> QueueUpdate:
        try:
            return self._run(
                self._async.wait(job, on_update=on_update, timeout=timeout, cancel_on_timeout=cancel_on_timeout)
            )
        except KeyboardInterrupt:
            _log_left_running(job)
            raise

    def result(self, job: Job) -> VideoResult:
        return self._run(self._async.result(job))

    def cancel(self, job: Job) -> bool:
        return self._run(self._async.cancel(job))

    def generate(
        self,
        model_id: str | ModelSpec,
        *,
        on_update: UpdateCallback | None = None,
        on_submit: SubmitCallback | None = None,
        timeout: float | None = None,
        cancel_on_timeout: bool = False,
        **params: Any,
    ) -> VideoResult:
        submitted: list[Job] = []

        async def record(job: Job) -> None:
            submitted.append(job)
            if on_submit is not None:
                await _call_back(on_submit, job)

        try:
            return self._run(
                self._async.generate(
                    model_id,
                    on_update=on_update,
                    on_submit=record,
                    timeout=timeout,
                    cancel_on_timeout=cancel_on_timeout,
                    **params,
                )
            )
        except KeyboardInterrupt:
            if submitted:
                _log_left_running(submitted[0])
            raise

    def resume(
        self,
        request_id: str,
        model_id: str | ModelSpec,
        *,
        status_url: str | None = None,
        response_url: str | None = None,
        cancel_url: str | None = None,
        submitted_at: float | None = None,
    ) -> Job:
        return self._async.resume(
            request_id,
            model_id,
            status_url=status_url,
            response_url=response_url,
            cancel_url=cancel_url,
            submitted_at=submitted_at,
        )

    def download(self, url: str, dest: str | os.PathLike[str]) -> Downloaded:
        return self._run(self._async.download(url, dest))

    def close(self) -> None:
        if self._loop.is_closed() or not self._finalizer.alive:
            return
        try:
            self._run(self._async.aclose())
        finally:
            self._finalizer()

    def __enter__(self) -> FalClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _log_left_running(job: Job) -> None:
    log.warning(
        "Stopped waiting for request %s (%s); it keeps running on the service. "
        "Pick it up again with client.resume(%r, %r).",
        job.request_id,
        job.model_id,
        job.request_id,
        job.model_id,
    )
