"""Money reports: spend per model/day/mode/provider, total spent, possibly charged."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets.history import _records, _reports
from tests.team.backends import open_history

from .ledger_rows import KLING, PRO, T2T, add


def test_spend_groupings_match_hand_computed_decimals(filled: sw.History) -> None:
    by_model = filled.spend(by="model")
    assert by_model.loc[T2T, "total"] == Decimal("1.2") and by_model.loc[T2T, "count"] == 3
    assert by_model.loc[PRO, "total"] == Decimal("6") and by_model.loc[PRO, "completed"] == 1
    assert by_model.loc[KLING, "total"] == Decimal("0.35")
    assert by_model["total_usd"].dtype == "float64"
    by_day = filled.spend(by="day")
    assert [str(d) for d in by_day.index] == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert list(by_day["total"]) == [Decimal("0.4"), Decimal("6.8"), Decimal("0.35")]
    assert filled.spend(by="provider").loc["emulator", "total"] == Decimal("6")
    assert filled.spend(by="mode").loc["text", "count"] == 7
    assert filled.total_spent() == Decimal("7.55")
    # The job whose submit outcome is unknown: not spent, but reported as what it may have cost.
    assert by_model.loc[T2T, "unknown"] == 1 and by_model.loc[T2T, "possibly_charged"] == Decimal("0.8")
    assert by_model.loc[PRO, "unknown"] == 0 and by_model.loc[PRO, "possibly_charged"] == 0
    assert by_model["possibly_charged_usd"].sum() == pytest.approx(0.8)
    assert filled.possibly_charged() == Decimal("0.8") and filled.possibly_charged(since="2026-01-04") == 0
    assert [r.id for r in filled.records("status = ?", ("unknown",))] == [7]
    assert filled.total_spent(since="2026-01-02") == Decimal("7.15")
    assert list(filled.spend(by="day", since="2026-01-03")["total"]) == [Decimal("0.35")]
    with pytest.raises(ValueError):
        filled.spend(by="week")  # type: ignore[arg-type]


def test_committed_is_spent_plus_running_jobs_high_estimates(tmp_path: Path) -> None:
    h = open_history(tmp_path)
    add(h, cost="1")
    add(h, status="in_progress", cost=None, est_high_micros=2_000_000, lease_owner="mine")
    add(h, status="submitted", cost=None, est_high_micros=500_000)
    assert h.committed() == Decimal("3.5") and h.committed(exclude_owners=["mine"]) == Decimal("1.5")
    fields = {"model_id": T2T, "endpoint": "e", "mode": "text", "provider": "fal"}
    assert h.add_with_budget(fields, budget=Decimal("4"), high=Decimal("1")) == (None, Decimal("3.5"))
    hid, committed = h.add_with_budget(fields, budget=Decimal("4.5"), high=Decimal("1"))
    assert hid == 4 and committed == Decimal("3.5") and len(h) == 4
    assert h.add_with_budget(fields, budget=None, high=Decimal("100"))[0] == 5


def test_since_is_a_date_datetime_iso_text_or_timedelta() -> None:
    assert _reports.since_iso(None) is None
    assert _reports.since_iso(dt.date(2026, 1, 2)) == "2026-01-02T00:00:00.000000Z"
    assert _reports.since_iso(dt.datetime(2026, 1, 2, 3)) == "2026-01-02T03:00:00.000000Z"  # naive = UTC
    assert _reports.since_iso("2026-01-02T01:00:00+01:00") == "2026-01-02T00:00:00.000000Z"
    start = _reports.since_iso(dt.timedelta(hours=1))
    assert start is not None
    ago = dt.datetime.now(dt.timezone.utc) - _records.parse_iso(start)
    assert dt.timedelta(minutes=59) < ago < dt.timedelta(minutes=61)
