"""A team ledger's row saved on another machine: the History tab plays fal's copy while fal keeps
it, then says which machine holds the file instead of offering a player that cannot play; a
shared media folder (``SORA2_WIDGETS_MEDIA``) plays on every machine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import ipywidgets as w

from sora2_widgets.panel._cards import FAL_URL_DAYS, video_where
from sora2_widgets.panel._player import MediaPlayer

from ._fakes import FakeHistory
from ._helpers import TEXT_SORA, find

FAL_URL = "https://v3.fal.media/files/kite/abc123.mp4"


def _other_machines_row(history: FakeHistory, days_ago: float, local_path: str) -> int:
    made = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days_ago)
    return history.add(
        model_id=TEXT_SORA,
        prompt="a red kite",
        status="completed",
        cost_usd=0.4,
        provider="fal",
        video_url=FAL_URL,
        local_path=local_path,
        machine="render-box-2",
        created_at=made,
    )


def _history_row(panel: Any, row_id: int) -> dict[str, w.Button]:
    panel.controller.set_tab("history")
    return dict(panel.history_tab.actions[row_id])


def test_a_fresh_row_from_another_machine_plays_fals_copy(panel: Any, history: FakeHistory) -> None:
    row_id = _other_machines_row(history, days_ago=1, local_path="media/000001_sora2_text_to_video.mp4")
    actions = _history_row(panel, row_id)
    assert "play" in actions
    actions["play"].click()
    (player,) = find(panel.history_rows, "sw-history-video")
    assert isinstance(player, w.Video) and player.value == FAL_URL.encode()
    actions["file"].click()
    (where,) = find(panel.history_rows, "sw-history-where")
    # Not this machine's folder and "no longer on disk": the machine that has it, and fal's link.
    assert "Saved on machine render-box-2" in where.value and FAL_URL in where.value
    assert "no longer on disk" not in where.value


def test_after_fal_lets_it_go_the_row_names_the_machine_that_has_the_file(panel: Any, history: FakeHistory) -> None:
    row_id = _other_machines_row(history, days_ago=FAL_URL_DAYS + 2, local_path="media/000001_sora2_text_to_video.mp4")
    actions = _history_row(panel, row_id)
    assert "play" not in actions, "no player for a file this machine cannot reach"
    actions["file"].click()
    (where,) = find(panel.history_rows, "sw-history-where")
    assert "on machine render-box-2" in where.value and "000001_sora2_text_to_video.mp4" in where.value
    assert FAL_URL not in where.value  # an expired link is not offered either


def test_a_shared_media_folder_plays_on_every_machine(panel: Any, history: FakeHistory, tmp_path: Path) -> None:
    shared = tmp_path / "team-share" / "000001_sora2_text_to_video.mp4"
    shared.parent.mkdir()
    shared.write_bytes(b"\x00\x00\x00\x18ftypmp42")  # what render-box-2 saved on the shared mount
    row_id = _other_machines_row(history, days_ago=FAL_URL_DAYS + 30, local_path=str(shared))
    actions = _history_row(panel, row_id)
    actions["play"].click()
    (player,) = find(panel.history_rows, "sw-history-video")
    assert isinstance(player, MediaPlayer) and player.source == shared


def test_the_rule_itself() -> None:
    now = dt.datetime(2026, 12, 2, tzinfo=dt.timezone.utc)
    fresh, old = now - dt.timedelta(days=FAL_URL_DAYS - 1), now - dt.timedelta(days=FAL_URL_DAYS + 1)
    assert video_where("media/x.mp4", FAL_URL, machine="box-b", made_at=fresh, now=now).url == FAL_URL
    gone = video_where("media/x.mp4", FAL_URL, machine="box-b", made_at=old, now=now)
    assert not gone.playable and gone.note.startswith("The video is on machine box-b") and "expired" in gone.note
    # An unknown age (NaT from the frame, or none given) does not hide a link.
    assert video_where(None, FAL_URL, machine="box-b", made_at=None, now=now).url == FAL_URL


def test_a_video_fal_no_longer_serves_is_not_called_unplayable_here() -> None:
    # generator/_save.py drops the dead URL of a file fal stopped serving (404/410).
    gone = video_where(None, None, machine=None, made_at=None)
    assert not gone.playable and gone.note == "No file was saved for this generation; there is no link to fal's copy."
