"""Finish what earlier sessions left: claim unfinished rows under a lease, then follow or save each.

Each row is claimed under a lease first, so two kernels resuming together finish every job exactly
once; the rows this generator is itself working on are never claimed. A row is then

* ``completed`` without its media saved → the download is retried, unless the service no longer
  had the file (the row then has no ``video_url``; see ``_save``);
* without a request id (the process ended while submitting) → ``unknown``, never resubmitted;
* otherwise → followed to its end like a fresh job, from the request id and URLs the row kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from .._catalog import get_model
from .._errors import SubmitUncertainError
from ..history import HistoryRecord
from ._generation import Generation, OnUpdate
from ._outcome import UNKNOWN_SUBMIT, error_text, estimate_of, final, finish_row
from ._run import follow
from ._save import save_media
from ._state import RunState

log = logging.getLogger("sora2_widgets.generator")


async def resume_pass(state: RunState, on_update: OnUpdate | None = None) -> list[Generation]:
    """Claim the unfinished rows of this client's provider and finish them concurrently."""
    client = state.client()
    with contextlib.suppress(OSError):  # tidying must never stop a resume
        await asyncio.to_thread(state.history.sweep_partial_files)
    claimed = await asyncio.to_thread(state.claim, client.provider)
    if not claimed:
        return []
    state.ensure_heartbeat()
    log.info("resuming %d generation(s): %s", len(claimed), ", ".join(f"#{r.id}" for r in claimed))
    try:
        outcomes = await asyncio.gather(
            *(_resume_one(state, i, r, on_update) for i, r in enumerate(claimed)), return_exceptions=True
        )
    finally:
        state.live.difference_update(rec.id for rec in claimed)
    out: list[Generation] = []
    for rec, res in zip(claimed, outcomes, strict=True):
        if isinstance(res, Generation):
            out.append(res)
        elif isinstance(res, BaseException):
            if isinstance(res, asyncio.CancelledError):
                raise res
            log.error("resuming #%d failed: %s", rec.id, error_text(res))
            state.history.release(rec.id, state.owner)
            out.append(
                Generation(
                    model_id=rec.model_id,
                    status=rec.status,
                    history_id=rec.id,
                    error=error_text(res),
                    exception=res,
                )
            )
    return out


async def _resume_one(state: RunState, index: int, rec: HistoryRecord, on_update: OnUpdate | None) -> Generation:
    async with state.client().slot():
        return await _resume_slotted(state, index, rec, on_update)


async def _resume_slotted(state: RunState, index: int, rec: HistoryRecord, on_update: OnUpdate | None) -> Generation:
    spec = get_model(rec.model_id)
    est = estimate_of(rec)
    if rec.status == "completed":
        return await save_media(state, index, rec.id, spec, None, on_update, est=est)
    if rec.request_id is None:
        exc = SubmitUncertainError(spec.id, spec.endpoint, "the process ended while submitting")
        finish_row(state.history, rec.id, "unknown", exc, cost=None, prefix=UNKNOWN_SUBMIT + ": ")
        return final(state.history, index, on_update, rec.id, exc, est=est)
    job = state.client().resume(rec)
    return await follow(state, index, rec.id, spec, job, on_update, est=est)
