"""The client's own HTTP/1.1 transport (``sora2_widgets._http11``) against a raw loopback server.

The server below writes exactly the bytes each test wants, when it wants: keep-alive and
``Connection: close``, chunked bodies cut at every byte, trailers, interim 100 answers, idle
connections the server drops, answers that stop half-way, and pool limits. Assertions are what
the client above relies on: the body is exact, the right httpx exception comes out (the client's
retry rules depend on which one), and connections are reused only when that is safe.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from sora2_widgets._http11 import Http11Transport, _debug_state


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    connection: int


Write = Callable[[bytes], Awaitable[None]]
Handler = Callable[[Request, Write], Awaitable[bool]]  # False: close the connection afterwards


@dataclass
class Server:
    base: str
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    open_now: int = 0
    most_open: int = 0


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return body
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    return await reader.readexactly(int(headers.get("content-length", "0")))


@asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[Server]:
    server = Server("")

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        number = server.connections
        server.open_now += 1
        server.most_open = max(server.most_open, server.open_now)
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                method, target, _ = head[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in head[1:] if ln)}
                req = Request(method, target, headers, await _read_body(reader, headers), number)
                server.requests.append(req)

                async def write(data: bytes) -> None:
                    writer.write(data)
                    await writer.drain()

                if not await handler(req, write):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            server.open_now -= 1
            writer.close()

    tcp = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    server.base = f"http://127.0.0.1:{tcp.sockets[0].getsockname()[1]}"
    try:
        yield server
    finally:
        tcp.close()


def sized(body: bytes, code: int = 200, extra: str = "") -> bytes:
    return f"HTTP/1.1 {code} OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


def client(**limits: int) -> httpx.AsyncClient:
    transport = Http11Transport(httpx.Limits(**limits) if limits else httpx.Limits())
    return httpx.AsyncClient(transport=transport, timeout=5)


def state(c: httpx.AsyncClient) -> dict[str, object]:
    transport = c._transport
    assert isinstance(transport, Http11Transport)
    return _debug_state(transport)


def test_keep_alive_reuses_one_connection_and_sends_bodies_exactly() -> None:
    async def echo(req: Request, write: Write) -> bool:
        await write(sized(req.method.encode() + b" " + req.target.encode() + b" " + req.body))
        return True

    async def main() -> Server:
        async with serve(echo) as server, client() as c:
            got = [(await c.get(f"{server.base}/a?x=1&y=%20")).content for _ in range(3)]
            got.append((await c.post(f"{server.base}/b", content=b'{"prompt":"caf\xc3\xa9"}')).content)
            assert got == [b"GET /a?x=1&y=%20 "] * 3 + [b'POST /b {"prompt":"caf\xc3\xa9"}']
            assert state(c) == {
                "open": 0,
                "idle": {("http", "127.0.0.1", int(server.base.rsplit(":", 1)[1])): 1},
                "waiters": 0,
            }
            return server

    server = asyncio.run(main())
    assert server.connections == 1
    assert server.requests[-1].headers["content-length"] == str(len('{"prompt":"café"}'.encode()))


@pytest.mark.parametrize("seed", range(8))
def test_chunked_bodies_cut_anywhere_with_extensions_and_trailers(seed: int) -> None:
    rng = random.Random(seed)
    body = rng.randbytes(rng.randint(0, 3000))
    wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    pos = 0
    while pos < len(body):
        n = rng.randint(1, 700)
        wire += b"%x;ext=1\r\n%s\r\n" % (len(body[pos : pos + n]), body[pos : pos + n])
        pos += n
    wire += b"0\r\nX-Trailer: yes\r\n\r\n"

    async def cut_up(req: Request, write: Write) -> bool:
        if req.target == "/again":
            await write(sized(b"second"))
            return True
        i = 0
        while i < len(wire):
            j = min(len(wire), i + rng.choice([1, 2, 3, 7, 64, 500]))
            await write(wire[i:j])
            i = j
        return True

    async def main() -> Server:
        async with serve(cut_up) as server, client() as c:
            first = await c.get(f"{server.base}/first")
            assert first.content == body
            assert (await c.get(f"{server.base}/again")).content == b"second"
            return server

    assert asyncio.run(main()).connections == 1  # the chunked body was read to its end: reusable


def test_connection_close_and_bodies_until_close() -> None:
    async def closing(req: Request, write: Write) -> bool:
        if req.target == "/close":
            await write(sized(b"bye", extra="Connection: close\r\n"))
        else:  # no length, no chunking: the body is everything until the server closes
            await write(b"HTTP/1.1 200 OK\r\n\r\n" + b"until " + b"close")
        return False

    async def main() -> Server:
        async with serve(closing) as server, client() as c:
            assert (await c.get(f"{server.base}/close")).content == b"bye"
            assert (await c.get(f"{server.base}/eof")).content == b"until close"
            assert (await c.get(f"{server.base}/close")).content == b"bye"
            assert state(c)["idle"] == {}
            return server

    assert asyncio.run(main()).connections == 3


def test_an_idle_connection_the_server_dropped_is_not_reused() -> None:
    # fal's servers close idle keep-alive connections. Reusing one would make the next submit
    # fail *after sending* ("outcome unknown"); a fresh connection must be used instead.
    async def once_per_connection(req: Request, write: Write) -> bool:
        await write(sized(b"ok"))
        return False  # keep-alive announced, but the server closes right after

    async def main() -> Server:
        async with serve(once_per_connection) as server, client() as c:
            for _ in range(3):
                assert (await c.post(f"{server.base}/submit", content=b"{}")).content == b"ok"
                await asyncio.sleep(0.05)  # the close reaches us while the connection is idle
            return server

    server = asyncio.run(main())
    assert server.connections == 3 and len(server.requests) == 3


def test_head_204_and_interim_100_have_no_body_and_keep_the_connection() -> None:
    async def bodiless(req: Request, write: Write) -> bool:
        if req.method == "HEAD":
            await write(b"HTTP/1.1 200 OK\r\nContent-Length: 12345\r\n\r\n")
        elif req.target == "/204":
            await write(b"HTTP/1.1 204 No Content\r\n\r\n")
        else:
            await write(b"HTTP/1.1 100 Continue\r\n\r\n" + sized(b"final", 201))
        return True

    async def main() -> Server:
        async with serve(bodiless) as server, client() as c:
            head = await c.head(f"{server.base}/x")
            assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == "12345"
            assert (await c.get(f"{server.base}/204")).status_code == 204
            final = await c.post(f"{server.base}/continue", content=b"x")
            assert final.status_code == 201 and final.content == b"final"
            return server

    assert asyncio.run(main()).connections == 1


@pytest.mark.parametrize(
    ("wire", "error", "match"),
    [
        (b"", httpx.RemoteProtocolError, "without sending a response"),
        (b"HTTP/1.1 200 OK\r\nContent-Le", httpx.RemoteProtocolError, "response head"),
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", httpx.RemoteProtocolError, "not an HTTP/1.x response"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", httpx.RemoteProtocolError, "malformed response header"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", httpx.RemoteProtocolError, "6 bytes before the end"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", httpx.RemoteProtocolError, "chunked"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", httpx.RemoteProtocolError, "chunk size"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n", httpx.RemoteProtocolError, "content-length"),
    ],
)
def test_broken_answers_raise_the_error_the_client_retries_on(wire: bytes, error: type[Exception], match: str) -> None:
    async def broken(req: Request, write: Write) -> bool:
        await write(wire)
        return False

    async def main() -> None:
        async with serve(broken) as server, client() as c:
            with pytest.raises(error, match=match):
                await c.get(f"{server.base}/x")
            assert state(c)["open"] == 0  # the slot came back even though the exchange failed

    asyncio.run(main())


def test_nothing_listening_is_a_connect_error() -> None:
    # The one failure after which a submit is known not to have reached the service.
    async def main() -> None:
        async with serve(lambda r, w: asyncio.sleep(0, True)) as server:
            base = server.base
        async with client() as c:
            with pytest.raises(httpx.ConnectError):
                await c.post(f"{base}/submit", content=b"{}")
            assert state(c)["open"] == 0

    asyncio.run(main())


def test_a_silent_server_is_a_read_timeout() -> None:
    async def silent(req: Request, write: Write) -> bool:
        await asyncio.sleep(5)
        return False

    async def main() -> None:
        async with serve(silent) as server, client() as c:
            with pytest.raises(httpx.ReadTimeout):
                await c.get(f"{server.base}/x", timeout=httpx.Timeout(5, read=0.2))
            assert state(c)["open"] == 0

    asyncio.run(main())


def test_streamed_bodies_arrive_as_sent_and_request_streams_go_chunked() -> None:
    first_seen = asyncio.Event()

    async def events(req: Request, write: Write) -> bool:
        if req.method == "POST":
            await write(sized(b"got " + req.body + b" " + req.headers.get("transfer-encoding", "").encode()))
            return True
        await write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nevent1\r\n")
        await first_seen.wait()  # the client must see event 1 before the server sends more
        await write(b"6\r\nevent2\r\n0\r\n\r\n")
        return True

    async def upload() -> AsyncIterator[bytes]:
        yield b"part1-"
        yield b"part2"

    async def main() -> None:
        async with serve(events) as server, client() as c:
            got = []
            async with c.stream("GET", f"{server.base}/stream") as r:
                async for piece in r.aiter_raw():
                    got.append(piece)
                    first_seen.set()
            assert got == [b"event1", b"event2"]
            posted = await c.post(f"{server.base}/upload", content=upload())
            assert posted.content == b"got part1-part2 chunked"

    asyncio.run(asyncio.wait_for(main(), 10))


def test_pool_limit_is_kept_and_a_busy_pool_times_out() -> None:
    release, two_in = asyncio.Event(), asyncio.Event()

    async def slow(req: Request, write: Write) -> bool:
        if req.connection == 2:
            two_in.set()
        await release.wait()
        await write(sized(b"done"))
        return True

    async def main() -> Server:
        async with serve(slow) as server, client(max_connections=2) as c:
            tasks = [asyncio.ensure_future(c.get(f"{server.base}/{i}")) for i in range(5)]
            await two_in.wait()  # both connections busy
            with pytest.raises(httpx.PoolTimeout):
                await c.get(f"{server.base}/late", timeout=httpx.Timeout(5, pool=0.1))
            release.set()
            assert [r.content for r in await asyncio.gather(*tasks)] == [b"done"] * 5
            assert state(c)["open"] == 0 and state(c)["waiters"] == 0
            return server

    server = asyncio.run(main())
    assert server.most_open == 2 and server.connections == 2


def test_abandoning_a_response_half_read_frees_its_slot_and_drops_the_connection() -> None:
    streaming = asyncio.Event()

    async def endless(req: Request, write: Write) -> bool:
        await write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        streaming.set()
        while True:
            await write(b"5\r\nhello\r\n")
            await asyncio.sleep(0.01)

    async def main() -> None:
        async with serve(endless) as server, client(max_connections=1) as c:

            async def reader() -> None:
                async with c.stream("GET", f"{server.base}/x") as r:
                    async for _ in r.aiter_raw():
                        pass

            task = asyncio.ensure_future(reader())
            await streaming.wait()
            await asyncio.sleep(0.05)  # a few chunks read
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert state(c) == {"open": 0, "idle": {}, "waiters": 0}

    asyncio.run(asyncio.wait_for(main(), 10))
