"""The composer: each tab's models, and which settings show for every selection."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from sora2_widgets import Mode, models_for

from ._helpers import IMG_KLING, IMG_PRO, IMG_SORA, REMIX, TEXT_KLING, TEXT_PRO, TEXT_SORA, shown


@pytest.mark.parametrize("tab", ["text", "image", "remix"])
def test_model_list_shows_only_the_tabs_models(panel: Any, tab: str) -> None:
    panel.controller.set_tab(tab)
    assert [v for _, v in panel.models.options] == [m.id for m in models_for(Mode(tab))]
    for label, model_id in panel.models.options:
        spec = next(m for m in models_for(Mode(tab)) if m.id == model_id)
        assert spec.name in label and spec.price_hint in label
    assert panel.tabs.selected_index == ["text", "image", "remix"].index(tab)


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
        # The table covers Sora and Kling 2.5; the live families' settings come with the schema-built panel.
        ids = [m.id for m in models_for(Mode(tab)) if m.is_sora or m.id.startswith("kling25")]
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
