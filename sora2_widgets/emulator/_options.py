"""The emulator's options: its default timings and base URL, the counted route kinds, and the fault switches."""

from __future__ import annotations

from dataclasses import dataclass

from .._catalog import get_model

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_PROGRESS_TIME",
    "DEFAULT_QUEUE_DELAY",
    "DEFAULT_QUEUE_DEPTH",
    "KLING_FPS",
    "SORA_FPS",
    "STAT_KINDS",
    "Faults",
]

#: Base URL of the in-process emulator (``.invalid`` can never resolve, so nothing leaks to a network).
DEFAULT_BASE_URL = "http://emulator.sora2-widgets.invalid"
#: Route kinds counted in :attr:`Emulator.stats`.
STAT_KINDS = ("submits", "status", "stream", "result", "cancel", "media", "run", "upload", "files", "proxy", "webhook")
SORA_FPS = 24
#: Seconds a job stays IN_QUEUE, then IN_PROGRESS, unless configured (see :func:`default_emulator`).
DEFAULT_QUEUE_DELAY = 0.4
DEFAULT_PROGRESS_TIME = 1.0
#: Jobs "ahead" of each new job: its queue position falls 2 → 1 → 0 within the queue delay, so the
#: first thing a new user sees is what fal shows (IN_QUEUE, a falling position), at no extra wait.
DEFAULT_QUEUE_DEPTH = 2
KLING_FPS = 24


@dataclass
class Faults:
    """Fault switches. Mutable at run time (``emu.faults.fail_submits = 2``); counters are consumed.

    * ``latency``: seconds added before every response.
    * ``fail_submits``: the next N submits (queue and ``/run``) answer 429 with ``Retry-After: retry_after``.
    * ``status_error_rate``: fraction (0–1) of status polls answered ``status_error_code`` (5xx).
    * ``drop_streams``: the next N status streams (SSE) are cut after ``drop_stream_after`` events
      (default 1), before COMPLETED: the connection drops mid-body (no clean end), so the client must
      reconnect or poll. A later cut lets a test check that lines sent before it are not shown twice.
    * ``truncate_downloads``: the next N result/media bodies stop half-way and the connection is cut.
    * ``slow_result``: seconds to wait before answering a result (and the synchronous ``/run``).
    * ``retired``: endpoints answered with ``retired_status`` (404 or 410) "no longer available".
    """

    latency: float = 0.0
    fail_submits: int = 0
    retry_after: float = 1.0
    status_error_rate: float = 0.0
    status_error_code: int = 503
    drop_streams: int = 0
    drop_stream_after: int = 1
    truncate_downloads: int = 0
    slow_result: float = 0.0
    retired: frozenset[str] = frozenset()
    retired_status: int = 410

    def __post_init__(self) -> None:
        if not 0.0 <= self.status_error_rate <= 1.0:
            raise ValueError(f"status_error_rate must be between 0 and 1, got {self.status_error_rate}")
        if not 500 <= self.status_error_code <= 599:
            raise ValueError(f"status_error_code must be a 5xx code, got {self.status_error_code}")
        if self.retired_status not in (404, 410):
            raise ValueError(f"retired_status must be 404 or 410, got {self.retired_status}")
        after = self.drop_stream_after
        if isinstance(after, bool) or not isinstance(after, int) or after < 1:
            raise ValueError(f"drop_stream_after must be a whole number of events, 1 or more, got {after!r}")
        for name in ("latency", "retry_after", "slow_result"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        # Accept model ids as well as endpoints; store endpoints (what the URL carries).
        self.retired = frozenset(get_model(m).endpoint for m in self.retired)
