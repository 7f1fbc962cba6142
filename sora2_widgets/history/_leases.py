"""Leases: which process is looking after an unfinished row.

The owner is ``host:pid:nonce``; a lease is dead when it expired, or when its owner ran on this
host and that pid is gone (so a killed kernel's jobs are picked up at once, not after the lease
runs out). The SQL here runs inside the caller's write transaction, so exactly one process wins
each row.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Collection

from ._backend import SqlConn
from ._columns import ACTIVE_STATUSES

__all__ = ["claim_rows", "lease_is_dead", "new_owner_token", "release_row", "renew"]

_HOST = socket.gethostname()


def new_owner_token() -> str:
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:10]}"


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":
        # os.kill(pid, 0) would *terminate* the process on Windows; rely on lease expiry there.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


def lease_is_dead(owner: str | None, until: float | None, now: float, me: str) -> bool:
    if owner is None or owner == me:
        return True
    if until is None or until < now:
        return True
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host == _HOST and pid_text.isdigit():
        return not _pid_alive(int(pid_text))
    return False


def claim_rows(
    conn: SqlConn,
    owner: str,
    lease_seconds: float,
    *,
    now: float,
    provider: str | None,
    exclude: Collection[int],
) -> list[int]:
    """Lease to ``owner`` (until ``now + lease_seconds``) the unfinished rows nobody looks after, and
    completed rows whose video was never saved locally and still has a URL (a file the service no
    longer serves loses it); returns their ids. ``conn`` must be in a write transaction."""
    claimed: list[int] = []
    active = ", ".join("?" for _ in ACTIVE_STATUSES)
    rows = conn.execute(
        "SELECT id, provider, lease_owner, lease_until FROM generations "  # noqa: S608 - placeholders
        f"WHERE status IN ({active}) "
        "   OR (status = 'completed' AND local_path IS NULL AND video_url IS NOT NULL AND deleted = 0) "
        "ORDER BY id",
        ACTIVE_STATUSES,
    ).fetchall()
    for r in rows:
        if (provider is not None and r["provider"] != provider) or r["id"] in exclude:
            continue
        if not lease_is_dead(r["lease_owner"], r["lease_until"], now, owner):
            continue
        # Compare-and-set on the owner seen: on PostgreSQL another client may have claimed the row
        # since the SELECT (a concurrent UPDATE is waited for, then this one re-checks and misses).
        won = conn.execute(
            "UPDATE generations SET lease_owner = ?, lease_until = ? WHERE id = ? AND COALESCE(lease_owner, '') = ?",
            (owner, now + lease_seconds, r["id"], r["lease_owner"] or ""),
        ).rowcount
        if won == 1:
            claimed.append(int(r["id"]))
    return claimed


def renew(conn: SqlConn, owner: str, lease_seconds: float) -> int:
    """Extend every lease ``owner`` holds; returns how many."""
    return conn.execute(
        "UPDATE generations SET lease_until = ? WHERE lease_owner = ?", (time.time() + lease_seconds, owner)
    ).rowcount


def release_row(conn: SqlConn, history_id: int, owner: str) -> None:
    """Give up ``owner``'s lease on one row (a lease someone else holds is left alone)."""
    conn.execute(
        "UPDATE generations SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?",
        (history_id, owner),
    )
