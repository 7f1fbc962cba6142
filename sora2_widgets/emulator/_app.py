"""The emulator's ASGI application: fal's queue protocol, the synchronous API and media.

Routes (``{endpoint}`` is any catalog endpoint, e.g. ``fal-ai/sora-2/text-to-video``;
``{owner}/{app}`` is its app id, e.g. ``fal-ai/sora-2`` — fal's rule for sub-path endpoints):

* ``POST /{endpoint}`` → submit: ``{status, request_id, response_url, status_url, cancel_url, queue_position}``
* ``GET /{owner}/{app}/requests/{id}/status?logs=1`` → 202 while queued/running, 200 when COMPLETED
* ``GET /{owner}/{app}/requests/{id}/status/stream`` → SSE, one ``data: {status}`` per change, ends at COMPLETED
* ``GET /{owner}/{app}/requests/{id}`` → the output JSON (or the job's error with its status code)
* ``PUT /{owner}/{app}/requests/{id}/cancel`` → 202 ``CANCELLATION_REQUESTED`` / 400 ``ALREADY_COMPLETED``
* ``POST /run/{endpoint}`` → synchronous: waits and answers the output JSON
* ``GET /media/{id}/{file}`` → the MP4 / JPEG (no key needed, like fal's CDN; Range requests work)

Every answer carries ``x-sora2-emulator: 1``: nobody should mistake it for the real service.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pydantic
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._catalog import MODELS
from ._jobs import JobRecord, Snapshot

if TYPE_CHECKING:
    from ._emulator import Emulator

log = logging.getLogger("sora2_widgets.emulator")

__all__ = ["SimulatedDrop", "build_app"]

EMULATOR_HEADER = "x-sora2-emulator"
#: How often a status stream or ``/run`` re-derives the job state.
_TICK = 0.02
_KEEPALIVE = 15.0


class SimulatedDrop(ConnectionError):
    """Raised mid-body to cut the connection (fault switches ``truncate_downloads``, ``drop_streams``)."""


class _Envelope:
    """Outermost layer: the latency fault and the "this is simulated" header on every answer."""

    def __init__(self, app: ASGIApp, emu: Emulator) -> None:
        self.app = app
        self.emu = emu

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.emu.faults.latency > 0:
            await asyncio.sleep(self.emu.faults.latency)

        async def labelled(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append(EMULATOR_HEADER, "1")
            await send(message)

        try:
            await self.app(scope, receive, labelled)
        except SimulatedDrop as exc:
            # The fault switch worked: end the app without finishing the body, so the server cuts
            # the connection (uvicorn says so in one line) instead of printing a traceback per drop.
            log.info("%s %s %s", exc, scope.get("method", ""), scope.get("path", ""))


def build_app(emu: Emulator) -> Starlette:
    """The Starlette app serving ``emu`` (use :attr:`Emulator.app`, which caches it)."""

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def unauthorized(request: Request) -> Response | None:
        if emu.key_ok(request.headers.get("authorization")):
            return None
        return JSONResponse(
            {"detail": "Missing or invalid fal key: send the header 'Authorization: Key <FAL_KEY>'."},
            status_code=401,
        )

    def job_or_404(request: Request) -> JobRecord | Response:
        rid = str(request.path_params["request_id"])
        app_id = f"{request.path_params['owner']}/{request.path_params['app']}"
        record = emu.load(rid)
        # Requests live under their app id only (fal-ai/sora-2/requests/…), not under the full endpoint.
        if record is None or record.app_id != app_id:
            return JSONResponse({"detail": f"Request {rid} not found"}, status_code=404)
        return record

    async def submit(request: Request) -> Response:
        emu.count("submits")
        return await _accept(request, sync=False)

    async def run(request: Request) -> Response:
        emu.count("run")
        return await _accept(request, sync=True)

    async def _accept(request: Request, *, sync: bool) -> Response:
        if (denied := unauthorized(request)) is not None:
            return denied
        endpoint = str(request.path_params["endpoint"])
        spec = emu.spec_for(endpoint)
        if spec is None:
            return JSONResponse({"detail": f"Application '{endpoint}' not found"}, status_code=404)
        if spec.endpoint in emu.faults.retired:
            return JSONResponse(
                {"detail": f"{spec.name} ({spec.endpoint}) is no longer available: the model has been retired."},
                status_code=emu.faults.retired_status,
            )
        if emu.take("fail_submits"):
            return JSONResponse(
                {"detail": "Rate limit exceeded (simulated). Retry after the time in the Retry-After header."},
                status_code=429,
                headers={"retry-after": f"{emu.faults.retry_after:g}"},
            )
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except (ValueError, UnicodeDecodeError) as exc:
            problem = [{"loc": ["body"], "msg": f"Invalid JSON: {exc}", "type": "json_invalid"}]
            return JSONResponse({"detail": problem}, status_code=422)
        try:
            inp = spec.input_model.model_validate(body)
        except pydantic.ValidationError as exc:
            return JSONResponse({"detail": _detail(exc)}, status_code=422)
        record = emu.create_job(spec, inp)
        rid = record.request_id
        if not sync:
            urls = _urls(record, base(request))
            out = {"status": "IN_QUEUE", "request_id": rid, **urls, "queue_position": record.queue_position}
            return JSONResponse(out, headers={"x-fal-request-id": rid})
        # The state is derived from the clock and the render (no event to wait on): re-derive it.
        while (snap := emu.snapshot(record)).status != "COMPLETED":  # noqa: ASYNC110
            await asyncio.sleep(_TICK)
        return await _result(request, emu.load(rid) or record, snap)

    async def status(request: Request) -> Response:
        emu.count("status")
        if (denied := unauthorized(request)) is not None:
            return denied
        if emu.roll(emu.faults.status_error_rate):
            return JSONResponse(
                {"detail": "Service temporarily unavailable (simulated fault)", "error_type": "internal_error"},
                status_code=emu.faults.status_error_code,
            )
        found = job_or_404(request)
        if isinstance(found, Response):
            return found
        snap = emu.snapshot(found)
        body = _status_body(found, snap, base(request), _flag(request, "logs"))
        code = 200 if snap.status == "COMPLETED" else 202
        return JSONResponse(body, status_code=code, headers={"x-fal-request-id": found.request_id})

    async def stream(request: Request) -> Response:
        emu.count("stream")
        if (denied := unauthorized(request)) is not None:
            return denied
        found = job_or_404(request)
        if isinstance(found, Response):
            return found
        record = found
        drop = emu.take("drop_streams")
        with_logs = _flag(request, "logs")
        url = base(request)

        async def events() -> AsyncIterator[str]:
            last: tuple[Any, ...] | None = None
            quiet_since = time.monotonic()
            while True:
                current = emu.load(record.request_id) or record  # picks up cancels and renders from elsewhere
                snap = emu.snapshot(current)
                if snap.key() != last:
                    last = snap.key()
                    yield f"data: {json.dumps(_status_body(current, snap, url, with_logs))}\n\n"
                    quiet_since = time.monotonic()
                    if snap.status == "COMPLETED":
                        return
                    if drop:
                        # A real drop, not a clean end: the chunked body stops without its last
                        # chunk, so a client sees a cut connection (as behind a flaky proxy).
                        raise SimulatedDrop("simulated: status stream dropped mid-stream")
                elif time.monotonic() - quiet_since >= _KEEPALIVE:
                    yield ": keep-alive\n\n"
                    quiet_since = time.monotonic()
                await asyncio.sleep(_TICK)

        headers = {"cache-control": "no-cache", "x-fal-request-id": record.request_id}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    async def result(request: Request) -> Response:
        emu.count("result")
        if (denied := unauthorized(request)) is not None:
            return denied
        found = job_or_404(request)
        if isinstance(found, Response):
            return found
        snap = emu.snapshot(found)
        if snap.status != "COMPLETED":
            return JSONResponse(
                {"detail": f"Request {found.request_id} is {snap.status.replace('_', ' ').lower()}; poll its status"},
                status_code=400,
                headers={"x-fal-request-id": found.request_id},
            )
        return await _result(request, found, snap)

    async def _result(request: Request, record: JobRecord, snap: Snapshot) -> Response:
        if emu.faults.slow_result > 0:
            await asyncio.sleep(emu.faults.slow_result)
        headers = {"x-fal-request-id": record.request_id}
        if snap.error is not None:
            headers["x-fal-error-type"] = snap.error.error_type
            return JSONResponse(snap.error.body(), status_code=snap.error.status_code, headers=headers)
        record = await emu.ensure_media(record)
        payload = json.dumps(_result_body(record, base(request))).encode()
        if emu.take("truncate_downloads"):
            return _truncated(payload, "application/json", headers)
        return Response(payload, media_type="application/json", headers=headers)

    async def cancel(request: Request) -> Response:
        emu.count("cancel")
        if (denied := unauthorized(request)) is not None:
            return denied
        found = job_or_404(request)
        if isinstance(found, Response):
            return JSONResponse(
                {"status": "NOT_FOUND", "detail": f"Request {request.path_params['request_id']} not found"},
                status_code=404,
            )
        headers = {"x-fal-request-id": found.request_id}
        if emu.cancel(found):
            return JSONResponse({"status": "CANCELLATION_REQUESTED"}, status_code=202, headers=headers)
        body = {"status": "ALREADY_COMPLETED", "detail": f"Request {found.request_id} has already completed"}
        return JSONResponse(body, status_code=400, headers=headers)

    async def media(request: Request) -> Response:
        emu.count("media")
        rid, name = str(request.path_params["request_id"]), str(request.path_params["file_name"])
        record = emu.load(rid)
        if record is None or name not in (record.video_file, record.thumbnail_file) or record.rendered_at is None:
            return JSONResponse({"detail": "File not found"}, status_code=404)
        record = await emu.ensure_media(record)
        path = emu.store.media_path(record, name)
        content_type = "video/mp4" if name.endswith(".mp4") else "image/jpeg"
        if emu.take("truncate_downloads"):
            return _truncated(path.read_bytes(), content_type, {})
        return FileResponse(path, media_type=content_type, filename=name, content_disposition_type="inline")

    async def not_found(request: Request) -> Response:
        return JSONResponse({"detail": "Not Found"}, status_code=404)

    async def info(request: Request) -> Response:
        url = base(request)
        return JSONResponse(
            {
                "service": "sora2-widgets fal emulator (simulated; no real model runs)",
                "queue_url": url,
                "run_url": url + "/run",
                "endpoints": [m.endpoint for m in MODELS],
            }
        )

    routes = [
        Route("/", info, methods=["GET"]),
        Route("/media/{request_id}/{file_name}", media, methods=["GET", "HEAD"]),
        Route("/run/{endpoint:path}", run, methods=["POST"]),
        Route("/{owner}/{app}/requests/{request_id}/status/stream", stream, methods=["GET"]),
        Route("/{owner}/{app}/requests/{request_id}/status", status, methods=["GET"]),
        Route("/{owner}/{app}/requests/{request_id}/cancel", cancel, methods=["PUT"]),
        Route("/{owner}/{app}/requests/{request_id}", result, methods=["GET"]),
        Route("/{endpoint:path}", submit, methods=["POST"]),
        # Anything else is 404 (not Starlette's 405 for "a POST route has this path"), like an unknown URL on fal.
        Route("/{path:path}", not_found, methods=["GET", "HEAD", "PUT", "DELETE", "PATCH"]),
    ]
    return Starlette(routes=routes, middleware=[Middleware(_Envelope, emu=emu)])


def _flag(request: Request, name: str) -> bool:
    # fal's docs use ?logs=1; fal-client sends ?logs=true / ?logs=false.
    return request.query_params.get(name, "0").strip().lower() in ("1", "true", "yes", "on")


def _detail(exc: pydantic.ValidationError) -> list[dict[str, Any]]:
    # fal's (FastAPI's) 422 shape. The offending input is left out on purpose: it may be a secret (api_key).
    return [
        {"loc": ["body", *err["loc"]], "msg": err["msg"], "type": err["type"]} for err in exc.errors(include_url=False)
    ]


def _urls(record: JobRecord, base: str) -> dict[str, str]:
    root = f"{base}/{record.app_id}/requests/{record.request_id}"
    return {"response_url": root, "status_url": root + "/status", "cancel_url": root + "/cancel"}


def _status_body(record: JobRecord, snap: Snapshot, base: str, with_logs: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": snap.status,
        "request_id": record.request_id,
        **_urls(record, base),
        "logs": [entry.to_json() for entry in snap.logs] if with_logs else None,
        "metrics": {},
    }
    if snap.status == "IN_QUEUE":
        body["queue_position"] = snap.queue_position
    if snap.status == "COMPLETED":
        if snap.error is not None:
            body["error"] = snap.error.message
            body["error_type"] = snap.error.error_type
        elif snap.completed_at is not None:
            body["metrics"] = {"inference_time": round(snap.completed_at - record.started_at, 3)}
    return body


def _result_body(record: JobRecord, base: str) -> dict[str, Any]:
    facts = record.rendered or {}
    media = f"{base}/media/{record.request_id}"
    video: dict[str, Any] = {
        "url": f"{media}/{record.video_file}",
        "content_type": "video/mp4",
        "file_name": record.video_file,
        "file_size": facts.get("file_size"),
    }
    if record.video_id is None:  # Kling answers the plain file object
        return {"video": video}
    video.update(
        width=record.width,
        height=record.height,
        fps=facts.get("fps", record.fps),
        duration=facts.get("duration", float(record.duration)),
        num_frames=facts.get("num_frames"),
    )
    out: dict[str, Any] = {"video": video, "video_id": record.video_id}
    if record.thumbnail_file:
        out["thumbnail"] = {
            "url": f"{media}/{record.thumbnail_file}",
            "content_type": "image/jpeg",
            "file_name": record.thumbnail_file,
            "file_size": facts.get("thumbnail_size"),
            "width": facts.get("thumbnail_width"),
            "height": facts.get("thumbnail_height"),
        }
    return out


def _truncated(payload: bytes, content_type: str, headers: dict[str, str]) -> Response:
    """Announce the whole body, send half, then cut the connection (a dropped download)."""

    async def half() -> AsyncIterator[bytes]:
        yield payload[: len(payload) // 2]
        raise SimulatedDrop("simulated: connection dropped mid-body")

    all_headers = {**headers, "content-length": str(len(payload))}
    return StreamingResponse(half(), media_type=content_type, headers=all_headers)
