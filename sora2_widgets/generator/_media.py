"""The saved video: is it really the MP4, what are its facts, and a thumbnail when none was sent.

A CDN or proxy can answer 200 with an error page of the right length for its own body, so a
download is checked (announced size, MP4 header) before it is hashed and recorded as the video.
PyAV reads width, height, duration, fps and whether there is an audio track, and draws the first
frame as a JPEG thumbnail.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .._errors import ServiceError
from ._adapter import ClientAdapter, DownloadedFile

log = logging.getLogger("sora2_widgets.generator")

#: Top-level ISO-BMFF boxes an MP4/MOV file can start with.
MP4_BOXES = frozenset({b"ftyp", b"moov", b"free", b"mdat", b"skip", b"wide", b"pnot"})
#: Downloads tried before a file that is not the video becomes an error.
DOWNLOAD_CHECKS = 3


def probe(path: Path, thumb_dest: Path | None) -> dict[str, Any]:
    """Width/height/duration/fps of a saved MP4, whether it has sound (``audio``), and a first-frame
    JPEG when the service sent none."""
    import av

    facts: dict[str, Any] = {}
    with av.open(str(path)) as box:
        stream = box.streams.video[0]
        facts["audio"] = bool(box.streams.audio)
        facts["width"], facts["height"] = stream.codec_context.width, stream.codec_context.height
        if stream.average_rate:
            facts["fps"] = float(stream.average_rate)
        if stream.duration is not None and stream.time_base is not None:
            facts["duration"] = float(stream.duration * stream.time_base)
        elif box.duration is not None:
            facts["duration"] = box.duration / 1_000_000
        if thumb_dest is not None:
            for frame in box.decode(stream):
                tmp = thumb_dest.with_name(thumb_dest.name + ".part")
                frame.to_image().save(  # type: ignore[no-untyped-call]
                    tmp, format="JPEG", quality=85
                )
                with open(tmp, "rb") as fh:
                    os.fsync(fh.fileno())
                os.replace(tmp, thumb_dest)
                facts["thumbnail"] = thumb_dest
                break
    return facts


def media_problem(path: Path, expected: int | None) -> str:
    """Why a saved file cannot be the video, or "" if it can."""
    size = path.stat().st_size
    if expected is not None and expected > 0 and size != expected:
        return f"{size} bytes where the service announced {expected}"
    if path.suffix.lower() in (".mp4", ".mov", ".m4v"):
        with open(path, "rb") as fh:
            head = fh.read(8)
        if head[4:8] not in MP4_BOXES:
            return "not an MP4 (an error page?)"
    return ""


def media_suffix(url: str, default: str) -> str:
    """The file extension a media URL names, if it is one we save; ``default`` otherwise."""
    ext = os.path.splitext(urlsplit(url).path)[1].lower()
    return ext if ext in (".jpg", ".jpeg", ".png", ".webp", ".mp4", ".mov", ".webm") else default


async def download_checked(client: ClientAdapter, url: str, dest: Path, expected: int | None) -> DownloadedFile:
    """Download, then make sure it is the video: the size the service announced, an MP4 header.

    A file that is not the video is removed and downloaded again, up to :data:`DOWNLOAD_CHECKS` times.
    """
    problem = ""
    for attempt in range(1, DOWNLOAD_CHECKS + 1):
        dl = await client.download(url, dest)
        problem = await asyncio.to_thread(media_problem, Path(dl.path), expected)
        if not problem:
            return dl
        log.warning("download of %s: %s (attempt %d of %d)", dest.name, problem, attempt, DOWNLOAD_CHECKS)
        await asyncio.to_thread(Path(dl.path).unlink, missing_ok=True)
    raise ServiceError(f"the downloaded file is not the video ({problem}; {DOWNLOAD_CHECKS} tries)")
