"""Concurrency limits, the sync facade inside a running loop, interrupts and timeouts."""

from __future__ import annotations

import asyncio
import signal
import threading
from typing import Any

import pytest

import sora2_widgets as sw
from tests.client.conftest import PARAMS
from tests.client.fakefal import KEY, QUEUE, FakeFal


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.mark.parametrize("use_stream", [True, False], ids=["stream", "poll"])
def test_fifty_jobs_never_exceed_max_concurrency(fake: FakeFal, make_client: Any, use_stream: bool) -> None:
    limit = 5

    async def main() -> list[sw.VideoResult]:
        async with make_client(max_concurrency=limit, use_stream=use_stream) as client:
            return await asyncio.gather(
                *(client.generate("sora2_text_to_video", prompt=f"shot {i}") for i in range(50))
            )

    results = run(main())
    assert len({r.request_id for r in results}) == 50
    assert fake.max_in_flight == limit  # reached the limit (real concurrency) and never passed it
    assert fake.in_flight == 0


def test_nested_slots_reuse_the_outer_one(fake: FakeFal, make_client: Any) -> None:
    # A job that holds a slot and then calls generate() (or slot() again) must not wait for a
    # second slot: with max_concurrency=1 that wait would never end.
    async def main() -> sw.VideoResult:
        async with make_client(max_concurrency=1) as client:
            async with client.slot():
                async with client.slot():
                    return await asyncio.wait_for(client.generate("sora2_text_to_video", prompt="inner"), 10)

    assert run(main()).url
    assert fake.max_in_flight == 1


def fal_client(fake: FakeFal, **kw: Any) -> sw.FalClient:
    return sw.FalClient(
        KEY,
        queue_url=QUEUE,
        transport=fake.transport(),
        retry=sw.RetryPolicy(base=0.001, cap=0.002),
        poll_interval=0.001,
        max_poll_interval=0.002,
        **kw,
    )


def test_sync_facade_works_inside_a_running_event_loop(fake: FakeFal) -> None:
    async def notebook_cell() -> sw.VideoResult:
        asyncio.get_running_loop()  # as in Jupyter: a loop is running in this thread
        with fal_client(fake) as client:
            return client.generate("sora2_text_to_video", prompt="hello")

    result = asyncio.run(notebook_cell())
    assert result.url and result.model_id == "sora2_text_to_video"


def test_sync_facade_every_method(fake: FakeFal, tmp_path: Any) -> None:
    with fal_client(fake) as client:
        assert repr(client) == "FalClient(provider='fal', host='queue.fake-fal.test')"
        job = client.submit("sora2_image_to_video", **PARAMS["sora2_image_to_video"])
        assert client.status(job).status == "IN_QUEUE"
        assert client.wait(job).done
        result = client.result(job)
        assert client.cancel(job) is False
        saved = client.download(result.url, tmp_path / "v.mp4")
        assert saved.path.read_bytes()[:4] and saved.size == 200_000
        again = client.resume(job.request_id, "sora2_image_to_video")
        assert client.result(again).url == result.url
    with pytest.raises(RuntimeError):
        client.submit("sora2_text_to_video", prompt="closed")


def test_keyboard_interrupt_in_sync_generate_keeps_the_job(fake: FakeFal) -> None:
    fake.hold = True
    recorded: list[sw.Job] = []
    main_thread = threading.main_thread().ident
    assert main_thread is not None

    def interrupt(update: sw.QueueUpdate) -> None:
        if update.status == "IN_PROGRESS":
            signal.pthread_kill(main_thread, signal.SIGINT)  # what the notebook's stop button does

    with fal_client(fake, use_stream=False) as client:
        with pytest.raises(KeyboardInterrupt):
            client.generate("sora2_text_to_video", prompt="hello", on_submit=recorded.append, on_update=interrupt)
        (job,) = recorded
        assert not fake.jobs[job.request_id].cancelled  # the paid job keeps running
        fake.hold = False
        resumed = client.resume(job.request_id, "sora2_text_to_video")
        assert client.wait(resumed).done
        assert client.result(resumed).request_id == job.request_id


def test_task_cancellation_leaves_the_job_running(fake: FakeFal, make_client: Any) -> None:
    fake.hold = True
    recorded: list[sw.Job] = []

    async def main() -> None:
        async with make_client() as client:
            waiting = asyncio.Event()
            task = asyncio.create_task(
                client.generate(
                    "sora2_text_to_video", prompt="hello", on_submit=recorded.append, on_update=lambda u: waiting.set()
                )
            )
            await waiting.wait()  # submitted, recorded, and waiting on the service
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run(main())
    (job,) = recorded
    assert not fake.jobs[job.request_id].cancelled and fake.count("cancel") == 0


@pytest.mark.parametrize("cancel", [True, False])
def test_timeout_raises_and_cancels_when_asked(fake: FakeFal, make_client: Any, cancel: bool) -> None:
    fake.hold = True

    async def main() -> None:
        async with make_client() as client:
            await client.generate("sora2_text_to_video", prompt="hello", timeout=0.05, cancel_on_timeout=cancel)

    with pytest.raises(sw.JobTimeoutError) as info:
        run(main())
    (job,) = fake.jobs.values()
    assert info.value.request_id == job.request_id
    assert info.value.cancelled is cancel and job.cancelled is cancel
    assert fake.count("cancel") == (1 if cancel else 0)
    assert ("cancelled on the service" in str(info.value)) is cancel


def test_a_failing_progress_callback_does_not_abandon_the_job(fake: FakeFal, make_client: Any) -> None:
    def broken(update: sw.QueueUpdate) -> None:
        raise RuntimeError("widget went away")

    async def main() -> sw.VideoResult:
        async with make_client() as client:
            return await client.generate("sora2_text_to_video", prompt="hello", on_update=broken)

    assert run(main()).url


def test_sync_client_threads_are_released(fake: FakeFal) -> None:
    before = threading.active_count()
    for _ in range(3):
        with fal_client(fake):
            pass
    assert threading.active_count() == before
