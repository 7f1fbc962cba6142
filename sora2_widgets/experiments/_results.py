"""What the ledger holds for a sweep: each combination's row, and which combinations are left to run.

A combination may have several rows (a failed try, then a completed one). The one that counts is
the best by :data:`_RANK` (completed, then still running, then ``unknown``), the newest among
equals. Whether a combination runs again follows from it:

* ``completed`` → done;
* still running (submitted, in queue, in progress) → resumed, never submitted again;
* ``unknown`` (the submit's answer was lost: the service may have made and charged it) → left
  alone: running it again could pay twice; it is shown as ``unknown`` for the user to check;
* ``failed``, ``cancelled``, ``unavailable``, ``not_created`` or no row → run (again): those cost
  nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..history import ACTIVE_STATUSES, History, HistoryRecord
from ._plan import LEAD_COLUMNS, TAIL_COLUMNS, PlannedJob, plan_rows, setting_names

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "RESULT_COLUMNS",
    "RUN_AGAIN",
    "active",
    "best_rows",
    "model_name",
    "result_rows",
    "results_frame",
    "settings_of",
    "to_run",
]

#: Statuses after which a combination is run again (nothing was charged).
RUN_AGAIN = frozenset({"failed", "cancelled", "unavailable", "not_created"})
#: Which row of a combination counts: lower is better.
_RANK: Mapping[str, int] = {"completed": 0, **dict.fromkeys(ACTIVE_STATUSES, 1), "unknown": 2}
#: What results add to the plan's columns.
RESULT_COLUMNS = ("status", "cost_usd", "seconds", "local_path", "history_id", "error", "rating", "notes")


def best_rows(history: History, sweep: str) -> dict[str, HistoryRecord]:
    """Each combination key's row that counts (see the module's rules)."""
    best: dict[str, HistoryRecord] = {}
    for rec in history.records("sweep = ?", (sweep,)):
        if rec.sweep_key is None:
            continue
        held = best.get(rec.sweep_key)
        # Records come oldest first: a newer row of the same rank replaces the older one.
        if held is None or _RANK.get(rec.status, 3) <= _RANK.get(held.status, 3):
            best[rec.sweep_key] = rec
    return best


def to_run(jobs: Sequence[PlannedJob], rows: Mapping[str, HistoryRecord]) -> list[PlannedJob]:
    """The jobs with no row yet, or whose row ended without charging anything."""
    return [j for j in jobs if (r := rows.get(j.combination.key)) is None or r.status in RUN_AGAIN]


def active(jobs: Sequence[PlannedJob], rows: Mapping[str, HistoryRecord]) -> list[HistoryRecord]:
    """The rows of this sweep a job may still be running for."""
    return [r for j in jobs if (r := rows.get(j.combination.key)) is not None and r.is_active]


def _seconds(rec: HistoryRecord) -> float | None:
    # From the row's creation to its last change: the job's wall time once it has ended (a later
    # rating moves updated_at too, so this is an upper bound for rated rows).
    if rec.is_active or rec.status != "completed":
        return None
    return round((rec.updated_at - rec.created_at).total_seconds(), 3)


def result_rows(jobs: Sequence[PlannedJob], rows: Mapping[str, HistoryRecord]) -> list[dict[str, Any]]:
    """The plan's rows with each one's outcome (``status`` ``"not run"`` where there is no row)."""
    out = []
    for job, row in zip(jobs, plan_rows(jobs), strict=True):
        rec = rows.get(job.combination.key)
        row.update(
            status=rec.status if rec else "not run",
            cost_usd=float(rec.cost) if rec and rec.cost is not None else None,
            seconds=_seconds(rec) if rec else None,
            local_path=str(rec.local_path) if rec and rec.local_path else None,
            history_id=rec.id if rec else None,
            error=rec.error if rec else None,
            rating=rec.rating if rec else None,
            notes=rec.notes if rec else "",
            thumbnail_path=str(rec.thumbnail_path) if rec and rec.thumbnail_path else None,
        )
        out.append(row)
    return out


def results_frame(jobs: Sequence[PlannedJob], rows: Mapping[str, HistoryRecord]) -> pd.DataFrame:
    """The plan's columns plus status, cost, time, local path and history id, by combination."""
    import pandas as pd

    columns = [*LEAD_COLUMNS, *setting_names(jobs), *TAIL_COLUMNS, *RESULT_COLUMNS]
    frame = pd.DataFrame(result_rows(jobs, rows), columns=columns)
    frame["history_id"] = frame["history_id"].astype("Int64")
    frame["rating"] = frame["rating"].astype("Int64")
    return frame.set_index("combination")


def settings_of(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The grid's setting columns of :func:`result_rows`' rows (what captions show)."""
    fixed = {*LEAD_COLUMNS, *TAIL_COLUMNS, *RESULT_COLUMNS, "thumbnail_path"}
    return [k for k in rows[0] if k not in fixed] if rows else []


def model_name(model_id: str) -> str:
    """The name people read (``Kling 2.5 Turbo Pro``) for a model id; the id if the catalog lacks it."""
    from .._catalog import get_model

    try:
        return get_model(model_id).name
    except KeyError:
        return model_id
