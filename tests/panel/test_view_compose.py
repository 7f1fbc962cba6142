"""The composer: each tab's models, and which settings show for every selection."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from sora2_widgets import Mode, models_for

from ._helpers import IMG_KLING, IMG_PRO, IMG_SORA, REMIX, TEXT_KLING, TEXT_PRO, TEXT_SORA, find, setting, shown


@pytest.mark.parametrize("tab", ["text", "image", "remix"])
def test_model_list_shows_only_the_tabs_models(panel: Any, tab: str) -> None:
    panel.controller.set_tab(tab)
    assert [v for _, v in panel.models.options] == [m.id for m in models_for(Mode(tab))]
    for label, model_id in panel.models.options:
        spec = next(m for m in models_for(Mode(tab)) if m.id == model_id)
        assert spec.name in label and spec.price_hint in label
    assert panel.tabs.selected_index == ["text", "image", "remix"].index(tab)


# Basic settings, then those behind Advanced (the entry's ui.advanced).
_SORA_TEXT = ["duration", "aspect_ratio", "delete_video", "model", "detect_and_block_ip", "character_ids"]
_SORA_PRO = ["duration", "aspect_ratio", "resolution", "delete_video", "model", "detect_and_block_ip", "character_ids"]
_SORA_SHARED = [n for n in _SORA_PRO if n != "aspect_ratio"]  # aspect ratio shared with Kling 2.5
_KLING_TEXT = ["duration", "aspect_ratio", "negative_prompt", "cfg_scale"]
_KLING_IMG = ["duration", "negative_prompt", "cfg_scale"]  # framing follows the image

# (tab, selection) → the groups shown with their settings, the aspect menu's and the resolution menu's values
VISIBILITY: list[tuple[str, tuple[str, ...], dict[str, list[str]], tuple[str, ...], tuple[str, ...]]] = [
    ("text", (), {}, (), ()),
    ("text", (TEXT_SORA,), {"sora": _SORA_TEXT}, ("16:9", "9:16"), ()),  # one resolution: nothing to choose
    ("text", (TEXT_PRO,), {"sora": _SORA_PRO}, ("16:9", "9:16"), ("720p", "1080p")),
    ("text", (TEXT_SORA, TEXT_PRO), {"sora": _SORA_PRO}, ("16:9", "9:16"), ("720p", "1080p")),
    ("text", (TEXT_KLING,), {"kling": _KLING_TEXT}, ("16:9", "9:16", "1:1"), ()),
    (
        "text",
        (TEXT_SORA, TEXT_KLING),
        {"shared": ["aspect_ratio"], "sora": [n for n in _SORA_TEXT if n != "aspect_ratio"], "kling": _KLING_IMG},
        ("16:9", "9:16"),
        (),
    ),
    (
        "text",
        (TEXT_PRO, TEXT_KLING),
        {"shared": ["aspect_ratio"], "sora": _SORA_SHARED, "kling": _KLING_IMG},
        ("16:9", "9:16"),
        ("720p", "1080p"),
    ),
    (
        "text",
        (TEXT_SORA, TEXT_PRO, TEXT_KLING),
        {"shared": ["aspect_ratio"], "sora": _SORA_SHARED, "kling": _KLING_IMG},
        ("16:9", "9:16"),
        ("720p", "1080p"),
    ),
    ("image", (), {}, (), ()),
    ("image", (IMG_SORA,), {"sora": _SORA_PRO}, ("auto", "16:9", "9:16"), ("auto", "720p")),
    ("image", (IMG_PRO,), {"sora": _SORA_PRO}, ("auto", "16:9", "9:16"), ("auto", "720p", "1080p")),
    ("image", (IMG_KLING,), {"kling": _KLING_IMG}, (), ()),
    # One resolution menu for the family: the values both accept.
    ("image", (IMG_SORA, IMG_PRO), {"sora": _SORA_PRO}, ("auto", "16:9", "9:16"), ("auto", "720p")),
    (
        "image",
        (IMG_SORA, IMG_KLING),
        {"sora": _SORA_PRO, "kling": _KLING_IMG},
        ("auto", "16:9", "9:16"),
        ("auto", "720p"),
    ),
    (
        "image",
        (IMG_PRO, IMG_KLING),
        {"sora": _SORA_PRO, "kling": _KLING_IMG},
        ("auto", "16:9", "9:16"),
        ("auto", "720p", "1080p"),
    ),
    (
        "image",
        (IMG_SORA, IMG_PRO, IMG_KLING),
        {"sora": _SORA_PRO, "kling": _KLING_IMG},
        ("auto", "16:9", "9:16"),
        ("auto", "720p"),
    ),
    ("remix", (REMIX,), {"sora": ["delete_video"]}, (), ()),  # the remix inherits everything else
    ("remix", (), {}, (), ()),
]


def test_visibility_table_covers_every_combination_on_both_tabs() -> None:
    for tab in ("text", "image"):
        # The table covers Sora and Kling 2.5; the live families' settings are in test_settings.py.
        ids = [m.id for m in models_for(Mode(tab)) if m.is_sora or m.id.startswith("kling25")]
        wanted = {frozenset(c) for n in range(len(ids) + 1) for c in itertools.combinations(ids, n)}
        assert {frozenset(row[1]) for row in VISIBILITY if row[0] == tab} == wanted, tab


def _drawn(panel: Any) -> dict[str, list[str]]:
    """The groups on screen (basic and advanced fields), each with the settings it shows, in order."""
    schema = panel.compose.schema
    out: dict[str, list[str]] = {}
    for box, more in zip(schema.groups_box.children, schema.advanced_groups.children, strict=True):
        key = next(c for c in box._dom_classes if c.startswith("sw-settings-") and c != "sw-settings-group")
        widgets = [*box.children[1].children, *more.children[1].children]
        widgets = [x.children[0] if "sw-hinted" in x._dom_classes else x for x in widgets]
        names = [c for x in widgets for c in x._dom_classes if c.startswith("sw-setting-") and shown(x)]
        out[key.removeprefix("sw-settings-")] = [n.removeprefix("sw-setting-").replace("-", "_") for n in names]
    return out


@pytest.mark.parametrize(("tab", "sel", "groups", "aspects", "resolutions"), VISIBILITY)
def test_settings_visibility(
    panel: Any,
    tab: str,
    sel: tuple[str, ...],
    groups: dict[str, list[str]],
    aspects: tuple[str, ...],
    resolutions: tuple[str, ...],
) -> None:
    panel.controller.set_tab(tab)
    panel.controller.select(sel)
    assert shown(panel.settings) is bool(sel)
    assert _drawn(panel) == groups
    aspect = [x for x in find(panel, "sw-setting-aspect-ratio") if shown(x)]
    if aspects:
        (menu,) = aspect
        assert tuple(v for _, v in menu.options) == aspects
    else:
        assert not aspect
    resolution = [x for x in find(panel, "sw-setting-resolution") if shown(x)]
    if resolutions:
        (menu,) = resolution
        assert tuple(v for _, v in menu.options) == resolutions
        # "auto" is priced as a range: the entry's hint says so beside the menu, only where "auto" is offered.
        hint = [x for x in find(panel, "sw-setting-resolution-hint") if shown(x) and x.value]
        assert bool(hint) is ("auto" in resolutions)
    else:
        assert not resolution
    if "sora" in groups and "duration" in groups["sora"]:
        sora_duration = next(
            x for x in find(panel, "sw-setting-duration") if shown(x) and isinstance(x.options[0][1], int)
        )
        assert [v for _, v in sora_duration.options] == [4, 8, 12, 16, 20]  # 4/8/12 first
    if "kling" in groups:
        (kling_duration,) = [x for x in find(panel, "sw-setting-duration") if shown(x) and x.options[0][1] == "5"]
        assert [v for _, v in kling_duration.options] == ["5", "10"]
    if "sora" in groups:
        keep = setting(panel, "delete_video")
        assert keep.value is True and keep.description == "Keep for remix"  # on by default, visible
