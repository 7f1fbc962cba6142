"""Status answers and events: SSE lines cut anywhere, log merging, secrets scrubbed from updates."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from sora2_widgets.client._status import sse_lines
from tests.client.loopback import event, fal_like, run_job


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

        return [line async for line in sse_lines(chunks())]

    rng = random.Random(7)
    for _ in range(300):
        cuts = sorted(rng.sample(range(1, len(body)), rng.randint(0, 8)))
        parts = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        assert asyncio.run(lines(parts)) == expected, parts
