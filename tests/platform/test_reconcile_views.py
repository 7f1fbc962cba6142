"""What people see of reconciliation: ``sora2-widgets reconcile`` and ``spend``, and the Spend tab."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator
from sora2_widgets.emulator._options import PlatformSwitches
from sora2_widgets.panel import PanelController, Sora2Panel
from tests._secrets import FAL_ADMIN_KEY, FAL_KEY
from tests.platform.conftest import SORA, seed_completed

REPO = Path(__file__).resolve().parents[2]


def cli(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``sora2-widgets *args`` in a real process with a private data folder and no fal key (unless given)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("FAL_") and not k.startswith("SORA2_")}
    base.update({"SORA2_WIDGETS_HOME": str(home), "PYTHONPATH": str(REPO), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "sora2_widgets.cli", *args], capture_output=True, text=True, env=base, timeout=180
    )


def emulated_ledger(home: Path, count: int) -> list[int]:
    """``count`` completed emulator jobs in the default emulator's state and the ledger in ``home``."""
    emu = Emulator(state_dir=home / "emulator", platform=PlatformSwitches())
    try:
        ids = seed_completed(emu, SORA, count, duration=4, at=time.time())
    finally:
        emu.close()
    spec = sw.get_model("sora2_text_to_video")
    with sw.History(home) as history:
        fields = {
            "model_id": spec.id, "endpoint": spec.endpoint, "mode": "text", "prompt": "p", "params_json": "{}",
            "provider": "emulator", "status": "completed", "cost_micros": 400_000, "billable_units": 4.0,
            "provisional_micros": 400_000,
        }  # fmt: skip
        return [history.add(request_id=rid, **fields) for rid in ids]


def test_reconcile_on_the_emulator_then_spend_shows_both(tmp_path: Path) -> None:
    home = tmp_path / "home"
    emulated_ledger(home, 3)
    early = cli(home, "reconcile")  # just finished: fal is not asked before the settle delay
    assert early.returncode == 0, early.stderr
    assert "built-in emulator" in early.stdout and "3 finished too recently to ask yet" in early.stdout
    done = cli(home, "reconcile", "--settle", "0", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [r["billing_status"] for r in report["rows"]] == ["billed"] * 3
    assert {r["billed_usd"] for r in report["rows"]} == {"0.4"} and report["mismatches"] == []
    spend = cli(home, "spend")
    header = spend.stdout.splitlines()[0].split()
    assert header == ["model", "jobs", "completed", "spent", "provisional", "billed", "difference"]
    assert "$1.20  " in spend.stdout and "+$0.00" in spend.stdout
    assert "billed by fal: $1.20 for 3 job(s)" in spend.stdout
    data = json.loads(cli(home, "spend", "--json").stdout)["rows"][0]
    assert (data["billed_usd"], data["billed_count"], data["difference_usd"]) == ("1.20", 3, "0.00")


def test_reconcile_without_an_admin_key_says_so_and_spend_says_unknown(tmp_path: Path) -> None:
    home = tmp_path / "home"
    emulated_ledger(home, 1)
    missing = cli(home, "reconcile", env={"FAL_KEY": FAL_KEY})
    assert missing.returncode == 9 and missing.stdout == ""
    [line] = missing.stderr.strip().splitlines()
    assert "FAL_ADMIN_KEY is not set" in line and "unknown (not $0)" in line
    assert FAL_KEY not in missing.stderr and FAL_ADMIN_KEY not in missing.stderr
    spend = cli(home, "spend")
    assert "billed by fal: unknown" in spend.stdout and "$0.00" not in spend.stdout.split("billed", 1)[1]
    row = json.loads(cli(home, "spend", "--json").stdout)["rows"][0]
    assert row["billed_usd"] is None and row["difference_usd"] is None and row["provisional_usd"] == "0.40"


def test_reconcile_refuses_bad_options_in_one_sentence(tmp_path: Path) -> None:
    refused = ((("--settle", "-5"), "--settle"), (("--days", "120"), "--days"), (("--give-up", "x"), "give-up"))
    for args, word in refused:
        bad = cli(tmp_path / "home", "reconcile", *args)
        errors = [line for line in bad.stderr.splitlines() if "error:" in line]
        assert bad.returncode == 2 and len(errors) == 1 and word in errors[0]  # after argparse's usage lines


def test_the_spend_tab_shows_estimate_provisional_and_billed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "home"))
    spec = sw.get_model("sora2_text_to_video")
    common = {"model_id": spec.id, "endpoint": spec.endpoint, "mode": "text", "provider": "fal", "prompt": "p"}
    ledger = sw.History(tmp_path / "ledger")
    ledger.add(**common, status="completed", cost_micros=400_000, provisional_micros=400_000)
    ledger.add(**common, status="completed", cost_micros=400_000, provisional_micros=400_000, billed_nanos=500_000_000)
    ctl = PanelController(None, ledger, generator_factory=lambda key: None)
    panel = Sora2Panel(ctl)
    try:
        ctl.set_tab("spend")
        tables, summary = panel.spend_tables.value, panel.spend_summary.value
    finally:
        panel.close()
        ctl.close()
        ledger.close()
    for header in ("Spent", "Provisional (fal&#x27;s units)", "Billed by fal", "Jobs billed", "Billed − spent"):
        assert f"<th>{header}</th>" in tables
    assert '<td class="sw-num">$0.80</td><td class="sw-num">$0.50</td>' in tables.replace("\n", "")
    assert "+$0.10" in tables
    assert "billed by fal: $0.50 for 1 job (+$0.10 against the estimate)" in summary
    assert Decimal("0.5") == sw.History(tmp_path / "ledger").spend().loc[spec.id, "billed"]
