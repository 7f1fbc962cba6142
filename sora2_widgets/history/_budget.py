"""The ledger's own budget: one amount for everyone writing to it, checked in the row's transaction.

``History.set_budget(100, period="month")`` stores it in the ledger (``ledger_budget``), so every
client, kernel and machine pointed at the same ledger enforces the same figure. A job's row is
inserted only if what the period has committed (costs recorded plus the high estimates of jobs
still running, and of ``unknown`` submits until recovery resolves them) plus this job's high
estimate fits, and the check and the insert are one
transaction that every writer serialises on (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: the clock
row lock): concurrent jobs can never together exceed it. Completion replaces the reservation with
the real cost. A local ``SORA2_WIDGETS_BUDGET`` is checked too; both must allow the job.

Periods are calendar periods in UTC: ``total`` (since the beginning), ``month``, ``week``
(from Monday) and ``day``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Final, Literal, TypeAlias

from .._config import parse_usd
from .._errors import BudgetExceededError, ConfigError
from ._backend import SqlConn
from ._records import ISO_FORMAT, from_micros, now_iso, to_micros

__all__ = ["PERIODS", "BudgetPeriod", "TeamBudget", "TeamBudgetExceededError", "check_period", "read", "write"]

BudgetPeriod: TypeAlias = Literal["total", "month", "week", "day"]
PERIODS: Final[tuple[str, ...]] = ("total", "month", "week", "day")


@dataclasses.dataclass(frozen=True)
class TeamBudget:
    """The budget stored in the ledger, and what its current period has committed."""

    amount: Decimal
    period: str
    set_at: str
    set_by: str
    #: Costs recorded plus the high estimates of running jobs and unresolved ``unknown`` submits,
    #: for rows created in the current period.
    committed: Decimal = Decimal(0)

    @property
    def left(self) -> Decimal:
        return max(self.amount - self.committed, Decimal(0))

    def period_start(self, now: dt.datetime | None = None) -> str | None:
        """The first instant of the current period as ledger time text (``None``: since ever)."""
        return period_start(self.period, now)


class TeamBudgetExceededError(BudgetExceededError):
    """The ledger's own (team) budget refused the job; nothing was recorded or sent."""

    def __init__(self, budget: TeamBudget, requested: Decimal) -> None:
        super().__init__(budget=budget.amount, spent=budget.committed, requested=requested)
        per = "" if budget.period == "total" else f" this {budget.period}"
        self.args = (
            f"This would cost up to ${requested:.2f} but only ${budget.left:.2f} of the team budget of "
            f"${budget.amount:.2f}{per} is left (${budget.committed:.2f} spent or reserved). Nothing was sent. "
            "Whoever manages the ledger can raise it with: sora2-widgets budget set AMOUNT.",
        )

    def __str__(self) -> str:
        return str(self.args[0])


def check_period(period: object) -> str:
    if not isinstance(period, str) or period not in PERIODS:
        raise ConfigError("period", f"must be one of {', '.join(PERIODS)}, got {period!r:.40}")
    return period


def period_start(period: str, now: dt.datetime | None = None) -> str | None:
    now = now or dt.datetime.now(dt.timezone.utc)
    day = dt.datetime(now.year, now.month, now.day, tzinfo=dt.timezone.utc)
    if period == "total":
        return None
    if period == "month":
        start = day.replace(day=1)
    elif period == "week":
        start = day - dt.timedelta(days=day.weekday())
    else:
        start = day
    return start.strftime(ISO_FORMAT)


def read(conn: SqlConn) -> TeamBudget | None:
    from ._reports import committed

    row = conn.execute("SELECT amount_micros, period, set_at, set_by FROM ledger_budget WHERE id = 1").fetchone()
    if row is None:
        return None
    budget = TeamBudget(from_micros(int(row[0])), str(row[1]), str(row[2]), str(row[3]))
    return dataclasses.replace(budget, committed=committed(conn, since=budget.period_start()))


def write(conn: SqlConn, amount: object, period: object, by: str) -> None:
    """Set (or with ``amount=None`` remove) the ledger's budget; bad input is refused first."""
    if amount is None:
        conn.execute("DELETE FROM ledger_budget WHERE id = 1")
        return
    usd = parse_usd(amount, field="amount")
    checked = check_period(period)
    conn.execute("DELETE FROM ledger_budget WHERE id = 1")
    conn.execute(
        "INSERT INTO ledger_budget (id, amount_micros, period, set_at, set_by) VALUES (1, ?, ?, ?, ?)",
        (to_micros(usd), checked, now_iso(), by),
    )
