"""What a person says about a generation: 1–5 stars, notes and tags (``History.rate`` / ``History.tag``).

Checked here, once, before anything is written, with one sentence naming the field and what it
accepts; written in one transaction so two kernels tagging the same row at once keep both tags.
:func:`rate` and :func:`tag` are :class:`History`'s methods of those names.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ._backend import SqlConn
from ._records import now_iso, row_id

if TYPE_CHECKING:
    from ._store import History

__all__ = [
    "MAX_NOTES",
    "MAX_TAG",
    "add_tags",
    "check_notes",
    "check_stars",
    "check_tags",
    "rate",
    "remove_tags",
    "set_tags",
    "tag",
]

#: Notes are for a person to read beside a video, not documents.
MAX_NOTES = 10_000
MAX_TAG = 64


def check_stars(stars: object) -> int | None:
    """``stars`` as stored: an int from 1 to 5, or ``None`` to clear the rating."""
    if stars is None:
        return None
    if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
        raise ValueError(f"stars must be a whole number from 1 to 5 (or None to clear the rating), not {stars!r}.")
    return stars


def check_notes(notes: object) -> str:
    if not isinstance(notes, str):
        raise ValueError(f"notes must be text (a str of at most {MAX_NOTES:,} characters), not {type(notes).__name__}.")
    if len(notes) > MAX_NOTES:
        raise ValueError(f"notes must be at most {MAX_NOTES:,} characters; these are {len(notes):,}.")
    return notes


def check_tags(tags: Sequence[object]) -> list[str]:
    """Tags as stored: trimmed, non-empty text of at most 64 characters, each once, in order."""
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or len(tag.strip()) > MAX_TAG:
            raise ValueError(f"each tag must be non-empty text of at most {MAX_TAG} characters, not {tag!r}.")
        if tag.strip() not in out:
            out.append(tag.strip())
    return out


def _merge(conn: SqlConn, history_id: int, change: Any) -> tuple[str, ...] | None:
    row = conn.execute("SELECT tags FROM generations WHERE id = ?", (history_id,)).fetchone()
    if row is None:
        return None
    tags: list[str] = change(list(json.loads(row[0] or "[]")))
    conn.execute(
        "UPDATE generations SET tags = ?, updated_at = ? WHERE id = ?",
        (json.dumps(tags, ensure_ascii=False), now_iso(), history_id),
    )
    return tuple(tags)


def add_tags(conn: SqlConn, history_id: int, tags: Iterable[str]) -> tuple[str, ...] | None:
    """Add ``tags`` to a row's (keeping its order, each once); its tags after, or ``None`` if no row."""
    new = list(tags)
    return _merge(conn, history_id, lambda have: have + [t for t in new if t not in have])


def remove_tags(conn: SqlConn, history_id: int, tags: Iterable[str]) -> tuple[str, ...] | None:
    gone = set(tags)
    return _merge(conn, history_id, lambda have: [t for t in have if t not in gone])


def set_tags(conn: SqlConn, history_id: int, tags: Iterable[str]) -> tuple[str, ...] | None:
    """Make a row's tags exactly ``tags`` (none clears them); ``None`` if there is no such row."""
    new = list(tags)
    return _merge(conn, history_id, lambda _have: new)


def rate(self: History, history_id: int, stars: int | None, *, notes: str | None = None) -> None:
    """Give row ``history_id`` 1–5 ``stars`` (``None`` clears them) and, if given, replace its notes.

    Saved at once, so a rating survives a kernel restart and shows in other processes' ``df``."""
    fields: dict[str, Any] = {"rating": check_stars(stars)}
    if notes is not None:
        fields["notes"] = check_notes(notes)
    self.require_writable()
    if not self.update(row_id(history_id), **fields):
        raise KeyError(f"no generation #{history_id} in {self.location}")


def tag(self: History, history_id: int, *tags: str, remove: bool = False, replace: bool = False) -> tuple[str, ...]:
    """Add ``tags`` to row ``history_id`` (or take them off with ``remove=True``, or make them its
    only tags with ``replace=True``: what a tags field edited by hand means); its tags after."""
    if remove and replace:
        raise ValueError("remove and replace cannot both be True: give one of them.")
    clean = check_tags(tags)
    hid = row_id(history_id)
    self.require_writable()
    change = remove_tags if remove else set_tags if replace else add_tags
    after = self._db.retrying(lambda conn: change(conn, hid, clean))
    if after is None:
        raise KeyError(f"no generation #{history_id} in {self.location}")
    return after
