"""Image inputs (issue 16, class 2): every form an image comes in is decoded before it can be sent.

A ``data:`` URI typed by hand, a file, bytes: each must be a whole image of a type fal takes
(JPEG, PNG, WebP, GIF), or it is refused with one sentence naming the field — by
``validate_input`` as by the generator's conversion, so no path to the service skips the check.
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from urllib.parse import quote_from_bytes

import pytest
from PIL import Image

import sora2_widgets as sw
from sora2_widgets._images import check_data_uri, inspect_image, with_image_data_uris

PROMPT = "It starts to rain"


def encoded(fmt: str = "PNG", size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.effect_noise(size, 40).convert("RGB").save(out, format=fmt)  # noise: no tiny, all-zero stream
    return out.getvalue()


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


PNG = encoded("PNG")
JPEG = encoded("JPEG", (320, 240))


@pytest.mark.parametrize(
    ("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/gif")]
)
def test_a_whole_image_is_accepted_with_its_type_and_size(fmt: str, mime: str) -> None:
    data = encoded(fmt, (40, 30))
    info = check_data_uri(data_uri(data, mime))
    assert (info.mime, info.width, info.height, info.size) == (mime, 40, 30, len(data))
    assert sw.validate_input("sora2_image_to_video", prompt=PROMPT, image_url=data_uri(data, mime))


def test_a_percent_encoded_data_uri_and_the_common_image_jpg_label_are_accepted() -> None:
    assert check_data_uri("data:image/png," + quote_from_bytes(PNG)).mime == "image/png"
    assert check_data_uri(data_uri(JPEG, "image/jpg")).mime == "image/jpeg"


BAD_DATA_URIS: list[tuple[str, str]] = [
    (
        "data:text/plain,hello",
        "the data: URI has 'text/plain', not an image; image inputs must be JPEG, PNG, WebP or GIF",
    ),
    ("data:,hello", "the data: URI has no type (text/plain), not an image"),
    (data_uri(b"hello", "image/png"), "the data: URI image is not a readable image"),
    (data_uri(PNG[: len(PNG) // 2]), "the data: URI image is not a readable image (damaged, cut short"),
    (data_uri(PNG[:8]), "not a readable image"),  # the PNG signature alone
    (data_uri(JPEG[:-300], "image/jpeg"), "not a readable image"),  # verify() alone would pass it
    (data_uri(JPEG, "image/png"), "the data: URI says image/png but holds a JPEG image; correct its header"),
    ("data:image/png;base64,@@@@", "the data: URI is marked ;base64 but its content is not valid base64"),
    ("data:image/png;base64", "is not a valid data: URI"),
    (data_uri(encoded("BMP", (4, 4)), "image/bmp"), "the data: URI has 'image/bmp', not an image"),
]


@pytest.mark.parametrize(("uri", "words"), BAD_DATA_URIS, ids=lambda v: v[:30])
@pytest.mark.parametrize("field", ["image_url", "tail_image_url"])
def test_a_data_uri_that_is_not_a_whole_accepted_image_is_refused_naming_the_field(
    uri: str, words: str, field: str
) -> None:
    params = {"prompt": PROMPT, "image_url": data_uri(PNG), field: uri}
    # Both ways a request is checked: the schema (validate_input) and the conversion (generate, submit).
    for check in (
        lambda: sw.validate_input("kling25_turbo_pro_image_to_video", **params),
        lambda: with_image_data_uris("kling25_turbo_pro_image_to_video", params),
    ):
        with pytest.raises(sw.ValidationError) as info:
            check()
        assert [e.field for e in info.value.errors] == [field]
        assert words in str(info.value) and "\n" not in str(info.value)
        assert info.value.__context__ is None and info.value.__cause__ is None
    with pytest.raises(ValueError, match="data: URI"):
        sw.image_to_data_uri(uri)


def test_a_truncated_file_and_truncated_bytes_are_refused(tmp_path: Path) -> None:
    cut = tmp_path / "cut.png"
    cut.write_bytes(PNG[: len(PNG) - 20])
    for source in (cut, str(cut), PNG[: len(PNG) - 20]):
        with pytest.raises(sw.ValidationError, match=r"image_url: .* is not a readable image"):
            with_image_data_uris("sora2_image_to_video", {"prompt": PROMPT, "image_url": source})


def test_a_folder_given_as_the_image_says_it_is_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)
    for source in (folder, str(folder), "frames", "frames/"):
        with pytest.raises(sw.ValidationError) as info:
            with_image_data_uris("sora2_image_to_video", {"prompt": PROMPT, "image_url": source})
        assert "is a folder, not an image file" in str(info.value) and "does not exist" not in str(info.value)


def test_a_missing_file_and_a_device_are_told_apart(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"image file 'gone\.png' does not exist \(looked for "):
        sw.image_to_data_uri(tmp_path / "gone.png")
    with pytest.raises(ValueError, match="is not a regular file"):
        sw.image_to_data_uri("/dev/null")
    with pytest.raises(ValueError, match="contains a NUL character"):
        sw.image_to_data_uri("cat\x00.png")


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root reads any file")
def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    locked = tmp_path / "locked.png"
    locked.write_bytes(PNG)
    locked.chmod(0)
    with pytest.raises(ValueError, match="cannot be read: permission denied"):
        sw.image_to_data_uri(locked)


def test_empty_bytes_and_an_unsavable_pil_image_are_refused_in_a_sentence() -> None:
    with pytest.raises(ValueError, match=r"^the image data is empty$"):
        sw.image_to_data_uri(b"")
    with pytest.raises(ValueError, match=r"^the PIL image \(mode RGB, 0×0\) cannot be saved as PNG$"):
        sw.image_to_data_uri(Image.new("RGB", (0, 0)))


def test_inspect_image_reads_the_size_from_the_content_not_the_name() -> None:
    info = inspect_image(JPEG, "x")
    assert (info.mime, info.width, info.height) == ("image/jpeg", 320, 240)
