"""Offline emulator of fal.ai's queue API for every catalog model (simulated results, real MP4s).

* :class:`Emulator` — the ASGI app (``emu.app``), an in-process streaming httpx transport
  (``emu.transport()``), fault switches (``emu.faults``) and request counters (``emu.stats``).
* :func:`default_emulator` — the process-wide instance the client uses when there is no fal key.
* :func:`serve` / :func:`main` — uvicorn on loopback (``python -m sora2_widgets.emulator --port 8765``).
* :func:`running_emulator` / :func:`serving` — context managers for tests: a server thread on free
  loopback ports (``serving`` also gives the port that answers as fal's run host).
* :class:`Retention` — the expiry switch (results and media expire as on fal).
"""

from __future__ import annotations

from ._emulator import DEFAULT_BASE_URL, STAT_KINDS, Emulator, Faults, default_emulator
from ._jobs import Retention
from ._serve import Served, main, running_emulator, serve, serving, usage_hint
from ._transport import StreamingASGITransport

__all__ = [
    "DEFAULT_BASE_URL",
    "STAT_KINDS",
    "Emulator",
    "Faults",
    "Retention",
    "Served",
    "StreamingASGITransport",
    "default_emulator",
    "main",
    "running_emulator",
    "serve",
    "serving",
    "usage_hint",
]
