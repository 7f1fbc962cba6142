"""The schema: migrations from every older version, the revision triggers, refusing a newer file."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets.history import _schema
from tests.team.backends import open_history

from .ledger_rows import KLING, PRO, T2T, add, raw, row, same

#: SQLite's own migrations (PRAGMA user_version, table rebuilds); tests/team/test_backend.py
#: migrates PostgreSQL forward.
SQLITE_SCHEMA = pytest.mark.sqlite_only("SQLite's migration steps and PRAGMA user_version")


@SQLITE_SCHEMA
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
    with pytest.raises(sw.LedgerError, match="newer sora2-widgets") as info:
        sw.History(tmp_path / "a")
    assert info.value.path == h2.path


@SQLITE_SCHEMA
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


@SQLITE_SCHEMA
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


def test_every_write_moves_the_revision_even_from_a_plain_connection(tmp_path: Path) -> None:
    h = open_history(tmp_path)
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


@SQLITE_SCHEMA
def test_migrating_a_version_4_ledger_keeps_rows_people_and_budget(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    conn = sqlite3.connect(db, isolation_level=None)
    for step in _schema.MIGRATIONS[:4]:
        for statement in step:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 4")
    insert = (
        "INSERT INTO generations (created_at, updated_at, model_id, endpoint, mode, provider, status, cost_micros,"
        " \"user\", machine, remixed_from) VALUES ('2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z',"
        " ?, 'e', ?, 'fal', ?, ?, 'ana', 'box-1', ?)"
    )
    conn.execute(insert, (T2T, "text", "completed", 400_000, None))
    conn.execute(insert, (T2T, "remix", "unknown", None, 1))
    conn.execute(
        "INSERT INTO ledger_budget (id, amount_micros, period, set_at) VALUES (1, 5000000, 'month', '2026-01-01')"
    )
    conn.execute("DELETE FROM generations WHERE id = 2")  # AUTOINCREMENT must not reuse 2 after the rebuild
    conn.execute(insert, (T2T, "remix", "unknown", None, 1))
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(insert, (T2T, "text", "not_created", None, None))  # schema 4 cannot hold the status
    conn.close()

    h = sw.History(tmp_path)
    assert raw(h).execute("PRAGMA user_version").fetchone()[0] == len(_schema.MIGRATIONS)
    recs = h.records()
    assert [(r.id, r.status, r.user, r.machine, r.remixed_from) for r in recs] == [
        (1, "completed", "ana", "box-1", None),
        (3, "unknown", "ana", "box-1", 1),
    ]
    assert (recs[0].rating, recs[0].notes, recs[0].tags, recs[0].billed_cost, recs[0].billing_status) == (
        None,
        "",
        (),
        None,
        None,
    )
    budget = h.budget()
    assert budget is not None and budget.amount == Decimal(5) and budget.period == "month"
    assert h.update(3, status="not_created", cost_micros=0)
    assert h.add(model_id=T2T, endpoint="e", mode="text", provider="fal") == 4
    assert list(h.df["status"]) == ["completed", "not_created", "submitted"]
    assert h.possibly_charged() == 0 and h.total_spent() == Decimal("0.4")
    h.close()
