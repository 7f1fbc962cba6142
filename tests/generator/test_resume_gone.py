"""Resuming a completed row whose video fal no longer serves: tried once, then left alone."""

from __future__ import annotations

from pathlib import Path

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator, Retention
from tests.team.backends import open_history


def _generator(emu: Emulator, home: Path) -> sw.Generator:
    return sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=open_history(home), resume=False)


def test_a_video_gone_for_good_is_asked_for_once_then_never_again(home: Path) -> None:
    emu = Emulator(state_dir=home / "emulator", queue_delay=0.05, progress_time=0.1)
    try:
        with _generator(emu, home) as gen:
            g = gen.generate("sora2_text_to_video", prompt="a kite", duration=4)
            assert g.ok and g.history_id is not None
            # As a session whose download broke for a passing reason leaves it: paid, no file yet.
            gen.history.update(g.history_id, local_path=None, sha256=None, error="download failed: reset")
            emu.retention = Retention(media=1e-6)  # fal stops serving the file
            before = emu.stats["media"]
            (tried,) = gen.resume()
            tried_gets = emu.stats["media"] - before
            assert gen.resume() == []
            again_gets = emu.stats["media"] - before - tried_gets
            rec = gen.history.get(g.history_id)
    finally:
        emu.close()
    assert tried_gets >= 1, "a passing failure is retried"
    assert again_gets == 0, "a file gone for good is not asked for again"
    assert rec.status == "completed" and rec.local_path is None and rec.video_url is None
    assert rec.cost is not None and rec.cost == g.cost, "its cost stands"
    assert "could no longer be downloaded" in (rec.error or "") and tried.error == rec.error
