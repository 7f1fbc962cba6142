"""Remix sources: candidates from the ledger's records, and a remix priced from its source."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from sora2_widgets.panel import RemixCandidate
from sora2_widgets.panel._remix import when_text

from ._fakes import PNG
from ._helpers import TEXT_SORA, _cost, shown


def test_remix_is_priced_from_the_chosen_source(panel: Any, history: Any) -> None:
    history.add(
        model_id=TEXT_SORA,
        status="completed",
        prompt="a cat",
        video_id="v1",
        kept_for_remix=True,
        duration=12.0,
        cost_usd=1.2,
    )
    ctl = panel.controller
    ctl.set_tab("remix")
    assert panel.remix_picker.children and shown(panel.remix_picker)
    panel.remix_picker.children[0].children[-1].value = True  # the row's Choose toggle
    assert _cost(panel)[:2] == ["Total: $1.20", "Sora 2 Remix: $1.20"]


def test_a_candidate_is_built_from_the_ledgers_typed_record(history: Any, tmp_path: Path) -> None:
    thumb = tmp_path / "t.png"
    thumb.write_bytes(PNG)
    rid = history.add(
        model_id=TEXT_SORA,
        status="completed",
        prompt="a heron",
        video_id="video_9",
        kept_for_remix=True,
        params_json='{"duration": 12}',  # not probed from the file: the asked-for length counts
        width=1920,
        height=1080,
        thumbnail_path=str(thumb),
        created_at=dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.timezone.utc),
    )
    (record,) = history.remix_candidates(provider="emulator", as_records=True)
    cand = RemixCandidate.from_record(record)
    assert cand == RemixCandidate(
        key=str(rid),
        video_id="video_9",
        prompt="a heron",
        created=when_text(record.created_at),
        model_id=TEXT_SORA,
        duration=12.0,
        resolution="1080p",
        thumbnail=str(thumb),
    )
    assert re.fullmatch(r"2026-03-0[12] \d\d:30", cand.created)  # local time of the UTC stamp
    gone = dataclasses.replace(record, video_id=None)
    with pytest.raises(ValueError, match="no video_id"):
        RemixCandidate.from_record(gone)


def test_candidates_are_read_once_per_change_of_the_ledger(panel: Any, history: Any) -> None:
    ctl = panel.controller
    history.add(model_id=TEXT_SORA, status="completed", prompt="one", video_id="v1", kept_for_remix=True)
    ctl.refresh_history()
    assert [c.prompt for c in ctl.remix_candidates()] == ["one"]
    history.add(model_id=TEXT_SORA, status="completed", prompt="two", video_id="v2", kept_for_remix=True)
    assert [c.prompt for c in ctl.remix_candidates()] == ["one"]  # cached: the cost label redraws per keystroke
    ctl.refresh_history()
    assert [c.prompt for c in ctl.remix_candidates()] == ["two", "one"]  # newest first
    # Only videos of the panel's provider: a fal video_id means nothing to the emulator.
    history.add(
        model_id=TEXT_SORA, status="completed", prompt="fal", video_id="v3", kept_for_remix=True, provider="fal"
    )
    ctl.refresh_history()
    assert "fal" not in [c.prompt for c in ctl.remix_candidates()]
