"""Fixtures of the reliability suites: the emulator served on loopback (real HTTP), renders cached."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rel_support import caching_renderer

from sora2_widgets.emulator import _emulator as emulator_module
from sora2_widgets.emulator._emulator import Emulator
from sora2_widgets.emulator._serve import running_emulator


@dataclass
class Loopback:
    emu: Emulator
    base_url: str
    state_dir: Path


@pytest.fixture(scope="session")
def loopback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loopback]:
    """One emulator for the whole session, on 127.0.0.1: tiny timings, one real MP4 per shape."""
    root = tmp_path_factory.mktemp("emulator")
    patch = pytest.MonkeyPatch()
    patch.setattr(emulator_module, "render_video", caching_renderer(emulator_module.render_video, root / "cache"))
    emu = Emulator(state_dir=root / "state", queue_delay=0.0, progress_time=0.05, seed=8)
    try:
        with running_emulator(emu) as base_url:
            yield Loopback(emu, base_url, root / "state")
    finally:
        emu.close()
        patch.undo()
