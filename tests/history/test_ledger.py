"""The ledger alone: money rules, groupings, remix candidates, the DataFrame view, migrations, export."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

import sora2_widgets as sw
from sora2_widgets.history import _records, _schema

T2T, PRO, KLING = "sora2_text_to_video", "sora2_text_to_video_pro", "kling25_turbo_pro_text_to_video"


def row(h: sw.History, model: str, status: str, cost: str | None, day: str, **kw: object) -> int:
    spec = sw.get_model(model)
    return h.add(
        model_id=model,
        endpoint=spec.endpoint,
        mode=spec.mode.value,
        provider=kw.pop("provider", "fal"),
        status=status,
        cost_micros=None if cost is None else _records.to_micros(cost),
        created_at=f"{day}T12:00:00.000000Z",
        **kw,
    )


@pytest.fixture()
def filled(tmp_path: Path) -> sw.History:
    h = sw.History(tmp_path)
    row(h, T2T, "completed", "0.40", "2026-01-01")
    row(h, T2T, "completed", "0.80", "2026-01-02")
    row(h, PRO, "completed", "6.00", "2026-01-02", provider="emulator")
    row(h, PRO, "failed", "0", "2026-01-02")
    row(h, KLING, "completed", "0.35", "2026-01-03")
    row(h, KLING, "unavailable", "0", "2026-01-03")
    row(h, T2T, "unknown", None, "2026-01-03", error="submit outcome unknown: ...", est_high_micros=800_000)
    return h


def test_spend_groupings_match_hand_computed_decimals(filled: sw.History) -> None:
    by_model = filled.spend(by="model")
    assert by_model.loc[T2T, "total"] == Decimal("1.2") and by_model.loc[T2T, "count"] == 3
    assert by_model.loc[PRO, "total"] == Decimal("6") and by_model.loc[PRO, "completed"] == 1
    assert by_model.loc[KLING, "total"] == Decimal("0.35")
    assert by_model["total_usd"].dtype == "float64"
    by_day = filled.spend(by="day")
    assert [str(d) for d in by_day.index] == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert list(by_day["total"]) == [Decimal("0.4"), Decimal("6.8"), Decimal("0.35")]
    assert filled.spend(by="provider").loc["emulator", "total"] == Decimal("6")
    assert filled.spend(by="mode").loc["text", "count"] == 7
    assert filled.total_spent() == Decimal("7.55")
    # The job whose submit outcome is unknown: not spent, but reported as what it may have cost.
    assert by_model.loc[T2T, "unknown"] == 1 and by_model.loc[T2T, "possibly_charged"] == Decimal("0.8")
    assert by_model.loc[PRO, "unknown"] == 0 and by_model.loc[PRO, "possibly_charged"] == 0
    assert by_model["possibly_charged_usd"].sum() == pytest.approx(0.8)
    assert filled.possibly_charged() == Decimal("0.8") and filled.possibly_charged(since="2026-01-04") == 0
    assert [r.id for r in filled.records("status = ?", ("unknown",))] == [7]
    assert filled.total_spent(since="2026-01-02") == Decimal("7.15")
    assert list(filled.spend(by="day", since="2026-01-03")["total"]) == [Decimal("0.35")]
    with pytest.raises(ValueError):
        filled.spend(by="week")  # type: ignore[arg-type]


def test_money_is_exact_integers_in_the_file(filled: sw.History) -> None:
    conn = sqlite3.connect(filled.path)
    types = {t for (t,) in conn.execute("SELECT DISTINCT typeof(cost_micros) FROM generations")}
    assert types == {"integer", "null"}
    assert _records.to_micros("0.0000001") == 1  # sub-micro rounds up, never under-reports
    assert _records.from_micros(350000) == Decimal("0.35")


def test_df_types_and_cache(filled: sw.History) -> None:
    df = filled.df
    assert str(df["created_at"].dtype).startswith("datetime64") and str(df["created_at"].dt.tz) == "UTC"
    for c in ("model_id", "status", "provider", "mode"):
        assert isinstance(df[c].dtype, pd.CategoricalDtype)
    assert str(df["cost_micros"].dtype) == "Int64" and df["cost_usd"].dtype == "float64"
    assert pd.isna(df.loc[7, "cost_usd"]) and df.loc[3, "cost_usd"] == 6.0
    assert df.index.name == "id" and list(df.index) == list(range(1, 8))
    assert filled.df is not filled.df  # copies: editing one never corrupts the cache
    other = sw.History(filled.path)  # another connection writes: the view must notice
    row(other, T2T, "completed", "0.40", "2026-01-04")
    assert len(filled.df) == 8
    filled.update(8, status="failed")
    assert filled.df.loc[8, "status"] == "failed"


def test_remix_candidates_rules(tmp_path: Path) -> None:
    h = sw.History(tmp_path)
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
    h = sw.History(tmp_path)
    video = h.media_path(1, T2T, ".mp4")
    video.parent.mkdir(parents=True)
    video.write_bytes(b"mp4")
    hid = row(h, T2T, "completed", "0.8", "2026-01-01", local_path=h._store_path(video))
    assert h.get(hid).local_path == video
    rec = h.delete(hid)
    assert rec.deleted and rec.local_path is None and not video.exists()
    assert rec.cost == Decimal("0.8") and h.total_spent() == Decimal("0.8") and len(h) == 1


def test_migrations_from_scratch_and_refuse_newer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    h = sw.History(tmp_path / "a")
    version = sqlite3.connect(h.path).execute("PRAGMA user_version").fetchone()[0]
    assert version == len(_schema.MIGRATIONS)
    assert sqlite3.connect(h.path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    row(h, T2T, "completed", "0.4", "2026-01-01")
    h.close()
    # A later step is applied to an existing file, keeping its rows.
    steps = [*_schema.MIGRATIONS, ["ALTER TABLE generations ADD COLUMN note TEXT"]]
    monkeypatch.setattr(_schema, "MIGRATIONS", steps)
    h2 = sw.History(tmp_path / "a")
    assert len(h2) == 1 and "note" in [r[1] for r in sqlite3.connect(h2.path).execute("PRAGMA table_info(generations)")]
    h2.close()
    monkeypatch.setattr(_schema, "MIGRATIONS", steps[:1])
    with pytest.raises(RuntimeError, match="newer sora2-widgets"):
        sw.History(tmp_path / "a")


def test_migrating_a_version_2_ledger_marks_old_unknown_submits(tmp_path: Path) -> None:
    """Step 3 rebuilds the table for the new status: rows, ids, revisions, remix links and the
    never-reuse-an-id promise survive; old "failed + submit outcome unknown" rows become unknown."""
    db = tmp_path / "history.sqlite3"
    conn = sqlite3.connect(db, isolation_level=None)
    for step in _schema.MIGRATIONS[:2]:
        for statement in step:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    conn.execute("PRAGMA foreign_keys = ON")
    insert = (
        "INSERT INTO generations (created_at, updated_at, model_id, endpoint, mode, provider, status, error,"
        " cost_micros, est_high_micros, remixed_from) VALUES ('2026-01-01T00:00:00.000000Z',"
        " '2026-01-01T00:00:00.000000Z', ?, 'fal-ai/sora-2/text-to-video', 'text', 'fal', ?, ?, ?, 400000, ?)"
    )
    conn.execute(insert, (T2T, "completed", None, 400_000, None))
    conn.execute(insert, (T2T, "completed", None, 400_000, 1))  # a remix of #1
    conn.execute(insert, (T2T, "failed", "submit outcome unknown: connection reset after sending", None, None))
    conn.execute(insert, (T2T, "failed", "HTTP 500: boom", 0, None))
    conn.execute(insert, (T2T, "submitted", None, None, None))
    conn.execute("DELETE FROM generations WHERE id = 5")  # the highest id is gone: never to be reused
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(insert, (T2T, "unknown", None, None, None))  # schema 2 cannot hold the status
    conn.close()

    h = sw.History(tmp_path)
    assert sqlite3.connect(h.path).execute("PRAGMA user_version").fetchone()[0] == len(_schema.MIGRATIONS)
    statuses = [(r.id, r.status) for r in h.records()]
    assert statuses == [(1, "completed"), (2, "completed"), (3, "unknown"), (4, "failed")]
    assert h.get(2).remixed_from == 1 and h.total_spent() == Decimal("0.8") and h.possibly_charged() == Decimal("0.4")
    assert h.add(model_id=T2T, endpoint="e", mode="text", provider="fal") == 6
    assert list(h.df["status"]) == ["completed", "completed", "unknown", "failed", "submitted"]
    with pytest.raises(sqlite3.IntegrityError):  # references are enforced again
        h.update(6, remixed_from=99)
    with pytest.raises(sqlite3.IntegrityError):  # and the CHECK still refuses nonsense
        raw = sqlite3.connect(h.path)
        raw.execute("UPDATE generations SET status = 'bogus' WHERE id = 1")
    h.close()


def test_export_csv_and_parquet(filled: sw.History, tmp_path: Path) -> None:
    csv = filled.to_csv(tmp_path / "h.csv")
    back = pd.read_csv(csv)
    assert len(back) == 7 and back["cost_micros"].fillna(0).sum() == 7_550_000
    pq = filled.to_parquet(tmp_path / "h.parquet")
    assert len(pd.read_parquet(pq)) == 7


def test_big_data_uris_are_not_stored_verbatim() -> None:
    uri = "data:image/png;base64," + "A" * 10_000
    stored = _records.scrub_params({"image_url": uri, "duration": 4})
    assert stored["duration"] == 4 and len(stored["image_url"]) < 200 and "sha256" in stored["image_url"]


@pytest.mark.slow
def test_kernels_opening_a_new_ledger_together_all_get_in(tmp_path: Path) -> None:
    # Two notebooks started at once on a fresh data directory race to switch the new file to WAL;
    # SQLite refuses the loser at once ("database is locked") instead of making it wait. Threads
    # hit the same race as processes (each History has its own connection) and are quicker to run.
    import threading

    errors: list[BaseException] = []
    for round_ in range(200):
        where = tmp_path / str(round_)
        start = threading.Barrier(6)

        def open_and_add(where: Path = where, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                sw.History(where).add(
                    model_id="sora2_text_to_video",
                    endpoint="fal-ai/sora-2/text-to-video",
                    mode="text",
                    prompt="p",
                    provider="emulator",
                    status="completed",
                    cost_micros=100_000,
                )
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=open_and_add) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert {len(sw.History(tmp_path / str(r))) for r in range(200)} == {6}
