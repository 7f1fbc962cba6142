"""The typed Platform API client against the emulator, every answer checked against fal's spec."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest

from sora2_widgets import MODELS
from sora2_widgets._errors import AuthError, ConfigError
from sora2_widgets.client._models import RetryPolicy
from sora2_widgets.client._platform import AsyncPlatformClient, PlatformRefused
from sora2_widgets.client._platform_sync import PlatformClient
from sora2_widgets.emulator import Emulator
from sora2_widgets.emulator._options import PlatformSwitches
from tests._secrets import FAL_ADMIN_KEY, FAL_KEY
from tests.platform._spec import SpecCheckingTransport
from tests.platform.conftest import KLING, SORA, SORA_PRO, run_job, seed_completed

#: Every endpoint of the catalog, in its order (the registry lists them so).
CATALOG = [m.endpoint for m in MODELS]
#: The seven endpoints of Sora 2 and Kling 2.5: a fixed set for counting batches.
SEVEN = [m.endpoint for m in MODELS if m.family == "sora" or m.id.startswith("kling25_")]
HOUR_AGO = datetime.now(timezone.utc) - timedelta(hours=1)


def queries(transport: SpecCheckingTransport, path: str) -> list[httpx.QueryParams]:
    return [r.url.params for r in transport.requests if r.url.path == path]


@pytest.fixture
def spy(emu: Emulator) -> SpecCheckingTransport:
    return SpecCheckingTransport(emu.transport())


@pytest.fixture
async def platform(emu: Emulator, spy: SpecCheckingTransport) -> AsyncIterator[AsyncPlatformClient]:
    client = AsyncPlatformClient(FAL_KEY, admin_key=FAL_ADMIN_KEY, platform_url=emu.base_url + "/v1", transport=spy)
    async with client:
        yield client


async def test_models_come_in_batches_of_ten_with_their_schemas_and_gone_ones_say_so(
    emu: Emulator, platform: AsyncPlatformClient, spy: SpecCheckingTransport
) -> None:
    emu.platform.deprecated = frozenset({SORA_PRO})
    emu.platform.gone = frozenset({SORA})
    unknown = [f"fal-ai/someone-else/model-{i}" for i in range(8)]
    found = await platform.models([*SEVEN, *unknown], openapi=True)
    assert [len(q.get_list("endpoint_id")) for q in queries(spy, "/v1/models")] == [10, 5]
    assert found[SORA].status == "gone" and found[SORA].openapi is None
    assert found[SORA_PRO].status == "deprecated"
    assert found[KLING].status == "active" and found[KLING].display_name
    schema_ref = found[KLING].openapi["paths"][f"/{KLING}"]["post"]["requestBody"]["content"]  # type: ignore[index]
    assert schema_ref["application/json"]["schema"]["$ref"].endswith("Input")
    assert all(found[u].status == "gone" for u in unknown)


async def test_a_changed_enum_shows_in_the_schema_fal_lists(emu: Emulator, platform: AsyncPlatformClient) -> None:
    before = (await platform.models([SORA], openapi=True))[SORA].openapi
    emu.platform.enum_changes = {SORA: {"duration": (4, 8, 12)}}
    after = (await platform.models([SORA], openapi=True))[SORA].openapi
    assert before is not None and after is not None

    def durations(doc: dict[str, object]) -> object:
        return doc["components"]["schemas"]["Sora2TextToVideoInput"]["properties"]["duration"]["enum"]  # type: ignore[index]

    assert durations(before) == [4, 8, 12, 16, 20] and durations(after) == [4, 8, 12]


async def test_the_registry_is_listed_page_by_page(
    emu: Emulator, platform: AsyncPlatformClient, spy: SpecCheckingTransport
) -> None:
    emu.platform.deprecated = frozenset({KLING})
    emu.platform.gone = frozenset({SORA})
    listed = await platform.list_models(page_size=2)
    assert [m.endpoint_id for m in listed] == [ep for ep in CATALOG if ep != SORA]
    assert len(queries(spy, "/v1/models")) == -(-len(listed) // 2)  # one request a page of 2
    assert [m.endpoint_id for m in await platform.list_models(status="deprecated")] == [KLING]
    videos = await platform.list_models(category="video-to-video")
    assert [m.endpoint_id for m in videos] == ["fal-ai/sora-2/video-to-video/remix"]


async def test_pricing_asks_fifty_at_a_time_and_bisects_the_batch_fal_refuses(
    emu: Emulator, platform: AsyncPlatformClient, spy: SpecCheckingTransport
) -> None:
    emu.platform.price_changes = {SORA: Decimal("0.125")}
    emu.platform.gone = frozenset({"fal-ai/sora-2/video-to-video/remix"})
    others = [f"fal-ai/someone-else/model-{i}" for i in range(60)]
    asked = [*SEVEN, *others[:40], "not an endpoint id", *others[40:]]
    pricing = await platform.pricing(asked)
    assert pricing.refused == ("not an endpoint id",)
    assert pricing.prices[SORA].unit_price == Decimal("0.125") and pricing.prices[SORA].unit == "seconds"
    assert pricing.prices[KLING].unit_price == Decimal("0.07")
    assert set(pricing.unlisted) == {"fal-ai/sora-2/video-to-video/remix", *others}
    sizes = [len(q["endpoint_id"].split(",")) for q in queries(spy, "/v1/models/pricing")]
    # 68 ids: the first 50 hold the bad id, so they fail and are halved down to it; the other 18 pass.
    assert sizes[:3] == [50, 25, 25] and sizes[-1] == 18 and 1 in sizes and max(sizes) == 50
    assert spy.checked.count(("/v1/models/pricing", 400)) >= 2


async def test_estimate_is_the_listed_price_times_the_units(platform: AsyncPlatformClient) -> None:
    estimate = await platform.estimate({SORA_PRO: 12})
    assert (estimate.total_cost, estimate.currency) == (Decimal("3.6"), "USD")
    with pytest.raises(ConfigError, match="quantities"):
        await platform.estimate({SORA_PRO: True})


async def test_billing_events_fifty_ids_a_call_paged_by_cursor_with_exact_costs(
    emu: Emulator, platform: AsyncPlatformClient, spy: SpecCheckingTransport
) -> None:
    ids = seed_completed(emu, SORA, 53, duration=4)
    pro = seed_completed(emu, SORA_PRO, 1, duration=8)
    events = await platform.billing_events([*ids, *pro], start=HOUR_AGO, page_size=20)
    assert set(events) == {*ids, *pro}
    assert {e.billed_cost for i, e in events.items() if i in ids} == {Decimal("0.4")}
    assert events[pro[0]].billed_cost == Decimal("2.4")
    asked = queries(spy, "/v1/models/billing-events")
    assert [len(q["request_id"].split(",")) for q in asked] == [50, 50, 50, 4]
    assert sum("cursor" in q for q in asked) == 2  # 50 events at 20 a page: two more pages by cursor


async def test_a_span_longer_than_ninety_days_is_asked_in_windows(
    emu: Emulator, platform: AsyncPlatformClient, spy: SpecCheckingTransport
) -> None:
    [rid] = seed_completed(emu, SORA, 1, duration=8)
    events = await platform.billing_events([rid], start=datetime.now(timezone.utc) - timedelta(days=200))
    assert events[rid].billed_cost == Decimal("0.8")
    assert len(queries(spy, "/v1/models/billing-events")) == 3
    assert ("/v1/models/billing-events", 400) not in spy.checked


async def test_a_lagging_event_is_absent_until_it_lands_and_a_billed_price_shows_in_the_cost(
    emu: Emulator, platform: AsyncPlatformClient
) -> None:
    [late] = seed_completed(emu, SORA, 1, duration=4, at=time.time())
    emu.platform.billing_lag = 3600.0
    assert await platform.billing_events([late], start=HOUR_AGO) == {}
    emu.platform.billing_lag = 0.0
    emu.platform.billed_prices = {SORA: Decimal("0.125")}
    events = await platform.billing_events([late], start=HOUR_AGO)
    assert events[late].billed_cost == Decimal("0.5")  # estimated $0.40: $0.10 more than the estimate
    assert events[late].unit_price == Decimal("0.125") and events[late].output_units == Decimal(4)


async def test_usage_per_day_totals_what_was_billed(emu: Emulator, platform: AsyncPlatformClient) -> None:
    seed_completed(emu, SORA, 3, duration=8)
    seed_completed(emu, KLING, 2, duration=10)
    lines = await platform.usage(start=HOUR_AGO, end=datetime.now(timezone.utc) + timedelta(minutes=1))
    totals = {line.endpoint_id: line.cost_total for line in lines}
    assert totals == {SORA: Decimal("2.4"), KLING: Decimal("1.4")}
    assert {line.bucket for line in lines} == {datetime.now(timezone.utc).strftime("%Y-%m-%dT00:00:00+00:00")}


async def test_request_history_carries_the_inputs_of_the_jobs_run(
    emu: Emulator, platform: AsyncPlatformClient, checked: tuple[httpx.AsyncClient, SpecCheckingTransport]
) -> None:
    client, _ = checked
    rid = await run_job(client, SORA, {"prompt": "nonce 7f3e a harbour at night", "duration": 4})
    records = await platform.requests_by_endpoint([SORA], start=HOUR_AGO)
    [record] = [r for r in records if r.request_id == rid]
    assert record.json_input["prompt"] == "nonce 7f3e a harbour at night"
    assert record.status_code == 200 and record.json_output["video"]["url"]
    result = await client.get(f"/fal-ai/sora-2/requests/{rid}")
    assert result.headers["x-fal-billable-units"] == "4"


async def test_a_key_that_is_not_admin_gets_one_sentence_and_no_zero(
    make_emu: Callable[..., Emulator], spy: SpecCheckingTransport
) -> None:
    emu = make_emu()
    async with AsyncPlatformClient(
        FAL_KEY, admin_key=FAL_KEY, platform_url=emu.base_url + "/v1", transport=SpecCheckingTransport(emu.transport())
    ) as client:
        with pytest.raises(AuthError) as caught:
            await client.billing_events(["a1b2c3d4-e5f6-7890-abcd-ef1234567890"], start=HOUR_AGO)
    message = str(caught.value)
    assert "not an admin key" in message and "403" in message and "$0." not in message.replace("(not $0)", "")
    assert message.count(". ") == 0 and caught.value.status_code == 403


async def test_no_admin_key_is_a_config_error_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAL_ADMIN_KEY", raising=False)
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(500))
    async with AsyncPlatformClient(FAL_KEY, platform_url="https://api.fal.ai/v1", transport=transport) as client:
        with pytest.raises(ConfigError, match="FAL_ADMIN_KEY"):
            await client.usage(start=HOUR_AGO, end=datetime.now(timezone.utc))
        with pytest.raises(ConfigError, match="start"):
            await client.billing_events(["x"], start=datetime.now())  # naive: refused
    assert sent == []  # refused before anything was sent


def test_the_admin_key_comes_from_the_environment_and_never_shows(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAL_ADMIN_KEY", FAL_ADMIN_KEY)
    seed_completed(emu, KLING, 1, duration=5)
    with PlatformClient(FAL_KEY, platform_url=emu.base_url + "/v1", transport=emu.transport()) as client:
        assert client.has_admin_key
        assert FAL_ADMIN_KEY not in repr(client) and FAL_KEY not in repr(client)
        events = client.billing_events([r for r in emu.store.jobs_dir.glob("*.json") for r in [r.stem]], start=HOUR_AGO)
    assert [e.billed_cost for e in events.values()] == [Decimal("0.35")]


async def test_a_rate_limit_is_retried_and_an_echoed_key_never_reaches_the_message() -> None:
    answers = iter(
        [
            httpx.Response(429, json={"error": {"type": "rate_limited", "message": "Rate limit exceeded"}}),
            httpx.Response(400, json={"error": {"type": "validation_error", "message": f"bad key {FAL_ADMIN_KEY}"}}),
        ]
    )
    sent: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return next(answers)

    async def no_wait(_: float) -> None:
        return None

    client = AsyncPlatformClient(
        FAL_KEY,
        admin_key=FAL_ADMIN_KEY,
        platform_url="https://api.fal.ai/v1",
        transport=httpx.MockTransport(reply),
        retry=RetryPolicy(sleep=no_wait),
    )
    async with client:
        with pytest.raises(PlatformRefused) as caught:
            await client.billing_events(["a1b2c3d4-e5f6-7890-abcd-ef1234567890"], start=HOUR_AGO)
    assert len(sent) == 2 and caught.value.status_code == 400 and caught.value.error_type == "validation_error"
    assert "bad key" in str(caught.value)
    assert all(r.headers["authorization"] == f"Key {FAL_ADMIN_KEY}" for r in sent)


async def test_without_keys_it_reads_the_emulator_admin_routes_included(
    make_emu: Callable[..., Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET", "FAL_ADMIN_KEY"):
        monkeypatch.delenv(name, raising=False)
    emu = make_emu(require_key=None, platform=PlatformSwitches())
    [rid] = seed_completed(emu, SORA_PRO, 1, duration=12)
    async with AsyncPlatformClient(emulator=emu) as client:
        assert client.provider == "emulator" and not client.has_admin_key
        events = await client.billing_events([rid], start=HOUR_AGO)
    assert events[rid].billed_cost == Decimal("3.6")
