"""What the ledger needs from a database, written once: a small protocol with two implementations.

:class:`~._connection.LedgerConnection` (SQLite, one file, the default) and
:class:`~._postgres.PgLedger` (PostgreSQL, a team's server) both provide :class:`Ledger`; the
store, the reports, the leases and the DataFrame view speak only to it. SQL is written once, in
the portable subset both engines read (``?`` placeholders, ``CASE`` rather than boolean sums,
``COALESCE(x, '') = ?`` rather than ``IS ?``); what cannot be written once lives behind
:class:`SqlConn`: getting a new row's id, fetching plain tuples, and the lock that makes a budget
check atomic across processes.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

__all__ = ["Ledger", "Row", "SqlConn", "SqlCursor"]

T = TypeVar("T")


class Row(Protocol):
    """A result row: by column name or by position (``sqlite3.Row`` is one)."""

    def __getitem__(self, key: int | str) -> Any: ...


class SqlCursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class SqlConn(Protocol):
    """One connection inside a transaction (or in autocommit, for single statements)."""

    def execute(self, sql: str, args: Sequence[Any] = ()) -> SqlCursor: ...

    def insert(self, sql: str, args: Sequence[Any]) -> int:
        """Run an ``INSERT`` of one row into a table with an ``id`` key; its id."""
        ...

    def tuples(self, sql: str, args: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows as plain tuples (cheap: no per-row objects)."""
        ...

    def lock_budget(self) -> None:
        """Serialise budget checks across every process until this transaction ends."""
        ...


class Ledger(Protocol):
    """A ledger database: its transactions, the per-revision memo, and what to call it."""

    #: ``"sqlite"`` or ``"postgresql"``.
    kind: str
    #: For SQLite the file; for PostgreSQL a local stand-in (its DataFrame snapshot's name) under
    #: the data directory.
    path: Path
    #: A password-free name for messages and reprs.
    label: str
    read_only: bool
    lock: threading.RLock
    memo: dict[tuple[Any, ...], Any]
    memo_rev: tuple[str, int] | None

    def write(self) -> contextlib.AbstractContextManager[SqlConn]: ...

    def retrying(self, fn: Callable[[SqlConn], T]) -> T:
        """``fn(conn)`` in one write transaction, repeated while a server is briefly away (only for
        writes that mean the same when repeated)."""
        ...

    def reading(self) -> contextlib.AbstractContextManager[tuple[SqlConn, str, int]]: ...

    def session(self) -> contextlib.AbstractContextManager[SqlConn]:
        """A connection for a few statements outside any transaction of ours."""
        ...

    def remember(self, memo_rev: tuple[str, int], key: tuple[Any, ...], value: Any) -> None: ...

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Any]: ...

    def close(self) -> None: ...
