"""The ledger's SQL schema and how a file gets there: ``PRAGMA user_version`` = steps applied.

A step is a list of SQL statements, applied inside one ``BEGIN IMMEDIATE`` transaction, so two
processes opening a fresh file at once cannot both migrate. Append new steps; never edit an old
one: a step must mean the same on every file, forever (hence the frozen status lists and column
text below, rather than the live ones in ``_columns``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._errors import LedgerError
from ._open import damaged, translated

if TYPE_CHECKING:
    from ._connection import LedgerConnection

__all__ = ["MIGRATIONS", "migrate", "schema_version"]

log = logging.getLogger("sora2_widgets.history")


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
_STATUSES_V5 = (*_STATUSES_V3, "not_created")
_COLUMNS_V2 = (
    "id, created_at, updated_at, model_id, endpoint, mode, prompt, params_json, provider, request_id, "
    "status_url, response_url, cancel_url, status, error, est_low_micros, est_high_micros, cost_micros, "
    "video_url, local_path, sha256, thumbnail_path, width, height, duration, fps, video_id, remixed_from, "
    "kept_for_remix, deleted, lease_owner, lease_until, rev"
)
_COLUMNS_V4 = _COLUMNS_V2 + ', "user", machine'
#: What steps 2, 4 and 5 added after ``lease_until``, as table text (step 5 rebuilds the table).
_EXTRA_V5 = """,
            rev                INTEGER NOT NULL DEFAULT 0,
            "user"             TEXT    NOT NULL DEFAULT '',
            machine            TEXT    NOT NULL DEFAULT '',
            sweep              TEXT,
            sweep_key          TEXT,
            rating             INTEGER CHECK (rating BETWEEN 1 AND 5),
            notes              TEXT    NOT NULL DEFAULT '',
            tags               TEXT    NOT NULL DEFAULT '[]',
            submit_marker      TEXT,
            billable_units     REAL,
            provisional_micros INTEGER,
            billed_nanos       INTEGER,
            billed_units       REAL,
            unit_price         TEXT,
            discount_percent   REAL,
            billing_status     TEXT CHECK (billing_status IN ('pending', 'billed', 'no_event')),
            billing_checked_at TEXT"""
#: Step 5's indexes beside the old ones: a sweep's done combinations, and an unknown submit's marker.
_INDEXES_V5 = [
    'CREATE INDEX generations_user ON generations("user")',
    "CREATE INDEX generations_sweep ON generations(sweep, sweep_key) WHERE sweep IS NOT NULL",
    "CREATE INDEX generations_marker ON generations(submit_marker) WHERE submit_marker IS NOT NULL",
]

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
    # off meanwhile, see migrate), rows, ids and revisions kept. Rows an older version marked
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
    # 4: who and where (a team ledger's rows come from many people and machines; rows from before
    # say '' — nobody recorded it), and the one budget the ledger itself enforces (``set_budget``).
    # The same step as PostgreSQL's first-after-base one, so both backends hold the same facts.
    [
        """ALTER TABLE generations ADD COLUMN "user" TEXT NOT NULL DEFAULT ''""",
        "ALTER TABLE generations ADD COLUMN machine TEXT NOT NULL DEFAULT ''",
        'CREATE INDEX generations_user ON generations("user")',
        """
        CREATE TABLE ledger_budget (
            id            INTEGER PRIMARY KEY CHECK (id = 1),
            amount_micros INTEGER NOT NULL CHECK (amount_micros >= 0),
            period        TEXT    NOT NULL CHECK (period IN ('total', 'month', 'week', 'day')),
            set_at        TEXT    NOT NULL,
            set_by        TEXT    NOT NULL DEFAULT ''
        )
        """,
    ],
    # 5: experiments and cost truth. A sweep's name and combination key (a re-run skips what is
    # done), a rating, notes and tags; the marker that finds a submit whose answer was lost
    # (``submit_marker``, and the status "not_created" once fal says it never made the job); what
    # fal billed (``billable_units`` from the result's header, the provisional cost from it, and the
    # billing event's exact nano-USD, units, unit price and discount). The CHECK on status changes,
    # so the table is rebuilt as in step 3.
    [
        _generations_table("generations_v5", _STATUSES_V5, _EXTRA_V5),
        f"INSERT INTO generations_v5 ({_COLUMNS_V4}) SELECT {_COLUMNS_V4} FROM generations",  # noqa: S608
        "DELETE FROM sqlite_sequence WHERE name = 'generations_v5'",
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'generations_v5', seq FROM sqlite_sequence "
        "WHERE name = 'generations'",
        "DROP TABLE generations",
        "ALTER TABLE generations_v5 RENAME TO generations",
        *_INDEXES,
        _REV_INDEX,
        *_REV_TRIGGERS,
        *_INDEXES_V5,
    ],
]


#: The tables each schema version has; one that is missing means the file was damaged or edited.
_TABLES = {1: ("generations",), 2: ("generations", "ledger_clock", "generations_removed")}


def _check_whole(db: LedgerConnection, version: int) -> None:
    """The tables of ``version`` are there and SQLite finds no damaged page. ``quick_check`` reads
    the whole file (a few ms for thousands of rows): a broken ledger is found when it is opened,
    not half-way through a paid job."""
    have = {r[0] for r in db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = [t for t in _TABLES[min(version, 2)] if t not in have]
    if missing:
        raise damaged(db.path, f"the table {missing[0]} is missing")
    problem = db.conn.execute("PRAGMA quick_check(1)").fetchone()[0]
    if problem != "ok":
        raise damaged(db.path, str(problem))


def schema_version() -> int:
    """The schema this release writes (read at call time, so a test can append a step)."""
    return len(MIGRATIONS)


def migrate(db: LedgerConnection) -> None:
    """Bring the file up to :func:`schema_version` after checking it is whole; refuse a file from a
    newer release, and a damaged one, with a :class:`LedgerError` (the file left as it was)."""
    with db.lock, translated(db.path):
        version = db.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise LedgerError(
                db.path,
                f"The history file {db.path} was written by a newer sora2-widgets (schema {version}, this one "
                f"knows {len(MIGRATIONS)}); upgrade sora2-widgets to open it, or move the file aside.",
            )
        if version:
            _check_whole(db, version)
        if version == len(MIGRATIONS):
            return
        if db.read_only:
            raise LedgerError(
                db.path,
                f"The history file {db.path} is read-only and needs upgrading to schema {len(MIGRATIONS)} "
                f"(it has {version}); fix the permissions of the file and its folder.",
            )
        # A step may rebuild the table (step 3): its self-reference (remixed_from) must not be
        # enforced half-way. The pragma is a no-op inside a transaction, hence out here; the
        # check at the end proves no reference was broken.
        db.conn.execute("PRAGMA foreign_keys = OFF")
        try:
            with db.write() as conn:
                # Re-read inside the write lock: another process may have migrated meanwhile.
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                for step in range(version, len(MIGRATIONS)):
                    for statement in MIGRATIONS[step]:
                        conn.execute(statement)
                    log.info("history: migrated %s to schema %d", db.path, step + 1)
                broken = conn.execute("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"{db.path}: migrating broke {len(broken)} remix reference(s)")
                conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
        finally:
            db.conn.execute("PRAGMA foreign_keys = ON")
