"""The emulator object: options, fault switches, counters, job creation and rendering.

The HTTP surface lives in :mod:`._app`; this module holds what the handlers share.
Nothing here is bound to an event loop: locks are ``threading`` locks and renders are
``concurrent.futures`` futures, so one instance can serve the in-process transport in
several event loops (e.g. a Jupyter kernel's loop and the sync client's private loop)
and a uvicorn server thread at the same time.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
import io
import logging
import os
import random
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from PIL import Image, UnidentifiedImageError

from .._catalog import MODELS, ModelSpec, get_model
from .._config import data_dir
from .._schemas import ModelInput
from ._jobs import JobError, JobRecord, JobStore, Retention, Snapshot, snapshot
from ._render import dimensions, render_video
from ._storage import Storage
from ._webhooks import DEFAULT_RETRIES, DEFAULT_RETRY_BASE, DEFAULT_TIMEOUT, WebhookSender

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_QUEUE_DEPTH",
    "STAT_KINDS",
    "Emulator",
    "Faults",
    "Retention",
    "default_emulator",
]

log = logging.getLogger("sora2_widgets.emulator")

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
    * ``drop_streams``: the next N status streams (SSE) are cut after their first event, before
      COMPLETED: the connection drops mid-body (no clean end), so the client must reconnect or poll.
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
        for name in ("latency", "retry_after", "slow_result"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        # Accept model ids as well as endpoints; store endpoints (what the URL carries).
        self.retired = frozenset(get_model(m).endpoint for m in self.retired)


@dataclass(frozen=True)
class _Size:
    resolution: str
    aspect_ratio: str
    notes: tuple[str, ...] = field(default=())


class Emulator:
    """fal's queue API for every catalog model, offline, with real MP4s and fault switches.

    Timings: a job waits ``queue_delay`` seconds IN_QUEUE (its position falls from
    ``queue_depth`` to 0 in equal steps, the last step at 0), then is IN_PROGRESS for ``progress_time`` seconds, then
    COMPLETED once its video is rendered (rendering starts at submit, in a thread pool).

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
            truncate_downloads=truncate_downloads,
            slow_result=slow_result,
            retired=frozenset(retired),
            retired_status=retired_status,
        )
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

    def close(self) -> None:
        """Stop the webhook sender and the render pool (waits for renders in flight)."""
        self.webhooks.close()
        self._executor.shutdown(wait=True, cancel_futures=False)

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
        params = inp.public_params()
        with self._lock:
            request_id = self._new_request_id()
            video_id = f"video_{self._rng.getrandbits(128):032x}" if spec.is_sora else None
        prompt = str(params.get("prompt", ""))
        error: JobError | None = self._check_inputs(params)
        dims: tuple[int, int]
        if error is not None:
            size, dims, duration, fps = _Size("720p", "16:9"), (1280, 720), 4, self.fps
            video_id = None
        elif spec.inherits_from_source:
            source, error = self._remix_source(str(params["video_id"]))
            if source is not None:
                size = _Size(source.resolution, source.aspect_ratio, (f"remixing {source.video_id}",))
                dims = (source.width, source.height)
                duration, fps = source.duration, source.fps
            else:
                size, dims, duration, fps = _Size("720p", "16:9"), (1280, 720), 4, self.fps
        else:
            size = self._size_for(spec, params)
            dims = dimensions(size.resolution, size.aspect_ratio)
            duration = int(params["duration"])
            fps = self.fps if spec.is_sora else KLING_FPS
        width, height = dims
        if video_id is not None:
            video_file, thumb = f"{video_id}.mp4", f"{video_id}.jpg"
        else:
            video_file, thumb = "output.mp4", None
        record = JobRecord(
            request_id=request_id,
            endpoint=spec.endpoint,
            model_id=spec.id,
            model_name=spec.name,
            app_id=spec.app_id,
            submitted_at=time.time(),
            queue_delay=self.queue_delay,
            progress_time=self.progress_time,
            queue_position=self.queue_depth,
            params=params,
            width=width,
            height=height,
            fps=fps,
            duration=duration,
            resolution=size.resolution,
            aspect_ratio=size.aspect_ratio,
            title=prompt,
            subtitle=f"{spec.name} · {duration} s · {width}x{height} · SIMULATED by the sora2-widgets emulator",
            seed=int(request_id.replace("-", ""), 16) % (2**31),
            video_file=video_file,
            thumbnail_file=thumb,
            video_id=video_id,
            delete_video=bool(params.get("delete_video", True)),
            notes=list(size.notes),
            error=error,
            base_url=base_url,
            webhook_url=webhook_url,
            media_ttl=media_ttl,
        )
        self.store.save(record)
        if error is None:
            self.ensure_render(record)
        if webhook_url is not None:
            self.webhooks.schedule(request_id, record.due_at)
        log.info("emulator accepted %s for %s (%dx%d, %d s)", request_id, spec.endpoint, width, height, duration)
        return record

    def create_failed_job(
        self,
        spec: ModelSpec,
        error: JobError,
        prompt: str = "",
        *,
        base_url: str | None = None,
        webhook_url: str | None = None,
    ) -> JobRecord:
        """Record a job the model will refuse (its input failed the schema): fal accepts it on the
        queue, completes it with ``error``, and its result URL answers ``error``. Nothing of the
        refused input is stored (it may hold a secret), only the prompt for the log line."""
        with self._lock:
            request_id = self._new_request_id()
        record = JobRecord(
            request_id=request_id,
            endpoint=spec.endpoint,
            model_id=spec.id,
            model_name=spec.name,
            app_id=spec.app_id,
            submitted_at=time.time(),
            queue_delay=self.queue_delay,
            progress_time=self.progress_time,
            queue_position=self.queue_depth,
            params={},
            width=1280,
            height=720,
            fps=self.fps,
            duration=4,
            resolution="720p",
            aspect_ratio="16:9",
            title=prompt[:200],
            subtitle=f"{spec.name} · refused input · SIMULATED by the sora2-widgets emulator",
            seed=int(request_id.replace("-", ""), 16) % (2**31),
            video_file="output.mp4",
            thumbnail_file=None,
            error=error,
            base_url=base_url,
            webhook_url=webhook_url,
        )
        self.store.save(record)
        if webhook_url is not None:
            self.webhooks.schedule(request_id, record.due_at)
        log.info("emulator accepted %s for %s (input refused: %s)", request_id, spec.endpoint, error.message)
        return record

    def _check_inputs(self, params: dict[str, Any]) -> JobError | None:
        """What fal's runner says when it cannot fetch or read an image input (a file on this
        emulator's storage that is missing, expired or not an image); other URLs are not fetched."""
        for name in _IMAGE_FIELDS:
            url = params.get(name)
            if not isinstance(url, str):
                continue
            ours, stored = self.storage.from_url(url)
            if not ours:
                continue
            if stored is None:
                return _input_error(
                    name, "file_download_error", f"Failed to download the file at {url}: it does not exist or expired"
                )
            try:
                with Image.open(self.storage.path_of(stored)) as im:
                    im.size  # noqa: B018 - reading the header is the check
            except (UnidentifiedImageError, OSError, ValueError):
                return _input_error(name, "image_load_error", f"The file at {url} could not be read as an image")
        return None

    def _new_request_id(self) -> str:
        # Seeded ids repeat across processes sharing a state_dir: skip ids already on disk.
        while True:
            rid = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            if not self.store.exists(rid):
                return rid

    def _remix_source(self, video_id: str) -> tuple[JobRecord | None, JobError | None]:
        source = self.store.find_video(video_id)
        if source is None:
            return None, _video_error(
                video_id,
                "video_not_found",
                f"video_id {video_id!r} was not found: only videos made by Sora 2 (text- or image-to-video) "
                "on this service can be remixed",
            )
        if source.delete_video:
            return None, _video_error(
                video_id,
                "video_deleted",
                f"video_id {video_id!r} was deleted after delivery (it was generated with delete_video=true); "
                "generate with delete_video=false to keep a video remixable",
            )
        state = self.snapshot(source)
        if state.status != "COMPLETED" or state.error is not None:
            return None, _video_error(
                video_id, "video_not_ready", f"video_id {video_id!r} has not finished generating successfully"
            )
        return source, None

    def _size_for(self, spec: ModelSpec, params: dict[str, Any]) -> _Size:
        resolution = str(params.get("resolution", "720p"))
        aspect = params.get("aspect_ratio")
        image_url = params.get("image_url")
        needs_image = aspect in (None, "auto") or resolution == "auto"
        if image_url is None or not needs_image:
            return _Size(resolution, str(aspect or "16:9"))
        notes: list[str] = []
        size = self._image_size(str(image_url), notes)
        if aspect in (None, "auto"):
            if size is None:
                aspect = "16:9"
                notes.append("aspect_ratio auto: image size unknown, using 16:9")
            else:
                w, h = size
                square = not spec.is_sora and abs(w - h) <= 0.05 * max(w, h)  # only Kling renders 1:1
                aspect = "1:1" if square else ("9:16" if h > w else "16:9")
                notes.append(f"aspect_ratio auto: the image is {w}x{h}, using {aspect}")
        if resolution == "auto":
            # Sora picks the resolution from the image: standard always 720p, Pro 1080p for large images.
            resolution = "1080p" if spec.pro and size is not None and min(size) >= 1080 else "720p"
            notes.append(f"resolution auto: using {resolution}")
        return _Size(resolution, str(aspect), tuple(notes))

    def _image_size(self, url: str, notes: list[str]) -> tuple[int, int] | None:
        """(width, height) of an image input: a file uploaded to this emulator, or a data URI."""
        ours, stored = self.storage.from_url(url)
        if ours and stored is not None:
            try:
                with Image.open(self.storage.path_of(stored)) as im:
                    return im.size
            except (UnidentifiedImageError, OSError, ValueError):
                notes.append("image_url could not be read as an image; its size is unknown")
                return None
        return _image_size(url, notes)

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

_RENDER_FAILED = JobError(
    status_code=500,
    error_type="runner_server_error",
    detail="The emulator could not render the video (simulated service error).",
    message="internal error while rendering",
)


#: Input fields that name an image the runner downloads.
_IMAGE_FIELDS = ("image_url", "tail_image_url")


def _input_error(field_name: str, kind: str, msg: str) -> JobError:
    return JobError(
        status_code=422, error_type=kind, detail=[{"loc": ["body", field_name], "msg": msg, "type": kind}], message=msg
    )


def _video_error(video_id: str, kind: str, msg: str) -> JobError:
    # The queue accepts any video_id (it cannot know them); the model refuses it when the job runs,
    # and the result URL answers 422 in fal's validation-error shape, naming the field.
    return JobError(
        status_code=422,
        error_type=kind,
        detail=[{"loc": ["body", "video_id"], "msg": msg, "type": kind}],
        message=msg,
    )


def _image_size(url: str, notes: list[str]) -> tuple[int, int] | None:
    """(width, height) of a data-URI image; ``None`` (with a note) for URLs we cannot fetch offline."""
    if not url.startswith("data:"):
        notes.append("image_url is not fetched by the offline emulator; its size is unknown")
        return None
    header, _, payload = url.partition(",")
    try:
        raw = (
            base64.b64decode(payload, validate=False) if ";base64" in header else urllib.parse.unquote_to_bytes(payload)
        )
        with Image.open(io.BytesIO(raw)) as im:
            return im.size
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError):
        notes.append("image_url data URI could not be decoded as an image; its size is unknown")
        return None


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
