"""Following a job to COMPLETED: the status stream first, polling with backoff when it is not there.

One long request per job (``{status_url}/stream``) instead of a poll every 0.1 s. A stream that
breaks is retried (``STREAM_ATTEMPTS`` per wait); a server without one is polled (0.25 s → ×1.5 →
2.5 s), for this client's life when it answered 405/501.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

import httpx

from ._http import QueueHttp
from ._models import Job, QueueUpdate, UpdateCallback, call_back
from ._responses import Malformed, Retryable, describe_exc, retry_after
from ._status import Tracker, drain, sse_lines, with_logs

__all__ = ["STREAM_ATTEMPTS", "STREAM_READ_TIMEOUT", "StatusWatcher"]

log = logging.getLogger("sora2_widgets.client")

#: fal sends a keep-alive comment on the status stream every 15 s, so a minute without a byte
#: means the stream is dead and we reconnect or poll.
STREAM_READ_TIMEOUT = 60.0
#: Stream attempts per wait before switching to polling for the rest of that wait.
STREAM_ATTEMPTS = 2

Emit = Callable[[QueueUpdate], Awaitable[None]]


class _StreamUnsupported(Exception):
    """No status stream here: poll instead (for this client's life when ``permanent``)."""

    def __init__(self, *, permanent: bool) -> None:
        super().__init__("status stream unavailable")
        self.permanent = permanent


class StatusWatcher:
    """Status checks and waits for one client."""

    def __init__(
        self, http: QueueHttp, *, host: str, use_stream: bool, poll_interval: float, max_poll_interval: float
    ) -> None:
        self._http = http
        self._host = host
        self.use_stream = use_stream
        self._poll_interval = poll_interval
        self._max_poll_interval = max(poll_interval, max_poll_interval)

    async def poll_once(self, job: Job, tracker: Tracker, *, logs: bool = True) -> QueueUpdate:
        """One status check (``GET {status_url}?logs=1``)."""
        ctx = self._http.errors.context(job, "status")
        _, update = await self._http.request(
            "GET",
            with_logs(job.status_url, logs),
            ctx,
            parse=lambda r: tracker.apply(r.json()),
        )
        assert update is not None
        return update

    async def wait(self, job: Job, tracker: Tracker, on_update: UpdateCallback | None) -> QueueUpdate:
        """The final update; ``on_update`` gets every change (a failing callback is logged, not raised)."""
        seen: list[tuple[object, ...]] = []

        async def emit(update: QueueUpdate) -> None:
            key = (update.status, update.queue_position, update.logs, update.error)
            if seen and seen[-1] == key:
                return  # nothing new (a keep-alive poll): don't wake the UI
            seen[:] = [key]
            if on_update is not None:
                try:
                    await call_back(on_update, update)
                except Exception:
                    # A broken progress display must not abandon a paid job.
                    log.exception("on_update callback failed for request %s", job.request_id)

        final: QueueUpdate | None = None
        if self.use_stream:
            retry = self._http.retry
            for attempt in range(1, STREAM_ATTEMPTS + 1):
                after: float | None = None
                try:
                    final = await self._wait_stream(job, tracker, emit)
                except _StreamUnsupported as exc:
                    if exc.permanent:
                        log.info("status stream not offered by %s; polling from now on", self._host)
                        self.use_stream = False
                    break
                except (httpx.TransportError, Retryable) as exc:
                    why = exc.why if isinstance(exc, Retryable) else describe_exc(exc)
                    after = exc.retry_after if isinstance(exc, Retryable) else None
                    log.info("status stream for %s broke (%s), attempt %d", job.request_id, why, attempt)
                if final is not None:
                    break
                # A 429/503 on the stream says when to come back, like on any other request.
                await retry.sleep(retry.delay(attempt, after))
        if final is None:
            final = await self._wait_poll(job, tracker, emit)
        return final

    async def _wait_stream(self, job: Job, tracker: Tracker, emit: Emit) -> QueueUpdate | None:
        """Follow ``{status_url}/stream``; the final update, or None if the stream ended early."""
        http = self._http
        url = with_logs(job.status_url.rstrip("/") + "/stream", True)
        headers = {**http.headers_for(url), "Accept": "text/event-stream"}
        timeout = httpx.Timeout(http.timeout.connect or 10.0, read=STREAM_READ_TIMEOUT)
        ctx = http.errors.context(job, "status")
        response = await http.send("GET", url, headers, timeout=timeout, stream=True)
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
                    raise Retryable(f"HTTP {code}", status_code=code, retry_after=retry_after(response))
                raise http.errors.for_response(response, ctx)
            data: list[bytes] = []
            lines = sse_lines(response.aiter_bytes())
            async for line in lines:
                if line.startswith(b"data:"):
                    data.append(line[6:] if line.startswith(b"data: ") else line[5:])
                    continue
                if line or not data:
                    continue  # comments (":" keep-alives), event:/id:/retry: fields, blank lines between events
                update = _event(tracker, data)
                data = []
                if update is not None:
                    await emit(update)
                    if update.done:
                        await drain(lines)
                        return update
            if data:  # last event without its trailing blank line
                update = _event(tracker, data)
                if update is not None:
                    await emit(update)
                    if update.done:
                        return update
        finally:
            await response.aclose()
        return None

    async def _wait_poll(self, job: Job, tracker: Tracker, emit: Emit) -> QueueUpdate:
        interval = self._poll_interval
        while True:
            update = await self.poll_once(job, tracker)
            await emit(update)
            if update.done:
                return update
            await asyncio.sleep(interval)
            interval = min(interval * 1.5, self._max_poll_interval)


def _event(tracker: Tracker, data: list[bytes]) -> QueueUpdate | None:
    try:
        # json.loads takes the UTF-8 bytes as they came: no text decoding step per event.
        return tracker.apply(json.loads(data[0] if len(data) == 1 else b"\n".join(data)))
    except (ValueError, Malformed):
        # One unreadable event is skipped: the next one carries the whole state again.
        log.debug("skipping an unreadable status event for %s", tracker.job.request_id)
        return None
