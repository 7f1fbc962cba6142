"""Issue 12 in the panel: every live model of the catalog (Veo 3.1, Kling 3.0, Seedance 2.0) is
priced and generates from the Text and Image tabs on the emulator, its start frame in the field the
model names (``start_image_url`` for Kling 3.0), and the saved MP4 has the size and length it reports."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image

import sora2_widgets as sw
from sora2_widgets import AsyncFalClient, Emulator, Generator, History
from sora2_widgets.panel import PanelController, Sora2Panel
from sora2_widgets.panel._media import image_from_bytes

LIVE = [m for m in sw.MODELS if m.id.startswith(("veo31_", "kling3_", "seedance2_"))]


@pytest.fixture
def live_panel(tmp_path: Path) -> Iterator[Any]:
    history = History(tmp_path / "history.sqlite3")
    emulator = Emulator(state_dir=tmp_path / "emu", queue_delay=0.01, progress_time=0.1, seed=5)
    generator = Generator(client=AsyncFalClient(emulator=emulator), history=history, resume=False)
    ctl = PanelController(generator, history)
    panel = Sora2Panel(ctl)
    yield panel
    panel.close()
    ctl.close()
    history.close()


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (1280, 720), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def test_the_catalog_has_the_twelve_live_entries() -> None:
    assert len(LIVE) == 12
    assert {m.mode.value for m in LIVE} == {"text", "image"}


@pytest.mark.parametrize("mode", ["text", "image"])
def test_each_live_model_generates_from_the_panel(live_panel: Any, mode: str) -> None:
    ctl = live_panel.controller
    ctl.set_tab(mode)
    if mode == "image":
        ctl.set_image(image_from_bytes(_png(), "start.png"))
    for spec in (m for m in LIVE if m.mode.value == mode):
        ctl.select([spec.id])
        live_panel.prompt.value = f"a red kite, {spec.name}"
        lines = ctl.cost_lines()
        assert lines and "$" in lines[0], (spec.id, lines)
        (job,) = ctl.generate()
        ctl.wait(180)
        assert job.status == "Done", (spec.id, job.status, job.error_message)
        if mode == "image":
            assert spec.image_fields[0] in job.params and "image_url" not in set(job.params) - set(spec.image_fields)
            # Uploaded through the emulator's storage: the ledger keeps that URL, not the bytes.
            stored = live_panel.controller.history.get(job.history_id).params[spec.image_fields[0]]
            assert stored.startswith("http") and "/files/" in stored, stored[:60]
        assert job.cost is not None and job.cost > 0
        assert job.local_path is not None
        with av.open(str(job.local_path)) as container:
            video = container.streams.video[0]
            assert video.width > 0 and video.height > 0
            audio = bool(container.streams.audio)
        assert audio == (job.params.get("generate_audio", True) is not False), spec.id
