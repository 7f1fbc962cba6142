"""The panel end to end on the real stack: Generator + History + AsyncFalClient + in-process Emulator."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sora2_widgets import AsyncFalClient, Emulator, Generator, History
from sora2_widgets.panel import JobStatus, PanelController, Sora2Panel
from sora2_widgets.panel._player import MediaPlayer
from sora2_widgets.panel._widgets import panel_tree


def make_panel(tmp_path: Path, **emu: Any) -> tuple[Sora2Panel, Generator]:
    emulator = Emulator(state_dir=tmp_path / "emu", queue_delay=0.05, progress_time=0.3, seed=7, **emu)
    history = History(tmp_path / "history.sqlite3")
    generator = Generator(client=AsyncFalClient(emulator=emulator), history=history, resume=False)
    ctl = PanelController(generator, history, generator_factory=lambda key: None)
    return Sora2Panel(ctl), generator


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Sora2Panel, Generator]]:
    panel, generator = make_panel(tmp_path)
    yield panel, generator
    panel.controller.close()
    generator.close()


def videos(root: Any) -> list[Any]:
    return [n for n in panel_tree(root) if "sw-video" in getattr(n, "_dom_classes", ())]


def test_generate_then_remix_on_the_emulator(stack: tuple[Sora2Panel, Generator]) -> None:
    panel, generator = stack
    ctl = panel.controller
    assert "Emulator (offline — nothing is charged)" in panel.provider.value
    panel.prompt.value = "a lighthouse at dusk, waves"
    panel.generate.click()
    ctl.wait(60)
    (job,) = ctl.jobs
    card = panel.cards[job.id]
    assert job.status == JobStatus.DONE, (job.error_title, job.error_message)
    (video,) = videos(card)
    assert isinstance(video, MediaPlayer) and (video.read() or b"")[4:8] == b"ftyp"  # a real MP4 reached the card
    assert job.cost == Decimal("0.40") and job.kept and job.video_id
    assert job.local_path is not None and job.local_path.is_file()
    frame = generator.history.df
    assert list(frame["status"]) == ["completed"] and bool(frame["kept_for_remix"].iloc[0])

    next(b for b in panel_tree(card) if "sw-remix-this" in getattr(b, "_dom_classes", ())).click()
    assert ctl.tab == "remix" and ctl.remix_source is not None and ctl.remix_source.video_id == job.video_id
    assert ctl.cost_lines()[0] == "Total: $0.40"  # priced from the 4 s source
    (row,) = [n for n in panel_tree(panel.remix_picker) if "sw-remix-option" in n._dom_classes]
    thumb = next(n for n in panel_tree(row) if "sw-remix-option-thumb" in n._dom_classes)
    assert isinstance(thumb, MediaPlayer) and (thumb.read() or b"")[:3] in (
        b"\xff\xd8\xff",
        b"\x89PN",
    )  # the real thumbnail
    assert "sw-remix-option-selected" in row._dom_classes
    panel.prompt.value = "the same, in a snowstorm"
    panel.generate.click()
    ctl.wait(60)
    remix = ctl.jobs[0]
    assert remix.spec.id == "sora2_video_to_video_remix"
    assert remix.status == JobStatus.DONE, (remix.error_title, remix.error_message)
    assert videos(panel.cards[remix.id])
    panel.tabs.selected_index = 3
    assert len(panel.history_rows.children) == 2
    panel.tabs.selected_index = 4
    assert "Total spent: $0.80" in panel.spend_summary.value


def test_a_submit_with_unknown_outcome_is_marked_in_history_and_spend(stack: tuple[Sora2Panel, Generator]) -> None:
    panel, generator = stack
    common = {"model_id": "sora2_text_to_video", "endpoint": "fal-ai/sora-2/text-to-video", "mode": "text"}
    generator.history.add(**common, provider="emulator", prompt="paid", status="completed", cost_micros=400_000)
    generator.history.add(
        **common,
        provider="emulator",
        prompt="answer <lost>",
        status="unknown",
        error="submit outcome unknown: connection reset after sending",
        est_high_micros=800_000,
    )
    panel.tabs.selected_index = 3
    panel.history_refresh.click()
    rows = panel.history_rows.children
    marked = [r for r in rows if "sw-history-unknown" in r._dom_classes]
    assert len(rows) == 2 and len(marked) == 1
    (html,) = [n for n in panel_tree(marked[0]) if "sw-history-text" in n._dom_classes]
    text = html.value
    assert "Submit outcome unknown" in text and "up to $0.80" in text and "answer &lt;lost&gt;" in text
    panel.tabs.selected_index = 4
    assert "Total spent: $0.40" in panel.spend_summary.value
    assert "possibly charged: up to $0.80 for 1 job whose submit outcome is unknown" in panel.spend_summary.value


def test_cancel_on_the_emulator_records_a_cancelled_job(tmp_path: Path) -> None:
    panel, generator = make_panel(tmp_path)
    ctl = panel.controller
    try:
        ctl._slot.generator = Generator(  # a slow job, so there is time to cancel it
            client=AsyncFalClient(emulator=Emulator(state_dir=tmp_path / "slow", queue_delay=0.05, progress_time=30)),
            history=generator.history,
            resume=False,
        )
        panel.prompt.value = "something to cancel"
        panel.generate.click()
        job = ctl.jobs[0]
        deadline = time.monotonic() + 20
        # the user sees it queued or generating, then presses Cancel
        while job.status not in (JobStatus.QUEUED, JobStatus.RUNNING) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert job.history_id is not None and job.request_id
        panel.cards[job.id].cancel.click()
        ctl.wait(30)
        assert job.status == JobStatus.CANCELLED, (job.error_title, job.error_message)
        assert panel.cards[job.id].status.value == "Cancelled"
        assert not videos(panel.cards[job.id])
        while generator.history.get(job.history_id).status != "cancelled" and time.monotonic() < deadline:
            time.sleep(0.05)
        row = generator.history.get(job.history_id)
        assert row.status == "cancelled" and (row.cost or 0) == 0
        ctl._slot.generator.close()  # type: ignore[union-attr]
    finally:
        ctl.close()
        generator.close()


def test_retired_model_shows_an_error_card_and_is_blocked(tmp_path: Path) -> None:
    panel, generator = make_panel(tmp_path, retired=("fal-ai/sora-2/text-to-video",))
    ctl = panel.controller
    try:
        panel.prompt.value = "too late"
        panel.generate.click()
        ctl.wait(30)
        job = ctl.jobs[0]
        card = panel.cards[job.id]
        assert job.status == JobStatus.FAILED
        assert card.error.value.startswith("<b>Model unavailable</b>:")
        assert "Traceback" not in card.error.value
        assert panel.generate.disabled and "no longer available" in panel.status.value
    finally:
        ctl.close()
        generator.close()


def test_the_panel_badge_replaces_the_clients_emulator_notice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """In JupyterLab the client's logged notice shows as a red stderr box right above the panel."""
    from sora2_widgets.client import _target

    monkeypatch.setattr(_target, "_announced_emulator", False)
    caplog.set_level(logging.INFO, logger="sora2_widgets")
    ctl = PanelController()  # the notebook's way: no key anywhere, default generator
    try:
        panel = Sora2Panel(ctl)
        assert ctl.provider == "emulator" and "Emulator" in panel.provider.value
        ctl.generator.client  # type: ignore[union-attr]  # the client exists now: it would have logged
        assert "built-in emulator" not in caplog.text
    finally:
        ctl.close()
        ctl.generator.close()  # type: ignore[union-attr]

    # Plain Python users (no panel) still get the notice, once.
    monkeypatch.setattr(_target, "_announced_emulator", False)
    caplog.clear()
    clients = [AsyncFalClient(emulator=Emulator(state_dir=tmp_path / "emu")) for _ in range(2)]
    assert caplog.text.count("built-in emulator") == 1
    for client in clients:
        asyncio.run(client.aclose())


def test_an_uploaded_end_image_reaches_the_emulator_and_the_job_completes(
    stack: tuple[Sora2Panel, Generator], tmp_path: Path
) -> None:
    from ._fakes import PNG

    panel, generator = stack
    ctl = panel.controller
    panel.tabs.selected_index = 1
    ctl.select(("kling3_standard_image_to_video",))
    start, end = tmp_path / "first.png", tmp_path / "last.png"
    start.write_bytes(PNG)
    end.write_bytes(PNG)
    panel.image_path.value = str(start)
    panel.image_load.click()
    picker = panel.image_source.extras["end_image_url"]
    picker.image_path.value = str(end)
    picker.image_load.click()
    panel.prompt.value = "the kite lands in the grass"
    panel.generate.click()
    ctl.wait(60)
    (job,) = ctl.jobs
    assert job.status == JobStatus.DONE, (job.error_title, job.error_message)
    params = generator.history.df["params"].iloc[0]
    # Both frames went through the service's file storage, as URLs: never the bytes or a data: URI.
    assert params["end_image_url"].startswith("http") and params["start_image_url"].startswith("http")
    assert params["end_image_url"] != params["start_image_url"]
    assert videos(panel.cards[job.id])
