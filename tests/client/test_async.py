"""AsyncFalClient: the queue protocol end to end against the fake fal service, the submit rule, slots."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import sora2_widgets as sw
from tests.client.conftest import PARAMS, Sleeps
from tests.client.fakefal import KEY, QUEUE, FakeFal


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_params_cover_the_whole_catalog() -> None:
    assert set(PARAMS) == {m.id for m in sw.MODELS}
    assert len(sw.MODELS) == 19


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


@pytest.mark.parametrize("kind", ["read_timeout", "reset", "500", "502", "504"])
def test_ambiguous_submit_failure_is_never_retried(fake: FakeFal, make_client: Any, kind: str) -> None:
    fake.fail(kind, "submit")

    async def main() -> None:
        async with make_client() as client:
            await client.generate("sora2_text_to_video", prompt="hello")

    with pytest.raises(sw.SubmitUncertainError) as info:
        run(main())
    assert fake.count("submit", "POST") == 1
    assert len(fake.jobs) == 1  # the job does exist on the service: retrying would have paid twice
    assert info.value.model_id == "sora2_text_to_video" and info.value.endpoint == "fal-ai/sora-2/text-to-video"
    if kind.isdigit():
        (request_id,) = fake.jobs
        assert request_id in info.value.cause  # what is known travels with the error


@pytest.mark.parametrize("kind", ["connect", "429", "503"])
def test_provable_non_creation_on_submit_is_retried(fake: FakeFal, make_client: Any, sleeps: Sleeps, kind: str) -> None:
    fake.fail(kind, "submit", times=2)

    async def main() -> sw.VideoResult:
        async with make_client() as client:
            return await client.generate("sora2_text_to_video", prompt="hello")

    assert run(main()).url
    assert fake.count("submit", "POST") == 3
    assert len(fake.jobs) == 1 and len(sleeps.calls) == 2


def test_submit_rate_limited_for_good_raises_rate_limit_error(fake: FakeFal, make_client: Any) -> None:
    fake.fail(429, "submit", times=100)

    async def main() -> None:
        async with make_client() as client:
            await client.submit("sora2_text_to_video", prompt="hello")

    with pytest.raises(sw.RateLimitError):
        run(main())
    assert fake.jobs == {}


def test_invalid_input_never_reaches_the_network(fake: FakeFal, make_client: Any) -> None:
    async def main() -> None:
        async with make_client() as client:
            with pytest.raises(sw.ValidationError):
                await client.submit("sora2_text_to_video", prompt="hello", duration=5)
            with pytest.raises(sw.ValidationError):
                await client.generate("sora2_text_to_video_pro", prompt="x" * 5001)
            with pytest.raises(sw.ValidationError):
                await client.submit("sora2_image_to_video", prompt="hello", image_url=b"not an image")
            with pytest.raises(sw.UnknownModelError):
                await client.submit("sora3", prompt="hello")

    run(main())
    assert fake.seen == []


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
