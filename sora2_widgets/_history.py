"""The durable history: one SQLite row per generation, and a pandas view of it.

Why SQLite: one file, transactions, safe concurrent use by several kernels on one machine
(WAL mode + a busy timeout), readable with any SQLite tool. Every write is its own short
``BEGIN IMMEDIATE`` transaction with ``synchronous=FULL``: measured at ~0.3 ms per commit on
the development machine, cheap enough that even status updates get the strongest durability,
and the money rows never depend on the OS flushing a page cache.

Rules this module keeps (see :meth:`History.spend`):

* Money is stored exactly, as integer micro-dollars (``cost_micros``), never as a float.
  The DataFrame adds float64 ``*_usd`` columns for plotting, beside the exact integers.
* **Spent** means the *actual* cost recorded for a row. It is recorded once, when a job
  completes; failed, unavailable and cancelled jobs record ``0``. A job whose submit outcome is
  unknown (status ``unknown``: the answer to the submit was lost, or the process died while
  submitting) records ``NULL`` (shown as NaN) and counts as ``0`` spent — but it *may* have been
  charged, so :meth:`History.possibly_charged` and ``spend()`` report its high estimate apart.
  Soft-deleted rows still count: deleting the files does not refund the money.
* No secret is ever written: parameters come from ``ModelInput.public_params()``, and large
  ``data:`` URIs (local images) are replaced by a short description with their sha256.

Reading fast (:attr:`History.df`): every row carries a ``rev`` that triggers set from a ledger-wide
clock on each INSERT/UPDATE (tombstones record hard deletes), so the in-memory DataFrame is updated
with only the rows changed since, by any process. ``history.sqlite3.df-cache`` beside the ledger is
a checksummed snapshot of that frame for new processes (see ``_frame_cache``); delete it any time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from . import _frame_cache
from ._config import data_dir

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ACTIVE_STATUSES",
    "STATUSES",
    "History",
    "HistoryRecord",
    "from_micros",
    "to_micros",
]

log = logging.getLogger("sora2_widgets.history")

DB_NAME = "history.sqlite3"
#: The DataFrame snapshot beside the ledger (a cache: delete it any time).
CACHE_SUFFIX = ".df-cache"
#: A snapshot is written when a frame had to be built from scratch with at least this many rows
#: (smaller ledgers build in a few ms) …
SNAPSHOT_MIN_ROWS = 2_000
#: … or when this many rows changed since the snapshot on disk (what a fresh process replays).
SNAPSHOT_EVERY = 1_000
MEDIA_DIR = "media"

STATUSES: tuple[str, ...] = (
    "submitted",
    "in_queue",
    "in_progress",
    "completed",
    "failed",
    "cancelled",
    "unavailable",
    # The service may or may not have created (and charged) the job: the submit's answer was lost,
    # so there is no request id to follow. Never resubmitted, never resumed; see possibly_charged().
    "unknown",
)
#: Rows in these states have (or may have) a job running on the service: resume them.
ACTIVE_STATUSES: tuple[str, ...] = ("submitted", "in_queue", "in_progress")
PROVIDERS: tuple[str, ...] = ("fal", "emulator")
MODES: tuple[str, ...] = ("text", "image", "remix")

#: What an ``unknown`` row may have cost: its high estimate (the low one if that is all we have).
_UNKNOWN_UP_TO = "COALESCE(est_high_micros, est_low_micros, 0)"
_POSSIBLY_CHARGED = f"COALESCE(SUM({_UNKNOWN_UP_TO}), 0)"

_MICRO = Decimal("0.000001")
_MILLION = Decimal(1_000_000)
#: Data URIs longer than this are not stored verbatim (a 5 MB image per row would bloat the ledger).
_DATA_URI_KEEP = 256


def to_micros(amount: Decimal | int | str) -> int:
    """USD → integer micro-dollars. Sub-micro amounts round *up*: the ledger never under-reports."""
    value = Decimal(amount)
    return int((value * _MILLION).to_integral_value(rounding=ROUND_CEILING))


def from_micros(micros: int) -> Decimal:
    """Integer micro-dollars → USD ``Decimal`` with no trailing noise (``400000`` → ``Decimal("0.4")``)."""
    value = (Decimal(micros) / _MILLION).quantize(_MICRO)
    return value.normalize() if value != 0 else Decimal(0)


def _now_iso() -> str:
    # Fixed-width ISO-8601 UTC: sorts as text, reads in any SQLite tool, parses fast in pandas.
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_iso(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)


def scrub_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as stored: big ``data:`` URIs become a description (kind, size, sha256)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("data:") and len(value) > _DATA_URI_KEEP:
            head = value.split(",", 1)[0]
            digest = hashlib.sha256(value.encode()).hexdigest()
            out[key] = f"{head},… ({len(value)} characters, sha256 {digest})"
        else:
            out[key] = value
    return out


# --------------------------------------------------------------------------------------------
# Schema and migrations. ``PRAGMA user_version`` = number of steps applied. A step is a list of
# SQL statements, applied inside one BEGIN IMMEDIATE transaction (so two processes opening a
# fresh file at once cannot both migrate). Append new steps; never edit an old one.
# --------------------------------------------------------------------------------------------


def _generations_table(name: str, statuses: Sequence[str], extra: str = "") -> str:
    check = ", ".join(f"'{s}'" for s in statuses)
    return f"""
        CREATE TABLE {name} (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at      TEXT    NOT NULL,
            updated_at      TEXT    NOT NULL,
            model_id        TEXT    NOT NULL,
            endpoint        TEXT    NOT NULL,
            mode            TEXT    NOT NULL,
            prompt          TEXT    NOT NULL DEFAULT '',
            params_json     TEXT    NOT NULL DEFAULT '{{}}',
            provider        TEXT    NOT NULL,
            request_id      TEXT,
            status_url      TEXT,
            response_url    TEXT,
            cancel_url      TEXT,
            status          TEXT    NOT NULL CHECK (status IN ({check})),
            error           TEXT,
            est_low_micros  INTEGER,
            est_high_micros INTEGER,
            cost_micros     INTEGER,
            video_url       TEXT,
            local_path      TEXT,
            sha256          TEXT,
            thumbnail_path  TEXT,
            width           INTEGER,
            height          INTEGER,
            duration        REAL,
            fps             REAL,
            video_id        TEXT,
            remixed_from    INTEGER REFERENCES generations(id),
            kept_for_remix  INTEGER NOT NULL DEFAULT 0,
            deleted         INTEGER NOT NULL DEFAULT 0,
            lease_owner     TEXT,
            lease_until     REAL{extra}
        )
        """


_INDEXES = [
    "CREATE INDEX generations_status ON generations(status)",
    "CREATE INDEX generations_created ON generations(created_at)",
    "CREATE INDEX generations_video_id ON generations(video_id) WHERE video_id IS NOT NULL",
    "CREATE INDEX generations_request ON generations(provider, request_id) WHERE request_id IS NOT NULL",
]
_REV_INDEX = "CREATE INDEX generations_rev ON generations(rev)"
_REV_TRIGGERS = [
    """
    CREATE TRIGGER generations_rev_insert AFTER INSERT ON generations
    BEGIN
        UPDATE ledger_clock SET rev = rev + 1 WHERE id = 1;
        UPDATE generations SET rev = (SELECT rev FROM ledger_clock WHERE id = 1) WHERE id = NEW.id;
    END
    """,
    # WHEN: the trigger's own "SET rev" must not fire it again (even with recursive_triggers on).
    """
    CREATE TRIGGER generations_rev_update AFTER UPDATE ON generations WHEN NEW.rev = OLD.rev
    BEGIN
        UPDATE ledger_clock SET rev = rev + 1 WHERE id = 1;
        UPDATE generations SET rev = (SELECT rev FROM ledger_clock WHERE id = 1) WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER generations_rev_delete AFTER DELETE ON generations
    BEGIN
        UPDATE ledger_clock SET rev = rev + 1 WHERE id = 1;
        INSERT OR REPLACE INTO generations_removed (id, rev)
            VALUES (OLD.id, (SELECT rev FROM ledger_clock WHERE id = 1));
    END
    """,
]
# The status lists each step's CHECK allowed, frozen: a step must mean the same forever.
_STATUSES_V1 = ("submitted", "in_queue", "in_progress", "completed", "failed", "cancelled", "unavailable")
_STATUSES_V3 = (*_STATUSES_V1, "unknown")
_COLUMNS_V2 = (
    "id, created_at, updated_at, model_id, endpoint, mode, prompt, params_json, provider, request_id, "
    "status_url, response_url, cancel_url, status, error, est_low_micros, est_high_micros, cost_micros, "
    "video_url, local_path, sha256, thumbnail_path, width, height, duration, fps, video_id, remixed_from, "
    "kept_for_remix, deleted, lease_owner, lease_until, rev"
)

MIGRATIONS: list[list[str]] = [
    [_generations_table("generations", _STATUSES_V1), *_INDEXES],
    # 2: a revision clock, so readers fetch only what changed (the cached DataFrame, its snapshot
    # file). Triggers, not Python, bump it: every writer — another kernel, an older tool, the
    # sqlite3 shell — moves the clock, so no change can hide from a cache. ``ledger`` is a random
    # id of this database: a snapshot of another (re-created) file never matches it.
    [
        "ALTER TABLE generations ADD COLUMN rev INTEGER NOT NULL DEFAULT 0",
        "UPDATE generations SET rev = id",
        """
        CREATE TABLE ledger_clock (
            id     INTEGER PRIMARY KEY CHECK (id = 1),
            rev    INTEGER NOT NULL,
            ledger TEXT    NOT NULL
        )
        """,
        "INSERT INTO ledger_clock (id, rev, ledger) "
        "VALUES (1, (SELECT COALESCE(MAX(rev), 0) FROM generations), lower(hex(randomblob(16))))",
        # Hard deletes (remove_row) are rare but must reach the caches too: a tombstone per row.
        "CREATE TABLE generations_removed (id INTEGER PRIMARY KEY, rev INTEGER NOT NULL)",
        _REV_INDEX,
        *_REV_TRIGGERS,
    ],
    # 3: the status "unknown" (a submit whose answer was lost). SQLite cannot change a CHECK in
    # place, so the table is rebuilt (sqlite.org/lang_altertable.html#otheralter; foreign keys are
    # off meanwhile, see _migrate), rows, ids and revisions kept. Rows an older version marked
    # "failed" with a "submit outcome unknown" error and no cost become "unknown".
    [
        _generations_table("generations_v3", _STATUSES_V3, ",\n            rev INTEGER NOT NULL DEFAULT 0"),
        f"INSERT INTO generations_v3 ({_COLUMNS_V2}) SELECT {_COLUMNS_V2} FROM generations",  # noqa: S608
        # AUTOINCREMENT's promise (an id is never reused, even after remove_row) moves along.
        "DELETE FROM sqlite_sequence WHERE name = 'generations_v3'",
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'generations_v3', seq FROM sqlite_sequence "
        "WHERE name = 'generations'",
        "DROP TABLE generations",
        "ALTER TABLE generations_v3 RENAME TO generations",
        *_INDEXES,
        _REV_INDEX,
        *_REV_TRIGGERS,
        "UPDATE generations SET status = 'unknown' "
        "WHERE status = 'failed' AND cost_micros IS NULL AND error LIKE 'submit outcome unknown%'",
    ],
]

#: The ledger columns a DataFrame shows, in order (bookkeeping such as leases and ``rev`` is left out).
_FRAME_COLUMNS: tuple[str, ...] = (
    "id",
    "created_at",
    "updated_at",
    "model_id",
    "endpoint",
    "mode",
    "prompt",
    "params_json",
    "provider",
    "request_id",
    "status_url",
    "response_url",
    "cancel_url",
    "status",
    "error",
    "est_low_micros",
    "est_high_micros",
    "cost_micros",
    "video_url",
    "local_path",
    "sha256",
    "thumbnail_path",
    "width",
    "height",
    "duration",
    "fps",
    "video_id",
    "remixed_from",
    "kept_for_remix",
    "deleted",
)

#: Columns a caller may set through :meth:`History.add` / :meth:`History.update`.
_WRITABLE = frozenset(_FRAME_COLUMNS[3:]) | {"lease_owner", "lease_until"}


@dataclasses.dataclass(frozen=True)
class HistoryRecord:
    """One row of the ledger, typed. Money is ``Decimal`` USD (``None`` = not known)."""

    id: int
    created_at: dt.datetime
    updated_at: dt.datetime
    model_id: str
    endpoint: str
    mode: str
    prompt: str
    params: dict[str, Any]
    provider: str
    request_id: str | None
    status_url: str | None
    response_url: str | None
    cancel_url: str | None
    status: str
    error: str | None
    estimate_low: Decimal | None
    estimate_high: Decimal | None
    cost: Decimal | None
    video_url: str | None
    local_path: Path | None
    sha256: str | None
    thumbnail_path: Path | None
    width: int | None
    height: int | None
    duration: float | None
    fps: float | None
    video_id: str | None
    remixed_from: int | None
    kept_for_remix: bool
    deleted: bool

    @property
    def is_active(self) -> bool:
        """The job may still be running on the service."""
        return self.status in ACTIVE_STATUSES

    @property
    def remixable(self) -> bool:
        """Sora, completed, kept on the service, not deleted here, with a ``video_id``."""
        from ._catalog import get_model

        try:
            sora = get_model(self.model_id).is_sora
        except KeyError:
            sora = False
        return sora and self.status == "completed" and self.kept_for_remix and not self.deleted and bool(self.video_id)


def _copy_on_write() -> bool:
    """Whether pandas copies a column before changing it (always from pandas 3): then a shallow
    copy of the cached frame is as safe to hand out as a deep one, and ~100× cheaper."""
    import pandas as pd

    if int(pd.__version__.split(".")[0]) >= 3:
        return True
    return bool(pd.options.mode.copy_on_write is True)


def _opt_money(micros: int | None) -> Decimal | None:
    return None if micros is None else from_micros(micros)


# --------------------------------------------------------------------------------------------
# Leases: which process is looking after an unfinished row. The owner is "host:pid:nonce"; a
# lease is dead when it expired, or when its owner ran on this host and that pid is gone (so a
# killed kernel's jobs are picked up at once, not after the lease runs out).
# --------------------------------------------------------------------------------------------
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


@dataclasses.dataclass(frozen=True)
class _View:
    """The DataFrame as of one ledger revision. Never modified (replaced instead), so it can be
    pickled or copied outside the lock while another thread catches up."""

    ledger: str
    rev: int
    frame: pd.DataFrame
    #: Each row's revision (same index as ``frame``; kept out of the frame so .df keeps its columns).
    revs: pd.Series[int]
    #: Revision of the snapshot file written from this process's views (-1: none written or loaded).
    saved_rev: int
    #: Rows changed since that snapshot: what a new process would have to replay.
    unsaved: int


class History:
    """The ledger of every generation, in ``history.sqlite3`` under the data directory.

    ``History()`` opens (and creates or migrates) ``$SORA2_WIDGETS_HOME/history.sqlite3``;
    ``History(path)`` takes a file, or a directory to hold ``history.sqlite3``. Media files go to
    ``media/`` beside the database. Safe to use from several threads and several processes.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, busy_timeout: float = 30.0) -> None:
        if path is None:
            db = data_dir() / DB_NAME
        else:
            db = Path(path).expanduser()
            # is_file, not exists: another kernel may create the folder between our two checks.
            if db.is_dir() or (not db.suffix and not db.is_file()):
                db = db / DB_NAME
        db.parent.mkdir(parents=True, exist_ok=True)
        self.path: Path = db.resolve()
        self.media_dir: Path = self.path.parent / MEDIA_DIR
        self._lock = threading.RLock()
        # One connection shared by the threads of this process (the generator's loop thread and
        # the notebook's thread), serialised by a lock; autocommit mode with explicit
        # transactions so that every write is a short BEGIN IMMEDIATE … COMMIT.
        self._conn = sqlite3.connect(
            str(self.path), timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        mode = self._enter_wal(busy_timeout)
        if str(mode).lower() != "wal":
            log.warning("history: SQLite refused WAL mode (%s); concurrent kernels will wait more", mode)
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute("PRAGMA foreign_keys = ON")
        self.cache_path: Path = self.path.with_name(self.path.name + CACHE_SUFFIX)
        self._view: _View | None = None
        self._saver: threading.Thread | None = None
        # Results of spend()/total_spent()/remix_candidates() for one ledger revision.
        self._memo: dict[tuple[Any, ...], Any] = {}
        self._memo_rev: tuple[str, int] | None = None
        self._migrate()

    # -- plumbing ---------------------------------------------------------------------------
    def _enter_wal(self, busy_timeout: float) -> str:
        """Switch the file to WAL, waiting out other processes doing the same.

        Switching journal modes needs an exclusive lock, and SQLite answers "database is locked"
        at once instead of calling the busy handler when two new connections race for it (seen
        with two kernels opening a brand-new ledger together), so the wait is ours to do."""
        deadline = time.monotonic() + busy_timeout
        pause = 0.005
        while True:
            try:
                return str(self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.2)

    def _migrate(self) -> None:
        with self._lock:
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise RuntimeError(
                    f"{self.path} was written by a newer sora2-widgets (schema {version}, this one knows "
                    f"{len(MIGRATIONS)}); upgrade sora2-widgets to open it"
                )
            if version == len(MIGRATIONS):
                return
            # A step may rebuild the table (step 3): its self-reference (remixed_from) must not be
            # enforced half-way. The pragma is a no-op inside a transaction, hence out here; the
            # check at the end proves no reference was broken.
            self._conn.execute("PRAGMA foreign_keys = OFF")
            try:
                with self._write() as conn:
                    # Re-read inside the write lock: another process may have migrated meanwhile.
                    version = conn.execute("PRAGMA user_version").fetchone()[0]
                    for step in range(version, len(MIGRATIONS)):
                        for statement in MIGRATIONS[step]:
                            conn.execute(statement)
                        log.info("history: migrated %s to schema %d", self.path, step + 1)
                    broken = conn.execute("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"{self.path}: migrating broke {len(broken)} remix reference(s)")
                    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
            finally:
                self._conn.execute("PRAGMA foreign_keys = ON")

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE takes the write lock up front (no upgrade deadlocks)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def _reading(self) -> Iterator[tuple[sqlite3.Connection, str, int]]:
        """One read transaction (in WAL mode: one consistent snapshot of the file) and the
        ledger id + revision it sees. Every write by anyone moves the revision (triggers)."""
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                ledger, rev = self._conn.execute("SELECT ledger, rev FROM ledger_clock WHERE id = 1").fetchone()
                if self._memo_rev != (ledger, rev):
                    self._memo.clear()
                    self._memo_rev = (ledger, rev)
                yield self._conn, str(ledger), int(rev)
            finally:
                self._conn.execute("COMMIT")

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def close(self) -> None:
        self.wait_snapshot()
        with self._lock:
            self._conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"History({str(self.path)!r})"

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
        if not stored:
            return None
        p = Path(stored)
        return p if p.is_absolute() else self.path.parent / p

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

    def _insert(self, fields: Mapping[str, Any], *, conn: sqlite3.Connection | None = None) -> int:
        # created_at may be given (imports, tests); everything else must be a writable column.
        bad = set(fields) - _WRITABLE - {"created_at"}
        if bad:
            raise TypeError(f"unknown history columns: {', '.join(sorted(bad))}")
        now = _now_iso()
        row = {"created_at": now, "updated_at": now, "status": "submitted", **fields}
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        sql = f"INSERT INTO generations ({cols}) VALUES ({marks})"  # noqa: S608 - names checked above
        if conn is not None:
            cur = conn.execute(sql, list(row.values()))
        else:
            with self._write() as c:
                cur = c.execute(sql, list(row.values()))
        assert cur.lastrowid is not None
        return int(cur.lastrowid)

    def add_with_budget(
        self, fields: Mapping[str, Any], *, budget: Decimal | None, high: Decimal
    ) -> tuple[int | None, Decimal]:
        """Insert a row only if ``spent + reserved + high <= budget``, atomically across processes.

        ``reserved`` is the high estimate of every job still running (other kernels included), so
        ten concurrent jobs cannot each pass a check that only one of them fits. Returns ``(id,
        committed)``; ``id`` is ``None`` when refused (nothing inserted).
        """
        with self._write() as conn:
            committed = self._committed(conn)
            if budget is not None and committed + high > budget:
                return None, committed
            return self._insert(fields, conn=conn), committed

    def _committed(self, conn: sqlite3.Connection, exclude_owners: Sequence[str] = ()) -> Decimal:
        active = ", ".join("?" for _ in ACTIVE_STATUSES)
        mine = ", ".join("?" for _ in exclude_owners)
        others = f" AND (lease_owner IS NULL OR lease_owner NOT IN ({mine}))" if exclude_owners else ""
        row = conn.execute(
            "SELECT COALESCE(SUM(cost_micros), 0), "  # noqa: S608 - only placeholders are interpolated
            f"COALESCE(SUM(CASE WHEN status IN ({active}){others} THEN est_high_micros ELSE 0 END), 0) "
            "FROM generations",
            (*ACTIVE_STATUSES, *exclude_owners),
        ).fetchone()
        return from_micros(int(row[0]) + int(row[1]))

    def committed(self, *, exclude_owners: Sequence[str] = ()) -> Decimal:
        """Spent so far plus the high estimate of every job still running: what a budget must cover.

        ``exclude_owners`` leaves out the running jobs leased by those generators, for a caller
        that counts its own running jobs itself (the panel: a job whose row is being written must
        be counted once, not by both)."""
        with self._lock:
            return self._committed(self._conn, tuple(exclude_owners))

    def update(self, history_id: int, *, only_if_status: Sequence[str] | None = None, **fields: Any) -> bool:
        """Set columns of one row (and ``updated_at``). With ``only_if_status`` the write happens only
        if the row is still in one of those states (a compare-and-set); returns whether it happened."""
        bad = set(fields) - _WRITABLE
        if bad:
            raise TypeError(f"unknown history columns: {', '.join(sorted(bad))}")
        if "status" in fields and fields["status"] not in STATUSES:
            raise ValueError(f"unknown status {fields['status']!r}")
        sets = ", ".join(f"{k} = ?" for k in fields)
        args: list[Any] = [*fields.values(), _now_iso(), history_id]
        where = "id = ?"
        if only_if_status is not None:
            where += f" AND status IN ({', '.join('?' for _ in only_if_status)})"
            args.extend(only_if_status)
        sql = f"UPDATE generations SET {sets}{', ' if sets else ''}updated_at = ? WHERE {where}"  # noqa: S608
        with self._write() as conn:
            return conn.execute(sql, args).rowcount == 1

    def remove_row(self, history_id: int) -> None:
        """Hard-delete a row. Only for a row whose job certainly never reached the service."""
        with self._write() as conn:
            conn.execute("DELETE FROM generations WHERE id = ?", (history_id,))

    # -- leases ---------------------------------------------------------------------------------
    def claim(
        self, owner: str, lease_seconds: float, *, provider: str | None = None, exclude: Collection[int] = ()
    ) -> list[HistoryRecord]:
        """Take over the unfinished rows nobody is looking after, and completed rows whose video
        was never saved locally. Exactly one process wins each row (checked and set in one
        write transaction). ``exclude``: rows the caller itself is busy with (never claimed)."""
        now = time.time()
        claimed: list[int] = []
        active = ", ".join("?" for _ in ACTIVE_STATUSES)
        with self._write() as conn:
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
                conn.execute(
                    "UPDATE generations SET lease_owner = ?, lease_until = ? WHERE id = ? AND lease_owner IS ?",
                    (owner, now + lease_seconds, r["id"], r["lease_owner"]),
                )
                claimed.append(int(r["id"]))
        return [rec for rec in (self.get(i) for i in claimed)]

    def renew_leases(self, owner: str, lease_seconds: float) -> int:
        with self._write() as conn:
            return conn.execute(
                "UPDATE generations SET lease_until = ? WHERE lease_owner = ?", (time.time() + lease_seconds, owner)
            ).rowcount

    def release(self, history_id: int, owner: str) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE generations SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?",
                (history_id, owner),
            )

    # -- reads ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM generations")[0][0])

    def _record(self, r: sqlite3.Row) -> HistoryRecord:
        return HistoryRecord(
            id=int(r["id"]),
            created_at=_parse_iso(r["created_at"]),
            updated_at=_parse_iso(r["updated_at"]),
            model_id=r["model_id"],
            endpoint=r["endpoint"],
            mode=r["mode"],
            prompt=r["prompt"],
            params=json.loads(r["params_json"] or "{}"),
            provider=r["provider"],
            request_id=r["request_id"],
            status_url=r["status_url"],
            response_url=r["response_url"],
            cancel_url=r["cancel_url"],
            status=r["status"],
            error=r["error"],
            estimate_low=_opt_money(r["est_low_micros"]),
            estimate_high=_opt_money(r["est_high_micros"]),
            cost=_opt_money(r["cost_micros"]),
            video_url=r["video_url"],
            local_path=self._load_path(r["local_path"]),
            sha256=r["sha256"],
            thumbnail_path=self._load_path(r["thumbnail_path"]),
            width=r["width"],
            height=r["height"],
            duration=r["duration"],
            fps=r["fps"],
            video_id=r["video_id"],
            remixed_from=r["remixed_from"],
            kept_for_remix=bool(r["kept_for_remix"]),
            deleted=bool(r["deleted"]),
        )

    def get(self, history_id: int) -> HistoryRecord:
        """The row ``history_id``; ``KeyError`` if there is none."""
        rows = self._query("SELECT * FROM generations WHERE id = ?", (int(history_id),))
        if not rows:
            raise KeyError(f"no generation #{history_id} in {self.path}")
        return self._record(rows[0])

    def find_video_id(self, video_id: str) -> HistoryRecord | None:
        """The newest row that produced ``video_id`` (remix sources are looked up this way)."""
        rows = self._query("SELECT * FROM generations WHERE video_id = ? ORDER BY id DESC LIMIT 1", (video_id,))
        return self._record(rows[0]) if rows else None

    def records(self, where: str = "", args: Sequence[Any] = ()) -> list[HistoryRecord]:
        """Rows matching an SQL condition written by the caller (``"status = ?"``, args), oldest first."""
        sql = "SELECT * FROM generations" + (f" WHERE {where}" if where else "") + " ORDER BY id"  # noqa: S608
        return [self._record(r) for r in self._query(sql, args)]

    @property
    def df(self) -> pd.DataFrame:
        """All rows as a DataFrame indexed by ``id``, oldest first (a copy: edit it freely).

        Datetimes are tz-aware UTC; ``model_id``/``status``/``provider``/``mode`` are categoricals;
        money is exact in ``*_micros`` (nullable Int64, micro-dollars) and float64 in ``*_usd``;
        ``params`` holds dicts. Kept in memory and brought up to date with only the rows changed
        since (by any process); a snapshot file beside the ledger lets a new process start from it.
        """
        return self._current_view().frame.copy(deep=not _copy_on_write())

    # -- the cached frame -----------------------------------------------------------------------
    def _snapshot_header(self, ledger: str) -> dict[str, Any]:
        return _frame_cache.expected_header(
            schema=len(MIGRATIONS),
            ledger=ledger,
            folder=str(self.path.parent),
            categories={"mode": list(MODES), "status": list(STATUSES), "provider": list(PROVIDERS)},
        )

    def _current_view(self) -> _View:
        with self._reading() as (conn, ledger, rev):
            view = self._view
            if view is not None and view.ledger == ledger and view.rev == rev:
                return view
            if view is None or view.ledger != ledger or view.rev > rev:
                snap = _frame_cache.read(self.cache_path, self._snapshot_header(ledger), rev)
                view = None if snap is None else _View(ledger, snap.rev, snap.frame, snap.revs, snap.rev, 0)
            if view is not None:
                view = self._catch_up(conn, view, rev)
            if view is None:
                view = self._build(conn, ledger, rev)
            self._view = view
        first = view.saved_rev < 0 and len(view.frame) >= SNAPSHOT_MIN_ROWS
        if first or (view.saved_rev >= 0 and view.unsaved >= SNAPSHOT_EVERY):
            with self._lock:
                busy = self._saver is not None and self._saver.is_alive()
                if not busy:
                    # Pickling 100 000 rows takes ~0.5 s: not on the caller's time, and not under the
                    # lock (writers must not wait). Safe because a _View is never modified, only
                    # replaced. Not a daemon: a snapshot being written is finished at exit.
                    self._saver = threading.Thread(
                        target=self._save, args=(view,), name="sora2-history-snapshot", daemon=False
                    )
                    self._saver.start()
        return view

    def _save(self, view: _View) -> None:
        snap = _frame_cache.Snapshot(view.rev, view.frame, view.revs)
        try:
            written = _frame_cache.write(self.cache_path, self._snapshot_header(view.ledger), snap)
        except Exception:  # e.g. an unpicklable object in params: the cache is optional
            log.exception("history: could not write the DataFrame snapshot")
            return
        if written:
            with self._lock:
                now = self._view
                if now is not None and now.ledger == view.ledger and now.saved_rev < view.rev:
                    unsaved = max(now.unsaved - view.unsaved, 0) if now.saved_rev == view.saved_rev else now.unsaved
                    self._view = dataclasses.replace(now, saved_rev=view.rev, unsaved=unsaved)

    def wait_snapshot(self, timeout: float | None = None) -> None:
        """Wait until a DataFrame snapshot being written in the background is on disk."""
        saver = self._saver
        if saver is not None:
            saver.join(timeout)

    def _fetch(self, conn: sqlite3.Connection, where: str = "", args: Sequence[Any] = ()) -> dict[str, list[Any]]:
        """Columns of the matching rows, fetched as plain tuples and transposed once
        (sqlite3.Row objects and per-cell lookups cost ~1 s at 100 000 rows)."""
        cur = conn.cursor()
        cur.row_factory = None
        cur.execute("SELECT * FROM generations" + (f" WHERE {where}" if where else "") + " ORDER BY id", args)  # noqa: S608
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        return {n: list(c) for n, c in zip(names, columns, strict=True)}

    def _build(self, conn: sqlite3.Connection, ledger: str, rev: int) -> _View:
        import pandas as pd

        raw = self._fetch(conn)
        frame = self._frame(raw)
        revs = pd.Series(pd.array(raw["rev"], dtype="int64"), index=frame.index, name="rev")
        return _View(ledger, rev, frame, revs, saved_rev=-1, unsaved=0)

    def _catch_up(self, conn: sqlite3.Connection, view: _View, rev: int) -> _View | None:
        """``view`` plus the rows changed after ``view.rev``; None if the result disagrees with
        the database (then the caller rebuilds: a cache can be slow, never wrong)."""
        raw = self._fetch(conn, "rev > ?", (view.rev,))
        removed = [int(r[0]) for r in conn.execute("SELECT id FROM generations_removed WHERE rev > ?", (view.rev,))]
        frame, revs = view.frame, view.revs
        if raw["id"] or removed:
            merged = self._upsert(frame, revs, raw, removed)
            if merged is None:
                return None
            frame, revs = merged
        # Cheap proof that the cached rows are the database's rows: same count, and the same sum of
        # revisions (a row changed behind the cache's back has a new revision).
        count, rev_sum = conn.execute("SELECT COUNT(*), COALESCE(SUM(rev), 0) FROM generations").fetchone()
        if len(frame) != count or int(revs.sum()) != rev_sum:
            log.warning("history: the cached DataFrame disagrees with %s; rebuilding it", self.path)
            return None
        return _View(view.ledger, rev, frame, revs, view.saved_rev, view.unsaved + len(raw["id"]) + len(removed))

    def _upsert(
        self, frame: pd.DataFrame, revs: pd.Series[int], raw: Mapping[str, Sequence[Any]], removed: Sequence[int]
    ) -> tuple[pd.DataFrame, pd.Series[int]] | None:
        """New frame = old rows minus changed/removed ids, plus the changed rows rebuilt.
        Returns None when the result's dtypes would differ from a full build's."""
        import pandas as pd

        gone = frame.index.intersection(pd.Index([*raw["id"], *removed], dtype="int64"))
        if len(gone):
            frame, revs = frame.drop(index=gone), revs.drop(index=gone)
        if raw["id"]:
            new = self._frame(raw)
            new_revs = pd.Series(pd.array(raw["rev"], dtype="int64"), index=new.index, name="rev")
            if len(frame) == 0:
                return new, new_revs
            # model_id's categories are the sorted distinct ids (as pd.Categorical makes them):
            # give both parts the union, so concat keeps the categorical.
            cats = sorted(set(frame["model_id"].cat.categories) | set(new["model_id"].cat.categories))
            frame = frame.assign(model_id=frame["model_id"].cat.set_categories(cats))
            new = new.assign(model_id=new["model_id"].cat.set_categories(cats))
            dtypes = frame.dtypes
            frame, revs = pd.concat([frame, new]), pd.concat([revs, new_revs])
            if not frame.index.is_monotonic_increasing:
                order = frame.index.argsort(kind="stable")
                frame, revs = frame.iloc[order], revs.iloc[order]
            if not frame.dtypes.equals(dtypes):
                return None
        if len(gone):
            frame = frame.assign(model_id=frame["model_id"].cat.remove_unused_categories())
        return frame, revs

    def _frame(self, raw: Mapping[str, Sequence[Any]]) -> pd.DataFrame:
        import numpy as np
        import pandas as pd

        cols = _FRAME_COLUMNS
        # Columns straight from the rows (not via an intermediate frame: pandas would turn NULL
        # text into NaN floats before we could map paths).
        raw = {c: list(raw[c]) for c in cols}
        out = pd.DataFrame(index=pd.Index(pd.array(raw["id"], dtype="int64"), name="id"))
        for c in ("created_at", "updated_at"):
            # Our fixed-width "…SS.ffffffZ" text parses ~10× faster through numpy than strptime.
            try:
                stamps = np.array([t[:-1] if t.endswith("Z") else t for t in raw[c]], dtype="datetime64[us]")
                out[c] = pd.DatetimeIndex(stamps).tz_localize("UTC")
            except ValueError:
                out[c] = pd.DatetimeIndex(pd.to_datetime(raw[c], format="ISO8601", utc=True))
        out["model_id"] = pd.Categorical(raw["model_id"])
        out["mode"] = pd.Categorical(raw["mode"], categories=list(MODES))
        out["status"] = pd.Categorical(raw["status"], categories=list(STATUSES))
        out["provider"] = pd.Categorical(raw["provider"], categories=list(PROVIDERS))
        out["endpoint"] = raw["endpoint"]
        out["prompt"] = raw["prompt"]
        # Settings repeat across rows (the prompt is a column of its own): parse each distinct text
        # once; every row still gets its own dict.
        parsed = {t: json.loads(t or "{}") for t in set(raw["params_json"])}
        out["params"] = pd.Series([dict(parsed[t]) for t in raw["params_json"]], index=out.index, dtype=object)
        money = (("est_low_micros", "est_low_usd"), ("est_high_micros", "est_high_usd"), ("cost_micros", "cost_usd"))
        for c, usd in money:
            micros = pd.array(raw[c], dtype="Int64")
            out[c] = micros
            out[usd] = micros.to_numpy(dtype="float64", na_value=float("nan")) / 1e6
        for c in ("error", "request_id", "status_url", "response_url", "cancel_url", "video_url", "video_id", "sha256"):
            out[c] = pd.Series(raw[c], index=out.index, dtype=object)
        base = str(self.path.parent) + os.sep
        for c in ("local_path", "thumbnail_path"):
            # String joins, not Path objects: 100 000 Path() calls cost ~0.6 s.
            paths = [None if not p else (p if os.path.isabs(p) else base + p) for p in raw[c]]
            out[c] = pd.Series(paths, index=out.index, dtype=object)
        for c in ("width", "height", "remixed_from"):
            out[c] = pd.array(raw[c], dtype="Int64")
        for c in ("duration", "fps"):
            out[c] = pd.array([float("nan") if v is None else float(v) for v in raw[c]], dtype="float64")
        for c in ("kept_for_remix", "deleted"):
            out[c] = pd.array([bool(v) for v in raw[c]], dtype="bool")
        return out

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
        from ._catalog import MODELS

        sora = [m.id for m in MODELS if m.is_sora]
        where = (
            f"model_id IN ({', '.join('?' for _ in sora)}) AND status = 'completed' AND kept_for_remix = 1 "
            "AND deleted = 0 AND video_id IS NOT NULL AND video_id != ''"
        )
        args: list[Any] = list(sora)
        if provider is not None:
            where += " AND provider = ?"
            args.append(provider)
        with self._reading() as (conn, _, _):
            # Asked again and again by the panel: the answer is kept until the ledger changes.
            key = ("remix_candidates", provider, as_records)
            if key not in self._memo:
                if as_records:
                    rows = conn.execute(f"SELECT * FROM generations WHERE {where} ORDER BY id DESC", args)  # noqa: S608
                    self._memo[key] = [self._record(r) for r in rows]
                else:
                    self._memo[key] = self._frame(self._fetch(conn, where, args)).iloc[::-1]
            found = self._memo[key]
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
    @staticmethod
    def _since_iso(since: dt.datetime | dt.date | dt.timedelta | str | None) -> str | None:
        if since is None:
            return None
        if isinstance(since, dt.timedelta):
            when = dt.datetime.now(dt.timezone.utc) - since
        elif isinstance(since, str):
            when = dt.datetime.fromisoformat(since)
        elif isinstance(since, dt.datetime):
            when = since
        else:
            when = dt.datetime(since.year, since.month, since.day)
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def total_spent(self, since: dt.datetime | dt.date | dt.timedelta | str | None = None) -> Decimal:
        """Exact USD spent: the sum of recorded actual costs (see the module's rules)."""
        return self._memo_sum("total_spent", "SELECT COALESCE(SUM(cost_micros), 0) FROM generations WHERE 1", since)

    def possibly_charged(self, since: dt.datetime | dt.date | dt.timedelta | str | None = None) -> Decimal:
        """Upper bound of what jobs in status ``unknown`` may have cost (their high estimates).

        Not part of :meth:`total_spent`: nobody knows whether the service created those jobs.
        Check them on fal's dashboard (the row's prompt and time identify them)."""
        sql = f"SELECT {_POSSIBLY_CHARGED} FROM generations WHERE status = 'unknown'"  # noqa: S608
        return self._memo_sum("possibly_charged", sql, since)

    def _memo_sum(self, name: str, sql: str, since: dt.datetime | dt.date | dt.timedelta | str | None) -> Decimal:
        """One money sum (``sql`` selects micro-dollars and ends in a WHERE clause), remembered
        until the ledger changes."""
        start = self._since_iso(since)
        with self._reading() as (conn, _, _):
            key = (name, start)
            if key not in self._memo:
                row = conn.execute(sql + " AND created_at >= ?", (start,)) if start else conn.execute(sql)
                self._memo[key] = from_micros(int(row.fetchone()[0]))
            total: Decimal = self._memo[key]
        return total

    _SPEND_KEYS: Mapping[str, str] = {
        "model": "model_id",
        "day": "substr(created_at, 1, 10)",
        "mode": "mode",
        "provider": "provider",
    }

    def spend(
        self,
        by: Literal["model", "day", "mode", "provider"] = "model",
        since: dt.datetime | dt.date | dt.timedelta | str | None = None,
    ) -> pd.DataFrame:
        """Spend per model, UTC day, mode or provider, summed exactly in SQL.

        Columns: ``count`` (generations in the group, any status), ``completed``, ``total``
        (exact ``Decimal`` USD) and ``total_usd`` (float64, for charts), then ``unknown`` (jobs
        whose submit outcome is unknown) with ``possibly_charged``/``possibly_charged_usd``, the
        most they may have cost (not in ``total``; see :meth:`possibly_charged`). ``since`` is a
        datetime/date (naive = UTC), an ISO string, or a timedelta back from now.
        """
        import pandas as pd

        if by not in self._SPEND_KEYS:
            raise ValueError(f"by must be one of {', '.join(self._SPEND_KEYS)}, got {by!r}")
        key = self._SPEND_KEYS[by]
        start = self._since_iso(since)
        sql = (
            f"SELECT {key} AS k, COUNT(*) AS n, SUM(status = 'completed') AS done, "  # noqa: S608
            "COALESCE(SUM(cost_micros), 0) AS micros, SUM(status = 'unknown') AS unknown, "
            f"COALESCE(SUM(CASE WHEN status = 'unknown' THEN {_UNKNOWN_UP_TO} END), 0) AS maybe FROM generations"
            + (" WHERE created_at >= ?" if start else "")
            + " GROUP BY k ORDER BY k"
        )
        with self._reading() as (conn, ledger, rev):
            memo_rev = (ledger, rev)
            # Kept until the ledger changes (the panel redraws the Spend tab often).
            memo_key = ("spend", by, start)
            cached = self._memo.get(memo_key)
            if cached is None:
                rows = conn.execute(sql, (start,) if start else ()).fetchall()
        if cached is not None:
            return cached.copy()  # type: ignore[no-any-return]
        index_name = {"model": "model_id", "day": "day"}.get(by, by)
        index: pd.Index[Any]
        if by == "day":
            index = pd.DatetimeIndex([r["k"] for r in rows], name=index_name).date  # type: ignore[assignment]
            index = pd.Index(index, name=index_name)
        else:
            index = pd.Index([r["k"] for r in rows], name=index_name, dtype="object")
        totals = [from_micros(int(r["micros"])) for r in rows]
        maybe = [from_micros(int(r["maybe"])) for r in rows]
        frame = pd.DataFrame(
            {
                "count": pd.array([int(r["n"]) for r in rows], dtype="int64"),
                "completed": pd.array([int(r["done"] or 0) for r in rows], dtype="int64"),
                "total": pd.array(totals, dtype="object"),
                "total_usd": pd.array([float(t) for t in totals], dtype="float64"),
                "unknown": pd.array([int(r["unknown"] or 0) for r in rows], dtype="int64"),
                "possibly_charged": pd.array(maybe, dtype="object"),
                "possibly_charged_usd": pd.array([float(m) for m in maybe], dtype="float64"),
            },
            index=index,
        )
        with self._lock:
            if self._memo_rev is not None and self._memo_rev == memo_rev:
                self._memo[memo_key] = frame
        return frame.copy()

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
