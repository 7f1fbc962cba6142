"""The one SQLite connection of a :class:`History`: WAL, durable short transactions, a memo.

Why SQLite: one file, transactions, safe concurrent use by several kernels on one machine
(WAL mode + a busy timeout), readable with any SQLite tool. Every write is its own short
``BEGIN IMMEDIATE`` transaction with ``synchronous=FULL``: measured at ~0.3 ms per commit on
the development machine, cheap enough that even status updates get the strongest durability,
and the money rows never depend on the OS flushing a page cache.

The connection is shared by the threads of one process (the generator's loop thread and the
notebook's thread), serialised by :attr:`LedgerConnection.lock`; it runs in autocommit mode with
explicit transactions so that every write is one short ``BEGIN IMMEDIATE`` … ``COMMIT``.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ._open import connect_uri, hold, not_writable, release, translated

__all__ = ["LedgerConnection", "SqliteConn"]

log = logging.getLogger("sora2_widgets.history")

T = TypeVar("T")


class SqliteConn:
    """:class:`~._backend.SqlConn` on SQLite: the statements run as written."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.raw = conn

    def execute(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.raw.execute(sql, args)

    def insert(self, sql: str, args: Sequence[Any]) -> int:
        rowid = self.raw.execute(sql, args).lastrowid
        assert rowid is not None
        return int(rowid)

    def tuples(self, sql: str, args: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        cur = self.raw.cursor()
        cur.row_factory = None
        cur.execute(sql, args)
        return [d[0] for d in cur.description], cur.fetchall()

    def lock_budget(self) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already holds the file's one write lock."""


class LedgerConnection:
    """The connection to one ledger file, its lock, and answers remembered for one revision."""

    kind = "sqlite"

    def __init__(self, path: Path, busy_timeout: float, *, read_only: bool = False) -> None:
        self.path = path
        self.label = str(path)
        #: Opened with ``mode=ro`` (the file or its folder cannot be written): reads work, writes
        #: raise :class:`LedgerError` before SQLite is asked.
        self.read_only = read_only
        self.lock = threading.RLock()
        with translated(path):
            self.conn = self._open(busy_timeout)
        self._held: tuple[int, int] | None = hold(path)  # from now on nothing of ours opens the file beside SQLite
        #: Results of reports and remix_candidates() for the ledger revision in :attr:`memo_rev`.
        self.memo: dict[tuple[Any, ...], Any] = {}
        self.memo_rev: tuple[str, int] | None = None

    def _open(self, busy_timeout: float) -> sqlite3.Connection:
        uri = connect_uri(self.path, read_only=self.read_only)
        conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        if self.read_only:
            try:
                conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError:
                # A WAL file in a folder we cannot write, with no -shm file to share: SQLite can
                # read it only as immutable (nobody else can write there either).
                conn.close()
                uri = connect_uri(self.path, read_only=True, immutable=True)
                conn = sqlite3.connect(
                    uri, uri=True, timeout=busy_timeout, isolation_level=None, check_same_thread=False
                )
                conn.row_factory = sqlite3.Row
            return conn
        self.conn = conn
        mode = self._enter_wal(busy_timeout)
        if str(mode).lower() != "wal":
            log.warning("history: SQLite refused WAL mode (%s); concurrent kernels will wait more", mode)
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def _enter_wal(self, busy_timeout: float) -> str:
        """Switch the file to WAL, waiting out other processes doing the same.

        Switching journal modes needs an exclusive lock, and SQLite answers "database is locked"
        at once instead of calling the busy handler when two new connections race for it (seen
        with two kernels opening a brand-new ledger together), so the wait is ours to do."""
        deadline = time.monotonic() + busy_timeout
        pause = 0.005
        while True:
            try:
                return str(self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.2)

    @contextlib.contextmanager
    def write(self) -> Iterator[SqliteConn]:
        """One write transaction: BEGIN IMMEDIATE takes the write lock up front (no upgrade deadlocks)."""
        if self.read_only:
            raise not_writable(self.path)
        with self.lock, translated(self.path):
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteConn(self.conn)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")

    def retrying(self, fn: Callable[[SqliteConn], T]) -> T:
        """``fn`` in one write transaction (a local file is never "away": nothing to retry)."""
        with self.write() as conn:
            return fn(conn)

    @contextlib.contextmanager
    def reading(self) -> Iterator[tuple[SqliteConn, str, int]]:
        """One read transaction (in WAL mode: one consistent snapshot of the file) and the
        ledger id + revision it sees. Every write by anyone moves the revision (triggers), and
        with it the memo is forgotten."""
        with self.lock, translated(self.path):
            self.conn.execute("BEGIN")
            try:
                ledger, rev = self.conn.execute("SELECT ledger, rev FROM ledger_clock WHERE id = 1").fetchone()
                if self.memo_rev != (ledger, rev):
                    self.memo.clear()
                    self.memo_rev = (ledger, rev)
                yield SqliteConn(self.conn), str(ledger), int(rev)
            finally:
                self.conn.execute("COMMIT")

    @contextlib.contextmanager
    def session(self) -> Iterator[SqliteConn]:
        with self.lock, translated(self.path):
            yield SqliteConn(self.conn)

    def remember(self, memo_rev: tuple[str, int], key: tuple[Any, ...], value: Any) -> None:
        """Keep ``value`` computed outside the lock, unless the ledger moved on since ``memo_rev``."""
        with self.lock:
            if self.memo_rev is not None and self.memo_rev == memo_rev:
                self.memo[key] = value

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self.lock, translated(self.path):
            return self.conn.execute(sql, args).fetchall()

    def close(self) -> None:
        with self.lock:
            self.conn.close()
            if self._held is not None:
                release(self._held)
                self._held = None
