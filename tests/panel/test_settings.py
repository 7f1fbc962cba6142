"""Issue 12 item 3: the panel's settings come from the catalog's schemas (driven without a browser).

Shared settings appear once with the values every ticked model accepts; the rest sit under the
family's name; audio is a toggle the cost label and the request follow; Advanced fields reach the
request; bad values are refused with one sentence before anything is sent; and a model added as one
data file appears in the panel with its own settings.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from sora2_widgets.panel._settings import SHARED, layout_for, parse_shots

from ._helpers import find, setting, shown

VEO = "veo31_text_to_video"
VEO_FAST = "veo31_fast_text_to_video"
KLING3 = "kling3_standard_text_to_video"
KLING3_PRO = "kling3_pro_text_to_video"
KLING25 = "kling25_turbo_pro_text_to_video"
SEEDANCE = "seedance2_text_to_video"
SEEDANCE_FAST = "seedance2_fast_text_to_video"
SORA = "sora2_text_to_video"
REPO = Path(__file__).resolve().parents[2]


def _fields(ids: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """group key -> field name -> field."""
    return {g.key: {f.name: f for f in g.fields} for g in layout_for(ids)}


def _groups(panel: Any) -> dict[str, str]:
    """The group boxes the user sees: their CSS class suffix -> their title text."""
    out = {}
    for box in panel.compose.schema.groups_box.children:  # in the order they are drawn
        if shown(box):
            key = next(c for c in box._dom_classes if c.startswith("sw-settings-") and c != "sw-settings-group")
            out[key.removeprefix("sw-settings-")] = box.children[0].value
    return out


def test_a_setting_every_ticked_family_takes_appears_once_with_the_values_all_accept() -> None:
    groups = _fields((KLING3, SEEDANCE))
    shared = groups[SHARED]
    # Kling 3.0 takes "3".."15", Seedance "auto" and "4".."15": only "4".."15" is offered, once.
    assert shared["duration"].options == tuple(str(n) for n in range(4, 16))
    assert shared["aspect_ratio"].options == ("16:9", "9:16", "1:1")
    assert "duration" not in groups["kling"] and "duration" not in groups["seedance"]
    # Veo's durations are "4s"…: nothing in common with Kling's "4"…, so each family keeps its own menu.
    groups = _fields((VEO, KLING3))
    assert "duration" not in groups[SHARED]
    assert groups["veo"]["duration"].options == ("4s", "6s", "8s")
    assert groups["kling"]["duration"].options == tuple(str(n) for n in range(3, 16))
    assert groups[SHARED]["aspect_ratio"].options == ("16:9", "9:16")  # 1:1 is Kling's only


def test_a_family_s_models_share_its_group_with_their_common_values() -> None:
    groups = _fields((SEEDANCE, SEEDANCE_FAST))
    assert list(groups) == ["seedance"]  # one family: no "All selected models" group
    assert groups["seedance"]["resolution"].options == ("480p", "720p")  # Fast has no 1080p


def test_the_panel_shows_shared_then_family_groups_and_sora_only_with_sora(panel: Any) -> None:
    ctl = panel.controller
    ctl.select([VEO, KLING3])
    assert _groups(panel) == {
        "shared": '<span class="sw-group-title">All selected models</span>',
        "veo": '<span class="sw-group-title">Veo</span>',
        "kling": '<span class="sw-group-title">Kling</span>',
    }
    assert not [w for w in find(panel, "sw-setting-delete-video") if shown(w)]  # no Sora model, no Sora settings
    ctl.select([SORA, VEO])
    # Aspect ratio: both take 16:9 and 9:16, one menu for both; lengths differ (4 vs "4s"): one each.
    assert list(_groups(panel)) == ["shared", "sora", "veo"]
    assert _fields((SORA, VEO))[SHARED]["aspect_ratio"].options == ("16:9", "9:16")
    ctl.select([SORA])
    assert list(_groups(panel)) == ["sora"] and "Sora" in _groups(panel)["sora"]


def test_ticking_sora_shows_its_group_with_keep_for_remix_on(panel: Any, generator: Any) -> None:
    ctl = panel.controller
    ctl.select([VEO])
    assert not [w for w in find(panel, "sw-setting-delete-video") if shown(w)]
    ctl.select([SORA, VEO])
    sora = _fields((SORA, VEO))["sora"]
    assert list(sora) == ["duration", "model", "delete_video", "detect_and_block_ip", "character_ids"]
    assert "api_key" not in sora and not find(panel, "sw-setting-api-key")  # a secret is never a widget
    keep = setting(panel, "delete_video")
    assert keep.description == "Keep for remix" and keep.value is True
    assert setting(panel, "delete_video_hint").value == (
        "Keep the video on the service so it can be remixed later (fal deletes it after delivery by default)."
    )
    # Snapshot, IP blocking and characters sit behind Advanced, as the entry's ui.advanced says.
    snapshot = panel.compose.schema.slot("model", "choice", 0)
    assert not shown(panel.compose.schema.advanced_groups.children[0].children[1])
    panel.compose.schema.advanced.value = True
    assert snapshot.description == "Snapshot" and [v for _, v in snapshot.options] == [
        "sora-2",
        "sora-2-2025-12-08",
        "sora-2-2025-10-06",
    ]
    characters = setting(panel, "character_ids")
    assert characters.description == "Characters" and "comma separated" in characters.placeholder
    characters.value = "char_fox, char_owl"
    snapshot.value = "sora-2-2025-10-06"
    keep.value = False  # the user unticks "Keep for remix"
    panel.prompt.value = "a fox and an owl at dawn"
    panel.generate.click()
    ctl.wait(10)
    sent = dict(generator.calls)
    assert sent[SORA]["delete_video"] is True and sent[SORA]["model"] == "sora-2-2025-10-06"
    assert sent[SORA]["character_ids"] == ["char_fox", "char_owl"]
    assert not {"delete_video", "model", "character_ids"} & set(sent[VEO])


def test_the_audio_toggle_changes_the_cost_label_and_the_request(panel: Any, generator: Any) -> None:
    ctl = panel.controller
    ctl.select([VEO])
    assert shown(panel.compose.audio) and panel.compose.audio.value is True  # Veo's default: with sound
    ctl.set_setting_named("duration", "8s")
    ctl.set_setting_named("resolution", "1080p")
    assert ctl.cost_lines()[0] == "Total: $3.20"
    panel.compose.audio.value = False  # the user unticks Audio
    assert ctl.cost_lines()[0] == "Total: $1.60"
    assert "$1.60" in panel.cost.value
    panel.prompt.value = "a lighthouse in a storm"
    panel.generate.click()
    ctl.wait(10)
    (call,) = generator.calls
    assert call[0] == VEO and call[1]["generate_audio"] is False and call[1]["resolution"] == "1080p"


def test_audio_shared_by_two_families_is_one_toggle_sent_to_both(panel: Any, generator: Any) -> None:
    ctl = panel.controller
    ctl.select([VEO_FAST, KLING3])
    toggles = [w for w in find(panel, "sw-audio") if shown(w)]
    assert len(toggles) == 1 and toggles[0].description == "Audio"
    before = ctl.cost_lines()
    toggles[0].value = False
    assert ctl.cost_lines()[0] != before[0]
    panel.prompt.value = "two kites"
    panel.generate.click()  # under the confirmation threshold: runs at once
    ctl.wait(10)
    assert {m: p["generate_audio"] for m, p in generator.calls} == {VEO_FAST: False, KLING3: False}


def test_advanced_fields_are_behind_advanced_and_reach_the_request(panel: Any, generator: Any) -> None:
    ctl = panel.controller
    ctl.select([VEO])
    seed = next(w for w in find(panel, "sw-setting-seed"))
    (advanced_box,) = [b for b in find(panel, "sw-settings-advanced-fields") if seed in b.children]
    assert not shown(advanced_box)
    panel.compose.schema.advanced.value = True
    assert shown(advanced_box) and seed in advanced_box.children
    seed.value = "1234"
    ctl.set_setting("veo:safety_tolerance", "2")
    ctl.set_setting("veo:negative_prompt", "text overlays")
    panel.prompt.value = "a red kite"
    panel.generate.click()
    ctl.wait(10)
    (_, params), *_ = generator.calls
    assert params["seed"] == 1234 and params["safety_tolerance"] == "2"
    assert params["negative_prompt"] == "text overlays"


@pytest.mark.parametrize(
    ("key", "value", "sentence"),
    [
        ("veo:duration", 8, "Duration must be one of 4s, 6s or 8s, got 8"),
        ("veo:duration", "5s", "Duration must be one of 4s, 6s or 8s, got '5s'"),
        ("veo:generate_audio", 1, "Audio must be on or off (True or False), got 1"),
        ("veo:resolution", "8k", "Resolution must be one of 720p, 1080p or 4k, got '8k'"),
    ],
)
def test_a_bad_value_is_refused_with_one_sentence(panel: Any, key: str, value: Any, sentence: str) -> None:
    ctl = panel.controller
    ctl.select([VEO])
    with pytest.raises(ValueError) as err:
        ctl.set_setting(key, value)
    assert str(err.value) == sentence


def test_a_typed_value_that_cannot_be_sent_blocks_generate_before_any_request(panel: Any, generator: Any) -> None:
    ctl = panel.controller
    ctl.select([KLING3])
    ctl.set_setting("kling:cfg_scale", 0.7)
    with pytest.raises(ValueError, match=r"^CFG scale must be a number from 0 to 1, got 1.5$"):
        ctl.set_setting("kling:cfg_scale", 1.5)
    with pytest.raises(ValueError, match="CFG scale must be a number from 0 to 1, got True"):
        ctl.set_setting("kling:cfg_scale", True)  # a bool is not a number
    ctl.select([VEO])
    panel.prompt.value = "a red kite"
    ctl.set_setting("veo:seed", "12.5")
    assert ctl.blockers[0] == "Seed must be a whole number (or empty for the service's default), got '12.5'."
    panel.generate.click()
    assert generator.calls == [] and panel.generate.disabled


def test_shots_replace_the_prompt_and_both_together_are_refused(panel: Any, generator: Any) -> None:
    ctl = panel.controller
    ctl.select([KLING3])
    shots = panel.compose.schema.slot("multi_prompt", "shots", 0)
    shots.value = "3 | a fox wakes up\n4 | it runs into the snow"
    panel.prompt.value = "a fox"
    assert ctl.blockers[0] == (
        "multi_prompt cannot be given together with prompt for Kling 3.0 Standard; give one of them."
    )
    assert ctl.cost_lines()[0] == "Total: $0.882"  # 7 s × $0.126 with audio: priced from the shots
    panel.prompt.value = ""
    assert ctl.blockers == []
    panel.generate.click()
    ctl.wait(10)
    ((_model, params),) = generator.calls
    assert "prompt" not in params
    assert params["multi_prompt"] == [
        {"prompt": "a fox wakes up", "duration": "3"},
        {"prompt": "it runs into the snow", "duration": "4"},
    ]


def test_shots_parse_lines_and_json() -> None:
    assert parse_shots('[{"prompt": "a", "duration": "5"}]') == [{"prompt": "a", "duration": "5"}]
    assert parse_shots("5s | a\n\nb") == [{"prompt": "a", "duration": "5"}, {"prompt": "b"}]
    with pytest.raises(ValueError, match=re.escape("each line is '<seconds> | <prompt>'")):
        parse_shots("five | a")


def test_the_model_list_shows_prices_and_badges(panel: Any) -> None:
    ctl = panel.controller
    labels = {model_id: label for label, model_id in panel.models.options}
    assert "$0.40/s" in labels[VEO] or "$0.20" in labels[VEO]  # the price is in the label
    boxes = {b: b.description for b in find(panel, "sw-model-option")}
    text = " ".join(boxes.values())
    assert "retired 2026-09-24" in text  # Sora 2
    assert "unconfirmed price" in text  # Kling 3.0 Pro
    assert ">new<" in text
    assert ctl.model_badges(ctl.models[0]) == ("retired 2026-09-24",)
    pro = next(m for m in ctl.models if m.id == KLING3_PRO)
    assert ctl.model_badges(pro) == ("unconfirmed price", "new")
    assert ctl.model_badges(next(m for m in ctl.models if m.id == KLING25)) == ()


def test_a_setting_keeps_its_value_when_a_tick_moves_it_between_groups(panel: Any) -> None:
    ctl = panel.controller
    ctl.select([KLING3])
    ctl.set_setting("kling:duration", "10")
    ctl.select([KLING3, SEEDANCE])  # duration is now shared, "10" is still allowed
    assert ctl.settings_for(next(s for s in ctl.selected if s.id == SEEDANCE))["duration"] == "10"
    assert panel.duration.value == "10"


NEW_MODEL = {
    "id": "acme_clip_text_to_video",
    "name": "Acme Clip",
    "endpoint": "acme/clip/text-to-video",
    "family": "acme",
    "mode": "text",
    "order": 99,
    "checked": "2026-12-02",
    "price": {"kind": "flat", "usd": "0.25", "source": "https://fal.ai/models/acme/clip/text-to-video"},
    "input": {
        "type": "object",
        "properties": {
            "prompt": {"type": "string", "maxLength": 300},
            "style": {"type": "string", "enum": ["film", "toon"], "default": "toon"},
            "loop": {"type": "boolean", "default": False},
            "strength": {"type": "number", "minimum": 0, "maximum": 2, "default": 1},
            "seed": {"type": "integer"},
        },
        "required": ["prompt"],
    },
    "output": {"shape": "file", "resolution": "720p", "sizes": {"720p": {"16:9": [640, 360]}}},
}

PANEL_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import sora2_widgets as sw
    from sora2_widgets.panel import PanelController, Sora2Panel

    ctl = PanelController(None, sw.History(sys.argv[1]), generator_factory=lambda key: None)
    panel = Sora2Panel(ctl)
    ctl.select(["acme_clip_text_to_video"])
    ctl.set_setting("acme:style", "film")
    ctl.set_setting("acme:loop", True)
    ctl.set_prompt("a kite")
    shown = [w.description for w in panel.compose.schema.slots.values() if w.layout.display != "none"]
    out = {
        "groups": [(g.title, [(f.name, f.kind, list(f.options), f.advanced) for f in g.fields])
                   for g in ctl.settings_groups],
        "shown": shown,
        "params": ctl.params_for(ctl.selected[0]),
        "cost": ctl.cost_lines()[0],
        "label": [label for label, m in panel.models.options if m == "acme_clip_text_to_video"],
    }
    panel.close()
    ctl.close()
    print(json.dumps(out))
    """
)


def test_a_new_model_added_by_one_data_file_appears_in_the_panel_with_its_settings(tmp_path: Path) -> None:
    folder = tmp_path / "catalog"
    folder.mkdir()
    (folder / "acme.json").write_text(json.dumps(NEW_MODEL))
    env = {"SORA2_WIDGETS_HOME": str(tmp_path / "home"), "SORA2_WIDGETS_CATALOG_DIR": str(folder),
           "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}  # fmt: skip
    command = [sys.executable, "-c", PANEL_SCRIPT, str(tmp_path / "home")]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["groups"] == [
        [
            "Acme",
            [
                ["style", "choice", ["film", "toon"], False],
                ["loop", "toggle", [], False],
                ["strength", "slider", [], False],
                ["seed", "number", [], True],
            ],
        ]
    ]
    assert {"Style", "Loop", "Strength", "Seed"} <= set(out["shown"])
    assert out["params"] == {"prompt": "a kite", "style": "film", "loop": True, "strength": 1}
    assert out["cost"] == "Total: $0.25"
    assert out["label"] and "$0.25" in out["label"][0]


def test_text_longer_than_the_schema_allows_blocks_generate_with_one_sentence(panel: Any, generator: Any) -> None:
    ctl = panel.controller
    ctl.select([KLING3])
    panel.prompt.value = "a fox"
    ctl.set_setting("kling:negative_prompt", "x" * 2501)  # Kling 3.0's maxLength is 2,500
    assert ctl.blockers[0] == "Avoid takes at most 2500 characters, got 2501."
    panel.generate.click()
    assert generator.calls == []


def test_an_image_model_s_settings_follow_its_own_schema(panel: Any) -> None:
    ctl = panel.controller
    ctl.set_tab("image")
    ctl.select(["kling3_standard_image_to_video", "veo31_image_to_video"])
    groups = {g.key: [f.name for f in g.fields] for g in ctl.settings_groups}
    # Kling 3.0's image-to-video has no aspect ratio (it follows the image): not offered to it, not shared.
    assert "aspect_ratio" not in groups.get(SHARED, []) and "aspect_ratio" not in groups["kling"]
    assert "aspect_ratio" in groups["veo"]
    # The image fields are the image picker's, never a text setting.
    assert not {"start_image_url", "end_image_url", "image_url"} & {n for names in groups.values() for n in names}
    kling = next(s for s in ctl.selected if s.family == "kling")
    assert "aspect_ratio" not in ctl.settings_for(kling)
