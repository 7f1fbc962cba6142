"""FalClient: the sync facade inside a running loop, interrupts, and its loop thread."""

from __future__ import annotations

import asyncio
import gc
import signal
import threading
from typing import Any

import pytest

import sora2_widgets as sw
from tests.client.conftest import PARAMS
from tests.client.fakefal import KEY, QUEUE, FakeFal


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


def test_sync_client_threads_are_released(fake: FakeFal) -> None:
    before = threading.active_count()
    for _ in range(3):
        with fal_client(fake):
            pass
    assert threading.active_count() == before


def _client_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "sora2-widgets-client"}


def test_calling_the_sync_client_from_its_own_callback_is_refused(fake: FakeFal) -> None:
    refused: list[RuntimeError] = []
    with fal_client(fake, use_stream=False) as client:

        def on_update(update: sw.QueueUpdate) -> None:
            try:
                client.status(job)  # would wait on the very thread that runs it
            except RuntimeError as exc:
                refused.append(exc)

        job = client.submit("sora2_text_to_video", prompt="hello")
        assert client.wait(job, on_update=on_update).done
    assert refused and "FalClient cannot be called synchronously from its own loop thread" in str(refused[0])


def test_a_closed_client_says_so(fake: FakeFal) -> None:
    client = fal_client(fake)
    job = client.submit("sora2_text_to_video", prompt="hello")
    client.close()
    client.close()  # twice is fine
    for call in (lambda: client.status(job), lambda: client.loop):
        with pytest.raises(RuntimeError, match="this FalClient is closed"):
            call()


def test_a_dropped_client_stops_its_thread(fake: FakeFal) -> None:
    before = _client_threads()
    client = fal_client(fake)
    client.submit("sora2_text_to_video", prompt="hello")
    (thread,) = _client_threads() - before
    del client
    gc.collect()
    thread.join(timeout=10)
    assert not thread.is_alive()
