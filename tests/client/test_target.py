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


def test_the_environment_names_the_queue_and_an_argument_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_target.QUEUE_URL_ENV, "http://127.0.0.1:8765/")
    monkeypatch.delenv(_target.RUN_URL_ENV, raising=False)
    target = _target.resolve_target("k", queue_url=None, run_url=None, transport=None, emulator=None)
    assert (target.queue_url, target.run_url) == ("http://127.0.0.1:8765", "http://127.0.0.1:8765/run")
    assert target.provider == "fal" and target.key_source == "the key= argument"
    given = _target.resolve_target(
        "k", queue_url="https://proxy.example/q", run_url=None, transport=None, emulator=None
    )
    assert given.queue_url == "https://proxy.example/q"


def test_a_key_and_no_url_means_fal_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_target.QUEUE_URL_ENV, raising=False)
    monkeypatch.delenv(_target.RUN_URL_ENV, raising=False)
    target = _target.resolve_target("k", queue_url=None, run_url=None, transport=None, emulator=None)
    assert (target.queue_url, target.run_url) == (_target.DEFAULT_QUEUE_URL, _target.DEFAULT_RUN_URL)
    assert target.transport is None  # httpx's own transport, built by httpx.AsyncClient
    assert target.key is not None and target.key.get_secret_value() == "k"


def test_no_key_and_a_queue_url_talks_there_not_to_the_built_in_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_emulator() -> Any:
        raise AssertionError("the built-in emulator must not start for a queue URL that was given")

    monkeypatch.setattr(_target, "default_emulator", no_emulator)
    target = _target.resolve_target(None, queue_url="http://127.0.0.1:9/", run_url=None, transport=None, emulator=None)
    assert target.provider == "emulator" and target.key is None and target.queue_url == "http://127.0.0.1:9"
