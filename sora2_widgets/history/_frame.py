"""The DataFrame view of the ledger (:attr:`History.df`), kept up to date by revision.

Every row carries a ``rev`` that triggers set from a ledger-wide clock on each INSERT/UPDATE
(tombstones record hard deletes), so the in-memory DataFrame is updated with only the rows changed
since, by any process. ``history.sqlite3.df-cache`` beside the ledger is a checksummed snapshot of
that frame for new processes (see ``_snapshot``); delete it any time. A cache may be slow, never
wrong: whatever disagrees with the database is rebuilt from it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _snapshot
from ._columns import BILLING_STATUSES, FRAME_INDEX, MODES, PROVIDERS, SHOWN_COLUMNS, STATUSES
from ._schema import schema_version

if TYPE_CHECKING:
    import pandas as pd

    from ._backend import Ledger, SqlConn

__all__ = ["CACHE_SUFFIX", "FrameCache", "View", "build_frame", "copy_on_write", "fetch"]

log = logging.getLogger("sora2_widgets.history")

#: The DataFrame snapshot beside the ledger (a cache: delete it any time).
CACHE_SUFFIX = ".df-cache"
#: A snapshot is written when a frame had to be built from scratch with at least this many rows
#: (smaller ledgers build in a few ms) …
SNAPSHOT_MIN_ROWS = 2_000
#: … or when this many rows changed since the snapshot on disk (what a fresh process replays).
SNAPSHOT_EVERY = 1_000
#: Categorical columns whose categories are the values present (not a fixed list).
_OPEN_CATEGORIES = ("model_id", "user", "machine")


def copy_on_write() -> bool:
    """Whether pandas copies a column before changing it (always from pandas 3): then a shallow
    copy of the cached frame is as safe to hand out as a deep one, and ~100× cheaper."""
    import pandas as pd

    if int(pd.__version__.split(".")[0]) >= 3:
        return True
    return bool(pd.options.mode.copy_on_write is True)


@dataclasses.dataclass(frozen=True)
class View:
    """The DataFrame as of one ledger revision. Never modified (replaced instead), so it can be
    pickled or copied outside the lock while another thread catches up."""

    ledger: str
    rev: int
    frame: pd.DataFrame
    #: Each row's revision (same index as ``frame``; kept out of the frame so .df keeps its columns).
    revs: pd.Series[int]
    #: Revision of the snapshot file written from this process's views (-1: none written or loaded).
    saved_rev: int
    #: Rows changed since that snapshot: what a new process would have to replay.
    unsaved: int


def fetch(conn: SqlConn, where: str = "", args: Sequence[Any] = ()) -> dict[str, list[Any]]:
    """Columns of the matching rows, fetched as plain tuples and transposed once
    (row objects and per-cell lookups cost ~1 s at 100 000 rows)."""
    sql = "SELECT * FROM generations" + (f" WHERE {where}" if where else "") + " ORDER BY id"  # noqa: S608
    names, rows = conn.tuples(sql, args)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return {n: list(c) for n, c in zip(names, columns, strict=True)}


def build_frame(raw: Mapping[str, Sequence[Any]], folder: Path) -> pd.DataFrame:
    """The DataFrame of rows from :func:`fetch`; relative media paths become absolute under ``folder``."""
    import numpy as np
    import pandas as pd

    # Columns straight from the rows (not via an intermediate frame: pandas would turn NULL
    # text into NaN floats before we could map paths).
    raw = {c: list(raw[c]) for c in SHOWN_COLUMNS}
    out = pd.DataFrame(index=pd.Index(pd.array(raw["id"], dtype="int64"), name=FRAME_INDEX))
    for c in ("created_at", "updated_at"):
        # Our fixed-width "…SS.ffffffZ" text parses ~10× faster through numpy than strptime.
        try:
            stamps = np.array([t[:-1] if t.endswith("Z") else t for t in raw[c]], dtype="datetime64[us]")
            out[c] = pd.DatetimeIndex(stamps).tz_localize("UTC")
        except ValueError:
            out[c] = pd.DatetimeIndex(pd.to_datetime(raw[c], format="ISO8601", utc=True))
    out["model_id"] = pd.Categorical(raw["model_id"])
    out["mode"] = pd.Categorical(raw["mode"], categories=list(MODES))
    out["status"] = pd.Categorical(raw["status"], categories=list(STATUSES))
    out["provider"] = pd.Categorical(raw["provider"], categories=list(PROVIDERS))
    out["endpoint"] = raw["endpoint"]
    out["prompt"] = raw["prompt"]
    # Settings repeat across rows (the prompt is a column of its own): parse each distinct text
    # once; every row still gets its own dict.
    parsed = {t: json.loads(t or "{}") for t in set(raw["params_json"])}
    out["params"] = pd.Series([dict(parsed[t]) for t in raw["params_json"]], index=out.index, dtype=object)
    money = (("est_low_micros", "est_low_usd"), ("est_high_micros", "est_high_usd"), ("cost_micros", "cost_usd"))
    for c, usd in money:
        micros = pd.array(raw[c], dtype="Int64")
        out[c] = micros
        out[usd] = micros.to_numpy(dtype="float64", na_value=float("nan")) / 1e6
    for c in ("error", "request_id", "status_url", "response_url", "cancel_url", "video_url", "video_id", "sha256"):
        out[c] = pd.Series(raw[c], index=out.index, dtype=object)
    base = str(folder) + os.sep
    for c in ("local_path", "thumbnail_path"):
        # String joins, not Path objects: 100 000 Path() calls cost ~0.6 s.
        paths = [None if not p else (p if os.path.isabs(p) else base + p) for p in raw[c]]
        out[c] = pd.Series(paths, index=out.index, dtype=object)
    for c in ("width", "height", "remixed_from"):
        out[c] = pd.array(raw[c], dtype="Int64")
    for c in ("duration", "fps"):
        out[c] = _floats(raw[c])
    for c in ("kept_for_remix", "deleted"):
        out[c] = pd.array([bool(v) for v in raw[c]], dtype="bool")
    out["user"] = pd.Categorical(raw["user"])
    out["machine"] = pd.Categorical(raw["machine"])
    for c in ("sweep", "sweep_key"):
        out[c] = pd.Series(raw[c], index=out.index, dtype=object)
    out["rating"] = pd.array(raw["rating"], dtype="Int64")
    out["notes"] = pd.Series(raw["notes"], index=out.index, dtype=object)
    parsed_tags = {t: tuple(json.loads(t or "[]")) for t in set(raw["tags"])}
    out["tags"] = pd.Series([parsed_tags[t] for t in raw["tags"]], index=out.index, dtype=object)
    out["billable_units"] = _floats(raw["billable_units"])
    micros = pd.array(raw["provisional_micros"], dtype="Int64")
    out["provisional_micros"] = micros
    out["provisional_usd"] = micros.to_numpy(dtype="float64", na_value=float("nan")) / 1e6
    nanos = pd.array(raw["billed_nanos"], dtype="Int64")
    out["billed_nanos"] = nanos
    out["billed_usd"] = nanos.to_numpy(dtype="float64", na_value=float("nan")) / 1e9
    out["billed_units"] = _floats(raw["billed_units"])
    # Unit prices can be a millionth of a dollar per token: exact text in the ledger, Decimal here.
    out["unit_price"] = pd.Series(
        [None if p is None else Decimal(p) for p in raw["unit_price"]], index=out.index, dtype=object
    )
    out["discount_percent"] = _floats(raw["discount_percent"])
    out["billing_status"] = pd.Categorical(raw["billing_status"], categories=list(BILLING_STATUSES))
    out["billing_checked_at"] = pd.DatetimeIndex(pd.to_datetime(raw["billing_checked_at"], format="ISO8601", utc=True))
    return out


def _floats(values: Sequence[Any]) -> Any:
    import pandas as pd

    return pd.array([float("nan") if v is None else float(v) for v in values], dtype="float64")


def _upsert(
    frame: pd.DataFrame,
    revs: pd.Series[int],
    raw: Mapping[str, Sequence[Any]],
    removed: Sequence[int],
    folder: Path,
) -> tuple[pd.DataFrame, pd.Series[int]] | None:
    """New frame = old rows minus changed/removed ids, plus the changed rows rebuilt.
    Returns None when the result's dtypes would differ from a full build's."""
    import pandas as pd

    gone = frame.index.intersection(pd.Index([*raw["id"], *removed], dtype="int64"))
    if len(gone):
        frame, revs = frame.drop(index=gone), revs.drop(index=gone)
    if raw["id"]:
        new = build_frame(raw, folder)
        new_revs = pd.Series(pd.array(raw["rev"], dtype="int64"), index=new.index, name="rev")
        if len(frame) == 0:
            return new, new_revs
        # model_id's (user's, machine's) categories are the sorted distinct values (as
        # pd.Categorical makes them): give both parts the union, so concat keeps the categorical.
        for col in _OPEN_CATEGORIES:
            cats = sorted(set(frame[col].cat.categories) | set(new[col].cat.categories))
            frame = frame.assign(**{col: frame[col].cat.set_categories(cats)})
            new = new.assign(**{col: new[col].cat.set_categories(cats)})
        dtypes = frame.dtypes
        frame, revs = pd.concat([frame, new]), pd.concat([revs, new_revs])
        if not frame.index.is_monotonic_increasing:
            order = frame.index.argsort(kind="stable")
            frame, revs = frame.iloc[order], revs.iloc[order]
        if not frame.dtypes.equals(dtypes):
            return None
    if len(gone):
        frame = frame.assign(**{col: frame[col].cat.remove_unused_categories() for col in _OPEN_CATEGORIES})
    return frame, revs


class FrameCache:
    """The current :class:`View` of one ledger, caught up on demand, snapshotted in the background."""

    def __init__(self, db: Ledger, ledger_path: Path) -> None:
        self._db = db
        self.folder = ledger_path.parent
        self.path = ledger_path.with_name(ledger_path.name + CACHE_SUFFIX)
        self.view: View | None = None
        self._saver: threading.Thread | None = None

    def header(self, ledger: str) -> dict[str, Any]:
        """What a snapshot file must say to be used for ``ledger`` by this process."""
        return _snapshot.expected_header(
            schema=schema_version(),
            ledger=ledger,
            folder=str(self.folder),
            categories={"mode": list(MODES), "status": list(STATUSES), "provider": list(PROVIDERS)},
        )

    def current(self) -> View:
        """The view as of the ledger's current revision (reused, caught up, loaded or built)."""
        with self._db.reading() as (conn, ledger, rev):
            view = self.view
            if view is not None and view.ledger == ledger and view.rev == rev:
                return view
            if view is None or view.ledger != ledger or view.rev > rev:
                snap = _snapshot.read(self.path, self.header(ledger), rev)
                view = None if snap is None else View(ledger, snap.rev, snap.frame, snap.revs, snap.rev, 0)
            if view is not None:
                view = self._catch_up(conn, view, rev)
            if view is None:
                view = self._build(conn, ledger, rev)
            self.view = view
        first = view.saved_rev < 0 and len(view.frame) >= SNAPSHOT_MIN_ROWS
        if first or (view.saved_rev >= 0 and view.unsaved >= SNAPSHOT_EVERY):
            with self._db.lock:
                busy = self._saver is not None and self._saver.is_alive()
                if not busy:
                    # Pickling 100 000 rows takes ~0.5 s: not on the caller's time, and not under the
                    # lock (writers must not wait). Safe because a View is never modified, only
                    # replaced. Not a daemon: a snapshot being written is finished at exit.
                    self._saver = threading.Thread(
                        target=self._save, args=(view,), name="sora2-history-snapshot", daemon=False
                    )
                    self._saver.start()
        return view

    def _save(self, view: View) -> None:
        snap = _snapshot.Snapshot(view.rev, view.frame, view.revs)
        try:
            written = _snapshot.write(self.path, self.header(view.ledger), snap)
        except Exception:  # e.g. an unpicklable object in params: the cache is optional
            log.exception("history: could not write the DataFrame snapshot")
            return
        if written:
            with self._db.lock:
                now = self.view
                if now is not None and now.ledger == view.ledger and now.saved_rev < view.rev:
                    unsaved = max(now.unsaved - view.unsaved, 0) if now.saved_rev == view.saved_rev else now.unsaved
                    self.view = dataclasses.replace(now, saved_rev=view.rev, unsaved=unsaved)

    def wait(self, timeout: float | None = None) -> None:
        """Wait until a snapshot being written in the background is on disk."""
        saver = self._saver
        if saver is not None:
            saver.join(timeout)

    def _build(self, conn: SqlConn, ledger: str, rev: int) -> View:
        import pandas as pd

        raw = fetch(conn)
        frame = build_frame(raw, self.folder)
        revs = pd.Series(pd.array(raw["rev"], dtype="int64"), index=frame.index, name="rev")
        return View(ledger, rev, frame, revs, saved_rev=-1, unsaved=0)

    def _catch_up(self, conn: SqlConn, view: View, rev: int) -> View | None:
        """``view`` plus the rows changed after ``view.rev``; None if the result disagrees with
        the database (then the caller rebuilds: a cache can be slow, never wrong)."""
        raw = fetch(conn, "rev > ?", (view.rev,))
        removed = [int(r[0]) for r in conn.execute("SELECT id FROM generations_removed WHERE rev > ?", (view.rev,))]
        frame, revs = view.frame, view.revs
        if raw["id"] or removed:
            merged = _upsert(frame, revs, raw, removed, self.folder)
            if merged is None:
                return None
            frame, revs = merged
        # Cheap proof that the cached rows are the database's rows: same count, and the same sum of
        # revisions (a row changed behind the cache's back has a new revision).
        count, rev_sum = conn.execute("SELECT COUNT(*), COALESCE(SUM(rev), 0) FROM generations").fetchone()
        if len(frame) != count or int(revs.sum()) != rev_sum:
            log.warning("history: the cached DataFrame disagrees with %s; rebuilding it", self._db.path)
            return None
        return View(view.ledger, rev, frame, revs, view.saved_rev, view.unsaved + len(raw["id"]) + len(removed))
