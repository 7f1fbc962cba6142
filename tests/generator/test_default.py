"""``sw.generate`` and ``sw.generate_many`` (``generator._default``) run on the default generator."""

from __future__ import annotations

from pathlib import Path

import pytest

import sora2_widgets as sw
from tests.history.conftest import FakeClient
from tests.team.backends import open_history


def test_module_level_generate_uses_default_generator(
    home: Path, fake: FakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sora2_widgets.generator._default as g_mod

    monkeypatch.setattr(g_mod, "_default", sw.Generator(client=fake, resume=False))
    g = sw.generate("sora2_text_to_video", prompt="default")
    outs = sw.generate_many([("sora2_text_to_video", {"prompt": "a"})])
    assert g.ok and outs[0].ok and len(open_history()) == 2
    g_mod._default.close()  # type: ignore[union-attr]
