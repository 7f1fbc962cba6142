"""Fixtures for the generator suites: the history suites' fake client and its MP4 (the temp
``home`` is the root conftest's), and both ledger backends (every test runs on SQLite and on
PostgreSQL unless it is marked ``sqlite_only`` with its reason; see tests/team/backends.py)."""

from __future__ import annotations

import pytest

from tests.history.conftest import fake, mp4_bytes  # noqa: F401


@pytest.fixture(autouse=True)
def _on_each_backend(ledger_backend: object) -> None:
    """Each test on the backend it was parametrised with."""
