"""A stored catalog refresh laid over the shipped entries: what fal's Platform API said, applied.

The refresh (:mod:`._refresh`) stores fal's facts per endpoint: registry status, the input
fields of its OpenAPI document and the listed unit price. Here they become entries again:

* a changed ``enum`` replaces ours (validation, the panel's choices and the price follow);
* a field fal added is accepted when its schema is a plain one we can check; one fal removed is
  dropped, unless the price rule reads it (the price would lose its footing: kept and reported);
* a listed price in a unit one of our rule kinds is written in scales that rule (fal: "proportional
  adjustments for resolution/length"); any other unit leaves the rule and marks it unconfirmed;
* an endpoint fal no longer knows is retired (its history stays) with a live model suggested.

Pure: no I/O. :func:`read_stored` is the only reader of the file, :mod:`._refresh` its only writer.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .._pricing import Billed, rule_from_data, seconds_of
from ._entry import CatalogEntry

__all__ = [
    "PRICED_FIELDS",
    "STORE_NAME",
    "implied_price",
    "overlay",
    "plain_field",
    "read_stored",
    "scaled_price",
    "store_path",
    "unit_basis",
    "with_suggestions",
]

#: The file a refresh is stored in, inside the data directory.
STORE_NAME = "catalog_refresh.json"
STORE_VERSION = 1
#: Inputs a price rule reads: never dropped by a refresh, whatever fal's schema says.
PRICED_FIELDS = frozenset({"duration", "resolution", "aspect_ratio", "generate_audio", "multi_prompt"})
#: Field types a refreshed-in field may have: the ones the input builder checks without more hints.
_PLAIN_TYPES = frozenset({"string", "integer", "number", "boolean"})
#: fal's unit labels are free-form ("seconds", "video", "1k tokens", "compute seconds", "units",
#: ""). Only these read as a basis one of our rule kinds is written in; anything else is not guessed.
_SECONDS = frozenset({"second", "seconds", "s", "sec", "secs", "video second", "video seconds", "output seconds"})
_VIDEOS = frozenset({"video", "videos", "per video"})
_KILOTOKENS = frozenset({"1k tokens", "1000 tokens", "1,000 tokens", "thousand tokens"})
#: The rule kinds each basis can price, and the amount keys of each kind (scaled together).
_KINDS_FOR = {
    "second": frozenset({"per_second", "base_plus_per_second", "per_token", "remix_by_source"}),
    "video": frozenset({"flat"}),
    "ktokens": frozenset({"per_token"}),
}
_AMOUNTS = {
    "base_plus_per_second": ("base", "per_extra_second"),
    "flat": ("usd",),
    "per_token": ("usd_per_1000_tokens",),
    "remix_by_source": ("usd_per_second",),
}
_PLACES = Decimal("1e-9")
#: What a refreshed-in field keeps of fal's schema: what the input builder reads.
_KEPT_KEYS = ("type", "enum", "default", "description", "minimum", "maximum")


def store_path(data_dir: Path) -> Path:
    return data_dir / STORE_NAME


def read_stored(path: Path) -> Mapping[str, Any] | None:
    """The stored refresh, or ``None`` when there is none (or it cannot be read: said in a warning).

    A broken file must not stop the package from importing (``models refresh`` is how it is fixed),
    and must not half-apply either: it is ignored whole, and the warning names it.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        why = f"{path}: the catalog refresh cannot be read ({exc.strerror}); using the shipped catalog"
        warnings.warn(why, stacklevel=2)
        return None
    try:
        data = json.loads(text)
        ok = isinstance(data, dict) and data.get("version") == STORE_VERSION and isinstance(data.get("endpoints"), dict)
    except ValueError:
        ok = False
    if not ok:
        warnings.warn(
            f"{path}: not a catalog refresh this version writes; using the shipped catalog "
            "(run `sora2-widgets models refresh` again)",
            stacklevel=2,
        )
        return None
    return data  # type: ignore[no-any-return]


def unit_basis(unit: str) -> str | None:
    """``"second"``, ``"video"`` or ``"ktokens"`` for a unit label our rules are written in; else ``None``."""
    label = " ".join(unit.strip().lower().split())
    if label in _SECONDS:
        return "second"
    if label in _VIDEOS:
        return "video"
    if label in _KILOTOKENS:
        return "ktokens"
    return None


def _durations(entry: CatalogEntry) -> list[int]:
    if entry.inherits_from_source:
        return [4, 8, 12, 16, 20]
    values = entry.input_schema["properties"].get("duration", {}).get("enum", ())
    out = []
    for value in values:
        try:
            out.append(seconds_of(value))
        except ValueError:  # "auto": the service picks; no price of its own
            continue
    return out or [1]


def implied_price(entry: CatalogEntry, basis: str) -> Decimal | None:
    """The one unit price fal would list for our rule in ``basis``; ``None`` when the kind does not fit.

    Per second: the cheapest silent second at any offered duration and resolution (a token price at
    1280x720, the size fal publishes), as fal lists one base price with proportional adjustments.
    """
    kind = entry.price.get("kind")
    if kind not in _KINDS_FOR.get(basis, frozenset()):
        return None
    if basis == "video":
        return Decimal(str(entry.price["usd"]))
    if basis == "ktokens":
        return Decimal(str(entry.price["usd_per_1000_tokens"]))
    rule = rule_from_data(entry.price)
    resolutions = entry.input_schema["properties"].get("resolution", {}).get("enum") or [entry.output.resolution]
    rates = []
    for seconds in _durations(entry):
        for res in resolutions:
            try:
                rates.append(rule.cost(Billed(Decimal(seconds), res, False, 1280, 720)) / seconds)
            except ValueError:  # "auto", or a resolution the rule has no row for
                continue
    return min(rates) if rates else None


def _amount(value: Decimal) -> str:
    return f"{value.quantize(_PLACES).normalize():f}"


def scaled_price(price: Mapping[str, Any], factor: Decimal) -> dict[str, Any]:
    """``price`` with every amount multiplied by ``factor`` (the rule's shape, rows and reads kept)."""
    out = json.loads(json.dumps(price))
    if out["kind"] == "per_second":
        for rate in out["rates"]:
            rate["usd"] = _amount(Decimal(str(rate["usd"])) * factor)
    for key in _AMOUNTS.get(out["kind"], ()):
        out[key] = _amount(Decimal(str(out[key])) * factor)
    return dict(out)


def _listed(facts: Mapping[str, Any]) -> tuple[Decimal, str] | None:
    price = facts.get("price")
    if not isinstance(price, dict):
        return None
    try:
        return Decimal(str(price["unit_price"])), str(price["unit"])
    except (KeyError, InvalidOperation):
        return None


def plain_field(prop: Mapping[str, Any]) -> bool:
    return prop.get("type") in _PLAIN_TYPES or (
        "enum" in prop and len({type(v) for v in prop["enum"]}) == 1 and "type" not in prop
    )


def _inputs(entry: CatalogEntry, facts: Mapping[str, Any]) -> dict[str, Any]:
    schema = json.loads(json.dumps(entry.input_schema))
    given = facts.get("input")
    if not isinstance(given, dict) or not isinstance(given.get("properties"), dict):
        return dict(schema)
    theirs: Mapping[str, Any] = given["properties"]
    props: dict[str, Any] = schema["properties"]
    for name, prop in list(props.items()):
        fal = theirs.get(name)
        if fal is None:
            if name not in PRICED_FIELDS and not prop.get("x-sw-secret"):
                del props[name]
                schema["required"] = [r for r in schema.get("required", ()) if r != name]
            continue
        if "enum" in prop and isinstance(fal.get("enum"), list) and fal["enum"] and list(fal["enum"]) != prop["enum"]:
            prop["enum"] = list(fal["enum"])
            if "default" in fal and fal["default"] in fal["enum"]:
                prop["default"] = fal["default"]
            elif prop.get("default") not in fal["enum"]:
                prop.pop("default", None)  # a default fal no longer offers would be sent and refused
    for name, fal in theirs.items():
        if name not in props and isinstance(fal, dict) and plain_field(fal):
            props[name] = {k: fal[k] for k in _KEPT_KEYS if k in fal}
    return dict(schema)


def _priced(
    entry: CatalogEntry, facts: Mapping[str, Any], date: str, real: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    price, to_confirm = dict(entry.price), dict(entry.to_confirm)
    listed = _listed(facts)
    if listed is None:
        return price, to_confirm
    unit_price, unit = listed
    basis = unit_basis(unit)
    ours = implied_price(entry, basis) if basis is not None else None
    if ours is None or ours == 0:
        to_confirm["price"] = (
            f"fal lists {unit_price} USD per {unit!r}, a unit our {price['kind']} rule is not written in; "
            "the catalog's rule is shown until it is checked"
        )
        return price, to_confirm
    if unit_price.quantize(_PLACES) != ours.quantize(_PLACES):
        price = scaled_price(price, unit_price / ours)
    price["checked"] = date
    if real:
        price["source"] = "fal Platform API /v1/models/pricing"
        # fal's own listing settles a doubt between other sources; the emulator's cannot.
        to_confirm.pop("price", None)
    else:
        price["source"] = "the emulator's Platform API (simulated)"
    return price, to_confirm


def overlay(entries: Sequence[CatalogEntry], stored: Mapping[str, Any] | None) -> tuple[CatalogEntry, ...]:
    """``entries`` with the stored refresh applied (each keeps its shipped self in ``shipped``)."""
    if not stored:
        return tuple(entries)
    by_endpoint: Mapping[str, Any] = stored["endpoints"]
    date = str(stored.get("date", ""))[:10]
    real = stored.get("provider") == "fal"
    out = []
    for entry in entries:
        facts = by_endpoint.get(entry.endpoint)
        if not isinstance(facts, dict):
            out.append(entry)
            continue
        status = str(facts.get("status"))
        price, to_confirm = _priced(entry, facts, date, real) if status != "gone" else (entry.price, entry.to_confirm)
        out.append(
            dataclasses.replace(
                entry,
                input_schema=_inputs(entry, facts) if status != "gone" else entry.input_schema,
                price=price,
                to_confirm=to_confirm,
                retired=entry.retired or (date if status == "gone" else None),
                registry_status=status if status in ("active", "deprecated", "gone") else None,
                refreshed=date,
                listed=dict(facts["price"]) if isinstance(facts.get("price"), dict) else None,
                shipped=entry,
            )
        )
    return tuple(out)


def with_suggestions(entries: Sequence[CatalogEntry]) -> tuple[CatalogEntry, ...]:
    """Each retired entry with the first live model of its mode (catalog order) as its suggestion."""
    live = [e for e in entries if not e.retired and e.registry_status != "deprecated"]
    out = []
    for entry in entries:
        if entry.retired:
            same = [e for e in live if e.mode == entry.mode]
            # Today's models before last year's (Sora 2 Pro → Kling 3.0 Pro, not Kling 2.5 Turbo
            # Pro), and within that a like-for-like tier (Pro for Pro); catalog order breaks ties.
            ranked = sorted(same, key=lambda e: (not e.ui.get("new"), e.tier != entry.tier))
            pick = ranked[0] if ranked else None
            entry = dataclasses.replace(entry, suggested=pick.id if pick else None)
        out.append(entry)
    return tuple(out)
