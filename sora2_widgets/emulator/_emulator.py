"""The emulator object: its state, request counters and fault decisions, and its jobs' renders,
cancels and expiry.

The HTTP surface lives in :mod:`._app`, job intake in :mod:`._intake`, the options and fault
switches in :mod:`._options`; this module holds what the handlers share.
Nothing here is bound to an event loop: locks are ``threading`` locks and renders are
``concurrent.futures`` futures, so one instance can serve the in-process transport in
several event loops (e.g. a Jupyter kernel's loop and the sync client's private loop)
and a uvicorn server thread at the same time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from PIL import Image

from .._catalog import MODELS, ModelSpec
from .._config import data_dir
from .._schemas import ModelInput
from ..catalog._billing import audio_of
from . import _intake
from ._jobs import JobError, JobRecord, JobStore, Retention, Snapshot, snapshot
from ._options import (
    DEFAULT_BASE_URL,
    DEFAULT_PROGRESS_TIME,
    DEFAULT_QUEUE_DELAY,
    DEFAULT_QUEUE_DEPTH,
    SORA_FPS,
    STAT_KINDS,
    Faults,
    PlatformSwitches,
)
from ._queue import WaitingLine
from ._render import render_video
from ._storage import Storage
from ._webhooks import DEFAULT_RETRIES, DEFAULT_RETRY_BASE, DEFAULT_TIMEOUT, WebhookSender

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_PROGRESS_TIME",
    "DEFAULT_QUEUE_DELAY",
    "DEFAULT_QUEUE_DEPTH",
    "STAT_KINDS",
    "Emulator",
    "Faults",
    "Retention",
    "default_emulator",
]

log = logging.getLogger("sora2_widgets.emulator")


class Emulator:
    """fal's queue API for every catalog model, offline, with real MP4s and fault switches.

    Timings: a job waits ``queue_delay`` seconds IN_QUEUE (its position falls from
    ``queue_depth`` to 0 in equal steps, the last step at 0, plus one for each of this emulator's jobs
    of the same app still waiting ahead of it; see ``_queue.py``), then is IN_PROGRESS for
    ``progress_time`` seconds, then COMPLETED once its video is rendered (rendering starts at submit, in a thread pool).

    Auth: with ``require_key=None`` any ``Authorization: Key …`` header is accepted, and so
    is none at all — the in-process default client has no key to send. With
    ``require_key="…"`` every queue/run/storage call must send exactly ``Authorization: Key <that>``
    (CDN uploads: a ``Bearer`` token from ``/storage/auth/token``) or gets 401 ``{"detail": ...}``
    (the key is never echoed). Media and uploaded files need no key, like fal's CDN.

    Like fal, a queue submit whose body fails the model's schema is accepted: the job completes
    with ``error``/``error_type`` and its result URL answers 422 ``{"detail": [...]}``.
    ``reject_invalid_at_submit=True`` answers the 422 on the submit instead (not fal's behaviour).

    ``retention``: ``None`` (default) keeps results and media for ever; ``Retention()`` expires
    them as fal does (results 1 h after completion, 6 min when 10 KB or larger), and shorter
    :class:`Retention` times make tests quick. ``webhook_retries``/``webhook_retry_base``/
    ``webhook_timeout``: see :mod:`._webhooks` (fal: 10 retries over 2 hours).
    """

    def __init__(
        self,
        *,
        state_dir: str | os.PathLike[str] | None = None,
        queue_delay: float = DEFAULT_QUEUE_DELAY,
        progress_time: float = DEFAULT_PROGRESS_TIME,
        queue_depth: int = DEFAULT_QUEUE_DEPTH,
        require_key: str | None = None,
        latency: float = 0.0,
        fail_submits: int = 0,
        retry_after: float = 1.0,
        status_error_rate: float = 0.0,
        status_error_code: int = 503,
        drop_streams: int = 0,
        drop_stream_after: int = 1,
        drop_submit_answers: int = 0,
        truncate_downloads: int = 0,
        slow_result: float = 0.0,
        retired: Iterable[str] = (),
        retired_status: int = 410,
        seed: int | None = None,
        fps: int = SORA_FPS,
        render_workers: int | None = None,
        base_url: str = DEFAULT_BASE_URL,
        retention: Retention | None = None,
        reject_invalid_at_submit: bool = False,
        webhook_retries: int = DEFAULT_RETRIES,
        webhook_retry_base: float = DEFAULT_RETRY_BASE,
        webhook_timeout: float = DEFAULT_TIMEOUT,
        platform: PlatformSwitches | None = None,
    ) -> None:
        if queue_delay < 0 or progress_time < 0:
            raise ValueError("queue_delay and progress_time must not be negative")
        if queue_depth < 0:
            raise ValueError("queue_depth must not be negative")
        self.state_dir = Path(state_dir) if state_dir is not None else data_dir() / "emulator"
        self.store = JobStore(self.state_dir)
        self.storage = Storage(self.state_dir / "storage")
        self.retention = retention
        self.reject_invalid_at_submit = bool(reject_invalid_at_submit)
        self.webhooks = WebhookSender(
            self, retries=webhook_retries, retry_base=webhook_retry_base, timeout=webhook_timeout
        )
        #: Local ports served as fal's *run* host (``fal.run``): a ``POST /{endpoint}`` there answers
        #: synchronously. :func:`~sora2_widgets.emulator.serving` registers its second port here.
        self.run_ports: set[int] = set()
        self.queue_delay = float(queue_delay)
        self.progress_time = float(progress_time)
        self.queue_depth = int(queue_depth)
        #: This emulator's jobs still in the queue, per app: who is ahead of a new one.
        self.waiting = WaitingLine()
        self.fps = int(fps)
        self.base_url = base_url.rstrip("/")
        self._require_key = require_key
        self.faults = Faults(
            latency=latency,
            fail_submits=fail_submits,
            retry_after=retry_after,
            status_error_rate=status_error_rate,
            status_error_code=status_error_code,
            drop_streams=drop_streams,
            drop_stream_after=drop_stream_after,
            drop_submit_answers=drop_submit_answers,
            truncate_downloads=truncate_downloads,
            slow_result=slow_result,
            retired=frozenset(retired),
            retired_status=retired_status,
        )
        #: The Platform API's switches (admin keys, billing lag, prices, deprecated and gone endpoints).
        self.platform = platform if platform is not None else PlatformSwitches()
        # One seeded generator for ids and fault decisions: the same seed replays the same run.
        self._rng = random.Random(seed)  # noqa: S311 - reproducibility, not secrecy
        self._lock = threading.Lock()
        self._stats = dict.fromkeys(STAT_KINDS, 0)
        workers = render_workers or max(1, min(4, os.cpu_count() or 1))
        self._executor = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="sora2-emulator-render")
        self._renders: dict[str, concurrent.futures.Future[None]] = {}
        self._app: Starlette | None = None

    def __repr__(self) -> str:
        keyed = ", require_key=set" if self._require_key else ""
        return f"Emulator(state_dir={str(self.state_dir)!r}, base_url={self.base_url!r}{keyed})"

    # -- public surface ---------------------------------------------------------------------
    @property
    def app(self) -> Starlette:
        """The ASGI application (serve it with uvicorn, or use :meth:`transport`)."""
        if self._app is None:
            from ._app import build_app

            self._app = build_app(self)
        return self._app

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport running the app in the caller's event loop, streaming bodies."""
        from ._transport import StreamingASGITransport

        return StreamingASGITransport(self.app)

    @property
    def queue_url(self) -> str:
        return self.base_url

    @property
    def run_url(self) -> str:
        return self.base_url + "/run"

    @property
    def stats(self) -> dict[str, int]:
        """Requests seen per route kind (a copy): submits, status, stream, result, cancel, media, run.

        Every request counts, including those a fault switch refused.
        """
        with self._lock:
            return dict(self._stats)

    def reset_stats(self) -> None:
        with self._lock:
            self._stats = dict.fromkeys(STAT_KINDS, 0)

    def close(self, timeout: float = 120.0) -> None:
        """Stop the webhook sender and the render pool, waiting up to ``timeout`` s for renders in flight.

        Waits on the renders themselves, not on the pool's idle threads: joining an idle worker was
        seen to block a whole test run at teardown, and an idle thread has nothing to finish."""
        self.webhooks.close()
        with self._lock:
            running = [f for f in self._renders.values() if not f.done()]
        self._executor.shutdown(wait=False, cancel_futures=False)
        _done, late = concurrent.futures.wait(running, timeout=timeout)
        if late:
            log.warning("emulator: %d render(s) still running at close after %.0f s", len(late), timeout)

    # -- helpers for the app ----------------------------------------------------------------
    def count(self, kind: str) -> None:
        with self._lock:
            self._stats[kind] += 1

    def key_ok(self, authorization: str | None) -> bool:
        if self._require_key is None:
            return True
        return authorization == f"Key {self._require_key}"

    def take(self, counter: str) -> bool:
        """Consume one unit of a counted fault (``fail_submits``, ``drop_streams``, ...)."""
        with self._lock:
            left = int(getattr(self.faults, counter))
            if left <= 0:
                return False
            setattr(self.faults, counter, left - 1)
            return True

    def roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def spec_for(self, endpoint: str) -> ModelSpec | None:
        return _ENDPOINTS.get(endpoint.strip("/"))

    # -- jobs -------------------------------------------------------------------------------
    def new_ids(self, *, video: bool = False) -> tuple[str, str | None]:
        """A new request id (and, for ``video``, a Sora video id), drawn from the seeded generator."""
        with self._lock:
            request_id = self._new_request_id()
            video_id = f"video_{self._rng.getrandbits(128):032x}" if video else None
        return request_id, video_id

    def create_job(
        self,
        spec: ModelSpec,
        inp: ModelInput,
        *,
        base_url: str | None = None,
        webhook_url: str | None = None,
        media_ttl: float | None = None,
    ) -> JobRecord:
        """Record a new job (and start rendering its video). Never holds a secret."""
        return _intake.create_job(self, spec, inp, base_url=base_url, webhook_url=webhook_url, media_ttl=media_ttl)

    def create_failed_job(
        self,
        spec: ModelSpec,
        error: JobError,
        prompt: str = "",
        *,
        base_url: str | None = None,
        webhook_url: str | None = None,
    ) -> JobRecord:
        """A job whose input failed the schema, as fal keeps one (see ``_intake.create_failed_job``)."""
        return _intake.create_failed_job(self, spec, error, prompt, base_url=base_url, webhook_url=webhook_url)

    def _new_request_id(self) -> str:
        # Seeded ids repeat across processes sharing a state_dir: skip ids already on disk.
        while True:
            rid = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            if not self.store.exists(rid):
                return rid

    def load(self, request_id: str) -> JobRecord | None:
        return self.store.load(request_id)

    def snapshot(self, record: JobRecord, now: float | None = None) -> Snapshot:
        """Where ``record`` stands now; kicks off a render if no process is rendering it."""
        now = time.time() if now is None else now
        done_at = record.rendered_at
        if done_at is None and record.error is None and record.cancelled_at is None:
            fut = self.ensure_render(record)
            if fut.done() and not _failed(fut):
                fresh = self.store.load(record.request_id)
                if fresh is not None:
                    record.rendered, record.rendered_at = fresh.rendered, fresh.rendered_at
                    record.error = fresh.error
                    done_at = record.rendered_at
        return snapshot(record, now, done_at)

    def ensure_render(self, record: JobRecord) -> concurrent.futures.Future[None]:
        """The render of ``record`` in this process, started if none is running (or the last failed)."""
        with self._lock:
            fut = self._renders.get(record.request_id)
            if fut is None or _failed(fut):
                fut = self._executor.submit(self._render, replace(record))
                self._renders[record.request_id] = fut
            return fut

    async def ensure_media(self, record: JobRecord) -> JobRecord:
        """Make sure the media files exist (re-render deterministically if they were removed)."""
        paths = [self.store.media_path(record, record.video_file)]
        if record.thumbnail_file:
            paths.append(self.store.media_path(record, record.thumbnail_file))
        if all(p.exists() for p in paths) and record.rendered is not None:
            return record
        with self._lock:
            fut = self._renders.get(record.request_id)
            if fut is None or fut.done():
                fut = self._executor.submit(self._render, replace(record))
                self._renders[record.request_id] = fut
        await asyncio.wrap_future(fut)
        return self.store.load(record.request_id) or record

    def _render(self, record: JobRecord) -> None:
        video = self.store.media_path(record, record.video_file)
        thumb = self.store.media_path(record, record.thumbnail_file) if record.thumbnail_file else None
        started = time.perf_counter()
        try:
            out = render_video(
                video,
                width=record.width,
                height=record.height,
                duration=record.duration,
                fps=record.fps,
                title=record.title,
                subtitle=record.subtitle,
                seed=record.seed,
                thumbnail_path=thumb,
                audio=has_audio(record),
            )
        except Exception:
            log.exception("emulator: rendering %s failed", record.request_id)
            self._update(record.request_id, error=_RENDER_FAILED)
            raise
        facts: dict[str, Any] = {
            "file_size": out.file_size,
            "num_frames": out.num_frames,
            "duration": out.duration,
            "fps": out.fps,
            "audio": out.audio,
            "render_seconds": round(time.perf_counter() - started, 3),
        }
        if thumb is not None:
            with Image.open(thumb) as im:
                facts["thumbnail_width"], facts["thumbnail_height"] = im.size
            facts["thumbnail_size"] = thumb.stat().st_size
        log.debug("emulator rendered %s in %.2f s", record.request_id, facts["render_seconds"])
        self._update(record.request_id, rendered=facts, rendered_at=time.time())

    def update_record(self, request_id: str, **changes: Any) -> None:
        """Change fields of a stored job record (re-read under the lock, then written back)."""
        self._update(request_id, **changes)

    def _update(self, request_id: str, **changes: Any) -> None:
        # Re-read before writing: a cancel may have been saved while the render ran.
        with self._lock:
            current = self.store.load(request_id)
            if current is None:
                return
            if current.rendered_at is not None and "rendered_at" in changes:
                # A re-render (media had been removed) must not move the completion time.
                changes["rendered_at"] = current.rendered_at
            for name, value in changes.items():
                setattr(current, name, value)
        self.store.save(current)

    def cancel(self, record: JobRecord) -> bool:
        """Request cancellation; ``False`` if the job already completed."""
        with self._lock:
            current = self.store.load(record.request_id) or record
            if self.snapshot_unlocked(current).status == "COMPLETED":
                return False
            current.cancelled_at = time.time()
            self.store.save(current)
            self.waiting.leave(current.app_id, current.request_id)
            fut = self._renders.get(record.request_id)
        if fut is not None:
            fut.cancel()  # only stops a render that has not started; a running one just finishes
        if current.webhook_url is not None:
            self.webhooks.schedule(current.request_id, current.cancelled_at)
        return True

    # -- expiry -----------------------------------------------------------------------------
    def result_expired(self, snap: Snapshot, size: int, now: float | None = None) -> bool:
        """Whether a completed request's result is gone (the :class:`Retention` switch)."""
        if self.retention is None or snap.completed_at is None:
            return False
        now = time.time() if now is None else now
        return now >= snap.completed_at + self.retention.result_ttl(size)

    def media_expired(self, record: JobRecord, snap: Snapshot, now: float | None = None) -> bool:
        """Whether a job's media files are gone: the request's own lifecycle header, else the switch."""
        ttl = record.media_ttl
        if ttl is None and self.retention is not None:
            ttl = self.retention.media
        if ttl is None or ttl <= 0 or snap.completed_at is None:  # 0: the request asked for no expiry
            return False
        now = time.time() if now is None else now
        return now >= snap.completed_at + ttl

    def snapshot_unlocked(self, record: JobRecord) -> Snapshot:
        return snapshot(record, time.time(), record.rendered_at)


def _failed(fut: concurrent.futures.Future[None]) -> bool:
    return fut.done() and (fut.cancelled() or fut.exception() is not None)


_ENDPOINTS: dict[str, ModelSpec] = {m.endpoint: m for m in MODELS}


def has_audio(record: JobRecord) -> bool:
    """Whether the job's video has sound: Sora 2's always does (OpenAI's model makes sound); any
    other model's exactly when its validated input says ``generate_audio`` is true. A rule, not a
    list, so a model added to the catalog gets its sound from its own schema."""
    spec = _ENDPOINTS.get(record.endpoint)
    return spec is not None and audio_of(spec.entry, record.params)  # the rule prices use too


_RENDER_FAILED = JobError(
    status_code=500,
    error_type="runner_server_error",
    detail="The emulator could not render the video (simulated service error).",
    message="internal error while rendering",
)


_default: Emulator | None = None
_default_lock = threading.Lock()


#: Environment variables read (once, at first use) by :func:`default_emulator`: seconds a job of the
#: in-process emulator stays IN_QUEUE / IN_PROGRESS. They let a served kernel (Voila, JupyterLab)
#: be slowed down from outside, e.g. so a browser test can cancel a job before it completes.
QUEUE_DELAY_ENV = "SORA2_WIDGETS_EMULATOR_QUEUE_DELAY"
PROGRESS_TIME_ENV = "SORA2_WIDGETS_EMULATOR_PROGRESS_TIME"


def _seconds_from_env(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not value >= 0 or value == float("inf"):  # also refuses NaN
        raise ValueError(f"{name} must be a finite, non-negative number of seconds, got {raw!r}")
    return value


def default_emulator() -> Emulator:
    """The process-wide shared emulator (state under ``data_dir()/emulator``, read at first call).

    Its timings are the :class:`Emulator` defaults unless ``SORA2_WIDGETS_EMULATOR_QUEUE_DELAY`` /
    ``SORA2_WIDGETS_EMULATOR_PROGRESS_TIME`` (seconds) are set.
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = Emulator(
                queue_delay=_seconds_from_env(QUEUE_DELAY_ENV, DEFAULT_QUEUE_DELAY),
                progress_time=_seconds_from_env(PROGRESS_TIME_ENV, DEFAULT_PROGRESS_TIME),
            )
        return _default
