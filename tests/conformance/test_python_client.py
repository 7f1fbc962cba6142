"""The official Python ``fal-client`` (``SyncClient`` and ``AsyncClient``) judges the emulator.

Every operation the client exposes for a queue model: submit, status (with logs), iter_events,
result (handle and by request id), cancel, subscribe, run (on the run host), upload / upload_file /
upload_image (single request, legacy fallback, multipart), webhooks, and a 422 at the result.
Not covered: ``stream()`` (a model's own output stream on ``fal.run/{app}/stream``: fal's video
endpoints have none) and ``realtime()`` / ``ws_connect()`` (websocket apps).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from sora2_widgets.emulator import Emulator, Served, serving
from tests._secrets import FAL_KEY

from ._support import KLING, SORA, SORA_I2V, WAIT, png_bytes, webhook_receiver

pytestmark = pytest.mark.parametrize("kind", ["sync", "async"])


class Py:
    """One official client, sync or async, behind ``await py(call)``."""

    def __init__(self, fal_client: Any, kind: str) -> None:
        self.fal = fal_client
        self.kind = kind
        cls = fal_client.SyncClient if kind == "sync" else fal_client.AsyncClient
        self.client = cls(key=FAL_KEY)

    async def __call__(self, value: Any) -> Any:
        return await value if inspect.isawaitable(value) else value

    async def events(self, handle: Any, **kw: Any) -> list[Any]:
        it = handle.iter_events(**kw)
        if hasattr(it, "__aiter__"):
            return [event async for event in it]
        return list(it)

    def error(self) -> type[Exception]:
        return self.fal.client.FalClientHTTPError  # type: ignore[no-any-return]


def _get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=WAIT)


async def test_submit_status_events_result(fal_py, served: Served, emu: Emulator, kind: str) -> None:
    py = Py(fal_py, kind)
    emu.queue_delay = 1.0  # queued long enough that a loaded machine sees IN_QUEUE first
    handle = await py(py.client.submit(SORA, {"prompt": "official", "duration": 4, "delete_video": False}))
    events = await py.events(handle, with_logs=True, interval=0.05)
    assert isinstance(events[0], fal_py.Queued) and 0 <= events[0].position <= emu.queue_depth
    positions = [e.position for e in events if isinstance(e, fal_py.Queued)]
    assert positions == sorted(positions, reverse=True)
    running = [e for e in events if isinstance(e, fal_py.InProgress)]
    assert running and all(isinstance(e.logs, list) for e in running)
    done = events[-1]
    assert isinstance(done, fal_py.Completed) and done.error is None and done.metrics["inference_time"] > 0
    assert any("[simulated]" in line["message"] for line in done.logs)

    status = await py(handle.status(with_logs=True))
    assert isinstance(status, fal_py.Completed) and status.logs == done.logs
    result = await py(handle.get(interval=0.05))
    assert result["video"]["content_type"] == "video/mp4" and result["video_id"].startswith("video_")
    # By request id: the client builds these URLs from the app id (owner/alias) itself.
    assert await py(py.client.result(SORA, handle.request_id)) == result
    by_id = await py(py.client.status(SORA, handle.request_id, with_logs=True))
    assert isinstance(by_id, fal_py.Completed)
    assert _get(result["video"]["url"]).content[4:8] == b"ftyp"


async def test_subscribe_with_logs(fal_py, served: Served, kind: str) -> None:
    py = Py(fal_py, kind)
    updates: list[Any] = []
    enqueued: list[str] = []
    out = await py(
        py.client.subscribe(
            KLING,
            {"prompt": "subscribed"},
            with_logs=True,
            interval=0.05,
            on_enqueue=enqueued.append,
            on_queue_update=updates.append,
        )
    )
    assert set(out) == {"video"} and len(enqueued) == 1
    assert isinstance(updates[-1], fal_py.Completed) and updates[-1].logs


async def test_cancel(fal_py, served: Served, emu: Emulator, kind: str) -> None:
    py = Py(fal_py, kind)
    emu.queue_delay = 60  # stays queued
    handle = await py(py.client.submit(SORA, {"prompt": "to cancel"}))
    assert await py(handle.cancel()) is None  # 202 CANCELLATION_REQUESTED
    status = await py(handle.status(with_logs=True))
    assert isinstance(status, fal_py.Completed) and status.error_type == "client_cancelled"
    with pytest.raises(py.error()) as result:
        await py(handle.get(interval=0.05))
    assert result.value.status_code == 499
    with pytest.raises(py.error()) as again:
        await py(handle.cancel())
    assert again.value.status_code == 400


async def test_run_reaches_the_run_host(fal_py, served: Served, emu: Emulator, kind: str) -> None:
    py = Py(fal_py, kind)
    out = await py(py.client.run(SORA, {"prompt": "synchronous", "duration": 4}))
    assert set(out) == {"video", "video_id", "thumbnail"}
    assert out["video"]["url"].startswith(served.run_url + "/media/")
    with pytest.raises(py.error()) as bad:
        await py(py.client.run(SORA, {"prompt": "x", "duration": 5}))
    assert bad.value.status_code == 422 and bad.value.message[0]["loc"] == ["body", "duration"]
    stats = emu.stats
    assert stats["run"] == 2 and stats["submits"] == 0, "run went to the run host, not the queue"


async def test_uploads_and_an_uploaded_image_as_input(fal_py, served: Served, tmp_path: Path, kind: str) -> None:
    py = Py(fal_py, kind)
    portrait = tmp_path / "portrait.png"
    portrait.write_bytes(png_bytes(720, 1280))
    file_url = await py(py.client.upload_file(portrait))
    assert file_url.startswith(served.queue_url + "/files/") and file_url.endswith("/portrait.png")
    assert _get(file_url).content == portrait.read_bytes()
    assert await py(py.client.upload_file(portrait)) == file_url, "the same upload again: the same file"

    image_url = await py(py.client.upload_image(Image.new("RGB", (64, 48), (9, 9, 9))))
    served_image = _get(image_url)
    assert served_image.headers["content-type"] == "image/jpeg" and served_image.content[:2] == b"\xff\xd8"

    legacy = await py(py.client.upload(b"legacy bytes", "text/plain", file_name="a.txt", repository="fal"))
    assert _get(legacy).content == b"legacy bytes"

    out = await py(
        py.client.subscribe(SORA_I2V, {"prompt": "from an upload", "image_url": file_url, "duration": 4}, interval=0.05)
    )
    assert (out["video"]["width"], out["video"]["height"]) == (720, 1280), "the size comes from the uploaded image"


async def test_a_file_over_100_mib_takes_the_multipart_path(
    fal_py, served: Served, emu: Emulator, tmp_path: Path, kind: str
) -> None:
    py = Py(fal_py, kind)
    big = tmp_path / "big.bin"
    size = 100 * 2**20 + 1  # just over fal-client's MULTIPART_THRESHOLD: 11 parts of 10 MiB
    with big.open("wb") as fh:
        fh.truncate(size)
        fh.seek(size // 2)
        fh.write(b"middle")
    digest = hashlib.sha256()
    with big.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    url = await py(py.client.upload_file(big))
    big.unlink()
    got = hashlib.sha256()
    length = 0
    with httpx.stream("GET", url, timeout=WAIT) as response:
        for block in response.iter_bytes():
            got.update(block)
            length += len(block)
    assert (length, got.hexdigest()) == (size, digest.hexdigest())
    assert list((emu.state_dir / "storage" / "multipart").glob("*/completed.json")), "it was a multipart upload"


async def test_webhook_is_posted_once(fal_py, served: Served, emu: Emulator, kind: str) -> None:
    py = Py(fal_py, kind)
    with webhook_receiver(emu) as receiver:
        handle = await py(py.client.submit(KLING, {"prompt": "hook"}, webhook_url=receiver.url + "/fal"))
        result = await py(handle.get(interval=0.05))
        receiver.wait_for(1)
        assert emu.webhooks.wait_idle(WAIT)
    [hit] = receiver.deliveries
    assert hit.path == "/fal"
    assert hit.body == {
        "request_id": handle.request_id,
        "gateway_request_id": handle.request_id,
        "status": "OK",
        "payload": result,
    }


async def test_an_invalid_input_surfaces_as_422_at_the_result(fal_py, served: Served, kind: str) -> None:
    py = Py(fal_py, kind)
    handle = await py(py.client.submit(SORA, {"prompt": "x", "duration": 5}))  # accepted, as on fal
    events = await py.events(handle, with_logs=True, interval=0.05)
    done = events[-1]
    assert isinstance(done, fal_py.Completed) and done.error and done.error_type
    with pytest.raises(py.error()) as bad:
        await py(handle.get(interval=0.05))
    err = bad.value
    assert err.status_code == 422 and isinstance(err.message, list)
    assert err.message[0]["loc"] == ["body", "duration"] and err.message[0]["msg"]
    assert err.response_headers["x-fal-retryable"] == "false"
    with pytest.raises(py.error()) as subscribed:
        await py(py.client.subscribe(SORA, {"prompt": "x", "duration": 5}, interval=0.05))
    assert subscribed.value.status_code == 422


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl binary to make a test certificate")
def test_env_vars_alone_reach_queue_and_run_over_https(emu: Emulator, tmp_path: Path, kind: str) -> None:
    """The README's settings, verbatim: FAL_QUEUE_RUN_HOST and FAL_RUN_HOST (fal-client speaks https only)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    client = "fal_client.SyncClient()" if kind == "sync" else "fal_client.AsyncClient()"
    script = textwrap.dedent(
        f"""
        import asyncio, inspect, json, fal_client
        client = {client}
        async def call(value):
            return await value if inspect.isawaitable(value) else value
        async def main():
            ran = await call(client.run({SORA!r}, {{"prompt": "run host", "duration": 4}}))
            handle = await call(client.submit({SORA!r}, {{"prompt": "queue host", "duration": 4}}))
            queued = await call(handle.get(interval=0.05))
            print(json.dumps({{"ran": ran, "queued": queued}}))
        asyncio.run(main())
        """
    )
    with serving(emu, ssl_certfile=str(cert), ssl_keyfile=str(key)) as where:
        env = {
            **os.environ,
            "FAL_QUEUE_RUN_HOST": where.queue_url.removeprefix("https://"),
            "FAL_RUN_HOST": where.run_url.removeprefix("https://"),
            "SSL_CERT_FILE": str(cert),
            "FAL_KEY": FAL_KEY,
        }
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["ran"]["video"]["url"].startswith(where.run_url + "/media/")
    assert out["queued"]["video"]["url"].startswith(where.queue_url + "/media/")
    assert emu.stats["run"] == 1 and emu.stats["submits"] == 1
