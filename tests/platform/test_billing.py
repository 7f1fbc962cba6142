"""Reconciliation: billed costs set against estimates, pending and missing events, daily totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

import sora2_widgets as sw
from sora2_widgets._billing import (
    DailyTotal,
    LedgerCharge,
    daily_mismatches,
    daily_totals,
    due_for_lookup,
    reconcile,
)
from sora2_widgets.client._platform import AsyncPlatformClient
from sora2_widgets.emulator import Emulator
from tests._secrets import FAL_ADMIN_KEY, FAL_KEY
from tests.platform.conftest import SORA, seed_completed

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Event:
    request_id: str
    timestamp: datetime
    billed_cost: Decimal
    output_units: Decimal | None = None
    unit_price: Decimal | None = None
    percent_discount: Decimal | None = None


def charge(rid: str, estimated: str | None, minutes_ago: float) -> LedgerCharge:
    return LedgerCharge(
        rid, Decimal(estimated) if estimated is not None else None, NOW - timedelta(minutes=minutes_ago)
    )


def test_each_row_is_billed_settling_pending_or_without_an_event() -> None:
    charges = [charge("a", "0.40", 30), charge("b", "0.40", 2), charge("c", "0.40", 30), charge("d", "0.40", 61)]
    events = {"a": Event("a", NOW - timedelta(minutes=29), Decimal("0.5"))}
    result = reconcile(charges, events, now=NOW)
    assert [(r.request_id, r.state) for r in result.rows] == [
        ("a", "billed"),
        ("b", "settling"),
        ("c", "pending"),
        ("d", "no_billing_event"),
    ]
    [mismatch] = result.mismatches
    assert (mismatch.request_id, mismatch.difference) == ("a", Decimal("0.10"))
    assert all(r.billed is None for r in result.rows[1:])  # unknown, never $0
    assert [c.request_id for c in due_for_lookup(charges, now=NOW)] == ["a", "c", "d"]


def test_a_tolerance_and_an_unknown_estimate_are_not_mismatches() -> None:
    charges = [charge("a", "0.40", 30), charge("b", None, 30)]
    events = {rid: Event(rid, NOW, Decimal("0.400000001")) for rid in ("a", "b")}
    result = reconcile(charges, events, now=NOW, tolerance=Decimal("0.000001"))
    assert result.mismatches == ()
    assert result.rows[1].difference is None
    assert result.billed_total == Decimal("0.800000002")


def test_bad_arguments_are_refused_in_one_sentence() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        LedgerCharge("a", Decimal(1), datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="estimated"):
        LedgerCharge("a", 0.4, NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="give_up"):
        reconcile([], {}, now=NOW, settle=timedelta(hours=2))


def test_a_day_whose_usage_differs_from_the_events_is_reported() -> None:
    charges = [charge("a", "0.40", 30), charge("b", "0.40", 30)]
    events = {rid: Event(rid, NOW, Decimal("0.4")) for rid in ("a", "b")}
    result = reconcile(charges, events, now=NOW)
    yesterday = NOW.date() - timedelta(days=1)
    usage = [DailyTotal(NOW.date(), Decimal("0.8")), DailyTotal(yesterday, Decimal("1.2"))]
    [day] = daily_mismatches(result, usage)
    assert (day.day, day.ledger_billed, day.difference) == (yesterday, Decimal(0), Decimal("1.2"))
    assert daily_mismatches(result, [DailyTotal(NOW.date(), Decimal("0.9"))])[0].difference == Decimal("0.1")


async def test_fifty_emulated_jobs_reconcile_with_one_billed_ten_cents_more(emu: Emulator) -> None:
    estimate = sw.estimate_cost("sora2_text_to_video", duration=4).low
    finished = datetime.now(timezone.utc) - timedelta(minutes=10)
    ids = seed_completed(emu, SORA, 50, duration=4, at=finished.timestamp())
    charges = [LedgerCharge(rid, estimate, finished) for rid in ids]
    since = finished - timedelta(hours=1)
    emu.platform.billing_lag = 24 * 3600.0  # nothing has landed yet
    emu.platform.billed_costs = {ids[7]: Decimal("0.50")}
    async with AsyncPlatformClient(
        FAL_KEY, admin_key=FAL_ADMIN_KEY, platform_url=emu.base_url + "/v1", transport=emu.transport()
    ) as client:
        early = await client.billing_events(ids, start=since)
        assert {r.state for r in reconcile(charges, early, now=finished + timedelta(minutes=20)).rows} == {"pending"}
        emu.platform.billing_lag = 0.0
        events = await client.billing_events(ids, start=since)
        usage = await client.usage(start=since, end=datetime.now(timezone.utc))
    result = reconcile(charges, events, now=datetime.now(timezone.utc))
    assert len(result.in_state("billed")) == 50
    assert [(m.request_id, m.difference) for m in result.mismatches] == [(ids[7], Decimal("0.10"))]
    assert result.billed_total == Decimal("20.1")
    assert daily_mismatches(result, daily_totals(usage)) == []
    # A day fal billed more than the events the ledger holds is reported with the difference.
    [day] = daily_mismatches(result, [DailyTotal(finished.date(), Decimal("20.5"))])
    assert day.difference == Decimal("0.4")
