"""``sw.compare``: generations side by side, played in step, rated and annotated into the ledger.

The widget (``Compare``, an anywidget: ``_compare.js``/``_compare.css`` ship in the package, so
JupyterLab, Notebook 7 and Voila render it with no build step) keeps only captions, ratings,
notes and tags in widget state. The videos stream from the kernel on request, in chunks over the widget's
comm, as the panel's ``MediaPlayer`` does: a saved notebook never carries a clip.

A star, a note or the tags typed in the browser are written with ``History.rate`` or
``History.tag(..., replace=True)`` before the browser is told they are saved, so they survive a
kernel restart and show in other processes' ``History().df``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import anywidget
import traitlets

from ..history import History, HistoryRecord
from ..history._notes import check_notes, check_stars, check_tags
from ._compare_grid import CompareGrid, compare_table, layout

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Compare", "RatingLedger", "compare"]

log = logging.getLogger("sora2_widgets.experiments")

_HERE = Path(__file__).parent
#: Bytes per answer message, as the panel's ``MediaPlayer`` sends them. Not imported from there:
#: ``panel/`` loads the whole panel (controller, ipywidgets tabs), a second of a first render.
CHUNK = 4 * 1024 * 1024


@runtime_checkable
class RatingLedger(Protocol):
    """What ``compare`` needs of a ledger: its rows, and a way to rate and tag one."""

    @property
    def df(self) -> pd.DataFrame: ...

    def rate(self, history_id: int, stars: int | None, *, notes: str | None = None) -> None: ...

    def tag(self, history_id: int, *tags: str, remove: bool = False, replace: bool = False) -> tuple[str, ...]: ...

    def get(self, history_id: int) -> HistoryRecord: ...


class Compare(anywidget.AnyWidget):
    """A grid of generations (see :func:`compare`). ``rate`` is what the stars in the browser call."""

    _esm = (_HERE / "_compare.js").read_text(encoding="utf-8")
    _css = (_HERE / "_compare.css").read_text(encoding="utf-8")
    row_labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    col_labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    row_axis = traitlets.Unicode("").tag(sync=True)
    col_axis = traitlets.Unicode("").tag(sync=True)
    #: For each row, for each column, the indexes of the cells in that slot.
    slots: traitlets.List[list[list[int]]] = traitlets.List().tag(sync=True)
    #: Each cell's caption, status, rating, notes and tags (``CompareCell.state``); no paths.
    cells: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    loop = traitlets.Bool(True).tag(sync=True)
    #: The last save's failure, as a sentence ('' when the last save worked).
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, grid: CompareGrid, ledger: RatingLedger) -> None:
        self._grid = grid
        self._ledger = ledger
        super().__init__(
            row_labels=list(grid.rows),
            col_labels=list(grid.cols),
            row_axis=grid.row_axis,
            col_axis=grid.col_axis,
            slots=[[list(s) for s in row] for row in grid.slots],
            cells=[c.state() for c in grid.cells],
        )
        self.on_msg(self._on_message)

    @property
    def grid(self) -> CompareGrid:
        return self._grid

    def _index(self, history_id: int) -> int:
        for index, cell in enumerate(self._grid.cells):
            if cell.history_id == history_id:
                return index
        raise KeyError(f"generation #{history_id} is not in this comparison.")

    def rate(self, history_id: int, stars: int | None, *, notes: str | None = None) -> None:
        """Save ``stars`` (1–5, ``None`` clears) and, if given, ``notes`` for one cell, in the ledger first."""
        index = self._index(history_id)
        stars = check_stars(stars)
        if notes is not None:
            notes = check_notes(notes)
        self._ledger.rate(history_id, stars, notes=notes)
        cells = [dict(c) for c in self.cells]
        cells[index]["rating"] = stars or 0
        if notes is not None:
            cells[index]["notes"] = notes
        self.cells = cells

    def set_tags(self, history_id: int, tags: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
        """Make one cell's tags exactly ``tags`` (a list, or text separated by commas), in the ledger first."""
        index = self._index(history_id)
        if isinstance(tags, str):
            # A comma-separated field: blanks between commas ("a, , b" or a trailing comma) are not tags.
            tags = [t for t in tags.split(",") if t.strip()]
        if not isinstance(tags, list | tuple):
            raise ValueError(f"tags must be text separated by commas or a list of text, not {type(tags).__name__}.")
        after = self._ledger.tag(history_id, *check_tags(tags), replace=True)
        cells = [dict(c) for c in self.cells]
        cells[index]["tags"] = list(after)
        self.cells = cells
        return after

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "fetch":
            self._send_video(content)
        elif kind in ("rate", "tag"):
            self._save(content)

    def _save(self, content: dict[str, Any]) -> None:
        """A browser's stars, notes or tags: written, then the browser is told (or told why not)."""
        index = content.get("cell")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self._grid.cells):
            return
        history_id = self._grid.cells[index].history_id
        notes = content.get("notes")
        try:
            if content.get("type") == "tag":
                self.set_tags(history_id, content.get("tags"))  # type: ignore[arg-type]  # checked there
            else:
                # Notes alone keep the stars the ledger has now (another kernel may have rated since);
                # ``null`` clears them (the same star clicked again).
                stars = content["stars"] if "stars" in content else self._ledger.get(history_id).rating
                self.rate(history_id, stars, notes=notes)
        except (ValueError, KeyError, OSError) as exc:
            self.error = str(exc)
            self.send({"type": "saved", "cell": index, "ok": False, "text": str(exc)})
            return
        except Exception as exc:  # a ledger that is away (LedgerError…): say so on the widget, keep the kernel
            log.warning("could not save a rating: %s", exc)
            self.error = f"Not saved: {exc}"
            self.send({"type": "saved", "cell": index, "ok": False, "text": self.error})
            return
        self.error = ""
        self.send({"type": "saved", "cell": index, "ok": True})

    def _send_video(self, content: dict[str, Any]) -> None:
        request, index = content.get("request"), content.get("cell")
        if not isinstance(request, str) or len(request) > 64:
            return
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self._grid.cells):
            return
        path = self._grid.cells[index].local_path
        try:
            data = Path(path).read_bytes() if path else None
        except OSError:
            data = None
        if data is None:
            self.send({"type": "missing", "request": request, "cell": index, "text": "The video file is gone."})
            return
        total = max(1, -(-len(data) // CHUNK))
        view = memoryview(data)
        for part in range(total):
            head = {"type": "chunk", "request": request, "cell": index, "index": part, "total": total}
            self.send(head, buffers=[view[part * CHUNK : (part + 1) * CHUNK]])


def compare(
    items: object,
    rows: str = "prompt",
    cols: str = "model",
    where: object = None,
    *,
    history: RatingLedger | None = None,
) -> Compare:
    """Generations side by side: one row per ``rows`` value, one column per ``cols`` value.

    ``items``: a list of generations (or ``HistoryRecord``\\ s, or history ids), a slice of
    ``History().df``, or a sweep (anything with a ``.results`` frame that has a ``history_id``
    column). ``rows``/``cols``: any two columns: ``prompt``, ``model``, ``status``, ``sweep``,
    ``rating`` … or a parameter (``duration``, ``aspect_ratio`` …). ``where``: a mapping column →
    value(s) to keep (``{"duration": 8}``) or a callable taking the table, giving a boolean mask.
    ``history``: the ledger the rows are in and ratings go to (if not given: a sweep's own
    ``.history`` when it has one, else the default ledger).

    Play, pause and seek move every video together; each cell's stars, notes and tags are saved at once.
    """
    own = getattr(items, "history", None)  # a sweep reads (and so rates) its own ledger
    ledger: RatingLedger = history if history is not None else own if isinstance(own, RatingLedger) else History()
    table = compare_table(items, ledger.df)
    return Compare(layout(table, rows=rows, cols=cols, where=where), ledger)
