"""Test doubles for the panel: the real ledger on a temp file, and a fake generator writing to it.

The ledger is the real ``History`` (its records, frames and spend tables are the real ones, so what
the panel reads cannot drift from what the package writes); ``FakeHistory.add`` only fills the
columns a test does not care about. ``FakeGenerator`` has ``Generator``'s interface as the panel
uses it (``agenerate``, ``acancel``, ``budget``, ``owner``, ``history``, ``client.provider``) and
reports real ``Progress`` updates and a real ``Generation``, without a client or a service.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sora2_widgets import Generation, History, HistoryRecord, LogLine, Progress, get_model
from sora2_widgets.history import to_micros


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


# A tiny but real PNG for thumbnails and image uploads.
PNG = _png()
FAKE_MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


class FakeHistory(History):
    """The real ledger; ``add`` fills endpoint/mode/provider from the catalog and takes two shortcuts:
    ``cost_usd=`` (a float, stored exactly as ``cost_micros``) and ``created_at=`` as a datetime."""

    def add(self, **row: Any) -> int:
        spec = get_model(row["model_id"])
        row.setdefault("endpoint", spec.endpoint)
        row.setdefault("mode", spec.mode.value)
        row.setdefault("provider", "emulator")
        if "cost_usd" in row:
            row["cost_micros"] = to_micros(Decimal(str(row.pop("cost_usd"))))
        created = row.get("created_at")
        if isinstance(created, dt.datetime):
            row["created_at"] = created.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return super().add(**row)

    @property
    def rows(self) -> list[HistoryRecord]:
        """Every row, oldest first."""
        return self.records()


@dataclass
class FakeClient:
    provider: str


class FakeGenerator:
    """Same interface as sora2_widgets.Generator for the panel; jobs write rows like the real one."""

    def __init__(self, history: FakeHistory, media: Path, *, provider: str = "emulator") -> None:
        self.history = history
        self.media = media
        self.client = FakeClient(provider)
        self.budget: Decimal | None = None
        self.owner = f"fake-{id(self):x}"
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_with: dict[str, BaseException] = {}
        self.gate: threading.Event | None = None  # set → jobs wait for it (to test cancel)
        self.cancelled: list[str] = []
        self._cancel_asked: set[int] = set()
        self.closed = False

    async def agenerate(
        self, model_id: str, *, on_update: Any = None, raise_on_error: bool = True, **params: Any
    ) -> Generation:
        self.calls.append((model_id, params))
        rid = self.history.add(
            model_id=model_id, status="submitted", prompt=params.get("prompt", ""), provider=self.client.provider
        )
        req = f"req-{rid}"
        try:
            return await self._run(model_id, rid, req, params, on_update)
        except asyncio.CancelledError:
            # the real Generator cancels on the service here; the fake records that it was asked to
            self.cancelled.append(req)
            self.history.update(rid, status="cancelled")
            raise

    async def acancel(self, history_id: int) -> bool:
        """Ask a running job to stop: it ends as cancelled (JobCancelledError), as on the service."""
        if self.history.get(history_id).status not in ("submitted", "in_queue", "in_progress"):
            return False
        self._cancel_asked.add(history_id)
        return True

    def close(self) -> None:
        self.closed = True

    async def _run(self, model_id: str, rid: int, req: str, params: dict[str, Any], on_update: Any) -> Generation:
        from sora2_widgets import JobCancelledError

        def progress(stage: str, **extra: Any) -> Progress:
            return Progress(index=0, model_id=model_id, stage=stage, history_id=rid, request_id=req, **extra)

        on_update(progress("in_queue", queue_position=2))
        await asyncio.sleep(0)
        on_update(progress("in_progress", logs=(LogLine(message="rendering 40%", level="INFO"),)))
        # a threading.Event set by the test's thread; polling keeps the task cancellable
        while self.gate is not None and not self.gate.is_set():
            if rid in self._cancel_asked:
                self.cancelled.append(req)
                self.history.update(rid, status="cancelled", cost_micros=0)
                raise JobCancelledError(req)
            await asyncio.sleep(0.01)
        if model_id in self.fail_with:
            self.history.update(rid, status="failed")
            raise self.fail_with[model_id]
        return self._finish(model_id, rid, req, params, on_update)

    def _finish(self, model_id: str, rid: int, req: str, params: dict[str, Any], on_update: Any) -> Generation:
        spec = get_model(model_id)
        path = self.media / f"{rid}.mp4"
        path.write_bytes(FAKE_MP4)
        thumb = self.media / f"{rid}.png"
        thumb.write_bytes(PNG)
        keep = params.get("delete_video") is False and spec.is_sora
        video_id = f"video_{rid}" if spec.is_sora else None
        settings = {k: v for k, v in params.items() if k not in ("prompt", "image_url", "video_id", "source_duration")}
        source = params.get("source_duration", 8) if spec.inherits_from_source else None
        cost = spec.estimate(settings, source_duration=source).high
        self.history.update(
            rid,
            status="completed",
            cost_micros=to_micros(cost),
            video_id=video_id,
            kept_for_remix=keep,
            local_path=str(path),
            thumbnail_path=str(thumb),
            duration=8.0,
            width=1280,
            height=720,
        )
        on_update(Progress(index=0, model_id=model_id, stage="completed", history_id=rid, request_id=req))
        return Generation(
            model_id=model_id,
            status="completed",
            url=f"https://v3.fal.media/files/{rid}.mp4",
            local_path=path,
            video_id=video_id,
            cost=cost,
            history_id=rid,
            request_id=req,
        )
