"""What the History and Spend tabs read from the ledger, and the one thing they change in it.

The frames are ``History.df`` and ``History.spend()`` as the ledger makes them, read by their
own column names (``id``, ``created_at``, ``model_id``, ``status``, ``deleted`` …). What people
read instead of those names (model names, status words, column headers) is here too, so the
History and Spend tabs say the same things the job cards do.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .._catalog import get_model
from .._errors import UnknownModelError
from ._protocols import HistoryLike

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "COLUMN_HEADERS",
    "STATUS_WORDS",
    "delete_rows",
    "history_frame",
    "model_name",
    "simulated_spend",
    "spend_by_user",
    "spend_frames",
    "status_word",
]

log = logging.getLogger("sora2_widgets.panel")

#: The ledger's statuses as the History tab says them (the cards' words where they have one).
STATUS_WORDS = {
    "submitted": "Submitting",
    "in_queue": "In queue",
    "in_progress": "Generating",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "unavailable": "Model unavailable",
    "unknown": "Outcome unknown",
    "not_created": "Not created (not charged)",
}

#: Spend frames' index and column names → table headers.
COLUMN_HEADERS = {
    "model_id": "Model",
    "user": "Who",
    "day": "Day",
    "mode": "Mode",
    "provider": "Provider",
    "count": "Jobs",
    "completed": "Completed",
    "total": "Spent",
    "unknown": "Outcome unknown",
    "not_created": "Not created (not charged)",
    "possibly_charged": "Possibly charged",
}


def model_name(model_id: str) -> str:
    """A catalog id as its display name ("Sora 2 Pro"), as the job cards show models."""
    try:
        return get_model(model_id).name
    except UnknownModelError:  # an id from an older catalog: show it as stored
        return model_id


def status_word(status: str) -> str:
    return STATUS_WORDS.get(status, status.replace("_", " ").capitalize())


def history_frame(history: HistoryLike, *, model: str | None = None, status: str | None = None) -> pd.DataFrame:
    """The ledger with ``id`` as a column, newest first, without soft-deleted rows, optionally
    only one model id and one status."""
    frame = history.df
    if len(frame) == 0:
        return frame
    frame = frame.reset_index()
    frame = frame[~frame["deleted"]]  # soft-deleted rows keep their money, not their place
    frame = frame.sort_values("created_at", ascending=False, kind="stable")
    if model:
        frame = frame[frame["model_id"] == model]
    if status:
        frame = frame[frame["status"] == status]
    return frame


def delete_rows(history: HistoryLike, ids: Sequence[Any]) -> int:
    """Soft-delete these rows (their files go); returns how many were still there."""
    count = 0
    for one in ids:
        try:
            history.delete(int(one))
            count += 1
        except (KeyError, LookupError, ValueError):
            log.warning("history row %s was already gone", one)
    return count


def spend_frames(history: HistoryLike) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Spend by model and by day, or ``(None, None)`` when the ledger cannot be read."""
    try:
        return history.spend(by="model"), history.spend(by="day")
    except Exception:
        log.exception("could not compute spend")
        return None, None


def spend_by_user(history: HistoryLike) -> pd.DataFrame | None:
    """Spend per person, when more than one spends from this ledger (a team's); else ``None``."""
    try:
        frame = history.spend(by="user")
    except Exception:
        log.exception("could not compute spend by user")
        return None
    return frame if len(frame) > 1 else None


def simulated_spend(history: HistoryLike) -> Decimal:
    """What the emulator's jobs "cost": priced like fal's, charged to nobody."""
    try:
        by_provider = history.spend(by="provider")
    except Exception:
        log.exception("could not compute spend by provider")
        return Decimal(0)
    if "emulator" not in by_provider.index:
        return Decimal(0)
    value = by_provider.loc["emulator", "total"]
    return value if isinstance(value, Decimal) else Decimal(str(value))
