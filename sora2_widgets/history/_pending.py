"""Updates a team ledger could not take yet, kept durably on local disk until it can.

A paid job's request id, status and cost must not be lost because the PostgreSQL server restarts
or the network drops while the job runs. When an update still fails after the ledger's retries,
it is appended here (one JSON line, fsync'd) and the job goes on; the file is replayed in order —
before any later update of this client, and when a ledger is next opened on this machine — so the
team ledger ends with the same row as if it had never been away. Only rows this client holds the
lease on are updated (the generator's own jobs), so nobody else writes them meanwhile; a
compare-and-set update keeps its condition and is checked again when replayed.

One file per ledger (named by a hash of its password-free URL) in the data directory; several
processes on the machine share it under an exclusive ``flock``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["PendingWrites"]

log = logging.getLogger("sora2_widgets.history")

#: ``apply(history_id, fields, updated_at, only_if_status)`` writes one update to the ledger.
Apply = Callable[[int, Mapping[str, Any], str, Sequence[str] | None], None]


class PendingWrites:
    """The local file of updates waiting for one team ledger."""

    def __init__(self, folder: Path, ledger_label: str) -> None:
        digest = hashlib.sha256(ledger_label.encode()).hexdigest()[:16]
        self.path = folder / f"ledger-pending.{digest}.jsonl"

    def __bool__(self) -> bool:
        try:
            return self.path.stat().st_size > 0
        except FileNotFoundError:
            return False

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive use of the file among this machine's processes. The lock is on a file of its
        own: the queue itself is replaced whole when replayed, and a lock on a replaced file
        would guard nothing."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.name == "posix":
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def add(
        self, history_id: int, fields: Mapping[str, Any], updated_at: str, only_if_status: Sequence[str] | None
    ) -> None:
        line = json.dumps(
            {"id": history_id, "fields": dict(fields), "updated_at": updated_at, "only_if": only_if_status},
            default=str,
        )
        with self._locked():
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, (line + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)

    def replay(self, apply: Apply) -> int:
        """Write the waiting updates in order; stop at the first that fails (kept, with the rest).
        Returns how many were written."""
        from ._postgres import LedgerUnreachable

        with self._locked():
            with open(self.path, encoding="utf-8") as fh:
                lines = [ln for ln in fh.read().splitlines() if ln.strip()]
            done = 0
            try:
                for ln in lines:
                    item = json.loads(ln)
                    apply(int(item["id"]), item["fields"], str(item["updated_at"]), item["only_if"])
                    done += 1
            except LedgerUnreachable:
                pass
            finally:
                rest = lines[done:]
                tmp = self.path.with_name(self.path.name + ".tmp")
                with open(tmp, "w", encoding="utf-8") as out:
                    out.write("".join(ln + "\n" for ln in rest))
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, self.path)
        if done:
            log.info("history: wrote %d update(s) kept while the team ledger was away", done)
        return done
