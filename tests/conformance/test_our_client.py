"""Our own client beyond the shared scenarios (``test_scenarios.py`` runs it beside the official clients):
several jobs' webhooks at once, and expired results."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator, Retention
from tests.conformance._support import SORA, webhook_receiver

pytestmark = pytest.mark.timeout(180)


def _emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **kw: object) -> Emulator:
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "home"))
    return Emulator(
        state_dir=tmp_path / "emulator", queue_delay=0.02, progress_time=0.02, webhook_retry_base=0.05, **kw
    )  # type: ignore[arg-type]


def test_webhook_url_gets_exactly_one_post_per_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    emu = _emulator(tmp_path, monkeypatch)
    try:
        with webhook_receiver(emu) as hook:

            async def go() -> list[str]:
                async with sw.AsyncFalClient(emulator=emu) as client:
                    job = await client.submit(SORA, prompt="one", webhook_url=hook.url + "/done")
                    await client.wait(job)
                    await client.result(job)
                    done = await asyncio.gather(
                        *(client.generate(SORA, prompt=f"job {i}", webhook_url=hook.url + "/done") for i in range(3))
                    )
                    return [job.request_id, *(r.request_id or "" for r in done)]

            ids = asyncio.run(go())
            hook.wait_for(4)
            assert emu.webhooks.wait_idle(30)  # nothing more is on its way
            deliveries = list(hook.deliveries)
    finally:
        emu.close()
    assert sorted(d.body["request_id"] for d in deliveries) == sorted(ids)  # one each, no repeats
    for d in deliveries:
        assert d.path == "/done"
        assert d.body["status"] == "OK" and d.body["gateway_request_id"] == d.body["request_id"]
        assert d.body["payload"]["video"]["url"]


def test_an_expired_result_is_one_plain_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    emu = _emulator(tmp_path, monkeypatch, retention=Retention(result=0.3, large_result=0.3))

    async def go() -> BaseException:
        async with sw.AsyncFalClient(emulator=emu) as client:
            job = await client.submit(SORA, prompt="late")
            await client.wait(job)
            # The result's lifetime runs from completion; a waiting user lets it lapse.
            await asyncio.sleep(0.6)
            with pytest.raises(sw.Sora2Error) as err:
                await client.result(job)
            return err.value

    try:
        exc = asyncio.run(go())
    finally:
        emu.close()
    text = str(exc)
    assert "can no longer be fetched" in text and "expired" in text, text
    assert text.count(". ") <= 1 and len(text) < 300, text


def test_a_saved_video_survives_its_result_expiring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    emu = _emulator(tmp_path, monkeypatch, retention=Retention(result=0.5, large_result=0.5, media=0.5))
    home = tmp_path / "gen"
    try:
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=sw.History(home), resume=False) as gen:
            g = gen.generate("sora2_text_to_video", prompt="kept", duration=4)
            time.sleep(0.8)  # past both lifetimes: fal would no longer serve the result or the file
            rec = gen.history.get(g.history_id)  # type: ignore[arg-type]
            resumed = gen.resume()
    finally:
        emu.close()
    assert rec.status == "completed" and rec.local_path is not None and rec.local_path.stat().st_size > 0
    assert resumed == []  # nothing left to fetch: the finished job is not asked for again
