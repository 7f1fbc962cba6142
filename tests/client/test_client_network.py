"""The client's own connections (no ``transport=``), over real loopback TCP.

A small raw HTTP/1.1 server controls exactly which bytes arrive and when: status events split
mid-line and with CR LF, CR or LF line ends, a server that never answers, a redirect on the
queue API, an environment proxy, and a multi-megabyte download.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import sora2_widgets as sw
from sora2_widgets import _client

MODEL = "sora2_text_to_video"
APP = "fal-ai/sora-2"


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]


Write = Callable[[bytes], Awaitable[None]]
Handler = Callable[[Seen, Write], Awaitable[bool]]  # returns False to close the connection


@dataclass
class Server:
    base: str
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0


@asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[Server]:
    server = Server("")

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ln)}
                if int(headers.get("content-length", "0")):
                    await reader.readexactly(int(headers["content-length"]))
                seen = Seen(method, target, headers)
                server.seen.append(seen)

                async def write(data: bytes) -> None:
                    writer.write(data)
                    await writer.drain()

                if not await handler(seen, write):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    tcp = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = tcp.sockets[0].getsockname()[1]
    server.base = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        tcp.close()


def response(code: int, body: bytes, *, headers: dict[str, str] | None = None) -> bytes:
    head = [f"HTTP/1.1 {code} X", f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def as_json(code: int, data: Any, **kw: Any) -> bytes:
    return response(code, json.dumps(data).encode(), headers={"Content-Type": "application/json"}, **kw)


def path_of(target: str) -> str:
    # Absolute-form targets (through a proxy) and origin-form ones alike.
    if target.startswith("http://"):
        target = "/" + target.split("/", 3)[3]
    return target.split("?", 1)[0]


def video(base: str) -> dict[str, Any]:
    return {"video": {"url": f"{base}/media/v.mp4", "width": 1280, "height": 720}, "video_id": "video_1"}


def fal_like(events: list[bytes], *, result_path: str | None = None) -> Callable[[Server], Handler]:
    """Submit → id "r1"; the status stream sends ``events`` as separate writes; result → a video."""

    def make(server: Server) -> Handler:
        async def handle(seen: Seen, write: Write) -> bool:
            path = path_of(seen.target)
            if seen.method == "POST":
                await write(as_json(200, {"request_id": "r1"}))
            elif path.endswith("/status/stream"):
                head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                await write(head)
                for part in events:
                    await write(b"%x\r\n%s\r\n" % (len(part), part))
                    await asyncio.sleep(0.01)  # separate TCP segments
                await write(b"0\r\n\r\n")
            elif path == f"/{APP}/requests/r1" and result_path:
                await write(response(307, b"", headers={"Location": result_path}))
            elif path in (f"/{APP}/requests/r1", result_path):
                await write(as_json(200, video(server.base)))
            else:
                await write(as_json(404, {"detail": "not found"}))
            return True

        return handle

    return make


def event(data: dict[str, Any], end: bytes = b"\n") -> bytes:
    return b"data: " + json.dumps(data).encode() + end + end


async def run_job(make: Callable[[Server], Handler], **kw: Any) -> tuple[Server, sw.VideoResult, list[sw.QueueUpdate]]:
    holder: list[Server] = []

    async def handler(seen: Seen, write: Write) -> bool:
        return await make(holder[0])(seen, write)

    async with serve(handler) as server:
        holder.append(server)
        updates: list[sw.QueueUpdate] = []
        async with sw.AsyncFalClient("k", queue_url=server.base, **kw) as client:
            result = await client.generate(MODEL, prompt="a fox", on_update=updates.append)
        return server, result, updates


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_status_events_split_anywhere_are_read_whole(end: bytes) -> None:
    body = (
        b": keep-alive" + end + end
        + event({"status": "IN_QUEUE", "queue_position": 1}, end)
        + event({"status": "IN_PROGRESS", "logs": [{"message": "rendering"}]}, end)
        + event({"status": "COMPLETED", "logs": [{"message": "rendering"}, {"message": "done"}]}, end)
    )  # fmt: skip
    rng = random.Random(len(end))
    cuts = sorted(rng.sample(range(1, len(body)), 12))
    parts = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]

    server, result, updates = asyncio.run(run_job(fal_like(parts)))

    assert [u.status for u in updates] == ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]
    assert updates[0].queue_position == 1
    assert [line.message for line in updates[-1].logs] == ["rendering", "done"]
    assert result.url.endswith("/media/v.mp4") and result.width == 1280
    assert [s.method for s in server.seen] == ["POST", "GET", "GET"]  # submit, one stream, result
    assert server.connections == 1  # the stream's connection went back to the pool for the result


def test_sse_lines_handles_every_line_end_split_across_chunks() -> None:
    body = b"data: a\r\n\r\n: keep\rdata: b\rdata: c\r\r\ndata: d\n\ndata: e"
    expected = [b"data: a", b"", b": keep", b"data: b", b"data: c", b"", b"data: d", b"", b"data: e"]

    async def lines(parts: list[bytes]) -> list[bytes]:
        async def chunks() -> AsyncIterator[bytes]:
            for p in parts:
                yield p

        return [line async for line in _client._sse_lines(chunks())]

    rng = random.Random(7)
    for _ in range(300):
        cuts = sorted(rng.sample(range(1, len(body)), rng.randint(0, 8)))
        parts = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        assert asyncio.run(lines(parts)) == expected, parts


def test_a_server_that_never_answers_times_out_with_a_plain_message() -> None:
    async def silent(seen: Seen, write: Write) -> bool:
        await asyncio.sleep(30)
        return False

    async def main() -> None:
        async with serve(silent) as server:
            policy = sw.RetryPolicy(attempts=2, base=0.001, cap=0.001)
            async with sw.AsyncFalClient("k", queue_url=server.base, timeout=0.3, retry=policy) as client:
                job = client.resume("r1", MODEL)
                with pytest.raises(sw.ServiceError, match="timed out waiting for the answer; 2 tries"):
                    await client.status(job)

    asyncio.run(main())


def test_a_redirect_on_the_queue_api_is_followed() -> None:
    done = [event({"status": "COMPLETED"})]
    server, result, _ = asyncio.run(run_job(fal_like(done, result_path="/elsewhere/r1")))
    assert result.video_id == "video_1"
    assert [path_of(s.target) for s in server.seen][-2:] == [f"/{APP}/requests/r1", "/elsewhere/r1"]


def test_environment_proxy_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> Server:
        holder: list[Server] = []

        async def handler(seen: Seen, write: Write) -> bool:
            return await fal_like([event({"status": "COMPLETED"})])(holder[0])(seen, write)

        async with serve(handler) as proxy:
            holder.append(proxy)
            monkeypatch.setenv("HTTP_PROXY", proxy.base)
            monkeypatch.delenv("NO_PROXY", raising=False)
            monkeypatch.delenv("no_proxy", raising=False)
            async with sw.AsyncFalClient("k", queue_url="http://queue.example.invalid") as client:
                await client.generate(MODEL, prompt="a fox")
            return proxy

    proxy = asyncio.run(main())
    # Every request reached the proxy, in absolute form, for the queue host.
    assert len(proxy.seen) == 3
    assert all(s.target.startswith("http://queue.example.invalid/") for s in proxy.seen)


def test_large_download_over_loopback_is_complete_and_hashed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(_client, "SINK_SYNC_EVERY", 1 << 20)  # exercise the background flushes too
    payload = random.Random(3).randbytes(6 * (1 << 20) + 12345)

    async def media(seen: Seen, write: Write) -> bool:
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
        await write(head)
        for i in range(0, len(payload), 300_000):
            await write(payload[i : i + 300_000])
        return True

    async def main() -> sw.Downloaded:
        async with serve(media) as server, sw.AsyncFalClient("k", queue_url=server.base) as client:
            return await client.download(f"{server.base}/media/v.mp4", tmp_path / "v.mp4")

    saved = asyncio.run(main())
    assert (tmp_path / "v.mp4").read_bytes() == payload
    assert saved.size == len(payload) and saved.sha256 == hashlib.sha256(payload).hexdigest()
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]


def test_truncated_download_is_retried_then_refused(tmp_path: Path) -> None:
    async def short(seen: Seen, write: Write) -> bool:
        await write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
        return False  # the connection closes 990 bytes early

    async def main() -> None:
        async with serve(short) as server:
            policy = sw.RetryPolicy(attempts=3, base=0.001, cap=0.001)
            async with sw.AsyncFalClient("k", queue_url=server.base, retry=policy) as client:
                with pytest.raises(sw.ServiceError, match="3 tries"):
                    await client.download(f"{server.base}/media/v.mp4", tmp_path / "v.mp4")
            assert server.connections == 3

    asyncio.run(main())
    assert list(tmp_path.iterdir()) == []  # no partial file under any name
