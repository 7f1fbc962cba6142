"""Local images reach the model as uploaded URLs through fal's storage flow (here: the emulator's)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator
from tests.conformance._support import SORA_I2V, png_bytes

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def emu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "home"))
    emulator = Emulator(state_dir=tmp_path / "emulator", queue_delay=0.05, progress_time=0.05)
    yield emulator
    emulator.close()


def _client(emu: Emulator) -> sw.AsyncFalClient:
    return sw.AsyncFalClient(emulator=emu, retry=sw.RetryPolicy(base=0.01, cap=0.05))


def test_a_local_png_is_uploaded_and_the_job_carries_the_file_url(emu: Emulator, tmp_path: Path) -> None:
    png = tmp_path / "start.png"
    png.write_bytes(png_bytes(1280, 720))

    async def go() -> tuple[sw.Job, Any]:
        async with _client(emu) as client:
            job = await client.submit(SORA_I2V, prompt="a cat", image_url=png)
            await client.wait(job)
            return job, await client.result(job)

    job, result = asyncio.run(go())
    sent = emu.load(job.request_id)
    assert sent is not None
    url = sent.params["image_url"]
    assert url.startswith(emu.queue_url + "/files/") and url.endswith("/start.png"), url
    assert not url.startswith("data:")
    assert emu.stats.get("upload", 0) >= 2  # the CDN token and the upload itself
    # The emulator read the image's real size from the uploaded file.
    assert (sent.width, sent.height) == (1280, 720)
    assert result.url


@pytest.mark.parametrize("kind", ["path", "str", "bytes", "pil"])
def test_every_local_image_form_is_uploaded_not_inlined(emu: Emulator, tmp_path: Path, kind: str) -> None:
    """A path, its text, raw bytes and a PIL image all reach the model as an uploaded file's URL."""
    import io

    from PIL import Image

    data = png_bytes(8, 8)
    path = tmp_path / "start.png"
    path.write_bytes(data)
    source: Any = {"path": path, "str": str(path), "bytes": data, "pil": Image.open(io.BytesIO(data))}[kind]

    async def go() -> sw.Job:
        async with _client(emu) as client:
            return await client.submit(SORA_I2V, prompt="it rains", image_url=source)

    sent = emu.load(asyncio.run(go()).request_id)
    assert sent is not None
    assert sent.params["image_url"].startswith(emu.queue_url + "/files/"), sent.params["image_url"]
    assert emu.stats.get("upload", 0) >= 2  # the CDN token and the upload itself


def test_a_data_uri_the_user_gave_is_sent_as_it_is(emu: Emulator) -> None:
    import base64

    uri = "data:image/png;base64," + base64.b64encode(png_bytes(64, 64)).decode()

    async def go() -> sw.Job:
        async with _client(emu) as client:
            return await client.submit(SORA_I2V, prompt="a cat", image_url=uri)

    job = asyncio.run(go())
    sent = emu.load(job.request_id)
    assert sent is not None and sent.params["image_url"] == uri
    assert emu.stats.get("upload", 0) == 0


def test_an_upload_is_retried_after_a_server_error(emu: Emulator, tmp_path: Path) -> None:
    """A 503 from the storage is retried (an upload is idempotent); the second try stores the file."""
    seen: list[str] = []
    failed = False
    inner = emu.transport()

    class Flaky(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal failed
            seen.append(request.url.path)
            if request.url.path == "/files/upload" and not failed:
                failed = True
                return httpx.Response(503, json={"detail": "busy"})
            return await inner.handle_async_request(request)

    async def go() -> str:
        client = sw.AsyncFalClient(
            transport=Flaky(), queue_url=emu.queue_url, retry=sw.RetryPolicy(base=0.01, cap=0.05)
        )
        async with client:
            return await client.upload(png_bytes(8, 8), content_type="image/png", file_name="x.png")

    url = asyncio.run(go())
    assert seen.count("/files/upload") == 2
    assert url.startswith(emu.queue_url + "/files/") and url.endswith("/x.png")


def test_the_legacy_initiate_put_is_used_when_the_cdn_path_is_missing(emu: Emulator) -> None:
    inner = emu.transport()
    paths: list[str] = []

    class NoCdn(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            paths.append(request.url.path)
            if request.url.path.startswith("/storage/auth/token"):
                return httpx.Response(404, json={"detail": "Not Found"})
            return await inner.handle_async_request(request)

    async def go() -> str:
        async with sw.AsyncFalClient(transport=NoCdn(), queue_url=emu.queue_url) as client:
            return await client.upload(png_bytes(8, 8), content_type="image/png", file_name="y.png")

    url = asyncio.run(go())
    assert "/storage/upload/initiate" in paths and any(p.startswith("/storage/uploads/") for p in paths)
    assert "/files/" in url and url.endswith("/y.png")


def test_the_generator_records_the_uploaded_url_not_the_bytes(tmp_path: Path) -> None:
    home = tmp_path / "gen"
    png = tmp_path / "first.png"
    png.write_bytes(png_bytes(720, 1280))
    emu = Emulator(state_dir=home / "emulator", queue_delay=0.05, progress_time=0.05)
    try:
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=sw.History(home), resume=False) as gen:
            g = gen.generate("sora2_image_to_video", prompt="a lighthouse", image_url=str(png), duration=4)
            rec = gen.history.get(g.history_id)  # type: ignore[arg-type]
    finally:
        emu.close()
    assert g.ok, g
    stored = rec.params["image_url"]
    assert stored.startswith(emu.queue_url + "/files/") and stored.endswith("/first.png"), stored
    sent = emu.load(rec.request_id)  # type: ignore[arg-type]
    assert sent is not None and sent.params["image_url"] == stored


def test_the_key_goes_only_to_the_token_route_and_the_cdn_sees_its_token(tmp_path: Path) -> None:
    from tests._secrets import FAL_KEY

    emu = Emulator(state_dir=tmp_path / "emulator", require_key=FAL_KEY)
    inner = emu.transport()
    auth: dict[str, str] = {}

    class Seen(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            auth[request.url.path] = request.headers.get("authorization", "")
            return await inner.handle_async_request(request)

    async def go() -> str:
        async with sw.AsyncFalClient(FAL_KEY, transport=Seen(), queue_url=emu.queue_url) as client:
            return await client.upload(png_bytes(8, 8), content_type="image/png", file_name="k.png")

    try:
        url = asyncio.run(go())
    finally:
        emu.close()
    assert auth["/storage/auth/token"] == f"Key {FAL_KEY}"
    assert auth["/files/upload"].startswith("Bearer ") and FAL_KEY not in auth["/files/upload"]
    assert url.endswith("/k.png")
