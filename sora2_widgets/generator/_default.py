"""``sw.generate`` and ``sw.generate_many``: one lazily made default Generator per process."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from ._generation import Generation, OnUpdate
from ._generator import Generator
from ._prepare import JobSpec

_default: Generator | None = None
_default_lock = threading.Lock()


def default_generator() -> Generator:
    """The process's default Generator (default client and history), made on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Generator()
        return _default


def generate(model_id: str, *, on_update: OnUpdate | None = None, **params: Any) -> Generation:
    """Generate one video with the default client and history; see :meth:`Generator.generate`."""
    return default_generator().generate(model_id, on_update=on_update, **params)


def generate_many(jobs: Iterable[JobSpec], *, on_update: OnUpdate | None = None) -> list[Generation]:
    """Several videos concurrently with the default generator; see :meth:`Generator.generate_many`."""
    return default_generator().generate_many(jobs, on_update=on_update)
