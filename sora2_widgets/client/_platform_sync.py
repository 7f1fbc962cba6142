""":class:`PlatformClient`: the Platform API client, synchronous, on a private event-loop thread.

Every method hands the coroutine of :class:`AsyncPlatformClient`'s method of the same name to a
:class:`~sora2_widgets._sync.LoopThread` and blocks on its answer, so it works in scripts and
inside a running Jupyter loop alike.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx
from pydantic import SecretStr

from .._sync import LoopThread
from ._models import RetryPolicy
from ._platform import AsyncPlatformClient
from ._platform_models import BillingEvent, Estimate, ModelInfo, Pricing, RequestRecord, UsageLine
from ._target import EmulatorLike

__all__ = ["PlatformClient"]

T = TypeVar("T")


class PlatformClient:
    """The same client as :class:`AsyncPlatformClient`, with the same arguments, synchronous."""

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
        # Built first: a bad argument leaves no thread behind.
        self._async = AsyncPlatformClient(
            key,
            admin_key=admin_key,
            platform_url=platform_url,
            transport=transport,
            emulator=emulator,
            timeout=timeout,
            retry=retry,
        )
        self._thread = LoopThread("sora2-widgets-platform")
        self._closed = False

    def __repr__(self) -> str:
        return repr(self._async).replace("AsyncPlatformClient", "PlatformClient", 1)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coro.close()
            raise RuntimeError("this PlatformClient is closed")
        return self._thread.run(coro, owner="PlatformClient")

    @property
    def provider(self) -> Literal["fal", "emulator"]:
        return self._async.provider

    @property
    def has_admin_key(self) -> bool:
        return self._async.has_admin_key

    @property
    def emulator(self) -> EmulatorLike | None:
        return self._async.emulator

    @property
    def url(self) -> str:
        """The Platform API base URL this client reads (fal's, or the emulator's ``/v1``)."""
        return self._async.url

    def models(self, endpoint_ids: Iterable[str], *, openapi: bool = False) -> dict[str, ModelInfo]:
        return self._run(self._async.models(endpoint_ids, openapi=openapi))

    def list_models(
        self,
        *,
        status: Literal["active", "deprecated"] | None = None,
        category: str | None = None,
        query: str | None = None,
        page_size: int = 100,
    ) -> list[ModelInfo]:
        return self._run(self._async.list_models(status=status, category=category, query=query, page_size=page_size))

    def pricing(self, endpoint_ids: Iterable[str]) -> Pricing:
        return self._run(self._async.pricing(endpoint_ids))

    def estimate(
        self,
        quantities: Mapping[str, int | Decimal],
        *,
        estimate_type: Literal["unit_price", "historical_api_price"] = "unit_price",
    ) -> Estimate:
        return self._run(self._async.estimate(quantities, estimate_type=estimate_type))

    def billing_events(
        self, request_ids: Iterable[str], *, start: datetime, end: datetime | None = None, page_size: int = 1000
    ) -> dict[str, BillingEvent]:
        return self._run(self._async.billing_events(request_ids, start=start, end=end, page_size=page_size))

    def usage(
        self,
        *,
        start: datetime,
        end: datetime,
        endpoint_ids: Iterable[str] | None = None,
        timeframe: Literal["minute", "hour", "day", "week", "month"] = "day",
    ) -> list[UsageLine]:
        return self._run(self._async.usage(start=start, end=end, endpoint_ids=endpoint_ids, timeframe=timeframe))

    def requests_by_endpoint(
        self,
        endpoint_ids: Iterable[str],
        *,
        start: datetime,
        end: datetime | None = None,
        payloads: bool = True,
        status: Literal["success", "error", "user_error"] | None = None,
        request_id: str | None = None,
        page_size: int = 100,
    ) -> list[RequestRecord]:
        return self._run(
            self._async.requests_by_endpoint(
                endpoint_ids,
                start=start,
                end=end,
                payloads=payloads,
                status=status,
                request_id=request_id,
                page_size=page_size,
            )
        )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._thread.run(self._async.aclose(), owner="PlatformClient")
        finally:
            self._thread.close()

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
