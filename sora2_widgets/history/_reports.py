"""Money read from the ledger: what was spent, what may have been charged, what a budget must cover.

The rules:

* Money is summed exactly in SQL, in integer micro-dollars, and returned as ``Decimal`` USD.
* **Spent** means the *actual* cost recorded for a row. It is recorded once, when a job
  completes; failed, unavailable and cancelled jobs record ``0``. A job whose submit outcome is
  unknown (status ``unknown``: the answer to the submit was lost, or the process died while
  submitting) records ``NULL`` (shown as NaN) and counts as ``0`` spent — but it *may* have been
  charged, so :func:`possibly_charged` and :func:`spend` report its high estimate apart.
  Soft-deleted rows still count: deleting the files does not refund the money.
* **Committed** is spent plus the high estimate of every job still running, by any process, and
  of every ``unknown`` row until recovery resolves it (it may be running, or billed): what a
  budget must cover before one more job may start.

Answers are remembered until the ledger's revision moves (the panel redraws often).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from ._columns import ACTIVE_STATUSES
from ._records import ISO_FORMAT, from_micros, from_nanos

if TYPE_CHECKING:
    import pandas as pd

    from ._backend import Ledger, SqlConn

__all__ = ["Since", "SpendBy", "committed", "possibly_charged", "since_iso", "spend", "total_spent"]

#: A report's start: a datetime/date (naive = UTC), an ISO string, or a timedelta back from now.
Since: TypeAlias = dt.datetime | dt.date | dt.timedelta | str | None
SpendBy: TypeAlias = Literal["model", "day", "mode", "provider", "user", "machine", "sweep"]

#: What an ``unknown`` row may have cost: its high estimate (the low one if that is all we have).
_UNKNOWN_UP_TO = "COALESCE(est_high_micros, est_low_micros, 0)"
_POSSIBLY_CHARGED = f"COALESCE(SUM({_UNKNOWN_UP_TO}), 0)"

_SPEND_KEYS: Mapping[str, str] = {
    "model": "model_id",
    "day": "substr(created_at, 1, 10)",
    "mode": "mode",
    "provider": "provider",
    # Quoted: USER alone is PostgreSQL's current role, not the column.
    "user": '"user"',
    "machine": "machine",
    # Generations outside any sweep are one group, under None: the groups still add up to the total.
    "sweep": "sweep",
}


#: What fal's side says, per group: the provisional cost (``x-fal-billable-units`` × unit price),
#: the billed cost (billing events, exact nano-USD) with how many rows have one, and billed − the
#: ledger's cost over the rows that have both. SUM of no values is NULL: unknown, never $0.
_BILLING_SUMS = (
    "SUM(provisional_micros) AS provisional, SUM(billed_nanos) AS billed, COUNT(billed_nanos) AS billed_n, "
    "SUM(CASE WHEN billed_nanos IS NOT NULL AND cost_micros IS NOT NULL "
    "THEN billed_nanos - cost_micros * 1000 END) AS diff"
)


def _billing_columns(rows: Sequence[Any]) -> dict[str, Any]:
    """The spend frame's provisional / billed / difference columns: exact ``Decimal`` or ``None``
    (unknown), with float64 twins (NaN when unknown)."""
    import pandas as pd

    provisional = [None if r["provisional"] is None else from_micros(int(r["provisional"])) for r in rows]
    billed = [None if r["billed"] is None else from_nanos(int(r["billed"])) for r in rows]
    diff = [None if r["diff"] is None else from_nanos(int(r["diff"])) for r in rows]

    def floats(values: list[Decimal | None]) -> Any:
        return pd.array([float("nan") if v is None else float(v) for v in values], dtype="float64")

    return {
        "provisional": pd.array(provisional, dtype="object"),
        "provisional_usd": floats(provisional),
        "billed": pd.array(billed, dtype="object"),
        "billed_usd": floats(billed),
        "billed_count": pd.array([int(r["billed_n"] or 0) for r in rows], dtype="int64"),
        "difference": pd.array(diff, dtype="object"),
        "difference_usd": floats(diff),
    }


def since_iso(since: Since) -> str | None:
    """``since`` as the ledger's UTC time text (None: from the beginning)."""
    if since is None:
        return None
    if isinstance(since, dt.timedelta):
        when = dt.datetime.now(dt.timezone.utc) - since
    elif isinstance(since, str):
        when = dt.datetime.fromisoformat(since)
    elif isinstance(since, dt.datetime):
        when = since
    else:
        when = dt.datetime(since.year, since.month, since.day)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc).strftime(ISO_FORMAT)


def committed(conn: SqlConn, exclude_owners: Sequence[str] = (), *, since: str | None = None) -> Decimal:
    """Spent plus the high estimate of every running job, leaving out jobs leased by ``exclude_owners``
    (and rows created before ``since``, ledger time text), plus what each ``unknown`` row may have
    cost: held back until recovery finds its job or marks it ``not_created``. Runs on ``conn`` as
    it is (inside the caller's transaction, if any)."""
    active = ", ".join("?" for _ in ACTIVE_STATUSES)
    mine = ", ".join("?" for _ in exclude_owners)
    others = f" AND (lease_owner IS NULL OR lease_owner NOT IN ({mine}))" if exclude_owners else ""
    row = conn.execute(
        "SELECT COALESCE(SUM(cost_micros), 0), "  # noqa: S608 - only placeholders are interpolated
        f"COALESCE(SUM(CASE WHEN status IN ({active}){others} THEN est_high_micros "
        f"WHEN status = 'unknown' THEN {_UNKNOWN_UP_TO} ELSE 0 END), 0) "
        "FROM generations" + (" WHERE created_at >= ?" if since else ""),
        (*ACTIVE_STATUSES, *exclude_owners, *((since,) if since else ())),
    ).fetchone()
    return from_micros(int(row[0]) + int(row[1]))


def total_spent(db: Ledger, since: Since = None) -> Decimal:
    """Exact USD spent: the sum of recorded actual costs."""
    return _memo_sum(db, "total_spent", "SELECT COALESCE(SUM(cost_micros), 0) FROM generations WHERE 1 = 1", since)


def possibly_charged(db: Ledger, since: Since = None) -> Decimal:
    """Upper bound of what jobs in status ``unknown`` may have cost (their high estimates)."""
    sql = f"SELECT {_POSSIBLY_CHARGED} FROM generations WHERE status = 'unknown'"  # noqa: S608
    return _memo_sum(db, "possibly_charged", sql, since)


def _memo_sum(db: Ledger, name: str, sql: str, since: Since) -> Decimal:
    """One money sum (``sql`` selects micro-dollars and ends in a WHERE clause), remembered
    until the ledger changes."""
    start = since_iso(since)
    with db.reading() as (conn, _, _):
        key = (name, start)
        if key not in db.memo:
            row = conn.execute(sql + " AND created_at >= ?", (start,)) if start else conn.execute(sql)
            db.memo[key] = from_micros(int(row.fetchone()[0]))
        total: Decimal = db.memo[key]
    return total


def spend(db: Ledger, by: SpendBy = "model", since: Since = None) -> pd.DataFrame:
    """Spend per model, UTC day, mode, provider, user or machine (see :meth:`History.spend`)."""
    import pandas as pd

    if by not in _SPEND_KEYS:
        raise ValueError(f"by must be one of {', '.join(_SPEND_KEYS)}, got {by!r}")
    key = _SPEND_KEYS[by]
    start = since_iso(since)
    sql = (
        f"SELECT {key} AS k, COUNT(*) AS n, SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS done, "  # noqa: S608
        "COALESCE(SUM(cost_micros), 0) AS micros, SUM(CASE WHEN status = 'unknown' THEN 1 ELSE 0 END) AS unknown, "
        f"COALESCE(SUM(CASE WHEN status = 'unknown' THEN {_UNKNOWN_UP_TO} END), 0) AS maybe, "
        f"{_BILLING_SUMS} FROM generations" + (" WHERE created_at >= ?" if start else "") + " GROUP BY k ORDER BY k"
    )
    with db.reading() as (conn, ledger, rev):
        memo_rev = (ledger, rev)
        # Kept until the ledger changes (the panel redraws the Spend tab often).
        memo_key = ("spend", by, start)
        cached = db.memo.get(memo_key)
        if cached is None:
            rows = conn.execute(sql, (start,) if start else ()).fetchall()
    if cached is not None:
        return cached.copy()  # type: ignore[no-any-return]
    index_name = {"model": "model_id", "day": "day"}.get(by, by)
    index: pd.Index[Any]
    if by == "day":
        index = pd.DatetimeIndex([r["k"] for r in rows], name=index_name).date  # type: ignore[assignment]
        index = pd.Index(index, name=index_name)
    else:
        index = pd.Index([r["k"] for r in rows], name=index_name, dtype="object")
    totals = [from_micros(int(r["micros"])) for r in rows]
    maybe = [from_micros(int(r["maybe"])) for r in rows]
    frame = pd.DataFrame(
        {
            "count": pd.array([int(r["n"]) for r in rows], dtype="int64"),
            "completed": pd.array([int(r["done"] or 0) for r in rows], dtype="int64"),
            "total": pd.array(totals, dtype="object"),
            "total_usd": pd.array([float(t) for t in totals], dtype="float64"),
            "unknown": pd.array([int(r["unknown"] or 0) for r in rows], dtype="int64"),
            "possibly_charged": pd.array(maybe, dtype="object"),
            "possibly_charged_usd": pd.array([float(m) for m in maybe], dtype="float64"),
            **_billing_columns(rows),
        },
        index=index,
    )
    db.remember(memo_rev, memo_key, frame)
    return frame.copy()
