"""``fal_webhook``: POST the outcome of a request to the caller's URL when the request ends.

fal's documented behaviour (https://docs.fal.ai/model-endpoints/webhooks): one POST per request
when it is done, with ``{request_id, gateway_request_id, status: "OK" | "ERROR", payload, error?}``;
"if the webhook fails to deliver the payload, it will retry 10 times in the span of 2 hours".
The emulator retries a failing receiver (non-2xx answer, connection error, or no answer within
the delivery timeout) with delays doubling from ``retry_base``: the default base (7200 / 1023 s)
puts the tenth retry two hours after the first attempt. Tests pass a small base.

Safety: the emulator is offline, so it only ever calls loopback receivers (``localhost``,
``127.0.0.0/8``, ``::1``); :func:`loopback_url_problem` says why a URL is refused, and the submit
with such a URL is refused with it (400), instead of a webhook that never comes.

Signatures, like fal's: each POST carries ``X-Fal-Webhook-Request-Id``, ``-User-Id``,
``-Timestamp`` and ``-Signature`` (hex ED25519 over ``request_id\nuser_id\ntimestamp\nsha256(body)``),
signed with this emulator's own key. The key is made on first use and kept in the state folder
(``webhook-signing-key.pem``, readable by its owner only), so a restarted emulator keeps its key set;
:func:`jwks_route` serves the public half at ``/.well-known/jwks.json``, where fal serves its own
(``rest.alpha.fal.ai``). ``sw.verify_webhook`` checks a POST against either.

One daemon thread sends everything. It starts with the first webhook and ends by itself once
nothing is pending (every delivery succeeded or gave up); :meth:`WebhookSender.close` stops it.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import ipaddress
import itertools
import json
import logging
import os
import threading
import time
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..client._webhook_verify import signed_message
from ._wire import webhook_body

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_RETRY_BASE",
    "DEFAULT_TIMEOUT",
    "JWKS_PATH",
    "USER_ID",
    "WebhookSender",
    "WebhookSigner",
    "jwks_route",
    "loopback_url_problem",
]

log = logging.getLogger("sora2_widgets.emulator")

#: Retries after the first attempt, and the first delay: 1 + 2 + … + 512 = 1023 bases = 2 hours.
DEFAULT_RETRIES = 10
DEFAULT_RETRY_BASE = 7200.0 / 1023.0
#: Seconds a receiver has to answer one delivery.
DEFAULT_TIMEOUT = 15.0
#: How often a job that should have ended by now (its render is late) is looked at again.
_RECHECK = 0.05
#: Where the emulator serves its webhook key set (fal: ``https://rest.alpha.fal.ai/.well-known/jwks.json``).
JWKS_PATH = "/.well-known/jwks.json"
#: The ``X-Fal-Webhook-User-Id`` the emulator signs (fal sends the account's user id).
USER_ID = "sora2-widgets-emulator"
_KEY_FILE = "webhook-signing-key.pem"


class WebhookSigner:
    """The emulator's ED25519 webhook key: signs POSTs and publishes its public half as a JWKS."""

    def __init__(self, state_dir: Path) -> None:
        self._path = state_dir / _KEY_FILE
        self._lock = threading.Lock()
        self._key: Ed25519PrivateKey | None = None

    def _private(self) -> Ed25519PrivateKey:
        with self._lock:
            if self._key is None:
                self._key = self._load_or_make()
            return self._key

    def _load_or_make(self) -> Ed25519PrivateKey:
        try:
            loaded = serialization.load_pem_private_key(self._path.read_bytes(), password=None)
        except FileNotFoundError:
            loaded = None
        except ValueError:
            log.warning("emulator: %s is unreadable; a new webhook key replaces it", self._path)
            loaded = None
        if isinstance(loaded, Ed25519PrivateKey):
            return loaded
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self._path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside under a temp name, owner-only, then renamed: never a half key, never world-readable.
        tmp = self._path.with_name(f".{_KEY_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        os.replace(tmp, self._path)
        return key

    def headers(self, request_id: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
        """fal's four signature headers for one POST of ``body``."""
        stamp = str(int(time.time() if now is None else now))
        signature = self._private().sign(signed_message(request_id, USER_ID, stamp, body)).hex()
        return {
            "x-fal-webhook-request-id": request_id,
            "x-fal-webhook-user-id": USER_ID,
            "x-fal-webhook-timestamp": stamp,
            "x-fal-webhook-signature": signature,
        }

    def jwks(self) -> dict[str, Any]:
        """The public key as a JSON Web Key Set (RFC 8037's OKP form, as fal publishes its keys)."""
        raw = self._private().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
        kid = hashlib.sha256(raw).hexdigest()[:16]
        return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}]}


def jwks_route(emu: Emulator) -> Route:
    """``GET /.well-known/jwks.json``: the key set webhooks are signed with (no key needed, like fal's)."""

    async def jwks(request: Request) -> Response:
        return JSONResponse(emu.webhooks.signer.jwks(), headers={"cache-control": "max-age=3600"})

    return Route(JWKS_PATH, jwks, methods=["GET"])


def loopback_url_problem(url: str) -> str | None:
    """Why the emulator will not POST to ``url`` (``None``: it will)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "fal_webhook is not a valid URL"
    if parts.scheme not in ("http", "https") or not host:
        return "fal_webhook must be an http(s) URL"
    if host == "localhost" or host.endswith(".localhost"):
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return (
        f"the offline emulator only calls webhooks on this machine (localhost, 127.0.0.1, ::1), not {host!r}; "
        "fal itself needs a public https URL"
    )


class WebhookSender:
    """Delivers the webhooks of one emulator's jobs (see the module docstring)."""

    def __init__(self, emu: Emulator, *, retries: int, retry_base: float, timeout: float) -> None:
        if retries < 0 or retry_base < 0 or timeout <= 0:
            raise ValueError("webhook retries and retry base must not be negative, and the timeout must be positive")
        self.emu = emu
        self.signer = WebhookSigner(emu.state_dir)
        self.retries = retries
        self.retry_base = retry_base
        self.timeout = timeout
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, str]] = []
        self._due: dict[str, float] = {}
        self._busy = 0
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False

    def schedule(self, request_id: str, at: float) -> None:
        """Look at ``request_id`` at ``at`` (wall clock), or earlier if it is already due earlier."""
        with self._cond:
            if self._closed:
                return
            if request_id in self._due and self._due[request_id] <= at:
                return
            self._due[request_id] = at
            heapq.heappush(self._heap, (at, next(self._seq), request_id))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sora2-emulator-webhooks", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is pending or being sent; ``False`` if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._due or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._due.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.timeout + 5)

    # -- the sending thread ------------------------------------------------------------------
    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout, trust_env=False, follow_redirects=False) as http:
            while True:
                with self._cond:
                    while True:
                        if self._closed or not self._due:
                            # Nothing left: the thread ends; the next schedule() starts another.
                            self._thread = None
                            self._cond.notify_all()
                            return
                        at, _, rid = self._heap[0]
                        if self._due.get(rid) != at:  # superseded by an earlier schedule
                            heapq.heappop(self._heap)
                            continue
                        wait = at - time.time()
                        if wait <= 0:
                            heapq.heappop(self._heap)
                            del self._due[rid]
                            self._busy += 1
                            break
                        self._cond.wait(wait)
                try:
                    self._handle(http, rid)
                except Exception:  # never let one job kill the sender
                    log.exception("emulator: webhook for %s failed unexpectedly", rid)
                finally:
                    with self._cond:
                        self._busy -= 1
                        self._cond.notify_all()

    def _handle(self, http: httpx.Client, request_id: str) -> None:
        emu = self.emu
        record = emu.load(request_id)
        if record is None or record.webhook_url is None:
            return
        target = record.webhook_url
        if record.webhook_delivered_at is not None or record.webhook_gave_up_at is not None:
            return
        snap = emu.snapshot(record)
        if snap.status != "COMPLETED":
            self.schedule(request_id, max(record.due_at, time.time() + _RECHECK))
            return
        if snap.error is None and (record.rendered is None or record.rendered_at is None):
            record = emu.load(request_id) or record
        body = json.dumps(webhook_body(record, snap, record.base_url or emu.base_url)).encode()
        attempt = record.webhook_attempts + 1
        emu.count("webhook")
        error: str | None = None
        try:
            response = http.post(
                target,
                content=body,
                headers={
                    "content-type": "application/json",
                    "user-agent": "sora2-widgets-emulator (fal webhook, simulated)",
                    # Signed per attempt: a retry carries a fresh timestamp, as a receiver's replay check needs.
                    **self.signer.headers(request_id, body),
                },
            )
            if not 200 <= response.status_code < 300:
                error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        now = time.time()
        changes: dict[str, object] = {"webhook_attempts": attempt, "webhook_last_error": error}
        if error is None:
            changes["webhook_delivered_at"] = now
            log.info("emulator: webhook for %s delivered (attempt %d)", request_id, attempt)
        elif attempt > self.retries:
            changes["webhook_gave_up_at"] = now
            log.warning("emulator: webhook for %s given up after %d attempts (%s)", request_id, attempt, error)
        else:
            delay = self.retry_base * 2 ** (attempt - 1)
            log.info("emulator: webhook for %s failed (%s); retry %d in %.1f s", request_id, error, attempt, delay)
        emu.update_record(request_id, **changes)
        if error is not None and attempt <= self.retries:
            self.schedule(request_id, now + self.retry_base * 2 ** (attempt - 1))
