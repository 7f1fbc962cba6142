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

One daemon thread sends everything. It starts with the first webhook and ends by itself once
nothing is pending (every delivery succeeded or gave up); :meth:`WebhookSender.close` stops it.
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import json
import logging
import threading
import time
import urllib.parse
from typing import TYPE_CHECKING

import httpx

from ._wire import webhook_body

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["DEFAULT_RETRIES", "DEFAULT_RETRY_BASE", "DEFAULT_TIMEOUT", "WebhookSender", "loopback_url_problem"]

log = logging.getLogger("sora2_widgets.emulator")

#: Retries after the first attempt, and the first delay: 1 + 2 + … + 512 = 1023 bases = 2 hours.
DEFAULT_RETRIES = 10
DEFAULT_RETRY_BASE = 7200.0 / 1023.0
#: Seconds a receiver has to answer one delivery.
DEFAULT_TIMEOUT = 15.0
#: How often a job that should have ended by now (its render is late) is looked at again.
_RECHECK = 0.05


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
                    "x-fal-webhook-request-id": request_id,
                    "x-fal-webhook-user-id": "sora2-widgets-emulator",
                    "x-fal-webhook-timestamp": str(int(time.time())),
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
