"""Job cards: the status pill, the saved path, and how a video reaches the card without bloating the notebook."""

from __future__ import annotations

import html as _html
import json
from pathlib import Path
from typing import Any

import ipywidgets as w
import pytest

from sora2_widgets import Generation, get_model
from sora2_widgets.panel import JobState
from sora2_widgets.panel._cards import JobCard
from sora2_widgets.panel._media import INLINE_VIDEO_LIMIT
from sora2_widgets.panel._widgets import panel_tree

from ._fakes import FAKE_MP4
from ._helpers import TEXT_SORA, classes, find, run


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


def card_for(tmp_path: Path, size: int, url: str | None) -> JobCard:
    path = tmp_path / "video.mp4"
    path.write_bytes(FAKE_MP4 + b"\x00" * (size - len(FAKE_MP4)))
    job = JobState(get_model(TEXT_SORA), {"prompt": "a big one", "delete_video": False})
    card = JobCard(job, on_cancel=lambda _job: None)
    job.complete(
        Generation(model_id=TEXT_SORA, status="completed", url=url, local_path=path, video_id="video_1", history_id=1)
    )
    return card


def state_size(card: JobCard) -> int:
    total = 0
    for node in panel_tree(card):
        state = node.get_state()
        total += sum(len(v) for v in state.values() if isinstance(v, (bytes, memoryview)))
        total += len(json.dumps({k: v for k, v in state.items() if not isinstance(v, (bytes, memoryview))}))
    return total


def videos(card: JobCard) -> list[Any]:
    return [n for n in panel_tree(card) if "sw-video" in getattr(n, "_dom_classes", ())]


def test_a_small_video_is_embedded(tmp_path: Path) -> None:
    card = card_for(tmp_path, 200_000, "http://emulator.sora2-widgets.invalid/media/v.mp4")
    (video,) = videos(card)
    assert isinstance(video, w.Video) and video.format == "mp4" and len(video.value) == 200_000


@pytest.mark.parametrize(
    "url",
    ["https://v3.fal.media/files/abc/video.mp4", "http://127.0.0.1:8765/media/abc/video.mp4"],
    ids=["fal-cdn", "served-emulator"],
)
def test_a_large_video_plays_from_its_url_without_embedding(tmp_path: Path, url: str) -> None:
    card = card_for(tmp_path, INLINE_VIDEO_LIMIT + 1, url)
    (video,) = videos(card)
    assert isinstance(video, w.Video) and video.format == "url" and bytes(video.value) == url.encode()
    assert state_size(card) < 50_000  # what a saved notebook carries for this card: no video bytes
    assert str(tmp_path / "video.mp4") in " ".join(n.value for n in panel_tree(card) if isinstance(n, w.HTML))


def test_a_large_video_of_the_in_process_emulator_shows_its_path(tmp_path: Path) -> None:
    card = card_for(tmp_path, INLINE_VIDEO_LIMIT + 1, "http://emulator.sora2-widgets.invalid/media/v.mp4")
    assert videos(card) == []  # that host exists only inside the kernel: a player would stay black
    text = " ".join(n.value for n in panel_tree(card) if isinstance(n, w.HTML))
    assert "too large to embed" in text and str(tmp_path / "video.mp4") in text
    assert state_size(card) < 50_000
