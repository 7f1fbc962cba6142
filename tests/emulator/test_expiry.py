"""The expiry switch: results and media expire as on fal (1 h, 6 min for 10 KB or more), with test-sized times."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from emu_helpers import KLING, SORA

from sora2_widgets.emulator import Emulator, Retention
from sora2_widgets.emulator._serve import build_parser, main


# Lifetimes here are 2 s, not less: generate() must still fetch the result after completion on a
# loaded 2-core box, and only then does the test wait for it to go.
async def _until_status(api: Any, url: str, code: int, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (await api.client.get(url)).status_code != code:
        assert asyncio.get_running_loop().time() < deadline, f"{url} never answered {code}"
        await asyncio.sleep(0.05)


def test_the_default_retention_is_fals() -> None:
    r = Retention()
    assert (r.result, r.large_result, r.large_result_bytes, r.media) == (3600, 360, 10 * 1024, None)
    assert r.result_ttl(10 * 1024 - 1) == 3600 and r.result_ttl(10 * 1024) == 360
    with pytest.raises(ValueError, match="result"):
        Retention(result=-1)
    with pytest.raises(ValueError, match="media"):
        Retention(media=-1)


async def test_a_result_expires_but_the_status_stays(make_emu, api_for) -> None:
    emu = make_emu(retention=Retention(result=2, large_result=60))
    async with api_for(emu) as api:
        job, out = await api.generate(KLING, {"prompt": "soon gone"})
        await _until_status(api, job["response_url"], 404)
        gone = await api.result(job)
        status = await api.status(job)
        media = await api.client.get(out["video"]["url"])
    assert "expired" in gone.json()["detail"] and job["request_id"] in gone.json()["detail"]
    assert status.json()["status"] == "COMPLETED"
    assert media.status_code == 200, "media follow their own retention (none here)"


async def test_a_large_result_expires_sooner(make_emu, api_for) -> None:
    # Sora's result (~700 bytes) counts as large when the threshold is lowered below it.
    emu = make_emu(retention=Retention(result=600, large_result=2, large_result_bytes=100))
    async with api_for(emu) as api:
        job, _ = await api.generate(SORA, {"prompt": "large"})
        await _until_status(api, job["response_url"], 404)


async def test_media_expire_with_the_switch_or_the_request_header(make_emu, api_for) -> None:
    emu = make_emu(retention=Retention(media=0.3))
    async with api_for(emu) as api:
        job, out = await api.generate(SORA, {"prompt": "media"})
        await _until_status(api, out["video"]["url"], 404)
        assert (await api.result(job)).status_code == 200, "the result itself is kept 1 h"
        keep = {"x-fal-object-lifecycle-preference": '{"expiration_duration_seconds": null}'}
        r = await api.client.post(f"/{KLING}", json={"prompt": "kept"}, headers=keep)
        kept = r.json()
        await api.wait(kept)
        short = {"x-fal-object-lifecycle-preference": '{"expiration_duration_seconds": 0.2}'}
        emu.retention = None
        r = await api.client.post(f"/{KLING}", json={"prompt": "short"}, headers=short)
        brief = r.json()
        await api.wait(brief)
        brief_out = (await api.result(brief)).json()
        await _until_status(api, brief_out["video"]["url"], 404)
        emu.retention = Retention(media=0.01)
        kept_out = (await api.result(kept)).json()
        assert (await api.client.get(kept_out["video"]["url"])).status_code == 200, "null: never expires"


async def test_without_the_switch_nothing_expires(make_emu, api_for) -> None:
    emu = make_emu()
    assert emu.retention is None
    async with api_for(emu) as api:
        job, _ = await api.generate(KLING, {"prompt": "kept"})
        record = emu.load(job["request_id"])
        assert record is not None
        snap = emu.snapshot(record)
        assert snap.completed_at is not None
        assert not emu.result_expired(snap, 10**9, now=snap.completed_at + 10**7)
        assert not emu.media_expired(record, snap, now=snap.completed_at + 10**7)


def test_the_cli_switches(tmp_path) -> None:
    args = build_parser().parse_args(["--expire", "--run-port", "9999", "--reject-invalid-at-submit"])
    assert args.expire and args.run_port == 9999 and args.reject_invalid_at_submit
    args = build_parser().parse_args(["--result-ttl", "5", "--media-ttl", "7", "--webhook-retry-base", "0.5"])
    assert (args.result_ttl, args.media_ttl, args.webhook_retry_base) == (5, 7, 0.5)
    # A negative time is bad usage, refused by argparse (exit 2) before anything starts.
    with pytest.raises(SystemExit) as refused:
        main(["--state-dir", str(tmp_path), "--result-ttl", "-1"])
    assert refused.value.code == 2
    emu = Emulator(state_dir=tmp_path, retention=Retention())
    try:
        assert emu.retention == Retention()
    finally:
        emu.close()
