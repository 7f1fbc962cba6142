"""Remix sources: candidates from the ledger's records, and a remix priced from its source."""

from __future__ import annotations

from typing import Any

from ._helpers import (
    TEXT_SORA,
    _cost,
    shown,
)


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
