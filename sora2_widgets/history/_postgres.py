"""The team ledger on PostgreSQL: :class:`PgLedger`, the :class:`~._backend.Ledger` on a server.

Why PostgreSQL: several people, kernels and machines spend from one fal account; the ledger and
its budget must be one place they all write to, with transactions that hold across machines.

- psycopg 3 and its pool (``pip install "sora2-widgets[team]"``); connections run in autocommit
  with explicit transactions, so every write is one short ``BEGIN`` … ``COMMIT`` as on SQLite.
- Every write transaction first locks the ledger's clock row. The rev triggers take that lock
  anyway; taking it first means writers queue in one order (no deadlocks between a lease claim and
  an update), and a budget check that follows sees every reservation committed before it.
- Reads that must agree with themselves (the DataFrame catch-up, reports with their revision)
  run in one ``REPEATABLE READ`` transaction.
- A server that cannot be reached is :class:`LedgerUnreachable`, one sentence naming the server
  without its password; :meth:`PgLedger.retrying` rides out a restart for writes that may be
  repeated (an update of a row, a lease).
- The SQL the store writes uses ``?`` placeholders; they become psycopg's ``%s`` here (``%`` is
  doubled first, so a ``LIKE 'x%'`` stays literal). No statement of ours has a ``?`` in a literal.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from .._errors import LedgerError
from ._pg_schema import migrate

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

__all__ = ["LedgerUnreachable", "PgLedger", "is_database_url", "redact_url"]

log = logging.getLogger("sora2_widgets.history")

T = TypeVar("T")

_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(value: object) -> bool:
    """Whether ``value`` names a PostgreSQL server (rather than a ledger file or folder)."""
    return isinstance(value, str) and value.strip().lower().startswith(_SCHEMES)


class LedgerUnreachable(LedgerError):
    """The team ledger's server cannot be reached (down, restarting, refused the connection)."""

    title = "Team ledger unreachable"


def _parts(url: str) -> dict[str, str]:
    from psycopg.conninfo import conninfo_to_dict

    try:
        return {k: str(v) for k, v in conninfo_to_dict(url).items() if v is not None}
    except Exception:  # psycopg's words may quote the URL, password and all
        raise LedgerError("SORA2_WIDGETS_DATABASE_URL", _BAD_URL) from None


_BAD_URL = (
    "The team ledger's database URL cannot be read; write it as postgresql://USER:PASSWORD@HOST:PORT/DATABASE "
    "(percent-encode special characters in the password)."
)


def redact_url(url: str) -> str:
    """``url`` as ``postgresql://user@host:port/db``: everything but the password (never shown)."""
    p = _parts(url)
    host = p.get("host", "localhost")
    shown_host = f"[{host}]" if ":" in host else host
    user = quote(p["user"], safe="") + "@" if "user" in p else ""
    port = f":{p['port']}" if "port" in p else ""
    db = "/" + quote(p["dbname"], safe="") if "dbname" in p else ""
    if host.startswith("/"):  # a Unix socket folder: shown as libpq's own query form
        return f"postgresql://{user.rstrip('@')}{db}?host={quote(host, safe='/')}{port.replace(':', '&port=')}"
    return f"postgresql://{user}{shown_host}{port}{db}"


class _Row(tuple):  # type: ignore[type-arg]
    """A result row by position or by column name, like ``sqlite3.Row``."""

    _index: dict[str, int]

    def __new__(cls, index: dict[str, int], values: Sequence[Any]) -> _Row:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], _Row]:
    index = {d.name: i for i, d in enumerate(cursor.description or ())}
    return functools.partial(_Row, index)


@functools.lru_cache(maxsize=512)
def _pg_sql(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


def _pg_args(args: Sequence[Any]) -> list[Any]:
    # The ledger's flags are INTEGER on both engines; PostgreSQL will not read a bool as one.
    return [int(a) if isinstance(a, bool) else a for a in args]


class PgConn:
    """:class:`~._backend.SqlConn` on one psycopg connection."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return self.raw.execute(_pg_sql(sql), _pg_args(args))

    def insert(self, sql: str, args: Sequence[Any]) -> int:
        row = self.execute(sql + " RETURNING id", args).fetchone()
        return int(row[0])

    def tuples(self, sql: str, args: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        from psycopg.rows import tuple_row

        cur = self.raw.cursor(row_factory=tuple_row)
        cur.execute(_pg_sql(sql), _pg_args(args))
        return [d.name for d in cur.description or ()], cur.fetchall()

    def lock_budget(self) -> None:
        """Nothing more to take: :meth:`PgLedger.write` began by locking the clock row, which every
        writer (and so every budget check) takes first."""


class PgLedger:
    """A team ledger on a PostgreSQL server, shared by every client pointed at it."""

    kind = "postgresql"
    read_only = False

    def __init__(self, url: str, stand_in: Path, *, timeout: float = 5.0, retry_seconds: float = 30.0) -> None:
        try:
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise LedgerError(
                "SORA2_WIDGETS_DATABASE_URL",
                'A team ledger on PostgreSQL needs psycopg: pip install "sora2-widgets[team]".',
            ) from None
        self.label = redact_url(url)
        # Whatever password libpq may use: the URL's, or PGPASSWORD's (scrubbed from any message).
        self._secrets = [p for p in (_parts(url).get("password", ""), os.environ.get("PGPASSWORD", "")) if p]
        self.path = stand_in
        #: How long a repeatable write keeps trying while the server is away (a restart takes seconds).
        self.retry_seconds = retry_seconds
        self.lock = threading.RLock()
        self.memo: dict[tuple[Any, ...], Any] = {}
        self.memo_rev: tuple[str, int] | None = None
        self._pool: ConnectionPool[Any] = ConnectionPool(
            url,
            min_size=1,
            max_size=8,
            open=False,
            timeout=timeout,
            # After a server restart the pooled connections are dead: checked before each use.
            check=ConnectionPool.check_connection,
            kwargs={"autocommit": True, "row_factory": _row_factory, "connect_timeout": max(int(timeout), 1)},
            name="sora2-widgets-ledger",
        )
        with self._translated():
            self._pool.open(wait=True, timeout=timeout)
        try:
            with self._translated(), self._pool.connection() as conn:
                migrate(conn, self.label)
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"PgLedger({self.label!r})"

    # -- errors ---------------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        text = " ".join(text.split())
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        import psycopg

        try:
            yield
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            reason = self._scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            raise LedgerUnreachable(
                self.label,
                f"The team ledger {self.label} cannot be reached ({reason}); check that the server is up "
                "and SORA2_WIDGETS_DATABASE_URL is right.",
            ) from None
        except psycopg.errors.InsufficientPrivilege as exc:
            raise LedgerError(
                self.label, f"The team ledger {self.label} refused a write ({self._scrub(str(exc))}); ask its owner."
            ) from None

    # -- transactions -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def write(self) -> Iterator[PgConn]:
        with self._translated(), self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT rev FROM ledger_clock WHERE id = 1 FOR UPDATE")
            yield PgConn(conn)

    def retrying(self, fn: Callable[[PgConn], T]) -> T:
        """``fn`` in one write transaction, tried again while the server is unreachable (for up to
        :attr:`retry_seconds`): only for writes that mean the same when repeated."""

        def once() -> T:
            with self.write() as conn:
                return fn(conn)

        return self._again(once)

    def _again(self, once: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.retry_seconds
        pause = 0.1
        while True:
            try:
                return once()
            except LedgerUnreachable:
                if time.monotonic() >= deadline:
                    raise
                log.info("history: the team ledger %s is away; trying again", self.label)
            time.sleep(pause)
            pause = min(pause * 2, 2.0)

    @contextlib.contextmanager
    def reading(self) -> Iterator[tuple[PgConn, str, int]]:
        with self.lock, self._translated(), self._pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            row = conn.execute("SELECT ledger, rev FROM ledger_clock WHERE id = 1").fetchone()
            assert row is not None
            ledger, rev = str(row[0]), int(row[1])
            if self.memo_rev != (ledger, rev):
                self.memo.clear()
                self.memo_rev = (ledger, rev)
            yield PgConn(conn), ledger, rev

    @contextlib.contextmanager
    def session(self) -> Iterator[PgConn]:
        with self._translated(), self._pool.connection() as conn:
            yield PgConn(conn)

    def remember(self, memo_rev: tuple[str, int], key: tuple[Any, ...], value: Any) -> None:
        with self.lock:
            if self.memo_rev is not None and self.memo_rev == memo_rev:
                self.memo[key] = value

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        """Rows of one read, which rides out a server restart like a repeatable write: a job that
        finishes while the server restarts still reads its row to record its result."""

        def once() -> list[Any]:
            with self.session() as conn:
                return list(conn.execute(sql, args).fetchall())

        return self._again(once)

    def close(self) -> None:
        self._pool.close()
