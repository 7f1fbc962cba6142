"""Keys never leave through what the service says: the fal key, ``FAL_ADMIN_KEY`` and each job's own ``api_key``.

A service may echo a key back ("Incorrect API key provided: sk-…") in an error, a log line or a
result. Everything the client passes on from the service goes through :class:`Secrets` first.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from .._config import ADMIN_KEY_ENV

__all__ = ["MASK", "MIN_ECHO", "MIN_PART", "Secrets", "has_secret", "redact", "safe_detail"]

#: An OpenAI key ("sk-…", "sk-proj-…", "sk-svcacct-…"), in any case. A job resumed by another process
#: has no record of its api_key (the history never keeps it), so an echo of it can only be caught by shape.
_OPENAI_KEY = re.compile(r"\bsk-[A-Za-z0-9][A-Za-z0-9_-]{15,}", re.IGNORECASE)
MASK = "**********"
#: The shortest half of a ``key_id:key_secret`` fal key that is masked on its own: shorter ones are
#: too likely to be ordinary words, and are still caught inside any longer echo (below).
MIN_PART = 8
#: The shortest run of any secret that is masked wherever it shows up: a service that truncates or
#: slices a key ("sk-proj-0pena…") still gives away that much of it. 12 characters of a random key
#: are never a coincidence in a sentence, a log line or a URL.
MIN_ECHO = 12


def _lower(text: str) -> str:
    """``text`` lower-cased letter by letter, keeping every index: a few letters (``İ``) lower to two
    characters, and the spans found in the copy must fit the original."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)


@dataclass(frozen=True)
class _Masker:
    """What to look for, built once per set of secrets: every part, and every run of MIN_ECHO."""

    #: lower-cased parts masked wherever they occur: each whole secret, each half of a fal key
    parts: tuple[str, ...]
    #: every MIN_ECHO-character run of every secret, lower-cased
    runs: frozenset[str]

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where in ``text`` a secret or a part of one is, merged into non-overlapping spans."""
        if not text or (not self.parts and not self.runs):
            return []
        low = _lower(text)
        found: list[tuple[int, int]] = []
        for part in self.parts:
            at = low.find(part)
            while at != -1:
                found.append((at, at + len(part)))
                at = low.find(part, at + 1)
        if self.runs:
            runs = self.runs
            for at in range(len(low) - MIN_ECHO + 1):
                if low[at : at + MIN_ECHO] in runs:
                    found.append((at, at + MIN_ECHO))
        found.sort()
        merged: list[tuple[int, int]] = []
        for start, end in found:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged


@functools.lru_cache(maxsize=128)
def _masker(secrets: tuple[str, ...]) -> _Masker:
    parts: set[str] = set()
    runs: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        low = _lower(secret)
        parts.add(low)
        # fal's "key_id:key_secret": the secret half alone is as good as the key; the id half
        # names the key's owner. Either is masked when long enough to be more than a word.
        parts.update(half for half in low.split(":") if len(half) >= MIN_PART)
        runs.update(low[at : at + MIN_ECHO] for at in range(len(low) - MIN_ECHO + 1))
    # Longest first, so that a whole key is found before its halves (the spans are merged anyway).
    return _Masker(tuple(sorted(parts, key=len, reverse=True)), frozenset(runs))


def _mask_text(text: str, secrets: tuple[str, ...]) -> str:
    spans = _masker(secrets).spans(text)
    if spans:
        pieces: list[str] = []
        last = 0
        for start, end in spans:
            pieces += (text[last:start], MASK)
            last = end
        pieces.append(text[last:])
        text = "".join(pieces)
    return _OPENAI_KEY.sub(MASK, text) if "sk-" in text.lower() else text


def has_secret(text: str, secrets: tuple[str, ...]) -> bool:
    """Whether :func:`redact` would change ``text``: a secret, a part of one, or an OpenAI key's shape."""
    return "sk-" in text.lower() or bool(_masker(tuple(secrets)).spans(text))


def redact(value: Any, secrets: tuple[str, ...]) -> Any:
    """``value`` (a string, or JSON made of dicts and lists) with every secret masked: the whole
    secret, each half of a fal key, any run of ``MIN_ECHO`` characters of one, in any letter case;
    and anything shaped like an OpenAI key. Dict keys too: a service may echo anything anywhere."""
    if isinstance(value, str):
        return _mask_text(value, tuple(secrets))
    if isinstance(value, Mapping):
        return {redact(k, secrets): redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    return value


def safe_detail(body: Any) -> Any:
    """The error body without the echoed ``input`` fal puts in 422 items (it can hold the api_key)."""
    if isinstance(body, Mapping):
        out = {k: v for k, v in body.items() if k != "input"}
        if isinstance(out.get("detail"), list):
            out["detail"] = [
                {k: v for k, v in item.items() if k not in ("input", "ctx")} if isinstance(item, Mapping) else item
                for item in out["detail"]
            ]
        return out
    return body


class Secrets:
    """One client's secrets: its fal key, and the ``api_key`` of each job it submitted.

    Only this client's jobs: a job resumed in a new process has no record of its key (the history
    does not keep it), so there only the key's shape is caught.
    """

    def __init__(self, key: SecretStr | None) -> None:
        self.key = key
        self._jobs: dict[str, tuple[str, ...]] = {}

    def remember(self, request_id: str, secrets: tuple[str, ...]) -> None:
        if secrets:
            self._jobs[request_id] = secrets

    def of_job(self, request_id: str) -> tuple[str, ...]:
        """The job's own secrets (without the fal key)."""
        return self._jobs.get(request_id, ())

    def every(self, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
        """The fal key, ``FAL_ADMIN_KEY`` (when set) and ``extra``, the empty ones left out."""
        every = (self.key.get_secret_value(), *extra) if self.key is not None else extra
        # The admin key is never sent by the queue client, but a user may have pasted it as
        # FAL_KEY too, and a service that echoes one key may echo the other: masked either way.
        admin = os.environ.get(ADMIN_KEY_ENV, "").strip()
        return tuple(secret for secret in (*every, admin) if secret)

    def scrub(self, text: str, extra: tuple[str, ...] = ()) -> str:
        """Belt and braces: a service that echoes a key back (the fal key, or the job's own OpenAI
        ``api_key``: "Incorrect API key provided: sk-…") must not put it in our messages."""
        redacted: str = redact(text, self.every(extra))
        return redacted[:500]

    def scrub_detail(self, body: Any, extra: tuple[str, ...]) -> Any:
        return redact(safe_detail(body), self.every(extra))

    def scrub_json(self, data: Any, extra: tuple[str, ...]) -> Any:
        return redact(data, self.every(extra))
