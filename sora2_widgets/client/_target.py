"""Where a client talks: fal with a key, a URL or transport it was given, or the built-in emulator.

With no key anywhere (and no ``transport``/``queue_url`` given) the client talks to the in-process
emulator: nothing is charged, and the user is told so once per process.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Protocol

import httpx
from pydantic import SecretStr

from .._config import resolve_key
from .._errors import ConfigError
from ._models import Provider

__all__ = [
    "DEFAULT_QUEUE_URL",
    "DEFAULT_RUN_URL",
    "QUEUE_URL_ENV",
    "RUN_URL_ENV",
    "Target",
    "check_url",
    "default_emulator",
    "mark_emulator_announced",
    "resolve_target",
]

log = logging.getLogger("sora2_widgets.client")

DEFAULT_QUEUE_URL = "https://queue.fal.run"
QUEUE_URL_ENV = "SORA2_WIDGETS_QUEUE_URL"
RUN_URL_ENV = "SORA2_WIDGETS_RUN_URL"
DEFAULT_RUN_URL = "https://fal.run"


class EmulatorLike(Protocol):
    """What the client needs from an emulator: where it answers, and an httpx transport to it."""

    @property
    def base_url(self) -> str: ...

    def transport(self) -> httpx.AsyncBaseTransport: ...


def default_emulator() -> EmulatorLike:
    # Imported on first use: a client with a key never needs the emulator (PyAV, Starlette).
    from .. import emulator

    return emulator.default_emulator()


_announced_emulator = False
_announce_lock = threading.Lock()


def _announce_emulator(where: str) -> None:
    global _announced_emulator
    with _announce_lock:
        if _announced_emulator:
            return
        _announced_emulator = True
    log.warning(
        "No fal key found (FAL_KEY, or FAL_KEY_ID/FAL_KEY_SECRET): using the built-in emulator at %s. "
        "Videos are synthetic and nothing is charged. Set FAL_KEY to use fal.ai.",
        where,
    )


def mark_emulator_announced() -> None:
    """Skip the one-time "using the emulator" notice: the caller has told the user already.

    The panel calls this: its provider badge says "Emulator", and in JupyterLab the logged
    warning would show as a red stderr box right above it. Plain Python users of the clients
    still get the notice once per process.
    """
    global _announced_emulator
    with _announce_lock:
        _announced_emulator = True


@dataclass(frozen=True)
class Target:
    """The resolved destination of one client."""

    queue_url: str
    run_url: str
    transport: httpx.AsyncBaseTransport | None
    #: "fal" when a key is used; "emulator" otherwise (nothing is charged without a key).
    provider: Provider
    key: SecretStr | None
    key_source: str | None


def _shown(value: str) -> str:
    # repr keeps the sentence on one line; cut, so a pasted blob stays short. A value with "@" may
    # carry a password, so it is described, never quoted.
    if "@" in value:
        return "a value with an '@' in it"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _parsed(value: str) -> httpx.URL | None:
    """The URL, or None. The refusal is raised by the caller, outside this handler: an exception
    raised inside it would keep the parser's error, with the value in it, as its ``__context__``."""
    try:
        url = httpx.URL(value)
        _ = url.port  # a port out of range fails only when read
    except (httpx.InvalidURL, TypeError, ValueError):
        return None
    return url


def check_url(value: object, field: str) -> str:
    """``value`` if it is an http(s) URL with a host; :class:`ConfigError` naming ``field`` otherwise.

    Checked when the client is built: a URL that cannot be sent to is a configuration error, found
    before any ledger row, never a "maybe charged" network outcome. Credentials in the URL are
    refused (the key goes in ``key=``/``FAL_KEY``, where it is kept secret), and so is a fragment or
    query (fal's paths are appended to this URL; either would end up in the middle of them).
    """
    allowed = "must be an http:// or https:// URL with a host (such as https://queue.fal.run)"
    if not isinstance(value, str):
        raise ConfigError(field, f"{allowed}, not {type(value).__name__}")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ConfigError(field, f"{allowed}, without spaces or control characters, got {_shown(value)}")
    url = _parsed(value)
    if url is None:
        # Never the value itself: a URL the parser refuses may still hold credentials.
        raise ConfigError(field, f"{allowed}; the value given is not a URL")
    port = url.port
    if url.userinfo:
        # Not shown: the user name and password are secrets.
        raise ConfigError(field, f"{allowed}, without a user name or password (give the key as key= or FAL_KEY)")
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(field, f"{allowed}, got {_shown(value)}")
    if port is not None and not 0 < port < 65536:
        raise ConfigError(field, f"{allowed} and a port from 1 to 65535, got {_shown(value)}")
    if url.query or url.fragment or "#" in value or "?" in value:
        raise ConfigError(field, f"{allowed}, without a ?query or #fragment, got {_shown(value)}")
    return value


def _chosen(argument: str | None, option: str, env: str) -> str | None:
    """The argument if given (even an empty one, which is refused), else the environment's value."""
    if argument is not None:
        return check_url(argument, f"{option}=")
    from_env = os.environ.get(env)
    if from_env:
        return check_url(from_env, env)
    return None  # unset, or set to nothing (`export VAR=`): the default


def resolve_target(
    key: str | SecretStr | None,
    *,
    queue_url: str | None,
    run_url: str | None,
    transport: httpx.AsyncBaseTransport | None,
    emulator: EmulatorLike | None,
) -> Target:
    """Arguments first, then the environment (key, ``SORA2_WIDGETS_QUEUE_URL``/``_RUN_URL``), then fal."""
    # Environment overrides let the CLI and the panel reach a loopback emulator or a proxy
    # without code changes; an explicit argument still wins.
    queue_url = _chosen(queue_url, "queue_url", QUEUE_URL_ENV) or DEFAULT_QUEUE_URL
    run_url = _chosen(run_url, "run_url", RUN_URL_ENV) or (
        DEFAULT_RUN_URL if queue_url.rstrip("/") == DEFAULT_QUEUE_URL else queue_url.rstrip("/") + "/run"
    )
    resolved = resolve_key(key)
    custom_target = transport is not None or queue_url.rstrip("/") != DEFAULT_QUEUE_URL
    if emulator is None and resolved is None and not custom_target:
        emulator = default_emulator()
    if emulator is not None:
        transport = emulator.transport()
        queue_url = emulator.base_url
        run_url = emulator.base_url.rstrip("/") + "/run"
        _announce_emulator(emulator.base_url)
    return Target(
        queue_url=queue_url.rstrip("/"),
        run_url=run_url.rstrip("/"),
        transport=transport,
        provider="fal" if resolved is not None and emulator is None else "emulator",
        key=resolved.secret if resolved else None,
        key_source=resolved.source if resolved else None,
    )
