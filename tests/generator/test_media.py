"""The saved video (``generator._media``): checked before it is recorded, probed with PyAV, thumbnailed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets.generator._adapter import ClientAdapter
from sora2_widgets.generator._media import DOWNLOAD_CHECKS, download_checked, media_problem, media_suffix, probe
from tests.history.conftest import make_mp4


def test_media_problem_names_a_wrong_size_and_an_error_page(tmp_path: Path, mp4_bytes: bytes) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(mp4_bytes)
    assert media_problem(video, len(mp4_bytes)) == "" and media_problem(video, None) == ""
    assert (
        media_problem(video, len(mp4_bytes) + 1)
        == f"{len(mp4_bytes)} bytes where the service announced {len(mp4_bytes) + 1}"
    )
    page = tmp_path / "p.mp4"
    page.write_bytes(b"<html><body>502 Bad Gateway</body></html>")
    assert media_problem(page, None) == "not an MP4 (an error page?)"
    jpeg = tmp_path / "t.jpg"
    jpeg.write_bytes(b"\xff\xd8\xff\xe0 not checked")
    assert media_problem(jpeg, None) == ""


def test_media_suffix_keeps_known_extensions_only() -> None:
    assert media_suffix("https://cdn.example/a/b.MOV?sig=1", ".mp4") == ".mov"
    assert media_suffix("https://cdn.example/thumb.webp", ".jpg") == ".webp"
    assert media_suffix("https://cdn.example/video", ".mp4") == ".mp4"
    assert media_suffix("https://cdn.example/x.exe", ".mp4") == ".mp4"


def test_probe_reads_the_facts_and_draws_a_thumbnail(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    make_mp4(video, seconds=2, size=(320, 180), fps=8)
    thumb = tmp_path / "v.jpg"
    facts = probe(video, thumb)
    assert (facts["width"], facts["height"], facts["fps"]) == (320, 180, 8.0)
    assert facts["duration"] == pytest.approx(2, abs=0.2)
    assert facts["thumbnail"] == thumb and thumb.read_bytes()[:2] == b"\xff\xd8"
    assert not (tmp_path / "v.jpg.part").exists()
    assert "thumbnail" not in probe(video, None)


@dataclass
class _Saved:
    path: Path
    sha256: str = "0" * 64


class _Downloads:
    """A client whose first ``bad`` downloads save an error page."""

    def __init__(self, video: bytes, bad: int) -> None:
        self.video, self.bad, self.calls = video, bad, 0

    async def submit(self, model_id: str, **params: object) -> None:  # makes the adapter treat it as async
        raise NotImplementedError

    async def download(self, url: str, dest: Path) -> _Saved:
        self.calls += 1
        body = b"<html>busy</html>" if self.calls <= self.bad else self.video
        dest.write_bytes(body)  # noqa: ASYNC240 - a tiny file in a test fake
        return _Saved(dest)


def test_download_checked_retries_what_is_not_the_video(tmp_path: Path, mp4_bytes: bytes) -> None:
    client = _Downloads(mp4_bytes, bad=DOWNLOAD_CHECKS - 1)
    dl = asyncio.run(download_checked(ClientAdapter(client), "https://cdn/v.mp4", tmp_path / "v.mp4", len(mp4_bytes)))
    assert dl.path.read_bytes() == mp4_bytes and client.calls == DOWNLOAD_CHECKS


def test_download_checked_gives_up_and_leaves_no_bad_file(tmp_path: Path, mp4_bytes: bytes) -> None:
    client = _Downloads(mp4_bytes, bad=DOWNLOAD_CHECKS)
    with pytest.raises(sw.ServiceError, match=f"not the video .*{DOWNLOAD_CHECKS} tries"):
        asyncio.run(download_checked(ClientAdapter(client), "https://cdn/v.mp4", tmp_path / "v.mp4", None))
    assert client.calls == DOWNLOAD_CHECKS and not (tmp_path / "v.mp4").exists()
