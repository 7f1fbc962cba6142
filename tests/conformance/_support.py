"""Shared by the conformance and emulator suites: a loopback webhook receiver (it verifies every POST's
signature, as a careful user's would), test images, waiting."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from PIL import Image

import sora2_widgets as sw

if TYPE_CHECKING:
    from sora2_widgets.emulator import Emulator

SORA = "fal-ai/sora-2/text-to-video"
SORA_I2V = "fal-ai/sora-2/image-to-video"
KLING = "fal-ai/kling-video/v2.5-turbo/pro/text-to-video"
#: Generous: a loaded 2-core box renders slowly, and nothing here waits for a fixed time.
WAIT = 60.0


def png_bytes(width: int, height: int, color: tuple[int, int, int] = (30, 120, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, format="PNG")
    return buf.getvalue()


def wait_until(predicate: Callable[[], Any], timeout: float = WAIT, what: str = "the condition") -> Any:
    """Poll ``predicate`` until it returns something truthy (and return that), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes


class WebhookReceiver:
    """A loopback HTTP server that records every POST; answers 500 to the first ``fail_first`` ones
    (``fail_first=-1``: to all of them). Each POST's signature is checked with ``sw.verify_webhook``
    against the emulator's key set; one that fails is answered 401 and listed in ``refused``."""

    def __init__(self, emu: Emulator, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.jwks = emu.webhooks.signer.jwks()
        self.deliveries: list[Delivery] = []
        self.refused: list[str] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    sw.verify_webhook(headers, raw, jwks=receiver.jwks)
                except sw.Sora2Error as exc:
                    refusal: str | None = str(exc)
                else:
                    refusal = None
                with receiver._cond:
                    if refusal is not None:
                        receiver.refused.append(refusal)
                    receiver.deliveries.append(Delivery(self.path, headers, json.loads(raw), raw))
                    failing = receiver.fail_first < 0 or len(receiver.deliveries) <= receiver.fail_first
                    receiver._cond.notify_all()
                self.send_response(401 if refusal is not None else 500 if failing else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="webhook-receiver")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def for_request(self, request_id: str) -> list[Delivery]:
        with self._cond:
            return [d for d in self.deliveries if d.body.get("request_id") == request_id]

    def wait_for(self, count: int, timeout: float = WAIT) -> list[Delivery]:
        """Wait until at least ``count`` POSTs arrived (in all); returns them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.deliveries) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.deliveries)} webhook POSTs arrived, expected {count}")
                self._cond.wait(left)
            return list(self.deliveries)

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def webhook_receiver(emu: Emulator, fail_first: int = 0) -> Iterator[WebhookReceiver]:
    """A started receiver for ``emu``'s webhooks; on leaving, every POST must have been genuine."""
    receiver = WebhookReceiver(emu, fail_first).start()
    try:
        yield receiver
    finally:
        receiver.stop()
    assert receiver.refused == [], f"webhook POSTs failed their signature check: {receiver.refused}"
