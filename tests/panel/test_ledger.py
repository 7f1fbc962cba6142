"""What the History and Spend tabs read from the ledger, by the ledger's own column names."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sora2_widgets.panel._ledger import delete_rows, history_frame, spend_frames

from ._helpers import TEXT_KLING, TEXT_SORA


def test_history_frame_is_newest_first_without_deleted_rows_and_filters(history: Any) -> None:
    assert len(history_frame(history)) == 0
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    ids = [
        history.add(model_id=model, status=status, prompt=f"p{i}", created_at=start + dt.timedelta(minutes=i))
        for i, (model, status) in enumerate(
            [(TEXT_SORA, "completed"), (TEXT_KLING, "failed"), (TEXT_SORA, "failed"), (TEXT_SORA, "completed")]
        )
    ]
    assert delete_rows(history, [ids[3], 999]) == 1  # a row already gone is not counted
    frame = history_frame(history)
    assert list(frame["id"]) == [ids[2], ids[1], ids[0]]
    assert list(history_frame(history, model=TEXT_SORA)["id"]) == [ids[2], ids[0]]
    assert list(history_frame(history, model=TEXT_SORA, status="failed")["id"]) == [ids[2]]


def test_spend_frames_are_the_ledgers_by_model_and_by_day(history: Any) -> None:
    history.add(model_id=TEXT_SORA, status="completed", prompt="x", cost_usd=0.4)
    by_model, by_day = spend_frames(history)
    assert by_model is not None and by_day is not None
    assert by_model.index.name == "model_id" and by_day.index.name == "day"
    assert str(by_model.loc[TEXT_SORA, "total"]) == "0.4"
