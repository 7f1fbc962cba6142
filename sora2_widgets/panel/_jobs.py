"""Job state for the panel's cards, and the background event loop the jobs run on.

A :class:`JobState` is plain data plus observers; the card view (``_cards.py``)
redraws from it. It is mutated from the background loop's thread, so observers
run on that thread too: ipywidgets (ipykernel 6+) accepts state updates from any
thread, and the kernel stays free to run other cells while videos render.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import re
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .._catalog import ModelSpec

__all__ = ["BackgroundLoop", "JobState", "JobStatus"]

log = logging.getLogger("sora2_widgets.panel")

#: Generator stages and fal queue states → what the card says. Final stages are left to the
#: job's own end (complete/fail/cancelled), which carries the facts.
_STAGES = {
    "SUBMITTED": "Submitting",
    "IN_QUEUE": "In queue",
    "IN_PROGRESS": "Generating",
    "COMPLETED": "Saving",
    "DOWNLOADING": "Saving",
}
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*%")
_ids = itertools.count(1)


class JobStatus:
    """The card's status words (what the user reads), not fal's raw states."""

    STARTING = "Starting"
    SUBMITTING = "Submitting"
    QUEUED = "In queue"
    RUNNING = "Generating"
    SAVING = "Saving"
    DONE = "Done"
    FAILED = "Failed"
    CANCELLING = "Cancelling"
    CANCELLED = "Cancelled"

    FINAL = frozenset({DONE, FAILED, CANCELLED})


def _attr(obj: Any, *names: str) -> Any:
    """The first present, non-None attribute (or mapping key) of ``obj`` among ``names``."""
    for name in names:
        value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
        if value is not None:
            return value
    return None


@dataclass
class JobState:
    """Everything one card shows. Mutated only through its methods, which notify observers."""

    spec: ModelSpec
    params: dict[str, Any]
    id: int = field(default_factory=lambda: next(_ids))
    status: str = JobStatus.STARTING
    queue_position: int | None = None
    started_at: float = field(default_factory=time.monotonic)
    finished_at: float | None = None
    request_id: str | None = None
    last_log: str = ""
    progress: float = 0.0
    error_title: str | None = None
    error_message: str | None = None
    # Result facts, filled on completion.
    url: str | None = None
    local_path: Path | None = None
    size: int | None = None
    video_id: str | None = None
    cost: Decimal | None = None
    history_id: Any = None
    kept: bool = False
    _observers: list[Callable[[JobState], None]] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- observers ------------------------------------------------------------------------
    def observe(self, callback: Callable[[JobState], None]) -> None:
        self._observers.append(callback)

    def _notify(self) -> None:
        for callback in list(self._observers):
            try:
                callback(self)
            except Exception:  # a broken view must not kill the job that pays for the video
                log.exception("job card observer failed")

    # -- derived --------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.status in JobStatus.FINAL

    @property
    def elapsed(self) -> float:
        end = self.finished_at if self.finished_at is not None else time.monotonic()
        return max(0.0, end - self.started_at)

    @property
    def wants_keep(self) -> bool:
        return self.params.get("delete_video") is False

    # -- transitions (called from the background loop) ------------------------------------
    def tick(self) -> None:
        """Refresh elapsed time and the estimated progress while nothing else happens."""
        if not self.done:
            self._estimate_progress()
            self._notify()

    def apply_update(self, update: Any) -> None:
        """Take a generator ``Progress`` (stage, history_id, …) or a client ``QueueUpdate`` (status, …)."""
        if self.done:
            return
        raw = str(_attr(update, "stage", "status") or "").upper()
        status = _STAGES.get(raw)
        if status is not None and self.status != JobStatus.CANCELLING:
            self.status = status
        self.queue_position = _attr(update, "queue_position") if raw == "IN_QUEUE" else None
        self.request_id = _attr(update, "request_id") or self.request_id
        self.history_id = _attr(update, "history_id") or self.history_id
        logs = _attr(update, "logs") or ()
        if logs:
            last = logs[-1]
            self.last_log = str(_attr(last, "message") or last)
        self._estimate_progress()
        self._notify()

    def _estimate_progress(self) -> float:
        # fal reports no progress number; a percentage in the latest log line wins, else an honest guess
        # from the state and the time spent (never reaching 100% before the result is there).
        match = _PERCENT.search(self.last_log)
        if match:
            self.progress = max(self.progress, min(float(match.group(1)) / 100.0, 0.99))
        elif self.status in (JobStatus.QUEUED, JobStatus.STARTING, JobStatus.SUBMITTING):
            self.progress = max(self.progress, 0.03)
        elif self.status == JobStatus.RUNNING:
            expected = 30.0 + 6.0 * float(self.params.get("duration") or 8)
            self.progress = max(self.progress, min(0.1 + 0.85 * self.elapsed / expected, 0.95))
        elif self.status == JobStatus.SAVING:
            self.progress = max(self.progress, 0.97)
        return self.progress

    def complete(self, generation: Any) -> None:
        """Take a finished ``Generation`` (duck-typed: url, local_path, video_id, cost, history_id)."""
        self.url = _attr(generation, "url")
        path = _attr(generation, "local_path")
        self.local_path = Path(path) if path is not None else None
        self.video_id = _attr(generation, "video_id")
        cost = _attr(generation, "cost")
        self.cost = Decimal(str(cost)) if cost is not None else None
        self.history_id = _attr(generation, "history_id")
        self.request_id = _attr(generation, "request_id") or self.request_id
        size = _attr(generation, "size", "file_size")
        if size is None:
            result = _attr(generation, "result")
            size = _attr(result, "file_size") if result is not None else None
        if size is None and self.local_path is not None and self.local_path.exists():
            size = self.local_path.stat().st_size
        self.size = int(size) if size is not None else None
        # Remixable only if a Sora video was kept on the service and we know its id.
        self.kept = self.spec.is_sora and self.wants_keep and bool(self.video_id)
        self.status = JobStatus.DONE
        self.progress = 1.0
        self.queue_position = None
        self.finished_at = time.monotonic()
        self._notify()

    def fail(self, title: str, message: str) -> None:
        self.status = JobStatus.FAILED
        self.error_title = title
        self.error_message = message
        self.queue_position = None
        self.finished_at = time.monotonic()
        self._notify()

    def cancelling(self) -> None:
        if not self.done:
            self.status = JobStatus.CANCELLING
            self._notify()

    def cancelled(self, message: str | None = None) -> None:
        self.status = JobStatus.CANCELLED
        self.error_title = "Cancelled"
        self.error_message = message or "The job was cancelled on the service; cancelled jobs are recorded at $0."
        self.queue_position = None
        self.finished_at = time.monotonic()
        self._notify()


class BackgroundLoop:
    """A private asyncio loop on a daemon thread: jobs run there, so the kernel stays responsive.

    Jupyter's own loop belongs to the kernel; blocking it (or nesting into it) would freeze other
    cells. Coroutines are handed over with ``run_coroutine_threadsafe``; cancelling the returned
    future cancels the task on the loop.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._thread is None or not self._thread.is_alive():
                ready = threading.Event()
                loop = asyncio.new_event_loop()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    ready.set()
                    loop.run_forever()

                self._thread = threading.Thread(target=run, name="sora2-widgets-panel", daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call_soon(self, fn: Callable[[], None]) -> None:
        self.loop.call_soon_threadsafe(fn)

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=5)
        if loop is not None and not loop.is_running():
            loop.close()
