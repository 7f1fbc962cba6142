"""The History tab: newest first, filters, delete, and paging."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ipywidgets as w

from sora2_widgets.panel._player import MediaPlayer

from ._fakes import FakeHistory
from ._helpers import TEXT_KLING, TEXT_SORA, run


def test_history_tab_newest_first_filter_and_delete(panel: Any, history: FakeHistory) -> None:
    run(panel, prompt="first", models=(TEXT_SORA,))
    run(panel, prompt="second", models=(TEXT_KLING,))
    panel.tabs.selected_index = 3
    rows = panel.history_rows.children
    assert len(rows) == 2 and "second" in rows[0].children[-1].value  # newest first
    assert any(isinstance(c, MediaPlayer) and c.kind == "image" for c in rows[0].children)  # thumbnail
    panel.history_model.value = TEXT_SORA
    assert len(panel.history_rows.children) == 1 and "first" in panel.history_rows.children[0].children[-1].value
    panel.history_model.value = ""
    panel._history_checks[0][1].value = True  # tick the newest row
    panel.history_delete.click()
    rows = panel.history_rows.children
    assert len(rows) == 1 and "first" in rows[0].children[-1].value
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
        for c in row.children
        if isinstance(c, w.HTML) and "sw-muted" in c.value
    ]


def test_history_says_how_many_rows_it_shows_and_shows_more(panel: Any, history: FakeHistory) -> None:
    add_rows(history, 250)
    panel.tabs.selected_index = 3
    assert len(panel.history_rows.children) == 100
    assert panel.history_count.value == "Showing 100 of 250 (newest first)."
    assert prompts(panel)[:2] == ["prompt 249", "prompt 248"]
    assert panel.history_more.layout.display != "none" and panel.history_more.description == "Show 100 more"
    panel.history_more.click()
    assert len(panel.history_rows.children) == 200
    assert panel.history_count.value == "Showing 200 of 250 (newest first)."
    assert panel.history_more.description == "Show 50 more"
    panel.history_more.click()
    assert len(panel.history_rows.children) == 250 and prompts(panel)[-1] == "prompt 0"
    assert panel.history_count.value == "250 generations, newest first."
    assert panel.history_more.layout.display == "none"
    # A filter starts again from its newest rows.
    panel.history_status.value = "completed"
    assert len(panel.history_rows.children) == 100


def test_a_short_history_has_no_show_more(panel: Any, history: FakeHistory) -> None:
    add_rows(history, 3)
    panel.tabs.selected_index = 3
    assert len(panel.history_rows.children) == 3
    assert panel.history_count.value == "3 generations, newest first."
    assert panel.history_more.layout.display == "none"
