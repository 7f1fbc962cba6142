"""Webhook signatures like fal's: the emulator signs every POST (ED25519) and serves its key set;
``sw.verify_webhook`` accepts a genuine POST and refuses a changed, foreign, stale or incomplete one."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import urllib.parse
import uuid
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from emu_helpers import KLING

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator, serving
from tests.conformance._support import Delivery, webhook_receiver

HEADERS = ("x-fal-webhook-request-id", "x-fal-webhook-user-id", "x-fal-webhook-timestamp", "x-fal-webhook-signature")


async def _one_delivery(emu: Emulator, api_for: Any) -> Delivery:
    with webhook_receiver(emu) as receiver:  # it verifies every POST itself
        async with api_for(emu) as api:
            hook = "?fal_webhook=" + urllib.parse.quote(receiver.url + "/hook", safe="")
            job = (await api.client.post(f"/{KLING}{hook}", json={"prompt": "signed"})).json()
            receiver.wait_for(1)
            assert emu.webhooks.wait_idle(30)
    [hit] = receiver.for_request(job["request_id"])
    return hit


def _refusal(
    hit: Delivery, jwks: Any, *, headers: dict[str, str] | None = None, body: bytes | None = None, **kw: Any
) -> str:
    with pytest.raises(sw.Sora2Error) as refused:
        sw.verify_webhook(
            hit.headers if headers is None else headers, hit.raw if body is None else body, jwks=jwks, **kw
        )
    return str(refused.value)


async def test_a_genuine_post_verifies_with_the_key_set_the_emulator_serves(make_emu, api_for) -> None:
    emu = make_emu()
    hit = await _one_delivery(emu, api_for)
    async with api_for(emu) as api:
        served = (await api.client.get("/.well-known/jwks.json")).json()
    [key] = served["keys"]
    assert (key["kty"], key["crv"], key["alg"]) == ("OKP", "Ed25519", "EdDSA") and key["kid"]
    assert set(HEADERS) <= set(hit.headers)
    assert sw.verify_webhook(hit.headers, hit.raw, jwks=served) == hit.body
    # The layout fal documents, checked without the package's helper: request id, user id,
    # timestamp and the body's SHA-256 hex, one per line, signed with the key set's Ed25519 key.
    h = hit.headers
    message = "\n".join((h[HEADERS[0]], h[HEADERS[1]], h[HEADERS[2]], hashlib.sha256(hit.raw).hexdigest())).encode()
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(key["x"] + "=" * (-len(key["x"]) % 4)))
    public.verify(bytes.fromhex(h[HEADERS[3]]), message)  # raises if not
    assert h[HEADERS[0]] == hit.body["request_id"] and abs(int(h[HEADERS[2]]) - time.time()) < 120


async def test_a_changed_body_a_foreign_key_and_a_stale_time_are_refused(make_emu, api_for, tmp_path) -> None:
    emu = make_emu()
    hit = await _one_delivery(emu, api_for)
    jwks = emu.webhooks.signer.jwks()
    stamp = int(hit.headers["x-fal-webhook-timestamp"])

    tampered = hit.raw.replace(b'"status": "OK"', b'"status": "ERROR"')
    assert tampered != hit.raw
    assert "signature matches none" in _refusal(hit, jwks, body=tampered)
    other = Emulator(state_dir=tmp_path / "another")
    try:
        assert "signature matches none" in _refusal(hit, other.webhooks.signer.jwks())
    finally:
        other.close()
    forged = {**hit.headers, "x-fal-webhook-request-id": "someone-elses-request"}
    assert "signature matches none" in _refusal(hit, jwks, headers=forged)

    assert "301 s old" in _refusal(hit, jwks, now=stamp + 301)
    assert "in the future" in _refusal(hit, jwks, now=stamp - 301)
    assert sw.verify_webhook(hit.headers, hit.raw, jwks=jwks, now=stamp + 300) == hit.body  # 5 min is still fine
    assert "more than 10 s" in _refusal(hit, jwks, now=stamp + 11, max_age=10)


@pytest.mark.parametrize("missing", HEADERS)
async def test_each_missing_header_is_refused_by_name(make_emu, api_for, missing: str) -> None:
    emu = make_emu()
    hit = await _one_delivery(emu, api_for)
    headers = {k: v for k, v in hit.headers.items() if k != missing}
    assert _refusal(hit, emu.webhooks.signer.jwks(), headers=headers) == f"webhook refused: missing header {missing}"


async def test_unreadable_headers_and_key_sets_are_refused(make_emu, api_for) -> None:
    emu = make_emu()
    hit = await _one_delivery(emu, api_for)
    jwks = emu.webhooks.signer.jwks()
    assert "not a Unix time" in _refusal(hit, jwks, headers={**hit.headers, "x-fal-webhook-timestamp": "soon"})
    assert "hex ED25519 signature" in _refusal(hit, jwks, headers={**hit.headers, "x-fal-webhook-signature": "zz"})
    assert "no Ed25519 key" in _refusal(hit, {"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}]})
    assert "not a JSON Web Key Set" in _refusal(hit, {"keys": "none"})
    upper = {k.upper(): v for k, v in hit.headers.items()}
    assert sw.verify_webhook(upper, hit.raw, jwks=jwks) == hit.body, "header names in any case"
    with pytest.raises(TypeError, match="raw request bytes"):
        sw.verify_webhook(hit.headers, hit.raw.decode(), jwks=jwks)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_age must be a whole number"):
        sw.verify_webhook(hit.headers, hit.raw, jwks=jwks, max_age=True)


async def test_every_retry_is_signed_afresh(make_emu, api_for) -> None:
    emu = make_emu(webhook_retry_base=0.05)
    with webhook_receiver(emu, fail_first=2) as receiver:
        async with api_for(emu) as api:
            hook = "?fal_webhook=" + urllib.parse.quote(receiver.url, safe="")
            (await api.client.post(f"/{KLING}{hook}", json={"prompt": "x"})).json()
            receiver.wait_for(3)
            assert emu.webhooks.wait_idle(30)
    assert len(receiver.deliveries) == 3 and receiver.refused == []


def test_the_key_survives_a_restart_and_is_the_owners_alone(tmp_path) -> None:
    first = Emulator(state_dir=tmp_path / "emu")
    try:
        jwks = first.webhooks.signer.jwks()
    finally:
        first.close()
    key_file = tmp_path / "emu" / "webhook-signing-key.pem"
    assert key_file.stat().st_mode & 0o077 == 0, "no one but the owner reads the private key"
    again = Emulator(state_dir=tmp_path / "emu")
    try:
        assert again.webhooks.signer.jwks() == jwks
        body = json.dumps({"request_id": "r1"}).encode()
        signed = again.webhooks.signer.headers("r1", body)
        assert sw.verify_webhook(signed, body, jwks=jwks) == {"request_id": "r1"}
    finally:
        again.close()


def test_the_key_set_is_fetched_from_its_url(tmp_path) -> None:
    emu = Emulator(state_dir=tmp_path / "emu")
    try:
        with serving(emu) as where:
            # A query of its own: the verifier caches a key set by URL, and a loopback port may repeat.
            url = f"{where.queue_url}/.well-known/jwks.json?test={uuid.uuid4().hex}"
            assert httpx.get(url, timeout=30).json() == emu.webhooks.signer.jwks()
            body = b'{"request_id": "r2", "status": "OK"}'
            signed = emu.webhooks.signer.headers("r2", body)
            assert sw.verify_webhook(signed, body, jwks=url)["status"] == "OK"
            with pytest.raises(sw.Sora2Error, match="matches none"):
                sw.verify_webhook(signed, body.replace(b"OK", b"KO"), jwks=url)
        gone = f"{where.queue_url}/.well-known/jwks.json?test={uuid.uuid4().hex}"
        with pytest.raises(sw.Sora2Error, match="could not be fetched"):
            sw.verify_webhook(signed, body, jwks=gone)
    finally:
        emu.close()
