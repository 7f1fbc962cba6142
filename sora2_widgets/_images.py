"""Image inputs for image-to-video: turn a local file, bytes or a PIL image into a data URI.

fal accepts ``image_url`` as an http(s) URL or a ``data:`` URI. A notebook user more often
has a file on disk or a PIL image in memory, so :func:`image_to_data_uri` builds the URI,
with the MIME type sniffed from the content (never trusted from a file name) and the size
checked before anything is sent.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union

from PIL import Image, UnidentifiedImageError

from ._errors import FieldError, ValidationError

__all__ = ["MAX_IMAGE_BYTES", "ImageSource", "convert_image_params", "image_to_data_uri"]

# fal publishes no size limit for image_url data URIs (research.md §1/§5: not found; fal's error
# catalogue only has an `image_too_large` type). 10 MB is the limit issue #3 asks for: large enough
# for any photo a user starts a video from, small enough that a request body stays reasonable.
MAX_IMAGE_BYTES = 10 * 1024 * 1024

#: The formats image-to-video endpoints take, by Pillow's format name.
_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}

ImageSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, Image.Image]

#: Input fields that hold an image (Sora/Kling image-to-video, Kling's last frame).
IMAGE_FIELDS = ("image_url", "tail_image_url")


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _too_large(size: int, max_bytes: int, what: str) -> ValueError:
    return ValueError(
        f"{what} is {_mb(size)}; image inputs are limited to {_mb(max_bytes)}. "
        "Resize or recompress it, or pass an https URL to the image instead."
    )


def _sniff(data: bytes, what: str) -> str:
    """The MIME type of ``data`` from its content, or a ValueError naming the accepted formats."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format or ""
            img.verify()  # catches truncated/corrupt files before they cost a request
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"{what} is not a readable image ({type(exc).__name__}); use JPEG, PNG, WebP or GIF") from None
    mime = _MIME.get(fmt)
    if mime is None:
        raise ValueError(f"{what} is a {fmt or 'unknown'} image; image inputs must be JPEG, PNG, WebP or GIF")
    return mime


def _encode_pil(img: Image.Image) -> bytes:
    # Keep the image's own format when the service takes it (no re-encoding loss for a JPEG);
    # otherwise PNG, which is lossless and keeps transparency.
    fmt = img.format if img.format in _MIME else "PNG"
    out = io.BytesIO()
    save = img
    if fmt == "JPEG" and img.mode not in ("RGB", "L", "CMYK"):
        save = img.convert("RGB")
    save.save(out, format=fmt)
    return out.getvalue()


def image_to_data_uri(source: ImageSource, *, max_bytes: int = MAX_IMAGE_BYTES) -> str:
    """An ``image_url`` value for fal from a URL, a local path, bytes or a PIL image.

    - ``"https://..."`` / ``"http://..."`` and ``"data:..."`` strings pass through unchanged;
    - a path (``str`` or :class:`~pathlib.Path`), ``bytes`` or a PIL image becomes
      ``data:image/<type>;base64,...`` with the type sniffed from the content (JPEG, PNG, WebP, GIF).

    Raises ``ValueError`` with a plain sentence when the file is missing, not an image of an
    accepted type, or larger than ``max_bytes`` (10 MB by default).
    """
    if isinstance(source, str):
        lowered = source[:8].lower()
        if lowered.startswith(("http://", "https://", "data:")):
            return source
    if isinstance(source, Image.Image):
        data = _encode_pil(source)
        what = "the image"
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        what = "the image data"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        what = f"image file {path.name!r}"
        if not path.is_file():
            raise ValueError(f"{what} does not exist (looked for {path}); pass a path, bytes, a PIL image or a URL")
        size = path.stat().st_size
        if size > max_bytes:  # checked before reading a huge file into memory
            raise _too_large(size, max_bytes, what)
        data = path.read_bytes()
    else:
        raise TypeError(f"cannot make an image input from {type(source).__name__}; pass a path, bytes or PIL image")
    if len(data) > max_bytes:
        raise _too_large(len(data), max_bytes, what)
    mime = _sniff(data, what)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _needs_conversion(value: object) -> bool:
    if isinstance(value, (bytes, bytearray, memoryview, Image.Image, os.PathLike)):
        return True
    if isinstance(value, str) and not value[:8].lower().startswith(("http://", "https://", "data:")):
        # A plain string that names an existing local file: what a user means by image_url="cat.png".
        try:
            return Path(value).expanduser().is_file()
        except (OSError, ValueError):
            return False
    return False


def convert_image_params(params: Mapping[str, Any], *, max_bytes: int = MAX_IMAGE_BYTES) -> dict[str, Any]:
    """``params`` with local images in image fields turned into data URIs (URLs left alone).

    Raises ``(field, message)`` as :class:`ValueError` args so the caller can report it as a field error.
    """
    out = dict(params)
    for name in IMAGE_FIELDS:
        value = out.get(name)
        if value is not None and _needs_conversion(value):
            try:
                out[name] = image_to_data_uri(value, max_bytes=max_bytes)
            except (ValueError, TypeError) as exc:
                raise ValueError(name, str(exc)) from None
    return out


def with_image_data_uris(model_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`convert_image_params` for one model's request: a bad image is that model's
    :class:`ValidationError`, raised before anything is recorded or sent."""
    try:
        return convert_image_params(params)
    except ValueError as exc:
        name, message = exc.args if len(exc.args) == 2 else ("image_url", str(exc))
        raise ValidationError(model_id, [FieldError(str(name), str(message))]) from None
