"""The emulator's outermost ASGI layer: latency, the fal host role, the JS proxy, and the headers on every answer.

Run or queue: fal tells them by host (``fal.run`` vs ``queue.fal.run``). The emulator serves a
request as the run host when it arrives on a port registered in ``emu.run_ports`` (the second
port of :func:`~sora2_widgets.emulator.serving`), when its ``Host`` is ``fal.run``/``falrun.com``
or starts with ``run.``, or when a proxied request targets ``https://fal.run/…``.

Every answer carries ``x-sora2-emulator: 1`` (nobody should mistake it for the real service), and
every error answer ``X-Fal-Retryable`` as fal's do.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from typing import TYPE_CHECKING

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._wire import error_headers

if TYPE_CHECKING:
    from ._emulator import Emulator

log = logging.getLogger("sora2_widgets.emulator")

__all__ = [
    "EMULATOR_HEADER",
    "PROXY_PATH",
    "ROLE_KEY",
    "TARGET_URL_HEADER",
    "Envelope",
    "SimulatedDrop",
    "role_for_host",
]

EMULATOR_HEADER = "x-sora2-emulator"
#: Where the JS client's ``proxyUrl`` points (``@fal-ai/server-proxy``'s ``DEFAULT_PROXY_ROUTE``).
PROXY_PATH = "/api/fal/proxy"
TARGET_URL_HEADER = "x-fal-target-url"
#: The ASGI scope key holding the host role of a request: "queue", "run", "rest" or "cdn".
ROLE_KEY = "sora2_widgets.fal_role"


class SimulatedDrop(ConnectionError):
    """Raised mid-body to cut the connection (fault switches ``truncate_downloads``, ``drop_streams``)."""


def role_for_host(host: str) -> str:
    """The fal host a ``Host`` name stands for: "run" (``fal.run``), "rest", "cdn" or "queue" (the default)."""
    name = host.strip().lower()
    if name.startswith("["):  # [::1]:8765
        name = name[1:].partition("]")[0]
    else:
        name = name.rpartition(":")[0] if name.count(":") == 1 else name
    if name in ("fal.run", "falrun.com") or name.startswith("run."):
        return "run"
    if name in ("queue.fal.run", "queue.falrun.com") or name.startswith("queue."):
        return "queue"
    if name == "rest.fal.ai" or name.startswith("rest."):
        return "rest"
    if name.endswith(".fal.media"):
        return "cdn"
    return "queue"


#: Targets the proxy serves: the run and queue hosts, and the REST storage routes the JS client uses.
_PROXY_TARGETS = {"fal.run": "run", "queue.fal.run": "queue", "rest.fal.ai": "rest"}


class Envelope:
    """Outermost layer: latency, the host role, the proxy protocol, and the headers on every answer."""

    def __init__(self, app: ASGIApp, emu: Emulator) -> None:
        self.app = app
        self.emu = emu

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.emu.faults.latency > 0:
            await asyncio.sleep(self.emu.faults.latency)

        async def labelled(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.append(EMULATOR_HEADER, "1")
                status = int(message["status"])
                if status >= 400 and "x-fal-retryable" not in headers:
                    for name, value in error_headers(status).items():
                        headers.append(name, value)
            await send(message)

        try:
            if scope["path"] == PROXY_PATH:
                scope = await self._proxied(scope, labelled)
                if not scope:
                    return
            else:
                scope = {**scope, ROLE_KEY: self._role(scope)}
            await self.app(scope, receive, labelled)
        except SimulatedDrop as exc:
            # The fault switch worked: end the app without finishing the body, so the server cuts
            # the connection (uvicorn says so in one line) instead of printing a traceback per drop.
            log.info("%s %s %s", exc, scope.get("method", ""), scope.get("path", ""))

    def _role(self, scope: Scope) -> str:
        server = scope.get("server")
        if server and len(server) > 1 and server[1] in self.emu.run_ports:
            return "run"
        return role_for_host(Headers(scope=scope).get("host", ""))

    async def _proxied(self, scope: Scope, send: Send) -> Scope:
        """The JS client's ``proxyUrl``: serve the request as sent to ``x-fal-target-url``.

        Like ``@fal-ai/server-proxy``: the target must be on fal's run/queue hosts (or the REST
        storage routes), else 400 "Invalid request"; a request without ``Authorization`` is sent
        with the proxy's own key (here: the emulator's required key, if any).
        """
        self.emu.count("proxy")
        headers = Headers(scope=scope)
        target = headers.get(TARGET_URL_HEADER, "")
        try:
            parts = urllib.parse.urlsplit(target)
        except ValueError:
            parts = urllib.parse.urlsplit("")
        role = _PROXY_TARGETS.get((parts.hostname or "").lower()) if parts.scheme == "https" else None
        if role == "rest" and not parts.path.startswith("/storage/"):
            role = None
        if role is None:
            why = "missing" if not target else f"not a fal URL this proxy forwards: {target[:200]!r}"
            response = JSONResponse({"detail": f"Invalid request: {TARGET_URL_HEADER} is {why}"}, status_code=400)
            await response(scope, _no_body, send)
            return {}
        raw_headers = [(k, v) for k, v in scope["headers"] if k.lower() != TARGET_URL_HEADER.encode()]
        required = self.emu._require_key
        if required is not None and "authorization" not in headers:
            raw_headers.append((b"authorization", f"Key {required}".encode()))
        path = parts.path or "/"
        return {
            **scope,
            "path": urllib.parse.unquote(path),
            "raw_path": path.encode(),
            "query_string": parts.query.encode(),
            "headers": raw_headers,
            ROLE_KEY: role,
        }


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
