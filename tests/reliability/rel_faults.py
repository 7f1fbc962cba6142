"""Fault injection for the reliability matrix: an httpx transport that breaks one protocol step.

The requests still travel over real HTTP to the emulator on loopback (the wrapped transport is
``httpx.AsyncHTTPTransport``); the wrapper decides, per protocol step and per job, whether to
break the exchange and *where*:

* HTTP status faults (429, 500, 502, 503, 504) are answered *instead of* forwarding, like fal's
  ingress does: the service never saw the request. Except on submit for 500/502/504: there the
  request is forwarded first (a job exists) and the answer replaced — the case where a client
  that retries pays twice. On the result step the answer is a gateway's bare page: a 5xx with
  fal's error body there is the job's final failure, not something to retry.
* ``reset`` / ``read_timeout`` / ``malformed_json`` / ``truncated`` forward the request first and
  then break the answer. On submit that means the job *was* created but the client cannot know
  its request id: the honest outcome is "submit uncertain", never a second submit.
* ``connect_error`` (a reset before anything was sent) is safe to retry everywhere.

Each fault fires on the first ``times`` attempts of a step *per job* (keyed by request id, prompt
or media path), then the exchange goes through untouched, so every job can finish.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx

STEPS = ("submit", "status", "stream", "result", "media")
HTTP_FAULTS = ("429", "500", "502", "503", "504")
WIRE_FAULTS = ("reset", "read_timeout", "malformed_json", "truncated")
FAULTS = HTTP_FAULTS + WIRE_FAULTS

_REQ = re.compile(r"/requests/([0-9a-zA-Z-]+)(/status(/stream)?|/cancel)?$")
_ERROR_TYPES = {
    "500": "internal_error",
    "502": "runner_incomplete_response",
    "503": "runner_scheduling_failure",
    "504": "request_timeout",
}


def step_of(request: httpx.Request) -> tuple[str, str]:
    """(step, per-job key) of one request of the fal queue protocol or a media download."""
    path = request.url.path
    if path.startswith("/media/"):
        return "media", path
    m = _REQ.search(path)
    if m:
        rid, suffix = m.group(1), m.group(2) or ""
        if suffix == "/status":
            return "status", rid
        if suffix == "/status/stream":
            return "stream", rid
        if suffix == "/cancel":
            return "cancel", rid
        return "result", rid
    if request.method == "POST":
        try:
            prompt = json.loads(request.content or b"{}").get("prompt", "")
        except ValueError:
            prompt = ""
        return "submit", str(prompt)
    return "other", path


class _Truncated(httpx.AsyncByteStream):
    """Yields part of a body, then fails the way httpx fails when the peer closes early."""

    def __init__(self, head: bytes) -> None:
        self._head = head

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._head:
            yield self._head
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    async def aclose(self) -> None:
        return None


@dataclass
class FaultPlan:
    step: str
    fault: str
    times: int = 1
    retry_after: str = "0"


@dataclass
class FaultTransport(httpx.AsyncBaseTransport):
    """Wraps a real transport; breaks ``plan.step`` with ``plan.fault`` ``plan.times`` per job."""

    inner: httpx.AsyncBaseTransport
    plan: FaultPlan | None = None
    #: requests seen per step (whether broken or not) and faults fired per step.
    seen: Counter[str] = field(default_factory=Counter)
    fired: Counter[str] = field(default_factory=Counter)
    #: (step, key) → number of faults fired for that job.
    per_key: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: (step, key) → monotonic time of each attempt (to check Retry-After is honoured).
    attempts: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _should_fire(self, step: str, key: str) -> bool:
        plan = self.plan
        with self._lock:
            self.seen[step] += 1
            self.attempts.setdefault((step, key), []).append(asyncio.get_running_loop().time())
            if plan is None or plan.step != step or self.per_key[(step, key)] >= plan.times:
                return False
            self.per_key[(step, key)] += 1
            self.fired[step] += 1
            return True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        step, key = step_of(request)
        if not self._should_fire(step, key):
            return await self.inner.handle_async_request(request)
        assert self.plan is not None
        fault = self.plan.fault
        if fault in HTTP_FAULTS:
            if step == "submit" and fault in ("500", "502", "504"):
                # The gateway failed *after* the service accepted the job (the dangerous case:
                # a client that retries this pays twice). 429/503 are refusals at the door.
                await _drain(await self.inner.handle_async_request(request))
            return self._status_answer(request, int(fault), step)
        if fault == "connect_error":
            raise httpx.ConnectError("[Errno 111] Connection refused (injected)", request=request)
        # Wire faults: the server gets (and acts on) the request; the answer is broken.
        response = await self.inner.handle_async_request(request)
        if fault == "reset":
            await _drain(response)
            raise httpx.ReadError("[Errno 104] Connection reset by peer (injected)", request=request)
        if fault == "read_timeout":
            await _drain(response)
            raise httpx.ReadTimeout("timed out (injected)", request=request)
        body = await _read_all(response)
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-length"]
        if fault == "malformed_json":
            if step in ("stream",):
                bad = b'data: {"status": "IN_PROG\n\n' + body
            elif step == "media":
                bad = b"<html>not a video</html>"
            else:
                bad = body[: max(1, len(body) // 2)] + b"}}{"
            return httpx.Response(
                response.status_code, headers=[*headers, ("content-length", str(len(bad)))], content=bad
            )
        if fault == "truncated":
            head = body[: len(body) // 2]
            return httpx.Response(
                response.status_code,
                headers=[*headers, ("content-length", str(len(body)))],
                stream=_Truncated(head),
                request=request,
            )
        raise ValueError(f"unknown fault {fault!r}")

    def _status_answer(self, request: httpx.Request, code: int, step: str) -> httpx.Response:
        assert self.plan is not None
        if code == 429:
            body = {"detail": "Rate limit exceeded (injected)", "error_type": "rate_limited"}
            headers = {"retry-after": self.plan.retry_after}
        elif step == "result":
            # On the result URL a 5xx carrying fal's error body is the job's own final failure
            # (DESIGN §3; tests/client covers it). What is lost on the way there is a gateway's
            # bare page, and that is what this transient fault stands for.
            page = f"<html><body><h1>{code} Bad Gateway</h1></body></html>".encode()
            return httpx.Response(code, content=page, headers={"content-type": "text/html"}, request=request)
        else:
            error_type = _ERROR_TYPES[str(code)]
            body = {"detail": f"injected {code}", "error_type": error_type}
            headers = {"x-fal-error-type": error_type}
        return httpx.Response(code, json=body, headers=headers, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _read_all(response: httpx.Response) -> bytes:
    try:
        return await response.aread()
    finally:
        await response.aclose()


async def _drain(response: httpx.Response) -> None:
    await _read_all(response)
