"""The connection: kernels racing to open a new ledger, answers remembered for one revision only."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import sora2_widgets as sw
from tests.team.backends import open_history

from .ledger_rows import PRO, T2T, add, raw


@pytest.mark.slow
@pytest.mark.sqlite_only("the race is SQLite's own: switching a brand-new file to WAL mode")
def test_kernels_opening_a_new_ledger_together_all_get_in(tmp_path: Path) -> None:
    # Two notebooks started at once on a fresh data directory race to switch the new file to WAL;
    # SQLite refuses the loser at once ("database is locked") instead of making it wait. Threads
    # hit the same race as processes (each History has its own connection) and are quicker to run.
    import threading

    errors: list[BaseException] = []
    for round_ in range(200):
        where = tmp_path / str(round_)
        start = threading.Barrier(6)

        def open_and_add(where: Path = where, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                sw.History(where).add(
                    model_id="sora2_text_to_video",
                    endpoint="fal-ai/sora-2/text-to-video",
                    mode="text",
                    prompt="p",
                    provider="emulator",
                    status="completed",
                    cost_micros=100_000,
                )
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=open_and_add) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert {len(sw.History(tmp_path / str(r))) for r in range(200)} == {6}


def test_memoised_reads_follow_every_write(tmp_path: Path) -> None:
    h = open_history(tmp_path)
    add(h, cost="0.40", video_id="v1", kept_for_remix=1)
    assert h.total_spent() == Decimal("0.4")
    by_model = h.spend(by="model")
    assert by_model.loc[T2T, "total"] == Decimal("0.4")
    by_model.loc[T2T, "total"] = Decimal(99)  # the caller's copy
    assert h.spend(by="model").loc[T2T, "total"] == Decimal("0.4")
    assert [r.video_id for r in h.remix_candidates(as_records=True)] == ["v1"]
    assert list(h.remix_candidates()["video_id"]) == ["v1"]
    conn = raw(h)  # another writer: memoised answers must not survive it
    conn.execute("UPDATE generations SET cost_micros = 800000, deleted = 1 WHERE id = 1")
    assert h.total_spent() == Decimal("0.8")
    assert h.spend(by="model").loc[T2T, "total"] == Decimal("0.8")
    assert h.remix_candidates(as_records=True) == [] and h.remix_candidates().empty
    add(h, PRO, cost="2", video_id="v2", kept_for_remix=1)
    assert h.spend(by="model").loc[PRO, "total"] == Decimal("2") and h.total_spent() == Decimal("2.8")
    assert [r.video_id for r in h.remix_candidates(as_records=True)] == ["v2"]
