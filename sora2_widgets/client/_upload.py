"""fal's storage flow: local images and files become URLs the model can fetch.

The routes and shapes are those of the official ``fal_client`` 1.0.x (``client.py``):

1. ``POST {rest}/storage/auth/token?storage_type=fal-cdn-v3`` with the fal key → a short-lived
   CDN token ``{token, token_type, base_url, expires_at}`` (cached until it expires);
2. up to :data:`MULTIPART_THRESHOLD`: ``POST {base_url}/files/upload`` with the bytes,
   ``Authorization: Bearer <token>``, ``Content-Type`` and ``X-Fal-File-Name`` → ``{access_url}``;
3. above it: ``POST {base_url}/files/upload/multipart`` → ``{access_url, uploadId}``, then
   ``PUT {access_url}/multipart/{uploadId}/{n}`` per :data:`PART_SIZE` part (its ``ETag`` kept) and
   ``POST {access_url}/multipart/{uploadId}/complete`` with ``{"parts": [...]}``;
4. if the CDN path fails: the legacy ``POST {rest}/storage/upload/initiate?storage_type=gcs``
   → ``{upload_url, file_url}``, then ``PUT upload_url`` with the bytes.

Every step is idempotent (a repeated upload stores the same bytes again, a repeated part replaces
the part), so each is retried with the client's :class:`Backoff`, unlike a submit. A file is read
from disk one part at a time: memory stays bounded by :data:`PART_SIZE` whatever the file's size.
The fal key goes only to the REST host; the CDN sees only its own token.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from .._errors import AuthError, ServiceError
from ._models import RetryPolicy
from ._redact import Secrets
from ._responses import Backoff, Retryable, body_of, describe_exc, retry_after, said

__all__ = ["MULTIPART_THRESHOLD", "PART_SIZE", "Uploader", "rest_url_for"]

log = logging.getLogger("sora2_widgets.client")

#: Above this many bytes a file goes through the multipart path (fal_client's threshold).
MULTIPART_THRESHOLD = 100 * 1024 * 1024
#: One multipart part (fal_client's chunk size); the most of a file held in memory at once.
PART_SIZE = 10 * 1024 * 1024
#: Bytes per read when a single upload streams a file from disk.
_READ_BLOCK = 1 << 20
_FAL_REST = "https://rest.fal.ai"


def rest_url_for(queue_url: str) -> str:
    """fal's storage REST host for a queue URL: ``rest.fal.ai`` for fal, else the queue's own origin
    (the emulator serves its storage routes beside its queue)."""
    url = httpx.URL(queue_url)
    if url.host == "fal.run" or url.host.endswith(".fal.run"):
        return _FAL_REST
    return str(url.copy_with(path="/", query=None, fragment=None)).rstrip("/")


@dataclass(frozen=True)
class _Token:
    header: str
    base_url: str
    expires_at: float


class _Failed(Exception):
    """A storage step that failed for good (not worth retrying): the sentence to show."""


class Uploader:
    """Uploads through fal's storage. Shares the client's transport, retry policy and secrets."""

    def __init__(
        self,
        *,
        rest_url: str,
        secrets: Secrets,
        transport: httpx.AsyncBaseTransport | None,
        timeout: httpx.Timeout,
        retry: RetryPolicy,
    ) -> None:
        self.rest_url = rest_url.rstrip("/")
        self._secrets = secrets
        self._retry = retry
        self._token: _Token | None = None
        # Its own connection pool: a 100 MiB upload must not hold one of the queue's connections.
        # No read/write timeout while bytes flow (a large part may take long); connect keeps its own.
        self._http = httpx.AsyncClient(
            transport=transport, timeout=httpx.Timeout(timeout.connect, read=None, write=None, pool=None)
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- public entry points -----------------------------------------------------------------
    async def upload_bytes(self, data: bytes, *, content_type: str, file_name: str) -> str:
        """Upload ``data``; returns its URL."""

        async def body() -> AsyncIterator[bytes]:
            yield data

        return await self._upload(len(data), lambda: body(), None, content_type, file_name)

    async def upload_file(
        self, path: str | os.PathLike[str], *, content_type: str, file_name: str | None = None
    ) -> str:
        """Upload a file from disk (streamed; multipart above :data:`MULTIPART_THRESHOLD`); returns its URL."""
        p = await asyncio.to_thread(Path(os.fspath(path)).expanduser)
        try:
            size = (await asyncio.to_thread(os.stat, p)).st_size
        except OSError as exc:
            raise ValueError(f"file {str(p)!r} cannot be read: {exc.strerror or type(exc).__name__}") from None
        return await self._upload(size, lambda: _read_file(p, 0, size), p, content_type, file_name or p.name)

    # -- the flow ----------------------------------------------------------------------------
    async def _upload(
        self,
        size: int,
        body: Callable[[], AsyncIterator[bytes]],
        path: Path | None,
        content_type: str,
        file_name: str,
    ) -> str:
        started = time.monotonic()
        try:
            if size > MULTIPART_THRESHOLD and path is not None:
                url = await self._multipart(path, size, content_type, file_name)
                how = "multipart"
            else:
                url = await self._single(body, content_type, file_name)
                how = "single"
        except (_Failed, ServiceError) as exc:
            # fal_client's fallback: the older initiate + PUT storage, when the CDN path fails.
            log.info("upload of %s via the CDN failed (%s); trying fal's storage initiate + PUT", file_name, exc)
            try:
                url = await self._legacy(body, content_type, file_name)
            except _Failed as legacy:
                raise ServiceError(f"{file_name} could not be uploaded to fal's storage: {legacy}") from None
            how = "initiate+PUT"
        log.info("uploaded %s (%d bytes, %s) in %.2f s: %s", file_name, size, how, time.monotonic() - started, url)
        return url

    async def _token_header(self) -> tuple[str, str]:
        token = self._token
        if token is None or time.time() >= token.expires_at - 30:
            url = f"{self.rest_url}/storage/auth/token?storage_type=fal-cdn-v3"
            data = await self._json("POST", url, "get a CDN token", json_body={}, key=True)
            try:
                expires = datetime.fromisoformat(str(data["expires_at"])).timestamp()
                token = _Token(f"{data['token_type']} {data['token']}", str(data["base_url"]).rstrip("/"), expires)
            except (KeyError, ValueError, TypeError):
                raise _Failed("the CDN token answer is unreadable") from None
            self._token = token
        return token.header, token.base_url

    async def _single(self, body: Callable[[], AsyncIterator[bytes]], content_type: str, file_name: str) -> str:
        auth, base = await self._token_header()
        headers = {"Authorization": auth, "Content-Type": content_type, "X-Fal-File-Name": file_name}
        data = await self._json("POST", f"{base}/files/upload", "upload", headers=headers, content=body)
        return _field(data, "access_url")

    async def _multipart(self, path: Path, size: int, content_type: str, file_name: str) -> str:
        auth, base = await self._token_header()
        headers = {"Authorization": auth, "Content-Type": content_type, "X-Fal-File-Name": file_name}
        data = await self._json("POST", f"{base}/files/upload/multipart", "start a multipart upload", headers=headers)
        access_url, upload_id = _field(data, "access_url"), _field(data, "uploadId")
        parts: list[dict[str, Any]] = []
        count = -(-size // PART_SIZE)
        for number in range(1, count + 1):
            start = (number - 1) * PART_SIZE
            length = min(PART_SIZE, size - start)
            part_headers = {"Authorization": auth, "Content-Type": content_type, "Accept-Encoding": "identity"}
            url = f"{access_url}/multipart/{upload_id}/{number}"
            response = await self._send(
                "PUT",
                url,
                f"upload part {number}/{count}",
                part_headers,
                functools.partial(_read_file, path, start, length),
            )
            etag = response.headers.get("etag")
            if not etag:
                raise _Failed(f"part {number} was stored without an ETag")
            parts.append({"partNumber": number, "etag": etag})
            log.info("upload of %s: part %d/%d stored", file_name, number, count)
        await self._json(
            "POST", f"{access_url}/multipart/{upload_id}/complete", "complete the multipart upload",
            headers={"Authorization": auth}, json_body={"parts": parts},
        )  # fmt: skip
        return access_url

    async def _legacy(self, body: Callable[[], AsyncIterator[bytes]], content_type: str, file_name: str) -> str:
        url = f"{self.rest_url}/storage/upload/initiate?storage_type=gcs"
        data = await self._json(
            "POST", url, "start an upload", json_body={"file_name": file_name, "content_type": content_type}, key=True
        )
        upload_url, file_url = _field(data, "upload_url"), _field(data, "file_url")
        # The upload URL is a signed capability: no credentials go with the bytes.
        await self._send("PUT", upload_url, "upload", {"Content-Type": content_type}, body)
        return file_url

    # -- one request, retried ----------------------------------------------------------------
    async def _json(
        self,
        method: str,
        url: str,
        what: str,
        *,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
        content: Callable[[], AsyncIterator[bytes]] | None = None,
        key: bool = False,
    ) -> dict[str, Any]:
        headers = dict(headers or {})
        if key and self._secrets.key is not None:
            headers["Authorization"] = f"Key {self._secrets.key.get_secret_value()}"
        response = await self._send(method, url, what, headers, content, json_body=json_body)
        try:
            data = response.json()
        except ValueError:
            raise _Failed(f"could not {what}: the answer is not JSON") from None
        if not isinstance(data, dict):
            raise _Failed(f"could not {what}: the answer is not a JSON object")
        return data

    async def _send(
        self,
        method: str,
        url: str,
        what: str,
        headers: dict[str, str],
        content: Callable[[], AsyncIterator[bytes]] | None,
        *,
        json_body: Any = None,
    ) -> httpx.Response:
        backoff = Backoff(self._retry)
        while True:
            backoff.attempt()
            try:
                # A fresh body per attempt: a stream read by a failed attempt cannot be sent again.
                body = content() if content is not None else None
                response = await self._http.request(method, url, headers=headers, content=body, json=json_body)
                code = response.status_code
                if code < 400:
                    return response
                message = self._secrets.scrub(said(body_of(response)))
                if code == 429 or code >= 500:
                    raise Retryable(
                        f"HTTP {code}", status_code=code, retry_after=retry_after(response), message=message
                    )
                if code in (401, 403):
                    raise AuthError(f"fal's storage refused the credentials (HTTP {code}) while trying to {what}")
                raise _Failed(f"could not {what}: HTTP {code}" + (f" ({message})" if message else ""))
            except httpx.TransportError as exc:
                last = Retryable(describe_exc(exc))
            except Retryable as exc:
                last = exc
            delay = backoff.delay_after(last)
            if delay is None:
                raise ServiceError(
                    f"could not {what} after {backoff.tries} attempts: {last.why}"
                    + (f" ({last.message})" if last.message else "")
                )
            log.info("upload: %s: %s; retry in %.2f s", what, last.why, delay)
            await backoff.wait(delay)


def _field(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise _Failed(f"the storage answer has no {name}")
    return value


async def _read_file(path: Path, start: int, length: int) -> AsyncIterator[bytes]:
    """``length`` bytes of ``path`` from ``start``, one block at a time (never the whole file)."""
    fh = await asyncio.to_thread(open, path, "rb")
    try:
        await asyncio.to_thread(fh.seek, start)
        left = length
        while left > 0:
            block = await asyncio.to_thread(fh.read, min(_READ_BLOCK, left))
            if not block:
                raise ValueError(f"{path.name} became shorter while it was uploaded")
            left -= len(block)
            yield block
    finally:
        fh.close()
