"""Job intake: the record of a new job — its size (from the input, its image or the remixed video),
its refused inputs, and the job a schema-failed input becomes (fal accepts it, the model refuses it)."""

from __future__ import annotations

import base64
import binascii
import io
import logging
import math
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PIL import Image, UnidentifiedImageError

from .._catalog import ModelSpec
from .._schemas import ModelInput
from ..catalog._billing import requested_seconds
from ._jobs import JobError, JobRecord

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["create_failed_job", "create_job"]

log = logging.getLogger("sora2_widgets.emulator")


@dataclass(frozen=True)
class _Size:
    resolution: str
    aspect_ratio: str
    notes: tuple[str, ...] = field(default=())


def create_job(
    emu: Emulator,
    spec: ModelSpec,
    inp: ModelInput,
    *,
    base_url: str | None = None,
    webhook_url: str | None = None,
    media_ttl: float | None = None,
) -> JobRecord:
    """Record a new job (and start rendering its video). Never holds a secret."""
    params = inp.public_params()
    request_id, video_id = emu.new_ids(video=spec.is_sora)
    prompt = str(params.get("prompt", ""))
    error: JobError | None = _check_inputs(emu, spec, params)
    dims: tuple[int, int]
    if error is not None:
        size, dims, duration, fps = _Size("720p", "16:9"), (1280, 720), 4, emu.fps
        video_id = None
    elif spec.inherits_from_source:
        source, error = _remix_source(emu, str(params["video_id"]))
        if source is not None:
            size = _Size(source.resolution, source.aspect_ratio, (f"remixing {source.video_id}",))
            dims = (source.width, source.height)
            duration, fps = source.duration, source.fps
        else:
            size, dims, duration, fps = _Size("720p", "16:9"), (1280, 720), 4, emu.fps
    else:
        size = _size_for(emu, spec, params)
        dims = spec.entry.output.size(size.resolution, size.aspect_ratio)
        duration, picked = _duration_for(spec, params)
        if picked:
            size = _Size(size.resolution, size.aspect_ratio, (*size.notes, picked))
        fps = emu.fps if spec.is_sora else spec.entry.output.fps
    width, height = dims
    if video_id is not None:
        video_file, thumb = f"{video_id}.mp4", f"{video_id}.jpg"
    else:
        video_file, thumb = "output.mp4", None
    record = JobRecord(
        **_queued(emu, spec, request_id),
        params=params,
        width=width,
        height=height,
        fps=fps,
        duration=duration,
        resolution=size.resolution,
        aspect_ratio=size.aspect_ratio,
        title=prompt,
        subtitle=f"{spec.name} · {duration} s · {width}x{height} · SIMULATED by the sora2-widgets emulator",
        video_file=video_file,
        thumbnail_file=thumb,
        video_id=video_id,
        delete_video=bool(params.get("delete_video", True)),
        notes=list(size.notes),
        error=error,
        base_url=base_url,
        webhook_url=webhook_url,
        media_ttl=media_ttl,
    )
    emu.store.save(record)
    if error is None:
        emu.ensure_render(record)
    if webhook_url is not None:
        emu.webhooks.schedule(request_id, record.due_at)
    log.info("emulator accepted %s for %s (%dx%d, %d s)", request_id, spec.endpoint, width, height, duration)
    return record


def _queued(emu: Emulator, spec: ModelSpec, request_id: str) -> dict[str, Any]:
    """What every new job record starts with: which model, when, and the queue it waits in."""
    now = time.time()
    return {
        "request_id": request_id,
        "endpoint": spec.endpoint,
        "model_id": spec.id,
        "model_name": spec.name,
        "app_id": spec.app_id,
        "submitted_at": now,
        "queue_delay": emu.queue_delay,
        "progress_time": emu.progress_time,
        "queue_position": emu.queue_depth,
        "queue_ahead": emu.waiting.join(spec.app_id, request_id, now + emu.queue_delay, now),
        "seed": int(request_id.replace("-", ""), 16) % (2**31),
    }


def create_failed_job(
    emu: Emulator,
    spec: ModelSpec,
    error: JobError,
    prompt: str = "",
    *,
    base_url: str | None = None,
    webhook_url: str | None = None,
) -> JobRecord:
    """Record a job the model will refuse (its input failed the schema): fal accepts it on the
    queue, completes it with ``error``, and its result URL answers ``error``. Nothing of the
    refused input is stored (it may hold a secret), only the prompt for the log line."""
    request_id, _ = emu.new_ids()
    record = JobRecord(
        **_queued(emu, spec, request_id),
        params={},
        width=1280,
        height=720,
        fps=emu.fps,
        duration=4,
        resolution="720p",
        aspect_ratio="16:9",
        title=prompt[:200],
        subtitle=f"{spec.name} · refused input · SIMULATED by the sora2-widgets emulator",
        video_file="output.mp4",
        thumbnail_file=None,
        error=error,
        base_url=base_url,
        webhook_url=webhook_url,
    )
    emu.store.save(record)
    if webhook_url is not None:
        emu.webhooks.schedule(request_id, record.due_at)
    log.info("emulator accepted %s for %s (input refused: %s)", request_id, spec.endpoint, error.message)
    return record


def _check_inputs(emu: Emulator, spec: ModelSpec, params: dict[str, Any]) -> JobError | None:
    """What fal's runner says when it cannot fetch or read an image input (a file on this
    emulator's storage that is missing, expired or not an image); other URLs are not fetched."""
    for name in spec.image_fields:
        url = params.get(name)
        if not isinstance(url, str):
            continue
        ours, stored = emu.storage.from_url(url)
        if not ours:
            continue
        if stored is None:
            return _input_error(
                name, "file_download_error", f"Failed to download the file at {url}: it does not exist or expired"
            )
        try:
            with Image.open(emu.storage.path_of(stored)) as im:
                im.size  # noqa: B018 - reading the header is the check
        except (UnidentifiedImageError, OSError, ValueError):
            return _input_error(name, "image_load_error", f"The file at {url} could not be read as an image")
    return None


def _remix_source(emu: Emulator, video_id: str) -> tuple[JobRecord | None, JobError | None]:
    source = emu.store.find_video(video_id)
    if source is None:
        return None, _video_error(
            video_id,
            "video_not_found",
            f"video_id {video_id!r} was not found: only videos made by Sora 2 (text- or image-to-video) "
            "on this service can be remixed",
        )
    if source.delete_video:
        return None, _video_error(
            video_id,
            "video_deleted",
            f"video_id {video_id!r} was deleted after delivery (it was generated with delete_video=true); "
            "generate with delete_video=false to keep a video remixable",
        )
    state = emu.snapshot(source)
    if state.status != "COMPLETED" or state.error is not None:
        return None, _video_error(
            video_id, "video_not_ready", f"video_id {video_id!r} has not finished generating successfully"
        )
    return source, None


def _duration_for(spec: ModelSpec, params: dict[str, Any]) -> tuple[int, str]:
    """The length to render, and a note when the service picked it (``"auto"``)."""
    if params.get("duration") == "auto" and not params.get("multi_prompt"):
        seconds = int(str(spec.entry.output.auto.get("duration", 5)))
        return seconds, f"duration auto: using {seconds} s"
    (seconds,) = requested_seconds(spec.entry, params)
    return seconds, ""


def _size_for(emu: Emulator, spec: ModelSpec, params: dict[str, Any]) -> _Size:
    """The resolution and aspect ratio to render: as asked, or what the service picks for "auto"
    (from the start image where there is one: its nearest aspect ratio the model makes)."""
    output = spec.entry.output
    resolution = str(params.get("resolution") or output.resolution or next(iter(output.sizes)))
    aspect = params.get("aspect_ratio")
    image_url = next((params[n] for n in spec.image_fields if params.get(n) is not None), None)
    needs_image = aspect in (None, "auto") or resolution == "auto"
    notes: list[str] = []
    size = _input_image_size(emu, str(image_url), notes) if image_url is not None and needs_image else None
    if resolution == "auto":
        # Sora picks the resolution from the image: standard always 720p, Pro 1080p for large images.
        resolution = "1080p" if spec.pro and size is not None and min(size) >= 1080 else "720p"
        notes.append(f"resolution auto: using {resolution}")
    made = [a for a in spec.aspect_ratios if a != "auto" and a in output.sizes[resolution]] or list(
        output.sizes[resolution]
    )
    if aspect in (None, "auto"):
        if size is not None:
            w, h = size
            ratio = math.log(w / h)
            # The nearest the model makes; a tie goes to the one listed first (16:9 before 1:1).
            aspect = min(made, key=lambda a: abs(math.log(_ratio(a)) - ratio))
            notes.append(f"aspect_ratio auto: the image is {w}x{h}, using {aspect}")
        else:
            aspect = str(output.auto.get("aspect_ratio", made[0]))
            if image_url is not None:
                notes.append(f"aspect_ratio auto: image size unknown, using {aspect}")
            elif "aspect_ratio" in params:
                notes.append(f"aspect_ratio auto: using {aspect}")
    return _Size(resolution, str(aspect), tuple(notes))


def _ratio(aspect: str) -> float:
    w, _, h = aspect.partition(":")
    return float(w) / float(h)


def _input_image_size(emu: Emulator, url: str, notes: list[str]) -> tuple[int, int] | None:
    """(width, height) of an image input: a file uploaded to this emulator, or a data URI."""
    ours, stored = emu.storage.from_url(url)
    if ours and stored is not None:
        try:
            with Image.open(emu.storage.path_of(stored)) as im:
                return im.size
        except (UnidentifiedImageError, OSError, ValueError):
            notes.append("image_url could not be read as an image; its size is unknown")
            return None
    return _image_size(url, notes)


def _input_error(field_name: str, kind: str, msg: str) -> JobError:
    return JobError(
        status_code=422, error_type=kind, detail=[{"loc": ["body", field_name], "msg": msg, "type": kind}], message=msg
    )


def _video_error(video_id: str, kind: str, msg: str) -> JobError:
    # The queue accepts any video_id (it cannot know them); the model refuses it when the job runs,
    # and the result URL answers 422 in fal's validation-error shape, naming the field.
    return JobError(
        status_code=422,
        error_type=kind,
        detail=[{"loc": ["body", "video_id"], "msg": msg, "type": kind}],
        message=msg,
    )


def _image_size(url: str, notes: list[str]) -> tuple[int, int] | None:
    """(width, height) of a data-URI image; ``None`` (with a note) for URLs we cannot fetch offline."""
    if not url.startswith("data:"):
        notes.append("image_url is not fetched by the offline emulator; its size is unknown")
        return None
    header, _, payload = url.partition(",")
    try:
        raw = (
            base64.b64decode(payload, validate=False) if ";base64" in header else urllib.parse.unquote_to_bytes(payload)
        )
        with Image.open(io.BytesIO(raw)) as im:
            return im.size
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError):
        notes.append("image_url data URI could not be decoded as an image; its size is unknown")
        return None
