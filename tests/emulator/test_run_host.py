"""Run or queue, told apart as fal does (by host), and the JS client's proxy protocol (``x-fal-target-url``)."""

from __future__ import annotations

import json

import httpx
import pytest
from emu_helpers import KLING, SORA

from sora2_widgets.emulator import serving
from sora2_widgets.emulator._app import PROXY_PATH, role_for_host
from tests._secrets import FAL_KEY


@pytest.mark.parametrize(
    ("host", "role"),
    [
        ("fal.run", "run"),
        ("falrun.com", "run"),
        ("run.localhost:8765", "run"),
        ("queue.fal.run", "queue"),
        ("queue.localhost:8765", "queue"),
        ("127.0.0.1:8765", "queue"),
        ("[::1]:8765", "queue"),
        ("rest.fal.ai", "rest"),
        ("v3.fal.media", "cdn"),
        ("emulator.sora2-widgets.invalid", "queue"),
    ],
)
def test_role_for_host(host: str, role: str) -> None:
    assert role_for_host(host) == role


async def test_the_run_host_answers_with_the_result_the_queue_host_with_a_ticket(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu, host="fal.run") as run:
        r = await run.client.post(f"/{KLING}", json={"prompt": "sync"})
        assert r.status_code == 200 and set(r.json()) == {"video"}, r.text
        bad = await run.client.post(f"/{SORA}", json={"prompt": "x", "duration": 5})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "duration"]
    async with api_for(emu, host="queue.fal.run") as queue:
        ticket = (await queue.client.post(f"/{KLING}", json={"prompt": "queued"})).json()
        assert ticket["status"] == "IN_QUEUE" and ticket["status_url"].startswith("http://queue.fal.run/")
    assert emu.stats["run"] == 2 and emu.stats["submits"] == 1


def test_serving_gives_a_run_port_and_keeps_the_run_path(make_emu) -> None:
    emu = make_emu()
    with serving(emu) as served, httpx.Client(timeout=60) as http:
        assert served.run_url != served.queue_url and served.proxy_url == served.queue_url + PROXY_PATH
        out = http.post(f"{served.run_url}/{SORA}", json={"prompt": "run host", "duration": 4}).json()
        assert out["video"]["url"].startswith(served.run_url + "/media/") and out["video_id"]
        assert http.get(out["video"]["url"]).content[4:8] == b"ftyp"
        ticket = http.post(f"{served.queue_url}/{SORA}", json={"prompt": "queue host"}).json()
        assert ticket["status"] == "IN_QUEUE"
        legacy = http.post(f"{served.queue_url}/run/{KLING}", json={"prompt": "the /run/ path"}).json()
        assert set(legacy) == {"video"}
        assert http.get(served.run_url + "/").json()["role"] == "run"
    assert emu.run_ports == set(), "the run port is forgotten when serving ends"


def _proxied(target: str, **headers: str) -> dict[str, str]:
    return {"x-fal-target-url": target, **headers}


async def test_the_proxy_serves_the_target_queue_run_and_storage(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        c = api.client
        ticket = (
            await c.post(PROXY_PATH, json={"prompt": "p"}, headers=_proxied(f"https://queue.fal.run/{SORA}"))
        ).json()
        rid = ticket["request_id"]
        assert ticket["status"] == "IN_QUEUE" and ticket["status_url"].startswith(emu.base_url)
        status_url = f"https://queue.fal.run/fal-ai/sora-2/requests/{rid}/status"
        events = []
        async with c.stream("GET", PROXY_PATH, headers=_proxied(status_url + "/stream?logs=1")) as resp:
            assert resp.headers["content-type"].startswith("text/event-stream")
            async for line in resp.aiter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
        # On a loaded box the queue wait may be over before the stream opens: the stream then
        # starts IN_PROGRESS. What the proxy must keep is fal's order, ending COMPLETED.
        order = ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]
        ranks = [order.index(e["status"]) for e in events]
        assert ranks == sorted(ranks) and events[-1]["status"] == "COMPLETED", events
        polled = (await c.get(PROXY_PATH, headers=_proxied(status_url + "?logs=1"))).json()
        assert polled["status"] == "COMPLETED" and polled["logs"]
        result_url = f"https://queue.fal.run/fal-ai/sora-2/requests/{rid}"
        out = (await c.get(PROXY_PATH, headers=_proxied(result_url))).json()
        assert out["video_id"]
        sync = await c.post(PROXY_PATH, json={"prompt": "s"}, headers=_proxied(f"https://fal.run/{KLING}"))
        assert sync.status_code == 200 and set(sync.json()) == {"video"}
        init = await c.post(
            PROXY_PATH,
            json={"content_type": "image/png", "file_name": "a.png"},
            headers=_proxied("https://rest.fal.ai/storage/upload/initiate?storage_type=fal-cdn-v3"),
        )
        assert set(init.json()) == {"upload_url", "file_url"} and init.json()["file_url"].startswith(emu.base_url)
    assert emu.stats["proxy"] == 6 and emu.stats["run"] == 1 and emu.stats["stream"] == 1


@pytest.mark.parametrize(
    "target",
    [None, "https://example.com/x", "http://queue.fal.run/fal-ai/sora-2", "https://rest.fal.ai/tokens/", "nonsense"],
)
async def test_the_proxy_refuses_a_target_it_would_not_forward(target, make_emu, api_for) -> None:
    emu = make_emu()
    headers = {} if target is None else {"x-fal-target-url": target}
    async with api_for(emu) as api:
        r = await api.client.post(PROXY_PATH, json={}, headers=headers)
    assert r.status_code == 400 and r.json()["detail"].startswith("Invalid request")


async def test_the_proxy_adds_its_own_key_when_the_browser_sends_none(make_emu, api_for) -> None:
    emu = make_emu(require_key=FAL_KEY)
    async with api_for(emu) as api:
        direct = await api.client.post(f"/{KLING}", json={"prompt": "x"})
        assert direct.status_code == 401
        via = await api.client.post(
            PROXY_PATH, json={"prompt": "x"}, headers=_proxied(f"https://queue.fal.run/{KLING}")
        )
        assert via.status_code == 200
        wrong = await api.client.post(
            PROXY_PATH,
            json={"prompt": "x"},
            headers=_proxied(f"https://queue.fal.run/{KLING}", authorization="Key wrong:key"),
        )
        assert wrong.status_code == 401, "a key the caller did send is checked"


async def test_error_answers_say_whether_to_retry(make_emu, api_for) -> None:
    emu = make_emu(fail_submits=1, require_key=FAL_KEY)
    async with api_for(emu, authorization=f"Key {FAL_KEY}") as api:
        limited = await api.client.post(f"/{SORA}", json={"prompt": "x"})
        assert limited.status_code == 429 and limited.headers["x-fal-retryable"] == "true"
        missing = await api.client.get("/fal-ai/sora-2/requests/00000000-0000-4000-8000-000000000000")
        assert missing.status_code == 404 and missing.headers["x-fal-retryable"] == "false"
        ok = await api.client.post(f"/{SORA}", json={"prompt": "x"})
        assert ok.status_code == 200 and "x-fal-retryable" not in ok.headers
    async with api_for(emu) as anonymous:
        denied = await anonymous.client.post(f"/{SORA}", json={"prompt": "x"})
        assert denied.status_code == 401 and denied.headers["x-fal-retryable"] == "false"
