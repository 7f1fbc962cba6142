"""The panel's jobs: each job's state (what its card shows) and the runner that starts, cancels
and waits on them on the panel's own loop thread.

A :class:`JobState` is plain data plus observers; the card view (``_cards.py``) redraws from it.
It is mutated from the loop thread, so observers run on that thread too: ipywidgets (ipykernel 6+)
accepts state updates from any thread, and the kernel stays free to run other cells while videos
render.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .._catalog import ModelSpec
from .._errors import JobCancelledError, ModelUnavailableError, Sora2Error
from .._sync import LoopThread
from ..generator import Generation, Progress
from ._protocols import GeneratorLike

__all__ = ["JobRunner", "JobState", "JobStatus"]

log = logging.getLogger("sora2_widgets.panel")

#: The generator's progress stages → what the card says. Final stages are left to the job's own
#: end (complete/fail/cancelled), which carries the facts.
_STAGES = {
    "uploading": "Uploading",
    "submitted": "Submitting",
    "in_queue": "In queue",
    "in_progress": "Generating",
    "completed": "Saving",
    "downloading": "Saving",
}
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*%")


def _guess_seconds(duration: object) -> float:
    """A job's length for the progress guess: 8, "10" and "8s" alike; "auto" or none count as 8 s."""
    try:
        return float(str(duration).removesuffix("s"))
    except ValueError:
        return 8.0


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
    history_id: int | None = None
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

    def apply_update(self, update: Progress) -> None:
        """Take a sign of life from the generator (its stage, history row, queue position, logs)."""
        if self.done:
            return
        status = _STAGES.get(update.stage)
        if status is not None and self.status != JobStatus.CANCELLING:
            self.status = status
        self.queue_position = update.queue_position if update.stage == "in_queue" else None
        self.request_id = update.request_id or self.request_id
        self.history_id = update.history_id or self.history_id
        if update.logs:
            self.last_log = str(update.logs[-1].message)
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
            expected = 30.0 + 6.0 * _guess_seconds(self.params.get("duration"))
            self.progress = max(self.progress, min(0.1 + 0.85 * self.elapsed / expected, 0.95))
        elif self.status == JobStatus.SAVING:
            self.progress = max(self.progress, 0.97)
        return self.progress

    def complete(self, generation: Generation) -> None:
        """Take the finished job's :class:`Generation` (url, local file, video id, cost, history row)."""
        self.url = generation.url
        self.local_path = generation.local_path
        self.video_id = generation.video_id
        self.cost = generation.cost
        self.history_id = generation.history_id
        self.request_id = generation.request_id or self.request_id
        size = generation.result.file_size if generation.result is not None else None
        if size is None and self.local_path is not None and self.local_path.exists():
            size = self.local_path.stat().st_size
        self.size = size
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


class JobRunner:
    """Starts, cancels and waits on the panel's jobs, each on the panel's own loop thread.

    Jupyter's loop belongs to the kernel; blocking it (or nesting into it) would freeze other
    cells, so jobs run on a :class:`LoopThread`, and cancelling a job's future cancels its task.
    Per running job the runner keeps the generator it runs on (a key change must not cut it off)
    and its high estimate, which counts against the budget from the click until the job ends.
    """

    def __init__(
        self,
        loop: LoopThread | None = None,
        *,
        on_unavailable: Callable[[str], None],
        on_end: Callable[[JobState, GeneratorLike], Awaitable[None]],
    ) -> None:
        self._loop = loop or LoopThread("sora2-widgets-panel")
        self._on_unavailable = on_unavailable
        self._on_end = on_end
        self._futures: dict[int, concurrent.futures.Future[None]] = {}
        self._generators: dict[int, GeneratorLike] = {}
        self._reserved: dict[int, Decimal] = {}

    # -- what the running jobs hold ---------------------------------------------------------
    def reserve(self, job: JobState, generator: GeneratorLike, high: Decimal) -> None:
        """Count ``high`` against the budget and tie ``job`` to ``generator``, before it starts."""
        self._reserved[job.id] = high
        self._generators[job.id] = generator

    def reserved(self, job_ids: Iterable[int]) -> Decimal:
        """The high estimates held by these (running) jobs."""
        return sum((self._reserved.get(j, Decimal(0)) for j in job_ids), Decimal(0))

    def generators(self) -> list[GeneratorLike]:
        """The generators that running jobs run on (a replaced one stays until its last job ends)."""
        return list(self._generators.values())

    def runs_on(self, generator: GeneratorLike) -> bool:
        return any(g is generator for g in self._generators.values())

    # -- start / cancel / wait ------------------------------------------------------------
    def submit(self, job: JobState) -> None:
        """Start a reserved job on the loop thread."""
        self._futures[job.id] = self._loop.submit(self._run(job))

    async def _run(self, job: JobState) -> None:
        generator = self._generators[job.id]

        async def ticker() -> None:
            while True:
                await asyncio.sleep(1.0)
                job.tick()

        tick = asyncio.ensure_future(ticker())
        try:
            job.complete(await generator.agenerate(job.spec.id, on_update=job.apply_update, **job.params))
        except asyncio.CancelledError:
            job.cancelled()
            raise
        except JobCancelledError as exc:
            job.cancelled(exc.message)
        except Sora2Error as exc:
            self._failed(job, exc)
        except Exception as exc:
            # Never a traceback on a card: a plain sentence there, the details in the log.
            log.exception("job %s (%s) failed unexpectedly", job.id, job.spec.id)
            job.fail("Unexpected error", f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        finally:
            tick.cancel()
            self._futures.pop(job.id, None)
            self._reserved.pop(job.id, None)
            self._generators.pop(job.id, None)
            await self._on_end(job, generator)

    def _failed(self, job: JobState, exc: Sora2Error) -> None:
        if job.status == JobStatus.CANCELLING:
            # The user asked to cancel and the job then ended without a video: that is the
            # cancellation they asked for, whatever words the service used for it.
            job.cancelled(f"{exc.title}: {exc.message}")
            return
        if isinstance(exc, ModelUnavailableError):
            self._on_unavailable(job.spec.id)
        job.fail(exc.title, exc.message)

    def cancel(self, job: JobState, generator: GeneratorLike | None) -> bool:
        """Cancel a running job on the service. False if it already finished.

        Once the job has a history row, ``generator.acancel(history_id)`` cancels it on the
        service and the job ends as cancelled (and is recorded so). Before that (still submitting),
        the task is cancelled: the generator then records what the submit did and cancels the job.
        """
        future = self._futures.get(job.id)
        if job.done or future is None:
            return False
        job.cancelling()
        if job.history_id is not None and generator is not None:
            history_id = job.history_id

            async def ask() -> None:
                try:
                    accepted = await generator.acancel(history_id)
                except Exception:
                    log.exception("cancel of history row %s failed; cancelling the task", history_id)
                    accepted = False
                if not accepted and not job.done:
                    future.cancel()

            self._loop.submit(ask())
        else:
            future.cancel()
        return True

    def wait(self, timeout: float | None = None) -> None:
        """Block until every running job finished (for tests and scripts, not for notebook cells)."""
        pending = list(self._futures.values())
        if pending:
            concurrent.futures.wait(pending, timeout=timeout)

    def close(self) -> None:
        """Cancel the running jobs and stop the loop thread."""
        for future in list(self._futures.values()):
            future.cancel()
        self._loop.close()
        self._generators.clear()
