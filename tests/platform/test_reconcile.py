"""``History.reconcile()`` on the emulator: billed costs stored per row, pages, lag, mismatches, keys."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets.client._platform_sync import PlatformClient
from sora2_widgets.emulator import Emulator
from tests._secrets import FAL_ADMIN_KEY, FAL_KEY
from tests.platform._spec import SpecCheckingTransport
from tests.platform.conftest import SORA, seed_completed

#: The tests ask about rows that just finished: the 5-minute settle delay is fal's, not the emulator's.
NO_SETTLE = dt.timedelta(0)


def ledger_rows(history: sw.History, ids: list[str], *, cost: str = "0.4") -> list[int]:
    """One completed ledger row per emulator job, as the generator leaves them (cost = the estimate)."""
    spec = sw.get_model("sora2_text_to_video")
    fields = {
        "model_id": spec.id, "endpoint": spec.endpoint, "mode": "text", "params_json": "{}", "provider": "fal",
        "status": "completed", "est_low_micros": 400000, "est_high_micros": 400000,
        "cost_micros": int(Decimal(cost) * 1_000_000),
    }  # fmt: skip
    return [history.add(prompt=f"seeded {rid}", request_id=rid, **fields) for rid in ids]


@pytest.fixture
def platform(emu: Emulator) -> Iterator[Callable[..., tuple[PlatformClient, SpecCheckingTransport]]]:
    """``platform(admin_key=...)``: a sync Platform client on ``emu`` (as fal: URL + transport), spec-checked."""
    made: list[PlatformClient] = []

    def make(admin_key: str | None = FAL_ADMIN_KEY) -> tuple[PlatformClient, SpecCheckingTransport]:
        transport = SpecCheckingTransport(emu.transport())
        client = PlatformClient(FAL_KEY, admin_key=admin_key, platform_url=emu.base_url + "/v1", transport=transport)
        made.append(client)
        return client, transport

    yield make
    for client in made:
        client.close()


def billing_calls(transport: SpecCheckingTransport) -> list[dict[str, str]]:
    return [dict(r.url.params) for r in transport.requests if r.url.path == "/v1/models/billing-events"]


def test_fifty_jobs_are_billed_across_pages_with_one_ten_cent_mismatch(
    emu: Emulator, tmp_path: Path, platform: Callable[..., tuple[PlatformClient, SpecCheckingTransport]]
) -> None:
    ids = seed_completed(emu, SORA, at=time.time(), count=55, duration=4)
    emu.platform.billed_costs = {ids[7]: Decimal("0.50")}
    with sw.History(tmp_path / "ledger") as history:
        hids = ledger_rows(history, ids)
        client, transport = platform()
        report = history.reconcile(client, settle=NO_SETTLE, page_size=20, days=1)
        records = [history.get(h) for h in hids]
        spend = history.spend()
    # Every request was asked about, ≤ 50 ids a call, and the answer came on more than one page.
    calls = billing_calls(transport)
    assert all(len(c["request_id"].split(",")) <= 50 for c in calls)
    assert {rid for c in calls for rid in c["request_id"].split(",")} == set(ids)
    assert sum(1 for c in calls if "cursor" in c) >= 2
    assert [r.billing_status for r in records] == ["billed"] * 55
    assert [r.billed_cost for r in records] == [Decimal("0.5") if i == 7 else Decimal("0.4") for i in range(55)]
    assert {r.billed_units for r in records} == {4.0} and {r.unit_price for r in records} == {Decimal("0.1")}
    assert all(r.billing_checked_at is not None for r in records)
    [mismatch] = report.mismatches
    assert (mismatch.history_id, mismatch.request_id, mismatch.difference) == (hids[7], ids[7], Decimal("0.1"))
    assert any(f"#{hids[7]} ({ids[7]})" in line and "+$0.1" in line for line in report.lines())
    # fal's usage for today agrees with the ledger's billing events (the daily cross-check).
    assert report.days_checked == (dt.datetime.now(dt.timezone.utc).date(),) and report.day_mismatches == ()
    row = spend.loc["sora2_text_to_video"]
    assert (row["total"], row["billed"], row["billed_count"], row["difference"]) == (
        Decimal("22"),
        Decimal("22.1"),
        55,
        Decimal("0.1"),
    )


def test_lagging_events_stay_pending_then_settle_or_become_no_event(
    emu: Emulator, tmp_path: Path, platform: Callable[..., tuple[PlatformClient, SpecCheckingTransport]]
) -> None:
    ids = seed_completed(emu, SORA, at=time.time(), count=3, duration=4)
    emu.platform.billing_lag = 24 * 3600.0  # fal has recorded nothing yet
    with sw.History(tmp_path / "ledger") as history:
        hids = ledger_rows(history, ids)
        client, _ = platform()
        first = history.reconcile(client, settle=NO_SETTLE, days=0)
        assert [r.state for r in first.rows] == ["pending"] * 3
        assert {history.get(h).billing_status for h in hids} == {"pending"}
        assert {history.get(h).billed_cost for h in hids} == {None}  # unknown, not $0
        spend = history.spend().loc["sora2_text_to_video"]
        assert spend["billed"] is None and spend["difference"] is None and spend["billed_count"] == 0
        # Fresh rows are not asked about at all before the settle delay.
        assert history.reconcile(client, days=0).rows == ()
        # Two of them are billed in the meantime; the third never is.
        emu.platform.billing_lag = 0.0
        emu.platform.billed_costs = {}
        later = history.reconcile(client, settle=NO_SETTLE, days=0)
        assert [r.state for r in later.rows] == ["billed"] * 3
        assert {history.get(h).billing_status for h in hids} == {"billed"}
        # Billed rows are not asked about again.
        assert history.reconcile(client, settle=NO_SETTLE, days=0).rows == ()


def test_a_request_without_an_event_becomes_no_event_after_give_up(
    emu: Emulator, tmp_path: Path, platform: Callable[..., tuple[PlatformClient, SpecCheckingTransport]]
) -> None:
    ids = seed_completed(emu, SORA, at=time.time(), count=2, duration=4)
    emu.platform.billing_lag = 24 * 3600.0
    with sw.History(tmp_path / "ledger") as history:
        hids = ledger_rows(history, ids)
        client, _ = platform()
        soon = history.reconcile(client, settle=NO_SETTLE, days=0)
        assert {r.state for r in soon.rows} == {"pending"}
        two_hours = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)
        late = history.reconcile(client, settle=NO_SETTLE, days=0, now=two_hours)
        assert [r.state for r in late.rows] == ["no_event", "no_event"]
        assert all("no billing event" in line for line in late.lines()[1:])
        assert [history.get(h).billing_status for h in hids] == ["no_event", "no_event"]
        assert {history.get(h).billed_cost for h in hids} == {None}


def test_a_day_fal_billed_more_than_the_ledger_knows_is_reported(
    emu: Emulator, tmp_path: Path, platform: Callable[..., tuple[PlatformClient, SpecCheckingTransport]]
) -> None:
    ids = seed_completed(emu, SORA, at=time.time(), count=3, duration=4)
    with sw.History(tmp_path / "ledger") as history:
        ledger_rows(history, ids[:2])  # the third job is not in this ledger (another tool ran it)
        client, _ = platform()
        report = history.reconcile(client, settle=NO_SETTLE, days=2)
    [day] = report.day_mismatches
    assert (day.ledger_billed, day.fal_billed, day.difference) == (Decimal("0.8"), Decimal("1.2"), Decimal("0.4"))
    assert any(line.startswith(day.day.isoformat()) and "+$0.4" in line for line in report.lines())


def test_without_an_admin_key_one_sentence_and_nothing_becomes_zero(
    emu: Emulator, tmp_path: Path, platform: Callable[..., tuple[PlatformClient, SpecCheckingTransport]]
) -> None:
    ids = seed_completed(emu, SORA, at=time.time(), count=2, duration=4)
    with sw.History(tmp_path / "ledger") as history:
        hids = ledger_rows(history, ids)
        client, transport = platform(admin_key=None)
        with pytest.raises(sw.ConfigError) as missing:
            history.reconcile(client, settle=NO_SETTLE)
        assert str(missing.value).startswith("FAL_ADMIN_KEY is not set")
        assert "unknown (not $0)" in str(missing.value) and transport.requests == []
        # A key fal knows, but without ADMIN scope: fal answers 403.
        client, _ = platform(admin_key=FAL_KEY)
        with pytest.raises(sw.AuthError) as refused:
            history.reconcile(client, settle=NO_SETTLE)
        assert "is not an admin key" in str(refused.value) and "not $0" in str(refused.value)
        assert str(refused.value).count(". ") == 0  # one sentence
        for hid in hids:
            rec = history.get(hid)
            assert (rec.billing_status, rec.billed_cost) == (None, None)
        assert history.spend().loc["sora2_text_to_video", "billed"] is None


def test_bad_arguments_are_refused_before_any_request(
    tmp_path: Path, platform: Callable[..., tuple[PlatformClient, SpecCheckingTransport]]
) -> None:
    with sw.History(tmp_path / "ledger") as history:
        client, transport = platform()
        for kwargs, field in (
            ({"settle": 300}, "settle"),
            ({"settle": dt.timedelta(hours=2)}, "give_up"),
            ({"tolerance": 0.1}, "tolerance"),
            ({"days": True}, "days"),
            ({"days": 91}, "days"),
            ({"page_size": 0}, "page_size"),
        ):
            with pytest.raises(sw.ConfigError) as bad:
                history.reconcile(client, **kwargs)  # type: ignore[arg-type]
            assert bad.value.field == field
        assert transport.requests == []


def test_recovery_hook_runs_first_and_its_lines_lead_the_report(
    emu: Emulator, tmp_path: Path, platform: Callable[..., tuple[PlatformClient, SpecCheckingTransport]]
) -> None:
    seen: list[int] = []

    def recover(history: sw.History, client: PlatformClient) -> list[str]:
        seen.append(len(history))
        return ["#9: recovered: the submit was found in fal's request list."]

    with sw.History(tmp_path / "ledger") as history:
        client, _ = platform()
        report = history.reconcile(client, settle=NO_SETTLE, days=0, recover_unknown=recover)
    assert seen == [0] and report.lines()[0].startswith("#9: recovered")
