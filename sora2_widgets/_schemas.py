"""Input schemas, one pydantic model per endpoint, mirroring fal's published rules.

Pure: no I/O. The same classes validate in the client (before any money is
spent), in the emulator (to answer 422 exactly like the service) and drive the
panel's choices, so a rule lives in one place only.

Allowed values are class data (``ALLOWED``) rather than ``Literal`` types so that
a refusal reads like a sentence a person understands ("duration must be 4, 8,
12, 16 or 20 seconds for Sora 2, got 5") instead of pydantic's generic wording.
"""

from __future__ import annotations

import functools
import re
import typing
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_serializer, field_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "KlingImageToVideoInput",
    "KlingTextToVideoInput",
    "ModelInput",
    "SoraImageToVideoInput",
    "SoraImageToVideoProInput",
    "SoraRemixInput",
    "SoraTextToVideoInput",
    "SoraTextToVideoProInput",
    "format_choices",
]

SORA_PROMPT_LIMIT = 5000
SORA_DURATIONS = (4, 8, 12, 16, 20)
SORA_SNAPSHOTS = ("sora-2", "sora-2-2025-12-08", "sora-2-2025-10-06")
SORA_MAX_CHARACTERS = 2
# fal's own Kling schema allows 2500 characters; the product (DESIGN §2, the seed app) caps Kling
# prompts at 500 so the panel's counter is one simple rule: 500 whenever Kling is selected.
KLING_PROMPT_LIMIT = 500
KLING_DURATIONS = ("5", "10")

_UNITS = {"duration": " seconds"}
_DATA_URI = re.compile(r"^data:[\w.+-]+/[\w.+-]+(;[\w.+-]+=[\w.+-]+)*(;base64)?,", re.ASCII)


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
    return bool(sep) and scheme.lower() in ("http", "https") and bool(rest.split("/", 1)[0])


class ModelInput(BaseModel):
    """Base of every endpoint input: strict about unknown fields, friendly in its messages."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    #: Shown in messages ("... for Sora 2 Pro").
    MODEL_NAME: ClassVar[str] = ""
    #: Field name → the values the service accepts, in the order the panel offers them.
    ALLOWED: ClassVar[Mapping[str, tuple[Any, ...]]] = {}
    PROMPT_LIMIT: ClassVar[int] = SORA_PROMPT_LIMIT
    #: Fields that hold secrets: never stored, logged or shown.
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _check_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic's lax mode reads True as 1 and "no" as False: duration=True would become a
        # 1-second request ("got 1") and delete_video="keep" a deletion. Booleans are taken
        # only where a yes/no is meant, and only there.
        name = info.field_name or ""
        if value is None:
            return value
        if name in _bool_fields(cls):
            if not isinstance(value, bool):
                raise PydanticCustomError(
                    "bool_required", "{field} must be True or False, got {got}", {"field": name, "got": _shown(value)}
                )
            return value
        if isinstance(value, bool) or (
            # 8.5 seconds: say which values exist rather than "not a valid integer".
            isinstance(value, float) and name in cls.ALLOWED and not value.is_integer()
        ):
            if name in cls.ALLOWED:
                raise cls._not_allowed(name, value)
            raise PydanticCustomError(
                "bool_not_allowed",
                "{field} takes {kind}, not True/False (got {got})",
                {"field": name, "kind": _kind_of(cls, name), "got": _shown(value)},
            )
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _check_allowed(cls, value: Any, info: ValidationInfo) -> Any:
        allowed = cls.ALLOWED.get(info.field_name or "")
        if allowed is not None and value is not None and value not in allowed:
            raise cls._not_allowed(info.field_name or "", value)
        return value

    @classmethod
    def _not_allowed(cls, name: str, value: Any) -> PydanticCustomError:
        return PydanticCustomError(
            "value_not_allowed",
            "{field} must be {choices}{unit} for {model}, got {got}",
            {
                "field": name,
                "choices": format_choices(cls.ALLOWED[name]),
                "unit": _UNITS.get(name, ""),
                "model": cls.MODEL_NAME,
                "got": _shown(value),
            },
        )

    @field_validator("prompt", mode="after", check_fields=False)
    @classmethod
    def _check_prompt(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("prompt_empty", "prompt must not be empty")
        if len(value) > cls.PROMPT_LIMIT:
            raise PydanticCustomError(
                "prompt_too_long",
                "prompt is {n} characters; {model} accepts at most {limit}",
                {"n": len(value), "model": cls.MODEL_NAME, "limit": cls.PROMPT_LIMIT},
            )
        return value

    @field_validator("image_url", "tail_image_url", mode="after", check_fields=False)
    @classmethod
    def _check_image_url(cls, value: str | None) -> str | None:
        if value is not None and not _is_url_or_data_uri(value):
            shown = value if len(value) <= 60 else value[:57] + "..."
            raise PydanticCustomError(
                "image_url_invalid",
                "must be an http(s) URL or a data: URI (got {got}); "
                "use sora2_widgets.image_to_data_uri() for a local file",
                {"got": repr(shown)},
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


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


@functools.cache
def _bool_fields(model: type[BaseModel]) -> frozenset[str]:
    """Fields typed ``bool`` (or ``bool | None``): the only ones a boolean may fill."""
    return frozenset(
        name
        for name, info in model.model_fields.items()
        if info.annotation is bool or bool in typing.get_args(info.annotation)
    )


def _kind_of(model: type[BaseModel], name: str) -> str:
    annotation = model.model_fields[name].annotation
    types = set(typing.get_args(annotation)) or {annotation}
    if float in types:
        return "a number"
    if int in types:
        return "a whole number"
    if str in types or SecretStr in types:
        return "text"
    return "a list" if any(typing.get_origin(t) is list for t in types) else "a value"


class _SoraBase(ModelInput):
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"api_key"})

    prompt: str = Field(description="What the video shows (1–5000 characters).")
    delete_video: bool = Field(
        default=True,
        description="Delete the video on the service after delivery. Keep False to remix it later.",
    )
    api_key: SecretStr | None = Field(
        default=None, description="Your own OpenAI key (billed by OpenAI). Treated as a secret."
    )

    @field_serializer("api_key", when_used="always")
    def _hide_key(self, value: SecretStr | None) -> str | None:
        # model_dump/JSON never carry the key; to_payload() reveals it for the request only.
        return None if value is None else "**********"


class _SoraGenerate(_SoraBase):
    duration: int = Field(default=4, description="Length in seconds.")
    model: str = Field(default="sora-2", description="Model snapshot: 'sora-2' is the latest.")
    detect_and_block_ip: bool | None = Field(
        default=None, description="Refuse prompts that name protected intellectual property."
    )
    character_ids: list[str] | None = Field(
        default=None, description="Up to two character ids (from fal-ai/sora-2/characters) named in the prompt."
    )

    @field_validator("character_ids", mode="after")
    @classmethod
    def _check_characters(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if len(value) > SORA_MAX_CHARACTERS:
            raise PydanticCustomError(
                "too_many_characters",
                "character_ids takes at most {limit} ids, got {n}",
                {"limit": SORA_MAX_CHARACTERS, "n": len(value)},
            )
        if any(not c.strip() for c in value):
            raise PydanticCustomError("character_id_empty", "character_ids must not contain empty ids")
        return value


class SoraTextToVideoInput(_SoraGenerate):
    MODEL_NAME = "Sora 2"
    ALLOWED = {
        "duration": SORA_DURATIONS,
        "aspect_ratio": ("16:9", "9:16"),
        "resolution": ("720p",),
        "model": SORA_SNAPSHOTS,
    }
    aspect_ratio: str = "16:9"
    resolution: str = "720p"


class SoraTextToVideoProInput(_SoraGenerate):
    MODEL_NAME = "Sora 2 Pro"
    ALLOWED = {
        "duration": SORA_DURATIONS,
        "aspect_ratio": ("16:9", "9:16"),
        "resolution": ("720p", "1080p"),
        "model": SORA_SNAPSHOTS,
    }
    aspect_ratio: str = "16:9"
    resolution: str = "1080p"


class SoraImageToVideoInput(_SoraGenerate):
    MODEL_NAME = "Sora 2 (image)"
    ALLOWED = {
        "duration": SORA_DURATIONS,
        "aspect_ratio": ("auto", "16:9", "9:16"),
        "resolution": ("auto", "720p"),
        "model": SORA_SNAPSHOTS,
    }
    image_url: str = Field(description="The first frame: an http(s) URL or a data: URI.")
    aspect_ratio: str = "auto"
    resolution: str = "auto"


class SoraImageToVideoProInput(_SoraGenerate):
    MODEL_NAME = "Sora 2 Pro (image)"
    ALLOWED = {
        "duration": SORA_DURATIONS,
        "aspect_ratio": ("auto", "16:9", "9:16"),
        "resolution": ("auto", "720p", "1080p"),
        "model": SORA_SNAPSHOTS,
    }
    image_url: str = Field(description="The first frame: an http(s) URL or a data: URI.")
    aspect_ratio: str = "auto"
    resolution: str = "auto"


class SoraRemixInput(_SoraBase):
    MODEL_NAME = "Sora 2 Remix"
    video_id: str = Field(min_length=1, description="The video_id of an earlier Sora 2 video that was kept.")


class _KlingBase(ModelInput):
    PROMPT_LIMIT = KLING_PROMPT_LIMIT

    prompt: str = Field(description="What the video shows (1–500 characters).")
    duration: str = Field(default="5", description='Length in seconds, as a string: "5" or "10".')
    negative_prompt: str = Field(default="blur, distort, and low quality", max_length=2500)
    cfg_scale: float = Field(default=0.5, ge=0.0, le=1.0, description="How closely to follow the prompt.")

    @field_validator("duration", mode="before")
    @classmethod
    def _duration_as_text(cls, value: object) -> object:
        # fal's Kling schema takes "5"/"10" as strings; accept the obvious 10 (or 10.0, like Sora's
        # duration does) too. Booleans are refused before this runs (_check_booleans).
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class KlingTextToVideoInput(_KlingBase):
    MODEL_NAME = "Kling 2.5 Turbo Pro"
    ALLOWED = {"duration": KLING_DURATIONS, "aspect_ratio": ("16:9", "9:16", "1:1")}

    aspect_ratio: str = "16:9"


class KlingImageToVideoInput(_KlingBase):
    MODEL_NAME = "Kling 2.5 Turbo Pro (image)"
    ALLOWED = {"duration": KLING_DURATIONS}

    image_url: str = Field(description="The first frame: an http(s) URL or a data: URI.")
    tail_image_url: str | None = Field(default=None, description="Optional last frame.")
