"""``fal_webhook``: one POST per request when it ends (success, error, cancel), retried like fal, loopback only."""

from __future__ import annotations

import urllib.parse

import pytest
from emu_helpers import KLING, SORA

from tests.conformance._support import webhook_receiver


def _hooked(url: str) -> str:
    return "?fal_webhook=" + urllib.parse.quote(url, safe="")


async def test_a_finished_job_posts_its_result_once(make_emu, api_for) -> None:
    emu = make_emu()
    with webhook_receiver(emu) as receiver:
        async with api_for(emu) as api:
            r = await api.client.post(f"/{SORA}{_hooked(receiver.url + '/hook?job=1')}", json={"prompt": "hooked"})
            job = r.json()
            assert job["gateway_request_id"] == job["request_id"] and job["status_url"]
            await api.wait(job)
            receiver.wait_for(1)
            assert emu.webhooks.wait_idle(30)
            result = (await api.result(job)).json()
    [hit] = receiver.for_request(job["request_id"])
    assert hit.path == "/hook?job=1"
    assert hit.body == {
        "request_id": job["request_id"],
        "gateway_request_id": job["request_id"],
        "status": "OK",
        "payload": result,
    }
    assert hit.headers["content-type"] == "application/json"
    assert hit.headers["x-fal-webhook-request-id"] == job["request_id"]
    assert {"x-fal-webhook-user-id", "x-fal-webhook-timestamp"} <= set(hit.headers)
    assert len(receiver.deliveries) == 1 and emu.stats["webhook"] == 1
    record = emu.load(job["request_id"])
    assert record is not None and record.webhook_attempts == 1 and record.webhook_delivered_at is not None


async def test_a_refused_input_and_a_cancel_post_status_error(make_emu, api_for) -> None:
    emu = make_emu(queue_delay=0.2)
    with webhook_receiver(emu) as receiver:
        async with api_for(emu) as api:
            hook = _hooked(receiver.url)
            bad = (await api.client.post(f"/{SORA}{hook}", json={"prompt": "x", "duration": 5})).json()
            emu.queue_delay = 30
            cancelled = (await api.client.post(f"/{KLING}{hook}", json={"prompt": "to cancel"})).json()
            assert (await api.client.put(cancelled["cancel_url"])).status_code == 202
            receiver.wait_for(2)
            assert emu.webhooks.wait_idle(30)
            bad_result = (await api.result(bad)).json()
    [refused] = receiver.for_request(bad["request_id"])
    assert refused.body["status"] == "ERROR" and refused.body["error"] == "Invalid status code: 422"
    assert refused.body["payload"] == bad_result and refused.body["payload"]["detail"][0]["loc"] == ["body", "duration"]
    [stopped] = receiver.for_request(cancelled["request_id"])
    assert stopped.body["status"] == "ERROR" and stopped.body["error"] == "Invalid status code: 499"
    assert stopped.body["payload"]["error_type"] == "client_cancelled"
    assert len(receiver.deliveries) == 2


async def test_a_failing_receiver_is_retried_until_it_answers(make_emu, api_for) -> None:
    emu = make_emu(webhook_retry_base=0.05)
    with webhook_receiver(emu, fail_first=2) as receiver:
        async with api_for(emu) as api:
            job = (await api.client.post(f"/{KLING}{_hooked(receiver.url)}", json={"prompt": "x"})).json()
            receiver.wait_for(3)
            assert emu.webhooks.wait_idle(30)
    assert len(receiver.for_request(job["request_id"])) == 3, "two failures, then one success; no more"
    record = emu.load(job["request_id"])
    assert record is not None and record.webhook_attempts == 3 and record.webhook_delivered_at is not None


async def test_the_retries_are_bounded_and_the_sender_stops_by_itself(make_emu, api_for) -> None:
    emu = make_emu(webhook_retry_base=0.02, webhook_retries=3)
    with webhook_receiver(emu, fail_first=-1) as receiver:
        async with api_for(emu) as api:
            job = (await api.client.post(f"/{KLING}{_hooked(receiver.url)}", json={"prompt": "x"})).json()
            receiver.wait_for(4)
            assert emu.webhooks.wait_idle(30)
    assert len(receiver.deliveries) == 4, "one attempt and three retries"
    record = emu.load(job["request_id"])
    assert record is not None and record.webhook_gave_up_at is not None and record.webhook_last_error == "HTTP 500"
    assert emu.webhooks._thread is None, "nothing pending: the sending thread has ended"


async def test_an_unreachable_receiver_gives_up_too(make_emu, api_for) -> None:
    emu = make_emu(webhook_retry_base=0.01, webhook_retries=1, webhook_timeout=2)
    with webhook_receiver(emu) as receiver:
        dead = receiver.url
    async with api_for(emu) as api:
        job = (await api.client.post(f"/{KLING}{_hooked(dead)}", json={"prompt": "x"})).json()
        await api.wait(job)
        assert emu.webhooks.wait_idle(30)
    record = emu.load(job["request_id"])
    assert record is not None and record.webhook_attempts == 2 and record.webhook_gave_up_at is not None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://example.com/hook", "only calls webhooks on this machine"),
        ("ftp://127.0.0.1/hook", "http(s)"),
        ("not a url", "http(s)"),
    ],
)
async def test_a_webhook_the_emulator_would_not_call_is_refused_at_submit(url, why, make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        r = await api.client.post(f"/{SORA}{_hooked(url)}", json={"prompt": "x"})
    assert r.status_code == 400 and why in r.json()["detail"]
    assert not list((emu.state_dir / "jobs").iterdir())


def test_localhost_names_are_loopback() -> None:
    from sora2_widgets.emulator._webhooks import loopback_url_problem

    assert loopback_url_problem("http://localhost:9/x") is None
    assert loopback_url_problem("http://hooks.localhost/x") is None
    assert loopback_url_problem("http://[::1]:9/x") is None
    assert loopback_url_problem("http://127.8.0.1/x") is None
    assert loopback_url_problem("http://10.0.0.1/x") is not None
