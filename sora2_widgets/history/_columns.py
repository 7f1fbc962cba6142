"""The ledger's vocabulary: column names, statuses, modes and providers, typed, in one place.

Other layers (the panel, the CLI, notebooks) import these names instead of spelling column names
themselves; the tests check them against the SQLite table and against :attr:`History.df`, so a
renamed or added column fails there first. Changing a column means a migration step in
``_schema`` plus the frame built in ``_frame`` — and these lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal, get_args

__all__ = [
    "ACTIVE_STATUSES",
    "BILLING_STATUSES",
    "FRAME_COLUMNS",
    "FRAME_INDEX",
    "LEDGER_COLUMNS",
    "MODES",
    "PROVIDERS",
    "SHOWN_COLUMNS",
    "SPEND_COLUMNS",
    "STATUSES",
    "WRITABLE_COLUMNS",
    "FrameColumn",
    "LedgerColumn",
    "SpendColumn",
    "check_writable",
    "quoted",
]

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
    # An "unknown" submit that fal's request list shows it never created: nothing was charged.
    "not_created",
)
#: What a billing check found: an event is awaited, the event's cost is stored, or none came in time.
BILLING_STATUSES: tuple[str, ...] = ("pending", "billed", "no_event")
#: Rows in these states have (or may have) a job running on the service: resume them.
ACTIVE_STATUSES: tuple[str, ...] = ("submitted", "in_queue", "in_progress")
PROVIDERS: tuple[str, ...] = ("fal", "emulator")
MODES: tuple[str, ...] = ("text", "image", "remix")

#: A column of the SQLite table ``generations``, in table order.
LedgerColumn = Literal[
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
    "lease_owner",
    "lease_until",
    "rev",
    "user",
    "machine",
    "sweep",
    "sweep_key",
    "rating",
    "notes",
    "tags",
    "submit_marker",
    "billable_units",
    "provisional_micros",
    "billed_nanos",
    "billed_units",
    "unit_price",
    "discount_percent",
    "billing_status",
    "billing_checked_at",
]
LEDGER_COLUMNS: Final[tuple[LedgerColumn, ...]] = get_args(LedgerColumn)

#: Bookkeeping a DataFrame leaves out: who looks after a row, and its revision.
_BOOKKEEPING: Final = frozenset({"lease_owner", "lease_until", "rev", "submit_marker"})
#: The ledger columns a DataFrame is built from, in table order.
SHOWN_COLUMNS: Final[tuple[LedgerColumn, ...]] = tuple(c for c in LEDGER_COLUMNS if c not in _BOOKKEEPING)
#: Columns a caller may set through ``History.add`` / ``History.update`` (the rest are the ledger's).
WRITABLE_COLUMNS: Final[frozenset[str]] = frozenset(LEDGER_COLUMNS) - {"id", "created_at", "updated_at", "rev"}


def check_writable(fields: Iterable[str], *, also: frozenset[str] = frozenset()) -> None:
    """``TypeError`` naming each of ``fields`` that is not a writable column (nor in ``also``)."""
    bad = set(fields) - WRITABLE_COLUMNS - also
    if bad:
        raise TypeError(f"unknown history columns: {', '.join(sorted(bad))}")


def quoted(column: str) -> str:
    """A column name quoted: ``user`` is a reserved word in PostgreSQL."""
    return f'"{column}"'


#: The name of :attr:`History.df`'s index (the row id).
FRAME_INDEX: Final = "id"
#: A column of :attr:`History.df`, in the frame's order. ``params`` holds the parsed ``params_json``;
#: each ``*_micros`` money column (exact, nullable Int64) has a float64 ``*_usd`` twin for charts.
FrameColumn = Literal[
    "created_at",
    "updated_at",
    "model_id",
    "mode",
    "status",
    "provider",
    "endpoint",
    "prompt",
    "params",
    "est_low_micros",
    "est_low_usd",
    "est_high_micros",
    "est_high_usd",
    "cost_micros",
    "cost_usd",
    "error",
    "request_id",
    "status_url",
    "response_url",
    "cancel_url",
    "video_url",
    "video_id",
    "sha256",
    "local_path",
    "thumbnail_path",
    "width",
    "height",
    "remixed_from",
    "duration",
    "fps",
    "kept_for_remix",
    "deleted",
    "user",
    "machine",
    "sweep",
    "sweep_key",
    "rating",
    "notes",
    "tags",
    "billable_units",
    "provisional_micros",
    "provisional_usd",
    "billed_nanos",
    "billed_usd",
    "billed_units",
    "unit_price",
    "discount_percent",
    "billing_status",
    "billing_checked_at",
]
FRAME_COLUMNS: Final[tuple[FrameColumn, ...]] = get_args(FrameColumn)

#: A column of :meth:`History.spend`'s frame, in order. ``total`` (the ledger's estimate of what was
#: spent), ``possibly_charged``, ``provisional`` (fal's billable units × unit price), ``billed`` (fal's
#: billing events, over ``billed_count`` rows) and ``difference`` (billed − estimated, over the rows
#: billed) are exact ``Decimal`` USD, ``None`` when unknown; the ``*_usd`` twins are float64 for charts.
SpendColumn = Literal[
    "count",
    "completed",
    "total",
    "total_usd",
    "unknown",
    "possibly_charged",
    "possibly_charged_usd",
    "provisional",
    "provisional_usd",
    "billed",
    "billed_usd",
    "billed_count",
    "difference",
    "difference_usd",
]
SPEND_COLUMNS: Final[tuple[SpendColumn, ...]] = get_args(SpendColumn)
