"""What the emulator's Platform API knows: listed prices, each job's billed units and cost, and the
requests it ran, all derived from the catalog's price rules and the jobs on disk.

Prices: fal lists one unit price per endpoint, per second of video for these models, with
"proportional adjustments for resolution/length" (fal's pricing docs). The listed price is the
cheapest per-second rate of the catalog's rule (read through the public :class:`PriceRule`
protocol only), and a job is billed ``cost / listed price`` units, so that at the listed price its
billed cost is exactly what the catalog says the job cost. The switches of
:class:`PlatformSwitches` move the listing (a price change) or the billing (a billed price).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .._catalog import MODELS, ModelSpec
from .._pricing import Billed
from .._unit_price import catalog_unit_price
from ..catalog._billing import audio_of
from ._jobs import JobRecord, Snapshot

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = [
    "UNIT",
    "BilledJob",
    "RanJob",
    "base_unit_price",
    "billable_units",
    "billed",
    "decode_cursor",
    "encode_cursor",
    "gone_endpoints",
    "iso",
    "listed_price",
    "ran_jobs",
]

#: The billing unit of every catalog model: a second of output video.
UNIT = "seconds"
CURRENCY = "USD"
NANO = Decimal(1_000_000_000)
#: Output units are reported to six places, as fal's (e.g. 3.008).
_UNITS_PLACES = Decimal("0.000001")


def base_unit_price(spec: ModelSpec) -> Decimal:
    """The price of one second of this model's output, as the client's provisional cost reads it
    (``_unit_price``): the emulator lists and bills what the client expects, from the same rule."""
    price = catalog_unit_price(spec)
    if price is None:  # every catalog entry offers a priced choice; a test entry may not
        raise ValueError(f"{spec.id} has no duration and resolution with a price of its own")
    return price


def gone_endpoints(emu: Emulator) -> frozenset[str]:
    """Endpoints the registry no longer knows: the ``gone`` switch and the queue's retired ones."""
    return frozenset(emu.platform.gone) | emu.faults.retired


def listed_price(emu: Emulator, spec: ModelSpec) -> Decimal:
    """The unit price ``/models/pricing`` lists for ``spec`` now (a price change included)."""
    return emu.platform.price_changes.get(spec.endpoint, base_unit_price(spec))


def _job_cost(spec: ModelSpec, record: JobRecord) -> Decimal:
    # The delivered length, resolution, size and sound (a remix inherits its source's): what fal bills.
    audio = audio_of(spec.entry, record.params)
    billed = Billed(Decimal(record.duration), record.resolution, audio, record.width, record.height)
    return spec.price.cost(billed)


def billable_units(spec: ModelSpec, record: JobRecord) -> Decimal:
    """The units a successful job is billed: its cost at the listed base price, per unit."""
    return (_job_cost(spec, record) / base_unit_price(spec)).quantize(_UNITS_PLACES)


@dataclass(frozen=True)
class BilledJob:
    """One billing event: a job that completed with an output (fal never bills a 5xx or a cancel)."""

    request_id: str
    endpoint_id: str
    timestamp: float
    output_units: Decimal
    unit_price: Decimal
    cost_total: Decimal

    def to_json(self) -> dict[str, Any]:
        nano = (self.cost_total * NANO).to_integral_value()
        return {
            "request_id": self.request_id,
            "endpoint_id": self.endpoint_id,
            "timestamp": iso(self.timestamp),
            "output_units": float(self.output_units),
            "unit_price": float(self.unit_price),
            "percent_discount": None,
            "cost_subtotal": float(self.cost_total),
            "cost_discount": 0,
            "cost_total": float(self.cost_total),
            "cost_estimate_nano_usd": int(nano),
        }


@dataclass(frozen=True)
class RanJob:
    """A job the emulator accepted, where it stands now."""

    spec: ModelSpec
    record: JobRecord
    snap: Snapshot


def ran_jobs(emu: Emulator) -> Iterator[RanJob]:
    """Every job on disk (this process's and earlier ones sharing the state directory)."""
    for path in sorted(emu.store.jobs_dir.glob("*.json")):
        record = emu.load(path.stem)
        spec = emu.spec_for(record.endpoint) if record is not None else None
        if record is None or spec is None:
            continue
        yield RanJob(spec, record, emu.snapshot(record))


def billed(emu: Emulator, job: RanJob, now: float | None = None) -> BilledJob | None:
    """The billing event of ``job`` if it has one yet (after the ``billing_lag``), else ``None``."""
    snap = job.snap
    if snap.status != "COMPLETED" or snap.error is not None or snap.completed_at is None:
        return None
    now = time.time() if now is None else now
    if now < snap.completed_at + emu.platform.billing_lag:
        return None
    spec = job.spec
    base = base_unit_price(spec)
    price = emu.platform.billed_prices.get(spec.endpoint, listed_price(emu, spec))
    cost = emu.platform.billed_costs.get(job.record.request_id, _job_cost(spec, job.record) * price / base)
    return BilledJob(
        request_id=job.record.request_id,
        endpoint_id=spec.endpoint,
        timestamp=snap.completed_at,
        output_units=billable_units(spec, job.record),
        unit_price=price,
        cost_total=cost.quantize(Decimal("1e-9")),
    )


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def encode_cursor(offset: int) -> str:
    """An opaque cursor (fal's encode a page number or a time in base64; ours an offset)."""
    return base64.b64encode(str(offset).encode()).decode()


def decode_cursor(cursor: str | None) -> int | None:
    """The offset a cursor stands for; ``None`` when it is not one of ours."""
    if cursor is None:
        return 0
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        return None
    return int(text) if text.isdigit() else None


CATALOG: tuple[ModelSpec, ...] = MODELS
