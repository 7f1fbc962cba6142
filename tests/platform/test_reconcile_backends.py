"""Reconciliation and the spend report's billed columns on both ledgers: SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path

import sora2_widgets as sw
from sora2_widgets.client._platform_sync import PlatformClient
from sora2_widgets.emulator import Emulator
from tests._secrets import FAL_ADMIN_KEY, FAL_KEY
from tests.platform.conftest import SORA, seed_completed
from tests.team.backends import open_history


def test_reconcile_stores_exact_bills_and_spend_sums_them(
    ledger_backend: object,
    emu: Emulator,
    tmp_path: Path,
) -> None:
    ids = seed_completed(emu, SORA, 3, duration=4, at=time.time())
    emu.platform.billed_costs = {ids[0]: Decimal("0.400000001")}  # a nano-dollar more: exact, not rounded
    spec = sw.get_model("sora2_text_to_video")
    fields = {"model_id": spec.id, "endpoint": spec.endpoint, "mode": "text", "prompt": "p", "provider": "fal"}
    with open_history(tmp_path / "ledger") as history:
        hids = [history.add(**fields, request_id=rid, status="completed", cost_micros=400_000) for rid in ids]
        history.add(**fields, request_id="never-billed", status="completed", cost_micros=400_000)
        with PlatformClient(
            FAL_KEY, admin_key=FAL_ADMIN_KEY, platform_url=emu.base_url + "/v1", transport=emu.transport()
        ) as client:
            report = history.reconcile(client, settle=dt.timedelta(0), days=0)
        first = history.get(hids[0])
        spend = history.spend().loc[spec.id]
    assert first.billed_cost == Decimal("0.400000001") and first.billing_status == "billed"
    assert [m.request_id for m in report.mismatches] == [ids[0]]
    assert report.in_state("pending")[0].request_id == "never-billed"
    assert (spend["billed"], spend["billed_count"], spend["difference"]) == (
        Decimal("1.200000001"),
        3,
        Decimal("0.000000001"),
    )
    assert spend["provisional"] is None  # no row has fal's header: unknown, not $0
