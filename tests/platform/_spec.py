"""fal's Platform API spec (the routes the emulator serves) and a transport that checks every answer.

``fal_platform_openapi.json`` beside this file is the part of fal's published document
(``https://api.fal.ai/v1/openapi.json``, snapshot of 2026-08-21, kept in the shared research as
``fal_platform_openapi_2026-08-21.json``) that covers the six routes the emulator serves, verbatim:
:func:`subset_of` makes it, and a test checks it still equals the full document's when that is at hand.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import httpx
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

__all__ = ["FULL_SPEC", "ROUTES", "SPEC_FILE", "SpecCheckingTransport", "spec", "subset_of"]

SPEC_FILE = Path(__file__).with_name("fal_platform_openapi.json")
#: The full document in the shared research folder, when this checkout has it beside it.
FULL_SPEC = Path(__file__).resolve().parents[3] / "shared" / "research" / "fal_platform_openapi_2026-08-21.json"
ROUTES = (
    "/models",
    "/models/pricing",
    "/models/pricing/estimate",
    "/models/usage",
    "/models/billing-events",
    "/models/requests/by-endpoint",
)
_SERVER = "https://api.fal.ai"


def subset_of(full: dict[str, Any]) -> dict[str, Any]:
    """The document with only :data:`ROUTES` (its schemas are inline, its components only security)."""
    return {**full, "paths": {route: full["paths"][route] for route in ROUTES}}


@functools.lru_cache(maxsize=1)
def spec() -> OpenAPI:
    return OpenAPI.from_dict(json.loads(SPEC_FILE.read_text(encoding="utf-8")))


class SpecCheckingTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; every answer to a ``/v1/…`` request is validated against fal's spec for
    its route and status code (an undocumented status code fails too), then handed on unchanged."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.checked: list[tuple[str, int]] = []
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = await self.inner.handle_async_request(request)
        if not request.url.path.startswith("/v1/"):
            return response
        body = await response.aread()
        await response.aclose()
        mock_request = MockRequest(
            _SERVER,
            request.method,
            request.url.path,
            args={k: v for k, v in request.url.params.multi_items()},
            headers=dict(request.headers),
            data=request.content,
        )
        mock_response = MockResponse(
            body, status_code=response.status_code, headers=dict(response.headers),
            content_type=response.headers.get("content-type", "").split(";")[0],
        )  # fmt: skip
        spec().validate_response(mock_request, mock_response)
        self.checked.append((request.url.path, response.status_code))
        return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()
