"""The History tab knows about experiments: rating, tag and sweep filters, and "Compare selected"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sora2_widgets.experiments import Compare
from tests.panel import conftest as panel_fixtures
from tests.panel._fakes import FakeHistory
from tests.panel._helpers import TEXT_KLING, TEXT_SORA, find

# The panel tests' fixtures, used here by name: a panel on a fake generator over a real ledger.
_home = panel_fixtures._home
history = panel_fixtures.history
generator = panel_fixtures.generator
panel = panel_fixtures.panel


def _rows(history: FakeHistory, tmp_path: Path) -> list[int]:
    ids = []
    for i, (model, sweep) in enumerate([(TEXT_SORA, "boats"), (TEXT_KLING, "boats"), (TEXT_SORA, None)]):
        video = tmp_path / f"v{i}.mp4"
        video.write_bytes(b"mp4")
        ids.append(
            history.add(
                model_id=model,
                status="completed",
                prompt=f"prompt {i}",
                cost_usd=0.4,
                sweep=sweep,
                local_path=str(video),
            )
        )
    history.rate(ids[0], 5, notes="the one")
    history.rate(ids[1], 2)
    history.tag(ids[1], "night")
    history.tag(ids[2], "night", "wide")
    return ids


def _prompts(panel: Any) -> list[str]:
    return [
        str(c.value).split("<div class='sw-muted'>")[1].split("</div>")[0]
        for row in panel.history_tab.history_rows.children
        for c in find(row, "sw-history-text")
    ]


def test_filters_by_rating_tag_and_sweep(panel: Any, history: FakeHistory, tmp_path: Path) -> None:
    _rows(history, tmp_path)
    panel.tabs.selected_index = 3
    tab = panel.history_tab
    assert _prompts(panel) == ["prompt 2", "prompt 1", "prompt 0"]
    assert [v for _label, v in tab.history_tag.options] == ["", "night", "wide"]
    assert [v for _label, v in tab.history_sweep.options] == ["", "boats"]
    tab.history_rating.value = "4"  # four stars or more
    assert _prompts(panel) == ["prompt 0"]
    tab.history_rating.value = "unrated"
    assert _prompts(panel) == ["prompt 2"]
    tab.history_rating.value = ""
    tab.history_tag.value = "night"
    assert _prompts(panel) == ["prompt 2", "prompt 1"]
    tab.history_sweep.value = "boats"
    assert _prompts(panel) == ["prompt 1"]
    row_text = str(find(tab.history_rows.children[0], "sw-history-text")[0].value)
    assert "★★ · tags: night" in row_text


def test_compare_selected_opens_the_ticked_rows(panel: Any, history: FakeHistory, tmp_path: Path) -> None:
    ids = _rows(history, tmp_path)
    panel.tabs.selected_index = 3
    tab = panel.history_tab
    tab.history_compare.click()
    assert tab.history_compare_box.children == ()
    assert "Tick the rows to compare first." in tab.history_note.value
    for row_id, box in tab.checks:
        box.value = row_id in (ids[0], ids[1])
    tab.history_compare.click()
    (grid,) = tab.history_compare_box.children
    assert isinstance(grid, Compare)
    assert [c.history_id for c in grid.grid.cells] == [ids[0], ids[1]]
    assert grid.col_labels == ["Sora 2", "Kling 2.5 Turbo Pro"]
    grid.rate(ids[1], 3)  # the grid writes the panel's own ledger
    assert int(history.df.loc[ids[1], "rating"]) == 3
