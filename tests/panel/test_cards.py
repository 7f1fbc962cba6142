"""Job cards: the status pill, the saved path, collapsing and clearing, and how a video reaches the card
without bloating the notebook."""

from __future__ import annotations

import html as _html
import json
from pathlib import Path
from typing import Any

import ipywidgets as w
import pytest

from sora2_widgets import Generation, get_model
from sora2_widgets.panel import JobState
from sora2_widgets.panel._cards import CARD_CSS, VIDEO_MAX_HEIGHT, VIDEO_WIDTH, JobCard
from sora2_widgets.panel._player import MediaPlayer
from sora2_widgets.panel._widgets import panel_tree, widget_tree

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
    assert card.progress in card.body.children and "queue position" not in card.info.value
    assert card.cancel in panel_tree(card) and card.dismiss is None
    job.fail("Service error", "boom")
    assert card.status.value == "Failed" and "sw-pill-failed" in classes(card.status)
    assert card.progress not in panel_tree(card) and card.cancel not in panel_tree(card)
    assert card.progress.comm is None and card.cancel.comm is None  # closed: not in a saved notebook
    assert "boom" in card.error.value and card.error in card.body.children


def test_saved_path_is_whole_in_a_code_element_with_a_title(panel: Any) -> None:
    (card,) = run(panel)
    facts = find(card, "sw-result-facts")[0].value
    path = _html.escape(str(card.job.local_path), quote=True)
    assert f'<code class="sw-path" title="{path}">{path}</code>' in facts


def card_for(tmp_path: Path, size: int, url: str | None, *, keep_file: bool = True) -> JobCard:
    path = tmp_path / "video.mp4"
    path.write_bytes(FAKE_MP4 + b"\x00" * (size - len(FAKE_MP4)))
    job = JobState(get_model(TEXT_SORA), {"prompt": "a big one", "delete_video": False})
    card = JobCard(job, on_cancel=lambda _job: None)
    if not keep_file:
        path.unlink()
    job.complete(
        Generation(model_id=TEXT_SORA, status="completed", url=url, local_path=path, video_id="video_1", history_id=1)
    )
    return card


def state_size(card: JobCard) -> int:
    """What a notebook saved with widget state carries for this card (bytes count as their base64)."""
    total = 0
    for node in widget_tree(card):
        state = node.get_state(drop_defaults=True)  # as JupyterLab saves it
        total += sum(len(v) * 4 // 3 for v in state.values() if isinstance(v, (bytes, memoryview)))
        skip = {"_esm"}  # the player's code: the same few KB for every player, not the card's media
        total += len(
            json.dumps({k: v for k, v in state.items() if k not in skip and not isinstance(v, (bytes, memoryview))})
        )
    return total


def videos(card: JobCard) -> list[Any]:
    return [n for n in panel_tree(card) if "sw-video" in getattr(n, "_dom_classes", ())]


@pytest.mark.parametrize("size", [200_000, 20 * 1024 * 1024], ids=["short-clip", "20MB-clip"])
def test_a_local_video_is_streamed_on_demand_never_embedded(tmp_path: Path, size: int) -> None:
    card = card_for(tmp_path, size, "http://emulator.sora2-widgets.invalid/media/v.mp4")
    (video,) = videos(card)
    assert isinstance(video, MediaPlayer) and video.kind == "video" and video.label == "video.mp4"
    assert state_size(card) < 10_000  # whatever the clip's size: no bytes in widget state
    sent: list[tuple[dict[str, Any], list[Any]]] = []
    video.send = lambda content, buffers=None: sent.append((content, buffers or []))
    video._on_message(video, {"type": "fetch", "request": "r1"}, [])
    assert b"".join(bytes(b) for _, bufs in sent for b in bufs) == (tmp_path / "video.mp4").read_bytes()
    assert all(c["request"] == "r1" and c["mime"] == "video/mp4" for c, _ in sent)
    assert [c["index"] for c, _ in sent] == list(range(sent[0][0]["total"]))


def test_a_video_fits_the_output_width(tmp_path: Path) -> None:
    (video,) = videos(card_for(tmp_path, 1000, None))
    assert video.width == VIDEO_WIDTH and video.max_height == VIDEO_MAX_HEIGHT
    assert "max-width: 100%" in CARD_CSS  # never wider than the output


@pytest.mark.parametrize(
    "url",
    ["https://v3.fal.media/files/abc/video.mp4", "http://127.0.0.1:8765/media/abc/video.mp4"],
    ids=["fal-cdn", "served-emulator"],
)
def test_without_the_local_file_a_reachable_url_plays(tmp_path: Path, url: str) -> None:
    card = card_for(tmp_path, 1000, url, keep_file=False)
    (video,) = videos(card)
    assert isinstance(video, w.Video) and video.format == "url" and bytes(video.value) == url.encode()
    assert state_size(card) < 10_000


def test_without_the_local_file_an_in_process_emulator_url_is_explained(tmp_path: Path) -> None:
    card = card_for(tmp_path, 1000, "http://emulator.sora2-widgets.invalid/media/v.mp4", keep_file=False)
    assert videos(card) == []  # that host exists only inside the kernel: a player would stay black
    text = " ".join(n.value for n in panel_tree(card) if isinstance(n, w.HTML))
    assert "not reachable from the browser" in text and str(tmp_path / "video.mp4") in text


def test_a_card_collapses_to_its_header_and_shows_again(tmp_path: Path) -> None:
    card = card_for(tmp_path, 1000, None)
    card.collapse.click()
    assert card.body.layout.display == "none" and card.collapse.description == "Show"
    assert "sw-card-collapsed" in classes(card)
    card.collapse.click()
    assert card.body.layout.display != "none" and card.collapse.description == "Hide"


def test_only_a_finished_card_can_be_cleared(panel: Any) -> None:
    job = JobState(get_model(TEXT_SORA), {"prompt": "x"})
    cleared: list[JobCard] = []
    card = JobCard(job, on_cancel=lambda _j: None, on_dismiss=cleared.append)
    assert card.dismiss is None  # running: Cancel is the way to stop it
    job.fail("Service error", "boom")
    assert card.dismiss is not None and card.dismiss in panel_tree(card)
    card.dismiss.click()
    assert cleared == [card]


def test_a_card_without_a_cost_says_so_in_the_history_tabs_words(tmp_path: Path) -> None:
    import pandas as pd

    from sora2_widgets.panel._tab_history import cost_text

    facts = find(card_for(tmp_path, 1024, None), "sw-result-facts")[0].value
    row = {"cost_micros": pd.NA, "status": "completed", "est_low_micros": pd.NA, "est_high_micros": pd.NA}
    assert cost_text({**row, "provider": "fal"}) == "cost not known"
    assert "cost not known" in facts and "cost unknown" not in facts
