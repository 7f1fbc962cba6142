"""Catalog entries: the data files read and checked into typed :class:`CatalogEntry` objects.

A broken file is a ``ValueError`` naming the file and the key, at import: a catalog that cannot
be read must not half-load (a model missing from the list would look like a model that never
existed).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["CATALOG_DIR_ENV", "CatalogEntry", "OutputShape", "load_entries", "parse_entry"]

#: A folder of extra entries (one ``*.json`` file per endpoint), read after the shipped ones.
CATALOG_DIR_ENV = "SORA2_WIDGETS_CATALOG_DIR"

_ID = re.compile(r"[a-z][a-z0-9_]*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MODES = ("text", "image", "remix")
_SHAPES = ("sora", "file")


@dataclass(frozen=True)
class OutputShape:
    """What the endpoint answers, and what the emulator renders for it.

    ``shape``: ``"sora"`` (``video`` with its size, ``video_id``, ``thumbnail``) or ``"file"``
    (``{"video": {url, content_type, file_name, file_size}}``). ``sizes``: resolution → aspect
    ratio → (width, height) the service delivers; ``published``: the ``"720p 16:9"`` pairs whose
    size fal states (a token price is exact only for those). ``resolution``: the size of an
    endpoint without a resolution input. ``auto``: what the service picks where the input says
    ``"auto"`` and nothing (no image) decides it.
    """

    shape: str
    fps: int
    sizes: Mapping[str, Mapping[str, tuple[int, int]]]
    published: frozenset[str]
    resolution: str | None = None
    auto: Mapping[str, Any] = field(default_factory=dict)
    #: Keys the result carries beside ``video`` (``{"seed": "integer"}``).
    extra: Mapping[str, str] = field(default_factory=dict)
    #: The video file object states its width, height, fps, duration and frame count.
    reports_size: bool = False

    def size(self, resolution: str, aspect_ratio: str) -> tuple[int, int]:
        try:
            return self.sizes[resolution][aspect_ratio]
        except KeyError:
            raise ValueError(f"no size for {resolution} {aspect_ratio}") from None


@dataclass(frozen=True, eq=False)  # identity: an entry is one file's content, and hashable as such
class CatalogEntry:
    """One endpoint, as its data file says."""

    id: str
    name: str
    description: str
    endpoint: str
    family: str
    mode: str
    order: int
    checked: str
    sources: tuple[str, ...]
    price: Mapping[str, Any]
    input_schema: Mapping[str, Any]
    output: OutputShape
    tier: str = "standard"
    retired: str | None = None
    #: Fact → why it is not settled ("price": "one fal page says …").
    to_confirm: Mapping[str, str] = field(default_factory=dict)
    #: UI hints: ``advanced`` fields, ``image_fields``, ``seconds_as_text``, ``new``, and ``fields``:
    #: per input, how the panel shows it (``label``, ``hint``/``hint_when``, ``placeholder``,
    #: ``inverted``, ``panel_default``; see ``panel/_settings.py``).
    ui: Mapping[str, Any] = field(default_factory=dict)
    inherits_from_source: bool = False
    path: str = ""
    #: What the last catalog refresh found in fal's registry: "active", "deprecated", "gone"
    #: (``None``: never refreshed), the date of that refresh and the unit price fal listed.
    registry_status: str | None = None
    refreshed: str | None = None
    listed: Mapping[str, Any] | None = None
    #: A live model of the same mode to use instead, when this one is retired.
    suggested: str | None = None
    #: The entry as shipped, before a refresh was laid over it (``None``: this is it).
    shipped: CatalogEntry | None = field(default=None, repr=False)

    @property
    def price_source(self) -> str:
        return str(self.price["source"])

    @property
    def price_checked(self) -> str:
        return str(self.price.get("checked", self.checked))

    @property
    def price_unconfirmed(self) -> bool:
        return "price" in self.to_confirm


def _need(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise ValueError(f"{where}: {key} is missing")
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
        raise ValueError(f"{where}: {key} has the wrong type ({type(value).__name__})")
    return value


def _output(data: Mapping[str, Any], where: str) -> OutputShape:
    shape = _need(data, "shape", str, where)
    if shape not in _SHAPES:
        raise ValueError(f"{where}: output.shape must be {' or '.join(_SHAPES)}, got {shape!r}")
    sizes: dict[str, dict[str, tuple[int, int]]] = {}
    for resolution, by_aspect in _need(data, "sizes", dict, where).items():
        sizes[resolution] = {}
        for aspect, wh in by_aspect.items():
            w, h = wh
            if not (isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0 and w % 2 == 0 and h % 2 == 0):
                raise ValueError(f"{where}: output.sizes {resolution} {aspect} must be two even whole numbers")
            sizes[resolution][aspect] = (w, h)
    published = frozenset(data.get("published_sizes", [f"{r} {a}" for r in sizes for a in sizes[r]]))
    return OutputShape(
        shape=shape,
        fps=int(data.get("fps", 24)),
        sizes=sizes,
        published=published,
        resolution=data.get("resolution"),
        auto=dict(data.get("auto", {})),
        extra=dict(data.get("extra", {})),
        reports_size=bool(data.get("reports_size", shape == "sora")),
    )


def parse_entry(data: Mapping[str, Any], where: str = "entry") -> CatalogEntry:
    """A checked entry from one data file's JSON; a ``ValueError`` naming ``where`` and the key otherwise."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: an entry is a JSON object")
    entry_id = _need(data, "id", str, where)
    if not _ID.fullmatch(entry_id):
        raise ValueError(f"{where}: id must be lower case letters, digits and underscores, got {entry_id!r}")
    endpoint = _need(data, "endpoint", str, where)
    if len(endpoint.split("/")) < 2:
        raise ValueError(f"{where}: endpoint must be owner/app[/path], got {endpoint!r}")
    mode = _need(data, "mode", str, where)
    if mode not in _MODES:
        raise ValueError(f"{where}: mode must be {', '.join(_MODES)}, got {mode!r}")
    checked = _need(data, "checked", str, where)
    retired = data.get("retired")
    for name, date in (("checked", checked), ("retired", retired)):
        if date is not None and not _DATE.fullmatch(str(date)):
            raise ValueError(f"{where}: {name} must be a date (YYYY-MM-DD), got {date!r}")
    price = _need(data, "price", dict, where)
    _need(price, "source", str, f"{where}: price")
    schema = _need(data, "input", dict, where)
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        raise ValueError(f"{where}: input must be a JSON Schema object with properties")
    return CatalogEntry(
        id=entry_id,
        name=_need(data, "name", str, where),
        description=str(data.get("description", "")),
        endpoint=endpoint,
        family=_need(data, "family", str, where),
        mode=mode,
        order=int(data.get("order", 1000)),
        checked=checked,
        sources=tuple(data.get("sources", ())),
        price=price,
        input_schema=schema,
        output=_output(_need(data, "output", dict, where), f"{where}: output"),
        tier=str(data.get("tier", "standard")),
        retired=retired,
        to_confirm=dict(data.get("to_confirm", {})),
        ui=dict(data.get("ui", {})),
        inherits_from_source=bool(data.get("inherits_from_source", False)),
        path=where,
    )


def _files() -> Iterator[tuple[str, str]]:
    shipped = resources.files(__package__ or "sora2_widgets.catalog") / "data"
    for item in sorted(shipped.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".json"):
            yield f"catalog/data/{item.name}", item.read_text(encoding="utf-8")
    extra = os.environ.get(CATALOG_DIR_ENV, "").strip()
    if extra:
        folder = Path(extra)
        if not folder.is_dir():
            raise ValueError(f"{CATALOG_DIR_ENV}={extra}: not a folder")
        for path in sorted(folder.glob("*.json")):
            yield str(path), path.read_text(encoding="utf-8")


def load_entries() -> tuple[CatalogEntry, ...]:
    """Every entry in catalog order (``order``, then id), with the stored refresh laid over it.

    Shipped files first, then those of ``$SORA2_WIDGETS_CATALOG_DIR``; ids must be unique. The
    refresh fal's Platform API gave (``sora2-widgets models refresh``) lives in the data directory.
    """
    from .._config import data_dir
    from ._overlay import overlay, read_stored, store_path, with_suggestions

    entries: dict[str, CatalogEntry] = {}
    for where, text in _files():
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"{where}: not JSON ({exc})") from None
        entry = parse_entry(data, where)
        if entry.id in entries:
            raise ValueError(f"{where}: id {entry.id} is already in {entries[entry.id].path}")
        entries[entry.id] = entry
    ordered = sorted(entries.values(), key=lambda e: (e.order, e.id))
    return with_suggestions(overlay(ordered, read_stored(store_path(data_dir()))))
