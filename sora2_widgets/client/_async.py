""":class:`AsyncFalClient`: fal's queue protocol, one job from submit to result.

fal runs long jobs through a queue::

    POST {queue}/{endpoint}           → {request_id, status_url, response_url, cancel_url, queue_position?}
    GET  {status_url}/stream?logs=1   → server-sent events, one status per event, ends at COMPLETED
    GET  {status_url}?logs=1          → {status, queue_position?, logs?, error?, error_type?}
    GET  {response_url}               → the output JSON (or the model's error, 4xx/5xx + detail)
    PUT  {cancel_url}                 → 202 accepted / 400 already completed

Where this differs from the official ``fal-client`` on purpose:

* **Submit is never retried when a job may exist.** Only failures that prove no job was created
  (connection refused, 429, a 503 from the gateway without a request id) are retried; anything
  ambiguous raises :class:`SubmitUncertainError`, because a duplicate Sora job costs real money.
* **Waiting streams** the status (one long request per job) and falls back to polling with
  backoff (0.25 s → ×1.5 → 2.5 s) instead of polling every 0.1 s.
* **The URLs the service returns are used as-is**; only :meth:`AsyncFalClient.resume` without URLs
  rebuilds them, with fal's app-id rule (``{queue}/{owner}/{app}/requests/{id}/status``).
* **The key goes only to the queue/run hosts** (never to a media CDN), lives in a ``SecretStr``
  and the ``Authorization`` header, and never reaches a log line, repr or exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import pydantic
from pydantic import SecretStr

from .._catalog import ModelSpec, get_model
from .._errors import JobTimeoutError, ServiceError, Sora2Error, SubmitUncertainError, ValidationError
from .._images import LocalImage, local_images, with_image_data_uris
from .._results import VideoResult
from ._download import download
from ._errormap import Ctx, ErrorMap
from ._http import QueueHttp
from ._models import Downloaded, Job, Provider, QueueUpdate, RetryPolicy, SubmitCallback, UpdateCallback, call_back
from ._options import DEFAULT_TIMEOUT, ClientOptions, check_options
from ._redact import Secrets
from ._responses import (
    Backoff,
    Malformed,
    Retryable,
    billable_units_of,
    body_of,
    carries_fal_error,
    describe_exc,
    message_and_type,
    retry_after,
    said,
)
from ._status import Tracker
from ._target import resolve_target
from ._upload import Uploader, rest_url_for
from ._wait import StatusWatcher

if TYPE_CHECKING:
    from typing import Unpack

__all__ = ["AsyncFalClient"]

log = logging.getLogger("sora2_widgets.client")

#: The slot semaphores (by id) the current task — or the task that started it — holds. A slot
#: is held across awaits, so only a context variable can tell "already inside a slot" apart from
#: "a new job": nested ``slot()`` calls then reuse the outer slot instead of waiting for a second
#: one, which with every slot taken by jobs waiting the same way would never come.
#: fal's ``error_type`` values that blame the runner, not an input field (fal's "Model errors" docs):
#: for these the status already says all there is, and the result URL is not asked again.
_NOT_INPUT_ERRORS = frozenset(
    {
        "runner_server_error",
        "internal_server_error",
        "generation_timeout",
        "downstream_service_error",
        "downstream_service_unavailable",
        "client_cancelled",
        "request_cancelled",
        "cancelled",
    }
)

_HELD_SLOTS: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar("sora2_widgets_slots", default=frozenset())


class AsyncFalClient:
    """fal's queue API over httpx, asynchronous. One instance per event loop.

    ``key``: a fal key; default ``FAL_KEY`` or ``FAL_KEY_ID``/``FAL_KEY_SECRET``. With no key
    anywhere (and no ``transport``/``queue_url`` given), the client talks to the built-in
    in-process emulator and says so once (``.provider == "emulator"``). The other options
    (``queue_url``, ``transport``, ``max_concurrency``, ``retry``…) are keyword-only; see
    :class:`ClientOptions`.
    """

    def __init__(self, key: str | SecretStr | None = None, **options: Unpack[ClientOptions]) -> None:
        check_options(type(self).__name__, options)
        max_concurrency = options.get("max_concurrency", 8)
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        target = resolve_target(
            key,
            queue_url=options.get("queue_url"),
            run_url=options.get("run_url"),
            transport=options.get("transport"),
            emulator=options.get("emulator"),
        )
        self.provider: Provider = target.provider
        self._queue_url = target.queue_url
        self.max_concurrency = max_concurrency
        self._slots = asyncio.Semaphore(max_concurrency)
        timeout = options.get("timeout", DEFAULT_TIMEOUT)
        self._secrets = Secrets(target.key)
        self._errors = ErrorMap(self.host, target.key_source, self._secrets)
        rest_url = rest_url_for(target.queue_url)
        self._http = QueueHttp(
            secrets=self._secrets,
            key_urls=(target.queue_url, target.run_url, rest_url),
            transport=target.transport,
            timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
            max_concurrency=max_concurrency,
            retry=options.get("retry") or RetryPolicy(),
            errors=self._errors,
        )
        self._watcher = StatusWatcher(
            self._http,
            host=self.host,
            use_stream=options.get("use_stream", True),
            poll_interval=options.get("poll_interval", 0.25),
            max_poll_interval=options.get("max_poll_interval", 2.5),
        )
        self._uploader = Uploader(
            rest_url=rest_url,
            secrets=self._secrets,
            transport=target.transport,
            timeout=self._http.timeout,
            retry=self._http.retry,
        )
        # Failures a COMPLETED status reported, so result() can raise them without another request.
        self._failures: dict[str, tuple[str, str | None]] = {}
        # Requests seen COMPLETED: for these a missing result can only mean it expired.
        self._finished: set[str] = set()

    # -- presentation --------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return httpx.URL(self._queue_url).host

    @property
    def queue_url(self) -> str:
        return self._queue_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r}, host={self.host!r})"

    # -- lifecycle -----------------------------------------------------------------------------
    async def aclose(self) -> None:
        await self._uploader.aclose()
        await self._http.aclose()

    async def __aenter__(self) -> AsyncFalClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- submit --------------------------------------------------------------------------------
    def _payload(self, spec: ModelSpec, params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, LocalImage]]:
        """Validated request body and the local images it still needs uploaded. Invalid input
        raises here, before any network traffic (a local image is checked as the data URI it
        would be; it is sent as an uploaded URL)."""
        converted = with_image_data_uris(spec.id, params)
        return spec.validate(converted).to_payload(), local_images(params, converted)

    # -- uploads -------------------------------------------------------------------------------
    async def upload(self, data: bytes, *, content_type: str, file_name: str = "upload.bin") -> str:
        """Upload bytes through fal's storage (idempotent, retried); returns the file's URL."""
        return await self._uploader.upload_bytes(data, content_type=content_type, file_name=file_name)

    async def upload_file(self, path: str | os.PathLike[str], *, content_type: str = "application/octet-stream") -> str:
        """Upload a file from disk through fal's storage; streamed, multipart above 100 MiB. Returns its URL."""
        return await self._uploader.upload_file(path, content_type=content_type)

    async def upload_images(self, params: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        """``body`` (from validated ``params``) with each local image uploaded and its URL in place of
        the data URI; a ``data:`` URI the user gave is left as it is."""
        out = dict(body)
        for name, image in local_images(params, body).items():
            out[name] = await self.upload(image.data, content_type=image.mime, file_name=image.file_name)
        return out

    async def _with_uploads(self, body: dict[str, Any], images: Mapping[str, LocalImage]) -> dict[str, Any]:
        for name, image in images.items():
            body[name] = await self.upload(image.data, content_type=image.mime, file_name=image.file_name)
        return body

    def _job_urls(self, spec: ModelSpec, request_id: str) -> tuple[str, str, str]:
        # fal's rule: queue URLs live under owner/app only, the endpoint's sub-path is dropped.
        base = f"{self._queue_url}/{spec.app_id}/requests/{quote(request_id, safe='')}"
        return f"{base}/status", base, f"{base}/cancel"

    async def submit(self, model_id: str | ModelSpec, *, webhook_url: str | None = None, **params: Any) -> Job:
        """Validate ``params`` with the catalog schema, then submit one job. Never submits twice.

        ``image_url`` may be a local path, bytes or a PIL image: it is uploaded through fal's
        storage first and its URL is sent. ``webhook_url``: fal POSTs the outcome there when the
        job ends (fal's ``fal_webhook`` query parameter).
        Raises :class:`ValidationError` (nothing sent), :class:`SubmitUncertainError` (a job may exist;
        not retried), :class:`AuthError`, :class:`ModelUnavailableError`, :class:`RateLimitError`.
        """
        spec = get_model(model_id)
        webhook = _checked_webhook(webhook_url)
        body, images = self._payload(spec, params)
        return await self._submit(spec, await self._with_uploads(body, images), webhook)

    async def _submit(self, spec: ModelSpec, body: dict[str, Any], webhook_url: str | None = None) -> Job:
        url = f"{self._queue_url}/{spec.endpoint}"
        if webhook_url is not None:
            url = str(httpx.URL(url, params={"fal_webhook": webhook_url}))
        secrets = tuple(str(body[name]) for name in spec.input_model.SECRET_FIELDS if body.get(name))
        ctx = Ctx(spec, "submit", secrets=secrets)
        http = self._http
        backoff = Backoff(http.retry)
        while True:
            backoff.attempt()
            try:
                response = await http.send("POST", url, http.headers_for(url), body=body)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # No connection was ever made, so the body never left: provably no job. Safe to retry.
                last = Retryable(describe_exc(exc))
            except httpx.TransportError as exc:
                # The body may have reached fal: a job may exist and be billed. Never resubmit blindly.
                raise SubmitUncertainError(spec.id, spec.endpoint, f"{describe_exc(exc)} after sending") from exc
            else:
                code = response.status_code
                request_id = response.headers.get("x-fal-request-id")
                if 200 <= code < 300:
                    job = self._job_from_submit(spec, response)
                    self._secrets.remember(job.request_id, secrets)
                    return job
                if code == 429 or (code == 503 and not request_id):
                    # Refused at the door (rate limit / gateway without a request id): no job was made.
                    what = self._secrets.scrub(said(body_of(response)), secrets)
                    last = Retryable(f"HTTP {code}", status_code=code, retry_after=retry_after(response), message=what)
                elif code >= 500:
                    known = f", request id {request_id}" if request_id else ""
                    raise SubmitUncertainError(spec.id, spec.endpoint, f"HTTP {code}{known}")
                else:
                    raise self._errors.for_response(response, ctx)
            delay = backoff.delay_after(last)
            if delay is None:
                raise self._errors.exhausted(ctx, last, backoff.tries)
            log.info("submit %s: %s (no job was created); retry in %.2f s", spec.id, last.why, delay)
            await backoff.wait(delay)

    def _job_from_submit(self, spec: ModelSpec, response: httpx.Response) -> Job:
        try:
            data = response.json()
            request_id = str(data["request_id"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            # The service accepted the job but we cannot tell which one it is.
            raise SubmitUncertainError(
                spec.id, spec.endpoint, f"HTTP {response.status_code} with an unreadable answer"
            ) from None
        status_url, response_url, cancel_url = self._job_urls(spec, request_id)
        position = data.get("queue_position")
        job = Job(
            model_id=spec.id,
            endpoint=spec.endpoint,
            request_id=request_id,
            status_url=str(data.get("status_url") or status_url),
            response_url=str(data.get("response_url") or response_url),
            cancel_url=str(data.get("cancel_url") or cancel_url),
            submitted_at=time.time(),
            provider=self.provider,
            queue_position=position if isinstance(position, int) and not isinstance(position, bool) else None,
        )
        log.info("submitted %s as request %s (%s)", spec.id, request_id, self.provider)
        return job

    def resume(
        self,
        request_id: str,
        model_id: str | ModelSpec,
        *,
        status_url: str | None = None,
        response_url: str | None = None,
        cancel_url: str | None = None,
        submitted_at: float | None = None,
    ) -> Job:
        """A :class:`Job` for a request submitted earlier (e.g. before a kernel restart).

        Pass the URLs recorded at submit time when you have them; otherwise they are rebuilt with
        fal's app-id rule. ``submitted_at`` (epoch seconds) keeps ``elapsed`` meaningful.
        """
        spec = get_model(model_id)
        if not request_id or not request_id.strip():
            raise ValueError("resume() needs the request id of the earlier job")
        rebuilt = self._job_urls(spec, request_id)
        return Job(
            model_id=spec.id,
            endpoint=spec.endpoint,
            request_id=request_id,
            status_url=status_url or rebuilt[0],
            response_url=response_url or rebuilt[1],
            cancel_url=cancel_url or rebuilt[2],
            submitted_at=submitted_at if submitted_at is not None else time.time(),
            provider=self.provider,
        )

    # -- status / wait -------------------------------------------------------------------------
    async def status(self, job: Job, *, logs: bool = True) -> QueueUpdate:
        """One status check (``GET {status_url}?logs=1``)."""
        update = await self._watcher.poll_once(job, self._tracker(job), logs=logs)
        self._note_failure(update)
        return update

    def _tracker(self, job: Job) -> Tracker:
        return Tracker(job, self._secrets.every(self._secrets.of_job(job.request_id)))

    def _note_failure(self, update: QueueUpdate) -> None:
        if update.status == "COMPLETED":
            self._finished.add(update.request_id)
        if update.failed and update.error is not None:
            self._failures[update.request_id] = (update.error, update.error_type)

    async def wait(
        self,
        job: Job,
        *,
        on_update: UpdateCallback | None = None,
        timeout: float | None = None,
        cancel_on_timeout: bool = False,
    ) -> QueueUpdate:
        """Wait until the job is COMPLETED; return the final update (check ``.failed``).

        ``on_update(update)`` (sync or async) gets every status change with queue position, all logs
        so far and elapsed time. ``timeout`` (wall-clock seconds) raises :class:`JobTimeoutError`;
        with ``cancel_on_timeout=True`` the job is cancelled on the service first. If the waiting
        task is cancelled (KeyboardInterrupt, Stop button) the job is left running: it was returned
        by :meth:`submit` and can be resumed.
        """
        if timeout is None:
            return await self._wait(job, on_update)
        try:
            return await asyncio.wait_for(self._wait(job, on_update), timeout)
        except asyncio.TimeoutError:
            cancelled = False
            if cancel_on_timeout:
                try:
                    cancelled = await self.cancel(job)
                except Sora2Error as exc:
                    log.warning("could not cancel request %s after the timeout: %s", job.request_id, exc)
            raise JobTimeoutError(job.request_id, timeout, cancelled=cancelled) from None

    async def _wait(self, job: Job, on_update: UpdateCallback | None) -> QueueUpdate:
        final = await self._watcher.wait(job, self._tracker(job), on_update)
        self._note_failure(final)
        return final

    # -- result / cancel -----------------------------------------------------------------------
    async def result(self, job: Job) -> VideoResult:
        """The finished video. A job that failed raises (:class:`ServiceError` with the service's
        plain message, :class:`ModelUnavailableError`, :class:`ValidationError` for a refused prompt)."""
        failure = self._failures.get(job.request_id)
        if failure is not None:
            # fal puts a refused input at the result URL (422 + the field's ``detail``); the status's
            # error is only a summary. Unless its type says the runner failed (not the input), ask
            # the result once for the field; anything else it says leaves the status's error.
            noted = self._errors.completed(job, *failure)
            # Only a plain failure can be an input's (not a retired model, not a cancel), and only
            # a 422 that names a field improves on it.
            if type(noted) is ServiceError and failure[1] not in _NOT_INPUT_ERRORS:
                try:
                    await self._fetch_result(job)
                except ValidationError as refused:
                    if refused.from_service and any(e.field for e in refused.errors):
                        raise refused from None
                except (Sora2Error, httpx.HTTPError):
                    pass
            raise noted
        return await self._fetch_result(job)

    async def _fetch_result(self, job: Job) -> VideoResult:
        ctx = self._errors.context(job, "result")

        units: list[Decimal | None] = [None]

        def parse(response: httpx.Response) -> dict[str, Any]:
            units[0] = billable_units_of(response)
            data = response.json()
            if not isinstance(data, dict):
                raise Malformed("result is not a JSON object")
            return data

        def job_failure(response: httpx.Response, body: Any) -> Sora2Error | None:
            # fal retries a failing job itself (up to 10 runners) before its result URL answers
            # 5xx with the reason: that answer is the job's end, and asking again repeats it.
            if not carries_fal_error(response, body):
                return None  # a bare gateway 502/503/504: the answer was lost on the way, ask again
            message, error_type = message_and_type(body)
            error_type = error_type or response.headers.get("x-fal-error-type") or None
            code = response.status_code
            return self._errors.completed(job, message or f"HTTP {code}", error_type, status_code=code)

        try:
            _, data = await self._http.request("GET", job.response_url, ctx, parse=parse, final_5xx=job_failure)
        except ServiceError as exc:
            if exc.status_code in (404, 410) and job.request_id in self._finished:
                raise ServiceError(
                    f"{ctx.spec.name}: request {job.request_id} finished, but its result can no longer be "
                    "fetched: fal keeps a result 1 hour (6 minutes for a large one) and this one expired.",
                    status_code=exc.status_code,
                    request_id=job.request_id,
                ) from None
            raise
        assert data is not None
        if data.get("video") is None and (data.get("error") or data.get("detail")):
            message, error_type = message_and_type(data)
            raise self._errors.completed(job, message, error_type)
        # A service may echo the request's input (api_key included) in the result; it is kept in
        # VideoResult.raw, which shows in its repr.
        data = self._secrets.scrub_json(data, ctx.secrets)
        try:
            parsed = VideoResult.parse(job.model_id, data, job.request_id)
        except (ValueError, pydantic.ValidationError) as exc:
            raise ServiceError(
                f"{ctx.spec.name}: the result of request {job.request_id} holds no usable video ({exc})",
                request_id=job.request_id,
            ) from None
        return parsed if units[0] is None else parsed.model_copy(update={"billable_units": units[0]})

    async def cancel(self, job: Job) -> bool:
        """Ask the service to cancel. True: accepted; False: it had already finished (or is unknown)."""
        ctx = self._errors.context(job, "cancel")
        code, _ = await self._http.request(
            "PUT", job.cancel_url, ctx, parse=lambda r: None, passthrough=frozenset({400, 404})
        )
        accepted = 200 <= code < 300
        log.info("cancel %s: %s", job.request_id, "accepted" if accepted else f"not needed (HTTP {code})")
        return accepted

    # -- all in one ----------------------------------------------------------------------------
    async def generate(
        self,
        model_id: str | ModelSpec,
        *,
        on_update: UpdateCallback | None = None,
        on_submit: SubmitCallback | None = None,
        timeout: float | None = None,
        cancel_on_timeout: bool = False,
        webhook_url: str | None = None,
        **params: Any,
    ) -> VideoResult:
        """Submit, wait, fetch the result. ``on_submit(job)`` runs right after the submit and before
        any waiting, so the request id can be recorded first. Holds one of ``max_concurrency``
        slots from submit to result."""
        spec = get_model(model_id)
        webhook = _checked_webhook(webhook_url)
        body, images = self._payload(spec, params)  # invalid input fails now, not after queuing for a slot
        async with self.slot():
            job = await self._submit(spec, await self._with_uploads(body, images), webhook)
            if on_submit is not None:
                await call_back(on_submit, job)
            await self.wait(job, on_update=on_update, timeout=timeout, cancel_on_timeout=cancel_on_timeout)
            return await self.result(job)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the ``max_concurrency`` slots for a job driven step by step.

        :meth:`submit`, :meth:`wait` and :meth:`result` take no slot themselves (a slot taken at
        submit could never be given back by a caller that stops after it). A caller running a job
        as separate calls holds the slot around them all::

            async with client.slot():
                job = await client.submit(...)
                await client.wait(job)
                result = await client.result(job)

        Reentrant: inside a slot (and in tasks started from it) ``slot()`` and :meth:`generate`
        use the slot already held, so nesting never waits for itself.
        """
        held = _HELD_SLOTS.get()
        if id(self._slots) in held:
            yield
            return
        async with self._slots:
            token = _HELD_SLOTS.set(held | {id(self._slots)})
            try:
                yield
            finally:
                # A cancelled task's generator closed by the loop's clean-up runs in another
                # context; the task's own context, where the token was set, is gone with it.
                with contextlib.suppress(ValueError):
                    _HELD_SLOTS.reset(token)

    # -- download ------------------------------------------------------------------------------
    async def download(self, url: str, dest: str | os.PathLike[str]) -> Downloaded:
        """Save ``url`` at ``dest`` atomically: stream to a temp file beside it, check the length,
        fsync, rename. Retried like any idempotent GET; the key is sent only to the queue host."""
        return await download(self._http, url, dest)


def _checked_webhook(url: str | None) -> str | None:
    """A ``webhook_url`` fal can call: an absolute http(s) URL (refused before anything is sent)."""
    if url is None:
        return None
    try:
        parsed = httpx.URL(url) if isinstance(url, str) else None
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError("webhook_url must be an absolute http:// or https:// URL that fal can POST to")
    return url
