"""The base of every endpoint's input model: strict types, fal's rules, one-sentence refusals.

Pure: no I/O. The per-endpoint models are built from the catalog's data (each entry's JSON
Schema, :mod:`sora2_widgets.catalog._build`) on top of :class:`ModelInput`, and validate in the
client (before any money is spent), in the emulator (to answer 422 exactly like the service) and
drive the panel's choices, so a rule lives in one place only.

Allowed values are class data (``ALLOWED``) rather than ``Literal`` types so that a refusal reads
like a sentence a person understands ("duration must be 4, 8, 12, 16 or 20 seconds for Sora 2,
got 5") instead of pydantic's generic wording.
"""

from __future__ import annotations

import functools
import math
import re
import typing
import unicodedata
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar, NamedTuple, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    SecretStr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ._images import check_data_uri

__all__ = ["SORA_DURATIONS", "SORA_PROMPT_LIMIT", "SORA_SNAPSHOTS", "ModelInput", "format_choices"]

SORA_PROMPT_LIMIT = 5000
SORA_DURATIONS = (4, 8, 12, 16, 20)
SORA_SNAPSHOTS = ("sora-2", "sora-2-2025-12-08", "sora-2-2025-10-06")

_T = TypeVar("_T")
_UNITS = {"duration": " seconds"}
_DATA_URI = re.compile(r"^data:[\w.+-]+/[\w.+-]+(;[\w.+-]+=[\w.+-]+)*(;base64)?,", re.ASCII)
# What no text sent to fal may hold: lone UTF-16 surrogates (they cannot be encoded as UTF-8, so the
# JSON body could not be written) and control characters (C0, DEL, C1: NUL truncates text in C
# code along the way, and none of them is anything a person typed on purpose).
_UNSENDABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# Tab, line feed and carriage return are text in a prompt, and base64 line wrapping in a data: URI.
_LAYOUT = frozenset("\t\n\r")
# Characters that show nothing, beyond Python's whitespace: Unicode's format characters (category
# Cf: zero-width space/joiners, bidi marks, the BOM, tag characters) and the default-ignorable
# fillers and selectors of other categories. A prompt of only these is empty to a person.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
_INVISIBLE_EXTRA = re.compile(
    r"[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]"
)


def format_choices(values: tuple[Any, ...]) -> str:
    """``(4, 8, 12)`` → ``"4, 8 or 12"``: the way a person lists options."""
    shown = [str(v) for v in values]
    if len(shown) <= 1:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " or " + shown[-1]


def _is_url_or_data_uri(value: str) -> bool:
    if _DATA_URI.match(value):
        return True
    scheme, sep, rest = value.partition("://")
    return (
        bool(sep)
        and scheme.lower() in ("http", "https")
        and bool(rest.split("/", 1)[0])
        and not any(ch.isspace() for ch in value)  # a URL never holds spaces or line breaks unescaped
    )


def _is_visible(ch: str) -> bool:
    return not (ch.isspace() or unicodedata.category(ch) in _INVISIBLE_CATEGORIES or _INVISIBLE_EXTRA.match(ch))


class _Kind(NamedTuple):
    """What a field takes, read from its annotation: the base of the type check before pydantic runs."""

    base: str  # "bool", "whole", "number", "text", "secret", "list" (of text) or "objects"
    optional: bool

    @property
    def described(self) -> str:
        return {
            "bool": "True or False",
            "whole": "a whole number",
            "number": "a number",
            "text": "text",
            "secret": "text",
            "list": "a list of text",
            "objects": "a list of objects",
        }[self.base]


@functools.cache
def _kind_of(model: type[BaseModel], name: str) -> _Kind:
    annotation = model.model_fields[name].annotation
    types = set(typing.get_args(annotation)) or {annotation}
    optional = type(None) in types
    types.discard(type(None))
    if bool in types:
        base = "bool"
    elif SecretStr in types:
        base = "secret"
    elif any(typing.get_origin(t) is list for t in types):
        (item,) = typing.get_args(next(t for t in types if typing.get_origin(t) is list))
        base = "objects" if isinstance(item, type) and issubclass(item, BaseModel) else "list"
    elif float in types:
        base = "number"
    elif int in types:
        base = "whole"
    else:
        base = "text"
    return _Kind(base, optional)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _is_finite(value: int | float | Decimal) -> bool:
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)


def _whole(value: object) -> int | None:
    """``value`` as an int when it is exactly a whole number (``8``, ``8.0``, ``Decimal("8")``), else None."""
    if isinstance(value, bool) or not _is_number(value):
        return None
    if isinstance(value, int):
        return value
    assert isinstance(value, (float, Decimal))
    if not _is_finite(value) or value != int(value):
        return None
    return int(value)


class ModelInput(BaseModel):
    """Base of every endpoint input: strict about unknown fields and types, friendly in its messages.

    Types are checked before pydantic sees a value (:meth:`_check_type`): pydantic's lax mode would
    read ``True`` as 1, ``"8"`` as 8, ``b"text"`` as text and ``None`` as a missing value, and every
    one of those is a request the user did not mean. The one conversion made is the documented one:
    a whole number given as a float (``8.0``, from a slider or a JSON round trip) is that number.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)

    #: Shown in messages ("... for Sora 2 Pro").
    MODEL_NAME: ClassVar[str] = ""
    #: Field name → the values the service accepts, in the order the panel offers them.
    ALLOWED: ClassVar[Mapping[str, tuple[Any, ...]]] = {}
    #: The most characters a prompt may have; ``None`` where the service declares no limit.
    PROMPT_LIMIT: ClassVar[int | None] = None
    #: Fields that hold secrets: never stored, logged or shown.
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset()
    #: Text fields whose values are whole numbers of seconds ("5", "10"): the number 10 is accepted too.
    SECONDS_AS_TEXT: ClassVar[frozenset[str]] = frozenset()
    #: Fields that name an image: an http(s) URL or a ``data:`` URI, checked and decoded.
    IMAGE_FIELDS: ClassVar[frozenset[str]] = frozenset()
    #: Text fields that may hold tabs and line breaks (prose, and base64 wrapped in lines).
    MULTILINE_FIELDS: ClassVar[frozenset[str]] = frozenset({"prompt", "negative_prompt"})
    #: Fields that must not be given together (``prompt`` vs ``multi_prompt``), group by group.
    EXCLUSIVE: ClassVar[tuple[tuple[str, ...], ...]] = ()
    #: Groups of which at least one field must be given.
    ONE_REQUIRED: ClassVar[tuple[tuple[str, ...], ...]] = ()
    #: List fields → (fewest, most) items.
    ITEM_COUNTS: ClassVar[Mapping[str, tuple[int, int]]] = {}
    #: List fields → the most seconds their items' ``duration`` may add up to.
    MAX_TOTAL_SECONDS: ClassVar[Mapping[str, int]] = {}

    @field_validator("*", mode="before")
    @classmethod
    def _check_type(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or ""
        kind = _kind_of(cls, name)
        if value is None:
            # None is "not given" only where the service has no default of ours to fill in.
            if kind.optional:
                return None
            if kind.base != "bool":
                raise cls._wrong_type(name, value, kind)
        if kind.base == "bool":
            if isinstance(value, bool):
                return value
            raise PydanticCustomError(
                "bool_required", "{field} must be True or False, got {got}", {"field": name, "got": _shown(value)}
            )
        if isinstance(value, bool):
            raise cls._wrong_type(name, value, kind)
        if kind.base == "whole":
            whole = _whole(value)
            if whole is None:
                raise cls._wrong_type(name, value, kind)
            return whole
        if kind.base == "number":
            if not _is_number(value):
                raise cls._wrong_type(name, value, kind)
            if not _is_finite(value):
                raise PydanticCustomError(
                    "finite_number", "{field} must be a finite number, got {got}", {"field": name, "got": _shown(value)}
                )
            return value
        if kind.base == "secret":
            if isinstance(value, (str, SecretStr)):
                return cls._sendable(name, value)
            raise cls._wrong_type(name, value, kind)
        if kind.base == "list":
            if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
                return cls._sendable(name, list(value))
            raise cls._wrong_type(name, value, kind)
        if kind.base == "objects":
            # Each item is checked by its own model (a nested ModelInput); only the shape is ours.
            if not (isinstance(value, (list, tuple)) and all(isinstance(v, (dict, BaseModel)) for v in value)):
                raise cls._wrong_type(name, value, kind)
            low, high = cls.ITEM_COUNTS.get(name, (0, len(value)))
            if not low <= len(value) <= high:
                raise PydanticCustomError(
                    "item_count",
                    "{field} takes {low} to {high} items for {model}, got {n}",
                    {"field": name, "low": low, "high": high, "model": cls.MODEL_NAME, "n": len(value)},
                )
            return list(value)
        if isinstance(value, str):
            return cls._sendable(name, value)
        if name in cls.SECONDS_AS_TEXT and (whole := _whole(value)) is not None:
            return str(whole)  # fal's Kling takes "10" where Sora takes 10: the same ten seconds
        raise cls._wrong_type(name, value, kind)

    @classmethod
    def _wrong_type(cls, name: str, value: Any, kind: _Kind) -> PydanticCustomError:
        if name in cls.ALLOWED:
            return cls._not_allowed(name, value)
        if name in cls.SECRET_FIELDS:  # the type, never the value
            got = "True/False" if isinstance(value, bool) else type(value).__name__
            return PydanticCustomError(
                "secret_type", "{field} takes {kind}, got {got}", {"field": name, "kind": kind.described, "got": got}
            )
        if isinstance(value, bool):
            return PydanticCustomError(
                "bool_not_allowed",
                "{field} takes {kind}, not True/False (got {got})",
                {"field": name, "kind": kind.described, "got": _shown(value)},
            )
        return PydanticCustomError(
            "wrong_type",
            "{field} takes {kind}, got {got}",
            {"field": name, "kind": kind.described, "got": _shown(value)},
        )

    @field_validator("*", mode="after")
    @classmethod
    def _check_allowed(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or ""
        if value is None:
            return None
        allowed = cls.ALLOWED.get(name)
        if allowed is not None and value not in allowed:
            raise cls._not_allowed(name, value)
        if name == "prompt":
            return cls._check_prompt(value)
        if name in cls.IMAGE_FIELDS:
            return cls._check_image_url(value)
        return value

    @model_validator(mode="after")
    def _check_together(self) -> ModelInput:
        """The rules that span fields: exclusive fields, one of a group, a total length of shots."""
        problems = type(self).together_problems(
            {n: getattr(self, n) for n in type(self).model_fields}, set(self.model_fields_set)
        )
        if problems:
            raise problems[0]
        return self

    @classmethod
    def together_problems(cls, values: Mapping[str, Any], given_names: set[str]) -> list[PydanticCustomError]:
        """The cross-field rules ``values`` break (validated values, or the raw request: a request
        refused for one field is still told about these, so one reply names every problem)."""
        given = {n for n, v in values.items() if v is not None and n in cls.model_fields}
        out: list[PydanticCustomError] = []
        for group in cls.EXCLUSIVE:
            both = [n for n in group if n in given and n in given_names]
            if len(both) > 1:
                out.append(
                    PydanticCustomError(
                        "fields_exclusive",
                        "{field} cannot be given together with {others} for {model}; give one of them",
                        {"field": both[-1], "others": format_choices(tuple(both[:-1])), "model": cls.MODEL_NAME},
                    )
                )
        for group in cls.ONE_REQUIRED:
            if not given & set(group):
                out.append(
                    PydanticCustomError(
                        "fields_one_required",
                        "{field} is required by {model} (or {others})",
                        {"field": group[0], "others": format_choices(group[1:]), "model": cls.MODEL_NAME},
                    )
                )
        for name, most in cls.MAX_TOTAL_SECONDS.items():
            seconds = _total_seconds(values.get(name))
            if seconds is not None and seconds > most:
                out.append(
                    PydanticCustomError(
                        "total_seconds",
                        "{field} adds up to {n} seconds; {model} makes at most {most}",
                        {"field": name, "n": seconds, "model": cls.MODEL_NAME, "most": most},
                    )
                )
        return out

    @model_serializer(mode="wrap")
    def _hide_secrets(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        # model_dump/JSON never carry a secret; to_payload() reveals it for the request only.
        data = handler(self)
        if isinstance(data, dict):
            for name in type(self).SECRET_FIELDS:
                if data.get(name) is not None:
                    data[name] = "**********"
        return data

    @classmethod
    def _sendable(cls, name: str, value: _T) -> _T:
        """``value`` when every text in it survives the trip: encoded as UTF-8 JSON, read as typed.

        Checked before pydantic, whose own check of a lone surrogate only says "unable to parse
        raw data as a unicode string".
        """
        texts: list[str]
        if isinstance(value, SecretStr):
            texts = [value.get_secret_value()]
        elif isinstance(value, list):
            texts = value
        else:
            texts = [str(value)]
        for text in texts:
            for found in _UNSENDABLE.finditer(text):
                ch = found.group()
                if ch in _LAYOUT and (name in cls.MULTILINE_FIELDS or name in cls.IMAGE_FIELDS):
                    continue
                raise cls._unsendable(name, ch, found.start())
        if name in cls.SECRET_FIELDS:
            secret = texts[0]
            if not secret.strip():
                raise PydanticCustomError(
                    "secret_empty",
                    "{field} is empty: leave it out to be billed through fal, or give the whole key",
                    {"field": name},
                )
            if secret != secret.strip():
                raise PydanticCustomError(
                    "secret_spaces", "{field} has spaces at its start or end; give the key exactly", {"field": name}
                )
        return value

    @classmethod
    def _unsendable(cls, name: str, ch: str, position: int) -> PydanticCustomError:
        if "\ud800" <= ch <= "\udfff":
            what = "a lone surrogate that cannot be encoded as UTF-8"
        elif ch == "\0":
            what = "a NUL character"
        else:
            what = "a control character"
        if name in cls.SECRET_FIELDS:  # not even where: a secret's shape is the secret's business
            return PydanticCustomError(
                "text_unsendable", "{field} contains {what}; give the key exactly", {"field": name, "what": what}
            )
        return PydanticCustomError(
            "text_unsendable",
            "{field} contains {what} at position {position} ({code}); remove it",
            {"field": name, "what": what, "code": f"U+{ord(ch):04X}", "position": position},
        )

    @classmethod
    def _not_allowed(cls, name: str, value: Any) -> PydanticCustomError:
        return PydanticCustomError(
            "value_not_allowed",
            "{field} must be {choices}{unit} for {model}, got {got}",
            {
                "field": name,
                "choices": format_choices(cls.ALLOWED[name]),
                "unit": cls._unit(name, value),
                "model": cls.MODEL_NAME,
                "got": _shown(value),
            },
        )

    @classmethod
    def _unit(cls, name: str, value: Any) -> str:
        """The unit after a list of plain numbers of seconds; a hint where text is wanted, not a number."""
        allowed = cls.ALLOWED[name]
        if name in _UNITS and all(_whole(v) is not None or str(v).isdigit() for v in allowed):
            return _UNITS[name]
        if _is_number(value) and all(isinstance(v, str) for v in allowed) and name not in cls.SECONDS_AS_TEXT:
            return " (text, with the quotes)"
        return ""

    @classmethod
    def _check_prompt(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("prompt_empty", "prompt must not be empty")
        if not any(_is_visible(ch) for ch in value):
            raise PydanticCustomError(
                "prompt_invisible",
                "prompt must not be empty: it holds only invisible characters (such as {code})",
                {"code": f"U+{ord(next(ch for ch in value if not ch.isspace())):04X}"},
            )
        if cls.PROMPT_LIMIT is not None and len(value) > cls.PROMPT_LIMIT:
            raise PydanticCustomError(
                "prompt_too_long",
                "prompt is {n} characters; {model} accepts at most {limit}",
                {"n": len(value), "model": cls.MODEL_NAME, "limit": cls.PROMPT_LIMIT},
            )
        return value

    @classmethod
    def _check_image_url(cls, value: str) -> str:
        if value[:5].lower() == "data:":
            # Decoded, whatever made it: an image of a type fal takes, whole, within the size limit.
            try:
                check_data_uri(value)
            except ValueError as exc:
                reason = str(exc)
            else:
                return value
            raise PydanticCustomError("image_invalid", "{reason}", {"reason": reason})
        if not _is_url_or_data_uri(value):
            raise PydanticCustomError(
                "image_url_invalid",
                "must be an http(s) URL or a data: URI (got {got}); "
                "use sora2_widgets.image_to_data_uri() for a local file",
                {"got": _shown(value)},
            )
        return value

    def to_payload(self) -> dict[str, Any]:
        """The JSON body for the service: secrets revealed here and only here, unset options left out."""
        body = self.model_dump(mode="json", exclude_none=True)
        for name in self.SECRET_FIELDS:
            secret = getattr(self, name, None)
            if isinstance(secret, SecretStr):
                body[name] = secret.get_secret_value()
        return body

    def public_params(self) -> dict[str, Any]:
        """Parameters safe to store and show: everything but secrets (noted only as present)."""
        body = self.model_dump(mode="json", exclude_none=True, exclude=set(self.SECRET_FIELDS))
        for name in self.SECRET_FIELDS:
            if getattr(self, name, None) is not None:
                body[f"{name}_set"] = True
        return body


def _total_seconds(items: Any) -> int | None:
    """The seconds a list of shots adds up to (validated shots or raw dicts); None when unreadable."""
    if not isinstance(items, (list, tuple)):
        return None
    total = 0
    for item in items:
        duration = item.get("duration") if isinstance(item, Mapping) else getattr(item, "duration", None)
        whole = _whole(duration) if not isinstance(duration, str) else (int(duration) if duration.isdigit() else None)
        if whole is None:
            return None
        total += whole
    return total


def _shown(value: Any) -> str:
    """A value as a message shows it: its repr (quoted text, escaped line breaks: one line), cut short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
