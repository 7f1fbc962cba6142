"""The keyword options both clients take, listed once: :class:`AsyncFalClient` reads them, and
:class:`FalClient` passes them on unchanged."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TypedDict

import httpx

from .._errors import ConfigError
from ._models import RetryPolicy
from ._target import EmulatorLike

__all__ = ["DEFAULT_TIMEOUT", "ClientOptions", "check_options"]

#: Per-request limits. A submit or status answer comes back in well under a second; 30 s of silence
#: means the connection is dead, not slow.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class ClientOptions(TypedDict, total=False):
    """Options of :class:`AsyncFalClient` and :class:`FalClient`, all keyword-only and optional.

    * ``queue_url`` / ``run_url``: fal's hosts; default ``$SORA2_WIDGETS_QUEUE_URL`` /
      ``$SORA2_WIDGETS_RUN_URL``, else ``https://queue.fal.run`` / ``https://fal.run``.
    * ``transport``: any httpx async transport (the emulator's, or a test's fault injector);
      default httpx's own HTTP/1.1 transport (through an environment proxy when one is set).
    * ``timeout``: per-request limits, seconds or an ``httpx.Timeout`` (default 30 s, 10 s to connect).
    * ``max_concurrency``: how many jobs may be in flight (submit→result) at once (default 8): each
      ``generate`` and each block under ``slot()`` (the generator's jobs) holds one.
    * ``retry``: the :class:`RetryPolicy` of idempotent requests (submit has its own, stricter rule).
    * ``poll_interval`` / ``max_poll_interval``: polling backoff when the status stream is
      unavailable (default 0.25 s growing to 2.5 s).
    * ``use_stream``: follow the status stream (default True); False always polls.
    * ``emulator``: talk to this emulator instead of fal (default: the built-in one when no key is found).
    """

    queue_url: str | None
    run_url: str | None
    transport: httpx.AsyncBaseTransport | None
    timeout: float | httpx.Timeout
    max_concurrency: int
    retry: RetryPolicy | None
    poll_interval: float
    max_poll_interval: float
    use_stream: bool
    emulator: EmulatorLike | None


def _seconds(name: str, value: object, *, none_ok: bool = False) -> None:
    if none_ok and value is None:
        return
    # bool before int/float: True is a number to Python, never a duration to a person.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        shown = repr(value) if len(repr(value)) <= 40 else type(value).__name__
        raise ConfigError(f"{name}=", f"must be a number of seconds above 0, got {shown}")


def check_options(owner: str, options: Mapping[str, object]) -> None:
    """A misspelt option fails as it would with named parameters (type checkers catch it earlier);
    a value that could not work is refused here, when the client is built, in one sentence.

    The URLs are checked where they are resolved against the environment (``_target.check_url``).
    """
    for name in options:
        if name not in ClientOptions.__optional_keys__:
            raise TypeError(f"{owner}() got an unexpected keyword argument {name!r}")
    if "max_concurrency" in options:
        value = options["max_concurrency"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            shown = repr(value) if len(repr(value)) <= 40 else type(value).__name__
            raise ConfigError("max_concurrency=", f"must be a whole number of 1 or more, got {shown}")
    if "timeout" in options:
        timeout = options["timeout"]
        if not isinstance(timeout, httpx.Timeout):  # httpx checks its own Timeout's parts
            _seconds("timeout", timeout)
    for name in ("poll_interval", "max_poll_interval"):
        if name in options:
            _seconds(name, options[name])
    if "use_stream" in options and not isinstance(options["use_stream"], bool):
        raise ConfigError("use_stream=", f"must be True or False, got {type(options['use_stream']).__name__}")
    if options.get("retry") is not None and not isinstance(options["retry"], RetryPolicy):
        raise ConfigError("retry=", f"must be a RetryPolicy or None, got {type(options['retry']).__name__}")
    transport = options.get("transport")
    if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
        raise ConfigError(
            "transport=", f"must be an httpx async transport (httpx.AsyncBaseTransport), got {type(transport).__name__}"
        )
