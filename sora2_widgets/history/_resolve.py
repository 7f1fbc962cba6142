"""``History.resolve_unknown``: what recovery found written to an ``unknown`` row, atomically.

Recovery (``generator/_recover.py``) may run in several kernels at once; the compare-and-set here
makes exactly one of them give a row its outcome, and never gives two rows the same request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._backend import SqlConn
from ._columns import check_writable, quoted
from ._records import now_iso

if TYPE_CHECKING:
    from ._store import History

__all__ = ["resolve_unknown"]


def resolve_unknown(self: History, history_id: int, **fields: Any) -> bool:
    """Give an ``unknown`` row what recovery found (see ``generator/_recover.py``), atomically:
    only while it is still ``unknown`` and, when ``fields`` name a ``request_id``, only if no
    other row of its provider holds that request. Returns whether it happened."""
    check_writable(fields)
    sets = ", ".join(f"{quoted(k)} = ?" for k in fields)
    sql = f"UPDATE generations SET {sets}, updated_at = ? WHERE id = ? AND status = 'unknown'"  # noqa: S608
    args = [*fields.values(), now_iso(), history_id]
    rid = fields.get("request_id")

    def apply(conn: SqlConn) -> bool:
        conn.lock_budget()  # serialises with other recoverers (and budget checks) on this ledger
        if rid is not None:
            held = conn.execute(
                "SELECT 1 FROM generations WHERE request_id = ? AND id <> ? AND provider = "
                "(SELECT provider FROM generations WHERE id = ?)",
                (rid, history_id, history_id),
            ).fetchone()
            if held is not None:
                return False
        return bool(conn.execute(sql, args).rowcount == 1)

    return self._db.retrying(apply)
