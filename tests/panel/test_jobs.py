"""Jobs: one per selected model, their progress, cancel, and every error as a plain sentence on its card."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest

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
from sora2_widgets.panel import JobStatus
from sora2_widgets.panel._player import MediaPlayer

from ._fakes import FakeGenerator, FakeHistory
from ._helpers import TEXT_KLING, TEXT_SORA, classes, find, run


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
        assert len(videos) == 1 and isinstance(videos[0], MediaPlayer)  # streamed on demand, not state
        assert videos[0].read().startswith(b"\x00\x00\x00\x18ftyp")
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


def test_a_job_reads_the_generators_progress_and_generation(tmp_path: Any) -> None:
    from sora2_widgets import Generation, LogLine, Progress, VideoResult, get_model
    from sora2_widgets.panel import JobState

    job = JobState(get_model(TEXT_SORA), {"prompt": "x", "delete_video": False, "duration": 4})
    seen: list[str] = []
    job.observe(lambda j: seen.append(j.status))
    step = {"index": 0, "model_id": TEXT_SORA, "history_id": 7, "request_id": "req-7"}
    job.apply_update(Progress(stage="submitted", **step))
    assert job.status == JobStatus.SUBMITTING and job.history_id == 7 and job.request_id == "req-7"
    job.apply_update(Progress(stage="in_queue", queue_position=0, **step))
    assert job.status == JobStatus.QUEUED and job.queue_position == 0
    job.apply_update(Progress(stage="in_progress", logs=(LogLine("step 1"), LogLine("rendering 55%")), **step))
    assert job.status == JobStatus.RUNNING and job.queue_position is None
    assert job.last_log == "rendering 55%" and job.progress == pytest.approx(0.55)
    result = VideoResult(model_id=TEXT_SORA, url="https://v3.fal.media/x.mp4", file_size=1234, raw={})
    job.complete(
        Generation(
            model_id=TEXT_SORA,
            status="completed",
            history_id=7,
            url=result.url,
            video_id="video_7",
            cost=Decimal("0.40"),
            result=result,
        )
    )
    assert (job.status, job.size, job.cost, job.kept) == (JobStatus.DONE, 1234, Decimal("0.40"), True)
    assert seen == ["Submitting", "In queue", "Generating", "Done"]
    job.apply_update(Progress(stage="in_progress", **step))  # late updates do not reopen a finished job
    assert job.status == JobStatus.DONE
