"""Fakes with the Generator / History interfaces the panel uses, so the panel is tested on its own."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import itertools
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from sora2_widgets import get_model


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


# A tiny but real PNG for thumbnails and image uploads.
PNG = _png()
FAKE_MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


@dataclass
class FakeHistory:
    """Shaped like sora2_widgets.History: df indexed by id, cost_usd, remix_candidates(), spend(), delete()."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **row: Any) -> int:
        with self.lock:
            rid = next(self._ids)
            row.setdefault("created_at", dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=rid))
            row.setdefault("deleted", False)
            row.setdefault("kept_for_remix", False)
            self.rows.append({"id": rid, **row})
            return rid

    @property
    def df(self) -> pd.DataFrame:
        cols = [
            "id",
            "created_at",
            "model_id",
            "status",
            "prompt",
            "cost_usd",
            "video_id",
            "thumbnail_path",
            "kept_for_remix",
            "deleted",
            "duration",
            "width",
            "height",
        ]
        frame = pd.DataFrame([{c: r.get(c) for c in cols} for r in self.rows], columns=cols)
        return frame.set_index("id")

    def remix_candidates(self, *, provider: str | None = None, as_records: bool = False) -> Any:
        out = [
            SimpleNamespace(**r)
            for r in reversed(self.rows)
            if get_model(r["model_id"]).is_sora
            and r.get("status") == "completed"
            and r.get("kept_for_remix")
            and not r.get("deleted")
            and r.get("video_id")
        ]
        return out if as_records else pd.DataFrame([vars(o) for o in out])

    def delete(self, history_id: int, files: bool = True) -> None:
        for r in self.rows:
            if r["id"] == history_id:
                r["deleted"] = True
                return
        raise KeyError(history_id)

    def total_spent(self) -> Decimal:
        return sum((Decimal(str(r.get("cost_usd") or 0)) for r in self.rows), Decimal(0))

    def spend(self, by: str = "model") -> pd.DataFrame:
        frame = self.df.reset_index()
        if by == "day":
            frame["day"] = [c.date() for c in frame["created_at"]]
        key = "model_id" if by == "model" else "day"
        out = frame.groupby(key)["cost_usd"].sum().rename("total_usd").to_frame()
        out["total"] = [Decimal(str(v)) for v in out["total_usd"]]
        return out


class FakeGenerator:
    """Same interface as sora2_widgets.Generator for the panel: provider, history, async agenerate()."""

    def __init__(self, history: FakeHistory, media: Path, *, provider: str = "emulator") -> None:
        self.history = history
        self.media = media
        self.provider = provider
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_with: dict[str, BaseException] = {}
        self.gate: threading.Event | None = None  # set → jobs wait for it (to test cancel)
        self.cancelled: list[str] = []

    async def agenerate(self, model_id: str, *, on_update: Any = None, **params: Any) -> Any:
        self.calls.append((model_id, params))
        rid = self.history.add(model_id=model_id, status="submitted", prompt=params.get("prompt", ""))
        req = f"req-{rid}"
        try:
            return await self._run(model_id, rid, req, params, on_update)
        except asyncio.CancelledError:
            # the real Generator cancels on the service here; the fake records that it was asked to
            self.cancelled.append(req)
            self.history.rows[rid - 1]["status"] = "cancelled"
            raise

    async def _run(self, model_id: str, rid: int, req: str, params: dict[str, Any], on_update: Any) -> Any:
        spec = get_model(model_id)
        on_update(SimpleNamespace(status="IN_QUEUE", queue_position=2, logs=(), request_id=req))
        await asyncio.sleep(0)
        log = SimpleNamespace(message="rendering 40%", level="INFO")
        on_update(SimpleNamespace(status="IN_PROGRESS", queue_position=None, logs=(log,), request_id=req))
        # a threading.Event set by the test's thread; polling keeps the task cancellable
        while self.gate is not None and not self.gate.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if model_id in self.fail_with:
            self.history.rows[rid - 1]["status"] = "failed"
            raise self.fail_with[model_id]
        path = self.media / f"{rid}.mp4"
        path.write_bytes(FAKE_MP4)
        thumb = self.media / f"{rid}.png"
        thumb.write_bytes(PNG)
        keep = params.get("delete_video") is False and spec.is_sora
        video_id = f"video_{rid}" if spec.is_sora else None
        settings = {k: v for k, v in params.items() if k not in ("prompt", "image_url", "video_id", "source_duration")}
        source = params.get("source_duration", 8) if spec.inherits_from_source else None
        cost = spec.estimate(settings, source_duration=source).high
        self.history.rows[rid - 1].update(
            status="completed",
            cost_usd=float(cost),
            video_id=video_id,
            kept_for_remix=keep,
            thumbnail_path=str(thumb),
            duration=8.0,
            width=1280,
            height=720,
        )
        on_update(SimpleNamespace(status="COMPLETED", queue_position=None, logs=(), request_id=req))
        return SimpleNamespace(
            url=f"https://v3.fal.media/files/{rid}.mp4",
            local_path=path,
            video_id=video_id,
            cost=cost,
            history_id=rid,
            request_id=req,
        )
