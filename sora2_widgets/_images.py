"""Image inputs for image-to-video: check any image the user gives, and turn local ones into data URIs.

fal accepts ``image_url`` as an http(s) URL or a ``data:`` URI. A notebook user more often
has a file on disk or a PIL image in memory, so :func:`image_to_data_uri` builds the URI.

Whatever form an image comes in — a file, bytes, a PIL image or a ``data:`` URI typed by hand —
it is decoded before anything is sent (:func:`inspect_image`): its type is sniffed from the
content (never trusted from a file name or a URI's header), it must be one fal takes, it must
decode to the end (a truncated upload fails here, not after a paid request), and its size in
bytes and pixels is known. Only an http(s) URL is passed on unread: fal fetches it, and
downloading it here would be a request of our own to a host the user chose.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union
from urllib.parse import unquote_to_bytes

from PIL import Image

from ._errors import FieldError, ValidationError

__all__ = [
    "MAX_IMAGE_BYTES",
    "ImageInfo",
    "ImageSource",
    "check_data_uri",
    "convert_image_params",
    "image_to_data_uri",
    "inspect_image",
]

# fal publishes no size limit for image inputs (research.md §1/§5: none found; its error catalogue
# only has an `image_too_large` type, and its docs recommend uploading files to its CDN, noting that
# only some models take data URIs at all). Issue #3 asks for a clear error "above the service's
# limit"; with no published limit to mirror, 10 MB is our own conservative choice: more than any
# photo a video starts from needs, and it keeps a JSON request body (base64: +33 %) modest.
MAX_IMAGE_BYTES = 10 * 1024 * 1024

#: Suffixes that make a plain string a file name the user meant ("cat.png"), not a malformed URL.
_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".avif"})

#: The formats image-to-video endpoints take, by Pillow's format name.
_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
#: What a data: URI may declare for each of them ("image/jpg" is not registered, but common).
_DECLARED = {"image/jpeg": "JPEG", "image/jpg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}
_ACCEPTED = "JPEG, PNG, WebP or GIF"
_UNREADABLE = f"is not a readable image (damaged, cut short, or not an image at all); use {_ACCEPTED}"

ImageSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, Image.Image]

#: Input fields that hold an image (start frames, and the last frames of Kling and Seedance).
IMAGE_FIELDS = ("image_url", "tail_image_url", "start_image_url", "end_image_url")

# RFC 2397: data:[<mediatype>][;base64],<data>. The media type's parameters (;charset=…) are kept
# apart from the ";base64" flag, which must come last.
_DATA_URI_HEAD = re.compile(r"data:(?P<mime>[^;,]*)(?P<params>(?:;[^;,]*)*?)(?P<b64>;base64)?", re.IGNORECASE)


@dataclass(frozen=True)
class ImageInfo:
    """What decoding an image input found: its MIME type, pixel size and size in bytes."""

    mime: str
    width: int
    height: int
    size: int


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _too_large(size: int, max_bytes: int, what: str) -> ValueError:
    return ValueError(
        f"{what} is {_mb(size)}; image inputs are limited to {_mb(max_bytes)}: "
        "resize or recompress it, or pass an https URL to the image instead"
    )


def _is_remote(value: str) -> bool:
    return value[:8].lower().startswith(("http://", "https://", "data:"))


def _is_data_uri(value: object) -> bool:
    return isinstance(value, str) and value[:5].lower() == "data:"


def _data_uri_size(payload: str, is_base64: bool) -> int:
    """The decoded size of a ``data:`` URI's content, without decoding it (RFC 2397)."""
    if is_base64:
        digits = len(payload) - sum(payload.count(c) for c in " \t\r\n")
        padding = len(payload.rstrip(" \t\r\n")) - len(payload.rstrip(" \t\r\n="))
        return max(0, (digits * 3) // 4 - padding)
    return len(payload) - 2 * payload.count("%")  # each %XX escape is one byte


def inspect_image(data: bytes, what: str) -> ImageInfo:
    """Decode ``data`` far enough to know it is a whole image of a type fal takes, and its size.

    Raises ``ValueError`` with one sentence about ``what`` otherwise.
    """
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format or ""
            size = img.size
            # verify() checks a PNG's chunks and checksums without decoding pixels…
            img.verify()
        with Image.open(io.BytesIO(data)) as img:
            if fmt == "JPEG":
                # …but is a no-op for JPEG, whose truncation only shows when decoding. draft() lets
                # libjpeg decode at 1/8 scale: the whole stream is still read, in a fraction of the
                # time and memory of a full decode.
                img.draft("RGB", (max(1, size[0] // 8), max(1, size[1] // 8)))
            img.load()  # the first frame, to its end: a cut-off file raises here
    except Image.DecompressionBombError:
        raise ValueError(f"{what} is too large in pixels to be a start frame; resize it") from None
    except Exception:
        # Not only UnidentifiedImageError/OSError/SyntaxError: Pillow's parsers meet hostile bytes
        # with struct.error, IndexError, ValueError… and every one of them means "not a readable image".
        raise ValueError(f"{what} {_UNREADABLE}") from None
    mime = _MIME.get(fmt)
    if mime is None:
        raise ValueError(f"{what} is a {fmt or 'unknown'} image; image inputs must be {_ACCEPTED}")
    return ImageInfo(mime=mime, width=size[0], height=size[1], size=len(data))


@functools.lru_cache(maxsize=2)
def _checked_data_uri(uri: str, max_bytes: int) -> ImageInfo:
    # Cached: one request checks its image several times (the generator, the schema, the client),
    # and a 10 MB image takes tens of milliseconds to decode. Two entries: the cache keeps the
    # strings alive, and a notebook works on one image (or a start and an end frame) at a time.
    what = "the data: URI image"
    head, comma, payload = uri.partition(",")
    match = _DATA_URI_HEAD.fullmatch(head)
    if not comma or match is None:
        raise ValueError(f"{what} is not a valid data: URI (data:image/png;base64,… expected)")
    declared = match["mime"].strip().lower()
    if declared not in _DECLARED:
        shown = repr(declared) if declared else "no type (text/plain)"
        raise ValueError(f"the data: URI has {shown}, not an image; image inputs must be {_ACCEPTED}")
    is_base64 = match["b64"] is not None
    size = _data_uri_size(payload, is_base64)
    if size > max_bytes:  # before decoding: never decode 200 MB to say it is too large
        raise _too_large(size, max_bytes, what)
    try:
        if is_base64:
            data = base64.b64decode(re.sub(r"[ \t\r\n]", "", payload), validate=True)
        else:
            data = unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        raise ValueError("the data: URI is marked ;base64 but its content is not valid base64") from None
    info = inspect_image(data, what)
    if _MIME[_DECLARED[declared]] != info.mime:
        # Never re-labelled: the service may decode by the declared type.
        actual = next(fmt for fmt, mime in _MIME.items() if mime == info.mime)
        raise ValueError(f"the data: URI says {declared} but holds a {actual} image; correct its header")
    return info


def check_data_uri(uri: str, *, max_bytes: int = MAX_IMAGE_BYTES) -> ImageInfo:
    """Decode a ``data:`` URI's image (size limit first); ``ValueError`` with one sentence if it is not one."""
    return _checked_data_uri(uri, max_bytes)


def _looks_like_path(value: str) -> bool:
    """A string that can only mean a local file (so a missing one deserves "does not exist")."""
    if "://" in value or _is_remote(value):
        return False
    return (
        "/" in value or "\\" in value or value.startswith(("~", ".")) or Path(value).suffix.lower() in _IMAGE_SUFFIXES
    )


def _encode_pil(img: Image.Image) -> bytes:
    # Keep the image's own format when the service takes it (no re-encoding loss for a JPEG);
    # otherwise PNG, which is lossless and keeps transparency.
    fmt = img.format if img.format in _MIME else "PNG"
    out = io.BytesIO()
    save = img
    try:
        if fmt == "JPEG" and img.mode not in ("RGB", "L", "CMYK"):
            save = img.convert("RGB")
        save.save(out, format=fmt)
    except (OSError, ValueError, TypeError, SystemError):  # an empty or exotic image Pillow cannot write
        raise ValueError(
            f"the PIL image (mode {img.mode}, {img.size[0]}×{img.size[1]}) cannot be saved as {fmt}"
        ) from None
    return out.getvalue()


def _read_file(source: str | os.PathLike[str], max_bytes: int) -> tuple[bytes, str]:
    """The bytes of an image file, or a ``ValueError`` saying what is wrong with the path."""
    name = os.fspath(source)
    try:
        path = Path(name).expanduser()
    except RuntimeError:  # "~someone/…" naming no user
        path = Path(name)
    what = f"image file {path.name or str(path)!r}"
    hint = "pass an existing file, bytes, a PIL image, or the image's full https:// URL"
    if "\0" in name:  # the OS refuses it with a bare "embedded null byte"
        raise ValueError(f"{what} is not a valid file name (it contains a NUL character); {hint}")
    problem: str | None = None
    data = b""
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            problem = f"{what} is a folder, not an image file ({path}); {hint}"
        elif not stat.S_ISREG(info.st_mode):
            problem = f"{what} is not a regular file ({path}); {hint}"
        elif info.st_size > max_bytes:  # checked before reading a huge file into memory
            problem = str(_too_large(info.st_size, max_bytes, what))
        else:
            with open(path, "rb") as fh:
                data = fh.read(max_bytes + 1)  # a file that grew since stat() is still held to the limit
    except (FileNotFoundError, NotADirectoryError):
        problem = f"{what} does not exist (looked for {path}); {hint}"
    except PermissionError:
        problem = f"{what} cannot be read: permission denied ({path})"
    except OSError as exc:
        problem = f"{what} cannot be read: {exc.strerror or type(exc).__name__} ({path})"
    if problem is not None:
        raise ValueError(problem)
    return data, what


def image_to_data_uri(source: ImageSource, *, max_bytes: int = MAX_IMAGE_BYTES) -> str:
    """An ``image_url`` value for fal from a URL, a local path, bytes or a PIL image.

    - ``"https://..."`` / ``"http://..."`` strings pass through unchanged (fal fetches them);
    - ``"data:..."`` strings pass through unchanged once their image is decoded and checked;
    - a path (``str`` or :class:`~pathlib.Path`), ``bytes`` or a PIL image becomes
      ``data:image/<type>;base64,...`` with the type sniffed from the content (JPEG, PNG, WebP, GIF).

    Raises ``ValueError`` with a plain sentence when the file is missing or a folder, not a whole
    image of an accepted type, or larger than ``max_bytes`` (10 MB by default).
    """
    if isinstance(source, str) and _is_remote(source):
        if _is_data_uri(source):
            check_data_uri(source, max_bytes=max_bytes)
        return source
    if isinstance(source, Image.Image):
        data = _encode_pil(source)
        what = "the image"
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        what = "the image data"
    elif isinstance(source, (str, os.PathLike)):
        data, what = _read_file(source, max_bytes)
    else:
        raise TypeError(f"cannot make an image input from {type(source).__name__}; pass a path, bytes or PIL image")
    if len(data) > max_bytes:
        raise _too_large(len(data), max_bytes, what)
    if not data:
        raise ValueError(f"{what} is empty")
    mime = inspect_image(data, what).mime
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _needs_conversion(value: object) -> bool:
    if isinstance(value, (bytes, bytearray, memoryview, Image.Image, os.PathLike)):
        return True
    if isinstance(value, str) and value.strip() and not _is_remote(value):
        # A plain string naming a local file or folder (image_url="cat.png"): converted if it exists;
        # if not, image_to_data_uri says so, instead of a schema error about URLs the user never meant.
        if _looks_like_path(value):
            return True
        try:
            return Path(value).expanduser().exists()
        except (OSError, ValueError, RuntimeError):  # NUL in the name, a name too long, "~nobody"
            return False
    return False


def convert_image_params(params: Mapping[str, Any], *, max_bytes: int = MAX_IMAGE_BYTES) -> dict[str, Any]:
    """``params`` with local images in image fields turned into data URIs (URLs left alone).

    Every ``data:`` URI is decoded and checked too (it is not converted). Raises ``(field, message)``
    as :class:`ValueError` args so the caller can report it as a field error.
    """
    out = dict(params)
    for name in IMAGE_FIELDS:
        value = out.get(name)
        if value is None or not (_is_data_uri(value) or _needs_conversion(value)):
            continue
        problem: str | None = None
        try:
            out[name] = image_to_data_uri(value, max_bytes=max_bytes)
        except (ValueError, TypeError) as exc:
            problem = str(exc)
        if problem is not None:  # raised here, not in the except: no chained context to carry along
            raise ValueError(name, problem)
    return out


def with_image_data_uris(model_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`convert_image_params` for one model's request: a bad image is that model's
    :class:`ValidationError`, raised before anything is recorded or sent."""
    try:
        return convert_image_params(params)
    except ValueError as exc:
        name, message = exc.args if len(exc.args) == 2 else ("image_url", str(exc))
        problem = FieldError(str(name), str(message))
    # Raised here, not in the except: our error carries no chained context (a message is all it needs).
    raise ValidationError(model_id, [problem])


@dataclass(frozen=True)
class LocalImage:
    """A checked local image an input field will carry once uploaded: its bytes, type and a file name."""

    data: bytes
    mime: str
    file_name: str


def local_images(params: Mapping[str, Any], converted: Mapping[str, Any]) -> dict[str, LocalImage]:
    """The image fields the user gave as a local file, bytes or PIL image (not a URL, not a
    ``data:`` URI), with the image they hold. ``converted`` is ``params`` after
    :func:`convert_image_params` (so every image here was already read and checked)."""
    out: dict[str, LocalImage] = {}
    for name in IMAGE_FIELDS:
        original, sent = params.get(name), converted.get(name)
        if original is None or not _needs_conversion(original) or not _is_data_uri(sent):
            continue
        head, _, payload = str(sent).partition(",")
        mime = head[5:].split(";", 1)[0] or "application/octet-stream"
        ext = mime.rsplit("/", 1)[-1].replace("jpeg", "jpg")
        file_name = f"{name}.{ext}"
        if isinstance(original, (str, os.PathLike)):
            file_name = Path(os.fspath(original)).name or file_name
        out[name] = LocalImage(base64.b64decode(payload), mime, file_name)
    return out
