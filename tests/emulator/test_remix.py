"""Remix works only on Sora videos this emulator made and kept (delete_video=false).

Refusals follow the service's pattern: the queue accepts the request (it cannot know video
ids), the job ends COMPLETED with ``error``/``error_type``, and the result URL answers 422
with ``detail[0].loc == ["body", "video_id"]`` and a message naming the video_id.
"""

from __future__ import annotations

from emu_helpers import KLING, REMIX, SORA


async def test_remix_of_a_kept_video_inherits_its_length_and_size(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        _, source = await api.generate(
            SORA, {"prompt": "a red kite", "duration": 8, "aspect_ratio": "9:16", "delete_video": False}
        )
        job, remix = await api.generate(REMIX, {"prompt": "make it blue", "video_id": source["video_id"]})
        logs = (await api.status(job)).json()["logs"]
    assert remix["video_id"] != source["video_id"] and remix["video_id"].startswith("video_")
    for key in ("width", "height", "duration", "fps", "num_frames"):
        assert remix["video"][key] == source["video"][key], key
    assert any(source["video_id"] in entry["message"] for entry in logs)


async def _refused(api, video_id: str, kind: str) -> None:
    job = await api.submit(REMIX, {"prompt": "remix", "video_id": video_id})
    status = await api.wait(job)
    assert status["error_type"] == kind and video_id in status["error"]
    r = await api.result(job)
    assert r.status_code == 422
    item = r.json()["detail"][0]
    assert item["loc"] == ["body", "video_id"] and item["type"] == kind and video_id in item["msg"]


async def test_remix_of_a_deleted_video_is_refused(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        _, source = await api.generate(SORA, {"prompt": "default delete_video=true"})
        await _refused(api, source["video_id"], "video_deleted")


async def test_remix_of_an_unknown_video_is_refused(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        await _refused(api, "video_" + "ab" * 16, "video_not_found")
        await _refused(api, "../../jobs/x", "video_not_found")


async def test_remix_of_a_kling_video_is_refused(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        job, out = await api.generate(KLING, {"prompt": "kling"})
        assert "video_id" not in out  # Kling gives none; the only handle is its request id
        await _refused(api, job["request_id"], "video_not_found")


async def test_synchronous_remix_refusal_is_422_directly(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        r = await api.client.post(f"/run/{REMIX}", json={"prompt": "x", "video_id": "video_" + "0" * 32})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "video_id"]
