"""The ledger's names: the typed column lists other layers import are the ones History really has."""

from __future__ import annotations

from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets.history import (
    FRAME_COLUMNS,
    FRAME_INDEX,
    LEDGER_COLUMNS,
    SPEND_COLUMNS,
    STATUSES,
    WRITABLE_COLUMNS,
)
from tests.team.backends import open_history

from .ledger_rows import T2T, add, table_columns


def test_ledger_columns_are_the_tables_in_order(tmp_path: Path) -> None:
    h = open_history(tmp_path)
    assert table_columns(h) == LEDGER_COLUMNS


def test_frame_and_spend_columns_are_what_history_returns(filled: sw.History, tmp_path: Path) -> None:
    df = filled.df
    assert df.index.name == FRAME_INDEX and tuple(df.columns) == FRAME_COLUMNS
    assert tuple(filled.remix_candidates().columns) == FRAME_COLUMNS
    assert tuple(open_history(tmp_path / "empty").df.columns) == FRAME_COLUMNS
    for by in ("model", "day", "mode", "provider"):
        assert tuple(filled.spend(by=by).columns) == SPEND_COLUMNS  # type: ignore[arg-type]


def test_only_writable_columns_can_be_written(tmp_path: Path) -> None:
    h = open_history(tmp_path)
    hid = add(h)
    assert {"id", "created_at", "updated_at", "rev"}.isdisjoint(WRITABLE_COLUMNS)
    assert WRITABLE_COLUMNS < set(LEDGER_COLUMNS)
    for column in ("id", "updated_at", "rev", "cost_usd"):
        with pytest.raises(TypeError, match="unknown history columns"):
            h.add(model_id=T2T, endpoint="e", mode="text", provider="fal", **{column: 1})
        with pytest.raises(TypeError, match="unknown history columns"):
            h.update(hid, **{column: 1})


def test_every_status_is_one_the_table_accepts(tmp_path: Path) -> None:
    h = open_history(tmp_path)
    ids = [add(h, status=s, cost=None) for s in STATUSES]
    assert [r.status for r in h.records()] == list(STATUSES) and len(ids) == len(STATUSES)
    with pytest.raises(ValueError, match="unknown status"):
        h.update(ids[0], status="bogus")
