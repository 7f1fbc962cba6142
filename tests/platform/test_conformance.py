"""Every answer of the emulator's Platform API, success and error alike, against fal's own spec."""

from __future__ import annotations

import json

import httpx
import pytest
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.response.exceptions import DataValidationError, InvalidData

from sora2_widgets.emulator import Emulator
from tests._secrets import FAL_ADMIN_KEY, WRONG_FAL_KEY
from tests.platform._spec import FULL_SPEC, ROUTES, SPEC_FILE, SpecCheckingTransport, spec, subset_of
from tests.platform.conftest import KLING, SORA, SORA_PRO, run_job, seed_completed

ADMIN = {"Authorization": f"Key {FAL_ADMIN_KEY}"}
Checked = tuple[httpx.AsyncClient, SpecCheckingTransport]


def test_the_kept_spec_is_fals_document_for_the_six_routes() -> None:
    if not FULL_SPEC.exists():
        pytest.skip("the shared research folder is not beside this checkout")
    full = json.loads(FULL_SPEC.read_text(encoding="utf-8"))
    assert json.loads(SPEC_FILE.read_text(encoding="utf-8")) == subset_of(full)


def test_the_validator_refuses_the_queue_error_shape_on_a_platform_route() -> None:
    # The check can fail: fal's queue shape ({"detail": ...}) is not the Platform API's.
    request = MockRequest("https://api.fal.ai", "get", "/v1/models/pricing", args={"endpoint_id": SORA})
    wrong = MockResponse(json.dumps({"detail": "Invalid request"}).encode(), status_code=400)
    with pytest.raises((DataValidationError, InvalidData)):
        spec().validate_response(request, wrong)
    missing = MockResponse(json.dumps({"prices": []}).encode(), status_code=200)  # no next_cursor/has_more
    with pytest.raises((DataValidationError, InvalidData)):
        spec().validate_response(request, missing)


async def test_every_route_answers_in_fals_shapes(emu: Emulator, checked: Checked) -> None:
    client, transport = checked
    done = await run_job(client, SORA, {"prompt": "a lighthouse at dawn", "duration": 4})
    failed = await run_job(client, SORA, {"prompt": "x", "duration": 7})  # refused by the model: a 422 job
    seed_completed(emu, KLING, 3, duration=10)

    found = (await client.get("/v1/models", params={"endpoint_id": f"{SORA},{SORA_PRO},fal-ai/no-such/model"})).json()
    assert [m["endpoint_id"] for m in found["models"]] == [SORA, SORA_PRO, "fal-ai/no-such/model"]
    assert "metadata" not in found["models"][2]
    listed = await client.get("/v1/models", params={"limit": "2"})
    assert listed.json()["has_more"] is True
    second = await client.get("/v1/models", params={"limit": "2", "cursor": listed.json()["next_cursor"]})
    assert second.json()["models"][0]["endpoint_id"] not in {m["endpoint_id"] for m in listed.json()["models"]}
    expanded = (await client.get("/v1/models", params=[("endpoint_id", SORA), ("expand", "openapi-3.0")])).json()
    doc = expanded["models"][0]["openapi"]
    assert doc["paths"][f"/{SORA}"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]

    prices = (await client.get("/v1/models/pricing", params={"endpoint_id": f"{SORA},{KLING}"})).json()["prices"]
    assert {(p["endpoint_id"], p["unit_price"], p["unit"]) for p in prices} == {
        (SORA, 0.1, "seconds"),
        (KLING, 0.07, "seconds"),
    }
    for body in (
        {"estimate_type": "unit_price", "endpoints": {SORA_PRO: {"unit_quantity": 10}}},
        {"estimate_type": "historical_api_price", "endpoints": {KLING: {"call_quantity": 2}}},
    ):
        answer = await client.post("/v1/models/pricing/estimate", json=body)
        assert answer.status_code == 200
    assert answer.json()["total_cost"] == pytest.approx(1.40)  # two calls at the $0.70 a 10 s Kling job cost

    events = (await client.get("/v1/models/billing-events", headers=ADMIN, params={"request_id": done})).json()
    assert [(e["request_id"], e["cost_estimate_nano_usd"]) for e in events["billing_events"]] == [(done, 400_000_000)]
    none_for_422 = await client.get("/v1/models/billing-events", headers=ADMIN, params={"request_id": failed})
    assert none_for_422.json()["billing_events"] == []
    for expand in ("time_series", "summary", "time_series,summary"):
        usage = await client.get("/v1/models/usage", headers=ADMIN, params={"expand": expand, "timeframe": "day"})
        assert usage.status_code == 200
    history = await client.get("/v1/models/requests/by-endpoint", params={"endpoint_id": SORA, "expand": "payloads"})
    by_id = {item["request_id"]: item for item in history.json()["items"]}
    assert by_id[done]["status_code"] == 200 and by_id[done]["json_input"]["prompt"] == "a lighthouse at dawn"
    assert by_id[failed]["status_code"] == 422
    assert len(transport.checked) == 13


BAD, AUTH = "validation_error", "authorization_error"
WRONG = {"Authorization": f"Key {WRONG_FAL_KEY}"}
FIFTY_ONE = ",".join(f"fal-ai/m{i}" for i in range(51))
MODELS, PRICING, USAGE = "/v1/models", "/v1/models/pricing", "/v1/models/usage"
EVENTS, BY_ENDPOINT = "/v1/models/billing-events", "/v1/models/requests/by-endpoint"


@pytest.mark.parametrize(
    ("path", "params", "headers", "status", "kind"),
    [
        (MODELS, {"limit": "0"}, {}, 400, BAD),
        (MODELS, {"expand": "openapi-3.0", "limit": "11"}, {}, 400, BAD),
        (MODELS, {"cursor": "not a cursor"}, {}, 400, BAD),
        (MODELS, {"status": "removed"}, {}, 400, BAD),
        (PRICING, {}, {}, 400, BAD),
        (PRICING, {"endpoint_id": FIFTY_ONE}, {}, 400, BAD),
        (PRICING, {"endpoint_id": f"{SORA},not an id"}, {}, 400, BAD),
        (PRICING, {"endpoint_id": SORA}, WRONG, 401, AUTH),
        (USAGE, {}, {}, 403, AUTH),
        (USAGE, {"expand": "auth_method"}, ADMIN, 400, BAD),
        (USAGE, {}, {"Authorization": ""}, 401, AUTH),
        (EVENTS, {}, {}, 403, AUTH),
        (EVENTS, {"request_id": FIFTY_ONE}, ADMIN, 400, BAD),
        (EVENTS, {"start": "2025-01-01", "end": "2025-06-01"}, ADMIN, 400, BAD),
        (EVENTS, {"start": "yesterday"}, ADMIN, 400, BAD),
        (BY_ENDPOINT, {}, {}, 400, BAD),
        (BY_ENDPOINT, {"endpoint_id": SORA, "limit": "101"}, {}, 400, BAD),
        (BY_ENDPOINT, {"endpoint_id": SORA, "request_id": "abc"}, {}, 400, BAD),
        (BY_ENDPOINT, {"endpoint_id": SORA}, WRONG, 401, AUTH),
    ],
)
async def test_every_refusal_is_a_platform_error_in_the_spec(
    checked: Checked, path: str, params: dict[str, str], headers: dict[str, str], status: int, kind: str
) -> None:
    client, transport = checked
    answer = await client.get(path, params=params, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["type"] == kind
    assert answer.json()["error"]["message"]
    assert "detail" not in answer.json()
    assert transport.checked == [(path, status)]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"estimate_type": "per_call", "endpoints": {SORA: {"call_quantity": 1}}}, 400),
        ({"estimate_type": "unit_price", "endpoints": {}}, 400),
        ({"estimate_type": "historical_api_price", "endpoints": {SORA: {"call_quantity": 1.5}}}, 400),
        ({"estimate_type": "unit_price", "endpoints": {SORA: {"unit_quantity": True}}}, 400),
        ({"estimate_type": "unit_price", "endpoints": {"fal-ai/gone/model": {"unit_quantity": 1}}}, 404),
    ],
)
async def test_estimate_refusals_are_in_the_spec(checked: Checked, body: dict[str, object], status: int) -> None:
    client, transport = checked
    answer = await client.post("/v1/models/pricing/estimate", json=body)
    assert answer.status_code == status
    assert transport.checked == [("/v1/models/pricing/estimate", status)]


def test_the_routes_checked_are_the_routes_kept() -> None:
    assert set(json.loads(SPEC_FILE.read_text(encoding="utf-8"))["paths"]) == set(ROUTES)
