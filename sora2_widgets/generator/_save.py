"""After the job: record its result and cost once, then save the video and thumbnail into ``media/``.

The money row comes first: a finished job is paid for, so its result and actual cost are recorded
before any download. A failed download leaves the row ``completed`` with an error that says
``resume()`` retries it; a file the service no longer has (404/410) leaves one saying so and no
``video_url``, so ``resume()`` never asks for it again.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from .._catalog import ModelSpec
from .._pricing import CostEstimate
from .._results import VideoResult
from .._unit_price import provisional_cost
from ..history import ACTIVE_STATUSES, to_micros
from ._generation import Generation, OnUpdate, Progress
from ._media import download_checked, media_suffix, probe
from ._outcome import emit, error_text, final, is_gone
from ._state import RunState

log = logging.getLogger("sora2_widgets.generator")


async def record_result(
    state: RunState,
    index: int,
    hid: int,
    spec: ModelSpec,
    result: VideoResult,
    on_update: OnUpdate | None,
    *,
    est: CostEstimate | None = None,
) -> Generation:
    """Record the finished job's result and actual cost (once), then save its media."""
    history = state.history
    rec = history.get(hid)
    source_duration = rec.params.get("source_duration")
    try:
        cost: int | None = to_micros(spec.actual_cost(rec.params, result, source_duration=source_duration))
    except ValueError as exc:
        log.warning("generation #%d: cost unknown (%s)", hid, exc)
        cost = None
    # The money row: recorded once (only while the row is still active), before any download.
    done = {
        "status": "completed",
        "cost_micros": cost,
        "error": None,
        "video_url": result.url,
        "video_id": result.video_id,
        "width": result.width,
        "height": result.height,
        "duration": result.duration,
        "fps": result.fps,
        **_provisional(spec, result),
    }
    if not history.update(hid, only_if_status=ACTIVE_STATUSES, **done):
        now = history.get(hid).status
        if now != "completed":
            # We hold the finished job's result, so it ran and is paid for, whatever the row
            # was told meanwhile (a cancel that lost the race, a failure guessed too early).
            log.warning("generation #%d: was %r, but its job completed; recording the result", hid, now)
            history.update(hid, only_if_status=(now,), **done)
    return await save_media(state, index, hid, spec, result, on_update, est=est)


def _provisional(spec: ModelSpec, result: VideoResult) -> dict[str, Any]:
    """``x-fal-billable-units`` and the provisional cost it gives; nothing when fal's answer had no header."""
    if result.billable_units is None:
        return {}
    cost = provisional_cost(spec, result.billable_units)
    # REAL in the ledger, as fal reports it (six places); the money is exact micro-dollars, rounded up.
    return {
        "billable_units": float(result.billable_units),
        "provisional_micros": None if cost is None else to_micros(cost),
    }


def _settled_from_file(
    spec: ModelSpec, params: dict[str, Any], result: VideoResult | None, facts: dict[str, Any]
) -> int | None:
    known = {k: facts[k] for k in ("width", "height", "duration", "fps") if facts.get(k) is not None}
    base = result or VideoResult(model_id=spec.id, url="", raw={})
    try:
        source = params.get("source_duration")
        return to_micros(spec.actual_cost(params, base.model_copy(update=known), source_duration=source))
    except ValueError as exc:
        log.warning("cost unknown (%s)", exc)
        return None


async def save_media(
    state: RunState,
    index: int,
    hid: int,
    spec: ModelSpec,
    result: VideoResult | None,
    on_update: OnUpdate | None,
    *,
    est: CostEstimate | None = None,
) -> Generation:
    """Download the video (checked) and thumbnail of a completed row, probe it, record the files.

    ``result`` is ``None`` when resuming a row whose media was never saved: its URL comes from the row.
    """
    history = state.history
    rec = history.get(hid)
    emit(on_update, Progress(index, spec.id, "downloading", hid, rec.request_id))
    client = state.client()
    url = result.url if result is not None else rec.video_url
    assert url is not None
    dest = history.media_path(hid, spec.id, media_suffix(url, ".mp4"))
    fields: dict[str, Any] = {"lease_owner": None, "lease_until": None}
    exc: Exception | None = None
    try:
        try:
            await asyncio.to_thread(dest.parent.mkdir, parents=True, exist_ok=True)
        except OSError as mexc:
            # Inside the try: the job is paid and recorded; a bad media folder must not turn
            # into a bare OSError for the caller nor leave the row leased.
            raise OSError(mexc.errno, f"cannot write to the media folder {dest.parent} ({mexc.strerror})") from None
        dl = await download_checked(client, url, dest, result.file_size if result is not None else None)
        fields.update(local_path=history._store_path(dl.path), sha256=dl.sha256, error=None)
        thumb: Path | None = None
        thumb_url = result.thumbnail_url if result is not None else None
        if thumb_url:
            try:
                tdl = await client.download(
                    thumb_url, history.media_path(hid, spec.id, media_suffix(thumb_url, ".jpg"))
                )
                thumb = tdl.path
            except Exception as texc:
                log.warning("generation #%d: thumbnail not saved (%s)", hid, error_text(texc))
        try:
            want = None if thumb else history.media_path(hid, spec.id, ".jpg")
            facts = await asyncio.to_thread(probe, Path(dl.path), want)
        except Exception as pexc:
            log.warning("generation #%d: could not read the saved video (%s)", hid, error_text(pexc))
            facts = {}
        thumb = thumb or facts.get("thumbnail")
        fields["thumbnail_path"] = history._store_path(thumb)
        for key in ("width", "height", "duration", "fps"):
            if getattr(rec, key) is None and facts.get(key) is not None:
                fields[key] = facts[key]
        if rec.cost is None and rec.status == "completed" and facts:
            # The result did not state what the price needs (a token price's frame size): the saved file does.
            fields["cost_micros"] = _settled_from_file(spec, rec.params, result, facts)
    except Exception as dexc:
        exc = dexc
        if is_gone(dexc):
            # The job ran and is paid for; the row keeps its cost and says why it has no file. The
            # dead URL is dropped: a completed row without one is what resume() never claims again.
            fields["error"] = f"the video could no longer be downloaded: {error_text(dexc)} (its cost stands)"
            fields["video_url"] = None
        else:
            fields["error"] = f"download failed: {error_text(dexc)} (resume() retries it)"
        log.warning("generation #%d: download failed: %s", hid, error_text(dexc))
    history.update(hid, **fields)
    return final(history, index, on_update, hid, exc, est=est, result=result)
