"""The options both clients take, listed once."""

from __future__ import annotations

from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets.client import ClientOptions
from tests.client.fakefal import KEY, QUEUE, FakeFal


@pytest.mark.parametrize("cls", [sw.AsyncFalClient, sw.FalClient])
def test_a_misspelt_option_is_a_type_error_naming_the_class(cls: type) -> None:
    with pytest.raises(TypeError, match=rf"{cls.__name__}\(\) got an unexpected keyword argument 'queue_ur'"):
        cls(KEY, queue_ur=QUEUE)


def test_both_clients_take_every_option(tmp_path: Path) -> None:
    fake = FakeFal()
    options: ClientOptions = {
        "queue_url": QUEUE,
        "run_url": QUEUE + "/run",
        "transport": fake.transport(),
        "timeout": 5.0,
        "max_concurrency": 3,
        "retry": sw.RetryPolicy(attempts=2),
        "poll_interval": 0.001,
        "max_poll_interval": 0.002,
        "use_stream": False,
        "emulator": None,
    }
    assert set(options) == ClientOptions.__optional_keys__
    with sw.FalClient(KEY, **options) as client:
        assert client.max_concurrency == 3 and client.provider == "fal"
        assert client.generate("sora2_text_to_video", prompt="hello").url
    assert fake.count("stream") == 0 and fake.count("status") >= 5  # use_stream=False reached the client


def test_max_concurrency_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        sw.AsyncFalClient(KEY, queue_url=QUEUE, max_concurrency=0)
