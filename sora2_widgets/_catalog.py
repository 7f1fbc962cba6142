"""The model catalog: every model the toolkit knows, built from the data files of :mod:`.catalog`.

The panel, the client's validation, the emulator and pricing all read from here, so adding a
model is adding one data file (its input schema, output shape and price rule) and nothing else.
The only I/O is reading those files once, at import; the input models are built on first use.
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
from ._pricing import Billed, CostEstimate, PriceRule, rule_from_data, seconds_of
from ._results import VideoResult
from ._schemas import SORA_DURATIONS, SORA_PROMPT_LIMIT, ModelInput, format_choices
from .catalog import CatalogEntry, input_model_for, load_entries
from .catalog._billing import AUDIO_FIELD, audio_of, options, requested_seconds

__all__ = [
    "MODELS",
    "Mode",
    "ModelSpec",
    "estimate_cost",
    "get_model",
    "models_for",
    "reload_catalog",
    "validate_input",
]


class Mode(str, enum.Enum):
    """What the model starts from. The panel has one tab per mode."""

    TEXT = "text"
    IMAGE = "image"
    REMIX = "remix"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ModelSpec:
    """One model: where it lives, what it accepts, what it costs. Built from one catalog entry."""

    id: str
    name: str
    description: str
    endpoint: str
    mode: Mode
    family: str
    price: PriceRule
    price_source: str
    pro: bool = False
    #: Remix jobs inherit duration/resolution from the source video.
    inherits_from_source: bool = False
    tags: tuple[str, ...] = field(default=())
    #: The data file this model comes from (its schema, output shape, sources, dates).
    entry: CatalogEntry = field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    @classmethod
    def from_entry(cls, entry: CatalogEntry) -> ModelSpec:
        try:
            price = rule_from_data(entry.price)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{entry.path}: price: {exc}") from None
        return cls(
            id=entry.id,
            name=entry.name,
            description=entry.description,
            endpoint=entry.endpoint,
            mode=Mode(entry.mode),
            family=entry.family,
            price=price,
            price_source=entry.price_source,
            pro=entry.tier == "pro",
            inherits_from_source=entry.inherits_from_source,
            tags=tuple(
                t
                for t, on in (
                    ("new", entry.ui.get("new")),
                    ("deprecated", entry.registry_status == "deprecated"),
                    ("retired", entry.retired),
                )
                if on
            ),
            entry=entry,
        )

    # -- derived facts (single source: the entry) -----------------------------------------
    @property
    def input_model(self) -> type[ModelInput]:
        """The pydantic model of this endpoint's input, built from its JSON Schema on first use."""
        return input_model_for(self.entry)

    @property
    def is_sora(self) -> bool:
        return self.family == "sora"

    @property
    def app_id(self) -> str:
        """fal's app id: the first two path parts. Queue URLs of sub-path endpoints live under it."""
        return "/".join(self.endpoint.split("/")[:2])

    @property
    def declared_prompt_limit(self) -> int | None:
        """The prompt limit the service (or the model's maker) states; ``None`` where none is stated."""
        prompt = self.entry.input_schema["properties"].get("prompt", {})
        return int(prompt["maxLength"]) if "maxLength" in prompt else None

    @property
    def prompt_limit(self) -> int:
        """The limit the prompt counter shows: the declared one, else the panel's 5,000 (not enforced)."""
        declared = self.declared_prompt_limit
        return SORA_PROMPT_LIMIT if declared is None else declared

    @property
    def allowed(self) -> Mapping[str, tuple[Any, ...]]:
        return self.input_model.ALLOWED

    @property
    def secret_fields(self) -> frozenset[str]:
        """Inputs that hold a secret (Sora's ``api_key``), read from the schema without building the model."""
        props = self.entry.input_schema["properties"]
        return frozenset(n for n, p in props.items() if p.get("x-sw-secret"))

    @property
    def image_fields(self) -> tuple[str, ...]:
        """The inputs that name an image, the start frame first (``image_url``, ``start_image_url``, …)."""
        return tuple(n for n in self.entry.ui.get("image_fields", ()) if n in self.entry.input_schema["properties"])

    @property
    def has_audio_toggle(self) -> bool:
        return AUDIO_FIELD in self.entry.input_schema["properties"]

    @property
    def retired(self) -> str | None:
        """The date the model was removed upstream (Sora 2: 2026-09-24), if it was."""
        return self.entry.retired

    @property
    def price_unconfirmed(self) -> bool:
        """The entry marks the price *to confirm* (sources disagree, or fal lists it in a unit we do not read)."""
        return self.entry.price_unconfirmed

    @property
    def gone(self) -> bool:
        """The last catalog refresh found no such endpoint in fal's registry: nothing can run on it."""
        return self.entry.registry_status == "gone"

    @property
    def suggested(self) -> str | None:
        """A live model of the same mode to use instead of this retired one (``None``: none, or not retired)."""
        return self.entry.suggested

    @property
    def retirement(self) -> str:
        """One sentence: since when this model is retired and what to use instead; ``""`` when it is live."""
        if not self.retired:
            return ""
        text = f"{self.name} is retired since {self.retired}"
        if self.gone:
            text += f": fal's registry no longer lists {self.endpoint} (catalog refresh of {self.entry.refreshed})"
        instead = _BY_ID.get(self.suggested or "")
        if instead is None:
            return f"{text}; no live model of the {self.mode} mode replaces it."
        return f"{text}; try {instead.id} ({instead.name}) instead."

    @property
    def checked(self) -> str:
        """The date this model's facts were last checked against fal."""
        return self.entry.checked

    @property
    def to_confirm(self) -> Mapping[str, str]:
        return self.entry.to_confirm

    @property
    def status(self) -> str:
        """``"retired 2026-09-24"``, ``"new"`` or ``"live"``."""
        if self.retired:
            return f"retired {self.retired}"
        if self.entry.registry_status == "deprecated":
            return "deprecated"
        return "new" if self.entry.ui.get("new") else "live"

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
        return tuple(seconds_of(d) for d in self.allowed.get("duration", ()) if d != "auto")

    def duration_for(self, seconds: int) -> int | str | None:
        """This model's own spelling of a length in whole seconds (8 is ``"8s"`` for Veo, ``"8"`` for
        Kling 3.0, ``8`` for Sora), or ``None`` when it offers no such length. A spelling, not a
        coercion: callers ask for it by name (``seconds=``, the CLI's ``--duration``)."""
        for choice in self.allowed.get("duration", ()):
            if choice != "auto" and not isinstance(choice, bool) and seconds_of(choice) == seconds:
                return choice  # type: ignore[no-any-return]
        return None

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
    def price_text(self) -> str:
        """The price alone: ``"$0.10/s"``, ``"… (unconfirmed)"`` where fal's listing does not confirm it."""
        hint = self.price.describe()
        if self.inherits_from_source:
            hint = f"{hint} × source length"
        return f"{hint} (unconfirmed)" if self.price_unconfirmed else hint

    @property
    def price_hint(self) -> str:
        """What a model list shows next to the name: the price, or for a gone model its retirement first."""
        hint = self.price_text
        if self.gone:  # what the panel's model list shows next to the name
            instead = _BY_ID.get(self.suggested or "")
            hint = f"retired {self.retired}" + (f", try {instead.name}" if instead else "") + f" (was {hint})"
        return hint

    # -- behaviour ------------------------------------------------------------------------
    def validate(self, params: Mapping[str, Any]) -> ModelInput:
        """Validate a full request; raises our :class:`ValidationError` with one line per field.

        A model a refresh found gone from fal is refused whole: no request could succeed.
        """
        if self.gone:
            raise ValidationError(self.id, [FieldError("model", self.retirement)])
        fields = self.input_model.model_fields
        # Unknown names are ours to report: pydantic gives up on a whole dict whose key it cannot
        # read as text (a lone surrogate), and would report nothing else in it.
        errors = [
            FieldError(_field_name(n), f"is not an input of {self.name}; it takes {', '.join(fields)}")
            for n in params
            if n not in fields
        ]
        known = {n: v for n, v in params.items() if n in fields}
        try:
            validated = self.input_model.model_validate(known)
        except pydantic.ValidationError as exc:
            errors += _field_errors(self, exc)
            # Other fields failed, so the rules across fields did not run: said too, unless said already.
            named = {e.field for e in errors}
            for problem in self.input_model.together_problems(known, set(known)):
                field_name = str((problem.context or {}).get("field", ""))
                if not any(n == field_name or n.startswith(field_name + ".") for n in named):
                    errors.append(FieldError(field_name, problem.message()))
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
            validated = self.input_model.model_validate({**self._minimal(known), **known})
        except pydantic.ValidationError as exc:
            errors.extend(_field_errors(self, exc))
        if errors or validated is None:
            raise ValidationError(self.id, errors)
        return validated

    def _minimal(self, given: Mapping[str, Any]) -> dict[str, Any]:
        # Just enough to build an input, so that one setting can be checked with the schema's own words.
        image = "https://example.invalid/x.png"
        out = {n: image if n in self.input_model.IMAGE_FIELDS else "x" for n in self.required if n not in given}
        for group in self.input_model.ONE_REQUIRED:
            if not set(group) & set(given):
                out[group[0]] = "x"
        return out

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

    def _check_source(self, source_duration: float | None, source_resolution: str | None) -> None:
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

    def estimate(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        source_duration: float | None = None,
        source_resolution: str | None = None,
    ) -> CostEstimate:
        self._check_source(source_duration, source_resolution)
        # The prompt and the images never set a price (and an image may still be a local path here).
        settings = {k: v for k, v in (params or {}).items() if k not in ("prompt", "video_id", *self.image_fields)}
        values = dict(self.check_params(settings))  # no model_dump: this runs on every panel change
        if self.inherits_from_source:
            secs = [self.source_seconds(source_duration)] if source_duration is not None else list(SORA_DURATIONS)
            values["resolution"] = source_resolution
            why = ["depends on the source video's length"] if source_duration is None else []
        else:
            secs = requested_seconds(self.entry, values)
            why = []
        billed, open_parts = options(self.entry, self.price, values, secs)
        costs = [self.price.cost(b) for b in billed]
        notes = [*why, *open_parts] if min(costs) != max(costs) else []
        if self.price_unconfirmed:
            notes.append("sources disagree on it; see sora2-widgets models --json")
        if self.gone:
            notes.append(self.retirement)
        return CostEstimate(min(costs), max(costs), note="; ".join(notes), unconfirmed=self.price_unconfirmed)

    def actual_cost(
        self, params: Mapping[str, Any], result: VideoResult, *, source_duration: float | None = None
    ) -> Decimal:
        """What the finished job cost: the requested settings, settled by the video actually delivered.

        What the request left open is read from the result: the resolution (``"auto"``), the length
        (``"auto"`` duration, a remix without its source's length) and, for a token price, the real
        width and height. ``params`` may be a stored row's parameters (with bookkeeping such as
        ``source_duration``): only the settings that set the price are read, validated like an
        estimate's. A fact the price needs that the result does not state raises ``ValueError``.
        """
        fields = self.input_model.model_fields
        priced = {n: params[n] for n in _PRICED_SETTINGS if n in params and n in fields}
        values = dict(self.check_params(priced))
        if self.inherits_from_source:
            length = source_duration if source_duration is not None else result.duration
            if not length:
                raise ValueError(f"{self.id}: the cost needs the source video's duration")
            seconds = self.source_seconds(length)
        elif values.get("duration") == "auto" and not values.get("multi_prompt"):
            if not result.duration:
                raise ValueError(f"{self.id}: the cost of an auto duration needs the delivered video's length")
            seconds = round(result.duration)
        else:
            (seconds,) = requested_seconds(self.entry, values)
        resolution = values.get("resolution")
        if resolution in ("auto", None) and "resolution" in fields:
            resolution = result.resolution
        elif resolution is None:
            resolution = self.entry.output.resolution
        billed = Billed(Decimal(seconds), resolution, audio_of(self.entry, values), result.width, result.height)
        return self.price.cost(billed)


#: The settings a price depends on (everything else in a request leaves the price alone).
_PRICED_SETTINGS = ("duration", "resolution", "aspect_ratio", "generate_audio", "multi_prompt")
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
        loc = err["loc"] or (str((err.get("ctx") or {}).get("field", "")),)  # a rule across fields names one
        where = _field_name(".".join(str(p) for p in loc))
        msg = f"is required by {spec.name}" if err["type"] == "missing" else err["msg"]
        out.append(FieldError(where, msg))
    return out


#: Every model: the shipped data files, then those of ``$SORA2_WIDGETS_CATALOG_DIR``, in catalog
#: order, with the stored catalog refresh laid over them (:func:`reload_catalog` after a new one).
MODELS: tuple[ModelSpec, ...] = tuple(ModelSpec.from_entry(e) for e in load_entries())

_BY_ID: dict[str, ModelSpec] = {m.id: m for m in MODELS}
_BY_ENDPOINT: dict[str, ModelSpec] = {m.endpoint: m for m in MODELS}


def reload_catalog() -> tuple[ModelSpec, ...]:
    """Read the catalog again (after a refresh was stored): ``get_model``, ``models_for`` and the
    panel's model lists follow from the next call on; specs already handed out keep their facts."""
    global MODELS, _BY_ID, _BY_ENDPOINT
    models = tuple(ModelSpec.from_entry(e) for e in load_entries())
    MODELS, _BY_ID, _BY_ENDPOINT = models, {m.id: m for m in models}, {m.endpoint: m for m in models}
    import sys

    package = sys.modules.get(__package__ or "sora2_widgets")
    if package is not None and "MODELS" in vars(package):  # the package caches names it has handed out
        package.MODELS = models  # type: ignore[attr-defined]
    return models


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
    spec = get_model(model_id)
    for name in ("prompt", "video_id", "image_url", "tail_image_url", *spec.image_fields):
        params.pop(name, None)
    return get_model(model_id).estimate(params, source_duration=source_duration, source_resolution=source_resolution)
