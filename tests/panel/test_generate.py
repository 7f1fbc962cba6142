"""Generate → cards (video, facts, errors, cancel), remix picker, history/spend tabs, secrets, escaping."""

from __future__ import annotations

import datetime
import html as _html
import json
import re
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import ipywidgets as w
import pytest
from pydantic import SecretStr

from sora2_widgets import (
    AuthError,
    BudgetExceededError,
    FieldError,
    JobCancelledError,
    JobTimeoutError,
    ModelUnavailableError,
    RateLimitError,
    ServiceError,
    SubmitUncertainError,
    ValidationError,
)
from sora2_widgets.panel import CSS_CLASSES, JobStatus, PanelController, Sora2Panel
from sora2_widgets.panel._widgets import panel_tree
from tests._secrets import FAL_KEY

from ._fakes import PNG, FakeGenerator, FakeHistory

TEXT_SORA, TEXT_PRO, TEXT_KLING = "sora2_text_to_video", "sora2_text_to_video_pro", "kling25_turbo_pro_text_to_video"
XSS = "<img src=x onerror=alert(1)>"


def classes(widget: Any) -> set[str]:
    return set(widget._dom_classes)


def find(root: Any, css: str) -> list[Any]:
    return [n for n in panel_tree(root) if css in getattr(n, "_dom_classes", ())]


def run(panel: Any, prompt: str = "a paper boat on a river", models: tuple[str, ...] = (TEXT_SORA,)) -> list[Any]:
    panel.controller.select(models)
    panel.prompt.value = prompt
    panel.generate.click()
    panel.controller.wait(10)
    return [panel.cards[j.id] for j in panel.controller.jobs]


def test_generate_makes_one_card_per_model_with_video_and_history_rows(
    panel: Any, generator: FakeGenerator, history: FakeHistory
) -> None:
    cards = run(panel, models=(TEXT_SORA, TEXT_KLING))
    assert sorted(c[0] for c in generator.calls) == [TEXT_KLING, TEXT_SORA]
    assert len(cards) == 2 and all("sw-card" in classes(c) for c in cards)
    assert list(panel.jobs.children) == cards
    for card in cards:
        assert card.status.value == "Done" and card.progress.value == 1.0
        videos = find(card, "sw-video")
        assert len(videos) == 1 and isinstance(videos[0], w.Video)
        assert bytes(videos[0].value).startswith(b"\x00\x00\x00\x18ftyp")
        assert card.cancel.disabled is not False or card.cancel.layout.display == "none"
    sora = next(c for c in cards if c.job.spec.id == TEXT_SORA)
    facts = find(sora, "sw-result-facts")[0].value
    assert "cost $0.40" in facts and "video_id video_" in facts and "kept on the service for remix" in facts
    assert find(sora, "sw-remix-this"), "a kept Sora video offers Remix this"
    kling = next(c for c in cards if c.job.spec.id == TEXT_KLING)
    assert not find(kling, "sw-remix-this")
    assert [r.status for r in history.rows] == ["completed", "completed"]
    # keep for remix is on by default, and sent
    assert dict(generator.calls)[TEXT_SORA]["delete_video"] is False
    # The status follows the jobs: both have finished by now.
    assert panel.status.value == "Done: 2 completed."


def test_card_shows_queue_position_log_and_elapsed_while_running(panel: Any, generator: FakeGenerator) -> None:
    generator.gate = threading.Event()
    panel.controller.select((TEXT_SORA,))
    panel.prompt.value = "a slow one"
    panel.generate.click()
    job = panel.controller.jobs[0]
    card = panel.cards[job.id]
    for _ in range(200):
        if job.status == JobStatus.RUNNING:
            break
        threading.Event().wait(0.01)
    assert card.status.value == "Generating"
    assert card.log_line.value == "rendering 40%" and card.progress.value == pytest.approx(0.4)
    assert "elapsed 0:0" in card.info.value and not card.cancel.disabled
    generator.gate.set()
    panel.controller.wait(10)
    assert card.status.value == "Done"


def test_cancel_stops_the_job_and_says_so(panel: Any, generator: FakeGenerator) -> None:
    generator.gate = threading.Event()
    panel.controller.select((TEXT_SORA,))
    panel.prompt.value = "never mind"
    panel.generate.click()
    card = next(iter(panel.cards.values()))
    card.cancel.click()
    panel.controller.wait(10)
    assert card.job.status == JobStatus.CANCELLED
    assert card.status.value == "Cancelled" and "sw-card-cancelled" in classes(card)
    assert generator.cancelled == [card.job.request_id]
    assert not find(card, "sw-video")
    assert panel.controller.cancel(card.job) is False  # already finished


ERRORS = [
    ValidationError(
        TEXT_SORA, [FieldError("duration", "duration must be 4, 8, 12, 16 or 20 seconds")], from_service=True
    ),
    AuthError("The fal key was refused (HTTP 401). Check FAL_KEY."),
    RateLimitError("fal is rate limiting this key; try again in a minute.", retry_after=30),
    ServiceError("fal answered 503 three times; nothing was charged.", status_code=503),
    ModelUnavailableError(TEXT_SORA, "fal-ai/sora-2/text-to-video", status_code=410),
    SubmitUncertainError(TEXT_SORA, "fal-ai/sora-2/text-to-video", "connection reset"),
    BudgetExceededError(budget=Decimal(10), spent=Decimal(9), requested=Decimal(2)),
    JobCancelledError("req-9"),
    JobTimeoutError("req-9", 600, cancelled=False),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_each_error_class_shows_on_its_card_in_plain_words(
    panel: Any, generator: FakeGenerator, error: Exception
) -> None:
    generator.fail_with[TEXT_SORA] = error
    (card,) = run(panel)
    if isinstance(error, JobCancelledError):
        assert card.job.status == JobStatus.CANCELLED and "sw-card-cancelled" in classes(card)
    else:
        assert card.job.status == JobStatus.FAILED and "sw-card-failed" in classes(card)
    text = card.error.value
    assert f"<b>{type(error).title}</b>" in text
    assert error.message.replace("'", "&#x27;") in text  # type: ignore[attr-defined]
    assert "Traceback" not in text and card.error.layout.display != "none"
    if isinstance(error, ModelUnavailableError):
        assert "no longer available" in " ".join(panel.controller.blockers)


def test_unexpected_exception_is_a_sentence_not_a_traceback(panel: Any, generator: FakeGenerator) -> None:
    generator.fail_with[TEXT_SORA] = RuntimeError("disk full")
    (card,) = run(panel)
    assert card.error.value == "<b>Unexpected error</b>: RuntimeError: disk full"


def test_remix_picker_empty_then_offers_kept_videos(panel: Any, generator: FakeGenerator) -> None:
    ctl = panel.controller
    ctl.set_tab("remix")
    assert find(panel, "sw-remix-empty")[0].layout.display != "none"
    assert panel.remix_picker.layout.display == "none"
    assert "No Sora videos available yet" in panel.remix_empty.value
    assert "Pick a video to remix." in ctl.blockers or "Write a prompt." in ctl.blockers
    ctl.set_tab("text")
    panel.keep.value = False
    run(panel, prompt="not kept")
    panel.keep.value = True
    (kept, _) = run(panel, prompt="kept one")
    ctl.set_tab("remix")
    assert panel.remix_empty.layout.display == "none" and panel.remix_picker.layout.display != "none"
    (row,) = find(panel.remix_picker, "sw-remix-option")
    (thumb,) = find(row, "sw-remix-option-thumb")
    assert isinstance(thumb, w.Image) and bytes(thumb.value) == PNG  # the video's own thumbnail
    (text,) = find(row, "sw-remix-option-text")
    assert "<div>kept one</div>" in text.value and "8 s · 720p" in text.value
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", text.value)  # its date
    (choose,) = find(row, "sw-remix-option-choose")
    assert isinstance(choose, w.ToggleButton) and not choose.value and choose.description == "Choose"
    choose.value = True  # the user picks it
    assert ctl.remix_source is not None and ctl.remix_source.video_id == kept.job.video_id
    assert choose.description == "Chosen" and "sw-remix-option-selected" in classes(row)
    choose.value = False  # and un-picks it
    assert ctl.remix_source is None and "sw-remix-option-selected" not in classes(row)
    # "Remix this" on the card opens the Remix tab with that source chosen, with its thumbnail
    ctl.set_tab("text")
    find(kept, "sw-remix-this")[0].click()
    assert ctl.tab == "remix" and panel.tabs.selected_index == 2
    assert ctl.remix_source is not None and ctl.remix_source.video_id == kept.job.video_id
    (row,) = find(panel.remix_picker, "sw-remix-option")
    assert find(row, "sw-remix-option-choose")[0].value and "sw-remix-option-selected" in classes(row)
    assert any(isinstance(c, w.Image) and bytes(c.value) == PNG for c in panel.remix_preview.children)
    panel.prompt.value = "make it night"
    assert ctl.cost_lines()[0] == "Total: $0.80"  # 8 s source × $0.10
    panel.generate.click()
    ctl.wait(10)
    assert generator.calls[-1][0] == "sora2_video_to_video_remix"
    assert generator.calls[-1][1]["video_id"] == kept.job.video_id


def test_history_tab_newest_first_filter_and_delete(panel: Any, history: FakeHistory) -> None:
    run(panel, prompt="first", models=(TEXT_SORA,))
    run(panel, prompt="second", models=(TEXT_KLING,))
    panel.tabs.selected_index = 3
    rows = panel.history_rows.children
    assert len(rows) == 2 and "second" in rows[0].children[-1].value  # newest first
    assert any(isinstance(c, w.Image) for c in rows[0].children)  # thumbnail
    panel.history_model.value = TEXT_SORA
    assert len(panel.history_rows.children) == 1 and "first" in panel.history_rows.children[0].children[-1].value
    panel.history_model.value = ""
    panel._history_checks[0][1].value = True  # tick the newest row
    panel.history_delete.click()
    rows = panel.history_rows.children
    assert len(rows) == 1 and "first" in rows[0].children[-1].value
    assert [r.deleted for r in history.rows] == [False, True]


def test_spend_tab_totals_and_chart(generator: FakeGenerator, history: FakeHistory) -> None:
    ctl = PanelController(generator, history, budget=20, generator_factory=lambda k: None)
    panel = Sora2Panel(ctl)
    run(panel, models=(TEXT_SORA, TEXT_KLING))
    panel.tabs.selected_index = 4
    assert "Total spent: $0.75" in panel.spend_summary.value
    assert "budget left: $19.25 of $20.00" in panel.spend_summary.value
    assert bytes(panel.spend_chart.value).startswith(b"\x89PNG")
    assert "kling25_turbo_pro_text_to_video" in panel.spend_tables.value
    assert panel.spend_chart in panel_tree(find(panel, "sw-spend")[0])
    ctl.close()


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


def test_image_tab_url_upload_and_path(panel: Any, generator: FakeGenerator, tmp_path: Path) -> None:
    ctl = panel.controller
    panel.tabs.selected_index = 1
    panel.prompt.value = "animate this"
    assert "Choose a start image (URL, upload or local path)." in ctl.blockers
    panel.image_url.value = "ftp://example.com/x.png"
    panel.image_use_url.click()
    assert "must start with https://" in panel.image_info.value
    panel.image_url.value = "https://example.com/start.png"
    panel.image_use_url.click()
    assert ctl.image is not None and ctl.image.image_url == "https://example.com/start.png"
    panel.upload.value = (
        {
            "name": "frame.png",
            "type": "image/png",
            "size": len(PNG),
            "content": memoryview(PNG),
            "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
        },
    )
    assert ctl.image is not None and ctl.image.image_url.startswith("data:image/png;base64,")
    assert bytes(panel.image_preview.value) == PNG and panel.image_preview.layout.display != "none"
    assert panel.upload.value == ()  # the bytes do not stay in widget state
    path = tmp_path / "local.png"
    path.write_bytes(PNG)
    panel.image_path.value = str(path)
    panel.image_load.click()
    assert ctl.image is not None and ctl.image.source == "path" and ctl.image.image_url.startswith("data:image/png")
    panel.generate.click()
    ctl.wait(10)
    assert generator.calls[-1][1]["image_url"].startswith("data:image/png;base64,")


def test_every_required_css_class_is_on_a_widget(panel: Any, history: FakeHistory) -> None:
    run(panel, models=(TEXT_PRO, TEXT_KLING))
    seen: set[str] = set()
    for tab in range(5):
        panel.tabs.selected_index = tab
        for node in panel_tree(panel):
            seen |= set(getattr(node, "_dom_classes", ()))
    required = {
        "sw-panel",
        "sw-tabs",
        "sw-models",
        "sw-prompt",
        "sw-counter",
        "sw-sora-settings",
        "sw-duration",
        "sw-aspect",
        "sw-resolution",
        "sw-keep",
        "sw-kling-settings",
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
    assert isinstance(find(panel, "sw-models")[0], w.SelectMultiple)


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        done.wait(0.01)
    raise AssertionError("condition not reached")


def test_status_line_follows_the_jobs_and_belongs_to_its_tab(panel: Any, generator: FakeGenerator) -> None:
    ctl = panel.controller
    generator.gate = threading.Event()
    generator.fail_with[TEXT_KLING] = ServiceError(
        "fal answered 503 three times; nothing was charged.", status_code=503
    )
    ctl.select((TEXT_SORA, TEXT_KLING))
    panel.prompt.value = "a paper boat on a river"
    panel.generate.click()
    assert ctl.status == "2 jobs running: Sora 2, Kling 2.5 Turbo Pro."
    assert panel.status.value == _html.escape(ctl.status) and not ctl.status_warn

    # Jobs started on the Text tab are not reported on the Remix tab (it has its own state).
    panel.tabs.selected_index = 2
    assert ctl.status == ""
    assert panel.status.value == "Pick a video to remix."  # what blocks Generate there
    panel.tabs.selected_index = 0
    assert panel.status.value == _html.escape(ctl.status) and "running" in ctl.status

    generator.gate.set()
    ctl.wait(10)
    wait_for(lambda: panel.status.value == "Done: 1 completed, 1 failed.")
    assert ctl.status == "Done: 1 completed, 1 failed."


def test_a_message_is_cleared_by_a_tab_switch(panel: Any) -> None:
    ctl = panel.controller
    ctl.select(())
    ctl.generate()  # refused: says why, as a warning
    assert ctl.status == "Select at least one model." and ctl.status_warn
    ctl.set_tab("image")
    ctl.set_tab("text")
    assert ctl.status == "" and not ctl.status_warn


def test_card_header_has_a_status_pill_and_the_progress_bar_goes_when_done(panel: Any) -> None:
    from sora2_widgets import Progress, get_model
    from sora2_widgets.panel import JobState
    from sora2_widgets.panel._cards import JobCard

    job = JobState(get_model(TEXT_SORA), {"prompt": "x"})
    card = JobCard(job, on_cancel=lambda _j: None)
    job.apply_update(Progress(index=0, model_id=TEXT_SORA, stage="in_queue", queue_position=1, request_id="req-1"))
    assert card.status.value == "In queue · #2"  # fal counts from 0; people from 1
    assert card.progress.layout.display != "none" and "queue position" not in card.info.value
    job.fail("Service error", "boom")
    assert card.status.value == "Failed" and "sw-pill-failed" in classes(card.status)
    assert card.progress.layout.display == "none"


def test_saved_path_is_whole_in_a_code_element_with_a_title(panel: Any) -> None:
    (card,) = run(panel)
    facts = find(card, "sw-result-facts")[0].value
    path = _html.escape(str(card.job.local_path), quote=True)
    assert f'<code class="sw-path" title="{path}">{path}</code>' in facts


def test_spend_chart_stays_hidden_until_it_has_a_png(panel: Any) -> None:
    chart = find(panel, "sw-spend-chart")[0]
    assert chart.layout.display == "none" and not chart.value  # no broken-image icon
    run(panel)
    panel.controller.set_tab("spend")
    assert bytes(chart.value).startswith(b"\x89PNG") and chart.layout.display != "none"
