"""Fixtures for the generator suites: the history suites' fake client, its MP4 and a temp home."""

from __future__ import annotations

from tests.history.conftest import fake, home, mp4_bytes  # noqa: F401
