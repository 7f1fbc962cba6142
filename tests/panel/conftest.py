"""Fixtures: a panel over the real ledger (temp file) and a fake generator (see _fakes.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sora2_widgets import History
from sora2_widgets.panel import PanelController, Sora2Panel

from ._fakes import FakeGenerator, FakeHistory


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FAL_KEY", raising=False)
    monkeypatch.delenv("FAL_KEY_ID", raising=False)
    monkeypatch.delenv("FAL_KEY_SECRET", raising=False)
    monkeypatch.delenv("SORA2_WIDGETS_BUDGET", raising=False)


@pytest.fixture
def history(tmp_path: Path) -> Iterator[FakeHistory]:
    ledger = FakeHistory(tmp_path / "ledger" / "history.sqlite3")
    yield ledger
    ledger.close()


@pytest.fixture
def generator(history: FakeHistory, tmp_path: Path) -> FakeGenerator:
    media = tmp_path / "media"
    media.mkdir()
    return FakeGenerator(history, media)


@pytest.fixture
def panel(generator: FakeGenerator, history: FakeHistory) -> Iterator[Any]:
    ctl = PanelController(generator, history, generator_factory=lambda key: None)
    p = Sora2Panel(ctl)
    yield p
    ctl.close()


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[History]:
    history = History(tmp_path / "history.sqlite3")
    yield history
    history.close()
