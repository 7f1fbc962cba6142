"""Fixtures for the Platform API suites: an emulator with admin keys, jobs run on it, and an httpx
client whose every ``/v1`` answer is checked against fal's OpenAPI document."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sora2_widgets._catalog import get_model
from sora2_widgets.emulator import Emulator
from sora2_widgets.emulator._jobs import JobRecord
from sora2_widgets.emulator._options import PlatformSwitches
from tests._emulators import emulator_maker
from tests._secrets import FAL_ADMIN_KEY, FAL_KEY
from tests.platform._spec import SpecCheckingTransport

SORA = "fal-ai/sora-2/text-to-video"
SORA_PRO = "fal-ai/sora-2/text-to-video/pro"
KLING = "fal-ai/kling-video/v2.5-turbo/pro/text-to-video"


@pytest.fixture
def make_emu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Emulator]]:
    """``make_emu(**options)``: a quick emulator that wants ``FAL_KEY`` and knows ``FAL_ADMIN_KEY`` as admin."""
    admin = PlatformSwitches(admin_keys=frozenset({FAL_ADMIN_KEY}))
    yield from emulator_maker(
        tmp_path, monkeypatch, queue_delay=0.0, progress_time=0.05, require_key=FAL_KEY, platform=admin
    )


@pytest.fixture
def emu(make_emu: Callable[..., Emulator]) -> Emulator:
    return make_emu()


@pytest.fixture
async def checked(emu: Emulator) -> AsyncIterator[tuple[httpx.AsyncClient, SpecCheckingTransport]]:
    """An httpx client on ``emu`` (sending ``FAL_KEY``) whose ``/v1`` answers are checked against the spec."""
    transport = SpecCheckingTransport(emu.transport())
    headers = {"Authorization": f"Key {FAL_KEY}"}
    async with httpx.AsyncClient(transport=transport, base_url=emu.base_url, headers=headers, timeout=60) as client:
        yield client, transport


async def run_job(client: httpx.AsyncClient, endpoint: str, body: dict[str, Any], timeout: float = 120) -> str:
    """Submit through the queue and wait until the job is COMPLETED; its request id."""
    submitted = await client.post(f"/{endpoint}", json=body)
    assert submitted.status_code == 200, submitted.text
    job = submitted.json()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = await client.get(job["status_url"])
        if status.json()["status"] == "COMPLETED":
            return str(job["request_id"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job['request_id']} did not complete in {timeout} s")


def seed_completed(
    emu: Emulator, endpoint: str, count: int, *, duration: int = 4, at: float | None = None
) -> list[str]:
    """``count`` jobs on disk, completed ``at`` (default: a minute ago), without rendering their videos.

    Billing and request history read the job records only; rendering 50 MP4s would only make the
    suite slow on a shared machine.
    """
    spec = get_model(endpoint)
    when = time.time() - 60 if at is None else at
    ids = []
    for _ in range(count):
        request_id, video_id = emu.new_ids(video=spec.is_sora)
        record = JobRecord(
            request_id=request_id, endpoint=spec.endpoint, model_id=spec.id, model_name=spec.name,
            app_id=spec.app_id, submitted_at=when - 1.0, queue_delay=0.0, progress_time=0.5, queue_position=0,
            params={"prompt": f"seeded {request_id}", "duration": duration}, width=1280, height=720, fps=24,
            duration=duration, resolution="720p", aspect_ratio="16:9", title="seeded", subtitle="", seed=1,
            video_file="output.mp4", thumbnail_file=None, video_id=video_id,
            rendered={"file_size": 1, "duration": float(duration)}, rendered_at=when,
        )  # fmt: skip
        emu.store.save(record)
        ids.append(request_id)
    return ids
