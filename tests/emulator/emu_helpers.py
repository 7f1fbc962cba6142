"""Shared by the emulator suites (a uniquely named module, so it cannot clash with other test dirs)."""

from __future__ import annotations

import asyncio
import base64
import importlib
import io
import os
import time
from typing import Any

import httpx
import pytest
from PIL import Image

from sora2_widgets.emulator import Emulator

SORA = "fal-ai/sora-2/text-to-video"
SORA_PRO = "fal-ai/sora-2/text-to-video/pro"
SORA_I2V = "fal-ai/sora-2/image-to-video"
SORA_I2V_PRO = "fal-ai/sora-2/image-to-video/pro"
REMIX = "fal-ai/sora-2/video-to-video/remix"
KLING = "fal-ai/kling-video/v2.5-turbo/pro/text-to-video"
KLING_I2V = "fal-ai/kling-video/v2.5-turbo/pro/image-to-video"


def official_fal_client() -> Any:
    """The official ``fal_client`` package. It is a test dependency (``.[test]``): with ``CI`` set,
    its absence fails the test (an ImportError) instead of skipping it, so CI cannot go green
    without ever talking to the emulator through fal-client. Locally, without it, the test skips."""
    if os.environ.get("CI"):
        return importlib.import_module("fal_client")
    return pytest.importorskip("fal_client")


def png_data_uri(width: int, height: int) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


class Api:
    """Speaks the queue protocol the way a client would: follows the URLs the server returns."""

    def __init__(self, client: httpx.AsyncClient, emu: Emulator) -> None:
        self.client = client
        self.emu = emu

    async def submit(self, endpoint: str, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
        r = await self.client.post(f"/{endpoint}", json=body, **kw)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def status(self, job: dict[str, Any], logs: bool = True) -> httpx.Response:
        return await self.client.get(job["status_url"], params={"logs": "1" if logs else "0"})

    async def wait(self, job: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = await self.status(job)
            assert r.status_code in (200, 202), r.text
            body = dict(r.json())
            if body["status"] == "COMPLETED":
                return body
            await asyncio.sleep(0.02)
        raise AssertionError(f"job {job['request_id']} did not complete within {timeout} s")

    async def result(self, job: dict[str, Any]) -> httpx.Response:
        return await self.client.get(job["response_url"])

    async def generate(self, endpoint: str, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        job = await self.submit(endpoint, body)
        await self.wait(job)
        r = await self.result(job)
        assert r.status_code == 200, r.text
        return job, dict(r.json())
