"""Fixtures the experiment tests share."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SORA2_WIDGETS_BUDGET", raising=False)
    monkeypatch.delenv("FAL_KEY", raising=False)
    return tmp_path / "home"
