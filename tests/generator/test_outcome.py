"""How a job ends (``generator._outcome``): what each failure leaves in its row, and what comes back."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets.generator import Generation, Progress
from sora2_widgets.generator._outcome import (
    UNKNOWN_SUBMIT,
    final,
    finish_row,
    mark_cancelled,
    not_recorded,
    settle_failure,
)
from tests.history.ledger_rows import raw
from tests.team.backends import open_history


@pytest.fixture
def history(tmp_path: Path) -> Iterator[sw.History]:
    with open_history(tmp_path / "home") as h:
        yield h


def _running(history: sw.History) -> int:
    return history.add(
        model_id="sora2_text_to_video",
        endpoint="fal-ai/sora-2/text-to-video",
        mode="text",
        provider="emulator",
        status="in_progress",
        request_id="req-1",
        est_low_micros=400_000,
        est_high_micros=400_000,
        lease_owner="me",
        lease_until=9e9,
    )


@pytest.mark.parametrize(
    ("exc", "status", "cost", "error"),
    [
        (sw.ModelUnavailableError("m", "e", status_code=410), "unavailable", Decimal(0), None),
        (sw.JobCancelledError("req-1"), "cancelled", Decimal(0), None),
        (sw.JobTimeoutError("req-1", 60.0, cancelled=True), "cancelled", Decimal(0), None),
        (sw.ServiceError("not found", status_code=404), "failed", Decimal(0), "the service no longer has this request"),
        (sw.ServiceError("content policy", job_failed=True), "failed", Decimal(0), "content policy"),
        (sw.ServiceError("bad gateway", status_code=502), "in_progress", None, "bad gateway"),  # still resumable
        (ConnectionError("reset"), "in_progress", None, "reset"),
    ],
)
def test_settle_failure_follows_the_rules(
    history: sw.History, tmp_path: Path, exc: BaseException, status: str, cost: Decimal | None, error: str | None
) -> None:
    hid = _running(history)
    seen: list[Progress] = []
    gen = settle_failure(history, 2, seen.append, hid, exc, None)
    rec = history.get(hid)
    assert rec.status == gen.status == status and rec.cost == cost
    assert error is None or (rec.error or "").startswith(error)
    assert gen.exception is exc and gen.estimate == sw.CostEstimate(Decimal("0.4"), Decimal("0.4"))
    assert [(p.index, p.stage, p.generation) for p in seen] == [(2, status, gen)]
    # Settled or left for resume(), the row's lease is free either way.
    owner = raw(history).execute("SELECT lease_owner FROM generations WHERE id = ?", (hid,)).fetchone()[0]
    assert owner is None


def test_mark_cancelled_touches_only_an_active_row(history: sw.History) -> None:
    hid = _running(history)
    mark_cancelled(history, hid, "cancelled by the user")
    rec = history.get(hid)
    assert (rec.status, rec.cost, rec.error) == ("cancelled", Decimal(0), "cancelled by the user")
    done = _running(history)
    history.update(done, status="completed", cost_micros=400_000)
    mark_cancelled(history, done, "cancelled")
    assert history.get(done).status == "completed" and history.get(done).cost == Decimal("0.4")


def test_an_unknown_submit_keeps_its_cost_unknown(history: sw.History) -> None:
    hid = _running(history)
    finish_row(
        history, hid, "unknown", sw.SubmitUncertainError("m", "e", "dropped"), cost=None, prefix=UNKNOWN_SUBMIT + ": "
    )
    gen = final(history, 0, None, hid, None)
    assert gen.status == "unknown" and gen.cost is None and (gen.error or "").startswith(UNKNOWN_SUBMIT)
    assert history.possibly_charged() == Decimal("0.4")


def test_a_failure_without_a_row_is_reported_and_emitted() -> None:
    seen: list[Progress] = []
    exc = sw.ValidationError("m", [sw.FieldError("duration", "must be 4, 8 or 12")])
    gen = not_recorded(1, seen.append, "m", exc)
    assert gen == Generation(model_id="m", status="failed", error=str(exc), error_type="ValidationError")
    assert gen.exception is exc and gen.history_id is None
    assert [(p.index, p.stage, p.history_id, p.generation) for p in seen] == [(1, "failed", None, gen)]
