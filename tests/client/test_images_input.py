"""Image inputs: image_to_data_uri, and submit turning local images into data URIs (or refusing them)."""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from PIL import Image

import sora2_widgets as sw
from sora2_widgets._images import MAX_IMAGE_BYTES
from tests.client.fakefal import FakeFal


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def png_bytes(size: tuple[int, int] = (8, 8), fmt: str = "PNG", mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "red").save(out, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/gif")]
)
def test_image_to_data_uri_sniffs_the_type(tmp_path: Path, fmt: str, mime: str) -> None:
    data = png_bytes(fmt=fmt)
    path = tmp_path / "picture.bin"  # the name says nothing: the content decides
    path.write_bytes(data)
    for source in (path, str(path), data):
        uri = sw.image_to_data_uri(source)
        head, payload = uri.split(",", 1)
        assert head == f"data:{mime};base64" and base64.b64decode(payload) == data


def test_image_to_data_uri_from_pil_and_urls() -> None:
    uri = sw.image_to_data_uri(Image.new("RGBA", (4, 4)))
    assert uri.startswith("data:image/png;base64,")
    decoded = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert decoded.size == (4, 4)
    assert sw.image_to_data_uri("https://example.com/a.png") == "https://example.com/a.png"
    assert sw.image_to_data_uri(uri) == uri  # a real image given as a data: URI is sent as given
    # ... and one that only claims to be an image is refused before anything is sent (issue 16).
    with pytest.raises(ValueError, match="not a readable image"):
        sw.image_to_data_uri("data:image/png;base64,AAAA")


def test_image_too_large_or_not_an_image_is_a_clear_error(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(png_bytes() + b"\0" * MAX_IMAGE_BYTES)
    with pytest.raises(ValueError, match=r"big\.png.* is 10\.0 MB; image inputs are limited to 10\.0 MB"):
        sw.image_to_data_uri(big)
    with pytest.raises(ValueError, match="limited to"):
        sw.image_to_data_uri(png_bytes(), max_bytes=10)
    with pytest.raises(ValueError, match="not a readable image"):
        sw.image_to_data_uri(b"%PDF-1.4 not an image")
    with pytest.raises(ValueError, match="does not exist"):
        sw.image_to_data_uri(tmp_path / "missing.png")
    bmp = io.BytesIO()
    Image.new("RGB", (2, 2)).save(bmp, format="BMP")
    with pytest.raises(ValueError, match="must be JPEG, PNG, WebP or GIF"):
        sw.image_to_data_uri(bmp.getvalue())


def test_submit_refuses_a_too_large_image_before_any_request(fake: FakeFal, make_client: Any, tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (MAX_IMAGE_BYTES + 1))

    async def main() -> None:
        async with make_client() as client:
            await client.submit("kling25_turbo_pro_image_to_video", prompt="x", image_url=big)

    with pytest.raises(sw.ValidationError) as info:
        run(main())
    assert info.value.errors[0].field == "image_url" and "limited to 10.0 MB" in str(info.value)
    assert fake.seen == []


@pytest.mark.parametrize("encoding", ["base64", "base64-wrapped", "percent"])
def test_a_too_large_data_uri_is_refused_before_any_request(fake: FakeFal, make_client: Any, encoding: str) -> None:
    # A data: URI passes through unconverted, but it is still the user's image: same limit, same words.
    data = png_bytes() + b"\0" * MAX_IMAGE_BYTES
    if encoding == "percent":
        uri = "data:image/png," + quote_from_bytes(data)
    else:
        b64 = base64.b64encode(data).decode()
        if encoding == "base64-wrapped":  # MIME-style line breaks do not count as content
            b64 = "\n".join(b64[i : i + 76] for i in range(0, len(b64), 76))
        uri = "data:image/png;base64," + b64
    size = f"{len(data) / (1024 * 1024):.1f} MB"

    async def main() -> None:
        async with make_client() as client:
            await client.submit("sora2_image_to_video", prompt="x", image_url=uri)

    with pytest.raises(sw.ValidationError) as info:
        run(main())
    assert info.value.errors[0].field == "image_url"
    assert f"the data: URI image is {size}; image inputs are limited to 10.0 MB" in str(info.value)
    assert fake.seen == []
    with pytest.raises(ValueError, match=r"limited to 10\.0 MB"):
        sw.image_to_data_uri(uri)


def test_a_data_uri_at_the_limit_is_sent_unchanged(fake: FakeFal, make_client: Any) -> None:
    data = png_bytes() + b"\0" * (MAX_IMAGE_BYTES - len(png_bytes()))  # exactly the limit
    uri = "data:image/png;base64," + base64.b64encode(data).decode()

    async def main() -> sw.Job:
        async with make_client() as client:
            return await client.submit("sora2_image_to_video", prompt="x", image_url=uri)

    job = run(main())
    assert fake.jobs[job.request_id].body["image_url"] == uri


@pytest.mark.parametrize("name", ["cat.png", "photos/cat.jpg", "~/no-such-dir/cat.webp", "./cat"])
def test_a_missing_local_image_says_the_file_does_not_exist(
    fake: FakeFal, make_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.chdir(tmp_path)

    async def main() -> None:
        async with make_client() as client:
            await client.submit("sora2_image_to_video", prompt="x", image_url=name)

    with pytest.raises(sw.ValidationError) as info:
        run(main())
    message = str(info.value)
    assert info.value.errors[0].field == "image_url"
    assert "does not exist" in message and "image_to_data_uri" not in message
    assert fake.seen == []


@pytest.mark.parametrize("value", ["ftp://example.com/cat.png", "not a url"])
def test_a_string_that_is_no_path_still_gets_the_url_rule(fake: FakeFal, make_client: Any, value: str) -> None:
    async def main() -> None:
        async with make_client() as client:
            await client.submit("sora2_image_to_video", prompt="x", image_url=value)

    with pytest.raises(sw.ValidationError, match="must be an http\\(s\\) URL or a data: URI"):
        run(main())
