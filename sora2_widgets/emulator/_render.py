"""Fast synthetic MP4 renderer used by the offline fal emulator.

The emulator must hand back *real* videos that play in a browser (H.264 in
an MP4 with the ``moov`` atom up front), yet render in about a second.  The
trick is to do nearly all drawing once:

* the background gradient, the wrapped prompt and the subtitle are drawn a
  single time with Pillow and converted once to Y'CbCr 4:2:0 planes
  (swscale, BT.709 limited range, also tagged so in the H.264 stream);
* per frame only two small regions change: a rolling colour band with a
  progress bar along the bottom edge, and a timecode/frame counter stamped
  from pre-rendered glyph cells (luma only; the box behind it is grey);
* frames are handed to libx264 directly as ``yuv420p`` planes, so no
  per-frame colour conversion happens, with ``preset=ultrafast`` and a
  constant, fairly high QP (quality hardly matters, small files do).

With ``audio=True`` the file also carries an AAC track exactly as long as the video
(:mod:`._sound`), encoded in step with the frames: the muxer interleaves the two tracks as they
come instead of holding every video packet until the sound arrives.

Everything is derived from the arguments (colours from ``seed``), so the same
inputs give the same pixels.  The file is written under a temporary ``.part``
name in the target directory and moved into place with :func:`os.replace`.
"""

from __future__ import annotations

import colorsys
import os
import random
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from numbers import Real
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from ._sound import F32, SAMPLE_RATE, AudioTrack, soundtrack
from ._text import Font, font, wrap

__all__ = ["RenderedVideo", "dimensions", "render_video"]

U8 = npt.NDArray[np.uint8]

_SHORT_SIDE = {"720p": 720, "1080p": 1080}
_ASPECTS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}
_MIN_SIDE = 64
_MAX_SIDE = 4096
_MAX_FPS = 120
_MAX_FRAMES = 120 * 60  # two minutes at 60 fps; far beyond any Sora 2 clip
_TIMECODE_CHARS = "0123456789:.#/ "
_THUMB_MAX_WIDTH = 480


@dataclass(frozen=True)
class RenderedVideo:
    """Facts about a video written by :func:`render_video`."""

    path: Path
    width: int
    height: int
    fps: int
    duration: float
    num_frames: int
    file_size: int
    thumbnail_path: Path | None
    #: Whether the file carries an AAC audio track as long as the video.
    audio: bool = False


def dimensions(resolution: str, aspect_ratio: str) -> tuple[int, int]:
    """Return ``(width, height)`` in pixels for a Sora 2 resolution/aspect.

    ``"720p"``/``"1080p"`` name the short side; ``"16:9"``, ``"9:16"`` and
    ``"1:1"`` are supported.  Anything else raises :class:`ValueError`.
    """
    try:
        short = _SHORT_SIDE[resolution]
    except KeyError:
        raise ValueError(f"unsupported resolution {resolution!r}; expected one of {sorted(_SHORT_SIDE)}") from None
    try:
        aw, ah = _ASPECTS[aspect_ratio]
    except KeyError:
        raise ValueError(f"unsupported aspect_ratio {aspect_ratio!r}; expected one of {sorted(_ASPECTS)}") from None
    if aw >= ah:
        return short * aw // ah, short
    return short, short * ah // aw


# --------------------------------------------------------------------------
# colour helpers


def _rgb_to_i420(rgb: U8) -> U8:
    """(h, w, 3) RGB with even h, w -> (h*3//2, w) I420 buffer (Y, U, V planes).

    Uses swscale (BT.709, limited range: what browsers assume for HD video),
    which is several times faster than the equivalent numpy arithmetic.
    """
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    out = frame.reformat(format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
    return np.ascontiguousarray(out.to_ndarray(), dtype=np.uint8)


def _i420_to_rgb(buf: U8) -> U8:
    """Inverse of :func:`_rgb_to_i420`."""
    frame = av.VideoFrame.from_ndarray(buf, format="yuv420p")
    out = frame.reformat(format="rgb24", src_colorspace="ITU709", src_color_range="MPEG")
    return np.ascontiguousarray(out.to_ndarray(), dtype=np.uint8)


def _luma(rgb: tuple[int, int, int]) -> int:
    """The Y' value :func:`_rgb_to_i420` gives a flat patch of ``rgb``."""
    return int(_rgb_to_i420(np.full((2, 2, 3), rgb, np.uint8))[0, 0])


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return round(r * 255), round(g * 255), round(b * 255)


@dataclass(frozen=True)
class _Palette:
    top_left: tuple[int, int, int]
    bottom_right: tuple[int, int, int]
    accent: tuple[int, int, int]
    accent2: tuple[int, int, int]
    subtitle: tuple[int, int, int]


def _palette(seed: int) -> _Palette:
    rng = random.Random(seed)  # noqa: S311 -- colours, not secrets; must be reproducible
    hue = rng.random()
    spread = rng.uniform(0.08, 0.3) * rng.choice((-1, 1))
    return _Palette(
        top_left=_hsv(hue, rng.uniform(0.55, 0.8), rng.uniform(0.28, 0.4)),
        bottom_right=_hsv(hue + spread, rng.uniform(0.6, 0.9), rng.uniform(0.1, 0.2)),
        accent=_hsv(hue + 0.5, 0.75, 0.95),
        accent2=_hsv(hue + 0.5 + spread, 0.85, 0.8),
        subtitle=_hsv(hue + 0.5, 0.3, 1.0),
    )


# --------------------------------------------------------------------------
# frame composition


def _even(v: float) -> int:
    return max(2, int(v) // 2 * 2)


_TC_BOX_RGB = (20, 20, 20)
_TC_TEXT_RGB = (255, 255, 255)
_BAR_RGB = (235, 235, 235)


def _timecode(frame: int, fps: int, total: int) -> str:
    """``MM:SS.FF #NNN/TOTAL``; every character keeps its position per frame."""
    secs, sub = divmod(frame, fps)
    mins, secs = divmod(secs, 60)
    digits = len(str(total))
    return f"{mins:02d}:{secs:02d}.{sub:02d} #{frame + 1:0{digits}d}/{total}"


@dataclass(frozen=True)
class _Timecode:
    """Pre-rendered luma tiles for stamping the timecode at fixed slots."""

    x: int
    y: int
    height: int
    slots: tuple[tuple[int, int], ...]  # (x offset, width) per character
    tiles: dict[str, U8]  # char -> (height, width) luma tile

    @property
    def width(self) -> int:
        if not self.slots:
            return 0
        off, w = self.slots[-1]
        return off + w


def _make_timecode(template: str, font: Font, x_right: int, y: int) -> _Timecode:
    """Lay out ``template`` right-aligned at ``x_right`` (in tiny frames: the leading chars that fit)."""
    digit_w = _even(max(font.getlength(d) for d in "0123456789") + 3)
    widths = {ch: digit_w if ch.isdigit() else _even(font.getlength(ch) + 3) for ch in _TIMECODE_CHARS}
    size = font.size if isinstance(font, ImageFont.FreeTypeFont) else 11
    height = _even(size * 1.5)
    slots: list[tuple[int, int]] = []
    off = 0
    for ch in template:
        slots.append((off, widths[ch]))
        off += widths[ch]
    # Render every tile side by side in one image and convert it in one go, so
    # the tiles' box colour matches the box drawn into the background exactly.
    strip = Image.new("RGB", (sum(widths.values()), height), _TC_BOX_RGB)
    draw = ImageDraw.Draw(strip)
    spans: dict[str, tuple[int, int]] = {}
    sx = 0
    for ch, w in widths.items():
        draw.text((sx + w / 2, height / 2), ch, font=font, fill=_TC_TEXT_RGB, anchor="mm")
        spans[ch] = (sx, w)
        sx += w
    luma = _rgb_to_i420(np.asarray(strip))[:height]
    tiles = {ch: luma[:, a : a + w].copy() for ch, (a, w) in spans.items()}
    x = _even(x_right - off) if x_right - off >= 2 else 0
    fitting = tuple((dx, w) for dx, w in slots if x + dx + w <= x_right)
    return _Timecode(x=x, y=y, height=height, slots=fitting, tiles=tiles)


def _background(width: int, height: int, pal: _Palette) -> Image.Image:
    """Diagonal two-colour gradient (built through a 256-entry colour LUT)."""
    yy = np.linspace(0.0, 0.45 * 255.0, height, dtype=np.float32)[:, None]
    xx = np.linspace(0.0, 0.55 * 255.0, width, dtype=np.float32)[None, :]
    idx = (yy + xx).astype(np.uint8)
    t = np.linspace(0.0, 1.0, 256, dtype=np.float32)[:, None]
    a = np.array(pal.top_left, np.float32)
    b = np.array(pal.bottom_right, np.float32)
    lut = np.rint(a * (1.0 - t) + b * t).astype(np.uint8)
    return Image.fromarray(lut[idx], "RGB")


def _draw_static(
    width: int,
    height: int,
    title: str,
    subtitle: str,
    pal: _Palette,
    tc: _Timecode,
    text_bottom: int,
) -> Image.Image:
    img = _background(width, height, pal)
    draw = ImageDraw.Draw(img)
    short = min(width, height)
    portrait = height > width
    margin = short / 12

    # Timecode box (its characters are stamped per frame).
    pad = tc.height // 4
    draw.rectangle((tc.x - pad, tc.y, tc.x + tc.width + pad - 1, tc.y + tc.height - 1), fill=_TC_BOX_RGB)

    # Title: wrapped, centred, outlined so it reads on any background.
    title_size = max(12, round(short / (16 if portrait else 15)))
    title_font = font(title_size)
    lines = wrap(title, title_font, width - 2 * margin, 9 if portrait else 5) or [""]
    line_h = round(title_size * 1.3)
    sub_size = max(10, round(short / 30))
    sub_font = font(sub_size)
    sub_lines = wrap(subtitle, sub_font, width - 2 * margin, 2) if subtitle else []
    sub_line_h = round(sub_size * 1.35)
    gap = sub_line_h // 2 if sub_lines else 0
    block_h = len(lines) * line_h + gap + len(sub_lines) * sub_line_h
    y = (text_bottom - block_h) / 2 + line_h / 2
    stroke = max(1, title_size // 14)
    for line in lines:
        draw.text(
            (width / 2, y),
            line,
            font=title_font,
            fill=(255, 255, 255),
            anchor="mm",
            stroke_width=stroke,
            stroke_fill=(0, 0, 0),
        )
        y += line_h
    y += gap - line_h / 2 + sub_line_h / 2
    for line in sub_lines:
        draw.text(
            (width / 2, y),
            line,
            font=sub_font,
            fill=pal.subtitle,
            anchor="mm",
            stroke_width=max(1, stroke // 2),
            stroke_fill=(0, 0, 0),
        )
        y += sub_line_h
    return img


def _band(width: int, period: int, pal: _Palette) -> tuple[U8, U8, U8]:
    """One row of a periodic accent gradient, ``width + period`` px, as Y/U/V.

    Y is full width, U/V half width.  Rolling the band is then just slicing
    at a per-frame (even) offset.
    """
    n = width + period
    t = (0.5 + 0.5 * np.sin(2.0 * np.pi * np.arange(n, dtype=np.float32) / period))[:, None]
    a = np.array(pal.accent, np.float32)
    b = np.array(pal.accent2, np.float32) * 0.35
    row = np.rint(a * t + b * (1.0 - t)).astype(np.uint8)
    i420 = _rgb_to_i420(np.repeat(row[None], 2, axis=0))  # (3, n): Y, Y, U|V
    half = n // 2
    return i420[0].copy(), i420[2, :half].copy(), i420[2, half:].copy()


class _FrameMaker:
    """Produces I420 frames by patching a static base buffer in place.

    Only the bottom band, the progress bar above it and the timecode change
    between frames; everything else is converted to Y'CbCr once.
    """

    def __init__(
        self,
        width: int,
        height: int,
        fps: int,
        total: int,
        title: str,
        subtitle: str,
        seed: int,
    ) -> None:
        self.width, self.height, self.fps, self.total = width, height, fps, total
        pal = _palette(seed)
        short = min(width, height)
        margin = _even(short / 30)
        self.band_y1 = height
        self.band_y0 = height - _even(short / 24)
        self.bar_y1 = self.band_y0
        self.bar_y0 = self.bar_y1 - _even(short / 120)
        tc_font = font(max(10, round(short / 28)))
        self.tc = _make_timecode(_timecode(0, fps, total), tc_font, width - margin, margin)
        static = _draw_static(width, height, title, subtitle, pal, self.tc, self.bar_y0)
        self.buf = _rgb_to_i420(np.asarray(static))
        h, w = height, width
        # The chroma planes start mid-row of the (h * 3/2, w) buffer when h is not a multiple of
        # 4 (480 x 854, say), so they are cut from the flat buffer, not from its rows.
        flat, luma, chroma = self.buf.reshape(-1), h * w, (h // 2) * (w // 2)
        self.u_plane = flat[luma : luma + chroma].reshape(h // 2, w // 2)
        self.v_plane = flat[luma + chroma :].reshape(h // 2, w // 2)
        self.bar_luma = _luma(_BAR_RGB)
        self.bar_saved = (
            self.buf[self.bar_y0 : self.bar_y1].copy(),
            self.u_plane[self.bar_y0 // 2 : self.bar_y1 // 2].copy(),
            self.v_plane[self.bar_y0 // 2 : self.bar_y1 // 2].copy(),
        )
        self.period = _even(max(64, width // 3))
        self.band_y, self.band_u, self.band_v = _band(width, self.period, pal)

    def frame(self, i: int) -> U8:
        """The I420 buffer for frame ``i`` (the same array, patched in place)."""
        w, buf = self.width, self.buf
        # Rolling band: moves one period every two seconds.
        off = (i * self.period // (2 * self.fps)) % self.period // 2 * 2
        buf[self.band_y0 : self.band_y1] = self.band_y[off : off + w]
        c0, c1, coff = self.band_y0 // 2, self.band_y1 // 2, off // 2
        self.u_plane[c0:c1] = self.band_u[coff : coff + w // 2]
        self.v_plane[c0:c1] = self.band_v[coff : coff + w // 2]
        # Progress bar: restore the background rows, then fill a neutral grey.
        filled = min(w, _even(w * (i + 1) / self.total + 1))
        c0, c1 = self.bar_y0 // 2, self.bar_y1 // 2
        buf[self.bar_y0 : self.bar_y1] = self.bar_saved[0]
        self.u_plane[c0:c1] = self.bar_saved[1]
        self.v_plane[c0:c1] = self.bar_saved[2]
        buf[self.bar_y0 : self.bar_y1, :filled] = self.bar_luma
        self.u_plane[c0:c1, : filled // 2] = 128
        self.v_plane[c0:c1, : filled // 2] = 128
        # Timecode: stamp each character's luma tile into its fixed slot.
        tc = self.tc
        for ch, (dx, cw) in zip(_timecode(i, self.fps, self.total), tc.slots):  # noqa: B905 -- slots may be clipped
            x = tc.x + dx
            buf[tc.y : tc.y + tc.height, x : x + cw] = tc.tiles[ch]
        return buf

    def rgb(self, i: int) -> U8:
        """Frame ``i`` as an (h, w, 3) RGB array (for thumbnails)."""
        return _i420_to_rgb(self.frame(i))


# --------------------------------------------------------------------------
# atomic output


@contextmanager
def _atomic_target(path: Path) -> Iterator[Path]:
    """Yield an unused ``*.part`` path next to ``path``; move it into place on success.

    The temp name is unique per call, so concurrent renders of the same target
    never write into each other's file; the last one to finish wins whole.
    Created by the writer (not mkstemp) so the file gets normal umask modes.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _validate(width: int, height: int, duration: float, fps: int) -> int:
    for name, v in (("width", width), ("height", height)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{name} must be an int, got {v!r}")
        if v % 2 or not _MIN_SIDE <= v <= _MAX_SIDE:
            raise ValueError(f"{name} must be an even integer in {_MIN_SIDE}..{_MAX_SIDE}, got {v}")
    if isinstance(fps, bool) or not isinstance(fps, int) or not 1 <= fps <= _MAX_FPS:
        raise ValueError(f"fps must be an integer in 1..{_MAX_FPS}, got {fps!r}")
    if isinstance(duration, bool) or not isinstance(duration, Real) or not 0 < float(duration) < float("inf"):
        raise ValueError(f"duration must be a positive finite number, got {duration!r}")
    num_frames = round(float(duration) * fps)
    if not 1 <= num_frames <= _MAX_FRAMES:
        raise ValueError(f"duration*fps must give 1..{_MAX_FRAMES} frames, got {num_frames}")
    return num_frames


def _planes(frame: av.VideoFrame) -> tuple[U8, U8, U8]:
    """Writable views of a ``yuv420p`` frame's Y, U and V planes (rows may be padded past the width)."""
    y, u, v = (
        np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
        for plane in frame.planes
    )
    return y, u, v


def _encode(tmp: Path, maker: _FrameMaker, fps: int, num_frames: int, sound: F32 | None) -> None:
    with av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream(
            "libx264",
            rate=fps,
            options={
                # Constant QP, not CRF: ~25% faster (no rate-control lookahead) and
                # every keyframe costs the same; QP 32 keeps text crisp enough.
                "preset": "ultrafast",
                "qp": "32",
                "bf": "0",  # no B-frames: no edit list, pts == dts, exact durations
                "g": str(fps * 4),  # a keyframe every 4 s for seeking
                "x264-params": "colorprim=bt709:transfer=bt709:colormatrix=bt709",
            },
        )
        stream.width = maker.width
        stream.height = maker.height
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.codec_context.time_base = Fraction(1, fps)
        stream.thread_count = 0  # let x264 pick (about 1.5 x cores)
        track = None if sound is None else AudioTrack(container, sound)
        # One frame, refilled each time: a fresh 12 MB buffer per 4k frame cost more CPU than the
        # copy itself (page faults). Safe because libx264 copies the picture before encode returns.
        frame = av.VideoFrame(maker.width, maker.height, "yuv420p")
        y, u, v = _planes(frame)
        for i in range(num_frames):
            buf = maker.frame(i)
            y[:] = buf[: maker.height]
            u[:] = maker.u_plane
            v[:] = maker.v_plane
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            container.mux(stream.encode(frame))
            if track is not None:
                track.advance((i + 1) * SAMPLE_RATE // fps)
        container.mux(stream.encode(None))
        if track is not None:
            track.finish()


def _write_thumbnail(thumbnail_path: Path, rgb: U8) -> None:
    img = Image.fromarray(rgb, "RGB")
    if img.width > _THUMB_MAX_WIDTH:
        h = max(1, round(img.height * _THUMB_MAX_WIDTH / img.width))
        img = img.resize((_THUMB_MAX_WIDTH, h), Image.Resampling.BILINEAR)
    thumbnail_path.parent.mkdir(parents=True, exist_ok=True)
    with _atomic_target(thumbnail_path) as tmp:
        img.save(tmp, format="JPEG", quality=85)


def render_video(
    path: Path,
    *,
    width: int,
    height: int,
    duration: float,
    fps: int = 24,
    title: str,
    subtitle: str = "",
    seed: int = 0,
    thumbnail_path: Path | None = None,
    audio: bool = False,
) -> RenderedVideo:
    """Render a synthetic H.264/MP4 clip showing ``title`` and ``subtitle``.

    Writes exactly ``round(duration * fps)`` frames of ``width`` x ``height``
    (both positive and even) to ``path`` atomically, plus a JPEG thumbnail of
    the middle frame (at most 480 px wide) if ``thumbnail_path`` is given.
    With ``audio``, the file also has an AAC track (48 kHz mono) exactly as
    long as the video. Invalid arguments raise :class:`ValueError` before
    anything is written.
    """
    num_frames = _validate(width, height, duration, fps)
    if not isinstance(audio, bool):
        raise ValueError(f"audio must be True or False, got {audio!r}")
    # Exactly the video's length (num_frames / fps), in whole samples.
    sound = soundtrack(seed, num_frames * SAMPLE_RATE // fps) if audio else None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    maker = _FrameMaker(width, height, fps, num_frames, title, subtitle, seed)
    thumb = None if thumbnail_path is None else Path(thumbnail_path)
    with _atomic_target(path) as tmp:
        _encode(tmp, maker, fps, num_frames, sound)
        # Before the video appears: whoever sees the MP4 can rely on the thumbnail.
        if thumb is not None:
            _write_thumbnail(thumb, maker.rgb(num_frames // 2))
    return RenderedVideo(
        path=path,
        width=width,
        height=height,
        fps=fps,
        duration=num_frames / fps,
        num_frames=num_frames,
        file_size=path.stat().st_size,
        thumbnail_path=thumb,
        audio=audio,
    )
