"""A job's status as the service reports it: status JSON → :class:`QueueUpdate`, logs merged, SSE lines.

fal sends the same status two ways: ``GET {status_url}?logs=1`` answers one JSON object, and
``GET {status_url}/stream?logs=1`` sends one per change as server-sent events, ending at COMPLETED.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from ._models import STATUSES, Job, LogLine, QueueUpdate
from ._redact import has_secret, redact
from ._responses import Malformed, plain

__all__ = ["STREAM_DRAIN_TIMEOUT", "Tracker", "drain", "merge_logs", "parse_logs", "sse_lines", "with_logs"]

#: After COMPLETED, fal closes the status stream; reading its last bytes (usually none) lets the
#: keep-alive connection go back to the pool instead of being dropped — one TCP connect per job saved.
STREAM_DRAIN_TIMEOUT = 0.5


class Tracker:
    """Turns status JSON into :class:`QueueUpdate` s for one wait, accumulating logs."""

    def __init__(self, job: Job, secrets: tuple[str, ...] = ()) -> None:
        self.job = job
        self.logs: tuple[LogLine, ...] = ()
        # The job's own secrets (its api_key): a model that echoes one in a log line or error must
        # not hand it to on_update, the panel or the history.
        self.secrets = secrets

    def apply(self, data: Any) -> QueueUpdate:
        if not isinstance(data, Mapping) or data.get("status") not in STATUSES:
            raise Malformed("status answer without a known status")
        new = tuple(self._scrubbed(line) for line in parse_logs(data.get("logs")))
        self.logs = merge_logs(self.logs, new)
        position = data.get("queue_position")
        return QueueUpdate(
            request_id=self.job.request_id,
            status=data["status"],
            queue_position=position if isinstance(position, int) and not isinstance(position, bool) else None,
            logs=self.logs,
            elapsed=max(0.0, time.time() - self.job.submitted_at),
            error=redact(plain(data["error"]), self.secrets) if data.get("error") else None,
            error_type=redact(str(data["error_type"]), self.secrets) if data.get("error_type") else None,
        )

    def _scrubbed(self, line: LogLine) -> LogLine:
        # Every text field of a log line is the service's: any of them may echo a key back.
        fields = {"message": line.message, "level": line.level, "timestamp": line.timestamp}
        dirty = {k: v for k, v in fields.items() if v is not None and has_secret(v, self.secrets)}
        return dataclasses.replace(line, **{k: redact(v, self.secrets) for k, v in dirty.items()}) if dirty else line


def parse_logs(raw: Any) -> tuple[LogLine, ...]:
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


def merge_logs(seen: tuple[LogLine, ...], new: tuple[LogLine, ...]) -> tuple[LogLine, ...]:
    # fal's status carries every line so far; a stream event may carry only new ones. Accept both:
    # a list that starts with what we have is the whole history, anything else is appended.
    if new[: len(seen)] == seen:
        return new if len(new) >= len(seen) else seen
    if seen[-len(new) :] == new:  # the same tail again (a reconnect replayed it)
        return seen
    return seen + new


def with_logs(url: str, logs: bool) -> str:
    # The query is appended as text: handing httpx ``params=`` makes it parse and rebuild the URL.
    return f"{url}{'&' if '?' in url else '?'}logs={'1' if logs else '0'}"


async def sse_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
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


async def drain(lines: AsyncIterator[bytes]) -> None:
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
