"""Images in and videos out: what a start image may be, and which result URLs a browser can play."""

from __future__ import annotations

import base64

import pytest

from sora2_widgets._images import MAX_IMAGE_BYTES
from sora2_widgets.panel._media import browser_video_url, image_from_bytes, image_from_url

from ._fakes import PNG


@pytest.mark.parametrize(
    "url",
    [
        'https://example.com/a.png" onerror="alert(1)',
        "https://example.com/<img src=x>.png",
        "https://example.com/a b.png",
        "javascript:alert(1)//https://x",
        "https:///no-host.png",
    ],
)
def test_an_image_url_that_is_not_one_plain_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="image URL"):
        image_from_url(url)


@pytest.mark.parametrize(
    ("url", "playable"),
    [
        ("https://v3.fal.media/files/x.mp4", True),
        ("http://localhost:8765/media/x.mp4", True),
        ("http://example.com/x.mp4", False),  # plain http off loopback: blocked from an https page
        ("https://emulator.sora2-widgets.invalid/x.mp4", False),
        ('https://v3.fal.media/x.mp4"><script>', False),
        ("file:///etc/passwd", False),
        (None, False),
    ],
)
def test_which_result_urls_a_browser_can_play(url: str | None, playable: bool) -> None:
    assert browser_video_url(url) == (url if playable else None)


def test_the_panel_refuses_an_image_exactly_as_a_generation_would() -> None:
    """One limit and one decoder: an upload the generator would refuse is refused when it is picked."""
    assert image_from_bytes(PNG, "start.png").image_url.startswith("data:image/png;base64,")
    too_big = PNG + b"\0" * MAX_IMAGE_BYTES
    with pytest.raises(ValueError, match=r"^big\.png: .*image inputs are limited to 10"):
        image_from_bytes(too_big, "big.png")
    with pytest.raises(ValueError, match=r"^cut\.png: .*not a readable image"):
        image_from_bytes(PNG[: len(PNG) // 2], "cut.png")
    pasted = "data:image/png;base64," + base64.b64encode(too_big).decode()
    with pytest.raises(ValueError, match="image inputs are limited to 10"):
        image_from_url(pasted)
