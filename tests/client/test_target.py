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


BAD_URLS = [
    "ftp://queue.example.com",
    "not a url",
    "",
    "http://",
    "/relative/path",
    "queue.fal.run",
    "https://user:pa55word@queue.example.com",
    "https://queue.example.com/#fragment",
    "https://queue.example.com/?a=1",
    "https://queue.example.com:99999",
    " https://queue.example.com",
    "https://queue.example.com\n",
]


@pytest.mark.parametrize("value", BAD_URLS)
@pytest.mark.parametrize("option", ["queue_url", "run_url"])
def test_a_bad_url_argument_is_refused_when_the_client_is_built(option: str, value: str) -> None:
    with pytest.raises(sw.ConfigError) as caught:
        sw.AsyncFalClient("id:secret", **{option: value})  # type: ignore[arg-type]
    message = str(caught.value)
    assert message.startswith(f"{option}= must be an http:// or https:// URL with a host")
    assert "\n" not in message and "pa55word" not in message


@pytest.mark.parametrize("value", ["ftp://x", "not a url", "https://u:pa55word@h", "https://h#x"])
@pytest.mark.parametrize("env", [_target.QUEUE_URL_ENV, _target.RUN_URL_ENV])
def test_a_bad_url_in_the_environment_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(sw.ConfigError, match=rf"^{env} must be an http:// or https:// URL with a host") as caught:
        sw.FalClient("id:secret")
    assert "pa55word" not in str(caught.value)


def test_an_empty_environment_url_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_target.QUEUE_URL_ENV, "")
    client = sw.AsyncFalClient("id:secret")
    assert client.queue_url == _target.DEFAULT_QUEUE_URL


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765", "https://queue.example.com/", "http://[::1]:80/prefix"])
def test_good_urls_are_taken(url: str) -> None:
    assert sw.AsyncFalClient("id:secret", queue_url=url).queue_url == url.rstrip("/")


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_generate_with_a_bad_queue_url_writes_no_ledger_row(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, how: str
) -> None:
    home = tmp_path / "ledger-home"
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(home))
    with pytest.raises(sw.ConfigError, match="must be an http:// or https:// URL"):
        if how == "argument":
            client = sw.AsyncFalClient("id:secret", queue_url="ftp://x")
        else:
            monkeypatch.setenv(_target.QUEUE_URL_ENV, "ftp://x")
            client = None  # the default generator builds its client from the environment
        with sw.Generator(client=client) as gen:
            gen.generate("sora2_text_to_video", prompt="a red fox in snow")
    with sw.History(home) as history:
        assert history.records() == []  # not even an `unknown` row: nothing could have been sent


def test_a_url_the_parser_refuses_is_not_quoted_nor_chained() -> None:
    with pytest.raises(sw.ConfigError) as caught:
        sw.AsyncFalClient("id:secret", queue_url="https://user:pa55word@queue.example.com:notaport")
    assert str(caught.value).endswith("; the value given is not a URL")
    assert caught.value.__context__ is None  # the parser's own error quoted the whole URL
