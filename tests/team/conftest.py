"""The team tests' own PostgreSQL server (they restart and stop it) and client processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._server import PgServer, running_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server() -> Iterator[PgServer]:
    """A server of the module's own: these tests stop and restart it, which must not reach the
    session's shared one (tests/team/backends.py). A module that does neither uses ``pg_server``."""
    with running_server() as srv:
        yield srv


@pytest.fixture()
def url(server: PgServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A fresh database; this test process is a client of it too, with its home in tmp_path."""
    db = server.new_database()
    monkeypatch.setenv("SORA2_WIDGETS_DATABASE_URL", db)
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SORA2_WIDGETS_BUDGET", raising=False)
    monkeypatch.delenv("FAL_KEY", raising=False)
    return db


def client(kind: str, *args: str, home: Path, user: str = "alice") -> subprocess.Popen[str]:
    """Another client process (tests/team/worker.py) on the same ledger, with its own home."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SORA2_WIDGETS_HOME": str(home),
        "SORA2_WIDGETS_USER": user,
    }
    env.pop("FAL_KEY", None)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.team.worker", kind, *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
