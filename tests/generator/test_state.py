"""What one Generator's jobs share (``generator._state``): the default client and history, the budget,
and the rows in hand that its own resume pass must not claim."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets.generator._state import RunState
from tests.team.backends import open_history


def test_the_default_client_and_history_are_made_on_first_use_and_owned(home: Path) -> None:
    state = RunState(None, None, None, lease_seconds=120)
    assert state.owns_client and state.owns_history and state.made_client is None
    adapter = state.client()
    assert isinstance(adapter.client, sw.AsyncFalClient) and state.client() is adapter
    assert adapter.provider == "emulator"  # no FAL_KEY
    assert state.made_client is adapter
    assert state.history.path.parent == home.resolve()
    state.close_history()
    asyncio.run(adapter.aclose())


def test_the_budget_falls_back_to_the_environment_at_each_check(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = RunState(None, open_history(home), None, lease_seconds=120)
    assert state.budget_now() is None
    monkeypatch.setenv("SORA2_WIDGETS_BUDGET", "2.50")
    assert state.budget_now() == Decimal("2.50")
    state.budget = Decimal(1)
    assert state.budget_now() == Decimal(1)
    state.history.close()


def test_a_row_in_hand_is_never_claimed_by_its_own_generator(home: Path) -> None:
    history = open_history(home)
    state = RunState(object(), history, None, lease_seconds=120)
    fields = {"model_id": "sora2_text_to_video", "endpoint": "e", "mode": "text", "provider": "emulator"}
    hid, committed = state.add_live(
        {**fields, "status": "submitted", "lease_owner": "gone:1:x", "lease_until": 0.0}, None, Decimal(0)
    )
    assert hid is not None and hid in state.live and committed == Decimal(0)
    left = history.add(**fields, status="in_queue", request_id="r", lease_owner="gone:1:x", lease_until=0.0)
    assert [rec.id for rec in state.claim("emulator")] == [left]
    assert state.live == {hid, left}
    history.close()
