"""A small fake client with the methods the generator calls on a client (submit, resume, wait,
result, cancel, download, aclose), for generator tests that must not depend on the real client or
emulator: it counts requests and can fail in chosen ways. Also ledger fixtures for the history tests."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

import sora2_widgets as sw
from sora2_widgets import get_model
from sora2_widgets._errors import AuthError, ModelUnavailableError, ServiceError, SubmitUncertainError
from sora2_widgets._results import VideoResult
from sora2_widgets.history import _frame
from tests.team.backends import open_history

from .ledger_rows import KLING, PRO, T2T, row


@pytest.fixture(autouse=True)
def _on_each_backend(ledger_backend: object) -> None:
    """Every history test runs on SQLite and on PostgreSQL (tests of the SQLite file itself are
    marked ``sqlite_only`` with their reason)."""


# The fake client answers with the client's own value types, so it cannot drift from them.
Job, QueueUpdate, Downloaded = sw.Job, sw.QueueUpdate, sw.Downloaded


def make_mp4(path: Path, seconds: int = 1, size: tuple[int, int] = (320, 180), fps: int = 8) -> None:
    import av
    import numpy as np

    with av.open(str(path), "w") as box:
        stream = box.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        for i in range(seconds * fps):
            img = np.full((size[1], size[0], 3), (i * 20) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                box.mux(packet)
        for packet in stream.encode():
            box.mux(packet)


@pytest.fixture(scope="session")
def mp4_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    p = tmp_path_factory.mktemp("mp4") / "clip.mp4"
    make_mp4(p)
    return p.read_bytes()


@dataclass
class FakeClient:
    video: bytes
    provider: str = "emulator"
    #: model_id -> "ok" | "fail" | "unavailable" | "uncertain" | "auth" | "gone"
    outcome: dict[str, str] = field(default_factory=dict)
    wait_delay: float = 0.0
    #: how many downloads break half-way before downloads work again
    broken_downloads: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    results_by_request: Counter[str] = field(default_factory=Counter)
    jobs: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    sent_bodies: list[dict[str, Any]] = field(default_factory=list)
    cancelled: set[str] = field(default_factory=set)

    def _job(self, model_id: str, rid: str) -> Job:
        base = f"https://queue.fake.invalid/{get_model(model_id).app_id}/requests/{rid}"
        endpoint = get_model(model_id).endpoint
        return Job(model_id, endpoint, rid, base + "/status", base, base + "/cancel", 0.0, self.provider)

    async def submit(self, model_id: str, **params: Any) -> Job:
        self.calls["submit"] += 1
        spec = get_model(model_id)
        body = spec.validate(params).to_payload()
        how = self.outcome.get(model_id, "ok")
        if how == "auth":
            raise AuthError("the fal key was refused (HTTP 401)", status_code=401)
        if how == "unavailable":
            raise ModelUnavailableError(model_id, spec.endpoint, status_code=410)
        if how == "uncertain":
            raise SubmitUncertainError(model_id, spec.endpoint, "connection dropped")
        self.sent_bodies.append(body)
        rid = uuid.uuid4().hex
        self.jobs[rid] = (model_id, body)
        return self._job(model_id, rid)

    def resume(
        self,
        request_id: str,
        model_id: str,
        *,
        status_url: str | None = None,
        response_url: str | None = None,
        cancel_url: str | None = None,
    ) -> Job:
        self.calls["resume"] += 1
        return self._job(model_id, request_id)

    async def wait(
        self, job: Job, *, on_update: Any = None, timeout: float | None = None, cancel_on_timeout: bool = False
    ) -> QueueUpdate:
        self.calls["wait"] += 1
        if job.request_id not in self.jobs:
            raise ServiceError("request not found", status_code=404, request_id=job.request_id)
        for status in ("IN_QUEUE", "IN_PROGRESS"):
            if on_update:
                on_update(QueueUpdate(job.request_id, status, 0 if status == "IN_QUEUE" else None))
            await asyncio.sleep(self.wait_delay / 2)
        if job.request_id in self.cancelled:
            from sora2_widgets._errors import JobCancelledError

            raise JobCancelledError(job.request_id)
        if self.outcome.get(job.model_id) == "fail":
            return QueueUpdate(job.request_id, "COMPLETED", error="content policy", error_type="content_policy")
        done = QueueUpdate(job.request_id, "COMPLETED")
        if on_update:
            on_update(done)
        return done

    async def result(self, job: Job) -> VideoResult:
        self.calls["result"] += 1
        self.results_by_request[job.request_id] += 1
        model_id, body = self.jobs[job.request_id]
        spec = get_model(model_id)
        secs = int(str(body.get("duration", 8)))
        payload: dict[str, Any] = {
            "video": {
                "url": f"https://media.fake.invalid/{job.request_id}.mp4",
                "content_type": "video/mp4",
                "width": 1280,
                "height": 720,
                "duration": secs,
                "fps": 24,
            },
        }
        if spec.is_sora:
            payload["video_id"] = f"video_{job.request_id[:12]}"
            payload["thumbnail"] = {"url": f"https://media.fake.invalid/{job.request_id}.jpg"}
        return VideoResult.parse(model_id, payload, job.request_id)

    async def cancel(self, job: Job) -> bool:
        self.calls["cancel"] += 1
        self.cancelled.add(job.request_id)
        return True

    async def download(self, url: str, dest: Path) -> Downloaded:
        self.calls["download"] += 1
        data = self.video if url.endswith(".mp4") else b"\xff\xd8\xff\xe0fake-jpeg"
        tmp = dest.with_name(dest.name + f".{uuid.uuid4().hex[:6]}.part")
        with open(tmp, "wb") as fh:  # noqa: ASYNC230 - a tiny file in a test fake
            if self.broken_downloads > 0 and url.endswith(".mp4"):
                self.broken_downloads -= 1
                fh.write(data[: len(data) // 2])
                fh.close()
                tmp.unlink()
                raise ConnectionError("connection dropped half-way")
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
        return Downloaded(dest, len(data), hashlib.sha256(data).hexdigest())

    async def aclose(self) -> None:
        pass


@pytest.fixture()
def fake(mp4_bytes: bytes) -> FakeClient:
    return FakeClient(video=mp4_bytes)


@pytest.fixture()
def filled(tmp_path: Path) -> sw.History:
    """Seven rows over three days: completed, failed, unavailable and one of unknown outcome."""
    h = open_history(tmp_path)
    row(h, T2T, "completed", "0.40", "2026-01-01")
    row(h, T2T, "completed", "0.80", "2026-01-02")
    row(h, PRO, "completed", "6.00", "2026-01-02", provider="emulator")
    row(h, PRO, "failed", "0", "2026-01-02")
    row(h, KLING, "completed", "0.35", "2026-01-03")
    row(h, KLING, "unavailable", "0", "2026-01-03")
    row(h, T2T, "unknown", None, "2026-01-03", error="submit outcome unknown: ...", est_high_micros=800_000)
    return h


@pytest.fixture()
def snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshots for small ledgers too (normally only from 2 000 rows)."""
    monkeypatch.setattr(_frame, "SNAPSHOT_MIN_ROWS", 1)
