"""Fixtures for the emulator suites: fast emulators on temp state dirs and a tiny protocol driver."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from emu_helpers import Api

from sora2_widgets.emulator import Emulator
from tests._emulators import emulator_maker


@pytest.fixture
def make_emu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Emulator]]:
    """``make_emu(**options)``: an emulator with test timings (~0.15 s per job) on a temp state dir."""
    yield from emulator_maker(tmp_path, monkeypatch, queue_delay=0.05, progress_time=0.1)


@pytest.fixture
def api_for() -> Callable[[Emulator], Any]:
    """``async with api_for(emu) as api:`` — an :class:`Api` over the emulator's in-process transport."""

    @asynccontextmanager
    async def open_api(emu: Emulator, **headers: str) -> AsyncIterator[Api]:
        async with httpx.AsyncClient(
            transport=emu.transport(), base_url=emu.base_url, headers=headers, timeout=30
        ) as client:
            yield Api(client, emu)

    return open_api
