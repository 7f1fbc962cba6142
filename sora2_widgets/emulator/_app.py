"""The emulator's ASGI application: fal's queue, run host, storage, webhooks, media and the JS proxy.

Routes (``{endpoint}`` is any catalog endpoint, e.g. ``fal-ai/sora-2/text-to-video``;
``{owner}/{app}`` is its app id, e.g. ``fal-ai/sora-2`` — fal's rule for sub-path endpoints):

* ``POST /{endpoint}[?fal_webhook=URL]`` → submit: ``{status, request_id, response_url, status_url,
  cancel_url, queue_position}``. A body that fails the model's schema is accepted too (fal does):
  the job completes with ``error``/``error_type`` and its result answers 422 ``{"detail": [...]}``.
  When the request reaches the emulator **as the run host** (see "Run or queue" below) the same
  ``POST`` answers like ``fal.run``: it waits and answers the output (or the model's error).
* ``GET /{owner}/{app}/requests/{id}/status?logs=1`` → 202 while queued/running, 200 when COMPLETED
* ``GET /{owner}/{app}/requests/{id}/status/stream?logs=1`` → SSE, one ``data: {status}`` per
  change, ends at COMPLETED; each event carries only the log lines new since the stream's previous
  event (polling ``/status`` returns them all)
* ``GET /{owner}/{app}/requests/{id}`` → the output JSON, the job's error with its status code, 400
  ``Request is still in progress`` before completion, 404 once the result expired (``retention``)
* ``PUT /{owner}/{app}/requests/{id}/cancel`` → 202 ``CANCELLATION_REQUESTED`` / 400 ``ALREADY_COMPLETED``
* ``POST /run/{endpoint}`` → synchronous, on any host (the emulator's own shortcut)
* storage: ``/storage/auth/token``, ``/storage/upload/initiate[-multipart]``, ``/files/upload[/multipart]``,
  part and complete URLs, ``GET /files/{key}/{name}`` (see :mod:`._storage`)
* ``GET /media/{id}/{file}`` → the MP4 / JPEG (no key needed, like fal's CDN; Range requests work)
* ``/api/fal/proxy`` → the JS client's ``proxyUrl`` protocol: the request is served as if sent to
  its ``x-fal-target-url`` (``https://queue.fal.run/…``, ``https://fal.run/…``, ``https://rest.fal.ai/storage/…``)

* ``/v1/models…`` → fal's Platform API (catalog, prices, usage, billing events, request history):
  see :mod:`._platform_routes`

Run or queue, the proxy and the headers on every answer: see :mod:`._envelope`. The routes live
by group in :mod:`._job_routes` (queue and run) and :mod:`._file_routes` (media, files, uploads).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._catalog import MODELS
from ._envelope import PROXY_PATH, ROLE_KEY, Envelope, SimulatedDrop, role_for_host
from ._file_routes import file_routes
from ._http import base, role
from ._job_routes import job_routes
from ._platform_routes import platform_routes
from ._webhooks import jwks_route

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["PROXY_PATH", "ROLE_KEY", "SimulatedDrop", "build_app", "role_for_host"]


def build_app(emu: Emulator) -> Starlette:
    """The Starlette app serving ``emu`` (use :attr:`Emulator.app`, which caches it)."""

    async def not_found(request: Request) -> Response:
        return JSONResponse({"detail": "Not Found"}, status_code=404)

    async def info(request: Request) -> Response:
        url = base(request)
        return JSONResponse(
            {
                "service": "sora2-widgets fal emulator (simulated; no real model runs)",
                "role": role(request),
                "queue_url": url,
                "run_url": url + "/run",
                "storage_url": url,
                "proxy_url": url + PROXY_PATH,
                "platform_url": url + "/v1",
                "endpoints": [m.endpoint for m in MODELS],
            }
        )

    run, queue = job_routes(emu)
    routes = [
        Route("/", info, methods=["GET"]),
        # fal's Platform API (/v1/models…) first: the queue's catch-all routes would take its paths.
        *platform_routes(emu),
        jwks_route(emu),
        *file_routes(emu),
        run,
        *queue,
        # Anything else is 404 (not Starlette's 405 for "a POST route has this path"), like an unknown URL on fal.
        Route("/{path:path}", not_found, methods=["GET", "HEAD", "PUT", "DELETE", "PATCH"]),
    ]
    return Starlette(routes=routes, middleware=[Middleware(Envelope, emu=emu)])
