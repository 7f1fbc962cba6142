"""The History tab: the ledger's rows newest first, filtered by model and status, a page at a
time, with a thumbnail per row, a tick box to delete rows, and per row what a person does with a
video: play it, remix it (the Remix tab with it chosen), and find its file.

Rows are read from ``History.df`` by its own column names: ``id``, ``created_at``, ``model_id``,
``status``, ``provider``, ``prompt``, ``cost_micros`` (exact; ``<NA>`` while unknown),
``est_low_micros``, ``est_high_micros``, ``thumbnail_path``, ``local_path``, ``video_url``. People
read model names and status words instead (``_ledger.py``), a job still on its way shows its
estimate as one, and an amount made on the emulator says it was simulated.

Experiments (issue #15): the rows can be narrowed to a rating (at least N stars, or unrated), a
tag and a sweep (``rating``, ``tags``, ``sweep``), and the ticked rows opened side by side in
``sw.compare`` below the filters.
"""

from __future__ import annotations

import html
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as w

from .._pricing import format_usd
from ..history import ACTIVE_STATUSES, from_micros
from ._cards import VideoWhere, video_where
from ._controller import PanelController
from ._ledger import model_name, status_word
from ._media import browser_video_url
from ._remix import when_text
from ._widgets import EventGuard, cls, esc, replace_children, set_options, set_status, show, thumb

__all__ = ["HISTORY_PAGE", "HistoryTab", "cost_text", "experiment_rows", "history_video"]

#: History rows drawn at a time: each is a few widgets (thumbnail and actions), so "Show more" adds pages.
HISTORY_PAGE = 25


def _money(micros: Any) -> str | None:
    """A ``*_micros`` cell as USD text; ``None`` for ``<NA>`` (not known)."""
    import pandas as pd

    return None if pd.isna(micros) else format_usd(from_micros(int(micros)))


def cost_text(record: Mapping[Hashable, Any]) -> str:
    """A row's cost as people read it: the final figure once known; for a job still on its way, its
    estimate marked as one ("≈ $0.40 est."), never a $0 or a final-looking amount; else not known."""
    cost = _money(record["cost_micros"])
    if cost is None and record["status"] in ACTIVE_STATUSES:
        low, high = _money(record["est_low_micros"]), _money(record["est_high_micros"])
        if low is not None or high is not None:
            span = (low or high) if low is None or high is None or low == high else f"{low}–{high}"
            cost = f"≈ {span} est."
    if cost is None:
        return "cost not known"
    return cost + " (simulated)" if record["provider"] == "emulator" else cost


def _missing(value: Any) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))


def _text(value: Any) -> str | None:
    """A text cell, ``None`` for a missing one (``None``/``NaN``/``<NA>``)."""
    import pandas as pd

    return None if value is None or pd.isna(value) else str(value)


def experiment_rows(frame: Any, *, rating: str = "", tag: str = "", sweep: str = "") -> Any:
    """The History frame's rows with ``rating`` ("" any, "unrated", or "1"–"5": at least that many
    stars), carrying ``tag`` and in ``sweep`` ("" = any)."""
    import pandas as pd

    if rating == "unrated":
        frame = frame[frame["rating"].isna()]
    elif rating:
        frame = frame[frame["rating"].fillna(0) >= int(rating)]
    if tag:
        frame = frame[[tag in tuple(t or ()) for t in frame["tags"]]]
    if sweep:
        frame = frame[[not pd.isna(s) and s == sweep for s in frame["sweep"]]]
    return frame


def _choices(frame: Any) -> tuple[list[str], list[str]]:
    """The tags and sweep names the ledger's rows carry, sorted."""
    import pandas as pd

    tags = sorted({t for row in frame["tags"] for t in (row or ())})
    sweeps = sorted({str(s) for s in frame["sweep"] if s is not None and not pd.isna(s)})
    return tags, sweeps


#: The rating menu: any, unrated, or at least N stars.
RATING_OPTIONS = [("any rating", ""), ("unrated", "unrated"), *[("★" * n + " or more", str(n)) for n in range(1, 6)]]


def unknown_note(record: Mapping[Hashable, Any]) -> str:
    """Why an ``unknown`` row is not an ordinary failure: the job may exist and may be charged."""
    high = _money(record["est_high_micros"])
    up_to = f" up to {high}" if high is not None else ""
    return (
        f"Submit outcome unknown: the service may have created this job and charged{up_to}."
        " It was not resubmitted; check fal's dashboard."
    )


def history_video(where: VideoWhere) -> w.Widget:
    """A player for a History row's video, made when the user clicks Play (not per row drawn).

    A local file streams from the kernel on demand, as on the cards (only its name is widget
    state); without one, the browser fetches the result URL when it can reach it.
    """
    path = where.path
    if path is not None:
        from ._player import MediaPlayer  # anywidget loads with the first video, not with the panel

        video: w.Widget = MediaPlayer(path, "video/mp4", kind="video", width="480px", max_height="360px")
        return cls(video, "sw-video", "sw-history-video")
    src = where.url
    if src is None:
        return cls(w.HTML(esc(where.note)), "sw-muted")
    video = w.Video(value=src.encode("utf-8"), format="url", autoplay=True, loop=False, controls=True)
    video.layout.max_width = "480px"
    return cls(video, "sw-video", "sw-history-video")


def file_line(local_path: str | None, video_url: str | None, where: VideoWhere | None = None) -> str:
    """Where the row's video is, as HTML: the local path (copyable) and a link the browser can open."""
    parts = []
    if local_path:
        full = html.escape(local_path, quote=True)
        state = "" if Path(local_path).is_file() else " (no longer on disk)"
        if where is not None and where.path is None and where.note:
            parts.append(esc(where.note))  # which machine has it, when it is not here
        else:
            parts.append(f'File: <code class="sw-path" title="{full}">{full}</code>{esc(state)}')
    link = browser_video_url(video_url) if where is None or where.url is not None else None
    if link is not None:
        href = html.escape(link, quote=True)
        parts.append(f'<a href="{href}" target="_blank" rel="noopener noreferrer">open the video in a new tab</a>')
    return " · ".join(parts) if parts else esc("No file was saved for this generation.")


class HistoryTab:
    """The History tab's widgets, and the rows drawn from the controller's history frame."""

    def __init__(self, ctl: PanelController, event: EventGuard) -> None:
        self._ctl = ctl
        self.history_model = cls(w.Dropdown(description="Model"), "sw-history-model")
        self.history_status = cls(w.Dropdown(description="Status"), "sw-history-status")
        for dd in (self.history_model, self.history_status):
            dd.observe(lambda _ch: event(self._filter), names="value")
        self._limit = HISTORY_PAGE
        self.history_count = cls(w.HTML(), "sw-muted", "sw-history-count")
        self.history_more = cls(w.Button(description="Show more", icon="angle-down"), "sw-history-more")
        self.history_more.on_click(lambda _b: self._more())
        self.history_refresh = w.Button(description="Refresh", icon="refresh")
        self.history_refresh.on_click(lambda _b: ctl.refresh_history())
        self.history_delete = cls(w.Button(description="Delete selected", icon="trash"), "sw-history-delete")
        self.history_delete.on_click(lambda _b: self._delete())
        self.history_rating = cls(w.Dropdown(description="Rating", options=RATING_OPTIONS), "sw-history-rating")
        self.history_tag = cls(w.Dropdown(description="Tag", options=[("any tag", "")]), "sw-history-tag")
        self.history_sweep = cls(w.Dropdown(description="Sweep", options=[("any sweep", "")]), "sw-history-sweep")
        for dd in (self.history_rating, self.history_tag, self.history_sweep):
            dd.observe(lambda _ch: event(self._filter), names="value")
        self.history_compare = cls(
            w.Button(description="Compare selected", icon="th", tooltip="The ticked rows side by side"),
            "sw-history-compare",
        )
        self.history_compare.on_click(lambda _b: self._compare())
        #: Where "Compare selected" shows its grid (one at a time).
        self.history_compare_box = cls(w.VBox(), "sw-history-compare-box")
        self.history_rows = cls(w.VBox(), "sw-history-table")
        # The composer's status line is not on this tab: its messages (deleted rows…) show here.
        self.history_note = cls(w.HTML(), "sw-status", "sw-history-note")
        #: The drawn rows' ids and tick boxes.
        self.checks: list[tuple[Any, w.Checkbox]] = []
        #: The drawn rows' action buttons by row id: {"play": …, "remix": …, "file": …} (those it has).
        self.actions: dict[Any, dict[str, w.Button]] = {}
        self.box = w.VBox(
            [
                cls(
                    w.HBox([self.history_model, self.history_status, self.history_refresh, self.history_delete]),
                    "sw-row",
                ),
                cls(
                    w.HBox([self.history_rating, self.history_tag, self.history_sweep, self.history_compare]),
                    "sw-row",
                ),
                self.history_note,
                self.history_compare_box,
                self.history_count,
                self.history_rows,
                self.history_more,
            ]
        )

    # -- events -> controller ---------------------------------------------------------------
    def _filter(self) -> None:
        self._limit = HISTORY_PAGE  # a new filter starts again from its newest rows
        self.draw()

    def _more(self) -> None:
        self._limit += HISTORY_PAGE
        self.draw()

    def _delete(self) -> None:
        ids = [row_id for row_id, box in self.checks if box.value]
        if not ids:
            self._ctl.notify("Tick the rows to delete first.", warn=True)
            return
        self._ctl.delete_history(ids)

    def _compare(self) -> None:
        """The ticked rows in ``sw.compare``, shown below the filters (replacing an earlier grid)."""
        from ..experiments._compare import RatingLedger, compare

        ids = [int(row_id) for row_id, box in self.checks if box.value]
        history = self._ctl.history
        if not ids:
            self._ctl.notify("Tick the rows to compare first.", warn=True)
            return
        if not isinstance(history, RatingLedger):  # a ledger stand-in that cannot store ratings
            self._ctl.notify("This history cannot store ratings, so it cannot open a comparison.", warn=True)
            return
        grid = compare(sorted(ids), history=history)  # oldest first, as the ledger and a sweep list them
        replace_children(self.history_compare_box, [grid])

    # -- controller -> widgets --------------------------------------------------------------
    def draw(self) -> None:
        ctl = self._ctl
        set_status(self.history_note, ctl.status, warn=ctl.status_warn)
        full = ctl.history_frame()
        if full is None:
            replace_children(self.history_rows, [w.HTML("<i>No history available.</i>")])
            show(self.history_count, False)
            show(self.history_more, False)
            return
        models = sorted({str(m) for m in full["model_id"]}, key=model_name)
        statuses = sorted({str(s) for s in full["status"]}, key=status_word)
        set_options(
            self.history_model,
            [("all models", ""), *[(model_name(m), m) for m in models]],
            self.history_model.value or "",
        )
        set_options(
            self.history_status,
            [("any status", ""), *[(status_word(s), s) for s in statuses]],
            self.history_status.value or "",
        )
        tags, sweeps = _choices(full)
        tag_value = self.history_tag.value if self.history_tag.value in tags else ""
        set_options(self.history_tag, [("any tag", ""), *[(t, t) for t in tags]], tag_value)
        sweep_value = self.history_sweep.value if self.history_sweep.value in sweeps else ""
        set_options(self.history_sweep, [("any sweep", ""), *[(s, s) for s in sweeps]], sweep_value)
        frame = ctl.history_frame(model=self.history_model.value or None, status=self.history_status.value or None)
        if frame is not None and len(frame):
            rating = self.history_rating.value or ""
            frame = experiment_rows(frame, rating=rating, tag=tag_value, sweep=sweep_value)
        total = 0 if frame is None else len(frame)
        shown = min(total, self._limit)
        if shown < total:
            self.history_count.value = esc(f"Showing {shown} of {total} (newest first).")
        else:
            self.history_count.value = esc(f"{total} generation{'s' if total != 1 else ''}, newest first.")
        show(self.history_count, total > 0)
        show(self.history_more, shown < total)
        self.history_more.description = f"Show {min(HISTORY_PAGE, total - shown)} more"
        self.checks = []
        self.actions = {}
        remixable = {c.key for c in ctl.remix_candidates()}
        rows: list[w.Widget] = [w.HTML("<i>No generations yet.</i>")] if total == 0 else []
        for record in frame.head(shown).to_dict("records") if frame is not None else []:
            rows.append(self._row(record, str(record["id"]) in remixable))
        replace_children(self.history_rows, rows)  # the old rows' models are closed, not leaked

    def _row(self, record: Mapping[Hashable, Any], remixable: bool) -> w.VBox:
        """One ledger row: tick box, thumbnail, model · status · cost · date, the prompt, and its actions."""
        row_id = record["id"]
        box = w.Checkbox(indent=False, layout=w.Layout(width="28px"))
        self.checks.append((row_id, box))
        when = when_text(record["created_at"].to_pydatetime())
        unknown = record["status"] == "unknown"
        facts = [
            model_name(str(record["model_id"])),
            status_word(str(record["status"])),
            cost_text(record),
            when,
        ]
        if not _missing(record.get("rating")):
            facts.append("★" * int(record["rating"]))
        if record.get("tags"):
            facts.append("tags: " + ", ".join(record["tags"]))
        text = cls(
            w.HTML(
                f"<b>{esc(facts[0])}</b> · {esc(' · '.join(facts[1:]))} <span class='sw-muted'>#{esc(row_id)}</span>"
                + (f"<div class='sw-warn'>{esc(unknown_note(record))}</div>" if unknown else "")
                + f"<div class='sw-muted'>{esc(str(record['prompt'] or '')[:200])}</div>",
                layout=w.Layout(flex="1 1 auto", min_width="0", width="auto"),
            ),
            "sw-history-text",
        )
        parts: list[w.Widget] = [box]
        image = thumb(record["thumbnail_path"], "72px")
        if image is not None:
            parts.append(image)
        parts.append(text)
        detail = cls(w.VBox(), "sw-history-detail")
        parts.append(self._actions(record, remixable, detail))
        line = w.HBox(parts, layout=w.Layout(align_items="center"))
        row = cls(w.VBox([line, detail]), "sw-history-row", f"sw-history-row-{row_id}")
        return cls(row, "sw-history-unknown") if unknown else row

    def _actions(self, record: Mapping[Hashable, Any], remixable: bool, detail: w.VBox) -> w.HBox:
        """Play (a player below the row), Remix (when the video can be remixed), File (where it is)."""
        row_id = record["id"]
        local_path, video_url = _text(record["local_path"]), _text(record["video_url"])
        # A team ledger's row may come from another machine: its file is there, fal's URL expires.
        made_at = record["created_at"].to_pydatetime()
        where = video_where(local_path, video_url, machine=_text(record.get("machine")), made_at=made_at)
        buttons: dict[str, w.Button] = {}
        if record["status"] == "completed" and where.playable:
            buttons["play"] = w.Button(description="Play", icon="play", tooltip="Play this video here")
            buttons["play"].on_click(lambda _b: self._toggle(detail, "play", lambda: history_video(where)))
        if remixable:
            buttons["remix"] = w.Button(
                description="Remix", icon="random", tooltip="Open the Remix tab with this video chosen"
            )
            buttons["remix"].on_click(lambda _b: self._ctl.remix_from(row_id))
        if local_path or browser_video_url(video_url):
            buttons["file"] = w.Button(description="File", icon="folder-open", tooltip="Where this video is saved")
            buttons["file"].on_click(
                lambda _b: self._toggle(
                    detail, "file", lambda: cls(w.HTML(file_line(local_path, video_url, where)), "sw-history-where")
                )
            )
        for name, button in buttons.items():
            button.layout.width = "auto"  # a new Layout would orphan the default one, per row drawn
            cls(button, "sw-action", f"sw-history-{name}")
        self.actions[row_id] = buttons
        return cls(w.HBox(list(buttons.values())), "sw-history-actions")

    @staticmethod
    def _toggle(detail: w.VBox, what: str, make: Any) -> None:
        """Show ``what`` below the row, or hide it when it is already shown (closing its widgets)."""
        shown = [c for c in detail.children if getattr(c, "_sw_what", None) == what]
        rest = [c for c in detail.children if getattr(c, "_sw_what", None) != what]
        if shown:
            detail.children = rest
            for node in shown:
                node.close()
            return
        widget = make()
        widget._sw_what = what
        detail.children = [*rest, widget]
