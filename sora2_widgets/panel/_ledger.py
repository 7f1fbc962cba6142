"""What the History and Spend tabs read from the ledger, and the one thing they change in it.

The frames are ``History.df`` and ``History.spend()`` as the ledger makes them, read by their
own column names (``id``, ``created_at``, ``model_id``, ``status``, ``deleted`` …).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._protocols import HistoryLike

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["delete_rows", "history_frame", "spend_frames"]

log = logging.getLogger("sora2_widgets.panel")


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
