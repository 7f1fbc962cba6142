"""The composer the Text, Image and Remix tabs share: models, prompt and counter, the ticked
models' settings (built from the catalog's schemas, ``_settings_view.py``; Sora's too), the cost
label, Generate and the status line.

One composer exists; the view moves it into the active generation tab, so the page holds one
copy of each input (and browser tests find exactly one). What it shows is the active tab's own
prompt and settings (the controller keeps one set per tab).

The model picker is a column of checkboxes (the README says "tick"; a Ctrl-click list was hard to
use and its unfocused selection was grey on grey). :class:`ModelPicker` keeps a
``SelectMultiple``-like ``options`` / ``value`` pair, so code and tests set it the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as w
import traitlets

from ._controller import PanelController
from ._settings_view import SchemaSettings
from ._widgets import EventGuard, cls, esc, set_status, show

__all__ = ["Composer", "ModelPicker"]


class ModelPicker(w.VBox):  # type: ignore[misc]
    """One checkbox per model; ``value`` is the ticked model ids in ``options`` order.

    ``options`` and ``value`` are kernel-side traits only (not synced): the checkboxes are the
    browser's view of them.
    """

    options = traitlets.Tuple()
    value = traitlets.Tuple()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._boxes: dict[str, w.Checkbox] = {}
        # One set of checkboxes per list of models (one per tab): switching tabs re-uses them
        # instead of making (and leaking) new widgets each time.
        self._sets: dict[tuple[Any, ...], dict[str, w.Checkbox]] = {}
        self._syncing = False
        #: Model id -> its badges ("new", "unconfirmed price", "retired 2026-09-24"), set before ``options``.
        self.badges: dict[str, tuple[str, ...]] = {}

    @traitlets.observe("options")
    def _on_options(self, change: dict[str, Any]) -> None:
        key = tuple(change["new"])
        if key not in self._sets:
            self._sets[key] = {
                model_id: self._checkbox(label, model_id, self.badges.get(model_id, ())) for label, model_id in key
            }
        self._boxes = self._sets[key]
        self._on_value({"new": self.value})
        # Every tab's checkboxes stay children, the other tabs' hidden: a model the panel holds
        # but no box shows would still be saved with the notebook, where nothing could reach it.
        current = {id(box) for box in self._boxes.values()}
        everyone = [box for boxes in self._sets.values() for box in boxes.values()]
        for box in everyone:
            box.layout.display = "" if id(box) in current else "none"
        self.children = tuple(everyone)

    def _checkbox(self, label: str, model_id: str, badges: Sequence[str] = ()) -> w.Checkbox:
        # A description is typeset by MathJax in JupyterLab: "$0.30/s … $0.50/s" became LaTeX.
        # As HTML in a span MathJax ignores, the prices stay text (escaped: labels are ours, still).
        marks = "".join(f' <span class="sw-badge sw-badge-{esc(b.split()[0])}">{esc(b)}</span>' for b in badges)
        text = f'<span class="tex2jax_ignore mathjax_ignore">{esc(label)}{marks}</span>'
        label = " · ".join((label, *badges))
        box = cls(
            w.Checkbox(
                description=text,
                description_allow_html=True,
                tooltip=label,
                indent=False,
                layout=w.Layout(width="auto"),
            ),
            "sw-model-option",
            f"sw-model-{model_id}",
        )
        box.observe(self._on_tick, names="value")
        return box

    @traitlets.observe("value")
    def _on_value(self, change: dict[str, Any]) -> None:
        self._syncing = True
        try:
            for model_id, box in self._boxes.items():
                box.value = model_id in change["new"]
        finally:
            self._syncing = False

    def close(self) -> None:
        """Close every tab's checkboxes too (those not on screen are not among the children)."""
        for boxes in self._sets.values():
            for box in boxes.values():
                box.close()
        super().close()

    def _on_tick(self, _change: dict[str, Any]) -> None:
        if not self._syncing:
            self.value = tuple(m for m, box in self._boxes.items() if box.value)

    def set(
        self,
        options: Sequence[tuple[str, str]],
        value: Sequence[str],
        badges: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        """Redraw: new options and ticks only when they changed."""
        if badges is not None:
            self.badges.update(badges)
        if tuple(self.options) != tuple(options):
            self.options = tuple(options)
        if tuple(self.value) != tuple(value):
            self.value = tuple(value)


class Composer:
    """The composer's widgets (each with its ``sw-…`` class) and how they redraw from the controller."""

    def __init__(self, ctl: PanelController, event: EventGuard) -> None:
        self._ctl = ctl
        # width "auto" (stretched by the column), not "100%": with the description label and the
        # widget margins "100%" ran past the container's right edge (see the CSS for the input).
        self.models = cls(ModelPicker(layout=w.Layout(width="auto")), "sw-models")
        self.models.observe(lambda ch: event(ctl.select, tuple(ch["new"])), names="value")
        self.models_title = cls(w.HTML("Models"), "sw-box-title", "sw-models-title")
        self.prompt = cls(
            w.Textarea(
                placeholder="Describe the video: subject, action, camera, light, sound…",
                description="Prompt",
                continuous_update=True,
                layout=w.Layout(width="auto", height="90px"),
            ),
            "sw-prompt",
        )
        self.prompt.observe(lambda ch: event(ctl.set_prompt, ch["new"]), names="value")
        self.counter = cls(w.HTML(), "sw-counter")
        self.settings = self._settings_box(ctl, event)
        self.cost = cls(w.HTML(), "sw-cost")
        self.generate = cls(w.Button(description="Generate", icon="play", button_style="primary"), "sw-generate")
        self.generate.on_click(lambda _b: ctl.generate())
        self.status = cls(w.HTML(), "sw-status")
        # "Run the same jobs again?": asked instead of starting them, answered here.
        self.question = cls(w.HTML(), "sw-question-text")
        self.confirm = cls(w.Button(description="Run again", icon="play", button_style="warning"), "sw-confirm")
        self.confirm.on_click(lambda _b: ctl.confirm_repeat())
        # Not "Cancel": the job cards below have Cancel buttons that stop running jobs.
        self.dismiss = cls(w.Button(description="Don't run again", icon="times"), "sw-dismiss")
        self.dismiss.on_click(lambda _b: ctl.dismiss())
        self.question_row = cls(
            w.HBox([self.question, self.confirm, self.dismiss], layout=w.Layout(align_items="center")),
            "sw-question",
            "sw-row",
        )
        self.box = w.VBox(
            [
                self.models_title,
                self.models,
                self.prompt,
                self.counter,
                self.settings,
                self.cost,
                w.HBox([self.generate, self.status], layout=w.Layout(align_items="center")),
                self.question_row,
            ]
        )

    def _settings_box(self, ctl: PanelController, event: EventGuard) -> w.VBox:
        self.schema = SchemaSettings(ctl, event)
        self.settings_title = self.schema.title
        self.duration = self.schema.duration
        self.aspect = self.schema.aspect
        self.negative = self.schema.negative
        self.cfg = self.schema.cfg
        self.audio = self.schema.audio
        # Live references: the panel's close() closes every widget its parts hold, shown or not.
        self.schema_widgets = (
            self.schema.slots,
            self.schema.group_parts,
            self.schema.shots_hint,
            self.schema.hints,
            self.schema.hinted,
        )
        box: w.VBox = self.schema.box
        return box

    # -- controller -> widgets --------------------------------------------------------------
    def draw(self) -> None:
        self._draw_prompt()
        self.schema.draw()
        self._draw_cost_and_button()

    def _draw_prompt(self) -> None:
        ctl = self._ctl
        options = [(ctl.model_label(s), s.id) for s in ctl.models]
        badges = {s.id: ctl.model_badges(s) for s in ctl.models}
        self.models.set(options, tuple(ctl.selections[ctl.tab]), badges)
        self.prompt.placeholder = f"Describe the video (up to {ctl.prompt_limit} characters)…"
        if self.prompt.value != ctl.prompt:
            self.prompt.value = ctl.prompt
        self.counter.value = esc(ctl.counter_text)
        if ctl.remaining < 0:
            self.counter.add_class("sw-over")
        else:
            self.counter.remove_class("sw-over")

    def _draw_cost_and_button(self) -> None:
        ctl = self._ctl
        lines = ctl.cost_lines()
        items = "".join(f"<li>{esc(line)}</li>" for line in lines[1:])
        self.cost.value = f'<div class="sw-total">{esc(lines[0])}</div><ul>{items}</ul>'
        blockers = ctl.blockers
        submitting, question = ctl.submitting, ctl.question
        self.generate.disabled = bool(blockers) or submitting or question is not None
        pending = ctl.confirmation_pending
        self.generate.description = "Submitting…" if submitting else "Confirm: generate" if pending else "Generate"
        self.generate.button_style = "warning" if pending else "primary"
        show(self.question_row, question is not None)
        self.question.value = f"<b>{esc(question or '')}</b>"
        if blockers:
            self.generate.tooltip = blockers[0]
            set_status(self.status, blockers[0], warn=True)
        else:
            self.generate.tooltip = "Start one job per selected model"
            set_status(self.status, ctl.status, warn=ctl.status_warn)
