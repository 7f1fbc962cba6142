"""The settings the ticked models take, derived from their catalog entries' input JSON Schemas.

No model is named here: a setting's widget kind, its values, its default and whether it sits
behind "Advanced" all come from the entry (``enum`` → a menu, ``boolean`` → a checkbox, a number
with both bounds → a slider, any other number → a number box, text → a text box, a list of shot
objects → one shot per line, a list of strings → a comma list). Every family's settings, Sora's
included, are laid out here.

What needs more than the schema says is data in the entry's ``ui.fields`` (per input), read the
same way for every model:

* ``label`` — what the panel calls it ("Snapshot" for Sora's ``model``).
* ``hint`` — one line shown beside it; with ``hint_when`` only while that value is offered
  (Sora's "auto" resolution, priced as a range).
* ``placeholder`` — the empty text box's prompt ("up to 2 character ids, comma separated").
* ``inverted`` — a checkbox that shows the opposite of the input: Sora's ``delete_video`` is
  "Keep for remix", ticked when ``delete_video`` is false.
* ``panel_default`` — the value the panel starts on where it differs from the service's default:
  ``delete_video`` false, so a video stays remixable unless the user unticks the box (fal's
  default deletes it after delivery, which no later click can undo).

A menu with a single value (Sora 2's one resolution) offers no choice and is not shown; the service
uses that value anyway.

Grouping (issue 12):

* A setting that every ticked model takes, across more than one family, and whose values they
  all accept overlap, appears **once** ("All selected models"), offering only the values every one
  of them accepts: one value is sent to all of them, so a value one of them refuses is never offered.
* Anything else is grouped under its **family** ("Veo", "Kling", …) and sent to that family's
  ticked models only. Within a family the same intersection rule holds; if even a family's
  models share no value, each model gets its own group rather than an empty menu.

Each setting starts on the entry's default, with one exception: a ``duration`` whose default is
``"auto"`` starts on 5 s (or the shortest fixed length), so the cost label shows a figure rather
than a range up to the longest video; "auto" stays one click away.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .._catalog import ModelSpec, get_model
from .._schemas import format_choices

__all__ = [
    "ADVANCED_ALWAYS",
    "SHARED",
    "Field",
    "Group",
    "layout_for",
    "parse_value",
]

Kind = Literal["choice", "toggle", "slider", "number", "text", "shots", "list"]

#: The group key of settings every ticked model shares.
SHARED = "shared"
#: Fields that sit behind "Advanced" even when an entry does not list them in ``ui.advanced``:
#: they tune a result rather than say what it is.
ADVANCED_ALWAYS = frozenset(
    {"seed", "negative_prompt", "cfg_scale", "safety_tolerance", "multi_prompt", "shot_type", "auto_fix"}
)
#: Inputs that are not settings: the prompt box, the source video and keys have their own places.
_NOT_SETTINGS = frozenset({"prompt", "video_id"})
#: What the label says where the field name alone reads badly.
_LABELS = {"generate_audio": "Audio", "cfg_scale": "CFG scale", "negative_prompt": "Avoid", "multi_prompt": "Shots"}


@dataclass(frozen=True)
class Field:
    """One setting as the panel shows it, and the models its value is sent to."""

    key: str  # "<group>:<name>": where the form keeps its value
    name: str  # the input's name in the request
    group: str
    kind: Kind
    label: str
    description: str
    options: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    default: Any = None
    advanced: bool = False
    models: tuple[str, ...] = ()
    #: Choice values that are seconds as text ("5", "8s") get an " s" in their label.
    seconds: bool = False
    #: Text: the fewest characters any taker's ``maxLength`` allows.
    max_length: int | None = None
    #: From the entries' ``ui.fields`` (see the module notes).
    hint: str = ""
    hint_when: Any = None
    placeholder: str = ""
    inverted: bool = False

    @property
    def shows_hint(self) -> bool:
        return bool(self.hint) and (self.hint_when is None or self.hint_when in self.options)

    def option_label(self, value: Any) -> str:
        if self.seconds and str(value)[:1].isdigit():
            return f"{str(value).removesuffix('s')} s"
        return str(value)

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is one this field can hold as is (no coercion: ``True`` is not ``1``)."""
        if self.kind == "choice":
            return any(value == o and type(value) is type(o) for o in self.options)
        if self.kind == "toggle":
            return isinstance(value, bool)
        if self.kind == "slider":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
                return False
            lo = -math.inf if self.minimum is None else self.minimum
            hi = math.inf if self.maximum is None else self.maximum
            return lo <= value <= hi and (not self.integer or float(value).is_integer())
        return isinstance(value, str)  # number, text, shots, list: kept as typed, parsed when sent


@dataclass(frozen=True)
class Group:
    key: str
    title: str
    fields: tuple[Field, ...]

    @property
    def basic(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if not f.advanced)

    @property
    def advanced(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.advanced)


def _kind(prop: Mapping[str, Any]) -> Kind | None:
    if "enum" in prop:
        return "choice"
    kind = prop.get("type")
    if kind == "boolean":
        return "toggle"
    if kind in ("integer", "number"):
        return "slider" if "minimum" in prop and "maximum" in prop else "number"
    if kind == "string":
        return "text"
    if kind == "array":
        items = prop.get("items", {})
        if items.get("type") == "object" and "prompt" in items.get("properties", {}):
            return "shots"
        if items.get("type") == "string":
            return "list"
    return None  # a shape the panel has no widget for: left to Python and the CLI


def _settings_of(spec: ModelSpec) -> dict[str, tuple[Kind, Mapping[str, Any]]]:
    props: Mapping[str, Mapping[str, Any]] = spec.entry.input_schema["properties"]
    skip = _NOT_SETTINGS | set(spec.image_fields) | spec.secret_fields
    required = set(spec.entry.input_schema.get("required", ()))
    out: dict[str, tuple[Kind, Mapping[str, Any]]] = {}
    for name, prop in props.items():
        kind = _kind(prop)
        no_choice = kind == "choice" and len(prop["enum"]) == 1 and name not in required
        if name not in skip and kind is not None and not no_choice:
            out[name] = (kind, prop)
    return out


def _hints(name: str, takers: Sequence[ModelSpec]) -> dict[str, Any]:
    """The entries' ``ui.fields`` hints for ``name``: the first taker's that has each one."""
    out: dict[str, Any] = {}
    for spec in takers:
        for key, value in spec.entry.ui.get("fields", {}).get(name, {}).items():
            out.setdefault(key, value)
    return out


def _merge(
    name: str, group: str, takers: Sequence[ModelSpec], settings: Mapping[str, Mapping[str, Any]]
) -> Field | None:
    """One field for ``takers`` (all of which take ``name``), or ``None`` when they cannot share one."""
    kinds = {settings[s.id][name][0] for s in takers}
    props = [settings[s.id][name][1] for s in takers]
    if len(kinds) != 1:
        return None
    kind = kinds.pop()
    first = props[0]
    options: tuple[Any, ...] = ()
    lo = hi = None
    if kind == "choice":
        options = tuple(v for v in first["enum"] if all(v in p["enum"] for p in props[1:]))
        if not options:
            return None
    elif kind == "slider":
        lo, hi = max(float(p["minimum"]) for p in props), min(float(p["maximum"]) for p in props)
        if lo > hi:
            return None
    hints = _hints(name, takers)
    default = (
        hints["panel_default"]
        if "panel_default" in hints
        else next((p["default"] for p in props if "default" in p), None)
    )
    inverted = kind == "toggle" and bool(hints.get("inverted"))
    if inverted and isinstance(default, bool):
        default = not default  # the box shows the opposite of the input ("Keep for remix")
    if kind == "choice" and name == "duration" and default == "auto":
        # An "auto" length is priced as a range up to the longest video (Seedance: 15 s, ~$6, over
        # the confirmation threshold); the panel starts on a fixed length, "auto" stays offered.
        fixed = [v for v in options if v != "auto"]
        default = next((v for v in fixed if str(v).removesuffix("s") == "5"), fixed[0] if fixed else default)
    if kind == "choice" and default not in options:
        default = options[0]
    elif kind == "toggle" and not isinstance(default, bool):
        default = False
    elif kind == "slider" and (default is None or not lo <= default <= hi):
        default = lo
    elif kind in ("number", "text", "shots", "list"):
        # Text is sent to every taker: one model's default ("blur, distort…") is not another's.
        same = all(p.get("default") == first.get("default") for p in props)
        default = "" if default is None or not same or kind in ("shots", "list") else str(default)
    advanced = any(name in s.entry.ui.get("advanced", ()) for s in takers) or name in ADVANCED_ALWAYS
    seconds = any(name in s.entry.ui.get("seconds_as_text", ()) for s in takers) or (
        name == "duration" and kind == "choice"
    )
    return Field(
        key=f"{group}:{name}",
        name=name,
        group=group,
        kind=kind,
        label=str(hints.get("label") or _LABELS.get(name, name.replace("_", " ").capitalize())),
        description=str(first.get("description", "")),
        options=options,
        minimum=lo,
        maximum=hi,
        integer=all(p.get("type") == "integer" for p in props),
        default=default,
        advanced=advanced,
        models=tuple(s.id for s in takers),
        seconds=seconds,
        max_length=min((int(p["maxLength"]) for p in props if "maxLength" in p), default=None),
        hint=str(hints.get("hint", "")),
        hint_when=hints.get("hint_when"),
        placeholder=str(hints.get("placeholder", "")),
        inverted=inverted,
    )


def _family_title(family: str) -> str:
    return family[:1].upper() + family[1:]


@functools.lru_cache(maxsize=256)  # the cost label asks on every change: one layout per selection
def layout_for(model_ids: tuple[str, ...]) -> tuple[Group, ...]:
    """The settings groups of these models: shared ones first, then one per family."""
    specs = [get_model(m) for m in model_ids]
    settings = {s.id: {n: kp for n, kp in _settings_of(s).items()} for s in specs}
    names: list[str] = []
    for s in specs:
        after = -1  # a name the first models lack goes after its neighbour in this model's order
        for n in settings[s.id]:
            if n not in names:
                names.insert(after + 1, n)
            after = names.index(n)
    shared: list[Field] = []
    by_group: dict[str, tuple[str, list[Field]]] = {}
    for name in names:
        takers = [s for s in specs if name in settings[s.id]]
        families = list(dict.fromkeys(s.family for s in takers))
        if len(takers) == len(specs) and len(families) > 1:
            merged = _merge(name, SHARED, takers, settings)
            if merged is not None:
                shared.append(merged)
                continue
        for family in families:
            members = [s for s in takers if s.family == family]
            merged = _merge(name, family, members, settings)
            if merged is not None:
                by_group.setdefault(family, (_family_title(family), []))[1].append(merged)
                continue
            for s in members:  # the family's models share no value: one group each
                alone = _merge(name, s.id, [s], settings)
                if alone is not None:
                    by_group.setdefault(s.id, (s.name, []))[1].append(alone)
    groups = [Group(SHARED, "All selected models", tuple(shared))] if shared else []
    groups += [Group(key, title, tuple(fields)) for key, (title, fields) in by_group.items()]
    return tuple(groups)


def parse_value(field: Field, value: Any) -> Any:
    """What ``value`` (as the form holds it) sends; ``None``: nothing (the service's default).

    Raises ``ValueError`` with one sentence naming the setting and what it takes.
    """
    if field.kind in ("choice", "toggle", "slider"):
        if not field.accepts(value):
            raise ValueError(_bad(field, value))
        if field.inverted:
            return not value
        return int(value) if field.kind == "slider" and field.integer else value
    text = str(value).strip()
    if not text:
        return None
    if field.kind == "number":
        try:
            number: int | float = int(text) if field.integer else float(text)
        except ValueError:
            raise ValueError(_bad(field, text)) from None
        if isinstance(number, float) and not math.isfinite(number):
            raise ValueError(_bad(field, text))
        return number
    if field.kind == "list":
        return [part.strip() for part in text.split(",") if part.strip()]
    if field.kind == "shots":
        return parse_shots(text, field.label)
    if field.max_length is not None and len(str(value)) > field.max_length:
        return _too_long(field, str(value))
    return str(value)


def _too_long(field: Field, value: str) -> Any:
    raise ValueError(f"{field.label} takes at most {field.max_length} characters, got {len(value)}")


def parse_shots(text: str, label: str = "Shots") -> list[dict[str, Any]]:
    """Shots, one per line: ``<seconds> | <prompt>`` (or just ``<prompt>``), or a JSON list of objects.

    The seconds stay text (``"5"``), as the schema types them; the catalog checks the rest.
    """
    stripped = text.strip()
    if stripped.startswith("["):
        wrong = f"{label} must be a JSON list of {{prompt, duration}} objects or one shot per line"
        try:
            shots = json.loads(stripped)
        except ValueError:
            raise ValueError(wrong) from None
        if not isinstance(shots, list) or not all(isinstance(s, dict) for s in shots):
            raise ValueError(wrong)
        return shots
    out: list[dict[str, Any]] = []
    for line in (ln.strip() for ln in stripped.splitlines()):
        if not line:
            continue
        seconds, sep, prompt = line.partition("|")
        if not sep:
            out.append({"prompt": line})
            continue
        seconds = seconds.strip().removesuffix("s").strip()
        if not seconds.isdigit():
            raise ValueError(f"{label}: each line is '<seconds> | <prompt>', got {line[:40]!r}")
        out.append({"prompt": prompt.strip(), "duration": seconds})
    return out


def _bad(field: Field, value: Any) -> str:
    shown = repr(value)[:40]
    if field.kind == "choice":
        return f"{field.label} must be one of {format_choices(field.options)}, got {shown}"
    if field.kind == "toggle":
        return f"{field.label} must be on or off (True or False), got {shown}"
    if field.kind == "slider":
        whole = "a whole number" if field.integer else "a number"
        return f"{field.label} must be {whole} from {field.minimum:g} to {field.maximum:g}, got {shown}"
    whole = "a whole number" if field.integer else "a number"
    return f"{field.label} must be {whole} (or empty for the service's default), got {shown}"
