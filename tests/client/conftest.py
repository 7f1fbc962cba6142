from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

import sora2_widgets as sw
from tests.client.fakefal import KEY, QUEUE, FakeFal

#: Minimal valid input per catalog model.
PARAMS: dict[str, dict[str, Any]] = {
    "sora2_text_to_video": {"prompt": "a red fox in snow", "duration": 8, "aspect_ratio": "9:16"},
    "sora2_text_to_video_pro": {"prompt": "a red fox in snow", "resolution": "720p"},
    "sora2_image_to_video": {"prompt": "it starts to rain", "image_url": "https://example.com/a.png"},
    "sora2_image_to_video_pro": {"prompt": "it starts to rain", "image_url": "https://example.com/a.png"},
    "sora2_video_to_video_remix": {"prompt": "make it night", "video_id": "video_123"},
    "kling25_turbo_pro_text_to_video": {"prompt": "a red fox in snow", "duration": "10"},
    "kling25_turbo_pro_image_to_video": {"prompt": "it starts to rain", "image_url": "https://example.com/a.png"},
    "veo31_text_to_video": {"prompt": "a red fox in snow", "duration": "4s"},
    "veo31_fast_text_to_video": {"prompt": "a red fox in snow", "generate_audio": False},
    "veo31_image_to_video": {"prompt": "it starts to rain", "image_url": "https://example.com/a.png"},
    "veo31_fast_image_to_video": {"prompt": "it starts to rain", "image_url": "https://example.com/a.png"},
    "kling3_standard_text_to_video": {"prompt": "a red fox in snow", "duration": "3"},
    "kling3_pro_text_to_video": {"multi_prompt": [{"prompt": "a fox", "duration": "3"}]},
    "kling3_standard_image_to_video": {"prompt": "it rains", "start_image_url": "https://example.com/a.png"},
    "kling3_pro_image_to_video": {"prompt": "it rains", "start_image_url": "https://example.com/a.png"},
    "seedance2_text_to_video": {"prompt": "a red fox in snow", "duration": "4"},
    "seedance2_fast_text_to_video": {"prompt": "a red fox in snow", "resolution": "480p"},
    "seedance2_image_to_video": {"prompt": "it starts to rain", "image_url": "https://example.com/a.png"},
    "seedance2_fast_image_to_video": {"prompt": "it starts to rain", "image_url": "https://example.com/a.png"},
}


class Sleeps:
    """An injectable sleep that records what the retry policy asked for and returns at once."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "home"))
    for name in ("FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake() -> FakeFal:
    return FakeFal()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(fake: FakeFal, sleeps: Sleeps) -> Iterator[Any]:
    def make(**kw: Any) -> sw.AsyncFalClient:
        kw.setdefault("key", KEY)
        kw.setdefault("queue_url", QUEUE)
        kw.setdefault("transport", fake.transport())
        kw.setdefault("retry", sw.RetryPolicy(attempts=6, base=0.001, cap=0.004, sleep=sleeps, random=lambda: 0.5))
        kw.setdefault("poll_interval", 0.001)
        kw.setdefault("max_poll_interval", 0.002)
        return sw.AsyncFalClient(**kw)

    yield make
