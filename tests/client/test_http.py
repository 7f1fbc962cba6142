"""The queue API over httpx: retries of idempotent requests, and httpx's own transport on real sockets."""

from __future__ import annotations

import asyncio
import email.utils
import time
from typing import Any

import httpx
import pytest

import sora2_widgets as sw
from tests.client.conftest import Sleeps
from tests.client.fakefal import KEY, MEDIA, QUEUE, FakeFal
from tests.client.loopback import APP, MODEL, Seen, Server, Write, event, fal_like, path_of, run_job, serve


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


def test_a_server_that_never_answers_times_out_with_a_plain_message() -> None:
    async def silent(seen: Seen, write: Write) -> bool:
        await asyncio.sleep(30)
        return False

    async def main() -> None:
        async with serve(silent) as server:
            policy = sw.RetryPolicy(attempts=2, base=0.001, cap=0.001)
            async with sw.AsyncFalClient("k", queue_url=server.base, timeout=0.3, retry=policy) as client:
                job = client.resume("r1", MODEL)
                with pytest.raises(sw.ServiceError, match="timed out waiting for the answer; 2 tries"):
                    await client.status(job)

    asyncio.run(main())


def test_a_redirect_on_the_queue_api_is_followed() -> None:
    done = [event({"status": "COMPLETED"})]
    server, result, _ = asyncio.run(run_job(fal_like(done, result_path="/elsewhere/r1")))
    assert result.video_id == "video_1"
    assert [path_of(s.target) for s in server.seen][-2:] == [f"/{APP}/requests/r1", "/elsewhere/r1"]


def test_environment_proxy_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> Server:
        holder: list[Server] = []

        async def handler(seen: Seen, write: Write) -> bool:
            return await fal_like([event({"status": "COMPLETED"})])(holder[0])(seen, write)

        async with serve(handler) as proxy:
            holder.append(proxy)
            monkeypatch.setenv("HTTP_PROXY", proxy.base)
            monkeypatch.delenv("NO_PROXY", raising=False)
            monkeypatch.delenv("no_proxy", raising=False)
            async with sw.AsyncFalClient("k", queue_url="http://queue.example.invalid") as client:
                await client.generate(MODEL, prompt="a fox")
            return proxy

    proxy = asyncio.run(main())
    # Every request reached the proxy, in absolute form, for the queue host.
    assert len(proxy.seen) == 3
    assert all(s.target.startswith("http://queue.example.invalid/") for s in proxy.seen)


def test_without_a_transport_requests_go_through_httpxs_own() -> None:
    async def main() -> None:
        async with sw.AsyncFalClient("k", queue_url="http://127.0.0.1:9") as client:
            # Nothing below httpx: its client, and the HTTP/1.1 transport it builds itself.
            assert type(client._http._http._transport) is httpx.AsyncHTTPTransport

    asyncio.run(main())


def test_the_key_goes_only_to_the_queue_and_run_hosts(fake: FakeFal) -> None:
    async def main() -> None:
        run_url = "https://run.fake-fal.test"
        async with sw.AsyncFalClient(KEY, queue_url=QUEUE, run_url=run_url, transport=fake.transport()) as client:
            http = client._http
            assert http.headers_for(f"{QUEUE}/fal-ai/sora-2/requests/r1") == {"Authorization": f"Key {KEY}"}
            assert http.headers_for(f"{run_url}/fal-ai/sora-2") == {"Authorization": f"Key {KEY}"}
            assert http.headers_for(f"{MEDIA}/files/v.mp4") == {}
            assert http.headers_for("http://queue.fake-fal.test/x") == {}  # another scheme is another origin

    asyncio.run(main())
