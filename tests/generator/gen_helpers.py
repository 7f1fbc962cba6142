"""Helpers shared by the generator suites."""

from __future__ import annotations

from pathlib import Path

import sora2_widgets as sw
from tests.history.conftest import FakeClient
from tests.team.backends import open_history


def make(fake: FakeClient, home: Path, **kw: object) -> sw.Generator:
    """A Generator on the fake client and a history in ``home``, with no start-up resume pass."""
    return sw.Generator(client=fake, history=open_history(home), resume=False, **kw)  # type: ignore[arg-type]
