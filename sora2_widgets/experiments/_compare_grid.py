"""What ``compare`` shows, without a browser: which ledger rows, laid out on which grid, captioned how.

Whatever the user hands over (generations, History rows, a sweep) is reduced to ledger row ids and
read back from the ledger, so every cell's facts (and its rating) come from one place. The grid is
plain data (``CompareGrid``): the widget only sends it to the browser, and tests check it here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .._catalog import get_model
from .._errors import UnknownModelError
from .._pricing import format_usd
from ..history import HistoryRecord, from_micros

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AXES", "CompareCell", "CompareGrid", "collect_ids", "compare_table", "layout", "model_name"]

#: Columns every table has (params add one column each); ``rows``/``cols``/``where`` may use any of these.
AXES: tuple[str, ...] = ("prompt", "model", "status", "sweep", "rating", "provider", "mode", "user")
#: Names a sweep's results may give a job's wall time (seconds or a Timedelta).
_TIME_COLUMNS = ("time", "seconds", "elapsed", "elapsed_s", "time_s")


def model_name(model_id: str) -> str:
    """The catalog's display name ("Sora 2 Pro"); an id from an older catalog as stored."""
    try:
        return get_model(model_id).name
    except UnknownModelError:
        return model_id


@dataclasses.dataclass(frozen=True)
class CompareCell:
    """One generation as a grid cell: what the caption says and where its video is."""

    history_id: int
    model_id: str
    status: str
    #: Caption lines, plain text (the browser sets them as text, never as HTML).
    title: str
    differs: str
    facts: str
    local_path: str | None
    rating: int | None
    notes: str
    tags: tuple[str, ...] = ()

    def state(self) -> dict[str, Any]:
        """What the browser gets for this cell (no paths: the bytes stream over the comm)."""
        return {
            "id": self.history_id,
            "title": self.title,
            "differs": self.differs,
            "facts": self.facts,
            "video": self.local_path is not None,
            "status": self.status,
            "rating": self.rating or 0,
            "notes": self.notes,
            "tags": list(self.tags),
        }


@dataclasses.dataclass(frozen=True)
class CompareGrid:
    """Row and column labels, and for each (row, column) the cells in it (by index into ``cells``)."""

    rows: tuple[str, ...]
    cols: tuple[str, ...]
    row_axis: str
    col_axis: str
    slots: tuple[tuple[tuple[int, ...], ...], ...]
    cells: tuple[CompareCell, ...]

    def cell(self, row: int, col: int) -> list[CompareCell]:
        return [self.cells[i] for i in self.slots[row][col]]


def _one_id(item: object) -> list[int]:
    if isinstance(item, bool):
        raise TypeError("items must hold generations, History rows or a sweep; not a bool.")
    if isinstance(item, int):
        return [item]
    if isinstance(item, HistoryRecord):
        return [item.id]
    history_id = getattr(item, "history_id", None)
    if isinstance(history_id, int) and not isinstance(history_id, bool):
        return [history_id]
    if hasattr(item, "history_id"):  # a generation that never got a ledger row (refused before it)
        return []
    raise TypeError(
        "items must be generations, HistoryRecords, history ids, a slice of History().df or a sweep "
        f"(anything with a .results frame that has a history_id column); not {type(item).__name__}."
    )


def collect_ids(items: object) -> list[int]:
    """The ledger row ids of ``items``, in order, each once."""
    import pandas as pd

    results = getattr(items, "results", None)
    if isinstance(results, pd.DataFrame):  # a sweep (duck-typed: this module never imports it)
        items = results
    if isinstance(items, pd.DataFrame):
        if "history_id" in items.columns:
            raw: Iterable[Any] = items["history_id"]
        elif "id" in items.columns:  # the panel's frames carry the id as a column
            raw = items["id"]
        elif items.index.name == "id":  # History().df and its slices
            raw = items.index
        else:
            raise ValueError(
                "items is a DataFrame without a history_id or id column (nor an 'id' index): "
                "pass a slice of History().df or a sweep's results."
            )
        ids = [int(v) for v in raw if not pd.isna(v)]
    elif isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
        raise TypeError(
            "items must be a list of generations or HistoryRecords, a slice of History().df or a sweep; "
            f"not {type(items).__name__}."
        )
    else:
        ids = [i for item in items for i in _one_id(item)]
    return list(dict.fromkeys(ids))


def _times(items: object) -> dict[int, float]:
    """Wall times a sweep's results carry, by history id (generations and History rows carry none)."""
    import pandas as pd

    frame = getattr(items, "results", items)
    if not isinstance(frame, pd.DataFrame) or "history_id" not in frame.columns:
        return {}
    column = next((c for c in _TIME_COLUMNS if c in frame.columns), None)
    if column is None:
        return {}
    out: dict[int, float] = {}
    for hid, value in zip(frame["history_id"], frame[column], strict=True):
        if pd.isna(hid) or value is None or pd.isna(value):
            continue
        out[int(hid)] = value.total_seconds() if isinstance(value, (dt.timedelta, pd.Timedelta)) else float(value)
    return out


def _file_time(local_path: str | None, created: dt.datetime) -> float | None:
    """Seconds from the submit to the saved file: the ledger keeps no finish time, the file does."""
    if not local_path:
        return None
    try:
        saved = os.stat(local_path).st_mtime
    except OSError:
        return None
    seconds = saved - created.timestamp()
    return seconds if seconds >= 0 else None


def compare_table(items: object, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per generation in ``items`` (in their order) with the axis columns and one column per
    parameter; ``frame`` is ``History().df``. Ids not in the ledger are refused by name."""
    import pandas as pd

    ids = collect_ids(items)
    missing = [i for i in ids if i not in frame.index]
    if missing:
        raise KeyError(f"items name generations the ledger does not have: {', '.join(f'#{i}' for i in missing)}.")
    rows = frame.loc[ids]
    times = _times(items)
    table = pd.DataFrame(index=pd.Index(ids, name="history_id"))
    table["prompt"] = [str(p or "") for p in rows["prompt"]]
    table["model"] = [str(m) for m in rows["model_id"]]
    for column in ("status", "provider", "mode", "user"):
        table[column] = [str(v) for v in rows[column]]
    table["sweep"] = [None if v is None or pd.isna(v) else str(v) for v in rows["sweep"]]
    table["rating"] = rows["rating"].to_numpy()
    table["notes"] = [str(v or "") for v in rows["notes"]]
    table["tags"] = list(rows["tags"])
    table["cost_micros"] = rows["cost_micros"].to_numpy()
    paths = [None if v is None or pd.isna(v) else str(v) for v in rows["local_path"]]
    table["local_path"] = [p if p and os.path.isfile(p) else None for p in paths]
    table["seconds"] = [
        times.get(hid, _file_time(path, created.to_pydatetime()))
        for hid, path, created in zip(ids, paths, rows["created_at"], strict=True)
    ]
    params = [dict(p or {}) for p in rows["params"]]
    for key in dict.fromkeys(k for p in params for k in p):
        if key in table.columns:  # a parameter named like an axis ("prompt" is its own column)
            continue
        values: list[Any] = [_hashable(p.get(key)) for p in params]
        table[key] = values
    return table


def _hashable(value: Any) -> Hashable:
    """Parameter values as grid keys: lists and dicts as their JSON text."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value  # type: ignore[no-any-return]


def _label(axis: str, value: Any) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)):
        return "—"
    if axis == "model":
        return model_name(str(value))
    if axis == "rating":
        return "★" * int(value)
    return str(value)


def _where(table: pd.DataFrame, where: object) -> pd.DataFrame:
    """Keep the rows ``where`` allows: a mapping column → value (or list of values), or a callable
    taking the table and giving a boolean mask."""
    if where is None:
        return table
    if isinstance(where, Mapping):
        mask = [True] * len(table)
        for column, wanted in where.items():
            _check_axis("where", column, table)
            allowed = list(wanted) if isinstance(wanted, (list, tuple, set, frozenset)) else [wanted]
            mask = [m and v in allowed for m, v in zip(mask, table[column], strict=True)]
        return table[mask]
    if callable(where):
        check: Callable[[pd.DataFrame], Any] = where
        kept: pd.DataFrame = table[check(table)]
        return kept
    raise TypeError(
        f"where must be a mapping of column to value(s) or a callable taking the table, not {type(where).__name__}."
    )


def _check_axis(field: str, name: object, table: pd.DataFrame) -> str:
    allowed = [c for c in table.columns if c not in ("notes", "tags", "cost_micros", "local_path", "seconds")]
    if not isinstance(name, str) or name not in allowed:
        raise ValueError(f"{field} must be one of the table's columns ({', '.join(allowed)}), not {name!r}.")
    return name


def _differs(table: pd.DataFrame, axes: Sequence[str]) -> list[str]:
    """The parameters (and the prompt) whose values differ between the cells, axes left out."""
    fixed = {"model", "status", "provider", "mode", "user", "sweep", "rating", "notes", "tags"}
    fixed |= {"cost_micros", "local_path", "seconds", *axes}
    out = []
    for column in table.columns:
        if column in fixed:
            continue
        values = {json.dumps(v, default=str) for v in table[column]}
        if len(values) > 1:
            out.append(column)
    return out


def _facts(cost_micros: Any, provider: str, seconds: float | None, status: str) -> str:
    import pandas as pd

    parts = []
    if cost_micros is None or pd.isna(cost_micros):
        parts.append("cost not known")
    else:
        cost: Decimal = from_micros(int(cost_micros))
        parts.append(format_usd(cost) + (" (simulated)" if provider == "emulator" else ""))
    if seconds is not None and not pd.isna(seconds):
        parts.append(f"took {seconds:.0f} s" if seconds >= 10 else f"took {seconds:.1f} s")
    if status != "completed":
        parts.append(status.replace("_", " "))
    return " · ".join(parts)


def layout(table: pd.DataFrame, rows: str = "prompt", cols: str = "model", where: object = None) -> CompareGrid:
    """The grid: one row per distinct ``rows`` value, one column per ``cols`` value (first seen first)."""
    import pandas as pd

    row_axis = _check_axis("rows", rows, table)
    col_axis = _check_axis("cols", cols, table)
    if row_axis == col_axis:
        raise ValueError(f"rows and cols must name two different columns; both are {rows!r}.")
    shown = _where(table, where)
    differing = _differs(shown, (row_axis, col_axis))
    cells: list[CompareCell] = []
    row_keys: dict[str, int] = {}
    col_keys: dict[str, int] = {}
    placed: list[tuple[int, int]] = []
    for hid, rec in zip(shown.index, shown.to_dict("records"), strict=True):
        r = row_keys.setdefault(_label(row_axis, rec[row_axis]), len(row_keys))
        c = col_keys.setdefault(_label(col_axis, rec[col_axis]), len(col_keys))
        placed.append((r, c))
        differs = " · ".join(f"{k} {_label(k, rec[k])}" for k in differing if not _missing(rec[k]))
        rating = rec["rating"]
        cells.append(
            CompareCell(
                history_id=int(hid),
                model_id=rec["model"],
                status=rec["status"],
                title=model_name(rec["model"]),
                differs=differs,
                facts=_facts(rec["cost_micros"], rec["provider"], rec["seconds"], rec["status"]),
                local_path=rec["local_path"],
                rating=None if rating is None or pd.isna(rating) else int(rating),
                notes=rec["notes"],
                tags=tuple(rec["tags"] or ()),
            )
        )
    slots = [[[] for _ in col_keys] for _ in row_keys]  # type: list[list[list[int]]]
    for index, (r, c) in enumerate(placed):
        slots[r][c].append(index)
    return CompareGrid(
        rows=tuple(row_keys),
        cols=tuple(col_keys),
        row_axis=row_axis,
        col_axis=col_axis,
        slots=tuple(tuple(tuple(s) for s in row) for row in slots),
        cells=tuple(cells),
    )


def _missing(value: Any) -> bool:
    import pandas as pd

    return value is None or (not isinstance(value, (list, tuple, dict)) and bool(pd.isna(value)))
