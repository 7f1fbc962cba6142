"""What the user has chosen on the generation tabs, and what follows from it, as plain Python.

:class:`PanelForm` holds the tab, each tab's model selection, the prompt and every setting;
its setters validate and report the change, and its getters derive which settings show, which
values they offer, the prompt counter, the request each selected model gets and its price.

Choices made here (and why):

* **Every family's settings, Sora's included**, come from its catalog entry's schema
  (``_settings.py``): shared ones once, with the values all ticked models accept, the rest under
  the family's name, so Sora's settings appear only when a Sora model is ticked. No model is
  named here; what a setting means beyond its schema is data in the entry (``ui.fields``).
* **Keep for remix** (Sora's ``delete_video``, shown inverted) starts *on*: the entry's
  ``panel_default`` says so, and the reason is in ``_settings.py``.
* **Further images** (an end frame) are optional: one picker per input name the ticked models'
  entries list after the start frame, sent only to those models, and only when chosen.
* **multi_prompt** (Kling 3.0's shots) replaces the prompt: with shots given and no prompt, the
  request carries the shots alone; with both, Generate is refused with the catalog's own sentence.
* **One prompt and one set of settings per tab** (:class:`TabInputs`): a remix instruction
  is not a text-to-video prompt, so typing on one tab never changes another, and the Remix
  tab opens with its own (empty) prompt. History and Spend show no inputs; the form keeps
  pointing at the last generation tab's inputs there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

from .._catalog import _PRICED_SETTINGS as PRICE_INPUTS
from .._catalog import Mode, ModelSpec, get_model, models_for
from .._errors import ValidationError
from .._pricing import CostEstimate, total
from .._schemas import SORA_PROMPT_LIMIT
from ._media import ImageChoice
from ._remix import RemixCandidate
from ._settings import Field, Group, layout_for, parse_value

__all__ = [
    "GENERATION_TABS",
    "TABS",
    "Estimate",
    "PanelForm",
    "TabInputs",
]

#: Tab keys in display order, with their titles.
TABS: tuple[tuple[str, str], ...] = (
    ("text", "Text → video"),
    ("image", "Image → video"),
    ("remix", "Remix"),
    ("history", "History"),
    ("spend", "Spend"),
)
GENERATION_TABS = ("text", "image", "remix")
#: Setting kinds the user types (checked against each taker's schema before Generate).
_TYPED = frozenset({"number", "text", "list"})

#: One selected model's price: its estimate, or ``None`` and the reason it cannot be priced.
Estimate = tuple[ModelSpec, CostEstimate | None, str | None]


@dataclass
class TabInputs:
    """One generation tab's prompt and settings (each tab has its own; see the module notes)."""

    prompt: str = ""
    #: The schema-built settings: field key ("kling:duration", "sora:delete_video") → value.
    values: dict[str, Any] = field(default_factory=dict)


_T = TypeVar("_T")


class _PerTab(Generic[_T]):
    """An attribute of :class:`PanelForm` that reads and writes the current tab's :class:`TabInputs`."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> _PerTab[_T]: ...
    @overload
    def __get__(self, obj: PanelForm, objtype: type | None = None) -> _T: ...
    def __get__(self, obj: PanelForm | None, objtype: type | None = None) -> _T | _PerTab[_T]:
        if obj is None:
            return self
        value: _T = getattr(obj.inputs[obj.input_tab], self.name)
        return value

    def __set__(self, obj: PanelForm, value: _T) -> None:
        setattr(obj.inputs[obj.input_tab], self.name, value)


class PanelForm:
    """The generation tabs' inputs. Setters validate, update and call :meth:`_changed`."""

    prompt: _PerTab[str] = _PerTab()
    values: _PerTab[dict[str, Any]] = _PerTab()

    def __init__(self) -> None:
        self.tab = "text"
        #: The generation tab whose inputs the form shows and sends (the last one visited).
        self.input_tab = "text"
        self.selections: dict[str, tuple[str, ...]] = {
            "text": ("sora2_text_to_video",),
            "image": ("sora2_image_to_video",),
            "remix": ("sora2_video_to_video_remix",),
        }
        self.inputs: dict[str, TabInputs] = {tab: TabInputs() for tab in GENERATION_TABS}
        self.show_advanced = False
        # Sources
        self.image: ImageChoice | None = None
        self.image_error: str | None = None
        #: Further image inputs (an end frame: ``end_image_url``, ``tail_image_url``), by field name.
        self.extra_images: dict[str, ImageChoice] = {}
        self.extra_image_errors: dict[str, str] = {}
        self.remix_key: str | None = None
        # Models the service said are gone (HTTP 410): they stay listed, and block Generate.
        self.unavailable: set[str] = set()

    # -- hooks for the controller ---------------------------------------------------------
    def _changed(self, what: str, *, rearm: bool = True) -> None:
        """Called after every change; ``what`` names the changed part. ``rearm=False``: the change
        does not alter what would be generated (a pending confirmation stays)."""

    def remix_candidates(self) -> list[RemixCandidate]:
        """Earlier videos that can be remixed (the form alone knows none; the controller reads the ledger)."""
        return []

    @property
    def remix_source(self) -> RemixCandidate | None:
        """The chosen video to remix, while it is still a candidate."""
        for cand in self.remix_candidates():
            if cand.key == self.remix_key:
                return cand
        return None

    # -- tabs and selection ---------------------------------------------------------------
    @property
    def mode(self) -> Mode | None:
        return Mode(self.tab) if self.tab in GENERATION_TABS else None

    def set_tab(self, tab: str) -> None:
        if tab not in dict(TABS):
            raise ValueError(f"unknown tab {tab!r}; tabs: {', '.join(dict(TABS))}")
        if tab != self.tab:
            self.tab = tab
            if tab in GENERATION_TABS:
                self.input_tab = tab
            self._changed("tab")

    @property
    def models(self) -> tuple[ModelSpec, ...]:
        """The models of the active mode tab (none on History/Spend)."""
        return models_for(self.tab) if self.tab in GENERATION_TABS else ()

    @staticmethod
    def model_label(spec: ModelSpec) -> str:
        res = "inherits size" if spec.inherits_from_source else "/".join(spec.resolutions)
        # A model without a resolution choice (Kling) gets no resolution part, not a dangling "· —".
        return " · ".join(part for part in (spec.name, spec.price_hint, res) if part)

    @staticmethod
    def model_badges(spec: ModelSpec) -> tuple[str, ...]:
        """What the model list marks beside a model: retired, unconfirmed price, new."""
        badges = [f"retired {spec.retired}"] if spec.retired else []
        if spec.price_unconfirmed:
            badges.append("unconfirmed price")
        if spec.entry.ui.get("new") and not spec.retired:
            badges.append("new")
        return tuple(badges)

    @property
    def selected(self) -> tuple[ModelSpec, ...]:
        if self.tab not in GENERATION_TABS:
            return ()
        return tuple(get_model(m) for m in self.selections[self.tab])

    def select(self, model_ids: Sequence[str]) -> None:
        if self.tab not in GENERATION_TABS:
            raise ValueError("models are chosen on the Text, Image and Remix tabs")
        allowed = {m.id for m in self.models}
        bad = [m for m in model_ids if m not in allowed]
        if bad:
            raise ValueError(f"{', '.join(bad)} is not a model of the {self.tab} tab")
        chosen = tuple(m.id for m in self.models if m.id in model_ids)  # catalog order
        if chosen != self.selections[self.tab]:
            self.selections[self.tab] = chosen
            self._changed("selection")

    @property
    def settings_groups(self) -> tuple[Group, ...]:
        """The settings of the ticked models, built from their schemas (see ``_settings.py``)."""
        return layout_for(tuple(s.id for s in self.selected))

    def settings_fields(self) -> list[Field]:
        return [f for g in self.settings_groups for f in g.fields]

    def setting_value(self, fld: Field) -> Any:
        """A schema-built setting's value as the form holds it: the user's, else the same setting's
        value from another group that this one accepts (ticking a model moves a setting between
        "All selected models" and a family), else the field's default."""
        values = self.values
        if fld.key in values and fld.accepts(values[fld.key]):
            return values[fld.key]
        suffix = f":{fld.name}"
        for key in reversed(values):
            if key.endswith(suffix) and fld.accepts(values[key]):
                return values[key]
        return fld.default

    # -- setters --------------------------------------------------------------------------
    def _set(self, name: str, value: Any) -> None:
        if getattr(self, name) != value:
            setattr(self, name, value)
            self._changed(name)

    def set_prompt(self, text: str) -> None:
        self._set("prompt", text)

    def set_show_advanced(self, show: bool) -> None:
        if self.show_advanced != bool(show):
            self.show_advanced = bool(show)
            self._changed("advanced", rearm=False)

    def set_setting(self, key: str, value: Any) -> None:
        """Set a schema-built setting (``"veo:resolution"``, ``"shared:generate_audio"``).

        A value the setting cannot hold is refused with one sentence; text (a seed, shots) is
        kept as typed and checked when it would be sent (see :meth:`setting_problems`).
        """
        fields = {f.key: f for f in self.settings_fields()}
        fld = fields.get(key)
        if fld is None:
            raise ValueError(f"{key} is not a setting of the selected models; they take {', '.join(fields) or 'none'}")
        if not fld.accepts(value):
            parse_value(fld, value)  # raises its one-sentence refusal
            raise ValueError(f"{fld.label} cannot be {value!r}")
        before = self.setting_value(fld)
        self.values[key] = value
        if before != value or type(before) is not type(value):  # the same value again changes nothing
            self._changed(key)

    def set_setting_named(self, name: str, value: Any) -> None:
        """Set the first schema-built setting called ``name`` (for callers that think in field names)."""
        for fld in self.settings_fields():
            if fld.name == name:
                self.set_setting(fld.key, value)
                return
        raise ValueError(f"none of the selected models takes {name}")

    def set_image(self, choice: ImageChoice | None, error: str | None = None) -> None:
        self.image = choice
        self.image_error = error
        self._changed("image")

    @property
    def extra_image_fields(self) -> dict[str, tuple[ModelSpec, ...]]:
        """Each image input beyond the start frame that a ticked model takes, with the models that take it."""
        out: dict[str, tuple[ModelSpec, ...]] = {}
        for spec in self.selected:
            for name in spec.image_fields[1:]:
                out[name] = (*out.get(name, ()), spec)
        return out

    def set_extra_image(self, name: str, choice: ImageChoice | None, error: str | None = None) -> None:
        """Set (or, with ``None``, clear) an optional further image such as ``end_image_url``."""
        if name not in self.extra_image_fields:
            takes = ", ".join(self.extra_image_fields) or "none"
            raise ValueError(f"{name} is not an image input of the selected models; they take {takes}")
        self.extra_images.pop(name, None)
        self.extra_image_errors.pop(name, None)
        if choice is not None:
            self.extra_images[name] = choice
        if error:
            self.extra_image_errors[name] = error
        self._changed("image")

    def set_remix_source(self, key: str | None) -> None:
        self._set("remix_key", key)

    # -- prompt limit ---------------------------------------------------------------------
    @property
    def prompt_limit(self) -> int:
        """The smallest prompt limit of the selection (5000 for Sora alone, 500 with Kling)."""
        limits = [s.prompt_limit for s in self.selected]
        return min(limits) if limits else SORA_PROMPT_LIMIT

    @property
    def limiting_model(self) -> ModelSpec | None:
        specs = [s for s in self.selected if s.prompt_limit == self.prompt_limit]
        return specs[0] if specs and self.prompt_limit < SORA_PROMPT_LIMIT else None

    @property
    def remaining(self) -> int:
        return self.prompt_limit - len(self.prompt)

    @property
    def counter_text(self) -> str:
        left = self.remaining
        if left >= 0:
            return f"{left} characters remaining"
        who = f" for {self.limiting_model.name}" if self.limiting_model else ""
        return f"{-left} characters over the {self.prompt_limit}-character limit{who}"

    # -- request parameters ---------------------------------------------------------------
    def settings_for(self, spec: ModelSpec) -> dict[str, Any]:
        """The settings sent to ``spec`` (no prompt / image / video id): what the price depends on."""
        out: dict[str, Any] = {}
        for fld in self.settings_fields():
            if spec.id not in fld.models:
                continue
            try:
                value = parse_value(fld, self.setting_value(fld))
            except ValueError:
                continue  # reported by setting_problems(); the rest can still be priced
            if value is not None:
                out[fld.name] = value
        return out

    def setting_problems(self) -> list[str]:
        """One sentence per setting that cannot be sent as it is (a seed that is no number, shots
        that are no shots), and the rules across fields the catalog states (prompt or shots)."""
        out: list[str] = []
        for fld in self.settings_fields():
            try:
                value = parse_value(fld, self.setting_value(fld))
            except ValueError as exc:
                out.append(f"{exc}.")
                continue
            if value is not None and fld.kind in _TYPED:
                out += self._schema_objections(fld, value)
        if self.prompt.strip():
            for spec in self.selected:
                settings = self.settings_for(spec)
                given = {"prompt": self.prompt, **settings}
                for problem in spec.input_model.together_problems(given, set(given)):
                    out.append(f"{problem.message()}.")
        return list(dict.fromkeys(out))

    @staticmethod
    def _schema_objections(fld: Field, value: Any) -> list[str]:
        """What each taker's schema says against a typed value (three character ids where two are
        allowed): typed text is the one kind of setting the panel cannot offer only good values of."""
        out: list[str] = []
        for model_id in fld.models:
            try:
                get_model(model_id).check_params({fld.name: value})
            except ValidationError as exc:
                # "character_ids takes at most 2 ids" → "Characters takes at most 2 ids": the name the user sees.
                out += [f"{fld.label} {e.message.removeprefix(fld.name + ' ')}." for e in exc.errors]
        return out

    def _priced(self, spec: ModelSpec) -> dict[str, Any]:
        """What ``spec``'s estimate needs: for schema-built settings only those a price reads (the
        rest were checked as they were set, by ``setting_problems``), which keeps the label quick
        with every model ticked."""
        return {k: v for k, v in self.settings_for(spec).items() if k in PRICE_INPUTS}

    def _shots_only(self, spec: ModelSpec) -> bool:
        return bool(self.settings_for(spec).get("multi_prompt"))

    def params_for(self, spec: ModelSpec) -> dict[str, Any]:
        """The full request for ``spec``: settings plus prompt and the mode's source."""
        settings = self.settings_for(spec)
        # Shots instead of a prompt: the two are exclusive (the catalog says so), so no empty prompt rides along.
        shots_only = bool(settings.get("multi_prompt")) and not self.prompt.strip()
        out = {**settings} if shots_only else {"prompt": self.prompt, **settings}
        fields = spec.input_model.model_fields
        if spec.image_fields and self.image is not None:  # the start frame: image_url, start_image_url, …
            out[spec.image_fields[0]] = self.image.to_send
        for name in spec.image_fields[1:]:  # optional end frames: sent only when chosen, only to their takers
            extra = self.extra_images.get(name)
            if extra is not None:
                out[name] = extra.to_send
        source = self.remix_source
        if "video_id" in fields and source is not None:
            out["video_id"] = source.video_id
        return out

    # -- price ----------------------------------------------------------------------------
    def estimates(self) -> list[Estimate]:
        """Per selected model: its estimate, or ``None`` and the reason it cannot be priced."""
        out: list[Estimate] = []
        source = self.remix_source
        for spec in self.selected:
            try:
                est = spec.estimate(
                    self._priced(spec),
                    source_duration=source.duration if source and spec.inherits_from_source else None,
                    source_resolution=source.resolution if source and spec.inherits_from_source else None,
                )
            except ValidationError as exc:
                out.append((spec, None, "; ".join(str(e) for e in exc.errors)))
                continue
            out.append((spec, est, None))
        return out

    @property
    def total_cost(self) -> CostEstimate:
        return total(e for _, e, _ in self.estimates() if e is not None)

    def form_blockers(self) -> list[str]:
        """What in the form keeps Generate disabled, in plain words, in the order they are shown."""
        if self.tab not in GENERATION_TABS:
            return ["Pick the Text, Image or Remix tab to generate."]
        reasons: list[str] = []
        if not self.selected:
            reasons.append("Select at least one model.")
        gone = [s.name for s in self.selected if s.id in self.unavailable]
        if gone:
            reasons.append(f"{', '.join(gone)} is no longer available on the service; unselect it.")
        if not self.prompt.strip() and not (self.selected and all(self._shots_only(s) for s in self.selected)):
            reasons.append("Write a prompt.")
        elif self.remaining < 0:
            reasons.append(f"The prompt is too long: {self.counter_text}.")
        if self.tab == "image" and self.image is None:
            reasons.append("Choose a start image (URL, upload or local path).")
        if self.tab == "remix" and self.selected and self.remix_source is None:
            reasons.append("Pick a video to remix.")
        reasons += self.setting_problems()
        for spec, est, why in self.estimates():
            if est is None:
                reasons.append(f"{spec.name}: {why}")
        return reasons
