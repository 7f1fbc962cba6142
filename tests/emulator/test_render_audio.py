"""A video that should have sound has an AAC track as long as the picture; one that should not has none.

Both tracks are decoded with PyAV, as a player would: the picture's size, frames and length, the
sound's codec, rate, length and level, and the order the two are stored in.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from emu_helpers import KLING, SORA, SORA_PRO

from sora2_widgets.emulator._emulator import has_audio
from sora2_widgets.emulator._render import render_video
from sora2_widgets.emulator._sound import SAMPLE_RATE
from sora2_widgets.generator._media import probe

VEO = "fal-ai/veo3.1"
PROMPT = "A brass band marching through a rainy street at night, neon reflections, handheld"
#: One AAC frame: the most by which the decoded sound may differ from the picture's length.
AAC_FRAME = 1024 / SAMPLE_RATE


def _tracks(path: Path) -> dict[str, Any]:
    """Everything a player learns from the file: both streams' facts and the decoded samples."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        facts: dict[str, Any] = {
            "size": (video.codec_context.width, video.codec_context.height),
            "video_frames": sum(1 for _ in container.decode(video=0)),
            "video_seconds": float(video.duration * video.time_base) if video.duration and video.time_base else None,
            "container_seconds": container.duration / 1e6 if container.duration is not None else None,
            "audio_streams": len(container.streams.audio),
        }
    if not facts["audio_streams"]:
        return facts
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        chunks = [frame.to_ndarray() for frame in container.decode(audio=0)]
        facts.update(
            codec=audio.codec_context.name,
            rate=audio.codec_context.sample_rate,
            channels=audio.codec_context.channels,
            audio_seconds=float(audio.duration * audio.time_base) if audio.duration and audio.time_base else None,
            samples=np.concatenate(chunks, axis=1)[0],
        )
    return facts


def _packet_times(path: Path) -> list[tuple[str, float]]:
    """(stream kind, start time in seconds) of every packet, in the order they are stored."""
    with av.open(str(path)) as container:
        return [
            (packet.stream.type, float(packet.dts * packet.time_base))
            for packet in container.demux()
            if packet.dts is not None and packet.time_base is not None
        ]


@pytest.mark.parametrize(
    ("width", "height", "duration", "fps"),
    [(1280, 720, 8, 24), (360, 640, 5, 30), (320, 320, 4.5, 24)],
    ids=["720p-8s", "portrait-5s-30fps", "square-4.5s"],
)
def test_audio_track_is_aac_as_long_as_the_video(
    tmp_path: Path, width: int, height: int, duration: float, fps: int
) -> None:
    out = tmp_path / "v.mp4"
    video = render_video(out, width=width, height=height, duration=duration, fps=fps, title=PROMPT, audio=True)
    assert video.audio is True
    facts = _tracks(out)
    frames = round(duration * fps)
    assert facts["size"] == (width, height)
    assert facts["video_frames"] == frames
    assert facts["video_seconds"] == pytest.approx(duration)
    assert facts["container_seconds"] == pytest.approx(duration, abs=AAC_FRAME)
    assert facts["audio_streams"] == 1
    assert (facts["codec"], facts["rate"], facts["channels"]) == ("aac", SAMPLE_RATE, 1)
    # The track's declared length is the picture's; decoding gives it to within one AAC frame.
    assert facts["audio_seconds"] == pytest.approx(duration, abs=AAC_FRAME)
    samples = facts["samples"]
    assert abs(len(samples) / SAMPLE_RATE - duration) <= AAC_FRAME
    # Sound, not silence, and never loud.
    middle = samples[len(samples) // 4 : 3 * len(samples) // 4]
    assert float(np.sqrt(np.mean(middle**2))) > 0.03
    assert float(np.abs(samples).max()) < 0.5
    # Stored interleaved (no stream runs more than a second ahead of the other), so a browser
    # playing it over HTTP never has to fetch the whole file to start both.
    latest = {"video": 0.0, "audio": 0.0}
    for kind, start in _packet_times(out):
        latest[kind] = max(latest[kind], start)
        assert abs(latest["video"] - latest["audio"]) < 1.0, (kind, start, latest)
    assert latest["audio"] > duration - 0.1 and latest["video"] > duration - 0.1


def test_no_audio_track_unless_asked(tmp_path: Path) -> None:
    video = render_video(tmp_path / "v.mp4", width=640, height=360, duration=2, title=PROMPT)
    assert video.audio is False
    assert _tracks(video.path)["audio_streams"] == 0


def test_sound_leaves_picture_and_thumbnail_unchanged(tmp_path: Path) -> None:
    common: dict[str, Any] = {"width": 640, "height": 360, "duration": 2, "title": PROMPT, "seed": 7}
    silent = render_video(tmp_path / "s.mp4", thumbnail_path=tmp_path / "s.jpg", **common)
    loud = render_video(tmp_path / "l.mp4", thumbnail_path=tmp_path / "l.jpg", audio=True, **common)
    assert loud.thumbnail_path is not None and silent.thumbnail_path is not None
    assert loud.thumbnail_path.read_bytes() == silent.thumbnail_path.read_bytes()
    with av.open(str(silent.path)) as a, av.open(str(loud.path)) as b:
        pictures = zip(a.decode(video=0), b.decode(video=0), strict=True)
        assert all(np.array_equal(x.to_ndarray(), y.to_ndarray()) for x, y in pictures)
    assert loud.file_size > silent.file_size


def test_sound_is_reproducible_and_differs_by_seed(tmp_path: Path) -> None:
    common: dict[str, Any] = {"width": 320, "height": 180, "duration": 2, "title": "t", "audio": True}
    a = render_video(tmp_path / "a.mp4", seed=1, **common)
    again = render_video(tmp_path / "again.mp4", seed=1, **common)
    b = render_video(tmp_path / "b.mp4", seed=2, **common)
    assert a.path.read_bytes() == again.path.read_bytes()
    sa, sb = _tracks(a.path)["samples"], _tracks(b.path)["samples"]
    n = min(len(sa), len(sb))
    assert not np.allclose(sa[:n], sb[:n], atol=0.01)


@pytest.mark.parametrize("audio", [1, "yes", None])
def test_audio_flag_must_be_a_bool(tmp_path: Path, audio: object) -> None:
    with pytest.raises(ValueError, match="audio must be True or False"):
        render_video(tmp_path / "v.mp4", width=320, height=180, duration=1, title="t", audio=audio)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_the_generators_probe_sees_the_sound(tmp_path: Path) -> None:
    loud = render_video(tmp_path / "l.mp4", width=320, height=180, duration=1, title="t", audio=True)
    silent = render_video(tmp_path / "s.mp4", width=320, height=180, duration=1, title="t")
    assert probe(loud.path, None)["audio"] is True
    assert probe(silent.path, None)["audio"] is False


# -- the emulator decides ------------------------------------------------------------


async def _generate(api: Any, endpoint: str, body: dict[str, Any], dest: Path) -> tuple[dict[str, Any], Path]:
    job, out = await api.generate(endpoint, {"prompt": PROMPT, **body})
    r = await api.client.get(out["video"]["url"])
    assert r.status_code == 200
    dest.write_bytes(r.content)  # noqa: ASYNC240 -- a test, small file
    return job, dest


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [(SORA, {"duration": 4}), (SORA_PRO, {"duration": 4, "resolution": "1080p"})],
    ids=["sora", "sora-pro"],
)
async def test_a_sora_job_has_sound(endpoint: str, body: dict[str, Any], make_emu, api_for, tmp_path: Path) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        job, path = await _generate(api, endpoint, body, tmp_path / "v.mp4")
    facts = _tracks(path)
    assert facts["audio_streams"] == 1 and facts["codec"] == "aac"
    assert facts["audio_seconds"] == pytest.approx(facts["video_seconds"], abs=AAC_FRAME)
    record = emu.load(job["request_id"])
    assert record is not None and record.rendered is not None and record.rendered["audio"] is True


async def test_a_kling_25_job_is_silent(make_emu, api_for, tmp_path: Path) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        job, path = await _generate(api, KLING, {"duration": "5"}, tmp_path / "v.mp4")
    facts = _tracks(path)
    assert facts["audio_streams"] == 0 and facts["video_frames"] == 5 * 24
    record = emu.load(job["request_id"])
    assert record is not None and record.rendered is not None and record.rendered["audio"] is False


async def test_other_models_sound_follows_generate_audio(make_emu, api_for, tmp_path: Path) -> None:
    """The rule is the entry's ``generate_audio`` (fal's default when omitted), so a catalog entry needs no code."""
    emu = make_emu()
    async with api_for(emu) as api:
        silent, quiet_path = await _generate(api, VEO, {"duration": "4s", "generate_audio": False}, tmp_path / "q.mp4")
        loud, loud_path = await _generate(api, VEO, {"duration": "4s"}, tmp_path / "l.mp4")  # default: with sound
    assert _tracks(quiet_path)["audio_streams"] == 0 and _tracks(loud_path)["audio_streams"] == 1
    quiet_record, loud_record = emu.load(silent["request_id"]), emu.load(loud["request_id"])
    assert quiet_record is not None and loud_record is not None
    assert has_audio(quiet_record) is False and has_audio(loud_record) is True
    # Only a real True: "true" or 1 (which the schema refuses anyway) never count as a yes.
    assert has_audio(replace(quiet_record, params={**quiet_record.params, "generate_audio": "true"})) is False
    assert has_audio(replace(quiet_record, params={**quiet_record.params, "generate_audio": 1})) is False
    # A Sora job has sound whatever its input says; Kling 2.5 has no such input and no sound.
    assert has_audio(replace(quiet_record, endpoint=SORA, params={"prompt": PROMPT, "generate_audio": False}))
    assert not has_audio(replace(quiet_record, endpoint=KLING, params={"prompt": PROMPT, "generate_audio": True}))
