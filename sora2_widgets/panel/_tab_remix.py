"""The Remix tab's picker: one row per remixable video (thumbnail, prompt, date and length,
Choose), newest first, a page at a time.

Once a video is chosen it is shown once: the list folds away and the chosen video's details
stand in its place, with "Choose another" to open the list again (the list used to stay open
with the chosen row marked *and* the same video repeated below it)."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as w

from ._controller import PanelController
from ._remix import RemixCandidate
from ._widgets import EventGuard, close_tree, cls, esc, show, thumb

__all__ = ["REMIX_PAGE", "RemixPicker"]

#: Remix candidates drawn at a time: each row carries its thumbnail's bytes as widget state.
REMIX_PAGE = 20


class RemixPicker:
    """The picker's widgets; rows of unchanged candidates are kept between redraws."""

    def __init__(self, ctl: PanelController, event: EventGuard, redraw: Callable[[str], None]) -> None:
        self._ctl = ctl
        self._event = event
        self._redraw = redraw
        self.remix_picker = cls(w.VBox(layout=w.Layout(width="auto")), "sw-remix-picker")
        self._rows: dict[str, tuple[w.HBox, w.ToggleButton]] = {}
        self._drawn: tuple[RemixCandidate, ...] = ()
        self._limit = REMIX_PAGE
        self.remix_more = cls(w.Button(description="Show more", icon="angle-down"), "sw-remix-more")
        self.remix_more.on_click(lambda _b: self._more())
        self.remix_preview = cls(w.HBox(layout=w.Layout(align_items="center")), "sw-remix-preview")
        self._previewed: RemixCandidate | None = None
        self.remix_change = cls(
            w.Button(
                description="Choose another",
                icon="list",
                tooltip="Show the list of videos again",
                layout=w.Layout(width="auto", flex="0 0 auto"),  # its words in full, also on narrow screens
            ),
            "sw-remix-change",
            "sw-action",
        )
        self.remix_change.on_click(lambda _b: self._event(ctl.set_remix_source, None))
        self.remix_preview.children = (self.remix_change,)
        show(self.remix_preview, False)
        self.remix_empty = cls(
            w.HTML(esc("No Sora videos available yet — generate one with 'keep for remix' first.")),
            "sw-remix-empty",
        )
        self.box = cls(w.VBox([self.remix_empty, self.remix_picker, self.remix_more, self.remix_preview]), "sw-box")

    # -- events -> controller ---------------------------------------------------------------
    def _choose(self, key: str, picked: bool) -> None:
        ctl = self._ctl
        if picked:
            ctl.set_remix_source(key)
        elif ctl.remix_key == key:
            ctl.set_remix_source(None)

    def _more(self) -> None:
        self._limit += REMIX_PAGE
        self._redraw("remix")  # as a redraw: the Choose toggles it sets are not user clicks

    # -- controller -> widgets --------------------------------------------------------------
    def draw(self) -> None:
        ctl = self._ctl
        cands = ctl.remix_candidates()
        chosen = ctl.remix_source
        show(self.remix_empty, not cands)
        show(self.remix_picker, bool(cands) and chosen is None)
        keys = [c.key for c in cands]
        if chosen is not None and chosen.key in keys:
            # A source chosen elsewhere ("Remix this" on an old card) is always on screen.
            self._limit = max(self._limit, keys.index(chosen.key) + 1)
        page = cands[: self._limit]
        show(self.remix_more, len(page) < len(cands) and chosen is None)
        self.remix_more.description = f"Show {min(REMIX_PAGE, len(cands) - len(page))} more"
        self._draw_rows(tuple(page))
        for key, (row, choose) in self._rows.items():
            picked = chosen is not None and chosen.key == key
            choose.value = picked
            choose.description = "Chosen" if picked else "Choose"
            choose.icon = "check" if picked else "random"
            if picked:
                row.add_class("sw-remix-option-selected")
            else:
                row.remove_class("sw-remix-option-selected")
        self._draw_preview(chosen)

    def _draw_preview(self, chosen: RemixCandidate | None) -> None:
        """The chosen video, once: its details and "Choose another" (rebuilt only when the choice changes)."""
        if chosen == self._previewed:
            return
        old = [c for c in self.remix_preview.children if c is not self.remix_change]
        self._previewed = chosen
        # "Choose another" stays a child (the box is hidden when nothing is chosen): a widget the
        # panel holds but no box shows would still be saved with the notebook, out of reach.
        self.remix_preview.children = [*self._preview(chosen), self.remix_change] if chosen else [self.remix_change]
        show(self.remix_preview, chosen is not None)
        for widget in old:
            close_tree(widget)  # with its layout and style models

    def _draw_rows(self, page: tuple[RemixCandidate, ...]) -> None:
        if page == self._drawn:
            return
        # Rows of unchanged candidates are kept (no thumbnail re-read, nothing re-sent).
        kept = {c.key: self._rows[c.key] for c in page if c in self._drawn}
        gone = [row for key, (row, _) in self._rows.items() if key not in kept]
        self._drawn = page
        self._rows = {c.key: kept.get(c.key) or self._option(c) for c in page}
        self.remix_picker.children = [row for row, _ in self._rows.values()]
        for row in gone:
            close_tree(row)  # a replaced row's widgets (layouts and styles too) would otherwise live on

    def _option(self, cand: RemixCandidate) -> tuple[w.HBox, w.ToggleButton]:
        """One row of the picker: thumbnail (as on the History tab), prompt, date and length, Choose."""
        image = thumb(cand.thumbnail, "96px") or w.HTML(f"<span class='sw-muted'>{esc('no thumbnail')}</span>")
        image.add_class("sw-remix-option-thumb")
        facts = [cand.created, f"{cand.duration:g} s" if cand.duration else "", cand.resolution or ""]
        prompt = cand.prompt if len(cand.prompt) <= 200 else cand.prompt[:199] + "…"
        text = cls(
            w.HTML(
                f"<div>{esc(prompt)}</div><div class='sw-muted'>{esc(' · '.join(f for f in facts if f))}</div>",
                layout=w.Layout(flex="1 1 auto", min_width="0", width="auto"),
            ),
            "sw-remix-option-text",
        )
        choose = cls(
            w.ToggleButton(
                description="Choose", icon="random", tooltip="Remix this video", layout=w.Layout(width="auto")
            ),
            "sw-remix-option-choose",
            "sw-action",
        )
        key = cand.key
        choose.observe(lambda ch: self._event(self._choose, key, bool(ch["new"])), names="value")
        row = cls(w.HBox([image, text, choose], layout=w.Layout(align_items="center")), "sw-remix-option")
        row.add_class(f"sw-remix-option-{key}")
        return row, choose

    @staticmethod
    def _preview(cand: RemixCandidate) -> list[w.Widget]:
        facts = [cand.created, f"{cand.duration:g} s" if cand.duration else "", cand.resolution or "", cand.video_id]
        text = w.HTML(
            f"<div class='sw-box-title'>{esc('Remixing this video')}</div><div>{esc(cand.prompt)}</div>"
            f"<div class='sw-muted'>{esc(' · '.join(f for f in facts if f))}</div>",
            layout=w.Layout(flex="1 1 auto", min_width="0", width="auto"),
        )
        image = thumb(cand.thumbnail, "160px")
        return [image, text] if image is not None else [text]
