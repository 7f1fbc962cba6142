"""Run a suite against both ledger backends: the SQLite file and a real PostgreSQL server.

A pytest plugin (``tests/conftest.py`` loads it for the whole run, so the session has ONE throwaway
server however many suites use it). A test opts in by requesting the ``ledger_backend`` fixture (the
history and generator suites do it for every test through an autouse fixture): it then runs twice,
``[sqlite]`` and ``[postgresql]``, unless it is marked ``@pytest.mark.sqlite_only("why")`` (a test of
the SQLite file itself: its header, pragmas, WAL files; or of a pure function that no ledger reaches).
It opens ledgers with :func:`open_history` instead of ``sw.History(path)``: on the ``sqlite`` run that *is*
``sw.History(path)``; on the ``postgresql`` run each distinct folder gets a fresh database of its
own on the session's throwaway server (and the folder is the data directory: media go there), and
``SORA2_WIDGETS_DATABASE_URL`` points at the database of the test's home, so a bare
``sw.History()`` or ``sw.Generator()`` uses it too, and so does a child process given
:meth:`Backend.env_for`. The tests themselves are not copied.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sora2_widgets as sw

from ._server import PgServer, running_server

__all__ = ["BACKENDS", "Backend", "current", "open_history", "parametrise_backends"]

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

    def ledger_env(self, folder: Path) -> dict[str, str]:
        """The variables that make a bare ``sw.History()`` in a child process open the ledger of
        ``folder`` on this backend (``folder`` is its data directory either way)."""
        env = {"SORA2_WIDGETS_HOME": str(folder)}
        if self.name == "postgresql":
            env["SORA2_WIDGETS_DATABASE_URL"] = self.url_for(folder)
        return env

    def env_for(self, folder: Path) -> dict[str, str]:
        """This process's environment for a child, with :meth:`ledger_env` and no fal key."""
        env = {k: v for k, v in os.environ.items() if k not in ("FAL_KEY", "SORA2_WIDGETS_DATABASE_URL")}
        return {**env, **self.ledger_env(folder)}

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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sqlite_only(reason): run once, on SQLite only; the reason says why PostgreSQL does not apply",
    )


def _sqlite_only(metafunc: pytest.Metafunc) -> bool:
    mark = metafunc.definition.get_closest_marker("sqlite_only")
    if mark is None:
        return False
    reason = mark.args[0] if mark.args else mark.kwargs.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: sqlite_only needs a reason (why not PostgreSQL)")
    return True


def parametrise_backends(metafunc: pytest.Metafunc) -> None:
    """Run a test that uses ``ledger_backend`` twice, on SQLite and on PostgreSQL, unless it is
    marked ``sqlite_only`` (with the reason)."""
    if "ledger_backend" in metafunc.fixturenames:
        names = ["sqlite"] if _sqlite_only(metafunc) else list(BACKENDS)
        metafunc.parametrize("ledger_backend", names, indirect=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrise_backends(metafunc)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The session's one throwaway server (each test gets fresh databases on it)."""
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
