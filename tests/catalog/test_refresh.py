"""Catalog refresh (issue 17): fal's registry and prices read, stored, reported, and followed by
validation, ``estimate_cost`` and the panel; batches of ≤ 50 ids, a refused batch bisected."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

import sora2_widgets as sw
from sora2_widgets import _catalog
from sora2_widgets.catalog import CATALOG_DIR_ENV
from sora2_widgets.catalog._overlay import implied_price
from sora2_widgets.cli import main
from sora2_widgets.emulator import Emulator
from sora2_widgets.emulator._options import PlatformSwitches
from tests._secrets import FAL_KEY

VEO_FAST = "veo31_fast_text_to_video"
KLING3 = "kling3_standard_text_to_video"
SORA = "sora2_text_to_video"
KLING25 = "kling25_turbo_pro_text_to_video"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data directory of its own; afterwards the stored refresh is gone and the shipped catalog back."""
    folder = tmp_path / "home"
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(folder))
    monkeypatch.delenv("FAL_KEY", raising=False)
    monkeypatch.delenv("FAL_ADMIN_KEY", raising=False)
    monkeypatch.delenv("SORA2_WIDGETS_PLATFORM_URL", raising=False)
    yield folder
    monkeypatch.delenv(CATALOG_DIR_ENV, raising=False)
    (folder / "catalog_refresh.json").unlink(missing_ok=True)
    _catalog.reload_catalog()


@pytest.fixture
def changed_emu(tmp_path: Path, home: Path) -> Iterator[Emulator]:
    """An emulator whose registry moved on: a new price, a wider enum, a deprecation, two gone endpoints."""
    emu = Emulator(
        state_dir=tmp_path / "emu",
        queue_delay=0.0,
        progress_time=0.05,
        platform=PlatformSwitches(
            price_changes={VEO_FAST: Decimal("0.12")},
            enum_changes={VEO_FAST: {"duration": ["4s", "6s", "8s", "10s"]}},
            deprecated=frozenset({KLING25}),
            gone=frozenset({KLING3, SORA}),
        ),
    )
    yield emu
    emu.close()


def test_refresh_reports_enum_price_and_gone_and_the_catalog_follows(changed_emu: Emulator, home: Path) -> None:
    with pytest.raises(sw.ValidationError, match="duration"):
        sw.estimate_cost(VEO_FAST, duration="10s")
    assert sw.estimate_cost(VEO_FAST, duration="8s", generate_audio=False) == sw.CostEstimate.exact("0.80")

    report = sw.refresh_catalog(emulator=changed_emu)

    found = {(c.model_id, c.kind) for c in report.changes}
    assert found == {
        (VEO_FAST, "enum_changed"),
        (VEO_FAST, "price_changed"),
        (KLING25, "deprecated"),
        (KLING3, "gone"),
        (SORA, "gone"),
    }
    detail = {(c.model_id, c.kind): c.detail for c in report.changes}
    assert detail[(VEO_FAST, "enum_changed")] == "duration: 4s, 6s, 8s → 4s, 6s, 8s, 10s"
    assert detail[(VEO_FAST, "price_changed")].startswith("$0.10 → $0.12 per 'seconds'")
    assert "try veo31_text_to_video" in detail[(KLING3, "gone")]
    stored = json.loads((home / "catalog_refresh.json").read_text())
    assert stored["endpoints"]["fal-ai/kling-video/v3/standard/text-to-video"]["status"] == "gone"
    assert report.path == home / "catalog_refresh.json"

    # The new choice validates and is priced at the new listing (every rate scaled, audio too).
    sw.validate_input(VEO_FAST, prompt="a lighthouse", duration="10s")
    assert sw.estimate_cost(VEO_FAST, duration="10s", generate_audio=False) == sw.CostEstimate.exact("1.20")
    assert sw.estimate_cost(VEO_FAST, duration="8s") == sw.CostEstimate.exact("1.44")
    # A gone model: refused with one sentence naming a live model of its mode, still priced for history.
    with pytest.raises(sw.ValidationError, match=r"retired since .*no longer lists .*try veo31_text_to_video"):
        sw.validate_input(KLING3, prompt="a lighthouse")
    gone = sw.get_model(KLING3)
    assert gone.retired == report.refreshed_at[:10] and gone.suggested == "veo31_text_to_video"
    assert "retired" in gone.tags and "try veo31_text_to_video" in sw.estimate_cost(KLING3).note
    assert KLING3 in [m.id for m in sw.models_for("text")]  # kept: its history rows still name it
    assert sw.get_model(KLING25).status == "deprecated"


def test_the_panel_lists_the_refreshed_price_and_the_retired_model(changed_emu: Emulator, tmp_path: Path) -> None:
    from sora2_widgets.panel import PanelController
    from tests.panel._fakes import FakeGenerator, FakeHistory

    history = FakeHistory(tmp_path / "ledger" / "history.sqlite3")
    media = tmp_path / "media"
    media.mkdir()
    ctl = PanelController(FakeGenerator(history, media), history, generator_factory=lambda key: None)
    try:
        ctl.set_tab("text")
        ctl.select((VEO_FAST,))
        assert str(ctl.total_cost) == "$1.20"  # the panel starts at the schema's 8 s, with sound: $0.15/s
        sw.refresh_catalog(emulator=changed_emu)
        labels = {s.id: ctl.model_label(s) for s in ctl.models}
        assert labels[VEO_FAST].startswith("Veo 3.1 Fast · $0.12/s ($0.18/s with audio)")
        assert "retired" in labels[KLING3] and "try Veo 3.1" in labels[KLING3]
        assert str(ctl.total_cost) == "$1.44"  # the same selection, at the new price
    finally:
        ctl.close()
        history.close()


def _entry_copy(i: int) -> dict[str, Any]:
    shipped = Path(sw.catalog.__file__).parent / "data" / f"{VEO_FAST}.json"
    base = json.loads(shipped.read_text())
    return {**base, "id": f"extra_model_{i:02d}", "endpoint": f"test-owner/extra-{i:02d}", "order": 900 + i}


@pytest.fixture
def big_catalog(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """45 more endpoints (64 in all): more than one pricing batch of 50."""
    folder = tmp_path / "more"
    folder.mkdir()
    for i in range(45):
        (folder / f"extra_{i:02d}.json").write_text(json.dumps(_entry_copy(i)))
    monkeypatch.setenv(CATALOG_DIR_ENV, str(folder))
    _catalog.reload_catalog()
    return [m.endpoint for m in _catalog.MODELS]


def _fake_fal(refused: str, odd_unit: str, calls: list[tuple[str, list[str]]]) -> Callable[..., Any]:
    """fal's /models and /models/pricing for the catalog's endpoints: any batch holding ``refused`` answers 400."""
    by_endpoint = {m.endpoint: m for m in _catalog.MODELS}

    def handle(request: httpx.Request) -> httpx.Response:
        ids = [v for k, v in request.url.params.multi_items() if k == "endpoint_id"]
        ids = [i for v in ids for i in v.split(",")]
        calls.append((request.url.path, ids))
        if request.url.path.endswith("/models"):
            models = [
                {"endpoint_id": ep, "metadata": {"display_name": ep, "category": "text-to-video",
                                                  "description": "", "status": "active"}}
                for ep in ids
            ]  # fmt: skip
            return httpx.Response(200, json={"models": models, "next_cursor": None, "has_more": False})
        if refused in ids:
            return httpx.Response(400, json={"error": {"type": "bad_request", "message": "unknown endpoint"}})
        prices = []
        for ep in ids:
            implied = implied_price(by_endpoint[ep].entry, "second")
            unit = "compute seconds" if ep == odd_unit else "seconds"
            prices.append({"endpoint_id": ep, "unit_price": float(implied or 0), "unit": unit, "currency": "USD"})
        return httpx.Response(200, json={"prices": prices, "next_cursor": None, "has_more": False})

    return handle


def test_prices_are_read_50_at_a_time_and_a_refused_batch_is_bisected(big_catalog: list[str]) -> None:
    refused, odd = "test-owner/extra-30", "fal-ai/veo3.1"
    calls: list[tuple[str, list[str]]] = []
    transport = httpx.MockTransport(_fake_fal(refused, odd, calls))
    report = sw.refresh_catalog(FAL_KEY, platform_url="https://api.fal.test/v1", transport=transport)

    pricing = [ids for path, ids in calls if path.endswith("/pricing")]
    registry = [ids for path, ids in calls if path.endswith("/models")]
    assert len(big_catalog) == 64 and all(len(ids) <= 50 for ids in pricing)
    assert all(len(ids) <= 10 for ids in registry) and sorted(ep for ids in registry for ep in ids) == sorted(
        big_catalog
    )
    assert len(pricing[0]) == 50  # a full first batch, then the rest
    refused_calls = [ids for ids in pricing if refused in ids]
    assert [len(ids) for ids in refused_calls] == sorted((len(ids) for ids in refused_calls), reverse=True)
    assert refused_calls[-1] == [refused]  # halved down to the one id fal refuses
    # Every other endpoint got its price: only the refused one and the odd unit are reported.
    assert {(c.model_id, c.kind) for c in report.changes} == {
        ("extra_model_30", "unlisted"),
        ("veo31_text_to_video", "unit_changed"),
    }
    # A unit none of our rules is written in: the catalog's price, shown unconfirmed, never guessed.
    veo = sw.estimate_cost("veo31_text_to_video", duration="8s", generate_audio=False)
    assert veo.low == veo.high == Decimal("1.60") and veo.unconfirmed and "(unconfirmed price)" in str(veo)
    assert sw.get_model("veo31_text_to_video").price_hint.endswith("(unconfirmed)")


def test_refresh_on_fal_without_a_key_is_refused_before_any_request(home: Path) -> None:
    calls: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(500))
    with pytest.raises(sw.ConfigError, match=r"^FAL_KEY is not set"):
        sw.refresh_catalog(platform_url="https://api.fal.test/v1", transport=transport)
    with pytest.raises(sw.ConfigError, match="platform_url"):
        sw.refresh_catalog(FAL_KEY, platform_url="ftp://nowhere")
    assert calls == [] and not (home / "catalog_refresh.json").exists()


def test_cli_models_refresh_plain_and_json(
    changed_emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # No key: the CLI reads the built-in emulator, here this test's.
    monkeypatch.setattr("sora2_widgets.client._platform.default_emulator", lambda: changed_emu)
    assert main(["models", "refresh"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Catalog refreshed from the built-in emulator (simulated) at ")
    assert out[1] == "5 differences from the shipped catalog:"
    rows = {tuple(line.split()[:3]) for line in out[2:]}
    assert (VEO_FAST, "enum", "changed") in rows and (KLING3, "gone", "Kling") in rows

    assert main(["models", "refresh", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["provider"] == "emulator" and data["endpoints"] == 19
    assert {"model": VEO_FAST, "endpoint": "fal-ai/veo3.1/fast", "change": "price_changed"}.items() <= next(
        c for c in data["changes"] if c["change"] == "price_changed"
    ).items()

    # The listing shows the refreshed facts: the new price, the retirement with a model to use instead.
    assert main(["models"]) == 0
    table = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "$0.12/s" in table[VEO_FAST] and "retired" in table[KLING3] and "try veo31_text_to_video" in table[KLING3]
    assert main(["models", "--json"]) == 0
    facts = {f["id"]: f for f in json.loads(capsys.readouterr().out)}
    assert facts[KLING3]["registry_status"] == "gone" and facts[KLING3]["suggested"] == "veo31_text_to_video"
    assert facts[VEO_FAST]["listed_price"] == {"unit_price": "0.12", "unit": "seconds", "currency": "USD"}


def test_a_gone_models_history_rows_stay_and_a_new_job_is_refused_before_any_row(
    changed_emu: Emulator, tmp_path: Path
) -> None:
    client = sw.AsyncFalClient(emulator=changed_emu)
    with sw.Generator(client=client, history=sw.History(tmp_path), resume=False) as gen:
        before = gen.generate(KLING3, prompt="a lighthouse at dusk", duration="3", generate_audio=False)
        assert before.status == "completed", before.error
        sw.refresh_catalog(emulator=changed_emu)
        submits = changed_emu.stats["submits"]
        with pytest.raises(sw.ValidationError, match="retired since"):
            gen.generate(KLING3, prompt="a lighthouse at dusk", duration="3", generate_audio=False)
        rows = gen.history.records()
    assert [(r.model_id, r.status) for r in rows] == [(KLING3, "completed")]
    assert rows[0].cost == Decimal("0.252")  # its cost as it was billed, not re-priced
    assert changed_emu.stats["submits"] == submits


def test_fields_fal_added_or_removed_are_applied_but_a_priced_field_is_kept() -> None:
    from sora2_widgets.catalog._diff import differences
    from sora2_widgets.catalog._overlay import overlay

    shipped = sw.get_model(VEO_FAST).entry
    props = {k: v for k, v in shipped.input_schema["properties"].items() if k not in ("seed", "duration")}
    facts = {
        "status": "active",
        "input": {"properties": {**props, "loop": {"type": "boolean", "default": False}}, "required": ["prompt"]},
        "price": None,
        "price_state": "unlisted",
    }
    (entry,) = overlay(
        [shipped], {"version": 1, "date": "2026-12-02", "provider": "fal", "endpoints": {shipped.endpoint: facts}}
    )
    spec = sw.ModelSpec.from_entry(entry)
    spec.validate({"prompt": "a lighthouse", "loop": True, "duration": "4s"})  # new field taken, duration kept
    with pytest.raises(sw.ValidationError, match="seed: is not an input"):
        spec.validate({"prompt": "a lighthouse", "seed": 3})
    said = {(c.kind, c.detail) for c in differences(shipped, facts)}
    assert said == {
        ("field_added", "loop"),
        ("field_removed", "seed"),
        ("field_removed", "duration (kept: the price or a secret depends on it)"),
        ("unlisted", "fal's pricing lists no price for it; the catalog's price stays"),
    }
