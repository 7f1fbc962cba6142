"""The queue protocol end to end against the fake fal service: every model, stream and polling."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import sora2_widgets as sw
from tests.client.conftest import PARAMS
from tests.client.fakefal import KEY, QUEUE, FakeFal


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_params_cover_the_whole_catalog() -> None:
    assert set(PARAMS) == {m.id for m in sw.MODELS}
    assert len(sw.MODELS) == 7


@pytest.mark.parametrize("use_stream", [True, False], ids=["stream", "poll"])
@pytest.mark.parametrize("model_id", list(PARAMS))
def test_generate_every_model(fake: FakeFal, make_client: Any, model_id: str, use_stream: bool) -> None:
    async def main() -> sw.VideoResult:
        async with make_client(use_stream=use_stream) as client:
            return await client.generate(model_id, **PARAMS[model_id])

    result = run(main())
    spec = sw.get_model(model_id)
    assert result.model_id == model_id
    assert result.url.startswith("https://cdn.fake-media.test/files/")
    assert (result.video_id is not None) == spec.is_sora
    (job,) = fake.jobs.values()
    assert job.endpoint == spec.endpoint
    # The body is the schema's payload: defaults filled in, exactly what the catalog validated.
    assert job.body == spec.validate(PARAMS[model_id]).to_payload()
    # Status/result went to the app-id URLs the service returned (the fake 404s anything else).
    assert all("/requests/" not in s.url or f"/{spec.app_id}/requests/" in s.url for s in fake.seen)
    assert not any(f"/{spec.endpoint}/requests/" in s.url for s in fake.seen if spec.endpoint != spec.app_id)
    if use_stream:
        assert fake.count("stream") == 1 and fake.count("status") == 0
    else:
        assert fake.count("stream") == 0 and fake.count("status") >= 5


def test_submit_returns_job_with_service_urls(fake: FakeFal, make_client: Any) -> None:
    async def main() -> sw.Job:
        async with make_client() as client:
            return await client.submit("sora2_text_to_video", prompt="hello")

    job = run(main())
    assert job.status_url == f"{QUEUE}/fal-ai/sora-2/requests/{job.request_id}/status"
    assert job.response_url == f"{QUEUE}/fal-ai/sora-2/requests/{job.request_id}"
    assert job.cancel_url == f"{QUEUE}/fal-ai/sora-2/requests/{job.request_id}/cancel"
    assert job.provider == "fal" and job.queue_position == 3 and job.endpoint == "fal-ai/sora-2/text-to-video"
    assert fake.seen[0].url == f"{QUEUE}/fal-ai/sora-2/text-to-video"
    assert fake.seen[0].authorization == f"Key {KEY}"


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


def test_cancel_accepted_then_already_completed(fake: FakeFal, make_client: Any) -> None:
    async def main() -> tuple[bool, bool, sw.QueueUpdate]:
        async with make_client(use_stream=False) as client:
            job = await client.submit("sora2_text_to_video", prompt="hello")
            accepted = await client.cancel(job)
            final = await client.wait(job)
            done = await client.submit("sora2_text_to_video", prompt="hello")
            await client.wait(done)
            await client.result(done)
            again = await client.cancel(done)
            with pytest.raises(sw.JobCancelledError):
                await client.result(job)
            return accepted, again, final

    accepted, again, final = run(main())
    assert accepted is True and again is False
    assert final.failed
    assert [s.method for s in fake.seen if s.action == "cancel"] == ["PUT", "PUT"]


def test_resume_uses_app_id_rule(fake: FakeFal, make_client: Any) -> None:
    async def main() -> tuple[sw.Job, sw.VideoResult]:
        async with make_client() as first:
            job = await first.submit("sora2_text_to_video_pro", prompt="hello")
        # "kernel restart": a new client knows only the request id and the model
        async with make_client() as second:
            resumed = second.resume(job.request_id, "sora2_text_to_video_pro")
            await second.wait(resumed)
            return resumed, await second.result(resumed)

    resumed, result = run(main())
    assert resumed.status_url == f"{QUEUE}/fal-ai/sora-2/requests/{resumed.request_id}/status"
    assert result.request_id == resumed.request_id


def test_completed_with_error_raises_plain_service_error(fake: FakeFal, make_client: Any) -> None:
    fake.fail_jobs_with = ("The video could not be generated: the upstream model crashed", "runner_server_error")

    async def main() -> None:
        async with make_client() as client:
            await client.generate("sora2_text_to_video", prompt="hello")

    with pytest.raises(sw.ServiceError) as info:
        run(main())
    assert "upstream model crashed" in str(info.value)
    assert info.value.request_id is not None
    assert fake.count("result") == 0  # the status already said why


def test_on_submit_runs_before_waiting(fake: FakeFal, make_client: Any) -> None:
    order: list[str] = []

    async def main() -> None:
        async with make_client(use_stream=False) as client:
            await client.generate(
                "sora2_text_to_video",
                prompt="hello",
                on_submit=lambda job: order.append(f"submit {fake.count('status')}"),
                on_update=lambda u: order.append(u.status),
            )

    run(main())
    assert order[0] == "submit 0"


def test_repr_and_logs_never_show_the_key(fake: FakeFal, make_client: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="sora2_widgets")

    async def main() -> str:
        async with make_client() as client:
            await client.generate("sora2_text_to_video", prompt="hello")
            return repr(client)

    text = run(main())
    assert text == "AsyncFalClient(provider='fal', host='queue.fake-fal.test')"
    assert KEY not in caplog.text and "submitted sora2_text_to_video" in caplog.text


def test_no_key_means_emulator_announced_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import httpx

    from sora2_widgets import _client

    class FakeEmulator:
        base_url = "http://emulator.sora2-widgets.invalid"

        def transport(self) -> httpx.AsyncBaseTransport:
            return FakeFal(queue_url=self.base_url, key=None).transport()

    monkeypatch.setattr(_client, "_default_emulator", FakeEmulator)
    monkeypatch.setattr(_client, "_announced_emulator", False)
    caplog.set_level(logging.INFO, logger="sora2_widgets.client")
    a, b = sw.AsyncFalClient(), sw.AsyncFalClient()
    assert a.provider == b.provider == "emulator"
    assert a.host == "emulator.sora2-widgets.invalid"
    assert caplog.text.count("built-in emulator") == 1

    async def main() -> sw.VideoResult:
        async with a:
            return await a.generate("sora2_text_to_video", prompt="hello")

    assert run(main()).url
