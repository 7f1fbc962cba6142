"""The loopback HTTP/1.1 server the client tests run against when the bytes on the wire matter.

It controls exactly which bytes arrive and when: status events split mid-line and with CR LF, CR or
LF line ends, a server that never answers, a redirect on the queue API, a proxy, and downloads.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import sora2_widgets as sw

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


def fal_like(
    events: list[bytes], *, result_path: str | None = None, hold_open: float = 0.0
) -> Callable[[Server], Handler]:
    """Submit → id "r1"; the status stream sends ``events`` as separate writes (then stays open
    ``hold_open`` seconds before it ends); result → a video."""

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
                await asyncio.sleep(hold_open)
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
