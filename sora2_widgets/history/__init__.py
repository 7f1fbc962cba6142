"""The history: a durable ledger of every generation (SQLite, or a team's PostgreSQL), its DataFrame
view and money reports.

One idea per module:

* ``_columns``: the names — ledger, DataFrame and spend-report columns, statuses, modes, providers.
* ``_backend``: what the ledger needs of a database (one protocol; SQLite and PostgreSQL provide it).
* ``_schema``: the SQL schema and its migration steps (``PRAGMA user_version``).
* ``_postgres``, ``_pg_schema``: the team ledger on PostgreSQL and its schema.
* ``_budget``: the ledger's own budget, checked in the row's transaction.
* ``_records``: :class:`HistoryRecord`, exact money (micro-dollars), UTC times, stored parameters.
* ``_connection``: the SQLite connection, WAL, short durable transactions, the per-revision memo.
* ``_leases``: which process looks after an unfinished row.
* ``_store``: :class:`History` itself — rows in and out, media paths, deletes, exports.
* ``_notes``: ratings, notes and tags (``History.rate``, ``History.tag``); ``_resolve``:
  ``History.resolve_unknown``. ``History.reconcile`` is ``sora2_widgets._reconcile.reconcile``.
* ``_frame``: :attr:`History.df`, caught up by revision; ``_snapshot``: its file beside the ledger.
* ``_reports``: spent, possibly charged, committed, spend per model/day/mode/provider.
"""

from __future__ import annotations

from ._budget import PERIODS, TeamBudget, TeamBudgetExceededError
from ._columns import (
    ACTIVE_STATUSES,
    FRAME_COLUMNS,
    FRAME_INDEX,
    LEDGER_COLUMNS,
    MODES,
    PROVIDERS,
    SPEND_COLUMNS,
    STATUSES,
    WRITABLE_COLUMNS,
    FrameColumn,
    LedgerColumn,
    SpendColumn,
)
from ._leases import new_owner_token
from ._postgres import LedgerUnreachable, redact_url
from ._records import HistoryRecord, from_micros, scrub_params, to_micros
from ._store import History

__all__ = [
    "ACTIVE_STATUSES",
    "FRAME_COLUMNS",
    "FRAME_INDEX",
    "LEDGER_COLUMNS",
    "MODES",
    "PERIODS",
    "PROVIDERS",
    "SPEND_COLUMNS",
    "STATUSES",
    "WRITABLE_COLUMNS",
    "FrameColumn",
    "History",
    "HistoryRecord",
    "LedgerColumn",
    "LedgerUnreachable",
    "SpendColumn",
    "TeamBudget",
    "TeamBudgetExceededError",
    "from_micros",
    "new_owner_token",
    "redact_url",
    "scrub_params",
    "to_micros",
]
