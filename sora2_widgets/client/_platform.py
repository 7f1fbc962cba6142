""":class:`AsyncPlatformClient`: fal's Platform API (``https://api.fal.ai/v1``), typed and asynchronous.

What it reads (research/fal_platform_api.md): the registry (``/models``, with each endpoint's
OpenAPI document in small batches), listed prices (``/models/pricing``, ≤ 50 ids a call, a refused
batch bisected down to the id fal refuses), estimates, and with an ADMIN-scope key
(``FAL_ADMIN_KEY``) billed usage and one billing event per request (≤ 50 request ids a call, paged
by cursor), and the request history with payloads (``/models/requests/by-endpoint``).

* Both keys are secrets: each goes only to the Platform API's origin, and whatever fal says is
  scrubbed of them before it reaches a message.
* A 403 on an admin route is one sentence saying the key is not an admin key: billed costs stay
  unknown, never $0.
* Without any key (and no URL or transport given) it reads the built-in emulator, like the queue client.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx
import pydantic
from pydantic import SecretStr

from .._config import ADMIN_KEY_ENV, ResolvedKey, resolve_admin_key, resolve_key
from .._errors import AuthError, ConfigError, ServiceError
from ._models import RetryPolicy
from ._platform_models import (
    BillingEvent,
    BillingPage,
    Estimate,
    EstimateAnswer,
    ModelInfo,
    ModelsPage,
    Price,
    PricesPage,
    Pricing,
    RequestRecord,
    RequestsPage,
    UsageLine,
    UsagePage,
    billing_event_of,
    model_info_of,
    price_of,
    request_record_of,
    usage_line_of,
)
from ._redact import Secrets
from ._responses import Backoff, Retryable, body_of, describe_exc, retry_after
from ._target import EmulatorLike, check_url, default_emulator

__all__ = ["DEFAULT_PLATFORM_URL", "PLATFORM_URL_ENV", "AsyncPlatformClient", "PlatformRefused"]

log = logging.getLogger("sora2_widgets.client")

DEFAULT_PLATFORM_URL = "https://api.fal.ai/v1"
PLATFORM_URL_ENV = "SORA2_WIDGETS_PLATFORM_URL"
#: fal's limits: ids per call, models per page with their OpenAPI documents, history rows per page.
MAX_IDS = 50
OPENAPI_BATCH = 10
MAX_HISTORY_PAGE = 100
#: The longest span one billing-events call may cover (fal: "Date range capped at 90 days").
MAX_WINDOW = timedelta(days=90)
#: A guard against a service whose cursors never end.
MAX_PAGES = 1000

P = TypeVar("P", bound=pydantic.BaseModel)


class PlatformRefused(ServiceError):
    """fal refused a Platform API request (a 4xx other than 401/403): its status and error type."""

    def __init__(self, message: str, *, status_code: int, error_type: str | None) -> None:
        super().__init__(message, status_code=status_code)
        self.error_type = error_type


def _chunks(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _ids(value: object, field: str) -> list[str]:
    """A list of ids, in order, once each; one sentence naming ``field`` otherwise."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigError(field, "must be a list of ids (strings), not a single string or a non-list")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip() or "," in item:
            raise ConfigError(field, "must hold non-empty ids without commas")
        out.append(item.strip())
    return list(dict.fromkeys(out))


def _moment(value: object, field: str) -> str:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ConfigError(field, "must be a timezone-aware datetime (e.g. datetime.now(timezone.utc))")
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _page_size(value: object, field: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ConfigError(field, f"must be an integer from 1 to {maximum}")
    return value


class AsyncPlatformClient:
    """fal's Platform API, typed. ``key``: ``FAL_KEY`` by default; ``admin_key``: ``FAL_ADMIN_KEY``.

    ``platform_url`` (or ``SORA2_WIDGETS_PLATFORM_URL``) points it elsewhere; ``transport`` or
    ``emulator`` make it talk to an emulator. One instance per event loop.
    """

    def __init__(
        self,
        key: str | SecretStr | None = None,
        *,
        admin_key: str | SecretStr | None = None,
        platform_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        emulator: EmulatorLike | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        if platform_url is not None:
            url: str | None = check_url(platform_url, "platform_url=")
        else:
            from_env = os.environ.get(PLATFORM_URL_ENV)
            url = check_url(from_env, PLATFORM_URL_ENV) if from_env else None
        self._key: ResolvedKey | None = resolve_key(key)
        self._admin: ResolvedKey | None = resolve_admin_key(admin_key)
        if emulator is None and url is None and transport is None and self._key is None and self._admin is None:
            emulator = default_emulator()
        if emulator is not None:
            transport, url = emulator.transport(), emulator.base_url.rstrip("/") + "/v1"
        #: The emulator this client reads (``None`` on fal): its queue is the same account's.
        self.emulator: EmulatorLike | None = emulator
        self.provider: Literal["fal", "emulator"] = "emulator" if emulator is not None else "fal"
        self.url = (url or DEFAULT_PLATFORM_URL).rstrip("/")
        self._secrets = Secrets(None)
        self._every = tuple(k.secret.get_secret_value() for k in (self._key, self._admin) if k is not None)
        self._retry = retry or RetryPolicy()
        from .. import __version__

        # No redirects: the keys go to this origin only, never to wherever an answer points.
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": f"sora2-widgets/{__version__}"},
        )

    def __repr__(self) -> str:
        keys = ", ".join(name for name, k in (("key", self._key), ("admin_key", self._admin)) if k is not None)
        return f"AsyncPlatformClient(url={self.url!r}, provider={self.provider!r}, keys set: {keys or 'none'})"

    @property
    def has_admin_key(self) -> bool:
        return self._admin is not None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncPlatformClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- HTTP ---------------------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        return self._secrets.scrub(text, self._every)

    def _headers(self, admin: bool) -> dict[str, str]:
        chosen = self._admin if admin else (self._key or self._admin)  # ADMIN scope covers API routes too
        if admin and chosen is None and self.provider == "fal":
            raise ConfigError(
                ADMIN_KEY_ENV,
                "is not set: billed costs and usage need a fal key with ADMIN scope, so they stay unknown "
                "(not $0) until it is set",
            )
        return {"Authorization": f"Key {chosen.secret.get_secret_value()}"} if chosen is not None else {}

    async def _call(
        self,
        method: str,
        route: str,
        wire: type[P],
        *,
        params: Sequence[tuple[str, str]] = (),
        body: Any = None,
        admin: bool = False,
    ) -> P:
        """One request, retried on 429, 5xx and transport errors (these calls charge nothing)."""
        headers = self._headers(admin)
        backoff = Backoff(self._retry)
        while True:
            backoff.attempt()
            try:
                response = await self._http.request(
                    method, self.url + route, params=list(params), json=body, headers=headers
                )
                if response.status_code == 429 or response.status_code >= 500:
                    raise Retryable(
                        f"HTTP {response.status_code}",
                        status_code=response.status_code,
                        retry_after=retry_after(response),
                        message=self._said(response),
                    )
                if response.status_code >= 400:
                    raise self._refusal(response, route, admin)
                try:
                    return wire.model_validate(response.json())
                except (ValueError, pydantic.ValidationError):
                    raise Retryable(f"an answer from {route} that is not in fal's documented shape") from None
            except httpx.TransportError as exc:
                last = Retryable(describe_exc(exc))
            except Retryable as exc:
                last = exc
            delay = backoff.delay_after(last)
            if delay is None:
                said = f": {last.message}" if last.message else ""
                raise ServiceError(
                    f"fal's Platform API ({route}) failed {backoff.tries} times ({last.why}{said}); try again later.",
                    status_code=last.status_code,
                )
            log.info("%s %s: %s; retry in %.2f s", method, route, last.why, delay)
            await backoff.wait(delay)

    def _said(self, response: httpx.Response) -> str:
        body = body_of(response)
        err = body.get("error") if isinstance(body, dict) else None
        message = err.get("message") if isinstance(err, dict) else None
        return self._scrub(str(message)) if message else ""

    def _refusal(self, response: httpx.Response, route: str, admin: bool) -> Exception:
        code = response.status_code
        said = self._said(response)
        if code == 403 and admin:
            source = self._admin.source if self._admin is not None else "the emulator's default key"
            return AuthError(
                f"The key in {source} is not an admin key: fal answered 403 for {route}, so billed costs and "
                "usage stay unknown (not $0); create a key with ADMIN scope in fal's dashboard and set "
                f"{ADMIN_KEY_ENV} to it.",
                status_code=403,
                key_source=source,
            )
        if code in (401, 403):
            used = self._admin if admin else (self._key or self._admin)
            source = used.source if used is not None else "no key"
            return AuthError(
                f"fal refused the key from {source} for {route} (HTTP {code}{': ' + said if said else ''}).",
                status_code=code,
                key_source=source,
            )
        body = body_of(response)
        err = body.get("error") if isinstance(body, dict) else None
        kind = err.get("type") if isinstance(err, dict) and isinstance(err.get("type"), str) else None
        return PlatformRefused(
            f"fal's Platform API refused {route} (HTTP {code}{': ' + said if said else ''}).",
            status_code=code,
            error_type=kind,
        )

    async def _pages(self, route: str, wire: type[P], params: list[tuple[str, str]], *, admin: bool = False) -> list[P]:
        """Every page of a listing, following ``next_cursor`` until ``has_more`` is false."""
        pages: list[P] = []
        cursor: str | None = None
        seen: set[str] = set()
        while len(pages) < MAX_PAGES:
            page = await self._call(
                "GET", route, wire, params=params + ([("cursor", cursor)] if cursor else []), admin=admin
            )
            pages.append(page)
            cursor = getattr(page, "next_cursor", None)
            if not getattr(page, "has_more", False) or cursor is None:
                return pages
            if cursor in seen:
                raise ServiceError(f"fal's Platform API ({route}) sent the same cursor twice; stopped paging.")
            seen.add(cursor)
        raise ServiceError(f"fal's Platform API ({route}) kept paging past {MAX_PAGES} pages; stopped.")

    # -- registry and prices --------------------------------------------------------------------------
    async def models(self, endpoint_ids: Iterable[str], *, openapi: bool = False) -> dict[str, ModelInfo]:
        """The registry's entry for each endpoint (``status="gone"`` when it has none).

        With ``openapi=True`` each entry carries its queue OpenAPI document, asked for in batches of
        10 (fal refuses bigger pages with documents).
        """
        ids = _ids(endpoint_ids, "endpoint_ids")
        found: dict[str, ModelInfo] = {}
        for batch in _chunks(ids, OPENAPI_BATCH if openapi else MAX_IDS):
            params = [("endpoint_id", ep) for ep in batch] + [("limit", str(len(batch)))]
            if openapi:
                params.append(("expand", "openapi-3.0"))
            for page in await self._pages("/models", ModelsPage, params):
                found.update((m.endpoint_id, model_info_of(m)) for m in page.models)
        # An id fal leaves out altogether is as gone as one it lists without metadata.
        return {ep: found.get(ep, ModelInfo(ep, "gone")) for ep in ids}

    async def list_models(
        self,
        *,
        status: Literal["active", "deprecated"] | None = None,
        category: str | None = None,
        query: str | None = None,
        page_size: int = 100,
    ) -> list[ModelInfo]:
        """Every endpoint in fal's registry (without schemas: ask :meth:`models` for those), paged."""
        params = [("limit", str(_page_size(page_size, "page_size", 1000)))]
        if status is not None:
            if status not in ("active", "deprecated"):
                raise ConfigError("status", "must be 'active' or 'deprecated' (or None for both)")
            params.append(("status", status))
        for name, value in (("category", category), ("q", query)):
            if value is not None:
                if not isinstance(value, str) or not value.strip():
                    raise ConfigError(name, "must be non-empty text")
                params.append((name, value.strip()))
        pages = await self._pages("/models", ModelsPage, params)
        return [model_info_of(m) for page in pages for m in page.models]

    async def pricing(self, endpoint_ids: Iterable[str]) -> Pricing:
        """Listed prices, ≤ 50 ids a call; a batch fal refuses is split in halves down to the id it refuses."""
        ids = _ids(endpoint_ids, "endpoint_ids")
        prices: dict[str, Price] = {}
        refused: list[str] = []
        todo = _chunks(ids, MAX_IDS)
        while todo:
            batch = todo.pop(0)
            try:
                page = await self._call("GET", "/models/pricing", PricesPage, params=[("endpoint_id", ",".join(batch))])
            except PlatformRefused as exc:
                if exc.status_code not in (400, 404, 422):
                    raise
                if len(batch) == 1:
                    refused.append(batch[0])
                    continue
                half = len(batch) // 2
                todo[:0] = [batch[:half], batch[half:]]
                continue
            prices.update((p.endpoint_id, price_of(p)) for p in page.prices if p.endpoint_id in batch)
        unlisted = tuple(ep for ep in ids if ep not in prices and ep not in refused)
        return Pricing(prices, unlisted, tuple(refused))

    async def estimate(
        self,
        quantities: Mapping[str, int | Decimal],
        *,
        estimate_type: Literal["unit_price", "historical_api_price"] = "unit_price",
    ) -> Estimate:
        """fal's estimate for ``quantities`` (units, or calls for ``historical_api_price``): a total only."""
        field = {"unit_price": "unit_quantity", "historical_api_price": "call_quantity"}.get(estimate_type)
        if field is None:
            raise ConfigError("estimate_type", "must be 'unit_price' or 'historical_api_price'")
        if not isinstance(quantities, Mapping) or not quantities:
            raise ConfigError("quantities", "must map one or more endpoint ids to quantities")
        endpoints: dict[str, dict[str, int | float]] = {}
        for ep, qty in quantities.items():
            allowed = (int,) if field == "call_quantity" else (int, Decimal)
            if not isinstance(ep, str) or isinstance(qty, bool) or not isinstance(qty, allowed):
                kinds = "whole numbers of calls (int)" if field == "call_quantity" else "quantities (int or Decimal)"
                raise ConfigError("quantities", f"must map endpoint ids to {kinds}")
            if qty <= 0:
                raise ConfigError("quantities", "must hold quantities above 0")
            endpoints[ep] = {field: int(qty) if field == "call_quantity" else float(qty)}
        answer = await self._call(
            "POST",
            "/models/pricing/estimate",
            EstimateAnswer,
            body={"estimate_type": estimate_type, "endpoints": endpoints},
        )
        return Estimate(answer.estimate_type, answer.total_cost, answer.currency)

    # -- billing (ADMIN scope) ------------------------------------------------------------------------
    async def billing_events(
        self, request_ids: Iterable[str], *, start: datetime, end: datetime | None = None, page_size: int = 1000
    ) -> dict[str, BillingEvent]:
        """The billing event of each request that has one yet, by request id (≤ 50 ids a call, paged).

        A request missing from the answer has no event *yet*: fal records them after completion, and
        never for a request it did not bill.
        """
        ids = _ids(request_ids, "request_ids")
        _moment(start, "start")
        last = datetime.now(timezone.utc) if end is None else end
        _moment(last, "end")
        if last <= start:
            raise ConfigError("end", "must be after start")
        limit = ("limit", str(_page_size(page_size, "page_size", 10_000)))
        # fal caps one call at 90 days: a longer span is asked in consecutive windows.
        windows: list[tuple[datetime, datetime]] = []
        at = start
        while at < last:
            windows.append((at, min(at + MAX_WINDOW, last)))
            at += MAX_WINDOW
        found: dict[str, BillingEvent] = {}
        for batch in _chunks(ids, MAX_IDS):
            for since, until in windows:
                params = [
                    ("request_id", ",".join(batch)),
                    ("start", _moment(since, "start")),
                    ("end", _moment(until, "end")),
                    limit,
                ]
                for page in await self._pages("/models/billing-events", BillingPage, params, admin=True):
                    found.update(
                        (e.request_id, billing_event_of(e)) for e in page.billing_events if e.request_id in batch
                    )
        return found

    async def usage(
        self,
        *,
        start: datetime,
        end: datetime,
        endpoint_ids: Iterable[str] | None = None,
        timeframe: Literal["minute", "hour", "day", "week", "month"] = "day",
    ) -> list[UsageLine]:
        """Billed usage per ``timeframe`` bucket (UTC), per endpoint and unit price."""
        if timeframe not in ("minute", "hour", "day", "week", "month"):
            raise ConfigError("timeframe", "must be one of minute, hour, day, week, month")
        params = [
            ("start", _moment(start, "start")),
            ("end", _moment(end, "end")),
            ("timeframe", timeframe),
            ("expand", "time_series"),
            ("bound_to_timeframe", "false"),
        ]
        groups: list[list[str]] = [[]]
        if endpoint_ids is not None:
            groups = _chunks(_ids(endpoint_ids, "endpoint_ids"), MAX_IDS) or [[]]
        lines: list[UsageLine] = []
        for group in groups:
            filtered = params + ([("endpoint_id", ",".join(group))] if group else [])
            for page in await self._pages("/models/usage", UsagePage, filtered, admin=True):
                for bucket in page.time_series or []:
                    lines.extend(usage_line_of(line, bucket.bucket) for line in bucket.results)
        return lines

    # -- request history ------------------------------------------------------------------------------
    async def requests_by_endpoint(
        self,
        endpoint_ids: Iterable[str],
        *,
        start: datetime,
        end: datetime | None = None,
        payloads: bool = True,
        status: Literal["success", "error", "user_error"] | None = None,
        request_id: str | None = None,
        page_size: int = MAX_HISTORY_PAGE,
    ) -> list[RequestRecord]:
        """The requests fal lists for these endpoints since ``start``, with their inputs and outputs."""
        ids = _ids(endpoint_ids, "endpoint_ids")
        params = [
            ("start", _moment(start, "start")),
            ("limit", str(_page_size(page_size, "page_size", MAX_HISTORY_PAGE))),
        ]
        if end is not None:
            params.append(("end", _moment(end, "end")))
        if payloads:
            params.append(("expand", "payloads"))
        if status is not None:
            if status not in ("success", "error", "user_error"):
                raise ConfigError("status", "must be one of success, error, user_error")
            params.append(("status", status))
        if request_id is not None:
            if not isinstance(request_id, str) or not request_id.strip():
                raise ConfigError("request_id", "must be one request id (text)")
            params.append(("request_id", request_id.strip()))
        records: list[RequestRecord] = []
        for batch in _chunks(ids, MAX_IDS):
            for page in await self._pages(
                "/models/requests/by-endpoint", RequestsPage, [("endpoint_id", ",".join(batch)), *params]
            ):
                records.extend(request_record_of(item) for item in page.items)
        return records
