"""Image URL previews, how large videos reach a card without bloating the notebook, history paging."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import ipywidgets as w
import pytest

from sora2_widgets import Generation, get_model
from sora2_widgets._images import MAX_IMAGE_BYTES
from sora2_widgets.panel import JobState, PanelController, Sora2Panel
from sora2_widgets.panel._cards import JobCard
from sora2_widgets.panel._media import INLINE_VIDEO_LIMIT, browser_video_url, image_from_bytes, image_from_url
from sora2_widgets.panel._widgets import panel_tree

from ._fakes import FAKE_MP4, PNG, FakeHistory

TEXT_SORA = "sora2_text_to_video"


def test_an_image_given_by_url_is_previewed_by_the_browser(panel: Any) -> None:
    ctl = panel.controller
    panel.tabs.selected_index = 1
    panel.image_url.value = "https://example.com/start.png"
    panel.image_use_url.click()
    assert ctl.image is not None and ctl.image.image_url == "https://example.com/start.png"
    assert panel.image_preview.format == "url"  # the browser fetches it; the kernel downloads nothing
    assert bytes(panel.image_preview.value) == b"https://example.com/start.png"
    assert panel.image_preview.layout.display != "none"
    # A pasted data: URI is decoded: the preview is the image itself.
    panel.image_url.value = "data:image/png;base64," + base64.b64encode(PNG).decode()
    panel.image_use_url.click()
    assert panel.image_preview.format == "png" and bytes(panel.image_preview.value) == PNG


@pytest.mark.parametrize(
    "url",
    [
        'https://example.com/a.png" onerror="alert(1)',
        "https://example.com/<img src=x>.png",
        "https://example.com/a b.png",
        "javascript:alert(1)//https://x",
        "https:///no-host.png",
    ],
)
def test_an_image_url_that_is_not_one_plain_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="image URL"):
        image_from_url(url)


def test_the_inline_video_limit_keeps_saved_notebooks_small() -> None:
    # base64 grows a file by 4/3: a card saved with widget state adds at most ~11 MB.
    assert INLINE_VIDEO_LIMIT == 8 * 1024 * 1024


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


@pytest.mark.parametrize(
    ("url", "playable"),
    [
        ("https://v3.fal.media/files/x.mp4", True),
        ("http://localhost:8765/media/x.mp4", True),
        ("http://example.com/x.mp4", False),  # plain http off loopback: blocked from an https page
        ("https://emulator.sora2-widgets.invalid/x.mp4", False),
        ('https://v3.fal.media/x.mp4"><script>', False),
        ("file:///etc/passwd", False),
        (None, False),
    ],
)
def test_which_result_urls_a_browser_can_play(url: str | None, playable: bool) -> None:
    assert browser_video_url(url) == (url if playable else None)


def add_rows(history: FakeHistory, n: int) -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    for i in range(n):
        history.add(
            model_id=TEXT_SORA,
            status="completed",
            prompt=f"prompt {i}",
            cost_usd=0.4,
            created_at=start + dt.timedelta(minutes=i),
        )


def prompts(panel: Any) -> list[str]:
    return [
        c.value.split("<div class='sw-muted'>")[1].split("</div>")[0]
        for row in panel.history_rows.children
        for c in row.children
        if isinstance(c, w.HTML) and "sw-muted" in c.value
    ]


def test_history_says_how_many_rows_it_shows_and_shows_more(panel: Any, history: FakeHistory) -> None:
    add_rows(history, 250)
    panel.tabs.selected_index = 3
    assert len(panel.history_rows.children) == 100
    assert panel.history_count.value == "Showing 100 of 250 (newest first)."
    assert prompts(panel)[:2] == ["prompt 249", "prompt 248"]
    assert panel.history_more.layout.display != "none" and panel.history_more.description == "Show 100 more"
    panel.history_more.click()
    assert len(panel.history_rows.children) == 200
    assert panel.history_count.value == "Showing 200 of 250 (newest first)."
    assert panel.history_more.description == "Show 50 more"
    panel.history_more.click()
    assert len(panel.history_rows.children) == 250 and prompts(panel)[-1] == "prompt 0"
    assert panel.history_count.value == "250 generations, newest first."
    assert panel.history_more.layout.display == "none"
    # A filter starts again from its newest rows.
    panel.history_status.value = "completed"
    assert len(panel.history_rows.children) == 100


def test_a_short_history_has_no_show_more(panel: Any, history: FakeHistory) -> None:
    add_rows(history, 3)
    panel.tabs.selected_index = 3
    assert len(panel.history_rows.children) == 3
    assert panel.history_count.value == "3 generations, newest first."
    assert panel.history_more.layout.display == "none"


def add_kept(history: FakeHistory, thumb: Path, n: int) -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    for i in range(n):
        history.add(
            model_id=TEXT_SORA,
            status="completed",
            prompt=f"kept {i}",
            video_id=f"video_{i}",
            kept_for_remix=True,
            thumbnail_path=str(thumb),
            duration=4.0,
            created_at=start + dt.timedelta(minutes=i),
        )


def test_the_remix_picker_pages_its_rows_and_keeps_a_chosen_one_in_view(
    panel: Any, history: FakeHistory, tmp_path: Path
) -> None:
    thumb = tmp_path / "t.png"
    thumb.write_bytes(PNG)
    add_kept(history, thumb, 25)
    ctl = panel.controller
    ctl.set_tab("remix")
    rows = panel.remix_picker.children
    assert len(rows) == 20 and "kept 24" in rows[0].children[1].value  # newest first
    assert all(isinstance(r.children[0], w.Image) for r in rows)
    assert panel.remix_more.layout.display != "none" and panel.remix_more.description == "Show 5 more"
    panel.remix_more.click()
    assert len(panel.remix_picker.children) == 25 and panel.remix_more.layout.display == "none"
    assert panel.remix_picker.children[:20] == rows  # the rows already there are not rebuilt
    assert ctl.remix_source is None  # showing more chose nothing

    fresh = Sora2Panel(PanelController(history=history, generator_factory=lambda key: None))
    try:
        oldest = next(c for c in fresh.controller.remix_candidates() if c.prompt == "kept 0")
        fresh.controller.set_tab("remix")
        fresh.controller.set_remix_source(oldest.key)  # as "Remix this" on an old card does
        assert len(fresh.remix_picker.children) == 25
        assert "sw-remix-option-selected" in fresh.remix_picker.children[-1]._dom_classes
    finally:
        fresh.controller.close()


def test_the_panel_refuses_an_image_exactly_as_a_generation_would() -> None:
    """One limit and one decoder: an upload the generator would refuse is refused when it is picked."""
    assert image_from_bytes(PNG, "start.png").image_url.startswith("data:image/png;base64,")
    too_big = PNG + b"\0" * MAX_IMAGE_BYTES
    with pytest.raises(ValueError, match=r"^big\.png: .*image inputs are limited to 10"):
        image_from_bytes(too_big, "big.png")
    with pytest.raises(ValueError, match=r"^cut\.png: .*not a readable image"):
        image_from_bytes(PNG[: len(PNG) // 2], "cut.png")
    pasted = "data:image/png;base64," + base64.b64encode(too_big).decode()
    with pytest.raises(ValueError, match="image inputs are limited to 10"):
        image_from_url(pasted)
