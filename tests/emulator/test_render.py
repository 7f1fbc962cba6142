"""The emulator's video renderer writes real, exact, deterministic H.264 MP4s."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from sora2_widgets.emulator import _render, _text
from sora2_widgets.emulator._render import RenderedVideo, dimensions, render_video

PROMPT = "A corgi astronaut bouncing across the lunar surface, earthrise behind, handheld documentary style"
SUBTITLE = "fal-ai/sora-2/text-to-video · SIMULATED by sora2-widgets emulator"


def _first_frame(path: Path, index: int = 0) -> np.ndarray:
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == index:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError(f"{path} has no frame {index}")


def _top_level_atoms(path: Path) -> list[str]:
    data = path.read_bytes()
    atoms, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        atoms.append(data[pos + 4 : pos + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        assert size >= 8, atoms
        pos += size
    return atoms


def _leftovers(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.endswith(".part"))


# -- dimensions ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("resolution", "aspect", "expected"),
    [
        ("720p", "16:9", (1280, 720)),
        ("720p", "9:16", (720, 1280)),
        ("720p", "1:1", (720, 720)),
        ("1080p", "16:9", (1920, 1080)),
        ("1080p", "9:16", (1080, 1920)),
        ("1080p", "1:1", (1080, 1080)),
    ],
)
def test_dimensions(resolution: str, aspect: str, expected: tuple[int, int]) -> None:
    assert dimensions(resolution, aspect) == expected


@pytest.mark.parametrize(("resolution", "aspect"), [("480p", "16:9"), ("720p", "4:3"), ("", ""), ("auto", "16:9")])
def test_dimensions_rejects_unknown(resolution: str, aspect: str) -> None:
    with pytest.raises(ValueError, match="unsupported"):
        dimensions(resolution, aspect)


# -- the video itself -----------------------------------------------------------


@pytest.mark.parametrize("duration", [4, 12])
@pytest.mark.parametrize("aspect", ["16:9", "9:16"])
@pytest.mark.parametrize("resolution", ["720p", "1080p"])
def test_video_matches_request(tmp_path: Path, resolution: str, aspect: str, duration: int) -> None:
    width, height = dimensions(resolution, aspect)
    out = tmp_path / "video.mp4"
    thumb = tmp_path / "thumb.jpg"
    result = render_video(
        out, width=width, height=height, duration=duration, title=PROMPT, subtitle=SUBTITLE, thumbnail_path=thumb
    )
    frames = duration * 24
    assert result == RenderedVideo(
        path=out,
        width=width,
        height=height,
        fps=24,
        duration=float(duration),
        num_frames=frames,
        file_size=out.stat().st_size,
        thumbnail_path=thumb,
    )
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.width, stream.height) == (width, height)
        assert stream.average_rate == 24
        assert stream.frames == frames
        assert stream.duration is not None and stream.time_base is not None
        assert float(stream.duration * stream.time_base) == pytest.approx(duration)
        assert container.duration is not None
        assert container.duration / 1e6 == pytest.approx(duration)
        decoded = sum(1 for _ in container.decode(stream))
    assert decoded == frames
    # Small enough to serve from a notebook without thinking about it.
    assert out.stat().st_size < 2_000_000
    # +faststart: the index (moov) precedes the media data, so playback starts at once.
    atoms = _top_level_atoms(out)
    assert atoms.index("moov") < atoms.index("mdat"), atoms
    # The thumbnail is a JPEG of the same shape, at most 480 px wide.
    with Image.open(thumb) as img:
        assert img.format == "JPEG"
        assert img.width <= 480
        assert img.width / img.height == pytest.approx(width / height, rel=0.01)
    assert _leftovers(tmp_path) == []


def test_square_and_odd_fps(tmp_path: Path) -> None:
    out = tmp_path / "sq.mp4"
    result = render_video(out, width=720, height=720, duration=1.5, fps=30, title="square")
    assert (result.num_frames, result.duration, result.thumbnail_path) == (45, 1.5, None)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == 30
        assert sum(1 for _ in container.decode(stream)) == 45


def test_frame_count_is_rounded_duration_times_fps(tmp_path: Path) -> None:
    result = render_video(tmp_path / "r.mp4", width=128, height=64, duration=0.52, fps=24, title="t")
    assert result.num_frames == round(0.52 * 24) == 12
    assert result.duration == pytest.approx(0.5)


def test_same_inputs_same_bytes(tmp_path: Path) -> None:
    kwargs = {"width": 640, "height": 360, "duration": 2, "title": PROMPT, "subtitle": SUBTITLE, "seed": 42}
    a = render_video(tmp_path / "a.mp4", **kwargs)  # type: ignore[arg-type]
    b = render_video(tmp_path / "b.mp4", **kwargs)  # type: ignore[arg-type]
    assert np.array_equal(_first_frame(a.path), _first_frame(b.path))
    assert a.path.read_bytes() == b.path.read_bytes()


def test_seed_changes_colours(tmp_path: Path) -> None:
    a = render_video(tmp_path / "a.mp4", width=640, height=360, duration=1, title=PROMPT, seed=1)
    b = render_video(tmp_path / "b.mp4", width=640, height=360, duration=1, title=PROMPT, seed=2)
    assert not np.array_equal(_first_frame(a.path), _first_frame(b.path))


def test_title_and_subtitle_are_drawn(tmp_path: Path) -> None:
    plain = render_video(tmp_path / "p.mp4", width=640, height=360, duration=1, title="", seed=5)
    titled = render_video(tmp_path / "t.mp4", width=640, height=360, duration=1, title=PROMPT, seed=5)
    other = render_video(tmp_path / "o.mp4", width=640, height=360, duration=1, title="Something else", seed=5)
    sub = render_video(tmp_path / "s.mp4", width=640, height=360, duration=1, title="", subtitle=SUBTITLE, seed=5)
    frames = [_first_frame(v.path).astype(np.int16) for v in (plain, titled, other, sub)]
    for i in range(len(frames)):
        for j in range(i + 1, len(frames)):
            # Many clearly changed pixels, not codec noise.
            assert (np.abs(frames[i] - frames[j]).max(axis=-1) > 64).sum() > 500, (i, j)


def test_frames_move(tmp_path: Path) -> None:
    video = render_video(tmp_path / "m.mp4", width=640, height=360, duration=2, title=PROMPT)
    first, later = _first_frame(video.path, 0), _first_frame(video.path, 30)
    changed = np.abs(first.astype(np.int16) - later.astype(np.int16)).max(axis=-1) > 40
    assert changed.sum() > 1000
    # ... but the title area is static: motion is confined to the bars and timecode.
    assert not changed[120:240, 100:540].any()


def test_long_and_odd_titles(tmp_path: Path) -> None:
    for i, title in enumerate(["word " * 2000, "x" * 5000, "emoji 🎬🐕 and 日本語\nnew\tlines", "   "]):
        video = render_video(tmp_path / f"{i}.mp4", width=640, height=360, duration=0.25, title=title)
        assert video.num_frames == 6
    assert _leftovers(tmp_path) == []


def test_wrap_truncates_with_ellipsis() -> None:
    font = _text.font(20)
    lines = _text.wrap("lorem ipsum dolor " * 200, font, 300, 4)
    assert len(lines) == 4
    assert lines[-1].endswith("…")
    assert all(font.getlength(line) <= 300 for line in lines)
    assert _text.wrap("short", font, 300, 4) == ["short"]
    assert _text.wrap("", font, 300, 4) == []


@pytest.mark.parametrize(("width", "height"), [(854, 480), (480, 854), (722, 406)])
def test_heights_that_are_not_a_multiple_of_four(tmp_path: Path, width: int, height: int) -> None:
    """Seedance-like 480p sizes: the chroma planes do not start on a row of the frame buffer."""
    odd = render_video(tmp_path / "odd.mp4", width=width, height=height, duration=1, title="", seed=9)
    near = render_video(tmp_path / "near.mp4", width=width, height=height // 4 * 4, duration=1, title="", seed=9)
    with av.open(str(odd.path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (width, height)
        assert sum(1 for _ in container.decode(stream)) == 24
    # The same colours as a render two rows shorter: no plane was read from the wrong place.
    a, b = _first_frame(odd.path)[100:200, 100:200], _first_frame(near.path)[100:200, 100:200]
    assert np.abs(a.astype(np.int16) - b.astype(np.int16)).mean() < 6


def test_small_frame(tmp_path: Path) -> None:
    video = render_video(tmp_path / "s.mp4", width=64, height=64, duration=1, title=PROMPT, subtitle=SUBTITLE)
    assert video.num_frames == 24


def test_creates_parent_directory(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "v.mp4"
    render_video(out, width=128, height=128, duration=0.5, title="t", thumbnail_path=tmp_path / "c" / "t.jpg")
    assert out.is_file()
    assert (tmp_path / "c" / "t.jpg").is_file()


# -- failures leave nothing behind ----------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"width": 0, "height": 720},
        {"width": 1280, "height": -720},
        {"width": 1281, "height": 720},
        {"width": 8192, "height": 720},
        {"width": 1280.0, "height": 720},
        {"width": 1280, "height": 720, "fps": 0},
        {"width": 1280, "height": 720, "duration": 0},
        {"width": 1280, "height": 720, "duration": -4},
        {"width": 1280, "height": 720, "duration": math.nan},
        {"width": 1280, "height": 720, "duration": math.inf},
        {"width": 1280, "height": 720, "duration": 0.001},
    ],
)
def test_invalid_arguments_raise_before_writing(tmp_path: Path, kwargs: dict[str, object]) -> None:
    out = tmp_path / "v.mp4"
    thumb = tmp_path / "t.jpg"
    args: dict[str, object] = {"duration": 4, "title": PROMPT, "thumbnail_path": thumb, **kwargs}
    with pytest.raises(ValueError):
        render_video(out, **args)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_encoder_failure_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_encode = _render._encode

    def broken(tmp: Path, maker: object, fps: int, num_frames: int, sound: object) -> None:
        real_encode(tmp, maker, fps, num_frames // 2, sound)  # type: ignore[arg-type]
        assert tmp.is_file()
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(_render, "_encode", broken)
    out = tmp_path / "v.mp4"
    with pytest.raises(RuntimeError, match="disk on fire"):
        render_video(out, width=320, height=180, duration=1, title="t", thumbnail_path=tmp_path / "t.jpg")
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_previous_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "v.mp4"
    render_video(out, width=320, height=180, duration=1, title="old")
    before = out.read_bytes()

    def broken(*args: object) -> None:
        raise OSError("no space left")

    monkeypatch.setattr(_render, "_encode", broken)
    with pytest.raises(OSError, match="no space"):
        render_video(out, width=320, height=180, duration=1, title="new")
    assert out.read_bytes() == before
    assert _leftovers(tmp_path) == []
