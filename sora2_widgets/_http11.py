"""The client's own HTTP/1.1 connections: a small httpx transport on plain asyncio.

Why not httpx's default transport (httpcore + h11 on anyio)? This client's whole job is a handful
of small requests per video, and there that stack's per-request bookkeeping (h11's event
machine, httpcore's pool and its anyio locks and cancel scopes) was ~300 µs of CPU per request
on loopback, against ~40 µs for the same exchange on bare asyncio. Everything above the
transport stays httpx: URLs, headers, the ``Response`` object, content decoding, redirects,
proxies (with proxy environment variables set the client uses httpx's stock transport instead),
and the exception classes, which the client's retry rules depend on:

* ``ConnectError`` / ``ConnectTimeout`` only while connecting (TCP or TLS), before a single byte
  of the request was written: the one case where a submit is known not to have reached fal;
* ``RemoteProtocolError`` when the server closes without answering, or answers something that
  is not HTTP/1.x; ``ReadError`` / ``WriteError`` for socket errors; ``ReadTimeout``,
  ``WriteTimeout``, ``PoolTimeout`` for the timeouts httpx passes in ``request.extensions``.

Responses stream as they arrive (the SSE status stream, large downloads) with back-pressure both
ways: reading pauses when ``MAX_BUFFER`` bytes wait unread, writing waits for the socket to drain.
A connection goes back to the pool only after its response was read to the end, and an idle one
is dropped if the server closed it (or sent anything) meanwhile, or after ``keepalive_expiry``.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

__all__ = ["Http11Transport", "make_transport"]

#: Unread bytes held per connection before the socket stops being read.
MAX_BUFFER = 1 << 20
#: A response head larger than this is not an HTTP server we want to talk to.
MAX_HEAD = 64 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}


class _Protocol(asyncio.Protocol):
    """Collects what the socket delivers; wakes the one reader waiting for it."""

    def __init__(self) -> None:
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.eof = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.drained: asyncio.Future[None] | None = None
        self.transport: asyncio.Transport | None = None
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered > MAX_BUFFER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool | None:
        self.eof = True
        self._wake()
        return None  # let the transport close itself

    def connection_lost(self, exc: BaseException | None) -> None:
        self.eof = True
        self.error = exc
        self._wake()
        drained = self.drained
        if drained is not None and not drained.done():
            drained.set_result(None)

    def pause_writing(self) -> None:
        self.drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        drained, self.drained = self.drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)


def _expire(future: asyncio.Future[None], error: Exception) -> None:
    if not future.done():
        future.set_exception(error)


async def _wait(future: asyncio.Future[None], timeout: float | None, error: Exception) -> None:
    """Await ``future``; after ``timeout`` seconds raise ``error`` instead (one timer, no task)."""
    if timeout is None:
        await future
        return
    timer = asyncio.get_running_loop().call_later(timeout, _expire, future, error)
    try:
        await future
    finally:
        timer.cancel()


class _Connection:
    """One TCP (or TLS) connection to one origin, used by one request at a time."""

    def __init__(self, key: tuple[str, str, int], transport: asyncio.Transport, protocol: _Protocol) -> None:
        self.key = key
        self.transport = transport
        self.protocol = protocol
        self.idle_since = 0.0

    def reusable_now(self) -> bool:
        p = self.protocol
        # Anything to read on an idle connection means the server closed it (or sent garbage).
        return not (p.eof or p.chunks or p.error is not None or self.transport.is_closing())

    async def read(self, timeout: float | None) -> bytes:
        """The next received chunk as it came; b"" at the end of the stream."""
        p = self.protocol
        if not p.chunks and not p.eof:
            p.waiter = asyncio.get_running_loop().create_future()
            try:
                await _wait(p.waiter, timeout, httpx.ReadTimeout("timed out reading the response"))
            finally:
                p.waiter = None
        if p.chunks:
            data = p.chunks.popleft()
            p.buffered -= len(data)
            if p.paused and p.buffered <= MAX_BUFFER // 2:
                p.paused = False
                self.transport.resume_reading()
            return data
        if p.error is not None:
            raise httpx.ReadError(str(p.error) or type(p.error).__name__)
        return b""

    def unread(self, data: bytes) -> None:
        """Put back bytes read past the end of what was wanted (the next parser step reads them)."""
        if data:
            self.protocol.chunks.appendleft(data)
            self.protocol.buffered += len(data)

    async def write(self, data: bytes, timeout: float | None) -> None:
        if self.transport.is_closing() or self.protocol.error is not None:
            raise httpx.WriteError("the connection was closed")
        self.transport.write(data)
        drained = self.protocol.drained
        if drained is not None:
            await _wait(drained, timeout, httpx.WriteTimeout("timed out sending the request"))

    def close(self) -> None:
        self.transport.close()


def _has_token(values: list[bytes], token: bytes) -> bool:
    return any(token in (t.strip().lower() for t in v.split(b",")) for v in values)


class _Head:
    """A parsed response head and how its body is framed."""

    __slots__ = ("chunked", "headers", "keep_alive", "length", "reason", "status")

    def __init__(self, raw: bytes, method: bytes) -> None:
        lines = raw.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit() or len(parts[1]) != 3:
            raise httpx.RemoteProtocolError(f"not an HTTP/1.x response: {lines[0][:80]!r}")
        self.status = int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else b""
        headers: list[tuple[bytes, bytes]] = []
        lengths: list[bytes] = []
        encodings: list[bytes] = []
        connection: list[bytes] = []
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip():
                raise httpx.RemoteProtocolError(f"malformed response header: {line[:80]!r}")
            value = value.strip()
            headers.append((name, value))
            lower = name.lower()
            if lower == b"content-length":
                lengths.append(value)
            elif lower == b"transfer-encoding":
                encodings.append(value)
            elif lower == b"connection":
                connection.append(value)
        self.headers = headers
        http10 = parts[0] == b"HTTP/1.0"
        self.keep_alive = _has_token(connection, b"keep-alive") if http10 else not _has_token(connection, b"close")
        self.chunked = False
        self.length: int | None = None  # None: the body runs until the server closes
        if method == b"HEAD" or self.status in (204, 304) or 100 <= self.status < 200:
            self.length = 0
        elif encodings:
            if not encodings[-1].lower().endswith(b"chunked"):
                raise httpx.RemoteProtocolError("unsupported transfer-encoding")
            self.chunked = True
        elif lengths:
            if len(set(lengths)) != 1 or not lengths[0].isdigit():
                raise httpx.RemoteProtocolError("invalid content-length")
            self.length = int(lengths[0])
        if self.length is None and not self.chunked:
            self.keep_alive = False


class _Body(httpx.AsyncByteStream):
    """A response body, decoded from its framing, as it arrives. Closing it returns the connection
    to the pool when the body was read to its end and the server allows reuse; otherwise the
    connection is closed. Either way the pool slot is released exactly once."""

    def __init__(self, pool: Http11Transport, conn: _Connection, head: _Head, read_timeout: float | None) -> None:
        self._pool = pool
        self._conn = conn
        self._head = head
        self._timeout = read_timeout
        self._done = head.length == 0
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._done:
            return
        try:
            if self._head.chunked:
                async for piece in self._chunked():
                    yield piece
            elif self._head.length is not None:
                async for piece in self._sized(self._head.length):
                    yield piece
            else:
                while data := await self._conn.read(self._timeout):
                    yield data
            self._done = True
        except BaseException:
            self._done = False
            raise

    async def _sized(self, left: int) -> AsyncIterator[bytes]:
        conn, timeout = self._conn, self._timeout
        while left > 0:
            data = await conn.read(timeout)
            if not data:
                raise httpx.RemoteProtocolError(
                    f"the server closed the connection {left} bytes before the end of the response body"
                )
            if len(data) > left:
                # More than the body: bytes the server should not have sent; never reuse this one.
                self._head.keep_alive = False
                data = data[:left]
            left -= len(data)
            yield data

    async def _chunked(self) -> AsyncIterator[bytes]:
        conn, timeout = self._conn, self._timeout
        buf = b""

        async def more() -> bytes:
            data = await conn.read(timeout)
            if not data:
                raise httpx.RemoteProtocolError("the server closed the connection in the middle of a chunked body")
            return data

        while True:
            while b"\r\n" not in buf:
                if len(buf) > 4096:
                    raise httpx.RemoteProtocolError("malformed chunk size line")
                buf += await more()
            line, _, buf = buf.partition(b"\r\n")
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise httpx.RemoteProtocolError(f"malformed chunk size: {line[:40]!r}") from None
            if size < 0:
                raise httpx.RemoteProtocolError("negative chunk size")
            if size == 0:
                # Trailers (ignored), up to the empty line that ends the body.
                while True:
                    while b"\r\n" not in buf:
                        if len(buf) > MAX_HEAD:
                            raise httpx.RemoteProtocolError("chunked trailers too large")
                        buf += await more()
                    line, _, buf = buf.partition(b"\r\n")
                    if not line:
                        if buf:
                            self._head.keep_alive = False
                        return
            while size > 0:
                if not buf:
                    buf = await more()
                piece, buf = buf[:size], buf[size:]
                size -= len(piece)
                yield piece
            while len(buf) < 2:
                buf += await more()
            if buf[:2] != b"\r\n":
                raise httpx.RemoteProtocolError("chunk data not followed by CRLF")
            buf = buf[2:]

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._pool._release(self._conn, reuse=self._done and self._head.keep_alive)


class Http11Transport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over asyncio for http:// and https:// origins, with a keep-alive pool."""

    def __init__(self, limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_context if ssl_context is not None else httpx.create_ssl_context()
        self._max = limits.max_connections
        self._max_idle = limits.max_keepalive_connections
        self._expiry = limits.keepalive_expiry
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._open = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False

    # -- the pool ------------------------------------------------------------------------------
    async def _slot(self, timeout: float | None) -> None:
        if self._max is None or self._open < self._max:
            self._open += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await _wait(waiter, timeout, httpx.PoolTimeout("timed out waiting for a free connection"))
        except BaseException:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            elif waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._free_slot()  # the slot was handed to us as we gave up: pass it on
            raise
        # The slot was handed over by _free_slot (``_open`` stays counted).

    def _free_slot(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._open -= 1

    def _release(self, conn: _Connection, *, reuse: bool) -> None:
        if reuse and not self._closed and conn.reusable_now():
            idle = self._idle.setdefault(conn.key, [])
            if self._max_idle is None or sum(map(len, self._idle.values())) < self._max_idle:
                conn.idle_since = time.monotonic()
                idle.append(conn)
            else:
                conn.close()
        else:
            conn.close()
        self._free_slot()

    def _reuse(self, key: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()  # the most recently used: the least likely to have been closed
            if conn.reusable_now() and (self._expiry is None or now - conn.idle_since < self._expiry):
                return conn
            conn.close()
        return None

    async def _connect(self, key: tuple[str, str, int], timeout: float | None, sni: str | None) -> _Connection:
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        protocol = _Protocol()
        tls = self._ssl if scheme == "https" else None
        try:
            transport, _ = await asyncio.wait_for(
                loop.create_connection(
                    lambda: protocol, host, port, ssl=tls, server_hostname=(sni or host) if tls else None
                ),
                timeout,
            )
        except asyncio.TimeoutError:
            raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        assert isinstance(transport, asyncio.Transport)  # asyncio already sets TCP_NODELAY
        return _Connection(key, transport, protocol)

    # -- one exchange --------------------------------------------------------------------------
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the transport is closed")
        url = request.url
        scheme = url.scheme
        if scheme not in DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}")
        key = (scheme, url.host, url.port or DEFAULT_PORTS[scheme])
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        method = request.method.encode("ascii")
        head = [method, b" ", url.raw_path, b" HTTP/1.1\r\n"]
        for name, value in request.headers.raw:
            head += (name, b": ", value, b"\r\n")
        try:
            body: bytes | None = request.content
        except httpx.RequestNotRead:
            body = None  # a streamed body, sent below as it comes
        streamed = body is None
        if streamed and "content-length" not in request.headers and "transfer-encoding" not in request.headers:
            head.append(b"transfer-encoding: chunked\r\n")
        head.append(b"\r\n")

        await self._slot(timeouts.get("pool"))
        conn: _Connection | None = None
        try:
            conn = self._reuse(key) or await self._connect(
                key, timeouts.get("connect"), request.extensions.get("sni_hostname")
            )
            write_timeout = timeouts.get("write")
            await conn.write(b"".join(head) + (body or b""), write_timeout)
            if streamed:
                await self._send_stream(conn, request, write_timeout)
            response_head = await self._read_head(conn, method, timeouts.get("read"))
        except BaseException:
            if conn is not None:
                conn.close()
            self._free_slot()
            raise
        stream = _Body(self, conn, response_head, timeouts.get("read"))
        return httpx.Response(
            response_head.status,
            headers=response_head.headers,
            stream=stream,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": response_head.reason},
        )

    @staticmethod
    async def _send_stream(conn: _Connection, request: httpx.Request, timeout: float | None) -> None:
        chunked = "content-length" not in request.headers
        assert isinstance(request.stream, httpx.AsyncByteStream)
        async for part in request.stream:
            if part:
                await conn.write(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part, timeout)
        if chunked:
            await conn.write(b"0\r\n\r\n", timeout)

    @staticmethod
    async def _read_head(conn: _Connection, method: bytes, timeout: float | None) -> _Head:
        buf = b""
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                conn.unread(buf[end + 4 :])
                head = _Head(buf[:end], method)
                if 100 <= head.status < 200 and head.status != 101:
                    buf = b""  # an interim answer (100 Continue): the real one follows
                    continue
                return head
            if len(buf) > MAX_HEAD:
                raise httpx.RemoteProtocolError("response head too large")
            data = await conn.read(timeout)
            if not data:
                if buf:
                    raise httpx.RemoteProtocolError(
                        "the server closed the connection mid-way through the response head"
                    )
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
            buf += data

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


def make_transport(limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None) -> httpx.AsyncBaseTransport:
    """The client's default transport (no ``transport=`` given and no proxy in the environment)."""
    return Http11Transport(limits, ssl_context)


def _debug_state(transport: Http11Transport) -> dict[str, Any]:
    """Pool counters, for tests: connections counted open, idle per origin, waiters."""
    return {
        "open": transport._open,
        "idle": {k: len(v) for k, v in transport._idle.items() if v},
        "waiters": len(transport._waiters),
    }
