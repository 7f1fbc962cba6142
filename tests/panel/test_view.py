"""The panel's shell: tabs, the key field, escaping and the CSS classes browser tests select by."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import ipywidgets as w
from pydantic import SecretStr

from sora2_widgets import ServiceError, get_model
from sora2_widgets.panel import CSS_CLASSES, JobState, PanelController, Sora2Panel
from sora2_widgets.panel._cards import JobCard
from sora2_widgets.panel._tab_compose import ModelPicker
from sora2_widgets.panel._widgets import panel_tree
from tests._secrets import FAL_KEY

from ._fakes import PNG, FakeGenerator, FakeHistory
from ._helpers import IMG_PRO, TEXT_KLING, TEXT_PRO, TEXT_SORA, XSS, find, run


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


def test_typed_key_never_stays_in_any_widget_state(
    generator: FakeGenerator, history: FakeHistory, tmp_path: Path
) -> None:
    made: list[SecretStr | None] = []

    def factory(key: SecretStr | None) -> Any:
        made.append(key)
        return FakeGenerator(history, tmp_path, provider="fal" if key else "emulator")

    ctl = PanelController(generator, history, generator_factory=factory)
    panel = Sora2Panel(ctl)
    assert panel.provider.value.endswith("Emulator (offline — nothing is charged)</span>")
    secret = FAL_KEY
    panel.key.value = secret  # what the front end syncs on Enter
    assert panel.key.value == ""
    assert ctl.has_key and made[-1] is not None and made[-1].get_secret_value() == secret
    assert "fal.ai" in panel.provider.value
    run(panel, prompt="with a key")
    for node in panel_tree(panel):
        state = json.dumps(node.get_state(), default=repr)
        assert secret not in state, f"{type(node).__name__} holds the key"
        assert secret.split(":")[1] not in state
    assert secret not in repr(ctl.__dict__)
    ctl.close()


def test_user_text_is_escaped_in_every_html_widget(panel: Any, history: FakeHistory, generator: FakeGenerator) -> None:
    ctl = panel.controller
    run(panel, prompt=XSS, models=(TEXT_SORA, TEXT_KLING))
    # A service error quoting markup back (e.g. the prompt it refused), shown on a card.
    generator.fail_with[TEXT_PRO] = ServiceError(f"fal refused {XSS} (HTTP 500)", status_code=500)
    (failed, *_) = run(panel, prompt="a fox", models=(TEXT_PRO,))
    assert failed.job.status == "Failed" and "&lt;img src=x onerror=alert(1)&gt;" in failed.error.value
    panel.image_path.value = f"/nonexistent/{XSS}.png"
    ctl.set_tab("image")
    panel.image_load.click()
    assert "&lt;img" in panel.image_info.value
    # An uploaded file whose name is markup: the name is shown as the start image's label.
    panel.upload.value = (
        {
            "name": f"{XSS}.png",
            "type": "image/png",
            "size": len(PNG),
            "content": memoryview(PNG),
            "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
        },
    )
    assert ctl.image is not None and XSS in ctl.image.label
    assert "&lt;img src=x onerror=alert(1)&gt;.png" in panel.image_info.value
    ctl.set_tab("remix")
    find(panel.remix_picker, "sw-remix-option-choose")[0].value = True
    htmls: list[Any] = []
    for tab in range(5):
        panel.tabs.selected_index = tab
        htmls += [n for n in panel_tree(panel) if isinstance(n, w.HTML)]
    joined = " ".join(h.value for h in htmls)
    assert "&lt;img src=x onerror=alert(1)&gt;" in joined  # it is shown...
    for h in htmls:
        assert "<img" not in h.value, f"raw user HTML in {h._dom_classes}: {h.value[:200]}"


def test_every_required_css_class_is_on_a_widget(panel: Any, history: FakeHistory) -> None:
    run(panel, models=(TEXT_PRO, TEXT_KLING))
    seen: set[str] = set()
    for tab in range(5):
        panel.tabs.selected_index = tab
        for node in panel_tree(panel):
            seen |= set(getattr(node, "_dom_classes", ()))
    # A running job's card: its Cancel goes when the job ends.
    running = JobCard(JobState(get_model(TEXT_PRO), {"prompt": "x"}), on_cancel=lambda _j: None)
    for node in panel_tree(running):
        seen |= set(getattr(node, "_dom_classes", ()))
    required = {
        "sw-panel",
        "sw-tabs",
        "sw-models",
        "sw-prompt",
        "sw-counter",
        "sw-schema-settings",
        "sw-settings-group",
        "sw-setting-duration",
        "sw-setting-aspect-ratio",
        "sw-setting-resolution",
        "sw-setting-delete-video",
        "sw-setting-delete-video-hint",
        "sw-cost",
        "sw-generate",
        "sw-status",
        "sw-card",
        "sw-card-status",
        "sw-cancel",
        "sw-video",
        "sw-remix-picker",
        "sw-remix-empty",
        "sw-provider",
        "sw-history-table",
        "sw-spend",
    }
    assert required <= seen
    assert required <= set(CSS_CLASSES)
    assert isinstance(find(panel, "sw-models")[0], ModelPicker)  # checkboxes (issue 18)
