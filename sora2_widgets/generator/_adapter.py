"""What the generator needs from a client, and the adapter that lets it drive a sync or async one.

The generator speaks coroutines. ``AsyncFalClient`` (or any client whose ``submit`` is a coroutine
function) is awaited directly; a sync client (``FalClient``, a test fake) is accepted too, its
blocking calls running in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from .._results import VideoResult
from ..history import HistoryRecord


class JobHandle(Protocol):
    """A job the service accepted: what the ledger keeps to follow, fetch or cancel it later."""

    @property
    def request_id(self) -> str: ...
    @property
    def status_url(self) -> str | None: ...
    @property
    def response_url(self) -> str | None: ...
    @property
    def cancel_url(self) -> str | None: ...


class DownloadedFile(Protocol):
    """A file the client saved (atomically) and hashed."""

    @property
    def path(self) -> Path: ...
    @property
    def sha256(self) -> str: ...


class ClientAdapter:
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

    async def submit(self, model_id: str, params: Mapping[str, Any]) -> JobHandle:
        job: JobHandle = await self._call("submit", model_id, **params)
        return job

    async def wait(self, job: JobHandle, on_update: Callable[[Any], None]) -> Any:
        return await self._call("wait", job, on_update=on_update)

    async def result(self, job: JobHandle) -> VideoResult:
        res: VideoResult = await self._call("result", job)
        return res

    async def cancel(self, job: JobHandle) -> bool:
        return bool(await self._call("cancel", job))

    def resume(self, rec: HistoryRecord) -> JobHandle:
        """A handle for a job an earlier session submitted, from what its ledger row kept."""
        assert rec.request_id is not None
        extra: dict[str, Any] = {}
        with contextlib.suppress(TypeError, ValueError):
            if "submitted_at" in inspect.signature(self.client.resume).parameters:
                extra["submitted_at"] = rec.created_at.timestamp()  # keeps "elapsed" honest after a restart
        job: JobHandle = self.client.resume(
            rec.request_id,
            rec.model_id,
            status_url=rec.status_url,
            response_url=rec.response_url,
            cancel_url=rec.cancel_url,
            **extra,
        )
        return job

    async def download(self, url: str, dest: Path) -> DownloadedFile:
        dl: DownloadedFile = await self._call("download", url, dest)
        return dl

    async def aclose(self) -> None:
        closer = getattr(self.client, "aclose", None)
        if closer is not None and inspect.iscoroutinefunction(closer):
            await closer()
        elif callable(getattr(self.client, "close", None)):
            await asyncio.to_thread(self.client.close)
