"""One job from prepared input to its end, and batches of them: budget → row → submit → follow.

1. validate the input and price it (``_prepare``);
2. **budget**: ``spent + reserved (running jobs' high estimates) + this job's high estimate`` must
   fit, checked and reserved in the same write transaction as the ledger row, so several kernels
   cannot overspend together. Refused → :class:`BudgetExceededError`, nothing sent;
3. the ledger row is written (status ``submitted``) **before** the request is sent, so a job can
   never exist on the service without a row here; then submit, and record the request id/URLs;
4. wait, updating the row to ``in_queue``/``in_progress`` and calling ``on_update``;
5. the result and cost are recorded and the media saved (``_save``).

The service refusing the request outright (401/403 key, 422 input, 429 after retries) removes the
row again: no job exists, so there is nothing to remember or pay. How other failures end a row is
in ``_outcome``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from .._catalog import ModelSpec
from .._errors import (
    AuthError,
    BudgetExceededError,
    JobCancelledError,
    LedgerError,
    ModelUnavailableError,
    RateLimitError,
    ServiceError,
    Sora2Error,
    SubmitUncertainError,
    ValidationError,
)
from .._pricing import CostEstimate
from .._results import VideoResult
from ..history import ACTIVE_STATUSES
from ._adapter import JobHandle
from ._generation import Generation, OnUpdate, Progress
from ._marker import marker_for
from ._outcome import (
    UNKNOWN_SUBMIT,
    emit,
    error_text,
    final,
    finish_row,
    is_gone,
    mark_cancelled,
    not_recorded,
    settle_failure,
)
from ._prepare import prepare, upload_images
from ._save import record_result
from ._state import RunState

log = logging.getLogger("sora2_widgets.generator")

#: Reads a job's result from somewhere other than the queue; ``None`` when it has none.
ListedResult = Callable[[], Awaitable[VideoResult | None]]
#: A job's sweep name and combination key, stored on its ledger row (``sora2_widgets.experiments``).
SweepTag = tuple[str, str]


async def run_one(
    state: RunState,
    index: int,
    model_id: str,
    params: Mapping[str, Any],
    on_update: OnUpdate | None,
    sweep: SweepTag | None = None,
) -> Generation:
    """Run one job to its end; every failure comes back as a Generation (raised by the caller)."""
    try:
        spec, send, fields, est = prepare(state, model_id, params)
    except Sora2Error as exc:
        return not_recorded(index, on_update, model_id, exc)
    if sweep is not None:
        # In the row's own insert: a sweep re-run after a crash must find every job it sent.
        fields["sweep"], fields["sweep_key"] = sweep
    # The slot is taken before the ledger row exists: a job waiting for one has sent nothing,
    # so a crash meanwhile must leave no row (one without a request id reads "submit outcome
    # unknown"). It is held from the first upload until the media is saved, so max_concurrency
    # bounds the whole job: a batch of image jobs never uploads more files at once than that.
    async with state.client().slot():
        try:
            send = await upload_images(state, index, spec.id, params, send, fields, on_update)
        except Sora2Error as exc:
            return not_recorded(index, on_update, model_id, exc, est=est)
        return await _budget_submit_follow(state, index, spec, send, fields, est, on_update)


async def _budget_submit_follow(
    state: RunState,
    index: int,
    spec: ModelSpec,
    send: dict[str, Any],
    fields: dict[str, Any],
    est: CostEstimate,
    on_update: OnUpdate | None,
) -> Generation:
    budget = state.budget_now()
    try:
        # In the row's own insert, before anything is sent: a lost answer can be found again.
        fields = {**fields, "submit_marker": marker_for(spec, send)}
        hid, committed = await asyncio.to_thread(state.add_live, fields, budget, est.high)
    except (BudgetExceededError, LedgerError, ValidationError) as exc:
        # The ledger's own (team) budget refused, or the ledger cannot record the row (a team
        # server that is down): no row, and nothing sent.
        return not_recorded(index, on_update, spec.id, exc, est=est)
    if hid is None:
        assert budget is not None
        refusal = BudgetExceededError(budget=budget, spent=committed, requested=est.high)
        return not_recorded(index, on_update, spec.id, refusal, est=est)
    state.ensure_heartbeat()
    # Registered before submitting: a Cancel clicked while the submit is in flight must end
    # as "cancelled" once the job exists, not race the start of the wait.
    state.cancels.setdefault(hid, asyncio.Event())
    try:
        return await _submit_and_follow(state, index, hid, spec, send, est, on_update)
    finally:
        state.cancels.pop(hid, None)
        state.live.discard(hid)


async def _submit_and_follow(
    state: RunState,
    index: int,
    hid: int,
    spec: ModelSpec,
    send: dict[str, Any],
    est: CostEstimate,
    on_update: OnUpdate | None,
) -> Generation:
    history = state.history
    emit(on_update, Progress(index, spec.id, "submitted", history_id=hid))
    submit = asyncio.ensure_future(state.client().submit(spec.id, send))
    try:
        job = await asyncio.shield(submit)
    except asyncio.CancelledError:
        submit.add_done_callback(lambda t: _after_abandoned_submit(state, hid, t))
        raise
    except (AuthError, RateLimitError) as exc:
        await asyncio.to_thread(history.remove_row, hid)
        return not_recorded(index, on_update, spec.id, exc, est=est)
    except ValidationError as exc:  # the service's 422: refused, nothing created
        await asyncio.to_thread(history.remove_row, hid)
        return not_recorded(index, on_update, spec.id, exc, est=est)
    except ModelUnavailableError as exc:
        finish_row(history, hid, "unavailable", exc, cost=0)
        return final(history, index, on_update, hid, exc, est=est)
    except SubmitUncertainError as exc:
        finish_row(history, hid, "unknown", exc, cost=None, prefix=UNKNOWN_SUBMIT + ": ")
        return final(history, index, on_update, hid, exc, est=est)
    except Exception as exc:
        # A definite answer from the service (or a bug before sending): no job to follow.
        finish_row(history, hid, "failed", exc, cost=0)
        return final(history, index, on_update, hid, exc, est=est)
    await asyncio.to_thread(_record_job, state, hid, job)
    return await follow(state, index, hid, spec, job, on_update, est=est)


def _record_job(state: RunState, hid: int, job: JobHandle) -> None:
    """The request id and URLs the service gave: what following, resuming or cancelling needs."""
    state.history.update(
        hid,
        request_id=job.request_id,
        status_url=job.status_url,
        response_url=job.response_url,
        cancel_url=job.cancel_url,
    )


def _after_abandoned_submit(state: RunState, hid: int, task: asyncio.Future[JobHandle]) -> None:
    """The caller went away mid-submit: record what the submit did, and cancel the job."""
    if task.cancelled() or task.exception() is not None:
        exc = task.exception() if not task.cancelled() else None
        finish_row(
            state.history,
            hid,
            "unknown",
            exc or RuntimeError("cancelled while submitting"),
            cost=None,
            prefix=UNKNOWN_SUBMIT + ": ",
        )
        return
    job = task.result()
    _record_job(state, hid, job)

    async def cancel_it() -> None:
        with contextlib.suppress(Exception):
            if await state.client().cancel(job):
                mark_cancelled(state.history, hid, "cancelled")
                return
        state.history.release(hid, state.owner)  # leave it to resume()

    asyncio.get_running_loop().create_task(cancel_it())


async def follow(
    state: RunState,
    index: int,
    hid: int,
    spec: ModelSpec,
    job: JobHandle,
    on_update: OnUpdate | None,
    *,
    est: CostEstimate | None = None,
    listed: ListedResult | None = None,
) -> Generation:
    """Wait for a submitted (or resumed) job, then record its result and save its media.

    ``listed``: where else the result can be read when the queue no longer has it (a recovered
    job's entry in fal's request list); it returns ``None`` when it has none either.

    A cancel (``cancel(history_id)``) or the caller going away (Ctrl-C, a closed notebook cell)
    cancels the job on the service; a job finished before the cancel landed is recorded, as it is
    paid for."""
    client = state.client()
    last = {"status": ""}
    db = state.history

    def seen(update: Any) -> None:
        stage = {"IN_QUEUE": "in_queue", "IN_PROGRESS": "in_progress"}.get(getattr(update, "status", ""), "")
        if stage and stage != last["status"]:
            last["status"] = stage
            db.update(hid, status=stage, only_if_status=ACTIVE_STATUSES)
        emit(
            on_update,
            Progress(
                index,
                spec.id,
                stage or "in_progress",
                hid,
                job.request_id,
                queue_position=getattr(update, "queue_position", None),
                elapsed=float(getattr(update, "elapsed", 0.0) or 0.0),
                logs=tuple(getattr(update, "logs", ()) or ()),
            ),
        )

    cancel_ev = state.cancels.setdefault(hid, asyncio.Event())
    try:
        waiter = asyncio.ensure_future(client.wait(job, seen))
        stopper = asyncio.ensure_future(cancel_ev.wait())
        try:
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            waiter.cancel()
            stopper.cancel()
            await cancel_remote(state, hid, job, abandon=True)
            raise
        if not waiter.done():
            waiter.cancel()
            if await cancel_remote(state, hid, job):
                return final(db, index, on_update, hid, JobCancelledError(job.request_id), est=est)
            # Too late to cancel: it finished, and a finished job is paid for. Record it.
        job_failed = False
        if waiter.done():
            stopper.cancel()
            try:
                final_update = waiter.result()
            except Exception as exc:
                return settle_failure(db, index, on_update, hid, exc, est)
            # COMPLETED with an error: the job is over. result() raises the typed error for it.
            job_failed = bool(getattr(final_update, "error", None))
        try:
            result = await client.result(job)
        except Exception as exc:
            kept = await listed() if listed is not None and is_gone(exc) and not job_failed else None
            if kept is None:
                return settle_failure(db, index, on_update, hid, exc, est, job_failed=job_failed)
            log.info("generation #%d: its result expired on the queue; taken from fal's request list", hid)
            result = kept
        if job_failed:
            failure = ServiceError(f"{spec.name} failed: {final_update.error}", request_id=job.request_id)
            return settle_failure(db, index, on_update, hid, failure, est, job_failed=True)
    finally:
        state.cancels.pop(hid, None)
    return await record_result(state, index, hid, spec, result, on_update, est=est)


async def cancel_remote(state: RunState, hid: int, job: JobHandle, *, abandon: bool = False) -> bool:
    """Ask the service to cancel the job; True (and the row ``cancelled``) if it accepted.

    With ``abandon`` (the caller went away) a refused cancel frees the row's lease for resume()."""
    try:
        accepted = await asyncio.wait_for(asyncio.shield(state.client().cancel(job)), timeout=15)
    except Exception as exc:
        log.warning("generation #%d: cancel failed (%s); it stays resumable", hid, error_text(exc))
        accepted = False
    if accepted:
        mark_cancelled(state.history, hid, "cancelled by the user")
    elif abandon:
        state.history.release(hid, state.owner)
    return accepted


async def cancel(state: RunState, history_id: int) -> bool:
    """Cancel a job by its history id: ours through its wait, another kernel's on the service."""
    ev = state.cancels.get(history_id)
    if ev is not None:
        ev.set()
        return True
    rec = await asyncio.to_thread(state.history.get, history_id)
    if rec.status not in ACTIVE_STATUSES or rec.request_id is None:
        return False
    # Running in another kernel (or left over): cancel on the service; its owner will see it.
    return await cancel_remote(state, history_id, state.client().resume(rec))


async def run_many(
    state: RunState,
    jobs: list[tuple[str, dict[str, Any]]],
    on_update: OnUpdate | None,
    sweeps: Sequence[SweepTag] | None = None,
) -> list[Generation]:
    """Run a batch concurrently, one Generation per job in order; refused whole if it cannot fit the budget."""
    budget = state.budget_now()
    if budget is not None:
        # The whole batch must fit, or nothing is sent: half a comparison is no use to anyone.
        high = Decimal(0)
        for model_id, params in jobs:
            try:
                _, _, _, est = prepare(state, model_id, params)
            except Sora2Error:
                continue  # reported per job below
            high += est.high
        committed = await asyncio.to_thread(state.history.committed)
        if committed + high > budget:
            raise BudgetExceededError(budget=budget, spent=committed, requested=high)
    if sweeps is not None and len(sweeps) != len(jobs):
        raise ValueError(f"sweeps= needs one (sweep, key) pair per job: {len(sweeps)} for {len(jobs)} jobs")
    tags: Sequence[SweepTag | None] = sweeps if sweeps is not None else [None] * len(jobs)
    tasks = [run_one(state, i, m, p, on_update, tag) for i, ((m, p), tag) in enumerate(zip(jobs, tags, strict=True))]
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    out: list[Generation] = []
    for (model_id, _), res in zip(jobs, outcomes, strict=True):
        if isinstance(res, Generation):
            out.append(res)
        elif isinstance(res, asyncio.CancelledError):
            raise res
        else:
            assert isinstance(res, BaseException)
            out.append(not_recorded(index=0, on_update=None, model_id=model_id, exc=res))
    return out
