"""The Remix tab's picker: empty, then kept videos, a page at a time."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import ipywidgets as w

from sora2_widgets.panel import PanelController, Sora2Panel
from sora2_widgets.panel._player import MediaPlayer

from ._fakes import PNG, FakeGenerator, FakeHistory
from ._helpers import TEXT_SORA, classes, find, run, setting


def test_remix_picker_empty_then_offers_kept_videos(panel: Any, generator: FakeGenerator) -> None:
    ctl = panel.controller
    ctl.set_tab("remix")
    assert find(panel, "sw-remix-empty")[0].layout.display != "none"
    assert panel.remix_picker.layout.display == "none"
    assert "No Sora videos available yet" in panel.remix_empty.value
    assert "Pick a video to remix." in ctl.blockers or "Write a prompt." in ctl.blockers
    ctl.set_tab("text")
    setting(panel, "delete_video").value = False  # "Keep for remix" unticked
    run(panel, prompt="not kept")
    setting(panel, "delete_video").value = True
    (kept, _) = run(panel, prompt="kept one")
    ctl.set_tab("remix")
    assert panel.remix_empty.layout.display == "none" and panel.remix_picker.layout.display != "none"
    (row,) = find(panel.remix_picker, "sw-remix-option")
    (thumb,) = find(row, "sw-remix-option-thumb")
    assert isinstance(thumb, MediaPlayer) and thumb.read() == PNG  # the video's own thumbnail
    (text,) = find(row, "sw-remix-option-text")
    assert "<div>kept one</div>" in text.value and "8 s · 720p" in text.value
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", text.value)  # its date
    (choose,) = find(row, "sw-remix-option-choose")
    assert isinstance(choose, w.ToggleButton) and not choose.value and choose.description == "Choose"
    choose.value = True  # the user picks it
    assert ctl.remix_source is not None and ctl.remix_source.video_id == kept.job.video_id
    assert choose.description == "Chosen" and "sw-remix-option-selected" in classes(row)
    choose.value = False  # and un-picks it
    assert ctl.remix_source is None and "sw-remix-option-selected" not in classes(row)
    # "Remix this" on the card opens the Remix tab with that source chosen, with its thumbnail
    ctl.set_tab("text")
    find(kept, "sw-remix-this")[0].click()
    assert ctl.tab == "remix" and panel.tabs.selected_index == 2
    assert ctl.remix_source is not None and ctl.remix_source.video_id == kept.job.video_id
    (row,) = find(panel.remix_picker, "sw-remix-option")
    assert find(row, "sw-remix-option-choose")[0].value and "sw-remix-option-selected" in classes(row)
    assert any(isinstance(c, MediaPlayer) and c.read() == PNG for c in panel.remix_preview.children)
    panel.prompt.value = "make it night"
    assert ctl.cost_lines()[0] == "Total: $0.80"  # 8 s source × $0.10
    panel.generate.click()
    ctl.wait(10)
    assert generator.calls[-1][0] == "sora2_video_to_video_remix"
    assert generator.calls[-1][1]["video_id"] == kept.job.video_id


def add_kept(history: FakeHistory, thumb: Path, n: int) -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    for i in range(n):
        history.add(
            model_id=TEXT_SORA,
            status="completed",
            prompt=f"kept {i}",
            video_id=f"video_{i}",
            kept_for_remix=True,
            thumbnail_path=str(thumb),
            duration=4.0,
            created_at=start + dt.timedelta(minutes=i),
        )


def test_the_remix_picker_pages_its_rows_and_keeps_a_chosen_one_in_view(
    panel: Any, history: FakeHistory, tmp_path: Path
) -> None:
    thumb = tmp_path / "t.png"
    thumb.write_bytes(PNG)
    add_kept(history, thumb, 25)
    ctl = panel.controller
    ctl.set_tab("remix")
    rows = panel.remix_picker.children
    assert len(rows) == 20 and "kept 24" in rows[0].children[1].value  # newest first
    assert all(isinstance(r.children[0], MediaPlayer) for r in rows)
    assert panel.remix_more.layout.display != "none" and panel.remix_more.description == "Show 5 more"
    panel.remix_more.click()
    assert len(panel.remix_picker.children) == 25 and panel.remix_more.layout.display == "none"
    assert panel.remix_picker.children[:20] == rows  # the rows already there are not rebuilt
    assert ctl.remix_source is None  # showing more chose nothing

    fresh = Sora2Panel(PanelController(history=history, generator_factory=lambda key: None))
    try:
        oldest = next(c for c in fresh.controller.remix_candidates() if c.prompt == "kept 0")
        fresh.controller.set_tab("remix")
        fresh.controller.set_remix_source(oldest.key)  # as "Remix this" on an old card does
        assert len(fresh.remix_picker.children) == 25
        assert "sw-remix-option-selected" in fresh.remix_picker.children[-1]._dom_classes
    finally:
        fresh.controller.close()
