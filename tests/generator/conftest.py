"""Fixtures for the generator suites: the history suites' fake client, its MP4 and a temp home,
and both ledger backends (every test runs on SQLite and on PostgreSQL unless its module says
``SQLITE_ONLY = True``)."""

from __future__ import annotations

import pytest

from tests.history.conftest import fake, home, mp4_bytes  # noqa: F401
from tests.team.backends import ledger_backend, parametrise_backends, pg_server  # noqa: F401


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrise_backends(metafunc)


@pytest.fixture(autouse=True)
def _on_each_backend(ledger_backend: object) -> None:  # noqa: F811 - the imported fixture, requested
    """Each test on the backend it was parametrised with."""
