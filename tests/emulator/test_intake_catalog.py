"""Intake from the catalog's data: what the emulator picks where a request says "auto", said in the
job's logs and (where the family reports it) in the result; 422 for what the schema refuses."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.emu_helpers import png_data_uri


@pytest.mark.parametrize(
    ("endpoint", "body", "size", "note"),
    [
        # Veo image-to-video "auto": the image's nearest of 16:9 / 9:16.
        ("fal-ai/veo3.1/image-to-video", {"duration": "4s", "image_url": png_data_uri(90, 160)}, (720, 1280),
         "aspect_ratio auto: the image is 90x160, using 9:16"),
        # Kling 3.0 image-to-video has no aspect ratio: the start image decides (square → 1:1).
        ("fal-ai/kling-video/v3/standard/image-to-video", {"duration": "3", "start_image_url": png_data_uri(64, 64)},
         (720, 720), "aspect_ratio auto: the image is 64x64, using 1:1"),
        # Seedance "auto" duration, with no image: 16:9, 5 s.
        ("bytedance/seedance-2.0/fast/text-to-video", {"resolution": "480p"}, (854, 480), "duration auto: using 5 s"),
    ],
)  # fmt: skip
async def test_auto_is_picked_like_the_service_and_said(
    make_emu: Any, api_for: Any, endpoint: str, body: dict[str, Any], size: tuple[int, int], note: str
) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        r = await api.client.post(f"/{endpoint}", json={"prompt": "a test clip", **body})
        assert r.status_code == 200, r.text
        job = r.json()
        done = await api.wait(job)
        assert "error" not in done
        logs = " | ".join(line["message"] for line in (await api.status(job)).json()["logs"])
        assert note in logs
        record = emu.load(job["request_id"])
        assert record is not None and (record.width, record.height) == size
        out = (await api.result(job)).json()
        if "seed" in out:  # Seedance reports what it made
            assert (out["video"]["width"], out["video"]["height"]) == size


async def test_a_request_the_schema_refuses_completes_with_fal_s_422(make_emu: Any, api_for: Any) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        r = await api.client.post("/fal-ai/veo3.1", json={"prompt": "a test clip", "duration": 8})
        assert r.status_code == 200  # the queue accepts it; the model refuses it
        job = r.json()
        await api.wait(job)
        result = await api.result(job)
        assert result.status_code == 422
        (item,) = result.json()["detail"]
        assert item["loc"] == ["body", "duration"] and "4s, 6s or 8s" in item["msg"]
