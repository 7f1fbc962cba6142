"""fal's wire formats, built from job records: request URLs, status, result and webhook bodies.

Shared by the HTTP handlers (:mod:`._app`) and the webhook sender (:mod:`._webhooks`), so a
webhook's payload is byte for byte what the result URL answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._catalog import get_model
from ._jobs import JobRecord, LogEntry, Snapshot

__all__ = ["error_headers", "request_urls", "result_body", "status_body", "webhook_body"]


def request_urls(record: JobRecord, base: str) -> dict[str, str]:
    """fal's rule: a request lives under the app id (``owner/app``), never under the endpoint's sub-path."""
    root = f"{base}/{record.app_id}/requests/{record.request_id}"
    return {"response_url": root, "status_url": root + "/status", "cancel_url": root + "/cancel"}


def status_body(record: JobRecord, snap: Snapshot, base: str, logs: Sequence[LogEntry] | None) -> dict[str, Any]:
    """A status answer. ``logs=None`` → ``"logs": null`` (not asked for); otherwise those lines."""
    body: dict[str, Any] = {
        "status": snap.status,
        "request_id": record.request_id,
        **request_urls(record, base),
        "logs": None if logs is None else [entry.to_json() for entry in logs],
        "metrics": {},
    }
    if snap.status == "IN_QUEUE":
        body["queue_position"] = snap.queue_position
    if snap.status == "COMPLETED":
        if snap.error is not None:
            body["error"] = snap.error.message
            body["error_type"] = snap.error.error_type
        elif snap.completed_at is not None:
            body["metrics"] = {"inference_time": round(snap.completed_at - record.started_at, 3)}
    return body


def result_body(record: JobRecord, base: str) -> dict[str, Any]:
    """The model's output for a job that succeeded (media URLs under ``base``)."""
    facts = record.rendered or {}
    media = f"{base}/media/{record.request_id}"
    video: dict[str, Any] = {
        "url": f"{media}/{record.video_file}",
        "content_type": "video/mp4",
        "file_name": record.video_file,
        "file_size": facts.get("file_size"),
    }
    if record.video_id is None:  # Kling, Veo and Seedance answer a file object, in their entry's shape
        return _file_result(record, video, facts)
    video.update(
        width=record.width,
        height=record.height,
        fps=facts.get("fps", record.fps),
        duration=facts.get("duration", float(record.duration)),
        num_frames=facts.get("num_frames"),
    )
    out: dict[str, Any] = {"video": video, "video_id": record.video_id}
    if record.thumbnail_file:
        out["thumbnail"] = {
            "url": f"{media}/{record.thumbnail_file}",
            "content_type": "image/jpeg",
            "file_name": record.thumbnail_file,
            "file_size": facts.get("thumbnail_size"),
            "width": facts.get("thumbnail_width"),
            "height": facts.get("thumbnail_height"),
        }
    return out


def _file_result(record: JobRecord, video: dict[str, Any], facts: dict[str, Any]) -> dict[str, Any]:
    """``{"video": file}``, with what the entry says the model reports: the size and length it
    picked (Seedance's "auto"), and extra keys such as the ``seed``."""
    try:
        output = get_model(record.model_id).entry.output
    except KeyError:  # a job kept on disk for a model no longer in the catalog
        return {"video": video}
    if output.reports_size:
        video.update(
            width=record.width,
            height=record.height,
            fps=facts.get("fps", record.fps),
            duration=facts.get("duration", float(record.duration)),
            num_frames=facts.get("num_frames"),
        )
    out: dict[str, Any] = {"video": video}
    if "seed" in output.extra:
        out["seed"] = record.seed
    return out


def webhook_body(record: JobRecord, snap: Snapshot, base: str) -> dict[str, Any]:
    """What fal POSTs to ``fal_webhook`` when a request ends (https://docs.fal.ai/model-endpoints/webhooks).

    ``{"request_id", "gateway_request_id", "status": "OK", "payload": <output>}`` on success;
    ``{..., "status": "ERROR", "error": "Invalid status code: 422", "payload": <the error body>}``
    otherwise — the same body the result URL answers. A cancelled request is an error too
    (its result answers 499 ``client_cancelled``). The emulator never retries a request, so
    ``gateway_request_id`` always equals ``request_id``.
    """
    out: dict[str, Any] = {"request_id": record.request_id, "gateway_request_id": record.request_id}
    if snap.error is None:
        out.update(status="OK", payload=result_body(record, base))
    else:
        out.update(
            status="ERROR",
            error=f"Invalid status code: {snap.error.status_code}",
            payload=snap.error.body(),
        )
    return out


#: Error answers fal marks retryable: a timeout, rate limiting, and a gateway/service outage.
_RETRYABLE = frozenset({408, 429, 502, 503, 504})


def error_headers(status_code: int) -> dict[str, str]:
    """``X-Fal-Retryable`` for an error answer (fal puts it on model and request errors)."""
    return {"x-fal-retryable": "true" if status_code in _RETRYABLE else "false"}
