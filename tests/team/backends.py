"""Run a suite against both ledger backends: the SQLite file and a real PostgreSQL server.

A suite opts in with :func:`parametrise_backends` in its ``pytest_generate_tests`` hook and opens
ledgers with :func:`open_history` instead of ``sw.History(path)``: on the ``sqlite`` run that *is*
``sw.History(path)``; on the ``postgresql`` run each distinct folder gets a fresh database of its
own on the session's throwaway server (and the folder is the data directory: media go there), and
``SORA2_WIDGETS_DATABASE_URL`` points at the database of the test's home, so a bare
``sw.History()`` or ``sw.Generator()`` uses it too. The tests themselves are not copied.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sora2_widgets as sw

from ._server import PgServer, running_server

__all__ = ["BACKENDS", "Backend", "open_history", "parametrise_backends"]

BACKENDS = ("sqlite", "postgresql")


class Backend:
    """The backend of the test running now, and the databases it made (by folder)."""

    def __init__(self, name: str, server: PgServer | None) -> None:
        self.name = name
        self.server = server
        self.urls: dict[Path, str] = {}

    def url_for(self, folder: Path) -> str:
        assert self.server is not None
        key = folder.expanduser().resolve()
        if key not in self.urls:
            self.urls[key] = self.server.new_database()
        return self.urls[key]

    def open(self, path: str | os.PathLike[str] | None = None, **kw: Any) -> sw.History:
        if self.name == "sqlite":
            return sw.History(path, **kw)
        from sora2_widgets._config import data_dir

        folder = Path(path) if path is not None else data_dir()
        if folder.suffix and not folder.is_dir():  # a ledger file's name: its folder
            folder = folder.parent
        url = self.url_for(folder)
        before = os.environ.get("SORA2_WIDGETS_HOME")
        os.environ["SORA2_WIDGETS_HOME"] = str(folder)
        try:
            return sw.History(url, **kw)
        finally:
            if before is None:
                os.environ.pop("SORA2_WIDGETS_HOME", None)
            else:
                os.environ["SORA2_WIDGETS_HOME"] = before


_current: Backend = Backend("sqlite", None)


def open_history(path: str | os.PathLike[str] | None = None, **kw: Any) -> sw.History:
    """``sw.History(path)`` on the backend of the test running now."""
    return _current.open(path, **kw)


def current() -> Backend:
    return _current


def parametrise_backends(metafunc: pytest.Metafunc) -> None:
    """Run each test of a module twice, on SQLite and on PostgreSQL, unless the module says
    ``SQLITE_ONLY = True`` (tests of the SQLite file itself: its header, pragmas, snapshot file)."""
    if "ledger_backend" in metafunc.fixturenames:
        names = ["sqlite"] if getattr(metafunc.module, "SQLITE_ONLY", False) else list(BACKENDS)
        metafunc.parametrize("ledger_backend", names, indirect=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    with running_server() as server:
        yield server


@pytest.fixture()
def ledger_backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Backend]:
    """The backend for this test (``sqlite`` or ``postgresql``), made current for :func:`open_history`."""
    global _current
    name = getattr(request, "param", "sqlite")
    server = request.getfixturevalue("pg_server") if name == "postgresql" else None
    backend = Backend(name, server)
    if server is not None:
        # The test's home (the `home` fixture's folder) is the data directory: a bare History()
        # opens its database.
        monkeypatch.setenv("SORA2_WIDGETS_DATABASE_URL", backend.url_for(tmp_path / "home"))
    previous, _current = _current, backend
    try:
        yield backend
    finally:
        _current = previous
