"""The cached DataFrame: revisions, incremental refresh, the snapshot file, memoised reads.

The rule under test: a cache may be slow, never wrong. Every check compares against a frame built
from scratch from SQLite by a History that has no cache at all.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import sora2_widgets as sw
from sora2_widgets.history import _frame, _records, _schema
from sora2_widgets.history import _snapshot as snapshot_file

T2T, PRO, KLING, I2V = (
    "sora2_text_to_video",
    "sora2_text_to_video_pro",
    "kling25_turbo_pro_text_to_video",
    "sora2_image_to_video",
)


def add(h: sw.History, model: str = T2T, status: str = "completed", cost: str | None = "0.40", **kw: Any) -> int:
    spec = sw.get_model(model)
    return h.add(
        model_id=model,
        endpoint=spec.endpoint,
        mode=spec.mode.value,
        provider=kw.pop("provider", "emulator"),
        status=status,
        cost_micros=None if cost is None else _records.to_micros(cost),
        params_json=kw.pop("params_json", '{"duration": 4}'),
        **kw,
    )


def truth(path: Path) -> pd.DataFrame:
    """The frame as a full build makes it, by a History with no snapshot and no memory."""
    h = sw.History(path)
    try:
        with h._db.reading() as (conn, _, _):
            return _frame.build_frame(_frame.fetch(conn), h.path.parent)
    finally:
        h.close()


def same(got: pd.DataFrame, path: Path) -> None:
    want = truth(path)
    assert got.dtypes.equals(want.dtypes), (got.dtypes, want.dtypes)
    pd.testing.assert_frame_equal(got, want, check_exact=True)


@pytest.fixture()
def snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshots for small ledgers too (normally only from 2 000 rows)."""
    monkeypatch.setattr(_frame, "SNAPSHOT_MIN_ROWS", 1)


def raw(h: sw.History) -> sqlite3.Connection:
    """Another connection that bypasses History: like another tool or an older kernel."""
    return sqlite3.connect(h.path, isolation_level=None)


def test_every_write_moves_the_revision_even_from_a_plain_connection(tmp_path: Path) -> None:
    h = sw.History(tmp_path)
    a, b = add(h), add(h)
    conn = raw(h)

    def revs() -> dict[int, int]:
        return dict(conn.execute("SELECT id, rev FROM generations").fetchall())

    def clock() -> int:
        return int(conn.execute("SELECT rev FROM ledger_clock").fetchone()[0])

    first = revs()
    assert first[a] < first[b] == clock()
    h.update(a, status="failed")
    assert revs()[a] > first[b] and revs()[a] == clock() and revs()[b] == first[b]
    conn.execute("UPDATE generations SET prompt = 'edited by hand' WHERE id = ?", (b,))
    assert revs()[b] == clock() > revs()[a]
    before = clock()
    h.remove_row(b)
    assert conn.execute("SELECT rev FROM generations_removed WHERE id = ?", (b,)).fetchone()[0] == before + 1


def test_incremental_refresh_equals_a_full_build(tmp_path: Path) -> None:
    h = sw.History(tmp_path)
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
    h = sw.History(tmp_path)
    hid = add(h)
    assert h.df.loc[hid, "status"] == "completed"
    other = sw.History(tmp_path)
    new = add(other, I2V, status="in_progress", cost=None)
    raw(h).execute("UPDATE generations SET status = 'failed', cost_micros = 0 WHERE id = ?", (hid,))
    df = h.df
    assert df.loc[hid, "status"] == "failed" and df.loc[new, "model_id"] == I2V
    same(df, tmp_path)
    other.close()


@pytest.mark.usefixtures("snapshots")
def test_a_new_process_starts_from_the_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    h = sw.History(tmp_path)
    for i in range(5):
        add(h, (T2T, KLING)[i % 2], prompt=f"p{i}")
    _ = h.df
    h.close()  # waits for the snapshot
    assert h.cache_path.exists() and h.cache_path.name == "history.sqlite3.df-cache"
    if os.name == "posix":
        assert h.cache_path.stat().st_mode & 0o077 == 0
    # Rows changed after the snapshot, by a plain connection (no History involved).
    conn = raw(h)
    conn.execute("UPDATE generations SET status = 'cancelled', cost_micros = 0 WHERE id = 2")
    conn.execute(
        "INSERT INTO generations (created_at, updated_at, model_id, endpoint, mode, provider, status) VALUES "
        "('2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', ?, 'e', 'image', 'fal', 'submitted')",
        (I2V,),
    )
    fresh = sw.History(tmp_path)

    def no_full_build(*a: Any, **k: Any) -> Any:
        raise AssertionError("the snapshot should have been used")

    monkeypatch.setattr(fresh._frames, "_build", no_full_build)
    df = fresh.df
    assert df.loc[2, "status"] == "cancelled" and df.loc[6, "model_id"] == I2V
    same(df, tmp_path)


def _snapshot(tmp_path: Path, rows: int = 4) -> sw.History:
    h = sw.History(tmp_path)
    for i in range(rows):
        add(h, prompt=f"prompt {i}")
    _ = h.df
    h.wait_snapshot()
    assert h.cache_path.exists()
    return h


@pytest.mark.usefixtures("snapshots")
@pytest.mark.parametrize(
    "damage",
    ["flip a byte", "edit a prompt in place", "truncate", "garbage", "empty", "delete"],
)
def test_a_damaged_snapshot_is_rebuilt_not_trusted(tmp_path: Path, damage: str) -> None:
    h = _snapshot(tmp_path)
    h.close()
    data = bytearray(h.cache_path.read_bytes())
    if damage == "flip a byte":
        data[-20] ^= 0x01  # inside the pickle: a string or a number changes silently
        h.cache_path.write_bytes(bytes(data))
    elif damage == "truncate":
        h.cache_path.write_bytes(bytes(data[: len(data) // 2]))
    elif damage == "garbage":
        h.cache_path.write_bytes(b"\x80\x05not a pickle at all" * 10)
    elif damage == "empty":
        h.cache_path.write_bytes(b"")
    elif damage == "delete":
        h.cache_path.unlink()
    else:
        # Same length, still a valid pickle, same rows and revisions: only the checksum sees it.
        assert data.count(b"prompt 2") == 1
        h.cache_path.write_bytes(bytes(data).replace(b"prompt 2", b"prompt X"))
    if os.name == "posix":
        h.cache_path.touch()
        h.cache_path.chmod(0o600)
    fresh = sw.History(tmp_path)
    df = fresh.df
    same(df, tmp_path)
    assert list(df["prompt"]) == [f"prompt {i}" for i in range(4)]
    fresh.close()
    # …and the rebuilt frame was written back as a good snapshot.
    assert snapshot_file.read(fresh.cache_path, fresh._frames.header(fresh._frames.view.ledger), 10**9) is not None  # type: ignore[union-attr]


@pytest.mark.usefixtures("snapshots")
def test_a_snapshot_of_another_database_is_ignored(tmp_path: Path) -> None:
    h = _snapshot(tmp_path)
    h.close()
    keep = h.cache_path.read_bytes()
    for p in tmp_path.glob("history.sqlite3*"):
        p.unlink()
    h.cache_path.write_bytes(keep)  # the old snapshot next to a brand-new ledger with other rows
    if os.name == "posix":
        h.cache_path.chmod(0o600)
    new = sw.History(tmp_path)
    for i in range(4):
        add(new, KLING, cost="0.35", prompt=f"other {i}")
    df = new.df
    assert list(df["prompt"]) == [f"other {i}" for i in range(4)]
    same(df, tmp_path)


@pytest.mark.usefixtures("snapshots")
def test_a_restored_older_ledger_does_not_get_the_newer_snapshot(tmp_path: Path) -> None:
    h = sw.History(tmp_path / "live")
    for i in range(3):
        add(h, prompt=f"p{i}", status="completed")
    h.close()
    shutil.copytree(tmp_path / "live", tmp_path / "backup")  # a backup with 3 rows
    h = sw.History(tmp_path / "live")
    add(h, prompt="after the backup")
    h.update(1, status="failed")
    _ = h.df
    h.close()  # the snapshot now knows 4 rows and a newer revision
    stale = h.cache_path.read_bytes()
    for name in ("history.sqlite3", "history.sqlite3-wal", "history.sqlite3-shm"):
        src = tmp_path / "backup" / name
        if src.exists():
            shutil.copy(src, tmp_path / "live" / name)
        else:
            (tmp_path / "live" / name).unlink(missing_ok=True)
    restored = sw.History(tmp_path / "live")
    df = restored.df
    assert len(df) == 3 and df.loc[1, "status"] == "completed"
    same(df, tmp_path / "live")
    restored.close()
    # Worse: after the restore, enough new writes push the clock past the snapshot's revision, so
    # the revision alone cannot tell. Row counts and revision sums still can.
    (tmp_path / "live" / "history.sqlite3.df-cache").write_bytes(stale)
    (tmp_path / "live" / "history.sqlite3.df-cache").chmod(0o600)
    again = sw.History(tmp_path / "live")
    add(again, KLING, prompt="new 4")
    add(again, KLING, prompt="new 5")
    again.update(2, status="cancelled")
    df = again.df
    assert list(df["prompt"]) == ["p0", "p1", "p2", "new 4", "new 5"] and df.loc[1, "status"] == "completed"
    same(df, tmp_path / "live")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.usefixtures("snapshots")
def test_a_snapshot_others_could_write_is_not_unpickled(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    h = _snapshot(tmp_path)
    h.close()
    h.cache_path.chmod(0o666)
    assert snapshot_file.read(h.cache_path, h._frames.header(h._frames.view.ledger), 10**9) is None  # type: ignore[union-attr]
    assert "writable by others" in caplog.text
    same(sw.History(tmp_path).df, tmp_path)


def test_migrating_a_version_1_ledger_with_rows(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    conn = sqlite3.connect(db, isolation_level=None)
    for statement in _schema.MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    for i, model in enumerate((T2T, PRO, KLING)):
        spec = sw.get_model(model)
        conn.execute(
            "INSERT INTO generations (created_at, updated_at, model_id, endpoint, mode, provider, status, cost_micros)"
            " VALUES (?, ?, ?, ?, 'text', 'fal', 'completed', ?)",
            (f"2026-01-0{i + 1}T00:00:00.000000Z",) * 2 + (model, spec.endpoint, 400_000 * (i + 1)),
        )
    conn.close()
    h = sw.History(tmp_path)
    conn = raw(h)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(_schema.MIGRATIONS)
    revs = dict(conn.execute("SELECT id, rev FROM generations").fetchall())
    assert sorted(revs.values()) == [1, 2, 3] and conn.execute("SELECT rev FROM ledger_clock").fetchone()[0] == 3
    assert h.total_spent() == Decimal("2.4") and len(h.df) == 3
    h.update(1, status="failed", cost_micros=0)  # the migrated triggers work on old rows
    assert conn.execute("SELECT rev FROM generations WHERE id = 1").fetchone()[0] == 4
    assert h.df.loc[1, "status"] == "failed" and h.total_spent() == Decimal("2")
    same(h.df, tmp_path)


def test_memoised_reads_follow_every_write(tmp_path: Path) -> None:
    h = sw.History(tmp_path)
    add(h, cost="0.40", video_id="v1", kept_for_remix=1)
    assert h.total_spent() == Decimal("0.4")
    by_model = h.spend(by="model")
    assert by_model.loc[T2T, "total"] == Decimal("0.4")
    by_model.loc[T2T, "total"] = Decimal(99)  # the caller's copy
    assert h.spend(by="model").loc[T2T, "total"] == Decimal("0.4")
    assert [r.video_id for r in h.remix_candidates(as_records=True)] == ["v1"]
    assert list(h.remix_candidates()["video_id"]) == ["v1"]
    conn = raw(h)  # another writer: memoised answers must not survive it
    conn.execute("UPDATE generations SET cost_micros = 800000, deleted = 1 WHERE id = 1")
    assert h.total_spent() == Decimal("0.8")
    assert h.spend(by="model").loc[T2T, "total"] == Decimal("0.8")
    assert h.remix_candidates(as_records=True) == [] and h.remix_candidates().empty
    add(h, PRO, cost="2", video_id="v2", kept_for_remix=1)
    assert h.spend(by="model").loc[PRO, "total"] == Decimal("2") and h.total_spent() == Decimal("2.8")
    assert [r.video_id for r in h.remix_candidates(as_records=True)] == ["v2"]
