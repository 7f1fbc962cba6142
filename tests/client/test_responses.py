"""Reading fal's answers: Retry-After, details, retirement wording, network failures."""

from __future__ import annotations

import email.utils
import ssl
import time

import httpx
import pytest

from sora2_widgets.client._responses import (
    body_of,
    carries_fal_error,
    describe_exc,
    field_errors,
    message_and_type,
    names_unavailable,
    plain,
    request_not_found,
    retry_after,
    said,
    tls_verification_failed,
)
from tests.client.test_errormap import NOT_RETIRED, RETIRED


@pytest.mark.parametrize(("message", "error_type"), RETIRED)
def test_retirement_wording_is_recognised(message: str, error_type: str | None) -> None:
    assert names_unavailable(message, error_type)


@pytest.mark.parametrize(("message", "error_type"), NOT_RETIRED)
def test_outages_and_other_removals_are_not_retirement(message: str, error_type: str | None) -> None:
    assert not names_unavailable(message, error_type)


def test_retry_after_as_seconds_or_an_http_date() -> None:
    def answer(value: str) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": value} if value else {})

    assert retry_after(answer("2.5")) == 2.5
    assert retry_after(answer("-3")) == 0.0
    assert retry_after(answer("")) is None and retry_after(answer("soon")) is None
    later = retry_after(answer(email.utils.formatdate(time.time() + 30, usegmt=True)))
    assert later is not None and 25 < later <= 30


def test_details_read_as_plain_sentences() -> None:
    detail = [{"loc": ["body", "prompt"], "msg": "too long", "type": "x"}, "other"]
    assert plain(detail) == "too long; other"
    assert plain({"error": {"message": "nested"}}) == "nested" and plain(None) == ""
    assert message_and_type({"detail": "gone", "error_type": "model_retired"}) == ("gone", "model_retired")
    assert message_and_type("  text  ") == ("text", None)
    assert [(e.field, e.message) for e in field_errors({"detail": detail})] == [("prompt", "too long"), ("", "other")]
    assert said("<html><body>502 Bad Gateway</body></html>") == ""
    assert said({"detail": "x" * 300}).endswith("...") and len(said({"detail": "x" * 300})) == 200
    assert request_not_found("Request abc not found") and not request_not_found("Not Found")


def test_fal_errors_are_told_from_a_gateways() -> None:
    html = httpx.Response(502, text="<html>Bad Gateway</html>")
    assert not carries_fal_error(html, body_of(html))
    typed = httpx.Response(502, headers={"X-Fal-Error-Type": "runner_incomplete_response"})
    assert carries_fal_error(typed, body_of(typed))
    detailed = httpx.Response(500, json={"detail": "the model crashed"})
    assert carries_fal_error(detailed, body_of(detailed))


def test_network_failures_in_plain_words() -> None:
    assert describe_exc(httpx.ConnectTimeout("x")) == "timed out connecting"
    assert describe_exc(httpx.ReadTimeout("x")) == "timed out waiting for the answer"
    assert describe_exc(httpx.RemoteProtocolError("x")) == "the connection was closed mid-answer"
    assert describe_exc(httpx.ConnectError("x")) == "could not connect"
    assert describe_exc(ValueError("x")) == "ValueError"


def test_a_certificate_failure_is_found_anywhere_in_the_chain() -> None:
    try:
        try:
            raise ssl.SSLCertVerificationError(1, "certificate verify failed")
        except ssl.SSLError as inner:
            raise httpx.ConnectError("handshake failed") from inner
    except httpx.ConnectError as exc:
        assert tls_verification_failed(exc)
    assert not tls_verification_failed(httpx.ConnectError("connection refused"))


async def test_backoff_stops_after_the_policys_attempts_or_its_sleep_budget() -> None:
    import sora2_widgets as sw
    from sora2_widgets.client._responses import Backoff, Retryable

    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    policy = sw.RetryPolicy(attempts=3, base=1.0, cap=8.0, max_total=60.0, sleep=sleep, random=lambda: 1.0)
    backoff = Backoff(policy)
    delays = []
    while True:
        backoff.attempt()
        delay = backoff.delay_after(Retryable("HTTP 503"))
        if delay is None:
            break
        delays.append(delay)
        await backoff.wait(delay)
    assert backoff.tries == 3 and delays == [1.0, 2.0] and slept == delays

    # A Retry-After that does not fit in what is left of max_total ends the retries at once.
    short = Backoff(sw.RetryPolicy(attempts=6, max_total=5.0, sleep=sleep))
    short.attempt()
    assert short.delay_after(Retryable("HTTP 429", retry_after=30.0)) is None
