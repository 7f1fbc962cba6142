"""Catalog refresh: fal's Platform API read for the catalog's endpoints, stored, and compared.

``sw.refresh_catalog()`` / ``sora2-widgets models refresh``: the registry (``/models`` with each
endpoint's OpenAPI document, 10 a call) and the listed prices (``/models/pricing``, ≤ 50 ids a
call, a refused batch bisected) come from :class:`~sora2_widgets.PlatformClient`. What fal said is
stored in the data directory (atomically: a reader sees the old refresh or the new one, never half),
laid over the shipped entries (:mod:`._overlay`) and reported against them (:mod:`._diff`).

On fal a refresh needs a key (prices are not public); without one and without a URL it reads the
built-in emulator, as every other command does, and says so.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from .._config import data_dir, resolve_admin_key, resolve_key
from .._errors import ConfigError
from ._diff import Change, differences
from ._overlay import STORE_VERSION, store_path

if TYPE_CHECKING:
    from ..client._platform_models import ModelInfo, Pricing
    from ..client._target import EmulatorLike

__all__ = ["RefreshReport", "refresh_catalog"]

#: How deep ``$ref``s inside one input schema are followed (a self-referencing schema stops there).
_MAX_DEPTH = 8


@dataclass(frozen=True)
class RefreshReport:
    """What a refresh read, where it stored it, and every difference from the shipped catalog."""

    provider: str
    url: str
    refreshed_at: str
    path: Path
    endpoints: int
    changes: tuple[Change, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "url": self.url,
            "refreshed_at": self.refreshed_at,
            "stored": str(self.path),
            "endpoints": self.endpoints,
            "changes": [c.to_json() for c in self.changes],
        }

    def lines(self) -> list[str]:
        """The report as plain text: a heading, then one line per change (model, what, detail)."""
        where = "the built-in emulator (simulated)" if self.provider == "emulator" else self.url
        head = [
            f"Catalog refreshed from {where} at {self.refreshed_at}: {self.endpoints} endpoints read, "
            f"stored in {self.path}."
        ]
        if not self.changes:
            return [*head, "No differences from the shipped catalog."]
        width = max(len(c.model_id) for c in self.changes)
        kind = max(len(c.kind) for c in self.changes)
        rows = [f"{c.model_id.ljust(width)}  {c.kind.replace('_', ' ').ljust(kind)}  {c.detail}" for c in self.changes]
        return [*head, f"{len(self.changes)} differences from the shipped catalog:", *rows]


def _resolve(node: Any, components: Mapping[str, Any], depth: int = 0) -> Any:
    # A stored fact must stand alone: fal's documents point into their own components.
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/") and depth < _MAX_DEPTH:
            target = components.get(ref.rsplit("/", 1)[-1], {})
            return _resolve({**target, **{k: v for k, v in node.items() if k != "$ref"}}, components, depth + 1)
        return {k: _resolve(v, components, depth) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, components, depth) for v in node]
    return node


def _input_of(endpoint: str, document: Mapping[str, Any]) -> dict[str, Any] | None:
    """The input schema in an endpoint's queue OpenAPI document (``paths["/<endpoint>"].post``)."""
    try:
        body = document["paths"][f"/{endpoint}"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        components = document.get("components", {}).get("schemas", {})
        schema = _resolve(body, components)
    except (KeyError, TypeError, AttributeError):
        return None
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict):
        return None
    return {"properties": props, "required": list(schema.get("required", []))}


def _facts(endpoint: str, info: ModelInfo, pricing: Pricing) -> dict[str, Any]:
    price = pricing.prices.get(endpoint)
    state = "listed" if price else "refused" if endpoint in pricing.refused else "unlisted"
    schema = _input_of(endpoint, info.openapi) if info.openapi else None
    return {
        "status": info.status,
        "input": schema,
        "input_error": info.openapi_error if schema is None and info.status != "gone" else None,
        "price": (
            {"unit_price": str(price.unit_price), "unit": price.unit, "currency": price.currency} if price else None
        ),
        "price_state": state,
    }


def _write_atomically(path: Path, payload: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(payload, out, ensure_ascii=False, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def refresh_catalog(
    key: str | SecretStr | None = None,
    *,
    platform_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    emulator: EmulatorLike | None = None,
) -> RefreshReport:
    """Read fal's registry and prices for every catalog endpoint, store them, and report the differences.

    From the next call on, validation, ``estimate_cost`` and the panel's model lists use the
    refreshed facts. ``key`` defaults to ``FAL_KEY``; ``platform_url`` to
    ``SORA2_WIDGETS_PLATFORM_URL`` or fal's. A bad URL or key, or no key for fal, is refused
    before any request.
    """
    from .._catalog import MODELS, get_model, reload_catalog
    from ..client._platform_models import Pricing
    from ..client._platform_sync import PlatformClient

    client = PlatformClient(key, platform_url=platform_url, transport=transport, emulator=emulator)
    try:
        if client.provider == "fal" and resolve_key(key) is None and resolve_admin_key(None) is None:
            raise ConfigError(
                "FAL_KEY", "is not set: fal lists prices only to a key, so a catalog refresh on fal needs one"
            )
        shipped = [m.entry.shipped or m.entry for m in MODELS]
        endpoints = [e.endpoint for e in shipped]
        infos = client.models(endpoints, openapi=True)
        live = [ep for ep in endpoints if infos[ep].status != "gone"]
        # A gone id is left out: fal may refuse a whole batch over one id it does not know.
        pricing = client.pricing(live) if live else Pricing({}, (), ())
        url, provider = client.url, client.provider
    finally:
        client.close()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    stamp = now.isoformat().replace("+00:00", "Z")
    facts = {ep: _facts(ep, infos[ep], pricing) for ep in endpoints}
    payload = {
        "version": STORE_VERSION,
        "refreshed_at": stamp,
        "date": now.date().isoformat(),
        "provider": provider,
        "url": url,
        "endpoints": facts,
    }
    path = store_path(data_dir())
    _write_atomically(path, payload)
    reload_catalog()
    changes = [c for e in shipped for c in differences(e, facts[e.endpoint], get_model(e.id).retirement)]
    return RefreshReport(provider, url, stamp, path, len(endpoints), tuple(changes))
