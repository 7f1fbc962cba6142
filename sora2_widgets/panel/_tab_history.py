"""The History tab: the ledger's rows newest first, filtered by model and status, a page at a
time, with a thumbnail per row and a tick box to delete rows.

Rows are read from ``History.df`` by its own column names: ``id``, ``created_at``, ``model_id``,
``status``, ``prompt``, ``cost_micros`` (exact; ``<NA>`` while unknown), ``est_high_micros``,
``thumbnail_path``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import ipywidgets as w

from .._pricing import format_usd
from ..history import from_micros
from ._controller import PanelController
from ._remix import when_text
from ._widgets import EventGuard, cls, esc, replace_children, set_options, set_status, show, thumb

__all__ = ["HISTORY_PAGE", "HistoryTab"]

#: History rows drawn at a time: each is a few widgets (thumbnail included), so "Show more" adds pages.
HISTORY_PAGE = 100


def _money(micros: Any) -> str | None:
    """A ``*_micros`` cell as USD text; ``None`` for ``<NA>`` (not known)."""
    import pandas as pd

    return None if pd.isna(micros) else format_usd(from_micros(int(micros)))


def unknown_note(record: Mapping[Hashable, Any]) -> str:
    """Why an ``unknown`` row is not an ordinary failure: the job may exist and may be charged."""
    high = _money(record["est_high_micros"])
    up_to = f" up to {high}" if high is not None else ""
    return (
        f"Submit outcome unknown: the service may have created this job and charged{up_to}."
        " It was not resubmitted; check fal's dashboard."
    )


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
        self.history_rows = cls(w.VBox(), "sw-history-table")
        # The composer's status line is not on this tab: its messages (deleted rows…) show here.
        self.history_note = cls(w.HTML(), "sw-status", "sw-history-note")
        #: The drawn rows' ids and tick boxes.
        self.checks: list[tuple[Any, w.Checkbox]] = []
        self.box = w.VBox(
            [
                cls(
                    w.HBox([self.history_model, self.history_status, self.history_refresh, self.history_delete]),
                    "sw-row",
                ),
                self.history_note,
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
        models = sorted({str(m) for m in full["model_id"]})
        statuses = sorted({str(s) for s in full["status"]})
        set_options(self.history_model, [("all models", ""), *[(m, m) for m in models]], self.history_model.value or "")
        set_options(
            self.history_status, [("any status", ""), *[(s, s) for s in statuses]], self.history_status.value or ""
        )
        frame = ctl.history_frame(model=self.history_model.value or None, status=self.history_status.value or None)
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
        rows: list[w.Widget] = [w.HTML("<i>No generations yet.</i>")] if total == 0 else []
        for record in frame.head(shown).to_dict("records") if frame is not None else []:
            rows.append(self._row(record))
        replace_children(self.history_rows, rows)  # the old rows' models are closed, not leaked

    def _row(self, record: Mapping[Hashable, Any]) -> w.HBox:
        """One ledger row: tick box, thumbnail, model · status · cost · date, the prompt."""
        box = w.Checkbox(indent=False, layout=w.Layout(width="28px"))
        self.checks.append((record["id"], box))
        cost = _money(record["cost_micros"]) or "—"
        when = when_text(record["created_at"].to_pydatetime())
        unknown = record["status"] == "unknown"
        text = (
            f"<b>{esc(record['model_id'])}</b> · {esc(record['status'])} · {esc(cost)} · {esc(when)}"
            + (f"<div class='sw-warn'>{esc(unknown_note(record))}</div>" if unknown else "")
            + f"<div class='sw-muted'>{esc(str(record['prompt'] or '')[:200])}</div>"
        )
        parts: list[w.Widget] = [box]
        image = thumb(record["thumbnail_path"], "72px")
        if image is not None:
            parts.append(image)
        parts.append(w.HTML(text))
        line = w.HBox(parts, layout=w.Layout(align_items="center"))
        return cls(line, "sw-history-unknown") if unknown else line
