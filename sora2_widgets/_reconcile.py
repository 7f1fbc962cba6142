"""``History.reconcile()``: what fal billed for each ledger row, stored, set against the estimate.

fal records one billing event per billed request, 1 s to ~5 min after it finishes, readable with an
ADMIN-scope key (``FAL_ADMIN_KEY``) at ``/models/billing-events``. One pass:

1. (hook) resolves ``unknown`` submits first, when a recovery is given, so a recovered job is
   billed in the same pass;
2. asks for the events of every finished row not yet billed that finished at least ``settle`` ago
   (≤ 50 request ids a call, paged by cursor: the client does both);
3. stores each event exactly (``billed_nanos`` from ``cost_estimate_nano_usd``, units, unit price
   text, discount) with ``billing_status = 'billed'``; a row without one stays ``'pending'`` until
   ``give_up`` after it finished, then becomes ``'no_event'`` (not billed, or lost: unknown, never $0);
4. reports each newly billed row whose billed cost differs from the ledger's cost by more than
   ``tolerance``, and each UTC day of the last ``days`` whose billed total in fal's ``/models/usage``
   differs from the billing events of the ledger's rows.

The rules of each step are in :mod:`sora2_widgets._billing` (pure); this module does the I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Literal

from ._billing import (
    DEFAULT_GIVE_UP,
    DEFAULT_SETTLE,
    BilledAgainstEstimate,
    DayMismatch,
    LedgerCharge,
    daily_mismatches,
    daily_totals,
    mismatched,
)
from ._billing import reconcile as reconcile_charges
from ._config import ADMIN_KEY_ENV
from ._errors import ConfigError
from ._pricing import format_usd

# Nothing of history/ at import time: ``History`` takes :func:`reconcile` as its method, so
# ``history/_store.py`` imports this module while the history package is still being set up.
if TYPE_CHECKING:
    from .client._platform_models import BillingEvent
    from .client._platform_sync import PlatformClient
    from .history import History
    from .history._records import HistoryRecord

__all__ = ["ReconcileReport", "RowBilling", "UnknownRecovery", "reconcile", "recover_lost_submits"]

#: Rows whose job is over: fal may have billed them (a 422 can be billed; a 5xx or a cancel is not).
_FINISHED = ("completed", "failed", "cancelled", "unavailable")
#: The recovery of ``unknown`` submits (issue 17), run before billing: it resolves what it can in
#: ``history`` through the client and returns one line per row it resolved, for the report.
UnknownRecovery = Callable[["History", "PlatformClient"], Sequence[str]]

RowState = Literal["billed", "pending", "no_event"]
#: The pure rules' states as the ledger spells them (``settling`` rows are not asked, so not stored).
_STATE: dict[str, RowState] = {"billed": "billed", "pending": "pending", "no_billing_event": "no_event"}


@dataclass(frozen=True)
class RowBilling(BilledAgainstEstimate):
    """One ledger row's billing as this pass left it. Money is ``Decimal`` USD, ``None`` = unknown."""

    history_id: int
    request_id: str
    model_id: str
    state: RowState
    estimated: Decimal | None
    provisional: Decimal | None
    billed: Decimal | None = None


@dataclass(frozen=True)
class ReconcileReport:
    """What one pass found. ``rows``: every row asked about; ``settling``: rows too fresh to ask yet."""

    provider: str
    rows: tuple[RowBilling, ...]
    settling: int
    tolerance: Decimal
    days_checked: tuple[dt.date, ...]
    day_mismatches: tuple[DayMismatch, ...]
    recovered: tuple[str, ...] = ()

    def in_state(self, state: RowState) -> tuple[RowBilling, ...]:
        return tuple(r for r in self.rows if r.state == state)

    @property
    def mismatches(self) -> tuple[RowBilling, ...]:
        """Rows billed in this pass whose billed cost differs from the estimate beyond the tolerance."""
        return mismatched(self.rows, self.tolerance)

    def lines(self) -> list[str]:
        """The report for people, one fact a line (the CLI prints these)."""
        out = list(self.recovered)
        billed, pending, gone = self.in_state("billed"), self.in_state("pending"), self.in_state("no_event")
        out.append(
            f"{len(self.rows)} request(s) checked on {self.provider}: {len(billed)} billed, "
            f"{len(pending)} still pending, {len(gone)} with no billing event"
            + (f"; {self.settling} finished too recently to ask yet" if self.settling else "")
            + "."
        )
        for row in self.mismatches:
            assert row.billed is not None and row.estimated is not None and row.difference is not None
            out.append(
                f"#{row.history_id} ({row.request_id}): billed {format_usd(row.billed)} against an estimate of "
                f"{format_usd(row.estimated)}, a difference of {_signed(row.difference)}."
            )
        for row in gone:
            out.append(f"#{row.history_id} ({row.request_id}): no billing event: its billed cost is unknown.")
        for day in self.day_mismatches:
            out.append(
                f"{day.day.isoformat()}: fal's usage shows {format_usd(day.fal_billed)} billed, the ledger's "
                f"billing events {format_usd(day.ledger_billed)}, a difference of {_signed(day.difference)}."
            )
        if self.days_checked and not self.day_mismatches:
            first, last = self.days_checked[0], self.days_checked[-1]
            out.append(f"Daily totals {first.isoformat()} to {last.isoformat()} agree with fal's usage.")
        return out


def _signed(amount: Decimal) -> str:
    return ("+" if amount >= 0 else "-") + format_usd(abs(amount))


def _check(
    settle: object, give_up: object, tolerance: object, days: object, page_size: object
) -> tuple[dt.timedelta, dt.timedelta, Decimal, int, int]:
    if not isinstance(settle, dt.timedelta) or settle < dt.timedelta(0):
        raise ConfigError("settle", "must be a timedelta of 0 or more (how long after a job fal is asked)")
    if not isinstance(give_up, dt.timedelta) or give_up < settle:
        raise ConfigError("give_up", "must be a timedelta no shorter than settle")
    if not isinstance(tolerance, Decimal) or not tolerance.is_finite() or tolerance < 0:
        raise ConfigError("tolerance", "must be a Decimal amount of USD, 0 or more")
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 90:
        raise ConfigError("days", "must be a whole number of days from 0 (no daily check) to 90")
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 10_000:
        raise ConfigError("page_size", "must be an integer from 1 to 10000")
    return settle, give_up, tolerance, days, page_size


def _estimate(rec: HistoryRecord) -> Decimal | None:
    """What the ledger says the job cost: its recorded cost (the catalog's price of what was made)."""
    return rec.cost


def _nanos(event: BillingEvent) -> int:
    # fal sends whole nano-dollars; a fraction would be rounded up, as the ledger never under-reports.
    return int(event.cost_nano_usd.to_integral_value(rounding=ROUND_CEILING))


def _store(history: History, rec: HistoryRecord, event: BillingEvent | None, state: RowState, at: str) -> None:
    fields: dict[str, object] = {"billing_status": state, "billing_checked_at": at}
    if event is not None:
        fields.update(
            billed_nanos=_nanos(event),
            billed_units=None if event.output_units is None else float(event.output_units),
            unit_price=None if event.unit_price is None else str(event.unit_price),
            discount_percent=None if event.percent_discount is None else float(event.percent_discount),
        )
    # Only while the row's job status is what this pass read: a row resumed or recovered meanwhile
    # is left to the next pass rather than given a verdict about a state it has left.
    history.update(rec.id, only_if_status=(rec.status,), **fields)


def recover_lost_submits(history: History, client: PlatformClient) -> list[str]:
    """The default recovery of ``unknown`` rows before billing: matched in the same account's request
    list, finished once, or marked not created after the window (``generator._recover``)."""
    from .client import AsyncFalClient
    from .generator._recover import recover_unknown

    # On an emulator its own queue is the account's; on fal the queue client comes from FAL_KEY.
    queue = AsyncFalClient(emulator=client.emulator) if client.emulator is not None else None
    report = recover_unknown(history, client, client=queue)
    return [str(report)] if report.rows else []


# ``History.reconcile`` is this function itself (``history/_store.py``): its signature is written once.
def reconcile(
    self: History,
    client: PlatformClient | None = None,
    *,
    settle: dt.timedelta = DEFAULT_SETTLE,
    give_up: dt.timedelta = DEFAULT_GIVE_UP,
    tolerance: Decimal = Decimal(0),
    days: int = 7,
    page_size: int = 1000,
    now: dt.datetime | None = None,
    recover: bool = True,
    recover_unknown: UnknownRecovery | None = None,
) -> ReconcileReport:
    """What fal billed for each finished row, stored beside the estimate; the differences reported.

    Needs ``FAL_ADMIN_KEY`` (a key with ADMIN scope) on fal; without a key it reads the built-in
    emulator. Asks about rows finished at least ``settle`` ago; a row fal has no billing event
    for stays ``pending`` until ``give_up`` after it finished, then is ``no_event`` (its billed
    cost unknown, never $0). ``days``: the UTC days whose totals are checked against fal's
    usage (0: none). First, with ``recover`` (the default), the ``unknown`` rows (a submit whose
    answer was lost) are looked up in the same account's request list: found ones are finished,
    never resubmitted. See :mod:`sora2_widgets._reconcile`.
    """
    if not isinstance(recover, bool):
        raise TypeError(f"recover must be True or False, not {recover!r}")
    if recover and recover_unknown is None:
        recover_unknown = recover_lost_submits
    settle, give_up, tolerance, days, page_size = _check(settle, give_up, tolerance, days, page_size)
    if now is not None and (not isinstance(now, dt.datetime) or now.tzinfo is None):
        raise ConfigError("now", "must be a timezone-aware datetime")
    self.require_writable()
    own = client is None
    if client is None:
        from .client._platform_sync import PlatformClient

        client = PlatformClient()
    try:
        if client.provider == "fal" and not client.has_admin_key:
            raise ConfigError(
                ADMIN_KEY_ENV,
                "is not set: fal shows billed costs only to a key with ADMIN scope, so they stay unknown "
                "(not $0); create one in fal's dashboard and set FAL_ADMIN_KEY to it",
            )
        recovered = tuple(recover_unknown(self, client)) if recover_unknown is not None else ()
        return _pass(self, client, settle, give_up, tolerance, days, page_size, now, recovered)
    finally:
        if own:
            client.close()


def _pass(
    history: History,
    client: PlatformClient,
    settle: dt.timedelta,
    give_up: dt.timedelta,
    tolerance: Decimal,
    days: int,
    page_size: int,
    now: dt.datetime | None,
    recovered: tuple[str, ...],
) -> ReconcileReport:
    from .history._records import now_iso

    at = now or dt.datetime.now(dt.timezone.utc)
    finished = ", ".join("?" for _ in _FINISHED)
    base = f"request_id IS NOT NULL AND provider = ? AND status IN ({finished})"
    open_rows = history.records(
        base + " AND (billing_status IS NULL OR billing_status = 'pending')", (client.provider, *_FINISHED)
    )
    # updated_at is when the row last changed: its end for a finished row (later, if rated since;
    # that only delays the verdict, never hastens it).
    due = [r for r in open_rows if at - r.updated_at >= settle]
    window_start: dt.datetime | None = None
    window_rows: list[HistoryRecord] = []
    if days:
        today = dt.datetime.combine(at.astimezone(dt.timezone.utc).date(), dt.time(), dt.timezone.utc)
        window_start = today - dt.timedelta(days=days - 1)
        # A day earlier too: a job created before midnight is billed after it.
        since = (window_start - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        window_rows = history.records(base + " AND created_at >= ?", (client.provider, *_FINISHED, since))
    asked = {r.request_id: r for r in [*due, *window_rows] if r.request_id is not None}
    events: dict[str, BillingEvent] = {}
    if asked:
        # A margin for clock skew between this machine and fal.
        start = min(r.created_at for r in asked.values()) - dt.timedelta(minutes=10)
        end = max(at, dt.datetime.now(dt.timezone.utc)) + dt.timedelta(seconds=1)
        events = client.billing_events(list(asked), start=start, end=end, page_size=page_size)
    charges = [LedgerCharge(r.request_id or "", _estimate(r), r.updated_at) for r in due]
    result = reconcile_charges(charges, events, now=at, settle=settle, give_up=give_up, tolerance=tolerance)
    stamp = now_iso()
    rows: list[RowBilling] = []
    by_id = {r.request_id: r for r in due}
    for outcome in result.rows:
        rec = by_id[outcome.request_id]
        state = _STATE[outcome.state]
        event = events.get(outcome.request_id) if state == "billed" else None
        _store(history, rec, event, state, stamp)
        billed = None if event is None else Decimal(_nanos(event)) / Decimal(1_000_000_000)
        rows.append(
            RowBilling(rec.id, outcome.request_id, rec.model_id, state, outcome.estimated, rec.provisional_cost, billed)
        )
    checked: tuple[dt.date, ...] = ()
    day_issues: tuple[DayMismatch, ...] = ()
    if window_start is not None:
        checked, day_issues = _daily(client, window_rows, events, window_start, at, tolerance)
    return ReconcileReport(
        client.provider, tuple(rows), len(open_rows) - len(due), tolerance, checked, day_issues, recovered
    )


def _daily(
    client: PlatformClient,
    rows: list[HistoryRecord],
    events: dict[str, BillingEvent],
    start: dt.datetime,
    at: dt.datetime,
    tolerance: Decimal,
) -> tuple[tuple[dt.date, ...], tuple[DayMismatch, ...]]:
    """Each UTC day from ``start``: fal's usage total for the ledger's endpoints against its events."""
    endpoints = sorted({r.endpoint for r in rows})
    if not endpoints:
        return (), ()  # nothing of this ledger's in those days: nothing to set fal's usage against
    today = at.astimezone(dt.timezone.utc).date()
    days = tuple(start.date() + dt.timedelta(days=i) for i in range((today - start.date()).days + 1))
    mine = {rid: e for rid, e in events.items() if rid in {r.request_id for r in rows} and e.timestamp >= start}
    charges = [LedgerCharge(rid, None, e.timestamp) for rid, e in mine.items()]
    ledger = reconcile_charges(charges, mine, now=at)
    usage = client.usage(start=start, end=at + dt.timedelta(seconds=1), endpoint_ids=endpoints, timeframe="day")
    found = daily_mismatches(ledger, daily_totals(usage), tolerance=tolerance)
    return days, tuple(d for d in found if d.day in days)
