"""The History tab: newest first, filters, delete, and paging."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sora2_widgets.panel._player import MediaPlayer
from sora2_widgets.panel._tab_history import HISTORY_PAGE
from sora2_widgets.panel._widgets import panel_tree

from ._fakes import FakeHistory
from ._helpers import TEXT_KLING, TEXT_SORA, find, run


def text(row: Any) -> str:
    """A History row's text: model · status · cost · date, and the prompt."""
    (html,) = find(row, "sw-history-text")
    return str(html.value)


def test_history_tab_newest_first_filter_and_delete(panel: Any, history: FakeHistory) -> None:
    run(panel, prompt="first", models=(TEXT_SORA,))
    run(panel, prompt="second", models=(TEXT_KLING,))
    panel.tabs.selected_index = 3
    rows = panel.history_rows.children
    assert len(rows) == 2 and "second" in text(rows[0])  # newest first
    assert any(isinstance(c, MediaPlayer) and c.kind == "image" for c in panel_tree(rows[0]))  # thumbnail
    panel.history_model.value = TEXT_SORA
    assert len(panel.history_rows.children) == 1 and "first" in text(panel.history_rows.children[0])
    panel.history_model.value = ""
    panel._history_checks[0][1].value = True  # tick the newest row
    panel.history_delete.click()
    rows = panel.history_rows.children
    assert len(rows) == 1 and "first" in text(rows[0])
    assert [r.deleted for r in history.rows] == [False, True]


def add_rows(history: FakeHistory, n: int) -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    for i in range(n):
        history.add(
            model_id=TEXT_SORA,
            status="completed",
            prompt=f"prompt {i}",
            cost_usd=0.4,
            created_at=start + dt.timedelta(minutes=i),
        )


def prompts(panel: Any) -> list[str]:
    return [
        c.value.split("<div class='sw-muted'>")[1].split("</div>")[0]
        for row in panel.history_rows.children
        for c in find(row, "sw-history-text")
    ]


def test_history_says_how_many_rows_it_shows_and_shows_more(panel: Any, history: FakeHistory) -> None:
    page = HISTORY_PAGE
    total = 2 * page + page // 2
    add_rows(history, total)
    panel.tabs.selected_index = 3
    assert len(panel.history_rows.children) == page
    assert panel.history_count.value == f"Showing {page} of {total} (newest first)."
    assert prompts(panel)[:2] == [f"prompt {total - 1}", f"prompt {total - 2}"]
    assert panel.history_more.layout.display != "none" and panel.history_more.description == f"Show {page} more"
    panel.history_more.click()
    assert len(panel.history_rows.children) == 2 * page
    assert panel.history_count.value == f"Showing {2 * page} of {total} (newest first)."
    assert panel.history_more.description == f"Show {page // 2} more"
    panel.history_more.click()
    assert len(panel.history_rows.children) == total and prompts(panel)[-1] == "prompt 0"
    assert panel.history_count.value == f"{total} generations, newest first."
    assert panel.history_more.layout.display == "none"
    # A filter starts again from its newest rows.
    panel.history_status.value = "completed"
    assert len(panel.history_rows.children) == page


def test_a_short_history_has_no_show_more(panel: Any, history: FakeHistory) -> None:
    add_rows(history, 3)
    panel.tabs.selected_index = 3
    assert len(panel.history_rows.children) == 3
    assert panel.history_count.value == "3 generations, newest first."
    assert panel.history_more.layout.display == "none"


def test_a_job_on_its_way_shows_its_estimate_as_an_estimate(panel: Any, history: FakeHistory) -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    rows = [
        ("queued", "in_queue", {"est_low_micros": 400_000, "est_high_micros": 400_000}, "emulator"),
        ("running", "in_progress", {"est_low_micros": 700_000, "est_high_micros": 1_400_000}, "fal"),
        ("done", "completed", {"est_low_micros": 400_000, "est_high_micros": 400_000, "cost_usd": 0.4}, "fal"),
        ("failed", "failed", {"est_low_micros": 400_000, "est_high_micros": 400_000}, "fal"),
    ]
    for i, (prompt, status, money, provider) in enumerate(rows):
        history.add(model_id=TEXT_SORA, status=status, prompt=prompt, provider=provider,
                    created_at=start + dt.timedelta(minutes=i), **money)  # fmt: skip
    panel.tabs.selected_index = 3
    shown = {
        text(r).split("<div class='sw-muted'>")[1].split("</div>")[0]: text(r) for r in panel.history_rows.children
    }
    assert "Sora 2</b> · In queue · ≈ $0.40 est. (simulated) · " in shown["queued"]
    assert "Sora 2</b> · Generating · ≈ $0.70–$1.40 est. · " in shown["running"]
    assert "Sora 2</b> · Completed · $0.40 · " in shown["done"]  # the final figure, not an estimate
    # A job that ended without a cost is not given its estimate as if it were what it cost.
    assert "Failed · cost not known · " in shown["failed"] and "est." not in shown["failed"]
    assert not any("$0.00" in t or "cost not known" in t for p, t in shown.items() if p in ("queued", "running"))
