"""Errors from fal's answers: what the user is told, and what is (not) read as a retired model."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import sora2_widgets as sw
from tests._secrets import WRONG_FAL_KEY
from tests.client.conftest import Sleeps
from tests.client.fakefal import FakeFal


def run(coro: Any) -> Any:
    return asyncio.run(coro)


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
    # A model's errors come back on the response URL as 4xx/5xx with a detail. fal has
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
