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


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("max_concurrency", 0, "max_concurrency= must be a whole number of 1 or more, got 0"),
        ("max_concurrency", True, "max_concurrency= must be a whole number of 1 or more, got True"),
        ("max_concurrency", 2.0, "max_concurrency= must be a whole number of 1 or more, got 2.0"),
        ("max_concurrency", "4", "max_concurrency= must be a whole number of 1 or more, got '4'"),
        ("timeout", 0, "timeout= must be a number of seconds above 0, got 0"),
        ("timeout", -1.5, "timeout= must be a number of seconds above 0, got -1.5"),
        ("timeout", float("nan"), "timeout= must be a number of seconds above 0, got nan"),
        ("timeout", True, "timeout= must be a number of seconds above 0, got True"),
        ("timeout", "30", "timeout= must be a number of seconds above 0, got '30'"),
        ("poll_interval", 0, "poll_interval= must be a number of seconds above 0, got 0"),
        ("max_poll_interval", float("inf"), "max_poll_interval= must be a number of seconds above 0, got inf"),
        ("use_stream", "no", "use_stream= must be True or False, got str"),
        ("retry", 3, "retry= must be a RetryPolicy or None, got int"),
        ("transport", object(), "transport= must be an httpx async transport (httpx.AsyncBaseTransport), got object"),
    ],
)
@pytest.mark.parametrize("cls", [sw.AsyncFalClient, sw.FalClient])
def test_an_unusable_option_value_is_refused_when_the_client_is_built(
    cls: type, option: str, value: object, says: str
) -> None:
    with pytest.raises(sw.ConfigError) as caught:
        cls(KEY, queue_url=QUEUE, **{option: value})
    assert str(caught.value) == says
    assert isinstance(caught.value, ValueError) and "\n" not in str(caught.value)
