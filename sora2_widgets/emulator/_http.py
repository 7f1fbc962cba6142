"""What every route of the emulator's app shares: the caller's base URL and host role, the key
check, the job a URL names, and the cut-connection answer of the download fault."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from ._envelope import ROLE_KEY, SimulatedDrop
from ._jobs import JobRecord

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["base", "dump", "flag", "job_or_404", "role", "truncated", "unauthorized"]


def base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def role(request: Request) -> str:
    return str(request.scope.get(ROLE_KEY, "queue"))


def unauthorized(emu: Emulator, request: Request) -> Response | None:
    if emu.key_ok(request.headers.get("authorization")):
        return None
    return JSONResponse(
        {"detail": "Missing or invalid fal key: send the header 'Authorization: Key <FAL_KEY>'."},
        status_code=401,
    )


def job_or_404(emu: Emulator, request: Request) -> JobRecord | Response:
    rid = str(request.path_params["request_id"])
    app_id = f"{request.path_params['owner']}/{request.path_params['app']}"
    record = emu.load(rid)
    # Requests live under their app id only (fal-ai/sora-2/requests/…), not under the full endpoint.
    if record is None or record.app_id != app_id:
        return JSONResponse({"detail": f"Request {rid} not found"}, status_code=404)
    return record


def dump(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def flag(request: Request, name: str) -> bool:
    # fal's docs use ?logs=1; fal-client sends ?logs=true / ?logs=false.
    return request.query_params.get(name, "0").strip().lower() in ("1", "true", "yes", "on")


def truncated(payload: bytes, content_type: str, headers: dict[str, str]) -> Response:
    """Announce the whole body, send half, then cut the connection (a dropped download)."""

    async def half() -> AsyncIterator[bytes]:
        yield payload[: len(payload) // 2]
        raise SimulatedDrop("simulated: connection dropped mid-body")

    all_headers = {**headers, "content-length": str(len(payload))}
    return StreamingResponse(half(), media_type=content_type, headers=all_headers)
