"""The model catalog: every model the toolkit knows, as data.

Pure: no I/O. The panel, the client's validation, the emulator and pricing all
read from here, so adding a model is adding one :class:`ModelSpec` (its input
schema and price rule) and nothing else.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pydantic

from ._errors import FieldError, UnknownModelError, ValidationError
from ._pricing import BasePlusPerSecond, CostEstimate, PerSecond, PriceRule, seconds_of
from ._results import VideoResult
from ._schemas import (
    SORA_DURATIONS,
    KlingImageToVideoInput,
    KlingTextToVideoInput,
    ModelInput,
    SoraImageToVideoInput,
    SoraImageToVideoProInput,
    SoraRemixInput,
    SoraTextToVideoInput,
    SoraTextToVideoProInput,
    format_choices,
)

__all__ = ["MODELS", "Mode", "ModelSpec", "estimate_cost", "get_model", "models_for", "validate_input"]


class Mode(str, enum.Enum):
    """What the model starts from. The panel has one tab per mode."""

    TEXT = "text"
    IMAGE = "image"
    REMIX = "remix"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ModelSpec:
    """One model: where it lives, what it accepts, what it costs."""

    id: str
    name: str
    description: str
    endpoint: str
    mode: Mode
    family: str
    input_model: type[ModelInput]
    price: PriceRule
    price_source: str
    pro: bool = False
    #: Remix jobs inherit duration/resolution from the source video.
    inherits_from_source: bool = False
    tags: tuple[str, ...] = field(default=())

    # -- derived facts (single source: the input schema) ---------------------------------
    @property
    def is_sora(self) -> bool:
        return self.family == "sora"

    @property
    def app_id(self) -> str:
        """fal's app id: the first two path parts. Queue URLs of sub-path endpoints live under it."""
        return "/".join(self.endpoint.split("/")[:2])

    @property
    def prompt_limit(self) -> int:
        return self.input_model.PROMPT_LIMIT

    @property
    def allowed(self) -> Mapping[str, tuple[Any, ...]]:
        return self.input_model.ALLOWED

    @property
    def defaults(self) -> dict[str, Any]:
        """Default values of every optional input (what the service assumes when omitted)."""
        out: dict[str, Any] = {}
        for name, info in self.input_model.model_fields.items():
            if not info.is_required() and name not in self.input_model.SECRET_FIELDS:
                out[name] = info.get_default(call_default_factory=True)
        return out

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(n for n, f in self.input_model.model_fields.items() if f.is_required())

    @property
    def durations(self) -> tuple[int, ...]:
        if self.inherits_from_source:
            return SORA_DURATIONS
        return tuple(seconds_of(d) for d in self.allowed.get("duration", ()))

    @property
    def max_duration(self) -> int:
        return max(self.durations)

    @property
    def resolutions(self) -> tuple[str, ...]:
        return tuple(self.allowed.get("resolution", ()))

    @property
    def aspect_ratios(self) -> tuple[str, ...]:
        return tuple(self.allowed.get("aspect_ratio", ()))

    @property
    def price_hint(self) -> str:
        hint = self.price.describe()
        return f"{hint} × source length" if self.inherits_from_source else hint

    # -- behaviour ------------------------------------------------------------------------
    def validate(self, params: Mapping[str, Any]) -> ModelInput:
        """Validate a full request; raises our :class:`ValidationError` with one line per field."""
        fields = self.input_model.model_fields
        # Unknown names are ours to report: pydantic gives up on a whole dict whose key it cannot
        # read as text (a lone surrogate), and would report nothing else in it.
        errors = [
            FieldError(_field_name(n), f"is not an input of {self.name}; it takes {', '.join(fields)}")
            for n in params
            if n not in fields
        ]
        try:
            validated = self.input_model.model_validate({n: v for n, v in params.items() if n in fields})
        except pydantic.ValidationError as exc:
            errors += _field_errors(self, exc)
        else:
            if not errors:
                return validated
        # Raised outside the except: pydantic's error must not ride along as __context__, since its
        # repr quotes every input (input_value='sk-…' for an api_key next to a bad duration).
        raise ValidationError(self.id, errors)

    def check_params(self, params: Mapping[str, Any]) -> ModelInput:
        """Validate only the given settings (no prompt needed): for pricing and the panel.

        Returns the validated input (required fields filled with placeholders), so that a price
        is computed from the values the request will carry (``8.0`` → ``8``), never from raw input.
        """
        fields = self.input_model.model_fields
        errors = [
            FieldError(_field_name(n), f"is not a setting of {self.name}; it takes {', '.join(fields)}")
            for n in params
            if n not in fields
        ]
        # None is checked like any value (refused where the field needs one), never dropped: a
        # dropped duration=None would be priced, and then sent, as the default 4 seconds.
        known = {n: v for n, v in params.items() if n in fields}
        validated: ModelInput | None = None
        try:
            validated = self.input_model.model_validate({**self._minimal(), **known})
        except pydantic.ValidationError as exc:
            errors.extend(_field_errors(self, exc))
        if errors or validated is None:
            raise ValidationError(self.id, errors)
        return validated

    def _minimal(self) -> dict[str, Any]:
        # Just enough to build an input, so that one setting can be checked with the schema's own words.
        filler = {"prompt": "x", "image_url": "https://example.invalid/x.png", "video_id": "x"}
        return {n: filler[n] for n in self.required if n in filler}

    def source_seconds(self, source_duration: object) -> int:
        """The billed length of a remix: the Sora duration (4, 8, … 20 s) the source video has.

        fal bills a remix "$0.1/s for Sora 2" (its remix page; no rounding rule is published)
        and the remix inherits the source's length, which OpenAI makes in whole durations only
        (4, 8, 12, 16, 20 s). A delivered file measures a little off that (4.04 s from the frame
        count, 7.96 s), so a measured length within half a second of one of those is billed as it; anything
        else (3 s, 10 s, 0, negative, a boolean) cannot be a Sora video and is refused, instead of
        quietly pricing a job the service would never run that way.
        """
        if isinstance(source_duration, bool) or not isinstance(source_duration, (int, float, Decimal)):
            raise self._bad_source(source_duration)
        length = float(source_duration)
        nearest = min(SORA_DURATIONS, key=lambda d: abs(d - length))
        if not abs(nearest - length) < _SOURCE_TOLERANCE:  # also refuses NaN
            raise self._bad_source(source_duration)
        return nearest

    def _bad_source(self, value: object) -> ValidationError:
        choices = format_choices(SORA_DURATIONS)
        msg = f"must be the length of a Sora 2 video ({choices} seconds, as measured), got {value!r}"
        return ValidationError(self.id, [FieldError("source_duration", msg)])

    def _seconds_and_resolutions(
        self, inp: ModelInput, source_duration: float | None, source_resolution: str | None
    ) -> tuple[list[int], list[str]]:
        if self.inherits_from_source:
            secs = [self.source_seconds(source_duration)] if source_duration is not None else list(SORA_DURATIONS)
            return secs, [source_resolution or "*"]
        values = dict(inp)  # the validated fields (no model_dump: this runs on every panel change)
        secs = [seconds_of(values["duration"])]
        resolution = values.get("resolution")
        if resolution is None:
            return secs, ["*"]
        if resolution == "auto":
            return secs, [r for r in self.resolutions if r != "auto"]
        return secs, [resolution]

    def estimate(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        source_duration: float | None = None,
        source_resolution: str | None = None,
    ) -> CostEstimate:
        source_errors: list[FieldError] = []
        if not self.inherits_from_source:
            # Ignoring them would price something other than what the caller described.
            source_errors += [
                FieldError(name, f"only applies to remix models; {self.name} does not start from a video")
                for name, value in (("source_duration", source_duration), ("source_resolution", source_resolution))
                if value is not None
            ]
        elif source_resolution is not None and source_resolution not in _SOURCE_RESOLUTIONS:
            choices = format_choices(_SOURCE_RESOLUTIONS)
            shown = repr(source_resolution)[:60]
            source_errors.append(FieldError("source_resolution", f"must be {choices} (or None), got {shown}"))
        if source_errors:
            raise ValidationError(self.id, source_errors)
        inp = self.check_params(dict(params or {}))
        secs, resolutions = self._seconds_and_resolutions(inp, source_duration, source_resolution)
        est = self.price.estimate(secs, resolutions)
        if not est.is_exact:
            why = (
                "depends on the source video's length"
                if self.inherits_from_source and source_duration is None
                else "the service picks the resolution (auto)"
            )
            est = CostEstimate(est.low, est.high, note=why)
        return est

    def actual_cost(
        self, params: Mapping[str, Any], result: VideoResult, *, source_duration: float | None = None
    ) -> Decimal:
        """What the finished job cost: the requested length, at the resolution actually delivered.

        ``params`` may be a stored row's parameters (with bookkeeping such as ``source_duration``):
        only the settings that set the price are read, and they are validated like an estimate's.
        """
        priced = {n: params[n] for n in _PRICED_SETTINGS if n in params and n in self.input_model.model_fields}
        inp = self.check_params(priced)
        if self.inherits_from_source:
            length = source_duration if source_duration is not None else result.duration
            if not length:
                raise ValueError(f"{self.id}: the cost needs the source video's duration")
            return self.price.actual(self.source_seconds(length), result.resolution)
        values = dict(inp)
        resolution = values.get("resolution")
        if resolution == "auto" or resolution is None:
            resolution = result.resolution
        return self.price.actual(seconds_of(values["duration"]), resolution)


#: The settings a price depends on (everything else in a request leaves the price alone).
_PRICED_SETTINGS = ("duration", "resolution")
#: What a source video's resolution can be (``resolution_of`` a delivered Sora video).
_SOURCE_RESOLUTIONS = ("720p", "1080p")
#: How far (exclusive) a measured source length may be from a Sora duration: real files are off by a
#: frame or two, and a 3 s or 4.5 s "source" is not a Sora video.
_SOURCE_TOLERANCE = 0.5


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*")


def _field_name(name: object) -> str:
    """A field name as a message shows it: as is when it is a plain name, else quoted and escaped.

    Unknown names come from the caller (``**params``, ``--param``): one holding a line break or a
    surrogate must not break the one-line message, nor make it unprintable.
    """
    text = str(name)
    if _PLAIN_NAME.fullmatch(text) and len(text) <= 60:
        return text
    shown = repr(text)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _field_errors(spec: ModelSpec, exc: pydantic.ValidationError) -> list[FieldError]:
    out = []
    # Only the location, type and message are kept: never "input" (it would be the refused value,
    # an api_key included). Unknown names never get here: validate() and check_params() report them.
    for err in exc.errors(include_url=False):
        where = _field_name(".".join(str(p) for p in err["loc"]))
        msg = f"is required by {spec.name}" if err["type"] == "missing" else err["msg"]
        out.append(FieldError(where, msg))
    return out


_FAL = "https://fal.ai/models/"
_SORA_STD = PerSecond({"*": Decimal("0.10")})
_SORA_PRO = PerSecond({"720p": Decimal("0.30"), "1080p": Decimal("0.50")})
# fal publishes Kling 2.5 Turbo Pro as $0.35 for the first 5 s plus $0.07 per extra second, on each
# endpoint's own page, which each model cites (price_source): .../pro/image-to-video and
# .../pro/text-to-video under https://fal.ai/models/fal-ai/kling-video/v2.5-turbo/. Text-to-video's
# schema: duration "5"/"10", aspect_ratio 16:9/9:16/1:1, negative_prompt, cfg_scale 0–1, no image.
# (Checked against fal's image-to-video llms.txt and, for text-to-video, copies of fal's text-to-video
# schema and price kept by resellers of that endpoint, e.g. eachlabs.ai's
# kling-v2-5-turbo-pro-text-to-video/llms.txt.) The seed app's flat "0.18" was wrong.
_KLING = BasePlusPerSecond(base=Decimal("0.35"), base_seconds=5, per_extra_second=Decimal("0.07"))
_KLING_T2V = "fal-ai/kling-video/v2.5-turbo/pro/text-to-video"
_KLING_I2V = "fal-ai/kling-video/v2.5-turbo/pro/image-to-video"

MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="sora2_text_to_video",
        name="Sora 2",
        description="OpenAI Sora 2 from a text prompt, 720p, with audio.",
        endpoint="fal-ai/sora-2/text-to-video",
        mode=Mode.TEXT,
        family="sora",
        input_model=SoraTextToVideoInput,
        price=_SORA_STD,
        price_source=_FAL + "fal-ai/sora-2/text-to-video",
    ),
    ModelSpec(
        id="sora2_text_to_video_pro",
        name="Sora 2 Pro",
        description="Sora 2 Pro from a text prompt, up to 1080p.",
        endpoint="fal-ai/sora-2/text-to-video/pro",
        mode=Mode.TEXT,
        family="sora",
        input_model=SoraTextToVideoProInput,
        price=_SORA_PRO,
        price_source=_FAL + "fal-ai/sora-2/text-to-video/pro",
        pro=True,
    ),
    ModelSpec(
        id="sora2_image_to_video",
        name="Sora 2 (image)",
        description="Sora 2 animating a start image, 720p.",
        endpoint="fal-ai/sora-2/image-to-video",
        mode=Mode.IMAGE,
        family="sora",
        input_model=SoraImageToVideoInput,
        price=_SORA_STD,
        price_source=_FAL + "fal-ai/sora-2/image-to-video",
    ),
    ModelSpec(
        id="sora2_image_to_video_pro",
        name="Sora 2 Pro (image)",
        description="Sora 2 Pro animating a start image, up to 1080p.",
        endpoint="fal-ai/sora-2/image-to-video/pro",
        mode=Mode.IMAGE,
        family="sora",
        input_model=SoraImageToVideoProInput,
        price=_SORA_PRO,
        price_source=_FAL + "fal-ai/sora-2/image-to-video/pro",
        pro=True,
    ),
    ModelSpec(
        id="sora2_video_to_video_remix",
        name="Sora 2 Remix",
        description="Change an earlier Sora 2 video with a new prompt; keeps its length and size.",
        endpoint="fal-ai/sora-2/video-to-video/remix",
        mode=Mode.REMIX,
        family="sora",
        input_model=SoraRemixInput,
        price=_SORA_STD,
        price_source=_FAL + "fal-ai/sora-2/video-to-video/remix",
        inherits_from_source=True,
    ),
    ModelSpec(
        id="kling25_turbo_pro_text_to_video",
        name="Kling 2.5 Turbo Pro",
        description="Kling v2.5 Turbo Pro from a text prompt, 5 or 10 s.",
        endpoint=_KLING_T2V,
        mode=Mode.TEXT,
        family="kling",
        input_model=KlingTextToVideoInput,
        price=_KLING,
        price_source=_FAL + _KLING_T2V,
    ),
    ModelSpec(
        id="kling25_turbo_pro_image_to_video",
        name="Kling 2.5 Turbo Pro (image)",
        description="Kling v2.5 Turbo Pro animating a start image, 5 or 10 s.",
        endpoint=_KLING_I2V,
        mode=Mode.IMAGE,
        family="kling",
        input_model=KlingImageToVideoInput,
        price=_KLING,
        price_source=_FAL + _KLING_I2V,
    ),
)

_BY_ID: dict[str, ModelSpec] = {m.id: m for m in MODELS}
_BY_ENDPOINT: dict[str, ModelSpec] = {m.endpoint: m for m in MODELS}


def get_model(model_id: str | ModelSpec) -> ModelSpec:
    """The spec of ``model_id`` (or of a fal endpoint id).

    An unknown id raises :class:`UnknownModelError` (a ``KeyError``) that lists the valid ids.
    """
    if isinstance(model_id, ModelSpec):
        return model_id
    if not isinstance(model_id, str):  # a list cannot even be looked up (unhashable)
        raise UnknownModelError(repr(model_id)[:60], list(_BY_ID))
    spec = _BY_ID.get(model_id) or _BY_ENDPOINT.get(model_id)
    if spec is None:
        raise UnknownModelError(model_id, list(_BY_ID))
    return spec


def models_for(mode: Mode | str) -> tuple[ModelSpec, ...]:
    """The models of one panel tab, in catalog order."""
    wanted = Mode(mode)
    return tuple(m for m in MODELS if m.mode is wanted)


def validate_input(model_id: str, /, **params: Any) -> ModelInput:
    """Validate a request for ``model_id`` exactly as the service would, without sending anything."""
    return get_model(model_id).validate(params)


def estimate_cost(
    model_id: str,
    /,
    *,
    source_duration: float | None = None,
    source_resolution: str | None = None,
    **params: Any,
) -> CostEstimate:
    """The price of one job before it runs. Ignores the prompt; remix needs ``source_duration``."""
    params.pop("prompt", None)
    params.pop("image_url", None)
    params.pop("video_id", None)
    return get_model(model_id).estimate(params, source_duration=source_duration, source_resolution=source_resolution)
