"""``Sora2Panel``: the ipywidgets 8 view over :class:`PanelController` (no custom JavaScript).

The view is thin: widget events call controller setters, and every controller
change redraws the widgets from the controller's state. Every widget a test or a
user might point at carries a stable ``sw-…`` CSS class (see ``CSS_CLASSES``), so
browser tests never depend on ipywidgets' internal DOM.

Secrets: the key field is an ``ipywidgets.Password`` whose value *is* synced widget
state. It only syncs on Enter/blur (``continuous_update=False``); the moment a value
arrives it is moved into the controller as a ``SecretStr`` and the widget is cleared,
so no widget state (and no saved notebook) ever holds the key.
"""

from __future__ import annotations

import html
import io
import threading
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import ipywidgets as w

from .._pricing import format_usd
from ._cards import JobCard
from ._controller import (
    AUTO_EXPLANATION,
    KEEP_EXPLANATION,
    TABS,
    PanelController,
    RemixCandidate,
    local_file,
    when_text,
)
from ._jobs import JobState, log
from ._media import image_from_bytes, image_from_path, image_from_url
from ._style import CSS

__all__ = ["CSS_CLASSES", "Sora2Panel", "panel_tree", "spend_chart"]

CSS_CLASSES = (
    "sw-panel",
    "sw-tabs",
    "sw-provider",
    "sw-key",
    "sw-models",
    "sw-prompt",
    "sw-counter",
    "sw-sora-settings",
    "sw-duration",
    "sw-aspect",
    "sw-resolution",
    "sw-resolution-hint",
    "sw-keep",
    "sw-advanced",
    "sw-advanced-settings",
    "sw-kling-settings",
    "sw-kling-duration",
    "sw-kling-aspect",
    "sw-negative-prompt",
    "sw-cfg",
    "sw-image-url",
    "sw-image-use-url",
    "sw-upload",
    "sw-image-path",
    "sw-image-load",
    "sw-image-preview",
    "sw-image-error",
    "sw-remix-picker",
    "sw-remix-option",
    "sw-remix-option-thumb",
    "sw-remix-option-text",
    "sw-remix-option-choose",
    "sw-remix-option-selected",
    "sw-remix-more",
    "sw-remix-preview",
    "sw-remix-empty",
    "sw-cost",
    "sw-generate",
    "sw-status",
    "sw-jobs",
    "sw-card",
    "sw-card-status",
    "sw-progress",
    "sw-cancel",
    "sw-video",
    "sw-remix-this",
    "sw-history-table",
    "sw-history-model",
    "sw-history-status",
    "sw-history-delete",
    "sw-history-note",
    "sw-history-count",
    "sw-history-more",
    "sw-spend",
    "sw-spend-chart",
)

_HIDDEN = "none"
#: History rows drawn at a time: each is a few widgets (thumbnail included), so "Show more" adds pages.
HISTORY_PAGE = 100
#: Remix candidates drawn at a time: each row carries its thumbnail's bytes as widget state.
REMIX_PAGE = 20


def _cls(widget: Any, *names: str) -> Any:
    for name in names:
        widget.add_class(name)
    return widget


def _show(widget: Any, visible: bool) -> None:
    widget.layout.display = "" if visible else _HIDDEN


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _table(frame: Any, *, max_rows: int = 200) -> str:
    """A DataFrame as an escaped HTML table (``DataFrame.to_html`` would not escape everything we show)."""
    if frame is None or len(frame) == 0:
        return "<i>Nothing yet.</i>"
    if getattr(frame.index, "name", None) is not None:
        frame = frame.reset_index()
    # The float *_usd columns exist for charts; the table shows the exact amounts.
    frame = frame[[c for c in frame.columns if not str(c).endswith("_usd") or "total" not in frame]]
    cols = [str(c) for c in frame.columns]
    head = "".join(f"<th>{_esc(c)}</th>" for c in cols)
    body = []
    for row in frame.head(max_rows).itertuples(index=False):
        cells = []
        for value in row:
            num = isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
            shown = format_usd(value) if isinstance(value, Decimal) else value
            cells.append(f'<td class="sw-num">{_esc(shown)}</td>' if num else f"<td>{_esc(shown)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="sw-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _thumb(ref: str | None, width: str = "96px") -> w.Widget | None:
    path = local_file(ref)
    if path is None:
        return None
    fmt = "png" if path.suffix.lower() == ".png" else "jpeg"
    return w.Image(value=path.read_bytes(), format=fmt, layout=w.Layout(width=width))


class Sora2Panel(w.VBox):  # type: ignore[misc]
    """The notebook panel. ``sw.Sora2Panel()`` as the last line of a cell shows it.

    Pass ``controller=`` (or ``generator=`` / ``history=`` / ``budget=`` / ``confirm_above=``)
    to drive it from code or tests; ``panel.controller`` holds all of its state.
    """

    def __init__(self, controller: PanelController | None = None, **kwargs: Any) -> None:
        self.controller = ctl = controller or PanelController(**kwargs)
        self._syncing = False
        self._lock = threading.RLock()
        self.cards: dict[int, JobCard] = {}

        # Header: title, provider badge, key field.
        self.provider = _cls(w.HTML(), "sw-provider")
        self.key = _cls(
            w.Password(
                placeholder="paste a fal key, press Enter",
                description="fal key",
                continuous_update=False,
                layout=w.Layout(width="300px"),
            ),
            "sw-key",
        )
        self.key.observe(self._on_key, names="value")
        header = _cls(
            w.HBox(
                [w.HTML('<span class="sw-title">Sora 2 video</span>'), self.provider, self.key],
                layout=w.Layout(align_items="center", justify_content="space-between"),
            ),
            "sw-header",
            "sw-row",
        )

        # Composer: shared by the three generation tabs (moved into the active one).
        # width "auto" (stretched by the column), not "100%": with the description label and the
        # widget margins "100%" ran past the container's right edge (see the CSS for the input).
        self.models = _cls(w.SelectMultiple(rows=3, description="Models", layout=w.Layout(width="auto")), "sw-models")
        self.models.observe(lambda ch: self._event(ctl.select, tuple(ch["new"])), names="value")
        self.prompt = _cls(
            w.Textarea(
                placeholder="Describe the video: subject, action, camera, light, sound…",
                description="Prompt",
                continuous_update=True,
                layout=w.Layout(width="auto", height="90px"),
            ),
            "sw-prompt",
        )
        self.prompt.observe(lambda ch: self._event(ctl.set_prompt, ch["new"]), names="value")
        self.counter = _cls(w.HTML(), "sw-counter")

        self.duration = _cls(w.Dropdown(description="Duration"), "sw-duration")
        self.duration.observe(lambda ch: self._event(ctl.set_duration, ch["new"]), names="value")
        self.aspect = _cls(w.Dropdown(description="Aspect"), "sw-aspect")
        self.aspect.observe(lambda ch: self._event(ctl.set_aspect_ratio, ch["new"]), names="value")
        self.resolution = _cls(w.Dropdown(description="Resolution"), "sw-resolution")
        self.resolution.observe(lambda ch: self._event(ctl.set_resolution, ch["new"]), names="value")
        self.resolution_hint = _cls(w.HTML(_esc(AUTO_EXPLANATION)), "sw-hint", "sw-resolution-hint")
        self.keep = _cls(
            w.Checkbox(description="Keep for remix", indent=False, layout=w.Layout(width="auto")), "sw-keep"
        )
        self.keep.observe(lambda ch: self._event(ctl.set_keep_for_remix, ch["new"]), names="value")
        self.keep_hint = _cls(w.HTML(_esc(KEEP_EXPLANATION)), "sw-hint")
        self.advanced = _cls(w.ToggleButton(description="Advanced", icon="cog"), "sw-advanced")
        self.advanced.observe(lambda ch: self._event(ctl.set_show_advanced, ch["new"]), names="value")
        self.snapshot = w.Dropdown(description="Snapshot")
        self.snapshot.observe(lambda ch: self._event(ctl.set_snapshot, ch["new"]), names="value")
        self.detect_ip = w.Checkbox(description="Block prompts naming protected IP", indent=False)
        self.detect_ip.observe(lambda ch: self._event(ctl.set_detect_and_block_ip, ch["new"]), names="value")
        self.characters = w.Text(description="Characters", placeholder="up to 2 character ids, comma separated")
        self.characters.observe(lambda ch: self._event(ctl.set_character_ids, ch["new"]), names="value")
        self.advanced_box = _cls(w.VBox([self.snapshot, self.detect_ip, self.characters]), "sw-advanced-settings")
        self.sora_settings = _cls(
            w.VBox(
                [
                    w.HTML('<span class="sw-box-title">Sora settings</span>'),
                    _cls(w.HBox([self.duration, self.aspect, self.resolution]), "sw-row"),
                    self.resolution_hint,
                    # The one-line explanation right after the checkbox it explains.
                    _cls(w.HBox([self.keep, self.keep_hint]), "sw-keep-row"),
                    self.advanced,
                    self.advanced_box,
                ]
            ),
            "sw-sora-settings",
            "sw-box",
        )

        self.other_title = w.HTML()
        self.other_duration = _cls(w.Dropdown(description="Duration"), "sw-kling-duration")
        self.other_duration.observe(lambda ch: self._event(ctl.set_other_duration, ch["new"]), names="value")
        self.other_aspect = _cls(w.Dropdown(description="Aspect"), "sw-kling-aspect")
        self.other_aspect.observe(lambda ch: self._event(ctl.set_other_aspect_ratio, ch["new"]), names="value")
        self.negative = _cls(
            w.Text(description="Avoid", layout=w.Layout(width="auto"), continuous_update=False), "sw-negative-prompt"
        )
        self.negative.observe(lambda ch: self._event(ctl.set_negative_prompt, ch["new"]), names="value")
        self.cfg = _cls(
            w.FloatSlider(description="CFG scale", min=0.0, max=1.0, step=0.05, continuous_update=False), "sw-cfg"
        )
        self.cfg.observe(lambda ch: self._event(ctl.set_cfg_scale, ch["new"]), names="value")
        self.other_settings = _cls(
            w.VBox(
                [
                    self.other_title,
                    _cls(w.HBox([self.other_duration, self.other_aspect]), "sw-row"),
                    self.negative,
                    self.cfg,
                ]
            ),
            "sw-kling-settings",
            "sw-box",
        )

        self.cost = _cls(w.HTML(), "sw-cost")
        self.generate = _cls(w.Button(description="Generate", icon="play", button_style="primary"), "sw-generate")
        self.generate.on_click(lambda _b: self._generate())
        self.status = _cls(w.HTML(), "sw-status")
        self.composer = w.VBox(
            [
                self.models,
                self.prompt,
                self.counter,
                self.sora_settings,
                self.other_settings,
                self.cost,
                w.HBox([self.generate, self.status], layout=w.Layout(align_items="center")),
            ]
        )

        # Image tab: URL, upload or local path, with a preview.
        self.image_url = _cls(w.Text(description="Image URL", placeholder="https://…"), "sw-image-url")
        self.image_use_url = _cls(w.Button(description="Use URL"), "sw-image-use-url")
        self.image_use_url.on_click(lambda _b: self._load_image(lambda: image_from_url(self.image_url.value)))
        self.upload = _cls(w.FileUpload(accept="image/*", multiple=False, description="Upload"), "sw-upload")
        self.upload.observe(self._on_upload, names="value")
        self.image_path = _cls(w.Text(description="Local path", placeholder="~/pictures/start.png"), "sw-image-path")
        self.image_load = _cls(w.Button(description="Load file"), "sw-image-load")
        self.image_load.on_click(lambda _b: self._load_image(lambda: image_from_path(self.image_path.value)))
        self.image_preview = _cls(w.Image(layout=w.Layout(max_width="240px", max_height="160px")), "sw-image-preview")
        self.image_info = _cls(w.HTML(), "sw-image-error")
        image_box = _cls(
            w.VBox(
                [
                    _cls(w.HBox([self.image_url, self.image_use_url]), "sw-row"),
                    w.HBox([self.upload]),
                    _cls(w.HBox([self.image_path, self.image_load]), "sw-row"),
                    w.HBox([self.image_preview, self.image_info]),
                ]
            ),
            "sw-image",
            "sw-box",
        )

        # Remix tab: a picker of remixable videos, one row each (thumbnail, prompt, date, Choose),
        # newest first, with the chosen one's details below.
        self.remix_picker = _cls(w.VBox(layout=w.Layout(width="auto")), "sw-remix-picker")
        self._remix_rows: dict[str, tuple[w.HBox, w.ToggleButton]] = {}
        self._remix_drawn: tuple[RemixCandidate, ...] = ()
        self._remix_limit = REMIX_PAGE
        self.remix_more = _cls(w.Button(description="Show more", icon="angle-down"), "sw-remix-more")
        self.remix_more.on_click(lambda _b: self._more_remix())
        self.remix_preview = _cls(w.HBox(), "sw-remix-preview")
        self.remix_empty = _cls(
            w.HTML(_esc("No Sora videos available yet — generate one with 'keep for remix' first.")),
            "sw-remix-empty",
        )
        remix_box = _cls(w.VBox([self.remix_empty, self.remix_picker, self.remix_more, self.remix_preview]), "sw-box")

        # History tab.
        self.history_model = _cls(w.Dropdown(description="Model"), "sw-history-model")
        self.history_status = _cls(w.Dropdown(description="Status"), "sw-history-status")
        for dd in (self.history_model, self.history_status):
            dd.observe(lambda _ch: self._event(self._filter_history), names="value")
        self._history_limit = HISTORY_PAGE
        self.history_count = _cls(w.HTML(), "sw-muted", "sw-history-count")
        self.history_more = _cls(w.Button(description="Show more", icon="angle-down"), "sw-history-more")
        self.history_more.on_click(lambda _b: self._more_history())
        self.history_refresh = w.Button(description="Refresh", icon="refresh")
        self.history_refresh.on_click(lambda _b: ctl.refresh_history())
        self.history_delete = _cls(w.Button(description="Delete selected", icon="trash"), "sw-history-delete")
        self.history_delete.on_click(lambda _b: self._delete_history())
        self.history_rows = _cls(w.VBox(), "sw-history-table")
        # The composer's status line is not on this tab: its messages (deleted rows…) show here.
        self.history_note = _cls(w.HTML(), "sw-status", "sw-history-note")
        self._history_checks: list[tuple[Any, w.Checkbox]] = []
        history_pane = w.VBox(
            [
                _cls(
                    w.HBox([self.history_model, self.history_status, self.history_refresh, self.history_delete]),
                    "sw-row",
                ),
                self.history_note,
                self.history_count,
                self.history_rows,
                self.history_more,
            ]
        )

        # Spend tab.
        self.spend_summary = w.HTML()
        # Hidden until it has PNG bytes: an empty Image shows the browser's broken-image icon.
        # Shown at the figure's own size (640 px, 2x pixels), so its 9-11 pt text is not scaled down.
        self.spend_chart = _cls(
            w.Image(format="png", layout=w.Layout(width="640px", max_width="100%", display=_HIDDEN)),
            "sw-spend-chart",
        )
        self.spend_tables = w.HTML()
        spend_pane = _cls(w.VBox([self.spend_summary, self.spend_chart, self.spend_tables]), "sw-spend")

        hints = {
            "text": "Describe a video; every selected model makes one.",
            "image": "Animate a start image.",
            "remix": "Change an earlier Sora video with a new prompt (keeps its length and size).",
        }
        self._mode_parts: dict[str, list[w.Widget]] = {
            "text": [_cls(w.HTML(_esc(hints["text"])), "sw-hint")],
            "image": [_cls(w.HTML(_esc(hints["image"])), "sw-hint"), image_box],
            "remix": [_cls(w.HTML(_esc(hints["remix"])), "sw-hint"), remix_box],
        }
        self._panes = {key: w.VBox() for key, _ in TABS}
        self._panes["history"].children = [history_pane]
        self._panes["spend"].children = [spend_pane]
        self.tabs = _cls(w.Tab(children=[self._panes[k] for k, _ in TABS], titles=[t for _, t in TABS]), "sw-tabs")
        self.tabs.observe(lambda ch: self._event(ctl.set_tab, TABS[ch["new"]][0]), names="selected_index")

        self.jobs = _cls(w.VBox(), "sw-jobs")
        super().__init__([w.HTML(CSS), header, self.tabs, self.jobs])
        self.add_class("sw-panel")

        ctl.observe(self._refresh)
        ctl.on_new_job(self._add_card)
        self._refresh("init")

    # -- events -> controller ---------------------------------------------------------------
    def _event(self, fn: Callable[..., Any], *args: Any) -> None:
        if self._syncing:
            return  # our own redraw, not the user
        try:
            fn(*args)
        except ValueError as exc:
            self.controller.notify(str(exc), warn=True)

    def _on_key(self, change: dict[str, Any]) -> None:
        value = change["new"]
        if not value:
            return
        # Clear first: the typed key must not survive in any widget's state.
        self.key.value = ""
        self.controller.set_key(str(value))

    def _on_upload(self, change: dict[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        data = bytes(item["content"]) if isinstance(item, dict) else bytes(item.content)
        name = str(item["name"] if isinstance(item, dict) else item.name)
        self._load_image(lambda: image_from_bytes(data, name))
        # The upload's bytes are widget state too; drop them once copied into the controller.
        self._syncing = True
        try:
            self.upload.value = ()
        finally:
            self._syncing = False

    def _load_image(self, load: Callable[[], Any]) -> None:
        try:
            choice = load()
        except (ValueError, OSError) as exc:
            self.controller.set_image(None, str(exc))
            return
        self.controller.set_image(choice)

    def _generate(self) -> None:
        self.controller.generate()

    def _add_card(self, job: JobState) -> None:
        card = JobCard(job, on_cancel=self.controller.cancel, on_remix=self._remix_job)
        self.cards[job.id] = card
        with self._lock:
            self.jobs.children = (card, *self.jobs.children)

    def _remix_job(self, job: JobState) -> None:
        ctl = self.controller
        ctl.refresh_history()
        ctl.set_tab("remix")
        wanted = {str(job.history_id), str(job.video_id)}
        for cand in ctl.remix_candidates():
            if cand.key in wanted or cand.video_id in wanted:
                ctl.set_remix_source(cand.key)
                break

    def _filter_history(self) -> None:
        self._history_limit = HISTORY_PAGE  # a new filter starts again from its newest rows
        self._render_history()

    def _more_history(self) -> None:
        self._history_limit += HISTORY_PAGE
        self._render_history()

    def _delete_history(self) -> None:
        ids = [row_id for row_id, box in self._history_checks if box.value]
        if not ids:
            self.controller.notify("Tick the rows to delete first.", warn=True)
            return
        self.controller.delete_history(ids)

    def _set_status(self, text: str, *, warn: bool = False, widget: Any = None) -> None:
        widget = widget or self.status
        widget.value = _esc(text)
        if warn:
            widget.add_class("sw-warn")
        else:
            widget.remove_class("sw-warn")

    # -- controller -> widgets --------------------------------------------------------------
    def _refresh(self, what: str) -> None:
        with self._lock:
            self._syncing = True
            try:
                self._draw(what)
            except Exception:
                log.exception("panel redraw failed")
            finally:
                self._syncing = False

    @staticmethod
    def _set_options(widget: Any, options: Sequence[Any], value: Any) -> None:
        if tuple(widget.options) != tuple(options):
            widget.options = options
        if widget.value != value:
            widget.value = value

    def _draw(self, what: str) -> None:
        ctl = self.controller
        live = ctl.provider == "fal"
        badge = "sw-badge-live" if live else "sw-badge-offline"
        self.provider.value = f'<span class="sw-badge {badge}">{_esc(ctl.provider_label)}</span>'
        self.key.placeholder = "key set — paste another to replace" if ctl.has_key else "paste a fal key, press Enter"

        keys = [k for k, _ in TABS]
        index = keys.index(ctl.tab)
        if self.tabs.selected_index != index:
            self.tabs.selected_index = index
        if ctl.tab in self._mode_parts:
            pane = self._panes[ctl.tab]
            wanted = (*self._mode_parts[ctl.tab], self.composer)
            if tuple(pane.children) != wanted:
                for key in self._mode_parts:
                    if key != ctl.tab and self.composer in self._panes[key].children:
                        self._panes[key].children = tuple(self._mode_parts[key])
                pane.children = wanted
            self._draw_composer()
            if ctl.tab == "image":
                self._draw_image()
            if ctl.tab == "remix":
                self._draw_remix()
        elif ctl.tab == "history":
            self._render_history()
        elif ctl.tab == "spend":
            self._render_spend()

    def _draw_composer(self) -> None:
        ctl = self.controller
        options = [(ctl.model_label(s), s.id) for s in ctl.models]
        self._set_options(self.models, options, tuple(ctl.selections[ctl.tab]))
        self.prompt.placeholder = f"Describe the video (up to {ctl.prompt_limit} characters)…"
        if self.prompt.value != ctl.prompt:
            self.prompt.value = ctl.prompt
        self.counter.value = _esc(ctl.counter_text)
        if ctl.remaining < 0:
            self.counter.add_class("sw-over")
        else:
            self.counter.remove_class("sw-over")

        _show(self.sora_settings, ctl.show_sora_settings)
        _show(self.duration, ctl.show_duration)
        if ctl.show_duration:
            self._set_options(self.duration, [(f"{d} s", d) for d in ctl.duration_options], ctl.duration)
        _show(self.aspect, ctl.show_aspect)
        if ctl.show_aspect:
            self._set_options(self.aspect, list(ctl.aspect_options), ctl.current_aspect())
        _show(self.resolution, ctl.show_resolution)
        _show(self.resolution_hint, ctl.show_resolution and "auto" in ctl.resolution_options)
        if ctl.show_resolution:
            self._set_options(self.resolution, list(ctl.resolution_options), ctl.current_resolution())
        self.keep.value = ctl.keep_for_remix
        self.advanced.value = ctl.show_advanced
        _show(self.advanced, ctl.show_duration)  # the advanced inputs exist on Sora generate models only
        _show(self.advanced_box, ctl.show_advanced and ctl.show_duration)
        from .._schemas import SORA_SNAPSHOTS

        self._set_options(self.snapshot, list(SORA_SNAPSHOTS), ctl.snapshot)
        self.detect_ip.value = ctl.detect_and_block_ip
        if self.characters.value != ctl.character_ids:
            self.characters.value = ctl.character_ids

        _show(self.other_settings, ctl.show_other_settings)
        _show(self.other_aspect, ctl.show_other_settings and ctl.show_other_aspect)
        if ctl.show_other_settings:
            names = ", ".join(s.name for s in ctl.other_selected)
            self.other_title.value = f'<span class="sw-box-title">{_esc(names)} settings</span>'
            self._set_options(
                self.other_duration, [(f"{d} s", d) for d in ctl.other_duration_options], ctl.current_other_duration()
            )
            if ctl.show_other_aspect:
                self._set_options(self.other_aspect, list(ctl.other_aspect_options), ctl.current_other_aspect())
            if self.negative.value != ctl.negative_prompt:
                self.negative.value = ctl.negative_prompt
            self.cfg.value = ctl.cfg_scale

        lines = ctl.cost_lines()
        items = "".join(f"<li>{_esc(line)}</li>" for line in lines[1:])
        self.cost.value = f'<div class="sw-total">{_esc(lines[0])}</div><ul>{items}</ul>'

        blockers = ctl.blockers
        self.generate.disabled = bool(blockers)
        pending = ctl.confirmation_pending
        self.generate.description = "Confirm: generate" if pending else "Generate"
        self.generate.button_style = "warning" if pending else "primary"
        if blockers:
            self.generate.tooltip = blockers[0]
            self._set_status(blockers[0], warn=True)
        else:
            self.generate.tooltip = "Start one job per selected model"
            self._set_status(ctl.status, warn=ctl.status_warn)

    def _draw_image(self) -> None:
        ctl = self.controller
        choice = ctl.image
        if choice is not None and choice.preview:
            if self.image_preview.value != choice.preview or self.image_preview.format != choice.preview_format:
                with self.image_preview.hold_sync():  # format and value together: never URL bytes as a PNG
                    self.image_preview.format = choice.preview_format
                    self.image_preview.value = choice.preview
            _show(self.image_preview, True)
        else:
            _show(self.image_preview, False)
        if ctl.image_error:
            self.image_info.value = f'<span class="sw-card-error">{_esc(ctl.image_error)}</span>'
        elif choice is not None:
            self.image_info.value = _esc(f"Start image: {choice.label}")
        else:
            self.image_info.value = _esc("No start image yet.")

    def _draw_remix(self) -> None:
        ctl = self.controller
        cands = ctl.remix_candidates()
        chosen = ctl.remix_source
        _show(self.remix_empty, not cands)
        _show(self.remix_picker, bool(cands))
        keys = [c.key for c in cands]
        if chosen is not None and chosen.key in keys:
            # A source chosen elsewhere ("Remix this" on an old card) is always on screen.
            self._remix_limit = max(self._remix_limit, keys.index(chosen.key) + 1)
        page = cands[: self._remix_limit]
        _show(self.remix_more, len(page) < len(cands))
        self.remix_more.description = f"Show {min(REMIX_PAGE, len(cands) - len(page))} more"
        drawn = tuple(page)
        if drawn != self._remix_drawn:
            # Rows of unchanged candidates are kept (no thumbnail re-read, nothing re-sent).
            kept = {c.key: self._remix_rows[c.key] for c in page if c in self._remix_drawn}
            gone = [row for key, (row, _) in self._remix_rows.items() if key not in kept]
            self._remix_drawn = drawn
            self._remix_rows = {c.key: kept.get(c.key) or self._remix_option(c) for c in page}
            self.remix_picker.children = [row for row, _ in self._remix_rows.values()]
            for row in gone:
                for node in panel_tree(row):  # a replaced row's widgets would otherwise live on in the kernel
                    node.close()
        for key, (row, choose) in self._remix_rows.items():
            picked = chosen is not None and chosen.key == key
            choose.value = picked
            choose.description = "Chosen" if picked else "Choose"
            choose.icon = "check" if picked else ""
            if picked:
                row.add_class("sw-remix-option-selected")
            else:
                row.remove_class("sw-remix-option-selected")
        self.remix_preview.children = self._remix_preview(chosen) if chosen else []

    def _remix_option(self, cand: RemixCandidate) -> tuple[w.HBox, w.ToggleButton]:
        """One row of the picker: thumbnail (as on the History tab), prompt, date and length, Choose."""
        thumb = _thumb(cand.thumbnail, "96px") or w.HTML(f"<span class='sw-muted'>{_esc('no thumbnail')}</span>")
        thumb.add_class("sw-remix-option-thumb")
        facts = [cand.created, f"{cand.duration:g} s" if cand.duration else "", cand.resolution or ""]
        prompt = cand.prompt if len(cand.prompt) <= 200 else cand.prompt[:199] + "…"
        text = _cls(
            w.HTML(
                f"<div>{_esc(prompt)}</div><div class='sw-muted'>{_esc(' · '.join(f for f in facts if f))}</div>",
                layout=w.Layout(flex="1 1 auto", min_width="0", width="auto"),
            ),
            "sw-remix-option-text",
        )
        choose = _cls(
            w.ToggleButton(description="Choose", tooltip="Remix this video", layout=w.Layout(width="auto")),
            "sw-remix-option-choose",
        )
        key = cand.key
        choose.observe(lambda ch: self._event(self._choose_remix, key, bool(ch["new"])), names="value")
        row = _cls(w.HBox([thumb, text, choose], layout=w.Layout(align_items="center")), "sw-remix-option")
        row.add_class(f"sw-remix-option-{key}")
        return row, choose

    def _choose_remix(self, key: str, picked: bool) -> None:
        ctl = self.controller
        if picked:
            ctl.set_remix_source(key)
        elif ctl.remix_key == key:
            ctl.set_remix_source(None)

    def _more_remix(self) -> None:
        self._remix_limit += REMIX_PAGE
        self._refresh("remix")  # as a redraw: the Choose toggles it sets are not user clicks

    @staticmethod
    def _remix_preview(cand: RemixCandidate) -> list[w.Widget]:
        facts = [cand.created, f"{cand.duration:g} s" if cand.duration else "", cand.resolution or "", cand.video_id]
        text = w.HTML(
            f"<div>{_esc(cand.prompt)}</div><div class='sw-muted'>{_esc(' · '.join(f for f in facts if f))}</div>"
        )
        thumb = _thumb(cand.thumbnail, "160px")
        return [thumb, text] if thumb is not None else [text]

    def _render_history(self) -> None:
        ctl = self.controller
        self._set_status(ctl.status, warn=ctl.status_warn, widget=self.history_note)
        full = ctl.history_frame()
        if full is None:
            self.history_rows.children = [w.HTML("<i>No history available.</i>")]
            _show(self.history_count, False)
            _show(self.history_more, False)
            return
        models = sorted({str(m) for m in full["model_id"]}) if "model_id" in full else []
        statuses = sorted({str(s) for s in full["status"]}) if "status" in full else []
        self._set_options(
            self.history_model, [("all models", ""), *[(m, m) for m in models]], self.history_model.value or ""
        )
        self._set_options(
            self.history_status, [("any status", ""), *[(s, s) for s in statuses]], self.history_status.value or ""
        )
        frame = ctl.history_frame(model=self.history_model.value or None, status=self.history_status.value or None)
        rows: list[w.Widget] = []
        self._history_checks = []
        total = 0 if frame is None else len(frame)
        shown = min(total, self._history_limit)
        if total == 0:
            rows.append(w.HTML("<i>No generations yet.</i>"))
        if shown < total:
            self.history_count.value = _esc(f"Showing {shown} of {total} (newest first).")
        else:
            self.history_count.value = _esc(f"{total} generation{'s' if total != 1 else ''}, newest first.")
        _show(self.history_count, total > 0)
        _show(self.history_more, shown < total)
        self.history_more.description = f"Show {min(HISTORY_PAGE, total - shown)} more"
        for record in frame.head(shown).to_dict("records") if frame is not None else []:
            row_id = record.get("id", record.get("history_id"))
            box = w.Checkbox(indent=False, layout=w.Layout(width="28px"))
            self._history_checks.append((row_id, box))
            cost = record.get("cost", record.get("cost_usd"))
            known = cost is not None and str(cost) not in ("nan", "None", "<NA>")
            cost_text = format_usd(Decimal(str(cost)).quantize(Decimal("0.000001")).normalize()) if known else "—"
            when = when_text(record.get("created_at") or record.get("submitted_at"))
            text = (
                f"<b>{_esc(record.get('model_id'))}</b> · {_esc(record.get('status'))}"
                f" · {_esc(cost_text)} · {_esc(when)}"
                f"<div class='sw-muted'>{_esc(str(record.get('prompt') or '')[:200])}</div>"
            )
            parts: list[w.Widget] = [box]
            thumb = _thumb(record.get("thumbnail_path") or record.get("thumbnail"), "72px")
            if thumb is not None:
                parts.append(thumb)
            parts.append(w.HTML(text))
            rows.append(w.HBox(parts, layout=w.Layout(align_items="center")))
        self.history_rows.children = rows

    def _render_spend(self) -> None:
        ctl = self.controller
        by_model, by_day = ctl.spend_frames()
        spent = ctl.spent()
        left = ctl.budget_left
        summary = f"Total spent: {format_usd(spent)}"
        if left is not None and ctl.budget is not None:
            summary += f" · budget left: {format_usd(left)} of {format_usd(ctl.budget)}"
        self.spend_summary.value = f"<b>{_esc(summary)}</b>"
        self.spend_tables.value = (
            f"<div class='sw-box-title'>By model</div>{_table(by_model)}"
            f"<div class='sw-box-title'>By day</div>{_table(by_day)}"
        )
        png = spend_chart(by_model, by_day)
        if png and self.spend_chart.value != png:
            self.spend_chart.value = png  # the bytes first, then show: never an empty image on screen
        _show(self.spend_chart, bool(png))


def _series(frame: Any) -> tuple[list[str], list[float]]:
    """Labels and amounts from a spend DataFrame (first text-like column, the cost-like column)."""
    if frame is None or len(frame) == 0:
        return [], []
    frame = frame.reset_index() if frame.index.name is not None else frame
    cols = list(frame.columns)
    value_col = next((c for c in cols if str(c).lower() in ("cost", "spent", "usd", "total", "amount")), None)
    if value_col is None:
        return [], []
    label_col = next((c for c in cols if c != value_col), None)
    labels = [str(v) for v in frame[label_col]] if label_col is not None else [str(i) for i in range(len(frame))]
    values = [float(Decimal(str(v))) if str(v) not in ("nan", "None") else 0.0 for v in frame[value_col]]
    return labels, values


def _model_name(model_id: str) -> str:
    """A catalog id as its display name ("Sora 2"), as the rest of the panel shows models."""
    from .._catalog import get_model

    try:
        return get_model(model_id).name
    except Exception:  # an id from an older catalog: show it as stored
        return model_id


def spend_chart(by_model: Any, by_day: Any) -> bytes:
    """Spend by model and by day as one PNG (Agg; no pyplot, so the user's backend is untouched)."""
    models, model_usd = _series(by_model)
    days, day_usd = _series(by_day)
    if not models and not days:
        return b""
    from matplotlib.figure import Figure

    models = [_model_name(m) for m in models]
    fig = Figure(figsize=(640 / 96, 2.6), dpi=192)  # 640 CSS px wide, crisp on HiDPI screens
    fig.patch.set_alpha(0.0)  # transparent: the panel's own background shows through
    axes = fig.subplots(1, 2)
    # Mid grey reads at about the same contrast on white and on near-black (light and dark themes).
    ink, bar = "#777777", "#4f8fd6"
    # At least this many bar slots per axis: one bar must not fill the whole axis.
    min_slots = 3
    for ax, labels, values, title in ((axes[0], models, model_usd, "by model"), (axes[1], days, day_usd, "by day")):
        ax.set_facecolor("none")
        slots = range(len(labels))
        pad = max(0.0, (min_slots - len(labels)) / 2)
        if title == "by model":
            bars = ax.barh(list(slots), values, height=0.6, color=bar)
            ax.set_yticks(list(slots), labels)
            ax.set_ylim(-0.5 - pad, len(labels) - 0.5 + pad)
            ax.invert_yaxis()  # first model on top, as in the table below
        else:
            bars = ax.bar(list(slots), values, width=0.6, color=bar)
            ax.set_xticks(
                list(slots), labels, rotation=30 if len(labels) > 5 else 0, ha="right" if len(labels) > 5 else "center"
            )
            ax.set_xlim(-0.5 - pad, len(labels) - 0.5 + pad)
        if 0 < len(labels) <= 6:  # amounts on the bars while they fit; the tables below have them all
            ax.bar_label(bars, labels=[f"${v:,.2f}" for v in values], color=ink, fontsize=9, padding=2)
            # Room for the amount printed past the end of the longest bar.
            if title == "by model":
                ax.margins(x=0.2)
            else:
                ax.margins(y=0.2)
        ax.set_title(f"Spend {title} (USD)", color=ink, fontsize=11)
        ax.tick_params(colors=ink, labelsize=9)
        for spine in ax.spines.values():
            spine.set_color(ink)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", transparent=True)
    return buf.getvalue()


def panel_tree(root: Any) -> list[Any]:
    """Every widget under ``root`` (children, recursively), for tests and checks."""
    seen: list[Any] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if any(node is s for s in seen):
            continue
        seen.append(node)
        stack.extend(getattr(node, "children", ()) or ())
    return seen
