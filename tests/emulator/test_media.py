"""The emulator delivers real H.264 MP4s of the requested duration/size/fps, sized from the input image for auto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import pytest
from emu_helpers import KLING, KLING_I2V, SORA, SORA_I2V, SORA_I2V_PRO, SORA_PRO, png_data_uri
from PIL import Image


def probe(path: Path) -> dict[str, Any]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        return {
            "codec": stream.codec_context.name,
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "fps": float(stream.average_rate or 0),
            "frames": frames,
        }


async def download(api: Any, url: str, dest: Path) -> Path:
    r = await api.client.get(url)
    assert r.status_code == 200, r.text
    dest.write_bytes(r.content)  # noqa: ASYNC240 - a test, small file
    return dest


@pytest.mark.parametrize(
    ("endpoint", "body", "size", "seconds"),
    [
        (SORA, {"duration": 4, "aspect_ratio": "9:16"}, (720, 1280), 4),
        (SORA_PRO, {"duration": 4, "resolution": "1080p", "aspect_ratio": "16:9"}, (1920, 1080), 4),
        (KLING, {"duration": "5", "aspect_ratio": "1:1"}, (720, 720), 5),
    ],
    ids=["sora-9x16", "sora-pro-1080p", "kling-1x1"],
)
async def test_video_is_h264_of_requested_size_duration_and_fps(
    endpoint, body, size, seconds, make_emu, api_for, tmp_path
) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        _, out = await api.generate(endpoint, {"prompt": "a lighthouse in a storm", **body})
        path = await download(api, out["video"]["url"], tmp_path / "v.mp4")
        facts = probe(path)
        assert facts["codec"] == "h264"
        assert (facts["width"], facts["height"]) == size
        assert facts["fps"] == 24
        assert facts["frames"] == seconds * 24
        assert out["video"]["file_size"] == path.stat().st_size
        if "video_id" in out:  # Sora reports the facts, and they are the file's
            v = out["video"]
            assert (v["width"], v["height"], v["fps"], v["duration"], v["num_frames"]) == (
                *size,
                24,
                seconds,
                facts["frames"],
            )
            thumb = await download(api, out["thumbnail"]["url"], tmp_path / "t.jpg")
            with Image.open(thumb) as im:
                assert im.format == "JPEG"
                assert im.size == (out["thumbnail"]["width"], out["thumbnail"]["height"])
                assert (im.width > im.height) == (size[0] > size[1])


async def test_media_supports_range_requests_for_players(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        _, out = await api.generate(SORA, {"prompt": "range"})
        r = await api.client.get(out["video"]["url"], headers={"range": "bytes=0-99"})
    assert r.status_code == 206 and len(r.content) == 100 and r.headers["x-sora2-emulator"] == "1"


@pytest.mark.parametrize(
    ("endpoint", "image", "size", "note"),
    [
        (SORA_I2V, (720, 1280), (720, 1280), "9:16"),
        (SORA_I2V, (1600, 900), (1280, 720), "16:9"),
        (SORA_I2V, (1080, 1920), (720, 1280), "720p"),  # standard model: auto is always 720p
        (SORA_I2V_PRO, (1080, 1920), (1080, 1920), "1080p"),  # Pro: short side >= 1080 → 1080p
        (SORA_I2V_PRO, (600, 800), (720, 1280), "720p"),
        (KLING_I2V, (512, 512), (720, 720), "1:1"),
        (KLING_I2V, (360, 640), (720, 1280), "9:16"),
    ],
)
async def test_auto_size_follows_the_data_uri_image(endpoint, image, size, note, make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        body: dict[str, Any] = {"prompt": "animate", "image_url": png_data_uri(*image)}
        if endpoint != KLING_I2V:
            body["duration"] = 4
        else:
            body["duration"] = "5"
        job, out = await api.generate(endpoint, body)
        if "video_id" in out:
            assert (out["video"]["width"], out["video"]["height"]) == size
        status = (await api.status(job)).json()
    assert any(note in entry["message"] for entry in status["logs"]), status["logs"]
    # The file itself has the size, whatever the response says.
    record = emu.load(job["request_id"])
    assert record is not None and (record.width, record.height) == size


async def test_unfetchable_image_url_falls_back_to_16_9_and_says_so(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        job, out = await api.generate(SORA_I2V, {"prompt": "p", "image_url": "https://example.com/portrait.png"})
        logs = (await api.status(job)).json()["logs"]
    assert (out["video"]["width"], out["video"]["height"]) == (1280, 720)
    assert any("not fetched" in entry["message"] for entry in logs)
