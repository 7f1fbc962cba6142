"""The queue API's HTTP: one ``httpx.AsyncClient``, the key only to fal's own hosts, safe retries.

Every request goes through httpx's client and its own transport (HTTP/1.1 keep-alive, environment
proxies, redirects). Only idempotent requests are retried here; submit keeps its own, stricter
rule (``_async``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from .._errors import ServiceError, Sora2Error
from ._errormap import Ctx, ErrorMap
from ._models import RetryPolicy
from ._redact import Secrets
from ._responses import Backoff, Malformed, Retryable, body_of, describe_exc, retry_after, said, tls_verification_failed

__all__ = ["QueueHttp"]

log = logging.getLogger("sora2_widgets.client")

T = TypeVar("T")


@functools.lru_cache(maxsize=256)
def _origin_of(url: str) -> tuple[str, str, int | None]:
    # Cached: every request asks (is this a key host?), and parsing a URL with httpx costs more
    # than the rest of that check; a client sees only a few distinct URLs per job.
    u = httpx.URL(url)
    return (u.scheme, u.host, u.port)


def _origin(url: str | httpx.URL) -> tuple[str, str, int | None]:
    return _origin_of(str(url))


def _json_bytes(body: Any) -> bytes | str:
    """``body`` as compact UTF-8 JSON, or the kind of failure (never the body, nor any part of it)."""
    try:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    except UnicodeEncodeError:
        return "text that cannot be encoded as UTF-8, such as a lone surrogate"
    except (TypeError, ValueError, RecursionError) as exc:
        # json's own messages name a type or "Out of range float values", never a value; the
        # exception itself is dropped all the same.
        return f"{type(exc).__name__}: a value JSON cannot hold"


class QueueHttp:
    """Sends the client's requests. ``key_urls``: the origins (queue, run) that may see the key."""

    def __init__(
        self,
        *,
        secrets: Secrets,
        key_urls: tuple[str, ...],
        transport: httpx.AsyncBaseTransport | None,
        timeout: httpx.Timeout,
        max_concurrency: int,
        retry: RetryPolicy,
        errors: ErrorMap,
    ) -> None:
        from .. import __version__

        self._secrets = secrets
        # The key is sent only to these origins; media/CDN hosts never see it.
        self._key_origins = {_origin(url) for url in key_urls}
        self.timeout = timeout
        self.retry = retry
        self.errors = errors
        # Each waiting job may hold one streaming connection; leave room for submits, results
        # and downloads beside them so that a full house of waits never starves a result fetch.
        limits = httpx.Limits(max_connections=2 * max_concurrency + 16, max_keepalive_connections=max_concurrency + 8)
        # No transport given: httpx builds its own HTTP/1.1 transport with these limits, and routes
        # through a proxy from the environment (HTTP(S)_PROXY, ALL_PROXY) when one is set.
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            limits=limits,
            follow_redirects=True,  # CDNs redirect; httpx drops Authorization on a cross-origin redirect
            headers={"User-Agent": f"sora2-widgets/{__version__}"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def headers_for(self, url: str | httpx.URL) -> dict[str, str]:
        """The Authorization header, for the queue/run hosts only."""
        key = self._secrets.key
        if key is None or _origin(url) not in self._key_origins:
            return {}
        return {"Authorization": f"Key {key.get_secret_value()}"}

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        *,
        body: Any = None,
        timeout: httpx.Timeout | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """One request; ``body`` is sent as compact UTF-8 JSON. A streamed response must be closed."""
        content = None
        if body is not None:
            content = _json_bytes(body)
            if isinstance(content, str):
                # Raised here, outside the handler: an exception raised inside it would keep the
                # encoder's error as its __context__, and a UnicodeEncodeError holds the whole body
                # (api_key included) in its args and repr. The schemas refuse such input first.
                raise Sora2Error(
                    f"The {method} request body could not be encoded as JSON ({content}); nothing was sent."
                )
            headers = {**headers, "Content-Type": "application/json"}
        request = self._http.build_request(
            method, url, headers=headers, content=content, timeout=timeout if timeout is not None else self.timeout
        )
        try:
            return await self._http.send(request, stream=stream)
        except httpx.ConnectError as exc:
            # A certificate that fails verification will fail the same way on every retry, and
            # "could not connect" would hide the one thing the user must look at.
            if tls_verification_failed(exc):
                raise ServiceError(
                    f"The TLS certificate of {request.url.host} could not be verified, so nothing was sent. "
                    "If you go through a proxy with its own certificate authority, point "
                    "SSL_CERT_FILE at that authority's certificate."
                ) from None
            raise

    def get_streamed(self, url: str) -> contextlib.AbstractAsyncContextManager[httpx.Response]:
        """``async with`` a GET whose body is read as it arrives (downloads)."""
        return self._http.stream("GET", url, headers=self.headers_for(url))

    async def request(
        self,
        method: str,
        url: str,
        ctx: Ctx,
        *,
        parse: Callable[[httpx.Response], T],
        passthrough: frozenset[int] = frozenset(),
        final_5xx: Callable[[httpx.Response, Any], Sora2Error | None] | None = None,
    ) -> tuple[int, T | None]:
        """Send an idempotent request, retrying what is safe to retry; parse the 2xx answer.

        Returns ``(status_code, parsed)``; for a status code in ``passthrough`` (e.g. cancel's 400)
        returns ``(code, None)`` instead of raising. ``final_5xx(response, body)`` may turn a 5xx
        into a final error (the result URL's job failures) instead of a retry.
        """
        backoff = Backoff(self.retry)
        while True:
            backoff.attempt()
            try:
                response = await self.send(method, url, self.headers_for(url))
                code = response.status_code
                if code in passthrough:
                    return code, None
                if code == 429 or code >= 500:
                    body = body_of(response)
                    final = final_5xx(response, body) if final_5xx is not None and code >= 500 else None
                    if final is not None:
                        raise final
                    what = self._secrets.scrub(said(body), ctx.secrets)
                    raise Retryable(f"HTTP {code}", status_code=code, retry_after=retry_after(response), message=what)
                if code >= 400:
                    raise self.errors.for_response(response, ctx)
                try:
                    return code, parse(response)
                except (Malformed, ValueError, KeyError, TypeError) as exc:
                    raise Retryable(f"unreadable answer ({type(exc).__name__})", status_code=code) from None
            except httpx.TransportError as exc:
                last = Retryable(describe_exc(exc))
            except Retryable as exc:
                last = exc
            delay = backoff.delay_after(last)
            if delay is None:
                raise self.errors.exhausted(ctx, last, backoff.tries)
            log.info(
                "%s %s: %s; retry %d/%d in %.2f s", ctx.action, ctx.request_id or ctx.spec.id, last.why,
                backoff.tries, self.retry.attempts - 1, delay,
            )  # fmt: skip
            await backoff.wait(delay)
