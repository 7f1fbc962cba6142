"""Job records of the emulator: what was asked, and where each job stands at a given instant.

A job's state is never held by an asyncio task: it is *derived* from the wall clock
(``submitted_at`` plus the configured queue and progress times) and from whether its
video has been rendered. The record is persisted as one JSON file per request under
``state_dir/jobs``, so that

* one emulator serves any number of event loops and threads (nothing is bound to a loop);
* a new process, pointed at the same ``state_dir``, answers for request ids that an
  earlier (possibly killed) process accepted — crash-recovery tests rely on this.

Records never hold secrets: only :meth:`ModelInput.public_params` is stored.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

__all__ = ["JobError", "JobRecord", "JobStore", "LogEntry", "Retention", "Snapshot", "snapshot"]

Status = Literal["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]

REQUEST_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
VIDEO_ID_RE = re.compile(r"^video_[0-9a-f]{32}$")

#: Every log line says it is simulated, so nobody mistakes an emulator answer for the service.
SIM = "[simulated]"


@dataclass(frozen=True)
class Retention:
    """How long fal keeps what a request produced (the emulator's expiry switch).

    fal keeps a queue result 1 h after the request completes, 6 min when the result is 10 KB or
    larger (https://fal.ai/docs/inference-api/queue/result). Media files on its CDN (outputs and
    uploads alike) live as long as the account setting says, unless a request asks otherwise with
    ``X-Fal-Object-Lifecycle-Preference: {"expiration_duration_seconds": N}``; ``media=None``
    stands for "no account limit". ``Retention()`` is fal's; tests pass shorter times.
    """

    result: float = 3600.0
    large_result: float = 360.0
    large_result_bytes: int = 10 * 1024
    media: float | None = None

    def __post_init__(self) -> None:
        for name in ("result", "large_result"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"Retention.{name} must be a non-negative number of seconds")
        if self.media is not None and not self.media >= 0:
            raise ValueError("Retention.media must be None or a non-negative number of seconds")
        if self.large_result_bytes < 0:
            raise ValueError("Retention.large_result_bytes must not be negative")

    def result_ttl(self, size: int) -> float:
        return self.large_result if size >= self.large_result_bytes else self.result


@dataclass
class JobError:
    """How a finished job failed: the HTTP answer its result URL gives."""

    status_code: int
    error_type: str
    #: A sentence, or fal's list of ``{loc, msg, type}`` items for model-side validation errors.
    detail: str | list[dict[str, Any]]
    message: str

    def body(self) -> dict[str, Any]:
        # fal's two error shapes: a model's error is ``{"detail": [{loc, msg, type}, ...]}``; a
        # request (infrastructure) error is flat, ``{"detail": "<sentence>", "error_type": "..."}``.
        if isinstance(self.detail, list):
            return {"detail": self.detail}
        return {"detail": self.detail, "error_type": self.error_type}


@dataclass
class JobRecord:
    """Everything needed to answer for one request, in any process, at any later time."""

    request_id: str
    endpoint: str
    model_id: str
    model_name: str
    app_id: str
    submitted_at: float
    queue_delay: float
    progress_time: float
    #: Other people's jobs ahead of it when it came (the emulator's ``queue_depth``), falling to 0.
    queue_position: int
    params: dict[str, Any]
    width: int
    height: int
    fps: int
    duration: int
    resolution: str
    aspect_ratio: str
    title: str
    subtitle: str
    seed: int
    video_file: str
    thumbnail_file: str | None
    video_id: str | None = None
    delete_video: bool = True
    notes: list[str] = field(default_factory=list)
    error: JobError | None = None
    cancelled_at: float | None = None
    #: Facts of the rendered files (file sizes, frame count, thumbnail size); ``None`` until rendered.
    rendered: dict[str, Any] | None = None
    rendered_at: float | None = None
    #: The base URL the submit came in on: media URLs in a webhook's payload are built on it.
    base_url: str | None = None
    #: ``?fal_webhook=``: where the emulator POSTs the outcome when the job ends (loopback only).
    webhook_url: str | None = None
    webhook_attempts: int = 0
    webhook_delivered_at: float | None = None
    webhook_gave_up_at: float | None = None
    webhook_last_error: str | None = None
    #: Seconds the media stay after completion, from the request's ``X-Fal-Object-Lifecycle-Preference``.
    media_ttl: float | None = None
    #: When each of this emulator's jobs of the same app waiting ahead of it starts (``_queue.py``).
    queue_ahead: list[float] = field(default_factory=list)

    # -- timeline -------------------------------------------------------------------------
    @property
    def started_at(self) -> float:
        return self.submitted_at + self.queue_delay

    def position_at(self, now: float) -> int:
        """Its ``queue_position`` at ``now`` (before it starts): the others' share falls over the wait
        in ``queue_position + 1`` equal slices (0, "next to run" as fal says, in the last one), and
        each of this emulator's jobs ahead counts until it starts."""
        remaining = (self.started_at - now) / self.queue_delay if self.queue_delay > 0 else 0.0
        depth = self.queue_position
        others = max(0, min(depth, int((depth + 1) * remaining)))
        return others + sum(1 for start in self.queue_ahead if start > now)

    @property
    def due_at(self) -> float:
        """When the job completes if rendering keeps up (a failing job ends when it would start)."""
        return self.started_at if self.error is not None else self.started_at + self.progress_time

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobRecord:
        data = dict(data)
        err = data.pop("error", None)
        record = cls(**data)
        record.error = JobError(**err) if err else None
        return record


@dataclass(frozen=True)
class LogEntry:
    message: str
    at: float
    level: str = "INFO"

    def to_json(self) -> dict[str, Any]:
        stamp = datetime.fromtimestamp(self.at, tz=timezone.utc).isoformat()
        return {"message": self.message, "level": self.level, "source": "user", "timestamp": stamp}


@dataclass(frozen=True)
class Snapshot:
    """Where a job stands at one instant."""

    status: Status
    queue_position: int | None
    logs: tuple[LogEntry, ...]
    completed_at: float | None
    cancelled: bool
    error: JobError | None

    def key(self) -> tuple[Any, ...]:
        """Changes exactly when a status stream must send a new event."""
        return (self.status, self.queue_position, len(self.logs))


_CANCELLED = JobError(
    status_code=499,
    error_type="client_cancelled",
    detail="The request was cancelled by the client before it completed.",
    message="Request cancelled",
)


def snapshot(record: JobRecord, now: float, render_done_at: float | None) -> Snapshot:
    """The state of ``record`` at ``now``, given when (if at all) its video finished rendering."""
    if record.cancelled_at is not None and record.cancelled_at <= now:
        logs = _logs(record, min(record.cancelled_at, record.due_at), None)
        logs = (*logs, LogEntry(f"{SIM} cancelled by the client", record.cancelled_at, "WARNING"))
        return Snapshot("COMPLETED", None, logs, record.cancelled_at, True, _CANCELLED)
    if now < record.started_at:
        return Snapshot("IN_QUEUE", record.position_at(now), (), None, False, None)
    if record.error is not None:
        logs = (
            *_logs(record, now, None),
            LogEntry(f"{SIM} failed: {record.error.message}", record.started_at, "ERROR"),
        )
        return Snapshot("COMPLETED", None, logs, record.started_at, False, record.error)
    if now >= record.due_at and render_done_at is not None:
        completed_at = max(record.due_at, min(render_done_at, now))
        return Snapshot("COMPLETED", None, _logs(record, now, completed_at), completed_at, False, None)
    return Snapshot("IN_PROGRESS", None, _logs(record, now, None), None, False, None)


def _logs(record: JobRecord, now: float, completed_at: float | None) -> tuple[LogEntry, ...]:
    start, span = record.started_at, record.progress_time
    if now < start:
        return ()
    size = f"{record.width}x{record.height}"
    out = [
        LogEntry(
            f"{SIM} sora2-widgets emulator running {record.model_name} ({record.endpoint}): "
            f"{record.duration} s, {size}, {record.aspect_ratio}, {record.fps} fps",
            start,
        )
    ]
    out.extend(LogEntry(f"{SIM} {note}", start) for note in record.notes)
    if record.error is not None:
        return tuple(out)
    for pct in (25, 50, 75):
        at = start + span * pct / 100
        if at <= now:
            out.append(LogEntry(f"{SIM} generating frames: {pct}%", at))
    # Lines are only ever appended (a line once shown never changes or disappears): a status
    # stream sends each event the lines that are new since its previous one, as fal does.
    if now >= start + span:
        out.append(LogEntry(f"{SIM} encoding H.264 video…", start + span))
    if completed_at is not None:
        facts = record.rendered or {}
        kib = int(facts.get("file_size", 0)) // 1024
        out.append(LogEntry(f"{SIM} encoded H.264 MP4 ({kib} KiB) and thumbnail; done", completed_at))
    return tuple(out)


class JobStore:
    """JSON files under ``root``: ``jobs/{request_id}.json`` and ``videos/{video_id}.json`` (index).

    Writes go to a temporary file in the same directory and are moved into place with
    :func:`os.replace`, so a reader in another process never sees half a record.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.jobs_dir = root / "jobs"
        self.videos_dir = root / "videos"
        self.media_dir = root / "media"
        for d in (self.jobs_dir, self.videos_dir, self.media_dir):
            d.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def exists(self, request_id: str) -> bool:
        return (self.jobs_dir / f"{request_id}.json").exists()

    def save(self, record: JobRecord) -> None:
        with self._lock:
            _atomic_write_json(self.jobs_dir / f"{record.request_id}.json", record.to_json())
            if record.video_id is not None:
                index = self.videos_dir / f"{record.video_id}.json"
                if not index.exists():
                    _atomic_write_json(index, {"request_id": record.request_id})

    def load(self, request_id: str) -> JobRecord | None:
        """The record, or ``None`` for an id this store never issued (or a malformed id)."""
        if not REQUEST_ID_RE.match(request_id):
            return None
        path = self.jobs_dir / f"{request_id}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return JobRecord.from_json(data)

    def find_video(self, video_id: str) -> JobRecord | None:
        """The job that produced ``video_id``, or ``None`` if this emulator never made it."""
        if not VIDEO_ID_RE.match(video_id):
            return None
        try:
            data = json.loads((self.videos_dir / f"{video_id}.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return self.load(str(data["request_id"]))

    def media_path(self, record: JobRecord, file_name: str) -> Path:
        return self.media_dir / record.request_id / file_name


def _atomic_write_json(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
