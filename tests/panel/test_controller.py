"""The panel's logic through PanelController and the view's widgets, without a browser."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest

from sora2_widgets import Mode, models_for
from sora2_widgets.panel import PanelController

TEXT_SORA, TEXT_PRO, TEXT_KLING = "sora2_text_to_video", "sora2_text_to_video_pro", "kling25_turbo_pro_text_to_video"
IMG_SORA, IMG_PRO, IMG_KLING = "sora2_image_to_video", "sora2_image_to_video_pro", "kling25_turbo_pro_image_to_video"
REMIX = "sora2_video_to_video_remix"


def shown(widget: Any) -> bool:
    return widget.layout.display != "none"


@pytest.mark.parametrize("tab", ["text", "image", "remix"])
def test_model_list_shows_only_the_tabs_models(panel: Any, tab: str) -> None:
    panel.controller.set_tab(tab)
    assert [v for _, v in panel.models.options] == [m.id for m in models_for(Mode(tab))]
    for label, model_id in panel.models.options:
        spec = next(m for m in models_for(Mode(tab)) if m.id == model_id)
        assert spec.name in label and spec.price_hint in label
    assert panel.tabs.selected_index == ["text", "image", "remix"].index(tab)


def test_switching_tabs_keeps_each_tabs_selection(panel: Any) -> None:
    panel.models.value = (TEXT_PRO, TEXT_KLING)  # as the user would, through the widget
    panel.tabs.selected_index = 1
    assert panel.controller.tab == "image"
    panel.models.value = (IMG_PRO,)
    panel.tabs.selected_index = 0
    assert panel.models.value == (TEXT_PRO, TEXT_KLING)
    panel.tabs.selected_index = 1
    assert panel.models.value == (IMG_PRO,)
    # the composer lives in exactly one tab at a time (one DOM copy for browser tests)
    assert sum(panel.composer in pane.children for pane in panel._panes.values()) == 1


def test_history_and_spend_tabs_list_no_models(panel: Any) -> None:
    panel.tabs.selected_index = 3
    assert panel.controller.models == ()
    assert panel.controller.blockers == ["Pick the Text, Image or Remix tab to generate."]


# (tab, selection) → (sora box, duration, aspect options, resolution shown, resolution options, kling box, kling aspect)
VISIBILITY = [
    ("text", (), False, False, (), False, (), False, False),
    ("text", (TEXT_SORA,), True, True, ("16:9", "9:16"), False, (), False, False),
    ("text", (TEXT_PRO,), True, True, ("16:9", "9:16"), True, ("720p", "1080p"), False, False),
    ("text", (TEXT_SORA, TEXT_PRO), True, True, ("16:9", "9:16"), True, ("720p", "1080p"), False, False),
    ("text", (TEXT_KLING,), False, False, (), False, (), True, True),
    ("text", (TEXT_SORA, TEXT_KLING), True, True, ("16:9", "9:16"), False, (), True, True),
    ("text", (TEXT_PRO, TEXT_KLING), True, True, ("16:9", "9:16"), True, ("720p", "1080p"), True, True),
    ("text", (TEXT_SORA, TEXT_PRO, TEXT_KLING), True, True, ("16:9", "9:16"), True, ("720p", "1080p"), True, True),
    ("image", (), False, False, (), False, (), False, False),
    ("image", (IMG_SORA,), True, True, ("auto", "16:9", "9:16"), False, (), False, False),
    ("image", (IMG_PRO,), True, True, ("auto", "16:9", "9:16"), True, ("auto", "720p", "1080p"), False, False),
    ("image", (IMG_KLING,), False, False, (), False, (), True, False),
    ("image", (IMG_SORA, IMG_PRO), True, True, ("auto", "16:9", "9:16"), True, ("auto", "720p", "1080p"), False, False),
    ("image", (IMG_SORA, IMG_KLING), True, True, ("auto", "16:9", "9:16"), False, (), True, False),
    ("image", (IMG_PRO, IMG_KLING), True, True, ("auto", "16:9", "9:16"), True, ("auto", "720p", "1080p"), True, False),
    (
        "image",
        (IMG_SORA, IMG_PRO, IMG_KLING),
        True,
        True,
        ("auto", "16:9", "9:16"),
        True,
        ("auto", "720p", "1080p"),
        True,
        False,
    ),
    ("remix", (REMIX,), True, False, (), False, (), False, False),
    ("remix", (), False, False, (), False, (), False, False),
]


def test_visibility_table_covers_every_combination_on_both_tabs() -> None:
    for tab in ("text", "image"):
        ids = [m.id for m in models_for(Mode(tab))]
        wanted = {frozenset(c) for n in range(len(ids) + 1) for c in itertools.combinations(ids, n)}
        assert {frozenset(row[1]) for row in VISIBILITY if row[0] == tab} == wanted, tab


@pytest.mark.parametrize(
    ("tab", "sel", "sora", "dur", "aspects", "res", "res_opts", "kling", "kling_aspect"), VISIBILITY
)
def test_settings_visibility(
    panel: Any,
    tab: str,
    sel: tuple[str, ...],
    sora: bool,
    dur: bool,
    aspects: tuple[str, ...],
    res: bool,
    res_opts: tuple[str, ...],
    kling: bool,
    kling_aspect: bool,
) -> None:
    panel.controller.set_tab(tab)
    panel.controller.select(sel)
    assert shown(panel.sora_settings) is sora
    assert shown(panel.duration) is dur
    assert shown(panel.aspect) is bool(aspects)
    if aspects:
        assert tuple(panel.aspect.options) == aspects
    assert shown(panel.resolution) is res
    if res:
        assert tuple(panel.resolution.options) == res_opts
        assert shown(panel.resolution_hint) is ("auto" in res_opts)
    assert shown(panel.other_settings) is kling
    assert shown(panel.other_aspect) is (kling and kling_aspect)
    if dur:
        assert [v for _, v in panel.duration.options] == [4, 8, 12, 16, 20]  # 4/8/12 first
    if kling:
        assert [v for _, v in panel.other_duration.options] == ["5", "10"]
    if sora:
        assert shown(panel.keep) and panel.keep.value is True  # keep for remix: on by default, visible


def test_nothing_about_sora_without_a_sora_model(panel: Any) -> None:
    panel.controller.select((TEXT_KLING,))
    assert not shown(panel.sora_settings)
    params = panel.controller.params_for(panel.controller.selected[0])
    assert "delete_video" not in params and "resolution" not in params
    assert "Sora" not in panel.other_title.value


def test_resolution_goes_to_pro_models_only(panel: Any) -> None:
    ctl = panel.controller
    ctl.select((TEXT_SORA, TEXT_PRO))
    panel.resolution.value = "720p"
    sora, pro = ctl.selected
    assert "resolution" not in ctl.settings_for(sora)
    assert ctl.settings_for(pro)["resolution"] == "720p"
    panel.keep.value = False
    assert ctl.settings_for(sora)["delete_video"] is True


@pytest.mark.parametrize(
    ("selection", "limit"),
    [
        ((TEXT_SORA,), 5000),
        ((TEXT_SORA, TEXT_PRO), 5000),
        ((TEXT_KLING,), 500),
        ((TEXT_SORA, TEXT_KLING), 500),
        ((), 5000),
    ],
)
def test_counter_uses_the_smallest_limit(panel: Any, selection: tuple[str, ...], limit: int) -> None:
    panel.controller.select(selection)
    panel.prompt.value = "a" * 120
    assert panel.counter.value == f"{limit - 120} characters remaining"


def test_over_the_limit_disables_generate_and_says_why(panel: Any) -> None:
    panel.controller.select((TEXT_SORA, TEXT_KLING))
    panel.prompt.value = "x" * 501
    assert panel.generate.disabled
    assert "1 characters over the 500-character limit for Kling 2.5 Turbo Pro" in panel.counter.value
    assert "too long" in panel.status.value
    panel.models.value = (TEXT_SORA,)  # dropping Kling lifts the limit to 5000
    assert not panel.generate.disabled
    assert panel.counter.value == "4499 characters remaining"


def _cost(panel: Any) -> list[str]:
    return panel.controller.cost_lines()


# (tab, selection, settings) → expected cost lines
COSTS = [
    ("text", (TEXT_SORA,), {}, ["Total: $0.40", "Sora 2: $0.40"]),
    ("text", (TEXT_PRO,), {}, ["Total: $2.00", "Sora 2 Pro: $2.00"]),
    ("text", (TEXT_PRO,), {"duration": 8, "resolution": "720p"}, ["Total: $2.40", "Sora 2 Pro: $2.40"]),
    (
        "text",
        (TEXT_SORA, TEXT_PRO, TEXT_KLING),
        {"duration": 8},
        ["Total: $5.15", "Sora 2: $0.80", "Sora 2 Pro: $4.00", "Kling 2.5 Turbo Pro: $0.35"],
    ),
    ("text", (TEXT_KLING,), {"other_duration": "10"}, ["Total: $0.70", "Kling 2.5 Turbo Pro: $0.70"]),
    ("image", (IMG_SORA,), {"duration": 12}, ["Total: $1.20", "Sora 2 (image): $1.20"]),
    (
        "image",
        (IMG_PRO,),
        {},
        [
            "Total: $1.20–$2.00 (a range: the service picks the resolution (auto))",
            "Sora 2 Pro (image): $1.20–$2.00 (the service picks the resolution (auto))",
        ],
    ),
    ("image", (IMG_PRO,), {"resolution": "1080p", "duration": 20}, ["Total: $10.00", "Sora 2 Pro (image): $10.00"]),
    (
        "remix",
        (REMIX,),
        {},
        [
            "Total: $0.40–$2.00 (a range: depends on the source video's length)",
            "Sora 2 Remix: $0.40–$2.00 (depends on the source video's length)",
        ],
    ),
    ("text", (), {}, ["Total: $0.00 — select a model"]),
]


@pytest.mark.parametrize(("tab", "selection", "settings", "expected"), COSTS)
def test_cost_label(
    panel: Any, tab: str, selection: tuple[str, ...], settings: dict[str, Any], expected: list[str]
) -> None:
    ctl = panel.controller
    ctl.set_tab(tab)
    ctl.select(selection)
    for name, value in settings.items():
        {"duration": ctl.set_duration, "resolution": ctl.set_resolution, "other_duration": ctl.set_other_duration}[
            name
        ](value)
    assert _cost(panel) == expected
    assert expected[0] in panel.cost.value.replace("&#x27;", "'")


def test_remix_is_priced_from_the_chosen_source(panel: Any, history: Any) -> None:
    history.add(
        model_id=TEXT_SORA,
        status="completed",
        prompt="a cat",
        video_id="v1",
        kept_for_remix=True,
        duration=12.0,
        cost_usd=1.2,
    )
    ctl = panel.controller
    ctl.set_tab("remix")
    assert panel.remix_picker.children and shown(panel.remix_picker)
    panel.remix_picker.children[0].children[-1].value = True  # the row's Choose toggle
    assert _cost(panel)[:2] == ["Total: $1.20", "Sora 2 Remix: $1.20"]


def test_budget_left_is_shown_and_enforced(generator: Any, history: Any) -> None:
    history.add(model_id=TEXT_SORA, status="completed", prompt="x", cost_usd=9.0)
    ctl = PanelController(generator, history, budget="10", generator_factory=lambda k: None)
    ctl.set_prompt("a fox")
    assert ctl.cost_lines()[-1] == "Budget left: $1.00 of $10.00"
    ctl.select((TEXT_PRO,))  # $2.00 > $1.00 left
    assert any("only $1.00 of your budget is left" in b for b in ctl.blockers)
    ctl.close()


def test_costly_selection_needs_a_second_click_in_the_same_state(panel: Any, generator: Any) -> None:
    ctl = panel.controller
    ctl.select((TEXT_PRO,))
    ctl.set_duration(12)  # $6.00 > $5 threshold
    panel.prompt.value = "a long pan over mountains"
    panel.generate.click()
    assert generator.calls == [] and ctl.jobs == []
    assert "Click Generate again to confirm" in panel.status.value
    assert panel.generate.description == "Confirm: generate"
    panel.prompt.value = "a long pan over the mountains"  # any change resets the confirmation
    assert panel.generate.description == "Generate"
    panel.generate.click()
    assert ctl.jobs == []
    panel.generate.click()  # second click, same state: confirmed
    ctl.wait(10)
    assert [c[0] for c in generator.calls] == [TEXT_PRO]


def test_cheap_selection_starts_at_once(panel: Any, generator: Any) -> None:
    panel.prompt.value = "a red balloon"
    panel.generate.click()
    panel.controller.wait(10)
    assert len(generator.calls) == 1
    assert Decimal(panel.controller.total_cost.high) <= Decimal(5)


def test_model_labels_name_a_resolution_only_when_the_model_has_one() -> None:
    labels = {m.id: PanelController.model_label(m) for m in models_for(Mode("text"))}
    assert labels[TEXT_SORA] == "Sora 2 · $0.10/s · 720p"
    assert labels[TEXT_PRO].endswith(" · 720p/1080p")
    assert not labels[TEXT_KLING].endswith("—") and "· ·" not in labels[TEXT_KLING]
    assert labels[TEXT_KLING].startswith("Kling 2.5 Turbo Pro · ")
    remix = PanelController.model_label(models_for(Mode("remix"))[0])
    assert remix.endswith(" · inherits size")
