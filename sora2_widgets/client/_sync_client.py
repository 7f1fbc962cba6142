""":class:`FalClient`: the same client, synchronous, on a private event-loop thread."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import SecretStr

from .._catalog import ModelSpec
from .._results import VideoResult
from .._sync import LoopThread
from ._async import AsyncFalClient
from ._models import Downloaded, Job, Provider, QueueUpdate, SubmitCallback, UpdateCallback, call_back
from ._options import ClientOptions, check_options

if TYPE_CHECKING:
    from typing import Unpack

__all__ = ["FalClient"]

log = logging.getLogger("sora2_widgets.client")

T = TypeVar("T")


class FalClient:
    """The same client, synchronous. Works in scripts and inside a running Jupyter event loop.

    The real :class:`AsyncFalClient` lives on a private daemon thread with its own event loop;
    each method hands it a coroutine and blocks on the answer, so no "event loop is already
    running" error can happen. Callbacks (``on_update``, ``on_submit``) run on that thread.
    Interrupting a wait (Ctrl-C / the notebook's stop button) stops waiting, not the job: it was
    already returned by :meth:`submit` (or given to ``on_submit`` by :meth:`generate`).
    Takes the same arguments as :class:`AsyncFalClient`.
    """

    def __init__(self, key: str | SecretStr | None = None, **options: Unpack[ClientOptions]) -> None:
        check_options(type(self).__name__, options)
        # The client is built first: if that fails (bad argument), no thread is left behind.
        self._async = AsyncFalClient(key, **options)
        # Stopped by close(), or by its finalizer if this client is dropped without it.
        self._thread = LoopThread("sora2-widgets-client")
        self._closed = False

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coro.close()
            raise RuntimeError("this FalClient is closed")
        # Refuses a call from its own callbacks (they run on the loop thread: it would wait on itself);
        # Ctrl-C cancels the waiting task, while the job itself keeps running on the service.
        return self._thread.run(coro, owner="FalClient")

    @property
    def provider(self) -> Provider:
        return self._async.provider

    @property
    def host(self) -> str:
        return self._async.host

    @property
    def max_concurrency(self) -> int:
        return self._async.max_concurrency

    @property
    def async_client(self) -> AsyncFalClient:
        """The underlying client (use it only from coroutines run on :attr:`loop`)."""
        return self._async

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._closed:
            raise RuntimeError("this FalClient is closed")
        return self._thread.loop

    def __repr__(self) -> str:
        return f"FalClient(provider={self.provider!r}, host={self.host!r})"

    def submit(self, model_id: str | ModelSpec, **params: Any) -> Job:
        return self._run(self._async.submit(model_id, **params))

    def upload(self, data: bytes, *, content_type: str, file_name: str = "upload.bin") -> str:
        """Upload bytes through fal's storage; returns the file's URL (see :meth:`AsyncFalClient.upload`)."""
        return self._run(self._async.upload(data, content_type=content_type, file_name=file_name))

    def upload_file(self, path: str | os.PathLike[str], *, content_type: str = "application/octet-stream") -> str:
        """Upload a file from disk (streamed, multipart above 100 MiB); returns the file's URL."""
        return self._run(self._async.upload_file(path, content_type=content_type))

    def upload_images(self, params: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        """See :meth:`AsyncFalClient.upload_images`."""
        return self._run(self._async.upload_images(params, body))

    def status(self, job: Job, *, logs: bool = True) -> QueueUpdate:
        return self._run(self._async.status(job, logs=logs))

    def wait(
        self,
        job: Job,
        *,
        on_update: UpdateCallback | None = None,
        timeout: float | None = None,
        cancel_on_timeout: bool = False,
    ) -> QueueUpdate:
        try:
            return self._run(
                self._async.wait(job, on_update=on_update, timeout=timeout, cancel_on_timeout=cancel_on_timeout)
            )
        except KeyboardInterrupt:
            _log_left_running(job)
            raise

    def result(self, job: Job) -> VideoResult:
        return self._run(self._async.result(job))

    def cancel(self, job: Job) -> bool:
        return self._run(self._async.cancel(job))

    def generate(
        self,
        model_id: str | ModelSpec,
        *,
        on_update: UpdateCallback | None = None,
        on_submit: SubmitCallback | None = None,
        timeout: float | None = None,
        cancel_on_timeout: bool = False,
        **params: Any,
    ) -> VideoResult:
        submitted: list[Job] = []

        async def record(job: Job) -> None:
            submitted.append(job)
            if on_submit is not None:
                await call_back(on_submit, job)

        try:
            return self._run(
                self._async.generate(
                    model_id,
                    on_update=on_update,
                    on_submit=record,
                    timeout=timeout,
                    cancel_on_timeout=cancel_on_timeout,
                    **params,
                )
            )
        except KeyboardInterrupt:
            if submitted:
                _log_left_running(submitted[0])
            raise

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
        return self._async.resume(
            request_id,
            model_id,
            status_url=status_url,
            response_url=response_url,
            cancel_url=cancel_url,
            submitted_at=submitted_at,
        )

    def download(self, url: str, dest: str | os.PathLike[str]) -> Downloaded:
        return self._run(self._async.download(url, dest))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._thread.run(self._async.aclose(), owner="FalClient")
        finally:
            self._thread.close()

    def __enter__(self) -> FalClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _log_left_running(job: Job) -> None:
    log.warning(
        "Stopped waiting for request %s (%s); it keeps running on the service. "
        "Pick it up again with client.resume(%r, %r).",
        job.request_id,
        job.model_id,
        job.request_id,
        job.model_id,
    )
