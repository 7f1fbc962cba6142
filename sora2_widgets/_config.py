"""Where things live and where the key comes from: environment, once, in one place.

The key is only ever held as a :class:`pydantic.SecretStr`, so that a stray
``repr`` or log line shows ``**********`` and never the key itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from pydantic import SecretStr

__all__ = ["ResolvedKey", "budget_from_env", "data_dir", "resolve_key"]

HOME_ENV = "SORA2_WIDGETS_HOME"
BUDGET_ENV = "SORA2_WIDGETS_BUDGET"


def data_dir() -> Path:
    """The data directory: ``$SORA2_WIDGETS_HOME`` or ``~/.sora2_widgets``."""
    configured = os.environ.get(HOME_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".sora2_widgets"


@dataclass(frozen=True)
class ResolvedKey:
    """A fal key and a description of where it came from (safe to show; the key is not)."""

    secret: SecretStr
    source: str


def resolve_key(key: str | SecretStr | None = None) -> ResolvedKey | None:
    """The key passed in, else ``FAL_KEY``, else ``FAL_KEY_ID:FAL_KEY_SECRET``; ``None`` → emulator."""
    if key is not None:
        value = key.get_secret_value() if isinstance(key, SecretStr) else key
        if value.strip():
            return ResolvedKey(SecretStr(value.strip()), "the key= argument")
        return None
    env = os.environ.get("FAL_KEY", "").strip()
    if env:
        return ResolvedKey(SecretStr(env), "the FAL_KEY environment variable")
    key_id, key_secret = os.environ.get("FAL_KEY_ID", "").strip(), os.environ.get("FAL_KEY_SECRET", "").strip()
    if key_id and key_secret:
        return ResolvedKey(SecretStr(f"{key_id}:{key_secret}"), "the FAL_KEY_ID/FAL_KEY_SECRET environment variables")
    return None


def budget_from_env() -> Decimal | None:
    """``SORA2_WIDGETS_BUDGET`` in USD (e.g. ``25`` or ``12.50``); unset → no budget."""
    raw = os.environ.get(BUDGET_ENV, "").strip().lstrip("$")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"{BUDGET_ENV} must be an amount in USD such as 25 or 12.50, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{BUDGET_ENV} must not be negative, got {raw!r}")
    return value
