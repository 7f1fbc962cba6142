"""The PostgreSQL backend itself: forward migrations, clients migrating at once, the password kept
out of every message, and updates kept on local disk while the server is away."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

import sora2_widgets as sw
from sora2_widgets.history import LedgerUnreachable, _pg_schema
from tests._secrets import DB_PASSWORD

from ._server import PgServer


def test_an_older_schema_migrates_forward_keeping_its_rows(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:  # what the first team release made
        for statement in _pg_schema.MIGRATIONS[0]:
            conn.execute(statement)  # type: ignore[call-overload]
        conn.execute("CREATE TABLE ledger_schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INT)")
        conn.execute("INSERT INTO ledger_schema VALUES (1, 1)")
        conn.execute(
            "INSERT INTO generations (created_at, updated_at, model_id, endpoint, mode, provider, status, cost_micros) "
            "VALUES ('2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 'sora2_text_to_video', 'e', "
            "'text', 'fal', 'completed', 400000)"
        )
    with sw.History(url) as hist:
        old = hist.get(1)
        assert old.cost == Decimal("0.4") and old.user == "" and old.machine == ""
        assert (old.rating, old.notes, old.tags, old.billed_cost, old.billing_status) == (None, "", (), None, None)
        assert hist.update(1, status="not_created")  # schema 3's status, on a row from schema 1
        new = hist.get(hist.add(model_id="sora2_text_to_video", endpoint="e", mode="text", provider="fal"))
        assert new.user == hist.user and new.machine == hist.machine and new.user
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT version FROM ledger_schema").fetchone() == (len(_pg_schema.MIGRATIONS),)


def test_clients_opening_a_new_database_at_once_migrate_it_once(url: str) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def open_it() -> None:
        try:
            start.wait(timeout=60)
            sw.History(url).close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM ledger_clock").fetchone() == (1,)


def test_the_password_never_shows(url: str, server: PgServer) -> None:
    with sw.History(url) as hist:
        assert DB_PASSWORD not in repr(hist) and DB_PASSWORD not in hist.location
        assert hist.location.startswith("postgresql://sw_team@127.0.0.1:")
        hist.add(model_id="sora2_text_to_video", endpoint="e", mode="text", provider="fal")
        assert DB_PASSWORD not in hist.df.to_csv()
    wrong = url.replace(DB_PASSWORD, DB_PASSWORD[::-1])
    with pytest.raises(sw.LedgerError) as refused:
        sw.History(wrong)
    assert "sw_team" in str(refused.value)  # the leak check proves neither password is in it
    nobody = url.replace(f":{server.port}/", ":1/")
    with pytest.raises(LedgerUnreachable, match="cannot be reached"):
        sw.History(nobody, busy_timeout=2.0)


def test_updates_made_while_the_server_is_down_reach_it_when_it_is_back(
    url: str, server: PgServer, tmp_path: Path
) -> None:
    hist = sw.History(url, busy_timeout=2.0)
    hist._db.retry_seconds = 1.0  # type: ignore[attr-defined]  # give up on the server quickly
    hid = hist.add(model_id="sora2_text_to_video", endpoint="e", mode="text", provider="fal", est_high_micros=400_000)
    server.stop()
    try:
        # The paid request's id and then its result: kept on local disk, in order.
        assert hist.update(hid, request_id="req-123", status="in_queue")
        assert hist.update(hid, only_if_status=("in_queue",), status="completed", cost_micros=400_000)
        kept = list((tmp_path / "home").glob("ledger-pending.*.jsonl"))
        assert len(kept) == 1 and "req-123" in kept[0].read_text()
    finally:
        server.start()
    hist.close()
    with sw.History(url) as again:  # a new process on this machine writes what was kept
        rec = again.get(hid)
        assert rec.request_id == "req-123" and rec.status == "completed" and rec.cost == Decimal("0.4")
    assert kept[0].read_text() == ""
