"""What a catalog refresh changed: fal's facts for one endpoint set against its shipped entry.

Pure. The same readings as :mod:`._overlay` (unit basis, implied price, which fields are kept),
so that what is reported is what is applied, and what is not applied is said.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from .._pricing import format_usd
from ._entry import CatalogEntry
from ._overlay import PRICED_FIELDS, implied_price, plain_field, unit_basis

__all__ = ["Change", "ChangeKind", "differences"]

ChangeKind = Literal[
    "gone", "deprecated", "field_added", "field_removed", "enum_changed", "price_changed", "unit_changed", "unlisted"
]


@dataclass(frozen=True)
class Change:
    """One difference between fal's registry and the shipped catalog, in a sentence."""

    model_id: str
    endpoint: str
    kind: ChangeKind
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"model": self.model_id, "endpoint": self.endpoint, "change": self.kind, "detail": self.detail}


def _values(values: Any) -> str:
    return ", ".join(str(v) for v in values)


def _fields(entry: CatalogEntry, given: Mapping[str, Any]) -> list[tuple[ChangeKind, str]]:
    ours: Mapping[str, Any] = entry.input_schema["properties"]
    theirs: Mapping[str, Any] = given["properties"]
    out: list[tuple[ChangeKind, str]] = []
    for name in theirs:
        if name not in ours:
            later = f"{name} (not accepted until its catalog entry describes it)"
            out.append(("field_added", name if plain_field(theirs[name]) else later))
    for name in ours:
        if name not in theirs:
            kept = name in PRICED_FIELDS or ours[name].get("x-sw-secret")
            out.append(("field_removed", f"{name} (kept: the price or a secret depends on it)" if kept else name))
    for name, prop in ours.items():
        fal = theirs.get(name, {})
        if "enum" in prop and isinstance(fal.get("enum"), list) and fal["enum"] and list(fal["enum"]) != prop["enum"]:
            out.append(("enum_changed", f"{name}: {_values(prop['enum'])} → {_values(fal['enum'])}"))
    return out


def _price(entry: CatalogEntry, facts: Mapping[str, Any]) -> list[tuple[ChangeKind, str]]:
    listed = facts.get("price")
    if not isinstance(listed, dict):
        why = "refused it" if facts.get("price_state") == "refused" else "lists no price for it"
        return [("unlisted", f"fal's pricing {why}; the catalog's price stays")]
    unit_price, unit = Decimal(str(listed["unit_price"])), str(listed["unit"])
    shown = f"{format_usd(unit_price)} per {unit!r}"
    basis = unit_basis(unit)
    ours = implied_price(entry, basis) if basis is not None else None
    if ours is None or ours == 0:
        kind = entry.price["kind"]
        return [("unit_changed", f"fal lists {shown}, a unit the {kind} rule is not in: price unconfirmed")]
    if unit_price.quantize(Decimal("1e-9")) == ours.quantize(Decimal("1e-9")):
        return []
    return [("price_changed", f"{format_usd(ours)} → {shown} (every rate × {(unit_price / ours).normalize():f})")]


def differences(entry: CatalogEntry, facts: Mapping[str, Any], retirement: str = "") -> list[Change]:
    """The changes fal's ``facts`` make to the shipped ``entry`` (``retirement``: the sentence for a gone one)."""
    found: list[tuple[ChangeKind, str]] = []
    status = facts.get("status")
    if status == "gone":
        found.append(("gone", retirement or "fal's registry no longer lists it"))
    else:
        if status == "deprecated":
            found.append(("deprecated", "fal lists it as deprecated"))
        given = facts.get("input")
        if isinstance(given, dict) and isinstance(given.get("properties"), dict):
            found += _fields(entry, given)
        found += _price(entry, facts)
    return [Change(entry.id, entry.endpoint, kind, detail) for kind, detail in found]
