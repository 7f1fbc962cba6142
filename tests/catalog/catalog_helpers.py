"""Shared by the catalog suites: images of a chosen shape, the MP4 facts a user would check."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import av
from PIL import Image


def png_data_uri(width: int, height: int) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (40, 120, 200)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def png_file(folder: Path, width: int, height: int) -> Path:
    path = folder / f"frame_{width}x{height}.png"
    Image.new("RGB", (width, height), (40, 120, 200)).save(path, format="PNG")
    return path


def mp4_facts(path: Path | str) -> tuple[int, int, float]:
    """(width, height, seconds) of an MP4, decoded from its video stream."""
    with av.open(str(path)) as box:
        stream = box.streams.video[0]
        assert stream.duration is not None and stream.time_base is not None
        return stream.codec_context.width, stream.codec_context.height, float(stream.duration * stream.time_base)
