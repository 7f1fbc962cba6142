"""The emulator's job routes: fal's queue (submit, status, status stream, result, cancel) and the
synchronous run host (``fal.run``, and the emulator's own ``POST /run/{endpoint}`` shortcut)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pydantic
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ._envelope import SimulatedDrop
from ._http import base, dump, flag, job_or_404, role, truncated, unauthorized
from ._jobs import JobError, JobRecord, LogEntry, Snapshot
from ._platform_data import billable_units
from ._storage import lifecycle_seconds
from ._webhooks import loopback_url_problem
from ._wire import request_urls, result_body, status_body

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["job_routes"]

#: How often a status stream or a synchronous run re-derives the job state.
_TICK = 0.02
_KEEPALIVE = 15.0
_STILL_IN_PROGRESS = "Request is still in progress"


def job_routes(emu: Emulator) -> tuple[Route, list[Route]]:
    """The ``/run/{endpoint}`` route, and the queue routes (the catch-all submit last)."""

    async def submit(request: Request) -> Response:
        if role(request) == "run":
            return await run(request)
        emu.count("submits")
        answer = await _accept(request, sync=False)
        if emu.take("drop_submit_answers"):
            # Whatever the answer was (a job, a 429), it never arrives: the body was taken in.
            raise SimulatedDrop("simulated: submit answer lost after the body was taken in")
        return answer

    async def run(request: Request) -> Response:
        emu.count("run")
        return await _accept(request, sync=True)

    async def _accept(request: Request, *, sync: bool) -> Response:
        if (denied := unauthorized(emu, request)) is not None:
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
                # Everyone ahead when it came, the emulator's own earlier jobs of the app included.
                "queue_position": record.queue_position + len(record.queue_ahead),
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
        if (denied := unauthorized(emu, request)) is not None:
            return denied
        if emu.roll(emu.faults.status_error_rate):
            return JSONResponse(
                {"detail": "Service temporarily unavailable (simulated fault)", "error_type": "internal_error"},
                status_code=emu.faults.status_error_code,
            )
        found = job_or_404(emu, request)
        if isinstance(found, Response):
            return found
        snap = emu.snapshot(found)
        body = status_body(found, snap, base(request), snap.logs if flag(request, "logs") else None)
        code = 200 if snap.status == "COMPLETED" else 202
        return JSONResponse(body, status_code=code, headers={"x-fal-request-id": found.request_id})

    async def stream(request: Request) -> Response:
        emu.count("stream")
        if (denied := unauthorized(emu, request)) is not None:
            return denied
        found = job_or_404(emu, request)
        if isinstance(found, Response):
            return found
        record = found
        # The number of events this stream sends before it is cut (None: not cut), fixed at connect.
        drop = emu.faults.drop_stream_after if emu.take("drop_streams") else None
        with_logs = flag(request, "logs")
        url = base(request)

        async def events() -> AsyncIterator[str]:
            last: tuple[Any, ...] | None = None
            sent: set[LogEntry] = set()
            events_sent = 0
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
                    events_sent += 1
                    quiet_since = time.monotonic()
                    if snap.status == "COMPLETED":
                        return
                    if drop is not None and events_sent >= drop:
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
        if (denied := unauthorized(emu, request)) is not None:
            return denied
        found = job_or_404(emu, request)
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
        if queued and record.rendered is not None and emu.result_expired(snap, len(dump(result_body(record, url)))):
            return _expired(record, headers)
        record = await emu.ensure_media(record)
        spec = emu.spec_for(record.endpoint)
        if spec is not None:  # what fal bills for this request, in the endpoint's unit (seconds)
            headers["x-fal-billable-units"] = f"{billable_units(spec, record).normalize():f}"
        payload = dump(result_body(record, url))
        if emu.take("truncate_downloads"):
            return truncated(payload, "application/json", headers)
        return Response(payload, media_type="application/json", headers=headers)

    def _expired(record: JobRecord, headers: dict[str, str]) -> Response:
        detail = (
            f"Request {record.request_id} not found: its result expired (fal keeps a result 1 hour after the "
            "request completes, 6 minutes when it is 10 KB or larger). Save the media as soon as a job completes."
        )
        return JSONResponse({"detail": detail}, status_code=404, headers=headers)

    async def cancel(request: Request) -> Response:
        emu.count("cancel")
        if (denied := unauthorized(emu, request)) is not None:
            return denied
        found = job_or_404(emu, request)
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

    return Route("/run/{endpoint:path}", run, methods=["POST"]), [
        Route("/{owner}/{app}/requests/{request_id}/status/stream", stream, methods=["GET"]),
        Route("/{owner}/{app}/requests/{request_id}/status", status, methods=["GET"]),
        Route("/{owner}/{app}/requests/{request_id}/cancel", cancel, methods=["PUT"]),
        Route("/{owner}/{app}/requests/{request_id}", result, methods=["GET"]),
        Route("/{endpoint:path}", submit, methods=["POST"]),
    ]


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
