"""The client seen through ``generator._adapter``: a sync client's calls run in worker threads, the
concurrency limit comes from the client, and a resumed job keeps its submit time when it can."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path
from typing import Any

from sora2_widgets import HistoryRecord
from sora2_widgets.generator._adapter import ClientAdapter
from tests.team.backends import open_history


class _SyncClient:
    provider = "emulator"
    max_concurrency = 2

    def __init__(self) -> None:
        self.threads: set[str] = set()
        self.closed = False
        self.resumed: dict[str, Any] = {}

    def submit(self, model_id: str, **params: Any) -> str:
        self.threads.add(threading.current_thread().name)
        return f"{model_id}:{params['prompt']}"

    def cancel(self, job: Any) -> int:
        return 1

    def resume(self, request_id: str, model_id: str, *, submitted_at: float | None = None, **urls: Any) -> str:
        self.resumed = {"request_id": request_id, "submitted_at": submitted_at, **urls}
        return request_id

    def close(self) -> None:
        self.closed = True


class _AsyncClient:
    def __init__(self) -> None:
        self.slots = 0

    async def submit(self, model_id: str, **params: Any) -> str:
        return model_id

    @contextlib.asynccontextmanager
    async def _slot(self) -> Any:
        self.slots += 1
        yield

    def slot(self) -> Any:
        return self._slot()

    def resume(self, request_id: str, model_id: str, **urls: Any) -> str:
        return request_id


def _record(home: Path) -> HistoryRecord:
    with open_history(home) as history:
        hid = history.add(
            model_id="sora2_text_to_video",
            endpoint="fal-ai/sora-2/text-to-video",
            mode="text",
            provider="emulator",
            status="in_queue",
            request_id="req-1",
            status_url="https://q/status",
            response_url="https://q/r",
            cancel_url="https://q/cancel",
        )
        return history.get(hid)


def test_a_sync_client_runs_in_worker_threads_and_its_limit_is_kept_here() -> None:
    client = _SyncClient()
    adapter = ClientAdapter(client)
    assert not adapter.is_async and adapter.provider == "emulator"

    async def main() -> tuple[Any, bool, Any]:
        job = await adapter.submit("sora2_text_to_video", {"prompt": "p"})
        slot = adapter.slot()
        assert slot is adapter.slot()  # one semaphore for all of this generator's jobs
        return job, await adapter.cancel(job), slot

    job, cancelled, slot = asyncio.run(main())
    assert job == "sora2_text_to_video:p" and cancelled is True
    assert isinstance(slot, asyncio.Semaphore) and slot._value == 2
    assert threading.current_thread().name not in client.threads
    asyncio.run(adapter.aclose())
    assert client.closed


def test_an_async_client_lends_its_own_slots_and_a_fake_without_any_runs_unbounded() -> None:
    client = _AsyncClient()
    adapter = ClientAdapter(client)
    assert adapter.is_async and adapter.provider == "fal"

    async def hold() -> None:
        async with adapter.slot():
            pass

    asyncio.run(hold())
    assert client.slots == 1
    bare = ClientAdapter(object())
    assert isinstance(bare.slot(), contextlib.nullcontext)


def test_resume_passes_the_submit_time_only_to_a_client_that_takes_it(tmp_path: Path) -> None:
    rec = _record(tmp_path / "home")
    client = _SyncClient()
    assert ClientAdapter(client).resume(rec) == "req-1"
    assert client.resumed == {
        "request_id": "req-1",
        "submitted_at": rec.created_at.timestamp(),
        "status_url": "https://q/status",
        "response_url": "https://q/r",
        "cancel_url": "https://q/cancel",
    }
    assert ClientAdapter(_AsyncClient()).resume(rec) == "req-1"  # no submitted_at parameter: not sent
