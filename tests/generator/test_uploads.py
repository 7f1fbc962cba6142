"""Local images through the generator: an ``uploading`` stage, the uploaded URL in the ledger, and a
batch that never uploads more files at once than the client's ``max_concurrency`` (issue 13)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator
from tests.history.ledger_rows import raw
from tests.team.backends import open_history

pytestmark = pytest.mark.timeout(240)

I2V = "sora2_image_to_video"


def _png(path: Path, size: tuple[int, int] = (1280, 720), color: tuple[int, int, int] = (200, 40, 40)) -> Path:
    Image.new("RGB", size, color).save(path, format="PNG")
    return path


@pytest.fixture
def emu(home: Path) -> Any:
    emulator = Emulator(state_dir=home / "emulator", queue_delay=0.02, progress_time=0.05)
    yield emulator
    emulator.close()


def test_a_local_png_is_uploaded_as_a_stage_and_its_url_recorded(home: Path, emu: Emulator, tmp_path: Path) -> None:
    still = _png(tmp_path / "still.png")
    seen: list[sw.Progress] = []
    with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=open_history(home), resume=False) as gen:
        g = gen.generate(I2V, prompt="it starts to rain", image_url=still, duration=4, on_update=seen.append)
        rec = gen.history.get(g.history_id)  # type: ignore[arg-type]
    stages = [p.stage for p in seen]
    assert stages[0] == "uploading" and stages.index("uploading") < stages.index("submitted"), stages
    [uploading] = [p for p in seen if p.stage == "uploading"]
    assert uploading.logs and "still.png" in uploading.logs[-1].message and "KB" in uploading.logs[-1].message
    sent = rec.params["image_url"]
    assert sent.startswith(emu.base_url + "/files/") and sent.endswith("/still.png"), sent
    db = raw(gen.history)  # what the database itself holds, SQLite or PostgreSQL
    stored = [json.loads(row[0]) for row in db.execute("SELECT params_json FROM generations")]
    assert [row["image_url"] for row in stored] == [sent], "the ledger holds the URL, never the bytes"
    assert emu.stats["upload"] >= 1 and g.ok


def test_a_url_input_has_no_uploading_stage(home: Path, emu: Emulator, tmp_path: Path) -> None:
    seen: list[sw.Progress] = []
    with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=open_history(home), resume=False) as gen:
        client = gen.client
        url = asyncio.run(_upload(client, _png(tmp_path / "given.png")))
        gen.generate(I2V, prompt="rain", image_url=url, duration=4, on_update=seen.append)
    assert "uploading" not in [p.stage for p in seen]


async def _upload(client: sw.AsyncFalClient, path: Path) -> str:
    return await client.upload_file(path, content_type="image/png")


class CountingClient(sw.AsyncFalClient):
    """Counts uploads in flight. Each upload waits (bounded) for every other job's upload to begin,
    so without a limit they all overlap, and with one the count shows it."""

    def __init__(self, jobs: int, **kw: Any) -> None:
        super().__init__(**kw)
        self.jobs = jobs
        self.in_flight = 0
        self.most = 0
        self.everyone: asyncio.Event | None = None

    async def upload(self, data: bytes, *, content_type: str, file_name: str = "upload.bin") -> str:
        if self.everyone is None:
            self.everyone = asyncio.Event()
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        if self.in_flight >= self.jobs:
            self.everyone.set()
        try:
            # Bounded: with the limit working, the others cannot start until this job has ended. Long
            # enough that, on a loaded machine, the jobs the limit lets in all begin their upload.
            try:
                await asyncio.wait_for(self.everyone.wait(), 1.5)
            except asyncio.TimeoutError:
                pass
            return await super().upload(data, content_type=content_type, file_name=file_name)
        finally:
            self.in_flight -= 1


@pytest.mark.parametrize("limit", [1, 2])
def test_a_batch_uploads_at_most_max_concurrency_files_at_once(
    home: Path, emu: Emulator, tmp_path: Path, limit: int
) -> None:
    stills = [_png(tmp_path / f"still{i}.png", color=(40 * i, 90, 90)) for i in range(4)]
    client = CountingClient(len(stills), emulator=emu, max_concurrency=limit)
    with sw.Generator(client=client, history=open_history(home), resume=False) as gen:
        out = gen.generate_many(
            [(I2V, {"prompt": f"rain {i}", "image_url": s, "duration": 4}) for i, s in enumerate(stills)]
        )
    assert [g.status for g in out] == ["completed"] * len(stills), [g.error for g in out]
    assert client.most == limit, f"{client.most} uploads at once with max_concurrency={limit}"
    assert emu.stats["submits"] == len(stills)
