"""The Spend tab: totals, budget left and the chart."""

from __future__ import annotations

from typing import Any

from sora2_widgets.panel import PanelController, Sora2Panel
from sora2_widgets.panel._tab_spend import spend_figure
from sora2_widgets.panel._widgets import panel_tree

from ._fakes import FakeGenerator, FakeHistory
from ._helpers import TEXT_KLING, TEXT_SORA, find, run


def test_spend_tab_totals_and_chart(generator: FakeGenerator, history: FakeHistory) -> None:
    ctl = PanelController(generator, history, budget=20, generator_factory=lambda k: None)
    panel = Sora2Panel(ctl)
    run(panel, models=(TEXT_SORA, TEXT_KLING))
    panel.tabs.selected_index = 4
    assert "Total spent: $0.75" in panel.spend_summary.value
    assert "budget left: $19.25 of $20.00" in panel.spend_summary.value
    assert (panel.spend_chart.read() or b"").startswith(b"\x89PNG")
    assert "Kling" in panel.spend_tables.value and TEXT_KLING not in panel.spend_tables.value
    assert panel.spend_chart in panel_tree(find(panel, "sw-spend")[0])
    ctl.close()


def test_spend_chart_stays_hidden_until_it_has_a_png(panel: Any) -> None:
    chart = panel.spend_chart  # the Spend tab's widgets are made on first use
    assert (
        "sw-spend-chart" in chart._dom_classes and chart.layout.display == "none" and not chart.read()
    )  # no broken-image icon
    run(panel)
    panel.controller.set_tab("spend")
    assert (chart.read() or b"").startswith(b"\x89PNG") and chart.layout.display != "none"


def test_a_shared_ledger_shows_spend_by_person(tmp_path: Any, monkeypatch: Any) -> None:
    from sora2_widgets import History
    from sora2_widgets.panel import PanelController, Sora2Panel

    common = {"model_id": TEXT_KLING, "endpoint": "fal-ai/x", "mode": "text", "provider": "emulator"}
    for who, cents in (("ada", 400_000), ("<b>grace</b>", 700_000)):  # two people, one ledger
        monkeypatch.setenv("SORA2_WIDGETS_USER", who)
        with History(tmp_path / "team.sqlite3") as theirs:
            theirs.add(**common, prompt="p", status="completed", cost_micros=cents)
    ledger = History(tmp_path / "team.sqlite3")
    ctl = PanelController(None, ledger, generator_factory=lambda key: None)
    panel = Sora2Panel(ctl)
    ctl.set_tab("spend")
    html = panel.spend_tables.value
    assert "By person" in html and "ada" in html and "&lt;b&gt;grace&lt;/b&gt;" in html and "<b>grace" not in html
    panel.close()
    ctl.close()
    ledger.close()


def test_one_person_sees_no_by_person_table(panel: Any) -> None:
    panel.controller.set_tab("spend")
    assert "By person" not in panel.spend_tables.value


def test_nothing_spent_is_a_sentence_not_a_chart(panel: Any, history: FakeHistory) -> None:
    panel.controller.set_tab("spend")
    assert panel.spend_summary.value == "<b>Nothing spent yet</b>"
    assert panel.spend_tables.value == "" and panel.spend_chart.layout.display == "none"
    # Jobs that have cost nothing yet (still queued) are listed, but $0 bars are not drawn.
    history.add(
        model_id=TEXT_SORA, status="in_queue", prompt="waiting", est_low_micros=400_000, est_high_micros=400_000
    )
    panel.controller.refresh_history()
    panel.controller.set_tab("spend")
    assert panel.spend_summary.value.startswith("<b>Nothing spent yet")
    assert "Sora 2" in panel.spend_tables.value
    assert panel.spend_chart.layout.display == "none" and not panel.spend_chart.read()


def test_one_row_of_spend_is_charted_from_zero(panel: Any, history: FakeHistory) -> None:
    history.add(model_id=TEXT_SORA, status="completed", prompt="one", cost_usd=0.4)
    panel.controller.set_tab("spend")
    assert "Total spent: $0.40" in panel.spend_summary.value and panel.spend_chart.layout.display != "none"
    fig = spend_figure(*panel.controller.spend_frames())
    assert fig is not None
    fig.canvas.draw()
    by_model, by_day = fig.axes
    amounts = ((by_model.get_xlim(), by_model.get_xticklabels(), 0), (by_day.get_ylim(), by_day.get_yticklabels(), 1))
    for (low, high), labels, along in amounts:
        assert low == 0 and high >= 0.4  # the amount axis starts at $0 and reaches the bar
        shown = [t.get_text() for t in labels if low <= t.get_position()[along] <= high]
        assert shown and not any(t.startswith(("-", "−")) for t in shown), shown  # no negative tick
