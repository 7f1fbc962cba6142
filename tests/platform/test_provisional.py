"""The provisional cost: ``x-fal-billable-units`` read from the result fetch and recorded with the result."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import httpx
import pytest

import sora2_widgets as sw
from sora2_widgets._unit_price import catalog_unit_price, provisional_cost
from sora2_widgets.client._redact import MASK, Secrets
from sora2_widgets.client._responses import billable_units_of
from sora2_widgets.emulator import Emulator
from tests._secrets import FAL_ADMIN_KEY, FAL_KEY


def test_the_header_becomes_billable_units_and_a_provisional_cost_in_the_ledger(emu: Emulator, tmp_path: Path) -> None:
    client = sw.AsyncFalClient(FAL_KEY, emulator=emu)
    with sw.Generator(client=client, history=sw.History(tmp_path / "ledger"), resume=False) as gen:
        done = gen.generate("sora2_text_to_video", prompt="a lighthouse at dusk", duration=8)
        rec = gen.history.get(done.history_id)  # type: ignore[arg-type]
        frame = gen.history.df
    assert rec.status == "completed" and rec.cost == Decimal("0.8")
    # The emulator bills 8 units (seconds) at its listed $0.10: the header said so, and the ledger has it.
    assert rec.billable_units == 8.0
    assert rec.provisional_cost == Decimal("0.8")
    assert rec.billing_status is None and rec.billed_cost is None  # fal's bill is not in yet: unknown
    assert frame.loc[rec.id, "provisional_usd"] == pytest.approx(0.8)
    spend = sw.History(tmp_path / "ledger").spend().loc["sora2_text_to_video"]
    assert (spend["total"], spend["provisional"], spend["billed"], spend["difference"]) == (
        Decimal("0.8"),
        Decimal("0.8"),
        None,
        None,
    )


@pytest.mark.parametrize(
    ("header", "units"),
    [("3.008", Decimal("3.008")), (" 4 ", Decimal(4)), ("0", Decimal(0)), ("", None), ("NaN", None), ("-1", None),
     ("four", None), ("Infinity", None)],
)  # fmt: skip
def test_the_header_is_read_exactly_or_ignored(header: str, units: Decimal | None) -> None:
    response = httpx.Response(200, headers={"x-fal-billable-units": header} if header else {})
    assert billable_units_of(response) == units


def test_units_times_the_catalog_unit_price() -> None:
    sora, pro = sw.get_model("sora2_text_to_video"), sw.get_model("sora2_text_to_video_pro")
    assert catalog_unit_price(sora) == Decimal("0.1")
    assert provisional_cost(sora, Decimal("3.008")) == Decimal("0.3008")
    assert provisional_cost(pro, None) is None  # no header: unknown, never $0
    assert catalog_unit_price(pro) == Decimal("0.3")


def test_the_admin_key_is_masked_in_what_the_queue_service_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAL_ADMIN_KEY", FAL_ADMIN_KEY)
    said = f"Invalid key {FAL_ADMIN_KEY} (secret {FAL_ADMIN_KEY.split(':')[1]})"
    scrubbed = Secrets(None).scrub(said)
    assert FAL_ADMIN_KEY.split(":")[1] not in scrubbed and FAL_ADMIN_KEY.split(":")[0] not in scrubbed
    assert MASK in scrubbed
