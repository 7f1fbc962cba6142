"""The official JavaScript ``@fal-ai/client`` (Node, installed from npm by the suite) judges the emulator.

Every queue operation it exposes: ``queue.submit``, ``queue.status`` (logs), ``queue.streamStatus``,
``queue.result``, ``queue.cancel``, ``queue.subscribeToStatus``, ``subscribe`` in polling and
streaming mode, ``run``, ``storage.upload`` (single request and multipart above 90 MB), the
automatic upload of a Blob in an input, ``webhookUrl``, and a 422 at the result — all through its
``proxyUrl`` protocol. Not covered: ``stream()`` (a model's own output stream; fal's video endpoints
have none) and ``realtime`` (websocket apps).
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from typing import Any

from sora2_widgets.emulator import Emulator, Served

from ._support import KLING, SORA, SORA_I2V, WAIT, png_bytes, webhook_receiver

SMALL = {"prompt": "from node", "duration": 4}


def _lines(logs: list[dict[str, Any]] | None) -> list[tuple[str, str]]:
    return [(line["message"], line["timestamp"]) for line in logs or []]


def test_submit_status_result(js, served: Served, emu: Emulator) -> None:
    emu.queue_delay = 1.0  # queued long enough that a loaded machine sees IN_QUEUE first
    out = js.run(served, "submit_poll_result", endpoint=SORA, input=SMALL)
    rid = out["submitted"]["request_id"]
    assert out["submitted"]["status"] == "IN_QUEUE" and out["submitted"]["status_url"].startswith(served.queue_url)
    statuses = out["statuses"]
    assert statuses[0]["status"] == "IN_QUEUE"
    assert all("queue_position" in s for s in statuses if s["status"] == "IN_QUEUE")
    assert statuses[-1]["status"] == "COMPLETED" and statuses[-1]["metrics"]["inference_time"] > 0
    assert any("[simulated]" in line["message"] for line in statuses[-1]["logs"])
    assert out["result"]["requestId"] == rid and out["result"]["data"]["video_id"].startswith("video_")
    assert emu.stats["submits"] == 1 and emu.stats["proxy"] >= 3


def test_stream_status_sends_each_line_once(js, served: Served, emu: Emulator) -> None:
    emu.queue_delay = 1.0
    out = js.run(served, "stream_status", endpoint=SORA, input=SMALL)
    events = out["events"]
    assert events[0]["status"] == "IN_QUEUE" and events[-1]["status"] == "COMPLETED"
    assert out["done"] == events[-1]
    streamed = [line for event in events for line in _lines(event.get("logs"))]
    assert streamed and len(streamed) == len(set(streamed))
    record = emu.load(out["submitted"]["request_id"])
    assert record is not None
    assert streamed == [(e.message, e.to_json()["timestamp"]) for e in emu.snapshot(record).logs]
    assert out["result"]["data"]["video"]["content_type"] == "video/mp4"
    assert emu.stats["stream"] == 1


def test_subscribe_polling(js, served: Served) -> None:
    out = js.run(served, "subscribe", endpoint=KLING, input={"prompt": "polling"}, mode="polling")
    assert out["enqueued"] == out["result"]["requestId"]
    final = out["updates"][-1]
    assert final["status"] == "COMPLETED" and _lines(final["logs"]) == _lines(out["polledLogs"])
    assert set(out["result"]["data"]) == {"video"}


def test_subscribe_streaming_shows_every_log_line_exactly_once(js, served: Served, emu: Emulator) -> None:
    # The JS client appends each event's logs (issue 13: it showed 15 lines, 5 distinct).
    out = js.run(served, "subscribe", endpoint=SORA, input=SMALL, mode="streaming")
    shown = _lines(out["updates"][-1]["logs"])
    assert shown, "logs were shown"
    assert [line for line, n in Counter(shown).items() if n > 1] == []
    assert shown == _lines(out["polledLogs"]), "every line of the request, once, in order"
    assert out["result"]["data"]["video_id"] and emu.stats["stream"] == 1


def test_cancel(js, served: Served, emu: Emulator) -> None:
    emu.queue_delay = 60  # stays queued
    out = js.run(served, "cancel", endpoint=SORA, input=SMALL)
    assert out["first"]["ok"]
    assert out["status"]["status"] == "COMPLETED" and out["status"]["error_type"] == "client_cancelled"
    assert not out["result"]["ok"] and out["result"]["error"]["status"] == 499
    assert not out["again"]["ok"] and out["again"]["error"]["status"] == 400


def test_run_reaches_the_run_host(js, served: Served, emu: Emulator) -> None:
    out = js.run(served, "run", endpoint=KLING, input={"prompt": "synchronous"})
    assert set(out["data"]) == {"video"} and out["requestId"]
    assert emu.stats["run"] == 1 and emu.stats["submits"] == 0


def test_storage_upload_single_and_multipart(js, served: Served, emu: Emulator) -> None:
    png = png_bytes(32, 32)
    out = js.run(served, "upload", image_b64=base64.b64encode(png).decode(), big_mib=91)
    assert out["small"].startswith(served.queue_url + "/files/")
    assert out["smallFile"]["sha256"] == hashlib.sha256(png).hexdigest()
    assert out["smallFile"]["contentType"] == "image/png"
    assert out["bigFile"]["status"] == 200 and out["bigFile"]["size"] == 91 * 2**20
    assert out["bigFile"]["sha256"] == out["bigSha256"]
    assert list((emu.state_dir / "storage" / "multipart").glob("*/completed.json")), "above 90 MB: multipart"


def test_a_blob_in_the_input_is_uploaded_first(js, served: Served) -> None:
    portrait = base64.b64encode(png_bytes(720, 1280)).decode()
    out = js.run(
        served, "subscribe_blob", endpoint=SORA_I2V, input={"prompt": "a blob", "duration": 4}, image_b64=portrait
    )
    video = out["data"]["video"]
    assert (video["width"], video["height"]) == (720, 1280), "the emulator read the uploaded image"


def test_webhook_is_posted_once(js, served: Served, emu: Emulator) -> None:
    with webhook_receiver(emu) as receiver:
        out = js.run(served, "webhook", endpoint=KLING, input={"prompt": "hook"}, webhook_url=receiver.url + "/js")
        receiver.wait_for(1)
        assert emu.webhooks.wait_idle(WAIT)
    rid = out["submitted"]["request_id"]
    [hit] = receiver.deliveries
    assert hit.path == "/js" and hit.body["request_id"] == rid == hit.body["gateway_request_id"]
    assert hit.body["status"] == "OK" and set(hit.body["payload"]) == {"video"}


def test_an_invalid_input_surfaces_as_422_at_the_result(js, served: Served) -> None:
    out = js.run(served, "invalid", endpoint=SORA, input={"prompt": "x", "duration": 5})
    assert out["submitted"]["request_id"], "the queue accepted it"
    assert out["final"]["status"] == "COMPLETED"
    error = out["result"]["error"]
    assert not out["result"]["ok"] and error["name"] == "ValidationError" and error["status"] == 422
    assert error["body"]["detail"][0]["loc"] == ["body", "duration"]
    assert error["fieldErrors"][0]["loc"] == ["body", "duration"]
    assert not out["subscribed"]["ok"] and out["subscribed"]["error"]["status"] == 422
