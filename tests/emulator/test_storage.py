"""fal's storage in the emulator: CDN token, single / legacy / multipart uploads, served files, image inputs."""

from __future__ import annotations

import asyncio
import hashlib
import tracemalloc
from datetime import datetime
from typing import Any

import pytest
from emu_helpers import SORA_I2V, SORA_I2V_PRO

from tests._secrets import FAL_KEY
from tests.conformance._support import png_bytes

TOKEN = "/storage/auth/token?storage_type=fal-cdn-v3"


async def _token(api: Any) -> dict[str, Any]:
    r = await api.client.post(TOKEN, json={})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_cdn_token_has_fal_client_fields(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        token = await _token(api)
    assert set(token) == {"token", "token_type", "base_url", "expires_at"}
    assert token["token_type"] == "Bearer" and token["base_url"] == emu.base_url
    assert datetime.fromisoformat(token["expires_at"]).tzinfo is not None  # what fal-client parses


async def test_single_upload_is_served_and_idempotent(make_emu, api_for) -> None:
    emu = make_emu()
    data = png_bytes(40, 30)
    async with api_for(emu) as api:
        headers = {"content-type": "image/png", "x-fal-file-name": "../../me & you.png"}
        first = (await api.client.post("/files/upload", content=data, headers=headers)).json()["access_url"]
        again = (await api.client.post("/files/upload", content=data, headers=headers)).json()["access_url"]
        other = (await api.client.post("/files/upload", content=data[:-1], headers=headers)).json()["access_url"]
        served = await api.client.get(first)
        unnamed = await api.client.post("/files/upload", content=b"GIF89a", headers={"content-type": "image/gif"})
    assert first == again != other, "a retried upload gets the same URL; other bytes another one"
    assert first.startswith(f"{emu.base_url}/files/") and first.endswith("/me_you.png")
    assert served.status_code == 200 and served.content == data and served.headers["content-type"] == "image/png"
    assert unnamed.json()["access_url"].endswith(".gif")
    assert len(list((emu.state_dir / "storage" / "files").glob("*.json"))) == 3


async def test_legacy_initiate_then_put(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        r = await api.client.post(
            "/storage/upload/initiate?storage_type=gcs", json={"file_name": "a.txt", "content_type": "text/plain"}
        )
        urls = r.json()
        assert set(urls) == {"upload_url", "file_url"}
        assert (await api.client.get(urls["file_url"])).status_code == 404, "nothing there before the PUT"
        for _ in range(2):  # a retried PUT is harmless
            put = await api.client.put(urls["upload_url"], content=b"hello", headers={"content-type": "text/plain"})
            assert put.status_code == 200
        got = await api.client.get(urls["file_url"])
        assert got.content == b"hello" and got.headers["content-type"].startswith("text/plain")
        unknown = await api.client.put(urls["upload_url"][:-4] + "zzzz", content=b"x")
        assert unknown.status_code == 404
        missing = await api.client.post("/storage/upload/initiate", json={"file_name": "a"})
        assert missing.status_code == 422


async def _put_parts(api: Any, upload_url: str, parts: list[bytes]) -> list[dict[str, Any]]:
    done = []
    for number in reversed(range(1, len(parts) + 1)):  # in any order, as fal-client's threads do
        r = await api.client.put(f"{upload_url}/{number}", content=parts[number - 1])
        assert r.status_code == 200, r.text
        assert r.headers["etag"] == r.json()["etag"] and r.json()["partNumber"] == number
        done.append({"partNumber": number, "etag": r.headers["etag"]})
    return done


async def test_fal_client_style_multipart(make_emu, api_for) -> None:
    emu = make_emu()
    parts = [b"a" * 1000, b"b" * 1000, b"c" * 10]
    async with api_for(emu) as api:
        created = (
            await api.client.post(
                "/files/upload/multipart", headers={"content-type": "video/mp4", "x-fal-file-name": "big.mp4"}
            )
        ).json()
        assert set(created) == {"access_url", "uploadId"}
        upload_url = f"{created['access_url']}/multipart/{created['uploadId']}"
        listed = await _put_parts(api, upload_url, parts)  # unsorted, as fal-client sends them
        bad = await api.client.post(
            f"{upload_url}/complete",
            json={"parts": [{**p, "etag": '"0"'} if p["partNumber"] == 2 else p for p in listed]},
        )
        assert bad.status_code == 400 and "ETag" in bad.json()["detail"]
        short = await api.client.post(
            f"{upload_url}/complete", json={"parts": [*listed, {"partNumber": 9, "etag": "x"}]}
        )
        assert short.status_code == 400 and "never uploaded" in short.json()["detail"]
        for _ in range(2):  # completing again (a lost answer, retried) answers the same
            done = await api.client.post(f"{upload_url}/complete", json={"parts": listed})
            assert done.status_code == 200 and done.json()["access_url"] == created["access_url"]
        late = await api.client.put(f"{upload_url}/1", content=b"x")
        assert late.status_code == 400
        got = await api.client.get(created["access_url"])
    assert got.content == b"".join(parts) and got.headers["content-type"] == "video/mp4"
    assert not list((emu.state_dir / "storage" / "multipart").glob("*/*.part")), "parts are removed when assembled"


async def test_js_client_style_multipart(make_emu, api_for) -> None:
    emu = make_emu()
    parts = [b"x" * 100, b"y" * 50]
    async with api_for(emu) as api:
        urls = (
            await api.client.post(
                "/storage/upload/initiate-multipart?storage_type=fal-cdn-v3",
                json={"content_type": "application/octet-stream", "file_name": "blob.bin"},
            )
        ).json()
        listed = await _put_parts(api, urls["upload_url"], parts)
        r = await api.client.post(f"{urls['upload_url']}/complete", json={"parts": listed})
        assert r.status_code == 200
        assert (await api.client.get(urls["file_url"])).content == b"".join(parts)


async def test_a_required_key_guards_the_token_and_the_token_guards_the_cdn(make_emu, api_for) -> None:
    emu = make_emu(require_key=FAL_KEY)
    async with api_for(emu) as anonymous:
        assert (await anonymous.client.post(TOKEN)).status_code == 401
        assert (await anonymous.client.post("/files/upload", content=b"x")).status_code == 401
        forged = {"authorization": "Bearer e30.0000"}
        assert (await anonymous.client.post("/files/upload", content=b"x", headers=forged)).status_code == 401
        assert (
            await anonymous.client.post("/storage/upload/initiate", json={"content_type": "a/b"})
        ).status_code == 401
    async with api_for(emu, authorization=f"Key {FAL_KEY}") as keyed:
        token = await _token(keyed)
    async with api_for(emu, authorization=f"Bearer {token['token']}") as cdn:
        url = (await cdn.client.post("/files/upload", content=b"x")).json()["access_url"]
    async with api_for(emu) as anonymous:
        assert (await anonymous.client.get(url)).content == b"x", "files are public, like fal's CDN"


async def test_an_uploaded_image_is_a_model_input_and_sets_the_auto_size(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        r = await api.client.post("/files/upload", content=png_bytes(720, 1280), headers={"content-type": "image/png"})
        url = r.json()["access_url"]
        job, out = await api.generate(SORA_I2V, {"prompt": "animate", "image_url": url, "duration": 4})
        logs = (await api.status(job)).json()["logs"]
        _, pro = await api.generate(SORA_I2V_PRO, {"prompt": "p", "image_url": url, "duration": 4})
    assert (out["video"]["width"], out["video"]["height"]) == (720, 1280)
    assert (pro["video"]["width"], pro["video"]["height"]) == (720, 1280)
    assert any("the image is 720x1280" in line["message"] for line in logs)


@pytest.mark.parametrize("problem", ["never uploaded", "not an image"])
async def test_a_bad_uploaded_input_fails_at_the_result_like_fal(problem, make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        if problem == "never uploaded":
            r = await api.client.post(
                "/storage/upload/initiate", json={"content_type": "image/png", "file_name": "a.png"}
            )
            url, kind = r.json()["file_url"], "file_download_error"
        else:
            r = await api.client.post("/files/upload", content=b"not a png", headers={"content-type": "image/png"})
            url, kind = r.json()["access_url"], "image_load_error"
        job = await api.submit(SORA_I2V, {"prompt": "p", "image_url": url})
        status = await api.wait(job)
        result = await api.result(job)
    assert status["error_type"] == kind
    assert result.status_code == 422 and result.json()["detail"][0]["loc"] == ["body", "image_url"]


async def test_a_large_upload_through_the_in_process_transport_is_streamed(make_emu, api_for) -> None:
    emu = make_emu()
    chunk = bytes(range(256)) * 4096  # 1 MiB
    total = 48

    async def body():
        for _ in range(total):
            yield chunk

    async with api_for(emu) as api:
        tracemalloc.start()
        try:
            r = await api.client.post("/files/upload", content=body(), headers={"content-type": "application/x-test"})
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        url = r.json()["access_url"]
        got = await api.client.get(url)
    assert hashlib.sha256(got.content).hexdigest() == hashlib.sha256(chunk * total).hexdigest()
    assert peak < 16 * 2**20, f"{peak / 2**20:.1f} MiB held for a {total} MiB upload"


async def test_an_upload_with_a_lifecycle_header_expires(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        header = {"x-fal-object-lifecycle-preference": '{"expiration_duration_seconds": 0.3}'}
        url = (await api.client.post("/files/upload", content=b"short-lived", headers=header)).json()["access_url"]
        assert (await api.client.get(url)).status_code == 200
        kept = (await api.client.post("/files/upload", content=b"kept")).json()["access_url"]
        deadline = asyncio.get_running_loop().time() + 30
        while (await api.client.get(url)).status_code != 404:
            assert asyncio.get_running_loop().time() < deadline, "the upload never expired"
            await asyncio.sleep(0.05)
        assert (await api.client.get(kept)).status_code == 200, "without the header, an upload stays"
