"""Checking that a webhook POST really comes from fal: :func:`verify_webhook`.

fal signs every webhook with ED25519 (https://docs.fal.ai/model-endpoints/webhooks, "Verifying
your webhook"). Four headers carry what is signed::

    X-Fal-Webhook-Request-Id, X-Fal-Webhook-User-Id, X-Fal-Webhook-Timestamp (Unix seconds),
    X-Fal-Webhook-Signature (hex)

The signed message is ``request_id \\n user_id \\n timestamp \\n sha256_hex(raw body)`` in UTF-8,
and the public keys are a JSON Web Key Set (``kty: OKP``, ``crv: Ed25519``, ``x`` in base64url) at
:data:`FAL_JWKS_URL`. A timestamp more than five minutes from now is refused, like fal's own sample,
so a captured POST cannot be replayed later. The emulator signs its webhooks the same way with a
key of its own and serves its key set at ``{queue_url}/.well-known/jwks.json``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
import time
from collections.abc import Mapping
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .._errors import Sora2Error

__all__ = ["FAL_JWKS_URL", "HEADERS", "MAX_AGE", "WebhookVerificationError", "signed_message", "verify_webhook"]

#: Where fal publishes its webhook keys.
FAL_JWKS_URL = "https://rest.alpha.fal.ai/.well-known/jwks.json"
#: The signed headers, in the order their values are signed.
HEADERS = (
    "x-fal-webhook-request-id",
    "x-fal-webhook-user-id",
    "x-fal-webhook-timestamp",
    "x-fal-webhook-signature",
)
#: Seconds a webhook's timestamp may be away from now (fal's sample: 5 minutes either way).
MAX_AGE = 300
#: A fetched key set is kept this long (fal's sample: 24 h). A signature no cached key matches
#: refetches the set once (fal may have rotated its key), at most every ``_REFETCH_AFTER`` seconds.
_JWKS_TTL = 24 * 3600.0
_REFETCH_AFTER = 60.0
_JWKS_TIMEOUT = 10.0

_cache: dict[str, tuple[float, tuple[Ed25519PublicKey, ...]]] = {}
_cache_lock = threading.Lock()


class WebhookVerificationError(Sora2Error):
    """A webhook POST that cannot be shown to come from fal (or the emulator): do not act on it."""

    title = "Webhook refused"


def signed_message(request_id: str, user_id: str, timestamp: str, body: bytes) -> bytes:
    """What fal signs for one webhook POST (the emulator signs the same bytes)."""
    return "\n".join((request_id, user_id, timestamp, hashlib.sha256(body).hexdigest())).encode("utf-8")


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes,
    *,
    jwks: Mapping[str, Any] | str | None = None,
    max_age: int = MAX_AGE,
    now: float | None = None,
) -> dict[str, Any]:
    """Check a webhook POST's ED25519 signature; return its JSON payload when it is genuine.

    ``headers``: the request's headers (any mapping; names in any case). ``body``: the raw request
    bytes exactly as received — not parsed and re-serialised JSON, whose bytes differ. ``jwks``:
    fal's key set by default (fetched from :data:`FAL_JWKS_URL`, kept 24 h); another URL (the
    emulator's ``{queue_url}/.well-known/jwks.json``); or the key set itself as a dict (fetch it
    once at start-up in an async server: fetching here blocks). ``max_age``: seconds the timestamp
    may be from ``now``.

    Raises :class:`~sora2_widgets.Sora2Error` (a ``WebhookVerificationError``) with one sentence
    when a header is missing, the timestamp is stale or unreadable, or no key matches the signature.
    """
    if not isinstance(body, bytes):
        raise TypeError(f"body must be the raw request bytes as received, got {type(body).__name__}")
    if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
        raise ValueError(f"max_age must be a whole number of seconds, 0 or more, got {max_age!r}")
    if not isinstance(headers, Mapping):
        raise TypeError(f"headers must be a mapping of header names to values, got {type(headers).__name__}")
    given = {str(k).lower(): v for k, v in headers.items()}
    missing = [name for name in HEADERS if not isinstance(given.get(name), str) or not given[name]]
    if missing:
        names = ", ".join(missing)
        raise WebhookVerificationError(f"webhook refused: missing header{'s' if len(missing) > 1 else ''} {names}")
    request_id, user_id, stamp, signature_hex = (str(given[name]) for name in HEADERS)
    if not (stamp.isascii() and stamp.isdigit()):
        raise WebhookVerificationError("webhook refused: x-fal-webhook-timestamp is not a Unix time in seconds")
    age = (time.time() if now is None else now) - int(stamp)
    if abs(age) > max_age:
        when = f"{int(age)} s old" if age > 0 else f"{int(-age)} s in the future"
        raise WebhookVerificationError(
            f"webhook refused: its timestamp is {when}, more than {max_age} s from now (a replay, or a wrong clock)"
        )
    try:
        signature = bytes.fromhex(signature_hex)
    except ValueError:
        signature = b""
    if len(signature) != 64:
        raise WebhookVerificationError(
            "webhook refused: x-fal-webhook-signature is not a 64-byte hex ED25519 signature"
        )
    message = signed_message(request_id, user_id, stamp, body)
    if not _matches(_keys(jwks), signature, message):
        fresh = _refetched(jwks)
        if fresh is None or not _matches(fresh, signature, message):
            raise WebhookVerificationError(
                "webhook refused: its signature matches none of the webhook keys (the body or headers were "
                "changed, or it was not sent by fal)"
            )
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise WebhookVerificationError("webhook refused: the signed body is not a JSON object")
    return payload


def _matches(keys: tuple[Ed25519PublicKey, ...], signature: bytes, message: bytes) -> bool:
    for key in keys:
        try:
            key.verify(signature, message)
        except InvalidSignature:
            continue
        return True
    return False


def _keys(jwks: Mapping[str, Any] | str | None) -> tuple[Ed25519PublicKey, ...]:
    if jwks is None or isinstance(jwks, str):
        url = FAL_JWKS_URL if jwks is None else jwks
        with _cache_lock:
            cached = _cache.get(url)
        if cached is not None and time.monotonic() - cached[0] < _JWKS_TTL:
            return cached[1]
        return _fetch(url)
    if isinstance(jwks, Mapping):
        return _parse(jwks, "the jwks given")
    raise TypeError(f"jwks must be a key set (dict), its URL or None for fal's, got {type(jwks).__name__}")


def _refetched(jwks: Mapping[str, Any] | str | None) -> tuple[Ed25519PublicKey, ...] | None:
    """A fresh copy of a fetched key set whose cached copy failed, unless it was fetched just now."""
    if jwks is not None and not isinstance(jwks, str):
        return None
    url = FAL_JWKS_URL if jwks is None else jwks
    with _cache_lock:
        cached = _cache.get(url)
    if cached is not None and time.monotonic() - cached[0] < _REFETCH_AFTER:
        return None
    return _fetch(url)


def _fetch(url: str) -> tuple[Ed25519PublicKey, ...]:
    try:
        response = httpx.get(url, timeout=_JWKS_TIMEOUT, follow_redirects=True)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise WebhookVerificationError(
            f"webhook refused: the webhook keys could not be fetched from {url} ({type(exc).__name__})"
        ) from None
    keys = _parse(data, url)
    with _cache_lock:
        _cache[url] = (time.monotonic(), keys)
    return keys


def _parse(jwks: Any, where: str) -> tuple[Ed25519PublicKey, ...]:
    entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(entries, list):
        raise WebhookVerificationError(f"webhook refused: {where} is not a JSON Web Key Set (no 'keys' list)")
    keys = []
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
            continue  # another kind of key: not one webhooks are signed with
        x = entry.get("x")
        if not isinstance(x, str):
            continue
        try:
            raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
            keys.append(Ed25519PublicKey.from_public_bytes(raw))
        except (ValueError, binascii.Error):
            continue
    if not keys:
        raise WebhookVerificationError(f"webhook refused: {where} holds no Ed25519 key")
    return tuple(keys)
