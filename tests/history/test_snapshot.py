"""The DataFrame snapshot file beside the ledger: used when it is ours and current, else rebuilt.

A snapshot may save a new process a full build; it must never make it see other rows than the
database's (SQLite or PostgreSQL).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

import sora2_widgets as sw
from sora2_widgets.history import _snapshot as snapshot_file
from tests.team.backends import open_history

from .ledger_rows import I2V, KLING, T2T, add, raw, same


@pytest.mark.usefixtures("snapshots")
def test_a_new_process_starts_from_the_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    h = open_history(tmp_path)
    for i in range(5):
        add(h, (T2T, KLING)[i % 2], prompt=f"p{i}")
    _ = h.df
    h.close()  # waits for the snapshot
    beside = {"sqlite": "history.sqlite3", "postgresql": "history.postgresql"}[h.backend]
    assert h.cache_path.exists() and h.cache_path.name == beside + ".df-cache"
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
    fresh = open_history(tmp_path)

    def no_full_build(*a: Any, **k: Any) -> Any:
        raise AssertionError("the snapshot should have been used")

    monkeypatch.setattr(fresh._frames, "_build", no_full_build)
    df = fresh.df
    assert df.loc[2, "status"] == "cancelled" and df.loc[6, "model_id"] == I2V
    same(df, tmp_path)


def _snapshot(tmp_path: Path, rows: int = 4) -> sw.History:
    h = open_history(tmp_path)
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
    fresh = open_history(tmp_path)
    df = fresh.df
    same(df, tmp_path)
    assert list(df["prompt"]) == [f"prompt {i}" for i in range(4)]
    fresh.close()
    # …and the rebuilt frame was written back as a good snapshot.
    assert snapshot_file.read(fresh.cache_path, fresh._frames.header(fresh._frames.view.ledger), 10**9) is not None  # type: ignore[union-attr]


@pytest.mark.usefixtures("snapshots")
@pytest.mark.sqlite_only("replaces the SQLite file under the snapshot (on a server: another database name)")
def test_a_snapshot_of_another_database_is_ignored(tmp_path: Path) -> None:
    h = _snapshot(tmp_path)
    h.close()
    keep = h.cache_path.read_bytes()
    for p in tmp_path.glob("history.sqlite3*"):
        p.unlink()
    h.cache_path.write_bytes(keep)  # the old snapshot next to a brand-new ledger with other rows
    if os.name == "posix":
        h.cache_path.chmod(0o600)
    new = open_history(tmp_path)
    for i in range(4):
        add(new, KLING, cost="0.35", prompt=f"other {i}")
    df = new.df
    assert list(df["prompt"]) == [f"other {i}" for i in range(4)]
    same(df, tmp_path)


@pytest.mark.usefixtures("snapshots")
@pytest.mark.sqlite_only("restores the SQLite file and its WAL from a copy")
def test_a_restored_older_ledger_does_not_get_the_newer_snapshot(tmp_path: Path) -> None:
    h = open_history(tmp_path / "live")
    for i in range(3):
        add(h, prompt=f"p{i}", status="completed")
    h.close()
    shutil.copytree(tmp_path / "live", tmp_path / "backup")  # a backup with 3 rows
    h = open_history(tmp_path / "live")
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
    restored = open_history(tmp_path / "live")
    df = restored.df
    assert len(df) == 3 and df.loc[1, "status"] == "completed"
    same(df, tmp_path / "live")
    restored.close()
    # Worse: after the restore, enough new writes push the clock past the snapshot's revision, so
    # the revision alone cannot tell. Row counts and revision sums still can.
    (tmp_path / "live" / "history.sqlite3.df-cache").write_bytes(stale)
    (tmp_path / "live" / "history.sqlite3.df-cache").chmod(0o600)
    again = open_history(tmp_path / "live")
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
    same(open_history(tmp_path).df, tmp_path)
