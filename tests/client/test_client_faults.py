"""Failures: what is retried, what is never retried, and what the user is told."""

from __future__ import annotations

import asyncio
import email.utils
import time
from typing import Any

import pytest

import sora2_widgets as sw
from tests._secrets import WRONG_FAL_KEY
from tests.client.conftest import Sleeps
from tests.client.fakefal import KEY, FakeFal


def run(coro: Any) -> Any:
    return asyncio.run(coro)


GET_FAULTS = ["429", "500", "502", "503", "504", "reset", "read_timeout", "malformed", "connect"]


@pytest.mark.parametrize("action", ["status", "result"])
@pytest.mark.parametrize("kind", GET_FAULTS)
def test_each_get_fault_recovers(fake: FakeFal, make_client: Any, sleeps: Sleeps, kind: str, action: str) -> None:
    fake.fail(kind, action, times=2)

    async def main() -> sw.VideoResult:
        async with make_client(use_stream=False) as client:
            return await client.generate("sora2_text_to_video", prompt="hello")

    assert run(main()).url
    assert fake.count("submit") == 1
    assert len(sleeps.calls) == 2  # one backoff per injected failure
    assert fake.count(action) >= 3


def test_retry_after_seconds_and_http_date_are_honoured(fake: FakeFal, make_client: Any, sleeps: Sleeps) -> None:
    fake.fail(429, "status", retry_after="0.25")
    date = email.utils.formatdate(time.time() + 3, usegmt=True)
    fake.fail(429, "status", retry_after=date)

    async def main() -> None:
        async with make_client(use_stream=False) as client:
            job = await client.submit("sora2_text_to_video", prompt="hello")
            await client.status(job)

    run(main())
    assert sleeps.calls[0] == 0.25
    assert 1.0 < sleeps.calls[1] <= 3.0


def test_backoff_is_capped_exponential_with_jitter() -> None:
    policy = sw.RetryPolicy(base=1.0, cap=8.0, random=lambda: 1.0)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    low = sw.RetryPolicy(base=1.0, cap=8.0, random=lambda: 0.0)
    assert [low.delay(n) for n in range(1, 5)] == [0.5, 1.0, 2.0, 4.0]


def test_get_retries_give_up_with_a_service_error(fake: FakeFal, make_client: Any, sleeps: Sleeps) -> None:
    fake.fail(502, "status", times=100)

    async def main() -> None:
        async with make_client(use_stream=False) as client:
            job = await client.submit("sora2_text_to_video", prompt="hello")
            await client.status(job)

    with pytest.raises(sw.ServiceError) as info:
        run(main())
    assert "HTTP 502" in str(info.value) and "resumed" in str(info.value)
    assert fake.count("status") == 6  # RetryPolicy.attempts


def test_retry_after_longer_than_the_budget_gives_up_at_once(fake: FakeFal, make_client: Any, sleeps: Sleeps) -> None:
    fake.fail(429, "status", retry_after="3600")

    async def main() -> None:
        async with make_client(use_stream=False) as client:
            job = await client.submit("sora2_text_to_video", prompt="hello")
            await client.status(job)

    with pytest.raises(sw.RateLimitError) as info:
        run(main())
    assert info.value.retry_after == 3600
    assert sleeps.calls == []


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


@pytest.mark.parametrize("env", ["FAL_KEY", "key="])
def test_401_is_an_auth_error_naming_the_source_not_the_key(
    fake: FakeFal, make_client: Any, monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    wrong = WRONG_FAL_KEY
    if env == "FAL_KEY":
        monkeypatch.setenv("FAL_KEY", wrong)
        kwargs: dict[str, Any] = {"key": None}
    else:
        kwargs = {"key": wrong}

    async def main() -> None:
        async with make_client(**kwargs) as client:
            await client.submit("sora2_text_to_video", prompt="hello")

    with pytest.raises(sw.AuthError) as info:
        run(main())
    message = str(info.value)
    assert wrong not in message and wrong not in repr(info.value)
    assert ("FAL_KEY environment variable" if env == "FAL_KEY" else "key= argument") in message
    assert info.value.status_code == 401
    assert fake.count("submit") == 1  # not retried


def test_422_from_the_service_carries_field_errors(fake: FakeFal, make_client: Any) -> None:
    fake.force_422 = [
        {
            "loc": ["body", "prompt"],
            "msg": "The prompt was flagged by the content checker",
            "type": "content_policy_violation",
            "input": "secret prompt text",
        },
        {"loc": ["body", "duration"], "msg": "duration not offered right now", "type": "value_error"},
    ]

    async def main() -> None:
        async with make_client() as client:
            await client.submit("sora2_text_to_video", prompt="hello")

    with pytest.raises(sw.ValidationError) as info:
        run(main())
    err = info.value
    assert err.from_service and err.model_id == "sora2_text_to_video"
    assert [(e.field, e.message) for e in err.errors] == [
        ("prompt", "The prompt was flagged by the content checker"),
        ("duration", "duration not offered right now"),
    ]
    assert fake.count("submit") == 1


@pytest.mark.parametrize(
    ("code", "body"),
    [
        (404, {"detail": "Not Found"}),
        (410, {"detail": "Gone"}),
        (400, {"detail": "The model sora-2 is no longer available on this endpoint"}),
        (400, {"error": "Model unavailable: OpenAI retired Sora 2"}),
    ],
)
def test_retired_endpoint_is_model_unavailable_and_not_retried(
    fake: FakeFal, make_client: Any, sleeps: Sleeps, code: int, body: Any
) -> None:
    fake.retired["fal-ai/sora-2/text-to-video"] = (code, body)

    async def main() -> None:
        async with make_client() as client:
            await client.generate("sora2_text_to_video", prompt="hello")

    with pytest.raises(sw.ModelUnavailableError) as info:
        run(main())
    assert info.value.model_id == "sora2_text_to_video" and info.value.status_code == code
    assert fake.count("submit") == 1 and sleeps.calls == []


def test_unknown_request_on_resume_is_a_plain_service_error(fake: FakeFal, make_client: Any) -> None:
    async def main() -> None:
        async with make_client(use_stream=False) as client:
            await client.status(client.resume("no-such-id", "sora2_text_to_video"))

    with pytest.raises(sw.ServiceError) as info:
        run(main())
    assert not isinstance(info.value, sw.ModelUnavailableError)
    assert "no-such-id" in str(info.value)


def test_a_503_on_a_sora_endpoint_is_not_mistaken_for_retirement(fake: FakeFal, make_client: Any) -> None:
    fake.fail(503, "status", times=1)

    async def main() -> sw.VideoResult:
        async with make_client(use_stream=False) as client:
            return await client.generate("sora2_text_to_video", prompt="hello")

    assert run(main()).url


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


def test_wrong_key_never_leaks_into_logs(fake: FakeFal, make_client: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    fake.fail(500, "status", times=2)

    async def main() -> None:
        async with make_client(use_stream=False) as client:
            await client.generate("sora2_text_to_video", prompt="hello")

    run(main())
    assert KEY not in caplog.text


RETIRED = [
    ("Sora 2 has been retired", None),
    ("This endpoint is deprecated; use the newer model", None),
    ("The model sora-2 is no longer available on this endpoint", None),
    ("OpenAI discontinued the Sora 2 API", None),
    ("The app has been removed", None),
    ("Sora 2 was shut down on 2026-09-24", None),
    ("Gone", "model_retired"),
]
NOT_RETIRED = [
    ("Upstream API temporarily unavailable, please retry", None),
    ("model temporarily unavailable", None),
    ("model output was removed due to policy", None),
    ("The requested video is no longer available", None),  # a remix source, not the model
    ("This API key format is no longer supported; create a new key", None),
    ("The model is down for maintenance", None),
    ("Sora 2 is temporarily unavailable", "model_unavailable"),
]


@pytest.mark.parametrize(("message", "error_type"), RETIRED + NOT_RETIRED)
def test_only_explicit_retirement_disables_the_model(
    fake: FakeFal, make_client: Any, message: str, error_type: str | None
) -> None:
    # A job that finished with this error: ModelUnavailableError disables the model for the
    # session and records it at $0, so an outage or a refused output must never be read as one.
    fake.fail_jobs_with = (message, error_type or "")

    async def main() -> None:
        async with make_client() as client:
            await client.generate("sora2_text_to_video", prompt="hello")

    with pytest.raises(sw.Sora2Error) as info:
        run(main())
    retired = (message, error_type) in RETIRED
    assert isinstance(info.value, sw.ModelUnavailableError) is retired, info.value
    if not retired:
        assert isinstance(info.value, sw.ServiceError) and message in str(info.value)


@pytest.mark.parametrize(("message", "error_type"), NOT_RETIRED)
def test_an_outage_on_submit_is_not_retirement(
    fake: FakeFal, make_client: Any, message: str, error_type: str | None
) -> None:
    fake.retired["fal-ai/sora-2/text-to-video"] = (400, {"detail": message, "error_type": error_type})

    async def main() -> None:
        async with make_client() as client:
            await client.submit("sora2_text_to_video", prompt="hello")

    with pytest.raises(sw.ServiceError) as info:
        run(main())
    assert message in str(info.value) and fake.count("submit") == 1


def test_a_404_on_a_request_url_is_not_retirement(fake: FakeFal, make_client: Any) -> None:
    # Only the endpoint's own URL (submit) answers 404/410 for a retired model; on a request's
    # status URL a bare 404 means the request is unknown or expired.
    async def main() -> None:
        async with make_client(use_stream=False) as client:
            job = await client.submit("sora2_text_to_video", prompt="hello")
            fake.fail(404, "status")  # answered {"detail": "injected 404"}
            await client.status(job)

    with pytest.raises(sw.ServiceError) as info:
        run(main())
    assert not isinstance(info.value, sw.ModelUnavailableError) and info.value.status_code == 404


JOB_FAILURES = [
    (500, {"detail": "The model crashed while rendering", "error_type": "runner_server_error"}, {}),
    (504, {"detail": "Request timed out", "error_type": "request_timeout"}, {"x-fal-error-type": "request_timeout"}),
    (503, {"detail": "Runner disconnected"}, {}),
    (502, {"error": "x"}, {"x-fal-error-type": "runner_incomplete_response"}),
]


@pytest.mark.parametrize(("code", "body", "headers"), JOB_FAILURES)
def test_a_job_failure_on_the_result_url_is_final(
    fake: FakeFal, make_client: Any, sleeps: Sleeps, code: int, body: Any, headers: dict[str, str]
) -> None:
    # DESIGN §3: a model's errors come back on the response URL as 4xx/5xx with a detail. fal has
    # already retried the job on other runners; asking six more times only hides the reason.
    fake.result_error = (code, body, headers)

    async def main() -> None:
        async with make_client(use_stream=False) as client:
            await client.generate("sora2_text_to_video", prompt="hello")

    with pytest.raises(sw.ServiceError) as info:
        run(main())
    err = info.value
    said = body.get("detail") or body.get("error")
    assert f"Sora 2 failed: {said}" in str(err) and "resumed" not in str(err)
    assert err.status_code == code and err.job_failed and err.request_id
    assert fake.count("result") == 1 and sleeps.calls == []


def test_a_retired_model_on_the_result_url_is_model_unavailable(fake: FakeFal, make_client: Any) -> None:
    fake.result_error = (503, {"detail": "Sora 2 has been retired", "error_type": "model_retired"}, {})

    async def main() -> None:
        async with make_client(use_stream=False) as client:
            await client.generate("sora2_text_to_video", prompt="hello")

    with pytest.raises(sw.ModelUnavailableError):
        run(main())
    assert fake.count("result") == 1


def test_exhausted_retries_say_what_the_service_said(fake: FakeFal, make_client: Any, sleeps: Sleeps) -> None:
    fake.fail(503, "status", times=100, body={"detail": "Upstream overloaded, slow down"})

    async def main() -> None:
        async with make_client(use_stream=False) as client:
            job = await client.submit("sora2_text_to_video", prompt="hello")
            await client.status(job)

    with pytest.raises(sw.ServiceError) as info:
        run(main())
    assert "HTTP 503: Upstream overloaded, slow down; 6 tries" in str(info.value)


OPENAI_KEY = "sk-proj-EchoedBack0123456789abcdef"


def _everything(err: BaseException) -> str:
    return " ".join([str(err), repr(err), repr(getattr(err, "detail", None)), repr(getattr(err, "errors", None))])


def test_the_users_openai_key_is_scrubbed_from_a_submit_error(fake: FakeFal, make_client: Any) -> None:
    fake.reject_api_key = "submit"

    async def main() -> None:
        async with make_client() as client:
            await client.submit("sora2_text_to_video", prompt="hello", api_key=OPENAI_KEY)

    with pytest.raises(sw.ServiceError) as info:
        run(main())
    assert "Incorrect API key provided: **********" in str(info.value)
    assert OPENAI_KEY not in _everything(info.value)


def test_the_users_openai_key_is_scrubbed_from_field_errors(fake: FakeFal, make_client: Any) -> None:
    fake.force_422 = [{"loc": ["body", "api_key"], "msg": f"invalid key {OPENAI_KEY}", "type": "value_error"}]

    async def main() -> None:
        async with make_client() as client:
            await client.submit("sora2_text_to_video", prompt="hello", api_key=OPENAI_KEY)

    with pytest.raises(sw.ValidationError) as info:
        run(main())
    assert "invalid key **********" in str(info.value) and OPENAI_KEY not in _everything(info.value)


@pytest.mark.parametrize("use_stream", [True, False], ids=["stream", "poll"])
def test_the_users_openai_key_is_scrubbed_from_the_jobs_logs_and_error(
    fake: FakeFal, make_client: Any, use_stream: bool
) -> None:
    # The model hands the key to OpenAI, OpenAI refuses it and says which key: in a log line,
    # in the COMPLETED status's error, and on the result URL.
    fake.reject_api_key = "job"
    updates: list[sw.QueueUpdate] = []

    async def main() -> None:
        async with make_client(use_stream=use_stream) as client:
            await client.generate("sora2_text_to_video", prompt="hello", api_key=OPENAI_KEY, on_update=updates.append)

    with pytest.raises(sw.ServiceError) as info:
        run(main())
    assert "Incorrect API key provided: **********" in str(info.value)
    assert OPENAI_KEY not in _everything(info.value)
    assert any("**********" in line.message for u in updates for line in u.logs)
    assert updates[-1].error and "**********" in updates[-1].error
    assert OPENAI_KEY not in repr(updates)


def test_the_users_openai_key_is_scrubbed_from_result_and_retry_errors(
    fake: FakeFal, make_client: Any, sleeps: Sleeps
) -> None:
    fake.result_error = (500, {"detail": f"Incorrect API key provided: {OPENAI_KEY}"}, {})
    errors: list[BaseException] = []

    async def main() -> None:
        async with make_client(use_stream=False) as client:
            job = await client.submit("sora2_text_to_video", prompt="hello", api_key=OPENAI_KEY)
            await client.wait(job)
            with pytest.raises(sw.ServiceError) as failed:
                await client.result(job)
            errors.append(failed.value)
            fake.fail(503, "status", times=100, body={"detail": f"upstream said: bad key {OPENAI_KEY}"})
            with pytest.raises(sw.ServiceError) as exhausted:
                await client.status(job)
            errors.append(exhausted.value)

    run(main())
    assert [("**********" in str(e)) for e in errors] == [True, True]
    assert all(OPENAI_KEY not in _everything(e) for e in errors)
