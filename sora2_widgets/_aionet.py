"""A plain-asyncio network backend for httpcore: the client's default connections.

httpx's async transport reaches sockets through anyio, which wraps every read and every write
in a cancel scope (``fail_after``) and a checkpoint. For a client whose whole job is a handful
of small requests, that bookkeeping was a large share of its CPU per job (measured: ~0.15 ms
of ~0.55 ms per loopback GET). This backend speaks to asyncio transports directly: reads
are served from a buffer filled by ``data_received``, timeouts are one ``call_later`` timer,
and nothing else happens per call.

It is used only for the connections :class:`~sora2_widgets.AsyncFalClient` opens itself (no
``transport=`` given); TLS goes through asyncio's own ``start_tls`` with httpx's SSL context.
Back-pressure both ways: reading pauses when ``MAX_BUFFER`` bytes are waiting unread (a slow
consumer of a large download never makes the buffer grow), writing waits for the transport
to drain when the kernel buffer is full.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

__all__ = ["AsyncioBackend", "make_transport"]

#: Unread bytes held per connection before the socket stops being read.
MAX_BUFFER = 1 << 20


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


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        p = self._protocol
        if not p.chunks and not p.eof:
            p.waiter = asyncio.get_running_loop().create_future()
            try:
                await _wait(p.waiter, timeout, httpcore.ReadTimeout("timed out reading"))
            finally:
                p.waiter = None
        if p.chunks:
            # One received chunk as it came (asyncio reads up to 256 KiB at a time), even when it is
            # larger than ``max_bytes``: h11 takes any size, while cutting it into httpcore's 64 KiB
            # would copy the rest each time and quadruple the per-chunk work of a large download.
            data = p.chunks.popleft()
            p.buffered -= len(data)
            if p.paused and p.buffered <= MAX_BUFFER // 2:
                p.paused = False
                self._transport.resume_reading()
            return data
        if p.error is not None:
            raise httpcore.ReadError(str(p.error) or type(p.error).__name__)
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if self._transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        self._transport.write(buffer)
        drained = self._protocol.drained
        if drained is not None:
            await _wait(drained, timeout, httpcore.WriteTimeout("timed out writing"))

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            upgraded = await asyncio.wait_for(
                loop.start_tls(self._transport, self._protocol, ssl_context, server_hostname=server_hostname),
                timeout,
            )
        except asyncio.TimeoutError:
            self._transport.close()
            raise httpcore.ConnectTimeout("timed out during the TLS handshake") from None
        except (OSError, ssl.SSLError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc)) from exc
        if upgraded is None:  # the peer closed during the handshake
            raise httpcore.ConnectError("the connection was closed during the TLS handshake")
        assert isinstance(upgraded, asyncio.Transport)
        self._protocol.transport = upgraded
        return AsyncioStream(upgraded, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        if info == "is_readable":
            # httpcore asks this of an idle keep-alive connection: anything to read means the
            # server closed it (or sent garbage), so it must not be reused.
            return bool(self._protocol.chunks) or self._protocol.eof
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        protocol = _Protocol()
        try:
            transport, _ = await asyncio.wait_for(
                loop.create_connection(
                    lambda: protocol, host, port, local_addr=(local_address, 0) if local_address else None
                ),
                timeout,
            )
        except asyncio.TimeoutError:
            raise httpcore.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)  # asyncio already sets TCP_NODELAY
        assert isinstance(transport, asyncio.Transport)
        return AsyncioStream(transport, protocol)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by this client")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def make_transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    """httpx's own async transport (its SSL context, exception mapping), with this backend.

    Falls back to the stock transport if a future httpx no longer keeps a plain connection
    pool where we expect it: slower, never wrong.
    """
    transport = httpx.AsyncHTTPTransport(limits=limits)
    pool = getattr(transport, "_pool", None)
    if type(pool) is not httpcore.AsyncConnectionPool:
        return transport
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=pool._ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=AsyncioBackend(),
    )
    return transport
