"""The panel's state and logic, as plain Python: no widgets, so tests drive it without a browser.

The view (``_view.py``) turns widget events into calls on :class:`PanelController`
and redraws itself from the controller's state whenever an observer fires.

Choices made here (and why):

* **Aspect ratio** — the menu offers the *intersection* of the selected Sora models'
  ``allowed["aspect_ratio"]``: one value is sent to every selected Sora model, so only
  values that all of them accept are offered (a union would let the user pick a value
  some model then refuses or silently ignores). In the catalog the Sora models of one
  mode share their aspect ratios, so nothing is lost today.
* **Resolution** — shown only when a Pro model is selected, with the values every
  selected Pro model accepts, and sent to Pro models only; the standard models keep
  their single/default resolution. ``auto`` means the service picks, so the price is
  shown as a range until the result's size is known.
* **Keep for remix** defaults to *on* (``delete_video=False``). fal's default deletes
  the video on the service after delivery, which makes it impossible to remix forever;
  a user who later wants a remix cannot undo that, while a kept video costs nothing
  extra. The checkbox says what it does in one line.
* **Confirmation** — a selection whose cost can exceed ``confirm_above`` (default $5)
  needs a second click on Generate in the *same* state; any change re-arms it.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from pydantic import SecretStr

from .._catalog import Mode, ModelSpec, get_model, models_for
from .._config import budget_from_env, resolve_key
from .._errors import JobCancelledError, Sora2Error, ValidationError
from .._pricing import CostEstimate, format_usd, resolution_of, total
from .._schemas import KLING_PROMPT_LIMIT, SORA_DURATIONS, SORA_PROMPT_LIMIT, SORA_SNAPSHOTS
from ._jobs import BackgroundLoop, JobState, JobStatus, _attr, log
from ._media import ImageChoice

__all__ = ["GENERATION_TABS", "TABS", "GeneratorLike", "HistoryLike", "PanelController", "RemixCandidate"]

#: Tab keys in display order, with their titles.
TABS: tuple[tuple[str, str], ...] = (
    ("text", "Text → video"),
    ("image", "Image → video"),
    ("remix", "Remix"),
    ("history", "History"),
    ("spend", "Spend"),
)
GENERATION_TABS = ("text", "image", "remix")
DEFAULT_CONFIRM_ABOVE = Decimal(5)
KEEP_EXPLANATION = (
    "Keep the video on the service so it can be remixed later (fal deletes it after delivery by default)."
)
AUTO_EXPLANATION = "auto: the service picks the resolution; the price is shown as a range until the result is known."


class GeneratorLike(Protocol):
    """What the panel needs from ``sora2_widgets.Generator``."""

    @property
    def provider(self) -> str: ...

    async def agenerate(self, model_id: str, *, on_update: Callable[[Any], None] | None = None, **params: Any) -> Any:
        """Run one job to the end and return a ``Generation`` (url, local_path, video_id, cost, history_id)."""
        ...


class HistoryLike(Protocol):
    """What the panel needs from ``sora2_widgets.History``."""

    @property
    def df(self) -> Any: ...

    def remix_candidates(self) -> Any: ...

    def spend(self, by: str = ...) -> Any: ...


@dataclass(frozen=True)
class RemixCandidate:
    """One earlier Sora video that can still be remixed, as the picker shows it."""

    key: str  # stable identity in the picker: the history id (or the video id)
    video_id: str
    prompt: str
    created: str
    model_id: str
    duration: float | None
    resolution: str | None
    thumbnail: str | None  # local path or URL

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RemixCandidate | None:
        video_id = _attr(row, "video_id")
        if not video_id:
            return None
        created = when_text(_attr(row, "created_at", "submitted_at", "created", "completed_at"))
        resolution = _attr(row, "resolution")
        if resolution is None:
            width, height = _attr(row, "width"), _attr(row, "height")
            try:
                resolution = resolution_of(int(width), int(height)) if width and height else None
            except (TypeError, ValueError):
                resolution = None
        duration = _attr(row, "duration", "source_duration")
        params = _attr(row, "params")
        if duration is None and isinstance(params, Mapping):
            duration = params.get("duration")
        try:
            secs = float(duration) if duration is not None else None
        except (TypeError, ValueError):
            secs = None
        if secs is not None and secs != secs:  # NaN from a DataFrame
            secs = None
        thumb = _attr(row, "thumbnail_path", "thumbnail", "thumbnail_url")
        return cls(
            key=str(_attr(row, "id", "history_id") or video_id),
            video_id=str(video_id),
            prompt=str(_attr(row, "prompt") or ""),
            created=created,
            model_id=str(_attr(row, "model_id", "model") or ""),
            duration=secs,
            resolution=resolution,
            thumbnail=str(thumb) if thumb else None,
        )


def when_text(value: Any) -> str:
    """A timestamp (epoch, datetime, ISO text) as local ``YYYY-MM-DD HH:MM`` for people."""
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        if value != value:  # NaN
            return ""
        value = datetime.fromtimestamp(value)
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp: its astimezone() needs an argument
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone()  # the ledger stores UTC; people read their own clock
        return str(value.strftime("%Y-%m-%d %H:%M"))
    return str(value)[:16]


def _rows(frame: Any) -> list[Any]:
    """Rows of a DataFrame (index included, e.g. ``id``) as dicts; lists of records pass through."""
    if frame is None:
        return []
    if hasattr(frame, "to_dict"):
        if getattr(frame.index, "name", None) is not None:
            frame = frame.reset_index()
        return list(frame.to_dict("records"))
    return list(frame)


def _default_generator(
    key: SecretStr | None, *, history: HistoryLike | None = None, budget: Decimal | None = None
) -> GeneratorLike | None:
    # The panel's own generator writes to the ledger the panel reads and enforces the panel's budget.
    try:
        module = importlib.import_module("sora2_widgets._generator")
    except ImportError:
        return None
    factory = module.Generator
    client_mod = importlib.import_module("sora2_widgets._client")
    if key is None:
        # No key: the client will fall back to the emulator. The panel's badge says so, so the
        # client's logged notice (a red stderr box above the panel in JupyterLab) is not needed.
        client_mod.mark_emulator_announced()
        return factory(history=history, budget=budget)  # type: ignore[no-any-return]
    return factory(client=client_mod.AsyncFalClient(key=key), history=history, budget=budget)  # type: ignore[no-any-return]


def _new_history() -> HistoryLike | None:
    try:
        module = importlib.import_module("sora2_widgets._history")
    except ImportError:
        return None
    return module.History()  # type: ignore[no-any-return]


class PanelController:
    """All the state of one panel. Setters validate, update and notify; getters derive the rest."""

    def __init__(
        self,
        generator: GeneratorLike | None = None,
        history: HistoryLike | None = None,
        *,
        key: str | SecretStr | None = None,
        budget: Decimal | int | str | None = None,
        confirm_above: Decimal | int | str = DEFAULT_CONFIRM_ABOVE,
        generator_factory: Callable[[SecretStr | None], GeneratorLike | None] | None = None,
        loop: BackgroundLoop | None = None,
    ) -> None:
        self._observers: list[Callable[[str], None]] = []
        self._lock = threading.RLock()
        self._factory = generator_factory or _default_generator
        resolved = resolve_key(key)
        self._key: SecretStr | None = resolved.secret if resolved else None
        self.key_source: str | None = resolved.source if resolved else None
        # The budget lives on the generator (it enforces it atomically with the ledger row); this
        # copy only serves generators without one (test doubles, or no generator at all).
        self._budget: Decimal | None = Decimal(str(budget)) if budget is not None else None
        found = getattr(generator, "history", None) if history is None else history
        self._history: HistoryLike | None = found
        # Generators and ledgers the panel made itself, and so closes (the user's stay open).
        self._owned_history: HistoryLike | None = None
        self._owned_generators: list[GeneratorLike] = []
        if generator is None:
            if self._history is None and self._factory is _default_generator:
                self._history = self._owned_history = _new_history()
            generator = self._make_generator(self._key, self._budget)
            if generator is not None:
                self._owned_generators.append(generator)
        elif budget is not None and hasattr(generator, "budget"):
            generator.budget = self._budget
        self._generator = generator
        if self._history is None:
            self._history = getattr(self._generator, "history", None)
        if self._history is None:
            self._history = self._owned_history = _new_history()
        self.confirm_above = Decimal(str(confirm_above))
        self._loop = loop or BackgroundLoop()
        self._version = 0
        self._armed_version: int | None = None
        self.unavailable: set[str] = set()

        self.tab = "text"
        self.selections: dict[str, tuple[str, ...]] = {
            "text": ("sora2_text_to_video",),
            "image": ("sora2_image_to_video",),
            "remix": ("sora2_video_to_video_remix",),
        }
        self.prompt = ""
        # Sora settings
        self.duration = 4
        self.aspect_ratio: dict[str, str] = {"text": "16:9", "image": "auto"}
        self.resolution: dict[str, str] = {"text": "1080p", "image": "auto"}
        self.keep_for_remix = True
        self.show_advanced = False
        self.snapshot = SORA_SNAPSHOTS[0]
        self.detect_and_block_ip = False
        self.character_ids = ""
        # Other (Kling) settings
        self.other_duration = "5"
        self.other_aspect_ratio = "16:9"
        self.negative_prompt = "blur, distort, and low quality"
        self.cfg_scale = 0.5
        # Sources
        self.image: ImageChoice | None = None
        self.image_error: str | None = None
        self.remix_key: str | None = None
        # Output. The status line is derived (see ``status``): a one-off message said on the current
        # tab, else the state of the jobs last started from this tab.
        self._message = ""
        self._message_warn = False
        self._batches: dict[str, list[JobState]] = {}
        self.jobs: list[JobState] = []
        self._futures: dict[int, Any] = {}
        # Per running job: the generator it runs on (a key change must not cut it off) and its high
        # estimate, counted against the budget from the click until the job ends (see committed()).
        self._job_generator: dict[int, GeneratorLike] = {}
        self._reserved: dict[int, Decimal] = {}
        self._job_observers: list[Callable[[JobState], None]] = []
        # History reads (SQLite) are cached between changes: the cost label is redrawn per keystroke.
        self._candidates: list[RemixCandidate] | None = None
        self._spent: Decimal | None = None
        self._committed: tuple[Any, Decimal] | None = None

    # -- observers ------------------------------------------------------------------------
    def observe(self, callback: Callable[[str], None]) -> None:
        """``callback(what)`` after every change; ``what`` names the changed part (or "jobs")."""
        self._observers.append(callback)

    def on_new_job(self, callback: Callable[[JobState], None]) -> None:
        self._job_observers.append(callback)

    def _changed(self, what: str, *, rearm: bool = True) -> None:
        if what in ("jobs", "history", "tab", "provider"):
            self._candidates = None
            self._spent = None
            self._committed = None
        if rearm:
            # Any change of what would be generated invalidates a pending confirmation.
            self._version += 1
            if self._armed_version is not None:
                self._armed_version = None
                self._message = ""
        for callback in list(self._observers):
            try:
                callback(what)
            except Exception:
                log.exception("panel observer failed")

    # -- provider and key -----------------------------------------------------------------
    @property
    def generator(self) -> GeneratorLike | None:
        return self._generator

    @property
    def history(self) -> HistoryLike | None:
        return self._history

    @property
    def provider(self) -> str:
        found = getattr(self._generator, "provider", None)
        if found is None:
            client = getattr(self._generator, "client", None)
            found = getattr(client, "provider", None)
        return str(found or ("fal" if self._key else "emulator"))

    @property
    def provider_label(self) -> str:
        if self.provider == "fal":
            return "fal.ai"
        return "Emulator (offline — nothing is charged)"

    @property
    def has_key(self) -> bool:
        return self._key is not None

    def set_key(self, value: str | SecretStr | None) -> None:
        """Take a key typed into the panel: held as SecretStr here only, never in a widget.

        The new generator writes to the same ledger and keeps the same budget; the old one is
        closed (its loop thread and resume pass) if the panel made it, once its running jobs end.
        """
        resolved = resolve_key(value) if value is not None else None
        if resolved is None and value is not None:
            return  # blank input: keep whatever we had
        self._key = resolved.secret if resolved else None
        self.key_source = "the panel's key field" if resolved else None
        old = self._generator
        generator = self._make_generator(self._key, self._budget_setting())
        if generator is not None:
            self._generator = generator
            self._owned_generators.append(generator)
            found = getattr(generator, "history", None)
            if found is not None:
                self._history = found
            if old is not None:
                self._retire(old)
        self._say("Key set: generating on fal.ai (charged to your account)." if self._key else "")
        self._changed("provider")

    def _make_generator(self, key: SecretStr | None, budget: Decimal | None) -> GeneratorLike | None:
        if self._factory is _default_generator:
            return _default_generator(key, history=self._history, budget=budget)
        generator = self._factory(key)
        if generator is not None and budget is not None and getattr(generator, "budget", None) is None:
            generator.budget = budget  # type: ignore[attr-defined]
        return generator

    def _retire(self, generator: GeneratorLike) -> None:
        """Close a generator the panel made and no longer uses, unless a job still runs on it."""
        if not any(generator is g for g in self._owned_generators) or generator is self._generator:
            return
        if any(g is generator for g in self._job_generator.values()):
            return  # closed by the last of its jobs (see ``_run``)
        self._owned_generators = [g for g in self._owned_generators if g is not generator]
        _close_quietly(generator, "the previous generator")

    # -- tabs and selection ---------------------------------------------------------------
    @property
    def mode(self) -> Mode | None:
        return Mode(self.tab) if self.tab in GENERATION_TABS else None

    def set_tab(self, tab: str) -> None:
        if tab not in dict(TABS):
            raise ValueError(f"unknown tab {tab!r}; tabs: {', '.join(dict(TABS))}")
        if tab != self.tab:
            self.tab = tab
            self._say("")  # a message belongs to the tab it was said on
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
    def sora_selected(self) -> tuple[ModelSpec, ...]:
        return tuple(s for s in self.selected if s.is_sora)

    @property
    def pro_selected(self) -> tuple[ModelSpec, ...]:
        return tuple(s for s in self.sora_selected if s.pro)

    @property
    def other_selected(self) -> tuple[ModelSpec, ...]:
        return tuple(s for s in self.selected if not s.is_sora)

    # -- visibility of settings -----------------------------------------------------------
    @property
    def show_sora_settings(self) -> bool:
        return bool(self.sora_selected)

    @property
    def show_duration(self) -> bool:
        return any("duration" in s.allowed for s in self.sora_selected)

    @property
    def show_aspect(self) -> bool:
        return bool(self.aspect_options)

    @property
    def show_resolution(self) -> bool:
        return bool(self.pro_selected) and bool(self.resolution_options)

    @property
    def show_other_settings(self) -> bool:
        return bool(self.other_selected)

    @property
    def show_other_aspect(self) -> bool:
        return bool(self.other_aspect_options)

    @property
    def show_remix_keep_note(self) -> bool:
        return self.tab == "remix"

    # -- options --------------------------------------------------------------------------
    @property
    def duration_options(self) -> tuple[int, ...]:
        # 4/8/12 (the launch durations) first, then the 16/20 s fal added later.
        if not self.show_duration:
            return ()
        allowed = set.intersection(*(set(s.allowed["duration"]) for s in self.sora_selected if "duration" in s.allowed))
        return tuple(d for d in SORA_DURATIONS if d in allowed)

    @staticmethod
    def _common(specs: Sequence[ModelSpec], field: str) -> tuple[str, ...]:
        sets = [s.allowed[field] for s in specs if field in s.allowed]
        if not sets:
            return ()
        first = sets[0]
        return tuple(v for v in first if all(v in other for other in sets[1:]))

    @property
    def aspect_options(self) -> tuple[str, ...]:
        return self._common(self.sora_selected, "aspect_ratio")

    @property
    def resolution_options(self) -> tuple[str, ...]:
        return self._common(self.pro_selected, "resolution")

    @property
    def other_duration_options(self) -> tuple[str, ...]:
        return self._common(self.other_selected, "duration")

    @property
    def other_aspect_options(self) -> tuple[str, ...]:
        return self._common(self.other_selected, "aspect_ratio")

    def current_aspect(self) -> str | None:
        opts = self.aspect_options
        if not opts:
            return None
        chosen = self.aspect_ratio.get(self.tab)
        return chosen if chosen in opts else opts[0]

    def current_resolution(self) -> str | None:
        opts = self.resolution_options
        if not opts:
            return None
        chosen = self.resolution.get(self.tab)
        if chosen in opts:
            return chosen
        default = self.pro_selected[0].defaults.get("resolution")
        return default if default in opts else opts[0]

    def current_other_duration(self) -> str | None:
        opts = self.other_duration_options
        return None if not opts else (self.other_duration if self.other_duration in opts else opts[0])

    def current_other_aspect(self) -> str | None:
        opts = self.other_aspect_options
        return None if not opts else (self.other_aspect_ratio if self.other_aspect_ratio in opts else opts[0])

    # -- setters --------------------------------------------------------------------------
    def _set(self, name: str, value: Any) -> None:
        if getattr(self, name) != value:
            setattr(self, name, value)
            self._changed(name)

    def set_prompt(self, text: str) -> None:
        self._set("prompt", text)

    def set_duration(self, seconds: int) -> None:
        if int(seconds) not in SORA_DURATIONS:
            raise ValueError(f"duration must be one of {SORA_DURATIONS}")
        self._set("duration", int(seconds))

    def set_aspect_ratio(self, value: str) -> None:
        if self.aspect_ratio.get(self.tab) != value:
            self.aspect_ratio[self.tab] = value
            self._changed("aspect_ratio")

    def set_resolution(self, value: str) -> None:
        if self.resolution.get(self.tab) != value:
            self.resolution[self.tab] = value
            self._changed("resolution")

    def set_keep_for_remix(self, keep: bool) -> None:
        self._set("keep_for_remix", bool(keep))

    def set_show_advanced(self, show: bool) -> None:
        if self.show_advanced != bool(show):
            self.show_advanced = bool(show)
            self._changed("advanced", rearm=False)

    def set_snapshot(self, value: str) -> None:
        self._set("snapshot", value)

    def set_detect_and_block_ip(self, value: bool) -> None:
        self._set("detect_and_block_ip", bool(value))

    def set_character_ids(self, text: str) -> None:
        self._set("character_ids", text)

    def set_other_duration(self, value: str) -> None:
        self._set("other_duration", str(value))

    def set_other_aspect_ratio(self, value: str) -> None:
        self._set("other_aspect_ratio", value)

    def set_negative_prompt(self, text: str) -> None:
        self._set("negative_prompt", text)

    def set_cfg_scale(self, value: float) -> None:
        self._set("cfg_scale", float(value))

    # -- budget: the generator's ----------------------------------------------------------
    def _budget_setting(self) -> Decimal | None:
        """The budget set in code (generator or panel), without the environment's fallback."""
        if self._generator is not None and hasattr(self._generator, "budget"):
            found: Decimal | None = self._generator.budget
            return found
        return self._budget

    @property
    def budget(self) -> Decimal | None:
        """The budget in USD: the generator's (which it enforces), else ``$SORA2_WIDGETS_BUDGET``."""
        found = self._budget_setting()
        return found if found is not None else budget_from_env()

    def set_budget(self, value: Decimal | int | str | None) -> None:
        """Set the budget where it is enforced: on the generator (and here, for a generator without one)."""
        amount = None if value is None else Decimal(str(value))
        if amount is not None and amount < 0:
            raise ValueError(f"the budget must not be negative, got {value}")
        if amount == self._budget_setting():
            return
        self._budget = amount
        if self._generator is not None and hasattr(self._generator, "budget"):
            self._generator.budget = amount
        self._changed("budget")

    def set_image(self, choice: ImageChoice | None, error: str | None = None) -> None:
        self.image = choice
        self.image_error = error
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

    # -- remix sources --------------------------------------------------------------------
    def remix_candidates(self) -> list[RemixCandidate]:
        """Earlier Sora videos that can still be remixed (cached until the history changes)."""
        if self._candidates is None:
            self._candidates = self._read_candidates()
        return list(self._candidates)

    def _read_candidates(self) -> list[RemixCandidate]:
        if self._history is None:
            return []
        try:
            try:
                # The real History: typed records, and only videos of the current provider (a fal
                # video_id means nothing to the emulator and vice versa).
                found: Any = self._history.remix_candidates(provider=self.provider, as_records=True)  # type: ignore[call-arg]
            except TypeError:
                found = self._history.remix_candidates()
            rows = _rows(found)
        except Exception:
            log.exception("could not read remix candidates")
            return []
        found = [RemixCandidate.from_row(r) for r in rows]
        return [c for c in found if c is not None]

    def refresh_history(self) -> None:
        """Re-read the history (after something outside the panel changed it)."""
        self._changed("history", rearm=False)

    @property
    def remix_source(self) -> RemixCandidate | None:
        for cand in self.remix_candidates():
            if cand.key == self.remix_key:
                return cand
        return None

    # -- request parameters ---------------------------------------------------------------
    def settings_for(self, spec: ModelSpec) -> dict[str, Any]:
        """The settings sent to ``spec`` (no prompt / image / video id): what the price depends on."""
        fields = spec.input_model.model_fields
        out: dict[str, Any] = {}
        if spec.is_sora:
            if "duration" in fields:
                out["duration"] = self.duration
            aspect = self.current_aspect()
            if "aspect_ratio" in fields and aspect in spec.aspect_ratios:
                out["aspect_ratio"] = aspect
            resolution = self.current_resolution()
            if spec.pro and resolution in spec.resolutions:
                out["resolution"] = resolution
            out["delete_video"] = not self.keep_for_remix
            if "model" in fields and self.snapshot != SORA_SNAPSHOTS[0]:
                out["model"] = self.snapshot
            if "detect_and_block_ip" in fields and self.detect_and_block_ip:
                out["detect_and_block_ip"] = True
            ids = [c.strip() for c in self.character_ids.split(",") if c.strip()]
            if "character_ids" in fields and ids:
                out["character_ids"] = ids
        else:
            duration = self.current_other_duration()
            if "duration" in fields and duration is not None:
                out["duration"] = duration
            aspect = self.current_other_aspect()
            if "aspect_ratio" in fields and aspect is not None:
                out["aspect_ratio"] = aspect
            if "negative_prompt" in fields:
                out["negative_prompt"] = self.negative_prompt
            if "cfg_scale" in fields:
                out["cfg_scale"] = self.cfg_scale
        return out

    def params_for(self, spec: ModelSpec) -> dict[str, Any]:
        """The full request for ``spec``: settings plus prompt and the mode's source."""
        out = {"prompt": self.prompt, **self.settings_for(spec)}
        fields = spec.input_model.model_fields
        if "image_url" in fields and self.image is not None:
            out["image_url"] = self.image.image_url
        source = self.remix_source
        if "video_id" in fields and source is not None:
            out["video_id"] = source.video_id
        return out

    # -- money ----------------------------------------------------------------------------
    def estimates(self) -> list[tuple[ModelSpec, CostEstimate | None, str | None]]:
        """Per selected model: its estimate, or ``None`` and the reason it cannot be priced."""
        out: list[tuple[ModelSpec, CostEstimate | None, str | None]] = []
        source = self.remix_source
        for spec in self.selected:
            try:
                est = spec.estimate(
                    self.settings_for(spec),
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

    def spent(self) -> Decimal:
        """Total spent so far according to the history (cached until the history changes)."""
        if self._spent is None:
            self._spent = self._read_spent()
        return self._spent

    def _read_spent(self) -> Decimal:
        history = self._history
        if history is None:
            return Decimal(0)
        for name in ("total_spent", "spent"):
            fn = getattr(history, name, None)
            if callable(fn):
                try:
                    return Decimal(str(fn()))
                except Exception:
                    log.exception("could not read the total spent")
        try:
            frame = history.df
            column = next((c for c in ("cost", "cost_usd") if frame is not None and c in frame), None)
            if column is not None:
                return sum((Decimal(str(v)) for v in frame[column].dropna()), Decimal(0))
        except Exception:
            log.exception("could not read the history's costs")
        return Decimal(0)

    def committed(self) -> Decimal:
        """Spent plus the high estimate of every job still running: what the budget must cover.

        The ledger gives what everyone else has spent and reserved (other kernels included); the
        panel adds its own running jobs' high estimates from the moment of the click, so quick
        clicks cannot each pass. The generator's check, atomic with the ledger row, still decides.
        """
        running = tuple(j.id for j in self.jobs if not j.done)
        cached = self._committed
        if cached is None or cached[0] != running:
            cached = self._committed = (running, self._read_committed())
        # The panel's own running jobs count here, from the click to their end, and are left out
        # of the ledger's figure: counted once whether or not their row is written yet (a job
        # counted by both refused a click that fitted the budget).
        mine = sum((self._reserved.get(j, Decimal(0)) for j in running), Decimal(0))
        return cached[1] + mine

    def _read_committed(self) -> Decimal:
        fn = getattr(self._history, "committed", None)
        if callable(fn):
            owners = {getattr(g, "owner", None) for g in (self._generator, *self._job_generator.values())}
            try:
                return Decimal(str(fn(exclude_owners=sorted(o for o in owners if isinstance(o, str)))))
            except Exception:
                log.exception("could not read the committed spend")
        return self._read_spent()

    @property
    def budget_left(self) -> Decimal | None:
        budget = self.budget
        return None if budget is None else max(budget - self.committed(), Decimal(0))

    def cost_lines(self) -> list[str]:
        """The cost label as lines: the total first, then one line per model, then the budget."""
        rows = self.estimates()
        if not rows:
            return ["Total: $0.00 — select a model"]
        est = self.total_cost
        notes = list(dict.fromkeys(one.note for _, one, _ in rows if one is not None and one.note))
        lines = [f"Total: {est}" + (f" (a range: {'; '.join(notes)})" if not est.is_exact and notes else "")]
        for spec, one, why in rows:
            if one is None:
                lines.append(f"{spec.name}: cannot price — {why}")
            else:
                note = f" ({one.note})" if one.note else ""
                lines.append(f"{spec.name}: {one}{note}")
        budget = self.budget
        left = self.budget_left
        if left is not None and budget is not None:
            lines.append(f"Budget left: {format_usd(left)} of {format_usd(budget)}")
        return lines

    # -- can we generate? -----------------------------------------------------------------
    @property
    def blockers(self) -> list[str]:
        """Why Generate is disabled, in plain words (empty: it is enabled)."""
        reasons: list[str] = []
        if self.tab not in GENERATION_TABS:
            return ["Pick the Text, Image or Remix tab to generate."]
        if not self.selected:
            reasons.append("Select at least one model.")
        gone = [s.name for s in self.selected if s.id in self.unavailable]
        if gone:
            reasons.append(f"{', '.join(gone)} is no longer available on the service; unselect it.")
        if not self.prompt.strip():
            reasons.append("Write a prompt.")
        elif self.remaining < 0:
            reasons.append(f"The prompt is too long: {self.counter_text}.")
        if self.tab == "image" and self.image is None:
            reasons.append("Choose a start image (URL, upload or local path).")
        if self.tab == "remix" and self.selected and self.remix_source is None:
            reasons.append("Pick a video to remix.")
        for spec, est, why in self.estimates():
            if est is None:
                reasons.append(f"{spec.name}: {why}")
        left = self.budget_left
        if left is not None and self.selected and self.total_cost.high > left:
            reasons.append(f"This could cost {self.total_cost} but only {format_usd(left)} of your budget is left.")
        if self._generator is None:
            reasons.append("Generation is not available in this installation (no generator).")
        return reasons

    @property
    def can_generate(self) -> bool:
        return not self.blockers

    @property
    def needs_confirmation(self) -> bool:
        return self.total_cost.high > self.confirm_above

    @property
    def confirmation_pending(self) -> bool:
        return self._armed_version == self._version

    # -- status line ----------------------------------------------------------------------
    def _say(self, text: str, *, warn: bool = False) -> None:
        self._message = text
        self._message_warn = warn and bool(text)

    def notify(self, text: str, *, warn: bool = False) -> None:
        """Show a one-off message in the status line of the current tab (until the tab changes)."""
        self._say(text, warn=warn)
        self._changed("status", rearm=False)

    @property
    def status(self) -> str:
        """The status line: a message said on this tab, else the state of this tab's last jobs.

        It follows the jobs ("1 job running: Sora 2." → "Done: 1 completed.") and is per tab:
        jobs started on the Text tab are not reported on the Remix tab.
        """
        if self._message:
            return self._message
        return self.jobs_summary(self._batches.get(self.tab, ()))

    @property
    def status_warn(self) -> bool:
        return bool(self._message) and (self._message_warn or self.confirmation_pending)

    @staticmethod
    def jobs_summary(jobs: Sequence[JobState]) -> str:
        if not jobs:
            return ""
        running = [j for j in jobs if not j.done]
        if running:
            names = ", ".join(j.spec.name for j in running)
            return f"{len(running)} job{'s' if len(running) > 1 else ''} running: {names}."
        counts = {
            "completed": sum(j.status == JobStatus.DONE for j in jobs),
            "failed": sum(j.status == JobStatus.FAILED for j in jobs),
            "cancelled": sum(j.status == JobStatus.CANCELLED for j in jobs),
        }
        return "Done: " + ", ".join(f"{n} {word}" for word, n in counts.items() if n) + "."

    # -- generate / cancel ----------------------------------------------------------------
    def generate(self) -> list[JobState]:
        """Start one job per selected model; a costly selection needs a second call to confirm."""
        reasons = self.blockers
        if reasons:
            self._say(reasons[0], warn=True)
            self._changed("status", rearm=False)
            return []
        if self.needs_confirmation and not self.confirmation_pending:
            self._armed_version = self._version
            self._say(
                f"This could cost {self.total_cost}, above {format_usd(self.confirm_above)}. "
                "Click Generate again to confirm.",
                warn=True,
            )
            self._changed("status", rearm=False)
            return []
        self._armed_version = None
        generator = self._generator
        assert generator is not None  # a blocker otherwise
        highs = [est.high if est is not None else Decimal(0) for _, est, _ in self.estimates()]
        started = [JobState(spec, self.params_for(spec)) for spec in self.selected]
        for job, high in zip(started, highs, strict=True):
            self._reserved[job.id] = high
            self._job_generator[job.id] = generator
            self.jobs.insert(0, job)
            for callback in list(self._job_observers):
                callback(job)
            # The generator prices a remix from its source in the history itself.
            self._futures[job.id] = self._loop.submit(self._run(job))
        self._batches[self.tab] = started
        self._say("")  # from now on the status follows these jobs
        self._changed("jobs", rearm=False)
        return started

    async def _run(self, job: JobState) -> None:
        import asyncio

        generator = self._job_generator.get(job.id) or self._generator
        assert generator is not None  # blockers() refused to start without one

        async def ticker() -> None:
            while True:
                await asyncio.sleep(1.0)
                job.tick()

        tick = asyncio.ensure_future(ticker())
        try:
            generation = await generator.agenerate(job.spec.id, on_update=job.apply_update, **job.params)
            job.complete(generation)
        except asyncio.CancelledError:
            job.cancelled()
            raise
        except JobCancelledError as exc:
            job.cancelled(exc.message)
        except Sora2Error as exc:
            from .._errors import ModelUnavailableError

            if job.status == JobStatus.CANCELLING:
                # The user asked to cancel and the job then ended without a video: that is the
                # cancellation they asked for, whatever words the service used for it.
                job.cancelled(f"{exc.title}: {exc.message}")
                return

            if isinstance(exc, ModelUnavailableError):
                self.unavailable.add(job.spec.id)
            job.fail(exc.title, exc.message)
        except Exception as exc:
            # Never a traceback on a card: a plain sentence there, the details in the log.
            log.exception("job %s (%s) failed unexpectedly", job.id, job.spec.id)
            job.fail("Unexpected error", f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        finally:
            tick.cancel()
            self._futures.pop(job.id, None)
            self._reserved.pop(job.id, None)
            self._job_generator.pop(job.id, None)
            if generator is not self._generator:
                # Its last job may just have ended after a key change; closing blocks, so not on this loop.
                await asyncio.to_thread(self._retire, generator)
            self._changed("jobs", rearm=False)

    def cancel(self, job: JobState) -> bool:
        """Cancel a running job on the service. False if it already finished.

        Once the job has a history row, the generator's ``acancel(history_id)`` cancels it on the
        service and the job ends as cancelled (and is recorded so). Before that (still submitting),
        the task is cancelled: the generator then records what the submit did and cancels the job.
        """
        future = self._futures.get(job.id)
        if job.done or future is None:
            return False
        job.cancelling()
        acancel = getattr(self._generator, "acancel", None)
        if job.history_id is not None and callable(acancel):
            history_id = job.history_id

            async def ask() -> None:
                try:
                    accepted = await acancel(history_id)
                except Exception:
                    log.exception("cancel of history row %s failed; cancelling the task", history_id)
                    accepted = False
                if not accepted and not job.done:
                    future.cancel()

            self._loop.submit(ask())
        else:
            future.cancel()
        return True

    def wait(self, timeout: float | None = None) -> None:
        """Block until every running job finished (for tests and scripts, not for notebook cells)."""
        import concurrent.futures

        pending = list(self._futures.values())
        if pending:
            concurrent.futures.wait(pending, timeout=timeout)

    def close(self) -> None:
        """Cancel running jobs and stop the panel's loop; close what the panel made (not yours)."""
        for future in list(self._futures.values()):
            future.cancel()
        self._loop.close()
        self._job_generator.clear()
        for generator in list(self._owned_generators):
            _close_quietly(generator, "the panel's generator")
        self._owned_generators = []
        closer = getattr(self._owned_history, "close", None)
        if callable(closer):
            closer()
        self._owned_history = None

    # -- history and spend ----------------------------------------------------------------
    def history_frame(self, *, model: str | None = None, status: str | None = None) -> Any:
        """The history DataFrame, newest first, optionally filtered by model id and status."""
        if self._history is None:
            return None
        frame = self._history.df
        if frame is None or len(frame) == 0:
            return frame
        if getattr(frame.index, "name", None) is not None:
            frame = frame.reset_index()
        if "deleted" in frame:
            frame = frame[~frame["deleted"].astype(bool)]  # soft-deleted rows keep their money, not their place
        for col in ("created_at", "submitted_at", "created"):
            if col in frame:
                frame = frame.sort_values(col, ascending=False, kind="stable")
                break
        if model and "model_id" in frame:
            frame = frame[frame["model_id"] == model]
        if status and "status" in frame:
            frame = frame[frame["status"] == status]
        return frame

    def delete_history(self, ids: Sequence[Any]) -> int:
        if self._history is None or not ids:
            return 0
        fn = getattr(self._history, "delete", None)
        if not callable(fn):
            return 0
        count = 0
        for one in ids:
            try:
                fn(int(one) if isinstance(one, str) and one.isdigit() else one)
                count += 1
            except (KeyError, LookupError, ValueError):
                log.warning("history row %s was already gone", one)
        self._say(f"Deleted {count} row{'s' if count != 1 else ''} from the history.")
        self._changed("history", rearm=False)
        return count

    def spend_frames(self) -> tuple[Any, Any]:
        if self._history is None:
            return None, None
        try:
            return self._history.spend(by="model"), self._history.spend(by="day")
        except Exception:
            log.exception("could not compute spend")
            return None, None


def local_file(value: str | None) -> Path | None:
    """A thumbnail/video reference that is a readable local file, else ``None``."""
    if not value or "://" in value:
        return None
    path = Path(value)
    return path if path.is_file() else None


__all__ += ["AUTO_EXPLANATION", "KEEP_EXPLANATION", "KLING_PROMPT_LIMIT", "local_file", "when_text"]


def _close_quietly(thing: object, what: str) -> None:
    """Close what the panel made; a failure to close is logged, never raised into a widget callback."""
    close = getattr(thing, "close", None)
    if callable(close):
        try:
            close()
        except Exception:
            log.exception("could not close %s", what)
