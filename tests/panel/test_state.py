"""What a saved notebook gets from the panel: no leaked widget models, no media bytes, readable text forms."""

from __future__ import annotations

import json
from typing import Any

import ipywidgets as w
import pytest
from ipywidgets.widgets.widget import _instances

from sora2_widgets.panel import PanelController, Sora2Panel
from sora2_widgets.panel._widgets import widget_tree

from ._fakes import FakeGenerator, FakeHistory
from ._helpers import XSS, run


def _alive() -> set[str]:
    return set(_instances)


def _orphans(panel: Any, before: set[str]) -> list[str]:
    """Models made since ``before`` that the panel's tree no longer holds: nothing can show them."""
    held = {node.model_id for node in widget_tree(panel)}
    return sorted(
        f"{type(_instances[m]).__name__} {_instances[m]._dom_classes if hasattr(_instances[m], '_dom_classes') else ''}"
        for m in _alive() - before - held
    )


def test_ten_generations_and_a_clear_leak_no_widget_models(panel: Any) -> None:
    before = _alive() - {node.model_id for node in widget_tree(panel)}
    for i in range(10):
        run(panel, prompt=f"generation {i}")
        # The user looks around between runs: every tab redraws (history rows, remix picker, spend).
        for tab in range(len(panel.tabs.children)):
            panel.tabs.selected_index = tab
        panel.tabs.selected_index = 0
    assert len(panel.cards) == 10
    assert panel.clear_finished.layout.display != "none"
    assert panel.clear_cards() == 10
    assert panel.cards == {} and panel.jobs.children == ()
    assert panel.clear_finished.layout.display == "none"
    assert _orphans(panel, before) == []


def test_a_cleared_card_closes_every_model_it_had(panel: Any) -> None:
    (card,) = run(panel)
    models = [node.model_id for node in widget_tree(card)]
    assert len(models) > 10  # the card, its boxes, buttons, layouts, styles and the player
    assert card.dismiss is not None
    card.dismiss.click()
    assert not set(models) & _alive()
    assert panel.cards == {}


def test_a_closed_panel_leaves_no_models(generator: FakeGenerator, history: FakeHistory) -> None:
    before = _alive()
    ctl = PanelController(generator, history, generator_factory=lambda key: None)
    panel = Sora2Panel(ctl)
    run(panel)
    panel.close()
    assert sorted(f"{type(_instances[m]).__name__}" for m in _alive() - before) == []
    ctl.close()


def test_no_widget_state_holds_media_bytes(panel: Any) -> None:
    for _ in range(3):
        run(panel)
    for tab in range(len(panel.tabs.children)):
        panel.tabs.selected_index = tab  # thumbnails on History and Remix
    states = [node.get_state(drop_defaults=True) for node in widget_tree(panel)]  # as JupyterLab saves it
    assert not [s for s in states if any(isinstance(v, (bytes, memoryview)) and len(v) > 0 for v in s.values())]
    text = json.dumps([{k: v for k, v in s.items() if k != "_esm"} for s in states], default=str)
    assert "ftyp" not in text, [s for s in states if "ftyp" in json.dumps(s, default=str)]
    assert len(text) < 200_000


def test_text_fallback_is_one_readable_line_and_html_is_an_escaped_table(panel: Any) -> None:
    assert repr(panel).startswith("sora2-widgets panel · ") and repr(panel).endswith(" · no jobs yet")
    run(panel, prompt=XSS)
    line = repr(panel)
    assert "\n" not in line and len(line) < 120 and line.endswith("1 job (1 done)"), line
    bundle = panel._repr_mimebundle_()
    assert bundle["text/plain"] == line
    assert "application/vnd.jupyter.widget-view+json" in bundle
    html = bundle["text/html"]
    assert "<table>" in html and "Sora 2" in html and "$0.40" in html
    assert XSS not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert len(html) < 5_000
    assert isinstance(panel, w.VBox)


def test_in_a_notebook_the_summary_is_its_own_output_rewritten_as_jobs_end(
    panel: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import IPython.display

    shown: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []

    class Handle:
        def update(self, obj: dict[str, Any], raw: bool = False) -> None:
            assert raw
            updates.append(obj)

    def display(obj: dict[str, Any], raw: bool = False, display_id: bool = False) -> Handle | None:
        assert raw
        shown.append(obj)
        return Handle() if display_id else None

    monkeypatch.setattr(IPython.display, "display", display)
    panel._ipython_display_()
    widget, summary = shown
    assert "application/vnd.jupyter.widget-view+json" in widget and "text/html" not in widget
    assert widget["text/plain"] == repr(panel)
    assert "no jobs yet" in summary["text/html"]
    run(panel, prompt=XSS)
    assert updates, "the summary was not rewritten when the job ended"
    latest = updates[-1]["text/html"]
    assert "1 job (1 done)" in latest and "&lt;img src=x onerror=alert(1)&gt;" in latest and XSS not in latest
    count = len(updates)
    panel.controller.set_prompt("something else")  # not a job: the summary is not sent again
    assert len(updates) == count
