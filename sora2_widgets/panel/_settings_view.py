"""The widgets of the schema-built settings (``_settings.py``): one per field, by its kind.

A widget is made once per *slot*: the n-th field of a name and kind in the layout (the first
``duration`` menu, the first ``generate_audio`` checkbox…), and re-used as ticks move that field
between "All selected models" and a family's group. So ticking models never leaks widget models,
and ``panel.duration`` stays the same widget while it shows Sora's, Kling's, Veo's or everyone's.
A field with a hint (``ui.fields`` in its entry: Sora's "Keep for remix") gets the hint beside it,
in a row of its own slot.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ._controller import PanelController
from ._settings import Field, Group
from ._widgets import EventGuard, cls, esc, set_options, show

__all__ = ["SchemaSettings"]

_SHOTS_HINT = "One shot per line: seconds | what it shows (e.g. 5 | a fox runs). Replaces the prompt."


class SchemaSettings:
    """The box of every ticked model's settings, grouped as the layout says."""

    def __init__(self, ctl: PanelController, event: EventGuard) -> None:
        self._ctl = ctl
        self._event = event
        self.slots: dict[tuple[str, str, int], Any] = {}
        self._keys: dict[int, str] = {}  # id(widget) -> the field key it shows now
        self.group_parts: dict[str, tuple[w.HTML, w.Box, w.VBox, w.VBox, w.HTML, w.VBox]] = {}
        #: Per slot with a hint: the hint's text, and the row that holds the widget and its hint.
        self.hints: dict[tuple[str, str, int], w.HTML] = {}
        self.hinted: dict[tuple[str, str, int], w.HBox] = {}
        self.title = w.HTML()
        self.advanced = cls(w.ToggleButton(description="Advanced", icon="cog"), "sw-settings-advanced")
        self.advanced.observe(lambda ch: event(ctl.set_show_advanced, ch["new"]), names="value")
        self.groups_box = w.VBox()
        # Below the Advanced button: each group's advanced fields under its title.
        self.advanced_groups = w.VBox()
        self.shots_hint = cls(w.HTML(esc(_SHOTS_HINT)), "sw-hint", "sw-shots-hint")
        # Slots the current ticks do not use stay in the page, hidden: a widget no box holds would
        # still be saved with the notebook, where nothing could reach it.
        self.spare = w.VBox(layout=w.Layout(display="none"))
        self.box = cls(
            w.VBox([self.title, self.groups_box, self.advanced, self.advanced_groups, self.spare]),
            "sw-schema-settings",
            "sw-box",
        )
        # The slots tests and the panel name (made now, so the panel can expose them from the start).
        self.duration = self.slot("duration", "choice", 0)
        self.aspect = self.slot("aspect_ratio", "choice", 0)
        self.negative = self.slot("negative_prompt", "text", 0)
        self.cfg = self.slot("cfg_scale", "slider", 0)
        self.audio = self.slot("generate_audio", "toggle", 0)
        for widget in (self.duration, self.aspect, self.negative, self.cfg, self.audio):
            show(widget, False)

    # -- widgets ----------------------------------------------------------------------------
    def slot(self, name: str, kind: str, n: int) -> Any:
        key = (name, kind, n)
        widget = self.slots.get(key)
        if widget is None:
            widget = self.slots[key] = self._make(name, kind)
        return widget

    def _make(self, name: str, kind: str) -> Any:
        widget: Any
        if kind == "choice":
            widget = w.Dropdown()
        elif kind == "toggle":
            widget = w.Checkbox(indent=False, layout=w.Layout(width="auto"))
        elif kind == "slider":
            widget = w.FloatSlider(continuous_update=False)
        elif kind == "shots":
            widget = w.Textarea(
                placeholder="5 | a fox runs into the snow\n3 | it jumps", layout=w.Layout(width="auto", height="70px")
            )
        else:  # number, text, list: typed text, checked when it would be sent
            widget = w.Text(layout=w.Layout(width="auto"), continuous_update=False)
        extra = ("sw-audio",) if name == "generate_audio" else ()
        cls(widget, "sw-setting", f"sw-setting-{name.replace('_', '-')}", *extra)
        widget.observe(lambda ch: self._on_change(widget, ch["new"]), names="value")
        return widget

    def _on_change(self, widget: Any, value: Any) -> None:
        key = self._keys.get(id(widget))
        if key is not None:
            self._event(self._ctl.set_setting, key, value)

    def _draw_field(self, fld: Field, widget: Any) -> None:
        self._keys[id(widget)] = fld.key
        widget.description = fld.label
        if len(fld.label) > 12 and fld.kind not in ("toggle",):  # "Safety tolerance" was cut to "Safety tol…"
            widget.style.description_width = "initial"
        widget.tooltip = fld.hint or fld.description or fld.label
        if fld.kind in ("text", "number", "list"):
            widget.placeholder = fld.placeholder
        value = self._ctl.setting_value(fld)
        if fld.kind == "choice":
            set_options(widget, [(fld.option_label(v), v) for v in fld.options], value)
        elif fld.kind == "slider":
            lo, hi = fld.minimum or 0.0, fld.maximum if fld.maximum is not None else 1.0
            if lo > widget.max:  # never min > max on the way
                widget.max, widget.min = hi, lo
            else:
                widget.min, widget.max = lo, hi
            widget.step = 1.0 if fld.integer else (hi - lo) / 20 or 0.05
            if widget.value != value:
                widget.value = value
        elif widget.value != value:
            widget.value = value
        show(widget, True)

    # -- controller -> widgets --------------------------------------------------------------
    def draw(self) -> None:
        ctl = self._ctl
        groups = ctl.settings_groups
        show(self.box, bool(ctl.selected))
        used: set[tuple[str, str, int]] = set()
        counts: dict[tuple[str, str], int] = {}
        boxes, more_boxes = [], []
        for group in groups:
            basic: list[Any] = []
            advanced: list[Any] = []
            for fld in group.fields:
                n = counts.get((fld.name, fld.kind), 0)
                counts[(fld.name, fld.kind)] = n + 1
                widget = self.slot(fld.name, fld.kind, n)
                used.add((fld.name, fld.kind, n))
                self._draw_field(fld, widget)
                (advanced if fld.advanced else basic).append(self._with_hint(fld, (fld.name, fld.kind, n), widget))
                if fld.kind == "shots" and n == 0:
                    (advanced if fld.advanced else basic).append(self.shots_hint)
            box, more_box = self._group_box(group, basic, advanced)
            boxes.append(box)
            more_boxes.append(more_box)
        spare: list[Any] = []
        for key, widget in self.slots.items():
            if key not in used:
                self._keys.pop(id(widget), None)
                show(widget, False)
                spare.append(widget)
        drawn = (*boxes, *more_boxes)
        placed = {id(x) for box in drawn for part in box.children for x in getattr(part, "children", ())}
        spare += [row for row in self.hinted.values() if id(row) not in placed]
        spare += [box for parts in self.group_parts.values() for box in (parts[3], parts[5]) if box not in drawn]
        if tuple(self.spare.children) != tuple(spare):
            self.spare.children = tuple(spare)
        if tuple(self.groups_box.children) != tuple(boxes):
            self.groups_box.children = tuple(boxes)
        if tuple(self.advanced_groups.children) != tuple(more_boxes):
            self.advanced_groups.children = tuple(more_boxes)
        names = ", ".join(s.name for s in ctl.selected)
        self.title.value = f'<span class="sw-box-title">{esc(names)} settings</span>'
        has_advanced = any(g.advanced for g in groups)
        show(self.advanced, has_advanced)
        self.advanced.value = ctl.show_advanced

    def _with_hint(self, fld: Field, key: tuple[str, str, int], widget: Any) -> Any:
        """``widget``, or the row of ``widget`` and its one-line hint when its field has one to show."""
        if not fld.shows_hint:
            return widget
        hint = self.hints.get(key)
        if hint is None:
            hint = self.hints[key] = cls(w.HTML(), "sw-hint", f"sw-setting-{fld.name.replace('_', '-')}-hint")
            self.hinted[key] = cls(w.HBox([widget, hint]), "sw-hinted")
        hint.value = esc(fld.hint)
        return self.hinted[key]

    def _group_box(self, group: Group, basic: list[Any], advanced: list[Any]) -> tuple[w.VBox, w.VBox]:
        """The group's box of basic settings, and the box of its advanced ones (shown under Advanced)."""
        parts = self.group_parts.get(group.key)
        if parts is None:
            title, more_title = w.HTML(), w.HTML()
            row = cls(w.HBox(layout=w.Layout(flex_flow="row wrap")), "sw-row")
            more = cls(w.VBox(), "sw-settings-advanced-fields")
            css = f"sw-settings-{group.key.replace('_', '-')}"
            box = cls(w.VBox([title, row]), "sw-settings-group", css)
            more_box = cls(w.VBox([more_title, more]), "sw-settings-advanced-group", f"{css}-advanced")
            parts = self.group_parts[group.key] = (title, row, more, box, more_title, more_box)
        title, row, more, box, more_title, more_box = parts
        title.value = f'<span class="sw-group-title">{esc(group.title)}</span>'
        more_title.value = f'<span class="sw-group-title">{esc(group.title)}: advanced</span>'
        show(row, bool(basic))
        if tuple(row.children) != tuple(basic):
            row.children = tuple(basic)
        if tuple(more.children) != tuple(advanced):
            more.children = tuple(advanced)
        visible = self._ctl.show_advanced and bool(advanced)
        show(more, visible)
        show(more_box, visible)
        return box, more_box

    def close(self) -> None:
        for widget in (*self.slots.values(), *self.hints.values(), *self.hinted.values(), self.shots_hint):
            widget.close()
