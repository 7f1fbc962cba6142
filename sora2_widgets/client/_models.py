"""The client's public values: a job, where it stands, its log lines, a saved file, the retry policy."""

from __future__ import annotations

import asyncio
import inspect
import random as _random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

__all__ = [
    "STATUSES",
    "Downloaded",
    "Job",
    "LogLine",
    "Provider",
    "QueueUpdate",
    "RetryPolicy",
    "Status",
    "SubmitCallback",
    "UpdateCallback",
    "call_back",
]

Status = Literal["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]
STATUSES: frozenset[str] = frozenset({"IN_QUEUE", "IN_PROGRESS", "COMPLETED"})
Provider = Literal["fal", "emulator"]

T = TypeVar("T")


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


async def call_back(callback: Callable[[T], Awaitable[None] | None], value: T) -> None:
    """Call a user's callback, sync or async alike."""
    outcome = callback(value)
    if inspect.isawaitable(outcome):
        await outcome
