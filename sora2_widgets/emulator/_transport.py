"""An httpx transport that runs an ASGI app in the caller's event loop and *streams* its bodies.

Why not ``httpx.ASGITransport``? In httpx 0.28.1 (``httpx/_transports/asgi.py``,
``handle_async_request``) the app is awaited to completion — ``await self.app(scope,
receive, send)`` — while ``send`` appends every body chunk to a list (``body_parts``);
only then is the response returned with ``ASGIResponseStream(body_parts)``. So a
server-sent-events stream would be delivered all at once when the job completes, and a
long download would sit in memory. Here the app runs as a task; the response is returned
as soon as ``http.response.start`` arrives and body chunks flow through a queue as the
app sends them.

Behaviour that mirrors a real socket, so clients can be tested against it:

* an exception in the app *after* the response started (e.g. the emulator's
  dropped-connection fault) surfaces as :class:`httpx.RemoteProtocolError` while reading;
* closing the response early tells the app ``http.disconnect`` and stops it;
* httpx's read timeout (``timeout=`` on the client/request) is honoured as
  :class:`httpx.ReadTimeout`, both for the head and between body chunks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.types import ASGIApp, Message

__all__ = ["StreamingASGITransport"]

_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _Body(httpx.AsyncByteStream):
    def __init__(
        self,
        queue: asyncio.Queue[Any],
        task: asyncio.Task[None],
        disconnected: asyncio.Event,
        read_timeout: float | None,
        request: httpx.Request,
    ) -> None:
        self._queue = queue
        self._task = task
        self._disconnected = disconnected
        self._read_timeout = read_timeout
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            item = await _get(self._queue, self._read_timeout, self._request)
            if isinstance(item, _Failure):
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body", request=self._request
                ) from item.exc
            if item is _DONE:
                raise httpx.RemoteProtocolError("server ended the response without finishing it", request=self._request)
            message: Message = item
            if message["type"] != "http.response.body":
                continue
            chunk = bytes(message.get("body", b""))
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return

    async def aclose(self) -> None:
        self._disconnected.set()
        if not self._task.done():
            # Give the app a moment to notice http.disconnect, then stop it.
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(self._task), 0.05)
            if not self._task.done():
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task


async def _get(queue: asyncio.Queue[Any], timeout: float | None, request: httpx.Request) -> Any:
    try:
        return await asyncio.wait_for(queue.get(), timeout)
    except asyncio.TimeoutError:
        raise httpx.ReadTimeout("timed out waiting for the in-process emulator", request=request) from None


class StreamingASGITransport(httpx.AsyncBaseTransport):
    """Serve httpx requests from an ASGI app in the current event loop, streaming responses."""

    def __init__(self, app: ASGIApp, *, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self.app = app
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        # The request body is handed to the app chunk by chunk as it reads it, not joined first:
        # a large upload to the in-process emulator is never held whole in memory.
        body_chunks = request.stream.__aiter__()
        timeouts = request.extensions.get("timeout", {})
        read_timeout: float | None = timeouts.get("read")
        url = request.url
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for (k, v) in request.headers.raw],
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
            "client": self.client,
            "root_path": "",
        }
        queue: asyncio.Queue[Any] = asyncio.Queue()
        disconnected = asyncio.Event()
        body_done = False

        async def receive() -> Message:
            nonlocal body_done
            if not body_done:
                try:
                    chunk = await body_chunks.__anext__()
                except StopAsyncIteration:
                    body_done = True
                    return {"type": "http.request", "body": b"", "more_body": False}
                return {"type": "http.request", "body": bytes(chunk), "more_body": True}
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if disconnected.is_set():
                raise OSError("client disconnected")  # what a server does when writing to a closed socket
            queue.put_nowait(message)

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            except BaseException as exc:
                queue.put_nowait(_Failure(exc))
                if isinstance(exc, asyncio.CancelledError):
                    raise
            else:
                queue.put_nowait(_DONE)

        task = asyncio.get_running_loop().create_task(run())
        try:
            start = await _get(queue, read_timeout, request)
        except BaseException:
            disconnected.set()
            task.cancel()
            raise
        if isinstance(start, _Failure):
            # The app failed before answering: like ASGITransport(raise_app_exceptions=True), re-raise it.
            raise start.exc
        if start is _DONE or start["type"] != "http.response.start":
            raise httpx.RemoteProtocolError("the app ended without sending a response", request=request)
        headers = [(bytes(k), bytes(v)) for k, v in start.get("headers", [])]
        stream = _Body(queue, task, disconnected, read_timeout, request)
        return httpx.Response(
            int(start["status"]), headers=headers, stream=stream, extensions={"http_version": b"HTTP/1.1"}
        )
