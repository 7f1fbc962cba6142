"""Downloads: atomic, checked, retried, and the key never sent to a media host."""

from __future__ import annotations

import asyncio
import hashlib
import random
from pathlib import Path
from typing import Any

import httpx
import pytest

import sora2_widgets as sw
from sora2_widgets.client import _download
from tests.client.conftest import Sleeps
from tests.client.fakefal import KEY, MEDIA, QUEUE, FakeFal, video_bytes
from tests.client.loopback import Seen, Write, serve


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def generate_and_download(make_client: Any, dest: Path) -> tuple[sw.VideoResult, sw.Downloaded]:
    async def main() -> tuple[sw.VideoResult, sw.Downloaded]:
        async with make_client() as client:
            result = await client.generate("sora2_text_to_video", prompt="hello")
            return result, await client.download(result.url, dest)

    return run(main())  # type: ignore[no-any-return]


def test_download_saves_checked_file_without_sending_the_key(fake: FakeFal, make_client: Any, tmp_path: Path) -> None:
    dest = tmp_path / "videos" / "fox.mp4"
    result, saved = generate_and_download(make_client, dest)
    expected = video_bytes(result.request_id or "")
    assert saved.path == dest and dest.read_bytes() == expected
    assert saved.size == len(expected) and saved.sha256 == hashlib.sha256(expected).hexdigest()
    assert list(dest.parent.iterdir()) == [dest]  # no temp file left behind
    media = [s for s in fake.seen if s.action == "media"]
    assert media and all(s.authorization is None for s in media)
    assert all(s.authorization == f"Key {KEY}" for s in fake.seen if s.action != "media")


@pytest.mark.parametrize("kind", ["truncate", "reset", "503", "429"])
def test_download_recovers_and_never_leaves_a_partial_file(
    fake: FakeFal, make_client: Any, sleeps: Sleeps, tmp_path: Path, kind: str
) -> None:
    fake.fail(kind, "media", times=1)
    dest = tmp_path / "fox.mp4"
    result, saved = generate_and_download(make_client, dest)
    assert dest.read_bytes() == video_bytes(result.request_id or "")
    assert saved.sha256 == hashlib.sha256(dest.read_bytes()).hexdigest()
    assert fake.count("media") == 2 and len(sleeps.calls) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fox.mp4"]


def test_download_that_keeps_failing_leaves_nothing_under_the_final_name(
    fake: FakeFal, make_client: Any, tmp_path: Path
) -> None:
    fake.fail("truncate", "media", times=100)
    dest = tmp_path / "fox.mp4"
    with pytest.raises(sw.ServiceError) as info:
        generate_and_download(make_client, dest)
    assert "truncated" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_download_of_an_expired_link_is_not_retried(make_client: Any, tmp_path: Path, sleeps: Sleeps) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="gone")

    async def main() -> None:
        async with make_client(transport=httpx.MockTransport(handler)) as client:
            await client.download(f"{MEDIA}/files/old.mp4", tmp_path / "old.mp4")

    with pytest.raises(sw.ServiceError, match="expired"):
        run(main())
    assert sleeps.calls == [] and list(tmp_path.iterdir()) == []


def test_download_from_the_queue_host_may_carry_the_key(make_client: Any, tmp_path: Path) -> None:
    # The emulator serves media from its own (queue) host: that host already has the key.
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, content=b"data")

    async def main() -> sw.Downloaded:
        async with make_client(transport=httpx.MockTransport(handler)) as client:
            return await client.download(f"{QUEUE}/media/x.mp4", tmp_path / "x.mp4")

    assert run(main()).size == 4 and seen == [f"Key {KEY}"]


def test_large_download_over_loopback_is_complete_and_hashed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(_download, "SINK_SYNC_EVERY", 1 << 20)  # exercise the background flushes too
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
