"""The emulator's options: its default timings and base URL, the counted route kinds, and the fault switches."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .._catalog import get_model

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_PROGRESS_TIME",
    "DEFAULT_QUEUE_DELAY",
    "DEFAULT_QUEUE_DEPTH",
    "KLING_FPS",
    "SORA_FPS",
    "STAT_KINDS",
    "Faults",
    "PlatformSwitches",
]

#: Base URL of the in-process emulator (``.invalid`` can never resolve, so nothing leaks to a network).
DEFAULT_BASE_URL = "http://emulator.sora2-widgets.invalid"
#: Route kinds counted in :attr:`Emulator.stats`.
STAT_KINDS = (
    "submits", "status", "stream", "result", "cancel", "media", "run", "upload", "files", "proxy", "webhook",
    "platform",
)  # fmt: skip
SORA_FPS = 24
#: Seconds a job stays IN_QUEUE, then IN_PROGRESS, unless configured (see :func:`default_emulator`).
DEFAULT_QUEUE_DELAY = 0.4
DEFAULT_PROGRESS_TIME = 1.0
#: Jobs "ahead" of each new job: its queue position falls 2 → 1 → 0 within the queue delay, so the
#: first thing a new user sees is what fal shows (IN_QUEUE, a falling position), at no extra wait.
DEFAULT_QUEUE_DEPTH = 2
KLING_FPS = 24


@dataclass
class Faults:
    """Fault switches. Mutable at run time (``emu.faults.fail_submits = 2``); counters are consumed.

    * ``latency``: seconds added before every response.
    * ``fail_submits``: the next N submits (queue and ``/run``) answer 429 with ``Retry-After: retry_after``.
    * ``drop_submit_answers``: the next N queue submits are taken in as usual (a job is created, or
      refused, e.g. by ``fail_submits``), then the connection is cut before the answer: the client
      sent the body but cannot know whether a job exists (a lost submit, status ``unknown``).
    * ``status_error_rate``: fraction (0–1) of status polls answered ``status_error_code`` (5xx).
    * ``drop_streams``: the next N status streams (SSE) are cut after ``drop_stream_after`` events
      (default 1), before COMPLETED: the connection drops mid-body (no clean end), so the client must
      reconnect or poll. A later cut lets a test check that lines sent before it are not shown twice.
    * ``truncate_downloads``: the next N result/media bodies stop half-way and the connection is cut.
    * ``slow_result``: seconds to wait before answering a result (and the synchronous ``/run``).
    * ``retired``: endpoints answered with ``retired_status`` (404 or 410) "no longer available".
    """

    latency: float = 0.0
    fail_submits: int = 0
    drop_submit_answers: int = 0
    retry_after: float = 1.0
    status_error_rate: float = 0.0
    status_error_code: int = 503
    drop_streams: int = 0
    drop_stream_after: int = 1
    truncate_downloads: int = 0
    slow_result: float = 0.0
    retired: frozenset[str] = frozenset()
    retired_status: int = 410

    def __post_init__(self) -> None:
        if not 0.0 <= self.status_error_rate <= 1.0:
            raise ValueError(f"status_error_rate must be between 0 and 1, got {self.status_error_rate}")
        if not 500 <= self.status_error_code <= 599:
            raise ValueError(f"status_error_code must be a 5xx code, got {self.status_error_code}")
        if self.retired_status not in (404, 410):
            raise ValueError(f"retired_status must be 404 or 410, got {self.retired_status}")
        after = self.drop_stream_after
        if isinstance(after, bool) or not isinstance(after, int) or after < 1:
            raise ValueError(f"drop_stream_after must be a whole number of events, 1 or more, got {after!r}")
        for name in ("latency", "retry_after", "slow_result"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        # Accept model ids as well as endpoints; store endpoints (what the URL carries).
        self.retired = frozenset(get_model(m).endpoint for m in self.retired)


def _endpoints(models: Iterable[str]) -> frozenset[str]:
    return frozenset(get_model(m).endpoint for m in models)


def _priced(prices: Mapping[str, Decimal | int | str], name: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for model, price in prices.items():
        if isinstance(price, bool) or not isinstance(price, (Decimal, int, str)):
            kind = type(price).__name__
            raise ValueError(f"{name}[{model!r}] must be a Decimal, int or str amount of USD, not {kind}")
        value = Decimal(price)
        if not value.is_finite() or value < 0:
            raise ValueError(f"{name}[{model!r}] must be a finite amount of USD, 0 or more, got {price!r}")
        out[get_model(model).endpoint] = value
    return out


@dataclass
class PlatformSwitches:
    """What the emulator's Platform API (``/v1/models…``) knows beyond the jobs it ran.

    Mutable at run time like :class:`Faults` (``emu.platform.billing_lag = 300``); model ids or
    endpoints are accepted and stored as endpoints.

    * ``admin_keys``: the keys with ADMIN scope (``/models/usage``, ``/models/billing-events``).
      ``None`` (default) takes every key the queue takes as an admin key (no key at all, when the
      emulator requires none); a set makes every other valid key an API-scope key, answered 403 on
      the admin routes, as fal does.
    * ``billing_lag``: seconds after a job completes before its billing event (and its usage) exist.
    * ``billed_prices``: endpoint → the unit price actually billed, when it differs from the listing.
    * ``billed_costs``: request id → the exact cost billed for that one request (its units stay).
    * ``price_changes``: endpoint → a new listed unit price (the listing and the billing follow it).
    * ``enum_changes``: endpoint → {field: values}: the choices its OpenAPI document lists for a
      field (a changed enum on fal); the emulator's own validation keeps the catalog's.
    * ``deprecated``: endpoints listed with ``status: "deprecated"``.
    * ``gone``: endpoints the registry no longer knows: no metadata, no price, left out of lists.
      Endpoints in :attr:`Faults.retired` are gone too.
    """

    admin_keys: frozenset[str] | None = None
    billing_lag: float = 0.0
    billed_prices: Mapping[str, Decimal] = field(default_factory=dict)
    billed_costs: Mapping[str, Decimal] = field(default_factory=dict)
    price_changes: Mapping[str, Decimal] = field(default_factory=dict)
    enum_changes: Mapping[str, Mapping[str, Sequence[Any]]] = field(default_factory=dict)
    deprecated: frozenset[str] = frozenset()
    gone: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.admin_keys is not None:
            if isinstance(self.admin_keys, str):
                raise ValueError("admin_keys must be a collection of keys, not one string")
            self.admin_keys = frozenset(self.admin_keys)
        if isinstance(self.billing_lag, bool) or not self.billing_lag >= 0:
            raise ValueError(f"billing_lag must be a non-negative number of seconds, got {self.billing_lag!r}")
        self.billed_prices = _priced(self.billed_prices, "billed_prices")
        self.price_changes = _priced(self.price_changes, "price_changes")
        for request_id, cost in self.billed_costs.items():
            if not isinstance(cost, Decimal) or not cost.is_finite() or cost < 0:
                raise ValueError(f"billed_costs[{request_id!r}] must be a finite Decimal amount of USD, 0 or more")
        self.billed_costs = dict(self.billed_costs)
        self.enum_changes = {
            get_model(model).endpoint: {name: tuple(values) for name, values in fields.items()}
            for model, fields in self.enum_changes.items()
        }
        self.deprecated = _endpoints(self.deprecated)
        self.gone = _endpoints(self.gone)
