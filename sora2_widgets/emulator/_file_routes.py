"""The emulator's media and file routes: job media (MP4/JPEG, fal's CDN), uploaded files, and the
storage upload protocol of both clients (see :mod:`._storage`)."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from ._http import base, truncated, unauthorized
from ._storage import UploadError, lifecycle_seconds, safe_file_name

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["file_routes"]


def file_routes(emu: Emulator) -> list[Route]:
    """Media, storage and file routes, in the order the app matches them."""

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
            return truncated(path.read_bytes(), content_type, {})
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
        if (denied := unauthorized(emu, request)) is not None:
            return denied
        return JSONResponse(emu.storage.issue_token(base(request)))

    async def begin_upload(request: Request, start: Callable[..., tuple[str, str]]) -> tuple[str, str, str] | Response:
        """The two upload initiations' shared part: count, check the key, read the request, reserve.
        Returns ``(file_url, upload_id, base_url)`` or the error answer."""
        emu.count("upload")
        if (denied := unauthorized(emu, request)) is not None:
            return denied
        parsed = await _upload_request(request)
        if isinstance(parsed, Response):
            return parsed
        name, content_type = parsed
        url = base(request)
        key, upload_id = start(name, content_type, expires_in(request))
        return f"{url}/files/{key}/{name}", upload_id, url

    async def initiate(request: Request) -> Response:
        begun = await begin_upload(request, emu.storage.reserve)
        if isinstance(begun, Response):
            return begun
        file_url, upload_id, url = begun
        return JSONResponse({"upload_url": f"{url}/storage/uploads/{upload_id}", "file_url": file_url})

    async def initiate_multipart(request: Request) -> Response:
        begun = await begin_upload(request, emu.storage.start_multipart)
        if isinstance(begun, Response):
            return begun
        file_url, upload_id, _ = begun
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

    return [
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
    ]


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
