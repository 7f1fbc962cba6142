"""History's own rows in and out: remix candidates, soft delete, export."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd

import sora2_widgets as sw
from tests.team.backends import open_history

from .ledger_rows import KLING, PRO, T2T, row


def test_remix_candidates_rules(tmp_path: Path) -> None:
    h = open_history(tmp_path)
    good_old = row(h, T2T, "completed", "0.4", "2026-01-01", video_id="v1", kept_for_remix=1)
    row(h, T2T, "completed", "0.4", "2026-01-01", video_id="v2", kept_for_remix=0)  # deleted on service
    row(h, KLING, "completed", "0.35", "2026-01-01", video_id="k", kept_for_remix=1)  # not Sora
    row(h, T2T, "failed", "0", "2026-01-01", video_id="v3", kept_for_remix=1)  # not completed
    row(h, T2T, "completed", "0.4", "2026-01-01", kept_for_remix=1)  # no video_id
    gone = row(h, T2T, "completed", "0.4", "2026-01-01", video_id="v4", kept_for_remix=1)
    good_new = row(h, PRO, "completed", "2", "2026-01-02", video_id="v5", kept_for_remix=1, provider="emulator")
    h.delete(gone)
    assert list(h.remix_candidates().index) == [good_new, good_old]
    assert [r.id for r in h.remix_candidates(as_records=True)] == [good_new, good_old]
    assert list(h.remix_candidates(provider="fal").index) == [good_old]
    assert all(r.remixable for r in h.remix_candidates(as_records=True))


def test_delete_is_soft_keeps_money_removes_files(tmp_path: Path) -> None:
    h = open_history(tmp_path)
    video = h.media_path(1, T2T, ".mp4")
    video.parent.mkdir(parents=True)
    video.write_bytes(b"mp4")
    hid = row(h, T2T, "completed", "0.8", "2026-01-01", local_path=h._store_path(video))
    assert h.get(hid).local_path == video
    rec = h.delete(hid)
    assert rec.deleted and rec.local_path is None and not video.exists()
    assert rec.cost == Decimal("0.8") and h.total_spent() == Decimal("0.8") and len(h) == 1


def test_export_csv_and_parquet(filled: sw.History, tmp_path: Path) -> None:
    csv = filled.to_csv(tmp_path / "h.csv")
    back = pd.read_csv(csv)
    assert len(back) == 7 and back["cost_micros"].fillna(0).sum() == 7_550_000
    pq = filled.to_parquet(tmp_path / "h.parquet")
    assert len(pd.read_parquet(pq)) == 7


def test_media_paths_are_stored_relative_to_the_ledger_folder(tmp_path: Path) -> None:
    h = open_history(tmp_path / "ledger")
    inside = h.media_path(3, T2T, ".mp4")
    assert h._store_path(inside) == "media/000003_sora2_text_to_video.mp4"
    assert h._load_path("media/000003_sora2_text_to_video.mp4") == inside
    outside = tmp_path / "elsewhere.mp4"
    assert h._store_path(outside) == str(outside.resolve()) and h._load_path(str(outside)) == outside
    assert h._store_path(None) is None and h._load_path(None) is None and h._load_path("") is None
