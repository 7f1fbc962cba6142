"""A sweep on each ledger backend: SQLite and a team ledger on PostgreSQL (rows, re-run, spend by sweep)."""

from __future__ import annotations

from pathlib import Path

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator
from tests.team.backends import open_history


def test_a_sweep_resumes_and_reports_on_either_ledger(home: Path, ledger_backend: object) -> None:
    emu = Emulator(state_dir=home / "emulator", queue_delay=0.0, progress_time=0.05)
    s = sw.sweep(["a kite", "a harbour"], "sora2_text_to_video", name="both", duration=[4, 8])
    history = open_history(home)
    try:
        with sw.Generator(client=sw.AsyncFalClient(emulator=emu), history=history, resume=False) as gen:
            first = s.run(generator=gen, progress="none")
            again = s.run(generator=gen, progress="none")
    finally:
        emu.close()
    assert list(first["status"]) == ["completed"] * 4
    assert again["history_id"].tolist() == first["history_id"].tolist()
    assert len(list((home / "emulator" / "jobs").glob("*.json"))) == 4
    spend = history.spend(by="sweep")
    assert spend.loc["both", "count"] == 4 and spend.loc["both", "total"] == history.total_spent()
    history.close()
