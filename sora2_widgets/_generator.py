"""Orchestration shared by the panel and the CLI: budget → ledger → submit → wait → result → media.

One job, step by step (DESIGN §4):

1. validate the input (our schema) and price it; a remix resolves its source in the history;
2. **budget**: ``spent + reserved (running jobs' high estimates) + this job's high estimate``
   must fit, checked and reserved in the same write transaction as the ledger row, so several
   kernels cannot overspend together. Refused → :class:`BudgetExceededError`, nothing sent;
3. the ledger row is written (status ``submitted``) **before** the request is sent, so a job can
   never exist on the service without a row here; then submit, and record the request id/URLs;
4. wait, updating the row to ``in_queue``/``in_progress`` and calling ``on_update``;
5. result → the row becomes ``completed`` with the actual cost (recorded once);
6. the MP4 and thumbnail are downloaded into ``media/`` (temp name, fsync, rename, sha256).

Rules for what a failure leaves behind:

* our validation error, unknown model, budget refusal → nothing recorded, nothing sent;
* the service refusing the request outright (401/403 key, 422 input, 429 after retries) → the
  row is removed again: no job exists, so there is nothing to remember or pay;
* :class:`ModelUnavailableError` → row ``unavailable``, cost 0, never retried;
* :class:`SubmitUncertainError` (or the process dying mid-submit) → row ``failed`` with an error
  starting "submit outcome unknown", cost unknown (NULL), everything known kept;
* the job failed on the service → ``failed``, cost 0; cancelled → ``cancelled``, cost 0;
* a network failure while waiting → the row stays ``in_queue``/``in_progress`` and is resumed by
  :meth:`Generator.resume` (or the next ``Generator``), never resubmitted.

Everything async runs on one private event-loop thread per :class:`Generator`, so the sync API
works inside Jupyter's running loop and the async API can be awaited from any loop; callbacks
given to the async API run on the caller's loop.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import dataclasses
import html
import importlib
import inspect
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar
from urllib.parse import quote, urlsplit

from ._catalog import ModelSpec, estimate_cost, get_model
from ._config import budget_from_env
from ._errors import (
    AuthError,
    BudgetExceededError,
    FieldError,
    JobCancelledError,
    JobTimeoutError,
    ModelUnavailableError,
    RateLimitError,
    ServiceError,
    Sora2Error,
    SubmitUncertainError,
    ValidationError,
)
from ._history import ACTIVE_STATUSES, History, HistoryRecord, new_owner_token, scrub_params, to_micros
from ._images import with_image_data_uris
from ._pricing import CostEstimate, format_usd
from ._results import VideoResult

__all__ = ["Generation", "Generator", "Progress", "generate", "generate_many"]

log = logging.getLogger("sora2_widgets.generator")
T = TypeVar("T")

UNKNOWN_SUBMIT = "submit outcome unknown"


# --------------------------------------------------------------------------------------------
# What the generator needs from a client (the contract in TEAM.md). Sync clients (FalClient)
# are accepted too: their blocking calls run in a worker thread.
# --------------------------------------------------------------------------------------------
class _Job(Protocol):
    @property
    def request_id(self) -> str: ...
    @property
    def status_url(self) -> str | None: ...
    @property
    def response_url(self) -> str | None: ...
    @property
    def cancel_url(self) -> str | None: ...


class _Downloaded(Protocol):
    @property
    def path(self) -> Path: ...
    @property
    def sha256(self) -> str: ...


class _Adapter:
    """The client's API as coroutines, whether the client is async or sync."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.is_async = inspect.iscoroutinefunction(getattr(client, "submit", None))
        self._own_slots: asyncio.Semaphore | None = None

    def slot(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """One of the client's ``max_concurrency`` slots, held by a job from submit to saved media.

        An async client lends its own (``AsyncFalClient.slot``), shared with its other users. A sync
        client's slots live on its private loop, so its limit is kept here, for this generator's jobs.
        A client with neither (a test fake) runs unbounded.
        """
        own = getattr(self.client, "slot", None) if self.is_async else None
        if own is not None:
            held: contextlib.AbstractAsyncContextManager[Any] = own()
            return held
        limit = getattr(self.client, "max_concurrency", None)
        if not isinstance(limit, int) or limit < 1:
            return contextlib.nullcontext()
        if self._own_slots is None:
            self._own_slots = asyncio.Semaphore(limit)
        return self._own_slots

    @property
    def provider(self) -> str:
        return str(getattr(self.client, "provider", "fal"))

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        fn = getattr(self.client, name)
        if self.is_async:
            return await fn(*args, **kwargs)
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def submit(self, model_id: str, params: Mapping[str, Any]) -> _Job:
        job: _Job = await self._call("submit", model_id, **params)
        return job

    async def wait(self, job: _Job, on_update: Callable[[Any], None]) -> Any:
        return await self._call("wait", job, on_update=on_update)

    async def result(self, job: _Job) -> VideoResult:
        res: VideoResult = await self._call("result", job)
        return res

    async def cancel(self, job: _Job) -> bool:
        return bool(await self._call("cancel", job))

    def resume(self, rec: HistoryRecord) -> _Job:
        assert rec.request_id is not None
        extra: dict[str, Any] = {}
        with contextlib.suppress(TypeError, ValueError):
            if "submitted_at" in inspect.signature(self.client.resume).parameters:
                extra["submitted_at"] = rec.created_at.timestamp()  # keeps "elapsed" honest after a restart
        job: _Job = self.client.resume(
            rec.request_id,
            rec.model_id,
            status_url=rec.status_url,
            response_url=rec.response_url,
            cancel_url=rec.cancel_url,
            **extra,
        )
        return job

    async def download(self, url: str, dest: Path) -> _Downloaded:
        dl: _Downloaded = await self._call("download", url, dest)
        return dl

    async def aclose(self) -> None:
        closer = getattr(self.client, "aclose", None)
        if closer is not None and inspect.iscoroutinefunction(closer):
            await closer()
        elif callable(getattr(self.client, "close", None)):
            await asyncio.to_thread(self.client.close)


# --------------------------------------------------------------------------------------------
# Results and progress
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Progress:
    """A sign of life from one job, for ``on_update`` callbacks.

    ``stage`` is ``submitted``, ``in_queue``, ``in_progress``, ``downloading`` or a final ledger
    status (``completed``, ``failed``, ``cancelled``, ``unavailable``); the final call carries the
    :class:`Generation`. ``index`` is the job's position in a ``generate_many`` batch (0 otherwise).
    """

    index: int
    model_id: str
    stage: str
    history_id: int | None = None
    request_id: str | None = None
    queue_position: int | None = None
    elapsed: float = 0.0
    logs: tuple[Any, ...] = ()
    error: str | None = None
    generation: Generation | None = None

    @property
    def done(self) -> bool:
        return self.generation is not None


OnUpdate = Callable[[Progress], None]


@dataclasses.dataclass(frozen=True)
class Generation:
    """The outcome of one job. In a notebook it displays as an inline video player.

    ``status`` is the ledger status (``completed``, ``failed``, ``cancelled``, ``unavailable``, or
    ``in_queue``/``in_progress`` when the wait was interrupted and the job can be resumed).
    ``cost`` is the actual cost in USD (``None`` when unknown).
    """

    #: Videos up to this size are embedded (base64) when no relative link works. Larger ones link
    #: to the service URL instead: a saved notebook must not grow by tens of megabytes per cell.
    embed_limit: ClassVar[int] = 2_000_000

    model_id: str
    status: str
    history_id: int | None = None
    url: str | None = None
    video_id: str | None = None
    local_path: Path | None = None
    thumbnail_path: Path | None = None
    sha256: str | None = None
    cost: Decimal | None = None
    estimate: CostEstimate | None = None
    request_id: str | None = None
    error: str | None = None
    error_type: str | None = None
    result: VideoResult | None = dataclasses.field(default=None, repr=False)
    exception: BaseException | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    def raise_for_status(self) -> Generation:
        """Raise the job's error if it did not complete; returns ``self`` otherwise."""
        if self.ok:
            return self
        if self.exception is not None:
            raise self.exception
        raise Sora2Error(self.error or f"generation {self.history_id} ended {self.status}")

    def __repr__(self) -> str:
        parts = [f"#{self.history_id}" if self.history_id is not None else "not recorded", self.model_id, self.status]
        if self.cost is not None:
            parts.append(format_usd(self.cost))
        text = " ".join(parts)
        if self.video_id:
            text += f", video_id={self.video_id!r}"
        if self.local_path is not None:
            text += f", local_path={str(self.local_path)!r}"
        elif self.url:
            text += f", url={self.url!r}"
        if self.error:
            text += f", error={self.error!r}"
        return f"Generation({text})"

    # -- notebook display -------------------------------------------------------------------
    def _video_src(self) -> tuple[str, str] | None:
        """(src, how): a link relative to the notebook if Jupyter can serve it, else a small file
        embedded, else the service URL (which may expire; the local path is shown beside it)."""
        p = self.local_path
        if p is not None and p.is_file():
            try:
                rel = Path(os.path.relpath(p, Path.cwd()))
            except ValueError:  # another drive (Windows)
                rel = None
            # Jupyter refuses to serve hidden paths (the default ~/.sora2_widgets is one).
            if rel is not None and not any(part.startswith(".") and part != ".." for part in rel.parts):
                return quote(rel.as_posix()), "local file"
            if p.stat().st_size <= self.embed_limit:
                data = base64.b64encode(p.read_bytes()).decode("ascii")
                return f"data:video/mp4;base64,{data}", "embedded"
        if self.url and urlsplit(self.url).scheme in ("http", "https"):
            return self.url, "service URL"
        return None

    def _repr_html_(self) -> str:
        e = html.escape
        bits = [e(self.model_id), e(self.status)]
        if self.history_id is not None:
            bits.insert(0, f"#{self.history_id}")
        if self.cost is not None:
            bits.append(e(format_usd(self.cost)))
        caption = " · ".join(bits)
        body = ""
        if self.ok:
            src = self._video_src()
            if src is not None:
                body = (
                    f'<video controls playsinline preload="metadata" style="max-width:100%;max-height:480px" '
                    f'src="{e(src[0], quote=True)}"></video>'
                )
            else:
                body = "<em>video not available locally</em>"
            if self.local_path is not None:
                caption += f" · <code>{e(str(self.local_path))}</code>"
        elif self.error:
            body = f'<div style="color:#b00020">{e(self.error)}</div>'
        return f'<div class="sora2-generation">{body}<div style="font-size:smaller">{caption}</div></div>'


# --------------------------------------------------------------------------------------------
# The private event loop
# --------------------------------------------------------------------------------------------
class _LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="sora2-widgets-generator", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout=5)


def _probe(path: Path, thumb_dest: Path | None) -> dict[str, Any]:
    """Width/height/duration/fps of a saved MP4, and a first-frame JPEG when the service sent none."""
    import av

    facts: dict[str, Any] = {}
    with av.open(str(path)) as box:
        stream = box.streams.video[0]
        facts["width"], facts["height"] = stream.codec_context.width, stream.codec_context.height
        if stream.average_rate:
            facts["fps"] = float(stream.average_rate)
        if stream.duration is not None and stream.time_base is not None:
            facts["duration"] = float(stream.duration * stream.time_base)
        elif box.duration is not None:
            facts["duration"] = box.duration / 1_000_000
        if thumb_dest is not None:
            for frame in box.decode(stream):
                tmp = thumb_dest.with_name(thumb_dest.name + ".part")
                frame.to_image().save(  # type: ignore[no-untyped-call]
                    tmp, format="JPEG", quality=85
                )
                with open(tmp, "rb") as fh:
                    os.fsync(fh.fileno())
                os.replace(tmp, thumb_dest)
                facts["thumbnail"] = thumb_dest
                break
    return facts


#: Top-level ISO-BMFF boxes an MP4/MOV file can start with.
_MP4_BOXES = frozenset({b"ftyp", b"moov", b"free", b"mdat", b"skip", b"wide", b"pnot"})
DOWNLOAD_CHECKS = 3


def _media_problem(path: Path, expected: int | None) -> str:
    """Why a saved file cannot be the video, or "" if it can."""
    size = path.stat().st_size
    if expected is not None and expected > 0 and size != expected:
        return f"{size} bytes where the service announced {expected}"
    if path.suffix.lower() in (".mp4", ".mov", ".m4v"):
        with open(path, "rb") as fh:
            head = fh.read(8)
        if head[4:8] not in _MP4_BOXES:
            return "not an MP4 (an error page?)"
    return ""


def _suffix(url: str, default: str) -> str:
    ext = os.path.splitext(urlsplit(url).path)[1].lower()
    return ext if ext in (".jpg", ".jpeg", ".png", ".webp", ".mp4", ".mov", ".webm") else default


def _error_text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _is_gone(exc: BaseException) -> bool:
    return isinstance(exc, ServiceError) and exc.status_code in (404, 410)


def _is_job_failure(exc: BaseException) -> bool:
    """The job itself failed on the service (so it is over), as opposed to us losing contact."""
    if isinstance(exc, ValidationError):
        return True
    if isinstance(exc, ServiceError):
        return exc.job_failed or (exc.status_code is not None and 400 <= exc.status_code < 500)
    return False


JobSpec = Mapping[str, Any] | tuple[str, Mapping[str, Any]]


class Generator:
    """Runs generations: budget, ledger, client, media. Shared by the panel and the CLI.

    ``Generator(client=None, history=None, budget=None)``: ``client`` defaults to an
    ``AsyncFalClient()`` (FAL_KEY set → fal.ai, unset → the built-in emulator), ``history`` to
    ``History()``, ``budget`` (USD) to ``$SORA2_WIDGETS_BUDGET`` (read at each check). With
    ``resume=True`` the unfinished rows of earlier sessions are resumed in the background at once.
    """

    def __init__(
        self,
        client: Any = None,
        history: History | None = None,
        budget: Decimal | int | str | None = None,
        *,
        resume: bool = True,
        lease_seconds: float = 120.0,
    ) -> None:
        self._client_obj = client
        self._owns_client = client is None
        self._adapter: _Adapter | None = None
        self._history = history
        self._owns_history = history is None
        self.budget: Decimal | None = None if budget is None else Decimal(str(budget))
        self.lease_seconds = lease_seconds
        self.owner = new_owner_token()
        self._lock = threading.Lock()
        self._loop_thread: _LoopThread | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._cancels: dict[int, asyncio.Event] = {}
        # Rows a task of this generator is working on right now. Leases say which *process* looks
        # after a row; this says which rows of ours are taken, so that our own resume pass (it runs
        # beside the first generate calls) never picks up a job we are still submitting.
        self._live: set[int] = set()
        self._live_lock = threading.Lock()
        self._resume_future: concurrent.futures.Future[list[Generation]] | None = None
        self._closed = False
        if resume:
            self._resume_future = self._loop().submit(self._resume_pass())

    # -- wiring -----------------------------------------------------------------------------
    @property
    def history(self) -> History:
        with self._lock:
            if self._history is None:
                self._history = History()
            return self._history

    @property
    def client(self) -> Any:
        return self._client().client

    def _client(self) -> _Adapter:
        with self._lock:
            if self._adapter is None:
                if self._client_obj is None:
                    # Imported late: the client module is optional for tests that bring their own.
                    client_mod = importlib.import_module(f"{__package__}._client")
                    self._client_obj = client_mod.AsyncFalClient()
                self._adapter = _Adapter(self._client_obj)
            return self._adapter

    def _loop(self) -> _LoopThread:
        with self._lock:
            if self._closed:
                raise RuntimeError("this Generator is closed")
            if self._loop_thread is None:
                self._loop_thread = _LoopThread()
            return self._loop_thread

    def _budget_now(self) -> Decimal | None:
        return self.budget if self.budget is not None else budget_from_env()

    def _sync(self, coro: Coroutine[Any, Any, T]) -> T:
        lt = self._loop()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is lt.loop:
            coro.close()
            raise RuntimeError("use the async methods (agenerate, …) from inside the generator's own loop")
        fut = lt.submit(coro)
        try:
            return fut.result()
        except KeyboardInterrupt:
            # A stopped cell cancels its jobs (best effort on the service; see _follow).
            fut.cancel()
            raise

    async def _on_private(self, coro: Coroutine[Any, Any, T]) -> T:
        lt = self._loop()
        if asyncio.get_running_loop() is lt.loop:
            return await coro
        return await asyncio.wrap_future(lt.submit(coro))

    @staticmethod
    def _callback_on_caller(on_update: OnUpdate | None) -> OnUpdate | None:
        """Make ``on_update`` run on the loop that called the async API (the notebook's)."""
        if on_update is None:
            return None
        try:
            caller = asyncio.get_running_loop()
        except RuntimeError:
            return on_update

        def hop(p: Progress) -> None:
            if caller.is_closed():
                return
            try:
                if asyncio.get_running_loop() is caller:
                    on_update(p)
                    return
            except RuntimeError:
                pass
            caller.call_soon_threadsafe(on_update, p)

        return hop

    # -- public API ---------------------------------------------------------------------------
    def generate(self, model_id: str, *, on_update: OnUpdate | None = None, **params: Any) -> Generation:
        """Generate one video and wait for it. Raises on any failure (the row keeps what happened);
        the returned :class:`Generation` has the local file, cost and history id."""
        return self._sync(self._one(0, model_id, params, on_update)).raise_for_status()

    async def agenerate(
        self, model_id: str, *, on_update: OnUpdate | None = None, raise_on_error: bool = True, **params: Any
    ) -> Generation:
        """Async :meth:`generate`; with ``raise_on_error=False`` a failure comes back as a Generation."""
        gen = await self._on_private(self._one(0, model_id, params, self._callback_on_caller(on_update)))
        return gen.raise_for_status() if raise_on_error else gen

    def generate_many(self, jobs: Iterable[JobSpec], *, on_update: OnUpdate | None = None) -> list[Generation]:
        """Run several jobs concurrently: ``[{"model_id": ..., **params}, ...]`` or ``[(model_id,
        params), ...]``. Returns one Generation per job, in order; one failure never sinks the rest.
        Raises :class:`BudgetExceededError` (nothing sent) when the whole batch cannot fit the budget."""
        return self._sync(self._many(_normalize(jobs), on_update))

    async def agenerate_many(self, jobs: Iterable[JobSpec], *, on_update: OnUpdate | None = None) -> list[Generation]:
        return await self._on_private(self._many(_normalize(jobs), self._callback_on_caller(on_update)))

    def resume(self, *, on_update: OnUpdate | None = None) -> list[Generation]:
        """Finish the jobs earlier sessions left running (and videos never saved locally).

        Each row is claimed under a lease first, so two kernels resuming together finish every
        job exactly once. Returns what this call (and the start-up pass) resumed."""
        return self._sync(self.aresume_private(on_update))

    async def aresume(self, *, on_update: OnUpdate | None = None) -> list[Generation]:
        return await self._on_private(self.aresume_private(self._callback_on_caller(on_update)))

    async def aresume_private(self, on_update: OnUpdate | None) -> list[Generation]:
        earlier: list[Generation] = []
        if self._resume_future is not None:
            fut, self._resume_future = self._resume_future, None
            with contextlib.suppress(Exception):
                earlier = await asyncio.wrap_future(fut)
        return earlier + await self._resume_pass(on_update)

    def cancel(self, history_id: int) -> bool:
        """Cancel a running job by its history id; True if a cancel was requested."""
        return self._sync(self._cancel(history_id))

    async def acancel(self, history_id: int) -> bool:
        return await self._on_private(self._cancel(history_id))

    def close(self) -> None:
        """Stop the background loop; close the client and history if this generator made them."""
        with self._lock:
            lt = self._loop_thread
            if self._closed or lt is None:
                self._closed = True
                if self._owns_history and self._history is not None:
                    self._history.close()
                return
        with contextlib.suppress(Exception):
            lt.submit(self._shutdown()).result(timeout=10)
        lt.stop()
        with self._lock:
            self._closed = True
            if self._owns_history and self._history is not None:
                self._history.close()

    def __enter__(self) -> Generator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _shutdown(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        current = asyncio.current_task()
        for task in [t for t in asyncio.all_tasks() if t is not current]:
            task.cancel()
        if self._owns_client and self._adapter is not None:
            with contextlib.suppress(Exception):
                await self._adapter.aclose()

    # -- leases ---------------------------------------------------------------------------------
    def _ensure_heartbeat(self) -> None:
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.get_running_loop().create_task(self._beat())

    async def _beat(self) -> None:
        # Renew this process's leases while it lives; a killed process's leases are reclaimed at
        # once on this host (dead pid) or when they expire elsewhere.
        while True:
            await asyncio.sleep(self.lease_seconds / 4)
            try:
                await asyncio.to_thread(self.history.renew_leases, self.owner, self.lease_seconds)
            except Exception:
                log.exception("history: could not renew leases")

    # -- one job --------------------------------------------------------------------------------
    def _emit(self, on_update: OnUpdate | None, progress: Progress) -> None:
        if on_update is None:
            return
        try:
            on_update(progress)
        except Exception:
            log.exception("on_update callback failed (ignored)")

    def _resolve_source(
        self, spec: ModelSpec, params: dict[str, Any], source: Any
    ) -> tuple[HistoryRecord | None, float | None]:
        """For remix: the source row (by history id, Generation/record, or video_id), checked."""
        rec: HistoryRecord | None = None
        if source is not None:
            sid = getattr(source, "history_id", None) or getattr(source, "id", None) or source
            try:
                rec = self.history.get(int(sid))
            except (KeyError, TypeError, ValueError):
                raise ValidationError(spec.id, [FieldError("source", f"no generation #{sid} in the history")]) from None
        elif params.get("video_id"):
            rec = self.history.find_video_id(str(params["video_id"]))
        if rec is None:
            return None, None  # a video_id made elsewhere: the service will judge it
        why = None
        try:
            source_spec: ModelSpec | None = get_model(rec.model_id)
        except KeyError:
            source_spec = None
        if source_spec is None or not source_spec.is_sora:
            why = f"generation #{rec.id} was made by {rec.model_id}, not Sora; only Sora videos can be remixed"
        elif rec.status != "completed" or not rec.video_id:
            why = f"generation #{rec.id} did not complete with a video_id (status {rec.status})"
        elif rec.deleted:
            why = f"generation #{rec.id} was deleted"
        elif not rec.kept_for_remix:
            why = (
                f"generation #{rec.id} was made with delete_video=True, so the service deleted it; "
                "generate with delete_video=False to keep videos remixable"
            )
        elif rec.provider != self._client().provider:
            why = f"generation #{rec.id} was made on {rec.provider}, not on {self._client().provider}"
        if why:
            raise ValidationError(spec.id, [FieldError("source", why)])
        given = params.get("video_id")
        if given and given != rec.video_id:
            raise ValidationError(spec.id, [FieldError("video_id", f"does not match generation #{rec.id}")])
        params["video_id"] = rec.video_id
        duration = rec.duration or (float(rec.params["duration"]) if "duration" in rec.params else None)
        return rec, duration

    def _prepare(
        self, model_id: str, params: Mapping[str, Any]
    ) -> tuple[ModelSpec, dict[str, Any], dict[str, Any], CostEstimate]:
        """Validate and price one job; builds its ledger fields. Raises before anything is recorded."""
        spec = get_model(model_id)
        params = dict(params)
        source = params.pop("source", None)
        rec: HistoryRecord | None = None
        source_duration: float | None = None
        if spec.inherits_from_source:
            rec, source_duration = self._resolve_source(spec, params, source)
        elif source is not None:
            raise ValidationError(spec.id, [FieldError("source", "only remix models take a source video")])
        # Local images become data URIs here, not only in the client: validation and the
        # ledger's stored parameters must see what will be sent.
        params = with_image_data_uris(spec.id, params)
        inp = spec.validate(params)
        secret = spec.input_model.SECRET_FIELDS
        est = estimate_cost(
            spec.id, source_duration=source_duration, **{k: v for k, v in params.items() if k not in secret}
        )
        public = inp.public_params()
        stored = scrub_params(public)
        prompt = str(stored.pop("prompt", ""))
        if source_duration is not None:
            stored["source_duration"] = source_duration  # remix cost on resume needs it
        fields: dict[str, Any] = {
            "model_id": spec.id,
            "endpoint": spec.endpoint,
            "mode": spec.mode.value,
            "prompt": prompt,
            "params_json": json.dumps(stored, sort_keys=True, ensure_ascii=False),
            "provider": self._client().provider,
            "status": "submitted",
            "est_low_micros": to_micros(est.low),
            "est_high_micros": to_micros(est.high),
            "remixed_from": rec.id if rec is not None else None,
            "kept_for_remix": int(spec.is_sora and getattr(inp, "delete_video", True) is False),
            "lease_owner": self.owner,
            "lease_until": time.time() + self.lease_seconds,
        }
        return spec, params, fields, est

    async def _one(
        self, index: int, model_id: str, params: Mapping[str, Any], on_update: OnUpdate | None
    ) -> Generation:
        try:
            spec, send, fields, est = self._prepare(model_id, params)
        except Sora2Error as exc:
            gen = Generation(
                model_id=model_id, status="failed", error=_error_text(exc), error_type=type(exc).__name__, exception=exc
            )
            self._emit(on_update, Progress(index, model_id, "failed", error=gen.error, generation=gen))
            return gen
        # The slot is taken before the ledger row exists: a job waiting for one has sent nothing,
        # so a crash meanwhile must leave no row (one without a request id reads "submit outcome
        # unknown"). It is held until the media is saved, so max_concurrency bounds the whole job.
        async with self._client().slot():
            return await self._budget_submit_follow(index, spec, send, fields, est, on_update)

    async def _budget_submit_follow(
        self,
        index: int,
        spec: ModelSpec,
        send: dict[str, Any],
        fields: dict[str, Any],
        est: CostEstimate,
        on_update: OnUpdate | None,
    ) -> Generation:
        budget = self._budget_now()
        hid, committed = await asyncio.to_thread(self._add_live, fields, budget, est.high)
        if hid is None:
            assert budget is not None
            refusal = BudgetExceededError(budget=budget, spent=committed, requested=est.high)
            gen = Generation(
                model_id=spec.id,
                status="failed",
                estimate=est,
                error=str(refusal),
                error_type=type(refusal).__name__,
                exception=refusal,
            )
            self._emit(on_update, Progress(index, spec.id, "failed", error=gen.error, generation=gen))
            return gen
        self._ensure_heartbeat()
        # Registered before submitting: a Cancel clicked while the submit is in flight must end
        # as "cancelled" once the job exists, not race the start of the wait.
        self._cancels.setdefault(hid, asyncio.Event())
        try:
            return await self._submit_and_follow(index, hid, spec, send, est, on_update)
        finally:
            self._cancels.pop(hid, None)
            self._live.discard(hid)

    def _add_live(self, fields: dict[str, Any], budget: Decimal | None, high: Decimal) -> tuple[int | None, Decimal]:
        """Insert the row and mark it taken in one step, as far as our resume pass can see."""
        with self._live_lock:
            hid, committed = self.history.add_with_budget(fields, budget=budget, high=high)
            if hid is not None:
                self._live.add(hid)
            return hid, committed

    def _claim(self, provider: str) -> list[HistoryRecord]:
        with self._live_lock:
            claimed = self.history.claim(self.owner, self.lease_seconds, provider=provider, exclude=self._live)
            self._live.update(rec.id for rec in claimed)
            return claimed

    async def _submit_and_follow(
        self,
        index: int,
        hid: int,
        spec: ModelSpec,
        send: dict[str, Any],
        est: CostEstimate,
        on_update: OnUpdate | None,
    ) -> Generation:
        self._emit(on_update, Progress(index, spec.id, "submitted", history_id=hid))
        client = self._client()
        submit = asyncio.ensure_future(client.submit(spec.id, send))
        try:
            job = await asyncio.shield(submit)
        except asyncio.CancelledError:
            submit.add_done_callback(lambda t: self._after_abandoned_submit(hid, spec, t))
            raise
        except (AuthError, RateLimitError) as exc:
            await asyncio.to_thread(self.history.remove_row, hid)
            return self._final(index, on_update, spec, None, "failed", exc, est=est)
        except ValidationError as exc:  # the service's 422: refused, nothing created
            await asyncio.to_thread(self.history.remove_row, hid)
            return self._final(index, on_update, spec, None, "failed", exc, est=est)
        except ModelUnavailableError as exc:
            self._finish_row(hid, "unavailable", exc, cost=0)
            return self._final(index, on_update, spec, hid, "unavailable", exc, est=est)
        except SubmitUncertainError as exc:
            self._finish_row(hid, "failed", exc, cost=None, prefix=UNKNOWN_SUBMIT + ": ")
            return self._final(index, on_update, spec, hid, "failed", exc, est=est)
        except Exception as exc:
            # A definite answer from the service (or a bug before sending): no job to follow.
            self._finish_row(hid, "failed", exc, cost=0)
            return self._final(index, on_update, spec, hid, "failed", exc, est=est)
        await asyncio.to_thread(
            self.history.update,
            hid,
            request_id=job.request_id,
            status_url=job.status_url,
            response_url=job.response_url,
            cancel_url=job.cancel_url,
        )
        return await self._follow(index, hid, spec, job, on_update, est=est)

    def _after_abandoned_submit(self, hid: int, spec: ModelSpec, task: asyncio.Future[_Job]) -> None:
        """The caller went away mid-submit: record what the submit did, and cancel the job."""
        if task.cancelled() or task.exception() is not None:
            exc = task.exception() if not task.cancelled() else None
            self._finish_row(
                hid,
                "failed",
                exc or RuntimeError("cancelled while submitting"),
                cost=None,
                prefix=UNKNOWN_SUBMIT + ": ",
            )
            return
        job = task.result()
        self.history.update(
            hid,
            request_id=job.request_id,
            status_url=job.status_url,
            response_url=job.response_url,
            cancel_url=job.cancel_url,
        )

        async def cancel_it() -> None:
            with contextlib.suppress(Exception):
                if await self._client().cancel(job):
                    self.history.update(
                        hid,
                        status="cancelled",
                        cost_micros=0,
                        error="cancelled",
                        lease_owner=None,
                        lease_until=None,
                        only_if_status=ACTIVE_STATUSES,
                    )
                    return
            self.history.release(hid, self.owner)  # leave it to resume()

        asyncio.get_running_loop().create_task(cancel_it())

    def _finish_row(self, hid: int, status: str, exc: BaseException, *, cost: int | None, prefix: str = "") -> None:
        self.history.update(
            hid,
            status=status,
            error=prefix + _error_text(exc),
            cost_micros=cost,
            lease_owner=None,
            lease_until=None,
        )

    def _final(
        self,
        index: int,
        on_update: OnUpdate | None,
        spec: ModelSpec,
        hid: int | None,
        status: str,
        exc: BaseException | None = None,
        *,
        est: CostEstimate | None = None,
        result: VideoResult | None = None,
    ) -> Generation:
        if hid is not None:
            rec = self.history.get(hid)
            gen = Generation(
                model_id=rec.model_id,
                status=rec.status,
                history_id=hid,
                url=rec.video_url,
                video_id=rec.video_id,
                local_path=rec.local_path,
                thumbnail_path=rec.thumbnail_path,
                sha256=rec.sha256,
                cost=rec.cost,
                estimate=est or _estimate_of(rec),
                request_id=rec.request_id,
                error=rec.error if exc is None else (rec.error or _error_text(exc)),
                error_type=type(exc).__name__ if exc is not None else None,
                result=result,
                exception=exc,
            )
        else:
            gen = Generation(
                model_id=spec.id,
                status=status,
                estimate=est,
                error=_error_text(exc) if exc else None,
                error_type=type(exc).__name__ if exc is not None else None,
                exception=exc,
            )
        self._emit(
            on_update, Progress(index, gen.model_id, gen.status, hid, gen.request_id, error=gen.error, generation=gen)
        )
        return gen

    async def _follow(
        self,
        index: int,
        hid: int,
        spec: ModelSpec,
        job: _Job,
        on_update: OnUpdate | None,
        *,
        est: CostEstimate | None = None,
    ) -> Generation:
        """Wait for a submitted (or resumed) job, then record its result and save its media."""
        client = self._client()
        last = {"status": ""}
        db = self.history

        def seen(update: Any) -> None:
            stage = {"IN_QUEUE": "in_queue", "IN_PROGRESS": "in_progress"}.get(getattr(update, "status", ""), "")
            if stage and stage != last["status"]:
                last["status"] = stage
                db.update(hid, status=stage, only_if_status=ACTIVE_STATUSES)
            self._emit(
                on_update,
                Progress(
                    index,
                    spec.id,
                    stage or "in_progress",
                    hid,
                    job.request_id,
                    queue_position=getattr(update, "queue_position", None),
                    elapsed=float(getattr(update, "elapsed", 0.0) or 0.0),
                    logs=tuple(getattr(update, "logs", ()) or ()),
                ),
            )

        cancel_ev = self._cancels.setdefault(hid, asyncio.Event())
        try:
            waiter = asyncio.ensure_future(client.wait(job, seen))
            stopper = asyncio.ensure_future(cancel_ev.wait())
            try:
                await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                waiter.cancel()
                stopper.cancel()
                await self._cancel_remote(hid, job, abandon=True)
                raise
            if not waiter.done():
                waiter.cancel()
                if await self._cancel_remote(hid, job):
                    return self._final(
                        index, on_update, spec, hid, "cancelled", JobCancelledError(job.request_id), est=est
                    )
                # Too late to cancel: it finished, and a finished job is paid for. Record it.
            job_failed = False
            if waiter.done():
                stopper.cancel()
                try:
                    final = waiter.result()
                except Exception as exc:
                    return self._settle_failure(index, on_update, spec, hid, exc, est)
                # COMPLETED with an error: the job is over. result() raises the typed error for it.
                job_failed = bool(getattr(final, "error", None))
            try:
                result = await client.result(job)
            except Exception as exc:
                return self._settle_failure(index, on_update, spec, hid, exc, est, job_failed=job_failed)
            if job_failed:
                failure = ServiceError(f"{spec.name} failed: {final.error}", request_id=job.request_id)
                return self._settle_failure(index, on_update, spec, hid, failure, est, job_failed=True)
        finally:
            self._cancels.pop(hid, None)
        return await self._record_result(index, hid, spec, result, on_update, est=est)

    def _settle_failure(
        self,
        index: int,
        on_update: OnUpdate | None,
        spec: ModelSpec,
        hid: int,
        exc: BaseException,
        est: CostEstimate | None,
        *,
        job_failed: bool = False,
    ) -> Generation:
        if isinstance(exc, ModelUnavailableError):
            self._finish_row(hid, "unavailable", exc, cost=0)
        elif isinstance(exc, JobCancelledError) or (isinstance(exc, JobTimeoutError) and exc.cancelled):
            self._finish_row(hid, "cancelled", exc, cost=0)
        elif _is_gone(exc):
            self._finish_row(hid, "failed", exc, cost=0, prefix="the service no longer has this request: ")
        elif job_failed or _is_job_failure(exc):
            self._finish_row(hid, "failed", exc, cost=0)
        else:
            # We lost contact, the job may still run: keep the row active for resume(), free the lease.
            log.warning("generation #%d: %s; it stays resumable", hid, _error_text(exc))
            self.history.update(hid, error=_error_text(exc), lease_owner=None, lease_until=None)
        return self._final(index, on_update, spec, hid, "failed", exc, est=est)

    async def _cancel_remote(self, hid: int, job: _Job, *, abandon: bool = False) -> bool:
        try:
            accepted = await asyncio.wait_for(asyncio.shield(self._client().cancel(job)), timeout=15)
        except Exception as exc:
            log.warning("generation #%d: cancel failed (%s); it stays resumable", hid, _error_text(exc))
            accepted = False
        if accepted:
            self.history.update(
                hid,
                status="cancelled",
                cost_micros=0,
                error="cancelled by the user",
                lease_owner=None,
                lease_until=None,
                only_if_status=ACTIVE_STATUSES,
            )
        elif abandon:
            self.history.release(hid, self.owner)
        return accepted

    async def _record_result(
        self,
        index: int,
        hid: int,
        spec: ModelSpec,
        result: VideoResult,
        on_update: OnUpdate | None,
        *,
        est: CostEstimate | None = None,
    ) -> Generation:
        rec = self.history.get(hid)
        source_duration = rec.params.get("source_duration")
        try:
            cost: int | None = to_micros(spec.actual_cost(rec.params, result, source_duration=source_duration))
        except ValueError as exc:
            log.warning("generation #%d: cost unknown (%s)", hid, exc)
            cost = None
        # The money row: recorded once (only while the row is still active), before any download.
        done = {
            "status": "completed",
            "cost_micros": cost,
            "error": None,
            "video_url": result.url,
            "video_id": result.video_id,
            "width": result.width,
            "height": result.height,
            "duration": result.duration,
            "fps": result.fps,
        }
        if not self.history.update(hid, only_if_status=ACTIVE_STATUSES, **done):
            now = self.history.get(hid).status
            if now != "completed":
                # We hold the finished job's result, so it ran and is paid for, whatever the row
                # was told meanwhile (a cancel that lost the race, a failure guessed too early).
                log.warning("generation #%d: was %r, but its job completed; recording the result", hid, now)
                self.history.update(hid, only_if_status=(now,), **done)
        return await self._save_media(index, hid, spec, result, on_update, est=est)

    async def _save_media(
        self,
        index: int,
        hid: int,
        spec: ModelSpec,
        result: VideoResult | None,
        on_update: OnUpdate | None,
        *,
        est: CostEstimate | None = None,
    ) -> Generation:
        rec = self.history.get(hid)
        self._emit(on_update, Progress(index, spec.id, "downloading", hid, rec.request_id))
        client = self._client()
        url = result.url if result is not None else rec.video_url
        assert url is not None
        dest = self.history.media_path(hid, spec.id, _suffix(url, ".mp4"))
        fields: dict[str, Any] = {"lease_owner": None, "lease_until": None}
        exc: Exception | None = None
        try:
            try:
                await asyncio.to_thread(dest.parent.mkdir, parents=True, exist_ok=True)
            except OSError as mexc:
                # Inside the try: the job is paid and recorded; a bad media folder must not turn
                # into a bare OSError for the caller nor leave the row leased.
                raise OSError(mexc.errno, f"cannot write to the media folder {dest.parent} ({mexc.strerror})") from None
            dl = await self._download_checked(client, url, dest, result.file_size if result is not None else None)
            fields.update(local_path=self.history._store_path(dl.path), sha256=dl.sha256, error=None)
            thumb: Path | None = None
            thumb_url = result.thumbnail_url if result is not None else None
            if thumb_url:
                try:
                    tdl = await client.download(
                        thumb_url, self.history.media_path(hid, spec.id, _suffix(thumb_url, ".jpg"))
                    )
                    thumb = tdl.path
                except Exception as texc:
                    log.warning("generation #%d: thumbnail not saved (%s)", hid, _error_text(texc))
            try:
                want = None if thumb else self.history.media_path(hid, spec.id, ".jpg")
                facts = await asyncio.to_thread(_probe, Path(dl.path), want)
            except Exception as pexc:
                log.warning("generation #%d: could not read the saved video (%s)", hid, _error_text(pexc))
                facts = {}
            thumb = thumb or facts.get("thumbnail")
            fields["thumbnail_path"] = self.history._store_path(thumb)
            for key in ("width", "height", "duration", "fps"):
                if getattr(rec, key) is None and facts.get(key) is not None:
                    fields[key] = facts[key]
        except Exception as dexc:
            exc = dexc
            fields["error"] = f"download failed: {_error_text(dexc)} (resume() retries it)"
            log.warning("generation #%d: download failed: %s", hid, _error_text(dexc))
        self.history.update(hid, **fields)
        return self._final(index, on_update, spec, hid, "completed", exc, est=est, result=result)

    @staticmethod
    async def _download_checked(client: _Adapter, url: str, dest: Path, expected: int | None) -> _Downloaded:
        """Download, then make sure it is the video: the size the service announced, an MP4 header.

        A CDN or proxy can answer 200 with an error page of the right length for its own body;
        without this check that page would be saved (and hashed) as the video.
        """
        problem = ""
        for attempt in range(1, DOWNLOAD_CHECKS + 1):
            dl = await client.download(url, dest)
            problem = await asyncio.to_thread(_media_problem, Path(dl.path), expected)
            if not problem:
                return dl
            log.warning("download of %s: %s (attempt %d of %d)", dest.name, problem, attempt, DOWNLOAD_CHECKS)
            await asyncio.to_thread(Path(dl.path).unlink, missing_ok=True)
        raise ServiceError(f"the downloaded file is not the video ({problem}; {DOWNLOAD_CHECKS} tries)")

    # -- many, resume, cancel ------------------------------------------------------------------
    async def _many(self, jobs: list[tuple[str, dict[str, Any]]], on_update: OnUpdate | None) -> list[Generation]:
        budget = self._budget_now()
        if budget is not None:
            # The whole batch must fit, or nothing is sent: half a comparison is no use to anyone.
            high = Decimal(0)
            for model_id, params in jobs:
                try:
                    _, _, _, est = self._prepare(model_id, params)
                except Sora2Error:
                    continue  # reported per job below
                high += est.high
            committed = await asyncio.to_thread(self.history.committed)
            if committed + high > budget:
                raise BudgetExceededError(budget=budget, spent=committed, requested=high)
        tasks = [self._one(i, m, p, on_update) for i, (m, p) in enumerate(jobs)]
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        out: list[Generation] = []
        for (model_id, _), res in zip(jobs, outcomes, strict=True):
            if isinstance(res, Generation):
                out.append(res)
            elif isinstance(res, asyncio.CancelledError):
                raise res
            else:
                assert isinstance(res, BaseException)
                out.append(
                    Generation(
                        model_id=model_id,
                        status="failed",
                        error=_error_text(res),
                        error_type=type(res).__name__,
                        exception=res,
                    )
                )
        return out

    async def _resume_pass(self, on_update: OnUpdate | None = None) -> list[Generation]:
        client = self._client()
        with contextlib.suppress(OSError):  # tidying must never stop a resume
            await asyncio.to_thread(self.history.sweep_partial_files)
        claimed = await asyncio.to_thread(self._claim, client.provider)
        if not claimed:
            return []
        self._ensure_heartbeat()
        log.info("resuming %d generation(s): %s", len(claimed), ", ".join(f"#{r.id}" for r in claimed))
        try:
            outcomes = await asyncio.gather(
                *(self._resume_one(i, r, on_update) for i, r in enumerate(claimed)), return_exceptions=True
            )
        finally:
            self._live.difference_update(rec.id for rec in claimed)
        out: list[Generation] = []
        for rec, res in zip(claimed, outcomes, strict=True):
            if isinstance(res, Generation):
                out.append(res)
            elif isinstance(res, BaseException):
                if isinstance(res, asyncio.CancelledError):
                    raise res
                log.error("resuming #%d failed: %s", rec.id, _error_text(res))
                self.history.release(rec.id, self.owner)
                out.append(
                    Generation(
                        model_id=rec.model_id,
                        status=rec.status,
                        history_id=rec.id,
                        error=_error_text(res),
                        exception=res,
                    )
                )
        return out

    async def _resume_one(self, index: int, rec: HistoryRecord, on_update: OnUpdate | None) -> Generation:
        async with self._client().slot():
            return await self._resume_slotted(index, rec, on_update)

    async def _resume_slotted(self, index: int, rec: HistoryRecord, on_update: OnUpdate | None) -> Generation:
        spec = get_model(rec.model_id)
        est = _estimate_of(rec)
        if rec.status == "completed":
            return await self._save_media(index, rec.id, spec, None, on_update, est=est)
        if rec.request_id is None:
            exc = SubmitUncertainError(spec.id, spec.endpoint, "the process ended while submitting")
            self._finish_row(rec.id, "failed", exc, cost=None, prefix=UNKNOWN_SUBMIT + ": ")
            return self._final(index, on_update, spec, rec.id, "failed", exc, est=est)
        job = self._client().resume(rec)
        return await self._follow(index, rec.id, spec, job, on_update, est=est)

    async def _cancel(self, history_id: int) -> bool:
        ev = self._cancels.get(history_id)
        if ev is not None:
            ev.set()
            return True
        rec = await asyncio.to_thread(self.history.get, history_id)
        if rec.status not in ACTIVE_STATUSES or rec.request_id is None:
            return False
        # Running in another kernel (or left over): cancel on the service; its owner will see it.
        return await self._cancel_remote(history_id, self._client().resume(rec))


def _estimate_of(rec: HistoryRecord) -> CostEstimate | None:
    if rec.estimate_low is None or rec.estimate_high is None:
        return None
    return CostEstimate(rec.estimate_low, rec.estimate_high)


def _normalize(jobs: Iterable[JobSpec]) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for job in jobs:
        if isinstance(job, Mapping):
            params = dict(job)
            if "model_id" not in params:
                raise TypeError(f"a job needs a model_id: {sorted(params)}")
            out.append((str(params.pop("model_id")), params))
        elif isinstance(job, tuple) and len(job) == 2 and isinstance(job[0], str):
            out.append((job[0], dict(job[1])))
        else:
            raise TypeError("each job is {'model_id': ..., **params} or (model_id, params)")
    return out


# --------------------------------------------------------------------------------------------
# Module-level conveniences: one lazily-created default generator per process.
# --------------------------------------------------------------------------------------------
_default: Generator | None = None
_default_lock = threading.Lock()


def default_generator() -> Generator:
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
