"""``Sora2Panel``: the ipywidgets 8 view over :class:`PanelController`.

The view is thin: widget events call controller setters, and every controller change redraws
the widgets from the controller's state. This module is the shell (header, key field, tabs, job
cards) and its wiring; each tab's widgets live in a ``_tab_*`` module. Every widget a test or a
user might point at carries a stable ``sw-…`` CSS class (see ``CSS_CLASSES``), so browser tests
never depend on ipywidgets' internal DOM.

Secrets: the key field is an ``ipywidgets.Password`` whose value *is* synced widget state. It
only syncs on Enter/blur (``continuous_update=False``); the moment a value arrives it is moved
into the controller as a ``SecretStr`` and the widget is cleared, so no widget state (and no
saved notebook) ever holds the key.

Saved notebooks: no media bytes are widget state (``_player.py``), cards closed by Clear close
every model in them, and the panel's text forms are one line (``repr``) and a small table
(``text/html``, ``_summary.py``, for front ends that draw no widgets).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import ipywidgets as w

from ._cards import CARD_CSS, JobCard
from ._controller import PanelController
from ._form import TABS
from ._jobs import JobState
from ._style import CSS
from ._summary import RESTORED_CSS, summary_html, summary_line
from ._tab_compose import Composer
from ._tab_history import HistoryTab
from ._tab_image import ImageSource
from ._tab_remix import RemixPicker
from ._tab_spend import SpendTab
from ._widgets import EventGuard, close_tree, cls, esc, show

__all__ = ["CSS_CLASSES", "Sora2Panel"]

log = logging.getLogger("sora2_widgets.panel")

CSS_CLASSES = (
    "sw-panel",
    "sw-tabs",
    "sw-provider",
    "sw-key",
    "sw-models",
    "sw-prompt",
    "sw-counter",
    "sw-schema-settings",
    "sw-settings-group",
    "sw-setting",
    "sw-setting-duration",
    "sw-setting-aspect-ratio",
    "sw-setting-resolution",
    "sw-setting-delete-video",
    "sw-setting-delete-video-hint",
    "sw-settings-advanced",
    "sw-audio",
    "sw-image-url",
    "sw-image-use-url",
    "sw-upload",
    "sw-image-path",
    "sw-image-load",
    "sw-image-preview",
    "sw-image-error",
    "sw-end-image",
    "sw-end-image-upload",
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
    "sw-card-collapse",
    "sw-card-dismiss",
    "sw-clear-finished",
    "sw-video",
    "sw-remix-this",
    "sw-history-table",
    "sw-history-model",
    "sw-history-status",
    "sw-history-delete",
    "sw-history-note",
    "sw-history-count",
    "sw-history-more",
    "sw-history-unknown",
    "sw-spend",
    "sw-spend-chart",
)

#: The one-line hint at the top of each generation tab.
_HINTS = {
    "text": "Describe a video; every selected model makes one.",
    "image": "Animate a start image.",
    "remix": "Change an earlier Sora video with a new prompt (keeps its length and size).",
}


_COMPOSER_ATTRS = (
    "models", "prompt", "counter", "settings", "settings_title", "duration", "aspect", "negative", "cfg",
    "audio", "cost", "generate", "status",
)  # fmt: skip
#: The lazily made tabs' widgets the panel exposes, and which tab part holds each.
_TAB_ATTRS = {
    **dict.fromkeys(
        ("image_url", "image_use_url", "upload", "image_path", "image_load", "image_preview", "image_info"),
        "image_source",
    ),
    **dict.fromkeys(("remix_picker", "remix_more", "remix_preview", "remix_empty"), "remix"),
    **dict.fromkeys(
        (
            "history_model",
            "history_status",
            "history_count",
            "history_more",
            "history_rows",
            "history_refresh",
            "history_delete",
            "history_note",
        ),
        "history_tab",
    ),
    **dict.fromkeys(("spend_summary", "spend_chart", "spend_tables"), "spend"),
}


def _held_widgets(value: Any, depth: int = 3) -> list[w.Widget]:
    """The widgets in an object's attributes: directly, or in its lists, tuples and dicts."""
    if isinstance(value, w.Widget):
        return [value]
    if depth == 0:
        return []
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    return [found for item in items for found in _held_widgets(item, depth - 1)]


class Sora2Panel(w.VBox):  # type: ignore[misc]
    """The notebook panel. ``sw.Sora2Panel()`` as the last line of a cell shows it.

    Pass ``controller=`` (or ``generator=`` / ``history=`` / ``budget=`` / ``confirm_above=``)
    to drive it from code or tests; ``panel.controller`` holds all of its state. The widgets
    people and tests reach are attributes too (``panel.prompt``, ``panel.generate``, …).
    """

    def __init__(self, controller: PanelController | None = None, **kwargs: Any) -> None:
        self.controller = ctl = controller or PanelController(**kwargs)
        self._owns_controller = controller is None
        self._event = EventGuard(ctl)
        self._lock = threading.RLock()
        self.cards: dict[int, JobCard] = {}
        header = self._header()
        self.compose = Composer(ctl, self._event)
        # The other tabs' widgets are made on their first visit (see ``_part``): fewer models to send
        # before the panel first shows, and none in a saved notebook for a tab never opened.
        self._parts: dict[str, Any] = {}
        self._expose_widgets()
        self._mode_parts: dict[str, list[w.Widget]] = {"text": [cls(w.HTML(esc(_HINTS["text"])), "sw-hint")]}
        self._panes = {key: w.VBox() for key, _ in TABS}
        self.tabs = cls(w.Tab(children=[self._panes[k] for k, _ in TABS], titles=[t for _, t in TABS]), "sw-tabs")
        self.tabs.observe(lambda ch: self._event(ctl.set_tab, TABS[ch["new"]][0]), names="selected_index")
        self.jobs = cls(w.VBox(), "sw-jobs")
        self.clear_finished = cls(
            w.Button(
                description="Clear finished",
                icon="times",
                tooltip="Remove the cards of finished jobs (their files and history rows stay)",
                layout=w.Layout(width="auto"),
            ),
            "sw-clear-finished",
        )
        self.clear_finished.on_click(lambda _b: self.clear_cards())
        super().__init__([w.HTML(CSS + CARD_CSS + RESTORED_CSS), header, self.tabs, self.clear_finished, self.jobs])
        self.add_class("sw-panel")
        ctl.observe(self._refresh)
        ctl.on_new_job(self._add_card)
        self._refresh("init")

    # -- text forms and the saved summary ---------------------------------------------------
    def __repr__(self) -> str:
        return summary_line(self.controller.provider_label, self.controller.jobs)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        data: dict[str, Any] | None = super()._repr_mimebundle_(**kwargs)
        if data is not None:
            data["text/html"] = self._summary()
        return data

    def _summary(self) -> str:
        return summary_html(self.controller.provider_label, self.controller.jobs)

    def _ipython_display_(self) -> None:
        """In a notebook: the widget, then the static summary as an output of its own, kept current.

        A summary inside the widget's own output is frozen at display time ("no jobs yet"), so a
        saved notebook opened where no widget can be drawn (GitHub, nbviewer, a missing widget
        state) would say nothing of what was made. Its own output has a display id: each job that
        ends rewrites it. Where the panel is drawn, the panel's CSS hides it."""
        from IPython.display import display

        bundle = super()._repr_mimebundle_() or {}  # the widget view and its one-line text
        display(bundle, raw=True)  # type: ignore[no-untyped-call]
        self._summary_shown = self._summary()
        self._summary_handle = display(  # type: ignore[no-untyped-call]
            {"text/html": self._summary_shown}, raw=True, display_id=True
        )

    def _update_summary(self) -> None:
        handle = getattr(self, "_summary_handle", None)
        if handle is None:
            return
        now = self._summary()
        if now != self._summary_shown:
            self._summary_shown = now
            handle.update({"text/html": now}, raw=True)

    # -- cards --------------------------------------------------------------------------------
    def dismiss_card(self, card: JobCard) -> None:
        """Remove a finished job's card and close its widgets (a running job's card stays)."""
        if not card.job.done:
            return
        with self._lock:
            self.jobs.children = tuple(c for c in self.jobs.children if c is not card)
            self.cards.pop(card.job.id, None)
        card.close()
        self._draw_jobs_bar()

    def clear_cards(self) -> int:
        """Remove every finished job's card; returns how many went."""
        done = [c for c in list(self.cards.values()) if c.job.done]
        for card in done:
            self.dismiss_card(card)
        return len(done)

    def close(self) -> None:
        """Close every widget of the panel (cards, tabs, players) and what the controller made."""
        for card in list(self.cards.values()):
            card.close()
        self.cards.clear()
        # The panel holds widgets off screen too (the other tabs' parts, the picker's rows).
        for owner in (self, self.compose, *self._parts.values()):
            for widget in _held_widgets(vars(owner)):
                close_tree(widget)
        close_tree(self)
        if self._owns_controller:  # a controller passed in is the caller's to close
            self.controller.close()

    def _draw_jobs_bar(self) -> None:
        show(self.clear_finished, any(c.job.done for c in self.cards.values()))

    def _header(self) -> w.HBox:
        """Title, provider badge, key field."""
        self.provider = cls(w.HTML(), "sw-provider")
        self.key = cls(
            w.Password(
                placeholder="paste a fal key, press Enter",
                description="fal key",
                continuous_update=False,
                layout=w.Layout(width="300px"),
            ),
            "sw-key",
        )
        self.key.observe(self._on_key, names="value")
        return cls(
            w.HBox(
                [w.HTML('<span class="sw-title">sora2-widgets</span>'), self.provider, self.key],
                layout=w.Layout(align_items="center", justify_content="space-between"),
            ),
            "sw-header",
            "sw-row",
        )

    def _expose_widgets(self) -> None:
        """The composer's widgets as the panel's own attributes: ``panel.prompt``, ``panel.generate`` …"""
        c = self.compose
        for name in _COMPOSER_ATTRS:
            setattr(self, name, getattr(c, name))
        self.composer = c.box

    def _part(self, name: str) -> Any:
        """A tab's widgets (``image_source``, ``remix``, ``history_tab``, ``spend``), made on first use."""
        part = self._parts.get(name)
        if part is None:
            ctl = self.controller
            if name == "image_source":
                part = ImageSource(ctl, self._event)
            elif name == "remix":
                part = RemixPicker(ctl, self._event, self._refresh)
            elif name == "history_tab":
                part = HistoryTab(ctl, self._event)
                self._panes["history"].children = [part.box]
            else:
                part = SpendTab(ctl)
                self._panes["spend"].children = [part.box]
            self._parts[name] = part
            if name in ("image_source", "remix"):
                tab = "image" if name == "image_source" else "remix"
                self._mode_parts[tab] = [cls(w.HTML(esc(_HINTS[tab])), "sw-hint"), part.box]
        return part

    @property
    def image_source(self) -> ImageSource:
        part: ImageSource = self._part("image_source")
        return part

    @property
    def remix(self) -> RemixPicker:
        part: RemixPicker = self._part("remix")
        return part

    @property
    def history_tab(self) -> HistoryTab:
        part: HistoryTab = self._part("history_tab")
        return part

    @property
    def spend(self) -> SpendTab:
        part: SpendTab = self._part("spend")
        return part

    def __getattr__(self, name: str) -> Any:
        # ``panel.history_rows``, ``panel.image_url`` …: the lazy tabs' widgets, reached as before.
        owner = _TAB_ATTRS.get(name)
        if owner is None:
            raise AttributeError(name)
        return getattr(self._part(owner), name)

    @property
    def _history_checks(self) -> list[tuple[Any, w.Checkbox]]:
        """The History tab's drawn rows: (row id, tick box)."""
        return self.history_tab.checks

    # -- events -> controller ---------------------------------------------------------------
    def _on_key(self, change: dict[str, Any]) -> None:
        value = change["new"]
        if not value:
            return
        # Clear first: the typed key must not survive in any widget's state.
        self.key.value = ""
        self.controller.set_key(str(value))

    def _add_card(self, job: JobState) -> None:
        card = JobCard(job, on_cancel=self.controller.cancel, on_remix=self._remix_job, on_dismiss=self.dismiss_card)
        self.cards[job.id] = card
        with self._lock:
            self.jobs.children = (card, *self.jobs.children)

    def _remix_job(self, job: JobState) -> None:
        """A card's "Remix this": the Remix tab, with that card's video chosen."""
        ctl = self.controller
        ctl.refresh_history()
        ctl.set_tab("remix")
        wanted = {str(job.history_id), str(job.video_id)}
        for cand in ctl.remix_candidates():
            if cand.key in wanted or cand.video_id in wanted:
                ctl.set_remix_source(cand.key)
                break

    # -- controller -> widgets --------------------------------------------------------------
    def _refresh(self, what: str) -> None:
        with self._lock, self._event.redrawing():
            try:
                self._draw(what)
            except Exception:
                log.exception("panel redraw failed")

    def _draw(self, what: str) -> None:
        ctl = self.controller
        if what in ("jobs", "init"):
            self._draw_jobs_bar()
            self._update_summary()
        badge = "sw-badge-live" if ctl.provider == "fal" else "sw-badge-offline"
        self.provider.value = f'<span class="sw-badge {badge}">{esc(ctl.provider_label)}</span>'
        self.key.placeholder = "key set — paste another to replace" if ctl.has_key else "paste a fal key, press Enter"
        index = [k for k, _ in TABS].index(ctl.tab)
        if self.tabs.selected_index != index:
            self.tabs.selected_index = index
        if ctl.tab in ("image", "remix"):
            self._part("image_source" if ctl.tab == "image" else "remix")  # made on the first visit
        if ctl.tab in self._mode_parts:
            self._place_composer(ctl.tab)
            self.compose.draw()
            if ctl.tab == "image":
                self.image_source.draw()
            if ctl.tab == "remix":
                self.remix.draw()
        elif ctl.tab == "history":
            self.history_tab.draw()
        elif ctl.tab == "spend":
            self.spend.draw()

    def _place_composer(self, tab: str) -> None:
        """Move the one composer into ``tab``'s pane (one DOM copy for browser tests)."""
        pane = self._panes[tab]
        wanted = (*self._mode_parts[tab], self.composer)
        if tuple(pane.children) != wanted:
            for key in self._mode_parts:
                if key != tab and self.composer in self._panes[key].children:
                    self._panes[key].children = tuple(self._mode_parts[key])
            pane.children = wanted
