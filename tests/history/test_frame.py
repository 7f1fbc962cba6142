"""The cached DataFrame (History.df): its types, incremental refresh, other writers.

The rule under test: a cache may be slow, never wrong. Every check compares against a frame built
from scratch from SQLite by a History that has no cache at all.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import sora2_widgets as sw
from tests.team.backends import open_history

from .ledger_rows import I2V, KLING, PRO, T2T, add, raw, row, same


def test_df_types_and_cache(filled: sw.History) -> None:
    df = filled.df
    assert str(df["created_at"].dtype).startswith("datetime64") and str(df["created_at"].dt.tz) == "UTC"
    for c in ("model_id", "status", "provider", "mode"):
        assert isinstance(df[c].dtype, pd.CategoricalDtype)
    assert str(df["cost_micros"].dtype) == "Int64" and df["cost_usd"].dtype == "float64"
    assert pd.isna(df.loc[7, "cost_usd"]) and df.loc[3, "cost_usd"] == 6.0
    assert df.index.name == "id" and list(df.index) == list(range(1, 8))
    assert filled.df is not filled.df  # copies: editing one never corrupts the cache
    other = open_history(filled.path)  # another connection writes: the view must notice
    row(other, T2T, "completed", "0.40", "2026-01-04")
    assert len(filled.df) == 8
    filled.update(8, status="failed")
    assert filled.df.loc[8, "status"] == "failed"


def test_incremental_refresh_equals_a_full_build(tmp_path: Path) -> None:
    h = open_history(tmp_path)
    ids = [add(h, m) for m in (T2T, T2T, PRO)]
    same(h.df, tmp_path)
    # Appends, including a model the frame has never seen (its categories grow).
    ids.append(add(h, KLING, cost="0.35", video_id="v1", width=1280, height=720, duration=5.0))
    same(h.df, tmp_path)
    # Updates in place: status, money to unknown (NaN), paths, bools.
    h.update(ids[0], status="failed", cost_micros=None, error="boom")
    h.update(ids[1], local_path="media/x.mp4", kept_for_remix=1, fps=24.0)
    same(h.df, tmp_path)
    # Soft delete keeps the row; a hard delete removes it; the last PRO row turned into T2T
    # leaves PRO unused: the categories must shrink exactly as a full build's would.
    h.delete(ids[1], files=False)
    h.remove_row(ids[3])
    h.update(ids[2], model_id=T2T)
    df = h.df
    same(df, tmp_path)
    assert list(df["model_id"].cat.categories) == [T2T] and ids[3] not in df.index
    # Edits to the returned copy never reach the cache.
    df.loc[ids[0], "prompt"] = "mine"
    df["status"] = "completed"
    same(h.df, tmp_path)


def test_writes_by_other_connections_are_seen(tmp_path: Path) -> None:
    h = open_history(tmp_path)
    hid = add(h)
    assert h.df.loc[hid, "status"] == "completed"
    other = open_history(tmp_path)
    new = add(other, I2V, status="in_progress", cost=None)
    raw(h).execute("UPDATE generations SET status = 'failed', cost_micros = 0 WHERE id = ?", (hid,))
    df = h.df
    assert df.loc[hid, "status"] == "failed" and df.loc[new, "model_id"] == I2V
    same(df, tmp_path)
    other.close()
