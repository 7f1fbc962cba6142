"""fal's Platform API (``https://api.fal.ai/v1``), offline, under ``/v1`` on every emulator host.

* ``GET /v1/models``: list, find (``endpoint_id``, 1–50) or search; ``expand=openapi-3.0`` (at most
  10 per page, as fal caps it); a gone endpoint found by id has no ``metadata``.
* ``GET /v1/models/pricing``: 1–50 ids; an id that is not an endpoint id fails the whole batch
  (400), an id without a price is left out, as on fal.
* ``POST /v1/models/pricing/estimate``: ``unit_price`` or ``historical_api_price``; a total only.
* ``GET /v1/models/usage`` and ``GET /v1/models/billing-events``: ADMIN scope (403 otherwise).
* ``GET /v1/models/requests/by-endpoint``: the jobs that have started, ``expand=payloads``.

Errors are fal's Platform shape ``{"error": {"type", "message"}}``, never the queue's ``{"detail"}``.
Shapes, parameters and limits follow fal's OpenAPI document (tests/platform check every answer).
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._http import base
from ._platform_catalog import CATEGORIES, metadata, openapi_document
from ._platform_data import (
    CURRENCY,
    UNIT,
    BilledJob,
    RanJob,
    billed,
    decode_cursor,
    encode_cursor,
    gone_endpoints,
    iso,
    listed_price,
    ran_jobs,
)
from ._wire import result_body

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["PLATFORM_PREFIX", "platform_routes"]

PLATFORM_PREFIX = "/v1"
MAX_IDS = 50
MAX_WITH_OPENAPI = 10
_ENDPOINT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9._-]+)+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DAY = timedelta(days=1)


class Refused(Exception):
    """A request the Platform API refuses: its status, fal's error ``type`` and one sentence."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


def error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


def _bad(message: str) -> Refused:
    return Refused(400, "validation_error", message)


# -- query parameters ---------------------------------------------------------------------------
def _ids(request: Request, name: str, *, required: bool) -> list[str]:
    """``?name=a,b`` or ``?name=a&name=b`` (fal takes both), 1–50 of them, in order, once each."""
    found: list[str] = []
    for raw in request.query_params.getlist(name):
        found.extend(part.strip() for part in raw.split(",") if part.strip())
    unique = list(dict.fromkeys(found))
    if required and not unique:
        raise _bad(f"{name} is required: give 1-{MAX_IDS} IDs")
    if len(unique) > MAX_IDS:
        raise _bad(f"{name} accepts 1-{MAX_IDS} IDs, got {len(unique)}")
    return unique


def _choice(request: Request, name: str, allowed: Sequence[str]) -> str | None:
    value = request.query_params.get(name)
    if value is not None and value not in allowed:
        raise _bad(f"{name} must be one of {', '.join(allowed)}")
    return value


def _expand(request: Request, allowed: Sequence[str], default: Sequence[str] = ()) -> set[str]:
    values = _ids(request, "expand", required=False) or list(default)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise _bad(f"expand must be among {', '.join(allowed)}, got {unknown[0][:40]!r}")
    return set(values)


def _limit(request: Request, default: int, maximum: int) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise _bad(f"limit must be an integer from 1 to {maximum}")
    return int(raw)


def _offset(request: Request) -> int:
    offset = decode_cursor(request.query_params.get("cursor"))
    if offset is None:
        raise _bad("cursor is not a cursor from a previous response")
    return offset


def _when(request: Request, name: str, default: float) -> float:
    """``start``/``end``: an ISO 8601 date-time or a date (UTC when it has no offset)."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            moment = datetime.combine(date.fromisoformat(raw), datetime.min.time())
        else:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"{name} must be an ISO 8601 date-time or date (2025-01-01T00:00:00Z or 2025-01-01)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _window(request: Request, *, default_days: float = 1.0, max_days: float | None = None) -> tuple[float, float]:
    now = time.time()
    end = _when(request, "end", now)
    start = _when(request, "start", now - default_days * 86400)
    if start >= end:
        raise _bad("start must be before end (end is exclusive)")
    if max_days is not None and end - start > max_days * 86400:
        raise _bad(f"the date range is capped at {max_days:g} days per request")
    return start, end


def _page(items: list[Any], offset: int, limit: int) -> tuple[list[Any], dict[str, Any]]:
    page = items[offset : offset + limit]
    more = offset + limit < len(items)
    return page, {"next_cursor": encode_cursor(offset + limit) if more else None, "has_more": more}


def _money(amount: Decimal) -> float:
    return float(amount)


# -- routes ---------------------------------------------------------------------------------------
def platform_routes(emu: Emulator) -> list[Route]:
    """The Platform API's routes; registered before the queue's catch-all routes."""

    def key_of(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        return header[4:] if header.startswith("Key ") and header[4:] else None

    def api_denied(request: Request) -> Response | None:
        header = request.headers.get("authorization")
        admins = emu.platform.admin_keys or frozenset()
        if emu.key_ok(header) or key_of(request) in admins:
            return None
        return error(401, "authorization_error", "Authentication required: send 'Authorization: Key <FAL_KEY>'.")

    def admin_denied(request: Request) -> Response | None:
        key = key_of(request)
        header = request.headers.get("authorization")
        admins = emu.platform.admin_keys
        if admins is None:
            # No admin keys configured: every key the queue takes is an admin key (none at all too, when
            # the queue wants none: the in-process default client has no key to send).
            return None if emu.key_ok(header) else error(401, "authorization_error", "Invalid API key.")
        if key in admins:
            return None
        if emu.key_ok(header):
            return error(403, "authorization_error", "Access denied: this endpoint requires an ADMIN-scope API key.")
        if key is None:
            return error(401, "authorization_error", "Authentication required: send 'Authorization: Key <ADMIN_KEY>'.")
        return error(401, "authorization_error", "Invalid API key.")

    def guarded(
        handler: Callable[[Request], Any], check: Callable[[Request], Response | None] | None
    ) -> Callable[[Request], Any]:
        async def route(request: Request) -> Response:
            emu.count("platform")
            if check is not None and (denied := check(request)) is not None:
                return denied
            try:
                return JSONResponse(await handler(request))
            except Refused as exc:
                return error(exc.status, exc.kind, exc.message)

        return route

    def specs_known() -> dict[str, Any]:
        gone = gone_endpoints(emu)
        return {ep: spec for ep in _catalog_endpoints(emu) if ep not in gone for spec in [emu.spec_for(ep)]}

    async def models(request: Request) -> dict[str, Any]:
        # Auth is optional on /models (a key only raises rate limits): no key check.
        ids = _ids(request, "endpoint_id", required=False)
        expand = _expand(request, ("openapi-3.0", "enterprise_status"))
        status = _choice(request, "status", ("active", "deprecated"))
        with_openapi = "openapi-3.0" in expand
        maximum = MAX_WITH_OPENAPI if with_openapi else 1000
        limit = _limit(request, min(50, maximum), maximum)
        offset = _offset(request)
        q = (request.query_params.get("q") or "").strip().lower()
        category = request.query_params.get("category")
        known = specs_known()

        def wanted(spec: Any) -> bool:
            listed_status = "deprecated" if spec.endpoint in emu.platform.deprecated else "active"
            text = f"{spec.name} {spec.description} {CATEGORIES[spec.mode]}".lower()
            return (
                (status is None or status == listed_status)
                and (category is None or category == CATEGORIES[spec.mode])
                and (not q or q in text)
            )

        entries: list[dict[str, Any]] = []
        for ep in ids or list(known):
            spec = known.get(ep)
            if spec is None:
                if ids and status is None and category is None and not q:
                    entries.append({"endpoint_id": ep})  # found by id, unknown to the registry: no metadata
                continue
            if not wanted(spec):
                continue
            entry: dict[str, Any] = {
                "endpoint_id": ep,
                "metadata": metadata(spec, deprecated=ep in emu.platform.deprecated),
            }
            if with_openapi:
                entry["openapi"] = openapi_document(spec, emu.platform.enum_changes.get(ep))
            if "enterprise_status" in expand:
                entry["enterprise_status"] = "ready"
            entries.append(entry)
        page, cursor = _page(entries, offset, limit)
        return {"models": page, **cursor}

    async def pricing(request: Request) -> dict[str, Any]:
        ids = _ids(request, "endpoint_id", required=True)
        for ep in ids:
            if not _ENDPOINT_ID.fullmatch(ep):
                raise _bad(f"endpoint_id {ep[:60]!r} is not an endpoint id (owner/app[/path])")
        known = specs_known()
        prices = [
            {"endpoint_id": ep, "unit_price": _money(listed_price(emu, known[ep])), "unit": UNIT, "currency": CURRENCY}
            for ep in ids
            if ep in known
        ]
        return {"prices": prices, "next_cursor": None, "has_more": False}

    async def estimate(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            raise _bad("the body must be JSON: {estimate_type, endpoints}") from None
        kind = body.get("estimate_type") if isinstance(body, dict) else None
        field = {"historical_api_price": "call_quantity", "unit_price": "unit_quantity"}.get(str(kind))
        if field is None:
            raise _bad("estimate_type must be one of historical_api_price, unit_price")
        endpoints = body.get("endpoints")
        if not isinstance(endpoints, dict) or not endpoints:
            raise _bad("endpoints must be an object mapping endpoint ids to quantities")
        known = specs_known()
        jobs = list(ran_jobs(emu)) if kind == "historical_api_price" else []
        total = Decimal(0)
        for ep, item in endpoints.items():
            qty = item.get(field) if isinstance(item, dict) else None
            numeric = (int,) if field == "call_quantity" else (int, float)
            if isinstance(qty, bool) or not isinstance(qty, numeric):
                raise _bad(f"endpoints[{ep[:60]!r}].{field} must be a number")
            if qty < (1 if field == "call_quantity" else 0.000001):
                raise _bad(f"endpoints[{ep[:60]!r}].{field} is below its minimum")
            spec = known.get(ep)
            if spec is None:
                raise Refused(404, "not_found", f"Endpoint {ep[:60]!r} not found")
            if kind == "unit_price":
                total += listed_price(emu, spec) * Decimal(repr(qty))
            else:
                costs = [b.cost_total for j in jobs if j.spec is spec and (b := billed(emu, j)) is not None]
                # An endpoint with no history has no per-call price: fal answers 0 then.
                total += (sum(costs, Decimal(0)) / len(costs)) * Decimal(qty) if costs else Decimal(0)
        return {"estimate_type": kind, "total_cost": _money(total), "currency": CURRENCY}

    def events(request: Request, start: float, end: float) -> list[BilledJob]:
        endpoints = set(_ids(request, "endpoint_id", required=False))
        out = [
            b
            for job in ran_jobs(emu)
            if (b := billed(emu, job)) is not None
            and start <= b.timestamp < end
            and (not endpoints or b.endpoint_id in endpoints)
        ]
        return sorted(out, key=lambda b: (-b.timestamp, b.request_id))

    async def billing_events(request: Request) -> dict[str, Any]:
        request_ids = set(_ids(request, "request_id", required=False))
        _expand(request, ("auth_method", "auth_method_structured"))
        limit = _limit(request, 1000, 10000)
        offset = _offset(request)
        start, end = _window(request, max_days=90)
        found = [b for b in events(request, start, end) if not request_ids or b.request_id in request_ids]
        page, cursor = _page([b.to_json() for b in found], offset, limit)
        return {"billing_events": page, **cursor}

    async def usage(request: Request) -> dict[str, Any]:
        expand = _expand(
            request, ("time_series", "summary", "auth_method", "auth_method_structured"), default=("time_series",)
        )
        if not expand & {"time_series", "summary"}:
            raise _bad("expand must include at least one of 'time_series' or 'summary'")
        timeframe = _choice(request, "timeframe", ("minute", "hour", "day", "week", "month"))
        _choice(request, "bound_to_timeframe", ("true", "false"))
        try:
            zone = ZoneInfo(request.query_params.get("timezone", "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            raise _bad("timezone must be an IANA time zone name such as UTC or Europe/Paris") from None
        limit = _limit(request, 1000, 10000)
        offset = _offset(request)
        start, end = _window(request)
        found = events(request, start, end)
        frame = timeframe or _auto_timeframe(end - start)
        out: dict[str, Any] = {}
        if "time_series" in expand:
            buckets: dict[str, list[BilledJob]] = defaultdict(list)
            for b in sorted(found, key=lambda b: b.timestamp):
                buckets[_bucket(b.timestamp, frame, zone)].append(b)
            series = [{"bucket": key, "results": _usage_lines(items)} for key, items in buckets.items()]
            page, cursor = _page(series, offset, limit)
            out["time_series"] = page
        else:
            cursor = {"next_cursor": None, "has_more": False}
        if "summary" in expand:
            out["summary"] = _usage_lines(found)
        return {**out, **cursor}

    async def by_endpoint(request: Request) -> dict[str, Any]:
        endpoints = _ids(request, "endpoint_id", required=True)
        limit = _limit(request, 50, 100)
        offset = _offset(request)
        status = _choice(request, "status", ("success", "error", "user_error"))
        sort_by = _choice(request, "sort_by", ("ended_at", "duration")) or "ended_at"
        request_id = request.query_params.get("request_id")
        if request_id is not None and not _UUID.fullmatch(request_id):
            raise _bad("request_id must be a single request id (a UUID)")
        payloads = "payloads" in _expand(request, ("payloads",))
        # With a request id, fal widens the default window to 90 days.
        start, end = _window(request, default_days=90 if request_id else 1)
        now = time.time()
        url = base(request)
        items = []
        for job in ran_jobs(emu):
            record = job.record
            # A request still waiting in the queue is not listed yet (fal's history shows it once it runs).
            if record.endpoint not in endpoints or now < record.started_at:
                continue
            if not start <= record.submitted_at < end or (request_id and record.request_id != request_id.lower()):
                continue
            item = _request_item(job, url, payloads)
            if status is not None and _status_class(item["status_code"]) != status:
                continue
            items.append(item)
        if sort_by == "duration":
            items.sort(key=lambda i: (i["duration"] is not None, i["duration"] or 0.0), reverse=True)
        else:
            items.sort(key=lambda i: (i["ended_at"] is None, i["ended_at"] or ""), reverse=True)
        page, cursor = _page(items, offset, limit)
        return {"items": page, **cursor}

    p = PLATFORM_PREFIX
    return [
        Route(f"{p}/models", guarded(models, None), methods=["GET"]),
        Route(f"{p}/models/pricing", guarded(pricing, api_denied), methods=["GET"]),
        Route(f"{p}/models/pricing/estimate", guarded(estimate, api_denied), methods=["POST"]),
        Route(f"{p}/models/usage", guarded(usage, admin_denied), methods=["GET"]),
        Route(f"{p}/models/billing-events", guarded(billing_events, admin_denied), methods=["GET"]),
        Route(f"{p}/models/requests/by-endpoint", guarded(by_endpoint, api_denied), methods=["GET"]),
    ]


def _catalog_endpoints(emu: Emulator) -> list[str]:
    from .._catalog import MODELS

    return [m.endpoint for m in MODELS if emu.spec_for(m.endpoint) is not None]


def _auto_timeframe(span: float) -> str:
    # fal's auto-detection: minute (<2h), hour (<2d), day (<64d), week (<183d), month.
    hours = span / 3600
    if hours < 2:
        return "minute"
    if hours < 48:
        return "hour"
    if hours < 64 * 24:
        return "day"
    return "week" if hours < 183 * 24 else "month"


def _bucket(at: float, frame: str, zone: ZoneInfo) -> str:
    local = datetime.fromtimestamp(at, tz=zone)
    if frame == "minute":
        start = local.replace(second=0, microsecond=0)
    elif frame == "hour":
        start = local.replace(minute=0, second=0, microsecond=0)
    else:
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if frame == "week":
            start -= timedelta(days=start.weekday())
        elif frame == "month":
            start = start.replace(day=1)
    return start.isoformat()


def _usage_lines(found: Sequence[BilledJob]) -> list[dict[str, Any]]:
    # One line per (endpoint, unit, unit price, discount), as fal groups them.
    groups: dict[tuple[str, Decimal], list[BilledJob]] = defaultdict(list)
    for b in found:
        groups[(b.endpoint_id, b.unit_price)].append(b)
    lines = []
    for (endpoint, price), items in sorted(groups.items()):
        cost = sum((b.cost_total for b in items), Decimal(0))
        lines.append(
            {
                "endpoint_id": endpoint,
                "unit": UNIT,
                "quantity": float(sum((b.output_units for b in items), Decimal(0))),
                "unit_price": float(price),
                "percent_discount": None,
                "cost_subtotal": float(cost),
                "cost_discount": 0,
                "cost_total": float(cost),
                "cost": float(cost),
                "currency": CURRENCY,
            }
        )
    return lines


def _request_item(job: RanJob, url: str, payloads: bool) -> dict[str, Any]:
    record, snap = job.record, job.snap
    ended = snap.completed_at if snap.status == "COMPLETED" else None
    code: int | None = None
    if ended is not None:
        code = snap.error.status_code if snap.error is not None else 200
    item: dict[str, Any] = {
        "request_id": record.request_id,
        "endpoint_id": record.endpoint,
        "started_at": iso(record.started_at),
        "sent_at": iso(record.submitted_at),
        "ended_at": iso(ended) if ended is not None else None,
        "status_code": code,
        "duration": round(ended - record.started_at, 3) if ended is not None else None,
    }
    if payloads:
        item["json_input"] = record.params
        if ended is None:
            item["json_output"] = None
        elif snap.error is not None:
            item["json_output"] = snap.error.body()
        else:
            item["json_output"] = result_body(record, url)
    return item


def _status_class(code: int | None) -> str | None:
    if code is None:
        return None
    if code < 400:
        return "success"
    return "user_error" if code < 500 else "error"
