"""Images in (image-to-video sources) and which result URLs a browser can play, without widgets.

Image sources become a ``data:`` URI, which fal accepts in ``image_url``, so a
local file never needs an upload service. ``image_to_data_uri`` (the one the generator
uses, which also decodes the image with Pillow) does the conversion, so the panel refuses
exactly what a generation would: same formats, same size limit, same words.
An image given by http(s) URL is previewed by the browser itself (``ipywidgets.Image``
with ``format="url"``): the kernel never downloads it, and the URL is set as the
``src`` property, never pasted into HTML.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .._images import image_to_data_uri

__all__ = [
    "ImageChoice",
    "browser_video_url",
    "image_from_bytes",
    "image_from_path",
    "image_from_url",
    "sniff_mime",
]

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff_mime(data: bytes) -> str | None:
    """The image type from its magic bytes (PNG, JPEG, GIF, WebP); ``None`` if not an image we know."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class ImageChoice:
    """The start image of an image-to-video job: what is sent, and what the preview shows."""

    source: str  # "url" | "upload" | "path"
    label: str  # shown to the user (a URL, a file name)
    image_url: str  # what goes into the request: an https URL or a data: URI
    preview: bytes = b""  # for ipywidgets.Image: image bytes, or the URL's bytes when preview_format is "url"
    preview_format: str = "png"

    @property
    def is_data_uri(self) -> bool:
        return self.image_url.startswith("data:")

    @property
    def to_send(self) -> str | bytes:
        """What the request's image field gets: a file's or an upload's bytes, which the generator
        uploads through fal's storage (the request then carries that URL, never a ``data:`` URI the
        user did not give); a URL, or a ``data:`` URI pasted by hand, as it was given."""
        return self.preview if self.source in ("upload", "path") else self.image_url


def image_from_bytes(data: bytes, name: str, *, source: str = "upload") -> ImageChoice:
    """An uploaded (or read) image; raises ``ValueError`` with a plain sentence if it is not one."""
    if not data:
        raise ValueError(f"{name} is empty")
    try:
        # Decodes the image too: a truncated file fails here, not at fal.
        uri = image_to_data_uri(data)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    mime = uri[5:].split(";", 1)[0]
    return ImageChoice(source, name, uri, data, mime.split("/", 1)[1])


def image_from_path(path: str | Path) -> ImageChoice:
    """A local image file, converted with the client's helper when available."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ValueError(f"no image file at {p}")
    return image_from_bytes(p.read_bytes(), p.name, source="path")


def image_from_url(url: str) -> ImageChoice:
    """A remote image: sent as is (fal fetches it); ``data:`` URIs pasted by hand are accepted too."""
    url = url.strip()
    if url.startswith("data:"):
        head, _, payload = url.partition(",")
        try:
            data = base64.b64decode(payload, validate=True) if head.endswith(";base64") else b""
        except ValueError:
            raise ValueError("the data: URI is not valid base64") from None
        image_to_data_uri(url)  # the same size limit as every other image
        mime = sniff_mime(data) if data else None
        return ImageChoice("url", "pasted data: URI", url, data if mime else b"", (mime or "image/png").split("/")[1])
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in ("http", "https") or not url.split("://", 1)[1].split("/", 1)[0]:
        raise ValueError("the image URL must start with https:// (or http://)")
    if any(ch.isspace() or ord(ch) < 32 or ch in _NOT_IN_URLS for ch in url):
        raise ValueError("the image URL contains spaces, quotes or angle brackets; paste the URL exactly as is")
    return ImageChoice("url", url, url, url.encode("utf-8"), "url")


# Characters a pasted URL never holds unescaped (RFC 3986); refusing them keeps it one plain URL.
_NOT_IN_URLS = frozenset('"<>\\^`{|}')
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def browser_video_url(url: str | None) -> str | None:
    """``url`` if a browser can play it as it stands, else ``None``.

    https anywhere (fal's CDN); http only on loopback (an emulator served with ``sora2-widgets
    emulator``: browsers allow that from an https page, not other http hosts); never the
    in-process emulator's ``*.invalid`` host, which exists only inside the kernel.
    """
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if not host or host.endswith(".invalid") or any(ch.isspace() or ch in _NOT_IN_URLS for ch in url):
        return None
    if parts.scheme == "https" or (parts.scheme == "http" and (host in _LOOPBACK or host.startswith("127."))):
        return url
    return None
