"""One ledger row as Python sees it: :class:`HistoryRecord`, exact money, UTC time, stored parameters.

* Money is stored exactly, as integer micro-dollars (``*_micros``), never as a float; a record
  carries it as ``Decimal`` USD.
* Times are fixed-width ISO-8601 UTC text (``2026-01-02T03:04:05.000006Z``): they sort as text,
  read in any SQLite tool and parse fast in pandas.
* No secret is ever written: parameters come from ``ModelInput.public_params()``, and large
  ``data:`` URIs (local images) are replaced by a short description with their sha256.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import numbers
from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any, Final

from ._columns import ACTIVE_STATUSES

__all__ = [
    "ISO_FORMAT",
    "NANOS_PER_USD",
    "HistoryRecord",
    "from_micros",
    "from_nanos",
    "load_path",
    "now_iso",
    "opt_money",
    "parse_iso",
    "record_from_row",
    "row_id",
    "scrub_params",
    "to_micros",
]

#: How the ledger writes a time (always UTC).
ISO_FORMAT: Final = "%Y-%m-%dT%H:%M:%S.%fZ"

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


def opt_money(micros: int | None) -> Decimal | None:
    return None if micros is None else from_micros(micros)


#: fal's billing events carry their exact cost in nano-USD (``cost_estimate_nano_usd``).
NANOS_PER_USD: Final = Decimal(1_000_000_000)


def from_nanos(nanos: int) -> Decimal:
    """Integer nano-dollars → exact USD ``Decimal`` (``45000000`` → ``Decimal("0.045")``)."""
    value = Decimal(nanos) / NANOS_PER_USD
    return value.normalize() if value != 0 else Decimal(0)


def row_id(value: object) -> int:
    """A row id as given, or one sentence naming ``history_id``: never ``int("abc")``'s words, and
    never a bool or a float read as a row (``True`` is no row 1)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):  # numpy's ints from .df too
        return int(value)
    raise ValueError(f"history_id must be a whole number (the id column of the history), got {value!r:.60}")


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime(ISO_FORMAT)


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, ISO_FORMAT).replace(tzinfo=dt.timezone.utc)


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


def load_path(stored: str | None, folder: Path) -> Path | None:
    """A stored media path as a ``Path``: relative ones are under the ledger's ``folder``."""
    if not stored:
        return None
    p = Path(stored)
    return p if p.is_absolute() else folder / p


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
    #: Who generated it (``SORA2_WIDGETS_USER`` or the login) and on which machine ('' before 0.2).
    user: str = ""
    machine: str = ""
    #: The sweep this generation belongs to and its combination's key (``None`` outside a sweep).
    sweep: str | None = None
    sweep_key: str | None = None
    #: The user's 1–5 stars (``None`` = not rated), notes and tags (``History.rate`` / ``History.tag``).
    rating: int | None = None
    notes: str = ""
    tags: tuple[str, ...] = ()
    #: A unique value sent with the submit, so a submit whose answer was lost can be found in fal's
    #: request list (``None`` where the model has no free field to carry it).
    submit_marker: str | None = None
    #: ``x-fal-billable-units`` from the result fetch, and the provisional cost it gives (units × unit price).
    billable_units: float | None = None
    provisional_cost: Decimal | None = None
    #: What fal's billing event says: the exact cost (from nano-USD), units, unit price and discount.
    billed_cost: Decimal | None = None
    billed_units: float | None = None
    unit_price: Decimal | None = None
    discount_percent: float | None = None
    #: ``None`` (not checked), "pending", "billed" or "no_event"; and when it was last checked.
    billing_status: str | None = None
    billing_checked_at: dt.datetime | None = None

    @property
    def is_active(self) -> bool:
        """The job may still be running on the service."""
        return self.status in ACTIVE_STATUSES

    @property
    def remixable(self) -> bool:
        """Sora, completed, kept on the service, not deleted here, with a ``video_id``."""
        from .._catalog import get_model

        try:
            sora = get_model(self.model_id).is_sora
        except KeyError:
            sora = False
        return sora and self.status == "completed" and self.kept_for_remix and not self.deleted and bool(self.video_id)


def record_from_row(r: Any, folder: Path) -> HistoryRecord:
    """The record of one ``SELECT * FROM generations`` row of the ledger in ``folder``."""
    return HistoryRecord(
        id=int(r["id"]),
        created_at=parse_iso(r["created_at"]),
        updated_at=parse_iso(r["updated_at"]),
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
        estimate_low=opt_money(r["est_low_micros"]),
        estimate_high=opt_money(r["est_high_micros"]),
        cost=opt_money(r["cost_micros"]),
        video_url=r["video_url"],
        local_path=load_path(r["local_path"], folder),
        sha256=r["sha256"],
        thumbnail_path=load_path(r["thumbnail_path"], folder),
        width=r["width"],
        height=r["height"],
        duration=r["duration"],
        fps=r["fps"],
        video_id=r["video_id"],
        remixed_from=r["remixed_from"],
        kept_for_remix=bool(r["kept_for_remix"]),
        deleted=bool(r["deleted"]),
        user=r["user"],
        machine=r["machine"],
        sweep=r["sweep"],
        sweep_key=r["sweep_key"],
        rating=r["rating"],
        notes=r["notes"],
        tags=tuple(json.loads(r["tags"] or "[]")),
        submit_marker=r["submit_marker"],
        billable_units=r["billable_units"],
        provisional_cost=opt_money(r["provisional_micros"]),
        billed_cost=None if r["billed_nanos"] is None else from_nanos(int(r["billed_nanos"])),
        billed_units=r["billed_units"],
        unit_price=None if r["unit_price"] is None else Decimal(r["unit_price"]),
        discount_percent=r["discount_percent"],
        billing_status=r["billing_status"],
        billing_checked_at=None if r["billing_checked_at"] is None else parse_iso(r["billing_checked_at"]),
    )
