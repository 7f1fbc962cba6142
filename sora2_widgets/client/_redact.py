"""Keys never leave through what the service says: the fal key and each job's own ``api_key``.

A service may echo a key back ("Incorrect API key provided: sk-…") in an error, a log line or a
result. Everything the client passes on from the service goes through :class:`Secrets` first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

__all__ = ["Secrets", "has_secret", "redact", "safe_detail"]

#: An OpenAI key ("sk-…", "sk-proj-…", "sk-svcacct-…"). A job resumed by another process has no
#: record of its api_key (the history never keeps it), so an echo of it can only be caught by shape.
_OPENAI_KEY = re.compile(r"\bsk-[A-Za-z0-9][A-Za-z0-9_-]{15,}")
MASK = "**********"


def has_secret(text: str, secrets: tuple[str, ...]) -> bool:
    return "sk-" in text or any(secret in text for secret in secrets)


def redact(value: Any, secrets: tuple[str, ...]) -> Any:
    """``value`` (a string, or JSON made of dicts and lists) with every secret replaced, and
    anything shaped like an OpenAI key."""
    if isinstance(value, str):
        for secret in secrets:
            if secret:
                value = value.replace(secret, MASK)
        return _OPENAI_KEY.sub(MASK, value) if "sk-" in value else value
    if isinstance(value, Mapping):
        return {k: redact(v, secrets) for k, v in value.items()}
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
        """The fal key and ``extra``, the empty ones left out."""
        every = (self.key.get_secret_value(), *extra) if self.key is not None else extra
        return tuple(secret for secret in every if secret)

    def scrub(self, text: str, extra: tuple[str, ...] = ()) -> str:
        """Belt and braces: a service that echoes a key back (the fal key, or the job's own OpenAI
        ``api_key``: "Incorrect API key provided: sk-…") must not put it in our messages."""
        redacted: str = redact(text, self.every(extra))
        return redacted[:500]

    def scrub_detail(self, body: Any, extra: tuple[str, ...]) -> Any:
        return redact(safe_detail(body), self.every(extra))

    def scrub_json(self, data: Any, extra: tuple[str, ...]) -> Any:
        return redact(data, self.every(extra))
