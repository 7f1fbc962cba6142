"""Root conftest: every test runs under the suite-wide secret-leak check (tests/_leak_check.py);
a test that asks for ``ledger_backend`` runs on SQLite and on the session's one PostgreSQL server
(tests/team/backends.py). ``home`` is a data directory of the test's own."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests._leak_check", "tests.team.backends"]


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``SORA2_WIDGETS_HOME`` in the test's temp folder, with no key and no budget from the machine."""
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SORA2_WIDGETS_BUDGET", raising=False)
    monkeypatch.delenv("FAL_KEY", raising=False)
    return tmp_path / "home"
