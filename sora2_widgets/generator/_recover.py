"""Recovery of ``unknown`` rows: submits whose answer was lost, found again in fal's request list.

Each ``unknown`` row of the client's provider that has a submit marker (``_marker``) is looked up
in ``/models/requests/by-endpoint`` with payloads, from :data:`CLOCK_SKEW` before its attempt:

* a listed request whose input has the row's marker, sent after the attempt, and held by no other
  row → **found**: the row takes its request id and becomes a normal job, followed to its end,
  its result and cost recorded and its media saved (``follow``), never resubmitted. A result the
  queue no longer keeps (it expired) is taken from the list's ``json_output`` (``_listed``): the
  job ran and fal billed it, so it is completed with its cost, never failed at $0;
* nothing matches and the attempt is :data:`RECOVERY_WINDOW` old or more → **not created**: the
  row becomes ``not_created``, cost $0. Sooner, it stays ``unknown``: fal lists a request once it
  starts running, so one still queued is not listed yet;
* a request fal lists *without* its input (payload storage off, or expired) in the row's window
  could be the row's: it stays ``unknown`` (never "not created" on missing evidence).

Only the rows of this ledger user are looked at: on a team ledger, another person's submits went
to their own fal account. Rows without a marker (recorded before recovery existed) and rows older
than fal keeps payloads (:data:`PAYLOAD_RETENTION`) are left as they are and reported as skipped. Until a row is
resolved its high estimate counts as committed (``history/_reports.committed``).

Runs when a :class:`Generator` starts (before the resume pass), and from
:func:`recover_unknown` (``sora2-widgets reconcile``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import logging
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from .._catalog import get_model
from ..history import History, HistoryRecord
from ._generation import Generation, OnUpdate
from ._listed import CLOCK_SKEW, read_listing, result_from_listing
from ._marker import body_marker
from ._outcome import UNKNOWN_SUBMIT, error_text, estimate_of
from ._run import follow
from ._state import RunState

if TYPE_CHECKING:
    from ..client._platform_models import RequestRecord

__all__ = [
    "CLOCK_SKEW",
    "PAYLOAD_RETENTION",
    "RECOVERY_WINDOW",
    "RecoveredRow",
    "RecoveryOutcome",
    "RecoveryReport",
    "recover_pass",
    "recover_unknown",
]

log = logging.getLogger("sora2_widgets.generator")

#: How long after an attempt a request fal accepted must be listed: a request is listed once it
#: starts running, and fal's queue rarely holds one for more than minutes. Not listed by then →
#: ``not_created``. Generous on purpose: until then the row only holds back budget.
RECOVERY_WINDOW = dt.timedelta(hours=1)
#: fal keeps request payloads 30 days; older rows cannot be matched (a day's margin).
PAYLOAD_RETENTION = dt.timedelta(days=29)

RecoveryOutcome: TypeAlias = Literal["found", "not_created", "still_unknown", "skipped"]


@dataclasses.dataclass(frozen=True)
class RecoveredRow:
    """What recovery did with one ``unknown`` row."""

    history_id: int
    model_id: str
    outcome: RecoveryOutcome
    #: The request fal made of the lost submit (``found`` only).
    request_id: str | None = None
    #: Why the row is as it is, in one sentence (empty for ``found``).
    reason: str = ""
    #: How the found job ended: completed with its media, failed, … (``found`` only).
    generation: Generation | None = None


@dataclasses.dataclass(frozen=True)
class RecoveryReport:
    """Every ``unknown`` row recovery looked at, and what became of it."""

    rows: tuple[RecoveredRow, ...] = ()

    def of(self, outcome: RecoveryOutcome) -> tuple[RecoveredRow, ...]:
        return tuple(r for r in self.rows if r.outcome == outcome)

    @property
    def found(self) -> tuple[RecoveredRow, ...]:
        return self.of("found")

    @property
    def not_created(self) -> tuple[RecoveredRow, ...]:
        return self.of("not_created")

    @property
    def still_unknown(self) -> tuple[RecoveredRow, ...]:
        return self.of("still_unknown")

    @property
    def skipped(self) -> tuple[RecoveredRow, ...]:
        return self.of("skipped")

    def __str__(self) -> str:
        if not self.rows:
            return "No lost submits to recover."
        parts = [
            f"{len(self.found)} found on fal and finished",
            f"{len(self.not_created)} never created (nothing charged)",
            f"{len(self.still_unknown)} still unknown",
        ]
        if self.skipped:
            parts.append(f"{len(self.skipped)} cannot be checked")
        return "Lost submits: " + ", ".join(parts) + "."


def _row(rec: HistoryRecord, outcome: RecoveryOutcome, reason: str) -> RecoveredRow:
    return RecoveredRow(rec.id, rec.model_id, outcome, reason=reason)


def _match(
    rows: Sequence[HistoryRecord],
    listed: Sequence[RequestRecord],
    held: set[str],
    now: dt.datetime,
    window: dt.timedelta,
) -> list[tuple[HistoryRecord, RecoveredRow]]:
    """Pair rows with listed requests one to one: same endpoint and marker, sent after the attempt,
    held by no other row; the earliest request goes to the earliest row (identical bodies are
    interchangeable). The rest are ``not_created`` after the window, ``still_unknown`` before it."""
    taken = set(held)
    markers: dict[tuple[str, frozenset[str]], str | None] = {}

    def marker(item: RequestRecord, secret: frozenset[str]) -> str | None:
        key = (item.request_id, secret)
        if key not in markers:
            body = item.json_input
            markers[key] = body_marker(body, secret) if isinstance(body, dict) else None
        return markers[key]

    out: list[tuple[HistoryRecord, RecoveredRow]] = []
    for rec in sorted(rows, key=lambda r: (r.created_at, r.id)):
        secret = frozenset(get_model(rec.model_id).input_model.SECRET_FIELDS)
        after = rec.created_at - CLOCK_SKEW
        near = [i for i in listed if i.endpoint_id == rec.endpoint and i.sent_at >= after and i.request_id not in taken]
        same = sorted((i for i in near if marker(i, secret) == rec.submit_marker), key=lambda i: i.sent_at)
        if same:
            taken.add(same[0].request_id)
            out.append((rec, RecoveredRow(rec.id, rec.model_id, "found", request_id=same[0].request_id)))
        elif any(marker(i, secret) is None for i in near):
            why = "fal lists a request of this model without its input since the attempt, so it cannot be ruled out"
            out.append((rec, _row(rec, "still_unknown", why)))
        elif now - rec.created_at >= window:
            minutes = round(window.total_seconds() / 60)
            why = f"fal lists no such request within {minutes} minutes of the attempt: it was never created"
            out.append((rec, _row(rec, "not_created", why)))
        else:
            until = (rec.created_at + window).strftime("%H:%M UTC")
            why = f"not listed by fal yet (a queued request is listed once it runs); checked again until {until}"
            out.append((rec, _row(rec, "still_unknown", why)))
    return out


def _default_platform(state: RunState) -> Any | None:
    """A Platform API client reading the account the generator's own client submits to, or ``None``
    when that cannot be told (a client given by the caller, or a queue URL without a platform URL):
    reading another account's list would mark real jobs "not created"."""
    from ..client._platform import PLATFORM_URL_ENV, AsyncPlatformClient
    from ..client._target import QUEUE_URL_ENV

    if not state.owns_client or (os.environ.get(QUEUE_URL_ENV) and not os.environ.get(PLATFORM_URL_ENV)):
        return None
    platform = AsyncPlatformClient()
    if platform.provider != state.client().provider:
        return None
    return platform


async def recover_pass(
    state: RunState,
    platform: Any | None = None,
    *,
    window: dt.timedelta = RECOVERY_WINDOW,
    on_update: OnUpdate | None = None,
) -> RecoveryReport:
    """Resolve this provider's ``unknown`` rows (see the module's rules); found jobs are followed to
    their end before this returns. ``platform``: an (async or sync) Platform API client of the same
    account as the generator's client; ``None`` makes one when that is safe (see above)."""
    if not isinstance(window, dt.timedelta) or window < dt.timedelta(0):
        raise ValueError(f"window must be a timedelta of 0 or more, got {window!r:.60}")
    history = state.history
    provider = state.client().provider
    # Only this user's rows: on a team ledger another person's submits went to their own fal
    # account, which this key's request list does not show (they would look "not created").
    where = "status = 'unknown' AND provider = ? AND \"user\" = ?"
    rows = await asyncio.to_thread(history.records, where, (provider, history.user))
    if not rows:
        return RecoveryReport()
    now = dt.datetime.now(dt.timezone.utc)
    report: list[RecoveredRow] = []
    checkable: list[HistoryRecord] = []
    for rec in rows:
        if rec.submit_marker is None:
            report.append(_row(rec, "skipped", "recorded without a submit marker (before recovery existed)"))
        elif now - rec.created_at > PAYLOAD_RETENTION:
            report.append(_row(rec, "skipped", "older than fal keeps request inputs (30 days)"))
        else:
            checkable.append(rec)
    if not checkable:
        return RecoveryReport(tuple(report))
    made = platform is None
    reader = _default_platform(state) if made else platform
    if reader is None:
        why = "no Platform API client for this generator's account was given"
        return RecoveryReport((*report, *(_row(r, "still_unknown", why) for r in checkable)))
    try:
        report.extend(await _resolve(state, reader, checkable, now, window, on_update))
    finally:
        # Open until every found job is finished: one whose result expired is read from the list again.
        if made:
            await reader.aclose()
    return RecoveryReport(tuple(sorted(report, key=lambda r: r.history_id)))


async def _resolve(
    state: RunState,
    platform: Any,
    checkable: list[HistoryRecord],
    now: dt.datetime,
    window: dt.timedelta,
    on_update: OnUpdate | None,
) -> list[RecoveredRow]:
    """Match ``checkable`` rows against fal's request list, then adopt or close each by the rules."""
    history = state.history
    provider = state.client().provider
    try:
        start = min(r.created_at for r in checkable) - CLOCK_SKEW
        listed = await read_listing(platform, sorted({r.endpoint for r in checkable}), start)
    except Exception as exc:
        why = f"fal's request list could not be read ({error_text(exc)})"
        log.warning("recovering lost submits: %s", why)
        return [_row(r, "still_unknown", why) for r in checkable]
    held_rows = await asyncio.to_thread(
        history.records, "request_id IS NOT NULL AND provider = ? AND created_at >= ?", (provider, _ledger_time(start))
    )
    held = {r.request_id for r in held_rows if r.request_id is not None}
    by_id = {item.request_id: item for item in listed}
    report: list[RecoveredRow] = []
    followed: list[asyncio.Future[RecoveredRow]] = []
    for rec, found in _match(checkable, listed, held, now, window):
        if found.outcome == "found":
            assert found.request_id is not None
            item = by_id[found.request_id]
            adopt = _adopt(state, len(followed), rec, found, item, platform, on_update)
            followed.append(asyncio.ensure_future(adopt))
        elif found.outcome == "not_created":
            error = f"{UNKNOWN_SUBMIT}: {found.reason} (nothing charged)"
            done = await asyncio.to_thread(
                history.resolve_unknown, rec.id, status="not_created", cost_micros=0, error=error
            )
            report.append(found if done else _row(rec, "skipped", "resolved meanwhile by another process"))
        else:
            report.append(found)
    report.extend(await asyncio.gather(*followed))
    return report


def _ledger_time(moment: dt.datetime) -> str:
    from ..history._records import ISO_FORMAT

    return moment.astimezone(dt.timezone.utc).strftime(ISO_FORMAT)


async def _adopt(
    state: RunState,
    index: int,
    rec: HistoryRecord,
    found: RecoveredRow,
    item: RequestRecord,
    platform: Any,
    on_update: OnUpdate | None,
) -> RecoveredRow:
    """The row takes the request fal made of its lost submit, then is followed like a fresh job;
    a result the queue no longer keeps is taken from fal's request list (the job ran and is billed)."""
    assert found.request_id is not None
    history = state.history
    # Taken before the row turns active: our own resume pass, running beside this, must not claim it.
    state.live.add(rec.id)
    won = await asyncio.to_thread(
        history.resolve_unknown,
        rec.id,
        status="submitted",
        request_id=found.request_id,
        error=None,
        lease_owner=state.owner,
        lease_until=time.time() + state.lease_seconds,
    )
    if not won:
        state.live.discard(rec.id)
        return _row(rec, "skipped", "resolved meanwhile by another process")
    log.info("generation #%d: its lost submit is request %s on fal; following it", rec.id, found.request_id)
    state.ensure_heartbeat()
    try:
        async with state.client().slot():
            job = state.client().resume(await asyncio.to_thread(history.get, rec.id))
            await asyncio.to_thread(
                history.update,
                rec.id,
                status_url=job.status_url,
                response_url=job.response_url,
                cancel_url=job.cancel_url,
            )
            spec = get_model(rec.model_id)
            listed = functools.partial(result_from_listing, spec, item, platform)
            gen = await follow(state, index, rec.id, spec, job, on_update, est=estimate_of(rec), listed=listed)
    finally:
        state.live.discard(rec.id)
    return dataclasses.replace(found, generation=gen)


def recover_unknown(
    history: History,
    platform: Any | None = None,
    *,
    client: Any = None,
    window: dt.timedelta = RECOVERY_WINDOW,
    on_update: OnUpdate | None = None,
) -> RecoveryReport:
    """Resolve the ``unknown`` rows of ``history`` now (``sora2-widgets reconcile``); see the module.

    ``platform``: a Platform API client (``AsyncPlatformClient`` or ``PlatformClient``) of the
    account ``client`` (the queue client, by default ``AsyncFalClient()``) submits to; by default
    one made from the environment like the queue client. Found jobs are followed, their media
    saved, before this returns."""
    from ._generator import Generator

    with Generator(client=client, history=history, resume=False, platform=platform) as gen:
        return gen.recover_unknown(window=window, on_update=on_update)
