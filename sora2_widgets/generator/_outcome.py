"""How a job ends: what its ledger row is told, and the :class:`Generation` the caller gets back.

Rules for what a failure leaves behind:

* the job failed on the service → ``failed``, cost 0; cancelled → ``cancelled``, cost 0;
* :class:`ModelUnavailableError` → ``unavailable``, cost 0, never retried;
* the service no longer has the request (404/410) → ``failed``, cost 0;
* a lost submit answer → ``unknown``, its error starting with :data:`UNKNOWN_SUBMIT`, cost unknown
  (NULL, reported by ``History.possibly_charged``); never resubmitted, a second job would be paid twice;
* a network failure while waiting → the row stays ``in_queue``/``in_progress`` with its lease freed,
  for ``Generator.resume`` (or the next Generator) to finish; never resubmitted.
"""

from __future__ import annotations

import logging

from .._errors import JobCancelledError, JobTimeoutError, ModelUnavailableError, ServiceError, ValidationError
from .._pricing import CostEstimate
from .._results import VideoResult
from ..history import ACTIVE_STATUSES, History, HistoryRecord
from ._generation import Generation, OnUpdate, Progress

log = logging.getLogger("sora2_widgets.generator")

#: How the error of a row whose submit answer was lost starts (the job may exist and be charged).
UNKNOWN_SUBMIT = "submit outcome unknown"


def error_text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def is_gone(exc: BaseException) -> bool:
    """The service no longer knows the request."""
    return isinstance(exc, ServiceError) and exc.status_code in (404, 410)


def is_job_failure(exc: BaseException) -> bool:
    """The job itself failed on the service (so it is over), as opposed to us losing contact."""
    if isinstance(exc, ValidationError):
        return True
    if isinstance(exc, ServiceError):
        return exc.job_failed or (exc.status_code is not None and 400 <= exc.status_code < 500)
    return False


def estimate_of(rec: HistoryRecord) -> CostEstimate | None:
    """The estimate the row was recorded with, if it has one."""
    if rec.estimate_low is None or rec.estimate_high is None:
        return None
    return CostEstimate(rec.estimate_low, rec.estimate_high)


def emit(on_update: OnUpdate | None, progress: Progress) -> None:
    """Call ``on_update``; a failing callback is logged, never allowed to stop the job."""
    if on_update is None:
        return
    try:
        on_update(progress)
    except Exception:
        log.exception("on_update callback failed (ignored)")


# -- the row ----------------------------------------------------------------------------------
def finish_row(
    history: History, hid: int, status: str, exc: BaseException, *, cost: int | None, prefix: str = ""
) -> None:
    """Give the row its final ``status``, cost (micro-USD, ``None`` for unknown) and error; free its lease."""
    history.update(
        hid,
        status=status,
        error=prefix + error_text(exc),
        cost_micros=cost,
        lease_owner=None,
        lease_until=None,
    )


def mark_cancelled(history: History, hid: int, error: str) -> None:
    """The service accepted a cancel: the row (if still active) becomes ``cancelled``, cost 0."""
    history.update(
        hid,
        status="cancelled",
        cost_micros=0,
        error=error,
        lease_owner=None,
        lease_until=None,
        only_if_status=ACTIVE_STATUSES,
    )


def settle_failure(
    history: History,
    index: int,
    on_update: OnUpdate | None,
    hid: int,
    exc: BaseException,
    est: CostEstimate | None,
    *,
    job_failed: bool = False,
) -> Generation:
    """Record a failure met while following a submitted job, by the rules above."""
    if isinstance(exc, ModelUnavailableError):
        finish_row(history, hid, "unavailable", exc, cost=0)
    elif isinstance(exc, JobCancelledError) or (isinstance(exc, JobTimeoutError) and exc.cancelled):
        finish_row(history, hid, "cancelled", exc, cost=0)
    elif is_gone(exc):
        finish_row(history, hid, "failed", exc, cost=0, prefix="the service no longer has this request: ")
    elif job_failed or is_job_failure(exc):
        finish_row(history, hid, "failed", exc, cost=0)
    else:
        # We lost contact, the job may still run: keep the row active for resume(), free the lease.
        log.warning("generation #%d: %s; it stays resumable", hid, error_text(exc))
        history.update(hid, error=error_text(exc), lease_owner=None, lease_until=None)
    return final(history, index, on_update, hid, exc, est=est)


# -- what the caller gets -----------------------------------------------------------------------
def not_recorded(
    index: int, on_update: OnUpdate | None, model_id: str, exc: BaseException, *, est: CostEstimate | None = None
) -> Generation:
    """A job that failed without a row (our validation, the budget, a refused submit); emitted."""
    gen = Generation(
        model_id=model_id,
        status="failed",
        estimate=est,
        error=error_text(exc),
        error_type=type(exc).__name__,
        exception=exc,
    )
    emit(on_update, Progress(index, model_id, "failed", error=gen.error, generation=gen))
    return gen


def final(
    history: History,
    index: int,
    on_update: OnUpdate | None,
    hid: int,
    exc: BaseException | None = None,
    *,
    est: CostEstimate | None = None,
    result: VideoResult | None = None,
) -> Generation:
    """The job's Generation, read back from its row after the row was told how it ended; emitted."""
    rec = history.get(hid)
    gen = Generation(
        model_id=rec.model_id,
        status=rec.status,
        history_id=hid,
        url=rec.video_url,
        video_id=rec.video_id,
        local_path=rec.local_path,
        thumbnail_path=rec.thumbnail_path,
        sha256=rec.sha256,
        cost=rec.cost,
        estimate=est or estimate_of(rec),
        request_id=rec.request_id,
        error=rec.error if exc is None else (rec.error or error_text(exc)),
        error_type=type(exc).__name__ if exc is not None else None,
        result=result,
        exception=exc,
    )
    emit(on_update, Progress(index, gen.model_id, gen.status, hid, gen.request_id, error=gen.error, generation=gen))
    return gen
