"""A fake fal queue service for the client's tests: an httpx.MockTransport with faults and counters.

It follows fal's protocol as the client must see it:

* ``POST {queue}/{endpoint}`` validates with the catalog (422 in fal's shape) and answers the
  request id and the URLs, which live under the **app id only**: for ``fal-ai/sora-2/text-to-video``
  the status URL is ``/fal-ai/sora-2/requests/{id}/status``. Requests to URLs built from the full
  endpoint path get 404, so a client that rebuilds URLs the wrong way fails here.
* ``GET .../status`` advances a job one step per call (deterministic, no clocks):
  IN_QUEUE (position 2), IN_QUEUE (1), IN_PROGRESS (+log), IN_PROGRESS (+log), COMPLETED.
* ``GET .../status/stream`` sends the remaining steps as server-sent events (with a keep-alive
  comment) and ends after COMPLETED.
* ``GET .../requests/{id}`` answers the result; ``PUT .../cancel`` answers 202 or 400.
* Media lives on another origin (``media_url``), so tests can check the key never goes there.

Faults are queued with :meth:`FakeFal.fail` and consumed in order by matching requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from sora2_widgets import get_model
from sora2_widgets._errors import ValidationError
from tests._secrets import FAL_KEY

KEY = FAL_KEY  # the shared fake key: the suite-wide leak check searches for it
QUEUE = "https://queue.fake-fal.test"
MEDIA = "https://cdn.fake-media.test"

_JOB_PATH = re.compile(r"^/(?P<app>[^/]+/[^/]+)/requests/(?P<id>[^/]+)(?P<rest>/status/stream|/status|/cancel)?$")


@dataclass
class FakeJob:
    request_id: str
    endpoint: str
    app_id: str
    body: dict[str, Any]
    step: int = 0
    cancelled: bool = False
    result_fetched: bool = False
    error: tuple[str, str] | None = None
    key_refused: bool = False


@dataclass
class Fault:
    kind: str  # "connect", "read_timeout", "reset", "malformed", "truncate", or an HTTP status as text
    action: str  # "submit", "status", "stream", "result", "cancel", "media" or "*"
    times: int = 1
    retry_after: str | None = None
    body: Any = None  # JSON answered with an HTTP status fault instead of the default


def _key_refused(body: dict[str, Any]) -> str:
    return f"Incorrect API key provided: {body.get('api_key')}. You can find your API key at platform.openai.com"


def _status_steps(job: FakeJob) -> list[dict[str, Any]]:
    log1 = {"message": "Starting generation", "level": "INFO", "timestamp": "2025-10-06T12:00:00Z"}
    log2 = {"message": "Rendering frames", "level": "INFO", "timestamp": "2025-10-06T12:00:05Z"}
    if job.key_refused:
        log2 = {**log2, "message": "openai: " + _key_refused(job.body), "level": "ERROR"}
    done: dict[str, Any] = {"status": "COMPLETED", "logs": [log1, log2], "metrics": {"inference_time": 1.0}}
    if job.error is not None:
        done["error"], done["error_type"] = job.error
    return [
        {"status": "IN_QUEUE", "queue_position": 2},
        {"status": "IN_QUEUE", "queue_position": 1},
        {"status": "IN_PROGRESS", "logs": [log1]},
        {"status": "IN_PROGRESS", "logs": [log1, log2]},
        done,
    ]


def video_bytes(request_id: str, size: int = 200_000) -> bytes:
    """Deterministic pseudo-video content for a request (big enough to stream in several chunks)."""
    seed = hashlib.sha256(request_id.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


@dataclass
class Seen:
    method: str
    url: str
    action: str
    authorization: str | None


@dataclass
class FakeFal:
    queue_url: str = QUEUE
    media_url: str = MEDIA
    key: str | None = KEY
    stream_supported: bool = True
    hold: bool = False  # jobs never complete (for timeouts)
    event_delay: float = 0.001
    jobs: dict[str, FakeJob] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    retired: dict[str, tuple[int, Any]] = field(default_factory=dict)  # endpoint → (status, body)
    force_422: list[dict[str, Any]] | None = None
    fail_jobs_with: tuple[str, str] | None = None  # (error, error_type) on COMPLETED
    in_flight: int = 0
    max_in_flight: int = 0
    #: served for every ``.mp4`` (e.g. a real MP4, for the generator's checks); pseudo-bytes otherwise
    video: bytes | None = None
    #: (status, JSON body, headers) the result URL answers for every job: a job that failed on fal
    result_error: tuple[int, Any, dict[str, str]] | None = None
    #: refuse the body's OpenAI ``api_key`` the way OpenAI words it, echoing the key: at "submit"
    #: (400), or in the "job" (a log line, the COMPLETED error and the result URL's 500)
    reject_api_key: str | None = None
    #: the result also carries the request body as ``input`` (api_key included), as some apps do
    echo_input: bool = False

    # -- test API -------------------------------------------------------------------------------
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def fail(
        self, kind: str | int, action: str = "*", times: int = 1, retry_after: str | None = None, body: Any = None
    ) -> None:
        self.faults.append(Fault(str(kind), action, times, retry_after, body))

    def count(self, action: str, method: str | None = None) -> int:
        return sum(1 for s in self.seen if s.action == action and (method is None or s.method == method))

    # -- the service ----------------------------------------------------------------------------
    def _take_fault(self, action: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.action in (action, "*"):
                fault.times -= 1
                return fault
        return None

    def _action(self, request: httpx.Request) -> str:
        if request.url.host == httpx.URL(self.media_url).host:
            return "media"
        if request.method == "POST":
            return "submit"
        m = _JOB_PATH.match(request.url.path)
        if m is None:
            return "unknown"
        rest = m.group("rest") or ""
        return {"/status": "status", "/status/stream": "stream", "/cancel": "cancel", "": "result"}[rest]

    async def handle(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # let other tasks run, as a network would
        action = self._action(request)
        self.seen.append(Seen(request.method, str(request.url), action, request.headers.get("authorization")))
        fault = self._take_fault(action)
        if fault is not None and fault.kind == "connect":
            raise httpx.ConnectError("connection refused", request=request)
        if action == "media":
            return self._media(request, fault)
        if self.key is not None and request.headers.get("authorization") != f"Key {self.key}":
            return httpx.Response(401, json={"detail": "Invalid API key"})
        if action == "submit":
            return self._submit(request, fault)
        if fault is not None:
            if fault.kind == "read_timeout":
                raise httpx.ReadTimeout("timed out", request=request)
            if fault.kind == "reset":
                raise httpx.ReadError("connection reset by peer", request=request)
            if fault.kind == "malformed":
                return httpx.Response(200, content=b'{"status": "IN_PROG', headers={"content-type": "application/json"})
            if fault.kind.isdigit():
                return self._status_fault(int(fault.kind), fault)
        m = _JOB_PATH.match(request.url.path)
        job = self.jobs.get(m.group("id")) if m else None
        if m is None or job is None or job.app_id != m.group("app"):
            return httpx.Response(404, json={"detail": "Request not found"})
        if action == "status":
            return httpx.Response(202, json=self._advance(job))
        if action == "stream":
            if not self.stream_supported:
                return httpx.Response(405, json={"detail": "Method not allowed"})
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=self._events(job))
        if action == "cancel":
            return self._cancel(job)
        return self._result(job)

    def _status_fault(self, code: int, fault: Fault) -> httpx.Response:
        headers = {"retry-after": fault.retry_after} if fault.retry_after is not None else {}
        if fault.body is not None:
            return httpx.Response(code, json=fault.body, headers=headers)
        if code >= 500:
            # What a gateway in front of fal answers: an HTML page, no fal error body. (fal's own
            # 5xx, with detail/error_type, is a job's final failure: see ``result_error``.)
            page = f"<html><body><h1>{code} Bad Gateway</h1></body></html>"
            return httpx.Response(code, text=page, headers={**headers, "content-type": "text/html"})
        return httpx.Response(code, json={"detail": f"injected {code}"}, headers=headers)

    def _submit(self, request: httpx.Request, fault: Fault | None) -> httpx.Response:
        endpoint = request.url.path.lstrip("/")
        if endpoint in self.retired:
            code, body = self.retired[endpoint]
            return httpx.Response(code, json=body)
        if fault is not None and fault.kind in ("429", "503"):
            # Refused at the gateway: no job, no request id.
            return self._status_fault(int(fault.kind), fault)
        try:
            spec = get_model(endpoint)
        except KeyError:
            return httpx.Response(404, json={"detail": f"Application {endpoint!r} not found"})
        body = json.loads(request.content)
        if self.force_422 is not None:
            return httpx.Response(422, json={"detail": self.force_422})
        try:
            spec.validate(body)
        except ValidationError as exc:
            detail = [{"loc": ["body", e.field], "msg": e.message, "type": "value_error"} for e in exc.errors]
            return httpx.Response(422, json={"detail": detail})
        if self.reject_api_key == "submit" and body.get("api_key"):
            return httpx.Response(400, json={"detail": _key_refused(body), "input": body})
        request_id = str(uuid.uuid4())
        job = FakeJob(request_id, endpoint, spec.app_id, body, error=self.fail_jobs_with)
        if self.reject_api_key == "job" and body.get("api_key"):
            job.key_refused = True
            job.error = (_key_refused(body), "openai_error")
        self.jobs[request_id] = job
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if fault is not None:
            # The job exists now, but the client never learns it: the ambiguous case.
            if fault.kind == "read_timeout":
                raise httpx.ReadTimeout("timed out", request=request)
            if fault.kind == "reset":
                raise httpx.ReadError("connection reset by peer", request=request)
            if fault.kind.isdigit():
                return httpx.Response(
                    int(fault.kind), json={"detail": "upstream error"}, headers={"x-fal-request-id": request_id}
                )
        base = f"{self.queue_url}/{spec.app_id}/requests/{request_id}"
        return httpx.Response(
            200,
            json={
                "request_id": request_id,
                "status": "IN_QUEUE",
                "queue_position": 3,
                "status_url": f"{base}/status",
                "response_url": base,
                "cancel_url": f"{base}/cancel",
            },
        )

    def _advance(self, job: FakeJob) -> dict[str, Any]:
        steps = _status_steps(job)
        if job.cancelled:
            return {
                "status": "COMPLETED",
                "logs": [],
                "error": "Request was cancelled",
                "error_type": "client_cancelled",
            }
        last = len(steps) - 2 if self.hold else len(steps) - 1
        current = steps[min(job.step, last)]
        job.step = min(job.step + 1, last)
        return current

    async def _events(self, job: FakeJob):  # type: ignore[no-untyped-def]
        yield b": keep-alive\n\n"
        while True:
            data = self._advance(job)
            yield f"event: status\ndata: {json.dumps(data)}\n\n".encode()
            if data["status"] == "COMPLETED":
                return
            await asyncio.sleep(self.event_delay)

    def _cancel(self, job: FakeJob) -> httpx.Response:
        if job.step >= len(_status_steps(job)) - 1 or job.result_fetched:
            return httpx.Response(400, json={"status": "ALREADY_COMPLETED"})
        job.cancelled = True
        return httpx.Response(202, json={"status": "CANCELLATION_REQUESTED"})

    def _result(self, job: FakeJob) -> httpx.Response:
        if not job.result_fetched:
            job.result_fetched = True
            self.in_flight -= 1
        if self.result_error is not None:
            code, body, headers = self.result_error
            return httpx.Response(code, json=body, headers=headers)
        if job.key_refused:
            return httpx.Response(500, json={"detail": _key_refused(job.body), "error_type": "openai_error"})
        if job.error is not None:
            return httpx.Response(422, json={"detail": [{"loc": ["body"], "msg": job.error[0], "type": job.error[1]}]})
        url = f"{self.media_url}/files/{job.request_id}.mp4"
        echo = {"input": job.body} if self.echo_input else {}
        if get_model(job.endpoint).is_sora:
            return httpx.Response(
                200,
                json={
                    "video": {
                        "url": url,
                        "content_type": "video/mp4",
                        "width": 1280,
                        "height": 720,
                        "duration": float(job.body.get("duration", 4)),
                    },
                    "video_id": f"video_{job.request_id[:8]}",
                    "thumbnail": {"url": f"{self.media_url}/files/{job.request_id}.jpg"},
                    **echo,
                },
            )
        return httpx.Response(200, json={"video": {"url": url, "content_type": "video/mp4"}})

    def _media(self, request: httpx.Request, fault: Fault | None) -> httpx.Response:
        file_name = request.url.path.rsplit("/", 1)[-1]
        name = file_name.split(".")[0]
        data = self.video if self.video is not None and file_name.endswith(".mp4") else video_bytes(name)
        headers = {"content-type": "video/mp4", "content-length": str(len(data))}
        if fault is not None:
            if fault.kind == "truncate":
                # Content-Length promises everything, the body stops halfway (a dropped CDN connection).
                return httpx.Response(200, headers=headers, content=_chunks(data[: len(data) // 2]))
            if fault.kind == "reset":
                return httpx.Response(200, headers=headers, content=_chunks(data[: len(data) // 3], fail=request))
            if fault.kind.isdigit():
                return self._status_fault(int(fault.kind), fault)
        return httpx.Response(200, headers=headers, content=_chunks(data))


async def _chunks(data: bytes, fail: httpx.Request | None = None):  # type: ignore[no-untyped-def]
    for i in range(0, len(data), 16384):
        yield data[i : i + 16384]
        await asyncio.sleep(0)
    if fail is not None:
        raise httpx.ReadError("connection reset by peer", request=fail)
