"""Wire faults for the reliability matrix: a loopback TCP proxy that breaks exchanges on the socket.

:class:`rel_faults.FaultTransport` raises ready-made httpx exceptions above the client's transport,
so the transport itself (httpx's own) never meets a real reset or a cut body there.
This proxy sits between the client and the emulator instead: the client talks real HTTP/1.1 to it
(keep-alive and all), it forwards each request to the emulator and relays the answer byte for
byte, and for the broken exchange it

* ``truncated``: relays the head and half of the body, then closes the connection (FIN);
* ``reset``: on submit/status/result, lets the emulator answer (the job exists, the status was
  read) and then resets the connection (RST, ``SO_LINGER`` 0) before a byte of it reaches the
  client; on the stream and media downloads, resets mid-body, after the head and half a read.

As in ``FaultTransport``, a fault fires on the first ``times`` attempts of a step per job.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from rel_faults import FaultPlan, classify

WIRE_PROXIED = ("reset", "truncated")
_MID_BODY = ("stream", "media")


@dataclass
class WireProxy:
    upstream: str  # http://host:port of the emulator
    plan: FaultPlan
    seen: Counter[str] = field(default_factory=Counter)
    fired: Counter[str] = field(default_factory=Counter)
    per_key: Counter[tuple[str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def _should_fire(self, step: str, key: str) -> bool:
        with self._lock:
            self.seen[step] += 1
            if self.plan.step != step or self.per_key[(step, key)] >= self.plan.times:
                return False
            self.per_key[(step, key)] += 1
            self.fired[step] += 1
            return True

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        """Serve on a free loopback port in a thread of its own; yields the proxy's base URL."""
        loop = asyncio.new_event_loop()
        server = loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        thread = threading.Thread(target=loop.run_forever, daemon=True, name="wire-proxy")
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        finally:
            asyncio.run_coroutine_threadsafe(self._shutdown(server), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()

    async def _shutdown(self, server: asyncio.Server) -> None:
        server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while await self._exchange(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Relay one request and its answer; False once the client's connection is done with."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False  # the client closed its idle keep-alive connection
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = [tuple(h.split(":", 1)) for h in lines[1:] if h]
        names = {k.strip().lower(): v.strip() for k, v in headers}
        assert "chunked" not in names.get("transfer-encoding", ""), "the client sent a chunked request body"
        body = await reader.readexactly(int(names.get("content-length", "0")))
        step, key = classify(method, urlsplit(target).path, body)
        fire = self._should_fire(step, key)

        # One upstream connection per request, closed by the emulator after its answer: the end
        # of the answer is then simply EOF, whatever its framing.
        up = urlsplit(self.upstream)
        up_reader, up_writer = await asyncio.open_connection(up.hostname, up.port)
        try:
            kept = [f"{k}:{v}" for k, v in headers if k.strip().lower() != "connection"]
            up_writer.write(("\r\n".join([lines[0], *kept, "Connection: close"]) + "\r\n\r\n").encode("latin-1"))
            up_writer.write(body)
            await up_writer.drain()
            answer_head = await up_reader.readuntil(b"\r\n\r\n")
            alines = answer_head.decode("latin-1").split("\r\n")
            # The emulator says "connection: close" because we asked; the client's connection stays.
            relayed = "\r\n".join(h for h in alines if not h.lower().startswith("connection:")).encode("latin-1")
            if not fire:
                writer.write(relayed)
                while chunk := await up_reader.read(65536):
                    writer.write(chunk)
                    await writer.drain()
                return True
            fault = self.plan.fault
            if fault == "reset" and step not in _MID_BODY:
                with contextlib.suppress(ConnectionError):
                    while await up_reader.read(65536):  # the service finished answering
                        pass
                await _reset(writer)
                return False
            length = next((int(h.split(":", 1)[1]) for h in alines if h.lower().startswith("content-length:")), None)
            first = await up_reader.read(65536)
            cut = first[: (length if length is not None else len(first)) // 2]
            writer.write(relayed + cut)
            await writer.drain()
            if fault == "reset":
                await _reset(writer)
            else:
                await _flushed(writer)
                writer.close()
            return False
        finally:
            up_writer.close()
            with contextlib.suppress(Exception):
                await up_writer.wait_closed()


async def _flushed(writer: asyncio.StreamWriter) -> None:
    """Until every relayed byte is in the kernel: an abort must not swallow them."""
    await writer.drain()
    # No event says "the kernel has it all": poll the transport's buffer.
    while writer.transport.get_write_buffer_size():  # noqa: ASYNC110
        await asyncio.sleep(0.001)


async def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST, as a crashed peer or middlebox does, instead of an orderly FIN."""
    await _flushed(writer)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
