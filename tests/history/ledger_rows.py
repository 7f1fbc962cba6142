"""Rows for ledger tests, written through History or around it, and the "built from scratch" truth."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd

import sora2_widgets as sw
from sora2_widgets.history import _frame, _records
from tests.team.backends import current, open_history

T2T, PRO, KLING, I2V = (
    "sora2_text_to_video",
    "sora2_text_to_video_pro",
    "kling25_turbo_pro_text_to_video",
    "sora2_image_to_video",
)


def row(h: sw.History, model: str, status: str, cost: str | None, day: str, **kw: object) -> int:
    """A row made on ``day`` (a fal row with no settings unless told otherwise)."""
    return add(
        h,
        model,
        status,
        cost,
        provider=kw.pop("provider", "fal"),
        params_json=kw.pop("params_json", "{}"),
        created_at=f"{day}T12:00:00.000000Z",
        **kw,
    )


def add(h: sw.History, model: str = T2T, status: str = "completed", cost: str | None = "0.40", **kw: Any) -> int:
    """A row made now (an emulator row with settings unless told otherwise)."""
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
    h = open_history(path)
    try:
        with h._db.reading() as (conn, _, _):
            return _frame.build_frame(_frame.fetch(conn), h.path.parent)
    finally:
        h.close()


def same(got: pd.DataFrame, path: Path) -> None:
    want = truth(path)
    assert got.dtypes.equals(want.dtypes), (got.dtypes, want.dtypes)
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def raw(h: sw.History) -> Any:
    """Another connection that bypasses History: like another tool or an older kernel (on a team
    ledger: another client of the server, in autocommit, taking the same ``?`` placeholders)."""
    if h.backend == "sqlite":
        return sqlite3.connect(h.path, isolation_level=None)
    import psycopg

    from sora2_widgets.history._postgres import PgConn

    return PgConn(psycopg.connect(current().url_for(h.path.parent), autocommit=True))


def table_columns(h: sw.History) -> tuple[str, ...]:
    """The ``generations`` table's columns in table order, as the database itself lists them."""
    if h.backend == "sqlite":
        return tuple(r[1] for r in raw(h).execute("PRAGMA table_info(generations)"))
    sql = (
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'generations' ORDER BY ordinal_position"
    )
    return tuple(r[0] for r in raw(h).execute(sql))


def dump(h: sw.History) -> str:
    """Every value the ledger's database holds, as text (to search for what must not be there)."""
    if h.backend == "sqlite":
        return "\n".join(sqlite3.connect(h.path).iterdump())
    conn = raw(h)
    tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    return "\n".join(str(tuple(r)) for t in tables for r in conn.execute(f"SELECT * FROM {t}"))
