"""The Platform API's answers as typed values, read exactly as fal's OpenAPI document shapes them.

Wire models (``_Wire*``) mirror the spec's response schemas: required fields are required, extra
fields are ignored (fal adds fields over time, research §9). The public values hold money as exact
``Decimal``: a billing event's cost comes from ``cost_estimate_nano_usd``, an integer of nano-USD.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "BillingEvent",
    "Estimate",
    "ModelInfo",
    "ModelStatus",
    "Price",
    "Pricing",
    "RequestRecord",
    "UsageLine",
    "billing_event_of",
    "model_info_of",
    "price_of",
    "request_record_of",
    "usage_line_of",
]

ModelStatus = Literal["active", "deprecated", "gone"]
NANO = Decimal(1_000_000_000)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Page(_Wire):
    next_cursor: str | None = None
    has_more: bool


class _Metadata(_Wire):
    display_name: str
    category: str
    description: str
    status: Literal["active", "deprecated"]


class _Model(_Wire):
    endpoint_id: str
    metadata: _Metadata | None = None
    openapi: dict[str, Any] | None = None


class ModelsPage(_Page):
    models: list[_Model]


class _Price(_Wire):
    endpoint_id: str
    unit_price: Decimal
    unit: str
    currency: str


class PricesPage(_Page):
    prices: list[_Price]


class EstimateAnswer(_Wire):
    estimate_type: Literal["historical_api_price", "unit_price"]
    total_cost: Decimal
    currency: str


class _UsageLine(_Wire):
    endpoint_id: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    percent_discount: Decimal | None
    cost_total: Decimal | None = None
    # Deprecated by fal (2026-07-21) in favour of cost_total; older answers have only this.
    cost: Decimal | None = None
    currency: str


class _Bucket(_Wire):
    bucket: str
    results: list[_UsageLine]


class UsagePage(_Page):
    time_series: list[_Bucket] | None = None
    summary: list[_UsageLine] | None = None


class _BillingEvent(_Wire):
    request_id: str
    endpoint_id: str
    timestamp: datetime
    output_units: Decimal | None
    unit_price: Decimal | None
    percent_discount: Decimal | None
    # A "number" in fal's spec: read as Decimal, so a whole count of nano-USD stays exact.
    cost_estimate_nano_usd: Decimal


class BillingPage(_Page):
    billing_events: list[_BillingEvent]


class _Request(_Wire):
    request_id: str
    endpoint_id: str
    started_at: datetime
    sent_at: datetime
    ended_at: datetime | None = None
    status_code: int | None = None
    duration: float | None = None
    json_input: Any = None
    json_output: Any = None


class RequestsPage(_Page):
    items: list[_Request]


# -- public values --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelInfo:
    """One endpoint in fal's registry: ``status`` is ``"gone"`` when the registry no longer knows it."""

    endpoint_id: str
    status: ModelStatus
    display_name: str | None = None
    category: str | None = None
    #: The endpoint's queue OpenAPI document (``expand=openapi-3.0``), if asked for and given.
    openapi: dict[str, Any] | None = None
    #: Why fal could not give the document (its per-item ``{"error": {code, message}}``).
    openapi_error: str | None = None


@dataclass(frozen=True)
class Price:
    """A listed unit price. ``unit`` is fal's label, kept verbatim (it is free-form on fal)."""

    endpoint_id: str
    unit_price: Decimal
    unit: str
    currency: str


@dataclass(frozen=True)
class Pricing:
    """Prices for the endpoints asked: listed ones, ones fal lists no price for, ones it refused."""

    prices: dict[str, Price]
    unlisted: tuple[str, ...]
    refused: tuple[str, ...]


@dataclass(frozen=True)
class Estimate:
    estimate_type: Literal["historical_api_price", "unit_price"]
    total_cost: Decimal
    currency: str


@dataclass(frozen=True)
class UsageLine:
    """Billed usage of one endpoint at one unit price, in one time bucket (``None`` in a summary)."""

    bucket: str | None
    endpoint_id: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    percent_discount: Decimal | None
    cost_total: Decimal
    currency: str


@dataclass(frozen=True)
class BillingEvent:
    """What fal billed for one request. ``billed_cost`` is exact: nano-USD as an integer, / 10⁹."""

    request_id: str
    endpoint_id: str
    timestamp: datetime
    output_units: Decimal | None
    unit_price: Decimal | None
    percent_discount: Decimal | None
    cost_nano_usd: Decimal

    @property
    def billed_cost(self) -> Decimal:
        return self.cost_nano_usd / NANO


@dataclass(frozen=True)
class RequestRecord:
    """One request in fal's history; ``json_input``/``json_output`` only when payloads were asked."""

    request_id: str
    endpoint_id: str
    started_at: datetime
    sent_at: datetime
    ended_at: datetime | None
    status_code: int | None
    duration: float | None
    json_input: Any
    json_output: Any


def model_info_of(item: _Model) -> ModelInfo:
    if item.metadata is None:
        return ModelInfo(item.endpoint_id, "gone")
    doc, why = item.openapi, None
    if doc is not None and "openapi" not in doc:
        err = doc.get("error")
        why = str(err.get("message") or err.get("code")) if isinstance(err, dict) else "no document"
        doc = None
    meta = item.metadata
    return ModelInfo(item.endpoint_id, meta.status, meta.display_name, meta.category, doc, why)


def price_of(item: _Price) -> Price:
    return Price(item.endpoint_id, item.unit_price, item.unit, item.currency)


def usage_line_of(item: _UsageLine, bucket: str | None) -> UsageLine:
    total = item.cost_total if item.cost_total is not None else item.cost
    if total is None:
        raise ValueError("a usage line without cost_total or cost")
    return UsageLine(
        bucket, item.endpoint_id, item.unit, item.quantity, item.unit_price, item.percent_discount, total, item.currency
    )


def billing_event_of(item: _BillingEvent) -> BillingEvent:
    return BillingEvent(
        item.request_id,
        item.endpoint_id,
        item.timestamp,
        item.output_units,
        item.unit_price,
        item.percent_discount,
        item.cost_estimate_nano_usd,
    )


def request_record_of(item: _Request) -> RequestRecord:
    return RequestRecord(
        item.request_id,
        item.endpoint_id,
        item.started_at,
        item.sent_at,
        item.ended_at,
        item.status_code,
        item.duration,
        item.json_input,
        item.json_output,
    )
