"""Waiting for a job: the status stream, the polling fallback, and what on_update gets."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import sora2_widgets as sw
from tests.client.fakefal import FakeFal
from tests.client.loopback import event, fal_like, run_job


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.mark.parametrize("use_stream", [True, False], ids=["stream", "poll"])
def test_queue_position_logs_and_elapsed_reach_the_callback(fake: FakeFal, make_client: Any, use_stream: bool) -> None:
    updates: list[sw.QueueUpdate] = []

    async def on_update(u: sw.QueueUpdate) -> None:  # async callbacks are awaited
        updates.append(u)

    async def main() -> sw.QueueUpdate:
        async with make_client(use_stream=use_stream) as client:
            job = await client.submit("sora2_text_to_video", prompt="hello")
            return await client.wait(job, on_update=on_update)

    final = run(main())
    assert final.status == "COMPLETED" and not final.failed
    assert [u.status for u in updates] == ["IN_QUEUE", "IN_QUEUE", "IN_PROGRESS", "IN_PROGRESS", "COMPLETED"]
    assert [u.queue_position for u in updates[:2]] == [2, 1]
    assert [line.message for line in updates[2].logs] == ["Starting generation"]
    assert [line.message for line in final.logs] == ["Starting generation", "Rendering frames"]
    assert final.logs[0].timestamp == "2025-10-06T12:00:00Z" and final.logs[0].level == "INFO"
    assert all(u.elapsed >= 0 for u in updates) and updates[-1].elapsed >= updates[0].elapsed


def test_sync_callback_and_status(fake: FakeFal, make_client: Any) -> None:
    seen: list[str] = []

    async def main() -> tuple[sw.QueueUpdate, sw.QueueUpdate]:
        async with make_client(use_stream=False) as client:
            job = await client.submit("sora2_text_to_video", prompt="hello")
            first = await client.status(job)
            final = await client.wait(job, on_update=lambda u: seen.append(u.status))
            return first, final

    first, final = run(main())
    assert first.status == "IN_QUEUE" and first.queue_position == 2
    assert seen[-1] == "COMPLETED" and final.done
    assert "logs=1" in next(s.url for s in fake.seen if s.action == "status")


def test_stream_unsupported_falls_back_to_polling(fake: FakeFal, make_client: Any) -> None:
    fake.stream_supported = False

    async def main() -> None:
        async with make_client() as client:
            await client.generate("sora2_text_to_video", prompt="one")
            await client.generate("sora2_text_to_video", prompt="two")

    run(main())
    assert fake.count("stream") == 1  # tried once, then this client polls for good
    assert fake.count("status") >= 10


def test_stream_broken_midway_reconnects_then_completes(fake: FakeFal, make_client: Any) -> None:
    fake.fail(503, "stream", times=5)

    async def main() -> sw.VideoResult:
        async with make_client() as client:
            return await client.generate("sora2_text_to_video", prompt="hello")

    assert run(main()).url
    assert fake.count("stream") == 2 and fake.count("status") >= 1  # two stream tries, then polling


def test_a_failing_progress_callback_does_not_abandon_the_job(fake: FakeFal, make_client: Any) -> None:
    def broken(update: sw.QueueUpdate) -> None:
        raise RuntimeError("widget went away")

    async def main() -> sw.VideoResult:
        async with make_client() as client:
            return await client.generate("sora2_text_to_video", prompt="hello", on_update=broken)

    assert run(main()).url


def test_a_stream_left_open_after_completed_does_not_hold_up_the_result() -> None:
    # The last bytes of a finished stream are read for a moment only (so that its connection can
    # be reused); a server that keeps it open costs that moment and a new connection, not a wait.
    start = time.monotonic()
    server, result, updates = run(run_job(fal_like([event({"status": "COMPLETED"})], hold_open=5.0)))
    assert time.monotonic() - start < 4.0
    assert result.video_id == "video_1" and [u.status for u in updates] == ["COMPLETED"]
    assert server.connections == 2  # the stream's connection was dropped, not reused
