"""Where things live, where the key comes from and how amounts of money are read: once, in one place.

The key is only ever held as a :class:`pydantic.SecretStr`, so that a stray
``repr`` or log line shows ``**********`` and never the key itself.

Every amount of USD a user types — ``SORA2_WIDGETS_BUDGET``, the CLI's ``--budget``, a
``budget=`` argument — is read by :func:`parse_usd`, so that the three can never disagree
about what ``"$5"``, ``"1,500"`` or ``"NaN"`` mean.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from pydantic import SecretStr

from ._errors import ConfigError

__all__ = [
    "ADMIN_KEY_ENV",
    "MAX_USD",
    "ResolvedKey",
    "budget_from_env",
    "current_user",
    "data_dir",
    "database_url",
    "machine_name",
    "media_dir_override",
    "parse_usd",
    "resolve_admin_key",
    "resolve_key",
]

HOME_ENV = "SORA2_WIDGETS_HOME"
#: fal's ADMIN-scope key: needed only to read billing events and usage (the Platform API).
ADMIN_KEY_ENV = "FAL_ADMIN_KEY"
BUDGET_ENV = "SORA2_WIDGETS_BUDGET"

#: The largest amount accepted. Far above any real budget; its point is that an amount is always
#: small enough to be formatted and compared exactly (Decimal's default context has 28 digits, and
#: ``format_usd`` quantizes to cents), so "1e30" is refused here rather than failing in the panel.
MAX_USD = Decimal(1_000_000_000)
#: The ledger counts money in micro-dollars: a finer amount could not be honoured, only rounded.
_MAX_DECIMALS = 6
_MICRO = Decimal(1).scaleb(-_MAX_DECIMALS)

# ASCII digits only (re.ASCII: Decimal would also read "٥" as 5), one optional "$" and sign, no
# exponent ("1e3"), no separators. Thousands separators are refused everywhere: "1,500" is $1500 to
# some users and $1.50 to others, and a budget misread by a factor of 1000 is worse than asking.
_AMOUNT = re.compile(r"(?P<sign>[+-]?)\$?(?P<sign2>[+-]?)(?P<number>\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_NOT_FINITE = re.compile(r"[+-]?\$?[+-]?(s?nan|inf|infinity)", re.ASCII | re.IGNORECASE)
_SEPARATED = re.compile(r"\$?\d+([,_' ]\d+)+(\.\d*)?", re.ASCII)
_EXAMPLE = "such as 25, 12.50 or $12.50"


def _shown(value: object) -> str:
    # repr: quotes text and escapes line breaks, so the sentence stays one line; cut, so it stays short.
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_usd(value: object, *, field: str) -> Decimal:
    """An amount of US dollars from text or a number; :class:`ConfigError` naming ``field`` otherwise.

    Accepted: ``25``, ``"12.50"``, ``"$12.50"``, ``12.5`` (a float is read as it prints), a finite
    ``Decimal``; surrounding spaces are ignored. Refused, each with one sentence: negative, NaN or
    infinite amounts, booleans, ``None``, exponents, thousands separators, more than 6 decimal places
    and amounts above :data:`MAX_USD`.
    """
    if isinstance(value, bool):  # before int: True is an int to Python, never an amount to a person
        raise ConfigError(field, f"must be an amount in USD {_EXAMPLE}, not True/False")
    if value is None:
        raise ConfigError(field, f"must be an amount in USD {_EXAMPLE}, got None")
    if isinstance(value, str):
        text = value.strip()
        match = _AMOUNT.fullmatch(text)
        if match is None:
            if _NOT_FINITE.fullmatch(text):
                raise ConfigError(field, f"must be a finite amount in USD, got {_shown(value)}")
            if _SEPARATED.fullmatch(text):
                raise ConfigError(
                    field,
                    "must be written with digits and a decimal point only (1500 or 12.50, not 1,500 or 12,50), "
                    f"got {_shown(value)}",
                )
            raise ConfigError(field, f"must be an amount in USD {_EXAMPLE}, got {_shown(value)}")
        if match["sign"] and match["sign2"]:
            raise ConfigError(field, f"must be an amount in USD {_EXAMPLE}, got {_shown(value)}")
        amount = Decimal(match["number"])
        if "-" in (match["sign"], match["sign2"]) and amount != 0:
            raise ConfigError(field, f"must be 0 or more, got {_shown(value)}")
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        # repr() is the shortest text that reads back as this float: 0.1 is "0.1", not 0.1000000000000000055…
        amount = Decimal(repr(value))
    elif isinstance(value, Decimal):
        amount = value
    else:
        raise ConfigError(field, f"must be an amount in USD {_EXAMPLE}, got {type(value).__name__}")
    if not amount.is_finite():
        raise ConfigError(field, f"must be a finite amount in USD, got {_shown(value)}")
    if amount < 0:
        raise ConfigError(field, f"must be 0 or more, got {_shown(value)}")
    if amount > MAX_USD:
        raise ConfigError(field, f"must be at most {MAX_USD} USD, got {_shown(value)}")
    if amount != amount.quantize(_MICRO):  # exact: at most MAX_USD, so well within Decimal's precision
        raise ConfigError(field, f"must not have more than {_MAX_DECIMALS} decimal places, got {_shown(value)}")
    return amount + 0  # "+ 0" turns -0 into 0; Decimal keeps the sign of a zero otherwise


def data_dir() -> Path:
    """The data directory: ``$SORA2_WIDGETS_HOME`` or ``~/.sora2_widgets``."""
    configured = os.environ.get(HOME_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".sora2_widgets"


@dataclass(frozen=True)
class ResolvedKey:
    """A fal key and a description of where it came from (safe to show; the key is not)."""

    secret: SecretStr
    source: str


#: A fal key travels in an HTTP header (``Authorization: Key <key>``): printable ASCII, no spaces.
_KEY_CHARS = re.compile(r"[\x21-\x7e]+", re.ASCII)


def _checked_key(value: str, field: str, source: str) -> ResolvedKey:
    if not _KEY_CHARS.fullmatch(value):
        # Described, never quoted: a key pasted with a line break or a smart quote is still a secret.
        raise ConfigError(
            field,
            "contains a character a fal key cannot have (only printable ASCII without spaces): "
            "check it for a stray space, line break or typographic quote",
        )
    return ResolvedKey(SecretStr(value), source)


def _given_key(key: object, field: str) -> ResolvedKey | None:
    """A key passed as the argument ``field`` (``key=``, ``admin_key=``): checked, ``None`` when blank."""
    value = key.get_secret_value() if isinstance(key, SecretStr) else key
    if not isinstance(value, str):
        # The type, never the value: a number or bytes given as a key may still be the secret.
        raise ConfigError(field, f"must be a fal key as text (a str or pydantic.SecretStr), got {type(value).__name__}")
    if value.strip():
        return _checked_key(value.strip(), field, f"the {field} argument")
    return None


def resolve_key(key: str | SecretStr | None = None) -> ResolvedKey | None:
    """The key passed in, else ``FAL_KEY``, else ``FAL_KEY_ID:FAL_KEY_SECRET``; ``None`` → emulator.

    A blank key means "no key" (the emulator). A key that is not text, or holds characters no fal
    key has, is a :class:`ConfigError` naming where it came from, raised before any request.
    """
    if key is not None:
        return _given_key(key, "key=")
    env = os.environ.get("FAL_KEY", "").strip()
    if env:
        return _checked_key(env, "FAL_KEY", "the FAL_KEY environment variable")
    key_id, key_secret = os.environ.get("FAL_KEY_ID", "").strip(), os.environ.get("FAL_KEY_SECRET", "").strip()
    if key_id and key_secret:
        _checked_key(key_id, "FAL_KEY_ID", "")
        _checked_key(key_secret, "FAL_KEY_SECRET", "")
        return ResolvedKey(SecretStr(f"{key_id}:{key_secret}"), "the FAL_KEY_ID/FAL_KEY_SECRET environment variables")
    return None


def resolve_admin_key(key: str | SecretStr | None = None) -> ResolvedKey | None:
    """The admin key passed in, else ``FAL_ADMIN_KEY``; ``None`` when neither is set.

    Held as a :class:`SecretStr` like the fal key; checked the same way, naming where it came from.
    """
    if key is not None:
        return _given_key(key, "admin_key=")
    env = os.environ.get(ADMIN_KEY_ENV, "").strip()
    if env:
        return _checked_key(env, ADMIN_KEY_ENV, f"the {ADMIN_KEY_ENV} environment variable")
    return None


def budget_from_env() -> Decimal | None:
    """``SORA2_WIDGETS_BUDGET`` in USD (e.g. ``25`` or ``12.50``); unset or blank → no budget.

    Read by :func:`parse_usd`: anything else is a :class:`ConfigError` naming the variable.
    """
    raw = os.environ.get(BUDGET_ENV, "")
    if not raw.strip():
        return None
    return parse_usd(raw, field=BUDGET_ENV)


DATABASE_ENV = "SORA2_WIDGETS_DATABASE_URL"
USER_ENV = "SORA2_WIDGETS_USER"
_USER_MAX = 100


def database_url() -> str | None:
    """``SORA2_WIDGETS_DATABASE_URL`` (a ``postgresql://`` team ledger); unset or blank → the SQLite file.

    Returned as given and never shown: it may hold the server's password (messages use
    ``history._postgres.redact_url``)."""
    raw = os.environ.get(DATABASE_ENV, "").strip()
    if not raw:
        return None
    if not raw.lower().startswith(("postgresql://", "postgres://")):
        # Only the scheme is named: the rest may be a password.
        raise ConfigError(DATABASE_ENV, "must be a URL starting postgresql:// (or be unset, for the SQLite file)")
    return raw


def current_user() -> str:
    """Who is generating, for the ledger's ``user`` column: ``SORA2_WIDGETS_USER``, else the OS login."""
    raw = os.environ.get(USER_ENV)
    if raw is not None and raw.strip():
        name = raw.strip()
        if len(name) > _USER_MAX or not name.isprintable():
            raise ConfigError(USER_ENV, f"must be a name of at most {_USER_MAX} printable characters")
        return name
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container's uid with no passwd entry)
        return f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def machine_name() -> str:
    """This machine, for the ledger's ``machine`` column: its host name."""
    import socket

    return socket.gethostname()


MEDIA_ENV = "SORA2_WIDGETS_MEDIA"


def media_dir_override() -> Path | None:
    """``SORA2_WIDGETS_MEDIA``: one folder for the videos of every machine of a team (a shared
    mount); unset or blank → ``media/`` beside the ledger (SQLite) or in the data directory."""
    raw = os.environ.get(MEDIA_ENV, "").strip()
    return Path(raw).expanduser() if raw else None
