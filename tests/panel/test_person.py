"""The panel as a person uses it (issue #18): one click one set of jobs, a prompt per tab,
names for people, History's actions, checkboxes for models, the remix source shown once."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import ipywidgets as w
import pytest

from sora2_widgets import Generation
from sora2_widgets.panel import PanelController, Sora2Panel
from sora2_widgets.panel._jobs import JobStatus
from sora2_widgets.panel._player import MediaPlayer
from sora2_widgets.panel._widgets import panel_tree

from ._fakes import FakeGenerator, FakeHistory
from ._helpers import REMIX, TEXT_KLING, TEXT_PRO, TEXT_SORA, find, run, setting, shown, wait_until


class HeldGenerator(FakeGenerator):
    """A fake generator whose jobs wait at the submit until the test lets them through."""

    def __init__(self, history: FakeHistory, media: Path) -> None:
        super().__init__(history, media)
        self.submit_gate = threading.Event()
        self.arrived = 0

    async def agenerate(
        self, model_id: str, *, on_update: Any = None, raise_on_error: bool = True, **params: Any
    ) -> Generation:
        self.arrived += 1
        await asyncio.to_thread(self.submit_gate.wait, 60)
        return await super().agenerate(model_id, on_update=on_update, raise_on_error=raise_on_error, **params)


@pytest.fixture
def held(history: FakeHistory, tmp_path: Path) -> Any:
    media = tmp_path / "held-media"
    media.mkdir()
    gen = HeldGenerator(history, media)
    gen.gate = threading.Event()  # submitted jobs then keep running until the test sets it
    ctl = PanelController(gen, history, generator_factory=lambda key: None)
    panel = Sora2Panel(ctl)
    yield panel, gen
    gen.submit_gate.set()
    gen.gate.set()
    ctl.close()


# -- 1. a double-click never starts two paid jobs ------------------------------------------------


def test_a_double_click_starts_one_job_per_model_and_generate_waits_for_the_submit(held: Any) -> None:
    panel, gen = held
    ctl = panel.controller
    ctl.select((TEXT_SORA, TEXT_PRO))
    panel.prompt.value = "a paper boat on a river"
    panel.generate.click()
    panel.generate.click()  # the second click of a double-click, while the first one's jobs submit
    assert len(ctl.jobs) == 2
    assert ctl.submitting
    assert panel.generate.disabled and panel.generate.description == "Submitting…"
    assert ctl.generate() == []  # the controller refuses too, not only the button
    gen.submit_gate.set()
    wait_until(lambda: not ctl.submitting)
    wait_until(lambda: not panel.generate.disabled)
    assert panel.generate.description == "Generate"
    assert sorted(m for m, _ in gen.calls) == sorted([TEXT_SORA, TEXT_PRO])  # one job per model
    assert gen.arrived == 2
    gen.gate.set()
    ctl.wait(10)
    assert [j.status for j in ctl.jobs] == [JobStatus.DONE, JobStatus.DONE]


def test_a_click_on_the_same_running_request_asks_and_only_a_confirmation_runs_it_again(held: Any) -> None:
    panel, gen = held
    ctl = panel.controller
    gen.submit_gate.set()
    ctl.select((TEXT_SORA, TEXT_PRO))
    panel.prompt.value = "a paper boat on a river"
    panel.generate.click()
    wait_until(lambda: not ctl.submitting)
    assert len(ctl.jobs) == 2 and not any(j.done for j in ctl.jobs)
    cost = str(ctl.total_cost)
    panel.generate.click()  # the same request, still running
    assert ctl.question == f"Run the same 2 jobs again? {cost}"
    assert len(ctl.jobs) == 2
    question = find(panel, "sw-question")[0]
    assert shown(question) and ctl.question in find(panel, "sw-question-text")[0].value
    assert panel.generate.disabled  # only the question's buttons answer it
    assert ctl.generate() == [] and len(ctl.jobs) == 2  # more clicks do not confirm
    find(panel, "sw-dismiss")[0].click()
    assert ctl.question is None and not shown(question) and len(ctl.jobs) == 2
    panel.generate.click()
    assert ctl.question is not None
    find(panel, "sw-confirm")[0].click()
    assert ctl.question is None and len(ctl.jobs) == 4
    gen.gate.set()
    ctl.wait(10)
    assert len(gen.calls) == 4


def test_a_changed_request_or_finished_jobs_start_without_asking(held: Any) -> None:
    panel, gen = held
    ctl = panel.controller
    gen.submit_gate.set()
    panel.prompt.value = "first"
    panel.generate.click()
    wait_until(lambda: not ctl.submitting)
    panel.prompt.value = "second"  # a different request: started at once
    panel.generate.click()
    assert ctl.question is None and len(ctl.jobs) == 2
    gen.gate.set()
    ctl.wait(10)
    panel.generate.click()  # the same request, but its jobs ended: a new run, no question
    assert ctl.question is None and len(ctl.jobs) == 3
    ctl.wait(10)


def test_a_pending_question_goes_when_the_request_changes(held: Any) -> None:
    panel, gen = held
    ctl = panel.controller
    gen.submit_gate.set()
    panel.prompt.value = "first"
    panel.generate.click()
    wait_until(lambda: not ctl.submitting)
    panel.generate.click()
    assert ctl.question is not None
    panel.prompt.value = "first, at night"
    assert ctl.question is None and not panel.generate.disabled
    assert ctl.confirm_repeat() == []  # nothing to confirm any more


# -- 2. each tab keeps its own prompt and settings -----------------------------------------------


def test_each_tab_keeps_its_own_prompt(panel: Any) -> None:
    ctl = panel.controller
    panel.prompt.value = "a lighthouse in a storm"
    ctl.set_tab("remix")
    assert panel.prompt.value == ""  # the Remix tab does not open with the text prompt
    panel.prompt.value = "make it night"
    ctl.set_tab("image")
    assert panel.prompt.value == ""
    panel.prompt.value = "the sun rises"
    ctl.set_tab("text")
    assert panel.prompt.value == "a lighthouse in a storm" and ctl.prompt == "a lighthouse in a storm"
    ctl.set_tab("history")  # History shows no prompt; coming back finds it unchanged
    ctl.set_tab("remix")
    assert panel.prompt.value == "make it night"
    assert {tab: ctl.inputs[tab].prompt for tab in ("text", "image", "remix")} == {
        "text": "a lighthouse in a storm",
        "image": "the sun rises",
        "remix": "make it night",
    }


def test_each_tab_keeps_its_own_settings_and_sends_them(panel: Any, generator: FakeGenerator) -> None:
    ctl = panel.controller
    panel.duration.value = 8
    setting(panel, "delete_video").value = False
    ctl.set_tab("image")
    assert panel.duration.value == 4 and setting(panel, "delete_video").value  # the image tab's own defaults
    ctl.set_tab("text")
    assert panel.duration.value == 8 and not setting(panel, "delete_video").value
    run(panel, prompt="text prompt")
    model, params = generator.calls[-1]
    assert (model, params["prompt"], params["duration"], params["delete_video"]) == (TEXT_SORA, "text prompt", 8, True)


def test_keep_for_remix_is_on_by_default_on_every_generation_tab(panel: Any) -> None:
    ctl = panel.controller
    for tab in ("text", "image", "remix"):
        ctl.set_tab(tab)
        keep = setting(panel, "delete_video")
        assert keep.description == "Keep for remix" and keep.value is True
        assert "can be remixed later" in setting(panel, "delete_video_hint").value  # what it does, beside it
        assert ctl.settings_for(ctl.selected[0])["delete_video"] is False


# -- 9. models are ticked, not Ctrl-clicked ------------------------------------------------------


def test_models_are_checkboxes_that_follow_the_controller_both_ways(panel: Any) -> None:
    ctl = panel.controller
    boxes = find(panel, "sw-model-option")
    assert [type(b) for b in boxes] == [w.Checkbox] * len(ctl.models)
    assert not any(isinstance(n, w.SelectMultiple) for n in panel_tree(panel))
    by_id = {m.id: find(panel, f"sw-model-{m.id}")[0] for m in ctl.models}
    assert by_id[TEXT_SORA].value and not by_id[TEXT_KLING].value
    # The label is text MathJax leaves alone: two prices in one label are not a LaTeX formula.
    assert by_id[TEXT_PRO].description.startswith('<span class="tex2jax_ignore mathjax_ignore">Sora 2 Pro · $')
    assert by_id[TEXT_PRO].description_allow_html and by_id[TEXT_PRO].tooltip.startswith("Sora 2 Pro · $")
    by_id[TEXT_KLING].value = True  # the user ticks Kling
    assert ctl.selections["text"] == (TEXT_SORA, TEXT_KLING)
    by_id[TEXT_SORA].value = False
    assert ctl.selections["text"] == (TEXT_KLING,) and panel.models.value == (TEXT_KLING,)
    ctl.select((TEXT_PRO,))  # from code: the boxes follow
    assert [b.value for b in (by_id[TEXT_SORA], by_id[TEXT_PRO], by_id[TEXT_KLING])] == [False, True, False]


def test_switching_tabs_reuses_each_tabs_checkboxes(panel: Any) -> None:
    ctl = panel.controller
    text_boxes = list(panel.models.children)
    ctl.set_tab("image")
    image_boxes = [b for b in panel.models.children if b.layout.display != "none"]
    assert not set(map(id, image_boxes)) & set(map(id, text_boxes))
    ctl.set_tab("text")
    # The same widgets, not new ones; the other tab's are kept as hidden children (in reach).
    assert [b for b in panel.models.children if b.layout.display != "none"] == text_boxes
    assert set(map(id, panel.models.children)) == set(map(id, text_boxes)) | set(map(id, image_boxes))
    assert [b.value for b in text_boxes] == [m.id in ctl.selections["text"] for m in ctl.models]
    panel.models.close()  # the image tab's boxes are not on screen, and are closed too
    assert all(b.comm is None for b in (*text_boxes, *image_boxes))


def test_secondary_actions_look_like_buttons(panel: Any) -> None:
    for css in ("sw-image-use-url", "sw-image-load", "sw-upload"):
        (button,) = find(panel.image_source.box, css)
        assert isinstance(button, (w.Button, w.FileUpload)) and "sw-action" in button._dom_classes and button.icon
    assert ".sw-panel .sw-action" in find(panel, "sw-panel")[0].children[0].value


# -- 7. names for people, and History's actions --------------------------------------------------


def test_history_shows_names_status_words_and_simulated_costs(panel: Any) -> None:
    run(panel, prompt="a red kite", models=(TEXT_PRO,))
    panel.controller.set_tab("history")
    (row,) = find(panel.history_rows, "sw-history-row")
    (text,) = find(row, "sw-history-text")
    assert "<b>Sora 2 Pro</b>" in text.value and "Completed" in text.value and "(simulated)" in text.value
    assert "sora2_text_to_video_pro" not in text.value and "completed" not in text.value
    assert ("Sora 2 Pro", TEXT_PRO) in panel.history_model.options
    assert ("Completed", "completed") in panel.history_status.options


def test_history_actions_play_remix_and_file(panel: Any) -> None:
    ctl = panel.controller
    (card,) = run(panel, prompt="a red kite")
    ctl.set_tab("history")
    (row_id,) = list(panel.history_tab.actions)
    actions = panel.history_tab.actions[row_id]
    assert set(actions) == {"play", "remix", "file"}
    actions["play"].click()
    (video,) = find(panel.history_rows, "sw-history-video")
    # Streamed from the saved file on demand, as on the cards: no bytes in widget state.
    assert isinstance(video, MediaPlayer) and video.source == card.job.local_path and video.kind == "video"
    actions["play"].click()  # again: the player goes, and is closed
    assert find(panel.history_rows, "sw-history-video") == [] and video.comm is None
    actions["file"].click()
    (where,) = find(panel.history_rows, "sw-history-where")
    assert str(card.job.local_path) in where.value
    actions["remix"].click()
    assert ctl.tab == "remix" and ctl.remix_source is not None
    assert ctl.remix_source.key == str(row_id) and panel.tabs.selected_index == 2


def test_history_offers_remix_only_for_remixable_videos(panel: Any) -> None:
    ctl = panel.controller
    setting(panel, "delete_video").value = False
    run(panel, prompt="not kept")
    run(panel, prompt="kling", models=(TEXT_KLING,))
    ctl.set_tab("history")
    assert all("remix" not in acts for acts in panel.history_tab.actions.values())
    assert ctl.remix_from(next(iter(panel.history_tab.actions))) is False
    assert "cannot be remixed" in ctl.status


def test_spend_has_readable_headers_names_and_says_simulated(panel: Any) -> None:
    run(panel, models=(TEXT_SORA, TEXT_KLING))
    panel.controller.set_tab("spend")
    tables = panel.spend_tables.value
    for header in ("Model", "Jobs", "Spent", "Outcome unknown", "Possibly charged", "Day"):
        assert f"<th>{header}</th>" in tables
    assert "possibly_charged" not in tables and "model_id" not in tables
    assert "Sora 2" in tables and TEXT_KLING not in tables
    assert "Total spent: $0.75 (simulated on the emulator: nothing was charged)" in panel.spend_summary.value


def test_spend_splits_fal_and_simulated_money(panel: Any, history: FakeHistory) -> None:
    history.add(model_id=TEXT_SORA, status="completed", prompt="live", cost_usd=0.4, provider="fal")
    history.add(model_id=TEXT_SORA, status="completed", prompt="offline", cost_usd=0.8, provider="emulator")
    panel.controller.set_tab("spend")
    assert "Total spent: $1.20 ($0.40 on fal.ai, $0.80 simulated on the emulator)" in panel.spend_summary.value


# -- 9. the remix source is shown once -----------------------------------------------------------


def test_the_chosen_remix_video_is_shown_once(panel: Any) -> None:
    ctl = panel.controller
    run(panel, prompt="a unique kite prompt")
    ctl.set_tab("remix")
    (choose,) = find(panel.remix_picker, "sw-remix-option-choose")
    choose.value = True
    visible = [
        n
        for n in panel_tree(panel.remix.box)
        if isinstance(n, w.HTML) and "a unique kite prompt" in n.value and _visible(panel.remix.box, n)
    ]
    assert len(visible) == 1 and not shown(panel.remix_picker) and shown(panel.remix_preview)
    assert ctl.remix_source is not None and ctl.remix_source.model_id != REMIX
    find(panel, "sw-remix-change")[0].click()  # "Choose another": the list is back, nothing chosen
    assert ctl.remix_source is None and shown(panel.remix_picker) and not shown(panel.remix_preview)


def _visible(root: Any, node: Any) -> bool:
    """``node`` and every ancestor up to ``root`` are displayed."""
    parents: dict[int, Any] = {}
    for parent in panel_tree(root):
        for child in getattr(parent, "children", ()) or ():
            parents[id(child)] = parent
    while node is not None:
        if not shown(node):
            return False
        node = parents.get(id(node))
    return True
