"""What fal billed, set against what the ledger estimated: pure, exact, no I/O.

Given ledger charges (request id, estimated cost, when the job finished) and fal's billing events
(``/models/billing-events``), :func:`reconcile` says for each request:

* ``billed``: fal's event is in; ``billed`` is exact (nano-USD / 10⁹) and ``difference`` is
  billed − estimated (a mismatch when it is not zero, or beyond ``tolerance``);
* ``settling``: the job finished less than ``settle`` ago (fal records events 1 s–5 min after
  completion): not worth asking yet;
* ``pending``: asked, no event yet; it may still land;
* ``no_billing_event``: still none ``give_up`` after the job finished: fal did not bill it (a 5xx,
  a cancel) or lost it. Its billed cost stays unknown, never $0.

:func:`daily_mismatches` sets the billed events of each UTC day against fal's daily usage totals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Literal, Protocol, TypeVar

__all__ = [
    "DEFAULT_GIVE_UP",
    "DEFAULT_SETTLE",
    "BilledAgainstEstimate",
    "BilledFact",
    "BillingState",
    "DailyTotal",
    "DayMismatch",
    "LedgerCharge",
    "Reconciled",
    "Reconciliation",
    "daily_mismatches",
    "daily_totals",
    "due_for_lookup",
    "mismatched",
    "reconcile",
]

#: fal documents no lag; users see events 1 s–5 min after completion (research §4).
DEFAULT_SETTLE = timedelta(minutes=5)
#: After this long without an event, a request is taken as not billed.
DEFAULT_GIVE_UP = timedelta(hours=1)

BillingState = Literal["billed", "settling", "pending", "no_billing_event"]


class BilledFact(Protocol):
    """What reconciliation reads of a billing event (the client's ``BillingEvent`` has it)."""

    @property
    def request_id(self) -> str: ...

    @property
    def timestamp(self) -> datetime: ...

    @property
    def billed_cost(self) -> Decimal: ...

    @property
    def output_units(self) -> Decimal | None: ...

    @property
    def unit_price(self) -> Decimal | None: ...

    @property
    def percent_discount(self) -> Decimal | None: ...


@dataclass(frozen=True)
class LedgerCharge:
    """One ledger row to reconcile: ``estimated`` is ``None`` when the ledger has no estimate."""

    request_id: str
    estimated: Decimal | None
    finished_at: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.request_id, str) or not self.request_id:
            raise ValueError("request_id must be a non-empty request id")
        if self.estimated is not None and (not isinstance(self.estimated, Decimal) or not self.estimated.is_finite()):
            raise ValueError("estimated must be a finite Decimal amount of USD, or None when unknown")
        _aware(self.finished_at, "finished_at")


class BilledAgainstEstimate:
    """A row with a billed cost and an estimate (either may be unknown): how far apart they are.

    The one rule of a difference, for this module's :class:`Reconciled` and the ledger rows of
    ``History.reconcile()`` (``_reconcile.RowBilling``)."""

    billed: Decimal | None
    estimated: Decimal | None

    @property
    def difference(self) -> Decimal | None:
        """Billed − estimated; ``None`` while either is unknown."""
        if self.billed is None or self.estimated is None:
            return None
        return self.billed - self.estimated


_Row = TypeVar("_Row", bound=BilledAgainstEstimate)


def mismatched(rows: Iterable[_Row], tolerance: Decimal) -> tuple[_Row, ...]:
    """The rows whose billed cost differs from the estimate by more than ``tolerance``."""
    return tuple(r for r in rows if (d := r.difference) is not None and abs(d) > tolerance)


@dataclass(frozen=True)
class Reconciled(BilledAgainstEstimate):
    """One request's outcome. ``billed`` is ``None`` unless ``state == "billed"``."""

    request_id: str
    state: BillingState
    estimated: Decimal | None
    billed: Decimal | None = None
    billed_at: datetime | None = None
    billed_units: Decimal | None = None
    unit_price: Decimal | None = None
    percent_discount: Decimal | None = None


@dataclass(frozen=True)
class Reconciliation:
    rows: tuple[Reconciled, ...]
    tolerance: Decimal

    def in_state(self, state: BillingState) -> tuple[Reconciled, ...]:
        return tuple(r for r in self.rows if r.state == state)

    @property
    def mismatches(self) -> tuple[Reconciled, ...]:
        """Billed requests whose billed cost differs from the estimate by more than the tolerance."""
        return mismatched(self.rows, self.tolerance)

    @property
    def billed_total(self) -> Decimal:
        return sum((r.billed for r in self.rows if r.billed is not None), Decimal(0))


def _aware(moment: datetime, field: str) -> None:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError(f"{field} must be a timezone-aware datetime")


def due_for_lookup(
    charges: Iterable[LedgerCharge], *, now: datetime, settle: timedelta = DEFAULT_SETTLE
) -> list[LedgerCharge]:
    """The charges worth asking fal about: finished at least ``settle`` ago."""
    _aware(now, "now")
    return [c for c in charges if now - c.finished_at >= settle]


def reconcile(
    charges: Iterable[LedgerCharge],
    events: Mapping[str, BilledFact],
    *,
    now: datetime,
    settle: timedelta = DEFAULT_SETTLE,
    give_up: timedelta = DEFAULT_GIVE_UP,
    tolerance: Decimal = Decimal(0),
) -> Reconciliation:
    """Each charge with its billing event (by request id), or why it has none yet."""
    _aware(now, "now")
    if give_up < settle:
        raise ValueError("give_up must not be shorter than settle")
    if not isinstance(tolerance, Decimal) or tolerance < 0:
        raise ValueError("tolerance must be a Decimal amount of USD, 0 or more")
    rows: list[Reconciled] = []
    for charge in charges:
        event = events.get(charge.request_id)
        age = now - charge.finished_at
        if event is not None:
            rows.append(
                Reconciled(
                    charge.request_id,
                    "billed",
                    charge.estimated,
                    billed=event.billed_cost,
                    billed_at=event.timestamp,
                    billed_units=event.output_units,
                    unit_price=event.unit_price,
                    percent_discount=event.percent_discount,
                )
            )
        elif age < settle:
            rows.append(Reconciled(charge.request_id, "settling", charge.estimated))
        elif age < give_up:
            rows.append(Reconciled(charge.request_id, "pending", charge.estimated))
        else:
            rows.append(Reconciled(charge.request_id, "no_billing_event", charge.estimated))
    return Reconciliation(tuple(rows), tolerance)


@dataclass(frozen=True)
class DailyTotal:
    """fal's billed total for one day (summed over its usage lines of that day's bucket)."""

    day: date
    cost_total: Decimal


@dataclass(frozen=True)
class DayMismatch:
    day: date
    ledger_billed: Decimal
    fal_billed: Decimal

    @property
    def difference(self) -> Decimal:
        return self.fal_billed - self.ledger_billed


class UsageFact(Protocol):
    """What the daily check reads of a usage line (the client's ``UsageLine`` has it)."""

    @property
    def bucket(self) -> str | None: ...

    @property
    def cost_total(self) -> Decimal: ...


def daily_totals(lines: Iterable[UsageFact]) -> list[DailyTotal]:
    """fal's usage lines (``timeframe=day``, UTC buckets) summed per day."""
    days: dict[date, Decimal] = defaultdict(Decimal)
    for line in lines:
        if line.bucket is None:
            raise ValueError("a usage line without a bucket: ask for timeframe=day time series")
        days[datetime.fromisoformat(line.bucket).date()] += line.cost_total
    return [DailyTotal(day, total) for day, total in sorted(days.items())]


def daily_mismatches(
    reconciliation: Reconciliation, usage: Iterable[DailyTotal], *, tolerance: Decimal = Decimal(0)
) -> list[DayMismatch]:
    """Days (UTC) whose billed total in fal's usage differs from the billing events the ledger holds.

    A day fal bills that the ledger has no event for is reported too (the ledger is missing requests).
    """
    ledger: dict[date, Decimal] = defaultdict(Decimal)
    for row in reconciliation.rows:
        if row.billed is not None and row.billed_at is not None:
            ledger[row.billed_at.astimezone(timezone.utc).date()] += row.billed
    fal: dict[date, Decimal] = defaultdict(Decimal)
    for line in usage:
        fal[line.day] += line.cost_total
    out = []
    for day in sorted(set(ledger) | set(fal)):
        if abs(fal[day] - ledger[day]) > tolerance:
            out.append(DayMismatch(day, ledger[day], fal[day]))
    return out
