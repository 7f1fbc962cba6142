"""The durable history: :class:`History`, one SQLite row per generation, and its public methods.

The pieces it is made of live beside it: the connection and its transactions (``_connection``),
the schema (``_schema``), records and money (``_records``), leases (``_leases``), the cached
DataFrame (``_frame``, ``_snapshot``) and the money reports (``_reports``). Some methods are
written where their subject is and taken into the class as they are: ``rate`` and ``tag``
(``_notes``), ``resolve_unknown`` (``_resolve``) and ``reconcile`` (``sora2_widgets._reconcile``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import time
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from .. import _reconcile
from .._config import current_user, data_dir, database_url, machine_name, media_dir_override
from . import _budget, _leases, _notes, _reports, _resolve
from ._backend import Ledger, SqlConn
from ._columns import STATUSES, check_writable, quoted
from ._connection import LedgerConnection
from ._frame import FrameCache, build_frame, copy_on_write, fetch
from ._open import not_writable, preflight
from ._pending import PendingWrites
from ._postgres import LedgerUnreachable
from ._records import HistoryRecord, load_path, now_iso, record_from_row, row_id
from ._schema import migrate

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DB_NAME", "MEDIA_DIR", "History"]

log = logging.getLogger("sora2_widgets.history")

DB_NAME = "history.sqlite3"
MEDIA_DIR = "media"
#: A team ledger's local stand-in under the data directory: its DataFrame snapshot's name.
PG_STAND_IN = "history.postgresql"


class History:
    """The ledger of every generation: ``history.sqlite3`` under the data directory, or a team's
    PostgreSQL server.

    ``History()`` opens (and creates or migrates) ``$SORA2_WIDGETS_HOME/history.sqlite3``, or the
    server in ``$SORA2_WIDGETS_DATABASE_URL`` when that is set; ``History(path)`` takes a file, or a
    directory to hold ``history.sqlite3``; ``History("postgresql://user:password@host/db")`` a
    server (needs ``pip install "sora2-widgets[team]"``). Media files go to ``media/`` beside the
    SQLite file, or under the data directory for a team ledger. Safe to use from several threads,
    processes and (on PostgreSQL) machines; the API, the frame and the reports are the same.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, busy_timeout: float = 30.0) -> None:
        from ._postgres import PgLedger, is_database_url

        url = path if is_database_url(path) else (database_url() if path is None else None)
        self._db: Ledger
        if url is not None:
            assert isinstance(url, str)
            home = data_dir()
            home.mkdir(parents=True, exist_ok=True)
            self._db = PgLedger(url.strip(), home.resolve() / PG_STAND_IN, timeout=min(busy_timeout, 10.0))
            self.path: Path = self._db.path
            self._pending: PendingWrites | None = PendingWrites(home.resolve(), self._db.label)
        else:
            if path is None:
                db = data_dir() / DB_NAME
            else:
                db = Path(path).expanduser()
                # is_file, not exists: another kernel may create the folder between our two checks.
                if db.is_dir() or (not db.suffix and not db.is_file()):
                    db = db / DB_NAME
            # Checked before SQLite touches the file: a broken ledger is named, never re-created.
            read_only = preflight(db)
            self.path = db.resolve()
            sqlite = LedgerConnection(self.path, busy_timeout, read_only=read_only)
            try:
                migrate(sqlite)
            except BaseException:
                sqlite.close()
                raise
            self._db = sqlite
            self._pending = None  # a local file is never away
        self.media_dir: Path = media_dir_override() or self.path.parent / MEDIA_DIR
        self._frames = FrameCache(self._db, self.path)
        self.cache_path: Path = self._frames.path
        #: Who and where this client records on its rows.
        self.user: str = current_user()
        self.machine: str = machine_name()
        # Updates an earlier process on this machine kept while the team ledger was away.
        self._replay_pending()

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._db.kind

    @property
    def location(self) -> str:
        """Where the ledger is, safe to show: the SQLite file, or the server's URL without its password."""
        return self._db.label

    @property
    def read_only(self) -> bool:
        """Opened read-only (the file or its folder cannot be written): reading works, recording
        raises :class:`~sora2_widgets.LedgerError`."""
        return self._db.read_only

    def require_writable(self) -> None:
        """Raise :class:`~sora2_widgets.LedgerError` unless generations can be recorded here."""
        if self._db.read_only:
            raise not_writable(self.path)
        if self._db.kind == "postgresql":
            with self._db.session() as conn:  # reachable now, or one sentence saying it is not
                conn.execute("SELECT 1")

    def close(self) -> None:
        self.wait_snapshot()
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"History({self._db.label!r})"

    # -- paths --------------------------------------------------------------------------------
    def _store_path(self, path: Path | str | None) -> str | None:
        """Paths under the history's folder are stored relative, so the folder can move."""
        if path is None:
            return None
        p = Path(path).resolve()
        try:
            return p.relative_to(self.path.parent).as_posix()
        except ValueError:
            return str(p)

    def _load_path(self, stored: str | None) -> Path | None:
        return load_path(stored, self.path.parent)

    def media_path(self, history_id: int, model_id: str, suffix: str) -> Path:
        """Where the media of one row go: ``media/000042_sora2_text_to_video.mp4``."""
        return self.media_dir / f"{history_id:06d}_{model_id}{suffix}"

    def sweep_partial_files(self, older_than: float = 3600.0) -> int:
        """Remove half-written downloads (``*.part``) a killed process left in ``media/``.

        Only files untouched for ``older_than`` seconds: a live download rewrites its file every
        chunk and gives up after its read timeout, so an older one belongs to nobody. The row
        itself is never touched; resuming downloads the video again. Returns how many went."""
        if not self.media_dir.is_dir():
            return 0
        cutoff = time.time() - older_than
        removed = 0
        with os.scandir(self.media_dir) as entries:
            for entry in entries:
                if not entry.name.endswith(".part") or not entry.is_file(follow_symlinks=False):
                    continue
                try:
                    if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        os.unlink(entry.path)
                        removed += 1
                except FileNotFoundError:
                    continue  # another kernel swept it first
        if removed:
            log.info("history: removed %d half-written download(s) from %s", removed, self.media_dir)
        return removed

    # -- writes (used by the generator; public for tools and tests) ---------------------------
    def add(self, **fields: Any) -> int:
        """Insert one row; returns its id. Unknown column names raise ``TypeError``."""
        return self._insert(fields)

    def _insert(self, fields: Mapping[str, Any], *, conn: SqlConn | None = None) -> int:
        # created_at may be given (imports, tests); everything else must be a writable column.
        check_writable(fields, also=frozenset({"created_at"}))
        now = now_iso()
        row = {"created_at": now, "updated_at": now, "status": "submitted", "user": self.user, "machine": self.machine}
        row.update(fields)
        cols = ", ".join(quoted(c) for c in row)
        marks = ", ".join("?" for _ in row)
        sql = f"INSERT INTO generations ({cols}) VALUES ({marks})"  # noqa: S608 - names checked above
        if conn is not None:
            return conn.insert(sql, list(row.values()))
        with self._db.write() as c:
            return c.insert(sql, list(row.values()))

    def add_with_budget(
        self, fields: Mapping[str, Any], *, budget: Decimal | None, high: Decimal
    ) -> tuple[int | None, Decimal]:
        """Insert a row only if ``spent + reserved + high <= budget``, atomically across processes.

        ``reserved`` is the high estimate of every job still running (other kernels and machines
        included), so ten concurrent jobs cannot each pass a check that only one of them fits.
        Returns ``(id, committed)``; ``id`` is ``None`` when ``budget`` refused (nothing inserted).
        The ledger's own budget (:meth:`set_budget`) is checked in the same transaction; when it
        refuses, :class:`~._budget.TeamBudgetExceededError` is raised (nothing inserted).
        """
        with self._db.write() as conn:
            conn.lock_budget()
            committed = _reports.committed(conn)
            if budget is not None and committed + high > budget:
                return None, committed
            team = _budget.read(conn)
            if team is not None and team.committed + high > team.amount:
                raise _budget.TeamBudgetExceededError(team, high)
            return self._insert(fields, conn=conn), committed

    def committed(self, *, exclude_owners: Sequence[str] = ()) -> Decimal:
        """Spent so far plus the high estimate of every job still running: what a budget must cover.

        ``exclude_owners`` leaves out the running jobs leased by those generators, for a caller
        that counts its own running jobs itself (the panel: a job whose row is being written must
        be counted once, not by both)."""
        with self._db.session() as conn:
            return _reports.committed(conn, tuple(exclude_owners))

    # -- the ledger's own (team) budget -----------------------------------------------------------
    def set_budget(self, amount: Decimal | int | float | str, period: _budget.BudgetPeriod = "total") -> None:
        """Set the budget every client of this ledger enforces, atomically with each job's row.

        ``amount`` in USD (as ``SORA2_WIDGETS_BUDGET`` reads it); ``period``: ``"total"`` (since the
        beginning), ``"month"``, ``"week"`` or ``"day"`` (calendar periods in UTC). Bad input is
        refused with one sentence before anything is written."""
        from .._config import parse_usd

        parse_usd(amount, field="amount")
        _budget.check_period(period)
        self._db.retrying(lambda conn: _budget.write(conn, amount, period, self.user))

    def clear_budget(self) -> None:
        """Remove the ledger's budget (a local ``SORA2_WIDGETS_BUDGET`` still applies)."""
        self._db.retrying(lambda conn: _budget.write(conn, None, "total", self.user))

    def budget(self) -> _budget.TeamBudget | None:
        """The ledger's budget with what its current period has committed; ``None`` when none is set."""
        with self._db.session() as conn:
            return _budget.read(conn)

    def update(self, history_id: int, *, only_if_status: Sequence[str] | None = None, **fields: Any) -> bool:
        """Set columns of one row (and ``updated_at``). With ``only_if_status`` the write happens only
        if the row is still in one of those states (a compare-and-set); returns whether it happened.

        On a team ledger that stays unreachable through its retries, the update is kept on local
        disk and written, in order, when the server is back (``_pending``); it then counts as done:
        the rows updated this way are the caller's own, under its lease."""
        check_writable(fields)
        if "status" in fields and fields["status"] not in STATUSES:
            raise ValueError(f"unknown status {fields['status']!r}")
        stamp = now_iso()
        pending = self._pending
        if pending is not None and pending:
            with contextlib.suppress(LedgerUnreachable):  # still away: this one waits behind them
                self._replay_pending()
        if pending is not None and pending:  # still away: keep this one behind the others
            pending.add(row_id(history_id), fields, stamp, only_if_status)
            return True
        try:
            return self._write_update(history_id, fields, stamp, only_if_status)
        except LedgerUnreachable:
            if pending is None:
                raise
            pending.add(row_id(history_id), fields, stamp, only_if_status)
            log.warning(
                "history: the team ledger %s is unreachable; the update of row #%s is kept in %s and will be "
                "written when it is back",
                self._db.label,
                history_id,
                pending.path,
            )
            return True

    def _write_update(
        self, history_id: int, fields: Mapping[str, Any], stamp: str, only_if_status: Sequence[str] | None
    ) -> bool:
        sets = ", ".join(f"{quoted(k)} = ?" for k in fields)
        args: list[Any] = [*fields.values(), stamp, history_id]
        where = "id = ?"
        if only_if_status is not None:
            where += f" AND status IN ({', '.join('?' for _ in only_if_status)})"
            args.extend(only_if_status)
        sql = f"UPDATE generations SET {sets}{', ' if sets else ''}updated_at = ? WHERE {where}"  # noqa: S608
        # Repeated while a team server restarts: setting the same values twice means the same.
        return self._db.retrying(lambda conn: bool(conn.execute(sql, args).rowcount == 1))

    def _replay_pending(self) -> int:
        """Write the updates kept while the team ledger was away (oldest first); how many went."""
        if self._pending is None or not self._pending:
            return 0

        def apply(hid: int, fields: Mapping[str, Any], stamp: str, only_if: Sequence[str] | None) -> None:
            if not self._write_update(hid, fields, stamp, only_if):
                log.warning("history: a kept update of row #%d no longer applied (the row moved on)", hid)

        return self._pending.replay(apply)

    def remove_row(self, history_id: int) -> None:
        """Hard-delete a row. Only for a row whose job certainly never reached the service."""
        with self._db.write() as conn:
            conn.execute("DELETE FROM generations WHERE id = ?", (history_id,))

    # -- leases ---------------------------------------------------------------------------------
    def claim(
        self, owner: str, lease_seconds: float, *, provider: str | None = None, exclude: Collection[int] = ()
    ) -> list[HistoryRecord]:
        """Take over the unfinished rows nobody is looking after, and completed rows whose video
        was never saved locally. Exactly one process wins each row (checked and set in one
        write transaction). ``exclude``: rows the caller itself is busy with (never claimed)."""
        now = time.time()
        with self._db.write() as conn:
            claimed = _leases.claim_rows(conn, owner, lease_seconds, now=now, provider=provider, exclude=exclude)
        return [rec for rec in (self.get(i) for i in claimed)]

    def renew_leases(self, owner: str, lease_seconds: float) -> int:
        return self._db.retrying(lambda conn: _leases.renew(conn, owner, lease_seconds))

    def release(self, history_id: int, owner: str) -> None:
        self._db.retrying(lambda conn: _leases.release_row(conn, history_id, owner))

    resolve_unknown = _resolve.resolve_unknown

    # -- what a person says about a row ----------------------------------------------------------
    rate = _notes.rate
    tag = _notes.tag

    # -- reads ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._db.query("SELECT COUNT(*) FROM generations")[0][0])

    def _record(self, r: Any) -> HistoryRecord:
        return record_from_row(r, self.path.parent)

    def get(self, history_id: int) -> HistoryRecord:
        """The row ``history_id``; ``KeyError`` if there is none."""
        rows = self._db.query("SELECT * FROM generations WHERE id = ?", (row_id(history_id),))
        if not rows:
            raise KeyError(f"no generation #{history_id} in {self._db.label}")
        return self._record(rows[0])

    def find_video_id(self, video_id: str) -> HistoryRecord | None:
        """The newest row that produced ``video_id`` (remix sources are looked up this way)."""
        rows = self._db.query("SELECT * FROM generations WHERE video_id = ? ORDER BY id DESC LIMIT 1", (video_id,))
        return self._record(rows[0]) if rows else None

    def records(self, where: str = "", args: Sequence[Any] = ()) -> list[HistoryRecord]:
        """Rows matching an SQL condition written by the caller (``"status = ?"``, args), oldest first."""
        sql = "SELECT * FROM generations" + (f" WHERE {where}" if where else "") + " ORDER BY id"  # noqa: S608
        return [self._record(r) for r in self._db.query(sql, args)]

    @property
    def df(self) -> pd.DataFrame:
        """All rows as a DataFrame indexed by ``id``, oldest first (a copy: edit it freely).

        Datetimes are tz-aware UTC; ``model_id``/``status``/``provider``/``mode`` are categoricals;
        money is exact in ``*_micros`` (nullable Int64, micro-dollars) and float64 in ``*_usd``;
        ``params`` holds dicts. Kept in memory and brought up to date with only the rows changed
        since (by any process); a snapshot file beside the ledger lets a new process start from it.
        The column names are ``sora2_widgets.history.FRAME_COLUMNS``.
        """
        return self._frames.current().frame.copy(deep=not copy_on_write())

    def wait_snapshot(self, timeout: float | None = None) -> None:
        """Wait until a DataFrame snapshot being written in the background is on disk."""
        self._frames.wait(timeout)

    @overload
    def remix_candidates(self, *, provider: str | None = ..., as_records: Literal[False] = ...) -> pd.DataFrame: ...
    @overload
    def remix_candidates(self, *, provider: str | None = ..., as_records: Literal[True]) -> list[HistoryRecord]: ...
    def remix_candidates(
        self, *, provider: str | None = None, as_records: bool = False
    ) -> pd.DataFrame | list[HistoryRecord]:
        """Videos that can still be remixed, newest first.

        A candidate is a **Sora** generation that **completed**, was made with
        ``delete_video=False`` (kept on the service), was **not deleted** here, and has a
        ``video_id``. ``provider="fal"``/``"emulator"`` keeps only videos made there (a video_id of
        one service means nothing to the other). Returns a DataFrame shaped like :attr:`df`,
        or a list of :class:`HistoryRecord` with ``as_records=True`` (what the panel's picker uses).
        """
        from .._catalog import MODELS

        sora = [m.id for m in MODELS if m.is_sora]
        where = (
            f"model_id IN ({', '.join('?' for _ in sora)}) AND status = 'completed' AND kept_for_remix = 1 "
            "AND deleted = 0 AND video_id IS NOT NULL AND video_id != ''"
        )
        args: list[Any] = list(sora)
        if provider is not None:
            where += " AND provider = ?"
            args.append(provider)
        with self._db.reading() as (conn, _, _):
            # Asked again and again by the panel: the answer is kept until the ledger changes.
            key = ("remix_candidates", provider, as_records)
            memo = self._db.memo
            if key not in memo:
                if as_records:
                    rows = conn.execute(f"SELECT * FROM generations WHERE {where} ORDER BY id DESC", args)  # noqa: S608
                    memo[key] = [self._record(r) for r in rows]
                else:
                    memo[key] = build_frame(fetch(conn, where, args), self.path.parent).iloc[::-1]
            found = memo[key]
        return list(found) if as_records else found.copy()

    # -- user actions -----------------------------------------------------------------------------
    def delete(self, history_id: int, files: bool = True) -> HistoryRecord:
        """Soft delete: the row stays (with its money), it leaves the remix picker, and with
        ``files=True`` its video and thumbnail are removed from disk. Returns the updated row."""
        rec = self.get(history_id)
        fields: dict[str, Any] = {"deleted": 1}
        if files:
            for p in (rec.local_path, rec.thumbnail_path):
                if p is not None:
                    with contextlib.suppress(FileNotFoundError):
                        p.unlink()
            fields.update(local_path=None, thumbnail_path=None)
        self.update(history_id, **fields)
        return self.get(history_id)

    # -- money ----------------------------------------------------------------------------------
    def total_spent(self, since: dt.datetime | dt.date | dt.timedelta | str | None = None) -> Decimal:
        """Exact USD spent: the sum of recorded actual costs.

        A cost is recorded once, when a job completes; failed, unavailable and cancelled jobs
        record 0, and jobs whose submit outcome is unknown count 0 here (see
        :meth:`possibly_charged`). Soft-deleted rows still count: deleting files refunds nothing."""
        return _reports.total_spent(self._db, since)

    def possibly_charged(self, since: dt.datetime | dt.date | dt.timedelta | str | None = None) -> Decimal:
        """Upper bound of what jobs in status ``unknown`` may have cost (their high estimates).

        Not part of :meth:`total_spent`: nobody knows whether the service created those jobs.
        Check them on fal's dashboard (the row's prompt and time identify them)."""
        return _reports.possibly_charged(self._db, since)

    def spend(
        self,
        by: _reports.SpendBy = "model",
        since: dt.datetime | dt.date | dt.timedelta | str | None = None,
    ) -> pd.DataFrame:
        """Spend per model, UTC day, mode, provider, user, machine or sweep, summed exactly in SQL.

        Columns: ``count`` (generations in the group, any status), ``completed``, ``total``
        (exact ``Decimal`` USD) and ``total_usd`` (float64, for charts), then ``unknown`` (jobs
        whose submit outcome is unknown) with ``possibly_charged``/``possibly_charged_usd``, the
        most they may have cost (not in ``total``; see :meth:`possibly_charged`). ``since`` is a
        datetime/date (naive = UTC), an ISO string, or a timedelta back from now. The column names
        are ``sora2_widgets.history.SPEND_COLUMNS``.
        """
        return _reports.spend(self._db, by, since)

    reconcile = _reconcile.reconcile

    # -- export -----------------------------------------------------------------------------------
    def _export_frame(self) -> pd.DataFrame:
        frame = self.df
        frame["params"] = [json.dumps(p, sort_keys=True) for p in frame["params"]]
        return frame

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write the history as CSV (params as JSON text, money exact in ``*_micros``)."""
        out = Path(path)
        self._export_frame().to_csv(out)
        return out

    def to_parquet(self, path: str | os.PathLike[str]) -> Path:
        """Write the history as Parquet (needs ``pyarrow``: ``pip install sora2-widgets[parquet]``)."""
        out = Path(path)
        self._export_frame().to_parquet(out)
        return out
