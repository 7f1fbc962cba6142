"""An entry's input JSON Schema → a pydantic :class:`~sora2_widgets._schemas.ModelInput` subclass.

Built on first use and cached (``functools.cache``): ``import sora2_widgets`` reads the data
files, never builds a model. Every rule the schema states becomes a rule of the model, with the
base's one-sentence errors: ``enum`` (the allowed values, in order), ``minimum``/``maximum``,
``maxLength`` (the prompt limit for ``prompt``), ``required``, ``default``, ``minItems``/
``maxItems``; and our extensions, each named ``x-sw-…``: ``x-sw-secret`` (a key, never shown),
``x-sw-exclusive`` and ``x-sw-one-required`` (groups of fields), ``x-sw-max-total-seconds``
(a list of shots), ``x-sw-item-noun`` (how a message counts list items).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from typing import Any, ClassVar

import pydantic
from pydantic import Field, SecretStr
from pydantic_core import PydanticCustomError

from .._schemas import ModelInput
from ._entry import CatalogEntry

__all__ = ["input_model_for"]

_SCALARS: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool}


class _ListRules(ModelInput):
    """Lists of text: how many items, and never an empty one (a blank id is no id)."""

    #: List fields → the word for their items in a message ("ids").
    ITEM_NOUN: ClassVar[Mapping[str, str]] = {}
    #: Text fields that must hold something besides spaces (``minLength`` ≥ 1).
    NOT_BLANK: ClassVar[frozenset[str]] = frozenset()

    @pydantic.field_validator("*", mode="after")
    @classmethod
    def _check_list(cls, value: Any, info: pydantic.ValidationInfo) -> Any:
        name = info.field_name or ""
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            noun = cls.ITEM_NOUN.get(name, "items")
            _, high = cls.ITEM_COUNTS.get(name, (0, len(value)))
            if len(value) > high:
                raise _error(
                    "too_many_items",
                    f"{{field}} takes at most {{high}} {noun}, got {{n}}",
                    name,
                    high=high,
                    n=len(value),
                )
            if any(not v.strip() for v in value):
                raise _error("item_empty", f"{{field}} must not contain empty {noun}", name)
        elif name in cls.NOT_BLANK and isinstance(value, str) and not value.strip():
            raise _error("text_empty", "{field} must not be empty", name)
        return value


def _error(kind: str, template: str, name: str, **ctx: Any) -> PydanticCustomError:
    return PydanticCustomError(kind, template, {"field": name, **ctx})


def _annotation(name: str, prop: Mapping[str, Any], owner: str, entry: CatalogEntry) -> Any:
    kind = prop.get("type")
    if prop.get("x-sw-secret"):
        return SecretStr
    if kind == "array":
        items = prop.get("items", {})
        if items.get("type") == "object":
            return list[_build(entry, items, f"{owner}_{name}", item_of=name)]  # type: ignore[misc]
        if items.get("type") == "string":
            return list[str]
        raise ValueError(f"{entry.path}: {name}: only lists of text or of objects are supported")
    if kind in _SCALARS:
        return _SCALARS[kind]
    if "enum" in prop:  # an enum without a type: its values' type
        types = {type(v) for v in prop["enum"]}
        if len(types) == 1:
            return types.pop()
    raise ValueError(f"{entry.path}: {name}: unsupported type {kind!r}")


def _build(
    entry: CatalogEntry, schema: Mapping[str, Any], class_name: str, *, item_of: str | None = None
) -> type[ModelInput]:
    props: Mapping[str, Mapping[str, Any]] = schema["properties"]
    required = set(schema.get("required", ()))
    ui = entry.ui
    allowed: dict[str, tuple[Any, ...]] = {}
    counts: dict[str, tuple[int, int]] = {}
    totals: dict[str, int] = {}
    nouns: dict[str, str] = {}
    fields: dict[str, Any] = {}
    prompt_limit: int | None = None
    for name, prop in props.items():
        annotation = _annotation(name, prop, class_name, entry)
        if "enum" in prop:
            allowed[name] = tuple(prop["enum"])
        if "minItems" in prop or "maxItems" in prop:
            counts[name] = (int(prop.get("minItems", 0)), int(prop.get("maxItems", 10**6)))
        if "x-sw-max-total-seconds" in prop:
            totals[name] = int(prop["x-sw-max-total-seconds"])
        if "x-sw-item-noun" in prop:
            nouns[name] = str(prop["x-sw-item-noun"])
        limits: dict[str, Any] = {}
        if "minimum" in prop:
            limits["ge"] = prop["minimum"]
        if "maximum" in prop:
            limits["le"] = prop["maximum"]
        if "maxLength" in prop:
            if name == "prompt":
                prompt_limit = int(prop["maxLength"])  # the prompt's own message counts characters
            else:
                limits["max_length"] = int(prop["maxLength"])
        info: dict[str, Any] = {"description": prop.get("description"), **limits}
        if name in required:
            fields[name] = (annotation, Field(**info))
        elif "default" in prop:
            fields[name] = (annotation, Field(default=prop["default"], **info))
        else:
            # No default of the service's to fill in: None is "not given" (left out of the request).
            fields[name] = (annotation | None, Field(default=None, **info))
    image_fields = frozenset(ui.get("image_fields", ())) & set(props)
    seconds_as_text = frozenset(ui.get("seconds_as_text", ())) & set(props)
    not_blank = frozenset(n for n, p in props.items() if p.get("minLength", 0) >= 1 and n != "prompt")
    namespace: dict[str, Any] = {
        "__module__": __name__,
        "MODEL_NAME": entry.name,
        "ALLOWED": allowed,
        "PROMPT_LIMIT": prompt_limit if item_of is None else _prompt_limit_of(entry),
        "SECRET_FIELDS": frozenset(n for n, p in props.items() if p.get("x-sw-secret")),
        "SECONDS_AS_TEXT": seconds_as_text,
        "IMAGE_FIELDS": image_fields,
        "MULTILINE_FIELDS": frozenset({"prompt", "negative_prompt"}),
        "EXCLUSIVE": tuple(tuple(g) for g in schema.get("x-sw-exclusive", ())),
        "ONE_REQUIRED": tuple(tuple(g) for g in schema.get("x-sw-one-required", ())),
        "ITEM_COUNTS": counts,
        "MAX_TOTAL_SECONDS": totals,
        "ITEM_NOUN": nouns,
        "NOT_BLANK": not_blank,
    }
    rules = type(f"_{class_name}Rules", (_ListRules,), namespace)
    model: type[ModelInput] = pydantic.create_model(class_name, __base__=rules, __module__=__name__, **fields)
    return model


def _prompt_limit_of(entry: CatalogEntry) -> int | None:
    prompt = entry.input_schema["properties"].get("prompt", {})
    return int(prompt["maxLength"]) if "maxLength" in prompt else None


_BUILT: weakref.WeakKeyDictionary[CatalogEntry, type[ModelInput]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def input_model_for(entry: CatalogEntry) -> type[ModelInput]:
    """The pydantic input model of ``entry``, built from its JSON Schema the first time it is asked for."""
    model = _BUILT.get(entry)
    if model is None:
        with _LOCK:  # the panel's loop thread and a notebook cell may ask at once: one class per entry
            model = _BUILT.get(entry)
            if model is None:
                class_name = "".join(part.title() for part in entry.id.split("_")) + "Input"
                model = _BUILT[entry] = _build(entry, entry.input_schema, class_name)
    return model
