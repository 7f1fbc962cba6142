"""Where a client talks: fal with a key, the environment's URLs, or the built-in emulator (announced once)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

import sora2_widgets as sw
from sora2_widgets.client import _target
from tests.client.fakefal import FakeFal


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_no_key_means_emulator_announced_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:

    class FakeEmulator:
        base_url = "http://emulator.sora2-widgets.invalid"

        def transport(self) -> httpx.AsyncBaseTransport:
            return FakeFal(queue_url=self.base_url, key=None).transport()

    monkeypatch.setattr(_target, "default_emulator", FakeEmulator)
    monkeypatch.setattr(_target, "_announced_emulator", False)
    caplog.set_level(logging.INFO, logger="sora2_widgets.client")
    a, b = sw.AsyncFalClient(), sw.AsyncFalClient()
    assert a.provider == b.provider == "emulator"
    assert a.host == "emulator.sora2-widgets.invalid"
    assert caplog.text.count("built-in emulator") == 1

    async def main() -> sw.VideoResult:
        async with a:
            return await a.generate("sora2_text_to_video", prompt="hello")

    assert run(main()).url
