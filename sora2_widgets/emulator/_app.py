"""The emulator's ASGI application: fal's queue, run host, storage, webhooks, media and the JS proxy.

Routes (``{endpoint}`` is any catalog endpoint, e.g. ``fal-ai/sora-2/text-to-video``;
``{owner}/{app}`` is its app id, e.g. ``fal-ai/sora-2`` — fal's rule for sub-path endpoints):

* ``POST /{endpoint}[?fal_webhook=URL]`` → submit: ``{status, request_id, response_url, status_url,
  cancel_url, queue_position}``. A body that fails the model's schema is accepted too (fal does):
  the job completes with ``error``/``error_type`` and its result answers 422 ``{"detail": [...]}``.
  When the request reaches the emulator **as the run host** (see "Run or queue" below) the same
  ``POST`` answers like ``fal.run``: it waits and answers the output (or the model's error).
* ``GET /{owner}/{app}/requests/{id}/status?logs=1`` → 202 while queued/running, 200 when COMPLETED
* ``GET /{owner}/{app}/requests/{id}/status/stream?logs=1`` → SSE, one ``data: {status}`` per
  change, ends at COMPLETED; each event carries only the log lines new since the stream's previous
  event (polling ``/status`` returns them all)
* ``GET /{owner}/{app}/requests/{id}`` → the output JSON, the job's error with its status code, 400
  ``Request is still in progress`` before completion, 404 once the result expired (``retention``)
* ``PUT /{owner}/{app}/requests/{id}/cancel`` → 202 ``CANCELLATION_REQUESTED`` / 400 ``ALREADY_COMPLETED``
* ``POST /run/{endpoint}`` → synchronous, on any host (the emulator's own shortcut)
* storage: ``/storage/auth/token``, ``/storage/upload/initiate[-multipart]``, ``/files/upload[/multipart]``,
  part and complete URLs, ``GET /files/{key}/{name}`` (see :mod:`._storage`)
* ``GET /media/{id}/{file}`` → the MP4 / JPEG (no key needed, like fal's CDN; Range requests work)
* ``/api/fal/proxy`` → the JS client's ``proxyUrl`` protocol: the request is served as if sent to
  its ``x-fal-target-url`` (``https://queue.fal.run/…``, ``https://fal.run/…``, ``https://rest.fal.ai/storage/…``)

Run or queue: fal tells them by host (``fal.run`` vs ``queue.fal.run``). The emulator serves a
request as the run host when it arrives on a port registered in ``emu.run_ports`` (the second
port of :func:`~sora2_widgets.emulator.serving`), when its ``Host`` is ``fal.run``/``falrun.com``
or starts with ``run.``, or when a proxied request targets ``https://fal.run/…``.

Every answer carries ``x-sora2-emulator: 1`` (nobody should mistake it for the real service), and
every error answer ``X-Fal-Retryable`` as fal's do.
"""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
import time
import urllib.parse
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pydantic
from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._catalog import MODELS
from ._jobs import JobError, JobRecord, LogEntry, Snapshot
from ._storage import UploadError, lifecycle_seconds, safe_file_name
from ._webhooks import loopback_url_problem
from ._wire import error_headers, request_urls, result_body, status_body

if TYPE_CHECKING:
    from ._emulator import Emulator

log = logging.getLogger("sora2_widgets.emulator")

__all__ = ["PROXY_PATH", "ROLE_KEY", "SimulatedDrop", "build_app", "role_for_host"]

EMULATOR_HEADER = "x-sora2-emulator"
#: Where the JS client's ``proxyUrl`` points (``@fal-ai/server-proxy``'s ``DEFAULT_PROXY_ROUTE``).
PROXY_PATH = "/api/fal/proxy"
TARGET_URL_HEADER = "x-fal-target-url"
#: The ASGI scope key holding the host role of a request: "queue", "run", "rest" or "cdn".
ROLE_KEY = "sora2_widgets.fal_role"
#: How often a status stream or a synchronous run re-derives the job state.
_TICK = 0.02
_KEEPALIVE = 15.0
_STILL_IN_PROGRESS = "Request is still in progress"


class SimulatedDrop(ConnectionError):
    """Raised mid-body to cut the connection (fault switches ``truncate_downloads``, ``drop_streams``)."""


def role_for_host(host: str) -> str:
    """The fal host a ``Host`` name stands for: "run" (``fal.run``), "rest", "cdn" or "queue" (the default)."""
    name = host.strip().lower()
    if name.startswith("["):  # [::1]:8765
        name = name[1:].partition("]")[0]
    else:
        name = name.rpartition(":")[0] if name.count(":") == 1 else name
    if name in ("fal.run", "falrun.com") or name.startswith("run."):
        return "run"
    if name in ("queue.fal.run", "queue.falrun.com") or name.startswith("queue."):
        return "queue"
    if name == "rest.fal.ai" or name.startswith("rest."):
        return "rest"
    if name.endswith(".fal.media"):
        return "cdn"
    return "queue"


#: Targets the proxy serves: the run and queue hosts, and the REST storage routes the JS client uses.
_PROXY_TARGETS = {"fal.run": "run", "queue.fal.run": "queue", "rest.fal.ai": "rest"}


class _Envelope:
    """Outermost layer: latency, the host role, the proxy protocol, and the headers on every answer."""

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
                headers = MutableHeaders(scope=message)
                headers.append(EMULATOR_HEADER, "1")
                status = int(message["status"])
                if status >= 400 and "x-fal-retryable" not in headers:
                    for name, value in error_headers(status).items():
                        headers.append(name, value)
            await send(message)

        try:
            if scope["path"] == PROXY_PATH:
                scope = await self._proxied(scope, labelled)
                if not scope:
                    return
            else:
                scope = {**scope, ROLE_KEY: self._role(scope)}
            await self.app(scope, receive, labelled)
        except SimulatedDrop as exc:
            # The fault switch worked: end the app without finishing the body, so the server cuts
            # the connection (uvicorn says so in one line) instead of printing a traceback per drop.
            log.info("%s %s %s", exc, scope.get("method", ""), scope.get("path", ""))

    def _role(self, scope: Scope) -> str:
        server = scope.get("server")
        if server and len(server) > 1 and server[1] in self.emu.run_ports:
            return "run"
        return role_for_host(Headers(scope=scope).get("host", ""))

    async def _proxied(self, scope: Scope, send: Send) -> Scope:
        """The JS client's ``proxyUrl``: serve the request as sent to ``x-fal-target-url``.

        Like ``@fal-ai/server-proxy``: the target must be on fal's run/queue hosts (or the REST
        storage routes), else 400 "Invalid request"; a request without ``Authorization`` is sent
        with the proxy's own key (here: the emulator's required key, if any).
        """
        self.emu.count("proxy")
        headers = Headers(scope=scope)
        target = headers.get(TARGET_URL_HEADER, "")
        try:
            parts = urllib.parse.urlsplit(target)
        except ValueError:
            parts = urllib.parse.urlsplit("")
        role = _PROXY_TARGETS.get((parts.hostname or "").lower()) if parts.scheme == "https" else None
        if role == "rest" and not parts.path.startswith("/storage/"):
            role = None
        if role is None:
            why = "missing" if not target else f"not a fal URL this proxy forwards: {target[:200]!r}"
            response = JSONResponse({"detail": f"Invalid request: {TARGET_URL_HEADER} is {why}"}, status_code=400)
            await response(scope, _no_body, send)
            return {}
        raw_headers = [(k, v) for k, v in scope["headers"] if k.lower() != TARGET_URL_HEADER.encode()]
        required = self.emu._require_key
        if required is not None and "authorization" not in headers:
            raw_headers.append((b"authorization", f"Key {required}".encode()))
        path = parts.path or "/"
        return {
            **scope,
            "path": urllib.parse.unquote(path),
            "raw_path": path.encode(),
            "query_string": parts.query.encode(),
            "headers": raw_headers,
            ROLE_KEY: role,
        }


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def build_app(emu: Emulator) -> Starlette:
    """The Starlette app serving ``emu`` (use :attr:`Emulator.app`, which caches it)."""

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def role(request: Request) -> str:
        return str(request.scope.get(ROLE_KEY, "queue"))

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

    # -- queue and run ------------------------------------------------------------------------
    async def submit(request: Request) -> Response:
        if role(request) == "run":
            return await run(request)
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
        webhook = None if sync else request.query_params.get("fal_webhook")
        if webhook is not None and (problem := loopback_url_problem(webhook)) is not None:
            return JSONResponse({"detail": problem}, status_code=400)
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except (ValueError, UnicodeDecodeError) as exc:
            problem_items = [{"loc": ["body"], "msg": f"Invalid JSON: {exc}", "type": "json_invalid"}]
            return JSONResponse({"detail": problem_items}, status_code=422)
        url = base(request)
        given, media_ttl = lifecycle_seconds(request.headers)
        try:
            inp = spec.input_model.model_validate(body)
        except pydantic.ValidationError as exc:
            detail = _detail(exc)
            if sync or emu.reject_invalid_at_submit:  # fal.run answers the model's 422 directly
                return JSONResponse({"detail": detail}, status_code=422)
            prompt = body.get("prompt") if isinstance(body, dict) else None
            record = emu.create_failed_job(
                spec, _schema_error(detail), prompt if isinstance(prompt, str) else "", base_url=url,
                webhook_url=webhook,
            )  # fmt: skip
        else:
            record = emu.create_job(
                spec, inp, base_url=url, webhook_url=webhook, media_ttl=(media_ttl or 0.0) if given else None
            )
        rid = record.request_id
        if not sync:
            out: dict[str, Any] = {
                "status": "IN_QUEUE",
                "request_id": rid,
                **request_urls(record, url),
                "queue_position": record.queue_position,
            }
            if webhook is not None:
                out["gateway_request_id"] = rid
            return JSONResponse(out, headers={"x-fal-request-id": rid})
        # The state is derived from the clock and the render (no event to wait on): re-derive it.
        while (snap := emu.snapshot(record)).status != "COMPLETED":  # noqa: ASYNC110
            await asyncio.sleep(_TICK)
        return await _result(request, emu.load(rid) or record, snap, queued=False)

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
        body = status_body(found, snap, base(request), snap.logs if _flag(request, "logs") else None)
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
            sent: set[LogEntry] = set()
            quiet_since = time.monotonic()
            while True:
                current = emu.load(record.request_id) or record  # picks up cancels and renders from elsewhere
                snap = emu.snapshot(current)
                state = (snap.status, snap.queue_position)
                # fal sends each event only the lines new since the previous one (its JS client appends them).
                new = [entry for entry in snap.logs if entry not in sent] if with_logs else []
                if state != last or new:
                    last = state
                    sent.update(new)
                    body = status_body(current, snap, url, new if with_logs else None)
                    yield f"data: {json.dumps(body)}\n\n"
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
                {"detail": _STILL_IN_PROGRESS}, status_code=400, headers={"x-fal-request-id": found.request_id}
            )
        return await _result(request, found, snap, queued=True)

    async def _result(request: Request, record: JobRecord, snap: Snapshot, *, queued: bool) -> Response:
        if emu.faults.slow_result > 0:
            await asyncio.sleep(emu.faults.slow_result)
        headers = {"x-fal-request-id": record.request_id}
        url = base(request)
        if snap.error is not None:
            error_body = snap.error.body()
            if queued and emu.result_expired(snap, len(json.dumps(error_body))):
                return _expired(record, headers)
            headers["x-fal-error-type"] = snap.error.error_type
            return JSONResponse(error_body, status_code=snap.error.status_code, headers=headers)
        if queued and record.rendered is not None and emu.result_expired(snap, len(_dump(result_body(record, url)))):
            return _expired(record, headers)
        record = await emu.ensure_media(record)
        payload = _dump(result_body(record, url))
        if emu.take("truncate_downloads"):
            return _truncated(payload, "application/json", headers)
        return Response(payload, media_type="application/json", headers=headers)

    def _expired(record: JobRecord, headers: dict[str, str]) -> Response:
        detail = (
            f"Request {record.request_id} not found: its result expired (fal keeps a result 1 hour after the "
            "request completes, 6 minutes when it is 10 KB or larger). Save the media as soon as a job completes."
        )
        return JSONResponse({"detail": detail}, status_code=404, headers=headers)

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

    # -- media and files -----------------------------------------------------------------------
    async def media(request: Request) -> Response:
        emu.count("media")
        rid, name = str(request.path_params["request_id"]), str(request.path_params["file_name"])
        record = emu.load(rid)
        if record is None or name not in (record.video_file, record.thumbnail_file) or record.rendered_at is None:
            return JSONResponse({"detail": "File not found"}, status_code=404)
        if emu.media_expired(record, emu.snapshot(record)):
            return JSONResponse({"detail": "File not found: it expired"}, status_code=404)
        record = await emu.ensure_media(record)
        path = emu.store.media_path(record, name)
        content_type = "video/mp4" if name.endswith(".mp4") else "image/jpeg"
        if emu.take("truncate_downloads"):
            return _truncated(path.read_bytes(), content_type, {})
        return FileResponse(path, media_type=content_type, filename=name, content_disposition_type="inline")

    async def files(request: Request) -> Response:
        emu.count("files")
        key, name = str(request.path_params["key"]), str(request.path_params["file_name"])
        stored = emu.storage.lookup(key, name)
        if stored is None:
            return JSONResponse({"detail": "File not found"}, status_code=404)
        path = emu.storage.path_of(stored)
        return FileResponse(path, media_type=stored.content_type, filename=name, content_disposition_type="inline")

    # -- storage (uploads) ---------------------------------------------------------------------
    def cdn_unauthorized(request: Request) -> Response | None:
        # fal's CDN takes the Bearer token from /storage/auth/token (not the fal key).
        if emu._require_key is None or emu.storage.token_ok(request.headers.get("authorization")):
            return None
        return JSONResponse({"detail": "Missing or invalid CDN token"}, status_code=401)

    def expires_in(request: Request) -> float | None:
        given, seconds = lifecycle_seconds(request.headers)
        if given:
            return seconds
        return emu.retention.media if emu.retention is not None else None

    async def cdn_token(request: Request) -> Response:
        emu.count("upload")
        if (denied := unauthorized(request)) is not None:
            return denied
        return JSONResponse(emu.storage.issue_token(base(request)))

    async def initiate(request: Request) -> Response:
        emu.count("upload")
        if (denied := unauthorized(request)) is not None:
            return denied
        parsed = await _upload_request(request)
        if isinstance(parsed, Response):
            return parsed
        name, content_type = parsed
        url = base(request)
        key, upload_id = emu.storage.reserve(name, content_type, expires_in(request))
        return JSONResponse(
            {"upload_url": f"{url}/storage/uploads/{upload_id}", "file_url": f"{url}/files/{key}/{name}"}
        )

    async def initiate_multipart(request: Request) -> Response:
        emu.count("upload")
        if (denied := unauthorized(request)) is not None:
            return denied
        parsed = await _upload_request(request)
        if isinstance(parsed, Response):
            return parsed
        name, content_type = parsed
        url = base(request)
        key, upload_id = emu.storage.start_multipart(name, content_type, expires_in(request))
        file_url = f"{url}/files/{key}/{name}"
        return JSONResponse({"upload_url": f"{file_url}/multipart/{upload_id}", "file_url": file_url})

    async def put_reserved(request: Request) -> Response:
        emu.count("upload")
        try:
            stored = await emu.storage.put_reserved(
                str(request.path_params["upload_id"]), request.stream(), request.headers.get("content-type")
            )
        except UploadError as exc:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return JSONResponse({"access_url": stored.url(base(request))})

    async def cdn_upload(request: Request) -> Response:
        emu.count("upload")
        if (denied := cdn_unauthorized(request)) is not None:
            return denied
        content_type = request.headers.get("content-type") or "application/octet-stream"
        name = safe_file_name(request.headers.get("x-fal-file-name"), _default_name(content_type))
        stored = await emu.storage.put(
            request.stream(), file_name=name, content_type=content_type, expires_in=expires_in(request)
        )
        return JSONResponse({"access_url": stored.url(base(request))})

    async def cdn_multipart(request: Request) -> Response:
        emu.count("upload")
        if (denied := cdn_unauthorized(request)) is not None:
            return denied
        content_type = request.headers.get("content-type") or "application/octet-stream"
        name = safe_file_name(request.headers.get("x-fal-file-name"))
        key, upload_id = emu.storage.start_multipart(name, content_type, expires_in(request))
        return JSONResponse({"access_url": f"{base(request)}/files/{key}/{name}", "uploadId": upload_id})

    async def put_part(request: Request) -> Response:
        emu.count("upload")
        p = request.path_params
        number = int(p["part_number"])
        try:
            etag = await emu.storage.put_part(str(p["key"]), str(p["upload_id"]), number, request.stream())
        except UploadError as exc:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        # fal-client reads the ETag header; the JS client reads {partNumber, etag} from the body.
        return JSONResponse({"partNumber": number, "etag": etag}, headers={"etag": etag})

    async def complete_part(request: Request) -> Response:
        emu.count("upload")
        p = request.path_params
        try:
            data = json.loads(await request.body() or b"{}")
        except (ValueError, UnicodeDecodeError):
            data = None
        try:
            parts = data.get("parts") if isinstance(data, dict) else None
            stored = await emu.storage.complete_multipart(str(p["key"]), str(p["upload_id"]), parts)
        except UploadError as exc:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return JSONResponse({"access_url": stored.url(base(request))})

    # -- the rest ------------------------------------------------------------------------------
    async def not_found(request: Request) -> Response:
        return JSONResponse({"detail": "Not Found"}, status_code=404)

    async def info(request: Request) -> Response:
        url = base(request)
        return JSONResponse(
            {
                "service": "sora2-widgets fal emulator (simulated; no real model runs)",
                "role": role(request),
                "queue_url": url,
                "run_url": url + "/run",
                "storage_url": url,
                "proxy_url": url + PROXY_PATH,
                "endpoints": [m.endpoint for m in MODELS],
            }
        )

    routes = [
        Route("/", info, methods=["GET"]),
        Route("/media/{request_id}/{file_name}", media, methods=["GET", "HEAD"]),
        Route("/storage/auth/token", cdn_token, methods=["POST"]),
        Route("/storage/upload/initiate", initiate, methods=["POST"]),
        Route("/storage/upload/initiate-multipart", initiate_multipart, methods=["POST"]),
        Route("/storage/uploads/{upload_id}", put_reserved, methods=["PUT"]),
        Route("/files/upload", cdn_upload, methods=["POST"]),
        Route("/files/upload/multipart", cdn_multipart, methods=["POST"]),
        Route("/files/{key}/{file_name}/multipart/{upload_id}/{part_number:int}", put_part, methods=["PUT"]),
        Route("/files/{key}/{file_name}/multipart/{upload_id}/complete", complete_part, methods=["POST"]),
        Route("/files/{key}/{file_name}", files, methods=["GET", "HEAD"]),
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


async def _upload_request(request: Request) -> tuple[str, str] | Response:
    """``{file_name, content_type}`` of an initiate call (both clients send JSON)."""
    try:
        data = json.loads(await request.body() or b"{}")
    except (ValueError, UnicodeDecodeError):
        data = None
    content_type = data.get("content_type") if isinstance(data, dict) else None
    if not isinstance(content_type, str) or not content_type:
        items = [{"loc": ["body", "content_type"], "msg": "Field required", "type": "missing"}]
        return JSONResponse({"detail": items}, status_code=422)
    file_name = data.get("file_name") if isinstance(data, dict) else None
    return safe_file_name(file_name if isinstance(file_name, str) else None), content_type


def _default_name(content_type: str) -> str:
    ext = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ".bin"
    return f"upload{ext}"


def _dump(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def _flag(request: Request, name: str) -> bool:
    # fal's docs use ?logs=1; fal-client sends ?logs=true / ?logs=false.
    return request.query_params.get(name, "0").strip().lower() in ("1", "true", "yes", "on")


def _detail(exc: pydantic.ValidationError) -> list[dict[str, Any]]:
    # fal's (FastAPI's) 422 shape. The offending input is left out on purpose: it may be a secret (api_key).
    return [
        {"loc": ["body", *err["loc"]], "msg": err["msg"], "type": err["type"]} for err in exc.errors(include_url=False)
    ]


def _schema_error(detail: list[dict[str, Any]]) -> JobError:
    """The error of a queued job whose input failed the schema: its result answers 422 ``detail``."""
    first = detail[0] if detail else {"loc": ["body"], "msg": "Invalid input", "type": "value_error"}
    where = ".".join(str(part) for part in first["loc"][1:]) or "body"
    more = f" (and {len(detail) - 1} more)" if len(detail) > 1 else ""
    message = f"{where}: {first['msg']}{more}"
    return JobError(status_code=422, error_type=str(first["type"]), detail=detail, message=message)


def _truncated(payload: bytes, content_type: str, headers: dict[str, str]) -> Response:
    """Announce the whole body, send half, then cut the connection (a dropped download)."""

    async def half() -> AsyncIterator[bytes]:
        yield payload[: len(payload) // 2]
        raise SimulatedDrop("simulated: connection dropped mid-body")

    all_headers = {**headers, "content-length": str(len(payload))}
    return StreamingResponse(half(), media_type=content_type, headers=all_headers)
