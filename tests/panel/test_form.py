"""The form: the request each model gets, the prompt counter, the model labels."""

from __future__ import annotations

from typing import Any

import pytest

from sora2_widgets import Mode, models_for
from sora2_widgets.panel import PanelController

from ._helpers import TEXT_KLING, TEXT_PRO, TEXT_SORA, find, setting


def test_nothing_about_sora_without_a_sora_model(panel: Any) -> None:
    panel.controller.select((TEXT_KLING,))
    drawn = panel.compose.schema.groups_box.children
    assert not [box for box in find(panel, "sw-settings-sora") if box in drawn]
    params = panel.controller.params_for(panel.controller.selected[0])
    assert "delete_video" not in params and "resolution" not in params
    assert "Sora" not in panel.settings_title.value


def test_resolution_goes_to_pro_models_only(panel: Any) -> None:
    ctl = panel.controller
    ctl.select((TEXT_SORA, TEXT_PRO))
    # Sora 2 has one resolution (nothing to choose): the menu is Sora 2 Pro's alone.
    resolution = setting(panel, "resolution")
    assert [v for _, v in resolution.options] == ["720p", "1080p"] and resolution.value == "1080p"
    resolution.value = "720p"
    sora, pro = ctl.selected
    assert "resolution" not in ctl.settings_for(sora)
    assert ctl.settings_for(pro)["resolution"] == "720p"
    keep = setting(panel, "delete_video")
    assert keep.description == "Keep for remix" and keep.value is True
    keep.value = False  # untick "Keep for remix": the service may delete them
    assert ctl.settings_for(sora)["delete_video"] is True and ctl.settings_for(pro)["delete_video"] is True


def test_too_many_character_ids_are_refused_before_generate(panel: Any) -> None:
    ctl = panel.controller
    ctl.select((TEXT_SORA,))
    panel.prompt.value = "two friends"
    ctl.set_setting("sora:character_ids", "char_a, char_b")
    assert ctl.settings_for(ctl.selected[0])["character_ids"] == ["char_a", "char_b"] and not ctl.blockers
    ctl.set_setting("sora:character_ids", "char_a, char_b, char_c")
    assert panel.generate.disabled
    assert "Characters takes at most 2 ids, got 3." in ctl.blockers


@pytest.mark.parametrize(
    ("selection", "limit"),
    [
        ((TEXT_SORA,), 5000),
        ((TEXT_SORA, TEXT_PRO), 5000),
        ((TEXT_KLING,), 2500),  # Kling's documented limit (DESIGN §2b)
        ((TEXT_SORA, TEXT_KLING), 2500),
        ((), 5000),
    ],
)
def test_counter_uses_the_smallest_limit(panel: Any, selection: tuple[str, ...], limit: int) -> None:
    panel.controller.select(selection)
    panel.prompt.value = "a" * 120
    assert panel.counter.value == f"{limit - 120} characters remaining"


def test_over_the_limit_disables_generate_and_says_why(panel: Any) -> None:
    panel.controller.select((TEXT_SORA, TEXT_KLING))
    panel.prompt.value = "x" * 2501
    assert panel.generate.disabled
    assert "1 characters over the 2500-character limit for Kling 2.5 Turbo Pro" in panel.counter.value
    assert "too long" in panel.status.value
    panel.models.value = (TEXT_SORA,)  # dropping Kling lifts the limit to 5000
    assert not panel.generate.disabled
    assert panel.counter.value == "2499 characters remaining"


def test_model_labels_name_a_resolution_only_when_the_model_has_one() -> None:
    labels = {m.id: PanelController.model_label(m) for m in models_for(Mode("text"))}
    assert labels[TEXT_SORA] == "Sora 2 · $0.10/s · 720p"
    assert labels[TEXT_PRO].endswith(" · 720p/1080p")
    assert not labels[TEXT_KLING].endswith("—") and "· ·" not in labels[TEXT_KLING]
    assert labels[TEXT_KLING].startswith("Kling 2.5 Turbo Pro · ")
    remix = PanelController.model_label(models_for(Mode("remix"))[0])
    assert remix.endswith(" · inherits size")


def test_the_form_stands_alone_and_reports_each_change() -> None:
    from sora2_widgets.panel._form import PanelForm

    class Recorded(PanelForm):
        def __init__(self) -> None:
            super().__init__()
            self.changes: list[tuple[str, bool]] = []

        def _changed(self, what: str, *, rearm: bool = True) -> None:
            self.changes.append((what, rearm))

    form = Recorded()
    form.set_prompt("a fox")
    form.set_prompt("a fox")  # no change, no report
    form.set_show_advanced(True)  # changes nothing that would be generated
    form.select((TEXT_PRO,))
    assert form.changes == [("prompt", True), ("advanced", False), ("selection", True)]
    (pro,) = form.selected
    assert form.params_for(pro) == {
        "prompt": "a fox",
        "duration": 4,
        "aspect_ratio": "16:9",
        "resolution": "1080p",
        "model": "sora-2",
        "delete_video": False,
        "detect_and_block_ip": False,
    }
    assert form.remix_source is None and form.form_blockers() == []
    assert str(form.total_cost) == "$2.00"
    form.set_tab("spend")
    assert form.form_blockers() == ["Pick the Text, Image or Remix tab to generate."]
